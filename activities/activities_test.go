package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

// onTheWire returns err as Temporal records it: converted to a failure
// and back, the way the workflow and the retry policy see it.
func onTheWire(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	fc := temporal.GetDefaultFailureConverter()
	f := fc.ErrorToFailure(err)
	require.NotNil(t, f.GetApplicationFailureInfo(), "failure %v is not an application failure", f)
	var app *temporal.ApplicationError
	require.True(t, errors.As(fc.FailureToError(f), &app))
	return app
}

func TestNames(t *testing.T) {
	// Recorded histories name activities by these strings: they never change.
	assert.Equal(t, "dli.sql.submit", activities.SubmitName("dli.sql"))
	assert.Equal(t, "dli.sql.wait", activities.WaitName("dli.sql"))
	assert.Equal(t, "dli.sql.cancel", activities.CancelName("dli.sql"))
	assert.Equal(t, []string{"JobFailed", "JobCancelled", "RequestRejected"}, activities.NonRetryable())
	assert.Equal(t, "StillRunning", activities.ErrStillRunning)
	assert.Equal(t, "ServiceUnavailable", activities.ErrServiceUnavailable)
}

func TestClassifyRejected(t *testing.T) {
	apiErr := &cloudapi.Error{Service: "DLI", Op: "submit SQL job", Status: 400, Code: "DLI.0001", Message: "Parameter check errors occur"}
	for name, in := range map[string]error{
		"direct":  apiErr,
		"wrapped": fmt.Errorf("cancel job j: %w", apiErr),
	} {
		t.Run(name, func(t *testing.T) {
			err := activities.Classify(in)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app))
			assert.Equal(t, "RequestRejected", app.Type())
			assert.True(t, app.NonRetryable())
			assert.Equal(t, "DLI submit SQL job: HTTP 400 DLI.0001: Parameter check errors occur", app.Message())
			assert.Equal(t, time.Duration(0), app.NextRetryDelay())
			var code string
			require.NoError(t, app.Details(&code))
			assert.Equal(t, "DLI.0001", code)

			w := onTheWire(t, err)
			assert.Equal(t, "RequestRejected", w.Type())
			assert.True(t, w.NonRetryable())
		})
	}
	for _, status := range []int{401, 403, 404, 409} {
		err := activities.Classify(&cloudapi.Error{Service: "DLI", Op: "x", Status: status})
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app))
		assert.Equal(t, "RequestRejected", app.Type(), "status %d", status)
		assert.True(t, app.NonRetryable(), "status %d", status)
	}
}

func TestClassifyRetryable(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		wantDelay time.Duration
		wantMsg   string
	}{
		{"429 with Retry-After", &cloudapi.Error{Service: "DLI", Op: "submit SQL job", Status: 429, Code: "DLI.0009", Message: "too many requests", RetryAfter: 7 * time.Second}, 7 * time.Second, "DLI submit SQL job: HTTP 429 DLI.0009: too many requests"},
		{"503", &cloudapi.Error{Service: "DLI", Op: "get SQL job status", Status: 503, Message: "Service Unavailable"}, 0, "DLI get SQL job status: HTTP 503: Service Unavailable"},
		{"500 wrapped", fmt.Errorf("cancel job j: %w", &cloudapi.Error{Service: "DLI", Op: "cancel SQL job", Status: 500, Code: "DLI.0999"}), 0, "DLI cancel SQL job: HTTP 500 DLI.0999"},
		{"408", &cloudapi.Error{Service: "LF", Op: "x", Status: 408}, 0, "LF x: HTTP 408"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := activities.Classify(tc.err)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app))
			assert.Equal(t, "ServiceUnavailable", app.Type())
			assert.False(t, app.NonRetryable())
			assert.Equal(t, tc.wantDelay, app.NextRetryDelay())
			assert.Equal(t, tc.wantMsg, app.Message())

			w := onTheWire(t, err)
			assert.Equal(t, "ServiceUnavailable", w.Type())
			assert.False(t, w.NonRetryable())
			assert.Equal(t, tc.wantDelay, w.NextRetryDelay())
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassifyTransient(t *testing.T) {
	for _, tc := range []struct {
		name, wantMsg string
		err           error
	}{
		{"net error", "i/o timeout", timeoutErr{}},
		{"url error", `Get "http://dli/x": dial tcp: connection refused`, &url.Error{Op: "Get", URL: "http://dli/x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}},
		{"wrapped net error", "DLI status: i/o timeout", fmt.Errorf("DLI status: %w", timeoutErr{})},
		{"deadline", "context deadline exceeded", context.DeadlineExceeded},
		{"unknown", "DLI status: decode response: unexpected EOF", errors.New("DLI status: decode response: unexpected EOF")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := activities.Classify(tc.err)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app))
			assert.Equal(t, "ServiceUnavailable", app.Type())
			assert.False(t, app.NonRetryable())
			assert.Equal(t, tc.wantMsg, app.Message())
			assert.Equal(t, time.Duration(0), app.NextRetryDelay())
		})
	}
}

