package cloudapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Secret is a credential. It prints, logs and marshals as a placeholder, so
// it cannot reach a log line, an error or a workflow payload by accident;
// Reveal is the one way to read it.
//
// The value is held behind a pointer: fmt prints the fields of a struct it
// cannot call methods on (an unexported Secret field, or a type converted
// from Secret such as StaticToken) by reflection, and a pointer it reaches
// that way prints as an address, never as the credential.
type Secret struct{ v *string }

// NewSecret wraps a credential.
func NewSecret(v string) Secret { return Secret{v: &v} }

// Reveal returns the credential itself, for the request that needs it.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether no credential is set.
func (s Secret) IsZero() bool { return s.Reveal() == "" }

func (s Secret) String() string                { return "REDACTED" }
func (s Secret) LogValue() slog.Value          { return slog.StringValue("REDACTED") }
func (s Secret) MarshalJSON() ([]byte, error)  { return []byte(`"REDACTED"`), nil }
func (s Secret) GoString() string              { return `cloudapi.Secret("REDACTED")` }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("REDACTED")) }

var _ slog.LogValuer = Secret{}

// TokenTransport adds an IAM token to every request, as X-Auth-Token.
type TokenTransport struct {
	Source TokenSource
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// TokenSource supplies IAM tokens.
type TokenSource interface {
	Token(ctx context.Context) (Secret, error)
}

// StaticToken is a token obtained elsewhere.
type StaticToken Secret

// Token returns the token.
func (t StaticToken) Token(context.Context) (Secret, error) { return Secret(t), nil }

// RoundTrip implements http.RoundTripper.
func (t *TokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.Source.Token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	// Per the RoundTripper contract the request is not modified: clone it.
	r := req.Clone(req.Context())
	r.Header.Set("X-Auth-Token", tok.Reveal())
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// PasswordTokenSource obtains IAM tokens with a user's password
// (POST /v3/auth/tokens) and caches each until shortly before it expires:
// tokens are valid 24 hours and IAM asks callers not to request one per call.
type PasswordTokenSource struct {
	IAMEndpoint string
	User        string
	Domain      string
	Password    Secret
	ProjectID   string
	HTTP        *http.Client
	Now         func() time.Time

	mu      sync.Mutex
	token   Secret
	expires time.Time
}

// refreshBefore is how long before expiry a cached token is replaced, so a
// long request never starts with a token about to lapse.
const refreshBefore = time.Hour

// Token returns a cached token or requests a new one.
func (s *PasswordTokenSource) Token(ctx context.Context) (Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if !s.token.IsZero() && now().Add(refreshBefore).Before(s.expires) {
		return s.token, nil
	}
	var body struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string `json:"name"`
						Password string `json:"password"`
						Domain   struct {
							Name string `json:"name"`
						} `json:"domain"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project struct {
					ID string `json:"id"`
				} `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	body.Auth.Identity.Methods = []string{"password"}
	body.Auth.Identity.Password.User.Name = s.User
	body.Auth.Identity.Password.User.Password = s.Password.Reveal()
	body.Auth.Identity.Password.User.Domain.Name = s.Domain
	body.Auth.Scope.Project.ID = s.ProjectID
	b, err := json.Marshal(body)
	if err != nil {
		return Secret{}, fmt.Errorf("IAM token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(s.IAMEndpoint, "/")+"/v3/auth/tokens", bytes.NewReader(b))
	if err != nil {
		return Secret{}, fmt.Errorf("IAM token: %w", err)
	}
	req.Header.Set("Content-Type", "application/json;charset=utf8")
	hc := s.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Secret{}, fmt.Errorf("IAM token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return Secret{}, newError("IAM", "get token", resp)
	}
	tok := resp.Header.Get("X-Subject-Token")
	if tok == "" {
		return Secret{}, errors.New("IAM token: response has no X-Subject-Token header")
	}
	var out struct {
		Token struct {
			ExpiresAt time.Time `json:"expires_at"`
		} `json:"token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	s.token = NewSecret(tok)
	s.expires = out.Token.ExpiresAt
	if s.expires.IsZero() {
		s.expires = now().Add(24 * time.Hour)
	}
	return s.token, nil
}
