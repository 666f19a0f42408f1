package emulator

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestLFStateRoundTrip checks that a populated LakeFormation state survives
// a JSON round trip and that an emulator given it answers alike.
func TestLFStateRoundTrip(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	clock := func() time.Time { return now }
	e := New(Options{Now: clock, JobDuration: 10 * time.Second, AcceptAnyToken: true, DisableRateLimits: true})
	e.AddRule(Rule{Service: LakeFormation, Match: "partial", FailMessage: "2 tables failed", FailCode: "PARTIAL_SUCCESS"})
	h := e.Handler(LakeFormation)
	const base = "/v1/p1/instances/i1/lf-jobs"
	create := func(name, typ, param string) string {
		rec := dlfTestServe(t, h, "POST", base, `{"name":"`+name+`","description":"d","type":"`+typ+`","parameter":{`+param+`}}`)
		var v struct{ ID string }
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		return v.ID
	}
	mig := create("partial_mig", "METADATA_MIGRATION", `"metadata_migration_parameter":{"datasource_type":"MRS_RDS_FOR_MYSQL",
		"datasource_parameter":{"jdbc_url":"jdbc:mysql://h/db","username":"u","password":"secret"},"source_catalog":"s","target_catalog":"t",
		"conflict_strategy":"UPSERT","log_location":"obs://l","sync_objects":["DATABASE","TABLE"],"locations":[{"key":"a","value":"b"}],
		"instance_id":"i1","ignore_obs_checked":true}`)
	perm := create("perm_job", "PERMISSION_MIGRATION", `"permission_migration_parameter":{"location":"obs://p","log_location":"obs://l",
		"policy_type":"RANGER","instance_id":"i1","ranger_permission_migration_principal_relas":{"user_to":"IAM_USER","role_prefix":"r_"}}`)
	create("disc_job", "METADATA_DISCOVERY", `"metadata_discovery_parameter":{"data_location":"obs://d","target_catalog":"c","target_database":"db",
		"conflict_strategy":"INSERT","file_discovery_type":"CSV","header":true,"file_sample_rate":0,"log_location":"obs://l","instance_id":"i1",
		"principals":[{"principal_type":"ROLE","principal_source":"IAM","principal_name":"r.1"}],"execute_strategy":"SCHEDULE",
		"execute_frequency":"WEEKLY","execute_day":"7","execute_hour":23,"execute_minute":"0"}`)
	dlfTestServe(t, h, "POST", base+"/"+mig+"/start?mode=COMPARISON", "")
	dlfTestServe(t, h, "POST", base+"/"+perm+"/start", "")
	now = now.Add(time.Second)
	dlfTestServe(t, h, "POST", base+"/"+perm+"/stop", "")

	data, err := json.Marshal(&e.lf)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "secret") {
		t.Errorf("the state keeps a write-only secret: %s", data)
	}
	var restored lfState
	if err := json.Unmarshal(data, &restored); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&restored)
	if !bytes.Equal(data, again) {
		t.Errorf("round trip changed the state:\n%s\n%s", data, again)
	}
	if len(restored.Jobs) != 3 || restored.Jobs[0].Run == nil || restored.Jobs[2].Pending == nil {
		t.Errorf("restored = %+v", restored)
	}
	e2 := New(Options{Now: clock, JobDuration: 10 * time.Second, AcceptAnyToken: true, DisableRateLimits: true})
	e2.lf = restored
	for _, at := range []time.Duration{0, time.Second, time.Hour} {
		now = now.Add(at)
		if a, b := e.LakeFormationJobs(), e2.LakeFormationJobs(); !reflect.DeepEqual(a, b) {
			t.Errorf("LakeFormationJobs differ:\n%+v\n%+v", a, b)
		}
		for _, p := range []string{base + "/" + mig, base + "?type=METADATA_DISCOVERY", base + "?type=METADATA_MIGRATION&status=PARTIAL_SUCCESS"} {
			a, b := dlfTestServe(t, h, "GET", p, "").Body.String(), dlfTestServe(t, e2.Handler(LakeFormation), "GET", p, "").Body.String()
			if a != b {
				t.Errorf("GET %s differs:\n%s\n%s", p, a, b)
			}
		}
	}
	if j := e2.LakeFormationJobs()[0]; j.Status != "PARTIAL_SUCCESS" || j.Message != "2 tables failed" || j.Mode != "COMPARISON" {
		t.Errorf("restored job = %+v", j)
	}
}
