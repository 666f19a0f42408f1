package emulator_test

// Example request bodies of the CDM API documents. Most are pasted
// verbatim (trailing blanks trimmed). Many DAYU samples are damaged by
// page breaks (a half closed with invented braces, the other half without
// its openers) or have unbalanced braces; those are pasted with the least
// repair that makes them JSON, and the repair is described. The 5.4.1
// samples of HBase (@4651), MongoDB (@4898), NAS (@5004) and DMS Kafka
// (@5267) are damaged beyond a faithful repair and left out; their
// connectors are opaque names like the others.

// cdmSampleClusterCreate is the C6 "Creating a Cluster" example (seed 000 @2043-2082).
const cdmSampleClusterCreate = `{
  "cluster": {
    "scheduleBootTime": "",
    "isScheduleBootOff": false,
    "instances": [
      {
        "availability_zone": "cn-north-1b",
        "nics": [
          {
            "securityGroupId": "c37852d2-2d12-41cb-af47-65c80e995c80",
            "net-id": "2d120298-6130-44d4-a438-454912fff901"
          }
        ],
        "flavorRef": "5ddb1071-c5d7-40e0-a874-8a032e81a697",
        "type": "cdm"
      }
    ],
    "datastore": {
      "type": "cdm",
      "version": "1.8.10"
    },
    "scheduleOffTime": "",
    "vpcId": "67c06084-2212-4242-bcd4-d2144c2385a9",
    "name": "cdm-ab82",
    "sys_tags": [
      {
        "value": "1ce45885-4033-40d2-bdde-d4dbaceb387d",
        "key": "_sys_enterprise_project_id"
      }
    ],
    "isAutoOff": false
  },
  "auto_remind": false,
  "phone_num": "",
  "email": ""
}`

// cdmSampleClusterDelete is the C2 "Deleting a Cluster" example body (@1651-1655).
const cdmSampleClusterDelete = `{
    "keep_last_manual_backup" : 0
}`

// cdmSampleClusterRestart is the C3 "Restarting a Cluster" example body (@1737-1746; its /v1/ path is a typo).
const cdmSampleClusterRestart = `{
  "restart" : {
    "instance" : "",
    "type" : "cdm",
    "group" : ""
  }
}`

// cdmSampleClusterStart is the C4 "Starting a Cluster" example body (@1814-1819).
const cdmSampleClusterStart = `{
  "start" : {}
}`

// cdmSampleClusterStop is the C5 "Stopping a Cluster" example body (@1895-1903).
const cdmSampleClusterStop = `{
  "stop" : {
    "stopMode" : "GRACEFULLY",
    "delayTime" : -1
  }
}`

// cdmSampleLink41MySQL is the walk-through's mysql_link (@883-946), split
// by a page break after link-config-values: the first half's invented
// closers are dropped and the second half joined to it.
const cdmSampleLink41MySQL = `{
    "links": [
        {
            "enabled": true,
            "update-user": null,
            "name": "mysql_link",
            "link-config-values": {
                "configs": [
                    {
                        "name": "linkConfig",
                        "inputs": [
                            {
                                "name": "linkConfig.databaseType",
                                "value": "MYSQL"
                            },
                            {
                                "name": "linkConfig.host",
                                "value": "1xx.120.85.24"
                            },
                            {
                                "name": "linkConfig.port",
                                "value": "3306"
                            },
                            {
                                "name": "linkConfig.database",
                                "value": "DB_name"
                            },
                            {
                                "name": "linkConfig.username",
                                "value": "username"
                            },
                            {
                                "name": "linkConfig.password",
                                "value": "DB_password"
                            },
                            {
                                "name": "linkConfig.fetchSize",
                                "value": "100000"
                            },
                            {
                                "name": "linkConfig.usingNative",
                                "value": "true"
                            }
                        ]
                    }
                ]
        },
        "connector-name": "generic-jdbc-connector",
        "creation-date": 1536654788622,
        "update-date": 1536654788622,
        "creation-user": null
    }]
}`

