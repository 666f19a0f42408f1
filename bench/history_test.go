//go:build bench

package bench_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// scaled is an emulated duration run faster by a factor: jobs take
// duration/scale and every poll interval is divided by scale, so a run
// makes the same status calls, in the same pattern, as one at full length.
// Durations measured in the run are multiplied back by scale. The
// Temporal server times retries with the real clock, which is why the
// emulator's clock cannot simply be sped up: the poll schedule would not
// follow.
type scaled struct {
	name     string
	duration time.Duration // as emulated
	scale    float64       // 1 = real time
}

func (s scaled) real(d time.Duration) time.Duration { return time.Duration(float64(d) / s.scale) }

// poll is pipectl's default polling (2s, doubling to 30s), scaled.
func (s scaled) poll() options {
	return options{pollInterval: s.real(2 * time.Second), pollMax: s.real(30 * time.Second)}
}

// BenchmarkHistory measures history events per step on a chain, for jobs
// of 1s and of 10 minutes (the latter run 120× faster with polling scaled
// alike: about two dozen status checks per step, as a real 10-minute job
// gets with the default poll settings). Polling is Temporal's server-side
// retry of the wait activity, so the event count should not depend on the
// job's length; the goal is at most 8 events per step. It reports events
// per step of a 3-step chain (whole history / steps), the marginal events
// of one more step ((E3 − E1) / 2), and the status calls per job.
func BenchmarkHistory(b *testing.B) {
	e := startEnv(b, time.Second)
	e.warmUp(b)
	const steps = 3
	for _, c := range []scaled{
		{"job=1s", time.Second, 1},
		{"job=10m", 10 * time.Minute, 120},
	} {
		b.Run(c.name, func(b *testing.B) {
			e.st.Emulator.ClearRules()
			e.st.Emulator.AddRule(emulator.Rule{Duration: c.real(c.duration)})
			one := compile(b, chainSpec(fmt.Sprintf("history-1-%s", c.name[4:]), 1, c.poll()))
			chain := compile(b, chainSpec(fmt.Sprintf("history-%d-%s", steps, c.name[4:]), steps, c.poll()))
			var e1, eN int64
			var polls []float64
			for range b.N {
				e1 += e.run(b, pipectlEngine, one).events
				r := e.run(b, pipectlEngine, chain)
				eN += r.events
				for _, j := range e.jobs(r.project) {
					polls = append(polls, float64(j.StatusCalls))
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(eN)/n, "events/run")
			b.ReportMetric(float64(eN)/n/steps, "events/step")
			b.ReportMetric(float64(eN-e1)/n/(steps-1), "marginal-events/step")
			b.ReportMetric(mean(polls), "status-calls/job")
		})
	}
	e.st.Emulator.ClearRules()
}
