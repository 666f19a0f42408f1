package emulator_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDISApps(t *testing.T) {
	e := newDISEnv(t)
	// The sample.
	if r := e.do("POST", "/v2/p1/apps", `{
    "app_name" : "newapp"
}`).disWant(t, http.StatusCreated); r.raw != "" {
		t.Errorf("body = %s", r.raw)
	}
	e.clock.Advance(time.Second)
	e.do("POST", "/v2/p1/apps", `{"app_name":"app-b"}`).disWant(t, http.StatusCreated)
	e.do("POST", "/v2/p1/apps", `{"app_name":"app_c"}`).disWant(t, http.StatusCreated)
	e.do("POST", "/v2/p2/apps", `{"app_name":"newapp"}`).disWant(t, http.StatusCreated)

	wantError(t, e.do("POST", "/v2/p1/apps", `{"app_name":"newapp"}`), http.StatusBadRequest, "DIS.4330", "app already exist.")
	wantError(t, e.do("POST", "/v2/p1/apps", `{"app_name":"bad name"}`), http.StatusBadRequest, "DIS.4200", "app_name")
	wantError(t, e.do("POST", "/v2/p1/apps", `{"app_name":"`+strings.Repeat("a", 201)+`"}`), http.StatusBadRequest, "DIS.4200", "app_name")
	wantError(t, e.do("POST", "/v2/p1/apps", `{}`), http.StatusBadRequest, "DIS.4200", "app_name")

	r := e.do("GET", "/v2/p1/apps/newapp", "").disWant(t, http.StatusOK)
	id, _ := r.body["app_id"].(string)
	if len(id) != 17 {
		t.Errorf("app_id = %q, want 17 characters like the sample's", id)
	}
	disWantFields(t, r.body, map[string]any{"app_name": "newapp", "create_time": float64(t0.UnixMilli())})
	for _, k := range []string{"commit_check_point_stream_names", "commit_checkpoint_stream_names"} {
		if names := disArr(t, r.body[k]); len(names) != 0 {
			t.Errorf("%s = %v, want []", k, names)
		}
	}
	wantError(t, e.do("GET", "/v2/p1/apps/nope", ""), http.StatusBadRequest, "DIS.4332", "app not found.")

	for _, tc := range []struct {
		query string
		names string
		more  bool
	}{
		{"", "[app-b app_c newapp]", false},
		{"?limit=2", "[app-b app_c]", true},
		{"?start_app_name=app_c", "[newapp]", false},
		{"?stream_name=s", "[]", false},
	} {
		r := e.do("GET", "/v2/p1/apps"+tc.query, "").disWant(t, http.StatusOK)
		var names []string
		for _, a := range disArr(t, r.body["apps"]) {
			names = append(names, disObj(t, a)["app_name"].(string))
		}
		if fmt.Sprint(names) != tc.names && !(tc.names == "[]" && names == nil) || r.body["has_more_app"] != tc.more {
			t.Errorf("%s: %v, has_more %v; want %s, %v", tc.query, names, r.body["has_more_app"], tc.names, tc.more)
		}
	}
	wantError(t, e.do("GET", "/v2/p1/apps?limit=101", ""), http.StatusBadRequest, "DIS.4200", "limit")

	if r := e.do("DELETE", "/v2/p1/apps/app-b", "").disWant(t, http.StatusNoContent); r.raw != "" {
		t.Errorf("body = %s", r.raw)
	}
	wantError(t, e.do("DELETE", "/v2/p1/apps/app-b", ""), http.StatusBadRequest, "DIS.4332", "app not found.")
	apps := e.emu.DISApps()
	if len(apps) != 3 || apps[0].Name != "newapp" || apps[0].ProjectID != "p1" || apps[0].ID != id || apps[2].ProjectID != "p2" {
		t.Errorf("DISApps = %+v", apps)
	}
	if c := e.emu.DISCounts(); c.AppCreates != 4 || c.AppDeletes != 1 {
		t.Errorf("counts = %+v", c)
	}
}

