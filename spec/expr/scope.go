package expr

import (
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Run is what `run.*` holds.
type Run struct {
	ID       string
	Pipeline string
	// LogicalTime is the schedule's nominal time for scheduled and
	// backfilled runs, the start time otherwise: what a run "is for".
	LogicalTime time.Time
	StartedTime time.Time
	Attempt     int
}

// Scope is everything a template can see at one point of a run.
type Scope struct {
	Params map[string]cty.Value
	// Steps holds the outputs of finished steps, by step id: strings, or
	// lists of strings for a for_each step.
	Steps map[string]map[string]any
	Run   Run
	// Item is the current for_each element, cty.NilVal outside one.
	Item cty.Value
	Env  map[string]string
}

// SecretPlaceholder is what `secret.NAME` evaluates to outside an
// activity: the reference itself, which the activity replaces with the
// credential (ResolveSecrets). The workflow never sees a credential.
func SecretPlaceholder(name string) string { return "${secret." + name + "}" }

var secretRefRE = regexp.MustCompile(`\$\{secret\.([A-Za-z_][A-Za-z0-9_-]*)\}`)

// SecretNames returns the secrets s refers to after evaluation.
func SecretNames(s string) []string {
	var names []string
	for _, m := range secretRefRE.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1])
	}
	return names
}

// ResolveSecrets replaces secret placeholders in s with the credentials
// lookup returns; it fails on the first unknown name.
func ResolveSecrets(s string, lookup func(name string) (string, error)) (string, error) {
	var err error
	out := secretRefRE.ReplaceAllStringFunc(s, func(m string) string {
		if err != nil {
			return ""
		}
		v, lerr := lookup(secretRefRE.FindStringSubmatch(m)[1])
		if lerr != nil {
			err = lerr
		}
		return v
	})
	return out, err
}

// EvalContext builds the HCL evaluation context of the scope. Secrets are
// placeholders (see SecretPlaceholder) for the names given.
func (s Scope) EvalContext(secrets []string) *hcl.EvalContext {
	vars := map[string]cty.Value{
		RootParams: objectOf(s.Params),
		RootRun: cty.ObjectVal(map[string]cty.Value{
			"id":           cty.StringVal(s.Run.ID),
			"pipeline":     cty.StringVal(s.Run.Pipeline),
			"logical_time": cty.StringVal(s.Run.LogicalTime.UTC().Format(time.RFC3339)),
			"started_time": cty.StringVal(s.Run.StartedTime.UTC().Format(time.RFC3339)),
			"attempt":      cty.NumberIntVal(int64(s.Run.Attempt)),
		}),
	}
	steps := map[string]cty.Value{}
	for id, outs := range s.Steps {
		o := map[string]cty.Value{}
		for k, v := range outs {
			cv, err := FromGo(v)
			if err != nil {
				cv = cty.DynamicVal
			}
			o[k] = cv
		}
		steps[id] = cty.ObjectVal(map[string]cty.Value{"outputs": objectOf(o)})
	}
	vars[RootSteps] = objectOf(steps)
	if s.Item != cty.NilVal {
		vars[RootItem] = s.Item
	}
	env := map[string]cty.Value{}
	for k, v := range s.Env {
		env[k] = cty.StringVal(v)
	}
	vars[RootEnv] = objectOf(env)
	sec := map[string]cty.Value{}
	for _, n := range secrets {
		sec[n] = cty.StringVal(SecretPlaceholder(n))
	}
	vars[RootSecret] = objectOf(sec)
	return &hcl.EvalContext{Variables: vars, Functions: Functions()}
}

func objectOf(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// Eval evaluates the template src (which starts at pos in filename) in the
// scope and returns its value.
func Eval(src, filename string, pos hcl.Pos, s Scope) (cty.Value, hcl.Diagnostics) {
	e, diags := Parse(src, filename, pos)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	var secrets []string
	for _, r := range Refs(e) {
		if r.Root == RootSecret && len(r.Path) > 0 {
			secrets = append(secrets, r.Path[0])
		}
	}
	v, more := e.Value(s.EvalContext(secrets))
	return v, append(diags, more...)
}

// EvalString evaluates a template whose result must be a string (numbers
// and bools are converted).
func EvalString(src, filename string, pos hcl.Pos, s Scope) (string, hcl.Diagnostics) {
	v, diags := Eval(src, filename, pos, s)
	if diags.HasErrors() {
		return "", diags
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil || sv.IsNull() || !sv.IsKnown() {
		return "", append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Expected a string",
			Detail: fmt.Sprintf("The template gives %s, not a string.", v.Type().FriendlyName())})
	}
	return sv.AsString(), diags
}

// EvalBool evaluates a condition, which must give a bool.
func EvalBool(src, filename string, pos hcl.Pos, s Scope) (bool, hcl.Diagnostics) {
	v, diags := Eval(src, filename, pos, s)
	if diags.HasErrors() {
		return false, diags
	}
	bv, err := convert.Convert(v, cty.Bool)
	if err != nil || bv.IsNull() || !bv.IsKnown() {
		return false, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Condition is not a bool",
			Detail: fmt.Sprintf("An `if` must give true or false; this one gives %s.", v.Type().FriendlyName())})
	}
	return bv.True(), diags
}

// ToJSON converts a value to plain JSON-able Go data.
func ToJSON(v cty.Value) ([]byte, error) {
	return ctyjson.Marshal(v, v.Type())
}

// FromGo converts decoded YAML/JSON data (string, bool, int, float64,
// []any, map[string]any) into a cty value, for params.
func FromGo(v any) (cty.Value, error) {
	switch x := v.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType), nil
	case string:
		return cty.StringVal(x), nil
	case bool:
		return cty.BoolVal(x), nil
	case int:
		return cty.NumberIntVal(int64(x)), nil
	case int64:
		return cty.NumberIntVal(x), nil
	case float64:
		return cty.NumberFloatVal(x), nil
	case []any:
		if len(x) == 0 {
			return cty.EmptyTupleVal, nil
		}
		vals := make([]cty.Value, 0, len(x))
		for _, e := range x {
			cv, err := FromGo(e)
			if err != nil {
				return cty.NilVal, err
			}
			vals = append(vals, cv)
		}
		return cty.TupleVal(vals), nil
	case map[string]any:
		if len(x) == 0 {
			return cty.EmptyObjectVal, nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vals := make(map[string]cty.Value, len(x))
		for _, k := range keys {
			cv, err := FromGo(x[k])
			if err != nil {
				return cty.NilVal, err
			}
			vals[k] = cv
		}
		return cty.ObjectVal(vals), nil
	}
	return cty.NilVal, fmt.Errorf("unsupported value of type %T", v)
}
