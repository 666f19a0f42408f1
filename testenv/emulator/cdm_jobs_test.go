package emulator_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// A run goes BOOTING (first fifth), RUNNING, SUCCEEDED; progress and the
// row counts grow with the clock.
func TestCDMSubmissionLifecycle(t *testing.T) {
	e, _ := newCDMEnv(t, 10*time.Second)
	e.cdmSetup("j1")
	if s := e.cdmStatus("j1"); s["status"] != "NEVER_EXECUTED" || s["job-name"] != "j1" {
		t.Errorf("status before any start = %v", s)
	}
	e.clock.Advance(time.Second) // the run starts at t0+1s
	start := t0.Add(time.Second)
	sub := e.cdmStart("j1")
	if sub["status"] != "BOOTING" || sub["progress"] != 1.0 || sub["write_rows"] != 0.0 ||
		sub["creation-date"] != float64(start.UnixMilli()) || sub["execute-date"] != float64(start.UnixMilli()) {
		t.Errorf("start response = %v", sub)
	}
	id := sub["submission-id"].(float64)

	for _, step := range []struct {
		at         time.Duration // since the start
		status     string
		progress   float64
		rows       float64
		jobStatus  string
		lastUpdate time.Duration
	}{
		{0, "BOOTING", 1, 0, "BOOTING", 0},
		{1999 * time.Millisecond, "BOOTING", 1, 0, "BOOTING", 0},
		{2 * time.Second, "RUNNING", 20, 0, "RUNNING", 2 * time.Second},
		{6 * time.Second, "RUNNING", 60, 4000, "RUNNING", 2 * time.Second},
		{9999 * time.Millisecond, "RUNNING", 99, 7999, "RUNNING", 2 * time.Second},
		{10 * time.Second, "SUCCEEDED", 100, 8000, "SUCCEEDED", 10 * time.Second},
		{time.Hour, "SUCCEEDED", 100, 8000, "SUCCEEDED", 10 * time.Second},
	} {
		e.clock.Set(start.Add(step.at))
		s := e.cdmStatus("j1")
		if s["status"] != step.status || s["progress"] != step.progress || s["write_rows"] != step.rows ||
			s["submission-id"] != id || s["last-update-date"] != float64(start.Add(step.lastUpdate).UnixMilli()) {
			t.Errorf("at %v: status %v progress %v write_rows %v last-update %v; want %s %v %v %v", step.at,
				s["status"], s["progress"], s["write_rows"], s["last-update-date"], step.status, step.progress, step.rows,
				start.Add(step.lastUpdate).UnixMilli())
		}
		_, hasCounters := s["counters"]
		if hasCounters != (step.status == "SUCCEEDED") {
			t.Errorf("at %v: counters present = %v", step.at, hasCounters)
		}
		r := e.do("GET", cdmBase+"/cdm/job/j1", "")
		cdmWantOK(t, r, 200, "query job")
		job := cdmObj(t, cdmArr(t, r.body["jobs"])[0])
		if job["status"] != step.jobStatus || job["rows_read"] != step.rows || job["rows_written"] != step.rows ||
			job["write_rows"] != step.rows || job["bytes_written"] != step.rows*100 || job["bytes_read"] != -1.0 {
			t.Errorf("at %v: job = status %v rows_read %v bytes_written %v bytes_read %v", step.at, job["status"],
				job["rows_read"], job["bytes_written"], job["bytes_read"])
		}
	}

	// JDBC to OBS: bytes and files are counted on the OBS side only.
	s := e.cdmStatus("j1")
	counters := cdmObj(t, cdmObj(t, s["counters"])["org.apache.sqoop.submission.counter.SqoopCounters"])
	for k, want := range map[string]float64{
		"ROWS_READ": 8000, "ROWS_WRITTEN": 8000, "BYTES_WRITTEN": 800000, "FILES_WRITTEN": 1,
		"BYTES_READ": -1, "FILES_READ": -1, "TOTAL_FILES": -1, "TOTAL_SIZE": -1, "FILES_SKIPPED": -1, "ROWS_WRITTEN_SKIPPED": 0,
	} {
		if counters[k] != want {
			t.Errorf("counter %s = %v, want %v", k, counters[k], want)
		}
	}
	j, ok := e.emu.CDMJob("p1", emulator.CDMDefaultClusterID, "j1")
	if !ok || j.Status != "SUCCEEDED" || j.Starts != 1 || j.Stops != 0 || j.StatusCalls != 9 || len(j.Submissions) != 1 {
		t.Fatalf("CDMJob = %+v", j)
	}
	if sub := j.Submissions[0]; float64(sub.ID) != id || sub.Status != "SUCCEEDED" || sub.Progress != 100 || sub.RowsRead != 8000 ||
		!sub.StartedAt.Equal(start) || !sub.EndedAt.Equal(start.Add(10*time.Second)) || sub.ErrorSummary != "" {
		t.Errorf("submission = %+v", sub)
	}
	if j.FromLink != "src" || j.ToLink != "dst" || j.FromConfig["fromJobConfig.tableName"] != "t1" ||
		j.DriverConfig["retryJobConfig.retryJobType"] != "NONE" || j.JobType != "NORMAL_JOB" || !j.Created.Equal(t0) {
		t.Errorf("CDMJob definition = %+v", j)
	}
}

