package emulator_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// Every project has a running default cluster without creating one.
func TestCDMDefaultCluster(t *testing.T) {
	e, _ := newCDMEnv(t, time.Second)
	if n := len(e.emu.CDMClusters()); n != 0 {
		t.Errorf("%d clusters before any call, want 0", n)
	}
	for _, project := range []string{"p1", "p2"} {
		r := e.do("GET", "/v1.1/"+project+"/clusters", "")
		cdmWantOK(t, r, http.StatusOK, "list")
		list := cdmArr(t, r.body["clusters"])
		if len(list) != 1 {
			t.Fatalf("clusters of %s = %s", project, r.raw)
		}
		c := cdmObj(t, list[0])
		if c["id"] != emulator.CDMDefaultClusterID || c["name"] != emulator.CDMDefaultClusterName || c["status"] != "200" ||
			c["statusDetail"] != "Normal" || len(cdmArr(t, c["actions"])) != 0 || c["flavorName"] != "cdm.medium" {
			t.Errorf("default cluster of %s = %v", project, c)
		}
	}
	got := e.emu.CDMClusters()
	if len(got) != 2 || got[0].ProjectID != "p1" || got[1].ProjectID != "p2" || got[0].ID != emulator.CDMDefaultClusterID ||
		got[0].Status != "200" || !got[0].Created.Equal(t0) {
		t.Errorf("CDMClusters = %+v", got)
	}
	// A job can be created in it right away, in a project not seen before.
	p3 := "/v1.1/p3/clusters/" + emulator.CDMDefaultClusterID
	cdmWantOK(t, e.do("POST", p3+"/cdm/link", cdmLinkBody("src", "generic-jdbc-connector")), http.StatusOK, "link in p3")
}

