package dis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
)

// dumpTaskInput is the `with` of a dis.dump_task step.
type dumpTaskInput struct {
	Stream      string `json:"stream"`
	Name        string `json:"name"`
	Destination string `json:"destination"`
	// Descriptor is the destination descriptor as in the DIS API, with or
	// without task_name (the step's name is used).
	Descriptor map[string]json.RawMessage `json:"descriptor"`
}

func decodeDumpTask(with []byte) (dumpTaskInput, error) {
	var in dumpTaskInput
	if err := decodeInput(KindDumpTask, with, &in); err != nil {
		return in, err
	}
	in.Destination = canonicalDestination(strings.ToUpper(in.Destination))
	bad := func(format string, args ...any) (dumpTaskInput, error) {
		return in, rejected(KindDumpTask + " input: " + fmt.Sprintf(format, args...))
	}
	switch {
	case in.Stream == "":
		return bad("stream is required")
	case in.Name == "":
		return bad("name is required")
	case !slices.Contains(Destinations(), in.Destination):
		return bad("destination must be one of %s, got %q", strings.Join(Destinations(), ", "), in.Destination)
	case in.Descriptor == nil:
		return bad("descriptor is required")
	}
	if raw, ok := in.Descriptor["task_name"]; ok {
		var name string
		if json.Unmarshal(raw, &name) != nil || name != in.Name {
			return bad("descriptor.task_name %s differs from the step's name %q; leave it out", raw, in.Name)
		}
	}
	return in, nil
}

// identityFields are the descriptor fields that say where a destination's
// records go, per destination type. An existing task is only adopted if
// those of them the step sets are the same; the rest (intervals, retry,
// formats, credentials) may differ.
var identityFields = map[string][]string{
	DestOBS:        {"obs_bucket_path", "file_prefix"},
	DestDWS:        {"dws_cluster_id", "dws_database_name", "dws_schema", "dws_table_name"},
	DestMRS:        {"mrs_cluster_id", "mrs_hdfs_path"},
	DestDLI:        {"dli_database_name", "dli_table_name"},
	DestCloudTable: {"cloudtable_cluster_id", "cloudtable_table_name"},
}

// destinationMismatch describes how an existing task's destination differs
// from the step's, "" when it does not. raw is the step's descriptor
// before secrets were resolved: a field that holds a secret is named
// without its values, so no credential reaches the error.
func destinationMismatch(in dumpTaskInput, raw map[string]json.RawMessage, task *DumpTask) string {
	if got := canonicalDestination(task.DestinationType); got != in.Destination {
		return fmt.Sprintf("its destination is %s, the step asks for %s", got, in.Destination)
	}
	var diff []string
	for _, k := range identityFields[in.Destination] {
		want, ok := in.Descriptor[k]
		have, echoed := task.Descriptor[k]
		if !ok || !echoed || sameJSON(want, have) {
			continue
		}
		if bytes.Contains(raw[k], []byte("${secret.")) {
			diff = append(diff, k+" differs")
			continue
		}
		diff = append(diff, fmt.Sprintf("%s is %s, the step asks for %s", k, have, want))
	}
	return strings.Join(diff, "; ")
}

// sameJSON compares two JSON values as values: 30 equals 30.0, key order
// does not matter.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// dumpJob is what a dis.dump_task Job.ID encodes: the stream, the task and
// whether this step created or started the task (so that cancel pauses
// only such a task), as "stream/task/started" or "stream/task". Stream
// and task names cannot contain a slash.
type dumpJob struct {
	Stream, Task string
	Started      bool
}

func (j dumpJob) id() string {
	if j.Started {
		return j.Stream + "/" + j.Task + "/started"
	}
	return j.Stream + "/" + j.Task
}

// name is the task as messages show it.
func (j dumpJob) name() string { return j.Stream + "/" + j.Task }

func parseDumpJob(id string) (dumpJob, error) {
	parts := strings.Split(id, "/")
	switch {
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return dumpJob{Stream: parts[0], Task: parts[1]}, nil
	case len(parts) == 3 && parts[0] != "" && parts[1] != "" && parts[2] == "started":
		return dumpJob{Stream: parts[0], Task: parts[1], Started: true}, nil
	}
	return dumpJob{}, rejected(fmt.Sprintf("malformed dis.dump_task job id %q", id))
}

// intent is the heartbeat a submit records before it creates or starts a
// task. Temporal keeps an attempt's last heartbeat details for the next
// attempt of the same activity, so a retried submit that finds the task
// running can tell that its own earlier attempt started it (the answer
// was lost) from a task that was running before the step.
type intent struct {
	Key    string `json:"key"`
	Stream string `json:"stream"`
	Task   string `json:"task"`
}

// earlierIntent reports whether an earlier attempt of this submit was
// about to create or start this task.
func earlierIntent(ctx context.Context, key string, in dumpTaskInput) bool {
	if !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	var it intent
	if err := activity.GetHeartbeatDetails(ctx, &it); err != nil {
		return false
	}
	return it == intent{Key: key, Stream: in.Stream, Task: in.Name}
}

