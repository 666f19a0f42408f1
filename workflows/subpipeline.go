package workflows

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/zclconf/go-cty/cty"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/planner"
)

// A `pipeline` step runs the plan the planner embedded in it as a child
// workflow of the same type, pipectl.Pipeline: the child is a pipeline
// run of its own (its steps, status query, history and search
// attributes), started by this one. Its parameters are the step's
// with.params, evaluated when the step runs; its run.logical_time is the
// parent's. The child's steps' outputs, by step id, and its state are the
// step's outputs.
//
// The step's retry re-runs a child that failed, as a new child workflow;
// its timeout cancels the child (which stops its jobs) and fails the step;
// cancelling the step, or the run, cancels the child and waits for it to
// stop its jobs, and a run closed under it (terminated) has the server
// cancel it. A for_each runs one child per element, at most
// planner.MaxSubPipelineItems, max_parallel at once.
//
// No recorded history reaches this code (no plan had a pipeline step
// before it), so it needs no version guard.

// runSubPipeline runs a pipeline step to its end.
func (r *run) runSubPipeline(ctx workflow.Context, step planner.Step, st *StepStatus) (map[string]any, error) {
	if step.Pipeline == nil || step.Pipeline.Plan == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("step %s runs a sub-pipeline, but the plan does not hold it", step.ID), ErrUnsupportedPlan, nil)
	}
	prior := st.Attempt // attempts made before an operator's retry
	deadline := workflow.Now(ctx).Add(time.Duration(step.Timeout))
	ctx, expired, stop := withDeadline(ctx, deadline)
	defer stop()
	var outputs map[string]any
	var err error
	if step.ForEach == nil {
		outputs, err = r.runChild(ctx, step, st, cty.NilVal, 0, prior, deadline)
	} else {
		outputs, err = r.runChildren(ctx, step, st, prior, deadline)
	}
	if err != nil && expired() {
		// Not wrapping the child's cancellation: the step failed, it was
		// not cancelled.
		return nil, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, nil)
	}
	return outputs, err
}

// withDeadline returns a context that is cancelled at deadline, a func
// reporting whether it was, and one that releases the timer.
func withDeadline(ctx workflow.Context, deadline time.Time) (workflow.Context, func() bool, func()) {
	work, cancelWork := workflow.WithCancel(ctx)
	tctx, cancelTimer := workflow.WithCancel(ctx)
	expired := false
	timer := workflow.NewTimer(tctx, max(deadline.Sub(workflow.Now(ctx)), time.Millisecond))
	workflow.Go(tctx, func(gctx workflow.Context) {
		if timer.Get(gctx, nil) == nil {
			expired = true
			cancelWork()
		}
	})
	return work, func() bool { return expired }, func() {
		cancelTimer()
		cancelWork()
	}
}

// runChildren runs one child per for_each element, at most max_parallel
// at once. The first that fails cancels the others; the step waits for
// them to stop.
func (r *run) runChildren(ctx workflow.Context, step planner.Step, st *StepStatus, prior int, deadline time.Time) (map[string]any, error) {
	items, err := r.evalItems(step)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrRequestRejected, nil)
	}
	if len(items) > planner.MaxSubPipelineItems {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("for_each gives %d elements; a pipeline step runs at most %d sub-pipelines", len(items), planner.MaxSubPipelineItems),
			activities.ErrRequestRejected, nil)
	}
	st.Items, st.ItemsDone = len(items), 0
	results, err := fanOut(ctx, len(items), step.ForEach.MaxParallel, func(ctx workflow.Context, n int) (map[string]any, error) {
		return r.runChild(ctx, step, st, items[n], n+1, prior, deadline)
	}, func() { st.ItemsDone++ })
	if err != nil {
		return nil, err
	}
	outputs := map[string]any{}
	for n, out := range results {
		for _, k := range slices.Sorted(maps.Keys(out)) {
			list, _ := outputs[k].([]any)
			if list == nil {
				list = make([]any, len(results))
				outputs[k] = list
			}
			list[n] = out[k]
		}
	}
	return r.capOutputs(ctx, step, outputs, len(items)), nil
}

// runChild runs the sub-pipeline for one element (item 0: no for_each),
// running it again when it fails, up to the step's retry.max_attempts,
// each time as a new child workflow.
func (r *run) runChild(ctx workflow.Context, step planner.Step, st *StepStatus, item cty.Value, itemIndex, prior int, deadline time.Time) (map[string]any, error) {
	return rerun(ctx, step, st, prior, deadline, "sub-pipeline", childFailed, func(attempt int) (map[string]any, error) {
		return r.childAttempt(ctx, step, st, item, itemIndex, attempt)
	})
}

// childFailed reports whether err is a sub-pipeline that failed because
// one of its steps did: what running it again may cure.
func childFailed(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == ErrSubPipelineFailed && !app.NonRetryable()
}

