//go:build bench

package bench_test

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/workflows"
)

// baselineWorkflow is Baseline's registered name. It runs on pipectl's
// task queue and worker, beside the pipeline workflow.
const baselineWorkflow = "bench.Baseline"

// Baseline is what a Temporal user would write by hand to run a DAG of
// steps without pipectl, written to be cheap: it counts each step's
// unfinished dependencies, starts a goroutine for a step once the count
// reaches zero, and that goroutine calls the kind's run activity on its
// service's queue with the options pipectl's workflow uses
// (workflows/step.go: runOptions). It takes the same compiled plan as input,
// so both workflows start with the same payload, and reads only the
// steps' ids, kinds, dependencies, inputs and retry, poll and timeout
// settings. It knows nothing of conditions, templates, for_each, failure
// policies, status queries, history limits or stopping jobs: what it lacks
// is what pipectl's interpretation costs on top. The first failure fails
// it.
func Baseline(ctx workflow.Context, plan planner.Plan) error {
	info := workflow.GetInfo(ctx)
	runKey := info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID
	index := make(map[string]int, len(plan.Steps))
	for i, s := range plan.Steps {
		index[s.ID] = i
	}
	pending := make([]int, len(plan.Steps))      // unfinished dependencies
	dependents := make([][]int, len(plan.Steps)) // steps that wait for this one
	for i, s := range plan.Steps {
		pending[i] = len(s.DependsOn)
		for _, d := range s.DependsOn {
			dependents[index[d]] = append(dependents[index[d]], i)
		}
	}
	type done struct {
		Index int
		Err   error
	}
	finished := workflow.NewChannel(ctx)
	start := func(i int) {
		workflow.Go(ctx, func(ctx workflow.Context) {
			err := baselineStep(ctx, plan, plan.Steps[i], runKey)
			finished.Send(ctx, done{i, err})
		})
	}
	for i := range plan.Steps {
		if pending[i] == 0 {
			start(i)
		}
	}
	for range plan.Steps {
		var d done
		finished.Receive(ctx, &d)
		if d.Err != nil {
			return d.Err
		}
		for _, j := range dependents[d.Index] {
			if pending[j]--; pending[j] == 0 {
				start(j)
			}
		}
	}
	return nil
}

// baselineStep runs the step's job, as one attempt of pipectl's
// runAttempt does.
func baselineStep(ctx workflow.Context, plan planner.Plan, s planner.Step, runKey string) error {
	deadline := workflow.Now(ctx).Add(time.Duration(s.Timeout))
	req := activities.StepRequest{
		Pipeline: plan.Pipeline,
		RunKey:   runKey,
		StepID:   s.ID,
		Kind:     s.Kind,
		Attempt:  1,
		Cloud:    plan.Cloud,
		With:     s.With,
		Poll:     s.Poll,
	}
	retry := s.Retry
	req.Retry = &retry
	run := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              workflows.ServiceQueue(s.Kind),
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: max(deadline.Sub(workflow.Now(ctx)), time.Second),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Duration(s.Poll.Interval),
			BackoffCoefficient:     2,
			MaximumInterval:        time.Duration(s.Poll.MaxInterval),
			MaximumAttempts:        int32(min(int64(s.Timeout)/int64(max(s.Poll.Interval, 1))+10+activities.TransientSubmitAttempts, 1<<31-1)),
			NonRetryableErrorTypes: append(activities.NonRetryable(), s.Retry.NonRetryable...),
		},
	})
	var res activities.Result
	return workflow.ExecuteActivity(run, activities.RunName(s.Kind), req).Get(ctx, &res)
}
