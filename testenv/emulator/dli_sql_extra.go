package emulator

import (
	"cmp"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// This file implements the SQL job endpoints beyond submit/status/list:
// execution progress (§7.3.11), result preview (§7.3.6) and SQL syntax
// check (§7.3.9).

func (e *Emulator) registerDLISQLExtra() {
	// Progress is under /v1/, not /v1.0/ like its siblings (URI@4962).
	e.route(DLI, "GET /v1/{project_id}/jobs/{job_id}/progress", e.dliJobProgress)
	e.route(DLI, "GET /v1.0/{project_id}/jobs/{job_id}/preview", e.dliPreview)
	e.route(DLI, "POST /v1.0/{project_id}/jobs/check-sql", e.dliCheckSQL)
}

// dliProgressTasks is how many tasks the one emulated Spark sub-job of a
// running SQL job has; progress is completed tasks / dliProgressTasks.
const dliProgressTasks = 100

type dliProgressResponse struct {
	dliEnvelope
	JobID    string         `json:"job_id"`
	Status   string         `json:"status"`
	SubJobID *int           `json:"sub_job_id,omitempty"` // only while a sub-job runs
	Progress float64        `json:"progress"`
	SubJobs  []dliSubJobDTO `json:"sub_jobs"`
}

// dliSubJobDTO is one sub-job (table 7-93), mirroring Spark's JobData.
type dliSubJobDTO struct {
	ID                  int            `json:"id"`
	Name                string         `json:"name"`
	Description         string         `json:"description"`
	SubmissionTime      string         `json:"submission_time"`
	CompletionTime      string         `json:"completion_time,omitempty"`
	StageIDs            []int          `json:"stage_ids"`
	JobGroup            string         `json:"job_group"`
	Status              string         `json:"status"`
	NumTasks            int            `json:"num_tasks"`
	NumActiveTasks      int            `json:"num_active_tasks"`
	NumCompletedTasks   int            `json:"num_completed_tasks"`
	NumSkippedTasks     int            `json:"num_skipped_tasks"`
	NumFailedTasks      int            `json:"num_failed_tasks"`
	NumKilledTasks      int            `json:"num_killed_tasks"`
	NumCompletedIndices int            `json:"num_completed_indices"`
	NumActiveStages     int            `json:"num_active_stages"`
	NumCompletedStages  int            `json:"num_completed_stages"`
	NumSkippedStages    int            `json:"num_skipped_stages"`
	NumFailedStages     int            `json:"num_failed_stages"`
	KilledTasksSummary  map[string]int `json:"killed_tasks_summary"`
}

// javaDateLayout is how the sample prints times (Java's Date.toString).
const javaDateLayout = "Mon Jan 02 15:04:05 MST 2006"

// completedTasks is how many of the sub-job's tasks are done at t: they
// complete evenly over the RUNNING phase; a hanging job stops one short.
func (j *dliJob) completedTasks(t time.Time) int {
	launch := j.submittedAt.Add(j.duration / launchShare)
	span := j.duration - j.duration/launchShare
	if span <= 0 || !t.After(launch) {
		return 0
	}
	return min(int(int64(t.Sub(launch))*dliProgressTasks/int64(span)), dliProgressTasks-1)
}

func (e *Emulator) dliJobProgress(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	j, ok := e.dliLookup(r)
	var resp dliProgressResponse
	if ok {
		now := e.now()
		status, ended := j.state(now)
		resp = dliProgressResponse{dliEnvelope: dliOK, JobID: j.id, Status: status, SubJobs: []dliSubJobDTO{}}
		switch status {
		case dliRunning:
			// The documented per-sub-job progress while one runs.
			done := j.completedTasks(now)
			resp.SubJobID = new(int)
			resp.Progress = float64(done) / dliProgressTasks
			resp.SubJobs = append(resp.SubJobs, dliSubJobDTO{
				Name:                "runJob at FileFormatWriter.scala:266",
				Description:         j.sql,
				SubmissionTime:      j.submittedAt.Add(j.duration / launchShare).UTC().Format(javaDateLayout),
				StageIDs:            []int{0},
				JobGroup:            j.id,
				Status:              "RUNNING",
				NumTasks:            dliProgressTasks,
				NumActiveTasks:      1,
				NumCompletedTasks:   done,
				NumCompletedIndices: done,
				NumActiveStages:     1,
				KilledTasksSummary:  map[string]int{},
			})
		case dliFinished:
			resp.Progress = 1
		case dliFailed, dliCancelled:
			// Where the job had got to when it stopped.
			resp.Progress = float64(j.completedTasks(ended)) / dliProgressTasks
		}
	}
	e.mu.Unlock()
	if !ok {
		writeDLIJobNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// dliPreviewResponse is "Previewing SQL Job Query Results" (table 7-73).
type dliPreviewResponse struct {
	dliEnvelope
	JobID     string              `json:"job_id"`
	JobType   string              `json:"job_type"`
	RowCount  int                 `json:"row_count"`
	InputSize int64               `json:"input_size"`
	Schema    []map[string]string `json:"schema"`
	Rows      [][]any             `json:"rows"`
}

// dliPreview previews a finished QUERY job's result. The emulator holds no
// table data, so every result is empty — consistent with the result_count
// of 0 that the status call reports.
func (e *Emulator) dliPreview(w http.ResponseWriter, r *http.Request) {
	if s := r.URL.Query().Get("page-size"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, dliParamCheck,
				fmt.Sprintf("Parameter check errors occur: page-size must be an integer in [1, 1000], got %q", s))
			return
		}
	}
	if q := r.URL.Query().Get("queue-name"); q != "" && !validQueueName(q) {
		writeError(w, http.StatusBadRequest, dliParamCheck, fmt.Sprintf("Parameter check errors occur: invalid queue-name %q", q))
		return
	}
	e.mu.Lock()
	j, ok := e.dliLookup(r)
	var status, jobType, id string
	if ok {
		status, _ = j.state(e.now())
		jobType, id = j.jobType, j.id
	}
	e.mu.Unlock()
	switch {
	case !ok:
		writeDLIJobNotFound(w, r)
	case jobType != "QUERY":
		writeError(w, http.StatusBadRequest, dliUnsupported,
			fmt.Sprintf("The operation is not supported: job %s is a %s job; only QUERY job results can be previewed.", id, jobType))
	case status != dliFinished:
		writeError(w, http.StatusBadRequest, dliUnavailable,
			fmt.Sprintf("Resource objects are unavailable: job %s is %s; its result can be previewed once it is FINISHED.", id, status))
	default:
		writeJSON(w, http.StatusOK, dliPreviewResponse{
			dliEnvelope: dliOK, JobID: id, JobType: jobType,
			Schema: []map[string]string{}, Rows: [][]any{},
		})
	}
}

// More DLI error codes (table 14-3) used by the extra endpoints.
const (
	dliSyntaxError    = "DLI.0004" // SQL syntax parsing errors occur.
	dliSemanticsError = "DLI.0005" // SQL semantics parsing errors occur.
	dliObjectExists   = "DLI.0006" // The object exists.
	dliUnavailable    = "DLI.0012" // Resource objects are unavailable.
)

// dliCheckSQLRequest accepts the database under both documented names:
// the table says current_db (@4807), the sample sends currentdb (@4823).
type dliCheckSQLRequest struct {
	SQL             string `json:"sql"`
	CurrentDB       string `json:"current_db"`
	CurrentDBSample string `json:"currentdb"`
}

type dliCheckSQLResponse struct {
	dliEnvelope
	JobType string `json:"job_type"`
}

func (e *Emulator) dliCheckSQL(w http.ResponseWriter, r *http.Request) {
	var req dliCheckSQLRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, dliParamCheck, "Parameter check errors occur: invalid request body: "+err.Error())
		return
	}
	if strings.TrimSpace(req.SQL) == "" {
		writeError(w, http.StatusBadRequest, dliParamCheck, "Parameter check errors occur: sql is mandatory and cannot be empty")
		return
	}
	if msg := checkSQLSyntax(req.SQL); msg != "" {
		writeError(w, http.StatusBadRequest, dliSyntaxError, "SQL syntax parsing errors occur: "+msg)
		return
	}
	if db := cmp.Or(req.CurrentDB, req.CurrentDBSample); db == "" {
		if t := unqualifiedTable(req.SQL); t != "" {
			writeError(w, http.StatusBadRequest, dliSemanticsError, fmt.Sprintf(
				"SQL semantics parsing errors occur: table %s has no database name and no current_db is set", t))
			return
		}
	}
	writeJSON(w, http.StatusOK, dliCheckSQLResponse{
		dliEnvelope: dliEnvelope{IsSuccess: true, Message: "the sql is ok"},
		JobType:     sqlJobType(req.SQL),
	})
}

