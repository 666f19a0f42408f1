package planner

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"gopkg.in/yaml.v3"

	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/spec/expr"
)

// Where a template is written decides what it may read.
type tplPlace int

const (
	inWith tplPlace = iota
	inIf
	inForEach
	// inPlan is description and cloud: evaluated when planning, into
	// the plan, so they see only what is known then.
	inPlan
)

// knownValue checks the value a template that is a whole input of a
// checked text type (a URL, duration, time or one of a list) gives when
// it is known when planning: one reading only parameters and literals.
// The same template then gives the same value when the step runs.
func (c *compiler) knownValue(kind, name string, in Input, val cty.Value, v spec.Value) {
	if in.Type != TypeURL && in.Type != TypeDuration && in.Type != TypeTime && len(in.Enum) == 0 {
		return
	}
	if !val.IsWhollyKnown() || val.IsNull() {
		return
	}
	str, err := convert.Convert(val, cty.String)
	if err != nil {
		return // not text: reported by fits
	}
	if _, err := in.convert(str.AsString()); err != nil {
		c.errorOn(v.Range, onValue(v.Node), fmt.Sprintf("Invalid input %q", name), "%s: %s (what this template gives with the plan's parameters).", kind, err)
	}
}

// templates checks every template of step s, records where they are, and
// adds the dependencies implied by reading other steps' outputs: a step
// that reads steps.load.outputs.rows runs after load, as if it listed it in
// depends_on.
func (c *compiler) templates(s *spec.Step, st *Step, plan *Plan) {
	keys := make([]string, 0, len(s.With))
	for k := range s.With {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return s.With[keys[i]].Range.Start.Byte < s.With[keys[j]].Range.Start.Byte })
	kind, _ := c.kind(s.Kind)
	for _, k := range keys {
		v := s.With[k]
		if v.Node == nil {
			continue
		}
		found := false
		want := shapeAny
		// A pipeline step's params written as one template are refused
		// by givenParams, and not again here.
		if in, ok := kind.input(k); ok && !(kind.Name == "pipeline" && k == "params") {
			want = inputShape(in)
		}
		given := c.givenNodes(st, k, v.Node)
		walkTemplates(v.Node, want, within{}, func(n *yaml.Node, want shape, at within) {
			found = true
			val, ok := c.template(s, st, plan, n, inWith)
			if name, isGiven := given[n]; ok && isGiven {
				c.givenType(st, name, val, n)
				return
			}
			if !ok {
				return
			}
			if fits(val, want) {
				if in, isInput := kind.input(k); isInput && n == v.Node {
					c.knownValue(kind.Name, k, in, val, v)
				}
				return
			}
			r := c.rng(n)
			if n == v.Node {
				r = v.Range
			}
			c.errorf(r, fmt.Sprintf("Invalid input %q", k), "%s: %s; this template gives %s.", kind.Name, want.expected(at), valueName(val))
		})
		if found {
			if st.Templates == nil {
				st.Templates = map[string]SrcPos{}
			}
			st.Templates[k] = srcPos(v.Range)
		}
	}
	if s.If != nil {
		switch x := s.If.Raw.(type) {
		case bool:
			if !x {
				st.If = &Expr{Src: "${false}", SrcPos: srcPos(s.If.Range)}
			}
		case string:
			if !strings.Contains(x, "${") {
				break // not a template: reported by the loader
			}
			// The type decides, not the value: "true" from a parameter
			// would pass where a step's output would not. Unlike a bool
			// input, a condition takes no string.
			if v, ok := c.template(s, st, plan, s.If.Node, inIf); ok && !isCondition(v) {
				detail := fmt.Sprintf("An `if` condition must be a bool; this one gives %s.", valueName(v))
				if v.Type() == cty.String {
					detail += " Compare it to get one, as in ${steps.check.outputs.status == \"OK\"}."
				}
				c.errorf(s.If.Range, "Condition is not a bool", "%s", detail)
			}
			st.If = &Expr{Src: x, SrcPos: srcPos(s.If.Range)}
		}
	}
	if s.ForEach != nil {
		fe := &ForEach{MaxParallel: s.MaxParallel}
		switch x := s.ForEach.Raw.(type) {
		case []any:
			if len(x) == 0 {
				c.errorOn(s.ForEach.Range, onValue(s.ForEach.Node), "Empty for_each", "A literal for_each list needs at least one item.")
			}
			fe.Items = jsonValue(x).([]any)
		case string:
			if !strings.Contains(x, "${") {
				break // not a template: reported by the loader
			}
			if v, ok := c.template(s, st, plan, s.ForEach.Node, inForEach); ok {
				if !fits(v, shapeList) {
					c.errorf(s.ForEach.Range, "for_each is not a list", "`for_each` must give a list; this one gives %s.", valueName(v))
				} else if v.IsKnown() && !v.IsNull() {
					// It reads only what planning knows (parameters,
					// env, literals): the run gets as many elements.
					if n := v.Length(); n.IsKnown() {
						i, _ := n.AsBigFloat().Int64()
						size := int(i)
						fe.Size = &size
						if s.Kind == "pipeline" && size > MaxSubPipelineItems {
							c.errorf(s.ForEach.Range, "Too many sub-pipelines", "A for_each over a pipeline step runs one child workflow per element, at most %d; this template gives %d.", MaxSubPipelineItems, size)
						}
					}
				}
			}
			fe.Expr = &Expr{Src: x, SrcPos: srcPos(s.ForEach.Range)}
		}
		st.ForEach = fe
	}
}

