package emulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file implements the Spark batch API (§10.1.1–10.1.6).

// sparkBatchRequest is the create body (table 10-2). The getting-started
// sample (§4.3, @880–912) spells several fields in camelCase (className,
// driverMemory, ...); those spellings are accepted too, the documented
// snake_case ones winning when both are sent.
type sparkBatchRequest struct {
	File           string          `json:"file"`
	ClassName      string          `json:"class_name"`
	Queue          string          `json:"queue"`
	ClusterName    string          `json:"cluster_name"`
	Args           []string        `json:"args"`
	ScType         string          `json:"sc_type"`
	Jars           []string        `json:"jars"`
	PythonFiles    []string        `json:"python_files"`
	Files          []string        `json:"files"`
	Modules        []string        `json:"modules"`
	Resources      []sparkResource `json:"resources"`
	Groups         []sparkGroup    `json:"groups"`
	Conf           json.RawMessage `json:"conf"`
	Name           string          `json:"name"`
	DriverMemory   string          `json:"driver_memory"`
	DriverCores    *int            `json:"driver_cores"`
	ExecutorMemory string          `json:"executor_memory"`
	ExecutorCores  *int            `json:"executor_cores"`
	NumExecutors   *int            `json:"num_executors"`
	ObsBucket      string          `json:"obs_bucket"`
	AutoRecover    bool            `json:"auto_recover"`
	MaxRetryTimes  *int            `json:"max_retry_times"`
	CatalogName    string          `json:"catalog_name"`

	CamelClassName      string `json:"className"`
	CamelDriverMemory   string `json:"driverMemory"`
	CamelDriverCores    *int   `json:"driverCores"`
	CamelExecutorMemory string `json:"executorMemory"`
	CamelExecutorCores  *int   `json:"executorCores"`
	CamelNumExecutors   *int   `json:"numExecutors"`
	CamelMaxRetryTimes  *int   `json:"maxRetryTimes"`
}

// sparkModules are the documented system modules (table 10-2, modules).
var sparkModules = []string{"sys.datasource.hbase", "sys.datasource.opentsdb", "sys.datasource.rds", "sys.datasource.css"}

// sparkMemory is a memory size with its unit: 2G, 2 GB, 2048 MB, 512m.
var sparkMemory = regexp.MustCompile(`(?i)^\s*\d+\s*[kmgt]b?\s*$`)

// normalize folds the camelCase aliases and checks the request; it
// returns what is wrong, or "".
func (req *sparkBatchRequest) normalize() string {
	req.ClassName = cmp.Or(req.ClassName, req.CamelClassName)
	req.DriverMemory = cmp.Or(req.DriverMemory, req.CamelDriverMemory)
	req.ExecutorMemory = cmp.Or(req.ExecutorMemory, req.CamelExecutorMemory)
	req.DriverCores = cmp.Or(req.DriverCores, req.CamelDriverCores)
	req.ExecutorCores = cmp.Or(req.ExecutorCores, req.CamelExecutorCores)
	req.NumExecutors = cmp.Or(req.NumExecutors, req.CamelNumExecutors)
	req.MaxRetryTimes = cmp.Or(req.MaxRetryTimes, req.CamelMaxRetryTimes)
	// The reference's own sample sends "queue": " test" (@7714).
	req.Queue, req.ClusterName = strings.TrimSpace(req.Queue), strings.TrimSpace(req.ClusterName)

	switch {
	case strings.TrimSpace(req.File) == "":
		return "file is mandatory"
	case strings.TrimSpace(req.ClassName) == "":
		return "class_name is mandatory"
	case req.Queue != "" && req.ClusterName != "":
		return "queue and cluster_name cannot coexist"
	case req.Queue == "" && req.ClusterName == "":
		return "queue is mandatory"
	case utf8.RuneCountInString(req.Name) > 128:
		return "name must have at most 128 characters"
	case req.ScType != "" && !slices.Contains([]string{"A", "B", "C"}, req.ScType):
		return fmt.Sprintf("sc_type must be A, B or C, got %q", req.ScType)
	case req.MaxRetryTimes != nil && (*req.MaxRetryTimes < 0 || *req.MaxRetryTimes > 100):
		return fmt.Sprintf("max_retry_times must be in [0, 100], got %d", *req.MaxRetryTimes)
	case req.CatalogName != "" && req.CatalogName != "dli":
		return fmt.Sprintf("catalog_name must be dli, got %q", req.CatalogName)
	}
	for _, f := range []struct {
		name string
		n    *int
	}{{"driver_cores", req.DriverCores}, {"executor_cores", req.ExecutorCores}, {"num_executors", req.NumExecutors}} {
		if f.n != nil && *f.n < 1 {
			return fmt.Sprintf("%s must be at least 1, got %d", f.name, *f.n)
		}
	}
	for _, m := range req.Modules {
		if !slices.Contains(sparkModules, m) {
			return fmt.Sprintf("unknown module %q: the modules are %s", m, strings.Join(sparkModules, ", "))
		}
	}
	// conf is an object per §5.1 of the digest and Spark itself, an
	// "Array of Objects" per table 10-2: both are accepted as sent.
	if c := bytes.TrimSpace(req.Conf); len(c) > 0 && c[0] != '{' && c[0] != '[' && !bytes.Equal(c, []byte("null")) {
		return "conf must be a JSON object or array"
	}
	return ""
}

