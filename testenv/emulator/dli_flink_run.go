package emulator

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
)

// This file implements running (§9.6), stopping (§9.10) and deleting
// (§9.11, §9.12) Flink jobs.

// flinkBatchResult is one element of the run and stop responses: a
// top-level JSON array with one element per requested job, in order.
type flinkBatchResult struct {
	IsSuccess bool   `json:"is_success"`
	Message   string `json:"message"`
}

type flinkJobIDsRequest struct {
	JobIDs           []int64 `json:"job_ids"`
	ResumeSavepoint  bool    `json:"resume_savepoint"`  // run
	TriggerSavepoint bool    `json:"trigger_savepoint"` // stop
}

// decodeJobIDs reads a body with job_ids; on error it has answered.
func decodeJobIDs(w http.ResponseWriter, r *http.Request) (flinkJobIDsRequest, bool) {
	var req flinkJobIDsRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeDLIParamError(w, "invalid request body: "+err.Error())
		return req, false
	}
	if len(req.JobIDs) == 0 {
		writeDLIParamError(w, "job_ids is mandatory and cannot be empty")
		return req, false
	}
	return req, true
}

// flinkFindAll resolves every requested ID to a live job of the project;
// on an unknown ID it answers 400 and returns nil. e.mu is held.
func (e *Emulator) flinkFindAll(w http.ResponseWriter, r *http.Request, ids []int64) []*flinkJob {
	jobs := make([]*flinkJob, len(ids))
	for i, id := range ids {
		if jobs[i] = e.flinkFind(r.PathValue("project_id"), id); jobs[i] == nil {
			writeFlinkJobNotFound(w, id)
			return nil
		}
	}
	return jobs
}

// flinkRunJobs starts every requested job that is not already active.
// Each start takes its behaviour from the rules; if one of them injects a
// submit error, the whole request answers with it and nothing starts.
func (e *Emulator) flinkRunJobs(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeJobIDs(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	jobs := e.flinkFindAll(w, r, req.JobIDs)
	if jobs == nil {
		e.mu.Unlock()
		return
	}
	now := e.now()
	results := make([]flinkBatchResult, len(jobs))
	runs := make([]*flinkRun, len(jobs))
	injected := 0
	for i, j := range jobs {
		status, _, _ := j.status(now)
		if k := slices.Index(jobs, j); k < i && runs[k] != nil {
			status = flinkSubmitting // listed twice: started by the first
		}
		if flinkActive(status) || flinkStopping(status) {
			results[i] = flinkBatchResult{Message: fmt.Sprintf("The job %d is %s and cannot be run until it stops.", j.ID, status)}
			continue
		}
		b := e.behaviour(DLI, j.Name)
		if b.submitError != 0 {
			injected = b.submitError
			break
		}
		run := &flinkRun{StartedAt: now, Duration: b.duration, Hang: b.hang, FailMessage: b.failMessage,
			SubmitFail: b.failMessage != "" && b.failCode == flinkSubmitFail, ResumeSavepoint: req.ResumeSavepoint}
		if msg := j.unrunnable(); msg != "" {
			run.Hang, run.SubmitFail, run.FailMessage = false, true, msg
		}
		runs[i] = run
		results[i] = flinkBatchResult{IsSuccess: true, Message: "The request for submitting DLI jobs is delivered successfully."}
	}
	if injected == 0 {
		for i, j := range jobs {
			if runs[i] != nil {
				j.Runs = append(j.Runs, *runs[i])
				e.log.Info("emulator Flink job run", "job_id", j.ID, "duration", runs[i].Duration,
					"hang", runs[i].Hang, "fails", runs[i].FailMessage != "")
			}
		}
	}
	e.mu.Unlock()

	if injected != 0 {
		e.log.Info("emulator injected Flink run error", "status", injected)
		if injected == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		code, msg := injectedDLIError(injected)
		writeError(w, injected, code, msg)
		return
	}
	writeJSON(w, http.StatusOK, results)
}

// unrunnable says why a run of the job cannot be submitted, or "".
func (j *flinkJob) unrunnable() string {
	switch {
	case j.Type == flinkJarJob && j.Config.Entrypoint == "":
		return "Failed to submit the job: no JAR package (entrypoint) is specified."
	case j.Type != flinkJarJob && j.SQLBody == "" && j.TemplateID == 0:
		return "Failed to submit the job: the SQL statement (sql_body) is empty."
	}
	return ""
}

// flinkStopJobs stops every requested job that is submitting or running.
// The reference documents an array response (table 9-50) but its sample
// is a single object (@7263); the emulator sends the documented array,
// like the run API.
func (e *Emulator) flinkStopJobs(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeJobIDs(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	jobs := e.flinkFindAll(w, r, req.JobIDs)
	if jobs == nil {
		return
	}
	now := e.now()
	results := make([]flinkBatchResult, len(jobs))
	for i, j := range jobs {
		status, _, _ := j.status(now)
		switch {
		case flinkActive(status):
			run := j.lastRun()
			run.StopAt, run.StopSpan, run.Savepoint = now, run.Duration/launchShare, req.TriggerSavepoint
			j.Stops++
			if req.TriggerSavepoint {
				j.SavepointPath = fmt.Sprintf("obs://%s/savepoints/%d/%d",
					cmp.Or(j.Config.ObsBucket, "dli-emulator"), j.ID, now.UnixMilli())
			}
			e.log.Info("emulator Flink job stopped", "job_id", j.ID, "was", status, "savepoint", req.TriggerSavepoint)
			results[i] = flinkBatchResult{IsSuccess: true, Message: "The request for stopping DLI jobs is delivered successfully."}
		case flinkStopping(status):
			// Already stopping: a repeated stop is accepted and changes nothing.
			results[i] = flinkBatchResult{IsSuccess: true, Message: "The request for stopping DLI jobs is delivered successfully."}
		default:
			results[i] = flinkBatchResult{Message: fmt.Sprintf("The job %d is %s and cannot be stopped.", j.ID, status)}
		}
	}
	writeJSON(w, http.StatusOK, results)
}

// flinkDelete deletes a live job at now: a run in progress ends at once
// (job_cancel_success) and the record stays for introspection. e.mu is held.
func (e *Emulator) flinkDelete(j *flinkJob) {
	now := e.now()
	if status, _, _ := j.status(now); flinkActive(status) {
		run := j.lastRun()
		run.StopAt, run.StopSpan, run.Savepoint = now, 0, false
	}
	j.DeletedAt = now
	e.log.Info("emulator Flink job deleted", "job_id", j.ID)
}

func (e *Emulator) flinkDeleteJob(w http.ResponseWriter, r *http.Request) {
	id, ok := flinkPathID(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.flinkFind(r.PathValue("project_id"), id)
	if j == nil {
		writeFlinkJobNotFound(w, id)
		return
	}
	e.flinkDelete(j)
	writeJSON(w, http.StatusOK, dliEnvelope{IsSuccess: true, Message: "The job is deleted successfully."})
}

// flinkDeleteJobs deletes every requested job, or none if one is unknown.
func (e *Emulator) flinkDeleteJobs(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeJobIDs(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	jobs := e.flinkFindAll(w, r, req.JobIDs)
	if jobs == nil {
		return
	}
	for _, j := range jobs {
		if j.DeletedAt.IsZero() { // listed twice
			e.flinkDelete(j)
		}
	}
	writeJSON(w, http.StatusOK, dliEnvelope{IsSuccess: true, Message: "The job is deleted successfully."})
}