func TestClassifyPassThrough(t *testing.T) {
	assert.NoError(t, activities.Classify(nil))

	assert.Same(t, context.Canceled, activities.Classify(context.Canceled))
	wrapped := &url.Error{Op: "Get", URL: "http://dli/x", Err: context.Canceled}
	assert.Same(t, wrapped, activities.Classify(wrapped))

	app := temporal.NewNonRetryableApplicationError("job j ended FAILED: boom", "JobFailed", nil)
	assert.Same(t, app, activities.Classify(app))
	benign := activities.StillRunning(activities.Progress{JobID: "j", State: "RUNNING"}, time.Second)
	assert.Same(t, benign, activities.Classify(benign))
}

func TestClassifyWrappedApplicationError(t *testing.T) {
	// Temporal reads an activity's error by its concrete type: a wrapped
	// ApplicationError would reach the retry policy as an unknown,
	// retryable error. Classify must hand back the ApplicationError itself.
	app := temporal.NewNonRetryableApplicationError("job j ended FAILED: boom", "JobFailed", nil)
	err := activities.Classify(fmt.Errorf("wait: %w", app))
	w := onTheWire(t, err)
	assert.Equal(t, "JobFailed", w.Type())
	assert.True(t, w.NonRetryable())
}

func TestStillRunning(t *testing.T) {
	checked := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	p := activities.Progress{JobID: "j-1", State: "RUNNING", Percent: 42.5, Checked: checked}
	err := activities.StillRunning(p, 8*time.Second)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app))
	assert.Equal(t, "job j-1 is RUNNING", app.Message())
	assert.Equal(t, "StillRunning", app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category())
	assert.Equal(t, 8*time.Second, app.NextRetryDelay())

	w := onTheWire(t, err)
	assert.Equal(t, "StillRunning", w.Type())
	assert.False(t, w.NonRetryable())
	assert.Equal(t, temporal.ApplicationErrorCategoryBenign, w.Category())
	assert.Equal(t, 8*time.Second, w.NextRetryDelay())
	var got activities.Progress
	require.NoError(t, w.Details(&got))
	assert.Equal(t, p, got)
}

func TestJobFailed(t *testing.T) {
	for _, tc := range []struct {
		state, msg, wantType, wantMsg, wantDetail string
	}{
		{"FAILED", "Table or view not found: t1", "JobFailed", "job j-1 ended FAILED: Table or view not found: t1", "Table or view not found: t1"},
		{"CANCELLED", "", "JobCancelled", "job j-1 ended CANCELLED: no message from the service", "no message from the service"},
	} {
		err := activities.JobFailed("j-1", tc.state, tc.msg)
		w := onTheWire(t, err)
		assert.Equal(t, tc.wantType, w.Type())
		assert.True(t, w.NonRetryable())
		assert.Equal(t, tc.wantMsg, w.Message())
		var res activities.Result
		require.NoError(t, w.Details(&res))
		assert.Equal(t, activities.Result{JobID: "j-1", State: tc.state, Message: tc.wantDetail}, res)
	}
}

func poll(interval, maxInterval time.Duration) planner.Poll {
	return planner.Poll{Interval: spec.Duration(interval), MaxInterval: spec.Duration(maxInterval)}
}

func TestNextPoll(t *testing.T) {
	p := poll(2*time.Second, 30*time.Second)
	want := []time.Duration{2, 4, 8, 16, 30, 30, 30}
	for i, w := range want {
		assert.Equal(t, w*time.Second, activities.NextPoll(p, int32(i+1)), "attempt %d", i+1)
	}
	assert.Equal(t, 30*time.Second, activities.NextPoll(p, 1000))
	assert.Equal(t, 30*time.Second, activities.NextPoll(p, 1<<31-1))
	assert.Equal(t, 2*time.Second, activities.NextPoll(p, 0))
	assert.Equal(t, 2*time.Second, activities.NextPoll(p, -5))

	// A cap that is not a power-of-two multiple is reached exactly.
	p = poll(3*time.Second, 10*time.Second)
	assert.Equal(t, []time.Duration{3 * time.Second, 6 * time.Second, 10 * time.Second, 10 * time.Second},
		[]time.Duration{activities.NextPoll(p, 1), activities.NextPoll(p, 2), activities.NextPoll(p, 3), activities.NextPoll(p, 4)})

	// Interval equal to the cap: constant.
	assert.Equal(t, 5*time.Second, activities.NextPoll(poll(5*time.Second, 5*time.Second), 9))
	// An interval above the cap is capped.
	assert.Equal(t, 10*time.Second, activities.NextPoll(poll(time.Minute, 10*time.Second), 1))
	// No interval: one second.
	assert.Equal(t, time.Second, activities.NextPoll(poll(0, time.Minute), 1))
	assert.Equal(t, 4*time.Second, activities.NextPoll(poll(0, time.Minute), 3))
	// No cap: the interval, never growing without bound.
	assert.Equal(t, 2*time.Second, activities.NextPoll(poll(2*time.Second, 0), 50))
}

