package emulator_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

const submitRoute = "POST /v1.0/{project_id}/jobs/submit-job"

// faultEnv serves DLI over real connections; the client opens a new
// connection per request, so Go's transport never retries a request
// whose connection was reset (it does for idempotent methods on reused
// connections).
type faultEnv struct {
	emu *emulator.Emulator
	srv *httptest.Server
	hc  *http.Client
}

func newFaultEnv(t *testing.T, seed uint64) *faultEnv {
	t.Helper()
	emu := emulator.New(emulator.Options{AcceptAnyToken: true, FaultSeed: seed})
	srv := httptest.NewServer(emu.Handler(emulator.DLI))
	t.Cleanup(srv.Close)
	return &faultEnv{emu: emu, srv: srv, hc: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
}

// send returns the status and body, or the transport error.
func (f *faultEnv) send(ctx context.Context, method, path, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("X-Auth-Token", "t")
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (f *faultEnv) submit(t *testing.T, sql string) (int, string, error) {
	t.Helper()
	return f.send(context.Background(), "POST", "/v1.0/p1/jobs/submit-job", `{"sql":"`+sql+`"}`)
}

func (f *faultEnv) list(t *testing.T) int {
	t.Helper()
	status, body, err := f.send(context.Background(), "GET", "/v1.0/p1/jobs", "")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if status != http.StatusOK && status != http.StatusServiceUnavailable {
		t.Fatalf("list: %d %s", status, body)
	}
	return status
}

func addFault(t *testing.T, emu *emulator.Emulator, f emulator.Fault) int {
	t.Helper()
	id, err := emu.AddFault(f)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestFaultError(t *testing.T) {
	f := newFaultEnv(t, 1)
	addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultError, Service: emulator.CDM}) // another service
	id := addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultError, Service: emulator.DLI, Route: "POST /v1.0/{p}/jobs/submit-job", Status: 500, Count: 2})

	for i := range 2 {
		status, body, err := f.submit(t, "select 1")
		if err != nil || status != http.StatusInternalServerError ||
			body != `{"error_code":"DLI.0999","error_msg":"Server-side errors occur (injected HTTP 500)."}`+"\n" {
			t.Errorf("submit %d: %d %s %v, want 500 with DLI's server error", i+1, status, body, err)
		}
	}
	if n := len(f.emu.DLIJobs()); n != 0 {
		t.Errorf("%d jobs created by failed submits", n)
	}
	if status := f.list(t); status != http.StatusOK {
		t.Errorf("another route of the service: %d, want 200", status)
	}
	if status, body, err := f.submit(t, "select 1"); err != nil || status != http.StatusOK {
		t.Errorf("submit after Count: %d %s %v, want 200", status, body, err)
	}
	faults := f.emu.Faults()
	if len(faults) != 2 || faults[1].ID != id || faults[1].Hits != 2 || faults[0].Hits != 0 {
		t.Errorf("Faults() = %+v, want the DLI fault with 2 hits and the CDM one with none", faults)
	}

	// 503 is the default; 429 carries Retry-After.
	f.emu.ClearFaults()
	addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultError, Count: 1})
	if status, body, _ := f.submit(t, "select 1"); status != http.StatusServiceUnavailable || !strings.Contains(body, "DLI.0999") {
		t.Errorf("default status: %d %s, want 503", status, body)
	}
	addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultError, Status: 429, Count: 1})
	req := newRequest("GET", "/v1.0/p1/jobs", "", "X-Auth-Token", "t")
	r := serve(t, f.emu.Handler(emulator.DLI), req)
	wantError(t, r, http.StatusTooManyRequests, "DLI.0009", "too many requests")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", r.header.Get("Retry-After"))
	}
}

