// Package workflows holds the Temporal workflow that runs a compiled Plan.
// It is a thin, deterministic interpreter: every option comes from the
// plan, activities are called by the fixed names of their step kind, and
// step state lives in one struct served by a query.
package workflows

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

const (
	// PipelineWorkflow is the registered name of Pipeline.
	PipelineWorkflow = "pipectl.Pipeline"
	// ItemsWorkflow is the registered name of Items, the child workflow
	// that runs one batch of a large for_each step's elements.
	ItemsWorkflow = "pipectl.Items"
	// TaskQueue is where pipectl's workflows and activities run.
	TaskQueue = "pipectl"
	// QueryStatus returns the run's Status.
	QueryStatus = "status"
	// SignalStepAction carries an operator's StepAction.
	SignalStepAction = "step-action"
	// ErrStepFailed is the error type of a pipeline that failed because
	// a step did.
	ErrStepFailed = "StepFailed"
	// ErrUnsupportedPlan is the error type for a plan this worker cannot run.
	ErrUnsupportedPlan = "UnsupportedPlan"
	// ErrSubPipelineFailed is the error type of a pipeline step whose
	// child run failed.
	ErrSubPipelineFailed = "SubPipelineFailed"
)

// Operator actions on a suspended step.
const (
	ActionRetry = "retry"
	ActionSkip  = "skip"
	ActionAbort = "abort"
)

// StepAction is an operator's decision about a suspended step.
type StepAction struct {
	Step   string `json:"step"`
	Action string `json:"action"` // retry, skip or abort
}

// Pipeline runs plan. Steps start as soon as the run_on rules allow, in
// parallel up to the plan's max_parallel; a failure is handled by the
// step's on_failure policy (fail stops the steps still running, stopping
// their external jobs, and runs the run_on: failure|always steps); the run
// fails naming the step.
//
// carried is nil for a run a client starts. A run whose history grows
// long continues as new (see continue.go): the next run gets the same plan
// and, in carried, where this one stopped. It is a second argument rather
// than a field of the plan because it is the run's state, not what the
// spec compiled to: the plan stays the one input a client gives, its
// SpecHash untouched, and the planner knows nothing of step statuses. The
// SDK leaves a missing trailing argument at its zero value, so clients
// (pipectl, Schedules) start the workflow by name with the plan alone, and
// histories recorded before this argument existed replay with carried nil.
// Go code that starts it by function reference must pass nil explicitly:
// the SDK checks the argument count against the function's.
func Pipeline(ctx workflow.Context, plan planner.Plan, carried *Continuation) (*Status, error) {
	if plan.Version != planner.PlanVersion {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("plan version %d is not supported by this worker (it runs version %d)", plan.Version, planner.PlanVersion),
			ErrUnsupportedPlan, nil)
	}
	input := plan
	input.Steps = slices.Clone(plan.Steps)
	for i := range plan.Steps {
		// A plan is data; fields it leaves empty take their defaults.
		plan.Steps[i].RunOn = cmp.Or(plan.Steps[i].RunOn, spec.RunOnSuccess)
		plan.Steps[i].OnFailure = cmp.Or(plan.Steps[i].OnFailure, spec.OnFailureFail)
	}
	r := newRun(ctx, plan)
	r.input = input
	if carried != nil {
		if err := r.resume(carried); err != nil {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrUnsupportedPlan, nil)
		}
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (*Status, error) { return r.status, nil }); err != nil {
		return nil, err
	}
	return r.execute(ctx)
}

type run struct {
	plan   planner.Plan
	status *Status
	pos    map[string]int
	runKey string
	runID  string
	// firstRunID is the run id of the pipeline run's first workflow run.
	firstRunID string
	// given holds outputs of steps that are not in plan: those an Items
	// child workflow gets from its parent.
	given map[string]map[string]any

	// input is the plan as the run received it, handed on unchanged when
	// the run continues as new.
	input planner.Plan
	// failed lists the steps whose failure fails the run, in order;
	// aborting means one did and ordinary steps no longer start. Both
	// are carried when the run continues as new.
	failed   []string
	aborting bool
	// runs counts the workflow runs before this one.
	runs int
	// history is the budget of history events (see continue.go).
	history historyBudget
}

// stepDone is what a step's goroutine reports to the coordinator.
type stepDone struct {
	index int
	err   error
}