// template checks one templated string and returns its value as far as it
// is known when planning (unknown where it reads step outputs or the run).
func (c *compiler) template(s *spec.Step, st *Step, plan *Plan, n *yaml.Node, where tplPlace) (cty.Value, bool) {
	// The template is parsed from the start of its value, so that the
	// byte offsets of what HCL reports are offsets into the value; the
	// value map turns them into positions in the spec, which quotes,
	// escapes and folded or indented lines keep from being a plain shift.
	m := c.p.ValueMap(n)
	e, diags := expr.Parse(n.Value, c.p.Filename, hcl.InitialPos)
	if diags.HasErrors() {
		c.diags = append(c.diags, m.Diagnostics(diags)...)
		return cty.NilVal, false
	}
	ok := true
	for _, ref := range expr.Refs(e) {
		ref.Range = m.Range(ref.Range)
		ok = c.ref(s, st, ref, where) && ok
	}
	if !ok {
		return cty.NilVal, false
	}
	ctx := c.planningContext(plan, s)
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		c.diags = append(c.diags, m.Diagnostics(diags)...)
		return cty.NilVal, false
	}
	return v, c.interpolations(e, ctx, m)
}

// ref checks one reference and records implied dependencies.
func (c *compiler) ref(s *spec.Step, st *Step, ref expr.Ref, where tplPlace) bool {
	name := func(i int) string {
		if i < len(ref.Path) {
			return ref.Path[i]
		}
		return ""
	}
	if where == inPlan {
		switch ref.Root {
		case expr.RootSteps, expr.RootRun, expr.RootItem:
			c.errorf(ref.Range, "Not known when planning",
				"description and cloud are evaluated when planning, before the run starts: they may read params and the env listed under `env`, not %s.", ref)
			return false
		}
	}
	switch ref.Root {
	case expr.RootParams:
		var names []string
		for _, p := range c.p.Params {
			names = append(names, p.Name)
		}
		if len(ref.Path) == 0 {
			known := "this spec has none"
			if len(names) > 0 {
				known = "this spec's are: " + strings.Join(names, ", ")
			}
			c.wholeRoot(ref, "params.NAME to read a parameter ("+known+")")
			return false
		}
		if !slices.Contains(names, name(0)) {
			c.unknownName(ref, "parameter", name(0), names)
			return false
		}
	case expr.RootSteps:
		id := name(0)
		if len(ref.Path) == 0 {
			c.wholeRoot(ref, "steps.ID.outputs.NAME to read an output of another step")
			return false
		}
		if _, ok := c.index[id]; !ok {
			c.unknownName(ref, "step", id, c.ids)
			return false
		}
		if id == s.ID {
			c.errorf(ref.Range, "Step reads its own outputs", "Step %q cannot read steps.%s.outputs: they exist only once it has run.", s.ID, id)
			return false
		}
		if name(1) != "outputs" {
			c.errorf(ref.Range, "Invalid step reference", "Write steps.%s.outputs.NAME to read an output of step %q.", id, id)
			return false
		}
		src := c.p.Steps[c.index[id]]
		if sub := c.subs[id]; sub != nil {
			if src.ForEach == nil && !c.subRef(ref, id, sub, ref.Path[min(2, len(ref.Path)):]) {
				return false
			}
		} else if kind, ok := c.kind(src.Kind); ok && src.Kind != "pipeline" && name(2) != "" && !slices.Contains(kind.Outputs, name(2)) {
			detail := fmt.Sprintf("%s steps have no output %q", kind.Name, name(2))
			if sug := spec.Suggest(name(2), kind.Outputs); sug != "" {
				detail += fmt.Sprintf("; did you mean %q?", sug)
			} else if len(kind.Outputs) > 0 {
				detail += "; they have: " + strings.Join(kind.Outputs, ", ") + "."
			} else {
				detail += "; they have none."
			}
			c.errorf(ref.Range, "Unknown output", "%s", detail)
			return false
		}
		if !slices.Contains(st.DependsOn, id) {
			st.DependsOn = append(st.DependsOn, id)
		}
		if c.implied == nil {
			c.implied = map[string]map[string]hcl.Range{}
		}
		if c.implied[s.ID] == nil {
			c.implied[s.ID] = map[string]hcl.Range{}
		}
		if _, seen := c.implied[s.ID][id]; !seen {
			c.implied[s.ID][id] = ref.Range
		}
	case expr.RootRun:
		if len(ref.Path) == 0 {
			c.wholeRoot(ref, "run.FIELD, one of: "+strings.Join(expr.RunFields(), ", "))
			return false
		}
		if !slices.Contains(expr.RunFields(), name(0)) {
			c.unknownName(ref, "run field", name(0), expr.RunFields())
			return false
		}
	case expr.RootItem:
		if s.ForEach == nil || where != inWith {
			c.errorf(ref.Range, "item outside for_each", "`item` is the current element of a for_each, readable in the `with` of a step that has one.")
			return false
		}
	case expr.RootEnv:
		var names []string
		for _, e := range c.p.Env {
			names = append(names, e.Name)
		}
		if len(ref.Path) == 0 {
			c.wholeRoot(ref, "env.NAME to read an environment variable listed under `env`")
			return false
		}
		if !slices.Contains(names, name(0)) {
			c.errorf(ref.Range, "Environment variable not listed",
				"env.%s is read but not listed under `env`. Listing it puts its value into the plan, and so into workflow history in clear text; for a credential use secret.%s instead.", name(0), name(0))
			return false
		}
	case expr.RootSecret:
		if len(ref.Path) == 0 {
			c.wholeRoot(ref, "secret.NAME to read a credential")
			return false
		}
		if where != inWith {
			c.errorf(ref.Range, "Secret outside with", "secret.%s can be used only in `with`: secrets are resolved by the worker when it calls the service, never in conditions, for_each, description or cloud.", name(0))
			return false
		}
	default:
		c.unknownName(ref, "name", ref.Root, expr.Roots())
		return false
	}
	return true
}

