package dis_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/dis"
	"github.com/pipectl/pipectl/testenv/emulator"
)

const (
	toOBS = `{"stream":"clicks","name":"to_obs","destination":"OBS","descriptor":{"agency_name":"dis_admin_agency","deliver_time_interval":60,"obs_bucket_path":"lake","file_prefix":"raw/clicks","partition_format":"yyyy/MM/dd"}}`
	toDWS = `{"stream":"clicks","name":"to_dws","destination":"DWS","descriptor":{"agency_name":"dis_admin_agency","deliver_time_interval":300,` +
		`"dws_cluster_name":"dws1","dws_cluster_id":"c-1","dws_database_name":"dw","dws_schema":"public","dws_table_name":"clicks","dws_delimiter":",",` +
		`"user_name":"loader","user_password":"${secret.dws_password}","kms_user_key_name":"k","kms_user_key_id":"k-1","obs_bucket_path":"staging"}}`
)

func taskRequest(with string) activities.StepRequest { return request(dis.KindDumpTask, with) }

// newTaskFixture has a RUNNING stream "clicks" to add tasks to.
func newTaskFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.runningStream(dis.CreateStreamRequest{StreamName: "clicks", PartitionCount: 2, DataType: "JSON"})
	return f
}

// existingTask adds a task outside the activities, as an earlier run or a
// person would have, and lets it start.
func (f *fixture) existingTask(with string) emulator.DISDumpTask {
	f.t.Helper()
	var in struct {
		Name, Destination string
		Descriptor        map[string]any
	}
	require.NoError(f.t, json.Unmarshal([]byte(with), &in))
	in.Descriptor["task_name"] = in.Name
	d, _ := json.Marshal(in.Descriptor)
	require.NoError(f.t, f.client.CreateDumpTask(context.Background(), project, "clicks", dis.CreateDumpTaskRequest{DestinationType: in.Destination, Descriptor: d}))
	f.clock.Advance(time.Second)
	return f.task("clicks", in.Name)
}

func TestDumpTaskCreateAndWait(t *testing.T) {
	f := newTaskFixture(t)
	req := taskRequest(toOBS)
	job := f.mustSubmit(req)
	assert.Equal(t, activities.Job{ID: "clicks/to_obs/started", ProjectID: project}, *job)

	tasks := f.emu.DISDumpTasks()
	require.Len(t, tasks, 1)
	task := tasks[0]
	assert.Equal(t, "clicks", task.StreamName)
	assert.Equal(t, "to_obs", task.Name)
	assert.Equal(t, "OBS", task.DestinationType)
	assert.Equal(t, "STARTING", task.State)
	assert.Equal(t, map[string]any{
		"task_name": "to_obs", "agency_name": "dis_admin_agency", "deliver_time_interval": 60.0,
		"obs_bucket_path": "lake", "file_prefix": "raw/clicks", "partition_format": "yyyy/MM/dd",
		// The service's defaults.
		"consumer_strategy": "LATEST", "destination_file_type": "text", "record_delimiter": "\n", "retry_duration": 0.0,
	}, task.Descriptor)
	// Looked first, created, looked again for the id and state; the new
	// task starts by itself, so no start action. (The stream is the scene's.)
	assert.Equal(t, map[string]int{routeCreateStream: 1, routeDescribeTask: 2, routeCreateTask: 1}, f.emu.Calls())
	assert.Contains(t, f.logs.String(), "created DIS dump task")

	req.Job = job
	_, err := f.wait(req)
	assertStillRunning(t, err, "clicks/to_obs", "STARTING", activities.NextPoll(req.Poll, 1))

	f.clock.Advance(time.Second)
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, &activities.Result{State: "RUNNING", Outputs: map[string]string{
		"task_id": task.ID,
		"state":   "RUNNING",
	}}, res)
	assert.Equal(t, 0, f.calls(routeTaskAction))
}

func TestDumpTaskSecretsResolved(t *testing.T) {
	f := newTaskFixture(t)
	req := taskRequest(toDWS)
	req.Job = f.mustSubmit(req)

	task := f.task("clicks", "to_dws")
	assert.Equal(t, "s3cr3t-Dws-pw", task.Descriptor["user_password"], "the service got the resolved secret")
	assert.Equal(t, "DWS", task.DestinationType)
	assert.NotContains(t, req.Job.ID, "s3cr3t")

	f.clock.Advance(time.Second)
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, "RUNNING", res.State)
	assert.NotContains(t, f.logs.String(), "s3cr3t-Dws-pw")
	// The fixture's cleanup checks every log line again.
}