// cdmSampleLinkOBS is the 5.4.1.2 OBS sample link (@4511-4549).
const cdmSampleLinkOBS = `{
  "links": [
    {
      "link-config-values": {
        "configs": [
          {
            "inputs": [
              {
                "name": "linkConfig.storageType",
                "value": "OBS"
              },
              {
                "name": "linkConfig.server",
                "value": "10.121.16.183"
              },
              {
                "name": "linkConfig.port",
                "value": "443"
              },
              {
                "name": "linkConfig.accessKey",
                "value": "RSO6TTEZMJ6TTFBBAACE"
              },
              {
                "name": "linkConfig.securityKey",
                "value": "Add password here"
              }
            ],
            "name": "linkConfig"
          }
        ]
      },
      "name": "obs_link",
      "connector-name": "obs-connector"
    }
  ]
}`

// cdmSampleLinkHDFS is the 5.4.1.5 HDFS sample link (@4574-4624).
const cdmSampleLinkHDFS = `{
  "links": [
    {
      "link-config-values": {
        "configs": [
          {
            "inputs": [
              {
                "name": "linkConfig.hadoopType",
                "value": "FusionInsight HD"
              },
              {
                "name": "linkConfig.host",
                "value": "10.120.205.143"
              },
              {
                "name": "linkConfig.casPort",
                "value": "20009"
              },
              {
                "name": "linkConfig.port",
                "value": "28443"
              },
              {
                "name": "linkConfig.authType",
                "value": "KERBEROS"
              },
              {
                "name": "linkConfig.user",
                "value": "admin"
              },
              {
                "name": "linkConfig.password",
                "value": "Add password here"
              },
              {
                "name": "linkConfig.runMode",
                "value": "STANDALONE"
              }
            ],
            "name": "linkConfig"
          }
        ]
      },
      "name": "hdfslink",
      "connector-name": "hdfs-connector"
    }
  ]
}`

// cdmSampleLinkCloudTable is the 5.4.1.7 CloudTable sample link (@4725-4771).
const cdmSampleLinkCloudTable = `{
  "links": [
    {
      "link-config-values": {
        "configs": [
          {
            "inputs": [
              {
                "name": "linkConfig.hbaseType",
                "value": "CloudTable"
              },
              {
                "name": "linkConfig.zookeeperQuorum",
                "value": "cloudtable-pass-zk2-bae54VGN.cloudtable.com:2181,cloudtable-pass-zk1-Fu828so2.cloudtable.com:2181"
              },
              {
                "name": "linkConfig.iamAuth",
                "value": "true"
              },
              {
                "name": "linkConfig.cloudtableUser",
                "value": "zane"
              },
              {
                "name": "linkConfig.accessKey",
                "value": "GRC2WR0lxXXXXXYLWU2"
              },
              {
                "name": "linkConfig.securityKey",
                "value": "Add password here"
              },
              {
                "name": "linkConfig.runMode",
                "value": "EMBEDDED"
              }
            ],
            "name": "linkConfig"
          }
        ]
      },
      "name": "cloudtablelink",
      "connector-name": "hbase-connector"
    }
  ]
}`

// cdmSampleLinkHive is the 5.4.1.8 Hive sample link (@4792-4826).
const cdmSampleLinkHive = `{
  "links": [
    {
      "link-config-values": {
        "configs": [
          {
            "inputs": [
              {
                "name": "linkConfig.host",
                "value": "10.120.205.230"
              },
              {
                "name": "linkConfig.authType",
                "value": "KERBEROS"
              },
              {
                "name": "linkConfig.user",
                "value": "cdm"
              },
              {
                "name": "linkConfig.password",
                "value": "Add password here"
              }
            ],
            "name": "linkConfig"
          }
        ]
      },
      "name": "hive_link",
      "connector-name": "hive-connector"
    }
  ]
}`

