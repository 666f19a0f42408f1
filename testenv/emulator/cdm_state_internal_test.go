package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// cdmTestClock is a settable clock for this internal test.
type cdmTestClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *cdmTestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *cdmTestClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// cdmCall sends one authenticated request to e's CDM handler.
func cdmCall(t *testing.T, e *Emulator, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Auth-Token", "t")
	rec := httptest.NewRecorder()
	e.Handler(CDM).ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// The CDM state survives a JSON round trip: every cluster, link, job and
// submission, so a restored emulator answers exactly as the original.
func TestCDMStateRoundTrip(t *testing.T) {
	clock := &cdmTestClock{t: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
	opts := Options{JobDuration: 10 * time.Second, Now: clock.Now, AcceptAnyToken: true, DisableRateLimits: true}
	e := New(opts)
	e.AddRule(Rule{Service: CDM, Match: "bad", FailMessage: "boom", FailCode: "Cdm.0233"})
	e.AddRule(Rule{Service: CDM, Match: "stuck", Hang: true})

	base := "/v1.1/p1/clusters/" + CDMDefaultClusterID
	link := func(name, connector string) string {
		return `{"links":[{"name":"` + name + `","connector-name":"` + connector + `","enabled":true,"link-config-values":{` +
			`"configs":[{"name":"linkConfig","id":3,"inputs":[{"name":"linkConfig.usingNative","value":false},` +
			`{"name":"linkConfig.port","value":3306},{"name":"linkConfig.password","value":"secret"}]}],` +
			`"extended-configs":{"name":"x","value":"y"},"validators":["v1"]}}]}`
	}
	job := func(name string) string {
		return `{"jobs":[{"name":"` + name + `","from-connector-name":"generic-jdbc-connector","from-link-name":"db",` +
			`"to-connector-name":"obs-connector","to-link-name":"obs",` +
			`"from-config-values":{"configs":[{"name":"fromJobConfig","inputs":[{"name":"fromJobConfig.tableName","value":"t"}]}]},` +
			`"to-config-values":{"configs":[{"name":"toJobConfig","inputs":{}}]},` +
			`"driver-config-values":{"configs":[]}}]}`
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1.1/p1/clusters", `{"cluster":{"name":"second","vpcId":"vpc"}}`},
		{"POST", base + "/cdm/link", link("db", "generic-jdbc-connector")},
		{"POST", base + "/cdm/link", link("obs", "obs-connector")},
		{"POST", base + "/cdm/job", job("good")},
		{"POST", base + "/cdm/job", job("bad")},
		{"POST", base + "/cdm/job", job("stuck")},
		{"POST", base + "/cdm/job", job("stopped")},
		{"POST", base + "/cdm/job", job("never")},
		{"PUT", base + "/cdm/job/good/start", ""},
		{"PUT", base + "/cdm/job/bad/start", ""},
		{"PUT", base + "/cdm/job/stuck/start", ""},
		{"PUT", base + "/cdm/job/stopped/start", ""},
		{"PUT", base + "/cdm/job/stopped/stop", ""},
		{"GET", base + "/cdm/job/good/status", ""},
	} {
		if status, body := cdmCall(t, e, c.method, c.path, c.body); status >= 300 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, status, body)
		}
		clock.Advance(time.Second)
	}

	e.mu.Lock()
	saved, err := json.Marshal(e.cdm)
	e.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var restored cdmState
	if err := json.Unmarshal(saved, &restored); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	if !reflect.DeepEqual(e.cdm, restored) {
		t.Errorf("restored state differs:\n%+v\nwant\n%+v", restored, e.cdm)
	}
	e.mu.Unlock()
	again, _ := json.Marshal(restored)
	if !bytes.Equal(saved, again) {
		t.Errorf("second encoding differs:\n%s\nfirst:\n%s", again, saved)
	}
	if n := len(restored.Clusters); n != 2 || len(restored.Clusters[0].Jobs) != 5 || len(restored.Clusters[0].Links) != 2 {
		t.Fatalf("restored %d clusters; the default has %d jobs, %d links", n, len(restored.Clusters[0].Jobs), len(restored.Clusters[0].Links))
	}

	// The restored emulator answers every query as the original does,
	// later on the same clock too.
	e2 := New(opts)
	e2.cdm = restored
	clock.Advance(20 * time.Second)
	for _, path := range []string{
		"/v1.1/p1/clusters",
		base + "/cdm/job/all",
		base + "/cdm/link/db",
		base + "/cdm/job/good/status",
		base + "/cdm/job/bad/status",
		base + "/cdm/job/stuck/status",
		base + "/cdm/job/stopped/status",
		base + "/cdm/job/never/status",
		base + "/cdm/submissions?jname=stopped",
	} {
		s1, b1 := cdmCall(t, e, "GET", path, "")
		s2, b2 := cdmCall(t, e2, "GET", path, "")
		if s1 != http.StatusOK || s1 != s2 || b1 != b2 {
			t.Errorf("GET %s: original %d %s\nrestored %d %s", path, s1, b1, s2, b2)
		}
	}
	if !reflect.DeepEqual(e.CDMJobs(), e2.CDMJobs()) || !reflect.DeepEqual(e.CDMLinks(), e2.CDMLinks()) ||
		!reflect.DeepEqual(e.CDMClusters(), e2.CDMClusters()) {
		t.Error("introspection of the restored emulator differs")
	}
	// The default cluster is not seeded a second time, and IDs go on.
	if status, body := cdmCall(t, e2, "PUT", base+"/cdm/job/good/start", ""); status != http.StatusOK ||
		!strings.Contains(body, `"submission-id":`) {
		t.Errorf("start after restore: %d %s", status, body)
	}
	if j := e2.CDMJobs(); len(j) != 5 || j[0].Name != "good" || len(j[0].Submissions) != 2 ||
		j[0].Submissions[1].ID <= j[3].Submissions[0].ID {
		t.Errorf("jobs after restore = %+v", j)
	}
	if n := len(e2.CDMClusters()); n != 2 {
		t.Errorf("%d clusters after restore, want 2", n)
	}
}
