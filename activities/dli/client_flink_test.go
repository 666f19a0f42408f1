package dli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities/dli"
)

func TestClientCreateFlinkJob(t *testing.T) {
	// The reference's sample: is_success as a string, job_id a Long.
	c, rec := stubClient(t, 200, `{"is_success":"true","message":"A DLI job is created successfully.","job":{"job_id":148,"status_name":"job_init","status_desc":""}}`)
	id, err := c.CreateFlinkJob(context.Background(), "p1", dli.FlinkSQLJobType, dli.FlinkJobRequest{Name: "myjob", SQLBody: ptr("select 1"), CUNumber: ptr(0)})
	require.NoError(t, err)
	assert.Equal(t, int64(148), id)
	assert.Equal(t, http.MethodPost, rec.method)
	assert.Equal(t, "/v1.0/p1/streaming/sql-jobs", rec.path)
	// Set pointers are sent even when zero; nil ones are left out.
	assert.JSONEq(t, `{"name":"myjob","sql_body":"select 1","cu_number":0}`, rec.body)

	c, rec = stubClient(t, 200, `{"is_success":true,"message":"","job":{"job_id":9}}`)
	id, err = c.CreateFlinkJob(context.Background(), "p1", dli.FlinkJarJobType, dli.FlinkJobRequest{Name: "jar"})
	require.NoError(t, err)
	assert.Equal(t, int64(9), id)
	assert.Equal(t, "/v1.0/p1/streaming/flink-jobs", rec.path)

	c, _ = stubClient(t, 200, `{"is_success":"false","message":"queue not found"}`)
	_, err = c.CreateFlinkJob(context.Background(), "p1", dli.FlinkSQLJobType, dli.FlinkJobRequest{Name: "x"})
	require.Error(t, err)
	assert.Equal(t, "DLI create Flink job: HTTP 200: queue not found", err.Error())
}

func TestClientUpdateFlinkJob(t *testing.T) {
	c, rec := stubClient(t, 200, `{"is_success":"true","message":"The job is updated successfully.","job":{"update_time":1578905682534}}`)
	require.NoError(t, c.UpdateFlinkJob(context.Background(), "p1", dli.FlinkJarJobType, 148, dli.FlinkJobRequest{Entrypoint: ptr("g/a.jar")}))
	assert.Equal(t, http.MethodPut, rec.method)
	assert.Equal(t, "/v1.0/p1/streaming/flink-jobs/148", rec.path)
	assert.JSONEq(t, `{"entrypoint":"g/a.jar"}`, rec.body)
}

func TestClientFlinkRunStop(t *testing.T) {
	for _, tc := range []struct {
		name, body, wantErr string
	}{
		{"documented array", `[{"is_success":"true","message":"The request for submitting DLI jobs is delivered successfully."}]`, ""},
		{"boolean", `[{"is_success":true,"message":""}]`, ""},
		{"single object, as the stop sample", `{"is_success":"true","message":"ok"}`, ""},
		{"refused", `[{"is_success":false,"message":"The job 148 is job_running and cannot be run until it stops."}]`, "HTTP 200: The job 148 is job_running and cannot be run until it stops."},
		{"refused object", ` {"is_success":"false","message":"no"}`, "HTTP 200: no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := stubClient(t, 200, tc.body)
			err := c.RunFlinkJob(context.Background(), "p1", 148)
			assert.Equal(t, "/v1.0/p1/streaming/jobs/run", rec.path)
			assert.JSONEq(t, `{"job_ids":[148],"resume_savepoint":false}`, rec.body)
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Equal(t, "DLI run Flink job: "+tc.wantErr, err.Error())
			}

			err = c.StopFlinkJob(context.Background(), "p1", 148, true)
			assert.Equal(t, http.MethodPost, rec.method)
			assert.Equal(t, "/v1.0/p1/streaming/jobs/stop", rec.path)
			assert.JSONEq(t, `{"job_ids":[148],"trigger_savepoint":true}`, rec.body)
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Equal(t, "DLI stop Flink job: "+tc.wantErr, err.Error())
			}
		})
	}
}

func TestClientFlinkJob(t *testing.T) {
	c, rec := stubClient(t, 200, `{"is_success":"true","message":"Querying of the job details succeeds.","job_detail":{"job_id":104,"name":"j","desc":"d","job_type":"flink_opensource_sql_job","status":"job_running_exception","status_desc":"Kafka down","queue_name":"q","create_time":1,"start_time":3,"update_time":2,"job_config":{"cu_number":2}}}`)
	j, err := c.FlinkJob(context.Background(), "p1", 104)
	require.NoError(t, err)
	assert.Equal(t, http.MethodGet, rec.method)
	assert.Equal(t, "/v1.0/p1/streaming/jobs/104", rec.path)
	assert.Equal(t, dli.FlinkJob{JobID: 104, Name: "j", Desc: "d", JobType: "flink_opensource_sql_job", Status: "job_running_exception",
		StatusDesc: "Kafka down", QueueName: "q", CreateTime: 1, StartTime: 3, UpdateTime: 2}, *j)
	assert.Equal(t, "104", j.ID())
}

// pagedServer serves a list of n items in pages: item i is named by
// name(i), and the page is rendered by page(items, total).
func pagedServer(t *testing.T, n int, name func(int) string, page func(items []string, total int) string, offsetKey, sizeKey string) (*dli.Client, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		from, _ := strconv.Atoi(r.URL.Query().Get(offsetKey))
		size, _ := strconv.Atoi(r.URL.Query().Get(sizeKey))
		var items []string
		for i := from; i < n && i < from+size; i++ {
			items = append(items, name(i))
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, page(items, n))
	}))
	t.Cleanup(srv.Close)
	return dli.NewClient(srv.URL, srv.Client()), &queries
}

func TestClientFindFlinkJobByName(t *testing.T) {
	page := func(items []string, total int) string {
		jobs := make([]map[string]any, len(items))
		for i, it := range items {
			var id int
			var name string
			_, _ = fmt.Sscanf(it, "%d:%s", &id, &name)
			jobs[i] = map[string]any{"job_id": id, "name": name, "status": "job_init"}
		}
		b, _ := json.Marshal(map[string]any{"is_success": "true", "job_list": map[string]any{"total_count": total, "jobs": jobs}})
		return string(b)
	}
	// 150 jobs whose names contain "clicks"; the exact one is on page 2.
	name := func(i int) string {
		if i == 120 {
			return fmt.Sprintf("%d:clicks", i)
		}
		return fmt.Sprintf("%d:clicks_%d", i, i)
	}
	c, queries := pagedServer(t, 150, name, page, "offset", "limit")
	j, err := c.FindFlinkJobByName(context.Background(), "p1", "clicks")
	require.NoError(t, err)
	require.NotNil(t, j)
	assert.Equal(t, int64(120), j.JobID)
	assert.Equal(t, []string{"limit=100&name=clicks&offset=0", "limit=100&name=clicks&offset=100"}, *queries)

	j, err = c.FindFlinkJobByName(context.Background(), "p1", "views")
	require.NoError(t, err)
	assert.Nil(t, j)
	assert.Len(t, *queries, 4, "both pages were read")

	empty, _ := pagedServer(t, 0, name, page, "offset", "limit")
	j, err = empty.FindFlinkJobByName(context.Background(), "p1", "clicks")
	require.NoError(t, err)
	assert.Nil(t, j)
}