// cdmSampleLinkFTP is the 5.4.1.9 FTP/SFTP sample link (@4844-4878).
const cdmSampleLinkFTP = `{
    "links": [
        {
            "link-config-values": {
                "configs": [
                    {
                        "inputs": [
                            {
                                "name": "linkConfig.server",
                                "value": "10.120.85.167"
                            },
                            {
                                "name": "linkConfig.port",
                                "value": "22"
                            },
                            {
                                "name": "linkConfig.username",
                                "value": "username"
                            },
                            {
                                "name": "linkConfig.password",
                                "value": "Add password here"
                            }
                        ],
                        "name": "linkConfig"
                    }
                ]
            },
            "name": "sftp_link",
            "connector-name": "sftp-connector"
        }
    ]
}`

// cdmSampleLinkRedis is the 5.4.1.11 Redis sample link (@4950-4984).
const cdmSampleLinkRedis = `{
  "links": [
    {
      "link-config-values": {
        "configs": [
          {
            "inputs": [
              {
                "name": "linkConfig.deploymentMode",
                "value": "Cluster"
              },
              {
                "name": "linkConfig.serverlist",
                "value": "10.120.84.149:7300"
              },
              {
                "name": "linkConfig.password",
                "value": "Add password here"
              },
              {
                "name": "linkConfig.dbIndex",
                "value": "0"
              }
            ],
            "name": "linkConfig"
          }
        ]
      },
      "name": "redis_link",
      "connector-name": "redis-connector"
    }
  ]
}`

// cdmSampleLinkKafka is the 5.4.1.13 Kafka sample link (@5058-5060).
const cdmSampleLinkKafka = `{ "links": [ { "link-config-values": { "configs": [ { "inputs": [ { "name": "linkConfig.brokerList", "value": "127.0.0.1:9092" } ], "name": "linkConfig" } ] }, "name": "kafka_link", "connector-name": "kafka-connector" } ] }`

// cdmSampleLinkDIS is the 5.4.1.14 DIS sample link (@5075-5113).
const cdmSampleLinkDIS = `{
    "links": [
        {
            "link-config-values": {
                "configs": [
                    {
                        "inputs": [
                            {
                                "name": "linkConfig.region",
                                "value": "Region"
                            },
                            {
                                "name": "linkConfig.endpoint",
                                "value": ""
                            },
                            {
                                "name": "linkConfig.ak",
                                "value": "RSO6TTEZMJ6TTFBBAACE"
                            },
                            {
                                "name": "linkConfig.sk",
                                "value": "Add password here"
                            },
                            {
                                "name": "linkConfig.projectId",
                                "value": "11d4d5af17c84660bc90b6631327d7c7"
                            }
                        ],
                        "name": "linkConfig"
                    }
                ]
            },
            "name": "dis_link",
            "connector-name": "dis-connector"
        }
    ]
}`

// cdmSampleLinkES is the 5.4.1.15 Elasticsearch sample link (@5134-5168).
const cdmSampleLinkES = `{
  "links": [
    {
      "link-config-values": {
        "configs": [
          {
            "inputs": [
              {
                "name": "linkConfig.host",
                "value": "192.168.0.1:9200;192.168.0.2:9200"
              },
              {
                "name": "linkConfig.user",
                "value": "cdm"
              },
              {
                "name": "linkConfig.password",
                "value": "Add password here"
              },
              {
                "name": "linkConfig.linkType",
                "value": "ElasticSearch"
              }
            ],
            "name": "linkConfig"
          }
        ]
      },
      "name": "es_link",
      "connector-name": "elasticsearch-connector"
    }
  ]
}`

// cdmSampleLinkOpenTSDB is the 5.4.1.17 OpenTSDB sample link (@5218-5244).
const cdmSampleLinkOpenTSDB = `{
  "links": [
    {
      "link-config-values": {
        "configs": [
          {
            "inputs": [
              {
                "name": "linkConfig.openTSDBQuorum",
                "value": "opentsdb-sp8afz7bgbps5ur.cloudtable.com:4242"
              },
              {
                "name": "linkConfig.securityMode",
                "value": "UNSAFE"
              }
            ],
            "name": "linkConfig"
          }
        ]
      },
      "name": "opentsdb",
      "connector-name": "opentsdb-connector"
    }
  ]
}`

