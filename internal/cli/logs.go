package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/workflows"
)

func newLogsCmd(stdio IO, dial dialFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "logs RUN [STEP]",
		Short: "What a run's steps did, call by call, from its history",
		Long: `Prints, for a run or one of its steps, every service call the worker made:
runs (a job submitted and waited for; done with its external job id),
submits and waits (runs started by older workers), cancels, their
failures with the service's message, re-runs and operator actions, and for
a call still being retried its last error. It reads the run's Temporal
history, which holds no credentials, so nothing needs redacting.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			step := ""
			if len(args) == 2 {
				step = args[1]
			}
			return withClient(cmd.Context(), dial, func(c client.Client) error {
				return printLogs(cmd.Context(), c, stdio.Out, args[0], step)
			})
		},
	}
}

type callInfo struct {
	step, activity string
	attempt        int
	item           int
}

func printLogs(ctx context.Context, c client.Client, w io.Writer, id, step string) error {
	it := c.GetWorkflowHistory(ctx, id, "", false, 0)
	dc := converter.GetDefaultDataConverter()
	calls := map[int64]callInfo{}
	found := false
	line := func(t time.Time, ci callInfo, format string, args ...any) {
		if step != "" && ci.step != step {
			return
		}
		found = true
		who := ci.step
		if ci.item > 0 {
			who += fmt.Sprintf("[%d]", ci.item)
		}
		fmt.Fprintf(w, "%s  %-22s %s\n", t.Local().Format("15:04:05.000"), who, fmt.Sprintf(format, args...))
	}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return fmt.Errorf("history of %s: %w", id, err)
		}
		t := e.GetEventTime().AsTime()
		switch {
		case e.GetActivityTaskScheduledEventAttributes() != nil:
			a := e.GetActivityTaskScheduledEventAttributes()
			var req activities.StepRequest
			if p := a.GetInput().GetPayloads(); len(p) > 0 {
				_ = dc.FromPayload(p[0], &req)
			}
			ci := callInfo{step: req.StepID, activity: a.GetActivityType().GetName(), attempt: req.Attempt, item: req.Item}
			calls[e.GetEventId()] = ci
			line(t, ci, "%s (attempt %d)", callName(ci.activity), ci.attempt)
		case e.GetActivityTaskCompletedEventAttributes() != nil:
			a := e.GetActivityTaskCompletedEventAttributes()
			ci := calls[a.GetScheduledEventId()]
			detail := ""
			if p := a.GetResult().GetPayloads(); len(p) > 0 {
				detail = resultText(dc, ci.activity, p[0])
			}
			line(t, ci, "%s done%s", callName(ci.activity), detail)
		case e.GetActivityTaskFailedEventAttributes() != nil:
			a := e.GetActivityTaskFailedEventAttributes()
			ci := calls[a.GetScheduledEventId()]
			line(t, ci, "%s failed: %s", callName(ci.activity), failureText(a.GetFailure().GetMessage(), a.GetFailure().GetCause().GetMessage()))
		case e.GetActivityTaskTimedOutEventAttributes() != nil:
			a := e.GetActivityTaskTimedOutEventAttributes()
			ci := calls[a.GetScheduledEventId()]
			line(t, ci, "%s timed out: %s", callName(ci.activity), failureText(a.GetFailure().GetMessage(), a.GetFailure().GetCause().GetMessage()))
		case e.GetActivityTaskCanceledEventAttributes() != nil:
			ci := calls[e.GetActivityTaskCanceledEventAttributes().GetScheduledEventId()]
			line(t, ci, "%s cancelled", callName(ci.activity))
		case e.GetWorkflowExecutionSignaledEventAttributes() != nil:
			a := e.GetWorkflowExecutionSignaledEventAttributes()
			if a.GetSignalName() != workflows.SignalStepAction {
				continue
			}
			var act workflows.StepAction
			if p := a.GetInput().GetPayloads(); len(p) > 0 {
				_ = dc.FromPayload(p[0], &act)
			}
			line(t, callInfo{step: act.Step}, "operator: %s (by %s)", act.Action, orDefault(a.GetIdentity(), "unknown"))
		case e.GetWorkflowExecutionCancelRequestedEventAttributes() != nil:
			if step == "" {
				found = true
				fmt.Fprintf(w, "%s  %-22s cancel requested\n", t.Local().Format("15:04:05.000"), "(run)")
			}
		}
	}
	// A call still being retried has no event yet; its last error is on
	// the pending activity.
	if desc, err := c.DescribeWorkflowExecution(ctx, id, ""); err == nil {
		for _, pa := range desc.GetPendingActivities() {
			f := pa.GetLastFailure()
			if f == nil {
				continue
			}
			ci := callInfo{activity: pa.GetActivityType().GetName()}
			for sid, c := range calls {
				if fmt.Sprint(sid) == pa.GetActivityId() {
					ci = c
				}
			}
			line(pa.GetLastAttemptCompleteTime().AsTime(), ci, "%s attempt %d: %s (retrying)", callName(ci.activity), pa.GetAttempt(), failureText(f.GetMessage(), ""))
		}
	}
	if !found && step != "" {
		return fmt.Errorf("run %s has no calls for step %q", id, step)
	}
	return nil
}

func callName(activity string) string {
	switch {
	case strings.HasSuffix(activity, ".submit"):
		return "submit"
	case strings.HasSuffix(activity, ".wait"):
		return "wait"
	case strings.HasSuffix(activity, ".cancel"):
		return "cancel"
	case strings.HasSuffix(activity, ".run"):
		return "run" // submit and wait in one activity
	}
	return activity
}

func resultText(dc converter.DataConverter, activity string, p *commonpb.Payload) string {
	switch callName(activity) {
	case "submit":
		var job activities.Job
		if dc.FromPayload(p, &job) == nil && job.ID != "" {
			s := ": job " + job.ID
			if job.Reattached {
				s += " (re-attached to the job an earlier try created)"
			}
			return s
		}
	case "wait":
		var res activities.Result
		if dc.FromPayload(p, &res) == nil && res.State != "" {
			return ": " + res.State
		}
	case "run":
		var res activities.Result
		if dc.FromPayload(p, &res) == nil && res.State != "" {
			return strings.TrimSpace(": job "+res.JobID) + " " + res.State
		}
	}
	return ""
}

func failureText(msg, cause string) string {
	if cause != "" && !strings.Contains(msg, cause) {
		return msg + ": " + cause
	}
	return msg
}
