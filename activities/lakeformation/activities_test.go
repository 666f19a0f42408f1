package lakeformation_test

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
	"github.com/pipectl/pipectl/activities/lakeformation"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/testenv/emulator"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

const (
	project       = "0123456789abcdef0123456789abcdef"
	workerProject = "fedcba9876543210fedcba9876543210"
	instance      = "2180518f-42b8-4947-b20b-adfc53981a25"
	token         = "test-token-not-for-logs"
	dbPassword    = "s3cret-db-Passw0rd"

	jobsRoute   = "POST /v1/{project_id}/instances/{instance_id}/lf-jobs"
	startRoute  = "POST /v1/{project_id}/instances/{instance_id}/lf-jobs/{job_id}/start"
	routeCreate = emulator.LakeFormation + " " + jobsRoute
	routeList   = emulator.LakeFormation + " GET /v1/{project_id}/instances/{instance_id}/lf-jobs"
	routeShow   = emulator.LakeFormation + " GET /v1/{project_id}/instances/{instance_id}/lf-jobs/{job_id}"
	routeStart  = emulator.LakeFormation + " " + startRoute
	routeStop   = emulator.LakeFormation + " POST /v1/{project_id}/instances/{instance_id}/lf-jobs/{job_id}/stop"
)

var (
	submitName = activities.SubmitName(lakeformation.KindJob)
	waitName   = activities.WaitName(lakeformation.KindJob)
	cancelName = activities.CancelName(lakeformation.KindJob)
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

// secretMap is a worker's secret source.
type secretMap map[string]string

func (m secretMap) Secret(_ context.Context, name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("secret %s is not set on this worker", name)
}

// sent is a request as it reached the service.
type sent struct{ method, path, body string }

// recordingTransport records every request (body included) and lets a
// test answer one itself.
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
	rt.reqs = append(rt.reqs, sent{r.Method, r.URL.Path, string(body)})
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
	rec   *recordingTransport
	acts  *lakeformation.Activities
	env   *testsuite.TestActivityEnvironment
	logs  *bytes.Buffer

	hbMu       sync.Mutex
	heartbeats []map[string]any
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now, AcceptAnyToken: true, DisableRateLimits: true})
	f := newFixtureFor(t, emu.Handler(emulator.LakeFormation), clock)
	f.emu = emu
	return f
}

// newFixtureFor serves h (the emulator or a test's stub) to the
// activities, registered under the worker's names.
func newFixtureFor(t *testing.T, h http.Handler, clock *fakeClock) *fixture {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rec := &recordingTransport{base: srv.Client().Transport}
	hc := &http.Client{Transport: &cloudapi.TokenTransport{Source: cloudapi.StaticToken(cloudapi.NewSecret(token)), Base: rec}}
	f := &fixture{
		t:     t,
		clock: clock,
		rec:   rec,
		acts:  lakeformation.NewActivities(srv.URL, hc, workerProject, secretMap{"LF_DB_PASSWORD": dbPassword}),
		logs:  &bytes.Buffer{},
	}
	f.newEnv()
	t.Cleanup(func() {
		assert.NotContains(t, f.logs.String(), token, "the token reached a log line")
		assert.NotContains(t, f.logs.String(), dbPassword, "a secret reached a log line")
	})
	return f
}

// newEnv starts a fresh activity environment: no heartbeat details from
// an earlier attempt.
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

func (f *fixture) lastHeartbeat() map[string]any {
	f.t.Helper()
	f.hbMu.Lock()
	defer f.hbMu.Unlock()
	require.NotEmpty(f.t, f.heartbeats, "no heartbeat recorded")
	return f.heartbeats[len(f.heartbeats)-1]
}

// The parameter's instance_id is left out: the activity fills it in.
const migrationWith = `{"instance_id":"` + instance + `","name":"migrate_hive","type":"METADATA_MIGRATION","parameter":{"metadata_migration_parameter":{
	"datasource_type":"MRS_RDS_FOR_MYSQL",
	"datasource_parameter":{"jdbc_url":"jdbc:mysql://10.0.0.7:3306/hive","username":"hive","password":"${secret.LF_DB_PASSWORD}"},
	"source_catalog":"hive","target_catalog":"lf_catalog","conflict_strategy":"UPSERT",
	"log_location":"obs://lf-logs/migrate","sync_objects":["DATABASE","TABLE"],
	"locations":[{"key":"obs://old/warehouse","value":"obs://new/warehouse"}]}}}`

