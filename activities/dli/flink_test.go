package dli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/dli"
	"github.com/pipectl/pipectl/testenv/emulator"
)

// Emulator routes of the Flink API, as counted by Calls.
const (
	routeFlinkList      = emulator.DLI + " GET /v1.0/{project_id}/streaming/jobs"
	routeFlinkDetail    = emulator.DLI + " GET /v1.0/{project_id}/streaming/jobs/{job_id}"
	routeFlinkCreateSQL = emulator.DLI + " POST /v1.0/{project_id}/streaming/sql-jobs"
	routeFlinkUpdateSQL = emulator.DLI + " PUT /v1.0/{project_id}/streaming/sql-jobs/{job_id}"
	routeFlinkCreateJar = emulator.DLI + " POST /v1.0/{project_id}/streaming/flink-jobs"
	routeFlinkRun       = emulator.DLI + " POST /v1.0/{project_id}/streaming/jobs/run"
	routeFlinkStop      = emulator.DLI + " POST /v1.0/{project_id}/streaming/jobs/stop"
)

// kindFixture is the SQL fixture with the Flink and Spark activities
// registered too, under the names the worker uses.
func kindFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	registerKinds(f)
	return f
}

func registerKinds(f *fixture) {
	reg := func(name string, fn any) {
		f.env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	reg(activities.SubmitName(dli.KindFlinkSQL), f.acts.SubmitFlinkSQL)
	reg(activities.WaitName(dli.KindFlinkSQL), f.acts.WaitFlink)
	reg(activities.CancelName(dli.KindFlinkSQL), f.acts.CancelFlink)
	reg(activities.SubmitName(dli.KindFlinkJar), f.acts.SubmitFlinkJar)
	reg(activities.WaitName(dli.KindFlinkJar), f.acts.WaitFlink)
	reg(activities.CancelName(dli.KindFlinkJar), f.acts.CancelFlink)
	reg(activities.SubmitName(dli.KindSpark), f.acts.SubmitSpark)
	reg(activities.WaitName(dli.KindSpark), f.acts.WaitSpark)
	reg(activities.CancelName(dli.KindSpark), f.acts.CancelSpark)
}

// kindRequest is a request of kind for step id.
func kindRequest(kind, step, with string) activities.StepRequest {
	req := request(with)
	req.Kind = kind
	req.StepID = step
	return req
}

func (f *fixture) submitKind(req activities.StepRequest) (*activities.Job, error) {
	f.t.Helper()
	val, err := f.env.ExecuteActivity(activities.SubmitName(req.Kind), req)
	if err != nil {
		return nil, err
	}
	var job *activities.Job
	require.NoError(f.t, val.Get(&job))
	return job, nil
}

func (f *fixture) mustSubmitKind(req activities.StepRequest) *activities.Job {
	f.t.Helper()
	job, err := f.submitKind(req)
	require.NoError(f.t, err)
	require.NotNil(f.t, job)
	return job
}

func (f *fixture) waitKind(req activities.StepRequest) (*activities.Result, error) {
	f.t.Helper()
	val, err := f.env.ExecuteActivity(activities.WaitName(req.Kind), req)
	if err != nil {
		return nil, err
	}
	var res *activities.Result
	require.NoError(f.t, val.Get(&res))
	return res, nil
}

func (f *fixture) cancelKind(req activities.StepRequest) error {
	f.t.Helper()
	_, err := f.env.ExecuteActivity(activities.CancelName(req.Kind), req)
	return err
}

// stillRunning checks that err is a wait's "still running" with the first
// poll interval, and returns its progress.
func stillRunning(t *testing.T, err error, jobID, state string) activities.Progress {
	t.Helper()
	app := appError(t, err)
	assert.Equal(t, "StillRunning", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category())
	assert.Equal(t, "job "+jobID+" is "+state, app.Message())
	var p activities.Progress
	require.NoError(t, app.Details(&p))
	assert.Equal(t, jobID, p.JobID)
	assert.Equal(t, state, p.State)
	return p
}

// recordBodies keeps the body of every request matching method and path
// suffix.
func (f *fixture) recordBodies(method, suffix string) *[]string {
	var mu sync.Mutex
	var bodies []string
	f.hooks.fake = func(r *http.Request) *http.Response {
		if r.Method == method && strings.HasSuffix(r.URL.Path, suffix) && r.Body != nil {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
		}
		return nil
	}
	return &bodies
}

func (f *fixture) flinkJob(id string) emulator.FlinkJob {
	f.t.Helper()
	for _, j := range f.emu.FlinkJobs() {
		if fmt.Sprint(j.ID) == id {
			return j
		}
	}
	f.t.Fatalf("the emulator has no Flink job %s", id)
	return emulator.FlinkJob{}
}

// mapSecrets is a worker's secret source.
type mapSecrets map[string]string

func (m mapSecrets) Secret(_ context.Context, name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("secret %s is not set", name)
}

const flinkSQLWith = `{"name":"clicks_agg","sql":"INSERT INTO sink SELECT * FROM clicks","queue":"flink_q","cu_number":4,"parallel_number":2,"checkpoint_enabled":true,"checkpoint_interval":30,"obs_bucket":"ckpt-bucket","runtime_config":{"table.exec.state.ttl":"1h","a.first":"x"}}`

func flinkDesc(req activities.StepRequest) string {
	return "Managed by pipectl: pipeline nightly, step " + req.StepID + ", key " + req.IdempotencyKey()
}

func TestFlinkSQLSubmitCreatesAndRuns(t *testing.T) {
	f := kindFixture(t)
	bodies := f.recordBodies(http.MethodPost, "/streaming/sql-jobs")
	req := kindRequest(dli.KindFlinkSQL, "stream", flinkSQLWith)
	job := f.mustSubmitKind(req)
	assert.Equal(t, activities.Job{ID: "100", ProjectID: project}, *job)

	jobs := f.emu.FlinkJobs()
	require.Len(t, jobs, 1)
	j := jobs[0]
	assert.Equal(t, int64(100), j.ID)
	assert.Equal(t, project, j.ProjectID)
	assert.Equal(t, "flink_sql_job", j.Type)
	assert.Equal(t, "clicks_agg", j.Name)
	assert.Equal(t, flinkDesc(req), j.Desc)
	assert.Equal(t, "flink_q", j.Queue)
	assert.Equal(t, "INSERT INTO sink SELECT * FROM clicks", j.SQLBody)
	assert.Equal(t, 4, j.CUNumber)
	assert.Equal(t, 2, j.ParallelNumber)
	assert.True(t, j.CheckpointEnabled)
	assert.Equal(t, `[{"key":"a.first","value":"x"},{"key":"table.exec.state.ttl","value":"1h"}]`, j.RuntimeConfig)
	assert.Equal(t, 1, j.Runs)
	assert.Equal(t, 0, j.Updates)
	assert.Equal(t, "job_submitting", j.Status)

	require.Len(t, *bodies, 1)
	assert.JSONEq(t, `{
		"name": "clicks_agg", "desc": `+jsonString(flinkDesc(req))+`, "queue_name": "flink_q",
		"sql_body": "INSERT INTO sink SELECT * FROM clicks", "cu_number": 4, "parallel_number": 2,
		"checkpoint_enabled": true, "checkpoint_interval": 30, "obs_bucket": "ckpt-bucket",
		"log_enabled": false, "restart_when_exception": false,
		"runtime_config": "[{\"key\":\"a.first\",\"value\":\"x\"},{\"key\":\"table.exec.state.ttl\",\"value\":\"1h\"}]"
	}`, (*bodies)[0])
	assert.Equal(t, map[string]int{routeFlinkList: 1, routeFlinkCreateSQL: 1, routeFlinkRun: 1}, f.emu.Calls())
	assert.Contains(t, f.logs.String(), "created DLI Flink job")
	assert.Contains(t, f.logs.String(), "started DLI Flink job")
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestFlinkSQLDefaults(t *testing.T) {
	f := kindFixture(t)
	bodies := f.recordBodies(http.MethodPost, "/streaming/sql-jobs")
	// Numbers may arrive as text, the value of a template.
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1","parallel_number":"3","log_enabled":"true"}`)
	f.mustSubmitKind(req)
	require.Len(t, *bodies, 1)
	assert.JSONEq(t, `{
		"name": "j1", "desc": `+jsonString(flinkDesc(req))+`, "sql_body": "SELECT 1",
		"cu_number": 2, "parallel_number": 3, "checkpoint_enabled": false, "checkpoint_interval": 10,
		"log_enabled": true, "restart_when_exception": false
	}`, (*bodies)[0])
}

func TestFlinkSQLEndToEnd(t *testing.T) {
	f := kindFixture(t)
	req := kindRequest(dli.KindFlinkSQL, "stream", flinkSQLWith)
	req.Job = f.mustSubmitKind(req)

	// Submitting for the first 20% of the emulator's 1s.
	before := time.Now()
	_, err := f.waitKind(req)
	p := stillRunning(t, err, "100", "job_submitting")
	assert.False(t, p.Checked.Before(before.Truncate(time.Second)))
	app := appError(t, err)
	assert.Equal(t, activities.NextPoll(req.Poll, 1), app.NextRetryDelay())
	assert.Equal(t, 3*time.Second, app.NextRetryDelay())

	f.clock.Advance(200 * time.Millisecond)
	res, err := f.waitKind(req)
	require.NoError(t, err)
	assert.Equal(t, &activities.Result{State: "job_running", Outputs: map[string]string{
		"job_id": "100",
		"status": "job_running",
	}}, res)
	assert.Equal(t, 2, f.calls(routeFlinkDetail))
	assert.Equal(t, 0, f.calls(routeFlinkStop))
}

func TestFlinkWaitFinished(t *testing.T) {
	f := kindFixture(t)
	req := kindRequest(dli.KindFlinkSQL, "batch", `{"name":"bounded","sql":"INSERT INTO t SELECT 1","wait":"finished"}`)
	req.Job = f.mustSubmitKind(req)
	f.clock.Advance(time.Hour)
	require.Equal(t, "job_running", f.flinkJob("100").Status)

	// Running is not finished: the wait goes on.
	_, err := f.waitKind(req)
	stillRunning(t, err, "100", "job_running")

	// The emulator never finishes a Flink job: a stub reports job_finish.
	s := kindStubFixture(t, flinkDetailStub("job_finish", ""))
	res, err := s.waitKind(req)
	require.NoError(t, err)
	assert.Equal(t, &activities.Result{State: "job_finish", Outputs: map[string]string{
		"job_id": "100",
		"status": "job_finish",
	}}, res)

	// A bounded job that finishes is done in the default mode too.
	req.With = json.RawMessage(`{"name":"bounded","sql":"INSERT INTO t SELECT 1"}`)
	res, err = s.waitKind(req)
	require.NoError(t, err)
	assert.Equal(t, "job_finish", res.State)
}

func kindStubFixture(t *testing.T, h http.Handler) *fixture {
	f := newFixtureFor(t, h, &fakeClock{t: t0})
	registerKinds(f)
	return f
}

// flinkDetailStub answers every Flink details call with job 100 in status.
func flinkDetailStub(status, desc string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"is_success":"true","message":"","job_detail":{"job_id":100,"name":"bounded","status":%q,"status_desc":%q}}`, status, desc)
	})
}

func TestFlinkWaitFailed(t *testing.T) {
	for _, tc := range []struct {
		name, wait, code, state string
		advance                 time.Duration
	}{
		// A submission failure shows at the end of submitting (a fifth of
		// the rule's duration).
		{"submit fail", "running", "job_submit_fail", "job_submit_fail", 2 * time.Second},
		// A failure at run time shows at the end of the rule's duration;
		// a step waiting for running would have finished before.
		{"running exception", "finished", "", "job_running_exception", 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := kindFixture(t)
			const msg = "DLI.0005: Kafka source topic clicks does not exist"
			f.emu.AddRule(emulator.Rule{Match: "broken", FailMessage: msg, FailCode: tc.code, Duration: 10 * time.Second})
			req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"broken_job","sql":"SELECT 1","wait":"`+tc.wait+`"}`)
			req.Job = f.mustSubmitKind(req)

			f.clock.Advance(tc.advance - time.Millisecond)
			_, err := f.waitKind(req)
			assert.Equal(t, "StillRunning", appError(t, err).Type())

			f.clock.Advance(time.Millisecond)
			_, err = f.waitKind(req)
			app := appError(t, err)
			assert.Equal(t, "JobFailed", app.Type())
			assert.True(t, app.NonRetryable())
			assert.Equal(t, "job 100 ended "+tc.state+": "+msg, app.Message())
			var res activities.Result
			require.NoError(t, app.Details(&res))
			assert.Equal(t, activities.Result{JobID: "100", State: tc.state, Message: msg}, res)
		})
	}
}

