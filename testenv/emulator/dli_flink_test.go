package emulator_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// The request samples of the DLI API reference, verbatim.
const (
	// §9.2 Creating a SQL Job (@6146).
	sampleFlinkSQLCreate = `{
 "name": "myjob",
 "desc": "This is a job used for counting characters.",
 "template_id": 100000,
 "queue_name": "testQueue",
 "sql_body": "select * from source_table",
 "run_mode": "exclusive_cluster",
 "cu_number": 2,
 "parallel_number": 1,
 "checkpoint_enabled": false,
 "checkpoint_mode": "exactly_once",
 "checkpoint_interval": 0,
 "obs_bucket": "my_obs_bucket",
 "log_enabled": false,
 "restart_when_exception": false,
 "idle_state_retention": 3600,
 "job_type": "flink_sql_job",
 "dirty_data_strategy": "0",
 "udf_jar_url": "group/test.jar"
}`
	// §9.3 Updating a SQL Job (@6270).
	sampleFlinkSQLUpdate = `{
 "name": "myjob",
 "desc": "My first job",
 "queue_name": "testQueue",
 "sql_body": "select * from source_table",
 "run_mode": "shared_cluster",
 "cu_number": 4,
 "parallel_number": 4,
 "checkpoint_enabled": false,
 "checkpoint_mode": "exactly_once",
 "checkpoint_interval": 10,
 "obs_bucket": "",
 "log_enabled": false,
 "smn_topic": "",
 "restart_when_exception": false,
 "idle_state_retention": 3600,
 "edge_group_ids": [
 "62de1e1c-066e-48a8-a79d-f461a31b2ee1",
 "2eb00f85-99f2-4144-bcb7-d39ff47f9002"
],
 "dirty_data_strategy": "0",
 "udf_jar_url": "group/test.jar"
}`
	// §9.4 Creating a Flink Jar job (@6418), also the getting-started
	// sample of §4.4 (@1040).
	sampleFlinkJarCreate = `{
 "name": "test",
 "desc": "job for test",
 "queue_name": "testQueue",
 "manager_cu_number": 1,
 "cu_number": 2,
 "parallel_number": 1,
 "tm_cus": 1,
 "tm_slot_num": 1,
 "log_enabled": true,
 "obs_bucket": "bucketName",
 "smn_topic": "topic",
 "main_class": "org.apache.flink.examples.streaming.JavaQueueStream",
 "restart_when_exception": false,
 "entrypoint": "javaQueueStream.jar",
 "entrypoint_args": "-windowSize 2000 -rate3",
 "dependency_jars": [
 "myGroup/test.jar",
 "myGroup/test1.jar"
],
 "dependency_files": [
 "myGroup/test.csv",
 "myGroup/test1.csv"
]
}`
	// §9.5 Updating a Flink Jar Job (@6546).
	sampleFlinkJarUpdate = `{
 "name": "test1",
 "desc": "job for test",
 "job_type": "flink_jar_job",
 "queue_name": "testQueue",
 "manager_cu_number": 1,
 "cu_number": 2,
 "parallel_number": 1,
 "log_enabled": false,
 "main_class": "org.apache.flink.examples.streaming.JavaQueueStream",
 "restart_when_exception": false,
 "entrypoint": "FemaleInfoCollec.jar",
 "dependency_jars": [
 "myGroup/test.jar",
 "myGroup/test1.jar"
],
 "dependency_files": [
 "myGroup/test.csv",
 "myGroup/test1.csv"
]
}`
)

