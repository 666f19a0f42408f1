package planner

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/spec"
)

// wantDiag is an expected diagnostic. Range is "line:col-line:col".
type wantDiag struct {
	Range   string
	Summary string
	Detail  string
}

func diagList(diags hcl.Diagnostics) []wantDiag {
	var out []wantDiag
	for _, d := range diags {
		r := "(no subject)"
		if d.Subject != nil {
			r = fmt.Sprintf("%d:%d-%d:%d", d.Subject.Start.Line, d.Subject.Start.Column, d.Subject.End.Line, d.Subject.End.Column)
		}
		out = append(out, wantDiag{r, d.Summary, d.Detail})
	}
	return out
}

func formatDiags(ds []wantDiag) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "  %s: %s | %s\n", d.Range, d.Summary, d.Detail)
	}
	if len(ds) == 0 {
		b.WriteString("  (none)\n")
	}
	return b.String()
}

// load loads src, which must be a valid spec.
func load(t *testing.T, src string) *spec.Pipeline {
	t.Helper()
	p, diags := spec.Load("test.yaml", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("spec does not load: %v", diags)
	}
	return p
}

// compile loads src and compiles it, which must succeed.
func compile(t *testing.T, src string) *Plan {
	t.Helper()
	plan, diags := Compile(load(t, src))
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", formatDiags(diagList(diags)))
	}
	if plan == nil {
		t.Fatal("no plan and no diagnostics")
	}
	return plan
}

func dur(s string) spec.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return spec.Duration(d)
}

