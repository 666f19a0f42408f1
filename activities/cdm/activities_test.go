package cdm_test

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
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cdm"
	"github.com/pipectl/pipectl/activities/cloudapi"
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
	cluster1      = emulator.CDMDefaultClusterID

	// Secrets, as the worker resolves them.
	mysqlPassword = "mysql-pw-Not-For-Logs"
	obsSecretKey  = "obs-sk-Not-For-Logs"

	// Emulator routes, as counted by Calls.
	routeFindJob    = emulator.CDM + " GET /v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}"
	routeCreateJob  = emulator.CDM + " POST /v1.1/{project_id}/clusters/{cluster_id}/cdm/job"
	routeModifyJob  = emulator.CDM + " PUT /v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}"
	routeStart      = emulator.CDM + " PUT /v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}/start"
	routeStop       = emulator.CDM + " PUT /v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}/stop"
	routeStatus     = emulator.CDM + " GET /v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}/status"
	routeHistory    = emulator.CDM + " GET /v1.1/{project_id}/clusters/{cluster_id}/cdm/submissions"
	routeFindLink   = emulator.CDM + " GET /v1.1/{project_id}/clusters/{cluster_id}/cdm/link/{link_name}"
	routeCreateLink = emulator.CDM + " POST /v1.1/{project_id}/clusters/{cluster_id}/cdm/link"
	routeRandom     = emulator.CDM + " POST /v1.1/{project_id}/clusters/job"
)

var (
	submitName = activities.SubmitName(cdm.KindJob)
	waitName   = activities.WaitName(cdm.KindJob)
	cancelName = activities.CancelName(cdm.KindJob)
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

// hookTransport lets a test answer a request itself.
type hookTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	fake func(*http.Request) *http.Response
	// seen records every request's method, path and body.
	seen []string
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	h.mu.Lock()
	fake := h.fake
	h.seen = append(h.seen, r.Method+" "+r.URL.Path+" "+string(body))
	h.mu.Unlock()
	if fake != nil {
		if resp := fake(r); resp != nil {
			return resp, nil
		}
	}
	return h.base.RoundTrip(r)
}

type fixture struct {
	t     *testing.T
	clock *fakeClock
	emu   *emulator.Emulator
	srv   *httptest.Server
	hooks *hookTransport
	acts  *cdm.Activities
	env   *testsuite.TestActivityEnvironment
	logs  *bytes.Buffer

	mu    sync.Mutex
	marks []json.RawMessage // heartbeats recorded by submits
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now, AcceptAnyToken: true, DisableRateLimits: true})
	f := newFixtureFor(t, emu.Handler(emulator.CDM), clock)
	f.emu = emu
	return f
}

// newFixtureFor serves h (the emulator's CDM or a test's own handler) to
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
	secrets := activities.EnvSecrets{Getenv: func(name string) string {
		return map[string]string{
			"PIPECTL_SECRET_MYSQL_PW": mysqlPassword,
			"PIPECTL_SECRET_OBS_SK":   obsSecretKey,
		}[name]
	}}
	f := &fixture{
		t:     t,
		clock: clock,
		srv:   srv,
		hooks: hooks,
		acts:  cdm.NewActivities(srv.URL, hc, workerProject, secrets),
		logs:  &bytes.Buffer{},
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(f.logs, nil))))
	f.env = suite.NewTestActivityEnvironment()
	f.env.RegisterActivityWithOptions(f.acts.SubmitJob, activity.RegisterOptions{Name: submitName})
	f.env.RegisterActivityWithOptions(f.acts.WaitJob, activity.RegisterOptions{Name: waitName})
	f.env.RegisterActivityWithOptions(f.acts.CancelJob, activity.RegisterOptions{Name: cancelName})
	f.env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var m json.RawMessage
		require.NoError(t, details.Get(&m))
		f.mu.Lock()
		defer f.mu.Unlock()
		f.marks = append(f.marks, m)
	})
	t.Cleanup(func() {
		logs := f.logs.String()
		for _, secret := range []string{token, mysqlPassword, obsSecretKey} {
			assert.NotContains(t, logs, secret, "a secret reached a log line")
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, m := range f.marks {
			assert.NotContains(t, string(m), "Not-For-Logs", "a secret reached a heartbeat")
		}
	})
	return f
}

// lastMark returns the newest heartbeat a submit recorded.
func (f *fixture) lastMark() json.RawMessage {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(f.t, f.marks, "no heartbeat was recorded")
	return f.marks[len(f.marks)-1]
}

// baseInput is a MySQL to OBS job whose links are created with secrets.
func baseInput() map[string]any {
	return map[string]any{
		"name":           "mysql2obs",
		"cluster_id":     cluster1,
		"from_link":      "mysql_link",
		"from_connector": "generic-jdbc-connector",
		"from_config":    map[string]any{"schemaName": "sales", "tableName": "orders", "fromJobConfig.useSql": "false"},
		"to_link":        "obs_link",
		"to_connector":   "obs-connector",
		"to_config":      map[string]any{"bucketName": "lake", "outputDirectory": "/raw/orders/", "outputFormat": "CSV_FILE"},
		"driver_config":  map[string]any{"throttlingConfig.numExtractors": "3", "retryJobConfig.retryJobType": "NONE"},
		"links": []any{
			map[string]any{"name": "mysql_link", "connector": "generic-jdbc-connector", "config": map[string]any{
				"databaseType": "MYSQL", "host": "10.0.0.1", "port": 3306, "database": "sales",
				"username": "etl", "password": "${secret.mysql_pw}",
			}},
			map[string]any{"name": "obs_link", "connector": "obs-connector", "config": map[string]any{
				"linkConfig.storageType": "OBS", "server": "obs.example.com", "port": "443",
				"accessKey": "AK123", "securityKey": "${secret.obs_sk}",
			}},
		},
	}
}

