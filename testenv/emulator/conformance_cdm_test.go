package emulator_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// cdmWalkThrough sets up the DAYU 4.1 walk-through in the default cluster
// of p1 (its two links and job mysql2dws) and returns the create answer.
func cdmWalkThrough(c *confEnv) string {
	c.t.Helper()
	for _, body := range []string{cdmSampleLink41MySQL, cdmSampleLink41DWS} {
		c.do(emulator.CDM, "POST", cdmBase+"/cdm/link", body, http.StatusOK)
	}
	return c.do(emulator.CDM, "POST", cdmBase+"/cdm/job", cdmSample41Job, http.StatusOK)
}

// cdmDateLong: the examples print creation-date as a string; the tables
// type it Long (J7 table 5-106 @3477, J8 table 5-111 @3567), as the 4.1
// walk-through's example prints it (@1170).
const cdmDateLong = "the tables type creation-date Long, as the walk-through prints it; the emulator sends a number"

// cdmInputSchema: size, type and mandatory describe a connector's input
// (table 5-140 @4022-4027 lists name, values and type). Connectors are
// opaque names to the emulator, which answers a link's inputs as they
// were created, name and value, with sensitive ones flagged and their
// value left out as the example does.
const (
	cdmLinkInputs  = "links[].link-config-values.configs[].inputs[]"
	cdmInputSchema = "the emulator knows no connector's input schema; it answers the inputs as created"
)

