package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

// chainRun is one workflow run of a pipeline run that may continue as new.
type chainRun struct {
	// carried is what the run started with (nil for the first).
	carried *Continuation
	// steps counts the steps the run started.
	steps int
}

// runChain runs plan to its end in the test environment, one environment
// per workflow run: the environment reports a continue-as-new as the
// run's error, with the next run's input, which runChain decodes and
// starts. setup is called for each run's environment (run is 0-based).
// It returns the last run's status and error and every run.
func runChain(t *testing.T, f *fakeService, plan planner.Plan, setup func(env *testEnv, run int)) (Status, error, []chainRun) {
	t.Helper()
	var carried *Continuation
	var runs []chainRun
	for n := 0; ; n++ {
		if n > 50 {
			t.Fatal("more than 50 runs: the chain does not converge")
		}
		env := newEnv(t, f)
		if setup != nil {
			setup(&testEnv{env}, n)
		}
		before := len(f.submittedSteps())
		env.ExecuteWorkflow(PipelineWorkflow, plan, carried)
		if !env.IsWorkflowCompleted() {
			t.Fatal("workflow did not complete")
		}
		runs = append(runs, chainRun{carried: carried, steps: len(f.submittedSteps()) - before})
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			if can.WorkflowType.Name != PipelineWorkflow {
				t.Fatalf("continued as %s", can.WorkflowType.Name)
			}
			var next planner.Plan
			carried = nil
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next, &carried); err != nil {
				t.Fatalf("continue-as-new input: %v", err)
			}
			if carried == nil {
				t.Fatal("continued as new without the state to resume from")
			}
			plan = next
			continue
		}
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
				// The test environment hands the details over as the
				// value the workflow gave, a *Status.
				var sp *Status
				if canc.Details(&sp) == nil && sp != nil {
					st = *sp
				}
			}
		}
		return st, err, runs
	}
}

// submittedSteps returns the step ids of the jobs submitted, in order.
func (f *fakeService) submittedSteps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.submitted)
}

// layered is a plan of layers × width steps; each step depends on two of
// the layer before.
func layered(layers, width int) planner.Plan {
	var steps []planner.Step
	id := func(l, j int) string { return fmt.Sprintf("s%03d-%03d", l, j) }
	for l := range layers {
		for j := range width {
			var deps []string
			if l > 0 {
				deps = []string{id(l-1, j), id(l-1, (j+1)%width)}
				if width == 1 {
					deps = deps[:1]
				}
			}
			steps = append(steps, step(id(l, j), deps...))
		}
	}
	return planOf(steps...)
}

func TestFiveThousandStepsContinueAsNew(t *testing.T) {
	for _, tc := range []struct {
		name          string
		layers, width int
	}{
		{"layered", 100, 50},
		{"chain", 5000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.width == 1 {
				t.Skip("the 5,000-step chain takes a while")
			}
			f := newFakeService()
			plan := layered(tc.layers, tc.width)
			start := time.Now()
			st, err, runs := runChain(t, f, plan, nil)
			t.Logf("%d steps in %d runs (%v)", len(plan.Steps), len(runs), time.Since(start).Round(time.Millisecond))
			if err != nil {
				t.Fatalf("run failed: %v", err)
			}
			if len(runs) < 2 {
				t.Fatalf("%d run(s): the run never continued as new", len(runs))
			}
			if st.State != RunSucceeded || len(st.Steps) != len(plan.Steps) {
				t.Fatalf("final status: %s with %d steps, want succeeded with %d", st.State, len(st.Steps), len(plan.Steps))
			}
			for i, s := range st.Steps {
				if s.ID != plan.Steps[i].ID || s.State != StepSucceeded || s.Attempt != 1 || s.JobID != "job-"+s.ID || s.Outputs["job_id"] != "job-"+s.ID {
					t.Fatalf("step %d: %+v", i, s)
				}
			}
			// Every step's job was submitted exactly once, across runs.
			submitted := f.submittedSteps()
			if len(submitted) != len(plan.Steps) {
				t.Errorf("%d jobs submitted for %d steps", len(submitted), len(plan.Steps))
			}
			seen := map[string]bool{}
			for _, id := range submitted {
				if seen[id] {
					t.Errorf("step %s submitted twice", id)
				}
				seen[id] = true
			}
			// Each run stays within the budget, and all keep the first
			// run's key and start.
			for n, r := range runs {
				if r.steps*eventsPerJob > historyEvents+eventsPerJob {
					t.Errorf("run %d started %d steps, over the %d-event budget", n, r.steps, historyEvents)
				}
				if n > 0 && (r.carried.Runs != n || r.carried.RunKey != runs[1].carried.RunKey || !r.carried.StartedAt.Equal(st.StartedAt)) {
					t.Errorf("run %d carried runs=%d key=%q started=%s", n, r.carried.Runs, r.carried.RunKey, r.carried.StartedAt)
				}
			}
			if keys := f.keys[plan.Steps[0].ID]; len(keys) != 1 {
				t.Errorf("keys of the first step: %v", keys)
			}
		})
	}
}

