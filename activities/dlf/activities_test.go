package dlf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/activities/dlf"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/testenv/emulator"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

const (
	project       = "0123456789abcdef0123456789abcdef"
	workerProject = "fedcba9876543210fedcba9876543210"
	token         = "test-token-not-for-logs"
	dwPassword    = "dw-Passw0rd-not-for-logs"
	jobName       = "daily_load"

	runRoute     = "POST /v1/{project_id}/jobs/{job_name}/run-immediate"
	routeRun     = emulator.DLF + " " + runRoute
	routeList    = emulator.DLF + " GET /v1/{project_id}/jobs/instances/detail"
	routeInst    = emulator.DLF + " GET /v1/{project_id}/jobs/{job_name}/instances/{instance_id}"
	routeStop    = emulator.DLF + " POST /v1/{project_id}/jobs/{job_name}/instances/{instance_id}/stop"
	withParams   = `{"job_name":"daily_load","params":{"bizdate":"2024-05-05","db_password":"${secret.DW_PASSWORD}"}}`
	withNoParams = `{"job_name":"daily_load"}`
)

var (
	submitName = activities.SubmitName(dlf.KindJob)
	waitName   = activities.WaitName(dlf.KindJob)
	cancelName = activities.CancelName(dlf.KindJob)
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

type secretMap map[string]string

func (m secretMap) Secret(_ context.Context, name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("secret %s is not set on this worker", name)
}

// sent is a request as it reached the service.
type sent struct{ method, path, workspace, body string }

// recordingTransport records every request and lets a test answer or
// delay one itself.
type recordingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []sent
	fake func(*http.Request) *http.Response
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, sent{r.Method, r.URL.Path, r.Header.Get("workspace"), string(body)})
	fake := rt.fake
	rt.mu.Unlock()
	if fake != nil {
		if resp := fake(r); resp != nil {
			return resp, nil
		}
	}
	return rt.base.RoundTrip(r)
}

func (rt *recordingTransport) setFake(fake func(*http.Request) *http.Response) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.fake = fake
}

func (rt *recordingTransport) sent() []sent {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]sent(nil), rt.reqs...)
}

type fixture struct {
	t     *testing.T
	clock *fakeClock
	emu   *emulator.Emulator
	srv   *httptest.Server
	rec   *recordingTransport
	acts  *dlf.Activities
	env   *testsuite.TestActivityEnvironment
	logs  *bytes.Buffer

	hbMu       sync.Mutex
	heartbeats []map[string]any
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now, AcceptAnyToken: true, DisableRateLimits: true})
	f := newFixtureFor(t, emu.Handler(emulator.DLF), clock)
	f.emu = emu
	return f
}

func newFixtureFor(t *testing.T, h http.Handler, clock *fakeClock) *fixture {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rec := &recordingTransport{base: srv.Client().Transport}
	hc := &http.Client{Transport: &cloudapi.TokenTransport{Source: cloudapi.StaticToken(cloudapi.NewSecret(token)), Base: rec}}
	f := &fixture{
		t:     t,
		clock: clock,
		srv:   srv,
		rec:   rec,
		acts:  dlf.NewActivities(srv.URL, hc, workerProject, secretMap{"DW_PASSWORD": dwPassword}),
		logs:  &bytes.Buffer{},
	}
	f.newEnv()
	t.Cleanup(func() {
		assert.NotContains(t, f.logs.String(), token, "the token reached a log line")
		assert.NotContains(t, f.logs.String(), dwPassword, "a secret reached a log line")
	})
	return f
}

// newEnv starts a fresh activity environment: a new activity, without
// heartbeat details from an earlier attempt.
func (f *fixture) newEnv() {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(f.logs, nil))))
	f.env = suite.NewTestActivityEnvironment()
	f.env.RegisterActivityWithOptions(f.acts.SubmitJob, activity.RegisterOptions{Name: submitName})
	f.env.RegisterActivityWithOptions(f.acts.WaitJob, activity.RegisterOptions{Name: waitName})
	f.env.RegisterActivityWithOptions(f.acts.CancelJob, activity.RegisterOptions{Name: cancelName})
	f.env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var m map[string]any
		require.NoError(f.t, d.Get(&m))
		f.hbMu.Lock()
		f.heartbeats = append(f.heartbeats, m)
		f.hbMu.Unlock()
	})
}