func TestDumpTaskMissingSecret(t *testing.T) {
	f := newTaskFixture(t)
	_, err := f.submit(taskRequest(strings.Replace(toDWS, "dws_password", "nope", 1)))
	assertRejected(t, err, "secret nope is not set")
	assert.Empty(t, f.emu.DISDumpTasks())
}

func TestDumpTaskFailsThenRerunRestarts(t *testing.T) {
	f := newTaskFixture(t)
	const reason = "agency dis_admin_agency cannot write to bucket lake"
	f.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "to_obs", FailMessage: reason, FailFirst: 1, Duration: 5 * time.Second})
	req := taskRequest(toOBS)
	req.Job = f.mustSubmit(req)

	f.clock.Advance(5 * time.Second)
	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, activities.ErrJobFailed, app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "job clicks/to_obs ended ERROR: "+reason, app.Message())
	var res activities.Result
	require.NoError(t, app.Details(&res))
	assert.Equal(t, activities.Result{JobID: "clicks/to_obs", State: "ERROR", Message: reason}, res)

	// The workflow re-runs the step: attempt 2 restarts the same task.
	rerun := taskRequest(toOBS)
	rerun.Attempt = 2
	rerun.Job = f.mustSubmit(rerun)
	assert.Equal(t, activities.Job{ID: "clicks/to_obs/started", ProjectID: project, Reattached: true}, *rerun.Job)
	counts := f.emu.DISCounts()
	assert.Equal(t, 1, counts.TaskCreates, "no second task")
	assert.Equal(t, 1, counts.TaskStarts)
	assert.Contains(t, f.logs.String(), "started DIS dump task")

	f.clock.Advance(5 * time.Second)
	res2, err := f.wait(rerun)
	require.NoError(t, err)
	assert.Equal(t, "RUNNING", res2.State)
}

func TestDumpTaskTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		msg    string
		delay  time.Duration
	}{
		{http.StatusInternalServerError, "DIS create dump task: HTTP 500 DIS.5000: System error. (injected HTTP 500)", 0},
		{http.StatusTooManyRequests, "DIS create dump task: HTTP 429 DIS.4305: Too many stream requests. (injected)", time.Second},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			f := newTaskFixture(t)
			f.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "to_obs", SubmitErrors: 1, SubmitStatus: tc.status})
			req := taskRequest(toOBS)
			_, err := f.submit(req)
			assertRetryable(t, err, tc.msg, tc.delay)
			assert.Empty(t, f.emu.DISDumpTasks())

			job := f.mustSubmit(req)
			assert.Equal(t, "clicks/to_obs/started", job.ID)
			assert.False(t, job.Reattached)
			assert.Len(t, f.emu.DISDumpTasks(), 1)
			assert.Equal(t, 1, f.emu.DISCounts().TaskCreates)
		})
	}
}

func TestDumpTaskResponseLost(t *testing.T) {
	f := newTaskFixture(t)
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.DIS,
		Route: "POST /v2/{project_id}/streams/{stream_name}/transfer-tasks", Count: 1})
	require.NoError(t, err)
	req := taskRequest(toOBS)

	_, err = f.submit(req)
	assertRetryable(t, err, "", 0)
	require.Len(t, f.emu.DISDumpTasks(), 1, "the create happened although its answer was lost")
	// Before creating, submit recorded what it was about to do.
	require.Len(t, f.heartbeats, 1)
	assert.JSONEq(t, `{"key":"`+req.IdempotencyKey()+`","stream":"clicks","task":"to_obs"}`, string(f.heartbeats[0]))

	// Temporal retries the activity with the last heartbeat's details.
	f.env.SetHeartbeatDetails(f.heartbeats[0])
	job := f.mustSubmit(req)
	assert.Equal(t, activities.Job{ID: "clicks/to_obs/started", ProjectID: project, Reattached: true}, *job)
	assert.Equal(t, 1, f.emu.DISCounts().TaskCreates)
	assert.Equal(t, 1, f.calls(routeCreateTask))
	assert.Equal(t, 0, f.calls(routeTaskAction))
	assert.Len(t, f.heartbeats, 1, "the retry had nothing to create or start")

	// So cancel knows this step started it.
	req.Job = job
	require.NoError(t, f.cancel(req))
	assert.Equal(t, "PAUSED", f.task("clicks", "to_obs").State)
}