func TestFlinkSamples(t *testing.T) {
	e := newEnv(t, 10*time.Second)

	r := e.do("POST", "/v1.0/p1/streaming/sql-jobs", sampleFlinkSQLCreate)
	if r.status != http.StatusOK || r.body["is_success"] != true || r.body["message"] != "A DLI job is created successfully." {
		t.Fatalf("create SQL sample: %d %s", r.status, r.raw)
	}
	job := r.body["job"].(map[string]any)
	wantTypes(t, job, map[string]string{"job_id": "number", "status_name": "string", "status_desc": "string"})
	sqlID := num(t, job, "job_id")
	if sqlID != 100 || job["status_name"] != "job_init" || job["status_desc"] != "" {
		t.Errorf("job = %v, want job_id 100 in job_init", job)
	}

	r = e.do("POST", "/v1.0/p1/streaming/flink-jobs", sampleFlinkJarCreate)
	if r.status != http.StatusOK || r.body["is_success"] != true || r.body["message"] != "A Flink job is created successfully." {
		t.Fatalf("create Jar sample: %d %s", r.status, r.raw)
	}
	jarID := num(t, r.body["job"].(map[string]any), "job_id")
	if jarID != 101 {
		t.Errorf("second job_id = %d, want 101", jarID)
	}
	// The getting-started copy of the sample, in another project (names
	// are unique per project).
	if id := e.createFlinkIn("p2", "flink-jobs", sampleFlinkJarCreate); id != 102 {
		t.Errorf("job_id in p2 = %d, want 102", id)
	}

	e.clock.Advance(time.Minute)
	r = e.do("PUT", "/v1.0/p1/streaming/sql-jobs/"+itoa(sqlID), sampleFlinkSQLUpdate)
	if r.status != http.StatusOK || r.body["is_success"] != true || r.body["message"] != "The job is updated successfully." {
		t.Fatalf("update SQL sample: %d %s", r.status, r.raw)
	}
	if got := num(t, r.body["job"].(map[string]any), "update_time"); got != t0.Add(time.Minute).UnixMilli() {
		t.Errorf("update_time = %d, want %d", got, t0.Add(time.Minute).UnixMilli())
	}
	r = e.do("PUT", "/v1.0/p1/streaming/flink-jobs/"+itoa(jarID), sampleFlinkJarUpdate)
	if r.status != http.StatusOK || r.body["message"] != "The Flink job is updated successfully." {
		t.Fatalf("update Jar sample: %d %s", r.status, r.raw)
	}

	// §9.6's sample with the IDs this emulator handed out.
	res := e.batchResults("/v1.0/p1/streaming/jobs/run", `{
 "job_ids": `+ids(sqlID, jarID)+`,
 "resume_savepoint": true
}`)
	if want := []batchResult{{true, runOK}, {true, runOK}}; !slices.Equal(res, want) {
		t.Errorf("run = %v, want %v", res, want)
	}
	// §9.10's sample.
	res = e.batchResults("/v1.0/p1/streaming/jobs/stop", `{
 "job_ids": `+ids(sqlID, jarID)+`,
 "trigger_savepoint": false
}`)
	if want := []batchResult{{true, stopOK}, {true, stopOK}}; !slices.Equal(res, want) {
		t.Errorf("stop = %v, want %v", res, want)
	}
	// §9.12's sample.
	r = e.do("POST", "/v1.0/p1/streaming/jobs/delete", `{
 "job_ids": `+ids(sqlID, jarID)+`
}`)
	if r.status != http.StatusOK || r.body["is_success"] != true || r.body["message"] != "The job is deleted successfully." || len(r.body) != 2 {
		t.Errorf("batch delete: %d %s", r.status, r.raw)
	}
}

