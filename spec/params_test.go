package spec

import (
	"strings"
	"testing"
)

func TestExcerpt(t *testing.T) {
	for in, want := range map[string]string{
		"yes":                      `"yes"`,
		"two\nlines":               `"two"…`,
		strings.Repeat("a", 80):    `"` + strings.Repeat("a", 80) + `"`,
		strings.Repeat("é", 81):    `"` + strings.Repeat("é", 80) + `"…`,
		"tab\there":                `"tab\there"`,
		"":                         `""`,
		"root:x:0:0:root:/root:/b": `"root:x:0:0:root:/root:/b"`,
	} {
		if got := Excerpt(in); got != want {
			t.Errorf("Excerpt(%q) = %s, want %s", in, got, want)
		}
	}
}

// A file that is not a spec is quoted in one line, cut.
func TestLoadNotASpec(t *testing.T) {
	src := []byte("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\n")
	_, diags := Load("passwd", src)
	checkDiags(t, "passwd", src, diags, []wantDiag{{"1:1-1:117", "Invalid pipeline",
		`Expected a mapping (key: value lines), found the string "root:x:0:0:root:/root:/bin/bash daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin "….`}})
}

func TestConditionYes(t *testing.T) {
	src := []byte("name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    if: yes\n    with: {sql: x}\n")
	_, diags := Load("test.yaml", src)
	checkDiags(t, "test.yaml", src, diags, []wantDiag{{"5:9-5:12", "Invalid condition",
		"`if` is true, false or a template such as \"${params.full_load}\"; found the string \"yes\". YAML 1.2 reads yes as a string, not a bool: write true or false."}})
}