func TestDumpTaskRetryDoesNotHideFailure(t *testing.T) {
	f := newTaskFixture(t)
	f.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "to_obs", FailMessage: "no such bucket", Duration: time.Second})
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.DIS,
		Route: "POST /v2/{project_id}/streams/{stream_name}/transfer-tasks", Count: 1})
	require.NoError(t, err)
	req := taskRequest(toOBS)
	_, err = f.submit(req)
	require.Error(t, err)
	f.clock.Advance(time.Second) // the task this submit created failed meanwhile

	f.env.SetHeartbeatDetails(f.heartbeats[0])
	req.Job = f.mustSubmit(req)
	assert.Equal(t, "clicks/to_obs/started", req.Job.ID)
	assert.Equal(t, 0, f.task("clicks", "to_obs").Starts, "its own failure is not restarted away")

	_, err = f.wait(req)
	assert.Equal(t, "job clicks/to_obs ended ERROR: no such bucket", appError(t, err).Message())
}

func TestDumpTaskHeartbeatOfAnotherStep(t *testing.T) {
	f := newTaskFixture(t)
	f.existingTask(toOBS)
	// Details that are not this submit's intent prove nothing.
	other := taskRequest(toOBS)
	other.StepID = "other"
	f.env.SetHeartbeatDetails(json.RawMessage(`{"key":"` + other.IdempotencyKey() + `","stream":"clicks","task":"to_obs"}`))
	job := f.mustSubmit(taskRequest(toOBS))
	assert.Equal(t, "clicks/to_obs", job.ID)
}

func TestDumpTaskAdoptsRunningTask(t *testing.T) {
	f := newTaskFixture(t)
	existing := f.existingTask(toOBS)
	require.Equal(t, "RUNNING", existing.State)
	before := f.emu.Calls()

	req := taskRequest(toOBS)
	req.Job = f.mustSubmit(req)
	assert.Equal(t, activities.Job{ID: "clicks/to_obs", ProjectID: project, Reattached: true}, *req.Job)
	assert.Equal(t, before[routeCreateTask], f.calls(routeCreateTask), "submit created nothing")
	assert.Equal(t, 0, f.calls(routeTaskAction))
	assert.Contains(t, f.logs.String(), "re-attached to DIS dump task")

	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"task_id": existing.ID, "state": "RUNNING"}, res.Outputs)

	// Cancel leaves a task this step did not start alone, without a call.
	calls := f.emu.Calls()
	require.NoError(t, f.cancel(req))
	assert.Equal(t, calls, f.emu.Calls())
	assert.Equal(t, "RUNNING", f.task("clicks", "to_obs").State)
	assert.Contains(t, f.logs.String(), "left DIS dump task running: this step did not start it")
}

func TestDumpTaskStartsPausedTask(t *testing.T) {
	f := newTaskFixture(t)
	existing := f.existingTask(toOBS)
	require.NoError(t, f.client.PauseDumpTasks(context.Background(), project, "clicks", existing.ID))

	req := taskRequest(toOBS)
	req.Job = f.mustSubmit(req)
	assert.Equal(t, activities.Job{ID: "clicks/to_obs/started", ProjectID: project, Reattached: true}, *req.Job)
	task := f.task("clicks", "to_obs")
	assert.Equal(t, "STARTING", task.State)
	assert.Equal(t, 1, task.Starts)
	// The intent was recorded before the start.
	require.Len(t, f.heartbeats, 1)

	// Cancel pauses it again: this step started it.
	require.NoError(t, f.cancel(req))
	task = f.task("clicks", "to_obs")
	assert.Equal(t, "PAUSED", task.State)
	assert.Equal(t, 2, task.Pauses)
}