func TestFlinkDetails(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	sqlID := e.createFlink("sql-jobs", sampleFlinkSQLCreate)
	e.clock.Advance(time.Second)
	jarID := e.createFlink("flink-jobs", sampleFlinkJarCreate)

	r := e.do("GET", "/v1.0/p1/streaming/jobs/"+itoa(sqlID), "")
	if r.status != http.StatusOK || r.body["is_success"] != true || r.body["message"] != "Querying of the job details succeeds." {
		t.Fatalf("details: %d %s", r.status, r.raw)
	}
	d := r.body["job_detail"].(map[string]any)
	wantTypes(t, d, map[string]string{
		"job_id": "number", "name": "string", "desc": "string", "job_type": "string", "status": "string",
		"status_desc": "string", "create_time": "number", "start_time": "number", "update_time": "number",
		"user_id": "string", "queue_name": "string", "project_id": "string", "sql_body": "string",
		"savepoint_path": "string", "run_mode": "string", "job_config": "object", "main_class": "string",
		"entrypoint_args": "string", "execution_graph": "string",
	})
	for k, want := range map[string]any{
		"name": "myjob", "desc": "This is a job used for counting characters.", "job_type": "flink_sql_job",
		"status": "job_init", "status_desc": "", "start_time": 0.0, "queue_name": "testQueue", "project_id": "p1",
		"sql_body": "select * from source_table", "run_mode": "exclusive_cluster", "savepoint_path": "",
		"create_time": float64(t0.UnixMilli()), "update_time": float64(t0.UnixMilli()),
	} {
		if d[k] != want {
			t.Errorf("%s = %#v, want %#v", k, d[k], want)
		}
	}
	cfg := d["job_config"].(map[string]any)
	wantTypes(t, cfg, map[string]string{
		"checkpoint_enabled": "bool", "checkpoint_interval": "number", "checkpoint_mode": "string",
		"log_enabled": "bool", "obs_bucket": "string", "root_id": "number", "edge_group_ids": "array",
		"manager_cu_number": "number", "graph_editor_enabled": "bool", "graph_editor_data": "string",
		"executor_number": "number", "executor_cu_number": "number", "cu_number": "number",
		"parallel_number": "number", "smn_topic": "string", "restart_when_exception": "bool",
		"resume_checkpoint": "bool", "resume_max_num": "number", "checkpoint_path": "string",
		"idle_state_retention": "number", "config_url": "string", "udf_jar_url": "string",
		"dirty_data_strategy": "string", "entrypoint": "string", "dependency_jars": "array",
		"dependency_files": "array", "tm_cus": "number", "tm_slot_num": "number", "operator_config": "string",
		"static_estimator_config": "string", "runtime_config": "string",
	})
	for k, want := range map[string]any{
		"checkpoint_mode": "exactly_once", "checkpoint_interval": 0.0, "obs_bucket": "my_obs_bucket",
		"root_id": -1.0, "manager_cu_number": 1.0, "cu_number": 2.0, "parallel_number": 1.0,
		"idle_state_retention": 3600.0, "udf_jar_url": "group/test.jar", "dirty_data_strategy": "0",
		"resume_max_num": -1.0, "tm_cus": 1.0, "tm_slot_num": 1.0, "executor_number": 1.0,
	} {
		if cfg[k] != want {
			t.Errorf("job_config.%s = %#v, want %#v", k, cfg[k], want)
		}
	}

	jd := e.flinkDetail(jarID)
	for k, want := range map[string]any{
		"job_type": "flink_jar_job", "main_class": "org.apache.flink.examples.streaming.JavaQueueStream",
		"entrypoint_args": "-windowSize 2000 -rate3", "run_mode": "exclusive_cluster", "sql_body": "",
		"create_time": float64(t0.Add(time.Second).UnixMilli()),
	} {
		if jd[k] != want {
			t.Errorf("jar %s = %#v, want %#v", k, jd[k], want)
		}
	}
	jcfg := jd["job_config"].(map[string]any)
	if jcfg["entrypoint"] != "javaQueueStream.jar" || jcfg["log_enabled"] != true || jcfg["smn_topic"] != "topic" ||
		!slices.Equal(toStrings(jcfg["dependency_jars"]), []string{"myGroup/test.jar", "myGroup/test1.jar"}) ||
		!slices.Equal(toStrings(jcfg["dependency_files"]), []string{"myGroup/test.csv", "myGroup/test1.csv"}) {
		t.Errorf("jar job_config = %v", jcfg)
	}

	// Updates change only the fields sent.
	e.clock.Advance(time.Second)
	r = e.do("PUT", "/v1.0/p1/streaming/sql-jobs/"+itoa(sqlID), `{"desc":"","checkpoint_mode":2,"cu_number":4,"parallel_number":6}`)
	if r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	d = e.flinkDetail(sqlID)
	cfg = d["job_config"].(map[string]any)
	if d["desc"] != "" || d["name"] != "myjob" || d["queue_name"] != "testQueue" || cfg["checkpoint_mode"] != "at_least_once" ||
		cfg["cu_number"] != 4.0 || cfg["parallel_number"] != 6.0 || cfg["tm_slot_num"] != 2.0 || cfg["udf_jar_url"] != "group/test.jar" ||
		d["update_time"] != float64(t0.Add(2*time.Second).UnixMilli()) {
		t.Errorf("after update: %v", d)
	}
	if j, _ := e.emu.FlinkJob(sqlID); j.Updates != 1 || j.CUNumber != 4 || j.CheckpointMode != "at_least_once" {
		t.Errorf("FlinkJob = %+v", j)
	}

	// F1's misspelt manager_cunumber is accepted.
	id := e.createFlink("sql-jobs", `{"name":"sic","sql_body":"x","cu_number":4,"manager_cunumber":2}`)
	if cfg := e.flinkDetail(id)["job_config"].(map[string]any); cfg["manager_cu_number"] != 2.0 {
		t.Errorf("manager_cu_number = %v, want 2", cfg["manager_cu_number"])
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestFlinkLifecycle(t *testing.T) {
	e := newEnv(t, 10*time.Second) // submitting share: 2s
	id := e.createFlink("sql-jobs", flinkSQL("stream"))
	if s := e.flinkStatus(id); s != "job_init" {
		t.Fatalf("after create: %s, want job_init", s)
	}
	e.clock.Advance(time.Hour) // nothing happens until the job is run
	if s := e.flinkStatus(id); s != "job_init" {
		t.Fatalf("an hour after create: %s, want job_init", s)
	}
	runAt := e.clock.Now()
	if res := e.batchResults("/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(id)+`}`); !slices.Equal(res, []batchResult{{true, runOK}}) {
		t.Fatalf("run = %v", res)
	}
	for _, step := range []struct {
		at     time.Duration // since run
		status string
	}{
		{0, "job_submitting"},
		{1999 * time.Millisecond, "job_submitting"},
		{2 * time.Second, "job_running"},
		{10 * time.Second, "job_running"},
		{24 * time.Hour, "job_running"}, // streaming: never finishes
	} {
		e.clock.Set(runAt.Add(step.at))
		if s := e.flinkStatus(id); s != step.status {
			t.Errorf("at %v: %s, want %s", step.at, s, step.status)
		}
	}
	d := e.flinkDetail(id)
	if d["start_time"] != float64(runAt.UnixMilli()) || d["status_desc"] != "" {
		t.Errorf("running details: %v", d)
	}

	// Run again while running: refused for that job only.
	res := e.batchResults("/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(id)+`}`)
	if len(res) != 1 || res[0].ok || !strings.Contains(res[0].msg, "job_running") {
		t.Errorf("run while running = %v, want is_success false naming job_running", res)
	}

	stopAt := e.clock.Now()
	if res := e.batchResults("/v1.0/p1/streaming/jobs/stop", `{"job_ids":`+ids(id)+`}`); !slices.Equal(res, []batchResult{{true, stopOK}}) {
		t.Fatalf("stop = %v", res)
	}
	// Stopping again while canceling is accepted and changes nothing.
	e.clock.Set(stopAt.Add(time.Second))
	if res := e.batchResults("/v1.0/p1/streaming/jobs/stop", `{"job_ids":`+ids(id)+`}`); !slices.Equal(res, []batchResult{{true, stopOK}}) {
		t.Errorf("second stop = %v", res)
	}
	for _, step := range []struct {
		at     time.Duration
		status string
	}{
		{time.Second, "job_canceling"},
		{1999 * time.Millisecond, "job_canceling"},
		{2 * time.Second, "job_cancel_success"},
		{time.Hour, "job_cancel_success"},
	} {
		e.clock.Set(stopAt.Add(step.at))
		if s := e.flinkStatus(id); s != step.status {
			t.Errorf("%v after stop: %s, want %s", step.at, s, step.status)
		}
	}
	res = e.batchResults("/v1.0/p1/streaming/jobs/stop", `{"job_ids":`+ids(id)+`}`)
	if len(res) != 1 || res[0].ok || res[0].msg != "The job 100 is job_cancel_success and cannot be stopped." {
		t.Errorf("stop of a stopped job = %v", res)
	}

	// Run again, then stop with a savepoint.
	rerunAt := e.clock.Now()
	e.batchResults("/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(id)+`,"resume_savepoint":true}`)
	e.clock.Advance(3 * time.Second)
	if s := e.flinkStatus(id); s != "job_running" {
		t.Fatalf("rerun: %s", s)
	}
	if got := e.flinkDetail(id)["start_time"]; got != float64(rerunAt.UnixMilli()) {
		t.Errorf("start_time after rerun = %v, want %d", got, rerunAt.UnixMilli())
	}
	spAt := e.clock.Now()
	e.batchResults("/v1.0/p1/streaming/jobs/stop", `{"job_ids":`+ids(id)+`,"trigger_savepoint":true}`)
	for _, step := range []struct {
		at     time.Duration
		status string
	}{
		{0, "job_savepointing"},
		{1999 * time.Millisecond, "job_savepointing"},
		{2 * time.Second, "job_canceling"},
		{4 * time.Second, "job_cancel_success"},
	} {
		e.clock.Set(spAt.Add(step.at))
		if s := e.flinkStatus(id); s != step.status {
			t.Errorf("%v after stop with savepoint: %s, want %s", step.at, s, step.status)
		}
	}
	// No obs_bucket: the emulator's own bucket.
	if p := e.flinkDetail(id)["savepoint_path"]; p != "obs://dli-emulator/savepoints/100/"+itoa(spAt.UnixMilli()) {
		t.Errorf("savepoint_path = %v", p)
	}
	// The run lasted from its start until the stop completed: 3s + 4s.
	l := e.do("GET", "/v1.0/p1/streaming/jobs", "").body["job_list"].(map[string]any)["jobs"].([]any)[0].(map[string]any)
	if l["has_savepoint"] != true || l["duration"] != 7000.0 {
		t.Errorf("listed: has_savepoint %v, duration %v; want true, 7000", l["has_savepoint"], l["duration"])
	}

	j, _ := e.emu.FlinkJob(id)
	if j.Runs != 2 || j.Stops != 2 || j.Status != "job_cancel_success" || !j.ResumedFromSavepoint ||
		!j.StartedAt.Equal(rerunAt) || j.SavepointPath == "" || j.Deleted || j.Name != "stream" || j.Queue != "flink_general" {
		t.Errorf("FlinkJob = %+v", j)
	}
}

func TestFlinkRules(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.DLI, Match: "explodes", Duration: 5 * time.Second, FailMessage: "java.lang.NullPointerException"})
	e.emu.AddRule(emulator.Rule{Match: "rejected", FailMessage: "Queue resources are insufficient", FailCode: "job_submit_fail"})
	e.emu.AddRule(emulator.Rule{Match: "stuck", Hang: true})
	e.emu.AddRule(emulator.Rule{Match: "flaky", FailMessage: "transient", FailFirst: 1})
	e.emu.AddRule(emulator.Rule{Match: "other-service", Service: emulator.CDM, FailMessage: "not for DLI"})
	explodes := e.createFlink("sql-jobs", flinkSQL("explodes"))
	rejected := e.createFlink("sql-jobs", flinkSQL("rejected"))
	stuck := e.createFlink("sql-jobs", flinkSQL("stuck"))
	flaky := e.createFlink("sql-jobs", flinkSQL("flaky"))
	other := e.createFlink("sql-jobs", flinkSQL("other-service"))
	e.batchResults("/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(explodes, rejected, stuck, flaky, other)+`}`)

	const (
		npe  = "java.lang.NullPointerException"
		full = "Queue resources are insufficient"
	)
	type want struct{ status, desc string }
	for _, step := range []struct {
		at                                    time.Duration
		explodes, rejected, stuck, flaky, oth want
	}{
		// explodes runs 5s (submitting 1s); the others 10s (submitting 2s).
		{500 * time.Millisecond, want{"job_submitting", ""}, want{"job_submitting", ""}, want{"job_submitting", ""}, want{"job_submitting", ""}, want{"job_submitting", ""}},
		{time.Second, want{"job_running", ""}, want{"job_submitting", ""}, want{"job_submitting", ""}, want{"job_submitting", ""}, want{"job_submitting", ""}},
		{2 * time.Second, want{"job_running", ""}, want{"job_submit_fail", full}, want{"job_submitting", ""}, want{"job_running", ""}, want{"job_running", ""}},
		{5 * time.Second, want{"job_running_exception", npe}, want{"job_submit_fail", full}, want{"job_submitting", ""}, want{"job_running", ""}, want{"job_running", ""}},
		{10 * time.Second, want{"job_running_exception", npe}, want{"job_submit_fail", full}, want{"job_submitting", ""}, want{"job_running_exception", "transient"}, want{"job_running", ""}},
		{time.Hour, want{"job_running_exception", npe}, want{"job_submit_fail", full}, want{"job_submitting", ""}, want{"job_running_exception", "transient"}, want{"job_running", ""}},
	} {
		e.clock.Set(t0.Add(step.at))
		for _, c := range []struct {
			id int64
			w  want
		}{{explodes, step.explodes}, {rejected, step.rejected}, {stuck, step.stuck}, {flaky, step.flaky}, {other, step.oth}} {
			d := e.flinkDetail(c.id)
			if d["status"] != c.w.status || d["status_desc"] != c.w.desc {
				t.Errorf("at %v: job %s is %v (%q), want %s (%q)", step.at, d["name"], d["status"], d["status_desc"], c.w.status, c.w.desc)
			}
		}
	}
	if j, _ := e.emu.FlinkJob(explodes); j.Status != "job_running_exception" || j.StatusDesc != "java.lang.NullPointerException" {
		t.Errorf("FlinkJob(explodes) = %+v", j)
	}

	// A failed job can be run again; FailFirst 1 lets the retry succeed.
	e.batchResults("/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(flaky)+`}`)
	e.clock.Advance(time.Hour)
	if s := e.flinkStatus(flaky); s != "job_running" {
		t.Errorf("flaky rerun: %s, want job_running", s)
	}
	// A hanging submission is stopped like any other.
	e.batchResults("/v1.0/p1/streaming/jobs/stop", `{"job_ids":`+ids(stuck)+`}`)
	e.clock.Advance(2 * time.Second)
	if s := e.flinkStatus(stuck); s != "job_cancel_success" {
		t.Errorf("stuck after stop: %s", s)
	}
	// Failed jobs cannot be stopped.
	res := e.batchResults("/v1.0/p1/streaming/jobs/stop", `{"job_ids":`+ids(rejected)+`}`)
	if len(res) != 1 || res[0].ok || !strings.Contains(res[0].msg, "job_submit_fail") {
		t.Errorf("stop of a failed job = %v", res)
	}
}

func TestFlinkSubmitErrors(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Match: "flaky", SubmitErrors: 1})
	e.emu.AddRule(emulator.Rule{Match: "busy", SubmitErrors: 1, SubmitStatus: http.StatusTooManyRequests})
	flaky := e.createFlink("sql-jobs", flinkSQL("flaky")) // creating does not consult the rules
	busy := e.createFlink("sql-jobs", flinkSQL("busy"))
	plain := e.createFlink("sql-jobs", flinkSQL("plain"))

	// The injected error answers the whole request: nothing starts.
	r := e.do("POST", "/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(plain, flaky)+`}`)
	wantError(t, r, http.StatusInternalServerError, "DLI.0999", "Server-side errors occur")
	if s := e.flinkStatus(plain); s != "job_init" {
		t.Errorf("plain after a rejected batch: %s, want job_init", s)
	}
	r = e.do("POST", "/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(busy)+`}`)
	wantError(t, r, http.StatusTooManyRequests, "DLI.0009", "too many requests")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if j, _ := e.emu.FlinkJob(busy); j.Runs != 0 || j.Status != "job_init" {
		t.Errorf("FlinkJob(busy) = %+v", j)
	}
	// The errors are used up.
	res := e.batchResults("/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(plain, flaky, busy)+`}`)
	if !slices.Equal(res, []batchResult{{true, runOK}, {true, runOK}, {true, runOK}}) {
		t.Errorf("run = %v", res)
	}
	for _, j := range e.emu.FlinkJobs() {
		if j.Runs != 1 || j.Status != "job_submitting" {
			t.Errorf("FlinkJob %s: Runs %d, status %s", j.Name, j.Runs, j.Status)
		}
	}
}

func TestFlinkRunErrors(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	a := e.createFlink("sql-jobs", flinkSQL("a"))
	draft := e.createFlink("sql-jobs", `{"name":"draft"}`)
	noJar := e.createFlink("flink-jobs", `{"name":"nojar","cu_number":2}`)
	other := e.createFlinkIn("p2", "sql-jobs", flinkSQL("elsewhere"))

	for _, tc := range []struct {
		name, path, body string
		code, msg        string
	}{
		{"run without job_ids", "run", `{}`, "DLI.0001", "job_ids is mandatory"},
		{"run with empty job_ids", "run", `{"job_ids":[]}`, "DLI.0001", "job_ids is mandatory"},
		{"run with string IDs", "run", `{"job_ids":["a"]}`, "DLI.0001", "invalid request body"},
		{"run unknown", "run", `{"job_ids":[` + itoa(a) + `,999]}`, "DLI.0002", "Flink job 999"},
		{"run other project's", "run", `{"job_ids":` + ids(other) + `}`, "DLI.0002", "Flink job " + itoa(other)},
		{"stop unknown", "stop", `{"job_ids":[999]}`, "DLI.0002", "Flink job 999"},
		{"stop bad body", "stop", `[1]`, "DLI.0001", "invalid request body"},
		{"delete unknown", "delete", `{"job_ids":[` + itoa(a) + `,999]}`, "DLI.0002", "Flink job 999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/v1.0/p1/streaming/jobs/"+tc.path, tc.body), http.StatusBadRequest, tc.code, tc.msg)
		})
	}
	if j, _ := e.emu.FlinkJob(a); j.Runs != 0 || j.Deleted {
		t.Errorf("rejected batches changed job a: %+v", j)
	}

	// Listed twice: started once.
	res := e.batchResults("/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(a, a, draft, noJar)+`}`)
	if len(res) != 4 || res[0] != (batchResult{true, runOK}) || res[1].ok || !strings.Contains(res[1].msg, "job_submitting") ||
		res[2] != (batchResult{true, runOK}) || res[3] != (batchResult{true, runOK}) {
		t.Errorf("run = %v", res)
	}
	// Jobs that cannot be submitted fail their runs.
	e.clock.Advance(2 * time.Second)
	for _, c := range []struct {
		id   int64
		desc string
	}{{draft, "sql_body"}, {noJar, "entrypoint"}} {
		d := e.flinkDetail(c.id)
		if desc, _ := d["status_desc"].(string); d["status"] != "job_submit_fail" || !strings.Contains(desc, c.desc) {
			t.Errorf("job %v: %v (%q), want job_submit_fail about %s", d["name"], d["status"], desc, c.desc)
		}
	}
	if j, _ := e.emu.FlinkJob(a); j.Runs != 1 {
		t.Errorf("Runs = %d, want 1", j.Runs)
	}
	// Stopping a job that never ran is refused for that job.
	fresh := e.createFlink("sql-jobs", flinkSQL("fresh"))
	res = e.batchResults("/v1.0/p1/streaming/jobs/stop", `{"job_ids":`+ids(fresh, a)+`}`)
	if len(res) != 2 || res[0] != (batchResult{false, "The job " + itoa(fresh) + " is job_init and cannot be stopped."}) || res[1] != (batchResult{true, stopOK}) {
		t.Errorf("stop = %v", res)
	}
	if j, _ := e.emu.FlinkJob(fresh); j.Stops != 0 {
		t.Errorf("refused stop counted: %+v", j)
	}
}

func TestFlinkCreateValidation(t *testing.T) {
	e := newEnv(t, time.Second)
	e.createFlink("sql-jobs", flinkSQL("taken"))
	for _, tc := range []struct {
		name, kind, body, code, msg string
	}{
		{"empty body", "sql-jobs", "", "DLI.0001", "empty"},
		{"not JSON", "sql-jobs", "{", "DLI.0001", "invalid request body"},
		{"no name", "sql-jobs", `{"sql_body":"x"}`, "DLI.0001", "name is mandatory"},
		{"long name", "sql-jobs", `{"name":"` + strings.Repeat("n", 58) + `"}`, "DLI.0001", "1 to 57"},
		{"long desc", "flink-jobs", `{"name":"j","desc":"` + strings.Repeat("d", 513) + `"}`, "DLI.0001", "desc"},
		{"bad run_mode", "sql-jobs", `{"name":"j","run_mode":"cloud"}`, "DLI.0001", "run_mode"},
		{"cu_number too small", "sql-jobs", `{"name":"j","cu_number":1}`, "DLI.0001", "cu_number must be in [2, 400]"},
		{"cu_number too large", "flink-jobs", `{"name":"j","cu_number":401}`, "DLI.0001", "cu_number"},
		{"manager takes all CUs", "flink-jobs", `{"name":"j","cu_number":2,"manager_cu_number":2}`, "DLI.0001", "manager_cu_number"},
		{"too parallel", "sql-jobs", `{"name":"j","cu_number":2,"parallel_number":5}`, "DLI.0001", "four times"},
		{"bad checkpoint_mode", "sql-jobs", `{"name":"j","checkpoint_mode":"twice"}`, "DLI.0001", "checkpoint_mode"},
		{"bad checkpoint_mode number", "sql-jobs", `{"name":"j","checkpoint_mode":3}`, "DLI.0001", "checkpoint_mode"},
		{"bad dirty data strategy", "sql-jobs", `{"name":"j","dirty_data_strategy":"3"}`, "DLI.0001", "dirty_data_strategy"},
		{"bad resume_max_num", "flink-jobs", `{"name":"j","resume_max_num":0}`, "DLI.0001", "resume_max_num"},
		{"jar type on sql-jobs", "sql-jobs", `{"name":"j","job_type":"flink_jar_job"}`, "DLI.0001", "job_type"},
		{"sql type on flink-jobs", "flink-jobs", `{"name":"j","job_type":"flink_sql_job"}`, "DLI.0001", "job_type"},
		{"duplicate tag", "sql-jobs", `{"name":"j","tags":[{"key":"k","value":"1"},{"key":"k","value":"2"}]}`, "DLI.0001", "duplicate tag"},
		{"duplicate name", "flink-jobs", `{"name":"taken"}`, "DLI.0006", "named taken already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/v1.0/p1/streaming/"+tc.kind, tc.body), http.StatusBadRequest, tc.code, tc.msg)
		})
	}
	if n := len(e.emu.FlinkJobs()); n != 1 {
		t.Errorf("rejected creates made jobs: %d", n)
	}
	// The open-source SQL type of the details sample is accepted.
	id := e.createFlink("sql-jobs", `{"name":"oss","job_type":"flink_opensource_sql_job","sql_body":"x","tags":[{"key":"team","value":"a"}]}`)
	if j, _ := e.emu.FlinkJob(id); j.Type != "flink_opensource_sql_job" || j.Tags["team"] != "a" {
		t.Errorf("FlinkJob = %+v", j)
	}
}

