package testenv_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/pipectl/pipectl/internal/engine"
	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/testenv/devserver"
	"github.com/pipectl/pipectl/testenv/emulator"
	"github.com/pipectl/pipectl/workflows"
)

// logSink collects log output, safely from any goroutine.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes())
}

// recordedRequest is a request a service received, as the recording
// proxy in front of it saw it.
type recordedRequest struct {
	service, method, path string
	header                http.Header
	body                  []byte
}

// recordingProxies puts a reverse proxy in front of each emulated
// service that records what the worker sends it (bodies included), and
// returns the proxies' endpoints. The Host header is passed on as the
// worker signed it.
func recordingProxies(t *testing.T, endpoints map[string]string) (map[string]string, func() []recordedRequest) {
	t.Helper()
	var mu sync.Mutex
	var reqs []recordedRequest
	out := map[string]string{}
	for svc, target := range endpoints {
		u, err := url.Parse(target)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(u)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			mu.Lock()
			reqs = append(reqs, recordedRequest{service: svc, method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body})
			mu.Unlock()
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		out[svc] = srv.URL
	}
	return out, func() []recordedRequest {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(reqs)
	}
}

// secretEncodings are the forms a secret could take in a text: as it is,
// and base64-encoded (standard and URL alphabets) at each of the three
// alignments it could have inside a longer encoded payload, without the
// characters its neighbours would change.
func secretEncodings(secret string) []string {
	forms := []string{secret}
	for k := range 3 {
		sub := secret[k:]
		sub = sub[:len(sub)/3*3]
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			forms = append(forms, enc.EncodeToString([]byte(sub)))
		}
	}
	return forms
}

// leaked returns the forms of secret found in text.
func leaked(text []byte, secret string) []string {
	var found []string
	for _, f := range secretEncodings(secret) {
		if bytes.Contains(text, []byte(f)) {
			found = append(found, f)
		}
	}
	return found
}

func randomSecret(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 9)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

const secretsChildSpec = `name: secrets-migrate
defaults:
  poll: {interval: 200ms, max_interval: 1s}
steps:
  - id: migrate
    kind: lakeformation.job
    with:
      instance_id: 6a1f0c2e9b7d4c3e8f5a2b1c0d9e8f7a
      name: aliyun_metadata_migration
      type: METADATA_MIGRATION
      parameter:
        metadata_migration_parameter:
          datasource_type: ALIYUN_DLF
          datasource_parameter:
            endpoint: dlf.cn-hangzhou.aliyuncs.com
            username: migrator
            access_key: ${secret.ALIYUN_AK}
            secret_key: ${secret.ALIYUN_SK}
          source_catalog: hive
          target_catalog: hive
          conflict_strategy: UPSERT
          log_location: obs://lake-ops/migration-logs/
          sync_objects: [DATABASE, TABLE]
          locations:
            - {key: "oss://old-lake/warehouse", value: "obs://lake-warehouse/hive"}
`

