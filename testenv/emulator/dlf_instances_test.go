package emulator_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// dlfChainJob has four Shell-free nodes declared out of order; they run
// A, B, C, D. With a 10s duration: waiting [0,2s), then 2s per node.
func dlfChainJob(name string) string {
	node := func(n, typ, pre string) string {
		preList := "[]"
		if pre != "" {
			preList = `["` + pre + `"]`
		}
		return fmt.Sprintf(`{"name":%q,"type":%q,"location":{"x":"1.0","y":"2.0"},"preNodeName":%s,
			"properties":[{"name":"scriptName","value":"s"},{"name":"clusterName","value":"c"},{"name":"jobName","value":"j"}]}`, n, typ, preList)
	}
	return `{"name":"` + name + `","jobType":"BATCH","schedule":{"type":"EXECUTE_ONCE"},"nodes":[` +
		strings.Join([]string{node("D", "DWS SQL", "C"), node("A", "CDMJob", ""), node("C", "DLISQL", "B"), node("B", "Dummy", "A")}, ",") + `]}`
}

// dlfRun runs a job immediately and returns the instance ID.
func (e *env) dlfRun(job, body string) int64 {
	e.t.Helper()
	r := e.dlfOK("POST", "/v1/p1/jobs/"+job+"/run-immediate", body)
	id, ok := r.body["instanceId"].(float64)
	if !ok || len(r.body) != 1 {
		e.t.Fatalf("run-immediate answer %s, want {\"instanceId\": <number>}", r.raw)
	}
	return int64(id)
}

func (e *env) dlfInstance(job string, id int64) response {
	e.t.Helper()
	return e.dlfOK("GET", fmt.Sprintf("/v1/p1/jobs/%s/instances/%d", job, id), "")
}

// nodeStatuses summarises an instance detail as "status: A=... B=...".
func nodeStatuses(t *testing.T, r response) string {
	t.Helper()
	var parts []string
	for _, n := range r.body["nodes"].([]any) {
		n := n.(map[string]any)
		parts = append(parts, fmt.Sprintf("%s=%s", n["nodeName"], n["status"]))
	}
	return fmt.Sprintf("%s: %s", r.body["status"], strings.Join(parts, " "))
}

