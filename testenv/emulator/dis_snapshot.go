package emulator

import (
	"encoding/json"
	"slices"
	"time"
)

// Introspection of the emulated DIS resources for tests. Every getter
// returns copies; states are derived at the emulator's current time.

// DISStream is a snapshot of an emulated DIS stream.
type DISStream struct {
	ProjectID, ID, Name string
	StreamType          string // COMMON or ADVANCED
	DataType            string // BLOB, JSON or CSV
	DataSchema          string
	CompressionFormat   string
	RetentionHours      int
	Status              string // as a describe call would report it now
	FailMessage         string // why a rule left the stream FROZEN
	Partitions          []DISPartition
	AutoScaleEnabled    bool
	AutoScaleMin        int64
	AutoScaleMax        int64
	Tags                map[string]string
	CreatedAt           time.Time
	ModifiedAt          time.Time
	PartitionChanges    int // accepted changes of the partition count
	Updates             int // accepted stream updates
}

// DISPartition is a snapshot of one partition of a stream.
type DISPartition struct {
	ID       string // shardId-0000000000
	Status   string // CREATING, ACTIVE, DELETED or EXPIRED
	Records  int    // retained records
	Earliest int64  // first retained sequence number
	Next     int64  // sequence number of the next record
}

// DISDumpTask is a snapshot of an emulated dump task.
type DISDumpTask struct {
	ProjectID, StreamName, ID, Name string
	DestinationType                 string // OBS, DWS, MRS, DLI or CLOUDTABLE
	State                           string // as a describe call would report it now
	Message                         string // the failure reason once ERROR
	Descriptor                      map[string]any
	CreatedAt, StartedAt            time.Time
	LastTransfer                    time.Time // zero before the first delivery
	Delivered                       int       // retained records delivered so far
	Starts                          int       // start actions that named the task
	Pauses                          int       // stop actions that named the task
}

// DISRecord is one record held by a stream.
type DISRecord struct {
	PartitionID    string
	SequenceNumber int64
	PartitionKey   string
	Data           []byte
	Timestamp      time.Time
}

// DISApp is a snapshot of a consumer app.
type DISApp struct {
	ProjectID, ID, Name string
	CreatedAt           time.Time
}

// DISCheckpoint is a committed checkpoint.
type DISCheckpoint struct {
	ProjectID, AppName, StreamName string
	PartitionID                    string
	CheckpointType                 string
	SequenceNumber                 int64
	Metadata                       string
	CommittedAt                    time.Time
}

// DISCounts counts the DIS operations that succeeded, including those on
// resources deleted since.
type DISCounts struct {
	StreamCreates, StreamDeletes    int
	PartitionChanges, StreamUpdates int
	RecordsPut, RecordsFailed       int // uploaded records, written or failed
	RecordsGot                      int // downloaded records
	TaskCreates, TaskDeletes        int
	TaskStarts, TaskPauses          int // tasks named by start/stop actions
	AppCreates, AppDeletes          int
	CheckpointCommits               int
}

func (s *disStream) snapshot(now time.Time) DISStream {
	status := s.status(now)
	out := DISStream{
		ProjectID:         s.ProjectID,
		ID:                s.ID,
		Name:              s.Name,
		StreamType:        s.StreamType,
		DataType:          s.DataType,
		DataSchema:        s.DataSchema,
		CompressionFormat: s.CompressionFormat,
		RetentionHours:    s.RetentionHours,
		Status:            status,
		AutoScaleEnabled:  s.AutoScaleEnabled,
		AutoScaleMin:      s.AutoScaleMin,
		AutoScaleMax:      s.AutoScaleMax,
		Tags:              map[string]string{},
		CreatedAt:         s.CreatedAt,
		ModifiedAt:        s.ModifiedAt,
		PartitionChanges:  len(s.Scalings),
		Updates:           s.Updates,
	}
	if status == disFrozen {
		out.FailMessage = s.FailMessage
	}
	for _, t := range s.Tags {
		out.Tags[t.Key] = t.Value
	}
	for _, p := range s.Partitions {
		out.Partitions = append(out.Partitions, DISPartition{
			ID:       disPartitionID(p.Index),
			Status:   s.partitionStatus(p, status, now),
			Records:  len(p.Records),
			Earliest: p.earliest(),
			Next:     p.NextSeq,
		})
	}
	return out
}

