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
	"slices"
	"sort"
	"strings"
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
	// SpecHash identifies what the run executes: the SHA-256 of the
	// plan's canonical JSON (see Canonical), so formatting, comments, key
	// order, quoting, the file's name and where it lives do not change it,
	// while any change to what runs does.
	SpecHash string     `json:"spec_hash"`
	Source   string     `json:"source,omitempty"` // the spec's file name
	Cloud    spec.Cloud `json:"cloud"`
	// Params are the resolved parameter values, defaults and overrides.
	Params map[string]any `json:"params,omitempty"`
	// Unset names the parameters that have no value, in spec order: a
	// plan compiled with Options.AllowUnsetParams to be checked or shown,
	// never run. It is not part of the plan's JSON.
	Unset []string `json:"-"`
	// UnsetEnv names, likewise, the environment variables listed under
	// `env` that were not set: unknown strings when planning.
	UnsetEnv []string `json:"-"`
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

// hash is the plan's SpecHash: the SHA-256 of its canonical JSON.
func (p *Plan) hash() string {
	b, err := json.Marshal(p.Canonical())
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Canonical returns a copy of p as its SpecHash sees it: what the spec
// means, without where and how it was written. File names (Source, those
// of positions) and line and column numbers are dropped, so that
// formatting, comments, key order, quoting and where the file lives do
// not count; a sub-pipeline counts by its content, not by its path, its
// own SpecHash left out; depends_on and non_retryable are sets, sorted;
// schedule times are in UTC and cron fields single-spaced. p is not
// changed.
func (p *Plan) Canonical() *Plan {
	q := *p
	q.SpecHash, q.Source, q.LogicalTime = "", "", nil
	if s := p.Schedule; s != nil {
		cs := *s
		cs.Cron = strings.Join(strings.Fields(s.Cron), " ")
		cs.Start, cs.End = utc(s.Start), utc(s.End)
		q.Schedule = &cs
	}
	if p.Steps != nil {
		q.Steps = make([]Step, len(p.Steps))
		for i, s := range p.Steps {
			q.Steps[i] = s.canonical()
		}
	}
	return &q
}

func (s Step) canonical() Step {
	s.DependsOn = sortedCopy(s.DependsOn)
	s.Retry.NonRetryable = sortedCopy(s.Retry.NonRetryable)
	// Where the templates are is all Templates says; which inputs hold
	// them is in With already.
	s.Templates = nil
	if s.If != nil {
		s.If = &Expr{Src: s.If.Src}
	}
	if fe := s.ForEach; fe != nil && fe.Expr != nil {
		cf := *fe
		cf.Expr = &Expr{Src: fe.Expr.Src}
		s.ForEach = &cf
	}
	if sub := s.Pipeline; sub != nil {
		cs := *sub
		if sub.Plan != nil {
			cs.Plan = sub.Plan.Canonical()
		}
		s.Pipeline = &cs
		// with.spec is the child's path, as written; the child counts by
		// what Pipeline holds.
		s.With = withoutKey(s.With, "spec")
	}
	return s
}

// Positions lists where p's templates, conditions and for_each
// expressions were written, by line and column only, in plan order (a
// sub-pipeline's after its step's): what Canonical drops besides file
// names. Two plans with the same SpecHash and the same Positions report
// errors at the same places.
func (p *Plan) Positions() []SrcPos {
	var out []SrcPos
	add := func(sp SrcPos) { out = append(out, SrcPos{Line: sp.Line, Col: sp.Col}) }
	for _, s := range p.Steps {
		keys := make([]string, 0, len(s.Templates))
		for k := range s.Templates {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			add(s.Templates[k])
		}
		if s.If != nil {
			add(s.If.SrcPos)
		}
		if s.ForEach != nil && s.ForEach.Expr != nil {
			add(s.ForEach.Expr.SrcPos)
		}
		if s.Pipeline != nil && s.Pipeline.Plan != nil {
			out = append(out, s.Pipeline.Plan.Positions()...)
		}
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return s
	}
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// withoutKey returns the JSON object with without its key k; anything else
// (not an object, no such key) is returned as is.
func withoutKey(with json.RawMessage, k string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(with, &m) != nil {
		return with
	}
	if _, ok := m[k]; !ok {
		return with
	}
	delete(m, k)
	b, err := json.Marshal(m)
	if err != nil {
		return with
	}
	return b
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
