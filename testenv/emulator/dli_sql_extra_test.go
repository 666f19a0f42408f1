package emulator_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

func TestProgress(t *testing.T) {
	e := newEnv(t, 10*time.Second) // LAUNCHING 2s, then RUNNING 8s
	id := e.submit(`{"sql":"insert into t select * from s"}`)
	progress := func() response {
		t.Helper()
		r := e.do("GET", "/v1/p1/jobs/"+id+"/progress", "")
		if r.status != http.StatusOK || r.body["is_success"] != true || r.body["message"] != "" || r.body["job_id"] != id {
			t.Fatalf("progress: %d %s", r.status, r.raw)
		}
		return r
	}
	for _, step := range []struct {
		at       time.Duration
		status   string
		progress float64
		subJob   bool
	}{
		{0, "LAUNCHING", 0, false},
		{2 * time.Second, "RUNNING", 0, true},
		{6 * time.Second, "RUNNING", 0.5, true},
		{9999 * time.Millisecond, "RUNNING", 0.99, true},
		{10 * time.Second, "FINISHED", 1, false},
	} {
		e.clock.Set(t0.Add(step.at))
		r := progress()
		if r.body["status"] != step.status || r.body["progress"] != step.progress {
			t.Errorf("at %v: status %v, progress %v; want %s, %v", step.at, r.body["status"], r.body["progress"], step.status, step.progress)
		}
		subs := r.body["sub_jobs"].([]any)
		_, hasID := r.body["sub_job_id"]
		if hasID != step.subJob || (len(subs) == 1) != step.subJob {
			t.Errorf("at %v: sub_job_id present %v, %d sub_jobs; want a sub-job: %v", step.at, hasID, len(subs), step.subJob)
		}
	}

	e.clock.Set(t0.Add(6 * time.Second))
	r := progress()
	wantTypes(t, r.body, map[string]string{"is_success": "bool", "message": "string", "job_id": "string", "status": "string",
		"sub_job_id": "number", "progress": "number", "sub_jobs": "array"})
	sub := r.body["sub_jobs"].([]any)[0].(map[string]any)
	wantTypes(t, sub, map[string]string{
		"id": "number", "name": "string", "description": "string", "submission_time": "string", "stage_ids": "array",
		"job_group": "string", "status": "string", "num_tasks": "number", "num_active_tasks": "number",
		"num_completed_tasks": "number", "num_skipped_tasks": "number", "num_failed_tasks": "number",
		"num_killed_tasks": "number", "num_completed_indices": "number", "num_active_stages": "number",
		"num_completed_stages": "number", "num_skipped_stages": "number", "num_failed_stages": "number",
		"killed_tasks_summary": "object",
	})
	for k, want := range map[string]any{
		"id": 0.0, "job_group": id, "status": "RUNNING", "num_tasks": 100.0, "num_completed_tasks": 50.0,
		"num_active_tasks": 1.0, "description": "insert into t select * from s",
		"submission_time": "Mon May 06 07:08:11 UTC 2024",
	} {
		if sub[k] != want {
			t.Errorf("sub_jobs[0].%s = %#v, want %#v", k, sub[k], want)
		}
	}
	if r.body["sub_job_id"] != 0.0 {
		t.Errorf("sub_job_id = %v, want 0", r.body["sub_job_id"])
	}

	// Failed and cancelled jobs report how far they got; hanging ones
	// never reach 1.
	e.emu.AddRule(emulator.Rule{Match: "bad", FailMessage: "boom"})
	e.emu.AddRule(emulator.Rule{Match: "hangs", Hang: true})
	e.clock.Set(t0)
	bad := e.submit(`{"sql":"select bad"}`)
	cancelled := e.submit(`{"sql":"select 2"}`)
	hangs := e.submit(`{"sql":"select hangs"}`)
	e.clock.Set(t0.Add(6 * time.Second))
	e.do("DELETE", "/v1.0/p1/jobs/"+cancelled, "")
	e.clock.Set(t0.Add(time.Hour))
	for _, c := range []struct {
		id, status string
		progress   float64
	}{{bad, "FAILED", 0.99}, {cancelled, "CANCELLED", 0.5}, {hangs, "RUNNING", 0.99}} {
		r := e.do("GET", "/v1/p1/jobs/"+c.id+"/progress", "")
		if r.body["status"] != c.status || r.body["progress"] != c.progress {
			t.Errorf("%s: %s", c.status, r.raw)
		}
	}

	wantError(t, e.do("GET", "/v1/p1/jobs/nope/progress", ""), http.StatusBadRequest, "DLI.0002", "does not exist")
	wantError(t, e.do("GET", "/v1/p2/jobs/"+id+"/progress", ""), http.StatusBadRequest, "DLI.0002", "does not exist")
	// Progress is only under /v1/.
	wantError(t, e.do("GET", "/v1.0/p1/jobs/"+id+"/progress", ""), http.StatusNotFound, "DLI.0023", "")
}