func TestForEachOfTenThousandItems(t *testing.T) {
	f := newFakeService()
	items := make([]any, 10_000)
	for i := range items {
		items[i] = fmt.Sprintf("p%05d", i)
	}
	each := step("each", "load")
	each.ForEach = &planner.ForEach{Items: items, MaxParallel: 20}
	each.With = json.RawMessage(`{"sql":"insert into t partition (p='${item}') select '${steps.load.outputs.job_id}'"}`)
	each.Templates = map[string]planner.SrcPos{"sql": {}}
	use := step("use", "each")
	use.With = json.RawMessage(`{"sql":"select ${length(steps.each.outputs.job_id)}, '${steps.each.outputs.job_id[9999]}'"}`)
	use.Templates = map[string]planner.SrcPos{"sql": {}}
	plan := planOf(step("load"), each, use)

	start := time.Now()
	st, err, runs := runChain(t, f, plan, nil)
	t.Logf("10,000 items in %d run(s) (%v)", len(runs), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	got := st.Steps[1]
	ids, _ := got.Outputs["job_id"].([]any)
	if got.State != StepSucceeded || got.Items != 10_000 || got.ItemsDone != 10_000 || len(ids) != 10_000 {
		t.Fatalf("each: state %s, items %d done %d, %d outputs", got.State, got.Items, got.ItemsDone, len(ids))
	}
	for i, id := range ids {
		if want := fmt.Sprintf("job-each-%d", i+1); id != want {
			t.Fatalf("output %d = %v, want %s", i, id, want)
		}
	}
	if n := len(f.with["each"]); n != 10_000 {
		t.Errorf("%d jobs submitted for 10,000 items", n)
	}
	if sql := f.sqlOf("each"); sql[0] != "insert into t partition (p='p00000') select 'job-load'" || sql[9999] != "insert into t partition (p='p09999') select 'job-load'" {
		t.Errorf("item SQL: %q ... %q", sql[0], sql[9999])
	}
	if f.maxRunning["each"] > 20 {
		t.Errorf("%d items ran at once, want at most 20", f.maxRunning["each"])
	}
	if want := []string{"select 10000, 'job-each-10000'"}; !slices.Equal(f.sqlOf("use"), want) {
		t.Errorf("use SQL = %v, want %v", f.sqlOf("use"), want)
	}
}

// The step's max_parallel is shared by the children running at once:
// 300 over batches of 250 is two children of 150.
func TestForEachMaxParallelSpansChildren(t *testing.T) {
	f := newFakeService()
	f.polls["each"] = 6 // long enough for both children's jobs to overlap
	items := make([]any, 1000)
	for i := range items {
		items[i] = i
	}
	each := step("each")
	each.ForEach = &planner.ForEach{Items: items, MaxParallel: 300}
	got, err := runPlan(t, f, planOf(each))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got["each"].Outputs["job_id"].([]any)); n != 1000 {
		t.Errorf("%d outputs", n)
	}
	if p := f.maxRunning["each"]; p > 300 || p <= 250 {
		t.Errorf("%d elements ran at once, want more than one child's 250 and at most 300", p)
	}
}

