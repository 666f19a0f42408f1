package dli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/activities/dli"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/testenv/emulator"
)

// t0 is the fake clock's start; whole seconds keep ms fields exact.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

const (
	project       = "0123456789abcdef0123456789abcdef"
	workerProject = "fedcba9876543210fedcba9876543210"
	token         = "test-token-not-for-logs"

	// Emulator routes, as counted by Calls.
	routeSubmit = emulator.DLI + " POST /v1.0/{project_id}/jobs/submit-job"
	routeList   = emulator.DLI + " GET /v1.0/{project_id}/jobs"
	routeStatus = emulator.DLI + " GET /v1.0/{project_id}/jobs/{job_id}/status"
	routeCancel = emulator.DLI + " DELETE /v1.0/{project_id}/jobs/{job_id}"
)

var (
	submitName = activities.SubmitName(dli.KindSQL)
	waitName   = activities.WaitName(dli.KindSQL)
	cancelName = activities.CancelName(dli.KindSQL)
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

// hookTransport lets a test answer a request itself (fake) or act after
// the emulator answered (after).
type hookTransport struct {
	base  http.RoundTripper
	mu    sync.Mutex
	fake  func(*http.Request) *http.Response
	after func(*http.Request, *http.Response)
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	fake, after := h.fake, h.after
	h.mu.Unlock()
	if fake != nil {
		if resp := fake(r); resp != nil {
			return resp, nil
		}
	}
	resp, err := h.base.RoundTrip(r)
	if err == nil && after != nil {
		after(r, resp)
	}
	return resp, err
}

type fixture struct {
	t     *testing.T
	clock *fakeClock
	emu   *emulator.Emulator
	srv   *httptest.Server
	hooks *hookTransport
	acts  *dli.Activities
	env   *testsuite.TestActivityEnvironment
	logs  *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := &fakeClock{t: t0}
	// The activities send a fixed token, and call faster than the
	// documented rate limits allow.
	emu := emulator.New(emulator.Options{Now: clock.Now, AcceptAnyToken: true, DisableRateLimits: true})
	f := newFixtureFor(t, emu.Handler(emulator.DLI), clock)
	f.emu = emu
	return f
}

// newFixtureFor serves h (the emulator's DLI or a test's own handler) to
// activities registered in a test activity environment.
func newFixtureFor(t *testing.T, h http.Handler, clock *fakeClock) *fixture {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	hooks := &hookTransport{base: srv.Client().Transport}
	hc := &http.Client{Transport: &cloudapi.TokenTransport{
		Source: cloudapi.StaticToken(cloudapi.NewSecret(token)),
		Base:   hooks,
	}}
	f := &fixture{
		t:     t,
		clock: clock,
		srv:   srv,
		hooks: hooks,
		acts:  &dli.Activities{Client: dli.NewClient(srv.URL, hc), ProjectID: workerProject},
		logs:  &bytes.Buffer{},
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(f.logs, nil))))
	f.env = suite.NewTestActivityEnvironment()
	// Registered under the names the worker uses.
	f.env.RegisterActivityWithOptions(f.acts.SubmitSQL, activity.RegisterOptions{Name: submitName})
	f.env.RegisterActivityWithOptions(f.acts.WaitSQL, activity.RegisterOptions{Name: waitName})
	f.env.RegisterActivityWithOptions(f.acts.CancelSQL, activity.RegisterOptions{Name: cancelName})
	t.Cleanup(func() {
		assert.NotContains(t, f.logs.String(), token, "the token reached a log line")
	})
	return f
}

func request(with string) activities.StepRequest {
	return activities.StepRequest{
		Pipeline: "nightly",
		RunKey:   "nightly-wf/run-1",
		StepID:   "load",
		Kind:     dli.KindSQL,
		Attempt:  1,
		Cloud:    spec.Cloud{Region: "ap-southeast-1", ProjectID: project},
		With:     json.RawMessage(with),
		Poll:     planner.Poll{Interval: spec.Duration(3 * time.Second), MaxInterval: spec.Duration(40 * time.Second)},
	}
}

const selectSQL = `{"sql":"SELECT * FROM sales WHERE day = '2024-05-05'","queue":"etl_queue","database":"dw","conf":{"spark.sql.shuffle.partitions":"200","dli.sql.job.timeout":"3600000","a.first":"x=y","spark.sql.autoBroadcastJoinThreshold":"209715200","dli.sql.sqlasync.enabled":"true","spark.sql.files.maxRecordsPerFile":"0","b":""}}`

