package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"gopkg.in/yaml.v3"

	"github.com/pipectl/pipectl/spec/expr"
)

// LoadFile reads and loads the spec at path.
func LoadFile(path string) (*Pipeline, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read spec",
			Detail:   err.Error(),
		}}
	}
	return Load(path, src)
}

// Load parses src as a pipeline spec. It returns every problem it finds;
// the pipeline is returned even with errors, holding what was valid.
func Load(filename string, src []byte) (*Pipeline, hcl.Diagnostics) {
	l := &loader{file: filename, src: src, lines: newLineIndex(src), aliasBudget: maxAliasValues(src)}
	p := &Pipeline{Source: src, Filename: filename, lines: l.lines}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		l.yamlError(err)
		return p, l.diags
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		l.errorf(hcl.Range{Filename: filename, Start: hcl.Pos{Line: 1, Column: 1, Byte: 0}, End: hcl.Pos{Line: 1, Column: 1, Byte: 0}},
			"Empty spec", "A spec is a YAML mapping with at least `name` and `steps`.")
		return p, l.diags
	}
	// A second document would be ignored: refuse it rather than run
	// half of what the file says. An empty one (a trailing `---`) is
	// harmless.
	for {
		var more yaml.Node
		err := dec.Decode(&more)
		if err == io.EOF {
			break
		}
		if err != nil {
			l.yamlError(err)
			return p, l.diags
		}
		if len(more.Content) == 1 && more.Content[0].Kind == yaml.ScalarNode && more.Content[0].Tag == "!!null" && more.Content[0].Value == "" {
			continue
		}
		l.errorAt(&more, "More than one document",
			"This `---` starts a second YAML document; a spec file holds one pipeline, and pipectl would ignore the rest. Put each pipeline in a file of its own.")
		return p, l.diags
	}
	indexPaths(&doc, "", &p.paths)
	sortPaths(p.paths)
	l.pipeline(p, doc.Content[0])
	l.keysInSpec(&doc)
	return p, l.diags
}

// yamlError reports a YAML syntax error. yaml.v3 gives the line, if any,
// only in its message ("yaml: line 3: ..."), and none for bytes it cannot
// read or an alias to an unknown anchor: those are found in the source.
func (l *loader) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pos := hcl.Pos{Line: 1, Column: 1}
	var line int
	if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil && line >= 1 {
		pos.Line = min(line, l.lines.lines())
		msg = strings.TrimSpace(msg[strings.IndexByte(msg, ':')+1:])
	} else if off := l.unpositioned(msg); off >= 0 {
		pos = l.lines.pos(off)
	}
	pos.Byte = l.offset(pos)
	l.errorf(hcl.Range{Filename: l.file, Start: pos, End: pos}, "Invalid YAML", "%s", msg)
}

var unknownAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// unpositioned returns the offset of what a YAML error without a line is
// about, or -1: the first character YAML does not accept (invalid UTF-8,
// a control character), or the first alias to the unknown anchor.
func (l *loader) unpositioned(msg string) int {
	if m := unknownAnchorRE.FindStringSubmatch(msg); m != nil {
		re := regexp.MustCompile(`(?:^|[\s\[{,])(\*` + regexp.QuoteMeta(m[1]) + `)(?:$|[\s,\]}])`)
		if loc := re.FindSubmatchIndex(l.src); loc != nil {
			return loc[2]
		}
		return -1
	}
	if !strings.Contains(msg, "UTF-8") && !strings.Contains(msg, "Unicode") && !strings.Contains(msg, "control characters") {
		return -1
	}
	for off := 0; off < len(l.src); {
		r, size := utf8.DecodeRune(l.src[off:])
		if r == utf8.RuneError && size <= 1 || !yamlChar(r) {
			return off
		}
		off += size
	}
	return -1
}

// yamlChar reports whether YAML accepts r in a stream (YAML 1.2, 5.1).
func yamlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0x7E || r == 0x85 ||
		r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// Hash is the SHA-256 of the file's bytes: it changes with every comment
// and space. It is not what identifies a spec version in runs and
// schedules; that is the planner's Plan.SpecHash, of what the spec means.
func (p *Pipeline) Hash() string {
	sum := sha256.Sum256(p.Source)
	return hex.EncodeToString(sum[:])
}

type loader struct {
	file  string
	src   []byte
	lines *lineIndex
	diags hcl.Diagnostics
	// aliasBudget is how many more values aliases may expand to (see
	// maxAliasValues).
	aliasBudget int
	// reported holds the problems reported, so that each is reported once.
	reported map[diagKey]bool
}

// Step ids and pipeline names become parts of workflow ids, activity
// inputs and job tags, so they are kept to a portable alphabet.
var identRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