// retryWithHeartbeat hands the last heartbeat to the next execution, as
// Temporal does for the next attempt of an activity.
func (f *fixture) retryWithHeartbeat() map[string]any {
	f.t.Helper()
	f.hbMu.Lock()
	defer f.hbMu.Unlock()
	require.NotEmpty(f.t, f.heartbeats, "no heartbeat recorded")
	hb := f.heartbeats[len(f.heartbeats)-1]
	f.env.SetHeartbeatDetails(hb)
	return hb
}

// dlfCall calls the emulator directly, as a person in DataArts would.
func (f *fixture) dlfCall(method, path, workspace, body string) []byte {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	require.NoError(f.t, err)
	req.Header.Set("X-Auth-Token", "setup")
	req.Header.Set("Content-Type", "application/json")
	if workspace != "" {
		req.Header.Set("workspace", workspace)
	}
	resp, err := f.srv.Client().Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Less(f.t, resp.StatusCode, 300, "%s %s: %s", method, path, b)
	return b
}

// createJob creates a two-node batch job: copy_orders, then aggregate.
// With the default 1s duration an instance waits for 200ms, then each
// node runs for 400ms.
func (f *fixture) createJob(name, workspace string) {
	f.t.Helper()
	node := func(n, typ, pre string) string {
		preList := "[]"
		if pre != "" {
			preList = `["` + pre + `"]`
		}
		return fmt.Sprintf(`{"name":%q,"type":%q,"location":{"x":"10.0","y":"20.0"},"preNodeName":%s,
			"properties":[{"name":"scriptName","value":"agg_orders"},{"name":"clusterName","value":"cdm-1"},{"name":"jobName","value":"mysql2obs"}]}`, n, typ, preList)
	}
	body := `{"name":"` + name + `","jobType":"BATCH","schedule":{"type":"EXECUTE_ONCE"},"params":[{"name":"bizdate","value":"2024-01-01"}],"nodes":[` +
		node("copy_orders", "CDMJob", "") + "," + node("aggregate", "DLISQL", "copy_orders") + `]}`
	f.dlfCall(http.MethodPost, "/v1/"+project+"/jobs", workspace, body)
}

// runByHand runs the job outside the pipeline and returns the instance ID.
func (f *fixture) runByHand(name string) int64 {
	f.t.Helper()
	var out struct {
		InstanceID int64 `json:"instanceId"`
	}
	require.NoError(f.t, json.Unmarshal(f.dlfCall(http.MethodPost, "/v1/"+project+"/jobs/"+name+"/run-immediate", "", ""), &out))
	return out.InstanceID
}

func request(with string) activities.StepRequest {
	return activities.StepRequest{
		Pipeline: "nightly",
		RunKey:   "nightly-wf/run-1",
		StepID:   "load",
		Kind:     dlf.KindJob,
		Attempt:  1,
		Cloud:    spec.Cloud{Region: "ap-southeast-1", ProjectID: project},
		With:     json.RawMessage(with),
		Poll:     planner.Poll{Interval: spec.Duration(3 * time.Second), MaxInterval: spec.Duration(40 * time.Second)},
	}
}

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

func (f *fixture) instance(id int64) emulator.DLFInstance {
	f.t.Helper()
	for _, in := range f.emu.DLFInstances() {
		if in.ID == id {
			return in
		}
	}
	f.t.Fatalf("the emulator has no instance %d", id)
	return emulator.DLFInstance{}
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%T %v is not an application error", err, err)
	return app
}

func TestSubmitRunsJob(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "")
	req := request(withParams)
	job := f.mustSubmit(req)

	ins := f.emu.DLFInstances()
	require.Len(t, ins, 1)
	in := ins[0]
	assert.Equal(t, activities.Job{ID: "daily_load/10001", ProjectID: project}, *job)
	assert.Equal(t, int64(10001), in.ID)
	assert.Equal(t, jobName, in.JobName)
	assert.Equal(t, "run-immediate", in.Trigger)
	assert.Equal(t, "", in.Workspace)
	// The secret is resolved for the call; the key rides along.
	assert.Equal(t, map[string]string{"bizdate": "2024-05-05", "db_password": dwPassword, "pipectl_key": req.IdempotencyKey()}, in.Params)
	assert.Equal(t, "waiting", in.Status)
	assert.Equal(t, 1, f.calls(routeList))
	assert.Equal(t, 1, f.calls(routeRun))

	// Before running, submit noted the job's newest instance (none).
	assert.Equal(t, map[string]any{"key": req.IdempotencyKey(), "job_name": jobName, "after": float64(0)}, f.retryWithHeartbeat())
	logs := f.logs.String()
	assert.Contains(t, logs, "ran DataArts job")
	assert.Contains(t, logs, "params=bizdate,db_password,pipectl_key")
}

