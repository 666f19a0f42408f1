package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file implements creating and updating Flink SQL and Jar jobs
// (§9.2–9.5) and the details call (§9.8).

// flinkCheckpointMode is checkpoint_mode, which the create/update tables
// type as Integer (1 ExactlyOnce, 2 AtLeastOnce) while every sample and
// job_config use the strings exactly_once/at_least_once. Both are accepted;
// the job stores the string form.
type flinkCheckpointMode string

func (m *flinkCheckpointMode) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch strings.ToLower(fmt.Sprint(v)) {
	case "1", "exactly_once", "exactlyonce":
		*m = "exactly_once"
	case "2", "at_least_once", "atleastonce":
		*m = "at_least_once"
	default:
		return fmt.Errorf("checkpoint_mode must be 1, 2, exactly_once or at_least_once, got %s", bytes.TrimSpace(b))
	}
	return nil
}

// flinkJobRequest is the union of the create and update bodies of SQL and
// Jar jobs; nil fields are absent and leave the job as it is.
type flinkJobRequest struct {
	Name                  *string              `json:"name"`
	Desc                  *string              `json:"desc"`
	TemplateID            *int64               `json:"template_id"`
	QueueName             *string              `json:"queue_name"`
	SQLBody               *string              `json:"sql_body"`
	RunMode               *string              `json:"run_mode"`
	CUNumber              *int                 `json:"cu_number"`
	ParallelNumber        *int                 `json:"parallel_number"`
	CheckpointEnabled     *bool                `json:"checkpoint_enabled"`
	CheckpointMode        *flinkCheckpointMode `json:"checkpoint_mode"`
	CheckpointInterval    *int                 `json:"checkpoint_interval"`
	ObsBucket             *string              `json:"obs_bucket"`
	LogEnabled            *bool                `json:"log_enabled"`
	SMNTopic              *string              `json:"smn_topic"`
	RestartWhenException  *bool                `json:"restart_when_exception"`
	IdleStateRetention    *int                 `json:"idle_state_retention"`
	JobType               *string              `json:"job_type"`
	DirtyDataStrategy     *string              `json:"dirty_data_strategy"`
	UDFJarURL             *string              `json:"udf_jar_url"`
	ManagerCUNumber       *int                 `json:"manager_cu_number"`
	ManagerCUNumberSic    *int                 `json:"manager_cunumber"` // F1's spelling (@6103 table)
	TMCUs                 *int                 `json:"tm_cus"`
	TMSlotNum             *int                 `json:"tm_slot_num"`
	ResumeCheckpoint      *bool                `json:"resume_checkpoint"`
	ResumeMaxNum          *int                 `json:"resume_max_num"`
	CheckpointPath        *string              `json:"checkpoint_path"`
	EdgeGroupIDs          *[]string            `json:"edge_group_ids"`
	OperatorConfig        *string              `json:"operator_config"`
	StaticEstimatorConfig *string              `json:"static_estimator_config"`
	RuntimeConfig         *string              `json:"runtime_config"`
	MainClass             *string              `json:"main_class"`
	EntrypointArgs        *string              `json:"entrypoint_args"`
	Entrypoint            *string              `json:"entrypoint"`
	DependencyJars        *[]string            `json:"dependency_jars"`
	DependencyFiles       *[]string            `json:"dependency_files"`
	Tags                  []dliTag             `json:"tags"` // create only
}

