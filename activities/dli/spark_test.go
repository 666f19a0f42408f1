package dli_test

import (
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

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/dli"
	"github.com/pipectl/pipectl/testenv/emulator"
)

// Emulator routes of the Spark batch API, as counted by Calls.
const (
	routeBatchCreate = emulator.DLI + " POST /v2.0/{project_id}/batches"
	routeBatchList   = emulator.DLI + " GET /v2.0/{project_id}/batches"
	routeBatchDetail = emulator.DLI + " GET /v2.0/{project_id}/batches/{batch_id}"
	routeBatchState  = emulator.DLI + " GET /v2.0/{project_id}/batches/{batch_id}/state"
	routeBatchCancel = emulator.DLI + " DELETE /v2.0/{project_id}/batches/{batch_id}"
)

const sparkWith = `{"file":"obs://jobs/etl.jar","class_name":"com.example.Etl","args":["--day","2024-05-05"],"queue":"spark_q","name":"etl","conf":{"spark.sql.shuffle.partitions":"200"},"jars":["obs://jobs/lib.jar"],"python_files":["obs://jobs/u.py"],"files":["obs://jobs/f.txt"],"driver_memory":"2G","executor_memory":"4G","num_executors":3,"executor_cores":"2"}`

func sparkRequest(with string) activities.StepRequest {
	return kindRequest(dli.KindSpark, "load", with)
}

// batchName is the name the step attempt's batch gets.
func batchName(base string, req activities.StepRequest) string {
	return base + "-" + strings.TrimPrefix(req.IdempotencyKey(), "pipectl-")
}

func (f *fixture) batch(id string) emulator.SparkBatch {
	f.t.Helper()
	b, ok := f.emu.SparkBatch(id)
	require.True(f.t, ok, "the emulator has no batch %s", id)
	return b
}

func TestSparkSubmitCreatesNamedBatch(t *testing.T) {
	f := kindFixture(t)
	bodies := f.recordBodies(http.MethodPost, "/batches")
	req := sparkRequest(sparkWith)
	job := f.mustSubmitKind(req)

	batches := f.emu.SparkBatches()
	require.Len(t, batches, 1)
	b := batches[0]
	assert.Equal(t, activities.Job{ID: b.ID, ProjectID: project}, *job)
	assert.Equal(t, project, b.ProjectID)
	assert.Equal(t, batchName("etl", req), b.Name)
	assert.Len(t, b.Name, len("etl-")+24)
	assert.Equal(t, "obs://jobs/etl.jar", b.File)
	assert.Equal(t, "com.example.Etl", b.ClassName)
	assert.Equal(t, "spark_q", b.Queue)
	assert.Equal(t, []string{"--day", "2024-05-05"}, b.Args)
	assert.Equal(t, []string{"obs://jobs/lib.jar"}, b.Jars)
	assert.Equal(t, []string{"obs://jobs/f.txt"}, b.Files)
	assert.JSONEq(t, `{"spark.sql.shuffle.partitions":"200"}`, b.Conf)
	assert.Equal(t, "starting", b.State)

	require.Len(t, *bodies, 1)
	assert.JSONEq(t, `{
		"file": "obs://jobs/etl.jar", "class_name": "com.example.Etl", "queue": "spark_q",
		"name": `+jsonString(batchName("etl", req))+`, "args": ["--day", "2024-05-05"],
		"conf": {"spark.sql.shuffle.partitions": "200"}, "jars": ["obs://jobs/lib.jar"],
		"python_files": ["obs://jobs/u.py"], "files": ["obs://jobs/f.txt"],
		"driver_memory": "2G", "executor_memory": "4G", "num_executors": 3, "executor_cores": 2
	}`, (*bodies)[0])
	assert.Equal(t, map[string]int{routeBatchList: 1, routeBatchCreate: 1}, f.emu.Calls())
	assert.Contains(t, f.logs.String(), "created DLI Spark batch")
}

