package emulator_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

var cdmHexRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Cluster samples are accepted and answered with the documented fields.
func TestCDMSampleClusters(t *testing.T) {
	e, _ := newCDMEnv(t, 10*time.Second)

	r := e.do("POST", "/v1.1/p1/clusters", cdmSampleClusterCreate, "X-Auth-Token", "tok", "X-Language", "en_us")
	cdmWantOK(t, r, http.StatusAccepted, "create cluster")
	cdmWantTypes(t, r.body, map[string]string{"id": "string", "name": "string", "task": "object", "datastore": "object", "instances": "array"})
	id := r.body["id"].(string)
	if !uuidRE.MatchString(id) || r.body["name"] != "cdm-ab82" {
		t.Errorf("id, name = %v, %v; want a UUID and cdm-ab82", id, r.body["name"])
	}
	task := cdmObj(t, r.body["task"])
	if !cdmHexRE.MatchString(task["id"].(string)) || task["name"] != "createCluster" {
		t.Errorf("task = %v", task)
	}
	if ds := cdmObj(t, r.body["datastore"]); ds["type"] != "cdm" || ds["version"] != "1.8.10" {
		t.Errorf("datastore = %v, want the request's cdm 1.8.10", ds)
	}
	inst := cdmArr(t, r.body["instances"])
	if len(inst) != 1 {
		t.Fatalf("instances = %v, want 1", inst)
	}
	in0 := cdmObj(t, inst[0])
	if !uuidRE.MatchString(in0["id"].(string)) || in0["name"] != "cdm-ab82-cdm-dn-1-1" || in0["type"] != "cdm" || in0["shard_id"] != "dn-1" {
		t.Errorf("instance = %v", in0)
	}

	// The walk-through's cluster, without X-Language, in another project.
	r = e.do("POST", "/v1.1/p2/clusters", cdmSample41ClusterCreate)
	cdmWantOK(t, r, http.StatusAccepted, "create walk-through cluster")
	if ds := cdmObj(t, r.body["datastore"]); r.body["name"] != "cdm-ab82" || ds["version"] != "1.8.5" {
		t.Errorf("walk-through cluster = %s", r.raw)
	}

	detail := func() map[string]any {
		t.Helper()
		r := e.do("GET", "/v1.1/p1/clusters/"+id, "")
		cdmWantOK(t, r, http.StatusOK, "cluster detail")
		return cdmObj(t, r.body["clusters"])
	}
	for _, step := range []struct {
		at               time.Duration
		status, detail   string
		creatingProgress string
	}{
		{0, "100", "Creating", "0%"},
		{5 * time.Second, "100", "Creating", "50%"},
		{9999 * time.Millisecond, "100", "Creating", "99%"},
		{10 * time.Second, "200", "Normal", ""},
	} {
		e.clock.Set(t0.Add(step.at))
		c := detail()
		progress := cdmObj(t, c["actionProgress"])
		if c["status"] != step.status || c["statusDetail"] != step.detail || (step.creatingProgress == "") != (len(progress) == 0) ||
			(step.creatingProgress != "" && progress["CREATING"] != step.creatingProgress) {
			t.Errorf("at %v: status %v %v, actionProgress %v; want %s %s %q", step.at, c["status"], c["statusDetail"], progress,
				step.status, step.detail, step.creatingProgress)
		}
	}
	c := detail()
	cdmWantTypes(t, c, map[string]string{
		"publicEndpoint": "string", "instances": "array", "security_group_id": "string", "subnet_id": "string", "vpc_id": "string",
		"datastore": "object", "isAutoOff": "bool", "isScheduleBootOff": "bool", "flavorName": "string", "azName": "string",
		"recentEvent": "number", "task": "object", "created": "string", "statusDetail": "string", "config_status": "string",
		"actionProgress": "object", "name": "string", "id": "string", "isFrozen": "string", "actions": "array",
		"updated": "string", "status": "string",
	})
	for k, want := range map[string]any{
		"created": "2024-05-06T07:08:09", "updated": "2024-05-06T07:08:19", "vpc_id": "67c06084-2212-4242-bcd4-d2144c2385a9",
		"subnet_id": "2d120298-6130-44d4-a438-454912fff901", "security_group_id": "c37852d2-2d12-41cb-af47-65c80e995c80",
		"flavorName": "cdm.large", "azName": "cn-north-1b", "isFrozen": "0", "config_status": "In-Sync", "name": "cdm-ab82", "id": id,
	} {
		if c[k] != want {
			t.Errorf("detail %s = %#v, want %#v", k, c[k], want)
		}
	}
	node := cdmObj(t, cdmArr(t, c["instances"])[0])
	cdmWantTypes(t, node, map[string]string{"flavor": "object", "volume": "object", "status": "string", "actions": "array",
		"type": "string", "id": "string", "name": "string", "isFrozen": "string", "config_status": "string", "shard_id": "string"})
	if cdmObj(t, node["flavor"])["id"] != "5ddb1071-c5d7-40e0-a874-8a032e81a697" || node["status"] != "200" {
		t.Errorf("node = %v", node)
	}
	if v := cdmObj(t, node["volume"]); v["type"] != "LOCAL_DISK" || v["size"] != 100.0 {
		t.Errorf("volume = %v", v)
	}

	r = e.do("GET", "/v1.1/p1/clusters", "")
	cdmWantOK(t, r, http.StatusOK, "list clusters")
	list := cdmArr(t, r.body["clusters"])
	if len(list) != 2 || cdmObj(t, list[0])["id"] != emulator.CDMDefaultClusterID || cdmObj(t, list[1])["id"] != id {
		t.Fatalf("clusters = %s, want the default cluster then %s", r.raw, id)
	}

	action := func(body string) response {
		t.Helper()
		r := e.do("POST", "/v1.1/p1/clusters/"+id+"/action", body)
		cdmWantOK(t, r, http.StatusOK, "action "+body)
		return r
	}
	wantArrayJobID := func(r response) {
		t.Helper()
		ids := cdmArr(t, r.body["jobId"])
		if len(ids) != 1 || !cdmHexRE.MatchString(ids[0].(string)) {
			t.Errorf("jobId = %v, want one 32-hex-digit ID", r.body["jobId"])
		}
	}
	wantArrayJobID(action(cdmSampleClusterStop))
	if c := detail(); c["status"] != "910" || c["statusDetail"] != "Stopping" {
		t.Errorf("after stop: %v %v", c["status"], c["statusDetail"])
	}
	e.clock.Advance(10 * time.Second)
	if c := detail(); c["status"] != "900" || c["statusDetail"] != "Stopped" {
		t.Errorf("stopped: %v %v", c["status"], c["statusDetail"])
	}
	wantArrayJobID(action(cdmSampleClusterStart))
	if c := detail(); c["status"] != "920" {
		t.Errorf("after start: %v", c["status"])
	}
	e.clock.Advance(10 * time.Second)
	if c := detail(); c["status"] != "200" {
		t.Errorf("started: %v", c["status"])
	}
	r = action(cdmSampleClusterRestart)
	if s, _ := r.body["jobId"].(string); !cdmHexRE.MatchString(s) {
		t.Errorf("restart jobId = %#v, want a string", r.body["jobId"])
	}
	if c := detail(); c["status"] != "200" || len(cdmArr(t, c["actions"])) != 1 || cdmArr(t, c["actions"])[0] != "REBOOTING" {
		t.Errorf("restarting: status %v, actions %v", c["status"], c["actions"])
	}
	e.clock.Advance(10 * time.Second)
	if c := detail(); len(cdmArr(t, c["actions"])) != 0 {
		t.Errorf("restarted: actions %v", c["actions"])
	}
	got := e.emu.CDMClusters()
	if len(got) != 4 || got[1].ID != id || got[1].Starts != 1 || got[1].Stops != 1 || got[1].Restarts != 1 || got[1].Status != "200" {
		t.Errorf("CDMClusters = %+v", got)
	}

	r = e.do("DELETE", "/v1.1/p1/clusters/"+id, cdmSampleClusterDelete)
	cdmWantOK(t, r, http.StatusAccepted, "delete cluster")
	if s, _ := r.body["jobId"].(string); !cdmHexRE.MatchString(s) {
		t.Errorf("delete jobId = %#v", r.body["jobId"])
	}
	wantCDMError(t, e.do("GET", "/v1.1/p1/clusters/"+id, ""), http.StatusNotFound, "Cdm.0001", id)
}