func request(with map[string]any) activities.StepRequest {
	b, err := json.Marshal(with)
	if err != nil {
		panic(err)
	}
	return activities.StepRequest{
		Pipeline: "nightly",
		RunKey:   "nightly-wf/run-1",
		StepID:   "copy",
		Kind:     cdm.KindJob,
		Attempt:  1,
		Cloud:    spec.Cloud{Region: "ap-southeast-1", ProjectID: project},
		With:     b,
		Poll:     planner.Poll{Interval: spec.Duration(10 * time.Second), MaxInterval: spec.Duration(2 * time.Minute)},
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

func (f *fixture) job(clusterID, name string) emulator.CDMJob {
	f.t.Helper()
	j, ok := f.emu.CDMJob(project, clusterID, name)
	require.True(f.t, ok, "the emulator has no job %s in %s", name, clusterID)
	return j
}

// api calls the emulator's CDM directly, as a console user would.
func (f *fixture) api(method, path, body string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	require.NoError(f.t, err)
	req.Header.Set("X-Auth-Token", "console")
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.srv.Client().Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// secondCluster creates a running cluster and stops the default one, so
// that the random-cluster API can only choose the new one.
func (f *fixture) secondCluster() string {
	f.t.Helper()
	status, body := f.api(http.MethodPost, "/v1.1/"+project+"/clusters", `{"cluster":{"name":"cdm-two"}}`)
	require.Equal(f.t, http.StatusAccepted, status, body)
	var out struct {
		ID string `json:"id"`
	}
	require.NoError(f.t, json.Unmarshal([]byte(body), &out))
	f.clock.Advance(time.Second) // created
	status, body = f.api(http.MethodPost, "/v1.1/"+project+"/clusters/"+cluster1+"/action", `{"stop":{"stopMode":"IMMEDIATELY"}}`)
	require.Equal(f.t, http.StatusOK, status, body)
	f.clock.Advance(time.Second) // stopped
	return out.ID
}

// appError returns the ApplicationError inside an activity's error.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%T %v is not an application error", err, err)
	return app
}

func assertRejected(t *testing.T, err error, want string) {
	t.Helper()
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, want, app.Message())
}

func handle(clusterID, name string, submission int64) string {
	return clusterID + "/" + name + "/" + jsonNumber(submission)
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

var wantJob = emulator.CDMJob{
	ProjectID: project, ClusterID: cluster1, Name: "mysql2obs", JobType: "NORMAL_JOB",
	FromConnector: "generic-jdbc-connector", FromLink: "mysql_link",
	ToConnector: "obs-connector", ToLink: "obs_link",
	FromConfig: map[string]string{
		"fromJobConfig.schemaName": "sales", "fromJobConfig.tableName": "orders", "fromJobConfig.useSql": "false",
	},
	ToConfig: map[string]string{
		"toJobConfig.bucketName": "lake", "toJobConfig.outputDirectory": "/raw/orders/", "toJobConfig.outputFormat": "CSV_FILE",
	},
	DriverConfig: map[string]string{
		"throttlingConfig.numExtractors": "3", "retryJobConfig.retryJobType": "NONE",
	},
}

func TestSubmitCreatesLinksAndJobAndStartsIt(t *testing.T) {
	f := newFixture(t)
	job := f.mustSubmit(request(baseInput()))

	jobs := f.emu.CDMJobs()
	require.Len(t, jobs, 1)
	j := jobs[0]
	require.Len(t, j.Submissions, 1)
	sub := j.Submissions[0]
	assert.Equal(t, activities.Job{ID: handle(cluster1, "mysql2obs", sub.ID), ProjectID: project}, *job)
	assert.Equal(t, "BOOTING", sub.Status)
	assert.Equal(t, 1, j.Starts)

	got := j
	got.ID, got.Created, got.Updated, got.Status, got.Starts, got.Submissions = 0, time.Time{}, time.Time{}, "", 0, nil
	assert.Equal(t, wantJob, got)

	// The links were created first, with the secrets resolved for the call.
	links := f.emu.CDMLinks()
	require.Len(t, links, 2)
	assert.Equal(t, "mysql_link", links[0].Name)
	assert.Equal(t, "generic-jdbc-connector", links[0].Connector)
	assert.True(t, links[0].Enabled)
	assert.Equal(t, map[string]string{
		"linkConfig.databaseType": "MYSQL", "linkConfig.host": "10.0.0.1", "linkConfig.port": "3306",
		"linkConfig.database": "sales", "linkConfig.username": "etl", "linkConfig.password": mysqlPassword,
	}, links[0].Inputs)
	assert.Equal(t, "obs_link", links[1].Name)
	assert.Equal(t, map[string]string{
		"linkConfig.storageType": "OBS", "linkConfig.server": "obs.example.com", "linkConfig.port": "443",
		"linkConfig.accessKey": "AK123", "linkConfig.securityKey": obsSecretKey,
	}, links[1].Inputs)
	for _, l := range links {
		assert.Equal(t, cluster1, l.ClusterID)
		assert.Equal(t, project, l.ProjectID)
	}

	assert.Equal(t, map[string]int{
		routeFindJob: 1, routeFindLink: 2, routeCreateLink: 2, routeCreateJob: 1, routeStart: 1,
	}, f.emu.Calls())
	logs := f.logs.String()
	assert.Contains(t, logs, "created CDM link")
	assert.Contains(t, logs, "created CDM job")
	assert.Contains(t, logs, "started CDM job")
	// Before starting, submit recorded the job's newest run: none.
	assert.JSONEq(t, `{"cluster":"`+cluster1+`","job":"mysql2obs","before":0}`, string(f.lastMark()))
}

func TestSubmitKeepsExistingLinks(t *testing.T) {
	f := newFixture(t)
	status, body := f.api(http.MethodPost, "/v1.1/"+project+"/clusters/"+cluster1+"/cdm/link",
		`{"links":[{"name":"mysql_link","connector-name":"generic-jdbc-connector","link-config-values":{"configs":[{"name":"linkConfig","inputs":[{"name":"linkConfig.host","value":"db.internal"}]}]}}]}`)
	require.Equal(t, http.StatusOK, status, body)

	f.mustSubmit(request(baseInput()))
	links := f.emu.CDMLinks()
	require.Len(t, links, 2)
	assert.Equal(t, map[string]string{"linkConfig.host": "db.internal"}, links[0].Inputs, "an existing link is not rewritten")
	assert.Equal(t, "obs_link", links[1].Name)
	assert.Equal(t, 2, f.calls(routeCreateLink), "the test's own, then obs_link only")
}

func TestSubmitLinkWithOtherConnector(t *testing.T) {
	f := newFixture(t)
	status, body := f.api(http.MethodPost, "/v1.1/"+project+"/clusters/"+cluster1+"/cdm/link",
		`{"links":[{"name":"obs_link","connector-name":"hdfs-connector","link-config-values":{"configs":[{"name":"linkConfig","inputs":[]}]}}]}`)
	require.Equal(t, http.StatusOK, status, body)

	_, err := f.submit(request(baseInput()))
	assertRejected(t, err, "CDM link obs_link in cluster cdm-cluster-1 exists with connector hdfs-connector, not obs-connector")
	assert.Empty(t, f.emu.CDMJobs())
}

func TestSubmitWithoutLinks(t *testing.T) {
	f := newFixture(t)
	in := baseInput()
	delete(in, "links")
	_, err := f.submit(request(in))
	// CDM answers a missing link with 500 Cdm.0101; it is final.
	assertRejected(t, err, "CDM create job: HTTP 400 Cdm.0101: Link [mysql_link] does not exist.")
	assert.Empty(t, f.emu.CDMJobs())
	assert.Equal(t, 0, f.calls(routeStart))
}

func TestSuccessEndToEnd(t *testing.T) {
	f := newFixture(t)
	f.emu.AddRule(emulator.Rule{Service: emulator.CDM, Match: "mysql2obs", Duration: 10 * time.Second})
	req := request(baseInput())
	req.Job = f.mustSubmit(req)
	subID := f.job(cluster1, "mysql2obs").Submissions[0].ID

	for _, tc := range []struct {
		advance time.Duration
		state   string
		percent float64
	}{
		{0, "BOOTING", 1},                // the first fifth of the run
		{5 * time.Second, "RUNNING", 50}, // half way
		{4 * time.Second, "RUNNING", 90},
	} {
		f.clock.Advance(tc.advance)
		_, err := f.wait(req)
		app := appError(t, err)
		assert.Equal(t, "StillRunning", app.Type())
		assert.False(t, app.NonRetryable())
		assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category())
		assert.Equal(t, activities.NextPoll(req.Poll, 1), app.NextRetryDelay())
		assert.Equal(t, 10*time.Second, app.NextRetryDelay())
		assert.Equal(t, "job "+req.Job.ID+" is "+tc.state, app.Message())
		var p activities.Progress
		require.NoError(t, app.Details(&p))
		assert.Equal(t, req.Job.ID, p.JobID)
		assert.Equal(t, tc.state, p.State)
		assert.Equal(t, tc.percent, p.Percent)
	}

	f.clock.Advance(time.Second)
	res, err := f.wait(req)
	require.NoError(t, err)
	// 8 s RUNNING at 1000 rows/s; the source is a table (byte and file
	// counters -1, reported as 0), the destination OBS files.
	assert.Equal(t, &activities.Result{State: "SUCCEEDED", Outputs: map[string]string{
		"submission_id": jsonNumber(subID),
		"rows_read":     "8000",
		"rows_written":  "8000",
		"bytes_read":    "0",
		"bytes_written": "800000",
		"files_read":    "0",
		"files_written": "1",
	}}, res)
	assert.Equal(t, 4, f.job(cluster1, "mysql2obs").StatusCalls, "one status call per wait")
	assert.Equal(t, 0, f.calls(routeHistory))
}

func TestWaitFailed(t *testing.T) {
	f := newFixture(t)
	const msg = "The number of dirty data records reaches the upper limit."
	f.emu.AddRule(emulator.Rule{Service: emulator.CDM, Match: "mysql2obs", FailMessage: msg, FailCode: "Cdm.0936", Duration: 5 * time.Second})
	req := request(baseInput())
	req.Job = f.mustSubmit(req)

	f.clock.Advance(4 * time.Second)
	_, err := f.wait(req)
	assert.Equal(t, "StillRunning", appError(t, err).Type())

	f.clock.Advance(time.Second)
	_, err = f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "JobFailed", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "job "+req.Job.ID+" ended FAILED: Cdm.0936: "+msg, app.Message())
	var res activities.Result
	require.NoError(t, app.Details(&res))
	assert.Equal(t, activities.Result{JobID: req.Job.ID, State: "FAILED", Message: "Cdm.0936: " + msg}, res)
}

