package planner

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hashParent exercises every part of a plan the hash covers: params,
// defaults, a schedule, templates in with, if and for_each, implied and
// written dependencies, and a sub-pipeline.
const hashParent = `name: sales
description: Loads the day's sales.
params:
  day: "2026-03-01"
  limit: {type: number, default: 100}
cloud: {region: eu-west-101, project_id: p1}
defaults:
  retry: {max_attempts: 3}
  timeout: 2h
schedule:
  cron: "0 2 * * *"
  timezone: Asia/Shanghai
  start: 2026-01-01T00:00:00Z
steps:
  - id: extract
    kind: dli.sql
    with:
      sql: SELECT * FROM raw WHERE dt = '${params.day}' LIMIT ${params.limit}
      queue: etl
  - id: load
    kind: pipeline
    depends_on: [extract]
    with:
      spec: lib/child.yaml
      params: {table: "${steps.extract.outputs.job_id}"}
  - id: publish
    kind: dli.sql
    depends_on: [load, extract]
    if: ${params.limit > 10}
    for_each: [a, b]
    with: {sql: "SELECT '${item}'"}
`

const hashChild = `name: child
params:
  table: {type: string}
  mode: append
steps:
  - id: load
    kind: dli.sql
    with: {sql: "INSERT INTO ${params.table} SELECT 1"}
`

// hashOf writes files into a new directory, changes into it, compiles the
// spec at path (relative to the directory, or absolute when abs) and
// returns its plan's hash.
func hashOf(t *testing.T, files map[string]string, path string, abs bool) string {
	t.Helper()
	dir := writeSpecs(t, files)
	t.Chdir(dir)
	if abs {
		path = filepath.Join(dir, path)
	}
	plan, diags := compileFile(t, path)
	if diags.HasErrors() || plan == nil {
		t.Fatalf("%s does not compile:\n%s", path, formatDiags(diagList(diags)))
	}
	if plan.SpecHash != plan.hash() || len(plan.SpecHash) != 64 {
		t.Fatalf("spec hash %q, want %q", plan.SpecHash, plan.hash())
	}
	return plan.SpecHash
}

// specFiles are the parent spec, under name, and the child beside it.
func specFiles(name, parent, child string) map[string]string {
	return map[string]string{name: parent, "lib/child.yaml": child}
}

func TestSpecHashIgnoresHowTheSpecIsWritten(t *testing.T) {
	base := hashOf(t, specFiles("sales.yaml", hashParent, hashChild), "sales.yaml", false)
	tests := []struct {
		name          string
		file, path    string
		abs           bool
		parent, child string
	}{
		{name: "the same path again", path: "sales.yaml"},
		{name: "path with ./", path: "./sales.yaml"},
		{name: "absolute path", path: "sales.yaml", abs: true},
		{name: "path through another directory", path: "lib/../sales.yaml"},
		{name: "another file name", file: "copy.yaml", path: "copy.yaml"},
		{name: "another directory", file: "deep/er/sales.yaml", path: "deep/er/sales.yaml",
			parent: strings.Replace(hashParent, "spec: lib/child.yaml", "spec: ../../lib/child.yaml", 1)},
		{name: "child named with ./", parent: strings.Replace(hashParent, "spec: lib/child.yaml", "spec: ./lib/child.yaml", 1)},
		{name: "comments and blank lines", parent: "# Sales, daily.\n\n" + strings.Replace(hashParent, "steps:\n", "steps:\n  # first the raw data\n\n", 1) + "\n# end\n"},
		{name: "comment in the child", child: "# the child\n" + hashChild},
		{name: "flow style and other indentation", parent: `name: sales
description: "Loads the day's sales."
params: {day: '2026-03-01', limit: {default: 100, type: number}}
cloud:
    project_id: p1
    region: eu-west-101
defaults: {timeout: 2h, retry: {max_attempts: 3}}
schedule: {start: "2026-01-01T08:00:00+08:00", timezone: Asia/Shanghai, cron: "0  2 * * *"}
steps:
- {id: extract, kind: dli.sql, with: {queue: etl, sql: "SELECT * FROM raw WHERE dt = '${params.day}' LIMIT ${params.limit}"}}
- id: load
  with: {params: {table: '${steps.extract.outputs.job_id}'}, spec: lib/child.yaml}
  kind: pipeline
  depends_on: extract
- with:
    sql: |-
      SELECT '${item}'
  for_each:
  - a
  - "b"
  if: "${params.limit > 10}"
  depends_on: [extract, load]
  kind: dli.sql
  id: publish
`},
		{name: "defaults written on the steps", parent: strings.NewReplacer(
			"defaults:\n  retry: {max_attempts: 3}\n  timeout: 2h\n", "",
			"    kind: dli.sql\n", "    kind: dli.sql\n    retry: {max_attempts: 3}\n    timeout: 120m\n",
			"    kind: pipeline\n", "    kind: pipeline\n    retry: {max_attempts: 3}\n    timeout: 7200s\n",
		).Replace(hashParent)},
		{name: "implied dependency left unwritten", parent: strings.Replace(hashParent, "    depends_on: [extract]\n", "", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := cmp.Or(tt.file, "sales.yaml")
			got := hashOf(t, specFiles(file, cmp.Or(tt.parent, hashParent), cmp.Or(tt.child, hashChild)), cmp.Or(tt.path, file), tt.abs)
			if got != base {
				t.Errorf("hash %s, want %s as for the spec as first written", got, base)
			}
		})
	}
}