func (f *fixture) submit(req activities.StepRequest) (*activities.Job, error) {
	f.t.Helper()
	val, err := f.env.ExecuteActivity(submitName, req)
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
	val, err := f.env.ExecuteActivity(waitName, req)
	if err != nil {
		return nil, err
	}
	var res *activities.Result
	require.NoError(f.t, val.Get(&res))
	return res, nil
}

func (f *fixture) cancel(req activities.StepRequest) error {
	f.t.Helper()
	_, err := f.env.ExecuteActivity(cancelName, req)
	return err
}

func (f *fixture) calls(route string) int { return f.emu.Calls()[route] }

func (f *fixture) job(id string) emulator.DLIJob {
	f.t.Helper()
	j, ok := f.emu.DLIJob(id)
	require.True(f.t, ok, "the emulator has no job %s", id)
	return j
}

// appError returns the ApplicationError inside an activity's error.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%T %v is not an application error", err, err)
	return app
}

func TestSubmitCreatesOneTaggedJob(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	job := f.mustSubmit(req)

	jobs := f.emu.DLIJobs()
	require.Len(t, jobs, 1)
	j := jobs[0]
	assert.Equal(t, activities.Job{ID: j.ID, ProjectID: project, Reattached: false}, *job)
	assert.Equal(t, project, j.ProjectID)
	assert.Equal(t, "SELECT * FROM sales WHERE day = '2024-05-05'", j.SQL)
	assert.Equal(t, "etl_queue", j.Queue)
	assert.Equal(t, "dw", j.CurrentDB)
	assert.Equal(t, "QUERY", j.JobType)
	assert.Equal(t, []string{
		"a.first=x=y",
		"b=",
		"dli.sql.job.timeout=3600000",
		"dli.sql.sqlasync.enabled=true",
		"spark.sql.autoBroadcastJoinThreshold=209715200",
		"spark.sql.files.maxRecordsPerFile=0",
		"spark.sql.shuffle.partitions=200",
	}, j.Conf)
	assert.Equal(t, map[string]string{"pipectl-key": req.IdempotencyKey()}, j.Tags)
	assert.Equal(t, "LAUNCHING", j.Status)

	// It looked for an earlier job first, then created one.
	assert.Equal(t, map[string]int{routeList: 1, routeSubmit: 1}, f.emu.Calls())
	assert.Contains(t, f.logs.String(), "submitted DLI SQL job")
}

func TestSubmitWithoutOptionalFields(t *testing.T) {
	f := newFixture(t)
	job := f.mustSubmit(request(`{"sql":"INSERT INTO t SELECT 1"}`))
	j := f.job(job.ID)
	assert.Equal(t, "default", j.Queue) // the emulator's default: none was sent
	assert.Equal(t, "", j.CurrentDB)
	assert.Empty(t, j.Conf)
	assert.Equal(t, "INSERT", j.JobType)
}

func TestSubmitReattaches(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	first := f.mustSubmit(req)

	// The job moves on; the submit is retried (the first answer was lost).
	f.clock.Advance(500 * time.Millisecond)
	second := f.mustSubmit(req)

	assert.Equal(t, activities.Job{ID: first.ID, ProjectID: project, Reattached: true}, *second)
	require.Len(t, f.emu.DLIJobs(), 1)
	assert.Equal(t, 1, f.calls(routeSubmit))
	assert.Equal(t, 2, f.calls(routeList))
	assert.Contains(t, f.logs.String(), "re-attached to DLI SQL job")

	// Even after the job has finished.
	f.clock.Advance(time.Hour)
	third := f.mustSubmit(req)
	assert.Equal(t, first.ID, third.ID)
	assert.True(t, third.Reattached)
	assert.Len(t, f.emu.DLIJobs(), 1)
}

