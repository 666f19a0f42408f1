package cloudapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/testenv/emulator"
)

// t0 is the fake clock's start.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type tokenFunc func(context.Context) (cloudapi.Secret, error)

func (f tokenFunc) Token(ctx context.Context) (cloudapi.Secret, error) { return f(ctx) }

// closeRecorder is a request body that records being closed.
type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestTokenTransport(t *testing.T) {
	var sent *http.Request
	tr := &cloudapi.TokenTransport{
		Source: cloudapi.StaticToken(cloudapi.NewSecret("tok-123")),
		Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent = r
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
		}),
	}
	req, err := http.NewRequest(http.MethodGet, "http://dli.example/v1.0/p/jobs", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")

	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()

	require.NotNil(t, sent)
	assert.Equal(t, "tok-123", sent.Header.Get("X-Auth-Token"))
	assert.Equal(t, "application/json", sent.Header.Get("Accept"))
	assert.Equal(t, "http://dli.example/v1.0/p/jobs", sent.URL.String())
	// The caller's request is untouched.
	assert.NotSame(t, req, sent)
	assert.Equal(t, http.Header{"Accept": {"application/json"}}, req.Header)
}

func TestTokenTransportAgainstEmulator(t *testing.T) {
	srv := httptest.NewServer(emulator.New(emulator.Options{AcceptAnyToken: true, DisableRateLimits: true}).Handler(emulator.DLI))
	defer srv.Close()
	get := func(hc *http.Client) int {
		resp, err := hc.Get(srv.URL + "/v1.0/p/jobs")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, get(srv.Client()))
	authed := &http.Client{Transport: &cloudapi.TokenTransport{Source: cloudapi.StaticToken(cloudapi.NewSecret("t")), Base: srv.Client().Transport}}
	assert.Equal(t, http.StatusOK, get(authed))
}

func TestTokenTransportSourceError(t *testing.T) {
	boom := errors.New("no token today")
	called := false
	tr := &cloudapi.TokenTransport{
		Source: tokenFunc(func(context.Context) (cloudapi.Secret, error) { return cloudapi.Secret{}, boom }),
		Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			called = true
			return nil, errors.New("must not be called")
		}),
	}
	body := &closeRecorder{Reader: strings.NewReader("{}")}
	req, err := http.NewRequest(http.MethodPost, "http://dli.example/x", body)
	require.NoError(t, err)
	_, err = tr.RoundTrip(req)
	assert.Same(t, boom, err)
	assert.False(t, called)
	assert.True(t, body.closed, "RoundTrip must close the body even on errors")
}

// iamFixture serves the emulator's IAM and DLI, each on its own server as
// the real endpoints are, recording the IAM request bodies.
type iamFixture struct {
	clock  *fakeClock
	emu    *emulator.Emulator
	srv    *httptest.Server // IAM
	dli    *httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newIAM(t *testing.T) *iamFixture {
	t.Helper()
	f := &iamFixture{clock: &fakeClock{t: t0}}
	f.emu = emulator.New(emulator.Options{
		Now: f.clock.Now,
		Users: []emulator.User{
			{Name: "alice", Domain: "acme", Password: "pa55word"},
			{Name: "bob", Domain: "acme", Password: secretText},
		},
		DisableRateLimits: true,
	})
	iam := f.emu.Handler(emulator.IAM)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(b))
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		iam.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.dli = httptest.NewServer(f.emu.Handler(emulator.DLI))
	t.Cleanup(f.dli.Close)
	return f
}

func (f *iamFixture) source() *cloudapi.PasswordTokenSource {
	return &cloudapi.PasswordTokenSource{
		IAMEndpoint: f.srv.URL + "/",
		User:        "alice",
		Domain:      "acme",
		Password:    cloudapi.NewSecret("pa55word"),
		ProjectID:   "0123456789abcdef0123456789abcdef",
		HTTP:        f.srv.Client(),
		Now:         f.clock.Now,
	}
}

func (f *iamFixture) iamCalls() int { return f.emu.Calls()[emulator.IAM+" POST /v3/auth/tokens"] }

