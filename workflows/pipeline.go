// Package workflows holds the Temporal workflow that runs a compiled Plan.
// It is a thin, deterministic interpreter: every option comes from the
// plan, activities are called by the fixed names of their step kind, and
// step state lives in one struct served by a query.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/planner"
)

const (
	// PipelineWorkflow is the registered name of Pipeline.
	PipelineWorkflow = "pipectl.Pipeline"
	// TaskQueue is where pipectl's workflows and activities run.
	TaskQueue = "pipectl"
	// QueryStatus returns the run's Status.
	QueryStatus = "status"
	// ErrStepFailed is the error type of a pipeline that failed because
	// a step did.
	ErrStepFailed = "StepFailed"
	// ErrUnsupportedPlan is the error type for a plan this worker cannot run.
	ErrUnsupportedPlan = "UnsupportedPlan"
)

// How long one service call may take, and how long a cancel may keep
// trying: a stop request must not hang a finished pipeline for long.
const (
	callTimeout   = time.Minute
	cancelTimeout = 10 * time.Minute
)

// Pipeline runs plan: every step whose dependencies succeeded starts at
// once, in parallel; the first failure cancels the steps still running
// (stopping their external jobs) and fails the run, naming the step.
func Pipeline(ctx workflow.Context, plan planner.Plan) (*Status, error) {
	if plan.Version != planner.PlanVersion {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("plan version %d is not supported by this worker (it runs version %d)", plan.Version, planner.PlanVersion),
			ErrUnsupportedPlan, nil)
	}
	r := newRun(ctx, plan)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (*Status, error) { return r.status, nil }); err != nil {
		return nil, err
	}
	return r.execute(ctx)
}

type run struct {
	plan   planner.Plan
	status *Status
	runKey string
}

// stepDone is what a step's goroutine reports to the coordinator.
type stepDone struct {
	index int
	err   error
}

func newRun(ctx workflow.Context, plan planner.Plan) *run {
	info := workflow.GetInfo(ctx)
	st := &Status{Pipeline: plan.Pipeline, SpecHash: plan.SpecHash, State: RunRunning, StartedAt: workflow.Now(ctx)}
	for _, s := range plan.Steps {
		st.Steps = append(st.Steps, StepStatus{ID: s.ID, Kind: s.Kind, State: StepPending})
	}
	return &run{plan: plan, status: st, runKey: info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID}
}

func (r *run) execute(ctx workflow.Context) (*Status, error) {
	stepsCtx, cancelSteps := workflow.WithCancel(ctx)
	defer cancelSteps()
	// The coordinator keeps receiving after the run is cancelled, so that
	// every started step can stop its job before the run ends.
	coord, _ := workflow.NewDisconnectedContext(ctx)
	done := workflow.NewChannel(coord)
	running := 0
	var failed *StepStatus
	for {
		if failed == nil && ctx.Err() == nil {
			for i := range r.plan.Steps {
				if r.ready(i) {
					running++
					r.startStep(stepsCtx, i, done)
				}
			}
		}
		if running == 0 {
			break
		}
		var d stepDone
		done.Receive(coord, &d)
		running--
		st := &r.status.Steps[d.index]
		if d.err != nil && failed == nil && st.State == StepFailed {
			failed = st
			cancelSteps()
		}
	}
	now := workflow.Now(ctx)
	for i := range r.status.Steps {
		if r.status.Steps[i].State == StepPending {
			r.status.Steps[i].State = StepSkipped
		}
	}
	r.status.EndedAt = now
	switch {
	case failed != nil:
		r.status.State = RunFailed
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("step %q failed: %s", failed.ID, failed.Error), ErrStepFailed, nil, r.status)
	case ctx.Err() != nil:
		r.status.State = RunCancelled
		return nil, ctx.Err()
	}
	r.status.State = RunSucceeded
	return r.status, nil
}

// ready reports whether step i is pending and all it depends on succeeded.
func (r *run) ready(i int) bool {
	if r.status.Steps[i].State != StepPending {
		return false
	}
	for _, dep := range r.plan.Steps[i].DependsOn {
		if s := r.status.step(dep); s == nil || s.State != StepSucceeded {
			return false
		}
	}
	return true
}

func (r *run) startStep(ctx workflow.Context, i int, done workflow.Channel) {
	st := &r.status.Steps[i]
	st.State = StepRunning
	st.StartedAt = workflow.Now(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		res, err := r.runStep(ctx, r.plan.Steps[i], st)
		st.EndedAt = workflow.Now(ctx)
		switch {
		case err == nil:
			st.State = StepSucceeded
			st.Outputs = res.Outputs
		case temporal.IsCanceledError(err) || errors.Is(ctx.Err(), workflow.ErrCanceled):
			st.State = StepCancelled
			st.Error = "cancelled"
		default:
			st.State = StepFailed
			st.Error = describe(err)
		}
		done.Send(ctx, stepDone{index: i, err: err})
	})
}

