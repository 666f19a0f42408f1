package planner

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pipectl/pipectl/spec"
)

// TestExamplesCompile loads and compiles every example pipeline, the
// sub-pipelines of lib/ included, as `pipectl validate` does (parameters
// without a default left unset): each must give no diagnostic at all, and
// a plan that comes back from JSON — a workflow's input — exactly as it
// was.
func TestExamplesCompile(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "pipelines", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lib, err := filepath.Glob(filepath.Join("..", "examples", "pipelines", "lib", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 || len(lib) == 0 {
		t.Fatal("no example pipelines in ../examples/pipelines or its lib/")
	}
	for _, f := range append(files, lib...) {
		name, _ := filepath.Rel(filepath.Join("..", "examples", "pipelines"), f)
		t.Run(name, func(t *testing.T) {
			p, diags := spec.LoadFile(f)
			if len(diags) != 0 {
				t.Fatalf("spec.LoadFile:\n%s", formatDiags(diagList(diags)))
			}
			plan, diags := CompileWith(p, Options{AllowUnsetParams: true})
			if len(diags) != 0 {
				t.Fatalf("Compile:\n%s", formatDiags(diagList(diags)))
			}
			if plan == nil {
				t.Fatal("no plan and no diagnostics")
			}
			if plan.Pipeline != p.Name || plan.Pipeline == "" {
				t.Errorf("plan is of pipeline %q, spec %q", plan.Pipeline, p.Name)
			}
			if len(plan.Steps) != len(p.Steps) {
				t.Errorf("plan has %d steps, spec %d", len(plan.Steps), len(p.Steps))
			}
			if plan.SpecHash == "" || plan.SpecHash != plan.hash() {
				t.Errorf("spec hash %q, want %q", plan.SpecHash, plan.hash())
			}
			b, err := json.Marshal(plan)
			if err != nil {
				t.Fatal(err)
			}
			var back Plan
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("plan JSON does not unmarshal: %v\n%s", err, b)
			}
			back.Unset = plan.Unset // not in the JSON: such a plan is never run
			if !reflect.DeepEqual(&back, plan) {
				t.Errorf("plan changed in a JSON round trip:\n got %+v\nwant %+v", back, *plan)
			}
			if h := back.hash(); h != plan.SpecHash {
				t.Errorf("hash after the round trip %s, want %s", h, plan.SpecHash)
			}
			again, err := json.Marshal(&back)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(b) {
				t.Errorf("JSON changed in a round trip:\n got %s\nwant %s", again, b)
			}
		})
	}
}
