package emulator_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

func TestDLFScriptSamples(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	// "Creating a Script" and "Modifying a Script" samples.
	e.dlfNoContent("POST", "/v1/p1/scripts", `{
 "name":"echoTimeShell",
 "type":"Shell",
 "content":"echo a",
 "connectionName":"con"
}`)
	r := e.dlfOK("GET", "/v1/p1/scripts/echoTimeShell", "")
	if r.raw != `{"name":"echoTimeShell","type":"Shell","content":"echo a","connectionName":"con"}`+"\n" {
		t.Errorf("query = %s", r.raw)
	}
	e.dlfNoContent("PUT", "/v1/p1/scripts/echoTimeShell", `{
  "content": "echo time",
  "connectionName": "con"
}`)
	r = e.dlfOK("GET", "/v1/p1/scripts", "")
	if num(t, r.body, "total") != 1 || fmt.Sprint(r.body["scripts"]) != "[map[connectionName:con content:echo time name:echoTimeShell type:Shell]]" {
		t.Errorf("list = %s", r.raw)
	}

	// Executable script, with the "Executing a Script" sample body. The
	// sample's name has an underscore, which the naming rule omits.
	e.dlfNoContent("POST", "/v1/p1/scripts", `{"name":"dws_sql","type":"DWSSQL","content":"select * from ${tableVar}",
		"connectionName":"dws_conn","database":"postgres","description":"daily"}`)
	r = e.dlfOK("POST", "/v1/p1/scripts/dws_sql/execute", `{
  "params": {"tableVar": "citys",
  "time": "2019-07-25"}
}`)
	id, _ := r.body["instanceId"].(string)
	if !uuidRE.MatchString(id) || len(r.body) != 1 {
		t.Fatalf("execute answer = %s", r.raw)
	}
	runs := e.emu.DLFScriptRuns()
	if len(runs) != 1 || runs[0].ID != id || runs[0].Script != "dws_sql" || fmt.Sprint(runs[0].Params) != "map[tableVar:citys time:2019-07-25]" ||
		runs[0].Status != "LAUNCHING" || !runs[0].StartedAt.Equal(t0) {
		t.Errorf("DLFScriptRuns() = %+v", runs)
	}
}

func TestDLFScriptExecution(t *testing.T) {
	e := newDLFEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: "broken", Duration: 4 * time.Second, FailMessage: "relation citys does not exist"})
	e.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: "slow", Hang: true})
	for _, name := range []string{"ok_sql", "broken_sql", "slow_sql"} {
		e.dlfNoContent("POST", "/v1/p1/scripts", fmt.Sprintf(`{"name":%q,"type":"DLISQL","content":"select 1","connectionName":"dli",
			"queueName":"default","configuration":{"spark.sql.shuffle.partitions":"200"}}`, name))
	}
	exec := func(name string) string {
		t.Helper()
		return e.dlfOK("POST", "/v1/p1/scripts/"+name+"/execute", "").body["instanceId"].(string)
	}
	result := func(name, id string) response {
		t.Helper()
		return e.dlfOK("GET", "/v1/p1/scripts/"+name+"/instances/"+id, "")
	}
	ok, broken, slow := exec("ok_sql"), exec("broken_sql"), exec("slow_sql")
	for _, step := range []struct {
		at     time.Duration
		status string
	}{{0, "LAUNCHING"}, {1999 * time.Millisecond, "LAUNCHING"}, {2 * time.Second, "RUNNING"}, {9999 * time.Millisecond, "RUNNING"}, {10 * time.Second, "FINISHED"}} {
		e.clock.Set(t0.Add(step.at))
		r := result("ok_sql", ok)
		if r.body["status"] != step.status {
			t.Errorf("at %v: %s, want %s", step.at, r.body["status"], step.status)
		}
		if step.status != "FINISHED" && fmt.Sprint(r.body["results"]) != "[]" {
			t.Errorf("at %v: results %v before the end", step.at, r.body["results"])
		}
	}
	r := result("ok_sql", ok)
	if fmt.Sprint(r.body["results"]) != "[map[duration:10 message: rowCount:0 rows:[] schema:[]]]" {
		t.Errorf("finished = %s", r.raw)
	}
	r = result("broken_sql", broken)
	if r.body["status"] != "FAILED" || fmt.Sprint(r.body["results"]) != "[map[duration:4 message:relation citys does not exist rowCount:0 rows:[] schema:[]]]" {
		t.Errorf("failed = %s", r.raw)
	}
	e.clock.Advance(time.Hour)
	if s := result("slow_sql", slow).body["status"]; s != "RUNNING" {
		t.Errorf("hanging: %s", s)
	}
	e.dlfNoContent("POST", "/v1/p1/scripts/slow_sql/instances/"+slow+"/stop", "")
	e.dlfNoContent("POST", "/v1/p1/scripts/ok_sql/instances/"+ok+"/stop", "") // finished: nothing to stop
	r = result("slow_sql", slow)
	if r.body["status"] != "FAILED" || !strings.Contains(r.raw, "The script instance was stopped.") {
		t.Errorf("stopped = %s", r.raw)
	}
	if s := result("ok_sql", ok).body["status"]; s != "FINISHED" {
		t.Errorf("stop after finishing changed the status to %s", s)
	}
	got := map[string]string{}
	for _, run := range e.emu.DLFScriptRuns() {
		got[run.Script] = fmt.Sprintf("%s %q stopped=%v", run.Status, run.Message, run.Stopped)
	}
	for name, want := range map[string]string{
		"ok_sql": `FINISHED "" stopped=false`, "broken_sql": `FAILED "relation citys does not exist" stopped=false`,
		"slow_sql": `FAILED "The script instance was stopped." stopped=true`,
	} {
		if got[name] != want {
			t.Errorf("%s: %s, want %s", name, got[name], want)
		}
	}
	// DLI SQL keeps queueName and configuration.
	q := e.dlfOK("GET", "/v1/p1/scripts/ok_sql", "")
	if q.body["queueName"] != "default" || fmt.Sprint(q.body["configuration"]) != "map[spark.sql.shuffle.partitions:200]" {
		t.Errorf("DLI SQL script = %s", q.raw)
	}
}

