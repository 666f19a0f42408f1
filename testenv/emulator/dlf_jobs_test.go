package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// newDLFEnv serves a fresh emulator's DLF handler, with newEnv's options
// (any token, no rate limits).
func newDLFEnv(t *testing.T, jobDuration time.Duration) *env {
	t.Helper()
	clock := &fakeClock{t: t0}
	emu := emulator.New(testOptions(clock, jobDuration))
	srv := httptest.NewServer(emu.Handler(emulator.DLF))
	t.Cleanup(srv.Close)
	return &env{t: t, emu: emu, srv: srv, clock: clock}
}

// dlfNoContent sends a request that must answer 204 with no body.
func (e *env) dlfNoContent(method, path, body string, headers ...string) {
	e.t.Helper()
	if headers != nil {
		headers = append(headers, "X-Auth-Token", "t")
	}
	r := e.do(method, path, body, headers...)
	if r.status != http.StatusNoContent || r.raw != "" {
		e.t.Fatalf("%s %s: status %d, body %q; want 204 and no body", method, path, r.status, r.raw)
	}
}

// dlfOK sends a request that must answer 200.
func (e *env) dlfOK(method, path, body string, headers ...string) response {
	e.t.Helper()
	if headers != nil {
		headers = append(headers, "X-Auth-Token", "t")
	}
	r := e.do(method, path, body, headers...)
	if r.status != http.StatusOK {
		e.t.Fatalf("%s %s: status %d: %s", method, path, r.status, r.raw)
	}
	return r
}

func wantDLFError(t *testing.T, r response, code, msgContains string) {
	t.Helper()
	wantError(t, r, http.StatusBadRequest, code, msgContains)
	if len(r.body) != 2 {
		t.Errorf("error body %s has fields beyond error_code and error_msg", r.raw)
	}
}

// dlfBatchJob is the digest's minimal batch job (assembled from the
// tables): a CDM node feeding a DLI SQL node, run once.
func dlfBatchJob(name string) string {
	return `{
  "name": "` + name + `",
  "jobType": "BATCH",
  "schedule": { "type": "EXECUTE_ONCE" },
  "params": [ { "name": "bizdate", "value": "2024-01-01" } ],
  "nodes": [
    { "name": "copy_orders", "type": "CDMJob", "location": { "x": 100, "y": 100 },
      "properties": [ { "name": "clusterName", "value": "cdm-ab82" },
                      { "name": "jobName", "value": "mysql2dws" } ],
      "pollingInterval": 20, "maxExecutionTime": 120, "retryTimes": 1, "retryInterval": 60,
      "failPolicy": "EXIT" },
    { "name": "aggregate", "type": "DLISQL", "location": { "x": 300, "y": 100 },
      "preNodeName": [ "copy_orders" ],
      "properties": [ { "name": "scriptName", "value": "agg_orders" },
                      { "name": "database", "value": "dw" } ] }
  ]
}`
}

// dlfSampleJob is the real-time job of "Creating a Job" (DAYU @11744–11897)
// reassembled: the seed splits it over three page fragments, the first of
// which closes the object early, and two fragments end arrays with a
// trailing comma. Keys, values and order are the seed's.
const dlfSampleJob = `{
    "logPath": "obs://dlf-log-b384b9e9ab9b4ee8994c8633aabc9505",
    "name": "myJob",
    "nodes": [
        {
            "failPolicy": "FAIL",
            "location": {
                "x": "385.0",
                "y": "150.0"
            },
            "maxExecutionTime": 60,
            "name": "DIS_INPUT",
            "pollingInterval": 1,
            "preNodeName": [],
            "properties": [
                {
                    "name": "streamName",
                    "value": "csinput"
                }
            ],
            "resources": [],
            "retryInterval": 120,
            "retryTimes": 0,
            "type": "DISStream"
        },
        {
            "failPolicy": "FAIL",
            "location": {
                "x": "572.0",
                "y": "151.0"
            },
            "maxExecutionTime": 60,
            "name": "CS_PROCESS",
            "pollingInterval": 10,
            "preNodeName": [
                "DIS_INPUT"
            ],
            "properties": [
                {
                    "name": "scriptName",
                    "value": "CS_PROCESS_TRIP"
                },
                {
                    "name": "jobName",
                    "value": "CS_PROCESS"
                },
{  
    "name":"jobType",  
    "value":"flink_sql_job"  
},  
{  
    "name":"spuNumber",  
    "value":"2"  
},  
{  
    "name":"parallelNumber",  
    "value":"1"  
}  
],  
"resources":[],  
"retryInterval":120,  
"retryTimes":0,  
"type":"CSJob"  
},  
{  
    "failPolicy":"FAIL",  
    "location":{  
        "x":"718.0",  
        "y":"121.0"  
    },  
    "maxExecutionTime":60,  
    "name":"DIS_EVENT",  
    "pollingInterval":1,  
    "preNodeName": [  
        "CS_PROCESS"  
    ],  
    "properties": [  
        {  
            "name":"streamName",  
            "value":"dis-event"  
        }  
    ],  
    "resources":[],  
    "retryInterval":120,  
    "retryTimes":0,  
    "type":"DISStream"  
},  
{  
    "eventTrigger":{  
        "channel":"dis-event",  
        "concurrent":1,  
        "eventType":"DIS",  
        "readPolicy":"LAST"  
    },  
    "failPolicy":"FAIL",  
    "location":{  
        "x":"848.0",  
        "y":"167.0"  
    },  
    "maxExecutionTime":60,  
    "name":"TRIP_RAW_STANDARD",  
    "pollingInterval":10,  
    "preNodeName": [  
        "DIS_EVENT"  
    ],  
    "properties": [  
        {  
            "name":"scriptName",  
            "value":"TRIP_RAW_STANDARD"  
        },  
        {  
            "name":"database",  
            "value":"lixinlong"  
        },  
        {  
            "name":"table",  
            "value":"trip_raw"  
        },
        {
        "name":"queueName",
        "value":"default"
    }
],
"resources":[],
"retryInterval":120,
"retryTimes":0,
"type":"DLISQL"
}
],
"params":[
{
    "name":"dis_channel",
    "value":"dis_input"
}
],
"processType":"REAL_TIME",
"resources":[],
"schedule":{
    "type":"EXECUTE_ONCE"
},
"version":"1.0"
}`