const discoveryWith = `{"instance_id":"` + instance + `","name":"discover_sales","type":"METADATA_DISCOVERY","parameter":{"metadata_discovery_parameter":{
	"data_location":"obs://lake/sales","target_catalog":"hive","target_database":"sales","conflict_strategy":"UPSERT",
	"file_discovery_type":"PARQUET","log_location":"obs://lf-logs/discovery","instance_id":"` + instance + `"}}%s}`

func discovery(extra string) string { return fmt.Sprintf(discoveryWith, extra) }

func request(with string) activities.StepRequest {
	return activities.StepRequest{
		Pipeline: "nightly",
		RunKey:   "nightly-wf/run-1",
		StepID:   "catalog",
		Kind:     lakeformation.KindJob,
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

// onlyJob returns the emulator's single job.
func (f *fixture) onlyJob() emulator.LakeFormationJob {
	f.t.Helper()
	jobs := f.emu.LakeFormationJobs()
	require.Len(f.t, jobs, 1)
	return jobs[0]
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%T %v is not an application error", err, err)
	return app
}

func TestSubmitCreatesAndStarts(t *testing.T) {
	f := newFixture(t)
	job := f.mustSubmit(request(migrationWith))

	j := f.onlyJob()
	assert.Equal(t, activities.Job{ID: instance + "/" + j.ID, ProjectID: project}, *job)
	assert.Equal(t, project, j.ProjectID)
	assert.Equal(t, instance, j.InstanceID)
	assert.Equal(t, "migrate_hive", j.Name)
	assert.Equal(t, "METADATA_MIGRATION", j.Type)
	assert.Equal(t, "Created by pipectl for step catalog of pipeline nightly.", j.Description)
	assert.Equal(t, "SUBMITTED", j.Status)
	assert.Equal(t, "NORMAL", j.Mode)
	assert.Equal(t, 1, j.Starts)
	assert.Equal(t, map[string]int{routeList: 1, routeCreate: 1, routeStart: 1}, f.emu.Calls())

	// The create body: the secret resolved, the instance id filled in.
	var create sent
	for _, s := range f.rec.sent() {
		if s.method == http.MethodPost && strings.HasSuffix(s.path, "/lf-jobs") {
			create = s
		}
	}
	var body struct {
		Parameter struct {
			M struct {
				InstanceID string `json:"instance_id"`
				DS         struct {
					Password string `json:"password"`
				} `json:"datasource_parameter"`
			} `json:"metadata_migration_parameter"`
		} `json:"parameter"`
	}
	require.NoError(t, json.Unmarshal([]byte(create.body), &body))
	assert.Equal(t, instance, body.Parameter.M.InstanceID)
	assert.Equal(t, dbPassword, body.Parameter.M.DS.Password)
	assert.Contains(t, f.logs.String(), "created LakeFormation job")
	assert.Contains(t, f.logs.String(), "started LakeFormation job")
}

func TestEndToEnd(t *testing.T) {
	f := newFixture(t)
	req := request(migrationWith)
	req.Job = f.mustSubmit(req)
	jobID := f.onlyJob().ID

	for _, tc := range []struct {
		advance time.Duration
		state   string
	}{{0, "SUBMITTED"}, {200 * time.Millisecond, "RUNNING"}, {799 * time.Millisecond, "RUNNING"}} {
		f.clock.Advance(tc.advance)
		_, err := f.wait(req)
		app := appError(t, err)
		assert.Equal(t, "StillRunning", app.Type())
		assert.False(t, app.NonRetryable())
		assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category())
		assert.Equal(t, activities.NextPoll(req.Poll, 1), app.NextRetryDelay())
		assert.Equal(t, 3*time.Second, app.NextRetryDelay())
		assert.Equal(t, "job "+jobID+" is "+tc.state, app.Message())
		var p activities.Progress
		require.NoError(t, app.Details(&p))
		assert.Equal(t, jobID, p.JobID)
		assert.Equal(t, tc.state, p.State)
	}

	f.clock.Advance(time.Millisecond)
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, &activities.Result{State: "SUCCESS", Outputs: map[string]string{"job_id": jobID, "status": "SUCCESS"}}, res)
	assert.Equal(t, 4, f.calls(routeShow))
	assert.Equal(t, 0, f.calls(routeStop))
}