// runStep submits the step's job and waits for it. Whenever a started job
// is abandoned (the step is cancelled or runs out of time) it is stopped.
func (r *run) runStep(ctx workflow.Context, step planner.Step, st *StepStatus) (*activities.Result, error) {
	st.Attempt = 1
	req := activities.StepRequest{
		Pipeline: r.plan.Pipeline,
		RunKey:   r.runKey,
		StepID:   step.ID,
		Kind:     step.Kind,
		Attempt:  st.Attempt,
		Cloud:    r.plan.Cloud,
		With:     step.With,
		Poll:     step.Poll,
	}
	deadline := workflow.Now(ctx).Add(time.Duration(step.Timeout))
	var job *activities.Job
	err := workflow.ExecuteActivity(r.callOptions(ctx, step, deadline), activities.SubmitName(step.Kind), req).Get(ctx, &job)
	if err != nil {
		if abandoned(ctx, err) {
			r.cancelJob(ctx, step, req, st)
		}
		return nil, err
	}
	st.JobID = job.ID
	req.Job = job
	var res activities.Result
	err = workflow.ExecuteActivity(r.waitOptions(ctx, step, deadline), activities.WaitName(step.Kind), req).Get(ctx, &res)
	if err != nil {
		if abandoned(ctx, err) {
			r.cancelJob(ctx, step, req, st)
		}
		return nil, err
	}
	return &res, nil
}

// callOptions are for submit: a few quick tries of one service call, with
// the step's retry policy.
func (r *run) callOptions(ctx workflow.Context, step planner.Step, deadline time.Time) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    callTimeout,
		ScheduleToCloseTimeout: max(deadline.Sub(workflow.Now(ctx)), time.Second),
		WaitForCancellation:    true,
		RetryPolicy:            retryPolicy(step.Retry),
	})
}

// waitOptions make Temporal poll: each attempt checks the job once and a
// running job answers with a retryable error carrying the next poll delay.
// The step's timeout is the schedule-to-close timeout, so a job that runs
// too long fails the step however many polls it took.
func (r *run) waitOptions(ctx workflow.Context, step planner.Step, deadline time.Time) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    callTimeout,
		ScheduleToCloseTimeout: max(deadline.Sub(workflow.Now(ctx)), time.Second),
		WaitForCancellation:    true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Duration(step.Poll.Interval),
			BackoffCoefficient: 2,
			MaximumInterval:    time.Duration(step.Poll.MaxInterval),
			// The step's timeout bounds the polls; this bound only keeps a
			// clock-skipping test environment from polling forever.
			MaximumAttempts:        maxPolls(step),
			NonRetryableErrorTypes: activities.NonRetryable(),
		},
	})
}

func maxPolls(step planner.Step) int32 {
	n := int64(step.Timeout)/int64(max(step.Poll.Interval, 1)) + 10
	return int32(min(n, 1<<31-1))
}

func retryPolicy(r planner.Retry) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Duration(r.InitialInterval),
		BackoffCoefficient:     r.Backoff,
		MaximumInterval:        time.Duration(r.MaxInterval),
		MaximumAttempts:        int32(r.MaxAttempts),
		NonRetryableErrorTypes: append(activities.NonRetryable(), r.NonRetryable...),
	}
}

// cancelJob stops the step's external job. It runs in a disconnected
// context: the step's own context is usually cancelled by then.
func (r *run) cancelJob(ctx workflow.Context, step planner.Step, req activities.StepRequest, st *StepStatus) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		StartToCloseTimeout:    callTimeout,
		ScheduleToCloseTimeout: cancelTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: activities.NonRetryable(),
		},
	})
	if err := workflow.ExecuteActivity(dctx, activities.CancelName(step.Kind), req).Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("could not stop the job of an abandoned step", "step", step.ID, "error", describe(err))
		st.CancelError = describe(err)
	}
}

// abandoned reports whether err means the step gave up on a job that may
// still run: the step was cancelled or ran out of time.
func abandoned(ctx workflow.Context, err error) bool {
	return ctx.Err() != nil || temporal.IsCanceledError(err) || timedOut(err)
}

// timedOut reports whether the step ran out of time: an activity timeout,
// or polling that stopped because the next poll would pass the step's
// deadline (the last error is then "still running").
func timedOut(err error) bool {
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return true
	}
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == activities.ErrStillRunning
}

// describe returns the message of the innermost meaningful error: the
// service's words, not the activity envelope around them.
func describe(err error) string {
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		msg := "timed out (" + timeoutName(te) + ")"
		var app *temporal.ApplicationError
		if errors.As(te.Unwrap(), &app) {
			msg += "; last error: " + app.Message()
		}
		return msg
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		if app.Type() == activities.ErrStillRunning {
			return "timed out (the step's timeout elapsed): " + app.Message()
		}
		return app.Message()
	}
	if temporal.IsCanceledError(err) {
		return "cancelled"
	}
	return err.Error()
}

func timeoutName(te *temporal.TimeoutError) string {
	switch te.TimeoutType().String() {
	case "ScheduleToClose":
		return "the step's timeout elapsed"
	case "StartToClose":
		return "a service call took too long"
	}
	return te.TimeoutType().String()
}
