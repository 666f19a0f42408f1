package emulator_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// isSuccessString: most DLI examples print is_success as the string
// "true"; the response tables type it Boolean (e.g. 001 @2045, @6131, @6642),
// and the SQL examples print a Boolean. The emulator sends the Boolean
// (dli.md §7.2).
const isSuccessString = "the tables type is_success Boolean; the emulator follows them, not the string example"

// dliSyncOnly: schema and rows (table 7-60 @4179-4180, Mandatory No)
// come with DDL statements run synchronously. The emulator runs every
// statement asynchronously (job_mode "async"), so clients poll the
// status as for any job.
const dliSyncOnly = "only synchronous DDL answers carry it; the emulator runs every statement asynchronously"

// dliSubmitRequest is the submit example request (001 @4187-4204).
const dliSubmitRequest = `{
  "currentdb": "db1",
  "sql": "desc table1",
  "queue_name": "default",
  "conf": [
    "dli.sql.shuffle.partitions = 200"
  ],
  "tags": [
    {
      "key": "workspace",
      "value": "space1"
    },
    {
      "key": "jobName",
      "value": "name1"
    }
  ]
}`

// dliSubmit submits sql to queue default of project p1 and returns the
// job ID.
func dliSubmit(c *confEnv, sql string) string {
	c.t.Helper()
	raw := c.do(emulator.DLI, "POST", "/v1.0/p1/jobs/submit-job", `{"sql":`+quote(sql)+`,"queue_name":"default","currentdb":"dbtest"}`, http.StatusOK)
	return c.str(raw, "job_id")
}

// dliFlink creates a Flink job of kind (sql-jobs, flink-jobs) and returns
// its ID.
func dliFlink(c *confEnv, kind, body string) string {
	c.t.Helper()
	return c.str(c.do(emulator.DLI, "POST", "/v1.0/p1/streaming/"+kind, body, http.StatusOK), "job.job_id")
}

