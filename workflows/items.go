package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/spec/expr"
)

// A for_each element costs the run's history about a dozen events, like a
// step, and a step's elements all run before the step ends, so a run
// cannot continue as new in the middle of one. A for_each of more than
// inlineItems elements therefore runs them in child workflows (Items), up
// to itemsPerChild each: the run's history grows by a few events per batch
// and each child's stays bounded (250 elements, even re-run 10 times, stay
// under Temporal's 51,200 events). Elements run in order of their index,
// and the step's max_parallel bounds them across all its children.
const (
	inlineItems   = 100
	itemsPerChild = 250
	// maxChildBatches bounds the children a step runs at once (Temporal
	// allows 2,000 pending children per workflow by default).
	maxChildBatches = 100
	// changeForEachChildren guards running large for_each steps in child
	// workflows: a run that started one inline goes on inline.
	changeForEachChildren = "for-each-children"
)

// A for_each step's outputs are lists with one entry per element. They are
// kept in the run's status, its result and what it carries when it
// continues as new, all Temporal payloads of at most 2 MB, so each list
// keeps at most maxItemOutputs entries and a step's outputs at most
// maxOutputBytes of JSON. When the bounds cut the lists, every list keeps
// the same first entries (entry n is still element n's) and ends with a
// marker string saying how many entries were dropped, so a downstream
// template that joins the list shows the cut rather than silently using a
// shorter list.
const (
	maxItemOutputs = 10_000
	maxOutputBytes = 512 << 10
)

// What pipectl plan's history estimate goes by: the same figures the run
// goes by, so that the estimate follows them.
const (
	InlineItems    = inlineItems
	ItemsPerChild  = itemsPerChild
	HistoryEvents  = historyEvents
	EventsPerJob   = eventsPerJob
	EventsPerTimer = eventsPerTimer
	EventsPerChild = eventsPerChild
)

// batches returns how many children run n elements.
func batches(n int) int { return (n + itemsPerChild - 1) / itemsPerChild }

// ItemsInput is one batch of a for_each step's elements. It holds the
// step (without its for_each) and what its `with` templates read, not the
// plan: the pipeline's params and env, and of the outputs of the steps it
// depends on only those the templates name.
type ItemsInput struct {
	Pipeline string     `json:"pipeline"`
	RunKey   string     `json:"run_key"`
	RunID    string     `json:"run_id"`
	Cloud    spec.Cloud `json:"cloud"`
	// LogicalTime and StartedAt are the pipeline run's.
	LogicalTime time.Time                 `json:"logical_time"`
	StartedAt   time.Time                 `json:"started_at"`
	Params      map[string]any            `json:"params,omitempty"`
	Env         map[string]string         `json:"env,omitempty"`
	Outputs     map[string]map[string]any `json:"outputs,omitempty"`
	Step        planner.Step              `json:"step"`
	// Items are the batch's elements as a cty JSON tuple with its type,
	// so that they decode exactly as the pipeline evaluated them; First
	// is the 1-based index of the first in the step's list.
	Items     json.RawMessage `json:"items"`
	ItemsType json.RawMessage `json:"items_type"`
	First     int             `json:"first"`
	// Prior counts the attempts the step made before (an operator's
	// retry); MaxParallel bounds the batch's jobs at once (0: none).
	Prior       int `json:"prior,omitempty"`
	MaxParallel int `json:"max_parallel,omitempty"`
}

// ItemsResult is what a batch reports: each output as a list in element
// order, the highest attempt an element's job needed, and the last job.
type ItemsResult struct {
	Outputs map[string][]any `json:"outputs,omitempty"`
	Attempt int              `json:"attempt"`
	JobID   string           `json:"job_id,omitempty"`
}

