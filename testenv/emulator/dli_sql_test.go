package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSubmitResponse(t *testing.T) {
	e := newEnv(t, time.Second)
	for _, tc := range []struct {
		sql, jobType string
	}{
		{"select * from tb1 limit 10", "QUERY"},
		{"  SELECT 1", "QUERY"},
		{"insert into t select * from s", "INSERT"},
		{"-- load\n/* daily */ INSERT OVERWRITE TABLE t SELECT 1", "INSERT"},
		{"(select 1) union (select 2)", "QUERY"},
		{"create table t (a int)", "DDL"},
		{"DROP TABLE t", "DDL"},
		{"alter table t add columns (b int)", "DDL"},
		{"show tables", "QUERY"},
		{"with x as (select 1) select * from x", "QUERY"},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			r := e.do("POST", "/v1.0/p1/jobs/submit-job", `{"sql":`+quote(tc.sql)+`}`)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if r.body["is_success"] != true || r.body["message"] != "" || r.body["job_mode"] != "async" {
				t.Errorf("envelope = %s, want is_success true, message \"\", job_mode async", r.raw)
			}
			if r.body["job_type"] != tc.jobType {
				t.Errorf("job_type = %v, want %s", r.body["job_type"], tc.jobType)
			}
			id, _ := r.body["job_id"].(string)
			if !uuidRE.MatchString(id) {
				t.Errorf("job_id = %q, want a UUID", id)
			}
			if j, ok := e.emu.DLIJob(id); !ok || j.SQL != tc.sql || j.JobType != tc.jobType {
				t.Errorf("DLIJob(%s) = %+v, %v", id, j, ok)
			}
		})
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestSubmitValidation(t *testing.T) {
	e := newEnv(t, time.Second)
	for _, tc := range []struct {
		name, body, msg string
	}{
		{"empty body", "", "empty"},
		{"invalid JSON", `{"sql": "select 1"`, "invalid request body"},
		{"wrong type", `{"sql": 42}`, "invalid request body"},
		{"conf not an array", `{"sql":"select 1","conf":{"a":"b"}}`, "invalid request body"},
		{"missing sql", `{"currentdb":"db1"}`, "sql is mandatory"},
		{"blank sql", `{"sql":"  \n "}`, "sql is mandatory"},
		{"queue only digits", `{"sql":"select 1","queue_name":"123"}`, "queue_name"},
		{"queue starts with _", `{"sql":"select 1","queue_name":"_q"}`, "queue_name"},
		{"queue with dash", `{"sql":"select 1","queue_name":"q-1"}`, "queue_name"},
		{"conf not key=value", `{"sql":"select 1","conf":["spark.sql.shuffle.partitions"]}`, "conf"},
		{"tag without key", `{"sql":"select 1","tags":[{"key":"","value":"v"}]}`, "tag key"},
		{"duplicate tag", `{"sql":"select 1","tags":[{"key":"k","value":"1"},{"key":"k","value":"2"}]}`, "duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/v1.0/p1/jobs/submit-job", tc.body)
			wantError(t, r, http.StatusBadRequest, "DLI.0001", tc.msg)
		})
	}
	if n := len(e.emu.DLIJobs()); n != 0 {
		t.Errorf("rejected submits created %d jobs", n)
	}

	// Unknown fields are ignored and the documented sample is accepted.
	id := e.submit(`{"currentdb":"db1","sql":"desc table1","queue_name":"queue_1","conf":["dli.sql.shuffle.partitions = 200"],` +
		`"tags":[{"key":"workspace","value":"space1"}],"extra":true}`)
	j, _ := e.emu.DLIJob(id)
	if j.Queue != "queue_1" || j.CurrentDB != "db1" || !slices.Equal(j.Conf, []string{"dli.sql.shuffle.partitions = 200"}) ||
		j.Tags["workspace"] != "space1" || j.ProjectID != "p1" {
		t.Errorf("stored job = %+v", j)
	}
}

