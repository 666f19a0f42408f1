package workflows

import (
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

// decision is what the coordinator does with a pending step.
type decision int

const (
	// waitDeps: some dependency has not finished.
	waitDeps decision = iota
	// runStep: start it (subject to max_parallel and its condition).
	runStep
	// skipStep: it will never run.
	skipStep
)

// satisfied reports whether a finished step lets the steps that depend on
// it run on success: it succeeded, failed under on_failure: continue, or
// an operator skipped it while it was suspended.
func satisfied(s *StepStatus, p planner.Step) bool {
	switch s.State {
	case StepSucceeded:
		return true
	case StepFailed:
		return p.OnFailure == spec.OnFailureContinue
	case StepSkipped:
		return s.OperatorSkipped
	}
	return false
}

// failedState reports whether a finished step counts as a failure for
// run_on: failure steps.
func failedState(s StepState) bool { return s == StepFailed || s == StepCancelled }

// decide applies the run_on rules to pending step i. Its dependencies are
// its depends_on; a run_on: failure|always step with none is a pipeline
// handler, and depends on every ordinary (run_on: success) step. aborting
// means the run has failed: ordinary steps no longer start.
//
//	success  runs when every dependency is satisfied, else is skipped
//	failure  runs when a dependency failed or was cancelled, else is skipped
//	always   runs once every dependency has finished, whatever the outcome
func decide(plan *planner.Plan, st *Status, pos map[string]int, i int, aborting bool) decision {
	step := plan.Steps[i]
	if aborting && step.RunOn == spec.RunOnSuccess {
		return skipStep
	}
	deps := step.DependsOn
	if len(deps) == 0 && step.RunOn != spec.RunOnSuccess {
		for _, s := range plan.Steps {
			if s.RunOn == spec.RunOnSuccess && s.ID != step.ID {
				deps = append(deps, s.ID)
			}
		}
	}
	allSatisfied, anyFailed := true, false
	for _, id := range deps {
		j := pos[id]
		ds := &st.Steps[j]
		if !ds.State.Done() {
			return waitDeps
		}
		if !satisfied(ds, plan.Steps[j]) {
			allSatisfied = false
		}
		if failedState(ds.State) {
			anyFailed = true
		}
	}
	switch step.RunOn {
	case spec.RunOnFailure:
		if anyFailed {
			return runStep
		}
		return skipStep
	case spec.RunOnAlways:
		return runStep
	}
	if allSatisfied {
		return runStep
	}
	return skipStep
}
