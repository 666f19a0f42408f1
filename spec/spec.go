package spec

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"gopkg.in/yaml.v3"
)

// Pipeline is a loaded spec. Ranges point into the file it came from.
type Pipeline struct {
	Name        string
	NameRange   hcl.Range
	Description string
	// Params are the pipeline's typed parameters, in spec order.
	Params []*Param
	// Env lists the environment variables the spec may read as env.NAME.
	// Their values are put into the plan, and so into workflow history in
	// clear text: listing one is the user's opt-in to that.
	Env      []Ref
	Cloud    Cloud
	Defaults StepOptions
	// MaxParallel bounds how many steps run at once; 0 = no bound.
	MaxParallel int
	Schedule    *Schedule
	Steps       []*Step
	// PlanTemplates are the strings of `description` and `cloud` that
	// hold templates: the planner evaluates them over the params and the
	// listed env and puts the results into the plan.
	PlanTemplates []PlanTemplate
	// Source is the file's content, kept for rendering diagnostics.
	Source   []byte
	Filename string
	// paths maps source positions to YAML paths, for messages.
	paths []pathAt
	// lines finds lines and columns in Source.
	lines *lineIndex
}

// Cloud says where the pipeline's services live. It never holds credentials:
// those are the worker's, resolved at call time.
type Cloud struct {
	Region    string `json:"region,omitempty"`
	ProjectID string `json:"project_id,omitempty"`
	// Endpoints overrides service endpoints by service name (dli, cdm, …).
	Endpoints map[string]string `json:"endpoints,omitempty"`
	// Credentials names a credential set the worker holds (its own
	// environment or file); the spec never holds a credential itself.
	Credentials string `json:"credentials,omitempty"`
}

// PlanTemplate is a templated string the planner evaluates.
type PlanTemplate struct {
	// Path is the field's YAML path: description, cloud.region,
	// cloud.project_id, cloud.credentials or cloud.endpoints.SERVICE.
	Path  string
	Node  *yaml.Node
	Range hcl.Range
}

// Param is a typed pipeline parameter.
type Param struct {
	Name        string
	Type        ParamType
	Description string
	// Default is the value when no override is given; nil means the
	// parameter is required.
	Default *Value
	Range   hcl.Range
}

// ParamType is the type of a parameter.
type ParamType string

// Parameter types.
const (
	ParamString ParamType = "string"
	ParamNumber ParamType = "number"
	ParamBool   ParamType = "bool"
	ParamList   ParamType = "list"
	ParamMap    ParamType = "map"
)

// ParamTypes lists the parameter types.
func ParamTypes() []string {
	return []string{string(ParamString), string(ParamNumber), string(ParamBool), string(ParamList), string(ParamMap)}
}

// Schedule makes the pipeline run on a cron schedule (a Temporal Schedule).
type Schedule struct {
	Cron      string
	CronRange hcl.Range
	// Timezone is an IANA zone name; empty means UTC.
	Timezone      string
	TimezoneRange hcl.Range
	Start, End    *time.Time
	// Overlap is what to do when a run is due while the last one still
	// runs: skip, buffer_one, buffer_all, cancel_other, terminate_other or
	// allow_all.
	Overlap       string
	OverlapRange  hcl.Range
	CatchupWindow Duration
	Paused        bool
	Range         hcl.Range
}

// Overlap policies.
func OverlapPolicies() []string {
	return []string{"skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"}
}

// Failure policies: what a step's failure does to the run.
const (
	// OnFailureFail cancels running steps, runs the run_on: failure|always
	// steps and fails the run (DataArts' EXIT).
	OnFailureFail = "fail"
	// OnFailureContinue carries on as if the step had succeeded, without
	// its outputs (DataArts' CONTINUE).
	OnFailureContinue = "continue"
	// OnFailureSkipDownstream skips what depends on the step and runs the
	// rest (DataArts' EXIT_CHILD).
	OnFailureSkipDownstream = "skip_downstream"
	// OnFailureSuspend waits for an operator to retry, skip or abort the
	// step (DataArts' SUSPEND).
	OnFailureSuspend = "suspend"
)

