package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/pipectl/pipectl/spec"
)

func TestWriteSnippet(t *testing.T) {
	long := "  - {with: {sql: \"" + strings.Repeat("x", 50_000) + "\"}, timeout: soon, if: \"" + strings.Repeat("y", 50_000) + "\"}"
	col := strings.Index(long, "soon") + 1
	tests := []struct {
		name     string
		src      string
		line     int
		from, to int // columns
		want     string
	}{
		{
			name: "a short line is shown whole",
			src:  "name: p\n  kind: dli.sq\n",
			line: 2, from: 9, to: 15,
			want: "  2 |   kind: dli.sq\n    |         ^^^^^^\n",
		},
		{
			name: "a long line is cut around the problem",
			src:  "name: p\n" + long + "\n",
			line: 2, from: col, to: col + 4,
			want: "  2 | …" + long[col-1-80:col-1+80] + "…\n    |  " + strings.Repeat(" ", 80) + "^^^^\n",
		},
		{
			name: "at the start of a long line",
			src:  strings.Repeat("y", 500),
			line: 1, from: 1, to: 501,
			want: "  1 | " + strings.Repeat("y", 160) + "…\n    | " + strings.Repeat("^", 160) + "\n",
		},
		{
			name: "control characters and a CR are not sent to the terminal",
			src:  "a: \"\x00\x1b[2J\"\r\n",
			line: 1, from: 5, to: 6,
			want: "  1 | a: \"\uFFFD\uFFFD[2J\"\n    |     ^\n",
		},
		{
			name: "a byte order mark is not a column",
			src:  "\ufeffname: Bad\n",
			line: 1, from: 7, to: 10,
			want: "  1 | name: Bad\n    |       ^^^\n",
		},
		{
			name: "lines end where YAML ends them",
			src:  "a: 1\rb: 2\u2028c: x\r\n",
			line: 3, from: 4, to: 5,
			want: "  3 | c: x\n    |    ^\n",
		},
		{
			name: "tabs keep the underline aligned",
			src:  "- {id: a,\tkind: x}",
			line: 1, from: 11, to: 15,
			want: "  1 | - {id: a,\tkind: x}\n    |          \t^^^^\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeSnippet(&b, spec.Lines([]byte(tt.src)), &hcl.Range{
				Start: hcl.Pos{Line: tt.line, Column: tt.from},
				End:   hcl.Pos{Line: tt.line, Column: tt.to},
			})
			if b.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tt.want)
			}
		})
	}
}
