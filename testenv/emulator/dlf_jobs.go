package emulator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The DLF job model (DAYU 7.6.1 "Creating a Job", tables 7-50…7-74). The
// body of create and edit, and the answer of the detail call.

const (
	dlfBatch    = "BATCH"
	dlfRealTime = "REAL_TIME"

	dlfExecuteOnce = "EXECUTE_ONCE"
	dlfCronType    = "CRON"
	dlfEventType   = "EVENT"
)

type dlfJobDef struct {
	Name     string       `json:"name"`
	Nodes    []dlfNode    `json:"nodes"`
	Schedule *dlfSchedule `json:"schedule"`
	Params   []dlfParam   `json:"params,omitempty"`
	// JobType is what the table documents; every sample sends processType
	// instead. Either is accepted and both are echoed.
	JobType     string          `json:"jobType,omitempty"`
	ProcessType string          `json:"processType,omitempty"`
	Directory   string          `json:"directory,omitempty"`
	BasicConfig *dlfBasicConfig `json:"basicConfig,omitempty"`
	// Undocumented keys of the samples, kept and echoed. resources is []
	// in some samples and {} in others.
	LogPath   string          `json:"logPath,omitempty"`
	Version   string          `json:"version,omitempty"`
	Resources json.RawMessage `json:"resources,omitempty"`
}

type dlfNode struct {
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Location    *dlfLocation   `json:"location"`
	PreNodeName []string       `json:"preNodeName"`
	Conditions  []dlfCondition `json:"conditions,omitempty"`
	Properties  []dlfProperty  `json:"properties"`
	// Pointers tell an absent value (defaulted) from an invalid 0.
	PollingInterval  *int            `json:"pollingInterval"`
	MaxExecutionTime *int            `json:"maxExecutionTime"`
	RetryTimes       *int            `json:"retryTimes"`
	RetryInterval    *int            `json:"retryInterval"`
	FailPolicy       string          `json:"failPolicy"`
	EventTrigger     *dlfEvent       `json:"eventTrigger,omitempty"`
	CronTrigger      *dlfCron        `json:"cronTrigger,omitempty"`
	Resources        json.RawMessage `json:"resources,omitempty"`
}

type dlfLocation struct {
	X dlfCoord `json:"x"`
	Y dlfCoord `json:"y"`
}

// dlfCoord is a canvas coordinate, typed Int in the reference but sent as
// a string ("385.0") by every sample: numbers and numeric strings are
// accepted and echoed as sent.
type dlfCoord json.RawMessage

func (c dlfCoord) MarshalJSON() ([]byte, error) {
	if len(c) == 0 {
		return []byte("0"), nil
	}
	return c, nil
}

func (c *dlfCoord) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return fmt.Errorf("location coordinate %q is not a number", s)
		}
	} else if err := json.Unmarshal(b, new(float64)); err != nil {
		return fmt.Errorf("location coordinate %s is not a number", b)
	}
	*c = append((*c)[:0], b...)
	return nil
}

type dlfCondition struct {
	PreNodeName string `json:"preNodeName"`
	Expression  string `json:"expression"`
}

// dlfProperty is one {name, value} node property. Values are strings in
// every sample, but DISTransferTask's configuration is a structure, so any
// JSON value is kept.
type dlfProperty struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

type dlfSchedule struct {
	Type  string    `json:"type"`
	Cron  *dlfCron  `json:"cron,omitempty"`
	Event *dlfEvent `json:"event,omitempty"`
}

type dlfCron struct {
	StartTime          string         `json:"startTime"`
	EndTime            string         `json:"endTime,omitempty"`
	Expression         string         `json:"expression"`
	ExpressionTimeZone string         `json:"expressionTimeZone,omitempty"`
	DependPrePeriod    bool           `json:"dependPrePeriod"`
	DependJobs         *dlfDependJobs `json:"dependJobs,omitempty"`
}

