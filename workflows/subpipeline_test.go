package workflows

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

// childPlanOf is a compiled sub-pipeline: a load step whose SQL shows the
// parameters and the run it got, then a check after it.
func childPlanOf() *planner.Plan {
	load := step("load")
	load.With = json.RawMessage(`{"sql":"insert ${params.table} ${params.n + 1} ${run.logical_time}"}`)
	load.Templates = map[string]planner.SrcPos{"sql": {File: "child.yaml", Line: 9, Col: 17}}
	return &planner.Plan{Version: planner.PlanVersion, Pipeline: "child", SpecHash: "c", Cloud: spec.Cloud{ProjectID: "p1"},
		Params: map[string]any{"n": int64(1)},
		Steps:  []planner.Step{load, step("check", "load")}}
}

// subStep is a pipeline step running childPlanOf with the given
// with.params, which hold templates.
func subStep(id, params string, deps ...string) planner.Step {
	s := step(id, deps...)
	s.Kind = "pipeline"
	s.With = json.RawMessage(`{"spec":"child.yaml","params":` + params + `}`)
	s.Templates = map[string]planner.SrcPos{"params": {File: "parent.yaml", Line: 12, Col: 9}}
	s.Pipeline = &planner.SubPipeline{Plan: childPlanOf(),
		ParamTypes: map[string]spec.ParamType{"table": spec.ParamString, "n": spec.ParamNumber}}
	return s
}

// subPipelinePlan is extract -> sub (the child) -> after, which reads
// the outputs of the child's load step and its status.
func subPipelinePlan() planner.Plan {
	sub := subStep("sub", `{"table":"${steps.extract.outputs.job_id}","n":"${params.n}"}`, "extract")
	after := step("after", "sub")
	after.With = json.RawMessage(`{"sql":"select '${steps.sub.outputs.load.job_id}', '${steps.sub.outputs.status}'"}`)
	after.Templates = map[string]planner.SrcPos{"sql": {}}
	plan := planOf(step("extract"), sub, after)
	plan.Params = map[string]any{"n": "41"}
	lt := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	plan.LogicalTime = &lt
	return plan
}

func TestSubPipelineRunsAsAChildAndItsOutputsAreRead(t *testing.T) {
	f := newFakeService()
	got, err := runPlan(t, f, subPipelinePlan())
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	wantStates(t, got, map[string]StepState{"extract": StepSucceeded, "sub": StepSucceeded, "after": StepSucceeded})
	// The child got its parameters from the parent's templates, as the
	// types it declares (n is a number: 41 + 1), and the parent's logical
	// time.
	if sql := f.withOf("load")["sql"]; sql != "insert job-extract 42 2026-03-01T02:00:00Z" {
		t.Errorf("child load ran %q", sql)
	}
	if !slices.Equal(f.submitted, []string{"extract", "load", "check", "after"}) {
		t.Errorf("submitted %v", f.submitted)
	}
	if sql := f.withOf("after")["sql"]; sql != "select 'job-load', 'succeeded'" {
		t.Errorf("after ran %q, want the child's job and status", sql)
	}
	sub := got["sub"]
	load, _ := sub.Outputs["load"].(map[string]any)
	if sub.Outputs["status"] != "succeeded" || load["job_id"] != "job-load" || sub.Outputs["check"] == nil {
		t.Errorf("sub outputs %v", sub.Outputs)
	}
	if !strings.HasPrefix(sub.JobID, "p/") || !strings.HasSuffix(sub.JobID, "/sub/pipeline") || sub.Attempt != 1 {
		t.Errorf("sub: job %q, attempt %d; want the child workflow's id", sub.JobID, sub.Attempt)
	}
	// The child's jobs have keys of their own run.
	if k := f.keys["load"]; len(k) != 1 || slices.Contains(f.keys["extract"], k[0]) {
		t.Errorf("keys %v", f.keys)
	}
}

func TestFailedSubPipelineFailsTheStepNamingItsStep(t *testing.T) {
	f := newFakeService()
	f.fail["load"] = "Table raw.x not found"
	plan := subPipelinePlan()
	plan.Steps[1].Retry.MaxAttempts = 2
	got, err := runPlan(t, f, plan)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrStepFailed {
		t.Fatalf("error = %v, want %s", err, ErrStepFailed)
	}
	want := `step "sub" failed: pipeline child: step "load" failed: job job-load ended FAILED: Table raw.x not found`
	if app.Message() != want {
		t.Errorf("message = %q\nwant      %q", app.Message(), want)
	}
	wantStates(t, got, map[string]StepState{"extract": StepSucceeded, "sub": StepFailed, "after": StepSkipped})
	// retry.max_attempts: 2 ran the child twice, as two child runs whose
	// jobs have their own keys.
	sub := got["sub"]
	if k := f.keys["load"]; sub.Attempt != 2 || len(k) != 2 || k[0] == k[1] || !strings.HasSuffix(sub.JobID, "/sub/pipeline/attempt-2") {
		t.Errorf("sub attempt %d, job %s, load keys %v; want two child runs", sub.Attempt, sub.JobID, k)
	}
	if slices.Contains(f.submitted, "check") || slices.Contains(f.submitted, "after") {
		t.Errorf("submitted %v after the child failed", f.submitted)
	}
}