func TestFlinkWaitStoppedElsewhere(t *testing.T) {
	f := kindFixture(t)
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1","wait":"finished"}`)
	req.Job = f.mustSubmitKind(req)
	require.NoError(t, f.acts.Client.StopFlinkJob(context.Background(), project, 100, false))

	// Stopping is still under way, then it has ended the run.
	_, err := f.waitKind(req)
	stillRunning(t, err, "100", "job_canceling")
	f.clock.Advance(time.Second)
	_, err = f.waitKind(req)
	app := appError(t, err)
	assert.Equal(t, "JobFailed", app.Type())
	assert.Equal(t, "job 100 ended job_cancel_success: no message from the service", app.Message())
}

func TestFlinkWaitInvalid(t *testing.T) {
	f := kindFixture(t)
	for _, tc := range []struct {
		name string
		job  *activities.Job
		with string
		want string
	}{
		{"no job", nil, `{"name":"j","sql":"s"}`, "wait without a job"},
		{"not a number", &activities.Job{ID: "abc"}, `{"name":"j","sql":"s"}`, `Flink job id "abc" is not a number`},
		{"bad wait", &activities.Job{ID: "100"}, `{"name":"j","sql":"s","wait":"done"}`, `wait must be running or finished, got "done"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := kindRequest(dli.KindFlinkSQL, "stream", tc.with)
			req.Job = tc.job
			_, err := f.waitKind(req)
			app := appError(t, err)
			assert.Equal(t, "RequestRejected", app.Type())
			assert.True(t, app.NonRetryable())
			assert.Equal(t, tc.want, app.Message())
		})
	}
	assert.Empty(t, f.emu.Calls())
}

func TestFlinkWaitUnknownStatus(t *testing.T) {
	f := kindStubFixture(t, flinkDetailStub("job_paused", ""))
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j","sql":"s"}`)
	req.Job = &activities.Job{ID: "100", ProjectID: project}
	_, err := f.waitKind(req)
	app := appError(t, err)
	assert.Equal(t, "StillRunning", app.Type())
	assert.Equal(t, 40*time.Second, app.NextRetryDelay())
	assert.Contains(t, f.logs.String(), "unknown DLI Flink job status")
}

func TestFlinkSubmitTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		delay  time.Duration
		msg    string
	}{
		{http.StatusInternalServerError, 0, "DLI run Flink job: HTTP 500 DLI.0999: Server-side errors occur (injected HTTP 500)."},
		{http.StatusTooManyRequests, time.Second, "DLI run Flink job: HTTP 429 DLI.0009: System restrictions: too many requests, retry later (injected)."},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			f := kindFixture(t)
			// Flink rules answer at the run; the job is created first.
			f.emu.AddRule(emulator.Rule{Match: "j1", SubmitErrors: 1, SubmitStatus: tc.status})
			req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)
			_, err := f.submitKind(req)
			app := appError(t, err)
			assert.Equal(t, "ServiceUnavailable", app.Type())
			assert.False(t, app.NonRetryable())
			assert.Equal(t, tc.delay, app.NextRetryDelay())
			assert.Equal(t, tc.msg, app.Message())
			require.Len(t, f.emu.FlinkJobs(), 1)
			assert.Equal(t, 0, f.emu.FlinkJobs()[0].Runs)

			// The retry runs the job it created: one job, one run.
			job := f.mustSubmitKind(req)
			assert.Equal(t, activities.Job{ID: "100", ProjectID: project}, *job)
			jobs := f.emu.FlinkJobs()
			require.Len(t, jobs, 1)
			assert.Equal(t, 1, jobs[0].Runs)
			assert.Equal(t, 0, jobs[0].Updates, "its definition was set by the first try")
			assert.Equal(t, 1, f.calls(routeFlinkCreateSQL))
		})
	}
}

