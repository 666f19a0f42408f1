package testenv_test

// Every example pipeline, run end to end on its own stack: the spec is
// applied (or, for a scheduled one, run once), must succeed, must leave the
// service-side resources it manages in their expected end state exactly
// once, and must keep its secrets out of the workflow history.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/testenv/emulator"
	"github.com/pipectl/pipectl/workflows"
)

// exampleRun is what one example needs around its run.
type exampleRun struct {
	// secrets are set as PIPECTL_SECRET_<NAME> for the worker; their
	// values must reach the service and never the history. Values are
	// letters, digits and '-' so that no JSON escaping hides them.
	secrets map[string]string
	// setup prepares what the example expects to exist already.
	setup func(t *testing.T, st *testenv.Stack)
	// skipped are the steps that end skipped; every other step succeeds.
	skipped []string
	// check inspects the emulator after the run.
	check func(t *testing.T, c exampleCheck)
}

// exampleCheck is what a check gets.
type exampleCheck struct {
	st     *testenv.Stack
	plan   *planner.Plan
	status *workflows.Status
	// yesterday is the day before the run's logical time, as the examples'
	// templates compute it.
	yesterday time.Time
}

func (c exampleCheck) step(t *testing.T, id string) workflows.StepStatus {
	t.Helper()
	for _, s := range c.status.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %s in the run's status", id)
	return workflows.StepStatus{}
}

// exampleRuns lists what each example pipeline needs and leaves behind.
// An example without an entry fails the test: a new example needs checks.
var exampleRuns = map[string]exampleRun{
	"demo.yaml":                    {check: checkDemo},
	"nightly-partitions.yaml":      {skipped: []string{"full_refresh"}, check: checkNightlyPartitions},
	"cdm-mysql-to-obs.yaml":        {secrets: cdmSecrets, check: checkCDMMySQLToOBS},
	"dis-clickstream.yaml":         {check: checkDISClickstream},
	"flink-streaming.yaml":         {check: checkFlinkStreaming},
	"spark-batch.yaml":             {check: checkSparkBatch},
	"lakeformation-migration.yaml": {secrets: lakeFormationSecrets, check: checkLakeFormationMigration},
	"dataarts-job.yaml":            {setup: setupDataArtsJobs, check: checkDataArtsJob},
	"sub-pipelines.yaml":           {check: checkSubPipelines},
}

func TestEveryExampleRunsEndToEnd(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "pipelines", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no example pipelines in ../examples/pipelines")
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			ex, ok := exampleRuns[name]
			if !ok {
				t.Fatalf("example %s has no entry in `exampleRuns`: add its setup and checks", name)
			}
			runExample(t, file, ex)
		})
	}
}

func runExample(t *testing.T, file string, ex exampleRun) {
	for name, value := range ex.secrets {
		t.Setenv("PIPECTL_SECRET_"+name, value)
	}
	p, diags := spec.LoadFile(file)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan, diags := planner.Compile(p)
	if diags.HasErrors() {
		t.Fatal(diags)
	}

	st := startStack(t, testenv.StackOptions{JobDuration: 300 * time.Millisecond})
	if ex.setup != nil {
		ex.setup(t, st)
	}
	// apply deploys a scheduled spec as a Temporal Schedule; run starts
	// one run of it now.
	cmd := "apply"
	if plan.Schedule != nil {
		cmd = "run"
	}
	code, stdout, stderr := pipectl(t, st, cmd, file, "--wait")
	if code != 0 {
		t.Fatalf("pipectl %s exited %d", cmd, code)
	}
	if want := "pipeline " + plan.Pipeline + " succeeded"; !strings.Contains(stderr, want) {
		t.Errorf("no %q line in the output", want)
	}
	m := runIDRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatal("no run id in the output")
	}
	var status workflows.Status
	if err := st.Client.GetWorkflow(t.Context(), m[1], "").Get(t.Context(), &status); err != nil {
		t.Fatalf("result of run %s: %v", m[1], err)
	}
	if status.State != workflows.RunSucceeded {
		t.Errorf("run state %s, want %s", status.State, workflows.RunSucceeded)
	}
	for _, s := range status.Steps {
		want := workflows.StepSucceeded
		if slices.Contains(ex.skipped, s.ID) {
			want = workflows.StepSkipped
		}
		if s.State != want {
			t.Errorf("step %s ended %s (%s%s), want %s", s.ID, s.State, s.Error, s.SkipReason, want)
		}
	}

	hist := fetchHistory(t, st.Client, m[1])
	keepHistory(t, "example-"+strings.TrimSuffix(filepath.Base(file), ".yaml")+".json", hist)
	text := historyText(t, hist)
	for name, value := range ex.secrets {
		if strings.Contains(text, value) {
			t.Errorf("the value of secret %s is in the run's workflow history", name)
		}
		if strings.Contains(stdout+stderr, value) {
			t.Errorf("the value of secret %s is in pipectl's output", name)
		}
		// The search does look where the plan's inputs are: the
		// placeholder is there.
		if !strings.Contains(text, "${secret."+name+"}") {
			t.Errorf("placeholder of secret %s not found in the history: the search misses the payloads", name)
		}
	}

	if ex.check != nil {
		ex.check(t, exampleCheck{
			st: st, plan: plan, status: &status,
			yesterday: status.LogicalTime.UTC().Add(-24 * time.Hour),
		})
	}
}

