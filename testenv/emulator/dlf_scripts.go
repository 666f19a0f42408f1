package emulator

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DLF scripts: create (S1), modify (S2), query (S3), list (S4), delete
// (S5), execute (S6), stop an execution (S7) and its result (S8). An
// execution's behaviour comes from the rules matched against the script
// name. It is LAUNCHING for the first 1/dlfWaitShare of its duration, then
// RUNNING, then FINISHED or FAILED (FAILED with "stopped" when stopped: the
// result call has no cancelled status).

// Script execution statuses (table 7-126).
const (
	dlfLaunching = "LAUNCHING"
	dlfRunningSc = "RUNNING"
	dlfFinished  = "FINISHED"
	dlfFailedSc  = "FAILED"
)

const dlfScriptStopped = "The script instance was stopped."

var dlfScriptTypes = []string{"FlinkSQL", "DLISQL", "SparkSQL", "HiveSQL", "DWSSQL", "RDSSQL", "Shell", "PRESTO"}

// dlfScriptBody is table 7-114, also the query answer.
type dlfScriptBody struct {
	Name           string         `json:"name"`
	Type           string         `json:"type"`
	Content        string         `json:"content"`
	Directory      string         `json:"directory,omitempty"`
	ConnectionName string         `json:"connectionName,omitempty"`
	Database       string         `json:"database,omitempty"`
	QueueName      string         `json:"queueName,omitempty"`
	Configuration  map[string]any `json:"configuration,omitempty"`
	Description    string         `json:"description,omitempty"`
}

type dlfScript struct {
	dlfScope
	Seq     int           `json:"seq"`
	Body    dlfScriptBody `json:"body"`
	Deleted bool          `json:"deleted,omitempty"`
}

type dlfScriptRun struct {
	dlfScope
	ScriptSeq  int               `json:"script_seq"`
	ScriptName string            `json:"script_name"`
	ID         string            `json:"id"`
	Params     map[string]string `json:"params,omitempty"`
	Attempt    dlfAttempt        `json:"attempt"`
}

// validate checks a create or modify body; it returns a code and message.
func (b *dlfScriptBody) validate() (code, msg string) {
	typ, ok := "", false
	for _, t := range dlfScriptTypes {
		if strings.EqualFold(t, b.Type) {
			typ, ok = t, true
		}
	}
	switch {
	case strings.TrimSpace(b.Name) == "":
		return dlfParamMissing, "The specified parameter is not configured: name."
	// The rule text allows letters, digits, - and . only, but samples
	// name scripts dws_sql and the like; _ is accepted.
	case !dlfNameOK(b.Name, "-._", 128):
		return dlfBadParam, fmt.Sprintf("The request parameter is invalid: script name %q must be at most 128 letters, digits, -, _ and ..", b.Name)
	case b.Type == "":
		return dlfScriptTypeMissing, "The script type is not specified."
	case !ok:
		return dlfBadParam, fmt.Sprintf("The request parameter is invalid: script type %q is not one of %s.", b.Type, strings.Join(dlfScriptTypes, ", "))
	case b.Content == "":
		return dlfParamMissing, "The specified parameter is not configured: content."
	case len(b.Content) > 64<<10:
		return dlfBadParam, "The request parameter is invalid: content exceeds 64 KB."
	case b.ConnectionName == "" && slices.Contains([]string{"DLISQL", "SparkSQL", "HiveSQL", "DWSSQL", "Shell", "PRESTO"}, typ):
		return dlfParamMissing, fmt.Sprintf("The specified parameter is not configured: connectionName (mandatory for %s scripts).", typ)
	case len([]rune(b.Description)) > 255:
		return dlfBadParam, "The request parameter is invalid: description exceeds 255 characters."
	}
	b.Type = typ
	if typ != "DLISQL" { // queueName and configuration apply to DLI SQL only
		b.QueueName, b.Configuration = "", nil
	}
	return "", ""
}

// dlfLookupScript finds a live script by name in scope. e.mu is held.
func (e *Emulator) dlfLookupScript(scope dlfScope, name string) *dlfScript {
	for _, s := range e.dlf.Scripts {
		if !s.Deleted && s.Body.Name == name && s.dlfScope == scope {
			return s
		}
	}
	return nil
}

func writeDLFScriptNotFound(w http.ResponseWriter) {
	dlfError(w, dlfScriptNotFound, "The script does not exist.")
}

