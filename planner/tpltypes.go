package planner

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"

	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/spec/expr"
)

// shape is what a template must give where it is written, by the type of
// the field that holds it. It is checked when planning against the type
// of the template's value, which is known even where the value is not: a
// step's outputs are strings, a for_each step's lists of strings, the
// parameters given only when the run starts have their declared types.
type shape int

const (
	// shapeAny takes any value: inside a mapping or list input, whose
	// contents are the service's business.
	shapeAny shape = iota
	// shapeText takes a string, a number or a bool (numbers and bools
	// are turned into their text, as when written literally).
	shapeText
	// shapeNumber and shapeBool take their type, or a string, which the
	// step reads as one when it runs (a step's outputs are strings).
	shapeNumber
	shapeBool
	shapeList
	shapeMap
	// shapeTextList and shapeTextMap are lists and mappings of text.
	shapeTextList
	shapeTextMap
	// shapeStatusList is a list of HTTP status codes, and shapeStatus one
	// of them: a number, and not a string, which the worker does not read
	// as one.
	shapeStatusList
	shapeStatus
)

// inputShape is the shape of an input's whole value.
func inputShape(in Input) shape {
	switch in.Type {
	case TypeNumber:
		return shapeNumber
	case TypeBool:
		return shapeBool
	case TypeList:
		return shapeList
	case TypeObject:
		return shapeMap
	case TypeStringList:
		return shapeTextList
	case TypeStringMap:
		return shapeTextMap
	case TypeStatusList:
		return shapeStatusList
	}
	return shapeText // strings, URLs, durations and times
}

// elem is the shape of the items of a list, or the values of a mapping,
// of shape w.
func (w shape) elem() shape {
	switch w {
	case shapeTextList, shapeTextMap:
		return shapeText
	case shapeStatusList:
		return shapeStatus
	}
	return shapeAny
}

// within is where in an input a template is: the input itself, an item
// of it (a list), or the value of key (a mapping).
type within struct {
	item bool
	key  string
}

// expected says what a value of shape w must be, for messages, in the
// words Input.convert uses for literals.
func (w shape) expected(at within) string {
	switch {
	case at.item && w == shapeText:
		return "every item must be a string"
	case w == shapeStatus:
		return fmt.Sprintf("every item must be an HTTP status code, a whole number from %d to %d", minStatus, maxStatus)
	case w == shapeStatusList:
		return "expected a list of HTTP status codes"
	case at.key != "" && w == shapeText:
		return fmt.Sprintf("value of %q must be a string", at.key)
	case w == shapeText:
		return "expected a string"
	case w == shapeNumber:
		return "expected a number"
	case w == shapeBool:
		return "expected true or false"
	case w == shapeList:
		return "expected a list"
	case w == shapeMap:
		return "expected a mapping"
	case w == shapeTextList:
		return "expected a list of strings"
	case w == shapeTextMap:
		return "expected a mapping of strings"
	}
	return "expected any value"
}

// walkTemplates calls f for every string holding a template under n, a
// value of shape want, with the shape of the template's place and where
// it is.
func walkTemplates(n *yaml.Node, want shape, at within, f func(n *yaml.Node, want shape, at within)) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" && expr.HasTemplate(n.Value) {
			f(n, want, at)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			walkTemplates(c, want.elem(), within{item: true}, f)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Tag == "!!merge" {
				// The mappings merged in are of this one's shape.
				v := n.Content[i+1]
				for v.Kind == yaml.AliasNode && v.Alias != nil {
					v = v.Alias
				}
				srcs := []*yaml.Node{v}
				if v.Kind == yaml.SequenceNode {
					srcs = v.Content
				}
				for _, src := range srcs {
					walkTemplates(src, want, at, f)
				}
				continue
			}
			walkTemplates(n.Content[i+1], want.elem(), within{key: n.Content[i].Value}, f)
		}
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walkTemplates(c, want, at, f)
		}
	case yaml.AliasNode:
		walkTemplates(n.Alias, want, at, f)
	}
}

