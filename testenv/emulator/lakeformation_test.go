package emulator_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

const lfJobs = "/v1/p1/instances/2180518f-42b8-4947-b20b-adfc53981a25/lf-jobs"

// newLFEnv serves a fresh emulator's LakeFormation handler, with newEnv's
// options (any token, no rate limits).
func newLFEnv(t *testing.T, jobDuration time.Duration) *env {
	t.Helper()
	clock := &fakeClock{t: t0}
	emu := emulator.New(testOptions(clock, jobDuration))
	srv := httptest.NewServer(emu.Handler(emulator.LakeFormation))
	t.Cleanup(srv.Close)
	return &env{t: t, emu: emu, srv: srv, clock: clock}
}

// lfSampleRequest is the seed's example request (LakeFormation "Creating a
// Job", @1566–1645), verbatim.
const lfSampleRequest = `{
  "name" : "testjob",
  "description" : "testjob",
  "type" : "METADATA_MIGRATION",
  "parameter" : {
    "metadata_migration_parameter" : {
      "datasource_type" : "ALIYUN_DLF",
      "datasource_parameter" : {
        "jdbc_url" : "jdbc:protocol://host:port/db_name",
        "username" : "root",
        "password" : "password",
        "endpoint" : "xxxx.com",
        "access_key" : "LTAIxxxxxxxxxxxxxxxxRxPG",
        "secret_key" : "12345xxxxxxxxxxxxxxxxNabcdefgh",
        "subnet_ip" : "127.0.0.1"
      },
      "source_catalog" : "sourceCatalog1",
      "target_catalog" : "targetCatalog1",
      "conflict_strategy" : "UPSERT",
      "log_location" : "obs://logStore/2023",
      "sync_objects" : [ "string" ],
      "default_owner" : "string",
      "locations" : [ {
        "key" : "test/test1",
        "value" : "test2/db"
      } ],
      "instance_id" : "string",
      "ignore_obs_checked" : false,
      "network_type" : "EIP",
      "accepted_vpc_id" : "13551d6b-755d-4757-b956-536f674975c0"
    },
    "permission_migration_parameter" : {
      "location" : "obs://location/uri/",
      "file_name" : "string",
      "log_location" : "obs://logStore/2023",
      "policy_type" : "DLF",
      "catalog_id" : "test_catalog",
      "instance_id" : "string",
      "ranger_permission_migration_principal_relas" : {
        "user_to" : "IAM_USER",
        "user_prefix" : "string",
        "user_suffix" : "string",
        "group_to" : "IAM_USER",
        "group_prefix" : "string",
        "group_suffix" : "string",
        "role_to" : "IAM_USER",
        "role_prefix" : "string",
        "role_suffix" : "string"
      }
    },
    "metadata_discovery_parameter" : {
      "data_location" : "obs://logStore/2023",
      "target_catalog" : "targetCatalog1",
      "target_database" : "targetCatalog1",
      "conflict_strategy" : "UPDATE",
      "file_discovery_type" : "PARQUET",
      "separator" : ",",
      "quote" : "DOUBLE_QUOTE",
      "escape" : "\\",
      "header" : false,
      "file_sample_rate" : 100,
      "table_depth" : 3,
      "log_location" : "obs://logStore/2023",
      "default_owner" : "testOwner",
      "principals" : [ {
        "principal_type" : "USER",
        "principal_source" : "IAM",
        "principal_name" : "user1"
      } ],
      "give_write" : false,
      "instance_id" : "abcdefgh12345678abcdefgh12345678",
      "rediscovery_policy" : "FULL_DISCOVERY",
      "execute_strategy" : "MANNUAL",
      "execute_frequency" : "MONTHLY",
      "execute_day" : 1,
      "execute_hour" : 1,
      "execute_minute" : 1
    }
  }
}`