func TestFlinkUpdateErrors(t *testing.T) {
	e := newEnv(t, time.Second)
	sqlID := e.createFlink("sql-jobs", flinkSQL("one"))
	e.createFlink("sql-jobs", flinkSQL("two"))
	jarID := e.createFlink("flink-jobs", `{"name":"jar","entrypoint":"a.jar"}`)
	for _, tc := range []struct {
		name, path, body, code, msg string
	}{
		{"unknown job", "sql-jobs/999", `{"desc":"x"}`, "DLI.0002", "Flink job 999"},
		{"not a Long", "sql-jobs/abc", `{"desc":"x"}`, "DLI.0001", "job_id must be a Long"},
		{"jar job through sql-jobs", "sql-jobs/" + itoa(jarID), `{"desc":"x"}`, "DLI.0007", "flink_jar_job"},
		{"sql job through flink-jobs", "flink-jobs/" + itoa(sqlID), `{"desc":"x"}`, "DLI.0007", "flink_sql_job"},
		{"rename to a taken name", "sql-jobs/" + itoa(sqlID), `{"name":"two"}`, "DLI.0006", "two"},
		{"invalid result", "sql-jobs/" + itoa(sqlID), `{"parallel_number":0}`, "DLI.0001", "parallel_number"},
		{"bad body", "flink-jobs/" + itoa(jarID), `{"cu_number":"2"}`, "DLI.0001", "invalid request body"},
		{"wrong job_type", "flink-jobs/" + itoa(jarID), `{"job_type":"flink_sql_job"}`, "DLI.0001", "job_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("PUT", "/v1.0/p1/streaming/"+tc.path, tc.body), http.StatusBadRequest, tc.code, tc.msg)
		})
	}
	if j, _ := e.emu.FlinkJob(sqlID); j.Name != "one" || j.Updates != 0 || j.ParallelNumber != 1 {
		t.Errorf("rejected updates changed the job: %+v", j)
	}
	// An empty name (0 characters are allowed) leaves the name as it is.
	if r := e.do("PUT", "/v1.0/p1/streaming/sql-jobs/"+itoa(sqlID), `{"name":"","desc":"d"}`); r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	if j, _ := e.emu.FlinkJob(sqlID); j.Name != "one" || j.Desc != "d" || j.Updates != 1 {
		t.Errorf("FlinkJob = %+v", j)
	}
}

