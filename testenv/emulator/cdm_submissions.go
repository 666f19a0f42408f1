package emulator

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// CDM job runs ("submissions"): start, stop, status and history (DAYU
// 5.2.5, 5.2.7-5.2.9). Each start makes a submission whose course the
// rules decide (e.behaviour(CDM, job name)) and whose state is derived
// from the clock: BOOTING for the first fifth of its duration, RUNNING,
// then SUCCEEDED or FAILED.

// Submission statuses (table 5-111) and the job's own status (table 5-66).
const (
	cdmBooting   = "BOOTING"
	cdmRunning   = "RUNNING"
	cdmSucceeded = "SUCCEEDED"
	cdmFailed    = "FAILED"
	cdmNever     = "NEVER_EXECUTED"
	// Only in samples: STOPPED after a stop (@3197) and PENDING in the
	// create-and-execute response (@3099). A stopped run stays STOPPED;
	// the job-level enum has no such value, so the job reports FAILED.
	cdmStopped = "STOPPED"
	cdmPending = "PENDING"
	cdmJobNew  = "NEW"
)

const (
	cdmBootShare     = 5    // 1/5 of a run is BOOTING
	cdmRowsPerSecond = 1000 // rows moved per second of RUNNING
	cdmBytesPerRow   = 100
	cdmRowsPerFile   = 10000
	cdmCountersKey   = "org.apache.sqoop.submission.counter.SqoopCounters"
	cdmNotApplicable = -1 // counters that do not apply, as in the 4.1 sample
	cdmBootProgress  = 1  // progress while BOOTING, as in every sample
)

// cdmFileConnectors move files, so their byte and file counters apply; the
// others count rows only.
var cdmFileConnectors = map[string]bool{
	"obs-connector": true, "hdfs-connector": true, "ftp-connector": true,
	"sftp-connector": true, "nas-connector": true,
}

type cdmSubmission struct {
	ID          int64         `json:"id"`
	Started     time.Time     `json:"started"`
	Duration    time.Duration `json:"duration"` // fixed at start by the rules
	Hang        bool          `json:"hang,omitempty"`
	FailMessage string        `json:"fail_message,omitempty"`
	FailCode    string        `json:"fail_code,omitempty"`
	StoppedAt   time.Time     `json:"stopped_at"` // stopped by the user
	// AbortedAt ends the run as FAILED when its cluster stops or restarts.
	AbortedAt    time.Time `json:"aborted_at"`
	AbortMessage string    `json:"abort_message,omitempty"`
}

// state derives the status at now, and when the run ended if it has.
func (s *cdmSubmission) state(now time.Time) (status string, ended time.Time) {
	switch {
	case !s.StoppedAt.IsZero():
		return cdmStopped, s.StoppedAt
	case !s.AbortedAt.IsZero():
		return cdmFailed, s.AbortedAt
	}
	elapsed := now.Sub(s.Started)
	switch {
	case elapsed < s.Duration/cdmBootShare:
		return cdmBooting, time.Time{}
	case s.Hang || elapsed < s.Duration:
		return cdmRunning, time.Time{}
	case s.FailMessage != "":
		return cdmFailed, s.Started.Add(s.Duration)
	default:
		return cdmSucceeded, s.Started.Add(s.Duration)
	}
}

func (s *cdmSubmission) running(now time.Time) bool {
	status, _ := s.state(now)
	return status == cdmBooting || status == cdmRunning
}

// lastUpdate is the time of the latest change of state up to now.
func (s *cdmSubmission) lastUpdate(now time.Time) time.Time {
	if _, ended := s.state(now); !ended.IsZero() {
		return ended
	}
	if booted := s.Started.Add(s.Duration / cdmBootShare); !now.Before(booted) {
		return booted
	}
	return s.Started
}

// progress is the documented percentage: 0-100, -1 once FAILED (table
// 5-111). The samples show 1 while BOOTING, which the emulator keeps as
// the floor, and 0 after SUCCEEDED (@1166), where it reports 100.
func (s *cdmSubmission) progress(now time.Time) float64 {
	status, ended := s.state(now)
	at := now
	switch status {
	case cdmFailed:
		return -1
	case cdmSucceeded:
		return 100
	case cdmBooting:
		return cdmBootProgress
	case cdmStopped:
		at = ended
	}
	if s.Duration <= 0 {
		return cdmBootProgress
	}
	p := 100 * float64(at.Sub(s.Started)) / float64(s.Duration)
	return math.Round(min(max(p, cdmBootProgress), 99)*100) / 100
}

