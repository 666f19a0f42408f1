// Package activities holds what every step kind's activities share: the
// request and result types the workflow passes, the fixed activity names,
// and the one place where service errors are classified for Temporal.
//
// Each step kind implements three activities (submit, wait, cancel), and
// Runner joins its submit and wait into the one activity a step runs; the
// service packages beside this one (dli, …) hold the clients and
// implementations.
package activities

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

// Names of a kind's activities. They are derived from the kind, which the
// planner has checked against its fixed table, never from other user input,
// so recorded histories keep replaying.
func SubmitName(kind string) string { return kind + ".submit" }
func WaitName(kind string) string   { return kind + ".wait" }
func CancelName(kind string) string { return kind + ".cancel" }

// StepRequest is the input of every step activity. It holds no secret:
// credentials are the worker's, resolved at call time.
type StepRequest struct {
	Pipeline string `json:"pipeline"`
	// RunKey identifies the run (workflow id and run id); with the step id
	// and attempt it makes the idempotency key of the external job.
	RunKey  string `json:"run_key"`
	StepID  string `json:"step_id"`
	Kind    string `json:"kind"`
	Attempt int    `json:"attempt"`
	// Item is the 1-based index of the for_each element this request is
	// for; 0 for a step without for_each.
	Item  int             `json:"item,omitempty"`
	Cloud spec.Cloud      `json:"cloud"`
	With  json.RawMessage `json:"with"`
	Poll  planner.Poll    `json:"poll"`
	// Retry is the step's retry block; a run activity spaces its tries of
	// a transiently failing submit by it.
	Retry *planner.Retry `json:"retry,omitempty"`
	// Job is set for wait and cancel: the handle submit returned. Cancel
	// may get an empty one when submit was interrupted; it then finds the
	// job by its idempotency key.
	Job *Job `json:"job,omitempty"`
}

// IdempotencyKey is the key a submit attaches to its external job (as a
// tag or in its name) so that a retried submit finds the job it already
// created instead of starting a second one.
func (r StepRequest) IdempotencyKey() string {
	in := fmt.Sprintf("%s\x00%s\x00%d", r.RunKey, r.StepID, r.Attempt)
	if r.Item > 0 {
		in += fmt.Sprintf("\x00%d", r.Item)
	}
	sum := sha256.Sum256([]byte(in))
	return "pipectl-" + hex.EncodeToString(sum[:12])
}

// Job is the handle of an external job.
type Job struct {
	ID string `json:"id"`
	// ProjectID the job was created in, so wait and cancel address the
	// same project even if the worker's default changes.
	ProjectID string `json:"project_id,omitempty"`
	// Reattached is true when submit found the job already created by an
	// earlier attempt.
	Reattached bool `json:"reattached,omitempty"`
	// Result is set by a submit that did the whole job itself (an http
	// step's call): wait then only hands it back.
	Result *Result `json:"result,omitempty"`
}

// Result is what a finished job reports.
type Result struct {
	// JobID is the external job's id (set by a run activity).
	JobID   string            `json:"job_id,omitempty"`
	State   string            `json:"state"`
	Message string            `json:"message,omitempty"`
	Outputs map[string]string `json:"outputs,omitempty"`
}

// Progress rides on a wait's "still running" error, so a client describing
// the workflow can show it live without adding history events.
type Progress struct {
	// Step and Item say whose job it is (set by a run activity).
	Step    string    `json:"step,omitempty"`
	Item    int       `json:"item,omitempty"`
	JobID   string    `json:"job_id"`
	State   string    `json:"state"`
	Percent float64   `json:"percent,omitempty"`
	Checked time.Time `json:"checked"`
}

// NextPoll returns how long to wait before status check number attempt
// (1-based): the poll interval at first, doubling to the cap, so short jobs
// finish promptly and long ones cost few calls.
func NextPoll(p planner.Poll, attempt int32) time.Duration {
	d := time.Duration(p.Interval)
	limit := time.Duration(p.MaxInterval)
	if d <= 0 {
		d = time.Second
	}
	for i := int32(1); i < attempt && d < limit; i++ {
		d *= 2
	}
	if limit > 0 && d > limit {
		d = limit
	}
	return d
}
