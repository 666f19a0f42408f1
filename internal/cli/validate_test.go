package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidatePositionsAndPaths checks the first line validate prints for
// problems whose position or YAML path needs more than the node they are
// found at: inside templates, missing from a mapping, one field of several.
func TestValidatePositionsAndPaths(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // the first line of the report, after the file name
	}{
		{
			name: "template on the third line of a literal block",
			src:  "name: p\nparams: {day: x}\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: |\n        SELECT *\n        FROM t\n        WHERE d = '${params.dya}'\n",
			want: ":10:22: error: steps[0].with.sql: Unknown reference\n  10 |         WHERE d = '${params.dya}'\n     |                      ^^^^^^^^^^\n",
		},
		{
			name: "template after escapes",
			src:  "name: p\nparams: {day: x}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: \"\\\"a\\\"\\t${params.dya}\"}}\n",
			want: ":4:50: error: steps[0].with.sql: Unknown reference\n",
		},
		{
			name: "missing input in a block with",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      queue: q\n",
			want: ":6:7: error: steps[0].with: Missing input \"sql\"\n",
		},
		{
			name: "missing input of a step without with",
			src:  "name: p\nsteps:\n  - {id: a, kind: wait, with: {duration: 1m}}\n  - {id: b, kind: wait, with: {duration: 1m}}\n  - id: c\n    kind: dli.sql\n",
			want: ":5:9: error: steps[2].with: Missing input \"sql\"\n",
		},
		{
			name: "retry max_interval",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: x}\n    retry:\n      initial_interval: 1m\n      max_interval: 10s\n",
			want: ":8:21: error: steps[0].retry.max_interval: Invalid retry\n",
		},
		{
			name: "a value that should be a string given a block mapping",
			src:  "name: p\nsteps:\n  - id:\n      x: 1\n    kind: wait\n    with: {duration: 1m}\n",
			want: ":4:7: error: steps[0].id: Expected a string\n",
		},
		{
			name: "a byte order mark",
			src:  "\ufeffname: Bad\nsteps:\n  - {id: a, kind: wait, with: {duration: 1m}}\n",
			want: ":1:7: error: name: Invalid pipeline name\n  1 | name: Bad\n    |       ^^^\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.yaml")
			if err := os.WriteFile(path, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := run(t, "validate", path)
			if code != ExitError {
				t.Errorf("exit %d, want %d", code, ExitError)
			}
			if !strings.HasPrefix(errOut, path+tc.want) {
				t.Errorf("got\n%s\nwant it to start with\n%s", errOut, path+tc.want)
			}
		})
	}
}
