package cli

import (
	"bytes"
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
