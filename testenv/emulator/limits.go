package emulator

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RateLimit is the request budget of one route of one service, in
// requests per minute per project.
type RateLimit struct {
	Service string `json:"service"`
	// Route is a route pattern ("GET /v1.1/{project_id}/clusters"); the
	// names of its wildcards do not matter.
	Route     string  `json:"route"`
	PerMinute float64 `json:"per_minute"`
}

// documentedLimits is CDM's Table 2-1 "Maximum Number of Requests Made Per
// User Per Minute" (DAYU API reference @342–366). DIS's Table 2-2 (@368)
// and Data Development's Table 2-3 (@381) list API groups without any
// number, and DLI and LakeFormation document none, so only CDM is limited
// unless SetRateLimit adds more. The documents count per user; the
// emulator counts per project, which is the same for one user per project.
var documentedLimits = []RateLimit{
	{CDM, "POST /v1.1/{}/clusters", 5},                       // Creating a Cluster
	{CDM, "GET /v1.1/{}/clusters", 120},                      // Querying the Cluster List
	{CDM, "GET /v1.1/{}/clusters/{}", 120},                   // Querying Cluster Details
	{CDM, "POST /v1.1/{}/clusters/{}/action", 20},            // Restarting, Stopping, Starting a Cluster (one URL)
	{CDM, "DELETE /v1.1/{}/clusters/{}", 20},                 // Deleting a Cluster
	{CDM, "POST /v1.1/{}/clusters/{}/cdm/link", 120},         // Creating a Link
	{CDM, "GET /v1.1/{}/clusters/{}/cdm/link/{}", 120},       // Querying a Link
	{CDM, "PUT /v1.1/{}/clusters/{}/cdm/link/{}", 120},       // Modifying a Link
	{CDM, "DELETE /v1.1/{}/clusters/{}/cdm/link/{}", 120},    // Deleting a Link
	{CDM, "POST /v1.1/{}/clusters/{}/cdm/job", 1200},         // Creating a Job in a Specific Cluster
	{CDM, "POST /v1.1/{}/clusters/job", 120},                 // Creating and Executing a Job in a Random Cluster
	{CDM, "GET /v1.1/{}/clusters/{}/cdm/job/{}", 120},        // Querying a Job
	{CDM, "PUT /v1.1/{}/clusters/{}/cdm/job/{}", 120},        // Modifying a Job
	{CDM, "PUT /v1.1/{}/clusters/{}/cdm/job/{}/start", 1200}, // Starting a Job
	{CDM, "GET /v1.1/{}/clusters/{}/cdm/job/{}/start", 1200}, // Starting a Job, as the walk-through calls it (@1130)
	{CDM, "PUT /v1.1/{}/clusters/{}/cdm/job/{}/stop", 1200},  // Stopping a Job
	{CDM, "GET /v1.1/{}/clusters/{}/cdm/job/{}/status", 120}, // Querying Job Status
	{CDM, "GET /v1.1/{}/clusters/{}/cdm/submissions", 120},   // Querying Job Execution History
	{CDM, "DELETE /v1.1/{}/clusters/{}/cdm/job/{}", 120},     // Deleting a Job
}

// Throttling answer of the API gateway in front of every service.
const (
	throttledCode = "APIG.0308"
	throttledMsg  = "The throttling threshold has been reached: policy user over ratelimit, limit:%s, time:1 minute"
)

// limiter holds one token bucket per route and project; guarded by
// Emulator.mu and driven by the injected clock.
type limiter struct {
	enabled bool
	limits  map[string]float64   // "service METHOD /normalized/path" -> per minute
	buckets map[string]time.Time // limit key + " " + project -> theoretical arrival time
}

func newLimiter(enabled bool, scale float64) limiter {
	if scale <= 0 {
		scale = 1
	}
	l := limiter{enabled: enabled, limits: map[string]float64{}, buckets: map[string]time.Time{}}
	for _, d := range documentedLimits {
		l.limits[d.Service+" "+d.Route] = d.PerMinute * scale
	}
	return l
}

