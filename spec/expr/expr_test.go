package expr

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var start = hcl.Pos{Line: 7, Column: 12, Byte: 100}

func scope() Scope {
	return Scope{
		Params: map[string]cty.Value{"region": cty.StringVal("eu"), "days": cty.NumberIntVal(3), "full": cty.True},
		Steps:  map[string]map[string]any{"load": {"rows": "42", "table": "sales.orders"}, "each": {"rows": []any{"1", "2"}}},
		Run: Run{ID: "r1", Pipeline: "p", Attempt: 2,
			LogicalTime: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), StartedTime: time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)},
		Env: map[string]string{"TEAM": "bi"},
	}
}

func TestEvalString(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"plain", "plain"},
		{"${params.region}", "eu"},
		{"dt=${formatdate(\"YYYY-MM-DD\", run.logical_time)}", "dt=2026-03-01"},
		{"${upper(params.region)}-${run.attempt}", "EU-2"},
		{"rows: ${steps.load.outputs.rows}", "rows: 42"},
		{"${join(\",\", split(\".\", steps.load.outputs.table))}", "sales,orders"},
		{"${params.days * 2}", "6"},
		{"${env.TEAM}", "bi"},
		{"$${not.a.ref}", "${not.a.ref}"},
		{"jdbc://h/db?password=${secret.db_pw}", "jdbc://h/db?password=${secret.db_pw}"},
		{"${timeadd(run.logical_time, \"24h\")}", "2026-03-02T00:00:00Z"},
		{"${join(\"+\", steps.each.outputs.rows)}", "1+2"},
	} {
		got, diags := EvalString(tc.src, "s.yaml", start, scope())
		if diags.HasErrors() {
			t.Errorf("%s: %v", tc.src, diags)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestEvalErrorsPointIntoTheFile(t *testing.T) {
	_, diags := EvalString("x ${params.nope}", "s.yaml", start, scope())
	if !diags.HasErrors() {
		t.Fatal("no error for an unknown param")
	}
	r := diags[0].Subject
	if r == nil || r.Filename != "s.yaml" || r.Start.Line != 7 || r.Start.Column != 22 {
		t.Errorf("error range = %v, want s.yaml:7:22 (the unknown attribute)", r)
	}
}

func TestEvalBool(t *testing.T) {
	for src, want := range map[string]bool{
		"${params.full}":                              true,
		"${steps.load.outputs.rows > 10}":             true,
		"${params.region == \"us\"}":                  false,
		"${contains([\"eu\",\"us\"], params.region)}": true,
	} {
		got, diags := EvalBool(src, "s.yaml", start, scope())
		if diags.HasErrors() || got != want {
			t.Errorf("%s = %v (%v), want %v", src, got, diags, want)
		}
	}
	if _, diags := EvalBool("${params.region}", "s.yaml", start, scope()); !diags.HasErrors() || diags[len(diags)-1].Summary != "Condition is not a bool" {
		t.Errorf("a string condition gave %v", diags)
	}
}

func TestRefs(t *testing.T) {
	e, diags := Parse(`${steps.load.outputs.rows} ${params.x[0]} ${item.name} ${secret.pw}`, "s.yaml", start)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var got []string
	for _, r := range Refs(e) {
		got = append(got, r.String())
	}
	want := []string{"steps.load.outputs.rows", "params.x", "item.name", "secret.pw"}
	if !slices.Equal(got, want) {
		t.Errorf("refs = %v, want %v", got, want)
	}
}

func TestSecrets(t *testing.T) {
	s := "u=${secret.user}&p=${secret.pw}"
	if got := SecretNames(s); !slices.Equal(got, []string{"user", "pw"}) {
		t.Errorf("names = %v", got)
	}
	out, err := ResolveSecrets(s, func(n string) (string, error) { return "<" + n + ">", nil })
	if err != nil || out != "u=<user>&p=<pw>" {
		t.Errorf("resolved = %q, %v", out, err)
	}
}

func TestHasTemplate(t *testing.T) {
	for s, want := range map[string]bool{"a": false, "${x}": true, "%{ if x }y%{ endif }": true, "$${x}": false, "cost $5": false} {
		if HasTemplate(s) != want {
			t.Errorf("HasTemplate(%q) = %v", s, !want)
		}
	}
}