// historyText is the history as protojson plus every payload's data as it
// is: protojson writes payloads as base64, where a secret would not show.
func historyText(t *testing.T, h *historypb.History) string {
	t.Helper()
	b, err := protojson.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	sb.Write(b)
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if p, ok := m.Interface().(*commonpb.Payload); ok {
			sb.WriteByte('\n')
			sb.Write(p.GetData())
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList():
				if fd.Message() != nil {
					for i := 0; i < v.List().Len(); i++ {
						walk(v.List().Get(i).Message())
					}
				}
			case fd.IsMap():
				if fd.MapValue().Message() != nil {
					v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
						walk(mv.Message())
						return true
					})
				}
			case fd.Message() != nil:
				walk(v.Message())
			}
			return true
		})
	}
	walk(h.ProtoReflect())
	return sb.String()
}

// dliJobsWith returns the DLI SQL jobs whose statement contains s.
func dliJobsWith(em *emulator.Emulator, s string) []emulator.DLIJob {
	var out []emulator.DLIJob
	for _, j := range em.DLIJobs() {
		if strings.Contains(j.SQL, s) {
			out = append(out, j)
		}
	}
	return out
}

// checkDLIJobs checks that the emulator ran exactly the SQL jobs matching
// the given statement fragments (count each), all FINISHED in the dev
// project, each with its own idempotency key.
func checkDLIJobs(t *testing.T, em *emulator.Emulator, want map[string]int) {
	t.Helper()
	total := 0
	for frag, n := range want {
		jobs := dliJobsWith(em, frag)
		if len(jobs) != n {
			t.Errorf("%d DLI jobs run %q, want %d", len(jobs), frag, n)
		}
		total += n
	}
	all := em.DLIJobs()
	if len(all) != total {
		t.Errorf("%d DLI jobs in all, want %d", len(all), total)
	}
	keys := map[string]bool{}
	for _, j := range all {
		if j.Status != "FINISHED" || j.ProjectID != testenv.DevProjectID {
			t.Errorf("DLI job %s: status %s in project %s, want FINISHED in %s\n%s", j.ID, j.Status, j.ProjectID, testenv.DevProjectID, j.SQL)
		}
		key := j.Tags["pipectl-key"]
		if key == "" || keys[key] {
			t.Errorf("DLI job %s has pipectl-key %q: missing or shared", j.ID, key)
		}
		keys[key] = true
	}
}