// Each start is a new submission; the history lists them newest first.
func TestCDMRestartAndHistory(t *testing.T) {
	e, _ := newCDMEnv(t, 10*time.Second)
	e.cdmSetup("j1")
	first := e.cdmStart("j1")["submission-id"]
	wantCDMError(t, e.do("PUT", cdmBase+"/cdm/job/j1/start", ""), http.StatusBadRequest, "Cdm.0052", "Job j1 is running.")
	e.clock.Advance(10 * time.Second)
	second := e.cdmStart("j1")["submission-id"]
	if second.(float64) <= first.(float64) {
		t.Errorf("second submission-id %v not after the first %v", second, first)
	}
	e.clock.Advance(10 * time.Second)
	e.cdmStart("j1")
	e.clock.Advance(3 * time.Second)
	r := e.do("GET", cdmBase+"/cdm/submissions?jname=j1", "")
	cdmWantOK(t, r, 200, "history")
	subs := cdmArr(t, r.body["submissions"])
	if r.body["total"] != 3.0 || len(subs) != 3 {
		t.Fatalf("history = %s", r.raw)
	}
	want := []string{"RUNNING", "SUCCEEDED", "SUCCEEDED"}
	for i, s := range subs {
		s := cdmObj(t, s)
		if s["status"] != want[i] {
			t.Errorf("history[%d] = %v, want %s", i, s["status"], want[i])
		}
	}
	if cdmObj(t, subs[2])["submission-id"] != first || cdmObj(t, subs[1])["submission-id"] != second {
		t.Errorf("history not newest first: %s", r.raw)
	}
	r = e.do("GET", cdmBase+"/cdm/submissions?jname=j1&page_no=2&page_size=2", "")
	cdmWantOK(t, r, 200, "history page 2")
	if subs := cdmArr(t, r.body["submissions"]); r.body["total"] != 3.0 || len(subs) != 1 || cdmObj(t, subs[0])["submission-id"] != first {
		t.Errorf("history page 2 = %s", r.raw)
	}
	if j, _ := e.emu.CDMJob("p1", emulator.CDMDefaultClusterID, "j1"); j.Starts != 3 || len(j.Submissions) != 3 {
		t.Errorf("CDMJob starts %d, submissions %d; want 3, 3", j.Starts, len(j.Submissions))
	}
}