func TestSubmitNewAttemptNewJob(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	first := f.mustSubmit(req)

	req.Attempt = 2
	second := f.mustSubmit(req)
	assert.NotEqual(t, first.ID, second.ID)
	assert.False(t, second.Reattached)

	jobs := f.emu.DLIJobs()
	require.Len(t, jobs, 2)
	assert.Equal(t, first.ID, jobs[0].ID)
	assert.Equal(t, second.ID, jobs[1].ID)
	assert.Equal(t, map[string]string{"pipectl-key": request(selectSQL).IdempotencyKey()}, jobs[0].Tags)
	assert.Equal(t, map[string]string{"pipectl-key": req.IdempotencyKey()}, jobs[1].Tags)
	assert.NotEqual(t, jobs[0].Tags, jobs[1].Tags)

	// Another step of the same run is another job too.
	other := request(selectSQL)
	other.StepID = "load2"
	third := f.mustSubmit(other)
	assert.False(t, third.Reattached)
	assert.Len(t, f.emu.DLIJobs(), 3)
}

func TestSubmitProjectFromWorker(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	req.Cloud.ProjectID = ""
	job := f.mustSubmit(req)
	assert.Equal(t, workerProject, job.ProjectID)
	assert.Equal(t, workerProject, f.job(job.ID).ProjectID)

	// Jobs of another project are not re-attached to.
	req.Cloud.ProjectID = project
	other := f.mustSubmit(req)
	assert.False(t, other.Reattached)
	assert.Equal(t, project, f.job(other.ID).ProjectID)
}

func TestSubmitServiceError(t *testing.T) {
	f := newFixture(t)
	f.emu.AddRule(emulator.Rule{Match: "FROM sales", SubmitErrors: 1})
	req := request(selectSQL)

	_, err := f.submit(req)
	app := appError(t, err)
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, time.Duration(0), app.NextRetryDelay())
	assert.Equal(t, "DLI submit SQL job: HTTP 500 DLI.0999: Server-side errors occur (injected HTTP 500).", app.Message())
	assert.Empty(t, f.emu.DLIJobs())

	// Temporal retries; the retry creates the job, exactly once.
	job := f.mustSubmit(req)
	assert.False(t, job.Reattached)
	require.Len(t, f.emu.DLIJobs(), 1)
	assert.Equal(t, job.ID, f.emu.DLIJobs()[0].ID)
}

func TestSubmitThrottled(t *testing.T) {
	f := newFixture(t)
	f.emu.AddRule(emulator.Rule{SubmitErrors: 1, SubmitStatus: http.StatusTooManyRequests})
	_, err := f.submit(request(selectSQL))
	app := appError(t, err)
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, time.Second, app.NextRetryDelay()) // Retry-After: 1
	assert.Empty(t, f.emu.DLIJobs())
}

func TestSubmitRejected(t *testing.T) {
	for _, tc := range []struct {
		name, with, want string
	}{
		{"empty sql", `{"sql":"  "}`, "DLI submit SQL job: HTTP 400 DLI.0001: Parameter check errors occur: sql is mandatory and cannot be empty"},
		{"bad queue", `{"sql":"select 1","queue":"_bad"}`, "DLI submit SQL job: HTTP 400 DLI.0001: Parameter check errors occur: invalid queue_name \"_bad\": only digits, letters and underscores are allowed, not only digits, not starting with an underscore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.submit(request(tc.with))
			app := appError(t, err)
			assert.Equal(t, "RequestRejected", app.Type())
			assert.True(t, app.NonRetryable())
			assert.Equal(t, tc.want, app.Message())
			assert.Empty(t, f.emu.DLIJobs())
		})
	}
}

func TestSubmitInvalidInput(t *testing.T) {
	for _, tc := range []struct{ name, with, want string }{
		{"wrong type", `{"sql":42}`, "dli.sql input: json: cannot unmarshal number into Go struct field SQLInput.sql of type string"},
		{"conf not a map", `{"sql":"select 1","conf":["a=b"]}`, "dli.sql input: json: cannot unmarshal array into Go struct field SQLInput.conf of type map[string]string"},
		{"not an object", `"select 1"`, "dli.sql input: json: cannot unmarshal string into Go value of type dli.SQLInput"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.submit(request(tc.with))
			app := appError(t, err)
			assert.Equal(t, "RequestRejected", app.Type())
			assert.True(t, app.NonRetryable())
			assert.Equal(t, tc.want, app.Message())
			assert.Empty(t, f.emu.Calls(), "no request may reach the service")
		})
	}

	// Text that is no JSON at all cannot cross Temporal's JSON converter
	// (json.RawMessage refuses to encode it), so call the method itself.
	t.Run("not JSON", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.acts.SubmitSQL(context.Background(), request(`{"sql":`))
		app := appError(t, err)
		assert.Equal(t, "RequestRejected", app.Type())
		assert.True(t, app.NonRetryable())
		assert.Equal(t, "dli.sql input: unexpected end of JSON input", app.Message())
		assert.Empty(t, f.emu.Calls())
	})
}

