package planner

import (
	"fmt"
	"regexp"
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
)

func (w tplPlace) String() string {
	switch w {
	case inIf:
		return "`if`"
	case inForEach:
		return "`for_each`"
	}
	return "`with`"
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
	for _, k := range keys {
		v := s.With[k]
		if v.Node == nil {
			continue
		}
		found := false
		walkStrings(v.Node, func(n *yaml.Node) {
			if !expr.HasTemplate(n.Value) {
				return
			}
			found = true
			c.template(s, st, plan, n, inWith)
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
			if v, ok := c.template(s, st, plan, s.If.Node, inIf); ok && v.IsKnown() && !v.IsNull() {
				if _, err := convert.Convert(v, cty.Bool); err != nil {
					c.errorf(s.If.Range, "Condition is not a bool", "`if` must give true or false; this one gives %s.", v.Type().FriendlyName())
				}
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
			if v, ok := c.template(s, st, plan, s.ForEach.Node, inForEach); ok && v.IsKnown() && !v.IsNull() {
				if t := v.Type(); !t.IsListType() && !t.IsTupleType() && !t.IsSetType() {
					c.errorf(s.ForEach.Range, "for_each is not a list", "`for_each` must give a list; this one gives %s.", t.FriendlyName())
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
	v, diags := e.Value(c.planningContext(plan, s))
	if diags.HasErrors() {
		c.diags = append(c.diags, m.Diagnostics(diags)...)
		return cty.NilVal, false
	}
	return v, true
}

// ref checks one reference and records implied dependencies.
func (c *compiler) ref(s *spec.Step, st *Step, ref expr.Ref, where tplPlace) bool {
	name := func(i int) string {
		if i < len(ref.Path) {
			return ref.Path[i]
		}
		return ""
	}
	switch ref.Root {
	case expr.RootParams:
		var names []string
		for _, p := range c.p.Params {
			names = append(names, p.Name)
		}
		if !slices.Contains(names, name(0)) {
			c.unknownName(ref, "parameter", name(0), names)
			return false
		}
	case expr.RootSteps:
		id := name(0)
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
		if !slices.Contains(names, name(0)) {
			c.errorf(ref.Range, "Environment variable not listed",
				"env.%s is read but not listed under `env`. Listing it puts its value into the plan, and so into workflow history in clear text; for a credential use secret.%s instead.", name(0), name(0))
			return false
		}
	case expr.RootSecret:
		if where != inWith {
			c.errorf(ref.Range, "Secret outside with", "secret.%s can be used only in `with`: secrets are resolved by the worker when it calls the service, never in conditions or for_each.", name(0))
			return false
		}
		if name(0) == "" {
			c.errorf(ref.Range, "Invalid secret reference", "Write secret.NAME.")
			return false
		}
	default:
		c.unknownName(ref, "name", ref.Root, expr.Roots())
		return false
	}
	return true
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
	steps := map[string]cty.Value{}
	for _, other := range c.p.Steps {
		kind, ok := c.kind(other.Kind)
		if !ok || other.ID == "" {
			continue
		}
		if other.Kind == "pipeline" {
			outs := cty.DynamicVal
			if sub := c.subs[other.ID]; sub != nil && other.ForEach == nil {
				outs = c.subOutputs(sub)
			}
			steps[other.ID] = cty.ObjectVal(map[string]cty.Value{"outputs": outs})
			continue
		}
		outs := map[string]cty.Value{}
		for _, o := range kind.Outputs {
			if other.ForEach != nil {
				outs[o] = cty.DynamicVal // a list, one per item
			} else {
				outs[o] = cty.UnknownVal(cty.String)
			}
		}
		steps[other.ID] = cty.ObjectVal(map[string]cty.Value{"outputs": objectOrEmpty(outs)})
	}
	run := map[string]cty.Value{}
	for _, f := range expr.RunFields() {
		run[f] = cty.UnknownVal(cty.String)
	}
	run["attempt"] = cty.UnknownVal(cty.Number)
	env := map[string]cty.Value{}
	for k, v := range plan.Env {
		env[k] = cty.StringVal(v)
	}
	return map[string]cty.Value{
		expr.RootParams: objectOrEmpty(params),
		expr.RootSteps:  objectOrEmpty(steps),
		expr.RootRun:    cty.ObjectVal(run),
		expr.RootEnv:    objectOrEmpty(env),
		expr.RootSecret: cty.DynamicVal,
	}
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// walkStrings calls f for every string scalar under n.
func walkStrings(n *yaml.Node, f func(*yaml.Node)) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			f(n)
		}
	case yaml.SequenceNode, yaml.MappingNode, yaml.DocumentNode:
		for i, c := range n.Content {
			if n.Kind == yaml.MappingNode && i%2 == 0 {
				continue // keys are names, not templates
			}
			walkStrings(c, f)
		}
	case yaml.AliasNode:
		walkStrings(n.Alias, f)
	}
}

func rangeOfNode(p *spec.Pipeline, n *yaml.Node) hcl.Range {
	start := hcl.Pos{Line: n.Line, Column: n.Column}
	return hcl.Range{Filename: p.Filename, Start: start, End: start}
}

func srcPos(r hcl.Range) SrcPos {
	return SrcPos{File: r.Filename, Line: r.Start.Line, Col: r.Start.Column}
}

// credentialKey reports whether an input name holds a credential: its last
// dotted segment, lower-cased without '_' and '-', is a short credential
// word, or ends with a longer one ("user_password", "X-Api-Key",
// "client_secret"). Short words match whole segments only, so "task" is
// not "sk".
func credentialKey(key string) bool {
	seg := key
	if i := strings.LastIndex(key, "."); i >= 0 {
		seg = key[i+1:]
	}
	seg = keyNormalizer.Replace(strings.ToLower(seg))
	switch seg {
	case "pwd", "sk", "token", "authorization":
		return true
	}
	for _, w := range []string{"password", "passwd", "secret", "secretkey", "securitykey", "securitytoken",
		"authtoken", "accesstoken", "refreshtoken", "apikey", "privatekey"} {
		if strings.HasSuffix(seg, w) {
			return true
		}
	}
	return false
}

var keyNormalizer = strings.NewReplacer("_", "", "-", "")

// Access keys are 20 upper-case letters and digits; secret keys 40
// letters and digits.
var (
	akShape = regexp.MustCompile(`^[A-Z0-9]{20}$`)
	skShape = regexp.MustCompile(`^[A-Za-z0-9]{40}$`)
)

func looksLikeKey(s string) bool {
	hasDigit := strings.ContainsAny(s, "0123456789")
	hasUpper := strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	hasLower := strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz")
	return (akShape.MatchString(s) && hasDigit && hasUpper) || (skShape.MatchString(s) && hasDigit && hasUpper && hasLower)
}

func isSecretRef(s string) bool { return strings.Contains(s, "${secret.") }

// literalCredentials reports credentials written into `with` as literals
// (or as templates over anything but secrets): they would be stored in
// workflow history in clear text.
func (c *compiler) literalCredentials(n *yaml.Node, key string, raw any) {
	if n == nil {
		return
	}
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		switch n.Kind {
		case yaml.ScalarNode:
			if n.Tag != "!!str" || n.Value == "" || isSecretRef(n.Value) {
				return
			}
			if credentialKey(key) {
				c.errorf(c.rng(n), "Literal credential",
					"%q holds a credential: write it as ${secret.NAME} so the worker supplies it; a value written here would be stored in workflow history in clear text.", key)
			} else if looksLikeKey(n.Value) {
				c.errorf(c.rng(n), "Literal credential",
					"This value looks like an access key or secret key; write it as ${secret.NAME} so the worker supplies it.")
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], n.Content[i].Value)
			}
		case yaml.SequenceNode:
			for _, e := range n.Content {
				walk(e, key)
			}
		case yaml.AliasNode:
			walk(n.Alias, key)
		}
	}
	walk(n, key)
}

func (c *compiler) rng(n *yaml.Node) hcl.Range {
	r := rangeOfNode(c.p, n)
	r.End.Column += len([]rune(n.Value))
	return r
}
