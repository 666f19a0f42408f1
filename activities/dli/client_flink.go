package dli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Flink job types (DLI API reference, table 9-6 and 9-17).
const (
	FlinkSQLJobType = "flink_sql_job"
	FlinkJarJobType = "flink_jar_job"
)

// Flink job states (F6 @6721, F7 @6907): the complete list.
const (
	FlinkInit             = "job_init"
	FlinkSubmitting       = "job_submitting"
	FlinkSubmitFail       = "job_submit_fail"
	FlinkRunning          = "job_running"
	FlinkRunningException = "job_running_exception"
	FlinkDownloading      = "job_downloading"
	FlinkIdle             = "job_idle"
	FlinkCanceling        = "job_canceling"
	FlinkCancelSuccess    = "job_cancel_success"
	FlinkCancelFail       = "job_cancel_fail"
	FlinkSavepointing     = "job_savepointing"
	FlinkFinish           = "job_finish"
)

// FlinkJobRequest is the body of the create and update calls of Flink SQL
// jobs (POST/PUT /v1.0/{project_id}/streaming/sql-jobs) and Jar jobs
// (.../streaming/flink-jobs). Pointer fields are sent even when zero, so
// an update resets what the step no longer sets; nil ones are left out.
type FlinkJobRequest struct {
	Name                 string  `json:"name,omitempty"`
	Desc                 *string `json:"desc,omitempty"`
	QueueName            string  `json:"queue_name,omitempty"`
	CUNumber             *int    `json:"cu_number,omitempty"`
	ManagerCUNumber      *int    `json:"manager_cu_number,omitempty"`
	ParallelNumber       *int    `json:"parallel_number,omitempty"`
	LogEnabled           *bool   `json:"log_enabled,omitempty"`
	ObsBucket            *string `json:"obs_bucket,omitempty"`
	RestartWhenException *bool   `json:"restart_when_exception,omitempty"`
	RuntimeConfig        *string `json:"runtime_config,omitempty"`
	Tags                 []Tag   `json:"tags,omitempty"` // create only

	// SQL jobs.
	SQLBody            *string `json:"sql_body,omitempty"`
	CheckpointEnabled  *bool   `json:"checkpoint_enabled,omitempty"`
	CheckpointInterval *int    `json:"checkpoint_interval,omitempty"`

	// Jar jobs.
	Entrypoint      *string   `json:"entrypoint,omitempty"`
	MainClass       *string   `json:"main_class,omitempty"`
	EntrypointArgs  *string   `json:"entrypoint_args,omitempty"`
	DependencyJars  *[]string `json:"dependency_jars,omitempty"`
	DependencyFiles *[]string `json:"dependency_files,omitempty"`
}

// FlinkJob is a Flink job as the details call (F7, job_detail) and the
// list (F6) describe it.
type FlinkJob struct {
	JobID      int64  `json:"job_id"`
	Name       string `json:"name"`
	Desc       string `json:"desc"`
	JobType    string `json:"job_type"`
	Status     string `json:"status"`
	StatusDesc string `json:"status_desc"`
	QueueName  string `json:"queue_name"`
	// Times are in ms; StartTime is 0 for a job never started.
	CreateTime int64 `json:"create_time"`
	StartTime  int64 `json:"start_time"`
	UpdateTime int64 `json:"update_time"`
}

// ID is the job ID as text, the form Job.ID carries.
func (j FlinkJob) ID() string { return strconv.FormatInt(j.JobID, 10) }

func flinkJobsPath(projectID, kind string) string {
	p := "/v1.0/" + url.PathEscape(projectID) + "/streaming/"
	if kind == FlinkJarJobType {
		return p + "flink-jobs"
	}
	return p + "sql-jobs"
}

// CreateFlinkJob creates a Flink job of type kind (FlinkSQLJobType or
// FlinkJarJobType) and returns its ID. The job is created in job_init: it
// does not run until RunFlinkJob.
func (c *Client) CreateFlinkJob(ctx context.Context, projectID, kind string, req FlinkJobRequest) (int64, error) {
	const op = "create Flink job"
	var out struct {
		envelope
		Job struct {
			JobID      int64  `json:"job_id"`
			StatusName string `json:"status_name"`
		} `json:"job"`
	}
	if err := c.API.Do(ctx, op, http.MethodPost, flinkJobsPath(projectID, kind), nil, req, &out); err != nil {
		return 0, err
	}
	if err := out.check(op); err != nil {
		return 0, err
	}
	return out.Job.JobID, nil
}