func TestWaitStoppedElsewhere(t *testing.T) {
	f := newFixture(t)
	req := request(baseInput())
	req.Job = f.mustSubmit(req)
	status, body := f.api(http.MethodPut, "/v1.1/"+project+"/clusters/"+cluster1+"/cdm/job/mysql2obs/stop", "")
	require.Equal(t, http.StatusOK, status, body)

	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "JobCancelled", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "job "+req.Job.ID+" ended STOPPED: the run was stopped", app.Message())
}

func TestWaitJobDeleted(t *testing.T) {
	f := newFixture(t)
	req := request(baseInput())
	req.Job = f.mustSubmit(req)
	f.clock.Advance(time.Minute)
	status, body := f.api(http.MethodDelete, "/v1.1/"+project+"/clusters/"+cluster1+"/cdm/job/mysql2obs", "")
	require.Equal(t, http.StatusOK, status, body)

	_, err := f.wait(req)
	// Sent as 500, but a missing job will not come back: not retried.
	assertRejected(t, err, "CDM query job status: HTTP 400 Cdm.0100: Job[mysql2obs] doesn't exist.")
}

func TestWaitFindsItsRunInTheHistory(t *testing.T) {
	f := newFixture(t)
	req := request(baseInput())
	req.Job = f.mustSubmit(req)
	first := f.job(cluster1, "mysql2obs").Submissions[0].ID
	f.clock.Advance(time.Minute)

	// A later attempt runs the job again before this wait looked.
	again := request(baseInput())
	again.Attempt = 2
	second := f.mustSubmit(again)
	require.NotEqual(t, req.Job.ID, second.ID)

	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, "SUCCEEDED", res.State)
	assert.Equal(t, jsonNumber(first), res.Outputs["submission_id"])
	assert.Equal(t, "800", res.Outputs["rows_read"]) // 0.8 s RUNNING of the default 1 s
	assert.Equal(t, 1, f.calls(routeHistory))

	// The new run is still booting.
	again.Job = second
	_, err = f.wait(again)
	assert.Equal(t, "job "+second.ID+" is BOOTING", appError(t, err).Message())
}

func TestSubmitServiceErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
		delay  time.Duration
	}{
		{http.StatusInternalServerError, "CDM start job: HTTP 500 Cdm.0000: System error (injected HTTP 500).", 0},
		{http.StatusTooManyRequests, "CDM start job: HTTP 429 Cdm.0037: Failed to submit the job: too many requests, retry later (injected).", time.Second},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			f := newFixture(t)
			f.emu.AddRule(emulator.Rule{Service: emulator.CDM, SubmitErrors: 1, SubmitStatus: tc.status})
			req := request(baseInput())

			_, err := f.submit(req)
			app := appError(t, err)
			assert.Equal(t, "ServiceUnavailable", app.Type())
			assert.False(t, app.NonRetryable())
			assert.Equal(t, tc.delay, app.NextRetryDelay())
			assert.Equal(t, tc.want, app.Message())
			require.Len(t, f.emu.CDMJobs(), 1) // created, not started
			assert.Empty(t, f.emu.CDMJobs()[0].Submissions)

			// Temporal retries: the job is found, not created again, and
			// started once.
			job := f.mustSubmit(req)
			assert.False(t, job.Reattached)
			jobs := f.emu.CDMJobs()
			require.Len(t, jobs, 1)
			require.Len(t, jobs[0].Submissions, 1)
			assert.Equal(t, handle(cluster1, "mysql2obs", jobs[0].Submissions[0].ID), job.ID)
			assert.Equal(t, 1, f.calls(routeCreateJob))
			assert.Equal(t, 2, f.calls(routeCreateLink))
			assert.Equal(t, 0, f.calls(routeModifyJob), "the definition is unchanged")
			assert.Equal(t, 2, f.calls(routeStart))
		})
	}
}

func TestSubmitStartResponseLost(t *testing.T) {
	f := newFixture(t)
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.CDM,
		Route: "PUT /v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}/start", Count: 1})
	require.NoError(t, err)
	req := request(baseInput())

	_, err = f.submit(req)
	app := appError(t, err)
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Contains(t, app.Message(), "CDM start job: ")
	j := f.job(cluster1, "mysql2obs")
	require.Len(t, j.Submissions, 1, "the start happened")

	// Temporal gives the retry the last heartbeat of the failed try.
	f.env.SetHeartbeatDetails(f.lastMark())
	job := f.mustSubmit(req)
	assert.Equal(t, activities.Job{ID: handle(cluster1, "mysql2obs", j.Submissions[0].ID), ProjectID: project, Reattached: true}, *job)
	j = f.job(cluster1, "mysql2obs")
	assert.Len(t, j.Submissions, 1, "exactly one run")
	assert.Equal(t, 1, j.Starts)
	assert.Len(t, f.emu.CDMJobs(), 1)
	assert.Equal(t, 1, f.calls(routeStart), "the lost start and none since")
	assert.Contains(t, f.logs.String(), "re-attached to CDM job run")

	// Even once the run has ended, a retry re-attaches instead of
	// starting another.
	f.clock.Advance(time.Minute)
	again := f.mustSubmit(req)
	assert.Equal(t, job.ID, again.ID)
	assert.True(t, again.Reattached)
	assert.Equal(t, 1, f.job(cluster1, "mysql2obs").Starts)
}