func TestFlinkSubmitResponseLost(t *testing.T) {
	for _, tc := range []struct {
		name, route string
		reattached  bool
	}{
		{"create", "POST /v1.0/{project_id}/streaming/sql-jobs", false},
		{"run", "POST /v1.0/{project_id}/streaming/jobs/run", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := kindFixture(t)
			_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.DLI, Route: tc.route, Count: 1})
			require.NoError(t, err)
			req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)
			_, err = f.submitKind(req)
			app := appError(t, err)
			assert.Equal(t, "ServiceUnavailable", app.Type())
			assert.False(t, app.NonRetryable())
			require.Len(t, f.emu.FlinkJobs(), 1, "the request was processed")

			f.clock.Advance(100 * time.Millisecond)
			job := f.mustSubmitKind(req)
			assert.Equal(t, activities.Job{ID: "100", ProjectID: project, Reattached: tc.reattached}, *job)
			jobs := f.emu.FlinkJobs()
			require.Len(t, jobs, 1)
			assert.Equal(t, 1, jobs[0].Runs)
			assert.Equal(t, 0, jobs[0].Updates)
			assert.Equal(t, 1, f.calls(routeFlinkCreateSQL))
			assert.Equal(t, 1, f.calls(routeFlinkRun))
			assert.Equal(t, 0, f.calls(routeFlinkUpdateSQL))
		})
	}
}

