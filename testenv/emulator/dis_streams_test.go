package emulator_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// The create-stream bodies of the seeds. The getting-started ones lack
// commas in the seeds (DIS @472-496, DAYU @1262-1298); here they are
// repaired, which is what a client sending them would have to do.
var disStreamSamples = []struct {
	name, body string
}{
	{"5.1.1 sample", `{
  "stream_name" : "newstream",
  "partition_count" : 3,
  "data_duration" : 24
}`},
	{"getting started", `{
    "stream_name": "dis-DLpR",
    "partition_count": 1,
    "stream_type": "COMMON",
    "data_duration": 24
}`},
	{"getting started auto scaling", `{
    "stream_name": "dis-DLpR-scale",
    "partition_count": 1,
    "stream_type": "COMMON",
    "data_duration": 24,
    "auto_scale_enabled": true,
    "auto_scale_min_partition_count": 2,
    "auto_scale_max_partition_count": 10
}`},
	{"DAYU getting started with schema", `{
  "stream_name": "dis-DLpR-schema",
  "partition_count": 1,
  "stream_type": "COMMON",
  "data_duration": 24,
  "auto_scale_enabled": true,
  "auto_scale_min_partition_count": 1,
  "auto_scale_max_partition_count": 10,
  "data_type": "JSON",
  "data_schema":
    "{\"type\":\"record\", \"name\":\"RecordName\", \"fields\":[{\"name\":\"key1\", \"type\":\"string\"}, {\"name\":\"key2\", \"type\":\"string\"}]}"
}`},
}

func TestDISCreateStreamSamples(t *testing.T) {
	e := newDISEnv(t)
	for _, s := range disStreamSamples {
		t.Run(s.name, func(t *testing.T) { e.disCreateStream(s.body) })
	}
	e.clock.Advance(disJob)
	b := e.disDescribeStream("dis-DLpR-scale")
	disWantFields(t, b, map[string]any{
		"auto_scale_enabled": true, "auto_scale_min_partition_count": 2.0, "auto_scale_max_partition_count": 10.0,
		"data_type": "BLOB", "stream_type": "COMMON", "retention_period": 24.0, "writable_partition_count": 1.0,
	})
	b = e.disDescribeStream("dis-DLpR-schema")
	disWantFields(t, b, map[string]any{
		"data_type":   "JSON",
		"data_schema": `{"type":"record", "name":"RecordName", "fields":[{"name":"key1", "type":"string"}, {"name":"key2", "type":"string"}]}`,
	})

	// 002's schema example says "data_type": "BLOG" (DIS @514), a typo the
	// service rejects.
	r := e.do("POST", "/v2/p1/streams", `{"stream_name":"dis-DLpR-blog","partition_count":1,"stream_type":"COMMON",`+
		`"data_duration":24,"auto_scale_enabled":true,"auto_scale_min_partition_count":1,"auto_scale_max_partition_count":10,"data_type":"BLOG"}`)
	wantError(t, r, http.StatusBadRequest, "DIS.4200", `data_type must be BLOB, JSON or CSV, got "BLOG"`)
	if n := len(e.emu.DISStreams()); n != 4 {
		t.Errorf("%d streams, want 4", n)
	}
}

