package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DLI error codes (DLI API reference §14.2, table 14-3).
const (
	dliParamCheck  = "DLI.0001" // Parameter check errors occur.
	dliNotFound    = "DLI.0002" // The object does not exist.
	dliUnsupported = "DLI.0007" // The operation is not supported.
	dliRestricted  = "DLI.0009" // System restrictions.
	dliUserAuth    = "DLI.0013" // User authentication errors occur. (401)
	dliNoResource  = "DLI.0023" // No related resources were found. (404)
	dliServerError = "DLI.0999" // Server-side errors occur.
)

const (
	dliOwner        = "emulator" // owner of every job: tokens are not tied to users
	dliDefaultQueue = "default"
	// dliDetail stands in for the JSON schema of the result columns.
	dliDetail = `{"type":"struct","fields":[]}`
)

func (e *Emulator) registerDLISQL() {
	e.route(DLI, "POST /v1.0/{project_id}/jobs/submit-job", e.dliSubmitJob)
	e.route(DLI, "GET /v1.0/{project_id}/jobs", e.dliListJobs)
	e.route(DLI, "GET /v1.0/{project_id}/jobs/{job_id}/status", e.dliJobStatus)
	e.route(DLI, "GET /v1.0/{project_id}/jobs/{job_id}/detail", e.dliJobDetail)
	e.route(DLI, "DELETE /v1.0/{project_id}/jobs/{job_id}", e.dliCancelJob)
}

// dliEnvelope starts every successful DLI v1.0 response.
type dliEnvelope struct {
	IsSuccess bool   `json:"is_success"`
	Message   string `json:"message"`
}

var dliOK = dliEnvelope{IsSuccess: true}

type dliSubmitRequest struct {
	SQL       string   `json:"sql"`
	CurrentDB string   `json:"currentdb"`
	QueueName string   `json:"queue_name"`
	Conf      []string `json:"conf"`
	Tags      []dliTag `json:"tags"`
}

type dliSubmitResponse struct {
	dliEnvelope
	JobID   string `json:"job_id"`
	JobType string `json:"job_type"`
	JobMode string `json:"job_mode"`
}

// dliJobFields are the per-job fields the status call and the job list share.
type dliJobFields struct {
	JobID         string   `json:"job_id"`
	JobType       string   `json:"job_type"`
	QueueName     string   `json:"queue_name"`
	Owner         string   `json:"owner"`
	StartTime     int64    `json:"start_time"`
	Duration      int64    `json:"duration"`
	Status        string   `json:"status"`
	InputRowCount int64    `json:"input_row_count"`
	BadRowCount   int64    `json:"bad_row_count"`
	InputSize     int64    `json:"input_size"`
	ResultCount   int      `json:"result_count"`
	DatabaseName  string   `json:"database_name"`
	TableName     string   `json:"table_name"`
	Detail        string   `json:"detail"`
	Statement     string   `json:"statement"`
	Tags          []dliTag `json:"tags"`
}

type dliStatusResponse struct {
	dliEnvelope
	JobMode string `json:"job_mode"`
	dliJobFields
}

// dliDetailResponse has the fields of "Querying Job Details" that apply to
// SQL jobs; the import/export-only ones are left out.
type dliDetailResponse struct {
	dliEnvelope
	JobID        string   `json:"job_id"`
	Owner        string   `json:"owner"`
	StartTime    int64    `json:"start_time"`
	Duration     int64    `json:"duration"`
	DataPath     string   `json:"data_path"`
	DataType     string   `json:"data_type"`
	DatabaseName string   `json:"database_name"`
	TableName    string   `json:"table_name"`
	Tags         []dliTag `json:"tags"`
}

// fields renders j at now; it also returns the status and end time.
func (j *dliJob) fields(now time.Time) (f dliJobFields, status string, ended time.Time) {
	status, ended = j.state(now)
	end := now
	if !ended.IsZero() {
		end = ended
	}
	return dliJobFields{
		JobID:        j.id,
		JobType:      j.jobType,
		QueueName:    j.queue,
		Owner:        dliOwner,
		StartTime:    j.submittedAt.UnixMilli(),
		Duration:     max(end.Sub(j.submittedAt).Milliseconds(), 0),
		Status:       status,
		DatabaseName: j.currentDB,
		Detail:       dliDetail,
		Statement:    j.sql,
		Tags:         slices.Clone(j.tags),
	}, status, ended
}

