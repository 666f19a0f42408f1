package planner

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/spec"
)

// pathDiag is an expected diagnostic with the YAML path it is reported
// at, as `pipectl validate` prints it.
type pathDiag struct {
	Range   string
	Path    string
	Summary string
	Detail  string
}

// compileDiags compiles src with the given environment and returns its
// diagnostics with their paths.
func compileDiags(t *testing.T, src string, env map[string]string) (*Plan, []pathDiag) {
	t.Helper()
	p := load(t, src)
	plan, diags := CompileWith(p, Options{LookupEnv: func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}})
	var out []pathDiag
	for i, d := range diagList(diags) {
		out = append(out, pathDiag{d.Range, p.PathAt(diags[i].Subject.Start), d.Summary, d.Detail})
	}
	return plan, out
}

func checkPathDiags(t *testing.T, got, want []pathDiag) {
	t.Helper()
	if len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", formatPathDiags(got), formatPathDiags(want))
	}
}

func formatPathDiags(ds []pathDiag) string {
	var out []wantDiag
	for _, d := range ds {
		out = append(out, wantDiag{d.Range + " " + d.Path, d.Summary, d.Detail})
	}
	return formatDiags(out)
}

// TestTemplateTypes checks templates against the type of the place they
// are written in, when planning, by the type of their value where the
// value itself is not known yet.
func TestTemplateTypes(t *testing.T) {
	const head = "name: p\nparams: {l: [a, b], n: 3, m: {k: v}, s: x, b: true}\nsteps:\n" +
		"  - {id: a, kind: dli.sql, with: {sql: x}}\n" +
		"  - {id: each, kind: dli.sql, for_each: [x, y], with: {sql: x}}\n"
	const cmp = ` Compare it to get one, as in ${steps.check.outputs.status == "OK"}.`
	tests := []struct {
		name string
		step string // the third step
		want []pathDiag
	}{
		{
			name: "a list param for a string input",
			step: "{id: c, kind: dli.sql, with: {sql: '${params.l}'}}",
			want: []pathDiag{{"6:40-6:53", "steps[2].with.sql", `Invalid input "sql"`, "dli.sql: expected a string; this template gives a list."}},
		},
		{
			name: "a number param for a mapping input",
			step: "{id: c, kind: dli.sql, with: {sql: x, conf: '${params.n}'}}",
			want: []pathDiag{{"6:49-6:62", "steps[2].with.conf", `Invalid input "conf"`, "dli.sql: expected a mapping of strings; this template gives a number."}},
		},
		{
			name: "a list param for a headers mapping",
			step: "{id: c, kind: http, with: {url: 'https://x', headers: '${params.l}'}}",
			want: []pathDiag{{"6:59-6:72", "steps[2].with.headers", `Invalid input "headers"`, "http: expected a mapping of strings; this template gives a list."}},
		},
		{
			name: "a mapping for a list input",
			step: "{id: c, kind: http, with: {url: 'https://x', expect_status: '${params.m}'}}",
			want: []pathDiag{{"6:65-6:78", "steps[2].with.expect_status", `Invalid input "expect_status"`, "http: expected a list of HTTP status codes; this template gives a mapping."}},
		},
		{
			name: "a mapping for a mapping input's value",
			step: "{id: c, kind: dli.sql, with: {sql: x, conf: {a: '${params.m}'}}}",
			want: []pathDiag{{"6:53-6:66", "steps[2].with.conf.a", `Invalid input "conf"`, `dli.sql: value of "a" must be a string; this template gives a mapping.`}},
		},
		{
			name: "a list for a list of strings' item",
			step: "{id: c, kind: dli.spark, with: {file: f, queue: q, args: [x, '${params.l}']}}",
			want: []pathDiag{{"6:66-6:79", "steps[2].with.args[1]", `Invalid input "args"`, "dli.spark: every item must be a string; this template gives a list."}},
		},
		{
			// Literal values too are reported where they are written.
			name: "a literal list for a headers value",
			step: "{id: c, kind: http, with: {url: 'https://x', headers: {X-Num: '1', X-List: [a]}}}",
			want: []pathDiag{{"6:80-6:80", "steps[2].with.headers.X-List", `Invalid input "headers"`, `http: value of "X-List" must be a string, found a list.`}},
		},
		{
			name: "a literal mapping for a list of strings' item",
			step: "{id: c, kind: dli.spark, with: {file: f, queue: q, args: [x, {a: b}]}}",
			want: []pathDiag{{"6:66-6:66", "steps[2].with.args[1]", `Invalid input "args"`, "dli.spark: every item must be a string, found a mapping."}},
		},
		{
			name: "a list of lists for a list of strings",
			step: "{id: c, kind: dli.spark, with: {file: f, queue: q, jars: '${[params.l]}'}}",
			want: []pathDiag{{"6:62-6:77", "steps[2].with.jars", `Invalid input "jars"`, "dli.spark: expected a list of strings; this template gives a list of lists or mappings."}},
		},
		{
			name: "a bool for a number input",
			step: "{id: c, kind: dis.stream, with: {name: s, partitions: '${params.b}'}}",
			want: []pathDiag{{"6:59-6:72", "steps[2].with.partitions", `Invalid input "partitions"`, "dis.stream: expected a number; this template gives a bool."}},
		},
		{
			name: "a number for a bool input",
			step: "{id: c, kind: dis.stream, with: {name: s, partitions: 1, auto_scale: '${params.n}'}}",
			want: []pathDiag{{"6:74-6:87", "steps[2].with.auto_scale", `Invalid input "auto_scale"`, "dis.stream: expected true or false; this template gives a number."}},
		},
		{
			name: "null for a string input",
			step: "{id: c, kind: dli.sql, with: {sql: '${null}'}}",
			want: []pathDiag{{"6:40-6:49", "steps[2].with.sql", `Invalid input "sql"`, "dli.sql: expected a string; this template gives nothing (null)."}},
		},
		{
			name: "a param with no value yet has its declared type",
			step: "{id: c, kind: dli.sql, with: {sql: '${params.need}'}}",
			want: []pathDiag{
				{"2:53-2:57", "params.need", "Parameter has no value", `Parameter "need" has no default: give one with --param need=VALUE.`},
				{"6:40-6:56", "steps[2].with.sql", `Invalid input "sql"`, "dli.sql: expected a string; this template gives a list."},
			},
		},
		{
			name: "a for_each step's output, a list, in a string",
			step: "{id: c, kind: dli.sql, with: {sql: 'select ${steps.each.outputs.job_id}'}}",
			want: []pathDiag{{"6:50-6:75", "steps[2].with.sql", "Invalid template interpolation value", `This gives a list, which cannot be part of a string; join(",", …) makes one string of a list.`}},
		},
		{
			name: "a for_each step's output, a list, for a string input",
			step: "{id: c, kind: dli.sql, with: {sql: '${steps.each.outputs.job_id}'}}",
			want: []pathDiag{{"6:40-6:70", "steps[2].with.sql", `Invalid input "sql"`, "dli.sql: expected a string; this template gives a list."}},
		},
		{
			name: "a map param of unknown value in a string",
			step: "{id: c, kind: dis.dump_task, with: {stream: s, name: n, destination: OBS, descriptor: {a: 'x${params.need}'}}}",
			want: []pathDiag{
				{"2:53-2:57", "params.need", "Parameter has no value", `Parameter "need" has no default: give one with --param need=VALUE.`},
				{"6:99-6:110", "steps[2].with.descriptor.a", "Invalid template interpolation value", "This gives a mapping, which cannot be part of a string; jsonencode(…) makes one string of a mapping."},
			},
		},
		{
			name: "a string output as a condition",
			step: "{id: c, kind: dli.sql, if: '${steps.a.outputs.job_id}', with: {sql: x}}",
			want: []pathDiag{{"6:32-6:59", "steps[2].if", "Condition is not a bool", "An `if` condition must be a bool; this one gives a string." + cmp}},
		},
		{
			name: "a string param as a condition, even \"true\"",
			step: "{id: c, kind: dli.sql, if: '${\"true\"}', with: {sql: x}}",
			want: []pathDiag{{"6:32-6:43", "steps[2].if", "Condition is not a bool", "An `if` condition must be a bool; this one gives a string." + cmp}},
		},
		{
			name: "a number as a condition",
			step: "{id: c, kind: dli.sql, if: '${params.n}', with: {sql: x}}",
			want: []pathDiag{{"6:32-6:45", "steps[2].if", "Condition is not a bool", "An `if` condition must be a bool; this one gives a number."}},
		},
		{
			name: "null as a condition",
			step: "{id: c, kind: dli.sql, if: '${null}', with: {sql: x}}",
			want: []pathDiag{{"6:32-6:41", "steps[2].if", "Condition is not a bool", "An `if` condition must be a bool; this one gives nothing (null)."}},
		},
		{
			name: "a string output as for_each",
			step: "{id: c, kind: dli.sql, for_each: '${steps.a.outputs.job_id}', with: {sql: x}}",
			want: []pathDiag{{"6:38-6:65", "steps[2].for_each", "for_each is not a list", "`for_each` must give a list; this one gives a string."}},
		},
		{
			name: "a mapping as for_each",
			step: "{id: c, kind: dli.sql, for_each: '${params.m}', with: {sql: x}}",
			want: []pathDiag{{"6:38-6:51", "steps[2].for_each", "for_each is not a list", "`for_each` must give a list; this one gives a mapping."}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := head + "  - " + tt.step + "\n"
			if strings.Contains(tt.step, "params.need") {
				typ := "list"
				if strings.Contains(tt.step, "descriptor") {
					typ = "map"
				}
				src = strings.Replace(src, "b: true}", "b: true, need: {type: "+typ+"}}", 1)
			}
			plan, got := compileDiags(t, src, nil)
			if plan != nil {
				t.Error("got a plan despite errors")
			}
			checkPathDiags(t, got, tt.want)
		})
	}
}

