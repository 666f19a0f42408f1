package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDISUploadSample(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("newstream", 1)
	r := e.do("POST", "/v2/p1/records", `{
  "stream_name" : "newstream",
  "records" : [ {
    "data" : "MTEzMTEzMTEzMTEzMTEzMTEzMTEzMTEzMTE="
  } ]
}`).disWant(t, http.StatusOK)
	disWantFields(t, r.body, map[string]any{"failed_record_count": 0.0})
	recs := disArr(t, r.body["records"])
	if len(recs) != 1 {
		t.Fatalf("records = %v", recs)
	}
	got := disObj(t, recs[0])
	if len(got) != 2 || got["partition_id"] != "shardId-0000000000" || got["sequence_number"] != "0" {
		t.Errorf("result = %v, want only partition_id and sequence_number", got)
	}
	stored := e.emu.DISRecords("p1", "newstream")
	if len(stored) != 1 || string(stored[0].Data) != "11311311311311311311311311" || stored[0].SequenceNumber != 0 ||
		stored[0].PartitionKey != "" || !stored[0].Timestamp.Equal(t0.Add(disJob)) {
		t.Errorf("DISRecords = %+v", stored)
	}
}

func TestDISUploadRouting(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("s", 3)
	r := e.disPut("s", `[
		{"data":"YQ==","partition_id":"1"},
		{"data":"Yg==","partition_id":"shardId-0000000002"},
		{"data":"Yw==","partition_id":2},
		{"data":"ZA==","explicit_hash_key":"0"},
		{"data":"ZQ==","explicit_hash_key":"9223372036854775807"},
		{"data":"Zg==","explicit_hash_key":3074457345618258603},
		{"data":"","partition_key":"user-1"},
		{"data":"","partition_key":"user-1"},
		{"data":"","partition_key":"user-1","partition_id":"0"},
		{"data":""},
		{"data":""},
		{"data":""}
	]`).disWant(t, http.StatusOK)
	type placed struct {
		partition string
		seq       int
	}
	var got []placed
	for _, rec := range disArr(t, r.body["records"]) {
		o := disObj(t, rec)
		seq, _ := strconv.Atoi(o["sequence_number"].(string))
		got = append(got, placed{o["partition_id"].(string), seq})
	}
	// partition_id wins, then explicit_hash_key.
	for i, want := range []placed{
		{"shardId-0000000001", 0}, {"shardId-0000000002", 0}, {"shardId-0000000002", 1},
		{"shardId-0000000000", 0}, {"shardId-0000000002", 2}, {"shardId-0000000001", 1},
	} {
		if got[i] != want {
			t.Errorf("record %d went to %v, want %v", i, got[i], want)
		}
	}
	// One key, one partition, and partition_id overrides the key.
	if got[6].partition != got[7].partition || got[7].seq != got[6].seq+1 || got[8].partition != "shardId-0000000000" {
		t.Errorf("keyed records went to %v, %v, %v", got[6], got[7], got[8])
	}
	// Records with neither go to each partition in turn.
	if got[9].partition != "shardId-0000000000" || got[10].partition != "shardId-0000000001" || got[11].partition != "shardId-0000000002" {
		t.Errorf("unkeyed records went to %v", got[9:])
	}
	if r.body["failed_record_count"] != 0.0 {
		t.Errorf("failed_record_count = %v", r.body["failed_record_count"])
	}
	if c := e.emu.DISCounts(); c.RecordsPut != 12 || c.RecordsFailed != 0 {
		t.Errorf("counts = %+v", c)
	}
	// Keys are kept with their records, empty data as empty data.
	for _, rec := range e.emu.DISRecords("p1", "s") {
		if rec.PartitionKey == "user-1" && len(rec.Data) != 0 {
			t.Errorf("record %+v", rec)
		}
	}
}

