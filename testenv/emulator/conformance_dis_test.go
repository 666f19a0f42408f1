package emulator_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// disNewStream creates the 5.1.1 sample stream "newstream" (3 partitions)
// in p1 and lets it finish creating.
func disNewStream(c *confEnv) {
	c.t.Helper()
	c.do(emulator.DIS, "POST", "/v2/p1/streams", disStreamSamples[0].body, http.StatusCreated)
	c.clock.Advance(disJob)
}

// disNewTask adds the 5.5.1 sample OBS dump task "newtask" to newstream.
func disNewTask(c *confEnv) {
	c.t.Helper()
	disNewStream(c)
	c.do(emulator.DIS, "POST", "/v2/p1/streams/newstream/transfer-tasks", disTaskSamples[0].body, http.StatusCreated)
	c.clock.Advance(disJob)
}

// disPutExample is the upload example request (002 @1835-1840).
const disPutExample = `{
  "stream_name" : "newstream",
  "records" : [ {
    "data" : "MTEzMTEzMTEzMTEzMTEzMTEzMTEzMTEzMTE="
  } ]
}`

func TestConformanceDIS(t *testing.T) {
	runConformance(t, []conformanceCase{{
		name: "list streams", // 002 @713-731
		example: `{
    "total_number" : 1,
    "stream_names" : [ "newstream" ],
    "stream_info_list" : [ {
        "stream_id" : "8QM3Nt9YTLowtUVYJhO",
        "stream_name" : "newstream",
        "create_time" : 1593569685875,
        "retention_period" : 24,
        "status" : "RUNNING",
        "stream_type" : "COMMON",
        "data_type" : "BLOB",
        "partition_count" : 1,
        "tags" : [ ],
        "auto_scale_enabled" : false,
        "auto_scale_min_partition_count" : 0,
        "auto_scale_max_partition_count" : 0
    } ],
    "has_more_streams" : false
}`,
		call: func(c *confEnv) string {
			disNewStream(c)
			return c.do(emulator.DIS, "GET", "/v2/p1/streams", "", http.StatusOK)
		},
	}, {
		name: "describe stream", // 002 @909-931
		example: `{
    "stream_id": "8QM3Nt9YTLOwtUVYJhO",
    "stream_name": "newstream",
    "create_time": 1593569685875,
    "last_modified_time": "1599050091026.",
    "retention_period": 24,
    "status": "RUNNING",
    "stream_type": "COMMON",
    "data_type": "BLOB",
    "writable_partition_count": 1,
    "readable_partition_count": 1,
    "tags": [],
    "auto_scale_enabled": false,
    "auto_scale_min_partition_count": 0,
    "auto_scale_max_partition_count": 0,
    "partitions": [ {
        "status": "ACTIVE",
        "partition_id": "shardId-0000000000",
        "hash_range": "[0 : 9223372036854775807]",
        "sequence_number_range": "[289911 : 289927]"
    } ],
    "has_more_partitions": false
}`,
		deviations: map[string]string{
			"last_modified_time": "the table types it Long (5-19 @830), like create_time; the example prints the string \"1599050091026.\"",
		},
		call: func(c *confEnv) string {
			disNewStream(c)
			return c.do(emulator.DIS, "GET", "/v2/p1/streams/newstream", "", http.StatusOK)
		},
	}, {
		// No example (002 @1843-1845: "None"); tables 5-68 and 5-69
		// (@1813-1827) written out as one, with a written entry and a
		// failed one, which carries error_code and error_message instead.
		name: "upload records",
		example: `{
  "failed_record_count": 1,
  "records": [
    {"partition_id": "shardId-0000000000", "sequence_number": "0"},
    {"error_code": "DIS.4200", "error_message": "Invalid request."}
  ]
}`,
		call: func(c *confEnv) string {
			disNewStream(c)
			c.do(emulator.DIS, "POST", "/v2/p1/records", disPutExample, http.StatusOK)
			return c.do(emulator.DIS, "POST", "/v2/p1/records",
				`{"stream_name":"newstream","records":[{"data":"MTEz"},{"data":"not base64!"}]}`, http.StatusOK)
		},
	}, {
		// 002 @1984-1989; the cursor string runs over three lines, which
		// are joined.
		name:    "get cursor",
		example: `{"partition_cursor": "eyJnZXRIjdGVyYXRvcIBhcmFtIjp7InN0cmVhbS1uYW1ljoianpjliwicGFydGl0aW9uLWlkjoiMCislN1cnNvc10eXBlIjoiQVRfU0VRVUVQOQ0VftIVNQkVSlwic3RhcnRpmbmctc2VxdVVuY2UtbnVtYmVyljoiMTAifSwiZ2VuZXJhdGVUaW1lc3RhXAiOjE1MDYxNTk1NjM0MDV9"}`,
		call: func(c *confEnv) string {
			disNewStream(c)
			return c.do(emulator.DIS, "GET", "/v2/p1/cursors?stream-name=newstream&partition-id=0&cursor-type=TRIM_HORIZON", "", http.StatusOK)
		},
	}, {
		// No example (002 @1909-1913 prints none); tables 5-73 and 5-74
		// (@1888-1904) written out as one.
		name: "download records",
		example: `{
  "records": [{
    "partition_key": "k1",
    "sequence_number": "0",
    "data": "ZGF0YQ==",
    "timestamp": 1527130000000,
    "timestamp_type": "CreateTime"
  }],
  "next_partition_cursor": "eyJ..."
}`,
		call: func(c *confEnv) string {
			disNewStream(c)
			c.do(emulator.DIS, "POST", "/v2/p1/records", `{"stream_name":"newstream","records":[{"data":"ZGF0YQ==","partition_id":"0","partition_key":"k1"}]}`, http.StatusOK)
			cursor := c.str(c.do(emulator.DIS, "GET", "/v2/p1/cursors?stream-name=newstream&partition-id=0&cursor-type=TRIM_HORIZON", "", http.StatusOK), "partition_cursor")
			return c.do(emulator.DIS, "GET", "/v2/p1/records?partition-cursor="+url.QueryEscape(cursor), "", http.StatusOK)
		},
	}, {
		name: "list dump tasks", // 002 @2190-2200
		example: `{
  "tasks": [ {
    "task_id": "As805BudhcH1IDs6gbn",
    "destination_type": "OBS",
    "task_name": "newtask",
    "create_time": 1606554932552,
    "state": "RUNNING",
    "last_transfer_timestamp": 1606984428612
  } ],
  "total_number": 1
}`,
		call: func(c *confEnv) string {
			disNewTask(c)
			return c.do(emulator.DIS, "GET", "/v2/p1/streams/newstream/transfer-tasks", "", http.StatusOK)
		},
	}, {
		// 002 @2358-2389, in two fragments around a page break: the
		// first closes the task object early ("},"); that brace is
		// dropped so its comma joins the second fragment's partitions.
		name: "dump task details",
		example: `{
  "stream_id": "RdMFID6edQdf8eDzc9e",
  "stream_name": "newstream",
  "task_name": "newtask",
  "task_id": "As805BudhcH1lDs6gbn",
  "destination_type": "OBS",
  "state": "RUNNING",
  "create_time": 1606554932552,
  "last_transfer_timestamp": 1606984428612,
  "obs_destination_description": {
    "agency_name": "dis_admin_agency",
    "file_prefix": "",
    "partition_format": "yyyy/MM/dd",
    "obs_bucket_path": "obsbucket",
    "deliver_time_interval": 60,
    "consumer_strategy": "LATEST",
    "retry_duration": 0,
    "destination_file_type": "text",
    "record_delimiter": "\n"
  }
,
"partitions" : [ {
    "partitionId" : "shardId-0000000000",
    "discard" : 0,
    "state" : "RUNNING",
    "last_transfer_timestamp" : 1606984428612,
    "last_transfer_offset" : 289897
} ]
}`,
		call: func(c *confEnv) string {
			disNewTask(c)
			return c.do(emulator.DIS, "GET", "/v2/p1/streams/newstream/transfer-tasks/newtask", "", http.StatusOK)
		},
	}})
}
