package emulator_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// vectorsFile is the signer's copy of shared/reference/signing-vectors.json
// (requests the official Go SDK signed, captured as a server received
// them; signing.md §10). The signer's tests check the verify function
// directly; these send the same requests to the emulator over HTTP.
const vectorsFile = "../../activities/cloudapi/signer/testdata/signing-vectors.json"

type sigVectors struct {
	AK            string      `json:"ak"`
	SK            string      `json:"sk"`
	SecurityToken string      `json:"security_token"`
	SkewSeconds   int         `json:"clock_skew_seconds"`
	Vectors       []sigVector `json:"vectors"`
}

type sigVector struct {
	Name            string            `json:"name"`
	Method          string            `json:"method"`
	Host            string            `json:"host"`
	RequestURI      string            `json:"request_uri"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	VerifyAt        time.Time         `json:"verify_at"`
	Valid           bool              `json:"valid"`
	ExpectedFailure string            `json:"expected_failure"`
}

func loadSigVectors(t *testing.T) sigVectors {
	t.Helper()
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f sigVectors
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) != 29 || f.SkewSeconds != 900 {
		t.Fatalf("vectors file: %d vectors, skew %ds; want 29 and 900", len(f.Vectors), f.SkewSeconds)
	}
	return f
}

// service is the emulated service a vector's host names
// (cdm.cn-north-4.myhuaweicloud.com, dayu-dlf..., iam.myhuaweicloud.com).
func (v sigVector) service(t *testing.T) string {
	t.Helper()
	switch first, _, _ := strings.Cut(v.Host, "."); first {
	case "cdm":
		return emulator.CDM
	case "dli":
		return emulator.DLI
	case "dis":
		return emulator.DIS
	case "dayu-dlf":
		return emulator.DLF
	case "iam":
		return emulator.IAM
	}
	t.Fatalf("vector %s: no emulated service for host %s", v.Name, v.Host)
	return ""
}

// send writes the vector's request to addr byte for byte, as the SDK's
// client sent it (request target still percent-encoded as on the wire,
// its Host, every captured header, its body), and reads the response.
// Going below http.Client keeps it from re-escaping the path or adding
// headers of its own.
func (v sigVector) send(t *testing.T, addr string) response {
	t.Helper()
	if cl, ok := v.Headers["Content-Length"]; ok && cl != strconv.Itoa(len(v.Body)) {
		t.Fatalf("vector %s: Content-Length %s for a body of %d bytes", v.Name, cl, len(v.Body))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", v.Method, v.RequestURI, v.Host)
	for _, k := range slices.Sorted(maps.Keys(v.Headers)) {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v.Headers[k])
	}
	if _, ok := v.Headers["Content-Length"]; !ok && v.Body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(v.Body))
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(v.Body)

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: v.Method})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s: response is not a JSON object: %v\n%s", v.Name, err, raw)
		}
	}
	return r
}

// vectorEmulator serves a fresh emulator's handler of one service on
// loopback. Its clock stands still at now and it accepts only keys.
// The IAM user is the one the token vector logs in as, so that request
// succeeds; rate limits are off (the 29 requests come in a burst).
func vectorEmulator(t *testing.T, service string, now time.Time, keys ...emulator.AccessKey) (*emulator.Emulator, string) {
	t.Helper()
	emu := emulator.New(emulator.Options{
		Now:               func() time.Time { return now },
		AccessKeys:        keys,
		Users:             []emulator.User{{Name: "alice", Domain: "acme", Password: "p@ss w0rd&<>ü"}},
		DisableRateLimits: true,
	})
	srv := httptest.NewServer(emu.Handler(service))
	t.Cleanup(srv.Close)
	return emu, srv.Listener.Addr().String()
}

// vectorKey is the access key the emulator needs for v: the vectors'
// AK/SK, temporary (with the vectors' security token) for the vector that
// carries one (signing.md §8), permanent otherwise.
func (f sigVectors) vectorKey(v sigVector) emulator.AccessKey {
	k := emulator.AccessKey{AK: f.AK, SK: f.SK}
	if _, ok := v.Headers["X-Security-Token"]; ok {
		k.SecurityToken = f.SecurityToken
	}
	return k
}

// Valid vectors whose path the emulator does not serve: the gateway
// answers 404 before it looks at credentials (unmatched in emulator.go),
// so these only show the request is not refused for auth.
var vectorsUnrouted = map[string]bool{
	"iam_keystone_list_projects_query":        true, // GET /v3/projects
	"iam_idp_initiated_form_unsigned_payload": true, // POST /v3.0/OS-FEDERATION/tokens
}

// wantAKSKRejected checks the gateway's answer to a refused signature: 401
// in the service's error shape (auth-and-errors.md §5.1 for DLI, DIS and
// DLF; §5.2 CDM's errCode/externalMessage with code and message, as the
// CDM page's 400 body @543 lists them), with the gateway's AK/SK code
// APIG.0301 and a message "Incorrect IAM authentication information: "
// and the reason. The seeds document only the token failure (APIG.1002,
// LakeFormation @1693); APIG.0301 is what the real gateway sends.
func wantAKSKRejected(t *testing.T, service string, r response, reason string) {
	t.Helper()
	if r.status != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401 (body %s)", r.status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	codeKey, msgKey, keys := "error_code", "error_msg", []string{"error_code", "error_msg"}
	if service == emulator.CDM {
		codeKey, msgKey, keys = "errCode", "externalMessage", []string{"code", "errCode", "externalMessage", "message"}
		if r.body["code"] != r.body["errCode"] || r.body["message"] != r.body["externalMessage"] {
			t.Errorf("CDM body %s: code/message differ from errCode/externalMessage", r.raw)
		}
	}
	if got := slices.Sorted(maps.Keys(r.body)); !reflect.DeepEqual(got, keys) {
		t.Errorf("body fields %v, want %v (body %s)", got, keys, r.raw)
	}
	if r.body[codeKey] != "APIG.0301" {
		t.Errorf("%s = %v, want APIG.0301", codeKey, r.body[codeKey])
	}
	msg, _ := r.body[msgKey].(string)
	if !strings.HasPrefix(msg, "Incorrect IAM authentication information: ") || !strings.Contains(msg, reason) {
		t.Errorf("%s = %q, want the gateway's prefix and %q", msgKey, msg, reason)
	}
}

// failureReason is the text the emulator's 401 carries for a negative
// vector's expected_failure.
var failureReason = map[string]string{
	"signature_mismatch": "verify aksk signature fail",
	"clock_skew":         "request time outside the allowed clock skew",
}

// TestSigningVectorsOverHTTP sends every request of signing-vectors.json
// to the emulator service its host names, configured with the vectors'
// AK/SK and a clock standing at the vector's verify_at. Valid requests
// must get past authentication (their paths and bodies need not make
// sense to the emulator: a 404 or a 400 is fine, a 401 is not); tampered
// ones must get the gateway's 401 and change nothing.
func TestSigningVectorsOverHTTP(t *testing.T) {
	f := loadSigVectors(t)
	valid, invalid := 0, 0
	for _, v := range f.Vectors {
		service := v.service(t)
		if v.Valid {
			valid++
		} else {
			invalid++
		}
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			emu, addr := vectorEmulator(t, service, v.VerifyAt, f.vectorKey(v))
			r := v.send(t, addr)
			routed := len(emu.Calls()) > 0
			if routed == vectorsUnrouted[v.Name] {
				t.Errorf("the request reached a route: %v; want %v (%d %s)", routed, !routed, r.status, r.raw)
			}
			if !v.Valid {
				reason, ok := failureReason[v.ExpectedFailure]
				if !ok {
					t.Fatalf("unknown expected_failure %q", v.ExpectedFailure)
				}
				wantAKSKRejected(t, service, r, reason)
				if jobs := emu.DLIJobs(); len(jobs) != 0 {
					t.Errorf("a refused request created DLI jobs: %+v", jobs)
				}
				return
			}
			if r.status == http.StatusUnauthorized {
				t.Fatalf("valid vector refused: %d %s", r.status, r.raw)
			}
			t.Logf("%s %s: %d %s", v.Method, v.RequestURI, r.status, r.raw)
			switch v.Name {
			case "iam_create_token_by_password_post":
				// The token endpoint needs no credentials; the body the
				// SDK signed logs alice in.
				if r.status != http.StatusCreated || r.header.Get("X-Subject-Token") == "" {
					t.Errorf("token request: %d %s, want 201 and a token", r.status, r.raw)
				}
			case "dli_create_sql_job_post_unicode":
				// The handler sees the body the signature covered: its
				// queue name breaks DLI's naming rule (DLI @4142).
				if r.status != http.StatusBadRequest || !strings.Contains(r.raw, `invalid queue_name \"queue a/b\"`) {
					t.Errorf("submit: %d %s, want 400 naming the body's queue", r.status, r.raw)
				}
			case "dis_create_stream_post":
				if r.status != http.StatusCreated {
					t.Errorf("create stream: %d %s, want 201", r.status, r.raw)
				}
			case "dis_delete_stream_delete_path_plus":
				// The path is decoded with its + kept (signing.md §5).
				if !strings.Contains(r.raw, "clicks stream+old") {
					t.Errorf("delete stream: %d %s, want the decoded stream name", r.status, r.raw)
				}
			}
		})
	}
	if valid != 23 || invalid != 6 {
		t.Errorf("%d valid and %d invalid vectors, want 23 and 6", valid, invalid)
	}
}

