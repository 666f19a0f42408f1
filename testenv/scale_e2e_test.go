package testenv_test

// Scale end-to-end tests: runs whose history would pass Temporal's limits
// in one workflow run continue as new, and large for_each steps run in
// child workflows, against the embedded server. They also record the
// for_each and continue-as-new histories the replay test replays.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/workflows"
)

// fastTimers makes the server fire timers (activity retries, hence polls)
// within 5ms of when they are due instead of its default 1s floor, so that
// 10ms jobs polled every 10ms take tens of milliseconds, not seconds.
var fastTimers = map[string]any{"history.timerProcessorMaxTimeShift": 5 * time.Millisecond}

// compileSpec writes src to a file and compiles it.
func compileSpec(t *testing.T, name, src string) *planner.Plan {
	t.Helper()
	p, diags := spec.LoadFile(writeSpec(t, name+".yaml", src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan, diags := planner.Compile(p)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return plan
}

// layeredSrc is a spec of layers × width dli.sql steps; a step depends on
// two of the layer before. Jobs are polled every 10ms.
func layeredSrc(name string, layers, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\ndefaults:\n  poll: {interval: 10ms, max_interval: 10ms}\nsteps:\n", name)
	id := func(l, j int) string { return fmt.Sprintf("s%03d_%03d", l, j) }
	for l := range layers {
		for j := range width {
			fmt.Fprintf(&b, "  - id: %s\n    kind: dli.sql\n", id(l, j))
			if l > 0 {
				deps := []string{id(l-1, j)}
				if width > 1 {
					deps = append(deps, id(l-1, (j+1)%width))
				}
				fmt.Fprintf(&b, "    depends_on: [%s]\n", strings.Join(deps, ", "))
			}
			fmt.Fprintf(&b, "    with: {sql: \"INSERT INTO t SELECT %d\"}\n", l*width+j)
		}
	}
	return b.String()
}

// startPlan starts plan as pipectl does, by workflow name with the plan as
// the only argument.
func startPlan(t *testing.T, st *testenv.Stack, id string, plan *planner.Plan) client.WorkflowRun {
	t.Helper()
	run, err := st.Client.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             workflows.TaskQueue,
		TypedSearchAttributes: workflows.RunSearchAttributes(plan.Pipeline, plan.SpecHash, workflows.TriggerManual),
	}, workflows.PipelineWorkflow, plan)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// runChain returns the histories of the workflow runs of a pipeline run,
// first to last, following its continue-as-new links.
func runChain(t *testing.T, st *testenv.Stack, id, firstRunID string) []*historypb.History {
	t.Helper()
	var out []*historypb.History
	for runID := firstRunID; runID != ""; {
		h := fetchRunHistory(t, st.Client, id, runID)
		out = append(out, h)
		runID = h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}
	return out
}

func countEvents(hs []*historypb.History) (n, largest int) {
	for _, h := range hs {
		n += len(h.Events)
		largest = max(largest, len(h.Events))
	}
	return n, largest
}

// TestFiveThousandStepsEndToEnd runs 5,000 steps (100 layers of 50, jobs
// of 10ms polled every 10ms): tens of thousands of history events (steps
// side by side share workflow tasks; a chain costs 6 a step), more than
// one workflow run may hold, so the run continues as new (at the server's
// suggestion, 4 Ki events by default) and must end with every step
// succeeded, one job each. It takes about 30s on 2 cores.
func TestFiveThousandStepsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of 5,000 steps")
	}
	const layers, width = 100, 50
	st := startStack(t, testenv.StackOptions{JobDuration: 10 * time.Millisecond, ServerDynamicConfig: fastTimers, RateLimits: testenv.NoRateLimits()})
	plan := compileSpec(t, "five-thousand", layeredSrc("five-thousand", layers, width))

	start := time.Now()
	run := startPlan(t, st, "five-thousand", plan)
	firstRunID := run.GetRunID() // Get moves it along the chain
	// While it runs, the status query answers for the whole pipeline run
	// from whichever workflow run is current.
	var midRun bool
	go func() {
		for t.Context().Err() == nil {
			time.Sleep(500 * time.Millisecond)
			desc, err := st.Client.DescribeWorkflowExecution(t.Context(), run.GetID(), "")
			if err != nil || desc.GetWorkflowExecutionInfo().GetExecution().GetRunId() == firstRunID {
				continue
			}
			if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return
			}
			v, err := st.Client.QueryWorkflow(t.Context(), run.GetID(), "", workflows.QueryStatus)
			var s workflows.Status
			if err != nil || v.Get(&s) != nil {
				continue
			}
			done := 0
			for _, step := range s.Steps {
				if step.State == workflows.StepSucceeded {
					done++
				}
			}
			if len(s.Steps) == layers*width && done > 0 && done < layers*width {
				midRun = true
				return
			}
		}
	}()
	var status workflows.Status
	if err := run.Get(t.Context(), &status); err != nil {
		t.Fatalf("run: %v", err)
	}
	elapsed := time.Since(start)

	if status.State != workflows.RunSucceeded || len(status.Steps) != layers*width {
		t.Fatalf("run %s with %d steps", status.State, len(status.Steps))
	}
	for _, s := range status.Steps {
		if s.State != workflows.StepSucceeded || s.Attempt != 1 || s.JobID == "" || s.Outputs["job_id"] != s.JobID {
			t.Fatalf("step %+v", s)
		}
	}
	jobs := st.Emulator.DLIJobs()
	keys := map[string]bool{}
	for _, j := range jobs {
		if j.Status != "FINISHED" || keys[j.Tags["pipectl-key"]] {
			t.Errorf("job %s: %s, key %q", j.ID, j.Status, j.Tags["pipectl-key"])
		}
		keys[j.Tags["pipectl-key"]] = true
	}
	if len(jobs) != layers*width {
		t.Errorf("%d DLI jobs for %d steps", len(jobs), layers*width)
	}
	chain := runChain(t, st, run.GetID(), firstRunID)
	events, largest := countEvents(chain)
	if len(chain) < 2 {
		t.Errorf("one workflow run of %d events: the run never continued as new", events)
	}
	if largest > 20_000 {
		t.Errorf("a workflow run has %d events", largest)
	}
	if !midRun {
		t.Log("the status query was not caught between two runs")
	}
	t.Logf("%d steps in %v: %d workflow runs, %d events (%.1f per step), the longest run %d events",
		len(status.Steps), elapsed.Round(time.Millisecond), len(chain), events, float64(events)/float64(len(status.Steps)), largest)
	for _, h := range chain[1:] {
		replay(t, h)
	}
}