// Items runs one batch of a for_each step's elements for the pipeline run
// that started it, exactly as the run would inline: the same activities,
// idempotency keys, re-runs, timeouts and cancellation. The first element
// that fails cancels the others and fails the batch.
func Items(ctx workflow.Context, in ItemsInput) (*ItemsResult, error) {
	ty, err := ctyjson.UnmarshalType(in.ItemsType)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("for_each elements: "+err.Error(), ErrUnsupportedPlan, nil)
	}
	tuple, err := ctyjson.Unmarshal(in.Items, ty)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("for_each elements: "+err.Error(), ErrUnsupportedPlan, nil)
	}
	var items []cty.Value
	for it := tuple.ElementIterator(); it.Next(); {
		_, e := it.Element()
		items = append(items, e)
	}
	step := in.Step
	r := &run{
		plan: planner.Plan{Version: planner.PlanVersion, Pipeline: in.Pipeline, Cloud: in.Cloud, Params: in.Params, Env: in.Env,
			Steps: []planner.Step{step}},
		status: &Status{Pipeline: in.Pipeline, State: RunRunning, StartedAt: in.StartedAt, LogicalTime: in.LogicalTime,
			Steps: []StepStatus{{ID: step.ID, Kind: step.Kind, State: StepRunning, Attempt: in.Prior, Items: len(items)}}},
		pos:    map[string]int{step.ID: 0},
		runKey: in.RunKey,
		runID:  in.RunID,
		given:  in.Outputs,
	}
	st := &r.status.Steps[0]
	results, err := r.runItems(ctx, step, st, items, in.First, in.Prior, in.MaxParallel)
	if err != nil {
		return nil, err
	}
	res := &ItemsResult{Attempt: st.Attempt, JobID: st.JobID, Outputs: map[string][]any{}}
	for k, v := range itemOutputs(results) {
		res.Outputs[k] = v.([]any)
	}
	return res, nil
}

// runBatches runs a large for_each step's elements in Items children, in
// batches of itemsPerChild, and collects their outputs as runItems does.
// The step's max_parallel is split among the children running at once.
// The first batch that fails cancels the others; the step waits for them
// to stop their jobs.
func (r *run) runBatches(ctx workflow.Context, step planner.Step, st *StepStatus, items []cty.Value, prior int) (map[string]any, error) {
	st.Items, st.ItemsDone = len(items), 0
	n, nb := len(items), batches(len(items))
	conc, per := min(nb, maxChildBatches), 0
	if limit := step.ForEach.MaxParallel; limit > 0 {
		conc = min(conc, (limit+itemsPerChild-1)/itemsPerChild)
		per = limit / conc
	}
	given, err := r.templateOutputs(step)
	if err != nil {
		return nil, err
	}
	ctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	type batchDone struct {
		b   int
		res *ItemsResult
		err error
	}
	outputs := map[string]any{}
	var firstErr error
	done := workflow.NewChannel(ctx)
	running, next := 0, 0
	for next < nb || running > 0 {
		for firstErr == nil && running < conc && next < nb {
			b := next
			next++
			from, to := b*itemsPerChild, min(n, (b+1)*itemsPerChild)
			in, err := r.itemsInput(step, items[from:to], from+1, prior, per, given)
			if err != nil {
				firstErr = err
				cancel()
				break
			}
			// The id is unique to the pipeline run (its first workflow
			// run's id) and the batch, and recorded in history. It
			// holds no workflow id: a replayer does not know it.
			id := fmt.Sprintf("%s/%s/%s/items-%d-%d", r.plan.Pipeline, r.firstRunID, step.ID, from+1, to)
			if prior > 0 {
				id += fmt.Sprintf("/attempt-%d", prior+1)
			}
			running++
			workflow.Go(ctx, func(ctx workflow.Context) {
				cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
					WorkflowID: id,
					// The child stops its jobs before the step ends, and
					// if the run is closed under it (terminated).
					WaitForCancellation: true,
					ParentClosePolicy:   enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
				})
				var res ItemsResult
				err := workflow.ExecuteChildWorkflow(cctx, ItemsWorkflow, in).Get(ctx, &res)
				done.Send(ctx, batchDone{b: b, res: &res, err: err})
			})
		}
		if running == 0 {
			break
		}
		var d batchDone
		done.Receive(ctx, &d)
		running--
		if d.err != nil {
			if firstErr == nil {
				firstErr = d.err
				cancel()
			}
			continue
		}
		from, to := d.b*itemsPerChild, min(n, (d.b+1)*itemsPerChild)
		st.ItemsDone += to - from
		st.Attempt = max(st.Attempt, d.res.Attempt)
		if d.res.JobID != "" {
			st.JobID = d.res.JobID
		}
		for k, vs := range d.res.Outputs {
			list, _ := outputs[k].([]any)
			if list == nil {
				list = make([]any, n)
				outputs[k] = list
			}
			copy(list[from:to], vs)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return r.capOutputs(ctx, step, outputs, n), nil
}

