package testenv_test

// Fault tests: pipelines run to the end, and start every external job
// exactly once, while what is around them fails. A worker process is
// killed mid-run; the services answer 5xx, 429 (with Retry-After), slowly,
// or lose the response of a submit that did create the job; the Temporal
// server restarts on its SQLite file; the emulator restarts from its state
// file. Each test checks, through the emulator's introspection, that every
// step ran one job, of its first attempt, that no job was created twice,
// that every run ended as expected and that nothing is left running.

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/dli"
	"github.com/pipectl/pipectl/internal/engine"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/testenv/devserver"
	"github.com/pipectl/pipectl/testenv/emulator"
	"github.com/pipectl/pipectl/workflows"
)

// faultStep is one dli.sql step of a generated pipeline.
type faultStep struct {
	id   string
	deps []string
}

// twentySteps is a root, eight parallel branches of two chained steps
// (bN_load, then bN_agg), two joins of four branches each and a final
// step: 20 steps in five waves.
func twentySteps() []faultStep {
	steps := []faultStep{{id: "root"}}
	for i := 1; i <= 8; i++ {
		steps = append(steps, faultStep{id: fmt.Sprintf("b%d_load", i), deps: []string{"root"}})
	}
	var aggs []string
	for i := 1; i <= 8; i++ {
		id := fmt.Sprintf("b%d_agg", i)
		aggs = append(aggs, id)
		steps = append(steps, faultStep{id: id, deps: []string{fmt.Sprintf("b%d_load", i)}})
	}
	return append(steps,
		faultStep{id: "join_a", deps: aggs[:4]},
		faultStep{id: "join_b", deps: aggs[4:]},
		faultStep{id: "publish", deps: []string{"join_a", "join_b"}})
}

// stepSQL is a generated step's statement. It names the pipeline and the
// step, so every emulator job maps back to the one step that ran it.
func stepSQL(pipeline, step string) string {
	return fmt.Sprintf("SELECT '%s/%s'", pipeline, step)
}

// faultPlan compiles a pipeline of dli.sql steps. Polls and retries of
// transient errors are quick, so the tests spend their time on faults:
// status checks every 200ms, doubling up to pollMax.
func faultPlan(t *testing.T, name string, steps []faultStep, pollMax time.Duration) *planner.Plan {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n", name)
	b.WriteString("defaults:\n")
	b.WriteString("  retry: {initial_interval: 200ms, max_interval: 1s}\n")
	fmt.Fprintf(&b, "  poll: {interval: 200ms, max_interval: %s}\n", pollMax)
	b.WriteString("  timeout: 3m\n")
	b.WriteString("steps:\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "  - id: %s\n    kind: dli.sql\n", s.id)
		if len(s.deps) > 0 {
			fmt.Fprintf(&b, "    depends_on: [%s]\n", strings.Join(s.deps, ", "))
		}
		fmt.Fprintf(&b, "    with: {sql: %q}\n", stepSQL(name, s.id))
	}
	p, diags := spec.Load(name+".yaml", []byte(b.String()))
	if diags.HasErrors() {
		t.Fatalf("%s\n%s", diags, b.String())
	}
	plan, diags := planner.Compile(p)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return plan
}

// startFaultRun starts a run of plan as `pipectl apply` does.
func startFaultRun(ctx context.Context, c client.Client, plan *planner.Plan) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       plan.Pipeline + "-run",
		TaskQueue:                                workflows.TaskQueue,
		TypedSearchAttributes:                    workflows.RunSearchAttributes(plan.Pipeline, plan.SpecHash, workflows.TriggerApply),
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.PipelineWorkflow, plan)
}

// faultRun is a run and how it ended.
type faultRun struct {
	plan   *planner.Plan
	run    client.WorkflowRun
	status *workflows.Status
	err    error
}

