package planner

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"

	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/spec/expr"
)

// A `pipeline` step runs another spec as a child workflow. The planner
// compiles that spec with the one that references it and embeds its plan
// in the step, so that a run's input holds everything it runs and a
// workflow never reads a file; the parent's spec hash covers the child's
// plan, so a change to the child's file changes the parent's hash.
const (
	// MaxSubPipelineDepth bounds how deep sub-pipelines nest: every level
	// is a child workflow and a copy of the plans below it in the input.
	MaxSubPipelineDepth = 8
	// MaxSubPipelineItems bounds the elements of a for_each over a
	// pipeline step: each is a child workflow of the run, started from
	// its history.
	MaxSubPipelineItems = 100
	// SubPipelineStatus is the output of a pipeline step that holds the
	// sub-pipeline's state; the others are its steps' outputs, by step id.
	SubPipelineStatus = "status"
)

// parentRef is what compiling a sub-pipeline knows of where it is used.
type parentRef struct {
	tree *subTree
	// chain lists the specs being compiled, outermost first, this one's
	// parent last.
	chain []specRef
	// given are the values the parent step's with.params gives, by name.
	given map[string]givenParam
	// at is where the parent step gives its parameters: its with.params,
	// or its with; atPath how to find the path of a diagnostic there
	// (hcl.Diagnostic.Extra).
	at     hcl.Range
	atPath any
	cloud  spec.Cloud
}

// specRef is one spec of a chain of sub-pipelines.
type specRef struct {
	key  string // absolute path: how a cycle is recognised
	name string // the file name as it was loaded, for messages
}

// subTree is shared by a whole compile: the specs loaded so far.
type subTree struct {
	loaded map[string]*loadedSpec
}

type loadedSpec struct {
	p     *spec.Pipeline
	diags hcl.Diagnostics
}

// givenParam is one value of a pipeline step's with.params.
type givenParam struct {
	raw      any
	template bool
	keyRange hcl.Range
	rng      hcl.Range
	// keyOn and on are how to find the paths of diagnostics at keyRange
	// and rng (hcl.Diagnostic.Extra).
	keyOn, on any
}

// chain returns the specs from the outermost down to the one c compiles.
func (c *compiler) chain() []specRef {
	self := specRef{key: absPath(c.p.Filename), name: c.p.Filename}
	if c.opts.parent == nil {
		return []specRef{self}
	}
	return append(slices.Clip(c.opts.parent.chain), self)
}

func (c *compiler) tree() *subTree {
	if c.opts.parent != nil {
		return c.opts.parent.tree
	}
	if c.subTree == nil {
		c.subTree = &subTree{loaded: map[string]*loadedSpec{}}
	}
	return c.subTree
}

func absPath(name string) string {
	if a, err := filepath.Abs(name); err == nil {
		return a
	}
	return filepath.Clean(name)
}