func TestDISStreamLifecycle(t *testing.T) {
	e := newDISEnv(t)
	e.disCreateStream(`{"stream_name":"newstream","partition_count":3,"tags":[{"key":"team","value":"data"}]}`)

	for _, step := range []struct {
		at               time.Duration
		status, partStat string
		writable         float64
	}{
		{0, "CREATING", "CREATING", 0},
		{disJob - time.Millisecond, "CREATING", "CREATING", 0},
		{disJob, "RUNNING", "ACTIVE", 3},
		{time.Hour, "RUNNING", "ACTIVE", 3},
	} {
		e.clock.Set(t0.Add(step.at))
		b := e.disDescribeStream("newstream")
		if b["status"] != step.status || b["writable_partition_count"] != step.writable || b["readable_partition_count"] != step.writable {
			t.Errorf("at %v: status %v, writable %v, readable %v; want %s, %v", step.at, b["status"],
				b["writable_partition_count"], b["readable_partition_count"], step.status, step.writable)
		}
		for _, p := range disArr(t, b["partitions"]) {
			if st := disObj(t, p)["status"]; st != step.partStat {
				t.Errorf("at %v: partition status %v, want %s", step.at, st, step.partStat)
			}
		}
		if s, _ := e.emu.DISStream("p1", "newstream"); s.Status != step.status {
			t.Errorf("at %v: DISStream status %s, want %s", step.at, s.Status, step.status)
		}
	}

	b := e.disDescribeStream("newstream")
	id, _ := b["stream_id"].(string)
	if !disIDRE.MatchString(id) {
		t.Errorf("stream_id = %q, want 19 letters and digits", id)
	}
	disWantFields(t, b, map[string]any{
		"stream_name": "newstream", "create_time": float64(t0.UnixMilli()), "last_modified_time": float64(t0.UnixMilli()),
		"retention_period": 24.0, "stream_type": "COMMON", "data_type": "BLOB", "auto_scale_enabled": false,
		"auto_scale_min_partition_count": 0.0, "auto_scale_max_partition_count": 0.0, "has_more_partitions": false,
	})
	if tags := tagsOf(t, b["tags"]); len(tags) != 1 || tags["team"] != "data" {
		t.Errorf("tags = %v", tags)
	}
	if u := disArr(t, b["update_partition_counts"]); len(u) != 0 {
		t.Errorf("update_partition_counts = %v, want []", u)
	}
	wantParts := []map[string]any{
		{"status": "ACTIVE", "partition_id": "shardId-0000000000", "hash_range": "[0 : 3074457345618258602]", "sequence_number_range": "[0 : 0]"},
		{"status": "ACTIVE", "partition_id": "shardId-0000000001", "hash_range": "[3074457345618258603 : 6148914691236517205]", "sequence_number_range": "[0 : 0]"},
		{"status": "ACTIVE", "partition_id": "shardId-0000000002", "hash_range": "[6148914691236517206 : 9223372036854775807]", "sequence_number_range": "[0 : 0]"},
	}
	parts := disArr(t, b["partitions"])
	if len(parts) != 3 {
		t.Fatalf("partitions = %v", parts)
	}
	for i, p := range parts {
		disWantFields(t, disObj(t, p), wantParts[i])
	}

	// The list shows the same stream as its sample does.
	r := e.do("GET", "/v2/p1/streams", "").disWant(t, http.StatusOK)
	disWantFields(t, r.body, map[string]any{"total_number": 1.0, "has_more_streams": false})
	if names := disArr(t, r.body["stream_names"]); len(names) != 1 || names[0] != "newstream" {
		t.Errorf("stream_names = %v", names)
	}
	infos := disArr(t, r.body["stream_info_list"])
	if len(infos) != 1 {
		t.Fatalf("stream_info_list = %v", infos)
	}
	disWantFields(t, disObj(t, infos[0]), map[string]any{
		"stream_id": id, "stream_name": "newstream", "create_time": float64(t0.UnixMilli()), "retention_period": 24.0,
		"status": "RUNNING", "stream_type": "COMMON", "data_type": "BLOB", "partition_count": 3.0,
		"auto_scale_enabled": false, "auto_scale_min_partition_count": 0.0, "auto_scale_max_partition_count": 0.0,
	})

	// Another project sees nothing.
	r = e.do("GET", "/v2/p2/streams", "").disWant(t, http.StatusOK)
	disWantFields(t, r.body, map[string]any{"total_number": 0.0, "has_more_streams": false})
	wantError(t, e.do("GET", "/v2/p2/streams/newstream", ""), http.StatusBadRequest, "DIS.4301", "The stream does not exist. newstream")
	// ...unless it names the stream by ID, as for authorised streams.
	r = e.do("GET", "/v2/p2/streams/newstream?stream_id="+id, "").disWant(t, http.StatusOK)
	disWantFields(t, r.body, map[string]any{"stream_id": id})

	if c := e.emu.DISCounts(); c.StreamCreates != 1 {
		t.Errorf("StreamCreates = %d, want 1", c.StreamCreates)
	}
	if n := e.emu.Calls()["dis POST /v2/{project_id}/streams"]; n != 1 {
		t.Errorf("create calls = %d, want 1", n)
	}
}

