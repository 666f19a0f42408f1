package dlf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
)

// KindJob is the step kind this package runs.
const KindJob = "dlf.job"

// ParamKey is the job parameter every run gets, carrying the step's
// idempotency key, so a person can tell in DataArts which pipeline step
// ran an instance.
const ParamKey = "pipectl_key"

// JobInput is the `with` of a dlf.job step.
type JobInput struct {
	JobName   string            `json:"job_name"`
	Workspace string            `json:"workspace,omitempty"`
	Params    map[string]string `json:"params,omitempty"`
}

// Activities are the dlf.job step activities: run an existing DataArts
// job now (run-immediate) and follow the instance it creates.
//
// Idempotency: run-immediate takes no request token, and DataArts reports
// no instance's parameters (neither the instance list nor its detail
// has them), so the ParamKey parameter each run gets cannot be searched
// for. Instead submit notes the newest instance ID of the job before
// running it, in its heartbeat, which Temporal hands to the next attempt
// of the same activity. A retried attempt that finds that note looks for
// instances of the job newer than it: the oldest of them is the run the
// earlier attempt started (its answer was lost), and it re-attaches to it;
// with none, the run never happened and it runs the job. Instance IDs are
// taken to grow with time, as they do in DataArts.
type Activities struct {
	Client *Client
	// ProjectID is used when the plan names none.
	ProjectID string
	// Secrets resolves ${secret.NAME} in step inputs.
	Secrets activities.Secrets
}

// NewActivities returns the activities for the DLF endpoint baseURL; hc
// carries authentication.
func NewActivities(baseURL string, hc *http.Client, projectID string, secrets activities.Secrets) *Activities {
	return &Activities{Client: NewClient(baseURL, hc), ProjectID: projectID, Secrets: secrets}
}

// runMark is submit's heartbeat: the job's newest instance before the run.
type runMark struct {
	Key     string `json:"key"`
	JobName string `json:"job_name"`
	After   int64  `json:"after"`
}

// scanPage and scanPages bound how many instances a re-attaching submit
// reads: enough for any run an earlier attempt made minutes ago.
const (
	scanPage  = 100
	scanPages = 10
)

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

// decodeInput reads with. Wait and cancel read it unresolved: they only
// need the job name and workspace.
func decodeInput(with json.RawMessage) (JobInput, error) {
	var in JobInput
	if err := json.Unmarshal(with, &in); err != nil {
		return in, temporal.NewNonRetryableApplicationError(KindJob+" input: "+err.Error(), activities.ErrRequestRejected, err)
	}
	if in.JobName == "" {
		return in, rejected(KindJob + " input: job_name is required")
	}
	if _, ok := in.Params[ParamKey]; ok {
		return in, rejected(KindJob + " input: params." + ParamKey + " is reserved for pipectl")
	}
	return in, nil
}

// jobRef is the Job.ID of an instance: "job_name/instance_id". Job names
// cannot contain a slash.
func jobRef(jobName string, instanceID int64) string {
	return jobName + "/" + strconv.FormatInt(instanceID, 10)
}

func parseJobRef(id string) (jobName string, instanceID int64, err error) {
	i := strings.LastIndexByte(id, '/')
	if i > 0 {
		instanceID, err = strconv.ParseInt(id[i+1:], 10, 64)
		if err == nil {
			return id[:i], instanceID, nil
		}
	}
	return "", 0, rejected(fmt.Sprintf("job handle %q is not job_name/instance_id", id))
}

