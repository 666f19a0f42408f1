// Package deploy turns compiled plans into what Temporal runs: a Temporal
// Schedule for a pipeline with a schedule, and tells what changed between
// the plan deployed and a new one. It holds no state of its own: Temporal
// is the record of what is deployed.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/workflows"
)

// Memo keys of schedules pipectl creates. A schedule with MemoOwner is
// pipectl's to update and prune; others are left alone.
const (
	MemoOwner  = "pipectl-owner"
	MemoSource = "pipectl-source"
)

// schedulePrefix starts the id of every schedule pipectl creates.
const schedulePrefix = "pipectl-"

// ScheduleID is the id of the Temporal Schedule of a pipeline.
func ScheduleID(pipeline string) string { return schedulePrefix + pipeline }

// legacyTemporalCron is what pipectl gave Temporal for a cron before plans
// recorded it (Schedule.TemporalCron): the expression with a year added to
// the 6-field form and ? read as *, its days of the week unconverted. Diff
// compares it with what the plan gives now, so that applying an unchanged
// spec corrects a schedule deployed that way.
func legacyTemporalCron(cron string) string {
	f := strings.Fields(cron)
	if len(f) == 6 {
		f = append(f, "*")
	}
	for i := range f {
		if f[i] == "?" {
			f[i] = "*"
		}
	}
	return strings.Join(f, " ")
}

// temporalCron returns the cron expressions Temporal is (or was) given for
// the plan's schedule.
func temporalCron(sc *planner.Schedule) []string {
	if len(sc.TemporalCron) > 0 {
		return sc.TemporalCron
	}
	return []string{legacyTemporalCron(sc.Cron)}
}

// Overlap maps a spec's overlap policy to Temporal's.
func Overlap(policy string) enumspb.ScheduleOverlapPolicy {
	switch policy {
	case "buffer_one":
		return enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE
	case "buffer_all":
		return enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL
	case "cancel_other":
		return enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER
	case "terminate_other":
		return enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER
	case "allow_all":
		return enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL
	}
	return enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
}

// OverlapName is the spec name of a Temporal overlap policy.
func OverlapName(p enumspb.ScheduleOverlapPolicy) string {
	switch p {
	case enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
		return "buffer_one"
	case enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
		return "buffer_all"
	case enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
		return "cancel_other"
	case enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER:
		return "terminate_other"
	case enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL:
		return "allow_all"
	}
	return "skip"
}

func scheduleSpec(plan *planner.Plan) (client.ScheduleSpec, error) {
	sc := plan.Schedule
	exprs, err := planner.TemporalCronOf(sc.Cron)
	if err != nil {
		return client.ScheduleSpec{}, fmt.Errorf("schedule of %s: %w", plan.Pipeline, err)
	}
	s := client.ScheduleSpec{CronExpressions: exprs, TimeZoneName: sc.Timezone}
	if sc.Start != nil {
		s.StartAt = *sc.Start
	}
	if sc.End != nil {
		s.EndAt = *sc.End
	}
	return s, nil
}

func action(plan *planner.Plan) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		// Temporal appends the scheduled time, so each run's id is unique
		// and says which period it is for.
		ID:                    plan.Pipeline,
		Workflow:              workflows.PipelineWorkflow,
		Args:                  []any{plan},
		TaskQueue:             workflows.TaskQueue,
		TypedSearchAttributes: workflows.RunSearchAttributes(plan.Pipeline, plan.SpecHash, workflows.TriggerSchedule),
	}
}

func memo(plan *planner.Plan) map[string]any {
	return map[string]any{MemoOwner: "pipectl", MemoSource: plan.Source}
}

// Deployed is what Temporal holds for a pipeline's schedule.
type Deployed struct {
	Plan        *planner.Plan
	Description *client.ScheduleDescription
	// Owned is false for a schedule of that id that pipectl did not create.
	Owned bool
}

