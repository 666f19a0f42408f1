package testenv_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/testenv/emulator"
	"github.com/pipectl/pipectl/workflows"
)

// policiesSpec exercises, in one run, every failure policy but suspend
// (TestSuspendedStepIsRetriedByAnOperator), a false condition, and
// run_on failure and always.
const policiesSpec = `name: policies
defaults:
  poll: {interval: 50ms, max_interval: 100ms}
  retry: {max_attempts: 1}
steps:
  - {id: extract, kind: dli.sql, with: {sql: "SELECT 'extract'"}}
  - {id: optional, kind: dli.sql, depends_on: [extract], on_failure: continue, with: {sql: "SELECT 'optional' -- fails"}}
  - {id: after_optional, kind: dli.sql, depends_on: [optional], with: {sql: "SELECT 'after_optional'"}}
  - {id: side, kind: dli.sql, depends_on: [extract], on_failure: skip_downstream, with: {sql: "SELECT 'side' -- fails"}}
  - {id: after_side, kind: dli.sql, depends_on: [side], with: {sql: "SELECT 'after_side'"}}
  - {id: side_handler, kind: dli.sql, depends_on: [side], run_on: failure, with: {sql: "SELECT 'side_handler'"}}
  - id: gated
    kind: dli.sql
    depends_on: [extract]
    if: ${steps.extract.outputs.job_type == "DDL"}
    with: {sql: "SELECT 'gated'"}
  - {id: after_gated, kind: dli.sql, depends_on: [gated], with: {sql: "SELECT 'after_gated'"}}
  - {id: main, kind: dli.sql, depends_on: [extract], with: {sql: "SELECT 'main'"}}
  - {id: main_handler, kind: dli.sql, depends_on: [main], run_on: failure, with: {sql: "SELECT 'main_handler'"}}
  - {id: cleanup, kind: dli.sql, depends_on: [after_optional, after_side, after_gated, main], run_on: always, with: {sql: "SELECT 'cleanup'"}}
`

// TestFailurePoliciesEndToEnd runs policiesSpec against the emulator:
// each step's end state, which jobs ran, and the run's outcome are those
// docs/spec.md promises.
func TestFailurePoliciesEndToEnd(t *testing.T) {
	st := startStack(t, testenv.StackOptions{JobDuration: 50 * time.Millisecond})
	st.Emulator.AddRule(emulator.Rule{Match: "-- fails", FailMessage: "Table or view not found: dw.missing"})
	plan := compileSpec(t, "policies", policiesSpec)
	run := startPlan(t, st, "policies-1", plan)

	var status workflows.Status
	err := run.Get(t.Context(), &status)
	// skip_downstream fails the run, naming the step, once everything
	// else has run.
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != workflows.ErrStepFailed || !strings.Contains(app.Message(), `"side"`) {
		t.Fatalf("run error = %v, want the run failed naming step side", err)
	}
	if err := app.Details(&status); err != nil {
		t.Fatal(err)
	}
	want := map[string]workflows.StepState{
		"extract":        workflows.StepSucceeded,
		"optional":       workflows.StepFailed,    // continue:
		"after_optional": workflows.StepSucceeded, // what depends on it runs
		"side":           workflows.StepFailed,    // skip_downstream:
		"after_side":     workflows.StepSkipped,   // what depends on it is skipped
		"side_handler":   workflows.StepSucceeded, // run_on: failure of side
		"gated":          workflows.StepSkipped,   // if false
		"after_gated":    workflows.StepSkipped,   // needs gated
		"main":           workflows.StepSucceeded,
		"main_handler":   workflows.StepSkipped, // main did not fail
		"cleanup":        workflows.StepSucceeded,
	}
	for _, s := range status.Steps {
		if s.State != want[s.ID] {
			t.Errorf("step %s %s (%s), want %s", s.ID, s.State, s.Error, want[s.ID])
		}
	}
	jobs := map[string]int{}
	for _, j := range st.Emulator.DLIJobs() {
		id, _, _ := strings.Cut(strings.TrimPrefix(j.SQL, "SELECT '"), "'")
		jobs[id]++
	}
	for id, state := range want {
		n := jobs[id]
		ran := state == workflows.StepSucceeded || state == workflows.StepFailed
		if ran && n != 1 || !ran && n != 0 {
			t.Errorf("step %s (%s) ran %d jobs", id, state, n)
		}
	}
	if msg := status.Steps[1].Error; !strings.Contains(msg, "Table or view not found: dw.missing") {
		t.Errorf("optional's error %q lacks the service's message", msg)
	}
}
