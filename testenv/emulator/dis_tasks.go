package emulator

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// Dump (transfer) tasks (DIS reference §5.5).
//
// The reference does not say which state a new task is in. The emulator
// starts it at once, like the console does: STARTING for the duration the
// rules give the task name, then RUNNING, or ERROR with the rule's message
// (reported in an extra "error_message" field, which the reference lacks).
// The batch stop action pauses a task (PAUSED) and the batch start action
// restarts a PAUSED or ERROR one, applying the rules afresh. DELETE and
// ABNORMAL are never reported: a deleted task disappears (DIS.4354).
const (
	disTaskError    = "ERROR"
	disTaskStarting = "STARTING"
	disTaskPaused   = "PAUSED"
	disTaskRunning  = "RUNNING"

	disTasksPerStream = 5 // DIS.4357
)

type disTask struct {
	Seq              int // creation order over all streams
	ID, Name         string
	DestinationType  string          // canonical: CLOUDTABLE for CLOUDBASE
	Descriptor       json.RawMessage // as sent, with the defaults filled in
	DeliverEvery     time.Duration   // deliver_time_interval
	ConsumerStrategy string
	CreatedAt        time.Time
	StartedAt        time.Time // creation or the last start that restarted it
	PausedAt         time.Time // zero unless PAUSED
	// The rules in force at StartedAt.
	StartingFor  time.Duration
	Hang         bool
	FailMessage  string
	LastTransfer time.Time // last delivery of the runs before the current one
	Starts       int       // start actions that named the task
	Pauses       int       // stop actions that named the task
}

func (t *disTask) state(now time.Time) string {
	switch {
	case !t.PausedAt.IsZero():
		return disTaskPaused
	case t.Hang || now.Sub(t.StartedAt) < t.StartingFor:
		return disTaskStarting
	case t.FailMessage != "":
		return disTaskError
	default:
		return disTaskRunning
	}
}

func (t *disTask) message(state string) string {
	if state == disTaskError {
		return t.FailMessage
	}
	return ""
}

// lastTransfer is the time of the task's last delivery at now: a running
// task delivers every deliver_time_interval from the moment it runs.
func (t *disTask) lastTransfer(now time.Time) time.Time {
	last := t.LastTransfer
	if t.Hang || t.FailMessage != "" {
		return last
	}
	running, end := t.StartedAt.Add(t.StartingFor), now
	if !t.PausedAt.IsZero() {
		end = t.PausedAt
	}
	if ticks := end.Sub(running) / t.DeliverEvery; ticks >= 1 {
		if tick := running.Add(ticks * t.DeliverEvery); tick.After(last) {
			return tick
		}
	}
	return last
}

// delivered is the sequence number of the last record of p the task has
// delivered by its last transfer (-1 when none) and how many records it
// delivered: LATEST tasks only take records written after their creation.
func (t *disTask) delivered(p *disPartition, lastTransfer time.Time) (last int64, n int) {
	last = -1
	if lastTransfer.IsZero() {
		return last, 0
	}
	for _, rec := range p.Records {
		if rec.Timestamp.After(lastTransfer) {
			break
		}
		if t.ConsumerStrategy == "LATEST" && rec.Timestamp.Before(t.CreatedAt) {
			continue
		}
		last = rec.Seq
		n++
	}
	return last, n
}

// restart applies b (the rules for a start) from now on.
func (t *disTask) restart(b behaviour, now time.Time) {
	if !t.StartedAt.IsZero() { // not a new task
		t.LastTransfer = t.lastTransfer(now)
	}
	t.StartedAt, t.PausedAt = now, time.Time{}
	t.StartingFor, t.Hang, t.FailMessage = b.duration, b.hang, b.failMessage
}