type dlfDependJobs struct {
	Jobs             []string `json:"jobs"`
	DependPeriod     string   `json:"dependPeriod,omitempty"`
	DependFailPolicy string   `json:"dependFailPolicy,omitempty"`
}

// dlfEvent is the Event structure. The detail sample spells eventType as
// engineType and uses failPolicy CONTINUE; both are tolerated because
// clients re-send detail bodies to the edit call.
type dlfEvent struct {
	EventType  string `json:"eventType,omitempty"`
	EngineType string `json:"engineType,omitempty"`
	Channel    string `json:"channel"`
	FailPolicy string `json:"failPolicy,omitempty"`
	Concurrent *int   `json:"concurrent,omitempty"`
	ReadPolicy string `json:"readPolicy,omitempty"`
}

type dlfParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
}

type dlfBasicConfig struct {
	Owner           string            `json:"owner,omitempty"`
	Priority        *int              `json:"priority,omitempty"`
	ExecuteUser     string            `json:"executeUser,omitempty"`
	InstanceTimeout *int              `json:"instanceTimeout,omitempty"`
	CustomFields    map[string]string `json:"customFields,omitempty"`
}

// dlfNodeTypes are the canonical node types. The reference spells them
// inconsistently ("Hive SQL" in the list, "HiveSQL" in real-time status,
// "DLI SQL" in prose) and samples use types the list lacks (DISStream,
// CSJob, Dummy), so types are matched without spaces and case.
var dlfNodeTypes = []string{
	"HiveSQL", "SparkSQL", "DWSSQL", "DLISQL", "Shell", "CDMJob", "DISTransferTask", "CloudTableManager",
	"OBSManager", "RESTAPI", "SMN", "MRSSpark", "MapReduce", "DLISpark", "RDSSQL", "DISStream", "CSJob", "Dummy",
}

func dlfCanonicalNodeType(t string) (string, bool) {
	t = strings.ReplaceAll(t, " ", "")
	for _, c := range dlfNodeTypes {
		if strings.EqualFold(c, t) {
			return c, true
		}
	}
	return "", false
}

// dlfNodeRequired lists the mandatory properties of a canonical node type
// (tables 7-60…7-73; RDSSQL and the undocumented types have none).
func dlfNodeRequired(t string) []string {
	switch t {
	case "HiveSQL", "SparkSQL", "DWSSQL", "DLISQL":
		return []string{"scriptName"}
	case "Shell":
		return []string{"scriptName", "connectionName"}
	case "CDMJob":
		return []string{"clusterName", "jobName"}
	case "DISTransferTask":
		return []string{"streamName", "destinationType", "duplicatePolicy", "configuration"}
	case "CloudTableManager":
		return []string{"action"}
	case "OBSManager":
		return []string{"action", "path"}
	case "RESTAPI":
		return []string{"url", "method"}
	case "SMN":
		return []string{"topic", "subject", "messageType", "message"}
	case "MRSSpark":
		return []string{"clusterName", "jobName", "resourcePath", "parameters"}
	case "MapReduce":
		return []string{"clusterName", "jobName", "resourcePath", "parameters", "input", "output"}
	case "DLISpark":
		return []string{"clusterName", "jobName", "jobClass", "resourcePath"}
	}
	return nil
}

// dlfNodeEnums lists the enumerated properties of a canonical node type.
func dlfNodeEnums(t string) map[string][]string {
	switch t {
	case "DISTransferTask":
		return map[string][]string{"destinationType": {"CloudTable", "OBS"}, "duplicatePolicy": {"OVERWRITE", "IGNORE"}}
	case "CloudTableManager":
		return map[string][]string{"action": {"CREATE_TABLE", "DELETE_TABLE"}}
	case "OBSManager":
		return map[string][]string{"action": {"CREATE_PATH", "DELETE_PATH"}}
	case "RESTAPI":
		return map[string][]string{"method": {"GET", "POST", "PUT", "DELETE"}}
	case "SMN":
		return map[string][]string{"messageType": {"NORMAL", "STRUCTURE", "TEMPLATE"}}
	}
	return nil
}

