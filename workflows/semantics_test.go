package workflows

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

type testEnv struct {
	*testsuite.TestWorkflowEnvironment
}

// step builds a compiled step for tests.
func step(id string, deps ...string) planner.Step {
	return planner.Step{
		ID: id, Kind: "dli.sql", DependsOn: deps,
		With:      json.RawMessage(`{"sql":"select 1"}`),
		RunOn:     spec.RunOnSuccess,
		OnFailure: spec.OnFailureFail,
		Retry:     planner.Retry{MaxAttempts: 1, InitialInterval: spec.Duration(time.Second), MaxInterval: spec.Duration(time.Minute), Backoff: 2},
		Poll:      planner.Poll{Interval: spec.Duration(time.Second), MaxInterval: spec.Duration(8 * time.Second)},
		Timeout:   spec.Duration(time.Hour),
	}
}

func planOf(steps ...planner.Step) planner.Plan {
	return planner.Plan{Version: planner.PlanVersion, Pipeline: "p", SpecHash: "h", Cloud: spec.Cloud{ProjectID: "p1"}, Steps: steps}
}

// states runs plan and returns each step's final state and the run error.
func runPlan(t *testing.T, f *fakeService, plan planner.Plan, setup ...func(env *testEnv)) (map[string]StepStatus, error) {
	t.Helper()
	env := newEnv(t, f)
	for _, s := range setup {
		s(&testEnv{env})
	}
	env.ExecuteWorkflow(PipelineWorkflow, plan)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	err := env.GetWorkflowError()
	var st Status
	if err == nil {
		if gerr := env.GetWorkflowResult(&st); gerr != nil {
			t.Fatal(gerr)
		}
	} else {
		var app *temporal.ApplicationError
		var canc *temporal.CanceledError
		switch {
		case errors.As(err, &app):
			_ = app.Details(&st)
		case errors.As(err, &canc):
			_ = canc.Details(&st)
		}
	}
	out := map[string]StepStatus{}
	for _, s := range st.Steps {
		out[s.ID] = s
	}
	return out, err
}

func wantStates(t *testing.T, got map[string]StepStatus, want map[string]StepState) {
	t.Helper()
	for id, w := range want {
		if got[id].State != w {
			t.Errorf("step %s: %s (%s%s), want %s", id, got[id].State, got[id].Error, got[id].SkipReason, w)
		}
	}
}

func TestConditionFalseSkipsStepAndItsDownstream(t *testing.T) {
	f := newFakeService()
	gated := step("gated", "load")
	gated.If = &planner.Expr{Src: `${steps.load.outputs.job_id == "nope"}`}
	always := step("notify", "after")
	always.RunOn = spec.RunOnAlways
	got, err := runPlan(t, f, planOf(step("load"), gated, step("after", "gated"), always))
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	wantStates(t, got, map[string]StepState{"load": StepSucceeded, "gated": StepSkipped, "after": StepSkipped, "notify": StepSucceeded})
	if got["gated"].SkipReason != "its condition is false" {
		t.Errorf("skip reason = %q", got["gated"].SkipReason)
	}
	if slices.Contains(f.submitted, "gated") || slices.Contains(f.submitted, "after") {
		t.Errorf("skipped steps were submitted: %v", f.submitted)
	}
}

func TestRunOnFailureAndAlwaysAfterAFailure(t *testing.T) {
	f := newFakeService()
	f.fail["load"] = "boom"
	f.polls["load"] = 3 // "other" has succeeded by the time load fails
	onFail := step("alert", "load")
	onFail.RunOn = spec.RunOnFailure
	cleanup := step("cleanup")
	cleanup.RunOn = spec.RunOnAlways
	onSuccessOnly := step("celebrate")
	onSuccessOnly.RunOn = spec.RunOnFailure
	onSuccessOnly.DependsOn = []string{"other"}
	got, err := runPlan(t, f, planOf(step("load"), step("other"), step("next", "load"), onFail, cleanup, onSuccessOnly))
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrStepFailed {
		t.Fatalf("error = %v, want StepFailed", err)
	}
	wantStates(t, got, map[string]StepState{
		"load": StepFailed, "next": StepSkipped, "alert": StepSucceeded, "cleanup": StepSucceeded, "celebrate": StepSkipped,
	})
}

