package planner

import (
	"cmp"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dominikbraun/graph"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"gopkg.in/yaml.v3"

	"github.com/pipectl/pipectl/spec"
)

// Built-in defaults, used where neither the step nor the spec's `defaults`
// say otherwise. They match what DataArts applies to a node with no
// settings closely enough to surprise nobody: a failed job is not re-run
// (retryTimes 0; transient service errors are retried regardless),
// polling every few seconds, and a day-long cap on a job.
var builtinDefaults = struct {
	Retry   Retry
	Poll    Poll
	Timeout spec.Duration
}{
	Retry: Retry{
		MaxAttempts:     1,
		InitialInterval: spec.Duration(5 * time.Second),
		MaxInterval:     spec.Duration(time.Minute),
		Backoff:         2,
	},
	Poll:    Poll{Interval: spec.Duration(2 * time.Second), MaxInterval: spec.Duration(30 * time.Second)},
	Timeout: spec.Duration(24 * time.Hour),
}

// Options are the inputs of a compile besides the spec.
type Options struct {
	// Params overrides parameter defaults, by name, with values as typed
	// on a command line (parsed according to each parameter's type).
	Params map[string]string
	// LookupEnv reads the environment variables the spec opts into with
	// `env`; nil reads none.
	LookupEnv func(name string) (string, bool)
	// AllowUnsetParams lets a parameter with neither a default nor a
	// value in Params go without one: when planning, its value is unknown
	// (of its declared type, so the templates reading it are still
	// checked), and the plan lists it in Unset. So too an environment
	// variable listed under `env` that is not set: an unknown string,
	// listed in UnsetEnv. For commands that check
	// or show a spec, such as a sub-pipeline's on its own; a plan with
	// unset parameters must not be run.
	AllowUnsetParams bool
	// LoadSpec loads the spec a `pipeline` step runs, by its path: the
	// step's with.spec joined to the directory of the spec naming it.
	// Nil means spec.LoadFile.
	LoadSpec func(path string) (*spec.Pipeline, hcl.Diagnostics)

	// parent is set when compiling a sub-pipeline.
	parent *parentRef
}

// Compile validates p and builds its Plan with no parameter overrides and
// no environment.
func Compile(p *spec.Pipeline) (*Plan, hcl.Diagnostics) { return CompileWith(p, Options{}) }