// cdmSampleJobCreate is the J6 example of seed 003 (@580-662), the clean copy of DAYU @3319-3411.
const cdmSampleJobCreate = `{
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
      } ]
    },
    "to-connector-name" : "dis-connector",
    "name" : "es_css",
    "from-link-name" : "css"
  } ]
}`

// cdmSample41ClusterCreate is the walk-through's cluster (@780-812), which
// lacks the closing brace of three objects (after "securityGroupId", the
// instance's "type" and the sys_tag's "value"); they are added. Its typos
// vpclId, autoRemind and phoneNum are kept: unknown fields are ignored.
const cdmSample41ClusterCreate = `{
    "cluster": {
        "name": "cdm-ab82",
        "vpclId": "6b47302a-bf79-4b20-bf7a-80987408e196",
        "instances": [
            {"flavorRef": "fb8fe666-6734-4b11-bc6c-43d11db3c745",
            "nics": [
                {"net-id": "63bdc3cb-a4e7-486f-82ee-d9bf208c8f8c",
                "securityGroupId": "005af77a-cce5-45ac-99c7-2ea50ea8addf"}
            ],
            "availability_zone": "Project Name",
            "type": "cdm"}
        ],
        "datastore": {
            "version": "1.8.5",
            "type": "cdm"
        },
        "isScheduleBootOff": false,
        "scheduleBootTime": "null",
        "scheduleOffTime": "null",
        "isAutoOff": false,
        "sys_tags": [
            {"key": "_sys_enterprise_project_id",
            "value": "1ce45885-4033-40d2-bdde-d4dbaceb387d"}
        ]
    },
    "autoRemind": false,
    "phoneNum": "null",
    "email": "null"
}`

// cdmSampleLinkCreate is the L1 example (@3866-3907). One closing brace is
// missing; added at the end, it leaves name, connector-name and enabled
// inside link-config-values, where the emulator finds them.
const cdmSampleLinkCreate = `{
  "links" : [ {
    "link-config-values" : {
      "configs" : [ {
        "inputs" : [ {
          "name" : "linkConfig.databaseType",
          "value" : "MYSQL"
        }, {
          "name" : "linkConfig.host",
          "value" : "100.94.8.163"
        }, {
          "name" : "linkConfig.port",
          "value" : "3306"
        }, {
          "name" : "linkConfig.database",
          "value" : "DB_name"
        }, {
          "name" : "linkConfig.username",
          "value" : "username"
        }, {
          "name" : "linkConfig.password",
          "value" : "DB_password"
        }, {
          "name" : "linkConfig.fetchSize",
          "value" : "100000"
        }, {
          "name" : "linkConfig.usingNative",
          "value" : false
        } ],
        "name" : "linkConfig"
      } ],
      "name" : "mysql_link",
      "creation-date" : 1496654788622,
      "connector-name" : "generic-jdbc-connector",
      "update-date" : 1496654788622,
      "enabled" : true
    } }
  ]
}`

// cdmSampleLinkModify is the L4 example (@4279-4329), split by a page
// break: the first half's invented closers are dropped and the second half
// (which closes link-config-values before "name") is joined to it.
const cdmSampleLinkModify = `{
  "links" : [ {
    "link-config-values" : {
      "configs" : [ {
        "inputs" : [ {
          "name" : "linkConfig.databaseType",
          "value" : "MYSQL"
        }, {
          "name" : "linkConfig.host",
          "value" : "100.94.8.163"
        }, {
          "name" : "linkConfig.port",
          "value" : "3306"
        }, {
          "name" : "linkConfig.database",
          "value" : "DB_name"
        }, {
          "name" : "linkConfig.username",
          "value" : "username"
        }, {
          "name" : "linkConfig.password",
          "value" : "DB_password"
        }, {
          "name" : "linkConfig.fetchSize",
          "value" : "100000"
        }, {
          "name" : "linkConfig.usingNative",
          "value" : false
        }
        ],
        "name" : "linkConfig"
    }
    ]
},
"name" : "mysql_link",
"creation-date" : 1496654788622,
"connector-name" : "generic-jdbc-connector",
"update-date" : 1496654788622,
"enabled" : true
}
]
}`

