package planner

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"gopkg.in/yaml.v3"

	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/spec/expr"
)

// loadSchema returns the schema, decoded.
func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return s
}

// at walks a decoded schema along keys.
func at(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s is %T, not an object", strings.Join(keys[:i], "."), v)
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("schema has no %s", strings.Join(keys[:i+1], "."))
		}
	}
	return v
}

func keysOf(m any) []string {
	var keys []string
	for k := range m.(map[string]any) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestJSONSchemaDocument(t *testing.T) {
	b, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	again, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Error("JSONSchema differs between calls")
	}
	if !json.Valid(b) {
		t.Fatal("schema is not valid JSON")
	}
	// Indented, with the keywords that identify it first.
	if !bytes.HasPrefix(b, []byte("{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n  \"$id\": \"https://pipectl.dev/schema/pipeline.json\",\n  \"title\": ")) {
		t.Errorf("schema starts %q", b[:min(len(b), 160)])
	}
	if !bytes.HasSuffix(b, []byte("}\n")) {
		t.Errorf("schema ends %q", b[max(0, len(b)-20):])
	}
	// Descriptions are written as they are, not as \u003c escapes.
	if bytes.Contains(b, []byte(`\u003c`)) || bytes.Contains(b, []byte(`\u0026`)) {
		t.Error("schema escapes HTML characters")
	}

	s := loadSchema(t)
	if got := at(t, s, "additionalProperties"); got != false {
		t.Errorf("additionalProperties = %v, want false", got)
	}
	if got := strs(at(t, s, "required")); !reflect.DeepEqual(got, []string{"name", "steps"}) {
		t.Errorf("required = %v", got)
	}
	wantTop := []string{"cloud", "defaults", "description", "env", "max_parallel", "name", "params", "schedule", "steps"}
	if got := keysOf(at(t, s, "properties")); !reflect.DeepEqual(got, wantTop) {
		t.Errorf("top-level properties %v, want %v", got, wantTop)
	}
	if got := at(t, s, "$defs", "step", "properties", "id", "pattern"); got != `^[a-z][a-z0-9_-]{0,62}$` {
		t.Errorf("step id pattern %v", got)
	}
	if got := strs(at(t, s, "$defs", "step", "properties", "run_on", "enum")); !reflect.DeepEqual(got, spec.RunOnValues()) {
		t.Errorf("run_on enum %v", got)
	}
	if got := strs(at(t, s, "$defs", "step", "properties", "on_failure", "enum")); !reflect.DeepEqual(got, spec.FailurePolicies()) {
		t.Errorf("on_failure enum %v", got)
	}
	if got := strs(at(t, s, "properties", "schedule", "properties", "overlap", "enum")); !reflect.DeepEqual(got, spec.OverlapPolicies()) {
		t.Errorf("overlap enum %v", got)
	}
	if got := strs(at(t, s, "$defs", "param", "then", "properties", "type", "enum")); !reflect.DeepEqual(got, spec.ParamTypes()) {
		t.Errorf("param type enum %v", got)
	}
	// Every parameter type constrains its default.
	if got := len(at(t, s, "$defs", "param", "then", "allOf").([]any)); got != len(spec.ParamTypes()) {
		t.Errorf("%d param type rules, want %d", got, len(spec.ParamTypes()))
	}
	if got := at(t, s, "$defs", "step", "dependentRequired", "max_parallel"); !reflect.DeepEqual(got, []any{"for_each"}) {
		t.Errorf("dependentRequired.max_parallel = %v", got)
	}
}

