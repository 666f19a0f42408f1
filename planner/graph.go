package planner

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pipectl/pipectl/spec"
)

// Waves groups the plan's steps by depth: a step's wave is one more than
// the highest wave of the steps it depends on, and steps that depend on
// nothing are in wave 0. The steps of one wave do not depend on each other,
// so they can run in parallel once the waves before them are done. Each
// wave lists its steps in plan order.
func (p *Plan) Waves() [][]string {
	var out [][]string
	for i, w := range p.waves() {
		for len(out) <= w {
			out = append(out, nil)
		}
		out[w] = append(out[w], p.Steps[i].ID)
	}
	return out
}

// waves returns the wave of each step, by position in p.Steps, from the
// steps' dependency graph (dependencyGraph): a vertex per id, that of its
// first step should a hand-made plan repeat one, which the repeat shares.
// It does not rely on the plan being in topological order, ignores
// dependencies on steps the plan does not have, and, should a hand-made
// plan have a cycle, ignores the edge that closes it.
func (p *Plan) waves() []int {
	pos := p.positions()
	ids := make([]string, 0, len(pos))
	for i, s := range p.Steps {
		if pos[s.ID] == i {
			ids = append(ids, s.ID)
		}
	}
	g := dependencyGraph(ids, func(id string) []string { return p.Steps[pos[id]].DependsOn })
	preds, err := g.PredecessorMap()
	if err != nil {
		return make([]int, len(p.Steps))
	}
	wave := make([]int, len(p.Steps))
	const (
		unseen = iota
		visiting
		done
	)
	state := make([]uint8, len(p.Steps))
	var visit func(i int) int
	visit = func(i int) int {
		switch state[i] {
		case done:
			return wave[i]
		case visiting:
			return -1
		}
		state[i] = visiting
		w := 0
		// In depends_on order rather than the map's, so that which edge
		// closes a cycle does not vary.
		for _, d := range p.Steps[i].DependsOn {
			if _, ok := preds[p.Steps[i].ID][d]; ok {
				w = max(w, visit(pos[d])+1)
			}
		}
		wave[i], state[i] = w, done
		return w
	}
	for i, s := range p.Steps {
		if j := pos[s.ID]; j != i {
			wave[i] = visit(j)
			continue
		}
		visit(i)
	}
	return wave
}

// positions maps step ids to their position in p.Steps (the first, should a
// hand-made plan repeat an id).
func (p *Plan) positions() map[string]int {
	pos := make(map[string]int, len(p.Steps))
	for i, s := range p.Steps {
		if _, dup := pos[s.ID]; !dup {
			pos[s.ID] = i
		}
	}
	return pos
}

// edges returns, for each step by position, the positions of the steps it
// depends on, in plan order and without repeats or unknown ids.
func (p *Plan) edges() [][]int {
	pos := p.positions()
	out := make([][]int, len(p.Steps))
	for i, s := range p.Steps {
		var deps []int
		for _, d := range s.DependsOn {
			if j, ok := pos[d]; ok && j != i {
				deps = append(deps, j)
			}
		}
		sort.Ints(deps)
		deps = compactInts(deps)
		out[i] = deps
	}
	return out
}

