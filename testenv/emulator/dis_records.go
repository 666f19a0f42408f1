package emulator

import (
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"time"
)

// The data plane (DIS reference §5.4): records are kept in memory per
// partition with consecutive sequence numbers from 0, and dropped once
// older than the stream's retention period.

const (
	disCursorValidity = 5 * time.Minute // DIS @1874
	// disMaxRecordsPerGet bounds one download; the reference documents no
	// limit besides max_fetch_bytes.
	disMaxRecordsPerGet = 1000
)

// Cursor types (DIS @1948).
const (
	disAtSequence    = "AT_SEQUENCE_NUMBER"
	disAfterSequence = "AFTER_SEQUENCE_NUMBER"
	disTrimHorizon   = "TRIM_HORIZON"
	disLatest        = "LATEST"
	disAtTimestamp   = "AT_TIMESTAMP"
)

type disPutRecordsRequest struct {
	StreamName string        `json:"stream_name"`
	StreamID   string        `json:"stream_id"`
	Records    []disPutEntry `json:"records"`
}

type disPutEntry struct {
	Data            *string `json:"data"`
	ExplicitHashKey disFlex `json:"explicit_hash_key"`
	PartitionID     disFlex `json:"partition_id"`
	PartitionKey    string  `json:"partition_key"`
}

type disPutResult struct {
	PartitionID    string `json:"partition_id,omitempty"`
	SequenceNumber string `json:"sequence_number,omitempty"`
	ErrorCode      string `json:"error_code,omitempty"`
	ErrorMessage   string `json:"error_message,omitempty"`
}

type disPutRecordsResponse struct {
	FailedRecordCount int            `json:"failed_record_count"`
	Records           []disPutResult `json:"records"`
}