func TestConformanceDLI(t *testing.T) {
	runConformance(t, []conformanceCase{{
		// 001 @4208-4254, in two fragments around a page break,
		// concatenated.
		name: "S3 submit SQL job",
		example: `{
  "is_success": true,
  "message": "",
  "job_id": "8ecb0777-9c70-4529-9935-29ea0946039c",
  "job_type": "DDL",
  "job_mode": "sync",
  "schema": [
    {
      "col_name": "string"
    },
    {
      "data_type": "string"
    },
    {
      "comment": "string"
    }
  ],
  "rows": [
    [
      "c1",
      "int",
      null
    ],
    [
      "c2",
"string",
null
]
]
}`,
		deviations: map[string]string{
			"schema": dliSyncOnly,
			"rows":   dliSyncOnly,
		},
		call: func(c *confEnv) string {
			return c.do(emulator.DLI, "POST", "/v1.0/p1/jobs/submit-job", dliSubmitRequest, http.StatusOK)
		},
	}, {
		// 001 @4616-4635, in two fragments around a page break; the
		// comma after "detail" is added.
		name: "S7 job status",
		example: `{
  "is_success": true,
  "message": "",
  "job_id": "208b08d4-0dc2-4dd7-8879-ddd4c020d7aa",
  "job_type": "QUERY",
  "job_mode": "async",
  "queue_name": "default",
  "owner": "test",
  "start_time": 1509335108918,
  "duration": 2523,
  "status": "FINISHED",
  "input_size": 22,
  "result_count": 4,
  "database_name": "dbtest",
  "table_name": "tbtest",
  "detail": "{\n  \"type\": \"struct\", \"fields\": [\n    {\n      \"name\": \"id\", \"type\": \"integer\", \"nullable\": true, \"metadata\": {\n    }\n    },\n    {\n      \"name\": \"name\", \"type\": \"string\", \"nullable\": true, \"metadata\": {\n    }\n    }\n  ]\n}",
"statement": "select * from t1"
}`,
		call: func(c *confEnv) string {
			id := dliSubmit(c, "select * from tbtest")
			c.clock.Advance(10 * time.Second)
			return c.do(emulator.DLI, "GET", "/v1.0/p1/jobs/"+id+"/status", "", http.StatusOK)
		},
	}, {
		// 001 @4415-4439. The job's "detail" string runs over a line
		// break and ends in an escaped quote, so the keys after it are
		// escaped too: the string is joined and closed ("}]}"), and those
		// keys unescaped.
		name: "S5 list jobs",
		example: `{
  "is_success": true,
  "message": "",
  "job_count": 1,
  "jobs": [
    {
      "detail": "{\"type\":\"struct\",\"fields\": [{\"name\":\"name\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},{\"name\":\"age\",\"type\":\"integer\",\"nullable\":true,\"metadata\":{}}]}",
      "duration": 17731,
      "end_time": 1502349821460,
      "input_size": 0,
      "job_id": "37286cc7-0508-4ffd-b636-951c8a5c75de",
      "job_type": "QUERY",
      "message": "",
      "owner": "tenant1",
      "queue_name": "queue1",
      "result_count": 3,
      "start_time": 1502349803729,
      "statement": "select * from t_json_002",
      "status": "FINISHED",
      "with_column_header": false
    }
  ]
}`,
		deviations: map[string]string{
			"jobs[].with_column_header": "only import jobs carry it (table 7-68 @4396, Mandatory No); the emulator runs no import jobs",
		},
		call: func(c *confEnv) string {
			dliSubmit(c, "select * from t_json_002")
			c.clock.Advance(10 * time.Second)
			return c.do(emulator.DLI, "GET", "/v1.0/p1/jobs", "", http.StatusOK)
		},
	}, {
		name:    "S4 cancel job", // 001 @4298-4301
		example: `{"is_success": true, "message": ""}`,
		call: func(c *confEnv) string {
			id := dliSubmit(c, "select 1")
			return c.do(emulator.DLI, "DELETE", "/v1.0/p1/jobs/"+id, "", http.StatusOK)
		},
	}, {
		name: "Q3 list queues", // 001 @2081-2105
		example: `{
  "is_success": "true",
  "message": "",
  "queues": [
    {
      "queue_name": "test",
      "owner": "testuser",
      "description": "",
      "create_time": 1562221422671,
      "queue_type": "spark",
      "cu_count": 16,
      "resource_id": "26afb850-d3c9-42c1-81c0-583d1163e80f",
      "cidr_in_vpc": "10.0.0.0/8",
      "cidr_in_subnet": "10.0.0.0/24",
      "cidr_in_mgmtsubnet": "10.23.128.0/24",
      "resource_mode": 1,
      "platform": "x86_64",
      "is_restarting": "false",
      "labels": ["multi_az=2"],
      "resource_type": "vm",
      "cu_spec": 16
    }
  ]
}`,
		deviations: map[string]string{
			"is_success":                  isSuccessString,
			"queues[].cidr_in_mgmtsubnet": "the table spells it cidr_in_mgmt_subnet (6-12 @2063), which the emulator sends",
			"queues[].is_restarting":      "the table types it Boolean (6-12 @2067); the example prints the string \"false\"",
			"queues[].resource_type":      "not in the response table (6-12 @2049-2073)",
			"queues[].labels[]":           "the seeded queues carry no labels; the table types labels as an array of strings (@2068), as the example's",
		},
		call: func(c *confEnv) string {
			return c.do(emulator.DLI, "GET", "/v1.0/p1/queues", "", http.StatusOK)
		},
	}, {
		name: "F1 create Flink SQL job", // 001 @6172-6181
		example: `{
 "is_success": "true",
 "message": "A DLI job is created successfully.",
 "job": {
 "job_id": 148,
 "status_name": "job_init",
 "status_desc": ""
 }
}`,
		deviations: map[string]string{"is_success": isSuccessString},
		call: func(c *confEnv) string {
			return c.do(emulator.DLI, "POST", "/v1.0/p1/streaming/sql-jobs", sampleFlinkSQLCreate, http.StatusOK)
		},
	}, {
		name: "F5 run Flink jobs", // 001 @6661-6679, two of its four entries
		example: `[
 {
 "is_success": "true",
 "message": "The request for submitting DLI jobs is delivered successfully."
 },
 {
 "is_success": "true",
 "message": "The request for submitting DLI jobs is delivered successfully."
 }
]`,
		deviations: map[string]string{"[].is_success": isSuccessString},
		call: func(c *confEnv) string {
			a, b := dliFlink(c, "sql-jobs", sampleFlinkSQLCreate), dliFlink(c, "flink-jobs", sampleFlinkJarCreate)
			return c.do(emulator.DLI, "POST", "/v1.0/p1/streaming/jobs/run", `{"job_ids":[`+a+`,`+b+`],"resume_savepoint":false}`, http.StatusOK)
		},
	}, {
		name: "F6 list Flink jobs", // 001 @6820-6843
		example: `{
 "is_success": "true",
 "message": "Querying of the job list succeeds.",
 "job_list": {
 "total_count": 26,
 "jobs": [
 {
 "job_id": 146,
 "name": "aaaaa",
 "desc": "",
 "user_name": "",
 "job_type": "flink_sql_job",
 "status": "job_init",
 "status_desc": "",
 "create_time": 1578892414688,
 "duration": 0,
 "root_id": -1,
 "graph_editor_enabled": false,
 "has_savepoint": false
 }
]
 }
}`,
		deviations: map[string]string{"is_success": isSuccessString},
		call: func(c *confEnv) string {
			dliFlink(c, "sql-jobs", sampleFlinkSQLCreate)
			return c.do(emulator.DLI, "GET", "/v1.0/p1/streaming/jobs", "", http.StatusOK)
		},
	}, {
		// 001 @6979-7037, the flink_jar_job example, in two fragments
		// around a page break, concatenated.
		name: "F7 Flink job details",
		example: `{
 "is_success": "true",
 "message": "Querying of the job details succeeds.",
 "job_detail": {
 "job_id": 104,
 "user_id": "011c99a26ae84a1bb963a75e7637d3fd",
 "queue_name": "flinktest",
 "project_id": "330e068af1334c9782f4226acc00a2e2",
 "name": "jptest",
 "desc": "",
 "sql_body": "",
 "run_mode": "exclusive_cluster",
 "job_type": "flink_jar_job",
 "job_config": {
 "checkpoint_enabled": false,
 "checkpoint_interval": 10,
 "checkpoint_mode": "exactly_once",
 "log_enabled": false,
 "obs_bucket": null,
 "root_id": -1,
 "edge_group_ids": null,
 "graph_editor_enabled": false,
 "graph_editor_data": "",
 "manager_cu_number": 1,
 "executor_number": null,
 "executor_cu_number": null,
 "cu_number": 2,
 "parallel_number": 1,
 "smn_topic": null,
 "restart_when_exception": false,
 "idle_state_retention": 3600,
 "config_url": null,
 "udf_jar_url": null,
 "dirty_data_strategy": null,
 "entrypoint": "FemaleInfoCollection.jar",
 "dependency_jars": [
 "FemaleInfoCollection.jar",
 "ObsBatchTest.jar"
],
 "dependency_files": [
 "FemaleInfoCollection.jar",
 "ReadFromResource"
]
 },
 "main_class": null,
 "entrypoint_args": null,
 "execution_graph": null,
 "status": "job_init",
 "status_desc": "",
 "create_time": 1578466221525,
 "update_time": 1578467395713,
 "start_time": null
 }
}`,
		deviations: map[string]string{"is_success": isSuccessString},
		call: func(c *confEnv) string {
			id := dliFlink(c, "flink-jobs", sampleFlinkJarCreate)
			return c.do(emulator.DLI, "GET", "/v1.0/p1/streaming/jobs/"+id, "", http.StatusOK)
		},
	}, {
		// 001 @7262-7266. The response table (@7242) documents an array
		// of these, as F5 answers; the example prints one object.
		name: "F9 stop Flink jobs",
		example: `{
 "is_success": "true",
 "message": "The request for stopping DLI jobs is delivered successfully."
}`,
		deviations: map[string]string{"(root)": "the table documents an array of {is_success, message}, one per job, as F5 answers; the example prints one object"},
		call: func(c *confEnv) string {
			id := dliFlink(c, "sql-jobs", sampleFlinkSQLCreate)
			c.do(emulator.DLI, "POST", "/v1.0/p1/streaming/jobs/run", `{"job_ids":[`+id+`]}`, http.StatusOK)
			c.clock.Advance(time.Minute)
			return c.do(emulator.DLI, "POST", "/v1.0/p1/streaming/jobs/stop", `{"job_ids":[`+id+`]}`, http.StatusOK)
		},
	}, {
		name: "B1 create Spark batch", // 001 @7732-7747
		example: `{
 "id": "07a3e4e6-9a28-4e92-8d3f-9c538621a166",
 "appId": "",
 "name": "",
 "owner": "test1",
 "proxyUser": "",
 "state": "starting",
 "kind": "",
 "log": [],
 "sc_type": "CUSTOMIZED",
 "cluster_name": "aaa",
 "queue": "aaa",
 "create_time": 1607589874156,
 "update_time": 1607589874156
}`,
		call: func(c *confEnv) string {
			return c.do(emulator.DLI, "POST", "/v2.0/p1/batches", sampleSparkCreate, http.StatusOK)
		},
	}, {
		name: "B4 Spark batch details", // 001 @7978-7999
		example: `{
 "id": "0a324461-d9d9-45da-a52a-3b3c7a3d809e",
 "appId": "",
 "name": "",
 "owner": "",
 "proxyUser": "",
 "state": "starting",
 "kind": "",
 "log": [
 {
 "stdout": "",
 "stderr": "",
 "YARN Diagnostics": ""
 }
],
 "sc_type": "A",
 "cluster_name": "test",
 "queue": "test",
 "create_time": 1531906043036,
 "update_time": 1531906043036
}`,
		deviations: map[string]string{
			"log[]": "the table types log as an array of strings, the last lines of the job's log (10-17 @7962); the example prints objects",
		},
		call: func(c *confEnv) string {
			id := c.str(c.do(emulator.DLI, "POST", "/v2.0/p1/batches", sampleSparkCreate, http.StatusOK), "id")
			c.clock.Advance(time.Second)
			return c.do(emulator.DLI, "GET", "/v2.0/p1/batches/"+id, "", http.StatusOK)
		},
	}, {
		name:    "B5 Spark batch state", // 001 @8059
		example: `{"id":"0a324461-d9d9-45da-a52a-3b3c7a3d809e","state":"Success"}`,
		call: func(c *confEnv) string {
			id := c.str(c.do(emulator.DLI, "POST", "/v2.0/p1/batches", sampleSparkCreate, http.StatusOK), "id")
			return c.do(emulator.DLI, "GET", "/v2.0/p1/batches/"+id+"/state", "", http.StatusOK)
		},
	}})
}