func stepIDs(p *Plan) []string {
	var ids []string
	for _, s := range p.Steps {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestCompileOrder(t *testing.T) {
	tests := []struct {
		name  string
		steps string            // the steps list, one flow mapping a line
		order []string          // of the plan's steps
		deps  map[string]string // step -> its depends_on, comma-separated
	}{
		{
			name:  "single step",
			steps: "{id: a}",
			order: []string{"a"},
		},
		{
			name:  "independent steps keep spec order, not alphabetical",
			steps: "{id: z}\n{id: y}\n{id: x}",
			order: []string{"z", "y", "x"},
		},
		{
			name:  "spec already in dependency order is kept",
			steps: "{id: a}\n{id: b, depends_on: a}\n{id: c}",
			order: []string{"a", "b", "c"},
			deps:  map[string]string{"b": "a"},
		},
		{
			name:  "diamond keeps spec order for ties",
			steps: "{id: a}\n{id: b, depends_on: a}\n{id: c, depends_on: a}\n{id: d, depends_on: [b, c]}",
			order: []string{"a", "b", "c", "d"},
			deps:  map[string]string{"b": "a", "c": "a", "d": "b,c"},
		},
		{
			name:  "diamond with the middle steps swapped in the spec",
			steps: "{id: a}\n{id: c, depends_on: a}\n{id: b, depends_on: a}\n{id: d, depends_on: [b, c]}",
			order: []string{"a", "c", "b", "d"},
		},
		{
			name:  "diamond written upside down is reordered",
			steps: "{id: d, depends_on: [b, c]}\n{id: c, depends_on: a}\n{id: b, depends_on: a}\n{id: a}",
			order: []string{"a", "c", "b", "d"},
			deps:  map[string]string{"d": "b,c", "c": "a", "b": "a"},
		},
		{
			name:  "reversed chain",
			steps: "{id: c, depends_on: b}\n{id: b, depends_on: a}\n{id: a}",
			order: []string{"a", "b", "c"},
		},
		{
			name:  "a step waits only as long as its dependencies",
			steps: "{id: a}\n{id: b, depends_on: c}\n{id: c}\n{id: d}",
			order: []string{"a", "c", "b", "d"},
		},
		{
			name:  "two chains interleave by spec position",
			steps: "{id: a1}\n{id: b1}\n{id: a2, depends_on: a1}\n{id: b2, depends_on: b1}\n{id: a3, depends_on: a2}",
			order: []string{"a1", "b1", "a2", "b2", "a3"},
		},
		{
			name:  "dependency order is kept in depends_on",
			steps: "{id: x}\n{id: y}\n{id: z, depends_on: [y, x]}",
			order: []string{"x", "y", "z"},
			deps:  map[string]string{"z": "y,x"},
		},
		// A run_on: failure|always step without depends_on is a
		// pipeline-wide handler: it depends on every ordinary step, as
		// the run has it.
		{
			name:  "pipeline-wide handler depends on every ordinary step",
			steps: "{id: h, run_on: failure}\n{id: a}\n{id: b, depends_on: a}\n{id: c}",
			order: []string{"a", "b", "c", "h"},
			deps:  map[string]string{"b": "a", "h": "a,b,c"},
		},
		{
			name:  "a handler with depends_on depends on those only",
			steps: "{id: a}\n{id: h, run_on: always, depends_on: a}\n{id: b}",
			order: []string{"a", "h", "b"},
			deps:  map[string]string{"h": "a"},
		},
		{
			name:  "pipeline-wide handlers do not wait for each other",
			steps: "{id: a}\n{id: h1, run_on: failure}\n{id: h2, run_on: always}\n{id: b}",
			order: []string{"a", "b", "h1", "h2"},
			deps:  map[string]string{"h1": "a,b", "h2": "a,b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("name: p\nsteps:\n")
			for _, line := range strings.Split(tt.steps, "\n") {
				// Every step is a dli.sql step with its own statement.
				fmt.Fprintf(&b, "  - %s, kind: dli.sql, with: {sql: SELECT 1}}\n", strings.TrimSuffix(line, "}"))
			}
			plan := compile(t, b.String())
			if got := stepIDs(plan); !reflect.DeepEqual(got, tt.order) {
				t.Errorf("order %v, want %v", got, tt.order)
			}
			for _, s := range plan.Steps {
				if got, want := strings.Join(s.DependsOn, ","), tt.deps[s.ID]; tt.deps != nil && got != want {
					t.Errorf("step %s depends on %q, want %q", s.ID, got, want)
				}
			}
			// Whatever the spec order, every step comes after its
			// dependencies.
			pos := map[string]int{}
			for i, id := range stepIDs(plan) {
				pos[id] = i
			}
			for _, s := range plan.Steps {
				for _, d := range s.DependsOn {
					if pos[d] >= pos[s.ID] {
						t.Errorf("%s comes before its dependency %s", s.ID, d)
					}
				}
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	const takes = "dli.sql takes: sql, queue, database, conf."
	tests := []struct {
		name string
		src  string
		want []wantDiag
	}{
		// Kinds.
		{
			name: "unknown kind with did-you-mean",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sq\n    with: {sql: x}\n",
			want: []wantDiag{{"4:11-4:17", "Unknown step kind", `"dli.sq" is not a step kind. Did you mean "dli.sql"?`}},
		},
		{
			name: "unknown kind, case slip",
			src:  "name: p\nsteps:\n  - id: a\n    kind: DLI.SQL\n    with: {sql: x}\n",
			want: []wantDiag{{"4:11-4:18", "Unknown step kind", `"DLI.SQL" is not a step kind. Did you mean "dli.sql"?`}},
		},
		{
			// Templates reading it are not reported as well.
			name: "parameter without a value",
			src:  "name: p\nparams:\n  day: {type: string}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: \"${params.day}\"}}\n",
			want: []wantDiag{{"3:3-3:6", "Parameter has no value", `Parameter "day" has no default: give one with --param day=VALUE.`}},
		},
		{
			name: "unknown kind without a close match",
			src:  "name: p\nsteps:\n  - id: a\n    kind: spark.job\n    with: {sql: x}\n",
			want: []wantDiag{{"4:11-4:20", "Unknown step kind", `"spark.job" is not a step kind; the kinds are: cdm.job, dis.dump_task, dis.stream, dlf.job, dli.flink_jar, dli.flink_sql, dli.spark, dli.sql, http, lakeformation.job, pipeline, wait.`}},
		},

		// Inputs.
		{
			name: "unknown input with did-you-mean",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: SELECT 1\n      qeue: etl\n",
			want: []wantDiag{{"7:7-7:11", `Unknown input "qeue"`, `Did you mean "queue"? ` + takes}},
		},
		{
			// The diagnostic points at the name, not at the value on
			// the next line.
			name: "unknown input whose value is a block mapping",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: SELECT 1\n      confs:\n        spark.a: 1\n",
			want: []wantDiag{{"7:7-7:12", `Unknown input "confs"`, `Did you mean "conf"? ` + takes}},
		},
		{
			name: "unknown input without a close match",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: x, priority: high}\n",
			want: []wantDiag{{"5:20-5:28", `Unknown input "priority"`, takes}},
		},
		{
			name: "missing required input, with given",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      queue: etl\n",
			want: []wantDiag{{"6:7-6:8", `Missing input "sql"`, "dli.sql needs `with.sql`: the SQL statement."}},
		},
		{
			name: "missing required input, no with",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{{"3:9-3:10", `Missing input "sql"`, "dli.sql needs `with.sql`: the SQL statement."}},
		},
		{
			name: "sql as a list",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: [SELECT 1, SELECT 2]\n",
			want: []wantDiag{{"6:12-6:13", `Invalid input "sql"`, "dli.sql: expected a string."}},
		},
		{
			name: "sql as a mapping",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql:\n        select: 1\n",
			want: []wantDiag{{"7:9-7:10", `Invalid input "sql"`, "dli.sql: expected a string."}},
		},
		{
			name: "sql null",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: ~\n",
			want: []wantDiag{{"6:12-6:13", `Invalid input "sql"`, "dli.sql: expected a string."}},
		},
		{
			name: "conf value that is a mapping",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: x\n      conf:\n        spark.a: {nested: true}\n",
			want: []wantDiag{{"8:18-8:18", `Invalid input "conf"`,
				`dli.sql: value of "spark.a" must be a string, found a mapping.`}},
		},
		{
			// Every bad value is reported where it is written.
			name: "conf with several bad values",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: x\n      conf: {z: [1], b: {x: y}, c: ~, a: ok}\n",
			want: []wantDiag{
				{"7:17-7:17", `Invalid input "conf"`, `dli.sql: value of "z" must be a string, found a list.`},
				{"7:25-7:25", `Invalid input "conf"`, `dli.sql: value of "b" must be a string, found a mapping.`},
				{"7:36-7:37", `Invalid input "conf"`, `dli.sql: value of "c" must be a string, found nothing (null).`},
			},
		},
		{
			name: "conf that is a string",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: x\n      conf: spark.a=1\n",
			want: []wantDiag{{"7:13-7:22", `Invalid input "conf"`, "dli.sql: expected a mapping of strings."}},
		},
		{
			name: "inputs are checked in file order",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      queu: q\n      sql: [x]\n      databse: d\n",
			want: []wantDiag{
				{"6:7-6:11", `Unknown input "queu"`, `Did you mean "queue"? ` + takes},
				{"7:12-7:13", `Invalid input "sql"`, "dli.sql: expected a string."},
				{"8:7-8:14", `Unknown input "databse"`, `Did you mean "database"? ` + takes},
			},
		},

		// Dependencies.
		{
			name: "depends_on an unknown step with did-you-mean",
			src:  "name: p\nsteps:\n  - id: extract\n    kind: dli.sql\n    with: {sql: x}\n  - id: load\n    kind: dli.sql\n    depends_on: [extrcat]\n    with: {sql: x}\n",
			want: []wantDiag{{"8:18-8:25", "Unknown step in depends_on", `No step has the id "extrcat". Did you mean "extract"?`}},
		},
		{
			name: "depends_on an unknown step without a close match",
			src:  "name: p\nsteps:\n  - id: extract\n    kind: dli.sql\n    with: {sql: x}\n  - id: load\n    kind: dli.sql\n    depends_on: transform\n    with: {sql: x}\n",
			want: []wantDiag{{"8:17-8:26", "Unknown step in depends_on", `No step has the id "transform".`}},
		},
		{
			name: "self-dependency",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    depends_on: a\n    with: {sql: x}\n",
			want: []wantDiag{{"5:17-5:18", "Step depends on itself", `Step "a" lists itself in depends_on.`}},
		},
		{
			name: "dependency listed twice",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: x}\n  - id: b\n    kind: dli.sql\n    depends_on: [a, a]\n    with: {sql: x}\n",
			want: []wantDiag{{"8:21-8:22", "Duplicate dependency", `"a" is listed twice in depends_on.`}},
		},
		{
			// a depends on b, b on c, c on a. The path runs along the
			// edges, from a dependency to the step that needs it.
			name: "cycle a -> b -> c -> a",
			src: `name: p
steps:
  - id: a
    kind: dli.sql
    depends_on: b
    with: {sql: x}
  - id: b
    kind: dli.sql
    depends_on: c
    with: {sql: x}
  - id: c
    kind: dli.sql
    depends_on: a
    with: {sql: x}
`,
			want: []wantDiag{{"13:17-13:18", "Dependency cycle",
				"Steps depend on each other in a loop: c -> b -> a -> c. Remove one of these dependencies."}},
		},
		{
			name: "two-step cycle",
			src:  "name: p\nsteps:\n  - {id: a, kind: dli.sql, depends_on: b, with: {sql: x}}\n  - {id: b, kind: dli.sql, depends_on: a, with: {sql: x}}\n",
			want: []wantDiag{{"4:40-4:41", "Dependency cycle",
				"Steps depend on each other in a loop: b -> a -> b. Remove one of these dependencies."}},
		},
		{
			// e -> a -> b -> d -> e and e -> a -> c -> d -> e are equally
			// short; the one through the step written first is named.
			name: "cycle with two equally short paths",
			src: `name: p
steps:
  - {id: a, kind: dli.sql, depends_on: e, with: {sql: x}}
  - {id: b, kind: dli.sql, depends_on: a, with: {sql: x}}
  - {id: c, kind: dli.sql, depends_on: a, with: {sql: x}}
  - {id: d, kind: dli.sql, depends_on: [b, c], with: {sql: x}}
  - {id: e, kind: dli.sql, depends_on: d, with: {sql: x}}
`,
			want: []wantDiag{{"7:40-7:41", "Dependency cycle",
				"Steps depend on each other in a loop: e -> a -> b -> d -> e. Remove one of these dependencies."}},
		},
		{
			name: "two cycles through one step",
			src: `name: p
steps:
  - {id: a, kind: dli.sql, depends_on: d, with: {sql: x}}
  - {id: b, kind: dli.sql, depends_on: a, with: {sql: x}}
  - {id: c, kind: dli.sql, depends_on: a, with: {sql: x}}
  - {id: d, kind: dli.sql, depends_on: [b, c], with: {sql: x}}
`,
			want: []wantDiag{
				{"6:41-6:42", "Dependency cycle", "Steps depend on each other in a loop: d -> a -> b -> d. Remove one of these dependencies."},
				{"6:44-6:45", "Dependency cycle", "Steps depend on each other in a loop: d -> a -> c -> d. Remove one of these dependencies."},
			},
		},
		{
			// Only the steps on cycles take part in finding them; the
			// edges into and out of a cycle are not reported.
			name: "two separate cycles, with steps between and after them",
			src: `name: p
steps:
  - {id: a, kind: dli.sql, depends_on: b, with: {sql: x}}
  - {id: b, kind: dli.sql, depends_on: a, with: {sql: x}}
  - {id: c, kind: dli.sql, depends_on: [b, e], with: {sql: x}}
  - {id: d, kind: dli.sql, depends_on: e, with: {sql: x}}
  - {id: e, kind: dli.sql, depends_on: [d, c], with: {sql: x}}
  - {id: f, kind: dli.sql, depends_on: [a, e], with: {sql: x}}
`,
			want: []wantDiag{
				{"4:40-4:41", "Dependency cycle", "Steps depend on each other in a loop: b -> a -> b. Remove one of these dependencies."},
				{"7:41-7:42", "Dependency cycle", "Steps depend on each other in a loop: e -> d -> e. Remove one of these dependencies."},
				{"7:44-7:45", "Dependency cycle", "Steps depend on each other in a loop: e -> c -> e. Remove one of these dependencies."},
			},
		},

		// Options.
		{
			name: "poll max_interval shorter than interval",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    poll: {interval: 1m, max_interval: 30s}\n    with: {sql: x}\n",
			want: []wantDiag{{"5:40-5:43", "Invalid poll", `Step "a": poll.max_interval (30s) is shorter than poll.interval (1m0s).`}},
		},
		{
			name: "poll max_interval of the step shorter than interval of the defaults",
			src:  "name: p\ndefaults:\n  poll: {interval: 1m}\nsteps:\n  - id: a\n    kind: dli.sql\n    poll: {max_interval: 45s}\n    with: {sql: x}\n",
			want: []wantDiag{{"7:26-7:29", "Invalid poll", `Step "a": poll.max_interval (45s) is shorter than poll.interval (1m0s, from defaults).`}},
		},
		{
			name: "retry max_interval shorter than initial_interval",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {initial_interval: 1m, max_interval: 30s}\n    with: {sql: x}\n",
			want: []wantDiag{{"5:49-5:52", "Invalid retry", `Step "a": retry.max_interval (30s) is shorter than retry.initial_interval (1m0s).`}},
		},
		{
			name: "bad defaults are reported once, at the defaults, naming the steps they apply to",
			src:  "name: p\ndefaults:\n  poll: {interval: 1m, max_interval: 30s}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n  - {id: b, kind: dli.sql, with: {sql: x}, poll: {max_interval: 2m}}\n  - {id: c, kind: dli.sql, with: {sql: x}}\n",
			want: []wantDiag{
				{"3:38-3:41", "Invalid poll", `In defaults, poll.max_interval (30s) is shorter than poll.interval (1m0s). It applies to steps "a" and "c".`},
			},
		},

		// All at once.
		{
			name: "every problem is reported",
			src: `name: p
steps:
  - {id: a, kind: dli.sql, depends_on: c, with: {sql: SELECT 1}}
  - {id: b, kind: dli.sql, depends_on: a, with: {sql: SELECT 2}}
  - {id: c, kind: dli.sql, depends_on: b, with: {sql: SELECT 3}}
  - {id: d, kind: dli.sq, depends_on: [d, f], with: {sqll: x}}
  - {id: e, kind: dli.sql, with: {queue: q}, poll: {interval: 1m, max_interval: 1s}}
`,
			want: []wantDiag{
				// Sorted by position, whatever the order they were found in.
				{"5:40-5:41", "Dependency cycle", "Steps depend on each other in a loop: c -> a -> b -> c. Remove one of these dependencies."},
				{"6:19-6:25", "Unknown step kind", `"dli.sq" is not a step kind. Did you mean "dli.sql"?`},
				{"6:40-6:41", "Step depends on itself", `Step "d" lists itself in depends_on.`},
				{"6:43-6:44", "Unknown step in depends_on", `No step has the id "f".`},
				{"7:34-7:35", `Missing input "sql"`, "dli.sql needs `with.sql`: the SQL statement."},
				{"7:81-7:83", "Invalid poll", `Step "e": poll.max_interval (1s) is shorter than poll.interval (1m0s).`},
			},
		},
		// Pipeline-wide handlers.
		{
			name: "ordinary step depends on a pipeline-wide handler",
			src: `name: p
steps:
  - {id: a, kind: dli.sql, with: {sql: x}}
  - {id: cleanup, kind: dli.sql, run_on: always, with: {sql: x}}
  - {id: b, kind: dli.sql, depends_on: [a, cleanup], with: {sql: x}}
`,
			want: []wantDiag{{"5:44-5:51", "Step depends on a pipeline-wide handler",
				`"cleanup" runs on always without depends_on, so it waits for every ordinary step, "b" included, and "b" waits for it. Give "cleanup" a depends_on, or make "b" run_on: failure or always.`}},
		},
		{
			name: "ordinary step reads a pipeline-wide handler's output",
			src: `name: p
steps:
  - {id: alert, kind: http, run_on: failure, with: {url: "https://ops.example.com/alert"}}
  - {id: a, kind: dli.sql, with: {sql: "SELECT '${steps.alert.outputs.status}'"}}
`,
			want: []wantDiag{{"4:51-4:77", "Step depends on a pipeline-wide handler",
				`"alert" runs on failure without depends_on, so it waits for every ordinary step, "a" included, and "a" waits for it. Give "alert" a depends_on, or make "a" run_on: failure or always.`}},
		},
		{
			name: "loop through a pipeline-wide handler",
			src: `name: p
steps:
  - {id: a, kind: dli.sql, with: {sql: x}}
  - {id: h, kind: dli.sql, run_on: always, with: {sql: x}}
  - {id: g, kind: dli.sql, run_on: failure, depends_on: h, with: {sql: x}}
  - {id: b, kind: dli.sql, depends_on: g, with: {sql: x}}
`,
			want: []wantDiag{{"6:40-6:41", "Dependency cycle",
				"Steps depend on each other in a loop: b -> h -> g -> b. Remove one of these dependencies. (h runs on always without depends_on: it waits for every ordinary step.)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, tt.src)
			plan, diags := Compile(p)
			if plan != nil {
				t.Errorf("got a plan despite errors")
			}
			for _, d := range diags {
				if d.Severity != hcl.DiagError || d.Subject == nil || d.Subject.Filename != "test.yaml" {
					t.Errorf("%q: severity %v, subject %v; want an error in test.yaml", d.Summary, d.Severity, d.Subject)
				}
			}
			if got := diagList(diags); len(got) != len(tt.want) || len(got) > 0 && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", formatDiags(got), formatDiags(tt.want))
			}
		})
	}
}

// A repeated step id is reported by spec.Load; the planner still compiles
// the spec, as validate does, and reports the other problems with it,
// sorted together. The first step with an id is the one depends_on and
// templates name: the repeat does not replace it (which hid a cycle through
// the first's dependencies), and its own dependencies are checked, but no
// step can depend on it, so no cycle runs through it.
func TestDuplicateIDDoesNotHideProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []wantDiag
	}{
		{
			name: "cycle through the first step of a repeated id",
			src: `name: p
steps:
  - {id: a, kind: dli.sql, depends_on: b, with: {sql: x}}
  - {id: b, kind: dli.sql, depends_on: a, with: {sql: x}}
  - {id: a, kind: dli.sql, with: {sql: y}}
`,
			want: []wantDiag{
				{"4:40-4:41", "Dependency cycle", "Steps depend on each other in a loop: b -> a -> b. Remove one of these dependencies."},
				{"5:10-5:11", "Duplicate step id", `Step "a" is already defined at test.yaml:3,10-11.`},
			},
		},
		{
			name: "cycle elsewhere, repeat before it",
			src: `name: p
steps:
  - {id: a, kind: dli.sql, with: {sql: x}}
  - {id: a, kind: dli.sql, depends_on: c, with: {sql: y}}
  - {id: b, kind: dli.sql, depends_on: c, with: {sql: x}}
  - {id: c, kind: dli.sql, depends_on: b, with: {sql: x}}
`,
			want: []wantDiag{
				{"4:10-4:11", "Duplicate step id", `Step "a" is already defined at test.yaml:3,10-11.`},
				{"6:40-6:41", "Dependency cycle", "Steps depend on each other in a loop: c -> b -> c. Remove one of these dependencies."},
			},
		},
		{
			// b depends on the first a; the repeat's depends_on b makes
			// no loop, as no step can name the repeat.
			name: "repeat depending on a dependent of the first",
			src: `name: p
steps:
  - {id: a, kind: dli.sql, with: {sql: x}}
  - {id: b, kind: dli.sql, depends_on: a, with: {sql: x}}
  - {id: a, kind: dli.sql, depends_on: [b, nope, a], with: {sql: y}}
`,
			want: []wantDiag{
				{"5:10-5:11", "Duplicate step id", `Step "a" is already defined at test.yaml:3,10-11.`},
				{"5:44-5:48", "Unknown step in depends_on", `No step has the id "nope".`},
				{"5:50-5:51", "Step depends on itself", `Step "a" lists itself in depends_on.`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, diags := spec.Load("test.yaml", []byte(tt.src))
			plan, more := Compile(p)
			if plan != nil {
				t.Errorf("got a plan despite errors")
			}
			diags = append(diags, more...)
			sortDiagnostics(diags)
			if got := diagList(diags); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", formatDiags(got), formatDiags(tt.want))
			}
		})
	}
}

// Compiling the same spec must give the same diagnostics every time, with
// no dependence on map order.
func TestCompileDeterministic(t *testing.T) {
	srcs := []string{
		`name: p
steps:
  - {id: a, kind: dli.sql, depends_on: e, with: {sql: x}}
  - {id: b, kind: dli.sql, depends_on: a, with: {sql: x}}
  - {id: c, kind: dli.sql, depends_on: a, with: {sql: x}}
  - {id: d, kind: dli.sql, depends_on: [c, b], with: {sql: x}}
  - {id: e, kind: dli.sql, depends_on: d, with: {sql: x}}
`,
		"name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: x\n      conf: {a: [1], b: {c: d}, c: ~, d: [], e: {}}\n",
		"name: p\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x, b: 1, a: 2, c: 3, queue: [q]}}\n",
	}
	for i, src := range srcs {
		p := load(t, src)
		_, first := Compile(p)
		if !first.HasErrors() {
			t.Fatalf("spec %d: expected errors", i)
		}
		for n := 0; n < 50; n++ {
			if _, again := Compile(p); !reflect.DeepEqual(diagList(again), diagList(first)) {
				t.Fatalf("spec %d: diagnostics changed between runs:\n%s\nthen:\n%s",
					i, formatDiags(diagList(first)), formatDiags(diagList(again)))
			}
		}
	}
}

func TestCompileDefaults(t *testing.T) {
	builtinRetry := Retry{MaxAttempts: 1, InitialInterval: dur("5s"), MaxInterval: dur("1m"), Backoff: 2}
	builtinPoll := Poll{Interval: dur("2s"), MaxInterval: dur("30s")}
	tests := []struct {
		name     string
		defaults string // the value of `defaults`
		step     string // lines added to the step
		retry    Retry
		poll     Poll
		timeout  spec.Duration
	}{
		{
			name:     "built-in defaults",
			defaults: "{}",
			retry:    builtinRetry,
			poll:     builtinPoll,
			timeout:  dur("24h"),
		},
		{
			name:     "spec defaults override built-ins field by field",
			defaults: "{retry: {max_attempts: 5, backoff: 1.5}, poll: {max_interval: 1m}, timeout: 1h}",
			retry:    Retry{MaxAttempts: 5, InitialInterval: dur("5s"), MaxInterval: dur("1m"), Backoff: 1.5},
			poll:     Poll{Interval: dur("2s"), MaxInterval: dur("1m")},
			timeout:  dur("1h"),
		},
		{
			name:     "step overrides spec defaults field by field",
			defaults: "{retry: {max_attempts: 5, initial_interval: 10s}, poll: {interval: 5s}, timeout: 1h}",
			step:     "retry: {max_attempts: 2, max_interval: 5m}\npoll: {max_interval: 20s}\ntimeout: 10m",
			retry:    Retry{MaxAttempts: 2, InitialInterval: dur("10s"), MaxInterval: dur("5m"), Backoff: 2},
			poll:     Poll{Interval: dur("5s"), MaxInterval: dur("20s")},
			timeout:  dur("10m"),
		},
		{
			name:     "step overrides built-ins without spec defaults",
			defaults: "{}",
			step:     "retry: {backoff: 3}\ntimeout: 90s",
			retry:    Retry{MaxAttempts: 1, InitialInterval: dur("5s"), MaxInterval: dur("1m"), Backoff: 3},
			poll:     builtinPoll,
			timeout:  dur("90s"),
		},
		{
			name:     "every field from the step",
			defaults: "{retry: {max_attempts: 9, initial_interval: 9s, max_interval: 9m, backoff: 9, non_retryable: [X]}, poll: {interval: 9s, max_interval: 9m}, timeout: 9h}",
			step:     "retry: {max_attempts: 1, initial_interval: 1s, max_interval: 1m, backoff: 1, non_retryable: [Y, Z]}\npoll: {interval: 1s, max_interval: 1m}\ntimeout: 1h",
			retry:    Retry{MaxAttempts: 1, InitialInterval: dur("1s"), MaxInterval: dur("1m"), Backoff: 1, NonRetryable: []string{"Y", "Z"}},
			poll:     Poll{Interval: dur("1s"), MaxInterval: dur("1m")},
			timeout:  dur("1h"),
		},
		{
			name:     "non_retryable from defaults",
			defaults: "{retry: {non_retryable: [DLI.0001, DLI.0002]}}",
			retry:    Retry{MaxAttempts: 1, InitialInterval: dur("5s"), MaxInterval: dur("1m"), Backoff: 2, NonRetryable: []string{"DLI.0001", "DLI.0002"}},
			poll:     builtinPoll,
			timeout:  dur("24h"),
		},
		{
			name:     "non_retryable of the step replaces the defaults'",
			defaults: "{retry: {non_retryable: [DLI.0001, DLI.0002]}}",
			step:     "retry: {non_retryable: DLI.0003}",
			retry:    Retry{MaxAttempts: 1, InitialInterval: dur("5s"), MaxInterval: dur("1m"), Backoff: 2, NonRetryable: []string{"DLI.0003"}},
			poll:     builtinPoll,
			timeout:  dur("24h"),
		},
		{
			name:     "empty non_retryable of the step clears the defaults'",
			defaults: "{retry: {non_retryable: [DLI.0001]}}",
			step:     "retry: {non_retryable: []}",
			retry:    builtinRetry,
			poll:     builtinPoll,
			timeout:  dur("24h"),
		},
		{
			name:     "poll interval above the built-in max_interval raises it",
			defaults: "{}",
			step:     "poll: {interval: 1m}",
			retry:    builtinRetry,
			poll:     Poll{Interval: dur("1m"), MaxInterval: dur("1m")},
			timeout:  dur("24h"),
		},
		{
			name:     "poll interval of the step above the defaults' max_interval raises it",
			defaults: "{poll: {interval: 5s, max_interval: 20s}}",
			step:     "poll: {interval: 40s}",
			retry:    builtinRetry,
			poll:     Poll{Interval: dur("40s"), MaxInterval: dur("40s")},
			timeout:  dur("24h"),
		},
		{
			name:     "retry initial_interval above the built-in max_interval raises it",
			defaults: "{}",
			step:     "retry: {initial_interval: 2m}",
			retry:    Retry{MaxAttempts: 1, InitialInterval: dur("2m"), MaxInterval: dur("2m"), Backoff: 2},
			poll:     builtinPoll,
			timeout:  dur("24h"),
		},
		{
			name:     "empty option mappings change nothing",
			defaults: "{retry: {}, poll: {}}",
			step:     "retry: {}\npoll: {}",
			retry:    builtinRetry,
			poll:     builtinPoll,
			timeout:  dur("24h"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "name: p\ndefaults: " + tt.defaults + "\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: x}\n"
			for _, line := range strings.Split(tt.step, "\n") {
				if line != "" {
					src += "    " + line + "\n"
				}
			}
			// A second step with no options of its own gets the
			// defaults only, whatever the first one set.
			src += "  - {id: b, kind: dli.sql, with: {sql: x}}\n"
			plan := compile(t, src)
			a, _ := plan.Step("a")
			if !reflect.DeepEqual(a.Retry, tt.retry) {
				t.Errorf("retry %+v, want %+v", a.Retry, tt.retry)
			}
			if !reflect.DeepEqual(a.Poll, tt.poll) {
				t.Errorf("poll %+v, want %+v", a.Poll, tt.poll)
			}
			if a.Timeout != tt.timeout {
				t.Errorf("timeout %v, want %v", a.Timeout, tt.timeout)
			}

			onlyDefaults := compile(t, "name: p\ndefaults: "+tt.defaults+"\nsteps:\n  - {id: b, kind: dli.sql, with: {sql: x}}\n")
			want, _ := onlyDefaults.Step("b")
			if b, _ := plan.Step("b"); !reflect.DeepEqual(b.Retry, want.Retry) || b.Poll != want.Poll || b.Timeout != want.Timeout {
				t.Errorf("step b got %+v %+v %v, want the defaults' %+v %+v %v", b.Retry, b.Poll, b.Timeout, want.Retry, want.Poll, want.Timeout)
			}
		})
	}
}

const fullSpec = `name: daily-sales
description: Loads and aggregates the day's sales.
cloud:
  region: eu-west-101
  project_id: 0123456789
defaults:
  retry:
    max_attempts: 5
    initial_interval: 10s
    max_interval: 2m
    backoff: 1.5
    non_retryable: [DLI.0001]
  poll: {interval: 5s, max_interval: 1m}
  timeout: 2h
steps:
  - id: publish
    kind: dli.sql
    depends_on: [aggregate, extract]
    with:
      sql: SELECT 1
      queue: etl
  - id: extract
    kind: dli.sql
    with:
      sql: INSERT INTO staging.sales SELECT * FROM raw.sales WHERE amount < 0
      conf: {spark.sql.shuffle.partitions: 200}
  - id: aggregate
    kind: dli.sql
    depends_on: extract
    retry: {max_attempts: 2}
    timeout: 1h30m
    with:
      sql: |
        INSERT OVERWRITE TABLE mart.daily
        SELECT day, sum(amount) FROM staging.sales GROUP BY day
`

func TestCompilePlan(t *testing.T) {
	p := load(t, fullSpec)
	plan := compile(t, fullSpec)
	if plan.Version != PlanVersion {
		t.Errorf("version %d, want %d", plan.Version, PlanVersion)
	}
	if plan.Pipeline != "daily-sales" || plan.Description != "Loads and aggregates the day's sales." {
		t.Errorf("pipeline %q description %q", plan.Pipeline, plan.Description)
	}
	// The hash is of the plan, not the bytes: comments and layout do not
	// change what runs, a changed step does.
	if len(plan.SpecHash) != 64 {
		t.Errorf("spec hash %q, want 64 hex digits", plan.SpecHash)
	}
	if again := compile(t, "# a comment\n"+fullSpec+"\n\n"); again.SpecHash != plan.SpecHash {
		t.Errorf("a comment changed the hash: %s vs %s", again.SpecHash, plan.SpecHash)
	}
	if changed := compile(t, strings.Replace(fullSpec, "SELECT 1", "SELECT 2", 1)); changed.SpecHash == plan.SpecHash {
		t.Error("changing a step's SQL did not change the hash")
	}
	_ = p
	if want := (spec.Cloud{Region: "eu-west-101", ProjectID: "0123456789"}); !reflect.DeepEqual(plan.Cloud, want) {
		t.Errorf("cloud %+v, want %+v", plan.Cloud, want)
	}
	if got, want := stepIDs(plan), []string{"extract", "aggregate", "publish"}; !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}

	wantSteps := []Step{
		{
			ID:      "extract",
			Kind:    "dli.sql",
			With:    json.RawMessage(`{"conf":{"spark.sql.shuffle.partitions":"200"},"sql":"INSERT INTO staging.sales SELECT * FROM raw.sales WHERE amount \u003c 0"}`),
			Retry:   Retry{MaxAttempts: 5, InitialInterval: dur("10s"), MaxInterval: dur("2m"), Backoff: 1.5, NonRetryable: []string{"DLI.0001"}},
			Poll:    Poll{Interval: dur("5s"), MaxInterval: dur("1m")},
			Timeout: dur("2h"),
			RunOn:   "success", OnFailure: "fail",
		},
		{
			ID:        "aggregate",
			Kind:      "dli.sql",
			DependsOn: []string{"extract"},
			With:      json.RawMessage(`{"sql":"INSERT OVERWRITE TABLE mart.daily\nSELECT day, sum(amount) FROM staging.sales GROUP BY day\n"}`),
			Retry:     Retry{MaxAttempts: 2, InitialInterval: dur("10s"), MaxInterval: dur("2m"), Backoff: 1.5, NonRetryable: []string{"DLI.0001"}},
			Poll:      Poll{Interval: dur("5s"), MaxInterval: dur("1m")},
			Timeout:   dur("1h30m"),
			RunOn:     "success", OnFailure: "fail",
		},
		{
			ID:        "publish",
			Kind:      "dli.sql",
			DependsOn: []string{"aggregate", "extract"},
			With:      json.RawMessage(`{"queue":"etl","sql":"SELECT 1"}`),
			Retry:     Retry{MaxAttempts: 5, InitialInterval: dur("10s"), MaxInterval: dur("2m"), Backoff: 1.5, NonRetryable: []string{"DLI.0001"}},
			Poll:      Poll{Interval: dur("5s"), MaxInterval: dur("1m")},
			Timeout:   dur("2h"),
			RunOn:     "success", OnFailure: "fail",
		},
	}
	for i, want := range wantSteps {
		if i >= len(plan.Steps) {
			break
		}
		got := plan.Steps[i]
		if string(got.With) != string(want.With) {
			t.Errorf("step %s: with %s, want %s", want.ID, got.With, want.With)
		}
		got.With, want.With = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("step %d:\n got %+v\nwant %+v", i, got, want)
		}
	}

	if s, ok := plan.Step("aggregate"); !ok || s.ID != "aggregate" || s.Timeout != dur("1h30m") {
		t.Errorf(`Step("aggregate") = %+v, %v`, s, ok)
	}
	if s, ok := plan.Step("nope"); ok || s.ID != "" {
		t.Errorf(`Step("nope") = %+v, %v; want not found`, s, ok)
	}
}

