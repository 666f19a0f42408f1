package dis_test

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/dis"
	"github.com/pipectl/pipectl/testenv/emulator"
)

const clicksStream = `{"name":"clicks","partitions":3,"stream_type":"COMMON","data_type":"JSON","retention_hours":48}`

func streamRequest(with string) activities.StepRequest { return request(dis.KindStream, with) }

func TestStreamCreateAndWait(t *testing.T) {
	f := newFixture(t)
	req := streamRequest(clicksStream)
	job := f.mustSubmit(req)
	assert.Equal(t, activities.Job{ID: "clicks", ProjectID: project}, *job)

	streams := f.emu.DISStreams()
	require.Len(t, streams, 1)
	s := streams[0]
	assert.Equal(t, project, s.ProjectID)
	assert.Equal(t, "clicks", s.Name)
	assert.Equal(t, "COMMON", s.StreamType)
	assert.Equal(t, "JSON", s.DataType)
	assert.Equal(t, 48, s.RetentionHours)
	assert.False(t, s.AutoScaleEnabled)
	assert.Len(t, s.Partitions, 3)
	assert.Equal(t, "CREATING", s.Status)
	// It looked for the stream first, then created it.
	assert.Equal(t, map[string]int{routeDescribeStream: 1, routeCreateStream: 1}, f.emu.Calls())
	assert.Contains(t, f.logs.String(), "created DIS stream")

	req.Job = job
	_, err := f.wait(req)
	// The test environment runs attempt 1: the poll interval.
	assertStillRunning(t, err, "clicks", "CREATING", activities.NextPoll(req.Poll, 1))
	assert.Equal(t, 3*time.Second, activities.NextPoll(req.Poll, 1))

	f.clock.Advance(time.Second)
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, &activities.Result{State: "RUNNING", Outputs: map[string]string{
		"name":       "clicks",
		"id":         s.ID,
		"partitions": "3",
	}}, res)
	assert.Equal(t, 0, f.calls(routeScale))
	assert.Equal(t, 1, f.emu.DISCounts().StreamCreates)
}

func TestStreamDefaultsAndAutoScale(t *testing.T) {
	f := newFixture(t)
	// Numbers and booleans may arrive as strings from templates.
	job := f.mustSubmit(streamRequest(`{"name":"events","partitions":"4","auto_scale":"true"}`))
	s := f.stream(job.ID)
	assert.Equal(t, "COMMON", s.StreamType) // the service's defaults
	assert.Equal(t, "BLOB", s.DataType)
	assert.Equal(t, 24, s.RetentionHours)
	assert.True(t, s.AutoScaleEnabled)
	assert.Equal(t, int64(1), s.AutoScaleMin)
	assert.Equal(t, int64(4), s.AutoScaleMax)
	assert.Len(t, s.Partitions, 4)
}

func TestStreamFrozen(t *testing.T) {
	f := newFixture(t)
	f.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "clicks", Duration: 10 * time.Second, FailMessage: "insufficient balance"})
	req := streamRequest(clicksStream)
	req.Job = f.mustSubmit(req)

	f.clock.Advance(9 * time.Second)
	_, err := f.wait(req)
	assertStillRunning(t, err, "clicks", "CREATING", 3*time.Second)

	f.clock.Advance(time.Second)
	_, err = f.wait(req)
	app := appError(t, err)
	assert.Equal(t, activities.ErrJobFailed, app.Type())
	assert.True(t, app.NonRetryable())
	// DIS reports no reason for a frozen stream (the emulator keeps its
	// rule's message to itself, as the real API would).
	const msg = "the stream is frozen and cannot be used (DIS freezes the streams of an account in arrears or whose creation failed)"
	assert.Equal(t, "job clicks ended FROZEN: "+msg, app.Message())
	var res activities.Result
	require.NoError(t, app.Details(&res))
	assert.Equal(t, activities.Result{JobID: "clicks", State: "FROZEN", Message: msg}, res)
}

func TestStreamTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		msg    string
		delay  time.Duration
	}{
		{http.StatusInternalServerError, "DIS create stream: HTTP 500 DIS.5000: System error. (injected HTTP 500)", 0},
		{http.StatusTooManyRequests, "DIS create stream: HTTP 429 DIS.4305: Too many stream requests. (injected)", time.Second},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			f := newFixture(t)
			f.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "clicks", SubmitErrors: 1, SubmitStatus: tc.status})
			req := streamRequest(clicksStream)
			_, err := f.submit(req)
			assertRetryable(t, err, tc.msg, tc.delay)
			assert.Empty(t, f.emu.DISStreams())

			// Temporal retries; the retry creates the stream, exactly once.
			job := f.mustSubmit(req)
			assert.False(t, job.Reattached)
			assert.Len(t, f.emu.DISStreams(), 1)
			assert.Equal(t, 1, f.emu.DISCounts().StreamCreates)
		})
	}
}

