package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// t0 is the fake clock's start; whole milliseconds keep ms fields exact.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	emu   *emulator.Emulator
	srv   *httptest.Server
	clock *fakeClock
}

// newEnv serves a fresh emulator whose jobs take jobDuration by default.
// It accepts any token (do sends "test-token") and has no rate limits, so
// tests can poll freely; the IAM users are the dev user and alice (see
// tokenBody).
func newEnv(t *testing.T, jobDuration time.Duration) *env {
	t.Helper()
	clock := &fakeClock{t: t0}
	emu := emulator.New(testOptions(clock, jobDuration))
	srv := httptest.NewServer(iamAndDLI(emu))
	t.Cleanup(srv.Close)
	return &env{t: t, emu: emu, srv: srv, clock: clock}
}

// testOptions are newEnv's emulator options.
func testOptions(clock *fakeClock, jobDuration time.Duration) emulator.Options {
	return emulator.Options{
		JobDuration:       jobDuration,
		Now:               clock.Now,
		AcceptAnyToken:    true,
		DisableRateLimits: true,
		Users: []emulator.User{
			{Name: emulator.DevUserName, Domain: emulator.DevDomain, Password: emulator.DevPassword},
			{Name: "alice", Domain: "acme", Password: "s3cret"},
		},
	}
}

// iamAndDLI serves IAM's and DLI's handlers on one test server: their
// paths do not collide, and one base URL keeps the tests short.
func iamAndDLI(emu *emulator.Emulator) http.Handler {
	iam, dli := emu.Handler(emulator.IAM), emu.Handler(emulator.DLI)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v3/") {
			iam.ServeHTTP(w, r)
			return
		}
		dli.ServeHTTP(w, r)
	})
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request with a token; headers, when given, replace the token.
func (e *env) do(method, path, body string, headers ...string) response {
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
	if headers == nil {
		req.Header.Set("X-Auth-Token", "test-token")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: response is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return r
}

// submit submits sql to project "p1" and returns the job ID.
func (e *env) submit(body string) string {
	e.t.Helper()
	r := e.do("POST", "/v1.0/p1/jobs/submit-job", body)
	if r.status != http.StatusOK {
		e.t.Fatalf("submit: status %d: %s", r.status, r.raw)
	}
	id, _ := r.body["job_id"].(string)
	if id == "" {
		e.t.Fatalf("submit: no job_id in %s", r.raw)
	}
	return id
}

func (e *env) status(jobID string) response {
	e.t.Helper()
	return e.do("GET", "/v1.0/p1/jobs/"+jobID+"/status", "")
}

// wantError checks an error response's status and generic error body.
func wantError(t *testing.T, r response, status int, code string, msgContains string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %s)", r.status, status, r.raw)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if r.body["error_code"] != code {
		t.Errorf("error_code = %v, want %s (body %s)", r.body["error_code"], code, r.raw)
	}
	if msg, _ := r.body["error_msg"].(string); !strings.Contains(msg, msgContains) {
		t.Errorf("error_msg = %q, want it to contain %q", msg, msgContains)
	}
}

// num returns a JSON number field as int64.
func num(t *testing.T, body map[string]any, key string) int64 {
	t.Helper()
	f, ok := body[key].(float64)
	if !ok {
		t.Fatalf("%s = %#v, want a number", key, body[key])
	}
	return int64(f)
}

// tagsOf turns a JSON tags array into a map.
func tagsOf(t *testing.T, v any) map[string]string {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("tags = %#v, want an array", v)
	}
	m := map[string]string{}
	for _, x := range arr {
		o := x.(map[string]any)
		m[o["key"].(string)] = o["value"].(string)
	}
	return m
}
