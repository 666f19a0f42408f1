package emulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/activities/cloudapi/signer"
	"github.com/pipectl/pipectl/testenv/emulator"
)

func tokenBody(scope string) string {
	return `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","password":"s3cret","domain":{"name":"acme"}}}},"scope":{"project":` + scope + `}}}`
}

func TestIssueToken(t *testing.T) {
	e := newEnv(t, time.Second)
	for _, tc := range []struct {
		name, scope, wantProjectID string
	}{
		{"scope by id", `{"id":"0123456789abcdef0123456789abcdef"}`, "0123456789abcdef0123456789abcdef"},
		{"scope by name", `{"name":"ap-southeast-1"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No X-Auth-Token: this is the one call that needs none.
			r := e.do("POST", "/v3/auth/tokens", tokenBody(tc.scope), "Content-Type", "application/json")
			if r.status != http.StatusCreated {
				t.Fatalf("status = %d, want 201: %s", r.status, r.raw)
			}
			tok := r.header.Get("X-Subject-Token")
			if len(tok) < 32 {
				t.Errorf("X-Subject-Token = %q, want an opaque token of 32+ chars", tok)
			}
			token := r.body["token"].(map[string]any)
			if got, want := token["expires_at"], "2024-05-07T07:08:09.000000Z"; got != want {
				t.Errorf("expires_at = %v, want %s (now + 24h)", got, want)
			}
			exp, err := time.Parse(time.RFC3339, token["expires_at"].(string))
			if err != nil || !exp.Equal(t0.Add(24*time.Hour)) {
				t.Errorf("expires_at does not parse as RFC 3339 now+24h: %v, %v", exp, err)
			}
			if m := token["methods"].([]any); len(m) != 1 || m[0] != "password" {
				t.Errorf("methods = %v, want [password]", m)
			}
			pid := token["project"].(map[string]any)["id"].(string)
			if tc.wantProjectID != "" && pid != tc.wantProjectID {
				t.Errorf("project.id = %q, want %q", pid, tc.wantProjectID)
			}
			if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(pid) {
				t.Errorf("project.id = %q, want 32 hex digits", pid)
			}
			if user := token["user"].(map[string]any); user["name"] != "alice" || user["password"] != nil {
				t.Errorf("user = %v, want name alice and no password", user)
			}
		})
	}

	a := e.do("POST", "/v3/auth/tokens", tokenBody(`{"id":"p"}`), "Content-Type", "application/json")
	b := e.do("POST", "/v3/auth/tokens", tokenBody(`{"id":"p"}`), "Content-Type", "application/json")
	if a.header.Get("X-Subject-Token") == b.header.Get("X-Subject-Token") {
		t.Error("two token requests returned the same token")
	}
}

func TestIssueTokenBadBody(t *testing.T) {
	e := newEnv(t, time.Second)
	for _, tc := range []struct {
		name, body, code, msg string
	}{
		{"empty", "", "IAM.0011", "empty"},
		{"not JSON", "{auth", "IAM.0011", "Request body is invalid"},
		{"wrong method", `{"auth":{"identity":{"methods":["token"]},"scope":{"project":{"id":"p"}}}}`, "IAM.0007", "auth.identity.methods"},
		{"no password", `{"auth":{"identity":{"methods":["password"]},"scope":{"project":{"id":"p"}}}}`, "IAM.0072", "'auth.identity.password'"},
		{"no domain", `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"a","password":"x"}}},"scope":{"project":{"id":"p"}}}}`, "IAM.0072", "user.domain.name"},
		{"no scope", `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"a","password":"x","domain":{"name":"d"}}}}}}`, "IAM.0072", "auth.scope.project"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/v3/auth/tokens", tc.body, "Content-Type", "application/json")
			wantError(t, r, http.StatusBadRequest, tc.code, tc.msg)
			if r.header.Get("X-Subject-Token") != "" {
				t.Error("a rejected request got a token")
			}
		})
	}
}

// serve sends one request straight to h (no network) and decodes the
// answer like env.do.
func serve(t *testing.T, h http.Handler, req *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	r := response{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &r.body); err != nil {
			t.Fatalf("%s %s: response is not a JSON object: %v\n%s", req.Method, req.URL, err, rec.Body)
		}
	}
	return r
}

func newRequest(method, path, body string, headers ...string) *http.Request {
	req := httptest.NewRequest(method, "http://emulator.test"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// login gets a token from h (IAM) for user/domain/password.
func login(t *testing.T, iam http.Handler, user, domain, password string) response {
	t.Helper()
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"password":%q,"domain":{"name":%q}}}},"scope":{"project":{"id":"p1"}}}}`,
		user, password, domain)
	return serve(t, iam, newRequest("POST", "/v3/auth/tokens", body))
}

