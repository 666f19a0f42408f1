//go:build bench

package bench_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/testenv/emulator"
)

// pollPairs is how many independent long-job → next-step pairs one run of
// BenchmarkPolling has.
const pollPairs = 4

// pairSpec is n pairs of steps: long_i, whose job matches "-- long", then
// next_i, whose job matches "-- short".
func pairSpec(name string, n int, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n%ssteps:\n", name, o.defaults())
	for i := range n {
		sqlStep(&b, fmt.Sprintf("long_%d", i), nil, fmt.Sprintf("INSERT OVERWRITE TABLE bench.big%d SELECT * FROM bench.src -- long", i))
		sqlStep(&b, fmt.Sprintf("next_%d", i), []string{fmt.Sprintf("long_%d", i)}, fmt.Sprintf("INSERT OVERWRITE TABLE bench.small%d SELECT * FROM bench.big%d -- short", i, i))
	}
	return b.String()
}

// idealPolls is the status calls and detection lag of a job of duration d
// under poll p if every call took no time: the wait's first attempt runs
// at once, attempt n+1 after activities.NextPoll(p, n).
func idealPolls(p planner.Poll, d time.Duration) (calls int, lag time.Duration) {
	var t time.Duration
	for n := int32(1); ; n++ {
		if t >= d {
			return int(n), t - d
		}
		t += activities.NextPoll(p, n)
	}
}

// BenchmarkPolling measures, with pipectl's default poll settings (2s,
// doubling to 30s), the status calls a job costs and the detection lag:
// from the job's end (by the emulator's clock) to the submission of the
// step after it. Jobs of 10s run in real time; jobs of 1m and 10m run 6×
// and 30× faster with the poll intervals scaled alike. Each run has 4
// independent pairs of steps. "ideal" figures are what the poll schedule
// gives when calls take no time; the lag is the ideal lag plus what the
// run added in real time (lag-overhead-ms: the polls' own drift and the
// start of the next step), which does not scale with the job.
func BenchmarkPolling(b *testing.B) {
	e := startEnv(b, overheadJob)
	e.warmUp(b)
	for _, c := range []scaled{
		{"job=10s", 10 * time.Second, 1},
		{"job=1m", time.Minute, 6},
		{"job=10m", 10 * time.Minute, 30},
	} {
		b.Run(c.name, func(b *testing.B) {
			e.st.Emulator.ClearRules()
			e.st.Emulator.AddRule(emulator.Rule{Match: "-- long", Duration: c.real(c.duration)})
			e.st.Emulator.AddRule(emulator.Rule{Match: "-- short", Duration: 10 * time.Millisecond})
			plan := compile(b, pairSpec("polling-"+c.name[4:], pollPairs, c.poll()))
			poll := planner.Poll{Interval: spec.Duration(2 * time.Second), MaxInterval: spec.Duration(30 * time.Second)}
			idealCalls, idealLag := idealPolls(poll, c.duration)
			var calls, lags, overheads []float64
			for range b.N {
				r := e.run(b, pipectlEngine, plan)
				jobs := e.jobs(r.project)
				if len(jobs) != 2*pollPairs {
					b.Fatalf("run %s submitted %d jobs, want %d", r.id, len(jobs), 2*pollPairs)
				}
				for i := range pollPairs {
					long, next := jobOf(b, jobs, fmt.Sprintf("bench.big%d SELECT", i)), jobOf(b, jobs, fmt.Sprintf("bench.small%d SELECT", i))
					calls = append(calls, float64(long.StatusCalls))
					// The measured lag is the schedule's share, scaled
					// down, plus real time: the drift of the polls (each
					// takes a few ms) and the start of the next step.
					// Only the first share scales back up.
					overhead := next.SubmittedAt.Sub(long.EndedAt) - c.real(idealLag)
					overheads = append(overheads, ms(overhead))
					lags = append(lags, (idealLag + overhead).Seconds())
				}
			}
			b.ReportMetric(mean(calls), "status-calls/job")
			b.ReportMetric(float64(idealCalls), "ideal-calls/job")
			b.ReportMetric(mean(lags), "lag-s")
			b.ReportMetric(maxOf(lags), "max-lag-s")
			b.ReportMetric(idealLag.Seconds(), "ideal-lag-s")
			b.ReportMetric(mean(overheads), "lag-overhead-ms")
		})
	}
	e.st.Emulator.ClearRules()
}

func jobOf(b *testing.B, jobs []emulator.DLIJob, sqlPart string) emulator.DLIJob {
	b.Helper()
	for _, j := range jobs {
		if strings.Contains(j.SQL, sqlPart) {
			return j
		}
	}
	b.Fatalf("no job runs %q", sqlPart)
	return emulator.DLIJob{}
}

func maxOf(xs []float64) float64 {
	var m float64
	for i, x := range xs {
		if i == 0 || x > m {
			m = x
		}
	}
	return m
}