// TestJSONSchemaKinds checks that the schema has every kind and, in the
// kind's `with`, every input with its type, enum and whether it is required.
func TestJSONSchemaKinds(t *testing.T) {
	s := loadSchema(t)
	kinds := Kinds()
	var names []string
	for _, k := range kinds {
		names = append(names, k.Name)
	}
	if got := strs(at(t, s, "$defs", "step", "properties", "kind", "enum")); !reflect.DeepEqual(got, names) {
		t.Errorf("kind enum %v, want %v", got, names)
	}
	wantDesc := "What the step runs."
	var notYet []string
	for _, k := range kinds {
		if !k.Runnable {
			notYet = append(notYet, k.Name)
		}
	}
	if len(notYet) > 0 {
		wantDesc += " This version cannot run " + strings.Join(notYet, ", ") + " yet."
	}
	if got := at(t, s, "$defs", "step", "properties", "kind", "description"); got != wantDesc {
		t.Errorf("kind description %q, want %q", got, wantDesc)
	}
	allOf := at(t, s, "$defs", "step", "allOf").([]any)
	if len(allOf) != len(kinds) {
		t.Fatalf("%d kind rules, want %d", len(allOf), len(kinds))
	}
	for i, k := range kinds {
		rule := allOf[i]
		if got := at(t, rule, "if", "properties", "kind", "const"); got != k.Name {
			t.Errorf("allOf[%d] is for %v, want %s", i, got, k.Name)
			continue
		}
		if got := strs(at(t, rule, "if", "required")); !reflect.DeepEqual(got, []string{"kind"}) {
			t.Errorf("%s: if.required = %v", k.Name, got)
		}
		with := at(t, rule, "then", "properties", "with")
		if got := at(t, with, "additionalProperties"); got != false {
			t.Errorf("%s: with.additionalProperties = %v", k.Name, got)
		}
		if got := at(t, with, "description").(string); !strings.Contains(got, k.Doc) {
			t.Errorf("%s: with.description %q lacks the kind's doc", k.Name, got)
		}
		props := at(t, with, "properties").(map[string]any)
		if len(props) != len(k.Inputs) {
			t.Errorf("%s: %d inputs in schema, %d in kind", k.Name, len(props), len(k.Inputs))
		}
		var required []string
		for _, in := range k.Inputs {
			p, ok := props[in.Name]
			if !ok {
				t.Errorf("%s: input %s missing from the schema", k.Name, in.Name)
				continue
			}
			if in.Required {
				required = append(required, in.Name)
			}
			desc, _ := p.(map[string]any)["description"].(string)
			if !strings.HasPrefix(desc, in.Doc) {
				t.Errorf("%s.%s: description %q, want the input's doc %q", k.Name, in.Name, desc, in.Doc)
			}
			if len(in.Enum) > 0 {
				if got := strs(at(t, p, "anyOf").([]any)[0].(map[string]any)["enum"]); !reflect.DeepEqual(got, in.Enum) {
					t.Errorf("%s.%s: enum %v, want %v", k.Name, in.Name, got, in.Enum)
				}
			}
		}
		gotRequired, _ := with.(map[string]any)["required"].([]any)
		if len(required) == 0 && gotRequired != nil || len(required) > 0 && !reflect.DeepEqual(strs(gotRequired), required) {
			t.Errorf("%s: required %v, want %v", k.Name, gotRequired, required)
		}
		thenRequired, _ := at(t, rule, "then").(map[string]any)["required"].([]any)
		if wantWith := len(required) > 0 || len(k.OneOf) > 0; wantWith != (len(thenRequired) == 1 && thenRequired[0] == "with") {
			t.Errorf("%s: then.required = %v, want with required: %v", k.Name, thenRequired, wantWith)
		}
	}

	// Spot checks of input types.
	rule := func(kind string) any {
		for i, k := range kinds {
			if k.Name == kind {
				return allOf[i]
			}
		}
		t.Fatalf("no kind %s", kind)
		return nil
	}
	input := func(kind, name string) any {
		return at(t, rule(kind), "then", "properties", "with", "properties", name)
	}
	tmpl := map[string]any{"$ref": "#/$defs/template"}
	for _, tt := range []struct {
		kind, input string
		want        any
	}{
		{"dli.sql", "sql", map[string]any{"description": "the SQL statement (required)", "type": []any{"string", "number", "boolean"}}},
		{"dli.sql", "conf", map[string]any{"description": "Spark/DLI settings, e.g. spark.sql.shuffle.partitions: \"200\"", "anyOf": []any{
			map[string]any{"type": "object", "additionalProperties": map[string]any{"type": []any{"string", "number", "boolean"}}}, tmpl}}},
		{"dis.stream", "partitions", map[string]any{"description": "partition count; raised or lowered if the stream exists (not when auto_scale is on) (required)", "anyOf": []any{
			map[string]any{"type": "integer"}, tmpl}}},
		{"dis.stream", "auto_scale", map[string]any{"description": "scale partitions automatically, between 1 and partitions", "anyOf": []any{
			map[string]any{"type": "boolean"}, tmpl}}},
		{"dli.spark", "args", map[string]any{"description": "application arguments", "anyOf": []any{
			map[string]any{"type": "array", "items": map[string]any{"type": []any{"string", "number", "boolean"}}}, tmpl}}},
		{"dis.dump_task", "descriptor", map[string]any{"description": "the destination's descriptor, as in the DIS API (required)", "anyOf": []any{
			map[string]any{"type": "object"}, tmpl}}},
		{"http", "expect_status", map[string]any{"description": "acceptable status codes, whole numbers from 100 to 599 (default any 2xx)", "anyOf": []any{
			map[string]any{"type": "array", "items": map[string]any{"anyOf": []any{map[string]any{"type": "integer"}, tmpl}}}, tmpl}}},
		{"wait", "duration", map[string]any{"description": "how long to wait", "anyOf": []any{
			map[string]any{"type": "string", "pattern": durationInputPattern}, tmpl}}},
		{"wait", "until", map[string]any{"description": "when to stop waiting", "anyOf": []any{
			map[string]any{"type": "string", "format": "date-time", "pattern": timePattern}, tmpl}}},
	} {
		if got := input(tt.kind, tt.input); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s.%s:\n got %v\nwant %v", tt.kind, tt.input, got, tt.want)
		}
	}
	for _, kind := range []string{"wait", "cdm.job"} {
		var groups [][]string
		for _, k := range kinds {
			if k.Name == kind {
				groups = k.OneOf
			}
		}
		var want []any
		for _, name := range groups[0] {
			want = append(want, map[string]any{"required": []any{name}})
		}
		if got := at(t, rule(kind), "then", "properties", "with", "oneOf"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: with.oneOf = %v, want %v", kind, got, want)
		}
	}
}

