package emulator_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

func TestDefaultRateLimits(t *testing.T) {
	emu := emulator.New(emulator.Options{})
	enabled, limits := emu.RateLimits()
	if !enabled {
		t.Error("rate limits are off by default")
	}
	byService := map[string][]emulator.RateLimit{}
	for _, l := range limits {
		byService[l.Service] = append(byService[l.Service], l)
	}
	// DAYU Table 2-1, in the order RateLimits sorts them.
	want := []emulator.RateLimit{
		{"cdm", "DELETE /v1.1/{}/clusters/{}", 20},
		{"cdm", "DELETE /v1.1/{}/clusters/{}/cdm/job/{}", 120},
		{"cdm", "DELETE /v1.1/{}/clusters/{}/cdm/link/{}", 120},
		{"cdm", "GET /v1.1/{}/clusters", 120},
		{"cdm", "GET /v1.1/{}/clusters/{}", 120},
		{"cdm", "GET /v1.1/{}/clusters/{}/cdm/job/{}", 120},
		{"cdm", "GET /v1.1/{}/clusters/{}/cdm/job/{}/start", 1200},
		{"cdm", "GET /v1.1/{}/clusters/{}/cdm/job/{}/status", 120},
		{"cdm", "GET /v1.1/{}/clusters/{}/cdm/link/{}", 120},
		{"cdm", "GET /v1.1/{}/clusters/{}/cdm/submissions", 120},
		{"cdm", "POST /v1.1/{}/clusters", 5},
		{"cdm", "POST /v1.1/{}/clusters/job", 120},
		{"cdm", "POST /v1.1/{}/clusters/{}/action", 20},
		{"cdm", "POST /v1.1/{}/clusters/{}/cdm/job", 1200},
		{"cdm", "POST /v1.1/{}/clusters/{}/cdm/link", 120},
		{"cdm", "PUT /v1.1/{}/clusters/{}/cdm/job/{}", 120},
		{"cdm", "PUT /v1.1/{}/clusters/{}/cdm/job/{}/start", 1200},
		{"cdm", "PUT /v1.1/{}/clusters/{}/cdm/job/{}/stop", 1200},
		{"cdm", "PUT /v1.1/{}/clusters/{}/cdm/link/{}", 120},
	}
	if !reflect.DeepEqual(byService["cdm"], want) {
		t.Errorf("CDM's limits =\n%v\nwant\n%v", byService["cdm"], want)
	}
	// The chosen budgets of the other services: every API of DIS, DataArts
	// and LakeFormation 600/min, DLI's writes 600 and reads 1200, IAM's
	// token issuance 60. (TestRateLimitTablesMatchRoutes checks that each
	// route of each service has one.)
	for _, svc := range []string{emulator.DIS, emulator.DLF, emulator.LakeFormation} {
		if len(byService[svc]) == 0 {
			t.Errorf("%s has no limits", svc)
		}
		for _, l := range byService[svc] {
			if l.PerMinute != 600 {
				t.Errorf("%+v, want 600/min", l)
			}
		}
	}
	dli := map[string]float64{}
	for _, l := range byService["dli"] {
		dli[l.Route] = l.PerMinute
	}
	for route, n := range map[string]float64{
		"POST /v1.0/{}/jobs/submit-job":      600,
		"POST /v1.0/{}/streaming/sql-jobs":   600,
		"POST /v1.0/{}/streaming/flink-jobs": 600,
		"POST /v1.0/{}/streaming/jobs/run":   600,
		"POST /v2.0/{}/batches":              600,
		"GET /v1.0/{}/jobs":                  1200,
		"GET /v1.0/{}/jobs/{}/status":        1200,
		"GET /v1.0/{}/jobs/{}/detail":        1200,
		"GET /v1/{}/jobs/{}/progress":        1200,
		"GET /v1.0/{}/streaming/jobs/{}":     1200,
		"GET /v2.0/{}/batches/{}/state":      1200,
	} {
		if dli[route] != n {
			t.Errorf("DLI %s: %v/min, want %v", route, dli[route], n)
		}
	}
	if want := []emulator.RateLimit{{"iam", "POST /v3/auth/tokens", 60}}; !reflect.DeepEqual(byService["iam"], want) {
		t.Errorf("IAM's limits = %v, want %v", byService["iam"], want)
	}

	_, scaled := emulator.New(emulator.Options{RateLimitScale: 0.5}).RateLimits()
	if scaled[10].Route != "POST /v1.1/{}/clusters" || scaled[10].PerMinute != 2.5 {
		t.Errorf("scaled create-cluster limit = %+v, want 2.5/min", scaled[10])
	}
	for _, l := range scaled {
		if l.Route == "POST /v1.0/{}/jobs/submit-job" && l.PerMinute != 300 {
			t.Errorf("scaled DLI submit limit = %+v, want 300/min", l)
		}
	}
}

