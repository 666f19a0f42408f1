package planner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/spec"
)

// writeSpecs writes files (by path relative to a new directory) and
// returns the directory.
func writeSpecs(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// compileFile loads and compiles the spec at path, returning the plan
// and every diagnostic.
func compileFile(t *testing.T, path string) (*Plan, hcl.Diagnostics) {
	t.Helper()
	p, diags := spec.LoadFile(path)
	if diags.HasErrors() {
		t.Fatalf("spec does not load: %v", diags)
	}
	return Compile(p)
}

const parentSpec = `name: parent
params:
  day: "2026-03-01"
cloud: {region: ap-southeast-1, project_id: p1}
schedule: {cron: "@daily"}
steps:
  - id: extract
    kind: dli.sql
    with: {sql: select 1}
  - id: sub
    kind: pipeline
    with:
      spec: lib/load.yaml
      params:
        date: ${params.day}
        rows: 3
        table: ${steps.extract.outputs.job_id}
  - id: after
    kind: dli.sql
    with: {sql: "select '${steps.sub.outputs.load.job_id}', '${steps.sub.outputs.status}'"}
`

const childSpec = `name: load-table
params:
  date: {type: string}
  rows: 1
  table: {type: string}
  mode: append
cloud: {endpoints: {dli: "https://dli.internal"}}
schedule: {cron: "@hourly"}
steps:
  - id: load
    kind: dli.sql
    with: {sql: "INSERT INTO ${params.table} SELECT * FROM raw WHERE dt = '${params.date}' LIMIT ${params.rows + 1}"}
  - id: check
    kind: dli.sql
    if: ${params.mode == "append"}
    with: {sql: "select '${steps.load.outputs.job_id}'"}
`

func TestSubPipelineIsCompiledIntoItsStep(t *testing.T) {
	dir := writeSpecs(t, map[string]string{"parent.yaml": parentSpec, "lib/load.yaml": childSpec})
	plan, diags := compileFile(t, filepath.Join(dir, "parent.yaml"))
	if len(diags) != 0 {
		t.Fatalf("diagnostics:\n%s", formatDiags(diagList(diags)))
	}
	sub, _ := plan.Step("sub")
	if !reflect.DeepEqual(sub.DependsOn, []string{"extract"}) {
		t.Errorf("sub depends on %v, want the step its params read", sub.DependsOn)
	}
	if after, _ := plan.Step("after"); !reflect.DeepEqual(after.DependsOn, []string{"sub"}) {
		t.Errorf("after depends on %v, want [sub]", after.DependsOn)
	}
	if sub.Pipeline == nil || sub.Pipeline.Plan == nil {
		t.Fatal("no sub-pipeline in the step")
	}
	child := sub.Pipeline.Plan
	if child.Pipeline != "load-table" || len(child.Steps) != 2 || child.Source != filepath.Join(dir, "lib", "load.yaml") {
		t.Errorf("child plan %s of %d steps from %s", child.Pipeline, len(child.Steps), child.Source)
	}
	// Literal params are converted when planning; templates are left for
	// the run, with the types to convert their values to.
	if !reflect.DeepEqual(child.Params, map[string]any{"rows": int64(3), "mode": "append"}) {
		t.Errorf("child params %v", child.Params)
	}
	wantTypes := map[string]spec.ParamType{"date": spec.ParamString, "rows": spec.ParamNumber, "table": spec.ParamString}
	if !reflect.DeepEqual(sub.Pipeline.ParamTypes, wantTypes) {
		t.Errorf("param types %v, want %v", sub.Pipeline.ParamTypes, wantTypes)
	}
	// The child runs in the parent's cloud, where it does not say
	// otherwise, and on the parent's schedule only.
	wantCloud := spec.Cloud{Region: "ap-southeast-1", ProjectID: "p1", Endpoints: map[string]string{"dli": "https://dli.internal"}}
	if !reflect.DeepEqual(child.Cloud, wantCloud) || child.Schedule != nil || plan.Schedule == nil {
		t.Errorf("child cloud %+v, schedule %v", child.Cloud, child.Schedule)
	}
	if child.SpecHash == "" || child.SpecHash != child.hash() {
		t.Errorf("child spec hash %q, want %q", child.SpecHash, child.hash())
	}
	// The plan, with the child in it, is a workflow's input: it must come
	// back from JSON as it was.
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
	if !strings.Contains(plan.Mermaid(), "pipeline load-table (2 steps)") {
		t.Errorf("graph does not show the sub-pipeline:\n%s", plan.Mermaid())
	}
}

func TestSpecHashChangesWithTheChildSpec(t *testing.T) {
	dir := writeSpecs(t, map[string]string{"parent.yaml": parentSpec, "lib/load.yaml": childSpec})
	parent := filepath.Join(dir, "parent.yaml")
	first, diags := compileFile(t, parent)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	again, _ := compileFile(t, parent)
	if again.SpecHash != first.SpecHash {
		t.Errorf("hash changed with nothing changed")
	}
	changed := strings.Replace(childSpec, "LIMIT", "LIMIT 10 --", 1)
	if err := os.WriteFile(filepath.Join(dir, "lib", "load.yaml"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	after, diags := compileFile(t, parent)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if after.SpecHash == first.SpecHash {
		t.Error("the parent's spec hash did not change when its sub-pipeline's spec did")
	}
}

// subDiags compiles parent.yaml among files and returns its diagnostics,
// with file names relative to the directory.
func subDiags(t *testing.T, files map[string]string) []string {
	t.Helper()
	dir := writeSpecs(t, files)
	plan, diags := compileFile(t, filepath.Join(dir, "parent.yaml"))
	if diags.HasErrors() && plan != nil {
		t.Error("a plan despite errors")
	}
	var out []string
	for _, d := range diags {
		file := "(no file)"
		r := ""
		if d.Subject != nil {
			file, _ = filepath.Rel(dir, d.Subject.Filename)
			r = fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column)
		}
		out = append(out, file+":"+r+": "+d.Summary+" | "+d.Detail)
	}
	return out
}

func wantSubDiags(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("diagnostic %d:\n got %s\nwant %s...", i, got[i], want[i])
		}
	}
}