func (l *loader) pipeline(p *Pipeline, n *yaml.Node) {
	fields := l.mapping(n, "pipeline", map[string]bool{"name": true, "steps": true},
		"name", "description", "params", "env", "cloud", "defaults", "max_parallel", "schedule", "steps")
	if v, ok := fields["name"]; ok && !l.template(v, "`name`") {
		p.Name, p.NameRange = l.str(v), l.rng(v)
		if p.Name != "" && !identRE.MatchString(p.Name) {
			l.errorAt(v, "Invalid pipeline name",
				"%s: a name starts with a lower-case letter and has at most 63 lower-case letters, digits, '-' and '_'.", Excerpt(p.Name))
		}
	}
	if v, ok := fields["description"]; ok {
		p.Description = l.str(v)
		l.planTemplate(p, "description", v)
	}
	if v, ok := fields["params"]; ok {
		p.Params = l.params(v)
	}
	if v, ok := fields["env"]; ok {
		p.Env = l.refs(v, "`env`")
	}
	if v, ok := fields["cloud"]; ok {
		cf := l.mapping(v, "cloud", nil, "region", "project_id", "endpoints", "credentials")
		if r, ok := cf["region"]; ok {
			p.Cloud.Region = l.str(r)
			l.planTemplate(p, "cloud.region", r)
		}
		if r, ok := cf["project_id"]; ok {
			p.Cloud.ProjectID = l.str(r)
			l.planTemplate(p, "cloud.project_id", r)
		}
		if r, ok := cf["credentials"]; ok {
			p.Cloud.Credentials = l.str(r)
			l.planTemplate(p, "cloud.credentials", r)
		}
		if r, ok := cf["endpoints"]; ok {
			p.Cloud.Endpoints = l.endpoints(p, r)
		}
	}
	if v, ok := fields["defaults"]; ok {
		df := l.mapping(v, "defaults", nil, "retry", "poll", "timeout", "on_failure")
		l.stepOptions(&p.Defaults, df)
	}
	if v, ok := fields["max_parallel"]; ok && !l.template(v, "`max_parallel`") {
		p.MaxParallel = l.int(v, 1)
	}
	if v, ok := fields["schedule"]; ok {
		p.Schedule = l.schedule(v)
	}
	if v, ok := fields["steps"]; ok {
		l.steps(p, v)
	}
}

// services whose endpoints a spec may override.
func endpointServices() []string {
	return []string{"iam", "cdm", "dis", "dli", "lakeformation", "dlf"}
}

func (l *loader) endpoints(p *Pipeline, n *yaml.Node) map[string]string {
	out := map[string]string{}
	f := l.mapping(n, "endpoints", nil, endpointServices()...)
	for _, svc := range endpointServices() {
		v, ok := f[svc]
		if !ok {
			continue
		}
		u := l.str(v)
		if l.planTemplate(p, "cloud.endpoints."+svc, v) {
			out[svc] = u
			continue // checked once evaluated
		}
		if !EndpointURL(u) {
			l.errorAt(v, "Invalid endpoint", "%s is not a URL; write it as https://host[:port].", Excerpt(u))
		} else if from, to := URLPassword(u); from >= 0 {
			r := l.rng(v)
			if m := (&Pipeline{Source: l.src, Filename: l.file, lines: l.lines}).ValueMap(v); m.Exact() {
				r.Start, r.End = m.Pos(from), m.Pos(to)
			}
			l.errorf(r, "Literal credential", "%s", EndpointPasswordDetail)
		}
		out[svc] = u
	}
	return out
}

// EndpointURL reports whether u may be a service endpoint: an http or
// https URL.
func EndpointURL(u string) bool {
	return u == "" || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")
}

// EndpointPasswordDetail says why an endpoint may not hold a password.
const EndpointPasswordDetail = "An endpoint may not hold a password (https://user:PASSWORD@host): it would be stored in the plan and in workflow history in clear text. Write the endpoint as https://host[:port]; the worker signs its requests with its own credentials."

// URLPassword returns where the password of URL u's userinfo
// (scheme://user:PASSWORD@host) is, as byte offsets, or -1, -1 when it has
// none.
func URLPassword(u string) (from, to int) {
	i := strings.Index(u, "://")
	if i < 0 {
		return -1, -1
	}
	auth := u[i+3:]
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return -1, -1
	}
	colon := strings.IndexByte(auth[:at], ':')
	if colon < 0 || colon+1 == at {
		return -1, -1
	}
	return i + 3 + colon + 1, i + 3 + at
}

// template reports a template in n, the value of a field that is read as
// written, and returns true when there is one. Left alone, "${...}" there
// would be kept as text or refused as a bad value with a puzzling message.
func (l *loader) template(n *yaml.Node, field string) bool {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || !expr.HasTemplate(n.Value) {
		return false
	}
	l.errorf(l.rng(n), "Template not allowed",
		"Templates are not allowed in %s; write its value as is. Templates are evaluated only in with, if, for_each, description and cloud.", field)
	return true
}

// planTemplate records n, the value of the field at path, when it holds a
// template: the planner evaluates it. It reports whether it did.
func (l *loader) planTemplate(p *Pipeline, path string, n *yaml.Node) bool {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || !expr.HasTemplate(n.Value) {
		return false
	}
	p.PlanTemplates = append(p.PlanTemplates, PlanTemplate{Path: path, Node: n, Range: l.rng(n)})
	return true
}

