package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// FaultKind is what an injected fault does to a request.
type FaultKind string

const (
	// FaultError answers Status (default 503) with the service's error
	// body, without processing the request.
	FaultError FaultKind = "error"
	// FaultLatency delays the request by Latency, then processes it.
	// Several latency faults add up; another fault may still hit.
	FaultLatency FaultKind = "latency"
	// FaultDrop closes the connection without processing the request.
	FaultDrop FaultKind = "drop"
	// FaultResponseLost processes the request (a job IS created) and then
	// resets the connection instead of answering: the client cannot tell
	// whether it happened, the case idempotent retries must handle.
	FaultResponseLost FaultKind = "response_lost"
	// FaultSlowService takes Latency to process the request and does not
	// notice a client that gives up meanwhile: the job IS created at the
	// end, unknown to that client.
	FaultSlowService FaultKind = "slow_service"
)

// Fault injects failures into matching requests. Faults apply in the order
// they were added; the first error, drop or response-lost fault that hits
// decides the request.
type Fault struct {
	// ID identifies the fault; AddFault assigns it.
	ID   int
	Kind FaultKind
	// Service limits the fault to one service (see Services); "" = any.
	Service string
	// Route limits the fault to one route pattern, as in Calls keys
	// without the service ("POST /v1.0/{project_id}/jobs/submit-job");
	// wildcard names do not matter. "" = any route.
	Route string
	// Rate is the fraction of matching requests hit, drawn from a source
	// seeded by Options.FaultSeed; 0 hits every one.
	Rate float64
	// Status is FaultError's HTTP status; 0 = 503.
	Status int
	// Latency is FaultLatency's delay.
	Latency time.Duration
	// Count stops the fault after it hit that many requests; 0 = never.
	Count int
	// Hits counts the requests the fault hit so far (read-only).
	Hits int

	route string // normalized Route
}

// faultState is guarded by Emulator.mu.
type faultState struct {
	seed   uint64
	rng    *rand.Rand
	nextID int
	list   []Fault
}

func newFaultState(seed uint64) faultState {
	if seed == 0 {
		seed = 1
	}
	return faultState{seed: seed, rng: rand.New(rand.NewPCG(seed, seed)), nextID: 1}
}

// faultPlan is what the faults decided for one request.
type faultPlan struct {
	latency time.Duration
	// slowFor is a slow_service fault's delay.
	slowFor time.Duration
	kind    FaultKind // "" = process normally
	status  int
	id      int
}

// pick decides the faults of a request to service's route norm.
func (s *faultState) pick(service, norm string) faultPlan {
	var p faultPlan
	for i := range s.list {
		f := &s.list[i]
		if f.Service != "" && f.Service != service || f.route != "" && f.route != norm || f.Count > 0 && f.Hits >= f.Count {
			continue
		}
		// Draw only for partial rates, so a rule-less run draws nothing and
		// adding an always-on fault does not shift the others' sequence.
		if f.Rate > 0 && f.Rate < 1 && s.rng.Float64() >= f.Rate {
			continue
		}
		f.Hits++
		if f.Kind == FaultLatency {
			p.latency += f.Latency
			continue
		}
		p.kind, p.status, p.id = f.Kind, f.Status, f.ID
		if f.Kind == FaultSlowService {
			p.slowFor = f.Latency
		}
		break
	}
	return p
}

// AddFault validates f and adds it, returning its ID.
func (e *Emulator) AddFault(f Fault) (int, error) {
	switch f.Kind {
	case FaultError:
		if f.Status == 0 {
			f.Status = http.StatusServiceUnavailable
		}
		if f.Status < 400 || f.Status > 599 {
			return 0, fmt.Errorf("fault status %d is not an HTTP error status", f.Status)
		}
	case FaultLatency, FaultSlowService:
		if f.Latency <= 0 {
			return 0, fmt.Errorf("a %s fault needs a positive latency", f.Kind)
		}
	case FaultDrop, FaultResponseLost:
	default:
		return 0, fmt.Errorf("unknown fault kind %q (want error, latency, drop, response_lost or slow_service)", f.Kind)
	}
	if f.Rate < 0 || f.Rate > 1 {
		return 0, fmt.Errorf("fault rate %v is not between 0 and 1", f.Rate)
	}
	if f.Service != "" && !slices.Contains(Services(), f.Service) {
		return 0, fmt.Errorf("fault service %q is not one of %s", f.Service, strings.Join(Services(), ", "))
	}
	if f.Count < 0 {
		return 0, fmt.Errorf("fault count %d is negative", f.Count)
	}
	f.route = normalizeRoute(f.Route)
	f.Hits = 0
	e.mu.Lock()
	defer e.mu.Unlock()
	f.ID = e.faults.nextID
	e.faults.nextID++
	e.faults.list = append(e.faults.list, f)
	e.log.Info("emulator fault added", "id", f.ID, "kind", f.Kind, "service", f.Service, "route", f.Route, "rate", f.Rate)
	return f.ID, nil
}

