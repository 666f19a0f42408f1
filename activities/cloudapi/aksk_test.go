package cloudapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/activities/cloudapi/signer"
	"github.com/pipectl/pipectl/testenv/emulator"
)

// verifyingServer verifies every request's signature with signer.Verify at
// the fake clock's time and records the outcome and the body it saw.
type verifyingServer struct {
	*httptest.Server
	mu     sync.Mutex
	errs   []error
	bodies []string
}

func newVerifyingServer(t *testing.T, clock *fakeClock) *verifyingServer {
	s := &verifyingServer{}
	lookup := func(ak string) (string, bool) { return "the-sk", ak == "AK1" }
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		err := signer.Verify(r, b, lookup, clock.Now(), signer.MaxSkew)
		s.mu.Lock()
		s.errs = append(s.errs, err)
		s.bodies = append(s.bodies, string(b))
		s.mu.Unlock()
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestAKSKTransport(t *testing.T) {
	clock := &fakeClock{t: t0}
	srv := newVerifyingServer(t, clock)
	tr := &cloudapi.AKSKTransport{AK: "AK1", SK: cloudapi.NewSecret("the-sk"), Base: srv.Client().Transport, Now: clock.Now}
	c := &cloudapi.Client{Service: "DLI", BaseURL: srv.URL, HTTP: &http.Client{Transport: tr}}

	// JSON body, a query with spaces (url.Values writes "+"), and a path
	// with characters the canonical form escapes.
	in := map[string]string{"sql": "select 'ü' from t where a <> 1"}
	require.NoError(t, c.Do(context.Background(), "submit", http.MethodPost, "/v1.0/p/jobs/a b(1)", url.Values{"q": {"x y+z"}}, in, nil))
	require.NoError(t, c.Do(context.Background(), "list", http.MethodGet, "/v1.0/p/jobs", nil, nil, nil))
	clock.Advance(time.Hour) // each attempt is signed at its own time
	require.NoError(t, c.Do(context.Background(), "list", http.MethodGet, "/v1.0/p/jobs", nil, nil, nil))

	require.Len(t, srv.errs, 3)
	for i, err := range srv.errs {
		assert.NoError(t, err, "request %d", i)
	}
	assert.Equal(t, `{"sql":"select 'ü' from t where a \u003c\u003e 1"}`, srv.bodies[0])
	assert.Equal(t, "", srv.bodies[1])
}

func TestAKSKTransportDoesNotModifyRequest(t *testing.T) {
	var sent *http.Request
	var sentBody []byte
	tr := &cloudapi.AKSKTransport{
		AK: "AK1", SK: cloudapi.NewSecret("the-sk"), SecurityToken: cloudapi.NewSecret("sts"),
		Now: func() time.Time { return t0 },
		Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent = r
			sentBody, _ = io.ReadAll(r.Body)
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(""))}, nil
		}),
	}
	for _, tc := range []struct {
		name    string
		getBody bool
	}{{"with GetBody", true}, {"without GetBody", false}} {
		t.Run(tc.name, func(t *testing.T) {
			body := &closeRecorder{Reader: strings.NewReader(`{"a":1}`)}
			req, err := http.NewRequest(http.MethodPost, "http://dli.example/v1.0/p/jobs?x=a+b", body)
			require.NoError(t, err)
			if tc.getBody {
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(`{"a":1}`)), nil }
			}
			req.Header.Set("Content-Type", "application/json")
			_, err = tr.RoundTrip(req)
			require.NoError(t, err)

			assert.NotSame(t, req, sent)
			assert.Equal(t, http.Header{"Content-Type": {"application/json"}}, req.Header, "caller's headers changed")
			assert.Equal(t, "x=a+b", req.URL.RawQuery, "caller's URL changed")
			assert.True(t, body.closed, "RoundTrip must close the caller's body")
			assert.Equal(t, `{"a":1}`, string(sentBody))
			assert.Equal(t, int64(7), sent.ContentLength)
			assert.Equal(t, "x=a%20b", sent.URL.RawQuery)
			assert.Equal(t, "20240506T070809Z", sent.Header.Get("X-Sdk-Date"))
			assert.Equal(t, "sts", sent.Header.Get("X-Security-Token"))
			assert.Regexp(t, `^SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date;x-security-token, Signature=[0-9a-f]{64}$`,
				sent.Header.Get("Authorization"))
			// The retry body is the same bytes.
			rc, err := sent.GetBody()
			require.NoError(t, err)
			again, _ := io.ReadAll(rc)
			assert.Equal(t, `{"a":1}`, string(again))
		})
	}
}

func TestAKSKTransportErrors(t *testing.T) {
	called := false
	base := roundTripFunc(func(*http.Request) (*http.Response, error) { called = true; return nil, errors.New("unreachable") })

	tr := &cloudapi.AKSKTransport{AK: "", SK: cloudapi.NewSecret("x"), Base: base}
	req, _ := http.NewRequest(http.MethodGet, "http://x.example/", nil)
	_, err := tr.RoundTrip(req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "empty AK or SK")

	tr = &cloudapi.AKSKTransport{AK: "AK", SK: cloudapi.NewSecret("x"), Base: base}
	big := &closeRecorder{Reader: bytes.NewReader(make([]byte, 12<<20+1))}
	req, _ = http.NewRequest(http.MethodPost, "http://x.example/", big)
	_, err = tr.RoundTrip(req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exceeds the 12 MB limit")
	assert.True(t, big.closed)
	assert.False(t, called)
}

func TestAKSKTransportSecretsNotPrinted(t *testing.T) {
	tr := cloudapi.AKSKTransport{AK: "AK1", SK: cloudapi.NewSecret("the-sk"), SecurityToken: cloudapi.NewSecret("the-token")}
	for _, s := range []string{fmt.Sprintf("%v", tr), fmt.Sprintf("%+v", &tr), fmt.Sprintf("%#v", tr)} {
		assert.NotContains(t, s, "the-sk")
		assert.NotContains(t, s, "the-token")
	}
}

func TestAKSKTransportAgainstEmulator(t *testing.T) {
	clock := &fakeClock{t: t0}
	emu := emulator.New(emulator.Options{Now: clock.Now})
	srv := httptest.NewServer(emu.Handler(emulator.DLI))
	defer srv.Close()
	get := func(ak, sk string) int {
		hc := &http.Client{Transport: &cloudapi.AKSKTransport{AK: ak, SK: cloudapi.NewSecret(sk), Base: srv.Client().Transport, Now: clock.Now}}
		resp, err := hc.Get(srv.URL + "/v1.0/p/jobs")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, get(emulator.DevAK, emulator.DevSK))
	assert.Equal(t, http.StatusUnauthorized, get(emulator.DevAK, "wrong"))
	assert.Equal(t, http.StatusUnauthorized, get("OTHERAK", emulator.DevSK))
}
