package emulator_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

const (
	// §10.1.1's request sample (@7700). As printed, its "groups" array is
	// not valid JSON (the second group lacks its opening brace and the
	// array its closing bracket); those two characters are restored.
	sampleSparkCreate = `{
 "file": "batchTest/spark-examples_2.11-2.1.0.luxor.jar",
 "class_name": "org.apache.spark.examples.SparkPi",
 "sc_type": "A",
 "jars": ["demo-1.0.0.jar"],
 "files": ["count.txt"],
 "resources": [
 {"name": "groupTest/testJar.jar", "type": "jar"},
 {"name": "kafka-clients-0.10.0.0.jar", "type": "jar"}
],
 "groups": [
{
 "name": "groupTestJar", "resources": [{"name": "testJar.jar", "type": "jar"}, {"name":
"testJar1.jar", "type": "jar"}]},
 {"name": "batchTest", "resources": [{"name": "luxor.jar", "type": "jar"}]}],
 "queue": " test",
 "name": "TestDemo4"
}`
	// The getting-started sample of §4.3 (@880), in camelCase.
	sampleSparkGettingStarted = `{
  "sc_type": "A",
  "jars": [
    "spark-examples_2.11-2.1.0.luxor.jar"
  ],
  "driverMemory": "1G",
  "driverCores": 1,
  "executorMemory": "1G",
  "executorCores": 1,
  "numExecutors": 1,
  "queue": "cce_general",
  "file":
  "spark-examples_2.11-2.1.0.luxor.jar",
  "className":
  "org.apache.spark.examples.SparkPi",
  "minRecoveryDelayTime": 10000,
  "maxRetryTimes": 20
}`
)

var appIDRE = regexp.MustCompile(`^application_\d{13}_\d{4}$`)

// createBatch creates a batch in p1 and returns the response body.
func (e *env) createBatch(body string) map[string]any {
	e.t.Helper()
	r := e.do("POST", "/v2.0/p1/batches", body)
	if r.status != http.StatusOK {
		e.t.Fatalf("create batch: %d %s", r.status, r.raw)
	}
	if id, _ := r.body["id"].(string); !uuidRE.MatchString(id) {
		e.t.Fatalf("create batch: id %v is not a UUID: %s", r.body["id"], r.raw)
	}
	return r.body
}

func (e *env) batchState(id string) string {
	e.t.Helper()
	r := e.do("GET", "/v2.0/p1/batches/"+id+"/state", "")
	if r.status != http.StatusOK || len(r.body) != 2 || r.body["id"] != id {
		e.t.Fatalf("state of %s: %d %s", id, r.status, r.raw)
	}
	s, _ := r.body["state"].(string)
	return s
}

var batchFields = map[string]string{
	"id": "string", "appId": "string", "name": "string", "owner": "string", "proxyUser": "string",
	"state": "string", "kind": "string", "log": "array", "sc_type": "string", "cluster_name": "string",
	"queue": "string", "create_time": "number", "update_time": "number",
}

func TestSparkSamples(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	b := e.createBatch(sampleSparkCreate)
	wantTypes(t, b, batchFields)
	if _, ok := b["is_success"]; ok {
		t.Error("batch responses carry no is_success envelope")
	}
	for k, want := range map[string]any{
		"appId": "", "name": "TestDemo4", "owner": "emulator", "proxyUser": "", "state": "starting", "kind": "",
		"sc_type": "A", "cluster_name": "test", "queue": "test",
		"create_time": float64(t0.UnixMilli()), "update_time": float64(t0.UnixMilli()),
	} {
		if b[k] != want {
			t.Errorf("%s = %#v, want %#v", k, b[k], want)
		}
	}
	if len(b) != len(batchFields) {
		t.Errorf("fields = %v, want exactly %d", b, len(batchFields))
	}
	s, _ := e.emu.SparkBatch(b["id"].(string))
	if s.Queue != "test" || s.File != "batchTest/spark-examples_2.11-2.1.0.luxor.jar" || s.ClassName != "org.apache.spark.examples.SparkPi" ||
		!slices.Equal(s.Jars, []string{"demo-1.0.0.jar"}) || !slices.Equal(s.Files, []string{"count.txt"}) || s.ProjectID != "p1" {
		t.Errorf("SparkBatch = %+v", s)
	}

	g := e.createBatch(sampleSparkGettingStarted)
	// Driver and executor settings override the resource type.
	if g["sc_type"] != "CUSTOMIZED" || g["queue"] != "cce_general" || g["name"] != "" {
		t.Errorf("getting-started batch = %v", g)
	}
	if s, _ := e.emu.SparkBatch(g["id"].(string)); s.ClassName != "org.apache.spark.examples.SparkPi" {
		t.Errorf("className alias not read: %+v", s)
	}
	// cluster_name is the legacy name of queue; conf may be an object or an array.
	c := e.createBatch(`{"file":"a.jar","class_name":"Main","cluster_name":"legacy","conf":{"spark.sql.shuffle.partitions":"10"}}`)
	if c["queue"] != "legacy" || c["cluster_name"] != "legacy" {
		t.Errorf("cluster_name batch = %v", c)
	}
	if s, _ := e.emu.SparkBatch(c["id"].(string)); s.Conf != `{"spark.sql.shuffle.partitions":"10"}` {
		t.Errorf("Conf = %q", s.Conf)
	}
	e.createBatch(`{"file":"a.jar","class_name":"Main","queue":"q","conf":[{"spark.a":"1"}],"modules":["sys.datasource.rds"],"catalog_name":"dli"}`)
}