// UpdateFlinkJob changes the fields req sets of a Flink job of type kind.
func (c *Client) UpdateFlinkJob(ctx context.Context, projectID, kind string, jobID int64, req FlinkJobRequest) error {
	const op = "update Flink job"
	var out envelope
	path := flinkJobsPath(projectID, kind) + "/" + strconv.FormatInt(jobID, 10)
	if err := c.API.Do(ctx, op, http.MethodPut, path, nil, req, &out); err != nil {
		return err
	}
	return out.check(op)
}

// RunFlinkJob starts a job (F5, a batch call given one ID). The answer only
// means the run was accepted: the job's status tells how it goes.
func (c *Client) RunFlinkJob(ctx context.Context, projectID string, jobID int64) error {
	body := struct {
		JobIDs          []int64 `json:"job_ids"`
		ResumeSavepoint bool    `json:"resume_savepoint"`
	}{JobIDs: []int64{jobID}}
	return c.flinkBatch(ctx, "run Flink job", projectID, "run", body)
}

// StopFlinkJob stops a job (F9, a batch call given one ID), first taking a
// savepoint when savepoint is true.
func (c *Client) StopFlinkJob(ctx context.Context, projectID string, jobID int64, savepoint bool) error {
	body := struct {
		JobIDs           []int64 `json:"job_ids"`
		TriggerSavepoint bool    `json:"trigger_savepoint"`
	}{JobIDs: []int64{jobID}, TriggerSavepoint: savepoint}
	return c.flinkBatch(ctx, "stop Flink job", projectID, "stop", body)
}

// flinkBatch posts a run or stop of one job. Their answer is documented as
// a top-level array with one result per job; the stop sample shows a
// single object, so both forms are read.
func (c *Client) flinkBatch(ctx context.Context, op, projectID, action string, body any) error {
	var out flinkBatchResults
	path := "/v1.0/" + url.PathEscape(projectID) + "/streaming/jobs/" + action
	if err := c.API.Do(ctx, op, http.MethodPost, path, nil, body, &out); err != nil {
		return err
	}
	for _, r := range out {
		if err := r.check(op); err != nil {
			return err
		}
	}
	return nil
}

type flinkBatchResults []envelope

func (r *flinkBatchResults) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, (*[]envelope)(r))
	}
	var one envelope
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*r = flinkBatchResults{one}
	return nil
}

// FlinkJob returns a job's details (F7).
func (c *Client) FlinkJob(ctx context.Context, projectID string, jobID int64) (*FlinkJob, error) {
	const op = "get Flink job"
	var out struct {
		envelope
		JobDetail FlinkJob `json:"job_detail"`
	}
	path := "/v1.0/" + url.PathEscape(projectID) + "/streaming/jobs/" + strconv.FormatInt(jobID, 10)
	if err := c.API.Do(ctx, op, http.MethodGet, path, nil, nil, &out); err != nil {
		return nil, err
	}
	if err := out.check(op); err != nil {
		return nil, err
	}
	return &out.JobDetail, nil
}

// flinkPageSize is the list's largest page.
const flinkPageSize = 100

// FindFlinkJobByName returns the project's Flink job called name, or nil.
// Names are unique in a project; the list's name filter also matches
// other names containing it, so the match is checked here.
func (c *Client) FindFlinkJobByName(ctx context.Context, projectID, name string) (*FlinkJob, error) {
	const op = "list Flink jobs"
	for offset := 0; ; {
		var out struct {
			envelope
			JobList struct {
				TotalCount int        `json:"total_count"`
				Jobs       []FlinkJob `json:"jobs"`
			} `json:"job_list"`
		}
		q := url.Values{"name": {name}, "limit": {strconv.Itoa(flinkPageSize)}, "offset": {strconv.Itoa(offset)}}
		if err := c.API.Do(ctx, op, http.MethodGet, "/v1.0/"+url.PathEscape(projectID)+"/streaming/jobs", q, nil, &out); err != nil {
			return nil, err
		}
		if err := out.check(op); err != nil {
			return nil, err
		}
		for _, j := range out.JobList.Jobs {
			if j.Name == name {
				return &j, nil
			}
		}
		offset += len(out.JobList.Jobs)
		if len(out.JobList.Jobs) == 0 || offset >= out.JobList.TotalCount {
			return nil, nil
		}
	}
}

// parseFlinkID reads a Job.ID of a Flink job.
func parseFlinkID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("Flink job id %q is not a number", id)
	}
	return n, nil
}