// dlfSampleJobFirstFragment is the seed's first fragment of that sample
// (@11745–11794), which parses on its own but lacks jobType/processType
// and schedule, both mandatory.
const dlfSampleJobFirstFragment = `{
    "logPath": "obs://dlf-log-b384b9e9ab9b4ee8994c8633aabc9505",
    "name": "myJob",
    "nodes": [
        {
            "failPolicy": "FAIL",
            "location": {
                "x": "385.0",
                "y": "150.0"
            },
            "maxExecutionTime": 60,
            "name": "DIS_INPUT",
            "pollingInterval": 1,
            "preNodeName": [],
            "properties": [
                {
                    "name": "streamName",
                    "value": "csinput"
                }
            ],
            "resources": [],
            "retryInterval": 120,
            "retryTimes": 0,
            "type": "DISStream"
        },
        {
            "failPolicy": "FAIL",
            "location": {
                "x": "572.0",
                "y": "151.0"
            },
            "maxExecutionTime": 60,
            "name": "CS_PROCESS",
            "pollingInterval": 10,
            "preNodeName": [
                "DIS_INPUT"
            ],
            "properties": [
                {
                    "name": "scriptName",
                    "value": "CS_PROCESS_TRIP"
                },
                {
                    "name": "jobName",
                    "value": "CS_PROCESS"
                }
            ]
        }
    ]
}`

// dlfSampleEdit is the "Editing a Job" sample (@11942–12089), reassembled
// the same way; its job-level resources is {} where the others send [].
const dlfSampleEdit = `{
    "logPath": "obs://dlf-log-b384b9e9ab9b4ee8994c8633aabc9505",
    "name": "dliJob1",
    "nodes": [
        {
            "failPolicy": "FAIL",
            "location": {
                "x": "385.0",
                "y": "150.0"
            },
            "maxExecutionTime": 60,
            "name": "DIS_INPUT",
            "pollingInterval": 1,
            "preNodeName": [],
            "properties": [
                {
                    "name": "streamName",
                    "value": "csinput"
                }
            ],
            "resources": [],
            "retryInterval": 120,
            "retryTimes": 0,
            "type": "DISStream"
        },
        {
            "failPolicy": "FAIL",
            "location": {
                "x": "572.0",
                "y": "151.0"
            },
            "maxExecutionTime": 60,
            "name": "CS_PROCESS",
            "pollingInterval": 10,
            "preNodeName": [
                "DIS_INPUT"
            ],
            "properties": [
                {
                    "name": "scriptName",
                    "value": "CS_PROCESS_TRIP"
                },
                {
                    "name": "jobName",
                    "value": "CS_PROCESS"
                },
                {
                    "name": "jobType",
                    "value": "flink_sql_job"
                },
                {
                    "name": "spuNumber",
                    "value": "2"
                },
                {
                    "name": "parallelNumber",
                    "value": "1"
                }
        ],
        "resources":[],
        "retryInterval":120,
        "retryTimes":0,
        "type":"CSJob"
    },
{
    "failPolicy":"FAIL",
    "location":{
        "x":"718.0",
        "y":"121.0"
    },
    "maxExecutionTime":60,
    "name":"DIS_EVENT",
    "pollingInterval":1,
    "preNodeName":[
        "CS_PROCESS"
    ],
    "properties":[
        {
            "name":"streamName",
            "value":"dis-event"
        }
    ],
    "resources":[],
    "retryInterval":120,
    "retryTimes":0,
    "type":"DISStream"
},
{
    "eventTrigger":{
        "channel":"dis-event",
        "concurrent":1,
        "eventType":"DIS",
        "readPolicy":"LAST"
    },
    "failPolicy":"FAIL",
    "location":{
        "x":"848.0",
        "y":"167.0"
    },
    "maxExecutionTime":60,
    "name":"TRIP_RAW_STANDARD",
    "pollingInterval":10,
    "preNodeName":[
        "DIS_EVENT"
    ],
    "properties":[
        {
            "name":"scriptName",
            "value":"TRIP_RAW_STANDARD"
        },
        {
            "name":"database",
            "value":"lixinlong"
        },
        {
            "name":"queueName",
            "value":"default"
        }
    ],
    "resources":[],
    "retryInterval":120,
    "retryTimes":0,
    "type":"DLISQL"
}
],
"params":[
{
        "name":"dis_channel",
        "value":"dis_input"
    }
],
"processType":"REAL_TIME",
"resources":{},
"schedule":{
    "type":"EXECUTE_ONCE"
},
"version":"1.0"
}`

