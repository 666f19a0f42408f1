package deploy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pipectl/pipectl/planner"
)

// Change is one difference between a deployed plan and a new one, in the
// form `pipectl plan` prints: Op is "+", "~" or "-".
type Change struct {
	Op   string `json:"op"`
	What string `json:"what"`
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

func (c Change) String() string {
	switch {
	case c.From != "" && c.To != "":
		return fmt.Sprintf("%s %s: %s -> %s", c.Op, c.What, c.From, c.To)
	case c.To != "":
		return fmt.Sprintf("%s %s: %s", c.Op, c.What, c.To)
	case c.From != "":
		return fmt.Sprintf("%s %s (was %s)", c.Op, c.What, c.From)
	}
	return c.Op + " " + c.What
}

// Diff lists what differs between the deployed plan (nil: nothing
// deployed) and the new one, schedule first, then parameters, settings and
// steps in the new plan's order. An empty list means nothing would change.
//
// The plans are compared as their spec hash sees them (planner's
// Canonical), so a spec reformatted, commented or moved lists no change
// in what runs. When nothing else differs, it lists the two things that
// still make applying worthwhile: a spec hash that differs all the same
// (the deployed plan was hashed by an older pipectl, so its runs are
// found under another hash), and templates that moved in the file (the
// deployed plan's messages would point at the old lines). File names
// alone are not a change: the same spec applied as ./x.yaml and as x.yaml
// is up to date.
func Diff(old, cur *planner.Plan) []Change {
	if old == nil {
		what := "pipeline " + cur.Pipeline
		if cur.Schedule != nil {
			return []Change{{Op: "+", What: "schedule " + ScheduleID(cur.Pipeline), To: scheduleText(cur.Schedule)}}
		}
		return []Change{{Op: "+", What: what, To: fmt.Sprintf("%d steps", len(cur.Steps))}}
	}
	out := meaningDiff(old.Canonical(), cur.Canonical())
	switch {
	case len(out) > 0:
	case old.SpecHash != cur.SpecHash:
		out = append(out, Change{Op: "~", What: "spec hash", From: orNone(shortHash(old.SpecHash)), To: shortHash(cur.SpecHash)})
	case !slices.Equal(old.Positions(), cur.Positions()):
		out = append(out, Change{Op: "~", What: "template positions", To: "moved in the file (same spec hash)"})
	}
	return out
}

// meaningDiff is Diff of two deployed or compiled plans, canonical.
func meaningDiff(old, cur *planner.Plan) []Change {
	var out []Change
	field := func(what, from, to string) {
		if from != to {
			out = append(out, Change{Op: "~", What: what, From: orNone(from), To: orNone(to)})
		}
	}
	os, ns := old.Schedule, cur.Schedule
	switch {
	case os == nil && ns != nil:
		out = append(out, Change{Op: "+", What: "schedule", To: scheduleText(ns)})
	case os != nil && ns == nil:
		out = append(out, Change{Op: "-", What: "schedule", From: scheduleText(os)})
	case os != nil && ns != nil:
		field("schedule.cron", os.Cron, ns.Cron)
		if os.Cron == ns.Cron {
			// The same cron, given to Temporal otherwise: as pipectl
			// gives it now, with DataArts' days of the week converted.
			field("schedule.cron as Temporal reads it", strings.Join(temporalCron(os), " | "), strings.Join(temporalCron(ns), " | "))
		}
		field("schedule.timezone", os.Timezone, ns.Timezone)
		field("schedule.start", timeText(os.Start), timeText(ns.Start))
		field("schedule.end", timeText(os.End), timeText(ns.End))
		field("schedule.overlap", os.Overlap, ns.Overlap)
		field("schedule.catchup_window", durText(time.Duration(os.CatchupWindow)), durText(time.Duration(ns.CatchupWindow)))
		field("schedule.paused", fmt.Sprint(os.Paused), fmt.Sprint(ns.Paused))
	}
	for _, k := range unionKeys(old.Params, cur.Params) {
		ov, oin := old.Params[k]
		nv, nin := cur.Params[k]
		switch {
		case !oin:
			out = append(out, Change{Op: "+", What: "param " + k, To: jsonText(nv)})
		case !nin:
			out = append(out, Change{Op: "-", What: "param " + k, From: jsonText(ov)})
		default:
			field("param "+k, jsonText(ov), jsonText(nv))
		}
	}
	field("description", old.Description, cur.Description)
	field("cloud", jsonText(old.Cloud), jsonText(cur.Cloud))
	field("max_parallel", fmt.Sprint(old.MaxParallel), fmt.Sprint(cur.MaxParallel))
	field("env", jsonText(old.Env), jsonText(cur.Env))
	oldSteps := map[string]planner.Step{}
	for _, s := range old.Steps {
		oldSteps[s.ID] = s
	}
	newIDs := map[string]bool{}
	for _, s := range cur.Steps {
		newIDs[s.ID] = true
		o, ok := oldSteps[s.ID]
		if !ok {
			out = append(out, Change{Op: "+", What: "step " + s.ID, To: s.Kind})
			continue
		}
		if fields := changedFields(o, s); len(fields) > 0 {
			out = append(out, Change{Op: "~", What: "step " + s.ID, To: "changed " + strings.Join(fields, ", ")})
		}
	}
	for _, s := range old.Steps {
		if !newIDs[s.ID] {
			out = append(out, Change{Op: "-", What: "step " + s.ID, From: s.Kind})
		}
	}
	return out
}

// changedFields names the top-level fields of a step that differ.
func changedFields(a, b planner.Step) []string {
	am, bm := fieldsOf(a), fieldsOf(b)
	var out []string
	for _, k := range unionKeys(am, bm) {
		if !reflect.DeepEqual(am[k], bm[k]) {
			out = append(out, k)
		}
	}
	return out
}

func fieldsOf(s planner.Step) map[string]any {
	b, _ := json.Marshal(s)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func scheduleText(s *planner.Schedule) string {
	zone := s.Timezone
	if zone == "" {
		zone = "UTC"
	}
	t := fmt.Sprintf("cron %q in %s, overlap %s", s.Cron, zone, s.Overlap)
	if s.Paused {
		t += ", paused"
	}
	return t
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	if string(b) == "null" || string(b) == "{}" {
		return ""
	}
	return string(b)
}

func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339)
}

func durText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// shortHash is a spec hash as pipectl shows it.
func shortHash(h string) string { return h[:min(len(h), 12)] }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
