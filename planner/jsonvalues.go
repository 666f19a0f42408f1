package planner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// A plan is a workflow's input: it is written to JSON and read back, and
// must come back as it was (Plan's UnmarshalJSON and jsonValue make sure of
// it). Values of `any` type — parameter values and literal for_each items —
// hold numbers. encoding/json reads every number into an `any` as a
// float64, which turned a parameter's int64 into a float64 on the way into
// the workflow and rounded integers beyond 2^53: a parameter written as
// 1234567890123456789 was 1234567890123456768 when the step ran. So numbers
// are kept as int64 when they are whole and in int64's range, float64
// otherwise, both when compiling and when reading a plan.

// jsonValue returns v (a value as spec.Load or ParseParam decode it) with
// every whole float64 in int64's range made an int64, which is how
// UnmarshalJSON reads it back. It does not modify v.
func jsonValue(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			return int64(x)
		}
	case int:
		return int64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	}
	return v
}

// fromJSON converts the json.Numbers of a value decoded with UseNumber: an
// integer that fits is an int64, any other number a float64.
func fromJSON(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("json: cannot unmarshal number %s into Go value of type float64", x)
		}
		return f, nil
	case []any:
		for i, e := range x {
			c, err := fromJSON(e)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
	case map[string]any:
		for k, e := range x {
			c, err := fromJSON(e)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
	}
	return v, nil
}

// UnmarshalJSON reads a plan as json.Marshal writes it, with the numbers
// in parameter values and for_each items as jsonValue makes them, so that a
// compiled plan survives the JSON round trip unchanged.
func (p *Plan) UnmarshalJSON(b []byte) error {
	type plain Plan // Plan without this method
	q := plain(*p)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&q); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Struct == "plain" {
			te.Struct = "Plan" // as the error would name it without this method
		}
		return err
	}
	for k, v := range q.Params {
		c, err := fromJSON(v)
		if err != nil {
			return fmt.Errorf("plan parameter %q: %w", k, err)
		}
		q.Params[k] = c
	}
	for _, s := range q.Steps {
		if s.ForEach == nil {
			continue
		}
		for i, e := range s.ForEach.Items {
			c, err := fromJSON(e)
			if err != nil {
				return fmt.Errorf("plan step %q: for_each: %w", s.ID, err)
			}
			s.ForEach.Items[i] = c
		}
	}
	*p = Plan(q)
	return nil
}
