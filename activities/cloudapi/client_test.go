package cloudapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities/cloudapi"
)

// serve answers every request with status, headers and body, and counts
// the requests it got.
func serve(t *testing.T, status int, header map[string]string, body string) (*cloudapi.Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return &cloudapi.Client{Service: "DLI", BaseURL: srv.URL, HTTP: srv.Client()}, &n
}

// apiError sends one request to a server answering as given and returns
// the *cloudapi.Error it produced.
func apiError(t *testing.T, status int, header map[string]string, body string) *cloudapi.Error {
	t.Helper()
	c, n := serve(t, status, header, body)
	err := c.Do(context.Background(), "submit SQL job", http.MethodPost, "/v1.0/p/jobs/submit-job", nil, map[string]string{"sql": "select 1"}, nil)
	require.Error(t, err)
	var apiErr *cloudapi.Error
	require.True(t, errors.As(err, &apiErr), "error %T %v is not a *cloudapi.Error", err, err)
	// The client never retries on its own: one request, whatever the status.
	assert.Equal(t, int32(1), n.Load(), "requests sent")
	return apiErr
}

func TestErrorBodyShapes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		wantCode string
		wantMsg  string
	}{
		{
			name:     "DLI error_code/error_msg",
			status:   400,
			body:     `{"error_code":"DLI.0002","error_msg":"There is no queue named testqueue"}`,
			wantCode: "DLI.0002",
			wantMsg:  "There is no queue named testqueue",
		},
		{
			name:     "CDM errCode/externalMessage",
			status:   500,
			body:     `{"errCode":"Cdm.0100","externalMessage":"Job[jdbc2hive] doesn't exist."}`,
			wantCode: "Cdm.0100",
			wantMsg:  "Job[jdbc2hive] doesn't exist.",
		},
		{
			name:     "CDM page form with code and message too",
			status:   400,
			body:     `{"code":"Cdm.0104","errCode":"Cdm.0104","message":"Job name already exist or created by other.","externalMessage":"Job name already exists."}`,
			wantCode: "Cdm.0104",
			wantMsg:  "Job name already exists.",
		},
		{
			name:     "plain code/message",
			status:   400,
			body:     `{"code":"X.1","message":"bad thing"}`,
			wantCode: "X.1",
			wantMsg:  "bad thing",
		},
		{
			name:     "nested error object",
			status:   401,
			body:     `{"error":{"code":"APIGW.0301","message":"Incorrect IAM authentication information"}}`,
			wantCode: "APIGW.0301",
			wantMsg:  "Incorrect IAM authentication information",
		},
		{
			name:     "LakeFormation 403: nested plus top level with nulls",
			status:   403,
			body:     `{"error":{"code":"403","message":"X-Auth-Token is invalid in the request","error_code":null,"error_msg":null,"title":"Forbidden"},"error_code":"403","error_msg":"X-Auth-Token is invalid in the request","title":"Forbidden"}`,
			wantCode: "403",
			wantMsg:  "X-Auth-Token is invalid in the request",
		},
		{
			name:    "non-JSON body (single-quoted gateway sample)",
			status:  401,
			body:    "  {'error_code': 'APIG.1002', 'error_msg': 'Incorrect token or token resolution failed'}\n",
			wantMsg: "{'error_code': 'APIG.1002', 'error_msg': 'Incorrect token or token resolution failed'}",
		},
		{
			name:    "HTML from a proxy",
			status:  502,
			body:    "<html><body>Bad Gateway</body></html>",
			wantMsg: "<html><body>Bad Gateway</body></html>",
		},
		{
			name:    "empty body: the status text",
			status:  503,
			body:    "",
			wantMsg: "Service Unavailable",
		},
		{
			name:    "JSON without known fields: the status text",
			status:  404,
			body:    `{"foo":"bar"}`,
			wantMsg: "Not Found",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := apiError(t, tc.status, map[string]string{"Content-Type": "application/json"}, tc.body)
			assert.Equal(t, "DLI", e.Service)
			assert.Equal(t, "submit SQL job", e.Op)
			assert.Equal(t, tc.status, e.Status)
			assert.Equal(t, tc.wantCode, e.Code)
			assert.Equal(t, tc.wantMsg, e.Message)
			assert.Equal(t, time.Duration(0), e.RetryAfter)
			assert.Equal(t, "", e.RequestID)
		})
	}
}

func TestErrorBodyIsBounded(t *testing.T) {
	e := apiError(t, 502, nil, strings.Repeat("x", 200<<10))
	assert.Equal(t, 64<<10, len(e.Message))
}

