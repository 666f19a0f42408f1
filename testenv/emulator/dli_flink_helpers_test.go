package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Helpers shared by the Flink, Spark, queue and SQL-extra tests.

// doRaw is do for responses that are not JSON objects (the Flink run and
// stop APIs answer with a top-level array): it returns the status, the
// headers and the body decoded into any.
func (e *env) doRaw(method, path, body string) (int, http.Header, any, string) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Auth-Token", "test-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		e.t.Fatalf("%s %s: response is not JSON: %v\n%s", method, path, err, raw)
	}
	return resp.StatusCode, resp.Header, v, string(raw)
}

// batchResults checks a 200 top-level array response of run/stop and
// returns its elements as (is_success, message) pairs.
func (e *env) batchResults(path, body string) []batchResult {
	e.t.Helper()
	status, _, v, raw := e.doRaw("POST", path, body)
	if status != http.StatusOK {
		e.t.Fatalf("POST %s: status %d: %s", path, status, raw)
	}
	arr, ok := v.([]any)
	if !ok {
		e.t.Fatalf("POST %s: want a top-level JSON array, got %s", path, raw)
	}
	var out []batchResult
	for _, x := range arr {
		o := x.(map[string]any)
		ok, isBool := o["is_success"].(bool)
		msg, isString := o["message"].(string)
		if !isBool || !isString || len(o) != 2 {
			e.t.Fatalf("POST %s: element %v, want exactly a Boolean is_success and a string message", path, o)
		}
		out = append(out, batchResult{ok, msg})
	}
	return out
}

type batchResult struct {
	ok  bool
	msg string
}

const (
	runOK  = "The request for submitting DLI jobs is delivered successfully."
	stopOK = "The request for stopping DLI jobs is delivered successfully."
)

// createFlink creates a Flink job in project p1 from body (kind "sql-jobs"
// or "flink-jobs") and returns its ID.
func (e *env) createFlink(kind, body string) int64 {
	e.t.Helper()
	return e.createFlinkIn("p1", kind, body)
}

func (e *env) createFlinkIn(project, kind, body string) int64 {
	e.t.Helper()
	r := e.do("POST", "/v1.0/"+project+"/streaming/"+kind, body)
	if r.status != http.StatusOK || r.body["is_success"] != true {
		e.t.Fatalf("create %s: status %d: %s", kind, r.status, r.raw)
	}
	job, _ := r.body["job"].(map[string]any)
	return num(e.t, job, "job_id")
}

// flinkSQL is a minimal valid Flink SQL job body.
func flinkSQL(name string) string {
	return `{"name":` + quote(name) + `,"queue_name":"flink_general","sql_body":"insert into sink select * from src"}`
}

// flinkDetail returns job_detail of a job of p1.
func (e *env) flinkDetail(id int64) map[string]any {
	e.t.Helper()
	r := e.do("GET", "/v1.0/p1/streaming/jobs/"+itoa(id), "")
	if r.status != http.StatusOK {
		e.t.Fatalf("details of %d: status %d: %s", id, r.status, r.raw)
	}
	d, ok := r.body["job_detail"].(map[string]any)
	if !ok {
		e.t.Fatalf("details of %d: no job_detail in %s", id, r.raw)
	}
	return d
}

// flinkStatus is the status the details call reports.
func (e *env) flinkStatus(id int64) string {
	e.t.Helper()
	s, _ := e.flinkDetail(id)["status"].(string)
	return s
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// ids renders job IDs as a JSON array.
func ids(ids ...int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = itoa(id)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// wantTypes checks that every key of want is present in body with the
// JSON type named: "string", "number", "bool", "array", "object".
func wantTypes(t *testing.T, body map[string]any, want map[string]string) {
	t.Helper()
	for k, typ := range want {
		v, ok := body[k]
		if !ok {
			t.Errorf("field %s missing", k)
			continue
		}
		var got string
		switch v.(type) {
		case string:
			got = "string"
		case float64:
			got = "number"
		case bool:
			got = "bool"
		case []any:
			got = "array"
		case map[string]any:
			got = "object"
		default:
			got = "null"
		}
		if got != typ {
			t.Errorf("field %s = %#v, want a %s", k, v, typ)
		}
	}
}