func TestFaultErrorShapes(t *testing.T) {
	emu := emulator.New(emulator.Options{AcceptAnyToken: true})
	addFault(t, emu, emulator.Fault{Kind: emulator.FaultError, Status: 500})
	for _, tc := range []struct {
		service, method, path, code string
		field                       string // where the code is
	}{
		{emulator.CDM, "GET", "/v1.1/p1/clusters", "Cdm.0000", "errCode"},
		{emulator.LakeFormation, "POST", "/v1/p1/instances/i1/lf-jobs", "common.00000500", "error_code"},
		{emulator.IAM, "POST", "/v3/auth/tokens", "APIGW.0500", "error_code"},
	} {
		r := serve(t, emu.Handler(tc.service), newRequest(tc.method, tc.path, "{}", "X-Auth-Token", "t"))
		if r.status != 500 || r.body[tc.field] != tc.code {
			t.Errorf("%s: %d %s, want 500 with %s %s", tc.service, r.status, r.raw, tc.field, tc.code)
		}
	}
}

func TestFaultDrop(t *testing.T) {
	f := newFaultEnv(t, 1)
	addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultDrop, Route: submitRoute, Count: 1})
	if status, _, err := f.submit(t, "select 1"); err == nil {
		t.Fatalf("dropped submit answered %d", status)
	}
	if n := len(f.emu.DLIJobs()); n != 0 {
		t.Errorf("a dropped submit created %d jobs", n)
	}
	if n := f.emu.Calls()["dli "+submitRoute]; n != 1 {
		t.Errorf("Calls = %d, want the dropped request counted", n)
	}
	if status, _, err := f.submit(t, "select 1"); err != nil || status != http.StatusOK {
		t.Errorf("after Count: %d %v", status, err)
	}
}

// TestFaultResponseLost is the case idempotent creates exist for: the job
// IS created, but the client only sees a reset connection.
func TestFaultResponseLost(t *testing.T) {
	f := newFaultEnv(t, 1)
	addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultResponseLost, Service: emulator.DLI, Route: submitRoute, Count: 1})
	status, body, err := f.submit(t, "insert into t select 1")
	if err == nil {
		t.Fatalf("response-lost submit answered %d %s, want a transport error", status, body)
	}
	jobs := f.emu.DLIJobs()
	if len(jobs) != 1 || jobs[0].SQL != "insert into t select 1" || jobs[0].JobType != "INSERT" {
		t.Fatalf("DLIJobs = %+v, want the job created although the client got %v", jobs, err)
	}
	// A retry creates a second job: the client must look before it retries.
	if status, _, err := f.submit(t, "insert into t select 1"); err != nil || status != http.StatusOK {
		t.Fatalf("retry: %d %v", status, err)
	}
	if n := len(f.emu.DLIJobs()); n != 2 {
		t.Errorf("%d jobs after the retry, want 2", n)
	}
}

// TestFaultSlowService: the service takes its time and finishes the
// request even when the client has given up: the job is created, unknown
// to that client.
func TestFaultSlowService(t *testing.T) {
	f := newFaultEnv(t, 1)
	addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultSlowService, Service: emulator.DLI, Route: submitRoute, Latency: 30 * time.Millisecond, Count: 1})
	status, body, err := f.submit(t, "select 1")
	if err != nil || status != http.StatusOK {
		t.Fatalf("slow submit: %d %s %v", status, body, err)
	}
	jobs := f.emu.DLIJobs()
	if len(jobs) != 1 || !strings.Contains(body, jobs[0].ID) {
		t.Fatalf("answer %s, jobs %+v: want the created job's id in the answer", body, jobs)
	}

	addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultSlowService, Service: emulator.DLI, Route: submitRoute, Latency: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := f.send(ctx, "POST", "/v1.0/p1/jobs/submit-job", `{"sql":"select 2"}`); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the client's deadline", err)
	}
	if n := len(f.emu.DLIJobs()); n != 1 {
		t.Errorf("%d jobs while the slow request is processed, want 1", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(f.emu.DLIJobs()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if jobs := f.emu.DLIJobs(); len(jobs) != 2 || jobs[1].SQL != "select 2" {
		t.Errorf("DLIJobs = %+v, want the job of the request the client gave up on", jobs)
	}
}

func TestFaultLatency(t *testing.T) {
	f := newFaultEnv(t, 1)
	addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultLatency, Route: "GET /v1.0/{project_id}/jobs", Latency: 60 * time.Millisecond})
	addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultLatency, Route: "GET /v1.0/{project_id}/jobs", Latency: 40 * time.Millisecond})
	start := time.Now()
	if status := f.list(t); status != http.StatusOK {
		t.Errorf("delayed list: %d", status)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("list took %v, want at least the 60+40ms injected", d)
	}

	// A client that gives up during the delay leaves nothing behind.
	addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultLatency, Route: submitRoute, Latency: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := f.send(ctx, "POST", "/v1.0/p1/jobs/submit-job", `{"sql":"select 1"}`)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the client's deadline", err)
	}
	time.Sleep(20 * time.Millisecond)
	if n := len(f.emu.DLIJobs()); n != 0 {
		t.Errorf("%d jobs created by an abandoned request", n)
	}
}

