package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/internal/badspecs"
)

var update = flag.Bool("update", false, "rewrite golden files from what the code prints now")

// badSpecsGolden holds, for every committed malformed spec, everything
// `pipectl validate` prints for it: each problem's position, YAML path,
// summary, source excerpt and detail.
var badSpecsGolden = filepath.Join("testdata", "validate-bad.golden")

// TestValidateMessagesAreExact compares validate's whole report on every
// committed malformed spec with the reviewed golden file, so that a
// changed message, position or path is a visible diff, not only a missed
// substring. After an intended change: go test ./internal/cli -run
// TestValidateMessagesAreExact -update, and review the diff.
func TestValidateMessagesAreExact(t *testing.T) {
	cases, err := badspecs.Committed(badSpecsDir)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.Name] {
			continue // a file with several expected errors has several rows
		}
		seen[c.Name] = true
		_, _, errOut := run(t, "validate", c.Path)
		// The corpus's directory is where the test runs from; the file
		// name alone keeps the golden file independent of it.
		errOut = strings.ReplaceAll(errOut, c.Path, c.Name)
		got.WriteString("=== " + c.Name + "\n" + errOut)
		if !strings.HasSuffix(errOut, "\n") {
			got.WriteString("\n")
		}
	}
	if *update {
		if err := os.WriteFile(badSpecsGolden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(badSpecsGolden)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if bytes.Equal(got.Bytes(), want) {
		return
	}
	gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
	section := ""
	for i := 0; i < max(len(gl), len(wl)); i++ {
		g, w := at(gl, i), at(wl, i)
		if strings.HasPrefix(w, "=== ") {
			section = w
		}
		if g != w {
			t.Fatalf("validate's report differs from %s at line %d (%s):\n got: %q\nwant: %q\n(run with -update after an intended change, and review the diff)", badSpecsGolden, i+1, section, g, w)
		}
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<end>"
}