func TestDLFScriptErrors(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	e.dlfNoContent("POST", "/v1/p1/scripts", `{"name":"s1","type":"Shell","content":"echo a","connectionName":"con"}`)
	e.dlfNoContent("POST", "/v1/p1/scripts", `{"name":"q1","type":"HiveSQL","content":"select 1","connectionName":"hive"}`)
	for _, tc := range []struct{ name, body, code, msg string }{
		{"duplicate", `{"name":"s1","type":"Shell","content":"echo b","connectionName":"con"}`, "DLF.0202", "The script name has been used by another script."},
		{"no type", `{"name":"s2","content":"echo"}`, "DLF.6247", "The script type is not specified."},
		{"bad type", `{"name":"s2","type":"Python","content":"print()"}`, "DLF.3051", "script type"},
		{"no name", `{"type":"Shell","content":"echo"}`, "DLF.0802", "name"},
		{"bad name", `{"name":"s 2","type":"FlinkSQL","content":"x"}`, "DLF.3051", "script name"},
		{"no content", `{"name":"s2","type":"FlinkSQL"}`, "DLF.0802", "content"},
		{"no connection", `{"name":"s2","type":"DWSSQL","content":"select 1"}`, "DLF.0802", "connectionName"},
		{"huge content", `{"name":"s2","type":"FlinkSQL","content":"` + strings.Repeat("x", 64<<10+1) + `"}`, "DLF.3051", "64 KB"},
		{"not JSON", `{"name":`, "DLF.3051", "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantDLFError(t, e.do("POST", "/v1/p1/scripts", tc.body), tc.code, tc.msg)
		})
	}
	// FlinkSQL needs no connection; type matching ignores case.
	e.dlfNoContent("POST", "/v1/p1/scripts", `{"name":"f1","type":"flinksql","content":"insert into x select 1"}`)
	if typ := e.dlfOK("GET", "/v1/p1/scripts/f1", "").body["type"]; typ != "FlinkSQL" {
		t.Errorf("type = %v, want FlinkSQL", typ)
	}

	wantDLFError(t, e.do("PUT", "/v1/p1/scripts/s1", `{"type":"DLISQL","content":"x"}`), "DLF.0203", "cannot be changed")
	wantDLFError(t, e.do("PUT", "/v1/p1/scripts/s1", `{"name":"s9","content":"x"}`), "DLF.0203", "cannot be changed")
	wantDLFError(t, e.do("PUT", "/v1/p1/scripts/s1", `{"content":""}`), "DLF.0802", "content")
	wantDLFError(t, e.do("PUT", "/v1/p1/scripts/nope", `{"content":"x"}`), "DLF.6201", "The script does not exist.")
	wantDLFError(t, e.do("POST", "/v1/p1/scripts/s1/execute", ""), "DLF.3051", "Shell scripts cannot be executed")
	wantDLFError(t, e.do("POST", "/v1/p1/scripts/nope/execute", ""), "DLF.6201", "The script does not exist.")
	wantDLFError(t, e.do("POST", "/v1/p1/scripts/q1/execute", `{"params":["a"]}`), "DLF.3051", "invalid")
	id := e.dlfOK("POST", "/v1/p1/scripts/q1/execute", "").body["instanceId"].(string)
	wantDLFError(t, e.do("GET", "/v1/p1/scripts/q1/instances/nope", ""), "DLF.6205", "The script running history does not exist.")
	wantDLFError(t, e.do("POST", "/v1/p1/scripts/q1/instances/nope/stop", ""), "DLF.6205", "does not exist")
	wantDLFError(t, e.do("GET", "/v1/p1/scripts/f1/instances/"+id, ""), "DLF.6205", "does not exist") // another script's run
	wantDLFError(t, e.do("GET", "/v1/p1/scripts/nope/instances/"+id, ""), "DLF.6201", "The script does not exist.")

	r := e.dlfOK("GET", "/v1/p1/scripts?limit=1&offset=1", "")
	if num(t, r.body, "total") != 3 || fmt.Sprint(r.body["scripts"].([]any)[0].(map[string]any)["name"]) != "q1" {
		t.Errorf("page = %s", r.raw)
	}
	if r := e.dlfOK("GET", "/v1/p1/scripts?scriptId=1", ""); num(t, r.body, "total") != 3 {
		t.Errorf("scriptId=1: %s", r.raw)
	}
	if r := e.dlfOK("GET", "/v1/p1/scripts?scriptId=q", ""); num(t, r.body, "total") != 1 {
		t.Errorf("scriptId=q: %s", r.raw)
	}
	wantDLFError(t, e.do("GET", "/v1/p1/scripts?limit=101", ""), "DLF.3051", "The request parameter is invalid.")

	e.dlfNoContent("DELETE", "/v1/p1/scripts/q1", "")
	wantDLFError(t, e.do("DELETE", "/v1/p1/scripts/q1", ""), "DLF.6201", "The script does not exist.")
	wantDLFError(t, e.do("GET", "/v1/p1/scripts/q1/instances/"+id, ""), "DLF.6201", "does not exist")
	// Scripts are per workspace.
	wantDLFError(t, e.do("GET", "/v1/p1/scripts/s1", "", "workspace", "other", "X-Auth-Token", "t"), "DLF.6201", "does not exist")
}

