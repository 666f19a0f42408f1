package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// DLF is DataArts Studio's (DAYU) Data Development service, DAYU API
// reference chapter 7. Most of the job and script lifecycle sits under
// "APIs to Be Taken Offline" (7.6) but those are the only documented
// versions, so they are what is emulated. Every call may carry the
// `workspace` header; omitted means the default workspace, and resources
// are kept per project and workspace. Errors are HTTP 400
// {"error_code":"DLF.xxxx","error_msg":...}; most writes answer 204 with
// no body.

// DLF error codes (DAYU 8.2.3, table 8-2, plus DLF.3051 from the samples).
const (
	dlfJobNotFound       = "DLF.0100"
	dlfJobExists         = "DLF.0102"
	dlfInstanceNotFound  = "DLF.0137"
	dlfScriptExists      = "DLF.0202"
	dlfScriptModify      = "DLF.0203"
	dlfParamMissing      = "DLF.0802"
	dlfNoNodes           = "DLF.1006"
	dlfJobNameBlank      = "DLF.3004"
	dlfJobNameInvalid    = "DLF.3018"
	dlfBadSchedule       = "DLF.3025"
	dlfBadParam          = "DLF.3051" // "The request parameter is invalid."
	dlfScriptNotFound    = "DLF.6201"
	dlfScriptRunNotFound = "DLF.6205"
	dlfScriptTypeMissing = "DLF.6247"
	dlfConnExists        = "DLF.6309"
	dlfConnNotFound      = "DLF.6322"
	dlfDWSAddress        = "DLF.6418"
	dlfNoPermission      = "DLF.6888"
)

const (
	dlfOwner = "emulator" // createUser of every job: tokens are not tied to users
	// dlfWaitShare: a run spends 1/dlfWaitShare of its duration waiting
	// (instances) or launching (scripts, real-time jobs).
	dlfWaitShare       = 5
	dlfFirstInstanceID = 10001
)

func (e *Emulator) registerDLF() {
	const p = "/v1/{project_id}"
	e.route(DLF, "POST "+p+"/jobs", e.dlfCreateJob)
	e.route(DLF, "GET "+p+"/jobs", e.dlfListJobs)
	e.route(DLF, "GET "+p+"/jobs/{job_name}", e.dlfShowJob)
	e.route(DLF, "PUT "+p+"/jobs/{job_name}", e.dlfEditJob)
	e.route(DLF, "DELETE "+p+"/jobs/{job_name}", e.dlfDeleteJob)
	e.route(DLF, "POST "+p+"/jobs/{job_name}/run-immediate", e.dlfRunImmediate)
	e.route(DLF, "POST "+p+"/jobs/{job_name}/start", e.dlfStartJob)
	e.route(DLF, "POST "+p+"/jobs/{job_name}/stop", e.dlfStopJob)
	e.route(DLF, "GET "+p+"/jobs/{job_name}/status", e.dlfRealTimeStatus)
	e.route(DLF, "GET "+p+"/jobs/instances/detail", e.dlfListInstances)
	e.route(DLF, "GET "+p+"/jobs/{job_name}/instances/{instance_id}", e.dlfShowInstance)
	e.route(DLF, "POST "+p+"/jobs/{job_name}/instances/{instance_id}/stop", e.dlfStopInstance)
	e.route(DLF, "POST "+p+"/jobs/{job_name}/instances/{instance_id}/restart", e.dlfRestartInstance)

	e.route(DLF, "POST "+p+"/scripts", e.dlfCreateScript)
	e.route(DLF, "GET "+p+"/scripts", e.dlfListScripts)
	e.route(DLF, "GET "+p+"/scripts/{script_name}", e.dlfShowScript)
	e.route(DLF, "PUT "+p+"/scripts/{script_name}", e.dlfModifyScript)
	e.route(DLF, "DELETE "+p+"/scripts/{script_name}", e.dlfDeleteScript)
	e.route(DLF, "POST "+p+"/scripts/{script_name}/execute", e.dlfExecuteScript)
	e.route(DLF, "GET "+p+"/scripts/{script_name}/instances/{instance_id}", e.dlfScriptResult)
	e.route(DLF, "POST "+p+"/scripts/{script_name}/instances/{instance_id}/stop", e.dlfStopScript)

	e.route(DLF, "POST "+p+"/connections", e.dlfCreateConnection)
	e.route(DLF, "GET "+p+"/connections", e.dlfListConnections)
	e.route(DLF, "GET "+p+"/connections/{connection_name}", e.dlfShowConnection)
	e.route(DLF, "DELETE "+p+"/connections/{connection_name}", e.dlfDeleteConnection)

	e.addDumper(DLF, "jobs", func() any { return e.DLFJobs() })
	e.addDumper(DLF, "instances", func() any { return e.DLFInstances() })
	e.addDumper(DLF, "script_runs", func() any { return e.DLFScriptRuns() })
}

