package emulator

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LakeFormation lf-jobs. The seed documents only creation (LakeFormation
// "Creating a Job"); start, list, detail and stop follow Huawei Cloud's
// public LakeFormation API reference (StartJobByInstance,
// ListJobsByInstance, ShowJobByInstance, StopJobByInstance), with the same
// error body. A job is CREATED until started; each start is one run:
// SUBMITTED, RUNNING, then SUCCESS, or STOPPED when stopped. A finished job
// can be started again. A rule's FailMessage ends a run FAILED; with
// FailCode "PARTIAL_SUCCESS" it ends PARTIAL_SUCCESS (a status of the
// public reference only) instead.

// LakeFormation job statuses.
const (
	lfCreated        = "CREATED"
	lfSubmitted      = "SUBMITTED"
	lfRunning        = "RUNNING"
	lfSuccess        = "SUCCESS"
	lfFailed         = "FAILED"
	lfStopped        = "STOPPED"
	lfPartialSuccess = "PARTIAL_SUCCESS"
)

// lfBadRequest is the code of the seed's 400 and 404 samples.
const lfBadRequest = "common.01000001"

// lfSubmitShare: a run spends 1/lfSubmitShare of its duration SUBMITTED.
const lfSubmitShare = 5

var lfStatuses = []string{lfCreated, lfSubmitted, lfRunning, lfSuccess, lfFailed, lfStopped, lfPartialSuccess}

func (e *Emulator) registerLakeFormation() {
	const base = "/v1/{project_id}/instances/{instance_id}/lf-jobs"
	e.route(LakeFormation, "POST "+base, e.lfCreateJob)
	e.route(LakeFormation, "GET "+base, e.lfListJobs)
	e.route(LakeFormation, "GET "+base+"/{job_id}", e.lfShowJob)
	e.route(LakeFormation, "POST "+base+"/{job_id}/start", e.lfStartJob)
	e.route(LakeFormation, "POST "+base+"/{job_id}/stop", e.lfStopJob)
	e.addDumper(LakeFormation, "jobs", func() any { return e.LakeFormationJobs() })
}

// lfState holds the service's emulated resources, guarded by Emulator.mu.
// Jobs are few, so lookups scan the creation-ordered slice.
type lfState struct {
	Jobs []*lfJob `json:"jobs"`
}

// lfPlan is what the rules decided for one run.
type lfPlan struct {
	Duration    time.Duration `json:"duration"`
	Hang        bool          `json:"hang,omitempty"`
	FailMessage string        `json:"fail_message,omitempty"`
	FailCode    string        `json:"fail_code,omitempty"`
}

type lfRun struct {
	lfPlan
	StartedAt time.Time `json:"started_at"`
	StoppedAt time.Time `json:"stopped_at"`
}

type lfJob struct {
	ProjectID   string         `json:"project_id"`
	InstanceID  string         `json:"instance_id"`
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Type        string         `json:"type"`
	Parameter   lfJobParameter `json:"parameter"` // secrets already removed
	CreatedAt   time.Time      `json:"created_at"`
	// Pending is the plan decided at creation, used by the first start:
	// rules apply to jobs created after them.
	Pending *lfPlan `json:"pending,omitempty"`
	Run     *lfRun  `json:"run,omitempty"` // the latest start
	Mode    string  `json:"mode,omitempty"`
	Starts  int     `json:"starts"`
	Stops   int     `json:"stops"`
}

// state derives the job's status at now, and when its latest run started
// and ended (zero when not applicable).
func (j *lfJob) state(now time.Time) (status string, started, ended time.Time) {
	r := j.Run
	if r == nil {
		return lfCreated, time.Time{}, time.Time{}
	}
	if !r.StoppedAt.IsZero() {
		return lfStopped, r.StartedAt, r.StoppedAt
	}
	elapsed, end := now.Sub(r.StartedAt), r.StartedAt.Add(r.Duration)
	switch {
	case elapsed < r.Duration/lfSubmitShare:
		return lfSubmitted, r.StartedAt, time.Time{}
	case r.Hang || elapsed < r.Duration:
		return lfRunning, r.StartedAt, time.Time{}
	case r.FailMessage != "" && r.FailCode == lfPartialSuccess:
		return lfPartialSuccess, r.StartedAt, end
	case r.FailMessage != "":
		return lfFailed, r.StartedAt, end
	default:
		return lfSuccess, r.StartedAt, end
	}
}

func lfInProgress(status string) bool { return status == lfSubmitted || status == lfRunning }

// lfTime formats a timestamp. The reference types create_time/start_time
// as "timestamp" strings without an example; ISO 8601 UTC is used.
func lfTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// lfJobInfo is JobInfo of ListJobsByInstance. status is a string as the
// create page's table says; that page's 201 sample has an object
// {"status":"SUCCESS"} instead, which clients should also accept.
type lfJobInfo struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	CreateTime string `json:"create_time"`
	StartTime  string `json:"start_time,omitempty"`
	EndTime    string `json:"end_time,omitempty"`
	Status     string `json:"status"`
}