func TestFlinkList(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	a := e.createFlink("sql-jobs", `{"name":"orders_stream","queue_name":"q1","sql_body":"x","tags":[{"key":"pipeline","value":"p"}]}`)
	e.clock.Advance(time.Second)
	b := e.createFlink("flink-jobs", `{"name":"Orders_Jar","queue_name":"q2","entrypoint":"a.jar"}`)
	e.clock.Advance(time.Second)
	c := e.createFlink("sql-jobs", `{"name":"clicks","queue_name":"q1","sql_body":"x"}`)
	e.createFlinkIn("p2", "sql-jobs", `{"name":"orders_elsewhere","sql_body":"x"}`)
	e.batchResults("/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(a)+`}`)
	e.clock.Advance(5 * time.Second)

	for _, tc := range []struct {
		query string
		want  []int64
		total int
	}{
		{"", []int64{c, b, a}, 3},
		{"order=asc", []int64{a, b, c}, 3},
		{"job_type=flink_sql_job", []int64{c, a}, 2},
		{"job_type=flink_jar_job", []int64{b}, 1},
		{"status=job_running", []int64{a}, 1},
		{"status=job_init", []int64{c, b}, 2},
		{"queue_name=q1", []int64{c, a}, 2},
		{"name=orders", []int64{b, a}, 2}, // contains, case-insensitive
		{"name=orders_stream", []int64{a}, 1},
		{"user_name=emulator", []int64{c, b, a}, 3},
		{"user_name=bob", nil, 0},
		{"tags=pipeline%3Dp", []int64{a}, 1},
		{"tags=pipeline%3Dq", nil, 0},
		{"limit=2", []int64{c, b}, 3},
		{"limit=2&offset=2", []int64{a}, 3},
		{"offset=5", nil, 3},
		{"show_detail=true&order=asc", []int64{a, b, c}, 3},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := e.do("GET", "/v1.0/p1/streaming/jobs?"+tc.query, "")
			if r.status != http.StatusOK || r.body["is_success"] != true || r.body["message"] != "Querying of the job list succeeds." {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			list := r.body["job_list"].(map[string]any)
			if got := num(t, list, "total_count"); got != int64(tc.total) {
				t.Errorf("total_count = %d, want %d", got, tc.total)
			}
			var got []int64
			for _, j := range list["jobs"].([]any) {
				got = append(got, num(t, j.(map[string]any), "job_id"))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("jobs = %v, want %v", got, tc.want)
			}
		})
	}

	r := e.do("GET", "/v1.0/p1/streaming/jobs?name=orders_stream", "")
	l := r.body["job_list"].(map[string]any)["jobs"].([]any)[0].(map[string]any)
	wantTypes(t, l, map[string]string{
		"job_id": "number", "name": "string", "desc": "string", "username": "string", "user_name": "string",
		"job_type": "string", "status": "string", "status_desc": "string", "create_time": "number",
		"start_time": "number", "duration": "number", "root_id": "number", "graph_editor_enabled": "bool",
		"has_savepoint": "bool", "sql_body": "string", "job_config": "object", "main_class": "string",
		"execution_graph": "string", "update_time": "number",
	})
	for k, want := range map[string]any{
		"status": "job_running", "username": "emulator", "user_name": "emulator", "job_type": "flink_sql_job",
		"create_time": float64(t0.UnixMilli()), "start_time": float64(t0.Add(2 * time.Second).UnixMilli()),
		"duration": 5000.0, "root_id": -1.0, "has_savepoint": false,
	} {
		if l[k] != want {
			t.Errorf("listed %s = %#v, want %#v", k, l[k], want)
		}
	}
	r = e.do("GET", "/v1.0/p1/streaming/jobs?show_detail=true&name=clicks", "")
	d := r.body["job_list"].(map[string]any)["jobs"].([]any)[0].(map[string]any)
	if d["user_id"] == "" || d["project_id"] != "p1" || d["queue_name"] != "q1" || d["start_time"] != 0.0 {
		t.Errorf("detailed entry = %v", d)
	}
	if _, ok := d["duration"]; ok {
		t.Error("show_detail entry has the summary's duration")
	}

	for _, q := range []string{"limit=0", "limit=101", "offset=-1", "order=newest", "status=job_success", "job_type=spark",
		"show_detail=maybe", "tags=novalue"} {
		t.Run("invalid "+q, func(t *testing.T) {
			wantError(t, e.do("GET", "/v1.0/p1/streaming/jobs?"+q, ""), http.StatusBadRequest, "DLI.0001", "")
		})
	}
}

