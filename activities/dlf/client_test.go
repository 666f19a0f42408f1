package dlf_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/activities/dlf"
	"github.com/pipectl/pipectl/testenv/emulator"
)

// captured is what a stub server saw of each request.
type captured struct {
	method, path, query, workspace, auth, body string
}

func captureServer(t *testing.T, status int, answer string) (*httptest.Server, func() []captured) {
	t.Helper()
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("workspace"), r.Header.Get("Authorization"), string(b)})
		mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []captured {
		mu.Lock()
		defer mu.Unlock()
		return append([]captured(nil), got...)
	}
}

func TestClientRequests(t *testing.T) {
	srv, got := captureServer(t, http.StatusOK, `{"instanceId":10001}`)
	c := dlf.NewClient(srv.URL, srv.Client())
	ctx := context.Background()

	id, err := c.RunImmediate(ctx, "p1", "ws-1", "daily load", []dlf.JobParam{{Name: "bizdate", Value: "2024-05-05"}})
	require.NoError(t, err)
	assert.Equal(t, int64(10001), id)
	_, err = c.ListInstances(ctx, "p1", "", dlf.ListInstancesQuery{JobName: "daily_load", Status: "running", Offset: 100, Limit: 100})
	require.NoError(t, err)
	_, err = c.Instance(ctx, "p1", "ws-1", "daily_load", 10001)
	require.NoError(t, err)

	assert.Equal(t, []captured{
		{http.MethodPost, "/v1/p1/jobs/daily%20load/run-immediate", "", "ws-1", "", `{"jobParams":[{"name":"bizdate","value":"2024-05-05"}]}`},
		{http.MethodGet, "/v1/p1/jobs/instances/detail", "jobName=daily_load&limit=100&offset=100&status=running", "", "", ""},
		{http.MethodGet, "/v1/p1/jobs/daily_load/instances/10001", "", "ws-1", "", ""},
	}, got())
}

func TestClientStopNoContent(t *testing.T) {
	// Writes answer 204 without a body.
	srv, got := captureServer(t, http.StatusNoContent, "")
	c := dlf.NewClient(srv.URL, srv.Client())
	require.NoError(t, c.StopInstance(context.Background(), "p1", "", "daily_load", 10001))
	assert.Equal(t, "/v1/p1/jobs/daily_load/instances/10001/stop", got()[0].path)
}

func TestClientError(t *testing.T) {
	srv, _ := captureServer(t, http.StatusBadRequest, `{"error_code":"DLF.0100","error_msg":"The job does not exists."}`)
	c := dlf.NewClient(srv.URL, srv.Client())
	_, err := c.RunImmediate(context.Background(), "p1", "", "nope", nil)
	var apiErr *cloudapi.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadRequest, apiErr.Status)
	assert.Equal(t, "DLF.0100", apiErr.Code)
	assert.Equal(t, "DLF run job: HTTP 400 DLF.0100: The job does not exists.", apiErr.Error())
}

func TestWorkspaceHeaderIsSigned(t *testing.T) {
	now := func() time.Time { return t0 }
	emu := emulator.New(emulator.Options{Now: now, DisableRateLimits: true})
	verify := emu.Handler(emulator.DLF)
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		verify.ServeHTTP(w, r)
	}))
	defer srv.Close()
	hc := &http.Client{Transport: &cloudapi.AKSKTransport{AK: emulator.DevAK, SK: cloudapi.NewSecret(emulator.DevSK), Base: srv.Client().Transport, Now: now}}
	c := dlf.NewClient(srv.URL, hc)

	// The emulator checks the signature: the header is added above it.
	list, err := c.ListInstances(context.Background(), "p1", "ws-1", dlf.ListInstancesQuery{JobName: "daily_load"})
	require.NoError(t, err)
	assert.Equal(t, 0, list.Total)
	require.Len(t, auth, 1)
	assert.Contains(t, auth[0], "SignedHeaders=accept;host;workspace;x-sdk-date,")
	assert.IsType(t, &cloudapi.AKSKTransport{}, hc.Transport, "the caller's client is not changed")
}