func TestStreamResponseLost(t *testing.T) {
	f := newFixture(t)
	_, err := f.emu.AddFault(emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.DIS, Route: "POST /v2/{project_id}/streams", Count: 1})
	require.NoError(t, err)
	req := streamRequest(clicksStream)

	_, err = f.submit(req)
	assertRetryable(t, err, "", 0)
	require.Len(t, f.emu.DISStreams(), 1, "the create happened although its answer was lost")

	// The retry finds the stream by name and re-attaches.
	job := f.mustSubmit(req)
	assert.Equal(t, activities.Job{ID: "clicks", ProjectID: project, Reattached: true}, *job)
	assert.Len(t, f.emu.DISStreams(), 1)
	assert.Equal(t, 1, f.emu.DISCounts().StreamCreates)
	assert.Equal(t, 1, f.calls(routeCreateStream))
	assert.Equal(t, 2, f.calls(routeDescribeStream))
	assert.Contains(t, f.logs.String(), "re-attached to DIS stream")

	req.Job = job
	f.clock.Advance(time.Second)
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, "3", res.Outputs["partitions"])
}

func TestStreamCreateRace(t *testing.T) {
	f := newFixture(t)
	req := streamRequest(clicksStream)
	// Someone creates the stream between the describe and the create.
	var raced atomic.Bool
	f.hooks.fake = func(r *http.Request) *http.Response {
		if r.Method == http.MethodPost && !raced.Swap(true) {
			require.NoError(t, f.client.CreateStream(context.Background(), project,
				dis.CreateStreamRequest{StreamName: "clicks", PartitionCount: 3, DataType: "JSON", DataDuration: 48}))
		}
		return nil
	}
	job := f.mustSubmit(req)
	assert.True(t, job.Reattached)
	assert.Equal(t, 1, f.emu.DISCounts().StreamCreates)
	assert.Equal(t, 2, f.calls(routeCreateStream)) // ours answered DIS.4307
}

func TestStreamNewAttemptSameStream(t *testing.T) {
	f := newFixture(t)
	req := streamRequest(clicksStream)
	first := f.mustSubmit(req)
	f.clock.Advance(time.Second)

	// A re-run of the step (or the next run of the pipeline) ensures the
	// same stream: the name is the handle, whatever the attempt.
	req.Attempt = 2
	second := f.mustSubmit(req)
	assert.Equal(t, first.ID, second.ID)
	assert.True(t, second.Reattached)
	assert.Equal(t, 1, f.emu.DISCounts().StreamCreates)
	assert.Equal(t, 0, f.emu.DISCounts().PartitionChanges)
}

func TestStreamScalesExisting(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to int
	}{{"out", 2, 5}, {"in", 4, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.runningStream(dis.CreateStreamRequest{StreamName: "clicks", PartitionCount: tc.from})
			req := streamRequest(`{"name":"clicks","partitions":` + strconv.Itoa(tc.to) + `}`)
			req.Job = f.mustSubmit(req)
			assert.True(t, req.Job.Reattached)

			s := f.stream("clicks")
			assert.Equal(t, 1, s.PartitionChanges)
			active := 0
			for _, p := range s.Partitions {
				if p.Status == "ACTIVE" {
					active++
				}
			}
			assert.Equal(t, tc.to, active)
			assert.Contains(t, f.logs.String(), "changed DIS stream partition count")

			res, err := f.wait(req)
			require.NoError(t, err)
			assert.Equal(t, strconv.Itoa(tc.to), res.Outputs["partitions"])
			assert.Equal(t, 1, f.calls(routeScale), "the wait found nothing left to change")

			// Ensuring again changes nothing.
			f.mustSubmit(req)
			assert.Equal(t, 1, f.calls(routeScale))
		})
	}
}

func TestStreamScaledByWaitOnceRunning(t *testing.T) {
	f := newFixture(t)
	// Created by someone else a moment ago, with 2 partitions: still CREATING.
	require.NoError(t, f.client.CreateStream(context.Background(), project, dis.CreateStreamRequest{StreamName: "clicks", PartitionCount: 2}))
	req := streamRequest(`{"name":"clicks","partitions":3}`)
	req.Job = f.mustSubmit(req)
	assert.Equal(t, 0, f.calls(routeScale), "a CREATING stream cannot be scaled")

	_, err := f.wait(req)
	assertStillRunning(t, err, "clicks", "CREATING", 3*time.Second)

	f.clock.Advance(time.Second)
	_, err = f.wait(req)
	assertStillRunning(t, err, "clicks", "SCALING", 3*time.Second)
	assert.Equal(t, 1, f.stream("clicks").PartitionChanges)

	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, "3", res.Outputs["partitions"])
	assert.Equal(t, 1, f.calls(routeScale))
}

func TestStreamAutoScaledNotForced(t *testing.T) {
	f := newFixture(t)
	f.runningStream(dis.CreateStreamRequest{StreamName: "clicks", PartitionCount: 2,
		AutoScaleEnabled: true, AutoScaleMinPartitionCount: 1, AutoScaleMaxPartitionCount: 8})
	req := streamRequest(`{"name":"clicks","partitions":6}`)
	req.Job = f.mustSubmit(req)
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, "2", res.Outputs["partitions"])
	assert.Equal(t, 0, f.calls(routeScale))
}