// itemsInput builds the input of the child running items.
func (r *run) itemsInput(step planner.Step, items []cty.Value, first, prior, limit int, given map[string]map[string]any) (ItemsInput, error) {
	tuple := cty.TupleVal(items)
	ty, err := ctyjson.MarshalType(tuple.Type())
	if err != nil {
		return ItemsInput{}, fmt.Errorf("for_each: %w", err)
	}
	vals, err := ctyjson.Marshal(tuple, tuple.Type())
	if err != nil {
		return ItemsInput{}, fmt.Errorf("for_each: %w", err)
	}
	// The batch's elements travel in Items; the step's whole list would
	// repeat in every child's input.
	step.ForEach = nil
	return ItemsInput{
		Pipeline:    r.plan.Pipeline,
		RunKey:      r.runKey,
		RunID:       r.runID,
		Cloud:       r.plan.Cloud,
		LogicalTime: r.status.LogicalTime,
		StartedAt:   r.status.StartedAt,
		Params:      r.plan.Params,
		Env:         r.plan.Env,
		Outputs:     given,
		Step:        step,
		Items:       vals,
		ItemsType:   ty,
		First:       first,
		Prior:       prior,
		MaxParallel: limit,
	}, nil
}

// templateOutputs returns the outputs step's `with` templates read, by
// step and name: a template naming steps.X.outputs as a whole gets all of
// X's. Templates that do not parse read nothing here; evaluating them
// reports the error.
func (r *run) templateOutputs(step planner.Step) (map[string]map[string]any, error) {
	if len(step.Templates) == 0 {
		return nil, nil
	}
	var with map[string]any
	if err := json.Unmarshal(step.With, &with); err != nil {
		return nil, fmt.Errorf("with: %w", err)
	}
	keys := make([]string, 0, len(step.Templates))
	for k := range step.Templates {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]map[string]any{}
	var walk func(v any, pos planner.SrcPos)
	walk = func(v any, pos planner.SrcPos) {
		switch x := v.(type) {
		case string:
			if !expr.HasTemplate(x) {
				return
			}
			e, diags := expr.Parse(x, pos.File, pos.Pos())
			if diags.HasErrors() {
				return
			}
			for _, ref := range expr.Refs(e) {
				if ref.Root != expr.RootSteps || len(ref.Path) == 0 || !slices.Contains(step.DependsOn, ref.Path[0]) {
					continue
				}
				id := ref.Path[0]
				all := r.outputsOf(id)
				if all == nil {
					continue
				}
				if out[id] == nil {
					out[id] = map[string]any{}
				}
				if len(ref.Path) < 3 {
					for name, val := range all {
						out[id][name] = val
					}
					continue
				}
				if val, ok := all[ref.Path[2]]; ok {
					out[id][ref.Path[2]] = val
				}
			}
		case []any:
			for _, e := range x {
				walk(e, pos)
			}
		case map[string]any:
			for _, e := range x {
				walk(e, pos)
			}
		}
	}
	for _, k := range keys {
		walk(with[k], step.Templates[k])
	}
	return out, nil
}

// capOutputs applies maxItemOutputs and maxOutputBytes to the outputs of
// a for_each step of n elements.
func (r *run) capOutputs(ctx workflow.Context, step planner.Step, outputs map[string]any, n int) map[string]any {
	names := make([]string, 0, len(outputs))
	for k := range outputs {
		names = append(names, k)
	}
	sort.Strings(names)
	keep, size := 0, 0
	for keep < min(n, maxItemOutputs) {
		for _, k := range names {
			b, _ := json.Marshal(outputs[k].([]any)[keep])
			size += len(b) + 1
		}
		if size > maxOutputBytes {
			break
		}
		keep++
	}
	if keep == n {
		return outputs
	}
	marker := fmt.Sprintf("...(%d more entries not kept: a for_each step keeps the outputs of at most %d elements and %d KiB)", n-keep, maxItemOutputs, maxOutputBytes>>10)
	workflow.GetLogger(ctx).Warn("for_each outputs cut", "step", step.ID, "elements", n, "kept", keep)
	capped := make(map[string]any, len(outputs))
	for _, k := range names {
		list := outputs[k].([]any)
		capped[k] = append(slices.Clip(list[:keep]), marker)
	}
	return capped
}