// CompileWith validates p and builds its Plan. Like spec.Load it reports
// every problem it finds, sorted by position; the plan is nil when there
// are errors.
func CompileWith(p *spec.Pipeline, opts Options) (*Plan, hcl.Diagnostics) {
	c := &compiler{p: p, opts: opts}
	plan := &Plan{
		Version:     PlanVersion,
		Pipeline:    p.Name,
		MaxParallel: p.MaxParallel,
		Source:      p.Filename,
	}
	plan.Params = c.params(p, opts.Params)
	plan.Unset = c.unset
	plan.Env = c.env(p, opts.LookupEnv)
	plan.UnsetEnv = c.unsetEnv
	plan.Description, plan.Cloud = c.planTemplates(plan)
	plan.Schedule = c.schedule(p.Schedule)
	if opts.parent != nil {
		// A sub-pipeline runs when its parent's step does: a schedule
		// of its own applies only when it is applied on its own.
		plan.Schedule = nil
		plan.Cloud = inheritCloud(plan.Cloud, opts.parent.cloud)
	}
	ids := make([]string, 0, len(p.Steps))
	index := map[string]int{}
	for i, s := range p.Steps {
		if s.ID != "" {
			if _, dup := index[s.ID]; !dup {
				index[s.ID] = i
				ids = append(ids, s.ID)
			}
		}
	}
	c.index, c.ids = index, ids
	steps := map[string]Step{}
	for i, s := range p.Steps {
		st := Step{ID: s.ID, Kind: s.Kind, RunOn: s.RunOn}
		st.With = c.with(s)
		if s.Kind == "pipeline" {
			st.Pipeline = c.subPipeline(s, plan.Cloud)
			if s.ID != "" && st.Pipeline != nil {
				if c.subs == nil {
					c.subs = map[string]*SubPipeline{}
				}
				c.subs[s.ID] = st.Pipeline
			}
		}
		if s.Kind == "wait" {
			c.waitFields(s)
		}
		st.Retry, st.Poll, st.Timeout = c.options(p.Defaults, s)
		st.OnFailure = cmp.Or(s.OnFailure, p.Defaults.OnFailure, spec.OnFailureFail)
		if st.RunOn == "" {
			st.RunOn = spec.RunOnSuccess
		}
		seen := map[string]bool{}
		for _, d := range s.DependsOn {
			switch _, ok := index[d.Name]; {
			case d.Name == s.ID:
				c.errorf(d.Range, "Step depends on itself", "Step %q lists itself in depends_on.", s.ID)
			case !ok:
				detail := fmt.Sprintf("No step has the id %q.", d.Name)
				if sug := spec.Suggest(d.Name, ids); sug != "" {
					detail += fmt.Sprintf(" Did you mean %q?", sug)
				}
				c.errorf(d.Range, "Unknown step in depends_on", "%s", detail)
			case seen[d.Name]:
				c.errorf(d.Range, "Duplicate dependency", "%q is listed twice in depends_on.", d.Name)
			default:
				seen[d.Name] = true
				st.DependsOn = append(st.DependsOn, d.Name)
			}
		}
		// The first step with an id is the one the others' depends_on and
		// templates name; a repeated id is reported by spec.Load, and
		// the repeat is checked here like any step, but does not replace
		// the first: that would drop the first's dependencies and hide a
		// cycle through them.
		if s.ID != "" && index[s.ID] == i {
			steps[s.ID] = st
		}
	}
	c.reportDefaults()
	// Templates may read the outputs of other steps; each such read
	// implies a dependency, added here before the DAG is built.
	for i, s := range p.Steps {
		st, ok := steps[s.ID]
		if !ok || index[s.ID] != i {
			continue
		}
		c.templates(s, &st, plan)
		steps[s.ID] = st
	}
	c.pipelineHandlers(p, ids, index, steps)
	order := c.order(p, ids, index, steps)
	if opts.parent == nil {
		c.diags = dedupDiagnostics(c.diags)
	}
	if c.diags.HasErrors() {
		sortDiagnostics(c.diags)
		return nil, c.diags
	}
	for _, id := range order {
		plan.Steps = append(plan.Steps, steps[id])
	}
	plan.SpecHash = plan.hash()
	sortDiagnostics(c.diags)
	return plan, c.diags
}

type compiler struct {
	p     *spec.Pipeline
	opts  Options
	ids   []string
	index map[string]int
	// implied records, per step, the dependencies its templates imply by
	// reading other steps' outputs, with where each read is.
	implied map[string]map[string]hcl.Range
	// wide are the pipeline-wide handlers (see pipelineHandlers).
	wide  map[string]bool
	diags hcl.Diagnostics
	// kinds is Kinds() by name, built once per compile: Kinds builds its
	// table afresh on every call, and there are calls per step and per
	// reference to a step.
	kinds map[string]Kind
	// scope is what every template sees when planning, built on first use
	// (see planningContext); funcs are the template functions.
	scope map[string]cty.Value
	funcs map[string]function.Function
	// subs are the compiled sub-pipelines of the pipeline steps, by step
	// id; runtime the types of the parameters whose values are unknown
	// when planning (a sub-pipeline's that its parent's templates give
	// when it runs, and those missing a value); subTree what a top-level
	// compile has loaded.
	subs    map[string]*SubPipeline
	runtime map[string]spec.ParamType
	subTree *subTree
	// unset are the parameters left without a value
	// (Options.AllowUnsetParams).
	unset []string
	// unsetEnv are the environment variables listed under `env` that
	// are not set (Options.AllowUnsetParams).
	unsetEnv []string
	// inDefaults are problems with defaults found so far, reported once
	// for all the steps they affect.
	inDefaults []*defaultsProblem
}

