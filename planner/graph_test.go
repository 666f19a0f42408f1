package planner

import (
	"reflect"
	"testing"
)

func TestGraph(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		waves   [][]string
		dot     string
		mermaid string
	}{
		{
			name: "diamond",
			src: `name: diamond
steps:
  - {id: a, kind: dli.sql, with: {sql: x}}
  - {id: b, kind: dli.sql, depends_on: a, with: {sql: x}}
  - {id: c, kind: dli.sql, depends_on: a, with: {sql: x}}
  - {id: d, kind: dli.sql, depends_on: [c, b], with: {sql: x}}
`,
			waves: [][]string{{"a"}, {"b", "c"}, {"d"}},
			dot: `digraph "diamond" {
  rankdir=LR;
  node [shape=box];
  "a" [label="a\ndli.sql"];
  "b" [label="b\ndli.sql"];
  "c" [label="c\ndli.sql"];
  "d" [label="d\ndli.sql"];
  "a" -> "b";
  "a" -> "c";
  "b" -> "d";
  "c" -> "d";
}
`,
			mermaid: `flowchart LR
  s0["a<br/>dli.sql"]
  s1["b<br/>dli.sql"]
  s2["c<br/>dli.sql"]
  s3["d<br/>dli.sql"]
  s0 --> s1
  s0 --> s2
  s1 --> s3
  s2 --> s3
`,
		},
		{
			// Written last step first; "end" is a Mermaid keyword, which
			// is why nodes are named by position.
			name: "chain",
			src: `name: chain
steps:
  - {id: end, kind: wait, depends_on: transform, with: {duration: 1m}}
  - {id: transform, kind: dli.sql, depends_on: load, with: {sql: x}}
  - {id: load, kind: dli.sql, with: {sql: x}}
`,
			waves: [][]string{{"load"}, {"transform"}, {"end"}},
			dot: `digraph "chain" {
  rankdir=LR;
  node [shape=box];
  "load" [label="load\ndli.sql"];
  "transform" [label="transform\ndli.sql"];
  "end" [label="end\nwait"];
  "load" -> "transform";
  "transform" -> "end";
}
`,
			mermaid: `flowchart LR
  s0["load<br/>dli.sql"]
  s1["transform<br/>dli.sql"]
  s2["end<br/>wait"]
  s0 --> s1
  s1 --> s2
`,
		},
		{
			name: "run_on, if and for_each",
			src: `name: marks
params: {tables: [a, b], full: false}
steps:
  - id: rebuild
    kind: dli.sql
    for_each: ${params.tables}
    with: {sql: "SELECT * FROM ${item}"}
  - id: full_refresh
    kind: dli.sql
    depends_on: rebuild
    if: ${params.full}
    with: {sql: x}
  - id: both
    kind: dli.sql
    depends_on: rebuild
    if: false
    for_each: [1, 2]
    with: {sql: x}
  - id: notify
    kind: wait
    run_on: failure
    depends_on: [full_refresh, rebuild]
    with: {duration: 1s}
  - id: cleanup
    kind: dli.sql
    run_on: always
    if: true
    with: {sql: x}
`,
			// cleanup, without depends_on, runs after every ordinary step.
			waves: [][]string{{"rebuild"}, {"full_refresh", "both"}, {"notify", "cleanup"}},
			dot: `digraph "marks" {
  rankdir=LR;
  node [shape=box];
  "rebuild" [label="rebuild\ndli.sql\nfor_each", peripheries=2];
  "full_refresh" [label="full_refresh\ndli.sql\nif", shape=hexagon];
  "both" [label="both\ndli.sql\nif, for_each", shape=hexagon, peripheries=2];
  "notify" [label="notify\nwait\nrun_on: failure", style=dashed];
  "cleanup" [label="cleanup\ndli.sql\nrun_on: always", style=dashed];
  "rebuild" -> "full_refresh";
  "rebuild" -> "both";
  "rebuild" -> "notify" [style=dashed];
  "full_refresh" -> "notify" [style=dashed];
  "rebuild" -> "cleanup" [style=dashed];
  "full_refresh" -> "cleanup" [style=dashed];
  "both" -> "cleanup" [style=dashed];
}
`,
			mermaid: `flowchart LR
  s0[["rebuild<br/>dli.sql<br/>for_each"]]
  s1{{"full_refresh<br/>dli.sql<br/>if"}}
  s2{{"both<br/>dli.sql<br/>if, for_each"}}
  s3["notify<br/>wait<br/>run_on: failure"]
  s4["cleanup<br/>dli.sql<br/>run_on: always"]
  s0 --> s1
  s0 --> s2
  s0 -.-> s3
  s1 -.-> s3
  s0 -.-> s4
  s1 -.-> s4
  s2 -.-> s4
  classDef runOn stroke-dasharray: 5 5
  class s3,s4 runOn
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := compile(t, tt.src)
			if got := plan.Waves(); !reflect.DeepEqual(got, tt.waves) {
				t.Errorf("Waves() = %v, want %v", got, tt.waves)
			}
			if got := plan.DOT(); got != tt.dot {
				t.Errorf("DOT():\n%s\nwant:\n%s", got, tt.dot)
			}
			if got := plan.Mermaid(); got != tt.mermaid {
				t.Errorf("Mermaid():\n%s\nwant:\n%s", got, tt.mermaid)
			}
		})
	}
}

// TestGraphHandMade renders plans that Compile would not make: odd
// characters in names, unknown and repeated dependencies, steps before
// their dependencies and a cycle.
func TestGraphHandMade(t *testing.T) {
	plan := &Plan{
		Pipeline: "we\"ird\\name",
		Steps: []Step{
			{ID: "c<d>#", Kind: "k", RunOn: "success", DependsOn: []string{`a"b`, "missing", `a"b`}},
			{ID: `a"b`, Kind: "k\\x\ny", RunOn: "success"},
			{ID: "`e`", Kind: "k", RunOn: "always", DependsOn: []string{"c<d>#"}},
		},
	}
	if got, want := plan.Waves(), [][]string{{`a"b`}, {"c<d>#"}, {"`e`"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Waves() = %q, want %q", got, want)
	}
	wantDOT := `digraph "we\"ird\\name" {
  rankdir=LR;
  node [shape=box];
  "c<d>#" [label="c<d>#\nk"];
  "a\"b" [label="a\"b\nk\\x\ny"];
  "` + "`e`" + `" [label="` + "`e`" + `\nk\nrun_on: always", style=dashed];
  "a\"b" -> "c<d>#";
  "c<d>#" -> "` + "`e`" + `" [style=dashed];
}
`
	if got := plan.DOT(); got != wantDOT {
		t.Errorf("DOT():\n%s\nwant:\n%s", got, wantDOT)
	}
	wantMermaid := `flowchart LR
  s0["c#lt;d#gt;#35;<br/>k"]
  s1["a#quot;b<br/>k\x y"]
  s2["#96;e#96;<br/>k<br/>run_on: always"]
  s1 --> s0
  s0 -.-> s2
  classDef runOn stroke-dasharray: 5 5
  class s2 runOn
`
	if got := plan.Mermaid(); got != wantMermaid {
		t.Errorf("Mermaid():\n%s\nwant:\n%s", got, wantMermaid)
	}

	cycle := &Plan{Steps: []Step{
		{ID: "a", DependsOn: []string{"b"}},
		{ID: "b", DependsOn: []string{"a"}},
		{ID: "c", DependsOn: []string{"c"}},
	}}
	// The edge that closes the cycle (b -> a, reached from a) is ignored;
	// so is a self-dependency.
	if got, want := cycle.Waves(), [][]string{{"b", "c"}, {"a"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Waves() of a cycle = %v, want %v", got, want)
	}
	if got, want := cycle.DOT(), "digraph \"\" {\n  rankdir=LR;\n  node [shape=box];\n"+
		"  \"a\" [label=\"a\\n\"];\n  \"b\" [label=\"b\\n\"];\n  \"c\" [label=\"c\\n\"];\n"+
		"  \"b\" -> \"a\";\n  \"a\" -> \"b\";\n}\n"; got != want {
		t.Errorf("DOT() of a cycle:\n%s\nwant:\n%s", got, want)
	}

	empty := &Plan{Pipeline: "p"}
	if got := empty.Waves(); got != nil {
		t.Errorf("Waves() of no steps = %v, want nil", got)
	}
	if got, want := empty.DOT(), "digraph \"p\" {\n  rankdir=LR;\n  node [shape=box];\n}\n"; got != want {
		t.Errorf("DOT() of no steps = %q, want %q", got, want)
	}
	if got, want := empty.Mermaid(), "flowchart LR\n"; got != want {
		t.Errorf("Mermaid() of no steps = %q, want %q", got, want)
	}
}