// fits reports whether a template's value, as far as it is known when
// planning, can be where want is. A value of unknown type fits anywhere:
// it is checked when the step runs.
func fits(v cty.Value, want shape) bool {
	t := v.Type()
	if want == shapeAny {
		return true
	}
	if v.IsKnown() && v.IsNull() {
		return false
	}
	if t == cty.DynamicPseudoType {
		return true
	}
	switch want {
	case shapeText:
		return t.IsPrimitiveType()
	case shapeNumber:
		return t == cty.Number || t == cty.String
	case shapeBool:
		return t == cty.Bool || t == cty.String
	case shapeList:
		return isList(t)
	case shapeMap:
		return isMap(t)
	case shapeTextList:
		return isList(t) && elemsArePrimitive(t)
	case shapeTextMap:
		return isMap(t) && elemsArePrimitive(t)
	case shapeStatus:
		return t == cty.Number
	case shapeStatusList:
		return isList(t) && elemsAreNumbers(t)
	}
	return true
}

// isCondition reports whether v, an `if`'s value when planning, is a bool
// or of a type not known yet.
func isCondition(v cty.Value) bool {
	if v.IsKnown() && v.IsNull() {
		return false
	}
	return v.Type() == cty.Bool || v.Type() == cty.DynamicPseudoType
}

func isList(t cty.Type) bool { return t.IsListType() || t.IsTupleType() || t.IsSetType() }

func isMap(t cty.Type) bool { return t.IsMapType() || t.IsObjectType() }

// elemsArePrimitive reports whether every element type of a collection
// type is a string, number or bool, or not known yet.
func elemsArePrimitive(t cty.Type) bool {
	var elems []cty.Type
	switch {
	case t.IsListType(), t.IsSetType(), t.IsMapType():
		elems = []cty.Type{t.ElementType()}
	case t.IsTupleType():
		elems = t.TupleElementTypes()
	case t.IsObjectType():
		for _, at := range t.AttributeTypes() {
			elems = append(elems, at)
		}
	}
	for _, e := range elems {
		if !e.IsPrimitiveType() && e != cty.DynamicPseudoType {
			return false
		}
	}
	return true
}

// elemsAreNumbers reports whether every element type of list type t is a
// number, or not known yet.
func elemsAreNumbers(t cty.Type) bool {
	elems := []cty.Type{}
	switch {
	case t.IsListType(), t.IsSetType():
		elems = append(elems, t.ElementType())
	case t.IsTupleType():
		elems = t.TupleElementTypes()
	}
	for _, e := range elems {
		if e != cty.Number && e != cty.DynamicPseudoType {
			return false
		}
	}
	return true
}

// valueName names what a template gives, for messages, as describeValue
// names a literal.
func valueName(v cty.Value) string {
	if v.IsKnown() && v.IsNull() {
		return "nothing (null)"
	}
	return typeName(v.Type())
}

// typeName names a type for messages.
func typeName(t cty.Type) string {
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "a bool"
	case isList(t):
		if !elemsArePrimitive(t) {
			return "a list of lists or mappings"
		}
		return "a list"
	case isMap(t):
		if !elemsArePrimitive(t) {
			return "a mapping of lists or mappings"
		}
		return "a mapping"
	}
	return t.FriendlyName()
}

// interpolations reports the interpolations in e, a template, that give
// a list or a mapping inside a longer string. HCL reports those whose
// value is known; it lets an unknown value of any type through, and when
// planning many are unknown: a for_each step's outputs, which are lists,
// or a parameter given when the run starts. It returns false when it
// reported any.
func (c *compiler) interpolations(e hclsyntax.Expression, ctx *hcl.EvalContext, m *spec.ValueMap) bool {
	ok := true
	_ = hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		t, isTemplate := n.(*hclsyntax.TemplateExpr)
		if !isTemplate {
			return nil
		}
		for _, part := range t.Parts {
			if _, lit := part.(*hclsyntax.LiteralValueExpr); lit {
				continue
			}
			// Parts that read a `for`'s own variables fail to evaluate
			// alone; they are left to HCL.
			v, diags := part.Value(ctx)
			if diags.HasErrors() || v.IsKnown() || v.Type().IsPrimitiveType() || v.Type() == cty.DynamicPseudoType {
				continue
			}
			hint := `join(",", …) makes one string of a list`
			if isMap(v.Type()) {
				hint = "jsonencode(…) makes one string of a mapping"
			}
			c.errorf(m.Range(part.Range()), "Invalid template interpolation value",
				"This gives %s, which cannot be part of a string; %s.", typeName(v.Type()), hint)
			ok = false
		}
		return nil
	})
	return ok
}
