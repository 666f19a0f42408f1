package testenv_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/dli"
	"github.com/pipectl/pipectl/internal/engine"
	"github.com/pipectl/pipectl/testenv"
)

// noRateLimitEnv lifts a worker process's rate limits, as
// testenv.NoRateLimits does in process. Every worker of a namespace must
// use the same values.
func noRateLimitEnv() []string {
	var env []string
	for _, svc := range slices.Sorted(maps.Keys(testenv.NoRateLimits())) {
		env = append(env, engine.EnvRateLimitPrefix+strings.ToUpper(svc)+"=0")
	}
	return env
}

// TestFaultTwoWorkers runs 50 four-step pipelines, 25 at a time, on two
// worker processes (cmd/worker) polling the same task queues. Both run
// workflow tasks and step activities, each a fair share of them, and
// every run completes with exactly one job per step: a step run by one
// worker is never run again by the other.
func TestFaultTwoWorkers(t *testing.T) {
	began := time.Now()
	bin := workerBinary(t)
	st := startStack(t, testenv.StackOptions{NoWorker: true, JobDuration: 100 * time.Millisecond})
	procs := []*workerProcess{
		startWorkerProcess(t, bin, st, "worker-1", noRateLimitEnv()...),
		startWorkerProcess(t, bin, st, "worker-2", noRateLimitEnv()...),
	}

	const n, parallel = 50, 25
	runs := make([]faultRun, n)
	for i := range runs {
		runs[i].plan = faultPlan(t, fmt.Sprintf("shared-%02d", i+1), []faultStep{
			{id: "extract"},
			{id: "clean", deps: []string{"extract"}},
			{id: "enrich", deps: []string{"extract"}},
			{id: "load", deps: []string{"clean", "enrich"}},
		}, 300*time.Millisecond)
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range runs {
		r := &runs[i]
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r.run, r.err = startFaultRun(t.Context(), st.Client, r.plan)
			if r.err == nil {
				r.status, r.err = awaitRun(t.Context(), st.Client, r.run, 90*time.Second)
			}
		})
	}
	wg.Wait()
	for _, r := range runs {
		if r.run == nil {
			t.Fatalf("run of %s not started: %v", r.plan.Pipeline, r.err)
		}
	}
	t.Logf("%d runs done in %s", n, time.Since(began).Round(time.Millisecond))
	checkExactlyOnce(t, st.Client, st.Emulator, runs)

	// Who did what, from the histories: the identity of the worker that
	// completed each workflow task and each activity. A worker's identity
	// starts with its process id.
	byPID := map[string]string{}
	for i, p := range procs {
		byPID[strconv.Itoa(p.cmd.Process.Pid)] = fmt.Sprintf("worker-%d", i+1)
	}
	workerOf := func(identity string) string {
		pid, _, _ := strings.Cut(identity, "@")
		if w, ok := byPID[pid]; ok {
			return w
		}
		return "unknown worker " + identity
	}
	wfTasks, acts := map[string]int{}, map[string]int{}
	steps, runActs := 0, 0
	for _, r := range runs {
		steps += len(r.plan.Steps)
		for _, e := range fetchRunHistory(t, st.Client, r.run.GetID(), r.run.GetRunID()).GetEvents() {
			if a := e.GetWorkflowTaskCompletedEventAttributes(); a != nil {
				wfTasks[workerOf(a.GetIdentity())]++
			}
			if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == activities.RunName(dli.KindSQL) {
				runActs++
			}
			if a := e.GetActivityTaskCompletedEventAttributes(); a != nil {
				acts[workerOf(a.GetIdentity())]++
			}
		}
	}
	t.Logf("workflow tasks by worker: %v; step activities by worker: %v", wfTasks, acts)
	if runActs != steps {
		t.Errorf("%d run activities scheduled for %d steps, want one each", runActs, steps)
	}
	if total := acts["worker-1"] + acts["worker-2"]; total != steps || len(acts) != 2 {
		t.Errorf("activities completed %v, want %d in all, by worker-1 and worker-2 only", acts, steps)
	}
	for _, w := range []string{"worker-1", "worker-2"} {
		if acts[w] < steps/10 {
			t.Errorf("%s completed %d of the %d step activities, want at least a tenth", w, acts[w], steps)
		}
		if wfTasks[w] == 0 {
			t.Errorf("%s completed no workflow task", w)
		}
	}
	for w := range wfTasks {
		if w != "worker-1" && w != "worker-2" {
			t.Errorf("workflow tasks completed by %s", w)
		}
	}
	t.Logf("took %s", time.Since(began).Round(time.Millisecond))
}
