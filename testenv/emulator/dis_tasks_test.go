package emulator_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// The add-dump-task bodies of the seeds. Some lack closing braces (DWS
// @2615, MRS @2730, OpenTSDB @3044) or were split by page breaks (DAYU
// @8600, @9648); they are repaired here as a client would have to.
var disTaskSamples = []struct {
	name, task, destination, body string
}{
	{"002 OBS", "newtask", "OBS", `{
  "destination_type" : "OBS",
  "obs_destination_descriptor" : {
    "task_name" : "newtask",
    "consumer_strategy" : "LATEST",
    "agency_name" : "dis_admin_agency",
    "destination_file_type" : "text",
    "obs_bucket_path" : "obsbucket",
    "file_prefix" : "",
    "partition_format" : "yyyy/MM/dd/HH/mm",
    "record_delimiter" : "\n",
    "deliver_time_interval" : 30
  }
}`},
	{"002 OBS text", "newtask", "OBS", `{
  "destination_type" : "OBS",
  "obs_destination_descriptor" : {
    "task_name" : "newtask",
    "consumer_strategy" : "LATEST",
    "agency_name" : "dis_admin_agency",
    "destination_file_type" : "text",
    "obs_bucket_path" : "obsbucket",
    "file_prefix" : "",
    "partition_format" : "yyyy/MM/dd/HH/mm",
    "record_delimiter" : "|",
    "deliver_time_interval" : 30
  }
}`},
	{"DAYU OBS parquet", "newtask", "OBS", `{
    "destination_type" : "OBS",
    "obs_destination_descriptor" : {
        "task_name" : "newtask",
        "consumer_strategy" : "LATEST",
        "agency_name" : "dis_admin_agency",
        "destination_file_type" : "parquet",
        "obs_bucket_path" : "obsbucket",
        "file_prefix" : "",
        "partition_format" : "yyyy/MM/dd/HH/mm",
        "record_delimiter" : "|",
        "deliver_time_interval" : 30
    }
}`},
	{"002 DWS", "dwstask", "DWS", `{
  "destination_type" : "DWS",
  "dws_destination_descriptor" : {
    "task_name" : "dwstask",
    "consumer_strategy" : "LATEST",
    "agency_name" : "dis_admin_agency",
    "dws_cluster_name" : "dwscluster",
    "dws_cluster_id" : "f82dc227-3691-47eb-bca7-e7851f509b2a",
    "dws_database_name" : "postgres",
    "dws_schema" : "dbadmin",
    "dws_table_name" : "dwstablelename",
    "dws_delimiter" : "",
    "user_name" : "dbadmin",
    "user_password" : "userpassword",
    "kms_user_key_name" : "kmskey",
    "kms_user_key_id" : "1e759f06-9188-4d21-afab-a75e57c04d2b",
    "obs_bucket_path" : "obsbucket",
    "file_prefix" : "",
    "deliver_time_interval" : 60,
    "retry_duration" : 1800,
    "options" : {
      "fill_missing_fields" : "false",
      "ignore_extra_data" : "false",
        "compatible_illegal_chars" : "false"
    }
  }
}`},
	{"002 MRS", "mrstask", "MRS", `{
  "destination_type" : "MRS",
  "mrs_destination_descriptor" : {
    "task_name" : "mrstask",
    "consumer_strategy" : "LATEST",
    "agency_name" : "dis_admin_agency",
    "destination_file_type" : "text",
    "mrs_cluster_id" : "f8123fa6-99f1-4ed9-83f4-c827c7277d41",
    "mrs_cluster_name" : "mrscluster",
    "mrs_hdfs_path" : "/user",
    "obs_bucket_path" : "obsbucket",
    "file_prefix" : "",
    "hdfs_prefix_folder" : "",
    "deliver_time_interval" : 30,
        "retry_duration" : 1800
    }
}`},
	{"002 DLI", "dlitask", "DLI", `{
  "destination_type" : "DLI",
  "dli_destination_descriptor" : {
    "task_name" : "dlitask",
    "consumer_strategy" : "LATEST",
    "agency_name" : "dis_admin_agency",
    "dli_database_name" : "dlidatabasename",
    "dli_table_name" : "dlitablename",
    "obs_bucket_path" : "obsbucket",
    "file_prefix" : "",
    "deliver_time_interval" : 300,
    "retry_duration" : 300
  }
}`},
	{"002 CloudTable HBase", "hbasetask", "CLOUDTABLE", `{
  "destination_type" : "CLOUDBASE",
  "cloudtable_destination_descriptor" : {
    "task_name" : "hbasetask",
    "consumer_strategy" : "TRIM_HORIZON",
    "agency_name" : "dis_admin_agency",
    "cloudtable_cluster_name" : "cloudtablecluster",
    "cloudtable_cluster_id" : "b8c095e2-db5f-4732-8a1d-eacd662e35dc",
    "cloudtable_table_name" : "cloudtabletable",
    "cloudtable_row_key_delimiter" : "|",
    "retry_duration" : 1800,
    "obs_backup_bucket_path" : "obsbackupbucket",
    "backup_file_prefix" : "",
    "cloudtable_schema" : {
      "row_key" : [ {
        "value" : "datavalue",
        "type" : "String"
      }],
      "columns" : [ {
        "column_family_name" : "cfname1",
        "column_name" : "ID",
        "value" : "datavalue1",
        "type" : "String"
      }, {
        "column_family_name" : "cfname2",
        "column_name" : "VALUE",
        "value" : "datavalue2",
        "type" : "String"
      }]
    }
  }
}`},
	{"002 CloudTable OpenTSDB", "opentsdbtask", "CLOUDTABLE", `{
  "destination_type" : "CLOUDBASE",
  "cloudtable_destination_descriptor" : {
    "task_name" : "opentsdbtask",
    "consumer_strategy" : "LATEST",
    "agency_name" : "dis_admin_agency",
"cloudtable_cluster_name" : "cloudtablecluster",
"cloudtable_cluster_id" : "b8c095e2-db5f-4732-8a1d-eacd662e35dc",
"retry_duration" : 1800,
"obs_backup_bucket_path" : "obsbackupbucket",
"backup_file_prefix" : "",
"opentsdb_schema" : [ {
  "metric" : [ {
    "type" : "Constant",
    "value" : "age"
  }],
  "timestamp" : {
    "value" : "date",
    "type" : "String",
    "format" : "yyyy/MM/dd HH:mm:ss"
  },
  "value" : {
    "value" : "value",
    "type" : "Bigint"
  },
  "tags" : [ {
    "name" : "name",
    "value" : "name",
    "type" : "Bigint"
  }]
}
]
  }
}`},
	{"DAYU CloudTable HBase", "hbasetask", "CLOUDTABLE", `{
  "destination_type" : "CLOUDTABLE",
  "cloudtable_destination_descriptor" : {
    "task_name" : "hbasetask",
    "consumer_strategy" : "TRIM_HORIZON",
    "agency_name" : "dis_admin_agency",
    "cloudtable_cluster_name" : "cloudtablecluster",
    "cloudtable_cluster_id" : "b8c095e2-db5f-4732-8a1d-eacd662e35dc",
    "cloudtable_table_name" : "cloudtabletable",
    "cloudtable_row_key_delimiter" : "|",
    "retry_duration" : 1800,
    "obs_backup_bucket_path" : "obsbackupbucket",
    "backup_file_prefix" : "",
"clouhtable_schema" : {
    "row_key" : [ {
        "value" : "datavalue",
        "type" : "String"
    } ],
    "columns" : [ {
        "column_family_name" : "cfname1",
        "column_name" : "ID",
        "value" : "datavalue1",
        "type" : "String"
    }, {
        "column_family_name" : "cfname2",
        "column_name" : "VALUE",
        "value" : "datavalue2",
        "type" : "String"
    } ]
}
  }
}`},
	{"DAYU CloudTable OpenTSDB", "opentsdbtask", "CLOUDTABLE", `{
    "destination_type" : "CLOUDTABLE",
    "clouhtable_destination_descriptor" : {
        "task_name" : "opentsdbtask",
        "consumer_strategy" : "LATEST",
        "agency_name" : "dis_admin_agency",
        "clouhtable_cluster_name" : "clouhtablecluster",
        "clouhtable_cluster_id" : "b8c095e2-db5f-4732-8a1d-eacd662e35dc",
        "retry_duration" : 1800,
        "obs_backup_bucket_path" : "obsbackupbucket",
        "backup_file_prefix" : "",
        "opentsdb_schema" : [ {
            "metric" : [ {
                "type" : "Constant",
                "value" : "age"
            } ],
            "timestamp" : {
                "value" : "date",
                "type" : "String",
                "format" : "yyyy/MM/dd HH:mm:ss"
            },
            "value" : {
                "value" : "value",
                "type" : "Bigint"
            },
            "tags" : [ {
                "name" : "name",
                "value" : "name",
                "type" : "Bigint"
            } ]
        } ]
    }
}`},
}

