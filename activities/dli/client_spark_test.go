package dli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/activities/dli"
)

func TestClientCreateSparkBatch(t *testing.T) {
	// No envelope; state in the samples' capitalisation.
	c, rec := stubClient(t, 200, `{"id":"07a3e4e6-9a28-4e92-8d3f-9c538621a166","appId":"","name":"etl-1","owner":"o","proxyUser":"","state":"Starting","kind":"","log":[],"sc_type":"CUSTOMIZED","cluster_name":"q","queue":"q","create_time":1607589874156,"update_time":1607589874156}`)
	b, err := c.CreateSparkBatch(context.Background(), "p1", dli.SparkBatchRequest{File: "obs://a.jar", ClassName: "C", Queue: "q", Name: "etl-1", NumExecutors: ptr(2)})
	require.NoError(t, err)
	assert.Equal(t, http.MethodPost, rec.method)
	assert.Equal(t, "/v2.0/p1/batches", rec.path)
	assert.JSONEq(t, `{"file":"obs://a.jar","class_name":"C","queue":"q","name":"etl-1","num_executors":2}`, rec.body)
	assert.Equal(t, dli.SparkBatch{ID: "07a3e4e6-9a28-4e92-8d3f-9c538621a166", Name: "etl-1", State: "Starting", Queue: "q", Log: []string{}, CreateTime: 1607589874156}, *b)
	assert.Equal(t, "starting", dli.SparkState(b.State))
}

func TestClientSparkBatchAppID(t *testing.T) {
	for _, tc := range []struct{ name, appID, want string }{
		{"string", `"application_1_0001"`, "application_1_0001"},
		{"array, as table 10-6 types it", `["application_1_0001"]`, "application_1_0001"},
		{"null", `null`, ""},
		{"number", `7`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := stubClient(t, 200, `{"id":"b","appId":`+tc.appID+`,"state":"success","log":["a","b"]}`)
			b, err := c.SparkBatch(context.Background(), "p1", "b/1")
			require.NoError(t, err)
			assert.Equal(t, "/v2.0/p1/batches/b%2F1", rec.rawPath)
			assert.Equal(t, tc.want, b.AppID)
			assert.Equal(t, []string{"a", "b"}, b.Log)
			assert.Equal(t, "success", b.State)
		})
	}
}

func TestClientSparkBatchState(t *testing.T) {
	c, rec := stubClient(t, 200, `{"id":"b","state":"Success"}`)
	state, err := c.SparkBatchState(context.Background(), "p1", "b")
	require.NoError(t, err)
	assert.Equal(t, "Success", state)
	assert.Equal(t, "/v2.0/p1/batches/b/state", rec.path)
}

func TestClientCancelSparkBatch(t *testing.T) {
	c, rec := stubClient(t, 200, `{"msg":"deleted"}`)
	require.NoError(t, c.CancelSparkBatch(context.Background(), "p1", "b"))
	assert.Equal(t, http.MethodDelete, rec.method)
	assert.Equal(t, "/v2.0/p1/batches/b", rec.path)

	c, _ = stubClient(t, 400, `{"error_code":"DLI.0007","error_msg":"batch b is success"}`)
	err := c.CancelSparkBatch(context.Background(), "p1", "b")
	var apiErr *cloudapi.Error
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "DLI.0007", apiErr.Code)
	assert.False(t, apiErr.Retryable())
}

func TestClientFindSparkBatchesByName(t *testing.T) {
	page := func(items []string, total int) string {
		sessions := make([]map[string]any, len(items))
		for i, it := range items {
			sessions[i] = map[string]any{"id": "b" + it, "name": it, "state": "running"}
		}
		b, _ := json.Marshal(map[string]any{"from": 0, "total": total, "sessions": sessions})
		return string(b)
	}
	// Names containing "etl-ab" on both pages; exact ones at 30 and 140.
	name := func(i int) string {
		if i == 30 || i == 140 {
			return "etl-ab"
		}
		return fmt.Sprintf("etl-ab%d", i)
	}
	c, queries := pagedServer(t, 150, name, page, "from", "size")
	batches, err := c.FindSparkBatchesByName(context.Background(), "p1", "etl-ab")
	require.NoError(t, err)
	require.Len(t, batches, 2)
	assert.Equal(t, "betl-ab", batches[0].ID)
	assert.Equal(t, []string{"from=0&job_name=etl-ab&size=100", "from=100&job_name=etl-ab&size=100"}, *queries)
}
