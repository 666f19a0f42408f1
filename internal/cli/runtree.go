package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/pipectl/pipectl/workflows"
)

// A pipeline run is one or more Temporal workflow executions: the runs of
// its workflow id that continue one another as new when the history grows
// long (workflows/continue.go), and the child workflows that run the
// elements of a large for_each step in batches (workflows/items.go).
// `pipectl logs` and `describe run` show all of them.

// Kinds of execution.
const (
	execRun   = "run"
	execItems = "items"
)

// execution is one workflow execution of a pipeline run. Its JSON form is
// part of `describe run -o json`.
type execution struct {
	// Kind is "run" for a run of the pipeline's workflow id (several when
	// it continued as new, first to last), "items" for a child workflow
	// running elements FirstItem..LastItem (1-based) of for_each Step.
	Kind       string `json:"kind"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Step       string `json:"step,omitempty"`
	FirstItem  int    `json:"first_item,omitempty"`
	LastItem   int    `json:"last_item,omitempty"`
	// Status is running, succeeded, failed, cancelled, terminated, timed
	// out, or continued (a run that continued as new).
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	// Events counts the execution's history events; 0 when its history
	// was not read (children, for describe).
	Events int `json:"events,omitempty"`
}

func (ex *execution) items() string {
	return fmt.Sprintf("items %d-%d", ex.FirstItem, ex.LastItem)
}

// runWalker reads the histories of a pipeline run's executions.
type runWalker struct {
	c client.Client
	// children says whether to read the history of a child workflow
	// running elements of step (nil: none is read; the children are still
	// listed, as the runs' histories tell of them).
	children func(step string) bool
	// event, if set, sees every event of every history read.
	event func(ex *execution, e *historypb.HistoryEvent)
}

// walk returns the executions of pipeline run id: its workflow runs first
// to last, then the child workflows in the order they started, and the
// description of its latest run.
func (w *runWalker) walk(ctx context.Context, id string) ([]*execution, *workflowservice.DescribeWorkflowExecutionResponse, error) {
	desc, err := w.c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, nil, fmt.Errorf("no run %s: %w", id, err)
		}
		return nil, nil, fmt.Errorf("run %s: %w", id, err)
	}
	latest := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	first := desc.GetWorkflowExecutionInfo().GetFirstRunId()
	if first == "" {
		// A server that does not say: the first run's id is on the
		// latest run's first event.
		it := w.c.GetWorkflowHistory(ctx, id, latest, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		if it.HasNext() {
			if e, err := it.Next(); err == nil {
				first = e.GetWorkflowExecutionStartedEventAttributes().GetFirstExecutionRunId()
			}
		}
		if first == "" {
			first = latest
		}
	}
	var out []*execution
	for runID := first; runID != ""; {
		ex := &execution{Kind: execRun, WorkflowID: id, RunID: runID, Status: "running"}
		out = append(out, ex)
		next, children, err := w.read(ctx, ex)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, children...)
		if runID == latest {
			break
		}
		if runID = next; runID == "" {
			runID = latest // a broken link: the latest run at least
		}
	}
	// Children of children (there are none today) are read too.
	for i := 0; i < len(out); i++ {
		ex := out[i]
		if ex.Kind == execRun || w.children == nil || !w.children(ex.Step) {
			continue
		}
		_, children, err := w.read(ctx, ex)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, children...)
	}
	return sortRunsFirst(out), desc, nil
}

// sortRunsFirst puts the workflow runs before the children, keeping the
// order within each.
func sortRunsFirst(exs []*execution) []*execution {
	out := make([]*execution, 0, len(exs))
	for _, kind := range []string{execRun, execItems} {
		for _, ex := range exs {
			if ex.Kind == kind {
				out = append(out, ex)
			}
		}
	}
	return out
}

// read reads ex's history: it sets ex's status, times and event count,
// and returns the run it continued as new in (if it did) and the child
// workflows it started.
func (w *runWalker) read(ctx context.Context, ex *execution) (next string, children []*execution, err error) {
	dc := converter.GetDefaultDataConverter()
	initiated := map[int64]workflows.ItemsInput{}
	started := map[int64]*execution{}
	it := w.c.GetWorkflowHistory(ctx, ex.WorkflowID, ex.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	ex.Events = 0
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return "", nil, fmt.Errorf("history of %s (run %s): %w", ex.WorkflowID, ex.RunID, err)
		}
		ex.Events++
		t := e.GetEventTime().AsTime()
		closed := func(status string) {
			ex.Status, ex.ClosedAt = status, t
		}
		switch {
		case e.GetWorkflowExecutionStartedEventAttributes() != nil:
			ex.StartedAt = t
		case e.GetWorkflowExecutionCompletedEventAttributes() != nil:
			closed(runStatus(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED))
		case e.GetWorkflowExecutionFailedEventAttributes() != nil:
			closed(runStatus(enumspb.WORKFLOW_EXECUTION_STATUS_FAILED))
		case e.GetWorkflowExecutionCanceledEventAttributes() != nil:
			closed(runStatus(enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED))
		case e.GetWorkflowExecutionTerminatedEventAttributes() != nil:
			closed(runStatus(enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED))
		case e.GetWorkflowExecutionTimedOutEventAttributes() != nil:
			closed(runStatus(enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT))
		case e.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil:
			closed(runStatus(enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW))
			next = e.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
		case e.GetStartChildWorkflowExecutionInitiatedEventAttributes() != nil:
			var in workflows.ItemsInput
			if p := e.GetStartChildWorkflowExecutionInitiatedEventAttributes().GetInput().GetPayloads(); len(p) > 0 {
				_ = dc.FromPayload(p[0], &in)
			}
			initiated[e.GetEventId()] = in
		case e.GetChildWorkflowExecutionStartedEventAttributes() != nil:
			a := e.GetChildWorkflowExecutionStartedEventAttributes()
			in := initiated[a.GetInitiatedEventId()]
			child := &execution{
				Kind:       execItems,
				WorkflowID: a.GetWorkflowExecution().GetWorkflowId(),
				RunID:      a.GetWorkflowExecution().GetRunId(),
				Step:       in.Step.ID,
				FirstItem:  in.First,
				Status:     "running",
				StartedAt:  t,
			}
			if n, err := itemCount(in); err == nil && n > 0 {
				child.LastItem = in.First + n - 1
			}
			started[a.GetInitiatedEventId()] = child
			children = append(children, child)
		default:
			if id, status := childClosed(e); id != 0 && started[id] != nil {
				started[id].Status, started[id].ClosedAt = status, t
			}
		}
		if w.event != nil {
			w.event(ex, e)
		}
	}
	return next, children, nil
}

// itemCount counts the elements of a batch.
func itemCount(in workflows.ItemsInput) (int, error) {
	var items []json.RawMessage
	if len(in.Items) == 0 {
		return 0, nil
	}
	err := json.Unmarshal(in.Items, &items)
	return len(items), err
}

// childClosed returns the initiated event id of the child workflow whose
// end e records, and how it ended; 0 if e records no child's end.
func childClosed(e *historypb.HistoryEvent) (int64, string) {
	switch {
	case e.GetChildWorkflowExecutionCompletedEventAttributes() != nil:
		return e.GetChildWorkflowExecutionCompletedEventAttributes().GetInitiatedEventId(), runStatus(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	case e.GetChildWorkflowExecutionFailedEventAttributes() != nil:
		return e.GetChildWorkflowExecutionFailedEventAttributes().GetInitiatedEventId(), runStatus(enumspb.WORKFLOW_EXECUTION_STATUS_FAILED)
	case e.GetChildWorkflowExecutionCanceledEventAttributes() != nil:
		return e.GetChildWorkflowExecutionCanceledEventAttributes().GetInitiatedEventId(), runStatus(enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED)
	case e.GetChildWorkflowExecutionTerminatedEventAttributes() != nil:
		return e.GetChildWorkflowExecutionTerminatedEventAttributes().GetInitiatedEventId(), runStatus(enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED)
	case e.GetChildWorkflowExecutionTimedOutEventAttributes() != nil:
		return e.GetChildWorkflowExecutionTimedOutEventAttributes().GetInitiatedEventId(), runStatus(enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT)
	}
	return 0, ""
}