// kind is LookupKind, from the compile's table.
func (c *compiler) kind(name string) (Kind, bool) {
	if c.kinds == nil {
		all := Kinds()
		c.kinds = make(map[string]Kind, len(all))
		for _, k := range all {
			if _, dup := c.kinds[k.Name]; !dup {
				c.kinds[k.Name] = k
			}
		}
	}
	k, ok := c.kinds[name]
	return k, ok
}

func (c *compiler) errorf(r hcl.Range, summary, format string, args ...any) {
	c.diags = append(c.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  r.Ptr(),
	})
}

// waitFields refuses the fields written on wait step s that its run
// ignores: it sleeps once, calling no service and checking no job. Those
// set in defaults are not refused, as they are meant for the other steps.
// on_failure applies (its until may be bad when it runs), as does if.
func (c *compiler) waitFields(s *spec.Step) {
	for _, f := range []struct{ name, hint string }{
		{"for_each", "To wait per element, give the for_each to a pipeline step whose sub-pipeline starts with the wait."},
		{"max_parallel", "It bounds for_each items, and a wait has none."},
		{"retry", "It calls no service, so there is nothing to retry."},
		{"poll", "It checks no job's status."},
		{"timeout", "To wait less, shorten its duration or move its until."},
	} {
		if r, ok := s.FieldRanges[f.name]; ok {
			c.errorf(r, "Field does not apply to wait",
				"A wait step waits its duration or until its time, once; %s does not apply to it. %s", f.name, f.hint)
		}
	}
}

// errorOn is errorf for a diagnostic whose YAML path its subject alone
// does not give (spec.OnMapping, spec.AtPath).
func (c *compiler) errorOn(r hcl.Range, extra any, summary, format string, args ...any) {
	c.errorf(r, summary, format, args...)
	c.diags[len(c.diags)-1].Extra = extra
}

// onValue is how to find the path of a diagnostic about value n: a block
// mapping starts where its first key does, so a problem with the mapping
// as a whole is marked to be shown with the mapping's path.
func onValue(n *yaml.Node) any {
	if n != nil && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) {
		return spec.OnMapping{}
	}
	return nil
}

// withAt is where to report something missing from a step's `with`: at
// the mapping, or at the step when it has none, with the path steps[N].with
// either way.
func withAt(s *spec.Step) (hcl.Range, any) {
	r := s.WithRange
	if r.Filename == "" {
		r = s.Range
	}
	if s.Path == "" {
		return r, spec.OnMapping{}
	}
	return r, spec.AtPath{Path: s.Path + ".with"}
}

