package testenv_test

// End-to-end tests of the command line against the embedded stack: the
// commands run in-process exactly as a user runs them.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/internal/deploy"
	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/testenv/emulator"
	"github.com/pipectl/pipectl/workflows"
)

const scheduledSpec = `name: hourly-report
params:
  region: eu
schedule:
  cron: "0 * * * *"
  timezone: Asia/Shanghai
  overlap: allow_all
steps:
  - id: load
    kind: dli.sql
    poll: {interval: 200ms, max_interval: 1s}
    with:
      sql: >-
        INSERT INTO r SELECT '${formatdate("YYYY-MM-DD hh:mm", run.logical_time)}', '${params.region}'
  - id: report
    kind: dli.sql
    depends_on: load
    poll: {interval: 200ms, max_interval: 1s}
    with:
      sql: SELECT 1
`

func writeSpec(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestApplyScheduleIsDeclarative(t *testing.T) {
	st := startStack(t, testenv.StackOptions{JobDuration: 200 * time.Millisecond})
	file := writeSpec(t, "hourly.yaml", scheduledSpec)

	code, out, _ := pipectl(t, st, "plan", file, "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, "+ schedule pipectl-hourly-report") {
		t.Fatalf("plan before apply: exit %d, output:\n%s", code, out)
	}
	code, out, _ = pipectl(t, st, "apply", file)
	if code != 0 || !strings.Contains(out, "schedule pipectl-hourly-report created") {
		t.Fatalf("first apply: exit %d\n%s", code, out)
	}
	code, out, _ = pipectl(t, st, "apply", file)
	if code != 0 || !strings.Contains(out, "is up to date: no changes") {
		t.Fatalf("second apply: exit %d\n%s", code, out)
	}
	code, out, _ = pipectl(t, st, "plan", file, "--detailed-exitcode")
	if code != 0 || !strings.Contains(out, "none: the deployed plan is identical") {
		t.Fatalf("plan after apply: exit %d\n%s", code, out)
	}

	// Edit the cron and a step: plan names both, apply updates in place.
	edited := strings.Replace(strings.Replace(scheduledSpec, `"0 * * * *"`, `"30 * * * *"`, 1), "SELECT 1", "SELECT 2", 1)
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = pipectl(t, st, "plan", file, "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, "~ schedule.cron: 0 * * * * -> 30 * * * *") || !strings.Contains(out, "~ step report: changed with") {
		t.Fatalf("plan after edit: exit %d\n%s", code, out)
	}
	code, out, _ = pipectl(t, st, "apply", file)
	if code != 0 || !strings.Contains(out, "schedule pipectl-hourly-report updated") {
		t.Fatalf("apply after edit: exit %d\n%s", code, out)
	}
	d, err := deploy.Get(t.Context(), st.Client, "hourly-report")
	if err != nil || d == nil || d.Plan.Schedule.Cron != "30 * * * *" {
		t.Fatalf("deployed schedule after update: %+v, %v", d, err)
	}

	// -o json is stable output a script can parse.
	code, out, _ = pipectl(t, st, "get", "pipelines", "-o", "json")
	var rows []struct {
		Pipeline string `json:"pipeline"`
		Cron     string `json:"cron"`
		Paused   bool   `json:"paused"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || rows[0].Pipeline != "hourly-report" || rows[0].Cron != "30 * * * *" {
		t.Fatalf("get pipelines -o json: exit %d\n%s", code, out)
	}

	// --prune deletes pipectl's schedules of pipelines no given spec declares.
	other := writeSpec(t, "daily.yaml", strings.Replace(scheduledSpec, "name: hourly-report", "name: daily-report", 1))
	if code, _, _ := pipectl(t, st, "apply", other); code != 0 {
		t.Fatal("apply of a second pipeline failed")
	}
	// plan --prune lists what apply --prune would delete, and counts it
	// as a change; with every spec given there is nothing to prune.
	code, out, _ = pipectl(t, st, "plan", file, other, "--prune", "--detailed-exitcode")
	if code != 0 || !strings.Contains(out, "pipelines apply --prune would delete") || strings.Contains(out, "- schedule") {
		t.Fatalf("plan --prune of both specs: exit %d\n%s", code, out)
	}
	code, out, _ = pipectl(t, st, "plan", other, "--prune", "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, `- schedule pipectl-hourly-report (was pipeline hourly-report, cron "30 * * * *"`) ||
		strings.Contains(out, "- schedule pipectl-daily-report") || !strings.Contains(out, "none: the deployed plan is identical") {
		t.Fatalf("plan --prune: exit %d\n%s", code, out)
	}
	code, out, _ = pipectl(t, st, "apply", other, "--prune")
	if code != 0 || !strings.Contains(out, "schedule pipectl-hourly-report deleted") || strings.Contains(out, "pipectl-daily-report deleted") {
		t.Fatalf("apply --prune: exit %d\n%s", code, out)
	}
	if d, err := deploy.Get(t.Context(), st.Client, "hourly-report"); err != nil || d != nil {
		t.Errorf("pruned schedule still there: %+v, %v", d, err)
	}
}

func TestScheduleTriggerPauseResumeAndBackfill(t *testing.T) {
	st := startStack(t, testenv.StackOptions{JobDuration: 200 * time.Millisecond})
	file := writeSpec(t, "hourly.yaml", scheduledSpec)
	if code, _, _ := pipectl(t, st, "apply", file); code != 0 {
		t.Fatal("apply failed")
	}

	if code, _, _ := pipectl(t, st, "schedule", "pause", "hourly-report", "--note", "warehouse maintenance"); code != 0 {
		t.Fatal("pause failed")
	}
	code, out, _ := pipectl(t, st, "schedule", "describe", "hourly-report")
	if code != 0 || !strings.Contains(out, "PAUSED: warehouse maintenance") || !strings.Contains(out, "next") {
		t.Fatalf("describe paused: exit %d\n%s", code, out)
	}
	if code, _, _ := pipectl(t, st, "schedule", "resume", "hourly-report"); code != 0 {
		t.Fatal("resume failed")
	}
	if _, out, _ := pipectl(t, st, "schedule", "describe", "hourly-report"); strings.Contains(out, "PAUSED") {
		t.Fatalf("still paused after resume:\n%s", out)
	}

	// A trigger starts one run now.
	if code, _, _ := pipectl(t, st, "schedule", "trigger", "hourly-report"); code != 0 {
		t.Fatal("trigger failed")
	}
	runs := waitRuns(t, st, "hourly-report", 1)
	if runs[0].Trigger != workflows.TriggerSchedule {
		t.Errorf("triggered run has trigger %q", runs[0].Trigger)
	}

	// A backfill of three hours gives three runs, each for its own hour.
	before := len(st.Emulator.DLIJobs())
	code, _, stderr := pipectl(t, st, "backfill", "hourly-report", "--from", "2026-03-01T10:00:00+08:00", "--to", "2026-03-01T13:00:00+08:00")
	if code != 0 || !strings.Contains(stderr, "3 runs") {
		t.Fatalf("backfill: exit %d\n%s", code, stderr)
	}
	waitRuns(t, st, "hourly-report", 4)
	deadline := time.Now().Add(30 * time.Second)
	var hours []string
	for time.Now().Before(deadline) {
		hours = nil
		for _, j := range st.Emulator.DLIJobs()[before:] {
			if strings.HasPrefix(j.SQL, "INSERT INTO r SELECT '2026-03-01") {
				hours = append(hours, j.SQL)
			}
		}
		if len(hours) == 3 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	slices.Sort(hours)
	// Logical times are in UTC: 10:00, 11:00 and 12:00 in Shanghai.
	want := []string{
		"INSERT INTO r SELECT '2026-03-01 02:00', 'eu'",
		"INSERT INTO r SELECT '2026-03-01 03:00', 'eu'",
		"INSERT INTO r SELECT '2026-03-01 04:00', 'eu'",
	}
	if !slices.Equal(hours, want) {
		t.Errorf("backfilled runs processed %q, want %q", hours, want)
	}
}

type runJSON struct {
	ID       string `json:"id"`
	Pipeline string `json:"pipeline"`
	Status   string `json:"status"`
	Trigger  string `json:"trigger"`
}

// waitRuns polls `get runs -o json` until the pipeline has n runs.
func waitRuns(t *testing.T, st *testenv.Stack, pipeline string, n int) []runJSON {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, out, _ := pipectl(t, st, "get", "runs", pipeline, "-o", "json")
		var runs []runJSON
		if err := json.Unmarshal([]byte(out), &runs); err != nil {
			t.Fatalf("get runs -o json is not JSON: %v\n%s", err, out)
		}
		if len(runs) >= n {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs of %s after 30s, want %d", len(runs), pipeline, n)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestCancelStopsExternalJobs(t *testing.T) {
	st := startStack(t, testenv.StackOptions{JobDuration: 200 * time.Millisecond})
	st.Emulator.AddRule(emulator.Rule{Service: emulator.DLI, Match: "forever", Hang: true})
	file := writeSpec(t, "slow.yaml", `name: slow
steps:
  - {id: a, kind: dli.sql, poll: {interval: 200ms}, with: {sql: "select forever_a"}}
  - {id: b, kind: dli.sql, poll: {interval: 200ms}, with: {sql: "select forever_b"}}
`)
	code, out, _ := pipectl(t, st, "apply", file, "--id", "slow-1")
	if code != 0 || strings.TrimSpace(out) != "slow-1" {
		t.Fatalf("apply: exit %d, out %q", code, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(st.Emulator.DLIJobs()) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if code, _, _ := pipectl(t, st, "cancel", "slow-1"); code != 0 {
		t.Fatal("cancel failed")
	}
	code, _, stderr := pipectl(t, st, "watch", "slow-1")
	if code != 1 || !strings.Contains(stderr, "cancelled") {
		t.Errorf("watch after cancel: exit %d\n%s", code, stderr)
	}
	for _, j := range st.Emulator.DLIJobs() {
		if j.Status != "CANCELLED" {
			t.Errorf("job %s (%s) is %s after the run was cancelled, want CANCELLED", j.ID, j.SQL, j.Status)
		}
	}
	code, out, _ = pipectl(t, st, "describe", "run", "slow-1", "-o", "json")
	var status workflows.Status
	if code != 0 || json.Unmarshal([]byte(out), &status) != nil || status.State != workflows.RunCancelled {
		t.Errorf("describe run -o json: exit %d, state %q\n%s", code, status.State, out)
	}
	keepHistory(t, "cancel.json", fetchHistory(t, st.Client, "slow-1"))
}

func TestSuspendedStepIsRetriedByAnOperator(t *testing.T) {
	st := startStack(t, testenv.StackOptions{JobDuration: 200 * time.Millisecond})
	st.Emulator.AddRule(emulator.Rule{Service: emulator.DLI, Match: "flaky", FailMessage: "Disk quota exceeded", FailFirst: 1})
	file := writeSpec(t, "suspend.yaml", `name: suspend-demo
steps:
  - id: flaky
    kind: dli.sql
    on_failure: suspend
    poll: {interval: 200ms}
    with: {sql: "select flaky"}
  - {id: after, kind: dli.sql, depends_on: flaky, poll: {interval: 200ms}, with: {sql: "select 2"}}
`)
	if code, _, _ := pipectl(t, st, "apply", file, "--id", "susp-1"); code != 0 {
		t.Fatal("apply failed")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, _ := pipectl(t, st, "describe", "run", "susp-1")
		if code == 0 && strings.Contains(out, "suspended") && strings.Contains(out, "Disk quota exceeded") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("step never suspended:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, _, stderr := pipectl(t, st, "step", "retry", "susp-1", "after"); code == 0 || !strings.Contains(stderr, "not suspended") {
		t.Errorf("retry of a step that is not suspended: exit %d\n%s", code, stderr)
	}
	if code, _, _ := pipectl(t, st, "step", "retry", "susp-1", "flaky"); code != 0 {
		t.Fatal("step retry failed")
	}
	code, _, stderr := pipectl(t, st, "watch", "susp-1")
	if code != 0 || !strings.Contains(stderr, "pipeline suspend-demo succeeded") {
		t.Fatalf("run after retry: exit %d\n%s", code, stderr)
	}
	var flaky []emulator.DLIJob
	for _, j := range st.Emulator.DLIJobs() {
		if j.SQL == "select flaky" {
			flaky = append(flaky, j)
		}
	}
	if len(flaky) != 2 || flaky[0].Status != "FAILED" || flaky[1].Status != "FINISHED" {
		t.Fatalf("flaky jobs = %+v, want one FAILED then one FINISHED", flaky)
	}

	// The step's log tells the story from the run's history.
	code, out, _ := pipectl(t, st, "logs", "susp-1", "flaky")
	for _, want := range []string{
		"run (attempt 1)",
		"run failed: job " + flaky[0].ID + " ended FAILED: Disk quota exceeded",
		"operator: retry",
		"run (attempt 2)",
		"run done: job " + flaky[1].ID + " FINISHED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	if code != 0 || strings.Contains(out, " after ") && strings.Contains(out, "select 2") {
		t.Errorf("logs: exit %d", code)
	}
	if code, _, _ := pipectl(t, st, "logs", "susp-1", "nosuch"); code != 1 {
		t.Errorf("logs of an unknown step: exit %d, want 1", code)
	}
	keepHistory(t, "suspend-retry.json", fetchHistory(t, st.Client, "susp-1"))
}

// TestCLIShowsAContinuedRunWithChildrenAsOne runs a pipeline whose run
// continues as new several times (the server suggests it past 40 events)
// and whose for_each of 105 elements runs in a child workflow: get runs
// shows it as one run, and logs and describe cover every workflow run of
// the chain and the child.
func TestCLIShowsAContinuedRunWithChildrenAsOne(t *testing.T) {
	st := startStack(t, testenv.StackOptions{JobDuration: 10 * time.Millisecond, ServerDynamicConfig: map[string]any{
		"history.timerProcessorMaxTimeShift":      5 * time.Millisecond,
		"limit.historyCount.suggestContinueAsNew": 40,
	}})
	var b strings.Builder
	b.WriteString("name: long-haul\ndefaults:\n  poll: {interval: 10ms, max_interval: 10ms}\nsteps:\n")
	b.WriteString("  - {id: s01, kind: dli.sql, with: {sql: \"SELECT 1\"}}\n")
	for i := 2; i <= 6; i++ {
		fmt.Fprintf(&b, "  - {id: s%02d, kind: dli.sql, depends_on: [s%02d], with: {sql: \"SELECT %d\"}}\n", i, i-1, i)
	}
	b.WriteString("  - id: each\n    kind: dli.sql\n    depends_on: [s03]\n    for_each: [")
	for i := range 105 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "p%03d", i)
	}
	b.WriteString("]\n    with: {sql: \"SELECT '${item}'\"}\n")
	b.WriteString("  - {id: last, kind: dli.sql, depends_on: [each, s06], with: {sql: \"SELECT 'last'\"}}\n")
	file := writeSpec(t, "long-haul.yaml", b.String())

	if code, _, stderr := pipectl(t, st, "apply", file, "--id", "long-1", "--wait"); code != 0 {
		t.Fatalf("apply --wait: exit %d\n%s", code, stderr)
	}

	// One row for the chain: the latest run's status, the first's start.
	code, out, _ := pipectl(t, st, "get", "runs", "long-haul", "-o", "json")
	var rows []struct {
		ID         string    `json:"id"`
		RunID      string    `json:"run_id"`
		FirstRunID string    `json:"first_run_id"`
		Runs       int       `json:"runs"`
		Status     string    `json:"status"`
		StartedAt  time.Time `json:"started_at"`
		ClosedAt   time.Time `json:"closed_at"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 {
		t.Fatalf("get runs -o json: exit %d, want one row\n%s", code, out)
	}
	row := rows[0]
	if row.ID != "long-1" || row.Status != "succeeded" || row.Runs < 2 || row.FirstRunID == row.RunID || !row.StartedAt.Before(row.ClosedAt) {
		t.Errorf("get runs row %+v, want long-1 succeeded over several workflow runs", row)
	}
	code, out, _ = pipectl(t, st, "get", "runs", "--status", "succeeded", "--trigger", "apply", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "- id: long-1\n") || strings.Count(out, "- id:") != 1 {
		t.Errorf("get runs --status succeeded --trigger apply -o yaml: exit %d\n%s", code, out)
	}
	if _, out, _ := pipectl(t, st, "get", "runs", "--status", "failed"); strings.Contains(out, "long-1") {
		t.Errorf("get runs --status failed lists a run that succeeded:\n%s", out)
	}
	chain := runChain(t, st, "long-1", row.FirstRunID)
	if len(chain) != row.Runs {
		t.Errorf("get runs counts %d workflow runs, the chain has %d", row.Runs, len(chain))
	}
	runIDs := []string{row.FirstRunID}
	for _, h := range chain[:len(chain)-1] {
		runIDs = append(runIDs, h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId())
	}
	// Visibility keeps times to the microsecond.
	if first := chain[0].Events[0].GetEventTime().AsTime(); row.StartedAt.Sub(first).Abs() >= time.Millisecond {
		t.Errorf("get runs says started %v, the first workflow run started %v", row.StartedAt, first)
	}

	// describe lists every workflow run and the child.
	code, out, _ = pipectl(t, st, "describe", "run", "long-1", "-o", "json")
	var desc struct {
		State      workflows.RunState `json:"state"`
		Executions []struct {
			Kind      string `json:"kind"`
			RunID     string `json:"run_id"`
			Step      string `json:"step"`
			FirstItem int    `json:"first_item"`
			LastItem  int    `json:"last_item"`
			Status    string `json:"status"`
			Events    int    `json:"events"`
		} `json:"executions"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &desc) != nil || desc.State != workflows.RunSucceeded {
		t.Fatalf("describe run -o json: exit %d\n%s", code, out)
	}
	var runs, items int
	for _, ex := range desc.Executions {
		switch ex.Kind {
		case "run":
			want := "continued"
			if runs == len(chain)-1 {
				want = "succeeded"
			}
			if runs >= len(chain) || ex.RunID != runIDs[runs] ||
				ex.Status != want || ex.Events != len(chain[runs].Events) {
				t.Errorf("execution %d: %+v, want run %d of the chain, %s", runs, ex, runs+1, want)
			}
			runs++
		case "items":
			items++
			if ex.Step != "each" || ex.FirstItem != 1 || ex.LastItem != 105 || ex.Status != "succeeded" {
				t.Errorf("child execution %+v, want each's items 1-105, succeeded", ex)
			}
		}
	}
	if runs != len(chain) || items != 1 {
		t.Errorf("describe lists %d workflow runs and %d children, want %d and 1", runs, items, len(chain))
	}
	if _, out, _ := pipectl(t, st, "describe", "run", "long-1"); !strings.Contains(out, "workflow executions") || !strings.Contains(out, "each items 1-105") {
		t.Errorf("describe run lacks the executions:\n%s", out)
	}

	// logs has the calls of every workflow run and of the child.
	jobs := map[string]string{} // SQL -> job id
	for _, j := range st.Emulator.DLIJobs() {
		jobs[j.SQL] = j.ID
	}
	code, out, _ = pipectl(t, st, "logs", "long-1")
	logLine := func(who, text string) string { return fmt.Sprintf("%-22s %s", who, text) }
	for _, want := range []string{
		logLine("s01", "run done: job "+jobs["SELECT 1"]+" FINISHED"),
		logLine("last", "run done: job "),
		logLine("(run)", "history is long: continued as new in workflow run "+runIDs[1]),
		logLine("each", "child workflow long-haul/"+row.FirstRunID+"/each/items-1-105 started"),
		logLine("each[1]", "run done: job "+jobs["SELECT 'p000'"]+" FINISHED"),
		logLine("each[105]", "run done: job "),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q", want)
			code = -1
		}
	}
	if code != 0 {
		t.Fatalf("logs: exit %d\n%s", code, out)
	}
	code, out, _ = pipectl(t, st, "logs", "long-1", "each")
	if n := strings.Count(out, "run done: job "); code != 0 || n != 105 || strings.Contains(out, "s01") {
		t.Errorf("logs of step each: exit %d, %d jobs done, want 105 and no other step\n%s", code, n, out)
	}
}
