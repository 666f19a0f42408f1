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
	Cloud       Cloud
	Defaults    StepOptions
	Steps       []*Step
	// Source is the file's content, kept for rendering diagnostics and
	// for the content hash that identifies what a run executed.
	Source   []byte
	Filename string
}

// Cloud says where the pipeline's services live. It never holds credentials:
// those are the worker's, resolved at call time.
type Cloud struct {
	Region    string
	ProjectID string
}

// StepOptions are the settings a step may set and `defaults` may give to
// every step. Nil means "not set here".
type StepOptions struct {
	Retry   *Retry
	Poll    *Poll
	Timeout *Duration
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
	StepOptions
	// Range covers the step's id, for messages about the step as a whole.
	Range hcl.Range
}

// Ref names another step, with where the name was written.
type Ref struct {
	Name  string
	Range hcl.Range
}

// Value is an input value as written: a string, bool, float64, []any or
// map[string]any, decoded from YAML.
type Value struct {
	Raw   any
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
}

// Poll controls how often a running job's status is checked: Interval
// first, growing to MaxInterval.
type Poll struct {
	Interval    Duration
	MaxInterval Duration
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