// secretsSpec uses a secret in every place a spec may: CDM link
// credentials, a DIS dump task's DWS password, an http step's bearer
// token and URL query, and, in a sub-pipeline run as a child workflow,
// a LakeFormation data source's access key and secret key.
func secretsSpec(hook string) string {
	return fmt.Sprintf(`name: secrets
defaults:
  poll: {interval: 200ms, max_interval: 1s}
  retry: {initial_interval: 200ms, max_interval: 1s}
steps:
  - id: copy
    kind: cdm.job
    with:
      name: orders-to-obs
      cluster_id: cdm-cluster-1
      from_link: shop-mysql
      from_connector: generic-jdbc-connector
      from_config: {useSql: false, schemaName: shop, tableName: orders}
      to_link: lake-obs
      to_connector: obs-connector
      to_config: {bucketName: lake-raw, outputDirectory: /orders/, outputFormat: CSV_FILE}
      links:
        - name: shop-mysql
          connector: generic-jdbc-connector
          config: {databaseType: MYSQL, host: mysql.shop.internal, port: 3306, database: shop, username: cdm_reader, password: "${secret.SHOP_MYSQL_PASSWORD}"}
        - name: lake-obs
          connector: obs-connector
          config: {storageType: OBS, server: obs.example.com, port: 443, accessKey: "${secret.LAKE_OBS_AK}", securityKey: "${secret.LAKE_OBS_SK}"}
  - id: clicks
    kind: dis.stream
    with: {name: clicks, partitions: 1}
  - id: to_dws
    kind: dis.dump_task
    with:
      stream: ${steps.clicks.outputs.name}
      name: clicks-to-dws
      destination: DWS
      descriptor:
        agency_name: dis_admin_agency
        deliver_time_interval: 300
        dws_cluster_name: dws1
        dws_cluster_id: c-1
        dws_database_name: dw
        dws_schema: public
        dws_table_name: clicks
        dws_delimiter: ","
        user_name: loader
        user_password: ${secret.DWS_PASSWORD}
        kms_user_key_name: k
        kms_user_key_id: k-1
        obs_bucket_path: staging
  - id: notify
    kind: http
    depends_on: copy
    with:
      url: %[1]s/hooks/done
      method: POST
      headers: {Authorization: "Bearer ${secret.API_TOKEN}"}
      body: '{"pipeline": "secrets", "rows": "${steps.copy.outputs.rows_written}"}'
  - id: query
    kind: http
    with: {url: "%[1]s/query?token=${secret.QUERY_TOKEN}"}
  - id: signed
    kind: http
    with: {url: "%[1]s/signed", sign: true}
  - id: migrate
    kind: pipeline
    with: {spec: lib/migrate.yaml}
`, hook)
}

