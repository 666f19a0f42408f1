package dis_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities/dis"
)

// recorded is what a stub server saw of the last request.
type recorded struct {
	method, path, query, body string
}

// stubClient returns a client of a server that answers every request with
// status and body.
func stubClient(t *testing.T, status int, body string) (*dis.Client, *recorded) {
	t.Helper()
	rec := &recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*rec = recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(b)}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return dis.NewClient(srv.URL, srv.Client()), rec
}

func TestClientCreateStream(t *testing.T) {
	c, rec := stubClient(t, http.StatusCreated, "")
	require.NoError(t, c.CreateStream(context.Background(), "p1", dis.CreateStreamRequest{StreamName: "s", PartitionCount: 3, DataDuration: 48}))
	assert.Equal(t, http.MethodPost, rec.method)
	assert.Equal(t, "/v2/p1/streams", rec.path)
	// Unset optional fields are left out, so the service's defaults apply.
	assert.JSONEq(t, `{"stream_name":"s","partition_count":3,"data_duration":48}`, rec.body)
}

func TestClientChangePartitions(t *testing.T) {
	c, rec := stubClient(t, http.StatusOK, "")
	require.NoError(t, c.ChangePartitions(context.Background(), "p1", "s 1", 5))
	assert.Equal(t, http.MethodPut, rec.method)
	assert.Equal(t, "/v2/p1/streams/s%201", rec.path)
	assert.JSONEq(t, `{"stream_name":"s 1","target_partition_count":5}`, rec.body)
}

func TestClientDescribeStream(t *testing.T) {
	// The reference's sample, with its string last_modified_time.
	c, rec := stubClient(t, http.StatusOK, `{"stream_id":"8QM3Nt9YTLowtUVYJhO","stream_name":"newstream","create_time":1593569685875,
		"last_modified_time":"1599050091026.","retention_period":24,"status":"RUNNING","stream_type":"COMMON","data_type":"BLOB",
		"writable_partition_count":0,"readable_partition_count":1,"tags":[],"auto_scale_enabled":false,
		"partitions":[{"status":"ACTIVE","partition_id":"shardId-0000000000","hash_range":"[0 : 9223372036854775807]"},
		{"status":"DELETED","partition_id":"shardId-0000000001"}],"has_more_partitions":false}`)
	st, err := c.DescribeStream(context.Background(), "p1", "newstream")
	require.NoError(t, err)
	assert.Equal(t, "/v2/p1/streams/newstream", rec.path)
	assert.Equal(t, "8QM3Nt9YTLowtUVYJhO", st.StreamID)
	assert.Equal(t, "RUNNING", st.Status)
	assert.Equal(t, 24, st.RetentionPeriod)
	// No writable count sent: the ACTIVE partitions listed.
	assert.Equal(t, 1, st.Writable())
}

func TestClientDumpTaskRequests(t *testing.T) {
	c, rec := stubClient(t, http.StatusCreated, "")
	desc := json.RawMessage(`{"task_name":"t","agency_name":"a","obs_bucket_path":"b","deliver_time_interval":30}`)
	require.NoError(t, c.CreateDumpTask(context.Background(), "p1", "s", dis.CreateDumpTaskRequest{DestinationType: "OBS", Descriptor: desc}))
	assert.Equal(t, http.MethodPost, rec.method)
	assert.Equal(t, "/v2/p1/streams/s/transfer-tasks", rec.path)
	assert.JSONEq(t, `{"destination_type":"OBS","obs_destination_descriptor":{"task_name":"t","agency_name":"a","obs_bucket_path":"b","deliver_time_interval":30}}`, rec.body)

	require.NoError(t, c.StartDumpTasks(context.Background(), "p1", "s", "id1", "id2"))
	assert.Equal(t, "/v2/p1/streams/s/transfer-tasks/action", rec.path)
	assert.JSONEq(t, `{"action":"start","tasks":[{"id":"id1"},{"id":"id2"}]}`, rec.body)

	require.NoError(t, c.PauseDumpTasks(context.Background(), "p1", "s", "id1"))
	assert.JSONEq(t, `{"action":"stop","tasks":[{"id":"id1"}]}`, rec.body)

	require.NoError(t, c.DeleteDumpTask(context.Background(), "p1", "s", "t"))
	assert.Equal(t, http.MethodDelete, rec.method)
	assert.Equal(t, "/v2/p1/streams/s/transfer-tasks/t", rec.path)

	err := c.PauseDumpTasks(context.Background(), "p1", "s")
	assert.EqualError(t, err, "DIS pause dump tasks: no task ids")
}