func TestSubmitWorkspace(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "ws-42")
	req := request(`{"job_name":"daily_load","workspace":"ws-42"}`)
	req.Job = f.mustSubmit(req)
	in := f.instance(10001)
	assert.Equal(t, "ws-42", in.Workspace)
	assert.Equal(t, map[string]string{"pipectl_key": req.IdempotencyKey()}, in.Params)

	f.clock.Advance(time.Minute)
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, "success", res.State)
	require.NoError(t, f.cancel(req))
	for _, s := range f.rec.sent() {
		assert.Equal(t, "ws-42", s.workspace, "%s %s", s.method, s.path)
	}

	// The default workspace has no such job.
	other := request(withNoParams)
	other.StepID = "other"
	_, err = f.submit(other)
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "DLF run job: HTTP 400 DLF.0100: The job does not exists.", app.Message())
}

func TestEndToEnd(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "")
	req := request(withParams)
	req.Job = f.mustSubmit(req)

	for _, tc := range []struct {
		advance time.Duration
		state   string
		percent float64
	}{
		{0, "waiting", 0},
		{200 * time.Millisecond, "running", 0},  // copy_orders runs
		{400 * time.Millisecond, "running", 50}, // aggregate runs
		{399 * time.Millisecond, "running", 50},
	} {
		f.clock.Advance(tc.advance)
		_, err := f.wait(req)
		app := appError(t, err)
		assert.Equal(t, "StillRunning", app.Type())
		assert.False(t, app.NonRetryable())
		assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category())
		assert.Equal(t, activities.NextPoll(req.Poll, 1), app.NextRetryDelay())
		assert.Equal(t, 3*time.Second, app.NextRetryDelay())
		assert.Equal(t, "job daily_load/10001 is "+tc.state, app.Message())
		var p activities.Progress
		require.NoError(t, app.Details(&p))
		assert.Equal(t, "daily_load/10001", p.JobID)
		assert.Equal(t, tc.state, p.State)
		assert.Equal(t, tc.percent, p.Percent)
	}

	f.clock.Advance(time.Millisecond)
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, &activities.Result{State: "success", Outputs: map[string]string{"instance_id": "10001", "status": "success"}}, res)
	assert.Equal(t, 5, f.calls(routeInst))
	assert.Equal(t, 0, f.calls(routeStop))
}

func TestWaitFailed(t *testing.T) {
	f := newFixture(t)
	const reason = "DLI.0005: Table or view not found: dw.orders"
	f.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: jobName, FailMessage: reason, Duration: 10 * time.Second})
	f.createJob(jobName, "")
	req := request(withNoParams)
	req.Job = f.mustSubmit(req)

	f.clock.Advance(9 * time.Second)
	_, err := f.wait(req)
	assert.Equal(t, "StillRunning", appError(t, err).Type())

	f.clock.Advance(time.Second)
	_, err = f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "JobFailed", app.Type())
	assert.True(t, app.NonRetryable())
	msg := "node aggregate (DLISQL) failed: " + reason
	assert.Equal(t, "job daily_load/10001 ended fail: "+msg, app.Message())
	var res activities.Result
	require.NoError(t, app.Details(&res))
	assert.Equal(t, activities.Result{JobID: "daily_load/10001", State: "fail", Message: msg}, res)
}

func TestWaitStoppedElsewhere(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "")
	req := request(withNoParams)
	req.Job = f.mustSubmit(req)
	f.clock.Advance(300 * time.Millisecond)
	f.dlfCall(http.MethodPost, "/v1/"+project+"/jobs/daily_load/instances/10001/stop", "", "")

	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "JobCancelled", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "job daily_load/10001 ended CANCELLED: the instance was stopped (DataArts status manual-stop)", app.Message())
}