// Faults returns the faults in force, in the order they apply.
func (e *Emulator) Faults() []Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.faults.list)
}

// RemoveFault removes the fault with the given ID and reports whether it
// existed.
func (e *Emulator) RemoveFault(id int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.faults.list)
	e.faults.list = slices.DeleteFunc(e.faults.list, func(f Fault) bool { return f.ID == id })
	return len(e.faults.list) < n
}

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults.list = nil
}

// SetFaultSeed restarts the faults' random source from seed (0 means 1):
// the same requests in the same order then meet the same faults.
func (e *Emulator) SetFaultSeed(seed uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults.seed = newFaultState(seed).seed
	e.faults.rng = rand.New(rand.NewPCG(e.faults.seed, e.faults.seed))
}

// FaultSeed returns the seed the faults' random source last started from.
func (e *Emulator) FaultSeed() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.faults.seed
}

// serveFaulty runs h for a request of the route key as plan says.
func (e *Emulator) serveFaulty(w http.ResponseWriter, r *http.Request, service, key string, plan faultPlan, h http.HandlerFunc) {
	if plan.latency > 0 {
		// Read the body first: only then does the server notice a client
		// that hangs up during the delay (and cancel r's context).
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return // the client went away or sent too much; nothing to answer
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		t := time.NewTimer(plan.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return // the client gave up; nobody to answer
		}
	}
	if plan.kind != "" {
		e.log.Info("emulator injected a fault", "route", key, "fault", plan.id, "kind", plan.kind, "status", plan.status)
	}
	switch plan.kind {
	case FaultError:
		if plan.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		code, msg := faultError(service, plan.status)
		writeServiceError(w, service, plan.status, code, msg)
	case FaultDrop:
		abortConnection(w)
	case FaultResponseLost:
		h(&discardWriter{header: http.Header{}}, r)
		abortConnection(w)
	case FaultSlowService:
		// Processed in a context of its own: the client hanging up does
		// not stop it.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return
		}
		r = r.WithContext(context.WithoutCancel(r.Context()))
		r.Body = io.NopCloser(bytes.NewReader(body))
		time.Sleep(plan.slowFor)
		h(w, r) // to a client gone, the answer is lost
	default:
		h(w, r)
	}
}

// faultError picks the code of an injected error: the service's documented
// system-error code where it has one, else the gateway's.
func faultError(service string, status int) (code, msg string) {
	msg = fmt.Sprintf("%s (injected HTTP %d).", http.StatusText(status), status)
	switch service {
	case DLI:
		return injectedDLIError(status)
	case CDM:
		return "Cdm.0000", msg
	case DIS:
		return "DIS.5000", msg
	case LakeFormation:
		return fmt.Sprintf("common.%08d", status), msg // like common.00000500, common.00000408
	default:
		// IAM and DLF document no system-error code; answer as the gateway.
		return fmt.Sprintf("APIGW.%04d", status), msg
	}
}

// abortConnection closes the client's connection without an answer. On
// HTTP/1 the connection is hijacked and reset (SO_LINGER 0), so the client
// sees "connection reset by peer"; elsewhere the handler aborts, which
// resets the stream.
func abortConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// discardWriter takes a response nobody will receive.
type discardWriter struct {
	header http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(status int)      { d.status = status }

// faultJSON is a Fault's JSON form (admin API): snake_case, the latency as
// text ("250ms").
type faultJSON struct {
	ID      int       `json:"id,omitempty"`
	Kind    FaultKind `json:"kind"`
	Service string    `json:"service,omitempty"`
	Route   string    `json:"route,omitempty"`
	Rate    float64   `json:"rate,omitempty"`
	Status  int       `json:"status,omitempty"`
	Latency string    `json:"latency,omitempty"`
	Count   int       `json:"count,omitempty"`
	Hits    int       `json:"hits"`
}

// MarshalJSON renders the fault as in faultJSON.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{ID: f.ID, Kind: f.Kind, Service: f.Service, Route: f.Route, Rate: f.Rate,
		Status: f.Status, Count: f.Count, Hits: f.Hits}
	if f.Latency != 0 {
		j.Latency = f.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the faultJSON form.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := strictJSON(b, &j); err != nil {
		return err
	}
	var d time.Duration
	if j.Latency != "" {
		var err error
		if d, err = time.ParseDuration(j.Latency); err != nil {
			return fmt.Errorf("fault latency: %w", err)
		}
	}
	*f = Fault{ID: j.ID, Kind: j.Kind, Service: j.Service, Route: j.Route, Rate: j.Rate,
		Status: j.Status, Latency: d, Count: j.Count, Hits: j.Hits}
	return nil
}