// throttleCase drives one route of one service to its limit and back.
type throttleCase struct {
	service   string
	perMinute int
	// request is a request of project p, spending the route's budget.
	request  func(project string) *http.Request
	okStatus int
	// body is the 429 body, in the service's shape.
	body map[string]any
}

func (c throttleCase) run(t *testing.T) {
	t.Helper()
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now, AcceptAnyToken: true})
	h := emu.Handler(c.service)
	call := func(project string) response { return serve(t, h, c.request(project)) }
	for i := range c.perMinute {
		if r := call("p1"); r.status != c.okStatus {
			t.Fatalf("request %d of %d: %d %s", i+1, c.perMinute, r.status, r.raw)
		}
	}
	r := call("p1")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
		t.Fatalf("request %d: %d Retry-After %q, want 429 and 1 (the next request is %s away)",
			c.perMinute+1, r.status, r.header.Get("Retry-After"), time.Minute/time.Duration(c.perMinute))
	}
	if !reflect.DeepEqual(r.body, c.body) {
		t.Errorf("429 body = %s, want %v", r.raw, c.body)
	}
	if r := call("p2"); r.status != c.okStatus {
		t.Errorf("other project: %d %s, want its own budget", r.status, r.raw)
	}
	// The bucket refills one request per interval, then a whole minute's
	// budget after a minute, and no more.
	interval := time.Minute / time.Duration(c.perMinute)
	clock.Advance(interval - time.Millisecond)
	if r := call("p1"); r.status != http.StatusTooManyRequests {
		t.Errorf("after %s: %d, want 429", interval-time.Millisecond, r.status)
	}
	clock.Advance(time.Millisecond)
	if r := call("p1"); r.status != c.okStatus {
		t.Errorf("after %s: %d %s, want %d", interval, r.status, r.raw, c.okStatus)
	}
	clock.Advance(time.Hour)
	for i := range c.perMinute {
		if r := call("p1"); r.status != c.okStatus {
			t.Fatalf("after the refill, request %d: %d %s", i+1, r.status, r.raw)
		}
	}
	if r := call("p1"); r.status != http.StatusTooManyRequests {
		t.Errorf("request %d after the refill: %d, want 429", c.perMinute+1, r.status)
	}
}

// gatewayThrottle is the API gateway's message for a spent budget.
func gatewayThrottle(perMinute int) string {
	return fmt.Sprintf("The throttling threshold has been reached: policy user over ratelimit, limit:%d, time:1 minute", perMinute)
}

func get(path string) func(string) *http.Request {
	return func(project string) *http.Request {
		return newRequest("GET", strings.ReplaceAll(path, "{project}", project), "", "X-Auth-Token", "t")
	}
}

// TestDLIRateLimits: DLI's reads (1200/min) and writes (600/min) answer
// 429 in DLI's documented error body (error_code, error_msg, DLI @9672).
func TestDLIRateLimits(t *testing.T) {
	t.Run("list jobs", throttleCase{
		service: emulator.DLI, perMinute: 1200, request: get("/v1.0/{project}/jobs"), okStatus: http.StatusOK,
		body: map[string]any{"error_code": "APIG.0308", "error_msg": gatewayThrottle(1200)},
	}.run)
	t.Run("submit", throttleCase{
		service: emulator.DLI, perMinute: 600, okStatus: http.StatusOK,
		request: func(project string) *http.Request {
			return newRequest("POST", "/v1.0/"+project+"/jobs/submit-job", `{"sql":"select 1"}`, "X-Auth-Token", "t")
		},
		body: map[string]any{"error_code": "APIG.0308", "error_msg": gatewayThrottle(600)},
	}.run)
}

// TestDISRateLimit: DIS answers with its own code for too many requests,
// DIS.4305.
func TestDISRateLimit(t *testing.T) {
	throttleCase{
		service: emulator.DIS, perMinute: 600, request: get("/v2/{project}/streams"), okStatus: http.StatusOK,
		body: map[string]any{"error_code": "DIS.4305", "error_msg": "Too many stream requests. " + gatewayThrottle(600)},
	}.run(t)
}