// pipelineStep is a parent spec with one pipeline step.
func pipelineStep(with string) string {
	return "name: parent\nsteps:\n  - id: sub\n    kind: pipeline\n    with: " + with + "\n"
}

func TestSubPipelineMissingFileIsReportedAtItsName(t *testing.T) {
	got := subDiags(t, map[string]string{"parent.yaml": pipelineStep("{spec: lib/nope.yaml}")})
	wantSubDiags(t, got, "parent.yaml:5:18: Cannot read sub-pipeline | Cannot read spec: open ")
	if !strings.Contains(got[0], "no such file") {
		t.Errorf("detail does not say why: %s", got[0])
	}
}

func TestSubPipelineErrorsAreReportedInTheChildFile(t *testing.T) {
	got := subDiags(t, map[string]string{
		"parent.yaml":   pipelineStep("{spec: lib/bad.yaml}"),
		"lib/bad.yaml":  "name: bad\nsteps:\n  - id: a\n    kind: dli.sq\n    with: {sql: x}\n",
		"lib/good.yaml": "name: good\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n",
	})
	wantSubDiags(t, got,
		"lib/bad.yaml:4:11: Unknown step kind | \"dli.sq\" is not a step kind. Did you mean \"dli.sql\"?",
		"parent.yaml:5:18: Invalid sub-pipeline | ")
}

func TestSubPipelineUsedTwiceReportsItsErrorsOnce(t *testing.T) {
	got := subDiags(t, map[string]string{
		"parent.yaml": "name: parent\nsteps:\n" +
			"  - {id: a, kind: pipeline, with: {spec: bad.yaml}}\n" +
			"  - {id: b, kind: pipeline, with: {spec: bad.yaml}}\n",
		"bad.yaml": "name: bad\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: \"${params.x}\"}}\n",
	})
	wantSubDiags(t, got,
		"bad.yaml:3:43: Unknown reference",
		"parent.yaml:3:42: Invalid sub-pipeline",
		"parent.yaml:4:42: Invalid sub-pipeline")
}

