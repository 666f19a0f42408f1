package planner

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	// Time zones must resolve the same on every machine, with or without
	// a system zone database.
	_ "time/tzdata"

	"github.com/pipectl/pipectl/spec"
)

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
	loc := time.UTC
	if s.Timezone != "" {
		l, err := time.LoadLocation(s.Timezone)
		if err != nil || strings.EqualFold(s.Timezone, "local") {
			c.errorf(s.TimezoneRange, "Unknown time zone", "%s", unknownZone(s.Timezone))
		} else {
			loc = l
		}
	}
	if s.Cron == "" {
		return out
	}
	e, p := parseCron(s.Cron)
	if p != nil {
		c.errorf(s.CronRange, p.summary, "%s", p.detail)
		return out
	}
	out.TemporalCron = e.temporal()
	// An end before the start is the loader's error already.
	if s.Start != nil && s.End != nil && s.End.After(*s.Start) {
		if next := e.next(s.Start.In(loc).Add(-time.Nanosecond)); next.IsZero() || next.After(*s.End) {
			c.errorf(s.CronRange, "Cron never fires", "%q matches no time between start (%s) and end (%s): the schedule would never start a run.",
				s.Cron, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339))
		}
	}
	return out
}

// gmtOffset matches DataArts' time zone notation, GMT+8 or GMT+08:00.
var gmtOffset = regexp.MustCompile(`^(?i:GMT|UTC)([+-])(\d{1,2})(?::?(\d{2}))?$`)

// unknownZone says why zone is not a time zone pipectl takes. DataArts'
// GMT+8 has an IANA equivalent, Etc/GMT-8, whose sign is the other way
// round (POSIX's): the hint names it rather than pipectl converting
// silently, so the spec says what Temporal is given.
func unknownZone(zone string) string {
	m := gmtOffset.FindStringSubmatch(zone)
	if m == nil {
		return fmt.Sprintf("%q is not an IANA time zone name such as Asia/Shanghai or Europe/Paris.", zone)
	}
	if h, _ := strconv.Atoi(m[2]); m[3] == "" || m[3] == "00" {
		sign := "-"
		if m[1] == "-" {
			sign = "+"
		}
		etc := fmt.Sprintf("Etc/GMT%s%d", sign, h)
		if h == 0 {
			etc = "UTC"
		}
		if _, err := time.LoadLocation(etc); err == nil {
			return fmt.Sprintf("%q is DataArts' notation, not an IANA time zone name: write %s (IANA's Etc zones count the other way round: Etc/GMT-8 is 8 hours ahead of UTC), or better your region's zone, such as Asia/Shanghai, which also follows its daylight saving time.", zone, etc)
		}
	}
	return fmt.Sprintf("%q is DataArts' notation, not an IANA time zone name, and IANA has no fixed zone for that offset: write your region's zone, such as Asia/Kolkata for GMT+05:30.", zone)
}

// NextFireTimes returns the next n times the schedule fires after from, in
// the schedule's time zone, honouring its start and end: the times a
// Temporal Schedule made from the plan fires at.
func (s *Schedule) NextFireTimes(from time.Time, n int) ([]time.Time, error) {
	loc := time.UTC
	if s.Timezone != "" {
		var err error
		if loc, err = time.LoadLocation(s.Timezone); err != nil {
			return nil, fmt.Errorf("schedule time zone: %w", err)
		}
	}
	e, p := parseCron(s.Cron)
	if p != nil {
		return nil, fmt.Errorf("schedule cron: %w", p)
	}
	t := from.In(loc)
	if s.Start != nil && t.Before(*s.Start) {
		// As Temporal does: a second before, so that the start fires
		// when it matches.
		t = s.Start.In(loc).Add(-time.Second)
	}
	var out []time.Time
	for len(out) < n {
		t = e.next(t)
		if t.IsZero() || (s.End != nil && t.After(*s.End)) {
			break
		}
		out = append(out, t)
	}
	return out, nil
}

// DataArtsDays returns, when the cron is in the 6-field form and names its
// days of the week by number, its day-of-week field as written (in
// DataArts' numbering, 1 = Sunday) and the days it means, such as "MON-FRI".
func (s *Schedule) DataArtsDays() (field, days string) {
	e, p := parseCron(s.Cron)
	if p != nil || e.dataArtsDays == "" {
		return "", ""
	}
	return e.dataArtsDays, e.days()
}

// TemporalCronOf returns the cron expressions pipectl gives Temporal for a
// schedule's cron, which must be valid: the same fire times, in Temporal's
// syntax (see Schedule.TemporalCron).
func TemporalCronOf(cron string) ([]string, error) {
	e, p := parseCron(cron)
	if p != nil {
		return nil, p
	}
	return e.temporal(), nil
}