// outcomes lists which of n list calls failed, as a string of '.' and 'X'.
func (f *faultEnv) outcomes(t *testing.T, n int) string {
	var b strings.Builder
	for range n {
		if f.list(t) == http.StatusOK {
			b.WriteByte('.')
		} else {
			b.WriteByte('X')
		}
	}
	return b.String()
}

func TestFaultRateReproducible(t *testing.T) {
	run := func(seed uint64) (*faultEnv, string) {
		f := newFaultEnv(t, seed)
		addFault(t, f.emu, emulator.Fault{Kind: emulator.FaultError, Route: "GET /v1.0/{project_id}/jobs", Rate: 0.3})
		return f, f.outcomes(t, 60)
	}
	f, a := run(7)
	_, b := run(7)
	_, c := run(8)
	if a != b {
		t.Errorf("same seed, different failures:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 failed the same requests: %s", a)
	}
	if n := strings.Count(a, "X"); n < 8 || n > 30 {
		t.Errorf("%d of 60 failed at rate 0.3: %s", n, a)
	}
	// Reseeding replays the sequence.
	f.emu.SetFaultSeed(7)
	if got := f.outcomes(t, 60); got != a {
		t.Errorf("after SetFaultSeed(7):\n%s\nwant\n%s", got, a)
	}
	if f.emu.FaultSeed() != 7 {
		t.Errorf("FaultSeed() = %d", f.emu.FaultSeed())
	}
}

func TestFaultOnIAM(t *testing.T) {
	emu := emulator.New(emulator.Options{})
	srv := httptest.NewServer(emu.Handler(emulator.IAM))
	defer srv.Close()
	addFault(t, emu, emulator.Fault{Kind: emulator.FaultDrop, Service: emulator.IAM, Count: 1})
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"pipectl-dev","password":"pipectl-dev","domain":{"name":"pipectl-dev"}}}},"scope":{"project":{"id":"p1"}}}}`
	if _, err := hc.Post(srv.URL+"/v3/auth/tokens", "application/json", strings.NewReader(body)); err == nil {
		t.Error("dropped token request succeeded")
	}
	resp, err := hc.Post(srv.URL+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("second token request: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestAddFaultValidation(t *testing.T) {
	emu := emulator.New(emulator.Options{})
	for _, tc := range []struct {
		f    emulator.Fault
		want string
	}{
		{emulator.Fault{Kind: "explode"}, `unknown fault kind "explode"`},
		{emulator.Fault{Kind: emulator.FaultError, Status: 200}, "not an HTTP error status"},
		{emulator.Fault{Kind: emulator.FaultLatency}, "positive latency"},
		{emulator.Fault{Kind: emulator.FaultDrop, Rate: 1.5}, "not between 0 and 1"},
		{emulator.Fault{Kind: emulator.FaultDrop, Service: "s3"}, `fault service "s3"`},
		{emulator.Fault{Kind: emulator.FaultDrop, Count: -1}, "negative"},
	} {
		if _, err := emu.AddFault(tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AddFault(%+v) = %v, want an error with %q", tc.f, err, tc.want)
		}
	}
	a := addFault(t, emu, emulator.Fault{Kind: emulator.FaultDrop})
	b := addFault(t, emu, emulator.Fault{Kind: emulator.FaultResponseLost})
	if a != 1 || b != 2 {
		t.Errorf("IDs = %d, %d, want 1, 2", a, b)
	}
	if !emu.RemoveFault(a) || emu.RemoveFault(a) {
		t.Error("RemoveFault: want true once, then false")
	}
	if fs := emu.Faults(); len(fs) != 1 || fs[0].ID != b {
		t.Errorf("Faults() = %+v", fs)
	}
}
