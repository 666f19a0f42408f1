package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/internal/deploy"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/workflows"
)

type applyOptions struct {
	IO      IO
	Compile planner.Options
	Dial    func(context.Context) (client.Client, error)
	File    string
	Wait    bool
	ID      string
	// Refresh is how often --wait redraws the step table.
	Refresh time.Duration
	Now     func() time.Time
}

func newApplyCmd(stdio IO, dial func(context.Context) (client.Client, error)) *cobra.Command {
	opts := &applyOptions{IO: stdio, Dial: dial, Now: time.Now, Refresh: 500 * time.Millisecond}
	cf := &compileFlags{}
	var prune bool
	cmd := &cobra.Command{
		Use:   "apply FILE...",
		Short: "Deploy a scheduled pipeline, or run one",
		Long: `Compiles the specs, all of them before applying any: if one is invalid, its
problems are shown and nothing is applied. A spec with a schedule becomes (or updates) the Temporal
Schedule named pipectl-<pipeline>, carrying the compiled plan; applying the
same spec again changes nothing and says so. Runs already started keep the
plan they started with. A spec without a schedule starts one run.

With --wait, a run is followed with a live table of its steps (state,
duration, external job id); the exit status is 0 when the pipeline
succeeded, 1 when it failed, naming the failing step and the service's
error message.

With --prune, schedules pipectl created for pipelines that none of the given
files declare any more are deleted (schedules pipectl did not create are
never touched). Give every spec you deploy in one apply to use it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Compile, err = cf.options(); err != nil {
				return err
			}
			if len(args) > 1 && (opts.Wait || opts.ID != "") {
				return fmt.Errorf("--wait and --id apply to one spec; give one file")
			}
			// Compile every spec before contacting anything: one run
			// reports every invalid one, and applies none of the others.
			plans := make([]*planner.Plan, 0, len(args))
			bad := false
			for _, f := range args {
				plan, err := compileFile(stdio, f, opts.Compile)
				if err != nil {
					bad = true
					continue
				}
				plans = append(plans, plan)
			}
			if bad {
				return &SilentError{Code: ExitError}
			}
			var names []string
			for i, plan := range plans {
				opts.File = args[i]
				if err := applyPlan(cmd.Context(), opts, plan); err != nil {
					return err
				}
				names = append(names, plan.Pipeline)
			}
			if prune {
				return runPrune(cmd.Context(), opts, names)
			}
			return nil
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVar(&prune, "prune", false, "delete pipectl's schedules of pipelines not declared by the given files")
	cmd.Flags().BoolVar(&opts.Wait, "wait", false, "follow the run until it ends; the exit status says how it ended")
	cmd.Flags().StringVar(&opts.ID, "id", "", "workflow id of the run (default: the pipeline name and a random suffix)")
	return cmd
}

func runApply(ctx context.Context, opts *applyOptions) error {
	plan, err := compileFile(opts.IO, opts.File, opts.Compile)
	if err != nil {
		return err
	}
	return applyPlan(ctx, opts, plan)
}

// runPrune deletes pipectl-owned schedules of pipelines not in keep: the
// set `plan --prune` lists.
func runPrune(ctx context.Context, opts *applyOptions, keep []string) error {
	return withClient(ctx, opts.Dial, func(c client.Client) error {
		prune, err := deploy.ToPrune(ctx, c, keep)
		if err != nil {
			return err
		}
		for _, e := range prune {
			if err := c.ScheduleClient().GetHandle(ctx, e.ScheduleID).Delete(ctx); err != nil {
				return fmt.Errorf("prune schedule %s: %w", e.ScheduleID, err)
			}
			fmt.Fprintf(opts.IO.Out, "schedule %s deleted: no given spec declares pipeline %s\n", e.ScheduleID, e.Pipeline())
		}
		return nil
	})
}

func applyPlan(ctx context.Context, opts *applyOptions, plan *planner.Plan) error {
	c, err := opts.Dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if plan.Schedule != nil {
		res, err := deploy.Apply(ctx, c, plan)
		if err != nil {
			return err
		}
		id := deploy.ScheduleID(plan.Pipeline)
		switch {
		case res.Created:
			fmt.Fprintf(opts.IO.Out, "schedule %s created\n", id)
		case res.Updated:
			fmt.Fprintf(opts.IO.Out, "schedule %s updated\n", id)
		default:
			fmt.Fprintf(opts.IO.Out, "schedule %s is up to date: no changes\n", id)
		}
		for _, ch := range res.Changes {
			fmt.Fprintf(opts.IO.Out, "  %s\n", ch)
		}
		if next, err := plan.Schedule.NextFireTimes(opts.Now(), 1); err == nil && len(next) > 0 {
			fmt.Fprintf(opts.IO.Out, "next run %s\n", next[0].Format("Mon 2006-01-02 15:04:05 MST"))
		}
		return nil
	}
	// A spec whose schedule was removed takes its schedule with it.
	if cur, err := deploy.Get(ctx, c, plan.Pipeline); err != nil {
		return err
	} else if cur != nil && cur.Owned {
		if err := c.ScheduleClient().GetHandle(ctx, deploy.ScheduleID(plan.Pipeline)).Delete(ctx); err != nil {
			return fmt.Errorf("delete schedule %s: %w", deploy.ScheduleID(plan.Pipeline), err)
		}
		fmt.Fprintf(opts.IO.Out, "schedule %s deleted: the spec no longer has a schedule\n", deploy.ScheduleID(plan.Pipeline))
	}
	run, err := startRun(ctx, c, plan, opts.ID, workflows.TriggerApply)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "started run %s of pipeline %s (%s)\n", run.GetID(), plan.Pipeline, countSteps(len(plan.Steps)))
	if !opts.Wait {
		fmt.Fprintln(opts.IO.Out, run.GetID())
		return nil
	}
	st, err := follow(ctx, c, run, opts.IO, opts.Refresh, opts.Now)
	return reportRun(opts.IO, run.GetID(), st, err)
}

// startRun starts plan as a new workflow run.
func startRun(ctx context.Context, c client.Client, plan *planner.Plan, id, trigger string) (client.WorkflowRun, error) {
	if err := workflows.CheckPlanSize(plan); err != nil {
		return nil, err
	}
	if id == "" {
		id = plan.Pipeline + "-" + randomSuffix()
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                workflows.TaskQueue,
		TypedSearchAttributes:                    workflows.RunSearchAttributes(plan.Pipeline, plan.SpecHash, trigger),
		Memo:                                     map[string]any{deploy.MemoSource: plan.Source},
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.PipelineWorkflow, plan)
	if err != nil {
		return nil, fmt.Errorf("start run %s: %w", id, err)
	}
	return run, nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// reportRun prints how a followed run ended and returns the command's error.
func reportRun(stdio IO, id string, st *workflows.Status, runErr error) error {
	if runErr == nil {
		fmt.Fprintf(stdio.ErrOut, "pipeline %s succeeded in %s (run %s)\n", st.Pipeline, st.EndedAt.Sub(st.StartedAt).Round(time.Millisecond), id)
		return nil
	}
	var app *temporal.ApplicationError
	if errors.As(runErr, &app) && app.Type() == workflows.ErrStepFailed && st != nil {
		fmt.Fprintf(stdio.ErrOut, "pipeline %s failed (run %s)\n", st.Pipeline, id)
		for _, s := range st.Steps {
			if s.State == workflows.StepFailed {
				job := ""
				if s.JobID != "" {
					job = " (job " + s.JobID + ")"
				}
				fmt.Fprintf(stdio.ErrOut, "  step %s%s failed: %s\n", s.ID, job, s.Error)
			}
			if s.CancelError != "" {
				fmt.Fprintf(stdio.ErrOut, "  step %s: its job may still be running: %s\n", s.ID, s.CancelError)
			}
		}
		return &SilentError{Code: ExitError}
	}
	if temporal.IsCanceledError(runErr) {
		fmt.Fprintf(stdio.ErrOut, "run %s was cancelled\n", id)
		return &SilentError{Code: ExitError}
	}
	if errors.Is(runErr, context.Canceled) {
		// Ctrl-C stops the following, not the run.
		fmt.Fprintf(stdio.ErrOut, "interrupted: stopped following run %s; it was not cancelled\n", id)
		return &SilentError{Code: ExitError}
	}
	return fmt.Errorf("run %s: %w", id, runErr)
}