func TestIssueTokenChecksPassword(t *testing.T) {
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now}) // the dev user only
	iam := emu.Handler(emulator.IAM)

	r := login(t, iam, "pipectl-dev", "pipectl-dev", "pipectl-dev")
	if r.status != http.StatusCreated || r.header.Get("X-Subject-Token") == "" {
		t.Fatalf("dev user login: %d %s", r.status, r.raw)
	}
	user := r.body["token"].(map[string]any)["user"].(map[string]any)
	if user["name"] != "pipectl-dev" || user["domain"].(map[string]any)["name"] != "pipectl-dev" || len(user["id"].(string)) != 32 {
		t.Errorf("token user = %v, want pipectl-dev in domain pipectl-dev with a 32-char id", user)
	}

	for _, tc := range []struct{ name, user, domain, password string }{
		{"wrong password", "pipectl-dev", "pipectl-dev", "guess"},
		{"unknown user", "mallory", "pipectl-dev", "pipectl-dev"},
		{"wrong domain", "pipectl-dev", "other", "pipectl-dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := login(t, iam, tc.user, tc.domain, tc.password)
			wantError(t, r, http.StatusUnauthorized, "IAM.0101", "The username or password is wrong.")
			if r.header.Get("X-Subject-Token") != "" {
				t.Error("a refused login got a token")
			}
		})
	}
	if n := len(emu.Tokens()); n != 1 {
		t.Errorf("Tokens() has %d entries, want the one successful login", n)
	}

	// A user may also be named by ID, as the token reports it.
	byID := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":%q,"password":"pipectl-dev"}}},"scope":{"project":{"id":"p1"}}}}`, user["id"])
	if r := serve(t, iam, newRequest("POST", "/v3/auth/tokens", byID)); r.status != http.StatusCreated {
		t.Errorf("login by user ID: %d %s", r.status, r.raw)
	}
}

func TestProjectIDOption(t *testing.T) {
	emu := emulator.New(emulator.Options{ProjectID: "dev-project"})
	r := serve(t, emu.Handler(emulator.IAM), newRequest("POST", "/v3/auth/tokens",
		`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"pipectl-dev","password":"pipectl-dev","domain":{"name":"pipectl-dev"}}}},"scope":{"project":{"name":"ap-southeast-1"}}}}`))
	if got := r.body["token"].(map[string]any)["project"].(map[string]any); got["id"] != "dev-project" || got["name"] != "ap-southeast-1" {
		t.Errorf("project = %v, want id dev-project, name ap-southeast-1", got)
	}
}

func TestTokenAuthentication(t *testing.T) {
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now})
	iam, dli := emu.Handler(emulator.IAM), emu.Handler(emulator.DLI)
	token := login(t, iam, "pipectl-dev", "pipectl-dev", "pipectl-dev").header.Get("X-Subject-Token")
	list := func(tok string) response {
		return serve(t, dli, newRequest("GET", "/v1.0/p1/jobs", "", "X-Auth-Token", tok))
	}

	if r := list(token); r.status != http.StatusOK {
		t.Fatalf("issued token: %d %s", r.status, r.raw)
	}
	wantError(t, list("MIIforged"), http.StatusUnauthorized, "APIG.1002", "Incorrect token or token resolution failed")

	clock.Advance(24*time.Hour - time.Millisecond)
	if r := list(token); r.status != http.StatusOK {
		t.Errorf("token 1ms before expiry: %d %s", r.status, r.raw)
	}
	clock.Advance(time.Millisecond)
	wantError(t, list(token), http.StatusUnauthorized, "APIG.1002", "Incorrect token or token resolution failed")
	toks := emu.Tokens()
	if len(toks) != 1 || !toks[0].Expired || toks[0].User != "pipectl-dev" || toks[0].ProjectID != "p1" ||
		!toks[0].IssuedAt.Equal(t0) || !toks[0].ExpiresAt.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("Tokens() = %+v", toks)
	}

	// NewToken is a login without the round trip.
	if r := list(emu.NewToken("p1")); r.status != http.StatusOK {
		t.Errorf("NewToken: %d %s", r.status, r.raw)
	}
	// Issuing forgets expired tokens.
	if toks := emu.Tokens(); len(toks) != 1 || toks[0].Expired {
		t.Errorf("Tokens() after NewToken = %+v, want only the new one", toks)
	}
}

// TestUnauthorizedShapes checks the 401 body in each service's error shape.
func TestUnauthorizedShapes(t *testing.T) {
	emu := emulator.New(emulator.Options{})
	for _, tc := range []struct {
		service, method, path string
		want                  map[string]any
	}{
		{emulator.DLI, "GET", "/v1.0/p1/jobs", map[string]any{
			"error_code": "APIG.1002", "error_msg": "Incorrect token or token resolution failed"}},
		{emulator.CDM, "GET", "/v1.1/p1/clusters", map[string]any{
			"code": "APIG.1002", "errCode": "APIG.1002",
			"message": "Incorrect token or token resolution failed", "externalMessage": "Incorrect token or token resolution failed"}},
		{emulator.LakeFormation, "POST", "/v1/p1/instances/i1/lf-jobs", map[string]any{
			"error_code": "APIG.1002", "error_msg": "Incorrect token or token resolution failed",
			"common_error_code": "APIG.1002", "solution_msg": ""}},
	} {
		t.Run(tc.service, func(t *testing.T) {
			r := serve(t, emu.Handler(tc.service), newRequest(tc.method, tc.path, "{}", "X-Auth-Token", "unknown"))
			if r.status != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", r.status)
			}
			if !reflect.DeepEqual(r.body, tc.want) {
				t.Errorf("body = %s, want %v", r.raw, tc.want)
			}
		})
	}
}