func TestWaitFailed(t *testing.T) {
	f := newFixture(t)
	f.emu.AddRule(emulator.Rule{Service: emulator.LakeFormation, Match: "discover_sales", FailMessage: "target database sales not found", Duration: 10 * time.Second})
	req := request(discovery(""))
	req.Job = f.mustSubmit(req)
	jobID := f.onlyJob().ID

	f.clock.Advance(9 * time.Second)
	_, err := f.wait(req)
	assert.Equal(t, "StillRunning", appError(t, err).Type())

	f.clock.Advance(time.Second)
	_, err = f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "JobFailed", app.Type())
	assert.True(t, app.NonRetryable())
	// The emulator's API does not report the reason (see the report), so
	// the message points at the job's log.
	const msg = "LakeFormation gives no reason; see the job log under obs://lf-logs/discovery"
	assert.Equal(t, "job "+jobID+" ended FAILED: "+msg, app.Message())
	var res activities.Result
	require.NoError(t, app.Details(&res))
	assert.Equal(t, activities.Result{JobID: jobID, State: "FAILED", Message: msg}, res)
	assert.Equal(t, "target database sales not found", f.onlyJob().Message)
}

func TestPartialSuccess(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		succeed     bool
	}{
		{"default fails", "", false},
		{"fail", `,"partial_success":"fail"`, false},
		{"succeed", `,"partial_success":"succeed"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.emu.AddRule(emulator.Rule{Service: emulator.LakeFormation, FailMessage: "3 of 10 tables failed", FailCode: "PARTIAL_SUCCESS"})
			req := request(discovery(tc.extra))
			req.Job = f.mustSubmit(req)
			jobID := f.onlyJob().ID
			f.clock.Advance(time.Second)
			require.Equal(t, "PARTIAL_SUCCESS", f.onlyJob().Status)

			res, err := f.wait(req)
			if tc.succeed {
				require.NoError(t, err)
				assert.Equal(t, &activities.Result{State: "PARTIAL_SUCCESS", Outputs: map[string]string{"job_id": jobID, "status": "PARTIAL_SUCCESS"}}, res)
				return
			}
			app := appError(t, err)
			assert.Equal(t, "JobFailed", app.Type())
			assert.True(t, app.NonRetryable())
			assert.Equal(t, "job "+jobID+" ended PARTIAL_SUCCESS: LakeFormation gives no reason; see the job log under obs://lf-logs/discovery (partial_success: succeed accepts this)", app.Message())
		})
	}
}

func TestWaitStoppedElsewhere(t *testing.T) {
	f := newFixture(t)
	req := request(discovery(""))
	req.Job = f.mustSubmit(req)
	require.NoError(t, f.cancel(req))

	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "JobCancelled", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "job "+f.onlyJob().ID+" ended CANCELLED: the job was stopped (LakeFormation status STOPPED)", app.Message())
}

// stubLF answers the detail call with body and a list call with no jobs.
func stubLF(detail string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/lf-jobs/") {
			_, _ = io.WriteString(w, detail)
			return
		}
		_, _ = io.WriteString(w, `{"total":0,"jobs":[]}`)
	})
}

func TestWaitStatusObject(t *testing.T) {
	// The create page's sample answers status as an object.
	f := newFixtureFor(t, stubLF(`{"id":"j-1","name":"discover_sales","type":"METADATA_DISCOVERY","status":{"status":"SUCCESS"}}`), &fakeClock{t: t0})
	req := request(discovery(""))
	req.Job = &activities.Job{ID: instance + "/j-1", ProjectID: project}
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, &activities.Result{State: "SUCCESS", Outputs: map[string]string{"job_id": "j-1", "status": "SUCCESS"}}, res)
	assert.Equal(t, []sent{{http.MethodGet, "/v1/" + project + "/instances/" + instance + "/lf-jobs/j-1", ""}}, f.rec.sent())
}

func TestWaitFailureMessageFromService(t *testing.T) {
	for name, body := range map[string]string{
		"in the status object": `{"id":"j-1","status":{"status":"FAILED","message":"no permission on obs://lake/sales"}}`,
		"beside the status":    `{"id":"j-1","status":"FAILED","message":"no permission on obs://lake/sales"}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixtureFor(t, stubLF(body), &fakeClock{t: t0})
			req := request(discovery(""))
			req.Job = &activities.Job{ID: instance + "/j-1", ProjectID: project}
			_, err := f.wait(req)
			app := appError(t, err)
			assert.Equal(t, "JobFailed", app.Type())
			assert.Equal(t, "job j-1 ended FAILED: no permission on obs://lake/sales", app.Message())
		})
	}
}