func TestSubmitCreateResponseLost(t *testing.T) {
	f := newFixture(t)
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.CDM,
		Route: "POST /v1.1/{project_id}/clusters/{cluster_id}/cdm/job", Count: 1})
	require.NoError(t, err)
	req := request(baseInput())

	_, err = f.submit(req)
	app := appError(t, err)
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.Contains(t, app.Message(), "CDM create job: ")
	require.Len(t, f.emu.CDMJobs(), 1)
	f.mu.Lock()
	assert.Empty(t, f.marks, "nothing was started, nothing recorded")
	f.mu.Unlock()

	job := f.mustSubmit(req)
	assert.False(t, job.Reattached)
	jobs := f.emu.CDMJobs()
	require.Len(t, jobs, 1)
	require.Len(t, jobs[0].Submissions, 1)
	assert.Equal(t, handle(cluster1, "mysql2obs", jobs[0].Submissions[0].ID), job.ID)
	assert.Equal(t, 1, f.calls(routeCreateJob))
}

func TestSubmitRefusesARunItDidNotStart(t *testing.T) {
	f := newFixture(t)
	first := f.mustSubmit(request(baseInput()))

	// Another attempt (no heartbeat of its own) while the run goes on.
	req := request(baseInput())
	req.Attempt = 2
	_, err := f.submit(req)
	sub := f.job(cluster1, "mysql2obs").Submissions[0].ID
	assertRejected(t, err, "CDM job mysql2obs in cluster cdm-cluster-1 is already running (submission "+jsonNumber(sub)+
		", BOOTING), a run this step did not start; CDM runs a job once at a time")
	assert.Equal(t, first.ID, handle(cluster1, "mysql2obs", sub))
	assert.Equal(t, 1, f.job(cluster1, "mysql2obs").Starts)

	// A heartbeat of another job does not count either.
	f.env.SetHeartbeatDetails(json.RawMessage(`{"cluster":"cdm-cluster-1","job":"other","before":0}`))
	_, err = f.submit(req)
	assert.Equal(t, "RequestRejected", appError(t, err).Type())
	assert.Equal(t, 1, f.job(cluster1, "mysql2obs").Starts)
}

func TestSubmitNewAttemptNewRun(t *testing.T) {
	f := newFixture(t)
	req := request(baseInput())
	first := f.mustSubmit(req)
	f.clock.Advance(time.Minute) // the run ends

	req.Attempt = 2
	second := f.mustSubmit(req)
	assert.False(t, second.Reattached)
	assert.NotEqual(t, first.ID, second.ID)
	j := f.job(cluster1, "mysql2obs")
	require.Len(t, j.Submissions, 2)
	assert.Equal(t, handle(cluster1, "mysql2obs", j.Submissions[0].ID), first.ID)
	assert.Equal(t, handle(cluster1, "mysql2obs", j.Submissions[1].ID), second.ID)
	assert.Equal(t, "SUCCEEDED", j.Submissions[0].Status)
	assert.Equal(t, "BOOTING", j.Submissions[1].Status)
	assert.Len(t, f.emu.CDMJobs(), 1, "the job is reused")
	assert.Equal(t, 1, f.calls(routeCreateJob))
	assert.Equal(t, 0, f.calls(routeModifyJob))
	assert.Equal(t, 2, f.calls(routeCreateLink), "links are created once")
	// This submit's heartbeat names the run before its own.
	assert.JSONEq(t, `{"cluster":"`+cluster1+`","job":"mysql2obs","before":`+jsonNumber(j.Submissions[0].ID)+`}`, string(f.lastMark()))
}

func TestSubmitUpdatesAChangedJob(t *testing.T) {
	f := newFixture(t)
	f.mustSubmit(request(baseInput()))
	f.clock.Advance(time.Minute)

	in := baseInput()
	in["to_config"].(map[string]any)["outputDirectory"] = "/raw/orders-v2/"
	in["driver_config"].(map[string]any)["throttlingConfig.numExtractors"] = 4 // a number is sent as text
	req := request(in)
	req.Attempt = 2
	job := f.mustSubmit(req)

	j := f.job(cluster1, "mysql2obs")
	assert.Equal(t, "/raw/orders-v2/", j.ToConfig["toJobConfig.outputDirectory"])
	assert.Equal(t, "4", j.DriverConfig["throttlingConfig.numExtractors"])
	require.Len(t, j.Submissions, 2)
	assert.Equal(t, handle(cluster1, "mysql2obs", j.Submissions[1].ID), job.ID)
	assert.Equal(t, 1, f.calls(routeModifyJob))
	assert.Contains(t, f.logs.String(), "changed=to-config-values,driver-config-values")
}

func TestSubmitProjectFromWorker(t *testing.T) {
	f := newFixture(t)
	req := request(baseInput())
	req.Cloud.ProjectID = ""
	job := f.mustSubmit(req)
	assert.Equal(t, workerProject, job.ProjectID)
	_, ok := f.emu.CDMJob(workerProject, cluster1, "mysql2obs")
	assert.True(t, ok)
}

func TestSubmitInvalidInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"no name", func(m map[string]any) { delete(m, "name") }, "name is required"},
		{"no cluster", func(m map[string]any) { delete(m, "cluster_id") }, "set cluster_id or cluster_ids"},
		{"both clusters", func(m map[string]any) { m["cluster_ids"] = []string{"a", "b"} }, "set cluster_id or cluster_ids, not both"},
		{"cluster twice", func(m map[string]any) { delete(m, "cluster_id"); m["cluster_ids"] = []string{"a", "b", "a"} }, "cluster_ids lists a twice"},
		{"no from link", func(m map[string]any) { m["from_link"] = "" }, "from_link is required"},
		{"no to connector", func(m map[string]any) { delete(m, "to_connector") }, "to_connector is required"},
		{"bare driver key", func(m map[string]any) { m["driver_config"] = map[string]any{"numExtractors": "3"} },
			`driver_config key "numExtractors" must name its group, e.g. throttlingConfig.numExtractors`},
		{"link without connector", func(m map[string]any) { m["links"] = []any{map[string]any{"name": "l"}} }, "links[0].connector is required"},
		{"link twice", func(m map[string]any) {
			m["links"] = []any{map[string]any{"name": "l", "connector": "c"}, map[string]any{"name": "l", "connector": "c"}}
		}, "links[1]: link l is listed twice"},
		{"object value", func(m map[string]any) { m["from_config"] = map[string]any{"tableName": map[string]any{"x": 1}} },
			`value of "tableName" must be a string, a number or true/false`},
		{"wrong type", func(m map[string]any) { m["cluster_ids"] = "a" },
			"json: cannot unmarshal string into Go struct field JobInput.cluster_ids of type []string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			in := baseInput()
			tc.edit(in)
			_, err := f.submit(request(in))
			assertRejected(t, err, "cdm.job input: "+tc.want)
			assert.Empty(t, f.emu.Calls(), "no request may reach the service")
		})
	}
}

func TestSubmitMissingSecret(t *testing.T) {
	f := newFixture(t)
	in := baseInput()
	in["links"].([]any)[0].(map[string]any)["config"].(map[string]any)["password"] = "${secret.nope}"
	_, err := f.submit(request(in))
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.Contains(t, app.Message(), "secret nope is not set on this worker")
	assert.Empty(t, f.emu.Calls())
}

func TestMissingProjectID(t *testing.T) {
	const want = "no project id: set cloud.project_id in the spec or the worker's project id"
	f := newFixture(t)
	f.acts.ProjectID = ""
	req := request(baseInput())
	req.Cloud.ProjectID = ""

	_, err := f.submit(req)
	assertRejected(t, err, want)
	req.Job = &activities.Job{ID: handle(cluster1, "mysql2obs", 3)}
	_, err = f.wait(req)
	assertRejected(t, err, want)
	assertRejected(t, f.cancel(req), want)
	assert.Empty(t, f.emu.Calls())
}

func TestWaitBadHandle(t *testing.T) {
	f := newFixture(t)
	for id, want := range map[string]string{
		"":                        "wait without a job",
		"cdm-cluster-1":           `CDM job handle "cdm-cluster-1" is not cluster/job/submission`,
		"cdm-cluster-1/job":       `CDM job handle "cdm-cluster-1/job" is not cluster/job/submission`,
		"cdm-cluster-1/job/x":     `CDM job handle "cdm-cluster-1/job/x" is not cluster/job/submission`,
		"/job/3":                  `CDM job handle "/job/3" is not cluster/job/submission`,
		"cdm-cluster-1/a/b/c/not": `CDM job handle "cdm-cluster-1/a/b/c/not" is not cluster/job/submission`,
	} {
		req := request(baseInput())
		req.Job = &activities.Job{ID: id, ProjectID: project}
		_, err := f.wait(req)
		assertRejected(t, err, want)
	}
	assert.Empty(t, f.emu.Calls())
}

func TestWaitUsesTheJobsProject(t *testing.T) {
	f := newFixture(t)
	req := request(baseInput())
	req.Job = f.mustSubmit(req)
	f.clock.Advance(time.Minute)
	req.Cloud.ProjectID = "another-project"
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, "SUCCEEDED", res.State)
}

func TestRandomCluster(t *testing.T) {
	f := newFixture(t)
	cluster2 := f.secondCluster()
	in := baseInput()
	delete(in, "cluster_id")
	in["cluster_ids"] = []string{cluster1, cluster2}
	req := request(in)

	req.Job = f.mustSubmit(req)
	jobs := f.emu.CDMJobs()
	require.Len(t, jobs, 1)
	assert.Equal(t, cluster2, jobs[0].ClusterID, "CDM chose the running cluster")
	require.Len(t, jobs[0].Submissions, 1)
	assert.Equal(t, activities.Job{ID: handle(cluster2, "mysql2obs", jobs[0].Submissions[0].ID), ProjectID: project}, *req.Job)
	assert.Equal(t, 1, jobs[0].Starts)
	// The links exist in every cluster CDM could choose.
	links := f.emu.CDMLinks()
	require.Len(t, links, 4)
	assert.Equal(t, []string{cluster1, cluster1, cluster2, cluster2},
		[]string{links[0].ClusterID, links[1].ClusterID, links[2].ClusterID, links[3].ClusterID})
	// Looked for the job in both, created it once, then asked both for it.
	assert.Equal(t, 2, f.calls(routeFindJob))
	assert.Equal(t, 1, f.calls(routeRandom))
	assert.Equal(t, 2, f.calls(routeStatus))
	assert.Equal(t, 0, f.calls(routeCreateJob)+f.calls(routeStart))
	assert.JSONEq(t, `{"cluster":"","job":"mysql2obs","before":0}`, string(f.lastMark()))

	// Wait and cancel address that cluster only.
	_, err := f.wait(req)
	assert.Equal(t, "StillRunning", appError(t, err).Type())
	assert.Equal(t, 3, f.calls(routeStatus))
	require.NoError(t, f.cancel(req))
	assert.Equal(t, "STOPPED", f.job(cluster2, "mysql2obs").Submissions[0].Status)

	// The next attempt runs the job where it now lives.
	req.Job, req.Attempt = nil, 2
	job := f.mustSubmit(req)
	assert.Equal(t, 1, f.calls(routeRandom))
	assert.Equal(t, 1, f.calls(routeStart))
	j := f.job(cluster2, "mysql2obs")
	require.Len(t, j.Submissions, 2)
	assert.Equal(t, handle(cluster2, "mysql2obs", j.Submissions[1].ID), job.ID)
}