// signed builds a request signed with ak/sk at the given time.
func signed(t *testing.T, method, path, body, ak, sk, token string, at time.Time) *http.Request {
	t.Helper()
	req := newRequest(method, path, body, "X-Project-Id", "p1", "User-Agent", "test/1.0")
	c := signer.Credentials{AK: ak, SK: sk, SecurityToken: token}
	if err := c.Sign(req, []byte(body), at); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestAKSKAuthentication(t *testing.T) {
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now, AccessKeys: []emulator.AccessKey{
		{AK: emulator.DevAK, SK: emulator.DevSK},
		{AK: "TEMPAK", SK: "temp-sk", SecurityToken: "sts-token"},
	}})
	dli := emu.Handler(emulator.DLI)

	// The handler sees the body the signature covered.
	r := serve(t, dli, signed(t, "POST", "/v1.0/p1/jobs/submit-job", `{"sql":"select 42"}`, emulator.DevAK, emulator.DevSK, "", t0))
	if r.status != http.StatusOK {
		t.Fatalf("signed submit: %d %s", r.status, r.raw)
	}
	if jobs := emu.DLIJobs(); len(jobs) != 1 || jobs[0].SQL != "select 42" {
		t.Fatalf("DLIJobs = %+v, want the signed job", jobs)
	}

	for _, tc := range []struct {
		name    string
		req     *http.Request
		wantMsg string // "" = accepted
	}{
		{"15 min early", signed(t, "GET", "/v1.0/p1/jobs", "", emulator.DevAK, emulator.DevSK, "", t0.Add(-15*time.Minute)), ""},
		{"15 min late", signed(t, "GET", "/v1.0/p1/jobs", "", emulator.DevAK, emulator.DevSK, "", t0.Add(15*time.Minute)), ""},
		{"skew over 15 min", signed(t, "GET", "/v1.0/p1/jobs", "", emulator.DevAK, emulator.DevSK, "", t0.Add(-15*time.Minute-time.Second)),
			"Incorrect IAM authentication information: request time outside the allowed clock skew"},
		{"wrong SK", signed(t, "GET", "/v1.0/p1/jobs", "", emulator.DevAK, "guess", "", t0),
			"Incorrect IAM authentication information: verify aksk signature fail"},
		{"unknown AK", signed(t, "GET", "/v1.0/p1/jobs", "", "NOSUCHAK", emulator.DevSK, "", t0),
			"Incorrect IAM authentication information: Get secretKey failed,ak:NOSUCHAK,err:ak not exist"},
		{"temporary key with its token", signed(t, "GET", "/v1.0/p1/jobs", "", "TEMPAK", "temp-sk", "sts-token", t0), ""},
		{"temporary key without token", signed(t, "GET", "/v1.0/p1/jobs", "", "TEMPAK", "temp-sk", "", t0),
			"Incorrect IAM authentication information: invalid or unsigned X-Security-Token"},
		{"temporary key, other token", signed(t, "GET", "/v1.0/p1/jobs", "", "TEMPAK", "temp-sk", "other", t0),
			"Incorrect IAM authentication information: invalid or unsigned X-Security-Token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := serve(t, dli, tc.req)
			if tc.wantMsg == "" {
				if r.status != http.StatusOK {
					t.Errorf("status %d: %s", r.status, r.raw)
				}
				return
			}
			wantError(t, r, http.StatusUnauthorized, "APIG.0301", tc.wantMsg)
		})
	}

	tampered := signed(t, "POST", "/v1.0/p1/jobs/submit-job", `{"sql":"select 1"}`, emulator.DevAK, emulator.DevSK, "", t0)
	tampered.Body = io.NopCloser(strings.NewReader(`{"sql":"select 2"}`))
	wantError(t, serve(t, dli, tampered), http.StatusUnauthorized, "APIG.0301", "verify aksk signature fail")
	if n := len(emu.DLIJobs()); n != 1 {
		t.Errorf("%d DLI jobs, want 1: a tampered submit must create nothing", n)
	}
}

func TestAKSKBodyLimit(t *testing.T) {
	emu := emulator.New(emulator.Options{})
	body := `{"sql":"` + strings.Repeat("x", 12<<20) + `"}`
	req := signed(t, "POST", "/v1.0/p1/jobs/submit-job", body, emulator.DevAK, emulator.DevSK, "", time.Now())
	r := serve(t, emu.Handler(emulator.DLI), req)
	wantError(t, r, http.StatusRequestEntityTooLarge, "APIG.0201", "at most 12 MB")
}