// apply copies the present fields of req into j.
func (req *flinkJobRequest) apply(j *flinkJob) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setBool := func(dst *bool, src *bool) {
		if src != nil {
			*dst = *src
		}
	}
	setList := func(dst *[]string, src *[]string) {
		if src != nil {
			*dst = append([]string{}, *src...)
		}
	}
	if req.Name != nil && *req.Name != "" { // updates allow 0 characters: no change
		j.Name = *req.Name
	}
	set(&j.Desc, req.Desc)
	set(&j.Queue, req.QueueName)
	set(&j.SQLBody, req.SQLBody)
	set(&j.RunMode, req.RunMode)
	set(&j.MainClass, req.MainClass)
	set(&j.EntryArgs, req.EntrypointArgs)
	if req.TemplateID != nil {
		j.TemplateID = *req.TemplateID
	}
	if req.CheckpointMode != nil {
		j.Config.CheckpointMode = string(*req.CheckpointMode)
	}
	c := &j.Config
	setInt(&c.CUNumber, req.CUNumber)
	setInt(&c.ParallelNumber, req.ParallelNumber)
	setBool(&c.CheckpointEnabled, req.CheckpointEnabled)
	setInt(&c.CheckpointInterval, req.CheckpointInterval)
	set(&c.ObsBucket, req.ObsBucket)
	setBool(&c.LogEnabled, req.LogEnabled)
	set(&c.SMNTopic, req.SMNTopic)
	setBool(&c.RestartWhenException, req.RestartWhenException)
	setInt(&c.IdleStateRetention, req.IdleStateRetention)
	set(&c.DirtyDataStrategy, req.DirtyDataStrategy)
	set(&c.UDFJarURL, req.UDFJarURL)
	setInt(&c.ManagerCUNumber, req.ManagerCUNumberSic)
	setInt(&c.ManagerCUNumber, req.ManagerCUNumber) // the regular spelling wins
	setInt(&c.TMCUs, req.TMCUs)
	setInt(&c.TMSlotNum, req.TMSlotNum)
	setBool(&c.ResumeCheckpoint, req.ResumeCheckpoint)
	setInt(&c.ResumeMaxNum, req.ResumeMaxNum)
	set(&c.CheckpointPath, req.CheckpointPath)
	setList(&c.EdgeGroupIDs, req.EdgeGroupIDs)
	set(&c.OperatorConfig, req.OperatorConfig)
	set(&c.StaticEstimatorConfig, req.StaticEstimatorConfig)
	set(&c.RuntimeConfig, req.RuntimeConfig)
	set(&c.Entrypoint, req.Entrypoint)
	setList(&c.DependencyJars, req.DependencyJars)
	setList(&c.DependencyFiles, req.DependencyFiles)
}

// validate returns what is wrong with the job after a create or update,
// or "".
func (j *flinkJob) validate() string {
	c := &j.Config
	n := utf8.RuneCountInString
	switch {
	case n(j.Name) < 1 || n(j.Name) > 57:
		return fmt.Sprintf("name must have 1 to 57 characters, got %d", n(j.Name))
	case n(j.Desc) > 512:
		return "desc must have at most 512 characters"
	case n(j.Queue) > 128:
		return "queue_name must have at most 128 characters"
	case len(j.SQLBody) > 1024*1024:
		return "sql_body must have at most 1024x1024 characters"
	case j.RunMode != "" && !slices.Contains([]string{"shared_cluster", "exclusive_cluster", "edge_node"}, j.RunMode):
		return fmt.Sprintf("run_mode must be shared_cluster, exclusive_cluster or edge_node, got %q", j.RunMode)
	case c.CUNumber < 2 || c.CUNumber > 400:
		return fmt.Sprintf("cu_number must be in [2, 400], got %d", c.CUNumber)
	case c.ManagerCUNumber < 1 || c.ManagerCUNumber >= c.CUNumber:
		return fmt.Sprintf("manager_cu_number must be at least 1 and less than cu_number (%d), got %d", c.CUNumber, c.ManagerCUNumber)
	case c.ParallelNumber < 1 || c.ParallelNumber > 2000:
		return fmt.Sprintf("parallel_number must be in [1, 2000], got %d", c.ParallelNumber)
	case c.ParallelNumber > 4*(c.CUNumber-c.ManagerCUNumber):
		return fmt.Sprintf("parallel_number (%d) cannot exceed four times the compute CUs (cu_number - manager_cu_number = %d)",
			c.ParallelNumber, c.CUNumber-c.ManagerCUNumber)
	case c.TMCUs < 1:
		return fmt.Sprintf("tm_cus must be at least 1, got %d", c.TMCUs)
	case c.TMSlotNum < 0:
		return fmt.Sprintf("tm_slot_num cannot be negative, got %d", c.TMSlotNum)
	case c.CheckpointInterval < 0:
		return fmt.Sprintf("checkpoint_interval cannot be negative, got %d", c.CheckpointInterval)
	case c.IdleStateRetention < 0:
		return fmt.Sprintf("idle_state_retention cannot be negative, got %d", c.IdleStateRetention)
	case c.ResumeMaxNum != -1 && c.ResumeMaxNum < 1:
		return fmt.Sprintf("resume_max_num must be -1 or greater than 0, got %d", c.ResumeMaxNum)
	case c.DirtyDataStrategy != "0" && c.DirtyDataStrategy != "1" && !strings.HasPrefix(c.DirtyDataStrategy, "2:"):
		return fmt.Sprintf("dirty_data_strategy must be 0, 1 or 2:obsDir, got %q", c.DirtyDataStrategy)
	}
	return validateTags(j.Tags)
}