// with checks a step's inputs against its kind and returns them as JSON.
func (c *compiler) with(s *spec.Step) json.RawMessage {
	if s.Kind == "" {
		return nil
	}
	kind, ok := c.kind(s.Kind)
	if !ok {
		detail := fmt.Sprintf("%q is not a step kind; the kinds are: %s.", s.Kind, strings.Join(kindNames(), ", "))
		if sug := spec.Suggest(s.Kind, kindNames()); sug != "" {
			detail = fmt.Sprintf("%q is not a step kind. Did you mean %q?", s.Kind, sug)
		}
		c.errorf(s.KindRange, "Unknown step kind", "%s", detail)
		return nil
	}
	if !kind.Runnable {
		c.errorf(s.KindRange, "Step kind not available yet",
			"%s is a known kind, but this version of pipectl cannot run it yet; the kinds it runs are: %s.", kind.Name, strings.Join(runnableKinds(), ", "))
	}
	names := kind.inputNames()
	out := map[string]any{}
	keys := make([]string, 0, len(s.With))
	for k := range s.With {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return s.With[keys[i]].Range.Start.Byte < s.With[keys[j]].Range.Start.Byte })
	for _, k := range keys {
		v := s.With[k]
		in, ok := kind.input(k)
		if !ok {
			detail := fmt.Sprintf("%s takes: %s.", kind.Name, strings.Join(names, ", "))
			if sug := spec.Suggest(k, names); sug != "" {
				detail = fmt.Sprintf("Did you mean %q? %s", sug, detail)
			}
			c.errorf(v.KeyRange, fmt.Sprintf("Unknown input %q", k), "%s", detail)
			continue
		}
		// Credentials first: even in an input of the wrong type (a
		// mapping for http's body) they are reported.
		c.literalCredentials(v.Node, k, in.Secret)
		conv, err := in.convert(v.Raw)
		if ie, ok := err.(itemErrors); ok && itemNodes(v.Node, ie) != nil {
			for i, item := range itemNodes(v.Node, ie) {
				c.errorOn(itemRange(c, item), onValue(item), fmt.Sprintf("Invalid input %q", k), "%s: %s.", kind.Name, ie[i].err)
			}
			continue
		}
		if err != nil {
			c.errorOn(v.Range, onValue(v.Node), fmt.Sprintf("Invalid input %q", k), "%s: %s.", kind.Name, err)
			continue
		}
		out[k] = conv
	}
	for _, group := range kind.OneOf {
		var set []string
		for _, name := range group {
			if _, ok := s.With[name]; ok {
				set = append(set, name)
			}
		}
		if len(set) != 1 {
			r, at := withAt(s)
			c.errorOn(r, at, "Exactly one of "+strings.Join(group, ", "), "%s needs exactly one of `with.%s`; found %d.", kind.Name, strings.Join(group, "` and `with."), len(set))
		}
	}
	for _, in := range kind.Inputs {
		if _, ok := s.With[in.Name]; in.Required && !ok {
			r, at := withAt(s)
			c.errorOn(r, at, fmt.Sprintf("Missing input %q", in.Name), "%s needs `with.%s`: %s.", kind.Name, in.Name, in.Doc)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		r, at := withAt(s)
		c.errorOn(r, at, "Invalid inputs", "%s", err)
	}
	return b
}

// seqItem returns item i of sequence n, through aliases, or nil.
func seqItem(n *yaml.Node, i int) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

// itemNodes are the nodes where the items or values of errs are written
// in the input written at n, or nil when one cannot be found.
func itemNodes(n *yaml.Node, errs itemErrors) []*yaml.Node {
	out := make([]*yaml.Node, len(errs))
	for i, e := range errs {
		if e.keyed {
			out[i] = mapValue(n, e.key)
		} else {
			out[i] = seqItem(n, e.index)
		}
		if out[i] == nil {
			return nil
		}
	}
	return out
}

// mapValue is the value of key in the mapping at n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// itemRange is where item n of a list is written: a scalar as the loader
// gives it, a collection at its start.
func itemRange(c *compiler, n *yaml.Node) hcl.Range {
	if n.Kind == yaml.ScalarNode {
		return c.rng(n)
	}
	return rangeOfNode(c.p, n)
}