func TestDLFRunImmediateLifecycle(t *testing.T) {
	e := newDLFEnv(t, 10*time.Second)
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("chain"))
	e.clock.Advance(time.Minute)
	start := e.clock.Now()
	// The seed's run-immediate body.
	id := e.dlfRun("chain", `{
  "jobParams": [
    {
      "name": "aaa",
      "value": "111"
    },
    {
      "name": "bbb",
      "value": "222"
    }
  ]
}`)
	if id != 10001 {
		t.Errorf("first instanceId = %d, want 10001", id)
	}
	for _, step := range []struct {
		at   time.Duration
		want string
	}{
		{0, "waiting: A=waiting B=waiting C=waiting D=waiting"},
		{1999 * time.Millisecond, "waiting: A=waiting B=waiting C=waiting D=waiting"},
		{2 * time.Second, "running: A=running B=waiting C=waiting D=waiting"},
		{4 * time.Second, "running: A=success B=running C=waiting D=waiting"},
		{7 * time.Second, "running: A=success B=success C=running D=waiting"},
		{9999 * time.Millisecond, "running: A=success B=success C=success D=running"},
		{10 * time.Second, "success: A=success B=success C=success D=success"},
		{time.Hour, "success: A=success B=success C=success D=success"},
	} {
		e.clock.Set(start.Add(step.at))
		if got := nodeStatuses(t, e.dlfInstance("chain", id)); got != step.want {
			t.Errorf("at %v: %s, want %s", step.at, got, step.want)
		}
	}

	r := e.dlfInstance("chain", id)
	b := r.body
	ms := func(d time.Duration) int64 { return start.Add(d).UnixMilli() }
	if b["jobName"] != "chain" || num(t, b, "instanceId") != id || num(t, b, "planTime") != ms(0) ||
		num(t, b, "startTime") != ms(0) || num(t, b, "endTime") != ms(10*time.Second) ||
		num(t, b, "executeTime") != 10000 || num(t, b, "total") != 4 {
		t.Errorf("detail = %s", r.raw)
	}
	nodes := b["nodes"].([]any)
	c := nodes[2].(map[string]any)
	if c["nodeName"] != "C" || c["type"] != "DLISQL" || num(t, c, "startTime") != ms(6*time.Second) ||
		num(t, c, "endTime") != ms(8*time.Second) || num(t, c, "planTime") != ms(0) || num(t, c, "instanceId") != id ||
		num(t, c, "retryTimes") != 0 || num(t, c, "inputRowCount") != 0 || c["speed"] != 0.0 ||
		c["logPath"] != "obs://dlf-log-p1/chain/2024-05-06 07_09_09.000/C/C.job" {
		t.Errorf("node C = %v", c)
	}
	if _, ok := c["failReason"]; ok {
		t.Errorf("successful node has a failReason: %v", c)
	}
	if d := nodes[3].(map[string]any); d["type"] != "DWS SQL" {
		t.Errorf("node D type = %v, want the job's spelling", d["type"])
	}

	// While running, executeTime grows and endTime is absent.
	id2 := e.dlfRun("chain", "")
	e.clock.Advance(3 * time.Second)
	r = e.dlfInstance("chain", id2)
	if _, ok := r.body["endTime"]; ok || num(t, r.body, "executeTime") != 3000 || id2 != id+1 {
		t.Errorf("running detail = %s", r.raw)
	}
	waiting := r.body["nodes"].([]any)[3].(map[string]any)
	if _, ok := waiting["logPath"]; ok || num(t, waiting, "startTime") != 0 {
		t.Errorf("waiting node = %v", waiting)
	}

	ins := e.emu.DLFInstances()
	if len(ins) != 2 {
		t.Fatalf("DLFInstances() = %+v", ins)
	}
	in := ins[0]
	if in.ID != id || in.JobName != "chain" || in.Trigger != "run-immediate" || in.Status != "success" ||
		fmt.Sprint(in.Params) != "map[aaa:111 bbb:222]" || !in.SubmittedAt.Equal(start) || !in.EndedAt.Equal(start.Add(10*time.Second)) ||
		len(in.Nodes) != 4 || in.Nodes[0] != (emulator.DLFNodeState{Name: "A", Type: "CDMJob", Status: "success"}) {
		t.Errorf("DLFInstance = %+v", in)
	}
	if j := e.emu.DLFJobs()[0]; j.Runs != 2 || j.Starts != 0 {
		t.Errorf("DLFJob = %+v", j)
	}
}

func TestDLFFailingRule(t *testing.T) {
	e := newDLFEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: "bad", Duration: 5 * time.Second, FailMessage: "Table dw.orders not found"})
	e.emu.AddRule(emulator.Rule{Service: emulator.CDM, FailMessage: "CDM only"}) // another service: ignored
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("bad_chain"))
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("good_chain"))
	bad, good := e.dlfRun("bad_chain", ""), e.dlfRun("good_chain", "")
	e.clock.Advance(4999 * time.Millisecond)
	if got := nodeStatuses(t, e.dlfInstance("bad_chain", bad)); got != "running: A=success B=success C=success D=running" {
		t.Errorf("before failing: %s", got)
	}
	e.clock.Advance(time.Millisecond)
	r := e.dlfInstance("bad_chain", bad)
	if got := nodeStatuses(t, r); got != "fail: A=success B=success C=success D=fail" {
		t.Errorf("failed: %s", got)
	}
	d := r.body["nodes"].([]any)[3].(map[string]any)
	if d["failReason"] != "Table dw.orders not found" || num(t, d, "endTime") != t0.Add(5*time.Second).UnixMilli() {
		t.Errorf("failed node = %v", d)
	}
	e.clock.Advance(time.Hour)
	if got := nodeStatuses(t, e.dlfInstance("good_chain", good)); got != "success: A=success B=success C=success D=success" {
		t.Errorf("good: %s", got)
	}
	in := e.emu.DLFInstances()[0]
	if in.Status != "fail" || in.FailReason != "Table dw.orders not found" || in.Nodes[3].FailReason != "Table dw.orders not found" {
		t.Errorf("DLFInstance = %+v", in)
	}
}

