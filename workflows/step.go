package workflows

import (
	"errors"
	"time"

	"github.com/zclconf/go-cty/cty"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/planner"
)

// How long one service call may take, how long a cancel may keep trying,
// and how many times a transient service error is retried within one run
// of a job. The call timeout is also how long a step waits when the worker
// running its call dies (nothing heartbeats a single call), so it is kept
// short, above the HTTP client's own 25 s. Twenty tries ride out a service
// failing one request in five for good (0.2^20), while one that keeps
// failing still fails the step instead of stalling it.
const (
	callTimeout       = 30 * time.Second
	cancelTimeout     = 10 * time.Minute
	transientAttempts = 20
)

func (r *run) startStep(ctx workflow.Context, i int, done workflow.Channel) {
	st := &r.status.Steps[i]
	st.State = StepRunning
	st.StartedAt, st.EndedAt = workflow.Now(ctx), time.Time{}
	workflow.Go(ctx, func(ctx workflow.Context) {
		outputs, err := r.runStep(ctx, r.plan.Steps[i], st)
		st.EndedAt = workflow.Now(ctx)
		switch {
		case err == nil:
			st.State = StepSucceeded
			st.Outputs = outputs
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

// runStep runs one step to its end: a wait, a sub-pipeline, a single
// job, or one job per for_each element.
func (r *run) runStep(ctx workflow.Context, step planner.Step, st *StepStatus) (map[string]any, error) {
	if step.Kind == "wait" {
		with, err := r.evalWith(step, cty.NilVal, 1)
		if err != nil {
			return nil, err
		}
		d, err := r.evalWait(with, workflow.Now(ctx))
		if err != nil {
			return nil, err
		}
		return nil, workflow.Sleep(ctx, d)
	}
	if step.Kind == "pipeline" {
		return r.runSubPipeline(ctx, step, st)
	}
	prior := st.Attempt // attempts made before an operator's retry
	if step.ForEach == nil {
		res, err := r.runJob(ctx, step, st, cty.NilVal, 0, prior)
		if err != nil {
			return nil, err
		}
		return stringMap(res.Outputs), nil
	}
	items, err := r.evalItems(step)
	if err != nil {
		return nil, err
	}
	if len(items) > inlineItems && workflow.GetVersion(ctx, changeForEachChildren, workflow.DefaultVersion, 1) >= 1 {
		return r.runBatches(ctx, step, st, items, prior)
	}
	st.Items, st.ItemsDone = len(items), 0
	results, err := r.runItems(ctx, step, st, items, 1, prior, step.ForEach.MaxParallel)
	if err != nil {
		return nil, err
	}
	return r.capOutputs(ctx, step, itemOutputs(results), len(items)), nil
}

// runItems runs one job per element, at most limit at once (0: no
// bound). first is the 1-based index of items[0] in the step's list. The
// first failure cancels the elements still running.
func (r *run) runItems(ctx workflow.Context, step planner.Step, st *StepStatus, items []cty.Value, first, prior, limit int) ([]*activities.Result, error) {
	return fanOut(ctx, len(items), limit, func(ctx workflow.Context, n int) (*activities.Result, error) {
		return r.runJob(ctx, step, st, items[n], first+n, prior)
	}, func() { st.ItemsDone++ })
}

// fanOut runs work for elements 0 to n-1 in order, at most limit at once
// (0: no bound), calling succeeded as each one succeeds, and returns
// their results in element order. The first failure cancels the elements
// still running and starts no more; it is returned once they have ended.
func fanOut[T any](ctx workflow.Context, n, limit int, work func(workflow.Context, int) (T, error), succeeded func()) ([]T, error) {
	ctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	if limit <= 0 {
		limit = n
	}
	results := make([]T, n)
	var firstErr error
	done := workflow.NewChannel(ctx)
	running, next := 0, 0
	for next < n || running > 0 {
		for firstErr == nil && running < limit && next < n {
			i := next
			next++
			running++
			workflow.Go(ctx, func(ctx workflow.Context) {
				res, err := work(ctx, i)
				results[i] = res
				done.Send(ctx, err)
			})
		}
		if running == 0 {
			break
		}
		var err error
		done.Receive(ctx, &err)
		running--
		if err != nil && firstErr == nil {
			firstErr = err
			cancel()
		} else if err == nil {
			succeeded()
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return results, nil
}

// itemOutputs collects each output of the elements' jobs as a list in
// element order; an element without the output has null there.
func itemOutputs(results []*activities.Result) map[string]any {
	outputs := map[string]any{}
	for n, res := range results {
		for k, v := range res.Outputs {
			list, _ := outputs[k].([]any)
			if list == nil {
				list = make([]any, len(results))
			}
			list[n] = v
			outputs[k] = list
		}
	}
	return outputs
}

// runJob runs the step's job for one element (item 0: no for_each),
// re-running it after the service reports it failed, up to the step's
// retry.max_attempts. Attempts are numbered on from those the step already
// made, so an operator's retry of a suspended step is a new attempt with a
// new idempotency key, not a re-attach to the job that failed.
func (r *run) runJob(ctx workflow.Context, step planner.Step, st *StepStatus, item cty.Value, itemIndex, prior int) (*activities.Result, error) {
	deadline := workflow.Now(ctx).Add(time.Duration(step.Timeout))
	return rerun(ctx, step, st, prior, deadline, "job", jobFailed, func(attempt int) (*activities.Result, error) {
		return r.runAttempt(ctx, step, st, item, itemIndex, attempt, deadline)
	})
}

// rerun calls attempt with attempt numbers from prior+1 on, again after
// each failure that curable says a re-run may cure, up to the step's
// retry.max_attempts and while the next try starts before deadline,
// waiting the step's retry interval in between. what names the thing
// re-run in the log.
func rerun[T any](ctx workflow.Context, step planner.Step, st *StepStatus, prior int, deadline time.Time, what string, curable func(error) bool, attempt func(int) (T, error)) (T, error) {
	var zero T
	first := prior + 1
	for n := first; ; n++ {
		st.Attempt = max(st.Attempt, n)
		res, err := attempt(n)
		if err == nil || n-first+1 >= step.Retry.MaxAttempts || !curable(err) || ctx.Err() != nil {
			return res, err
		}
		wait := activities.RetryDelay(step.Retry, n-first+1)
		if workflow.Now(ctx).Add(wait).After(deadline) {
			return zero, err
		}
		workflow.GetLogger(ctx).Info(what+" failed; running it again", "step", step.ID, "attempt", n+1, "after", wait, "error", describe(err))
		if serr := workflow.Sleep(ctx, wait); serr != nil {
			return zero, serr
		}
	}
}

// jobFailed reports whether err is the service saying the job failed, the
// one error a re-run can cure.
func jobFailed(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == activities.ErrJobFailed
}

// runAttempt submits one job and waits for it. Whenever a started job is
// abandoned (the step is cancelled or runs out of time) it is stopped.
func (r *run) runAttempt(ctx workflow.Context, step planner.Step, st *StepStatus, item cty.Value, itemIndex, attempt int, deadline time.Time) (*activities.Result, error) {
	with, err := r.evalWith(step, item, attempt)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrRequestRejected, nil)
	}
	req := activities.StepRequest{
		Pipeline: r.plan.Pipeline,
		RunKey:   r.runKey,
		StepID:   step.ID,
		Kind:     step.Kind,
		Attempt:  attempt,
		Item:     itemIndex,
		Cloud:    r.plan.Cloud,
		With:     with,
		Poll:     step.Poll,
	}
	if workflow.GetVersion(ctx, changeRunActivity, workflow.DefaultVersion, 1) >= 1 {
		return r.runOne(ctx, step, st, req, deadline)
	}
	var job *activities.Job
	err = workflow.ExecuteActivity(r.callOptions(ctx, step, deadline), activities.SubmitName(step.Kind), req).Get(ctx, &job)
	if err != nil {
		if abandoned(ctx, err) {
			r.cancelJob(ctx, step, req, st, "")
		}
		return nil, err
	}
	st.JobID = job.ID
	req.Job = job
	var res activities.Result
	err = workflow.ExecuteActivity(r.waitOptions(ctx, step, deadline), activities.WaitName(step.Kind), req).Get(ctx, &res)
	if err != nil {
		if abandoned(ctx, err) {
			r.cancelJob(ctx, step, req, st, "")
		}
		return nil, err
	}
	return &res, nil
}

// runOne runs the job as one activity on the kind's service queue (see
// activities.Runner): a step costs one activity in history, and the
// service's rate limit holds across all workers. The job id reaches the
// status with the result; while the job runs, clients read it from the
// progress the activity reports.
func (r *run) runOne(ctx workflow.Context, step planner.Step, st *StepStatus, req activities.StepRequest, deadline time.Time) (*activities.Result, error) {
	retry := step.Retry
	req.Retry = &retry
	var res activities.Result
	err := workflow.ExecuteActivity(r.runOptions(ctx, step, deadline), activities.RunName(step.Kind), req).Get(ctx, &res)
	if err != nil {
		if abandoned(ctx, err) {
			r.cancelJob(ctx, step, req, st, ServiceQueue(step.Kind))
		}
		var app *temporal.ApplicationError
		var ended activities.Result
		if errors.As(err, &app) && jobFailed(err) && app.Details(&ended) == nil {
			st.JobID = ended.JobID
		}
		return nil, err
	}
	st.JobID = res.JobID
	return &res, nil
}

// runOptions make Temporal both retry the submit and poll the job: a
// transient submit failure and a running job both fail the attempt with
// the delay to the next one (see activities.Runner). The step's timeout
// is the schedule-to-close timeout, so a job that runs too long fails the
// step however many polls it took. A cancelled run is not waited for: the
// cancel activity that follows stops the job.
func (r *run) runOptions(ctx workflow.Context, step planner.Step, deadline time.Time) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              ServiceQueue(step.Kind),
		StartToCloseTimeout:    callTimeout,
		ScheduleToCloseTimeout: max(deadline.Sub(workflow.Now(ctx)), time.Second),
		RetryPolicy:            pollPolicy(step, maxPolls(step)+activities.TransientSubmitAttempts),
	})
}

// callOptions are for submit: one service call, its transient failures
// retried with the step's intervals.
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
// too long fails the step however many polls it took. A cancelled wait is
// not waited for: it only reads a status, and the job is stopped by the
// cancel activity that follows.
func (r *run) waitOptions(ctx workflow.Context, step planner.Step, deadline time.Time) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    callTimeout,
		ScheduleToCloseTimeout: max(deadline.Sub(workflow.Now(ctx)), time.Second),
		RetryPolicy:            pollPolicy(step, maxPolls(step)),
	})
}