func TestRandomClusterResponseLost(t *testing.T) {
	f := newFixture(t)
	cluster2 := f.secondCluster()
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.CDM,
		Route: "POST /v1.1/{project_id}/clusters/job", Count: 1})
	require.NoError(t, err)
	in := baseInput()
	delete(in, "cluster_id")
	in["cluster_ids"] = []string{cluster1, cluster2}
	req := request(in)

	_, err = f.submit(req)
	assert.Equal(t, "ServiceUnavailable", appError(t, err).Type())
	require.Len(t, f.emu.CDMJobs(), 1)

	f.env.SetHeartbeatDetails(f.lastMark())
	job := f.mustSubmit(req)
	j := f.job(cluster2, "mysql2obs")
	require.Len(t, j.Submissions, 1, "exactly one run")
	assert.Equal(t, activities.Job{ID: handle(cluster2, "mysql2obs", j.Submissions[0].ID), ProjectID: project, Reattached: true}, *job)
	assert.Len(t, f.emu.CDMJobs(), 1)
	assert.Equal(t, 1, f.calls(routeRandom))
	assert.Equal(t, 0, f.calls(routeStart))
}

func TestRandomClusterSubmitError(t *testing.T) {
	f := newFixture(t)
	cluster2 := f.secondCluster()
	f.emu.AddRule(emulator.Rule{Service: emulator.CDM, SubmitErrors: 1})
	in := baseInput()
	delete(in, "cluster_id")
	in["cluster_ids"] = []string{cluster1, cluster2}
	req := request(in)

	_, err := f.submit(req)
	app := appError(t, err)
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.Equal(t, "CDM create and execute job: HTTP 500 Cdm.0000: System error (injected HTTP 500).", app.Message())
	assert.Empty(t, f.emu.CDMJobs())

	f.env.SetHeartbeatDetails(f.lastMark())
	job := f.mustSubmit(req)
	assert.False(t, job.Reattached)
	require.Len(t, f.emu.CDMJobs(), 1)
	assert.Len(t, f.job(cluster2, "mysql2obs").Submissions, 1)
	assert.Equal(t, 2, f.calls(routeRandom))
}

func TestCancelRunning(t *testing.T) {
	for _, tc := range []struct {
		advance time.Duration
		state   string
	}{{0, "BOOTING"}, {500 * time.Millisecond, "RUNNING"}} {
		t.Run(tc.state, func(t *testing.T) {
			f := newFixture(t)
			req := request(baseInput())
			req.Job = f.mustSubmit(req)
			f.clock.Advance(tc.advance)
			require.Equal(t, tc.state, f.job(cluster1, "mysql2obs").Submissions[0].Status)

			require.NoError(t, f.cancel(req))
			j := f.job(cluster1, "mysql2obs")
			assert.Equal(t, "STOPPED", j.Submissions[0].Status)
			assert.Equal(t, t0.Add(tc.advance), j.Submissions[0].EndedAt)
			assert.Equal(t, 1, j.Stops)
			assert.Equal(t, 1, f.calls(routeStop))
			assert.Contains(t, f.logs.String(), "stopped CDM job")

			// Again: the run already ended, nothing to stop.
			require.NoError(t, f.cancel(req))
			assert.Equal(t, 1, f.calls(routeStop))
			assert.Equal(t, 2, f.calls(routeStatus))
		})
	}
}

func TestCancelEnded(t *testing.T) {
	f := newFixture(t)
	f.emu.AddRule(emulator.Rule{Service: emulator.CDM, Match: "broken", FailMessage: "Table [orders] unavailable."})
	ok := request(baseInput())
	ok.Job = f.mustSubmit(ok)
	in := baseInput()
	in["name"] = "broken"
	failed := request(in)
	failed.Job = f.mustSubmit(failed)
	f.clock.Advance(time.Minute)

	require.NoError(t, f.cancel(ok))
	require.NoError(t, f.cancel(failed))
	assert.Equal(t, "SUCCEEDED", f.job(cluster1, "mysql2obs").Submissions[0].Status)
	assert.Equal(t, "FAILED", f.job(cluster1, "broken").Submissions[0].Status)
	assert.Equal(t, 0, f.calls(routeStop), "no stop for an ended run")
}