func TestFlinkDelete(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	running := e.createFlink("sql-jobs", flinkSQL("running"))
	idle := e.createFlink("sql-jobs", flinkSQL("idle"))
	e.batchResults("/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(running)+`}`)
	e.clock.Advance(3 * time.Second)

	r := e.do("DELETE", "/v1.0/p1/streaming/jobs/"+itoa(running), "")
	if r.status != http.StatusOK || r.body["is_success"] != true || r.body["message"] != "The job is deleted successfully." {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	wantError(t, e.do("GET", "/v1.0/p1/streaming/jobs/"+itoa(running), ""), http.StatusBadRequest, "DLI.0002", "Flink job "+itoa(running))
	wantError(t, e.do("DELETE", "/v1.0/p1/streaming/jobs/"+itoa(running), ""), http.StatusBadRequest, "DLI.0002", "does not exist")
	wantError(t, e.do("DELETE", "/v1.0/p1/streaming/jobs/x1", ""), http.StatusBadRequest, "DLI.0001", "Long")
	wantError(t, e.do("POST", "/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(running)+`}`), http.StatusBadRequest, "DLI.0002", "")
	if got := e.do("GET", "/v1.0/p1/streaming/jobs", "").body["job_list"].(map[string]any)["total_count"]; got != 1.0 {
		t.Errorf("total_count after delete = %v, want 1", got)
	}
	// The record is kept, and the run ended with the delete.
	j, ok := e.emu.FlinkJob(running)
	if !ok || !j.Deleted || !j.DeletedAt.Equal(t0.Add(3*time.Second)) || j.Status != "job_cancel_success" {
		t.Errorf("FlinkJob = %+v, %v", j, ok)
	}
	// The name is free again.
	e.createFlink("sql-jobs", flinkSQL("running"))

	// A job deleted in another project's path is not found.
	wantError(t, e.do("DELETE", "/v1.0/p2/streaming/jobs/"+itoa(idle), ""), http.StatusBadRequest, "DLI.0002", "")
	if j, _ := e.emu.FlinkJob(idle); j.Deleted || j.Status != "job_init" {
		t.Errorf("idle = %+v", j)
	}
	jobs := e.emu.FlinkJobs()
	if len(jobs) != 3 || jobs[0].ID != running || jobs[1].ID != idle || jobs[2].Name != "running" || jobs[2].Deleted {
		t.Errorf("FlinkJobs = %+v", jobs)
	}
}

func TestFlinkConcurrent(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5 {
				name := "job_" + itoa(int64(g)) + "_" + itoa(int64(i))
				id := e.createFlink("sql-jobs", flinkSQL(name))
				e.batchResults("/v1.0/p1/streaming/jobs/run", `{"job_ids":`+ids(id)+`}`)
				e.clock.Advance(time.Second)
				if s := e.flinkStatus(id); s != "job_submitting" && s != "job_running" {
					t.Errorf("%s: %s", name, s)
				}
				e.do("GET", "/v1.0/p1/streaming/jobs?limit=100", "")
				e.emu.FlinkJobs()
			}
		})
	}
	wg.Wait()
	jobs := e.emu.FlinkJobs()
	seen := map[int64]bool{}
	for _, j := range jobs {
		seen[j.ID] = true
		if j.Runs != 1 {
			t.Errorf("%s: Runs %d", j.Name, j.Runs)
		}
	}
	if len(jobs) != 20 || len(seen) != 20 {
		t.Errorf("%d jobs with %d distinct IDs, want 20", len(jobs), len(seen))
	}
	if n := e.emu.Calls()["dli POST /v1.0/{project_id}/streaming/jobs/run"]; n != 20 {
		t.Errorf("run calls = %d, want 20", n)
	}
}