func TestPasswordTokenSource(t *testing.T) {
	f := newIAM(t)
	src := f.source()
	ctx := context.Background()

	tok, err := src.Token(ctx)
	require.NoError(t, err)
	first := tok.Reveal()
	assert.True(t, strings.HasPrefix(first, "MII"), "token %q is not the X-Subject-Token", first)
	assert.Equal(t, 1, f.iamCalls())

	// The documented request body.
	require.Len(t, f.bodies, 1)
	assert.JSONEq(t, `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","password":"pa55word","domain":{"name":"acme"}}}},"scope":{"project":{"id":"0123456789abcdef0123456789abcdef"}}}}`, f.bodies[0])

	// Cached: many calls, one IAM request.
	for range 10 {
		tok, err := src.Token(ctx)
		require.NoError(t, err)
		assert.Equal(t, first, tok.Reveal())
	}
	assert.Equal(t, 1, f.iamCalls())

	// Still cached one second before the refresh window (expiry - 1h).
	f.clock.Advance(23*time.Hour - time.Second)
	tok, err = src.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, first, tok.Reveal())
	assert.Equal(t, 1, f.iamCalls())

	// One hour before expiry it is replaced.
	f.clock.Advance(time.Second)
	tok, err = src.Token(ctx)
	require.NoError(t, err)
	second := tok.Reveal()
	assert.NotEqual(t, first, second)
	assert.Equal(t, 2, f.iamCalls())

	// The new token is cached for its own lifetime.
	f.clock.Advance(22 * time.Hour)
	tok, err = src.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, second, tok.Reveal())
	assert.Equal(t, 2, f.iamCalls())
}

func TestPasswordTokenSourceConcurrent(t *testing.T) {
	f := newIAM(t)
	src := f.source()
	var wg sync.WaitGroup
	toks := make([]string, 8)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := src.Token(context.Background())
			assert.NoError(t, err)
			toks[i] = tok.Reveal()
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, f.iamCalls())
	for _, tok := range toks {
		assert.Equal(t, toks[0], tok)
	}
}

func TestPasswordTokenSourceWithTransport(t *testing.T) {
	f := newIAM(t)
	hc := &http.Client{Transport: &cloudapi.TokenTransport{Source: f.source(), Base: f.dli.Client().Transport}}
	c := &cloudapi.Client{Service: "DLI", BaseURL: f.dli.URL, HTTP: hc}
	for range 3 {
		require.NoError(t, c.Do(context.Background(), "list SQL jobs", http.MethodGet, "/v1.0/p/jobs", nil, nil, nil))
	}
	assert.Equal(t, 1, f.iamCalls())
	assert.Equal(t, 3, f.emu.Calls()[emulator.DLI+" GET /v1.0/{project_id}/jobs"])
}

func TestPasswordTokenSourceRejected(t *testing.T) {
	f := newIAM(t)
	src := f.source()
	src.Domain = "" // IAM wants the account of a user given by name
	_, err := src.Token(context.Background())
	require.Error(t, err)
	var apiErr *cloudapi.Error
	require.True(t, errors.As(err, &apiErr), "%T %v", err, err)
	assert.Equal(t, "IAM", apiErr.Service)
	assert.Equal(t, "get token", apiErr.Op)
	assert.Equal(t, 400, apiErr.Status)
	assert.Equal(t, "IAM.0072", apiErr.Code)
	assert.Equal(t, "'auth.identity.password.user.domain.name' is a required property.", apiErr.Message)
	assert.False(t, apiErr.Retryable())
	assert.NotContains(t, err.Error(), "pa55word")

	// A failure is not cached.
	_, err = src.Token(context.Background())
	require.Error(t, err)
	assert.Equal(t, 2, f.iamCalls())
}

func TestPasswordTokenSourceWrongPassword(t *testing.T) {
	f := newIAM(t)
	src := f.source()
	src.Password = cloudapi.NewSecret("not-the-password")
	_, err := src.Token(context.Background())
	var apiErr *cloudapi.Error
	require.True(t, errors.As(err, &apiErr), "%T %v", err, err)
	assert.Equal(t, 401, apiErr.Status)
	assert.Equal(t, "IAM.0101", apiErr.Code)
	assert.Equal(t, "IAM get token: HTTP 401 IAM.0101: The username or password is wrong.", apiErr.Error())
	assert.False(t, apiErr.Retryable())
	assert.NotContains(t, err.Error(), "not-the-password")
}

func TestPasswordTokenSourceNoExpiry(t *testing.T) {
	// Without expires_at a token is taken to last the documented 24 hours.
	clock := &fakeClock{t: t0}
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("X-Subject-Token", fmt.Sprintf("tok-%d", calls))
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"token":{}}`)
	}))
	defer srv.Close()
	src := &cloudapi.PasswordTokenSource{IAMEndpoint: srv.URL, HTTP: srv.Client(), Now: clock.Now}
	tok, err := src.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Reveal())
	clock.Advance(23*time.Hour - time.Second)
	tok, _ = src.Token(context.Background())
	assert.Equal(t, "tok-1", tok.Reveal())
	clock.Advance(time.Second)
	tok, _ = src.Token(context.Background())
	assert.Equal(t, "tok-2", tok.Reveal())
	assert.Equal(t, 2, calls)
}

func TestPasswordTokenSourceNoSubjectToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"token":{"expires_at":"2099-01-01T00:00:00.000000Z"}}`)
	}))
	defer srv.Close()
	src := &cloudapi.PasswordTokenSource{IAMEndpoint: srv.URL, HTTP: srv.Client()}
	_, err := src.Token(context.Background())
	require.Error(t, err)
	assert.Equal(t, "IAM token: response has no X-Subject-Token header", err.Error())
}