// paramDefault reads a parameter's default, which must hold no template:
// a default is a value, not an expression over other parameters.
func (l *loader) paramDefault(n *yaml.Node) *Value {
	seen := map[*yaml.Node]bool{} // each node once: aliases may repeat or contain one another
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if seen[n] {
			return
		}
		seen[n] = true
		switch n.Kind {
		case yaml.AliasNode:
			if n.Alias != nil {
				walk(n.Alias)
			}
		case yaml.ScalarNode:
			l.template(n, "a parameter default")
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				walk(n.Content[i])
			}
		}
	}
	n = deref(n)
	walk(n)
	return l.value(n)
}

func (l *loader) params(n *yaml.Node) []*Param {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		l.errorAt(n, "Invalid params", "`params` is a mapping from parameter name to its default value or to {type, default, description}; found %s.", kindName(n))
		return nil
	}
	var out []*Param
	seen := map[string]bool{}
	for _, e := range l.entries(n) {
		k, v := e.k, deref(e.v)
		if !paramRE.MatchString(k.Value) {
			l.errorAt(k, "Invalid parameter name", "%q: a parameter name starts with a letter and has only letters, digits and '_'.", k.Value)
			continue
		}
		if seen[k.Value] {
			l.errorAt(k, "Duplicate parameter", "%q is defined twice.", k.Value)
			continue
		}
		seen[k.Value] = true
		p := &Param{Name: k.Value, Range: l.rng(k)}
		typed := false // a type is written, if maybe not a valid one
		if isParamDecl(v, l.entries) {
			f := l.paramFields(v)
			if _, ok := f["type"]; ok {
				typed = true
			}
			if t, ok := f["type"]; ok && !l.template(t, "a parameter's type") {
				p.Type = ParamType(l.str(t))
				if p.Type != "" && !slices.Contains(ParamTypes(), string(p.Type)) {
					detail := fmt.Sprintf("%s is not a parameter type; the types are: %s.", Excerpt(string(p.Type)), strings.Join(ParamTypes(), ", "))
					if sug := Suggest(string(p.Type), ParamTypes()); sug != "" {
						detail = fmt.Sprintf("%s is not a parameter type. Did you mean %q?", Excerpt(string(p.Type)), sug)
					}
					l.errorAt(t, "Unknown parameter type", "%s", detail)
					p.Type = ""
				}
			}
			if d, ok := f["description"]; ok && !l.template(d, "a parameter's description") {
				p.Description = l.str(d)
			}
			if d, ok := f["default"]; ok {
				p.Default = l.paramDefault(d)
			}
		} else {
			p.Default = l.paramDefault(v)
		}
		if p.Default != nil {
			inferred := typeOf(p.Default.Raw)
			switch {
			case p.Type == "":
				p.Type = inferred
			case inferred != "" && !compatible(p.Type, inferred):
				l.errorAt(p.Default.Node, "Default does not match the type", "Parameter %q is a %s, but its default is a %s.", p.Name, p.Type, inferred)
			}
		}
		if p.Type == "" {
			if !typed && (p.Default == nil || p.Default.Raw != nil) {
				l.errorf(p.Range, "Parameter has no type", "Give parameter %q a `type` (%s) or a default value.", p.Name, strings.Join(ParamTypes(), ", "))
			}
			p.Type = ParamString
		}
		out = append(out, p)
	}
	return out
}

// paramFields reads a parameter's long form, as mapping does, saying for
// a field it does not know how a map default with such keys is written.
func (l *loader) paramFields(n *yaml.Node) map[string]*yaml.Node {
	fields := []string{"type", "default", "description"}
	out := map[string]*yaml.Node{}
	for _, e := range l.entries(n) {
		k, v := e.k, e.v
		if !slices.Contains(fields, k.Value) {
			detail := fmt.Sprintf("%s is not a field of parameter; expected one of: %s. A mapping with a `type` key declares a parameter; to give a map default with such keys, write {type: map, default: {…}}.",
				Excerpt(k.Value), strings.Join(fields, ", "))
			if s := suggest(k.Value, fields, out); s != "" {
				detail = fmt.Sprintf("%s is not a field of parameter. Did you mean %q?", Excerpt(k.Value), s)
			}
			l.errorf(l.rng(k), "Unknown field", "%s", detail)
			continue
		}
		if _, dup := out[k.Value]; dup {
			l.errorf(l.rng(k), "Duplicate field", "%q is set twice in this parameter.", k.Value)
			continue
		}
		out[k.Value] = deref(v)
	}
	return out
}

var paramRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// isParamDecl tells the long form {type, default, description} from a
// default that happens to be a mapping. A mapping with a `type` key is a
// declaration, whatever its other keys: so a misspelt `defualt` is
// reported rather than silently making the whole mapping a map default.
// (A map default that has a `type` key is written in the long form, as
// {type: map, default: {type: …}}.) Without `type`, a mapping whose keys
// are all among the three, with a description, is a declaration too.
func isParamDecl(n *yaml.Node, entries func(*yaml.Node) []entry) bool {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return false
	}
	described, other := false, false
	for _, e := range entries(n) {
		switch e.k.Value {
		case "type":
			return true
		case "description":
			described = true
		case "default":
		default:
			other = true
		}
	}
	return described && !other
}