// take spends one request of key's budget for project at now. When the
// budget is spent it reports how long until the next request is allowed.
//
// The bucket holds a minute's budget (at least one request) and refills
// continuously: a client may burst its whole budget, then proceeds at the
// documented rate. It is kept as the theoretical arrival time of the next
// request at that rate (GCRA), in whole nanoseconds, so refills are exact.
func (l *limiter) take(key, project string, now time.Time) (ok bool, wait time.Duration, perMinute float64) {
	perMinute, limited := l.limits[key]
	if !l.enabled || !limited {
		return true, 0, 0
	}
	interval := time.Duration(float64(time.Minute) / perMinute)
	slack := time.Duration(max(perMinute, 1)*float64(interval)) - interval // burst beyond one request
	tat := l.buckets[key+" "+project]
	if tat.Before(now) {
		tat = now
	}
	if d := tat.Sub(now) - slack; d > 0 {
		return false, d, perMinute
	}
	l.buckets[key+" "+project] = tat.Add(interval)
	return true, 0, perMinute
}

// rateLimit answers 429 with Retry-After (whole seconds, at least 1) and
// the service's error body when the route's budget for the request's
// project is spent.
func (e *Emulator) rateLimit(w http.ResponseWriter, r *http.Request, service, key string) bool {
	e.mu.Lock()
	ok, wait, perMinute := e.limits.take(key, r.PathValue("project_id"), e.now())
	e.mu.Unlock()
	if ok {
		return true
	}
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	e.log.Info("emulator throttled a request", "route", key, "project", r.PathValue("project_id"), "retry_after", secs)
	writeServiceError(w, service, http.StatusTooManyRequests, throttledCode,
		fmt.Sprintf(throttledMsg, strconv.FormatFloat(perMinute, 'f', -1, 64)))
	return false
}

// RateLimits returns the limits in force, by service and route.
func (e *Emulator) RateLimits() (enabled bool, limits []RateLimit) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, n := range e.limits.limits {
		service, route, _ := strings.Cut(k, " ")
		limits = append(limits, RateLimit{Service: service, Route: route, PerMinute: n})
	}
	slices.SortFunc(limits, func(a, b RateLimit) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Route, b.Route))
	})
	return e.limits.enabled, limits
}

// SetRateLimit sets the budget of one route of a service (route as in
// RateLimit), replacing the documented one; perMinute <= 0 removes the
// limit. The route's buckets start full again.
func (e *Emulator) SetRateLimit(service, route string, perMinute float64) {
	key := service + " " + normalizeRoute(route)
	e.mu.Lock()
	defer e.mu.Unlock()
	if perMinute > 0 {
		e.limits.limits[key] = perMinute
	} else {
		delete(e.limits.limits, key)
	}
	for k := range e.limits.buckets {
		if strings.HasPrefix(k, key+" ") {
			delete(e.limits.buckets, k)
		}
	}
}

// SetRateLimitsEnabled turns rate limiting on or off at runtime.
func (e *Emulator) SetRateLimitsEnabled(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limits.enabled = on
}

// normalizeRoute turns every wildcard of a route pattern into "{}", so
// limits and fault filters do not depend on how a service names them:
// "GET /v1.1/{project_id}/clusters/{cluster_id}" -> "GET /v1.1/{}/clusters/{}".
// "{$}" (end of path) is kept.
func normalizeRoute(pattern string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			b.WriteString(pattern)
			return b.String()
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			b.WriteString(pattern)
			return b.String()
		}
		b.WriteString(pattern[:i])
		if w := pattern[i : i+j+1]; w == "{$}" {
			b.WriteString(w)
		} else {
			b.WriteString("{}")
		}
		pattern = pattern[i+j+1:]
	}
}
