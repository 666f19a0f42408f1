// Package emulator is an in-process HTTP emulator of the Huawei Cloud APIs
// pipectl drives. Tests and the demo point pipectl's per-service base URLs
// at it instead of the real cloud.
//
// Each service has its own handler (Handler) and, when started, its own
// port, as the real services have their own hosts: their paths collide
// (DataArts' /v1/{project_id}/jobs/... and DLI's /v1/{project_id}/jobs/...).
// Each service lives in its own files and registers its routes in New;
// state is held per Emulator behind one mutex, and job progress is derived
// from the injected clock when read, so tests never sleep.
//
// Around the services sit what the real API gateway does: authentication
// (IAM tokens the emulator issued, or AK/SK signatures; iam.go), the
// per-API rate limits (limits.go), and, on request, injected faults
// (faults.go). AdminHandler serves introspection and runtime control, and
// Options.StateFile persists the state across restarts (state.go).
//
// What a state file keeps: every service's resources (DLI SQL, Flink and
// Spark jobs and queues, CDM clusters, links, jobs and submissions, DIS
// streams with their records, apps, checkpoints and dump tasks,
// LakeFormation jobs, DataArts jobs, instances, scripts and connections),
// the rules (AddRule, POST /rules), and the IAM tokens issued, with their
// expiry, so a client's cached token stays valid. What it does not keep,
// so a restart resets it: rate-limit changes (SetRateLimit,
// SetRateLimitsEnabled, PUT /limits) and the requests spent against the
// limits, the call counters (Calls), injected faults and their random
// source (AddFault, POST /faults), and whatever Options sets (credentials,
// clock, job duration, limits on or off and their scale), which the next
// New takes afresh.
package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure an Emulator. The zero value is usable: it accepts the
// dev credentials (DevUserName/DevDomain/DevPassword, DevAK/DevSK),
// enforces the rate limits (limits.go) and injects no faults.
type Options struct {
	// JobDuration is how long a DLI SQL job takes from submit to FINISHED
	// when no rule says otherwise (default 1s).
	JobDuration time.Duration
	// Now is the clock (default time.Now); tests may inject a fake clock.
	Now    func() time.Time
	Logger *slog.Logger // optional; nil = discard

	// Users may obtain tokens from IAM (POST /v3/auth/tokens) with their
	// password; nil = the dev user only.
	Users []User
	// AccessKeys are accepted on AK/SK-signed requests; nil = the dev key
	// only.
	AccessKeys []AccessKey
	// AcceptAnyToken accepts any non-empty X-Auth-Token, issued or not,
	// for tests that send a fixed token without logging in. AK/SK
	// signatures are verified regardless.
	AcceptAnyToken bool
	// ProjectID is the project ID of tokens scoped by project name; ""
	// derives a stable ID from the name.
	ProjectID string

	// DisableRateLimits turns the per-API rate limits (CDM's documented
	// table and chosen ones for the other services, limits.go) off, for
	// tests and benchmarks that call faster than a real user may.
	DisableRateLimits bool
	// RateLimitScale multiplies every rate limit; 0 means 1. A demo can
	// use 0.05 to make 429s easy to provoke.
	RateLimitScale float64

	// FaultSeed seeds the random choice of which requests injected faults
	// hit (0 means 1), so a failing run reproduces.
	FaultSeed uint64

	// StateFile, when set, holds the emulator's state (every service's
	// resources, rules, IAM tokens; not rate-limit changes, counters or
	// faults, see the package doc): New loads it if it exists, and Save
	// and the end of Start's context write it.
	StateFile string
}

// Credentials of the dev stack and `pipectl emulator`, accepted by default.
const (
	DevUserName = "pipectl-dev"
	DevDomain   = "pipectl-dev"
	DevPassword = "pipectl-dev"
	DevAK       = "PIPECTLDEVAK000000000"
	DevSK       = "pipectl-dev-sk"
)

// User is an IAM user that may log in with a password.
type User struct {
	Name, Domain, Password string
}

// AccessKey is an AK/SK pair. With a SecurityToken it is a temporary key:
// its requests must carry that token, signed, as X-Security-Token.
type AccessKey struct {
	AK, SK        string
	SecurityToken string
}

// Names of the emulated services.
const (
	IAM           = "iam"
	CDM           = "cdm"
	DIS           = "dis"
	DLI           = "dli"
	LakeFormation = "lakeformation"
	DLF           = "dlf"
)