// TestJSONSchemaDescriptions checks that every property the schema declares
// has a description.
func TestJSONSchemaDescriptions(t *testing.T) {
	count := 0
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			if props, ok := x["properties"].(map[string]any); ok {
				for name, p := range props {
					pm, _ := p.(map[string]any)
					if _, isIf := pm["const"]; isIf {
						continue // an if's condition, not a declaration
					}
					if len(pm) == 1 && pm["type"] != nil {
						continue // a then's refinement of a declared property
					}
					count++
					if d, _ := pm["description"].(string); d == "" {
						t.Errorf("%s.properties.%s has no description", path, name)
					}
				}
			}
			for k, c := range x {
				walk(c, path+"."+k)
			}
		case []any:
			for i, c := range x {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(loadSchema(t), "$")
	inputs := 0
	for _, k := range Kinds() {
		inputs += len(k.Inputs)
	}
	// 9 top-level, 4 cloud, 6 endpoints, 4 defaults, 7 schedule, 12 step,
	// 3 param, 5 retry, 2 poll, each kind's `with` and the inputs.
	if want := 9 + 4 + 6 + 4 + 7 + 12 + 3 + 5 + 2 + len(Kinds()) + inputs; count != want {
		t.Errorf("%d properties checked, want %d", count, want)
	}
}

// TestJSONSchemaMatchesLoader checks that each mapping in the schema
// declares exactly the fields the loader accepts there, by giving the
// loader an unknown field and reading the ones it lists in its message.
func TestJSONSchemaMatchesLoader(t *testing.T) {
	s := loadSchema(t)
	step := "  - id: a\n    kind: dli.sql\n    with: {sql: x}\n"
	for _, tt := range []struct {
		name   string
		src    string
		schema []string // path to the schema's properties
	}{
		{"pipeline", "name: p\nbogus_field: 1\nsteps:\n" + step, []string{"properties"}},
		{"cloud", "name: p\ncloud: {bogus_field: 1}\nsteps:\n" + step, []string{"properties", "cloud", "properties"}},
		{"endpoints", "name: p\ncloud: {endpoints: {bogus_field: x}}\nsteps:\n" + step, []string{"properties", "cloud", "properties", "endpoints", "properties"}},
		{"defaults", "name: p\ndefaults: {bogus_field: 1}\nsteps:\n" + step, []string{"properties", "defaults", "properties"}},
		{"retry", "name: p\ndefaults: {retry: {bogus_field: 1}}\nsteps:\n" + step, []string{"$defs", "retry", "properties"}},
		{"poll", "name: p\ndefaults: {poll: {bogus_field: 1}}\nsteps:\n" + step, []string{"$defs", "poll", "properties"}},
		{"schedule", "name: p\nschedule: {cron: '@daily', bogus_field: 1}\nsteps:\n" + step, []string{"properties", "schedule", "properties"}},
		{"step", "name: p\nsteps:\n" + step + "    bogus_field: 1\n", []string{"$defs", "step", "properties"}},
		{"param", "name: p\nparams: {x: {type: string, bogus_field: 1}}\nsteps:\n" + step, []string{"$defs", "param", "then", "properties"}},
		{"param without type", "name: p\nparams: {x: {description: d, bogus_field: 1}}\nsteps:\n" + step, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := spec.Load("test.yaml", []byte(tt.src))
			if tt.schema == nil {
				// A mapping without a type and with other keys than
				// type, default and description is a parameter's
				// default, not its declaration.
				if diags.HasErrors() {
					t.Fatalf("unexpected errors: %v", diags)
				}
				described := at(t, s, "$defs", "param", "if", "anyOf").([]any)[1]
				if got := strs(at(t, described, "propertyNames", "enum")); !reflect.DeepEqual(got, []string{"type", "default", "description"}) {
					t.Errorf("param declaration keys %v", got)
				}
				return
			}
			if len(diags) != 1 || diags[0].Summary != "Unknown field" {
				t.Fatalf("want one Unknown field error, got %v", diags)
			}
			_, list, ok := strings.Cut(diags[0].Detail, "expected one of: ")
			if !ok {
				t.Fatalf("detail %q lists no fields", diags[0].Detail)
			}
			list, _, _ = strings.Cut(list, ".")
			loader := strings.Split(list, ", ")
			sort.Strings(loader)
			if got := keysOf(at(t, s, tt.schema...)); !reflect.DeepEqual(got, loader) {
				t.Errorf("schema declares %v; the loader accepts %v", got, loader)
			}
		})
	}
}

