package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
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
submits (with the external job id they returned), waits, cancels, their
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

// callInfo is what a scheduled activity was for.
type callInfo struct {
	step, activity, call string
	attempt              int
	item                 int
}

// logLine is one line of `pipectl logs`.
type logLine struct {
	t    time.Time
	who  string
	text string
}

// printLogs prints what run id's steps did (or step's, if not empty), from
// the histories of every execution of the run: its workflow runs, however
// many times it continued as new, and the child workflows that ran batches
// of a for_each step's elements. Lines are in time order.
func printLogs(ctx context.Context, c client.Client, w io.Writer, id, step string) error {
	dc := converter.GetDefaultDataConverter()
	// Each execution's activities, by scheduled event id and by activity id.
	type execCalls struct {
		byEvent, byActivity map[string]callInfo
	}
	calls := map[*execution]*execCalls{}
	children := map[*execution]map[int64]string{} // initiated event id -> "step"
	var lines []logLine
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
		lines = append(lines, logLine{t: t, who: who, text: fmt.Sprintf(format, args...)})
	}
	runLine := func(t time.Time, format string, args ...any) {
		if step == "" {
			found = true
			lines = append(lines, logLine{t: t, who: "(run)", text: fmt.Sprintf(format, args...)})
		}
	}
	event := func(ex *execution, e *historypb.HistoryEvent) {
		ec := calls[ex]
		if ec == nil {
			ec = &execCalls{byEvent: map[string]callInfo{}, byActivity: map[string]callInfo{}}
			calls[ex] = ec
		}
		t := e.GetEventTime().AsTime()
		scheduled := func(id int64) callInfo { return ec.byEvent[fmt.Sprint(id)] }
		switch {
		case e.GetActivityTaskScheduledEventAttributes() != nil:
			a := e.GetActivityTaskScheduledEventAttributes()
			var req activities.StepRequest
			if p := a.GetInput().GetPayloads(); len(p) > 0 {
				_ = dc.FromPayload(p[0], &req)
			}
			ci := callInfo{step: req.StepID, activity: a.GetActivityType().GetName(), attempt: req.Attempt, item: req.Item}
			ci.call = callName(ci.activity, req.Kind)
			ec.byEvent[fmt.Sprint(e.GetEventId())] = ci
			ec.byActivity[a.GetActivityId()] = ci
			line(t, ci, "%s (attempt %d)", ci.call, ci.attempt)
		case e.GetActivityTaskCompletedEventAttributes() != nil:
			a := e.GetActivityTaskCompletedEventAttributes()
			ci := scheduled(a.GetScheduledEventId())
			detail := ""
			if p := a.GetResult().GetPayloads(); len(p) > 0 {
				detail = resultText(dc, p[0])
			}
			line(t, ci, "%s done%s", ci.call, detail)
		case e.GetActivityTaskFailedEventAttributes() != nil:
			a := e.GetActivityTaskFailedEventAttributes()
			ci := scheduled(a.GetScheduledEventId())
			line(t, ci, "%s failed: %s", ci.call, failureText(a.GetFailure().GetMessage(), a.GetFailure().GetCause().GetMessage()))
		case e.GetActivityTaskTimedOutEventAttributes() != nil:
			a := e.GetActivityTaskTimedOutEventAttributes()
			ci := scheduled(a.GetScheduledEventId())
			line(t, ci, "%s timed out: %s", ci.call, failureText(a.GetFailure().GetMessage(), a.GetFailure().GetCause().GetMessage()))
		case e.GetActivityTaskCanceledEventAttributes() != nil:
			ci := scheduled(e.GetActivityTaskCanceledEventAttributes().GetScheduledEventId())
			line(t, ci, "%s cancelled", ci.call)
		case e.GetWorkflowExecutionSignaledEventAttributes() != nil:
			a := e.GetWorkflowExecutionSignaledEventAttributes()
			if a.GetSignalName() != workflows.SignalStepAction {
				return
			}
			var act workflows.StepAction
			if p := a.GetInput().GetPayloads(); len(p) > 0 {
				_ = dc.FromPayload(p[0], &act)
			}
			line(t, callInfo{step: act.Step}, "operator: %s (by %s)", act.Action, orDefault(a.GetIdentity(), "unknown"))
		case e.GetWorkflowExecutionCancelRequestedEventAttributes() != nil:
			if ex.Kind == execRun {
				runLine(t, "cancel requested")
			}
		case e.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil:
			runLine(t, "history is long: continued as new in workflow run %s", e.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId())
		case e.GetStartChildWorkflowExecutionInitiatedEventAttributes() != nil:
			var in workflows.ItemsInput
			if p := e.GetStartChildWorkflowExecutionInitiatedEventAttributes().GetInput().GetPayloads(); len(p) > 0 {
				_ = dc.FromPayload(p[0], &in)
			}
			if children[ex] == nil {
				children[ex] = map[int64]string{}
			}
			children[ex][e.GetEventId()] = in.Step.ID
		case e.GetChildWorkflowExecutionStartedEventAttributes() != nil:
			a := e.GetChildWorkflowExecutionStartedEventAttributes()
			line(t, callInfo{step: children[ex][a.GetInitiatedEventId()]}, "child workflow %s started", a.GetWorkflowExecution().GetWorkflowId())
		case e.GetStartChildWorkflowExecutionFailedEventAttributes() != nil:
			a := e.GetStartChildWorkflowExecutionFailedEventAttributes()
			line(t, callInfo{step: children[ex][a.GetInitiatedEventId()]}, "child workflow %s did not start: %s", a.GetWorkflowId(), a.GetCause())
		default:
			if init, status := childClosed(e); init != 0 {
				text := "child workflow " + status
				if f := e.GetChildWorkflowExecutionFailedEventAttributes().GetFailure(); f != nil {
					text += ": " + failureText(f.GetMessage(), f.GetCause().GetMessage())
				}
				line(t, callInfo{step: children[ex][init]}, "%s", text)
			}
		}
	}
	walker := &runWalker{c: c, event: event, children: func(s string) bool { return step == "" || s == step }}
	exs, desc, err := walker.walk(ctx, id)
	if err != nil {
		return err
	}
	// A call still being retried has no event yet; its last error is on
	// the pending activity of the execution running it.
	for _, ex := range exs {
		if ex.Status != "running" || calls[ex] == nil {
			continue
		}
		d := desc
		if ex.WorkflowID != id || ex.RunID != desc.GetWorkflowExecutionInfo().GetExecution().GetRunId() {
			if d, err = c.DescribeWorkflowExecution(ctx, ex.WorkflowID, ex.RunID); err != nil {
				continue
			}
		}
		for _, pa := range d.GetPendingActivities() {
			f := pa.GetLastFailure()
			if f == nil {
				continue
			}
			ci, ok := calls[ex].byActivity[pa.GetActivityId()]
			if !ok {
				ci = callInfo{activity: pa.GetActivityType().GetName(), call: pa.GetActivityType().GetName()}
			}
			t := time.Now()
			if pa.GetLastAttemptCompleteTime() != nil {
				t = pa.GetLastAttemptCompleteTime().AsTime()
			}
			line(t, ci, "%s attempt %d: %s (retrying)", ci.call, pa.GetAttempt(), failureText(f.GetMessage(), ""))
		}
	}
	if !found && step != "" {
		return fmt.Errorf("run %s has no calls for step %q", id, step)
	}
	// Histories are each in order; the executions ran side by side.
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].t.Before(lines[j].t) })
	for _, l := range lines {
		fmt.Fprintf(w, "%s  %-22s %s\n", l.t.Local().Format("15:04:05.000"), l.who, l.text)
	}
	return nil
}

// callName is the part of an activity's name after its step kind: submit,
// wait, cancel, run... An activity not named after the kind keeps its name.
func callName(activity, kind string) string {
	if kind != "" && strings.HasPrefix(activity, kind+".") {
		return activity[len(kind)+1:]
	}
	return activity
}

// resultText says what a step activity returned: the external job it
// submitted or attached to, and the state the job ended in.
func resultText(dc converter.DataConverter, p *commonpb.Payload) string {
	// The fields of activities.Job and activities.Result, whichever the
	// call returned.
	var res struct {
		ID         string `json:"id"`
		JobID      string `json:"job_id"`
		Reattached bool   `json:"reattached"`
		State      string `json:"state"`
	}
	if dc.FromPayload(p, &res) != nil {
		return ""
	}
	s := ""
	if job := cmp.Or(res.ID, res.JobID); job != "" {
		s = ": job " + job
		if res.Reattached {
			s += " (re-attached to the job an earlier try created)"
		}
	}
	if res.State != "" {
		if s == "" {
			s = ":"
		}
		s += " " + res.State
	}
	return s
}

func failureText(msg, cause string) string {
	if cause != "" && !strings.Contains(msg, cause) {
		return msg + ": " + cause
	}
	return msg
}