func compactInts(s []int) []int {
	if len(s) < 2 {
		return s
	}
	out := s[:1]
	for _, x := range s[1:] {
		if x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}

// graphLabel returns a node's label lines: the step's id, its kind (for a
// pipeline step, the sub-pipeline's name and step count) and, when there
// are any, its marks: "if" for a conditional step, "for_each" for a
// fanned-out one and the run_on value of a step that does not run only on
// success.
func graphLabel(s Step) []string {
	lines := []string{s.ID, s.Kind}
	if sub := s.Pipeline; sub != nil && sub.Plan != nil {
		lines[1] = fmt.Sprintf("pipeline %s (%d steps)", sub.Plan.Pipeline, len(sub.Plan.Steps))
	}
	var marks []string
	if s.If != nil {
		marks = append(marks, "if")
	}
	if s.ForEach != nil {
		marks = append(marks, "for_each")
	}
	if runsOnOutcome(s) {
		marks = append(marks, "run_on: "+s.RunOn)
	}
	if len(marks) > 0 {
		lines = append(lines, strings.Join(marks, ", "))
	}
	return lines
}

// runsOnOutcome reports whether a step runs on its dependencies' failure
// (or always) rather than only on their success.
func runsOnOutcome(s Step) bool { return s.RunOn == spec.RunOnFailure || s.RunOn == spec.RunOnAlways }

// DOT renders the plan's DAG in Graphviz's DOT language: one box per step,
// labelled with its id and kind, and an edge from each dependency to its
// dependent. Conditional steps are hexagons, for_each steps have a double
// border, and steps that run on failure or always are dashed, as are the
// edges into them. Steps and edges come in plan order.
func (p *Plan) DOT() string {
	var b strings.Builder
	b.WriteString("digraph " + dotQuote(p.Pipeline) + " {\n")
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [shape=box];\n")
	for _, s := range p.Steps {
		attrs := []string{"label=" + dotQuote(strings.Join(graphLabel(s), "\n"))}
		if s.If != nil {
			attrs = append(attrs, "shape=hexagon")
		}
		if s.ForEach != nil {
			attrs = append(attrs, "peripheries=2")
		}
		if runsOnOutcome(s) {
			attrs = append(attrs, "style=dashed")
		}
		b.WriteString("  " + dotQuote(s.ID) + " [" + strings.Join(attrs, ", ") + "];\n")
	}
	for i, deps := range p.edges() {
		s := p.Steps[i]
		for _, j := range deps {
			b.WriteString("  " + dotQuote(p.Steps[j].ID) + " -> " + dotQuote(s.ID))
			if runsOnOutcome(s) {
				b.WriteString(" [style=dashed]")
			}
			b.WriteString(";\n")
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// dotQuote writes s as a DOT quoted string. Backslashes are doubled so that
// none starts one of DOT's label escapes; newlines become \n, which DOT
// shows as a line break.
func dotQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Mermaid renders the plan's DAG as a Mermaid flowchart, with the same
// marks as DOT: conditional steps are hexagons, for_each steps are drawn
// with double sides, and steps that run on failure or always are dashed,
// their incoming edges dotted. Nodes are named s0, s1, … by plan position,
// so that no step id can clash with Mermaid's syntax or keywords (such as
// "end"); the ids are in the labels.
func (p *Plan) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	var outcome []string
	for i, s := range p.Steps {
		lines := graphLabel(s)
		for k, l := range lines {
			lines[k] = mermaidEscaper.Replace(l)
		}
		label := `"` + strings.Join(lines, "<br/>") + `"`
		left, right := "[", "]"
		switch {
		case s.If != nil:
			left, right = "{{", "}}"
		case s.ForEach != nil:
			left, right = "[[", "]]"
		}
		b.WriteString("  " + mermaidID(i) + left + label + right + "\n")
		if runsOnOutcome(s) {
			outcome = append(outcome, mermaidID(i))
		}
	}
	for i, deps := range p.edges() {
		arrow := " --> "
		if runsOnOutcome(p.Steps[i]) {
			arrow = " -.-> "
		}
		for _, j := range deps {
			b.WriteString("  " + mermaidID(j) + arrow + mermaidID(i) + "\n")
		}
	}
	if len(outcome) > 0 {
		b.WriteString("  classDef runOn stroke-dasharray: 5 5\n")
		b.WriteString("  class " + strings.Join(outcome, ",") + " runOn\n")
	}
	return b.String()
}

func mermaidID(i int) string { return "s" + strconv.Itoa(i) }

// mermaidEscaper makes text safe inside a quoted Mermaid label: quotes,
// markup, backticks (which start a Markdown label) and the entity character
// itself become entity codes, and line breaks become spaces.
var mermaidEscaper = strings.NewReplacer(
	"#", "#35;",
	`"`, "#quot;",
	"<", "#lt;",
	">", "#gt;",
	"`", "#96;",
	"\r\n", " ",
	"\n", " ",
	"\r", " ",
)