// TestContinueAsNewEndToEnd makes the server suggest continuing as new
// after 20 events, so that a 12-step pipeline takes several workflow runs:
// templates read outputs of steps that finished in an earlier run, a
// for_each runs in one, and the result and status query hold every step.
// It records the first and the last run's histories.
func TestContinueAsNewEndToEnd(t *testing.T) {
	st := startStack(t, testenv.StackOptions{JobDuration: 10 * time.Millisecond, RateLimits: testenv.NoRateLimits(), ServerDynamicConfig: map[string]any{
		"history.timerProcessorMaxTimeShift":      5 * time.Millisecond,
		"limit.historyCount.suggestContinueAsNew": 20,
	}})
	var b strings.Builder
	b.WriteString("name: continued\ndefaults:\n  poll: {interval: 10ms, max_interval: 10ms}\nsteps:\n")
	b.WriteString("  - {id: s01, kind: dli.sql, with: {sql: \"SELECT 1\"}}\n")
	for i := 2; i <= 10; i++ {
		fmt.Fprintf(&b, "  - {id: s%02d, kind: dli.sql, depends_on: [s%02d], with: {sql: \"SELECT %d\"}}\n", i, i-1, i)
	}
	b.WriteString("  - id: each\n    kind: dli.sql\n    depends_on: [s05]\n    for_each: [a, b, c]\n    with: {sql: \"SELECT '${item}'\"}\n")
	b.WriteString("  - id: last\n    kind: dli.sql\n    with: {sql: \"SELECT '${steps.s01.outputs.job_id}', '${join(\\\",\\\", steps.each.outputs.job_id)}', '${steps.s10.outputs.job_id}'\"}\n")
	plan := compileSpec(t, "continued", b.String())

	run := startPlan(t, st, "continued-1", plan)
	firstRunID := run.GetRunID() // Get moves it along the chain
	var status workflows.Status
	if err := run.Get(t.Context(), &status); err != nil {
		t.Fatalf("run: %v", err)
	}
	if status.State != workflows.RunSucceeded || len(status.Steps) != len(plan.Steps) {
		t.Fatalf("run %s with %d steps", status.State, len(status.Steps))
	}
	byID := map[string]workflows.StepStatus{}
	for _, s := range status.Steps {
		if s.State != workflows.StepSucceeded {
			t.Errorf("step %s %s: %s", s.ID, s.State, s.Error)
		}
		byID[s.ID] = s
	}
	chain := runChain(t, st, run.GetID(), firstRunID)
	if len(chain) < 3 {
		t.Fatalf("%d workflow runs, want several", len(chain))
	}
	// One job per step (three for the for_each), across runs.
	if n, want := len(st.Emulator.DLIJobs()), len(plan.Steps)+2; n != want {
		t.Errorf("%d DLI jobs, want %d", n, want)
	}
	last, _ := st.Emulator.DLIJob(byID["last"].JobID)
	ids, _ := byID["each"].Outputs["job_id"].([]any)
	if len(ids) != 3 {
		t.Fatalf("each outputs %v", byID["each"].Outputs)
	}
	if want := fmt.Sprintf("SELECT '%s', '%s,%s,%s', '%s'", byID["s01"].JobID, ids[0], ids[1], ids[2], byID["s10"].JobID); last.SQL != want {
		t.Errorf("last step ran %q, want %q", last.SQL, want)
	}
	// The last run answers for the whole pipeline run.
	v, err := st.Client.QueryWorkflow(t.Context(), run.GetID(), "", workflows.QueryStatus)
	var q workflows.Status
	if err != nil || v.Get(&q) != nil || len(q.Steps) != len(plan.Steps) || !q.StartedAt.Equal(status.StartedAt) {
		t.Errorf("status query of the last run: %v, %d steps", err, len(q.Steps))
	}
	events, _ := countEvents(chain)
	t.Logf("%d steps in %d workflow runs, %d events", len(plan.Steps), len(chain), events)
	keepHistory(t, "continue-as-new-first.json", chain[0])
	keepHistory(t, "continue-as-new-last.json", chain[len(chain)-1])
}

