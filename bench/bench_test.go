//go:build bench

// Package bench_test is pipectl's benchmark suite, run by `make bench`.
//
// Everything runs in one process: the embedded Temporal server, the service
// emulator (zero service latency, no rate limits on DLI) and the worker, as
// testenv.Start assembles them; each benchmark group starts its own stack.
// Benchmarks never assert timings: they report what they measured with
// b.ReportMetric, so that runs can be compared with benchstat, and
// bench/report turns the output into BENCHMARKS.md.
//
// The files carry the build tag "bench" so that `go test ./...` neither
// builds nor links them:
//
//	go test -tags bench -run '^$' -bench . -benchtime=1x ./bench
package bench_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/internal/engine"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/testenv/emulator"
	"github.com/pipectl/pipectl/workflows"
)

// env is one benchmark group's world: the stack, with a worker built as
// the stack builds its own (engine.NewWorker, default options) that also
// runs the hand-written Baseline workflow, so both workflows run on the
// same worker, task queue and registered activities.
type env struct {
	st     *testenv.Stack
	worker *engine.Workers
	seq    atomic.Int64
}

// Temporal server settings that slow a run down on the embedded server,
// and the values the benchmarks use instead, so that the server's pacing
// does not hide what the workflows cost, and jobs and poll intervals
// scaled down behave like real-length ones. BenchmarkServerSettings
// measures the defaults.
//
// timerShiftKey puts a floor under every timer: a timer task due sooner
// than now + this shift (default 1s) fires only then. A poll of a running
// job is a retry of the wait activity, a timer, so with the default a job
// is never polled twice within about a second, whatever its poll
// interval. timerReadsKey and transferReadsKey limit how often a shard
// reads its timer and transfer queues (default 20/s each): a workflow task
// that follows an activity's completion is a transfer task, so a run whose
// steps follow one another waits up to 50ms for each. The embedded server
// has one shard, where a production cluster spreads runs over hundreds.
const (
	timerShiftKey    = "history.timerProcessorMaxTimeShift"
	timerShift       = 5 * time.Millisecond
	timerReadsKey    = "history.timerProcessorMaxPollRPS"
	transferReadsKey = "history.transferProcessorMaxPollRPS"
	queueReads       = 1000
)

// benchServer is the server's dynamic config in every benchmark but
// BenchmarkServerSettings' default cases.
func benchServer() map[string]any {
	return map[string]any{timerShiftKey: timerShift, timerReadsKey: queueReads, transferReadsKey: queueReads}
}

// startEnv starts a stack whose emulated jobs run jobDuration unless a
// rule says otherwise, and stops it when the benchmark ends. The server's
// timers are set as benchServer says.
func startEnv(b *testing.B, jobDuration time.Duration) *env {
	return startEnvWith(b, jobDuration, benchServer())
}

// startEnvWith is startEnv with the server's dynamic config given.
func startEnvWith(b *testing.B, jobDuration time.Duration, dynamicConfig map[string]any) *env {
	b.Helper()
	st, err := testenv.Start(context.Background(), testenv.StackOptions{
		JobDuration:         jobDuration,
		ServerDynamicConfig: dynamicConfig,
		NoWorker:            true,
		RateLimits:          testenv.NoRateLimits(),
		// The benchmarks measure the orchestrator, not the emulator's
		// throttling: their polls would meet its per-API limits.
		DisableRateLimits: true,
	})
	if err != nil {
		b.Fatalf("start stack: %v", err)
	}
	e := &env{st: st}
	b.Cleanup(e.stop)
	w, err := engine.NewWorker(st.Client, st.WorkerConfig(), worker.Options{})
	if err != nil {
		b.Fatalf("worker: %v", err)
	}
	w.Pipeline.RegisterWorkflowWithOptions(Baseline, workflow.RegisterOptions{Name: baselineWorkflow})
	if err := w.Start(); err != nil {
		b.Fatalf("start worker: %v", err)
	}
	e.worker = w
	return e
}

func (e *env) stop() {
	if e.worker != nil {
		e.worker.Stop()
	}
	e.st.Stop()
}

// project returns a fresh project id. Each run submits its jobs in its own
// project, so the emulator's job lookups by tag (every submit does one)
// stay as cheap in the hundredth run as in the first.
func (e *env) project() string {
	return fmt.Sprintf("bench%027x", e.seq.Add(1))
}

// workflowID returns a fresh workflow id with the given prefix.
func (e *env) workflowID(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, e.seq.Add(1))
}

// engineKind says which workflow runs a plan.
type engineKind int

const (
	pipectlEngine  engineKind = iota // workflows.Pipeline, as `pipectl apply` starts it
	baselineEngine                   // the hand-written Baseline
)

