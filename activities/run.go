package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/planner"
)

// RunName is the activity that submits a step's job and waits for it: a
// kind's submit and wait in one, so that a step costs one activity in
// history instead of two.
func RunName(kind string) string { return kind + ".run" }

// TransientSubmitAttempts is how many times a transient service error
// (429, 5xx, a lost connection) on submit is tried before the step fails:
// enough to ride out a service failing one request in five for good
// (0.2^20), few enough that one that keeps failing fails the step instead
// of stalling it.
const TransientSubmitAttempts = 20

// Runner makes one kind's submit and wait a single activity. Each attempt
// of Run either submits the job (the first, or one whose submit failed
// transiently) or checks its status once; while the job runs it fails with
// the wait's "still running" error, so Temporal's retry polls without
// holding a worker slot and without adding history events. The job's
// handle survives between attempts in the activity's heartbeat details,
// which the server keeps across retries; when they are lost (the worker
// died between submit and heartbeat), the next attempt submits again and
// the submit's idempotency key re-attaches to the job. A job whose submit
// returns after the workflow gave up on the step is stopped by the
// attempt that created it.
type Runner struct {
	Submit func(context.Context, StepRequest) (*Job, error)
	Wait   func(context.Context, StepRequest) (*Result, error)
	// Cancel stops a job. Run calls it for a job its submit created after
	// the workflow gave up on the step (see stopAbandoned); nil leaves
	// such a job running.
	Cancel func(context.Context, StepRequest) error
	// Abandoned reports whether the workflow gave up on this attempt;
	// nil means AttemptAbandoned.
	Abandoned func(context.Context) bool
}

// stopTimeout bounds the stop of a job whose step was abandoned.
const stopTimeout = 30 * time.Second

// runState is what an attempt leaves in its heartbeat for the next.
type runState struct {
	Job *Job `json:"job,omitempty"`
	// SubmitFailures counts the transient failures of submit so far.
	SubmitFailures int `json:"submit_failures,omitempty"`
}

// Run is the activity.
func (k Runner) Run(ctx context.Context, req StepRequest) (*Result, error) {
	var st runState
	if activity.HasHeartbeatDetails(ctx) {
		// Unreadable details (a worker of another version) only cost a
		// re-attaching submit.
		if err := activity.GetHeartbeatDetails(ctx, &st); err != nil {
			st = runState{}
		}
	}
	if st.Job == nil {
		sctx, cancel := submitContext(ctx)
		job, err := k.Submit(sctx, req)
		cancel()
		if err != nil {
			return nil, submitFailed(ctx, req, st, err)
		}
		st = runState{Job: job}
		// The first heartbeat of an attempt is sent at once, so the
		// handle is on the server before the job is polled. Its answer
		// also says whether the step was abandoned meanwhile.
		activity.RecordHeartbeat(ctx, st)
		if k.abandoned(ctx) {
			k.stopAbandoned(ctx, req, job)
			return nil, temporal.NewCanceledError("the step was abandoned while its job was being submitted")
		}
	}
	req.Job = st.Job
	res, err := k.Wait(ctx, req)
	if res != nil && res.JobID == "" {
		res.JobID = st.Job.ID
	}
	return res, withStep(err, req)
}

func (k Runner) abandoned(ctx context.Context) bool {
	if k.Abandoned != nil {
		return k.Abandoned(ctx)
	}
	return AttemptAbandoned(ctx)
}

// lateSubmit is how long a submit may go on once its attempt's deadline
// has passed.
const lateSubmit = 30 * time.Second

// submitContext is ctx for a submit, except that the attempt's deadline
// does not cut the request short: a submit cut short may still create its
// job, which nothing would then know of. Once the deadline has passed it
// has lateSubmit to answer, and Run stops the job it created if the step
// has run out of time. Other cancellations (the worker stopping) still
// end it.
func submitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	detached, cancelCause := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cancelCause(context.Cause(ctx))
		}
	})
	deadline := time.Now().Add(lateSubmit)
	if d, ok := ctx.Deadline(); ok && d.After(time.Now()) {
		deadline = d.Add(lateSubmit)
	}
	bounded, cancel := context.WithDeadline(detached, deadline)
	return bounded, func() {
		stop()
		cancel()
		cancelCause(nil)
	}
}