func TestMissingProjectID(t *testing.T) {
	const want = "no project id: set cloud.project_id in the spec or the worker's project id"
	f := newFixture(t)
	f.acts.ProjectID = ""
	req := request(selectSQL)
	req.Cloud.ProjectID = ""

	_, err := f.submit(req)
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, want, app.Message())

	req.Job = &activities.Job{ID: "some-job"}
	_, err = f.wait(req)
	app = appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, want, app.Message())

	app = appError(t, f.cancel(req))
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, want, app.Message())

	assert.Empty(t, f.emu.Calls())
}

func TestUnauthenticated(t *testing.T) {
	f := newFixture(t)
	f.acts.Client = dli.NewClient(f.srv.URL, f.srv.Client()) // no token
	_, err := f.submit(request(selectSQL))
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "DLI list SQL jobs: HTTP 401 APIG.1002: Incorrect token or token resolution failed", app.Message())
	assert.Empty(t, f.emu.DLIJobs())
}

func TestWaitRunning(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	req.Job = f.mustSubmit(req)

	for _, tc := range []struct {
		advance time.Duration
		state   string
	}{
		{0, "LAUNCHING"},                    // the first 20% of the default 1s
		{500 * time.Millisecond, "RUNNING"}, // then RUNNING
		{499 * time.Millisecond, "RUNNING"}, // until just before the end
	} {
		f.clock.Advance(tc.advance)
		before := time.Now()
		_, err := f.wait(req)
		app := appError(t, err)
		assert.Equal(t, "StillRunning", app.Type())
		assert.False(t, app.NonRetryable())
		assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category())
		// The test environment runs attempt 1: the poll interval.
		assert.Equal(t, activities.NextPoll(req.Poll, 1), app.NextRetryDelay())
		assert.Equal(t, 3*time.Second, app.NextRetryDelay())
		assert.Equal(t, "job "+req.Job.ID+" is "+tc.state, app.Message())

		var p activities.Progress
		require.NoError(t, app.Details(&p))
		assert.Equal(t, req.Job.ID, p.JobID)
		assert.Equal(t, tc.state, p.State)
		assert.Equal(t, 0.0, p.Percent)
		assert.False(t, p.Checked.Before(before.Truncate(time.Second)), "checked %v before %v", p.Checked, before)
		assert.False(t, p.Checked.After(time.Now()))
	}
	assert.Equal(t, 3, f.job(req.Job.ID).StatusCalls)
	assert.Equal(t, 0, f.calls(routeCancel))
}

func TestWaitFinished(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	req.Job = f.mustSubmit(req)
	f.clock.Advance(5 * time.Second)

	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, &activities.Result{
		State: "FINISHED",
		Outputs: map[string]string{
			"job_id":          req.Job.ID,
			"job_type":        "QUERY",
			"input_row_count": "0",
			"bad_row_count":   "0",
			"result_count":    "0",
			"duration_ms":     "1000",
		},
	}, res)
	assert.Equal(t, 1, f.job(req.Job.ID).StatusCalls)
}

func TestWaitFailed(t *testing.T) {
	f := newFixture(t)
	const msg = "DLI.0005: Table or view not found: dw.sales_typo"
	f.emu.AddRule(emulator.Rule{Match: "sales_typo", FailMessage: msg, Duration: 10 * time.Second})
	req := request(`{"sql":"SELECT * FROM dw.sales_typo"}`)
	req.Job = f.mustSubmit(req)

	// Still running until the rule's duration is over.
	f.clock.Advance(9 * time.Second)
	_, err := f.wait(req)
	assert.Equal(t, "StillRunning", appError(t, err).Type())

	f.clock.Advance(time.Second)
	_, err = f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "JobFailed", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Contains(t, app.Message(), msg)
	assert.Equal(t, "job "+req.Job.ID+" ended FAILED: "+msg, app.Message())
	var res activities.Result
	require.NoError(t, app.Details(&res))
	assert.Equal(t, activities.Result{JobID: req.Job.ID, State: "FAILED", Message: msg}, res)
}