func TestStatusProgression(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	id := e.submit(`{"sql":"select * from t1","currentdb":"db1","tags":[{"key":"k","value":"v"}]}`)

	for i, step := range []struct {
		at       time.Duration // since submit
		status   string
		duration int64
	}{
		{0, "LAUNCHING", 0},
		{1999 * time.Millisecond, "LAUNCHING", 1999},
		{2 * time.Second, "RUNNING", 2000},
		{9999 * time.Millisecond, "RUNNING", 9999},
		{10 * time.Second, "FINISHED", 10000},
		{time.Hour, "FINISHED", 10000},
	} {
		e.clock.Set(t0.Add(step.at))
		r := e.status(id)
		if r.status != http.StatusOK {
			t.Fatalf("at %v: status %d: %s", step.at, r.status, r.raw)
		}
		if r.body["status"] != step.status {
			t.Errorf("at %v: status = %v, want %s", step.at, r.body["status"], step.status)
		}
		if got := num(t, r.body, "duration"); got != step.duration {
			t.Errorf("at %v: duration = %d, want %d", step.at, got, step.duration)
		}
		j, _ := e.emu.DLIJob(id)
		if j.Status != step.status || j.StatusCalls != i+1 {
			t.Errorf("at %v: DLIJob status %s, StatusCalls %d; want %s, %d", step.at, j.Status, j.StatusCalls, step.status, i+1)
		}
	}

	r := e.status(id)
	b := r.body
	for k, want := range map[string]any{
		"is_success": true, "message": "", "job_id": id, "job_type": "QUERY", "job_mode": "async",
		"queue_name": "default", "owner": "emulator", "database_name": "db1", "statement": "select * from t1",
		"input_row_count": 0.0, "bad_row_count": 0.0, "input_size": 0.0, "result_count": 0.0, "table_name": "",
	} {
		if b[k] != want {
			t.Errorf("%s = %#v, want %#v", k, b[k], want)
		}
	}
	if got := num(t, b, "start_time"); got != t0.UnixMilli() {
		t.Errorf("start_time = %d, want %d", got, t0.UnixMilli())
	}
	if d, _ := b["detail"].(string); d == "" {
		t.Error("detail is empty, want a JSON string")
	}
	if tags := tagsOf(t, b["tags"]); len(tags) != 1 || tags["k"] != "v" {
		t.Errorf("tags = %v", tags)
	}
	j, _ := e.emu.DLIJob(id)
	if !j.SubmittedAt.Equal(t0) || !j.EndedAt.Equal(t0.Add(10*time.Second)) || j.Message != "" {
		t.Errorf("DLIJob = %+v, want submitted at t0, ended 10s later, no message", j)
	}
}

func TestDefaultJobDuration(t *testing.T) {
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now, AcceptAnyToken: true})
	srv := httptest.NewServer(iamAndDLI(emu))
	t.Cleanup(srv.Close)
	e := &env{t: t, emu: emu, srv: srv, clock: clock}
	id := e.submit(`{"sql":"select 1"}`)
	clock.Advance(999 * time.Millisecond)
	if s := e.status(id).body["status"]; s != "RUNNING" {
		t.Errorf("status at 999ms = %v, want RUNNING", s)
	}
	clock.Advance(time.Millisecond)
	if s := e.status(id).body["status"]; s != "FINISHED" {
		t.Errorf("status at 1s = %v, want FINISHED", s)
	}
}