func TestOnFailureContinueLetsTheRunSucceed(t *testing.T) {
	f := newFakeService()
	f.fail["flaky"] = "no data today"
	flaky := step("flaky")
	flaky.OnFailure = spec.OnFailureContinue
	got, err := runPlan(t, f, planOf(flaky, step("next", "flaky")))
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	wantStates(t, got, map[string]StepState{"flaky": StepFailed, "next": StepSucceeded})
}

func TestOnFailureSkipDownstreamRunsTheRestThenFails(t *testing.T) {
	f := newFakeService()
	f.fail["a"] = "bad input"
	f.polls["b"] = 3
	a := step("a")
	a.OnFailure = spec.OnFailureSkipDownstream
	got, err := runPlan(t, f, planOf(a, step("a2", "a"), step("b"), step("b2", "b")))
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrStepFailed {
		t.Fatalf("error = %v, want StepFailed", err)
	}
	wantStates(t, got, map[string]StepState{"a": StepFailed, "a2": StepSkipped, "b": StepSucceeded, "b2": StepSucceeded})
}

func TestSuspendThenOperatorActions(t *testing.T) {
	for _, tc := range []struct {
		action    string
		wantState StepState
		wantNext  StepState
		runFails  bool
	}{
		{ActionRetry, StepSucceeded, StepSucceeded, false},
		{ActionSkip, StepSkipped, StepSucceeded, false},
		{ActionAbort, StepFailed, StepSkipped, true},
	} {
		t.Run(tc.action, func(t *testing.T) {
			f := newFakeService()
			f.fail["load"] = "disk full"
			f.failTimes["load"] = 1 // the retry succeeds
			load := step("load")
			load.OnFailure = spec.OnFailureSuspend
			var mid Status
			got, err := runPlan(t, f, planOf(load, step("next", "load")), func(e *testEnv) {
				e.RegisterDelayedCallback(func() {
					v, qerr := e.QueryWorkflow(QueryStatus)
					if qerr == nil {
						_ = v.Get(&mid)
					}
					e.SignalWorkflow(SignalStepAction, StepAction{Step: "load", Action: tc.action})
				}, time.Hour)
			})
			if (err != nil) != tc.runFails {
				t.Fatalf("run error = %v, want failure %v", err, tc.runFails)
			}
			if mid.Steps[0].State != StepSuspended {
				t.Errorf("state while waiting for the operator = %s, want suspended", mid.Steps[0].State)
			}
			wantStates(t, got, map[string]StepState{"load": tc.wantState, "next": tc.wantNext})
			if tc.action == ActionRetry {
				// A retry is a new attempt: a new job, not a re-attach to
				// the one that failed.
				if keys := f.keys["load"]; len(keys) != 2 || keys[0] == keys[1] || got["load"].Attempt != 2 {
					t.Errorf("after retry: keys %v, attempt %d; want two distinct keys and attempt 2", keys, got["load"].Attempt)
				}
			}
		})
	}
}

func TestForEachCollectsOutputsInOrderWithinTheBound(t *testing.T) {
	f := newFakeService()
	each := step("each")
	each.ForEach = &planner.ForEach{Items: []any{"a", "b", "c", "d"}, MaxParallel: 2}
	each.With = json.RawMessage(`{"sql":"select '${item}'"}`)
	each.Templates = map[string]planner.SrcPos{"sql": {}}
	use := step("use", "each")
	use.With = json.RawMessage(`{"sql":"${join(\",\", steps.each.outputs.job_id)}"}`)
	use.Templates = map[string]planner.SrcPos{"sql": {}}
	got, err := runPlan(t, f, planOf(each, use))
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	ids, _ := got["each"].Outputs["job_id"].([]any)
	if len(ids) != 4 || ids[0] != "job-each-1" || ids[3] != "job-each-4" {
		t.Errorf("each outputs = %v, want four job ids in item order", got["each"].Outputs)
	}
	if got["each"].Items != 4 || got["each"].ItemsDone != 4 {
		t.Errorf("items %d done %d", got["each"].Items, got["each"].ItemsDone)
	}
	if want := []string{"select 'a'", "select 'b'", "select 'c'", "select 'd'"}; !slices.Equal(f.sqlOf("each"), want) {
		t.Errorf("each SQL = %v, want %v", f.sqlOf("each"), want)
	}
	if f.maxRunning["each"] > 2 {
		t.Errorf("%d items ran at once, want at most 2", f.maxRunning["each"])
	}
	if want := "job-each-1,job-each-2,job-each-3,job-each-4"; !slices.Equal(f.sqlOf("use"), []string{want}) {
		t.Errorf("use SQL = %v, want [%s]", f.sqlOf("use"), want)
	}
}