// pollPolicy retries an activity at the step's poll intervals, doubling
// to its cap (a running job's error sets the exact delay), at most
// attempts times.
func pollPolicy(step planner.Step, attempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Duration(step.Poll.Interval),
		BackoffCoefficient:     2,
		MaximumInterval:        time.Duration(step.Poll.MaxInterval),
		MaximumAttempts:        attempts,
		NonRetryableErrorTypes: append(activities.NonRetryable(), step.Retry.NonRetryable...),
	}
}

// maxPolls bounds the polls; the step's timeout bounds them first. The
// bound only keeps a clock-skipping test environment from polling forever.
func maxPolls(step planner.Step) int32 {
	n := int64(step.Timeout)/int64(max(step.Poll.Interval, 1)) + 10
	return int32(min(n, 1<<31-1))
}

func retryPolicy(r planner.Retry) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Duration(r.InitialInterval),
		BackoffCoefficient:     max(r.Backoff, 1),
		MaximumInterval:        time.Duration(r.MaxInterval),
		MaximumAttempts:        transientAttempts,
		NonRetryableErrorTypes: append(activities.NonRetryable(), r.NonRetryable...),
	}
}

// cancelJob stops the step's external job, calling the cancel activity on
// queue ("": the run's own). It runs in a disconnected context: the
// step's own context is usually cancelled by then.
func (r *run) cancelJob(ctx workflow.Context, step planner.Step, req activities.StepRequest, st *StepStatus, queue string) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		TaskQueue:              queue,
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

func stringMap(m map[string]string) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