func TestDLFCreateJobSamples(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfSampleJob)
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfBatchJob("ingest_daily"))
	wantDLFError(t, e.do("POST", "/v1/p1/jobs", dlfSampleJobFirstFragment), "DLF.0802", "jobType")

	r := e.dlfOK("GET", "/v1/p1/jobs/myJob", "")
	b := r.body
	if b["name"] != "myJob" || b["jobType"] != "REAL_TIME" || b["processType"] != "REAL_TIME" || b["version"] != "1.0" ||
		b["logPath"] != "obs://dlf-log-b384b9e9ab9b4ee8994c8633aabc9505" {
		t.Errorf("detail = %s", r.raw)
	}
	if fmt.Sprint(b["schedule"]) != "map[type:EXECUTE_ONCE]" || fmt.Sprint(b["params"]) != "[map[name:dis_channel value:dis_input]]" ||
		fmt.Sprint(b["resources"]) != "[]" {
		t.Errorf("schedule/params/resources = %v / %v / %v", b["schedule"], b["params"], b["resources"])
	}
	nodes := b["nodes"].([]any)
	if len(nodes) != 4 {
		t.Fatalf("nodes = %v", nodes)
	}
	first := nodes[0].(map[string]any)
	if fmt.Sprint(first["location"]) != "map[x:385.0 y:150.0]" || first["type"] != "DISStream" || first["failPolicy"] != "FAIL" ||
		first["pollingInterval"] != 1.0 || first["maxExecutionTime"] != 60.0 || first["retryTimes"] != 0.0 ||
		first["retryInterval"] != 120.0 || fmt.Sprint(first["preNodeName"]) != "[]" {
		t.Errorf("first node = %v", first)
	}
	last := nodes[3].(map[string]any)
	if fmt.Sprint(last["eventTrigger"]) != "map[channel:dis-event concurrent:1 eventType:DIS readPolicy:LAST]" ||
		len(last["properties"].([]any)) != 4 {
		t.Errorf("last node = %v", last)
	}

	// Defaults the tables document are filled in; basicConfig as the J4 sample shows it.
	r = e.dlfOK("GET", "/v1/p1/jobs/ingest_daily", "")
	agg := r.body["nodes"].([]any)[1].(map[string]any)
	if agg["pollingInterval"] != 10.0 || agg["maxExecutionTime"] != 60.0 || agg["retryTimes"] != 0.0 ||
		agg["retryInterval"] != 120.0 || agg["failPolicy"] != "FAIL" || r.body["logPath"] != "obs://dlf-log-p1" ||
		fmt.Sprint(r.body["basicConfig"]) != "map[instanceTimeout:60 priority:0]" ||
		r.body["jobType"] != "BATCH" || r.body["processType"] != "BATCH" {
		t.Errorf("batch detail = %s", r.raw)
	}

	// The edit sample replaces an existing job's definition.
	e.dlfNoContent("POST", "/v1/p1/jobs", strings.Replace(dlfSampleJob, `"myJob"`, `"dliJob1"`, 1))
	e.dlfNoContent("PUT", "/v1/p1/jobs/dliJob1", dlfSampleEdit)
	r = e.dlfOK("GET", "/v1/p1/jobs/dliJob1", "")
	if fmt.Sprint(r.body["resources"]) != "map[]" || len(r.body["nodes"].([]any)[3].(map[string]any)["properties"].([]any)) != 3 {
		t.Errorf("edited detail = %s", r.raw)
	}

	jobs := e.emu.DLFJobs()
	if len(jobs) != 3 {
		t.Fatalf("DLFJobs() = %+v", jobs)
	}
	if j := jobs[0]; j.Name != "myJob" || j.JobType != "REAL_TIME" || j.ScheduleType != "EXECUTE_ONCE" || j.Status != "STOPPED" ||
		fmt.Sprint(j.Nodes) != "[DIS_INPUT CS_PROCESS DIS_EVENT TRIP_RAW_STANDARD]" || j.ProjectID != "p1" || j.Workspace != "" ||
		!j.CreatedAt.Equal(t0) {
		t.Errorf("DLFJob = %+v", j)
	}
}