func TestDISCreateStreamValidation(t *testing.T) {
	e := newDISEnv(t)
	for _, tc := range []struct {
		name, body, code, msg string
	}{
		{"empty body", "", "DIS.4202", "Empty request."},
		{"invalid JSON", `{"stream_name":`, "DIS.4300", "Request error."},
		{"wrong type", `{"stream_name":"s","partition_count":"3"}`, "DIS.4300", "Request error."},
		{"no name", `{"partition_count":1}`, "DIS.4200", "stream_name"},
		{"bad name", `{"stream_name":"a b","partition_count":1}`, "DIS.4200", "stream_name"},
		{"long name", fmt.Sprintf(`{"stream_name":"%065d","partition_count":1}`, 0), "DIS.4200", "stream_name"},
		{"no partitions", `{"stream_name":"s"}`, "DIS.4200", "partition_count is mandatory"},
		{"zero partitions", `{"stream_name":"s","partition_count":0}`, "DIS.4200", "partition_count must be greater than 0"},
		{"bad stream type", `{"stream_name":"s","partition_count":1,"stream_type":"FAST"}`, "DIS.4200", "stream_type"},
		{"short retention", `{"stream_name":"s","partition_count":1,"data_duration":23}`, "DIS.4200", "data_duration"},
		{"long retention", `{"stream_name":"s","partition_count":1,"data_duration":169}`, "DIS.4200", "data_duration"},
		{"bad compression", `{"stream_name":"s","partition_count":1,"compression_format":"lz4"}`, "DIS.4200", "compression_format"},
		{"bad schema", `{"stream_name":"s","partition_count":1,"data_type":"JSON","data_schema":"{not json"}`, "DIS.4360", "Invalid data schema."},
		{"auto scale min 0", `{"stream_name":"s","partition_count":1,"auto_scale_enabled":true,"auto_scale_max_partition_count":3}`, "DIS.4200", "auto_scale_min_partition_count"},
		{"auto scale max < min", `{"stream_name":"s","partition_count":1,"auto_scale_enabled":true,"auto_scale_min_partition_count":3,"auto_scale_max_partition_count":2}`, "DIS.4200", "auto_scale_max_partition_count"},
		{"duplicate tag", `{"stream_name":"s","partition_count":1,"tags":[{"key":"k","value":"1"},{"key":"k","value":"2"}]}`, "DIS.4200", "duplicate tag key"},
		{"tag value too long", fmt.Sprintf(`{"stream_name":"s","partition_count":1,"tags":[{"key":"k","value":"%044d"}]}`, 0), "DIS.4200", "tag value"},
		{"11 tags", `{"stream_name":"s","partition_count":1,"tags":[` + disTags(11) + `]}`, "DIS.4601", "The number of resource tags has reached the maximum."},
		{"bad sys tag", `{"stream_name":"s","partition_count":1,"sys_tags":[{"key":"project","value":"x"}]}`, "DIS.4200", "sys_tags"},
		{"advanced quota", `{"stream_name":"s","partition_count":11,"stream_type":"ADVANCED"}`, "DIS.4308", "Insufficient quota."},
		{"common quota", `{"stream_name":"s","partition_count":51}`, "DIS.4308", "Insufficient quota."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/v2/p1/streams", tc.body), http.StatusBadRequest, tc.code, tc.msg)
		})
	}
	if n := len(e.emu.DISStreams()); n != 0 {
		t.Fatalf("rejected creates made %d streams", n)
	}

	// Ten tags, a sys tag and the quota's last partitions are fine.
	e.disCreateStream(`{"stream_name":"s","partition_count":10,"stream_type":"ADVANCED","tags":[` + disTags(10) + `],` +
		`"sys_tags":[{"key":"_sys_enterprise_project_id","value":"0a1b2c3d-0000-1111-2222-333344445555"}]}`)
	wantError(t, e.do("POST", "/v2/p1/streams", `{"stream_name":"s2","partition_count":1,"stream_type":"ADVANCED"}`),
		http.StatusBadRequest, "DIS.4308", "Insufficient quota.")
	e.disCreateStream(`{"stream_name":"s2","partition_count":50}`)
	wantError(t, e.do("POST", "/v2/p1/streams", `{"stream_name":"s","partition_count":1}`), http.StatusBadRequest, "DIS.4307", "The stream already exists.")
	// Quotas and names are per project.
	e.do("POST", "/v2/p2/streams", `{"stream_name":"s","partition_count":10,"stream_type":"ADVANCED"}`).disWant(t, http.StatusCreated)
	if c := e.emu.DISCounts(); c.StreamCreates != 3 {
		t.Errorf("StreamCreates = %d, want 3", c.StreamCreates)
	}
}