func TestWaitUnknownStatus(t *testing.T) {
	f := newFixtureFor(t, stubLF(`{"id":"j-1","status":"QUEUED"}`), &fakeClock{t: t0})
	req := request(discovery(""))
	req.Job = &activities.Job{ID: instance + "/j-1", ProjectID: project}
	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "StillRunning", app.Type())
	assert.Equal(t, 40*time.Second, app.NextRetryDelay())
	assert.Contains(t, f.logs.String(), "unknown LakeFormation job status")
}

func TestWaitBadHandle(t *testing.T) {
	f := newFixture(t)
	for _, job := range []*activities.Job{nil, {}, {ID: "no-slash"}} {
		req := request(discovery(""))
		req.Job = job
		_, err := f.wait(req)
		app := appError(t, err)
		assert.Equal(t, "RequestRejected", app.Type())
		assert.True(t, app.NonRetryable())
	}
	assert.Empty(t, f.emu.Calls())
}

func TestSubmitServiceError(t *testing.T) {
	for _, tc := range []struct {
		status int
		msg    string
		delay  time.Duration
	}{
		{http.StatusInternalServerError, "LakeFormation create job: HTTP 500 common.00000500: injected failure (HTTP 500)", 0},
		{http.StatusTooManyRequests, "LakeFormation create job: HTTP 429 common.00000429: injected failure (HTTP 429)", time.Second},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f := newFixture(t)
			f.emu.AddRule(emulator.Rule{Service: emulator.LakeFormation, Match: "migrate_hive", SubmitErrors: 1, SubmitStatus: tc.status})
			req := request(migrationWith)
			_, err := f.submit(req)
			app := appError(t, err)
			assert.Equal(t, "ServiceUnavailable", app.Type())
			assert.False(t, app.NonRetryable())
			assert.Equal(t, tc.delay, app.NextRetryDelay())
			assert.Equal(t, tc.msg, app.Message())
			assert.Empty(t, f.emu.LakeFormationJobs())

			// Temporal retries: one job, started once.
			job := f.mustSubmit(req)
			assert.False(t, job.Reattached)
			j := f.onlyJob()
			assert.Equal(t, instance+"/"+j.ID, job.ID)
			assert.Equal(t, 1, j.Starts)
		})
	}
}

func TestSubmitCreateResponseLost(t *testing.T) {
	f := newFixture(t)
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.LakeFormation, Route: jobsRoute, Count: 1})
	require.NoError(t, err)
	req := request(migrationWith)
	_, err = f.submit(req)
	app := appError(t, err)
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.False(t, app.NonRetryable())
	require.Equal(t, "CREATED", f.onlyJob().Status, "the job was created, the answer lost")

	job := f.mustSubmit(req)
	j := f.onlyJob()
	assert.Equal(t, activities.Job{ID: instance + "/" + j.ID, ProjectID: project}, *job)
	assert.Equal(t, "SUBMITTED", j.Status)
	assert.Equal(t, 1, j.Starts)
	assert.Equal(t, 1, f.calls(routeCreate), "the retry found the job instead of creating it")
}

func TestSubmitStartResponseLost(t *testing.T) {
	f := newFixture(t)
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.LakeFormation, Route: startRoute, Count: 1})
	require.NoError(t, err)
	req := request(migrationWith)
	_, err = f.submit(req)
	assert.Equal(t, "ServiceUnavailable", appError(t, err).Type())
	require.Equal(t, 1, f.onlyJob().Starts)

	// The run is still going: the retry re-attaches.
	job := f.mustSubmit(req)
	j := f.onlyJob()
	assert.Equal(t, activities.Job{ID: instance + "/" + j.ID, ProjectID: project, Reattached: true}, *job)
	assert.Equal(t, 1, j.Starts)
	assert.Equal(t, 1, f.calls(routeStart))
	assert.Contains(t, f.logs.String(), "re-attached to running LakeFormation job")
}

func TestSubmitStartResponseLostRunEnded(t *testing.T) {
	f := newFixture(t)
	req := request(migrationWith)
	// An earlier pipeline run used the job.
	f.mustSubmit(req)
	f.clock.Advance(time.Minute)
	require.Equal(t, "SUCCESS", f.onlyJob().Status)

	// This run's submit: the start's answer is lost, and the run ends
	// before Temporal retries.
	f.newEnv()
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.LakeFormation, Route: startRoute, Count: 1})
	require.NoError(t, err)
	req.RunKey = "nightly-wf/run-2"
	_, err = f.submit(req)
	assert.Equal(t, "ServiceUnavailable", appError(t, err).Type())
	require.Equal(t, 2, f.onlyJob().Starts)
	f.clock.Advance(time.Minute)
	require.Equal(t, "SUCCESS", f.onlyJob().Status)

	// The retry gets the first attempt's heartbeat, as Temporal hands it
	// over: the job was started since, so that run is this step's.
	hb := f.lastHeartbeat()
	assert.Equal(t, f.onlyJob().ID, hb["job_id"])
	f.env.SetHeartbeatDetails(hb)
	job := f.mustSubmit(req)
	assert.True(t, job.Reattached)
	assert.Equal(t, 2, f.onlyJob().Starts, "no second start")
	assert.Contains(t, f.logs.String(), "re-attached to ended LakeFormation job run")
}