// options resolves a step's retry, poll and timeout: the step's own value,
// else the spec's defaults, else the built-in default, field by field.
func (c *compiler) options(d spec.StepOptions, s *spec.Step) (Retry, Poll, spec.Duration) {
	r := builtinDefaults.Retry
	// Where the intervals in effect were set: nil for the built-in ones.
	var initialFrom, maxFrom *spec.Retry
	for _, src := range []*spec.Retry{d.Retry, s.Retry} {
		if src == nil {
			continue
		}
		if src.MaxAttempts > 0 {
			r.MaxAttempts = src.MaxAttempts
		}
		if src.InitialInterval > 0 {
			r.InitialInterval, initialFrom = src.InitialInterval, src
			if r.MaxInterval < r.InitialInterval {
				r.MaxInterval, maxFrom = r.InitialInterval, src
			}
		}
		if src.MaxInterval > 0 {
			r.MaxInterval, maxFrom = src.MaxInterval, src
		}
		if src.Backoff > 0 {
			r.Backoff = src.Backoff
		}
		if src.NonRetryable != nil {
			r.NonRetryable = src.NonRetryable
		}
	}
	if len(r.NonRetryable) == 0 {
		r.NonRetryable = nil // as it reads back from the plan's JSON
	}
	if r.MaxInterval < r.InitialInterval && maxFrom != nil {
		// A max_interval that was written is shorter than the initial
		// interval in effect, which was set with it or before it (after
		// it, it would have raised the maximum).
		c.badInterval(maxFrom.MaxIntervalRange, maxFrom == d.Retry, s, "Invalid retry",
			fmt.Sprintf("retry.max_interval (%s) is shorter than retry.initial_interval (%s%s).",
				r.MaxInterval, r.InitialInterval, origin(initialFrom == nil, initialFrom != maxFrom && initialFrom == d.Retry)))
	}
	p := builtinDefaults.Poll
	var intervalFrom, pollMaxFrom *spec.Poll
	for _, src := range []*spec.Poll{d.Poll, s.Poll} {
		if src == nil {
			continue
		}
		if src.Interval > 0 {
			p.Interval, intervalFrom = src.Interval, src
			if p.MaxInterval < p.Interval {
				p.MaxInterval, pollMaxFrom = p.Interval, src
			}
		}
		if src.MaxInterval > 0 {
			p.MaxInterval, pollMaxFrom = src.MaxInterval, src
		}
	}
	if p.MaxInterval < p.Interval && pollMaxFrom != nil {
		c.badInterval(pollMaxFrom.MaxIntervalRange, pollMaxFrom == d.Poll, s, "Invalid poll",
			fmt.Sprintf("poll.max_interval (%s) is shorter than poll.interval (%s%s).",
				p.MaxInterval, p.Interval, origin(intervalFrom == nil, intervalFrom != pollMaxFrom && intervalFrom == d.Poll)))
	}
	t := builtinDefaults.Timeout
	for _, src := range []*spec.Duration{d.Timeout, s.Timeout} {
		if src != nil && *src > 0 {
			t = *src
		}
	}
	return r, p, t
}

// badInterval reports a max_interval shorter than the interval it starts
// from, at the max_interval: the step's, or the defaults', once for all
// the steps that use them (see reportDefaults).
func (c *compiler) badInterval(at hcl.Range, inDefaults bool, s *spec.Step, summary, detail string) {
	if !inDefaults {
		c.errorf(at, summary, "Step %q: %s", s.ID, detail)
		return
	}
	var d *defaultsProblem
	for _, x := range c.inDefaults {
		if x.summary == summary {
			d = x
		}
	}
	if d == nil {
		d = &defaultsProblem{at: at, summary: summary, detail: detail}
		c.inDefaults = append(c.inDefaults, d)
	}
	if s.ID != "" {
		d.steps = append(d.steps, s.ID)
	}
}

// defaultsProblem is a problem with defaults, and the steps it affects.
type defaultsProblem struct {
	at              hcl.Range
	summary, detail string
	steps           []string
}

// reportDefaults reports the problems with defaults found while resolving
// the steps' options.
func (c *compiler) reportDefaults() {
	for _, d := range c.inDefaults {
		detail := "In defaults, " + d.detail
		if len(d.steps) > 0 {
			detail += " It applies to " + plural(d.steps, "step") + "."
		}
		c.errorf(d.at, d.summary, "%s", detail)
	}
	c.inDefaults = nil
}

// plural names things: `step "a"`, `steps "a", "b" and "c"`.
func plural(names []string, what string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return what + " " + q[0]
	}
	return what + "s " + strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// origin says where an interval comes from, when not from where the
// maximum it exceeds is written.
func origin(builtin, defaults bool) string {
	switch {
	case builtin:
		return ", the built-in default"
	case defaults:
		return ", from defaults"
	}
	return ""
}

func runnableKinds() []string {
	var names []string
	for _, k := range Kinds() {
		if k.Runnable {
			names = append(names, k.Name)
		}
	}
	sort.Strings(names)
	return names
}

