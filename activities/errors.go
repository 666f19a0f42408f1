package activities

import (
	"context"
	"errors"
	"net"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities/cloudapi"
)

// Error types of the application errors step activities return. They are
// matched by the workflow and by retry policies, so they are constants and
// never change.
const (
	// ErrStillRunning: the job has not finished; the wait is retried after
	// the error's NextRetryDelay. Its category is benign: it is not a failure.
	ErrStillRunning = "StillRunning"
	// ErrJobFailed: the job ended in a failed state.
	ErrJobFailed = "JobFailed"
	// ErrJobCancelled: the job was cancelled outside the pipeline.
	ErrJobCancelled = "JobCancelled"
	// ErrRequestRejected: the service refused the request as invalid (4xx);
	// retrying the same request cannot succeed.
	ErrRequestRejected = "RequestRejected"
	// ErrServiceUnavailable: a transient failure (429, 5xx, timeout,
	// connection error) that is retried.
	ErrServiceUnavailable = "ServiceUnavailable"
)

// NonRetryable lists the error types no retry policy should retry.
func NonRetryable() []string {
	return []string{ErrJobFailed, ErrJobCancelled, ErrRequestRejected}
}

// StillRunning returns the error a wait returns while its job runs.
func StillRunning(p Progress, next time.Duration) error {
	return temporal.NewApplicationErrorWithOptions("job "+p.JobID+" is "+p.State, ErrStillRunning, temporal.ApplicationErrorOptions{
		NextRetryDelay: next,
		Category:       temporal.ApplicationErrorCategoryBenign,
		Details:        []any{p},
	})
}

// JobFailed returns the error for a job that ended badly; message is the
// service's own explanation.
func JobFailed(jobID, state, message string) error {
	typ := ErrJobFailed
	if state == "CANCELLED" {
		typ = ErrJobCancelled
	}
	if message == "" {
		message = "no message from the service"
	}
	return temporal.NewNonRetryableApplicationError("job "+jobID+" ended "+state+": "+message, typ, nil, Result{JobID: jobID, State: state, Message: message})
}

// Classify turns an error from a service client into the error an activity
// returns. It is the only place errors are classified: 4xx rejections are
// final, everything transient is retried by Temporal (honouring the
// service's Retry-After), and the HTTP clients never retry on their own.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		// Temporal reads the error's concrete type: a wrapped
		// ApplicationError would lose its type and retry setting.
		return app
	}
	var apiErr *cloudapi.Error
	if errors.As(err, &apiErr) {
		if apiErr.Retryable() {
			return temporal.NewApplicationErrorWithOptions(apiErr.Error(), ErrServiceUnavailable, temporal.ApplicationErrorOptions{
				NextRetryDelay: apiErr.RetryAfter,
				Details:        []any{apiErr.Code},
			})
		}
		return temporal.NewNonRetryableApplicationError(apiErr.Error(), ErrRequestRejected, nil, apiErr.Code)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return temporal.NewApplicationError(err.Error(), ErrServiceUnavailable)
	}
	// Unknown errors stay retryable: a bug or an odd response should not
	// fail a pipeline that a retry could still complete.
	return temporal.NewApplicationError(err.Error(), ErrServiceUnavailable)
}