// awaitRun waits for the run to close and returns its result. It polls
// DescribeWorkflowExecution rather than long-polling the result, so a
// server that goes away and comes back is waited for too. It does not call
// t.Fatal, so that goroutines may use it.
func awaitRun(ctx context.Context, c client.Client, run client.WorkflowRun, timeout time.Duration) (*workflows.Status, error) {
	deadline := time.Now().Add(timeout)
	for {
		d, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		if err == nil && d.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("run %s still running after %s; %s", run.GetID(), timeout, pendingSummary(d, err))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	var st workflows.Status
	if err := run.Get(ctx, &st); err != nil {
		return nil, fmt.Errorf("run %s: %w", run.GetID(), err)
	}
	return &st, nil
}

// pendingSummary says what a run still waits for, for failure messages.
func pendingSummary(d *workflowservice.DescribeWorkflowExecutionResponse, err error) string {
	if err != nil {
		return "describe: " + err.Error()
	}
	var parts []string
	for _, a := range d.GetPendingActivities() {
		parts = append(parts, fmt.Sprintf("%s %s attempt %d (last failure: %s)", a.GetActivityType().GetName(), a.GetState(), a.GetAttempt(), a.GetLastFailure().GetMessage()))
	}
	return fmt.Sprintf("%d pending activities: %s", len(parts), strings.Join(parts, "; "))
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jobsOf returns the emulator's jobs of the steps named, by step.
func jobsOf(em *emulator.Emulator, pipeline string, ids ...string) map[string][]emulator.DLIJob {
	out := map[string][]emulator.DLIJob{}
	for _, j := range em.DLIJobs() {
		for _, id := range ids {
			if j.SQL == stepSQL(pipeline, id) {
				out[id] = append(out[id], j)
			}
		}
	}
	return out
}

func running(j emulator.DLIJob) bool { return j.Status == "LAUNCHING" || j.Status == "RUNNING" }

// checkExactlyOnce checks runs against the emulator: each run closed
// successfully with nothing pending; each step succeeded on its first
// attempt with exactly one job, FINISHED, tagged with the idempotency key
// of that run, step and attempt, the job the run reports, submitted after
// the jobs of its dependencies ended; and the emulator holds no other job
// and nothing still running.
func checkExactlyOnce(t *testing.T, c client.Client, em *emulator.Emulator, runs []faultRun) {
	t.Helper()
	all := em.DLIJobs()
	bySQL := map[string][]emulator.DLIJob{}
	for _, j := range all {
		bySQL[j.SQL] = append(bySQL[j.SQL], j)
		if running(j) {
			t.Errorf("job %s (%s) is still %s", j.ID, j.SQL, j.Status)
		}
	}
	steps := 0
	for _, r := range runs {
		steps += len(r.plan.Steps)
		id, runID := r.run.GetID(), r.run.GetRunID()
		if r.err != nil {
			t.Errorf("run %s: %v", id, r.err)
			continue
		}
		d, err := c.DescribeWorkflowExecution(t.Context(), id, runID)
		if err != nil {
			t.Errorf("describe %s: %v", id, err)
		} else if s := d.WorkflowExecutionInfo.GetStatus(); s != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED || len(d.PendingActivities) > 0 {
			t.Errorf("run %s is %s with %d pending activities, want completed with none", id, s, len(d.PendingActivities))
		}
		if r.status.State != workflows.RunSucceeded {
			t.Errorf("run %s ended %s, want %s", id, r.status.State, workflows.RunSucceeded)
		}
		runKey := id + "/" + runID
		byStep := map[string]emulator.DLIJob{}
		for _, s := range r.plan.Steps {
			i := slices.IndexFunc(r.status.Steps, func(x workflows.StepStatus) bool { return x.ID == s.ID })
			if i < 0 {
				t.Errorf("%s: step %s is not in the run's status", id, s.ID)
				continue
			}
			ss := r.status.Steps[i]
			if ss.State != workflows.StepSucceeded || ss.Attempt != 1 {
				t.Errorf("%s step %s: %s on attempt %d (%s), want succeeded on attempt 1", id, s.ID, ss.State, ss.Attempt, ss.Error)
			}
			jobs := bySQL[stepSQL(r.plan.Pipeline, s.ID)]
			if len(jobs) != 1 {
				t.Errorf("%s step %s ran %d jobs, want exactly 1: %+v", id, s.ID, len(jobs), jobs)
				continue
			}
			j := jobs[0]
			byStep[s.ID] = j
			key := activities.StepRequest{RunKey: runKey, StepID: s.ID, Attempt: 1}.IdempotencyKey()
			if j.Tags[dli.TagKey] != key {
				t.Errorf("%s step %s: job %s has key %q, want %q (this run, attempt 1)", id, s.ID, j.ID, j.Tags[dli.TagKey], key)
			}
			if j.ID != ss.JobID || j.Status != "FINISHED" || j.ProjectID != testenv.DevProjectID {
				t.Errorf("%s step %s: job %s %s in %s; the run reports job %s", id, s.ID, j.ID, j.Status, j.ProjectID, ss.JobID)
			}
		}
		for _, s := range r.plan.Steps {
			for _, dep := range s.DependsOn {
				j, dj := byStep[s.ID], byStep[dep]
				if j.ID != "" && dj.ID != "" && j.SubmittedAt.Before(dj.EndedAt) {
					t.Errorf("%s step %s was submitted before its dependency %s ended", id, s.ID, dep)
				}
			}
		}
	}
	if len(all) != steps {
		t.Errorf("the emulator holds %d jobs for %d steps", len(all), steps)
	}
}

// faultLogger is the logger of the tests' stacks: quiet, or warnings on
// stderr with -v, as startStack's.
func faultLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

// The worker binary is built once per test binary run and removed by
// TestMain.
var workerBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if workerBuild.dir != "" {
		os.RemoveAll(workerBuild.dir)
	}
	os.Exit(code)
}

// workerBinary builds cmd/worker, the production worker.
func workerBinary(t *testing.T) string {
	t.Helper()
	workerBuild.once.Do(func() {
		workerBuild.dir, workerBuild.err = os.MkdirTemp("", "pipectl-worker-")
		if workerBuild.err != nil {
			return
		}
		path := filepath.Join(workerBuild.dir, "worker")
		out, err := exec.Command("go", "build", "-o", path, "../cmd/worker").CombinedOutput()
		if err != nil {
			workerBuild.err = fmt.Errorf("go build ../cmd/worker: %v\n%s", err, out)
			return
		}
		workerBuild.path = path
	})
	if workerBuild.err != nil {
		t.Fatal(workerBuild.err)
	}
	return workerBuild.path
}

// workerProcess is cmd/worker running in a process of its own.
type workerProcess struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startWorkerProcess runs the worker binary against the stack's Temporal
// server and emulator, configured as an operator would: TEMPORAL_* and
// PIPECTL_* variables, logging in as the emulator's dev IAM user. extra
// variables (NAME=VALUE) are added last, so they override those.
func startWorkerProcess(t *testing.T, bin string, st *testenv.Stack, name string, extra ...string) *workerProcess {
	t.Helper()
	dir := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEMPORAL_") && !strings.HasPrefix(kv, "PIPECTL_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"TEMPORAL_ADDRESS="+st.Server.FrontendAddr(),
		"TEMPORAL_NAMESPACE="+devserver.DefaultNamespace,
		// No operator's profile leaks in.
		"TEMPORAL_CONFIG_FILE="+filepath.Join(dir, "none.toml"),
		engine.EnvProjectID+"="+testenv.DevProjectID,
		engine.EnvIAMUser+"="+emulator.DevUserName,
		engine.EnvIAMDomain+"="+emulator.DevDomain,
		engine.EnvIAMPassword+"="+emulator.DevPassword,
	)
	for svc, u := range st.Endpoints {
		env = append(env, engine.EnvEndpointPrefix+strings.ToUpper(svc)+"="+u)
	}
	env = append(env, extra...)
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &workerProcess{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("%s log (tail):\n%s", name, b)
		}
	})
	return p
}

