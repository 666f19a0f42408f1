package emulator_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// admin sends a request to the admin API and decodes the JSON answer.
func admin(t *testing.T, srv *httptest.Server, method, path, body string) (int, any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, v
}

// jsonOf round-trips v through JSON, to compare it with a decoded answer.
func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func wantAdmin(t *testing.T, srv *httptest.Server, method, path, body string, status int, want string) any {
	t.Helper()
	got, v := admin(t, srv, method, path, body)
	if got != status {
		t.Errorf("%s %s: status %d, want %d (%v)", method, path, got, status, v)
	}
	if want != "" && !reflect.DeepEqual(v, jsonOf(t, want)) {
		b, _ := json.Marshal(v)
		t.Errorf("%s %s:\n%s\nwant\n%s", method, path, b, want)
	}
	return v
}

func TestAdminAPI(t *testing.T) {
	e := newEnv(t, 10*time.Second)
	srv := httptest.NewServer(e.emu.AdminHandler())
	defer srv.Close()

	// Rules: add one, see it work on a job, clear them.
	wantAdmin(t, srv, "GET", "/rules", "", 200, `[]`)
	wantAdmin(t, srv, "POST", "/rules", `{"service":"dli","match":"orders","duration":"1m30s","fail_message":"boom","fail_first":1}`, 201,
		`[{"service":"dli","match":"orders","duration":"1m30s","fail_message":"boom","fail_first":1}]`)
	id := e.submit(`{"sql":"insert into orders select 1"}`)
	e.clock.Advance(90 * time.Second)
	if s := e.status(id).body["status"]; s != "FAILED" {
		t.Errorf("job under the admin rule: %v, want FAILED", s)
	}
	wantAdmin(t, srv, "GET", "/rules", "", 200,
		`[{"service":"dli","match":"orders","duration":"1m30s","fail_message":"boom","fail_first":1,"failed":1}]`)
	wantAdmin(t, srv, "POST", "/rules", `{"servce":"dli"}`, 400, `{"error":"invalid body: json: unknown field \"servce\""}`)
	wantAdmin(t, srv, "POST", "/rules", `{"service":"s3"}`, 400, "")
	wantAdmin(t, srv, "POST", "/rules", `{"duration":"soon"}`, 400, "")
	wantAdmin(t, srv, "DELETE", "/rules", "", 204, "")
	if n := len(e.emu.Rules()); n != 0 {
		t.Errorf("%d rules after DELETE /rules", n)
	}

	// Calls.
	wantAdmin(t, srv, "GET", "/calls", "", 200,
		`{"dli POST /v1.0/{project_id}/jobs/submit-job":1,"dli GET /v1.0/{project_id}/jobs/{job_id}/status":1}`)

	// Faults.
	wantAdmin(t, srv, "GET", "/faults", "", 200, `{"seed":1,"faults":[]}`)
	wantAdmin(t, srv, "POST", "/faults", `{"kind":"latency","service":"dli","latency":"1ms","count":1}`, 201,
		`{"id":1,"kind":"latency","service":"dli","latency":"1ms","count":1,"hits":0}`)
	wantAdmin(t, srv, "POST", "/faults", `{"kind":"error","route":"GET /v1.0/{project_id}/jobs","rate":0.5}`, 201,
		`{"id":2,"kind":"error","route":"GET /v1.0/{project_id}/jobs","rate":0.5,"status":503,"hits":0}`)
	wantAdmin(t, srv, "POST", "/faults", `{"kind":"meteor"}`, 400,
		`{"error":"unknown fault kind \"meteor\" (want error, latency, drop, response_lost or slow_service)"}`)
	e.status(id)
	wantAdmin(t, srv, "GET", "/faults", "", 200, `{"seed":1,"faults":[
		{"id":1,"kind":"latency","service":"dli","latency":"1ms","count":1,"hits":1},
		{"id":2,"kind":"error","route":"GET /v1.0/{project_id}/jobs","rate":0.5,"status":503,"hits":0}]}`)
	wantAdmin(t, srv, "PUT", "/faults/seed", `{"seed":42}`, 200, `{"seed":42}`)
	wantAdmin(t, srv, "DELETE", "/faults/1", "", 204, "")
	wantAdmin(t, srv, "DELETE", "/faults/1", "", 404, `{"error":"no fault \"1\""}`)
	wantAdmin(t, srv, "DELETE", "/faults", "", 204, "")
	if n := len(e.emu.Faults()); n != 0 {
		t.Errorf("%d faults after DELETE /faults", n)
	}

	// Limits (newEnv disables them).
	_, defaults := e.emu.RateLimits()
	v := wantAdmin(t, srv, "GET", "/limits", "", 200, "").(map[string]any)
	if v["enabled"] != false || len(v["limits"].([]any)) != len(defaults) {
		t.Errorf("GET /limits = %v, want disabled with the %d default limits", v, len(defaults))
	}
	v = wantAdmin(t, srv, "PUT", "/limits", `{"enabled":true,"limits":[{"service":"dli","route":"GET /v1.0/{project_id}/jobs","per_minute":1}]}`, 200, "").(map[string]any)
	if v["enabled"] != true || len(v["limits"].([]any)) != len(defaults) || !slices.ContainsFunc(v["limits"].([]any), func(l any) bool {
		m := l.(map[string]any)
		return m["service"] == "dli" && m["route"] == "GET /v1.0/{}/jobs" && m["per_minute"] == 1.0
	}) {
		t.Errorf("PUT /limits = %v, want DLI's list replaced with 1/min", v)
	}
	e.do("GET", "/v1.0/p1/jobs", "")
	if r := e.do("GET", "/v1.0/p1/jobs", ""); r.status != http.StatusTooManyRequests {
		t.Errorf("second list under a 1/min limit: %d", r.status)
	}
	wantAdmin(t, srv, "PUT", "/limits", `{"limits":[{"service":"nope","route":"GET /","per_minute":1}]}`, 400, "")

	// Resources: DLI SQL jobs plug in through addDumper.
	res := wantAdmin(t, srv, "GET", "/resources/dli", "", 200, "").(map[string]any)
	jobs, _ := res["sql_jobs"].([]any)
	if len(jobs) != 1 || jobs[0].(map[string]any)["ID"] != id || jobs[0].(map[string]any)["Status"] != "FAILED" {
		t.Errorf("GET /resources/dli = %v, want the one failed SQL job", res)
	}
	all := wantAdmin(t, srv, "GET", "/resources", "", 200, "").(map[string]any)
	if len(all) != len(emulator.Services()) || !reflect.DeepEqual(all["dli"], any(res)) {
		t.Errorf("GET /resources = %v, want every service and DLI's jobs", all)
	}
	wantAdmin(t, srv, "GET", "/resources/s3", "", 404, `{"error":"no service \"s3\""}`)

	// Tokens and state.
	e.do("POST", "/v3/auth/tokens", tokenBody(`{"id":"p9"}`), "Content-Type", "application/json")
	toks := wantAdmin(t, srv, "GET", "/tokens", "", 200, "").([]any)
	if len(toks) != 1 || toks[0].(map[string]any)["User"] != "alice" || toks[0].(map[string]any)["ProjectID"] != "p9" {
		t.Errorf("GET /tokens = %v", toks)
	}
	wantAdmin(t, srv, "POST", "/state/save", "", 400, `{"error":"emulator: no state file configured"}`)
	v = wantAdmin(t, srv, "GET", "/", "", 200, "").(map[string]any)
	if len(v["endpoints"].([]any)) != 15 {
		t.Errorf("GET / = %v", v)
	}
}

func TestStartServesAdmin(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emu := emulator.New(emulator.Options{})
	urls, err := emu.Start(ctx, "127.0.0.1", emulator.PortsWithAdmin(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(urls) != len(emulator.Services())+1 || !strings.HasPrefix(urls[emulator.Admin], "http://127.0.0.1:") {
		t.Fatalf("urls = %v, want the services and admin", urls)
	}
	resp, err := http.Get(urls[emulator.Admin] + "/calls")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET admin /calls: %d", resp.StatusCode)
	}
	if p := emulator.PortsWithAdmin(8300); p[emulator.Admin] != 8306 || p[emulator.DLF] != 8305 {
		t.Errorf("PortsWithAdmin(8300) = %v", p)
	}
}