func TestDumpTaskDestinationMismatch(t *testing.T) {
	for _, tc := range []struct{ name, with, want string }{
		{"type", `{"stream":"clicks","name":"to_obs","destination":"DLI","descriptor":{"agency_name":"a","dli_database_name":"db","dli_table_name":"t","obs_bucket_path":"lake"}}`,
			"DIS dump task clicks/to_obs exists with another destination: its destination is OBS, the step asks for DLI; " +
				"pipectl never changes or replaces a dump task: delete it or give the step another name"},
		{"bucket and prefix", strings.Replace(strings.Replace(toOBS, `"lake"`, `"other"`, 1), `"raw/clicks"`, `"raw"`, 1),
			`DIS dump task clicks/to_obs exists with another destination: obs_bucket_path is "lake", the step asks for "other"; ` +
				`file_prefix is "raw/clicks", the step asks for "raw"; pipectl never changes or replaces a dump task: delete it or give the step another name`},
		{"secret bucket", strings.Replace(toOBS, `"lake"`, `"${secret.bucket}"`, 1),
			"DIS dump task clicks/to_obs exists with another destination: obs_bucket_path differs; " +
				"pipectl never changes or replaces a dump task: delete it or give the step another name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTaskFixture(t)
			f.existingTask(toOBS)
			_, err := f.submit(taskRequest(tc.with))
			assertRejected(t, err, tc.want)
			assert.Equal(t, 1, f.emu.DISCounts().TaskCreates)
			assert.Equal(t, 0, f.emu.DISCounts().TaskStarts)
		})
	}

	// Other settings may differ: the destination is the same.
	f := newTaskFixture(t)
	f.existingTask(toOBS)
	job := f.mustSubmit(taskRequest(strings.Replace(toOBS, `"deliver_time_interval":60`, `"deliver_time_interval":120`, 1)))
	assert.Equal(t, "clicks/to_obs", job.ID)
}

func TestDumpTaskInvalidInput(t *testing.T) {
	for _, tc := range []struct{ name, with, want string }{
		{"destination", `{"stream":"clicks","name":"t","destination":"S3","descriptor":{}}`, `dis.dump_task input: destination must be one of OBS, DWS, MRS, DLI, CLOUDTABLE, got "S3"`},
		{"no descriptor", `{"stream":"clicks","name":"t","destination":"OBS"}`, "dis.dump_task input: descriptor is required"},
		{"no stream", `{"name":"t","destination":"OBS","descriptor":{}}`, "dis.dump_task input: stream is required"},
		{"no name", `{"stream":"clicks","destination":"OBS","descriptor":{}}`, "dis.dump_task input: name is required"},
		{"task_name differs", `{"stream":"clicks","name":"t","destination":"OBS","descriptor":{"task_name":"u"}}`,
			`dis.dump_task input: descriptor.task_name "u" differs from the step's name "t"; leave it out`},
		{"descriptor not an object", `{"stream":"clicks","name":"t","destination":"OBS","descriptor":[1]}`,
			"dis.dump_task input: json: cannot unmarshal array into Go struct field dumpTaskInput.descriptor of type map[string]json.RawMessage"},
		{"secret stream", `{"stream":"${secret.bucket}","name":"t","destination":"OBS","descriptor":{}}`,
			"dis.dump_task input: stream cannot be a secret: it is logged and published"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.submit(taskRequest(tc.with))
			assertRejected(t, err, tc.want)
			assert.Empty(t, f.emu.Calls(), "no request may reach the service")
		})
	}
}

func TestDumpTaskLowerCaseDestinationAndTaskName(t *testing.T) {
	f := newTaskFixture(t)
	// The descriptor may repeat the step's name; the destination's case
	// does not matter.
	job := f.mustSubmit(taskRequest(`{"stream":"clicks","name":"to_dli","destination":"dli","descriptor":{"task_name":"to_dli","agency_name":"a","dli_database_name":"db","dli_table_name":"t","obs_bucket_path":"lake"}}`))
	assert.Equal(t, "clicks/to_dli/started", job.ID)
	assert.Equal(t, "DLI", f.task("clicks", "to_dli").DestinationType)
}

func TestDumpTaskRejectedByService(t *testing.T) {
	f := newTaskFixture(t)
	_, err := f.submit(taskRequest(`{"stream":"clicks","name":"t","destination":"OBS","descriptor":{"agency_name":"a"}}`))
	assertRejected(t, err, "DIS create dump task: HTTP 400 DIS.4200: Invalid request. obs_bucket_path is mandatory")
	assert.Empty(t, f.emu.DISDumpTasks())
}