// validateTags checks the documented tag constraints shared by DLI APIs.
func validateTags(tags []dliTag) string {
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == "" {
			return "tag key cannot be empty"
		}
		if seen[t.Key] {
			return fmt.Sprintf("duplicate tag key %q", t.Key)
		}
		seen[t.Key] = true
	}
	return ""
}

// flinkJobTypes are the job_type values the create/update APIs of kind
// accept.
func flinkJobTypes(kind string) []string {
	if kind == flinkJarJob {
		return []string{flinkJarJob}
	}
	return []string{flinkSQLJob, flinkOpenSourceSQLJob}
}

type flinkCreateResponse struct {
	dliEnvelope
	Job struct {
		JobID      int64  `json:"job_id"`
		StatusName string `json:"status_name"`
		StatusDesc string `json:"status_desc"`
	} `json:"job"`
}

type flinkUpdateResponse struct {
	dliEnvelope
	Job struct {
		UpdateTime int64 `json:"update_time"`
	} `json:"job"`
}

func (e *Emulator) flinkCreateSQLJob(w http.ResponseWriter, r *http.Request) {
	e.flinkCreate(w, r, flinkSQLJob, "A DLI job is created successfully.")
}

func (e *Emulator) flinkCreateJarJob(w http.ResponseWriter, r *http.Request) {
	e.flinkCreate(w, r, flinkJarJob, "A Flink job is created successfully.")
}

func writeDLIParamError(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusBadRequest, dliParamCheck, "Parameter check errors occur: "+msg)
}

// flinkCreate creates a job of kind (flink_sql_job or flink_jar_job).
// Creating does not consult the rules: a job's behaviour is decided at
// each run, where a SubmitErrors rule also answers.
func (e *Emulator) flinkCreate(w http.ResponseWriter, r *http.Request, kind, message string) {
	var req flinkJobRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeDLIParamError(w, "invalid request body: "+err.Error())
		return
	}
	if req.Name == nil || *req.Name == "" {
		writeDLIParamError(w, "name is mandatory")
		return
	}
	j := &flinkJob{
		ProjectID: r.PathValue("project_id"),
		Type:      kind,
		Config:    defaultFlinkConfig(),
		Tags:      cloneTags(req.Tags),
		Runs:      []flinkRun{},
	}
	// Jar jobs run in dedicated queues (§9.4); SQL jobs default to shared.
	j.RunMode = "shared_cluster"
	if kind == flinkJarJob {
		j.RunMode = "exclusive_cluster"
	}
	if req.JobType != nil && *req.JobType != "" {
		if !slices.Contains(flinkJobTypes(kind), *req.JobType) {
			writeDLIParamError(w, fmt.Sprintf("job_type must be one of %s, got %q", strings.Join(flinkJobTypes(kind), ", "), *req.JobType))
			return
		}
		j.Type = *req.JobType
	}
	req.apply(j)
	if msg := j.validate(); msg != "" {
		writeDLIParamError(w, msg)
		return
	}

	e.mu.Lock()
	if e.flinkNameTaken(j.ProjectID, j.Name, 0) {
		e.mu.Unlock()
		writeError(w, http.StatusBadRequest, dliObjectExists, fmt.Sprintf("The object exists: a Flink job named %s already exists.", j.Name))
		return
	}
	if e.flink.NextID == 0 {
		e.flink.NextID = firstFlinkJobID
	}
	j.ID = e.flink.NextID
	e.flink.NextID++
	j.CreatedAt = e.now()
	j.UpdatedAt = j.CreatedAt
	e.flink.Jobs = append(e.flink.Jobs, j)
	// Once unlocked the job may be updated concurrently: log a copy.
	id, name, typ := j.ID, j.Name, j.Type
	e.mu.Unlock()

	e.log.Info("emulator Flink job created", "project", r.PathValue("project_id"), "job_id", id, "type", typ, "name", name)
	resp := flinkCreateResponse{dliEnvelope: dliEnvelope{IsSuccess: true, Message: message}}
	resp.Job.JobID, resp.Job.StatusName = id, flinkInit
	writeJSON(w, http.StatusOK, resp)
}