func TestSparkBatchNameDefaultsAndLength(t *testing.T) {
	f := kindFixture(t)
	req := sparkRequest(`{"file":"obs://jobs/etl.jar","class_name":"C","queue":"q"}`)
	job := f.mustSubmitKind(req)
	assert.Equal(t, batchName("load", req), f.batch(job.ID).Name, "the step id stands in for a name")

	long := strings.Repeat("é", 120)
	req = sparkRequest(`{"file":"obs://jobs/etl.jar","class_name":"C","queue":"q","name":"` + long + `"}`)
	job = f.mustSubmitKind(req)
	name := f.batch(job.ID).Name
	assert.Equal(t, 128, len([]rune(name)))
	assert.Equal(t, batchName(strings.Repeat("é", 103), req), name)
}

func TestSparkEndToEnd(t *testing.T) {
	f := kindFixture(t)
	req := sparkRequest(sparkWith)
	req.Job = f.mustSubmitKind(req)
	id := req.Job.ID

	for _, tc := range []struct {
		advance time.Duration
		state   string
	}{{0, "starting"}, {200 * time.Millisecond, "running"}, {799 * time.Millisecond, "running"}} {
		f.clock.Advance(tc.advance)
		_, err := f.waitKind(req)
		stillRunning(t, err, id, tc.state)
		app := appError(t, err)
		assert.Equal(t, activities.NextPoll(req.Poll, 1), app.NextRetryDelay())
		assert.Equal(t, 3*time.Second, app.NextRetryDelay())
	}

	f.clock.Advance(time.Millisecond)
	res, err := f.waitKind(req)
	require.NoError(t, err)
	assert.Equal(t, &activities.Result{State: "success", Outputs: map[string]string{
		"batch_id": id,
		"state":    "success",
		"app_id":   fmt.Sprintf("application_%d_0001", t0.UnixMilli()),
	}}, res)
	assert.Equal(t, 4, f.batch(id).StateCalls)
	assert.Equal(t, 1, f.calls(routeBatchDetail), "details are read once, at the end")
}

func TestSparkWaitDead(t *testing.T) {
	f := kindFixture(t)
	const msg = "java.lang.OutOfMemoryError: Java heap space"
	f.emu.AddRule(emulator.Rule{Match: "etl", FailMessage: msg, Duration: 10 * time.Second})
	req := sparkRequest(sparkWith)
	req.Job = f.mustSubmitKind(req)
	id := req.Job.ID

	f.clock.Advance(10*time.Second - time.Millisecond)
	_, err := f.waitKind(req)
	stillRunning(t, err, id, "running")

	f.clock.Advance(time.Millisecond)
	_, err = f.waitKind(req)
	app := appError(t, err)
	assert.Equal(t, "JobFailed", app.Type())
	assert.True(t, app.NonRetryable())
	want := fmt.Sprintf("24/05/06 07:08:19 ERROR Client: Application application_%d_0001 finished with final status FAILED\nYARN Diagnostics: %s", t0.UnixMilli(), msg)
	assert.Equal(t, "job "+id+" ended dead: "+want, app.Message())
	var res activities.Result
	require.NoError(t, app.Details(&res))
	assert.Equal(t, activities.Result{JobID: id, State: "dead", Message: want}, res)
}

func TestSparkWaitStartupFailure(t *testing.T) {
	f := kindFixture(t)
	req := sparkRequest(`{"file":"obs://jobs/etl.jar","class_name":"C","queue":"q","driver_memory":"2"}`)
	req.Job = f.mustSubmitKind(req)
	f.clock.Advance(time.Second)
	_, err := f.waitKind(req)
	app := appError(t, err)
	assert.Equal(t, "JobFailed", app.Type())
	assert.Equal(t, "job "+req.Job.ID+" ended dead: 24/05/06 07:08:09 ERROR DLI: batch "+req.Job.ID+` failed to start: invalid driver_memory "2": the unit must be provided, e.g. 2G`, app.Message())
}

// sparkStub answers the state call with state, and the details with an
// app ID and log.
func sparkStub(state string, log []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/state") {
			_, _ = fmt.Fprintf(w, `{"id":"b-1","state":%q}`, state)
			return
		}
		l, _ := json.Marshal(log)
		_, _ = fmt.Fprintf(w, `{"id":"b-1","appId":["application_1_0007"],"state":%q,"log":%s}`, state, l)
	})
}