func TestDumpTaskMissingStream(t *testing.T) {
	f := newFixture(t)
	_, err := f.submit(taskRequest(toOBS))
	assertRejected(t, err, "DIS describe dump task: HTTP 400 DIS.4301: The stream does not exist. clicks")
}

func TestDumpTaskWaitStoppedOutside(t *testing.T) {
	f := newTaskFixture(t)
	req := taskRequest(toOBS)
	req.Job = f.mustSubmit(req)
	id := f.task("clicks", "to_obs").ID

	require.NoError(t, f.client.PauseDumpTasks(context.Background(), project, "clicks", id))
	_, err := f.wait(req)
	app := appError(t, err)
	assert.Equal(t, activities.ErrJobCancelled, app.Type())
	assert.True(t, app.NonRetryable())
	assert.Equal(t, "job clicks/to_obs ended PAUSED: it was paused outside the pipeline", app.Message())

	require.NoError(t, f.client.DeleteDumpTask(context.Background(), project, "clicks", "to_obs"))
	_, err = f.wait(req)
	app = appError(t, err)
	assert.Equal(t, activities.ErrJobCancelled, app.Type())
	assert.Equal(t, "job clicks/to_obs ended DELETE: it was deleted outside the pipeline: "+
		"DIS describe dump task: HTTP 400 DIS.4354: The transfer task does not exist. to_obs", app.Message())
}

func TestDumpTaskWaitBadJob(t *testing.T) {
	f := newFixture(t)
	req := taskRequest(toOBS)
	_, err := f.wait(req)
	assertRejected(t, err, "wait without a job")
	req.Job = &activities.Job{ID: "clicks"}
	_, err = f.wait(req)
	assertRejected(t, err, `malformed dis.dump_task job id "clicks"`)
	assert.Empty(t, f.emu.Calls())
}

func TestDumpTaskWaitServiceUnavailable(t *testing.T) {
	f := newTaskFixture(t)
	req := taskRequest(toOBS)
	req.Job = f.mustSubmit(req)
	f.hooks.fake = func(r *http.Request) *http.Response {
		return &http.Response{
			StatusCode: http.StatusServiceUnavailable,
			Header:     http.Header{"Retry-After": {"7"}},
			Body:       io.NopCloser(strings.NewReader(`{"error_code":"DIS.5000","error_msg":"System error."}`)),
			Request:    r,
		}
	}
	_, err := f.wait(req)
	assertRetryable(t, err, "DIS describe dump task: HTTP 503 DIS.5000: System error.", 7*time.Second)
}

func TestDumpTaskWaitUnknownState(t *testing.T) {
	f := newFixture(t)
	f.hooks.fake = func(r *http.Request) *http.Response {
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(`{"task_name":"to_obs","task_id":"x","destination_type":"OBS","state":"REBALANCING"}`)),
			Request:    r,
		}
	}
	req := taskRequest(toOBS)
	req.Job = &activities.Job{ID: "clicks/to_obs/started", ProjectID: project}
	_, err := f.wait(req)
	assertStillRunning(t, err, "clicks/to_obs", "REBALANCING", 40*time.Second) // the cap
	assert.Contains(t, f.logs.String(), "unknown DIS dump task state")
}

func TestDumpTaskCancelRunning(t *testing.T) {
	for _, tc := range []struct {
		advance time.Duration
		state   string
	}{{0, "STARTING"}, {time.Second, "RUNNING"}} {
		t.Run(tc.state, func(t *testing.T) {
			f := newTaskFixture(t)
			req := taskRequest(toOBS)
			req.Job = f.mustSubmit(req)
			f.clock.Advance(tc.advance)
			require.Equal(t, tc.state, f.task("clicks", "to_obs").State)

			require.NoError(t, f.cancel(req))
			task := f.task("clicks", "to_obs")
			assert.Equal(t, "PAUSED", task.State)
			assert.Equal(t, 1, task.Pauses)
			assert.Equal(t, 1, f.calls(routeTaskAction))
			assert.Contains(t, f.logs.String(), "paused DIS dump task")

			// Cancelling again is a no-op success: the task is paused.
			require.NoError(t, f.cancel(req))
			assert.Equal(t, 1, f.calls(routeTaskAction))
			assert.Equal(t, 1, f.task("clicks", "to_obs").Pauses)
		})
	}
}