// memoryProblem says which memory setting lacks a unit: "the unit must be
// provided, otherwise the startup fails".
func (req *sparkBatchRequest) memoryProblem() string {
	for _, f := range [][2]string{{"driver_memory", req.DriverMemory}, {"executor_memory", req.ExecutorMemory}} {
		if f[1] != "" && !sparkMemory.MatchString(f[1]) {
			return fmt.Sprintf("invalid %s %q: the unit must be provided, e.g. 2G", f[0], f[1])
		}
	}
	return ""
}

// sparkBatchDTO is a batch as create, details and list return it (table
// 10-6). appId is typed "Array of strings" in the table but is a string
// in every sample; it is sent as a string, empty until the batch runs.
type sparkBatchDTO struct {
	ID          string   `json:"id"`
	AppID       string   `json:"appId"`
	Name        string   `json:"name"`
	Owner       string   `json:"owner"`
	ProxyUser   string   `json:"proxyUser"`
	State       string   `json:"state"`
	Kind        string   `json:"kind"`
	Log         []string `json:"log"` // last 10 lines
	ScType      string   `json:"sc_type"`
	ClusterName string   `json:"cluster_name"`
	Queue       string   `json:"queue"`
	CreateTime  int64    `json:"create_time"`
	UpdateTime  int64    `json:"update_time"`
}

// dto renders b, whose state at now is state since changed.
func (b *sparkBatch) dto(state string, changed, now time.Time) sparkBatchDTO {
	log := b.log(now)
	scType := cmp.Or(b.ScType, "A")
	if b.Customized {
		scType = "CUSTOMIZED"
	}
	return sparkBatchDTO{
		ID:          b.ID,
		AppID:       b.appID(now),
		Name:        b.Name,
		Owner:       dliOwner,
		State:       state,
		Log:         log[max(len(log)-10, 0):],
		ScType:      scType,
		ClusterName: b.Queue,
		Queue:       b.Queue,
		CreateTime:  b.CreatedAt.UnixMilli(),
		UpdateTime:  changed.UnixMilli(),
	}
}

