package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

// fakeJob is a service with one job that runs for a number of checks.
type fakeJob struct {
	mu         sync.Mutex
	submits    int
	checks     int
	runFor     int     // checks that answer "running"
	submitErrs []error // returned by the first submits, in order
}

func (f *fakeJob) submit(_ context.Context, req activities.StepRequest) (*activities.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submits++
	if len(f.submitErrs) > 0 {
		err := f.submitErrs[0]
		f.submitErrs = f.submitErrs[1:]
		return nil, activities.Classify(err)
	}
	return &activities.Job{ID: "job-1"}, nil
}

func (f *fakeJob) wait(_ context.Context, req activities.StepRequest) (*activities.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks++
	if req.Job == nil || req.Job.ID != "job-1" {
		return nil, errors.New("wait without the submitted job")
	}
	if f.checks <= f.runFor {
		return nil, activities.StillRunning(activities.Progress{JobID: req.Job.ID, State: "RUNNING", Percent: 40}, 7*time.Second)
	}
	return &activities.Result{State: "FINISHED", Outputs: map[string]string{"rows": "3"}}, nil
}

type runFixture struct {
	env        *testsuite.TestActivityEnvironment
	heartbeats []json.RawMessage
}

func newRunFixture(t *testing.T, f *fakeJob) *runFixture {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	fx := &runFixture{env: suite.NewTestActivityEnvironment()}
	fx.env.RegisterActivityWithOptions(activities.Runner{Submit: f.submit, Wait: f.wait}.Run, activity.RegisterOptions{Name: activities.RunName("dli.sql")})
	fx.env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var raw json.RawMessage
		if details.Get(&raw) == nil {
			fx.heartbeats = append(fx.heartbeats, raw)
		}
	})
	return fx
}

func runRequest() activities.StepRequest {
	return activities.StepRequest{
		Pipeline: "p", RunKey: "wf/run", StepID: "load", Kind: "dli.sql", Attempt: 1, Item: 2,
		Cloud: spec.Cloud{ProjectID: "proj"},
		With:  json.RawMessage(`{}`),
		Poll:  planner.Poll{Interval: spec.Duration(time.Second), MaxInterval: spec.Duration(time.Minute)},
		Retry: &planner.Retry{InitialInterval: spec.Duration(5 * time.Second), Backoff: 2, MaxInterval: spec.Duration(30 * time.Second)},
	}
}

func (fx *runFixture) run(t *testing.T) (*activities.Result, error) {
	t.Helper()
	val, err := fx.env.ExecuteActivity(activities.RunName("dli.sql"), runRequest())
	if err != nil {
		return nil, err
	}
	var res *activities.Result
	require.NoError(t, val.Get(&res))
	return res, nil
}

func TestRunSubmitsThenPollsFromTheHeartbeat(t *testing.T) {
	f := &fakeJob{runFor: 1}
	fx := newRunFixture(t, f)

	// The first attempt submits, leaves the handle in its heartbeat and
	// checks once: still running, with whose job it is.
	_, err := fx.run(t)
	app := appError(t, err)
	assert.Equal(t, activities.ErrStillRunning, app.Type())
	assert.Equal(t, 7*time.Second, app.NextRetryDelay())
	var p activities.Progress
	require.NoError(t, app.Details(&p))
	assert.Equal(t, activities.Progress{Step: "load", Item: 2, JobID: "job-1", State: "RUNNING", Percent: 40}, activities.Progress{Step: p.Step, Item: p.Item, JobID: p.JobID, State: p.State, Percent: p.Percent})
	require.Len(t, fx.heartbeats, 1)
	assert.JSONEq(t, `{"job":{"id":"job-1"}}`, string(fx.heartbeats[0]))

	// The next attempt finds the handle and only checks.
	fx.env.SetHeartbeatDetails(json.RawMessage(fx.heartbeats[0]))
	res, err := fx.run(t)
	require.NoError(t, err)
	assert.Equal(t, "job-1", res.JobID)
	assert.Equal(t, "3", res.Outputs["rows"])
	assert.Equal(t, 1, f.submits, "a poll submitted again")
	assert.Equal(t, 2, f.checks)
}

func TestRunRetriesATransientSubmitByTheStepsRetryBlock(t *testing.T) {
	unavailable := &cloudapi.Error{Status: 503, Code: "DLI.0999", Message: "busy"}
	f := &fakeJob{submitErrs: []error{unavailable, unavailable}}
	fx := newRunFixture(t, f)

	_, err := fx.run(t)
	app := appError(t, err)
	assert.False(t, app.NonRetryable())
	assert.Equal(t, 5*time.Second, app.NextRetryDelay(), "first retry after the initial interval")
	var code string
	require.NoError(t, app.Details(&code))
	assert.Equal(t, "DLI.0999", code)
	require.Len(t, fx.heartbeats, 1)
	assert.JSONEq(t, `{"submit_failures":1}`, string(fx.heartbeats[0]))

	fx.env.SetHeartbeatDetails(json.RawMessage(fx.heartbeats[0]))
	_, err = fx.run(t)
	app = appError(t, err)
	assert.Equal(t, 10*time.Second, app.NextRetryDelay(), "second retry backs off")

	fx.env.SetHeartbeatDetails(json.RawMessage(fx.heartbeats[1]))
	res, err := fx.run(t)
	require.NoError(t, err)
	assert.Equal(t, "job-1", res.JobID)
	assert.JSONEq(t, `{"job":{"id":"job-1"}}`, string(fx.heartbeats[2]), "a submitted job resets the count")
}

