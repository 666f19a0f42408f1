package workflows

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/planner"
)

// A run's history is bounded: Temporal fails a workflow whose history
// passes 51,200 events or 50 MB. A step costs about a dozen events however
// long its job runs (a submit and a wait, each scheduled, started and
// completed, and the workflow tasks around them), so a run of a few
// thousand steps would not fit. Instead, once its history is long, a run
// stops starting steps, lets the running ones finish, and continues as new:
// a new workflow run, same workflow id, same plan, carrying the status of
// every step (the Continuation). The chain of runs is one pipeline run: the
// status query, signals and cancel address the workflow id, a client's
// Get follows the chain to the last run's result, and the steps' job
// idempotency keys stay those of the first run.
//
// A run drains when the server suggests continuing as new (by default past
// 4 Ki events or 4 MB; GetContinueAsNewSuggested), or when starting one
// more step could take its history past historyEvents, counting the events
// its running steps will still add (their estimated cost). The estimate is
// also what a test environment, which reports no history length, goes by.
const (
	// historyEvents is where a run stops starting steps: well under
	// Temporal's 51,200, leaving room for re-runs, cancels and signals.
	historyEvents = 20_000
	// Estimated events per step: a job (submit and wait, measured at 12
	// in a chain against a real server; one run activity, 6; steps running
	// side by side share workflow tasks and cost fewer: the figure stays
	// at 12, as lowering it would change when runs in flight drain), a
	// timer (wait steps), and a child
	// workflow of a large for_each (start, started, completed and the
	// workflow tasks).
	eventsPerJob   = 12
	eventsPerTimer = 6
	eventsPerChild = 8
	// maxPayloadBytes bounds what the workflow hands Temporal in one
	// payload: the plan and the continuation together (the new run's
	// input), and the run's result. Temporal's limit is 2 MB by default;
	// a run that continues as new with a bigger input is terminated, one
	// that completes with a bigger result fails.
	maxPayloadBytes = 1900 << 10
	// changeContinueAsNew guards draining and continuing as new: a run
	// started by a worker without it never drains, however long its
	// history (it would replay differently otherwise).
	changeContinueAsNew = "continue-as-new"
)

// Continuation is what a run that continues as new hands to the next: the
// state of every step (the DAG's frontier: what finished, how, with which
// outputs, and what waits for an operator) and the pipeline run's own
// state. It holds nothing the history does not hold already: outputs,
// errors and job ids come from activity results, never a credential.
type Continuation struct {
	// RunKey is the first run's key, so that the idempotency keys of the
	// jobs are those of the pipeline run whichever workflow run submits
	// them.
	RunKey      string    `json:"run_key"`
	StartedAt   time.Time `json:"started_at"`
	LogicalTime time.Time `json:"logical_time"`
	// Runs counts the workflow runs before the next one.
	Runs int `json:"runs"`
	// Failed lists the steps whose failure fails the pipeline run, in
	// order (a skip_downstream failure lets the run go on, then fails
	// it); Aborting means one of them stopped the ordinary steps.
	Failed   []string `json:"failed,omitempty"`
	Aborting bool     `json:"aborting,omitempty"`
	// Steps is every step's StepStatus in plan order, as gzipped JSON: a
	// 5,000-step run's statuses are over a megabyte of JSON (a DLI step
	// has six outputs), and they share the payload with the plan. The
	// status query serves them decoded.
	Steps []byte `json:"steps_gz"`
}