// pipelineHandlers gives each pipeline-wide handler, a run_on: failure or
// always step without depends_on, its dependencies: every ordinary
// (run_on: success) step, as the run decides them (workflows.decide), then
// the steps its templates read. The plan, its graph and the run then
// agree, and reading an output does not narrow the handler to that one
// step. An ordinary step that depends on such a handler would wait for it
// while it waits for every ordinary step: that is reported here, where the
// dependency is written, and the edge back left out.
func (c *compiler) pipelineHandlers(p *spec.Pipeline, ids []string, index map[string]int, steps map[string]Step) {
	var ordinary []string
	for _, id := range ids {
		if steps[id].RunOn == spec.RunOnSuccess {
			ordinary = append(ordinary, id)
		}
	}
	for i, s := range p.Steps {
		st, ok := steps[s.ID]
		if !ok || index[s.ID] != i || len(s.DependsOn) > 0 || st.RunOn == spec.RunOnSuccess {
			continue
		}
		if c.wide == nil {
			c.wide = map[string]bool{}
		}
		c.wide[s.ID] = true
		deps := make([]string, 0, len(ordinary)+len(st.DependsOn))
		for _, id := range ordinary {
			if slices.Contains(steps[id].DependsOn, s.ID) {
				src := p.Steps[index[id]]
				c.errorf(c.refRange(src, s.ID), "Step depends on a pipeline-wide handler",
					"%q runs on %s without depends_on, so it waits for every ordinary step, %q included, and %q waits for it. Give %q a depends_on, or make %q run_on: failure or always.",
					s.ID, st.RunOn, id, id, s.ID, id)
				continue
			}
			if id != s.ID {
				deps = append(deps, id)
			}
		}
		for _, id := range st.DependsOn { // read by its templates
			if !slices.Contains(deps, id) {
				deps = append(deps, id)
			}
		}
		st.DependsOn = deps
		steps[s.ID] = st
	}
}

// order builds the DAG of the steps with github.com/dominikbraun/graph and
// returns the step ids in stable topological order (see stableOrder). When
// the dependencies have a cycle, it reports each edge that closes one,
// with the cycle's path, and returns nil.
func (c *compiler) order(p *spec.Pipeline, ids []string, index map[string]int, steps map[string]Step) []string {
	g := dependencyGraph(ids, func(id string) []string { return steps[id].DependsOn })
	if order := stableOrder(g, ids); len(order) == len(ids) {
		if c.diags.HasErrors() {
			return nil
		}
		return order
	}
	// There is a cycle. Add the edges one by one, in spec order, to report
	// the first edge that closes each cycle. The graph's cycle check walks
	// the ancestors of the edge's source for every edge, which costs
	// steps × edges, so only the strongly connected components with more
	// than one step take part: every cycle, and every path between two
	// steps of one, lies within one of them, so the same edges close
	// cycles, with the same shortest paths, as in the whole graph.
	sccs, _ := graph.StronglyConnectedComponents(g) // fails only on an undirected graph
	component := map[string]int{}
	for n, scc := range sccs {
		if len(scc) > 1 {
			for _, id := range scc {
				component[id] = n
			}
		}
	}
	g = graph.New(graph.StringHash, graph.Directed(), graph.PreventCycles())
	for _, id := range ids {
		if _, ok := component[id]; ok {
			_ = g.AddVertex(id) // ids are unique here
		}
	}
	for i, s := range p.Steps {
		st, ok := steps[s.ID]
		if !ok || index[s.ID] != i {
			continue
		}
		n, ok := component[s.ID]
		if !ok {
			continue
		}
		for _, dep := range st.DependsOn {
			if m, ok := component[dep]; !ok || m != n {
				continue
			}
			err := g.AddEdge(dep, s.ID)
			if errors.Is(err, graph.ErrEdgeCreatesCycle) {
				cycle := append(shortestPath(g, s.ID, dep, index), s.ID)
				detail := fmt.Sprintf("Steps depend on each other in a loop: %s. Remove one of these dependencies.", strings.Join(cycle, " -> "))
				for i := 1; i < len(cycle); i++ {
					// An edge no one wrote: a pipeline-wide handler's.
					if _, read := c.implied[cycle[i]][cycle[i-1]]; c.wide[cycle[i]] && !read {
						detail += fmt.Sprintf(" (%s runs on %s without depends_on: it waits for every ordinary step.)", cycle[i], steps[cycle[i]].RunOn)
						break
					}
				}
				c.errorf(c.refRange(s, dep), "Dependency cycle", "%s", detail)
			} else if err != nil && !errors.Is(err, graph.ErrEdgeAlreadyExists) {
				c.errorf(c.refRange(s, dep), "Invalid dependency", "%s -> %s: %v", dep, s.ID, err)
			}
		}
	}
	if !c.diags.HasErrors() { // cannot happen: stableOrder stops short only on a cycle
		c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot order steps",
			Detail: "The dependencies of the steps form a cycle."})
	}
	return nil
}

