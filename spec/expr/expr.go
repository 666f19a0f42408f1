// Package expr parses and evaluates the `${...}` templates of pipeline
// specs. Templates are HCL template expressions (hclsyntax) over go-cty's
// standard functions; the same code checks them in the planner and
// evaluates them in the workflow, so it has no I/O and only deterministic
// functions: a replayed workflow must compute the same values.
//
// Names a template can use:
//
//	params.NAME              the pipeline's parameters
//	steps.ID.outputs.NAME    outputs of a step the template's step depends on
//	run.id, run.pipeline, run.logical_time, run.started_time, run.attempt
//	item                     the current element inside a for_each step
//	env.NAME                 an environment variable of whoever applies the spec, only if the spec lists it under `env`
//	secret.NAME              a credential, resolved by the worker inside the activity, never in the workflow
package expr

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Root names a template may refer to.
const (
	RootParams = "params"
	RootSteps  = "steps"
	RootRun    = "run"
	RootItem   = "item"
	RootEnv    = "env"
	RootSecret = "secret"
)

// Roots lists every root name, for suggestions.
func Roots() []string {
	return []string{RootParams, RootSteps, RootRun, RootItem, RootEnv, RootSecret}
}

// RunFields are the attributes of `run`.
func RunFields() []string {
	return []string{"id", "pipeline", "logical_time", "started_time", "attempt"}
}

// HasTemplate reports whether s contains a `${` interpolation or a `%{`
// directive, i.e. whether it needs evaluating at all. `$${` is an escape.
func HasTemplate(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if (s[i] == '$' || s[i] == '%') && s[i+1] == '{' {
			if i > 0 && s[i-1] == s[i] {
				continue
			}
			return true
		}
	}
	return false
}

// Parse parses s as a template. start is where s begins: the positions
// of diagnostics and expressions count from it. A template written in a
// YAML string is not its source text (quotes, escapes and folded lines
// come between), so the planner parses from hcl.InitialPos, which makes
// each position's Byte an offset into s, and maps those offsets into the
// spec (spec.ValueMap).
func Parse(s, filename string, start hcl.Pos) (hclsyntax.Expression, hcl.Diagnostics) {
	return hclsyntax.ParseTemplate([]byte(s), filename, start)
}

// Ref is one variable reference in a template: its root and the path of
// attribute names after it (steps.load.outputs.rows → root "steps", path
// [load outputs rows]).
type Ref struct {
	Root  string
	Path  []string
	Range hcl.Range
}

// String renders the reference as written, e.g. "steps.load.outputs.rows".
func (r Ref) String() string { return strings.Join(append([]string{r.Root}, r.Path...), ".") }

// Refs returns the variable references of e, in source order.
func Refs(e hclsyntax.Expression) []Ref {
	var out []Ref
	for _, t := range e.Variables() {
		r := Ref{Root: t.RootName(), Range: t.SourceRange()}
	path:
		for _, step := range t[1:] {
			switch s := step.(type) {
			case hcl.TraverseAttr:
				r.Path = append(r.Path, s.Name)
			case hcl.TraverseIndex:
				if s.Key.Type() != cty.String {
					break path // a list index ends the named path
				}
				r.Path = append(r.Path, s.Key.AsString())
			default:
				break path
			}
		}
		out = append(out, r)
	}
	return out
}

// Functions returns the functions templates may call. All are pure: no
// clock, no randomness, no I/O.
func Functions() map[string]function.Function {
	return map[string]function.Function{
		"abs":           stdlib.AbsoluteFunc,
		"ceil":          stdlib.CeilFunc,
		"chomp":         stdlib.ChompFunc,
		"coalesce":      stdlib.CoalesceFunc,
		"coalescelist":  stdlib.CoalesceListFunc,
		"compact":       stdlib.CompactFunc,
		"concat":        stdlib.ConcatFunc,
		"contains":      stdlib.ContainsFunc,
		"csvdecode":     stdlib.CSVDecodeFunc,
		"distinct":      stdlib.DistinctFunc,
		"element":       stdlib.ElementFunc,
		"flatten":       stdlib.FlattenFunc,
		"floor":         stdlib.FloorFunc,
		"format":        stdlib.FormatFunc,
		"formatdate":    stdlib.FormatDateFunc,
		"formatlist":    stdlib.FormatListFunc,
		"indent":        stdlib.IndentFunc,
		"index":         stdlib.IndexFunc,
		"join":          stdlib.JoinFunc,
		"jsondecode":    stdlib.JSONDecodeFunc,
		"jsonencode":    stdlib.JSONEncodeFunc,
		"keys":          stdlib.KeysFunc,
		"length":        lengthFunc,
		"log":           stdlib.LogFunc,
		"lookup":        stdlib.LookupFunc,
		"lower":         stdlib.LowerFunc,
		"max":           stdlib.MaxFunc,
		"merge":         stdlib.MergeFunc,
		"min":           stdlib.MinFunc,
		"parseint":      stdlib.ParseIntFunc,
		"pow":           stdlib.PowFunc,
		"range":         stdlib.RangeFunc,
		"regex":         stdlib.RegexFunc,
		"regexall":      stdlib.RegexAllFunc,
		"regex_replace": stdlib.RegexReplaceFunc,
		"replace":       stdlib.ReplaceFunc,
		"reverse":       stdlib.ReverseListFunc,
		"signum":        stdlib.SignumFunc,
		"slice":         stdlib.SliceFunc,
		"sort":          stdlib.SortFunc,
		"split":         stdlib.SplitFunc,
		"strlen":        stdlib.StrlenFunc,
		"substr":        stdlib.SubstrFunc,
		"timeadd":       stdlib.TimeAddFunc,
		"title":         stdlib.TitleFunc,
		"trim":          stdlib.TrimFunc,
		"trimprefix":    stdlib.TrimPrefixFunc,
		"trimspace":     stdlib.TrimSpaceFunc,
		"trimsuffix":    stdlib.TrimSuffixFunc,
		"upper":         stdlib.UpperFunc,
		"values":        stdlib.ValuesFunc,
		"zipmap":        stdlib.ZipmapFunc,
	}
}
