package emulator

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DIS (Data Ingestion Service): streams, consumer apps and checkpoints,
// the record data plane and dump (transfer) tasks, from the DIS API
// reference (seed 002, chapter 5; the DAYU seed 000 chapter 6 is a second
// edition whose differences are tolerated where noted).
//
// Everything lives under /v2/{project_id} except the stream update, which
// the reference puts under /v3/; the permission table's
// PUT /v2/{project_id}/streams/{stream_name}/update is served as an alias.
//
// Rules (see Rule) apply to streams by stream name at creation (the CREATING
// phase lasts the rule's duration; a failing rule leaves the stream FROZEN)
// and to dump tasks by task name at creation and at every start that
// restarts them (STARTING lasts the duration; a failing rule ends in ERROR).
func (e *Emulator) registerDIS() {
	e.route(DIS, "POST /v2/{project_id}/streams", e.disCreateStream)
	e.route(DIS, "GET /v2/{project_id}/streams", e.disListStreams)
	e.route(DIS, "GET /v2/{project_id}/streams/{stream_name}", e.disDescribeStream)
	e.route(DIS, "DELETE /v2/{project_id}/streams/{stream_name}", e.disDeleteStream)
	e.route(DIS, "PUT /v2/{project_id}/streams/{stream_name}", e.disChangePartitions)
	e.route(DIS, "PUT /v3/{project_id}/streams/{stream_name}", e.disUpdateStream)
	e.route(DIS, "PUT /v2/{project_id}/streams/{stream_name}/update", e.disUpdateStream)

	e.route(DIS, "POST /v2/{project_id}/apps", e.disCreateApp)
	e.route(DIS, "GET /v2/{project_id}/apps", e.disListApps)
	e.route(DIS, "GET /v2/{project_id}/apps/{app_name}", e.disDescribeApp)
	e.route(DIS, "DELETE /v2/{project_id}/apps/{app_name}", e.disDeleteApp)
	e.route(DIS, "GET /v2/{project_id}/apps/{app_name}/streams/{stream_name}", e.disAppConsumption)
	e.route(DIS, "POST /v2/{project_id}/checkpoints", e.disCommitCheckpoint)
	e.route(DIS, "GET /v2/{project_id}/checkpoints", e.disQueryCheckpoint)
	e.route(DIS, "DELETE /v2/{project_id}/checkpoints", e.disDeleteCheckpoints)

	e.route(DIS, "POST /v2/{project_id}/records", e.disPutRecords)
	e.route(DIS, "GET /v2/{project_id}/cursors", e.disGetCursor)
	e.route(DIS, "GET /v2/{project_id}/records", e.disGetRecords)

	e.route(DIS, "POST /v2/{project_id}/streams/{stream_name}/transfer-tasks", e.disCreateTask)
	e.route(DIS, "GET /v2/{project_id}/streams/{stream_name}/transfer-tasks", e.disListTasks)
	e.route(DIS, "GET /v2/{project_id}/streams/{stream_name}/transfer-tasks/{task_name}", e.disDescribeTask)
	e.route(DIS, "DELETE /v2/{project_id}/streams/{stream_name}/transfer-tasks/{task_name}", e.disDeleteTask)
	e.route(DIS, "POST /v2/{project_id}/streams/{stream_name}/transfer-tasks/action", e.disTaskAction)

	e.addDumper(DIS, "streams", func() any { return e.DISStreams() })
	e.addDumper(DIS, "dump_tasks", func() any { return redactDISTasks(e.DISDumpTasks()) })
	e.addDumper(DIS, "apps", func() any { return e.DISApps() })
	e.addDumper(DIS, "checkpoints", func() any { return e.DISCheckpoints() })
	e.addDumper(DIS, "counts", func() any { return e.DISCounts() })
}