// childAttempt runs the sub-pipeline once, as a child workflow, and
// returns its outputs.
func (r *run) childAttempt(ctx workflow.Context, step planner.Step, st *StepStatus, item cty.Value, itemIndex, attempt int) (map[string]any, error) {
	plan, err := r.childPlan(step, item, attempt)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrRequestRejected, nil)
	}
	id := r.childID(step, itemIndex, attempt)
	st.JobID = id
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: id,
		// The child stops its jobs before the step ends, and when the run
		// is closed under it (terminated) the server cancels it.
		WaitForCancellation:   true,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		TypedSearchAttributes: RunSearchAttributes(plan.Pipeline, plan.SpecHash, TriggerParent),
	})
	var res Status
	err = workflow.ExecuteChildWorkflow(cctx, PipelineWorkflow, plan).Get(ctx, &res)
	if err != nil {
		if temporal.IsCanceledError(err) {
			return nil, err
		}
		msg := fmt.Sprintf("pipeline %s: %s", plan.Pipeline, describe(err))
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.Type() == ErrStepFailed {
			return nil, temporal.NewApplicationErrorWithCause(msg, ErrSubPipelineFailed, err)
		}
		// Not a step of it failing (the worker cannot run its plan, it
		// was terminated, …): running it again would not help.
		return nil, temporal.NewNonRetryableApplicationError(msg, ErrSubPipelineFailed, err)
	}
	return r.childOutputs(ctx, step, &res), nil
}

// childID is the child workflow's id. Like an Items child's, it is unique
// to the pipeline run (its first workflow run's id), the step, the
// element and the attempt, and holds no workflow id: a replayer does not
// know it.
func (r *run) childID(step planner.Step, itemIndex, attempt int) string {
	id := fmt.Sprintf("%s/%s/%s/pipeline", r.plan.Pipeline, r.firstRunID, step.ID)
	if itemIndex > 0 {
		id += fmt.Sprintf("-%d", itemIndex)
	}
	if attempt > 1 {
		id += fmt.Sprintf("/attempt-%d", attempt)
	}
	return id
}

// childPlan is the sub-pipeline's plan with its parameters from the
// step's with.params, evaluated now and converted to the types the
// sub-pipeline declares, and the run's logical time.
func (r *run) childPlan(step planner.Step, item cty.Value, attempt int) (planner.Plan, error) {
	sub := step.Pipeline
	plan := *sub.Plan
	with, err := r.evalWith(step, item, attempt)
	if err != nil {
		return plan, err
	}
	var in struct {
		Params map[string]any `json:"params"`
	}
	dec := json.NewDecoder(bytes.NewReader(with))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return plan, fmt.Errorf("with: %w", err)
	}
	params := maps.Clone(plan.Params)
	if params == nil && len(in.Params) > 0 {
		params = map[string]any{}
	}
	for _, k := range slices.Sorted(maps.Keys(in.Params)) {
		t, ok := sub.ParamTypes[k]
		if !ok {
			return plan, fmt.Errorf("with.params.%s: sub-pipeline %s has no such parameter", k, plan.Pipeline)
		}
		v, err := planner.ConvertParam(t, in.Params[k])
		if err != nil {
			return plan, fmt.Errorf("with.params.%s: sub-pipeline %s declares it a %s: %w", k, plan.Pipeline, t, err)
		}
		params[k] = v
	}
	plan.Params = params
	lt := r.status.LogicalTime
	plan.LogicalTime = &lt
	return plan, nil
}

// childOutputs are a pipeline step's outputs: the child run's state and
// each of its steps' outputs, by step id. Outputs past maxOutputBytes are
// left out (the child run's status has them): they would be carried in
// this run's status, result and continuation.
func (r *run) childOutputs(ctx workflow.Context, step planner.Step, res *Status) map[string]any {
	out := map[string]any{planner.SubPipelineStatus: string(res.State)}
	for _, s := range res.Steps {
		if s.Outputs != nil {
			out[s.ID] = s.Outputs
		}
	}
	if b, err := json.Marshal(out); err == nil && len(b) > maxOutputBytes {
		workflow.GetLogger(ctx).Warn("sub-pipeline outputs left out: too big", "step", step.ID, "bytes", len(b))
		return map[string]any{planner.SubPipelineStatus: string(res.State)}
	}
	if res.OutputsOmitted {
		workflow.GetLogger(ctx).Warn("sub-pipeline outputs left out by the child: too big", "step", step.ID)
	}
	return out
}

// subPipelineCost estimates the history events a pipeline step adds to
// this run: a child workflow per element and the step's timer.
func (r *run) subPipelineCost(step planner.Step) int {
	n := 1
	if step.ForEach != nil {
		n = len(step.ForEach.Items)
		if step.ForEach.Expr != nil {
			items, err := r.evalItems(step)
			if err != nil {
				return 0 // the step fails at once
			}
			n = min(len(items), planner.MaxSubPipelineItems)
		}
	}
	return n*eventsPerChild + eventsPerTimer
}
