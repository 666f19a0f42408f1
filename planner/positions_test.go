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
			path = q.DiagPath(d)
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

// TestDiagnosticPaths checks the position and YAML path of the planner's
// problems that are about a mapping, something missing from one, or one
// field among several.
func TestDiagnosticPaths(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // main.yaml and what it runs
		want  []string
	}{
		{
			name:  "missing input in a block with",
			files: map[string]string{"main.yaml": "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      queue: q\n"},
			want:  []string{"main.yaml:6:7: steps[0].with: Missing input \"sql\" | dli.sql needs `with.sql`: the SQL statement."},
		},
		{
			name:  "missing input in a flow with",
			files: map[string]string{"main.yaml": "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {queue: q}\n"},
			want:  []string{"main.yaml:5:11: steps[0].with: Missing input \"sql\" | dli.sql needs `with.sql`: the SQL statement."},
		},
		{
			name:  "missing input of a step without with",
			files: map[string]string{"main.yaml": "name: p\nsteps:\n  - {id: a, kind: wait, with: {duration: 1m}}\n  - {id: b, kind: wait, with: {duration: 1m}}\n  - id: c\n    kind: dli.sql\n"},
			want:  []string{"main.yaml:5:9: steps[2].with: Missing input \"sql\" | dli.sql needs `with.sql`: the SQL statement."},
		},
		{
			name:  "exactly one of, without with",
			files: map[string]string{"main.yaml": "name: p\nsteps:\n  - kind: wait\n    id: a\n"},
			want:  []string{"main.yaml:4:9: steps[0].with: Exactly one of duration, until | wait needs exactly one of `with.duration` and `with.until`; found 0."},
		},
		{
			name:  "exactly one of, in a block with",
			files: map[string]string{"main.yaml": "name: p\nsteps:\n  - id: a\n    kind: wait\n    with:\n      duration: 1m\n      until: \"2026-01-01T00:00:00Z\"\n"},
			want:  []string{"main.yaml:6:7: steps[0].with: Exactly one of duration, until | wait needs exactly one of `with.duration` and `with.until`; found 2."},
		},
		{
			name:  "invalid input given a block mapping",
			files: map[string]string{"main.yaml": "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql:\n        a: 1\n"},
			want:  []string{"main.yaml:7:9: steps[0].with.sql: Invalid input \"sql\" | dli.sql: expected a string."},
		},
		{
			name: "retry: the step's max_interval",
			files: map[string]string{"main.yaml": "name: p\nsteps:\n" +
				"  - {id: a, kind: wait, with: {duration: 1m}}\n  - {id: b, kind: wait, with: {duration: 1m}}\n" +
				"  - {id: c, kind: wait, with: {duration: 1m}}\n  - {id: d, kind: wait, with: {duration: 1m}}\n" +
				"  - id: e\n    kind: dli.sql\n    with: {sql: x}\n    retry:\n      initial_interval: 1m\n      max_interval: 10s\n"},
			want: []string{"main.yaml:12:21: steps[4].retry.max_interval: Invalid retry | Step \"e\": retry.max_interval (10s) is shorter than retry.initial_interval (1m0s)."},
		},
		{
			name:  "retry: the step's max_interval, below the built-in initial_interval",
			files: map[string]string{"main.yaml": "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: x}\n    retry: {max_interval: 1s}\n"},
			want:  []string{"main.yaml:6:27: steps[0].retry.max_interval: Invalid retry | Step \"a\": retry.max_interval (1s) is shorter than retry.initial_interval (5s, the built-in default)."},
		},
		{
			name:  "retry: the step's max_interval, below the defaults' initial_interval",
			files: map[string]string{"main.yaml": "name: p\ndefaults:\n  retry: {initial_interval: 1m}\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: x}\n    retry: {max_interval: 30s}\n"},
			want:  []string{"main.yaml:8:27: steps[0].retry.max_interval: Invalid retry | Step \"a\": retry.max_interval (30s) is shorter than retry.initial_interval (1m0s, from defaults)."},
		},
		{
			name: "retry: the defaults' max_interval, reported once",
			files: map[string]string{"main.yaml": "name: p\ndefaults:\n  retry:\n    backoff: 2\n    max_interval: 2s\nsteps:\n" +
				"  - {id: a, kind: dli.sql, with: {sql: x}}\n  - {id: b, kind: dli.sql, with: {sql: x}, retry: {initial_interval: 1s}}\n  - {id: c, kind: dli.sql, with: {sql: x}}\n"},
			want: []string{"main.yaml:5:19: defaults.retry.max_interval: Invalid retry | In defaults, retry.max_interval (2s) is shorter than retry.initial_interval (5s, the built-in default). It applies to steps \"a\" and \"c\"."},
		},
		{
			name:  "poll: the step's max_interval",
			files: map[string]string{"main.yaml": "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: x}\n    poll:\n      max_interval: 1s\n      interval: 5s\n"},
			want:  []string{"main.yaml:7:21: steps[0].poll.max_interval: Invalid poll | Step \"a\": poll.max_interval (1s) is shorter than poll.interval (5s)."},
		},
		{
			name:  "poll: the defaults' max_interval",
			files: map[string]string{"main.yaml": "name: p\ndefaults:\n  poll: {max_interval: 1s}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"},
			want:  []string{"main.yaml:3:24: defaults.poll.max_interval: Invalid poll | In defaults, poll.max_interval (1s) is shorter than poll.interval (2s, the built-in default). It applies to step \"a\"."},
		},
		{
			name:  "an empty for_each",
			files: map[string]string{"main.yaml": "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: x}\n    for_each: []\n"},
			want:  []string{"main.yaml:6:15: steps[0].for_each: Empty for_each | A literal for_each list needs at least one item."},
		},
		{
			name: "a sub-pipeline's parameter missing from with.params",
			files: map[string]string{
				"main.yaml":  "name: p\nsteps:\n  - id: a\n    kind: pipeline\n    with:\n      spec: child.yaml\n      params:\n        other: 1\n",
				"child.yaml": "name: c\nparams:\n  day: {type: string}\n  other: 2\nsteps:\n  - {id: x, kind: wait, with: {duration: 1m}}\n",
			},
			want: []string{"main.yaml:8:9: steps[0].with.params: Parameter has no value | Sub-pipeline c needs parameter \"day\", which has no default: give it in with.params."},
		},
		{
			name: "a sub-pipeline's parameter, without with.params",
			files: map[string]string{
				"main.yaml":  "name: p\nsteps:\n  - id: a\n    kind: pipeline\n    with:\n      spec: child.yaml\n",
				"child.yaml": "name: c\nparams:\n  day: {type: string}\nsteps:\n  - {id: x, kind: wait, with: {duration: 1m}}\n",
			},
			want: []string{"main.yaml:6:7: steps[0].with: Parameter has no value | Sub-pipeline c needs parameter \"day\", which has no default: give it in with.params."},
		},
		{
			name: "a sub-pipeline's parameter given a block list",
			files: map[string]string{
				"main.yaml":  "name: p\nsteps:\n  - id: a\n    kind: pipeline\n    with:\n      spec: child.yaml\n      params:\n        day:\n          - 1\n",
				"child.yaml": "name: c\nparams:\n  day: {type: string}\nsteps:\n  - {id: x, kind: wait, with: {duration: 1m}}\n",
			},
			want: []string{"main.yaml:9:11: steps[0].with.params.day: Invalid value for parameter \"day\" | Sub-pipeline c declares \"day\" a string: expected a string, found a list."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkLines(t, compileSpecs(t, tc.files), tc.want)
		})
	}
}