// lfBody returns the sample with another name and type.
func lfBody(name, typ string) string {
	s := strings.Replace(lfSampleRequest, `"name" : "testjob"`, `"name" : `+quote(name), 1)
	return strings.Replace(s, `"type" : "METADATA_MIGRATION"`, `"type" : `+quote(typ), 1)
}

// lfCreate creates a job and returns its ID.
func (e *env) lfCreate(body string) string {
	e.t.Helper()
	r := e.do("POST", lfJobs, body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create: status %d: %s", r.status, r.raw)
	}
	id, _ := r.body["id"].(string)
	if !uuidRE.MatchString(id) {
		e.t.Fatalf("create: id %q is not a UUID: %s", id, r.raw)
	}
	return id
}

func (e *env) lfStatus(id string) string {
	e.t.Helper()
	r := e.do("GET", lfJobs+"/"+id, "")
	if r.status != http.StatusOK {
		e.t.Fatalf("detail %s: status %d: %s", id, r.status, r.raw)
	}
	s, ok := r.body["status"].(string)
	if !ok {
		e.t.Fatalf("detail: status %#v is not a string", r.body["status"])
	}
	return s
}

// lfAction starts or stops a job and checks the 202 with no body.
func (e *env) lfAction(id, action string) {
	e.t.Helper()
	r := e.do("POST", lfJobs+"/"+id+"/"+action, "")
	if r.status != http.StatusAccepted || r.raw != "" {
		e.t.Fatalf("%s %s: status %d, body %q; want 202 and no body", action, id, r.status, r.raw)
	}
}

// wantLFError checks LakeFormation's error body.
func wantLFError(t *testing.T, r response, status int, code, msgContains string) {
	t.Helper()
	wantError(t, r, status, code, msgContains)
	if r.body["common_error_code"] != code {
		t.Errorf("common_error_code = %v, want %s", r.body["common_error_code"], code)
	}
	if _, ok := r.body["solution_msg"].(string); !ok {
		t.Errorf("solution_msg = %#v, want a string", r.body["solution_msg"])
	}
}

func TestLFCreateSample(t *testing.T) {
	e := newLFEnv(t, time.Second)
	r := e.do("POST", lfJobs, lfSampleRequest)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	b := r.body
	for k, want := range map[string]any{
		"name": "testjob", "description": "testjob", "type": "METADATA_MIGRATION",
		"create_time": "2024-05-06T07:08:09.000Z", "status": "CREATED",
	} {
		if b[k] != want {
			t.Errorf("%s = %#v, want %#v", k, b[k], want)
		}
	}
	for _, k := range []string{"start_time", "end_time"} {
		if _, ok := b[k]; ok {
			t.Errorf("%s = %v before any start, want it absent", k, b[k])
		}
	}
	param := b["parameter"].(map[string]any)
	if len(param) != 1 {
		t.Errorf("parameter = %v, want only metadata_migration_parameter", param)
	}
	m := param["metadata_migration_parameter"].(map[string]any)
	ds := m["datasource_parameter"].(map[string]any)
	for _, secret := range []string{"password", "access_key", "secret_key"} {
		if _, ok := ds[secret]; ok {
			t.Errorf("datasource_parameter.%s echoed; secrets are write-only", secret)
		}
	}
	if ds["jdbc_url"] != "jdbc:protocol://host:port/db_name" || ds["username"] != "root" || ds["endpoint"] != "xxxx.com" {
		t.Errorf("datasource_parameter = %v", ds)
	}
	if m["conflict_strategy"] != "UPSERT" || m["instance_id"] != "string" || m["network_type"] != "EIP" ||
		fmt.Sprint(m["sync_objects"]) != "[string]" || fmt.Sprint(m["locations"]) != "[map[key:test/test1 value:test2/db]]" {
		t.Errorf("metadata_migration_parameter = %v", m)
	}

	jobs := e.emu.LakeFormationJobs()
	if len(jobs) != 1 {
		t.Fatalf("LakeFormationJobs() = %+v", jobs)
	}
	j := jobs[0]
	if j.ID != b["id"] || j.Name != "testjob" || j.ProjectID != "p1" || j.InstanceID != "2180518f-42b8-4947-b20b-adfc53981a25" ||
		j.Status != "CREATED" || !j.CreatedAt.Equal(t0) || j.Starts != 0 {
		t.Errorf("LakeFormationJob = %+v", j)
	}
}