func (e *Emulator) dlfCreateScript(w http.ResponseWriter, r *http.Request) {
	var body dlfScriptBody
	if err := decodeJSON(w, r, &body); err != nil {
		dlfBadBody(w, err)
		return
	}
	if code, msg := body.validate(); code != "" {
		dlfError(w, code, msg)
		return
	}
	scope := dlfScopeOf(r)
	e.mu.Lock()
	exists := e.dlfLookupScript(scope, body.Name) != nil
	if !exists {
		e.dlf.Scripts = append(e.dlf.Scripts, &dlfScript{dlfScope: scope, Seq: e.nextDLFSeq(), Body: body})
	}
	e.mu.Unlock()
	if exists {
		dlfError(w, dlfScriptExists, "The script name has been used by another script.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dlfScriptPatch is the modify body: the sample sends only the changed
// fields, so absent ones keep their values; name and type cannot change.
type dlfScriptPatch struct {
	Name           string          `json:"name"`
	Type           string          `json:"type"`
	Content        *string         `json:"content"`
	Directory      *string         `json:"directory"`
	ConnectionName *string         `json:"connectionName"`
	Database       *string         `json:"database"`
	QueueName      *string         `json:"queueName"`
	Configuration  *map[string]any `json:"configuration"`
	Description    *string         `json:"description"`
}

func (e *Emulator) dlfModifyScript(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("script_name")
	var p dlfScriptPatch
	if err := decodeJSON(w, r, &p); err != nil {
		dlfBadBody(w, err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.dlfLookupScript(dlfScopeOf(r), name)
	if s == nil {
		writeDLFScriptNotFound(w)
		return
	}
	if (p.Name != "" && p.Name != name) || (p.Type != "" && !strings.EqualFold(p.Type, s.Body.Type)) {
		dlfError(w, dlfScriptModify, "The script fails to be modified: its name and type cannot be changed.")
		return
	}
	b := s.Body
	for _, f := range []struct {
		src *string
		dst *string
	}{{p.Content, &b.Content}, {p.Directory, &b.Directory}, {p.ConnectionName, &b.ConnectionName},
		{p.Database, &b.Database}, {p.QueueName, &b.QueueName}, {p.Description, &b.Description}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if p.Configuration != nil {
		b.Configuration = *p.Configuration
	}
	if code, msg := b.validate(); code != "" {
		dlfError(w, code, msg)
		return
	}
	s.Body = b
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) dlfShowScript(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	var body dlfScriptBody
	s := e.dlfLookupScript(dlfScopeOf(r), r.PathValue("script_name"))
	if s != nil {
		body = s.Body
		body.Configuration = maps.Clone(body.Configuration)
	}
	e.mu.Unlock()
	if s == nil {
		writeDLFScriptNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// dlfScriptList is S4's table. Its sample names the list "connections";
// the table's "scripts" is sent.
type dlfScriptList struct {
	Total   int             `json:"total"`
	Scripts []dlfScriptBody `json:"scripts"`
}

// dlfListScripts is S4; scriptId (a script name, per the table) matches a
// substring. Scripts come in creation order.
func (e *Emulator) dlfListScripts(w http.ResponseWriter, r *http.Request) {
	offset, limit, ok := dlfPaging(r, 100)
	if !ok {
		dlfError(w, dlfBadParam, "The request parameter is invalid.")
		return
	}
	name, scope := r.URL.Query().Get("scriptId"), dlfScopeOf(r)
	var all []dlfScriptBody
	e.mu.Lock()
	for _, s := range e.dlf.Scripts {
		if !s.Deleted && s.dlfScope == scope && strings.Contains(s.Body.Name, name) {
			b := s.Body
			b.Configuration = maps.Clone(b.Configuration)
			all = append(all, b)
		}
	}
	e.mu.Unlock()
	from, to := dlfPage(len(all), offset, limit)
	writeJSON(w, http.StatusOK, dlfScriptList{Total: len(all), Scripts: append([]dlfScriptBody{}, all[from:to]...)})
}

func (e *Emulator) dlfDeleteScript(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	s := e.dlfLookupScript(dlfScopeOf(r), r.PathValue("script_name"))
	if s != nil {
		s.Deleted = true
	}
	e.mu.Unlock()
	if s == nil {
		writeDLFScriptNotFound(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type dlfExecuteBody struct {
	Params map[string]string `json:"params"`
}

type dlfExecuteResponse struct {
	InstanceID string `json:"instanceId"`
}

// dlfExecuteScript is S6; shell scripts are not among the executable types.
func (e *Emulator) dlfExecuteScript(w http.ResponseWriter, r *http.Request) {
	var body dlfExecuteBody
	if err := dlfDecodeOptional(w, r, &body); err != nil {
		dlfBadBody(w, err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.dlfLookupScript(dlfScopeOf(r), r.PathValue("script_name"))
	if s == nil {
		writeDLFScriptNotFound(w)
		return
	}
	if s.Body.Type == "Shell" {
		dlfError(w, dlfBadParam, "The request parameter is invalid: Shell scripts cannot be executed by this API.")
		return
	}
	b := e.behaviour(DLF, s.Body.Name)
	if b.submitError != 0 {
		e.log.Info("emulator injected DLF script execute error", "script", s.Body.Name, "status", b.submitError)
		writeDLFInjected(w, b.submitError)
		return
	}
	run := &dlfScriptRun{
		dlfScope: s.dlfScope, ScriptSeq: s.Seq, ScriptName: s.Body.Name, ID: newUUID(), Params: body.Params,
		Attempt: dlfAttempt{dlfPlan: dlfPlanOf(b), StartedAt: e.now()},
	}
	e.dlf.ScriptRuns = append(e.dlf.ScriptRuns, run)
	e.log.Info("emulator DLF script executed", "script", s.Body.Name, "instance", run.ID, "fails", b.failMessage != "")
	writeJSON(w, http.StatusOK, dlfExecuteResponse{InstanceID: run.ID})
}

// state derives the execution's status at now, its failure message and
// when it ended.
func (run *dlfScriptRun) state(now time.Time) (status, message string, ended time.Time) {
	a := run.Attempt
	if !a.StoppedAt.IsZero() {
		return dlfFailedSc, dlfScriptStopped, a.StoppedAt
	}
	elapsed, end := now.Sub(a.StartedAt), a.StartedAt.Add(a.Duration)
	switch {
	case elapsed < a.Duration/dlfWaitShare:
		return dlfLaunching, "", time.Time{}
	case a.Hang || elapsed < a.Duration:
		return dlfRunningSc, "", time.Time{}
	case a.FailMessage != "":
		return dlfFailedSc, a.FailMessage, end
	default:
		return dlfFinished, "", end
	}
}

// dlfLookupScriptRun finds the execution of the request path, answering
// the error itself when there is none. e.mu is held.
func (e *Emulator) dlfLookupScriptRun(w http.ResponseWriter, r *http.Request) *dlfScriptRun {
	s := e.dlfLookupScript(dlfScopeOf(r), r.PathValue("script_name"))
	if s == nil {
		writeDLFScriptNotFound(w)
		return nil
	}
	id := r.PathValue("instance_id")
	for _, run := range e.dlf.ScriptRuns {
		if run.ID == id && run.ScriptSeq == s.Seq {
			return run
		}
	}
	dlfError(w, dlfScriptRunNotFound, "The script running history does not exist.")
	return nil
}

type dlfScriptResultItem struct {
	Message  string              `json:"message"`
	Duration float64             `json:"duration"` // seconds
	RowCount int                 `json:"rowCount"`
	Rows     [][]any             `json:"rows"`
	Schema   []map[string]string `json:"schema"`
}

type dlfScriptResult struct {
	Status  string                `json:"status"`
	Results []dlfScriptResultItem `json:"results"`
}

// dlfScriptResult is S8: no results while running; one empty result set
// once finished, or one carrying the failure message.
func (e *Emulator) dlfScriptResult(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	run := e.dlfLookupScriptRun(w, r)
	if run == nil {
		return
	}
	status, msg, ended := run.state(e.now())
	resp := dlfScriptResult{Status: status, Results: []dlfScriptResultItem{}}
	if !ended.IsZero() {
		resp.Results = append(resp.Results, dlfScriptResultItem{
			Message: msg, Duration: ended.Sub(run.Attempt.StartedAt).Seconds(), Rows: [][]any{}, Schema: []map[string]string{},
		})
	}
	writeJSON(w, http.StatusOK, resp)
}

// dlfStopScript is S7; stopping a finished execution changes nothing.
func (e *Emulator) dlfStopScript(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	run := e.dlfLookupScriptRun(w, r)
	if run == nil {
		return
	}
	now := e.now()
	if _, _, ended := run.state(now); ended.IsZero() {
		run.Attempt.StoppedAt = now
	}
	w.WriteHeader(http.StatusNoContent)
}

// DLFScriptRun is a snapshot of one script execution.
type DLFScriptRun struct {
	ProjectID, Workspace, Script, ID string
	Params                           map[string]string
	Status                           string // LAUNCHING, RUNNING, FINISHED or FAILED, as the result call reports it now
	Message                          string // failure message once FAILED
	StartedAt, EndedAt               time.Time
	Stopped                          bool
}

// DLFScriptRuns returns all script executions in execution order.
func (e *Emulator) DLFScriptRuns() []DLFScriptRun {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	runs := make([]DLFScriptRun, len(e.dlf.ScriptRuns))
	for i, run := range e.dlf.ScriptRuns {
		status, msg, ended := run.state(now)
		runs[i] = DLFScriptRun{
			ProjectID: run.ProjectID, Workspace: run.Workspace, Script: run.ScriptName, ID: run.ID,
			Params: maps.Clone(run.Params), Status: status, Message: msg,
			StartedAt: run.Attempt.StartedAt, EndedAt: ended, Stopped: !run.Attempt.StoppedAt.IsZero(),
		}
	}
	return runs
}
