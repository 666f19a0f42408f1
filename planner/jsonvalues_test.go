package planner

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestPlanJSONNumbers checks that numbers in parameter values and for_each
// items come back from the plan's JSON as they went in: whole numbers as
// int64, even past 2^53, where a float64 would round them.
func TestPlanJSONNumbers(t *testing.T) {
	plan, diags := CompileWith(load(t, `name: p
params:
  n: 100
  big: 1234567890123456789
  half: 1.5
  whole: 2.0
  huge: 1.0e20
  neg: -7
  list: [1, 2.5, 9007199254740993, [3], {k: 4}]
  map: {a: 1, b: {c: 0.25}}
  over: 1
steps:
  - id: a
    kind: dli.sql
    for_each: [1, 9007199254740993, 0.5, 3.0, {n: 2}]
    with: {sql: "${item} ${params.big}"}
`), Options{Params: map[string]string{"over": "2.0"}})
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", formatDiags(diagList(diags)))
	}
	wantParams := map[string]any{
		"n":     int64(100),
		"big":   int64(1234567890123456789),
		"half":  1.5,
		"whole": int64(2),
		"huge":  1e20,
		"neg":   int64(-7),
		"list":  []any{int64(1), 2.5, int64(9007199254740993), []any{int64(3)}, map[string]any{"k": int64(4)}},
		"map":   map[string]any{"a": int64(1), "b": map[string]any{"c": 0.25}},
		"over":  int64(2),
	}
	if !reflect.DeepEqual(plan.Params, wantParams) {
		t.Errorf("params\n got %#v\nwant %#v", plan.Params, wantParams)
	}
	wantItems := []any{int64(1), int64(9007199254740993), 0.5, int64(3), map[string]any{"n": int64(2)}}
	if !reflect.DeepEqual(plan.Steps[0].ForEach.Items, wantItems) {
		t.Errorf("for_each items\n got %#v\nwant %#v", plan.Steps[0].ForEach.Items, wantItems)
	}

	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"big":1234567890123456789`, `"huge":100000000000000000000`, `"items":[1,9007199254740993,0.5,3,{"n":2}]`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("plan JSON lacks %s:\n%s", s, b)
		}
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, plan) {
		t.Errorf("plan changed in a JSON round trip:\n got %+v\nwant %+v", back, *plan)
	}

	// A number JSON can hold but a float64 cannot is an error, as it is
	// for json.Unmarshal into an any.
	for _, tt := range []struct{ doc, err string }{
		{`{"params":{"x":1e400}}`, `plan parameter "x": json: cannot unmarshal number 1e400 into Go value of type float64`},
		{`{"steps":[{"id":"a","for_each":{"items":[[-1e999]]}}]}`, `plan step "a": for_each: json: cannot unmarshal number -1e999 into Go value of type float64`},
		{`{"steps":"x"}`, `json: cannot unmarshal string into Go struct field Plan.steps of type []planner.Step`},
	} {
		var p Plan
		err := json.Unmarshal([]byte(tt.doc), &p)
		if err == nil || err.Error() != tt.err {
			t.Errorf("Unmarshal(%s) error %v, want %q", tt.doc, err, tt.err)
		}
	}

	// Unmarshal fills in a plan as json.Unmarshal fills in a struct:
	// fields the JSON does not have are left as they were.
	p := Plan{Pipeline: "kept", Params: map[string]any{"a": int64(1)}}
	if err := json.Unmarshal([]byte(`{"params":{"b":2},"version":1}`), &p); err != nil {
		t.Fatal(err)
	}
	if want := (Plan{Version: 1, Pipeline: "kept", Params: map[string]any{"a": int64(1), "b": int64(2)}}); !reflect.DeepEqual(p, want) {
		t.Errorf("Unmarshal into a plan gave %+v, want %+v", p, want)
	}
	if err := json.Unmarshal([]byte(`null`), &p); err != nil || p.Pipeline != "kept" {
		t.Errorf("Unmarshal(null) = %v, plan %+v", err, p)
	}
}