func TestIdempotencyKey(t *testing.T) {
	base := activities.StepRequest{Pipeline: "nightly", RunKey: "wf-1/run-1", StepID: "load", Kind: "dli.sql", Attempt: 1}

	// The key of a given run, step and attempt never changes, across
	// processes and versions: a retried submit after a worker upgrade must
	// still find its job.
	assert.Equal(t, "pipectl-da4865bec395d7630f636a78", base.IdempotencyKey())
	assert.Regexp(t, regexp.MustCompile(`^pipectl-[0-9a-f]{24}$`), base.IdempotencyKey())
	assert.Equal(t, base.IdempotencyKey(), base.IdempotencyKey())

	// Only run, step and attempt count.
	same := base
	same.Pipeline, same.Kind, same.With = "other", "cdm.job", json.RawMessage(`{"sql":"x"}`)
	same.Job = &activities.Job{ID: "j"}
	assert.Equal(t, base.IdempotencyKey(), same.IdempotencyKey())

	next := base
	next.Attempt = 2
	assert.Equal(t, "pipectl-5d59f7720bdcfbfddfa2a852", next.IdempotencyKey())

	keys := map[string]string{"base": base.IdempotencyKey(), "attempt": next.IdempotencyKey()}
	r := base
	r.RunKey = "wf-1/run-2"
	keys["run"] = r.IdempotencyKey()
	s := base
	s.StepID = "load2"
	keys["step"] = s.IdempotencyKey()
	// Fields do not run into each other.
	b := base
	b.RunKey, b.StepID = "wf-1/run-1l", "oad"
	keys["boundary"] = b.IdempotencyKey()
	seen := map[string]string{}
	for name, k := range keys {
		if other, dup := seen[k]; dup {
			t.Errorf("%s and %s have the same key %s", name, other, k)
		}
		seen[k] = name
	}
	assert.Len(t, seen, 5)
}

func TestIdempotencyKeyForEachItem(t *testing.T) {
	base := activities.StepRequest{RunKey: "wf-1/run-1", StepID: "load", Attempt: 1}
	// A step without for_each keeps the key it always had.
	zero := base
	zero.Item = 0
	assert.Equal(t, "pipectl-da4865bec395d7630f636a78", zero.IdempotencyKey())

	one, two := base, base
	one.Item, two.Item = 1, 2
	assert.Regexp(t, regexp.MustCompile(`^pipectl-[0-9a-f]{24}$`), one.IdempotencyKey())
	assert.NotEqual(t, base.IdempotencyKey(), one.IdempotencyKey())
	assert.NotEqual(t, one.IdempotencyKey(), two.IdempotencyKey())
	assert.Equal(t, one.IdempotencyKey(), one.IdempotencyKey())
	// Item 1 of attempt 2 is not item 2 of attempt 1, and so on.
	a2 := one
	a2.Attempt = 2
	assert.NotEqual(t, a2.IdempotencyKey(), two.IdempotencyKey())
	assert.NotEqual(t, a2.IdempotencyKey(), one.IdempotencyKey())
}

func TestStepRequestJSON(t *testing.T) {
	// Requests cross Temporal as JSON; nothing may be lost on the way.
	req := activities.StepRequest{
		Pipeline: "nightly", RunKey: "wf/run", StepID: "load", Kind: "dli.sql", Attempt: 3, Item: 2,
		Cloud: spec.Cloud{Region: "ap-southeast-1", ProjectID: "p1"},
		With:  json.RawMessage(`{"sql":"select 1"}`),
		Poll:  poll(2*time.Second, 30*time.Second),
		Job:   &activities.Job{ID: "j-1", ProjectID: "p1", Reattached: true},
	}
	b, err := json.Marshal(req)
	require.NoError(t, err)
	var back activities.StepRequest
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, req, back)
	assert.Equal(t, req.IdempotencyKey(), back.IdempotencyKey())

	req.Job = nil
	b, err = json.Marshal(req)
	require.NoError(t, err)
	assert.NotContains(t, string(b), `"job"`)
}