// subPipeline loads and compiles the spec a `pipeline` step references,
// reporting the child's own problems in its file. It returns nil when the
// child cannot be compiled.
func (c *compiler) subPipeline(s *spec.Step, cloud spec.Cloud) *SubPipeline {
	ref, ok := s.With["spec"]
	if !ok {
		return nil // reported as a missing input
	}
	rel, isStr := ref.Raw.(string)
	if !isStr || rel == "" {
		return nil // reported as an invalid input
	}
	if expr.HasTemplate(rel) {
		c.errorf(ref.Range, "Template in with.spec", "with.spec is the path of the spec to run, without templates: the sub-pipeline is compiled with this spec, before anything runs.")
		return nil
	}
	given, at, atPath, ok := c.givenParams(s)
	if !ok {
		return nil
	}
	path := rel
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(c.p.Filename), rel)
	}
	key := absPath(path)
	chain := c.chain()
	for i, sr := range chain {
		if sr.key != key {
			continue
		}
		names := make([]string, 0, len(chain)-i+1)
		for _, x := range chain[i:] {
			names = append(names, x.name)
		}
		names = append(names, path)
		c.errorf(ref.Range, "Sub-pipeline cycle", "Specs run each other in a loop: %s. A spec cannot run itself, directly or through others.", strings.Join(names, " -> "))
		return nil
	}
	if len(chain) > MaxSubPipelineDepth {
		names := make([]string, 0, len(chain))
		for _, x := range chain {
			names = append(names, x.name)
		}
		c.errorf(ref.Range, "Sub-pipelines nested too deep", "%s would be sub-pipeline level %d, under %s; sub-pipelines nest at most %d levels.",
			path, len(chain), strings.Join(names, " -> "), MaxSubPipelineDepth)
		return nil
	}

	tree := c.tree()
	ls, seen := tree.loaded[key]
	if !seen {
		load := c.opts.LoadSpec
		if load == nil {
			load = spec.LoadFile
		}
		p, diags := load(path)
		ls = &loadedSpec{p: p, diags: diags}
		tree.loaded[key] = ls
	}
	var childDiags hcl.Diagnostics
	for _, d := range ls.diags {
		if d.Subject == nil {
			// The file could not be read: say so where it is named.
			c.errorf(ref.Range, "Cannot read sub-pipeline", "%s: %s", d.Summary, d.Detail)
			continue
		}
		if !seen {
			childDiags = append(childDiags, d)
		}
	}
	if ls.p == nil || ls.p.Source == nil {
		if !ls.diags.HasErrors() {
			c.errorf(ref.Range, "Cannot read sub-pipeline", "%s: nothing was loaded.", path)
		}
		return nil
	}
	child := ls.p
	opts := Options{
		LookupEnv: c.opts.LookupEnv,
		LoadSpec:  c.opts.LoadSpec,
		parent:    &parentRef{tree: tree, chain: chain, given: given, at: at, atPath: atPath, cloud: cloud},
	}
	plan, diags := CompileWith(child, opts)
	childDiags = append(childDiags, diags...)
	c.diags = append(c.diags, childDiags...)
	if ls.diags.HasErrors() || diags.HasErrors() || plan == nil {
		// Problems with the parameters given are in this file; those in
		// the child's are reported there, and named here.
		for _, d := range append(ls.diags, diags...) {
			if d.Severity == hcl.DiagError && d.Subject != nil && d.Subject.Filename != c.p.Filename {
				c.errorf(ref.Range, "Invalid sub-pipeline", "%s has problems, reported in it.", path)
				break
			}
		}
		return nil
	}
	if _, ok := plan.Step(SubPipelineStatus); ok {
		c.errorf(ref.Range, "Sub-pipeline has a step named status",
			"%s has a step %q, but a pipeline step's outputs use that name for the sub-pipeline's status; rename the step.", path, SubPipelineStatus)
		return nil
	}
	if s.ForEach != nil {
		if items, ok := s.ForEach.Raw.([]any); ok && len(items) > MaxSubPipelineItems {
			c.errorOn(s.ForEach.Range, onValue(s.ForEach.Node), "Too many sub-pipelines", "A for_each over a pipeline step runs one child workflow per element, at most %d; this one has %d.", MaxSubPipelineItems, len(items))
		}
	}
	sub := &SubPipeline{Plan: plan}
	for _, prm := range child.Params {
		if _, ok := given[prm.Name]; ok {
			if sub.ParamTypes == nil {
				sub.ParamTypes = map[string]spec.ParamType{}
			}
			sub.ParamTypes[prm.Name] = prm.Type
		}
	}
	return sub
}

// givenParams reads a pipeline step's with.params: a mapping of
// parameter names to values, each a literal or holding templates. It
// also returns where the parameters are given, for messages about
// missing ones, and how to find that place's path (hcl.Diagnostic.Extra).
func (c *compiler) givenParams(s *spec.Step) (map[string]givenParam, hcl.Range, any, bool) {
	v, ok := s.With["params"]
	if !ok {
		at, atPath := withAt(s)
		return nil, at, atPath, true
	}
	at, atPath := v.Range, onValue(v.Node)
	m, isMap := v.Raw.(map[string]any)
	if !isMap {
		if str, _ := v.Raw.(string); expr.HasTemplate(str) {
			c.errorf(v.Range, "Template for with.params", "with.params is a mapping of the sub-pipeline's parameter names to their values; each value may be a template, the mapping itself may not.")
		}
		return nil, at, atPath, false // otherwise reported as an invalid input
	}
	keys := map[string]*yaml.Node{}
	vals := map[string]*yaml.Node{}
	if n := v.Node; n != nil {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				keys[n.Content[i].Value] = n.Content[i]
				vals[n.Content[i].Value] = n.Content[i+1]
			}
		}
	}
	given := make(map[string]givenParam, len(m))
	for name, raw := range m {
		g := givenParam{raw: raw, template: hasTemplate(raw), keyRange: v.Range, rng: v.Range, keyOn: atPath, on: atPath}
		if k := keys[name]; k != nil {
			g.keyRange, g.rng, g.keyOn, g.on = c.rng(k), c.rng(vals[name]), nil, onValue(vals[name])
		}
		given[name] = g
	}
	return given, at, atPath, true
}

// hasTemplate reports whether a decoded value holds a template anywhere.
func hasTemplate(v any) bool {
	switch x := v.(type) {
	case string:
		return expr.HasTemplate(x)
	case []any:
		return slices.ContainsFunc(x, hasTemplate)
	case map[string]any:
		for _, e := range x {
			if hasTemplate(e) {
				return true
			}
		}
	}
	return false
}

