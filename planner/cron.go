package planner

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser accepts the 5-field form, the 6-field form with seconds first
// (once cronExpr has put its days of the week in robfig's numbering), and
// descriptors such as @daily.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// cronStar is robfig's mark of a field written as * or ?: a day of the month
// and a day of the week both restricted match either, otherwise both.
const cronStar = 1 << 63

// cronProblem is why a schedule's cron is refused, as a diagnostic's
// summary and detail.
type cronProblem struct{ summary, detail string }

func (p *cronProblem) Error() string { return p.summary + ": " + p.detail }

// cronExpr is a schedule's cron as pipectl reads it. The 6-field form is
// DataArts' (Quartz's), whose days of the week count 1-7 from Sunday;
// robfig's and Temporal's count 0-6, so its numbers are converted here and
// the rest of pipectl sees robfig's numbering only.
type cronExpr struct {
	sched cron.Schedule
	// fields are the expression's fields in robfig's numbering; nil for
	// a descriptor, which src holds.
	fields []string
	src    string
	// dataArtsDays is the day-of-week field as written when it held
	// DataArts numbers.
	dataArtsDays string
}

var (
	monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	dayNames   = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
)

// parseCron reads a schedule's cron.
func parseCron(src string) (*cronExpr, *cronProblem) {
	s := strings.TrimSpace(src)
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return nil, &cronProblem{"Time zone in cron", "Give the zone as schedule.timezone, not inside the cron expression."}
	}
	invalid := func(err error) *cronProblem {
		return &cronProblem{"Invalid cron expression", fmt.Sprintf("%q: %s. Write 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or a descriptor such as @daily.", src, err)}
	}
	e := &cronExpr{src: s}
	if !strings.HasPrefix(s, "@") {
		e.fields = strings.Fields(s)
		n := len(e.fields)
		if n == 7 {
			return nil, &cronProblem{"Unsupported cron syntax", fmt.Sprintf("%q has 7 fields: the last, a year, is Quartz syntax pipectl does not support. Drop it, writing 6 fields with seconds first, and bound the years with schedule.start and schedule.end.", src)}
		}
		if n == 5 || n == 6 {
			for i, f := range e.fields {
				if p := quartzOnly(src, f, i >= n-3 && i != n-2); p != nil {
					return nil, p
				}
			}
		}
		if n == 6 {
			dow, p := dataArtsDays(src, e.fields[5])
			if p != nil {
				return nil, p
			}
			if dow != e.fields[5] {
				e.dataArtsDays = e.fields[5]
				e.fields[5] = dow
			}
		}
		s = strings.Join(e.fields, " ")
	}
	sched, err := cronParser.Parse(s)
	if err != nil {
		return nil, invalid(err)
	}
	e.sched = sched
	// Leap days come round within robfig's five-year search; a cron it
	// finds no time for matches no date at all.
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, &cronProblem{"Cron never fires", fmt.Sprintf("%q matches no date (its day of the month never falls in its months, as February 30 would not): the schedule would never start a run.", src)}
	}
	return e, nil
}

// quartzOnly refuses the Quartz special characters DataArts allows and
// neither robfig nor Temporal knows (Temporal would even read # as the
// start of a comment), saying what to write instead. days says whether f
// is the day-of-month or the day-of-week field.
func quartzOnly(src, f string, days bool) *cronProblem {
	unsupported := func(what, instead string) *cronProblem {
		return &cronProblem{"Unsupported cron syntax", fmt.Sprintf("%q: %s is Quartz syntax that pipectl does not support. %s", src, what, instead)}
	}
	const filter = "Schedule on every candidate day and skip the runs you do not want with an `if` on run.logical_time (see \"Coming from DataArts Studio\" in docs/spec.md)."
	if strings.Contains(f, "#") {
		return unsupported("# (the nth weekday of the month)", filter)
	}
	if !days {
		return nil
	}
	for _, part := range strings.Split(f, ",") {
		for _, v := range strings.FieldsFunc(part, func(r rune) bool { return r == '-' || r == '/' }) {
			l := strings.ToLower(v)
			if isNumber(v) || v == "*" || v == "?" || indexOf(monthNames, l) >= 0 || indexOf(dayNames, l) >= 0 {
				continue
			}
			switch {
			case strings.Contains(l, "w"):
				return unsupported("W (the weekday nearest a day)", filter)
			case strings.HasSuffix(l, "l"):
				return unsupported("L (the last day)", filter)
			case strings.HasSuffix(l, "c"):
				return unsupported("C (days after a calendar date)", filter)
			}
		}
	}
	return nil
}