// Stop makes the running submission STOPPED; the job reports FAILED.
func TestCDMStop(t *testing.T) {
	e, _ := newCDMEnv(t, 10*time.Second)
	e.cdmSetup("j1")
	wantCDMError(t, e.do("PUT", cdmBase+"/cdm/job/j1/stop", ""), http.StatusBadRequest, "Cdm.0053", "Job j1 is not running.")
	e.cdmStart("j1")
	e.clock.Advance(5 * time.Second)
	r := e.do("PUT", cdmBase+"/cdm/job/j1/stop", "")
	cdmWantOK(t, r, 200, "stop")
	sub := cdmObj(t, cdmArr(t, r.body["submissions"])[0])
	if sub["status"] != "STOPPED" || sub["progress"] != 50.0 || sub["job-name"] != "j1" ||
		sub["last-update-date"] != float64(t0.Add(5*time.Second).UnixMilli()) {
		t.Errorf("stop response = %v", sub)
	}
	e.clock.Advance(time.Hour)
	s := e.cdmStatus("j1")
	_, hasCounters := s["counters"]
	_, hasError := s["error-summary"]
	if s["status"] != "STOPPED" || s["progress"] != 50.0 || s["write_rows"] != 3000.0 || hasCounters || hasError {
		t.Errorf("status after stop = %v", s)
	}
	r = e.do("GET", cdmBase+"/cdm/job/j1", "")
	if job := cdmObj(t, cdmArr(t, r.body["jobs"])[0]); job["status"] != "FAILED" {
		t.Errorf("job status after stop = %v, want FAILED (the job enum has no STOPPED)", job["status"])
	}
	wantCDMError(t, e.do("PUT", cdmBase+"/cdm/job/j1/stop", ""), http.StatusBadRequest, "Cdm.0053", "not running")
	j, _ := e.emu.CDMJob("p1", emulator.CDMDefaultClusterID, "j1")
	if j.Stops != 1 || j.Status != "FAILED" || j.Submissions[0].Status != "STOPPED" ||
		!j.Submissions[0].EndedAt.Equal(t0.Add(5*time.Second)) {
		t.Errorf("CDMJob = %+v", j)
	}
	if s := e.cdmStart("j1"); s["status"] != "BOOTING" {
		t.Errorf("restart after stop = %v", s)
	}
}

// Rules decide each submission: failure with message and code, FailFirst,
// hang, and injected submit errors.
func TestCDMRules(t *testing.T) {
	e, _ := newCDMEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.DLI, Match: "bad", FailMessage: "not for CDM"})
	e.emu.AddRule(emulator.Rule{Service: emulator.CDM, Match: "bad", Duration: 3 * time.Second,
		FailMessage: "Data extraction exception. Cause: table t1 is gone.", FailCode: "Cdm.0233"})
	e.emu.AddRule(emulator.Rule{Service: emulator.CDM, Match: "flaky", FailMessage: "transient", FailFirst: 1})
	e.emu.AddRule(emulator.Rule{Service: emulator.CDM, Match: "stuck", Hang: true})
	e.emu.AddRule(emulator.Rule{Service: emulator.CDM, Match: "busy", SubmitErrors: 2, SubmitStatus: 429})
	e.emu.AddRule(emulator.Rule{Service: emulator.CDM, Match: "down", SubmitErrors: 1, SubmitStatus: 503})
	e.cdmSetup("bad_job", "flaky_job", "stuck_job", "busy_job", "down_job")

	e.cdmStart("bad_job")
	e.clock.Advance(2999 * time.Millisecond)
	if s := e.cdmStatus("bad_job"); s["status"] != "RUNNING" {
		t.Errorf("before failing: %v", s["status"])
	}
	e.clock.Advance(time.Millisecond)
	s := e.cdmStatus("bad_job")
	_, hasCounters := s["counters"]
	if s["status"] != "FAILED" || s["progress"] != -1.0 || hasCounters ||
		s["error-summary"] != "Cdm.0233: Data extraction exception. Cause: table t1 is gone." ||
		!strings.Contains(s["error-details"].(string), "table t1 is gone") {
		t.Errorf("failed status = %v", s)
	}
	j, _ := e.emu.CDMJob("p1", emulator.CDMDefaultClusterID, "bad_job")
	if j.Status != "FAILED" || j.Submissions[0].ErrorSummary != "Cdm.0233: Data extraction exception. Cause: table t1 is gone." ||
		!j.Submissions[0].EndedAt.Equal(t0.Add(3*time.Second)) || j.Submissions[0].Progress != -1 {
		t.Errorf("CDMJob = %+v", j)
	}

	e.cdmStart("flaky_job")
	e.clock.Advance(10 * time.Second)
	if s := e.cdmStatus("flaky_job"); s["status"] != "FAILED" || s["error-summary"] != "transient" {
		t.Errorf("first flaky run = %v", s)
	}
	e.cdmStart("flaky_job")
	e.clock.Advance(10 * time.Second)
	if s := e.cdmStatus("flaky_job"); s["status"] != "SUCCEEDED" {
		t.Errorf("second flaky run = %v", s["status"])
	}

	e.cdmStart("stuck_job")
	e.clock.Advance(time.Hour)
	if s := e.cdmStatus("stuck_job"); s["status"] != "RUNNING" || s["progress"] != 99.0 {
		t.Errorf("hung run after an hour = %v %v", s["status"], s["progress"])
	}
	cdmWantOK(t, e.do("PUT", cdmBase+"/cdm/job/stuck_job/stop", ""), 200, "stop hung job")

	for range 2 {
		r := e.do("PUT", cdmBase+"/cdm/job/busy_job/start", "")
		wantCDMError(t, r, http.StatusTooManyRequests, "Cdm.0037", "too many requests")
		if r.header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q, want 1", r.header.Get("Retry-After"))
		}
	}
	e.cdmStart("busy_job")
	wantCDMError(t, e.do("PUT", cdmBase+"/cdm/job/down_job/start", ""), http.StatusServiceUnavailable, "Cdm.0000", "injected HTTP 503")
	e.cdmStart("down_job")
	for name, starts := range map[string]int{"busy_job": 1, "down_job": 1, "flaky_job": 2} {
		if j, _ := e.emu.CDMJob("p1", emulator.CDMDefaultClusterID, name); j.Starts != starts || len(j.Submissions) != starts {
			t.Errorf("%s: starts %d, submissions %d; want %d", name, j.Starts, len(j.Submissions), starts)
		}
	}
}