func TestPreview(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	query := e.submit(`{"sql":"select * from t"}`)
	insert := e.submit(`{"sql":"insert into t select 1"}`)

	wantError(t, e.do("GET", "/v1.0/p1/jobs/"+query+"/preview", ""), http.StatusBadRequest, "DLI.0012", "is LAUNCHING")
	e.clock.Advance(10 * time.Second)
	// The documented query string.
	r := e.do("GET", "/v1.0/p1/jobs/"+query+"/preview?page-size=10&queue-name=default", "")
	if r.status != http.StatusOK {
		t.Fatalf("preview: %d %s", r.status, r.raw)
	}
	wantTypes(t, r.body, map[string]string{"is_success": "bool", "message": "string", "job_id": "string", "job_type": "string",
		"row_count": "number", "input_size": "number", "schema": "array", "rows": "array"})
	if r.body["job_id"] != query || r.body["job_type"] != "QUERY" || r.body["row_count"] != 0.0 || r.body["is_success"] != true {
		t.Errorf("preview = %s", r.raw)
	}
	wantError(t, e.do("GET", "/v1.0/p1/jobs/"+insert+"/preview", ""), http.StatusBadRequest, "DLI.0007", "only QUERY")
	wantError(t, e.do("GET", "/v1.0/p1/jobs/nope/preview", ""), http.StatusBadRequest, "DLI.0002", "does not exist")
	for _, q := range []string{"page-size=0", "page-size=1001", "page-size=x", "queue-name=1"} {
		wantError(t, e.do("GET", "/v1.0/p1/jobs/"+query+"/preview?"+q, ""), http.StatusBadRequest, "DLI.0001", "")
	}
	e.emu.AddRule(emulator.Rule{Match: "oops", FailMessage: "x"})
	failed := e.submit(`{"sql":"select oops"}`)
	e.clock.Advance(10 * time.Second)
	wantError(t, e.do("GET", "/v1.0/p1/jobs/"+failed+"/preview", ""), http.StatusBadRequest, "DLI.0012", "is FAILED")
}

func TestCheckSQL(t *testing.T) {
	e := newEnv(t, time.Second)
	// §7.3.9's sample, which names the database currentdb.
	r := e.do("POST", "/v1.0/p1/jobs/check-sql", `{
 "currentdb": "db1",
`+`"sql": "select * from t1"
}`)
	if r.status != http.StatusOK || r.body["is_success"] != true || r.body["message"] != "the sql is ok" || r.body["job_type"] != "QUERY" || len(r.body) != 3 {
		t.Fatalf("sample: %d %s", r.status, r.raw)
	}
	for _, tc := range []struct {
		name, body, jobType string
	}{
		{"current_db of the table", `{"sql":"select * from t1","current_db":"db1"}`, "QUERY"},
		{"qualified table", `{"sql":"select * from db1.t1 join db2.t2 on t1.a = t2.a"}`, "QUERY"},
		{"quoted qualified table", "{\"sql\":\"select * from `db1`.`t1`\"}", "QUERY"},
		{"no table", `{"sql":"select 1"}`, "QUERY"},
		{"CTE", `{"sql":"with x as (select * from db.t) select * from x"}`, "QUERY"},
		{"insert", `{"sql":"insert into db.t select * from db.s","current_db":""}`, "INSERT"},
		{"ddl", `{"sql":"create table if not exists db.t (a int)"}`, "DDL"},
		{"comments and strings", `{"sql":"-- note (\nselect ')' from db.t /* ( */","currentdb":"db"}`, "QUERY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/v1.0/p1/jobs/check-sql", tc.body)
			if r.status != http.StatusOK || r.body["job_type"] != tc.jobType || r.body["message"] != "the sql is ok" {
				t.Errorf("%d %s", r.status, r.raw)
			}
		})
	}
	for _, tc := range []struct {
		name, body, code, msg string
	}{
		{"empty body", "", "DLI.0001", "empty"},
		{"no sql", `{"currentdb":"db1"}`, "DLI.0001", "sql is mandatory"},
		{"unknown statement", `{"sql":"selec * from t","currentdb":"db"}`, "DLI.0004", `"selec"`},
		{"unclosed parenthesis", `{"sql":"select count(* from t","currentdb":"db"}`, "DLI.0004", "missing ')'"},
		{"extra parenthesis", `{"sql":"select 1)","currentdb":"db"}`, "DLI.0004", "extraneous input ')'"},
		{"unclosed quote", `{"sql":"select 'abc from t","currentdb":"db"}`, "DLI.0004", "unterminated literal"},
		{"unclosed comment", `{"sql":"select 1 /* x","currentdb":"db"}`, "DLI.0004", "unterminated comment"},
		{"unqualified table, no db", `{"sql":"select * from t1"}`, "DLI.0005", "table t1 has no database name"},
		{"unqualified join, no db", `{"sql":"select * from db.a join b on a.x = b.x"}`, "DLI.0005", "table b"},
		{"drop if exists, no db", `{"sql":"drop table if exists t"}`, "DLI.0005", "table t "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/v1.0/p1/jobs/check-sql", tc.body), http.StatusBadRequest, tc.code, tc.msg)
		})
	}
	if n := len(e.emu.DLIJobs()); n != 0 {
		t.Errorf("check-sql created %d jobs", n)
	}
}