// checkDemo: one DLI job per step, in dependency order.
func checkDemo(t *testing.T, c exampleCheck) {
	jobs := jobsByStep(t, c.plan, c.st.Emulator)
	for _, s := range c.plan.Steps {
		js := jobs[s.ID]
		if len(js) != 1 {
			t.Errorf("step %s ran %d DLI jobs, want 1", s.ID, len(js))
			continue
		}
		if got := c.step(t, s.ID).JobID; got != js[0].ID {
			t.Errorf("step %s reports job %s, the emulator ran %s", s.ID, got, js[0].ID)
		}
		for _, dep := range s.DependsOn {
			if d := jobs[dep]; len(d) == 1 && js[0].SubmittedAt.Before(d[0].EndedAt) {
				t.Errorf("step %s started before its dependency %s ended", s.ID, dep)
			}
		}
	}
	checkDLIJobs(t, c.st.Emulator, map[string]int{
		"INSERT OVERWRITE TABLE sales.orders_clean":      1,
		"INSERT OVERWRITE TABLE sales.revenue_by_region": 1,
		"INSERT OVERWRITE TABLE sales.top_customers":     1,
		"INSERT OVERWRITE TABLE sales.daily_report":      1,
	})
}

// checkNightlyPartitions: one job per table, the summary naming them, the
// cleanup, and no full refresh (full_refresh defaults to false).
func checkNightlyPartitions(t *testing.T, c exampleCheck) {
	day := c.yesterday.Format("2006-01-02")
	em := c.st.Emulator
	for _, table := range []string{"orders", "refunds", "shipments"} {
		frag := "INSERT OVERWRITE TABLE mart." + table + " PARTITION (dt = '" + day + "')"
		if got := len(dliJobsWith(em, frag)); got != 1 {
			t.Errorf("%d DLI jobs run %q, want 1", got, frag)
		}
	}
	checkDLIJobs(t, em, map[string]int{
		"PARTITION (dt = '" + day + "')":            3,
		"INSERT OVERWRITE TABLE mart.daily_summary": 1,
		"DROP TABLE IF EXISTS tmp.nightly_scratch":  1,
		"INSERT OVERWRITE TABLE mart.sales_all":     0,
	})
	summary := dliJobsWith(em, "mart.daily_summary")
	if len(summary) == 1 {
		for _, j := range dliJobsWith(em, "PARTITION (dt = ") {
			if !strings.Contains(summary[0].SQL, j.ID) {
				t.Errorf("summary SQL does not name rebuild job %s:\n%s", j.ID, summary[0].SQL)
			}
		}
	}
}

var cdmSecrets = map[string]string{
	"SHOP_MYSQL_PASSWORD": "mysql-pw-7Qe2xK9v",
	"LAKE_OBS_AK":         "obs-ak-3Lm8Tz1d",
	"LAKE_OBS_SK":         "obs-sk-Y5n0Wc4r",
}

