package emulator_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Secrets are stored but appear in no log line and no query response,
// whatever the operation.
func TestCDMLinkSecretsNeverLogged(t *testing.T) {
	e, logs := newCDMEnv(t, time.Second)
	secrets := []string{"pw-1st-secret", "sk-2nd-secret", "ak-sk-3rd-secret", "pw-4th-secret"}
	body := `{"links":[{"name":"obs","connector-name":"obs-connector","link-config-values":{"configs":[{"name":"linkConfig","inputs":[` +
		`{"name":"linkConfig.accessKey","value":"AK"},{"name":"linkConfig.securityKey","value":"sk-2nd-secret"}]}]}},` +
		`{"name":"dis","connector-name":"dis-connector","link-config-values":{"configs":[{"name":"linkConfig","inputs":[` +
		`{"name":"linkConfig.sk","value":"ak-sk-3rd-secret"}]}]}},` +
		`{"name":"db","connector-name":"generic-jdbc-connector","link-config-values":{"configs":[{"name":"linkConfig","inputs":[` +
		`{"name":"linkConfig.password","values":"pw-1st-secret"}]}]}}]}`
	r := e.do("POST", cdmBase+"/cdm/link", body)
	cdmWantOK(t, r, http.StatusOK, "create three links")
	if r.body["name"] != "obs" {
		t.Errorf("name = %v, want the first link's", r.body["name"])
	}
	cdmWantOK(t, e.do("POST", cdmBase+"/cdm/link?validate=true", body), http.StatusOK, "validate")
	modified := strings.Replace(cdmLinkBody("db", "generic-jdbc-connector"), "link-secret-db", "pw-4th-secret", 1)
	cdmWantOK(t, e.do("PUT", cdmBase+"/cdm/link/db", modified), http.StatusOK, "modify")
	for _, name := range []string{"obs", "dis", "db"} {
		r := e.do("GET", cdmBase+"/cdm/link/"+name, "")
		cdmWantOK(t, r, http.StatusOK, "query "+name)
		for _, s := range secrets {
			if strings.Contains(r.raw, s) {
				t.Errorf("query %s returns secret %s: %s", name, s, r.raw)
			}
		}
	}
	// An invalid link with a secret is refused without logging it either.
	bad := strings.Replace(body, `"name":"linkConfig","inputs"`, `"name":"otherConfig","inputs"`, 1)
	r = e.do("POST", "/v1.1/p2/clusters/cdm-cluster-1/cdm/link", bad)
	if r.status != http.StatusInternalServerError {
		t.Errorf("invalid link: %d %s", r.status, r.raw)
	}
	cdmWantOK(t, e.do("DELETE", cdmBase+"/cdm/link/db", ""), http.StatusOK, "delete")

	stored := map[string]string{}
	for _, l := range e.emu.CDMLinks() {
		for k, v := range l.Inputs {
			stored[l.Name+" "+k] = v
		}
	}
	if stored["obs linkConfig.securityKey"] != "sk-2nd-secret" || stored["dis linkConfig.sk"] != "ak-sk-3rd-secret" || len(stored) != 3 {
		t.Errorf("stored inputs = %v", stored)
	}
	out := logs.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log shows secret %s:\n%s", s, out)
		}
	}
	for _, want := range []string{"link=obs", "link=dis", "emulator CDM link validated", "emulator CDM link modified", "emulator CDM link deleted"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

func TestCDMLinkErrors(t *testing.T) {
	e, _ := newCDMEnv(t, time.Second)
	e.cdmSetup("j1")
	link := cdmLinkBody("l2", "hdfs-connector")
	for _, tc := range []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"empty body", "", 400, "Cdm.0018", "empty"},
		{"invalid JSON", `{"links":`, 400, "Cdm.0018", "invalid"},
		{"no links", `{"links":[]}`, 400, "Cdm.0018", "links is mandatory"},
		{"no name", strings.Replace(link, `"name":"l2",`, "", 1), 400, "Cdm.0018", "links[0].name is mandatory"},
		{"no connector", strings.Replace(link, `"connector-name":"hdfs-connector",`, "", 1), 400, "Cdm.0018", "connector-name is mandatory"},
		{"no link-config-values", `{"links":[{"name":"l2","connector-name":"hdfs-connector"}]}`, 400, "Cdm.0018", "link-config-values is mandatory"},
		{"duplicate", cdmLinkBody("src", "generic-jdbc-connector"), 400, "Cdm.0315", "Link name src already exists."},
		{"duplicate in body", `{"links":[` + link[10:len(link)-2] + `,` + link[10:len(link)-2] + `]}`, 400, "Cdm.0315", "l2 already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCDMError(t, e.do("POST", cdmBase+"/cdm/link", tc.body), tc.status, tc.code, tc.msg)
		})
	}

	// Input problems come back in the validation-result envelope, with 500.
	for _, tc := range []struct{ name, body, msg string }{
		{"no linkConfig", `{"links":[{"name":"l2","connector-name":"hdfs-connector","link-config-values":{"configs":[]}}]}`, "the linkConfig configuration of connector hdfs-connector is missing"},
		{"unqualified input", strings.Replace(link, `"linkConfig.host"`, `"host"`, 1), `must start with "linkConfig."`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", cdmBase+"/cdm/link", tc.body)
			if r.status != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", r.status)
			}
			v := cdmObj(t, cdmArr(t, r.body["validation-result"])[0])
			m := cdmObj(t, cdmArr(t, v["linkConfig"])[0])
			if m["status"] != "ERROR" || !strings.Contains(m["message"].(string), tc.msg) {
				t.Errorf("validation-result = %s, want an ERROR containing %q", r.raw, tc.msg)
			}
		})
	}
	if n := len(e.emu.CDMLinks()); n != 2 {
		t.Errorf("%d links after refused creates, want 2", n)
	}

	// http-connector has no link parameters; validate=true creates nothing.
	cdmWantOK(t, e.do("POST", cdmBase+"/cdm/link", `{"links":[{"name":"web","connector-name":"http-connector","link-config-values":{"configs":[]}}]}`), 200, "http link")
	cdmWantOK(t, e.do("POST", cdmBase+"/cdm/link?validate=true", link), 200, "validate only")
	wantCDMError(t, e.do("GET", cdmBase+"/cdm/link/l2", ""), 500, "Cdm.0101", "Link [l2] does not exist.")

	for _, tc := range []struct {
		method, path, body string
		status             int
		code, msg          string
	}{
		{"GET", "/cdm/link/nope", "", 500, "Cdm.0101", "Link [nope] does not exist."},
		{"DELETE", "/cdm/link/nope", "", 500, "Cdm.0101", "Link [nope] does not exist."},
		{"PUT", "/cdm/link/nope", cdmLinkBody("nope", "hdfs-connector"), 500, "Cdm.0316", "Failed to update the link nope that does not exist."},
		{"PUT", "/cdm/link/web", cdmLinkBody("dst", "obs-connector"), 400, "Cdm.0315", "Link name dst already exists."},
		{"PUT", "/cdm/link/src", cdmLinkBody("src2", "generic-jdbc-connector"), 500, "Cdm.0021", "Given link name is in use"},
		{"PUT", "/cdm/link/src", `{"links":[` + link[10:len(link)-2] + `,` + link[10:len(link)-2] + `]}`, 400, "Cdm.0315", "already exists"},
		{"DELETE", "/cdm/link/src", "", 500, "Cdm.0021", "Given link name is in use"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			wantCDMError(t, e.do(tc.method, cdmBase+tc.path, tc.body), tc.status, tc.code, tc.msg)
		})
	}
	var names []string
	for _, l := range e.emu.CDMLinks() {
		names = append(names, l.Name)
	}
	if got := strings.Join(names, ","); got != "src,dst,web" {
		t.Errorf("links = %s, want src,dst,web", got)
	}
}

