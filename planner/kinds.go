package planner

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pipectl/pipectl/spec/expr"
)

// InputType is the type of one input of a step kind.
type InputType int

// Input types. A string holding a template (${...}) is accepted for any
// type here: its value is known only when the step runs. The planner
// checks the type it gives, as far as it is known when planning (fits).
const (
	TypeString InputType = iota
	TypeStringList
	TypeStringMap
	TypeNumber
	TypeBool
	// TypeObject is any mapping, passed to the service as JSON.
	TypeObject
	// TypeList is any list, passed to the service as JSON.
	TypeList
	// TypeDuration is a Go duration string such as "90s".
	TypeDuration
	// TypeTime is an RFC 3339 time.
	TypeTime
	// TypeURL is an absolute http or https URL.
	TypeURL
	// TypeStatusList is a list of HTTP status codes, whole numbers from
	// 100 to 599: the worker reads it as a list of integers, so a string
	// ("200", "2xx") or a fraction would fail the step when it runs.
	TypeStatusList
)

// Bounds of an HTTP status code.
const (
	minStatus = 100
	maxStatus = 599
)

func (t InputType) String() string {
	switch t {
	case TypeStringList:
		return "a list of strings"
	case TypeStringMap:
		return "a mapping of strings"
	case TypeNumber:
		return "a number"
	case TypeBool:
		return "true or false"
	case TypeObject:
		return "a mapping"
	case TypeList:
		return "a list"
	case TypeDuration:
		return "a duration such as \"90s\""
	case TypeTime:
		return "an RFC 3339 time"
	case TypeURL:
		return "an http or https URL"
	case TypeStatusList:
		return "a list of HTTP status codes"
	}
	return "a string"
}

// Input describes one field of a step's `with`.
type Input struct {
	Name     string
	Type     InputType
	Required bool
	// Enum, when set, lists the values a string input may take.
	Enum []string
	// Secret marks an input that carries a credential: it must be a
	// ${secret.NAME} reference, never a literal.
	Secret bool
	Doc    string
}

// Kind describes a step kind: what it runs, the inputs it takes and the
// outputs later steps can read as steps.ID.outputs.NAME.
type Kind struct {
	Name    string
	Doc     string
	Inputs  []Input
	Outputs []string
	// OneOf lists groups of inputs of which exactly one must be set.
	OneOf [][]string
	// Runnable is false for kinds whose schema is settled but whose
	// service calls this version does not make yet; the planner rejects
	// them rather than let a run stall on an activity no worker has.
	Runnable bool
}