func TestCancelLeavesANewerRun(t *testing.T) {
	f := newFixture(t)
	old := request(baseInput())
	old.Job = f.mustSubmit(old)
	f.clock.Advance(time.Minute)
	newer := request(baseInput())
	newer.Attempt = 2
	f.mustSubmit(newer)

	require.NoError(t, f.cancel(old))
	assert.Equal(t, "BOOTING", f.job(cluster1, "mysql2obs").Submissions[1].Status)
	assert.Equal(t, 0, f.calls(routeStop))
}

func TestCancelFindsJobByName(t *testing.T) {
	for name, job := range map[string]*activities.Job{"nil": nil, "empty": {}} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			req := request(baseInput())
			f.mustSubmit(req)
			f.clock.Advance(300 * time.Millisecond)

			req.Job = job // submit's answer never reached the workflow
			require.NoError(t, f.cancel(req))
			assert.Equal(t, "STOPPED", f.job(cluster1, "mysql2obs").Submissions[0].Status)
			assert.Equal(t, 1, f.calls(routeStop))
		})
	}
}

func TestCancelFindsJobInListedClusters(t *testing.T) {
	f := newFixture(t)
	cluster2 := f.secondCluster()
	in := baseInput()
	delete(in, "cluster_id")
	in["cluster_ids"] = []string{cluster1, cluster2}
	req := request(in)
	f.mustSubmit(req)
	statusCalls := f.calls(routeStatus)

	require.NoError(t, f.cancel(req))
	assert.Equal(t, "STOPPED", f.job(cluster2, "mysql2obs").Submissions[0].Status)
	assert.Equal(t, statusCalls+2, f.calls(routeStatus), "asked both clusters")
	assert.Equal(t, 1, f.calls(routeStop))
}

func TestCancelNothingSubmitted(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.cancel(request(baseInput())))
	assert.Equal(t, map[string]int{routeStatus: 1}, f.emu.Calls())
}

func TestCancelJobEndsMeanwhile(t *testing.T) {
	f := newFixture(t)
	req := request(baseInput())
	req.Job = f.mustSubmit(req)
	// The run ends between cancel's status check and its stop, which CDM
	// then refuses (400 Cdm.0053).
	var once sync.Once
	f.hooks.fake = func(r *http.Request) *http.Response {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/stop") {
			once.Do(func() { f.clock.Advance(time.Minute) })
		}
		return nil
	}
	require.NoError(t, f.cancel(req))
	assert.Equal(t, "SUCCEEDED", f.job(cluster1, "mysql2obs").Submissions[0].Status)
	assert.Equal(t, 1, f.calls(routeStop))
}

func TestCancelServiceUnavailable(t *testing.T) {
	f := newFixture(t)
	req := request(baseInput())
	req.Job = f.mustSubmit(req)
	f.hooks.fake = func(r *http.Request) *http.Response {
		if !strings.HasSuffix(r.URL.Path, "/stop") {
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
	assert.Equal(t, "CDM stop job: HTTP 502: <html>bad gateway</html>", app.Message())
	assert.Equal(t, "BOOTING", f.job(cluster1, "mysql2obs").Submissions[0].Status)
}

// stubCDM answers the status call with a submission in state and
// anything else with an empty object.
func stubCDM(state string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/status") {
			_, _ = io.WriteString(w, `{"submissions":[{"job-name":"j","submission-id":"7","status":"`+state+`","progress":"42.5","creation-date":"1536905778725"}]}`)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	})
}

func TestWaitUnknownState(t *testing.T) {
	f := newFixtureFor(t, stubCDM("UNKNOWN"), &fakeClock{t: t0})
	req := request(baseInput())
	req.Job = &activities.Job{ID: "c1/j/7", ProjectID: project}
	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "StillRunning", app.Type())
	assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category())
	assert.Equal(t, 2*time.Minute, app.NextRetryDelay()) // the cap
	assert.Equal(t, "job c1/j/7 is UNKNOWN", app.Message())
	var p activities.Progress
	require.NoError(t, app.Details(&p))
	assert.Equal(t, 42.5, p.Percent)
	assert.Contains(t, f.logs.String(), "unknown CDM submission state")
}

func TestWaitPendingAndFailureOnSubmit(t *testing.T) {
	f := newFixtureFor(t, stubCDM("PENDING"), &fakeClock{t: t0})
	req := request(baseInput())
	req.Job = &activities.Job{ID: "c1/j/7", ProjectID: project}
	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, "StillRunning", app.Type())
	assert.Equal(t, 10*time.Second, app.NextRetryDelay())

	f = newFixtureFor(t, stubCDM("FAILURE_ON_SUBMIT"), &fakeClock{t: t0})
	_, err = f.wait(req)
	app = appError(t, err)
	assert.Equal(t, "JobFailed", app.Type())
	assert.Equal(t, "job c1/j/7 ended FAILURE_ON_SUBMIT: no message from the service", app.Message())
}

// Cancel needs the job's name only: the placeholders in `with` stay
// unresolved.
func TestCancelDoesNotResolveSecrets(t *testing.T) {
	f := newFixture(t)
	f.acts.Secrets = nil // a worker without secrets can still cancel
	require.NoError(t, f.cancel(request(baseInput())))
}

func TestActivityMethodsDirectly(t *testing.T) {
	// Text that is no JSON cannot cross Temporal's converter.
	f := newFixture(t)
	_, err := f.acts.SubmitJob(context.Background(), activities.StepRequest{With: json.RawMessage(`{"name":`)})
	assertRejected(t, err, "cdm.job input: unexpected end of JSON input")
	assert.Empty(t, f.emu.Calls())
}