func TestRunGivesUpOnASubmitThatKeepsFailing(t *testing.T) {
	f := &fakeJob{submitErrs: []error{&cloudapi.Error{Status: 503, Message: "busy"}}}
	fx := newRunFixture(t, f)
	fx.env.SetHeartbeatDetails(json.RawMessage(`{"submit_failures":19}`))
	_, err := fx.run(t)
	app := appError(t, err)
	assert.True(t, app.NonRetryable(), "the 20th transient failure ends the step")
	assert.Equal(t, activities.ErrServiceUnavailable, app.Type())
}

func TestRunPassesARejectionThrough(t *testing.T) {
	f := &fakeJob{submitErrs: []error{&cloudapi.Error{Status: 400, Code: "DLI.0001", Message: "bad sql"}}}
	fx := newRunFixture(t, f)
	_, err := fx.run(t)
	app := appError(t, err)
	assert.True(t, app.NonRetryable())
	assert.Equal(t, activities.ErrRequestRejected, app.Type())
	assert.Empty(t, fx.heartbeats)
	var te *temporal.TimeoutError
	assert.False(t, errors.As(err, &te))
}

// appError returns the application error inside the activity error the
// test environment returns.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "error %v is not an application error", err)
	return app
}

// A submit that returns after the workflow gave up on the step created a
// job nobody else would stop: the attempt that created it stops it.
func TestRunStopsAJobSubmittedAfterTheStepWasAbandoned(t *testing.T) {
	for _, abandoned := range []bool{true, false} {
		f := &fakeJob{}
		var stopped []string
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivityWithOptions(activities.Runner{
			Submit: f.submit,
			Wait:   f.wait,
			Cancel: func(ctx context.Context, req activities.StepRequest) error {
				require.NoError(t, ctx.Err(), "the stop runs in a context of its own")
				stopped = append(stopped, req.Job.ID)
				return nil
			},
			Abandoned: func(context.Context) bool { return abandoned },
		}.Run, activity.RegisterOptions{Name: activities.RunName("dli.sql")})
		_, err := env.ExecuteActivity(activities.RunName("dli.sql"), runRequest())
		if abandoned {
			assert.True(t, temporal.IsCanceledError(err), "error %v, want cancelled", err)
			assert.Equal(t, []string{"job-1"}, stopped)
			assert.Equal(t, 0, f.checks, "an abandoned step's job was polled")
		} else {
			require.NoError(t, err)
			assert.Empty(t, stopped)
			assert.Equal(t, 1, f.checks)
		}
	}
}

func TestAttemptAbandonedNeedsACancelledContext(t *testing.T) {
	assert.False(t, activities.AttemptAbandoned(context.Background()))
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("worker stopping"))
	assert.False(t, activities.AttemptAbandoned(ctx), "a cancel that does not come from the server")
	ctx, cancel = context.WithCancelCause(context.Background())
	cancel(temporal.NewCanceledError())
	assert.True(t, activities.AttemptAbandoned(ctx), "the server asked to cancel the activity")
	ctx, cancel = context.WithCancelCause(context.Background())
	cancel(serviceerror.NewNotFound("workflow execution already completed"))
	assert.True(t, activities.AttemptAbandoned(ctx), "the workflow closed")
	ctx, cancel = context.WithCancelCause(context.Background())
	cancel(serviceerror.NewNotFound("invalid activityID or activity already timed out or invoking workflow is completed"))
	assert.False(t, activities.AttemptAbandoned(ctx), "this attempt timed out; a retry may go on")
}

// The step's timeout is the schedule-to-close timeout, from the first
// attempt's scheduling: once it has passed no retry follows.
func TestStepOutOfTime(t *testing.T) {
	scheduled := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	info := activity.Info{ScheduledTime: scheduled, ScheduleToCloseTimeout: time.Minute, StartToCloseTimeout: 30 * time.Second}
	assert.False(t, activities.StepOutOfTime(info, scheduled.Add(30*time.Second)), "an attempt timed out with time left for a retry")
	assert.False(t, activities.StepOutOfTime(info, scheduled.Add(58*time.Second)))
	assert.True(t, activities.StepOutOfTime(info, scheduled.Add(59*time.Second)), "within the second's leeway")
	assert.True(t, activities.StepOutOfTime(info, scheduled.Add(2*time.Minute)))
	info.ScheduleToCloseTimeout = 0
	assert.False(t, activities.StepOutOfTime(info, scheduled.Add(time.Hour)), "no step timeout")
}

// A submit is not cut short by its attempt's deadline (a request cut short
// may still create a job nobody knows of); when it answers after the
// step ran out of time, the attempt stops the job it created.
func TestRunSubmitOutlivesTheDeadline(t *testing.T) {
	f := &fakeJob{}
	var stopped []string
	var sawDeadline bool
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(activities.Runner{
		Submit: func(ctx context.Context, req activities.StepRequest) (*activities.Job, error) {
			d, ok := ctx.Deadline()
			sawDeadline = ok && d.After(time.Now().Add(10*time.Minute))
			return f.submit(ctx, req)
		},
		Wait: f.wait,
		Cancel: func(ctx context.Context, req activities.StepRequest) error {
			stopped = append(stopped, req.Job.ID)
			return nil
		},
	}.Run, activity.RegisterOptions{Name: activities.RunName("dli.sql")})
	_, err := env.ExecuteActivity(activities.RunName("dli.sql"), runRequest())
	require.NoError(t, err)
	assert.True(t, sawDeadline, "the submit's deadline is the attempt's plus the late-submit allowance")
	assert.Empty(t, stopped)
}