func (e *Emulator) dliSubmitJob(w http.ResponseWriter, r *http.Request) {
	var req dliSubmitRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, dliParamCheck, "Parameter check errors occur: invalid request body: "+err.Error())
		return
	}
	if msg := req.validate(); msg != "" {
		writeError(w, http.StatusBadRequest, dliParamCheck, "Parameter check errors occur: "+msg)
		return
	}
	if req.QueueName == "" {
		req.QueueName = dliDefaultQueue
	}
	if req.Tags == nil {
		req.Tags = []dliTag{}
	}
	project := r.PathValue("project_id")

	e.mu.Lock()
	now := e.now()
	j := &dliJob{
		seq:         len(e.dli.order),
		projectID:   project,
		id:          newUUID(),
		sql:         req.SQL,
		jobType:     sqlJobType(req.SQL),
		queue:       req.QueueName,
		currentDB:   req.CurrentDB,
		conf:        req.Conf,
		tags:        req.Tags,
		submittedAt: now,
		duration:    e.jobDuration,
	}
	b := e.behaviour(DLI, req.SQL)
	injected := b.submitError
	j.duration, j.hang, j.failMessage = b.duration, b.hang, b.failMessage
	if injected == 0 {
		e.dli.jobs[j.id] = j
		e.dli.order = append(e.dli.order, j)
	}
	e.mu.Unlock()

	if injected != 0 {
		e.log.Info("emulator injected DLI submit error", "project", project, "status", injected)
		if injected == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		code, msg := injectedDLIError(injected)
		writeError(w, injected, code, msg)
		return
	}
	e.log.Info("emulator DLI job submitted", "project", project, "job_id", j.id, "job_type", j.jobType,
		"duration", j.duration, "fails", j.failMessage != "")
	writeJSON(w, http.StatusOK, dliSubmitResponse{
		dliEnvelope: dliOK,
		JobID:       j.id,
		JobType:     j.jobType,
		JobMode:     "async",
	})
}

// validate returns what is wrong with the request, or "".
func (req *dliSubmitRequest) validate() string {
	if strings.TrimSpace(req.SQL) == "" {
		return "sql is mandatory and cannot be empty"
	}
	if req.QueueName != "" && !validQueueName(req.QueueName) {
		return fmt.Sprintf("invalid queue_name %q: only digits, letters and underscores are allowed, not only digits, not starting with an underscore", req.QueueName)
	}
	for _, c := range req.Conf {
		if !strings.Contains(c, "=") {
			return fmt.Sprintf("invalid conf item %q: expected key=value", c)
		}
	}
	seen := map[string]bool{}
	for _, t := range req.Tags {
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

func validQueueName(name string) bool {
	allDigits := true
	for _, r := range name {
		switch {
		case r >= '0' && r <= '9':
		case r == '_', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
			allDigits = false
		default:
			return false
		}
	}
	return !allDigits && name[0] != '_'
}

// injectedDLIError picks the DLI code that best matches an injected status.
func injectedDLIError(status int) (code, msg string) {
	switch status {
	case http.StatusUnauthorized:
		return dliUserAuth, "User authentication errors occur (injected)."
	case http.StatusNotFound:
		return dliNoResource, "No related resources were found (injected)."
	case http.StatusTooManyRequests:
		return dliRestricted, "System restrictions: too many requests, retry later (injected)."
	default:
		return dliServerError, fmt.Sprintf("Server-side errors occur (injected HTTP %d).", status)
	}
}

// dliLookup finds the job named by the request path within its project.
// e.mu is held.
func (e *Emulator) dliLookup(r *http.Request) (*dliJob, bool) {
	j, ok := e.dli.jobs[r.PathValue("job_id")]
	if !ok || j.projectID != r.PathValue("project_id") {
		return nil, false
	}
	return j, true
}

func writeDLIJobNotFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusBadRequest, dliNotFound,
		fmt.Sprintf("The job with id %s does not exist.", r.PathValue("job_id")))
}

func (e *Emulator) dliJobStatus(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	j, ok := e.dliLookup(r)
	var resp dliStatusResponse
	if ok {
		j.statusCalls++
		fields, status, _ := j.fields(e.now())
		resp = dliStatusResponse{
			dliEnvelope:  dliEnvelope{IsSuccess: true, Message: j.message(status)},
			JobMode:      "async",
			dliJobFields: fields,
		}
	}
	e.mu.Unlock()
	if !ok {
		writeDLIJobNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (e *Emulator) dliJobDetail(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	j, ok := e.dliLookup(r)
	var resp dliDetailResponse
	if ok {
		f, status, _ := j.fields(e.now())
		resp = dliDetailResponse{
			dliEnvelope:  dliEnvelope{IsSuccess: true, Message: j.message(status)},
			JobID:        f.JobID,
			Owner:        f.Owner,
			StartTime:    f.StartTime,
			Duration:     f.Duration,
			DatabaseName: f.DatabaseName,
			Tags:         f.Tags,
		}
	}
	e.mu.Unlock()
	if !ok {
		writeDLIJobNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (e *Emulator) dliCancelJob(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	j, ok := e.dliLookup(r)
	var status string
	if ok {
		now := e.now()
		status, _ = j.state(now)
		if status == dliLaunching || status == dliRunning {
			j.cancelledAt = now
		}
	}
	e.mu.Unlock()
	switch {
	case !ok:
		writeDLIJobNotFound(w, r)
	case status == dliLaunching || status == dliRunning:
		e.log.Info("emulator DLI job cancelled", "job_id", j.id, "was", status)
		writeJSON(w, http.StatusOK, dliOK)
	default:
		writeError(w, http.StatusBadRequest, dliUnsupported,
			fmt.Sprintf("The job %s is %s and cannot be cancelled.", j.id, status))
	}
}