func TestLFCreateOtherTypes(t *testing.T) {
	e := newLFEnv(t, time.Second)
	perm := e.do("POST", lfJobs, lfBody("perm_job", "PERMISSION_MIGRATION"))
	disc := e.do("POST", lfJobs, lfBody("disc_job", "METADATA_DISCOVERY"))
	if perm.status != http.StatusCreated || disc.status != http.StatusCreated {
		t.Fatalf("create: %d %s / %d %s", perm.status, perm.raw, disc.status, disc.raw)
	}
	p := perm.body["parameter"].(map[string]any)
	if _, ok := p["permission_migration_parameter"]; !ok || len(p) != 1 {
		t.Errorf("permission job parameter = %v", p)
	}
	d := disc.body["parameter"].(map[string]any)["metadata_discovery_parameter"].(map[string]any)
	// execute_* are Strings sent as integers by the sample; echoed as strings.
	if d["execute_day"] != "1" || d["execute_hour"] != "1" || d["execute_minute"] != "1" ||
		d["execute_strategy"] != "MANNUAL" || d["file_sample_rate"] != 100.0 || d["header"] != false {
		t.Errorf("discovery parameter = %v", d)
	}
}

func TestLFCreateValidation(t *testing.T) {
	e := newLFEnv(t, time.Second)
	replace := func(old, new string) string {
		if !strings.Contains(lfSampleRequest, old) {
			t.Fatalf("sample lacks %q", old)
		}
		return strings.Replace(lfSampleRequest, old, new, 1)
	}
	disc := func(old, new string) string {
		s := lfBody("disc_job", "METADATA_DISCOVERY")
		return strings.Replace(s, old, new, 1)
	}
	perm := func(old, new string) string {
		return strings.Replace(lfBody("perm_job", "PERMISSION_MIGRATION"), old, new, 1)
	}
	var manyLocations []string
	for i := range 21 {
		manyLocations = append(manyLocations, fmt.Sprintf(`{"key":"a%d","value":"b"}`, i))
	}
	for _, tc := range []struct{ name, body, msg string }{
		{"empty body", "", "empty"},
		{"not JSON", "{", "failed to read http request"},
		{"type mismatch", `{"name": 5}`, "failed to read http request"},
		{"no name", replace(`"name" : "testjob",`, ""), "name is mandatory"},
		{"short name", replace(`"testjob"`, `"abc"`), "4 to 255"},
		{"name with dash", replace(`"testjob"`, `"test-job"`), "invalid name"},
		{"bad type", replace(`"METADATA_MIGRATION"`, `"MIGRATION"`), "invalid type"},
		{"no parameter", `{"name":"testjob","type":"METADATA_MIGRATION"}`, "parameter is mandatory"},
		{"parameter of another type", `{"name":"testjob","type":"METADATA_DISCOVERY","parameter":{"metadata_migration_parameter":{}}}`, "metadata_discovery_parameter is mandatory"},
		{"bad datasource_type", replace(`"ALIYUN_DLF"`, `"DLF"`), "datasource_type"},
		{"INSERT migration", replace(`"conflict_strategy" : "UPSERT"`, `"conflict_strategy" : "INSERT"`), "conflict_strategy"},
		{"no sync_objects", replace(`[ "string" ]`, `[]`), "sync_objects is mandatory"},
		{"21 locations", replace(`"locations" : [ {`, `"locations" : [`+strings.Join(manyLocations, ",")+`, {`), "at most 20"},
		{"no instance_id", replace(`"instance_id" : "string",
      "ignore_obs_checked"`, `"ignore_obs_checked"`), "metadata_migration_parameter.instance_id is mandatory"},
		{"bad network_type", replace(`"EIP"`, `"VPN"`), "network_type"},
		{"bad username", replace(`"root"`, `"root user"`), "username"},
		{"bad file_name", perm(`"file_name" : "string"`, `"file_name" : "a/b.json"`), "file_name"},
		{"bad policy_type", perm(`"policy_type" : "DLF"`, `"policy_type" : "HIVE"`), "policy_type"},
		{"bad user_to", perm(`"user_to" : "IAM_USER"`, `"user_to" : "USER"`), "user_to"},
		{"MANUAL spelling", disc(`"MANNUAL"`, `"MANUAL"`), `the documented literal is "MANNUAL"`},
		{"bad file_discovery_type", disc(`"PARQUET"`, `"XML"`), "file_discovery_type"},
		{"sample rate 101", disc(`"file_sample_rate" : 100`, `"file_sample_rate" : 101`), "file_sample_rate"},
		{"day 32", disc(`"execute_day" : 1`, `"execute_day" : "32"`), "execute_day"},
		{"hour 24", disc(`"execute_hour" : 1`, `"execute_hour" : 24`), "execute_hour"},
		{"day as bool", disc(`"execute_day" : 1`, `"execute_day" : true`), "failed to read http request"},
		{"long principal", disc(`"user1"`, `"`+strings.Repeat("u", 50)+`"`), "principal_name"},
		{"bad principal source", disc(`"principal_source" : "IAM"`, `"principal_source" : "AD"`), "principal_source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantLFError(t, e.do("POST", lfJobs, tc.body), http.StatusBadRequest, "common.01000001", tc.msg)
		})
	}
	if n := len(e.emu.LakeFormationJobs()); n != 0 {
		t.Errorf("rejected creates made %d jobs", n)
	}

	// TEXT (prose only) and UPDATE for migration (the 201 sample) pass.
	e.lfCreate(replace(`"conflict_strategy" : "UPSERT"`, `"conflict_strategy" : "UPDATE"`))
	e.lfCreate(disc(`"PARQUET"`, `"TEXT"`))
}

