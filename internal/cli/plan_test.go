package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

// planOutput compiles src with the given parameter overrides and returns
// what plan prints for it at now.
func planOutput(t *testing.T, src string, params map[string]string, now time.Time) (stdout, stderr string) {
	t.Helper()
	p, diags := spec.Load("p.yaml", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan, diags := planner.CompileWith(p, planner.Options{Params: params})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var out, errOut bytes.Buffer
	if err := printPlan(IO{Out: &out, ErrOut: &errOut}, plan, now); err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String()
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, "\n"+l+"\n") {
			t.Errorf("no line %q in:\n%s", l, out)
		}
	}
}

// The history estimate counts the elements of a for_each over a template
// when planning can evaluate it, and says when it cannot.
func TestPlanForEachSize(t *testing.T) {
	tables := make([]string, 3000)
	for i := range tables {
		tables[i] = fmt.Sprintf("t%d", i)
	}
	src := `name: p
params:
  tables: {type: list, default: [` + strings.Join(tables, ", ") + `]}
steps:
  - id: list
    kind: dli.sql
    with: {sql: SELECT 1}
  - id: rebuild
    kind: dli.sql
    for_each: ${params.tables}
    with: {sql: "INSERT INTO x.${item} SELECT 1"}
  - id: copy
    kind: dli.sql
    for_each: ${split(",", steps.list.outputs.job_id)}
    with: {sql: "SELECT '${item}'"}
`
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	out, errOut := planOutput(t, src, nil, now)
	wantLines(t, out,
		"  rebuild                  dli.sql            for each of ${params.tables} (3000 items); timeout 24h0m0s; poll 2s..30s",
		"  copy                     dli.sql            after list; for each of ${split(\",\", steps.list.outputs.job_id)} (items known at run time); timeout 24h0m0s; poll 2s..30s",
		// 3,000 elements run in 12 children of 250; the run's own history
		// gets a few events per child.
		"history  about 36136 events per run at most (Temporal's limit: 51200 per workflow history)",
		"  in 1 workflow run(s), continuing as new past 20000 events, and 12 child workflow(s) running for_each elements, up to 250 each; the largest history holds about 3000",
		"  copy: for_each size known only at run time (it reads step outputs or the run): counted as 1 element",
	)
	if errOut != "" {
		t.Errorf("warnings: %s", errOut)
	}

	// An override counts too.
	out, _ = planOutput(t, src, map[string]string{"tables": `["a", "b"]`}, now)
	wantLines(t, out,
		"  rebuild                  dli.sql            for each of ${params.tables} (2 items); timeout 24h0m0s; poll 2s..30s",
		"history  about 58 events per run at most (Temporal's limit: 51200 per workflow history)",
	)
}

// One workflow's history near Temporal's limit is warned about, naming the
// step: a for_each runs all its inline elements, every attempt, before the
// run can continue as new.
func TestPlanHistoryWarning(t *testing.T) {
	items := make([]string, 50)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	src := `name: p
params:
  items: {type: list, default: [` + strings.Join(items, ", ") + `]}
steps:
  - id: x
    kind: dli.sql
    for_each: ${params.items}
    retry: {max_attempts: 50}
    with: {sql: "SELECT ${item}"}
`
	_, errOut := planOutput(t, src, nil, time.Now())
	want := "warning: step x of p may need 30000 history events in one workflow, near Temporal's limit of 51200: lower its retry.max_attempts or give it fewer for_each elements\n"
	if errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}

// A plan near or over the payload limit of a run's input is warned
// about: apply refuses one over it, and one near it cannot continue as new.
func TestPlanSizeWarning(t *testing.T) {
	for _, tc := range []struct {
		steps   int
		verdict string // "" for no warning
	}{
		{100, ""},
		{7000, "near"},
		{9000, "over; apply will refuse it"},
	} {
		var b strings.Builder
		b.WriteString("name: p\nsteps:\n")
		for i := range tc.steps {
			fmt.Fprintf(&b, "  - {id: s%d, kind: dli.sql, with: {sql: x}}\n", i)
		}
		out, errOut := planOutput(t, b.String(), nil, time.Now())
		if !strings.Contains(out, "\n  plan  ") {
			t.Errorf("%d steps: no plan size line in\n%s", tc.steps, out[max(0, len(out)-400):])
		}
		warned := strings.Contains(errOut, "warning: the plan of p is ")
		if warned != (tc.verdict != "") || tc.verdict != "" && !strings.Contains(errOut, tc.verdict+" the 1900 KiB a run's input may hold") {
			t.Errorf("%d steps: stderr %q, want a warning %q", tc.steps, errOut, tc.verdict)
		}
	}
}

