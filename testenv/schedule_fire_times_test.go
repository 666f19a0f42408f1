package testenv_test

import (
	"testing"
	"time"

	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/service/worker/scheduler"

	"github.com/pipectl/pipectl/planner"
)

// The fire times pipectl plan prints (the cron parsed by robfig/cron,
// DataArts' days of the week converted) are those of the Temporal Schedule apply creates from
// the plan's TemporalCron: Temporal's own schedule arithmetic, no server
// needed, in zones with and without daylight saving time (both changes,
// a 30-minute one in Lord Howe, changes at midnight in Santiago and Havana)
// and past the last year Temporal looks in.
func TestScheduleFireTimesMatchTemporal(t *testing.T) {
	b := scheduler.NewSpecBuilder(dynamicconfig.GetIntPropertyFn(1_000_000), dynamicconfig.GetIntPropertyFn(10_000_000))
	crons := []string{
		"0 2 * * *", "*/15 * * * *", "0 2 1 * 1", "0 2 1-31 * 1-5", "0 0 1 * 1/2", "0 0 * * 1/2", "0 0 * * 5/1",
		"0 0 29 2 *", "5/20 3-5 */3 1/2 *",
		"0 0 2 ? * 2", "0 0 2 ? * 7", "0 0 2 ? * 1", "0 0 2 ? * 2-6", "0 0 2 ? * 1,7", "0 0 2 ? * 2/2", "0 0 2 ? * 1/2",
		"0 0 2 ? * */2", "0 0 2 ? * */3", "0 0 2 ? * 1-7/2", "0 0 2 ? * 3/3", "0 0 2 ? * MON", "0 0 2 ? * SUN-SAT",
		"0 0 2 ? * MON/2", "0 30 2 * * ?", "0 0 2 1 * ?", "0 0 2 1,15 * 2", "0 0 2 13 * FRI",
		"@daily", "@weekly", "@monthly", "@hourly", "@every 90m",
		// Times in or next to the hours daylight saving time skips or
		// repeats.
		"30 1 * * *", "0 3 * * *", "0 0 * * *", "0 1-3 * * *", "*/20 0-3 * * *", "0 0 1 * * ?", "@every 25h",
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range crons {
		exprs, err := planner.TemporalCronOf(c)
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		for _, zone := range []string{"", "Asia/Shanghai", "Asia/Kolkata", "America/New_York", "Europe/Berlin", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe", "America/Santiago", "America/Havana"} {
			ours, err := (&planner.Schedule{Cron: c, Timezone: zone}).NextFireTimes(from, 1200)
			if err != nil {
				t.Fatalf("%s: %v", c, err)
			}
			cs, err := b.NewCompiledSpec(&schedulepb.ScheduleSpec{CronString: exprs, TimezoneName: zone})
			if err != nil {
				t.Errorf("%s as %q: Temporal refuses it: %v", c, exprs, err)
				continue
			}
			after := from
			ended := len(ours) < 1200
			for i, want := range ours {
				got, err := cs.GetNextTime("", after)
				if err != nil || !got.Nominal.Equal(want) {
					loc, _ := time.LoadLocation(zone)
					want, got.Nominal = want.In(loc), got.Nominal.In(loc)
					t.Errorf("%s as %q in %q: fire time %d is %v for pipectl, %v (%v) for Temporal", c, exprs, zone, i, want, got.Nominal, err)
					break
				}
				after = got.Nominal
				if i == len(ours)-1 && ended {
					if got, err := cs.GetNextTime("", after); err != nil || !got.Nominal.IsZero() {
						t.Errorf("%s as %q in %q: pipectl lists no fire time after %v, Temporal has %v (%v)", c, exprs, zone, want, got.Nominal, err)
					}
				}
			}
		}
	}
}