func TestSubmitServiceError(t *testing.T) {
	for _, tc := range []struct {
		status int
		msg    string
		delay  time.Duration
	}{
		{http.StatusInternalServerError, "DLF run job: HTTP 500 APIGW.0500: Injected failure (HTTP 500).", 0},
		{http.StatusTooManyRequests, "DLF run job: HTTP 429 APIGW.0429: Injected failure (HTTP 429).", time.Second},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f := newFixture(t)
			f.createJob(jobName, "")
			// The emulator decides a job's first run when the job is
			// created, so injected run errors need an earlier run.
			earlier := f.runByHand(jobName)
			f.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: jobName, SubmitErrors: 1, SubmitStatus: tc.status})

			req := request(withParams)
			_, err := f.submit(req)
			app := appError(t, err)
			assert.Equal(t, "ServiceUnavailable", app.Type())
			assert.False(t, app.NonRetryable())
			assert.Equal(t, tc.delay, app.NextRetryDelay())
			assert.Equal(t, tc.msg, app.Message())
			require.Len(t, f.emu.DLFInstances(), 1)

			// Temporal retries with the heartbeat: the earlier run is not
			// this step's, so the job is run, once.
			assert.Equal(t, float64(earlier), f.retryWithHeartbeat()["after"])
			job := f.mustSubmit(req)
			assert.Equal(t, activities.Job{ID: "daily_load/10002", ProjectID: project}, *job)
			require.Len(t, f.emu.DLFInstances(), 2)
			assert.Equal(t, req.IdempotencyKey(), f.instance(10002).Params["pipectl_key"])
			assert.Equal(t, 3, f.calls(routeRun)) // by hand, refused, this run
		})
	}
}

func TestSubmitResponseLost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		advance time.Duration
		status  string
	}{{"still running", 300 * time.Millisecond, "running"}, {"already ended", time.Minute, "success"}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.createJob(jobName, "")
			earlier := f.runByHand(jobName) // someone ran it before
			f.clock.Advance(time.Hour)
			_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.DLF, Route: runRoute, Count: 1})
			require.NoError(t, err)

			req := request(withParams)
			_, err = f.submit(req)
			app := appError(t, err)
			assert.Equal(t, "ServiceUnavailable", app.Type())
			assert.False(t, app.NonRetryable())
			require.Len(t, f.emu.DLFInstances(), 2, "the run happened, its answer was lost")

			f.clock.Advance(tc.advance)
			f.retryWithHeartbeat()
			job := f.mustSubmit(req)
			assert.Equal(t, activities.Job{ID: "daily_load/10002", ProjectID: project, Reattached: true}, *job)
			require.Len(t, f.emu.DLFInstances(), 2, "no second run")
			assert.Equal(t, 2, f.calls(routeRun)) // by hand, the lost one
			assert.Equal(t, tc.status, f.instance(10002).Status)
			assert.Equal(t, "success", f.instance(earlier).Status)
			assert.Contains(t, f.logs.String(), "re-attached to DataArts job instance")
		})
	}
}

func TestSubmitNewAttemptNewRun(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "")
	req := request(withParams)
	first := f.mustSubmit(req)

	// A new attempt of the step is a new activity: no heartbeat.
	f.newEnv()
	req.Attempt = 2
	second := f.mustSubmit(req)
	assert.Equal(t, "daily_load/10001", first.ID)
	assert.Equal(t, "daily_load/10002", second.ID)
	assert.False(t, second.Reattached)
	assert.Equal(t, request(withParams).IdempotencyKey(), f.instance(10001).Params["pipectl_key"])
	assert.Equal(t, req.IdempotencyKey(), f.instance(10002).Params["pipectl_key"])
	assert.NotEqual(t, f.instance(10001).Params["pipectl_key"], f.instance(10002).Params["pipectl_key"])
	assert.Equal(t, 2, f.calls(routeRun))
}

func TestSubmitHeartbeatOfAnotherJob(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "")
	f.runByHand(jobName) // 10001, by someone else
	// A heartbeat for another job name (the step's input changed since) is
	// not this job's note: taken as one, 10001 would be re-attached to.
	f.env.SetHeartbeatDetails(map[string]any{"key": request(withNoParams).IdempotencyKey(), "job_name": "other_job", "after": 0})
	job := f.mustSubmit(request(withNoParams))
	assert.Equal(t, "daily_load/10002", job.ID)
	assert.False(t, job.Reattached)
}

