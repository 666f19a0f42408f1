package testenv_test

// End-to-end tests: a real Temporal server in-process, the emulator and a
// worker, driven through the pipectl command line. They live in this one
// package so that only one test binary links the server.

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	historypb "go.temporal.io/api/history/v1"

	"github.com/pipectl/pipectl/internal/cli"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/testenv/devserver"
	"github.com/pipectl/pipectl/testenv/emulator"
	"github.com/pipectl/pipectl/workflows"
)

var updateHistories = flag.Bool("update-histories", false, "record runs into workflows/testdata/histories for the replay tests")

// historiesDir holds the recorded histories workflows' replay test replays.
var historiesDir = filepath.Join("..", "workflows", "testdata", "histories")

const demoSpec = "../examples/pipelines/demo.yaml"

// startStack starts a stack for a test and stops it when the test ends.
// The emulator's rate limits are off: the tests poll faster than a real
// user may (the scale tests run thousands of steps), and a 429 they did
// not ask for would only make them slower.
func startStack(t *testing.T, opts testenv.StackOptions) *testenv.Stack {
	t.Helper()
	if opts.JobDuration == 0 {
		opts.JobDuration = 600 * time.Millisecond
	}
	opts.DisableRateLimits = true
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	st, err := testenv.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(st.Stop)
	return st
}

// pipectl runs the command line in-process against the stack.
func pipectl(t *testing.T, st *testenv.Stack, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--address", st.Server.FrontendAddr())
	code = cli.Main(t.Context(), args, cli.IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	t.Logf("pipectl %s: exit %d\n%s", strings.Join(args, " "), code, errOut.String())
	return code, out.String(), errOut.String()
}

func compileDemo(t *testing.T) *planner.Plan {
	t.Helper()
	p, diags := spec.LoadFile(demoSpec)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan, diags := planner.Compile(p)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return plan
}

// jobsByStep maps each step of plan to the emulator's DLI jobs running its
// SQL, recognised by its first line (the rest may hold templates).
func jobsByStep(t *testing.T, plan *planner.Plan, em *emulator.Emulator) map[string][]emulator.DLIJob {
	t.Helper()
	out := map[string][]emulator.DLIJob{}
	for _, s := range plan.Steps {
		var in struct{ SQL string }
		if err := json.Unmarshal(s.With, &in); err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(in.SQL, "\n")
		for _, j := range em.DLIJobs() {
			if strings.HasPrefix(j.SQL, first+"\n") {
				out[s.ID] = append(out[s.ID], j)
			}
		}
	}
	return out
}

var runIDRE = regexp.MustCompile(`started run (\S+) of pipeline`)

func TestDemoPipelineEndToEnd(t *testing.T) {
	st := startStack(t, testenv.StackOptions{})
	plan := compileDemo(t)

	code, _, stderr := pipectl(t, st, "apply", demoSpec, "--wait")
	if code != 0 {
		t.Fatalf("apply exited %d", code)
	}
	if !strings.Contains(stderr, "pipeline daily-orders succeeded") {
		t.Errorf("no success line in output")
	}
	jobs := jobsByStep(t, plan, st.Emulator)
	// Templates were evaluated in the run: yesterday's date and the param.
	yesterday := time.Now().UTC().Add(-24 * time.Hour).Format("2006-01-02")
	if sql := jobs["load_orders"][0].SQL; !strings.Contains(sql, "order_date = '"+yesterday+"'") {
		t.Errorf("load_orders SQL has no date of yesterday (%s):\n%s", yesterday, sql)
	}
	if sql := jobs["top_customers"][0].SQL; !strings.Contains(sql, "LIMIT 100") {
		t.Errorf("top_customers SQL did not get the top_n param:\n%s", sql)
	}
	for _, s := range plan.Steps {
		js := jobs[s.ID]
		if len(js) != 1 {
			t.Fatalf("step %s has %d jobs, want exactly 1", s.ID, len(js))
		}
		if js[0].Status != "FINISHED" || js[0].ProjectID != "dev-project" || js[0].Tags["pipectl-key"] == "" {
			t.Errorf("step %s job: %+v", s.ID, js[0])
		}
		if !strings.Contains(stderr, js[0].ID) {
			t.Errorf("live display never showed job id %s of step %s", js[0].ID, s.ID)
		}
		// Dependency order: a job starts only after every job it depends
		// on has finished.
		for _, dep := range s.DependsOn {
			if js[0].SubmittedAt.Before(jobs[dep][0].EndedAt) {
				t.Errorf("step %s submitted at %s, before its dependency %s ended at %s",
					s.ID, js[0].SubmittedAt.Format(time.StampMilli), dep, jobs[dep][0].EndedAt.Format(time.StampMilli))
			}
		}
	}
	// The two middle steps run in parallel.
	a, b := jobs["revenue_by_region"][0], jobs["top_customers"][0]
	if a.SubmittedAt.After(b.EndedAt) || b.SubmittedAt.After(a.EndedAt) {
		t.Errorf("revenue_by_region and top_customers did not overlap")
	}

	m := runIDRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatal("no run id in output")
	}
	keepHistory(t, "demo.json", fetchHistory(t, st.Client, m[1]))
}