func TestLFDuplicateName(t *testing.T) {
	e := newLFEnv(t, time.Second)
	e.lfCreate(lfSampleRequest)
	wantLFError(t, e.do("POST", lfJobs, lfSampleRequest), http.StatusBadRequest, "common.01000001", "job name testjob already exists")
	// Names are unique per instance.
	if r := e.do("POST", "/v1/p1/instances/other/lf-jobs", lfSampleRequest); r.status != http.StatusCreated {
		t.Errorf("same name in another instance: %d %s", r.status, r.raw)
	}
	if n := len(e.emu.LakeFormationJobs()); n != 2 {
		t.Errorf("%d jobs, want 2", n)
	}
}

func TestLFLifecycle(t *testing.T) {
	e := newLFEnv(t, 10*time.Second)
	id := e.lfCreate(lfSampleRequest)
	e.clock.Advance(time.Minute)
	e.lfAction(id, "start")
	started := t0.Add(time.Minute)
	for _, step := range []struct {
		at     time.Duration
		status string
	}{
		{0, "SUBMITTED"}, {1999 * time.Millisecond, "SUBMITTED"}, {2 * time.Second, "RUNNING"},
		{9999 * time.Millisecond, "RUNNING"}, {10 * time.Second, "SUCCESS"}, {time.Hour, "SUCCESS"},
	} {
		e.clock.Set(started.Add(step.at))
		if got := e.lfStatus(id); got != step.status {
			t.Errorf("at %v: status %s, want %s", step.at, got, step.status)
		}
	}
	r := e.do("GET", lfJobs+"/"+id, "")
	if r.body["start_time"] != "2024-05-06T07:09:09.000Z" || r.body["end_time"] != "2024-05-06T07:09:19.000Z" ||
		r.body["create_time"] != "2024-05-06T07:08:09.000Z" || r.body["description"] != "testjob" {
		t.Errorf("detail = %s", r.raw)
	}
	if _, ok := r.body["parameter"].(map[string]any)["metadata_migration_parameter"]; !ok {
		t.Errorf("detail lacks the parameter: %s", r.raw)
	}

	// A finished job runs again; a running one cannot be started twice.
	e.lfAction(id, "start")
	restarted := e.clock.Now()
	wantLFError(t, e.do("POST", lfJobs+"/"+id+"/start", ""), http.StatusBadRequest, "common.01000001", "SUBMITTED and cannot be started")
	e.clock.Advance(3 * time.Second)
	e.lfAction(id, "stop")
	if got := e.lfStatus(id); got != "STOPPED" {
		t.Errorf("after stop: %s", got)
	}
	e.clock.Advance(time.Hour)
	if got := e.lfStatus(id); got != "STOPPED" {
		t.Errorf("an hour after stop: %s", got)
	}
	wantLFError(t, e.do("POST", lfJobs+"/"+id+"/stop", ""), http.StatusBadRequest, "common.01000001", "STOPPED and cannot be stopped")

	j := e.emu.LakeFormationJobs()[0]
	if j.Status != "STOPPED" || j.Starts != 2 || j.Stops != 1 || !j.StartedAt.Equal(restarted) ||
		!j.EndedAt.Equal(restarted.Add(3*time.Second)) || j.Mode != "NORMAL" || j.Message != "" {
		t.Errorf("LakeFormationJob = %+v", j)
	}
}