func typeOf(v any) ParamType {
	switch v.(type) {
	case string:
		return ParamString
	case int64, float64:
		return ParamNumber
	case bool:
		return ParamBool
	case []any:
		return ParamList
	case map[string]any:
		return ParamMap
	}
	return ""
}

// compatible allows a string default for any type only when it is a
// template (decided later) — here, plain type equality.
func compatible(declared, actual ParamType) bool { return declared == actual }

func (l *loader) schedule(n *yaml.Node) *Schedule {
	sc := &Schedule{Range: l.rng(n)}
	f := l.mapping(n, "schedule", map[string]bool{"cron": true},
		"cron", "timezone", "start", "end", "overlap", "catchup_window", "paused")
	if v, ok := f["cron"]; ok && !l.template(v, "`schedule.cron`") {
		sc.Cron, sc.CronRange = l.str(v), l.rng(v)
	}
	if v, ok := f["timezone"]; ok && !l.template(v, "`schedule.timezone`") {
		sc.Timezone, sc.TimezoneRange = l.str(v), l.rng(v)
	}
	for _, k := range []string{"start", "end"} {
		v, ok := f[k]
		if !ok || l.template(v, "`schedule."+k+"`") {
			continue
		}
		t, err := time.Parse(time.RFC3339, v.Value)
		if v.Kind != yaml.ScalarNode || err != nil {
			l.errorAt(v, "Invalid time", "%s must be a time in RFC 3339 form, such as 2026-03-01T00:00:00+08:00.", k)
			continue
		}
		if k == "start" {
			sc.Start = &t
		} else {
			sc.End = &t
		}
	}
	if sc.Start != nil && sc.End != nil && !sc.End.After(*sc.Start) {
		l.errorAt(f["end"], "Schedule ends before it starts", "end (%s) must be after start (%s).", sc.End.Format(time.RFC3339), sc.Start.Format(time.RFC3339))
	}
	if v, ok := f["overlap"]; ok && !l.template(v, "`schedule.overlap`") {
		sc.Overlap, sc.OverlapRange = l.enum(v, "overlap policy", OverlapPolicies()), l.rng(v)
	}
	if v, ok := f["catchup_window"]; ok && !l.template(v, "`schedule.catchup_window`") {
		sc.CatchupWindow = l.duration(v)
	}
	if v, ok := f["paused"]; ok && !l.template(v, "`schedule.paused`") {
		sc.Paused = l.bool(v)
	}
	return sc
}

func (l *loader) steps(p *Pipeline, n *yaml.Node) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		l.errorAt(n, "Invalid steps", "`steps` is a list of steps, each a mapping with `id` and `kind`.")
		return
	}
	if len(n.Content) == 0 {
		l.errorAt(n, "No steps", "A pipeline needs at least one step.")
	}
	seen := map[string]hcl.Range{}
	for i, sn := range n.Content {
		sn = deref(sn)
		f := l.mapping(sn, "step", map[string]bool{"id": true, "kind": true},
			"id", "kind", "depends_on", "if", "with", "for_each", "max_parallel", "run_on",
			"retry", "poll", "timeout", "on_failure")
		if sn.Kind != yaml.MappingNode {
			continue
		}
		s := &Step{Range: l.rng(sn), Path: fmt.Sprintf("steps[%d]", i), FieldRanges: map[string]hcl.Range{}}
		for j := 0; j+1 < len(sn.Content); j += 2 {
			if k := sn.Content[j].Value; f[k] == sn.Content[j+1] {
				s.FieldRanges[k] = l.rng(sn.Content[j])
			}
		}
		if v, ok := f["id"]; ok && !l.template(v, "`id`") {
			s.ID, s.Range = l.str(v), l.rng(v)
			switch prev, dup := seen[s.ID]; {
			case s.ID == "":
			case !identRE.MatchString(s.ID):
				l.errorf(s.Range, "Invalid step id",
					"%s: an id starts with a lower-case letter and has at most 63 lower-case letters, digits, '-' and '_'.", Excerpt(s.ID))
			case dup:
				l.errorf(s.Range, "Duplicate step id", "Step %q is already defined at %s.", s.ID, prev)
			default:
				seen[s.ID] = s.Range
			}
		}
		if v, ok := f["kind"]; ok && !l.template(v, "`kind`") {
			s.Kind, s.KindRange = l.str(v), l.rng(v)
		}
		if v, ok := f["depends_on"]; ok {
			s.DependsOn = l.refs(v, "`depends_on`")
		}
		if v, ok := f["if"]; ok {
			s.If = l.value(v)
			if _, isBool := s.If.Raw.(bool); !isBool {
				if str, isStr := s.If.Raw.(string); !isStr || !strings.Contains(str, "${") {
					detail := fmt.Sprintf("`if` is true, false or a template such as \"${params.full_load}\"; found %s.", kindName(v))
					switch strings.ToLower(str) {
					case "yes", "no", "on", "off", "y", "n":
						detail += " YAML 1.2 reads " + str + " as a string, not a bool: write true or false."
					}
					l.errorAt(v, "Invalid condition", "%s", detail)
				}
			}
		}
		if v, ok := f["with"]; ok {
			s.WithRange = l.rng(v)
			s.With = l.values(v)
		}
		if v, ok := f["for_each"]; ok {
			s.ForEach = l.value(v)
			switch x := s.ForEach.Raw.(type) {
			case []any:
			case string:
				if !strings.Contains(x, "${") {
					l.errorAt(v, "Invalid for_each", "`for_each` is a list or a template giving one, such as \"${params.tables}\"; found %s.", kindName(v))
				}
			default:
				l.errorAt(v, "Invalid for_each", "`for_each` is a list or a template giving one; found %s.", kindName(v))
			}
		}
		if v, ok := f["max_parallel"]; ok {
			if !l.template(v, "`max_parallel`") {
				s.MaxParallel = l.int(v, 1)
			}
			if s.ForEach == nil {
				l.errorAt(v, "max_parallel without for_each", "A step's max_parallel bounds its for_each items; this step has no for_each.")
			}
		}
		if v, ok := f["run_on"]; ok && !l.template(v, "`run_on`") {
			s.RunOn, s.RunOnRange = l.enum(v, "run_on value", RunOnValues()), l.rng(v)
		}
		l.stepOptions(&s.StepOptions, f)
		p.Steps = append(p.Steps, s)
	}
}