// Create-and-execute honours SubmitErrors without creating anything and
// lands only on running clusters.
func TestCDMCreateAndExecute(t *testing.T) {
	e, _ := newCDMEnv(t, 10*time.Second)
	e.cdmSetup()
	r := e.do("POST", "/v1.1/p1/clusters", `{"cluster":{"name":"second"}}`)
	cdmWantOK(t, r, http.StatusAccepted, "create cluster")
	second := r.body["id"].(string)
	base2 := "/v1.1/p1/clusters/" + second
	cdmWantOK(t, e.do("POST", base2+"/cdm/link", cdmLinkBody("src", "generic-jdbc-connector")), 200, "link src")
	cdmWantOK(t, e.do("POST", base2+"/cdm/link", cdmLinkBody("dst", "obs-connector")), 200, "link dst")
	run := func(name string) response {
		t.Helper()
		job := strings.TrimSuffix(strings.TrimPrefix(cdmJobBody(name, "src", "dst"), `{"jobs":[`), `]}`)
		return e.do("POST", "/v1.1/p1/clusters/job",
			fmt.Sprintf(`{"jobs":[%s],"clusters":["%s","%s","unknown"]}`, job, emulator.CDMDefaultClusterID, second))
	}

	// The second cluster is still creating: every job lands on the default.
	for i := range 5 {
		cdmWantOK(t, run(fmt.Sprintf("early%d", i)), 200, "create and execute")
	}
	e.emu.AddRule(emulator.Rule{Service: emulator.CDM, Match: "rejected", SubmitErrors: 1, SubmitStatus: 500})
	wantCDMError(t, run("rejected"), http.StatusInternalServerError, "Cdm.0000", "injected")
	wantCDMError(t, run("early0"), http.StatusBadRequest, "Cdm.0104", "Job name already exist")

	e.clock.Advance(10 * time.Second) // the second cluster is up
	cdmWantOK(t, e.do("POST", "/v1.1/p1/clusters/"+emulator.CDMDefaultClusterID+"/action", `{"stop":{}}`), 200, "stop default")
	for i := range 5 {
		cdmWantOK(t, run(fmt.Sprintf("late%d", i)), 200, "create and execute")
	}
	for _, j := range e.emu.CDMJobs() {
		wantCluster := emulator.CDMDefaultClusterID
		if strings.HasPrefix(j.Name, "late") {
			wantCluster = second
		}
		if j.ClusterID != wantCluster || j.Starts != 1 || j.Name == "rejected" {
			t.Errorf("job %s in %s with %d starts, want in %s with 1", j.Name, j.ClusterID, j.Starts, wantCluster)
		}
	}
	if n := len(e.emu.CDMJobs()); n != 10 {
		t.Errorf("%d jobs, want 10", n)
	}
	cdmWantOK(t, e.do("POST", "/v1.1/p1/clusters/"+second+"/action", `{"stop":{}}`), 200, "stop second")
	wantCDMError(t, run("none"), http.StatusBadRequest, "Cdm.0056", "none of the clusters")
	wantCDMError(t, e.do("POST", "/v1.1/p1/clusters/job", cdmJobBody("x", "src", "dst")), http.StatusBadRequest, "Cdm.0014", "clusters")
}