// flinkNameTaken reports whether another live job of project has name.
// e.mu is held.
func (e *Emulator) flinkNameTaken(project, name string, except int64) bool {
	return slices.ContainsFunc(e.flink.Jobs, func(j *flinkJob) bool {
		return j.ProjectID == project && j.Name == name && j.ID != except && j.DeletedAt.IsZero()
	})
}

func (e *Emulator) flinkUpdateSQLJob(w http.ResponseWriter, r *http.Request) {
	e.flinkUpdate(w, r, flinkSQLJob, "The job is updated successfully.")
}

func (e *Emulator) flinkUpdateJarJob(w http.ResponseWriter, r *http.Request) {
	e.flinkUpdate(w, r, flinkJarJob, "The Flink job is updated successfully.")
}

// flinkPathID parses the {job_id} path segment, a Long.
func flinkPathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("job_id"), 10, 64)
	if err != nil {
		writeDLIParamError(w, fmt.Sprintf("job_id must be a Long, got %q", r.PathValue("job_id")))
		return 0, false
	}
	return id, true
}

func writeFlinkJobNotFound(w http.ResponseWriter, id int64) {
	writeError(w, http.StatusBadRequest, dliNotFound, fmt.Sprintf("The object does not exist: Flink job %d.", id))
}

// flinkUpdate changes the given fields of a job in any state; a run in
// progress keeps the behaviour it started with.
func (e *Emulator) flinkUpdate(w http.ResponseWriter, r *http.Request, kind, message string) {
	id, ok := flinkPathID(w, r)
	if !ok {
		return
	}
	var req flinkJobRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeDLIParamError(w, "invalid request body: "+err.Error())
		return
	}
	if req.JobType != nil && *req.JobType != "" && !slices.Contains(flinkJobTypes(kind), *req.JobType) {
		writeDLIParamError(w, fmt.Sprintf("job_type must be one of %s, got %q", strings.Join(flinkJobTypes(kind), ", "), *req.JobType))
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.flinkFind(r.PathValue("project_id"), id)
	if j == nil {
		writeFlinkJobNotFound(w, id)
		return
	}
	if !slices.Contains(flinkJobTypes(kind), j.Type) {
		writeError(w, http.StatusBadRequest, dliUnsupported, fmt.Sprintf(
			"The operation is not supported: job %d is a %s, which this API does not update.", id, j.Type))
		return
	}
	updated := *j
	updated.Config.EdgeGroupIDs = slices.Clone(j.Config.EdgeGroupIDs)
	updated.Config.DependencyJars = slices.Clone(j.Config.DependencyJars)
	updated.Config.DependencyFiles = slices.Clone(j.Config.DependencyFiles)
	req.apply(&updated)
	if msg := updated.validate(); msg != "" {
		writeDLIParamError(w, msg)
		return
	}
	if e.flinkNameTaken(j.ProjectID, updated.Name, j.ID) {
		writeError(w, http.StatusBadRequest, dliObjectExists, fmt.Sprintf("The object exists: a Flink job named %s already exists.", updated.Name))
		return
	}
	updated.UpdatedAt = e.now()
	updated.Updates++
	*j = updated
	resp := flinkUpdateResponse{dliEnvelope: dliEnvelope{IsSuccess: true, Message: message}}
	resp.Job.UpdateTime = j.UpdatedAt.UnixMilli()
	writeJSON(w, http.StatusOK, resp)
}