func (n *dlfNode) property(name string) (any, bool) {
	for _, p := range n.Properties {
		if p.Name == name {
			return p.Value, p.Value != nil && p.Value != ""
		}
	}
	return nil, false
}

// dlfCheck collects the first problem found in a request, with its code.
type dlfCheck struct{ code, msg string }

func (c *dlfCheck) failf(code, format string, args ...any) {
	if c.code == "" {
		c.code, c.msg = code, fmt.Sprintf(format, args...)
	}
}

func (c *dlfCheck) enum(field, v string, allowed ...string) {
	if v != "" && !slices.Contains(allowed, v) {
		c.failf(dlfBadParam, "The request parameter is invalid: %s %q is not one of %s.", field, v, strings.Join(allowed, ", "))
	}
}

func (c *dlfCheck) intRange(field string, v *int, lo, hi int) {
	if v != nil && (*v < lo || *v > hi) {
		c.failf(dlfBadParam, "The request parameter is invalid: %s %d is not in [%d, %d].", field, *v, lo, hi)
	}
}

func (c *dlfCheck) missing(field string) {
	c.failf(dlfParamMissing, "The specified parameter is not configured: %s.", field)
}

// validate checks def and fills in the documented defaults. It returns the
// jobs def depends on (cron dependJobs), which the caller checks exist.
func (def *dlfJobDef) validate() (deps []string, c dlfCheck) {
	switch {
	case strings.TrimSpace(def.Name) == "":
		c.failf(dlfJobNameBlank, "The job name cannot be left blank.")
	case !dlfNameOK(def.Name, "-_.", 128):
		c.failf(dlfJobNameInvalid, "The job name is invalid: at most 128 letters, digits, -, _ and ., got %q.", def.Name)
	}
	typ := cmp.Or(def.JobType, def.ProcessType)
	switch {
	case typ == "":
		c.missing("jobType")
	case def.JobType != "" && def.ProcessType != "" && def.JobType != def.ProcessType:
		c.failf(dlfBadParam, "The request parameter is invalid: jobType %q and processType %q differ.", def.JobType, def.ProcessType)
	}
	c.enum("jobType", typ, dlfBatch, dlfRealTime)
	def.JobType, def.ProcessType = typ, typ

	if len(def.Nodes) == 0 {
		c.failf(dlfNoNodes, "The job node is empty.")
	}
	names := map[string]bool{}
	for i := range def.Nodes {
		n := &def.Nodes[i]
		deps = append(deps, n.check(&c)...)
		if names[n.Name] {
			c.failf(dlfBadParam, "The request parameter is invalid: node name %q is used twice.", n.Name)
		}
		names[n.Name] = true
	}
	for _, n := range def.Nodes {
		for _, pre := range n.PreNodeName {
			if !names[pre] {
				c.failf(dlfBadParam, "The request parameter is invalid: node %s depends on unknown node %q.", n.Name, pre)
			}
		}
		for _, cond := range n.Conditions {
			if !names[cond.PreNodeName] {
				c.failf(dlfBadParam, "The request parameter is invalid: a condition of node %s names unknown node %q.", n.Name, cond.PreNodeName)
			}
		}
	}
	if c.code == "" && len(dlfExecutionOrder(def.Nodes)) != len(def.Nodes) {
		c.failf(dlfBadParam, "The request parameter is invalid: the nodes' preNodeName links form a cycle.")
	}

	if s := def.Schedule; s == nil {
		c.failf(dlfBadSchedule, "The job scheduling parameter is invalid: schedule is mandatory.")
	} else {
		deps = append(deps, s.check(&c)...)
	}
	for _, p := range def.Params {
		switch {
		case p.Name == "" || !dlfNameOK(p.Name, "-_", 64):
			c.failf(dlfBadParam, "The request parameter is invalid: param name %q must be 1 to 64 letters, digits, - and _.", p.Name)
		case len([]rune(p.Value)) > 1024:
			c.failf(dlfBadParam, "The request parameter is invalid: the value of param %s exceeds 1024 characters.", p.Name)
		}
		c.enum("params[].type", p.Type, "variable", "constants")
	}
	if b := def.BasicConfig; b != nil {
		if len([]rune(b.Owner)) > 128 {
			c.failf(dlfBadParam, "The request parameter is invalid: basicConfig.owner exceeds 128 characters.")
		}
		c.intRange("basicConfig.priority", b.Priority, 0, 2)
		// 0 is what the detail sample echoes for an unset timeout.
		if t := b.InstanceTimeout; t != nil && *t != 0 {
			c.intRange("basicConfig.instanceTimeout", t, 5, 1440)
		}
		size := 0
		for k, v := range b.CustomFields {
			size += len(k) + len(v)
		}
		if size > 2048 {
			c.failf(dlfBadParam, "The request parameter is invalid: basicConfig.customFields exceed 2048 characters.")
		}
	}
	return deps, c
}