func (l *loader) stepOptions(o *StepOptions, f map[string]*yaml.Node) {
	if v, ok := f["retry"]; ok {
		rf := l.mapping(v, "retry", nil, "max_attempts", "initial_interval", "max_interval", "backoff", "non_retryable")
		r := &Retry{}
		if x, ok := rf["max_attempts"]; ok && !l.template(x, "`retry.max_attempts`") {
			r.MaxAttempts = l.int(x, 1)
		}
		if x, ok := rf["initial_interval"]; ok && !l.template(x, "`retry.initial_interval`") {
			r.InitialInterval, r.InitialIntervalRange = l.duration(x), l.rng(x)
		}
		if x, ok := rf["max_interval"]; ok && !l.template(x, "`retry.max_interval`") {
			r.MaxInterval, r.MaxIntervalRange = l.duration(x), l.rng(x)
		}
		if x, ok := rf["backoff"]; ok && !l.template(x, "`retry.backoff`") {
			r.Backoff = l.float(x, 1)
		}
		if x, ok := rf["non_retryable"]; ok {
			// Non-nil even when empty: `non_retryable: []` on a step
			// clears the list given in defaults.
			r.NonRetryable = []string{}
			for _, ref := range l.refs(x, "`retry.non_retryable`") {
				r.NonRetryable = append(r.NonRetryable, ref.Name)
			}
		}
		o.Retry = r
	}
	if v, ok := f["poll"]; ok {
		pf := l.mapping(v, "poll", nil, "interval", "max_interval")
		p := &Poll{}
		if x, ok := pf["interval"]; ok && !l.template(x, "`poll.interval`") {
			p.Interval, p.IntervalRange = l.duration(x), l.rng(x)
		}
		if x, ok := pf["max_interval"]; ok && !l.template(x, "`poll.max_interval`") {
			p.MaxInterval, p.MaxIntervalRange = l.duration(x), l.rng(x)
		}
		o.Poll = p
	}
	if v, ok := f["timeout"]; ok && !l.template(v, "`timeout`") {
		d := l.duration(v)
		o.Timeout = &d
	}
	if v, ok := f["on_failure"]; ok && !l.template(v, "`on_failure`") {
		o.OnFailure, o.OnFailureRange = l.enum(v, "failure policy", FailurePolicies()), l.rng(v)
	}
}

// enum reads a string that must be one of values.
func (l *loader) enum(n *yaml.Node, what string, values []string) string {
	s := l.str(n)
	if s == "" || slices.Contains(values, s) {
		return s
	}
	detail := fmt.Sprintf("%s is not a %s; expected one of: %s.", Excerpt(s), what, strings.Join(values, ", "))
	if sug := Suggest(s, values); sug != "" {
		detail = fmt.Sprintf("%s is not a %s. Did you mean %q?", Excerpt(s), what, sug)
	}
	l.errorAt(n, "Invalid "+what, "%s", detail)
	return ""
}

func (l *loader) bool(n *yaml.Node) bool {
	var v bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&v) != nil {
		l.errorAt(n, "Expected true or false", "Found %s.", kindName(n))
	}
	return v
}

// value reads any value, keeping its node for templates.
func (l *loader) value(n *yaml.Node) *Value {
	n = deref(n)
	raw, err := l.plain(n)
	if err != nil {
		l.errorAt(n, "Invalid value", "%s", err)
	}
	return &Value{Raw: raw, Node: n, Range: l.rng(n)}
}