func TestCDMJobErrors(t *testing.T) {
	e, _ := newCDMEnv(t, 10*time.Second)
	e.cdmSetup("j1")
	job := cdmJobBody("j2", "src", "dst")
	for _, tc := range []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"empty body", "", 400, "Cdm.0018", "empty"},
		{"invalid JSON", `{"jobs":[`, 400, "Cdm.0018", "invalid"},
		{"no jobs", `{"jobs":[]}`, 400, "Cdm.0018", "jobs is mandatory"},
		{"no name", strings.Replace(job, `"name":"j2",`, "", 1), 400, "Cdm.0018", "name must have 1 to 240 characters"},
		{"long name", strings.Replace(job, `"j2"`, `"`+strings.Repeat("x", 241)+`"`, 1), 400, "Cdm.0018", "1 to 240"},
		{"bad job_type", strings.Replace(job, "NORMAL_JOB", "ODD_JOB", 1), 400, "Cdm.0018", "job_type"},
		{"no to-link-name", strings.Replace(job, `"to-link-name":"dst",`, "", 1), 400, "Cdm.0018", "to-link-name is mandatory"},
		{"no driver config", strings.Replace(job, `"driver-config-values"`, `"x"`, 1), 400, "Cdm.0018", "driver-config-values is mandatory"},
		{"unqualified input", strings.Replace(job, `"fromJobConfig.tableName"`, `"tableName"`, 1), 400, "Cdm.0018", `must start with "fromJobConfig."`},
		{"inputs object", strings.Replace(job, `"inputs":[{"name":"toJobConfig.bucketName","value":"b"}]`, `"inputs":{"a":1}`, 1), 400, "Cdm.0018", "inputs must be an array"},
		{"duplicate in body", strings.Replace(`{"jobs":[J,J]}`, "J", job[9:len(job)-2], 2), 400, "Cdm.0104", "Job name already exist"},
		{"duplicate", cdmJobBody("j1", "src", "dst"), 400, "Cdm.0104", "Job name already exist or created by other."},
		{"unknown link", cdmJobBody("j2", "src", "nowhere"), 500, "Cdm.0101", "Link [nowhere] does not exist."},
		{"connector mismatch", cdmJobBody("j2", "dst", "src"), 400, "Cdm.0018", "from-connector-name generic-jdbc-connector does not match link dst"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCDMError(t, e.do("POST", cdmBase+"/cdm/job", tc.body), tc.status, tc.code, tc.msg)
		})
	}
	if jobs := e.emu.CDMJobs(); len(jobs) != 1 {
		t.Errorf("rejected creates left %d jobs, want 1", len(jobs))
	}

	missing := "Job[nope] doesn't exist."
	for _, tc := range []struct {
		method, path, body string
		status             int
		code, msg          string
	}{
		{"GET", "/cdm/job/nope", "", 500, "Cdm.0100", missing},
		{"DELETE", "/cdm/job/nope", "", 500, "Cdm.0100", missing},
		{"PUT", "/cdm/job/nope/start", "", 500, "Cdm.0100", missing},
		{"GET", "/cdm/job/nope/start", "", 500, "Cdm.0100", missing},
		{"PUT", "/cdm/job/nope/stop", "", 500, "Cdm.0100", missing},
		{"GET", "/cdm/job/nope/status", "", 500, "Cdm.0100", missing},
		{"GET", "/cdm/submissions?jname=nope", "", 500, "Cdm.0100", missing},
		{"PUT", "/cdm/job/nope", cdmJobBody("nope", "src", "dst"), 500, "Cdm.0319", "Failed to update the job nope that does not exist."},
		{"GET", "/cdm/submissions", "", 400, "Cdm.0014", "jname is mandatory"},
		{"GET", "/cdm/submissions?jname=j1&page_size=0", "", 400, "Cdm.0024", "[page_size]"},
		{"GET", "/cdm/job/all?page_size=5", "", 400, "Cdm.0024", "[page_size] must be within the range of [10, 100]."},
		{"GET", "/cdm/job/all?page_no=0", "", 400, "Cdm.0024", "[page_no]"},
		{"GET", "/cdm/job/all?jobType=ODD", "", 400, "Cdm.0014", "jobType"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			wantCDMError(t, e.do(tc.method, cdmBase+tc.path, tc.body), tc.status, tc.code, tc.msg)
		})
	}
	for _, path := range []string{"/cdm/job/j1", "/cdm/job/j1/status", "/cdm/link/src"} {
		wantCDMError(t, e.do("GET", "/v1.1/p1/clusters/nocluster"+path, ""), http.StatusNotFound, "Cdm.0001", "nocluster")
	}

	// A running job can be neither modified nor deleted.
	e.cdmStart("j1")
	wantCDMError(t, e.do("DELETE", cdmBase+"/cdm/job/j1", ""), 400, "Cdm.0052", "Job j1 is running.")
	wantCDMError(t, e.do("PUT", cdmBase+"/cdm/job/j1", cdmJobBody("j1", "src", "dst")), 400, "Cdm.0052", "Job j1 is running.")
	// Nor can a link a job uses be deleted.
	wantCDMError(t, e.do("DELETE", cdmBase+"/cdm/link/src", ""), 500, "Cdm.0021", "Given link name is in use")
}

