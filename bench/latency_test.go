//go:build bench

package bench_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/testenv/emulator"
)

// latencyRuns is how many runs each latency is measured over.
const latencyRuns = 20

// oneStepSpec is a pipeline of one step running sql.
func oneStepSpec(name, sql string, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n%ssteps:\n", name, o.defaults())
	sqlStep(&b, "only", nil, sql)
	return b.String()
}

// BenchmarkLatency measures, over 20 runs each, p50 and p95 of
//
//	trigger: ExecuteWorkflow called (what `pipectl apply` does once the
//	         spec is compiled) → the emulator receives the job's submit
//	result:  the server closes a run → a client's WorkflowRun.Get, waiting
//	         since the start, returns (what `pipectl apply --wait` does);
//	         also the largest, and how many took over a second
//	cancel:  CancelWorkflow called on a run whose job is running → the
//	         emulator receives the job's DELETE
func BenchmarkLatency(b *testing.B) {
	e := startEnv(b, overheadJob)
	e.warmUp(b)
	b.Run("trigger", func(b *testing.B) {
		plan := compile(b, oneStepSpec("trigger", "INSERT OVERWRITE TABLE bench.t SELECT * FROM bench.src", fastPoll))
		var lat []time.Duration
		for range b.N {
			for range latencyRuns {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				t0 := time.Now()
				run, project, err := e.start(ctx, pipectlEngine, plan)
				if err != nil {
					b.Fatal(err)
				}
				if err := e.wait(ctx, run); err != nil {
					b.Fatal(err)
				}
				cancel()
				jobs := e.jobs(project)
				if len(jobs) != 1 {
					b.Fatalf("%d jobs, want 1", len(jobs))
				}
				lat = append(lat, jobs[0].SubmittedAt.Sub(t0))
			}
		}
		b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
		b.ReportMetric(ms(percentile(lat, 95)), "p95-ms")
	})
	b.Run("result", func(b *testing.B) {
		plan := compile(b, oneStepSpec("result", "INSERT OVERWRITE TABLE bench.t SELECT * FROM bench.src", fastPoll))
		var lat []time.Duration
		late := 0
		for range b.N {
			for range latencyRuns {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				run, _, err := e.start(ctx, pipectlEngine, plan)
				if err != nil {
					b.Fatal(err)
				}
				if err := run.Get(ctx, nil); err != nil {
					b.Fatal(err)
				}
				got := time.Now()
				cancel()
				d := got.Sub(e.closeTime(b, run.GetID()))
				lat = append(lat, d)
				if d > time.Second {
					late++
				}
			}
		}
		b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
		b.ReportMetric(ms(percentile(lat, 95)), "p95-ms")
		b.ReportMetric(ms(percentile(lat, 100)), "max-ms")
		b.ReportMetric(float64(late), "late-runs")
	})
	b.Run("cancel", func(b *testing.B) {
		e.st.Emulator.AddRule(emulator.Rule{Match: "-- hang", Hang: true})
		defer e.st.Emulator.ClearRules()
		plan := compile(b, oneStepSpec("cancel", "INSERT OVERWRITE TABLE bench.t SELECT * FROM bench.src -- hang", options{}))
		var lat []time.Duration
		for range b.N {
			for range latencyRuns {
				lat = append(lat, cancelOnce(b, e, plan))
			}
		}
		b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
		b.ReportMetric(ms(percentile(lat, 95)), "p95-ms")
	})
}

// cancelOnce starts plan, waits until its job runs and has been polled
// once (the wait activity is then in its retry backoff, where a long job
// spends its life), cancels the run and returns how long until the job's
// DELETE reached the emulator.
func cancelOnce(b *testing.B, e *env, plan planner.Plan) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, project, err := e.start(ctx, pipectlEngine, plan)
	if err != nil {
		b.Fatal(err)
	}
	var id string
	if err := waitFor(30*time.Second, func() bool {
		jobs := e.jobs(project)
		if len(jobs) == 1 && jobs[0].StatusCalls > 0 {
			id = jobs[0].ID
			return true
		}
		return false
	}); err != nil {
		b.Fatalf("job never polled: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	t0 := time.Now()
	if err := e.st.Client.CancelWorkflow(ctx, run.GetID(), ""); err != nil {
		b.Fatal(err)
	}
	var job emulator.DLIJob
	if err := waitFor(30*time.Second, func() bool {
		job, _ = e.st.Emulator.DLIJob(id)
		return job.Status == "CANCELLED"
	}); err != nil {
		b.Fatalf("job %s not cancelled: %v", id, err)
	}
	if err := e.wait(ctx, run); err == nil || errors.Is(err, context.DeadlineExceeded) {
		b.Fatalf("cancelled run ended with %v", err)
	}
	return job.EndedAt.Sub(t0)
}