// dlfState holds the service's emulated resources, guarded by Emulator.mu.
// Slices are in creation order; deleted jobs and scripts stay (marked) so
// introspection and their instances keep them.
type dlfState struct {
	Jobs           []*dlfJob        `json:"jobs"`
	Instances      []*dlfInstance   `json:"instances"`
	Scripts        []*dlfScript     `json:"scripts"`
	ScriptRuns     []*dlfScriptRun  `json:"script_runs"`
	Connections    []*dlfConnection `json:"connections"`
	LastSeq        int              `json:"last_seq"`         // jobs and scripts
	LastInstanceID int64            `json:"last_instance_id"` // 0 = none yet
}

// dlfScope is where a resource lives: a project and a workspace ("" is the
// default workspace).
type dlfScope struct {
	ProjectID string `json:"project_id"`
	Workspace string `json:"workspace"`
}

func dlfScopeOf(r *http.Request) dlfScope {
	return dlfScope{ProjectID: r.PathValue("project_id"), Workspace: r.Header.Get("workspace")}
}

// dlfPlan is what the rules decided for one run.
type dlfPlan struct {
	Duration    time.Duration `json:"duration"`
	Hang        bool          `json:"hang,omitempty"`
	FailMessage string        `json:"fail_message,omitempty"`
}

// dlfAttempt is one run of an instance, script or real-time job.
type dlfAttempt struct {
	dlfPlan
	StartedAt time.Time `json:"started_at"`
	StoppedAt time.Time `json:"stopped_at"`
}

func dlfPlanOf(b behaviour) dlfPlan {
	return dlfPlan{Duration: b.duration, Hang: b.hang, FailMessage: b.failMessage}
}

func (e *Emulator) nextDLFSeq() int {
	e.dlf.LastSeq++
	return e.dlf.LastSeq
}

func dlfError(w http.ResponseWriter, code, msg string) {
	writeError(w, http.StatusBadRequest, code, msg)
}

func dlfBadBody(w http.ResponseWriter, err error) {
	dlfError(w, dlfBadParam, "The request parameter is invalid: "+err.Error())
}

// writeDLFInjected answers an injected failure. The documented table has
// only 400s, so other statuses are answered as the API gateway would
// (APIGW.0500, APIG.1002 for 401, as faults.go does), except 403, which has
// DLF.6888.
func writeDLFInjected(w http.ResponseWriter, status int) {
	code := fmt.Sprintf("APIGW.%04d", status)
	switch status {
	case http.StatusUnauthorized:
		code = "APIG.1002"
	case http.StatusForbidden:
		code = dlfNoPermission
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, status, code, fmt.Sprintf("Injected failure (HTTP %d).", status))
}

// dlfDecodeOptional decodes a body that may be absent (run-immediate,
// start and execute document it as optional).
func dlfDecodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return json.Unmarshal(body, v)
}

// dlfNameOK: only ASCII letters, digits and the extra characters, at most
// max characters.
func dlfNameOK(s, extra string, max int) bool {
	if len(s) > max {
		return false
	}
	for _, r := range s {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}

func dlfMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// dlfPaging parses offset (≥ 0, default 0; a record offset) and limit
// (1..maxLimit, default 10).
func dlfPaging(r *http.Request, maxLimit int) (offset, limit int, ok bool) {
	offset, limit = 0, 10
	q := r.URL.Query()
	for _, p := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"offset", &offset, 0, 1 << 30}, {"limit", &limit, 1, maxLimit}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < p.min || n > p.max {
				return 0, 0, false
			}
			*p.dst = n
		}
	}
	return offset, limit, true
}

// dlfPage returns the part of n items that offset and limit select.
func dlfPage(n, offset, limit int) (from, to int) {
	from = min(offset, n)
	return from, min(from+limit, n)
}
