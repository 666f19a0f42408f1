package testenv_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/pipectl/pipectl/internal/badspecs"
	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/testenv/devserver"
)

// listRuns lists every workflow execution of the stack's namespace.
func listRuns(t *testing.T, st *testenv.Stack) []string {
	t.Helper()
	resp, err := st.Client.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: devserver.DefaultNamespace})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range resp.GetExecutions() {
		ids = append(ids, e.GetExecution().GetWorkflowId())
	}
	return ids
}

// TestFaultBadInput applies every malformed spec of the corpus
// (spec/testdata/bad, and the generated huge, deep and many-mistakes
// ones) with `pipectl apply` against a running stack, one file at a
// time, then all of them with a valid spec among them: each is rejected
// with exit 1 and its error at its line and column, and nothing reaches
// Temporal or the services. A valid spec applied afterwards does start a
// run, so the empty listing was not blind.
func TestFaultBadInput(t *testing.T) {
	began := time.Now()
	st := startStack(t, testenv.StackOptions{})
	cases, err := badspecs.Committed(filepath.Join("..", "spec", "testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	generated, err := badspecs.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, generated...)
	if len(cases) < 50 {
		t.Fatalf("the corpus has %d specs, want at least 50", len(cases))
	}
	var paths []string
	for _, c := range cases {
		code, stdout, stderr := pipectl(t, st, "apply", c.Path)
		if code != 1 || stdout != "" {
			t.Errorf("apply %s: exit %d, stdout %q; want 1 and nothing", c.Name, code, stdout)
		}
		if p := c.Check(stderr); p != "" {
			t.Errorf("apply %s: %s", c.Name, p)
		}
		paths = append(paths, c.Path)
	}

	good := writeSpec(t, "good.yaml", "name: good\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: select 1}}\n")
	code, _, stderr := pipectl(t, st, append([]string{"apply", good}, paths...)...)
	if code != 1 {
		t.Errorf("apply of the valid spec and every bad one: exit %d, want 1", code)
	}
	for _, c := range cases {
		if p := c.Check(stderr); p != "" {
			t.Errorf("apply of them all, %s: %s", c.Name, p)
		}
	}

	if ids := listRuns(t, st); len(ids) != 0 {
		t.Errorf("runs started from invalid specs: %v", ids)
	}
	var deployed []any
	if code, out, _ := pipectl(t, st, "get", "pipelines", "-o", "json"); code != 0 || json.Unmarshal([]byte(out), &deployed) != nil || len(deployed) != 0 {
		t.Errorf("get pipelines: exit %d, schedules deployed from invalid specs:\n%s", code, out)
	}
	if calls := st.Emulator.Calls(); len(calls) != 0 {
		t.Errorf("the services were called: %v", calls)
	}

	// The listing sees a run when there is one.
	if code, _, _ := pipectl(t, st, "apply", good); code != 0 {
		t.Fatalf("apply of a valid spec exited %d", code)
	}
	waitFor(t, 10*time.Second, "the valid spec's run listed", func() bool { return len(listRuns(t, st)) == 1 })
	t.Logf("%d malformed specs rejected; took %s", len(cases), time.Since(began).Round(time.Millisecond))
}