func TestDLFStopAndRetryInstance(t *testing.T) {
	e := newDLFEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: "stuck", Hang: true})
	e.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: "flaky", FailMessage: "transient", FailFirst: 1})
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("stuck_job"))
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("flaky_job"))
	stuck, flaky := e.dlfRun("stuck_job", ""), e.dlfRun("flaky_job", "")
	path := func(job string, id int64, action string) string {
		return fmt.Sprintf("/v1/p1/jobs/%s/instances/%d/%s", job, id, action)
	}

	// A hanging instance runs its last node until stopped.
	e.clock.Advance(time.Hour)
	if got := nodeStatuses(t, e.dlfInstance("stuck_job", stuck)); got != "running: A=success B=success C=success D=running" {
		t.Errorf("hanging: %s", got)
	}
	wantDLFError(t, e.do("POST", path("stuck_job", stuck, "restart"), ""), "DLF.3051", "running and cannot be retried")
	e.dlfNoContent("POST", path("stuck_job", stuck, "stop"), "")
	stoppedAt := e.clock.Now()
	e.clock.Advance(time.Minute)
	r := e.dlfInstance("stuck_job", stuck)
	if got := nodeStatuses(t, r); got != "manual-stop: A=success B=success C=success D=manual-stop" {
		t.Errorf("stopped: %s", got)
	}
	if num(t, r.body, "endTime") != stoppedAt.UnixMilli() {
		t.Errorf("endTime = %v, want the stop time", r.body["endTime"])
	}
	wantDLFError(t, e.do("POST", path("stuck_job", stuck, "stop"), ""), "DLF.3051", "is manual-stop, not running")

	// Stopped while waiting: the nodes are skipped.
	waitID := e.dlfRun("flaky_job", "")
	e.dlfNoContent("POST", path("flaky_job", waitID, "stop"), "")
	if got := nodeStatuses(t, e.dlfInstance("flaky_job", waitID)); got != "manual-stop: A=skip B=skip C=skip D=skip" {
		t.Errorf("stopped while waiting: %s", got)
	}

	// FailFirst: the first run fails, its retry succeeds under the same ID.
	if got := nodeStatuses(t, e.dlfInstance("flaky_job", flaky)); got != "fail: A=success B=success C=success D=fail" {
		t.Errorf("flaky first run: %s", got)
	}
	e.dlfNoContent("POST", path("flaky_job", flaky, "restart"), "")
	retried := e.clock.Now()
	if got := nodeStatuses(t, e.dlfInstance("flaky_job", flaky)); got != "waiting: A=waiting B=waiting C=waiting D=waiting" {
		t.Errorf("just retried: %s", got)
	}
	e.clock.Advance(10 * time.Second)
	r = e.dlfInstance("flaky_job", flaky)
	if got := nodeStatuses(t, r); got != "success: A=success B=success C=success D=success" {
		t.Errorf("retry: %s", got)
	}
	if num(t, r.body, "startTime") != retried.UnixMilli() || num(t, r.body, "planTime") != t0.UnixMilli() ||
		num(t, r.body, "executeTime") != 10000 {
		t.Errorf("retried detail = %s", r.raw)
	}
	// A stopped instance can be retried too.
	e.dlfNoContent("POST", path("stuck_job", stuck, "restart"), "")

	counts := map[int64]string{}
	for _, in := range e.emu.DLFInstances() {
		counts[in.ID] = fmt.Sprintf("%s stops=%d restarts=%d", in.Status, in.Stops, in.Restarts)
	}
	for id, want := range map[int64]string{
		stuck: "waiting stops=1 restarts=1", flaky: "success stops=0 restarts=1", waitID: "manual-stop stops=1 restarts=0",
	} {
		if counts[id] != want {
			t.Errorf("instance %d: %s, want %s", id, counts[id], want)
		}
	}
}