// TestJSONSchemaPatterns checks the schema's patterns against the code they
// stand for, on values where a pattern can decide (it checks the shape of a
// time or a duration, not whether its numbers are in range).
func TestJSONSchemaPatterns(t *testing.T) {
	tmpl := regexp.MustCompile(templatePattern)
	for _, s := range []string{"${a}", "x ${a} y", "$${a}", "$$${a}", "a$${b}${c}", "%{if x}y%{endif}", "%%{x}", "plain", "$", "{", "$ {", "}${x}", "", "${", "%{"} {
		if got, want := tmpl.MatchString(s), expr.HasTemplate(s); got != want {
			t.Errorf("template pattern on %q: %v; HasTemplate says %v", s, got, want)
		}
	}
	durations := []string{"30s", "1h30m", "1.5h", ".5s", "5.s", "0s", "0", "0.0s", "00m", "-1s", "+2m", "1µs", "1μs", "1us", "1ns", "2ms",
		"1d", "", "s", "1h0m", "0h1m", "1e3s", "1 h", "5", "1h 30m", "h1", "-0s", "."}
	positive := regexp.MustCompile(positiveDurationPattern)
	nonNegative := regexp.MustCompile(durationInputPattern)
	for _, s := range durations {
		d, err := time.ParseDuration(s)
		if got, want := positive.MatchString(s), err == nil && d > 0; got != want {
			t.Errorf("positive duration pattern on %q: %v, ParseDuration gives %v, %v", s, got, d, err)
		}
		if s == "-0s" {
			continue // zero, so accepted by the planner; the pattern allows no sign but +
		}
		if got, want := nonNegative.MatchString(s), err == nil && d >= 0; got != want {
			t.Errorf("duration input pattern on %q: %v, ParseDuration gives %v, %v", s, got, d, err)
		}
	}
	tp := regexp.MustCompile(timePattern)
	for _, s := range []string{"2026-03-01T02:00:00+08:00", "2026-03-01T02:00:00Z", "2026-03-01T02:00:00.123Z", "2026-03-01T02:00:00,5-05:00",
		"2026-03-01 02:00:00Z", "2026-03-01", "2026-03-01T02:00:00", "2026-03-01T02:00Z", "2026-03-01t02:00:00z", "26-03-01T02:00:00Z", "2026-03-01T02:00:00+0800"} {
		_, err := time.Parse(time.RFC3339, s)
		if got, want := tp.MatchString(s), err == nil; got != want {
			t.Errorf("time pattern on %q: %v; time.Parse gives %v", s, got, err)
		}
	}
}

// specCase is a spec with what the schema and the planner say of it.
type specCase struct {
	name string
	src  string
	// valid is whether the schema accepts the spec.
	valid bool
	// planner, when set, is why spec.Load and Compile disagree with the
	// schema: a check the schema cannot make. Unset, they must agree.
	planner string
	// file is where the spec is, when it is a file: the sub-pipelines it
	// runs are found from there.
	file string
}