func TestSubmitStartFailedRetryStarts(t *testing.T) {
	f := newFixture(t)
	req := request(migrationWith)
	f.mustSubmit(req)
	f.clock.Advance(time.Minute)

	// A start refused before it happened: the heartbeat was recorded but
	// the job's start_time did not change, so the retry starts it.
	f.newEnv()
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultError, Status: http.StatusBadGateway, Service: emulator.LakeFormation, Route: startRoute, Count: 1})
	require.NoError(t, err)
	req.RunKey = "nightly-wf/run-2"
	_, err = f.submit(req)
	assert.Equal(t, "ServiceUnavailable", appError(t, err).Type())
	require.Equal(t, 1, f.onlyJob().Starts)

	f.env.SetHeartbeatDetails(f.lastHeartbeat())
	job := f.mustSubmit(req)
	assert.False(t, job.Reattached)
	assert.Equal(t, 2, f.onlyJob().Starts)
	assert.Equal(t, "SUBMITTED", f.onlyJob().Status)
}

func TestSubmitNewAttemptNewRun(t *testing.T) {
	f := newFixture(t)
	req := request(migrationWith)
	first := f.mustSubmit(req)
	f.clock.Advance(time.Minute)
	require.Equal(t, "SUCCESS", f.onlyJob().Status)

	req.Attempt = 2
	second := f.mustSubmit(req)
	assert.Equal(t, first.ID, second.ID, "the same job, by name")
	assert.False(t, second.Reattached)
	j := f.onlyJob()
	assert.Equal(t, 2, j.Starts)
	assert.Equal(t, "SUBMITTED", j.Status)
	assert.Equal(t, 1, f.calls(routeCreate))
}

func TestSubmitNameTakenByAnotherType(t *testing.T) {
	f := newFixture(t)
	f.mustSubmit(request(discovery("")))
	other := strings.Replace(migrationWith, "migrate_hive", "discover_sales", 1)
	_, err := f.submit(request(other))
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	j := f.onlyJob()
	assert.Equal(t, "LakeFormation job discover_sales ("+j.ID+") is a METADATA_DISCOVERY job, not METADATA_MIGRATION: choose another name or type", app.Message())
	assert.Equal(t, 1, j.Starts)
}

func TestSubmitRejected(t *testing.T) {
	f := newFixture(t)
	with := strings.Replace(discovery(""), `"PARQUET"`, `"XLS"`, 1)
	_, err := f.submit(request(with))
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, `LakeFormation create job: HTTP 400 common.01000001: invalid request: invalid metadata_discovery_parameter.file_discovery_type "XLS": expected one of PARQUET, CSV, JSON, ORC, AVRO, ALL, TEXT`, app.Message())
	assert.Empty(t, f.emu.LakeFormationJobs())
}