// Admin names the admin API in Start's ports and URLs; it is not a service.
const Admin = "admin"

// Services lists every emulated service, in a stable order.
func Services() []string { return []string{IAM, CDM, DIS, DLI, LakeFormation, DLF} }

// Emulator emulates Huawei Cloud service APIs, one http.Handler per service.
type Emulator struct {
	now         func() time.Time
	jobDuration time.Duration
	log         *slog.Logger
	muxes       map[string]*http.ServeMux
	routes      []string // "service METHOD /normalized/path" of every route, as registered
	admin       http.Handler

	// Credentials, fixed at New.
	users      []User
	accessKeys map[string]AccessKey
	anyToken   bool
	projectID  string

	stateFile string
	loadErr   error          // the state file could not be loaded: never save over it
	saveMu    sync.Mutex     // one writer of the state file at a time
	running   sync.WaitGroup // Starts not yet shut down (see Wait)

	mu      sync.Mutex
	calls   map[string]int // per route pattern
	rules   []Rule
	iam     iamState
	limits  limiter
	faults  faultState
	dumpers map[string]map[string]func() any // service -> name -> dump
	dli     dliState
	cdm     cdmState
	dis     disState
	flink   flinkState
	spark   sparkState
	lf      lfState
	dlf     dlfState
}

// New returns an emulator with no jobs and no rules, or with the state in
// Options.StateFile when that exists. A state file that cannot be loaded
// is logged and left alone (Save refuses to overwrite it); Open returns
// the error instead.
func New(opts Options) *Emulator {
	e, err := Open(opts)
	if err != nil {
		e = newEmulator(opts)
		e.loadErr = err
		e.log.Error("emulator: state file not loaded; starting empty and never saving over it",
			"file", opts.StateFile, "err", err)
	}
	return e
}

// Open is New, failing when Options.StateFile exists but cannot be loaded.
func Open(opts Options) (*Emulator, error) {
	e := newEmulator(opts)
	if e.stateFile != "" {
		if err := e.load(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func newEmulator(opts Options) *Emulator {
	e := &Emulator{
		now:         opts.Now,
		jobDuration: opts.JobDuration,
		log:         opts.Logger,
		muxes:       map[string]*http.ServeMux{},
		users:       opts.Users,
		accessKeys:  map[string]AccessKey{},
		anyToken:    opts.AcceptAnyToken,
		projectID:   opts.ProjectID,
		stateFile:   opts.StateFile,
		calls:       map[string]int{},
		iam:         iamState{Tokens: map[string]iamToken{}},
		limits:      newLimiter(!opts.DisableRateLimits, opts.RateLimitScale),
		faults:      newFaultState(opts.FaultSeed),
		dumpers:     map[string]map[string]func() any{},
		dli:         newDLIState(),
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.jobDuration <= 0 {
		e.jobDuration = time.Second
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.users == nil {
		e.users = []User{{Name: DevUserName, Domain: DevDomain, Password: DevPassword}}
	}
	keys := opts.AccessKeys
	if keys == nil {
		keys = []AccessKey{{AK: DevAK, SK: DevSK}}
	}
	for _, k := range keys {
		e.accessKeys[k.AK] = k
	}
	for _, s := range Services() {
		e.muxes[s] = http.NewServeMux()
	}
	e.registerIAM()
	e.registerCDM()
	e.registerDIS()
	e.registerDLISQL()
	e.registerDLIFlink()
	e.registerDLISpark()
	e.registerLakeFormation()
	e.registerDLF()
	e.addDumper(DLI, "sql_jobs", func() any { return e.DLIJobs() })
	e.admin = e.adminHandler()
	return e
}

// Handler returns the handler of one service (see Services). It panics on
// an unknown name, which is a bug in the caller.
func (e *Emulator) Handler(service string) http.Handler {
	mux, ok := e.muxes[service]
	if !ok {
		panic("emulator: unknown service " + service)
	}
	return &serviceHandler{e: e, service: service, mux: mux}
}

type serviceHandler struct {
	e       *Emulator
	service string
	mux     *http.ServeMux
}

// ServeHTTP dispatches to the service's routes and answers unknown paths
// and methods with a JSON error body instead of ServeMux's plain text.
func (h *serviceHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.e.unmatched(sw, r, h.service, h.mux)
	} else {
		h.mux.ServeHTTP(sw, r)
	}
	h.e.log.Debug("emulator request", "service", h.service, "method", r.Method, "path", r.URL.Path, "status", sw.status)
}

// Calls returns how many requests each route received (including rejected
// ones), keyed by service and route pattern, e.g.
// "dli POST /v1.0/{project_id}/jobs/submit-job". Requests matching no route
// are not counted.
func (e *Emulator) Calls() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.calls)
}

// route registers an authenticated route of a service; pattern is a
// ServeMux pattern with a method, which with the service name is the Calls
// key. A request passes, in order: call counting, injected faults (see
// AddFault), authentication (an IAM token or an AK/SK signature, iam.go),
// the route's rate limit (limits.go), then h.
func (e *Emulator) route(service, pattern string, h http.HandlerFunc) {
	limitKey := service + " " + normalizeRoute(pattern)
	e.publicRoute(service, pattern, func(w http.ResponseWriter, r *http.Request) {
		if !e.authenticate(w, r, service) || !e.rateLimit(w, service, limitKey, r.PathValue("project_id")) {
			return
		}
		h(w, r)
	})
}

// publicRoute registers a route that needs no credentials (only the IAM
// token endpoint). Calls are counted and faults apply as on every route.
func (e *Emulator) publicRoute(service, pattern string, h http.HandlerFunc) {
	key := service + " " + pattern
	norm := normalizeRoute(pattern)
	e.routes = append(e.routes, service+" "+norm)
	e.muxes[service].HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.calls[key]++
		plan := e.faults.pick(service, norm)
		e.mu.Unlock()
		e.serveFaulty(w, r, service, key, plan, h)
	})
}

