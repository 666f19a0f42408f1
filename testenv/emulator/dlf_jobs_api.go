package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DLF job calls: create (J1), edit (J2), list (J3), detail (J4),
// run-immediate (J8), start (J9), real-time status (J10), stop (J15) and
// delete (J16).

// Job statuses of the job list (J3) and real-time status (J10).
const (
	dlfScheduling = "SCHEDULING" // batch
	dlfStoppedJob = "STOPPED"    // both
	dlfStarting   = "STARTING"   // real-time
	dlfNormal     = "NORMAL"     // real-time
	dlfException  = "EXCEPTION"  // real-time
)

type dlfJob struct {
	dlfScope
	Seq       int       `json:"seq"`
	Def       dlfJobDef `json:"def"` // validated, defaults filled in
	CreatedAt time.Time `json:"created_at"`
	// Pending is the plan decided at creation, used by the first run:
	// rules apply to jobs created after them.
	Pending *dlfPlan `json:"pending,omitempty"`
	// Started: J9 turned scheduling (batch) or the real-time run on, and no
	// J15 has turned it off since.
	Started   bool        `json:"started"`
	StartedAt time.Time   `json:"started_at"`
	StoppedAt time.Time   `json:"stopped_at"`
	RealTime  *dlfAttempt `json:"real_time,omitempty"` // latest real-time run
	Starts    int         `json:"starts"`
	Stops     int         `json:"stops"`
	Runs      int         `json:"runs"` // run-immediate calls that created an instance
	Deleted   bool        `json:"deleted,omitempty"`
}

// status derives the job's status at now. Batch jobs are SCHEDULING while
// started (the emulator does not fire CRON or EVENT schedules); real-time
// jobs are STARTING, then NORMAL, or EXCEPTION once a failing run's
// duration is over. PAUSED and STOPPING are never reported.
func (j *dlfJob) status(now time.Time) string {
	if !j.Started {
		return dlfStoppedJob
	}
	if j.Def.JobType == dlfBatch {
		return dlfScheduling
	}
	a := j.RealTime
	elapsed := now.Sub(a.StartedAt)
	switch {
	case elapsed < a.Duration/dlfWaitShare:
		return dlfStarting
	case a.FailMessage != "" && !a.Hang && elapsed >= a.Duration:
		return dlfException
	default:
		return dlfNormal
	}
}

// dlfLookupJob finds a live job by name in the request's scope. e.mu is held.
func (e *Emulator) dlfLookupJob(scope dlfScope, name string) *dlfJob {
	for _, j := range e.dlf.Jobs {
		if !j.Deleted && j.name() == name && j.dlfScope == scope {
			return j
		}
	}
	return nil
}

func (j *dlfJob) name() string { return j.Def.Name }

func writeDLFJobNotFound(w http.ResponseWriter) {
	dlfError(w, dlfJobNotFound, "The job does not exists.")
}

// dlfTakePlan returns the plan of j's next run: the one decided at
// creation for the first run, else a fresh one; or an injected status.
// e.mu is held.
func (e *Emulator) dlfTakePlan(j *dlfJob) (dlfPlan, int) {
	if j.Pending != nil {
		p := *j.Pending
		j.Pending = nil
		return p, 0
	}
	b := e.behaviour(DLF, j.name())
	return dlfPlanOf(b), b.submitError
}

// dlfCheckDeps reports a dependJobs entry that names no job in scope.
// e.mu is held.
func (e *Emulator) dlfCheckDeps(scope dlfScope, deps []string) string {
	for _, d := range deps {
		if e.dlfLookupJob(scope, d) == nil {
			return fmt.Sprintf("The request parameter is invalid: dependJobs names job %q, which does not exist.", d)
		}
	}
	return ""
}