// Link samples are accepted; the query returns them with secrets left
// out, while CDMLinks keeps them.
func TestCDMSampleLinks(t *testing.T) {
	for _, tc := range []struct {
		sample, name, connector, secret string
	}{
		{cdmSampleLinkCreate, "mysql_link", "generic-jdbc-connector", "linkConfig.password"},
		{cdmSampleLink41MySQL, "mysql_link", "generic-jdbc-connector", "linkConfig.password"},
		{cdmSampleLink41DWS, "dws_link", "generic-jdbc-connector", "linkConfig.password"},
		{cdmSampleLinkRDB, "mysql_link", "generic-jdbc-connector", "linkConfig.password"},
		{cdmSampleLinkOBS, "obs_link", "obs-connector", "linkConfig.securityKey"},
		{cdmSampleLinkHDFS, "hdfslink", "hdfs-connector", "linkConfig.password"},
		{cdmSampleLinkCloudTable, "cloudtablelink", "hbase-connector", "linkConfig.securityKey"},
		{cdmSampleLinkHive, "hive_link", "hive-connector", "linkConfig.password"},
		{cdmSampleLinkFTP, "sftp_link", "sftp-connector", "linkConfig.password"},
		{cdmSampleLinkRedis, "redis_link", "redis-connector", "linkConfig.password"},
		{cdmSampleLinkKafka, "kafka_link", "kafka-connector", ""},
		{cdmSampleLinkDIS, "dis_link", "dis-connector", "linkConfig.sk"},
		{cdmSampleLinkES, "es_link", "elasticsearch-connector", "linkConfig.password"},
		{cdmSampleLinkDLI, "dli", "dli-connector", "linkConfig.sk"},
		{cdmSampleLinkOpenTSDB, "opentsdb", "opentsdb-connector", ""},
	} {
		t.Run(tc.name+" "+tc.connector, func(t *testing.T) {
			e, logs := newCDMEnv(t, time.Second)
			r := e.do("POST", cdmBase+"/cdm/link", tc.sample)
			cdmWantOK(t, r, http.StatusOK, "create link")
			if r.body["name"] != tc.name || len(cdmArr(t, r.body["validation-result"])) != 0 {
				t.Errorf("create response = %s, want name %s and an empty validation-result", r.raw, tc.name)
			}
			links := e.emu.CDMLinks()
			if len(links) != 1 || links[0].Name != tc.name || links[0].Connector != tc.connector || !links[0].Enabled ||
				links[0].ClusterID != emulator.CDMDefaultClusterID || links[0].ProjectID != "p1" {
				t.Fatalf("CDMLinks = %+v", links)
			}
			secretValue := ""
			if tc.secret != "" {
				if secretValue = links[0].Inputs[tc.secret]; secretValue == "" {
					t.Fatalf("secret %s not stored: %v", tc.secret, links[0].Inputs)
				}
			}

			r = e.do("GET", cdmBase+"/cdm/link/"+tc.name, "")
			cdmWantOK(t, r, http.StatusOK, "query link")
			cdmWantTypes(t, r.body, map[string]string{"links": "array", "fromTo-unMapping": "string", "batchFromTo-mapping": "string"})
			l := cdmObj(t, cdmArr(t, r.body["links"])[0])
			cdmWantTypes(t, l, map[string]string{"link-config-values": "object", "creation-user": "string", "name": "string",
				"id": "number", "creation-date": "number", "connector-name": "string", "update-date": "number",
				"enabled": "bool", "update-user": "string"})
			if l["name"] != tc.name || l["connector-name"] != tc.connector || l["creation-date"] != float64(t0.UnixMilli()) {
				t.Errorf("link = %v", l)
			}
			// Inputs come back in the order sent, with the same JSON values,
			// except the secret's.
			sent := cdmSentLinkInputs(t, tc.sample)
			var got []any
			for _, c := range cdmArr(t, cdmObj(t, l["link-config-values"])["configs"]) {
				got = append(got, cdmArr(t, cdmObj(t, c)["inputs"])...)
			}
			if len(got) != len(sent) || len(got) == 0 {
				t.Fatalf("got %d inputs, sent %d", len(got), len(sent))
			}
			for i, in := range got {
				in := cdmObj(t, in)
				if in["name"] != sent[i]["name"] {
					t.Errorf("input %d is %v, sent %v", i, in["name"], sent[i]["name"])
				}
				if in["name"] == tc.secret {
					if _, has := in["value"]; has || in["sensitive"] != true {
						t.Errorf("secret input returned as %v", in)
					}
				} else if in["value"] != sent[i]["value"] {
					t.Errorf("input %v = %#v, sent %#v", in["name"], in["value"], sent[i]["value"])
				}
			}
			if secretValue != "" && strings.Contains(logs.String(), secretValue) {
				t.Errorf("the log shows the secret %q:\n%s", secretValue, logs.String())
			}
			if !strings.Contains(logs.String(), tc.name) {
				t.Errorf("the log does not mention link %s:\n%s", tc.name, logs.String())
			}
		})
	}
}

