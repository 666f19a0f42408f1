package testenv_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"

	"github.com/pipectl/pipectl/internal/engine"
	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/testenv/devserver"
	"github.com/pipectl/pipectl/workflows"
)

// TestServiceQueueRateLimitHoldsForAllWorkers runs 12 parallel DLI steps
// with two workers whose DLI queue allows one activity a second: the
// server reports the queue's limit as the workers set it, and the jobs are
// submitted no faster than the one limit allows for both workers together
// (each worker alone would allow one a second, both two). Bounds from
// below cannot fail on a slow machine.
func TestServiceQueueRateLimitHoldsForAllWorkers(t *testing.T) {
	limits := testenv.NoRateLimits()
	limits["dli"] = 1
	// Jobs end at once: each step is one activity, its first check done.
	st := startStack(t, testenv.StackOptions{JobDuration: time.Nanosecond, RateLimits: limits})
	second, err := engine.NewWorker(st.Client, st.WorkerConfig(), worker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Stop)

	const n = 12
	var b strings.Builder
	b.WriteString("name: limited\ndefaults:\n  poll: {interval: 10ms, max_interval: 10ms}\nsteps:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  - {id: s%02d, kind: dli.sql, with: {sql: \"SELECT %d\"}}\n", i, i)
	}
	plan := compileSpec(t, "limited", b.String())
	run := startPlan(t, st, "limited-1", plan)
	var status workflows.Status
	if err := run.Get(t.Context(), &status); err != nil || status.State != workflows.RunSucceeded {
		t.Fatalf("run %s: %v", status.State, err)
	}

	resp, err := st.Client.WorkflowService().DescribeTaskQueue(t.Context(), &workflowservice.DescribeTaskQueueRequest{
		Namespace:     devserver.DefaultNamespace,
		TaskQueue:     &taskqueuepb.TaskQueue{Name: workflows.ServiceQueue("dli.sql"), Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
		ReportConfig:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rl := resp.GetEffectiveRateLimit(); rl.GetRequestsPerSecond() != 1 || rl.GetRateLimitSource() != enumspb.RATE_LIMIT_SOURCE_WORKER {
		t.Errorf("server's limit of the DLI queue = %v, want 1/s set by the workers", rl)
	}

	jobs := st.Emulator.DLIJobs()
	if len(jobs) != n {
		t.Fatalf("%d jobs, want %d", len(jobs), n)
	}
	var times []time.Time
	for _, j := range jobs {
		times = append(times, j.SubmittedAt)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	// A rate limiter lets a burst of up to one second's worth through per
	// partition (four by default), then one a second.
	span := times[n-1].Sub(times[0])
	t.Logf("%d submits over %s", n, span.Round(time.Millisecond))
	if span < time.Duration(n-1-4)*time.Second*9/10 {
		t.Errorf("%d submits over %s: faster than one a second for both workers together", n, span)
	}
}
