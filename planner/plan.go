// Package planner compiles a loaded spec into a Plan: the validated DAG of
// steps with every default resolved. It imports nothing of Temporal, and
// reads no file but the specs that `pipeline` steps run (through
// Options.LoadSpec), whose plans it embeds; the Plan it returns is plain
// data and the only input of the pipeline workflow, so a running pipeline
// is frozen in its history.
package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/spec"
)

// PlanVersion is bumped when the Plan's shape changes incompatibly, so a
// worker can refuse a plan it does not understand instead of misreading it.
const PlanVersion = 1

// Plan is a compiled pipeline.
type Plan struct {
	Version     int    `json:"version"`
	Pipeline    string `json:"pipeline"`
	Description string `json:"description,omitempty"`
	// SpecHash identifies what the run executes: the SHA-256 of the plan
	// itself (without this field), so reformatting or commenting the spec
	// does not change it, while any change to what runs does.
	SpecHash string     `json:"spec_hash"`
	Source   string     `json:"source,omitempty"` // the spec's file name
	Cloud    spec.Cloud `json:"cloud"`
	// Params are the resolved parameter values, defaults and overrides.
	Params map[string]any `json:"params,omitempty"`
	// Env holds the values of the environment variables the spec opted
	// into; they are in history in clear text, by the spec's choice.
	Env map[string]string `json:"env,omitempty"`
	// MaxParallel bounds how many steps run at once; 0 = no bound.
	MaxParallel int       `json:"max_parallel,omitempty"`
	Schedule    *Schedule `json:"schedule,omitempty"`
	// Steps are in a stable topological order: every step comes after
	// the steps it depends on, ties broken by position in the spec.
	Steps []Step `json:"steps"`
	// LogicalTime is set by a run that starts this plan as a
	// sub-pipeline: the child's run.logical_time is its parent's. The
	// planner leaves it nil.
	LogicalTime *time.Time `json:"logical_time,omitempty"`
}

// Schedule is a validated schedule.
type Schedule struct {
	// Cron is the expression as written: 5 fields, or 6 with seconds
	// first as DataArts writes them (days of the week 1-7 from Sunday), or
	// a descriptor such as @daily.
	Cron string `json:"cron"`
	// TemporalCron is what the Temporal Schedule is given: the same fire
	// times in Temporal's syntax, DataArts' days of the week converted
	// (see TemporalCronOf).
	TemporalCron  []string      `json:"temporal_cron,omitempty"`
	Timezone      string        `json:"timezone,omitempty"`
	Start         *time.Time    `json:"start,omitempty"`
	End           *time.Time    `json:"end,omitempty"`
	Overlap       string        `json:"overlap"`
	CatchupWindow spec.Duration `json:"catchup_window,omitempty"`
	Paused        bool          `json:"paused,omitempty"`
}

// SrcPos is where something was written in the spec, so that errors found
// while a run evaluates it point into the spec.
type SrcPos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// Pos returns the position for HCL.
func (p SrcPos) Pos() hcl.Pos { return hcl.Pos{Line: max(p.Line, 1), Column: max(p.Col, 1)} }

// Expr is a template and where it was written.
type Expr struct {
	Src string `json:"src"`
	SrcPos
}

// ForEach fans a step out over a list.
type ForEach struct {
	// Items is a literal list; Expr a template giving one.
	Items       []any `json:"items,omitempty"`
	Expr        *Expr `json:"expr,omitempty"`
	MaxParallel int   `json:"max_parallel,omitempty"`

	// Size is how many elements Expr gives when planning can tell: when
	// it reads parameters, env and literals only (the run evaluates Expr
	// again, to the same list). Nil when only the run knows.
	Size *int `json:"size,omitempty"`
}

// PlannedItems returns how many elements the step fans out over, and
// whether that is known before the run: always for a literal list, for a
// template when it reads no step outputs and nothing of the run.
func (fe *ForEach) PlannedItems() (int, bool) {
	if fe.Expr == nil {
		return len(fe.Items), true
	}
	if fe.Size == nil {
		return 0, false
	}
	return *fe.Size, true
}

func (p *Plan) hash() string {
	q := *p
	q.SpecHash = ""
	b, err := json.Marshal(q)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Step is one compiled step.
type Step struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	DependsOn []string `json:"depends_on,omitempty"`
	// With is the kind's input, validated against its schema.
	With json.RawMessage `json:"with"`
	// Templates maps each top-level input whose value holds templates to
	// where it was written; the workflow evaluates them when the step runs.
	Templates map[string]SrcPos `json:"templates,omitempty"`
	// If is the step's condition; nil means always.
	If        *Expr         `json:"if,omitempty"`
	ForEach   *ForEach      `json:"for_each,omitempty"`
	RunOn     string        `json:"run_on"`
	OnFailure string        `json:"on_failure"`
	Retry     Retry         `json:"retry"`
	Poll      Poll          `json:"poll"`
	Timeout   spec.Duration `json:"timeout"`
	// Pipeline is what a `pipeline` step runs: the spec it references,
	// compiled with this one, so that a run needs no file.
	Pipeline *SubPipeline `json:"pipeline,omitempty"`
}

// SubPipeline is the compiled spec a `pipeline` step runs as a child
// workflow.
type SubPipeline struct {
	// Plan is the sub-pipeline's plan. Its Params hold what is known when
	// planning: defaults, and the values with.params gives literally.
	Plan *Plan `json:"plan"`
	// ParamTypes are the declared types of the parameters with.params
	// sets. The run evaluates with.params (templates included) and
	// converts each value to its type (ConvertParam) into the child's
	// Params.
	ParamTypes map[string]spec.ParamType `json:"param_types,omitempty"`
}

// Retry is a step's resolved retry policy. MaxAttempts is how many times
// the step's job is run when the service reports it failed (DataArts'
// retryTimes + 1), waiting InitialInterval × Backoff^n (capped at
// MaxInterval) between runs. The same intervals space the retries of
// transient service errors (429, 5xx, timeouts) within one run.
// NonRetryable lists service error codes that fail the step at once.
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
