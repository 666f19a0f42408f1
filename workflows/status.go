package workflows

import "time"

// RunState is the state of a pipeline run.
type RunState string

const (
	RunRunning   RunState = "running"
	RunSucceeded RunState = "succeeded"
	RunFailed    RunState = "failed"
	RunCancelled RunState = "cancelled"
)

// StepState is the state of one step in a run.
type StepState string

const (
	StepPending   StepState = "pending"
	StepRunning   StepState = "running"
	StepSucceeded StepState = "succeeded"
	StepFailed    StepState = "failed"
	StepCancelled StepState = "cancelled"
	// StepSkipped: the step did not run: its condition was false, a
	// dependency did not succeed, the run stopped first, or an operator
	// skipped it.
	StepSkipped StepState = "skipped"
	// StepSuspended: the step failed under on_failure: suspend and waits
	// for an operator to retry, skip or abort it.
	StepSuspended StepState = "suspended"
)

// Done reports whether the step has finished, one way or another.
func (s StepState) Done() bool {
	return s != StepPending && s != StepRunning && s != StepSuspended
}

// Status is what the status query returns, and the result of a run.
type Status struct {
	Pipeline string   `json:"pipeline"`
	SpecHash string   `json:"spec_hash"`
	State    RunState `json:"state"`
	// LogicalTime is what the run is for: the schedule's nominal time for
	// scheduled and backfilled runs, the start time otherwise.
	LogicalTime time.Time    `json:"logical_time"`
	StartedAt   time.Time    `json:"started_at"`
	EndedAt     time.Time    `json:"ended_at,omitzero"`
	Steps       []StepStatus `json:"steps"`
	// OutputsOmitted: this is a run's result that leaves the steps'
	// outputs out, because with them it would pass Temporal's payload
	// limit. The status query of the run has them.
	OutputsOmitted bool `json:"outputs_omitted,omitempty"`
}

// StepStatus is one step's part of Status.
type StepStatus struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	State     StepState `json:"state"`
	Attempt   int       `json:"attempt,omitempty"`
	JobID     string    `json:"job_id,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	Error     string    `json:"error,omitempty"`
	// Outputs are strings, or lists of strings for a for_each step.
	Outputs map[string]any `json:"outputs,omitempty"`
	// SkipReason says why a skipped step did not run.
	SkipReason string `json:"skip_reason,omitempty"`
	// OperatorSkipped: an operator skipped the step while it was
	// suspended; steps after it run as if it had succeeded.
	OperatorSkipped bool `json:"operator_skipped,omitempty"`
	// Items and ItemsDone count a for_each step's elements.
	Items     int `json:"items,omitempty"`
	ItemsDone int `json:"items_done,omitempty"`
	// CancelError says why stopping the step's job failed, if it did: the
	// job may still be running and need an operator.
	CancelError string `json:"cancel_error,omitempty"`
}

func (s *Status) step(id string) *StepStatus {
	if i := s.index(id); i >= 0 {
		return &s.Steps[i]
	}
	return nil
}

func (s *Status) index(id string) int {
	for i := range s.Steps {
		if s.Steps[i].ID == id {
			return i
		}
	}
	return -1
}