func TestFailingRule(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Match: "bad_table", Duration: 3 * time.Second, FailMessage: "Table or view not found: bad_table"})
	e.emu.AddRule(emulator.Rule{Match: "select", Duration: time.Minute}) // shadowed for bad_table by the first rule
	bad := e.submit(`{"sql":"select * from bad_table"}`)
	good := e.submit(`{"sql":"insert into t values (1)"}`)

	e.clock.Advance(2 * time.Second)
	if r := e.status(bad); r.body["status"] != "RUNNING" || r.body["message"] != "" {
		t.Errorf("before failing: %s", r.raw)
	}
	e.clock.Advance(time.Second)
	r := e.status(bad)
	if r.status != http.StatusOK || r.body["is_success"] != true {
		t.Fatalf("status call of a failed job must succeed: %d %s", r.status, r.raw)
	}
	if r.body["status"] != "FAILED" || r.body["message"] != "Table or view not found: bad_table" {
		t.Errorf("status = %v, message = %v; want FAILED with the rule's message", r.body["status"], r.body["message"])
	}
	if got := num(t, r.body, "duration"); got != 3000 {
		t.Errorf("duration = %d, want 3000", got)
	}
	if j, _ := e.emu.DLIJob(bad); j.Status != "FAILED" || j.Message != "Table or view not found: bad_table" ||
		!j.EndedAt.Equal(t0.Add(3*time.Second)) {
		t.Errorf("DLIJob = %+v", j)
	}

	// The non-matching job keeps the default duration and succeeds.
	if s := e.status(good).body["status"]; s != "RUNNING" {
		t.Errorf("other job at 3s = %v, want RUNNING", s)
	}
	e.clock.Advance(7 * time.Second)
	if r := e.status(good); r.body["status"] != "FINISHED" || r.body["message"] != "" {
		t.Errorf("other job at 10s: %s", r.raw)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	launching := e.submit(`{"sql":"select 1"}`)
	e.clock.Advance(5 * time.Second)
	running := e.submit(`{"sql":"select 2"}`) // LAUNCHING, but first job RUNNING
	e.clock.Advance(3 * time.Second)          // first RUNNING at 8s, second RUNNING at 3s

	r := e.do("DELETE", "/v1.0/p1/jobs/"+running, "")
	if r.status != http.StatusOK || r.body["is_success"] != true || r.body["message"] != "" || len(r.body) != 2 {
		t.Fatalf("cancel running job: %d %s", r.status, r.raw)
	}
	e.clock.Advance(time.Hour)
	st := e.status(running)
	if st.body["status"] != "CANCELLED" || num(t, st.body, "duration") != 3000 {
		t.Errorf("after cancel: %s, want CANCELLED after 3000ms", st.raw)
	}
	if j, _ := e.emu.DLIJob(running); j.Status != "CANCELLED" || !j.EndedAt.Equal(t0.Add(8*time.Second)) {
		t.Errorf("DLIJob = %+v", j)
	}

	for _, tc := range []struct {
		name, id, code, msg string
	}{
		{"already cancelled", running, "DLI.0007", "is CANCELLED and cannot be cancelled"},
		{"finished", launching, "DLI.0007", "is FINISHED and cannot be cancelled"},
		{"unknown", "00000000-0000-4000-8000-000000000000", "DLI.0002", "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("DELETE", "/v1.0/p1/jobs/"+tc.id, ""), http.StatusBadRequest, tc.code, tc.msg)
		})
	}

	e.emu.AddRule(emulator.Rule{Match: "broken", FailMessage: "boom"})
	failed := e.submit(`{"sql":"select broken"}`)
	e.clock.Advance(10 * time.Second)
	wantError(t, e.do("DELETE", "/v1.0/p1/jobs/"+failed, ""), http.StatusBadRequest, "DLI.0007", "is FAILED")

	fresh := e.submit(`{"sql":"select 3"}`)
	if r := e.do("DELETE", "/v1.0/p1/jobs/"+fresh, ""); r.status != http.StatusOK {
		t.Errorf("cancel LAUNCHING job: %d %s", r.status, r.raw)
	}
	if s := e.status(fresh).body["status"]; s != "CANCELLED" {
		t.Errorf("LAUNCHING job after cancel = %v", s)
	}
}