func TestLFStopBeforeStart(t *testing.T) {
	e := newLFEnv(t, time.Second)
	id := e.lfCreate(lfSampleRequest)
	wantLFError(t, e.do("POST", lfJobs+"/"+id+"/stop", ""), http.StatusBadRequest, "common.01000001", "CREATED and cannot be stopped")
}

func TestLFStartQuery(t *testing.T) {
	e := newLFEnv(t, time.Second)
	id := e.lfCreate(lfSampleRequest)
	wantLFError(t, e.do("POST", lfJobs+"/"+id+"/start?mode=FAST", ""), http.StatusBadRequest, "common.01000001", "invalid mode")
	wantLFError(t, e.do("POST", lfJobs+"/"+id+"/start?cascade=yes", ""), http.StatusBadRequest, "common.01000001", "invalid cascade")
	e.lfAction(id, "start?mode=COMPARISON&cascade=true")
	if j := e.emu.LakeFormationJobs()[0]; j.Mode != "COMPARISON" || j.Starts != 1 {
		t.Errorf("LakeFormationJob = %+v", j)
	}
}

func TestLFUnknownJob(t *testing.T) {
	e := newLFEnv(t, time.Second)
	id := e.lfCreate(lfSampleRequest)
	for _, tc := range []struct{ method, path string }{
		{"GET", lfJobs + "/nope"},
		{"POST", lfJobs + "/nope/start"},
		{"POST", lfJobs + "/nope/stop"},
		{"GET", "/v1/p1/instances/other/lf-jobs/" + id}, // another instance
		{"GET", "/v1/p2/instances/2180518f-42b8-4947-b20b-adfc53981a25/lf-jobs/" + id},
	} {
		wantLFError(t, e.do(tc.method, tc.path, ""), http.StatusNotFound, "common.01000001", "does not exist")
	}
}

