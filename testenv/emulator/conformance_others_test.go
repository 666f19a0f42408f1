package emulator_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

func TestConformanceIAM(t *testing.T) {
	runConformance(t, []conformanceCase{{
		// 000 @644-656, "part of the response body": the example stops
		// at "..." inside the first endpoint; the objects it opened are
		// closed there.
		name: "issue token",
		example: `{
    "token": {
        "expires_at": "2019-02-13T06:52:13.855000Z",
        "methods": [
            "password"
        ],
        "catalog": [
            {
                "endpoints": [
                    {
                        "region_id": "xxxxxx"
                    }
                ]
            }
        ]
    }
}`,
		deviations: map[string]string{
			"token.catalog[]": "the emulator's catalog is empty: clients are configured with its endpoints and read none from the token",
		},
		call: func(c *confEnv) string {
			return c.do(emulator.IAM, "POST", "/v3/auth/tokens", tokenBody(`{"id":"p1"}`), http.StatusCreated)
		},
	}})
}

func TestConformanceLakeFormation(t *testing.T) {
	runConformance(t, []conformanceCase{{
		name: "create job", // 004 @1653-1678
		example: `{
  "id" : "03141229-84cd-4b1b-9733-dd124320c125",
  "name" : "testjob",
  "description" : "testJob",
  "type" : "METADATA_MIGRATION",
  "parameter" : {
    "metadata_migration_parameter" : {
      "datasource_type" : "ALIYUN_DLF",
      "datasource_parameter" : {
        "endpoint" : "protocol://xxxx.xxxx.com"
      },
      "source_catalog" : "sourceCatalog1",
      "target_catalog" : "targetCatalog1",
      "conflict_strategy" : "UPDATE",
      "log_location" : "obs://logStore/2023",
      "sync_objects" : [ "DATABASE" ],
      "locations" : [ {
        "key" : "test/test1",
        "value" : "test2/db"
      } ]
    }
  },
  "status" : {
    "status" : "SUCCESS"
  }
}`,
		deviations: map[string]string{
			"status": "the table types status String (table 12 @876-878); the example wraps it in an object",
		},
		call: func(c *confEnv) string {
			return c.do(emulator.LakeFormation, "POST", lfJobs, lfSampleRequest, http.StatusCreated)
		},
	}})
}

// dlfBatch creates the digest's batch job "daily" in p1 and runs it
// immediately, returning the instance ID.
func dlfBatch(c *confEnv) string {
	c.t.Helper()
	c.do(emulator.DLF, "POST", "/v1/p1/jobs", dlfBatchJob("daily"), http.StatusNoContent)
	return c.str(c.do(emulator.DLF, "POST", "/v1/p1/jobs/daily/run-immediate", "", http.StatusOK), "instanceId")
}

// dlfNotInTable: fields the DataArts examples print that their response
// tables do not list.
func dlfNotInTable(table string) string {
	return fmt.Sprintf("not in the response table (%s); the emulator sends the table's fields", table)
}