// wholeRoot reports a root used alone, as in ${steps}: it is no value a
// template can use, only where names are looked up.
func (c *compiler) wholeRoot(ref expr.Ref, write string) {
	c.errorf(ref.Range, "Incomplete reference", "`%s` alone cannot be used in a template: write %s.", ref.Root, write)
}

func (c *compiler) unknownName(ref expr.Ref, what, name string, known []string) {
	detail := fmt.Sprintf("%s refers to an unknown %s %q", ref, what, name)
	if sug := spec.Suggest(name, known); sug != "" {
		detail += fmt.Sprintf("; did you mean %q?", sug)
	} else if len(known) > 0 && len(known) <= 12 {
		detail += "; known: " + strings.Join(known, ", ") + "."
	} else {
		detail += "."
	}
	c.errorf(ref.Range, "Unknown reference", "%s", detail)
}

// planningContext is what templates see when planning: parameters and
// opted-in environment are known; step outputs, the run, items and secrets
// are not yet. All but item are the same for every template of a compile,
// so they are built once: building them per template made compiling
// quadratic in the number of steps.
func (c *compiler) planningContext(plan *Plan, s *spec.Step) *hcl.EvalContext {
	if c.scope == nil {
		c.scope = c.planningScope(plan)
		c.funcs = expr.Functions()
	}
	vars := make(map[string]cty.Value, len(c.scope)+1)
	for k, v := range c.scope {
		vars[k] = v
	}
	if s.ForEach != nil {
		vars[expr.RootItem] = cty.DynamicVal
	}
	return &hcl.EvalContext{Variables: vars, Functions: c.funcs}
}