func TestDLFScriptSubmitErrors(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.DLF, Match: "flaky", SubmitErrors: 1})
	e.dlfNoContent("POST", "/v1/p1/scripts", `{"name":"flaky","type":"SparkSQL","content":"select 1","connectionName":"spark"}`)
	wantError(t, e.do("POST", "/v1/p1/scripts/flaky/execute", ""), http.StatusInternalServerError, "APIGW.0500", "Injected")
	if n := len(e.emu.DLFScriptRuns()); n != 0 {
		t.Fatalf("a refused execute made %d runs", n)
	}
	e.dlfOK("POST", "/v1/p1/scripts/flaky/execute", "")
}

// dlfConnSample is the "Creating a Connection" sample.
const dlfConnSample = `{
    "name": "connection1",
    "type": "DWS",
    "config": {
        "clusterName": "test",
        "userName": "dbadmin",
        "password": "*****",
        "kmsKey": "cdm-dlf",
        "agentName": "cdm-donotdelete",
        "sslEnable": false
    }
}`

func TestDLFConnections(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	e.dlfNoContent("POST", "/v1/p1/connections", dlfConnSample)
	wantDLFError(t, e.do("POST", "/v1/p1/connections", dlfConnSample), "DLF.6309", "The name already exists.")
	e.dlfNoContent("POST", "/v1/p1/connections", `{"name":"dli","type":"DLI","description":"DLI queue"}`)
	e.dlfNoContent("POST", "/v1/p1/connections", `{"name":"mysql_src","type":"RDS","config":{"ip":"10.0.0.5","port":"3306",
		"userName":"root","password":"secret","kmsKey":"k","agentName":"cdm","driverName":"com.mysql.jdbc.Driver","driverPath":"obs://d/mysql.jar"}}`)
	e.dlfNoContent("POST", "/v1/p1/connections", `{"name":"hive","type":"hive","config":{"clusterName":"mrs1","connectionMethod":"direct"}}`)

	// The list sample's shape: sslEnable stays a boolean, the password is masked.
	r := e.dlfOK("GET", "/v1/p1/connections?connectionName=connection1", "")
	if r.raw != `{"total":1,"connections":[{"name":"connection1","type":"DWS","config":{"agentName":"cdm-donotdelete","clusterName":"test","kmsKey":"cdm-dlf","password":"*****","sslEnable":false,"userName":"dbadmin"}}]}`+"\n" {
		t.Errorf("list = %s", r.raw)
	}
	r = e.dlfOK("GET", "/v1/p1/connections/mysql_src", "")
	if cfg := r.body["config"].(map[string]any); cfg["password"] != "*****" || cfg["port"] != "3306" || r.body["type"] != "RDS" {
		t.Errorf("detail = %s", r.raw)
	}
	if typ := e.dlfOK("GET", "/v1/p1/connections/hive", "").body["type"]; typ != "HIVE" {
		t.Errorf("type = %v, want HIVE", typ)
	}
	r = e.dlfOK("GET", "/v1/p1/connections?limit=2&offset=1", "")
	if num(t, r.body, "total") != 4 || len(r.body["connections"].([]any)) != 2 ||
		r.body["connections"].([]any)[0].(map[string]any)["name"] != "dli" {
		t.Errorf("page = %s", r.raw)
	}

	for _, tc := range []struct{ name, body, code, msg string }{
		{"DWS without address", `{"name":"d2","type":"DWS","config":{"userName":"u","password":"p","sslEnable":true,"kmsKey":"k","agentName":"a"}}`, "DLF.6418", "Either the DWS cluster name"},
		{"DWS without kmsKey", `{"name":"d2","type":"DWS","config":{"ip":"1.2.3.4","port":"8000","userName":"u","password":"p","sslEnable":true,"agentName":"a"}}`, "DLF.0802", "config.kmsKey"},
		{"RDS bad driver", `{"name":"r2","type":"RDS","config":{"ip":"i","port":"1","userName":"u","password":"p","kmsKey":"k","agentName":"a","driverName":"oracle","driverPath":"obs://x"}}`, "DLF.3051", "driverName"},
		{"Hive agent without user", `{"name":"h2","type":"HIVE","config":{"clusterName":"c","connectionMethod":"agent"}}`, "DLF.0802", "config.userName"},
		{"Spark bad method", `{"name":"s2","type":"SparkSQL","config":{"clusterName":"c","connectionMethod":"ssh"}}`, "DLF.3051", "connectionMethod"},
		{"CloudTable without cluster", `{"name":"c2","type":"CloudTable"}`, "DLF.0802", "config.clusterName"},
		{"bad type", `{"name":"x2","type":"ORACLE"}`, "DLF.3051", "connection type"},
		{"no type", `{"name":"x2"}`, "DLF.0802", "type"},
		{"bad name", `{"name":"x.2","type":"DLI"}`, "DLF.3051", "connection name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantDLFError(t, e.do("POST", "/v1/p1/connections", tc.body), tc.code, tc.msg)
		})
	}

	wantDLFError(t, e.do("GET", "/v1/p1/connections/nope", ""), "DLF.6322", "The data connection does not exist.")
	wantDLFError(t, e.do("GET", "/v1/p1/connections?limit=101", ""), "DLF.3051", "The request parameter is invalid.")
	e.dlfNoContent("DELETE", "/v1/p1/connections/connection1", "")
	wantDLFError(t, e.do("DELETE", "/v1/p1/connections/connection1", ""), "DLF.6322", "does not exist")
	e.dlfNoContent("POST", "/v1/p1/connections", dlfConnSample)
	// Connections are per workspace.
	if r := e.dlfOK("GET", "/v1/p1/connections", "", "workspace", "w2"); num(t, r.body, "total") != 0 {
		t.Errorf("other workspace = %s", r.raw)
	}
}

func TestDLFAuthAndRoutes(t *testing.T) {
	e := newDLFEnv(t, time.Second)
	wantError(t, e.do("POST", "/v1/p1/jobs", dlfChainJob("j"), "Accept", "application/json"), http.StatusUnauthorized, "APIG.1002", "Incorrect token")
	wantError(t, e.do("PATCH", "/v1/p1/jobs/j", ""), http.StatusMethodNotAllowed, "APIGW.0106", "not allowed")
	if n := len(e.emu.DLFJobs()); n != 0 {
		t.Errorf("%d jobs", n)
	}
	e.dlfNoContent("POST", "/v1/p1/jobs", dlfChainJob("j"))
	e.dlfRun("j", "")
	calls := e.emu.Calls()
	for k, want := range map[string]int{
		"dlf POST /v1/{project_id}/jobs":                          2,
		"dlf POST /v1/{project_id}/jobs/{job_name}/run-immediate": 1,
	} {
		if calls[k] != want {
			t.Errorf("Calls()[%q] = %d, want %d", k, calls[k], want)
		}
	}
}
