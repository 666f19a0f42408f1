package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDISStateRoundTrip populates every kind of DIS resource, passes the
// state through encoding/json and checks that an emulator holding the
// decoded state reports and serves exactly the same.
func TestDISStateRoundTrip(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	clock := func() time.Time { return now }
	e := New(Options{JobDuration: 10 * time.Second, Now: clock, AcceptAnyToken: true})
	e.AddRule(Rule{Service: DIS, Match: "broken", FailMessage: "agency missing"})
	serve := func(em *Emulator, method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("X-Auth-Token", "t")
		rec := httptest.NewRecorder()
		em.Handler(DIS).ServeHTTP(rec, req) // synchronous: the plain clock needs no lock
		return rec
	}
	do := func(method, path, body string, want int) {
		t.Helper()
		if rec := serve(e, method, path, body); rec.Code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, want, rec.Body)
		}
	}

	do("POST", "/v2/p1/streams", `{"stream_name":"s","partition_count":2,"data_type":"JSON","data_schema":"{}",`+
		`"csv_properties":{"delimiter":";"},"tags":[{"key":"k","value":"v"}],"compression_format":"gzip"}`, 201)
	do("POST", "/v2/p1/streams", `{"stream_name":"creating","partition_count":1,"stream_type":"ADVANCED"}`, 201)
	now = now.Add(10 * time.Second)
	do("POST", "/v2/p1/streams", `{"stream_name":"creating2","partition_count":1}`, 201)
	do("POST", "/v2/p1/records", `{"stream_name":"s","records":[{"data":"YQ==","partition_key":"k"},{"data":"Yg==","partition_id":"1"}]}`, 200)
	do("PUT", "/v2/p1/streams/s", `{"stream_name":"s","target_partition_count":3}`, 200)
	do("PUT", "/v3/p1/streams/s", `{"stream_name":"s","data_duration":48}`, 204)
	do("POST", "/v2/p1/apps", `{"app_name":"a"}`, 201)
	do("POST", "/v2/p1/checkpoints", `{"app_name":"a","checkpoint_type":"LAST_READ","stream_name":"s","partition_id":"1","sequence_number":"1","metadata":"m"}`, 201)
	do("POST", "/v2/p1/streams/s/transfer-tasks", `{"destination_type":"OBS","obs_destination_descriptor":{"task_name":"obs",`+
		`"agency_name":"a","obs_bucket_path":"b","deliver_time_interval":30,"processing_schema":{"timestamp_name":"ts","timestamp_type":"Timestamp"}}}`, 201)
	do("POST", "/v2/p1/streams/s/transfer-tasks", `{"destination_type":"CLOUDBASE","cloudtable_destination_descriptor":{"task_name":"broken",`+
		`"agency_name":"a","cloudtable_cluster_name":"c","cloudtable_cluster_id":"i","cloudtable_table_name":"t",`+
		`"cloudtable_schema":{"row_key":[{"value":"v","type":"String"}],"columns":[{"column_family_name":"f","column_name":"c","value":"v","type":"Bigint"}]}}}`, 201)
	do("POST", "/v2/p1/streams/s/transfer-tasks", `{"destination_type":"DWS","dws_destination_descriptor":{"task_name":"dws","agency_name":"a",`+
		`"dws_cluster_name":"c","dws_cluster_id":"i","dws_database_name":"d","dws_schema":"s","dws_table_name":"t","dws_delimiter":"|",`+
		`"user_name":"u","user_password":"p","kms_user_key_name":"k","kms_user_key_id":"ki","obs_bucket_path":"b","options":{"reject_limit":"unlimited"}}}`, 201)
	now = now.Add(time.Minute)
	e.mu.Lock()
	dwsID := e.dis.Streams[0].Tasks[2].ID
	e.mu.Unlock()
	do("POST", "/v2/p1/streams/s/transfer-tasks/action", `{"action":"stop","tasks":[{"id":"`+dwsID+`"}]}`, 200)
	now = now.Add(time.Minute)

	e.mu.Lock()
	raw, err := json.Marshal(e.dis)
	e.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var back disState
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, again) {
		t.Fatalf("state changed in a round trip:\n%s\n%s", raw, again)
	}
	if len(back.Streams) != 3 || len(back.Streams[0].Tasks) != 3 || len(back.Apps) != 1 || len(back.Checkpoints) != 1 {
		t.Fatalf("decoded state lacks resources: %s", raw)
	}

	e2 := New(Options{JobDuration: 10 * time.Second, Now: clock, AcceptAnyToken: true})
	e2.dis = back
	same := func(name string, a, b any) {
		t.Helper()
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s differs after the round trip:\n%s\n%s", name, ja, jb)
		}
	}
	same("DISStreams", e.DISStreams(), e2.DISStreams())
	same("DISDumpTasks", e.DISDumpTasks(), e2.DISDumpTasks())
	same("DISRecords", e.DISRecords("p1", "s"), e2.DISRecords("p1", "s"))
	same("DISApps", e.DISApps(), e2.DISApps())
	same("DISCheckpoints", e.DISCheckpoints(), e2.DISCheckpoints())
	same("DISCounts", e.DISCounts(), e2.DISCounts())
	for _, path := range []string{
		"/v2/p1/streams", "/v2/p1/streams/s", "/v2/p1/streams/creating2", "/v2/p1/streams/s/transfer-tasks",
		"/v2/p1/streams/s/transfer-tasks/obs", "/v2/p1/streams/s/transfer-tasks/broken", "/v2/p1/streams/s/transfer-tasks/dws",
		"/v2/p1/apps", "/v2/p1/apps/a/streams/s?checkpoint_type=LAST_READ",
		"/v2/p1/checkpoints?stream_name=s&app_name=a&checkpoint_type=LAST_READ&partition_id=1",
	} {
		a, b := serve(e, "GET", path, ""), serve(e2, "GET", path, "")
		if a.Code != http.StatusOK || b.Code != a.Code || a.Body.String() != b.Body.String() {
			t.Errorf("GET %s: %d %s\nafter the round trip: %d %s", path, a.Code, a.Body, b.Code, b.Body)
		}
	}

	// The decoded state keeps working: records continue their sequence.
	if rec := serve(e2, "POST", "/v2/p1/records", `{"stream_name":"s","records":[{"data":"Yw==","partition_id":"1"}]}`); !strings.Contains(rec.Body.String(), `"sequence_number":"1"`) {
		t.Errorf("upload after the round trip: %s", rec.Body)
	}
	tasks := e2.DISDumpTasks()
	if tasks[1].State != "ERROR" || tasks[1].Message != "agency missing" || tasks[2].State != "PAUSED" || tasks[0].State != "RUNNING" {
		t.Errorf("tasks after the round trip = %+v", tasks)
	}
}