func TestDLFInstanceErrors(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("job1"))
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("job2"))
	id := e.dlfRun("job1", "")
	for _, action := range []string{"", "/stop", "/restart"} {
		method := "POST"
		if action == "" {
			method = "GET"
		}
		wantDLFError(t, e.do(method, fmt.Sprintf("/v1/p1/jobs/job1/instances/%d%s", id+5, action), ""), "DLF.0137", "Job instance does not exist.")
		wantDLFError(t, e.do(method, fmt.Sprintf("/v1/p1/jobs/job2/instances/%d%s", id, action), ""), "DLF.0137", "Job instance does not exist.")
		wantDLFError(t, e.do(method, fmt.Sprintf("/v1/p1/jobs/nope/instances/%d%s", id, action), ""), "DLF.0100", "The job does not exists.")
		wantDLFError(t, e.do(method, "/v1/p1/jobs/job1/instances/abc"+action, ""), "DLF.3051", "not a number")
	}
	wantDLFError(t, e.do("POST", "/v1/p1/jobs/nope/run-immediate", ""), "DLF.0100", "The job does not exists.")
	wantDLFError(t, e.do("POST", "/v1/p1/jobs/job1/run-immediate", `{"jobParams":[{"name":"`+strings.Repeat("n", 65)+`","value":"v"}]}`), "DLF.3051", "jobParams")
	wantDLFError(t, e.do("POST", "/v1/p1/jobs/job1/run-immediate", `{"jobParams":[{"name":"n","value":"`+strings.Repeat("v", 1025)+`"}]}`), "DLF.3051", "1024")
	wantDLFError(t, e.do("POST", "/v1/p1/jobs/job1/run-immediate", `{"jobParams":{}}`), "DLF.3051", "The request parameter is invalid")
	if n := len(e.emu.DLFInstances()); n != 1 {
		t.Errorf("%d instances, want 1", n)
	}
	// An instance survives its job's deletion but is no longer reachable.
	e.dlfNoContent("DELETE", "/v1/p1/jobs/job1", "")
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("job1"))
	wantDLFError(t, e.do("GET", fmt.Sprintf("/v1/p1/jobs/job1/instances/%d", id), ""), "DLF.0137", "does not exist")
}

func TestDLFListInstances(t *testing.T) {
	e := newDLFEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: "bad", FailMessage: "x"})
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("job_batch"))
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("bad_batch"))
	var ids []int64
	for i := range 3 {
		ids = append(ids, e.dlfRun("job_batch", ""))
		if i == 0 {
			ids = append(ids, e.dlfRun("bad_batch", ""))
		}
		e.clock.Advance(time.Minute)
	}
	running := e.dlfRun("job_batch", "") // at t0+3m, still running
	e.clock.Advance(5 * time.Second)

	list := func(query string) string {
		t.Helper()
		r := e.dlfOK("GET", "/v1/p1/jobs/instances/detail?"+query, "")
		var got []string
		for _, in := range r.body["instances"].([]any) {
			in := in.(map[string]any)
			got = append(got, fmt.Sprintf("%d:%s", int64(in["instanceId"].(float64)), in["status"]))
		}
		return fmt.Sprintf("%d %v", num(t, r.body, "total"), got)
	}
	for q, want := range map[string]string{
		"":                  fmt.Sprintf("5 [%d:running %d:success %d:success %d:fail %d:success]", running, ids[3], ids[2], ids[1], ids[0]),
		"jobName=job_batch": fmt.Sprintf("4 [%d:running %d:success %d:success %d:success]", running, ids[3], ids[2], ids[0]),
		"jobName=job":       "0 []", // exact job name
		"status=fail":       fmt.Sprintf("1 [%d:fail]", ids[1]),
		"status=running":    fmt.Sprintf("1 [%d:running]", running),
		"limit=2&offset=1":  fmt.Sprintf("5 [%d:success %d:success]", ids[3], ids[2]),
		"minPlanTime=" + fmt.Sprint(t0.Add(time.Minute).UnixMilli()): fmt.Sprintf("3 [%d:running %d:success %d:success]", running, ids[3], ids[2]),
		"maxPlanTime=" + fmt.Sprint(t0.UnixMilli()):                  fmt.Sprintf("2 [%d:fail %d:success]", ids[1], ids[0]),
	} {
		if got := list(q); got != want {
			t.Errorf("?%s: %s, want %s", q, got, want)
		}
	}
	r := e.dlfOK("GET", "/v1/p1/jobs/instances/detail?status=running", "")
	in := r.body["instances"].([]any)[0].(map[string]any)
	planned := t0.Add(3 * time.Minute).UnixMilli()
	if in["jobName"] != "job_batch" || in["jobInstanceId"] != "job_batch" || in["jobInstanceName"] != "job_batch" ||
		num(t, in, "planTime") != planned || num(t, in, "startTime") != planned || num(t, in, "submitTime") != planned ||
		num(t, in, "executeTime") != 5000 || len(in) != 9 {
		t.Errorf("instance = %v", in)
	}
	r = e.dlfOK("GET", "/v1/p1/jobs/instances/detail?status=fail", "")
	if f := r.body["instances"].([]any)[0].(map[string]any); num(t, f, "endTime") != t0.Add(10*time.Second).UnixMilli() || num(t, f, "executeTime") != 10000 {
		t.Errorf("failed instance = %v", f)
	}
	if r := e.dlfOK("GET", "/v1/p1/jobs/instances/detail?limit=1000", ""); len(r.body["instances"].([]any)) != 5 {
		t.Errorf("limit=1000: %s", r.raw)
	}
	for _, q := range []string{"limit=0", "limit=1001", "offset=-1", "status=done", "minPlanTime=x", "maxPlanTime=-5"} {
		wantDLFError(t, e.do("GET", "/v1/p1/jobs/instances/detail?"+q, ""), "DLF.3051", "The request parameter is invalid.")
	}
}

