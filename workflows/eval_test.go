package workflows

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/pipectl/pipectl/planner"
)

// A template giving a number or a bool in an input whose values are text
// (here dli.sql's conf, a mapping of strings) gives its text, as a literal
// number there does after planning; an activity decoding the input into
// strings would otherwise reject the run.
func TestTemplatesGiveTextToTextInputs(t *testing.T) {
	f := newFakeService()
	s := step("load")
	s.With = json.RawMessage(`{"sql":"select ${params.n}","conf":{"spark.sql.shuffle.partitions":"${params.n}","spark.sql.adaptive.enabled":"${params.on}","literal":"64"}}`)
	s.Templates = map[string]planner.SrcPos{"sql": {}, "conf": {}}
	plan := planOf(s)
	plan.Params = map[string]any{"n": int64(200), "on": true}
	if _, err := runPlan(t, f, plan); err != nil {
		t.Fatalf("run failed: %v", err)
	}
	want := map[string]any{"spark.sql.shuffle.partitions": "200", "spark.sql.adaptive.enabled": "true", "literal": "64"}
	if got := f.withOf("load")["conf"]; !reflect.DeepEqual(got, want) {
		t.Errorf("conf = %#v, want %#v", got, want)
	}
	if got := f.withOf("load")["sql"]; got != "select 200" {
		t.Errorf("sql = %#v", got)
	}
}
