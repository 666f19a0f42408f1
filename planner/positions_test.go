package planner

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/spec"
)

// compileSpecs loads and compiles the spec main.yaml of files, the others
// being what its pipeline steps may run, and returns every diagnostic as
// `file:line:col: path: Summary | Detail`, the path as validate shows it.
func compileSpecs(t *testing.T, files map[string]string) []string {
	t.Helper()
	loaded := map[string]*spec.Pipeline{}
	load := func(path string) (*spec.Pipeline, hcl.Diagnostics) {
		name := filepath.ToSlash(path)
		src, ok := files[name]
		if !ok {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec", Detail: name}}
		}
		p, diags := spec.Load(name, []byte(src))
		loaded[name] = p
		return p, diags
	}
	p, diags := load("main.yaml")
	if !diags.HasErrors() {
		_, diags = CompileWith(p, Options{LoadSpec: load})
	}
	var out []string
	for _, d := range diags {
		if d.Subject == nil {
			out = append(out, fmt.Sprintf("%s | %s", d.Summary, d.Detail))
			continue
		}
		path := ""
		if q := loaded[d.Subject.Filename]; q != nil {
			path = q.PathAt(d.Subject.Start)
		}
		out = append(out, fmt.Sprintf("%s:%d:%d: %s: %s | %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, path, d.Summary, d.Detail))
	}
	return out
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) == fmt.Sprint(want) {
		return
	}
	t.Errorf("diagnostics:")
	for _, g := range got {
		t.Errorf("  %s", g)
	}
	t.Errorf("want:")
	for _, w := range want {
		t.Errorf("  %s", w)
	}
}

// TestTemplatePositions checks that problems inside templates are
// reported where they are written, whatever the YAML style of the string
// holding the template.
func TestTemplatePositions(t *testing.T) {
	const head = "name: p\nparams: {day: x}\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: "
	unknown := `: Unknown reference | params.dya refers to an unknown parameter "dya"; did you mean "day"?`
	tests := []struct {
		name, src string
		want      []string
	}{
		{
			name: "literal block, third line",
			src:  head + "|\n        SELECT *\n        FROM t\n        WHERE d = '${params.dya}'\n",
			want: []string{"main.yaml:10:22: steps[0].with.sql" + unknown},
		},
		{
			name: "literal block with an indentation indicator and strip",
			src:  head + "|-2\n          SELECT 1\n        -- ${params.dya}\n",
			want: []string{"main.yaml:9:14: steps[0].with.sql" + unknown},
		},
		{
			name: "folded block",
			src:  head + ">\n        SELECT *\n        FROM t\n\n        WHERE d = '${params.dya}'\n",
			want: []string{"main.yaml:11:22: steps[0].with.sql" + unknown},
		},
		{
			name: "plain, over several lines",
			src:  head + "SELECT *\n        FROM t\n        WHERE d = '${params.dya}'\n",
			want: []string{"main.yaml:9:22: steps[0].with.sql" + unknown},
		},
		{
			name: "double-quoted with escapes",
			src:  head + `"\"a\"\n\t\u00e9 ${params.dya}"` + "\n",
			want: []string{"main.yaml:7:31: steps[0].with.sql" + unknown},
		},
		{
			name: "double-quoted over lines, with an escaped line break",
			src:  head + "\"SELECT \\\n        1,\n\n   ${params.dya}\"\n",
			want: []string{"main.yaml:10:6: steps[0].with.sql" + unknown},
		},
		{
			name: "single-quoted with a doubled quote",
			src:  head + "'it''s ''${params.dya}'''\n",
			want: []string{"main.yaml:7:23: steps[0].with.sql" + unknown},
		},
		{
			name: "flow mapping, tabs and multi-byte characters",
			src:  "name: p\nparams: {day: x}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: \"é\t😀 ${params.dya}\", queue: q}}\n",
			want: []string{"main.yaml:4:47: steps[0].with.sql" + unknown},
		},
		{
			name: "CRLF and a byte order mark",
			src:  "\ufeffname: p\r\nparams: {day: x}\r\nsteps:\r\n  - id: a\r\n    kind: dli.sql\r\n    with:\r\n      sql: |\r\n        SELECT 1\r\n        -- ${params.dya}\r\n",
			want: []string{"main.yaml:9:14: steps[0].with.sql" + unknown},
		},
		{
			name: "a syntax error on the third line of a block",
			src:  head + "|\n        SELECT 1\n        FROM t\n        WHERE d = ${params.day +}\n",
			want: []string{"main.yaml:10:33: steps[0].with.sql: Invalid expression | Expected the start of an expression, but found an invalid expression token."},
		},
		{
			// HCL's subject runs from the start of the template to the ${.
			name: "an unclosed interpolation in a folded block",
			src:  head + ">\n        SELECT 1\n        WHERE d = ${params.day\n",
			want: []string{"main.yaml:8:9: steps[0].with.sql: Unclosed template interpolation sequence | There is no closing brace for this interpolation sequence before the end of the file. This might be caused by incorrect nesting inside the given expression."},
		},
		{
			name: "an unknown function in a plain scalar",
			src:  head + "x\n        ${uper(params.day)}\n",
			want: []string{"main.yaml:8:11: steps[0].with.sql: Call to unknown function | There is no function named \"uper\". Did you mean \"upper\"?"},
		},
		{
			name: "an implied dependency cycle points at the reference",
			src: "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: \"x\\t${steps.b.outputs.job_id}\"}\n" +
				"  - id: b\n    kind: dli.sql\n    with:\n      sql: >-\n        y\n        ${steps.a.outputs.job_id}\n",
			want: []string{"main.yaml:11:11: steps[1].with.sql: Dependency cycle | Steps depend on each other in a loop: b -> a -> b. Remove one of these dependencies."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkLines(t, compileSpecs(t, map[string]string{"main.yaml": tc.src}), tc.want)
		})
	}
}