// TestTemplateTypesAccepted lists templates whose types fit, or are not
// known when planning: none may be reported.
func TestTemplateTypesAccepted(t *testing.T) {
	const head = "name: p\nparams: {l: [a, b], n: 3, m: {k: v}, s: 'true', b: true}\nsteps:\n" +
		"  - {id: a, kind: dli.sql, with: {sql: x}}\n" +
		"  - {id: each, kind: dli.sql, for_each: [x, y], with: {sql: x}}\n"
	for _, step := range []string{
		"{id: c, kind: dli.sql, with: {sql: 'select ${params.n}, ${params.b}, ${params.s}'}}",
		"{id: c, kind: dli.sql, with: {sql: '${params.n}'}}",
		"{id: c, kind: dli.sql, with: {sql: '${steps.a.outputs.job_id}'}}",
		"{id: c, kind: dli.sql, with: {sql: '${join(\",\", steps.each.outputs.job_id)}'}}",
		"{id: c, kind: dli.sql, with: {sql: '${length(steps.each.outputs.job_id)}'}}",
		"{id: c, kind: dli.sql, with: {sql: '${steps.each.outputs.job_id[0]}'}}",
		"{id: c, kind: dli.sql, with: {sql: 'select ${length(params.m)}, ${length(params.l)}, ${length(params.s)}'}}",
		"{id: c, kind: dli.sql, with: {sql: x, conf: '${params.m}'}}",
		"{id: c, kind: dli.sql, with: {sql: x, conf: {a: '${params.n}', b: '${steps.a.outputs.job_id}'}}}",
		"{id: c, kind: dli.spark, with: {file: f, queue: q, args: '${params.l}', jars: '${steps.each.outputs.job_id}'}}",
		"{id: c, kind: dli.spark, with: {file: f, queue: q, args: ['${params.n}', '${run.attempt}']}}",
		"{id: c, kind: dis.stream, with: {name: s, partitions: '${steps.a.outputs.input_row_count}', auto_scale: '${params.b}'}}",
		"{id: c, kind: dis.stream, with: {name: s, partitions: '${params.n * 2}'}}",
		"{id: c, kind: dis.stream, with: {name: s, partitions: 1, auto_scale: '${steps.a.outputs.job_id}'}}",
		"{id: c, kind: http, with: {url: 'https://x/${params.s}', expect_status: ['${params.n * 100}', 204], headers: {A: '${params.n}'}}}",
		"{id: c, kind: dis.dump_task, with: {stream: s, name: n, destination: OBS, descriptor: {a: '${params.l}', b: '${params.m}'}}}",
		"{id: c, kind: dli.sql, if: '${params.b}', with: {sql: x}}",
		"{id: c, kind: dli.sql, if: '${steps.a.outputs.input_row_count > 0}', with: {sql: x}}",
		"{id: c, kind: dli.sql, if: '${steps.a.outputs.job_id != \"\"}', with: {sql: x}}",
		"{id: c, kind: dli.sql, for_each: '${steps.each.outputs.job_id}', with: {sql: '${item}'}}",
		"{id: c, kind: dli.sql, for_each: '${split(\",\", steps.a.outputs.job_id)}', with: {sql: 'x${item}'}}",
		"{id: c, kind: dli.sql, for_each: '${params.l}', with: {sql: '${item}'}}",
		"{id: c, kind: dli.sql, with: {sql: '%{for j in steps.each.outputs.job_id}${j},%{endfor}'}}",
		"{id: c, kind: dli.sql, with: {sql: '${jsonencode(params.m)}'}}",
	} {
		t.Run(step, func(t *testing.T) {
			_, got := compileDiags(t, head+"  - "+step+"\n", nil)
			checkPathDiags(t, got, nil)
		})
	}
}