// SubmitDumpTask ensures the step's dump task exists and runs. A missing
// task is created with the step's descriptor; an existing one is adopted
// if its destination is the step's (type and where the records go),
// otherwise the step fails without retrying: pipectl never changes or
// replaces a dump task. A PAUSED task is started, and so is one in ERROR
// or ABNORMAL, which is how a re-run of the step (a new attempt) retries a
// failed task.
//
// The task name, unique in its stream, is the idempotency handle: a
// retried submit finds the task by name and never creates a second one
// (DIS.4355 from a racing create is handled like a found task). Job.ID
// records whether this step created or started the task — directly, or
// in an earlier attempt whose answer was lost (see intent) — so that
// cancel pauses the task only then, never a task that was already running
// for someone else. Job.Reattached is true when the task existed before
// this call.
func (a *Activities) SubmitDumpTask(ctx context.Context, req activities.StepRequest) (*activities.Job, error) {
	if err := noSecrets(KindDumpTask, req.With, "stream", "name"); err != nil {
		return nil, err
	}
	with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
	if err != nil {
		return nil, err
	}
	in, err := decodeDumpTask(with)
	if err != nil {
		return nil, err
	}
	// The input before secrets were resolved, to keep them out of errors.
	// Resolving only replaced strings, so it decodes as the resolved one did.
	var raw dumpTaskInput
	_ = json.Unmarshal(req.With, &raw)

	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	log := activity.GetLogger(ctx)
	key := req.IdempotencyKey()
	job := dumpJob{Stream: in.Stream, Task: in.Name, Started: earlierIntent(ctx, key, in)}
	recorded := false
	recordIntent := func() {
		if !recorded {
			activity.RecordHeartbeat(ctx, intent{Key: key, Stream: in.Stream, Task: in.Name})
			recorded = true
		}
	}

	created := false
	task, err := a.Client.DescribeDumpTask(ctx, projectID, in.Stream, in.Name)
	if ErrorCode(err) == CodeTaskNotFound {
		descriptor := maps.Clone(in.Descriptor)
		descriptor["task_name"], _ = json.Marshal(in.Name)
		body, _ := json.Marshal(descriptor) // raw JSON values: cannot fail
		recordIntent()
		err = a.Client.CreateDumpTask(ctx, projectID, in.Stream, CreateDumpTaskRequest{DestinationType: in.Destination, Descriptor: body})
		switch {
		case err == nil:
			created, job.Started = true, true
			log.Info("created DIS dump task", "step", req.StepID, "stream", in.Stream, "task", in.Name, "destination", in.Destination)
		case ErrorCode(err) != CodeTaskExists:
			return nil, activities.Classify(err)
		}
		// The new task's id and state are only in its details.
		task, err = a.Client.DescribeDumpTask(ctx, projectID, in.Stream, in.Name)
		if ErrorCode(err) == CodeTaskNotFound {
			return nil, activities.Classify(fmt.Errorf("dump task %s was created but is not listed yet: %w", job.name(), err))
		}
	}
	if err != nil {
		return nil, activities.Classify(err)
	}
	if !created {
		if diff := destinationMismatch(in, raw.Descriptor, task); diff != "" {
			return nil, rejected(fmt.Sprintf("DIS dump task %s exists with another destination: %s; pipectl never changes or replaces a dump task: delete it or give the step another name",
				job.name(), diff))
		}
		log.Info("re-attached to DIS dump task", "step", req.StepID, "stream", in.Stream, "task", in.Name, "state", task.State, "started_by_step", job.Started)
	}

	switch task.State {
	case TaskError, TaskAbnormal:
		if job.Started {
			// This submit's earlier attempt started it and it failed since:
			// that is this attempt's failure, for wait to report, not to hide.
			break
		}
		fallthrough
	case TaskPaused:
		recordIntent()
		if err := a.Client.StartDumpTasks(ctx, projectID, in.Stream, task.TaskID); err != nil {
			return nil, activities.Classify(err)
		}
		job.Started = true
		log.Info("started DIS dump task", "step", req.StepID, "stream", in.Stream, "task", in.Name, "was", task.State)
	case TaskStarting, TaskRunning:
	case TaskDelete:
		// Being deleted: the name is free again soon, so try again.
		return nil, activities.Classify(fmt.Errorf("dump task %s is being deleted", job.name()))
	default:
		log.Warn("unknown DIS dump task state", "stream", in.Stream, "task", in.Name, "state", task.State)
	}
	return &activities.Job{ID: job.id(), ProjectID: projectID, Reattached: !created}, nil
}

// stoppedOutside is the error of a task that stopped without the pipeline
// asking: like a job cancelled elsewhere, a re-run should not fight it.
func stoppedOutside(job dumpJob, state, message string) error {
	return temporal.NewNonRetryableApplicationError("job "+job.name()+" ended "+state+": "+message,
		activities.ErrJobCancelled, nil, activities.Result{State: state, Message: message})
}