func TestErrorRequestIDAndText(t *testing.T) {
	e := apiError(t, 400, map[string]string{"X-Request-Id": "req-42"}, `{"error_code":"DLI.0001","error_msg":"Parameter check errors occur"}`)
	assert.Equal(t, "req-42", e.RequestID)
	assert.Equal(t, "DLI submit SQL job: HTTP 400 DLI.0001: Parameter check errors occur (request id req-42)", e.Error())

	bare := &cloudapi.Error{Service: "IAM", Op: "get token", Status: 500}
	assert.Equal(t, "IAM get token: HTTP 500", bare.Error())
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"120", 120 * time.Second},
		{"1", time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0}, // a date in the past
	} {
		t.Run(tc.header, func(t *testing.T) {
			e := apiError(t, 429, map[string]string{"Retry-After": tc.header}, `{"error_code":"DLI.0009","error_msg":"too many requests"}`)
			assert.Equal(t, tc.want, e.RetryAfter)
			assert.True(t, e.Retryable())
		})
	}
	t.Run("HTTP date in the future", func(t *testing.T) {
		date := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
		e := apiError(t, 503, map[string]string{"Retry-After": date}, "")
		// The date has whole seconds and a moment passes: between 58m and 1h.
		assert.LessOrEqual(t, e.RetryAfter, time.Hour)
		assert.Greater(t, e.RetryAfter, 58*time.Minute)
	})
}

func TestRetryable(t *testing.T) {
	for status, want := range map[int]bool{
		200: false, // is_success false on a 200
		400: false,
		401: false,
		403: false,
		404: false,
		409: false,
		408: true,
		429: true,
		500: true,
		502: true,
		503: true,
		504: true,
	} {
		assert.Equal(t, want, (&cloudapi.Error{Status: status}).Retryable(), "status %d", status)
	}
	// And the same from a real response.
	assert.False(t, apiError(t, 400, nil, "").Retryable())
	assert.True(t, apiError(t, 503, nil, "").Retryable())
}

func TestDoRequestAndResponse(t *testing.T) {
	var got struct {
		method, path, rawQuery, accept, contentType, body string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.path, got.rawQuery = r.Method, r.URL.Path, r.URL.RawQuery
		got.accept, got.contentType, got.body = r.Header.Get("Accept"), r.Header.Get("Content-Type"), string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"job_id":"j-1","n":3}`)
	}))
	defer srv.Close()
	c := &cloudapi.Client{Service: "DLI", BaseURL: srv.URL + "/", HTTP: srv.Client()}

	var out struct {
		JobID string `json:"job_id"`
		N     int    `json:"n"`
	}
	in := struct {
		SQL string `json:"sql"`
	}{"select 1"}
	err := c.Do(context.Background(), "submit", http.MethodPost, "/v1.0/p/jobs", url.Values{"tags": {"k=v"}, "page-size": {"100"}}, in, &out)
	require.NoError(t, err)
	assert.Equal(t, "j-1", out.JobID)
	assert.Equal(t, 3, out.N)
	assert.Equal(t, http.MethodPost, got.method)
	assert.Equal(t, "/v1.0/p/jobs", got.path)
	assert.Equal(t, "page-size=100&tags=k%3Dv", got.rawQuery)
	assert.Equal(t, "application/json", got.accept)
	assert.Equal(t, "application/json;charset=UTF-8", got.contentType)
	assert.Equal(t, `{"sql":"select 1"}`, got.body)

	// Without a body there is no Content-Type, and out may be nil.
	require.NoError(t, c.Do(context.Background(), "status", http.MethodGet, "/x", nil, nil, nil))
	assert.Equal(t, http.MethodGet, got.method)
	assert.Equal(t, "", got.contentType)
	assert.Equal(t, "", got.rawQuery)
	assert.Equal(t, "", got.body)
}

func TestDoEmptySuccessBody(t *testing.T) {
	// DLF and DIS answer 204 without a body; decoding "nothing" is not an
	// error.
	c, n := serve(t, http.StatusNoContent, nil, "")
	var out struct{ X string }
	require.NoError(t, c.Do(context.Background(), "delete", http.MethodDelete, "/x", nil, nil, &out))
	assert.Equal(t, "", out.X)
	assert.Equal(t, int32(1), n.Load())
}

func TestDoBadSuccessBody(t *testing.T) {
	c, _ := serve(t, 200, nil, "<html>")
	var out struct{}
	err := c.Do(context.Background(), "status", http.MethodGet, "/x", nil, nil, &out)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "DLI status: decode response: "), err.Error())
	var apiErr *cloudapi.Error
	assert.False(t, errors.As(err, &apiErr))
}

func TestDoTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	c := &cloudapi.Client{Service: "CDM", BaseURL: base}
	err := c.Do(context.Background(), "list jobs", http.MethodGet, "/v1.1/p/clusters", nil, nil, nil)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "CDM list jobs: "), err.Error())
	var urlErr *url.Error
	assert.True(t, errors.As(err, &urlErr))
}

func TestDoContextCancelled(t *testing.T) {
	c, n := serve(t, 200, nil, "{}")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Do(ctx, "status", http.MethodGet, "/x", nil, nil, nil)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int32(0), n.Load())
}
