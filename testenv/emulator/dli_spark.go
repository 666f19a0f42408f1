package emulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// This file holds the model of DLI Spark batch jobs (DLI API reference
// §10.1, /v2.0/{project_id}/batches); the handlers are in
// dli_spark_api.go. Batch responses carry no is_success envelope.
//
// A batch takes its behaviour from the rules when it is created
// (e.behaviour(DLI, name), or the class name for an unnamed batch) and its
// state is derived from the clock, with share = duration/launchShare:
// starting for share, then running until the duration is over, then
// success, or dead when the rule has a FailMessage. Hang keeps it running
// until cancelled; cancelling a starting or running batch makes it dead at
// once. A driver_memory/executor_memory without a unit makes it fail to
// start (dead after share), as the reference says. recovering is never
// reported.
//
// States are emitted in the enum's lower case (table 10-7); the samples of
// the state call (@8059, @949) show "Success", so clients should compare
// case-insensitively.

// Spark batch states (table 10-7).
const (
	sparkStarting   = "starting"
	sparkRunning    = "running"
	sparkDead       = "dead"
	sparkSuccess    = "success"
	sparkRecovering = "recovering"
)

var sparkStates = []string{sparkStarting, sparkRunning, sparkDead, sparkSuccess, sparkRecovering}

// sparkState holds the batches, guarded by Emulator.mu; its JSON form is
// the persisted state.
type sparkState struct {
	Batches []*sparkBatch `json:"batches"` // creation order
}

type sparkResource struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type sparkGroup struct {
	Name      string          `json:"name"`
	Resources []sparkResource `json:"resources"`
}

type sparkBatch struct {
	ProjectID      string          `json:"project_id"`
	ID             string          `json:"id"`
	Seq            int             `json:"seq"` // 1-based creation number, for appId
	Name           string          `json:"name"`
	File           string          `json:"file"`
	ClassName      string          `json:"class_name"`
	Queue          string          `json:"queue"`
	Args           []string        `json:"args"`
	ScType         string          `json:"sc_type"`    // as requested; "" = A
	Customized     bool            `json:"customized"` // resources override sc_type
	Jars           []string        `json:"jars"`
	PythonFiles    []string        `json:"python_files"`
	Files          []string        `json:"files"`
	Modules        []string        `json:"modules"`
	Resources      []sparkResource `json:"resources"`
	Groups         []sparkGroup    `json:"groups"`
	Conf           json.RawMessage `json:"conf,omitempty"`
	DriverMemory   string          `json:"driver_memory"`
	DriverCores    int             `json:"driver_cores"`
	ExecutorMemory string          `json:"executor_memory"`
	ExecutorCores  int             `json:"executor_cores"`
	NumExecutors   int             `json:"num_executors"`
	ObsBucket      string          `json:"obs_bucket"`
	AutoRecover    bool            `json:"auto_recover"`
	MaxRetryTimes  int             `json:"max_retry_times"`
	CatalogName    string          `json:"catalog_name"`

	CreatedAt   time.Time     `json:"created_at"`
	Duration    time.Duration `json:"duration"`
	Hang        bool          `json:"hang"`
	FailMessage string        `json:"fail_message"`
	StartupFail bool          `json:"startup_fail"` // dies at the end of starting
	CancelledAt time.Time     `json:"cancelled_at"`
	StateCalls  int           `json:"state_calls"`
}

// state derives the batch's state at now, when it last changed, and when
// it ended (zero while in progress).
func (b *sparkBatch) state(now time.Time) (state string, changed, ended time.Time) {
	share := b.Duration / launchShare
	running := b.CreatedAt.Add(share)
	done := b.CreatedAt.Add(b.Duration)
	elapsed := now.Sub(b.CreatedAt)
	switch {
	case !b.CancelledAt.IsZero():
		return sparkDead, b.CancelledAt, b.CancelledAt
	case elapsed < share:
		return sparkStarting, b.CreatedAt, time.Time{}
	case b.StartupFail:
		return sparkDead, running, running
	case b.Hang, elapsed < b.Duration:
		return sparkRunning, running, time.Time{}
	case b.FailMessage != "":
		return sparkDead, done, done
	default:
		return sparkSuccess, done, done
	}
}

// appID is the back-end application ID, known once the batch ran.
func (b *sparkBatch) appID(now time.Time) string {
	if now.Sub(b.CreatedAt) < b.Duration/launchShare || b.StartupFail ||
		(!b.CancelledAt.IsZero() && b.CancelledAt.Sub(b.CreatedAt) < b.Duration/launchShare) {
		return ""
	}
	return fmt.Sprintf("application_%d_%04d", b.CreatedAt.UnixMilli(), b.Seq)
}

