package planner

import (
	"reflect"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/spec"
)

// TestUnsetParams: with AllowUnsetParams, a parameter without a default
// or a value is unknown when planning, of its declared type, so the
// templates reading it are still checked, and the plan names it; without,
// it is an error.
func TestUnsetParams(t *testing.T) {
	const src = `name: p
params:
  table: {type: string}
  n: {type: number}
  tables: {type: list}
  conf: {type: map}
  top: 10
steps:
  - id: a
    kind: dli.sql
    for_each: ${params.tables}
    if: ${params.n > 1}
    with: {sql: "SELECT * FROM ${params.table} LIMIT ${params.top + params.n} -- ${params.conf.k} ${item}"}
`
	plan, diags := CompileWith(load(t, src), Options{AllowUnsetParams: true})
	if len(diags) != 0 || plan == nil {
		t.Fatalf("diagnostics:\n%s", formatDiags(diagList(diags)))
	}
	if want := []string{"table", "n", "tables", "conf"}; !reflect.DeepEqual(plan.Unset, want) {
		t.Errorf("unset %v, want %v", plan.Unset, want)
	}
	if want := map[string]any{"top": int64(10)}; !reflect.DeepEqual(plan.Params, want) {
		t.Errorf("params %v, want %v", plan.Params, want)
	}

	_, diags = Compile(load(t, src))
	want := []wantDiag{
		{"3:3-3:8", "Parameter has no value", `Parameter "table" has no default: give one with --param table=VALUE.`},
		{"4:3-4:4", "Parameter has no value", `Parameter "n" has no default: give one with --param n=VALUE.`},
		{"5:3-5:9", "Parameter has no value", `Parameter "tables" has no default: give one with --param tables=VALUE.`},
		{"6:3-6:7", "Parameter has no value", `Parameter "conf" has no default: give one with --param conf=VALUE.`},
	}
	if got := diagList(diags); !reflect.DeepEqual(got, want) {
		t.Errorf("without AllowUnsetParams:\n%s\nwant:\n%s", formatDiags(got), formatDiags(want))
	}

	// Their types are checked.
	for _, tt := range []struct {
		name, src string
		want      []wantDiag
	}{
		{
			name: "a number used as a list",
			src:  "name: p\nparams: {n: {type: number}}\nsteps:\n  - {id: a, kind: dli.sql, for_each: '${params.n}', with: {sql: x}}\n",
			want: []wantDiag{{"4:38-4:51", "for_each is not a list", "`for_each` must give a list; this one gives a number."}},
		},
		{
			name: "a list added to",
			src:  "name: p\nparams: {l: {type: list}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: '${params.l + 1}'}}\n",
			want: []wantDiag{{"4:43-4:51", "Invalid operand", "Unsuitable value for left operand: number required, but have list of dynamic."}},
		},
		{
			// A condition takes no string, known or not.
			name: "a string as a condition",
			src:  "name: p\nparams: {s: {type: string}}\nsteps:\n  - {id: a, kind: dli.sql, if: '${params.s}', with: {sql: x}}\n",
			want: []wantDiag{{"4:32-4:45", "Condition is not a bool", "An `if` condition must be a bool; this one gives a string. Compare it to get one, as in ${steps.check.outputs.status == \"OK\"}."}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := CompileWith(load(t, tt.src), Options{AllowUnsetParams: true})
			if got := diagList(diags); len(got) != len(tt.want) || len(got) > 0 && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", formatDiags(got), formatDiags(tt.want))
			}
		})
	}
}

// TestBadParamOverride: a --param value that is not of the parameter's
// type is one error; the templates reading the parameter see an unknown
// value of its type, with no follow-on errors.
func TestBadParamOverride(t *testing.T) {
	const src = `name: p
params:
  n: {type: number, default: 1}
  l: {type: list, default: [a]}
  m: {type: map, default: {a: b}}
steps:
  - id: a
    kind: dli.sql
    for_each: ${params.l}
    with: {sql: "${params.n + 1} ${params.m.a} ${item}"}
`
	_, diags := CompileWith(load(t, src), Options{Params: map[string]string{"n": "abc", "l": "x", "m": "y"}})
	want := []wantDiag{
		{"3:3-3:4", `Invalid value for parameter "n"`, `--param n=abc: "abc" is not a number.`},
		{"4:3-4:4", `Invalid value for parameter "l"`, `--param l=x: a list parameter is given as a JSON list, such as ["a","b"].`},
		{"5:3-5:4", `Invalid value for parameter "m"`, `--param m=y: a map parameter is given as a JSON object, such as {"k":"v"}.`},
	}
	if got := diagList(diags); !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", formatDiags(got), formatDiags(want))
	}
}