func TestDISDumpTaskSamples(t *testing.T) {
	e := newDISEnv(t)
	for i, s := range disTaskSamples {
		t.Run(s.name, func(t *testing.T) {
			stream := fmt.Sprintf("s%d", i)
			e.disCreateStream(fmt.Sprintf(`{"stream_name":%q,"partition_count":1,"data_type":"JSON"}`, stream))
			e.clock.Advance(disJob)
			r := e.do("POST", "/v2/p1/streams/"+stream+"/transfer-tasks", s.body).disWant(t, http.StatusCreated)
			if r.raw != "" {
				t.Errorf("body = %s", r.raw)
			}

			task := e.disTasksOf(stream)[s.task]
			if task == nil {
				t.Fatalf("task %s is not listed", s.task)
			}
			id, _ := task["task_id"].(string)
			if !disIDRE.MatchString(id) {
				t.Errorf("task_id = %q", id)
			}
			disWantFields(t, task, map[string]any{
				"destination_type": s.destination, "state": "STARTING",
				"create_time": float64(e.clock.Now().UnixMilli()), "last_transfer_timestamp": 0.0,
			})

			d := e.do("GET", "/v2/p1/streams/"+stream+"/transfer-tasks/"+s.task, "").disWant(t, http.StatusOK).body
			disWantFields(t, d, map[string]any{
				"stream_name": stream, "task_name": s.task, "task_id": id, "destination_type": s.destination, "state": "STARTING",
			})
			prefix := strings.ToLower(s.destination) + "_destination_"
			desc := disObj(t, d[prefix+"descriptor"])
			if desc["task_name"] != s.task || desc["agency_name"] != "dis_admin_agency" {
				t.Errorf("%sdescriptor = %v", prefix, desc)
			}
			if fmt.Sprint(d[prefix+"description"]) != fmt.Sprint(desc) {
				t.Errorf("%sdescription = %v, want the descriptor", prefix, d[prefix+"description"])
			}
			parts := disArr(t, d["partitions"])
			if len(parts) != 1 {
				t.Fatalf("partitions = %v", parts)
			}
			disWantFields(t, disObj(t, parts[0]), map[string]any{
				"partition_id": "shardId-0000000000", "partitionId": "shardId-0000000000", "status": "ACTIVE",
				"state": "STARTING", "discard": 0.0, "last_transfer_offset": -1.0,
			})
		})
	}
	tasks := e.emu.DISDumpTasks()
	if len(tasks) != len(disTaskSamples) {
		t.Fatalf("%d tasks, want %d", len(tasks), len(disTaskSamples))
	}
	for i, task := range tasks {
		if task.StreamName != fmt.Sprintf("s%d", i) || task.DestinationType != disTaskSamples[i].destination {
			t.Errorf("task %d = %s on %s, type %s", i, task.Name, task.StreamName, task.DestinationType)
		}
	}
	// Defaults are filled in, values kept as sent, DAYU's misprints mapped.
	for i, want := range map[int]map[string]any{
		0: {"record_delimiter": "\n", "retry_duration": 0.0, "deliver_time_interval": 30.0, "partition_format": "yyyy/MM/dd/HH/mm"},
		2: {"destination_file_type": "parquet"},
		3: {"dws_delimiter": "", "retry_duration": 1800.0},
		5: {"retry_duration": 300.0, "dli_table_name": "dlitablename"},
		6: {"deliver_time_interval": 300.0, "cloudtable_row_key_delimiter": "|"},
		7: {"cloudtable_row_key_delimiter": ".", "consumer_strategy": "LATEST"},
		9: {"cloudtable_cluster_name": "clouhtablecluster"},
	} {
		for k, v := range want {
			if got := tasks[i].Descriptor[k]; got != v {
				t.Errorf("%s: descriptor %s = %#v, want %#v", disTaskSamples[i].name, k, got, v)
			}
		}
	}
	if _, ok := tasks[8].Descriptor["cloudtable_schema"]; !ok {
		t.Errorf("DAYU's clouhtable_schema was not kept as cloudtable_schema: %v", tasks[8].Descriptor)
	}
	// DAYU's misspelt detail keys for DWS and CloudTable.
	for stream, key := range map[string]string{"s3": "dws_destination_descripton", "s6": "cloudtable_destination_descripton"} {
		d := e.do("GET", "/v2/p1/streams/"+stream+"/transfer-tasks/"+tasks[map[string]int{"s3": 3, "s6": 6}[stream]].Name, "").disWant(t, http.StatusOK).body
		if _, ok := d[key].(map[string]any); !ok {
			t.Errorf("%s has no %s: %v", stream, key, d)
		}
	}
	if c := e.emu.DISCounts(); c.TaskCreates != len(disTaskSamples) {
		t.Errorf("TaskCreates = %d", c.TaskCreates)
	}
}

