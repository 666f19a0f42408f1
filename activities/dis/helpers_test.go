package dis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/activities/dis"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/testenv/emulator"
)

// t0 is the fake clock's start.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

const (
	project       = "0123456789abcdef0123456789abcdef"
	workerProject = "fedcba9876543210fedcba9876543210"
	token         = "test-token-not-for-logs"

	// Emulator routes, as counted by Calls.
	routeCreateStream   = emulator.DIS + " POST /v2/{project_id}/streams"
	routeDescribeStream = emulator.DIS + " GET /v2/{project_id}/streams/{stream_name}"
	routeScale          = emulator.DIS + " PUT /v2/{project_id}/streams/{stream_name}"
	routeCreateTask     = emulator.DIS + " POST /v2/{project_id}/streams/{stream_name}/transfer-tasks"
	routeDescribeTask   = emulator.DIS + " GET /v2/{project_id}/streams/{stream_name}/transfer-tasks/{task_name}"
	routeTaskAction     = emulator.DIS + " POST /v2/{project_id}/streams/{stream_name}/transfer-tasks/action"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mapSecrets is a secret source for tests.
type mapSecrets map[string]string

func (m mapSecrets) Secret(_ context.Context, name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("secret %s is not set", name)
}

// hookTransport lets a test answer a request itself.
type hookTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	fake func(*http.Request) *http.Response
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	fake := h.fake
	h.mu.Unlock()
	if fake != nil {
		if resp := fake(r); resp != nil {
			return resp, nil
		}
	}
	return h.base.RoundTrip(r)
}

type fixture struct {
	t      *testing.T
	clock  *fakeClock
	emu    *emulator.Emulator
	srv    *httptest.Server
	hooks  *hookTransport
	client *dis.Client // sets the scene, bypassing hooks
	acts   *dis.Activities
	env    *testsuite.TestActivityEnvironment
	logs   *bytes.Buffer

	mu         sync.Mutex
	heartbeats []json.RawMessage // details submit recorded, in order
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := &fakeClock{t: t0}
	// The activities send a fixed token and call faster than the
	// documented rate limits allow.
	emu := emulator.New(emulator.Options{Now: clock.Now, AcceptAnyToken: true, DisableRateLimits: true})
	srv := httptest.NewServer(emu.Handler(emulator.DIS))
	t.Cleanup(srv.Close)
	hooks := &hookTransport{base: srv.Client().Transport}
	hc := &http.Client{Transport: &cloudapi.TokenTransport{
		Source: cloudapi.StaticToken(cloudapi.NewSecret(token)),
		Base:   hooks,
	}}
	f := &fixture{
		t:     t,
		clock: clock,
		emu:   emu,
		srv:   srv,
		hooks: hooks,
		client: dis.NewClient(srv.URL, &http.Client{Transport: &cloudapi.TokenTransport{
			Source: cloudapi.StaticToken(cloudapi.NewSecret(token)),
			Base:   srv.Client().Transport,
		}}),
		acts: dis.NewActivities(srv.URL, hc, workerProject, mapSecrets{"dws_password": "s3cr3t-Dws-pw", "bucket": "secret-bucket"}),
		logs: &bytes.Buffer{},
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(f.logs, nil))))
	f.env = suite.NewTestActivityEnvironment()
	f.env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var raw json.RawMessage
		if details.Get(&raw) == nil {
			f.mu.Lock()
			f.heartbeats = append(f.heartbeats, raw)
			f.mu.Unlock()
		}
	})
	// Registered under the names the worker uses.
	for _, k := range []struct {
		kind                 string
		submit, wait, cancel any
	}{
		{dis.KindStream, f.acts.SubmitStream, f.acts.WaitStream, f.acts.CancelStream},
		{dis.KindDumpTask, f.acts.SubmitDumpTask, f.acts.WaitDumpTask, f.acts.CancelDumpTask},
	} {
		f.env.RegisterActivityWithOptions(k.submit, activity.RegisterOptions{Name: activities.SubmitName(k.kind)})
		f.env.RegisterActivityWithOptions(k.wait, activity.RegisterOptions{Name: activities.WaitName(k.kind)})
		f.env.RegisterActivityWithOptions(k.cancel, activity.RegisterOptions{Name: activities.CancelName(k.kind)})
	}
	t.Cleanup(func() {
		for _, s := range []string{token, "s3cr3t-Dws-pw", "secret-bucket"} {
			assert.NotContains(t, f.logs.String(), s, "a credential reached a log line")
		}
	})
	return f
}