func TestCDMQueryAll(t *testing.T) {
	e, _ := newCDMEnv(t, time.Second)
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("Daily_%02d", i))
	}
	e.cdmSetup(append(names, "other")...)
	batch := strings.Replace(cdmJobBody("whole_db", "src", "dst"), "NORMAL_JOB", "BATCH_JOB", 1)
	cdmWantOK(t, e.do("POST", cdmBase+"/cdm/job", batch), 200, "create batch job")

	r := e.do("GET", cdmBase+"/cdm/job/all?filter=daily&page_no=2&page_size=10", "")
	var page []string
	for _, j := range cdmArr(t, r.body["jobs"]) {
		page = append(page, cdmObj(t, j)["name"].(string))
	}
	if got := strings.Join(page, ","); got != "Daily_10,Daily_11" || r.body["total"] != 12.0 || r.body["page_no"] != 2.0 {
		t.Errorf("page 2 of daily = %s, total %v, page_no %v", got, r.body["total"], r.body["page_no"])
	}
	r = e.do("GET", cdmBase+"/cdm/job/all", "")
	if r.body["total"] != 13.0 || len(cdmArr(t, r.body["jobs"])) != 10 || r.body["page_size"] != 10.0 {
		t.Errorf("all NORMAL_JOB: total %v, %d jobs", r.body["total"], len(cdmArr(t, r.body["jobs"])))
	}
	r = e.do("GET", cdmBase+"/cdm/job/all?jobType=BATCH_JOB", "")
	if jobs := cdmArr(t, r.body["jobs"]); r.body["total"] != 1.0 || cdmObj(t, jobs[0])["name"] != "whole_db" {
		t.Errorf("BATCH_JOB = %s", r.raw)
	}
	r = e.do("GET", cdmBase+"/cdm/job/all?filter=nothing", "")
	if r.body["total"] != 0.0 || len(cdmArr(t, r.body["jobs"])) != 0 {
		t.Errorf("no match = %s", r.raw)
	}
}

