package planner

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const scheduleStep = "steps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"

// scheduleSpec is a spec whose schedule, on line 2, is the given flow
// mapping body: `schedule: {cron: "..."}` puts the cron's value at 2:18.
func scheduleSpec(body string) string {
	return "name: p\nschedule: {" + body + "}\n" + scheduleStep
}

func TestScheduleErrors(t *testing.T) {
	const filter = "Schedule on every candidate day and skip the runs you do not want with an `if` on run.logical_time (see \"Coming from DataArts Studio\" in docs/spec.md)."
	tests := []struct {
		name, body string
		want       []wantDiag
	}{
		{
			name: "DataArts day 0",
			body: `cron: "0 0 2 ? * 0"`,
			want: []wantDiag{{"2:18-2:31", "Invalid cron expression", `"0 0 2 ? * 0": day of the week 0 is out of range. In the 6-field form (seconds first, as DataArts writes it) days of the week count 1-7 from Sunday as in DataArts: 1 = SUN, 2 = MON, ..., 7 = SAT. The 5-field form counts 0-6 from Sunday.`}},
		},
		{
			name: "DataArts day 8 in a range",
			body: `cron: "0 0 2 ? * 2-8"`,
			want: []wantDiag{{"2:18-2:33", "Invalid cron expression", `"0 0 2 ? * 2-8": day of the week 8 is out of range. In the 6-field form (seconds first, as DataArts writes it) days of the week count 1-7 from Sunday as in DataArts: 1 = SUN, 2 = MON, ..., 7 = SAT. The 5-field form counts 0-6 from Sunday.`}},
		},
		{
			name: "DataArts range past Saturday",
			body: `cron: "0 0 2 ? * 6-2"`,
			want: []wantDiag{{"2:18-2:33", "Invalid cron expression", `"0 0 2 ? * 6-2": the day-of-week range 6-2 runs past Saturday: split it in two, as 6-7,1-2.`}},
		},
		{
			name: "named range past Saturday",
			body: `cron: "0 0 2 ? * FRI-MON"`,
			want: []wantDiag{{"2:18-2:37", "Invalid cron expression", `"0 0 2 ? * FRI-MON": the day-of-week range FRI-MON runs past Saturday: split it in two, as FRI-SAT,SUN-MON.`}},
		},
		{
			name: "5 fields keep robfig's 0-6",
			body: `cron: "0 2 * * 7"`,
			want: []wantDiag{{"2:18-2:29", "Invalid cron expression", `"0 2 * * 7": end of range (7) above maximum (6): 7. Write 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or a descriptor such as @daily.`}},
		},
		{
			name: "year field",
			body: `cron: "0 0 2 ? * 2 2027"`,
			want: []wantDiag{{"2:18-2:36", "Unsupported cron syntax", `"0 0 2 ? * 2 2027" has 7 fields: the last, a year, is Quartz syntax pipectl does not support. Drop it, writing 6 fields with seconds first, and bound the years with schedule.start and schedule.end.`}},
		},
		{
			name: "last day of the month",
			body: `cron: "0 0 2 L * ?"`,
			want: []wantDiag{{"2:18-2:31", "Unsupported cron syntax", `"0 0 2 L * ?": L (the last day) is Quartz syntax that pipectl does not support. ` + filter}},
		},
		{
			name: "last Friday",
			body: `cron: "0 0 2 ? * 6L"`,
			want: []wantDiag{{"2:18-2:32", "Unsupported cron syntax", `"0 0 2 ? * 6L": L (the last day) is Quartz syntax that pipectl does not support. ` + filter}},
		},
		{
			name: "L in the 5-field form",
			body: `cron: "0 2 L * *"`,
			want: []wantDiag{{"2:18-2:29", "Unsupported cron syntax", `"0 2 L * *": L (the last day) is Quartz syntax that pipectl does not support. ` + filter}},
		},
		{
			name: "nearest weekday",
			body: `cron: "0 0 2 15W * ?"`,
			want: []wantDiag{{"2:18-2:33", "Unsupported cron syntax", `"0 0 2 15W * ?": W (the weekday nearest a day) is Quartz syntax that pipectl does not support. ` + filter}},
		},
		{
			name: "nth weekday",
			body: `cron: "0 0 2 ? * 6#3"`,
			want: []wantDiag{{"2:18-2:33", "Unsupported cron syntax", `"0 0 2 ? * 6#3": # (the nth weekday of the month) is Quartz syntax that pipectl does not support. ` + filter}},
		},
		{
			name: "calendar",
			body: `cron: "0 0 2 5C * ?"`,
			want: []wantDiag{{"2:18-2:32", "Unsupported cron syntax", `"0 0 2 5C * ?": C (days after a calendar date) is Quartz syntax that pipectl does not support. ` + filter}},
		},
		{
			name: "never fires",
			body: `cron: "0 0 30 2 *"`,
			want: []wantDiag{{"2:18-2:30", "Cron never fires", `"0 0 30 2 *" matches no date (its day of the month never falls in its months, as February 30 would not): the schedule would never start a run.`}},
		},
		{
			name: "never fires between start and end",
			body: `cron: "0 2 15 * *", timezone: Asia/Shanghai, start: "2026-03-01T00:00:00+08:00", end: "2026-03-10T00:00:00+08:00"`,
			want: []wantDiag{{"2:18-2:30", "Cron never fires", `"0 2 15 * *" matches no time between start (2026-03-01T00:00:00+08:00) and end (2026-03-10T00:00:00+08:00): the schedule would never start a run.`}},
		},
		{
			name: "time zone in the cron",
			body: `cron: "TZ=Asia/Shanghai 0 2 * * *"`,
			want: []wantDiag{{"2:18-2:46", "Time zone in cron", "Give the zone as schedule.timezone, not inside the cron expression."}},
		},
		{
			name: "DataArts zone",
			body: `cron: "@daily", timezone: GMT+8`,
			want: []wantDiag{{"2:38-2:43", "Unknown time zone", `"GMT+8" is DataArts' notation, not an IANA time zone name: write Etc/GMT-8 (IANA's Etc zones count the other way round: Etc/GMT-8 is 8 hours ahead of UTC), or better your region's zone, such as Asia/Shanghai, which also follows its daylight saving time.`}},
		},
		{
			name: "DataArts zone with minutes",
			body: `cron: "@daily", timezone: "GMT+08:00"`,
			want: []wantDiag{{"2:38-2:49", "Unknown time zone", `"GMT+08:00" is DataArts' notation, not an IANA time zone name: write Etc/GMT-8 (IANA's Etc zones count the other way round: Etc/GMT-8 is 8 hours ahead of UTC), or better your region's zone, such as Asia/Shanghai, which also follows its daylight saving time.`}},
		},
		{
			name: "DataArts zone west of Greenwich",
			body: `cron: "@daily", timezone: GMT-5`,
			want: []wantDiag{{"2:38-2:43", "Unknown time zone", `"GMT-5" is DataArts' notation, not an IANA time zone name: write Etc/GMT+5 (IANA's Etc zones count the other way round: Etc/GMT-8 is 8 hours ahead of UTC), or better your region's zone, such as Asia/Shanghai, which also follows its daylight saving time.`}},
		},
		{
			name: "DataArts zone on a half hour",
			body: `cron: "@daily", timezone: "GMT+05:30"`,
			want: []wantDiag{{"2:38-2:49", "Unknown time zone", `"GMT+05:30" is DataArts' notation, not an IANA time zone name, and IANA has no fixed zone for that offset: write your region's zone, such as Asia/Kolkata for GMT+05:30.`}},
		},
		{
			name: "no such zone",
			body: `cron: "@daily", timezone: Mars/Olympus`,
			want: []wantDiag{{"2:38-2:50", "Unknown time zone", `"Mars/Olympus" is not an IANA time zone name such as Asia/Shanghai or Europe/Paris.`}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Compile(load(t, scheduleSpec(tc.body)))
			if got := diagList(diags); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got:\n%swant:\n%s", formatDiags(got), formatDiags(tc.want))
			}
		})
	}
}

