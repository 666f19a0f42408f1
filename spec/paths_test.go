package spec

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestPathAt(t *testing.T) {
	src := "name: p\nsteps:\n  - kind: dli.sql\n    with: {sql: x}\n  - {id: b, kind: wait}\n"
	p, _ := Load("p.yaml", []byte(src))
	if p == nil {
		t.Fatal("no pipeline")
	}
	for _, tc := range []struct {
		line, col     int
		path, mapping string
	}{
		{1, 1, "name", ""},                  // the pipeline's mapping starts at its first key
		{3, 5, "steps[0].kind", "steps[0]"}, // a block mapping and its first key
		{4, 18, "steps[0].with.sql", "steps[0].with.sql"},
		{5, 5, "steps[1]", "steps[1]"}, // a flow mapping starts at its brace
		{5, 9, "steps[1].id", "steps[1].id"},
	} {
		pos := hcl.Pos{Line: tc.line, Column: tc.col}
		if got := p.PathAt(pos); got != tc.path {
			t.Errorf("PathAt(%d:%d) = %q, want %q", tc.line, tc.col, got, tc.path)
		}
		if got := p.MappingPathAt(pos); got != tc.mapping {
			t.Errorf("MappingPathAt(%d:%d) = %q, want %q", tc.line, tc.col, got, tc.mapping)
		}
	}
	// A missing field is reported on its mapping, marked so.
	_, diags := Load("q.yaml", []byte("steps:\n  - kind: dli.sql\n"))
	n := 0
	for _, d := range diags {
		if d.Summary == "Missing field" {
			n++
			if _, ok := d.Extra.(OnMapping); !ok {
				t.Errorf("%s: not marked OnMapping", d.Detail)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d missing-field diagnostics, want 2 (name, id): %v", n, diags)
	}
}