// TestFaultSecretsNeverLeak runs a pipeline that uses secrets in every
// way a spec can (CDM link credentials, a DWS password, an http bearer
// token and URL query, LakeFormation data source keys in a child
// workflow) on a worker process that authenticates with an access key
// and reads the secrets from PIPECTL_SECRET_* variables and from files
// in PIPECTL_SECRETS_DIR; two of the calls fail first, so failures are
// recorded too. Every secret reaches its service; none is in any
// workflow history, exported as JSON (child workflows included; checked
// as it is, where payloads are base64, and with its payloads decoded),
// in the logs of the worker, the Temporal server or the emulator, or in
// what pipectl printed; neither is the worker's secret key.
func TestFaultSecretsNeverLeak(t *testing.T) {
	began := time.Now()
	bin := workerBinary(t)
	secrets := map[string]string{}
	for _, name := range []string{"SHOP_MYSQL_PASSWORD", "LAKE_OBS_AK", "LAKE_OBS_SK", "DWS_PASSWORD", "API_TOKEN", "QUERY_TOKEN", "ALIYUN_AK", "ALIYUN_SK"} {
		secrets[name] = randomSecret(t, strings.ToLower(strings.ReplaceAll(name, "_", "-")))
	}
	const ak = "PIPECTLSECRETSAK0001"
	sk := randomSecret(t, "worker-sk")
	all := maps.Clone(secrets)
	all["HUAWEICLOUD_SDK_SK"] = sk

	// Everything logs at its most verbose into sinks: the Temporal
	// server, the stack's client, the emulator.
	serverLog, emulatorLog := &logSink{}, &logSink{}
	st, err := testenv.Start(t.Context(), testenv.StackOptions{
		NoWorker:          true,
		DisableRateLimits: true,
		Logger:            slog.New(slog.NewJSONHandler(serverLog, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ServerLogLevel:    slog.LevelDebug,
	})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(st.Stop)
	em := startEmulator(t, emulator.Options{
		JobDuration:       300 * time.Millisecond,
		AccessKeys:        []emulator.AccessKey{{AK: ak, SK: sk}},
		Logger:            slog.New(slog.NewJSONHandler(emulatorLog, &slog.HandlerOptions{Level: slog.LevelDebug})),
		DisableRateLimits: true,
	}, emulator.Ports(0))
	endpoints, received := recordingProxies(t, em.endpoints)

	// The http steps' endpoint: the bearer token is checked, the first
	// call of each of two paths fails (a 503, a dropped connection).
	var hookMu sync.Mutex
	hookCalls := map[string]int{}
	var hookAuth []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookMu.Lock()
		hookCalls[r.URL.Path]++
		n := hookCalls[r.URL.Path]
		hookAuth = append(hookAuth, r.URL.Path+" "+r.Header.Get("Authorization"))
		hookMu.Unlock()
		switch {
		case r.URL.Path == "/hooks/done" && r.Header.Get("Authorization") != "Bearer "+secrets["API_TOKEN"]:
			http.Error(w, "who are you?", http.StatusUnauthorized)
		case r.URL.Path == "/hooks/done" && n == 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case r.URL.Path == "/query" && n == 1:
			// The client's error quotes the URL, query and all.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case r.URL.Path == "/query" && r.URL.Query().Get("token") != secrets["QUERY_TOKEN"]:
			http.Error(w, "bad token", http.StatusForbidden)
		default:
			fmt.Fprintln(w, `{"ok": true}`)
		}
	}))
	t.Cleanup(hook.Close)

	// The worker: an access key, secrets from the environment and from
	// files, no IAM user.
	secretsDir := t.TempDir()
	env := []string{
		engine.EnvAK + "=" + ak,
		engine.EnvSK + "=" + sk,
		engine.EnvIAMUser + "=", engine.EnvIAMDomain + "=", engine.EnvIAMPassword + "=",
		engine.EnvSecretsDir + "=" + secretsDir,
	}
	for svc, u := range endpoints {
		env = append(env, engine.EnvEndpointPrefix+strings.ToUpper(svc)+"="+u)
	}
	for i, name := range slices.Sorted(maps.Keys(secrets)) {
		if i%2 == 0 {
			env = append(env, "PIPECTL_SECRET_"+name+"="+secrets[name])
		} else if err := os.WriteFile(filepath.Join(secretsDir, name), []byte(secrets[name]+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w := startWorkerProcess(t, bin, st, "worker", env...)

	dir := t.TempDir()
	file := filepath.Join(dir, "secrets.yaml")
	for path, src := range map[string]string{file: secretsSpec(hook.URL), filepath.Join(dir, "lib", "migrate.yaml"): secretsChildSpec} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// pipectl, as a user drives it: everything it prints is kept.
	var cliOut bytes.Buffer
	cli := func(args ...string) (int, string) {
		code, stdout, stderr := pipectl(t, st, args...)
		cliOut.WriteString(stdout + stderr)
		return code, stdout + stderr
	}
	code, out := cli("apply", file, "--wait")
	if code != 0 || !strings.Contains(out, "pipeline secrets succeeded") {
		t.Fatalf("apply exited %d", code)
	}
	m := runIDRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no run id in the output")
	}
	id := m[1]
	for _, args := range [][]string{
		{"describe", "run", id}, {"describe", "run", id, "-o", "json"}, {"logs", id},
		{"get", "runs"}, {"get", "runs", "-o", "yaml"}, {"plan", file, "--offline"},
	} {
		if code, _ := cli(args...); code != 0 {
			t.Errorf("pipectl %s exited %d", strings.Join(args, " "), code)
		}
	}
	t.Logf("run %s done after %s", id, time.Since(began).Round(time.Millisecond))

	// The secrets reached the services.
	reqs := received()
	var sent bytes.Buffer
	for _, r := range reqs {
		fmt.Fprintf(&sent, "%s %s %s\n%s\n", r.service, r.method, r.path, r.body)
		if a := r.header.Get("Authorization"); !strings.HasPrefix(a, "SDK-HMAC-SHA256 Access="+ak+",") {
			t.Errorf("%s %s %s was not signed with the worker's access key: Authorization %q", r.service, r.method, r.path, a)
		}
	}
	for _, name := range []string{"SHOP_MYSQL_PASSWORD", "LAKE_OBS_AK", "LAKE_OBS_SK", "DWS_PASSWORD", "ALIYUN_AK", "ALIYUN_SK"} {
		if !bytes.Contains(sent.Bytes(), []byte(secrets[name])) {
			t.Errorf("secret %s reached no service", name)
		}
	}
	if calls := em.em.Calls(); calls["iam POST /v3/auth/tokens"] != 0 {
		t.Errorf("the worker asked IAM for a token %d times; it has an access key", calls["iam POST /v3/auth/tokens"])
	}
	hookMu.Lock()
	if hookCalls["/hooks/done"] != 2 || hookCalls["/query"] != 2 || hookCalls["/signed"] != 1 {
		t.Errorf("http steps' calls %v, want /hooks/done and /query twice (failed, then retried), /signed once", hookCalls)
	}
	for _, a := range hookAuth {
		if path, auth, _ := strings.Cut(a, " "); path == "/signed" && !strings.HasPrefix(auth, "SDK-HMAC-SHA256 Access="+ak+",") {
			t.Errorf("the signed http step sent Authorization %q", auth)
		}
	}
	hookMu.Unlock()
	links := map[string]emulator.CDMLink{}
	for _, l := range em.em.CDMLinks() {
		links[l.Name] = l
	}
	if links["shop-mysql"].Inputs["linkConfig.password"] != secrets["SHOP_MYSQL_PASSWORD"] ||
		links["lake-obs"].Inputs["linkConfig.securityKey"] != secrets["LAKE_OBS_SK"] {
		t.Errorf("CDM links do not hold the secrets")
	}

	// Every run's history, exported as JSON: the parent and its child.
	list, err := st.Client.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: devserver.DefaultNamespace})
	if err != nil {
		t.Fatal(err)
	}
	var exported, decoded bytes.Buffer
	for _, e := range list.GetExecutions() {
		h := fetchRunHistory(t, st.Client, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId())
		b, err := protojson.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		exported.Write(b)
		decoded.WriteString(historyText(t, h))
		if e.GetStatus().String() != "Completed" {
			t.Errorf("run %s is %s", e.GetExecution().GetWorkflowId(), e.GetStatus())
		}
	}
	if n := len(list.GetExecutions()); n != 2 {
		t.Errorf("%d workflow executions, want the run and its child", n)
	}
	// The search looks where the plans are: their placeholders are there,
	// in the decoded payloads and not as such in the raw JSON.
	for name := range secrets {
		ph := "${secret." + name + "}"
		if !strings.Contains(decoded.String(), ph) {
			t.Errorf("placeholder %s not in the decoded histories: the search misses the payloads", ph)
		}
		if bytes.Contains(exported.Bytes(), []byte(ph)) {
			t.Errorf("placeholder %s is in the raw JSON: payloads are not base64 there", ph)
		}
	}
	if !slices.ContainsFunc(secretEncodings("${secret.API_TOKEN}")[1:], func(f string) bool { return bytes.Contains(exported.Bytes(), []byte(f)) }) {
		t.Errorf("the placeholder of API_TOKEN is in no base64 form in the raw JSON: the encoded search misses it")
	}

	workerLog, err := os.ReadFile(w.log)
	if err != nil {
		t.Fatal(err)
	}
	places := map[string][]byte{
		"the exported histories (raw JSON)": exported.Bytes(),
		"the histories' decoded payloads":   decoded.Bytes(),
		"the worker's log":                  workerLog,
		"the server's and client's log":     serverLog.Bytes(),
		"the emulator's log":                emulatorLog.Bytes(),
		"pipectl's output":                  cliOut.Bytes(),
	}
	for where, text := range places {
		if len(text) == 0 {
			t.Errorf("%s is empty: nothing was checked", where)
		}
		for _, name := range slices.Sorted(maps.Keys(all)) {
			if found := leaked(text, all[name]); len(found) > 0 {
				i := bytes.Index(text, []byte(found[0]))
				t.Errorf("secret %s is in %s, as %q: …%s…", name, where, found[0], text[max(0, i-200):min(len(text), i+len(found[0])+100)])
			}
		}
	}
	sizes := map[string]int{}
	for where, text := range places {
		sizes[where] = len(text)
	}
	t.Logf("checked %d service requests; bytes searched: %v", len(reqs), sizes)
	if !bytes.Contains(workerLog, []byte("Activity error")) {
		t.Errorf("the worker logged no failed attempt: the failures were not exercised")
	}
	var status workflows.Status
	if err := st.Client.GetWorkflow(t.Context(), id, "").Get(t.Context(), &status); err != nil || status.State != workflows.RunSucceeded {
		t.Errorf("run %s: %s, %v", id, status.State, err)
	}
	t.Logf("took %s", time.Since(began).Round(time.Millisecond))
}
