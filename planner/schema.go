package planner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pipectl/pipectl/spec"
)

// SchemaID is the $id of the pipeline spec's JSON Schema.
const SchemaID = "https://pipectl.dev/schema/pipeline.json"

// Patterns of the schema, as the loader and the planner check them. They use
// only the regular expression syntax that ECMA 262 (which JSON Schema
// prescribes) and Go's regexp share.
const (
	// identPattern is what the loader allows as a pipeline name or step id.
	identPattern = `^[a-z][a-z0-9_-]{0,62}$`
	// paramNamePattern is what the loader allows as a parameter name.
	paramNamePattern = `^[A-Za-z][A-Za-z0-9_]*$`
	// templatePattern matches a string that expr.HasTemplate finds a
	// template in: a ${ or %{ not escaped as $${ or %%{.
	templatePattern = `(^|[^$])\$\{|(^|[^%])%\{`
	// interpolationPattern matches a string with a ${ interpolation, which
	// is what `if` and `for_each` must hold when they are strings.
	interpolationPattern = `(^|[^$])\$\{`
	// timePattern is an RFC 3339 time, as time.Parse reads one.
	timePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.,][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`
	// endpointPattern is a service endpoint URL.
	endpointPattern = `^https?://`
)

// Durations as time.ParseDuration reads them: one or more number-unit
// pairs, such as 90s or 1h30m.
const (
	durationNumber = `([0-9]+(\.[0-9]*)?|\.[0-9]+)`
	durationUnit   = `(ns|us|µs|μs|ms|s|m|h)`
	// nonZeroNumber is a durationNumber with a digit other than 0.
	nonZeroNumber = `([0-9]*[1-9][0-9]*(\.[0-9]*)?|[0-9]*\.[0-9]*[1-9][0-9]*)`
	// positiveDurationPattern is what the loader takes for timeouts, retry
	// and poll intervals and catchup_window: a duration above zero.
	positiveDurationPattern = `^\+?(` + durationNumber + durationUnit + `)*` + nonZeroNumber + durationUnit +
		`(` + durationNumber + durationUnit + `)*$`
	// durationInputPattern is what a duration input of a step kind takes:
	// zero or more.
	durationInputPattern = `^(0|\+?(` + durationNumber + durationUnit + `)+)$`
)

// endpointServices lists the services whose endpoints cloud.endpoints may
// override, as the loader accepts them.
func endpointServices() []string {
	return []string{"iam", "cdm", "dis", "dli", "lakeformation", "dlf"}
}

// JSONSchema returns the JSON Schema (draft 2020-12) of a pipeline spec
// file, indented, for editors and other tools to check and complete specs
// with. It is generated from the loader's fields and from Kinds(): each step
// kind's `with` is checked against the kind's inputs — their types,
// required inputs, enums and one-of groups. A string holding a template is
// accepted for any input, since templates are evaluated when the step runs.
//
// The schema checks what can be checked field by field; the planner checks
// more (dependencies, templates, credentials), so a spec the schema accepts
// may still fail `pipectl validate`. The output is the same on every call.
func JSONSchema() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(pipelineSchema()); err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	return buf.Bytes(), nil
}

// object is a JSON object that keeps its members in the order they were
// set, so that the schema reads top-down and is the same on every call.
type object []member

type member struct {
	key   string
	value any
}

// obj builds an object from key, value pairs.
func obj(kv ...any) object {
	if len(kv)%2 != 0 {
		panic("obj: odd number of arguments")
	}
	o := make(object, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		o = append(o, member{kv[i].(string), kv[i+1]})
	}
	return o
}

// with returns o with more key, value pairs.
func (o object) with(kv ...any) object { return append(o[:len(o):len(o)], obj(kv...)...) }

