package dli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
)

// KindSpark is the kind of a DLI Spark batch step.
const KindSpark = "dli.spark"

// SparkInput is the `with` of a dli.spark step.
type SparkInput struct {
	File           string            `json:"file"`
	ClassName      string            `json:"class_name,omitempty"`
	Args           []string          `json:"args,omitempty"`
	Queue          string            `json:"queue,omitempty"`
	Name           string            `json:"name,omitempty"`
	Conf           map[string]string `json:"conf,omitempty"`
	Jars           []string          `json:"jars,omitempty"`
	PythonFiles    []string          `json:"python_files,omitempty"`
	Files          []string          `json:"files,omitempty"`
	DriverMemory   string            `json:"driver_memory,omitempty"`
	ExecutorMemory string            `json:"executor_memory,omitempty"`
	NumExecutors   *InputInt         `json:"num_executors,omitempty"`
	ExecutorCores  *InputInt         `json:"executor_cores,omitempty"`
}

// maxBatchName is the longest batch name DLI accepts (table 10-2).
const maxBatchName = 128

// sparkBatchName is the name of the step attempt's batch. Batches have no
// tags, so the name carries the idempotency key: the user's name (or the
// step ID) with the key's hash appended, cut to fit 128 characters.
func sparkBatchName(base, key string) string {
	suffix := "-" + strings.TrimPrefix(key, "pipectl-")
	if r := []rune(base); len(r)+len(suffix) > maxBatchName {
		base = string(r[:maxBatchName-len(suffix)])
	}
	return base + suffix
}

func (in SparkInput) batchName(req activities.StepRequest) string {
	base := in.Name
	if base == "" {
		base = req.StepID
	}
	return sparkBatchName(base, req.IdempotencyKey())
}