// FailurePolicies lists the on_failure values.
func FailurePolicies() []string {
	return []string{OnFailureFail, OnFailureContinue, OnFailureSkipDownstream, OnFailureSuspend}
}

// When a step runs, by how its dependencies ended.
const (
	RunOnSuccess = "success"
	RunOnFailure = "failure"
	RunOnAlways  = "always"
)

// RunOnValues lists the run_on values.
func RunOnValues() []string { return []string{RunOnSuccess, RunOnFailure, RunOnAlways} }

// StepOptions are the settings a step may set and `defaults` may give to
// every step. Nil or empty means "not set here".
type StepOptions struct {
	Retry          *Retry
	Poll           *Poll
	Timeout        *Duration
	OnFailure      string
	OnFailureRange hcl.Range
}

// Step is one node of the pipeline.
type Step struct {
	ID        string
	Kind      string
	KindRange hcl.Range
	DependsOn []Ref
	// With holds the kind's inputs as written; the planner checks them
	// against the kind's schema.
	With      map[string]Value
	WithRange hcl.Range
	// If is a condition; the step runs only when it is true.
	If *Value
	// ForEach fans the step out over a list (a literal list or a template
	// giving one); MaxParallel bounds how many items run at once.
	ForEach     *Value
	MaxParallel int
	// RunOn says when the step runs: success (the default), failure or
	// always, by how its dependencies ended.
	RunOn      string
	RunOnRange hcl.Range
	StepOptions
	// Range covers the step's id, for messages about the step as a whole.
	Range hcl.Range
	// Path is the step's YAML path, such as steps[2], for messages about
	// something the step lacks, which has no position of its own.
	Path string
	// FieldRanges covers the name of each field written on the step, by
	// name, for messages about a field that does not apply.
	FieldRanges map[string]hcl.Range
}

// Ref names another step, with where the name was written.
type Ref struct {
	Name  string
	Range hcl.Range
}

// Value is a value as written: a string, bool, int64, float64, []any or
// map[string]any, decoded from YAML (timestamps stay strings). Node keeps
// the YAML node so that templates nested in lists and maps can be parsed
// with their own positions.
type Value struct {
	Raw   any
	Node  *yaml.Node
	Range hcl.Range
	// KeyRange covers the input's name, for messages about the name.
	KeyRange hcl.Range
}

// Retry controls how often a step's service calls are tried.
type Retry struct {
	MaxAttempts     int
	InitialInterval Duration
	MaxInterval     Duration
	Backoff         float64
	// NonRetryable lists service error codes (e.g. DLI.0001) that fail
	// the step at once.
	NonRetryable []string
	// Where the intervals are written, for messages about how they
	// relate.
	InitialIntervalRange, MaxIntervalRange hcl.Range
}

// Poll controls how often a running job's status is checked: Interval
// first, growing to MaxInterval.
type Poll struct {
	Interval    Duration
	MaxInterval Duration
	// Where the intervals are written, for messages about how they
	// relate.
	IntervalRange, MaxIntervalRange hcl.Range
}

// Duration is a time.Duration written and stored as a Go duration string
// ("30s", "1h30m"), so that plans in workflow history stay readable.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

func rangeOf(filename string, n *yaml.Node) hcl.Range {
	start := hcl.Pos{Line: n.Line, Column: n.Column}
	end := start
	if n.Kind == yaml.ScalarNode {
		// yaml.v3 gives only a start; a plain scalar on one line ends after
		// its value, which is what a highlight needs.
		end.Column += len([]rune(n.Value))
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			end.Column += 2
		}
	} else {
		end.Column++
	}
	return hcl.Range{Filename: filename, Start: start, End: end}
}
