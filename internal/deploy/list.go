package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// Entry is one schedule pipectl created, as Temporal lists it.
type Entry struct {
	ScheduleID string
	Paused     bool
	Note       string
	// NextRun is zero when the schedule will not fire again.
	NextRun time.Time
	Source  string
	// Deployed is the schedule's description and plan; its Plan is nil
	// when the plan it carries cannot be read.
	Deployed *Deployed
}

// Pipeline is the name of the pipeline the schedule runs, or "" when its
// plan cannot be read.
func (e Entry) Pipeline() string {
	if e.Deployed == nil || e.Deployed.Plan == nil {
		return ""
	}
	return e.Deployed.Plan.Pipeline
}

// List returns the schedules pipectl created (those carrying MemoOwner),
// in Temporal's order. Schedules of other origin are left out.
func List(ctx context.Context, c client.Client) ([]Entry, error) {
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 100})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var out []Entry
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		if e.Memo.GetFields()[MemoOwner] == nil || !strings.HasPrefix(e.ID, schedulePrefix) {
			continue // not pipectl's
		}
		en := Entry{ScheduleID: e.ID, Paused: e.Paused, Note: e.Note}
		_ = converter.GetDefaultDataConverter().FromPayload(e.Memo.GetFields()[MemoSource], &en.Source)
		if len(e.NextActionTimes) > 0 {
			en.NextRun = e.NextActionTimes[0]
		}
		// The list entry has no action: describe for the plan. A schedule
		// that does not describe, or whose plan does not decode, is still
		// listed, with no pipeline: it is never pruned.
		d, err := Get(ctx, c, strings.TrimPrefix(e.ID, schedulePrefix))
		if err == nil && d == nil {
			continue // deleted since it was listed
		}
		if err == nil {
			en.Deployed = d
		}
		out = append(out, en)
	}
	return out, nil
}

// Prunable returns the entries `apply --prune` deletes when given specs
// declaring the pipelines in keep: pipectl's schedules whose pipeline none
// of them declares. A schedule whose plan cannot be read, or whose id is
// not the one pipectl gives its pipeline, is never pruned: pipectl cannot
// tell what it runs.
func Prunable(entries []Entry, keep []string) []Entry {
	var out []Entry
	for _, e := range entries {
		name := e.Pipeline()
		if name == "" || e.ScheduleID != ScheduleID(name) || slices.Contains(keep, name) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// ToPrune lists what Temporal holds and returns Prunable(entries, keep).
// `pipectl apply --prune` deletes what it returns and `pipectl plan
// --prune` lists it, so the two cannot disagree.
func ToPrune(ctx context.Context, c client.Client, keep []string) ([]Entry, error) {
	entries, err := List(ctx, c)
	if err != nil {
		return nil, err
	}
	return Prunable(entries, keep), nil
}

// PruneChange is how `pipectl plan --prune` shows an entry `apply --prune`
// would delete.
func PruneChange(e Entry) Change {
	from := "pipeline " + e.Pipeline()
	if e.Deployed != nil && e.Deployed.Plan != nil && e.Deployed.Plan.Schedule != nil {
		from += ", " + scheduleText(e.Deployed.Plan.Schedule)
	}
	return Change{Op: "-", What: "schedule " + e.ScheduleID, From: from}
}