// Elements 1-250 and 251-500 run in two children at once, 150 each;
// element 300 fails: its child stops its other jobs and fails, the step
// cancels the other child, which stops its jobs too, and elements 501-600
// never start. (At most 300 jobs run at once: the SDK's test environment
// deadlocks when a thousand callbacks queue up.)
func TestForEachFailureInAChildFailsTheStepAndStopsTheOthers(t *testing.T) {
	f := newFakeService()
	items := make([]any, 600)
	for i := range items {
		items[i] = i
	}
	each := step("each")
	each.ForEach = &planner.ForEach{Items: items, MaxParallel: 300}
	each.With = json.RawMessage(`{"sql":"select ${item}"}`)
	each.Templates = map[string]planner.SrcPos{"sql": {}}
	f.polls["each"] = -1 // every other element runs until stopped
	f.failItem["each"] = 300
	got, err := runPlan(t, f, planOf(each, step("after", "each")))
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrStepFailed || !strings.Contains(app.Message(), "ended FAILED: boom") {
		t.Fatalf("error = %v, want the step failing with the job's message", err)
	}
	wantStates(t, got, map[string]StepState{"each": StepFailed, "after": StepSkipped})
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running["each"] != 0 {
		t.Errorf("%d jobs left running after the step failed", f.running["each"])
	}
	// Element 300 fails at its first check, which its run activity makes
	// right after submitting: elements of its child not yet submitted by
	// then never are.
	n := len(f.with["each"])
	if n > 300 || n <= 150 {
		t.Errorf("%d jobs submitted, want more than the first child's 150 and at most 300 (two children of 150)", n)
	}
	for _, in := range f.with["each"] {
		var item int
		if _, err := fmt.Sscanf(in["sql"].(string), "select %d", &item); err != nil || item > 500 {
			t.Errorf("element %v started: want none of the third child's", in["sql"])
		}
	}
	if len(f.cancelled) != n-1 {
		t.Errorf("%d jobs stopped, want the %d still running", len(f.cancelled), n-1)
	}
}

// inWorkflow runs f in a workflow of the test environment.
func inWorkflow(t *testing.T, f func(ctx workflow.Context)) {
	t.Helper()
	env := newEnv(t, newFakeService())
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		f(ctx)
		return nil
	}, workflow.RegisterOptions{Name: "test"})
	env.ExecuteWorkflow("test")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
}

func TestForEachOutputsAreCut(t *testing.T) {
	outputs := map[string]any{"a": []any{"x", "y", "z"}, "b": []any{"1", "2", "3"}}
	big := make([]any, maxItemOutputs+5)
	for i := range big {
		big[i] = "v"
	}
	wide := make([]any, 1000)
	for i := range wide {
		wide[i] = strings.Repeat("w", 1000)
	}
	var small, long, heavy map[string]any
	inWorkflow(t, func(ctx workflow.Context) {
		r := &run{}
		small = r.capOutputs(ctx, planner.Step{ID: "s"}, outputs, 3)
		long = r.capOutputs(ctx, planner.Step{ID: "s"}, map[string]any{"a": big, "b": slices.Clone(big)}, len(big))
		heavy = r.capOutputs(ctx, planner.Step{ID: "s"}, map[string]any{"a": wide}, len(wide))
	})
	if !slices.Equal(small["a"].([]any), outputs["a"].([]any)) || !slices.Equal(small["b"].([]any), outputs["b"].([]any)) {
		t.Errorf("small outputs changed: %v", small)
	}
	for _, k := range []string{"a", "b"} {
		list := long[k].([]any)
		if len(list) != maxItemOutputs+1 || !strings.Contains(list[maxItemOutputs].(string), "5 more entries not kept") {
			t.Errorf("list %s cut to %d entries, last %v", k, len(list), list[len(list)-1])
		}
	}
	list := heavy["a"].([]any)
	if n := len(list) - 1; n < 500 || n > 525 || !strings.Contains(list[n].(string), fmt.Sprintf("%d more entries", 1000-n)) {
		t.Errorf("1000 outputs of 1 KB cut to %d, want about 512 KiB of them", n)
	}
}