// e.mu is held.
func (s *disStream) task(name string) *disTask {
	for _, t := range s.Tasks {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// disCreateTask adds a dump task for any destination. The same path also
// takes the batch start/stop action when the URL has "?action", as the
// DAYU samples post it (DAYU @9130, @9193).
func (e *Emulator) disCreateTask(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if d := decodeDISBody(w, r, &body); d != nil {
		writeDISError(w, d)
		return
	}
	normaliseDISKeys(body)
	if _, isCreate := body["destination_type"]; r.URL.Query().Has("action") || (!isCreate && body["action"] != nil) {
		raw, _ := json.Marshal(body) // a map of raw JSON values: cannot fail
		var req disTaskActionRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			writeDISError(w, &disErr{code: disBadBody, detail: err.Error()})
			return
		}
		e.disApplyTaskAction(w, r, &req)
		return
	}
	spec, d := parseDISTaskRequest(body)
	if d != nil {
		writeDISError(w, d)
		return
	}
	project, streamName := r.PathValue("project_id"), r.PathValue("stream_name")

	e.mu.Lock()
	t, injected, d := e.disCreateTaskLocked(project, streamName, spec)
	e.mu.Unlock()
	switch {
	case d != nil:
		writeDISError(w, d)
	case injected != 0:
		e.log.Info("emulator injected DIS create dump task error", "project", project, "stream", streamName, "task", spec.name, "status", injected)
		writeDISInjected(w, injected)
	default:
		e.log.Info("emulator DIS dump task created", "project", project, "stream", streamName, "task", t.Name,
			"destination", t.DestinationType, "starting_for", t.StartingFor, "fails", t.FailMessage != "")
		disNoContent(w, http.StatusCreated)
	}
}

func parseDISTaskRequest(body map[string]json.RawMessage) (*disTaskSpec, *disErr) {
	var dest string
	if err := json.Unmarshal(body["destination_type"], &dest); err != nil || dest == "" {
		return nil, disErrorf(disInvalidRequest, "destination_type is mandatory and must be a string")
	}
	canonical, ok := disDestination(dest)
	if !ok {
		return nil, disErrorf(disInvalidRequest, "destination_type must be OBS, DWS, MRS, DLI or CLOUDTABLE, got %q", dest)
	}
	key := disDescriptorKey(canonical)
	raw, ok := body[key]
	if !ok || string(raw) == "null" {
		return nil, disErrorf(disInvalidRequest, "%s is mandatory with destination_type %s", key, dest)
	}
	return parseDISDescriptor(canonical, raw)
}

// e.mu is held.
func (e *Emulator) disCreateTaskLocked(project, streamName string, spec *disTaskSpec) (*disTask, int, *disErr) {
	now := e.now()
	s, d := e.disRunningStream(project, streamName, "", now)
	switch {
	case d != nil:
		return nil, 0, d
	case s.task(spec.name) != nil:
		return nil, 0, disErrorf(disTaskExists, "%s", spec.name)
	case len(s.Tasks) >= disTasksPerStream:
		return nil, 0, disErrorf(disTaskQuota, "stream %s has %d dump tasks", streamName, len(s.Tasks))
	case spec.fileType != "" && spec.fileType != "text" && s.DataType != "JSON":
		return nil, 0, disErrorf(disInvalidRequest, "destination_file_type %s needs a JSON stream, %s is %s", spec.fileType, streamName, s.DataType)
	}
	b := e.behaviour(DIS, spec.name)
	if b.submitError != 0 {
		return nil, b.submitError, nil
	}
	t := &disTask{
		Seq:              e.dis.Counts.TaskCreates,
		ID:               newDISID(19),
		Name:             spec.name,
		DestinationType:  spec.destination,
		Descriptor:       spec.descriptor,
		DeliverEvery:     spec.deliverEvery,
		ConsumerStrategy: spec.strategy,
		CreatedAt:        now,
	}
	t.restart(b, now)
	s.Tasks = append(s.Tasks, t)
	e.dis.Counts.TaskCreates++
	return t, 0, nil
}

// disTaskEntry is a TransferTask of the task list, with task_id, which only
// the samples show but the batch actions need.
type disTaskEntry struct {
	TaskID                string `json:"task_id"`
	TaskName              string `json:"task_name"`
	State                 string `json:"state"`
	DestinationType       string `json:"destination_type"`
	CreateTime            int64  `json:"create_time"`
	LastTransferTimestamp int64  `json:"last_transfer_timestamp"`
	ErrorMessage          string `json:"error_message,omitempty"`
}

func (t *disTask) entry(now time.Time) disTaskEntry {
	state := t.state(now)
	return disTaskEntry{
		TaskID:                t.ID,
		TaskName:              t.Name,
		State:                 state,
		DestinationType:       t.DestinationType,
		CreateTime:            disMillis(t.CreatedAt),
		LastTransferTimestamp: disMillis(t.lastTransfer(now)),
		ErrorMessage:          t.message(state),
	}
}

type disListTasksResponse struct {
	TotalNumber int            `json:"total_number"`
	Quota       int            `json:"quota"`
	Tasks       []disTaskEntry `json:"tasks"`
}

func (e *Emulator) disListTasks(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("stream_name")
	e.mu.Lock()
	now := e.now()
	s := e.disStream(r.PathValue("project_id"), name, "")
	resp := disListTasksResponse{Quota: disTasksPerStream, Tasks: []disTaskEntry{}}
	if s != nil {
		for _, t := range s.Tasks {
			resp.Tasks = append(resp.Tasks, t.entry(now))
		}
		resp.TotalNumber = len(resp.Tasks)
	}
	e.mu.Unlock()
	if s == nil {
		writeDISError(w, &disErr{code: disStreamNotFound, detail: name})
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// disTaskPartition merges the documented PartitionResult (status,
// partition_id, ...) with the sample's per-partition dump progress
// (partitionId, discard, state, last_transfer_*; DIS @2383).
type disTaskPartition struct {
	Status                string `json:"status"`
	PartitionID           string `json:"partition_id"`
	PartitionIDCamel      string `json:"partitionId"`
	HashRange             string `json:"hash_range"`
	SequenceNumberRange   string `json:"sequence_number_range"`
	Discard               int    `json:"discard"`
	State                 string `json:"state"`
	LastTransferTimestamp int64  `json:"last_transfer_timestamp"`
	LastTransferOffset    int64  `json:"last_transfer_offset"`
}

// disDescribeTask answers the task details. The descriptor is echoed under
// every name the reference uses for it (see disDescriptionKeys).
func (e *Emulator) disDescribeTask(w http.ResponseWriter, r *http.Request) {
	streamName, taskName := r.PathValue("stream_name"), r.PathValue("task_name")
	e.mu.Lock()
	resp, d := e.disDescribeTaskLocked(r.PathValue("project_id"), streamName, taskName)
	e.mu.Unlock()
	if d != nil {
		writeDISError(w, d)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// e.mu is held.
func (e *Emulator) disDescribeTaskLocked(project, streamName, taskName string) (map[string]any, *disErr) {
	s := e.disStream(project, streamName, "")
	if s == nil {
		return nil, &disErr{code: disStreamNotFound, detail: streamName}
	}
	t := s.task(taskName)
	if t == nil {
		return nil, disErrorf(disTaskNotFound, "%s", taskName)
	}
	now := e.now()
	s.expire(now)
	entry := t.entry(now)
	last := t.lastTransfer(now)
	streamStatus := s.status(now)
	partitions := []disTaskPartition{}
	for _, p := range s.Partitions {
		offset, _ := t.delivered(p, last)
		partitions = append(partitions, disTaskPartition{
			Status:                s.partitionStatus(p, streamStatus, now),
			PartitionID:           disPartitionID(p.Index),
			PartitionIDCamel:      disPartitionID(p.Index),
			HashRange:             disHashRange(p),
			SequenceNumberRange:   disSequenceRange(p),
			State:                 entry.State,
			LastTransferTimestamp: entry.LastTransferTimestamp,
			LastTransferOffset:    offset,
		})
	}
	resp := map[string]any{
		"stream_name":             s.Name,
		"stream_id":               s.ID,
		"task_name":               t.Name,
		"task_id":                 t.ID,
		"destination_type":        t.DestinationType,
		"state":                   entry.State,
		"create_time":             entry.CreateTime,
		"last_transfer_timestamp": entry.LastTransferTimestamp,
		"partitions":              partitions,
	}
	if entry.ErrorMessage != "" {
		resp["error_message"] = entry.ErrorMessage
	}
	for _, k := range disDescriptionKeys(t.DestinationType) {
		resp[k] = t.Descriptor
	}
	return resp, nil
}

func (e *Emulator) disDeleteTask(w http.ResponseWriter, r *http.Request) {
	project, streamName, taskName := r.PathValue("project_id"), r.PathValue("stream_name"), r.PathValue("task_name")
	e.mu.Lock()
	var d *disErr
	switch s := e.disStream(project, streamName, ""); {
	case s == nil:
		d = &disErr{code: disStreamNotFound, detail: streamName}
	case s.task(taskName) == nil:
		d = disErrorf(disTaskNotFound, "%s", taskName)
	default:
		s.Tasks = slices.DeleteFunc(s.Tasks, func(t *disTask) bool { return t.Name == taskName })
		e.dis.Counts.TaskDeletes++
	}
	e.mu.Unlock()
	if d != nil {
		writeDISError(w, d)
		return
	}
	e.log.Info("emulator DIS dump task deleted", "project", project, "stream", streamName, "task", taskName)
	disNoContent(w, http.StatusNoContent)
}

type disTaskActionRequest struct {
	Action string `json:"action"`
	Tasks  []struct {
		ID string `json:"id"`
	} `json:"tasks"`
}

func (e *Emulator) disTaskAction(w http.ResponseWriter, r *http.Request) {
	var req disTaskActionRequest
	if d := decodeDISBody(w, r, &req); d != nil {
		writeDISError(w, d)
		return
	}
	e.disApplyTaskAction(w, r, &req)
}

// disApplyTaskAction starts or pauses the tasks, given by task_id, all or
// none: an unknown ID fails the whole request. Starting a STARTING or
// RUNNING task and pausing a PAUSED one change nothing.
func (e *Emulator) disApplyTaskAction(w http.ResponseWriter, r *http.Request, req *disTaskActionRequest) {
	var d *disErr
	switch {
	case req.Action != "start" && req.Action != "stop":
		d = disErrorf(disInvalidRequest, "action must be start or stop, got %q", req.Action)
	case len(req.Tasks) == 0:
		d = disErrorf(disInvalidRequest, "tasks is mandatory and cannot be empty")
	}
	for _, t := range req.Tasks {
		if d == nil && t.ID == "" {
			d = disErrorf(disInvalidRequest, "tasks[].id is mandatory")
		}
	}
	if d != nil {
		writeDISError(w, d)
		return
	}
	project, streamName := r.PathValue("project_id"), r.PathValue("stream_name")

	e.mu.Lock()
	injected, d := e.disApplyTaskActionLocked(project, streamName, req)
	e.mu.Unlock()
	switch {
	case d != nil:
		writeDISError(w, d)
	case injected != 0:
		e.log.Info("emulator injected DIS dump task start error", "project", project, "stream", streamName, "status", injected)
		writeDISInjected(w, injected)
	default:
		e.log.Info("emulator DIS dump tasks "+req.Action, "project", project, "stream", streamName, "tasks", len(req.Tasks))
		disNoContent(w, http.StatusOK)
	}
}

// e.mu is held.
func (e *Emulator) disApplyTaskActionLocked(project, streamName string, req *disTaskActionRequest) (int, *disErr) {
	now := e.now()
	s := e.disStream(project, streamName, "")
	if s == nil {
		return 0, &disErr{code: disStreamNotFound, detail: streamName}
	}
	var tasks []*disTask
	for _, ref := range req.Tasks {
		i := slices.IndexFunc(s.Tasks, func(t *disTask) bool { return t.ID == ref.ID })
		if i < 0 {
			return 0, disErrorf(disTaskNotFound, "no dump task of stream %s has the id %s", streamName, ref.ID)
		}
		if !slices.Contains(tasks, s.Tasks[i]) {
			tasks = append(tasks, s.Tasks[i])
		}
	}
	if req.Action == "stop" {
		for _, t := range tasks {
			if t.PausedAt.IsZero() {
				t.PausedAt = now
			}
			t.Pauses++
			e.dis.Counts.TaskPauses++
		}
		return 0, nil
	}
	if st := s.status(now); st != disRunning {
		return 0, disErrorf(disStreamNotRunning, "Stream %s is %s.", streamName, st)
	}
	// Decide every restart before applying any, so that an injected error
	// leaves all the tasks as they were.
	restarts := map[*disTask]behaviour{}
	for _, t := range tasks {
		if st := t.state(now); st == disTaskPaused || st == disTaskError {
			b := e.behaviour(DIS, t.Name)
			if b.submitError != 0 {
				return b.submitError, nil
			}
			restarts[t] = b
		}
	}
	for _, t := range tasks {
		if b, ok := restarts[t]; ok {
			t.restart(b, now)
		}
		t.Starts++
		e.dis.Counts.TaskStarts++
	}
	return 0, nil
}