func TestSpecHashChangesWithTheMeaning(t *testing.T) {
	base := hashOf(t, specFiles("sales.yaml", hashParent, hashChild), "sales.yaml", false)
	edit := func(old, new string) string {
		if !strings.Contains(hashParent, old) {
			t.Fatalf("%q is not in the spec", old)
		}
		return strings.Replace(hashParent, old, new, 1)
	}
	tests := []struct {
		name          string
		parent, child string
	}{
		{name: "pipeline name", parent: edit("name: sales", "name: sales2")},
		{name: "description", parent: edit("day's sales", "day's orders")},
		{name: "param default", parent: edit(`day: "2026-03-01"`, `day: "2026-03-02"`)},
		{name: "param added", parent: edit(`day: "2026-03-01"`, `day: "2026-03-01"`+"\n  extra: 1")},
		{name: "cloud", parent: edit("project_id: p1", "project_id: p2")},
		{name: "defaults", parent: edit("max_attempts: 3", "max_attempts: 4")},
		{name: "schedule cron", parent: edit(`cron: "0 2 * * *"`, `cron: "0 3 * * *"`)},
		{name: "schedule timezone", parent: edit("Asia/Shanghai", "Europe/Paris")},
		{name: "schedule start", parent: edit("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")},
		{name: "schedule overlap", parent: edit("  timezone:", "  overlap: buffer_one\n  timezone:")},
		{name: "step sql", parent: edit("FROM raw", "FROM raw2")},
		{name: "step input added", parent: edit("      queue: etl\n", "      queue: etl\n      database: d\n")},
		{name: "step id", parent: edit("id: publish", "id: publish2")},
		{name: "template", parent: edit("LIMIT ${params.limit}", "LIMIT ${params.limit + 1}")},
		{name: "condition", parent: edit("${params.limit > 10}", "${params.limit > 11}")},
		{name: "for_each items", parent: edit("for_each: [a, b]", "for_each: [a, c]")},
		{name: "dependency removed", parent: edit("depends_on: [load, extract]", "depends_on: [load]")},
		{name: "run_on", parent: edit("depends_on: [load, extract]\n", "depends_on: [load, extract]\n    run_on: always\n")},
		{name: "step order", parent: edit("  - id: load", "  - id: first\n    kind: wait\n    with: {duration: 1s}\n  - id: load")},
		{name: "child step", child: strings.Replace(hashChild, "SELECT 1", "SELECT 2", 1)},
		{name: "child param default", child: strings.Replace(hashChild, "mode: append", "mode: overwrite", 1)},
		{name: "child name", child: strings.Replace(hashChild, "name: child", "name: child2", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hashOf(t, specFiles("sales.yaml", cmp.Or(tt.parent, hashParent), cmp.Or(tt.child, hashChild)), "sales.yaml", false)
			if got == base {
				t.Errorf("hash %s unchanged", got)
			}
		})
	}
}

// The hash is of the plan's canonical form, which a JSON round trip (a
// workflow's input, a schedule's action) does not change, and which leaves
// the plan itself as it was.
func TestCanonicalPlan(t *testing.T) {
	dir := writeSpecs(t, specFiles("sales.yaml", hashParent, hashChild))
	plan, diags := compileFile(t, filepath.Join(dir, "sales.yaml"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	before, _ := json.Marshal(plan)
	c := plan.Canonical()
	if after, _ := json.Marshal(plan); string(after) != string(before) {
		t.Error("Canonical changed the plan")
	}
	b, _ := json.Marshal(c)
	for _, leak := range []string{dir, "sales.yaml", "child.yaml", `"line"`, `"col"`, `"file"`, `"spec_hash":"` + plan.SpecHash} {
		if strings.Contains(string(b), leak) {
			t.Errorf("canonical plan holds %q:\n%s", leak, b)
		}
	}
	var back Plan
	if err := json.Unmarshal(before, &back); err != nil {
		t.Fatal(err)
	}
	if back.hash() != plan.SpecHash {
		t.Errorf("hash after a JSON round trip %s, want %s", back.hash(), plan.SpecHash)
	}
	// Positions keeps what the hash drops besides file names: moving a
	// template changes them, not the hash.
	pos := plan.Positions()
	if len(pos) == 0 || pos[0].File != "" || pos[0].Line == 0 {
		t.Errorf("positions %v, want lines and columns without files", pos)
	}
	if err := os.WriteFile(filepath.Join(dir, "sales.yaml"), []byte("# moved\n"+hashParent), 0o644); err != nil {
		t.Fatal(err)
	}
	moved, _ := compileFile(t, filepath.Join(dir, "sales.yaml"))
	if moved.SpecHash != plan.SpecHash {
		t.Errorf("a comment changed the hash")
	}
	if got := moved.Positions(); len(got) != len(pos) || got[0].Line != pos[0].Line+1 {
		t.Errorf("positions after a line was added %v, want those of %v a line down", got, pos)
	}
}
