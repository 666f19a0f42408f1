package spec

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestPathAt(t *testing.T) {
	src := "name: p\nsteps:\n  - kind: dli.sql\n    with: {sql: x}\n  - {id: b, kind: wait}\n" +
		"  - {id: c, kind: dli.sql, with: {conf: {spark.sql.x: [1], X-Api-Key: k, with space: v}}}\n"
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
		// Keys that are not names are quoted, so the path reads one way.
		{6, 42, `steps[2].with.conf["spark.sql.x"]`, `steps[2].with.conf["spark.sql.x"]`},
		{6, 56, `steps[2].with.conf["spark.sql.x"][0]`, `steps[2].with.conf["spark.sql.x"][0]`},
		{6, 60, "steps[2].with.conf.X-Api-Key", "steps[2].with.conf.X-Api-Key"},
		{6, 74, `steps[2].with.conf["with space"]`, `steps[2].with.conf["with space"]`},
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

func TestDiagPath(t *testing.T) {
	src := "name: p\nsteps:\n  - id:\n      a: 1\n    kind: wait\n    depends_on:\n      - x\n    with:\n      duration: 1m\n"
	p, diags := Load("p.yaml", []byte(src))
	var got []string
	for _, d := range diags {
		got = append(got, fmt.Sprintf("%d:%d %s: %s", d.Subject.Start.Line, d.Subject.Start.Column, p.DiagPath(d), d.Summary))
	}
	// The id is a block mapping, which starts where its first key does.
	want := []string{"4:7 steps[0].id: Expected a string"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics %q, want %q", got, want)
	}
	at := func(line, col int, extra any) *hcl.Diagnostic {
		return &hcl.Diagnostic{Subject: &hcl.Range{Start: hcl.Pos{Line: line, Column: col}}, Extra: extra}
	}
	for _, tc := range []struct {
		d    *hcl.Diagnostic
		want string
	}{
		{at(9, 7, nil), "steps[0].with.duration"},
		{at(9, 7, OnMapping{}), "steps[0].with"},
		{at(3, 9, AtPath{Path: "steps[0].retry"}), "steps[0].retry"},
		{at(7, 7, OnMapping{}), "steps[0].depends_on"}, // a block list starts at its first "-"
		{at(7, 9, nil), "steps[0].depends_on[0]"},
		{&hcl.Diagnostic{Extra: AtPath{Path: "x"}}, ""},
	} {
		if got := p.DiagPath(tc.d); got != tc.want {
			t.Errorf("DiagPath(%v, %#v) = %q, want %q", tc.d.Subject, tc.d.Extra, got, tc.want)
		}
	}
}

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{"", []string{""}},
		{"a\nb\n", []string{"a", "b", ""}},
		{"\ufeffa\r\nb", []string{"a", "b"}},
		{"a\rb\u0085c\u2028d\u2029e\r\r\n", []string{"a", "b", "c", "d", "e", "", ""}},
	} {
		var got []string
		for _, l := range Lines([]byte(tc.src)) {
			got = append(got, string(l))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Lines(%q) = %q, want %q", tc.src, got, tc.want)
		}
		x := newLineIndex([]byte(tc.src))
		if x.lines() != len(tc.want) {
			t.Errorf("%q: %d lines, want %d", tc.src, x.lines(), len(tc.want))
		}
	}
	// Offsets and positions agree, a BOM and multi-byte characters
	// included.
	src := []byte("\ufeffé: 😀x\r\n\tb\u2028c")
	x := newLineIndex(src)
	for _, tc := range []struct {
		line, col, off int
	}{
		{1, 1, 3}, {1, 2, 5}, {1, 4, 7}, {1, 5, 11}, {1, 6, 12}, {2, 1, 14}, {2, 2, 15}, {3, 1, 19},
	} {
		off, ok := x.offset(tc.line, tc.col)
		if !ok || off != tc.off {
			t.Errorf("offset(%d, %d) = %d, %v; want %d", tc.line, tc.col, off, ok, tc.off)
		}
		if pos := x.pos(tc.off); pos.Line != tc.line || pos.Column != tc.col || pos.Byte != tc.off {
			t.Errorf("pos(%d) = %d:%d@%d, want %d:%d", tc.off, pos.Line, pos.Column, pos.Byte, tc.line, tc.col)
		}
	}
	if _, ok := x.offset(4, 1); ok {
		t.Error("offset of line 4 of 3")
	}
}
