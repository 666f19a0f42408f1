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

// Options configure an Emulator. The zero value is usable.
type Options struct {
	// JobDuration is how long a DLI SQL job takes from submit to FINISHED
	// when no rule says otherwise (default 1s).
	JobDuration time.Duration
	// Now is the clock (default time.Now); tests may inject a fake clock.
	Now    func() time.Time
	Logger *slog.Logger // optional; nil = discard
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

// Services lists every emulated service, in a stable order.
func Services() []string { return []string{IAM, CDM, DIS, DLI, LakeFormation, DLF} }

// Emulator emulates Huawei Cloud service APIs, one http.Handler per service.
type Emulator struct {
	now         func() time.Time
	jobDuration time.Duration
	log         *slog.Logger
	muxes       map[string]*http.ServeMux

	mu    sync.Mutex
	calls map[string]int // per route pattern
	rules []Rule
	dli   dliState
	cdm   cdmState
	dis   disState
	flink flinkState
	spark sparkState
	lf    lfState
	dlf   dlfState
}

// New returns an emulator with no jobs and no rules.
func New(opts Options) *Emulator {
	e := &Emulator{
		now:         opts.Now,
		jobDuration: opts.JobDuration,
		log:         opts.Logger,
		muxes:       map[string]*http.ServeMux{},
		calls:       map[string]int{},
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
// key.
func (e *Emulator) route(service, pattern string, h http.HandlerFunc) {
	e.publicRoute(service, pattern, func(w http.ResponseWriter, r *http.Request) {
		if !authenticated(r) {
			writeError(w, http.StatusUnauthorized, "APIG.1002", "Incorrect token or token resolution failed")
			return
		}
		h(w, r)
	})
}

// publicRoute registers a route that needs no credentials (only the IAM
// token endpoint).
func (e *Emulator) publicRoute(service, pattern string, h http.HandlerFunc) {
	key := service + " " + pattern
	e.muxes[service].HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.calls[key]++
		e.mu.Unlock()
		h(w, r)
	})
}

// authenticated accepts any token, or the two headers an AK/SK signer adds:
// the emulator checks that credentials are sent, not that they are valid.
func authenticated(r *http.Request) bool {
	if r.Header.Get("X-Auth-Token") != "" {
		return true
	}
	return r.Header.Get("Authorization") != "" && r.Header.Get("X-Sdk-Date") != ""
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
