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
	// StepSkipped: the step never ran because the run stopped first.
	StepSkipped StepState = "skipped"
)

// Done reports whether the step has finished, one way or another.
func (s StepState) Done() bool {
	return s != StepPending && s != StepRunning
}

// Status is what the status query returns, and the result of a run.
type Status struct {
	Pipeline  string       `json:"pipeline"`
	SpecHash  string       `json:"spec_hash"`
	State     RunState     `json:"state"`
	StartedAt time.Time    `json:"started_at"`
	EndedAt   time.Time    `json:"ended_at,omitzero"`
	Steps     []StepStatus `json:"steps"`
}

// StepStatus is one step's part of Status.
type StepStatus struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	State     StepState         `json:"state"`
	Attempt   int               `json:"attempt,omitempty"`
	JobID     string            `json:"job_id,omitempty"`
	StartedAt time.Time         `json:"started_at,omitzero"`
	EndedAt   time.Time         `json:"ended_at,omitzero"`
	Error     string            `json:"error,omitempty"`
	Outputs   map[string]string `json:"outputs,omitempty"`
	// CancelError says why stopping the step's job failed, if it did: the
	// job may still be running and need an operator.
	CancelError string `json:"cancel_error,omitempty"`
}

func (s *Status) step(id string) *StepStatus {
	for i := range s.Steps {
		if s.Steps[i].ID == id {
			return &s.Steps[i]
		}
	}
	return nil
}