func TestListByTags(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	a := e.submit(`{"sql":"insert into t select 1","tags":[{"key":"pipectl-idempotency","value":"run1/load"},{"key":"ws","value":"x"}]}`)
	b := e.submit(`{"sql":"insert into t select 2","tags":[{"key":"pipectl-idempotency","value":"run1/load2"},{"key":"ws","value":"x"}]}`)
	e.submit(`{"sql":"insert into t select 3"}`)
	// Same tags in another project must not show up.
	e.do("POST", "/v1.0/p2/jobs/submit-job", `{"sql":"select 1","tags":[{"key":"pipectl-idempotency","value":"run1/load"}]}`)

	for _, tc := range []struct {
		name, tags string
		want       []string // newest first
	}{
		{"one tag, exact value", "pipectl-idempotency=run1/load", []string{a}},
		{"value prefix does not match", "pipectl-idempotency=run1/loa", nil},
		{"shared tag", "ws=x", []string{b, a}},
		{"all tags must match", "pipectl-idempotency=run1/load2,ws=x", []string{b}},
		{"one tag differs", "pipectl-idempotency=run1/load,ws=y", nil},
		{"unknown key", "nope=x", nil},
		{"key is case-sensitive", "WS=x", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// url.Values encodes = and , as %3D and %2C, the documented form.
			r := e.do("GET", "/v1.0/p1/jobs?"+url.Values{"tags": {tc.tags}}.Encode(), "")
			if r.status != http.StatusOK || r.body["is_success"] != true {
				t.Fatalf("list: %d %s", r.status, r.raw)
			}
			if got := num(t, r.body, "job_count"); got != int64(len(tc.want)) {
				t.Errorf("job_count = %d, want %d", got, len(tc.want))
			}
			if got := listedIDs(r); !slices.Equal(got, tc.want) {
				t.Errorf("jobs = %v, want %v", got, tc.want)
			}
		})
	}

	r := e.do("GET", "/v1.0/p1/jobs?tags=pipectl-idempotency%3Drun1%2Fload", "")
	jobs := r.body["jobs"].([]any)
	if len(jobs) != 1 {
		t.Fatalf("jobs = %s", r.raw)
	}
	j := jobs[0].(map[string]any)
	if tags := tagsOf(t, j["tags"]); len(tags) != 2 || tags["pipectl-idempotency"] != "run1/load" || tags["ws"] != "x" {
		t.Errorf("listed tags = %v", tags)
	}
	for k, want := range map[string]any{
		"job_id": a, "job_type": "INSERT", "queue_name": "default", "owner": "emulator", "status": "LAUNCHING",
		"statement": "insert into t select 1", "message": "", "input_size": 0.0, "result_count": 0.0,
	} {
		if j[k] != want {
			t.Errorf("%s = %#v, want %#v", k, j[k], want)
		}
	}
	if _, ok := j["end_time"]; ok {
		t.Error("a running job has end_time")
	}

	wantError(t, e.do("GET", "/v1.0/p1/jobs?tags=novalue", ""), http.StatusBadRequest, "DLI.0001", "tags")
}

func listedIDs(r response) []string {
	var ids []string
	for _, j := range r.body["jobs"].([]any) {
		ids = append(ids, j.(map[string]any)["job_id"].(string))
	}
	return ids
}