func TestResultLeavesOutputsOutWhenTooBig(t *testing.T) {
	status := func(steps int) *Status {
		st := &Status{State: RunSucceeded}
		for i := range steps {
			st.Steps = append(st.Steps, StepStatus{ID: fmt.Sprint(i), State: StepSucceeded, Outputs: map[string]any{"v": strings.Repeat("x", 1000)}})
		}
		return st
	}
	small, big := &run{status: status(10)}, &run{status: status(2500)}
	var gotSmall, gotBig *Status
	inWorkflow(t, func(ctx workflow.Context) {
		gotSmall, gotBig = small.result(ctx), big.result(ctx)
	})
	if gotSmall != small.status || gotSmall.OutputsOmitted {
		t.Error("a small result changed")
	}
	if !gotBig.OutputsOmitted || gotBig.Steps[0].Outputs != nil || len(gotBig.Steps) != 2500 || gotBig.Steps[0].State != StepSucceeded {
		t.Errorf("big result: omitted %v, %d steps, first %+v", gotBig.OutputsOmitted, len(gotBig.Steps), gotBig.Steps[0])
	}
	if big.status.Steps[0].Outputs == nil {
		t.Error("the run's own status (the query's) lost its outputs")
	}
}

func TestContinueAsNewCarriesTheFrontier(t *testing.T) {
	f := newFakeService()
	f.fail["a"] = "bad input"
	f.fail["s"] = "disk full"
	f.failTimes["s"] = 1
	f.polls["b"] = 10
	a := step("a")
	a.OnFailure = spec.OnFailureSkipDownstream
	s := step("s")
	s.OnFailure = spec.OnFailureSuspend
	c := step("c", "b")
	c.With = json.RawMessage(`{"sql":"select '${steps.b.outputs.job_id}'"}`)
	c.Templates = map[string]planner.SrcPos{"sql": {}}
	plan := planOf(a, step("a2", "a"), step("b"), s, c, step("after_s", "s"))

	var mid Status
	st, err, runs := runChain(t, f, plan, func(env *testEnv, run int) {
		switch run {
		case 0:
			// The server suggests continuing as new while b runs, after
			// a failed and s was suspended.
			env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 5*time.Second)
		case 1:
			env.RegisterDelayedCallback(func() {
				v, qerr := env.QueryWorkflow(QueryStatus)
				if qerr == nil {
					_ = v.Get(&mid)
				}
				env.SignalWorkflow(SignalStepAction, StepAction{Step: "s", Action: ActionRetry})
			}, time.Hour)
		}
	})
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	// What the first run carried: a's failure (which fails the run at
	// the end), a2 skipped, b finished with its outputs, s suspended, c
	// not started.
	carried := runs[1].carried
	steps, derr := carried.DecodeSteps()
	if derr != nil {
		t.Fatal(derr)
	}
	byID := map[string]StepStatus{}
	for _, s := range steps {
		byID[s.ID] = s
	}
	wantStates(t, byID, map[string]StepState{"a": StepFailed, "a2": StepSkipped, "b": StepSucceeded, "s": StepSuspended, "c": StepPending, "after_s": StepPending})
	if !slices.Equal(carried.Failed, []string{"a"}) || carried.Aborting {
		t.Errorf("carried failed=%v aborting=%v, want [a] and not aborting", carried.Failed, carried.Aborting)
	}
	if byID["b"].Outputs["job_id"] != "job-b" || byID["b"].JobID != "job-b" || byID["a"].Error == "" || byID["s"].Attempt != 1 {
		t.Errorf("carried b=%+v a=%+v s=%+v", byID["b"], byID["a"], byID["s"])
	}
	// The second run answers the status query with every step, and an
	// operator's retry of s reaches it.
	if len(mid.Steps) != len(plan.Steps) || mid.Steps[1].State != StepSkipped || mid.Steps[3].State != StepSuspended {
		t.Errorf("status in the second run: %+v", mid.Steps)
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrStepFailed || !strings.Contains(app.Message(), `step "a" failed`) {
		t.Fatalf("error = %v, want the run failing on a", err)
	}
	got := map[string]StepStatus{}
	for _, s := range st.Steps {
		got[s.ID] = s
	}
	wantStates(t, got, map[string]StepState{"a": StepFailed, "a2": StepSkipped, "b": StepSucceeded, "s": StepSucceeded, "c": StepSucceeded, "after_s": StepSucceeded})
	if got["s"].Attempt != 2 || len(f.keys["s"]) != 2 || f.keys["s"][0] == f.keys["s"][1] {
		t.Errorf("s after the retry: attempt %d, keys %v", got["s"].Attempt, f.keys["s"])
	}
	if want := []string{"select 'job-b'"}; !slices.Equal(f.sqlOf("c"), want) {
		t.Errorf("c SQL = %v, want %v (b's outputs carried)", f.sqlOf("c"), want)
	}
	for _, id := range []string{"a", "b", "c", "after_s"} {
		if n := len(f.keys[id]); n != 1 {
			t.Errorf("step %s submitted %d times", id, n)
		}
	}
	if !got["a"].StartedAt.Equal(byID["a"].StartedAt) || !st.StartedAt.Equal(carried.StartedAt) {
		t.Error("times changed across the continue-as-new")
	}
}