func TestSubmitInvalidInput(t *testing.T) {
	for _, tc := range []struct{ name, with, want string }{
		{"no job name", `{"params":{"a":"b"}}`, "dlf.job input: job_name is required"},
		{"reserved param", `{"job_name":"j","params":{"pipectl_key":"x"}}`, "dlf.job input: params.pipectl_key is reserved for pipectl"},
		{"params not a map", `{"job_name":"j","params":["a"]}`, "dlf.job input: json: cannot unmarshal array into Go struct field JobInput.params of type map[string]string"},
		{"missing secret", `{"job_name":"j","params":{"p":"${secret.NOPE}"}}`, "secret NOPE is not set on this worker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.submit(request(tc.with))
			app := appError(t, err)
			assert.Equal(t, "RequestRejected", app.Type())
			assert.True(t, app.NonRetryable())
			assert.Contains(t, app.Message(), tc.want)
			assert.Empty(t, f.emu.Calls(), "no request may reach the service")
		})
	}
}

func TestMissingProjectID(t *testing.T) {
	f := newFixture(t)
	f.acts.ProjectID = ""
	req := request(withNoParams)
	req.Cloud.ProjectID = ""
	for _, err := range []error{func() error { _, err := f.submit(req); return err }(), f.cancel(req)} {
		app := appError(t, err)
		assert.Equal(t, "RequestRejected", app.Type())
		assert.Equal(t, "no project id: set cloud.project_id in the spec or the worker's project id", app.Message())
	}
	assert.Empty(t, f.emu.Calls())
}

func TestWaitBadHandle(t *testing.T) {
	f := newFixture(t)
	for _, job := range []*activities.Job{nil, {}, {ID: "daily_load"}, {ID: "daily_load/abc"}, {ID: "/1"}} {
		req := request(withNoParams)
		req.Job = job
		_, err := f.wait(req)
		app := appError(t, err)
		assert.Equal(t, "RequestRejected", app.Type())
		assert.True(t, app.NonRetryable())
	}
	assert.Empty(t, f.emu.Calls())
}

func TestWaitUnknownInstance(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "")
	req := request(withNoParams)
	req.Job = &activities.Job{ID: "daily_load/99", ProjectID: project}
	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.Equal(t, "DLF get job instance: HTTP 400 DLF.0137: Job instance does not exist.", app.Message())
}

// stubInstance answers the instance detail with body.
func stubInstance(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	})
}

func TestWaitOtherStates(t *testing.T) {
	for _, tc := range []struct {
		name, body, typ, msg string
		delay                time.Duration
	}{
		{"pause", `{"status":"pause","nodes":[{"nodeName":"a","status":"success"},{"nodeName":"b","status":"fail"},{"nodeName":"c","status":"waiting"},{"nodeName":"d","status":"waiting"}]}`,
			"StillRunning", "job j/7 is pause", 3 * time.Second},
		{"unknown", `{"status":"queued","nodes":[]}`, "StillRunning", "job j/7 is queued", 40 * time.Second},
		{"running-exception without reason", `{"status":"running-exception","nodes":[{"nodeName":"a","type":"Shell","status":"fail","logPath":"obs://dlf-log-p/j/a.job"}]}`,
			"JobFailed", "job j/7 ended running-exception: node a (Shell) failed; log: obs://dlf-log-p/j/a.job", 0},
		// The sample's duplicate instanceId: the one asked for counts.
		{"duplicate instanceId", `{"instanceId":7,"status":"success","instanceId":1234}`, "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureFor(t, stubInstance(tc.body), &fakeClock{t: t0})
			req := request(`{"job_name":"j"}`)
			req.Job = &activities.Job{ID: "j/7", ProjectID: project}
			res, err := f.wait(req)
			if tc.typ == "" {
				require.NoError(t, err)
				assert.Equal(t, map[string]string{"instance_id": "7", "status": "success"}, res.Outputs)
				return
			}
			app := appError(t, err)
			assert.Equal(t, tc.typ, app.Type())
			assert.Equal(t, tc.msg, app.Message())
			assert.Equal(t, tc.delay, app.NextRetryDelay())
			if tc.name == "pause" {
				var p activities.Progress
				require.NoError(t, app.Details(&p))
				assert.Equal(t, 50.0, p.Percent)
			}
		})
	}
}