func TestFlinkSubmitReattachesAfterTheRunEnded(t *testing.T) {
	f := kindFixture(t)
	f.emu.AddRule(emulator.Rule{Match: "j1", FailMessage: "no such topic", FailCode: "job_submit_fail"})
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)
	first := f.mustSubmitKind(req)
	f.clock.Advance(time.Minute)
	require.Equal(t, "job_submit_fail", f.flinkJob(first.ID).Status)

	// The same attempt's run ended: the retry attaches to it, and its wait
	// reports the failure, rather than run the job again.
	second := f.mustSubmitKind(req)
	assert.Equal(t, activities.Job{ID: first.ID, ProjectID: project, Reattached: true}, *second)
	assert.Equal(t, 1, f.flinkJob(first.ID).Runs)
	assert.Contains(t, f.logs.String(), "re-attached to DLI Flink job")
}

func TestFlinkSubmitNewAttemptNewRun(t *testing.T) {
	f := kindFixture(t)
	f.emu.AddRule(emulator.Rule{Match: "j1", FailMessage: "checkpoint failed", Duration: 2 * time.Second})
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)
	first := f.mustSubmitKind(req)

	// While attempt 1's run is going, attempt 2 cannot take the job over.
	f.clock.Advance(time.Second)
	next := req
	next.Attempt = 2
	_, err := f.submitKind(next)
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "Flink job j1 (100) is job_running, started outside this step attempt; stop it first to run it with the step's definition", app.Message())
	assert.Equal(t, 0, f.flinkJob(first.ID).Updates)

	// Once the run has failed, attempt 2 updates the job and runs it again.
	f.clock.Advance(time.Second)
	require.Equal(t, "job_running_exception", f.flinkJob(first.ID).Status)
	second := f.mustSubmitKind(next)
	assert.Equal(t, activities.Job{ID: first.ID, ProjectID: project}, *second)
	j := f.flinkJob(first.ID)
	assert.Equal(t, 2, j.Runs)
	assert.Equal(t, 1, j.Updates)
	assert.Equal(t, flinkDesc(next), j.Desc)
	assert.Len(t, f.emu.FlinkJobs(), 1)
}

