package emulator_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

func TestDocumentedRateLimits(t *testing.T) {
	emu := emulator.New(emulator.Options{})
	enabled, limits := emu.RateLimits()
	if !enabled {
		t.Error("rate limits are off by default")
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
	if !reflect.DeepEqual(limits, want) {
		t.Errorf("RateLimits() =\n%v\nwant\n%v", limits, want)
	}

	_, scaled := emulator.New(emulator.Options{RateLimitScale: 0.5}).RateLimits()
	if scaled[10].Route != "POST /v1.1/{}/clusters" || scaled[10].PerMinute != 2.5 {
		t.Errorf("scaled create-cluster limit = %+v, want 2.5/min", scaled[10])
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