// DataArts' 6-field form counts days of the week 1-7 from Sunday; the plan's
// fire times and what Temporal is given both follow it.
func TestScheduleDataArtsDays(t *testing.T) {
	from := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC) // a Monday
	tests := []struct {
		cron     string
		temporal []string
		weekdays []time.Weekday // of the next fire times
		days     string         // DataArtsDays
	}{
		{"0 0 2 ? * 2", []string{"0 0 2 * * 1 *"}, []time.Weekday{time.Monday, time.Monday}, "MON"},
		{"0 0 2 ? * 1", []string{"0 0 2 * * 0 *"}, []time.Weekday{time.Sunday, time.Sunday}, "SUN"},
		{"0 0 2 ? * 7", []string{"0 0 2 * * 6 *"}, []time.Weekday{time.Saturday, time.Saturday}, "SAT"},
		{"0 0 2 ? * 2-6", []string{"0 0 2 * * 1-5 *"}, []time.Weekday{time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Monday}, "MON-FRI"},
		{"0 0 2 ? * 1,7", []string{"0 0 2 * * 0,6 *"}, []time.Weekday{time.Saturday, time.Sunday, time.Saturday}, "SUN,SAT"},
		// Every second day from Monday: Monday, Wednesday, Friday. Temporal
		// reads 1/2 as 1-7/2, which takes in Sunday: the range is spelt out.
		{"0 0 2 ? * 2/2", []string{"0 0 2 * * 1-6/2 *"}, []time.Weekday{time.Wednesday, time.Friday, time.Monday}, "MON,WED,FRI"},
		{"0 0 2 ? * 1-7/3", []string{"0 0 2 * * 0-6/3 *"}, []time.Weekday{time.Wednesday, time.Saturday, time.Sunday}, "SUN,WED,SAT"},
		// Names mean what they say in either form.
		{"0 0 2 ? * MON", []string{"0 0 2 * * MON *"}, []time.Weekday{time.Monday, time.Monday}, ""},
		{"0 0 2 ? * MON-7", []string{"0 0 2 * * MON-6 *"}, []time.Weekday{time.Tuesday, time.Wednesday}, "MON-SAT"},
		{"0 0 2 * * ?", []string{"0 0 2 * * * *"}, []time.Weekday{time.Tuesday, time.Wednesday}, ""},
		// The 5-field form is standard cron.
		{"0 2 * * 1", []string{"0 2 * * 1"}, []time.Weekday{time.Monday, time.Monday}, ""},
		{"0 2 * * 1/2", []string{"0 2 * * 1-6/2"}, []time.Weekday{time.Wednesday, time.Friday, time.Monday}, ""},
		// A day of the month and a day of the week both restricted: either
		// fires (Temporal would want both), so Temporal gets two.
		{"0 2 13 * 5", []string{"0 2 13 * *", "0 2 * * 5"}, []time.Weekday{time.Friday, time.Friday, time.Friday}, ""},
		{"0 0 2 13 * 6", []string{"0 0 2 13 * * *", "0 0 2 * * 5 *"}, []time.Weekday{time.Friday, time.Friday, time.Friday}, "FRI"},
	}
	for _, tc := range tests {
		t.Run(tc.cron, func(t *testing.T) {
			plan := compile(t, scheduleSpec(`cron: "`+tc.cron+`"`))
			sc := plan.Schedule
			if !reflect.DeepEqual(sc.TemporalCron, tc.temporal) {
				t.Errorf("TemporalCron = %q, want %q", sc.TemporalCron, tc.temporal)
			}
			if got, err := TemporalCronOf(tc.cron); err != nil || !reflect.DeepEqual(got, tc.temporal) {
				t.Errorf("TemporalCronOf = %q, %v", got, err)
			}
			next, err := sc.NextFireTimes(from, len(tc.weekdays))
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Weekday
			for _, n := range next {
				got = append(got, n.Weekday())
			}
			if !reflect.DeepEqual(got, tc.weekdays) {
				t.Errorf("fires on %v, want %v", got, tc.weekdays)
			}
			if _, days := sc.DataArtsDays(); days != tc.days {
				t.Errorf("DataArtsDays = %q, want %q", days, tc.days)
			}
		})
	}
}

