package emulator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Rule scripts how matching jobs behave, in any service. The first rule
// whose Service and Match fit a new job applies to it; rules added earlier
// take precedence.
type Rule struct {
	// Service limits the rule to one service (see Services); "" = any.
	Service string
	// Match is a substring of the job's identifying text: a DLI SQL
	// statement, a CDM/Flink/Spark/LakeFormation/DataArts job name, a DIS
	// stream or dump task name. "" matches every job.
	Match string
	// Duration is how long the job runs; 0 = Options.JobDuration.
	Duration time.Duration
	// FailMessage makes the job end in the service's failed state with
	// this message (and FailCode where the service reports a code).
	FailMessage string
	FailCode    string
	// FailFirst makes only the first N matching jobs fail (0 with a
	// FailMessage: all of them), for "fails, then succeeds on retry".
	FailFirst int
	// Hang keeps the job running until it is stopped.
	Hang bool
	// SubmitErrors: the next N creates/submits of matching jobs answer with
	// SubmitStatus (default 500) and the service's error body, without
	// creating the job. With 429 the answer also has Retry-After: 1.
	SubmitErrors int
	SubmitStatus int

	failed int // jobs failed so far under FailFirst
}

// behaviour is what the rules decide for one new job.
type behaviour struct {
	duration    time.Duration
	hang        bool
	failMessage string
	failCode    string
	// submitError is an HTTP status to answer the create with instead of
	// creating the job; 0 = create it.
	submitError int
}

// AddRule appends r. A rule applies to jobs created after it is added.
func (e *Emulator) AddRule(r Rule) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rules = append(e.rules, r)
}

// behaviour applies the first matching rule to a job of service identified
// by text, consuming one SubmitErrors or FailFirst count. e.mu is held.
func (e *Emulator) behaviour(service, text string) behaviour {
	b := behaviour{duration: e.jobDuration}
	for i := range e.rules {
		r := &e.rules[i]
		if (r.Service != "" && r.Service != service) || !strings.Contains(text, r.Match) {
			continue
		}
		if r.SubmitErrors > 0 {
			r.SubmitErrors--
			b.submitError = cmp.Or(r.SubmitStatus, http.StatusInternalServerError)
			return b
		}
		if r.Duration > 0 {
			b.duration = r.Duration
		}
		b.hang = r.Hang
		if r.FailMessage != "" && (r.FailFirst == 0 || r.failed < r.FailFirst) {
			r.failed++
			b.failMessage, b.failCode = r.FailMessage, r.FailCode
		}
		return b
	}
	return b
}

// Rules returns the rules in precedence order, with the failures they
// have caused so far under FailFirst and their remaining SubmitErrors.
func (e *Emulator) Rules() []Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.rules)
}

// Failed is how many jobs the rule has failed so far (FailFirst counts).
func (r Rule) Failed() int { return r.failed }

// ClearRules removes every rule.
func (e *Emulator) ClearRules() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rules = nil
}

// ruleJSON is a Rule's JSON form (admin API and state file): snake_case,
// the duration as text ("1m30s").
type ruleJSON struct {
	Service      string `json:"service,omitempty"`
	Match        string `json:"match,omitempty"`
	Duration     string `json:"duration,omitempty"`
	FailMessage  string `json:"fail_message,omitempty"`
	FailCode     string `json:"fail_code,omitempty"`
	FailFirst    int    `json:"fail_first,omitempty"`
	Hang         bool   `json:"hang,omitempty"`
	SubmitErrors int    `json:"submit_errors,omitempty"`
	SubmitStatus int    `json:"submit_status,omitempty"`
	Failed       int    `json:"failed,omitempty"`
}

// MarshalJSON renders the rule as in ruleJSON.
func (r Rule) MarshalJSON() ([]byte, error) {
	j := ruleJSON{
		Service: r.Service, Match: r.Match, FailMessage: r.FailMessage, FailCode: r.FailCode,
		FailFirst: r.FailFirst, Hang: r.Hang, SubmitErrors: r.SubmitErrors, SubmitStatus: r.SubmitStatus,
		Failed: r.failed,
	}
	if r.Duration != 0 {
		j.Duration = r.Duration.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the ruleJSON form; unknown fields are errors, so a
// typo in an admin request is not silently a match-everything rule.
func (r *Rule) UnmarshalJSON(b []byte) error {
	var j ruleJSON
	if err := strictJSON(b, &j); err != nil {
		return err
	}
	var d time.Duration
	if j.Duration != "" {
		var err error
		if d, err = time.ParseDuration(j.Duration); err != nil {
			return fmt.Errorf("rule duration: %w", err)
		}
	}
	if j.Service != "" && !slices.Contains(Services(), j.Service) {
		return fmt.Errorf("rule service %q is not one of %s", j.Service, strings.Join(Services(), ", "))
	}
	*r = Rule{
		Service: j.Service, Match: j.Match, Duration: d, FailMessage: j.FailMessage, FailCode: j.FailCode,
		FailFirst: j.FailFirst, Hang: j.Hang, SubmitErrors: j.SubmitErrors, SubmitStatus: j.SubmitStatus,
		failed: j.Failed,
	}
	return nil
}