func TestSparkLifecycle(t *testing.T) {
	e := newEnv(t, 10*time.Second) // starting 2s, running until 10s
	id := e.createBatch(`{"file":"etl.jar","class_name":"com.acme.Etl","queue":"flink_general","name":"nightly","args":["--day","1"]}`)["id"].(string)
	for i, step := range []struct {
		at     time.Duration
		state  string
		update time.Duration // update_time since create
		app    bool
	}{
		{0, "starting", 0, false},
		{1999 * time.Millisecond, "starting", 0, false},
		{2 * time.Second, "running", 2 * time.Second, true},
		{9999 * time.Millisecond, "running", 2 * time.Second, true},
		{10 * time.Second, "success", 10 * time.Second, true},
		{time.Hour, "success", 10 * time.Second, true},
	} {
		e.clock.Set(t0.Add(step.at))
		if s := e.batchState(id); s != step.state {
			t.Errorf("at %v: state %s, want %s", step.at, s, step.state)
		}
		r := e.do("GET", "/v2.0/p1/batches/"+id, "")
		wantTypes(t, r.body, batchFields)
		if r.body["state"] != step.state || r.body["update_time"] != float64(t0.Add(step.update).UnixMilli()) ||
			appIDRE.MatchString(r.body["appId"].(string)) != step.app {
			t.Errorf("at %v: details %s", step.at, r.raw)
		}
		if s, _ := e.emu.SparkBatch(id); s.StateCalls != i+1 || s.State != step.state {
			t.Errorf("at %v: SparkBatch state %s, StateCalls %d", step.at, s.State, s.StateCalls)
		}
	}
	s, _ := e.emu.SparkBatch(id)
	if !s.EndedAt.Equal(t0.Add(10*time.Second)) || s.Message != "" || s.Cancelled || s.Name != "nightly" ||
		!slices.Equal(s.Args, []string{"--day", "1"}) || !appIDRE.MatchString(s.AppID) {
		t.Errorf("SparkBatch = %+v", s)
	}
	// Finished batches cannot be cancelled.
	wantError(t, e.do("DELETE", "/v2.0/p1/batches/"+id, ""), http.StatusBadRequest, "DLI.0007", "is success")

	r := e.do("GET", "/v2.0/p1/batches/"+id+"/log", "")
	if r.status != http.StatusOK || r.body["id"] != id || r.body["from"] != 0.0 || r.body["total"] != 3.0 {
		t.Fatalf("log: %d %s", r.status, r.raw)
	}
	log := toStrings(r.body["log"])
	if len(log) != 3 || !strings.Contains(log[0], "submitted to queue flink_general") ||
		!strings.Contains(log[1], s.AppID+" (state: RUNNING)") || !strings.Contains(log[2], "final status SUCCEEDED") {
		t.Errorf("log = %q", log)
	}
}

