package emulator

import (
	"slices"
	"time"
)

// This file holds the model of DLI Flink jobs (DLI API reference ch. 9);
// the handlers are in dli_flink_api.go (create, update, details),
// dli_flink_run.go (run, stop, delete) and dli_flink_list.go.
//
// A job is created in job_init and does nothing until it is run. Each run
// takes its behaviour from the rules (e.behaviour(DLI, job name)) and its
// status is derived from the clock, with share = duration/launchShare:
//
//	job_submitting   for share after the run;
//	job_running      then, for good: streaming jobs do not finish, so
//	                 job_finish is never reported;
//	job_running_exception  at the end of the duration when the rule has a
//	                 FailMessage (status_desc = the message); with FailCode
//	                 "job_submit_fail" the run ends in job_submit_fail
//	                 after the submitting share instead and never runs;
//	job_submitting   for good when the rule says Hang (stuck submission).
//
// A SQL job without sql_body (and without template_id) or a Jar job
// without entrypoint fails its runs with job_submit_fail.
//
// Stopping a submitting or running job: job_savepointing for one share if
// trigger_savepoint, then job_canceling for one share, then
// job_cancel_success. Deleting a job (in any state) hides it from the API;
// its record is kept, as the API reference says, and shows in FlinkJobs.
// job_downloading, job_idle and job_cancel_fail are never reported.

// The twelve Flink job statuses (F6 @6721, F7 @6907).
const (
	flinkInit             = "job_init"
	flinkSubmitting       = "job_submitting"
	flinkSubmitFail       = "job_submit_fail"
	flinkRunning          = "job_running"
	flinkRunningException = "job_running_exception"
	flinkDownloading      = "job_downloading"
	flinkIdle             = "job_idle"
	flinkCanceling        = "job_canceling"
	flinkCancelSuccess    = "job_cancel_success"
	flinkCancelFail       = "job_cancel_fail"
	flinkSavepointing     = "job_savepointing"
	flinkFinish           = "job_finish"
)

var flinkStatuses = []string{
	flinkInit, flinkSubmitting, flinkSubmitFail, flinkRunning, flinkRunningException, flinkDownloading,
	flinkIdle, flinkCanceling, flinkCancelSuccess, flinkCancelFail, flinkSavepointing, flinkFinish,
}

// Flink job types: the two documented ones, and the open-source SQL type
// the details sample (@7047) shows, which SQL job creation also accepts.
const (
	flinkSQLJob           = "flink_sql_job"
	flinkOpenSourceSQLJob = "flink_opensource_sql_job"
	flinkJarJob           = "flink_jar_job"
)

// firstFlinkJobID is the first job ID handed out; IDs are Longs, unique
// across projects like the real service's.
const firstFlinkJobID = 100

// dliUserID is the user_id of every Flink job (tokens are not tied to users).
const dliUserID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"

// flinkState holds the Flink jobs and, as the DLI-wide resource without a
// state field of its own in Emulator, the queues of every project. It is
// guarded by Emulator.mu and its JSON form is the persisted state.
type flinkState struct {
	NextID int64                 `json:"next_id"`
	Jobs   []*flinkJob           `json:"jobs"`   // creation order
	Queues map[string][]dliQueue `json:"queues"` // by project, see dli_queue.go
}