func (k engineKind) String() string {
	if k == baselineEngine {
		return "baseline"
	}
	return "pipectl"
}

// runResult is one finished pipeline run.
type runResult struct {
	id      string
	project string
	wall    time.Duration // ExecuteWorkflow to the server's close time
	// cpu is the CPU time the whole process (server, emulator, worker)
	// used from ExecuteWorkflow until the result came.
	cpu time.Duration
	// events is the history length of the pipeline run: every workflow run
	// of its continue-as-new chain and of its child workflows; runs counts
	// those workflow runs.
	events int64
	runs   int
}

// start starts plan, in a project of its own, with the options `pipectl
// apply` uses (the baseline too).
func (e *env) start(ctx context.Context, kind engineKind, plan planner.Plan) (client.WorkflowRun, string, error) {
	plan.Cloud.ProjectID = e.project()
	opts := client.StartWorkflowOptions{
		ID:                                       e.workflowID(kind.String() + "-" + plan.Pipeline),
		TaskQueue:                                workflows.TaskQueue,
		TypedSearchAttributes:                    workflows.RunSearchAttributes(plan.Pipeline, plan.SpecHash, workflows.TriggerApply),
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}
	name := workflows.PipelineWorkflow
	if kind == baselineEngine {
		name = baselineWorkflow
	}
	run, err := e.st.Client.ExecuteWorkflow(ctx, opts, name, plan)
	return run, plan.Cloud.ProjectID, err
}

// run runs plan to its end and fails the benchmark unless it succeeded.
func (e *env) run(b *testing.B, kind engineKind, plan planner.Plan) runResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t0, c0 := time.Now(), cpuTime()
	run, project, err := e.start(ctx, kind, plan)
	if err != nil {
		b.Fatalf("start %s run: %v", kind, err)
	}
	// The first run's id: GetRunID follows the runs Get follows.
	firstRunID := run.GetRunID()
	if err := e.wait(ctx, run); err != nil {
		b.Fatalf("%s run %s of %s: %v", kind, run.GetID(), plan.Pipeline, err)
	}
	cpu := cpuTime() - c0
	r := runResult{id: run.GetID(), project: project, wall: e.closeTime(b, run.GetID()).Sub(t0), cpu: cpu}
	r.events, r.runs = e.countEvents(b, r.id, firstRunID)
	return r
}

// wait waits for run, and the runs it continues as new into, to end, and
// returns its error. It asks the server for the run's status every 50ms
// rather than wait in WorkflowRun.Get, whose long poll wakes on every
// event of the run (CPU the benchmarks would count) and now and then
// hears of the end only when the server's 20s long poll expires
// (BenchmarkLatency/result measures that path). Run times are taken from
// the server's close time (closeTime), not from when wait returns.
func (e *env) wait(ctx context.Context, run client.WorkflowRun) error {
	for {
		desc, err := e.st.Client.DescribeWorkflowExecution(ctx, run.GetID(), "")
		if err != nil {
			return err
		}
		if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return run.Get(ctx, nil)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// closeTime is when the server closed the last run of workflow id.
func (e *env) closeTime(b *testing.B, id string) time.Time {
	b.Helper()
	desc, err := e.st.Client.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		b.Fatalf("describe %s: %v", id, err)
	}
	t := desc.GetWorkflowExecutionInfo().GetCloseTime()
	if t == nil {
		b.Fatalf("run %s has not closed", id)
	}
	return t.AsTime()
}

// countEvents counts the history events of a closed workflow run, of the
// runs it continued as new into, and of the child workflows they started,
// and how many workflow runs that is.
func (e *env) countEvents(b *testing.B, id, runID string) (events int64, runs int) {
	b.Helper()
	for runID != "" {
		runs++
		it := e.st.Client.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		runID = ""
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				b.Fatalf("history of %s: %v", id, err)
			}
			events++
			if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				runID = a.GetNewExecutionRunId()
			}
			if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
				n, r := e.countEvents(b, a.GetWorkflowExecution().GetWorkflowId(), a.GetWorkflowExecution().GetRunId())
				events, runs = events+n, runs+r
			}
		}
	}
	return events, runs
}

// jobs returns the emulator's DLI jobs of one project, in submit order.
func (e *env) jobs(project string) []emulator.DLIJob {
	var out []emulator.DLIJob
	for _, j := range e.st.Emulator.DLIJobs() {
		if j.ProjectID == project {
			out = append(out, j)
		}
	}
	return out
}