// sparkLogTime formats log timestamps like Spark's log4j layout.
const sparkLogTime = "06/01/02 15:04:05"

// log is the batch's whole driver log at now.
func (b *sparkBatch) log(now time.Time) []string {
	state, changed, _ := b.state(now)
	ts := func(t time.Time) string { return t.UTC().Format(sparkLogTime) }
	lines := []string{fmt.Sprintf("%s INFO DLI: batch %s submitted to queue %s: class %s, file %s",
		ts(b.CreatedAt), b.ID, b.Queue, b.ClassName, b.File)}
	app := b.appID(now)
	if app != "" {
		lines = append(lines, fmt.Sprintf("%s INFO Client: Application report for %s (state: RUNNING)",
			ts(b.CreatedAt.Add(b.Duration/launchShare)), app))
	}
	switch {
	case !b.CancelledAt.IsZero():
		lines = append(lines, fmt.Sprintf("%s INFO DLI: batch %s was cancelled", ts(b.CancelledAt), b.ID))
	case state == sparkSuccess:
		lines = append(lines, fmt.Sprintf("%s INFO Client: Application %s finished with final status SUCCEEDED", ts(changed), app))
	case state == sparkDead && b.StartupFail:
		lines = append(lines, fmt.Sprintf("%s ERROR DLI: batch %s failed to start: %s", ts(changed), b.ID, b.FailMessage))
	case state == sparkDead:
		lines = append(lines, fmt.Sprintf("%s ERROR Client: Application %s finished with final status FAILED", ts(changed), app),
			"YARN Diagnostics: "+b.FailMessage)
	}
	return lines
}

// message is the failure reason once the batch is dead of a failure.
func (b *sparkBatch) message(state string) string {
	if state == sparkDead && b.CancelledAt.IsZero() {
		return b.FailMessage
	}
	return ""
}

// SparkBatch is a snapshot of an emulated DLI Spark batch job.
type SparkBatch struct {
	ProjectID, ID, AppID, Name string
	File, ClassName, Queue     string
	ScType                     string // as requested; "" = A
	Args, Jars, Files, Modules []string
	Conf                       string // the conf JSON as sent; "" if none
	State                      string // as the state call would report it now
	CreatedAt, EndedAt         time.Time
	StateCalls                 int    // GET .../batches/{batch_id}/state calls
	Cancelled                  bool   // by DELETE .../batches/{batch_id}
	Message                    string // failure reason once dead
}

func (b *sparkBatch) snapshot(now time.Time) SparkBatch {
	state, _, ended := b.state(now)
	return SparkBatch{
		ProjectID: b.ProjectID, ID: b.ID, AppID: b.appID(now), Name: b.Name,
		File: b.File, ClassName: b.ClassName, Queue: b.Queue, ScType: b.ScType,
		Args: slices.Clone(b.Args), Jars: slices.Clone(b.Jars), Files: slices.Clone(b.Files),
		Modules: slices.Clone(b.Modules), Conf: string(b.Conf),
		State: state, CreatedAt: b.CreatedAt, EndedAt: ended, StateCalls: b.StateCalls,
		Cancelled: !b.CancelledAt.IsZero(), Message: b.message(state),
	}
}

// SparkBatches returns every Spark batch of every project in creation order.
func (e *Emulator) SparkBatches() []SparkBatch {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	out := make([]SparkBatch, len(e.spark.Batches))
	for i, b := range e.spark.Batches {
		out[i] = b.snapshot(now)
	}
	return out
}

// SparkBatch returns the Spark batch with the given ID.
func (e *Emulator) SparkBatch(id string) (SparkBatch, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.spark.Batches {
		if b.ID == id {
			return b.snapshot(e.now()), true
		}
	}
	return SparkBatch{}, false
}

func (e *Emulator) registerDLISpark() {
	e.route(DLI, "POST /v2.0/{project_id}/batches", e.sparkCreateBatch)
	e.route(DLI, "GET /v2.0/{project_id}/batches", e.sparkListBatches)
	e.route(DLI, "GET /v2.0/{project_id}/batches/{batch_id}", e.sparkBatchDetail)
	e.route(DLI, "GET /v2.0/{project_id}/batches/{batch_id}/state", e.sparkBatchState)
	e.route(DLI, "GET /v2.0/{project_id}/batches/{batch_id}/log", e.sparkBatchLog)
	e.route(DLI, "DELETE /v2.0/{project_id}/batches/{batch_id}", e.sparkCancelBatch)
	e.addDumper(DLI, "spark_batches", func() any { return e.SparkBatches() })
}
