//go:build bench

package bench_test

import (
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// BenchmarkServerSettings shows how the embedded Temporal server's own
// pacing sets a floor under a step (see benchServer): it runs a chain of
// 10 steps with 50ms jobs polled every 20ms doubling to 200ms, and one of
// 50 steps whose jobs have ended by their first status call (a shard's
// read budget allows bursts of 20 reads), on a server with its
// default settings and on one set as the other benchmarks set it. With
// the defaults a retry of the wait activity due within about a second
// waits for about a second, and each workflow task that follows an
// activity waits up to 50ms for the shard's next transfer-queue read.
func BenchmarkServerSettings(b *testing.B) {
	for _, srv := range []struct {
		name string
		dyn  map[string]any
	}{
		{"server=default", nil},
		{"server=bench", benchServer()},
	} {
		b.Run(srv.name, func(b *testing.B) {
			e := startEnvWith(b, overheadJob, srv.dyn)
			e.run(b, pipectlEngine, compile(b, chainSpec("warmup", 1, fastPoll)))
			for _, job := range []struct {
				name  string
				d     time.Duration
				steps int
			}{{"job=50ms", overheadJob, 10}, {"job=instant", instantJob, 50}} {
				b.Run(job.name, func(b *testing.B) {
					steps := job.steps
					plan := compile(b, chainSpec("chain", steps, fastPoll))
					e.st.Emulator.ClearRules()
					e.st.Emulator.AddRule(emulator.Rule{Duration: job.d})
					defer e.st.Emulator.ClearRules()
					var wall time.Duration
					var calls []float64
					for range b.N {
						r := e.run(b, pipectlEngine, plan)
						wall += r.wall
						for _, j := range e.jobs(r.project) {
							calls = append(calls, float64(j.StatusCalls))
						}
					}
					b.ReportMetric(ms(wall)/float64(b.N)/float64(steps), "ms/step")
					b.ReportMetric(mean(calls), "status-calls/job")
				})
			}
		})
	}
}