// Modify replaces the definition and may rename; delete removes the job
// and frees its links.
func TestCDMModifyAndDelete(t *testing.T) {
	e, _ := newCDMEnv(t, time.Second)
	e.cdmSetup("j1", "j2")
	e.cdmStart("j1")
	e.clock.Advance(time.Second)

	body := strings.Replace(cdmJobBody("renamed", "src", "dst"), `"value":"t1"`, `"value":"t2"`, 1)
	cdmWantOK(t, e.do("PUT", cdmBase+"/cdm/job/j1", body), 200, "modify")
	wantCDMError(t, e.do("GET", cdmBase+"/cdm/job/j1", ""), 500, "Cdm.0100", "Job[j1] doesn't exist.")
	j, ok := e.emu.CDMJob("p1", emulator.CDMDefaultClusterID, "renamed")
	if !ok || j.FromConfig["fromJobConfig.tableName"] != "t2" || len(j.Submissions) != 1 ||
		!j.Created.Equal(t0) || !j.Updated.Equal(t0.Add(time.Second)) {
		t.Errorf("renamed job = %+v, %v", j, ok)
	}
	wantCDMError(t, e.do("PUT", cdmBase+"/cdm/job/renamed", cdmJobBody("j2", "src", "dst")), 400, "Cdm.0104", "already exist")
	wantCDMError(t, e.do("PUT", cdmBase+"/cdm/job/j2", `{"jobs":[]}`), 400, "Cdm.0018", "jobs is mandatory")

	for _, name := range []string{"renamed", "j2"} {
		r := e.do("DELETE", cdmBase+"/cdm/job/"+name, "")
		if r.status != 200 || r.raw != "" {
			t.Errorf("delete %s: %d %q, want 200 and no body", name, r.status, r.raw)
		}
	}
	if n := len(e.emu.CDMJobs()); n != 0 {
		t.Errorf("%d jobs left", n)
	}
	if r := e.do("DELETE", cdmBase+"/cdm/link/src", ""); r.status != 200 {
		t.Errorf("delete unused link: %d %s", r.status, r.raw)
	}
}

// Stopping or restarting a cluster fails its running jobs; a stopped
// cluster runs none; deleting it drops its jobs and links.
func TestCDMClusterEffectsOnJobs(t *testing.T) {
	e, _ := newCDMEnv(t, 10*time.Second)
	e.cdmSetup("j1", "j2")
	action := cdmBase + "/action"
	e.cdmStart("j1")
	e.clock.Advance(5 * time.Second)
	cdmWantOK(t, e.do("POST", action, `{"restart":{"restartMode":"IMMEDIATELY","restartLevel":"SERVICE","instance":"","group":""}}`), 200, "restart")
	if s := e.cdmStatus("j1"); s["status"] != "FAILED" || s["error-summary"] != "The cluster cdm-emulated was restarted." {
		t.Errorf("after restart: %v", s)
	}
	wantCDMError(t, e.do("PUT", cdmBase+"/cdm/job/j2/start", ""), 400, "Cdm.0056", "restarting")
	e.clock.Advance(10 * time.Second)

	e.cdmStart("j2")
	cdmWantOK(t, e.do("POST", action, `{"stop":{"stopMode":"IMMEDIATELY"}}`), 200, "stop")
	if s := e.cdmStatus("j2"); s["status"] != "FAILED" || s["error-summary"] != "The cluster cdm-emulated was stopped." {
		t.Errorf("after stop: %v", s)
	}
	e.clock.Advance(10 * time.Second)
	wantCDMError(t, e.do("PUT", cdmBase+"/cdm/job/j1/start", ""), 400, "Cdm.0056", "Stopped (900)")

	cdmWantOK(t, e.do("DELETE", cdmBase, `{"keep_last_manual_backup":0}`), http.StatusAccepted, "delete cluster")
	if jobs, links := e.emu.CDMJobs(), e.emu.CDMLinks(); len(jobs) != 0 || len(links) != 0 {
		t.Errorf("after deleting the cluster: %d jobs, %d links", len(jobs), len(links))
	}
	// The default cluster does not come back.
	r := e.do("GET", "/v1.1/p1/clusters", "")
	if len(cdmArr(t, r.body["clusters"])) != 0 {
		t.Errorf("clusters after deleting the default = %s", r.raw)
	}
}

