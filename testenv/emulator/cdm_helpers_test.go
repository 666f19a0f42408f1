package emulator_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// cdmBase is the path prefix of the default cluster of project p1.
const cdmBase = "/v1.1/p1/clusters/" + emulator.CDMDefaultClusterID

// cdmSyncBuffer collects log output written from server goroutines.
type cdmSyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *cdmSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *cdmSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newCDMEnv serves a fresh emulator's CDM handler with newEnv's options;
// jobs take jobDuration by default. The returned buffer holds everything
// the emulator logged.
func newCDMEnv(t *testing.T, jobDuration time.Duration) (*env, *cdmSyncBuffer) {
	t.Helper()
	clock := &fakeClock{t: t0}
	logs := &cdmSyncBuffer{}
	opts := testOptions(clock, jobDuration)
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu.Handler(emulator.CDM))
	t.Cleanup(srv.Close)
	return &env{t: t, emu: emu, srv: srv, clock: clock}, logs
}

// wantCDMError checks an error response's status and CDM's error body.
func wantCDMError(t *testing.T, r response, status int, code, msgContains string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %s)", r.status, status, r.raw)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if r.body["errCode"] != code || r.body["code"] != code {
		t.Errorf("errCode, code = %v, %v, want %s (body %s)", r.body["errCode"], r.body["code"], code, r.raw)
	}
	msg, _ := r.body["externalMessage"].(string)
	if !strings.Contains(msg, msgContains) || r.body["message"] != msg {
		t.Errorf("externalMessage = %q, message = %v; want both to contain %q", msg, r.body["message"], msgContains)
	}
}

// cdmWantOK fails the test unless r has status want.
func cdmWantOK(t *testing.T, r response, want int, what string) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, want, r.raw)
	}
}

// cdmWantTypes checks that obj has each field with the JSON type named:
// string, number, bool, array or object.
func cdmWantTypes(t *testing.T, obj map[string]any, types map[string]string) {
	t.Helper()
	for field, want := range types {
		v, ok := obj[field]
		if !ok {
			t.Errorf("field %q missing in %v", field, obj)
			continue
		}
		var got string
		switch v.(type) {
		case string:
			got = "string"
		case float64:
			got = "number"
		case bool:
			got = "bool"
		case []any:
			got = "array"
		case map[string]any:
			got = "object"
		default:
			got = fmt.Sprintf("%T", v)
		}
		if got != want {
			t.Errorf("field %q = %#v is %s, want %s", field, v, got, want)
		}
	}
}

// cdmObj and cdmArr pick a nested JSON object or array, failing the test when
// the value has another type.
func cdmObj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%#v is not a JSON object", v)
	}
	return m
}

func cdmArr(t *testing.T, v any) []any {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%#v is not a JSON array", v)
	}
	return a
}

// cdmLinkBody is a minimal link of connector with one linkConfig input.
func cdmLinkBody(name, connector string) string {
	return fmt.Sprintf(`{"links":[{"name":%q,"connector-name":%q,"link-config-values":{"configs":[`+
		`{"name":"linkConfig","inputs":[{"name":"linkConfig.host","value":"10.0.0.1"},`+
		`{"name":"linkConfig.password","value":"link-secret-%s"}]}]}}]}`, name, connector, name)
}

// cdmJobBody is a minimal job from link src (generic-jdbc-connector) to
// link dst (obs-connector).
func cdmJobBody(name, src, dst string) string {
	return fmt.Sprintf(`{"jobs":[{"job_type":"NORMAL_JOB","name":%q,`+
		`"from-connector-name":"generic-jdbc-connector","from-link-name":%q,`+
		`"to-connector-name":"obs-connector","to-link-name":%q,`+
		`"from-config-values":{"configs":[{"name":"fromJobConfig","inputs":[{"name":"fromJobConfig.tableName","value":"t1"}]}]},`+
		`"to-config-values":{"configs":[{"name":"toJobConfig","inputs":[{"name":"toJobConfig.bucketName","value":"b"}]}]},`+
		`"driver-config-values":{"configs":[{"name":"retryJobConfig","inputs":[{"name":"retryJobConfig.retryJobType","value":"NONE"}]}]}}]}`,
		name, src, dst)
}

// cdmSetup creates links "src" (JDBC) and "dst" (OBS) in the default
// cluster of p1, and the named jobs between them.
func (e *env) cdmSetup(jobs ...string) {
	e.t.Helper()
	cdmWantOK(e.t, e.do("POST", cdmBase+"/cdm/link", cdmLinkBody("src", "generic-jdbc-connector")), 200, "create link src")
	cdmWantOK(e.t, e.do("POST", cdmBase+"/cdm/link", cdmLinkBody("dst", "obs-connector")), 200, "create link dst")
	for _, j := range jobs {
		cdmWantOK(e.t, e.do("POST", cdmBase+"/cdm/job", cdmJobBody(j, "src", "dst")), 200, "create job "+j)
	}
}

// cdmStart starts job in the default cluster and returns its submission.
func (e *env) cdmStart(job string) map[string]any {
	e.t.Helper()
	r := e.do("PUT", cdmBase+"/cdm/job/"+job+"/start", "")
	cdmWantOK(e.t, r, 200, "start "+job)
	return cdmObj(e.t, cdmArr(e.t, r.body["submissions"])[0])
}

// cdmStatus returns the status call's single submission.
func (e *env) cdmStatus(job string) map[string]any {
	e.t.Helper()
	r := e.do("GET", cdmBase+"/cdm/job/"+job+"/status", "")
	cdmWantOK(e.t, r, 200, "status "+job)
	subs := cdmArr(e.t, r.body["submissions"])
	if len(subs) != 1 {
		e.t.Fatalf("status returned %d submissions, want 1: %s", len(subs), r.raw)
	}
	return cdmObj(e.t, subs[0])
}