// WaitDumpTask checks the task once: STARTING is "still running", RUNNING
// is done (a dump task runs until it is paused), ERROR and ABNORMAL failed
// with the service's reason; a task paused or deleted meanwhile was
// stopped outside the pipeline.
func (a *Activities) WaitDumpTask(ctx context.Context, req activities.StepRequest) (*activities.Result, error) {
	if req.Job == nil || req.Job.ID == "" {
		return nil, rejected("wait without a job")
	}
	job, err := parseDumpJob(req.Job.ID)
	if err != nil {
		return nil, err
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	task, err := a.Client.DescribeDumpTask(ctx, projectID, job.Stream, job.Task)
	switch code := ErrorCode(err); {
	case code == CodeTaskNotFound || code == CodeStreamNotFound:
		return nil, stoppedOutside(job, TaskDelete, "it was deleted outside the pipeline: "+err.Error())
	case err != nil:
		return nil, activities.Classify(err)
	}
	switch task.State {
	case TaskRunning:
		return &activities.Result{State: task.State, Outputs: map[string]string{
			"task_id": task.TaskID,
			"state":   task.State,
		}}, nil
	case TaskStarting:
		attempt := activity.GetInfo(ctx).Attempt
		return nil, activities.StillRunning(activities.Progress{JobID: job.name(), State: task.State, Checked: time.Now()}, activities.NextPoll(req.Poll, attempt))
	case TaskError, TaskAbnormal:
		msg := task.ErrorMessage
		if msg == "" {
			msg = "DIS gives no reason; see the dump task in the DIS console"
		}
		return nil, activities.JobFailed(job.name(), task.State, msg)
	case TaskPaused:
		return nil, stoppedOutside(job, task.State, "it was paused outside the pipeline")
	case TaskDelete:
		return nil, stoppedOutside(job, task.State, "it is being deleted outside the pipeline")
	}
	activity.GetLogger(ctx).Warn("unknown DIS dump task state", "stream", job.Stream, "task", job.Task, "state", task.State)
	return nil, activities.StillRunning(activities.Progress{JobID: job.name(), State: task.State, Checked: time.Now()}, time.Duration(req.Poll.MaxInterval))
}

// CancelDumpTask pauses the task if this step started it (created it, or
// started it from PAUSED or ERROR) and it still runs. A task that was
// already running when the step adopted it is left alone: other pipelines
// or people rely on it. A task that is gone or not running is success.
//
// Without a Job (submit's answer never reached the workflow) the task is
// found by its name, but whether this step started it cannot be proven;
// it is paused only if it is STARTING, the state a start the interrupted
// submit made leaves it in, and a RUNNING task is left alone: wrongly
// pausing a live dump task loses data, wrongly leaving one running costs
// only what the spec asked for anyway.
func (a *Activities) CancelDumpTask(ctx context.Context, req activities.StepRequest) error {
	projectID, err := a.project(req)
	if err != nil {
		return err
	}
	log := activity.GetLogger(ctx)
	var job dumpJob
	known := req.Job != nil && req.Job.ID != ""
	if known {
		if job, err = parseDumpJob(req.Job.ID); err != nil {
			return err
		}
		if !job.Started {
			log.Info("left DIS dump task running: this step did not start it", "stream", job.Stream, "task", job.Task)
			return nil
		}
	} else {
		var in dumpTaskInput
		if err := decodeInput(KindDumpTask, req.With, &in); err != nil {
			return err
		}
		job = dumpJob{Stream: in.Stream, Task: in.Name}
	}
	task, err := a.Client.DescribeDumpTask(ctx, projectID, job.Stream, job.Task)
	switch code := ErrorCode(err); {
	case code == CodeTaskNotFound || code == CodeStreamNotFound:
		return nil // never created, or deleted since
	case err != nil:
		return activities.Classify(err)
	}
	switch {
	case task.State == TaskStarting:
	case task.State == TaskRunning && known:
	case task.State == TaskRunning:
		log.Warn("left DIS dump task running: cannot tell whether this step started it", "stream", job.Stream, "task", job.Task)
		return nil
	default:
		return nil // PAUSED, ERROR, ABNORMAL, DELETE: not running
	}
	if err := a.Client.PauseDumpTasks(ctx, projectID, job.Stream, task.TaskID); err != nil {
		var apiErr *cloudapi.Error
		if errors.As(err, &apiErr) && !apiErr.Retryable() {
			// It may have stopped or gone between the two calls; look once more.
			again, derr := a.Client.DescribeDumpTask(ctx, projectID, job.Stream, job.Task)
			if c := ErrorCode(derr); c == CodeTaskNotFound || c == CodeStreamNotFound ||
				derr == nil && again.State != TaskRunning && again.State != TaskStarting {
				return nil
			}
		}
		return activities.Classify(fmt.Errorf("pause dump task %s: %w", job.name(), err))
	}
	log.Info("paused DIS dump task", "step", req.StepID, "stream", job.Stream, "task", job.Task, "task_id", task.TaskID)
	return nil
}
