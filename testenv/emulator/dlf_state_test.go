package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// dlfTestServe sends one request to h with a token and returns the answer;
// it fails the test unless the status is 2xx.
func dlfTestServe(t *testing.T, h http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Auth-Token", "t")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	return rec
}

// TestDLFStateRoundTrip checks that a populated DLF state survives a JSON
// round trip and that an emulator given the restored state answers alike.
func TestDLFStateRoundTrip(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	clock := func() time.Time { return now }
	e := New(Options{Now: clock, JobDuration: 10 * time.Second, AcceptAnyToken: true, DisableRateLimits: true})
	e.AddRule(Rule{Service: DLF, Match: "bad", FailMessage: "boom"})
	e.AddRule(Rule{Service: DLF, Match: "stuck", Hang: true})
	h := e.Handler(DLF)
	job := func(name, typ, schedule string) string {
		return `{"name":"` + name + `","processType":"` + typ + `","schedule":` + schedule + `,"logPath":"obs://l","version":"1.0","resources":{},
			"params":[{"name":"p","value":"v","type":"constants"}],"basicConfig":{"owner":"o","priority":1,"customFields":{"k":"v"}},
			"nodes":[{"name":"a","type":"CDM Job","location":{"x":"1.5","y":2},"properties":[{"name":"clusterName","value":"c"},{"name":"jobName","value":"j"}],
			"eventTrigger":{"engineType":"DIS","channel":"s","concurrent":2}},
			{"name":"b","type":"DISTransferTask","location":{"x":3,"y":4},"preNodeName":["a"],"conditions":[{"preNodeName":"a","expression":"#{true}"}],
			"properties":[{"name":"streamName","value":"s"},{"name":"destinationType","value":"OBS"},{"name":"duplicatePolicy","value":"IGNORE"},
			{"name":"configuration","value":{"obs_bucket_path":"b","partition_format":"yyyy"}}]}]}`
	}
	dlfTestServe(t, h, "POST", "/v1/p1/connections", `{"name":"c1","type":"DWS","config":{"ip":"1.2.3.4","port":"8000","userName":"u","password":"p","sslEnable":true,"kmsKey":"k","agentName":"a"}}`)
	dlfTestServe(t, h, "POST", "/v1/p1/scripts", `{"name":"s1","type":"DLISQL","content":"select 1","connectionName":"dli","queueName":"q","configuration":{"a":1}}`)
	dlfTestServe(t, h, "POST", "/v1/p1/scripts/s1/execute", `{"params":{"x":"y"}}`)
	dlfTestServe(t, h, "POST", "/v1/p1/jobs", job("batch1", "BATCH", `{"type":"EXECUTE_ONCE"}`))
	dlfTestServe(t, h, "POST", "/v1/p1/jobs", job("bad_batch", "BATCH", `{"type":"CRON","cron":{"startTime":"2024-01-01T00:00:00+08","expression":"0 0 1 * * ?","dependJobs":{"jobs":["batch1"]}}}`))
	dlfTestServe(t, h, "POST", "/v1/p1/jobs", job("stuck_rt", "REAL_TIME", `{"type":"EVENT","event":{"eventType":"DIS","channel":"s"}}`), "workspace", "ws2")
	dlfTestServe(t, h, "POST", "/v1/p1/jobs", job("gone", "BATCH", `{"type":"EXECUTE_ONCE"}`))
	dlfTestServe(t, h, "DELETE", "/v1/p1/jobs/gone", "")
	dlfTestServe(t, h, "POST", "/v1/p1/jobs/batch1/run-immediate", `{"jobParams":[{"name":"d","value":"1"}]}`)
	dlfTestServe(t, h, "POST", "/v1/p1/jobs/bad_batch/run-immediate", "")
	dlfTestServe(t, h, "POST", "/v1/p1/jobs/bad_batch/start", "")
	dlfTestServe(t, h, "POST", "/v1/p1/jobs/stuck_rt/start", "", "workspace", "ws2")
	now = now.Add(3 * time.Second)
	dlfTestServe(t, h, "POST", "/v1/p1/jobs/batch1/instances/10001/stop", "")
	now = now.Add(time.Minute)
	dlfTestServe(t, h, "POST", "/v1/p1/jobs/batch1/instances/10001/restart", "")

	data, err := json.Marshal(&e.dlf)
	if err != nil {
		t.Fatal(err)
	}
	var restored dlfState
	if err := json.Unmarshal(data, &restored); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&restored)
	if !bytes.Equal(data, again) {
		t.Errorf("round trip changed the state:\n%s\n%s", data, again)
	}
	if len(restored.Jobs) != 4 || len(restored.Instances) != 2 || len(restored.ScriptRuns) != 1 || len(restored.Connections) != 1 ||
		restored.LastInstanceID != 10002 || !restored.Jobs[3].Deleted {
		t.Errorf("restored state = %+v", restored)
	}

	e2 := New(Options{Now: clock, JobDuration: 10 * time.Second, AcceptAnyToken: true, DisableRateLimits: true})
	e2.dlf = restored
	for _, at := range []time.Duration{0, 5 * time.Second, time.Hour} {
		now = now.Add(at)
		if a, b := e.DLFJobs(), e2.DLFJobs(); !reflect.DeepEqual(a, b) {
			t.Errorf("DLFJobs differ:\n%+v\n%+v", a, b)
		}
		if a, b := e.DLFInstances(), e2.DLFInstances(); !reflect.DeepEqual(a, b) {
			t.Errorf("DLFInstances differ:\n%+v\n%+v", a, b)
		}
		if a, b := e.DLFScriptRuns(), e2.DLFScriptRuns(); !reflect.DeepEqual(a, b) {
			t.Errorf("DLFScriptRuns differ:\n%+v\n%+v", a, b)
		}
		for _, p := range []string{"/v1/p1/jobs/batch1", "/v1/p1/jobs/batch1/instances/10001", "/v1/p1/jobs/instances/detail",
			"/v1/p1/jobs?jobName=b", "/v1/p1/scripts", "/v1/p1/connections"} {
			a, b := dlfTestServe(t, h, "GET", p, "").Body.String(), dlfTestServe(t, e2.Handler(DLF), "GET", p, "").Body.String()
			if a != b {
				t.Errorf("GET %s differs:\n%s\n%s", p, a, b)
			}
		}
	}
}