func TestFailedJobIsRerunUpToMaxAttempts(t *testing.T) {
	f := newFakeService()
	f.fail["load"] = "transient data issue"
	f.failTimes["load"] = 2
	load := step("load")
	load.Retry.MaxAttempts = 3
	got, err := runPlan(t, f, planOf(load))
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	if got["load"].Attempt != 3 || got["load"].State != StepSucceeded {
		t.Errorf("load = %+v, want succeeded on attempt 3", got["load"])
	}
	if n := len(f.submitted); n != 3 {
		t.Errorf("%d jobs submitted, want 3 (one per attempt)", n)
	}
	if keys := f.keys["load"]; len(keys) != 3 || keys[0] == keys[1] || keys[1] == keys[2] {
		t.Errorf("idempotency keys %v, want a new one per attempt", keys)
	}
}

func TestTemplatesSeeParamsRunAndOutputs(t *testing.T) {
	f := newFakeService()
	use := step("use", "load")
	use.With = json.RawMessage(`{"sql":"insert into t partition (dt='${formatdate(\"YYYYMMDD\", run.logical_time)}') select ${params.limit} from x where job='${steps.load.outputs.job_id}'","queue":"${secret.q}"}`)
	use.Templates = map[string]planner.SrcPos{"sql": {}, "queue": {}}
	plan := planOf(step("load"), use)
	plan.Params = map[string]any{"limit": int64(10)}
	if _, err := runPlan(t, f, plan); err != nil {
		t.Fatalf("run failed: %v", err)
	}
	sql := f.sqlOf("use")[0]
	if want := "select 10 from x where job='job-load'"; !strings.Contains(sql, want) || !strings.Contains(sql, "partition (dt='20") {
		t.Errorf("sql = %q", sql)
	}
	if q := f.withOf("use")["queue"]; q != "${secret.q}" {
		t.Errorf("queue = %v, want the secret placeholder left for the activity", q)
	}
}

func TestWaitStepIsADurableTimer(t *testing.T) {
	f := newFakeService()
	w := step("pause")
	w.Kind = "wait"
	w.With = json.RawMessage(`{"duration":"2h"}`)
	env := newEnv(t, f)
	env.ExecuteWorkflow(PipelineWorkflow, planOf(w, step("after", "pause")))
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var st Status
	_ = env.GetWorkflowResult(&st)
	if d := st.Steps[0].EndedAt.Sub(st.Steps[0].StartedAt); d != 2*time.Hour {
		t.Errorf("wait took %s, want 2h", d)
	}
}

func TestPipelineMaxParallel(t *testing.T) {
	f := newFakeService()
	var steps []planner.Step
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		f.polls[id] = 2
		steps = append(steps, step(id))
	}
	plan := planOf(steps...)
	plan.MaxParallel = 2
	if _, err := runPlan(t, f, plan); err != nil {
		t.Fatal(err)
	}
	if f.peak > 2 {
		t.Errorf("%d steps ran at once, want at most 2", f.peak)
	}
}

// A pipeline-wide handler (run_on: failure without depends_on) that reads
// one step's output still waits for, and fires on the failure of, every
// ordinary step: the planner gives it all of them as dependencies. b runs
// after a, so that a has its output when b fails rather than being
// cancelled by b's failure.
func TestPipelineWideHandlerReadingAnOutput(t *testing.T) {
	p, diags := spec.Load("handler.yaml", []byte(`name: p
cloud: {project_id: p1}
steps:
  - {id: a, kind: dli.sql, with: {sql: select 1}}
  - {id: b, kind: dli.sql, depends_on: a, with: {sql: select 2}}
  - {id: alert, kind: dli.sql, run_on: failure, with: {sql: "select '${steps.a.outputs.job_id}'"}}
`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan, diags := planner.Compile(p)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if s, _ := plan.Step("alert"); !slices.Equal(s.DependsOn, []string{"a", "b"}) {
		t.Fatalf("alert depends on %v, want [a b]", s.DependsOn)
	}
	f := newFakeService()
	f.fail["b"] = "boom"
	got, err := runPlan(t, f, *plan)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrStepFailed {
		t.Fatalf("error = %v, want StepFailed", err)
	}
	wantStates(t, got, map[string]StepState{"a": StepSucceeded, "b": StepFailed, "alert": StepSucceeded})
}