// SubmitJob runs the step's DataArts job now, or re-attaches to the
// instance an earlier attempt of this submit started (see Activities).
func (a *Activities) SubmitJob(ctx context.Context, req activities.StepRequest) (*activities.Job, error) {
	with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
	if err != nil {
		return nil, err
	}
	in, err := decodeInput(with)
	if err != nil {
		return nil, err
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	log := activity.GetLogger(ctx)
	key := req.IdempotencyKey()
	var mark runMark
	if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &mark) == nil &&
		mark.Key == key && mark.JobName == in.JobName {
		ids, err := a.instancesAfter(ctx, projectID, in.Workspace, in.JobName, mark.After)
		if err != nil {
			return nil, activities.Classify(err)
		}
		if len(ids) > 0 {
			if len(ids) > 1 {
				log.Warn("several DataArts instances started since this submit began; taking the oldest",
					"job", in.JobName, "instances", fmt.Sprint(ids))
			}
			log.Info("re-attached to DataArts job instance", "step", req.StepID, "job", in.JobName, "instance_id", ids[0])
			return &activities.Job{ID: jobRef(in.JobName, ids[0]), ProjectID: projectID, Reattached: true}, nil
		}
	} else {
		after, err := a.newestInstance(ctx, projectID, in.Workspace, in.JobName)
		if err != nil {
			return nil, activities.Classify(err)
		}
		mark = runMark{Key: key, JobName: in.JobName, After: after}
		activity.RecordHeartbeat(ctx, mark)
	}

	params := make([]JobParam, 0, len(in.Params)+1)
	for name, value := range in.Params {
		params = append(params, JobParam{Name: name, Value: value})
	}
	params = append(params, JobParam{Name: ParamKey, Value: key})
	sort.Slice(params, func(i, j int) bool { return params[i].Name < params[j].Name })
	id, err := a.Client.RunImmediate(ctx, projectID, in.Workspace, in.JobName, params)
	if err != nil {
		return nil, activities.Classify(fmt.Errorf("run job %s: %w", in.JobName, err))
	}
	// Parameter values may be credentials: only their names are logged.
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.Name
	}
	log.Info("ran DataArts job", "step", req.StepID, "job", in.JobName, "workspace", in.Workspace,
		"instance_id", id, "params", strings.Join(names, ","))
	return &activities.Job{ID: jobRef(in.JobName, id), ProjectID: projectID}, nil
}

// newestInstance returns the highest instance ID of the job, 0 for none.
func (a *Activities) newestInstance(ctx context.Context, projectID, workspace, jobName string) (int64, error) {
	page, err := a.Client.ListInstances(ctx, projectID, workspace, ListInstancesQuery{JobName: jobName, Limit: scanPage})
	if err != nil {
		return 0, err
	}
	var newest int64
	for _, in := range page.Instances {
		newest = max(newest, in.InstanceID)
	}
	return newest, nil
}