func TestSparkRules(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Match: "broken", Duration: 5 * time.Second, FailMessage: "java.io.FileNotFoundException: obs://bucket/in"})
	e.emu.AddRule(emulator.Rule{Match: "forever", Hang: true})
	e.emu.AddRule(emulator.Rule{Match: "com.acme.Flaky", FailMessage: "OOM", FailFirst: 1})
	broken := e.createBatch(`{"file":"a.jar","class_name":"Main","queue":"q","name":"broken"}`)["id"].(string)
	forever := e.createBatch(`{"file":"a.jar","class_name":"Main","queue":"q","name":"forever"}`)["id"].(string)
	// Unnamed batches match rules by class name.
	flaky1 := e.createBatch(`{"file":"a.jar","class_name":"com.acme.Flaky","queue":"q"}`)["id"].(string)
	flaky2 := e.createBatch(`{"file":"a.jar","class_name":"com.acme.Flaky","queue":"q"}`)["id"].(string)

	e.clock.Set(t0.Add(4 * time.Second))
	if s := e.batchState(broken); s != "running" {
		t.Errorf("broken at 4s: %s", s)
	}
	e.clock.Set(t0.Add(time.Hour))
	for id, want := range map[string]string{broken: "dead", forever: "running", flaky1: "dead", flaky2: "success"} {
		if s := e.batchState(id); s != want {
			t.Errorf("batch %s: %s, want %s", id, s, want)
		}
	}
	s, _ := e.emu.SparkBatch(broken)
	if s.Message != "java.io.FileNotFoundException: obs://bucket/in" || !s.EndedAt.Equal(t0.Add(5*time.Second)) || s.Cancelled {
		t.Errorf("SparkBatch(broken) = %+v", s)
	}
	r := e.do("GET", "/v2.0/p1/batches/"+broken+"/log", "")
	if log := toStrings(r.body["log"]); log[len(log)-1] != "YARN Diagnostics: java.io.FileNotFoundException: obs://bucket/in" {
		t.Errorf("log of a dead batch = %q", log)
	}
	wantError(t, e.do("DELETE", "/v2.0/p1/batches/"+broken, ""), http.StatusBadRequest, "DLI.0007", "is dead")

	// A hanging batch runs until cancelled; cancelling makes it dead.
	r = e.do("DELETE", "/v2.0/p1/batches/"+forever, "")
	if r.status != http.StatusOK || r.raw != "{\"msg\":\"deleted\"}\n" {
		t.Fatalf("cancel: %d %q", r.status, r.raw)
	}
	e.clock.Advance(time.Hour)
	if st := e.batchState(forever); st != "dead" {
		t.Errorf("cancelled batch: %s, want dead", st)
	}
	f, _ := e.emu.SparkBatch(forever)
	if !f.Cancelled || f.Message != "" || !f.EndedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("SparkBatch(forever) = %+v", f)
	}
	if log := toStrings(e.do("GET", "/v2.0/p1/batches/"+forever+"/log", "").body["log"]); !strings.Contains(log[len(log)-1], "was cancelled") {
		t.Errorf("log = %q", log)
	}
	wantError(t, e.do("DELETE", "/v2.0/p1/batches/"+forever, ""), http.StatusBadRequest, "DLI.0007", "is dead")

	// A batch cancelled while starting never gets an application.
	early := e.createBatch(`{"file":"a.jar","class_name":"Main","queue":"q"}`)["id"].(string)
	e.clock.Advance(time.Second)
	e.do("DELETE", "/v2.0/p1/batches/"+early, "")
	e.clock.Advance(time.Hour)
	if b, _ := e.emu.SparkBatch(early); b.State != "dead" || b.AppID != "" {
		t.Errorf("early cancel = %+v", b)
	}
}

func TestSparkMemoryWithoutUnit(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	id := e.createBatch(`{"file":"a.jar","class_name":"Main","queue":"q","driver_memory":"2048"}`)["id"].(string)
	ok := e.createBatch(`{"file":"a.jar","class_name":"Main","queue":"q","driver_memory":"2 GB","executor_memory":"512m"}`)["id"].(string)
	if s := e.batchState(id); s != "starting" {
		t.Errorf("at 0: %s, want starting", s)
	}
	e.clock.Advance(2 * time.Second)
	if s := e.batchState(id); s != "dead" {
		t.Errorf("at 2s: %s, want dead (startup fails)", s)
	}
	if s := e.batchState(ok); s != "running" {
		t.Errorf("batch with units: %s, want running", s)
	}
	b, _ := e.emu.SparkBatch(id)
	if !strings.Contains(b.Message, `driver_memory "2048"`) || b.AppID != "" {
		t.Errorf("SparkBatch = %+v", b)
	}
}