// check validates one node and fills in its defaults (table 7-51). It
// returns the jobs its cron trigger depends on.
func (n *dlfNode) check(c *dlfCheck) (deps []string) {
	if strings.TrimSpace(n.Name) == "" {
		c.missing("nodes[].name")
	} else if !dlfNameOK(n.Name, "-_.", 128) {
		c.failf(dlfBadParam, "The request parameter is invalid: node name %q must be at most 128 letters, digits, -, _ and ..", n.Name)
	}
	typ, ok := dlfCanonicalNodeType(n.Type)
	switch {
	case n.Type == "":
		c.missing(fmt.Sprintf("nodes[%s].type", n.Name))
	case !ok:
		c.failf(dlfBadParam, "The request parameter is invalid: node %s has unknown type %q.", n.Name, n.Type)
	}
	if n.Location == nil || len(n.Location.X) == 0 || len(n.Location.Y) == 0 {
		c.missing(fmt.Sprintf("nodes[%s].location", n.Name))
	}
	for _, p := range dlfNodeRequired(typ) {
		if _, ok := n.property(p); !ok {
			c.missing(fmt.Sprintf("nodes[%s].properties.%s", n.Name, p))
		}
	}
	for p, allowed := range dlfNodeEnums(typ) {
		if v, ok := n.property(p); ok {
			s, _ := v.(string)
			c.enum(fmt.Sprintf("nodes[%s].properties.%s", n.Name, p), cmp.Or(s, fmt.Sprint(v)), allowed...)
		}
	}
	for _, cond := range n.Conditions {
		if cond.PreNodeName == "" || cond.Expression == "" {
			c.missing(fmt.Sprintf("nodes[%s].conditions[].preNodeName and expression", n.Name))
		}
	}
	c.intRange("pollingInterval", n.PollingInterval, 1, 60)
	c.intRange("maxExecutionTime", n.MaxExecutionTime, 5, 1440)
	c.intRange("retryTimes", n.RetryTimes, 0, 5)
	c.intRange("retryInterval", n.RetryInterval, 5, 120)
	// FAIL is the documented default although it is not among the values
	// listed, and every sample sends it.
	c.enum("failPolicy", n.FailPolicy, "FAIL", "EXIT", "CONTINUE", "SUSPEND", "EXIT_CHILD")
	if n.EventTrigger != nil {
		n.EventTrigger.check(c, "eventTrigger")
	}
	if n.CronTrigger != nil {
		deps = n.CronTrigger.check(c, "cronTrigger")
	}

	def := func(p **int, v int) {
		if *p == nil {
			*p = &v
		}
	}
	def(&n.PollingInterval, 10)
	def(&n.MaxExecutionTime, 60)
	def(&n.RetryTimes, 0)
	def(&n.RetryInterval, 120)
	n.FailPolicy = cmp.Or(n.FailPolicy, "FAIL")
	if n.PreNodeName == nil {
		n.PreNodeName = []string{}
	}
	if n.Properties == nil {
		n.Properties = []dlfProperty{}
	}
	return deps
}