func TestSparkWaitStateCase(t *testing.T) {
	// The reference's samples answer "Success"; its enum says "success".
	f := kindStubFixture(t, sparkStub("Success", nil))
	req := sparkRequest(sparkWith)
	req.Job = &activities.Job{ID: "b-1", ProjectID: project}
	res, err := f.waitKind(req)
	require.NoError(t, err)
	assert.Equal(t, &activities.Result{State: "success", Outputs: map[string]string{
		"batch_id": "b-1", "state": "success", "app_id": "application_1_0007",
	}}, res)

	g := kindStubFixture(t, sparkStub("Dead", []string{"line 1", "last line"}))
	_, err = g.waitKind(req)
	app := appError(t, err)
	assert.Equal(t, "JobFailed", app.Type())
	assert.Equal(t, "job b-1 ended dead: last line", app.Message())

	h := kindStubFixture(t, sparkStub("Recovering", nil))
	_, err = h.waitKind(req)
	stillRunning(t, err, "b-1", "recovering")

	u := kindStubFixture(t, sparkStub("queued", nil))
	_, err = u.waitKind(req)
	app = appError(t, err)
	assert.Equal(t, "StillRunning", app.Type())
	assert.Equal(t, 40*time.Second, app.NextRetryDelay())
	assert.Contains(t, u.logs.String(), "unknown DLI Spark batch state")
}

func TestSparkSubmitTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		delay  time.Duration
		msg    string
	}{
		{http.StatusInternalServerError, 0, "DLI create Spark batch: HTTP 500 DLI.0999: Server-side errors occur (injected HTTP 500)."},
		{http.StatusTooManyRequests, time.Second, "DLI create Spark batch: HTTP 429 DLI.0009: System restrictions: too many requests, retry later (injected)."},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			f := kindFixture(t)
			f.emu.AddRule(emulator.Rule{Match: "etl", SubmitErrors: 1, SubmitStatus: tc.status})
			req := sparkRequest(sparkWith)
			_, err := f.submitKind(req)
			app := appError(t, err)
			assert.Equal(t, "ServiceUnavailable", app.Type())
			assert.False(t, app.NonRetryable())
			assert.Equal(t, tc.delay, app.NextRetryDelay())
			assert.Equal(t, tc.msg, app.Message())
			assert.Empty(t, f.emu.SparkBatches())

			job := f.mustSubmitKind(req)
			assert.False(t, job.Reattached)
			batches := f.emu.SparkBatches()
			require.Len(t, batches, 1)
			assert.Equal(t, job.ID, batches[0].ID)
		})
	}
}

func TestSparkSubmitResponseLost(t *testing.T) {
	f := kindFixture(t)
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.DLI, Route: "POST /v2.0/{project_id}/batches", Count: 1})
	require.NoError(t, err)
	req := sparkRequest(sparkWith)
	_, err = f.submitKind(req)
	app := appError(t, err)
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.False(t, app.NonRetryable())
	require.Len(t, f.emu.SparkBatches(), 1, "the batch was created")

	// The retry finds it, even once it has finished.
	f.clock.Advance(time.Hour)
	job := f.mustSubmitKind(req)
	batches := f.emu.SparkBatches()
	require.Len(t, batches, 1)
	assert.Equal(t, activities.Job{ID: batches[0].ID, ProjectID: project, Reattached: true}, *job)
	assert.Equal(t, 1, f.calls(routeBatchCreate))
	assert.Contains(t, f.logs.String(), "re-attached to DLI Spark batch")
}

func TestSparkSubmitNewAttemptNewBatch(t *testing.T) {
	f := kindFixture(t)
	req := sparkRequest(sparkWith)
	first := f.mustSubmitKind(req)
	next := req
	next.Attempt = 2
	second := f.mustSubmitKind(next)
	assert.NotEqual(t, first.ID, second.ID)
	assert.False(t, second.Reattached)
	batches := f.emu.SparkBatches()
	require.Len(t, batches, 2)
	assert.Equal(t, batchName("etl", req), batches[0].Name)
	assert.Equal(t, batchName("etl", next), batches[1].Name)
	assert.NotEqual(t, batches[0].Name, batches[1].Name)

	// Each for_each item is a batch of its own too.
	item := req
	item.Item = 1
	third := f.mustSubmitKind(item)
	assert.False(t, third.Reattached)
	assert.Len(t, f.emu.SparkBatches(), 3)
}