func TestDLFRateLimit(t *testing.T) {
	throttleCase{
		service: emulator.DLF, perMinute: 600, request: get("/v1/{project}/jobs"), okStatus: http.StatusOK,
		body: map[string]any{"error_code": "APIG.0308", "error_msg": gatewayThrottle(600)},
	}.run(t)
}

// TestLakeFormationRateLimit: LakeFormation's body has common_error_code
// and solution_msg besides error_code and error_msg.
func TestLakeFormationRateLimit(t *testing.T) {
	throttleCase{
		service: emulator.LakeFormation, perMinute: 600, okStatus: http.StatusOK,
		request: get("/v1/{project}/instances/i1/lf-jobs?type=METADATA_MIGRATION"),
		body: map[string]any{
			"error_code": "APIG.0308", "error_msg": gatewayThrottle(600),
			"common_error_code": "APIG.0308", "solution_msg": "",
		},
	}.run(t)
}

// TestIAMTokenRateLimit: token issuance is limited per user (the token
// endpoint has no project), and only tokens that would be issued count.
func TestIAMTokenRateLimit(t *testing.T) {
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now, Users: []emulator.User{
		{Name: "alice", Domain: "acme", Password: "s3cret"},
		{Name: "bob", Domain: "acme", Password: "hunter2"},
	}})
	iam := emu.Handler(emulator.IAM)
	for i := range 60 {
		if r := login(t, iam, "alice", "acme", "s3cret"); r.status != http.StatusCreated {
			t.Fatalf("login %d: %d %s", i+1, r.status, r.raw)
		}
	}
	r := login(t, iam, "alice", "acme", "s3cret")
	wantError(t, r, http.StatusTooManyRequests, "APIG.0308", "limit:60, time:1 minute")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1 (one token a second)", got)
	}
	if r.header.Get("X-Subject-Token") != "" {
		t.Error("a throttled login got a token")
	}
	if r := login(t, iam, "bob", "acme", "hunter2"); r.status != http.StatusCreated {
		t.Errorf("another user: %d %s, want its own budget", r.status, r.raw)
	}
	// A wrong password is refused as such, and spends nothing.
	if r := login(t, iam, "alice", "acme", "wrong"); r.status != http.StatusUnauthorized {
		t.Errorf("wrong password while throttled: %d, want 401", r.status)
	}
	clock.Advance(time.Second)
	if r := login(t, iam, "alice", "acme", "s3cret"); r.status != http.StatusCreated {
		t.Errorf("a second later: %d %s", r.status, r.raw)
	}
	if r := login(t, iam, "alice", "acme", "s3cret"); r.status != http.StatusTooManyRequests {
		t.Errorf("again at once: %d, want 429", r.status)
	}
	emu.SetRateLimit(emulator.IAM, "POST /v3/auth/tokens", 0)
	if r := login(t, iam, "alice", "acme", "s3cret"); r.status != http.StatusCreated {
		t.Errorf("limit removed: %d %s", r.status, r.raw)
	}
}