// checkCDMMySQLToOBS: both links created once with the resolved
// credentials, the job created once and run once to SUCCEEDED, then one
// DLI load of the day's directory.
func checkCDMMySQLToOBS(t *testing.T, c exampleCheck) {
	em := c.st.Emulator
	day := c.yesterday.Format("2006-01-02")

	links := map[string]emulator.CDMLink{}
	for _, l := range em.CDMLinks() {
		if _, dup := links[l.Name]; dup {
			t.Errorf("CDM link %s exists twice", l.Name)
		}
		links[l.Name] = l
	}
	if len(links) != 2 {
		t.Errorf("CDM links %v, want shop-mysql and lake-obs", slices.Collect(maps.Keys(links)))
	}
	for name, want := range map[string]map[string]string{
		"shop-mysql": {
			"linkConfig.password": cdmSecrets["SHOP_MYSQL_PASSWORD"],
			"linkConfig.host":     "mysql.shop.internal",
			"linkConfig.port":     "3306",
		},
		"lake-obs": {
			"linkConfig.accessKey":   cdmSecrets["LAKE_OBS_AK"],
			"linkConfig.securityKey": cdmSecrets["LAKE_OBS_SK"],
		},
	} {
		l, ok := links[name]
		if !ok {
			t.Errorf("no CDM link %s", name)
			continue
		}
		if l.ClusterID != emulator.CDMDefaultClusterID || l.ProjectID != testenv.DevProjectID {
			t.Errorf("CDM link %s is in cluster %s of project %s", name, l.ClusterID, l.ProjectID)
		}
		for input, v := range want {
			if l.Inputs[input] != v {
				t.Errorf("CDM link %s: %s is %q, want the spec's value", name, input, l.Inputs[input])
			}
		}
	}

	jobs := em.CDMJobs()
	if len(jobs) != 1 {
		t.Fatalf("%d CDM jobs, want 1: %+v", len(jobs), jobs)
	}
	j := jobs[0]
	if j.Name != "mysql-orders-to-obs" || j.ClusterID != emulator.CDMDefaultClusterID || j.ProjectID != testenv.DevProjectID {
		t.Errorf("CDM job %s in cluster %s of project %s", j.Name, j.ClusterID, j.ProjectID)
	}
	if j.Starts != 1 || len(j.Submissions) != 1 || j.Submissions[0].Status != "SUCCEEDED" || j.Status != "SUCCEEDED" {
		t.Errorf("CDM job: %d starts, status %s, submissions %+v; want one SUCCEEDED run", j.Starts, j.Status, j.Submissions)
	}
	if got := j.FromConfig["fromJobConfig.tableName"]; got != "orders" {
		t.Errorf("fromJobConfig.tableName = %q, want orders", got)
	}
	if got := j.FromConfig["fromJobConfig.whereClause"]; got != "order_date = '"+day+"'" {
		t.Errorf("fromJobConfig.whereClause = %q, want yesterday's orders", got)
	}
	dir := "/shop/orders/dt=" + day + "/"
	if got := j.ToConfig["toJobConfig.outputDirectory"]; got != dir {
		t.Errorf("toJobConfig.outputDirectory = %q, want %q", got, dir)
	}
	if got := j.DriverConfig["retryJobConfig.retryJobType"]; got != "NONE" {
		t.Errorf("retryJobConfig.retryJobType = %q, want NONE", got)
	}
	copyStep := c.step(t, "copy_orders")
	if len(j.Submissions) == 1 && copyStep.Outputs["submission_id"] != fmt.Sprint(j.Submissions[0].ID) {
		t.Errorf("copy_orders outputs %v, want submission_id %d", copyStep.Outputs, j.Submissions[0].ID)
	}

	checkDLIJobs(t, em, map[string]int{"LOAD DATA INPATH 'obs://lake-raw" + dir + "'": 1})
	if loads := dliJobsWith(em, "LOAD DATA"); len(loads) == 1 {
		if l := loads[0]; l.CurrentDB != "raw" || l.Queue != "etl" || !strings.Contains(l.SQL, "PARTITION (dt = '"+day+"')") {
			t.Errorf("load job: database %s, queue %s, SQL:\n%s", l.CurrentDB, l.Queue, l.SQL)
		}
	}
}