func TestSubmitInvalidInput(t *testing.T) {
	for _, tc := range []struct{ name, with, want string }{
		{"no instance", `{"name":"abcd","type":"METADATA_DISCOVERY","parameter":{}}`, "lakeformation.job input: instance_id is required"},
		{"bad type", `{"instance_id":"i","name":"abcd","type":"MIGRATION","parameter":{}}`, `lakeformation.job input: type "MIGRATION" is not one of METADATA_MIGRATION, PERMISSION_MIGRATION, METADATA_DISCOVERY`},
		{"bad partial_success", `{"instance_id":"i","name":"abcd","type":"METADATA_DISCOVERY","parameter":{},"partial_success":"ok"}`, `lakeformation.job input: partial_success "ok" is not fail or succeed`},
		{"no parameter", `{"instance_id":"i","name":"abcd","type":"METADATA_DISCOVERY"}`, "lakeformation.job input: parameter is required"},
		{"wrong type", `{"instance_id":"i","name":7}`, "lakeformation.job input: json: cannot unmarshal number into Go struct field JobInput.name of type string"},
		{"missing secret", `{"instance_id":"i","name":"abcd","type":"METADATA_DISCOVERY","parameter":{"x":"${secret.NOPE}"}}`, "secret NOPE is not set on this worker"},
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
	req := request(discovery(""))
	req.Cloud.ProjectID = ""
	_, err := f.submit(req)
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.Equal(t, "no project id: set cloud.project_id in the spec or the worker's project id", app.Message())
	assert.Equal(t, "RequestRejected", appError(t, f.cancel(req)).Type())
	assert.Empty(t, f.emu.Calls())
}

func TestSubmitProjectFromWorker(t *testing.T) {
	f := newFixture(t)
	req := request(discovery(""))
	req.Cloud.ProjectID = ""
	job := f.mustSubmit(req)
	assert.Equal(t, workerProject, job.ProjectID)
	assert.Equal(t, workerProject, f.onlyJob().ProjectID)

	// wait and cancel use the job's project even if the plan's changes.
	req.Job = job
	req.Cloud.ProjectID = "another"
	f.clock.Advance(time.Minute)
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, "SUCCESS", res.State)
}

func TestCancelRunning(t *testing.T) {
	for _, tc := range []struct {
		advance time.Duration
		state   string
	}{{0, "SUBMITTED"}, {500 * time.Millisecond, "RUNNING"}} {
		t.Run(tc.state, func(t *testing.T) {
			f := newFixture(t)
			req := request(discovery(""))
			req.Job = f.mustSubmit(req)
			f.clock.Advance(tc.advance)
			require.Equal(t, tc.state, f.onlyJob().Status)

			require.NoError(t, f.cancel(req))
			j := f.onlyJob()
			assert.Equal(t, "STOPPED", j.Status)
			assert.Equal(t, 1, j.Stops)
			assert.Equal(t, t0.Add(tc.advance), j.EndedAt)
			assert.Contains(t, f.logs.String(), "stopped LakeFormation job")

			// Again: a no-op, the job has ended.
			require.NoError(t, f.cancel(req))
			assert.Equal(t, 1, f.calls(routeStop))
		})
	}
}

func TestCancelEnded(t *testing.T) {
	f := newFixture(t)
	req := request(discovery(""))
	req.Job = f.mustSubmit(req)
	f.clock.Advance(time.Minute)
	require.NoError(t, f.cancel(req))
	assert.Equal(t, "SUCCESS", f.onlyJob().Status)
	assert.Equal(t, 0, f.calls(routeStop))
}

func TestCancelFindsJobByName(t *testing.T) {
	for name, job := range map[string]*activities.Job{"nil": nil, "empty": {}} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			req := request(discovery(""))
			f.mustSubmit(req)
			f.clock.Advance(300 * time.Millisecond)

			req.Job = job // submit's answer never reached the workflow
			require.NoError(t, f.cancel(req))
			assert.Equal(t, "STOPPED", f.onlyJob().Status)
			assert.Equal(t, 1, f.calls(routeStop))
		})
	}
}

func TestCancelNothingSubmitted(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.cancel(request(discovery(""))))
	assert.Equal(t, map[string]int{routeList: 1}, f.emu.Calls())
}

func TestCancelJobEndsMeanwhile(t *testing.T) {
	f := newFixture(t)
	req := request(discovery(""))
	req.Job = f.mustSubmit(req)
	f.clock.Advance(500 * time.Millisecond)
	// The job ends between cancel's status check and its stop, which
	// LakeFormation then refuses.
	var once sync.Once
	f.rec.setFake(func(r *http.Request) *http.Response {
		if strings.HasSuffix(r.URL.Path, "/stop") {
			once.Do(func() { f.clock.Advance(time.Second) })
		}
		return nil
	})
	require.NoError(t, f.cancel(req))
	assert.Equal(t, "SUCCESS", f.onlyJob().Status)
	assert.Equal(t, 1, f.calls(routeStop))
	assert.Equal(t, 2, f.calls(routeShow))
}

func TestCancelServiceUnavailable(t *testing.T) {
	f := newFixture(t)
	req := request(discovery(""))
	req.Job = f.mustSubmit(req)
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultError, Status: http.StatusServiceUnavailable, Service: emulator.LakeFormation,
		Route: "POST /v1/{p}/instances/{i}/lf-jobs/{j}/stop"})
	require.NoError(t, err)
	app := appError(t, f.cancel(req))
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, "SUBMITTED", f.onlyJob().Status)
}