// TestCDMRateLimit drives CDM's "Querying the Cluster List" (120/min) to
// its limit and back.
func TestCDMRateLimit(t *testing.T) {
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now, AcceptAnyToken: true})
	cdm := emu.Handler(emulator.CDM)
	list := func(project string) response {
		return serve(t, cdm, newRequest("GET", "/v1.1/"+project+"/clusters", "", "X-Auth-Token", "t"))
	}
	for i := range 120 {
		if r := list("p1"); r.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, r.status, r.raw)
		}
	}
	r := list("p1")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
		t.Fatalf("request 121: %d Retry-After %q, want 429 and 1 (the next request is 0.5s away)", r.status, r.header.Get("Retry-After"))
	}
	want := map[string]any{
		"code": "APIG.0308", "errCode": "APIG.0308",
		"message":         "The throttling threshold has been reached: policy user over ratelimit, limit:120, time:1 minute",
		"externalMessage": "The throttling threshold has been reached: policy user over ratelimit, limit:120, time:1 minute",
	}
	if !reflect.DeepEqual(r.body, want) {
		t.Errorf("429 body = %s, want CDM's shape %v", r.raw, want)
	}
	// Limits are per project.
	if r := list("p2"); r.status != http.StatusOK {
		t.Errorf("other project: %d %s", r.status, r.raw)
	}
	// The bucket refills at 2/s.
	clock.Advance(499 * time.Millisecond)
	if r := list("p1"); r.status != http.StatusTooManyRequests {
		t.Errorf("after 499ms: %d, want 429", r.status)
	}
	clock.Advance(time.Millisecond)
	if r := list("p1"); r.status != http.StatusOK {
		t.Errorf("after 500ms: %d %s, want 200", r.status, r.raw)
	}
	// A full minute refills the whole budget, and no more.
	clock.Advance(time.Hour)
	for i := range 120 {
		if r := list("p1"); r.status != http.StatusOK {
			t.Fatalf("after a minute, request %d: %d", i+1, r.status)
		}
	}
	if r := list("p1"); r.status != http.StatusTooManyRequests {
		t.Errorf("request 121 after refill: %d, want 429", r.status)
	}
	key := "cdm GET /v1.1/{project_id}/clusters"
	if n := emu.Calls()[key]; n != 120+1+1+2+121 {
		t.Errorf("Calls()[%s] = %d, want every request counted, 429s included", key, n)
	}
}

func TestSetRateLimit(t *testing.T) {
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now, AcceptAnyToken: true})
	dli := emu.Handler(emulator.DLI)
	list := func(headers ...string) response {
		if headers == nil {
			headers = []string{"X-Auth-Token", "t"}
		}
		return serve(t, dli, newRequest("GET", "/v1.0/p1/jobs", "", headers...))
	}
	emu.SetRateLimit(emulator.DLI, "GET /v1.0/{project}/jobs", 3) // wildcard names do not matter
	for range 3 {
		if r := list(); r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	}
	r := list()
	wantError(t, r, http.StatusTooManyRequests, "APIG.0308", "limit:3, time:1 minute")
	if got := r.header.Get("Retry-After"); got != "20" {
		t.Errorf("Retry-After = %q, want 20 (one request per 20s)", got)
	}
	clock.Advance(19*time.Second + 500*time.Millisecond)
	if got := list().header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After 0.5s before the refill = %q, want 1 (rounded up)", got)
	}
	// Rejected credentials do not spend the budget.
	for range 5 {
		if r := list("Accept", "*/*"); r.status != http.StatusUnauthorized {
			t.Fatalf("no credentials: %d", r.status)
		}
	}
	clock.Advance(500 * time.Millisecond)
	if r := list(); r.status != http.StatusOK {
		t.Errorf("after the refill: %d %s", r.status, r.raw)
	}

	emu.SetRateLimitsEnabled(false)
	for range 10 {
		if r := list(); r.status != http.StatusOK {
			t.Fatalf("limits disabled: %d", r.status)
		}
	}
	emu.SetRateLimitsEnabled(true)
	if r := list(); r.status != http.StatusTooManyRequests {
		t.Errorf("limits enabled again: %d, want 429", r.status)
	}
	emu.SetRateLimit(emulator.DLI, "GET /v1.0/{project_id}/jobs", 0)
	if r := list(); r.status != http.StatusOK {
		t.Errorf("limit removed: %d", r.status)
	}
}

func TestRateLimitOptions(t *testing.T) {
	cdmList := func(emu *emulator.Emulator, n int) (ok int, retryAfter string) {
		for range n {
			r := serve(t, emu.Handler(emulator.CDM), newRequest("GET", "/v1.1/p1/clusters", "", "X-Auth-Token", "t"))
			if r.status == http.StatusOK {
				ok++
			} else {
				retryAfter = r.header.Get("Retry-After")
			}
		}
		return ok, retryAfter
	}
	clock := &fakeClock{t: t0}
	if ok, _ := cdmList(emulator.New(emulator.Options{Now: clock.Now, AcceptAnyToken: true, DisableRateLimits: true}), 300); ok != 300 {
		t.Errorf("DisableRateLimits: %d of 300 accepted", ok)
	}
	if ok, ra := cdmList(emulator.New(emulator.Options{Now: clock.Now, AcceptAnyToken: true, RateLimitScale: 0.05}), 10); ok != 6 || ra != "10" {
		t.Errorf("RateLimitScale 0.05: %d of 10 accepted, Retry-After %q; want 6 (120*0.05) and 10", ok, ra)
	}
}