func TestLFRules(t *testing.T) {
	e := newLFEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.LakeFormation, Match: "partial", Duration: 4 * time.Second,
		FailMessage: "3 of 10 tables failed", FailCode: "PARTIAL_SUCCESS"})
	e.emu.AddRule(emulator.Rule{Service: emulator.LakeFormation, Match: "broken", FailMessage: "catalog not found"})
	e.emu.AddRule(emulator.Rule{Service: emulator.LakeFormation, Match: "stuck", Hang: true})
	e.emu.AddRule(emulator.Rule{Service: emulator.DLI, Match: "", FailMessage: "DLI only"}) // other service: ignored
	e.emu.AddRule(emulator.Rule{Service: emulator.LakeFormation, Match: "flaky", FailMessage: "transient", FailFirst: 1})
	ids := map[string]string{}
	for _, name := range []string{"partial_job", "broken_job", "stuck_job", "flaky_job", "good_job"} {
		ids[name] = e.lfCreate(lfBody(name, "METADATA_MIGRATION"))
		e.lfAction(ids[name], "start")
	}
	e.clock.Advance(4 * time.Second)
	if got := e.lfStatus(ids["partial_job"]); got != "PARTIAL_SUCCESS" {
		t.Errorf("partial: %s", got)
	}
	e.clock.Advance(time.Hour)
	for name, want := range map[string]string{
		"partial_job": "PARTIAL_SUCCESS", "broken_job": "FAILED", "stuck_job": "RUNNING", "flaky_job": "FAILED", "good_job": "SUCCESS",
	} {
		if got := e.lfStatus(ids[name]); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	// FailFirst: the retry succeeds.
	e.lfAction(ids["flaky_job"], "start")
	e.clock.Advance(10 * time.Second)
	if got := e.lfStatus(ids["flaky_job"]); got != "SUCCESS" {
		t.Errorf("flaky retry: %s", got)
	}
	e.lfAction(ids["stuck_job"], "stop")

	msgs := map[string]string{}
	for _, j := range e.emu.LakeFormationJobs() {
		msgs[j.Name] = j.Status + ": " + j.Message
	}
	for name, want := range map[string]string{
		"partial_job": "PARTIAL_SUCCESS: 3 of 10 tables failed", "broken_job": "FAILED: catalog not found",
		"stuck_job": "STOPPED: ", "flaky_job": "SUCCESS: ", "good_job": "SUCCESS: ",
	} {
		if msgs[name] != want {
			t.Errorf("%s: %q, want %q", name, msgs[name], want)
		}
	}
}

func TestLFSubmitErrors(t *testing.T) {
	e := newLFEnv(t, time.Second)
	e.emu.AddRule(emulator.Rule{Service: emulator.LakeFormation, Match: "busy", SubmitErrors: 1, SubmitStatus: http.StatusTooManyRequests})
	r := e.do("POST", lfJobs, lfBody("busy_job", "METADATA_MIGRATION"))
	wantLFError(t, r, http.StatusTooManyRequests, "common.00000429", "injected")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", r.header.Get("Retry-After"))
	}
	if n := len(e.emu.LakeFormationJobs()); n != 0 {
		t.Fatalf("a rejected create made %d jobs", n)
	}
	e.lfCreate(lfBody("busy_job", "METADATA_MIGRATION"))

	// A rule added after creation leaves the first start alone (the plan
	// was made at creation) and hits the next one.
	id := e.lfCreate(lfBody("later_job", "METADATA_MIGRATION"))
	e.emu.AddRule(emulator.Rule{Service: emulator.LakeFormation, Match: "later", SubmitErrors: 1})
	e.lfAction(id, "start")
	e.clock.Advance(time.Second)
	wantLFError(t, e.do("POST", lfJobs+"/"+id+"/start", ""), http.StatusInternalServerError, "common.00000500", "injected")
	if j := e.emu.LakeFormationJobs()[1]; j.Starts != 1 || j.Status != "SUCCESS" {
		t.Errorf("after a refused start: %+v", j)
	}
	e.lfAction(id, "start")
}