// kill SIGKILLs the process: no shutdown, no goodbye to the server.
func (p *workerProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill worker: %v", err)
	}
	<-p.done
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("worker ended %v, not killed by SIGKILL", p.cmd.ProcessState)
	}
}

// TestFaultWorkerKilled kills the production worker process with SIGKILL
// in the middle of a 20-step run, while some steps poll running jobs and
// one is being submitted, and starts another: the run completes with
// exactly one job per step. The calls the killed worker had in flight are
// lost with it; Temporal runs them again once their start-to-close
// timeout (30 s) has passed, which is most of this test's time.
func TestFaultWorkerKilled(t *testing.T) {
	began := time.Now()
	bin := workerBinary(t)
	st := startStack(t, testenv.StackOptions{NoWorker: true, JobDuration: time.Second})
	const name = "worker-killed"
	// The branches' loads end 500ms apart, so their aggs are submitted
	// one after another while other steps poll.
	for i := 1; i <= 8; i++ {
		st.Emulator.AddRule(emulator.Rule{Match: stepSQL(name, fmt.Sprintf("b%d_load", i)), Duration: 400*time.Millisecond + time.Duration(i)*500*time.Millisecond})
	}
	plan := faultPlan(t, name, twentySteps(), 300*time.Millisecond)
	w1 := startWorkerProcess(t, bin, st, "worker-1")
	run, err := startFaultRun(t.Context(), st.Client, plan)
	if err != nil {
		t.Fatal(err)
	}

	// Mid-run: an agg has its job while loads still run.
	waitFor(t, 60*time.Second, "an agg submitted while loads run", func() bool {
		nAggs, nRunning := 0, 0
		for id, jobs := range jobsOf(st.Emulator, name, stepIDs(plan)...) {
			if strings.HasSuffix(id, "_agg") {
				nAggs += len(jobs)
			}
			if strings.HasSuffix(id, "_load") && running(jobs[0]) {
				nRunning++
			}
		}
		return nAggs >= 1 && nRunning >= 3
	})
	// Hold every submit and status check for seconds, so that the worker
	// surely has both in flight when it dies however slow the machine
	// (unanswered: the emulator drops a delayed request whose client has
	// gone). Loads still run, so their checks go on and their aggs are
	// still to be submitted.
	var slow []int
	for _, route := range []string{"POST /v1.0/{project_id}/jobs/submit-job", "GET /v1.0/{project_id}/jobs/{job_id}/status"} {
		id, err := st.Emulator.AddFault(emulator.Fault{Kind: emulator.FaultLatency, Service: emulator.DLI, Route: route, Latency: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		slow = append(slow, id)
	}
	var inFlight []string
	waitFor(t, 30*time.Second, "a submit and a status check in flight while a job runs", func() bool {
		if !slices.ContainsFunc(st.Emulator.DLIJobs(), running) {
			return false
		}
		d, err := st.Client.DescribeWorkflowExecution(t.Context(), run.GetID(), run.GetRunID())
		if err != nil {
			return false
		}
		inFlight = inFlight[:0]
		submitting, polling := false, false
		for _, a := range d.GetPendingActivities() {
			if a.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED || a.GetActivityType().GetName() != activities.RunName(dli.KindSQL) {
				continue
			}
			// A run activity keeps its job's handle in its heartbeat
			// details: without them it is submitting, with them polling.
			if len(a.GetHeartbeatDetails().GetPayloads()) == 0 {
				submitting = true
				inFlight = append(inFlight, "submit")
			} else {
				polling = true
				inFlight = append(inFlight, "status check")
			}
		}
		return submitting && polling
	})
	w1.kill(t)
	killedAt := time.Now()
	for _, id := range slow {
		st.Emulator.RemoveFault(id)
	}
	atKill := st.Emulator.DLIJobs()
	nRunning := 0
	for _, j := range atKill {
		if running(j) {
			nRunning++
		}
	}
	t.Logf("killed worker-1 at %s: %d jobs submitted, %d of them running; calls in flight: %s",
		killedAt.Sub(began).Round(time.Millisecond), len(atKill), nRunning, strings.Join(inFlight, ", "))
	if len(atKill) >= len(plan.Steps) {
		t.Fatalf("every job was submitted before the kill: it proves nothing")
	}

	// Nothing runs the pipeline for a while; jobs go on in the service.
	time.Sleep(time.Second)
	startWorkerProcess(t, bin, st, "worker-2")
	status, err := awaitRun(t.Context(), st.Client, run, 2*time.Minute)
	t.Logf("the run ended %s after the kill", time.Since(killedAt).Round(time.Millisecond))
	checkExactlyOnce(t, st.Client, st.Emulator, []faultRun{{plan: plan, run: run, status: status, err: err}})

	// The calls lost with the worker were run again, after their timeout,
	// and still made one job each.
	lost := lostCalls(t, st.Client, run)
	t.Logf("calls lost with the worker and run again: %s", strings.Join(lost, ", "))
	if !slices.Contains(lost, activities.RunName(dli.KindSQL)) {
		t.Errorf("no call was lost with the worker and run again: the kill did not hit one in flight")
	}
	t.Logf("took %s", time.Since(began).Round(time.Millisecond))
}

// stepIDs lists the plan's step ids.
func stepIDs(plan *planner.Plan) []string {
	var ids []string
	for _, s := range plan.Steps {
		ids = append(ids, s.ID)
	}
	return ids
}

// lostCalls lists the activities of the run whose last attempt was a
// retry after the previous attempt timed out start-to-close: a call lost
// with its worker.
func lostCalls(t *testing.T, c client.Client, run client.WorkflowRun) []string {
	t.Helper()
	types := map[int64]string{}
	var lost []string
	for _, e := range fetchHistory(t, c, run.GetID()).GetEvents() {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			types[e.GetEventId()] = a.GetActivityType().GetName()
		}
		a := e.GetActivityTaskStartedEventAttributes()
		if a == nil || a.GetAttempt() < 2 {
			continue
		}
		if ti := a.GetLastFailure().GetTimeoutFailureInfo(); ti != nil && ti.GetTimeoutType() == enumspb.TIMEOUT_TYPE_START_TO_CLOSE {
			lost = append(lost, types[a.GetScheduledEventId()])
		}
	}
	return lost
}

// requestLog records the emulator's requests from its debug log.
type requestLog struct {
	mu   sync.Mutex
	reqs []loggedRequest
}

type loggedRequest struct {
	at           time.Time
	method, path string
	status       int
}

// captureHandler passes records on to next and records the emulator's
// "emulator request" records (it knows the emulator's by their component
// attribute, which the stack adds with Logger.With).
type captureHandler struct {
	log      *requestLog
	next     slog.Handler
	emulator bool
}

func (h captureHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.emulator || h.next.Enabled(ctx, l)
}

func (h captureHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.emulator && r.Message == "emulator request" {
		req := loggedRequest{at: time.Now()}
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "method":
				req.method = a.Value.String()
			case "path":
				req.path = a.Value.String()
			case "status":
				req.status = int(a.Value.Int64())
			}
			return true
		})
		h.log.mu.Lock()
		h.log.reqs = append(h.log.reqs, req)
		h.log.mu.Unlock()
		return nil
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	e := h.emulator
	for _, a := range as {
		if a.Key == "component" && a.Value.String() == "emulator" {
			e = true
		}
	}
	return captureHandler{log: h.log, next: h.next.WithAttrs(as), emulator: e}
}