// givenParam resolves a parameter of a sub-pipeline from its parent's
// with.params: a literal is converted to the parameter's type now, a
// template is left for the run (its type recorded for planning). It
// reports whether the parent gives the parameter.
func (c *compiler) givenParam(p *spec.Pipeline, prm *spec.Param, out map[string]any) bool {
	if c.opts.parent == nil {
		return false
	}
	g, ok := c.opts.parent.given[prm.Name]
	if !ok {
		return false
	}
	if g.template {
		c.runtimeParam(prm)
		return true
	}
	v, err := ConvertParam(prm.Type, g.raw)
	if err != nil {
		c.errorOn(g.rng, g.on, fmt.Sprintf("Invalid value for parameter %q", prm.Name),
			"Sub-pipeline %s declares %q a %s: %s.", p.Name, prm.Name, prm.Type, err)
		return true
	}
	out[prm.Name] = v
	return true
}

// runtimeParam makes a parameter's value unknown when planning: it is
// known only when the step runs, or (an error) not at all.
func (c *compiler) runtimeParam(prm *spec.Param) {
	if c.runtime == nil {
		c.runtime = map[string]spec.ParamType{}
	}
	c.runtime[prm.Name] = prm.Type
}

// unknownGiven reports the names with.params gives that the sub-pipeline
// does not declare.
func (c *compiler) unknownGiven(p *spec.Pipeline, names []string) {
	if c.opts.parent == nil {
		return
	}
	given := slices.Sorted(maps.Keys(c.opts.parent.given))
	for _, k := range given {
		if slices.Contains(names, k) {
			continue
		}
		detail := fmt.Sprintf("Sub-pipeline %s declares no parameter %q", p.Name, k)
		if sug := spec.Suggest(k, names); sug != "" {
			detail += fmt.Sprintf("; did you mean %q?", sug)
		} else if len(names) > 0 {
			detail += "; it has: " + strings.Join(names, ", ") + "."
		} else {
			detail += "; it has none."
		}
		g := c.opts.parent.given[k]
		c.errorOn(g.keyRange, g.keyOn, "Unknown parameter", "%s", detail)
	}
}

// inheritCloud gives a sub-pipeline its parent's cloud settings where it
// sets none of its own.
func inheritCloud(own, parent spec.Cloud) spec.Cloud {
	out := own
	if out.Region == "" {
		out.Region = parent.Region
	}
	if out.ProjectID == "" {
		out.ProjectID = parent.ProjectID
	}
	if out.Credentials == "" {
		out.Credentials = parent.Credentials
	}
	if len(parent.Endpoints) > 0 {
		eps := maps.Clone(parent.Endpoints)
		maps.Copy(eps, own.Endpoints)
		out.Endpoints = eps
	}
	return out
}

// ConvertParam converts a value given to a parameter — by a parent's
// with.params, literally or as a template's result — to the parameter's
// type. A string parameter takes numbers and bools as their text; the
// other types take a value of their kind, or a string ParseParam reads
// as one (a template reading a step's output gives a string).
func ConvertParam(t spec.ParamType, v any) (any, error) {
	v, err := fromJSON(v)
	if err != nil {
		return nil, err
	}
	v = jsonValue(v)
	if s, ok := v.(string); ok && t != spec.ParamString {
		p, err := ParseParam(t, s)
		if err != nil {
			return nil, err
		}
		return jsonValue(p), nil
	}
	switch t {
	case spec.ParamString:
		if s, ok := scalarString(v); ok {
			return s, nil
		}
	case spec.ParamNumber:
		switch v.(type) {
		case int64, float64:
			return v, nil
		}
	case spec.ParamBool:
		if _, ok := v.(bool); ok {
			return v, nil
		}
	case spec.ParamList:
		if _, ok := v.([]any); ok {
			return v, nil
		}
	case spec.ParamMap:
		if _, ok := v.(map[string]any); ok {
			return v, nil
		}
	}
	return nil, fmt.Errorf("expected a %s, found %s", t, describeValue(v))
}

// paramType is the cty type of a parameter type's values, for the
// parameters whose values are unknown when planning (a sub-pipeline's, or
// one given no value yet): a list or map of anything, as its elements are
// not declared.
func paramType(t spec.ParamType) cty.Type {
	switch t {
	case spec.ParamString:
		return cty.String
	case spec.ParamNumber:
		return cty.Number
	case spec.ParamBool:
		return cty.Bool
	case spec.ParamList:
		return cty.List(cty.DynamicPseudoType)
	case spec.ParamMap:
		return cty.Map(cty.DynamicPseudoType)
	}
	return cty.DynamicPseudoType
}

// subOutputs is what a pipeline step's outputs look like when planning:
// the status, and each step of the sub-pipeline by id with its outputs.
func (c *compiler) subOutputs(sub *SubPipeline) cty.Value {
	outs := map[string]cty.Value{SubPipelineStatus: cty.UnknownVal(cty.String)}
	for _, st := range sub.Plan.Steps {
		outs[st.ID] = c.stepOutputs(st)
	}
	return cty.ObjectVal(outs)
}