func TestDLFNodeTypeSpellings(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	for i, typ := range []string{"Hive SQL", "HiveSQL", "hive sql", "DLI SQL", "DLISQL", "DWS SQL", "Spark SQL", "RDSSQL", "Dummy", "CSJob"} {
		body := fmt.Sprintf(`{"name":"j%d","jobType":"BATCH","schedule":{"type":"EXECUTE_ONCE"},
			"nodes":[{"name":"n","type":%q,"location":{"x":1,"y":2},"properties":[{"name":"scriptName","value":"s"}]}]}`, i, typ)
		e.dlfNoContent("POST", "/v1/p1/jobs", body)
		r := e.dlfOK("GET", fmt.Sprintf("/v1/p1/jobs/j%d", i), "")
		if got := r.body["nodes"].([]any)[0].(map[string]any)["type"]; got != typ {
			t.Errorf("type echoed as %v, want %q as sent", got, typ)
		}
	}
}

func TestDLFCreateJobValidation(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	base := dlfBatchJob("job1")
	replace := func(old, new string) string {
		t.Helper()
		if !strings.Contains(base, old) {
			t.Fatalf("base job lacks %q", old)
		}
		return strings.Replace(base, old, new, 1)
	}
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfBatchJob("existing"))
	for _, tc := range []struct{ name, body, code, msg string }{
		{"empty body", "", "DLF.3051", "empty"},
		{"not JSON", "{", "DLF.3051", "The request parameter is invalid"},
		{"blank name", replace(`"job1"`, `" "`), "DLF.3004", "cannot be left blank"},
		{"bad name", replace(`"job1"`, `"job 1"`), "DLF.3018", "The job name is invalid"},
		{"long name", replace(`"job1"`, `"`+strings.Repeat("j", 129)+`"`), "DLF.3018", "invalid"},
		{"duplicate", dlfBatchJob("existing"), "DLF.0102", "The job name already exists."},
		{"no job type", replace(`"jobType": "BATCH",`, ""), "DLF.0802", "jobType"},
		{"bad job type", replace(`"BATCH"`, `"STREAM"`), "DLF.3051", "jobType"},
		{"types differ", replace(`"jobType": "BATCH",`, `"jobType": "BATCH", "processType": "REAL_TIME",`), "DLF.3051", "differ"},
		{"no nodes", replace(`"nodes": [`, `"nodes": [], "x": [`), "DLF.1006", "The job node is empty."},
		{"no schedule", replace(`"schedule": { "type": "EXECUTE_ONCE" },`, ""), "DLF.3025", "schedule is mandatory"},
		{"bad schedule type", replace(`"EXECUTE_ONCE"`, `"ONCE"`), "DLF.3025", "schedule.type"},
		{"cron without cron", replace(`"EXECUTE_ONCE"`, `"CRON"`), "DLF.3025", "schedule.cron is mandatory"},
		{"cron bad start", replace(`{ "type": "EXECUTE_ONCE" }`, `{"type":"CRON","cron":{"startTime":"2024-01-01 02:00","expression":"0 0 2 * * ?"}}`), "DLF.3025", "startTime"},
		{"cron seconds", replace(`{ "type": "EXECUTE_ONCE" }`, `{"type":"CRON","cron":{"startTime":"2024-01-01T02:00:00+08","expression":"5 0 2 * * ?"}}`), "DLF.3025", "expression"},
		{"cron end before start", replace(`{ "type": "EXECUTE_ONCE" }`, `{"type":"CRON","cron":{"startTime":"2024-01-01T02:00:00+08","endTime":"2023-01-01T02:00:00+08","expression":"0 0 2 * * ?"}}`), "DLF.3025", "endTime"},
		{"cron unknown dependency", replace(`{ "type": "EXECUTE_ONCE" }`, `{"type":"CRON","cron":{"startTime":"2024-01-01T02:00:00+08","expression":"0 0 2 * * ?","dependJobs":{"jobs":["nope"]}}}`), "DLF.3051", `"nope"`},
		{"node cron unknown dependency", replace(`"failPolicy": "EXIT" }`, `"failPolicy": "EXIT", "cronTrigger": {"startTime":"2024-01-01T02:00:00+08","expression":"0 0 * * * ?","dependJobs":{"jobs":["ghost"]}} }`), "DLF.3051", `"ghost"`},
		{"event not DIS", replace(`{ "type": "EXECUTE_ONCE" }`, `{"type":"EVENT","event":{"eventType":"KAFKA","channel":"s"}}`), "DLF.3025", "eventType"},
		{"event without channel", replace(`{ "type": "EXECUTE_ONCE" }`, `{"type":"EVENT","event":{"eventType":"DIS"}}`), "DLF.0802", "channel"},
		{"event concurrency", replace(`{ "type": "EXECUTE_ONCE" }`, `{"type":"EVENT","event":{"eventType":"DIS","channel":"s","concurrent":129}}`), "DLF.3051", "concurrent"},
		{"unknown node type", replace(`"CDMJob"`, `"Airflow"`), "DLF.3051", "unknown type"},
		{"missing property", replace(`{ "name": "jobName", "value": "mysql2dws" }`, `{ "name": "other", "value": "x" }`), "DLF.0802", "properties.jobName"},
		{"no location", replace(`"location": { "x": 100, "y": 100 },`, ""), "DLF.0802", "location"},
		{"location not a number", replace(`"x": 100`, `"x": "left"`), "DLF.3051", "not a number"},
		{"polling 0", replace(`"pollingInterval": 20`, `"pollingInterval": 0`), "DLF.3051", "pollingInterval"},
		{"max time 4", replace(`"maxExecutionTime": 120`, `"maxExecutionTime": 4`), "DLF.3051", "maxExecutionTime"},
		{"retries 6", replace(`"retryTimes": 1`, `"retryTimes": 6`), "DLF.3051", "retryTimes"},
		{"bad fail policy", replace(`"EXIT"`, `"STOP"`), "DLF.3051", "failPolicy"},
		{"unknown upstream", replace(`[ "copy_orders" ]`, `[ "extract" ]`), "DLF.3051", `unknown node "extract"`},
		{"cycle", replace(`"failPolicy": "EXIT" }`, `"failPolicy": "EXIT", "preNodeName": ["aggregate"] }`), "DLF.3051", "cycle"},
		{"duplicate node", replace(`"name": "aggregate"`, `"name": "copy_orders"`), "DLF.3051", "used twice"},
		{"bad param name", replace(`"bizdate"`, `"biz date"`), "DLF.3051", "param name"},
		{"bad param type", replace(`"value": "2024-01-01" }`, `"value": "2024-01-01", "type": "const" }`), "DLF.3051", "params[].type"},
		{"priority 3", replace(`"jobType": "BATCH",`, `"jobType": "BATCH", "basicConfig": {"priority": 3},`), "DLF.3051", "priority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantDLFError(t, e.do("POST", "/v1/p1/jobs", tc.body), tc.code, tc.msg)
		})
	}
	if n := len(e.emu.DLFJobs()); n != 1 {
		t.Errorf("rejected creates made jobs: %d, want 1", n)
	}

	// A REST node with a method outside the enum.
	rest := `{"name":"rest","jobType":"BATCH","schedule":{"type":"EXECUTE_ONCE"},"nodes":[{"name":"call","type":"RESTAPI",
		"location":{"x":1,"y":1},"properties":[{"name":"url","value":"http://x"},{"name":"method","value":"PATCH"}]}]}`
	wantDLFError(t, e.do("POST", "/v1/p1/jobs", rest), "DLF.3051", "properties.method")
	// A valid CRON job depending on an existing job, and EVENT with engineType.
	e.dlfNoContent("POST", "/v1/p1/jobs", replace(`{ "type": "EXECUTE_ONCE" }`,
		`{"type":"CRON","cron":{"startTime":"2024-01-01T02:00:00+08","expression":"0 0 2 * * ?","expressionTimeZone":"GMT+8","dependJobs":{"jobs":["existing"],"dependPeriod":"SAME_PERIOD"}}}`))
	e.dlfNoContent("POST", "/v1/p1/jobs", strings.Replace(replace(`{ "type": "EXECUTE_ONCE" }`,
		`{"type":"EVENT","event":{"engineType":"DIS","channel":"s","failPolicy":"CONTINUE"}}`), `"job1"`, `"job2"`, 1))
}