// EncodeSteps sets c.Steps.
func (c *Continuation) EncodeSteps(steps []StepStatus) error {
	raw, err := json.Marshal(steps)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(raw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	c.Steps = b.Bytes()
	return nil
}

// DecodeSteps returns the step statuses c carries.
func (c *Continuation) DecodeSteps() ([]StepStatus, error) {
	zr, err := gzip.NewReader(bytes.NewReader(c.Steps))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var steps []StepStatus
	if err := json.Unmarshal(raw, &steps); err != nil {
		return nil, err
	}
	return steps, nil
}

// historyBudget tracks a run's history events against historyEvents.
type historyBudget struct {
	// cost is each running step's estimated events; reserved their sum
	// (what the running steps may still add); spent the sum over every
	// step this run started.
	cost     []int
	reserved int
	spent    int
	// started counts the steps this run started: a run drains only after
	// starting one, so that a chain of runs always makes progress.
	started int
	// version is changeContinueAsNew's version, once asked.
	version  workflow.Version
	asked    bool
	draining bool
	// gaveUp: the run will not continue as new (its state is too big to
	// carry, or it was cancelled) and goes on in its own history.
	gaveUp bool
}

func (b *historyBudget) charge(i, cost int) { b.cost[i] = cost }

func (b *historyBudget) startedStep(i int) {
	b.reserved += b.cost[i]
	b.spent += b.cost[i]
	b.started++
}

func (b *historyBudget) finished(i int) {
	b.reserved -= b.cost[i]
	b.cost[i] = 0
}

func (b *historyBudget) giveUp() {
	b.draining = false
	b.gaveUp = true
}

// projected is how long the run's history will be once its running steps
// finish: the server's count plus their estimated cost, or, where the
// environment reports no count (the SDK's test environment), the
// estimated cost of every step started.
func (r *run) projected(ctx workflow.Context) int {
	if n := workflow.GetInfo(ctx).GetCurrentHistoryLength(); n > 0 {
		return n + r.history.reserved
	}
	return r.history.spent
}

// checkHistory starts draining when the server suggests continuing as new
// or the history is already past the budget.
func (r *run) checkHistory(ctx workflow.Context) {
	b := &r.history
	if b.draining || b.gaveUp || b.started == 0 {
		return
	}
	info := workflow.GetInfo(ctx)
	if info.GetContinueAsNewSuggested() || r.projected(ctx) >= historyEvents {
		r.drain(ctx)
	}
}

// admit reports whether pending step i may start now. It may not while the
// run drains, nor when its cost would take the history past the budget
// (the run then starts draining), unless nothing runs: a step whose cost
// alone exceeds the budget still runs, in a history of its own.
func (r *run) admit(ctx workflow.Context, i, running int) bool {
	b := &r.history
	if b.draining {
		return false
	}
	cost := r.cost(i)
	if running == 0 || b.gaveUp || r.projected(ctx)+cost <= historyEvents {
		b.charge(i, cost)
		return true
	}
	if r.drain(ctx); b.draining {
		return false
	}
	b.charge(i, cost) // a run of an older worker's: it never drains
	return true
}

// drain makes the run start no more steps, so that it can continue as new
// once the running ones finish.
func (r *run) drain(ctx workflow.Context) {
	b := &r.history
	if !b.asked {
		b.version = workflow.GetVersion(ctx, changeContinueAsNew, workflow.DefaultVersion, 1)
		b.asked = true
	}
	if b.version < 1 || b.gaveUp {
		return
	}
	if !b.draining {
		workflow.GetLogger(ctx).Info("history is long: running steps finish, then the run continues as new",
			"history_events", workflow.GetInfo(ctx).GetCurrentHistoryLength(), "suggested", workflow.GetInfo(ctx).GetContinueAsNewSuggested())
	}
	b.draining = true
}

// cost estimates the history events step i adds to this run.
func (r *run) cost(i int) int {
	step := r.plan.Steps[i]
	switch {
	case step.Kind == "wait":
		return eventsPerTimer
	case step.Kind == "pipeline":
		return r.subPipelineCost(step)
	case step.ForEach == nil:
		return eventsPerJob
	}
	n := len(step.ForEach.Items)
	if step.ForEach.Expr != nil {
		items, err := r.evalItems(step)
		if err != nil {
			return 0 // the step fails at once
		}
		n = len(items)
	}
	if n > inlineItems {
		return batches(n)*eventsPerChild + eventsPerTimer // and a version marker
	}
	return n * eventsPerJob
}

// carry returns what the next run needs to resume where this one is, or
// an error if that is too big to hand on.
func (r *run) carry(ctx workflow.Context) (*Continuation, error) {
	c := &Continuation{
		RunKey:      r.runKey,
		StartedAt:   r.status.StartedAt,
		LogicalTime: r.status.LogicalTime,
		Runs:        r.runs + 1,
		Failed:      r.failed,
		Aborting:    r.aborting,
	}
	if err := c.EncodeSteps(r.status.Steps); err != nil {
		return nil, err
	}
	plan, err := json.Marshal(r.input)
	if err != nil {
		return nil, err
	}
	// The steps travel as base64 in the payload's JSON.
	if size := len(plan) + len(c.Steps)*4/3; size > maxPayloadBytes {
		return nil, fmt.Errorf("the plan and the steps' state are %d KiB, over the %d KiB a new run's input may hold", size>>10, maxPayloadBytes>>10)
	}
	done := 0
	for i := range r.status.Steps {
		if r.status.Steps[i].State.Done() {
			done++
		}
	}
	workflow.GetLogger(ctx).Info("continuing as new", "run", r.runs+2, "steps_done", done, "steps", len(r.status.Steps),
		"history_events", workflow.GetInfo(ctx).GetCurrentHistoryLength(), "carried_bytes", len(c.Steps))
	return c, nil
}

// resume restores the state a continued run carries.
func (r *run) resume(c *Continuation) error {
	steps, err := c.DecodeSteps()
	if err != nil {
		return fmt.Errorf("the state carried from the previous run does not decode: %w", err)
	}
	if len(steps) != len(r.plan.Steps) {
		return fmt.Errorf("the state carried from the previous run has %d steps, the plan %d", len(steps), len(r.plan.Steps))
	}
	for i := range steps {
		if steps[i].ID != r.plan.Steps[i].ID {
			return fmt.Errorf("the state carried from the previous run has step %q where the plan has %q", steps[i].ID, r.plan.Steps[i].ID)
		}
		if steps[i].State == StepRunning {
			return errors.New("the state carried from the previous run has step " + steps[i].ID + " running")
		}
	}
	r.status.Steps = steps
	r.status.StartedAt, r.status.LogicalTime = c.StartedAt, c.LogicalTime
	r.runKey = c.RunKey
	r.runs = c.Runs
	r.failed = c.Failed
	r.aborting = c.Aborting
	return nil
}

// CheckPlanSize reports a plan too big to start a run with: Temporal
// refuses a workflow input over its payload limit (2 MB by default) with
// a bare gRPC error, and a plan near it leaves no room to continue as new.
func CheckPlanSize(plan *planner.Plan) error {
	size, err := PlanSize(plan)
	if err != nil {
		return err
	}
	if size > maxPayloadBytes {
		return fmt.Errorf("the compiled plan of pipeline %s is %d KiB, over the %d KiB a run's input may hold (Temporal's payload limit): split the pipeline into sub-pipelines (kind: pipeline), or move long lists into for_each over a parameter", plan.Pipeline, size>>10, maxPayloadBytes>>10)
	}
	return nil
}

// MaxPlanBytes is the largest plan CheckPlanSize lets a run start with.
const MaxPlanBytes = maxPayloadBytes

// PlanSize is how many bytes plan takes in a run's input.
func PlanSize(plan *planner.Plan) (int, error) {
	b, err := json.Marshal(plan)
	if err != nil {
		return 0, fmt.Errorf("encode plan: %w", err)
	}
	return len(b), nil
}