func TestSubPipelineCycleIsAnError(t *testing.T) {
	got := subDiags(t, map[string]string{
		"parent.yaml": pipelineStep("{spec: b.yaml}"),
		"b.yaml":      "name: b\nsteps:\n  - {id: back, kind: pipeline, with: {spec: parent.yaml}}\n",
	})
	wantSubDiags(t, got,
		"b.yaml:3:45: Sub-pipeline cycle | Specs run each other in a loop: ",
		"parent.yaml:5:18: Invalid sub-pipeline")
	if !strings.Contains(got[0], "parent.yaml -> ") || !strings.Contains(got[0], "b.yaml -> ") {
		t.Errorf("the cycle is not spelled out: %s", got[0])
	}
	self := subDiags(t, map[string]string{"parent.yaml": pipelineStep("{spec: parent.yaml}")})
	wantSubDiags(t, self, "parent.yaml:5:18: Sub-pipeline cycle")
}

func TestSubPipelinesNestBoundedly(t *testing.T) {
	files := map[string]string{"parent.yaml": pipelineStep("{spec: l1.yaml}")}
	for i := 1; i <= MaxSubPipelineDepth+1; i++ {
		files["l"+string(rune('0'+i))+".yaml"] = "name: l" + string(rune('0'+i)) + "\nsteps:\n  - {id: next, kind: pipeline, with: {spec: l" + string(rune('0'+i+1)) + ".yaml}}\n"
	}
	files["l"+string(rune('0'+MaxSubPipelineDepth+2))+".yaml"] = "name: leaf\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"
	got := subDiags(t, files)
	deep := 0
	for _, d := range got {
		if strings.HasPrefix(d, "l8.yaml:3:45: Sub-pipelines nested too deep") && strings.Contains(d, "l9.yaml would be sub-pipeline level 9") &&
			strings.Contains(d, "nest at most 8 levels") {
			deep++
		}
	}
	if deep != 1 {
		t.Errorf("diagnostics:\n%s", strings.Join(got, "\n"))
	}
	delete(files, "l9.yaml")
	files["l8.yaml"] = "name: leaf\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"
	if got := subDiags(t, files); len(got) != 0 {
		t.Errorf("8 levels: %s", strings.Join(got, "\n"))
	}
}

func TestSubPipelineParamsAreChecked(t *testing.T) {
	// The missing parameter's template is not reported as well.
	child := "name: child\nparams:\n  day: {type: string}\n  rows: 10\n  full: false\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: \"${params.day}\"}}\n"
	got := subDiags(t, map[string]string{
		"parent.yaml": pipelineStep("{spec: child.yaml, params: {dya: x, rows: many, full: \"${1 + 1}\"}}"),
		"child.yaml":  child,
	})
	wantSubDiags(t, got,
		`parent.yaml:5:38: Parameter has no value | Sub-pipeline child needs parameter "day", which has no default: give it in with.params.`,
		`parent.yaml:5:39: Unknown parameter | Sub-pipeline child declares no parameter "dya"; did you mean "day"?`,
		`parent.yaml:5:53: Invalid value for parameter "rows" | Sub-pipeline child declares "rows" a number: "many" is not a number.`)
	// A template's value is known only when the step runs; a literal of a
	// convertible kind is converted.
	ok := subDiags(t, map[string]string{
		"parent.yaml": pipelineStep("{spec: child.yaml, params: {day: \"${upper(\\\"x\\\")}\", rows: \"42\", full: true}}"),
		"child.yaml":  child,
	})
	wantSubDiags(t, ok)
}

