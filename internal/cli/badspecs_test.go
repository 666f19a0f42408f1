package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/internal/badspecs"
)

// badSpecsDir is the committed corpus of malformed specs.
var badSpecsDir = filepath.Join("..", "..", "spec", "testdata", "bad")

// clip shortens output for a failure message.
func clip(s string) string {
	if len(s) > 4000 {
		return s[:4000] + "\n[...]"
	}
	return s
}

// TestValidateRejectsEveryBadSpec runs `pipectl validate` on every
// malformed spec of the corpus, committed and generated: each exits 1,
// says nothing on stdout, and reports its mistake at its line and column;
// no problem is reported without a position, and nothing panics.
func TestValidateRejectsEveryBadSpec(t *testing.T) {
	cases, err := badspecs.Committed(badSpecsDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 50 {
		t.Fatalf("the corpus has %d specs, want at least 50", len(cases))
	}
	generated, err := badspecs.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range append(cases, generated...) {
		t.Run(c.Name, func(t *testing.T) {
			code, out, errOut := run(t, "validate", c.Path)
			if code != ExitError {
				t.Errorf("exit %d, want %d", code, ExitError)
			}
			if out != "" {
				t.Errorf("stdout: %q, want nothing", clip(out))
			}
			if p := c.Check(errOut); p != "" {
				t.Errorf("%s; stderr:\n%s", p, clip(errOut))
			}
		})
	}
}

// TestApplyAppliesNothingWhenASpecIsInvalid gives apply a valid spec and
// two invalid ones: both are reported, and nothing is applied (Temporal
// is not even dialled), so that `pipectl apply specs/*.yaml` with a bad
// file among them starts no run.
func TestApplyAppliesNothingWhenASpecIsInvalid(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("name: good\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: select 1}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases, err := badspecs.Committed(badSpecsDir)
	if err != nil {
		t.Fatal(err)
	}
	bad := cases[:2]
	code, out, errOut := run(t, "apply", good, bad[0].Path, bad[1].Path, noTemporal)
	if code != ExitError || out != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", code, out)
	}
	for _, c := range bad {
		if p := c.Check(errOut); p != "" {
			t.Errorf("%s: %s", c.Name, p)
		}
	}
	if strings.Contains(errOut, "cannot reach Temporal") {
		t.Errorf("apply dialled Temporal to apply %s before reporting the invalid specs:\n%s", good, errOut)
	}
}