func TestConformanceDataArts(t *testing.T) {
	runConformance(t, []conformanceCase{{
		name:    "J8 run job now", // 000 @12730-12732
		example: `{"instanceId": 132343}`,
		call: func(c *confEnv) string {
			c.do(emulator.DLF, "POST", "/v1/p1/jobs", dlfBatchJob("daily"), http.StatusNoContent)
			return c.do(emulator.DLF, "POST", "/v1/p1/jobs/daily/run-immediate", `{"jobParams":[{"name":"bizdate","value":"2024-01-01"}]}`, http.StatusOK)
		},
	}, {
		// 000 @13040-13055, the first of two fragments around a page
		// break; it is whole (the second repeats an instance).
		name: "list instances",
		example: `{
    "total": 2,
    "instances": [
        {
            "endTime": 1551425387000,
            "executeTime": 1.0,
            "instanceId": 30654,
            "jobName": "job_sms_DLI_SMS_PROCESS",
            "jobInstanceName": "job_sms_DLI_SMS_PROCESS",
            "planTime": 1551425326540,
            "startTime": 1551425327000,
            "status": "fail",
            "submitTime": 1550910278706
        }
    ]
}`,
		call: func(c *confEnv) string {
			dlfBatch(c)
			c.clock.Advance(time.Hour)
			return c.do(emulator.DLF, "GET", "/v1/p1/jobs/instances/detail?jobName=daily", "", http.StatusOK)
		},
	}, {
		// 000 @13151-13193, in two fragments around a page break:
		// concatenated, with the closing brace the example lacks. It has
		// "instanceId" twice; JSON keeps the last.
		name: "instance details",
		example: `{
  "jobName": "job_batch",
  "instanceId": 34765,
  "status": "fail",
  "planTime": 1551425326540,
  "startTime": 1551425327000,
  "endTime": 1551425387000,
  "executeTime": 1,
  "instanceId": 30654,
  "total": 2,
  "nodes": [
    {
      "endTime": 1551671590000,
      "inputRowCount": 0,
"instanceId":34765,
"nodeName":"Dummy_8556",

"planTime":1551671580000,
"retryTimes":0,
"startTime":1551671584000,
"status":"success",
"submitTime":1550910278706,
"type":"Dummy"
},
{
"endTime":1551671598000,
"inputRowCount":0,
"instanceId":34765,
"logPath":"obs://dlf-log-b384b9e9ab9b4ee8994c8633aab9505/job_batch/2019-03-04 11_53_00.000/error/error.job",
"nodeName":"error",

"planTime":1551671580000,
"retryTimes":0,
"startTime":1551671594000,
"status":"success",
"submitTime":1550910278706,
"type":"DWS SQL"
}
]
}`,
		deviations: map[string]string{
			"nodes[].submitTime": dlfNotInTable("7-107 @13123-13136"),
		},
		call: func(c *confEnv) string {
			id := dlfBatch(c)
			c.clock.Advance(time.Hour)
			return c.do(emulator.DLF, "GET", "/v1/p1/jobs/daily/instances/"+id, "", http.StatusOK)
		},
	}, {
		// 000 @12247-12311: the first fragment of a page break, which the
		// PDF closes itself; the rest of the job (@12314-) repeats nodes.
		name: "J4 job details",
		example: `{
  "basicConfig": {
    "instanceTimeout": 0,
    "priority": 0
  },
  "logPath": "obs://dlf-log-b384b9e9ab9b4ee8994c8633aabc9505",
  "name": "myJob",
  "nodes": [
    {
      "failPolicy": "FAIL",
      "location": {
        "x": "385.0",
        "y": "150.0"
      },
      "maxExecutionTime": 60,
      "name": "DIS_INPUT",
      "pollingInterval": 1,
      "preNodeName": [],
      "properties": [
        {
          "name": "streamName",
          "value": "csinput"
        }
      ],
      "resources": [],
      "retryInterval": 120,
      "retryTimes": 0,
      "type": "DISStream"
    },
    {
      "failPolicy": "FAIL",
      "location": {
        "x": "572.0",
        "y": "151.0"
      },
      "maxExecutionTime": 60,
      "name": "CS_PROCESS",
      "pollingInterval": 10,
      "preNodeName": ["DIS_INPUT"],
      "properties": [
        {
          "name": "scriptName",
          "value": "CS_PROCESS_TRIP"
        },
        {
          "name": "jobName",
          "value": "CS_PROCESS"
        },
        {
          "name": "jobType",
          "value": "flink_sql_job"
        },
        {
          "name": "clusterName",
          "value": "-1"
        },
        {
          "name": "spuNumber",
          "value": "2"
        }
      ],
      "resources": []
    }
  ]
}`,
		call: func(c *confEnv) string {
			c.do(emulator.DLF, "POST", "/v1/p1/jobs", dlfSampleJob, http.StatusNoContent)
			return c.do(emulator.DLF, "GET", "/v1/p1/jobs/myJob", "", http.StatusOK)
		},
	}, {
		// 000 @12867-12897 (the first of two fragments; the second is a
		// stray "runningData" string): its logPath string runs over a
		// line break, which is joined, and a stray closing brace ends it,
		// which is dropped.
		name: "real-time job status",
		example: `{
    "lastUpdateTime": 1551409406000,
    "name": "job_sms",
    "nodes": [
        {"name": "CREATE_GES_DIR",
         "status": "NORMAL",
         "totalGetBytes": 0,
         "totalGetRecords": 0,
         "totalPutBytes": 0,
         "totalPutRecords": 0,
         "type": "Create OBS"},
        {"logPath": "obs://dlf-log-b384b9e9ab9b4ee8994c8633aabc9505/job_sms/2019-03-01 11_04_24.000/CS_SMS_PROCESS/CS_SMS_PROCESS-IrU8hs82_20190301_110433_183.job",
         "name": "CS_SMS_PROCESS"},
        {"name": "DLI_SMS_GES",
         "status": "ABNORMAL",
         "totalGetBytes": 0,
         "totalGetRecords": 0,
         "totalPutBytes": 0,
         "totalPutRecords": 0,
         "type": "Datalake"},
        {"name": "DELETE_GES_DIR",
         "status": "NORMAL",
         "totalGetBytes": 0,
         "totalGetRecords": 0,
         "totalPutBytes": 0,
         "totalPutRecords": 0,
         "type": "Delete OBS"}],
    "status": "RUNNING",
    "time": "2019-03-01T11:04:24.000Z"}`,
		// The emulator's nodes are closest to the example's second,
		// which lacks only logPath; the others print traffic totals,
		// which the table does not list either (7-99 @12843-12852).
		deviations: map[string]string{
			"nodes[].logPath": "optional (7-99 @12849, Mandatory No); the emulator writes no logs for real-time nodes",
			"time":            dlfNotInTable("7-98 @12833-12841"),
		},
		call: func(c *confEnv) string {
			c.do(emulator.DLF, "POST", "/v1/p1/jobs", dlfSampleJob, http.StatusNoContent)
			c.do(emulator.DLF, "POST", "/v1/p1/jobs/myJob/start", "", http.StatusNoContent)
			c.clock.Advance(time.Minute)
			return c.do(emulator.DLF, "GET", "/v1/p1/jobs/myJob/status", "", http.StatusOK)
		},
	}})
}
