package deploy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

func basePlan() *planner.Plan {
	return &planner.Plan{
		Pipeline: "nightly",
		Params:   map[string]any{"limit": int64(10), "region": "eu"},
		Schedule: &planner.Schedule{Cron: "0 2 * * *", Timezone: "Asia/Shanghai", Overlap: "skip"},
		Steps: []planner.Step{
			{ID: "load", Kind: "dli.sql", With: json.RawMessage(`{"sql":"select 1"}`), Timeout: spec.Duration(time.Hour)},
			{ID: "agg", Kind: "dli.sql", DependsOn: []string{"load"}, With: json.RawMessage(`{"sql":"select 2"}`), Timeout: spec.Duration(time.Hour)},
		},
	}
}

func clone(p *planner.Plan) *planner.Plan {
	b, _ := json.Marshal(p)
	var q planner.Plan
	_ = json.Unmarshal(b, &q)
	// JSON turns int64 params into float64; keep the original types.
	q.Params = map[string]any{}
	for k, v := range p.Params {
		q.Params[k] = v
	}
	return &q
}

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(p *planner.Plan)
		want   []string
		fromNo bool
	}{
		{name: "nothing deployed", fromNo: true, want: []string{`+ schedule pipectl-nightly: cron "0 2 * * *" in Asia/Shanghai, overlap skip`}},
		{name: "identical", edit: func(*planner.Plan) {}, want: nil},
		{name: "cron and a step changed", edit: func(p *planner.Plan) {
			p.Schedule.Cron = "30 3 * * *"
			p.Steps[1].With = json.RawMessage(`{"sql":"select 3"}`)
			p.Steps[1].Timeout = spec.Duration(2 * time.Hour)
		}, want: []string{
			`~ schedule.cron: 0 2 * * * -> 30 3 * * *`,
			`~ step agg: changed timeout, with`,
		}},
		{name: "params, steps added and removed, paused", edit: func(p *planner.Plan) {
			p.Schedule.Paused = true
			p.Params["limit"] = int64(20)
			delete(p.Params, "region")
			p.Params["full"] = true
			p.Steps = append(p.Steps[:1], planner.Step{ID: "publish", Kind: "dli.sql"})
		}, want: []string{
			`~ schedule.paused: false -> true`,
			`+ param full: true`,
			`~ param limit: 10 -> 20`,
			`- param region (was "eu")`,
			`+ step publish: dli.sql`,
			`- step agg (was dli.sql)`,
		}},
		{name: "schedule removed", edit: func(p *planner.Plan) { p.Schedule = nil }, want: []string{
			`- schedule (was cron "0 2 * * *" in Asia/Shanghai, overlap skip)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := basePlan()
			cur := clone(old)
			if tc.edit != nil {
				tc.edit(cur)
			}
			if tc.fromNo {
				old = nil
			}
			var got []string
			for _, c := range Diff(old, cur) {
				got = append(got, c.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("changes:\n%v\nwant:\n%v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("change %d = %q\nwant       %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// A schedule deployed before plans recorded what Temporal is given got its
// cron with DataArts' days of the week unconverted; applying the unchanged
// spec now corrects it, and changes nothing for a cron that was right.
func TestDiffCorrectsTemporalCron(t *testing.T) {
	for _, tc := range []struct {
		cron string
		want []string
	}{
		{"0 0 2 ? * 2", []string{`~ schedule.cron as Temporal reads it: 0 0 2 * * 2 * -> 0 0 2 * * 1 *`}},
		{"0 2 13 * 5", []string{`~ schedule.cron as Temporal reads it: 0 2 13 * 5 -> 0 2 13 * * | 0 2 * * 5`}},
		{"0 0 2 * * ?", nil},
		{"0 2 * * 1-5", nil},
	} {
		old := basePlan()
		old.Schedule.Cron = tc.cron
		cur := clone(old)
		exprs, err := planner.TemporalCronOf(tc.cron)
		if err != nil {
			t.Fatal(err)
		}
		cur.Schedule.TemporalCron = exprs
		var got []string
		for _, c := range Diff(old, cur) {
			got = append(got, c.String())
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: changes %q, want %q", tc.cron, got, tc.want)
		}
		// Once deployed with it, the same plan changes nothing.
		if ch := Diff(cur, clone(cur)); len(ch) != 0 {
			t.Errorf("%s: redeploying changes %v", tc.cron, ch)
		}
	}
}

func TestScheduleSpecGetsTemporalCron(t *testing.T) {
	p := basePlan()
	p.Schedule.Cron = "0 0 2 ? * 2-6"
	sp, err := scheduleSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0 0 2 * * 1-5 *"}; !reflect.DeepEqual(sp.CronExpressions, want) || sp.TimeZoneName != "Asia/Shanghai" {
		t.Errorf("spec %q in %q, want %q", sp.CronExpressions, sp.TimeZoneName, want)
	}
	p.Schedule.Cron = "0 0 2 L * ?"
	if _, err := scheduleSpec(p); err == nil || !strings.Contains(err.Error(), "Unsupported cron syntax") {
		t.Errorf("a Quartz L deployed: %v", err)
	}
}

func TestOverlapRoundTrip(t *testing.T) {
	for _, name := range spec.OverlapPolicies() {
		if got := OverlapName(Overlap(name)); got != name {
			t.Errorf("overlap %s came back as %s", name, got)
		}
	}
}

// TestDiffComparesMeaning: a deployed plan and a new one are compared as
// their spec hash sees them, so how and where the spec is written is no
// change, except that templates moved in the file and a hash from an
// older pipectl are worth applying.
func TestDiffComparesMeaning(t *testing.T) {
	const file = "specs/nightly.yaml"
	deployed := basePlan()
	deployed.SpecHash, deployed.Source = "aaaaaaaaaaaaaaaaaaaa", file
	agg := &deployed.Steps[1]
	agg.Templates = map[string]planner.SrcPos{"sql": {File: file, Line: 9, Col: 12}}
	agg.If = &planner.Expr{Src: "${params.limit > 1}", SrcPos: planner.SrcPos{File: file, Line: 8, Col: 9}}
	deployed.Steps = append(deployed.Steps, planner.Step{ID: "sub", Kind: "pipeline", With: json.RawMessage(`{"spec":"lib/c.yaml"}`),
		Pipeline: &planner.SubPipeline{Plan: &planner.Plan{Pipeline: "c", Source: "specs/lib/c.yaml", SpecHash: "cccc",
			Steps: []planner.Step{{ID: "x", Kind: "dli.sql", With: json.RawMessage(`{"sql":"select 1"}`)}}}}})
	for _, tc := range []struct {
		name string
		edit func(p *planner.Plan)
		want []string
	}{
		{name: "the file named another way", edit: func(p *planner.Plan) {
			p.Source = "./" + file
			p.Steps[1].Templates["sql"] = planner.SrcPos{File: "/home/ci/" + file, Line: 9, Col: 12}
			p.Steps[1].If.File = "./" + file
		}},
		{name: "the sub-pipeline's file named another way", edit: func(p *planner.Plan) {
			p.Steps[2].With = json.RawMessage(`{"spec":"./lib/../lib/c.yaml"}`)
			p.Steps[2].Pipeline.Plan.Source = "/abs/specs/lib/c.yaml"
			p.Steps[2].Pipeline.Plan.SpecHash = "dddd"
		}},
		{name: "templates moved", edit: func(p *planner.Plan) {
			p.Steps[1].Templates["sql"] = planner.SrcPos{File: file, Line: 10, Col: 12}
			p.Steps[1].If.Line = 9
		}, want: []string{"~ template positions: moved in the file (same spec hash)"}},
		{name: "hashed by an older pipectl", edit: func(p *planner.Plan) {
			p.SpecHash = "bbbbbbbbbbbbbbbbbbbb"
		}, want: []string{"~ spec hash: aaaaaaaaaaaa -> bbbbbbbbbbbb"}},
		{name: "the condition changed and moved", edit: func(p *planner.Plan) {
			p.Steps[1].If = &planner.Expr{Src: "${params.limit > 2}", SrcPos: planner.SrcPos{File: file, Line: 20, Col: 9}}
			p.SpecHash = "bbbbbbbbbbbbbbbbbbbb"
		}, want: []string{"~ step agg: changed if"}},
		{name: "the sub-pipeline changed", edit: func(p *planner.Plan) {
			p.Steps[2].Pipeline.Plan.Steps[0].With = json.RawMessage(`{"sql":"select 2"}`)
		}, want: []string{"~ step sub: changed pipeline"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := clone(deployed)
			tc.edit(cur)
			var got []string
			for _, c := range Diff(deployed, cur) {
				got = append(got, c.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("changes:\n%q\nwant:\n%q", got, tc.want)
			}
		})
	}
}