// checkDISClickstream: the stream and its two dump tasks, once each, running.
func checkDISClickstream(t *testing.T, c exampleCheck) {
	em := c.st.Emulator
	streams := em.DISStreams()
	if len(streams) != 1 {
		t.Fatalf("%d DIS streams, want 1: %+v", len(streams), streams)
	}
	s := streams[0]
	active := 0
	for _, p := range s.Partitions {
		if p.Status == "ACTIVE" {
			active++
		}
	}
	if s.Name != "web-clickstream" || s.ProjectID != testenv.DevProjectID || s.Status != "RUNNING" ||
		active != 3 || s.DataType != "JSON" || s.StreamType != "COMMON" || s.RetentionHours != 24 {
		t.Errorf("DIS stream: %s in %s, %s, %d active partitions, %s/%s, %dh; want web-clickstream RUNNING with 3 JSON COMMON partitions for 24h",
			s.Name, s.ProjectID, s.Status, active, s.DataType, s.StreamType, s.RetentionHours)
	}
	out := c.step(t, "clicks").Outputs
	if out["name"] != s.Name || out["id"] != s.ID || out["partitions"] != "3" {
		t.Errorf("clicks outputs %v, want the stream's name, id %s and 3 partitions", out, s.ID)
	}

	tasks := map[string]emulator.DISDumpTask{}
	for _, task := range em.DISDumpTasks() {
		if _, dup := tasks[task.Name]; dup {
			t.Errorf("DIS dump task %s exists twice", task.Name)
		}
		tasks[task.Name] = task
	}
	if len(tasks) != 2 {
		t.Errorf("DIS dump tasks %v, want clickstream-to-obs and clickstream-to-dli", slices.Collect(maps.Keys(tasks)))
	}
	for name, want := range map[string]struct{ dest, step, field, value string }{
		"clickstream-to-obs": {"OBS", "archive_to_obs", "partition_format", "yyyy/MM/dd/HH"},
		"clickstream-to-dli": {"DLI", "load_to_dli", "dli_table_name", "click_events"},
	} {
		task, ok := tasks[name]
		if !ok {
			t.Errorf("no DIS dump task %s", name)
			continue
		}
		if task.StreamName != "web-clickstream" || task.DestinationType != want.dest || task.State != "RUNNING" || task.Pauses != 0 {
			t.Errorf("dump task %s: stream %s, destination %s, state %s, %d pauses; want a RUNNING %s task of web-clickstream",
				name, task.StreamName, task.DestinationType, task.State, task.Pauses, want.dest)
		}
		if got := task.Descriptor[want.field]; got != want.value {
			t.Errorf("dump task %s: descriptor %s = %v, want %s", name, want.field, got, want.value)
		}
		if got := c.step(t, want.step).Outputs["task_id"]; got != task.ID {
			t.Errorf("step %s reports task %v, the emulator has %s", want.step, got, task.ID)
		}
	}
}

// checkFlinkStreaming: one job per name, run once and running.
func checkFlinkStreaming(t *testing.T, c exampleCheck) {
	jobs := map[string]emulator.FlinkJob{}
	for _, j := range c.st.Emulator.FlinkJobs() {
		if _, dup := jobs[j.Name]; dup {
			t.Errorf("Flink job %s exists twice", j.Name)
		}
		jobs[j.Name] = j
	}
	if len(jobs) != 2 {
		t.Errorf("Flink jobs %v, want clickstream-page-views and clickstream-sessionizer", slices.Collect(maps.Keys(jobs)))
	}
	for name, want := range map[string]struct{ step, typ string }{
		"clickstream-page-views":  {"page_views", "flink_sql_job"},
		"clickstream-sessionizer": {"sessions", "flink_jar_job"},
	} {
		j, ok := jobs[name]
		if !ok {
			t.Errorf("no Flink job %s", name)
			continue
		}
		if j.Type != want.typ || j.Status != "job_running" || j.Runs != 1 || j.Stops != 0 || j.Deleted ||
			j.Queue != "flink_general" || j.ProjectID != testenv.DevProjectID {
			t.Errorf("Flink job %s: %s, %s, %d runs, %d stops, queue %s; want a %s running once on flink_general",
				name, j.Type, j.Status, j.Runs, j.Stops, j.Queue, want.typ)
		}
		if !strings.Contains(j.Desc, "Managed by pipectl") {
			t.Errorf("Flink job %s desc %q carries no pipectl marker", name, j.Desc)
		}
		if out := c.step(t, want.step).Outputs; out["job_id"] != fmt.Sprint(j.ID) || out["status"] != "job_running" {
			t.Errorf("step %s outputs %v, want job %d running", want.step, out, j.ID)
		}
	}
	if j := jobs["clickstream-page-views"]; !strings.Contains(j.SQLBody, "'stream' = 'web-clickstream'") || j.CUNumber != 4 ||
		j.ParallelNumber != 2 || !j.CheckpointEnabled || !strings.Contains(j.RuntimeConfig, "table.exec.state.ttl") {
		t.Errorf("Flink SQL job: cu %d, parallel %d, checkpoints %t, runtime config %q, SQL:\n%s",
			j.CUNumber, j.ParallelNumber, j.CheckpointEnabled, j.RuntimeConfig, j.SQLBody)
	}
	sql, jar := jobs["clickstream-page-views"], jobs["clickstream-sessionizer"]
	if jar.Entrypoint != "flink-apps/clickstream-sessionizer-1.4.0.jar" || jar.CUNumber != 4 || jar.ParallelNumber != 4 {
		t.Errorf("Flink Jar job: entrypoint %q, cu %d, parallel %d", jar.Entrypoint, jar.CUNumber, jar.ParallelNumber)
	}
	if jar.StartedAt.Before(sql.StartedAt) {
		t.Errorf("the Jar job started before the SQL job it depends on")
	}
}

