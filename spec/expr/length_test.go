package expr

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestLength(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    cty.Value
		want cty.Value
		err  string
	}{
		{"object (a mapping parameter's value)", cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("1"), "b": cty.True}), cty.NumberIntVal(2), ""},
		{"tuple (a decoded JSON list)", cty.TupleVal([]cty.Value{cty.StringVal("x"), cty.NumberIntVal(1)}), cty.NumberIntVal(2), ""},
		{"map", cty.MapVal(map[string]cty.Value{"a": cty.StringVal("1")}), cty.NumberIntVal(1), ""},
		{"list", cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b"), cty.StringVal("c")}), cty.NumberIntVal(3), ""},
		{"empty object", cty.EmptyObjectVal, cty.NumberIntVal(0), ""},
		{"string, in characters", cty.StringVal("déjà"), cty.NumberIntVal(4), ""},
		{"unknown map (a parameter without a value)", cty.UnknownVal(cty.Map(cty.DynamicPseudoType)), cty.UnknownVal(cty.Number), ""},
		{"unknown", cty.DynamicVal, cty.UnknownVal(cty.Number), ""},
		{"number", cty.NumberIntVal(3), cty.NilVal, "length takes a list, a map, an object, a tuple or a string, not number"},
		{"null", cty.NullVal(cty.List(cty.String)), cty.NilVal, "argument must not be null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lengthFunc.Call([]cty.Value{tc.v})
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.RawEquals(tc.want) {
				t.Errorf("length = %#v, want %#v", got, tc.want)
			}
		})
	}
}
