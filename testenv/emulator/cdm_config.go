package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// cdmConfigValues is CDM's ConfigValues: from-/to-/driver-config-values of
// a job and link-config-values of a link. Inputs are opaque data: stored
// and returned, never interpreted beyond their names.
type cdmConfigValues struct {
	Configs []cdmConfig `json:"configs"`
	// ExtendedConfigs ({name, value}) and Validators only occur on links.
	ExtendedConfigs json.RawMessage `json:"extended-configs,omitempty"`
	Validators      []string        `json:"validators,omitempty"`
}

type cdmConfig struct {
	Name string `json:"name"`
	// ID and Type are marked mandatory in the tables but no sample sends
	// them, so they are optional here and echoed when given.
	ID     int64     `json:"id,omitempty"`
	Type   string    `json:"type,omitempty"`
	Inputs cdmInputs `json:"inputs"`
}

// cdmInput is one name/value input. The tables call the value "values",
// every sample "value": both are accepted and "value" is written. Values
// are strings in most samples and JSON booleans or numbers in some (@3896,
// @4060); the raw JSON is kept so that each comes back as it was sent.
type cdmInput struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value,omitempty"`
	// Sensitive is set only on copies returned by "Querying a Link", whose
	// sample leaves the password's value out and marks it (@4076).
	Sensitive bool `json:"sensitive,omitempty"`
}

func (in *cdmInput) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name   string          `json:"name"`
		Value  json.RawMessage `json:"value"`
		Values json.RawMessage `json:"values"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	in.Name, in.Value = raw.Name, raw.Value
	if len(in.Value) == 0 {
		in.Value = raw.Values
	}
	return nil
}

// text is the input's value as a string: a JSON string unquoted, anything
// else as its JSON text.
func (in cdmInput) text() string {
	var s string
	if json.Unmarshal(in.Value, &s) == nil {
		return s
	}
	return string(in.Value)
}

// cdmInputs reads both spellings of an empty input list: most samples
// write "inputs": { } (e.g. @2500), the random-cluster one "inputs": [ ].
// It is always written as an array, as the tables say.
type cdmInputs []cdmInput

func (ins *cdmInputs) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return err
		}
		if len(m) > 0 {
			return errors.New("inputs must be an array of {name, value}")
		}
		*ins = cdmInputs{}
		return nil
	}
	var list []cdmInput
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*ins = list
	return nil
}

func (ins cdmInputs) MarshalJSON() ([]byte, error) {
	if ins == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]cdmInput(ins))
}

// check returns what is structurally wrong with cv, or "": every config
// needs a name, and every input a name qualified by its config's name
// ("fromJobConfig.tableName"), as all samples and tables have them.
func (cv *cdmConfigValues) check(field string) string {
	for i, c := range cv.Configs {
		if c.Name == "" {
			return fmt.Sprintf("%s.configs[%d].name is mandatory", field, i)
		}
		for j, in := range c.Inputs {
			if !strings.HasPrefix(in.Name, c.Name+".") || len(in.Name) == len(c.Name)+1 {
				return fmt.Sprintf("%s.configs[%d].inputs[%d].name %q must start with %q", field, i, j, in.Name, c.Name+".")
			}
		}
	}
	return ""
}

// clone deep-copies cv so that stored state shares nothing with requests
// or responses. Empty lists come out as they are written (configs and
// inputs [], validators left out), so that a copy survives a JSON round
// trip unchanged.
func (cv cdmConfigValues) clone() cdmConfigValues {
	out := cdmConfigValues{
		Configs:         make([]cdmConfig, len(cv.Configs)),
		ExtendedConfigs: bytes.Clone(cv.ExtendedConfigs),
	}
	if len(cv.Validators) > 0 {
		out.Validators = slices.Clone(cv.Validators)
	}
	for i, c := range cv.Configs {
		c.Inputs = cdmCloneInputs(c.Inputs)
		out.Configs[i] = c
	}
	return out
}

func cdmCloneInputs(ins cdmInputs) cdmInputs {
	out := make(cdmInputs, len(ins))
	for i, in := range ins {
		in.Value = bytes.Clone(in.Value)
		out[i] = in
	}
	return out
}

// redacted is a copy fit for a link query: sensitive values are left out
// and marked, as the query sample does with linkConfig.password.
func (cv cdmConfigValues) redacted() cdmConfigValues {
	out := cv.clone()
	for i := range out.Configs {
		for j := range out.Configs[i].Inputs {
			in := &out.Configs[i].Inputs[j]
			if cdmSensitive(in.Name) {
				in.Value, in.Sensitive = nil, true
			}
		}
	}
	return out
}

// inputs flattens cv to input name → value text, for introspection.
func (cv cdmConfigValues) inputs() map[string]string {
	m := map[string]string{}
	for _, c := range cv.Configs {
		for _, in := range c.Inputs {
			m[in.Name] = in.text()
		}
	}
	return m
}

// input returns the text of the named input, or "".
func (cv cdmConfigValues) input(name string) string {
	for _, c := range cv.Configs {
		for _, in := range c.Inputs {
			if in.Name == name {
				return in.text()
			}
		}
	}
	return ""
}

// cdmSensitive reports whether an input holds a secret (a password, an
// OBS securityKey, a DIS/DLI sk): such values are stored but never logged
// nor returned by a link query.
func cdmSensitive(name string) bool {
	key := strings.ToLower(name[strings.LastIndex(name, ".")+1:])
	switch key {
	case "password", "securitykey", "sk", "secretkey":
		return true
	}
	return strings.Contains(key, "password")
}