func TestSubPipelineFailureUnderContinueLetsTheRunSucceed(t *testing.T) {
	f := newFakeService()
	f.fail["load"] = "boom"
	plan := subPipelinePlan()
	plan.Steps[1].OnFailure = spec.OnFailureContinue
	plan.Steps[2].With = json.RawMessage(`{"sql":"select 1"}`)
	plan.Steps[2].Templates = nil
	got, err := runPlan(t, f, plan)
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	wantStates(t, got, map[string]StepState{"sub": StepFailed, "after": StepSucceeded})
}

func TestCancellingTheRunCancelsTheSubPipeline(t *testing.T) {
	f := newFakeService()
	f.polls["load"] = -1
	env := newEnv(t, f)
	env.RegisterDelayedCallback(env.CancelWorkflow, 30*time.Second)
	env.ExecuteWorkflow(PipelineWorkflow, subPipelinePlan())
	if err := env.GetWorkflowError(); !temporal.IsCanceledError(err) {
		t.Fatalf("error = %v, want cancelled", err)
	}
	v, err := env.QueryWorkflow(QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	got := map[string]StepStatus{}
	for _, s := range st.Steps {
		got[s.ID] = s
	}
	wantStates(t, got, map[string]StepState{"extract": StepSucceeded, "sub": StepCancelled, "after": StepSkipped})
	// The child stopped its job before the parent ended.
	if !slices.Equal(f.cancelled, []string{"load"}) {
		t.Errorf("cancelled %v, want [load]", f.cancelled)
	}
}

func TestSubPipelineTimeoutCancelsTheChild(t *testing.T) {
	f := newFakeService()
	f.polls["load"] = -1
	plan := subPipelinePlan()
	plan.Steps[1].Timeout = spec.Duration(2 * time.Minute)
	got, err := runPlan(t, f, plan)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrStepFailed {
		t.Fatalf("error = %v, want %s", err, ErrStepFailed)
	}
	if sub := got["sub"]; sub.State != StepFailed || sub.Error != "timed out (the step's timeout elapsed)" {
		t.Errorf("sub: %s %q, want failed on its timeout", sub.State, sub.Error)
	}
	if !slices.Equal(f.cancelled, []string{"load"}) {
		t.Errorf("cancelled %v, want [load]", f.cancelled)
	}
}

func TestForEachOverASubPipeline(t *testing.T) {
	f := newFakeService()
	f.polls["load"] = 3 // long enough for two children's jobs to overlap
	sub := subStep("sub", `{"table":"${item}"}`)
	sub.ForEach = &planner.ForEach{Items: []any{"a", "b", "c"}, MaxParallel: 2}
	got, err := runPlan(t, f, planOf(sub))
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	if got := f.sqlOf("load"); len(got) != 3 || !strings.HasPrefix(got[0], "insert a 2 ") || !strings.HasPrefix(got[2], "insert c 2 ") {
		t.Errorf("child loads %q", got)
	}
	if f.maxRunning["load"] != 2 {
		t.Errorf("%d children ran at once, want max_parallel 2", f.maxRunning["load"])
	}
	st := got["sub"]
	loads, _ := st.Outputs["load"].([]any)
	states, _ := st.Outputs["status"].([]any)
	if st.Items != 3 || st.ItemsDone != 3 || len(loads) != 3 || len(states) != 3 || states[2] != "succeeded" {
		t.Errorf("sub: items %d done %d, outputs %v", st.Items, st.ItemsDone, st.Outputs)
	}
	if !strings.HasSuffix(st.JobID, "/sub/pipeline-3") && !strings.HasSuffix(st.JobID, "/sub/pipeline-2") {
		t.Errorf("sub job %q, want an element's child", st.JobID)
	}
}

func TestSubPipelineParamOfTheWrongTypeFailsTheStep(t *testing.T) {
	f := newFakeService()
	plan := planOf(subStep("sub", `{"table":"t","n":"${params.n}"}`))
	plan.Params = map[string]any{"n": "many"}
	got, _ := runPlan(t, f, plan)
	if sub := got["sub"]; sub.State != StepFailed || !strings.Contains(sub.Error, `with.params.n: sub-pipeline child declares it a number: "many" is not a number`) {
		t.Errorf("sub: %s %q", sub.State, sub.Error)
	}
	if len(f.submitted) != 0 {
		t.Errorf("submitted %v", f.submitted)
	}
}

func TestSuspendedSubPipelineIsRetriedAsANewChild(t *testing.T) {
	f := newFakeService()
	f.fail["load"] = "disk full"
	f.failTimes["load"] = 1 // the retry succeeds
	plan := subPipelinePlan()
	plan.Steps[1].OnFailure = spec.OnFailureSuspend
	var mid Status
	got, err := runPlan(t, f, plan, func(e *testEnv) {
		e.RegisterDelayedCallback(func() {
			v, qerr := e.QueryWorkflow(QueryStatus)
			if qerr == nil {
				_ = v.Get(&mid)
			}
			e.SignalWorkflow(SignalStepAction, StepAction{Step: "sub", Action: ActionRetry})
		}, time.Hour)
	})
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	if s := mid.Steps[1]; s.State != StepSuspended || !strings.Contains(s.Error, "disk full") {
		t.Errorf("sub while waiting for the operator: %s %q", s.State, s.Error)
	}
	wantStates(t, got, map[string]StepState{"sub": StepSucceeded, "after": StepSucceeded})
	if sub := got["sub"]; sub.Attempt != 2 || !strings.HasSuffix(sub.JobID, "/sub/pipeline/attempt-2") {
		t.Errorf("sub: attempt %d, job %s; want the retry as a second child", sub.Attempt, sub.JobID)
	}
}
