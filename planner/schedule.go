package planner

import (
	"fmt"
	"strings"
	"time"

	// Time zones must resolve the same on every machine, with or without
	// a system zone database.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	"github.com/pipectl/pipectl/spec"
)

// cronParser accepts the 5-field form, DataArts' 6-field form with seconds
// first, and descriptors such as @daily.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func (c *compiler) schedule(s *spec.Schedule) *Schedule {
	if s == nil {
		return nil
	}
	out := &Schedule{Cron: s.Cron, Timezone: s.Timezone, Start: s.Start, End: s.End,
		Overlap: s.Overlap, CatchupWindow: s.CatchupWindow, Paused: s.Paused}
	if out.Overlap == "" {
		// A pipeline that is still running when the next one is due is
		// usually a sign of trouble; piling runs up makes it worse.
		out.Overlap = "skip"
	}
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil || strings.EqualFold(s.Timezone, "local") {
			c.errorf(s.TimezoneRange, "Unknown time zone", "%q is not an IANA time zone name such as Asia/Shanghai or Europe/Paris.", s.Timezone)
		}
	}
	if s.Cron != "" {
		if strings.HasPrefix(strings.TrimSpace(s.Cron), "TZ=") || strings.HasPrefix(strings.TrimSpace(s.Cron), "CRON_TZ=") {
			c.errorf(s.CronRange, "Time zone in cron", "Give the zone as schedule.timezone, not inside the cron expression.")
		} else if _, err := cronParser.Parse(s.Cron); err != nil {
			c.errorf(s.CronRange, "Invalid cron expression", "%q: %s. Write 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or a descriptor such as @daily.", s.Cron, err)
		}
	}
	return out
}

// NextFireTimes returns the next n times the schedule fires after from, in
// the schedule's time zone, honouring its start and end.
func (s *Schedule) NextFireTimes(from time.Time, n int) ([]time.Time, error) {
	loc := time.UTC
	if s.Timezone != "" {
		var err error
		if loc, err = time.LoadLocation(s.Timezone); err != nil {
			return nil, fmt.Errorf("schedule time zone: %w", err)
		}
	}
	sched, err := cronParser.Parse(s.Cron)
	if err != nil {
		return nil, fmt.Errorf("schedule cron: %w", err)
	}
	t := from.In(loc)
	if s.Start != nil && t.Before(*s.Start) {
		t = s.Start.In(loc).Add(-time.Nanosecond)
	}
	var out []time.Time
	for len(out) < n {
		t = sched.Next(t)
		if t.IsZero() || (s.End != nil && t.After(*s.End)) {
			break
		}
		out = append(out, t)
	}
	return out, nil
}