func TestLFList(t *testing.T) {
	e := newLFEnv(t, 10*time.Second)
	e.emu.AddRule(emulator.Rule{Match: "bad", FailMessage: "x"})
	var ids []string
	for _, name := range []string{"orders_sync", "users_sync", "bad_sync", "orders_disc"} {
		typ := "METADATA_MIGRATION"
		if strings.HasSuffix(name, "disc") {
			typ = "METADATA_DISCOVERY"
		}
		ids = append(ids, e.lfCreate(lfBody(name, typ)))
		e.clock.Advance(time.Second)
	}
	e.lfAction(ids[2], "start")
	e.clock.Advance(time.Minute)

	names := func(r response) string {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("list: %d %s", r.status, r.raw)
		}
		var out []string
		for _, j := range r.body["jobs"].([]any) {
			out = append(out, j.(map[string]any)["name"].(string))
		}
		return fmt.Sprintf("%d %v", num(t, r.body, "total"), out)
	}
	for _, tc := range []struct{ query, want string }{
		{"type=METADATA_MIGRATION", "3 [bad_sync users_sync orders_sync]"},
		{"type=METADATA_DISCOVERY", "1 [orders_disc]"},
		{"type=PERMISSION_MIGRATION", "0 []"},
		{"type=METADATA_MIGRATION&name_pattern=ORDERS", "1 [orders_sync]"},
		{"type=METADATA_MIGRATION&status=FAILED", "1 [bad_sync]"},
		{"type=METADATA_MIGRATION&status=CREATED", "2 [users_sync orders_sync]"},
		{"type=METADATA_MIGRATION&limit=1&offset=1", "3 [users_sync]"},
		{"type=METADATA_MIGRATION&offset=5", "3 []"},
	} {
		if got := names(e.do("GET", lfJobs+"?"+tc.query, "")); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.query, got, tc.want)
		}
	}
	r := e.do("GET", lfJobs+"?type=METADATA_MIGRATION&status=FAILED", "")
	j := r.body["jobs"].([]any)[0].(map[string]any)
	if j["id"] != ids[2] || j["type"] != "METADATA_MIGRATION" || j["status"] != "FAILED" ||
		j["create_time"] != "2024-05-06T07:08:11.000Z" || j["start_time"] != "2024-05-06T07:08:13.000Z" ||
		j["end_time"] != "2024-05-06T07:08:23.000Z" || len(j) != 7 {
		t.Errorf("JobInfo = %v", j)
	}
	for _, q := range []string{"", "type=ALL", "type=METADATA_MIGRATION&status=DONE", "type=METADATA_MIGRATION&limit=0",
		"type=METADATA_MIGRATION&limit=1001", "type=METADATA_MIGRATION&offset=-1", "type=METADATA_MIGRATION&offset=x"} {
		wantLFError(t, e.do("GET", lfJobs+"?"+q, ""), http.StatusBadRequest, "common.01000001", "invalid request")
	}
}

func TestLFAuth(t *testing.T) {
	e := newLFEnv(t, time.Second)
	wantError(t, e.do("POST", lfJobs, lfSampleRequest, "Accept", "application/json"), http.StatusUnauthorized, "APIG.1002", "Incorrect token")
	if n := len(e.emu.LakeFormationJobs()); n != 0 {
		t.Errorf("an unauthenticated create made %d jobs", n)
	}
}

func TestLFConcurrent(t *testing.T) {
	e := newLFEnv(t, time.Second)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				id := e.lfCreate(lfBody(fmt.Sprintf("job_%d_%d", g, i), "METADATA_MIGRATION"))
				e.lfAction(id, "start")
				e.lfStatus(id)
				e.do("GET", lfJobs+"?type=METADATA_MIGRATION&limit=1000", "")
				e.clock.Advance(100 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	jobs := e.emu.LakeFormationJobs()
	if len(jobs) != 40 {
		t.Fatalf("%d jobs, want 40", len(jobs))
	}
	seen := map[string]bool{}
	for _, j := range jobs {
		if seen[j.ID] || j.Starts != 1 {
			t.Errorf("job %+v: duplicate ID or Starts != 1", j)
		}
		seen[j.ID] = true
	}
	r := e.do("GET", lfJobs+"?type=METADATA_MIGRATION&limit=1000", "")
	if num(t, r.body, "total") != 40 {
		t.Errorf("list total = %v", r.body["total"])
	}
}