func TestDISUploadPerRecordFailures(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("s", 2)
	r := e.disPut("s", `[
		{"data":"b2s="},
		{"data":"not base64!"},
		{"partition_id":"0"},
		{"data":"b2s=","partition_id":"7"},
		{"data":"b2s=","partition_id":"shard-1"},
		{"data":"b2s=","explicit_hash_key":"-1"},
		{"data":"b2s=","partition_id":"1"}
	]`).disWant(t, http.StatusOK)
	disWantFields(t, r.body, map[string]any{"failed_record_count": 5.0})
	want := []struct{ code, msg string }{
		{"", ""},
		{"DIS.4200", "data is not Base64"},
		{"DIS.4200", "data is mandatory"},
		{"DIS.4302", "Partition does not exist. 7"},
		{"DIS.4201", "Invalid partition_id. shard-1"},
		{"DIS.4200", "explicit_hash_key"},
		{"", ""},
	}
	recs := disArr(t, r.body["records"])
	for i, w := range want {
		o := disObj(t, recs[i])
		if w.code == "" {
			if o["error_code"] != nil || o["sequence_number"] != "0" {
				t.Errorf("record %d = %v, want written", i, o)
			}
			continue
		}
		msg, _ := o["error_message"].(string)
		if o["error_code"] != w.code || !strings.Contains(msg, w.msg) || o["sequence_number"] != nil || o["partition_id"] != nil {
			t.Errorf("record %d = %v, want error %s %q", i, o, w.code, w.msg)
		}
	}
	if n := len(e.emu.DISRecords("p1", "s")); n != 2 {
		t.Errorf("%d records stored, want 2", n)
	}
	if c := e.emu.DISCounts(); c.RecordsPut != 2 || c.RecordsFailed != 5 {
		t.Errorf("counts = %+v", c)
	}

	// A partition retired by a scale-in is read-only.
	e.do("PUT", "/v2/p1/streams/s", `{"stream_name":"s","target_partition_count":1}`).disWant(t, http.StatusOK)
	r = e.disPut("s", `[{"data":"b2s=","partition_id":"1"}]`).disWant(t, http.StatusOK)
	o := disObj(t, disArr(t, r.body["records"])[0])
	if o["error_code"] != "DIS.4201" || r.body["failed_record_count"] != 1.0 {
		t.Errorf("write to a DELETED partition: %s", r.raw)
	}
}

func TestDISUploadErrors(t *testing.T) {
	e := newDISEnv(t)
	e.disCreateStream(`{"stream_name":"creating","partition_count":1}`)
	for _, tc := range []struct {
		name, body, code, msg string
	}{
		{"empty body", "", "DIS.4202", "Empty request."},
		{"bad JSON", `{"records":`, "DIS.4300", "Request error."},
		{"no stream", `{"records":[{"data":"eA=="}]}`, "DIS.4200", "stream_name is mandatory"},
		{"no records", `{"stream_name":"creating"}`, "DIS.4200", "records is mandatory"},
		{"empty records", `{"stream_name":"creating","records":[]}`, "DIS.4200", "records is mandatory"},
		{"unknown stream", `{"stream_name":"nope","records":[{"data":"eA=="}]}`, "DIS.4301", "The stream does not exist. nope"},
		{"creating", `{"stream_name":"creating","records":[{"data":"eA=="}]}`, "DIS.4205", "Stream is not running."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/v2/p1/records", tc.body), http.StatusBadRequest, tc.code, tc.msg)
		})
	}
	// stream_id finds a stream the name does not.
	e.clock.Advance(disJob)
	s, _ := e.emu.DISStream("p1", "creating")
	e.do("POST", "/v2/p2/records", `{"stream_name":"shared","stream_id":"`+s.ID+`","records":[{"data":"eA=="}]}`).disWant(t, http.StatusOK)
	if n := len(e.emu.DISRecords("p1", "creating")); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

