package workflows

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec/expr"
)

// scope is what step's templates can see now. item is the for_each
// element, cty.NilVal outside one. Of the steps, only those step depends
// on are in scope: the planner makes every step a template reads a
// dependency, so this is all it can read, and a run of thousands of steps
// does not convert every output for each template.
func (r *run) scope(step planner.Step, item cty.Value, attempt int) expr.Scope {
	params := map[string]cty.Value{}
	for k, v := range r.plan.Params {
		cv, err := expr.FromGo(v)
		if err == nil {
			params[k] = cv
		}
	}
	steps := map[string]map[string]any{}
	for _, id := range step.DependsOn {
		if out := r.outputsOf(id); out != nil {
			steps[id] = out
		}
	}
	return expr.Scope{
		Params: params,
		Steps:  steps,
		Run: expr.Run{
			ID:          r.runID,
			Pipeline:    r.plan.Pipeline,
			LogicalTime: r.status.LogicalTime,
			StartedTime: r.status.StartedAt,
			Attempt:     attempt,
		},
		Item: item,
		Env:  r.plan.Env,
	}
}

// outputsOf returns the outputs of the step with the given id: a step of
// the plan, or one whose outputs the run was given.
func (r *run) outputsOf(id string) map[string]any {
	if i, ok := r.pos[id]; ok && r.status.Steps[i].Outputs != nil {
		return r.status.Steps[i].Outputs
	}
	return r.given[id]
}

// evalCondition evaluates a step's `if`.
func (r *run) evalCondition(step planner.Step) (bool, error) {
	if step.If == nil {
		return true, nil
	}
	ok, diags := expr.EvalBool(step.If.Src, step.If.File, step.If.Pos(), r.scope(step, cty.NilVal, 0))
	if diags.HasErrors() {
		return false, fmt.Errorf("if: %s", diagText(diags))
	}
	return ok, nil
}

// evalItems returns a for_each step's elements.
func (r *run) evalItems(step planner.Step) ([]cty.Value, error) {
	fe := step.ForEach
	if fe.Expr == nil {
		items := make([]cty.Value, 0, len(fe.Items))
		for _, it := range fe.Items {
			v, err := expr.FromGo(it)
			if err != nil {
				return nil, fmt.Errorf("for_each: %w", err)
			}
			items = append(items, v)
		}
		return items, nil
	}
	v, diags := expr.Eval(fe.Expr.Src, fe.Expr.File, fe.Expr.Pos(), r.scope(step, cty.NilVal, 0))
	if diags.HasErrors() {
		return nil, fmt.Errorf("for_each: %s", diagText(diags))
	}
	if v.IsNull() || !v.IsKnown() || !(v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType()) {
		return nil, fmt.Errorf("for_each: gives %s, not a list", v.Type().FriendlyName())
	}
	var items []cty.Value
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		items = append(items, e)
	}
	return items, nil
}

// evalWith returns the step's input with every template evaluated. Secret
// references stay placeholders, resolved by the activity.
func (r *run) evalWith(step planner.Step, item cty.Value, attempt int) (json.RawMessage, error) {
	if len(step.Templates) == 0 {
		return step.With, nil
	}
	var with map[string]any
	if err := json.Unmarshal(step.With, &with); err != nil {
		return nil, fmt.Errorf("with: %w", err)
	}
	sc := r.scope(step, item, attempt)
	textual := textInputs(step.Kind)
	keys := make([]string, 0, len(step.Templates))
	for k := range step.Templates {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pos := step.Templates[k]
		v, err := evalValue(with[k], pos, sc, textual[k])
		if err != nil {
			return nil, fmt.Errorf("with.%s: %w", k, err)
		}
		with[k] = v
	}
	return json.Marshal(with)
}

// textInputs are the inputs of kind whose values are text.
func textInputs(kind string) map[string]bool {
	k, _ := planner.LookupKind(kind)
	out := map[string]bool{}
	for _, in := range k.Inputs {
		switch in.Type {
		case planner.TypeString, planner.TypeStringList, planner.TypeStringMap, planner.TypeDuration, planner.TypeTime:
			out[in.Name] = true
		}
	}
	return out
}

// evalValue evaluates the templates inside v (a decoded JSON value). In
// an input whose values are text (a string, a list or a mapping of
// strings), a template giving a number or a bool gives its text instead,
// as the planner turns literal numbers and bools into text there:
// "${params.partitions}" in a Spark conf is "200", not 200.
func evalValue(v any, pos planner.SrcPos, sc expr.Scope, text bool) (any, error) {
	switch x := v.(type) {
	case string:
		if !expr.HasTemplate(x) {
			return x, nil
		}
		val, diags := expr.Eval(x, pos.File, pos.Pos(), sc)
		if diags.HasErrors() {
			return nil, fmt.Errorf("%s", diagText(diags))
		}
		if val.IsNull() {
			return nil, nil
		}
		if text {
			val = asText(val)
		}
		if val.Type() == cty.String {
			return val.AsString(), nil
		}
		b, err := ctyjson.Marshal(val, val.Type())
		if err != nil {
			return nil, err
		}
		var out any
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, err
		}
		return out, nil
	case []any:
		for i := range x {
			e, err := evalValue(x[i], pos, sc, text)
			if err != nil {
				return nil, err
			}
			x[i] = e
		}
		return x, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e, err := evalValue(x[k], pos, sc, text)
			if err != nil {
				return nil, err
			}
			x[k] = e
		}
		return x, nil
	}
	return v, nil
}

// asText turns the numbers and bools in v, at any depth, into strings
// (HCL's conversion, as in "${x}" inside a longer string).
func asText(v cty.Value) cty.Value {
	if !v.IsKnown() || v.IsNull() {
		return v
	}
	t := v.Type()
	switch {
	case t == cty.Number || t == cty.Bool:
		if s, err := convert.Convert(v, cty.String); err == nil {
			return s
		}
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		var elems []cty.Value
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			elems = append(elems, asText(e))
		}
		if len(elems) == 0 {
			return v
		}
		return cty.TupleVal(elems)
	case t.IsMapType() || t.IsObjectType():
		attrs := map[string]cty.Value{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			attrs[k.AsString()] = asText(e)
		}
		if len(attrs) == 0 {
			return v
		}
		return cty.ObjectVal(attrs)
	}
	return v
}

// evalWait returns how long a wait step waits from now.
func (r *run) evalWait(with json.RawMessage, now time.Time) (time.Duration, error) {
	var in struct {
		Duration string `json:"duration"`
		Until    string `json:"until"`
	}
	if err := json.Unmarshal(with, &in); err != nil {
		return 0, fmt.Errorf("wait: %w", err)
	}
	if in.Duration != "" {
		d, err := time.ParseDuration(in.Duration)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("wait: duration %q is not a duration", in.Duration)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, in.Until)
	if err != nil {
		return 0, fmt.Errorf("wait: until %q is not an RFC 3339 time", in.Until)
	}
	return max(t.Sub(now), 0), nil
}

func diagText(diags hcl.Diagnostics) string {
	var d *hcl.Diagnostic
	for _, x := range diags {
		if x.Severity == hcl.DiagError {
			d = x
			break
		}
	}
	if d == nil {
		return diags.Error()
	}
	msg := d.Summary
	if d.Detail != "" {
		msg += ": " + d.Detail
	}
	if d.Subject != nil {
		msg = fmt.Sprintf("%s:%d:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, msg)
	}
	return msg
}