// dataArtsDays converts a day-of-week field from DataArts' numbering (1-7
// from Sunday) to robfig's (0-6 from Sunday). Names, * and ? stay; steps
// count days either way, so they stay too. What it cannot read it leaves
// for robfig to report.
func dataArtsDays(src, f string) (string, *cronProblem) {
	parts := strings.Split(f, ",")
	for i, part := range parts {
		rng, step, hasStep := strings.Cut(part, "/")
		if rng == "*" || rng == "?" {
			continue
		}
		bounds := strings.Split(rng, "-")
		if len(bounds) > 2 {
			return f, nil
		}
		days := make([]int, len(bounds))
		out := make([]string, len(bounds))
		for j, b := range bounds {
			if d := indexOf(dayNames, strings.ToLower(b)); d >= 0 {
				days[j], out[j] = d, b
				continue
			}
			if !isNumber(b) {
				return f, nil
			}
			n, _ := strconv.Atoi(b)
			if n < 1 || n > 7 {
				return "", &cronProblem{"Invalid cron expression", fmt.Sprintf("%q: day of the week %d is out of range. In the 6-field form (seconds first, as DataArts writes it) days of the week count 1-7 from Sunday as in DataArts: 1 = SUN, 2 = MON, ..., 7 = SAT. The 5-field form counts 0-6 from Sunday.", src, n)}
			}
			days[j], out[j] = n-1, strconv.Itoa(n-1)
		}
		if len(days) == 2 && days[0] > days[1] {
			last, first := "7", "1"
			if !isNumber(bounds[0]) {
				last = "SAT"
			}
			if !isNumber(bounds[1]) {
				first = "SUN"
			}
			return "", &cronProblem{"Invalid cron expression", fmt.Sprintf("%q: the day-of-week range %s runs past Saturday: split it in two, as %s-%s,%s-%s.", src, rng, bounds[0], last, first, bounds[1])}
		}
		parts[i] = strings.Join(out, "-")
		if hasStep {
			parts[i] += "/" + step
		}
	}
	return strings.Join(parts, ","), nil
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil && !strings.HasPrefix(s, "-") && !strings.HasPrefix(s, "+")
}

func indexOf(names []string, s string) int {
	for i, n := range names {
		if n == s {
			return i
		}
	}
	return -1
}

// next returns the first time after t the cron fires in t's location, as
// a Temporal Schedule does (see calendar.next); zero for none. @every
// fires on multiples of its interval since the Unix epoch, as Temporal's
// intervals do, not every interval from t as robfig's would.
func (e *cronExpr) next(t time.Time) time.Time {
	switch s := e.sched.(type) {
	case cron.ConstantDelaySchedule:
		sec := max(int64(s.Delay/time.Second), 1)
		return time.Unix((floorDiv(t.Unix(), sec)+1)*sec, 0).In(t.Location())
	case *cron.SpecSchedule:
		var first time.Time
		for _, c := range calendars(s) {
			if n := c.next(t, t.Location()); !n.IsZero() && (first.IsZero() || n.Before(first)) {
				first = n
			}
		}
		return first
	}
	return e.sched.Next(t)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// temporal returns the cron expressions that make a Temporal Schedule fire
// when e does. Temporal reads 6 fields as ending with a year, so the
// 6-field form gains one; it does not know ?; its day-of-week range is
// 0-7, so a day with a step ("1/2") runs to 7 and takes in Sunday, where
// robfig stops at 6; and it matches a day of the month and a day of the
// week both restricted only when both match, where cron (and robfig)
// fire when either does: such a cron becomes two.
func (e *cronExpr) temporal() []string {
	if e.fields == nil {
		return []string{e.src}
	}
	f := make([]string, len(e.fields))
	for i, v := range e.fields {
		f[i] = strings.ReplaceAll(v, "?", "*")
	}
	dom, dow := len(f)-3, len(f)-1
	parts := strings.Split(f[dow], ",")
	for i, part := range parts {
		rng, step, ok := strings.Cut(part, "/")
		if ok && rng != "*" && !strings.Contains(rng, "-") {
			parts[i] = rng + "-6/" + step
		}
	}
	f[dow] = strings.Join(parts, ",")
	if len(f) == 6 {
		f = append(f, "*")
	}
	one := strings.Join(f, " ")
	if s, ok := e.sched.(*cron.SpecSchedule); ok && s.Dom&cronStar == 0 && s.Dow&cronStar == 0 {
		byDom := append([]string(nil), f...)
		byDom[dow] = "*"
		byDow := append([]string(nil), f...)
		byDow[dom] = "*"
		return []string{strings.Join(byDom, " "), strings.Join(byDow, " ")}
	}
	return []string{one}
}

// days names the days of the week a cron fires on, such as "MON-FRI" or
// "SUN,SAT".
func (e *cronExpr) days() string {
	s, ok := e.sched.(*cron.SpecSchedule)
	if !ok {
		return ""
	}
	var out []string
	for d := 0; d < 7; {
		if s.Dow&(1<<d) == 0 {
			d++
			continue
		}
		end := d
		for end+1 < 7 && s.Dow&(1<<(end+1)) != 0 {
			end++
		}
		name := strings.ToUpper(dayNames[d])
		switch {
		case end == d:
		case end == d+1:
			out = append(out, name)
			name = strings.ToUpper(dayNames[end])
		default:
			name += "-" + strings.ToUpper(dayNames[end])
		}
		out = append(out, name)
		d = end + 1
	}
	return strings.Join(out, ",")
}
