package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// DLF job instances: list (J11), detail (J12), stop (J17), retry (J18).
//
// An instance waits for the first 1/dlfWaitShare of its duration, then its
// nodes run one after the other (in preNodeName order), sharing the rest
// of the duration. A failing rule fails the last node at the end, with the
// rule's message as that node's failReason. A hanging instance runs its
// last node until stopped.

// Job instance statuses (table 7-103); running-exception and pause are
// documented but never produced.
const (
	dlfWaiting    = "waiting"
	dlfRunningIn  = "running"
	dlfSuccessIn  = "success"
	dlfFail       = "fail"
	dlfManualStop = "manual-stop"
	dlfSkip       = "skip" // nodes only
)

var dlfInstanceStatuses = []string{dlfWaiting, dlfRunningIn, dlfSuccessIn, dlfFail, "running-exception", "pause", dlfManualStop}

type dlfInstance struct {
	dlfScope
	JobSeq   int               `json:"job_seq"`
	JobName  string            `json:"job_name"`
	ID       int64             `json:"id"`
	Trigger  string            `json:"trigger"` // "run-immediate" or "start"
	Params   []dlfJobParam     `json:"params,omitempty"`
	PlanTime time.Time         `json:"plan_time"`
	Nodes    []dlfInstanceNode `json:"nodes"` // in execution order
	Attempt  dlfAttempt        `json:"attempt"`
	Stops    int               `json:"stops"`
	Restarts int               `json:"restarts"`
}

type dlfInstanceNode struct {
	Name string `json:"name"`
	Type string `json:"type"` // as the job defines it
}

type dlfNodeState struct {
	status     string
	start, end time.Time // zero until started / ended
	failReason string
}

// dlfNewInstance creates an instance of j running plan now. e.mu is held.
func (e *Emulator) dlfNewInstance(j *dlfJob, trigger string, params []dlfJobParam, plan dlfPlan) *dlfInstance {
	now := e.now()
	if e.dlf.LastInstanceID == 0 {
		e.dlf.LastInstanceID = dlfFirstInstanceID - 1
	}
	e.dlf.LastInstanceID++
	in := &dlfInstance{
		dlfScope: j.dlfScope, JobSeq: j.Seq, JobName: j.name(), ID: e.dlf.LastInstanceID, Trigger: trigger,
		Params: slices.Clone(params), PlanTime: now, Attempt: dlfAttempt{dlfPlan: plan, StartedAt: now},
	}
	for _, n := range dlfExecutionOrder(j.Def.Nodes) {
		in.Nodes = append(in.Nodes, dlfInstanceNode{Name: n.Name, Type: n.Type})
	}
	e.dlf.Instances = append(e.dlf.Instances, in)
	return in
}

// state derives the instance's status at now, when it ended, and each
// node's state.
func (in *dlfInstance) state(now time.Time) (status string, ended time.Time, nodes []dlfNodeState) {
	a := in.Attempt
	stopped := !a.StoppedAt.IsZero()
	if stopped {
		now = a.StoppedAt
	}
	wait := a.Duration / dlfWaitShare
	slot := (a.Duration - wait) / time.Duration(len(in.Nodes))
	end := a.StartedAt.Add(a.Duration)
	failed := a.FailMessage != "" && !a.Hang
	nodes = make([]dlfNodeState, len(in.Nodes))
	for i := range in.Nodes {
		last := i == len(in.Nodes)-1
		s := a.StartedAt.Add(wait + time.Duration(i)*slot)
		en := s.Add(slot)
		if last {
			en = end
		}
		n := &nodes[i]
		switch {
		case now.Before(s) && stopped:
			n.status = dlfSkip
		case now.Before(s):
			n.status = dlfWaiting
		case (a.Hang && last) || now.Before(en):
			n.status, n.start = dlfRunningIn, s
			if stopped {
				n.status, n.end = dlfManualStop, now
			}
		case last && failed:
			n.status, n.start, n.end, n.failReason = dlfFail, s, en, a.FailMessage
		default:
			n.status, n.start, n.end = dlfSuccessIn, s, en
		}
	}
	switch {
	case stopped:
		return dlfManualStop, a.StoppedAt, nodes
	case now.Before(a.StartedAt.Add(wait)):
		return dlfWaiting, time.Time{}, nodes
	case a.Hang || now.Before(end):
		return dlfRunningIn, time.Time{}, nodes
	case failed:
		return dlfFail, end, nodes
	default:
		return dlfSuccessIn, end, nodes
	}
}