func disTags(n int) string {
	s := ""
	for i := range n {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf(`{"key":"k%d","value":"v%d"}`, i, i)
	}
	return s
}

func TestDISListStreamsPaging(t *testing.T) {
	e := newDISEnv(t)
	for _, name := range []string{"c", "a", "b"} {
		e.disCreateStream(fmt.Sprintf(`{"stream_name":%q,"partition_count":1}`, name))
	}
	for _, tc := range []struct {
		query string
		names []string
		more  bool
	}{
		{"", []string{"a", "b", "c"}, false},
		{"?limit=2", []string{"a", "b"}, true},
		{"?limit=2&start_stream_name=b", []string{"c"}, false},
		{"?start_stream_name=a", []string{"b", "c"}, false},
		{"?start_stream_name=c", []string{}, false},
	} {
		r := e.do("GET", "/v2/p1/streams"+tc.query, "").disWant(t, http.StatusOK)
		names := disArr(t, r.body["stream_names"])
		if fmt.Sprint(names) != fmt.Sprint(tc.names) || r.body["has_more_streams"] != tc.more || r.body["total_number"] != 3.0 {
			t.Errorf("%s: names %v, has_more %v, total %v; want %v, %v, 3", tc.query, names, r.body["has_more_streams"],
				r.body["total_number"], tc.names, tc.more)
		}
		if infos := disArr(t, r.body["stream_info_list"]); len(infos) != len(tc.names) {
			t.Errorf("%s: %d infos, want %d", tc.query, len(infos), len(tc.names))
		}
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=x"} {
		wantError(t, e.do("GET", "/v2/p1/streams"+q, ""), http.StatusBadRequest, "DIS.4200", "limit")
	}
}

func TestDISDescribePartitionPaging(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("s", 5)
	ids := func(b map[string]any) []string {
		var out []string
		for _, p := range disArr(t, b["partitions"]) {
			out = append(out, disObj(t, p)["partition_id"].(string))
		}
		return out
	}
	r := e.do("GET", "/v2/p1/streams/s?limit_partitions=2", "").disWant(t, http.StatusOK)
	if got := ids(r.body); fmt.Sprint(got) != "[shardId-0000000000 shardId-0000000001]" || r.body["has_more_partitions"] != true {
		t.Errorf("first page %v, has_more %v", got, r.body["has_more_partitions"])
	}
	r = e.do("GET", "/v2/p1/streams/s?limit_partitions=2&start_partition_id=shardId-0000000002", "").disWant(t, http.StatusOK)
	if got := ids(r.body); fmt.Sprint(got) != "[shardId-0000000003 shardId-0000000004]" || r.body["has_more_partitions"] != false {
		t.Errorf("last page %v, has_more %v", got, r.body["has_more_partitions"])
	}
	r = e.do("GET", "/v2/p1/streams/s?start_partition_id=3", "").disWant(t, http.StatusOK)
	if got := ids(r.body); fmt.Sprint(got) != "[shardId-0000000004]" || r.body["writable_partition_count"] != 5.0 {
		t.Errorf("after 3: %v, writable %v", got, r.body["writable_partition_count"])
	}
	wantError(t, e.do("GET", "/v2/p1/streams/s?start_partition_id=shard-1", ""), http.StatusBadRequest, "DIS.4201", "Invalid partition_id. shard-1")
	wantError(t, e.do("GET", "/v2/p1/streams/s?limit_partitions=1001", ""), http.StatusBadRequest, "DIS.4200", "limit_partitions")
}