func (h captureHandler) WithGroup(name string) slog.Handler {
	return captureHandler{log: h.log, next: h.next.WithGroup(name), emulator: h.emulator}
}

// TestFaultFlakyServices runs 30 small pipelines, 15 at a time, while DLI
// answers 20% of requests with 503 and 2% with 429 (Retry-After: 1), plus
// three bursts of 429 to every request, delays 30% of requests, and loses
// the response of 10% of the submits, which did create their job. Every
// run completes with exactly one job per step, and a status check
// answered 429 is not repeated before its Retry-After.
//
// A step gives up after 20 transient failures of a call (workflows'
// transientAttempts), and a submit attempt makes two calls (find by tag,
// then submit): under these rates a step fails that way with p ≈ 5e-9,
// negligible over the test's 90 steps.
func TestFaultFlakyServices(t *testing.T) {
	began := time.Now()
	reqs := &requestLog{}
	logger := slog.New(captureHandler{log: reqs, next: faultLogger().Handler()})
	// Rate limits off: the 429s this test counts are the injected ones.
	st, err := testenv.Start(t.Context(), testenv.StackOptions{JobDuration: 500 * time.Millisecond, Logger: logger, DisableRateLimits: true, RateLimits: testenv.NoRateLimits()})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(st.Stop)
	em := st.Emulator
	em.SetFaultSeed(20260301)
	const submitRoute = "POST /v1.0/{project_id}/jobs/submit-job"
	faults := []emulator.Fault{
		{Kind: emulator.FaultLatency, Service: emulator.DLI, Rate: 0.3, Latency: 150 * time.Millisecond},
		{Kind: emulator.FaultResponseLost, Service: emulator.DLI, Route: submitRoute, Rate: 0.1},
		{Kind: emulator.FaultError, Service: emulator.DLI, Rate: 0.2, Status: 503},
		{Kind: emulator.FaultError, Service: emulator.DLI, Rate: 0.02, Status: 429},
	}
	for _, f := range faults {
		if _, err := em.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}

	const n, parallel = 30, 15
	runs := make([]faultRun, n)
	for i := range runs {
		// Polls back off to 300ms at most, well under the 1s of Retry-After:
		// a status check retried after a 429 shows which one it followed.
		runs[i].plan = faultPlan(t, fmt.Sprintf("flaky-%02d", i+1), []faultStep{
			{id: "extract"},
			{id: "transform_a", deps: []string{"extract"}},
			{id: "transform_b", deps: []string{"extract"}},
		}, 300*time.Millisecond)
	}
	// Three bursts of 429: the next 15 DLI requests, whatever they are.
	bursts := make(chan error, 1)
	go func() {
		defer close(bursts)
		for range 3 {
			time.Sleep(1500 * time.Millisecond)
			if _, err := em.AddFault(emulator.Fault{Kind: emulator.FaultError, Service: emulator.DLI, Status: 429, Count: 15}); err != nil {
				bursts <- err
				return
			}
		}
	}()
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range runs {
		r := &runs[i]
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r.run, r.err = startFaultRun(t.Context(), st.Client, r.plan)
			if r.err == nil {
				r.status, r.err = awaitRun(t.Context(), st.Client, r.run, 90*time.Second)
			}
		})
	}
	wg.Wait()
	if err := <-bursts; err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.run == nil {
			t.Fatalf("run of %s not started: %v", r.plan.Pipeline, r.err)
		}
	}
	checkExactlyOnce(t, st.Client, em, runs)

	// Every kind of fault hit.
	hits := map[string]int{}
	for _, f := range em.Faults() {
		k := string(f.Kind)
		switch {
		case f.Kind == emulator.FaultError && f.Count > 0:
			k = "429 burst"
		case f.Kind == emulator.FaultError:
			k += " " + strconv.Itoa(f.Status)
		case f.Route != "":
			k += " on submit"
		}
		hits[k] += f.Hits
	}
	t.Logf("faults hit: %v; %d submit calls for %d jobs", hits, em.Calls()["dli "+submitRoute], len(em.DLIJobs()))
	for _, k := range []string{"latency", "response_lost on submit", "error 503", "error 429", "429 burst"} {
		if hits[k] == 0 {
			t.Errorf("no request met the %s fault", k)
		}
	}

	// Retry-After: a status check answered 429 is repeated no sooner than
	// the second it asks for, although the step's poll.max_interval is
	// 300ms (Temporal lets an activity's NextRetryDelay exceed its retry
	// policy's MaximumInterval); after a 503 the next check comes after
	// the poll interval.
	checked, after429, after503 := 0, time.Duration(0), time.Duration(0)
	for path, pair := range statusRetries(reqs) {
		gap := pair.next.at.Sub(pair.failed.at)
		switch pair.failed.status {
		case 429:
			checked++
			after429 = cmpMin(after429, gap)
			if gap < 900*time.Millisecond {
				t.Errorf("%s answered 429 with Retry-After: 1 was checked again %s later", path, gap.Round(time.Millisecond))
			}
		case 503:
			after503 = cmpMin(after503, gap)
		}
	}
	t.Logf("%d status checks answered 429, the next check at least %s later (after a 503: %s)", checked, after429.Round(time.Millisecond), after503.Round(time.Millisecond))
	if checked == 0 {
		t.Errorf("no status check was answered 429: Retry-After went untested")
	}
	t.Logf("took %s", time.Since(began).Round(time.Millisecond))
}

