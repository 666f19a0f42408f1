// Package planner compiles a loaded spec into a Plan: the validated DAG of
// steps with every default resolved. It does no I/O and imports nothing of
// Temporal; the Plan it returns is plain data and the only input of the
// pipeline workflow, so a running pipeline is frozen in its history.
package planner

import (
	"encoding/json"

	"github.com/pipectl/pipectl/spec"
)

// PlanVersion is bumped when the Plan's shape changes incompatibly, so a
// worker can refuse a plan it does not understand instead of misreading it.
const PlanVersion = 1

// Plan is a compiled pipeline.
type Plan struct {
	Version     int        `json:"version"`
	Pipeline    string     `json:"pipeline"`
	Description string     `json:"description,omitempty"`
	SpecHash    string     `json:"spec_hash"`
	Cloud       spec.Cloud `json:"cloud"`
	// Steps are in a stable topological order: every step comes after
	// the steps it depends on, ties broken by position in the spec.
	Steps []Step `json:"steps"`
}

// Step is one compiled step.
type Step struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	DependsOn []string `json:"depends_on,omitempty"`
	// With is the kind's input, validated against its schema.
	With    json.RawMessage `json:"with"`
	Retry   Retry           `json:"retry"`
	Poll    Poll            `json:"poll"`
	Timeout spec.Duration   `json:"timeout"`
}

// Retry is a step's resolved retry policy for its service calls.
type Retry struct {
	MaxAttempts     int           `json:"max_attempts"`
	InitialInterval spec.Duration `json:"initial_interval"`
	MaxInterval     spec.Duration `json:"max_interval"`
	Backoff         float64       `json:"backoff"`
	NonRetryable    []string      `json:"non_retryable,omitempty"`
}

// Poll is a step's resolved polling policy.
type Poll struct {
	Interval    spec.Duration `json:"interval"`
	MaxInterval spec.Duration `json:"max_interval"`
}

// Step returns the step with the given id.
func (p *Plan) Step(id string) (Step, bool) {
	for _, s := range p.Steps {
		if s.ID == id {
			return s, true
		}
	}
	return Step{}, false
}