func TestCancelRunning(t *testing.T) {
	for _, tc := range []struct {
		advance time.Duration
		state   string
	}{{0, "waiting"}, {500 * time.Millisecond, "running"}} {
		t.Run(tc.state, func(t *testing.T) {
			f := newFixture(t)
			f.createJob(jobName, "")
			req := request(withNoParams)
			req.Job = f.mustSubmit(req)
			f.clock.Advance(tc.advance)
			require.Equal(t, tc.state, f.instance(10001).Status)

			require.NoError(t, f.cancel(req))
			in := f.instance(10001)
			assert.Equal(t, "manual-stop", in.Status)
			assert.Equal(t, 1, in.Stops)
			assert.Equal(t, t0.Add(tc.advance), in.EndedAt)
			assert.Contains(t, f.logs.String(), "stopped DataArts job instance")

			// Again: a no-op, the instance has ended.
			require.NoError(t, f.cancel(req))
			assert.Equal(t, 1, f.calls(routeStop))
		})
	}
}

func TestCancelEnded(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "")
	req := request(withNoParams)
	req.Job = f.mustSubmit(req)
	f.clock.Advance(time.Minute)
	require.NoError(t, f.cancel(req))
	assert.Equal(t, "success", f.instance(10001).Status)
	assert.Equal(t, 0, f.calls(routeStop))
	assert.Equal(t, 1, f.calls(routeInst))
}

func TestCancelGone(t *testing.T) {
	f := newFixture(t)
	req := request(withNoParams)
	req.Job = &activities.Job{ID: "daily_load/10001", ProjectID: project}
	require.NoError(t, f.cancel(req), "a job that does not exist has nothing to stop")
	f.createJob(jobName, "")
	require.NoError(t, f.cancel(req), "nor has an instance that does not exist")
	assert.Equal(t, 0, f.calls(routeStop))
}

func TestCancelWithoutHandle(t *testing.T) {
	for name, job := range map[string]*activities.Job{"nil": nil, "empty": {}} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.createJob(jobName, "")
			earlier := f.runByHand(jobName)
			f.clock.Advance(time.Hour) // the earlier run has ended
			req := request(withNoParams)
			submitted := f.mustSubmit(req)
			f.clock.Advance(300 * time.Millisecond)

			req.Job = job // submit's answer never reached the workflow
			require.NoError(t, f.cancel(req))
			assert.Equal(t, "daily_load/10002", submitted.ID)
			assert.Equal(t, "manual-stop", f.instance(10002).Status)
			assert.Equal(t, "success", f.instance(earlier).Status)
			assert.Equal(t, 1, f.calls(routeStop))
			assert.Contains(t, f.logs.String(), "stopping the only running instance of the DataArts job")
		})
	}
}

func TestCancelWithoutHandleAmbiguous(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "")
	f.runByHand(jobName) // running too, started by someone else
	req := request(withNoParams)
	f.mustSubmit(req)

	app := appError(t, f.cancel(req))
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "DataArts job daily_load has 2 running instances (10002, 10001) and the step's submit gave no handle: stop this step's instance in DataArts", app.Message())
	assert.Equal(t, 0, f.calls(routeStop))
	assert.Equal(t, "waiting", f.instance(10002).Status)
}

func TestCancelNothingRunning(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "")
	require.NoError(t, f.cancel(request(withNoParams)))
	assert.Equal(t, 1, f.calls(routeList))
	assert.Equal(t, 0, f.calls(routeStop))
}

func TestCancelInstanceEndsMeanwhile(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "")
	req := request(withNoParams)
	req.Job = f.mustSubmit(req)
	f.clock.Advance(500 * time.Millisecond)
	// The instance ends between cancel's status check and its stop, which
	// DataArts then refuses.
	var once sync.Once
	f.rec.setFake(func(r *http.Request) *http.Response {
		if strings.HasSuffix(r.URL.Path, "/stop") {
			once.Do(func() { f.clock.Advance(time.Second) })
		}
		return nil
	})
	require.NoError(t, f.cancel(req))
	assert.Equal(t, "success", f.instance(10001).Status)
	assert.Equal(t, 1, f.calls(routeStop))
	assert.Equal(t, 2, f.calls(routeInst))
}

func TestCancelServiceUnavailable(t *testing.T) {
	f := newFixture(t)
	f.createJob(jobName, "")
	req := request(withNoParams)
	req.Job = f.mustSubmit(req)
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultError, Status: http.StatusServiceUnavailable, Service: emulator.DLF,
		Route: "POST /v1/{p}/jobs/{j}/instances/{i}/stop"})
	require.NoError(t, err)
	app := appError(t, f.cancel(req))
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, "waiting", f.instance(10001).Status)
}
