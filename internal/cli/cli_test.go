package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/workflows"
)

// noTemporal is an address nothing listens on: a command that dials
// fails fast.
const noTemporal = "--address=127.0.0.1:1"

// run runs pipectl in-process.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func TestExitCodesHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "exit-codes"}, {"help", "scripting"}, {"exit-codes"}} {
		code, out, _ := run(t, args...)
		if code != ExitOK || !strings.Contains(out, "Exit status") || !strings.Contains(out, "Scripting") {
			t.Errorf("pipectl %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
	}
	for _, c := range []int{ExitOK, ExitError, ExitChanges} {
		if !strings.Contains(exitCodesHelp, "\n  "+string(rune('0'+c))+"  ") {
			t.Errorf("pipectl help exit-codes does not explain exit status %d", c)
		}
	}
	_, out, _ := run(t, "--help")
	if !strings.Contains(out, "exit-codes") {
		t.Errorf("pipectl --help does not point at the exit-codes topic:\n%s", out)
	}
}

// jsonFields returns the JSON names of v's fields, embedded structs'
// included.
func jsonFields(t reflect.Type) []string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// TestScriptingFieldsAreDocumented keeps `pipectl help exit-codes` in step
// with the -o json output: every field a script may read is named there.
func TestScriptingFieldsAreDocumented(t *testing.T) {
	_, scripting, _ := strings.Cut(exitCodesHelp, "\nScripting\n")
	for _, v := range []any{runRow{}, scheduleRow{}, runDescription{}, workflows.StepStatus{}, execution{}} {
		for _, f := range jsonFields(reflect.TypeOf(v)) {
			if !strings.Contains(scripting, f) {
				t.Errorf("%T field %q is not documented in pipectl help exit-codes", v, f)
			}
		}
	}
}

