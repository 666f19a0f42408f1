// Package emulator is an in-process HTTP emulator of the Huawei Cloud APIs
// pipectl drives (IAM tokens and DLI SQL jobs so far). Tests and the demo
// point pipectl's per-service base URLs at it instead of the real cloud.
//
// Each service lives in its own file and registers its routes in New; state
// is held per Emulator behind one mutex, and job progress is derived from the
// injected clock when read, so tests never sleep.
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

// Emulator is an http.Handler emulating Huawei Cloud service APIs.
type Emulator struct {
	now         func() time.Time
	jobDuration time.Duration
	log         *slog.Logger
	mux         *http.ServeMux

	mu    sync.Mutex
	calls map[string]int // per route pattern
	dli   dliState
}

// New returns an emulator with no jobs and no rules.
func New(opts Options) *Emulator {
	e := &Emulator{
		now:         opts.Now,
		jobDuration: opts.JobDuration,
		log:         opts.Logger,
		mux:         http.NewServeMux(),
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
	e.registerIAM()
	e.registerDLISQL()
	return e
}

// ServeHTTP dispatches to the registered routes and answers unknown paths
// and methods with a JSON error body instead of ServeMux's plain text.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	if _, pattern := e.mux.Handler(r); pattern == "" {
		e.unmatched(sw, r)
	} else {
		e.mux.ServeHTTP(sw, r)
	}
	e.log.Debug("emulator request", "method", r.Method, "path", r.URL.Path, "status", sw.status)
}

// Calls returns how many requests each route received (including rejected
// ones), keyed by route pattern, e.g. "POST /v1.0/{project_id}/jobs/submit-job".
// Requests matching no route are not counted.
func (e *Emulator) Calls() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.calls)
}

// route registers an authenticated route; pattern is a ServeMux pattern with
// a method, which doubles as the Calls key.
func (e *Emulator) route(pattern string, h http.HandlerFunc) {
	e.publicRoute(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !authenticated(r) {
			writeError(w, http.StatusUnauthorized, "APIG.1002", "Incorrect token or token resolution failed")
			return
		}
		h(w, r)
	})
}

// publicRoute registers a route that needs no credentials (only the IAM
// token endpoint).
func (e *Emulator) publicRoute(pattern string, h http.HandlerFunc) {
	e.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.calls[pattern]++
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
func (e *Emulator) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := e.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, dliUnsupported,
			fmt.Sprintf("The operation is not supported: method %s is not allowed on %s.", r.Method, r.URL.Path))
		return
	}
	writeError(w, http.StatusNotFound, dliNoResource,
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
