package planner

import (
	"time"

	"github.com/robfig/cron/v3"
)

// maxCalendarYear is the last year a Temporal Schedule looks for fire
// times in.
const maxCalendarYear = 2100

// calendar is one of the calendars a cron becomes in a Temporal Schedule
// (see cronExpr.temporal), as robfig's bit sets: bit i of a field is set
// when i matches it.
type calendar struct {
	second, minute, hour, dom, month, dow uint64
}

// calendars returns s's calendars: one, or two when its day of the month
// and day of the week are both restricted (either may match).
func calendars(s *cron.SpecSchedule) []calendar {
	c := calendar{second: s.Second, minute: s.Minute, hour: s.Hour, dom: s.Dom, month: s.Month, dow: s.Dow}
	if s.Dom&cronStar != 0 || s.Dow&cronStar != 0 {
		return []calendar{c}
	}
	byDom, byDow := c, c
	byDom.dow = ^uint64(0)
	byDow.dom = ^uint64(0)
	return []calendar{byDom, byDow}
}

func has(bits uint64, v int) bool { return v >= 0 && v < 64 && bits&(1<<uint(v)) != 0 }

// next returns the first time after ts, at a whole second, that c
// matches in loc; zero for none before maxCalendarYear ends. It follows
// the arithmetic of Temporal's schedules step by step
// (service/worker/scheduler/calendar.go in go.temporal.io/server), so that
// the times plan lists are the times Temporal fires, also on the nights
// daylight saving time starts or ends, where the two choices cron
// implementations make (which copy of a repeated hour, what of a skipped
// one) differ.
func (c calendar) next(ts time.Time, loc *time.Location) time.Time {
	ts = ts.In(loc)
	y, mo, d := ts.Date()
	h, m, s := ts.Clock()
	var dstOffset time.Duration
	if ts.Add(-time.Hour).Hour() == h {
		// In the second copy of a repeated hour.
		dstOffset = time.Hour
	}
	s++
outer:
	for {
		if s >= 60 {
			m, s = m+1, 0
		}
		if m >= 60 {
			prev := time.Date(y, mo, d, h, 0, 0, 0, loc)
			h, m = h+1, 0
			// An hour that is two later skipped a repeated hour: try
			// its second copy.
			if dstOffset == 0 && time.Date(y, mo, d, h, 0, 0, 0, loc).Sub(prev) > time.Hour {
				h, dstOffset = h-1, time.Hour
			} else {
				dstOffset = 0
			}
		}
		if h >= 24 {
			d, h = d+1, 0
		}
		if d > daysIn(mo, y) {
			mo, d = mo+1, 1
		}
		if mo > time.December {
			y, mo = y+1, time.January
		}
		if y > maxCalendarYear {
			return time.Time{}
		}
		for !has(c.month, int(mo)) {
			mo, d, h, m, s = mo+1, 1, 0, 0, 0
			dstOffset = 0
			if mo > time.December {
				continue outer
			}
		}
		for !has(c.dom, d) || !has(c.dow, int(time.Date(y, mo, d, h, m, s, 0, loc).Weekday())) {
			d, h, m, s = d+1, 0, 0, 0
			dstOffset = 0
			if d > daysIn(mo, y) {
				continue outer
			}
		}
		for !has(c.hour, h) {
			h, m, s = h+1, 0, 0
			dstOffset = 0
			if h >= 24 {
				continue outer
			}
		}
		for !has(c.minute, m) {
			m, s = m+1, 0
			if m >= 60 {
				continue outer
			}
		}
		for !has(c.second, s) {
			s++
			if s >= 60 {
				continue outer
			}
		}
		t := time.Date(y, mo, d, h, m, s, 0, loc)
		if t.Hour() != h {
			// A time a change to daylight saving time skips.
			h, m, s = h+1, 0, 0
			continue outer
		}
		return t.Add(dstOffset)
	}
}

// daysIn returns the number of days in month mo of year y.
func daysIn(mo time.Month, y int) int {
	return time.Date(y, mo+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