// stopAbandoned stops the job a submit created after the workflow gave
// up on the step (the run was cancelled, another step failed, the step
// timed out) while the submit was on the wire. The workflow's cancel
// activity may have looked for the job before it existed, and the
// workflow no longer waits for this attempt: nothing else would stop it.
func (k Runner) stopAbandoned(ctx context.Context, req StepRequest, job *Job) {
	log := activity.GetLogger(ctx)
	if k.Cancel == nil {
		log.Warn("the step was abandoned while its job was being submitted; the job is left running", "step", req.StepID, "job_id", job.ID)
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	req.Job = job
	if err := k.Cancel(sctx, req); err != nil {
		log.Warn("could not stop the job of a step abandoned while its job was being submitted", "step", req.StepID, "job_id", job.ID, "error", err)
		return
	}
	log.Info("stopped the job of a step abandoned while its job was being submitted", "step", req.StepID, "job_id", job.ID)
}

// AttemptAbandoned reports whether the activity's context was cancelled
// because the workflow gave up on the activity: the server asked to
// cancel it (the step was cancelled while its workflow went on), the
// workflow has closed (a cancelled or failed run does not wait for the
// steps it abandons), or the step's timeout (the schedule-to-close
// timeout, over all attempts) has passed. It is false when the worker is
// stopping, a heartbeat failed transiently, the activity was paused, or
// only this attempt timed out: a retry goes on, which finds the job again
// by its idempotency key.
func AttemptAbandoned(ctx context.Context) bool {
	if ctx.Err() == nil {
		return false
	}
	cause := context.Cause(ctx)
	if temporal.IsCanceledError(cause) || activity.IsActivity(ctx) && StepOutOfTime(activity.GetInfo(ctx), time.Now()) {
		return true
	}
	// The server's answer to a heartbeat of a closed workflow's activity
	// (go.temporal.io/server's consts.ErrWorkflowCompleted).
	var nf *serviceerror.NotFound
	return errors.As(cause, &nf) && nf.Message == "workflow execution already completed"
}

// submitFailed returns submit's error for Temporal's retry: a transient
// failure is retried after the step's retry interval (or the service's
// Retry-After, when longer), TransientSubmitAttempts times; anything else
// is returned as it is.
func submitFailed(ctx context.Context, req StepRequest, st runState, err error) error {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.NonRetryable() || ctx.Err() != nil {
		return err
	}
	st.SubmitFailures++
	activity.RecordHeartbeat(ctx, st)
	if st.SubmitFailures >= TransientSubmitAttempts {
		return temporal.NewNonRetryableApplicationError(app.Message(), app.Type(), app.Unwrap())
	}
	var retry planner.Retry
	if req.Retry != nil {
		retry = *req.Retry
	}
	// A zero delay leaves it to the activity's retry policy.
	opts := temporal.ApplicationErrorOptions{
		NextRetryDelay: max(app.NextRetryDelay(), RetryDelay(retry, st.SubmitFailures)),
		Cause:          app.Unwrap(),
	}
	var code string // the service's error code, as Classify attaches it
	if app.HasDetails() && app.Details(&code) == nil {
		opts.Details = []any{code}
	}
	return temporal.NewApplicationErrorWithOptions(app.Message(), app.Type(), opts)
}

// withStep adds the step to the progress a "still running" error carries,
// so a client can tell whose job it is before the step completes.
func withStep(err error, req StepRequest) error {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrStillRunning {
		return err
	}
	var p Progress
	if app.Details(&p) != nil {
		return err
	}
	p.Step, p.Item = req.StepID, req.Item
	return StillRunning(p, app.NextRetryDelay())
}

// RetryDelay is the delay before try number n+1 after n failures under
// the step's retry block: the initial interval, multiplied by the backoff
// per failure, capped by the maximum interval.
func RetryDelay(r planner.Retry, n int) time.Duration {
	d := time.Duration(r.InitialInterval)
	for i := 1; i < n; i++ {
		d = time.Duration(float64(d) * max(r.Backoff, 1))
		if r.MaxInterval > 0 && d > time.Duration(r.MaxInterval) {
			return time.Duration(r.MaxInterval)
		}
	}
	return d
}

// StepOutOfTime reports whether, at now, the step of the activity with
// info has run out of time: its schedule-to-close timeout runs from the
// first attempt's scheduling and no retry follows it. A second's leeway
// covers the server timing the step out a little before this worker's
// clock says so.
func StepOutOfTime(info activity.Info, now time.Time) bool {
	if info.ScheduleToCloseTimeout <= 0 {
		return false
	}
	return !now.Add(time.Second).Before(info.ScheduledTime.Add(info.ScheduleToCloseTimeout))
}