// lfJobView is the create (201) and detail body: JobInfo plus description
// and the echoed parameter.
type lfJobView struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Type        string          `json:"type"`
	Parameter   *lfJobParameter `json:"parameter"`
	CreateTime  string          `json:"create_time"`
	StartTime   string          `json:"start_time,omitempty"`
	EndTime     string          `json:"end_time,omitempty"`
	Status      string          `json:"status"`
}

func (j *lfJob) info(now time.Time) lfJobInfo {
	status, started, ended := j.state(now)
	return lfJobInfo{
		ID: j.ID, Name: j.Name, Type: j.Type, CreateTime: lfTime(j.CreatedAt),
		StartTime: lfTime(started), EndTime: lfTime(ended), Status: status,
	}
}

func (j *lfJob) view(now time.Time) lfJobView {
	i := j.info(now)
	p := j.Parameter
	return lfJobView{
		ID: i.ID, Name: i.Name, Description: j.Description, Type: i.Type, Parameter: &p,
		CreateTime: i.CreateTime, StartTime: i.StartTime, EndTime: i.EndTime, Status: i.Status,
	}
}

func writeLFError(w http.ResponseWriter, status int, msg string) {
	writeServiceError(w, LakeFormation, status, lfBadRequest, msg)
}

// writeLFInjected answers an injected failure; the seed's codes follow
// common.00000<status> (common.00000408, common.00000500).
func writeLFInjected(w http.ResponseWriter, status int) {
	code := fmt.Sprintf("common.%08d", status)
	switch status {
	case http.StatusUnauthorized:
		code = "APIG.1002"
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	}
	writeServiceError(w, LakeFormation, status, code, fmt.Sprintf("injected failure (HTTP %d)", status))
}

func writeLFJobNotFound(w http.ResponseWriter, r *http.Request) {
	writeLFError(w, http.StatusNotFound, fmt.Sprintf("response status exception, code: 404, job %s does not exist", r.PathValue("job_id")))
}

// lfLookup finds the job of the request path in its project and instance.
// e.mu is held.
func (e *Emulator) lfLookup(r *http.Request) *lfJob {
	id, project, instance := r.PathValue("job_id"), r.PathValue("project_id"), r.PathValue("instance_id")
	for _, j := range e.lf.Jobs {
		if j.ID == id && j.ProjectID == project && j.InstanceID == instance {
			return j
		}
	}
	return nil
}

func lfPlanOf(b behaviour) lfPlan {
	return lfPlan{Duration: b.duration, Hang: b.hang, FailMessage: b.failMessage, FailCode: b.failCode}
}