// A job whose link is disabled cannot start.
func TestCDMDisabledLink(t *testing.T) {
	e, _ := newCDMEnv(t, time.Second)
	e.cdmSetup("j1")
	disabled := strings.Replace(cdmLinkBody("dst", "obs-connector"), `"connector-name"`, `"enabled":false,"connector-name"`, 1)
	cdmWantOK(t, e.do("PUT", cdmBase+"/cdm/link/dst", disabled), 200, "disable link")
	wantCDMError(t, e.do("PUT", cdmBase+"/cdm/job/j1/start", ""), 400, "Cdm.0060",
		"Link dst for this job has been disabled. The job cannot be submitted.")
}

// Several clients create, start and poll jobs at once (run with -race).
func TestCDMConcurrency(t *testing.T) {
	e, _ := newCDMEnv(t, 10*time.Second)
	e.cdmSetup()
	const workers, polls = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*polls)
	for w := range workers {
		wg.Go(func() {
			name := fmt.Sprintf("job%d", w)
			if r := e.do("POST", cdmBase+"/cdm/job", cdmJobBody(name, "src", "dst")); r.status != 200 {
				errs <- fmt.Errorf("create %s: %d %s", name, r.status, r.raw)
				return
			}
			if r := e.do("PUT", cdmBase+"/cdm/job/"+name+"/start", ""); r.status != 200 {
				errs <- fmt.Errorf("start %s: %d %s", name, r.status, r.raw)
				return
			}
			for range polls {
				r := e.do("GET", cdmBase+"/cdm/job/"+name+"/status", "")
				if s, _ := r.body["submissions"].([]any); r.status != 200 || len(s) != 1 {
					errs <- fmt.Errorf("status %s: %d %s", name, r.status, r.raw)
				}
				e.emu.CDMJobs()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	e.clock.Advance(10 * time.Second)
	jobs := e.emu.CDMJobs()
	ids := map[int64]bool{}
	for _, j := range jobs {
		if j.Status != "SUCCEEDED" || j.StatusCalls != polls || len(j.Submissions) != 1 {
			t.Errorf("job %s: %s, %d status calls, %d submissions", j.Name, j.Status, j.StatusCalls, len(j.Submissions))
			continue
		}
		ids[j.Submissions[0].ID] = true
	}
	if len(jobs) != workers || len(ids) != workers {
		t.Errorf("%d jobs with %d distinct submission IDs, want %d", len(jobs), len(ids), workers)
	}
}

// The state file keeps CDM's clusters, links, jobs and runs.
func TestCDMStateFile(t *testing.T) {
	clock := &fakeClock{t: t0}
	opts := testOptions(clock, 10*time.Second)
	opts.StateFile = t.TempDir() + "/state.json"
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu.Handler(emulator.CDM))
	t.Cleanup(srv.Close)
	e := &env{t: t, emu: emu, srv: srv, clock: clock}
	e.cdmSetup("j1", "j2")
	e.cdmStart("j1")
	clock.Advance(4 * time.Second)
	if err := emu.Save(); err != nil {
		t.Fatal(err)
	}

	restored, err := emulator.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := restored.CDMJobs(), emu.CDMJobs(); !reflect.DeepEqual(got, want) || len(got) != 2 || got[0].Status != "RUNNING" {
		t.Errorf("restored jobs = %+v\nwant %+v", got, want)
	}
	if got, want := restored.CDMLinks(), emu.CDMLinks(); !reflect.DeepEqual(got, want) || len(got) != 2 {
		t.Errorf("restored links = %+v\nwant %+v", got, want)
	}
	if got, want := restored.CDMClusters(), emu.CDMClusters(); !reflect.DeepEqual(got, want) || len(got) != 1 {
		t.Errorf("restored clusters = %+v\nwant %+v", got, want)
	}
}