func TestDLFEditDeleteJob(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfBatchJob("job1"))
	// The body's name may be omitted but not changed, nor the job type.
	e.dlfNoContent("PUT", "/v1/p1/jobs/job1", strings.Replace(dlfBatchJob("job1"), `"name": "job1",`, "", 1))
	wantDLFError(t, e.do("PUT", "/v1/p1/jobs/job1", dlfBatchJob("job2")), "DLF.3051", "cannot be changed")
	wantDLFError(t, e.do("PUT", "/v1/p1/jobs/job1", strings.Replace(dlfBatchJob("job1"), `"BATCH"`, `"REAL_TIME"`, 1)), "DLF.3051", "job type cannot be changed")
	wantDLFError(t, e.do("PUT", "/v1/p1/jobs/job1", strings.Replace(dlfBatchJob("job1"), `"EXIT"`, `"STOP"`, 1)), "DLF.3051", "failPolicy")
	wantDLFError(t, e.do("PUT", "/v1/p1/jobs/nope", dlfBatchJob("nope")), "DLF.0100", "The job does not exists.")
	e.dlfNoContent("PUT", "/v1/p1/jobs/job1", strings.Replace(dlfBatchJob("job1"), `"agg_orders"`, `"agg_v2"`, 1))
	r := e.dlfOK("GET", "/v1/p1/jobs/job1", "")
	if !strings.Contains(r.raw, `"agg_v2"`) {
		t.Errorf("edit not applied: %s", r.raw)
	}

	e.dlfNoContent("DELETE", "/v1/p1/jobs/job1", "")
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/p1/jobs/job1"}, {"DELETE", "/v1/p1/jobs/job1"}, {"POST", "/v1/p1/jobs/job1/run-immediate"},
		{"POST", "/v1/p1/jobs/job1/start"}, {"POST", "/v1/p1/jobs/job1/stop"}, {"GET", "/v1/p1/jobs/job1/status"},
	} {
		wantDLFError(t, e.do(c.method, c.path, ""), "DLF.0100", "The job does not exists.")
	}
	// The name is free again.
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfBatchJob("job1"))
	jobs := e.emu.DLFJobs()
	if len(jobs) != 2 || !jobs[0].Deleted || jobs[1].Deleted {
		t.Errorf("DLFJobs() = %+v", jobs)
	}
}