func TestStreamSettingsMismatch(t *testing.T) {
	f := newFixture(t)
	f.runningStream(dis.CreateStreamRequest{StreamName: "clicks", PartitionCount: 2})
	_, err := f.submit(streamRequest(`{"name":"clicks","partitions":5,"stream_type":"ADVANCED","data_type":"JSON","retention_hours":72,"auto_scale":true}`))
	assertRejected(t, err, "DIS stream clicks exists with other settings: stream_type is COMMON, the step asks for ADVANCED; "+
		"data_type is BLOB, the step asks for JSON; retention_hours is 24, the step asks for 72; auto_scale is false, the step asks for true; "+
		"pipectl only changes the partition count of an existing stream: change the step or the stream")
	s := f.stream("clicks")
	assert.Equal(t, 0, s.PartitionChanges, "nothing changed")
	assert.Equal(t, 0, s.Updates)
	assert.Len(t, s.Partitions, 2)

	// Settings the step leaves out are not compared; matching ones pass.
	job := f.mustSubmit(streamRequest(`{"name":"clicks","partitions":2,"stream_type":"COMMON","retention_hours":24}`))
	assert.True(t, job.Reattached)
}

func TestStreamInvalidInput(t *testing.T) {
	for _, tc := range []struct{ name, with, want string }{
		{"no name", `{"partitions":1}`, "dis.stream input: name is required"},
		{"zero partitions", `{"name":"s","partitions":0}`, "dis.stream input: partitions must be at least 1, got 0"},
		{"fraction", `{"name":"s","partitions":2.5}`, "dis.stream input: 2.5 is not a whole number"},
		{"not a number", `{"name":"s","partitions":"many"}`, `dis.stream input: "many" is not a whole number`},
		{"bad bool", `{"name":"s","partitions":1,"auto_scale":"yes"}`, `dis.stream input: "yes" is not true or false`},
		{"secret name", `{"name":"${secret.bucket}","partitions":1}`, "dis.stream input: name cannot be a secret: it is logged and published"},
		{"secret partitions", `{"name":"s","partitions":"${secret.bucket}"}`, "dis.stream input: partitions cannot be a secret: it is logged and published"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.submit(streamRequest(tc.with))
			assertRejected(t, err, tc.want)
			assert.Empty(t, f.emu.Calls(), "no request may reach the service")
		})
	}
}

func TestStreamRejectedByService(t *testing.T) {
	f := newFixture(t)
	_, err := f.submit(streamRequest(`{"name":"clicks","partitions":3,"retention_hours":500}`))
	assertRejected(t, err, "DIS create stream: HTTP 400 DIS.4200: Invalid request. data_duration must be between 24 and 168 hours, got 500")
	assert.Empty(t, f.emu.DISStreams())
}

func TestStreamProjectFromWorker(t *testing.T) {
	f := newFixture(t)
	req := streamRequest(clicksStream)
	req.Cloud.ProjectID = ""
	job := f.mustSubmit(req)
	assert.Equal(t, workerProject, job.ProjectID)
	_, ok := f.emu.DISStream(workerProject, "clicks")
	assert.True(t, ok)

	// Wait uses the job's project, whatever the plan says now.
	req.Job = job
	req.Cloud.ProjectID = "another"
	f.clock.Advance(time.Second)
	res, err := f.wait(req)
	require.NoError(t, err)
	assert.Equal(t, "RUNNING", res.State)
}

func TestStreamWaitDeletedMeanwhile(t *testing.T) {
	f := newFixture(t)
	req := streamRequest(clicksStream)
	req.Job = &activities.Job{ID: "clicks", ProjectID: project}
	_, err := f.wait(req)
	assertRejected(t, err, "DIS describe stream: HTTP 400 DIS.4301: The stream does not exist. clicks")
}

func TestStreamWaitWithoutJob(t *testing.T) {
	f := newFixture(t)
	_, err := f.wait(streamRequest(clicksStream))
	assertRejected(t, err, "wait without a job")
	assert.Empty(t, f.emu.Calls())
}

func TestStreamCancelKeepsStream(t *testing.T) {
	f := newFixture(t)
	req := streamRequest(clicksStream)
	job := f.mustSubmit(req)
	calls := f.emu.Calls()

	for _, j := range []*activities.Job{job, nil} {
		req.Job = j
		require.NoError(t, f.cancel(req))
	}
	assert.Equal(t, calls, f.emu.Calls(), "cancel makes no call")
	assert.Equal(t, "CREATING", f.stream("clicks").Status)
	assert.Equal(t, 0, f.emu.DISCounts().StreamDeletes)
	assert.Contains(t, f.logs.String(), "nothing to cancel for a DIS stream")
}

func TestStreamMissingProjectID(t *testing.T) {
	f := newFixture(t)
	f.acts.ProjectID = ""
	req := streamRequest(clicksStream)
	req.Cloud.ProjectID = ""
	_, err := f.submit(req)
	assertRejected(t, err, "no project id: set cloud.project_id in the spec or the worker's project id")
	assert.Empty(t, f.emu.Calls())
}