// checkSparkBatch: one batch with the day's arguments, then the partition.
func checkSparkBatch(t *testing.T, c exampleCheck) {
	em := c.st.Emulator
	day := c.yesterday.Format("2006-01-02")
	batches := em.SparkBatches()
	if len(batches) != 1 {
		t.Fatalf("%d Spark batches, want 1: %+v", len(batches), batches)
	}
	b := batches[0]
	if b.State != "success" || b.Cancelled || b.Queue != "etl" || b.ProjectID != testenv.DevProjectID ||
		b.ClassName != "com.example.clickstream.DailySessions" || !strings.HasPrefix(b.Name, "daily-sessionize-") {
		t.Errorf("Spark batch %s: %s, cancelled %t, queue %s, class %s; want daily-sessionize-… succeeding on etl",
			b.Name, b.State, b.Cancelled, b.Queue, b.ClassName)
	}
	wantArgs := []string{
		"--date", day,
		"--input", "obs://lake-raw/clickstream/events/" + c.yesterday.Format("2006/01/02"),
		"--output", "obs://lake-curated/sessions/dt=" + day,
		"--session-gap", "30m",
	}
	if !slices.Equal(b.Args, wantArgs) {
		t.Errorf("Spark args %q, want %q", b.Args, wantArgs)
	}
	var conf map[string]any
	if err := json.Unmarshal([]byte(b.Conf), &conf); err != nil || fmt.Sprint(conf["spark.sql.shuffle.partitions"]) != "200" {
		t.Errorf("Spark conf %s: want spark.sql.shuffle.partitions 200 (%v)", b.Conf, err)
	}
	if out := c.step(t, "sessionize").Outputs; out["batch_id"] != b.ID || out["state"] != "success" {
		t.Errorf("sessionize outputs %v, want batch %s succeeded", out, b.ID)
	}
	checkDLIJobs(t, em, map[string]int{"ALTER TABLE curated.sessions ADD IF NOT EXISTS\nPARTITION (dt = '" + day + "')": 1})
	if alter := dliJobsWith(em, "ALTER TABLE curated.sessions"); len(alter) == 1 && alter[0].SubmittedAt.Before(b.EndedAt) {
		t.Errorf("the partition was added before the Spark batch ended")
	}
}

var lakeFormationSecrets = map[string]string{
	"HIVE_METASTORE_PASSWORD": "hive-meta-pw-4Rk9Ps2m",
}

// checkLakeFormationMigration: the two jobs, created and started once,
// in the instance the spec names.
func checkLakeFormationMigration(t *testing.T, c exampleCheck) {
	const instance = "6a1f0c2e9b7d4c3e8f5a2b1c0d9e8f7a"
	jobs := map[string]emulator.LakeFormationJob{}
	for _, j := range c.st.Emulator.LakeFormationJobs() {
		if _, dup := jobs[j.Name]; dup {
			t.Errorf("LakeFormation job %s exists twice", j.Name)
		}
		jobs[j.Name] = j
	}
	if len(jobs) != 2 {
		t.Errorf("LakeFormation jobs %v, want the metadata and the permission migrations", slices.Collect(maps.Keys(jobs)))
	}
	for name, want := range map[string]struct{ step, typ string }{
		"mrs_hive_metadata_migration":     {"migrate_metadata", "METADATA_MIGRATION"},
		"mrs_ranger_permission_migration": {"migrate_permissions", "PERMISSION_MIGRATION"},
	} {
		j, ok := jobs[name]
		if !ok {
			t.Errorf("no LakeFormation job %s", name)
			continue
		}
		if j.Type != want.typ || j.Status != "SUCCESS" || j.Starts != 1 || j.Stops != 0 ||
			j.InstanceID != instance || j.ProjectID != testenv.DevProjectID {
			t.Errorf("LakeFormation job %s: %s, %s, %d starts, %d stops, instance %s; want a %s that succeeded once in %s",
				name, j.Type, j.Status, j.Starts, j.Stops, j.InstanceID, want.typ, instance)
		}
		if out := c.step(t, want.step).Outputs; out["job_id"] != j.ID || out["status"] != "SUCCESS" {
			t.Errorf("step %s outputs %v, want job %s SUCCESS", want.step, out, j.ID)
		}
	}
	meta, perm := jobs["mrs_hive_metadata_migration"], jobs["mrs_ranger_permission_migration"]
	if perm.StartedAt.Before(meta.EndedAt) {
		t.Errorf("the permission migration started before the metadata migration ended")
	}
}

