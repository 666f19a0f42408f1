//go:build bench

package bench_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// waitingJobs is how many long jobs BenchmarkWaiting keeps running.
const waitingJobs = 200

// Windows of BenchmarkWaiting: how long the jobs run before measuring
// (so the wait activities are in their retry backoff, as long jobs are
// nearly always), and how long the measurement lasts.
const (
	waitSettle = 5 * time.Second
	waitWindow = 15 * time.Second
)

// sample is the process's state at one moment.
type sample struct {
	goroutines int // all goroutines of the process
	sdk        int // goroutines in the Temporal SDK: the worker, its pollers and workflow coroutines (and the server's own system worker)
	workflow   int // goroutines in pipectl's workflow code: workflow coroutines
	executing  int // goroutines inside pipectl's activity code
	heap       uint64
	rss        uint64
}

func takeSample() sample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := sample{goroutines: runtime.NumGoroutine(), heap: ms.HeapInuse, rss: rss()}
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("go.temporal.io/sdk/")) {
			s.sdk++
		}
		if bytes.Contains(g, []byte("github.com/pipectl/pipectl/workflows.")) {
			s.workflow++
		}
		if bytes.Contains(g, []byte("github.com/pipectl/pipectl/activities")) {
			s.executing++
		}
	}
	return s
}

// rss is the process's resident set size in bytes (Linux), or 0.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// observation is what observe saw.
type observation struct {
	peak          sample  // the largest value of each figure
	meanExecuting float64 // goroutines in activity code, on average
	cpuPct        float64 // CPU used, in % of one core
}

// observe samples the process every 250ms for d.
func observe(d time.Duration) observation {
	var o observation
	c0, t0 := cpuTime(), time.Now()
	n := 0
	for time.Since(t0) < d {
		s := takeSample()
		n++
		o.peak.goroutines = max(o.peak.goroutines, s.goroutines)
		o.peak.sdk = max(o.peak.sdk, s.sdk)
		o.peak.workflow = max(o.peak.workflow, s.workflow)
		o.peak.executing = max(o.peak.executing, s.executing)
		o.peak.heap = max(o.peak.heap, s.heap)
		o.peak.rss = max(o.peak.rss, s.rss)
		o.meanExecuting += float64(s.executing)
		time.Sleep(250 * time.Millisecond)
	}
	o.meanExecuting /= float64(max(n, 1))
	o.cpuPct = 100 * float64(cpuTime()-c0) / float64(time.Since(t0))
	return o
}

// waitSpec is n independent steps whose jobs match "-- wait".
func waitSpec(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: waiting\n%ssteps:\n", options{}.defaults())
	for i := range n {
		sqlStep(&b, stepID(i), nil, fmt.Sprintf("INSERT OVERWRITE TABLE bench.t%05d SELECT * FROM bench.src -- wait", i))
	}
	return b.String()
}

// BenchmarkWaiting shows that a waiting step holds nothing in the worker:
// one run of 200 steps whose jobs never end, with the default poll
// settings (2s, doubling to 30s). It samples the whole process (Temporal
// server, emulator and worker share it) while idle, then while the 200
// jobs run, and reports goroutines (all; those the Temporal SDK added per
// job; those in pipectl's workflow code), goroutines executing activity
// code (that is, holding an activity slot: the most seen at once and the
// mean), heap per job, RSS, the process's CPU use, and the status calls
// per second. Then it cancels the run and reports
// how long stopping all 200 jobs took.
func BenchmarkWaiting(b *testing.B) {
	e := startEnv(b, overheadJob)
	e.warmUp(b)
	e.st.Emulator.AddRule(emulator.Rule{Match: "-- wait", Hang: true})
	plan := compile(b, waitSpec(waitingJobs))
	for range b.N {
		runtime.GC()
		idle := observe(waitSettle)

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		run, project, err := e.start(ctx, pipectlEngine, plan)
		if err != nil {
			b.Fatal(err)
		}
		if err := waitFor(time.Minute, func() bool {
			jobs := e.jobs(project)
			for _, j := range jobs {
				if j.StatusCalls == 0 {
					return false
				}
			}
			return len(jobs) == waitingJobs
		}); err != nil {
			b.Fatalf("the %d jobs did not all start: %v", waitingJobs, err)
		}
		time.Sleep(waitSettle)
		calls0 := statusCalls(e.jobs(project))
		t0 := time.Now()
		busy := observe(waitWindow)
		pollRate := float64(statusCalls(e.jobs(project))-calls0) / time.Since(t0).Seconds()

		c0 := time.Now()
		if err := e.st.Client.CancelWorkflow(ctx, run.GetID(), ""); err != nil {
			b.Fatal(err)
		}
		if err := waitFor(2*time.Minute, func() bool {
			for _, j := range e.jobs(project) {
				if j.Status != "CANCELLED" {
					return false
				}
			}
			return true
		}); err != nil {
			b.Fatalf("jobs not cancelled: %v", err)
		}
		cancelAll := time.Since(c0)
		_ = e.wait(ctx, run) // a cancelled error, as expected
		cancel()

		const mb = 1 << 20
		i, w := idle.peak, busy.peak
		b.ReportMetric(float64(i.goroutines), "goroutines-idle")
		b.ReportMetric(float64(w.goroutines), "goroutines-waiting")
		b.ReportMetric(float64(w.sdk-i.sdk)/waitingJobs, "sdk-goroutines/job")
		b.ReportMetric(float64(w.workflow), "workflow-goroutines")
		b.ReportMetric(float64(w.executing), "activities-executing-max")
		b.ReportMetric(busy.meanExecuting, "activities-executing-mean")
		b.ReportMetric(float64(i.rss)/mb, "rss-MB-idle")
		b.ReportMetric(float64(w.rss)/mb, "rss-MB-waiting")
		b.ReportMetric(float64(w.heap-min(w.heap, i.heap))/waitingJobs/1024, "heap-KB/job")
		b.ReportMetric(idle.cpuPct, "cpu-%-idle")
		b.ReportMetric(busy.cpuPct, "cpu-%-waiting")
		b.ReportMetric(pollRate, "status-calls/s")
		b.ReportMetric(cancelAll.Seconds(), "cancel-all-s")
	}
	e.st.Emulator.ClearRules()
}

func statusCalls(jobs []emulator.DLIJob) int {
	n := 0
	for _, j := range jobs {
		n += j.StatusCalls
	}
	return n
}