// MarshalJSON writes the members in order.
func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalNoEscape(m.key)
		if err != nil {
			return nil, err
		}
		v, err := marshalNoEscape(m.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// marshalNoEscape is json.Marshal without escaping <, > and &, which appear
// in descriptions.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func ref(name string) object { return obj("$ref", "#/$defs/"+name) }

// scalar is the type of a field the loader reads as text: any scalar but
// null, since YAML may resolve a word such as a project id as a number.
var scalar = []string{"string", "number", "boolean"}

func pipelineSchema() object {
	return obj(
		"$schema", "https://json-schema.org/draft/2020-12/schema",
		"$id", SchemaID,
		"title", "pipectl pipeline",
		"description", "A pipectl pipeline spec: a DAG of steps, each a job on a Huawei Cloud service, run as a Temporal workflow. "+
			"Values in a step's `with`, `if` and `for_each` may be templates such as ${params.day}, evaluated when the step runs; `description` and `cloud` may be templates over params and env, evaluated when planning.",
		"type", "object",
		"required", []string{"name", "steps"},
		"additionalProperties", false,
		"properties", obj(
			"name", obj(
				"description", "The pipeline's name, part of its workflow ids: a lower-case letter, then up to 62 lower-case letters, digits, '-' and '_'.",
				"type", "string",
				"pattern", identPattern,
			),
			"description", obj(
				"description", "What the pipeline does; may hold templates over params and env, evaluated when planning.",
				"type", scalar,
				"minLength", 1,
			),
			"params", obj(
				"description", "Typed parameters, readable as ${params.NAME}: by name, a default value (the type is the value's) or {type, default, description} (a mapping with a type key is always this long form). A parameter without a default must be given with --param to apply or run the spec.",
				"type", "object",
				"propertyNames", obj("pattern", paramNamePattern),
				"additionalProperties", ref("param"),
			),
			"env", ref("names").with(
				"description", "Environment variables the spec may read as ${env.NAME}. Their values are put into the plan, and so into workflow history, in clear text: never list a credential (use ${secret.NAME})."),
			"cloud", cloudSchema(),
			"defaults", stepOptionsSchema(obj(
				"description", "Settings for every step that does not set its own.",
				"type", "object",
				"additionalProperties", false,
			)),
			"max_parallel", obj(
				"description", "How many steps may run at once (no bound when omitted).",
				"type", "integer",
				"minimum", 1,
			),
			"schedule", scheduleSchema(),
			"steps", obj(
				"description", "The steps. They run in dependency order, in parallel where they do not depend on each other.",
				"type", "array",
				"minItems", 1,
				"items", ref("step"),
			),
		),
		"$defs", obj(
			"step", stepSchema(),
			"param", paramSchema(),
			"retry", retrySchema(),
			"poll", obj(
				"description", "How often a running job's status is checked: every interval at first, growing to max_interval.",
				"type", "object",
				"additionalProperties", false,
				"properties", obj(
					"interval", ref("duration").with("description", "The first wait between checks."),
					"max_interval", ref("duration").with("description", "The longest wait between checks."),
				),
			),
			"duration", obj(
				"description", "A positive duration, such as 30s, 5m or 1h30m.",
				"type", "string",
				"pattern", positiveDurationPattern,
			),
			"template", obj(
				"description", "A template, such as ${params.day}: evaluated when the step runs, or when planning in description and cloud.",
				"type", "string",
				"pattern", templatePattern,
			),
			"names", obj(
				"description", "A name, or a list of names.",
				"oneOf", []any{
					obj("type", "string"),
					obj("type", "array", "items", obj("type", "string")),
				},
			),
		),
	)
}

func cloudSchema() object {
	endpoints := obj()
	for _, svc := range endpointServices() {
		endpoints = endpoints.with(svc, obj(
			"description", fmt.Sprintf("The %s endpoint, as https://host[:port].", svc),
			"anyOf", []any{obj("type", "string", "pattern", endpointPattern), ref("template")},
		))
	}
	return obj(
		"description", "Where the pipeline's services are. Never credentials: those are the worker's. Values may be templates over params and env, evaluated when planning.",
		"type", "object",
		"additionalProperties", false,
		"properties", obj(
			"region", obj("description", "The region, such as ap-southeast-1.", "type", scalar, "minLength", 1),
			"project_id", obj("description", "The project id.", "type", scalar, "minLength", 1),
			"endpoints", obj(
				"description", "Service endpoints that replace the region's, by service.",
				"type", "object",
				"additionalProperties", false,
				"properties", endpoints,
			),
			"credentials", obj("description", "The name of a credential set the worker holds; the spec never holds a credential itself.", "type", scalar, "minLength", 1),
		),
	)
}

func scheduleSchema() object {
	return obj(
		"description", "Runs the pipeline on a cron schedule.",
		"type", "object",
		"required", []string{"cron"},
		"additionalProperties", false,
		"properties", obj(
			"cron", obj(
				"description", "When to run: 5 fields (minute hour day-of-month month day-of-week, days 0-6 from Sunday), 6 with seconds first as DataArts writes them (days 1-7 from Sunday, as in DataArts), or a descriptor such as @daily. Quartz's L, W, # and year field are not supported.",
				"type", "string",
				"minLength", 1,
			),
			"timezone", obj(
				"description", "The IANA time zone of the cron expression, such as Asia/Shanghai (default UTC). DataArts' GMT+8 is Etc/GMT-8.",
				"type", "string",
				"minLength", 1,
			),
			"start", obj(
				"description", "No run before this RFC 3339 time.",
				"type", "string",
				"format", "date-time",
				"pattern", timePattern,
			),
			"end", obj(
				"description", "No run after this RFC 3339 time.",
				"type", "string",
				"format", "date-time",
				"pattern", timePattern,
			),
			"overlap", obj(
				"description", "What to do when a run is due while the last one still runs (default skip).",
				"enum", spec.OverlapPolicies(),
			),
			"catchup_window", ref("duration").with("description", "How late a missed run may still start, e.g. after an outage."),
			"paused", obj(
				"description", "Create the schedule paused.",
				"type", "boolean",
			),
		),
	)
}

func retrySchema() object {
	return obj(
		"description", "How often a failed job is run and service calls are tried.",
		"type", "object",
		"additionalProperties", false,
		"properties", obj(
			"max_attempts", obj("description", "How many times the job is run when it fails (1: not re-run).", "type", "integer", "minimum", 1),
			"initial_interval", ref("duration").with("description", "The wait before the first retry."),
			"max_interval", ref("duration").with("description", "The longest wait between retries."),
			"backoff", obj("description", "What each wait is multiplied by for the next.", "type", "number", "minimum", 1),
			"non_retryable", ref("names").with("description", "Service error codes, such as DLI.0001, that fail the step at once."),
		),
	)
}

// stepOptionsSchema adds the settings a step and `defaults` share to o.
func stepOptionsSchema(o object) object {
	return o.with("properties", stepOptionProperties())
}

func stepOptionProperties() object {
	return obj(
		"retry", ref("retry").with("description", "How often a failed job is run and service calls are tried."),
		"poll", ref("poll").with("description", "How often a running job's status is checked."),
		"timeout", ref("duration").with("description", "How long the step may take (default 24h)."),
		"on_failure", obj(
			"description", "What the step's failure does: fail the run (default), continue as if it succeeded, skip_downstream steps, or suspend until an operator acts.",
			"enum", spec.FailurePolicies(),
		),
	)
}

func stepSchema() object {
	kinds := Kinds()
	names := make([]string, 0, len(kinds))
	var notYet []string
	for _, k := range kinds {
		names = append(names, k.Name)
		if !k.Runnable {
			notYet = append(notYet, k.Name)
		}
	}
	kindDesc := "What the step runs."
	if len(notYet) > 0 {
		kindDesc += " This version cannot run " + strings.Join(notYet, ", ") + " yet."
	}
	props := obj(
		"id", obj(
			"description", "The step's id, unique in the pipeline: a lower-case letter, then up to 62 lower-case letters, digits, '-' and '_'.",
			"type", "string",
			"pattern", identPattern,
		),
		"kind", obj(
			"description", kindDesc,
			"enum", names,
		),
		"depends_on", obj(
			"description", "The steps that must end before this one starts: an id or a list of ids. Reading a step's outputs in a template depends on it too.",
			"oneOf", []any{
				obj("type", "string", "pattern", identPattern),
				obj("type", "array", "items", obj("type", "string", "pattern", identPattern), "uniqueItems", true),
			},
		),
		"if", obj(
			"description", "A condition: the step runs only when it is true. true, false or a template such as ${params.full_load}.",
			"oneOf", []any{
				obj("type", "boolean"),
				obj("type", "string", "pattern", interpolationPattern),
			},
		),
		"with", obj(
			"description", "The inputs of the step's kind.",
			"type", "object",
		),
		"for_each", obj(
			"description", "Runs the step once per item of a list, readable as ${item}: a list, or a template giving one such as ${params.tables}.",
			"oneOf", []any{
				obj("type", "array", "minItems", 1),
				obj("type", "string", "pattern", interpolationPattern),
			},
		),
		"max_parallel", obj(
			"description", "How many for_each items may run at once (no bound when omitted).",
			"type", "integer",
			"minimum", 1,
		),
		"run_on", obj(
			"description", "When the step runs, by how its dependencies ended: on success (default), on failure or always.",
			"enum", spec.RunOnValues(),
		),
	)
	props = append(props, stepOptionProperties()...)
	allOf := make([]any, 0, len(kinds))
	for _, k := range kinds {
		then := obj("properties", obj("with", withSchema(k)))
		if k.needsWith() {
			then = then.with("required", []string{"with"})
		}
		allOf = append(allOf, obj(
			"if", obj(
				"properties", obj("kind", obj("const", k.Name)),
				"required", []string{"kind"},
			),
			"then", then,
		))
	}
	return obj(
		"description", "A step: a job of one kind, with its inputs.",
		"type", "object",
		"required", []string{"id", "kind"},
		"additionalProperties", false,
		"properties", props,
		"dependentRequired", obj("max_parallel", []string{"for_each"}),
		"allOf", allOf,
	)
}

// needsWith reports whether a step of kind k must have a `with`.
func (k Kind) needsWith() bool {
	for _, in := range k.Inputs {
		if in.Required {
			return true
		}
	}
	return len(k.OneOf) > 0
}

// withSchema is the schema of the `with` of a step of kind k.
func withSchema(k Kind) object {
	props := obj()
	var required []string
	for _, in := range k.Inputs {
		props = props.with(in.Name, inputSchema(in))
		if in.Required {
			required = append(required, in.Name)
		}
	}
	desc := k.Name + ": " + k.Doc
	if len(k.Outputs) > 0 {
		desc += " Outputs: " + strings.Join(k.Outputs, ", ") + "."
	}
	s := obj(
		"description", desc,
		"type", "object",
	)
	if len(required) > 0 {
		s = s.with("required", required)
	}
	s = s.with(
		"additionalProperties", false,
		"properties", props,
	)
	var groups []any
	for _, g := range k.OneOf {
		var alts []any
		for _, name := range g {
			alts = append(alts, obj("required", []string{name}))
		}
		groups = append(groups, obj("oneOf", alts))
	}
	switch len(groups) {
	case 0:
	case 1:
		s = append(s, groups[0].(object)...)
	default:
		s = s.with("allOf", groups)
	}
	return s
}

// inputSchema is the schema of one input: its type, or a template.
func inputSchema(in Input) object {
	desc := in.Doc
	if in.Required {
		desc += " (required)"
	}
	var typ object
	switch in.Type {
	case TypeString:
		if in.Secret {
			return obj(
				"description", desc+": a ${secret.NAME} reference, never the credential itself",
				"type", "string",
				"pattern", `\$\{secret\.`,
			)
		}
		if len(in.Enum) == 0 {
			// Numbers and booleans are written as strings.
			return obj("description", desc, "type", scalar)
		}
		typ = obj("enum", in.Enum)
	case TypeStringList:
		typ = obj("type", "array", "items", obj("type", scalar))
	case TypeStringMap:
		typ = obj("type", "object", "additionalProperties", obj("type", scalar))
	case TypeNumber:
		// Every number input is a count, read as a whole number.
		typ = obj("type", "integer")
	case TypeBool:
		typ = obj("type", "boolean")
	case TypeObject:
		typ = obj("type", "object")
	case TypeList:
		typ = obj("type", "array")
	case TypeStatusList:
		typ = obj("type", "array", "items", obj("anyOf", []any{
			obj("type", "integer"), ref("template")}))
	case TypeDuration:
		typ = obj("type", "string", "pattern", durationInputPattern)
	case TypeTime:
		typ = obj("type", "string", "format", "date-time", "pattern", timePattern)
	case TypeURL:
		typ = obj("type", "string", "format", "uri", "pattern", "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]")
	default:
		// A type the schema does not know: anything, rather than reject
		// what the planner may accept.
		return obj("description", desc)
	}
	return obj(
		"description", desc,
		"anyOf", []any{typ, ref("template")},
	)
}

// paramSchema is the schema of one parameter: a mapping with a type, or
// whose keys are all among type, default and description with a
// description, is the long form; anything else is the short form, the
// default value.
func paramSchema() object {
	var byType []any
	for _, t := range spec.ParamTypes() {
		js, ok := paramJSONType(spec.ParamType(t))
		if !ok {
			continue
		}
		byType = append(byType, obj(
			"if", obj("properties", obj("type", obj("const", t)), "required", []string{"type"}),
			"then", obj("properties", obj("default", obj("type", []string{js, "null"}))),
		))
	}
	return obj(
		"description", "A parameter: its default value, or {type, default, description}.",
		"if", obj(
			"type", "object",
			"anyOf", []any{
				obj("required", []string{"type"}),
				obj("required", []string{"description"}, "propertyNames", obj("enum", []string{"type", "default", "description"})),
			},
		),
		"then", obj(
			"type", "object",
			"additionalProperties", false,
			"properties", obj(
				"type", obj(
					"description", "The parameter's type (default: its default value's).",
					"enum", spec.ParamTypes(),
				),
				"default", obj("description", "The value when none is given, without templates; without one, the parameter must be given with --param to apply or run the spec."),
				"description", obj("description", "What the parameter is for.", "type", scalar, "minLength", 1),
			),
			"allOf", byType,
		),
	)
}

// paramJSONType is the JSON type of a parameter type's values.
func paramJSONType(t spec.ParamType) (string, bool) {
	switch t {
	case spec.ParamString:
		return "string", true
	case spec.ParamNumber:
		return "number", true
	case spec.ParamBool:
		return "boolean", true
	case spec.ParamList:
		return "array", true
	case spec.ParamMap:
		return "object", true
	}
	return "", false
}