// A template in with.params is checked against the type the sub-pipeline
// declares, as far as planning knows what it gives; a string goes
// anywhere, as the run reads it as the parameter's type.
func TestSubPipelineParamTemplatesAreTyped(t *testing.T) {
	child := "name: child\nparams:\n  tables: {type: list}\n  day: {type: string}\n  n: {type: number}\n  full: {type: bool}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: \"${params.day}\"}}\n"
	got := subDiags(t, map[string]string{
		"parent.yaml": pipelineStep(`{spec: child.yaml, params: {tables: "${true}", day: "${[1]}", n: "${{a = 1}}", full: "${1 + 1}"}}`),
		"child.yaml":  child,
	})
	wantSubDiags(t, got,
		`parent.yaml:5:47: Invalid value for parameter "tables" | Sub-pipeline child declares "tables" a list; this template gives a bool.`,
		`parent.yaml:5:63: Invalid value for parameter "day" | Sub-pipeline child declares "day" a string; this template gives a list.`,
		`parent.yaml:5:76: Invalid value for parameter "n" | Sub-pipeline child declares "n" a number; this template gives a mapping.`,
		`parent.yaml:5:96: Invalid value for parameter "full" | Sub-pipeline child declares "full" a bool; this template gives a number.`)
	ok := subDiags(t, map[string]string{
		"parent.yaml": pipelineStep(`{spec: child.yaml, params: {tables: "${[1, 2]}", day: "d-${true}", n: "${length([1])}", full: "${upper(\"true\")}"}}`),
		"child.yaml":  child,
	})
	wantSubDiags(t, ok)
}

func TestSubPipelineOutputsAreChecked(t *testing.T) {
	child := "name: child\nsteps:\n  - {id: load, kind: dli.sql, with: {sql: x}}\n"
	got := subDiags(t, map[string]string{
		"parent.yaml": "name: parent\nsteps:\n  - {id: sub, kind: pipeline, with: {spec: child.yaml}}\n" +
			"  - {id: a, kind: dli.sql, with: {sql: \"${steps.sub.outputs.lod.job_id}\"}}\n" +
			"  - {id: b, kind: dli.sql, with: {sql: \"${steps.sub.outputs.load.jobid}\"}}\n" +
			"  - {id: c, kind: dli.sql, with: {sql: \"${steps.sub.outputs.status} ${steps.sub.outputs.load.job_id}\"}}\n",
		"child.yaml": child,
	})
	wantSubDiags(t, got,
		`parent.yaml:4:43: Unknown output | Sub-pipeline child (step sub) has no step "lod"; did you mean "load"?`,
		`parent.yaml:5:43: Unknown output | Step load of sub-pipeline child is a dli.sql step, which has no output "jobid"; did you mean "job_id"?`)
}

func TestSubPipelineStepMistakes(t *testing.T) {
	child := "name: child\nsteps:\n  - {id: status, kind: dli.sql, with: {sql: x}}\n"
	for _, tc := range []struct {
		name, with string
		want       []string
	}{
		{"template path", `{spec: "${run.pipeline}.yaml"}`, []string{"parent.yaml:5:18: Template in with.spec"}},
		{"template params", `{spec: child.yaml, params: "${run.id}"}`, []string{"parent.yaml:5:38: Template for with.params"}},
		{"no spec", `{params: {}}`, []string{`parent.yaml:5:11: Missing input "spec"`}},
		{"status step", `{spec: child.yaml}`, []string{"parent.yaml:5:18: Sub-pipeline has a step named status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantSubDiags(t, subDiags(t, map[string]string{"parent.yaml": pipelineStep(tc.with), "child.yaml": child}), tc.want...)
		})
	}
	many := make([]string, MaxSubPipelineItems+1)
	for i := range many {
		many[i] = "x"
	}
	got := subDiags(t, map[string]string{
		"parent.yaml": "name: parent\nsteps:\n  - id: sub\n    kind: pipeline\n    for_each: [" + strings.Join(many, ", ") + "]\n    with: {spec: child.yaml, params: {t: \"${item}\"}}\n",
		"child.yaml":  "name: child\nparams: {t: a}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n",
	})
	wantSubDiags(t, got, "parent.yaml:5:15: Too many sub-pipelines | A for_each over a pipeline step runs one child workflow per element, at most 100; this one has 101.")
}