// flinkJobDetail is job_detail (table 9-41), also the entries of a list
// with show_detail=true.
type flinkJobDetail struct {
	JobID          int64          `json:"job_id"`
	Name           string         `json:"name"`
	Desc           string         `json:"desc"`
	JobType        string         `json:"job_type"`
	Status         string         `json:"status"`
	StatusDesc     string         `json:"status_desc"`
	CreateTime     int64          `json:"create_time"`
	StartTime      int64          `json:"start_time"` // 0 = never started
	UpdateTime     int64          `json:"update_time"`
	UserID         string         `json:"user_id"`
	QueueName      string         `json:"queue_name"`
	ProjectID      string         `json:"project_id"`
	SQLBody        string         `json:"sql_body"`
	SavepointPath  string         `json:"savepoint_path"`
	RunMode        string         `json:"run_mode"`
	JobConfig      flinkJobConfig `json:"job_config"`
	MainClass      string         `json:"main_class"`
	EntrypointArgs string         `json:"entrypoint_args"`
	ExecutionGraph string         `json:"execution_graph"`
}

// renderedConfig fills the derived job_config fields.
func (j *flinkJob) renderedConfig() flinkJobConfig {
	c := j.Config
	c.EdgeGroupIDs = slices.Clone(c.EdgeGroupIDs)
	c.DependencyJars = slices.Clone(c.DependencyJars)
	c.DependencyFiles = slices.Clone(c.DependencyFiles)
	compute := c.CUNumber - c.ManagerCUNumber
	if c.TMSlotNum == 0 && compute > 0 {
		// The documented default: (parallel_number*tm_cus)/(cu_number-manager_cu_number).
		c.TMSlotNum = max(c.ParallelNumber*c.TMCUs/compute, 1)
	}
	c.ExecutorNumber = max(compute/c.TMCUs, 1)
	c.ExecutorCUNumber = c.TMCUs
	return c
}

func (j *flinkJob) detail(status, desc string) flinkJobDetail {
	d := flinkJobDetail{
		JobID:          j.ID,
		Name:           j.Name,
		Desc:           j.Desc,
		JobType:        j.Type,
		Status:         status,
		StatusDesc:     desc,
		CreateTime:     j.CreatedAt.UnixMilli(),
		UpdateTime:     j.UpdatedAt.UnixMilli(),
		UserID:         dliUserID,
		QueueName:      j.Queue,
		ProjectID:      j.ProjectID,
		SQLBody:        j.SQLBody,
		SavepointPath:  j.SavepointPath,
		RunMode:        j.RunMode,
		JobConfig:      j.renderedConfig(),
		MainClass:      j.MainClass,
		EntrypointArgs: j.EntryArgs,
	}
	if start := j.startTime(); !start.IsZero() {
		d.StartTime = start.UnixMilli()
	}
	return d
}

type flinkDetailResponse struct {
	dliEnvelope
	JobDetail flinkJobDetail `json:"job_detail"`
}

func (e *Emulator) flinkJobDetail(w http.ResponseWriter, r *http.Request) {
	id, ok := flinkPathID(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	j := e.flinkFind(r.PathValue("project_id"), id)
	var resp flinkDetailResponse
	if j != nil {
		status, desc, _ := j.status(e.now())
		resp = flinkDetailResponse{
			dliEnvelope: dliEnvelope{IsSuccess: true, Message: "Querying of the job details succeeds."},
			JobDetail:   j.detail(status, desc),
		}
	}
	e.mu.Unlock()
	if j == nil {
		writeFlinkJobNotFound(w, id)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
