package emulator_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

func TestAuthRequired(t *testing.T) {
	e := newEnv(t, time.Second) // accepts any token
	for _, tc := range []struct {
		name    string
		headers []string
		code    string // "" = 200
	}{
		{"no credentials", []string{"Accept", "application/json"}, "APIG.1002"},
		{"empty token", []string{"X-Auth-Token", ""}, "APIG.1002"},
		{"Authorization without X-Sdk-Date", []string{"Authorization", "SDK-HMAC-SHA256 Access=AK"}, "APIG.1002"},
		{"X-Sdk-Date without Authorization", []string{"X-Sdk-Date", "20240506T070809Z"}, "APIG.1002"},
		{"any token", []string{"X-Auth-Token", "whatever"}, ""},
		// AK/SK signatures are always verified.
		{"unsigned AK/SK headers", []string{"Authorization", "SDK-HMAC-SHA256 Access=AK", "X-Sdk-Date", "20240506T070809Z"}, "APIG.0301"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/v1.0/p1/jobs", "", tc.headers...)
			if tc.code == "" {
				if r.status != http.StatusOK || r.body["is_success"] != true {
					t.Errorf("status = %d, body %s; want 200 and is_success", r.status, r.raw)
				}
				return
			}
			msg := "Incorrect token or token resolution failed"
			if tc.code == "APIG.0301" {
				msg = "Incorrect IAM authentication information: "
			}
			wantError(t, r, http.StatusUnauthorized, tc.code, msg)
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
		{"GET", "/v3/auth/tokens", http.StatusMethodNotAllowed, "APIGW.0106", "POST"}, // IAM answers as the gateway
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
		"dli POST /v1.0/{project_id}/jobs/submit-job":     1,
		"dli GET /v1.0/{project_id}/jobs/{job_id}/status": 2,
		"dli GET /v1.0/{project_id}/jobs":                 2,
		"iam POST /v3/auth/tokens":                        1,
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
	got["iam POST /v3/auth/tokens"] = 99
	if e.emu.Calls()["iam POST /v3/auth/tokens"] != 1 {
		t.Error("Calls() returned the emulator's own map")
	}
}

func TestStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emu := emulator.New(emulator.Options{AcceptAnyToken: true})
	urls, err := emu.Start(ctx, "127.0.0.1", emulator.Ports(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(urls) != len(emulator.Services()) {
		t.Fatalf("urls = %v, want one per service", urls)
	}
	seen := map[string]bool{}
	for s, u := range urls {
		if !strings.HasPrefix(u, "http://127.0.0.1:") || strings.HasSuffix(u, ":0") || seen[u] {
			t.Fatalf("%s URL = %q, want its own http://127.0.0.1:<port>", s, u)
		}
		seen[u] = true
	}

	req, _ := http.NewRequest("GET", urls[emulator.DLI]+"/v1.0/p1/jobs", nil)
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

	// A busy port fails the whole start and leaves nothing listening.
	busy := strings.TrimPrefix(urls[emulator.DLI], "http://")
	_, port, _ := net.SplitHostPort(busy)
	ports := emulator.Ports(0)
	ports[emulator.DLI], _ = strconv.Atoi(port)
	if _, err := emu.Start(ctx, "127.0.0.1", ports); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("Start on a busy port: err = %v, want one saying the port is in use", err)
	}

	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := net.Listen("tcp", busy)
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

// TestConcurrentGateway runs logins, signed and token requests, rate
// limits, faults, admin reads and state saves at once, for -race.
func TestConcurrentGateway(t *testing.T) {
	emu := emulator.New(emulator.Options{StateFile: t.TempDir() + "/state.json"})
	emu.SetRateLimit(emulator.DLI, "GET /v1.0/{project_id}/jobs/{job_id}/status", 20)
	if _, err := emu.AddFault(emulator.Fault{Kind: emulator.FaultError, Route: "GET /v1.0/{project_id}/jobs/{job_id}/status", Rate: 0.2}); err != nil {
		t.Fatal(err)
	}
	iam, dli, adm := emu.Handler(emulator.IAM), emu.Handler(emulator.DLI), emu.AdminHandler()
	const workers, polls = 8, 10
	var wg sync.WaitGroup
	statuses := make([]map[int]int, workers)
	for w := range workers {
		statuses[w] = map[int]int{}
		wg.Go(func() {
			project := fmt.Sprintf("p%d", w%2) // two projects share each bucket
			headers := []string{"X-Auth-Token", login(t, iam, "pipectl-dev", "pipectl-dev", "pipectl-dev").header.Get("X-Subject-Token")}
			req := newRequest("POST", "/v1.0/"+project+"/jobs/submit-job", `{"sql":"select 1"}`, headers...)
			if w%2 == 1 { // AK/SK instead of a token
				req = signed(t, "POST", "/v1.0/"+project+"/jobs/submit-job", `{"sql":"select 1"}`, emulator.DevAK, emulator.DevSK, "", time.Now())
			}
			r := serve(t, dli, req)
			if r.status != http.StatusOK {
				t.Errorf("submit: %d %s", r.status, r.raw)
				return
			}
			for range polls {
				r := serve(t, dli, newRequest("GET", "/v1.0/"+project+"/jobs/"+r.body["job_id"].(string)+"/status", "", headers...))
				statuses[w][r.status]++
				serve(t, adm, newRequest("GET", "/faults", ""))
			}
			if err := emu.Save(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	total := map[int]int{}
	for _, m := range statuses {
		for s, n := range m {
			total[s] += n
		}
	}
	// Each project has 4 workers × 10 polls = 40 > 20 allowed; faults hit some first.
	if total[200]+total[429]+total[503] != workers*polls || total[429] == 0 || total[503] == 0 || total[200] != 40 {
		t.Errorf("status counts = %v, want 200s, 429s and 503s only", total)
	}
	if n := len(emu.DLIJobs()); n != workers {
		t.Errorf("%d jobs, want %d", n, workers)
	}
}