// retryPair is a request answered with an error and the same request's
// next try.
type retryPair struct{ failed, next loggedRequest }

// statusRetries pairs every status check of a job that failed with the
// next check of the same job, keyed by path and time.
func statusRetries(reqs *requestLog) map[string]retryPair {
	reqs.mu.Lock()
	byPath := map[string][]loggedRequest{}
	for _, r := range reqs.reqs {
		if r.method == "GET" && strings.HasSuffix(r.path, "/status") {
			byPath[r.path] = append(byPath[r.path], r)
		}
	}
	reqs.mu.Unlock()
	out := map[string]retryPair{}
	for path, rs := range byPath {
		slices.SortFunc(rs, func(a, b loggedRequest) int { return a.at.Compare(b.at) })
		for i := 0; i+1 < len(rs); i++ {
			if rs[i].status >= 400 {
				out[fmt.Sprintf("%s@%s", path, rs[i].at.Format(time.StampMilli))] = retryPair{rs[i], rs[i+1]}
			}
		}
	}
	return out
}

// cmpMin is min where 0 means none yet.
func cmpMin(cur, d time.Duration) time.Duration {
	if cur == 0 || d < cur {
		return d
	}
	return cur
}

// TestFaultTemporalRestart stops the Temporal server (on a SQLite file)
// in the middle of a 20-step run and starts it again on the same file and
// frontend port: the worker and client reconnect on their own and the run
// completes with exactly one job per step.
func TestFaultTemporalRestart(t *testing.T) {
	began := time.Now()
	db := filepath.Join(t.TempDir(), "temporal.db")
	st := startStack(t, testenv.StackOptions{DBFile: db, JobDuration: time.Second})
	const name = "temporal-restart"
	plan := faultPlan(t, name, twentySteps(), 300*time.Millisecond)
	run, err := startFaultRun(t.Context(), st.Client, plan)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "loads running", func() bool {
		n := 0
		for _, js := range jobsOf(st.Emulator, name, "b1_load", "b2_load", "b3_load", "b4_load", "b5_load", "b6_load", "b7_load", "b8_load") {
			if running(js[0]) {
				n++
			}
		}
		return n >= 4
	})
	_, portText, err := net.SplitHostPort(st.Server.FrontendAddr())
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portText)
	stopAt := time.Now()
	st.Server.Stop()
	t.Logf("server stopped in %s with %d jobs submitted", time.Since(stopAt).Round(time.Millisecond), len(st.Emulator.DLIJobs()))
	time.Sleep(time.Second)
	srv, err := devserver.Start(devserver.Options{
		FrontendPort:     port,
		DBFile:           db,
		SearchAttributes: workflows.SearchAttributes(),
		Logger:           faultLogger(),
		LogLevel:         slog.LevelError,
	})
	if err != nil {
		t.Fatalf("restart the server: %v", err)
	}
	st.Server = srv // the stack's Stop stops this one
	t.Logf("server back after %s", time.Since(stopAt).Round(time.Millisecond))
	status, err := awaitRun(t.Context(), st.Client, run, 2*time.Minute)
	t.Logf("the run ended %s after the restart began", time.Since(stopAt).Round(time.Millisecond))
	checkExactlyOnce(t, st.Client, st.Emulator, []faultRun{{plan: plan, run: run, status: status, err: err}})
	t.Logf("took %s", time.Since(began).Round(time.Millisecond))
}