// commandLog records, in workflow order, the activities and child
// workflows a workflow starts.
type commandLog struct {
	interceptor.WorkerInterceptorBase
	calls *[]string
}

func (c *commandLog) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &commandLogInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, calls: c.calls}
}

type commandLogInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	calls *[]string
}

func (i *commandLogInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&commandLogOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, calls: i.calls})
}

type commandLogOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	calls *[]string
}

func (o *commandLogOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	line := workflow.GetInfo(ctx).WorkflowType.Name + " " + activityType
	if req, ok := args[0].(activities.StepRequest); ok {
		line += fmt.Sprintf(" %s[%d] attempt %d key %s with %s", req.StepID, req.Item, req.Attempt, req.IdempotencyKey(), req.With)
	}
	*o.calls = append(*o.calls, line)
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

func (o *commandLogOutbound) ExecuteChildWorkflow(ctx workflow.Context, childWorkflowType string, args ...any) workflow.ChildWorkflowFuture {
	line := "child " + childWorkflowType + " " + workflow.GetChildWorkflowOptions(ctx).WorkflowID
	if plan, ok := args[0].(planner.Plan); ok {
		b, _ := json.Marshal(plan.Params)
		line += " params " + string(b)
	}
	*o.calls = append(*o.calls, line)
	return o.Next.ExecuteChildWorkflow(ctx, childWorkflowType, args...)
}

// TestCommandsAreDeterministic runs the same plan twice and compares the
// exact sequence of activities and child workflows the workflow started,
// with their inputs. Steps run one at a time (max_parallel 1, and the
// for_each one element at a time), so the order in which the test
// environment completes activities cannot differ between the runs; what
// could is the workflow's own choices: the order it scans steps and
// elements, evaluates templates, builds inputs and batches. A map ranged
// over anywhere on that path would show here. The plan continues as new
// on the way, fans a for_each out to children, and runs sub-pipelines.
func TestCommandsAreDeterministic(t *testing.T) {
	build := func() planner.Plan {
		plan := layered(30, 60) // 1,800 steps
		items := make([]any, 260)
		for i := range items {
			items[i] = map[string]any{"n": i, "name": fmt.Sprintf("t%d", i), "tags": map[string]any{"b": 1, "a": 2, "c": 3}}
		}
		each := step("each", plan.Steps[0].ID, plan.Steps[1].ID)
		each.ForEach = &planner.ForEach{Items: items, MaxParallel: 1}
		each.With = json.RawMessage(`{"sql":"select '${item.name}', ${item.n}, '${jsonencode(item.tags)}', '${steps.` + plan.Steps[1].ID + `.outputs.job_id}'","conf":{"z":"${run.attempt}","a":"${params.p}"}}`)
		each.Templates = map[string]planner.SrcPos{"sql": {}, "conf": {}}
		// A sub-pipeline per element, its parameters from templates.
		sub := subStep("sub", `{"table":"${item.name}-${steps.`+plan.Steps[2].ID+`.outputs.job_id}","n":"${item.n}"}`, plan.Steps[2].ID)
		sub.ForEach = &planner.ForEach{Items: items[:3], MaxParallel: 1}
		sub.Pipeline.Plan.MaxParallel = 1
		plan.Steps = append(plan.Steps, each, sub)
		plan.MaxParallel = 1
		plan.Params = map[string]any{"p": "v", "q": int64(2)}
		// The child's SQL reads run.logical_time: fixed, not the clock.
		lt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		plan.LogicalTime = &lt
		return plan
	}
	record := func() ([]string, int) {
		var calls []string
		f := newFakeService()
		_, err, runs := runChain(t, f, build(), func(env *testEnv, _ int) {
			env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&commandLog{calls: &calls}}})
		})
		if err != nil {
			t.Fatalf("run failed: %v", err)
		}
		return calls, len(runs)
	}
	first, runs := record()
	if runs < 2 || !slices.ContainsFunc(first, func(s string) bool { return strings.HasPrefix(s, "child pipectl.Items") }) ||
		!slices.ContainsFunc(first, func(s string) bool { return strings.HasPrefix(s, "child pipectl.Pipeline") }) {
		t.Fatalf("%d runs, children %v: the test must cover continue-as-new and children", runs, slices.ContainsFunc(first, func(s string) bool { return strings.HasPrefix(s, "child ") }))
	}
	second, _ := record()
	if len(first) != len(second) {
		t.Fatalf("%d commands, then %d", len(first), len(second))
	}
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("command %d differs:\n%s\n%s", i, first[i], second[i])
		}
	}
}