func (e *Emulator) dlfCreateJob(w http.ResponseWriter, r *http.Request) {
	var def dlfJobDef
	if err := decodeJSON(w, r, &def); err != nil {
		dlfBadBody(w, err)
		return
	}
	deps, c := def.validate()
	if c.code != "" {
		dlfError(w, c.code, c.msg)
		return
	}
	scope := dlfScopeOf(r)

	e.mu.Lock()
	if e.dlfLookupJob(scope, def.Name) != nil {
		e.mu.Unlock()
		dlfError(w, dlfJobExists, "The job name already exists.")
		return
	}
	if msg := e.dlfCheckDeps(scope, deps); msg != "" {
		e.mu.Unlock()
		dlfError(w, dlfBadParam, msg)
		return
	}
	b := e.behaviour(DLF, def.Name)
	if b.submitError != 0 {
		e.mu.Unlock()
		e.log.Info("emulator injected DLF job create error", "job", def.Name, "status", b.submitError)
		writeDLFInjected(w, b.submitError)
		return
	}
	plan := dlfPlanOf(b)
	j := &dlfJob{dlfScope: scope, Seq: e.nextDLFSeq(), Def: def, CreatedAt: e.now(), Pending: &plan}
	e.dlf.Jobs = append(e.dlf.Jobs, j)
	e.mu.Unlock()

	e.log.Info("emulator DLF job created", "job", def.Name, "workspace", scope.Workspace, "type", def.JobType)
	w.WriteHeader(http.StatusNoContent)
}