// ownEmulator is an emulator a test starts, stops and starts again.
type ownEmulator struct {
	em        *emulator.Emulator
	endpoints map[string]string
	stop      context.CancelFunc
}

// startEmulator opens an emulator (loading opts.StateFile) and serves it
// on ports.
func startEmulator(t *testing.T, opts emulator.Options, ports map[string]int) *ownEmulator {
	t.Helper()
	em, err := emulator.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.WithoutCancel(t.Context()))
	eps, err := em.Start(ctx, "127.0.0.1", ports)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	o := &ownEmulator{em: em, endpoints: eps, stop: stop}
	t.Cleanup(o.shutdown)
	return o
}

// shutdown stops serving and waits until the state is saved.
func (o *ownEmulator) shutdown() {
	o.stop()
	o.em.Wait()
}

// ports are the ports the emulator serves on, by service.
func (o *ownEmulator) ports(t *testing.T) map[string]int {
	t.Helper()
	ports := map[string]int{}
	for svc, u := range o.endpoints {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if ports[svc], err = strconv.Atoi(pu.Port()); err != nil {
			t.Fatal(err)
		}
	}
	return ports
}

// TestFaultEmulatorRestart stops the emulator in the middle of a 20-step
// run, saving its state file, and starts a new one from that file on the
// same ports: the run completes with exactly one job per step.
func TestFaultEmulatorRestart(t *testing.T) {
	began := time.Now()
	st := startStack(t, testenv.StackOptions{NoWorker: true})
	opts := emulator.Options{
		JobDuration:       time.Second,
		StateFile:         filepath.Join(t.TempDir(), "emulator.json"),
		Logger:            faultLogger().With("component", "emulator"),
		DisableRateLimits: true, // as startStack's: the restart is the fault under test
	}
	em1 := startEmulator(t, opts, emulator.Ports(0))
	// A worker in this process, calling this emulator as the stack's would.
	w, err := engine.NewWorker(st.Client, testenv.WorkerConfigFor(em1.endpoints, testenv.NoRateLimits()), worker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	const name = "emulator-restart"
	plan := faultPlan(t, name, twentySteps(), 300*time.Millisecond)
	run, err := startFaultRun(t.Context(), st.Client, plan)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "loads running", func() bool {
		n := 0
		for _, js := range jobsOf(em1.em, name, "b1_load", "b2_load", "b3_load", "b4_load", "b5_load", "b6_load", "b7_load", "b8_load") {
			if running(js[0]) {
				n++
			}
		}
		return n >= 4
	})
	stopAt := time.Now()
	em1.shutdown()
	saved := len(em1.em.DLIJobs())
	em2 := startEmulator(t, opts, em1.ports(t))
	if !maps.Equal(em1.endpoints, em2.endpoints) {
		t.Fatalf("the new emulator serves on %v, not on %v", em2.endpoints, em1.endpoints)
	}
	loaded := len(em2.em.DLIJobs())
	t.Logf("emulator restarted in %s: %d jobs saved, %d loaded", time.Since(stopAt).Round(time.Millisecond), saved, loaded)
	if loaded == 0 || loaded < saved {
		t.Fatalf("the new emulator loaded %d jobs of the %d saved", loaded, saved)
	}
	status, err := awaitRun(t.Context(), st.Client, run, 2*time.Minute)
	t.Logf("the run ended %s after the restart", time.Since(stopAt).Round(time.Millisecond))
	checkExactlyOnce(t, st.Client, em2.em, []faultRun{{plan: plan, run: run, status: status, err: err}})
	if n := len(st.Emulator.DLIJobs()); n != 0 {
		t.Errorf("the stack's own emulator got %d jobs; the worker should call the restarted one only", n)
	}
	t.Logf("took %s", time.Since(began).Round(time.Millisecond))
}