func TestScheduleCrossMonth(t *testing.T) {
	// 13th of March 2026 is a Friday: both rules pick it, once.
	plan := compile(t, scheduleSpec(`cron: "0 2 13 * 5", timezone: Asia/Shanghai`))
	next, err := plan.Schedule.NextFireTimes(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), 4)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range next {
		got = append(got, n.Format("Mon 01-02 15:04 MST"))
	}
	want := "Fri 03-06 02:00 CST,Fri 03-13 02:00 CST,Fri 03-20 02:00 CST,Fri 03-27 02:00 CST"
	if strings.Join(got, ",") != want {
		t.Errorf("fire times %s, want %s", strings.Join(got, ","), want)
	}
}

// @every fires on multiples of its interval since the Unix epoch, as a
// Temporal interval does, whenever the plan is made.
func TestScheduleEveryIsAligned(t *testing.T) {
	plan := compile(t, scheduleSpec(`cron: "@every 90m"`))
	for _, from := range []time.Time{
		time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 2, 12, 7, 31, 0, time.UTC),
	} {
		next, err := plan.Schedule.NextFireTimes(from, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := []time.Time{time.Date(2026, 3, 2, 13, 30, 0, 0, time.UTC), time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
		if !reflect.DeepEqual(next, want) {
			t.Errorf("from %s: %v, want %v", from, next, want)
		}
	}
}

// Around daylight saving time changes the times are those a Temporal
// Schedule fires at (testenv checks them against Temporal's own code for
// years of fire times), whatever they are: a time in a repeated hour fires
// in its second copy, or in both when the cron steps into it from the hour
// before; a time the change skips does not fire that day; and stepping
// through a change back, Temporal skips some times.
func TestScheduleDaylightSavingTime(t *testing.T) {
	for _, tc := range []struct {
		name, cron, zone string
		from             time.Time
		n                int
		want             string
	}{
		{
			name: "repeated hour: second copy",
			cron: "30 2 * * *", zone: "Europe/Berlin", from: time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), n: 2,
			want: "Sun 10-25 02:30 CET,Mon 10-26 02:30 CET",
		},
		{
			name: "repeated hour reached from the hour before: both copies",
			cron: "30 1 * * *", zone: "America/New_York", from: time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC), n: 3,
			want: "Sun 11-01 01:30 EDT,Sun 11-01 01:30 EST,Mon 11-02 01:30 EST",
		},
		{
			name: "skipped hour: no fire that day",
			cron: "30 2 * * *", zone: "Europe/Berlin", from: time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), n: 2,
			want: "Mon 03-30 02:30 CEST,Tue 03-31 02:30 CEST",
		},
		{
			// From 01:20 GMT Temporal's next is 02:40: 01:40, 02:00 and
			// 02:20 GMT do not fire.
			name: "every 20 minutes through a change back",
			cron: "*/20 1-2 * * *", zone: "Europe/London", from: time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), n: 5,
			want: "Sun 10-25 01:20 GMT,Sun 10-25 02:40 GMT,Mon 10-26 01:00 GMT,Mon 10-26 01:20 GMT,Mon 10-26 01:40 GMT",
		},
		{
			name: "nothing after 2100, the last year Temporal looks in",
			cron: "0 0 1 1 *", zone: "", from: time.Date(2099, 6, 1, 0, 0, 0, 0, time.UTC), n: 3,
			want: "Fri 01-01 00:00 UTC",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, err := (&Schedule{Cron: tc.cron, Timezone: tc.zone}).NextFireTimes(tc.from, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range next {
				got = append(got, n.Format("Mon 01-02 15:04 MST"))
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("fire times %s, want %s", strings.Join(got, ","), tc.want)
			}
		})
	}
}