func (t *disTask) snapshot(s *disStream, now time.Time) DISDumpTask {
	state := t.state(now)
	last := t.lastTransfer(now)
	out := DISDumpTask{
		ProjectID:       s.ProjectID,
		StreamName:      s.Name,
		ID:              t.ID,
		Name:            t.Name,
		DestinationType: t.DestinationType,
		State:           state,
		Message:         t.message(state),
		CreatedAt:       t.CreatedAt,
		StartedAt:       t.StartedAt,
		LastTransfer:    last,
		Starts:          t.Starts,
		Pauses:          t.Pauses,
	}
	_ = json.Unmarshal(t.Descriptor, &out.Descriptor) // stored by the emulator: valid JSON
	for _, p := range s.Partitions {
		_, n := t.delivered(p, last)
		out.Delivered += n
	}
	return out
}

// DISStreams returns the streams of every project in creation order.
func (e *Emulator) DISStreams() []DISStream {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	out := []DISStream{}
	for _, s := range e.dis.Streams {
		s.expire(now)
		out = append(out, s.snapshot(now))
	}
	return out
}

// DISStream returns the stream of a project by name.
func (e *Emulator) DISStream(project, name string) (DISStream, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.disStream(project, name, "")
	if s == nil {
		return DISStream{}, false
	}
	now := e.now()
	s.expire(now)
	return s.snapshot(now), true
}

// DISDumpTasks returns the dump tasks of every stream in creation order.
func (e *Emulator) DISDumpTasks() []DISDumpTask {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	type seqTask struct {
		seq  int
		task DISDumpTask
	}
	var all []seqTask
	for _, s := range e.dis.Streams {
		s.expire(now)
		for _, t := range s.Tasks {
			all = append(all, seqTask{t.Seq, t.snapshot(s, now)})
		}
	}
	slices.SortFunc(all, func(a, b seqTask) int { return a.seq - b.seq })
	out := []DISDumpTask{}
	for _, st := range all {
		out = append(out, st.task)
	}
	return out
}

// DISDumpTask returns a dump task of a project's stream by name.
func (e *Emulator) DISDumpTask(project, stream, name string) (DISDumpTask, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.disStream(project, stream, "")
	if s == nil {
		return DISDumpTask{}, false
	}
	t := s.task(name)
	if t == nil {
		return DISDumpTask{}, false
	}
	now := e.now()
	s.expire(now)
	return t.snapshot(s, now), true
}

// DISRecords returns the retained records of a project's stream, partition
// by partition in sequence order; nil if there is no such stream.
func (e *Emulator) DISRecords(project, stream string) []DISRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.disStream(project, stream, "")
	if s == nil {
		return nil
	}
	s.expire(e.now())
	out := []DISRecord{}
	for _, p := range s.Partitions {
		for _, rec := range p.Records {
			out = append(out, DISRecord{
				PartitionID:    disPartitionID(p.Index),
				SequenceNumber: rec.Seq,
				PartitionKey:   rec.PartitionKey,
				Data:           slices.Clone(rec.Data),
				Timestamp:      rec.Timestamp,
			})
		}
	}
	return out
}

// DISApps returns the consumer apps of every project in creation order.
func (e *Emulator) DISApps() []DISApp {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []DISApp{}
	for _, a := range e.dis.Apps {
		out = append(out, DISApp{ProjectID: a.ProjectID, ID: a.ID, Name: a.Name, CreatedAt: a.CreatedAt})
	}
	return out
}

// DISCheckpoints returns the committed checkpoints in first-commit order.
func (e *Emulator) DISCheckpoints() []DISCheckpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []DISCheckpoint{}
	for _, c := range e.dis.Checkpoints {
		out = append(out, DISCheckpoint{
			ProjectID:      c.ProjectID,
			AppName:        c.AppName,
			StreamName:     c.StreamName,
			PartitionID:    disPartitionID(c.Partition),
			CheckpointType: c.Type,
			SequenceNumber: c.Seq,
			Metadata:       c.Metadata,
			CommittedAt:    c.CommittedAt,
		})
	}
	return out
}

// DISCounts returns how many DIS operations succeeded.
func (e *Emulator) DISCounts() DISCounts {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dis.Counts
}

// redactDISTasks hides the DWS database passwords of dump task snapshots,
// for views outside tests (the admin API).
func redactDISTasks(tasks []DISDumpTask) []DISDumpTask {
	for i := range tasks {
		if _, ok := tasks[i].Descriptor["user_password"]; ok {
			tasks[i].Descriptor["user_password"] = "******"
		}
	}
	return tasks
}