func TestCDMClusterErrors(t *testing.T) {
	e, _ := newCDMEnv(t, 10*time.Second)
	nic := `"nics":[{"securityGroupId":"sg","net-id":"net"}]`
	medium := `"flavorRef":"fb8fe666-6734-4b11-bc6c-43d11db3c745"`
	for _, tc := range []struct{ name, body, msg string }{
		{"empty body", "", "empty"},
		{"no cluster", `{"auto_remind":false}`, "cluster is mandatory"},
		{"bad flavor", `{"cluster":{"instances":[{"availability_zone":"az",` + nic + `,"flavorRef":"x","type":"cdm"}]}}`, `flavorRef "x"`},
		{"no nics", `{"cluster":{"instances":[{"availability_zone":"az",` + medium + `,"type":"cdm"}]}}`, "one or two NICs"},
		{"three nics", `{"cluster":{"instances":[{"availability_zone":"az","nics":[{},{},{}],` + medium + `,"type":"cdm"}]}}`, "one or two NICs"},
		{"nic without subnet", `{"cluster":{"instances":[{"availability_zone":"az","nics":[{"securityGroupId":"sg"}],` + medium + `,"type":"cdm"}]}}`, "net-id"},
		{"no az", `{"cluster":{"instances":[{` + nic + `,` + medium + `,"type":"cdm"}]}}`, "availability_zone is mandatory"},
		{"bad type", `{"cluster":{"instances":[{"availability_zone":"az",` + nic + `,` + medium + `,"type":"vm"}]}}`, "type must be cdm"},
		{"auto off and schedule", `{"cluster":{"isAutoOff":true,"isScheduleBootOff":true}}`, "cannot be enabled at the same time"},
		{"bad sys_tag", `{"cluster":{"sys_tags":[{"key":"k","value":"v"}]}}`, "_sys_enterprise_project_id"},
		{"bad datastore", `{"cluster":{"datastore":{"type":"mysql"}}}`, "datastore.type"},
		{"duplicate name", `{"cluster":{"name":"cdm-emulated"}}`, "cluster name cdm-emulated already exists"},
	} {
		t.Run("create "+tc.name, func(t *testing.T) {
			wantCDMError(t, e.do("POST", "/v1.1/p1/clusters", tc.body), http.StatusBadRequest, "Cdm.0014", tc.msg)
		})
	}
	if n := len(e.emu.CDMClusters()); n != 1 {
		t.Errorf("%d clusters after refused creates, want the default only", n)
	}

	action := cdmBase + "/action"
	for _, tc := range []struct{ name, body, msg string }{
		{"none", `{}`, "exactly one of restart, start and stop"},
		{"two", `{"start":{},"stop":{}}`, "exactly one"},
		{"start not an object", `{"start":"now"}`, "start must be an empty object"},
		{"restart mode", `{"restart":{"restartMode":"NOW"}}`, "restartMode"},
		{"restart level", `{"restart":{"restartLevel":"HOST"}}`, "restartLevel"},
		{"restart instance", `{"restart":{"restartLevel":"SERVICE","instance":"i-1"}}`, "instance and group must be empty"},
		{"restart delay", `{"restart":{"restartDelayTime":-5}}`, "restartDelayTime"},
		{"stop mode", `{"stop":{"stopMode":"SLOWLY"}}`, "stopMode"},
		{"stop delay", `{"stop":{"stopMode":"GRACEFULLY","delayTime":-2}}`, "delayTime"},
	} {
		t.Run("action "+tc.name, func(t *testing.T) {
			wantCDMError(t, e.do("POST", action, tc.body), http.StatusBadRequest, "Cdm.0014", tc.msg)
		})
	}

	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1.1/p1/clusters/nope", ""},
		{"DELETE", "/v1.1/p1/clusters/nope", `{"keep_last_manual_backup":0}`},
		{"POST", "/v1.1/p1/clusters/nope/action", `{"start":{}}`},
		{"POST", "/v1.1/p1/clusters/nope/cdm/job", cdmJobBody("j", "a", "b")},
		{"GET", "/v1.1/p2/clusters/" + "other-project-cluster", ""},
	} {
		wantCDMError(t, e.do(tc.method, tc.path, tc.body), http.StatusNotFound, "Cdm.0001", "The resource does not exist or is invalid")
	}
	wantCDMError(t, e.do("DELETE", cdmBase, `{}`), http.StatusBadRequest, "Cdm.0014", "keep_last_manual_backup is mandatory")

	// Actions the cluster's state forbids, and harmless repeats.
	r := e.do("POST", "/v1.1/p1/clusters", `{"cluster":{"name":"fresh"}}`)
	cdmWantOK(t, r, http.StatusAccepted, "create")
	fresh := "/v1.1/p1/clusters/" + r.body["id"].(string) + "/action"
	wantCDMError(t, e.do("POST", fresh, `{"start":{}}`), http.StatusBadRequest, "Cdm.0014", "is Creating (100): cannot start it")
	wantCDMError(t, e.do("POST", fresh, `{"stop":{}}`), http.StatusBadRequest, "Cdm.0014", "cannot stop it")
	cdmWantOK(t, e.do("POST", action, `{"start":{}}`), http.StatusOK, "start a running cluster")
	cdmWantOK(t, e.do("POST", action, `{"restart":{}}`), http.StatusOK, "restart")
	wantCDMError(t, e.do("POST", action, `{"restart":{}}`), http.StatusBadRequest, "Cdm.0014", "is restarting")
	e.clock.Advance(10 * time.Second)
	cdmWantOK(t, e.do("POST", action, `{"stop":{"stopMode":"GRACEFULLY","delayTime":-1}}`), http.StatusOK, "stop")
	cdmWantOK(t, e.do("POST", action, `{"stop":{}}`), http.StatusOK, "stop a stopping cluster")
	wantCDMError(t, e.do("POST", action, `{"restart":{}}`), http.StatusBadRequest, "Cdm.0014", "Stopping (910)")
	e.clock.Advance(10 * time.Second)
	cdmWantOK(t, e.do("POST", action, `{"stop":{}}`), http.StatusOK, "stop a stopped cluster")
	c := e.emu.CDMClusters()[0]
	if c.ProjectID != "p1" || c.ID != emulator.CDMDefaultClusterID || c.Status != "900" || c.Starts != 0 || c.Stops != 1 ||
		c.Restarts != 1 || !c.Updated.Equal(t0.Add(20*time.Second)) {
		t.Errorf("default cluster = %+v", c)
	}
}

// The walk-through and the tables disagree on a header: X-Language is
// mandatory for creating clusters, but not sent; both are accepted.
func TestCDMClusterXLanguage(t *testing.T) {
	e, _ := newCDMEnv(t, time.Second)
	for i, headers := range [][]string{
		{"X-Auth-Token", "t"},
		{"X-Auth-Token", "t", "X-Language", "en-us"},
	} {
		body := strings.Replace(`{"cluster":{"name":"cN"}}`, "N", string(rune('0'+i)), 1)
		cdmWantOK(t, e.do("POST", "/v1.1/p1/clusters", body, headers...), http.StatusAccepted, "create")
	}
}