func TestDLFWorkspaces(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfBatchJob("job1"))
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfBatchJob("job1"), "workspace", "ws2") // same name, other workspace
	wantDLFError(t, e.do("POST", "/v1/p1/jobs", dlfBatchJob("job1"), "workspace", "ws2", "X-Auth-Token", "t"), "DLF.0102", "already exists")
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfBatchJob("only_ws2"), "workspace", "ws2")

	wantDLFError(t, e.do("GET", "/v1/p1/jobs/only_ws2", ""), "DLF.0100", "does not exist")
	wantDLFError(t, e.do("GET", "/v1/p2/jobs/job1", ""), "DLF.0100", "does not exist")
	if r := e.dlfOK("GET", "/v1/p1/jobs", ""); num(t, r.body, "total") != 1 {
		t.Errorf("default workspace list: %s", r.raw)
	}
	if r := e.dlfOK("GET", "/v1/p1/jobs", "", "workspace", "ws2"); num(t, r.body, "total") != 2 {
		t.Errorf("ws2 list: %s", r.raw)
	}
	id := num(t, e.dlfOK("POST", "/v1/p1/jobs/only_ws2/run-immediate", "", "workspace", "ws2").body, "instanceId")
	wantDLFError(t, e.do("GET", fmt.Sprintf("/v1/p1/jobs/only_ws2/instances/%d", id), ""), "DLF.0100", "does not exist")
	if r := e.dlfOK("GET", "/v1/p1/jobs/instances/detail", ""); num(t, r.body, "total") != 0 {
		t.Errorf("default workspace sees ws2's instances: %s", r.raw)
	}
	ws := map[string]int{}
	for _, j := range e.emu.DLFJobs() {
		ws[j.Workspace]++
	}
	if ws[""] != 1 || ws["ws2"] != 2 {
		t.Errorf("jobs per workspace = %v", ws)
	}
	if in := e.emu.DLFInstances(); len(in) != 1 || in[0].Workspace != "ws2" {
		t.Errorf("DLFInstances() = %+v", in)
	}
}