// cdmSampleLink41DWS is the walk-through's dws_link (@958-1015), split by
// a page break after link-config-values; the halves are joined.
const cdmSampleLink41DWS = `{
    "links": [
        {
            "enabled": true,
            "update-user": null,
            "name": "dws_link",
            "link-config-values": {
                "configs": [
                    {
                        "name": "linkConfig",
                        "inputs": [
                            {
                                "name": "linkConfig.databaseType",
                                "value": "DWS"
                            },
                            {
                                "name": "linkConfig.host",
                                "value": "10.120.85.24"
                            },
                            {
                                "name": "linkConfig.port",
                                "value": "3306"
                            },
                            {
                                "name": "linkConfig.database",
                                "value": "DWS"
                            },
                            {
                                "name": "linkConfig.username",
                                "value": "user_dws"
                            },
                            {
                                "name": "linkConfig.password",
                                "value": "dws_password"
                            },
                            {
                                "name": "linkConfig.fetchSize",
                                "value": "100000"
                            },
                            {
                                "name": "linkConfig.usingNative",
                                "value": "true"
                            }
                        ]
                    }
                ]
        },
        "connector-name": "generic-jdbc-connector",
        "creation-date": 1536654788622,
        "update-date": 1536654788622,
        "creation-user": null
    }]
}`

// cdmSampleLinkRDB is the 5.4.1.1 relational database sample (@4406-4476).
// The page break repeats inputs (username and password twice); the halves
// are joined as printed, duplicates included, and the brace closing
// link-config-values, missing in the second half, is added.
const cdmSampleLinkRDB = `{
  "links": [
    {
      "link-config-values": {
        "configs": [
          {
            "inputs": [
              {
                "name": "linkConfig.databaseType",
                "value": "MYSQL"
              },
              {
                "name": "linkConfig.host",
                "value": "10.120.205.30"
              },
              {
                "name": "linkConfig.port",
                "value": "3306"
              },
              {
                "name": "linkConfig.username",
                "value": "root"
              },
              {
                "name": "linkConfig.password",
                "value": "123456"
              },
{
    "name": "linkConfig.database",
    "value": "DB_name"
},
{
    "name": "linkConfig.username",
    "value": "username"
},
{
    "name": "linkConfig.password",
    "value": "Add password here"
},
{
    "name": "linkConfig.fetchSize",
    "value": "100000"
},
{
    "name": "linkConfig.usingNative",
    "value": "false"
},
{
    "name": "linkConfig.useSSL",
    "value": "false"
}
],
    "name": "linkConfig"
}
]
},
    "name": "mysql_link",
    "connector-name": "generic-jdbc-connector"
}
]
}`

// cdmSampleLinkDLI is the 5.4.1.16 DLI sample (@5184-5200): a one-line
// first half with invented closers, and a second half with the config's
// and the link's names but without the brace closing link-config-values;
// joined, and the brace added.
const cdmSampleLinkDLI = `{ "links": [ { "link-config-values": { "configs": [ { "inputs": [ { "name": "linkConfig.ak", "value": "GRC2WR0IDC6NGROYLWU2" }, { "name": "linkConfig.sk", "value": "Add password here" }, { "name": "linkConfig.region", "value": "" }, { "name": "linkConfig.projectId", "value": "c48475ce8e174a7a9f775706a3d5ebe2" }
      ],
      "name": "linkConfig"
    }
  ]
},
  "name": "dli",
  "connector-name": "dli-connector"
}
]
}`

