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
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"gopkg.in/yaml.v3"
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

// Hash is the content hash that identifies a spec version in runs and
// schedules: the SHA-256 of the file's bytes.
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
}

// Step ids and pipeline names become parts of workflow ids, activity
// inputs and job tags, so they are kept to a portable alphabet.
var identRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

func (l *loader) pipeline(p *Pipeline, n *yaml.Node) {
	fields := l.mapping(n, "pipeline", map[string]bool{"name": true, "steps": true},
		"name", "description", "params", "env", "cloud", "defaults", "max_parallel", "schedule", "steps")
	if v, ok := fields["name"]; ok {
		p.Name, p.NameRange = l.str(v), l.rng(v)
		if p.Name != "" && !identRE.MatchString(p.Name) {
			l.errorAt(v, "Invalid pipeline name",
				"%q: a name starts with a lower-case letter and has at most 63 lower-case letters, digits, '-' and '_'.", p.Name)
		}
	}
	if v, ok := fields["description"]; ok {
		p.Description = l.str(v)
	}
	if v, ok := fields["params"]; ok {
		p.Params = l.params(v)
	}
	if v, ok := fields["env"]; ok {
		p.Env = l.refs(v)
	}
	if v, ok := fields["cloud"]; ok {
		cf := l.mapping(v, "cloud", nil, "region", "project_id", "endpoints", "credentials")
		if r, ok := cf["region"]; ok {
			p.Cloud.Region = l.str(r)
		}
		if r, ok := cf["project_id"]; ok {
			p.Cloud.ProjectID = l.str(r)
		}
		if r, ok := cf["credentials"]; ok {
			p.Cloud.Credentials = l.str(r)
		}
		if r, ok := cf["endpoints"]; ok {
			p.Cloud.Endpoints = l.endpoints(r)
		}
	}
	if v, ok := fields["defaults"]; ok {
		df := l.mapping(v, "defaults", nil, "retry", "poll", "timeout", "on_failure")
		l.stepOptions(&p.Defaults, df)
	}
	if v, ok := fields["max_parallel"]; ok {
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

func (l *loader) endpoints(n *yaml.Node) map[string]string {
	out := map[string]string{}
	f := l.mapping(n, "endpoints", nil, endpointServices()...)
	for _, svc := range endpointServices() {
		v, ok := f[svc]
		if !ok {
			continue
		}
		u := l.str(v)
		if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			l.errorAt(v, "Invalid endpoint", "%q is not a URL; write it as https://host[:port].", u)
		}
		out[svc] = u
	}
	return out
}

func (l *loader) params(n *yaml.Node) []*Param {
	if n.Kind != yaml.MappingNode {
		l.errorAt(n, "Invalid params", "`params` is a mapping from parameter name to its default value or to {type, default, description}; found %s.", kindName(n))
		return nil
	}
	var out []*Param
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
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
		if isParamDecl(v) {
			f := l.mapping(v, "parameter", nil, "type", "default", "description")
			if t, ok := f["type"]; ok {
				p.Type = ParamType(l.str(t))
				if p.Type != "" && !slices.Contains(ParamTypes(), string(p.Type)) {
					detail := fmt.Sprintf("%q is not a parameter type; the types are: %s.", p.Type, strings.Join(ParamTypes(), ", "))
					if sug := Suggest(string(p.Type), ParamTypes()); sug != "" {
						detail = fmt.Sprintf("%q is not a parameter type. Did you mean %q?", p.Type, sug)
					}
					l.errorAt(t, "Unknown parameter type", "%s", detail)
					p.Type = ""
				}
			}
			if d, ok := f["description"]; ok {
				p.Description = l.str(d)
			}
			if d, ok := f["default"]; ok {
				p.Default = l.value(d)
			}
		} else {
			p.Default = l.value(v)
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
			if p.Default == nil || p.Default.Raw != nil {
				l.errorf(p.Range, "Parameter has no type", "Give parameter %q a `type` (%s) or a default value.", p.Name, strings.Join(ParamTypes(), ", "))
			}
			p.Type = ParamString
		}
		out = append(out, p)
	}
	return out
}

var paramRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// isParamDecl tells the long form {type, default, description} from a
// default that happens to be a mapping: only a mapping whose keys are all
// among those three, with a type or a description, is a declaration.
func isParamDecl(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return false
	}
	decl := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "type", "description":
			decl = true
		case "default":
		default:
			return false
		}
	}
	return decl
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
	if v, ok := f["cron"]; ok {
		sc.Cron, sc.CronRange = l.str(v), l.rng(v)
	}
	if v, ok := f["timezone"]; ok {
		sc.Timezone, sc.TimezoneRange = l.str(v), l.rng(v)
	}
	for _, k := range []string{"start", "end"} {
		v, ok := f[k]
		if !ok {
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
	if v, ok := f["overlap"]; ok {
		sc.Overlap, sc.OverlapRange = l.enum(v, "overlap policy", OverlapPolicies()), l.rng(v)
	}
	if v, ok := f["catchup_window"]; ok {
		sc.CatchupWindow = l.duration(v)
	}
	if v, ok := f["paused"]; ok {
		sc.Paused = l.bool(v)
	}
	return sc
}

func (l *loader) steps(p *Pipeline, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		l.errorAt(n, "Invalid steps", "`steps` is a list of steps, each a mapping with `id` and `kind`.")
		return
	}
	if len(n.Content) == 0 {
		l.errorAt(n, "No steps", "A pipeline needs at least one step.")
	}
	seen := map[string]hcl.Range{}
	for i, sn := range n.Content {
		f := l.mapping(sn, "step", map[string]bool{"id": true, "kind": true},
			"id", "kind", "depends_on", "if", "with", "for_each", "max_parallel", "run_on",
			"retry", "poll", "timeout", "on_failure")
		if sn.Kind != yaml.MappingNode {
			continue
		}
		s := &Step{Range: l.rng(sn), Path: fmt.Sprintf("steps[%d]", i)}
		if v, ok := f["id"]; ok {
			s.ID, s.Range = l.str(v), l.rng(v)
			switch prev, dup := seen[s.ID]; {
			case s.ID == "":
			case !identRE.MatchString(s.ID):
				l.errorf(s.Range, "Invalid step id",
					"%q: an id starts with a lower-case letter and has at most 63 lower-case letters, digits, '-' and '_'.", s.ID)
			case dup:
				l.errorf(s.Range, "Duplicate step id", "Step %q is already defined at %s.", s.ID, prev)
			default:
				seen[s.ID] = s.Range
			}
		}
		if v, ok := f["kind"]; ok {
			s.Kind, s.KindRange = l.str(v), l.rng(v)
		}
		if v, ok := f["depends_on"]; ok {
			s.DependsOn = l.refs(v)
		}
		if v, ok := f["if"]; ok {
			s.If = l.value(v)
			if _, isBool := s.If.Raw.(bool); !isBool {
				if str, isStr := s.If.Raw.(string); !isStr || !strings.Contains(str, "${") {
					l.errorAt(v, "Invalid condition", "`if` is true, false or a template such as \"${params.full_load}\"; found %s.", kindName(v))
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
			s.MaxParallel = l.int(v, 1)
			if s.ForEach == nil {
				l.errorAt(v, "max_parallel without for_each", "A step's max_parallel bounds its for_each items; this step has no for_each.")
			}
		}
		if v, ok := f["run_on"]; ok {
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
		if x, ok := rf["max_attempts"]; ok {
			r.MaxAttempts = l.int(x, 1)
		}
		if x, ok := rf["initial_interval"]; ok {
			r.InitialInterval, r.InitialIntervalRange = l.duration(x), l.rng(x)
		}
		if x, ok := rf["max_interval"]; ok {
			r.MaxInterval, r.MaxIntervalRange = l.duration(x), l.rng(x)
		}
		if x, ok := rf["backoff"]; ok {
			r.Backoff = l.float(x, 1)
		}
		if x, ok := rf["non_retryable"]; ok {
			// Non-nil even when empty: `non_retryable: []` on a step
			// clears the list given in defaults.
			r.NonRetryable = []string{}
			for _, ref := range l.refs(x) {
				r.NonRetryable = append(r.NonRetryable, ref.Name)
			}
		}
		o.Retry = r
	}
	if v, ok := f["poll"]; ok {
		pf := l.mapping(v, "poll", nil, "interval", "max_interval")
		p := &Poll{}
		if x, ok := pf["interval"]; ok {
			p.Interval, p.IntervalRange = l.duration(x), l.rng(x)
		}
		if x, ok := pf["max_interval"]; ok {
			p.MaxInterval, p.MaxIntervalRange = l.duration(x), l.rng(x)
		}
		o.Poll = p
	}
	if v, ok := f["timeout"]; ok {
		d := l.duration(v)
		o.Timeout = &d
	}
	if v, ok := f["on_failure"]; ok {
		o.OnFailure, o.OnFailureRange = l.enum(v, "failure policy", FailurePolicies()), l.rng(v)
	}
}

// enum reads a string that must be one of values.
func (l *loader) enum(n *yaml.Node, what string, values []string) string {
	s := l.str(n)
	if s == "" || slices.Contains(values, s) {
		return s
	}
	detail := fmt.Sprintf("%q is not a %s; expected one of: %s.", s, what, strings.Join(values, ", "))
	if sug := Suggest(s, values); sug != "" {
		detail = fmt.Sprintf("%q is not a %s. Did you mean %q?", s, what, sug)
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
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				merged, err := d.decode(v, open)
				if err != nil {
					return nil, err
				}
				if m, ok := merged.(map[string]any); ok {
					for mk, mv := range m {
						if _, set := out[mk]; !set {
							out[mk] = mv
						}
					}
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

// mapping checks that n is a mapping with only the allowed keys and all the
// required ones, and returns its values by key.
func (l *loader) mapping(n *yaml.Node, what string, required map[string]bool, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		l.errorAt(n, fmt.Sprintf("Invalid %s", what), "Expected a mapping (key: value lines), found %s.", kindName(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(allowed, k.Value) {
			detail := fmt.Sprintf("%q is not a field of %s; expected one of: %s.", k.Value, what, strings.Join(allowed, ", "))
			if s := suggest(k.Value, allowed, out); s != "" {
				detail = fmt.Sprintf("%q is not a field of %s. Did you mean %q?", k.Value, what, s)
			}
			l.errorAt(k, "Unknown field", "%s", detail)
			continue
		}
		if _, dup := out[k.Value]; dup {
			l.errorAt(k, "Duplicate field", "%q is set twice in this %s.", k.Value, what)
			continue
		}
		out[k.Value] = v
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
	if err != nil || d <= 0 {
		l.errorAt(n, "Invalid duration", "%q is not a positive duration; write one such as \"30s\", \"5m\" or \"1h30m\".", n.Value)
		return 0
	}
	return Duration(d)
}

// refs reads a string or a list of strings.
func (l *loader) refs(n *yaml.Node) []Ref {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		return []Ref{{Name: n.Value, Range: l.rng(n)}}
	}
	if n.Kind != yaml.SequenceNode {
		l.errorAt(n, "Expected a list of names", "Found %s.", kindName(n))
		return nil
	}
	out := make([]Ref, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Tag != "!!str" {
			l.errorAt(c, "Expected a name", "Found %s.", kindName(c))
			continue
		}
		out = append(out, Ref{Name: c.Value, Range: l.rng(c)})
	}
	return out
}

func (l *loader) values(n *yaml.Node) map[string]Value {
	out := map[string]Value{}
	if n.Kind != yaml.MappingNode {
		l.errorAt(n, "Invalid with", "`with` is a mapping of the step kind's inputs; found %s.", kindName(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
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

func (l *loader) errorf(r hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  r.Ptr(),
	})
}

// errorAt reports a problem with node n. A block mapping starts where its
// first key does, so a problem with the mapping as a whole is marked to
// be shown with the mapping's path, not the key's.
func (l *loader) errorAt(n *yaml.Node, summary, format string, args ...any) {
	l.errorf(l.rng(n), summary, format, args...)
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
		return fmt.Sprintf("the string %q", n.Value)
	}
	return fmt.Sprintf("%s %s", strings.TrimPrefix(n.Tag, "!!"), n.Value)
}

// suggest returns the candidate closest to name, if any is close enough.
// The distance threshold of 3 is the one HCL settled on by experiment: it
// catches typos and case slips without proposing unrelated names. Names
// already set are not proposed.
func suggest(name string, candidates []string, set map[string]*yaml.Node) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if _, ok := set[c]; ok {
			continue
		}
		if d := levenshtein.Distance(strings.ToLower(name), c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// Suggest returns the candidate closest to name, or "" when none is
// close enough to be a likely typo.
func Suggest(name string, candidates []string) string { return suggest(name, candidates, nil) }
