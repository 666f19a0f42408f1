package planner

import (
	"fmt"
	"sort"
)

// InputType is the type of one input of a step kind.
type InputType int

const (
	TypeString InputType = iota
	TypeStringList
	TypeStringMap
)

func (t InputType) String() string {
	switch t {
	case TypeStringList:
		return "a list of strings"
	case TypeStringMap:
		return "a mapping of strings"
	}
	return "a string"
}

// Input describes one field of a step's `with`.
type Input struct {
	Name     string
	Type     InputType
	Required bool
	Doc      string
}

// Kind describes a step kind: what it runs and the inputs it takes.
type Kind struct {
	Name   string
	Doc    string
	Inputs []Input
}

// Kinds is the table of every step kind the planner accepts. It is built
// here, in one place, so that the planner, the docs and the worker agree.
func Kinds() []Kind {
	return []Kind{
		{
			Name: "dli.sql",
			Doc:  "Runs a Spark SQL statement as a DLI SQL job and waits for it to finish.",
			Inputs: []Input{
				{Name: "sql", Type: TypeString, Required: true, Doc: "the SQL statement"},
				{Name: "queue", Type: TypeString, Doc: "DLI queue to run on (default: the project's default queue)"},
				{Name: "database", Type: TypeString, Doc: "default database for unqualified table names"},
				{Name: "conf", Type: TypeStringMap, Doc: "Spark/DLI settings, e.g. spark.sql.shuffle.partitions: \"200\""},
			},
		},
	}
}

// LookupKind returns the kind called name.
func LookupKind(name string) (Kind, bool) {
	for _, k := range Kinds() {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

func kindNames() []string {
	var names []string
	for _, k := range Kinds() {
		names = append(names, k.Name)
	}
	sort.Strings(names)
	return names
}

func (k Kind) input(name string) (Input, bool) {
	for _, in := range k.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}

// convert checks v against the input's type and returns its JSON form.
func (in Input) convert(v any) (any, error) {
	switch in.Type {
	case TypeString:
		switch x := v.(type) {
		case string:
			return x, nil
		case int, int64, float64, bool:
			return fmt.Sprint(x), nil
		}
	case TypeStringList:
		list, ok := v.([]any)
		if !ok {
			break
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, ok := scalarString(e)
			if !ok {
				return nil, fmt.Errorf("every item must be a string, found %T", e)
			}
			out = append(out, s)
		}
		return out, nil
	case TypeStringMap:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys) // report the same bad value on every run
		out := make(map[string]string, len(m))
		for _, k := range keys {
			e := m[k]
			s, ok := scalarString(e)
			if !ok {
				return nil, fmt.Errorf("value of %q must be a string, found %T", k, e)
			}
			out[k] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected %s", in.Type)
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int, int64, float64, bool:
		return fmt.Sprint(x), true
	}
	return "", false
}