// TestSigningVectorsOverHTTPRefusals sends valid vectors to emulators that
// must refuse them: at the edges of the clock skew, with an unknown AK, and
// the STS vector to an emulator that issued another token with that AK or
// none at all.
func TestSigningVectorsOverHTTPRefusals(t *testing.T) {
	f := loadSigVectors(t)
	byName := map[string]sigVector{}
	for _, v := range f.Vectors {
		byName[v.Name] = v
	}
	skew := time.Duration(f.SkewSeconds) * time.Second
	get, sts := byName["dis_list_streams_query"], byName["dli_batch_run_flink_jobs_sts_token"]
	if get.Name == "" || sts.Name == "" {
		t.Fatal("the vectors file lacks dis_list_streams_query or dli_batch_run_flink_jobs_sts_token")
	}
	for _, tc := range []struct {
		name   string
		v      sigVector
		now    time.Time
		key    emulator.AccessKey
		reason string // "" = accepted
	}{
		{"signed 15 min ago", get, get.VerifyAt.Add(skew), f.vectorKey(get), ""},
		{"signed 15 min ahead", get, get.VerifyAt.Add(-skew), f.vectorKey(get), ""},
		{"signed 15 min 1 s ahead", get, get.VerifyAt.Add(-skew - time.Second), f.vectorKey(get),
			failureReason["clock_skew"]},
		{"unknown AK", get, get.VerifyAt, emulator.AccessKey{AK: "OTHERAK", SK: f.SK},
			"Get secretKey failed,ak:" + f.AK + ",err:ak not exist"},
		{"other SK", get, get.VerifyAt, emulator.AccessKey{AK: f.AK, SK: f.SK + "x"}, failureReason["signature_mismatch"]},
		{"STS vector, token issued with the AK", sts, sts.VerifyAt, f.vectorKey(sts), ""},
		{"STS vector, another token issued", sts, sts.VerifyAt, emulator.AccessKey{AK: f.AK, SK: f.SK, SecurityToken: "other"},
			"invalid or unsigned X-Security-Token"},
		{"temporary AK, vector without token", get, get.VerifyAt, emulator.AccessKey{AK: f.AK, SK: f.SK, SecurityToken: f.SecurityToken},
			"invalid or unsigned X-Security-Token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			service := tc.v.service(t)
			_, addr := vectorEmulator(t, service, tc.now, tc.key)
			r := tc.v.send(t, addr)
			if tc.reason == "" {
				if r.status == http.StatusUnauthorized {
					t.Errorf("refused: %s", r.raw)
				}
				return
			}
			wantAKSKRejected(t, service, r, tc.reason)
		})
	}
}