// rows is how many rows the run has moved by now: cdmRowsPerSecond for
// every second RUNNING, up to the run's end.
func (s *cdmSubmission) rows(now time.Time) int64 {
	end := now
	if _, ended := s.state(now); !ended.IsZero() {
		end = ended
	}
	if natural := s.Started.Add(s.Duration); !s.Hang && end.After(natural) {
		end = natural
	}
	run := end.Sub(s.Started.Add(s.Duration / cdmBootShare))
	return max(run.Milliseconds(), 0) * cdmRowsPerSecond / 1000
}

// cdmCounters is the SqoopCounters object (table 5-113).
type cdmCounters struct {
	BytesWritten       int64 `json:"BYTES_WRITTEN"`
	TotalFiles         int64 `json:"TOTAL_FILES"`
	RowsRead           int64 `json:"ROWS_READ"`
	BytesRead          int64 `json:"BYTES_READ"`
	RowsWritten        int64 `json:"ROWS_WRITTEN"`
	FilesWritten       int64 `json:"FILES_WRITTEN"`
	FilesRead          int64 `json:"FILES_READ"`
	TotalSize          int64 `json:"TOTAL_SIZE"`
	FilesSkipped       int64 `json:"FILES_SKIPPED"`
	RowsWrittenSkipped int64 `json:"ROWS_WRITTEN_SKIPPED"`
}

// counters grow with the time the run has spent RUNNING. Byte and file
// counters apply to file connectors only (-1 otherwise); the totals are
// the whole run's, known from its duration.
func (s *cdmSubmission) counters(j *cdmJob, now time.Time) cdmCounters {
	rows := s.rows(now)
	total := s.rows(s.Started.Add(s.Duration))
	if s.Hang {
		total = rows
	}
	files := func(rows int64) int64 { return (rows + cdmRowsPerFile - 1) / cdmRowsPerFile }
	c := cdmCounters{
		RowsRead: rows, RowsWritten: rows,
		BytesRead: cdmNotApplicable, BytesWritten: cdmNotApplicable,
		FilesRead: cdmNotApplicable, FilesWritten: cdmNotApplicable,
		TotalFiles: cdmNotApplicable, TotalSize: cdmNotApplicable, FilesSkipped: cdmNotApplicable,
	}
	if cdmFileConnectors[j.FromConnector] {
		c.BytesRead, c.FilesRead, c.FilesSkipped = rows*cdmBytesPerRow, files(rows), 0
		c.TotalSize, c.TotalFiles = total*cdmBytesPerRow, files(total)
	}
	if cdmFileConnectors[j.ToConnector] {
		c.BytesWritten, c.FilesWritten = rows*cdmBytesPerRow, files(rows)
	}
	return c
}

// externalID is the engine's job ID, shaped like the sample's
// "job_local1127970451_0009".
func (s *cdmSubmission) externalID(j *cdmJob) string {
	return fmt.Sprintf("job_local%010d_%04d", j.ID, s.ID)
}

// cdmJobStatus maps a submission status to the job-level enum.
func cdmJobStatus(status string) string {
	switch status {
	case cdmBooting, cdmRunning, cdmSucceeded:
		return status
	default:
		return cdmFailed
	}
}

// cdmSubmissionJSON is a StartJobSubmission (start, stop,
// create-and-execute; table 5-107) or, with the counters, external ID and
// error fields, a Submission (status, history; table 5-111).
type cdmSubmissionJSON struct {
	IsIncrementing     bool                   `json:"isIncrementing"`
	JobName            string                 `json:"job-name"`
	SubmissionID       int64                  `json:"submission-id,omitempty"`
	SubmissonID        int64                  `json:"submisson-id,omitempty"` // create-and-execute only
	Counters           map[string]cdmCounters `json:"counters,omitempty"`
	IsStopingIncrement string                 `json:"isStopingIncrement"`
	IsExecuteAuto      bool                   `json:"is-execute-auto"`
	LastUpdateDate     int64                  `json:"last-update-date"`
	LastUpdateUser     string                 `json:"last-update-user"`
	IsDeleteJob        bool                   `json:"isDeleteJob"`
	CreationUser       string                 `json:"creation-user"`
	CreationDate       int64                  `json:"creation-date"`
	ExternalID         string                 `json:"external-id,omitempty"`
	Progress           float64                `json:"progress"`
	DeleteRows         int64                  `json:"delete_rows"`
	UpdateRows         int64                  `json:"update_rows"`
	WriteRows          int64                  `json:"write_rows"`
	ExecuteDate        int64                  `json:"execute-date,omitempty"`
	Status             string                 `json:"status"`
	ErrorDetails       string                 `json:"error-details,omitempty"`
	ErrorSummary       string                 `json:"error-summary,omitempty"`
}

