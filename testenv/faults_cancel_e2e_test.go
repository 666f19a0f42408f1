package testenv_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/dli"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/testenv/emulator"
	"github.com/pipectl/pipectl/workflows"
)

// cancelSpec is a pipeline of five steps: setup, whose job ends at
// once; then three in parallel whose jobs run until stopped (two DLI SQL
// jobs and a DLI Spark batch); then publish, after all three.
func cancelSpec(name string) string {
	return fmt.Sprintf(`name: %[1]s
defaults:
  retry: {initial_interval: 200ms, max_interval: 1s}
  poll: {interval: 200ms, max_interval: 500ms}
  timeout: 3m
steps:
  - {id: setup, kind: dli.sql, with: {sql: "%[2]s"}}
  - {id: hang_a, kind: dli.sql, depends_on: setup, with: {sql: "%[3]s"}}
  - {id: hang_b, kind: dli.sql, depends_on: setup, with: {sql: "%[4]s"}}
  - id: hang_spark
    kind: dli.spark
    depends_on: setup
    with: {queue: etl, name: %[1]s-hang, file: "obs://jobs/app.jar", class_name: com.example.Main}
  - {id: publish, kind: dli.sql, depends_on: [hang_a, hang_b, hang_spark], with: {sql: "%[5]s"}}
`, name, stepSQL(name, "setup"), stepSQL(name, "hang_a"), stepSQL(name, "hang_b"), stepSQL(name, "publish"))
}

func sparkRunning(b emulator.SparkBatch) bool { return b.State == "starting" || b.State == "running" }

// sparkBatchesOf returns the emulator's Spark batches of the pipeline's
// hang_spark step (named NAME-hang-<24 hex digits>).
func sparkBatchesOf(em *emulator.Emulator, pipeline string) []emulator.SparkBatch {
	var out []emulator.SparkBatch
	for _, b := range em.SparkBatches() {
		if rest, ok := strings.CutPrefix(b.Name, pipeline+"-hang-"); ok && len(rest) == 24 {
			out = append(out, b)
		}
	}
	return out
}

// awaitClosed waits for the run to close, as awaitRun does, and returns
// its status: the result of a run that succeeded or failed, the details
// of a cancelled one.
func awaitClosed(t *testing.T, c client.Client, run client.WorkflowRun, timeout time.Duration) (*workflows.Status, error) {
	deadline := time.Now().Add(timeout)
	for {
		d, err := c.DescribeWorkflowExecution(t.Context(), run.GetID(), run.GetRunID())
		if err == nil && d.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("run %s still running after %s; %s", run.GetID(), timeout, pendingSummary(d, err))
		}
		time.Sleep(100 * time.Millisecond)
	}
	var st workflows.Status
	err := run.Get(t.Context(), &st)
	var ce *temporal.CanceledError
	if errors.As(err, &ce) {
		if derr := ce.Details(&st); derr != nil {
			return nil, fmt.Errorf("run %s: cancelled without a status: %v", run.GetID(), derr)
		}
		return &st, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// activityCounts counts a workflow run's activities scheduled, by type.
func activityCounts(t *testing.T, c client.Client, id, runID string) (scheduled map[string]int) {
	t.Helper()
	scheduled = map[string]int{}
	for _, e := range fetchRunHistory(t, c, id, runID).GetEvents() {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[a.GetActivityType().GetName()]++
		}
	}
	return scheduled
}