func TestDumpTaskCancelEnded(t *testing.T) {
	f := newTaskFixture(t)
	f.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "to_obs", FailMessage: "no such bucket"})
	req := taskRequest(toOBS)
	req.Job = f.mustSubmit(req)
	f.clock.Advance(time.Second)
	require.Equal(t, "ERROR", f.task("clicks", "to_obs").State)

	require.NoError(t, f.cancel(req))
	assert.Equal(t, 0, f.calls(routeTaskAction), "no pause for a task in ERROR")

	// Deleted meanwhile: nothing to stop either.
	require.NoError(t, f.client.DeleteDumpTask(context.Background(), project, "clicks", "to_obs"))
	require.NoError(t, f.cancel(req))
	assert.Equal(t, 0, f.calls(routeTaskAction))
}

func TestDumpTaskCancelWithoutJob(t *testing.T) {
	t.Run("submit interrupted after creating", func(t *testing.T) {
		f := newTaskFixture(t)
		_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.DIS,
			Route: "POST /v2/{project_id}/streams/{stream_name}/transfer-tasks", Count: 1})
		require.NoError(t, err)
		req := taskRequest(toOBS)
		_, err = f.submit(req)
		require.Error(t, err)

		// The step gave up before submit answered: no Job. The task is
		// found by its name; STARTING, it was just started: paused.
		require.NoError(t, f.cancel(req))
		task := f.task("clicks", "to_obs")
		assert.Equal(t, "PAUSED", task.State)
		assert.Equal(t, 1, task.Pauses)
	})
	t.Run("task running before", func(t *testing.T) {
		f := newTaskFixture(t)
		f.existingTask(toOBS)
		require.NoError(t, f.cancel(taskRequest(toOBS)))
		assert.Equal(t, "RUNNING", f.task("clicks", "to_obs").State)
		assert.Equal(t, 0, f.calls(routeTaskAction))
		assert.Contains(t, f.logs.String(), "cannot tell whether this step started it")
	})
	t.Run("nothing created", func(t *testing.T) {
		f := newTaskFixture(t)
		require.NoError(t, f.cancel(taskRequest(toOBS)))
		assert.Equal(t, 1, f.calls(routeDescribeTask))
		assert.Equal(t, 0, f.calls(routeTaskAction))
	})
	t.Run("no stream", func(t *testing.T) {
		f := newFixture(t)
		require.NoError(t, f.cancel(taskRequest(toOBS)))
	})
}

func TestDumpTaskCancelPauseRejected(t *testing.T) {
	f := newTaskFixture(t)
	req := taskRequest(toOBS)
	req.Job = f.mustSubmit(req)
	f.hooks.fake = func(r *http.Request) *http.Response {
		if !strings.HasSuffix(r.URL.Path, "/action") {
			return nil
		}
		return &http.Response{
			StatusCode: http.StatusForbidden,
			Header:     http.Header{},
			Body:       io.NopCloser(strings.NewReader(`{"error_code":"DIS.4116","error_msg":"Invalid RBAC. no dis:transferTasks:action"}`)),
			Request:    r,
		}
	}
	err := f.cancel(req)
	assertRejected(t, err, "DIS pause dump tasks: HTTP 403 DIS.4116: Invalid RBAC. no dis:transferTasks:action")
	assert.Equal(t, "STARTING", f.task("clicks", "to_obs").State)
	assert.Equal(t, 4, f.calls(routeDescribeTask), "submit's two, then cancel's, which looked again before giving up")
}

func TestDumpTaskCancelServiceUnavailable(t *testing.T) {
	f := newTaskFixture(t)
	req := taskRequest(toOBS)
	req.Job = f.mustSubmit(req)
	f.hooks.fake = func(r *http.Request) *http.Response {
		if !strings.HasSuffix(r.URL.Path, "/action") {
			return nil
		}
		return &http.Response{
			StatusCode: http.StatusBadGateway,
			Header:     http.Header{},
			Body:       io.NopCloser(strings.NewReader("<html>bad gateway</html>")),
			Request:    r,
		}
	}
	err := f.cancel(req)
	assertRetryable(t, err, "DIS pause dump tasks: HTTP 502: <html>bad gateway</html>", 0)
	assert.Equal(t, "STARTING", f.task("clicks", "to_obs").State)
}
