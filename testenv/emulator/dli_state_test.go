package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// stateClock is a settable clock for this internal test.
type stateClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stateClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stateClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// call invokes a DLI handler directly (no routing or authentication) with
// the given path values, and returns the response body.
func call(t *testing.T, h http.HandlerFunc, method, body string, pathValues ...string) string {
	t.Helper()
	r := httptest.NewRequest(method, "/", strings.NewReader(body))
	for i := 0; i+1 < len(pathValues); i += 2 {
		r.SetPathValue(pathValues[i], pathValues[i+1])
	}
	w := httptest.NewRecorder()
	h(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, body, w.Code, w.Body)
	}
	return w.Body.String()
}

// dliPersisted is the Flink/queue and Spark state as a state file would
// hold it.
type dliPersisted struct {
	Flink flinkState `json:"flink"`
	Spark sparkState `json:"spark"`
}

func TestDLIStateRoundTrip(t *testing.T) {
	clock := &stateClock{t: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
	opts := Options{JobDuration: 10 * time.Second, Now: clock.Now}
	e := New(opts)
	e.AddRule(Rule{Match: "fails", FailMessage: "boom"})
	p1 := []string{"project_id", "p1"}

	// Flink: a stopped job with a savepoint, a failing run, a deleted job.
	call(t, e.flinkCreateSQLJob, "POST", `{"name":"stream","sql_body":"x","checkpoint_mode":2,"edge_group_ids":["g"],"tags":[{"key":"k","value":"v"}]}`, p1...)
	call(t, e.flinkCreateJarJob, "POST", `{"name":"fails","entrypoint":"a.jar","dependency_jars":["b.jar"]}`, p1...)
	call(t, e.flinkCreateSQLJob, "POST", `{"name":"gone","sql_body":"x"}`, p1...)
	call(t, e.flinkRunJobs, "POST", `{"job_ids":[100,101,102],"resume_savepoint":true}`, p1...)
	clock.Advance(3 * time.Second)
	call(t, e.flinkStopJobs, "POST", `{"job_ids":[100],"trigger_savepoint":true}`, p1...)
	call(t, e.flinkDeleteJob, "DELETE", "", append(p1, "job_id", "102")...)
	call(t, e.flinkUpdateSQLJob, "PUT", `{"desc":"updated"}`, append(p1, "job_id", "100")...)
	// Queues, seeded by a read.
	call(t, e.dliListQueues, "GET", "", p1...)
	// Spark: a failing batch, a cancelled one with conf, one with state calls.
	call(t, e.sparkCreateBatch, "POST", `{"file":"a.jar","class_name":"M","queue":"q","name":"fails"}`, p1...)
	out := call(t, e.sparkCreateBatch, "POST", `{"file":"a.jar","class_name":"M","queue":"q","conf":{"a":"1"},"args":["x"],"driver_memory":"2G"}`, p1...)
	var created struct{ ID string }
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	call(t, e.sparkCancelBatch, "DELETE", "", append(p1, "batch_id", created.ID)...)
	call(t, e.sparkCreateBatch, "POST", `{"file":"a.jar","class_name":"M","cluster_name":"q","modules":["sys.datasource.rds"]}`, p1...)
	clock.Advance(time.Second)

	e.mu.Lock()
	data, err := json.Marshal(dliPersisted{Flink: e.flink, Spark: e.spark})
	e.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var restored dliPersisted
	if err := json.Unmarshal(data, &restored); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(restored)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Fatalf("state changed in a round trip:\n%s\n%s", data, again)
	}
	if len(restored.Flink.Jobs) != 3 || len(restored.Spark.Batches) != 3 || len(restored.Flink.Queues["p1"]) != 3 {
		t.Fatalf("restored state is incomplete: %s", data)
	}

	e2 := New(opts)
	e2.flink, e2.spark = restored.Flink, restored.Spark
	for _, step := range []time.Duration{0, 2 * time.Second, time.Hour} {
		clock.Advance(step)
		if a, b := e.FlinkJobs(), e2.FlinkJobs(); !reflect.DeepEqual(a, b) {
			t.Errorf("+%v: FlinkJobs differ after restore:\n%+v\n%+v", step, a, b)
		}
		if a, b := e.SparkBatches(), e2.SparkBatches(); !reflect.DeepEqual(a, b) {
			t.Errorf("+%v: SparkBatches differ after restore:\n%+v\n%+v", step, a, b)
		}
		if a, b := e.DLIQueues("p1"), e2.DLIQueues("p1"); !reflect.DeepEqual(a, b) {
			t.Errorf("+%v: queues differ after restore:\n%+v\n%+v", step, a, b)
		}
		for _, id := range []string{"100", "101"} {
			a := call(t, e.flinkJobDetail, "GET", "", append(p1, "job_id", id)...)
			b := call(t, e2.flinkJobDetail, "GET", "", append(p1, "job_id", id)...)
			if a != b {
				t.Errorf("+%v: details of %s differ:\n%s\n%s", step, id, a, b)
			}
		}
	}
	jobs := e2.FlinkJobs()
	if jobs[0].Status != "job_cancel_success" || jobs[0].SavepointPath == "" || jobs[0].Updates != 1 ||
		jobs[1].Status != "job_running_exception" || !jobs[2].Deleted {
		t.Errorf("restored jobs = %+v", jobs)
	}
	// New IDs continue where the restored state left off.
	out = call(t, e2.flinkCreateSQLJob, "POST", `{"name":"next","sql_body":"x"}`, p1...)
	if !strings.Contains(out, `"job_id":103`) {
		t.Errorf("create after restore = %s, want job_id 103", out)
	}
}
