package lakeformation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities/lakeformation"
)

func TestStatusForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want lakeformation.Status
	}{
		{`"RUNNING"`, lakeformation.Status{Status: "RUNNING"}},
		{`{"status":"SUCCESS"}`, lakeformation.Status{Status: "SUCCESS"}},
		{` {"status":"FAILED","message":"boom"}`, lakeformation.Status{Status: "FAILED", Message: "boom"}},
	} {
		var job lakeformation.Job
		require.NoError(t, json.Unmarshal([]byte(`{"id":"j","status":`+tc.in+`}`), &job), tc.in)
		assert.Equal(t, tc.want, job.Status, tc.in)
	}
	var job lakeformation.Job
	err := json.Unmarshal([]byte(`{"status":42}`), &job)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "status: 42 is neither a string nor an object")

	// It is written back in the documented string form.
	b, err := json.Marshal(lakeformation.Status{Status: "SUCCESS", Message: "x"})
	require.NoError(t, err)
	assert.Equal(t, `"SUCCESS"`, string(b))
}

func TestFindJobPages(t *testing.T) {
	// The name pattern is a substring match: the exact name is on the
	// second page, after 100 longer names.
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		list := lakeformation.JobList{Total: 101}
		if r.URL.Query().Get("offset") == "" {
			for i := range 100 {
				list.Jobs = append(list.Jobs, lakeformation.Job{ID: fmt.Sprint(i), Name: fmt.Sprintf("load_sales_%d", i)})
			}
		} else {
			list.Jobs = []lakeformation.Job{{ID: "the-one", Name: "load_sales", Status: lakeformation.Status{Status: "CREATED"}}}
		}
		_ = json.NewEncoder(w).Encode(list)
	}))
	defer srv.Close()
	c := lakeformation.NewClient(srv.URL, srv.Client())

	job, err := c.FindJob(context.Background(), "p1", "i1", "METADATA_DISCOVERY", "load_sales")
	require.NoError(t, err)
	require.NotNil(t, job)
	assert.Equal(t, "the-one", job.ID)
	assert.Equal(t, []string{
		"limit=100&name_pattern=load_sales&type=METADATA_DISCOVERY",
		"limit=100&name_pattern=load_sales&offset=100&type=METADATA_DISCOVERY",
	}, queries)

	job, err = c.FindJob(context.Background(), "p1", "i1", "METADATA_DISCOVERY", "load")
	require.NoError(t, err)
	assert.Nil(t, job)
	assert.Len(t, queries, 4)
}

func TestClientPaths(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.EscapedPath())
		if strings.HasSuffix(r.URL.Path, "/start") || strings.HasSuffix(r.URL.Path, "/stop") {
			w.WriteHeader(http.StatusAccepted) // no body
			return
		}
		_, _ = w.Write([]byte(`{"id":"j 1","status":"CREATED"}`))
	}))
	defer srv.Close()
	c := lakeformation.NewClient(srv.URL, srv.Client())
	ctx := context.Background()
	_, err := c.ShowJob(ctx, "p1", "i/1", "j 1")
	require.NoError(t, err)
	require.NoError(t, c.StartJob(ctx, "p1", "i1", "j1"))
	require.NoError(t, c.StopJob(ctx, "p1", "i1", "j1"))
	assert.Equal(t, []string{
		"GET /v1/p1/instances/i%2F1/lf-jobs/j%201",
		"POST /v1/p1/instances/i1/lf-jobs/j1/start",
		"POST /v1/p1/instances/i1/lf-jobs/j1/stop",
	}, got)
}
