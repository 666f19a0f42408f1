package emulator_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// disJob is how long DIS streams take to create and dump tasks to start
// in these tests unless a rule says otherwise.
const disJob = 10 * time.Second

// disIDRE matches the stream and task IDs of the samples.
var disIDRE = regexp.MustCompile(`^[A-Za-z0-9]{19}$`)

// newDISEnv serves a fresh emulator's DIS handler.
func newDISEnv(t *testing.T) *env {
	t.Helper()
	clock := &fakeClock{t: t0}
	emu := emulator.New(testOptions(clock, disJob))
	srv := httptest.NewServer(emu.Handler(emulator.DIS))
	t.Cleanup(srv.Close)
	return &env{t: t, emu: emu, srv: srv, clock: clock}
}

// disWant checks a response's status.
func (r response) disWant(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d (body %s)", r.status, status, r.raw)
	}
	return r
}

// disCreateStream creates a stream in project p1 from a JSON body.
func (e *env) disCreateStream(body string) {
	e.t.Helper()
	r := e.do("POST", "/v2/p1/streams", body).disWant(e.t, http.StatusCreated)
	if r.raw != "" {
		e.t.Errorf("create stream answered a body: %s", r.raw)
	}
}

// disRunningStream creates a stream with n partitions and waits it out of
// CREATING.
func (e *env) disRunningStream(name string, n int) {
	e.t.Helper()
	e.disCreateStream(fmt.Sprintf(`{"stream_name":%q,"partition_count":%d}`, name, n))
	e.clock.Advance(disJob)
}

// disPut uploads records to stream and returns the response.
func (e *env) disPut(stream string, records string) response {
	e.t.Helper()
	return e.do("POST", "/v2/p1/records", fmt.Sprintf(`{"stream_name":%q,"records":%s}`, stream, records))
}

// disPutData uploads one record per string to partition 0.
func (e *env) disPutData(stream string, data ...string) {
	e.t.Helper()
	recs := "["
	for i, d := range data {
		if i > 0 {
			recs += ","
		}
		recs += fmt.Sprintf(`{"data":%q,"partition_id":"0","partition_key":"k%d"}`, disB64(d), i)
	}
	r := e.disPut(stream, recs+"]").disWant(e.t, http.StatusOK)
	if n := num(e.t, r.body, "failed_record_count"); n != 0 {
		e.t.Fatalf("failed_record_count = %d: %s", n, r.raw)
	}
}

// disCursor gets a cursor; params are query key/value pairs.
func (e *env) disCursor(params ...string) response {
	e.t.Helper()
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	return e.do("GET", "/v2/p1/cursors?"+q.Encode(), "")
}

// disCursorOf gets a cursor and returns it.
func (e *env) disCursorOf(params ...string) string {
	e.t.Helper()
	r := e.disCursor(params...).disWant(e.t, http.StatusOK)
	c, _ := r.body["partition_cursor"].(string)
	if c == "" || len(c) > 512 {
		e.t.Fatalf("partition_cursor = %q, want 1 to 512 characters", c)
	}
	return c
}

// disGet downloads from a cursor and returns the decoded data and the next
// cursor.
func (e *env) disGet(cursor string, extra ...string) (data []string, next string, r response) {
	e.t.Helper()
	q := url.Values{"partition-cursor": {cursor}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	r = e.do("GET", "/v2/p1/records?"+q.Encode(), "").disWant(e.t, http.StatusOK)
	for _, rec := range disArr(e.t, r.body["records"]) {
		raw, err := base64.StdEncoding.DecodeString(disObj(e.t, rec)["data"].(string))
		if err != nil {
			e.t.Fatal(err)
		}
		data = append(data, string(raw))
	}
	next, _ = r.body["next_partition_cursor"].(string)
	return data, next, r
}

func disB64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func disObj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%#v is not an object", v)
	}
	return m
}

func disArr(t *testing.T, v any) []any {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%#v is not an array", v)
	}
	return a
}

// disWantFields checks that body has these values (numbers as float64).
func disWantFields(t *testing.T, body map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got, ok := body[k]; !ok || got != v {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
}

// disDescribeStream returns the stream's details.
func (e *env) disDescribeStream(name string) map[string]any {
	e.t.Helper()
	return e.do("GET", "/v2/p1/streams/"+name, "").disWant(e.t, http.StatusOK).body
}

// disTasksOf lists the dump tasks of a stream by name.
func (e *env) disTasksOf(stream string) map[string]map[string]any {
	e.t.Helper()
	r := e.do("GET", "/v2/p1/streams/"+stream+"/transfer-tasks", "").disWant(e.t, http.StatusOK)
	out := map[string]map[string]any{}
	for _, x := range disArr(e.t, r.body["tasks"]) {
		o := disObj(e.t, x)
		out[o["task_name"].(string)] = o
	}
	return out
}

// disTaskAction posts a batch action naming the tasks by ID.
func (e *env) disTaskAction(stream, action string, ids ...string) response {
	e.t.Helper()
	tasks := ""
	for i, id := range ids {
		if i > 0 {
			tasks += ","
		}
		tasks += fmt.Sprintf(`{"id":%q}`, id)
	}
	return e.do("POST", "/v2/p1/streams/"+stream+"/transfer-tasks/action",
		fmt.Sprintf(`{"action":%q,"tasks":[%s]}`, action, tasks))
}

// disOBSTask is a minimal OBS dump task body.
func disOBSTask(name string) string {
	return fmt.Sprintf(`{"destination_type":"OBS","obs_destination_descriptor":{"task_name":%q,"agency_name":"dis_admin_agency",`+
		`"deliver_time_interval":30,"obs_bucket_path":"bucket"}}`, name)
}