func TestDISDumpTaskLifecycle(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("newstream", 2)
	created := e.clock.Now()
	e.do("POST", "/v2/p1/streams/newstream/transfer-tasks", disOBSTask("newtask")).disWant(t, http.StatusCreated)
	e.disPutData("newstream", "a", "b")
	task := e.disTasksOf("newstream")["newtask"]
	id := task["task_id"].(string)

	r := e.do("GET", "/v2/p1/streams/newstream/transfer-tasks", "").disWant(t, http.StatusOK)
	disWantFields(t, r.body, map[string]any{"total_number": 1.0, "quota": 5.0})

	state := func() string { return e.disTasksOf("newstream")["newtask"]["state"].(string) }
	for _, step := range []struct {
		at    time.Duration
		state string
	}{
		{0, "STARTING"}, {disJob - time.Millisecond, "STARTING"}, {disJob, "RUNNING"},
	} {
		e.clock.Set(created.Add(step.at))
		if got := state(); got != step.state {
			t.Errorf("at %v: %s, want %s", step.at, got, step.state)
		}
	}
	// Deliveries every deliver_time_interval (30 s) once running; the
	// records written after the task was created are delivered.
	e.clock.Set(created.Add(disJob + 29*time.Second))
	if task := e.disTasksOf("newstream")["newtask"]; task["last_transfer_timestamp"] != 0.0 {
		t.Errorf("before the first delivery: %v", task)
	}
	e.clock.Set(created.Add(disJob + 61*time.Second))
	firstTwo := float64(created.Add(disJob + 60*time.Second).UnixMilli())
	d := e.do("GET", "/v2/p1/streams/newstream/transfer-tasks/newtask", "").disWant(t, http.StatusOK).body
	disWantFields(t, d, map[string]any{"state": "RUNNING", "last_transfer_timestamp": firstTwo})
	parts := disArr(t, d["partitions"])
	disWantFields(t, disObj(t, parts[0]), map[string]any{"last_transfer_offset": 1.0, "last_transfer_timestamp": firstTwo, "state": "RUNNING"})
	disWantFields(t, disObj(t, parts[1]), map[string]any{"last_transfer_offset": -1.0})
	if snap, _ := e.emu.DISDumpTask("p1", "newstream", "newtask"); snap.Delivered != 2 || !snap.LastTransfer.Equal(created.Add(disJob+60*time.Second)) {
		t.Errorf("DISDumpTask = %+v", snap)
	}

	// Pause, with the sample's body shape.
	if r := e.disTaskAction("newstream", "stop", id).disWant(t, http.StatusOK); r.raw != "" {
		t.Errorf("body = %s", r.raw)
	}
	if got := state(); got != "PAUSED" {
		t.Errorf("after stop: %s", got)
	}
	e.disTaskAction("newstream", "stop", id).disWant(t, http.StatusOK) // pausing twice is fine
	e.clock.Advance(time.Hour)
	if task := e.disTasksOf("newstream")["newtask"]; task["state"] != "PAUSED" || task["last_transfer_timestamp"] != firstTwo {
		t.Errorf("paused: %v", task)
	}
	// Start through DAYU's "?action" form: STARTING again, then RUNNING.
	restarted := e.clock.Now()
	e.do("POST", "/v2/p1/streams/newstream/transfer-tasks?action", fmt.Sprintf(`{
    "action" : "start",
    "tasks" : [ {
        "id" : %q
    } ]
}`, id)).disWant(t, http.StatusOK)
	if got := state(); got != "STARTING" {
		t.Errorf("after start: %s", got)
	}
	e.disTaskAction("newstream", "start", id, id).disWant(t, http.StatusOK) // already starting: no-op
	e.clock.Set(restarted.Add(disJob - time.Millisecond))
	if got := state(); got != "STARTING" {
		t.Errorf("a start of a STARTING task restarted it: %s", got)
	}
	e.clock.Set(restarted.Add(disJob + 30*time.Second))
	if task := e.disTasksOf("newstream")["newtask"]; task["state"] != "RUNNING" ||
		task["last_transfer_timestamp"] != float64(restarted.Add(disJob+30*time.Second).UnixMilli()) {
		t.Errorf("restarted: %v", task)
	}
	snap, _ := e.emu.DISDumpTask("p1", "newstream", "newtask")
	if snap.Starts != 2 || snap.Pauses != 2 || !snap.StartedAt.Equal(restarted) || snap.State != "RUNNING" || snap.Message != "" ||
		snap.DestinationType != "OBS" || snap.Descriptor["obs_bucket_path"] != "bucket" || snap.ID != id || !snap.CreatedAt.Equal(created) {
		t.Errorf("DISDumpTask = %+v", snap)
	}
	if c := e.emu.DISCounts(); c.TaskStarts != 2 || c.TaskPauses != 2 || c.TaskCreates != 1 {
		t.Errorf("counts = %+v", c)
	}

	// Delete.
	if r := e.do("DELETE", "/v2/p1/streams/newstream/transfer-tasks/newtask", "").disWant(t, http.StatusNoContent); r.raw != "" {
		t.Errorf("body = %s", r.raw)
	}
	wantError(t, e.do("DELETE", "/v2/p1/streams/newstream/transfer-tasks/newtask", ""), http.StatusBadRequest, "DIS.4354", "The transfer task does not exist.")
	wantError(t, e.do("GET", "/v2/p1/streams/newstream/transfer-tasks/newtask", ""), http.StatusBadRequest, "DIS.4354", "newtask")
	wantError(t, e.disTaskAction("newstream", "start", id), http.StatusBadRequest, "DIS.4354", id)
	if len(e.emu.DISDumpTasks()) != 0 || e.emu.DISCounts().TaskDeletes != 1 {
		t.Errorf("the task survived its deletion")
	}
}