func TestPlanJSON(t *testing.T) {
	plan := compile(t, fullSpec)
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, plan) {
		t.Errorf("plan changed in a JSON round trip:\n got %+v\nwant %+v", back, *plan)
	}

	// The JSON as a workflow's history shows it: durations as strings,
	// empty optional fields left out.
	var doc struct {
		Steps []map[string]json.RawMessage `json:"steps"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Steps) != 3 {
		t.Fatalf("%d steps in JSON, want 3", len(doc.Steps))
	}
	fields := map[string]string{
		"id":         `"extract"`,
		"kind":       `"dli.sql"`,
		"with":       `{"conf":{"spark.sql.shuffle.partitions":"200"},"sql":"INSERT INTO staging.sales SELECT * FROM raw.sales WHERE amount \u003c 0"}`,
		"retry":      `{"max_attempts":5,"initial_interval":"10s","max_interval":"2m0s","backoff":1.5,"non_retryable":["DLI.0001"]}`,
		"poll":       `{"interval":"5s","max_interval":"1m0s"}`,
		"timeout":    `"2h0m0s"`,
		"run_on":     `"success"`,
		"on_failure": `"fail"`,
		"depends_on": "", // absent: extract depends on nothing
	}
	for k, want := range fields {
		if got := string(doc.Steps[0][k]); got != want {
			t.Errorf("steps[0].%s = %s, want %s", k, got, want)
		}
	}
	if len(doc.Steps[0]) != len(fields)-1 {
		t.Errorf("steps[0] has fields %v", doc.Steps[0])
	}
	if got := string(doc.Steps[1]["timeout"]); got != `"1h30m0s"` {
		t.Errorf("steps[1].timeout = %s, want \"1h30m0s\"", got)
	}
	if got := string(doc.Steps[2]["depends_on"]); got != `["aggregate","extract"]` {
		t.Errorf("steps[2].depends_on = %s", got)
	}

	// A plan without the optional parts round-trips too.
	minimal := compile(t, "name: p\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n")
	b, err = json.Marshal(minimal)
	if err != nil {
		t.Fatal(err)
	}
	back = Plan{}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, minimal) {
		t.Errorf("minimal plan changed in a JSON round trip:\n got %+v\nwant %+v", back, *minimal)
	}
	if strings.Contains(string(b), "description") || strings.Contains(string(b), "non_retryable") || strings.Contains(string(b), "depends_on") {
		t.Errorf("empty optional fields written: %s", b)
	}
}

func TestCompiledWith(t *testing.T) {
	tests := []struct {
		name string
		with string // the step's `with`, a YAML flow or block mapping
		want string // the compiled JSON, exactly
	}{
		{
			name: "sql only",
			with: "{sql: SELECT 1}",
			want: `{"sql":"SELECT 1"}`,
		},
		{
			name: "every input, conf values converted to strings",
			with: `
      sql: SELECT 1
      queue: etl
      database: staging
      conf:
        spark.sql.shuffle.partitions: 200
        spark.sql.adaptive.enabled: true
        spark.memory.fraction: 0.6
        spark.sql.autoBroadcastJoinThreshold: 10485760
        spark.app.name: "daily"
        spark.sql.session.timeZone: UTC`,
			want: `{"conf":{"spark.app.name":"daily","spark.memory.fraction":"0.6","spark.sql.adaptive.enabled":"true",` +
				`"spark.sql.autoBroadcastJoinThreshold":"10485760","spark.sql.session.timeZone":"UTC","spark.sql.shuffle.partitions":"200"},` +
				`"database":"staging","queue":"etl","sql":"SELECT 1"}`,
		},
		{
			name: "scalar inputs that are not strings become strings",
			with: "{sql: 42, queue: true, database: 1.5}",
			want: `{"database":"1.5","queue":"true","sql":"42"}`,
		},
		{
			name: "empty conf",
			with: "{sql: x, conf: {}}",
			want: `{"conf":{},"sql":"x"}`,
		},
		{
			name: "conf through an alias",
			with: "{sql: &s x, conf: {a: *s}}",
			want: `{"conf":{"a":"x"},"sql":"x"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := compile(t, "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: "+tt.with+"\n")
			if got := string(plan.Steps[0].With); got != tt.want {
				t.Errorf("with\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestInputConvert(t *testing.T) {
	tests := []struct {
		name    string
		typ     InputType
		in      any
		want    any
		wantErr string
	}{
		{"string", TypeString, "x", "x", ""},
		{"int as string", TypeString, 42, "42", ""},
		{"float as string", TypeString, 0.25, "0.25", ""},
		{"bool as string", TypeString, false, "false", ""},
		{"null as string", TypeString, nil, nil, "expected a string"},
		{"list as string", TypeString, []any{"x"}, nil, "expected a string"},
		{"date as string", TypeString, time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC), nil, "expected a string"},
		{"list", TypeStringList, []any{"a", 1, true}, []string{"a", "1", "true"}, ""},
		{"empty list", TypeStringList, []any{}, []string{}, ""},
		{"list with a list", TypeStringList, []any{"a", []any{}}, nil, "item 2: every item must be a string, found a list"},
		{"string as list", TypeStringList, "a", nil, "expected a list of strings"},
		{"map", TypeStringMap, map[string]any{"a": "x", "b": 2, "c": 0.5, "d": true}, map[string]string{"a": "x", "b": "2", "c": "0.5", "d": "true"}, ""},
		{"map with null", TypeStringMap, map[string]any{"a": nil}, nil, `value of "a" must be a string, found nothing (null)`},
		{"map with non-string keys", TypeStringMap, map[any]any{1: "a"}, nil, "expected a mapping of strings"},
		{"list as map", TypeStringMap, []any{}, nil, "expected a mapping of strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Input{Name: "x", Type: tt.typ}.convert(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("convert(%#v) error %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("convert(%#v) = %#v, %v; want %#v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	k, ok := LookupKind("dli.sql")
	if !ok || k.Name != "dli.sql" {
		t.Fatalf("LookupKind(dli.sql) = %+v, %v", k, ok)
	}
	var required []string
	for _, in := range k.Inputs {
		if in.Required {
			required = append(required, in.Name)
		}
	}
	if !reflect.DeepEqual(required, []string{"sql"}) {
		t.Errorf("required inputs %v, want [sql]", required)
	}
	if in, ok := k.input("conf"); !ok || in.Type != TypeStringMap {
		t.Errorf("conf input = %+v, %v", in, ok)
	}
	if _, ok := LookupKind("dli.sq"); ok {
		t.Error("LookupKind(dli.sq) found a kind")
	}
	if got := kindNames(); !reflect.DeepEqual(got, []string{"cdm.job", "dis.dump_task", "dis.stream", "dlf.job", "dli.flink_jar", "dli.flink_sql", "dli.spark", "dli.sql", "http", "lakeformation.job", "pipeline", "wait"}) {
		t.Errorf("kindNames() = %v", got)
	}
	for typ, want := range map[InputType]string{TypeString: "a string", TypeStringList: "a list of strings", TypeStringMap: "a mapping of strings"} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", typ, got, want)
		}
	}
}

// TestWaitFields: the fields a wait step's run ignores are refused when
// written on the step, at the field; those from defaults are not, nor are
// if and on_failure, which apply.
func TestWaitFields(t *testing.T) {
	const prefix = "A wait step waits its duration or until its time, once; "
	for _, tt := range []struct {
		name, src string
		want      []pathDiag
	}{
		{"every field",
			"name: p\nsteps:\n  - id: w\n    kind: wait\n    for_each: '${range(3)}'\n    max_parallel: 2\n    retry: {max_attempts: 3}\n    poll: {interval: 5s}\n    timeout: 1h\n    with: {duration: 1m}\n",
			[]pathDiag{
				{"5:5-5:13", "steps[0].for_each", "Field does not apply to wait", prefix + "for_each does not apply to it. To wait per element, give the for_each to a pipeline step whose sub-pipeline starts with the wait."},
				{"6:5-6:17", "steps[0].max_parallel", "Field does not apply to wait", prefix + "max_parallel does not apply to it. It bounds for_each items, and a wait has none."},
				{"7:5-7:10", "steps[0].retry", "Field does not apply to wait", prefix + "retry does not apply to it. It calls no service, so there is nothing to retry."},
				{"8:5-8:9", "steps[0].poll", "Field does not apply to wait", prefix + "poll does not apply to it. It checks no job's status."},
				{"9:5-9:12", "steps[0].timeout", "Field does not apply to wait", prefix + "timeout does not apply to it. To wait less, shorten its duration or move its until."},
			}},
		{"flow style",
			"name: p\nsteps:\n  - {id: w, kind: wait, for_each: [a, b], with: {duration: 1m}}\n",
			[]pathDiag{{"3:25-3:33", "steps[0].for_each", "Field does not apply to wait", prefix + "for_each does not apply to it. To wait per element, give the for_each to a pipeline step whose sub-pipeline starts with the wait."}}},
		{"defaults, if and on_failure",
			"name: p\ndefaults: {retry: {max_attempts: 3}, poll: {interval: 5s}, timeout: 1h, on_failure: continue}\nsteps:\n  - {id: w, kind: wait, if: true, on_failure: continue, with: {duration: 1m}}\n",
			nil},
		{"other kinds",
			"name: p\nsteps:\n  - {id: a, kind: dli.sql, for_each: [a], timeout: 1h, retry: {max_attempts: 2}, with: {sql: '${item}'}}\n",
			nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, got := compileDiags(t, tt.src, nil)
			checkPathDiags(t, got, tt.want)
		})
	}
}

// TestExpectStatus: http's expect_status is read by the worker as a list
// of integers, so every item is checked when planning, at the item: a
// whole number from 100 to 599, or a template giving a number.
func TestExpectStatus(t *testing.T) {
	const bad = "http: every item must be an HTTP status code, a whole number from 100 to 599; found "
	const head = "name: p\nparams: {n: 2, l: [a]}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"
	for _, tt := range []struct {
		name, with string
		want       []pathDiag
	}{
		{"valid", "expect_status: [100, 200, 204.0, 599, '${params.n * 100}']", nil},
		{"strings, out of range, fractions",
			"expect_status: [200, \"2xx\", 999, 204.5, '200', 99, null, [201]]",
			[]pathDiag{
				{"5:71-5:76", "steps[1].with.expect_status[1]", `Invalid input "expect_status"`, bad + `the string "2xx".`},
				{"5:78-5:81", "steps[1].with.expect_status[2]", `Invalid input "expect_status"`, bad + "999."},
				{"5:83-5:88", "steps[1].with.expect_status[3]", `Invalid input "expect_status"`, bad + "204.5."},
				{"5:90-5:95", "steps[1].with.expect_status[4]", `Invalid input "expect_status"`, bad + `the string "200".`},
				{"5:97-5:99", "steps[1].with.expect_status[5]", `Invalid input "expect_status"`, bad + "99."},
				{"5:101-5:105", "steps[1].with.expect_status[6]", `Invalid input "expect_status"`, bad + "nothing (null)."},
				{"5:107-5:107", "steps[1].with.expect_status[7]", `Invalid input "expect_status"`, bad + "a list."},
			}},
		{"not a list", "expect_status: 200",
			[]pathDiag{{"5:65-5:68", "steps[1].with.expect_status", `Invalid input "expect_status"`, "http: expected a list of HTTP status codes."}}},
		{"a step's output, a string",
			"expect_status: ['${steps.a.outputs.job_id}']",
			[]pathDiag{{"5:66-5:93", "steps[1].with.expect_status[0]", `Invalid input "expect_status"`, "http: every item must be an HTTP status code, a whole number from 100 to 599; this template gives a string."}}},
		{"a list of strings",
			"expect_status: '${params.l}'",
			[]pathDiag{{"5:65-5:78", "steps[1].with.expect_status", `Invalid input "expect_status"`, "http: expected a list of HTTP status codes; this template gives a list."}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, got := compileDiags(t, head+"  - {id: h, kind: http, with: {url: 'https://x', "+tt.with+"}}\n", nil)
			checkPathDiags(t, got, tt.want)
		})
	}
}

// TestWholeNumberInputs: the worker reads every number input as a whole
// number, so a fraction is refused when planning.
func TestWholeNumberInputs(t *testing.T) {
	_, got := compileDiags(t, "name: p\nsteps:\n  - {id: s, kind: dis.stream, with: {name: s, partitions: 2.5, retention_hours: 24.0}}\n", nil)
	checkPathDiags(t, got, []pathDiag{{"3:59-3:62", "steps[0].with.partitions", `Invalid input "partitions"`, "dis.stream: expected a whole number, found 2.5."}})
}