// dliStatementKeywords are the first keywords the syntax check accepts.
var dliStatementKeywords = []string{
	"SELECT", "WITH", "INSERT", "CREATE", "DROP", "ALTER", "SHOW", "DESC", "DESCRIBE", "USE", "EXPLAIN",
	"TRUNCATE", "GRANT", "REVOKE", "LOAD", "SET", "RESET", "UPDATE", "DELETE", "MERGE", "ANALYZE",
	"REFRESH", "CACHE", "UNCACHE", "CLEAR", "MSCK", "VALUES", "TABLE",
}

// checkSQLSyntax is a shallow syntax check: a known first keyword, closed
// quotes and comments, balanced parentheses. It returns what is wrong, or "".
func checkSQLSyntax(sql string) string {
	if kw := strings.ToUpper(firstKeyword(sql)); !containsFold(dliStatementKeywords, kw) {
		return fmt.Sprintf("mismatched input %q expecting a statement", firstWord(sql))
	}
	depth := 0
	toks, err := sqlTokens(sql)
	if err != "" {
		return err
	}
	for _, t := range toks {
		switch t {
		case "(":
			depth++
		case ")":
			if depth--; depth < 0 {
				return "extraneous input ')'"
			}
		}
	}
	if depth > 0 {
		return "missing ')' at '<EOF>'"
	}
	return ""
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// firstWord is the statement's first blank-separated word, for messages.
func firstWord(sql string) string {
	f := strings.Fields(sql)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// sqlTokens splits sql into identifiers (dotted names stay whole),
// punctuation and quoted literals, dropping blanks and comments. It
// returns a message for an unterminated literal or comment.
func sqlTokens(sql string) (toks []string, errMsg string) {
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case unicode.IsSpace(rune(c)):
			i++
		case strings.HasPrefix(sql[i:], "--"):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				return toks, ""
			}
			i += end + 1
		case strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return nil, "unterminated comment"
			}
			i += end + 4
		case c == '\'' || c == '"' || c == '`':
			end := strings.IndexByte(sql[i+1:], c)
			if end < 0 {
				return nil, fmt.Sprintf("unterminated literal starting at %q", sql[i:min(i+20, len(sql))])
			}
			if c == '`' { // a quoted identifier, possibly part of a dotted name
				toks = append(toks, sql[i+1:i+1+end])
			} else {
				toks = append(toks, "'")
			}
			i += end + 2
		case isIdentByte(c):
			j := i
			for j < len(sql) && (isIdentByte(sql[j]) || sql[j] == '.') {
				j++
			}
			toks = append(toks, sql[i:j])
			i = j
		default:
			toks = append(toks, sql[i:i+1])
			i++
		}
	}
	return toks, ""
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// unqualifiedTable returns the first table named without a database (the
// name after FROM, JOIN, INTO or TABLE that has no dot and is not a
// WITH-clause name), or "" when every table is qualified. This is the
// semantic check the API performs when current_db is missing.
func unqualifiedTable(sql string) string {
	toks, _ := sqlTokens(sql)
	ctes := map[string]bool{}
	for i := 0; i+2 < len(toks); i++ {
		// name AS ( ... ) in a WITH clause
		if strings.EqualFold(toks[i+1], "AS") && toks[i+2] == "(" {
			ctes[strings.ToLower(toks[i])] = true
		}
	}
	for i := 0; i+1 < len(toks); i++ {
		switch strings.ToUpper(toks[i]) {
		case "FROM", "JOIN", "INTO", "TABLE":
			j := i + 1
			for j+1 < len(toks) && containsFold([]string{"IF", "NOT", "EXISTS"}, toks[j]) {
				j++
			}
			t := toks[j]
			if strings.EqualFold(t, "TABLE") || !isIdentByte(t[0]) || t[0] >= '0' && t[0] <= '9' {
				continue // INSERT INTO TABLE x, a subquery, a literal
			}
			qualified := strings.Contains(t, ".") || j+1 < len(toks) && toks[j+1] == "." // `db`.`t`
			if !qualified && !ctes[strings.ToLower(t)] {
				return t
			}
		}
	}
	return ""
}
