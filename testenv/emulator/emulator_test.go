package emulator_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

func TestAuthRequired(t *testing.T) {
	e := newEnv(t, time.Second)
	for _, tc := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"no credentials", []string{"Accept", "application/json"}, http.StatusUnauthorized},
		{"empty token", []string{"X-Auth-Token", ""}, http.StatusUnauthorized},
		{"Authorization without X-Sdk-Date", []string{"Authorization", "SDK-HMAC-SHA256 Access=AK"}, http.StatusUnauthorized},
		{"X-Sdk-Date without Authorization", []string{"X-Sdk-Date", "20240506T070809Z"}, http.StatusUnauthorized},
		{"any token", []string{"X-Auth-Token", "whatever"}, http.StatusOK},
		{"AK/SK", []string{"Authorization", "SDK-HMAC-SHA256 Access=AK", "X-Sdk-Date", "20240506T070809Z"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/v1.0/p1/jobs", "", tc.headers...)
			if tc.want == http.StatusOK {
				if r.status != http.StatusOK || r.body["is_success"] != true {
					t.Errorf("status = %d, body %s; want 200 and is_success", r.status, r.raw)
				}
				return
			}
			wantError(t, r, http.StatusUnauthorized, "APIG.1002", "Incorrect token or token resolution failed")
		})
	}

	r := e.do("POST", "/v1.0/p1/jobs/submit-job", `{"sql":"select 1"}`, "Accept", "application/json")
	wantError(t, r, http.StatusUnauthorized, "APIG.1002", "Incorrect token")
	if n := len(e.emu.DLIJobs()); n != 0 {
		t.Errorf("an unauthenticated submit created %d jobs", n)
	}
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t, time.Second)
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/v1.0/p1/nothing", http.StatusNotFound, "DLI.0023", ""},
		{"GET", "/", http.StatusNotFound, "DLI.0023", ""},
		{"GET", "/v1.0/p1/jobs/", http.StatusNotFound, "DLI.0023", ""},
		{"POST", "/v1.0/p1/jobs", http.StatusMethodNotAllowed, "DLI.0007", "GET"},
		{"GET", "/v3/auth/tokens", http.StatusMethodNotAllowed, "DLI.0007", "POST"},
		{"PUT", "/v1.0/p1/jobs/abc/status", http.StatusMethodNotAllowed, "DLI.0007", "GET"},
		// submit-job is also a valid {job_id} segment for DELETE (cancel).
		{"GET", "/v1.0/p1/jobs/submit-job", http.StatusMethodNotAllowed, "DLI.0007", "POST, DELETE"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := e.do(tc.method, tc.path, "")
			wantError(t, r, tc.status, tc.code, tc.path)
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestCalls(t *testing.T) {
	e := newEnv(t, time.Second)
	id := e.submit(`{"sql":"select 1"}`)
	e.status(id)
	e.status(id)
	e.do("GET", "/v1.0/p1/jobs", "")
	e.do("GET", "/v1.0/p1/jobs", "", "Accept", "*/*") // rejected, still counted
	e.do("GET", "/nowhere", "")                       // matches no route, not counted
	e.do("POST", "/v3/auth/tokens", tokenBody(`{"id":"p1"}`), "Content-Type", "application/json")

	want := map[string]int{
		"POST /v1.0/{project_id}/jobs/submit-job":     1,
		"GET /v1.0/{project_id}/jobs/{job_id}/status": 2,
		"GET /v1.0/{project_id}/jobs":                 2,
		"POST /v3/auth/tokens":                        1,
	}
	got := e.emu.Calls()
	if len(got) != len(want) {
		t.Errorf("Calls() = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("Calls()[%q] = %d, want %d", k, got[k], n)
		}
	}
	got["POST /v3/auth/tokens"] = 99
	if e.emu.Calls()["POST /v3/auth/tokens"] != 1 {
		t.Error("Calls() returned the emulator's own map")
	}
}

func TestStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emu := emulator.New(emulator.Options{})
	base, err := emu.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") {
		t.Fatalf("base URL = %q, want http://127.0.0.1:<port>", base)
	}

	req, _ := http.NewRequest("GET", base+"/v1.0/p1/jobs", nil)
	req.Header.Set("X-Auth-Token", "t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"job_count":0`) {
		t.Errorf("GET jobs: %d %s", resp.StatusCode, body)
	}

	addr := strings.TrimPrefix(base, "http://")
	if _, err := emu.Start(ctx, addr); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("Start on a busy port: err = %v, want one saying the port is in use", err)
	}

	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			l.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("port still busy 5s after ctx was cancelled: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
