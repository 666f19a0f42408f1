package dli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
)

// Kind names of the Flink step kinds.
const (
	KindFlinkSQL = "dli.flink_sql"
	KindFlinkJar = "dli.flink_jar"
)

// Values of a Flink step's `wait`.
const (
	WaitRunning  = "running"
	WaitFinished = "finished"
)

// FlinkControl holds the inputs of both Flink kinds that steer the step
// rather than define the job.
type FlinkControl struct {
	// Wait is when the step is done: once the job runs (default) or once
	// it finishes (a bounded job).
	Wait string `json:"wait,omitempty"`
	// SavepointOnCancel takes a savepoint when the step stops the job.
	SavepointOnCancel *InputBool `json:"savepoint_on_cancel,omitempty"`
}

// FlinkSQLInput is the `with` of a dli.flink_sql step.
type FlinkSQLInput struct {
	Name                 string            `json:"name"`
	SQL                  string            `json:"sql"`
	Queue                string            `json:"queue,omitempty"`
	CUNumber             *InputInt         `json:"cu_number,omitempty"`
	ParallelNumber       *InputInt         `json:"parallel_number,omitempty"`
	CheckpointEnabled    *InputBool        `json:"checkpoint_enabled,omitempty"`
	CheckpointInterval   *InputInt         `json:"checkpoint_interval,omitempty"`
	ObsBucket            string            `json:"obs_bucket,omitempty"`
	LogEnabled           *InputBool        `json:"log_enabled,omitempty"`
	RestartWhenException *InputBool        `json:"restart_when_exception,omitempty"`
	RuntimeConfig        map[string]string `json:"runtime_config,omitempty"`
	FlinkControl
}

// FlinkJarInput is the `with` of a dli.flink_jar step.
type FlinkJarInput struct {
	Name            string            `json:"name"`
	Entrypoint      string            `json:"entrypoint"`
	MainClass       string            `json:"main_class,omitempty"`
	EntrypointArgs  string            `json:"entrypoint_args,omitempty"`
	Queue           string            `json:"queue,omitempty"`
	CUNumber        *InputInt         `json:"cu_number,omitempty"`
	ManagerCUNumber *InputInt         `json:"manager_cu_number,omitempty"`
	ParallelNumber  *InputInt         `json:"parallel_number,omitempty"`
	DependencyJars  []string          `json:"dependency_jars,omitempty"`
	DependencyFiles []string          `json:"dependency_files,omitempty"`
	RuntimeConfig   map[string]string `json:"runtime_config,omitempty"`
	FlinkControl
}

// The job definition a step sends on create and on update. Numbers and
// switches the step leaves out are sent with their documented defaults,
// so that removing a setting from the spec also removes it from the job;
// optional text (queue, obs_bucket, runtime_config) is only sent when
// set, and an update leaves the job's current value.
func (in FlinkSQLInput) request() FlinkJobRequest {
	return FlinkJobRequest{
		QueueName:            in.Queue,
		SQLBody:              &in.SQL,
		CUNumber:             intOr(in.CUNumber, 2),
		ParallelNumber:       intOr(in.ParallelNumber, 1),
		CheckpointEnabled:    boolOr(in.CheckpointEnabled, false),
		CheckpointInterval:   intOr(in.CheckpointInterval, 10),
		ObsBucket:            optString(in.ObsBucket),
		LogEnabled:           boolOr(in.LogEnabled, false),
		RestartWhenException: boolOr(in.RestartWhenException, false),
		RuntimeConfig:        runtimeConfig(in.RuntimeConfig),
	}
}

func (in FlinkJarInput) request() FlinkJobRequest {
	return FlinkJobRequest{
		QueueName:       in.Queue,
		Entrypoint:      &in.Entrypoint,
		MainClass:       &in.MainClass,
		EntrypointArgs:  &in.EntrypointArgs,
		CUNumber:        intOr(in.CUNumber, 2),
		ManagerCUNumber: intOr(in.ManagerCUNumber, 1),
		ParallelNumber:  intOr(in.ParallelNumber, 1),
		DependencyJars:  nonNil(in.DependencyJars),
		DependencyFiles: nonNil(in.DependencyFiles),
		RuntimeConfig:   runtimeConfig(in.RuntimeConfig),
	}
}