func (s *dlfSchedule) check(c *dlfCheck) (deps []string) {
	switch s.Type {
	case dlfExecuteOnce:
	case dlfCronType:
		if s.Cron == nil {
			c.failf(dlfBadSchedule, "The job scheduling parameter is invalid: schedule.cron is mandatory for CRON.")
			return nil
		}
		return s.Cron.check(c, "schedule.cron")
	case dlfEventType:
		if s.Event == nil {
			c.failf(dlfBadSchedule, "The job scheduling parameter is invalid: schedule.event is mandatory for EVENT.")
			return nil
		}
		s.Event.check(c, "schedule.event")
	default:
		c.failf(dlfBadSchedule, "The job scheduling parameter is invalid: schedule.type %q is not EXECUTE_ONCE, CRON or EVENT.", s.Type)
	}
	return nil
}

// dlfTimeLayouts parse yyyy-MM-dd'T'HH:mm:ssZ as in "2018-10-22T23:59:59+08".
var dlfTimeLayouts = []string{"2006-01-02T15:04:05-07", "2006-01-02T15:04:05-0700", time.RFC3339}

func dlfParseTime(s string) (time.Time, bool) {
	for _, l := range dlfTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (cr *dlfCron) check(c *dlfCheck, field string) (deps []string) {
	start, ok := dlfParseTime(cr.StartTime)
	if !ok {
		c.failf(dlfBadSchedule, "The job scheduling parameter is invalid: %s.startTime %q is not yyyy-MM-dd'T'HH:mm:ssZ.", field, cr.StartTime)
	}
	if cr.EndTime != "" {
		if end, ok := dlfParseTime(cr.EndTime); !ok || !end.After(start) {
			c.failf(dlfBadSchedule, "The job scheduling parameter is invalid: %s.endTime %q is not a time after startTime.", field, cr.EndTime)
		}
	}
	// <second> <minute> <hour> <day> <month> <week>; this version allows
	// only 0 seconds and every month (table 7-58).
	f := strings.Fields(cr.Expression)
	if len(f) != 6 || f[0] != "0" || f[4] != "*" {
		c.failf(dlfBadSchedule, "The job scheduling parameter is invalid: %s.expression %q must have 6 fields, second 0 and month *.", field, cr.Expression)
	}
	if d := cr.DependJobs; d != nil {
		if len(d.Jobs) == 0 {
			c.missing(field + ".dependJobs.jobs")
		}
		c.enum(field+".dependJobs.dependPeriod", d.DependPeriod, "SAME_PERIOD", "PRE_PERIOD")
		c.enum(field+".dependJobs.dependFailPolicy", d.DependFailPolicy, "FAIL", "IGNORE", "SUSPEND")
		return d.Jobs
	}
	return nil
}

func (ev *dlfEvent) check(c *dlfCheck, field string) {
	if t := cmp.Or(ev.EventType, ev.EngineType); t != "DIS" {
		c.failf(dlfBadSchedule, "The job scheduling parameter is invalid: %s.eventType %q is not DIS.", field, t)
	}
	if ev.Channel == "" {
		c.missing(field + ".channel")
	}
	c.enum(field+".failPolicy", ev.FailPolicy, "SUSPEND", "IGNORE", "CONTINUE")
	c.intRange(field+".concurrent", ev.Concurrent, 1, 128)
	c.enum(field+".readPolicy", ev.ReadPolicy, "LAST", "NEW")
}

// dlfExecutionOrder sorts nodes so every node follows its preNodeName
// nodes, keeping the declared order otherwise. A cycle leaves nodes out.
func dlfExecutionOrder(nodes []dlfNode) []dlfNode {
	done := map[string]bool{}
	var order []dlfNode
	for progress := true; progress; {
		progress = false
		for _, n := range nodes {
			if done[n.Name] {
				continue
			}
			ready := true
			for _, pre := range n.PreNodeName {
				ready = ready && done[pre]
			}
			if ready {
				done[n.Name] = true
				order = append(order, n)
				progress = true
			}
		}
	}
	return order
}