// warmUp runs a one-step pipeline on both engines, so that the first
// measured run does not pay for the worker's IAM login, caches and
// connections.
func (e *env) warmUp(b *testing.B) {
	b.Helper()
	plan := compile(b, chainSpec("warmup", 1, fastPoll))
	e.run(b, pipectlEngine, plan)
	e.run(b, baselineEngine, plan)
}

// options are the settings written into a generated spec's defaults.
type options struct {
	pollInterval, pollMax time.Duration // 0: pipectl's defaults (2s, 30s)
}

func (o options) defaults() string {
	var b strings.Builder
	b.WriteString("defaults:\n  timeout: 1h\n")
	if o.pollInterval > 0 {
		fmt.Fprintf(&b, "  poll: {interval: %s, max_interval: %s}\n", o.pollInterval, o.pollMax)
	}
	return b.String()
}

// fastPoll is the polling of the overhead and fan-out benchmarks, whose
// jobs take 50ms: short enough that polling does not dominate a step.
var fastPoll = options{pollInterval: 20 * time.Millisecond, pollMax: 200 * time.Millisecond}

// sqlStep writes one dli.sql step; sql is used as written (no templates,
// so both engines submit exactly the same input).
func sqlStep(b *strings.Builder, id string, deps []string, sql string) {
	fmt.Fprintf(b, "  - id: %s\n    kind: dli.sql\n", id)
	if len(deps) > 0 {
		fmt.Fprintf(b, "    depends_on: [%s]\n", strings.Join(deps, ", "))
	}
	fmt.Fprintf(b, "    with: {queue: etl, sql: %q}\n", sql)
}

func stepID(i int) string { return fmt.Sprintf("s%05d", i) }

// chainSpec is n steps, each depending on the one before.
func chainSpec(name string, n int, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n%ssteps:\n", name, o.defaults())
	for i := range n {
		var deps []string
		if i > 0 {
			deps = []string{stepID(i - 1)}
		}
		sqlStep(&b, stepID(i), deps, fmt.Sprintf("INSERT OVERWRITE TABLE bench.t%05d SELECT * FROM bench.src", i))
	}
	return b.String()
}

// layeredSpec is layers × width steps; every step after the first layer
// depends on 1–3 distinct steps of the layer before, chosen by a PCG
// seeded with seed, so the same arguments always give the same DAG.
func layeredSpec(name string, layers, width int, seed uint64, o options) string {
	rng := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n%ssteps:\n", name, o.defaults())
	for l := range layers {
		for k := range width {
			i := l*width + k
			var deps []string
			if l > 0 {
				for _, j := range rng.Perm(width)[:1+rng.IntN(3)] {
					deps = append(deps, stepID((l-1)*width+j))
				}
				slices.Sort(deps)
			}
			sqlStep(&b, stepID(i), deps, fmt.Sprintf("INSERT OVERWRITE TABLE bench.t%05d SELECT * FROM bench.src", i))
		}
	}
	return b.String()
}

// fanSpec is 1 → n → 1: a first step, n steps that depend on it (or one
// for_each step over n items), and a last step that depends on them all.
func fanSpec(name string, n int, forEach bool, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n%ssteps:\n", name, o.defaults())
	sqlStep(&b, "first", nil, "INSERT OVERWRITE TABLE bench.first SELECT * FROM bench.src")
	var mids []string
	if forEach {
		b.WriteString("  - id: fan\n    kind: dli.sql\n    depends_on: [first]\n    for_each: [")
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "p%05d", i)
		}
		b.WriteString("]\n    with: {queue: etl, sql: \"INSERT OVERWRITE TABLE bench.part PARTITION (p = '${item}') SELECT * FROM bench.src\"}\n")
		mids = []string{"fan"}
	} else {
		for i := range n {
			id := stepID(i)
			sqlStep(&b, id, []string{"first"}, fmt.Sprintf("INSERT OVERWRITE TABLE bench.part PARTITION (p = 'p%05d') SELECT * FROM bench.src", i))
			mids = append(mids, id)
		}
	}
	sqlStep(&b, "last", mids, "INSERT OVERWRITE TABLE bench.last SELECT * FROM bench.part")
	return b.String()
}

// compile loads and compiles a generated spec as `pipectl apply` does.
func compile(b *testing.B, src string) planner.Plan {
	b.Helper()
	p, diags := spec.Load("bench.yaml", []byte(src))
	if diags.HasErrors() {
		b.Fatalf("generated spec does not load: %v", diags)
	}
	plan, diags := planner.Compile(p)
	if diags.HasErrors() {
		b.Fatalf("generated spec does not compile: %v", diags)
	}
	return *plan
}

// percentile returns the p-th percentile (0–100) of ds by nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// waitFor polls cond every 5ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