func TestDISChangePartitions(t *testing.T) {
	e := newDISEnv(t)
	e.disCreateStream(`{"stream_name":"newstream","partition_count":1}`)
	// Not while CREATING.
	wantError(t, e.do("PUT", "/v2/p1/streams/newstream", `{"stream_name":"newstream","target_partition_count":5}`),
		http.StatusBadRequest, "DIS.4205", "Stream is not running.")
	e.clock.Advance(disJob)

	// The sample.
	r := e.do("PUT", "/v2/p1/streams/newstream", `{
  "stream_name" : "newstream",
  "target_partition_count" : 5
}`).disWant(t, http.StatusOK)
	if r.raw != "" {
		t.Errorf("body = %s, want none", r.raw)
	}
	e.disPutData("newstream", "a")
	e.clock.Advance(time.Minute)
	e.do("PUT", "/v2/p1/streams/newstream", `{"stream_name":"newstream","target_partition_count":2}`).disWant(t, http.StatusOK)

	b := e.disDescribeStream("newstream")
	disWantFields(t, b, map[string]any{
		"writable_partition_count": 2.0, "readable_partition_count": 5.0,
		"last_modified_time": float64(t0.Add(disJob + time.Minute).UnixMilli()),
	})
	var states []string
	for _, p := range disArr(t, b["partitions"]) {
		states = append(states, disObj(t, p)["status"].(string))
	}
	if fmt.Sprint(states) != "[ACTIVE ACTIVE DELETED DELETED DELETED]" {
		t.Errorf("partition states = %v", states)
	}
	p0 := disObj(t, disArr(t, b["partitions"])[0])
	disWantFields(t, p0, map[string]any{"hash_range": "[0 : 4611686018427387903]", "sequence_number_range": "[0 : 1]"})
	changes := disArr(t, b["update_partition_counts"])
	if len(changes) != 2 {
		t.Fatalf("update_partition_counts = %v", changes)
	}
	disWantFields(t, disObj(t, changes[0]), map[string]any{
		"create_timestamp": float64(t0.Add(disJob).UnixMilli()), "src_partition_count": 1.0, "target_partition_count": 5.0,
		"result_code": 0.0, "result_msg": 0.0, "auto_scale": false,
	})
	disWantFields(t, disObj(t, changes[1]), map[string]any{"src_partition_count": 5.0, "target_partition_count": 2.0})
	if r := e.do("GET", "/v2/p1/streams", "").disWant(t, http.StatusOK); disObj(t, disArr(t, r.body["stream_info_list"])[0])["partition_count"] != 2.0 {
		t.Errorf("listed partition_count is not 2: %s", r.raw)
	}

	// Growing again adds new partitions after the retired ones.
	e.do("PUT", "/v2/p1/streams/newstream", `{"stream_name":"newstream","target_partition_count":3}`).disWant(t, http.StatusOK)
	s, _ := e.emu.DISStream("p1", "newstream")
	if len(s.Partitions) != 6 || s.Partitions[5].Status != "ACTIVE" || s.Partitions[2].Status != "DELETED" || s.PartitionChanges != 3 {
		t.Errorf("DISStream = %+v", s)
	}
	// The same count is a no-op.
	e.do("PUT", "/v2/p1/streams/newstream", `{"stream_name":"newstream","target_partition_count":3}`).disWant(t, http.StatusOK)

	for _, tc := range []struct{ body, code, msg string }{
		{`{"stream_name":"other","target_partition_count":2}`, "DIS.4200", "does not match"},
		{`{"stream_name":"newstream"}`, "DIS.4200", "target_partition_count is mandatory"},
		{`{"stream_name":"newstream","target_partition_count":0}`, "DIS.4200", "greater than 0"},
		{`{"stream_name":"newstream","target_partition_count":51}`, "DIS.4308", "Insufficient quota."},
	} {
		wantError(t, e.do("PUT", "/v2/p1/streams/newstream", tc.body), http.StatusBadRequest, tc.code, tc.msg)
	}
	// Five scalings per hour, then the oldest leaves the window.
	e.do("PUT", "/v2/p1/streams/newstream", `{"stream_name":"newstream","target_partition_count":4}`).disWant(t, http.StatusOK)
	e.do("PUT", "/v2/p1/streams/newstream", `{"stream_name":"newstream","target_partition_count":5}`).disWant(t, http.StatusOK)
	wantError(t, e.do("PUT", "/v2/p1/streams/newstream", `{"stream_name":"newstream","target_partition_count":6}`),
		http.StatusBadRequest, "DIS.4200", "at most 5 times per hour")
	e.clock.Advance(time.Hour - time.Minute)
	e.do("PUT", "/v2/p1/streams/newstream", `{"stream_name":"newstream","target_partition_count":6}`).disWant(t, http.StatusOK)
	wantError(t, e.do("PUT", "/v2/p1/streams/nostream", `{"stream_name":"nostream","target_partition_count":6}`),
		http.StatusBadRequest, "DIS.4301", "nostream")
	if c := e.emu.DISCounts(); c.PartitionChanges != 6 {
		t.Errorf("PartitionChanges = %d, want 6", c.PartitionChanges)
	}
}