// plain decodes a YAML node into string, bool, int64, float64, nil, []any
// and map[string]any. Unlike yaml.v3's own decoding, timestamps stay
// strings (a date is data to pass on, not a Go time) and integers too big
// for int64 stay strings rather than failing.
func (l *loader) plain(n *yaml.Node) (any, error) {
	d := &plainDecoder{budget: &l.aliasBudget, limit: maxAliasValues(l.src)}
	return d.decode(n, nil)
}

// maxAliasValues is how many values a spec's aliases may expand to: plenty
// for specs that reuse fragments, while a "billion laughs" document (a
// list of aliases to a list of aliases to …, each level multiplying the
// size) fails at once instead of taking time and memory exponential in its
// length.
func maxAliasValues(src []byte) int { return max(100_000, 4*len(src)) }

// plainDecoder holds what plain needs across a decoding: how deep in
// aliases it is, and the spec's budget for values decoded through them.
type plainDecoder struct {
	aliases int
	budget  *int // what is left of maxAliasValues
	limit   int  // maxAliasValues
}

// decode decodes n, which is inside the lists and mappings open (outermost
// first). An alias to one of those, such as `a: &x {b: *x}`, would make a
// value that contains itself: yaml.v3 parses it into nodes without
// complaint, and decoding it never ended (it overflowed the stack, which
// kills the process).
func (d *plainDecoder) decode(n *yaml.Node, open []*yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		if slices.Contains(open, n.Alias) {
			return nil, fmt.Errorf("line %d: alias *%s is inside the value it refers to", n.Line, n.Value)
		}
		d.aliases++
		defer func() { d.aliases-- }()
		return d.decode(n.Alias, open)
	}
	if d.aliases > 0 {
		if *d.budget--; *d.budget < 0 {
			return nil, fmt.Errorf("line %d: aliases expand to too many values; a spec's aliases may give at most %d in all", n.Line, d.limit)
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return d.decode(n.Content[0], open)
	case yaml.SequenceNode:
		open = append(open, n)
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := d.decode(c, open)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		open = append(open, n)
		out := make(map[string]any, len(n.Content)/2)
		// Keys merged in (`<<: *a`) yield to those the mapping sets
		// itself, and to those merged before them, as YAML says.
		var merged []map[string]any
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				srcs := []*yaml.Node{v}
				if deref(v).Kind == yaml.SequenceNode {
					srcs = deref(v).Content
				}
				for _, src := range srcs {
					m, err := d.decode(src, open)
					if err != nil {
						return nil, err
					}
					mm, ok := m.(map[string]any)
					if !ok {
						return nil, fmt.Errorf("line %d: %s", deref(src).Line, mergeDetail(src))
					}
					merged = append(merged, mm)
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a key must be a plain value, not %s", k.Line, kindName(k))
			}
			if _, dup := out[k.Value]; dup {
				return nil, fmt.Errorf("line %d: key %q is set twice in this mapping", k.Line, k.Value)
			}
			val, err := d.decode(v, open)
			if err != nil {
				return nil, err
			}
			out[k.Value] = val
		}
		for _, m := range merged {
			for mk, mv := range m {
				if _, set := out[mk]; !set {
					out[mk] = mv
				}
			}
		}
		return out, nil
	}
	switch n.Tag {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, err
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return n.Value, nil
		}
		return i, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%q is not a finite number", n.Value)
		}
		return f, nil
	}
	return n.Value, nil
}

// deref follows n to the node it names when it is an alias: a field
// written as `*name` holds what the anchor holds, and a problem with it is
// shown where that is written.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// entry is a key of a mapping and its value.
type entry struct{ k, v *yaml.Node }

// entries returns the keys and values of n, a mapping, with those of the
// mappings its merge keys (`<<: *a`, `<<: [*a, *b]`) name that it does not
// set itself: as YAML says, its own keys win, then those of the mappings
// merged first. Keys it sets twice itself are all returned, for the caller
// to report.
func (l *loader) entries(n *yaml.Node) []entry {
	return l.mergedEntries(n, nil)
}

// mergedEntries is entries of n, merged into the mappings open.
func (l *loader) mergedEntries(n *yaml.Node, open []*yaml.Node) []entry {
	var own, merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Tag != "!!merge" {
			own = append(own, entry{k, v})
			continue
		}
		if l.aliasBudget < 0 {
			continue // reported
		}
		srcs := []*yaml.Node{deref(v)}
		if srcs[0].Kind == yaml.SequenceNode {
			srcs = srcs[0].Content
		}
		for _, src := range srcs {
			src = deref(src)
			switch {
			case src.Kind != yaml.MappingNode:
				l.errorAt(src, "Invalid merge", "%s", mergeDetail(src))
			case src == n || slices.Contains(open, src):
				l.errorAt(src, "Invalid merge", "This mapping is merged into itself through `<<`.")
			default:
				merged = append(merged, l.mergedEntries(src, append(open, n))...)
			}
		}
	}
	if len(merged) == 0 {
		return own
	}
	set := make(map[string]bool, len(own)+len(merged))
	for _, e := range own {
		set[e.k.Value] = true
	}
	for _, e := range merged {
		if set[e.k.Value] {
			continue
		}
		set[e.k.Value] = true
		// Merges of merges multiply like aliases of aliases do.
		if l.aliasBudget--; l.aliasBudget < 0 {
			if l.aliasBudget == -1 {
				l.errorAt(n, "Invalid merge", "Merge keys expand to too many values; a spec's aliases may give at most %d in all.", maxAliasValues(l.src))
			}
			break
		}
		own = append(own, e)
	}
	return own
}