func TestSparkSubmitErrors(t *testing.T) {
	e := newEnv(t, time.Second)
	e.emu.AddRule(emulator.Rule{Match: "nightly", SubmitErrors: 1, SubmitStatus: http.StatusTooManyRequests})
	e.emu.AddRule(emulator.Rule{Match: "weekly", SubmitErrors: 1})
	body := `{"file":"a.jar","class_name":"Main","queue":"q","name":"nightly"}`
	r := e.do("POST", "/v2.0/p1/batches", body)
	wantError(t, r, http.StatusTooManyRequests, "DLI.0009", "too many requests")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	wantError(t, e.do("POST", "/v2.0/p1/batches", strings.Replace(body, "nightly", "weekly", 1)), http.StatusInternalServerError, "DLI.0999", "")
	if n := len(e.emu.SparkBatches()); n != 0 {
		t.Fatalf("failed creates made %d batches", n)
	}
	e.createBatch(body)
	if bs := e.emu.SparkBatches(); len(bs) != 1 || bs[0].Name != "nightly" {
		t.Errorf("SparkBatches = %+v", bs)
	}
}

func TestSparkValidation(t *testing.T) {
	e := newEnv(t, time.Second)
	for _, tc := range []struct {
		name, body, msg string
	}{
		{"empty", "", "empty"},
		{"not JSON", "{", "invalid request body"},
		{"no file", `{"class_name":"M","queue":"q"}`, "file is mandatory"},
		{"no class", `{"file":"a.jar","queue":"q"}`, "class_name is mandatory"},
		{"no queue", `{"file":"a.jar","class_name":"M"}`, "queue is mandatory"},
		{"blank queue", `{"file":"a.jar","class_name":"M","queue":"  "}`, "queue is mandatory"},
		{"queue and cluster_name", `{"file":"a.jar","class_name":"M","queue":"q","cluster_name":"q"}`, "cannot coexist"},
		{"long name", `{"file":"a.jar","class_name":"M","queue":"q","name":"` + strings.Repeat("n", 129) + `"}`, "128"},
		{"bad sc_type", `{"file":"a.jar","class_name":"M","queue":"q","sc_type":"D"}`, "sc_type"},
		{"too many retries", `{"file":"a.jar","class_name":"M","queue":"q","max_retry_times":101}`, "max_retry_times"},
		{"zero cores", `{"file":"a.jar","class_name":"M","queue":"q","executor_cores":0}`, "executor_cores"},
		{"unknown module", `{"file":"a.jar","class_name":"M","queue":"q","modules":["sys.datasource.mongo"]}`, "unknown module"},
		{"bad catalog", `{"file":"a.jar","class_name":"M","queue":"q","catalog_name":"hive"}`, "catalog_name"},
		{"conf a number", `{"file":"a.jar","class_name":"M","queue":"q","conf":5}`, "conf"},
		{"args not strings", `{"file":"a.jar","class_name":"M","queue":"q","args":[1]}`, "invalid request body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/v2.0/p1/batches", tc.body), http.StatusBadRequest, "DLI.0001", tc.msg)
		})
	}
	if n := len(e.emu.SparkBatches()); n != 0 {
		t.Errorf("rejected creates made %d batches", n)
	}
}

func TestSparkUnknownBatch(t *testing.T) {
	e := newEnv(t, time.Second)
	id := e.createBatch(`{"file":"a.jar","class_name":"M","queue":"q"}`)["id"].(string)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v2.0/p1/batches/nope"},
		{"GET", "/v2.0/p1/batches/nope/state"},
		{"GET", "/v2.0/p1/batches/nope/log"},
		{"DELETE", "/v2.0/p1/batches/nope"},
		{"GET", "/v2.0/p2/batches/" + id}, // right ID, other project
		{"GET", "/v2.0/p2/batches/" + id + "/state"},
		{"DELETE", "/v2.0/p2/batches/" + id},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			wantError(t, e.do(tc.method, tc.path, ""), http.StatusBadRequest, "DLI.0002", "batch job")
		})
	}
	if b, _ := e.emu.SparkBatch(id); b.StateCalls != 0 || b.Cancelled {
		t.Errorf("other project's calls reached the batch: %+v", b)
	}
	if _, ok := e.emu.SparkBatch("nope"); ok {
		t.Error("SparkBatch(nope) found a batch")
	}
}