func TestDISUpdateStream(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("stz_test", 1)
	// The two samples.
	for _, body := range []string{`{
  "stream_name": "stz_test",
  "data_duration": 48
}`, `{
  "stream_name": "stz_test",
  "data_type": "JSON"
}`} {
		if r := e.do("PUT", "/v3/p1/streams/stz_test", body).disWant(t, http.StatusNoContent); r.raw != "" {
			t.Errorf("body = %s, want none", r.raw)
		}
	}
	e.clock.Advance(time.Second)
	// The permission table's path is an alias.
	e.do("PUT", "/v2/p1/streams/stz_test/update", `{"stream_name":"stz_test","auto_scale_enabled":true,`+
		`"auto_scale_min_partition_count":1,"auto_scale_max_partition_count":4,"data_schema":"{\"type\":\"record\"}"}`).disWant(t, http.StatusNoContent)
	b := e.disDescribeStream("stz_test")
	disWantFields(t, b, map[string]any{
		"retention_period": 48.0, "data_type": "JSON", "auto_scale_enabled": true, "auto_scale_min_partition_count": 1.0,
		"auto_scale_max_partition_count": 4.0, "data_schema": `{"type":"record"}`,
		"last_modified_time": float64(t0.Add(disJob + time.Second).UnixMilli()),
	})
	for _, tc := range []struct{ body, code, msg string }{
		{`{"stream_name":"other","data_duration":48}`, "DIS.4200", "does not match"},
		{`{"stream_name":"stz_test","data_duration":200}`, "DIS.4200", "data_duration"},
		{`{"stream_name":"stz_test","data_type":"XML"}`, "DIS.4200", "data_type"},
		{`{"stream_name":"stz_test","data_schema":"{"}`, "DIS.4360", "Invalid data schema."},
		{`{"stream_name":"stz_test","auto_scale_min_partition_count":5}`, "DIS.4200", "auto_scale_max_partition_count"},
	} {
		wantError(t, e.do("PUT", "/v3/p1/streams/stz_test", tc.body), http.StatusBadRequest, tc.code, tc.msg)
	}
	wantError(t, e.do("PUT", "/v3/p1/streams/none", `{"stream_name":"none"}`), http.StatusBadRequest, "DIS.4301", "none")
	s, _ := e.emu.DISStream("p1", "stz_test")
	if s.RetentionHours != 48 || s.DataType != "JSON" || s.Updates != 3 || s.AutoScaleMax != 4 {
		t.Errorf("DISStream = %+v, want the updates applied, rejected ones not", s)
	}
}