func TestFlinkSubmitUpdatesExistingJob(t *testing.T) {
	f := kindFixture(t)
	// A job of that name made elsewhere, never run.
	_, err := f.acts.Client.CreateFlinkJob(context.Background(), project, dli.FlinkSQLJobType, dli.FlinkJobRequest{Name: "j1", SQLBody: ptr("SELECT old"), ObsBucket: ptr("keep-me")})
	require.NoError(t, err)
	bodies := f.recordBodies(http.MethodPut, "/streaming/sql-jobs/100")

	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT new","cu_number":3}`)
	job := f.mustSubmitKind(req)
	assert.Equal(t, activities.Job{ID: "100", ProjectID: project}, *job)
	j := f.flinkJob("100")
	assert.Equal(t, "SELECT new", j.SQLBody)
	assert.Equal(t, 3, j.CUNumber)
	assert.Equal(t, 1, j.Updates)
	assert.Equal(t, 1, j.Runs)
	require.Len(t, *bodies, 1)
	assert.JSONEq(t, `{
		"desc": `+jsonString(flinkDesc(req))+`, "sql_body": "SELECT new", "cu_number": 3, "parallel_number": 1,
		"checkpoint_enabled": false, "checkpoint_interval": 10, "log_enabled": false, "restart_when_exception": false
	}`, (*bodies)[0])
	assert.Contains(t, f.logs.String(), "updated DLI Flink job")
}