// TestKnownTemplateValues checks the value of a template that is a whole
// URL, duration, time or enum input when planning knows it (it reads only
// parameters with values), as a literal is checked; one that is not known
// yet is left to the step.
func TestKnownTemplateValues(t *testing.T) {
	const head = "name: p\nparams: {u: 'ftp//h.example.com', d: soon, t: tomorrow, m: FETCH, ok: 'https://h.example.com', n: 90}\nsteps:\n" +
		"  - {id: a, kind: dli.sql, with: {sql: x}}\n"
	tests := []struct {
		name string
		step string // the second step
		want []pathDiag
	}{
		{
			name: "a URL from a param",
			step: "{id: c, kind: http, with: {url: '${params.u}/done'}}",
			want: []pathDiag{{"5:37-5:55", "steps[1].with.url", `Invalid input "url"`, `http: "ftp//h.example.com/done" is not an http or https URL such as https://api.example.com/v1/items (what this template gives with the plan's parameters).`}},
		},
		{
			name: "a duration from a param",
			step: "{id: c, kind: wait, with: {duration: '${params.d}'}}",
			want: []pathDiag{{"5:42-5:55", "steps[1].with.duration", `Invalid input "duration"`, `wait: "soon" is not a duration such as "90s" or "2h" (what this template gives with the plan's parameters).`}},
		},
		{
			name: "a duration from a number",
			step: "{id: c, kind: wait, with: {duration: '${params.n}'}}",
			want: []pathDiag{{"5:42-5:55", "steps[1].with.duration", `Invalid input "duration"`, `wait: "90" is not a duration such as "90s" or "2h" (what this template gives with the plan's parameters).`}},
		},
		{
			name: "a time from a param",
			step: "{id: c, kind: wait, with: {until: '${params.t}'}}",
			want: []pathDiag{{"5:39-5:52", "steps[1].with.until", `Invalid input "until"`, `wait: "tomorrow" is not an RFC 3339 time such as 2026-03-01T02:00:00+08:00 (what this template gives with the plan's parameters).`}},
		},
		{
			name: "an enum from a param",
			step: "{id: c, kind: http, with: {url: 'https://x', method: '${upper(params.m)}'}}",
			want: []pathDiag{{"5:58-5:78", "steps[1].with.method", `Invalid input "method"`, `http: "FETCH" is not one of GET, POST, PUT, PATCH, DELETE (what this template gives with the plan's parameters).`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := compileDiags(t, head+"  - "+tt.step+"\n", nil)
			checkPathDiags(t, got, tt.want)
		})
	}
	for _, step := range []string{
		"{id: c, kind: http, with: {url: '${params.ok}/v1', method: '${lower(\"post\") == \"post\" ? \"POST\" : \"GET\"}'}}",
		"{id: c, kind: http, with: {url: '${steps.a.outputs.job_id}'}}",
		"{id: c, kind: wait, with: {duration: '${params.n}s'}}",
		"{id: c, kind: wait, with: {until: '${formatdate(\"YYYY-MM-DD\", \"2026-03-01T00:00:00Z\")}T02:00:00Z'}}",
		"{id: c, kind: wait, with: {duration: '${run.attempt}m'}}",
	} {
		t.Run(step, func(t *testing.T) {
			_, got := compileDiags(t, head+"  - "+step+"\n", nil)
			checkPathDiags(t, got, nil)
		})
	}
	// A parameter given only when the run starts is not known.
	src := "name: p\nparams: {u: {type: string}}\nsteps:\n  - {id: c, kind: http, with: {url: '${params.u}'}}\n"
	if _, diags := CompileWith(load(t, src), Options{AllowUnsetParams: true}); diags.HasErrors() {
		t.Errorf("a URL from a parameter without a value: %v", diags)
	}
}

// TestPlanTemplates checks that description and cloud are evaluated when
// planning, over params and the listed env, into the plan.
func TestPlanTemplates(t *testing.T) {
	src := `name: p
description: Loads ${upper(params.day)} for ${env.TEAM}
env: [TEAM]
params: {day: mon, region: ap-southeast-1, n: 3}
cloud:
  region: ${params.region}
  project_id: proj-${env.TEAM}-${params.n}
  endpoints: {dli: 'https://dli.${params.region}.example.com', cdm: 'https://cdm'}
  credentials: ${env.TEAM}
steps:
  - {id: a, kind: dli.sql, with: {sql: x}}
`
	plan, diags := compileDiags(t, src, map[string]string{"TEAM": "bi"})
	checkPathDiags(t, diags, nil)
	if plan == nil {
		t.Fatal("no plan")
	}
	if plan.Description != "Loads MON for bi" {
		t.Errorf("description %q", plan.Description)
	}
	want := spec.Cloud{Region: "ap-southeast-1", ProjectID: "proj-bi-3", Credentials: "bi",
		Endpoints: map[string]string{"dli": "https://dli.ap-southeast-1.example.com", "cdm": "https://cdm"}}
	if !reflect.DeepEqual(plan.Cloud, want) {
		t.Errorf("cloud %+v, want %+v", plan.Cloud, want)
	}
	// The spec is left as written: it may be compiled again, with other
	// values.
	p := load(t, src)
	again, diags2 := CompileWith(p, Options{Params: map[string]string{"region": "eu-west-0"}, LookupEnv: func(string) (string, bool) { return "ops", true }})
	if diags2.HasErrors() {
		t.Fatal(diags2)
	}
	if again.Cloud.Region != "eu-west-0" || again.Cloud.Endpoints["dli"] != "https://dli.eu-west-0.example.com" || again.Description != "Loads MON for ops" {
		t.Errorf("with other values: %q %+v", again.Description, again.Cloud)
	}
	if p.Cloud.Region != "${params.region}" || p.Cloud.Endpoints["dli"] != "https://dli.${params.region}.example.com" {
		t.Errorf("the spec was changed: %+v", p.Cloud)
	}
}

// TestPlanTemplateErrors checks what description and cloud may not read
// or give.
func TestPlanTemplateErrors(t *testing.T) {
	const tail = "steps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"
	const head = "name: p\nenv: [TEAM]\nparams: {l: [a], s: x}\n"
	const planning = "description and cloud are evaluated when planning, before the run starts: they may read params and the env listed under `env`, not "
	tests := []struct {
		name  string
		cloud string // the line(s) after head
		want  []pathDiag
	}{
		{
			name:  "a step's output",
			cloud: "description: 'after ${steps.a.outputs.job_id}'\n",
			want:  []pathDiag{{"4:23-4:45", "description", "Not known when planning", planning + "steps.a.outputs.job_id."}},
		},
		{
			name:  "the run",
			cloud: "cloud: {region: '${run.id}'}\n",
			want:  []pathDiag{{"4:20-4:26", "cloud.region", "Not known when planning", planning + "run.id."}},
		},
		{
			name:  "item",
			cloud: "cloud: {project_id: '${item}'}\n",
			want:  []pathDiag{{"4:24-4:28", "cloud.project_id", "Not known when planning", planning + "item."}},
		},
		{
			name:  "a secret",
			cloud: "cloud: {credentials: '${secret.ak}'}\n",
			want: []pathDiag{{"4:25-4:34", "cloud.credentials", "Secret outside with",
				"secret.ak can be used only in `with`: secrets are resolved by the worker when it calls the service, never in conditions, for_each, description or cloud."}},
		},
		{
			name:  "an env variable not listed",
			cloud: "cloud: {region: '${env.REGION}'}\n",
			want: []pathDiag{{"4:20-4:30", "cloud.region", "Environment variable not listed",
				"env.REGION is read but not listed under `env`. Listing it puts its value into the plan, and so into workflow history in clear text; for a credential use secret.REGION instead."}},
		},
		{
			name:  "an unknown param",
			cloud: "cloud: {region: '${params.regoin}'}\n",
			want: []pathDiag{{"4:20-4:33", "cloud.region", "Unknown reference",
				`params.regoin refers to an unknown parameter "regoin"; known: l, s.`}},
		},
		{
			name:  "a list",
			cloud: "cloud: {project_id: '${params.l}'}\n",
			want:  []pathDiag{{"4:21-4:34", "cloud.project_id", "Not a string", "`cloud.project_id` must be a string; this template gives a list."}},
		},
		{
			name:  "not a URL",
			cloud: "cloud: {endpoints: {dli: 'dli.${params.s}'}}\n",
			want:  []pathDiag{{"4:26-4:43", "cloud.endpoints.dli", "Invalid endpoint", `This template gives "dli.x", which is not a URL; an endpoint is https://host[:port].`}},
		},
		{
			name:  "a password",
			cloud: "cloud: {endpoints: {dli: 'https://u:${params.s}@dli'}}\n",
			want:  []pathDiag{{"4:26-4:53", "cloud.endpoints.dli", "Literal credential", "This template gives an endpoint with a password. " + spec.EndpointPasswordDetail}},
		},
		{
			// Reported as a parameter without a value, only.
			name:  "a param with no value",
			cloud: "description: '${params.need}'\n",
			want:  []pathDiag{{"3:24-3:28", "params.need", "Parameter has no value", `Parameter "need" has no default: give one with --param need=VALUE.`}},
		},
		{
			// Reported as not set, only.
			name:  "an env variable not set",
			cloud: "description: 'for ${env.TEAM}'\n",
			want:  []pathDiag{{"2:7-2:11", "env[0]", "Environment variable not set", "The spec reads env.TEAM, but TEAM is not set in the environment of this command."}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"TEAM": "bi"}
			if tt.name == "an env variable not set" {
				env = nil
			}
			src := head + tt.cloud + tail
			if strings.Contains(tt.cloud, "params.need") {
				src = strings.Replace(src, "s: x}", "s: x, need: {type: string}}", 1)
			}
			plan, got := compileDiags(t, src, env)
			if plan != nil {
				t.Error("got a plan despite errors")
			}
			checkPathDiags(t, got, tt.want)
		})
	}
}