func TestJSONSchemaValidates(t *testing.T) {
	schema := loadSchema(t)
	v := &validator{root: schema}
	const head = "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n"
	cases := []specCase{
		{name: "minimal", src: head + "    with: {sql: SELECT 1}\n", valid: true},
		{name: "unknown top-level field", src: "name: p\nstpes: []\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "no name", src: "steps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "bad name", src: "name: Daily Orders\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "empty description", src: "name: p\ndescription: ''\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "numeric description", src: "name: p\ndescription: 42\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true},
		{name: "no steps", src: "name: p\nsteps: []\n"},
		{name: "step without kind", src: "name: p\nsteps:\n  - {id: a, with: {sql: x}}\n"},
		{name: "unknown kind", src: "name: p\nsteps:\n  - {id: a, kind: dli.sq, with: {sql: x}}\n"},
		{name: "bad step id", src: "name: p\nsteps:\n  - {id: Load, kind: dli.sql, with: {sql: x}}\n"},
		{name: "id too long", src: "name: p\nsteps:\n  - {id: a" + strings.Repeat("b", 63) + ", kind: dli.sql, with: {sql: x}}\n"},
		{name: "unknown step field", src: head + "    with: {sql: x}\n    dependson: b\n"},
		{name: "unknown input", src: head + "    with: {sql: x, qeueu: etl}\n"},
		{name: "missing required input", src: head + "    with: {queue: etl}\n"},
		{name: "missing with", src: head},
		{name: "scalar inputs written as strings", src: head + "    with: {sql: 42, queue: true, database: 1.5}\n", valid: true},
		{name: "string map with numbers", src: head + "    with: {sql: x, conf: {a: 1, b: true, c: s}}\n", valid: true},
		{name: "string map with a list", src: head + "    with: {sql: x, conf: {a: [1]}}\n"},
		{name: "string map as template", src: "name: p\nparams: {c: {k: v}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x, conf: '${params.c}'}}\n", valid: true},
		{name: "string map as plain string", src: head + "    with: {sql: x, conf: 'k=v'}\n"},
		{name: "wait for a duration", src: "name: p\nsteps:\n  - {id: a, kind: wait, with: {duration: 90s}}\n", valid: true},
		{name: "wait until a time", src: "name: p\nsteps:\n  - {id: a, kind: wait, with: {until: '2026-03-01T02:00:00+08:00'}}\n", valid: true},
		{name: "wait for a templated duration", src: "name: p\nparams: {d: 1m}\nsteps:\n  - {id: a, kind: wait, with: {duration: '${params.d}'}}\n", valid: true},
		{name: "wait with both", src: "name: p\nsteps:\n  - {id: a, kind: wait, with: {duration: 90s, until: '2026-03-01T02:00:00Z'}}\n"},
		{name: "wait with neither", src: "name: p\nsteps:\n  - {id: a, kind: wait, with: {}}\n"},
		{name: "wait without with", src: "name: p\nsteps:\n  - {id: a, kind: wait}\n"},
		{name: "bad duration input", src: "name: p\nsteps:\n  - {id: a, kind: wait, with: {duration: soon}}\n"},
		{name: "bad time input", src: "name: p\nsteps:\n  - {id: a, kind: wait, with: {until: tomorrow}}\n"},
		{name: "enum input", src: "name: p\nsteps:\n  - {id: a, kind: http, with: {url: 'https://x', method: POST}}\n", valid: true},
		{name: "enum input out of enum", src: "name: p\nsteps:\n  - {id: a, kind: http, with: {url: 'https://x', method: FETCH}}\n"},
		{name: "enum input as template", src: "name: p\nparams: {m: GET}\nsteps:\n  - {id: a, kind: http, with: {url: 'https://x', method: '${params.m}'}}\n", valid: true},
		{name: "number input", src: "name: p\nsteps:\n  - {id: a, kind: dis.stream, with: {name: s, partitions: 3}}\n", valid: true},
		{name: "fractional count", src: "name: p\nsteps:\n  - {id: a, kind: dis.stream, with: {name: s, partitions: 2.5}}\n"},
		{name: "whole count written with a point", src: "name: p\nsteps:\n  - {id: a, kind: dis.stream, with: {name: s, partitions: 3.0}}\n", valid: true},
		{name: "number input as word", src: "name: p\nsteps:\n  - {id: a, kind: dis.stream, with: {name: s, partitions: three}}\n"},
		{name: "number input as template", src: "name: p\nparams: {n: 3}\nsteps:\n  - {id: a, kind: dis.stream, with: {name: s, partitions: '${params.n}'}}\n", valid: true},
		{name: "escaped template is a plain string", src: "name: p\nsteps:\n  - {id: a, kind: dis.stream, with: {name: s, partitions: '$${n}'}}\n"},
		{name: "bool input as string", src: "name: p\nsteps:\n  - {id: a, kind: dis.stream, with: {name: s, partitions: 1, auto_scale: 'yes'}}\n"},
		{name: "cdm job with one cluster choice", src: "name: p\nsteps:\n  - {id: a, kind: cdm.job, with: {name: j, cluster_id: c, from_link: l, from_connector: fc, to_link: t, to_connector: tc}}\n", valid: true},
		{name: "cdm job with both cluster choices", src: "name: p\nsteps:\n  - {id: a, kind: cdm.job, with: {name: j, cluster_id: c, cluster_ids: [d], from_link: l, from_connector: fc, to_link: t, to_connector: tc}}\n"},
		{name: "depends_on one id", src: "name: p\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n  - {id: b, kind: dli.sql, depends_on: a, with: {sql: x}}\n", valid: true},
		{name: "depends_on a number", src: "name: p\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n  - {id: b, kind: dli.sql, depends_on: 1, with: {sql: x}}\n"},
		{name: "depends_on twice the same", src: "name: p\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n  - {id: b, kind: dli.sql, depends_on: [a, a], with: {sql: x}}\n"},
		{name: "depends_on an unknown step", src: "name: p\nsteps:\n  - {id: b, kind: dli.sql, depends_on: [a], with: {sql: x}}\n", valid: true, planner: "ids are checked across steps"},
		{name: "if bool", src: head + "    if: false\n    with: {sql: x}\n", valid: true},
		{name: "if template", src: "name: p\nparams: {full: true}\nsteps:\n  - {id: a, kind: dli.sql, if: '${params.full}', with: {sql: x}}\n", valid: true},
		{name: "if plain string", src: head + "    if: 'yes'\n    with: {sql: x}\n"},
		{name: "for_each list", src: head + "    for_each: [a, 1]\n    max_parallel: 2\n    with: {sql: '${item}'}\n", valid: true},
		{name: "for_each empty list", src: head + "    for_each: []\n    with: {sql: x}\n"},
		{name: "for_each plain string", src: head + "    for_each: abc\n    with: {sql: x}\n"},
		{name: "max_parallel without for_each", src: head + "    max_parallel: 2\n    with: {sql: x}\n"},
		{name: "max_parallel zero", src: head + "    for_each: [a]\n    max_parallel: 0\n    with: {sql: x}\n"},
		{name: "run_on always", src: head + "    run_on: always\n    with: {sql: x}\n", valid: true},
		{name: "run_on bad", src: head + "    run_on: sometimes\n    with: {sql: x}\n"},
		{name: "on_failure bad", src: head + "    on_failure: retry\n    with: {sql: x}\n"},
		{name: "step options", src: head + "    with: {sql: x}\n    retry: {max_attempts: 3, initial_interval: 1s, max_interval: 1m, backoff: 1.5, non_retryable: DLI.0001}\n    poll: {interval: 1s}\n    timeout: 1h30m\n    on_failure: skip_downstream\n", valid: true},
		{name: "timeout in words", src: head + "    with: {sql: x}\n    timeout: 30 minutes\n"},
		{name: "zero timeout", src: head + "    with: {sql: x}\n    timeout: 0s\n"},
		{name: "retry unknown field", src: head + "    with: {sql: x}\n    retry: {attempts: 3}\n"},
		{name: "retry backoff below 1", src: head + "    with: {sql: x}\n    retry: {backoff: 0.5}\n"},
		{name: "retry attempts a float", src: head + "    with: {sql: x}\n    retry: {max_attempts: 1.5}\n"},
		{name: "params short and long form", src: "name: p\nparams:\n  a: 1\n  b: {type: list, default: [x]}\n  c: {type: string, description: required one}\n  d: {k: v}\n  e: {default: 3, description: three}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true, planner: "c has no value without --param"},
		{name: "param of unknown type", src: "name: p\nparams: {a: {type: strin, default: x}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "param default of another type", src: "name: p\nparams: {a: {type: number, default: ten}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "param declaration with an unknown field", src: "name: p\nparams: {a: {type: number, default: 10, unit: s}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "param declaration with a misspelt default", src: "name: p\nparams: {a: {type: string, defualt: x}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "map default with a type key, long form", src: "name: p\nparams: {a: {type: map, default: {type: jdbc, host: h}}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true},
		{name: "map default with a description key and others", src: "name: p\nparams: {a: {description: d, owner: o}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true},
		{name: "bad param name", src: "name: p\nparams: {1x: 1}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "env list and single", src: "name: p\nenv: [HOME]\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true},
		{name: "env mapping", src: "name: p\nenv: {HOME: x}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "cloud", src: "name: p\ncloud: {region: r, project_id: 0123, credentials: prod, endpoints: {dli: 'https://dli.example.com:8443'}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true},
		{name: "cloud and description templates", src: "name: p\ndescription: 'Loads ${params.r}'\nparams: {r: eu, dli: 'https://dli'}\ncloud: {region: '${params.r}', project_id: 'p-${params.r}', endpoints: {dli: '${params.dli}', cdm: 'https://cdm.${params.r}'}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true},
		{name: "templated timeout", src: head + "    with: {sql: x}\n    timeout: '${params.t}'\n"},
		{name: "templated cron", src: "name: p\nschedule: {cron: '${params.c}'}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true, planner: "cron syntax is not in the schema"},
		{name: "templated param default", src: "name: p\nparams: {a: x, b: '${params.a}'}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true, planner: "the schema does not look for templates in defaults"},
		{name: "endpoint not a URL", src: "name: p\ncloud: {endpoints: {dli: dli.example.com}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "endpoint of an unknown service", src: "name: p\ncloud: {endpoints: {obs: 'https://obs'}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "schedule", src: "name: p\nschedule: {cron: '0 2 * * *', timezone: Asia/Shanghai, start: '2026-03-01T00:00:00+08:00', overlap: buffer_one, catchup_window: 1h, paused: true}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true},
		{name: "schedule without cron", src: "name: p\nschedule: {timezone: UTC}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "schedule with a bad overlap", src: "name: p\nschedule: {cron: '@daily', overlap: queue}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "schedule with a bad start", src: "name: p\nschedule: {cron: '@daily', start: 'March 1st'}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "schedule with a bad cron", src: "name: p\nschedule: {cron: 'every day'}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true, planner: "cron syntax is not in the schema"},
		{name: "max_parallel", src: "name: p\nmax_parallel: 4\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true},
		{name: "max_parallel zero", src: "name: p\nmax_parallel: 0\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
		{name: "defaults", src: "name: p\ndefaults: {retry: {max_attempts: 2}, poll: {interval: 1s, max_interval: 5s}, timeout: 2h, on_failure: continue}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", valid: true},
		{name: "defaults with a step field", src: "name: p\ndefaults: {run_on: always}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
	}
	// The example pipelines and the loader's test specs.
	files, err := filepath.Glob(filepath.Join("..", "examples", "pipelines", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"minimal.yaml", "valid_full.yaml", "out_of_order.yaml"} {
		files = append(files, filepath.Join("..", "spec", "testdata", name))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, specCase{name: f, src: string(b), valid: true, file: f})
	}

	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			if err := yaml.Unmarshal([]byte(tt.src), &doc); err != nil {
				t.Fatalf("not YAML: %v", err)
			}
			err := v.validate(schema, jsonValueOf(t, doc), "$")
			if tt.valid && err != nil {
				t.Errorf("schema rejects the spec: %v", err)
			} else if !tt.valid && err == nil {
				t.Errorf("schema accepts the spec")
			}
			p, diags := spec.Load(cmp.Or(tt.file, "test.yaml"), []byte(tt.src))
			if !diags.HasErrors() {
				_, more := Compile(p)
				diags = append(diags, more...)
			}
			var errs []string
			for _, d := range diags {
				if d.Severity == hcl.DiagError && d.Summary != "Step kind not available yet" {
					errs = append(errs, d.Summary+": "+d.Detail)
				}
			}
			// Steps of kinds this version cannot run yet are an error
			// the schema leaves to the planner: they are still valid specs.
			plannerOK := len(errs) == 0
			switch {
			case tt.planner != "" && plannerOK == tt.valid:
				t.Errorf("the planner agrees with the schema, but should not (%s): errors %v", tt.planner, errs)
			case tt.planner == "" && tt.valid && !plannerOK:
				t.Errorf("schema accepts the spec but the planner rejects it: %v", errs)
			case tt.planner == "" && !tt.valid && plannerOK:
				t.Errorf("schema rejects the spec but the planner accepts it")
			}
		})
	}
}

// TestJSONSchemaKeywords checks that the schema uses only keywords the test
// validator implements, so that it checks every constraint.
func TestJSONSchemaKeywords(t *testing.T) {
	used := map[string]bool{}
	var walk func(v any, inProps bool)
	walk = func(v any, inProps bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if !inProps {
					used[k] = true
				}
				walk(c, !inProps && (k == "properties" || k == "$defs" || k == "dependentRequired"))
			}
		case []any:
			for _, c := range x {
				walk(c, false)
			}
		}
	}
	walk(loadSchema(t), false)
	var unknown []string
	for k := range used {
		if !slices.Contains(validatorKeywords, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("schema uses keywords the test validator does not check: %v", unknown)
	}
	for _, k := range []string{"$ref", "allOf", "if", "then", "oneOf", "anyOf", "pattern", "enum", "const", "additionalProperties", "dependentRequired", "propertyNames"} {
		if !used[k] {
			t.Errorf("schema does not use %s", k)
		}
	}
}

// jsonValueOf converts a value decoded from YAML to what decoding the same
// document as JSON gives: numbers as float64.
func jsonValueOf(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("YAML value does not convert to JSON: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// validatorKeywords are the keywords validator implements; the others in
// the list are annotations.
var validatorKeywords = []string{
	"$schema", "$id", "$defs", "title", "description", "format",
	"$ref", "type", "enum", "const", "pattern", "minLength", "minimum",
	"required", "properties", "additionalProperties", "propertyNames", "dependentRequired",
	"items", "minItems", "uniqueItems", "anyOf", "oneOf", "allOf", "if", "then", "else",
}

// validator is a JSON Schema validator for the keywords the pipeline
// schema uses, enough to test it with.
type validator struct {
	root map[string]any
}

func (v *validator) validate(schema, x any, path string) error {
	switch s := schema.(type) {
	case bool:
		if !s {
			return fmt.Errorf("%s: not allowed", path)
		}
		return nil
	case map[string]any:
		return v.object(s, x, path)
	}
	return fmt.Errorf("%s: schema is a %T", path, schema)
}

func (v *validator) object(s map[string]any, x any, path string) error {
	obj, isObj := x.(map[string]any)
	arr, isArr := x.([]any)
	str, isStr := x.(string)
	num, isNum := x.(float64)
	// Keywords in a fixed order, for reproducible messages.
	for _, k := range validatorKeywords {
		kv, ok := s[k]
		if !ok {
			continue
		}
		switch k {
		case "$ref":
			name, ok := strings.CutPrefix(kv.(string), "#/$defs/")
			if !ok {
				return fmt.Errorf("%s: unsupported $ref %v", path, kv)
			}
			def, ok := v.root["$defs"].(map[string]any)[name]
			if !ok {
				return fmt.Errorf("%s: $ref to missing %s", path, name)
			}
			if err := v.validate(def, x, path); err != nil {
				return err
			}
		case "type":
			types, ok := kv.([]any)
			if !ok {
				types = []any{kv}
			}
			if !slices.ContainsFunc(types, func(t any) bool { return hasType(x, t.(string)) }) {
				return fmt.Errorf("%s: %v is not of type %v", path, x, kv)
			}
		case "enum":
			if !slices.ContainsFunc(kv.([]any), func(e any) bool { return reflect.DeepEqual(e, x) }) {
				return fmt.Errorf("%s: %v is not one of %v", path, x, kv)
			}
		case "const":
			if !reflect.DeepEqual(kv, x) {
				return fmt.Errorf("%s: %v is not %v", path, x, kv)
			}
		case "pattern":
			if isStr && !regexp.MustCompile(kv.(string)).MatchString(str) {
				return fmt.Errorf("%s: %q does not match %s", path, str, kv)
			}
		case "minLength":
			if isStr && utf8.RuneCountInString(str) < int(kv.(float64)) {
				return fmt.Errorf("%s: %q is too short", path, str)
			}
		case "minimum":
			if isNum && num < kv.(float64) {
				return fmt.Errorf("%s: %v is less than %v", path, num, kv)
			}
		case "required":
			for _, r := range kv.([]any) {
				if _, ok := obj[r.(string)]; isObj && !ok {
					return fmt.Errorf("%s: %s is required", path, r)
				}
			}
		case "properties":
			for _, name := range sortedKeys(obj) {
				if ps, ok := kv.(map[string]any)[name]; ok {
					if err := v.validate(ps, obj[name], path+"."+name); err != nil {
						return err
					}
				}
			}
		case "additionalProperties":
			props, _ := s["properties"].(map[string]any)
			for _, name := range sortedKeys(obj) {
				if _, declared := props[name]; !declared {
					if err := v.validate(kv, obj[name], path+"."+name); err != nil {
						return err
					}
				}
			}
		case "propertyNames":
			for _, name := range sortedKeys(obj) {
				if err := v.validate(kv, name, path+" key "+name); err != nil {
					return err
				}
			}
		case "dependentRequired":
			for _, name := range sortedKeys(obj) {
				for _, r := range asSlice(kv.(map[string]any)[name]) {
					if _, ok := obj[r.(string)]; !ok {
						return fmt.Errorf("%s: %s needs %s", path, name, r)
					}
				}
			}
		case "items":
			for i, e := range arr {
				if err := v.validate(kv, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		case "minItems":
			if isArr && len(arr) < int(kv.(float64)) {
				return fmt.Errorf("%s: fewer than %v items", path, kv)
			}
		case "uniqueItems":
			for i := range arr {
				for j := range i {
					if kv == true && reflect.DeepEqual(arr[i], arr[j]) {
						return fmt.Errorf("%s: items %d and %d are equal", path, j, i)
					}
				}
			}
		case "anyOf", "oneOf":
			var errs []string
			for _, sub := range kv.([]any) {
				if err := v.validate(sub, x, path); err != nil {
					errs = append(errs, err.Error())
				}
			}
			n := len(kv.([]any)) - len(errs)
			if n == 0 {
				return fmt.Errorf("%s: matches none of %s: [%s]", path, k, strings.Join(errs, "; "))
			}
			if k == "oneOf" && n > 1 {
				return fmt.Errorf("%s: matches %d of oneOf", path, n)
			}
		case "allOf":
			for _, sub := range kv.([]any) {
				if err := v.validate(sub, x, path); err != nil {
					return err
				}
			}
		case "if":
			branch := "else"
			if v.validate(kv, x, path) == nil {
				branch = "then"
			}
			if sub, ok := s[branch]; ok {
				if err := v.validate(sub, x, path); err != nil {
					return err
				}
			}
		}
	}
	for k := range s {
		if !slices.Contains(validatorKeywords, k) {
			return fmt.Errorf("%s: unsupported keyword %s", path, k)
		}
	}
	return nil
}

func hasType(x any, t string) bool {
	switch t {
	case "object":
		_, ok := x.(map[string]any)
		return ok
	case "array":
		_, ok := x.([]any)
		return ok
	case "string":
		_, ok := x.(string)
		return ok
	case "number":
		_, ok := x.(float64)
		return ok
	case "integer":
		f, ok := x.(float64)
		return ok && f == math.Trunc(f)
	case "boolean":
		_, ok := x.(bool)
		return ok
	case "null":
		return x == nil
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// TestValidator checks the test validator itself on small schemas, so that
// a schema test passing means the schema is right, not the validator lax.
func TestValidator(t *testing.T) {
	v := &validator{root: map[string]any{"$defs": map[string]any{"n": map[string]any{"type": "integer"}}}}
	for _, tt := range []struct {
		schema, value string
		ok            bool
	}{
		{`{"type":"string"}`, `"x"`, true},
		{`{"type":"string"}`, `1`, false},
		{`{"type":["string","number"]}`, `1.5`, true},
		{`{"type":"integer"}`, `1.5`, false},
		{`{"$ref":"#/$defs/n"}`, `2`, true},
		{`{"$ref":"#/$defs/n"}`, `"2"`, false},
		{`{"enum":["a","b"]}`, `"b"`, true},
		{`{"enum":["a","b"]}`, `"c"`, false},
		{`{"const":"a"}`, `"b"`, false},
		{`{"pattern":"^a"}`, `"ba"`, false},
		{`{"pattern":"^a"}`, `3`, true},
		{`{"minLength":1}`, `""`, false},
		{`{"minimum":1}`, `0`, false},
		{`{"required":["a"]}`, `{"b":1}`, false},
		{`{"required":["a"]}`, `"not an object"`, true},
		{`{"properties":{"a":{"type":"string"}}}`, `{"a":1}`, false},
		{`{"properties":{"a":{}},"additionalProperties":false}`, `{"a":1,"b":2}`, false},
		{`{"properties":{"a":{}},"additionalProperties":false}`, `{"a":1}`, true},
		{`{"additionalProperties":{"type":"string"}}`, `{"a":"x","b":2}`, false},
		{`{"propertyNames":{"pattern":"^[a-z]+$"}}`, `{"A":1}`, false},
		{`{"dependentRequired":{"a":["b"]}}`, `{"a":1}`, false},
		{`{"dependentRequired":{"a":["b"]}}`, `{"a":1,"b":1}`, true},
		{`{"items":{"type":"string"}}`, `["a",1]`, false},
		{`{"minItems":1}`, `[]`, false},
		{`{"uniqueItems":true}`, `["a","a"]`, false},
		{`{"anyOf":[{"type":"string"},{"type":"number"}]}`, `true`, false},
		{`{"anyOf":[{"type":"string"},{"type":"number"}]}`, `1`, true},
		{`{"oneOf":[{"required":["a"]},{"required":["b"]}]}`, `{"a":1,"b":2}`, false},
		{`{"oneOf":[{"required":["a"]},{"required":["b"]}]}`, `{}`, false},
		{`{"oneOf":[{"required":["a"]},{"required":["b"]}]}`, `{"b":2}`, true},
		{`{"allOf":[{"type":"number"},{"minimum":3}]}`, `2`, false},
		{`{"if":{"required":["a"]},"then":{"required":["b"]}}`, `{"a":1}`, false},
		{`{"if":{"required":["a"]},"then":{"required":["b"]}}`, `{"c":1}`, true},
		{`{"if":{"required":["a"]},"then":{},"else":{"required":["b"]}}`, `{"c":1}`, false},
		{`false`, `1`, false},
		{`{"maxLength":1}`, `"x"`, false}, // unsupported keywords fail
	} {
		var schema, value any
		if err := json.Unmarshal([]byte(tt.schema), &schema); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tt.value), &value); err != nil {
			t.Fatal(err)
		}
		if err := v.validate(schema, value, "$"); (err == nil) != tt.ok {
			t.Errorf("%s on %s: %v, want ok %v", tt.schema, tt.value, err, tt.ok)
		}
	}
}