func ptr[T any](v T) *T { return &v }

func TestFlinkSubmitWhileStopping(t *testing.T) {
	f := kindFixture(t)
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)
	first := f.mustSubmitKind(req)
	require.NoError(t, f.acts.Client.StopFlinkJob(context.Background(), project, 100, false))

	next := req
	next.Attempt = 2
	_, err := f.submitKind(next)
	app := appError(t, err)
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, "Flink job j1 (100) is job_canceling: it can run again once stopped", app.Message())

	f.clock.Advance(time.Second)
	job := f.mustSubmitKind(next)
	assert.Equal(t, first.ID, job.ID)
	assert.Equal(t, 2, f.flinkJob(first.ID).Runs)
}

func TestFlinkSubmitWrongType(t *testing.T) {
	f := kindFixture(t)
	_, err := f.acts.Client.CreateFlinkJob(context.Background(), project, dli.FlinkJarJobType, dli.FlinkJobRequest{Name: "j1", Entrypoint: ptr("g/app.jar")})
	require.NoError(t, err)
	_, err = f.submitKind(kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`))
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "a Flink job named j1 already exists as a flink_jar_job; a dli.flink_sql step needs a flink_sql_job: rename one of them", app.Message())
	assert.Equal(t, 0, f.calls(routeFlinkRun))
}

func TestFlinkSubmitRejected(t *testing.T) {
	f := kindFixture(t)
	_, err := f.submitKind(kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1","cu_number":500}`))
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "DLI create Flink job: HTTP 400 DLI.0001: Parameter check errors occur: cu_number must be in [2, 400], got 500", app.Message())
	assert.Empty(t, f.emu.FlinkJobs())
}

func TestFlinkSubmitInvalidInput(t *testing.T) {
	for _, tc := range []struct{ name, with, want string }{
		{"number as text", `{"name":"j","sql":"s","cu_number":"four"}`, `dli.flink_sql input: cu_number: "four" is not a whole number`},
		{"fraction", `{"name":"j","sql":"s","parallel_number":1.5}`, `dli.flink_sql input: parallel_number: 1.5 is not a whole number`},
		{"bool", `{"name":"j","sql":"s","checkpoint_enabled":"yes"}`, `dli.flink_sql input: checkpoint_enabled: "yes" is not true or false`},
		{"wrong type", `{"name":"j","sql":42}`, "dli.flink_sql input: json: cannot unmarshal number into Go struct field FlinkSQLInput.sql of type string"},
		{"bad wait", `{"name":"j","sql":"s","wait":"done"}`, `wait must be running or finished, got "done"`},
		{"no name", `{"sql":"s"}`, "dli.flink_sql input: name is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := kindFixture(t)
			_, err := f.submitKind(kindRequest(dli.KindFlinkSQL, "stream", tc.with))
			app := appError(t, err)
			assert.Equal(t, "RequestRejected", app.Type())
			assert.True(t, app.NonRetryable())
			assert.Equal(t, tc.want, app.Message())
			assert.Empty(t, f.emu.Calls(), "no request may reach the service")
		})
	}
}