func dlfInstanceActive(status string) bool { return status == dlfWaiting || status == dlfRunningIn }

// executeTime is the run's duration in ms so far (table: Long, ms; the
// samples' fractional values are not reproduced).
func (in *dlfInstance) executeTime(now, ended time.Time) int64 {
	if !ended.IsZero() {
		now = ended
	}
	return max(now.Sub(in.Attempt.StartedAt).Milliseconds(), 0)
}

// dlfInstanceItem is table 7-103. The table names the second field
// jobInstanceId, the samples jobInstanceName; both are sent, with the
// samples' value (the job name).
type dlfInstanceItem struct {
	JobName         string `json:"jobName"`
	JobInstanceID   string `json:"jobInstanceId"`
	JobInstanceName string `json:"jobInstanceName"`
	Status          string `json:"status"`
	PlanTime        int64  `json:"planTime"`
	StartTime       int64  `json:"startTime"`
	EndTime         int64  `json:"endTime,omitempty"`
	ExecuteTime     int64  `json:"executeTime"`
	InstanceID      int64  `json:"instanceId"`
	SubmitTime      int64  `json:"submitTime"`
}

type dlfInstanceList struct {
	Total     int               `json:"total"`
	Instances []dlfInstanceItem `json:"instances"`
}

// dlfListInstances is J11: newest first, filtered by exact jobName,
// planTime bounds (ms, inclusive) and status.
func (e *Emulator) dlfListInstances(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, limit, ok := dlfPaging(r, 1000)
	status := q.Get("status")
	var minPlan, maxPlan int64
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"minPlanTime", &minPlan}, {"maxPlanTime", &maxPlan}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			ok = ok && err == nil && n >= 0
			*p.dst = n
		}
	}
	if !ok || (status != "" && !slices.Contains(dlfInstanceStatuses, status)) {
		dlfError(w, dlfBadParam, "The request parameter is invalid.")
		return
	}
	name, scope := q.Get("jobName"), dlfScopeOf(r)

	var items []dlfInstanceItem
	e.mu.Lock()
	now := e.now()
	for _, in := range slices.Backward(e.dlf.Instances) {
		plan := in.PlanTime.UnixMilli()
		if in.dlfScope != scope || (name != "" && in.JobName != name) ||
			(minPlan != 0 && plan < minPlan) || (maxPlan != 0 && plan > maxPlan) {
			continue
		}
		st, ended, _ := in.state(now)
		if status != "" && st != status {
			continue
		}
		items = append(items, dlfInstanceItem{
			JobName: in.JobName, JobInstanceID: in.JobName, JobInstanceName: in.JobName, Status: st,
			PlanTime: plan, StartTime: in.Attempt.StartedAt.UnixMilli(), EndTime: dlfMillis(ended),
			ExecuteTime: in.executeTime(now, ended), InstanceID: in.ID, SubmitTime: plan,
		})
	}
	e.mu.Unlock()
	from, to := dlfPage(len(items), offset, limit)
	writeJSON(w, http.StatusOK, dlfInstanceList{Total: len(items), Instances: append([]dlfInstanceItem{}, items[from:to]...)})
}

// dlfNodeView is table 7-107. failReason is not in the reference; the
// emulator adds it so a failing rule's message reaches the client.
type dlfNodeView struct {
	NodeName      string  `json:"nodeName"`
	Status        string  `json:"status"`
	PlanTime      int64   `json:"planTime"`
	StartTime     int64   `json:"startTime"`
	EndTime       int64   `json:"endTime,omitempty"`
	Type          string  `json:"type"`
	RetryTimes    int     `json:"retryTimes"`
	InstanceID    int64   `json:"instanceId"`
	InputRowCount int64   `json:"inputRowCount"`
	Speed         float64 `json:"speed"`
	LogPath       string  `json:"logPath,omitempty"`
	FailReason    string  `json:"failReason,omitempty"`
}

// dlfInstanceDetail is table 7-106. The sample repeats instanceId with two
// values; the one of the path is sent once.
type dlfInstanceDetail struct {
	JobName     string        `json:"jobName"`
	InstanceID  int64         `json:"instanceId"`
	Status      string        `json:"status"`
	PlanTime    int64         `json:"planTime"`
	StartTime   int64         `json:"startTime"`
	EndTime     int64         `json:"endTime,omitempty"`
	ExecuteTime int64         `json:"executeTime"`
	Total       int           `json:"total"`
	Nodes       []dlfNodeView `json:"nodes"`
}

