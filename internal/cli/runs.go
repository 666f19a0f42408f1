package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"gopkg.in/yaml.v3"

	"github.com/pipectl/pipectl/internal/deploy"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/workflows"
)

type dialFunc func(context.Context) (client.Client, error)

// withClient dials, runs f and closes the client.
func withClient(ctx context.Context, dial dialFunc, f func(client.Client) error) error {
	c, err := dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c)
}

func newRunCmd(stdio IO, dial dialFunc) *cobra.Command {
	cf := &compileFlags{}
	var wait bool
	cmd := &cobra.Command{
		Use:   "run NAME|FILE",
		Short: "Start a run now: of a spec file, or of a deployed (scheduled) pipeline",
		Long: `Starts one run now. Given a file, its plan; given a pipeline name, the plan its
schedule holds (what "pipectl apply" deployed). The run's trigger is "manual".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return withClient(ctx, dial, func(c client.Client) error {
				var plan *planner.Plan
				if _, err := os.Stat(args[0]); err == nil {
					opts, err := cf.options()
					if err != nil {
						return err
					}
					if plan, err = compileFile(stdio, args[0], opts); err != nil {
						return err
					}
				} else {
					d, err := deploy.Get(ctx, c, args[0])
					if err != nil {
						return err
					}
					if d == nil || d.Plan == nil {
						return fmt.Errorf("%s is neither a file nor a deployed pipeline (no schedule %s)", args[0], deploy.ScheduleID(args[0]))
					}
					plan = d.Plan
				}
				run, err := startRun(ctx, c, plan, "", workflows.TriggerManual)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdio.ErrOut, "started run %s of pipeline %s\n", run.GetID(), plan.Pipeline)
				if !wait {
					fmt.Fprintln(stdio.Out, run.GetID())
					return nil
				}
				st, err := follow(ctx, c, run, stdio, 500*time.Millisecond, time.Now)
				return reportRun(stdio, run.GetID(), st, err)
			})
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the run until it ends")
	return cmd
}

// runRow is one pipeline run in `get runs`; its JSON form is part of the
// CLI's stable output. A pipeline run whose history grew long is a chain
// of workflow runs of one workflow id, each continuing the one before as
// new: it is one row, with the status of the latest workflow run and the
// start of the first.
type runRow struct {
	ID string `json:"id"`
	// RunID is the latest workflow run's; FirstRunID the first's (the
	// same unless the run continued as new); Runs counts them.
	RunID      string    `json:"run_id"`
	FirstRunID string    `json:"first_run_id"`
	Runs       int       `json:"runs"`
	Pipeline   string    `json:"pipeline"`
	Status     string    `json:"status"`
	Trigger    string    `json:"trigger"`
	SpecHash   string    `json:"spec_hash"`
	StartedAt  time.Time `json:"started_at"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
}

func newGetCmd(stdio IO, dial dialFunc) *cobra.Command {
	cmd := &cobra.Command{Use: "get", Short: "List pipelines or runs"}
	var output, status, trigger string
	var limit int
	runs := &cobra.Command{
		Use:   "runs [PIPELINE]",
		Short: "List runs, newest first",
		Long: `Lists pipeline runs, of one pipeline or all, newest first: status, trigger,
start, duration and spec version. A run whose history grew long continues
as new: it is still one run, shown with the status of its latest workflow
run and the start of its first.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pipeline := ""
			if len(args) == 1 {
				pipeline = args[0]
			}
			q, err := runsQuery(pipeline, status, trigger)
			if err != nil {
				return err
			}
			return withClient(cmd.Context(), dial, func(c client.Client) error {
				rows, err := listRuns(cmd.Context(), c, q, limit)
				if err != nil {
					return err
				}
				return printRows(stdio, output, rows, func(tw io.Writer) {
					fmt.Fprintln(tw, "RUN\tPIPELINE\tSTATUS\tTRIGGER\tSTARTED\tDURATION\tSPEC")
					for _, r := range rows {
						end := r.ClosedAt
						if end.IsZero() {
							end = time.Now()
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Pipeline, r.Status, r.Trigger,
							r.StartedAt.Local().Format("2006-01-02 15:04:05"), end.Sub(r.StartedAt).Round(time.Second), short(r.SpecHash))
					}
				})
			})
		},
	}
	runs.Flags().IntVar(&limit, "limit", 50, "at most this many runs")
	runs.Flags().StringVar(&status, "status", "", "only runs in this state: "+strings.Join(runStatuses(), ", "))
	runs.Flags().StringVar(&trigger, "trigger", "", "only runs started this way: apply, schedule or manual")
	pipelines := &cobra.Command{
		Use:   "pipelines",
		Short: "List deployed (scheduled) pipelines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(cmd.Context(), dial, func(c client.Client) error {
				rows, err := listSchedules(cmd.Context(), c)
				if err != nil {
					return err
				}
				return printRows(stdio, output, rows, func(tw io.Writer) {
					fmt.Fprintln(tw, "PIPELINE\tSCHEDULE\tPAUSED\tNEXT RUN\tSPEC")
					for _, r := range rows {
						next := "-"
						if !r.NextRun.IsZero() {
							next = r.NextRun.Local().Format("2006-01-02 15:04:05")
						}
						fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", r.Pipeline, r.Cron, r.Paused, next, short(r.SpecHash))
					}
				})
			})
		},
	}
	for _, c := range []*cobra.Command{runs, pipelines} {
		c.Flags().StringVarP(&output, "output", "o", "table", "table, json or yaml")
		cmd.AddCommand(c)
	}
	return cmd
}

// listRuns lists pipeline runs matching query (a visibility query
// over pipectl.Pipeline workflow runs), newest first, at most limit.
func listRuns(ctx context.Context, c client.Client, query string, limit int) ([]runRow, error) {
	// A run that continued as new is one of a chain: the latest run
	// stands for it.
	query = fmt.Sprintf("%s AND ExecutionStatus != %q", query, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW.String())
	var rows []runRow
	var token []byte
	for len(rows) < limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: int32(min(limit, 100)), NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		for _, e := range resp.Executions {
			r := runRow{ID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId(), Status: runStatus(e.GetStatus()),
				StartedAt: e.GetStartTime().AsTime()}
			r.FirstRunID, r.Runs = r.RunID, 1
			if e.GetCloseTime() != nil {
				r.ClosedAt = e.GetCloseTime().AsTime()
			}
			fields := e.GetSearchAttributes().GetIndexedFields()
			dc := converter.GetDefaultDataConverter()
			_ = dc.FromPayload(fields[workflows.SearchAttrPipelineName], &r.Pipeline)
			_ = dc.FromPayload(fields[workflows.SearchAttrTriggerName], &r.Trigger)
			_ = dc.FromPayload(fields[workflows.SearchAttrSpecHashName], &r.SpecHash)
			rows = append(rows, r)
			if len(rows) == limit {
				break
			}
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			break
		}
	}
	if err := chainStarts(ctx, c, rows); err != nil {
		return nil, err
	}
	return rows, nil
}

// chainStarts sets, for each row whose workflow run continued an earlier
// one, the first run of the chain, its start and the count of runs.
func chainStarts(ctx context.Context, c client.Client, rows []runRow) error {
	// The runs that continued as new under the rows' workflow ids, in
	// batches of ids to keep queries short. Most ids have none, and those
	// cost nothing more.
	type wfRun struct {
		runID string
		start time.Time
	}
	continued := map[string][]wfRun{}
	const batch = 50
	for from := 0; from < len(rows); from += batch {
		var ids []string
		for _, r := range rows[from:min(from+batch, len(rows))] {
			ids = append(ids, fmt.Sprintf("%q", r.ID))
		}
		q := fmt.Sprintf("WorkflowType = %q AND ExecutionStatus = %q AND WorkflowId IN (%s)", workflows.PipelineWorkflow, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW.String(), strings.Join(ids, ", "))
		var token []byte
		for {
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 1000, NextPageToken: token})
			if err != nil {
				return fmt.Errorf("list runs: %w", err)
			}
			for _, e := range resp.Executions {
				id := e.GetExecution().GetWorkflowId()
				continued[id] = append(continued[id], wfRun{e.GetExecution().GetRunId(), e.GetStartTime().AsTime()})
			}
			if token = resp.NextPageToken; len(token) == 0 {
				break
			}
		}
	}
	for i := range rows {
		r := &rows[i]
		before := continued[r.ID]
		if !slices.ContainsFunc(before, func(w wfRun) bool { return w.start.Before(r.StartedAt) }) {
			continue
		}
		// The id may have had other runs before this chain: the latest
		// run knows the first of its own.
		desc, err := c.DescribeWorkflowExecution(ctx, r.ID, r.RunID)
		if err != nil {
			return fmt.Errorf("run %s: %w", r.ID, err)
		}
		first := desc.GetWorkflowExecutionInfo().GetFirstRunId()
		if first == "" || first == r.RunID {
			continue
		}
		start, ok := time.Time{}, false
		for _, w := range before {
			if w.runID == first {
				start, ok = w.start, true
			}
		}
		if !ok {
			d, err := c.DescribeWorkflowExecution(ctx, r.ID, first)
			if err != nil {
				return fmt.Errorf("run %s: %w", r.ID, err)
			}
			start = d.GetWorkflowExecutionInfo().GetStartTime().AsTime()
		}
		// The chain's runs are those of the id started from its first on:
		// a workflow id has one open run at a time.
		n := 1
		for _, w := range before {
			if !w.start.Before(start) && w.start.Before(r.StartedAt) {
				n++
			}
		}
		r.FirstRunID, r.StartedAt, r.Runs = first, start, max(n, 2)
	}
	return nil
}

// runsQuery is the visibility query of `get runs`: pipeline runs, of one
// pipeline, in one state, started by one trigger when those are given.
func runsQuery(pipeline, status, trigger string) (string, error) {
	q := fmt.Sprintf("WorkflowType = %q", workflows.PipelineWorkflow)
	if pipeline != "" {
		q += fmt.Sprintf(" AND %s = %q", workflows.SearchAttrPipelineName, pipeline)
	}
	if status != "" {
		st, ok := statusByName()[status]
		if !ok {
			return "", fmt.Errorf("--status %q: use one of %s", status, strings.Join(runStatuses(), ", "))
		}
		q += fmt.Sprintf(" AND ExecutionStatus = %q", st)
	}
	if trigger != "" {
		if !slices.Contains([]string{workflows.TriggerApply, workflows.TriggerSchedule, workflows.TriggerManual}, trigger) {
			return "", fmt.Errorf("--trigger %q: use apply, schedule or manual", trigger)
		}
		q += fmt.Sprintf(" AND %s = %q", workflows.SearchAttrTriggerName, trigger)
	}
	return q, nil
}

// filterStatuses are the execution statuses a run can be listed in.
var filterStatuses = []enumspb.WorkflowExecutionStatus{
	enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED,
	enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED,
	enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED,
	enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
}

// statusByName maps the states `get runs` shows to the names of the
// ExecutionStatus search attribute.
func statusByName() map[string]string {
	m := map[string]string{}
	for _, s := range filterStatuses {
		m[runStatus(s)] = s.String()
	}
	return m
}

func runStatuses() []string {
	var out []string
	for _, s := range filterStatuses {
		out = append(out, strconv.Quote(runStatus(s)))
	}
	return out
}

func runStatus(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "succeeded"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "cancelled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued"
	}
	return strings.ToLower(s.String())
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// printRows writes rows as JSON (-o json), YAML (-o yaml) or an aligned
// table. The YAML has the JSON's fields, names and order.
func printRows(stdio IO, output string, rows any, table func(io.Writer)) error {
	switch output {
	case "json":
		enc := json.NewEncoder(stdio.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "yaml":
		return writeYAML(stdio.Out, rows)
	case "table", "":
		if table == nil {
			return fmt.Errorf("-o table: not for this command; use json or yaml")
		}
		tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
		table(tw)
		return tw.Flush()
	}
	return fmt.Errorf("-o %q: use table, json or yaml", output)
}

// writeYAML writes v's JSON form as YAML: JSON is YAML, so it parses into
// a YAML document in the same order, which is then written in block style
// with only the quotes a value needs to keep its type.
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	var plain func(n *yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0
		for _, c := range n.Content {
			plain(c)
		}
	}
	plain(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return enc.Close()
}

func newDescribeCmd(stdio IO, dial dialFunc) *cobra.Command {
	cmd := &cobra.Command{Use: "describe", Short: "Show one run or pipeline in detail"}
	var output string
	run := &cobra.Command{
		Use:   "run ID",
		Short: "A run's steps: state, attempts, duration, external job, outputs, error",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(cmd.Context(), dial, func(c client.Client) error {
				st, err := runStatusOf(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				// The executions the run is made of; the status says
				// what matters even when their histories cannot be read.
				exs, _, err := (&runWalker{c: c}).walk(cmd.Context(), args[0])
				if err != nil {
					fmt.Fprintf(stdio.ErrOut, "warning: the run's workflow executions are not listed: %v\n", err)
				}
				if output != "table" && output != "" {
					return printRows(stdio, output, runDescription{Status: st, Executions: append([]*execution{}, exs...)}, nil)
				}
				printStatus(stdio.Out, args[0], st)
				printExecutions(stdio.Out, exs)
				return nil
			})
		},
	}
	run.Flags().StringVarP(&output, "output", "o", "table", "table, json or yaml")
	cmd.AddCommand(run)
	return cmd
}

// runStatusOf returns a run's status: from the status query while a worker
// can answer it, else from how the run ended.
func runStatusOf(ctx context.Context, c client.Client, id string) (*workflows.Status, error) {
	resp, qerr := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if qerr == nil {
		var st workflows.Status
		if err := resp.Get(&st); err == nil {
			return &st, nil
		}
	}
	var st workflows.Status
	err := c.GetWorkflow(ctx, id, "").Get(ctx, &st)
	if err == nil {
		return &st, nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() && app.Details(&st) == nil {
		return &st, nil
	}
	var canc *temporal.CanceledError
	if errors.As(err, &canc) && canc.HasDetails() && canc.Details(&st) == nil {
		return &st, nil
	}
	return nil, fmt.Errorf("run %s: %w", id, errors.Join(qerr, err))
}

func printStatus(w io.Writer, id string, st *workflows.Status) {
	fmt.Fprintf(w, "run %s  pipeline %s  %s\n", id, st.Pipeline, st.State)
	fmt.Fprintf(w, "  logical time %s, started %s", st.LogicalTime.Local().Format(time.RFC3339), st.StartedAt.Local().Format(time.RFC3339))
	if !st.EndedAt.IsZero() {
		fmt.Fprintf(w, ", took %s", st.EndedAt.Sub(st.StartedAt).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "\n  spec %s\n\n", short(st.SpecHash))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tKIND\tSTATE\tATTEMPT\tDURATION\tJOB\tDETAIL")
	for _, s := range st.Steps {
		dur := "-"
		if !s.StartedAt.IsZero() && !s.EndedAt.IsZero() {
			dur = s.EndedAt.Sub(s.StartedAt).Round(100 * time.Millisecond).String()
		}
		detail := s.Error
		if detail == "" {
			detail = s.SkipReason
		}
		if s.Items > 0 {
			detail = strings.TrimSpace(fmt.Sprintf("%d/%d items %s", s.ItemsDone, s.Items, detail))
		}
		if s.CancelError != "" {
			detail += " (stopping its job failed: " + s.CancelError + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.ID, s.Kind, s.State, s.Attempt, dur, jobText(s), detail)
	}
	tw.Flush()
	for _, s := range st.Steps {
		if len(s.Outputs) == 0 {
			continue
		}
		b, _ := json.Marshal(s.Outputs)
		fmt.Fprintf(w, "\noutputs of %s: %s", s.ID, b)
	}
	fmt.Fprintln(w)
}

// runDescription is `describe run -o json`: the run's status, and the
// workflow executions it is made of.
type runDescription struct {
	*workflows.Status
	Executions []*execution `json:"executions"`
}

// printExecutions lists a run's workflow runs (several when it continued
// as new) and the child workflows of its large for_each steps.
func printExecutions(w io.Writer, exs []*execution) {
	if len(exs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nworkflow executions")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  KIND\tWORKFLOW ID\tRUN ID\tSTATUS\tSTARTED\tDURATION\tEVENTS")
	for _, ex := range exs {
		kind := ex.Kind
		if ex.Kind == execItems {
			kind = fmt.Sprintf("%s %s", ex.Step, ex.items())
		}
		dur, events := "-", "-"
		if !ex.ClosedAt.IsZero() {
			dur = ex.ClosedAt.Sub(ex.StartedAt).Round(100 * time.Millisecond).String()
		}
		if ex.Events > 0 {
			events = fmt.Sprint(ex.Events)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", kind, ex.WorkflowID, ex.RunID, ex.Status,
			ex.StartedAt.Local().Format("15:04:05"), dur, events)
	}
	tw.Flush()
}

func newWatchCmd(stdio IO, dial dialFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a run live until it ends; the exit status says how it ended",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(cmd.Context(), dial, func(c client.Client) error {
				run := c.GetWorkflow(cmd.Context(), args[0], "")
				st, err := follow(cmd.Context(), c, run, stdio, 500*time.Millisecond, time.Now)
				return reportRun(stdio, args[0], st, err)
			})
		},
	}
}

func newCancelCmd(stdio IO, dial dialFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a run; its running external jobs are stopped first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(cmd.Context(), dial, func(c client.Client) error {
				if err := c.CancelWorkflow(cmd.Context(), args[0], ""); err != nil {
					return fmt.Errorf("cancel %s: %w", args[0], err)
				}
				fmt.Fprintf(stdio.ErrOut, "cancel requested for run %s\n", args[0])
				return nil
			})
		},
	}
}

func newStepCmd(stdio IO, dial dialFunc) *cobra.Command {
	cmd := &cobra.Command{Use: "step", Short: "Act on a suspended step: retry, skip or abort"}
	for _, a := range []struct{ action, short string }{
		{workflows.ActionRetry, "Run a suspended step again (a new job)"},
		{workflows.ActionSkip, "Skip a suspended step; what depends on it runs"},
		{workflows.ActionAbort, "Fail the run at a suspended step"},
	} {
		cmd.AddCommand(&cobra.Command{
			Use:   a.action + " RUN STEP",
			Short: a.short,
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withClient(cmd.Context(), dial, func(c client.Client) error {
					st, err := runStatusOf(cmd.Context(), c, args[0])
					if err != nil {
						return err
					}
					found := false
					for _, s := range st.Steps {
						if s.ID == args[1] {
							found = true
							if s.State != workflows.StepSuspended {
								return fmt.Errorf("step %s of run %s is %s, not suspended", args[1], args[0], s.State)
							}
						}
					}
					if !found {
						return fmt.Errorf("run %s has no step %s", args[0], args[1])
					}
					err = c.SignalWorkflow(cmd.Context(), args[0], "", workflows.SignalStepAction, workflows.StepAction{Step: args[1], Action: a.action})
					if err != nil {
						return fmt.Errorf("%s step %s: %w", a.action, args[1], err)
					}
					fmt.Fprintf(stdio.ErrOut, "%s requested for step %s of run %s\n", a.action, args[1], args[0])
					return nil
				})
			},
		})
	}
	return cmd
}
