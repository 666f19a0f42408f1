package expr

import (
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// lengthFunc is go-cty's length that also takes what a parameter or a
// decoded JSON document gives: a mapping is an object there, a list may be
// a tuple, and a string is counted in characters, as Terraform's length
// does. go-cty's own refuses objects, so `length(params.m)` passed
// planning (where m is an unknown map) and failed once m had a value.
var lengthFunc = function.New(&function.Spec{
	Description: "Returns the number of elements of a list, map, object or tuple, or the number of characters of a string.",
	Params: []function.Parameter{{
		Name:             "collection",
		Type:             cty.DynamicPseudoType,
		AllowDynamicType: true,
		AllowUnknown:     true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) {
		t := args[0].Type()
		switch {
		case t == cty.DynamicPseudoType, t == cty.String,
			t.IsListType(), t.IsMapType(), t.IsSetType(), t.IsTupleType(), t.IsObjectType():
			return cty.Number, nil
		}
		return cty.NilType, function.NewArgErrorf(0, "length takes a list, a map, an object, a tuple or a string, not %s", t.FriendlyName())
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		t := v.Type()
		switch {
		case t.IsObjectType():
			return cty.NumberIntVal(int64(len(t.AttributeTypes()))), nil
		case t.IsTupleType():
			return cty.NumberIntVal(int64(len(t.TupleElementTypes()))), nil
		case !v.IsKnown():
			return cty.UnknownVal(cty.Number), nil
		case t == cty.String:
			return stdlib.Strlen(v)
		}
		return v.Length(), nil
	},
})