// The DataArts jobs the dataarts-job example runs; they are the warehouse
// team's, so the test creates them first.
const dataArtsWorkspace = "8c2a9e4b1f6d4a7e9b3c5d0e2f4a6b8c"

func setupDataArtsJobs(t *testing.T, st *testenv.Stack) {
	token := st.Emulator.NewToken(testenv.DevProjectID)
	for _, job := range []struct{ name, script1, script2 string }{
		{"ods_orders_daily", "ods_orders_load", "ods_orders_check"},
		{"dws_orders_mart", "dws_orders_mart_build", "dws_orders_mart_check"},
	} {
		body := map[string]any{
			"name":    job.name,
			"jobType": "BATCH",
			"nodes": []map[string]any{
				{
					"name": job.script1, "type": "DLISQL",
					"location":   map[string]any{"x": "10.0", "y": "10.0"},
					"properties": []map[string]any{{"name": "scriptName", "value": job.script1}},
				},
				{
					"name": job.script2, "type": "DLISQL", "preNodeName": []string{job.script1},
					"location":   map[string]any{"x": "10.0", "y": "110.0"},
					"properties": []map[string]any{{"name": "scriptName", "value": job.script2}},
				},
			},
			"schedule": map[string]any{"type": "EXECUTE_ONCE"},
			"params":   []map[string]any{{"name": "bizdate", "value": "", "type": "variable"}},
		}
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
			st.Endpoints[emulator.DLF]+"/v1/"+testenv.DevProjectID+"/jobs", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Auth-Token", token)
		req.Header.Set("workspace", dataArtsWorkspace)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var answer bytes.Buffer
		_, _ = answer.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("create DataArts job %s: %s %s", job.name, resp.Status, answer.String())
		}
	}
}

