package emulator_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"
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