func TestStaticToken(t *testing.T) {
	tok, err := cloudapi.StaticToken(cloudapi.NewSecret("abc")).Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "abc", tok.Reveal())
}

func TestSecretAccessors(t *testing.T) {
	s := cloudapi.NewSecret("hunter2")
	assert.Equal(t, "hunter2", s.Reveal())
	assert.False(t, s.IsZero())
	assert.True(t, cloudapi.Secret{}.IsZero())
	assert.True(t, cloudapi.NewSecret("").IsZero())
	assert.Equal(t, "", cloudapi.Secret{}.Reveal())
}

const secretText = "hunter2-very-secret"

// holder has the secret in every kind of place a struct may keep it.
type holder struct {
	Name    string
	Token   cloudapi.Secret
	Ptr     *cloudapi.Secret
	hidden  cloudapi.Secret
	Static  cloudapi.StaticToken
	Sources []cloudapi.TokenSource
}

func newHolder() holder {
	s := cloudapi.NewSecret(secretText)
	return holder{
		Name:    "cfg",
		Token:   s,
		Ptr:     &s,
		hidden:  s,
		Static:  cloudapi.StaticToken(s),
		Sources: []cloudapi.TokenSource{cloudapi.StaticToken(s)},
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	s := cloudapi.NewSecret(secretText)
	h := newHolder()

	// A source that has fetched and cached a token.
	f := newIAM(t)
	src := f.source()
	src.User, src.Password = "bob", cloudapi.NewSecret(secretText)
	cached, err := src.Token(context.Background())
	require.NoError(t, err)

	values := map[string]any{
		"Secret":              s,
		"*Secret":             &s,
		"struct":              h,
		"*struct":             &h,
		"StaticToken":         cloudapi.StaticToken(s),
		"TokenTransport":      &cloudapi.TokenTransport{Source: cloudapi.StaticToken(s)},
		"PasswordTokenSource": src,
		"error":               fmt.Errorf("wrapped: %v", s),
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, secretText, "%s printed with %s: %s", name, verb, out)
			assert.NotContains(t, out, cached.Reveal(), "%s printed with %s: %s", name, verb, out)
			assert.NotContains(t, out, fmt.Sprintf("%x", secretText), "%s printed with %s", name, verb)
		}
		assert.NotContains(t, fmt.Sprint(v), secretText, name)
		assert.NotContains(t, fmt.Sprintln(v), secretText, name)
	}
	assert.Equal(t, "REDACTED", fmt.Sprintf("%v", s))
	assert.Equal(t, "REDACTED", fmt.Sprintf("%s", s))
	assert.Equal(t, "REDACTED", fmt.Sprintf("%+v", s))
	assert.Equal(t, "REDACTED", fmt.Sprintf("%#v", s))
	assert.Equal(t, "REDACTED", s.String())
	assert.Equal(t, `cloudapi.Secret("REDACTED")`, s.GoString())
}

func TestSecretNeverLogged(t *testing.T) {
	s := cloudapi.NewSecret(secretText)
	h := newHolder()
	for _, mk := range []struct {
		name string
		new  func(io.Writer) slog.Handler
	}{
		{"json", func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) }},
		{"text", func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }},
	} {
		var buf bytes.Buffer
		log := slog.New(mk.new(&buf))
		log.Info("hello", "secret", s, "ptr", &s, "holder", h, "holderp", &h, "static", cloudapi.StaticToken(s))
		log.With("secret", s).WithGroup("g").Info("again", slog.Any("s", s))
		assert.NotContains(t, buf.String(), secretText, mk.name)
		assert.Contains(t, buf.String(), "REDACTED", mk.name)
	}

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})).Info("m", "secret", s)
	assert.Equal(t, `{"level":"INFO","msg":"m","secret":"REDACTED"}`+"\n", buf.String())
}

func TestSecretNeverMarshalled(t *testing.T) {
	h := newHolder()
	b, err := json.Marshal(h)
	require.NoError(t, err)
	assert.Equal(t, `{"Name":"cfg","Token":"REDACTED","Ptr":"REDACTED","Static":{},"Sources":[{}]}`, string(b))

	b, err = json.Marshal(cloudapi.NewSecret(secretText))
	require.NoError(t, err)
	assert.Equal(t, `"REDACTED"`, string(b))

	b, err = json.Marshal(map[string]any{"m": map[string]cloudapi.Secret{"k": cloudapi.NewSecret(secretText)}})
	require.NoError(t, err)
	assert.Equal(t, `{"m":{"k":"REDACTED"}}`, string(b))
}