func TestDISDumpTaskTrimHorizon(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("s", 1)
	e.disPutData("s", "old")
	e.clock.Advance(time.Second)
	for _, name := range []string{"latest", "trim"} {
		body := strings.Replace(disOBSTask(name), `"obs_bucket_path"`, `"consumer_strategy":"`+map[string]string{"latest": "LATEST", "trim": "TRIM_HORIZON"}[name]+`","obs_bucket_path"`, 1)
		e.do("POST", "/v2/p1/streams/s/transfer-tasks", body).disWant(t, http.StatusCreated)
	}
	e.disPutData("s", "new")
	e.clock.Advance(disJob + 30*time.Second)
	for name, want := range map[string]int{"latest": 1, "trim": 2} {
		if task, _ := e.emu.DISDumpTask("p1", "s", name); task.Delivered != want {
			t.Errorf("%s delivered %d, want %d", name, task.Delivered, want)
		}
	}
}

func TestDISDumpTaskRules(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("s", 1)
	e.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "bad", Duration: 3 * time.Second, FailMessage: "Invalid IAM agency.", FailFirst: 1})
	e.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "stuck", Hang: true})
	e.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "flaky", SubmitErrors: 1, SubmitStatus: http.StatusServiceUnavailable})

	for _, name := range []string{"bad", "stuck"} {
		e.do("POST", "/v2/p1/streams/s/transfer-tasks", disOBSTask(name)).disWant(t, http.StatusCreated)
	}
	r := e.do("POST", "/v2/p1/streams/s/transfer-tasks", disOBSTask("flaky"))
	wantError(t, r, http.StatusServiceUnavailable, "DIS.5000", "injected HTTP 503")
	if _, ok := e.emu.DISDumpTask("p1", "s", "flaky"); ok {
		t.Fatal("an injected error created the task")
	}

	e.clock.Advance(3 * time.Second)
	tasks := e.disTasksOf("s")
	disWantFields(t, tasks["bad"], map[string]any{"state": "ERROR", "error_message": "Invalid IAM agency."})
	if _, ok := tasks["stuck"]["error_message"]; ok || tasks["stuck"]["state"] != "STARTING" {
		t.Errorf("stuck = %v", tasks["stuck"])
	}
	d := e.do("GET", "/v2/p1/streams/s/transfer-tasks/bad", "").disWant(t, http.StatusOK).body
	disWantFields(t, d, map[string]any{"state": "ERROR", "error_message": "Invalid IAM agency."})
	if snap, _ := e.emu.DISDumpTask("p1", "s", "bad"); snap.State != "ERROR" || snap.Message != "Invalid IAM agency." {
		t.Errorf("DISDumpTask = %+v", snap)
	}

	// The start restarts the failed task; FailFirst lets the retry run.
	e.disTaskAction("s", "start", tasks["bad"]["task_id"].(string), tasks["stuck"]["task_id"].(string)).disWant(t, http.StatusOK)
	if got := e.disTasksOf("s")["bad"]["state"]; got != "STARTING" {
		t.Errorf("after start: %v", got)
	}
	e.clock.Advance(time.Hour)
	tasks = e.disTasksOf("s")
	if tasks["bad"]["state"] != "RUNNING" || tasks["stuck"]["state"] != "STARTING" {
		t.Errorf("an hour later: bad %v, stuck %v", tasks["bad"]["state"], tasks["stuck"]["state"])
	}
	// Only a pause ends a hang.
	e.disTaskAction("s", "stop", tasks["stuck"]["task_id"].(string)).disWant(t, http.StatusOK)
	if got := e.disTasksOf("s")["stuck"]["state"]; got != "PAUSED" {
		t.Errorf("stuck after stop: %v", got)
	}

	// A start's injected error restarts nothing.
	e.do("POST", "/v2/p1/streams/s/transfer-tasks", disOBSTask("retrytask")).disWant(t, http.StatusCreated)
	e.clock.Advance(disJob)
	retryID := e.disTasksOf("s")["retrytask"]["task_id"].(string)
	e.disTaskAction("s", "stop", retryID).disWant(t, http.StatusOK)
	e.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "retrytask", SubmitErrors: 1})
	wantError(t, e.disTaskAction("s", "start", tasks["stuck"]["task_id"].(string), retryID), http.StatusInternalServerError, "DIS.5000", "System error.")
	tasks = e.disTasksOf("s")
	if tasks["retrytask"]["state"] != "PAUSED" || tasks["stuck"]["state"] != "PAUSED" {
		t.Errorf("after an injected start error: retrytask %v, stuck %v", tasks["retrytask"]["state"], tasks["stuck"]["state"])
	}
	e.disTaskAction("s", "start", retryID).disWant(t, http.StatusOK)
	if got := e.disTasksOf("s")["retrytask"]["state"]; got != "STARTING" {
		t.Errorf("retrytask after start: %v", got)
	}
	if snap, _ := e.emu.DISDumpTask("p1", "s", "retrytask"); snap.Starts != 1 || snap.Pauses != 1 {
		t.Errorf("retrytask counted %d starts, %d pauses; want 1, 1", snap.Starts, snap.Pauses)
	}
	e.emu.AddRule(emulator.Rule{Service: emulator.DIS, Match: "crowd", SubmitErrors: 1, SubmitStatus: http.StatusTooManyRequests})
	r = e.do("POST", "/v2/p1/streams/s/transfer-tasks", disOBSTask("crowd"))
	wantError(t, r, http.StatusTooManyRequests, "DIS.4305", "Too many stream requests.")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
}