func TestPlanSchedule(t *testing.T) {
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday, 08:00 in Shanghai
	for _, tc := range []struct {
		name, schedule string
		lines          []string
	}{
		{
			name:     "DataArts days of the week",
			schedule: `{cron: "0 0 2 ? * 2-6", timezone: Asia/Shanghai}`,
			lines: []string{
				`schedule  cron "0 0 2 ? * 2-6" in Asia/Shanghai, overlap skip`,
				"  days  2-6 counts days of the week from 1 = Sunday, as DataArts does: MON-FRI",
				"  next  Tue 2026-03-03 02:00:00 CST",
				"  next  Mon 2026-03-09 02:00:00 CST",
			},
		},
		{
			name:     "end is past",
			schedule: `{cron: "0 2 * * *", start: "2025-01-01T00:00:00Z", end: "2025-02-01T00:00:00Z"}`,
			lines:    []string{"  never fires again: its end (2025-02-01T00:00:00Z) is past"},
		},
		{
			name:     "no fire time before the end",
			schedule: `{cron: "0 2 15 * *", end: "2026-03-10T00:00:00Z"}`,
			lines:    []string{"  never fires again: no time matches its cron before its end (2026-03-10T00:00:00Z)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := planOutput(t, "name: p\nschedule: "+tc.schedule+"\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n", nil, now)
			wantLines(t, out, tc.lines...)
		})
	}
}

// plan and graph show a pipeline-wide handler after every ordinary step,
// as the run has it.
func TestPlanPipelineWideHandler(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "p.yaml")
	src := `name: p
steps:
  - {id: a, kind: dli.sql, with: {sql: x}}
  - {id: b, kind: dli.sql, with: {sql: x}}
  - {id: cleanup, kind: dli.sql, run_on: always, with: {sql: "SELECT '${steps.a.outputs.job_id}'"}}
`
	if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "plan", noTemporal, "--offline", f)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	wantLines(t, out, "wave 2", "  cleanup                  dli.sql            after every ordinary step; runs on always; timeout 24h0m0s; poll 2s..30s")
	code, out, stderr = run(t, "graph", f)
	if code != ExitOK || !strings.Contains(out, "  s1 -.-> s2\n") {
		t.Errorf("graph: exit %d\n%s%s", code, out, stderr)
	}
}

// plan prints parameter values as JSON, a retry's spacing, poll only for
// kinds that poll, and a small plan's size in bytes.
func TestPlanSummaryLines(t *testing.T) {
	src := `name: p
params:
  l: {type: list, default: ["a b", "c", ""]}
  m: {type: map, default: {"k 1": "v 1", n: 2}}
  s: " pad "
steps:
  - id: call
    kind: http
    retry: {max_attempts: 3, initial_interval: 10s, non_retryable: [E1, E2]}
    with: {url: "https://x.example/"}
  - id: load
    kind: dli.sql
    retry: {max_attempts: 2, backoff: 1}
    with: {sql: SELECT 1}
`
	out, _ := planOutput(t, src, nil, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	wantLines(t, out,
		`  l = ["a b","c",""]`,
		`  m = {"k 1":"v 1","n":2}`,
		`  s = " pad "`,
		"  call                     http               timeout 24h0m0s; runs up to 3 times, 10s apart ×2 up to 1m0s, not on E1, E2",
		"  load                     dli.sql            timeout 24h0m0s; poll 2s..30s; runs up to 2 times, 5s apart",
	)
	if !strings.Contains(out, "\n  plan  ") || !strings.Contains(out, " bytes, the input of every run (at most 1900 KiB)\n") {
		t.Errorf("no plan size in bytes in:\n%s", out)
	}
}

// An environment variable listed under env and not set is, like a
// parameter without a value, unknown to validate and plan, shown by plan,
// and an error for apply.
func TestEnvWithoutValues(t *testing.T) {
	t.Setenv("PIPECTL_TEST_SET", "x y")
	os.Unsetenv("PIPECTL_TEST_UNSET")
	path := filepath.Join(t.TempDir(), "env.yaml")
	src := "name: p\nenv: [PIPECTL_TEST_SET, PIPECTL_TEST_UNSET]\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: \"SELECT '${env.PIPECTL_TEST_UNSET}'\"}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "validate", path)
	if code != ExitOK || out != path+": pipeline \"p\" is valid (1 step)\n" {
		t.Errorf("validate: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = run(t, "plan", noTemporal, "--offline", path)
	want := "\nenv\n  PIPECTL_TEST_SET = \"x y\"\n  PIPECTL_TEST_UNSET   (not set: required at apply, in the environment of pipectl)\n"
	if code != ExitOK || !strings.Contains(out, want) {
		t.Errorf("plan --offline: exit %d, want\n%s\nin\n%s%s", code, want, out, stderr)
	}
	code, _, stderr = run(t, "apply", noTemporal, path)
	if want := path + ":2:25: error: env[1]: Environment variable not set"; code != ExitError || !strings.Contains(stderr, want) {
		t.Errorf("apply: exit %d, want %q in\n%s", code, want, stderr)
	}
}
