package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

// fakeService stands in for a service's activities: each step's job runs
// for a number of polls and ends as the test says, and every call is
// recorded so tests can assert what the workflow asked for.
type fakeService struct {
	mu sync.Mutex
	// polls is how many waits report "running" before the job ends; a
	// negative count runs forever.
	polls map[string]int
	// fail makes a step's job end FAILED with this message; failTimes,
	// when set, only for its first N jobs.
	fail      map[string]string
	failTimes map[string]int
	// failItem makes the job of this for_each element (1-based) end
	// FAILED at its first check, whatever polls says.
	failItem map[string]int

	submitted []string // step ids, in submit order
	finished  []string // step ids, in the order their jobs finished
	waits     map[string]int
	polled    map[string]int // waits of the current job, by job id
	cancelled []string
	failed    map[string]int
	with      map[string][]map[string]any // inputs each step was submitted with
	keys      map[string][]string         // idempotency keys, by step

	running    map[string]int // jobs running now, by step
	maxRunning map[string]int
	total      int // jobs running now
	peak       int
}

func newFakeService() *fakeService {
	return &fakeService{polls: map[string]int{}, fail: map[string]string{}, failTimes: map[string]int{}, waits: map[string]int{},
		failItem: map[string]int{}, polled: map[string]int{}, failed: map[string]int{}, with: map[string][]map[string]any{}, keys: map[string][]string{},
		running: map[string]int{}, maxRunning: map[string]int{}}
}

func (f *fakeService) submit(_ context.Context, req activities.StepRequest) (*activities.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitted = append(f.submitted, req.StepID)
	var in map[string]any
	_ = json.Unmarshal(req.With, &in)
	f.with[req.StepID] = append(f.with[req.StepID], in)
	f.keys[req.StepID] = append(f.keys[req.StepID], req.IdempotencyKey())
	f.running[req.StepID]++
	f.maxRunning[req.StepID] = max(f.maxRunning[req.StepID], f.running[req.StepID])
	f.total++
	f.peak = max(f.peak, f.total)
	id := "job-" + req.StepID
	if req.Item > 0 {
		id += fmt.Sprintf("-%d", req.Item)
	}
	if req.Attempt > 1 {
		id += fmt.Sprintf("-a%d", req.Attempt)
	}
	return &activities.Job{ID: id, ProjectID: req.Cloud.ProjectID}, nil
}

func (f *fakeService) ended(step string) {
	f.running[step]--
	f.total--
}

func (f *fakeService) wait(ctx context.Context, req activities.StepRequest) (*activities.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits[req.StepID]++
	f.polled[req.Job.ID]++
	if n := f.failItem[req.StepID]; n > 0 && req.Item == n {
		f.ended(req.StepID)
		f.failed[req.StepID]++
		return nil, activities.JobFailed(req.Job.ID, "FAILED", "boom")
	}
	if n := f.polls[req.StepID]; n < 0 || f.polled[req.Job.ID] <= n {
		return nil, activities.StillRunning(activities.Progress{JobID: req.Job.ID, State: "RUNNING"},
			activities.NextPoll(req.Poll, activity.GetInfo(ctx).Attempt))
	}
	f.ended(req.StepID)
	if msg, ok := f.fail[req.StepID]; ok {
		if limit, limited := f.failTimes[req.StepID]; !limited || f.failed[req.StepID] < limit {
			f.failed[req.StepID]++
			return nil, activities.JobFailed(req.Job.ID, "FAILED", msg)
		}
	}
	f.finished = append(f.finished, req.StepID)
	return &activities.Result{State: "FINISHED", Outputs: map[string]string{"job_id": req.Job.ID}}, nil
}

func (f *fakeService) cancel(_ context.Context, req activities.StepRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Job == nil {
		// Submit was interrupted: find the job by its idempotency key,
		// as the real activities do.
		if !slices.Contains(f.keys[req.StepID], req.IdempotencyKey()) {
			return nil // never created
		}
	}
	f.ended(req.StepID)
	f.cancelled = append(f.cancelled, req.StepID)
	return nil
}

func (f *fakeService) withOf(step string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.with[step]) == 0 {
		return nil
	}
	return f.with[step][0]
}