func TestDISDumpTaskErrors(t *testing.T) {
	e := newDISEnv(t)
	e.disCreateStream(`{"stream_name":"s","partition_count":1}`)
	wantError(t, e.do("POST", "/v2/p1/streams/s/transfer-tasks", disOBSTask("t")), http.StatusBadRequest, "DIS.4205", "Stream is not running.")
	e.clock.Advance(disJob)
	wantError(t, e.do("POST", "/v2/p1/streams/none/transfer-tasks", disOBSTask("t")), http.StatusBadRequest, "DIS.4301", "none")

	obs := func(fields string) string {
		return `{"destination_type":"OBS","obs_destination_descriptor":{"task_name":"t","agency_name":"a","obs_bucket_path":"b"` + fields + `}}`
	}
	dws := `"agency_name":"a","dws_cluster_name":"c","dws_cluster_id":"i","dws_database_name":"d","dws_schema":"s","dws_table_name":"t",` +
		`"dws_delimiter":",","user_name":"u","user_password":"p","kms_user_key_name":"k","kms_user_key_id":"ki","obs_bucket_path":"b"`
	hbase := `"task_name":"t","agency_name":"a","cloudtable_cluster_name":"c","cloudtable_cluster_id":"i","cloudtable_table_name":"tb"`
	for _, tc := range []struct{ name, body, code, msg string }{
		{"empty", "", "DIS.4202", "Empty request."},
		{"not an object", `[]`, "DIS.4300", "Request error."},
		{"no type", `{"obs_destination_descriptor":{}}`, "DIS.4200", "destination_type is mandatory"},
		{"unknown type", `{"destination_type":"S3"}`, "DIS.4200", `got "S3"`},
		{"no descriptor", `{"destination_type":"OBS","dws_destination_descriptor":{}}`, "DIS.4200", "obs_destination_descriptor is mandatory"},
		{"descriptor not an object", `{"destination_type":"DLI","dli_destination_descriptor":"x"}`, "DIS.4200", "dli_destination_descriptor must be an object"},
		{"wrong field type", `{"destination_type":"DLI","dli_destination_descriptor":{"task_name":5}}`, "DIS.4200", "dli_destination_descriptor"},
		{"bad task name", `{"destination_type":"OBS","obs_destination_descriptor":{"task_name":"a/b","agency_name":"a","obs_bucket_path":"b"}}`, "DIS.4200", "task_name"},
		{"no agency", `{"destination_type":"OBS","obs_destination_descriptor":{"task_name":"t","obs_bucket_path":"b"}}`, "DIS.4200", "agency_name"},
		{"no bucket", `{"destination_type":"OBS","obs_destination_descriptor":{"task_name":"t","agency_name":"a"}}`, "DIS.4200", "obs_bucket_path is mandatory"},
		{"interval too short", obs(`,"deliver_time_interval":29`), "DIS.4200", "deliver_time_interval"},
		{"interval not a number", obs(`,"deliver_time_interval":"soon"`), "DIS.4200", "deliver_time_interval"},
		{"bad strategy", obs(`,"consumer_strategy":"EARLIEST"`), "DIS.4200", "consumer_strategy"},
		{"bad prefix", obs(`,"file_prefix":"/abs"`), "DIS.4200", "file_prefix"},
		{"bad partition format", obs(`,"partition_format":"dd/MM/yyyy"`), "DIS.4200", "partition_format"},
		{"bad file type", obs(`,"destination_file_type":"csv"`), "DIS.4200", "destination_file_type"},
		{"parquet on BLOB", obs(`,"destination_file_type":"parquet"`), "DIS.4200", "needs a JSON stream"},
		{"bad delimiter", obs(`,"record_delimiter":"\t"`), "DIS.4200", "record_delimiter"},
		{"schema without name", obs(`,"processing_schema":{"timestamp_type":"Timestamp"}`), "DIS.4200", "timestamp_name"},
		{"schema without format", obs(`,"processing_schema":{"timestamp_name":"ts","timestamp_type":"String"}`), "DIS.4200", "timestamp_format"},
		{"retry too long", obs(`,"retry_duration":"7201"`), "DIS.4200", "retry_duration"},
		{"DWS without password", `{"destination_type":"DWS","dws_destination_descriptor":{"task_name":"t",` + strings.Replace(dws, `"user_password":"p",`, "", 1) + `}}`, "DIS.4200", "user_password is mandatory"},
		{"DWS bad delimiter", `{"destination_type":"DWS","dws_destination_descriptor":{"task_name":"t",` + strings.Replace(dws, `"dws_delimiter":","`, `"dws_delimiter":"#"`, 1) + `}}`, "DIS.4200", "dws_delimiter"},
		{"DWS bad option", `{"destination_type":"DWS","dws_destination_descriptor":{"task_name":"t",` + dws + `,"options":{"ignore_extra_data":"yes"}}}`, "DIS.4200", "options.ignore_extra_data"},
		{"DWS bad reject limit", `{"destination_type":"DWS","dws_destination_descriptor":{"task_name":"t",` + dws + `,"options":{"reject_limit":"many"}}}`, "DIS.4200", "options.reject_limit"},
		{"MRS without path", `{"destination_type":"MRS","mrs_destination_descriptor":{"task_name":"t","agency_name":"a","mrs_cluster_name":"c","mrs_cluster_id":"i","obs_bucket_path":"b"}}`, "DIS.4200", "mrs_hdfs_path is mandatory"},
		{"DLI without table", `{"destination_type":"DLI","dli_destination_descriptor":{"task_name":"t","agency_name":"a","dli_database_name":"d","obs_bucket_path":"b"}}`, "DIS.4200", "dli_table_name is mandatory"},
		{"CloudTable without schema", `{"destination_type":"CLOUDTABLE","cloudtable_destination_descriptor":{` + hbase + `}}`, "DIS.4345", "Invalid CloudTable schema."},
		{"CloudTable both schemas", `{"destination_type":"CLOUDTABLE","cloudtable_destination_descriptor":{` + hbase + `,"cloudtable_schema":{},"opentsdb_schema":[{}]}}`, "DIS.4200", "not both"},
		{"HBase without row key", `{"destination_type":"CLOUDTABLE","cloudtable_destination_descriptor":{` + hbase + `,"cloudtable_schema":{"columns":[]}}}`, "DIS.4345", "row_key"},
		{"HBase bad column type", `{"destination_type":"CLOUDTABLE","cloudtable_destination_descriptor":{` + hbase +
			`,"cloudtable_schema":{"row_key":[{"value":"v","type":"String"}],"columns":[{"column_family_name":"f","column_name":"c","value":"v","type":"Text"}]}}}`, "DIS.4345", "column"},
		{"OpenTSDB without tags", `{"destination_type":"CLOUDTABLE","cloudtable_destination_descriptor":{` + hbase +
			`,"opentsdb_schema":[{"metric":[{"type":"Constant","value":"m"}],"timestamp":{"type":"Timestamp","value":"ts"},"value":{"type":"Double","value":"v"}}]}}`, "DIS.4348", "tags is mandatory"},
		{"bad row key delimiter", `{"destination_type":"CLOUDTABLE","cloudtable_destination_descriptor":{` + hbase + `,"cloudtable_row_key_delimiter":"#"}}`, "DIS.4200", "cloudtable_row_key_delimiter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/v2/p1/streams/s/transfer-tasks", tc.body), http.StatusBadRequest, tc.code, tc.msg)
		})
	}
	if n := len(e.emu.DISDumpTasks()); n != 0 {
		t.Fatalf("rejected requests created %d tasks", n)
	}

	// Duplicates and the quota of five per stream.
	for i := range 5 {
		e.do("POST", "/v2/p1/streams/s/transfer-tasks", disOBSTask(fmt.Sprintf("t%d", i))).disWant(t, http.StatusCreated)
	}
	wantError(t, e.do("POST", "/v2/p1/streams/s/transfer-tasks", disOBSTask("t0")), http.StatusBadRequest, "DIS.4355", "The transfer task already exists.")
	wantError(t, e.do("POST", "/v2/p1/streams/s/transfer-tasks", disOBSTask("t5")), http.StatusBadRequest, "DIS.4357", "Exceeded transfer task quota.")

	// Batch actions are all or nothing.
	id := e.disTasksOf("s")["t0"]["task_id"].(string)
	for _, tc := range []struct{ body, code, msg string }{
		{`{"action":"restart","tasks":[{"id":"` + id + `"}]}`, "DIS.4200", "action must be start or stop"},
		{`{"action":"stop","tasks":[]}`, "DIS.4200", "tasks is mandatory"},
		{`{"action":"stop","tasks":[{"name":"t0"}]}`, "DIS.4200", "tasks[].id is mandatory"},
		{`{"action":"stop","tasks":[{"id":"` + id + `"},{"id":"nope"}]}`, "DIS.4354", "nope"},
	} {
		wantError(t, e.do("POST", "/v2/p1/streams/s/transfer-tasks/action", tc.body), http.StatusBadRequest, tc.code, tc.msg)
	}
	wantError(t, e.disTaskAction("none", "stop", id), http.StatusBadRequest, "DIS.4301", "none")
	if got := e.disTasksOf("s")["t0"]["state"]; got != "STARTING" {
		t.Errorf("a rejected stop changed t0 to %v", got)
	}
	wantError(t, e.do("GET", "/v2/p1/streams/none/transfer-tasks", ""), http.StatusBadRequest, "DIS.4301", "none")
	wantError(t, e.do("GET", "/v2/p1/streams/none/transfer-tasks/t0", ""), http.StatusBadRequest, "DIS.4301", "none")
	wantError(t, e.do("DELETE", "/v2/p1/streams/none/transfer-tasks/t0", ""), http.StatusBadRequest, "DIS.4301", "none")
}