// dlfEditJob replaces a job's definition (J2). The name cannot change.
func (e *Emulator) dlfEditJob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("job_name")
	var def dlfJobDef
	if err := decodeJSON(w, r, &def); err != nil {
		dlfBadBody(w, err)
		return
	}
	if def.Name == "" {
		def.Name = name
	}
	deps, c := def.validate()
	if c.code == "" && def.Name != name {
		c.failf(dlfBadParam, "The request parameter is invalid: the job name cannot be changed from %s to %s.", name, def.Name)
	}
	scope := dlfScopeOf(r)

	e.mu.Lock()
	j := e.dlfLookupJob(scope, name)
	msg := ""
	if j != nil && c.code == "" && def.JobType != j.Def.JobType {
		c.failf(dlfBadParam, "The request parameter is invalid: the job type cannot be changed from %s to %s.", j.Def.JobType, def.JobType)
	}
	if j != nil && c.code == "" {
		if msg = e.dlfCheckDeps(scope, deps); msg == "" {
			j.Def = def
		}
	}
	e.mu.Unlock()
	switch {
	case j == nil:
		writeDLFJobNotFound(w)
	case c.code != "":
		dlfError(w, c.code, c.msg)
	case msg != "":
		dlfError(w, dlfBadParam, msg)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (e *Emulator) dlfDeleteJob(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	j := e.dlfLookupJob(dlfScopeOf(r), r.PathValue("job_name"))
	if j != nil {
		j.Deleted = true
	}
	e.mu.Unlock()
	if j == nil {
		writeDLFJobNotFound(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dlfJobView is the detail answer (J4): the create body as stored, with
// both jobType and processType, and the defaults the sample shows.
func (j *dlfJob) view() dlfJobDef {
	v := j.Def
	if v.BasicConfig == nil {
		zero, timeout := 0, 60
		v.BasicConfig = &dlfBasicConfig{Priority: &zero, InstanceTimeout: &timeout}
	}
	if v.LogPath == "" {
		v.LogPath = "obs://dlf-log-" + j.ProjectID
	}
	if v.Params == nil {
		v.Params = []dlfParam{}
	}
	return v
}

func (e *Emulator) dlfShowJob(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	var resp []byte
	j := e.dlfLookupJob(dlfScopeOf(r), r.PathValue("job_name"))
	if j != nil {
		// Encoded under the lock: the definition shares slices with state.
		resp, _ = json.Marshal(j.view()) // plain data; cannot fail
	}
	e.mu.Unlock()
	if j == nil {
		writeDLFJobNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, json.RawMessage(resp))
}

type dlfJobListItem struct {
	Name                string `json:"name"`
	JobType             string `json:"jobType"`
	Status              string `json:"status"`
	CreateUser          string `json:"createUser"`
	CreateTime          int64  `json:"createTime"`
	StartTime           int64  `json:"startTime,omitempty"`
	EndTime             int64  `json:"endTime,omitempty"`
	LastInstanceStatus  string `json:"lastInstanceStatus,omitempty"`
	LastInstanceEndTime int64  `json:"lastInstanceEndTime,omitempty"`
}

type dlfJobList struct {
	Total int              `json:"total"`
	Jobs  []dlfJobListItem `json:"jobs"`
}

// dlfListJobs is J3: jobType (default BATCH) filters, jobName matches a
// substring, jobs come newest first.
func (e *Emulator) dlfListJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	typ := q.Get("jobType")
	if typ == "" {
		typ = dlfBatch
	}
	offset, limit, ok := dlfPaging(r, 100)
	if !ok || (typ != dlfBatch && typ != dlfRealTime) {
		dlfError(w, dlfBadParam, "The request parameter is invalid.")
		return
	}
	name := q.Get("jobName")
	scope := dlfScopeOf(r)

	var items []dlfJobListItem
	e.mu.Lock()
	now := e.now()
	for _, j := range slices.Backward(e.dlf.Jobs) {
		if j.Deleted || j.dlfScope != scope || j.Def.JobType != typ || !strings.Contains(j.name(), name) {
			continue
		}
		it := dlfJobListItem{
			Name: j.name(), JobType: j.Def.JobType, Status: j.status(now), CreateUser: dlfOwner,
			CreateTime: j.CreatedAt.UnixMilli(), StartTime: dlfMillis(j.StartedAt),
		}
		if !j.Started {
			it.EndTime = dlfMillis(j.StoppedAt)
		}
		if in := e.dlfLastInstance(j); in != nil {
			status, ended, _ := in.state(now)
			it.LastInstanceStatus, it.LastInstanceEndTime = status, dlfMillis(ended)
		}
		items = append(items, it)
	}
	e.mu.Unlock()
	from, to := dlfPage(len(items), offset, limit)
	writeJSON(w, http.StatusOK, dlfJobList{Total: len(items), Jobs: append([]dlfJobListItem{}, items[from:to]...)})
}

// dlfLastInstance returns j's newest instance, or nil. e.mu is held.
func (e *Emulator) dlfLastInstance(j *dlfJob) *dlfInstance {
	for _, in := range slices.Backward(e.dlf.Instances) {
		if in.JobSeq == j.Seq {
			return in
		}
	}
	return nil
}

// dlfRunBody is the optional body of run-immediate and start.
type dlfRunBody struct {
	JobParams []dlfJobParam `json:"jobParams"`
}

type dlfJobParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (b *dlfRunBody) validate() string {
	for _, p := range b.JobParams {
		switch {
		case p.Name == "" || len([]rune(p.Name)) > 64:
			return fmt.Sprintf("The request parameter is invalid: jobParams name %q must be 1 to 64 characters.", p.Name)
		case len([]rune(p.Value)) > 1024:
			return fmt.Sprintf("The request parameter is invalid: the value of jobParams %s exceeds 1024 characters.", p.Name)
		}
	}
	return ""
}

func dlfReadRunBody(w http.ResponseWriter, r *http.Request) (dlfRunBody, bool) {
	var body dlfRunBody
	if err := dlfDecodeOptional(w, r, &body); err != nil {
		dlfBadBody(w, err)
		return body, false
	}
	if msg := body.validate(); msg != "" {
		dlfError(w, dlfBadParam, msg)
		return body, false
	}
	return body, true
}

type dlfRunResponse struct {
	InstanceID int64 `json:"instanceId"`
}

// dlfRunImmediate is J8: one instance now, whatever the schedule and job
// type.
func (e *Emulator) dlfRunImmediate(w http.ResponseWriter, r *http.Request) {
	body, ok := dlfReadRunBody(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	j := e.dlfLookupJob(dlfScopeOf(r), r.PathValue("job_name"))
	if j == nil {
		e.mu.Unlock()
		writeDLFJobNotFound(w)
		return
	}
	name := j.name()
	plan, injected := e.dlfTakePlan(j)
	var in *dlfInstance
	if injected == 0 {
		in = e.dlfNewInstance(j, "run-immediate", body.JobParams, plan)
		j.Runs++
		j.StartedAt = in.PlanTime
	}
	e.mu.Unlock()
	if injected != 0 {
		e.log.Info("emulator injected DLF run-immediate error", "job", name, "status", injected)
		writeDLFInjected(w, injected)
		return
	}
	e.log.Info("emulator DLF job run", "job", name, "instance", in.ID, "duration", plan.Duration, "fails", plan.FailMessage != "")
	writeJSON(w, http.StatusOK, dlfRunResponse{InstanceID: in.ID})
}

// dlfStartJob is J9. It turns a batch job's schedule on; an EXECUTE_ONCE
// batch job also runs once right away (one instance). A real-time job
// starts running. Starting a started job is refused.
func (e *Emulator) dlfStartJob(w http.ResponseWriter, r *http.Request) {
	body, ok := dlfReadRunBody(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	j := e.dlfLookupJob(dlfScopeOf(r), r.PathValue("job_name"))
	if j == nil {
		e.mu.Unlock()
		writeDLFJobNotFound(w)
		return
	}
	if j.Started {
		e.mu.Unlock()
		dlfError(w, dlfBadParam, fmt.Sprintf("The request parameter is invalid: job %s is already started.", r.PathValue("job_name")))
		return
	}
	now := e.now()
	name, typ, schedule := j.name(), j.Def.JobType, j.Def.Schedule.Type
	runs := typ == dlfRealTime || schedule == dlfExecuteOnce
	var plan dlfPlan
	var injected int
	if runs {
		plan, injected = e.dlfTakePlan(j)
	}
	if injected == 0 {
		j.Started, j.StartedAt = true, now
		j.Starts++
		switch {
		case typ == dlfRealTime:
			j.RealTime = &dlfAttempt{dlfPlan: plan, StartedAt: now}
		case runs:
			e.dlfNewInstance(j, "start", body.JobParams, plan)
		}
	}
	e.mu.Unlock()
	if injected != 0 {
		e.log.Info("emulator injected DLF start error", "job", name, "status", injected)
		writeDLFInjected(w, injected)
		return
	}
	e.log.Info("emulator DLF job started", "job", name, "type", typ, "schedule", schedule)
	w.WriteHeader(http.StatusNoContent)
}

// dlfStopJob is J15: scheduling or the real-time run stops; instances
// already running go on. Stopping a stopped job is accepted.
func (e *Emulator) dlfStopJob(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	j := e.dlfLookupJob(dlfScopeOf(r), r.PathValue("job_name"))
	if j != nil {
		now := e.now()
		if j.Started {
			j.Started, j.StoppedAt = false, now
			if j.RealTime != nil && j.RealTime.StoppedAt.IsZero() {
				j.RealTime.StoppedAt = now
			}
		}
		j.Stops++
	}
	e.mu.Unlock()
	if j == nil {
		writeDLFJobNotFound(w)
		return
	}
	e.log.Info("emulator DLF job stopped", "job", r.PathValue("job_name"))
	w.WriteHeader(http.StatusNoContent)
}

type dlfRealTimeNode struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Type    string `json:"type"`
	LogPath string `json:"logPath,omitempty"`
}

type dlfRealTimeBody struct {
	Name           string            `json:"name"`
	Nodes          []dlfRealTimeNode `json:"nodes"`
	Status         string            `json:"status"`
	StartTime      int64             `json:"startTime"`
	EndTime        int64             `json:"endTime,omitempty"`
	LastUpdateTime int64             `json:"lastUpdateTime"`
}

// dlfRealTimeStatus is J10, for real-time jobs only; every node reports
// the job's status, with the no-space type spelling this call documents.
func (e *Emulator) dlfRealTimeStatus(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	j := e.dlfLookupJob(dlfScopeOf(r), r.PathValue("job_name"))
	var resp dlfRealTimeBody
	realTime := j != nil && j.Def.JobType == dlfRealTime
	if realTime {
		now := e.now()
		status := j.status(now)
		resp = dlfRealTimeBody{Name: j.name(), Nodes: []dlfRealTimeNode{}, Status: status,
			StartTime: dlfMillis(j.StartedAt), LastUpdateTime: now.UnixMilli()}
		if !j.Started {
			resp.EndTime = dlfMillis(j.StoppedAt)
		}
		for _, n := range j.Def.Nodes {
			typ, _ := dlfCanonicalNodeType(n.Type)
			resp.Nodes = append(resp.Nodes, dlfRealTimeNode{Name: n.Name, Status: status, Type: typ})
		}
	}
	e.mu.Unlock()
	switch {
	case j == nil:
		writeDLFJobNotFound(w)
	case !realTime:
		dlfError(w, dlfBadParam, fmt.Sprintf("The request parameter is invalid: job %s is not a real-time job.", r.PathValue("job_name")))
	default:
		writeJSON(w, http.StatusOK, resp)
	}
}