func TestListFiltersPagingOrder(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Match: "fail", FailMessage: "bad"})
	e.emu.AddRule(emulator.Rule{Match: "long", Duration: time.Hour})
	q1 := e.submit(`{"sql":"select 1","queue_name":"q1"}`) // finishes at 10s
	e.clock.Advance(time.Second)
	f := e.submit(`{"sql":"select fail"}`) // fails at 11s
	e.clock.Advance(time.Second)
	l := e.submit(`{"sql":"insert into t select long"}`) // runs for an hour
	e.clock.Advance(time.Second)
	d := e.submit(`{"sql":"create table x (a int)","queue_name":"q1"}`) // finishes at 13s
	e.clock.Advance(30 * time.Second)                                   // now t0+33s

	for _, tc := range []struct {
		query string
		want  []string
		count int
	}{
		{"", []string{d, l, f, q1}, 4},
		{"order=start_time_asc", []string{q1, f, l, d}, 4},
		{"order=duration_desc", []string{l, q1, f, d}, 4},
		{"order=duration_asc", []string{q1, f, d, l}, 4},
		{"job-status=FINISHED", []string{d, q1}, 2},
		{"job-status=FAILED", []string{f}, 1},
		{"job-status=LAUNCHING", []string{l}, 1}, // 20% of an hour
		{"job-status=RUNNING", nil, 0},
		{"job-type=DDL", []string{d}, 1},
		{"job-type=ALL", []string{d, l, f, q1}, 4},
		{"job-type=QUERY&queue_name=q1", []string{q1}, 1},
		{"job-id=" + f, []string{f}, 1},
		{"sql_pattern=SELECT%20LONG", []string{l}, 1},
		{"start=" + ms(t0.Add(time.Second)) + "&end=" + ms(t0.Add(2*time.Second)), []string{l, f}, 2},
		{"page-size=3", []string{d, l, f}, 4},
		{"page-size=3&current-page=2", []string{q1}, 4},
		{"page-size=3&current-page=3", nil, 4},
		{"page-size=100&order=start_time_asc", []string{q1, f, l, d}, 4},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := e.do("GET", "/v1.0/p1/jobs?"+tc.query, "")
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			if got := listedIDs(r); !slices.Equal(got, tc.want) {
				t.Errorf("jobs = %v, want %v", got, tc.want)
			}
			if got := num(t, r.body, "job_count"); got != int64(tc.count) {
				t.Errorf("job_count = %d, want %d", got, tc.count)
			}
		})
	}

	r := e.do("GET", "/v1.0/p1/jobs?job-status=FAILED", "")
	j := r.body["jobs"].([]any)[0].(map[string]any)
	if j["message"] != "bad" || num(t, j, "end_time") != t0.Add(11*time.Second).UnixMilli() ||
		num(t, j, "start_time") != t0.Add(time.Second).UnixMilli() || num(t, j, "duration") != 10000 {
		t.Errorf("failed job entry = %v", j)
	}

	for _, q := range []string{"page-size=0", "page-size=101", "page-size=x", "current-page=0", "order=name", "start=-1"} {
		t.Run("invalid "+q, func(t *testing.T) {
			wantError(t, e.do("GET", "/v1.0/p1/jobs?"+q, ""), http.StatusBadRequest, "DLI.0001", "")
		})
	}
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func TestSubmitErrorsRule(t *testing.T) {
	e := newEnv(t, time.Second)
	e.emu.AddRule(emulator.Rule{Match: "flaky", SubmitErrors: 2}) // status defaults to 500
	e.emu.AddRule(emulator.Rule{Match: "busy", SubmitErrors: 1, SubmitStatus: http.StatusTooManyRequests})

	for i := range 2 {
		r := e.do("POST", "/v1.0/p1/jobs/submit-job", `{"sql":"select flaky"}`)
		wantError(t, r, http.StatusInternalServerError, "DLI.0999", "Server-side errors occur")
		if r.header.Get("Retry-After") != "" {
			t.Errorf("attempt %d: Retry-After on a 500", i)
		}
	}
	if n := len(e.emu.DLIJobs()); n != 0 {
		t.Fatalf("failed submits created %d jobs", n)
	}
	other := e.submit(`{"sql":"select 1"}`) // not matching: unaffected
	id := e.submit(`{"sql":"select flaky"}`)

	r := e.do("POST", "/v1.0/p1/jobs/submit-job", `{"sql":"select busy"}`)
	wantError(t, r, http.StatusTooManyRequests, "DLI.0009", "too many requests")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	busy := e.submit(`{"sql":"select busy"}`)

	var got []string
	for _, j := range e.emu.DLIJobs() {
		got = append(got, j.ID)
	}
	if want := []string{other, id, busy}; !slices.Equal(got, want) {
		t.Errorf("DLIJobs = %v, want %v", got, want)
	}
	if n := e.emu.Calls()["dli POST /v1.0/{project_id}/jobs/submit-job"]; n != 6 {
		t.Errorf("submit calls = %d, want 6", n)
	}
}