// cdmSentLinkInputs returns the inputs of a link sample's first link.
func cdmSentLinkInputs(t *testing.T, sample string) []map[string]any {
	t.Helper()
	var body struct {
		Links []struct {
			LinkConfigValues struct {
				Configs []struct {
					Inputs []map[string]any `json:"inputs"`
				} `json:"configs"`
			} `json:"link-config-values"`
		} `json:"links"`
	}
	if err := json.Unmarshal([]byte(sample), &body); err != nil {
		t.Fatal(err)
	}
	var inputs []map[string]any
	for _, c := range body.Links[0].LinkConfigValues.Configs {
		inputs = append(inputs, c.Inputs...)
	}
	return inputs
}

// The modify sample replaces (and here renames) a link; a JSON boolean
// value comes back as a boolean.
func TestCDMSampleLinkModify(t *testing.T) {
	e, _ := newCDMEnv(t, time.Second)
	cdmWantOK(t, e.do("POST", cdmBase+"/cdm/link", cdmLinkBody("rdb_link", "generic-jdbc-connector")), 200, "create rdb_link")
	e.clock.Advance(time.Second)
	r := e.do("PUT", cdmBase+"/cdm/link/rdb_link", cdmSampleLinkModify)
	cdmWantOK(t, r, http.StatusOK, "modify")
	if r.body["name"] != "mysql_link" || len(cdmArr(t, r.body["validation-result"])) != 0 {
		t.Errorf("modify response = %s", r.raw)
	}
	wantCDMError(t, e.do("GET", cdmBase+"/cdm/link/rdb_link", ""), http.StatusInternalServerError, "Cdm.0101", "rdb_link")
	r = e.do("GET", cdmBase+"/cdm/link/mysql_link", "")
	cdmWantOK(t, r, http.StatusOK, "query renamed link")
	inputs := cdmArr(t, cdmObj(t, cdmArr(t, cdmObj(t, cdmObj(t, cdmArr(t, r.body["links"])[0])["link-config-values"])["configs"])[0])["inputs"])
	if last := cdmObj(t, inputs[len(inputs)-1]); last["name"] != "linkConfig.usingNative" || last["value"] != false {
		t.Errorf("last input = %v, want usingNative false (a JSON boolean)", last)
	}
	links := e.emu.CDMLinks()
	if len(links) != 1 || links[0].Name != "mysql_link" || links[0].Inputs["linkConfig.databaseType"] != "MYSQL" ||
		links[0].Inputs["linkConfig.usingNative"] != "false" || links[0].Inputs["linkConfig.password"] != "DB_password" ||
		!links[0].Created.Equal(t0) || !links[0].Updated.Equal(t0.Add(time.Second)) {
		t.Errorf("CDMLinks = %+v", links)
	}
}