// Kinds is the table of every step kind. It is built here, in one place,
// so that the planner, the JSON Schema, the docs and the worker agree.
func Kinds() []Kind {
	waitInput := Input{Name: "wait", Type: TypeString, Enum: []string{"running", "finished"},
		Doc: "when the step is done: once the streaming job runs (default) or when it finishes"}
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
			Outputs:  []string{"job_id", "job_type", "input_row_count", "bad_row_count", "result_count", "duration_ms"},
			Runnable: true,
		},
		{
			Name: "dli.flink_sql",
			Doc:  "Creates or updates a DLI Flink SQL job by name and runs it.",
			Inputs: []Input{
				{Name: "name", Type: TypeString, Required: true, Doc: "job name (at most 57 characters); an existing job of this name is updated, and pipectl owns its description"},
				{Name: "sql", Type: TypeString, Required: true, Doc: "the Flink SQL: sources, query and sinks"},
				{Name: "queue", Type: TypeString, Doc: "queue to run on"},
				{Name: "cu_number", Type: TypeNumber, Doc: "compute units"},
				{Name: "parallel_number", Type: TypeNumber, Doc: "parallelism"},
				{Name: "checkpoint_enabled", Type: TypeBool, Doc: "enable checkpoints"},
				{Name: "checkpoint_interval", Type: TypeNumber, Doc: "seconds between checkpoints"},
				{Name: "obs_bucket", Type: TypeString, Doc: "bucket for checkpoints and logs"},
				{Name: "log_enabled", Type: TypeBool, Doc: "save job logs to OBS"},
				{Name: "restart_when_exception", Type: TypeBool, Doc: "restart on exceptions"},
				{Name: "runtime_config", Type: TypeStringMap, Doc: "Flink settings"},
				waitInput,
				{Name: "savepoint_on_cancel", Type: TypeBool, Doc: "take a savepoint when the step stops the job"},
			},
			Outputs:  []string{"job_id", "status"},
			Runnable: true,
		},
		{
			Name: "dli.flink_jar",
			Doc:  "Creates or updates a DLI Flink Jar job by name and runs it.",
			Inputs: []Input{
				{Name: "name", Type: TypeString, Required: true, Doc: "job name; an existing job of this name is updated"},
				{Name: "entrypoint", Type: TypeString, Required: true, Doc: "the JAR in DLI's package system, e.g. group/app.jar"},
				{Name: "main_class", Type: TypeString, Doc: "main class"},
				{Name: "entrypoint_args", Type: TypeString, Doc: "arguments, space separated"},
				{Name: "queue", Type: TypeString, Doc: "queue to run on"},
				{Name: "cu_number", Type: TypeNumber, Doc: "compute units"},
				{Name: "manager_cu_number", Type: TypeNumber, Doc: "job manager compute units"},
				{Name: "parallel_number", Type: TypeNumber, Doc: "parallelism"},
				{Name: "dependency_jars", Type: TypeStringList, Doc: "extra JARs"},
				{Name: "dependency_files", Type: TypeStringList, Doc: "extra files"},
				{Name: "runtime_config", Type: TypeStringMap, Doc: "Flink settings"},
				waitInput,
				{Name: "savepoint_on_cancel", Type: TypeBool, Doc: "take a savepoint when the step stops the job"},
			},
			Outputs:  []string{"job_id", "status"},
			Runnable: true,
		},
		{
			Name: "dli.spark",
			Doc:  "Runs a DLI Spark batch job and waits for it to finish.",
			Inputs: []Input{
				{Name: "file", Type: TypeString, Required: true, Doc: "the application: an OBS path or a DLI package"},
				{Name: "class_name", Type: TypeString, Doc: "main class of a Java/Scala application"},
				{Name: "args", Type: TypeStringList, Doc: "application arguments"},
				{Name: "queue", Type: TypeString, Required: true, Doc: "queue to run on (a general-purpose queue)"},
				{Name: "name", Type: TypeString, Doc: "batch name; the step appends -<24 hex digits> to find its batch again after a retry"},
				{Name: "conf", Type: TypeStringMap, Doc: "Spark settings"},
				{Name: "jars", Type: TypeStringList, Doc: "extra JARs"},
				{Name: "python_files", Type: TypeStringList, Doc: "extra Python files"},
				{Name: "files", Type: TypeStringList, Doc: "extra files"},
				{Name: "driver_memory", Type: TypeString, Doc: "e.g. 2G"},
				{Name: "executor_memory", Type: TypeString, Doc: "e.g. 4G"},
				{Name: "num_executors", Type: TypeNumber, Doc: "executors"},
				{Name: "executor_cores", Type: TypeNumber, Doc: "cores per executor"},
			},
			Outputs:  []string{"batch_id", "state", "app_id"},
			Runnable: true,
		},
		{
			Name: "cdm.job",
			Doc:  "Runs a CDM migration job in a cluster and waits for it to succeed.",
			Inputs: []Input{
				{Name: "name", Type: TypeString, Required: true, Doc: "job name, unique in the cluster"},
				{Name: "cluster_id", Type: TypeString, Doc: "the cluster to create and run the job in"},
				{Name: "cluster_ids", Type: TypeStringList, Doc: "run in a random cluster among these instead"},
				{Name: "from_link", Type: TypeString, Required: true, Doc: "source link name"},
				{Name: "from_connector", Type: TypeString, Required: true, Doc: "source connector, e.g. generic-jdbc-connector"},
				{Name: "from_config", Type: TypeStringMap, Doc: "source job settings (fromJobConfig.*)"},
				{Name: "to_link", Type: TypeString, Required: true, Doc: "destination link name"},
				{Name: "to_connector", Type: TypeString, Required: true, Doc: "destination connector, e.g. obs-connector"},
				{Name: "to_config", Type: TypeStringMap, Doc: "destination job settings (toJobConfig.*)"},
				{Name: "driver_config", Type: TypeStringMap, Doc: "job settings (throttlingConfig.*, …)"},
				{Name: "links", Type: TypeList, Doc: "links to create first if missing: {name, connector, config}; passwords as ${secret.NAME}"},
			},
			OneOf:    [][]string{{"cluster_id", "cluster_ids"}},
			Outputs:  []string{"submission_id", "rows_read", "rows_written", "bytes_read", "bytes_written", "files_read", "files_written"},
			Runnable: true,
		},
		{
			Name: "dis.stream",
			Doc:  "Ensures a DIS stream exists with the given settings (never deletes one) and waits until it is usable.",
			Inputs: []Input{
				{Name: "name", Type: TypeString, Required: true, Doc: "stream name"},
				{Name: "partitions", Type: TypeNumber, Required: true, Doc: "partition count; raised or lowered if the stream exists (not when auto_scale is on)"},
				{Name: "stream_type", Type: TypeString, Enum: []string{"COMMON", "ADVANCED"}, Doc: "stream type"},
				{Name: "data_type", Type: TypeString, Enum: []string{"BLOB", "JSON", "CSV"}, Doc: "data type"},
				{Name: "retention_hours", Type: TypeNumber, Doc: "data retention"},
				{Name: "auto_scale", Type: TypeBool, Doc: "scale partitions automatically, between 1 and partitions"},
			},
			Outputs:  []string{"name", "id", "partitions"},
			Runnable: true,
		},
		{
			Name: "dis.dump_task",
			Doc:  "Ensures a DIS dump task to OBS, DLI, DWS, MRS or CloudTable exists, starts it and waits until it runs.",
			Inputs: []Input{
				{Name: "stream", Type: TypeString, Required: true, Doc: "source stream"},
				{Name: "name", Type: TypeString, Required: true, Doc: "task name"},
				{Name: "destination", Type: TypeString, Required: true, Enum: []string{"OBS", "DLI", "DWS", "MRS", "CLOUDTABLE"}, Doc: "where records go"},
				{Name: "descriptor", Type: TypeObject, Required: true, Doc: "the destination's descriptor, as in the DIS API"},
			},
			Outputs:  []string{"task_id", "state"},
			Runnable: true,
		},
		{
			Name: "lakeformation.job",
			Doc:  "Creates and runs a LakeFormation job (metadata migration, permission migration, metadata discovery) and waits for it.",
			Inputs: []Input{
				{Name: "instance_id", Type: TypeString, Required: true, Doc: "LakeFormation instance"},
				{Name: "name", Type: TypeString, Required: true, Doc: "job name"},
				{Name: "type", Type: TypeString, Required: true, Enum: []string{"METADATA_MIGRATION", "PERMISSION_MIGRATION", "METADATA_DISCOVERY"}, Doc: "job type"},
				{Name: "parameter", Type: TypeObject, Required: true, Doc: "the job's parameter object, as in the API; keys as ${secret.NAME}"},
				{Name: "partial_success", Type: TypeString, Enum: []string{"fail", "succeed"}, Doc: "what PARTIAL_SUCCESS means for the step (default fail)"},
			},
			Outputs:  []string{"job_id", "status"},
			Runnable: true,
		},
		{
			Name: "dlf.job",
			Doc:  "Runs an existing DataArts Studio job now and waits for its instance.",
			Inputs: []Input{
				{Name: "job_name", Type: TypeString, Required: true, Doc: "the DataArts job"},
				{Name: "workspace", Type: TypeString, Doc: "DataArts workspace id (default workspace if omitted)"},
				{Name: "params", Type: TypeStringMap, Doc: "job parameters (pipectl_key is reserved: pipectl marks its runs with it)"},
			},
			Outputs:  []string{"instance_id", "status"},
			Runnable: true,
		},
		{
			Name: "http",
			Doc:  "Calls a REST API (DataArts' RESTAPI node), optionally AK/SK-signed.",
			Inputs: []Input{
				{Name: "url", Type: TypeURL, Required: true, Doc: "the URL (http or https)"},
				{Name: "method", Type: TypeString, Enum: []string{"GET", "POST", "PUT", "PATCH", "DELETE"}, Doc: "HTTP method (default GET)"},
				{Name: "headers", Type: TypeStringMap, Doc: "request headers; credentials as ${secret.NAME}"},
				{Name: "body", Type: TypeString, Doc: "request body"},
				{Name: "sign", Type: TypeBool, Doc: "sign the request with the worker's AK/SK"},
				{Name: "expect_status", Type: TypeStatusList, Doc: "acceptable status codes, whole numbers from 100 to 599 (default any 2xx)"},
			},
			Outputs:  []string{"status", "body"},
			Runnable: true,
		},
		{
			Name: "pipeline",
			Doc: "Runs another spec as a sub-pipeline, in a child workflow, and succeeds when it does. " +
				"Its outputs are the sub-pipeline's steps' outputs by step id (steps.ID.outputs.STEP.NAME) and its status.",
			Inputs: []Input{
				{Name: "spec", Type: TypeString, Required: true, Doc: "the spec to run: a path relative to this spec's file, compiled with it"},
				{Name: "params", Type: TypeObject, Doc: "values of the sub-pipeline's parameters, by name; templates are evaluated when the step runs"},
			},
			Runnable: true,
		},
		{
			Name: "wait",
			Doc:  "Waits durably: for a duration, or until a time. Costs no worker while it waits.",
			Inputs: []Input{
				{Name: "duration", Type: TypeDuration, Doc: "how long to wait"},
				{Name: "until", Type: TypeTime, Doc: "when to stop waiting"},
			},
			OneOf:    [][]string{{"duration", "until"}},
			Runnable: true,
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

func (k Kind) inputNames() []string {
	names := make([]string, 0, len(k.Inputs))
	for _, in := range k.Inputs {
		names = append(names, in.Name)
	}
	return names
}

// convert checks v against the input's type and returns its JSON form.
// Strings with templates pass: they are evaluated when the step runs, and
// the type they give is checked apart (fits).
func (in Input) convert(v any) (any, error) {
	if s, ok := v.(string); ok && expr.HasTemplate(s) {
		return s, nil
	}
	switch in.Type {
	case TypeString:
		s, ok := scalarString(v)
		if !ok {
			break
		}
		if len(in.Enum) > 0 && !slices.Contains(in.Enum, s) {
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(in.Enum, ", "))
		}
		return s, nil
	case TypeNumber:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case float64:
			// Every number input is a count the worker reads as a
			// whole number: 2.5 would fail the step when it runs.
			if !math.IsInf(x, 0) && !math.IsNaN(x) && x != math.Trunc(x) {
				return nil, fmt.Errorf("expected a whole number, found %v", x)
			}
			if !math.IsInf(x, 0) && !math.IsNaN(x) {
				return x, nil
			}
		}
	case TypeBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case TypeObject:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	case TypeList:
		if l, ok := v.([]any); ok {
			return l, nil
		}
	case TypeDuration:
		if s, ok := v.(string); ok {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("%q is not a duration such as \"90s\" or \"2h\"", s)
			}
			return s, nil
		}
	case TypeTime:
		if s, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return nil, fmt.Errorf("%q is not an RFC 3339 time such as 2026-03-01T02:00:00+08:00", s)
			}
			return s, nil
		}
	case TypeURL:
		if s, ok := v.(string); ok {
			u, err := url.Parse(s)
			if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
				return nil, fmt.Errorf("%q is not an http or https URL such as https://api.example.com/v1/items", s)
			}
			return s, nil
		}
	case TypeStringList:
		list, ok := v.([]any)
		if !ok {
			break
		}
		out := make([]string, 0, len(list))
		var bad itemErrors
		for i, e := range list {
			s, ok := scalarString(e)
			if !ok {
				bad = append(bad, itemError{index: i, err: fmt.Errorf("every item must be a string, found %s", describeValue(e))})
			}
			out = append(out, s)
		}
		if bad != nil {
			return nil, bad
		}
		return out, nil
	case TypeStatusList:
		list, ok := v.([]any)
		if !ok {
			break
		}
		out := make([]any, 0, len(list))
		var bad itemErrors
		for i, e := range list {
			code, ok := statusCode(e)
			if !ok {
				bad = append(bad, itemError{index: i, err: fmt.Errorf("every item must be an HTTP status code, a whole number from %d to %d; found %s", minStatus, maxStatus, describeItem(e))})
			}
			out = append(out, code)
		}
		if bad != nil {
			return nil, bad
		}
		return out, nil
	case TypeStringMap:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		// Sorted, so that with several bad values the one reported does
		// not depend on map order.
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(map[string]string, len(m))
		var bad itemErrors
		for _, k := range keys {
			s, ok := scalarString(m[k])
			if !ok {
				bad = append(bad, itemError{key: k, keyed: true, err: fmt.Errorf("value of %q must be a string, found %s", k, describeValue(m[k]))})
			}
			out[k] = s
		}
		if bad != nil {
			return nil, bad
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected %s", in.Type)
}