func TestWaitCancelledElsewhere(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	req.Job = f.mustSubmit(req)
	require.NoError(t, f.cancel(req))

	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "JobCancelled", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "job "+req.Job.ID+" ended CANCELLED: no message from the service", app.Message())
}

func TestWaitUsesTheJobsProject(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	req.Job = f.mustSubmit(req)
	f.clock.Advance(5 * time.Second)

	// The plan's project changed since; the job stays where it was made.
	req.Cloud.ProjectID = "another-project"
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, "FINISHED", res.State)
}

func TestWaitWithoutJob(t *testing.T) {
	f := newFixture(t)
	for name, job := range map[string]*activities.Job{"nil": nil, "empty": {}} {
		req := request(selectSQL)
		req.Job = job
		_, err := f.wait(req)
		app := appError(t, err)
		assert.Equal(t, "RequestRejected", app.Type(), name)
		assert.True(t, app.NonRetryable(), name)
		assert.Equal(t, "wait without a job", app.Message(), name)
	}
	assert.Empty(t, f.emu.Calls())
}

func TestWaitUnknownJob(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	req.Job = &activities.Job{ID: "95fcc908-9f1b-446c-8643-5653891d9fd9", ProjectID: project}
	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "DLI get SQL job status: HTTP 400 DLI.0002: The job with id 95fcc908-9f1b-446c-8643-5653891d9fd9 does not exist.", app.Message())
}

func TestWaitServiceUnavailable(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	req.Job = f.mustSubmit(req)
	f.hooks.fake = func(r *http.Request) *http.Response {
		return &http.Response{
			StatusCode: http.StatusServiceUnavailable,
			Header:     http.Header{"Retry-After": {"12"}},
			Body:       io.NopCloser(strings.NewReader(`{"error_code":"DLI.0999","error_msg":"queue busy"}`)),
			Request:    r,
		}
	}
	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, 12*time.Second, app.NextRetryDelay())
	assert.Equal(t, "DLI get SQL job status: HTTP 503 DLI.0999: queue busy", app.Message())
}

func TestCancelRunning(t *testing.T) {
	for _, tc := range []struct {
		advance time.Duration
		state   string
	}{{0, "LAUNCHING"}, {600 * time.Millisecond, "RUNNING"}} {
		t.Run(tc.state, func(t *testing.T) {
			f := newFixture(t)
			req := request(selectSQL)
			req.Job = f.mustSubmit(req)
			f.clock.Advance(tc.advance)
			require.Equal(t, tc.state, f.job(req.Job.ID).Status)

			require.NoError(t, f.cancel(req))
			j := f.job(req.Job.ID)
			assert.Equal(t, "CANCELLED", j.Status)
			assert.Equal(t, t0.Add(tc.advance), j.EndedAt)
			assert.Equal(t, 1, f.calls(routeCancel))
			assert.Equal(t, 1, f.calls(routeStatus))
			assert.Contains(t, f.logs.String(), "cancelled DLI SQL job")

			// Cancelling again is a no-op success: the job already ended.
			require.NoError(t, f.cancel(req))
			assert.Equal(t, 1, f.calls(routeCancel))
			assert.Equal(t, "CANCELLED", f.job(req.Job.ID).Status)
		})
	}
}

func TestCancelEnded(t *testing.T) {
	f := newFixture(t)
	f.emu.AddRule(emulator.Rule{Match: "broken", FailMessage: "syntax error"})
	finished := request(selectSQL)
	finished.Job = f.mustSubmit(finished)
	failed := request(`{"sql":"SELECT broken"}`)
	failed.StepID = "other"
	failed.Job = f.mustSubmit(failed)
	f.clock.Advance(time.Minute)

	require.NoError(t, f.cancel(finished))
	require.NoError(t, f.cancel(failed))
	assert.Equal(t, "FINISHED", f.job(finished.Job.ID).Status)
	assert.Equal(t, "FAILED", f.job(failed.Job.ID).Status)
	assert.Equal(t, 0, f.calls(routeCancel), "no DELETE for an ended job")
	assert.Equal(t, 2, f.calls(routeStatus))
}