func TestDISDeleteStream(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("s", 1)
	e.disPutData("s", "x")
	e.do("POST", "/v2/p1/streams/s/transfer-tasks", disOBSTask("t")).disWant(t, http.StatusCreated)
	e.do("POST", "/v2/p1/apps", `{"app_name":"a"}`).disWant(t, http.StatusCreated)
	e.do("POST", "/v2/p1/checkpoints", `{"app_name":"a","checkpoint_type":"LAST_READ","stream_name":"s","partition_id":"0","sequence_number":"0"}`).
		disWant(t, http.StatusCreated)

	if r := e.do("DELETE", "/v2/p1/streams/s", "").disWant(t, http.StatusNoContent); r.raw != "" {
		t.Errorf("body = %s", r.raw)
	}
	wantError(t, e.do("GET", "/v2/p1/streams/s", ""), http.StatusBadRequest, "DIS.4301", "s")
	wantError(t, e.do("DELETE", "/v2/p1/streams/s", ""), http.StatusBadRequest, "DIS.4301", "s")
	if len(e.emu.DISStreams()) != 0 || len(e.emu.DISDumpTasks()) != 0 || len(e.emu.DISCheckpoints()) != 0 || e.emu.DISRecords("p1", "s") != nil {
		t.Error("the stream's tasks, checkpoints or records survived it")
	}
	// The name is free again, and the new stream is empty.
	e.disRunningStream("s", 1)
	if recs := e.emu.DISRecords("p1", "s"); len(recs) != 0 {
		t.Errorf("records = %v", recs)
	}
	if c := e.emu.DISCounts(); c.StreamDeletes != 1 || c.StreamCreates != 2 || c.TaskCreates != 1 {
		t.Errorf("counts = %+v", c)
	}
}

func TestDISStreamRules(t *testing.T) {
	e := newDISEnv(t)
	e.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "slow", Duration: time.Minute})
	e.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "stuck", Hang: true})
	e.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "broken", FailMessage: "no capacity", FailFirst: 1})
	e.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "busy", SubmitErrors: 1, SubmitStatus: http.StatusTooManyRequests})
	e.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "flaky", SubmitErrors: 1})
	e.emu.AddRule(emulator.Rule{Service: emulator.DLI, Match: "", FailMessage: "DLI only"})

	for _, name := range []string{"slow", "stuck", "broken", "plain"} {
		e.disCreateStream(fmt.Sprintf(`{"stream_name":%q,"partition_count":1}`, name))
	}
	r := e.do("POST", "/v2/p1/streams", `{"stream_name":"busy","partition_count":1}`)
	wantError(t, r, http.StatusTooManyRequests, "DIS.4305", "Too many stream requests.")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", r.header.Get("Retry-After"))
	}
	wantError(t, e.do("POST", "/v2/p1/streams", `{"stream_name":"flaky","partition_count":1}`), http.StatusInternalServerError, "DIS.5000", "System error.")
	if _, ok := e.emu.DISStream("p1", "busy"); ok {
		t.Error("an injected error created the stream")
	}
	e.disCreateStream(`{"stream_name":"busy","partition_count":1}`)
	e.disCreateStream(`{"stream_name":"broken2","partition_count":1}`)

	status := func(name string) string { return e.disDescribeStream(name)["status"].(string) }
	e.clock.Advance(disJob)
	for name, want := range map[string]string{"slow": "CREATING", "stuck": "CREATING", "broken": "FROZEN", "broken2": "RUNNING", "plain": "RUNNING", "busy": "RUNNING"} {
		if got := status(name); got != want {
			t.Errorf("%s at %v: %s, want %s", name, disJob, got, want)
		}
	}
	e.clock.Advance(time.Minute)
	if status("slow") != "RUNNING" || status("stuck") != "CREATING" {
		t.Errorf("after a minute: slow %s, stuck %s", status("slow"), status("stuck"))
	}
	s, _ := e.emu.DISStream("p1", "broken")
	if s.Status != "FROZEN" || s.FailMessage != "no capacity" || s.Partitions[0].Status != "ACTIVE" {
		t.Errorf("DISStream(broken) = %+v", s)
	}
	wantError(t, e.disPut("broken", `[{"data":"eA=="}]`), http.StatusBadRequest, "DIS.4205", "Stream broken is FROZEN.")
	wantError(t, e.disPut("stuck", `[{"data":"eA=="}]`), http.StatusBadRequest, "DIS.4205", "Stream stuck is CREATING.")
	wantError(t, e.do("POST", "/v2/p1/streams/broken/transfer-tasks", disOBSTask("t")), http.StatusBadRequest, "DIS.4205", "Stream is not running.")
}