func TestDLFListJobs(t *testing.T) {
	e := newDLFEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: "bad", FailMessage: "boom"})
	for _, name := range []string{"orders_load", "users_load", "bad_load"} {
		e.dlfNoContent("POST", "/v1/p1/jobs", dlfBatchJob(name))
		e.clock.Advance(time.Second)
	}
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfSampleJob) // REAL_TIME
	e.dlfOK("POST", "/v1/p1/jobs/bad_load/run-immediate", "")
	e.clock.Advance(time.Minute)
	e.dlfNoContent("POST", "/v1/p1/jobs/users_load/start", "")
	e.clock.Advance(time.Second)
	e.dlfNoContent("POST", "/v1/p1/jobs/users_load/stop", "")

	list := func(query string) string {
		t.Helper()
		r := e.dlfOK("GET", "/v1/p1/jobs?"+query, "")
		var names []string
		for _, j := range r.body["jobs"].([]any) {
			names = append(names, j.(map[string]any)["name"].(string))
		}
		return fmt.Sprintf("%d %v", num(t, r.body, "total"), names)
	}
	for q, want := range map[string]string{
		"":                         "3 [bad_load users_load orders_load]",
		"jobType=BATCH":            "3 [bad_load users_load orders_load]",
		"jobType=REAL_TIME":        "1 [myJob]",
		"jobName=load&limit=2":     "3 [bad_load users_load]",
		"jobName=load&offset=2":    "3 [orders_load]",
		"jobName=orders":           "1 [orders_load]",
		"jobName=nothing":          "0 []",
		"limit=100&offset=1000000": "3 []",
	} {
		if got := list(q); got != want {
			t.Errorf("?%s: %s, want %s", q, got, want)
		}
	}
	r := e.dlfOK("GET", "/v1/p1/jobs?jobName=load", "")
	byName := map[string]map[string]any{}
	for _, j := range r.body["jobs"].([]any) {
		byName[j.(map[string]any)["name"].(string)] = j.(map[string]any)
	}
	bad := byName["bad_load"]
	if bad["jobType"] != "BATCH" || bad["status"] != "STOPPED" || bad["createUser"] != "emulator" ||
		num(t, bad, "createTime") != t0.Add(2*time.Second).UnixMilli() || bad["lastInstanceStatus"] != "fail" ||
		num(t, bad, "lastInstanceEndTime") != t0.Add(13*time.Second).UnixMilli() || num(t, bad, "startTime") != t0.Add(3*time.Second).UnixMilli() {
		t.Errorf("bad_load = %v", bad)
	}
	users := byName["users_load"]
	// Started then stopped: its run (EXECUTE_ONCE) made one instance.
	if users["status"] != "STOPPED" || num(t, users, "startTime") != t0.Add(63*time.Second).UnixMilli() ||
		num(t, users, "endTime") != t0.Add(64*time.Second).UnixMilli() || users["lastInstanceStatus"] != "waiting" {
		t.Errorf("users_load = %v", users)
	}
	if _, ok := byName["orders_load"]["lastInstanceStatus"]; ok {
		t.Errorf("orders_load never ran but has lastInstanceStatus: %v", byName["orders_load"])
	}
	for _, q := range []string{"jobType=STREAM", "limit=0", "limit=101", "offset=-1", "offset=a"} {
		wantDLFError(t, e.do("GET", "/v1/p1/jobs?"+q, ""), "DLF.3051", "The request parameter is invalid.")
	}
}

func TestDLFStartStopBatch(t *testing.T) {
	e := newDLFEnv(t, 10*time.Second)
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfBatchJob("once"))
	cron := strings.Replace(dlfBatchJob("nightly"), `{ "type": "EXECUTE_ONCE" }`,
		`{"type":"CRON","cron":{"startTime":"2024-01-01T02:00:00+08","expression":"0 0 2 * * ?"}}`, 1)
	e.dlfNoContent("POST", "/v1/p1/jobs", cron)

	// An EXECUTE_ONCE job runs once when started; a CRON job only schedules.
	e.dlfNoContent("POST", "/v1/p1/jobs/once/start", `{"jobParams":[{"name":"bizdate","value":"2024-05-06"}]}`)
	e.dlfNoContent("POST", "/v1/p1/jobs/nightly/start", "")
	wantDLFError(t, e.do("POST", "/v1/p1/jobs/once/start", ""), "DLF.3051", "already started")
	for _, name := range []string{"once", "nightly"} {
		if s := jobStatus(t, e, name); s != "SCHEDULING" {
			t.Errorf("%s after start: %s, want SCHEDULING", name, s)
		}
	}
	ins := e.emu.DLFInstances()
	if len(ins) != 1 || ins[0].JobName != "once" || ins[0].Trigger != "start" || ins[0].Params["bizdate"] != "2024-05-06" {
		t.Fatalf("DLFInstances() = %+v", ins)
	}
	e.clock.Advance(time.Second)
	e.dlfNoContent("POST", "/v1/p1/jobs/once/stop", "")
	e.dlfNoContent("POST", "/v1/p1/jobs/once/stop", "") // stopping a stopped job is accepted
	if s := jobStatus(t, e, "once"); s != "STOPPED" {
		t.Errorf("after stop: %s", s)
	}
	// The instance goes on after the job stops.
	e.clock.Advance(time.Minute)
	if in := e.emu.DLFInstances()[0]; in.Status != "success" {
		t.Errorf("instance after job stop: %+v", in)
	}
	// Started again, it runs again.
	e.dlfNoContent("POST", "/v1/p1/jobs/once/start", "")
	if n := len(e.emu.DLFInstances()); n != 2 {
		t.Errorf("%d instances after the second start, want 2", n)
	}
	for _, j := range e.emu.DLFJobs() {
		want := map[string]string{"once": "2 starts 2 stops 0 runs", "nightly": "1 starts 0 stops 0 runs"}[j.Name]
		if got := fmt.Sprintf("%d starts %d stops %d runs", j.Starts, j.Stops, j.Runs); got != want {
			t.Errorf("%s: %s, want %s", j.Name, got, want)
		}
	}
	wantDLFError(t, e.do("POST", "/v1/p1/jobs/once/start", `{"jobParams":[{"name":"","value":"x"}]}`), "DLF.3051", "jobParams")
	wantDLFError(t, e.do("GET", "/v1/p1/jobs/once/status", ""), "DLF.3051", "not a real-time job")
}