// json renders s at now; full adds what only the status and history
// calls return. creation-date is a number as the tables say (Long); the
// start sample writes it as a string.
func (s *cdmSubmission) json(j *cdmJob, now time.Time, full bool) cdmSubmissionJSON {
	status, _ := s.state(now)
	out := cdmSubmissionJSON{
		JobName:        j.Name,
		SubmissionID:   s.ID,
		LastUpdateDate: cdmMillis(s.lastUpdate(now)),
		LastUpdateUser: cdmUser,
		CreationUser:   cdmUser,
		CreationDate:   cdmMillis(s.Started),
		Progress:       s.progress(now),
		WriteRows:      s.rows(now),
		ExecuteDate:    cdmMillis(s.Started),
		Status:         status,
	}
	if !full {
		return out
	}
	out.ExternalID = s.externalID(j)
	switch status {
	case cdmSucceeded:
		out.Counters = map[string]cdmCounters{cdmCountersKey: s.counters(j, now)}
	case cdmFailed:
		out.ErrorSummary, out.ErrorDetails = s.failure()
	}
	return out
}

// failure returns error-summary and error-details of a FAILED run: the
// rule's message (prefixed by its FailCode when set), or why the cluster
// ended it.
func (s *cdmSubmission) failure() (summary, details string) {
	if !s.AbortedAt.IsZero() {
		return s.AbortMessage, fmt.Sprintf("%s: %s", cdmSystemError, s.AbortMessage)
	}
	summary = s.FailMessage
	if s.FailCode != "" {
		summary = s.FailCode + ": " + s.FailMessage
	}
	return summary, fmt.Sprintf("%s (submission %d)", summary, s.ID)
}

// neverExecuted is what the status call reports for a job never started.
func (j *cdmJob) neverExecuted() cdmSubmissionJSON {
	return cdmSubmissionJSON{
		JobName:        j.Name,
		LastUpdateDate: cdmMillis(j.Updated),
		LastUpdateUser: cdmUser,
		CreationUser:   cdmUser,
		CreationDate:   cdmMillis(j.Created),
		Status:         cdmNever,
	}
}

func (e *Emulator) registerCDMSubmissions() {
	const job = "/v1.1/{project_id}/clusters/{cluster_id}/cdm/job/{job_name}"
	e.route(CDM, "PUT "+job+"/start", e.cdmStartJob)
	// The reference says PUT (5.2.7); the walk-through starts the job with
	// curl -X GET (@1130), so GET starts it too.
	e.route(CDM, "GET "+job+"/start", e.cdmStartJob)
	e.route(CDM, "PUT "+job+"/stop", e.cdmStopJob)
	e.route(CDM, "GET "+job+"/status", e.cdmJobStatus)
	e.route(CDM, "GET /v1.1/{project_id}/clusters/{cluster_id}/cdm/submissions", e.cdmSubmissionHistory)
}

// cdmSubmit starts a run of j as b decides. e.mu is held.
func (e *Emulator) cdmSubmit(j *cdmJob, b behaviour, now time.Time) *cdmSubmission {
	s := &cdmSubmission{
		ID:          e.cdm.nextSeq(),
		Started:     now,
		Duration:    b.duration,
		Hang:        b.hang,
		FailMessage: b.failMessage,
		FailCode:    b.failCode,
	}
	j.Submissions = append(j.Submissions, s)
	j.Starts++
	return s
}

type cdmSubmissionsResponse struct {
	Submissions []cdmSubmissionJSON `json:"submissions"`
}

// cdmStartJob answers "Starting a Job": a new submission, BOOTING.
func (e *Emulator) cdmStartJob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("job_name")
	e.mu.Lock()
	c, j := e.cdmFindJob(r)
	var (
		p        *cdmProblem
		injected int
		s        *cdmSubmission
		resp     cdmSubmissionsResponse
	)
	if j != nil {
		now := e.now()
		c.settle(now)
		p = e.cdmCanStart(c, j, now)
		if p == nil {
			b := e.behaviour(CDM, j.Name)
			if injected = b.submitError; injected == 0 {
				s = e.cdmSubmit(j, b, now)
				resp.Submissions = []cdmSubmissionJSON{s.json(j, now, false)}
			}
		}
	}
	e.mu.Unlock()
	switch {
	case c == nil:
		writeCDMClusterNotFound(w, r)
	case j == nil:
		writeCDMJobNotFound(w, name)
	case p != nil:
		p.write(w)
	case injected != 0:
		e.log.Info("emulator injected CDM submit error", "cluster_id", c.ID, "job", name, "status", injected)
		writeCDMInjected(w, injected)
	default:
		e.log.Info("emulator CDM job started", "cluster_id", c.ID, "job", name, "submission", s.ID,
			"duration", s.Duration, "hang", s.Hang, "fails", s.FailMessage != "")
		writeJSON(w, http.StatusOK, resp)
	}
}

