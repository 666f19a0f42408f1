package planner

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedSchemaIsCurrent keeps schema/pipeline.schema.json, which the
// examples point editors at, equal to what the registry generates.
// Regenerate it with: go run ./cmd/pipectl schema > schema/pipeline.schema.json
func TestCommittedSchemaIsCurrent(t *testing.T) {
	want, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "schema", "pipeline.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Error("schema/pipeline.schema.json is out of date; regenerate it with: go run ./cmd/pipectl schema > schema/pipeline.schema.json")
	}
	examples, _ := filepath.Glob(filepath.Join("..", "examples", "pipelines", "*.yaml"))
	for _, f := range examples {
		b, _ := os.ReadFile(f)
		if !strings.HasPrefix(string(b), "# yaml-language-server: $schema=../../schema/pipeline.schema.json\n") {
			t.Errorf("%s does not point editors at the schema on its first line", f)
		}
	}
}
