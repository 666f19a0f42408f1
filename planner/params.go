package planner

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"gopkg.in/yaml.v3"

	"github.com/pipectl/pipectl/spec"
)

// params resolves every parameter's value: the override if given, else the
// default. A parameter with neither is an error (unless
// Options.AllowUnsetParams), as is an override of a parameter the spec
// does not declare.
func (c *compiler) params(p *spec.Pipeline, overrides map[string]string) map[string]any {
	out := map[string]any{}
	names := make([]string, 0, len(p.Params))
	for _, prm := range p.Params {
		names = append(names, prm.Name)
		c.credentialParam(prm, overrides)
		if c.givenParam(p, prm, out) {
			continue
		}
		if raw, ok := overrides[prm.Name]; ok {
			v, err := ParseParam(prm.Type, raw)
			if err != nil {
				c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError,
					Summary: fmt.Sprintf("Invalid value for parameter %q", prm.Name),
					Detail:  fmt.Sprintf("--param %s=%s: %s.", prm.Name, raw, err), Subject: prm.Range.Ptr()})
				// Unknown when planning, of its type, so that the
				// templates reading it are checked without follow-on
				// errors.
				c.runtimeParam(prm)
				continue
			}
			out[prm.Name] = jsonValue(v)
			continue
		}
		if prm.Default == nil {
			// Unknown when planning, so that templates reading it are
			// not reported as well.
			c.runtimeParam(prm)
			if c.opts.parent != nil {
				c.errorOn(c.opts.parent.at, c.opts.parent.atPath, "Parameter has no value", "Sub-pipeline %s needs parameter %q, which has no default: give it in with.params.", p.Name, prm.Name)
				continue
			}
			if c.opts.AllowUnsetParams {
				c.unset = append(c.unset, prm.Name)
				continue
			}
			c.errorf(prm.Range, "Parameter has no value", "Parameter %q has no default: give one with --param %s=VALUE.", prm.Name, prm.Name)
			continue
		}
		out[prm.Name] = jsonValue(prm.Default.Raw)
	}
	c.unknownGiven(p, names)
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(names, k) {
			detail := fmt.Sprintf("The spec declares no parameter %q", k)
			if sug := spec.Suggest(k, names); sug != "" {
				detail += fmt.Sprintf("; did you mean %q?", sug)
			} else if len(names) > 0 {
				detail += "; it has: " + strings.Join(names, ", ") + "."
			} else {
				detail += "; it has none."
			}
			c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown parameter", Detail: detail})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ParseParam reads a command-line parameter value as the given type: a
// string as is; a number or bool as written; a list or map as JSON.
func ParseParam(t spec.ParamType, raw string) (any, error) {
	switch t {
	case spec.ParamNumber:
		if i, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", raw)
		}
		return f, nil
	case spec.ParamBool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", raw)
		}
		return b, nil
	case spec.ParamList:
		var l []any
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			return nil, fmt.Errorf("a list parameter is given as a JSON list, such as [\"a\",\"b\"]")
		}
		return l, nil
	case spec.ParamMap:
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, fmt.Errorf("a map parameter is given as a JSON object, such as {\"k\":\"v\"}")
		}
		return m, nil
	}
	return raw, nil
}

// env reads the environment variables the spec opted into.
func (c *compiler) env(p *spec.Pipeline, lookup func(string) (string, bool)) map[string]string {
	if len(p.Env) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, ref := range p.Env {
		if lookup == nil {
			out[ref.Name] = ""
			continue
		}
		v, ok := lookup(ref.Name)
		if !ok && c.opts.AllowUnsetParams {
			// Unknown when planning (see paramsAndEnv), as a
			// parameter without a value is.
			c.unsetEnv = append(c.unsetEnv, ref.Name)
			continue
		}
		if !ok {
			c.errorf(ref.Range, "Environment variable not set", "The spec reads env.%s, but %s is not set in the environment of this command.", ref.Name, ref.Name)
			continue
		}
		out[ref.Name] = v
	}
	return out
}

// credentialParam refuses a credential given as a parameter's value: a
// parameter named like one (db_password, api_token) with a string or
// number default or --param value, or a map or list parameter whose value
// holds one under a key named like one ({host: db1, password: x}).
// Parameters are stored in the plan, and so in workflow history, in clear
// text; a credential belongs to the worker, as a secret.
func (c *compiler) credentialParam(prm *spec.Param, overrides map[string]string) {
	const detail = "Parameter %q %s, and %s stored in the plan and in workflow history in clear text. Give the credential to the worker and write ${secret.NAME} where it is used, in a step's with."
	named := credentialKey(prm.Name)
	if raw, ok := overrides[prm.Name]; ok && raw != "" {
		switch {
		case prm.Type == spec.ParamBool:
		case named && prm.Type != spec.ParamList && prm.Type != spec.ParamMap:
			c.errorf(prm.Range, "Literal credential", detail, prm.Name, "is named like a credential", "a --param value is")
		case prm.Type == spec.ParamList || prm.Type == spec.ParamMap:
			v, err := ParseParam(prm.Type, raw)
			if err != nil {
				return // reported as an invalid value
			}
			if key, ok := jsonCredential(v, prm.Name, named); ok {
				c.errorf(prm.Range, "Literal credential", detail, prm.Name, fmt.Sprintf("holds a credential under %q", key), "a --param value is")
			}
		}
	}
	// The default is refused even when overridden: the spec is shared.
	if prm.Default == nil || prm.Default.Node == nil {
		return
	}
	var walk func(n *yaml.Node, key string, cred bool)
	walk = func(n *yaml.Node, key string, cred bool) {
		switch n.Kind {
		case yaml.ScalarNode:
			if !cred || !literalScalar(n) {
				return
			}
			if key == prm.Name {
				c.errorf(c.rng(n), "Literal credential", detail, prm.Name, "is named like a credential", "its default is")
				return
			}
			c.errorf(c.rng(n), "Literal credential", detail, prm.Name, fmt.Sprintf("holds a credential under %q", key), "its default is")
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				walk(n.Content[i+1], k, cred || credentialKey(k))
			}
		case yaml.SequenceNode:
			for _, e := range n.Content {
				walk(e, key, cred)
			}
		case yaml.AliasNode:
			if n.Alias != nil {
				walk(n.Alias, key, cred)
			}
		}
	}
	walk(prm.Default.Node, prm.Name, named)
}

// literalScalar reports whether n could hold a credential: a non-empty
// string or a number; null and bools are settings (use_token: true).
func literalScalar(n *yaml.Node) bool {
	switch n.Tag {
	case "!!null", "!!bool":
		return false
	case "!!str":
		return n.Value != ""
	}
	return true
}

// jsonCredential returns the first credential-named key (in sorted order)
// of v, a parameter's value read from JSON, that holds a non-empty string
// or a number; cred says v is itself under such a key, named key.
func jsonCredential(v any, key string, cred bool) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if found, ok := jsonCredential(v[k], k, cred || credentialKey(k)); ok {
				return found, true
			}
		}
	case []any:
		for _, e := range v {
			if found, ok := jsonCredential(e, key, cred); ok {
				return found, true
			}
		}
	case string:
		return key, cred && v != ""
	case float64, json.Number:
		return key, cred
	}
	return "", false
}