func TestDISCursorsAndDownload(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("s", 2)
	e.disPutData("s", "r0", "r1", "r2")
	e.clock.Advance(time.Second)
	e.disPutData("s", "r3", "r4")

	// The cursor has the shape of the documented sample.
	c := e.disCursorOf("stream-name", "s", "partition-id", "0", "cursor-type", "TRIM_HORIZON")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	disWantFields(t, disObj(t, decoded["getIteratorParam"]), map[string]any{
		"stream-name": "s", "partition-id": "0", "cursor-type": "AT_SEQUENCE_NUMBER", "starting-sequence-number": "0",
	})
	if decoded["generateTimestamp"] != float64(e.clock.Now().UnixMilli()) {
		t.Errorf("generateTimestamp = %v", decoded["generateTimestamp"])
	}

	data, next, r := e.disGet(c)
	if fmt.Sprint(data) != "[r0 r1 r2 r3 r4]" {
		t.Errorf("data = %v", data)
	}
	first := disObj(t, disArr(t, r.body["records"])[0])
	disWantFields(t, first, map[string]any{
		"partition_key": "k0", "sequence_number": "0", "data": disB64("r0"),
		"timestamp": float64(t0.Add(disJob).UnixMilli()), "timestamp_type": "CreateTime",
	})
	if ts := disObj(t, disArr(t, r.body["records"])[3])["timestamp"]; ts != float64(t0.Add(disJob+time.Second).UnixMilli()) {
		t.Errorf("r3 timestamp = %v", ts)
	}
	// Caught up: nothing, then what comes next.
	data, next2, _ := e.disGet(next)
	if len(data) != 0 || next2 == "" {
		t.Errorf("caught up: %v, next %q", data, next2)
	}
	e.disPutData("s", "r5")
	if data, _, _ = e.disGet(next2); fmt.Sprint(data) != "[r5]" {
		t.Errorf("after r5: %v", data)
	}

	for _, tc := range []struct {
		params []string
		want   string
	}{
		{[]string{"starting-sequence-number", "2"}, "[r2 r3 r4 r5]"}, // AT_SEQUENCE_NUMBER is the default
		{[]string{"cursor-type", "AT_SEQUENCE_NUMBER", "starting-sequence-number", "6"}, "[]"},
		{[]string{"cursor-type", "AFTER_SEQUENCE_NUMBER", "starting-sequence-number", "2"}, "[r3 r4 r5]"},
		{[]string{"cursor-type", "AFTER_SEQUENCE_NUMBER", "starting-sequence-number", "5"}, "[]"},
		{[]string{"cursor-type", "LATEST"}, "[]"},
		{[]string{"cursor-type", "AT_TIMESTAMP", "timestamp", strconv.FormatInt(t0.Add(disJob+time.Millisecond).UnixMilli(), 10)}, "[r3 r4 r5]"},
		{[]string{"cursor-type", "AT_TIMESTAMP", "timestamp", "0"}, "[r0 r1 r2 r3 r4 r5]"},
	} {
		c := e.disCursorOf(append([]string{"stream-name", "s", "partition-id", "shardId-0000000000"}, tc.params...)...)
		if data, _, _ := e.disGet(c); fmt.Sprint(data) != tc.want && !(tc.want == "[]" && len(data) == 0) {
			t.Errorf("%v: %v, want %s", tc.params, data, tc.want)
		}
	}

	// max_fetch_bytes (and DAYU's max_fetch_by_bytes) bound the data.
	c = e.disCursorOf("stream-name", "s", "partition-id", "0", "cursor-type", "TRIM_HORIZON")
	data, next, _ = e.disGet(c, "max_fetch_bytes", "5")
	if fmt.Sprint(data) != "[r0 r1]" {
		t.Errorf("5 bytes: %v", data)
	}
	if data, _, _ = e.disGet(next, "max_fetch_by_bytes", "2"); fmt.Sprint(data) != "[r2]" {
		t.Errorf("2 bytes from r2: %v", data)
	}
	if data, _, _ = e.disGet(next, "max_fetch_bytes", "1"); len(data) != 0 {
		t.Errorf("1 byte: %v, want nothing (the record is larger)", data)
	}
	// The other partition is empty.
	if data, _, _ = e.disGet(e.disCursorOf("stream-name", "s", "partition-id", "1", "cursor-type", "TRIM_HORIZON")); len(data) != 0 {
		t.Errorf("partition 1: %v", data)
	}
	if c := e.emu.DISCounts(); c.RecordsGot != 5+1+4+3+3+6+2+1 {
		t.Errorf("RecordsGot = %d", c.RecordsGot)
	}
}

