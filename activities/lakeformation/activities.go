package lakeformation

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
)

// KindJob is the step kind this package runs.
const KindJob = "lakeformation.job"

// JobInput is the `with` of a lakeformation.job step.
type JobInput struct {
	InstanceID string `json:"instance_id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	// Parameter is the API's parameter object, passed on as it is except
	// that the step's instance_id fills the typed parameter's instance_id
	// when that is missing.
	Parameter json.RawMessage `json:"parameter"`
	// PartialSuccess is "fail" (default) or "succeed".
	PartialSuccess string `json:"partial_success,omitempty"`
}

// Activities are the lakeformation.job step activities.
//
// Idempotency: a LakeFormation job has a user-chosen name, unique in its
// instance, and no tags, so the name is the handle. It is created once and
// reused by every run of the pipeline; each start is one run of it. Submit
// creates the job when no job of that name exists, then starts it, unless
// a run is already SUBMITTED or RUNNING: then submit re-attaches to that
// run instead of starting a second one (a start refused because the job
// runs would fail anyway). A run that ended between a lost start answer and
// the retry must not be started again either: before starting, submit
// records the job's start_time in its heartbeat, which Temporal hands to
// the next attempt of the same activity; that attempt re-attaches when the
// start_time has changed since (a run was started after the first attempt
// looked). Concurrent pipelines using the same job name share it: they
// re-attach to each other's runs and a cancel stops the job's run.
type Activities struct {
	Client *Client
	// ProjectID is used when the plan names none.
	ProjectID string
	// Secrets resolves ${secret.NAME} in step inputs.
	Secrets activities.Secrets
}

// NewActivities returns the activities for the LakeFormation endpoint
// baseURL; hc carries authentication.
func NewActivities(baseURL string, hc *http.Client, projectID string, secrets activities.Secrets) *Activities {
	return &Activities{Client: NewClient(baseURL, hc), ProjectID: projectID, Secrets: secrets}
}

// startMark is submit's heartbeat: the job about to be started and its
// start_time before the start.
type startMark struct {
	JobID     string `json:"job_id"`
	StartTime string `json:"start_time"`
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
	return "", rejected("no project id: set cloud.project_id in the spec or the worker's project id")
}

func rejected(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, activities.ErrRequestRejected, nil)
}

// decodeInput reads with. Its parameter may still hold secret
// placeholders: wait and cancel never resolve them, they only need the
// job's address.
func decodeInput(with json.RawMessage) (JobInput, error) {
	var in JobInput
	if err := json.Unmarshal(with, &in); err != nil {
		return in, temporal.NewNonRetryableApplicationError(KindJob+" input: "+err.Error(), activities.ErrRequestRejected, err)
	}
	switch {
	case in.InstanceID == "":
		return in, rejected(KindJob + " input: instance_id is required")
	case in.Name == "":
		return in, rejected(KindJob + " input: name is required")
	case !slices.Contains(JobTypes, in.Type):
		return in, rejected(fmt.Sprintf("%s input: type %q is not one of %s", KindJob, in.Type, strings.Join(JobTypes, ", ")))
	case in.PartialSuccess != "" && in.PartialSuccess != "fail" && in.PartialSuccess != "succeed":
		return in, rejected(fmt.Sprintf("%s input: partial_success %q is not fail or succeed", KindJob, in.PartialSuccess))
	}
	return in, nil
}

// parameterKey is the member of the parameter object a job type uses.
func parameterKey(typ string) string {
	return strings.ToLower(typ) + "_parameter"
}

// withInstanceID returns the parameter object with instanceID as the
// typed parameter's instance_id, unless it has one: the API requires it
// there as well as in the path. Anything it cannot read is left for the
// service to judge.
func withInstanceID(param json.RawMessage, typ, instanceID string) json.RawMessage {
	var top map[string]json.RawMessage
	if json.Unmarshal(param, &top) != nil {
		return param
	}
	var typed map[string]json.RawMessage
	if json.Unmarshal(top[parameterKey(typ)], &typed) != nil || typed == nil {
		return param
	}
	if _, ok := typed["instance_id"]; ok {
		return param
	}
	typed["instance_id"], _ = json.Marshal(instanceID)
	var err error
	if top[parameterKey(typ)], err = json.Marshal(typed); err != nil {
		return param
	}
	out, err := json.Marshal(top)
	if err != nil {
		return param
	}
	return out
}

// jobRef is the Job.ID of a LakeFormation job: "instance_id/job_id".
func jobRef(instanceID, jobID string) string { return instanceID + "/" + jobID }

func parseJobRef(id string) (instanceID, jobID string, err error) {
	instanceID, jobID, ok := strings.Cut(id, "/")
	if !ok || instanceID == "" || jobID == "" {
		return "", "", rejected(fmt.Sprintf("job handle %q is not instance_id/job_id", id))
	}
	return instanceID, jobID, nil
}

// SubmitJob creates the step's job if needed and starts it, or re-attaches
// to the run an earlier attempt of this submit started (see Activities).
func (a *Activities) SubmitJob(ctx context.Context, req activities.StepRequest) (*activities.Job, error) {
	with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
	if err != nil {
		return nil, err
	}
	in, err := decodeInput(with)
	if err != nil {
		return nil, err
	}
	if len(in.Parameter) == 0 || string(in.Parameter) == "null" {
		return nil, rejected(KindJob + " input: parameter is required")
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	log := activity.GetLogger(ctx)
	job, err := a.Client.FindJob(ctx, projectID, in.InstanceID, in.Type, in.Name)
	if err != nil {
		return nil, activities.Classify(err)
	}
	if job == nil {
		if job, err = a.create(ctx, projectID, in, req); err != nil {
			return nil, err
		}
		log.Info("created LakeFormation job", "step", req.StepID, "job_id", job.ID, "name", job.Name, "type", job.Type)
	}
	handle := &activities.Job{ID: jobRef(in.InstanceID, job.ID), ProjectID: projectID}
	status := job.Status.Status
	if InProgress(status) {
		log.Info("re-attached to running LakeFormation job", "step", req.StepID, "job_id", job.ID, "status", status)
		handle.Reattached = true
		return handle, nil
	}
	var mark startMark
	if status != StatusCreated && activity.HasHeartbeatDetails(ctx) &&
		activity.GetHeartbeatDetails(ctx, &mark) == nil && mark.JobID == job.ID && mark.StartTime != job.StartTime {
		// An earlier attempt started the job and the answer was lost; that
		// run has ended already.
		log.Info("re-attached to ended LakeFormation job run", "step", req.StepID, "job_id", job.ID, "status", status)
		handle.Reattached = true
		return handle, nil
	}
	activity.RecordHeartbeat(ctx, startMark{JobID: job.ID, StartTime: job.StartTime})
	if err := a.Client.StartJob(ctx, projectID, in.InstanceID, job.ID); err != nil {
		var apiErr *cloudapi.Error
		if errors.As(err, &apiErr) && !apiErr.Retryable() {
			// Refused because another start won the race: that run is the
			// one to follow.
			if j, serr := a.Client.ShowJob(ctx, projectID, in.InstanceID, job.ID); serr == nil && InProgress(j.Status.Status) {
				log.Info("re-attached to running LakeFormation job", "step", req.StepID, "job_id", job.ID, "status", j.Status.Status)
				handle.Reattached = true
				return handle, nil
			}
		}
		return nil, activities.Classify(fmt.Errorf("start job %s: %w", job.ID, err))
	}
	log.Info("started LakeFormation job", "step", req.StepID, "job_id", job.ID, "name", job.Name)
	return handle, nil
}

// create creates the job. A name taken by a job of another type is a
// spec error no retry can cure.
func (a *Activities) create(ctx context.Context, projectID string, in JobInput, req activities.StepRequest) (*Job, error) {
	body := CreateJobRequest{
		Name:        in.Name,
		Description: fmt.Sprintf("Created by pipectl for step %s of pipeline %s.", req.StepID, req.Pipeline),
		Type:        in.Type,
		Parameter:   withInstanceID(in.Parameter, in.Type, in.InstanceID),
	}
	job, err := a.Client.CreateJob(ctx, projectID, in.InstanceID, body)
	if err == nil {
		return job, nil
	}
	var apiErr *cloudapi.Error
	if errors.As(err, &apiErr) && !apiErr.Retryable() {
		for _, typ := range JobTypes {
			if typ == in.Type {
				continue
			}
			if other, ferr := a.Client.FindJob(ctx, projectID, in.InstanceID, typ, in.Name); ferr == nil && other != nil {
				return nil, rejected(fmt.Sprintf("LakeFormation job %s (%s) is a %s job, not %s: choose another name or type",
					in.Name, other.ID, other.Type, in.Type))
			}
		}
	}
	return nil, activities.Classify(err)
}

// WaitJob checks the job once. While it runs, it fails with a benign,
// retryable error whose NextRetryDelay is the next poll interval.
func (a *Activities) WaitJob(ctx context.Context, req activities.StepRequest) (*activities.Result, error) {
	if req.Job == nil || req.Job.ID == "" {
		return nil, rejected("wait without a job")
	}
	instanceID, jobID, err := parseJobRef(req.Job.ID)
	if err != nil {
		return nil, err
	}
	in, err := decodeInput(req.With)
	if err != nil {
		return nil, err
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	job, err := a.Client.ShowJob(ctx, projectID, instanceID, jobID)
	if err != nil {
		return nil, activities.Classify(err)
	}
	status := job.Status.Status
	result := func() *activities.Result {
		return &activities.Result{State: status, Outputs: map[string]string{"job_id": job.ID, "status": status}}
	}
	switch status {
	case StatusSuccess:
		return result(), nil
	case StatusPartialSuccess:
		if in.PartialSuccess == "succeed" {
			return result(), nil
		}
		return nil, activities.JobFailed(job.ID, status, failureMessage(job, in.Type)+" (partial_success: succeed accepts this)")
	case StatusFailed:
		return nil, activities.JobFailed(job.ID, status, failureMessage(job, in.Type))
	case StatusStopped:
		return nil, activities.JobFailed(job.ID, "CANCELLED", "the job was stopped (LakeFormation status STOPPED)")
	case StatusCreated, StatusSubmitted, StatusRunning:
		// CREATED: the start has not shown yet; the service starts a run
		// asynchronously (202).
		return nil, activities.StillRunning(activities.Progress{JobID: job.ID, State: status, Checked: time.Now()},
			activities.NextPoll(req.Poll, activity.GetInfo(ctx).Attempt))
	}
	// An unknown status is polled again rather than failed: a service
	// adding a status should not break running pipelines.
	activity.GetLogger(ctx).Warn("unknown LakeFormation job status", "job_id", job.ID, "status", status)
	return nil, activities.StillRunning(activities.Progress{JobID: job.ID, State: status, Checked: time.Now()}, time.Duration(req.Poll.MaxInterval))
}

// failureMessage is the service's reason for a failed run. The API has no
// documented field for it; without one the job's log location, which every
// job type has, is where a person finds out.
func failureMessage(job *Job, typ string) string {
	if msg := cmp.Or(job.Status.Message, job.Message); msg != "" {
		return msg
	}
	var top map[string]struct {
		LogLocation string `json:"log_location"`
	}
	if json.Unmarshal(job.Parameter, &top) == nil {
		if loc := top[parameterKey(typ)].LogLocation; loc != "" {
			return "LakeFormation gives no reason; see the job log under " + loc
		}
	}
	return ""
}

// CancelJob stops the job's run. A job that is not running, or does not
// exist, is not an error: cancel runs whenever a started step is
// abandoned, whatever its job did meanwhile. Without a handle (submit was
// interrupted) the job is found by its name.
func (a *Activities) CancelJob(ctx context.Context, req activities.StepRequest) error {
	projectID, err := a.project(req)
	if err != nil {
		return err
	}
	var instanceID, jobID string
	if req.Job != nil && req.Job.ID != "" {
		if instanceID, jobID, err = parseJobRef(req.Job.ID); err != nil {
			return err
		}
	} else {
		in, err := decodeInput(req.With)
		if err != nil {
			return err
		}
		job, err := a.Client.FindJob(ctx, projectID, in.InstanceID, in.Type, in.Name)
		if err != nil {
			return activities.Classify(err)
		}
		if job == nil {
			return nil // submit never created it
		}
		instanceID, jobID = in.InstanceID, job.ID
	}
	job, err := a.Client.ShowJob(ctx, projectID, instanceID, jobID)
	if err != nil {
		var apiErr *cloudapi.Error
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
			return nil // deleted meanwhile
		}
		return activities.Classify(err)
	}
	if !InProgress(job.Status.Status) {
		return nil
	}
	if err := a.Client.StopJob(ctx, projectID, instanceID, jobID); err != nil {
		var apiErr *cloudapi.Error
		if errors.As(err, &apiErr) && !apiErr.Retryable() {
			// It may have ended between the two calls; look once more.
			if j, serr := a.Client.ShowJob(ctx, projectID, instanceID, jobID); serr == nil && !InProgress(j.Status.Status) {
				return nil
			}
		}
		return activities.Classify(fmt.Errorf("stop job %s: %w", jobID, err))
	}
	activity.GetLogger(ctx).Info("stopped LakeFormation job", "step", req.StepID, "job_id", jobID, "was", job.Status.Status)
	return nil
}