func TestFailingJobFailsTheRunNamingTheStep(t *testing.T) {
	st := startStack(t, testenv.StackOptions{JobDuration: 5 * time.Second})
	const msg = "Table or view not found: sales.orders_clean"
	st.Emulator.AddRule(emulator.Rule{Match: "INSERT OVERWRITE TABLE sales.orders_clean", Duration: 200 * time.Millisecond})
	st.Emulator.AddRule(emulator.Rule{Match: "sales.top_customers\n", Duration: 300 * time.Millisecond, FailMessage: msg})
	plan := compileDemo(t)

	code, _, stderr := pipectl(t, st, "apply", demoSpec, "--wait")
	if code != 1 {
		t.Fatalf("apply exited %d, want 1", code)
	}
	jobs := jobsByStep(t, plan, st.Emulator)
	// retry.max_attempts: 2 runs the failed job once more, then gives up.
	failed := jobs["top_customers"]
	if len(failed) != 2 || failed[0].Status != "FAILED" || failed[1].Status != "FAILED" || failed[0].Tags["pipectl-key"] == failed[1].Tags["pipectl-key"] {
		t.Fatalf("top_customers jobs: %+v, want two FAILED runs with their own keys", failed)
	}
	last := failed[1]
	want := "step top_customers (job " + last.ID + ") failed: job " + last.ID + " ended FAILED: " + msg
	if !strings.Contains(stderr, want) {
		t.Errorf("output does not name the step and the service's message; want a line with\n%s", want)
	}
	// The sibling still running is stopped, and nothing downstream starts.
	if sib := jobs["revenue_by_region"]; len(sib) != 1 || sib[0].Status != "CANCELLED" {
		t.Errorf("revenue_by_region jobs: %+v, want one CANCELLED", sib)
	}
	if n := len(jobs["publish_report"]); n != 0 {
		t.Errorf("publish_report ran %d jobs after a failure", n)
	}
	m := runIDRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatal("no run id in output")
	}
	keepHistory(t, "failed-step.json", fetchHistory(t, st.Client, m[1]))
}

func TestInvalidSpecIsRejectedBeforeAnythingRuns(t *testing.T) {
	st := startStack(t, testenv.StackOptions{})
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	src := "name: bad\nsteps:\n  - id: a\n    kind: dli.sq\n    with: {sql: select 1}\n"
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := pipectl(t, st, "apply", bad, "--wait")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if want := bad + `:4:11: error: steps[0].kind: Unknown step kind`; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q", want)
	}
	if !strings.Contains(stderr, `Did you mean "dli.sql"?`) {
		t.Errorf("no suggestion in output")
	}
	if n := len(st.Emulator.DLIJobs()); n != 0 {
		t.Errorf("%d jobs submitted for an invalid spec", n)
	}
}

func TestDBFileKeepsRunsAcrossRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "temporal.db")
	st := startStack(t, testenv.StackOptions{DBFile: db})
	code, _, stderr := pipectl(t, st, "apply", demoSpec, "--wait", "--id", "kept-run")
	if code != 0 {
		t.Fatalf("apply exited %d: %s", code, stderr)
	}
	st.Stop()

	st2 := startStack(t, testenv.StackOptions{DBFile: db})
	desc, err := st2.Client.DescribeWorkflowExecution(t.Context(), "kept-run", "")
	if err != nil {
		t.Fatalf("run is gone after restart: %v", err)
	}
	if got := desc.WorkflowExecutionInfo.Status.String(); got != "Completed" {
		t.Errorf("status after restart = %s, want Completed", got)
	}
	sa := desc.WorkflowExecutionInfo.SearchAttributes.GetIndexedFields()[workflows.SearchAttrPipelineName]
	if sa == nil || !strings.Contains(string(sa.GetData()), "daily-orders") {
		t.Errorf("search attribute %s = %v", workflows.SearchAttrPipelineName, sa)
	}
}

func TestBusyPortIsAClearError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = devserver.Start(devserver.Options{FrontendPort: port, Logger: slog.New(slog.DiscardHandler)})
	if !testenv.IsPortInUse(err) || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("error = %v, want a port-in-use error", err)
	}
}

// A port found free but taken by another process before the server
// listens on it fails that start attempt (the server's Fatal, which would
// exit the process, and a nil listener used next) and is retried on other
// ports.
func TestPortTakenWhileStartingIsRetried(t *testing.T) {
	for i, name := range []string{"frontend", "frontend HTTP", "history"} {
		t.Run(name, func(t *testing.T) {
			var taken int
			var logs bytes.Buffer
			srv, err := devserver.Start(devserver.Options{
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				BeforeListen: func(ports []int) {
					if taken != 0 {
						return
					}
					taken = ports[i]
					l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(taken)))
					if err != nil {
						t.Errorf("taking port %d: %v", taken, err)
						return
					}
					t.Cleanup(func() { l.Close() })
				},
			})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			defer srv.Stop()
			if !strings.Contains(logs.String(), "a port was taken while the Temporal server started") {
				t.Errorf("no retry warning logged; logs:\n%s", logs.String())
			}
			if srv.FrontendAddr() == net.JoinHostPort("127.0.0.1", strconv.Itoa(taken)) {
				t.Errorf("frontend serves on the port that was taken, %d", taken)
			}
			c, err := client.Dial(client.Options{HostPort: srv.FrontendAddr(), Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.CheckHealth(t.Context(), &client.CheckHealthRequest{}); err != nil {
				t.Errorf("health check: %v", err)
			}
		})
	}
}