// addDumper registers a JSON view of a service's resources for the admin
// API: GET /resources shows dump() under service, then name. Call it from
// the service's register function. dump is called without e.mu held, so
// it is usually an introspection getter (which locks); its result must
// marshal to JSON.
func (e *Emulator) addDumper(service, name string, dump func() any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dumpers[service] == nil {
		e.dumpers[service] = map[string]func() any{}
	}
	e.dumpers[service][name] = dump
}

// unmatched answers 405 when the path exists under another method, else 404.
func (e *Emulator) unmatched(w http.ResponseWriter, r *http.Request, service string, mux *http.ServeMux) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	notAllowedCode, notFoundCode := "APIGW.0106", "APIGW.0101"
	if service == DLI {
		notAllowedCode, notFoundCode = dliUnsupported, dliNoResource
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, notAllowedCode,
			fmt.Sprintf("The operation is not supported: method %s is not allowed on %s.", r.Method, r.URL.Path))
		return
	}
	// Outside DLI a wrong path is answered by the API gateway in front of
	// the service, with its own code.
	writeError(w, http.StatusNotFound, notFoundCode,
		fmt.Sprintf("No related resources were found: %s %s.", r.Method, r.URL.Path))
}

// apiError is the generic Huawei Cloud error body, shared by IAM, DLI, DIS
// and DLF (CDM and LakeFormation use other shapes).
type apiError struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{ErrorCode: code, ErrorMsg: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// maxBody bounds request bodies; 12 MB is the documented AK/SK body limit.
const maxBody = 12 << 20

// decodeJSON reads r's body into v; unknown fields are accepted like the
// real services do.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(v)
	if err == io.EOF {
		return fmt.Errorf("the request body is empty")
	}
	return err
}

// statusWriter records the response status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeServiceError writes an error in the body shape of service: CDM's
// errCode/externalMessage, LakeFormation's error_code/error_msg with
// solution_msg, and the generic error_code/error_msg elsewhere.
func writeServiceError(w http.ResponseWriter, service string, status int, code, msg string) {
	switch service {
	case CDM:
		writeJSON(w, status, struct {
			Code            string `json:"code"`
			ErrCode         string `json:"errCode"`
			Message         string `json:"message"`
			ExternalMessage string `json:"externalMessage"`
		}{code, code, msg, msg})
	case LakeFormation:
		writeJSON(w, status, struct {
			ErrorCode       string `json:"error_code"`
			ErrorMsg        string `json:"error_msg"`
			CommonErrorCode string `json:"common_error_code"`
			SolutionMsg     string `json:"solution_msg"`
		}{code, msg, code, ""})
	default:
		writeError(w, status, code, msg)
	}
}