func request(kind, with string) activities.StepRequest {
	return activities.StepRequest{
		Pipeline: "ingest",
		RunKey:   "ingest-wf/run-1",
		StepID:   "ensure",
		Kind:     kind,
		Attempt:  1,
		Cloud:    spec.Cloud{Region: "ap-southeast-1", ProjectID: project},
		With:     json.RawMessage(with),
		Poll:     planner.Poll{Interval: spec.Duration(3 * time.Second), MaxInterval: spec.Duration(40 * time.Second)},
	}
}

func (f *fixture) submit(req activities.StepRequest) (*activities.Job, error) {
	f.t.Helper()
	val, err := f.env.ExecuteActivity(activities.SubmitName(req.Kind), req)
	if err != nil {
		return nil, err
	}
	var job *activities.Job
	require.NoError(f.t, val.Get(&job))
	return job, nil
}

func (f *fixture) mustSubmit(req activities.StepRequest) *activities.Job {
	f.t.Helper()
	job, err := f.submit(req)
	require.NoError(f.t, err)
	require.NotNil(f.t, job)
	return job
}

func (f *fixture) wait(req activities.StepRequest) (*activities.Result, error) {
	f.t.Helper()
	val, err := f.env.ExecuteActivity(activities.WaitName(req.Kind), req)
	if err != nil {
		return nil, err
	}
	var res *activities.Result
	require.NoError(f.t, val.Get(&res))
	return res, nil
}

func (f *fixture) cancel(req activities.StepRequest) error {
	f.t.Helper()
	_, err := f.env.ExecuteActivity(activities.CancelName(req.Kind), req)
	return err
}

func (f *fixture) calls(route string) int { return f.emu.Calls()[route] }

// stream returns the emulator's view of a stream of the test project.
func (f *fixture) stream(name string) emulator.DISStream {
	f.t.Helper()
	s, ok := f.emu.DISStream(project, name)
	require.True(f.t, ok, "the emulator has no stream %s", name)
	return s
}

// task returns the emulator's view of a dump task of the test project.
func (f *fixture) task(stream, name string) emulator.DISDumpTask {
	f.t.Helper()
	task, ok := f.emu.DISDumpTask(project, stream, name)
	require.True(f.t, ok, "the emulator has no dump task %s/%s", stream, name)
	return task
}

// runningStream creates a RUNNING stream outside the activities, as an
// earlier pipeline or a person would have.
func (f *fixture) runningStream(req dis.CreateStreamRequest) {
	f.t.Helper()
	require.NoError(f.t, f.client.CreateStream(context.Background(), project, req))
	f.clock.Advance(time.Second) // the emulator's default creation time
	require.Equal(f.t, "RUNNING", f.stream(req.StreamName).Status)
}

// assertStillRunning checks a wait's "still running" answer.
func assertStillRunning(t *testing.T, err error, jobID, state string, delay time.Duration) {
	t.Helper()
	app := appError(t, err)
	assert.Equal(t, activities.ErrStillRunning, app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category())
	assert.Equal(t, delay, app.NextRetryDelay())
	assert.Equal(t, "job "+jobID+" is "+state, app.Message())
	var p activities.Progress
	require.NoError(t, app.Details(&p))
	assert.Equal(t, jobID, p.JobID)
	assert.Equal(t, state, p.State)
	assert.False(t, p.Checked.IsZero())
}

// appError returns the ApplicationError inside an activity's error.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%T %v is not an application error", err, err)
	return app
}

// assertRejected checks a non-retryable rejection and its message.
func assertRejected(t *testing.T, err error, msg string) {
	t.Helper()
	app := appError(t, err)
	assert.Equal(t, activities.ErrRequestRejected, app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, msg, app.Message())
}

// assertRetryable checks a transient failure and its message.
func assertRetryable(t *testing.T, err error, msg string, delay time.Duration) {
	t.Helper()
	app := appError(t, err)
	assert.Equal(t, activities.ErrServiceUnavailable, app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, delay, app.NextRetryDelay())
	if msg != "" {
		assert.Equal(t, msg, app.Message())
	}
}