// TestSubPipelineItemsTemplate: a for_each template over a pipeline step
// whose size planning knows is held to the same limit as a literal list.
func TestSubPipelineItemsTemplate(t *testing.T) {
	child := "name: child\nparams: {t: a}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"
	parent := func(params, forEach string) string {
		return "name: parent\n" + params + "steps:\n  - {id: pre, kind: dli.sql, with: {sql: x}}\n  - id: sub\n    kind: pipeline\n    for_each: " + forEach + "\n    with: {spec: child.yaml, params: {t: \"${item}\"}}\n"
	}
	const tooMany = "Too many sub-pipelines | A for_each over a pipeline step runs one child workflow per element, at most 100; this template gives %d."
	for _, tc := range []struct {
		name, params, forEach string
		want                  []string
	}{
		{"range", "", `"${range(101)}"`, []string{"parent.yaml:6:15: " + fmt.Sprintf(tooMany, 101)}},
		{"a parameter", "params: {n: 150}\n", `"${range(params.n)}"`, []string{"parent.yaml:7:15: " + fmt.Sprintf(tooMany, 150)}},
		{"at the limit", "", `"${range(100)}"`, nil},
		{"known only when it runs", "", `'${split(",", steps.pre.outputs.job_id)}'`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := subDiags(t, map[string]string{"parent.yaml": parent(tc.params, tc.forEach), "child.yaml": child})
			wantSubDiags(t, got, tc.want...)
		})
	}
}

// TestSubPipelinePlanTemplates checks a sub-pipeline's description and
// cloud: evaluated over its own params, which the parent gives, and
// refused where the parent gives one by a template, known only at the run.
func TestSubPipelinePlanTemplates(t *testing.T) {
	child := "name: child\ndescription: 'Loads ${params.table}'\nparams: {table: {type: string}, region: x}\ncloud: {region: '${params.region}'}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"
	dir := writeSpecs(t, map[string]string{
		"parent.yaml": pipelineStep("{spec: child.yaml, params: {table: orders, region: eu-west-0}}"),
		"child.yaml":  child,
	})
	plan, diags := compileFile(t, filepath.Join(dir, "parent.yaml"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	sub := plan.Steps[0].Pipeline.Plan
	if sub.Description != "Loads orders" || sub.Cloud.Region != "eu-west-0" {
		t.Errorf("sub-pipeline description %q, cloud %+v", sub.Description, sub.Cloud)
	}
	got := subDiags(t, map[string]string{
		"parent.yaml": pipelineStep("{spec: child.yaml, params: {table: orders, region: \"${run.id}\"}}"),
		"child.yaml":  child,
	})
	wantSubDiags(t, got,
		"child.yaml:4:20: Not known when planning | description and cloud are evaluated when planning, but the parent step gives params.region by a template, whose value is known only when it runs. Give it literally in with.params, or set cloud in the parent spec.",
		"parent.yaml:5:18: Invalid sub-pipeline")
}

// TestSubPipelineParamTypesWhenPlanning checks that a parameter a parent
// gives by a template has its declared type when the child is planned.
func TestSubPipelineParamTypesWhenPlanning(t *testing.T) {
	got := subDiags(t, map[string]string{
		"parent.yaml": pipelineStep("{spec: child.yaml, params: {tables: \"${split(\\\",\\\", run.id)}\"}}"),
		"child.yaml":  "name: child\nparams: {tables: {type: list}}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: \"select ${params.tables}\"}}\n",
	})
	wantSubDiags(t, got,
		`child.yaml:4:50: Invalid template interpolation value | This gives a list, which cannot be part of a string; join(",", …) makes one string of a list.`,
		"parent.yaml:5:18: Invalid sub-pipeline")
}