// A plan too big to hand on with the steps' state (here 2,000 steps of
// 1 KB) cannot continue as new; the run goes on in its own history rather
// than being terminated for an oversized input.
func TestTooBigToContinueGoesOnInOneRun(t *testing.T) {
	f := newFakeService()
	plan := layered(2000, 1)
	for i := range plan.Steps {
		plan.Steps[i].With = json.RawMessage(`{"sql":"select '` + strings.Repeat("x", 1000) + `'"}`)
	}
	st, err, runs := runChain(t, f, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || st.State != RunSucceeded || len(f.submittedSteps()) != 2000 {
		t.Errorf("%d runs, state %s, %d jobs", len(runs), st.State, len(f.submittedSteps()))
	}
}

// A run cancelled while it drains ends cancelled, in its own history, with
// every step settled as a cancel settles it; it does not continue as new.
func TestCancelWhileDrainingEndsTheRun(t *testing.T) {
	f := newFakeService()
	f.polls["b"] = -1
	f.polls["c"] = 3 // ends after the suggestion: the run drains, d waits
	cleanup := step("cleanup", "b")
	cleanup.RunOn = spec.RunOnAlways
	plan := planOf(step("a"), step("b"), step("next", "a", "b"), step("c"), step("d", "c"), cleanup)
	st, err, runs := runChain(t, f, plan, func(env *testEnv, _ int) {
		env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 5*time.Second)
		env.RegisterDelayedCallback(env.CancelWorkflow, 30*time.Second)
	})
	if len(runs) != 1 || !temporal.IsCanceledError(err) {
		t.Fatalf("%d runs, error %v; want one cancelled run", len(runs), err)
	}
	got := map[string]StepStatus{}
	for _, s := range st.Steps {
		got[s.ID] = s
	}
	wantStates(t, got, map[string]StepState{"a": StepSucceeded, "b": StepCancelled, "next": StepSkipped, "c": StepSucceeded, "d": StepSkipped})
	if slices.Contains(f.submittedSteps(), "d") {
		t.Error("d started while the run drained")
	}
	if s := got["cleanup"].State; s == StepPending || s == StepRunning {
		t.Errorf("cleanup is %s after the run ended", s)
	}
	if !slices.Equal(f.cancelled, []string{"b"}) {
		t.Errorf("cancelled %v, want [b]", f.cancelled)
	}
}

func TestCheckPlanSize(t *testing.T) {
	small := planOf(step("a"))
	if err := CheckPlanSize(&small); err != nil {
		t.Errorf("a one-step plan: %v", err)
	}
	big := planOf(step("a"))
	big.Steps[0].With = json.RawMessage(`{"sql":"` + strings.Repeat("x", 2<<20) + `"}`)
	err := CheckPlanSize(&big)
	if err == nil || !strings.Contains(err.Error(), "over the 1900 KiB") || !strings.Contains(err.Error(), "sub-pipelines") {
		t.Errorf("a 2 MiB plan: %v, want an error saying it is too big and what to do", err)
	}
}
