package spec_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

// FuzzLoad loads arbitrary bytes as a spec and compiles the result. The
// seeds are the specs in testdata, the malformed ones in testdata/bad and
// the example pipelines. It checks that nothing panics, that
// Load always returns a pipeline (its doc promises one even with errors),
// that every diagnostic with a subject points at a line of the file, and
// that a plan compiled without errors survives the JSON round trip a
// workflow's input goes through.
func FuzzLoad(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	if len(seeds) == 0 {
		f.Fatal("no seed specs in testdata")
	}
	bad, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	if len(bad) == 0 {
		f.Fatal("no malformed specs in testdata/bad")
	}
	seeds = append(seeds, bad...)
	examples, err := filepath.Glob(filepath.Join("..", "examples", "pipelines", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	if len(examples) == 0 {
		f.Fatal("no example pipelines in ../examples/pipelines")
	}
	seeds = append(seeds, examples...)
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, diags := spec.Load("fuzz.yaml", src)
		checkSubjects(t, "Load", diags)
		if p == nil {
			t.Fatalf("Load returned no pipeline (diagnostics: %v)", diags)
		}
		// Compile must cope with what Load returns even with errors.
		plan, more := planner.Compile(p)
		checkSubjects(t, "Compile", more)
		if diags.HasErrors() || more.HasErrors() {
			if more.HasErrors() && plan != nil {
				t.Fatalf("Compile returned a plan and errors: %v", more)
			}
			return
		}
		if plan == nil {
			t.Fatal("Compile returned neither a plan nor errors")
		}
		if len(plan.Steps) != len(p.Steps) {
			t.Fatalf("plan has %d steps, spec %d", len(plan.Steps), len(p.Steps))
		}
		b, err := json.Marshal(plan)
		if err != nil {
			t.Fatalf("valid plan does not marshal: %v", err)
		}
		var back planner.Plan
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("plan JSON does not unmarshal: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(&back, plan) {
			t.Fatalf("plan changed in a JSON round trip:\n got %+v\nwant %+v", back, *plan)
		}
	})
}

func checkSubjects(t *testing.T, what string, diags hcl.Diagnostics) {
	t.Helper()
	for _, d := range diags {
		if d.Subject == nil {
			continue
		}
		if d.Subject.Start.Line < 1 || d.Subject.Start.Column < 1 {
			t.Fatalf("%s: diagnostic %q (%s) at line %d, column %d", what, d.Summary, d.Detail, d.Subject.Start.Line, d.Subject.Start.Column)
		}
	}
}
