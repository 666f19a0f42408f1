//go:build bench

package bench_test

import (
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// overheadJob is how long each emulated job of the overhead and fan-out
// benchmarks runs.
const overheadJob = 50 * time.Millisecond

// instantJob is a job that has finished by the time its first status call
// comes, so its step costs no poll interval at all.
const instantJob = time.Microsecond

// BenchmarkOverhead measures what pipectl's workflow costs per step over a
// hand-written Temporal workflow (Baseline) that calls the same registered
// activities in the same dependency order with the same retry and poll
// options. Each iteration runs the plan on both (three times over, but for
// chain-200), alternating which goes first, and reports the mean wall time
// of each, their ratio, the difference per step, the process's CPU time
// per step (server, emulator and worker together: the difference between
// the two is what the workflows do differently) and the history events of
// each.
//
//	chain-200: 200 steps, each after the one before
//	dag-1000:  20 layers of 50 steps, each depending on 1–3 of the layer before
//
// with 50ms jobs polled every 20ms doubling to 200ms, and with jobs that
// have ended by their first status call ("instant"), where nothing but
// orchestration takes time.
func BenchmarkOverhead(b *testing.B) {
	e := startEnv(b, overheadJob)
	e.warmUp(b)
	type shape struct {
		name  string
		src   string
		steps int
	}
	for _, c := range []shape{
		{"chain-200", chainSpec("chain", 200, fastPoll), 200},
		{"dag-1000", layeredSpec("dag", 20, 50, 1, fastPoll), 1000},
	} {
		for _, job := range []time.Duration{overheadJob, instantJob} {
			name := c.name
			if job == instantJob {
				name += "-instant"
			}
			// Pairs of runs per iteration: the shorter cases run three,
			// so that one slow run does not make the ratio.
			pairs := 3
			if name == "chain-200" {
				pairs = 1
			}
			b.Run(name, func(b *testing.B) {
				e.st.Emulator.ClearRules()
				e.st.Emulator.AddRule(emulator.Rule{Duration: job})
				defer e.st.Emulator.ClearRules()
				plan := compile(b, c.src)
				var wall, cpu [2]time.Duration
				var events [2]int64
				var runs [2]int
				for i := range b.N * pairs {
					order := []engineKind{pipectlEngine, baselineEngine}
					if i%2 == 1 {
						order[0], order[1] = order[1], order[0]
					}
					for _, k := range order {
						r := e.run(b, k, plan)
						cpu[k] += r.cpu
						wall[k] += r.wall
						events[k] += r.events
						runs[k] += r.runs
						if n := len(e.jobs(r.project)); n != c.steps {
							b.Fatalf("%s run %s submitted %d jobs, want %d", k, r.id, n, c.steps)
						}
					}
				}
				n, steps := float64(b.N*pairs), float64(c.steps)
				p, base := wall[pipectlEngine].Seconds()/n, wall[baselineEngine].Seconds()/n
				b.ReportMetric(p, "pipectl-s/run")
				b.ReportMetric(base, "baseline-s/run")
				b.ReportMetric(p/base, "ratio")
				b.ReportMetric((p-base)*1000/steps, "overhead-ms/step")
				b.ReportMetric(ms(cpu[pipectlEngine])/n/steps, "pipectl-cpu-ms/step")
				b.ReportMetric(ms(cpu[baselineEngine])/n/steps, "baseline-cpu-ms/step")
				b.ReportMetric(float64(events[pipectlEngine])/n/steps, "pipectl-events/step")
				b.ReportMetric(float64(events[baselineEngine])/n/steps, "baseline-events/step")
				b.ReportMetric(float64(runs[pipectlEngine])/n, "pipectl-workflow-runs")
			})
		}
	}
}