// The job samples (create, query, modify, create-and-execute) are
// accepted and answered with the documented fields.
func TestCDMSampleJobs(t *testing.T) {
	e, _ := newCDMEnv(t, 10*time.Second)
	cdmWantOK(t, e.do("POST", cdmBase+"/cdm/link", cdmLinkBody("css", "elasticsearch-connector")), 200, "link css")
	cdmWantOK(t, e.do("POST", cdmBase+"/cdm/link", cdmLinkBody("dis", "dis-connector")), 200, "link dis")

	r := e.do("POST", cdmBase+"/cdm/job", cdmSampleJobCreate)
	cdmWantOK(t, r, http.StatusOK, "create job")
	if r.body["name"] != "es_css" || len(cdmArr(t, r.body["validation-result"])) != 0 {
		t.Errorf("create response = %s", r.raw)
	}

	// The query example: GET .../cdm/job/all?jobType=NORMAL_JOB.
	r = e.do("GET", cdmBase+"/cdm/job/all?jobType=NORMAL_JOB", "")
	cdmWantOK(t, r, http.StatusOK, "query all")
	for k, want := range map[string]any{"total": 1.0, "page_no": 1.0, "page_size": 10.0} {
		if r.body[k] != want {
			t.Errorf("%s = %v, want %v", k, r.body[k], want)
		}
	}
	job := cdmObj(t, cdmArr(t, r.body["jobs"])[0])
	cdmWantTypes(t, job, map[string]string{
		"job_type": "string", "from-connector-name": "string", "to-config-values": "object", "to-link-name": "string",
		"driver-config-values": "object", "from-config-values": "object", "to-connector-name": "string", "name": "string",
		"from-link-name": "string", "creation-user": "string", "creation-date": "number", "update-date": "number",
		"is_incre_job": "bool", "flag": "number", "files_read": "number", "update-user": "string", "external_id": "string",
		"type": "string", "execute_start_date": "number", "delete_rows": "number", "enabled": "bool", "bytes_written": "number",
		"id": "number", "is_use_sql": "bool", "update_rows": "number", "group_name": "string", "bytes_read": "number",
		"execute_update_date": "number", "write_rows": "number", "files_written": "number", "is_incrementing": "bool",
		"execute_create_date": "number", "status": "string", "rows_read": "number", "rows_written": "number",
	})
	for k, want := range map[string]any{
		"job_type": "NORMAL_JOB", "from-connector-name": "elasticsearch-connector", "to-connector-name": "dis-connector",
		"name": "es_css", "from-link-name": "css", "to-link-name": "dis", "status": "NEW", "creation-user": "cdm",
		"creation-date": float64(t0.UnixMilli()), "group_name": "DEFAULT", "enabled": true,
	} {
		if job[k] != want {
			t.Errorf("job %s = %#v, want %#v", k, job[k], want)
		}
	}
	// "inputs": { } comes back as an empty array.
	driver := cdmArr(t, cdmObj(t, job["driver-config-values"])["configs"])
	if jar := cdmObj(t, driver[1]); jar["name"] != "jarConfig" || len(cdmArr(t, jar["inputs"])) != 0 {
		t.Errorf("jarConfig = %v, want empty inputs", jar)
	}
	if in := cdmObj(t, cdmArr(t, cdmObj(t, driver[0])["inputs"])[0]); in["name"] != "throttlingConfig.numExtractors" || in["value"] != "1" {
		t.Errorf("first driver input = %v", in)
	}

	r = e.do("PUT", cdmBase+"/cdm/job/es_css", cdmSampleJobModify)
	cdmWantOK(t, r, http.StatusOK, "modify job")
	if _, has := r.body["name"]; has || len(cdmArr(t, r.body["validation-result"])) != 0 {
		t.Errorf("modify response = %s, want only an empty validation-result", r.raw)
	}

	// Create-and-execute, first as printed: none of its clusters exists.
	r = e.do("POST", "/v1.1/p2/clusters/job", cdmSampleJobCreateAndExecute, "X-Auth-Token", "tok", "X-Language", "en_us")
	wantCDMError(t, r, http.StatusBadRequest, "Cdm.0056", "none of the clusters")
	// Then with the default cluster of p2 among its clusters.
	p2 := "/v1.1/p2/clusters/" + emulator.CDMDefaultClusterID
	cdmWantOK(t, e.do("POST", p2+"/cdm/link", cdmLinkBody("css", "elasticsearch-connector")), 200, "p2 link css")
	cdmWantOK(t, e.do("POST", p2+"/cdm/link", cdmLinkBody("dis", "dis-connector")), 200, "p2 link dis")
	body := strings.Replace(cdmSampleJobCreateAndExecute, `"b0791496-e111-4e75-b7ca-9277aeab9297"`, `"`+emulator.CDMDefaultClusterID+`"`, 1)
	r = e.do("POST", "/v1.1/p2/clusters/job", body)
	cdmWantOK(t, r, http.StatusOK, "create and execute")
	sub := cdmObj(t, cdmArr(t, r.body["submissions"])[0])
	cdmWantTypes(t, sub, map[string]string{
		"isIncrementing": "bool", "delete_rows": "number", "update_rows": "number", "write_rows": "number",
		"submission-id": "number", "submisson-id": "number", "job-name": "string", "creation-user": "string",
		"creation-date": "number", "execute-date": "number", "progress": "number", "status": "string",
		"isStopingIncrement": "string", "is-execute-auto": "bool", "last-update-date": "number",
		"last-update-user": "string", "isDeleteJob": "bool",
	})
	if sub["job-name"] != "es_css" || sub["status"] != "PENDING" || sub["submission-id"] != sub["submisson-id"] ||
		sub["progress"] != 1.0 || sub["creation-date"] != float64(t0.UnixMilli()) {
		t.Errorf("submission = %v", sub)
	}
	j, ok := e.emu.CDMJob("p2", emulator.CDMDefaultClusterID, "es_css")
	if !ok || j.Starts != 1 || len(j.Submissions) != 1 || j.Submissions[0].Status != "BOOTING" ||
		float64(j.Submissions[0].ID) != sub["submission-id"] {
		t.Errorf("CDMJob = %+v, %v", j, ok)
	}
}