// sqlOf returns the SQL of every job the step submitted, in item order.
func (f *fakeService) sqlOf(step string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, w := range f.with[step] {
		s, _ := w["sql"].(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func newEnv(t *testing.T, f *fakeService) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := s.NewTestWorkflowEnvironment()
	// By name, as pipectl starts runs: the function takes a second,
	// optional argument (the state a continued run carries).
	env.RegisterWorkflowWithOptions(Pipeline, workflow.RegisterOptions{Name: PipelineWorkflow})
	env.RegisterWorkflowWithOptions(Items, workflow.RegisterOptions{Name: ItemsWorkflow})
	env.RegisterActivityWithOptions(f.submit, activity.RegisterOptions{Name: activities.SubmitName("dli.sql")})
	env.RegisterActivityWithOptions(f.wait, activity.RegisterOptions{Name: activities.WaitName("dli.sql")})
	env.RegisterActivityWithOptions(f.cancel, activity.RegisterOptions{Name: activities.CancelName("dli.sql")})
	env.RegisterActivityWithOptions(activities.Runner{Submit: f.submit, Wait: f.wait}.Run, activity.RegisterOptions{Name: activities.RunName("dli.sql")})
	return env
}

// diamond is load -> (left, right) -> report, in a compiled-plan shape.
func diamond() planner.Plan {
	step := func(id string, deps ...string) planner.Step {
		return planner.Step{
			ID: id, Kind: "dli.sql", DependsOn: deps,
			With:    json.RawMessage(`{"sql":"select 1"}`),
			Retry:   planner.Retry{MaxAttempts: 1, InitialInterval: spec.Duration(time.Second), MaxInterval: spec.Duration(time.Minute), Backoff: 2},
			Poll:    planner.Poll{Interval: spec.Duration(time.Second), MaxInterval: spec.Duration(8 * time.Second)},
			Timeout: spec.Duration(time.Hour),
		}
	}
	return planner.Plan{
		Version:  planner.PlanVersion,
		Pipeline: "diamond",
		SpecHash: "abc",
		Cloud:    spec.Cloud{ProjectID: "p1"},
		Steps:    []planner.Step{step("load"), step("left", "load"), step("right", "load"), step("report", "left", "right")},
	}
}

func TestPipelineRunsStepsInDependencyOrder(t *testing.T) {
	f := newFakeService()
	f.polls["load"] = 3
	f.polls["left"] = 1
	f.polls["right"] = 5
	env := newEnv(t, f)
	env.ExecuteWorkflow(PipelineWorkflow, diamond())

	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var st Status
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if st.State != RunSucceeded {
		t.Errorf("state = %s, want succeeded", st.State)
	}
	for _, s := range st.Steps {
		if s.State != StepSucceeded || s.JobID != "job-"+s.ID || s.Outputs["job_id"] != "job-"+s.ID {
			t.Errorf("step %s: state %s, job %q, outputs %v", s.ID, s.State, s.JobID, s.Outputs)
		}
	}
	// load before both branches, report after both; the short branch
	// finishes first although it started at the same time.
	if f.submitted[0] != "load" || f.submitted[3] != "report" {
		t.Errorf("submit order = %v", f.submitted)
	}
	if want := []string{"load", "left", "right", "report"}; !slices.Equal(f.finished, want) {
		t.Errorf("finish order = %v, want %v", f.finished, want)
	}
	// One wait per poll plus the one that saw the job end.
	if got := f.waits["right"]; got != 6 {
		t.Errorf("waits for right = %d, want 6", got)
	}
	if len(f.cancelled) != 0 {
		t.Errorf("cancelled %v, want none", f.cancelled)
	}
}

func TestPipelineFailureCancelsRunningStepsAndNamesTheStep(t *testing.T) {
	f := newFakeService()
	f.fail["left"] = "Table sales.x not found"
	f.polls["left"] = 1   // fails at its second check: right has its job by then
	f.polls["right"] = -1 // still running when left fails
	env := newEnv(t, f)
	env.ExecuteWorkflow(PipelineWorkflow, diamond())

	err := env.GetWorkflowError()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrStepFailed {
		t.Fatalf("error = %v, want a %s application error", err, ErrStepFailed)
	}
	if want := `step "left" failed: job job-left ended FAILED: Table sales.x not found`; app.Message() != want {
		t.Errorf("message = %q\nwant      %q", app.Message(), want)
	}
	var st Status
	if err := app.Details(&st); err != nil {
		t.Fatal(err)
	}
	states := map[string]StepState{}
	for _, s := range st.Steps {
		states[s.ID] = s.State
	}
	want := map[string]StepState{"load": StepSucceeded, "left": StepFailed, "right": StepCancelled, "report": StepSkipped}
	for id, w := range want {
		if states[id] != w {
			t.Errorf("step %s: %s, want %s (%+v)", id, states[id], w, st.Steps)
		}
	}
	// The running sibling's job is stopped; the failed one's is not (it
	// already ended), and the skipped step never started one.
	if !slices.Equal(f.cancelled, []string{"right"}) {
		t.Errorf("cancelled = %v, want [right]", f.cancelled)
	}
	if slices.Contains(f.submitted, "report") {
		t.Error("report was submitted after a failure")
	}
}

func TestPipelineStepTimeoutStopsTheJob(t *testing.T) {
	f := newFakeService()
	f.polls["load"] = -1
	plan := diamond()
	plan.Steps = plan.Steps[:1]
	plan.Steps[0].Timeout = spec.Duration(2 * time.Minute)
	env := newEnv(t, f)
	env.ExecuteWorkflow(PipelineWorkflow, plan)

	var app *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != ErrStepFailed {
		t.Fatalf("error = %v, want %s", err, ErrStepFailed)
	}
	var st Status
	if err := app.Details(&st); err != nil {
		t.Fatal(err)
	}
	if got := st.Steps[0].Error; got == "" || !containsAll(got, "timed out", "timeout elapsed") {
		t.Errorf("step error = %q, want a timeout", got)
	}
	if !slices.Equal(f.cancelled, []string{"load"}) {
		t.Errorf("cancelled = %v, want [load]", f.cancelled)
	}
	// Polls back off to the 8s cap: a two-minute job costs a bounded
	// number of checks, not one per second.
	if n := f.waits["load"]; n < 10 || n > 20 {
		t.Errorf("waits = %d, want between 10 and 20 for 2m at <=8s", n)
	}
}

func TestPipelineCancelStopsRunningJobs(t *testing.T) {
	f := newFakeService()
	f.polls["load"] = -1
	env := newEnv(t, f)
	env.RegisterDelayedCallback(env.CancelWorkflow, 30*time.Second)
	env.ExecuteWorkflow(PipelineWorkflow, diamond())

	if err := env.GetWorkflowError(); !temporal.IsCanceledError(err) {
		t.Fatalf("error = %v, want cancelled", err)
	}
	if !slices.Equal(f.cancelled, []string{"load"}) {
		t.Errorf("cancelled = %v, want [load]", f.cancelled)
	}
	if len(f.submitted) != 1 {
		t.Errorf("submitted = %v, want only load", f.submitted)
	}
}

func TestPipelineStatusQueryWhileRunning(t *testing.T) {
	f := newFakeService()
	f.polls["load"] = 20
	env := newEnv(t, f)
	var mid Status
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryStatus)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(&mid); err != nil {
			t.Error(err)
		}
	}, 10*time.Second)
	env.ExecuteWorkflow(PipelineWorkflow, diamond())
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	// The job id of a running step is in its activity's progress, not yet
	// in the workflow's state (pipectl describe joins the two).
	if mid.State != RunRunning || mid.Steps[0].State != StepRunning || mid.Steps[0].Attempt != 1 || mid.Steps[1].State != StepPending {
		t.Errorf("status mid-run = %+v", mid)
	}
	var end Status
	if err := env.GetWorkflowResult(&end); err != nil {
		t.Fatal(err)
	}
	if end.Steps[0].JobID != "job-load" {
		t.Errorf("job id after the run = %q, want job-load", end.Steps[0].JobID)
	}
}

func TestPipelineRejectsUnknownPlanVersion(t *testing.T) {
	env := newEnv(t, newFakeService())
	plan := diamond()
	plan.Version = planner.PlanVersion + 1
	env.ExecuteWorkflow(PipelineWorkflow, plan)
	var app *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != ErrUnsupportedPlan {
		t.Fatalf("error = %v, want %s", err, ErrUnsupportedPlan)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