// checkDataArtsJob: one instance of each job, with the day and the
// upstream instance as parameters, the wait in between, and the audit.
func checkDataArtsJob(t *testing.T, c exampleCheck) {
	em := c.st.Emulator
	bizdate := c.yesterday.Format("20060102")
	for _, j := range em.DLFJobs() {
		if j.Runs != 1 || j.Starts != 0 || j.Workspace != dataArtsWorkspace {
			t.Errorf("DataArts job %s: %d runs, %d starts, workspace %q; want one run-immediate in %s",
				j.Name, j.Runs, j.Starts, j.Workspace, dataArtsWorkspace)
		}
	}
	instances := map[string]emulator.DLFInstance{}
	for _, in := range em.DLFInstances() {
		if _, dup := instances[in.JobName]; dup {
			t.Errorf("DataArts job %s has more than one instance", in.JobName)
		}
		instances[in.JobName] = in
	}
	if len(instances) != 2 {
		t.Errorf("instances of %v, want one of ods_orders_daily and one of dws_orders_mart", slices.Collect(maps.Keys(instances)))
	}
	ods, mart := instances["ods_orders_daily"], instances["dws_orders_mart"]
	for step, in := range map[string]emulator.DLFInstance{"ods_orders": ods, "orders_mart": mart} {
		if in.Status != "success" || in.Trigger != "run-immediate" || in.Workspace != dataArtsWorkspace ||
			in.Params["bizdate"] != bizdate || in.Params["pipectl_key"] == "" {
			t.Errorf("instance %d of %s: %s by %s in %q, params %v; want success with bizdate %s and a pipectl_key",
				in.ID, in.JobName, in.Status, in.Trigger, in.Workspace, in.Params, bizdate)
		}
		if out := c.step(t, step).Outputs; out["instance_id"] != fmt.Sprint(in.ID) || out["status"] != "success" {
			t.Errorf("step %s outputs %v, want instance %d success", step, out, in.ID)
		}
	}
	if got := mart.Params["upstream_instance"]; got != fmt.Sprint(ods.ID) {
		t.Errorf("dws_orders_mart ran with upstream_instance %q, want the ODS instance %d", got, ods.ID)
	}
	if ods.Params["source_system"] != "shop" || ods.Params["full_load"] != "false" {
		t.Errorf("ods_orders_daily params %v", ods.Params)
	}
	settle := c.step(t, "settle")
	if d := settle.EndedAt.Sub(settle.StartedAt); d < 2*time.Second {
		t.Errorf("settle waited %s, want 2s", d)
	}
	if mart.SubmittedAt.Before(ods.EndedAt.Add(2 * time.Second)) {
		t.Errorf("the mart ran %s after the ODS load ended, before the 2s settle time", mart.SubmittedAt.Sub(ods.EndedAt))
	}
	audits := dliJobsWith(em, "INSERT INTO ops.pipeline_audit")
	checkDLIJobs(t, em, map[string]int{"INSERT INTO ops.pipeline_audit": 1})
	if len(audits) == 1 {
		if a := audits[0]; !strings.Contains(a.SQL, "'dataarts-job', '") || !strings.Contains(a.SQL, c.yesterday.Format("2006-01-02")) ||
			a.SubmittedAt.Before(mart.EndedAt) {
			t.Errorf("audit job submitted %s (mart ended %s):\n%s", a.SubmittedAt, mart.EndedAt, a.SQL)
		}
	}
}

// checkSubPipelines: each table's partition rebuilt and checked once, by
// its own child run, and the audit naming every load job.
func checkSubPipelines(t *testing.T, c exampleCheck) {
	em := c.st.Emulator
	day := c.yesterday.Format("2006-01-02")
	checkDLIJobs(t, em, map[string]int{
		"INSERT OVERWRITE TABLE mart.orders PARTITION (dt = '" + day + "')":    1,
		"INSERT OVERWRITE TABLE mart.refunds PARTITION (dt = '" + day + "')":   1,
		"INSERT OVERWRITE TABLE mart.shipments PARTITION (dt = '" + day + "')": 1,
		"SELECT assert_true(count(*) >= 1000) FROM mart.orders":                1,
		"SELECT assert_true(count(*) >= 1) FROM mart.":                         2,
		"INSERT INTO ops.pipeline_audit":                                       1,
	})
	audit := dliJobsWith(em, "INSERT INTO ops.pipeline_audit")
	if len(audit) != 1 {
		return
	}
	orders, _ := c.step(t, "orders").Outputs["load"].(map[string]any)
	marts, _ := c.step(t, "marts").Outputs["load"].([]any)
	if len(marts) != 2 {
		t.Fatalf("marts outputs %v, want one load per table", c.step(t, "marts").Outputs)
	}
	for _, j := range dliJobsWith(em, "INSERT OVERWRITE TABLE mart.") {
		if !strings.Contains(audit[0].SQL, j.ID) {
			t.Errorf("audit SQL does not name load job %s:\n%s", j.ID, audit[0].SQL)
		}
		if j.SubmittedAt.After(audit[0].SubmittedAt) {
			t.Errorf("load job %s submitted after the audit", j.ID)
		}
	}
	for table, out := range map[string]any{"orders": orders, "refunds": marts[0], "shipments": marts[1]} {
		m, _ := out.(map[string]any)
		jobs := dliJobsWith(em, "INSERT OVERWRITE TABLE mart."+table+" ")
		if len(jobs) != 1 || m["job_id"] != jobs[0].ID {
			t.Errorf("%s load output %v, want job %v", table, out, jobs)
		}
	}
}