// jobStatus returns a job's status from the job list.
func jobStatus(t *testing.T, e *env, name string) string {
	t.Helper()
	for _, typ := range []string{"BATCH", "REAL_TIME"} {
		r := e.dlfOK("GET", "/v1/p1/jobs?jobType="+typ+"&jobName="+name, "")
		for _, j := range r.body["jobs"].([]any) {
			if j := j.(map[string]any); j["name"] == name {
				return j["status"].(string)
			}
		}
	}
	t.Fatalf("job %s not listed", name)
	return ""
}

func TestDLFRealTimeJob(t *testing.T) {
	e := newDLFEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: "broken", Duration: 5 * time.Second, FailMessage: "stream gone"})
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfSampleJob)
	e.dlfNoContent("POST", "/v1/p1/jobs", strings.Replace(dlfSampleJob, `"myJob"`, `"broken_stream"`, 1))

	r := e.dlfOK("GET", "/v1/p1/jobs/myJob/status", "")
	if r.body["status"] != "STOPPED" || num(t, r.body, "startTime") != 0 {
		t.Errorf("before start: %s", r.raw)
	}
	e.dlfNoContent("POST", "/v1/p1/jobs/myJob/start", "")
	e.dlfNoContent("POST", "/v1/p1/jobs/broken_stream/start", "")
	if s := jobStatus(t, e, "myJob"); s != "STARTING" {
		t.Errorf("just started: %s", s)
	}
	e.clock.Advance(2 * time.Second)
	r = e.dlfOK("GET", "/v1/p1/jobs/myJob/status", "")
	if r.body["name"] != "myJob" || r.body["status"] != "NORMAL" || num(t, r.body, "startTime") != t0.UnixMilli() ||
		num(t, r.body, "lastUpdateTime") != t0.Add(2*time.Second).UnixMilli() {
		t.Errorf("status = %s", r.raw)
	}
	nodes := r.body["nodes"].([]any)
	if len(nodes) != 4 || fmt.Sprint(nodes[3]) != "map[name:TRIP_RAW_STANDARD status:NORMAL type:DLISQL]" {
		t.Errorf("nodes = %v", nodes)
	}
	e.clock.Advance(time.Hour)
	if s := jobStatus(t, e, "myJob"); s != "NORMAL" {
		t.Errorf("an hour later: %s", s)
	}
	if s := jobStatus(t, e, "broken_stream"); s != "EXCEPTION" {
		t.Errorf("failing real-time job: %s", s)
	}
	e.dlfNoContent("POST", "/v1/p1/jobs/myJob/stop", "")
	r = e.dlfOK("GET", "/v1/p1/jobs/myJob/status", "")
	if r.body["status"] != "STOPPED" || num(t, r.body, "endTime") != t0.Add(time.Hour+2*time.Second).UnixMilli() {
		t.Errorf("after stop: %s", r.raw)
	}
	if n := len(e.emu.DLFInstances()); n != 0 {
		t.Errorf("real-time starts made %d instances", n)
	}
}

func TestDLFJobDetailIsJSONObject(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfSampleJob)
	r := e.dlfOK("GET", "/v1/p1/jobs/myJob", "")
	// Re-creating a job from its detail answer works (clients copy jobs so).
	var def map[string]any
	if err := json.Unmarshal([]byte(r.raw), &def); err != nil {
		t.Fatal(err)
	}
	def["name"] = "myJob2"
	body, _ := json.Marshal(def)
	e.dlfNoContent("POST", "/v1/p1/jobs", string(body))
}