// stepOutputs is what a compiled step's outputs look like when planning.
func (c *compiler) stepOutputs(st Step) cty.Value {
	if st.Pipeline != nil {
		if st.ForEach != nil || st.Pipeline.Plan == nil {
			return cty.DynamicVal // the outputs of each sub-pipeline run
		}
		return c.subOutputs(st.Pipeline)
	}
	kind, ok := c.kind(st.Kind)
	if !ok {
		return cty.DynamicVal
	}
	return kindOutputs(kind, st.ForEach != nil)
}

// subRef checks a read of a pipeline step's outputs, path being what
// follows steps.ID.outputs: the status, or a step of the sub-pipeline and
// one of its outputs.
func (c *compiler) subRef(ref expr.Ref, id string, sub *SubPipeline, path []string) bool {
	if len(path) == 0 || path[0] == SubPipelineStatus {
		return true
	}
	ids := []string{SubPipelineStatus}
	for _, st := range sub.Plan.Steps {
		ids = append(ids, st.ID)
	}
	st, ok := sub.Plan.Step(path[0])
	if !ok {
		detail := fmt.Sprintf("Sub-pipeline %s (step %s) has no step %q", sub.Plan.Pipeline, id, path[0])
		if sug := spec.Suggest(path[0], ids); sug != "" {
			detail += fmt.Sprintf("; did you mean %q?", sug)
		} else {
			detail += "; its outputs are: " + strings.Join(ids, ", ") + "."
		}
		c.errorf(ref.Range, "Unknown output", "%s", detail)
		return false
	}
	if len(path) < 2 || st.ForEach != nil {
		return true
	}
	if st.Pipeline != nil && st.Pipeline.Plan != nil {
		return c.subRef(ref, st.ID, st.Pipeline, path[1:])
	}
	kind, ok := c.kind(st.Kind)
	if !ok || slices.Contains(kind.Outputs, path[1]) {
		return true
	}
	detail := fmt.Sprintf("Step %s of sub-pipeline %s is a %s step, which has no output %q", st.ID, sub.Plan.Pipeline, kind.Name, path[1])
	if sug := spec.Suggest(path[1], kind.Outputs); sug != "" {
		detail += fmt.Sprintf("; did you mean %q?", sug)
	} else if len(kind.Outputs) > 0 {
		detail += "; it has: " + strings.Join(kind.Outputs, ", ") + "."
	} else {
		detail += "; it has none."
	}
	c.errorf(ref.Range, "Unknown output", "%s", detail)
	return false
}

// dedupDiagnostics drops repeats: a sub-pipeline used twice is compiled
// twice, and its problems would be reported twice.
func dedupDiagnostics(d hcl.Diagnostics) hcl.Diagnostics {
	type key struct {
		file          string
		line, col     int
		summary, text string
	}
	seen := map[key]bool{}
	out := d[:0]
	for _, x := range d {
		k := key{summary: x.Summary, text: x.Detail}
		if x.Subject != nil {
			k.file, k.line, k.col = x.Subject.Filename, x.Subject.Start.Line, x.Subject.Start.Column
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, x)
	}
	return out
}

// givenNodes maps the values of a pipeline step's with.params (input k,
// written at n) to the parameter names they give.
func (c *compiler) givenNodes(st *Step, k string, n *yaml.Node) map[*yaml.Node]string {
	if st.Pipeline == nil || k != "params" {
		return nil
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	out := map[*yaml.Node]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i+1]] = n.Content[i].Value
	}
	return out
}

// givenType checks what a template of with.params gives against the type
// the sub-pipeline declares for the parameter, as far as planning knows
// it; the run converts the value with ConvertParam, which reads a string
// as any type, so only a string is taken everywhere.
func (c *compiler) givenType(st *Step, name string, v cty.Value, n *yaml.Node) {
	t, ok := st.Pipeline.ParamTypes[name]
	if !ok || v.Type() == cty.DynamicPseudoType {
		return
	}
	var want shape
	switch t {
	case spec.ParamString:
		want = shapeText
	case spec.ParamNumber:
		want = shapeNumber
	case spec.ParamBool:
		want = shapeBool
	case spec.ParamList:
		want = shapeList
	case spec.ParamMap:
		want = shapeMap
	default:
		return
	}
	if v.Type() == cty.String || fits(v, want) {
		return
	}
	c.errorf(c.rng(n), fmt.Sprintf("Invalid value for parameter %q", name),
		"Sub-pipeline %s declares %q a %s; this template gives %s.", st.Pipeline.Plan.Pipeline, name, t, valueName(v))
}