func newRun(ctx workflow.Context, plan planner.Plan) *run {
	info := workflow.GetInfo(ctx)
	now := workflow.Now(ctx)
	st := &Status{Pipeline: plan.Pipeline, SpecHash: plan.SpecHash, State: RunRunning, StartedAt: now, LogicalTime: logicalTime(ctx, now)}
	if plan.LogicalTime != nil {
		st.LogicalTime = *plan.LogicalTime // a sub-pipeline's: its parent run's
	}
	pos := make(map[string]int, len(plan.Steps))
	for i, s := range plan.Steps {
		st.Steps = append(st.Steps, StepStatus{ID: s.ID, Kind: s.Kind, State: StepPending})
		pos[s.ID] = i
	}
	return &run{plan: plan, status: st, pos: pos,
		runKey: info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID, runID: info.WorkflowExecution.ID,
		firstRunID: cmp.Or(info.FirstRunID, info.WorkflowExecution.RunID),
		history:    historyBudget{cost: make([]int, len(plan.Steps))}}
}

// logicalTime is the schedule's nominal time when a Temporal Schedule
// started the run (also for backfills), else the run's start.
func logicalTime(ctx workflow.Context, now time.Time) time.Time {
	key := temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(key); ok && !t.IsZero() {
		return t
	}
	return now
}

func (r *run) execute(ctx workflow.Context) (*Status, error) {
	// Ordinary steps run under stepsCtx, which a failure cancels; steps
	// started after that (run_on: failure|always) run under the run's own
	// context, so only cancelling the run stops them.
	stepsCtx, cancelSteps := workflow.WithCancel(ctx)
	defer cancelSteps()
	// The coordinator keeps receiving after the run is cancelled, so that
	// every started step can stop its job before the run ends.
	coord, _ := workflow.NewDisconnectedContext(ctx)
	done := workflow.NewChannel(coord)
	actions := workflow.GetSignalChannel(ctx, SignalStepAction)
	running, suspended := 0, 0
	for i := range r.status.Steps {
		if r.status.Steps[i].State == StepSuspended {
			suspended++ // carried over from the run before
		}
	}
	cancelled := false
	fail := func(st *StepStatus) {
		r.failed = append(r.failed, st.ID)
		if r.aborting {
			return
		}
		r.aborting = true
		cancelSteps()
		// Nobody will act on suspended steps of a run that has failed.
		for i := range r.status.Steps {
			if s := &r.status.Steps[i]; s.State == StepSuspended {
				s.State = StepFailed
				suspended--
			}
		}
	}
	start := func(ctx workflow.Context, i int) {
		running++
		r.history.startedStep(i)
		r.startStep(ctx, i, done)
	}
	act := func(a StepAction) {
		i, ok := r.pos[a.Step]
		if !ok || r.status.Steps[i].State != StepSuspended {
			workflow.GetLogger(ctx).Warn("ignored an action for a step that is not suspended", "step", a.Step, "action", a.Action)
			return
		}
		st := &r.status.Steps[i]
		switch a.Action {
		case ActionRetry:
			suspended--
			st.Error = ""
			r.history.charge(i, r.cost(i))
			start(stepsCtx, i)
		case ActionSkip:
			suspended--
			st.State, st.OperatorSkipped, st.SkipReason = StepSkipped, true, "skipped by an operator after it failed: "+st.Error
		case ActionAbort:
			suspended--
			st.State = StepFailed
			fail(st)
		default:
			workflow.GetLogger(ctx).Warn("ignored an unknown step action", "step", a.Step, "action", a.Action)
		}
	}
	for {
		if cancelled {
			r.history.giveUp() // a cancelled run ends in this history
		} else {
			r.checkHistory(ctx)
		}
		for progressed := true; progressed; {
			progressed = false
			for i := range r.plan.Steps {
				st := &r.status.Steps[i]
				if st.State != StepPending {
					continue
				}
				switch decide(&r.plan, r.status, r.pos, i, r.aborting || cancelled) {
				case skipStep:
					r.skip(ctx, st, r.skipReason(i, r.aborting || cancelled))
					progressed = true
				case runStep:
					if r.plan.MaxParallel > 0 && running >= r.plan.MaxParallel {
						continue
					}
					if !r.admit(ctx, i, running) {
						continue // left for the next run: this one is draining
					}
					ok, err := r.evalCondition(r.plan.Steps[i])
					switch {
					case err != nil:
						st.State, st.Error = StepFailed, err.Error()
						st.StartedAt, st.EndedAt = workflow.Now(ctx), workflow.Now(ctx)
						if r.failsRun(i) {
							fail(st)
						}
					case !ok:
						r.skip(ctx, st, "its condition is false")
					default:
						sctx := stepsCtx
						if r.plan.Steps[i].RunOn != spec.RunOnSuccess {
							sctx = ctx
						}
						start(sctx, i)
					}
					progressed = true
				}
			}
		}
		if running == 0 && r.history.draining && !cancelled && (suspended > 0 || r.pendingSteps()) {
			// Every started step has finished: continue as new, unless
			// an operator's action or a cancel came in meanwhile.
			var a StepAction
			switch {
			case ctx.Err() != nil:
				cancelled = true
				cancelSteps()
				continue
			case actions.ReceiveAsync(&a):
				act(a)
				continue
			}
			c, err := r.carry(ctx)
			if err == nil {
				return nil, workflow.NewContinueAsNewError(ctx, PipelineWorkflow, r.input, c)
			}
			// Too big to carry: go on in this run instead.
			workflow.GetLogger(ctx).Error("cannot continue as new; the run goes on in this history", "error", err)
			r.history.giveUp()
			continue
		}
		if running == 0 && (suspended == 0 || cancelled) {
			break
		}
		sel := workflow.NewSelector(coord)
		sel.AddReceive(done, func(c workflow.ReceiveChannel, _ bool) {
			var d stepDone
			c.Receive(coord, &d)
			running--
			r.history.finished(d.index)
			st := &r.status.Steps[d.index]
			if d.err == nil || st.State != StepFailed {
				return
			}
			switch r.plan.Steps[d.index].OnFailure {
			case spec.OnFailureContinue:
			case spec.OnFailureSuspend:
				if !r.aborting && !cancelled {
					st.State = StepSuspended
					suspended++
					return
				}
				fail(st)
			case spec.OnFailureSkipDownstream:
				r.failed = append(r.failed, st.ID)
			default:
				fail(st)
			}
		})
		if suspended > 0 {
			sel.AddReceive(actions, func(c workflow.ReceiveChannel, _ bool) {
				var a StepAction
				c.Receive(coord, &a)
				act(a)
			})
		}
		if !cancelled {
			sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {
				cancelled = true
				cancelSteps()
			})
		}
		sel.Select(coord)
	}
	r.status.EndedAt = workflow.Now(ctx)
	switch {
	case cancelled || ctx.Err() != nil:
		r.status.State = RunCancelled
		for i := range r.status.Steps {
			if st := &r.status.Steps[i]; st.State == StepSuspended {
				st.State = StepFailed
			}
		}
		return nil, temporal.NewCanceledError(r.result(ctx))
	case len(r.failed) > 0:
		r.status.State = RunFailed
		first := r.status.step(r.failed[0])
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("step %q failed: %s", first.ID, first.Error), ErrStepFailed, nil, r.result(ctx))
	}
	r.status.State = RunSucceeded
	return r.result(ctx), nil
}