// disState holds the service's emulated resources, guarded by Emulator.mu.
// Its fields are exported so that it round-trips through encoding/json.
type disState struct {
	Streams     []*disStream     // creation order, deleted ones removed
	Apps        []*disApp        // creation order
	Checkpoints []*disCheckpoint // commit order
	Counts      DISCounts
}

// DIS error codes (DIS API reference §7.1). Every one is answered with
// HTTP 400 except DIS.4116 (403) and DIS.5000 (500).
const (
	disInvalidRequest    = "DIS.4200"
	disInvalidPartition  = "DIS.4201"
	disEmptyRequest      = "DIS.4202"
	disStreamNotRunning  = "DIS.4205"
	disInvalidCursorType = "DIS.4215"
	disInvalidSeq        = "DIS.4216"
	disInvalidCursor     = "DIS.4217"
	disSeqOutOfRange     = "DIS.4224"
	disCursorExpired     = "DIS.4225"
	disCursorTrimmed     = "DIS.4226"
	disBadBody           = "DIS.4300"
	disStreamNotFound    = "DIS.4301"
	disPartitionNotFound = "DIS.4302"
	disTooManyRequests   = "DIS.4305"
	disStreamExists      = "DIS.4307"
	disQuota             = "DIS.4308"
	disPartitionExpired  = "DIS.4319"
	disAppExists         = "DIS.4330"
	disAppNotFound       = "DIS.4332"
	disBadHBaseSchema    = "DIS.4345" // DAYU copy only
	disBadOpenTSDBSchema = "DIS.4348" // DAYU copy only
	disTaskNotFound      = "DIS.4354"
	disTaskExists        = "DIS.4355"
	disTaskQuota         = "DIS.4357"
	disInvalidSchema     = "DIS.4360"
	disNoCheckpoint      = "DIS.4375"
	disTagQuota          = "DIS.4601"
	disRBAC              = "DIS.4116"
	disSystemError       = "DIS.5000"
)

// disMessage is the documented error_msg of code; "%s" takes the detail.
func disMessage(code string) string {
	switch code {
	case disInvalidRequest:
		return "Invalid request. %s"
	case disInvalidPartition:
		return "Invalid partition_id. %s"
	case disEmptyRequest:
		return "Empty request."
	case disStreamNotRunning:
		return "Stream is not running."
	case disInvalidCursorType:
		return "Invalid cursor type. %s"
	case disInvalidSeq:
		return "Invalid sequence_number. %s"
	case disInvalidCursor:
		return "Invalid partition cursor. %s"
	case disSeqOutOfRange:
		return "Sequence_number out of range. %s"
	case disCursorExpired:
		return "Expired partition cursor. %s"
	case disCursorTrimmed:
		return "A partition iterator error occurred or a record to which the SN corresponds has expired. Try to obtain the partition iterator again."
	case disBadBody:
		return "Request error."
	case disStreamNotFound:
		return "The stream does not exist. %s"
	case disPartitionNotFound:
		return "Partition does not exist. %s"
	case disTooManyRequests:
		return "Too many stream requests."
	case disStreamExists:
		return "The stream already exists."
	case disQuota:
		return "Insufficient quota."
	case disPartitionExpired:
		return "Partition is expired. %s"
	case disAppExists:
		return "app already exist."
	case disAppNotFound:
		return "app not found."
	case disBadHBaseSchema:
		return "Invalid CloudTable schema."
	case disBadOpenTSDBSchema:
		return "Invalid CloudTable openTSDB schema."
	case disTaskNotFound:
		return "The transfer task does not exist."
	case disTaskExists:
		return "The transfer task already exists."
	case disTaskQuota:
		return "Exceeded transfer task quota."
	case disInvalidSchema:
		return "Invalid data schema."
	case disNoCheckpoint:
		return "The app does not commit checkpoint"
	case disTagQuota:
		return "The number of resource tags has reached the maximum."
	case disRBAC:
		return "Invalid RBAC. %s"
	default:
		return "System error."
	}
}