func TestDISCursorErrors(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("s", 1)
	e.disPutData("s", "a", "b")
	base := []string{"stream-name", "s", "partition-id", "0"}
	for _, tc := range []struct {
		name   string
		params []string
		code   string
		msg    string
	}{
		{"no stream", []string{"partition-id", "0"}, "DIS.4200", "stream-name is mandatory"},
		{"no partition", []string{"stream-name", "s"}, "DIS.4200", "partition-id is mandatory"},
		{"unknown stream", []string{"stream-name", "x", "partition-id", "0", "cursor-type", "LATEST"}, "DIS.4301", "x"},
		{"bad partition", []string{"stream-name", "s", "partition-id", "p0", "cursor-type", "LATEST"}, "DIS.4201", "p0"},
		{"unknown partition", []string{"stream-name", "s", "partition-id", "1", "cursor-type", "LATEST"}, "DIS.4302", "1"},
		{"bad type", append(base, "cursor-type", "NEWEST"), "DIS.4215", "Invalid cursor type. NEWEST"},
		{"no sequence", base, "DIS.4216", "starting-sequence-number"},
		{"bad sequence", append(base, "starting-sequence-number", "x"), "DIS.4216", "starting-sequence-number"},
		{"sequence past the end", append(base, "starting-sequence-number", "3"), "DIS.4224", "Sequence_number out of range."},
		{"after past the end", append(base, "cursor-type", "AFTER_SEQUENCE_NUMBER", "starting-sequence-number", "2"), "DIS.4224", "out of range"},
		{"no timestamp", append(base, "cursor-type", "AT_TIMESTAMP"), "DIS.4200", "timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.disCursor(tc.params...), http.StatusBadRequest, tc.code, tc.msg)
		})
	}
	for _, tc := range []struct {
		name, query, code, msg string
	}{
		{"no cursor", "", "DIS.4217", "partition-cursor is mandatory"},
		{"garbage", "?partition-cursor=garbage", "DIS.4217", "Invalid partition cursor."},
		{"bad max", "?partition-cursor=x&max_fetch_bytes=0", "DIS.4200", "max_fetch_bytes"},
	} {
		wantError(t, e.do("GET", "/v2/p1/records"+tc.query, ""), http.StatusBadRequest, tc.code, tc.msg)
	}

	// Cursors expire after five minutes.
	c := e.disCursorOf(append(base, "cursor-type", "TRIM_HORIZON")...)
	e.clock.Advance(5 * time.Minute)
	_, next, _ := e.disGet(c)
	e.clock.Advance(5*time.Minute + time.Millisecond)
	wantError(t, e.do("GET", "/v2/p1/records?partition-cursor="+next, ""), http.StatusBadRequest, "DIS.4225", "Expired partition cursor.")

	// Records expire with the retention period; a cursor into them fails.
	e.clock.Set(t0.Add(disJob + 24*time.Hour - time.Millisecond))
	c = e.disCursorOf(append(base, "cursor-type", "TRIM_HORIZON")...)
	e.clock.Advance(time.Millisecond)
	wantError(t, e.do("GET", "/v2/p1/records?partition-cursor="+c, ""), http.StatusBadRequest, "DIS.4226", "record to which the SN corresponds has expired")
	wantError(t, e.disCursor(append(base, "starting-sequence-number", "0")...), http.StatusBadRequest, "DIS.4224", "[2, 2)")
	if data, _, _ := e.disGet(e.disCursorOf(append(base, "cursor-type", "TRIM_HORIZON")...)); len(data) != 0 {
		t.Errorf("expired data still read: %v", data)
	}
	if b := e.disDescribeStream("s"); disObj(t, disArr(t, b["partitions"])[0])["sequence_number_range"] != "[2 : 2]" {
		t.Errorf("partitions = %v", b["partitions"])
	}
	if recs := e.emu.DISRecords("p1", "s"); len(recs) != 0 {
		t.Errorf("DISRecords = %v", recs)
	}

	// A deleted stream's cursors stop working.
	c = e.disCursorOf(append(base, "cursor-type", "LATEST")...)
	e.do("DELETE", "/v2/p1/streams/s", "").disWant(t, http.StatusNoContent)
	wantError(t, e.do("GET", "/v2/p1/records?partition-cursor="+c, ""), http.StatusBadRequest, "DIS.4301", "s")
}

func TestDISRetiredPartitions(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("s", 2)
	e.disPut("s", `[{"data":"b2xk","partition_id":"1"}]`).disWant(t, http.StatusOK)
	e.do("PUT", "/v2/p1/streams/s", `{"stream_name":"s","target_partition_count":1}`).disWant(t, http.StatusOK)
	// Still readable while DELETED...
	c := e.disCursorOf("stream-name", "s", "partition-id", "1", "cursor-type", "TRIM_HORIZON")
	if data, _, _ := e.disGet(c); fmt.Sprint(data) != "[old]" {
		t.Errorf("data = %v", data)
	}
	// ...and EXPIRED once the retention period has passed.
	e.clock.Advance(24 * time.Hour)
	b := e.disDescribeStream("s")
	if st := disObj(t, disArr(t, b["partitions"])[1])["status"]; st != "EXPIRED" || b["readable_partition_count"] != 1.0 {
		t.Errorf("status %v, readable %v", st, b["readable_partition_count"])
	}
	wantError(t, e.disCursor("stream-name", "s", "partition-id", "1", "cursor-type", "LATEST"), http.StatusBadRequest, "DIS.4319", "Partition is expired. 1")
}
