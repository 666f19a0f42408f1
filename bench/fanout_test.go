//go:build bench

package bench_test

import (
	"testing"
)

// fanWidth is the width of BenchmarkFanOut's middle.
const fanWidth = 1000

// BenchmarkFanOut runs 1 → 1,000 → 1 with 50ms jobs: as one for_each step
// over 1,000 items, as 1,000 parallel steps, and (for scale) the 1,000
// parallel steps on the hand-written Baseline. It reports the wall time,
// the history events and the workflow runs (continued as new, children)
// per pipeline run.
func BenchmarkFanOut(b *testing.B) {
	e := startEnv(b, overheadJob)
	e.warmUp(b)
	for _, c := range []struct {
		name    string
		engine  engineKind
		forEach bool
	}{
		{"for_each-1000", pipectlEngine, true},
		{"steps-1000", pipectlEngine, false},
		{"steps-1000-baseline", baselineEngine, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			plan := compile(b, fanSpec("fan", fanWidth, c.forEach, fastPoll))
			var wall, events, runs float64
			for range b.N {
				r := e.run(b, c.engine, plan)
				if n := len(e.jobs(r.project)); n != fanWidth+2 {
					b.Fatalf("run %s submitted %d jobs, want %d", r.id, n, fanWidth+2)
				}
				wall += r.wall.Seconds()
				events += float64(r.events)
				runs += float64(r.runs)
			}
			n := float64(b.N)
			b.ReportMetric(wall/n, "s/run")
			b.ReportMetric(events/n, "events/run")
			b.ReportMetric(events/n/(fanWidth+2), "events/job")
			b.ReportMetric(runs/n, "workflow-runs")
		})
	}
}
