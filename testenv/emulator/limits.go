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
// requests per minute per project (per user for IAM's token issuance).
type RateLimit struct {
	Service string `json:"service"`
	// Route is a route pattern ("GET /v1.1/{project_id}/clusters"); the
	// names of its wildcards do not matter.
	Route     string  `json:"route"`
	PerMinute float64 `json:"per_minute"`
}

// The per-API budgets the emulator enforces unless told otherwise, one
// table per service. Each budget is counted per route and project (per
// user for IAM's token issuance, which has no project in its path): the
// documents count per user, which is the same for one user per project.

// cdmLimits is CDM's Table 2-1 "Maximum Number of Requests Made Per User
// Per Minute" (DAYU API reference @342–366).
var cdmLimits = []RateLimit{
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

// Budgets of the other services are a judgement: DIS's Table 2-2 (@368)
// and Data Development's Table 2-3 (@381) list API groups without any
// number, and DLI, LakeFormation and IAM document none. They are chosen
// so that a client polling a few jobs at a sensible interval never meets
// them, while a client that hammers one API does: calls that create,
// start or stop work get 600 a minute (10/s, half CDM's 1200 for its job
// calls), DLI's status, detail, progress and list reads twice that, since
// clients poll them, and IAM's token issuance 60 a minute, since a client
// should reuse a token for its 24 hours rather than log in per call.
const (
	writesPerMinute = 600
	readsPerMinute  = 1200
	perAPIPerMinute = 600 // every API of DIS, DataArts and LakeFormation
	tokensPerMinute = 60
)

// dliLimits: job submit, Flink and Spark create/run/stop and other calls
// that change state 600/min; reads 1200/min.
var dliLimits = []RateLimit{
	{DLI, "POST /v1.0/{}/jobs/submit-job", writesPerMinute},
	{DLI, "POST /v1.0/{}/jobs/check-sql", writesPerMinute},
	{DLI, "DELETE /v1.0/{}/jobs/{}", writesPerMinute},
	{DLI, "GET /v1.0/{}/jobs", readsPerMinute},
	{DLI, "GET /v1.0/{}/jobs/{}/status", readsPerMinute},
	{DLI, "GET /v1.0/{}/jobs/{}/detail", readsPerMinute},
	{DLI, "GET /v1/{}/jobs/{}/progress", readsPerMinute},
	{DLI, "GET /v1.0/{}/jobs/{}/preview", readsPerMinute},

	{DLI, "POST /v1.0/{}/streaming/sql-jobs", writesPerMinute},
	{DLI, "PUT /v1.0/{}/streaming/sql-jobs/{}", writesPerMinute},
	{DLI, "POST /v1.0/{}/streaming/flink-jobs", writesPerMinute},
	{DLI, "PUT /v1.0/{}/streaming/flink-jobs/{}", writesPerMinute},
	{DLI, "POST /v1.0/{}/streaming/jobs/run", writesPerMinute},
	{DLI, "POST /v1.0/{}/streaming/jobs/stop", writesPerMinute},
	{DLI, "POST /v1.0/{}/streaming/jobs/delete", writesPerMinute},
	{DLI, "DELETE /v1.0/{}/streaming/jobs/{}", writesPerMinute},
	{DLI, "GET /v1.0/{}/streaming/jobs", readsPerMinute},
	{DLI, "GET /v1.0/{}/streaming/jobs/{}", readsPerMinute},

	{DLI, "POST /v2.0/{}/batches", writesPerMinute},
	{DLI, "DELETE /v2.0/{}/batches/{}", writesPerMinute},
	{DLI, "GET /v2.0/{}/batches", readsPerMinute},
	{DLI, "GET /v2.0/{}/batches/{}", readsPerMinute},
	{DLI, "GET /v2.0/{}/batches/{}/state", readsPerMinute},
	{DLI, "GET /v2.0/{}/batches/{}/log", readsPerMinute},

	{DLI, "GET /v1.0/{}/queues", readsPerMinute},
	{DLI, "GET /v1.0/{}/queues/{}", readsPerMinute},
}

// disLimits: 600/min for every API.
var disLimits = []RateLimit{
	{DIS, "POST /v2/{}/streams", perAPIPerMinute},
	{DIS, "GET /v2/{}/streams", perAPIPerMinute},
	{DIS, "GET /v2/{}/streams/{}", perAPIPerMinute},
	{DIS, "DELETE /v2/{}/streams/{}", perAPIPerMinute},
	{DIS, "PUT /v2/{}/streams/{}", perAPIPerMinute},
	{DIS, "PUT /v3/{}/streams/{}", perAPIPerMinute},
	{DIS, "PUT /v2/{}/streams/{}/update", perAPIPerMinute},
	{DIS, "POST /v2/{}/apps", perAPIPerMinute},
	{DIS, "GET /v2/{}/apps", perAPIPerMinute},
	{DIS, "GET /v2/{}/apps/{}", perAPIPerMinute},
	{DIS, "DELETE /v2/{}/apps/{}", perAPIPerMinute},
	{DIS, "GET /v2/{}/apps/{}/streams/{}", perAPIPerMinute},
	{DIS, "POST /v2/{}/checkpoints", perAPIPerMinute},
	{DIS, "GET /v2/{}/checkpoints", perAPIPerMinute},
	{DIS, "DELETE /v2/{}/checkpoints", perAPIPerMinute},
	{DIS, "POST /v2/{}/records", perAPIPerMinute},
	{DIS, "GET /v2/{}/cursors", perAPIPerMinute},
	{DIS, "GET /v2/{}/records", perAPIPerMinute},
	{DIS, "POST /v2/{}/streams/{}/transfer-tasks", perAPIPerMinute},
	{DIS, "GET /v2/{}/streams/{}/transfer-tasks", perAPIPerMinute},
	{DIS, "GET /v2/{}/streams/{}/transfer-tasks/{}", perAPIPerMinute},
	{DIS, "DELETE /v2/{}/streams/{}/transfer-tasks/{}", perAPIPerMinute},
	{DIS, "POST /v2/{}/streams/{}/transfer-tasks/action", perAPIPerMinute},
}

// dlfLimits: 600/min for every Data Development API.
var dlfLimits = []RateLimit{
	{DLF, "POST /v1/{}/jobs", perAPIPerMinute},
	{DLF, "GET /v1/{}/jobs", perAPIPerMinute},
	{DLF, "GET /v1/{}/jobs/{}", perAPIPerMinute},
	{DLF, "PUT /v1/{}/jobs/{}", perAPIPerMinute},
	{DLF, "DELETE /v1/{}/jobs/{}", perAPIPerMinute},
	{DLF, "POST /v1/{}/jobs/{}/run-immediate", perAPIPerMinute},
	{DLF, "POST /v1/{}/jobs/{}/start", perAPIPerMinute},
	{DLF, "POST /v1/{}/jobs/{}/stop", perAPIPerMinute},
	{DLF, "GET /v1/{}/jobs/{}/status", perAPIPerMinute},
	{DLF, "GET /v1/{}/jobs/instances/detail", perAPIPerMinute},
	{DLF, "GET /v1/{}/jobs/{}/instances/{}", perAPIPerMinute},
	{DLF, "POST /v1/{}/jobs/{}/instances/{}/stop", perAPIPerMinute},
	{DLF, "POST /v1/{}/jobs/{}/instances/{}/restart", perAPIPerMinute},
	{DLF, "POST /v1/{}/scripts", perAPIPerMinute},
	{DLF, "GET /v1/{}/scripts", perAPIPerMinute},
	{DLF, "GET /v1/{}/scripts/{}", perAPIPerMinute},
	{DLF, "PUT /v1/{}/scripts/{}", perAPIPerMinute},
	{DLF, "DELETE /v1/{}/scripts/{}", perAPIPerMinute},
	{DLF, "POST /v1/{}/scripts/{}/execute", perAPIPerMinute},
	{DLF, "GET /v1/{}/scripts/{}/instances/{}", perAPIPerMinute},
	{DLF, "POST /v1/{}/scripts/{}/instances/{}/stop", perAPIPerMinute},
	{DLF, "POST /v1/{}/connections", perAPIPerMinute},
	{DLF, "GET /v1/{}/connections", perAPIPerMinute},
	{DLF, "GET /v1/{}/connections/{}", perAPIPerMinute},
	{DLF, "DELETE /v1/{}/connections/{}", perAPIPerMinute},
}

// lfLimits: 600/min for every LakeFormation API.
var lfLimits = []RateLimit{
	{LakeFormation, "POST /v1/{}/instances/{}/lf-jobs", perAPIPerMinute},
	{LakeFormation, "GET /v1/{}/instances/{}/lf-jobs", perAPIPerMinute},
	{LakeFormation, "GET /v1/{}/instances/{}/lf-jobs/{}", perAPIPerMinute},
	{LakeFormation, "POST /v1/{}/instances/{}/lf-jobs/{}/start", perAPIPerMinute},
	{LakeFormation, "POST /v1/{}/instances/{}/lf-jobs/{}/stop", perAPIPerMinute},
}

// iamLimits: token issuance 60/min per user (see issueToken).
var iamLimits = []RateLimit{
	{IAM, iamTokenRoute, tokensPerMinute},
}

// defaultLimits are every service's tables.
var defaultLimits = slices.Concat(cdmLimits, dliLimits, disLimits, dlfLimits, lfLimits, iamLimits)

// Throttling answer of the API gateway in front of every service.
const (
	throttledCode = "APIG.0308"
	throttledMsg  = "The throttling threshold has been reached: policy user over ratelimit, limit:%s, time:1 minute"
)

// throttleError is the code and message of service's 429 when a budget of
// perMinute is spent: the gateway's APIG.0308, except for DIS, which
// documents its own code for "An excessive number of user requests"
// (DIS.4305, DIS @3861; DIS.4303 is the per-partition traffic limit, not
// a request count). writeServiceError puts them in the service's error
// body: CDM's errCode/externalMessage (with code/message), LakeFormation's
// error_code/error_msg/common_error_code/solution_msg, and error_code/
// error_msg for DLI, DIS, DataArts and IAM. For DLI that is its documented
// error body (DLI @9672); the is_success/message envelope is documented
// only on successes, and no sample shows is_success false.
func throttleError(service string, perMinute float64) (code, msg string) {
	msg = fmt.Sprintf(throttledMsg, strconv.FormatFloat(perMinute, 'f', -1, 64))
	if service == DIS {
		d := disErr{code: disTooManyRequests, detail: msg}
		return d.code, d.message()
	}
	return throttledCode, msg
}

// limiter holds one token bucket per route and project (or user);
// guarded by Emulator.mu and driven by the injected clock.
type limiter struct {
	enabled bool
	limits  map[string]float64   // "service METHOD /normalized/path" -> per minute
	buckets map[string]time.Time // limit key + " " + subject -> theoretical arrival time
}

func newLimiter(enabled bool, scale float64) limiter {
	if scale <= 0 {
		scale = 1
	}
	l := limiter{enabled: enabled, limits: map[string]float64{}, buckets: map[string]time.Time{}}
	for _, d := range defaultLimits {
		l.limits[d.Service+" "+d.Route] = d.PerMinute * scale
	}
	return l
}

// take spends one request of key's budget for subject (a project, or a
// user) at now. When the budget is spent it reports how long until the
// next request is allowed.
//
// The bucket holds a minute's budget (at least one request) and refills
// continuously: a client may burst its whole budget, then proceeds at the
// route's rate. It is kept as the theoretical arrival time of the next
// request at that rate (GCRA), in whole nanoseconds, so refills are exact.
func (l *limiter) take(key, subject string, now time.Time) (ok bool, wait time.Duration, perMinute float64) {
	perMinute, limited := l.limits[key]
	if !l.enabled || !limited {
		return true, 0, 0
	}
	interval := time.Duration(float64(time.Minute) / perMinute)
	slack := time.Duration(max(perMinute, 1)*float64(interval)) - interval // burst beyond one request
	tat := l.buckets[key+" "+subject]
	if tat.Before(now) {
		tat = now
	}
	if d := tat.Sub(now) - slack; d > 0 {
		return false, d, perMinute
	}
	l.buckets[key+" "+subject] = tat.Add(interval)
	return true, 0, perMinute
}

// rateLimit answers 429 with Retry-After (whole seconds, at least 1) and
// the service's error body (throttleError) when the budget of key (a
// service and normalized route) for subject, the request's project or
// user, is spent.
func (e *Emulator) rateLimit(w http.ResponseWriter, service, key, subject string) bool {
	e.mu.Lock()
	ok, wait, perMinute := e.limits.take(key, subject, e.now())
	e.mu.Unlock()
	if ok {
		return true
	}
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	e.log.Info("emulator throttled a request", "route", key, "subject", subject, "retry_after", secs)
	code, msg := throttleError(service, perMinute)
	writeServiceError(w, service, http.StatusTooManyRequests, code, msg)
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
// RateLimit), replacing the default one; perMinute <= 0 removes the
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