func TestConformanceCDM(t *testing.T) {
	runConformance(t, []conformanceCase{{
		name:    "J6 create job", // 003 @670-672
		example: `{"name" : "mysql2hive"}`,
		call:    cdmWalkThrough,
	}, {
		name: "J7 start job", // 000 @3502-3510
		example: `{
  "submissions" : [ {
    "job-name" : "jdbc2hive",
    "creation-user" : "cdm",
    "creation-date" : "1536905778725",
    "progress" : 1,
    "status" : "BOOTING"
  } ]
}`,
		deviations: map[string]string{"submissions[].creation-date": cdmDateLong},
		call: func(c *confEnv) string {
			cdmWalkThrough(c)
			return c.do(emulator.CDM, "PUT", cdmBase+"/cdm/job/mysql2dws/start", "", http.StatusOK)
		},
	}, {
		// 000 @1164-1198, the walk-through's finished job, in two
		// fragments around a page break: the first closes its object and
		// arrays early; those closers are dropped, a comma joins the
		// fragments, and the second's "}]]" is "}]".
		name: "J8 job status",
		example: `{
    "submissions": [
        {
            "progress": 0,
            "job-name": "mysql2dws",
            "status": "SUCCEEDED",
            "creation-date": 1536654788622,
            "creation-user": "cdm",
            "isStopingIncrement": "",
            "last-update-date": 1536654888622,
            "is-execute-auto": false,
            "last-update-user": "cdm",
            "isDeleteJob": false,
            "last-updatedate": 1536654888622,
"isIncrementing": false,
"external-id": "job_local1127970451_0009",
"counters": {
    "org.apache.sqoop.submission.counter.SqoopCounters": {
        "BYTES_WRITTEN": -1,
        "TOTAL_FILES": -1,
        "BYTES_READ": -1,
        "FILES_WRITTEN": -1,
        "TOTAL_SIZE": -1,
        "FILES_READ": -1,
        "ROWS_WRITTEN": 80,
        "ROWS_READ": 80
    }
}}]
}`,
		deviations: map[string]string{
			"submissions[].last-updatedate": "a misprint of last-update-date, which the example also has and the table lists (5-111 @3563)",
		},
		call: func(c *confEnv) string {
			cdmWalkThrough(c)
			c.do(emulator.CDM, "PUT", cdmBase+"/cdm/job/mysql2dws/start", "", http.StatusOK)
			c.clock.Advance(time.Minute)
			return c.do(emulator.CDM, "GET", cdmBase+"/cdm/job/mysql2dws/status", "", http.StatusOK)
		},
	}, {
		name: "J9 job history", // 000 @3737-3745
		example: `{
  "submissions" : [ {
    "job-name" : "jdbc2hive",
    "creation-user" : "cdm",
    "creation-date" : "1536905778725",
    "progress" : 1,
    "status" : "BOOTING"
  } ]
}`,
		deviations: map[string]string{"submissions[].creation-date": cdmDateLong},
		call: func(c *confEnv) string {
			cdmWalkThrough(c)
			c.do(emulator.CDM, "PUT", cdmBase+"/cdm/job/mysql2dws/start", "", http.StatusOK)
			return c.do(emulator.CDM, "GET", cdmBase+"/cdm/submissions?jname=mysql2dws", "", http.StatusOK)
		},
	}, {
		// 000 @2459-2550, in three fragments around page breaks,
		// concatenated; the job object's closing brace, missing before
		// the "]" of @2547, is added.
		name: "J1 query jobs",
		example: `{
  "total" : 1,
  "jobs" : [ {
    "job_type" : "NORMAL_JOB",
    "from-connector-name" : "elasticsearch-connector",
    "to-config-values" : {
      "configs" : [ {
"inputs" : [ {
    "name" : "toJobConfig.streamName",
    "value" : "dis-lkGm"
}, {
    "name" : "toJobConfig.separator",
    "value" : "|"
}, {
    "name" : "toJobConfig.columnList",
    "value" : "1&2&3"
} ],
    "name" : "toJobConfig"
} ]
},
"to-link-name" : "dis",
"driver-config-values" : {
    "configs" : [ {
        "inputs" : [ {
            "name" : "throttlingConfig.numExtractors",
            "value" : "1"
        }, {
            "name" : "throttlingConfig.submitToCluster",
            "value" : "false"
        }, {
            "name" : "throttlingConfig.numLoaders",
            "value" : "1"
        }, {
            "name" : "throttlingConfig.recordDirtyData",
            "value" : "false"
        } ],
        "name" : "throttlingConfig"
    }, {
        "inputs" : { },
        "name" : "jarConfig"
    }, {
        "inputs" : [ {
            "name" : "schedulerConfig.isSchedulerJob",
            "value" : "false"
        }, {
            "name" : "schedulerConfig.disposableType",
            "value" : "NONE"
        } ],
        "name" : "schedulerConfig"
    }, {
        "inputs" : { },
        "name" : "transformConfig"
    }, {
        "inputs" : [ {
            "name" : "retryJobConfig.retryJobType",
            "value" : "NONE"
        } ],
        "name" : "retryJobConfig"
    } ]
},
"from-config-values" : {
    "configs" : [ {
        "inputs" : [ {
            "name" : "fromJobConfig.index",
            "value" : "52est"
        }, {
            "name" : "fromJobConfig.type",
            "value" : "est_array"
        }, {
            "name" : "fromJobConfig.columnList",
            "value" : "array_f1_int:long&array_f2_text:string&array_f3_object:nested"
        }, {
            "name" : "fromJobConfig.splitNestedField",
            "value" : "false"
        } ],
        "name" : "fromJobConfig"
    }
]
        },
        "to-connector-name" : "dis-connector",
        "name" : "es_css",
        "from-link-name" : "css"
    } ],
    "page_no" : 1,
    "page_size" : 10
}`,
		call: func(c *confEnv) string {
			cdmWalkThrough(c)
			return c.do(emulator.CDM, "GET", cdmBase+"/cdm/job/all", "", http.StatusOK)
		},
	}, {
		name: "C1 cluster details", // 000 @1561-1592
		example: `{
  "clusters": {
    "publicEndpoint": "49.xx.xx.10",
    "instances": [ {
      "flavor": {
        "id": "fb8fe666-6734-4b11-bc6c-43d11db3c745"
      },
      "volume": {
        "size": "100",
        "type": "LOCAL_DISK"
      },
      "name": "cdm-c018",
      "id": "635dce67-3df8-4756-b4c7-90e45e687367",
      "isFrozen": "0",
      "type": "cdm",
      "actions": "REBOOTING",
      "config_status": "In-Sync",
      "status": "200"
    } ],
    "created": "2018-09-05T08:38:25",
    "statusDetail": "Normal",
    "config_status": "In-Sync",
    "version": "1.8.10",
    "actionProgress": { },
    "name": "cdm-c018",
    "id": "bae65496-643e-47ca-84af-948672de7eeb",
    "isFrozen": "0",
    "actions": "REBOOTING",
    "updated": "2018-09-05T08:38:25",
    "status": "200"
  }
}`,
		deviations: map[string]string{
			"clusters.actions":                 "the table types actions as an array of strings (5-3 @1430); the example prints one string",
			"clusters.instances[].actions":     "the table types actions as an array of strings (5-4 @1442); the example prints one string",
			"clusters.instances[].volume.size": "the table types size Long (5-6 @1474); the example prints a string",
		},
		call: func(c *confEnv) string {
			return c.do(emulator.CDM, "GET", "/v1.1/p1/clusters/"+emulator.CDMDefaultClusterID, "", http.StatusOK)
		},
	}, {
		// 000 @2303-2319, in two fragments around a page break,
		// concatenated.
		name: "C7 list clusters",
		example: `{
  "clusters" : [ {
"publicEndpoint" : "49.xx.xx.10",
"actionProgress" : { },
"created" : "2018-09-05T08:38:25",
"name" : "cdm-c018",
"statusDetail" : "Normal",
"id" : "bae65496-643e-47ca-84af-948672de7eeb",
"isFrozen" : "0",
"config_status" : "In-Sync",
"updated" : "2018-09-05T08:38:25",
"status" : "200"
} ]
}`,
		call: func(c *confEnv) string {
			return c.do(emulator.CDM, "GET", "/v1.1/p1/clusters", "", http.StatusOK)
		},
	}, {
		name: "L2 query link", // 000 @4049-4089
		example: `{
  "links" : [ {
    "link-config-values" : {
      "configs" : [ {
        "inputs" : [ {
          "size" : 128,
          "name" : "linkConfig.server",
          "type" : "STRING",
          "mandatory" : true,
          "value" : "100.94.8.163"
        }, {
          "defaultValue" : 22,
          "name" : "linkConfig.port",
          "type" : "INTEGER",
          "mandatory" : true,
          "value" : 22
        }, {
          "size" : 32,
          "name" : "linkConfig.username",
          "type" : "STRING",
          "mandatory" : true,
          "value" : "root"
        }, {
          "size" : 32,
          "name" : "linkConfig.password",
          "sensitive" : true,
          "type" : "STRING",
          "mandatory" : true
        } ],
        "name" : "linkConfig"
      } ]
    },
    "creation-user" : "cdm",
    "name" : "sftp_link",
    "creation-date" : 1516674482640,
    "connector-name" : "sftp-connector",
    "update-date" : 1516674476022,
    "enabled" : true,
    "update-user" : "cdm"
  } ]
}`,
		deviations: map[string]string{
			cdmLinkInputs + ".size":      cdmInputSchema,
			cdmLinkInputs + ".type":      cdmInputSchema,
			cdmLinkInputs + ".mandatory": cdmInputSchema,
		},
		call: func(c *confEnv) string {
			cdmWalkThrough(c)
			return c.do(emulator.CDM, "GET", cdmBase+"/cdm/link/mysql_link", "", http.StatusOK)
		},
	}})
}