func (e *Emulator) sparkCreateBatch(w http.ResponseWriter, r *http.Request) {
	var req sparkBatchRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeDLIParamError(w, "invalid request body: "+err.Error())
		return
	}
	if msg := req.normalize(); msg != "" {
		writeDLIParamError(w, msg)
		return
	}
	b := &sparkBatch{
		ProjectID:      r.PathValue("project_id"),
		ID:             newUUID(),
		Name:           req.Name,
		File:           req.File,
		ClassName:      req.ClassName,
		Queue:          cmp.Or(req.Queue, req.ClusterName),
		Args:           req.Args,
		ScType:         req.ScType,
		Customized:     req.DriverMemory != "" || req.ExecutorMemory != "" || req.DriverCores != nil || req.ExecutorCores != nil || req.NumExecutors != nil,
		Jars:           req.Jars,
		PythonFiles:    req.PythonFiles,
		Files:          req.Files,
		Modules:        req.Modules,
		Resources:      req.Resources,
		Groups:         req.Groups,
		Conf:           req.Conf,
		DriverMemory:   req.DriverMemory,
		ExecutorMemory: req.ExecutorMemory,
		ObsBucket:      req.ObsBucket,
		AutoRecover:    req.AutoRecover,
		MaxRetryTimes:  20,
		CatalogName:    req.CatalogName,
	}
	for _, f := range []struct{ dst, src *int }{
		{&b.DriverCores, req.DriverCores}, {&b.ExecutorCores, req.ExecutorCores},
		{&b.NumExecutors, req.NumExecutors}, {&b.MaxRetryTimes, req.MaxRetryTimes},
	} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}

	e.mu.Lock()
	now := e.now()
	beh := e.behaviour(DLI, cmp.Or(b.Name, b.ClassName))
	b.CreatedAt, b.Duration, b.Hang, b.FailMessage = now, beh.duration, beh.hang, beh.failMessage
	if msg := req.memoryProblem(); msg != "" {
		b.StartupFail, b.Hang, b.FailMessage = true, false, msg
	}
	var resp sparkBatchDTO
	if beh.submitError == 0 {
		b.Seq = len(e.spark.Batches) + 1
		e.spark.Batches = append(e.spark.Batches, b)
		state, changed, _ := b.state(now)
		resp = b.dto(state, changed, now)
	}
	e.mu.Unlock()

	if beh.submitError != 0 {
		e.log.Info("emulator injected Spark batch error", "project", b.ProjectID, "status", beh.submitError)
		if beh.submitError == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		code, msg := injectedDLIError(beh.submitError)
		writeError(w, beh.submitError, code, msg)
		return
	}
	e.log.Info("emulator Spark batch created", "project", b.ProjectID, "batch_id", b.ID, "name", b.Name,
		"duration", b.Duration, "fails", b.FailMessage != "")
	writeJSON(w, http.StatusOK, resp)
}

// sparkLookup finds the batch named by the request path within its
// project. e.mu is held.
func (e *Emulator) sparkLookup(r *http.Request) *sparkBatch {
	for _, b := range e.spark.Batches {
		if b.ID == r.PathValue("batch_id") && b.ProjectID == r.PathValue("project_id") {
			return b
		}
	}
	return nil
}

func writeSparkNotFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusBadRequest, dliNotFound,
		fmt.Sprintf("The object does not exist: batch job %s.", r.PathValue("batch_id")))
}