// nonNil returns a pointer to l, to an empty list when l is nil, so that
// an update clears what the step no longer lists.
func nonNil(l []string) *[]string {
	if l == nil {
		l = []string{}
	}
	return &l
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// runtimeConfig encodes Flink settings as DLI's runtime_config string: a
// JSON list of key/value objects, as the Huawei Cloud Terraform provider
// sends it, sorted so that the same settings always read the same.
func runtimeConfig(m map[string]string) *string {
	if len(m) == 0 {
		return nil
	}
	kv := make([]Tag, 0, len(m))
	for k, v := range m {
		kv = append(kv, Tag{Key: k, Value: v})
	}
	sort.Slice(kv, func(i, j int) bool { return kv[i].Key < kv[j].Key })
	b, _ := json.Marshal(kv)
	s := string(b)
	return &s
}

// SubmitFlinkSQL creates or updates the step's Flink SQL job and runs it.
func (a *Activities) SubmitFlinkSQL(ctx context.Context, req activities.StepRequest) (*activities.Job, error) {
	with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
	if err != nil {
		return nil, err
	}
	var in FlinkSQLInput
	if err := decodeInput(KindFlinkSQL, with, &in); err != nil {
		return nil, err
	}
	if _, err := in.waitMode(); err != nil {
		return nil, err
	}
	return a.submitFlink(ctx, req, FlinkSQLJobType, in.Name, in.request())
}

// SubmitFlinkJar creates or updates the step's Flink Jar job and runs it.
func (a *Activities) SubmitFlinkJar(ctx context.Context, req activities.StepRequest) (*activities.Job, error) {
	with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
	if err != nil {
		return nil, err
	}
	var in FlinkJarInput
	if err := decodeInput(KindFlinkJar, with, &in); err != nil {
		return nil, err
	}
	if _, err := in.waitMode(); err != nil {
		return nil, err
	}
	return a.submitFlink(ctx, req, FlinkJarJobType, in.Name, in.request())
}

// submitFlink makes the job called name match body and runs it, once per
// idempotency key.
//
// Flink jobs are long-lived and named by the user, so the name, not a tag,
// finds the job; tags cannot mark a run since only creation sets them.
// What marks a run is the job's desc, which pipectl owns: every create or
// update writes the key of this step attempt into it, before the run. A
// retried submit (its earlier answer lost) then reads the job and
//
//   - re-attaches when the desc carries its key and the job is running or
//     submitting (only this attempt can have started it: the update is made
//     only while the job is stopped), or has ended a run that started at or
//     after the update (start_time >= update_time);
//   - otherwise runs it, skipping the update when the desc already carries
//     the key (the earlier try got that far).
//
// DLI runs a Flink job at most once at a time, so even a misjudged retry
// cannot start a second concurrent run. A job running for anything else
// (an earlier pipeline run, the console) is not touched: the step fails,
// asking for it to be stopped first, rather than restart a stream
// unasked or leave it running an outdated definition.
func (a *Activities) submitFlink(ctx context.Context, req activities.StepRequest, jobType, name string, body FlinkJobRequest) (*activities.Job, error) {
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, temporal.NewNonRetryableApplicationError(req.Kind+" input: name is required", activities.ErrRequestRejected, nil)
	}
	log := activity.GetLogger(ctx)
	key := req.IdempotencyKey()
	desc := flinkMarker(req, key)
	body.Desc = &desc

	found, err := a.Client.FindFlinkJobByName(ctx, projectID, name)
	if err != nil {
		return nil, activities.Classify(err)
	}
	var id int64
	if found == nil {
		body.Name = name
		if id, err = a.Client.CreateFlinkJob(ctx, projectID, jobType, body); err != nil {
			return nil, activities.Classify(err)
		}
		log.Info("created DLI Flink job", "step", req.StepID, "job_id", id, "name", name)
	} else {
		// The list may leave out times; the details have them all.
		job, err := a.Client.FlinkJob(ctx, projectID, found.JobID)
		if err != nil {
			return nil, activities.Classify(err)
		}
		id = job.JobID
		if !flinkTypeFits(jobType, job.JobType) {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"a Flink job named %s already exists as a %s; a %s step needs a %s: rename one of them",
				name, job.JobType, req.Kind, jobType), activities.ErrRequestRejected, nil)
		}
		mine := strings.Contains(job.Desc, key)
		switch {
		case mine && (flinkActive(job.Status) || flinkStopping(job.Status)),
			mine && flinkEnded(job.Status) && job.StartTime > 0 && job.StartTime >= job.UpdateTime:
			log.Info("re-attached to DLI Flink job", "step", req.StepID, "job_id", id, "name", name, "status", job.Status)
			return &activities.Job{ID: job.ID(), ProjectID: projectID, Reattached: true}, nil
		case flinkActive(job.Status):
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"Flink job %s (%d) is %s, started outside this step attempt; stop it first to run it with the step's definition",
				name, id, job.Status), activities.ErrRequestRejected, nil)
		case flinkStopping(job.Status):
			// It can be run once stopped: retried like any transient failure.
			return nil, activities.Classify(fmt.Errorf("Flink job %s (%d) is %s: it can run again once stopped", name, id, job.Status))
		case !mine:
			if err := a.Client.UpdateFlinkJob(ctx, projectID, jobType, id, body); err != nil {
				return nil, activities.Classify(err)
			}
			log.Info("updated DLI Flink job", "step", req.StepID, "job_id", id, "name", name, "was", job.Status)
		}
	}
	if err := a.Client.RunFlinkJob(ctx, projectID, id); err != nil {
		return nil, activities.Classify(fmt.Errorf("run job %d: %w", id, err))
	}
	log.Info("started DLI Flink job", "step", req.StepID, "job_id", id, "name", name)
	return &activities.Job{ID: FlinkJob{JobID: id}.ID(), ProjectID: projectID}, nil
}