// instancesAfter returns the job's instance IDs above after, oldest first.
// The list is newest first, so reading stops at a page with none.
func (a *Activities) instancesAfter(ctx context.Context, projectID, workspace, jobName string, after int64) ([]int64, error) {
	var ids []int64
	for p := range scanPages {
		page, err := a.Client.ListInstances(ctx, projectID, workspace, ListInstancesQuery{JobName: jobName, Offset: p * scanPage, Limit: scanPage})
		if err != nil {
			return nil, err
		}
		found := false
		for _, in := range page.Instances {
			if in.InstanceID > after && in.JobName == jobName {
				ids = append(ids, in.InstanceID)
				found = true
			}
		}
		if !found || len(page.Instances) < scanPage {
			break
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// WaitJob checks the instance once. While it runs, it fails with a benign,
// retryable error whose NextRetryDelay is the next poll interval.
func (a *Activities) WaitJob(ctx context.Context, req activities.StepRequest) (*activities.Result, error) {
	if req.Job == nil || req.Job.ID == "" {
		return nil, rejected("wait without a job")
	}
	jobName, id, err := parseJobRef(req.Job.ID)
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
	inst, err := a.Client.Instance(ctx, projectID, in.Workspace, jobName, id)
	if err != nil {
		return nil, activities.Classify(err)
	}
	switch inst.Status {
	case StatusSuccess:
		return &activities.Result{State: inst.Status, Outputs: map[string]string{
			"instance_id": strconv.FormatInt(id, 10),
			"status":      inst.Status,
		}}, nil
	case StatusFail, StatusRunningException:
		return nil, activities.JobFailed(req.Job.ID, inst.Status, failureMessage(inst))
	case StatusManualStop:
		return nil, activities.JobFailed(req.Job.ID, "CANCELLED", "the instance was stopped (DataArts status manual-stop)")
	case StatusWaiting, StatusRunning, StatusPause:
		// pause: a node's failPolicy suspended the job until a person
		// resumes it; the step keeps waiting, up to its timeout.
		return nil, activities.StillRunning(progress(req.Job.ID, inst), activities.NextPoll(req.Poll, activity.GetInfo(ctx).Attempt))
	}
	// An unknown status is polled again rather than failed: a service
	// adding a status should not break running pipelines.
	activity.GetLogger(ctx).Warn("unknown DataArts instance status", "job", jobName, "instance_id", id, "status", inst.Status)
	return nil, activities.StillRunning(progress(req.Job.ID, inst), time.Duration(req.Poll.MaxInterval))
}

// progress reports the share of nodes that have ended.
func progress(jobID string, inst *Instance) activities.Progress {
	p := activities.Progress{JobID: jobID, State: inst.Status, Checked: time.Now()}
	if len(inst.Nodes) > 0 {
		done := 0
		for _, n := range inst.Nodes {
			switch n.Status {
			case StatusSuccess, StatusFail, StatusSkip, StatusManualStop:
				done++
			}
		}
		p.Percent = float64(100*done) / float64(len(inst.Nodes))
	}
	return p
}

// failureMessage names the failed node and its reason, or its log when
// the service gives none.
func failureMessage(inst *Instance) string {
	for _, n := range inst.Nodes {
		if n.Status != StatusFail {
			continue
		}
		msg := fmt.Sprintf("node %s (%s) failed", n.NodeName, n.Type)
		switch {
		case n.FailReason != "":
			msg += ": " + n.FailReason
		case n.LogPath != "":
			msg += "; log: " + n.LogPath
		}
		return msg
	}
	return ""
}

// CancelJob stops the instance. An instance that already ended, or does
// not exist, is not an error: cancel runs whenever a started step is
// abandoned, whatever its instance did meanwhile.
//
// Without a handle (submit was interrupted) the instance cannot be found
// by the step's key: DataArts does not report an instance's parameters,
// and submit's heartbeat note is not visible to another activity. Cancel
// then stops the job's only running instance; with several it cannot tell
// which one this step started, stops none and says so.
func (a *Activities) CancelJob(ctx context.Context, req activities.StepRequest) error {
	projectID, err := a.project(req)
	if err != nil {
		return err
	}
	in, err := decodeInput(req.With)
	if err != nil {
		return err
	}
	log := activity.GetLogger(ctx)
	var jobName string
	var id int64
	if req.Job != nil && req.Job.ID != "" {
		if jobName, id, err = parseJobRef(req.Job.ID); err != nil {
			return err
		}
	} else {
		jobName = in.JobName
		page, err := a.Client.ListInstances(ctx, projectID, in.Workspace, ListInstancesQuery{JobName: jobName, Limit: scanPage})
		if err != nil {
			return activities.Classify(err)
		}
		var active []int64
		for _, inst := range page.Instances {
			if Active(inst.Status) && inst.JobName == jobName {
				active = append(active, inst.InstanceID)
			}
		}
		switch len(active) {
		case 0:
			return nil
		case 1:
			id = active[0]
			log.Warn("stopping the only running instance of the DataArts job: submit gave no handle",
				"step", req.StepID, "job", jobName, "instance_id", id)
		default:
			return rejected(fmt.Sprintf("DataArts job %s has %d running instances (%s) and the step's submit gave no handle: "+
				"stop this step's instance in DataArts", jobName, len(active), joinIDs(active)))
		}
	}
	inst, err := a.Client.Instance(ctx, projectID, in.Workspace, jobName, id)
	if err != nil {
		if gone(err) {
			return nil
		}
		return activities.Classify(err)
	}
	if !Active(inst.Status) {
		return nil
	}
	if err := a.Client.StopInstance(ctx, projectID, in.Workspace, jobName, id); err != nil {
		var apiErr *cloudapi.Error
		if errors.As(err, &apiErr) && !apiErr.Retryable() {
			// It may have ended between the two calls; look once more.
			if inst, serr := a.Client.Instance(ctx, projectID, in.Workspace, jobName, id); serr == nil && !Active(inst.Status) {
				return nil
			}
		}
		return activities.Classify(fmt.Errorf("stop instance %s: %w", jobRef(jobName, id), err))
	}
	log.Info("stopped DataArts job instance", "step", req.StepID, "job", jobName, "instance_id", id, "was", inst.Status)
	return nil
}

// gone reports DLF's answers for a job or instance that does not exist.
func gone(err error) bool {
	var apiErr *cloudapi.Error
	return errors.As(err, &apiErr) && (apiErr.Code == "DLF.0100" || apiErr.Code == "DLF.0137")
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}
