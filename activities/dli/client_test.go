package dli_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/activities/dli"
)

// recorded is what a stub server saw of the last request.
type recorded struct {
	method, path, rawPath, query, body string
}

// stubClient returns a client of a server that answers every request with
// status and body.
func stubClient(t *testing.T, status int, body string) (*dli.Client, *recorded) {
	t.Helper()
	rec := &recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*rec = recorded{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, string(b)}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return dli.NewClient(srv.URL, srv.Client()), rec
}

func TestClientSubmitSQL(t *testing.T) {
	c, rec := stubClient(t, 200, `{"is_success":true,"message":"","job_id":"95fcc908-9f1b-446c-8643-5653891d9fd9","job_type":"QUERY","job_mode":"async"}`)
	resp, err := c.SubmitSQL(context.Background(), "p1", dli.SubmitSQLRequest{
		SQL:  "select 1",
		Tags: []dli.Tag{{Key: "pipectl-key", Value: "pipectl-abc"}},
	})
	require.NoError(t, err)
	assert.Equal(t, "95fcc908-9f1b-446c-8643-5653891d9fd9", resp.JobID)
	assert.Equal(t, "QUERY", resp.JobType)
	assert.Equal(t, "async", resp.JobMode)
	assert.Equal(t, http.MethodPost, rec.method)
	assert.Equal(t, "/v1.0/p1/jobs/submit-job", rec.path)
	// Empty optional fields are left out.
	assert.JSONEq(t, `{"sql":"select 1","tags":[{"key":"pipectl-key","value":"pipectl-abc"}]}`, rec.body)
}

func TestClientEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name, body, wantErr string
	}{
		{"boolean true", `{"is_success":true,"message":"","job_id":"j"}`, ""},
		{"string true", `{"is_success":"true","message":"ok","job_id":"j"}`, ""},
		{"absent", `{"job_id":"j"}`, ""},
		{"null", `{"is_success":null,"job_id":"j"}`, ""},
		{"boolean false", `{"is_success":false,"message":"queue etl is busy"}`, "DLI submit SQL job: HTTP 200: queue etl is busy"},
		{"string false", `{"is_success":"false","message":"queue etl is busy"}`, "DLI submit SQL job: HTTP 200: queue etl is busy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := stubClient(t, 200, tc.body)
			resp, err := c.SubmitSQL(context.Background(), "p1", dli.SubmitSQLRequest{SQL: "select 1"})
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, "j", resp.JobID)
				return
			}
			require.Error(t, err)
			assert.Nil(t, resp)
			assert.Equal(t, tc.wantErr, err.Error())
			var apiErr *cloudapi.Error
			require.True(t, errors.As(err, &apiErr))
			assert.False(t, apiErr.Retryable())
		})
	}
	t.Run("not a boolean", func(t *testing.T) {
		c, _ := stubClient(t, 200, `{"is_success":"maybe"}`)
		_, err := c.SubmitSQL(context.Background(), "p1", dli.SubmitSQLRequest{SQL: "select 1"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "is_success")
	})
}

func TestClientCancelSQLJob(t *testing.T) {
	c, rec := stubClient(t, 200, `{"is_success":true,"message":""}`)
	require.NoError(t, c.CancelSQLJob(context.Background(), "p1", "j/1"))
	assert.Equal(t, http.MethodDelete, rec.method)
	assert.Equal(t, "/v1.0/p1/jobs/j/1", rec.path)
	assert.Equal(t, "/v1.0/p1/jobs/j%2F1", rec.rawPath, "ids are escaped as one path segment")

	c, _ = stubClient(t, 200, `{"is_success":false,"message":"job already finished"}`)
	err := c.CancelSQLJob(context.Background(), "p1", "j")
	require.Error(t, err)
	assert.Equal(t, "DLI cancel SQL job: HTTP 200: job already finished", err.Error())

	c, _ = stubClient(t, 400, `{"error_code":"DLI.0002","error_msg":"The job with id j does not exist."}`)
	err = c.CancelSQLJob(context.Background(), "p1", "j")
	var apiErr *cloudapi.Error
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "DLI.0002", apiErr.Code)
	assert.Equal(t, 400, apiErr.Status)
}

func TestClientSQLJobStatus(t *testing.T) {
	// A failed job: is_success stays true, the reason is in message.
	c, rec := stubClient(t, 200, `{"is_success":true,"message":"Table not found","job_id":"j","job_type":"INSERT","job_mode":"async","queue_name":"q","owner":"o","start_time":1714979289000,"duration":1500,"status":"FAILED","input_row_count":10,"bad_row_count":2,"input_size":2048,"result_count":8,"database_name":"dw","table_name":"t","tags":[{"key":"k","value":"v"}]}`)
	st, err := c.SQLJobStatus(context.Background(), "p1", "j")
	require.NoError(t, err)
	assert.Equal(t, "/v1.0/p1/jobs/j/status", rec.path)
	assert.Equal(t, http.MethodGet, rec.method)
	assert.Equal(t, "Table not found", st.Message)
	st2 := *st
	assert.Equal(t, "j", st2.JobID)
	assert.Equal(t, "INSERT", st2.JobType)
	assert.Equal(t, "FAILED", st2.Status)
	assert.Equal(t, int64(1714979289000), st2.StartTime)
	assert.Equal(t, int64(1500), st2.Duration)
	assert.Equal(t, int64(10), st2.InputRowCount)
	assert.Equal(t, int64(2), st2.BadRowCount)
	assert.Equal(t, int64(2048), st2.InputSize)
	assert.Equal(t, int64(8), st2.ResultCount)
	assert.Equal(t, []dli.Tag{{Key: "k", Value: "v"}}, st2.Tags)
}

func TestClientFindSQLJobsByTag(t *testing.T) {
	c, rec := stubClient(t, 200, `{"is_success":true,"message":"","job_count":1,"jobs":[{"job_id":"j2","status":"RUNNING","tags":[{"key":"pipectl-key","value":"pipectl-abc"}]}]}`)
	jobs, err := c.FindSQLJobsByTag(context.Background(), "p1", "pipectl-key", "pipectl-abc")
	require.NoError(t, err)
	assert.Equal(t, http.MethodGet, rec.method)
	assert.Equal(t, "/v1.0/p1/jobs", rec.path)
	assert.Equal(t, "page-size=100&tags=pipectl-key%3Dpipectl-abc", rec.query)
	require.Len(t, jobs, 1)
	assert.Equal(t, "j2", jobs[0].JobID)
	assert.Equal(t, "RUNNING", jobs[0].Status)
	assert.Equal(t, []dli.Tag{{Key: "pipectl-key", Value: "pipectl-abc"}}, jobs[0].Tags)
}
