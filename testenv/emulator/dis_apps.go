package emulator

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Consumer apps and their checkpoints (DIS reference §5.2, §5.3).

// disLastRead is the only documented checkpoint type.
const disLastRead = "LAST_READ"

type disApp struct {
	ProjectID, ID, Name string
	CreatedAt           time.Time
}

type disCheckpoint struct {
	ProjectID, AppName, StreamName string
	Partition                      int
	Type                           string
	Seq                            int64
	Metadata                       string
	CommittedAt                    time.Time
}

// e.mu is held.
func (e *Emulator) disApp(project, name string) *disApp {
	for _, a := range e.dis.Apps {
		if a.ProjectID == project && a.Name == name {
			return a
		}
	}
	return nil
}

// disCheckpointStreams lists the streams an app committed checkpoints on,
// sorted. e.mu is held.
func (e *Emulator) disCheckpointStreams(a *disApp) []string {
	names := []string{}
	for _, c := range e.dis.Checkpoints {
		if c.ProjectID == a.ProjectID && c.AppName == a.Name && !slices.Contains(names, c.StreamName) {
			names = append(names, c.StreamName)
		}
	}
	slices.Sort(names)
	return names
}

// disAppEntry is a DescribeAppResult. The table calls the stream list
// commit_check_point_stream_names and the sample
// commit_checkpoint_stream_names (DIS @1340 vs @1482); both are sent.
type disAppEntry struct {
	AppName                      string   `json:"app_name"`
	AppID                        string   `json:"app_id"`
	CreateTime                   int64    `json:"create_time"`
	CommitCheckPointStreamNames  []string `json:"commit_check_point_stream_names"`
	CommitCheckpointStreamNames2 []string `json:"commit_checkpoint_stream_names"`
}

// e.mu is held.
func (e *Emulator) disAppEntry(a *disApp) disAppEntry {
	names := e.disCheckpointStreams(a)
	return disAppEntry{
		AppName:                      a.Name,
		AppID:                        a.ID,
		CreateTime:                   disMillis(a.CreatedAt),
		CommitCheckPointStreamNames:  names,
		CommitCheckpointStreamNames2: slices.Clone(names),
	}
}

func writeDISAppNotFound(w http.ResponseWriter, name string) {
	writeDISError(w, &disErr{code: disAppNotFound, detail: name})
}

func (e *Emulator) disCreateApp(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AppName string `json:"app_name"`
	}
	if d := decodeDISBody(w, r, &req); d != nil {
		writeDISError(w, d)
		return
	}
	if !validDISName(req.AppName, 200) {
		writeDISError(w, disErrorf(disInvalidRequest, "app_name must have 1 to 200 letters, digits, underscores or hyphens, got %q", req.AppName))
		return
	}
	project := r.PathValue("project_id")
	e.mu.Lock()
	exists := e.disApp(project, req.AppName) != nil
	if !exists {
		e.dis.Apps = append(e.dis.Apps, &disApp{ProjectID: project, ID: newDISID(17), Name: req.AppName, CreatedAt: e.now()})
		e.dis.Counts.AppCreates++
	}
	e.mu.Unlock()
	if exists {
		writeDISError(w, &disErr{code: disAppExists, detail: req.AppName})
		return
	}
	disNoContent(w, http.StatusCreated)
}

type disListAppsResponse struct {
	HasMoreApp  bool          `json:"has_more_app"`
	Apps        []disAppEntry `json:"apps"`
	TotalNumber int           `json:"total_number"`
}