// The tables' "values" is accepted for "value"; the query writes "value".
func TestCDMLinkValuesAlias(t *testing.T) {
	e, _ := newCDMEnv(t, time.Second)
	body := `{"links":[{"name":"h","connector-name":"hdfs-connector","link-config-values":{"configs":[{"name":"linkConfig","id":7,"type":"LINK",` +
		`"inputs":[{"name":"linkConfig.uri","values":"hdfs://nn:8020/"},{"name":"linkConfig.port","value":22}]}]}}]}`
	cdmWantOK(t, e.do("POST", cdmBase+"/cdm/link", body), 200, "create")
	r := e.do("GET", cdmBase+"/cdm/link/h", "")
	c := cdmObj(t, cdmArr(t, cdmObj(t, cdmObj(t, cdmArr(t, r.body["links"])[0])["link-config-values"])["configs"])[0])
	in := cdmArr(t, c["inputs"])
	if v := cdmObj(t, in[0]); v["value"] != "hdfs://nn:8020/" {
		t.Errorf("uri input = %v", v)
	}
	if v := cdmObj(t, in[1]); v["value"] != 22.0 {
		t.Errorf("port input = %v, want the number 22", v)
	}
	if c["id"] != 7.0 || c["type"] != "LINK" {
		t.Errorf("config id, type = %v, %v; want them echoed", c["id"], c["type"])
	}
	if l := e.emu.CDMLinks()[0]; l.Inputs["linkConfig.uri"] != "hdfs://nn:8020/" || l.Inputs["linkConfig.port"] != "22" {
		t.Errorf("CDMLinks inputs = %v", l.Inputs)
	}
}