func TestSparkSubmitRejected(t *testing.T) {
	for _, tc := range []struct{ name, with, want string }{
		{"no queue", `{"file":"obs://a.jar","class_name":"C"}`, "DLI create Spark batch: HTTP 400 DLI.0001: Parameter check errors occur: queue is mandatory"},
		{"bad number", `{"file":"obs://a.jar","class_name":"C","queue":"q","num_executors":"many"}`, `dli.spark input: num_executors: "many" is not a whole number`},
		{"bad list", `{"file":"obs://a.jar","class_name":"C","queue":"q","args":"--x"}`, "dli.spark input: json: cannot unmarshal string into Go struct field SparkInput.args of type []string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := kindFixture(t)
			_, err := f.submitKind(sparkRequest(tc.with))
			app := appError(t, err)
			assert.Equal(t, "RequestRejected", app.Type())
			assert.True(t, app.NonRetryable())
			assert.Equal(t, tc.want, app.Message())
			assert.Empty(t, f.emu.SparkBatches())
		})
	}
}

func TestSparkCancelRunning(t *testing.T) {
	for _, tc := range []struct {
		advance time.Duration
		state   string
	}{{0, "starting"}, {500 * time.Millisecond, "running"}} {
		t.Run(tc.state, func(t *testing.T) {
			f := kindFixture(t)
			req := sparkRequest(sparkWith)
			req.Job = f.mustSubmitKind(req)
			f.clock.Advance(tc.advance)
			require.Equal(t, tc.state, f.batch(req.Job.ID).State)

			require.NoError(t, f.cancelKind(req))
			b := f.batch(req.Job.ID)
			assert.True(t, b.Cancelled)
			assert.Equal(t, "dead", b.State)
			assert.Equal(t, t0.Add(tc.advance), b.EndedAt)
			assert.Equal(t, 1, f.calls(routeBatchCancel))
			assert.Contains(t, f.logs.String(), "cancelled DLI Spark batch")

			// Again: it has ended, nothing to do.
			require.NoError(t, f.cancelKind(req))
			assert.Equal(t, 1, f.calls(routeBatchCancel))

			// Its wait now reports the cancellation.
			_, err := f.waitKind(req)
			app := appError(t, err)
			assert.Equal(t, "JobFailed", app.Type())
			assert.Equal(t, "job "+req.Job.ID+" ended dead: "+t0.Add(tc.advance).Format("06/01/02 15:04:05")+" INFO DLI: batch "+req.Job.ID+" was cancelled", app.Message())
		})
	}
}

func TestSparkCancelEnded(t *testing.T) {
	f := kindFixture(t)
	req := sparkRequest(sparkWith)
	req.Job = f.mustSubmitKind(req)
	f.clock.Advance(time.Minute)
	require.NoError(t, f.cancelKind(req))
	assert.Equal(t, "success", f.batch(req.Job.ID).State)
	assert.Equal(t, 0, f.calls(routeBatchCancel))

	// An unknown batch needs nothing either.
	req.Job = &activities.Job{ID: "95fcc908-9f1b-446c-8643-5653891d9fd9", ProjectID: project}
	require.NoError(t, f.cancelKind(req))
	assert.Equal(t, 0, f.calls(routeBatchCancel))
}

func TestSparkCancelFindsBatchByName(t *testing.T) {
	for name, job := range map[string]*activities.Job{"nil": nil, "empty": {}} {
		t.Run(name, func(t *testing.T) {
			f := kindFixture(t)
			req := sparkRequest(sparkWith)
			submitted := f.mustSubmitKind(req)
			other := req
			other.Attempt = 2
			otherJob := f.mustSubmitKind(other)
			f.clock.Advance(300 * time.Millisecond)

			req.Job = job
			require.NoError(t, f.cancelKind(req))
			assert.True(t, f.batch(submitted.ID).Cancelled)
			assert.Equal(t, "running", f.batch(otherJob.ID).State)
			assert.Equal(t, 1, f.calls(routeBatchCancel))
		})
	}
}