func TestSparkList(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Match: "fails", Duration: time.Second, FailMessage: "x"})
	a := e.createBatch(`{"file":"a.jar","class_name":"M","queue":"q1","name":"load_orders"}`)["id"].(string)
	e.clock.Advance(time.Second)
	b := e.createBatch(`{"file":"a.jar","class_name":"M","queue":"q2","name":"fails"}`)["id"].(string)
	e.clock.Advance(time.Second)
	c := e.createBatch(`{"file":"a.jar","class_name":"M","cluster_name":"q1","name":"load_clicks"}`)["id"].(string)
	e.do("POST", "/v2.0/p2/batches", `{"file":"a.jar","class_name":"M","queue":"q1","name":"load_orders"}`)
	e.clock.Advance(time.Second) // a running, b dead, c starting

	for _, tc := range []struct {
		query string
		want  []string
		total int
	}{
		{"", []string{c, b, a}, 3},
		{"job_name=load", []string{c, a}, 2},
		{"job_name=load_orders", []string{a}, 1},
		{"job_id=" + b, []string{b}, 1},
		{"queue_name=q1", []string{c, a}, 2},
		{"cluster_name=q2", []string{b}, 1},
		{"state=dead", []string{b}, 1},
		{"state=Running", []string{a}, 1}, // compared case-insensitively
		{"state=success", nil, 0},
		{"owner=emulator", []string{c, b, a}, 3},
		{"owner=bob", nil, 0},
		{"size=2", []string{c, b}, 3},
		{"from=1&size=1", []string{b}, 3},
		{"from=3", nil, 3},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := e.do("GET", "/v2.0/p1/batches?"+tc.query, "")
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			wantTypes(t, r.body, map[string]string{"from": "number", "total": "number", "sessions": "array", "create_time": "number"})
			if got := num(t, r.body, "total"); got != int64(tc.total) {
				t.Errorf("total = %d, want %d", got, tc.total)
			}
			var got []string
			for _, s := range r.body["sessions"].([]any) {
				wantTypes(t, s.(map[string]any), batchFields)
				got = append(got, s.(map[string]any)["id"].(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("sessions = %v, want %v", got, tc.want)
			}
		})
	}
	r := e.do("GET", "/v2.0/p1/batches?from=1", "")
	if r.body["from"] != 1.0 || r.body["create_time"] != float64(t0.Add(time.Second).UnixMilli()) {
		t.Errorf("from/create_time = %v/%v", r.body["from"], r.body["create_time"])
	}
	for _, q := range []string{"from=-1", "size=0", "size=x", "state=finished", "queue_name=q1&cluster_name=q2"} {
		t.Run("invalid "+q, func(t *testing.T) {
			wantError(t, e.do("GET", "/v2.0/p1/batches?"+q, ""), http.StatusBadRequest, "DLI.0001", "")
		})
	}
}

func TestSparkLog(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	id := e.createBatch(`{"file":"a.jar","class_name":"M","queue":"q"}`)["id"].(string)
	e.clock.Advance(time.Hour) // three lines
	for _, tc := range []struct {
		query     string
		from, len int
	}{
		{"", 0, 3},
		{"from=1", 1, 2},
		{"from=1&size=1", 1, 1},
		{"from=9", 3, 0},
		{"type=driver", 0, 3},
		{"type=driver&index=0", 0, 3},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := e.do("GET", "/v2.0/p1/batches/"+id+"/log?"+tc.query, "")
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			wantTypes(t, r.body, map[string]string{"id": "string", "from": "number", "total": "number", "log": "array"})
			if num(t, r.body, "from") != int64(tc.from) || num(t, r.body, "total") != 3 || len(r.body["log"].([]any)) != tc.len {
				t.Errorf("log = %s", r.raw)
			}
		})
	}
	wantError(t, e.do("GET", "/v2.0/p1/batches/"+id+"/log?index=1", ""), http.StatusBadRequest, "DLI.0002", "index 1")
	for _, q := range []string{"type=executor", "from=-1", "size=0", "index=x"} {
		wantError(t, e.do("GET", "/v2.0/p1/batches/"+id+"/log?"+q, ""), http.StatusBadRequest, "DLI.0001", "")
	}
}

func TestSparkConcurrent(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5 {
				name := url.QueryEscape("b" + itoa(int64(g*10+i)))
				id := e.createBatch(`{"file":"a.jar","class_name":"M","queue":"q","name":"` + name + `"}`)["id"].(string)
				e.clock.Advance(time.Second)
				if s := e.batchState(id); s != "starting" && s != "running" && s != "success" {
					t.Errorf("%s: %s", name, s)
				}
				e.do("GET", "/v2.0/p1/batches", "")
				e.emu.SparkBatches()
			}
		})
	}
	wg.Wait()
	bs := e.emu.SparkBatches()
	ids := map[string]bool{}
	for _, b := range bs {
		ids[b.ID] = true
	}
	if len(bs) != 20 || len(ids) != 20 {
		t.Errorf("%d batches, %d distinct IDs; want 20", len(bs), len(ids))
	}
}