// SubmitSpark creates the step's Spark batch, or re-attaches to the one an
// earlier try of this same submit created: it looks the batch up by its
// name, which carries the idempotency key, before creating it.
func (a *Activities) SubmitSpark(ctx context.Context, req activities.StepRequest) (*activities.Job, error) {
	with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
	if err != nil {
		return nil, err
	}
	var in SparkInput
	if err := decodeInput(KindSpark, with, &in); err != nil {
		return nil, err
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	name := in.batchName(req)
	found, err := a.findBatch(ctx, projectID, name)
	if err != nil {
		return nil, activities.Classify(err)
	}
	if found != nil {
		activity.GetLogger(ctx).Info("re-attached to DLI Spark batch", "step", req.StepID, "batch_id", found.ID, "name", name, "state", found.State)
		return &activities.Job{ID: found.ID, ProjectID: projectID, Reattached: true}, nil
	}
	batch, err := a.Client.CreateSparkBatch(ctx, projectID, SparkBatchRequest{
		File:           in.File,
		ClassName:      in.ClassName,
		Queue:          in.Queue,
		Name:           name,
		Args:           in.Args,
		Conf:           in.Conf,
		Jars:           in.Jars,
		PythonFiles:    in.PythonFiles,
		Files:          in.Files,
		DriverMemory:   in.DriverMemory,
		ExecutorMemory: in.ExecutorMemory,
		NumExecutors:   optInt(in.NumExecutors),
		ExecutorCores:  optInt(in.ExecutorCores),
	})
	if err != nil {
		return nil, activities.Classify(err)
	}
	activity.GetLogger(ctx).Info("created DLI Spark batch", "step", req.StepID, "batch_id", batch.ID, "name", name)
	return &activities.Job{ID: batch.ID, ProjectID: projectID}, nil
}

// findBatch returns the batch called name, or nil.
func (a *Activities) findBatch(ctx context.Context, projectID, name string) (*SparkBatch, error) {
	batches, err := a.Client.FindSparkBatchesByName(ctx, projectID, name)
	if err != nil || len(batches) == 0 {
		return nil, err
	}
	// Newest first; there is one unless someone copied the name. The
	// oldest is the one the first try created.
	if len(batches) > 1 {
		activity.GetLogger(ctx).Warn("several DLI Spark batches carry this step's name", "name", name, "count", len(batches))
	}
	return &batches[len(batches)-1], nil
}

// WaitSpark checks the batch's state once; a batch that ended is read in
// full for its app ID, or for the log lines that say why it died.
func (a *Activities) WaitSpark(ctx context.Context, req activities.StepRequest) (*activities.Result, error) {
	if req.Job == nil || req.Job.ID == "" {
		return nil, temporal.NewNonRetryableApplicationError("wait without a job", activities.ErrRequestRejected, nil)
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	id := req.Job.ID
	raw, err := a.Client.SparkBatchState(ctx, projectID, id)
	if err != nil {
		return nil, activities.Classify(err)
	}
	state := SparkState(raw)
	progress := activities.Progress{JobID: id, State: state, Checked: time.Now()}
	switch state {
	case SparkStarting, SparkRunning, SparkRecovering:
		return nil, activities.StillRunning(progress, activities.NextPoll(req.Poll, activity.GetInfo(ctx).Attempt))
	case SparkSuccess, SparkDead:
		batch, err := a.Client.SparkBatch(ctx, projectID, id)
		if err != nil {
			return nil, activities.Classify(err)
		}
		if state == SparkDead {
			return nil, activities.JobFailed(id, state, sparkDiagnostics(batch.Log))
		}
		return &activities.Result{State: state, Outputs: map[string]string{
			"batch_id": id,
			"state":    state,
			"app_id":   batch.AppID,
		}}, nil
	}
	activity.GetLogger(ctx).Warn("unknown DLI Spark batch state", "batch_id", id, "state", raw)
	return nil, activities.StillRunning(progress, time.Duration(req.Poll.MaxInterval))
}

// maxDiagnostics bounds the log text a failure carries.
const maxDiagnostics = 4000

// sparkDiagnostics picks the lines of a dead batch's log that say why:
// errors, exceptions and YARN diagnostics, or else the last line.
func sparkDiagnostics(log []string) string {
	var lines []string
	for _, l := range log {
		if strings.Contains(l, "ERROR") || strings.Contains(l, "Exception") || strings.Contains(l, "Diagnostics") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) == 0 && len(log) > 0 {
		lines = log[len(log)-1:]
	}
	s := strings.Join(lines, "\n")
	if len(s) > maxDiagnostics {
		s = s[len(s)-maxDiagnostics:] // the end says most
	}
	return s
}

// CancelSpark cancels the step's batch if it is starting or running; one
// that ended, or was never created, needs nothing. Without a Job the batch
// is found by its name.
func (a *Activities) CancelSpark(ctx context.Context, req activities.StepRequest) error {
	projectID, err := a.project(req)
	if err != nil {
		return err
	}
	var id string
	if req.Job != nil {
		id = req.Job.ID
	}
	if id == "" {
		with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
		if err != nil {
			return err
		}
		var in SparkInput
		if err := decodeInput(KindSpark, with, &in); err != nil {
			return err
		}
		found, err := a.findBatch(ctx, projectID, in.batchName(req))
		if err != nil {
			return activities.Classify(err)
		}
		if found == nil {
			return nil // submit never created one
		}
		id = found.ID
	}
	state, err := a.Client.SparkBatchState(ctx, projectID, id)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return activities.Classify(err)
	}
	if sparkEnded(state) {
		return nil
	}
	if err := a.Client.CancelSparkBatch(ctx, projectID, id); err != nil {
		var apiErr *cloudapi.Error
		if errors.As(err, &apiErr) && !apiErr.Retryable() {
			// DLI refuses to cancel a batch that ended meanwhile.
			if state, serr := a.Client.SparkBatchState(ctx, projectID, id); serr == nil && sparkEnded(state) {
				return nil
			}
		}
		return activities.Classify(fmt.Errorf("cancel batch %s: %w", id, err))
	}
	activity.GetLogger(ctx).Info("cancelled DLI Spark batch", "step", req.StepID, "batch_id", id)
	return nil
}

func sparkEnded(state string) bool {
	s := SparkState(state)
	return s == SparkSuccess || s == SparkDead
}