// Get returns the deployed schedule of pipeline, or nil when there is none.
func Get(ctx context.Context, c client.Client, pipeline string) (*Deployed, error) {
	h := c.ScheduleClient().GetHandle(ctx, ScheduleID(pipeline))
	desc, err := h.Describe(ctx)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, nil
		}
		return nil, fmt.Errorf("describe schedule %s: %w", ScheduleID(pipeline), err)
	}
	d := &Deployed{Description: desc}
	if p := desc.Memo.GetFields()[MemoOwner]; p != nil {
		d.Owned = true
	}
	if wa, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction); ok && len(wa.Args) == 1 {
		if payload, ok := wa.Args[0].(*commonpb.Payload); ok {
			var plan planner.Plan
			if err := converter.GetDefaultDataConverter().FromPayload(payload, &plan); err != nil {
				return nil, fmt.Errorf("schedule %s: read its plan: %w", ScheduleID(pipeline), err)
			}
			d.Plan = &plan
		}
	}
	return d, nil
}

// Result says what Apply did.
type Result struct {
	Created, Updated bool
	Changes          []Change
}

// Apply creates or updates the schedule of plan (which must have one). An
// identical deployed plan is left untouched. Runs already started keep the
// plan they started with.
func Apply(ctx context.Context, c client.Client, plan *planner.Plan) (*Result, error) {
	if plan.Schedule == nil {
		return nil, errors.New("the pipeline has no schedule")
	}
	if err := workflows.CheckPlanSize(plan); err != nil {
		return nil, err
	}
	schedSpec, err := scheduleSpec(plan)
	if err != nil {
		return nil, err
	}
	cur, err := Get(ctx, c, plan.Pipeline)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:                    ScheduleID(plan.Pipeline),
			Spec:                  schedSpec,
			Action:                action(plan),
			Overlap:               Overlap(plan.Schedule.Overlap),
			CatchupWindow:         time.Duration(plan.Schedule.CatchupWindow),
			Paused:                plan.Schedule.Paused,
			Note:                  "created by pipectl apply",
			Memo:                  memo(plan),
			TypedSearchAttributes: workflows.RunSearchAttributes(plan.Pipeline, plan.SpecHash, workflows.TriggerSchedule),
		})
		if err != nil {
			return nil, fmt.Errorf("create schedule %s: %w", ScheduleID(plan.Pipeline), err)
		}
		return &Result{Created: true, Changes: Diff(nil, plan)}, nil
	}
	if !cur.Owned {
		return nil, fmt.Errorf("schedule %s exists but was not created by pipectl; delete or rename it first", ScheduleID(plan.Pipeline))
	}
	changes := Diff(cur.Plan, plan)
	if len(changes) == 0 {
		return &Result{}, nil
	}
	h := c.ScheduleClient().GetHandle(ctx, ScheduleID(plan.Pipeline))
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec = &schedSpec
		s.Action = action(plan)
		if s.Policy == nil {
			s.Policy = &client.SchedulePolicies{}
		}
		s.Policy.Overlap = Overlap(plan.Schedule.Overlap)
		s.Policy.CatchupWindow = time.Duration(plan.Schedule.CatchupWindow)
		if s.State == nil {
			s.State = &client.ScheduleState{}
		}
		if cur.Plan == nil || cur.Plan.Schedule == nil || cur.Plan.Schedule.Paused != plan.Schedule.Paused {
			// Only a change of `paused` in the spec overrides a pause
			// or resume an operator made since the last apply.
			s.State.Paused = plan.Schedule.Paused
		}
		sa := workflows.RunSearchAttributes(plan.Pipeline, plan.SpecHash, workflows.TriggerSchedule)
		return &client.ScheduleUpdate{Schedule: &s, TypedSearchAttributes: &sa}, nil
	}})
	if err != nil {
		return nil, fmt.Errorf("update schedule %s: %w", ScheduleID(plan.Pipeline), err)
	}
	return &Result{Updated: true, Changes: changes}, nil
}