func TestSparkCancelNothingSubmitted(t *testing.T) {
	f := kindFixture(t)
	require.NoError(t, f.cancelKind(sparkRequest(sparkWith)))
	assert.Equal(t, map[string]int{routeBatchList: 1}, f.emu.Calls())
}

func TestSparkCancelBatchEndsMeanwhile(t *testing.T) {
	f := kindFixture(t)
	req := sparkRequest(sparkWith)
	req.Job = f.mustSubmitKind(req)
	f.clock.Advance(500 * time.Millisecond)
	var once sync.Once
	f.hooks.after = func(r *http.Request, _ *http.Response) {
		if strings.HasSuffix(r.URL.Path, "/state") {
			once.Do(func() { f.clock.Advance(time.Second) })
		}
	}
	require.NoError(t, f.cancelKind(req))
	assert.Equal(t, "success", f.batch(req.Job.ID).State)
	assert.Equal(t, 1, f.calls(routeBatchCancel))
	assert.Equal(t, 2, f.calls(routeBatchState))
}

func TestSparkCancelServiceUnavailable(t *testing.T) {
	f := kindFixture(t)
	req := sparkRequest(sparkWith)
	req.Job = f.mustSubmitKind(req)
	f.hooks.fake = func(r *http.Request) *http.Response {
		if r.Method != http.MethodDelete {
			return nil
		}
		return &http.Response{
			StatusCode: http.StatusServiceUnavailable,
			Header:     http.Header{"Retry-After": {"7"}},
			Body:       io.NopCloser(strings.NewReader(`{"error_code":"DLI.0999","error_msg":"busy"}`)),
			Request:    r,
		}
	}
	app := appError(t, f.cancelKind(req))
	assert.Equal(t, "ServiceUnavailable", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, 7*time.Second, app.NextRetryDelay())
	assert.Equal(t, "DLI cancel Spark batch: HTTP 503 DLI.0999: busy", app.Message())
	assert.False(t, f.batch(req.Job.ID).Cancelled)
}

func TestSparkSecrets(t *testing.T) {
	f := kindFixture(t)
	const password = "db-pw-not-for-logs"
	f.acts.Secrets = mapSecrets{"DB_PASSWORD": password}
	req := sparkRequest(`{"file":"obs://jobs/etl.jar","class_name":"C","queue":"q","name":"etl","args":["--password","${secret.DB_PASSWORD}"]}`)
	req.Job = f.mustSubmitKind(req)
	assert.Equal(t, []string{"--password", password}, f.batch(req.Job.ID).Args)

	f.clock.Advance(time.Minute)
	_, err := f.waitKind(req)
	require.NoError(t, err)
	req.Job = nil
	require.NoError(t, f.cancelKind(req))
	// A retried submit re-attaches: the name never depends on the secret.
	job := f.mustSubmitKind(req)
	assert.True(t, job.Reattached)
	assert.NotContains(t, f.logs.String(), password)
	assert.NotEmpty(t, f.logs.String())
}

func TestSparkWaitWithoutJob(t *testing.T) {
	f := kindFixture(t)
	_, err := f.waitKind(sparkRequest(sparkWith))
	app := appError(t, err)
	assert.Equal(t, "RequestRejected", app.Type())
	assert.Equal(t, "wait without a job", app.Message())
	assert.Empty(t, f.emu.Calls())
}

func TestNewActivities(t *testing.T) {
	secrets := mapSecrets{}
	a := dli.NewActivities("https://dli.example", http.DefaultClient, workerProject, secrets)
	assert.Equal(t, "https://dli.example", a.Client.API.BaseURL)
	assert.Equal(t, "DLI", a.Client.API.Service)
	assert.Same(t, http.DefaultClient, a.Client.API.HTTP)
	assert.Equal(t, workerProject, a.ProjectID)
	assert.Equal(t, secrets, a.Secrets)
}