// TestForEachInChildWorkflowsEndToEnd runs a for_each of 255 elements: a
// child workflow of 250 and one of 5, whose outputs the next step reads.
// It records the pipeline's history and the small child's.
func TestForEachInChildWorkflowsEndToEnd(t *testing.T) {
	st := startStack(t, testenv.StackOptions{JobDuration: 10 * time.Millisecond, ServerDynamicConfig: fastTimers, RateLimits: testenv.NoRateLimits()})
	var b strings.Builder
	b.WriteString("name: fan-out\ndefaults:\n  poll: {interval: 10ms, max_interval: 10ms}\nsteps:\n")
	b.WriteString("  - {id: load, kind: dli.sql, with: {sql: \"SELECT 0\"}}\n")
	b.WriteString("  - id: each\n    kind: dli.sql\n    depends_on: [load]\n    for_each: [")
	for i := range 255 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "p%03d", i)
	}
	b.WriteString("]\n    with: {sql: \"INSERT INTO t PARTITION (p = '${item}') SELECT '${steps.load.outputs.job_id}'\"}\n")
	b.WriteString("  - {id: count, kind: dli.sql, with: {sql: \"SELECT ${length(steps.each.outputs.job_id)}\"}}\n")
	plan := compileSpec(t, "fan-out", b.String())

	start := time.Now()
	run := startPlan(t, st, "fan-out-1", plan)
	firstRunID := run.GetRunID()
	var status workflows.Status
	if err := run.Get(t.Context(), &status); err != nil {
		t.Fatalf("run: %v", err)
	}
	each := status.Steps[1]
	ids, _ := each.Outputs["job_id"].([]any)
	if status.State != workflows.RunSucceeded || each.Items != 255 || each.ItemsDone != 255 || len(ids) != 255 {
		t.Fatalf("run %s; each: items %d done %d, %d job ids", status.State, each.Items, each.ItemsDone, len(ids))
	}
	parts := dliJobsWith(st.Emulator, "INSERT INTO t PARTITION")
	if len(parts) != 255 {
		t.Fatalf("%d element jobs, want 255", len(parts))
	}
	byID := map[string]string{}
	for _, j := range parts {
		byID[j.ID] = j.SQL
	}
	for i, id := range ids {
		if want := fmt.Sprintf("(p = 'p%03d')", i); !strings.Contains(byID[id.(string)], want) {
			t.Errorf("output %d is job %v, which ran %q", i, id, byID[id.(string)])
		}
	}
	if got := dliJobsWith(st.Emulator, "SELECT 255"); len(got) != 1 {
		t.Errorf("the next step did not read 255 outputs")
	}
	parent := fetchHistory(t, st.Client, run.GetID())
	children := 0
	for _, e := range parent.Events {
		if e.GetStartChildWorkflowExecutionInitiatedEventAttributes() != nil {
			children++
		}
	}
	if children != 2 {
		t.Errorf("%d child workflows, want 2", children)
	}
	t.Logf("255 elements in %v; the pipeline's history has %d events", time.Since(start).Round(time.Millisecond), len(parent.Events))
	keepHistory(t, "for-each-children.json", parent)
	keepHistory(t, "for-each-children.items.json", fetchHistory(t, st.Client, "fan-out/"+firstRunID+"/each/items-251-255"))
}