func TestCancelFindsJobByKey(t *testing.T) {
	for name, job := range map[string]*activities.Job{"nil": nil, "empty": {}} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			req := request(selectSQL)
			submitted := f.mustSubmit(req)
			// Another attempt's job must not be touched.
			other := request(selectSQL)
			other.Attempt = 2
			otherJob := f.mustSubmit(other)
			f.clock.Advance(300 * time.Millisecond)

			req.Job = job // submit's answer never reached the workflow
			require.NoError(t, f.cancel(req))
			assert.Equal(t, "CANCELLED", f.job(submitted.ID).Status)
			assert.Equal(t, "RUNNING", f.job(otherJob.ID).Status)
			assert.Equal(t, 1, f.calls(routeCancel))
		})
	}
}

func TestCancelNothingSubmitted(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.cancel(request(selectSQL)))
	assert.Equal(t, map[string]int{routeList: 1}, f.emu.Calls())
}

func TestCancelJobEndsMeanwhile(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	req.Job = f.mustSubmit(req)
	f.clock.Advance(500 * time.Millisecond)
	// The job finishes between cancel's status check and its DELETE, which
	// DLI then refuses (400 DLI.0007).
	var once sync.Once
	f.hooks.after = func(r *http.Request, _ *http.Response) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/status") {
			once.Do(func() { f.clock.Advance(time.Second) })
		}
	}
	require.NoError(t, f.cancel(req))
	assert.Equal(t, "FINISHED", f.job(req.Job.ID).Status)
	assert.Equal(t, 1, f.calls(routeCancel))
	assert.Equal(t, 2, f.calls(routeStatus))
}

func TestCancelRejectedWhileRunning(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	req.Job = f.mustSubmit(req)
	f.clock.Advance(500 * time.Millisecond)
	f.hooks.fake = func(r *http.Request) *http.Response {
		if r.Method != http.MethodDelete {
			return nil
		}
		return &http.Response{
			StatusCode: http.StatusForbidden,
			Header:     http.Header{},
			Body:       io.NopCloser(strings.NewReader(`{"error_code":"DLI.0003","error_msg":"Permission denied"}`)),
			Request:    r,
		}
	}
	app := appError(t, f.cancel(req))
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "DLI cancel SQL job: HTTP 403 DLI.0003: Permission denied", app.Message())
	assert.Equal(t, "RUNNING", f.job(req.Job.ID).Status)
	assert.Equal(t, 2, f.calls(routeStatus), "the job was looked at again before giving up")
}

func TestCancelServiceUnavailable(t *testing.T) {
	f := newFixture(t)
	req := request(selectSQL)
	req.Job = f.mustSubmit(req)
	f.hooks.fake = func(r *http.Request) *http.Response {
		if r.Method != http.MethodDelete {
			return nil
		}
		return &http.Response{
			StatusCode: http.StatusBadGateway,
			Header:     http.Header{},
			Body:       io.NopCloser(strings.NewReader("<html>bad gateway</html>")),
			Request:    r,
		}
	}
	app := appError(t, f.cancel(req))
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, "DLI cancel SQL job: HTTP 502: <html>bad gateway</html>", app.Message())
	assert.Equal(t, "LAUNCHING", f.job(req.Job.ID).Status)
	assert.Equal(t, 1, f.calls(routeStatus))
}

// stubDLI answers the status call with the given state and anything else
// with an empty job list.
func stubDLI(state string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/status") {
			_, _ = io.WriteString(w, `{"is_success":true,"message":"","job_id":"j-1","status":"`+state+`"}`)
			return
		}
		_, _ = io.WriteString(w, `{"is_success":true,"message":"","job_count":0,"jobs":[]}`)
	})
}

func TestWaitUnknownState(t *testing.T) {
	f := newFixtureFor(t, stubDLI("QUEUED"), &fakeClock{t: t0})
	req := request(selectSQL)
	req.Job = &activities.Job{ID: "j-1", ProjectID: project}
	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "StillRunning", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category())
	assert.Equal(t, 40*time.Second, app.NextRetryDelay()) // the cap
	assert.Equal(t, "job j-1 is QUEUED", app.Message())
	assert.Contains(t, f.logs.String(), "unknown DLI job state")
}

func TestWaitScaling(t *testing.T) {
	f := newFixtureFor(t, stubDLI("SCALING"), &fakeClock{t: t0})
	req := request(selectSQL)
	req.Job = &activities.Job{ID: "j-1", ProjectID: project}
	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "StillRunning", app.Type())
	assert.Equal(t, 3*time.Second, app.NextRetryDelay())
	assert.NotContains(t, f.logs.String(), "unknown DLI job state")
}