// disPutRecords appends records to their partitions. A record that cannot
// be written (bad Base64, unknown or retired partition, bad hash key) fails
// on its own, with error_code and error_message in its result entry and
// failed_record_count counting it, while the others are written: the call
// itself still answers 200, as the reference's per-record fields imply.
func (e *Emulator) disPutRecords(w http.ResponseWriter, r *http.Request) {
	var req disPutRecordsRequest
	if d := decodeDISBody(w, r, &req); d != nil {
		writeDISError(w, d)
		return
	}
	d := disCheckRequired("stream_name", req.StreamName)
	if d == nil && len(req.Records) == 0 {
		d = disErrorf(disInvalidRequest, "records is mandatory and cannot be empty")
	}
	if d != nil {
		writeDISError(w, d)
		return
	}
	data := make([][]byte, len(req.Records))
	results := make([]disPutResult, len(req.Records))
	for i, rec := range req.Records {
		var err error
		switch {
		case rec.Data == nil:
			results[i] = disPutFailure(disErrorf(disInvalidRequest, "data is mandatory"))
		default:
			if data[i], err = base64.StdEncoding.DecodeString(*rec.Data); err != nil {
				results[i] = disPutFailure(disErrorf(disInvalidRequest, "data is not Base64: %v", err))
			}
		}
	}
	project := r.PathValue("project_id")

	e.mu.Lock()
	resp, d := e.disPutRecordsLocked(project, &req, data, results)
	e.mu.Unlock()
	if d != nil {
		writeDISError(w, d)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func disPutFailure(d *disErr) disPutResult {
	return disPutResult{ErrorCode: d.code, ErrorMessage: d.message()}
}

// e.mu is held.
func (e *Emulator) disPutRecordsLocked(project string, req *disPutRecordsRequest, data [][]byte, results []disPutResult) (disPutRecordsResponse, *disErr) {
	now := e.now()
	s, d := e.disRunningStream(project, req.StreamName, req.StreamID, now)
	if d != nil {
		return disPutRecordsResponse{}, d
	}
	s.expire(now)
	resp := disPutRecordsResponse{Records: results}
	for i, rec := range req.Records {
		if results[i].ErrorCode == "" {
			p, d := s.partitionFor(rec)
			if d != nil {
				results[i] = disPutFailure(d)
			} else {
				p.Records = append(p.Records, disRecord{Seq: p.NextSeq, Data: data[i], PartitionKey: rec.PartitionKey, Timestamp: now})
				results[i] = disPutResult{PartitionID: disPartitionID(p.Index), SequenceNumber: strconv.FormatInt(p.NextSeq, 10)}
				p.NextSeq++
				e.dis.Counts.RecordsPut++
			}
		}
		if results[i].ErrorCode != "" {
			resp.FailedRecordCount++
			e.dis.Counts.RecordsFailed++
		}
	}
	return resp, nil
}

// partitionFor picks the partition of a record: partition_id wins over
// explicit_hash_key, which wins over the hash of partition_key; a record
// with none of them goes to the active partitions in turn.
func (s *disStream) partitionFor(rec disPutEntry) (*disPartition, *disErr) {
	if id := string(rec.PartitionID); id != "" {
		n, ok := parseDISPartitionID(id)
		switch {
		case !ok:
			return nil, disErrorf(disInvalidPartition, "%s", id)
		case n >= len(s.Partitions):
			return nil, disErrorf(disPartitionNotFound, "%s", id)
		case !s.Partitions[n].DeletedAt.IsZero():
			return nil, disErrorf(disInvalidPartition, "partition %s was removed by a scale-in and is read-only", id)
		}
		return s.Partitions[n], nil
	}
	active := s.active()
	var hash int64
	switch {
	case rec.ExplicitHashKey != "":
		h, err := strconv.ParseInt(string(rec.ExplicitHashKey), 10, 64)
		if err != nil || h < 0 {
			return nil, disErrorf(disInvalidRequest, "explicit_hash_key must be an integer in [0, %d], got %q", int64(math.MaxInt64), rec.ExplicitHashKey)
		}
		hash = h
	case rec.PartitionKey != "":
		f := fnv.New64a()
		f.Write([]byte(rec.PartitionKey))
		hash = int64(f.Sum64() & math.MaxInt64)
	default:
		p := active[s.RoundRobin%len(active)]
		s.RoundRobin++
		return p, nil
	}
	for _, p := range active {
		if p.HashStart <= hash && hash <= p.HashEnd {
			return p, nil
		}
	}
	return active[len(active)-1], nil // unreachable: the ranges cover [0, MaxInt64]
}

// disCursor is what a partition cursor encodes, in the shape of the
// documented sample (Base64 JSON with getIteratorParam and
// generateTimestamp). Every cursor the emulator issues points at an exact
// sequence number, so it carries AT_SEQUENCE_NUMBER.
type disCursor struct {
	Param struct {
		StreamName  string `json:"stream-name"`
		StreamID    string `json:"stream-id"`
		PartitionID string `json:"partition-id"`
		CursorType  string `json:"cursor-type"`
		StartingSeq string `json:"starting-sequence-number"`
	} `json:"getIteratorParam"`
	Generated int64 `json:"generateTimestamp"`
}

func encodeDISCursor(s *disStream, partition int, seq int64, now time.Time) string {
	var c disCursor
	c.Param.StreamName, c.Param.StreamID = s.Name, s.ID
	c.Param.PartitionID = strconv.Itoa(partition)
	c.Param.CursorType = disAtSequence
	c.Param.StartingSeq = strconv.FormatInt(seq, 10)
	c.Generated = now.UnixMilli()
	b, _ := json.Marshal(c) // plain struct: cannot fail
	// URL-safe, so a client that does not escape query values still works.
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeDISCursor(s string) (c disCursor, partition int, seq int64, ok bool) {
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
		if b, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil || json.Unmarshal(b, &c) != nil {
		return c, 0, 0, false
	}
	partition, ok = parseDISPartitionID(c.Param.PartitionID)
	seq, err = strconv.ParseInt(c.Param.StartingSeq, 10, 64)
	return c, partition, seq, ok && err == nil && seq >= 0 && c.Param.CursorType == disAtSequence
}

// disGetCursor resolves a cursor type to the sequence number it starts at
// and returns a cursor for it.
func (e *Emulator) disGetCursor(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	streamName, partitionID := q.Get("stream-name"), q.Get("partition-id")
	if d := disCheckRequired("stream-name", streamName, "partition-id", partitionID); d != nil {
		writeDISError(w, d)
		return
	}
	partition, ok := parseDISPartitionID(partitionID)
	if !ok {
		writeDISError(w, disErrorf(disInvalidPartition, "%s", partitionID))
		return
	}
	cursorType := q.Get("cursor-type")
	if cursorType == "" {
		cursorType = disAtSequence
	}
	var seq, ts int64
	var err error
	switch cursorType {
	case disAtSequence, disAfterSequence:
		start := q.Get("starting-sequence-number")
		if seq, err = strconv.ParseInt(start, 10, 64); err != nil || seq < 0 {
			writeDISError(w, disErrorf(disInvalidSeq, "starting-sequence-number must be an integer in [0, %d] with %s, got %q",
				int64(math.MaxInt64), cursorType, start))
			return
		}
	case disAtTimestamp:
		if ts, err = strconv.ParseInt(q.Get("timestamp"), 10, 64); err != nil || ts < 0 {
			writeDISError(w, disErrorf(disInvalidRequest, "timestamp must be a time in milliseconds with %s, got %q", cursorType, q.Get("timestamp")))
			return
		}
	case disTrimHorizon, disLatest:
	default:
		writeDISError(w, disErrorf(disInvalidCursorType, "%s", cursorType))
		return
	}
	project := r.PathValue("project_id")

	e.mu.Lock()
	cursor, d := e.disGetCursorLocked(project, streamName, q.Get("stream-id"), partition, partitionID, cursorType, seq, ts)
	e.mu.Unlock()
	if d != nil {
		writeDISError(w, d)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		PartitionCursor string `json:"partition_cursor"`
	}{cursor})
}

// e.mu is held.
func (e *Emulator) disGetCursorLocked(project, streamName, streamID string, partition int, partitionID, cursorType string, seq, ts int64) (string, *disErr) {
	now := e.now()
	s, d := e.disRunningStream(project, streamName, streamID, now)
	if d != nil {
		return "", d
	}
	if partition >= len(s.Partitions) {
		return "", disErrorf(disPartitionNotFound, "%s", partitionID)
	}
	p := s.Partitions[partition]
	if s.partitionStatus(p, disRunning, now) == disPartExpired {
		return "", disErrorf(disPartitionExpired, "%s", partitionID)
	}
	s.expire(now)
	lo, hi := p.earliest(), p.NextSeq
	switch cursorType {
	case disAfterSequence:
		seq++
	case disTrimHorizon:
		seq = lo
	case disLatest:
		seq = hi
	case disAtTimestamp:
		seq = hi
		for _, rec := range p.Records {
			if rec.Timestamp.UnixMilli() >= ts {
				seq = rec.Seq
				break
			}
		}
	}
	if seq < lo || seq > hi {
		return "", disErrorf(disSeqOutOfRange, "the partition holds [%d, %d)", lo, hi)
	}
	return encodeDISCursor(s, partition, seq, now), nil
}

type disGotRecord struct {
	PartitionKey   string `json:"partition_key,omitempty"`
	SequenceNumber string `json:"sequence_number"`
	Data           string `json:"data"`
	Timestamp      int64  `json:"timestamp"`
	TimestampType  string `json:"timestamp_type"`
}

type disGetRecordsResponse struct {
	Records             []disGotRecord `json:"records"`
	NextPartitionCursor string         `json:"next_partition_cursor"`
}

// disGetRecords returns the records from a cursor on, and a cursor just
// past them. max_fetch_bytes (max_fetch_by_bytes in the DAYU copy) bounds
// the data bytes returned; a first record larger than it is not returned.
func (e *Emulator) disGetRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	raw := q.Get("partition-cursor")
	if raw == "" {
		writeDISError(w, disErrorf(disInvalidCursor, "partition-cursor is mandatory"))
		return
	}
	maxBytes := math.MaxInt
	for _, name := range []string{"max_fetch_bytes", "max_fetch_by_bytes"} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				writeDISError(w, disErrorf(disInvalidRequest, "%s must be a positive integer, got %q", name, v))
				return
			}
			maxBytes = n
		}
	}
	c, partition, seq, ok := decodeDISCursor(raw)
	if !ok {
		writeDISError(w, disErrorf(disInvalidCursor, "the cursor was not issued by this service"))
		return
	}

	e.mu.Lock()
	resp, d := e.disGetRecordsLocked(c, partition, seq, maxBytes)
	e.mu.Unlock()
	if d != nil {
		writeDISError(w, d)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// e.mu is held.
func (e *Emulator) disGetRecordsLocked(c disCursor, partition int, seq int64, maxBytes int) (disGetRecordsResponse, *disErr) {
	now := e.now()
	if now.Sub(time.UnixMilli(c.Generated)) > disCursorValidity {
		return disGetRecordsResponse{}, disErrorf(disCursorExpired, "cursors are valid for %v", disCursorValidity)
	}
	var s *disStream
	for _, x := range e.dis.Streams {
		if x.ID == c.Param.StreamID && x.Name == c.Param.StreamName {
			s = x
		}
	}
	if s == nil {
		return disGetRecordsResponse{}, &disErr{code: disStreamNotFound, detail: c.Param.StreamName}
	}
	if partition >= len(s.Partitions) {
		return disGetRecordsResponse{}, disErrorf(disPartitionNotFound, "%s", c.Param.PartitionID)
	}
	s.expire(now)
	p := s.Partitions[partition]
	lo := p.earliest()
	switch {
	case seq < lo:
		return disGetRecordsResponse{}, &disErr{code: disCursorTrimmed}
	case seq > p.NextSeq:
		return disGetRecordsResponse{}, disErrorf(disInvalidCursor, "sequence number %d is beyond the partition", seq)
	}
	resp := disGetRecordsResponse{Records: []disGotRecord{}}
	size := 0
	for _, rec := range p.Records[seq-lo:] {
		if len(resp.Records) == disMaxRecordsPerGet || size+len(rec.Data) > maxBytes {
			break
		}
		size += len(rec.Data)
		resp.Records = append(resp.Records, disGotRecord{
			PartitionKey:   rec.PartitionKey,
			SequenceNumber: strconv.FormatInt(rec.Seq, 10),
			Data:           base64.StdEncoding.EncodeToString(rec.Data),
			Timestamp:      rec.Timestamp.UnixMilli(),
			TimestampType:  "CreateTime",
		})
		seq = rec.Seq + 1
	}
	e.dis.Counts.RecordsGot += len(resp.Records)
	resp.NextPartitionCursor = encodeDISCursor(s, partition, seq, now)
	return resp, nil
}