// mergeDetail says why src cannot be merged.
func mergeDetail(src *yaml.Node) string {
	return fmt.Sprintf("A merge key `<<` takes a mapping, an alias to one such as *common, or a list of those; found %s.", kindName(src))
}

// mapping checks that n is a mapping with only the allowed keys and all the
// required ones, and returns its values by key.
func (l *loader) mapping(n *yaml.Node, what string, required map[string]bool, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		l.errorAt(n, fmt.Sprintf("Invalid %s", what), "Expected a mapping (key: value lines), found %s.", kindName(n))
		return out
	}
	for _, e := range l.entries(n) {
		k, v := e.k, e.v
		if !slices.Contains(allowed, k.Value) {
			detail := fmt.Sprintf("%s is not a field of %s; expected one of: %s.", Excerpt(k.Value), what, strings.Join(allowed, ", "))
			if s := suggest(k.Value, allowed, out); s != "" {
				detail = fmt.Sprintf("%s is not a field of %s. Did you mean %q?", Excerpt(k.Value), what, s)
			}
			l.errorAt(k, "Unknown field", "%s", detail)
			continue
		}
		if _, dup := out[k.Value]; dup {
			l.errorAt(k, "Duplicate field", "%q is set twice in this %s.", k.Value, what)
			continue
		}
		out[k.Value] = deref(v)
	}
	missing := make([]string, 0, len(required))
	for k := range required {
		if _, ok := out[k]; !ok {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		l.errorAt(n, "Missing field", "This %s has no %q; it is required.", what, k)
	}
	return out
}

func (l *loader) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorAt(n, "Expected a string", "Found %s.", kindName(n))
		return ""
	}
	if n.Value == "" {
		l.errorAt(n, "Empty value", "This value must not be empty.")
	}
	return n.Value
}

func (l *loader) int(n *yaml.Node, min int) int {
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		if outOfRange(n, math.MaxInt) {
			l.errorAt(n, "Expected a whole number", "%s is not a whole number in range: it must be from %d to %d.", n.Value, min, math.MaxInt)
			return 0
		}
		l.errorAt(n, "Expected a whole number", "Found %s.", kindName(n))
		return 0
	}
	if v < min {
		l.errorAt(n, "Number too small", "%d is less than the minimum, %d.", v, min)
	}
	return v
}

func (l *loader) float(n *yaml.Node, min float64) float64 {
	var v float64
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&v) != nil ||
		math.IsInf(v, 0) || math.IsNaN(v) { // .inf and .nan cannot be written to the plan's JSON
		if outOfRange(n, math.MaxFloat64) {
			l.errorAt(n, "Expected a number", "%s is not a number in range: it must be at most %g.", n.Value, math.MaxFloat64)
			return 0
		}
		l.errorAt(n, "Expected a number", "Found %s.", kindName(n))
		return 0
	}
	if v < min {
		l.errorAt(n, "Number too small", "%g is less than the minimum, %g.", v, min)
	}
	return v
}

func (l *loader) duration(n *yaml.Node) Duration {
	if n.Kind != yaml.ScalarNode {
		l.errorAt(n, "Expected a duration", "Found %s; write a duration such as \"30s\", \"5m\" or \"1h30m\".", kindName(n))
		return 0
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil && durationRE.MatchString(n.Value) {
		l.errorAt(n, "Invalid duration", "%s is too long: a duration is at most %s (about 292 years).", Excerpt(n.Value), time.Duration(math.MaxInt64).Truncate(time.Second))
		return 0
	}
	if err != nil || d <= 0 {
		l.errorAt(n, "Invalid duration", "%s is not a positive duration; write one such as \"30s\", \"5m\" or \"1h30m\".", Excerpt(n.Value))
		return 0
	}
	return Duration(d)
}

// durationRE matches what time.ParseDuration reads, with no sign: what it
// still refuses is too long for a time.Duration.
var durationRE = regexp.MustCompile(`^(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+$`)

// numberRE matches a decimal number as YAML writes one.
var numberRE = regexp.MustCompile(`^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$`)

// outOfRange reports whether scalar n is a number, written in decimal,
// whose size is over limit: YAML reads 1e400 as a string and a whole
// number past int64 as a float, which would be reported as such.
func outOfRange(n *yaml.Node, limit float64) bool {
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 || !numberRE.MatchString(n.Value) {
		return false
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	return err != nil || math.Abs(f) > limit
}

// refs reads a string or a list of strings, the names field holds.
func (l *loader) refs(n *yaml.Node, field string) []Ref {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if l.template(n, field) {
			return nil
		}
		return []Ref{{Name: n.Value, Range: l.rng(n)}}
	}
	if n.Kind != yaml.SequenceNode {
		l.errorAt(n, "Expected a list of names", "Found %s.", kindName(n))
		return nil
	}
	out := make([]Ref, 0, len(n.Content))
	for _, c := range n.Content {
		c = deref(c)
		if c.Kind != yaml.ScalarNode || c.Tag != "!!str" {
			l.errorAt(c, "Expected a name", "Found %s.", kindName(c))
			continue
		}
		if l.template(c, field) {
			continue
		}
		out = append(out, Ref{Name: c.Value, Range: l.rng(c)})
	}
	return out
}

func (l *loader) values(n *yaml.Node) map[string]Value {
	out := map[string]Value{}
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		l.errorAt(n, "Invalid with", "`with` is a mapping of the step kind's inputs; found %s.", kindName(n))
		return out
	}
	for _, e := range l.entries(n) {
		k, v := e.k, deref(e.v)
		if _, dup := out[k.Value]; dup {
			l.errorAt(k, "Duplicate field", "%q is set twice in this `with`.", k.Value)
			continue
		}
		raw, err := l.plain(v)
		if err != nil {
			l.errorAt(v, "Invalid value", "%s", err)
			continue
		}
		out[k.Value] = Value{Raw: raw, Node: v, Range: l.rng(v), KeyRange: l.rng(k)}
	}
	return out
}

