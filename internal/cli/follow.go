package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/workflows"
)

// follow shows a run's steps until it ends and returns its final status and
// error. On a terminal the table is redrawn in place; otherwise each step
// change is printed once, as a line, so logs stay readable.
func follow(ctx context.Context, c client.Client, run client.WorkflowRun, stdio IO, refresh time.Duration, now func() time.Time) (*workflows.Status, error) {
	type outcome struct {
		st  *workflows.Status
		err error
	}
	done := make(chan outcome, 2)
	get := func(run client.WorkflowRun) {
		var st workflows.Status
		err := run.Get(ctx, &st)
		if err != nil {
			var app *temporal.ApplicationError
			if errors.As(err, &app) && app.HasDetails() && app.Details(&st) == nil {
				done <- outcome{&st, err}
				return
			}
			done <- outcome{nil, err}
			return
		}
		done <- outcome{&st, nil}
	}
	go get(run)
	// The server's long poll behind Get now and then misses the close and
	// answers when it times out, 20 s later; a run seen closed on a tick
	// gets its result from a second, fresh Get.
	refetched := false
	v := &view{out: stdio.ErrOut, tty: stdio.TTY, now: now, seen: map[string]string{}}
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	for {
		select {
		case o := <-done:
			st := o.st
			if st == nil {
				// Cancelled or terminated: the last known status is the
				// best there is.
				st, _ = queryStatus(ctx, c, run)
			}
			if st != nil {
				v.render(st)
			}
			return st, o.err
		case <-tick.C:
			if st, err := queryStatus(ctx, c, run); err == nil {
				v.progress = jobProgress(ctx, c, run.GetID(), "")
				fillRunningJobs(st, v.progress)
				v.render(st)
			}
			if !refetched && closed(ctx, c, run.GetID()) {
				refetched = true
				go get(c.GetWorkflow(ctx, run.GetID(), ""))
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// queryStatus asks the run's latest workflow run for its status: a run
// that continued as new goes on under a new run id, carrying the status of
// every step.
// closed reports whether the latest run of workflow id has closed (and
// not by continuing as new).
func closed(ctx context.Context, c client.Client, id string) bool {
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return false
	}
	status := d.GetWorkflowExecutionInfo().GetStatus()
	return status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && status != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
}

func queryStatus(ctx context.Context, c client.Client, run client.WorkflowRun) (*workflows.Status, error) {
	resp, err := c.QueryWorkflow(ctx, run.GetID(), "", workflows.QueryStatus)
	if err != nil {
		return nil, err
	}
	var st workflows.Status
	if err := resp.Get(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

type view struct {
	out   io.Writer
	tty   bool
	now   func() time.Time
	lines int               // lines drawn last time (TTY)
	seen  map[string]string // step id -> last printed state (no TTY)
	// progress is what services last reported, by job id.
	progress map[string]activities.Progress
}

func (v *view) render(st *workflows.Status) {
	if !v.tty {
		for _, s := range st.Steps {
			p, ok := v.progress[s.JobID]
			prog := ""
			if s.State == workflows.StepRunning {
				prog = progressText(p, ok)
			}
			key := string(s.State) + "|" + s.JobID + "|" + prog
			if v.seen[s.ID] == key || s.State == workflows.StepPending {
				continue
			}
			v.seen[s.ID] = key
			fmt.Fprintf(v.out, "%s  %-20s %-10s %8s  %s %s\n", v.now().Format("15:04:05"), s.ID, s.State, v.duration(s), jobText(s), prog)
		}
		return
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tKIND\tSTATE\tDURATION\tJOB\tPROGRESS")
	for _, s := range st.Steps {
		prog := ""
		if s.State == workflows.StepRunning {
			p, ok := v.progress[s.JobID]
			prog = progressText(p, ok)
		}
		if s.Items > 0 {
			prog = strings.TrimSpace(fmt.Sprintf("%d/%d items %s", s.ItemsDone, s.Items, prog))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Kind, stateText(s.State), v.duration(s), jobText(s), prog)
	}
	tw.Flush()
	if v.lines > 0 {
		fmt.Fprintf(v.out, "\x1b[%dA", v.lines) // back to the table's first line
	}
	text := strings.ReplaceAll(buf.String(), "\n", "\x1b[K\n")
	fmt.Fprint(v.out, text)
	v.lines = strings.Count(buf.String(), "\n")
}

func (v *view) duration(s workflows.StepStatus) string {
	if s.StartedAt.IsZero() {
		return "-"
	}
	end := s.EndedAt
	if end.IsZero() {
		end = v.now()
	}
	return end.Sub(s.StartedAt).Round(100 * time.Millisecond).String()
}

func jobText(s workflows.StepStatus) string {
	if s.JobID == "" {
		return "-"
	}
	return s.JobID
}

func stateText(s workflows.StepState) string {
	switch s {
	case workflows.StepSucceeded:
		return "✓ succeeded"
	case workflows.StepFailed:
		return "✗ failed"
	case workflows.StepRunning:
		return "• running"
	}
	return string(s)
}