// dependencyGraph builds the DAG of steps: a vertex per id and an edge from
// each dependency to the step that depends on it. Dependencies on ids not
// in ids, and on the step itself, are left out (they are reported, or
// ignored in a hand-made plan). It does not check for cycles as edges are
// added, which would cost steps × edges; stableOrder finds them, in
// O((steps + edges) log steps).
func dependencyGraph(ids []string, deps func(id string) []string) graph.Graph[string, string] {
	g := graph.New(graph.StringHash, graph.Directed())
	for _, id := range ids {
		_ = g.AddVertex(id) // an id already added keeps its vertex
	}
	for _, id := range ids {
		for _, dep := range deps(id) {
			if dep != id {
				// Unknown vertices and repeated edges are errors the
				// graph reports, and that leave it unchanged.
				_ = g.AddEdge(dep, id)
			}
		}
	}
	return g
}

// stableOrder returns the vertices of g, a graph of the steps ids (which
// are in spec order), in topological order, taking at each point the first
// step in the spec whose dependencies are all placed: Kahn's algorithm
// over the graph's edges, with a heap of the ready steps' positions, in
// O((steps + edges) log steps). graph.StableTopologicalSort does not do
// this: it orders by breadth-first layers, so [a, b after a, c] came out
// as a, c, b, and it rescans every vertex for each one it places, which is
// quadratic. The order is shorter than ids when the graph has a cycle: the
// steps on it, and after it, are left out.
func stableOrder(g graph.Graph[string, string], ids []string) []string {
	edges, err := g.Edges()
	if err != nil {
		return nil
	}
	pos := make(map[string]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	succ := make([][]int, len(ids))
	indeg := make([]int, len(ids))
	for _, e := range edges {
		from, to := pos[e.Source], pos[e.Target]
		succ[from] = append(succ[from], to)
		indeg[to]++
	}
	ready := &indexHeap{}
	for i := range ids {
		if indeg[i] == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]string, 0, len(ids))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, ids[i])
		for _, j := range succ[i] {
			if indeg[j]--; indeg[j] == 0 {
				heap.Push(ready, j)
			}
		}
	}
	return order
}

// indexHeap is a min-heap of spec positions.
type indexHeap []int

func (h indexHeap) Len() int           { return len(h) }
func (h indexHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h indexHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *indexHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *indexHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// shortestPath returns a shortest path from -> to along g's edges. Unlike
// graph.ShortestPath, which picks among equally short paths at random, it
// prefers steps that come first in the spec, so messages are reproducible.
func shortestPath(g graph.Graph[string, string], from, to string, index map[string]int) []string {
	adj, err := g.AdjacencyMap()
	if err != nil {
		return []string{from, to}
	}
	prev := map[string]string{from: from}
	for queue := []string{from}; len(queue) > 0; queue = queue[1:] {
		v := queue[0]
		if v == to {
			path := []string{to}
			for v != from {
				v = prev[v]
				path = append([]string{v}, path...)
			}
			return path
		}
		next := make([]string, 0, len(adj[v]))
		for w := range adj[v] {
			if _, seen := prev[w]; !seen {
				next = append(next, w)
			}
		}
		sort.Slice(next, func(i, j int) bool { return index[next[i]] < index[next[j]] })
		for _, w := range next {
			prev[w] = v
			queue = append(queue, w)
		}
	}
	return []string{from, to} // unreachable when adding to -> from made a cycle
}

func (c *compiler) refRange(s *spec.Step, name string) hcl.Range {
	for _, d := range s.DependsOn {
		if d.Name == name {
			return d.Range
		}
	}
	if r, ok := c.implied[s.ID][name]; ok {
		return r
	}
	return s.Range
}