func TestFlinkJar(t *testing.T) {
	f := kindFixture(t)
	bodies := f.recordBodies(http.MethodPost, "/streaming/flink-jobs")
	const with = `{"name":"sessionize","entrypoint":"apps/sessionize.jar","main_class":"com.example.Sessionize","entrypoint_args":"--window 30m","queue":"dedicated_q","cu_number":5,"manager_cu_number":1,"parallel_number":4,"dependency_jars":["libs/kafka.jar"],"runtime_config":{"taskmanager.memory.process.size":"4g"}}`
	req := kindRequest(dli.KindFlinkJar, "sessions", with)
	req.Job = f.mustSubmitKind(req)
	assert.Equal(t, activities.Job{ID: "100", ProjectID: project}, *req.Job)

	j := f.flinkJob("100")
	assert.Equal(t, "flink_jar_job", j.Type)
	assert.Equal(t, "sessionize", j.Name)
	assert.Equal(t, "apps/sessionize.jar", j.Entrypoint)
	assert.Equal(t, "dedicated_q", j.Queue)
	assert.Equal(t, 1, j.Runs)
	require.Len(t, *bodies, 1)
	assert.JSONEq(t, `{
		"name": "sessionize", "desc": `+jsonString(flinkDesc(req))+`, "queue_name": "dedicated_q",
		"entrypoint": "apps/sessionize.jar", "main_class": "com.example.Sessionize", "entrypoint_args": "--window 30m",
		"cu_number": 5, "manager_cu_number": 1, "parallel_number": 4,
		"dependency_jars": ["libs/kafka.jar"], "dependency_files": [],
		"runtime_config": "[{\"key\":\"taskmanager.memory.process.size\",\"value\":\"4g\"}]"
	}`, (*bodies)[0])
	assert.Equal(t, map[string]int{routeFlinkList: 1, routeFlinkCreateJar: 1, routeFlinkRun: 1}, f.emu.Calls())

	f.clock.Advance(time.Second)
	res, err := f.waitKind(req)
	require.NoError(t, err)
	assert.Equal(t, &activities.Result{State: "job_running", Outputs: map[string]string{"job_id": "100", "status": "job_running"}}, res)

	require.NoError(t, f.cancelKind(req))
	assert.Equal(t, 1, f.flinkJob("100").Stops)
}

func TestFlinkJarWithoutEntrypointFails(t *testing.T) {
	f := kindFixture(t)
	// The planner requires entrypoint; a template may still make it empty.
	req := kindRequest(dli.KindFlinkJar, "sessions", `{"name":"sessionize","entrypoint":""}`)
	req.Job = f.mustSubmitKind(req)
	f.clock.Advance(time.Second)
	_, err := f.waitKind(req)
	app := appError(t, err)
	assert.Equal(t, "JobFailed", app.Type())
	assert.Equal(t, "job 100 ended job_submit_fail: Failed to submit the job: no JAR package (entrypoint) is specified.", app.Message())
}

func TestFlinkCancelRunning(t *testing.T) {
	for _, tc := range []struct {
		name      string
		savepoint string
		status    string
		path      bool
	}{
		{"plain", `false`, "job_canceling", false},
		{"savepoint", `true`, "job_savepointing", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := kindFixture(t)
			bodies := f.recordBodies(http.MethodPost, "/streaming/jobs/stop")
			req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1","obs_bucket":"ckpt","savepoint_on_cancel":`+tc.savepoint+`}`)
			req.Job = f.mustSubmitKind(req)
			f.clock.Advance(time.Second)
			require.Equal(t, "job_running", f.flinkJob("100").Status)

			require.NoError(t, f.cancelKind(req))
			j := f.flinkJob("100")
			assert.Equal(t, tc.status, j.Status)
			assert.Equal(t, 1, j.Stops)
			assert.Equal(t, tc.path, j.SavepointPath != "")
			require.Len(t, *bodies, 1)
			assert.JSONEq(t, `{"job_ids":[100],"trigger_savepoint":`+tc.savepoint+`}`, (*bodies)[0])
			assert.Contains(t, f.logs.String(), "stopped DLI Flink job")

			// Cancelling again: it is stopping already.
			require.NoError(t, f.cancelKind(req))
			f.clock.Advance(time.Second)
			require.NoError(t, f.cancelKind(req))
			assert.Equal(t, "job_cancel_success", f.flinkJob("100").Status)
			assert.Equal(t, 1, f.calls(routeFlinkStop))
		})
	}
}

func TestFlinkCancelEnded(t *testing.T) {
	f := kindFixture(t)
	f.emu.AddRule(emulator.Rule{Match: "j1", FailMessage: "bad", FailCode: "job_submit_fail"})
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)
	req.Job = f.mustSubmitKind(req)
	f.clock.Advance(time.Second)
	require.NoError(t, f.cancelKind(req))
	assert.Equal(t, "job_submit_fail", f.flinkJob("100").Status)
	assert.Equal(t, 0, f.calls(routeFlinkStop))
}

func TestFlinkCancelFindsJobByName(t *testing.T) {
	for name, job := range map[string]*activities.Job{"nil": nil, "empty": {}} {
		t.Run(name, func(t *testing.T) {
			f := kindFixture(t)
			req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)
			f.mustSubmitKind(req)
			// Another step's job keeps running.
			other := kindRequest(dli.KindFlinkSQL, "other", `{"name":"j2","sql":"SELECT 2"}`)
			f.mustSubmitKind(other)
			f.clock.Advance(time.Second)

			req.Job = job
			require.NoError(t, f.cancelKind(req))
			assert.Equal(t, "job_canceling", f.flinkJob("100").Status)
			assert.Equal(t, "job_running", f.flinkJob("101").Status)
			assert.Equal(t, 1, f.calls(routeFlinkStop))
		})
	}
}

