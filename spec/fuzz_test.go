package spec_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

// FuzzLoad loads arbitrary bytes as a spec and compiles the result. The
// seeds are the specs in testdata, the malformed ones in testdata/bad and
// the example pipelines. It checks that nothing panics, that
// Load always returns a pipeline (its doc promises one even with errors),
// that every diagnostic with a subject points at a line of the file, that
// the planner's (those inside templates among them) point at a character
// of the file or just after a line's last, and that a plan compiled
// without errors survives the JSON round trip a workflow's input goes
// through.
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
	// Template errors in strings whose value is not their source text.
	for _, sql := range []string{
		">\n        a\n        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n        ${params.dya}\n",
		"|2-\n         a\n\n        ${params.day +}\n",
		"a\n        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb ${\n",
		`"\"\u00e9\t\\\n   ${upper(params.day, 1)}"` + "\n",
		"'a''\n\n  ${params.dya}'\r\n",
	} {
		f.Add([]byte("name: p\nparams: {day: x}\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: " + sql))
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
		checkInFile(t, src, more)
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

// checkInFile checks that every diagnostic's subject starts in src: on
// one of its lines, at one of that line's characters or just after the
// last. Lines and columns are counted as YAML counts them: lines end at
// LF, CRLF, CR, NEL, LS or PS; columns are characters, a byte order mark
// at the start not being one.
func checkInFile(t *testing.T, src []byte, diags hcl.Diagnostics) {
	t.Helper()
	if !utf8.Valid(src) {
		return // UTF-16, or rejected
	}
	text := strings.TrimPrefix(string(src), "\ufeff")
	for _, br := range []string{"\r\n", "\r", "\u0085", "\u2028", "\u2029"} {
		text = strings.ReplaceAll(text, br, "\n")
	}
	lines := strings.Split(text, "\n")
	for _, d := range diags {
		if d.Subject == nil {
			continue
		}
		pos := d.Subject.Start
		if pos.Line > len(lines) {
			t.Fatalf("Compile: diagnostic %q (%s) at line %d of %d", d.Summary, d.Detail, pos.Line, len(lines))
		}
		if n := utf8.RuneCountInString(lines[pos.Line-1]); pos.Column > n+1 {
			t.Fatalf("Compile: diagnostic %q (%s) at %d:%d, after the end of the line (%d characters)", d.Summary, d.Detail, pos.Line, pos.Column, n)
		}
	}
}