// dlfLookupInstance finds the instance of the request path. It answers the
// error itself and returns nil when there is none. e.mu is held.
func (e *Emulator) dlfLookupInstance(w http.ResponseWriter, r *http.Request) *dlfInstance {
	scope, name := dlfScopeOf(r), r.PathValue("job_name")
	id, err := strconv.ParseInt(r.PathValue("instance_id"), 10, 64)
	if err != nil {
		dlfError(w, dlfBadParam, fmt.Sprintf("The request parameter is invalid: instance_id %q is not a number.", r.PathValue("instance_id")))
		return nil
	}
	j := e.dlfLookupJob(scope, name)
	if j == nil {
		writeDLFJobNotFound(w)
		return nil
	}
	for _, in := range e.dlf.Instances {
		if in.ID == id && in.JobSeq == j.Seq {
			return in
		}
	}
	dlfError(w, dlfInstanceNotFound, "Job instance does not exist.")
	return nil
}

func (in *dlfInstance) detail(now time.Time) dlfInstanceDetail {
	status, ended, states := in.state(now)
	plan := in.PlanTime.UnixMilli()
	d := dlfInstanceDetail{
		JobName: in.JobName, InstanceID: in.ID, Status: status, PlanTime: plan,
		StartTime: in.Attempt.StartedAt.UnixMilli(), EndTime: dlfMillis(ended),
		ExecuteTime: in.executeTime(now, ended), Total: len(in.Nodes), Nodes: make([]dlfNodeView, len(in.Nodes)),
	}
	for i, n := range in.Nodes {
		s := states[i]
		v := dlfNodeView{
			NodeName: n.Name, Status: s.status, PlanTime: plan, StartTime: dlfMillis(s.start), EndTime: dlfMillis(s.end),
			Type: n.Type, InstanceID: in.ID, FailReason: s.failReason,
		}
		if !s.start.IsZero() {
			// The samples' layout: obs://dlf-log-<project>/<job>/<yyyy-MM-dd HH_mm_ss.SSS>/<node>/<node>.job
			v.LogPath = fmt.Sprintf("obs://dlf-log-%s/%s/%s/%s/%s.job", in.ProjectID, in.JobName,
				in.Attempt.StartedAt.UTC().Format("2006-01-02 15_04_05.000"), n.Name, n.Name)
		}
		d.Nodes[i] = v
	}
	return d
}

func (e *Emulator) dlfShowInstance(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	in := e.dlfLookupInstance(w, r)
	var resp dlfInstanceDetail
	if in != nil {
		resp = in.detail(e.now())
	}
	e.mu.Unlock()
	if in != nil {
		writeJSON(w, http.StatusOK, resp)
	}
}

// dlfStopInstance is J17. The reference allows it "only in the running
// state"; a waiting instance can be stopped too, so a stop right after
// run-immediate does not race the wait.
func (e *Emulator) dlfStopInstance(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.dlfLookupInstance(w, r)
	if in == nil {
		return
	}
	now := e.now()
	status, _, _ := in.state(now)
	if !dlfInstanceActive(status) {
		dlfError(w, dlfBadParam, fmt.Sprintf("The request parameter is invalid: job instance %d is %s, not running.", in.ID, status))
		return
	}
	in.Attempt.StoppedAt = now
	in.Stops++
	e.log.Info("emulator DLF instance stopped", "job", in.JobName, "instance", in.ID)
	w.WriteHeader(http.StatusNoContent)
}

// dlfRestartInstance is J18: a successful, failed or stopped instance runs
// again under the same ID, with the rules deciding afresh.
func (e *Emulator) dlfRestartInstance(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.dlfLookupInstance(w, r)
	if in == nil {
		return
	}
	now := e.now()
	status, _, _ := in.state(now)
	if dlfInstanceActive(status) {
		dlfError(w, dlfBadParam, fmt.Sprintf("The request parameter is invalid: job instance %d is %s and cannot be retried.", in.ID, status))
		return
	}
	b := e.behaviour(DLF, in.JobName)
	if b.submitError != 0 {
		e.log.Info("emulator injected DLF retry error", "job", in.JobName, "instance", in.ID, "status", b.submitError)
		writeDLFInjected(w, b.submitError)
		return
	}
	in.Attempt = dlfAttempt{dlfPlan: dlfPlanOf(b), StartedAt: now}
	in.Restarts++
	e.log.Info("emulator DLF instance retried", "job", in.JobName, "instance", in.ID, "fails", b.failMessage != "")
	w.WriteHeader(http.StatusNoContent)
}
