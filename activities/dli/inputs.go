package dli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// InputInt is a whole number in a step's `with`. A template evaluates to
// a string when its value is one ("${params.cu}" with a string param), so
// a string holding a whole number is accepted too.
type InputInt int

func (n *InputInt) UnmarshalJSON(b []byte) error {
	text := b
	var s string
	if json.Unmarshal(b, &s) == nil {
		text = []byte(s)
	}
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(text)), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return fmt.Errorf("%s is not a whole number", b)
	}
	*n = InputInt(f)
	return nil
}

// InputBool is true or false in a step's `with`; like InputInt it also
// accepts the string a template may evaluate to.
type InputBool bool

func (v *InputBool) UnmarshalJSON(b []byte) error {
	text := b
	var s string
	if json.Unmarshal(b, &s) == nil {
		text = []byte(s)
	}
	x, err := strconv.ParseBool(string(bytes.TrimSpace(text)))
	if err != nil {
		return fmt.Errorf("%s is not true or false", b)
	}
	*v = InputBool(x)
	return nil
}

// intOr returns *n, or def when the step leaves it out.
func intOr(n *InputInt, def int) *int {
	v := def
	if n != nil {
		v = int(*n)
	}
	return &v
}

// boolOr returns *b, or def when the step leaves it out.
func boolOr(b *InputBool, def bool) *bool {
	v := def
	if b != nil {
		v = bool(*b)
	}
	return &v
}

// optInt is *n as an *int, nil when the step leaves it out.
func optInt(n *InputInt) *int {
	if n == nil {
		return nil
	}
	v := int(*n)
	return &v
}