// The walk-through (DAYU 4.1): two links, a job, start with GET, status
// until SUCCEEDED with the sample's counters.
func TestCDMSampleWalkThrough(t *testing.T) {
	e, logs := newCDMEnv(t, 10*time.Second)
	for _, body := range []string{cdmSampleLink41MySQL, cdmSampleLink41DWS} {
		cdmWantOK(t, e.do("POST", cdmBase+"/cdm/link", body), http.StatusOK, "create link")
	}
	r := e.do("POST", cdmBase+"/cdm/job", cdmSample41Job, "X-Auth-Token", "tok", "X-Cluster-ID", emulator.CDMDefaultClusterID)
	cdmWantOK(t, r, http.StatusOK, "create job")

	r = e.do("GET", cdmBase+"/cdm/job/mysql2dws/start", "")
	cdmWantOK(t, r, http.StatusOK, "start with GET")
	sub := cdmObj(t, cdmArr(t, r.body["submissions"])[0])
	for k, want := range map[string]any{
		"progress": 1.0, "job-name": "mysql2dws", "status": "BOOTING",
		"creation-date": float64(t0.UnixMilli()), "creation-user": "cdm",
	} {
		if sub[k] != want {
			t.Errorf("start %s = %#v, want %#v", k, sub[k], want)
		}
	}

	e.clock.Advance(10 * time.Second)
	sub = e.cdmStatus("mysql2dws")
	cdmWantTypes(t, sub, map[string]string{
		"isIncrementing": "bool", "job-name": "string", "counters": "object", "isStopingIncrement": "string",
		"is-execute-auto": "bool", "last-update-date": "number", "last-update-user": "string", "isDeleteJob": "bool",
		"creation-user": "string", "creation-date": "number", "external-id": "string", "progress": "number",
		"submission-id": "number", "delete_rows": "number", "update_rows": "number", "write_rows": "number",
		"execute-date": "number", "status": "string",
	})
	for k, want := range map[string]any{
		"status": "SUCCEEDED", "progress": 100.0, "last-update-date": float64(t0.Add(10 * time.Second).UnixMilli()),
		"write_rows": 8000.0, "is-execute-auto": false, "isDeleteJob": false, "isStopingIncrement": "",
	} {
		if sub[k] != want {
			t.Errorf("status %s = %#v, want %#v", k, sub[k], want)
		}
	}
	if _, has := sub["error-summary"]; has {
		t.Errorf("a SUCCEEDED run has error-summary: %v", sub)
	}
	if !regexp.MustCompile(`^job_local\d{10}_\d{4}$`).MatchString(sub["external-id"].(string)) {
		t.Errorf("external-id = %v", sub["external-id"])
	}
	counters := cdmObj(t, cdmObj(t, sub["counters"])["org.apache.sqoop.submission.counter.SqoopCounters"])
	// JDBC to JDBC: rows counted, bytes and files not applicable (-1), as
	// in the walk-through's sample.
	want := map[string]float64{
		"BYTES_WRITTEN": -1, "TOTAL_FILES": -1, "BYTES_READ": -1, "FILES_WRITTEN": -1, "TOTAL_SIZE": -1,
		"FILES_READ": -1, "ROWS_WRITTEN": 8000, "ROWS_READ": 8000, "FILES_SKIPPED": -1, "ROWS_WRITTEN_SKIPPED": 0,
	}
	if len(counters) != len(want) {
		t.Errorf("counters = %v, want %d counters", counters, len(want))
	}
	for k, v := range want {
		if counters[k] != v {
			t.Errorf("counter %s = %v, want %v", k, counters[k], v)
		}
	}

	r = e.do("GET", cdmBase+"/cdm/submissions?jname=mysql2dws", "")
	cdmWantOK(t, r, http.StatusOK, "history")
	cdmWantTypes(t, r.body, map[string]string{"submissions": "array", "total": "number", "page_no": "number", "page_size": "number"})
	if r.body["total"] != 1.0 || r.body["page_no"] != 1.0 || r.body["page_size"] != 10.0 ||
		cdmObj(t, cdmArr(t, r.body["submissions"])[0])["status"] != "SUCCEEDED" {
		t.Errorf("history = %s", r.raw)
	}
	for _, secret := range []string{"DB_password", "dws_password"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows %s", secret)
		}
	}
}