func (e *Emulator) lfCreateJob(w http.ResponseWriter, r *http.Request) {
	var req lfCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeLFError(w, http.StatusBadRequest, "failed to read http request, please check your input, code: 400, reason: "+err.Error())
		return
	}
	if msg := req.validate(); msg != "" {
		writeLFError(w, http.StatusBadRequest, "invalid request: "+msg)
		return
	}
	project, instance := r.PathValue("project_id"), r.PathValue("instance_id")

	e.mu.Lock()
	for _, j := range e.lf.Jobs {
		if j.Name == req.Name && j.ProjectID == project && j.InstanceID == instance {
			e.mu.Unlock()
			writeLFError(w, http.StatusBadRequest, fmt.Sprintf("job name %s already exists", req.Name))
			return
		}
	}
	b := e.behaviour(LakeFormation, req.Name)
	if b.submitError != 0 {
		e.mu.Unlock()
		e.log.Info("emulator injected LakeFormation create error", "name", req.Name, "status", b.submitError)
		writeLFInjected(w, b.submitError)
		return
	}
	plan := lfPlanOf(b)
	j := &lfJob{
		ProjectID: project, InstanceID: instance, ID: newUUID(), Name: req.Name,
		Description: req.Description, Type: req.Type, Parameter: req.Parameter.stored(req.Type),
		CreatedAt: e.now(), Pending: &plan,
	}
	e.lf.Jobs = append(e.lf.Jobs, j)
	resp := j.view(e.now())
	e.mu.Unlock()

	e.log.Info("emulator LakeFormation job created", "id", j.ID, "name", j.Name, "type", j.Type)
	writeJSON(w, http.StatusCreated, resp)
}