// flinkMarker is the desc of a job this step attempt defines: it carries
// the idempotency key, and says who manages the job to a reader of the
// console. desc has at most 512 characters.
func flinkMarker(req activities.StepRequest, key string) string {
	s := fmt.Sprintf("Managed by pipectl: pipeline %s, step %s, key %s", req.Pipeline, req.StepID, key)
	if utf8.RuneCountInString(s) > 512 {
		s = "Managed by pipectl: key " + key
	}
	return s
}

// flinkTypeFits reports whether an existing job of type have can be
// updated by a step of type want. DLI's console creates SQL jobs as
// flink_opensource_sql_job, which the SQL API updates too.
func flinkTypeFits(want, have string) bool {
	if have == "" || have == want {
		return true
	}
	return want == FlinkSQLJobType && have == "flink_opensource_sql_job"
}

// flinkActive reports whether a job in status is running or on its way
// there.
func flinkActive(status string) bool {
	switch status {
	case FlinkSubmitting, FlinkRunning, FlinkDownloading, FlinkIdle:
		return true
	}
	return false
}

// flinkStopping reports whether a job in status is being stopped.
func flinkStopping(status string) bool {
	return status == FlinkCanceling || status == FlinkSavepointing
}

// flinkEnded reports whether a job in status has ended a run.
func flinkEnded(status string) bool {
	switch status {
	case FlinkSubmitFail, FlinkRunningException, FlinkCancelSuccess, FlinkCancelFail, FlinkFinish:
		return true
	}
	return false
}

func (c FlinkControl) waitMode() (string, error) {
	switch c.Wait {
	case "", WaitRunning:
		return WaitRunning, nil
	case WaitFinished:
		return WaitFinished, nil
	}
	return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("wait must be %s or %s, got %q", WaitRunning, WaitFinished, c.Wait), activities.ErrRequestRejected, nil)
}

// flinkControl reads the step-steering inputs. They hold no secrets, so
// the input is read as the workflow sent it.
func flinkControl(req activities.StepRequest) (FlinkControl, error) {
	var c FlinkControl
	if len(req.With) == 0 {
		return c, nil
	}
	return c, decodeInput(req.Kind, req.With, &c)
}

// WaitFlink checks the job once. With `wait: running` (the default) the
// step is done once the job runs, since a streaming job never finishes;
// with `wait: finished` once it has finished.
func (a *Activities) WaitFlink(ctx context.Context, req activities.StepRequest) (*activities.Result, error) {
	if req.Job == nil || req.Job.ID == "" {
		return nil, temporal.NewNonRetryableApplicationError("wait without a job", activities.ErrRequestRejected, nil)
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	id, err := parseFlinkID(req.Job.ID)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrRequestRejected, nil)
	}
	ctl, err := flinkControl(req)
	if err != nil {
		return nil, err
	}
	mode, err := ctl.waitMode()
	if err != nil {
		return nil, err
	}
	job, err := a.Client.FlinkJob(ctx, projectID, id)
	if err != nil {
		return nil, activities.Classify(err)
	}
	progress := activities.Progress{JobID: job.ID(), State: job.Status, Checked: time.Now()}
	switch {
	case job.Status == FlinkFinish, job.Status == FlinkRunning && mode == WaitRunning:
		return &activities.Result{State: job.Status, Outputs: map[string]string{
			"job_id": job.ID(),
			"status": job.Status,
		}}, nil
	case flinkEnded(job.Status):
		return nil, activities.JobFailed(job.ID(), job.Status, job.StatusDesc)
	case flinkActive(job.Status), flinkStopping(job.Status), job.Status == FlinkInit:
		// job_init: the run was accepted but has not shown yet.
		return nil, activities.StillRunning(progress, activities.NextPoll(req.Poll, activity.GetInfo(ctx).Attempt))
	}
	activity.GetLogger(ctx).Warn("unknown DLI Flink job status", "job_id", job.ID(), "status", job.Status)
	return nil, activities.StillRunning(progress, time.Duration(req.Poll.MaxInterval))
}