// disListApps pages through the apps in name order; stream_name keeps the
// apps with checkpoints on that stream.
func (e *Emulator) disListApps(w http.ResponseWriter, r *http.Request) {
	limit, d := disParseLimit(r, "limit", 10, 1, 100)
	if d != nil {
		writeDISError(w, d)
		return
	}
	q := r.URL.Query()
	project, start, stream := r.PathValue("project_id"), q.Get("start_app_name"), q.Get("stream_name")
	resp := disListAppsResponse{Apps: []disAppEntry{}}

	e.mu.Lock()
	var apps []disAppEntry
	for _, a := range e.dis.Apps {
		entry := e.disAppEntry(a)
		if a.ProjectID == project && (stream == "" || slices.Contains(entry.CommitCheckPointStreamNames, stream)) {
			apps = append(apps, entry)
		}
	}
	e.mu.Unlock()

	slices.SortFunc(apps, func(a, b disAppEntry) int { return strings.Compare(a.AppName, b.AppName) })
	resp.TotalNumber = len(apps)
	for _, a := range apps {
		if start != "" && a.AppName <= start {
			continue
		}
		if len(resp.Apps) == limit {
			resp.HasMoreApp = true
			break
		}
		resp.Apps = append(resp.Apps, a)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (e *Emulator) disDescribeApp(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("app_name")
	e.mu.Lock()
	a := e.disApp(r.PathValue("project_id"), name)
	var entry disAppEntry
	if a != nil {
		entry = e.disAppEntry(a)
	}
	e.mu.Unlock()
	if a == nil {
		writeDISAppNotFound(w, name)
		return
	}
	writeJSON(w, http.StatusOK, entry)
}

// disDeleteApp removes the app with its checkpoints. DIS.4331 ("app is
// using") is never answered: the emulator has no live consumers.
func (e *Emulator) disDeleteApp(w http.ResponseWriter, r *http.Request) {
	project, name := r.PathValue("project_id"), r.PathValue("app_name")
	e.mu.Lock()
	a := e.disApp(project, name)
	if a != nil {
		e.dis.Apps = slices.DeleteFunc(e.dis.Apps, func(x *disApp) bool { return x == a })
		e.dis.Checkpoints = slices.DeleteFunc(e.dis.Checkpoints, func(c *disCheckpoint) bool {
			return c.ProjectID == project && c.AppName == name
		})
		e.dis.Counts.AppDeletes++
	}
	e.mu.Unlock()
	if a == nil {
		writeDISAppNotFound(w, name)
		return
	}
	disNoContent(w, http.StatusNoContent)
}

type disPartitionConsumption struct {
	PartitionID    string `json:"partition_id"`
	SequenceNumber string `json:"sequence_number"`
	LatestOffset   string `json:"latest_offset"`
	EarliestOffset string `json:"earliest_offset"`
	CheckpointType string `json:"checkpoint_type"`
}

// disConsumptionResponse follows the sample (DIS @1550), spelling
// "partition_consumming_states" included, plus the app fields table 5-53
// lists instead.
type disConsumptionResponse struct {
	StreamName                  string                    `json:"stream_name"`
	AppName                     string                    `json:"app_name"`
	AppID                       string                    `json:"app_id"`
	CreateTime                  int64                     `json:"create_time"`
	CommitCheckpointStreamNames []string                  `json:"commit_checkpoint_stream_names"`
	PartitionConsummingStates   []disPartitionConsumption `json:"partition_consumming_states"`
}

// disAppConsumption reports per partition the committed sequence number
// ("-1" when none), and the retained range: earliest_offset is the first
// retained record, latest_offset the sequence number the next record will
// get. Partition IDs are plain indexes, as in the sample.
func (e *Emulator) disAppConsumption(w http.ResponseWriter, r *http.Request) {
	limit, d := disParseLimit(r, "limit", 100, 1, 1000)
	if d != nil {
		writeDISError(w, d)
		return
	}
	q := r.URL.Query()
	if t := q.Get("checkpoint_type"); t != disLastRead {
		writeDISError(w, disErrorf(disInvalidRequest, "checkpoint_type must be %s, got %q", disLastRead, t))
		return
	}
	after := -1
	if s := q.Get("start_partition_id"); s != "" {
		n, ok := parseDISPartitionID(s)
		if !ok {
			writeDISError(w, disErrorf(disInvalidPartition, "%s", s))
			return
		}
		after = n
	}
	project, appName, streamName := r.PathValue("project_id"), r.PathValue("app_name"), r.PathValue("stream_name")

	e.mu.Lock()
	resp, d := e.disAppConsumptionLocked(project, appName, streamName, after, limit)
	e.mu.Unlock()
	if d != nil {
		writeDISError(w, d)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// e.mu is held.
func (e *Emulator) disAppConsumptionLocked(project, appName, streamName string, after, limit int) (disConsumptionResponse, *disErr) {
	a := e.disApp(project, appName)
	if a == nil {
		return disConsumptionResponse{}, &disErr{code: disAppNotFound, detail: appName}
	}
	s := e.disStream(project, streamName, "")
	if s == nil {
		return disConsumptionResponse{}, &disErr{code: disStreamNotFound, detail: streamName}
	}
	s.expire(e.now())
	resp := disConsumptionResponse{
		StreamName:                  s.Name,
		AppName:                     a.Name,
		AppID:                       a.ID,
		CreateTime:                  disMillis(a.CreatedAt),
		CommitCheckpointStreamNames: e.disCheckpointStreams(a),
		PartitionConsummingStates:   []disPartitionConsumption{},
	}
	for _, p := range s.Partitions {
		if p.Index <= after || len(resp.PartitionConsummingStates) == limit {
			continue
		}
		seq := "-1"
		if c := e.disFindCheckpoint(project, appName, streamName, p.Index, disLastRead); c != nil {
			seq = strconv.FormatInt(c.Seq, 10)
		}
		resp.PartitionConsummingStates = append(resp.PartitionConsummingStates, disPartitionConsumption{
			PartitionID:    strconv.Itoa(p.Index),
			SequenceNumber: seq,
			LatestOffset:   strconv.FormatInt(p.NextSeq, 10),
			EarliestOffset: strconv.FormatInt(p.earliest(), 10),
			CheckpointType: disLastRead,
		})
	}
	return resp, nil
}

// e.mu is held.
func (e *Emulator) disFindCheckpoint(project, app, stream string, partition int, typ string) *disCheckpoint {
	for _, c := range e.dis.Checkpoints {
		if c.ProjectID == project && c.AppName == app && c.StreamName == stream && c.Partition == partition && c.Type == typ {
			return c
		}
	}
	return nil
}

type disCommitCheckpointRequest struct {
	AppName        string  `json:"app_name"`
	CheckpointType string  `json:"checkpoint_type"`
	StreamName     string  `json:"stream_name"`
	PartitionID    disFlex `json:"partition_id"`
	SequenceNumber disFlex `json:"sequence_number"`
	Metadata       string  `json:"metadata"`
}

// disCheckpointTarget resolves the app, stream and partition a checkpoint
// call names. e.mu is held.
func (e *Emulator) disCheckpointTarget(project, app, stream, partitionID string) (*disStream, int, *disErr) {
	if e.disApp(project, app) == nil {
		return nil, 0, &disErr{code: disAppNotFound, detail: app}
	}
	s := e.disStream(project, stream, "")
	if s == nil {
		return nil, 0, &disErr{code: disStreamNotFound, detail: stream}
	}
	if partitionID == "" {
		return s, -1, nil
	}
	n, ok := parseDISPartitionID(partitionID)
	if !ok {
		return nil, 0, disErrorf(disInvalidPartition, "%s", partitionID)
	}
	if n >= len(s.Partitions) {
		return nil, 0, disErrorf(disPartitionNotFound, "%s", partitionID)
	}
	return s, n, nil
}

// disCheckRequired returns an error naming the first empty parameter.
func disCheckRequired(params ...string) *disErr {
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] == "" {
			return disErrorf(disInvalidRequest, "%s is mandatory", params[i])
		}
	}
	return nil
}

func (e *Emulator) disCommitCheckpoint(w http.ResponseWriter, r *http.Request) {
	var req disCommitCheckpointRequest
	if d := decodeDISBody(w, r, &req); d != nil {
		writeDISError(w, d)
		return
	}
	d := disCheckRequired("app_name", req.AppName, "checkpoint_type", req.CheckpointType, "stream_name", req.StreamName,
		"partition_id", string(req.PartitionID), "sequence_number", string(req.SequenceNumber))
	seq, err := strconv.ParseInt(string(req.SequenceNumber), 10, 64)
	switch {
	case d != nil:
	case req.CheckpointType != disLastRead:
		d = disErrorf(disInvalidRequest, "checkpoint_type must be %s, got %q", disLastRead, req.CheckpointType)
	case err != nil || seq < 0:
		d = disErrorf(disInvalidSeq, "%q is not a sequence number", req.SequenceNumber)
	case len([]rune(req.Metadata)) > 1000:
		d = disErrorf(disInvalidRequest, "metadata must have at most 1000 characters")
	}
	if d != nil {
		writeDISError(w, d)
		return
	}
	project := r.PathValue("project_id")

	e.mu.Lock()
	d = e.disCommitCheckpointLocked(project, &req, seq)
	e.mu.Unlock()
	if d != nil {
		writeDISError(w, d)
		return
	}
	disNoContent(w, http.StatusCreated)
}

// e.mu is held.
func (e *Emulator) disCommitCheckpointLocked(project string, req *disCommitCheckpointRequest, seq int64) *disErr {
	s, part, d := e.disCheckpointTarget(project, req.AppName, req.StreamName, string(req.PartitionID))
	if d != nil {
		return d
	}
	if next := s.Partitions[part].NextSeq; seq > next {
		return disErrorf(disSeqOutOfRange, "%d is beyond the partition's next sequence number %d", seq, next)
	}
	now := e.now()
	c := e.disFindCheckpoint(project, req.AppName, req.StreamName, part, req.CheckpointType)
	if c == nil {
		c = &disCheckpoint{ProjectID: project, AppName: req.AppName, StreamName: req.StreamName, Partition: part, Type: req.CheckpointType}
		e.dis.Checkpoints = append(e.dis.Checkpoints, c)
	}
	c.Seq, c.Metadata, c.CommittedAt = seq, req.Metadata, now
	e.dis.Counts.CheckpointCommits++
	return nil
}

// disQueryCheckpoint answers 200, not the documented 204: the reference
// gives this 204 a body (DIS @1690), which HTTP does not allow (net/http
// refuses to write it), and a client must read the body to learn the
// sequence number.
func (e *Emulator) disQueryCheckpoint(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	stream, partition, app, typ := q.Get("stream_name"), q.Get("partition_id"), q.Get("app_name"), q.Get("checkpoint_type")
	d := disCheckRequired("stream_name", stream, "partition_id", partition, "app_name", app, "checkpoint_type", typ)
	if d == nil && typ != disLastRead {
		d = disErrorf(disInvalidRequest, "checkpoint_type must be %s, got %q", disLastRead, typ)
	}
	if d != nil {
		writeDISError(w, d)
		return
	}
	project := r.PathValue("project_id")

	e.mu.Lock()
	var c disCheckpoint
	_, part, d := e.disCheckpointTarget(project, app, stream, partition)
	if d == nil {
		if found := e.disFindCheckpoint(project, app, stream, part, typ); found != nil {
			c = *found
		} else {
			d = disErrorf(disNoCheckpoint, "on partition %s of stream %s", partition, stream)
		}
	}
	e.mu.Unlock()
	if d != nil {
		writeDISError(w, d)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		SequenceNumber string `json:"sequence_number"`
		Metadata       string `json:"metadata"`
	}{strconv.FormatInt(c.Seq, 10), c.Metadata})
}

// disDeleteCheckpoints deletes an app's checkpoints on a stream, on one
// partition when partition_id is set.
func (e *Emulator) disDeleteCheckpoints(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	stream, app, typ, partition := q.Get("stream_name"), q.Get("app_name"), q.Get("checkpoint_type"), q.Get("partition_id")
	d := disCheckRequired("stream_name", stream, "app_name", app, "checkpoint_type", typ)
	switch {
	case d != nil:
	case typ != disLastRead:
		d = disErrorf(disInvalidRequest, "checkpoint_type must be %s, got %q", disLastRead, typ)
	case len(app) > 50:
		d = disErrorf(disInvalidRequest, "app_name must have at most 50 characters")
	}
	if d != nil {
		writeDISError(w, d)
		return
	}
	project := r.PathValue("project_id")

	e.mu.Lock()
	_, part, d := e.disCheckpointTarget(project, app, stream, partition)
	if d == nil {
		e.dis.Checkpoints = slices.DeleteFunc(e.dis.Checkpoints, func(c *disCheckpoint) bool {
			return c.ProjectID == project && c.AppName == app && c.StreamName == stream && c.Type == typ &&
				(part < 0 || c.Partition == part)
		})
	}
	e.mu.Unlock()
	if d != nil {
		writeDISError(w, d)
		return
	}
	disNoContent(w, http.StatusNoContent)
}
