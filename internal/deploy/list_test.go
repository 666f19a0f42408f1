package deploy

import (
	"slices"
	"testing"

	"github.com/pipectl/pipectl/planner"
)

func entry(id, pipeline string) Entry {
	e := Entry{ScheduleID: id}
	if pipeline != "" {
		e.Deployed = &Deployed{Owned: true, Plan: &planner.Plan{Pipeline: pipeline, Schedule: &planner.Schedule{Cron: "0 * * * *", Overlap: "skip"}}}
	}
	return e
}

func TestPrunable(t *testing.T) {
	entries := []Entry{
		entry("pipectl-hourly", "hourly"),
		entry("pipectl-daily", "daily"),
		entry("pipectl-weekly", "weekly"),
		// Its plan does not read: what it runs is unknown, keep it.
		entry("pipectl-mystery", ""),
		// Not the id pipectl gives the pipeline it runs.
		entry("pipectl-renamed", "monthly"),
	}
	var got []string
	for _, e := range Prunable(entries, []string{"daily", "other"}) {
		got = append(got, e.ScheduleID)
	}
	if want := []string{"pipectl-hourly", "pipectl-weekly"}; !slices.Equal(got, want) {
		t.Errorf("Prunable = %q, want %q", got, want)
	}
	if got := Prunable(entries, []string{"hourly", "daily", "weekly"}); len(got) != 0 {
		t.Errorf("every pipeline kept, yet %d to prune", len(got))
	}
}

func TestPruneChange(t *testing.T) {
	got := PruneChange(entry("pipectl-hourly", "hourly")).String()
	want := `- schedule pipectl-hourly (was pipeline hourly, cron "0 * * * *" in UTC, overlap skip)`
	if got != want {
		t.Errorf("PruneChange = %q, want %q", got, want)
	}
}