// CancelFlink stops the step's run of the job, taking a savepoint first
// when `savepoint_on_cancel` is set. A job that is not running, or that
// runs for another step attempt (its desc carries another key), is left
// alone. Without a Job, the job is found by its name.
func (a *Activities) CancelFlink(ctx context.Context, req activities.StepRequest) error {
	projectID, err := a.project(req)
	if err != nil {
		return err
	}
	log := activity.GetLogger(ctx)
	ctl, err := flinkControl(req)
	if err != nil {
		// Not a reason to leave the job running: stop it without a savepoint.
		log.Warn("cannot read the step's savepoint_on_cancel", "step", req.StepID, "error", err)
	}
	var id int64
	if req.Job != nil && req.Job.ID != "" {
		if id, err = parseFlinkID(req.Job.ID); err != nil {
			return temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrRequestRejected, nil)
		}
	} else {
		name, err := a.flinkName(ctx, req)
		if err != nil {
			return err
		}
		found, err := a.Client.FindFlinkJobByName(ctx, projectID, name)
		if err != nil {
			return activities.Classify(err)
		}
		if found == nil {
			return nil // submit never created it
		}
		id = found.JobID
	}
	job, err := a.Client.FlinkJob(ctx, projectID, id)
	if notFound(err) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return activities.Classify(err)
	}
	if !strings.Contains(job.Desc, req.IdempotencyKey()) {
		log.Info("DLI Flink job is not this step's run: left as it is", "step", req.StepID, "job_id", id, "status", job.Status)
		return nil
	}
	if !flinkActive(job.Status) {
		return nil // ended, never ran for this attempt, or stopping already
	}
	savepoint := ctl.SavepointOnCancel != nil && bool(*ctl.SavepointOnCancel)
	if err := a.Client.StopFlinkJob(ctx, projectID, id, savepoint); err != nil {
		var apiErr *cloudapi.Error
		if errors.As(err, &apiErr) && !apiErr.Retryable() {
			// It may have ended between the two calls; look once more.
			if job, jerr := a.Client.FlinkJob(ctx, projectID, id); jerr == nil && !flinkActive(job.Status) {
				return nil
			}
		}
		return activities.Classify(fmt.Errorf("stop job %d: %w", id, err))
	}
	log.Info("stopped DLI Flink job", "step", req.StepID, "job_id", id, "savepoint", savepoint)
	return nil
}

// flinkName is the job name of the step's input, for a cancel that has no
// Job.
func (a *Activities) flinkName(ctx context.Context, req activities.StepRequest) (string, error) {
	with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
	if err != nil {
		return "", err
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeInput(req.Kind, with, &in); err != nil {
		return "", err
	}
	if in.Name == "" {
		return "", temporal.NewNonRetryableApplicationError(req.Kind+" input: name is required", activities.ErrRequestRejected, nil)
	}
	return in.Name, nil
}

// notFound reports whether err is DLI saying the object does not exist.
func notFound(err error) bool {
	var apiErr *cloudapi.Error
	return errors.As(err, &apiErr) && (apiErr.Code == "DLI.0002" || apiErr.Status == 404)
}

// decodeInput decodes a step's `with` into v. Its errors are final and
// name the field at fault.
func decodeInput(kind string, with []byte, v any) error {
	err := json.Unmarshal(with, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var fields map[string]json.RawMessage
	if !errors.As(err, &typeErr) && json.Unmarshal(with, &fields) == nil {
		// An input type's own error does not say which field it is about:
		// find it by decoding the fields one at a time.
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			one, _ := json.Marshal(map[string]json.RawMessage{k: fields[k]})
			if json.Unmarshal(one, reflect.New(reflect.TypeOf(v).Elem()).Interface()) != nil {
				err = fmt.Errorf("%s: %w", k, err)
				break
			}
		}
	}
	return temporal.NewNonRetryableApplicationError(kind+" input: "+err.Error(), activities.ErrRequestRejected, err)
}