// TestWholeRoots: a root alone, as in ${steps}, is reported once, saying
// what to write.
func TestWholeRoots(t *testing.T) {
	const head = "name: p\nparams: {a: 1, b: x}\nenv: [TEAM]\nsteps:\n  - {id: first, kind: dli.sql, with: {sql: x}}\n"
	for _, tt := range []struct {
		name, src string
		want      wantDiag
	}{
		{"steps", head + "  - {id: b, kind: dli.sql, with: {sql: '${steps}'}}\n",
			wantDiag{"6:43-6:48", "Incomplete reference", "`steps` alone cannot be used in a template: write steps.ID.outputs.NAME to read an output of another step."}},
		{"params", head + "  - {id: b, kind: dli.sql, with: {sql: 'x ${params} y'}}\n",
			wantDiag{"6:45-6:51", "Incomplete reference", "`params` alone cannot be used in a template: write params.NAME to read a parameter (this spec's are: a, b)."}},
		{"run", head + "  - {id: b, kind: dli.sql, with: {sql: '${run}'}}\n",
			wantDiag{"6:43-6:46", "Incomplete reference", "`run` alone cannot be used in a template: write run.FIELD, one of: id, pipeline, logical_time, started_time, attempt."}},
		{"env", head + "  - {id: b, kind: dli.sql, with: {sql: '${env}'}}\n",
			wantDiag{"6:43-6:46", "Incomplete reference", "`env` alone cannot be used in a template: write env.NAME to read an environment variable listed under `env`."}},
		{"secret", head + "  - {id: b, kind: dli.sql, with: {sql: '${secret}'}}\n",
			wantDiag{"6:43-6:49", "Incomplete reference", "`secret` alone cannot be used in a template: write secret.NAME to read a credential."}},
		{"params in a condition", head + "  - {id: b, kind: dli.sql, if: '${params}', with: {sql: x}}\n",
			wantDiag{"6:35-6:41", "Incomplete reference", "`params` alone cannot be used in a template: write params.NAME to read a parameter (this spec's are: a, b)."}},
		{"params of a spec without any", "name: p\nsteps:\n  - {id: b, kind: dli.sql, with: {sql: '${params}'}}\n",
			wantDiag{"3:43-3:49", "Incomplete reference", "`params` alone cannot be used in a template: write params.NAME to read a parameter (this spec has none)."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := CompileWith(load(t, tt.src), Options{LookupEnv: func(string) (string, bool) { return "x", true }})
			if got := diagList(diags); !reflect.DeepEqual(got, []wantDiag{tt.want}) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", formatDiags(got), formatDiags([]wantDiag{tt.want}))
			}
		})
	}
}

// TestConditionNotATemplate: an `if` or `for_each` that is a string but
// no template is reported once, by the loader, not again by the planner.
func TestConditionNotATemplate(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      wantDiag
	}{
		{"if: yes", "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    if: yes\n    with: {sql: x}\n",
			wantDiag{"5:9-5:12", "Invalid condition", "`if` is true, false or a template such as \"${params.full_load}\"; found the string \"yes\". YAML 1.2 reads yes as a string, not a bool: write true or false."}},
		{"if: a word", "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    if: always\n    with: {sql: x}\n",
			wantDiag{"5:9-5:15", "Invalid condition", "`if` is true, false or a template such as \"${params.full_load}\"; found the string \"always\"."}},
		{"for_each: a word", "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    for_each: tables\n    with: {sql: x}\n",
			wantDiag{"5:15-5:21", "Invalid for_each", "`for_each` is a list or a template giving one, such as \"${params.tables}\"; found the string \"tables\"."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, diags := spec.Load("test.yaml", []byte(tt.src))
			_, more := Compile(p)
			all := append(append(hcl.Diagnostics(nil), diags...), more...)
			if got := diagList(all); !reflect.DeepEqual(got, []wantDiag{tt.want}) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", formatDiags(got), formatDiags([]wantDiag{tt.want}))
			}
		})
	}
}

// TestUnsetEnv: with AllowUnsetParams, an environment variable listed
// under env and not set is an unknown string when planning, as a parameter
// without a value is, and the plan names it; without, it is an error.
func TestUnsetEnv(t *testing.T) {
	const src = `name: p
env: [SET, UNSET]
steps:
  - id: a
    kind: dli.sql
    with: {sql: "SELECT '${env.SET}', '${env.UNSET}', ${upper(env.UNSET)}"}
`
	lookup := func(name string) (string, bool) { return "x", name == "SET" }
	plan, diags := CompileWith(load(t, src), Options{AllowUnsetParams: true, LookupEnv: lookup})
	if len(diags) != 0 || plan == nil {
		t.Fatalf("diagnostics:\n%s", formatDiags(diagList(diags)))
	}
	if want := []string{"UNSET"}; !reflect.DeepEqual(plan.UnsetEnv, want) {
		t.Errorf("unset env %v, want %v", plan.UnsetEnv, want)
	}
	if want := map[string]string{"SET": "x"}; !reflect.DeepEqual(plan.Env, want) {
		t.Errorf("env %v, want %v", plan.Env, want)
	}
	_, diags = CompileWith(load(t, src), Options{LookupEnv: lookup})
	want := []wantDiag{{"2:12-2:17", "Environment variable not set", "The spec reads env.UNSET, but UNSET is not set in the environment of this command."}}
	if got := diagList(diags); !reflect.DeepEqual(got, want) {
		t.Errorf("without AllowUnsetParams:\n%s\nwant:\n%s", formatDiags(got), formatDiags(want))
	}
}