// planningScope builds the variables of planningContext but item.
func (c *compiler) planningScope(plan *Plan) map[string]cty.Value {
	steps := map[string]cty.Value{}
	for _, other := range c.p.Steps {
		kind, ok := c.kind(other.Kind)
		if !ok || other.ID == "" {
			continue
		}
		var outs cty.Value
		if other.Kind == "pipeline" {
			outs = cty.DynamicVal
			if sub := c.subs[other.ID]; sub != nil && other.ForEach == nil {
				outs = c.subOutputs(sub)
			}
		} else {
			outs = kindOutputs(kind, other.ForEach != nil)
		}
		steps[other.ID] = cty.ObjectVal(map[string]cty.Value{"outputs": outs})
	}
	run := map[string]cty.Value{}
	for _, f := range expr.RunFields() {
		run[f] = cty.UnknownVal(cty.String)
	}
	run["attempt"] = cty.UnknownVal(cty.Number)
	vars := c.paramsAndEnv(plan)
	vars[expr.RootSteps] = objectOrEmpty(steps)
	vars[expr.RootRun] = cty.ObjectVal(run)
	vars[expr.RootSecret] = cty.DynamicVal
	return vars
}

// paramsAndEnv are the variables known before any step runs: what
// description and cloud see.
func (c *compiler) paramsAndEnv(plan *Plan) map[string]cty.Value {
	params := map[string]cty.Value{}
	for k, v := range plan.Params {
		cv, err := expr.FromGo(v)
		if err != nil {
			cv = cty.DynamicVal
		}
		params[k] = cv
	}
	for k, t := range c.runtime {
		params[k] = cty.UnknownVal(paramType(t)) // given by the parent's run
	}
	env := map[string]cty.Value{}
	for _, ref := range c.p.Env {
		// One that is not set is reported as such; unknown here, so
		// that the templates reading it are not reported as well.
		env[ref.Name] = cty.UnknownVal(cty.String)
	}
	for k, v := range plan.Env {
		env[k] = cty.StringVal(v)
	}
	return map[string]cty.Value{
		expr.RootParams: objectOrEmpty(params),
		expr.RootEnv:    objectOrEmpty(env),
	}
}

// kindOutputs is what a step's outputs look like when planning. Every
// output is a string (the activities return text); a for_each step's are
// lists of them, one entry per element.
func kindOutputs(kind Kind, forEach bool) cty.Value {
	outs := map[string]cty.Value{}
	for _, o := range kind.Outputs {
		if forEach {
			outs[o] = cty.UnknownVal(cty.List(cty.String))
		} else {
			outs[o] = cty.UnknownVal(cty.String)
		}
	}
	return objectOrEmpty(outs)
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

func rangeOfNode(p *spec.Pipeline, n *yaml.Node) hcl.Range {
	start := hcl.Pos{Line: n.Line, Column: n.Column}
	return hcl.Range{Filename: p.Filename, Start: start, End: start}
}

func srcPos(r hcl.Range) SrcPos {
	return SrcPos{File: r.Filename, Line: r.Start.Line, Col: r.Start.Column}
}

// rng is where scalar n is written, its quotes included, as the loader
// gives it.
func (c *compiler) rng(n *yaml.Node) hcl.Range {
	r := rangeOfNode(c.p, n)
	r.End.Column += len([]rune(n.Value))
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		r.End.Column += 2 // as the loader's ranges, the quotes too
	}
	return r
}