func (e *Emulator) sparkBatchDetail(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	b := e.sparkLookup(r)
	var resp sparkBatchDTO
	if b != nil {
		now := e.now()
		state, changed, _ := b.state(now)
		resp = b.dto(state, changed, now)
	}
	e.mu.Unlock()
	if b == nil {
		writeSparkNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

type sparkStateResponse struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

func (e *Emulator) sparkBatchState(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	b := e.sparkLookup(r)
	var resp sparkStateResponse
	if b != nil {
		b.StateCalls++
		state, _, _ := b.state(e.now())
		resp = sparkStateResponse{ID: b.ID, State: state}
	}
	e.mu.Unlock()
	if b == nil {
		writeSparkNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// sparkCancelBatch cancels a starting or running batch, which becomes
// dead; success and dead batches cannot be cancelled (§10.1.2 note).
func (e *Emulator) sparkCancelBatch(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	b := e.sparkLookup(r)
	var state string
	if b != nil {
		now := e.now()
		state, _, _ = b.state(now)
		if state == sparkStarting || state == sparkRunning {
			b.CancelledAt = now
		}
	}
	e.mu.Unlock()
	switch {
	case b == nil:
		writeSparkNotFound(w, r)
	case state == sparkStarting || state == sparkRunning:
		e.log.Info("emulator Spark batch cancelled", "batch_id", b.ID, "was", state)
		writeJSON(w, http.StatusOK, struct {
			Msg string `json:"msg"`
		}{"deleted"})
	default:
		writeError(w, http.StatusBadRequest, dliUnsupported,
			fmt.Sprintf("The operation is not supported: batch job %s is %s; batch jobs in the success or dead state cannot be canceled.", b.ID, state))
	}
}

type sparkListResponse struct {
	From       int             `json:"from"`
	Total      int             `json:"total"`
	Sessions   []sparkBatchDTO `json:"sessions"`
	CreateTime int64           `json:"create_time"` // of the newest batch listed; 0 if none
}

type sparkListQuery struct {
	name, id, queue, state, owner string
	from, size                    int
}

func parseSparkListQuery(v url.Values) (q sparkListQuery, err error) {
	q = sparkListQuery{
		name:  v.Get("job_name"),
		id:    v.Get("job_id"),
		queue: cmp.Or(v.Get("queue_name"), v.Get("cluster_name")),
		state: strings.ToLower(v.Get("state")),
		owner: v.Get("owner"),
		size:  1 << 30,
	}
	if qn, cn := v.Get("queue_name"), v.Get("cluster_name"); qn != "" && cn != "" && qn != cn {
		return q, fmt.Errorf("queue_name %q and cluster_name %q name different queues", qn, cn)
	}
	if q.state != "" && !slices.Contains(sparkStates, q.state) {
		return q, fmt.Errorf("state must be one of %s, got %q", strings.Join(sparkStates, ", "), v.Get("state"))
	}
	for _, p := range []struct {
		name string
		dst  *int
		min  int
	}{{"from", &q.from, 0}, {"size", &q.size, 1}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < p.min {
				return q, fmt.Errorf("%s must be an integer of at least %d, got %q", p.name, p.min, s)
			}
			*p.dst = n
		}
	}
	return q, nil
}

// sparkListBatches lists the project's batches newest first; job_name
// matches names containing it.
func (e *Emulator) sparkListBatches(w http.ResponseWriter, r *http.Request) {
	q, err := parseSparkListQuery(r.URL.Query())
	if err != nil {
		writeDLIParamError(w, err.Error())
		return
	}
	project := r.PathValue("project_id")
	var all []sparkBatchDTO
	e.mu.Lock()
	now := e.now()
	for _, b := range slices.Backward(e.spark.Batches) {
		if b.ProjectID != project {
			continue
		}
		state, changed, _ := b.state(now)
		if q.name != "" && !strings.Contains(b.Name, q.name) ||
			q.id != "" && b.ID != q.id ||
			q.queue != "" && b.Queue != q.queue ||
			q.state != "" && state != q.state ||
			q.owner != "" && q.owner != dliOwner {
			continue
		}
		all = append(all, b.dto(state, changed, now))
	}
	e.mu.Unlock()

	from := min(q.from, len(all))
	resp := sparkListResponse{From: q.from, Total: len(all), Sessions: append([]sparkBatchDTO{}, all[from:from+min(q.size, len(all)-from)]...)}
	if len(resp.Sessions) > 0 {
		resp.CreateTime = resp.Sessions[0].CreateTime
	}
	writeJSON(w, http.StatusOK, resp)
}

type sparkLogResponse struct {
	ID    string   `json:"id"`
	From  int      `json:"from"` // typed String in table 10-24, a number in the sample
	Total int64    `json:"total"`
	Log   []string `json:"log"`
}

// sparkBatchLog returns part of the driver log: by default its last 100
// lines. A batch is never retried, so only driver log index 0 exists.
func (e *Emulator) sparkBatchLog(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	from, size, index := -1, -1, 0
	for _, p := range []struct {
		name string
		dst  *int
		min  int
	}{{"from", &from, 0}, {"size", &size, 1}, {"index", &index, 0}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < p.min {
				writeDLIParamError(w, fmt.Sprintf("%s must be an integer of at least %d, got %q", p.name, p.min, s))
				return
			}
			*p.dst = n
		}
	}
	if t := v.Get("type"); t != "" && t != "driver" {
		writeDLIParamError(w, fmt.Sprintf("type must be driver, got %q", t))
		return
	}
	e.mu.Lock()
	b := e.sparkLookup(r)
	var log []string
	if b != nil {
		log = b.log(e.now())
	}
	e.mu.Unlock()
	switch {
	case b == nil:
		writeSparkNotFound(w, r)
		return
	case index != 0:
		writeError(w, http.StatusBadRequest, dliNotFound,
			fmt.Sprintf("The object does not exist: batch job %s has no driver log with index %d.", b.ID, index))
		return
	}
	if from < 0 {
		from = max(len(log)-100, 0)
	}
	from = min(from, len(log))
	if size < 0 {
		size = len(log) - from
	}
	writeJSON(w, http.StatusOK, sparkLogResponse{
		ID: b.ID, From: from, Total: int64(len(log)),
		Log: append([]string{}, log[from:from+min(size, len(log)-from)]...),
	})
}