// errorf reports a problem at r, once: a node aliases or merge keys
// share is read once for each place that uses it. It reports whether it
// added the problem.
func (l *loader) errorf(r hcl.Range, summary, format string, args ...any) bool {
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  r.Ptr(),
	}
	key := diagKey{r.Start, summary, d.Detail}
	if l.reported[key] {
		return false
	}
	if l.reported == nil {
		l.reported = map[diagKey]bool{}
	}
	l.reported[key] = true
	l.diags = append(l.diags, d)
	return true
}

// diagKey identifies a problem reported.
type diagKey struct {
	at              hcl.Pos
	summary, detail string
}

// errorAt reports a problem with node n. A block mapping starts where its
// first key does, so a problem with the mapping as a whole is marked to
// be shown with the mapping's path, not the key's.
func (l *loader) errorAt(n *yaml.Node, summary, format string, args ...any) {
	if !l.errorf(l.rng(n), summary, format, args...) {
		return
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		l.diags[len(l.diags)-1].Extra = OnMapping{}
	}
}

// rng is rangeOf with byte offsets filled in, which the diagnostic
// renderer needs to print the source line.
func (l *loader) rng(n *yaml.Node) hcl.Range {
	r := rangeOf(l.file, n)
	r.Start.Byte = l.offset(r.Start)
	r.End.Byte = l.offset(r.End)
	return r
}

func (l *loader) offset(p hcl.Pos) int {
	off, _ := l.lines.offset(p.Line, p.Column)
	return off
}

func kindName(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "nothing (null)"
	case "!!str":
		return "the string " + Excerpt(n.Value)
	}
	return fmt.Sprintf("%s %s", strings.TrimPrefix(n.Tag, "!!"), n.Value)
}

// excerptLen bounds what a message quotes of a value, in characters.
const excerptLen = 80

// Excerpt quotes s for a message: its first line, cut to excerptLen
// characters with "…" where it was cut. A file that is not a spec (say,
// a sub-pipeline's with.spec naming the wrong file) is one long string to
// YAML, and must not be printed whole.
func Excerpt(s string) string {
	line, _, more := strings.Cut(s, "\n")
	if r := []rune(line); len(r) > excerptLen {
		line, more = string(r[:excerptLen]), true
	}
	if more {
		return strconv.Quote(line) + "…"
	}
	return strconv.Quote(line)
}

// suggest returns the candidate closest to name, if it is close enough to
// be a likely typo of it, comparing case-insensitively. Names already set
// are not proposed.
func suggest(name string, candidates []string, set map[string]*yaml.Node) string {
	lower := strings.ToLower(name)
	best, bestDist := "", typoDistance(lower)+1
	for _, c := range candidates {
		if _, ok := set[c]; ok {
			continue
		}
		lc := strings.ToLower(c)
		if !strings.ContainsAny(lower, lc) {
			continue // nothing in common: x is no typo of n
		}
		d := levenshtein.Distance(lower, lc, nil)
		if d == 2 && swapped(lower, lc) {
			d = 1 // dya for day is one slip, not two
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// typoDistance is how far a typo of name may be from what was meant: one
// slip in a short name, where two edits make any name any other, and up
// to one in three characters, at most two, in a longer one.
func typoDistance(name string) int {
	return min(2, max(1, utf8.RuneCountInString(name)/3))
}

// swapped reports whether a is b with two adjacent characters swapped.
func swapped(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) != len(rb) {
		return false
	}
	i := 0
	for i < len(ra) && ra[i] == rb[i] {
		i++
	}
	return i+1 < len(ra) && ra[i] == rb[i+1] && ra[i+1] == rb[i] && string(ra[i+2:]) == string(rb[i+2:])
}

// Suggest returns the candidate closest to name, or "" when none is
// close enough to be a likely typo.
func Suggest(name string, candidates []string) string { return suggest(name, candidates, nil) }