func TestDISCheckpoints(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("newstream", 2)
	e.disPutData("newstream", "a", "b", "c")
	e.do("POST", "/v2/p1/apps", `{"app_name":"newapp"}`).disWant(t, http.StatusCreated)

	// The sample.
	if r := e.do("POST", "/v2/p1/checkpoints", `{
    "stream_name" : "newstream",
    "app_name" : "newapp",
    "partition_id" : "0",
    "sequence_number" : "2",
    "checkpoint_type" : "LAST_READ"
}`).disWant(t, http.StatusCreated); r.raw != "" {
		t.Errorf("body = %s", r.raw)
	}
	query := "/v2/p1/checkpoints?stream_name=newstream&app_name=newapp&checkpoint_type=LAST_READ&partition_id="
	// 200 with the documented 204's body (see disQueryCheckpoint).
	r := e.do("GET", query+"shardId-0000000000", "").disWant(t, http.StatusOK)
	if len(r.body) != 2 || r.body["sequence_number"] != "2" || r.body["metadata"] != "" {
		t.Errorf("checkpoint = %s", r.raw)
	}
	// A recommit replaces it; numbers are accepted for strings.
	e.do("POST", "/v2/p1/checkpoints", `{"stream_name":"newstream","app_name":"newapp","partition_id":0,"sequence_number":3,`+
		`"checkpoint_type":"LAST_READ","metadata":"m"}`).disWant(t, http.StatusCreated)
	r = e.do("GET", query+"0", "").disWant(t, http.StatusOK)
	disWantFields(t, r.body, map[string]any{"sequence_number": "3", "metadata": "m"})
	wantError(t, e.do("GET", query+"1", ""), http.StatusBadRequest, "DIS.4375", "The app does not commit checkpoint")

	// The app now lists the stream, under both spellings.
	r = e.do("GET", "/v2/p1/apps/newapp", "").disWant(t, http.StatusOK)
	for _, k := range []string{"commit_check_point_stream_names", "commit_checkpoint_stream_names"} {
		if names := disArr(t, r.body[k]); len(names) != 1 || names[0] != "newstream" {
			t.Errorf("%s = %v", k, names)
		}
	}
	if apps := disArr(t, e.do("GET", "/v2/p1/apps?stream_name=newstream", "").disWant(t, http.StatusOK).body["apps"]); len(apps) != 1 {
		t.Errorf("apps of newstream = %v", apps)
	}

	// Consumption state, in the sample's shape.
	r = e.do("GET", "/v2/p1/apps/newapp/streams/newstream?checkpoint_type=LAST_READ", "").disWant(t, http.StatusOK)
	disWantFields(t, r.body, map[string]any{"stream_name": "newstream", "app_name": "newapp"})
	states := disArr(t, r.body["partition_consumming_states"])
	if len(states) != 2 {
		t.Fatalf("partition_consumming_states = %v", states)
	}
	disWantFields(t, disObj(t, states[0]), map[string]any{
		"partition_id": "0", "sequence_number": "3", "latest_offset": "3", "earliest_offset": "0", "checkpoint_type": "LAST_READ",
	})
	disWantFields(t, disObj(t, states[1]), map[string]any{
		"partition_id": "1", "sequence_number": "-1", "latest_offset": "0", "earliest_offset": "0",
	})
	r = e.do("GET", "/v2/p1/apps/newapp/streams/newstream?checkpoint_type=LAST_READ&start_partition_id=0&limit=1", "").disWant(t, http.StatusOK)
	if states := disArr(t, r.body["partition_consumming_states"]); len(states) != 1 || disObj(t, states[0])["partition_id"] != "1" {
		t.Errorf("after partition 0: %v", states)
	}
	for _, tc := range []struct{ path, code, msg string }{
		{"/v2/p1/apps/newapp/streams/newstream", "DIS.4200", "checkpoint_type must be LAST_READ"},
		{"/v2/p1/apps/nope/streams/newstream?checkpoint_type=LAST_READ", "DIS.4332", "app not found."},
		{"/v2/p1/apps/newapp/streams/nope?checkpoint_type=LAST_READ", "DIS.4301", "nope"},
		{"/v2/p1/apps/newapp/streams/newstream?checkpoint_type=LAST_READ&limit=1001", "DIS.4200", "limit"},
	} {
		wantError(t, e.do("GET", tc.path, ""), http.StatusBadRequest, tc.code, tc.msg)
	}

	for _, tc := range []struct{ name, body, code, msg string }{
		{"no app", `{"checkpoint_type":"LAST_READ","stream_name":"newstream","partition_id":"0","sequence_number":"1"}`, "DIS.4200", "app_name is mandatory"},
		{"bad type", `{"app_name":"newapp","checkpoint_type":"FIRST","stream_name":"newstream","partition_id":"0","sequence_number":"1"}`, "DIS.4200", "checkpoint_type"},
		{"no sequence", `{"app_name":"newapp","checkpoint_type":"LAST_READ","stream_name":"newstream","partition_id":"0"}`, "DIS.4200", "sequence_number is mandatory"},
		{"bad sequence", `{"app_name":"newapp","checkpoint_type":"LAST_READ","stream_name":"newstream","partition_id":"0","sequence_number":"x"}`, "DIS.4216", "Invalid sequence_number."},
		{"beyond the data", `{"app_name":"newapp","checkpoint_type":"LAST_READ","stream_name":"newstream","partition_id":"0","sequence_number":"4"}`, "DIS.4224", "Sequence_number out of range."},
		{"unknown app", `{"app_name":"x","checkpoint_type":"LAST_READ","stream_name":"newstream","partition_id":"0","sequence_number":"1"}`, "DIS.4332", "app not found."},
		{"unknown stream", `{"app_name":"newapp","checkpoint_type":"LAST_READ","stream_name":"x","partition_id":"0","sequence_number":"1"}`, "DIS.4301", "x"},
		{"unknown partition", `{"app_name":"newapp","checkpoint_type":"LAST_READ","stream_name":"newstream","partition_id":"2","sequence_number":"0"}`, "DIS.4302", "2"},
		{"bad partition", `{"app_name":"newapp","checkpoint_type":"LAST_READ","stream_name":"newstream","partition_id":"-1","sequence_number":"0"}`, "DIS.4201", "-1"},
		{"long metadata", `{"app_name":"newapp","checkpoint_type":"LAST_READ","stream_name":"newstream","partition_id":"0","sequence_number":"0","metadata":"` + strings.Repeat("m", 1001) + `"}`, "DIS.4200", "metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/v2/p1/checkpoints", tc.body), http.StatusBadRequest, tc.code, tc.msg)
		})
	}
	wantError(t, e.do("GET", "/v2/p1/checkpoints?stream_name=newstream&app_name=newapp&checkpoint_type=LAST_READ", ""),
		http.StatusBadRequest, "DIS.4200", "partition_id is mandatory")

	e.do("POST", "/v2/p1/checkpoints", `{"stream_name":"newstream","app_name":"newapp","partition_id":"1","sequence_number":"0","checkpoint_type":"LAST_READ"}`).
		disWant(t, http.StatusCreated)
	cps := e.emu.DISCheckpoints()
	if len(cps) != 2 || cps[0].PartitionID != "shardId-0000000000" || cps[0].SequenceNumber != 3 || cps[0].Metadata != "m" ||
		cps[1].PartitionID != "shardId-0000000001" || cps[0].AppName != "newapp" || cps[0].StreamName != "newstream" {
		t.Errorf("DISCheckpoints = %+v", cps)
	}

	// Deleting one partition's checkpoint, then the rest.
	del := "/v2/p1/checkpoints?stream_name=newstream&app_name=newapp&checkpoint_type=LAST_READ"
	e.do("DELETE", del+"&partition_id=1", "").disWant(t, http.StatusNoContent)
	wantError(t, e.do("GET", query+"1", ""), http.StatusBadRequest, "DIS.4375", "checkpoint")
	e.do("GET", query+"0", "").disWant(t, http.StatusOK)
	e.do("DELETE", del, "").disWant(t, http.StatusNoContent)
	wantError(t, e.do("GET", query+"0", ""), http.StatusBadRequest, "DIS.4375", "checkpoint")
	wantError(t, e.do("DELETE", "/v2/p1/checkpoints?stream_name=newstream&app_name=newapp", ""), http.StatusBadRequest, "DIS.4200", "checkpoint_type is mandatory")
	wantError(t, e.do("DELETE", "/v2/p1/checkpoints?stream_name=newstream&app_name=x&checkpoint_type=LAST_READ", ""),
		http.StatusBadRequest, "DIS.4332", "app not found.")
	if c := e.emu.DISCounts(); c.CheckpointCommits != 3 || len(e.emu.DISCheckpoints()) != 0 {
		t.Errorf("counts = %+v, checkpoints %v", c, e.emu.DISCheckpoints())
	}

	// Deleting the app drops its checkpoints.
	e.do("POST", "/v2/p1/checkpoints", `{"stream_name":"newstream","app_name":"newapp","partition_id":"1","sequence_number":"0","checkpoint_type":"LAST_READ"}`).
		disWant(t, http.StatusCreated)
	e.do("DELETE", "/v2/p1/apps/newapp", "").disWant(t, http.StatusNoContent)
	if cps := e.emu.DISCheckpoints(); len(cps) != 0 {
		t.Errorf("checkpoints survived their app: %+v", cps)
	}
}