// cdmSampleJobModify is the J3 example (@2736-2829): the job of
// cdmSampleJobCreate, split by a page break whose invented closers are
// dropped, and whose path spells /cluster/ for /clusters/.
const cdmSampleJobModify = `{
  "jobs": [ {
    "job_type": "NORMAL_JOB",
    "from-connector-name": "elasticsearch-connector",
    "to-config-values": {
      "configs": [ {
        "inputs": [ {
          "name": "toJobConfig.streamName",
          "value": "dis-lkGm"
        }, {
          "name": "toJobConfig.separator",
          "value": "|"
        }, {
          "name": "toJobConfig.columnList",
          "value": "1&2&3"
        } ],
        "name": "toJobConfig"
      } ]
    },
    "to-link-name": "dis",
    "driver-config-values": {
      "configs": [ {
        "inputs": [ {
          "name": "throttlingConfig.numExtractors",
          "value": "1"
        }, {
          "name": "throttlingConfig.submitToCluster",
          "value": "false"
        }, {
          "name": "throttlingConfig.numLoaders",
          "value": "1"
        }, {
          "name": "throttlingConfig.recordDirtyData",
          "value": "false"
        }
        ],
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
        }],
        "name" : "schedulerConfig"
    }, {
        "inputs" : { },
        "name" : "transformConfig"
    }, {
        "inputs" : [ {
            "name" : "retryJobConfig.retryJobType",
            "value" : "NONE"
        }],
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
        }],
        "name" : "fromJobConfig"
    } ]
},
"to-connector-name" : "dis-connector",
"name" : "es_css",
"from-link-name" : "css"
} ]
}`

// cdmSampleJobCreateAndExecute is the J4 example (@2981-3074), split by a
// page break whose invented closers are dropped; it writes empty inputs as
// [ ] where the others write { }.
const cdmSampleJobCreateAndExecute = `{
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
        "inputs" : [ ],
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
        "inputs" : [ ],
        "name" : "transformConfig"
        }, {
          "inputs" : [ {
            "name" : "retryJobConfig.retryJobType",
            "value" : "NONE"
          }],
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
          }],
          "name" : "fromJobConfig"
        } ]
      },
      "to-connector-name" : "dis-connector",
      "name" : "es_css",
      "from-link-name" : "css"
    } ],
    "clusters" : [ "b0791496-e111-4e75-b7ca-9277aeab9297", "c2db1191-eb6c-464a-a0d3-b434e6c6df26",
    "c2db1191-eb6c-464a-a0d3-b434e6c6df26" ]
  }`

// cdmSample41Job is the walk-through's job mysql2dws (@1035-1128). Its
// page break nests to-config-values inside from-config-values, prints
// tablePreparation twice ("true", then "CREATE_WHEN_NOT_EXIST") and
// splits toJobConfig's name into an object of its own; repaired to the
// evident intent.
const cdmSample41Job = `{
  "jobs": [
    {
      "job_type": "NORMAL_JOB",
      "name": "mysql2dws",
      "from-link-name": "mysql_link",
      "from-connector-name": "generic-jdbc-connector",
      "to-link-name": "dws_link",
      "to-connector-name": "generic-jdbc-connector",
      "from-config-values": {
        "configs": [
          {
            "name": "fromJobConfig",
            "inputs": [
              {
                "name": "fromJobConfig.schemaName",
                "value": "default"
              },
              {
                "name": "fromJobConfig.tableName",
                "value": "mysql_tbl"
              },
              {
                "name": "fromJobConfig.partitionColumn",
                "value": "id"
              }
            ]
          }
        ]
      },
      "to-config-values": {
        "configs": [
          {
            "inputs": [
              {
                "name": "toJobConfig.schemaName",
                "value": "public"
              },
              {
                "name": "toJobConfig.tablePreparation",
                "value": "CREATE_WHEN_NOT_EXIST"
              },
              {
                "name": "toJobConfig.tableName",
                "value": "cdm_all_type"
              },
              {
                "name": "toJobConfig.columnList",
                "value": "id&gid&name"
              },
              {
                "name": "toJobConfig.shouldClearTable",
                "value": "false"
              }
            ],
            "name": "toJobConfig"
          }
        ]
      },
      "driver-config-values": {
        "configs": [
          {
            "name": "throttlingConfig",
            "inputs": [
              {
                "name": "throttlingConfig.numExtractors",
                "value": "3"
              }
            ]
          }
        ]
      }
    }
  ]
}`