func TestFlinkCancelLeavesOtherRunsAlone(t *testing.T) {
	f := kindFixture(t)
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)
	job := f.mustSubmitKind(req)
	f.clock.Advance(time.Second)

	// Attempt 2 never got to update the job: the running job is attempt 1's.
	next := req
	next.Attempt = 2
	require.NoError(t, f.cancelKind(next))
	next.Job = job
	require.NoError(t, f.cancelKind(next))
	assert.Equal(t, "job_running", f.flinkJob("100").Status)
	assert.Equal(t, 0, f.calls(routeFlinkStop))
	assert.Contains(t, f.logs.String(), "DLI Flink job is not this step's run")
}

func TestFlinkCancelNothing(t *testing.T) {
	f := kindFixture(t)
	require.NoError(t, f.cancelKind(kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)))
	assert.Equal(t, map[string]int{routeFlinkList: 1}, f.emu.Calls())

	// A job deleted meanwhile needs no stop either.
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)
	req.Job = &activities.Job{ID: "4242", ProjectID: project}
	require.NoError(t, f.cancelKind(req))
	assert.Equal(t, 0, f.calls(routeFlinkStop))
}

func TestFlinkCancelJobEndsMeanwhile(t *testing.T) {
	f := kindFixture(t)
	f.emu.AddRule(emulator.Rule{Match: "j1", FailMessage: "boom", Duration: 2 * time.Second})
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)
	req.Job = f.mustSubmitKind(req)
	f.clock.Advance(time.Second)
	// The job fails between cancel's look and its stop, which DLI refuses.
	var once sync.Once
	f.hooks.after = func(r *http.Request, _ *http.Response) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/streaming/jobs/100") {
			once.Do(func() { f.clock.Advance(time.Second) })
		}
	}
	require.NoError(t, f.cancelKind(req))
	assert.Equal(t, "job_running_exception", f.flinkJob("100").Status)
	assert.Equal(t, 1, f.calls(routeFlinkStop))
	assert.Equal(t, 2, f.calls(routeFlinkDetail))
}

func TestFlinkSecrets(t *testing.T) {
	f := kindFixture(t)
	const password = "kafka-pw-not-for-logs"
	f.acts.Secrets = mapSecrets{"KAFKA_PASSWORD": password}
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"CREATE TABLE src WITH ('password' = '${secret.KAFKA_PASSWORD}'); INSERT INTO sink SELECT * FROM src"}`)
	req.Job = f.mustSubmitKind(req)
	assert.Equal(t, "CREATE TABLE src WITH ('password' = '"+password+"'); INSERT INTO sink SELECT * FROM src", f.flinkJob("100").SQLBody)

	f.clock.Advance(time.Second)
	_, err := f.waitKind(req)
	require.NoError(t, err)
	require.NoError(t, f.cancelKind(req))
	req.Job = nil
	require.NoError(t, f.cancelKind(req))
	assert.NotContains(t, f.logs.String(), password)
	assert.NotEmpty(t, f.logs.String())

	// Without a secret source the step is rejected before any call.
	g := kindFixture(t)
	_, err = g.submitKind(req)
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.Equal(t, "the step uses secrets but the worker has no secret source", app.Message())
	assert.Empty(t, g.emu.Calls())
}

func TestFlinkProjectFromJob(t *testing.T) {
	f := kindFixture(t)
	req := kindRequest(dli.KindFlinkSQL, "stream", `{"name":"j1","sql":"SELECT 1"}`)
	req.Cloud.ProjectID = ""
	req.Job = f.mustSubmitKind(req)
	assert.Equal(t, workerProject, req.Job.ProjectID)
	assert.Equal(t, workerProject, f.flinkJob("100").ProjectID)

	f.clock.Advance(time.Second)
	req.Cloud.ProjectID = "another-project"
	res, err := f.waitKind(req)
	require.NoError(t, err)
	assert.Equal(t, "job_running", res.State)
}