type flinkJob struct {
	ProjectID  string         `json:"project_id"`
	ID         int64          `json:"id"`
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Desc       string         `json:"desc"`
	Queue      string         `json:"queue"`
	SQLBody    string         `json:"sql_body"`
	TemplateID int64          `json:"template_id"`
	RunMode    string         `json:"run_mode"`
	MainClass  string         `json:"main_class"`
	EntryArgs  string         `json:"entrypoint_args"`
	Config     flinkJobConfig `json:"config"`
	Tags       []dliTag       `json:"tags"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	Updates    int            `json:"updates"`
	Runs       []flinkRun     `json:"runs"`
	Stops      int            `json:"stops"` // stops that took effect
	// SavepointPath is set by the last stop that triggered a savepoint.
	SavepointPath string    `json:"savepoint_path"`
	DeletedAt     time.Time `json:"deleted_at"`
}

// flinkRun is one run of a job, with the behaviour fixed when it started.
type flinkRun struct {
	StartedAt       time.Time     `json:"started_at"`
	Duration        time.Duration `json:"duration"`
	Hang            bool          `json:"hang"`
	FailMessage     string        `json:"fail_message"`
	SubmitFail      bool          `json:"submit_fail"` // fails as job_submit_fail
	ResumeSavepoint bool          `json:"resume_savepoint"`
	// StopAt is when a stop was accepted; StopSpan how long each stop phase
	// takes (0 = at once, for a delete).
	StopAt    time.Time     `json:"stop_at"`
	StopSpan  time.Duration `json:"stop_span"`
	Savepoint bool          `json:"savepoint"`
}

// flinkJobConfig is job_config of the details (table 9-42); create and
// update requests fill it.
type flinkJobConfig struct {
	CheckpointEnabled     bool     `json:"checkpoint_enabled"`
	CheckpointInterval    int      `json:"checkpoint_interval"`
	CheckpointMode        string   `json:"checkpoint_mode"`
	LogEnabled            bool     `json:"log_enabled"`
	ObsBucket             string   `json:"obs_bucket"`
	RootID                int64    `json:"root_id"`
	EdgeGroupIDs          []string `json:"edge_group_ids"`
	ManagerCUNumber       int      `json:"manager_cu_number"`
	GraphEditorEnabled    bool     `json:"graph_editor_enabled"`
	GraphEditorData       string   `json:"graph_editor_data"`
	ExecutorNumber        int      `json:"executor_number"`
	ExecutorCUNumber      int      `json:"executor_cu_number"`
	CUNumber              int      `json:"cu_number"`
	ParallelNumber        int      `json:"parallel_number"`
	SMNTopic              string   `json:"smn_topic"`
	RestartWhenException  bool     `json:"restart_when_exception"`
	ResumeCheckpoint      bool     `json:"resume_checkpoint"`
	ResumeMaxNum          int      `json:"resume_max_num"`
	CheckpointPath        string   `json:"checkpoint_path"`
	IdleStateRetention    int      `json:"idle_state_retention"`
	ConfigURL             string   `json:"config_url"`
	UDFJarURL             string   `json:"udf_jar_url"`
	DirtyDataStrategy     string   `json:"dirty_data_strategy"`
	Entrypoint            string   `json:"entrypoint"`
	DependencyJars        []string `json:"dependency_jars"`
	DependencyFiles       []string `json:"dependency_files"`
	TMCUs                 int      `json:"tm_cus"`
	TMSlotNum             int      `json:"tm_slot_num"`
	OperatorConfig        string   `json:"operator_config"`
	StaticEstimatorConfig string   `json:"static_estimator_config"`
	RuntimeConfig         string   `json:"runtime_config"`
}

// defaultFlinkConfig has the documented defaults of the create tables.
func defaultFlinkConfig() flinkJobConfig {
	return flinkJobConfig{
		CheckpointInterval: 10,
		CheckpointMode:     "exactly_once",
		RootID:             -1,
		EdgeGroupIDs:       []string{},
		ManagerCUNumber:    1,
		CUNumber:           2,
		ParallelNumber:     1,
		ResumeMaxNum:       -1,
		IdleStateRetention: 3600,
		DirtyDataStrategy:  "0",
		DependencyJars:     []string{},
		DependencyFiles:    []string{},
		TMCUs:              1,
	}
}

func (e *Emulator) registerDLIFlink() {
	// Emulator.New has one register call per stub file; the DLI routes
	// beyond SQL jobs that have no stub of their own hang off this one.
	e.registerDLIQueues()
	e.registerDLISQLExtra()

	e.route(DLI, "POST /v1.0/{project_id}/streaming/sql-jobs", e.flinkCreateSQLJob)
	e.route(DLI, "PUT /v1.0/{project_id}/streaming/sql-jobs/{job_id}", e.flinkUpdateSQLJob)
	e.route(DLI, "POST /v1.0/{project_id}/streaming/flink-jobs", e.flinkCreateJarJob)
	e.route(DLI, "PUT /v1.0/{project_id}/streaming/flink-jobs/{job_id}", e.flinkUpdateJarJob)
	e.route(DLI, "POST /v1.0/{project_id}/streaming/jobs/run", e.flinkRunJobs)
	e.route(DLI, "POST /v1.0/{project_id}/streaming/jobs/stop", e.flinkStopJobs)
	e.route(DLI, "POST /v1.0/{project_id}/streaming/jobs/delete", e.flinkDeleteJobs)
	e.route(DLI, "GET /v1.0/{project_id}/streaming/jobs", e.flinkListJobs)
	e.route(DLI, "GET /v1.0/{project_id}/streaming/jobs/{job_id}", e.flinkJobDetail)
	e.route(DLI, "DELETE /v1.0/{project_id}/streaming/jobs/{job_id}", e.flinkDeleteJob)
	e.addDumper(DLI, "flink_jobs", func() any { return e.FlinkJobs() })
}

// lastRun is the job's latest run, or nil before the first.
func (j *flinkJob) lastRun() *flinkRun {
	if len(j.Runs) == 0 {
		return nil
	}
	return &j.Runs[len(j.Runs)-1]
}

// status derives the job's status at now, with status_desc and when the
// current run ended (zero while it is in progress or never ran).
func (j *flinkJob) status(now time.Time) (status, desc string, ended time.Time) {
	run := j.lastRun()
	if run == nil {
		return flinkInit, "", time.Time{}
	}
	share := run.Duration / launchShare
	// What the run would do left alone.
	status, desc, ended = run.unstopped(now, share)
	if run.StopAt.IsZero() || now.Before(run.StopAt) {
		return status, desc, ended
	}
	if s, _, _ := run.unstopped(run.StopAt, share); s != flinkSubmitting && s != flinkRunning {
		return status, desc, ended // ended before the stop: nothing to stop
	}
	since := now.Sub(run.StopAt)
	if run.Savepoint {
		if since < run.StopSpan {
			return flinkSavepointing, "", time.Time{}
		}
		since -= run.StopSpan
	}
	if since < run.StopSpan {
		return flinkCanceling, "", time.Time{}
	}
	phases := time.Duration(1)
	if run.Savepoint {
		phases = 2
	}
	return flinkCancelSuccess, "", run.StopAt.Add(phases * run.StopSpan)
}

// unstopped is the run's status at t if it is never stopped.
func (run *flinkRun) unstopped(t time.Time, share time.Duration) (status, desc string, ended time.Time) {
	elapsed := t.Sub(run.StartedAt)
	switch {
	case run.Hang, elapsed < share:
		return flinkSubmitting, "", time.Time{}
	case run.SubmitFail:
		return flinkSubmitFail, run.FailMessage, run.StartedAt.Add(share)
	case run.FailMessage != "" && elapsed >= run.Duration:
		return flinkRunningException, run.FailMessage, run.StartedAt.Add(run.Duration)
	default:
		return flinkRunning, "", time.Time{}
	}
}

// active reports whether a job in status can be stopped (and not run).
func flinkActive(status string) bool {
	return status == flinkSubmitting || status == flinkRunning
}

// stopping reports whether a stop is under way.
func flinkStopping(status string) bool {
	return status == flinkSavepointing || status == flinkCanceling
}

// startTime is when the latest run started (zero if never run).
func (j *flinkJob) startTime() time.Time {
	if run := j.lastRun(); run != nil {
		return run.StartedAt
	}
	return time.Time{}
}

// runDuration is how long the latest run has been going, or went, in ms.
func (j *flinkJob) runDuration(now time.Time, ended time.Time) int64 {
	start := j.startTime()
	if start.IsZero() {
		return 0
	}
	end := now
	if !ended.IsZero() {
		end = ended
	}
	return max(end.Sub(start).Milliseconds(), 0)
}

// FlinkJob is a snapshot of an emulated DLI Flink job.
type FlinkJob struct {
	ProjectID                     string
	ID                            int64
	Type                          string // flink_sql_job, flink_opensource_sql_job or flink_jar_job
	Name, Desc, Queue             string
	SQLBody, Entrypoint           string
	Tags                          map[string]string
	Status                        string // as the details call would report it now
	StatusDesc                    string // failure reason in job_submit_fail/job_running_exception
	CreatedAt, UpdatedAt          time.Time
	StartedAt                     time.Time // latest run; zero if never run
	Runs, Stops, Updates          int       // runs started, stops that took effect, updates applied
	SavepointPath                 string    // from the last stop with trigger_savepoint
	ResumedFromSavepoint          bool      // the latest run asked for resume_savepoint
	Deleted                       bool
	DeletedAt                     time.Time
	CUNumber, ParallelNumber      int
	CheckpointEnabled             bool
	CheckpointMode, RuntimeConfig string
}

func (j *flinkJob) snapshot(now time.Time) FlinkJob {
	status, desc, _ := j.status(now)
	tags := make(map[string]string, len(j.Tags))
	for _, t := range j.Tags {
		tags[t.Key] = t.Value
	}
	s := FlinkJob{
		ProjectID: j.ProjectID, ID: j.ID, Type: j.Type, Name: j.Name, Desc: j.Desc, Queue: j.Queue,
		SQLBody: j.SQLBody, Entrypoint: j.Config.Entrypoint, Tags: tags,
		Status: status, StatusDesc: desc, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		StartedAt: j.startTime(), Runs: len(j.Runs), Stops: j.Stops, Updates: j.Updates,
		SavepointPath: j.SavepointPath, Deleted: !j.DeletedAt.IsZero(), DeletedAt: j.DeletedAt,
		CUNumber: j.Config.CUNumber, ParallelNumber: j.Config.ParallelNumber,
		CheckpointEnabled: j.Config.CheckpointEnabled, CheckpointMode: j.Config.CheckpointMode,
		RuntimeConfig: j.Config.RuntimeConfig,
	}
	if run := j.lastRun(); run != nil {
		s.ResumedFromSavepoint = run.ResumeSavepoint
	}
	return s
}

// FlinkJobs returns every Flink job of every project, deleted ones
// included, in creation order.
func (e *Emulator) FlinkJobs() []FlinkJob {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	jobs := make([]FlinkJob, len(e.flink.Jobs))
	for i, j := range e.flink.Jobs {
		jobs[i] = j.snapshot(now)
	}
	return jobs
}

// FlinkJob returns the Flink job with the given ID, even if deleted.
func (e *Emulator) FlinkJob(id int64) (FlinkJob, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := slices.IndexFunc(e.flink.Jobs, func(j *flinkJob) bool { return j.ID == id })
	if i < 0 {
		return FlinkJob{}, false
	}
	return e.flink.Jobs[i].snapshot(e.now()), true
}

// flinkFind returns a live (not deleted) job of project by ID. e.mu is held.
func (e *Emulator) flinkFind(project string, id int64) *flinkJob {
	for _, j := range e.flink.Jobs {
		if j.ID == id && j.ProjectID == project && j.DeletedAt.IsZero() {
			return j
		}
	}
	return nil
}

// cloneTags copies a tag list; nil becomes empty so it encodes as [].
func cloneTags(tags []dliTag) []dliTag {
	if tags == nil {
		return []dliTag{}
	}
	return slices.Clone(tags)
}