func TestClientListDumpTasks(t *testing.T) {
	c, rec := stubClient(t, http.StatusOK, `{"total_number":1,"quota":5,"tasks":[{"task_id":"As805BudhcH1lDs6gbn","task_name":"newtask",
		"state":"RUNNING","destination_type":"OBS","create_time":1606554932552,"last_transfer_timestamp":1606984428612}]}`)
	tasks, err := c.ListDumpTasks(context.Background(), "p1", "s")
	require.NoError(t, err)
	assert.Equal(t, http.MethodGet, rec.method)
	assert.Equal(t, "/v2/p1/streams/s/transfer-tasks", rec.path)
	assert.Equal(t, []dis.DumpTaskSummary{{TaskID: "As805BudhcH1lDs6gbn", TaskName: "newtask", State: "RUNNING",
		DestinationType: "OBS", CreateTime: 1606554932552, LastTransferTimestamp: 1606984428612}}, tasks)
}

func TestClientDescribeDumpTaskDescriptorKeys(t *testing.T) {
	for _, tc := range []struct{ name, body, wantKey string }{
		{"reference table: description", `{"task_name":"t","destination_type":"OBS","obs_destination_description":{"obs_bucket_path":"b"}}`, "obs_bucket_path"},
		{"request key", `{"task_name":"t","destination_type":"DLI","dli_destination_descriptor":{"dli_table_name":"x"}}`, "dli_table_name"},
		{"DAYU misspelling", `{"task_name":"t","destination_type":"DWS","dws_destination_descripton":{"dws_table_name":"x"}}`, "dws_table_name"},
		{"CLOUDBASE sample", `{"task_name":"t","destination_type":"CLOUDBASE","cloudtable_destination_descriptor":{"cloudtable_table_name":"x"}}`, "cloudtable_table_name"},
		{"other spelling", `{"task_name":"t","destination_type":"MRS","mrs_destination_descriptio":{"mrs_hdfs_path":"/x"}}`, "mrs_hdfs_path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := stubClient(t, http.StatusOK, tc.body)
			task, err := c.DescribeDumpTask(context.Background(), "p1", "s", "t")
			require.NoError(t, err)
			assert.Equal(t, "/v2/p1/streams/s/transfer-tasks/t", rec.path)
			assert.Len(t, task.Descriptor, 1)
			assert.Contains(t, task.Descriptor, tc.wantKey)
		})
	}
	c, _ := stubClient(t, http.StatusOK, `{"task_name":"t","task_id":"i","state":"ERROR","destination_type":"OBS","error_message":"boom"}`)
	task, err := c.DescribeDumpTask(context.Background(), "p1", "s", "t")
	require.NoError(t, err)
	assert.Nil(t, task.Descriptor)
	assert.Equal(t, "boom", task.ErrorMessage)
	assert.Equal(t, "i", task.TaskID)
}

func TestErrorCode(t *testing.T) {
	c, _ := stubClient(t, http.StatusBadRequest, `{"error_code":"DIS.4354","error_msg":"The transfer task does not exist."}`)
	_, err := c.DescribeDumpTask(context.Background(), "p1", "s", "t")
	assert.Equal(t, dis.CodeTaskNotFound, dis.ErrorCode(err))
	assert.Equal(t, "DIS describe dump task: HTTP 400 DIS.4354: The transfer task does not exist.", err.Error())
	assert.Equal(t, "", dis.ErrorCode(errors.New("x")))
	assert.Equal(t, "", dis.ErrorCode(nil))
}