func TestUnknownJob(t *testing.T) {
	e := newEnv(t, time.Second)
	id := e.submit(`{"sql":"select 1"}`)
	for _, path := range []string{
		"/v1.0/p1/jobs/nope/status",
		"/v1.0/p1/jobs/nope/detail",
		"/v1.0/p2/jobs/" + id + "/status", // right ID, other project
		"/v1.0/p2/jobs/" + id + "/detail",
	} {
		t.Run(path, func(t *testing.T) {
			r := e.do("GET", path, "")
			wantError(t, r, http.StatusBadRequest, "DLI.0002", "does not exist")
		})
	}
	wantError(t, e.do("GET", "/v1.0/p1/jobs/nope/status", ""), http.StatusBadRequest, "DLI.0002",
		"The job with id nope does not exist.")
	if _, ok := e.emu.DLIJob("nope"); ok {
		t.Error("DLIJob(nope) found a job")
	}
	if j, _ := e.emu.DLIJob(id); j.StatusCalls != 0 {
		t.Errorf("calls for another project counted: StatusCalls = %d", j.StatusCalls)
	}
}

func TestStatusCallCounting(t *testing.T) {
	e := newEnv(t, time.Second)
	a := e.submit(`{"sql":"select 1"}`)
	b := e.submit(`{"sql":"select 2"}`)
	for range 3 {
		e.status(a)
	}
	e.status(b)
	e.do("GET", "/v1.0/p1/jobs/"+b+"/detail", "") // not a status call
	e.do("GET", "/v1.0/p1/jobs", "")

	jobs := e.emu.DLIJobs()
	if len(jobs) != 2 || jobs[0].ID != a || jobs[0].StatusCalls != 3 || jobs[1].ID != b || jobs[1].StatusCalls != 1 {
		t.Errorf("DLIJobs = %+v, want a with 3 status calls then b with 1", jobs)
	}
	if n := e.emu.Calls()["dli GET /v1.0/{project_id}/jobs/{job_id}/status"]; n != 4 {
		t.Errorf("status route calls = %d, want 4", n)
	}
	// Snapshots are copies.
	jobs[0].Tags["x"] = "y"
	if j, _ := e.emu.DLIJob(a); len(j.Tags) != 0 {
		t.Errorf("DLIJob tags changed through a snapshot: %v", j.Tags)
	}
}

func TestDetail(t *testing.T) {
	e := newEnv(t, 4*time.Second)
	id := e.submit(`{"sql":"select 1","currentdb":"db9","tags":[{"key":"a","value":"b"}]}`)
	e.clock.Advance(5 * time.Second)
	r := e.do("GET", "/v1.0/p1/jobs/"+id+"/detail", "")
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	for k, want := range map[string]any{
		"is_success": true, "message": "", "job_id": id, "owner": "emulator", "database_name": "db9",
		"data_path": "", "data_type": "", "table_name": "",
	} {
		if r.body[k] != want {
			t.Errorf("%s = %#v, want %#v", k, r.body[k], want)
		}
	}
	if num(t, r.body, "duration") != 4000 || num(t, r.body, "start_time") != t0.UnixMilli() {
		t.Errorf("duration/start_time = %v/%v", r.body["duration"], r.body["start_time"])
	}
	if tags := tagsOf(t, r.body["tags"]); tags["a"] != "b" {
		t.Errorf("tags = %v", tags)
	}
}