// cdmCanStart checks that j may start now: its cluster runs, it is not
// running, and its links are enabled. e.mu is held.
func (e *Emulator) cdmCanStart(c *cdmCluster, j *cdmJob, now time.Time) *cdmProblem {
	if !c.usable() {
		state := cdmStatusDetail[c.Status]
		if c.Action != "" {
			state = "restarting"
		}
		return &cdmProblem{http.StatusBadRequest, cdmSubmitCause,
			fmt.Sprintf("Failed to submit the job. Cause: cluster %s is %s (%s).", c.ID, state, c.Status)}
	}
	if j.running(now) {
		return &cdmProblem{http.StatusBadRequest, cdmJobRunning, fmt.Sprintf("Job %s is running.", j.Name)}
	}
	for _, name := range []string{j.FromLink, j.ToLink} {
		if l := c.Links[name]; l != nil && !l.Enabled {
			return &cdmProblem{http.StatusBadRequest, cdmLinkDisabled,
				fmt.Sprintf("Link %s for this job has been disabled. The job cannot be submitted.", name)}
		}
	}
	return nil
}

// cdmStopJob answers "Stopping a Job": the running submission becomes
// STOPPED, as in the sample (@3197).
func (e *Emulator) cdmStopJob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("job_name")
	e.mu.Lock()
	c, j := e.cdmFindJob(r)
	var (
		stopped bool
		resp    cdmSubmissionsResponse
	)
	if j != nil {
		now := e.now()
		if stopped = j.running(now); stopped {
			s := j.last()
			s.StoppedAt = now
			j.Stops++
			resp.Submissions = []cdmSubmissionJSON{s.json(j, now, false)}
		}
	}
	e.mu.Unlock()
	switch {
	case c == nil:
		writeCDMClusterNotFound(w, r)
	case j == nil:
		writeCDMJobNotFound(w, name)
	case !stopped:
		writeCDMError(w, http.StatusBadRequest, cdmJobNotRunning, fmt.Sprintf("Job %s is not running.", name))
	default:
		e.log.Info("emulator CDM job stopped", "cluster_id", c.ID, "job", name, "submission", resp.Submissions[0].SubmissionID)
		writeJSON(w, http.StatusOK, resp)
	}
}

// cdmJobStatus answers "Querying Job Status" with the newest submission,
// or NEVER_EXECUTED for a job never started.
func (e *Emulator) cdmJobStatus(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("job_name")
	e.mu.Lock()
	c, j := e.cdmFindJob(r)
	var resp cdmSubmissionsResponse
	if j != nil {
		j.StatusCalls++
		sub := j.neverExecuted()
		if s := j.last(); s != nil {
			sub = s.json(j, e.now(), true)
		}
		resp.Submissions = []cdmSubmissionJSON{sub}
	}
	e.mu.Unlock()
	switch {
	case c == nil:
		writeCDMClusterNotFound(w, r)
	case j == nil:
		writeCDMJobNotFound(w, name)
	default:
		writeJSON(w, http.StatusOK, resp)
	}
}

type cdmHistoryResponse struct {
	Submissions []cdmSubmissionJSON `json:"submissions"`
	Total       int                 `json:"total"`
	PageNo      int                 `json:"page_no"`
	PageSize    int                 `json:"page_size"`
}

// cdmSubmissionHistory answers "Querying Job Execution History"
// (?jname=), newest first. Only jname is documented for the request; the
// response's page_no and page_size (default 10) are also accepted as
// query parameters.
func (e *Emulator) cdmSubmissionHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("jname")
	if name == "" {
		writeCDMError(w, http.StatusBadRequest, cdmInvalidParam, "Invalid parameter: jname is mandatory.")
		return
	}
	pageNo, pageSize := 1, 10
	for _, p := range []struct {
		name string
		dst  *int
	}{{"page_no", &pageNo}, {"page_size", &pageSize}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 1000 {
				writeCDMError(w, http.StatusBadRequest, cdmOutOfRange, fmt.Sprintf("[%s] must be within the range of [1, 1000].", p.name))
				return
			}
			*p.dst = n
		}
	}

	e.mu.Lock()
	c, found := e.cdmFindCluster(r)
	var j *cdmJob
	resp := cdmHistoryResponse{Submissions: []cdmSubmissionJSON{}, PageNo: pageNo, PageSize: pageSize}
	if found {
		if j = c.Jobs[name]; j != nil {
			now := e.now()
			resp.Total = len(j.Submissions)
			from := min((pageNo-1)*pageSize, resp.Total)
			to := min(from+pageSize, resp.Total)
			for i := from; i < to; i++ {
				s := j.Submissions[len(j.Submissions)-1-i]
				resp.Submissions = append(resp.Submissions, s.json(j, now, true))
			}
		}
	}
	e.mu.Unlock()
	switch {
	case !found:
		writeCDMClusterNotFound(w, r)
	case j == nil:
		writeCDMJobNotFound(w, name)
	default:
		writeJSON(w, http.StatusOK, resp)
	}
}