// cancelRuns cancels the runs at once with `pipectl cancel` and waits
// for them to close.
func cancelRuns(t *testing.T, st *testenv.Stack, runs []client.WorkflowRun) []*workflows.Status {
	t.Helper()
	var wg sync.WaitGroup
	codes := make([]int, len(runs))
	for i, r := range runs {
		wg.Go(func() { codes[i], _, _ = pipectl(t, st, "cancel", r.GetID()) })
	}
	wg.Wait()
	for i, code := range codes {
		if code != 0 {
			t.Errorf("pipectl cancel %s exited %d", runs[i].GetID(), code)
		}
	}
	statuses := make([]*workflows.Status, len(runs))
	for i, r := range runs {
		s, err := awaitClosed(t, st.Client, r, 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		statuses[i] = s
	}
	return statuses
}

// startCancelRuns starts n runs of cancelSpec named prefix-NN.
func startCancelRuns(t *testing.T, st *testenv.Stack, prefix string, n int) ([]*planner.Plan, []client.WorkflowRun) {
	t.Helper()
	plans := make([]*planner.Plan, n)
	runs := make([]client.WorkflowRun, n)
	for i := range plans {
		name := fmt.Sprintf("%s-%02d", prefix, i+1)
		plans[i] = compileSpec(t, name, cancelSpec(name))
		run, err := startFaultRun(t.Context(), st.Client, plans[i])
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = run
	}
	return plans, runs
}

// checkCancelled checks cancelled runs of cancelSpec against the
// emulator: each run ended cancelled with nothing pending (with
// inFlight, the long steps' run activities may be: the run closed while
// they were submitting); setup's job
// finished, each long step has one job, stopped, with the key of the
// run's first attempt of the step, and publish ran none; the run
// scheduled one run activity per started step and cancelSteps cancel
// activities.
func checkCancelled(t *testing.T, st *testenv.Stack, plans []*planner.Plan, runs []client.WorkflowRun, statuses []*workflows.Status, cancelSteps int, inFlight bool) {
	t.Helper()
	em := st.Emulator
	for i, r := range runs {
		id, plan, status := r.GetID(), plans[i], statuses[i]
		d, err := st.Client.DescribeWorkflowExecution(t.Context(), id, r.GetRunID())
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, a := range d.GetPendingActivities() {
			if !inFlight || !strings.HasSuffix(a.GetActivityType().GetName(), ".run") {
				pending++
			}
		}
		if s := d.WorkflowExecutionInfo.GetStatus(); s != enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED || pending > 0 {
			t.Errorf("run %s is %s with %d pending activities, want cancelled with none", id, s, pending)
		}
		if status.State != workflows.RunCancelled {
			t.Errorf("run %s ended %s, want %s", id, status.State, workflows.RunCancelled)
		}
		want := map[string]workflows.StepState{
			"setup": workflows.StepSucceeded, "hang_a": workflows.StepCancelled, "hang_b": workflows.StepCancelled,
			"hang_spark": workflows.StepCancelled, "publish": workflows.StepSkipped,
		}
		for _, s := range status.Steps {
			if s.State != want[s.ID] || s.CancelError != "" {
				t.Errorf("%s step %s: %s (%s%s), want %s", id, s.ID, s.State, s.CancelError, s.SkipReason, want[s.ID])
			}
		}
		runKey := id + "/" + r.GetRunID()
		jobs := jobsOf(em, plan.Pipeline, "setup", "hang_a", "hang_b", "publish")
		for step, wantStatus := range map[string]string{"setup": "FINISHED", "hang_a": "CANCELLED", "hang_b": "CANCELLED"} {
			js := jobs[step]
			if len(js) != 1 {
				t.Errorf("%s step %s has %d jobs, want 1", id, step, len(js))
				continue
			}
			key := activities.StepRequest{RunKey: runKey, StepID: step, Attempt: 1}.IdempotencyKey()
			if js[0].Status != wantStatus || js[0].Tags[dli.TagKey] != key {
				t.Errorf("%s step %s: job %s %s with key %q, want %s with %q", id, step, js[0].ID, js[0].Status, js[0].Tags[dli.TagKey], wantStatus, key)
			}
		}
		if n := len(jobs["publish"]); n != 0 {
			t.Errorf("%s: publish ran %d jobs after the cancel", id, n)
		}
		if bs := sparkBatchesOf(em, plan.Pipeline); len(bs) != 1 || !bs[0].Cancelled || bs[0].State != "dead" {
			t.Errorf("%s: Spark batches %+v, want one, dead by cancel", id, bs)
		}
		got := activityCounts(t, st.Client, id, r.GetRunID())
		wantActs := map[string]int{
			activities.RunName(dli.KindSQL):   3,
			activities.RunName(dli.KindSpark): 1,
		}
		if cancelSteps > 0 {
			wantActs[activities.CancelName(dli.KindSQL)] = cancelSteps * 2 / 3
			wantActs[activities.CancelName(dli.KindSpark)] = cancelSteps / 3
		}
		if !maps.Equal(got, wantActs) {
			t.Errorf("%s activities %v, want %v", id, got, wantActs)
		}
	}
}

// checkNothingRuns checks that the emulator has no DLI job or Spark
// batch running, and the jobs of n runs of cancelSpec: three DLI jobs and
// one batch each.
func checkNothingRuns(t *testing.T, em *emulator.Emulator, n int) {
	t.Helper()
	for _, j := range em.DLIJobs() {
		if running(j) {
			t.Errorf("DLI job %s (%s) is still %s", j.ID, j.SQL, j.Status)
		}
	}
	for _, b := range em.SparkBatches() {
		if sparkRunning(b) {
			t.Errorf("Spark batch %s (%s) is still %s", b.ID, b.Name, b.State)
		}
	}
	if got := len(em.DLIJobs()); got != 3*n {
		t.Errorf("%d DLI jobs, want %d: setup, hang_a and hang_b of each run", got, 3*n)
	}
	if got := len(em.SparkBatches()); got != n {
		t.Errorf("%d Spark batches, want %d", got, n)
	}
}

// TestFaultCancelUnderLoad cancels many runs at once with `pipectl
// cancel`, in two rounds. First 20 runs, once every one has its three
// long jobs running (60 jobs: 40 DLI SQL jobs and 20 Spark batches, which
// run until stopped). Then 10 more while the submits of their long jobs
// are held on the wire, so that each run closes before its jobs exist:
// the run activity that submitted each job stops it. Every run ends
// cancelled with nothing pending; every long job is stopped (CANCELLED,
// or dead by cancel); the first step's job finished untouched, the last
// step never ran; no job was created twice and none is left running.
func TestFaultCancelUnderLoad(t *testing.T) {
	began := time.Now()
	st := startStack(t, testenv.StackOptions{RateLimits: testenv.NoRateLimits(), JobDuration: 200 * time.Millisecond})
	st.Emulator.AddRule(emulator.Rule{Match: "hang", Hang: true})

	// Round 1: 20 runs, 60 jobs running.
	const n = 20
	plans, runs := startCancelRuns(t, st, "cancel", n)
	waitFor(t, 60*time.Second, "the 60 long jobs running", func() bool {
		sql, spark := 0, 0
		for _, j := range st.Emulator.DLIJobs() {
			if strings.Contains(j.SQL, "/hang_") && running(j) {
				sql++
			}
		}
		for _, b := range st.Emulator.SparkBatches() {
			if sparkRunning(b) {
				spark++
			}
		}
		return sql == 2*n && spark == n
	})
	t.Logf("%d jobs running after %s; cancelling the %d runs", 3*n, time.Since(began).Round(time.Millisecond), n)
	cancelAt := time.Now()
	statuses := cancelRuns(t, st, runs)
	t.Logf("the %d runs ended %s after the cancel", n, time.Since(cancelAt).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond) // nothing runs on, even a little later
	checkNothingRuns(t, st.Emulator, n)
	// One cancel activity per step abandoned with its job running.
	checkCancelled(t, st, plans, runs, statuses, 3, false)

	// Round 2: 10 runs cancelled while their long jobs' submits are on
	// the wire. The runs close at once; their workflows' cancel
	// activities find no job yet, and the submits then create them.
	const held = 2 * time.Second
	for _, route := range []string{"POST /v1.0/{project_id}/jobs/submit-job", "POST /v2.0/{project_id}/batches"} {
		if _, err := st.Emulator.AddFault(emulator.Fault{Kind: emulator.FaultLatency, Service: emulator.DLI, Route: route, Latency: held}); err != nil {
			t.Fatal(err)
		}
	}
	const m = 10
	plans2, runs2 := startCancelRuns(t, st, "cancel-submitting", m)
	waitFor(t, 60*time.Second, "the long jobs' submits in flight", func() bool {
		for _, r := range runs2 {
			d, err := st.Client.DescribeWorkflowExecution(t.Context(), r.GetID(), r.GetRunID())
			if err != nil {
				return false
			}
			submitting := 0
			for _, a := range d.GetPendingActivities() {
				if a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && len(a.GetHeartbeatDetails().GetPayloads()) == 0 {
					submitting++
				}
			}
			if submitting < 3 {
				return false
			}
		}
		return true
	})
	if n := len(st.Emulator.DLIJobs()); n != 3*20+m {
		t.Fatalf("%d DLI jobs before the cancel, want %d: the submits were not held", n, 3*20+m)
	}
	cancelAt = time.Now()
	statuses2 := cancelRuns(t, st, runs2)
	t.Logf("the %d runs ended %s after the cancel, with their submits in flight", m, time.Since(cancelAt).Round(time.Millisecond))
	waitFor(t, 30*time.Second, "the held submits answered", func() bool {
		return len(st.Emulator.DLIJobs()) == 3*(n+m) && len(st.Emulator.SparkBatches()) == n+m
	})
	waitFor(t, 10*time.Second, "the jobs submitted after the cancel stopped", func() bool {
		for _, j := range st.Emulator.DLIJobs() {
			if running(j) {
				return false
			}
		}
		return !slices.ContainsFunc(st.Emulator.SparkBatches(), sparkRunning)
	})
	time.Sleep(500 * time.Millisecond)
	checkNothingRuns(t, st.Emulator, n+m)
	// The workflows' cancel activities ran and found nothing to stop.
	checkCancelled(t, st, plans2, runs2, statuses2, 3, true)
	t.Logf("took %s", time.Since(began).Round(time.Millisecond))
}

// TestFaultStepTimesOutWhileSubmitting: a step whose timeout passes while
// its submit is on the wire, at a service that takes 4 s to create the
// job (the step's timeout is 2 s) and finishes even for a client that
// gave up. The step fails as timed out, and the workflow's cancel finds no
// job yet; the submit is still awaited, and the attempt that submitted
// stops the job it created: none is left running, no second job starts.
func TestFaultStepTimesOutWhileSubmitting(t *testing.T) {
	st := startStack(t, testenv.StackOptions{RateLimits: testenv.NoRateLimits(), JobDuration: 200 * time.Millisecond})
	st.Emulator.AddRule(emulator.Rule{Match: "hang", Hang: true})
	if _, err := st.Emulator.AddFault(emulator.Fault{Kind: emulator.FaultSlowService, Service: emulator.DLI, Route: "POST /v1.0/{project_id}/jobs/submit-job", Latency: 4 * time.Second}); err != nil {
		t.Fatal(err)
	}
	const name = "timeout-submitting"
	plan := compileSpec(t, name, fmt.Sprintf(`name: %s
defaults:
  retry: {initial_interval: 200ms, max_interval: 1s}
  poll: {interval: 200ms, max_interval: 500ms}
steps:
  - {id: hang_a, kind: dli.sql, timeout: 2s, with: {sql: "%s"}}
`, name, stepSQL(name, "hang_a")))
	run, err := startFaultRun(t.Context(), st.Client, plan)
	if err != nil {
		t.Fatal(err)
	}
	_, err = awaitClosed(t, st.Client, run, 60*time.Second)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("run ended with %v, want the step timed out", err)
	}
	waitFor(t, 30*time.Second, "the late-created job stopped", func() bool {
		jobs := st.Emulator.DLIJobs()
		return len(jobs) == 1 && !running(jobs[0])
	})
	time.Sleep(500 * time.Millisecond) // nothing starts later either
	if jobs := st.Emulator.DLIJobs(); len(jobs) != 1 || jobs[0].Status != "CANCELLED" {
		t.Errorf("DLI jobs %+v, want one, CANCELLED", jobs)
	}
}