// result is the status the run ends with, as its result or its error's
// details. A status too big for one payload (thousands of steps with
// outputs) would make Temporal fail the run as it completes, so it then
// leaves the steps' outputs out; the status query still has them.
func (r *run) result(ctx workflow.Context) *Status {
	b, err := json.Marshal(r.status)
	if err != nil || len(b) <= maxPayloadBytes {
		return r.status
	}
	st := *r.status
	st.Steps = slices.Clone(st.Steps)
	for i := range st.Steps {
		st.Steps[i].Outputs = nil
	}
	st.OutputsOmitted = true
	workflow.GetLogger(ctx).Warn("the run's result leaves the steps' outputs out: with them it is too big", "bytes", len(b))
	return &st
}

// pendingSteps reports whether some step has not started yet.
func (r *run) pendingSteps() bool {
	for i := range r.status.Steps {
		if r.status.Steps[i].State == StepPending {
			return true
		}
	}
	return false
}

// failsRun reports whether a failure of step i fails the run.
func (r *run) failsRun(i int) bool {
	return r.plan.Steps[i].OnFailure != spec.OnFailureContinue
}

func (r *run) skip(ctx workflow.Context, st *StepStatus, reason string) {
	st.State, st.SkipReason = StepSkipped, reason
	st.StartedAt, st.EndedAt = time.Time{}, workflow.Now(ctx)
}

func (r *run) skipReason(i int, aborting bool) string {
	step := r.plan.Steps[i]
	if aborting && step.RunOn == spec.RunOnSuccess {
		return "the run stopped after a failure"
	}
	switch step.RunOn {
	case spec.RunOnFailure:
		return "nothing it depends on failed"
	}
	return "a step it depends on did not succeed"
}
