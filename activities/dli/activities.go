package dli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
)

// Kind names of the step kinds this package runs.
const KindSQL = "dli.sql"

// TagKey is the tag that carries a job's idempotency key.
const TagKey = "pipectl-key"

// SQLInput is the `with` of a dli.sql step.
type SQLInput struct {
	SQL      string            `json:"sql"`
	Queue    string            `json:"queue,omitempty"`
	Database string            `json:"database,omitempty"`
	Conf     map[string]string `json:"conf,omitempty"`
}

// Activities are the dli.* step activities.
type Activities struct {
	Client *Client
	// ProjectID is used when the plan names none.
	ProjectID string
	// Secrets resolves ${secret.NAME} in step inputs.
	Secrets activities.Secrets
}

func (a *Activities) project(req activities.StepRequest) (string, error) {
	if req.Job != nil && req.Job.ProjectID != "" {
		return req.Job.ProjectID, nil
	}
	if req.Cloud.ProjectID != "" {
		return req.Cloud.ProjectID, nil
	}
	if a.ProjectID != "" {
		return a.ProjectID, nil
	}
	return "", temporal.NewNonRetryableApplicationError("no project id: set cloud.project_id in the spec or the worker's project id", activities.ErrRequestRejected, nil)
}

// SubmitSQL submits the step's SQL job, or re-attaches to the job an earlier
// attempt of this same submit already created.
func (a *Activities) SubmitSQL(ctx context.Context, req activities.StepRequest) (*activities.Job, error) {
	with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
	if err != nil {
		return nil, err
	}
	var in SQLInput
	if err := json.Unmarshal(with, &in); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("dli.sql input: "+err.Error(), activities.ErrRequestRejected, err)
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	key := req.IdempotencyKey()
	if job, err := a.find(ctx, projectID, key); err != nil || job != nil {
		return job, activities.Classify(err)
	}
	body := SubmitSQLRequest{
		SQL:       in.SQL,
		CurrentDB: in.Database,
		QueueName: in.Queue,
		Tags:      []Tag{{Key: TagKey, Value: key}},
	}
	keys := make([]string, 0, len(in.Conf))
	for k := range in.Conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		body.Conf = append(body.Conf, k+"="+in.Conf[k])
	}
	resp, err := a.Client.SubmitSQL(ctx, projectID, body)
	if err != nil {
		return nil, activities.Classify(err)
	}
	activity.GetLogger(ctx).Info("submitted DLI SQL job", "step", req.StepID, "job_id", resp.JobID, "tags", tagsJSON(body.Tags))
	return &activities.Job{ID: resp.JobID, ProjectID: projectID}, nil
}

func (a *Activities) find(ctx context.Context, projectID, key string) (*activities.Job, error) {
	jobs, err := a.Client.FindSQLJobsByTag(ctx, projectID, TagKey, key)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		for _, t := range j.Tags {
			if t.Key == TagKey && t.Value == key {
				activity.GetLogger(ctx).Info("re-attached to DLI SQL job", "job_id", j.JobID)
				return &activities.Job{ID: j.JobID, ProjectID: projectID, Reattached: true}, nil
			}
		}
	}
	return nil, nil
}

// WaitSQL checks the job once. While it runs, it fails with a benign,
// retryable error whose NextRetryDelay is the next poll interval, so the
// server polls without a worker slot held and without history events.
func (a *Activities) WaitSQL(ctx context.Context, req activities.StepRequest) (*activities.Result, error) {
	if req.Job == nil || req.Job.ID == "" {
		return nil, temporal.NewNonRetryableApplicationError("wait without a job", activities.ErrRequestRejected, nil)
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	st, err := a.Client.SQLJobStatus(ctx, projectID, req.Job.ID)
	if err != nil {
		return nil, activities.Classify(err)
	}
	switch st.Status {
	case StateFinished:
		return &activities.Result{State: st.Status, Message: st.Message, Outputs: map[string]string{
			"job_id":          st.JobID,
			"job_type":        st.JobType,
			"input_row_count": strconv.FormatInt(st.InputRowCount, 10),
			"bad_row_count":   strconv.FormatInt(st.BadRowCount, 10),
			"result_count":    strconv.FormatInt(st.ResultCount, 10),
			"duration_ms":     strconv.FormatInt(st.Duration, 10),
		}}, nil
	case StateFailed, StateCancelled:
		return nil, activities.JobFailed(st.JobID, st.Status, st.Message)
	case StateLaunching, StateRunning, StateScaling:
		attempt := activity.GetInfo(ctx).Attempt
		return nil, activities.StillRunning(activities.Progress{JobID: st.JobID, State: st.Status, Checked: time.Now()}, activities.NextPoll(req.Poll, attempt))
	}
	// An unknown state is polled again rather than failed: a service
	// adding a state should not break running pipelines.
	activity.GetLogger(ctx).Warn("unknown DLI job state", "job_id", st.JobID, "state", st.Status)
	return nil, activities.StillRunning(activities.Progress{JobID: st.JobID, State: st.Status, Checked: time.Now()}, time.Duration(req.Poll.MaxInterval))
}

// CancelSQL stops the job. A job that already ended is not an error: cancel
// runs whenever a started step is abandoned, whatever its job did meanwhile.
func (a *Activities) CancelSQL(ctx context.Context, req activities.StepRequest) error {
	projectID, err := a.project(req)
	if err != nil {
		return err
	}
	job := req.Job
	if job == nil || job.ID == "" {
		if job, err = a.find(ctx, projectID, req.IdempotencyKey()); err != nil {
			return activities.Classify(err)
		}
		if job == nil {
			return nil // submit never created one
		}
	}
	st, err := a.Client.SQLJobStatus(ctx, projectID, job.ID)
	if err != nil {
		return activities.Classify(err)
	}
	switch st.Status {
	case StateFinished, StateFailed, StateCancelled:
		return nil
	}
	if err := a.Client.CancelSQLJob(ctx, projectID, job.ID); err != nil {
		var apiErr *cloudapi.Error
		if errors.As(err, &apiErr) && !apiErr.Retryable() {
			// It may have ended between the two calls; look once more.
			if st, serr := a.Client.SQLJobStatus(ctx, projectID, job.ID); serr == nil && st.Status != StateRunning && st.Status != StateLaunching && st.Status != StateScaling {
				return nil
			}
		}
		return activities.Classify(fmt.Errorf("cancel job %s: %w", job.ID, err))
	}
	activity.GetLogger(ctx).Info("cancelled DLI SQL job", "step", req.StepID, "job_id", job.ID)
	return nil
}