func TestDescribeRunJSONKeepsTheStatusFields(t *testing.T) {
	st := &workflows.Status{Pipeline: "p", State: workflows.RunSucceeded, Steps: []workflows.StepStatus{{ID: "a", State: workflows.StepSucceeded}}}
	b, err := json.Marshal(runDescription{Status: st, Executions: []*execution{{Kind: execRun, WorkflowID: "p-1", RunID: "r1", Status: "succeeded", StartedAt: time.Unix(0, 0).UTC()}}})
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		workflows.Status
		Executions []execution `json:"executions"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.State != workflows.RunSucceeded || len(back.Steps) != 1 || len(back.Executions) != 1 || back.Executions[0].RunID != "r1" {
		t.Errorf("describe run -o json = %s", b)
	}
}

func TestRunsQuery(t *testing.T) {
	for _, tc := range []struct {
		pipeline, status, trigger string
		want                      string
	}{
		{want: `WorkflowType = "pipectl.Pipeline"`},
		{pipeline: "nightly", status: "succeeded", trigger: "schedule",
			want: `WorkflowType = "pipectl.Pipeline" AND PipectlPipeline = "nightly" AND ExecutionStatus = "Completed" AND PipectlTrigger = "schedule"`},
		{status: "cancelled", want: `WorkflowType = "pipectl.Pipeline" AND ExecutionStatus = "Canceled"`},
		{status: "timed out", want: `WorkflowType = "pipectl.Pipeline" AND ExecutionStatus = "TimedOut"`},
	} {
		got, err := runsQuery(tc.pipeline, tc.status, tc.trigger)
		if err != nil || got != tc.want {
			t.Errorf("runsQuery(%q, %q, %q) = %q, %v; want %q", tc.pipeline, tc.status, tc.trigger, got, err, tc.want)
		}
	}
	if _, err := runsQuery("", "continued", ""); err == nil {
		t.Error("--status continued accepted: a continued run is listed as its chain")
	}
	if _, err := runsQuery("", "", "cron"); err == nil {
		t.Error("--trigger cron accepted")
	}
}

func TestCallName(t *testing.T) {
	for _, tc := range []struct{ activity, kind, want string }{
		{"dli.sql.submit", "dli.sql", "submit"},
		{"dli.sql.wait", "dli.sql", "wait"},
		{"cdm.job.cancel", "cdm.job", "cancel"},
		// A single activity per step, whatever its name after the kind.
		{"dli.sql.run", "dli.sql", "run"},
		{"other.activity", "dli.sql", "other.activity"},
		{"dli.sql.run", "", "dli.sql.run"},
	} {
		if got := callName(tc.activity, tc.kind); got != tc.want {
			t.Errorf("callName(%q, %q) = %q, want %q", tc.activity, tc.kind, got, tc.want)
		}
	}
}

func TestResultText(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	for _, tc := range []struct {
		result any
		want   string
	}{
		{activities.Job{ID: "j1"}, ": job j1"},
		{activities.Job{ID: "j1", Reattached: true}, ": job j1 (re-attached to the job an earlier try created)"},
		{activities.Result{State: "FINISHED", Outputs: map[string]string{"job_id": "x"}}, ": FINISHED"},
		{map[string]any{"job_id": "j2", "state": "SUCCEEDED"}, ": job j2 SUCCEEDED"},
		{nil, ""},
	} {
		p, err := dc.ToPayload(tc.result)
		if err != nil {
			t.Fatal(err)
		}
		if got := resultText(dc, p); got != tc.want {
			t.Errorf("resultText(%+v) = %q, want %q", tc.result, got, tc.want)
		}
	}
}

func TestWriteYAMLKeepsJSONNamesAndTypes(t *testing.T) {
	var b bytes.Buffer
	rows := []runRow{{ID: "r-1", RunID: "abc", Status: "succeeded", Trigger: "true", SpecHash: "0123", StartedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Runs: 2}}
	if err := writeYAML(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := `- id: r-1
  run_id: abc
  first_run_id: ""
  runs: 2
  pipeline: ""
  status: succeeded
  trigger: "true"
  spec_hash: "0123"
  started_at: "2026-03-01T10:00:00Z"
`
	if b.String() != want {
		t.Errorf("yaml:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestPlanSeveralFilesOffline(t *testing.T) {
	code, out, stderr := run(t, "plan", noTemporal, "--offline", "../../examples/pipelines/demo.yaml", "../../examples/pipelines/nightly-partitions.yaml")
	if code != ExitOK || !strings.HasPrefix(out, "pipeline daily-orders ") || !strings.Contains(out, "\npipeline nightly-partitions ") {
		t.Errorf("plan --offline of two specs: exit %d\n%s%s", code, out, stderr)
	}
	code, _, stderr = run(t, "plan", noTemporal, "--offline", "--prune", "../../examples/pipelines/demo.yaml")
	if code != ExitError || !strings.Contains(stderr, "Error: --prune compares with what is deployed") {
		t.Errorf("plan --offline --prune: exit %d\n%s", code, stderr)
	}
	// Every spec is checked before anything is contacted.
	code, out, stderr = run(t, "plan", noTemporal, "../../examples/pipelines/demo.yaml", "no-such-file.yaml")
	if code != ExitError || out != "" || strings.Contains(stderr, "cannot reach Temporal") {
		t.Errorf("plan with a missing file: exit %d\n%s%s", code, out, stderr)
	}
}

// pipectl dev takes the emulator's rate-limit flags as pipectl emulator
// does, and both refuse a scale the emulator would read as 1 before
// starting anything.
func TestEmulatorRateLimitFlags(t *testing.T) {
	for _, cmd := range []string{"dev", "emulator"} {
		code, out, _ := run(t, cmd, "--help")
		if code != ExitOK || !strings.Contains(out, "--no-rate-limits") || !strings.Contains(out, "--rate-limit-scale") {
			t.Errorf("pipectl %s --help: exit %d, want both rate-limit flags:\n%s", cmd, code, out)
		}
		for _, scale := range []string{"0", "-1", "NaN"} {
			code, _, errOut := run(t, cmd, "--rate-limit-scale="+scale, "--port=0")
			if code != ExitError || !strings.Contains(errOut, "--rate-limit-scale must be a positive number") {
				t.Errorf("pipectl %s --rate-limit-scale=%s: exit %d\n%s", cmd, scale, code, errOut)
			}
		}
	}
	for _, tc := range []struct {
		off   bool
		scale float64
		want  string
	}{
		{false, 1, "on (CDM's documented"},
		{false, 0.05, "on, scaled ×0.05"},
		{true, 0.05, "off (--no-rate-limits)"},
	} {
		if got := emulatorLimitsLine(tc.off, tc.scale); !strings.HasPrefix(got, tc.want) {
			t.Errorf("emulatorLimitsLine(%v, %g) = %q, want %q...", tc.off, tc.scale, got, tc.want)
		}
	}
}

// A spec whose parameters have no default, such as a sub-pipeline's
// library, validates and plans without --param; apply needs the values.
func TestParamsWithoutValues(t *testing.T) {
	const lib = "../../examples/pipelines/lib/partition-load.yaml"
	code, out, stderr := run(t, "validate", lib)
	if code != ExitOK || out != lib+": pipeline \"partition-load\" is valid (2 steps)\n" || stderr != "" {
		t.Errorf("validate: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = run(t, "plan", noTemporal, "--offline", lib)
	want := "\nparams\n" +
		"  day   (no value: required at apply, --param day=VALUE)\n" +
		"  min_rows = 1\n" +
		"  table   (no value: required at apply, --param table=VALUE)\n"
	if code != ExitOK || !strings.Contains(out, want) {
		t.Errorf("plan --offline: exit %d, want the params\n%s\n%s%s", code, want, out, stderr)
	}
	code, out, stderr = run(t, "plan", noTemporal, "--offline", "-p", "day=2026-03-01", "-p", "table=orders", lib)
	if code != ExitOK || !strings.Contains(out, "\nparams\n  day = \"2026-03-01\"\n  min_rows = 1\n  table = \"orders\"\n") {
		t.Errorf("plan --offline with values: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = run(t, "apply", noTemporal, lib)
	for _, want := range []string{
		lib + `:10:3: error: params.table: Parameter has no value`,
		`Parameter "table" has no default: give one with --param table=VALUE.`,
		lib + `:13:3: error: params.day: Parameter has no value`,
		"2 problem(s) found",
	} {
		if code != ExitError || out != "" || !strings.Contains(stderr, want) {
			t.Errorf("apply: exit %d, want %q in\n%s%s", code, want, out, stderr)
		}
	}
	if strings.Contains(stderr, "cannot reach Temporal") {
		t.Errorf("apply dialled Temporal with parameters missing:\n%s", stderr)
	}
	// A bad value is one error, with no follow-on about what reads it.
	code, _, stderr = run(t, "validate", "-p", "min_rows=many", lib)
	if code != ExitError || !strings.Contains(stderr, `--param min_rows=many: "many" is not a number.`) || !strings.HasSuffix(stderr, "1 problem(s) found\n") {
		t.Errorf("validate -p min_rows=many: exit %d\n%s", code, stderr)
	}
}