func TestDLFSubmitErrors(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: "busy", SubmitErrors: 1, SubmitStatus: http.StatusTooManyRequests})
	r := e.do("POST", "/v1/p1/jobs", dlfChainJob("busy_job"))
	wantError(t, r, http.StatusTooManyRequests, "APIGW.0429", "Injected")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	if n := len(e.emu.DLFJobs()); n != 0 {
		t.Fatalf("a refused create made %d jobs", n)
	}
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("busy_job"))

	// The first run uses the plan made at creation; a rule added later
	// refuses the second run and creates no instance.
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("later_job"))
	e.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: "later", SubmitErrors: 2, SubmitStatus: http.StatusServiceUnavailable})
	first := e.dlfRun("later_job", "")
	wantError(t, e.do("POST", "/v1/p1/jobs/later_job/run-immediate", ""), http.StatusServiceUnavailable, "APIGW.0503", "Injected failure (HTTP 503)")
	e.clock.Advance(time.Minute)
	wantError(t, e.do("POST", fmt.Sprintf("/v1/p1/jobs/later_job/instances/%d/restart", first), ""), http.StatusServiceUnavailable, "APIGW.0503", "Injected")
	if ins := e.emu.DLFInstances(); len(ins) != 1 || ins[0].Restarts != 0 || ins[0].Status != "success" {
		t.Errorf("DLFInstances() = %+v", ins)
	}
	e.dlfRun("later_job", "")
	if j := e.emu.DLFJobs()[1]; j.Runs != 2 {
		t.Errorf("Runs = %d, want 2", j.Runs)
	}
}

func TestDLFConcurrent(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 4 {
				name := fmt.Sprintf("job_%d_%d", g, i)
				e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob(name))
				id := e.dlfRun(name, "")
				e.dlfInstance(name, id)
				e.dlfOK("GET", "/v1/p1/jobs/instances/detail?limit=1000", "")
				e.dlfOK("GET", "/v1/p1/jobs?limit=100", "")
				e.clock.Advance(100 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	ins := e.emu.DLFInstances()
	if len(ins) != 32 || len(e.emu.DLFJobs()) != 32 {
		t.Fatalf("%d instances, %d jobs; want 32 each", len(ins), len(e.emu.DLFJobs()))
	}
	seen := map[int64]bool{}
	for _, in := range ins {
		if seen[in.ID] || in.ID < 10001 || in.ID > 10032 {
			t.Errorf("instance ID %d duplicated or out of range", in.ID)
		}
		seen[in.ID] = true
	}
}
