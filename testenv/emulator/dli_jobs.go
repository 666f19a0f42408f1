package emulator

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// DLI SQL job statuses (DLI API reference, "Querying Job Status").
const (
	dliLaunching = "LAUNCHING"
	dliRunning   = "RUNNING"
	dliFinished  = "FINISHED"
	dliFailed    = "FAILED"
	dliCancelled = "CANCELLED"
)

// launchShare is the part of a job's duration it spends LAUNCHING.
const launchShare = 5 // 1/5 = 20%

// DLIJob is a snapshot of an emulated DLI SQL job.
type DLIJob struct {
	ProjectID, ID, SQL, Queue, CurrentDB string
	JobType                              string // QUERY, INSERT or DDL
	Conf                                 []string
	Tags                                 map[string]string
	Status                               string // as a status call would report it now
	SubmittedAt, EndedAt                 time.Time
	StatusCalls                          int    // GET .../jobs/{job_id}/status calls
	Message                              string // failure reason once FAILED
}

// dliState is the DLI part of the emulator state, guarded by Emulator.mu.
type dliState struct {
	jobs  map[string]*dliJob // by job ID
	order []*dliJob          // submit order
}

func newDLIState() dliState {
	return dliState{jobs: map[string]*dliJob{}}
}

type dliJob struct {
	seq         int // submit order, breaks ties between equal start times
	projectID   string
	id          string
	sql         string
	jobType     string
	queue       string
	currentDB   string
	conf        []string
	tags        []dliTag
	submittedAt time.Time
	duration    time.Duration // fixed at submit from the rules in force then
	hang        bool
	failMessage string
	cancelledAt time.Time
	statusCalls int
}

type dliTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// state derives the job's status at now from the time since submit, and
// when it ended if it has.
func (j *dliJob) state(now time.Time) (status string, ended time.Time) {
	if !j.cancelledAt.IsZero() {
		return dliCancelled, j.cancelledAt
	}
	elapsed := now.Sub(j.submittedAt)
	switch {
	case j.hang:
		return dliRunning, time.Time{}
	case elapsed < j.duration/launchShare:
		return dliLaunching, time.Time{}
	case elapsed < j.duration:
		return dliRunning, time.Time{}
	case j.failMessage != "":
		return dliFailed, j.submittedAt.Add(j.duration)
	default:
		return dliFinished, j.submittedAt.Add(j.duration)
	}
}

// message is the job's `message` field: the failure reason once FAILED.
func (j *dliJob) message(status string) string {
	if status == dliFailed {
		return j.failMessage
	}
	return ""
}

func (j *dliJob) snapshot(now time.Time) DLIJob {
	status, ended := j.state(now)
	tags := make(map[string]string, len(j.tags))
	for _, t := range j.tags {
		tags[t.Key] = t.Value
	}
	return DLIJob{
		ProjectID:   j.projectID,
		ID:          j.id,
		SQL:         j.sql,
		Queue:       j.queue,
		CurrentDB:   j.currentDB,
		JobType:     j.jobType,
		Conf:        append([]string(nil), j.conf...),
		Tags:        tags,
		Status:      status,
		SubmittedAt: j.submittedAt,
		EndedAt:     ended,
		StatusCalls: j.statusCalls,
		Message:     j.message(status),
	}
}

// DLIJobs returns all DLI SQL jobs of every project in submit order.
func (e *Emulator) DLIJobs() []DLIJob {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	jobs := make([]DLIJob, len(e.dli.order))
	for i, j := range e.dli.order {
		jobs[i] = j.snapshot(now)
	}
	return jobs
}

// DLIJob returns the DLI SQL job with the given ID.
func (e *Emulator) DLIJob(id string) (DLIJob, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, ok := e.dli.jobs[id]
	if !ok {
		return DLIJob{}, false
	}
	return j.snapshot(e.now()), true
}

// sqlJobType classifies a statement by its first keyword the way DLI
// reports job_type; anything unrecognised counts as a query.
func sqlJobType(sql string) string {
	switch strings.ToUpper(firstKeyword(sql)) {
	case "INSERT":
		return "INSERT"
	case "CREATE", "DROP", "ALTER":
		return "DDL"
	default:
		return "QUERY"
	}
}

// firstKeyword skips leading blanks, comments and parentheses.
func firstKeyword(sql string) string {
	for {
		sql = strings.TrimLeftFunc(sql, func(r rune) bool { return unicode.IsSpace(r) || r == '(' })
		switch {
		case strings.HasPrefix(sql, "--"):
			_, rest, _ := strings.Cut(sql, "\n")
			sql = rest
		case strings.HasPrefix(sql, "/*"):
			_, rest, _ := strings.Cut(sql[2:], "*/")
			sql = rest
		default:
			end := strings.IndexFunc(sql, func(r rune) bool { return !unicode.IsLetter(r) })
			if end < 0 {
				return sql
			}
			return sql[:end]
		}
	}
}

// newUUID returns a random (version 4) UUID, the format of DLI job IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