func (e *Emulator) lfShowJob(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	j := e.lfLookup(r)
	var resp lfJobView
	if j != nil {
		resp = j.view(e.now())
	}
	e.mu.Unlock()
	if j == nil {
		writeLFJobNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// lfStartJob starts a run (StartJobByInstance: 202, no body). Starting a
// job that is already SUBMITTED or RUNNING is refused.
func (e *Emulator) lfStartJob(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	mode := cmp.Or(q.Get("mode"), "NORMAL")
	if mode != "NORMAL" && mode != "COMPARISON" {
		writeLFError(w, http.StatusBadRequest, fmt.Sprintf("invalid mode %q: expected NORMAL or COMPARISON", mode))
		return
	}
	if c := q.Get("cascade"); c != "" {
		if _, err := strconv.ParseBool(c); err != nil {
			writeLFError(w, http.StatusBadRequest, fmt.Sprintf("invalid cascade %q: expected true or false", c))
			return
		}
	}

	e.mu.Lock()
	j := e.lfLookup(r)
	if j == nil {
		e.mu.Unlock()
		writeLFJobNotFound(w, r)
		return
	}
	now := e.now()
	if status, _, _ := j.state(now); lfInProgress(status) {
		e.mu.Unlock()
		writeLFError(w, http.StatusBadRequest, fmt.Sprintf("job %s is %s and cannot be started again", j.ID, status))
		return
	}
	var plan lfPlan
	if j.Pending != nil {
		plan, j.Pending = *j.Pending, nil
	} else if b := e.behaviour(LakeFormation, j.Name); b.submitError != 0 {
		e.mu.Unlock()
		e.log.Info("emulator injected LakeFormation start error", "id", j.ID, "status", b.submitError)
		writeLFInjected(w, b.submitError)
		return
	} else {
		plan = lfPlanOf(b)
	}
	j.Run = &lfRun{lfPlan: plan, StartedAt: now}
	j.Mode = mode
	j.Starts++
	e.mu.Unlock()

	e.log.Info("emulator LakeFormation job started", "id", j.ID, "name", j.Name, "duration", plan.Duration,
		"fails", plan.FailMessage != "")
	w.WriteHeader(http.StatusAccepted)
}

// lfStopJob stops a SUBMITTED or RUNNING job (202, no body, modelled on
// start); any other status is refused.
func (e *Emulator) lfStopJob(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	j := e.lfLookup(r)
	if j == nil {
		e.mu.Unlock()
		writeLFJobNotFound(w, r)
		return
	}
	now := e.now()
	status, _, _ := j.state(now)
	if lfInProgress(status) {
		j.Run.StoppedAt = now
		j.Stops++
	}
	e.mu.Unlock()
	if !lfInProgress(status) {
		writeLFError(w, http.StatusBadRequest, fmt.Sprintf("job %s is %s and cannot be stopped", j.ID, status))
		return
	}
	e.log.Info("emulator LakeFormation job stopped", "id", j.ID, "was", status)
	w.WriteHeader(http.StatusAccepted)
}

type lfListResponse struct {
	Total int         `json:"total"`
	Jobs  []lfJobInfo `json:"jobs"`
}

// lfListJobs is ListJobsByInstance: type is required; name_pattern is a
// case-insensitive substring ("fuzzy query by task name"); jobs come
// newest first.
func (e *Emulator) lfListJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	typ, status, pattern := q.Get("type"), q.Get("status"), strings.ToLower(q.Get("name_pattern"))
	var msg string
	switch {
	case typ == "":
		msg = "type is mandatory"
	case !slices.Contains(lfJobTypes, typ):
		msg = fmt.Sprintf("invalid type %q", typ)
	case status != "" && !slices.Contains(lfStatuses, status):
		msg = fmt.Sprintf("invalid status %q", status)
	}
	offset, limit := 0, 10
	for _, p := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"offset", &offset, 0, 1000}, {"limit", &limit, 1, 1000}} {
		if s := q.Get(p.name); s != "" && msg == "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < p.min || n > p.max {
				msg = fmt.Sprintf("%s must be an integer in [%d, %d], got %q", p.name, p.min, p.max, s)
			}
			*p.dst = n
		}
	}
	if msg != "" {
		writeLFError(w, http.StatusBadRequest, "invalid request: "+msg)
		return
	}
	project, instance := r.PathValue("project_id"), r.PathValue("instance_id")

	resp := lfListResponse{Jobs: []lfJobInfo{}}
	e.mu.Lock()
	now := e.now()
	for _, j := range slices.Backward(e.lf.Jobs) {
		if j.ProjectID != project || j.InstanceID != instance || j.Type != typ ||
			!strings.Contains(strings.ToLower(j.Name), pattern) {
			continue
		}
		info := j.info(now)
		if status != "" && info.Status != status {
			continue
		}
		if resp.Total >= offset && len(resp.Jobs) < limit {
			resp.Jobs = append(resp.Jobs, info)
		}
		resp.Total++
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// LakeFormationJob is a snapshot of an emulated LakeFormation lf-job.
type LakeFormationJob struct {
	ProjectID, InstanceID, ID, Name, Description string
	Type                                         string // METADATA_MIGRATION, PERMISSION_MIGRATION or METADATA_DISCOVERY
	Status                                       string // as a detail call would report it now
	Message                                      string // the rule's message once FAILED or PARTIAL_SUCCESS
	Mode                                         string // mode of the latest start: NORMAL or COMPARISON
	CreatedAt, StartedAt, EndedAt                time.Time
	Starts, Stops                                int // accepted start and stop calls
}

// LakeFormationJobs returns all lf-jobs of every project and instance in
// creation order.
func (e *Emulator) LakeFormationJobs() []LakeFormationJob {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	jobs := make([]LakeFormationJob, len(e.lf.Jobs))
	for i, j := range e.lf.Jobs {
		status, started, ended := j.state(now)
		var msg string
		if status == lfFailed || status == lfPartialSuccess {
			msg = j.Run.FailMessage
		}
		jobs[i] = LakeFormationJob{
			ProjectID: j.ProjectID, InstanceID: j.InstanceID, ID: j.ID, Name: j.Name, Description: j.Description,
			Type: j.Type, Status: status, Message: msg, Mode: j.Mode,
			CreatedAt: j.CreatedAt, StartedAt: started, EndedAt: ended, Starts: j.Starts, Stops: j.Stops,
		}
	}
	return jobs
}