// itemError is an error in item index of a list input, or in the value
// of key of a mapping input (keyed), to be reported where that is written;
// itemErrors are those of one input.
type itemError struct {
	index int
	key   string
	keyed bool
	err   error
}

type itemErrors []itemError

func (e itemErrors) Error() string {
	msgs := make([]string, len(e))
	for i, ie := range e {
		if ie.keyed {
			msgs[i] = ie.err.Error()
			continue
		}
		msgs[i] = fmt.Sprintf("item %d: %s", ie.index+1, ie.err)
	}
	return strings.Join(msgs, "; ")
}

// statusCode reads item v of a status list: a whole number from 100 to
// 599, or a template (checked for its type where templates are).
func statusCode(v any) (any, bool) {
	switch x := v.(type) {
	case int64:
		return x, x >= minStatus && x <= maxStatus
	case int:
		return int64(x), x >= minStatus && x <= maxStatus
	case float64:
		return int64(x), x == math.Trunc(x) && x >= minStatus && x <= maxStatus
	case string:
		return x, expr.HasTemplate(x)
	}
	return nil, false
}

// describeItem names a list item for messages: numbers and strings as
// written, anything else by its type.
func describeItem(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case int, int64, float64:
		return fmt.Sprint(x)
	}
	return describeValue(v)
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

// describeValue names a value's YAML type for messages.
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "nothing (null)"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case int, int64, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// KindPolls reports whether a step of the named kind polls the job it
// starts, so that its poll settings apply: an http call is answered at
// once, a wait polls nothing and a pipeline step waits for its child
// workflow.
func KindPolls(name string) bool {
	switch name {
	case "http", "wait", "pipeline":
		return false
	}
	return true
}