func TestWebUIServes(t *testing.T) {
	srv, err := devserver.Start(devserver.Options{UIPort: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	resp, err := http.Get("http://" + srv.UIAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("<html")) {
		t.Errorf("GET / = %d, %d bytes; want the UI's HTML page", resp.StatusCode, len(body))
	}
}

func fetchHistory(t *testing.T, c client.Client, id string) *historypb.History {
	t.Helper()
	return fetchRunHistory(t, c, id, "")
}

// fetchRunHistory returns the history of one run of workflow id (the
// latest with runID empty).
func fetchRunHistory(t *testing.T, c client.Client, id, runID string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(t.Context(), id, runID, false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}

// replay checks that the current workflow code replays a history it just
// produced: a cheap guard against non-determinism between the first
// execution and a worker restart.
func replay(t *testing.T, h *historypb.History) {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.Pipeline, workflow.RegisterOptions{Name: workflows.PipelineWorkflow})
	r.RegisterWorkflowWithOptions(workflows.Items, workflow.RegisterOptions{Name: workflows.ItemsWorkflow})
	if err := r.ReplayWorkflowHistory(nil, h); err != nil {
		t.Fatalf("replay: %v", err)
	}
}

// keepHistory replays h and, with -update-histories, records it as name
// in historiesDir for the replay test of the workflows package.
func keepHistory(t *testing.T, name string, h *historypb.History) {
	t.Helper()
	replay(t, h)
	if *updateHistories {
		writeHistory(t, filepath.Join(historiesDir, name), h)
	}
}

func writeHistory(t *testing.T, path string, h *historypb.History) {
	t.Helper()
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events into %s", len(h.Events), path)
}

const subParentSpec = `name: sub-parent
defaults:
  poll: {interval: 200ms, max_interval: 1s}
steps:
  - id: extract
    kind: dli.sql
    with: {sql: "SELECT 'extract'"}
  - id: load
    kind: pipeline
    retry: {max_attempts: 2, initial_interval: 1s}
    with:
      spec: lib/child.yaml
      params:
        source: ${steps.extract.outputs.job_id}
        day: ${formatdate("YYYY-MM-DD", run.logical_time)}
  - id: report
    kind: dli.sql
    with:
      sql: "SELECT 'report', '${steps.load.outputs.copy.job_id}', '${steps.load.outputs.status}'"
`

const subChildSpec = `name: sub-child
params:
  source: {type: string}
  day: {type: string}
defaults:
  poll: {interval: 200ms, max_interval: 1s}
steps:
  - id: copy
    kind: dli.sql
    with: {sql: "INSERT INTO t SELECT 'copy', '${params.source}', '${params.day}', '${run.logical_time}'"}
  - id: verify
    kind: dli.sql
    with: {sql: "SELECT 'verify', '${steps.copy.outputs.job_id}'"}
`

// TestSubPipelineEndToEnd runs a pipeline step: the referenced spec runs as
// a child workflow whose jobs run on the emulator with the parameters the
// parent gave it, from an upstream step's output and the parent's logical
// time. Its first run fails, so the step's retry runs it again as a new
// child; the step after reads the second child's outputs. It records the
// parent's history and the child's that succeeded.
func TestSubPipelineEndToEnd(t *testing.T) {
	st := startStack(t, testenv.StackOptions{JobDuration: 200 * time.Millisecond})
	st.Emulator.AddRule(emulator.Rule{Service: emulator.DLI, Match: "SELECT 'verify'", FailMessage: "row count mismatch", FailFirst: 1})
	dir := t.TempDir()
	for name, src := range map[string]string{"parent.yaml": subParentSpec, "lib/child.yaml": subChildSpec} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	parent := filepath.Join(dir, "parent.yaml")

	code, out, _ := pipectl(t, st, "plan", parent, "--offline")
	if code != 0 || !strings.Contains(out, "runs pipeline sub-child (2 steps, "+filepath.Join(dir, "lib", "child.yaml")+")") {
		t.Errorf("plan: exit %d, no sub-pipeline in\n%s", code, out)
	}
	code, _, stderr := pipectl(t, st, "apply", parent, "--wait")
	if code != 0 || !strings.Contains(stderr, "pipeline sub-parent succeeded") {
		t.Fatalf("apply exited %d", code)
	}
	m := runIDRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatal("no run id in the output")
	}
	id := m[1]
	var status workflows.Status
	if err := st.Client.GetWorkflow(t.Context(), id, "").Get(t.Context(), &status); err != nil {
		t.Fatal(err)
	}

	// The children's jobs ran on the emulator with the parent's values.
	extract := dliJobsWith(st.Emulator, "SELECT 'extract'")
	copies := dliJobsWith(st.Emulator, "SELECT 'copy'")
	verifies := dliJobsWith(st.Emulator, "SELECT 'verify'")
	reports := dliJobsWith(st.Emulator, "SELECT 'report'")
	if len(extract) != 1 || len(copies) != 2 || len(verifies) != 2 || len(reports) != 1 {
		t.Fatalf("jobs: %d extract, %d copy, %d verify, %d report; want 1, 2 (one per child run), 2, 1",
			len(extract), len(copies), len(verifies), len(reports))
	}
	day := status.LogicalTime.UTC().Format("2006-01-02")
	lt := status.LogicalTime.UTC().Format(time.RFC3339)
	for _, c := range copies {
		if want := "'" + extract[0].ID + "', '" + day + "', '" + lt + "'"; !strings.Contains(c.SQL, want) {
			t.Errorf("copy ran %q, want the extract job, the day and the parent's logical time: %s", c.SQL, want)
		}
	}
	if copies[0].Tags["pipectl-key"] == copies[1].Tags["pipectl-key"] {
		t.Error("the two child runs' copy jobs share an idempotency key")
	}
	if verifies[0].Status != "FAILED" || verifies[1].Status != "FINISHED" {
		t.Errorf("verify jobs %s then %s, want FAILED then FINISHED", verifies[0].Status, verifies[1].Status)
	}
	// The parent read the second child's outputs.
	if want := "'" + copies[1].ID + "', 'succeeded'"; !strings.Contains(reports[0].SQL, want) {
		t.Errorf("report ran %q, want %s", reports[0].SQL, want)
	}
	var load workflows.StepStatus
	for _, s := range status.Steps {
		if s.ID == "load" {
			load = s
		}
	}
	outCopy, _ := load.Outputs["copy"].(map[string]any)
	if load.State != workflows.StepSucceeded || load.Attempt != 2 || outCopy["job_id"] != copies[1].ID || load.Outputs["status"] != "succeeded" {
		t.Errorf("load step: %s, attempt %d, outputs %v", load.State, load.Attempt, load.Outputs)
	}

	// The children are pipeline runs of their own, started by the parent.
	desc, err := st.Client.DescribeWorkflowExecution(t.Context(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	firstRunID := desc.WorkflowExecutionInfo.Execution.RunId
	childID := "sub-parent/" + firstRunID + "/load/pipeline"
	if load.JobID != childID+"/attempt-2" {
		t.Errorf("load step's job %q, want the second child, %s/attempt-2", load.JobID, childID)
	}
	for cid, want := range map[string]string{childID: "Failed", childID + "/attempt-2": "Completed"} {
		cd, err := st.Client.DescribeWorkflowExecution(t.Context(), cid, "")
		if err != nil {
			t.Errorf("child %s: %v", cid, err)
			continue
		}
		info := cd.WorkflowExecutionInfo
		if info.Status.String() != want || info.ParentExecution.GetWorkflowId() != id {
			t.Errorf("child %s: %s, parent %v; want %s under %s", cid, info.Status, info.ParentExecution, want, id)
		}
		sa := info.SearchAttributes.GetIndexedFields()
		if !strings.Contains(string(sa[workflows.SearchAttrPipelineName].GetData()), "sub-child") ||
			!strings.Contains(string(sa[workflows.SearchAttrTriggerName].GetData()), workflows.TriggerParent) {
			t.Errorf("child %s search attributes %v", cid, sa)
		}
	}
	code, out, _ = pipectl(t, st, "describe", "run", childID+"/attempt-2")
	if code != 0 || !strings.Contains(out, "verify") || !strings.Contains(out, verifies[1].ID) {
		t.Errorf("describe run of the child: exit %d\n%s", code, out)
	}

	keepHistory(t, "sub-pipeline.json", fetchHistory(t, st.Client, id))
	keepHistory(t, "sub-pipeline.child.json", fetchHistory(t, st.Client, childID+"/attempt-2"))
}

// TestSubPipelineProblemsShowInTheirFile checks that validate shows a
// problem in a sub-pipeline's spec in that file, with its line.
func TestSubPipelineProblemsShowInTheirFile(t *testing.T) {
	dir := t.TempDir()
	parent := filepath.Join(dir, "parent.yaml")
	child := filepath.Join(dir, "child.yaml")
	if err := os.WriteFile(parent, []byte("name: p\nsteps:\n  - {id: sub, kind: pipeline, with: {spec: child.yaml}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(child, []byte("name: c\nsteps:\n  - id: a\n    kind: dli.sq\n    with: {sql: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := cli.Main(t.Context(), []string{"validate", parent}, cli.IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	if code != 1 {
		t.Errorf("validate exited %d, want 1", code)
	}
	for _, want := range []string{
		child + ":4:11: error: steps[0].kind: Unknown step kind\n  4 |     kind: dli.sq\n",
		parent + ":3:44: error: steps[0].with.spec: Invalid sub-pipeline\n  3 |   - {id: sub, kind: pipeline, with: {spec: child.yaml}}\n",
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("validate output lacks\n%s\n in:\n%s", want, errOut.String())
		}
	}
}
