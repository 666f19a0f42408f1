package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// AdminHandler serves the emulator's introspection and runtime control, on
// paths of its own (Start serves it on its own port as "admin"; it needs
// no credentials, so never expose it beyond the machine):
//
//	GET    /                    this list
//	GET    /calls               requests per route, as Calls
//	GET    /rules               the rules, in precedence order
//	POST   /rules               add a rule: {"service":"dli","match":"orders","duration":"30s","fail_message":"boom","fail_first":1,"hang":false,"submit_errors":2,"submit_status":503}
//	DELETE /rules               remove every rule
//	GET    /faults              {"seed":1,"faults":[...]}
//	POST   /faults              add a fault: {"kind":"error|latency|drop|response_lost|slow_service","service":"cdm","route":"PUT /v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}/start","rate":0.5,"status":503,"latency":"2s","count":3}
//	DELETE /faults              remove every fault
//	DELETE /faults/{id}         remove one fault
//	PUT    /faults/seed         restart the faults' random source: {"seed":42}
//	GET    /limits              {"enabled":true,"limits":[{"service":"cdm","route":"GET /v1.1/{}/clusters","per_minute":120},...]}
//	PUT    /limits              {"enabled":false} and/or {"limits":[{"service":..,"route":..,"per_minute":..}]} (0 removes one)
//	GET    /tokens              IAM tokens issued (without the tokens themselves)
//	GET    /resources           every service's resources, by service and kind
//	GET    /resources/{service} one service's resources
//	POST   /state/save          write Options.StateFile now
//
// Errors are {"error":"..."} with 400 or 404.
func (e *Emulator) AdminHandler() http.Handler { return e.admin }

func (e *Emulator) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"services": Services(), "endpoints": []string{
			"GET /calls", "GET /rules", "POST /rules", "DELETE /rules",
			"GET /faults", "POST /faults", "DELETE /faults", "DELETE /faults/{id}", "PUT /faults/seed",
			"GET /limits", "PUT /limits", "GET /tokens", "GET /resources", "GET /resources/{service}", "POST /state/save",
		}})
	})
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Calls())
	})

	mux.HandleFunc("GET /rules", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, nonNil(e.Rules()))
	})
	mux.HandleFunc("POST /rules", func(w http.ResponseWriter, r *http.Request) {
		var rule Rule
		if !adminDecode(w, r, &rule) {
			return
		}
		e.AddRule(rule)
		writeJSON(w, http.StatusCreated, e.Rules())
	})
	mux.HandleFunc("DELETE /rules", func(w http.ResponseWriter, r *http.Request) {
		e.ClearRules()
		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"seed": e.FaultSeed(), "faults": nonNil(e.Faults())})
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if !adminDecode(w, r, &f) {
			return
		}
		id, err := e.AddFault(f)
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		for _, f := range e.Faults() {
			if f.ID == id {
				writeJSON(w, http.StatusCreated, f)
				return
			}
		}
		adminError(w, http.StatusNotFound, "the fault was removed meanwhile")
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, r *http.Request) {
		e.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil || !e.RemoveFault(id) {
			adminError(w, http.StatusNotFound, fmt.Sprintf("no fault %q", r.PathValue("id")))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT /faults/seed", func(w http.ResponseWriter, r *http.Request) {
		var v struct {
			Seed uint64 `json:"seed"`
		}
		if !adminDecode(w, r, &v) {
			return
		}
		e.SetFaultSeed(v.Seed)
		writeJSON(w, http.StatusOK, map[string]any{"seed": e.FaultSeed()})
	})

	mux.HandleFunc("GET /limits", func(w http.ResponseWriter, r *http.Request) {
		on, limits := e.RateLimits()
		writeJSON(w, http.StatusOK, map[string]any{"enabled": on, "limits": nonNil(limits)})
	})
	mux.HandleFunc("PUT /limits", func(w http.ResponseWriter, r *http.Request) {
		var v struct {
			Enabled *bool       `json:"enabled"`
			Limits  []RateLimit `json:"limits"`
		}
		if !adminDecode(w, r, &v) {
			return
		}
		for _, l := range v.Limits {
			if !slices.Contains(Services(), l.Service) || l.Route == "" {
				adminError(w, http.StatusBadRequest, fmt.Sprintf("limit %+v needs a known service and a route", l))
				return
			}
		}
		if v.Enabled != nil {
			e.SetRateLimitsEnabled(*v.Enabled)
		}
		for _, l := range v.Limits {
			e.SetRateLimit(l.Service, l.Route, l.PerMinute)
		}
		on, limits := e.RateLimits()
		writeJSON(w, http.StatusOK, map[string]any{"enabled": on, "limits": nonNil(limits)})
	})

	mux.HandleFunc("GET /tokens", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Tokens())
	})
	mux.HandleFunc("GET /resources", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.dump(Services()...))
	})
	mux.HandleFunc("GET /resources/{service}", func(w http.ResponseWriter, r *http.Request) {
		s := r.PathValue("service")
		if !slices.Contains(Services(), s) {
			adminError(w, http.StatusNotFound, fmt.Sprintf("no service %q", s))
			return
		}
		writeJSON(w, http.StatusOK, e.dump(s)[s])
	})
	mux.HandleFunc("POST /state/save", func(w http.ResponseWriter, r *http.Request) {
		if err := e.Save(); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"saved": e.stateFile})
	})
	return mux
}

// dump runs the dumpers of services (outside e.mu: they lock themselves).
func (e *Emulator) dump(services ...string) map[string]map[string]any {
	e.mu.Lock()
	fns := map[string]map[string]func() any{}
	for _, s := range services {
		fns[s] = map[string]func() any{}
		for name, f := range e.dumpers[s] {
			fns[s][name] = f
		}
	}
	e.mu.Unlock()
	out := map[string]map[string]any{}
	for s, byName := range fns {
		out[s] = map[string]any{}
		for name, f := range byName {
			out[s][name] = f()
		}
	}
	return out
}

// nonNil makes an empty list marshal as [], not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// adminDecode reads a JSON body strictly, answering 400 on failure.
func adminDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
		adminError(w, http.StatusBadRequest, "read body: "+err.Error())
		return false
	}
	if err := strictJSON(buf.Bytes(), v); err != nil {
		adminError(w, http.StatusBadRequest, "invalid body: "+err.Error())
		return false
	}
	return true
}

// strictJSON decodes one JSON value, rejecting unknown fields.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}