// disErr is a DIS error answer: a code and the detail for its message.
type disErr struct {
	code, detail string
}

func (d *disErr) Error() string { return d.code + ": " + d.message() }

// message fills the documented message; codes without a %s get the detail
// appended, so the reason is never lost.
func (d *disErr) message() string {
	msg := disMessage(d.code)
	if strings.Contains(msg, "%s") {
		return strings.TrimSpace(fmt.Sprintf(msg, d.detail))
	}
	if d.detail != "" {
		return msg + " " + d.detail
	}
	return msg
}

func disErrorf(code, format string, args ...any) *disErr {
	return &disErr{code: code, detail: fmt.Sprintf(format, args...)}
}

func writeDISError(w http.ResponseWriter, d *disErr) {
	status := http.StatusBadRequest
	switch d.code {
	case disRBAC:
		status = http.StatusForbidden
	case disSystemError:
		status = http.StatusInternalServerError
	}
	writeError(w, status, d.code, d.message())
}

// writeDISInjected answers a create or start that a rule's SubmitErrors
// rejected, with the DIS code closest to the injected status.
func writeDISInjected(w http.ResponseWriter, status int) {
	code, msg := disSystemError, fmt.Sprintf("System error. (injected HTTP %d)", status)
	switch status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		code, msg = disTooManyRequests, "Too many stream requests. (injected)"
	case http.StatusForbidden:
		code, msg = disRBAC, "Invalid RBAC. (injected)"
	case http.StatusBadRequest:
		code, msg = disInvalidRequest, "Invalid request. (injected)"
	case http.StatusUnauthorized:
		code, msg = "APIG.1002", "Incorrect token or token resolution failed (injected)"
	}
	writeError(w, status, code, msg)
}

// decodeDISBody decodes a JSON request body, mapping failures to DIS codes.
func decodeDISBody(w http.ResponseWriter, r *http.Request, v any) *disErr {
	if err := decodeJSON(w, r, v); err != nil {
		if strings.Contains(err.Error(), "empty") {
			return &disErr{code: disEmptyRequest}
		}
		return &disErr{code: disBadBody, detail: err.Error()}
	}
	return nil
}

// disNoContent answers a success without a body (201, 204 and the
// documented body-less 200s).
func disNoContent(w http.ResponseWriter, status int) {
	w.WriteHeader(status)
}

// disIDChars are the characters of DIS resource IDs ("8QM3Nt9YTLowtUVYJhO").
const disIDChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newDISID returns a random ID of n characters, the format of stream,
// app and dump task IDs in the samples.
func newDISID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	for i := range b {
		b[i] = disIDChars[int(b[i])%len(disIDChars)]
	}
	return string(b)
}

// validDISName reports whether s has 1..max letters, digits, '_' and '-',
// the documented charset of stream, app and task names.
func validDISName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// disPartitionID renders partition i as the service does.
func disPartitionID(i int) string { return fmt.Sprintf("shardId-%010d", i) }

// parseDISPartitionID accepts both documented forms, "shardId-0000000002"
// and "2".
func parseDISPartitionID(s string) (int, bool) {
	digits := strings.TrimPrefix(s, "shardId-")
	if digits == "" || len(digits) > 10 || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// disMillis is a 13-digit timestamp, 0 for the zero time.
func disMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// disParseLimit parses an optional integer query parameter within [lo, hi].
func disParseLimit(r *http.Request, name string, def, lo, hi int) (int, *disErr) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, disErrorf(disInvalidRequest, "%s must be an integer in [%d, %d], got %q", name, lo, hi, s)
	}
	return n, nil
}

// disFlex is a string field that also accepts a JSON number: the reference
// types sequence numbers, partition IDs, retry_duration and reject_limit as
// strings while its samples send some of them as numbers.
type disFlex string

func (f *disFlex) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = disFlex(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("expected a string or a number, got %s", b)
	}
	*f = disFlex(n.String())
	return nil
}
