package spec

import (
	"reflect"
	"strings"
	"testing"
)

// TestParamForms: a mapping with a `type` key is a parameter's long form,
// whose fields are checked; other mappings are defaults.
func TestParamForms(t *testing.T) {
	const step = "steps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"
	const mapHint = ` is not a field of parameter; expected one of: type, default, description. A mapping with a ` + "`type`" + ` key declares a parameter; to give a map default with such keys, write {type: map, default: {…}}.`
	for _, tt := range []struct {
		name string
		src  string
		want []wantDiag
		// param is the parameter loaded, when there is no error.
		param *Param
	}{
		{
			name: "misspelt default",
			src:  "name: p\nparams:\n  x: {type: string, defualt: x}\n" + step,
			want: []wantDiag{{"3:21-3:28", "Unknown field", `"defualt" is not a field of parameter. Did you mean "default"?`}},
		},
		{
			name: "misspelt description, block form",
			src:  "name: p\nparams:\n  x:\n    type: number\n    default: 1\n    descripton: rows\n" + step,
			want: []wantDiag{{"6:5-6:15", "Unknown field", `"descripton" is not a field of parameter. Did you mean "description"?`}},
		},
		{
			name: "a map default with a type key, short form",
			src:  "name: p\nparams:\n  conn: {type: jdbc, host: h}\n" + step,
			want: []wantDiag{
				{"3:22-3:26", "Unknown field", `"host"` + mapHint},
				{"3:16-3:20", "Unknown parameter type", `"jdbc" is not a parameter type; the types are: string, number, bool, list, map.`},
			},
		},
		{
			name:  "a map default with a type key, long form",
			src:   "name: p\nparams:\n  conn: {type: map, default: {type: jdbc, host: h}}\n" + step,
			param: &Param{Name: "conn", Type: ParamMap, Default: &Value{Raw: map[string]any{"type": "jdbc", "host": "h"}}},
		},
		{
			name:  "a map default without a type key",
			src:   "name: p\nparams:\n  conn: {host: h, default: x}\n" + step,
			param: &Param{Name: "conn", Type: ParamMap, Default: &Value{Raw: map[string]any{"host": "h", "default": "x"}}},
		},
		{
			name:  "described, without a type",
			src:   "name: p\nparams:\n  n: {description: rows, default: 3}\n" + step,
			param: &Param{Name: "n", Type: ParamNumber, Description: "rows", Default: &Value{Raw: int64(3)}},
		},
		{
			// Not also "Parameter has no type".
			name: "unknown type without a default",
			src:  "name: p\nparams:\n  n: {type: strin}\n" + step,
			want: []wantDiag{{"3:13-3:18", "Unknown parameter type", `"strin" is not a parameter type. Did you mean "string"?`}},
		},
		{
			name: "field set twice",
			src:  "name: p\nparams:\n  n: {type: string, type: number}\n" + step,
			want: []wantDiag{{"3:21-3:25", "Duplicate field", `"type" is set twice in this parameter.`}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, diags := Load("test.yaml", []byte(tt.src))
			checkDiags(t, "test.yaml", []byte(tt.src), diags, tt.want)
			if tt.param == nil {
				return
			}
			if len(p.Params) != 1 {
				t.Fatalf("%d params, want 1", len(p.Params))
			}
			got := *p.Params[0]
			got.Range = tt.param.Range
			if got.Default != nil {
				got.Default = &Value{Raw: got.Default.Raw}
			}
			if !reflect.DeepEqual(&got, tt.param) {
				t.Errorf("param %+v, want %+v", got, *tt.param)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	for in, want := range map[string]string{
		"yes":                      `"yes"`,
		"two\nlines":               `"two"…`,
		strings.Repeat("a", 80):    `"` + strings.Repeat("a", 80) + `"`,
		strings.Repeat("é", 81):    `"` + strings.Repeat("é", 80) + `"…`,
		"tab\there":                `"tab\there"`,
		"":                         `""`,
		"root:x:0:0:root:/root:/b": `"root:x:0:0:root:/root:/b"`,
	} {
		if got := Excerpt(in); got != want {
			t.Errorf("Excerpt(%q) = %s, want %s", in, got, want)
		}
	}
}

// A file that is not a spec is quoted in one line, cut.
func TestLoadNotASpec(t *testing.T) {
	src := []byte("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\n")
	_, diags := Load("passwd", src)
	checkDiags(t, "passwd", src, diags, []wantDiag{{"1:1-1:117", "Invalid pipeline",
		`Expected a mapping (key: value lines), found the string "root:x:0:0:root:/root:/bin/bash daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin "….`}})
}

func TestConditionYes(t *testing.T) {
	src := []byte("name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    if: yes\n    with: {sql: x}\n")
	_, diags := Load("test.yaml", src)
	checkDiags(t, "test.yaml", src, diags, []wantDiag{{"5:9-5:12", "Invalid condition",
		"`if` is true, false or a template such as \"${params.full_load}\"; found the string \"yes\". YAML 1.2 reads yes as a string, not a bool: write true or false."}})
}
