package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// wantDiag is an expected diagnostic. Range is "line:col-line:col".
type wantDiag struct {
	Range   string
	Summary string
	Detail  string
}

func rangeString(r hcl.Range) string {
	return fmt.Sprintf("%d:%d-%d:%d", r.Start.Line, r.Start.Column, r.End.Line, r.End.Column)
}

// byteOffset is the offset of line:col (1-based, col counted in runes) in
// src, computed independently of the loader.
func byteOffset(src []byte, line, col int) int {
	lines := strings.SplitAfter(string(src), "\n")
	off := 0
	for i := 0; i < line-1 && i < len(lines); i++ {
		off += len(lines[i])
	}
	if line-1 < len(lines) {
		off += len(string([]rune(lines[line-1])[:min(col-1, len([]rune(lines[line-1])))]))
	}
	return off
}

// checkDiags compares diags with want exactly and in order. It also checks
// what every diagnostic must satisfy: it is an error, it points into the
// file, and its start byte agrees with its line and column.
func checkDiags(t *testing.T, filename string, src []byte, diags hcl.Diagnostics, want []wantDiag) {
	t.Helper()
	got := make([]wantDiag, 0, len(diags))
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			t.Errorf("%q: severity %v, want error", d.Summary, d.Severity)
		}
		if d.Subject == nil {
			t.Errorf("%q: no subject", d.Summary)
			got = append(got, wantDiag{"", d.Summary, d.Detail})
			continue
		}
		if d.Subject.Filename != filename {
			t.Errorf("%q: filename %q, want %q", d.Summary, d.Subject.Filename, filename)
		}
		if b := byteOffset(src, d.Subject.Start.Line, d.Subject.Start.Column); d.Subject.Start.Byte != b {
			t.Errorf("%q at %s: start byte %d, want %d", d.Summary, rangeString(*d.Subject), d.Subject.Start.Byte, b)
		}
		got = append(got, wantDiag{rangeString(*d.Subject), d.Summary, d.Detail})
	}
	if len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", formatDiags(got), formatDiags(want))
	}
}

func formatDiags(ds []wantDiag) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "  %s: %s | %s\n", d.Range, d.Summary, d.Detail)
	}
	if len(ds) == 0 {
		b.WriteString("  (none)\n")
	}
	return b.String()
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dur(s string) Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return Duration(d)
}

func durPtr(s string) *Duration { d := dur(s); return &d }

// withoutRanges returns a copy of p with every range zeroed, to compare
// content and ranges separately.
func withoutRanges(p *Pipeline) *Pipeline {
	q := *p
	q.NameRange = hcl.Range{}
	q.paths, q.lines = nil, nil
	q.Defaults = optionsWithoutRanges(p.Defaults)
	q.Steps = nil
	for _, s := range p.Steps {
		c := *s
		c.Range, c.KindRange, c.WithRange, c.Path = hcl.Range{}, hcl.Range{}, hcl.Range{}, ""
		c.FieldRanges = nil
		c.StepOptions = optionsWithoutRanges(s.StepOptions)
		c.DependsOn = nil
		for _, d := range s.DependsOn {
			c.DependsOn = append(c.DependsOn, Ref{Name: d.Name})
		}
		if s.With != nil {
			c.With = map[string]Value{}
			for k, v := range s.With {
				c.With[k] = Value{Raw: v.Raw}
			}
		}
		q.Steps = append(q.Steps, &c)
	}
	return &q
}

// optionsWithoutRanges is o without the ranges of its intervals.
func optionsWithoutRanges(o StepOptions) StepOptions {
	if o.Retry != nil {
		r := *o.Retry
		r.InitialIntervalRange, r.MaxIntervalRange = hcl.Range{}, hcl.Range{}
		o.Retry = &r
	}
	if o.Poll != nil {
		p := *o.Poll
		p.IntervalRange, p.MaxIntervalRange = hcl.Range{}, hcl.Range{}
		o.Poll = &p
	}
	return o
}

func TestLoadValid(t *testing.T) {
	const filename = "testdata/valid_full.yaml"
	src := readTestdata(t, "valid_full.yaml")
	p, diags := Load(filename, src)
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics: %v", diags)
	}

	want := &Pipeline{
		Name:        "daily-sales",
		Description: "Loads and aggregates the day's sales.",
		// A digit string stays as written, leading zero and all.
		Cloud: Cloud{Region: "eu-west-101", ProjectID: "0123456789"},
		Defaults: StepOptions{
			Retry: &Retry{
				MaxAttempts:     5,
				InitialInterval: dur("10s"),
				MaxInterval:     dur("2m"),
				Backoff:         1.5,
				NonRetryable:    []string{"DLI.0001", "DLI.0003"},
			},
			Poll:    &Poll{Interval: dur("5s"), MaxInterval: dur("1m")},
			Timeout: durPtr("2h"),
		},
		Steps: []*Step{
			{
				ID:   "extract",
				Kind: "dli.sql",
				With: map[string]Value{
					"sql":      {Raw: "INSERT INTO staging.sales SELECT * FROM raw.sales"},
					"queue":    {Raw: "etl"},
					"database": {Raw: "staging"},
					"conf": {Raw: map[string]any{
						"spark.sql.shuffle.partitions": int64(200),
						"spark.sql.adaptive.enabled":   true,
					}},
				},
			},
			{
				ID:        "aggregate",
				Kind:      "dli.sql",
				DependsOn: []Ref{{Name: "extract"}},
				With: map[string]Value{
					"sql": {Raw: "INSERT OVERWRITE TABLE mart.daily\nSELECT day, sum(amount) FROM staging.sales GROUP BY day\n"},
				},
				StepOptions: StepOptions{Retry: &Retry{MaxAttempts: 2}, Timeout: durPtr("30m")},
			},
			{
				ID:          "publish",
				Kind:        "dli.sql",
				DependsOn:   []Ref{{Name: "extract"}, {Name: "aggregate"}},
				With:        map[string]Value{"sql": {Raw: "SELECT 1"}},
				StepOptions: StepOptions{Poll: &Poll{Interval: dur("1s"), MaxInterval: dur("10s")}},
			},
		},
		Source:   src,
		Filename: filename,
	}
	if got := withoutRanges(p); !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("pipeline:\n%s\nwant:\n%s", g, w)
	}
	if len(p.Steps) != 3 {
		t.Fatalf("%d steps, want 3", len(p.Steps))
	}

	// Each range must be at the right place and cover exactly the text.
	ranges := []struct {
		what string
		got  hcl.Range
		want string
		text string
	}{
		{"name", p.NameRange, "2:7-2:18", "daily-sales"},
		{"steps[0].id", p.Steps[0].Range, "19:9-19:16", "extract"},
		{"steps[0].kind", p.Steps[0].KindRange, "20:11-20:18", "dli.sql"},
		{"steps[0].with", p.Steps[0].WithRange, "22:7-22:8", "s"},
		{"steps[0].with.sql", p.Steps[0].With["sql"].Range, "22:12-22:61", "INSERT INTO staging.sales SELECT * FROM raw.sales"},
		{"steps[0].with.sql key", p.Steps[0].With["sql"].KeyRange, "22:7-22:10", "sql"},
		{"steps[0].with.queue", p.Steps[0].With["queue"].Range, "23:14-23:17", "etl"},
		{"steps[0].with.queue key", p.Steps[0].With["queue"].KeyRange, "23:7-23:12", "queue"},
		{"steps[0].with.conf", p.Steps[0].With["conf"].Range, "26:9-26:10", "s"},
		{"steps[1].id", p.Steps[1].Range, "28:9-28:18", "aggregate"},
		{"steps[1].depends_on[0]", p.Steps[1].DependsOn[0].Range, "30:17-30:24", "extract"},
		{"steps[2].id", p.Steps[2].Range, "38:9-38:16", "publish"},
		{"steps[2].depends_on[0]", p.Steps[2].DependsOn[0].Range, "40:18-40:25", "extract"},
		{"steps[2].depends_on[1]", p.Steps[2].DependsOn[1].Range, "40:27-40:38", `"aggregate"`},
		{"steps[2].with.sql", p.Steps[2].With["sql"].Range, "42:12-42:22", "'SELECT 1'"},
		{"defaults.retry.initial_interval", p.Defaults.Retry.InitialIntervalRange, "10:23-10:26", "10s"},
		{"defaults.retry.max_interval", p.Defaults.Retry.MaxIntervalRange, "11:19-11:21", "2m"},
		{"defaults.poll.interval", p.Defaults.Poll.IntervalRange, "15:15-15:17", "5s"},
		{"steps[2].poll.max_interval", p.Steps[2].Poll.MaxIntervalRange, "45:21-45:24", "10s"},
		{"steps[1].retry key", p.Steps[1].FieldRanges["retry"], "35:5-35:10", "retry"},
		{"steps[1].timeout key", p.Steps[1].FieldRanges["timeout"], "37:5-37:12", "timeout"},
	}
	for i, s := range p.Steps {
		if want := fmt.Sprintf("steps[%d]", i); s.Path != want {
			t.Errorf("step %s: path %q, want %q", s.ID, s.Path, want)
		}
	}
	for _, r := range ranges {
		if got := rangeString(r.got); got != r.want {
			t.Errorf("%s: range %s, want %s", r.what, got, r.want)
		}
		if r.got.Filename != filename {
			t.Errorf("%s: filename %q, want %q", r.what, r.got.Filename, filename)
		}
		if r.got.Start.Byte > r.got.End.Byte || r.got.End.Byte > len(src) {
			t.Errorf("%s: bad byte range %d-%d", r.what, r.got.Start.Byte, r.got.End.Byte)
		} else if text := string(src[r.got.Start.Byte:r.got.End.Byte]); text != r.text {
			t.Errorf("%s: range covers %q, want %q", r.what, text, r.text)
		}
	}
	// A block scalar's range starts at its indicator; only the start is
	// meaningful (rangeOf gives a one-line end).
	if r := p.Steps[1].With["sql"].Range; r.Start.Line != 32 || r.Start.Column != 12 {
		t.Errorf("steps[1].with.sql starts at %d:%d, want 32:12", r.Start.Line, r.Start.Column)
	}
}

func TestLoadOptions(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		want  StepOptions // of the only step
		diags []wantDiag
	}{
		{
			name: "nothing set",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n",
			want: StepOptions{},
		},
		{
			name: "integers are numbers for backoff, and timeouts compose units",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {backoff: 3}\n    timeout: 1h30m\n",
			want: StepOptions{Retry: &Retry{Backoff: 3}, Timeout: durPtr("90m")},
		},
		{
			name: "non_retryable as a single string",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {non_retryable: DLI.0005}\n",
			want: StepOptions{Retry: &Retry{NonRetryable: []string{"DLI.0005"}}},
		},
		{
			// An explicit empty list is set, not absent: it must be able
			// to clear a list given in defaults.
			name: "non_retryable empty list",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {non_retryable: []}\n",
			want: StepOptions{Retry: &Retry{NonRetryable: []string{}}},
		},
		{
			name: "empty poll and retry mappings are set but empty",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {}\n    poll: {}\n",
			want: StepOptions{Retry: &Retry{}, Poll: &Poll{}},
		},
		{
			// Aliases are resolved in `with` values only; elsewhere the
			// loader says what it found.
			name: "alias as a duration",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    poll: {interval: &i 3s, max_interval: *i}\n",
			want: StepOptions{Poll: &Poll{Interval: dur("3s"), MaxInterval: dur("3s")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, diags := Load("test.yaml", []byte(tt.src))
			checkDiags(t, "test.yaml", []byte(tt.src), diags, tt.diags)
			if len(p.Steps) != 1 {
				t.Fatalf("%d steps, want 1", len(p.Steps))
			}
			if got := optionsWithoutRanges(p.Steps[0].StepOptions); !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Errorf("options %s (retry %#v), want %s (retry %#v)", g, got.Retry, w, tt.want.Retry)
			}
		})
	}
}

func TestLoadWithValues(t *testing.T) {
	src := `name: p
steps:
  - id: a
    kind: dli.sql
    with:
      sql: &q SELECT 1
      again: *q
      int: 42
      float: 0.5
      bool: true
      "null": ~
      date: 2024-01-31
      list: [a, 1]
      map: {k: v}
`
	p, diags := Load("test.yaml", []byte(src))
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics: %v", diags)
	}
	want := map[string]any{
		"sql":   "SELECT 1",
		"again": "SELECT 1",
		"int":   int64(42),
		"float": 0.5,
		"bool":  true,
		"null":  nil,
		"date":  "2024-01-31", // dates stay text: data to pass on
		"list":  []any{"a", int64(1)},
		"map":   map[string]any{"k": "v"},
	}
	got := map[string]any{}
	for k, v := range p.Steps[0].With {
		got[k] = v.Raw
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with = %#v\nwant %#v", got, want)
	}
	// An alias's value is where its anchor's is written.
	if r := rangeString(p.Steps[0].With["again"].Range); r != "6:12-6:20" {
		t.Errorf("alias value range %s, want 6:12-6:20", r)
	}
}

func TestLoadErrors(t *testing.T) {
	const idDetail = ": an id starts with a lower-case letter and has at most 63 lower-case letters, digits, '-' and '_'."
	const durDetail = ` is not a positive duration; write one such as "30s", "5m" or "1h30m".`
	const notMapping = "Expected a mapping (key: value lines), found "
	const tooManyAliased = "aliases expand to too many values; a spec's aliases may give at most 100000 in all"
	tests := []struct {
		name string
		src  string // or file, from testdata
		file string
		want []wantDiag
	}{
		{
			name: "numbers out of range and durations too long",
			src:  "name: p\nmax_parallel: 1e400\nsteps:\n  - id: a\n    kind: wait\n    timeout: 9999999h\n    retry: {backoff: 1e400, max_attempts: 99999999999999999999}\n",
			want: []wantDiag{
				{"2:15-2:20", "Expected a whole number", "1e400 is not a whole number in range: it must be from 1 to 9223372036854775807."},
				{"7:43-7:63", "Expected a whole number", "99999999999999999999 is not a whole number in range: it must be from 1 to 9223372036854775807."},
				{"7:22-7:27", "Expected a number", "1e400 is not a number in range: it must be at most 1.7976931348623157e+308."},
				{"6:14-6:22", "Invalid duration", `"9999999h" is too long: a duration is at most 2562047h47m16s (about 292 years).`},
			},
		},
		// Aliases are read as what their anchor holds, and a problem
		// with it is reported once, where the anchor's content is.
		{
			name: "problem in an aliased retry, used twice",
			src:  "name: p\nsteps:\n  - id: a\n    kind: wait\n    retry: &r {max_attempts: x}\n  - id: b\n    kind: wait\n    retry: *r\n",
			want: []wantDiag{{"5:30-5:31", "Expected a whole number", `Found the string "x".`}},
		},
		{
			name: "aliased with of the wrong kind",
			src:  "name: p\nsteps:\n  - id: a\n    kind: wait\n    timeout: &t 5m\n    with: *t\n",
			want: []wantDiag{{"5:14-5:16", "Invalid with", "`with` is a mapping of the step kind's inputs; found the string \"5m\"."}},
		},
		{
			name: "merge of a string",
			src:  "name: p\nsteps:\n  - id: a\n    kind: wait\n    timeout: &t 5m\n  - <<: *t\n    id: b\n    kind: wait\n",
			want: []wantDiag{{"5:14-5:16", "Invalid merge", "A merge key `<<` takes a mapping, an alias to one such as *common, or a list of those; found the string \"5m\"."}},
		},
		{
			name: "merge of a list holding a string",
			src:  "name: p\nsteps:\n  - id: a\n    kind: wait\n    retry: &r {max_attempts: 2}\n  - <<: [*r, x]\n    id: b\n    kind: wait\n",
			want: []wantDiag{
				{"6:14-6:15", "Invalid merge", "A merge key `<<` takes a mapping, an alias to one such as *common, or a list of those; found the string \"x\"."},
				{"5:16-5:28", "Unknown field", `"max_attempts" is not a field of step; expected one of: id, kind, depends_on, if, with, for_each, max_parallel, run_on, retry, poll, timeout, on_failure.`},
			},
		},
		{
			name: "mapping merged into itself",
			src:  "name: p\nsteps:\n  - id: a\n    kind: wait\n    retry: &r {max_attempts: 2, <<: *r}\n",
			want: []wantDiag{{"5:12-5:13", "Invalid merge", "This mapping is merged into itself through `<<`."}},
		},
		{
			name: "a key set twice is still reported with a merge",
			src:  "name: p\nsteps:\n  - &a {id: a, kind: wait}\n  - <<: *a\n    id: b\n    id: c\n",
			want: []wantDiag{{"6:5-6:7", "Duplicate field", `"id" is set twice in this step.`}},
		},
		{
			name: "merge of a string in a with value",
			src:  "name: p\nsteps:\n  - id: a\n    kind: wait\n    timeout: &t 5m\n    with: {duration: {<<: *t}}\n",
			want: []wantDiag{{"6:22-6:23", "Invalid value", "line 5: A merge key `<<` takes a mapping, an alias to one such as *common, or a list of those; found the string \"5m\"."}},
		},
		// Invalid YAML: yaml.v3 gives a line only, in its message.
		{
			name: "invalid YAML: unterminated quoted string",
			file: "invalid_yaml.yaml",
			want: []wantDiag{{"6:1-6:1", "Invalid YAML", "found unexpected end of stream"}},
		},
		{
			name: "invalid YAML: tab indentation",
			src:  "name: p\n\tsteps: []\n",
			want: []wantDiag{{"2:1-2:1", "Invalid YAML", "found a tab character that violates indentation"}},
		},
		{
			name: "invalid YAML: character that cannot start a token",
			src:  "name: p\nsteps:\n  - id: a\n    kind: @x\n",
			want: []wantDiag{{"4:1-4:1", "Invalid YAML", "found character that cannot start any token"}},
		},
		{
			// For parser errors yaml.v3 names the line above the broken
			// collection: here `steps:`, whose list is misindented.
			name: "invalid YAML: misindented key in a list",
			src:  "name: p\nsteps:\n  - id: x\n   kind: y\n",
			want: []wantDiag{{"2:1-2:1", "Invalid YAML", "did not find expected '-' indicator"}},
		},
		{
			name: "invalid YAML on the first line has no line in the message",
			src:  "name: p: q\n",
			want: []wantDiag{{"1:1-1:1", "Invalid YAML", "mapping values are not allowed in this context"}},
		},
		{
			name: "invalid YAML: unknown alias",
			src:  "name: *p\n",
			want: []wantDiag{{"1:7-1:7", "Invalid YAML", "unknown anchor 'p' referenced"}},
		},
		// yaml.v3 gives no line for these; the loader finds the place.
		{
			name: "invalid YAML: unknown alias on a later line, its name also in a string",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: \"select *k\", queue: *k}\n",
			want: []wantDiag{{"5:37-5:37", "Invalid YAML", "unknown anchor 'k' referenced"}},
		},
		{
			name: "invalid YAML: a control character",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: \"sel\x00ect\"}\n",
			want: []wantDiag{{"5:21-5:21", "Invalid YAML", "control characters are not allowed"}},
		},
		{
			name: "invalid YAML: invalid UTF-8 after a multi-byte character",
			src:  "name: p\ndescription: \"café \xff\"\nsteps: []\n",
			want: []wantDiag{{"2:20-2:20", "Invalid YAML", "invalid leading UTF-8 octet"}},
		},

		// More than one document.
		{
			name: "a second document",
			src:  "name: p\nsteps:\n  - {id: a, kind: dli.sql}\n---\nname: q\n",
			want: []wantDiag{{"4:1-4:2", "More than one document",
				"This `---` starts a second YAML document; a spec file holds one pipeline, and pipectl would ignore the rest. Put each pipeline in a file of its own."}},
		},
		{
			name: "a trailing document marker is fine",
			src:  "---\nname: p\nsteps:\n  - {id: a, kind: dli.sql}\n---\n",
		},
		{
			name: "invalid YAML in a second document",
			src:  "name: p\nsteps:\n  - {id: a, kind: dli.sql}\n---\nname: [\n",
			want: []wantDiag{{"5:1-5:1", "Invalid YAML", "did not find expected node content"}},
		},

		// Empty and non-mapping documents.
		{
			name: "empty document",
			src:  "",
			want: []wantDiag{{"1:1-1:1", "Empty spec", "A spec is a YAML mapping with at least `name` and `steps`."}},
		},
		{
			name: "blank lines only",
			src:  "\n  \n\n",
			want: []wantDiag{{"1:1-1:1", "Empty spec", "A spec is a YAML mapping with at least `name` and `steps`."}},
		},
		{
			name: "comment only",
			src:  "# nothing here yet\n",
			want: []wantDiag{{"1:1-1:1", "Empty spec", "A spec is a YAML mapping with at least `name` and `steps`."}},
		},
		{
			name: "top level is a list",
			src:  "- id: a\n  kind: dli.sql\n",
			want: []wantDiag{{"1:1-1:2", "Invalid pipeline", notMapping + "a list."}},
		},
		{
			name: "top level is a string",
			src:  "hello world\n",
			want: []wantDiag{{"1:1-1:12", "Invalid pipeline", notMapping + `the string "hello world".`}},
		},

		// Required fields.
		{
			name: "missing name",
			src:  "steps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{{"1:1-1:2", "Missing field", `This pipeline has no "name"; it is required.`}},
		},
		{
			name: "missing steps",
			src:  "name: p\ndescription: d\n",
			want: []wantDiag{{"1:1-1:2", "Missing field", `This pipeline has no "steps"; it is required.`}},
		},
		{
			name: "missing name and steps, in name order",
			src:  "\n\ndescription: d\n",
			want: []wantDiag{
				{"3:1-3:2", "Missing field", `This pipeline has no "name"; it is required.`},
				{"3:1-3:2", "Missing field", `This pipeline has no "steps"; it is required.`},
			},
		},
		{
			name: "empty steps list",
			src:  "name: p\nsteps: []\n",
			want: []wantDiag{{"2:8-2:9", "No steps", "A pipeline needs at least one step."}},
		},
		{
			name: "steps is not a list",
			src:  "name: p\nsteps: load\n",
			want: []wantDiag{{"2:8-2:12", "Invalid steps", "`steps` is a list of steps, each a mapping with `id` and `kind`."}},
		},
		{
			name: "steps is null",
			src:  "name: p\nsteps:\n",
			want: []wantDiag{{"2:7-2:7", "Invalid steps", "`steps` is a list of steps, each a mapping with `id` and `kind`."}},
		},
		{
			name: "step is not a mapping",
			src:  "name: p\nsteps:\n  - load\n",
			want: []wantDiag{{"3:5-3:9", "Invalid step", notMapping + `the string "load".`}},
		},
		{
			name: "step without id and kind",
			src:  "name: p\nsteps:\n  - with: {sql: x}\n",
			want: []wantDiag{
				{"3:5-3:6", "Missing field", `This step has no "id"; it is required.`},
				{"3:5-3:6", "Missing field", `This step has no "kind"; it is required.`},
			},
		},

		// Unknown and duplicate fields.
		{
			name: "unknown top-level field with did-you-mean",
			src:  "name: p\nstpes:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{
				{"2:1-2:6", "Unknown field", `"stpes" is not a field of pipeline. Did you mean "steps"?`},
				{"1:1-1:2", "Missing field", `This pipeline has no "steps"; it is required.`},
			},
		},
		{
			name: "unknown top-level field, case slip",
			src:  "Name: p\nsteps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{
				{"1:1-1:5", "Unknown field", `"Name" is not a field of pipeline. Did you mean "name"?`},
				{"1:1-1:2", "Missing field", `This pipeline has no "name"; it is required.`},
			},
		},
		{
			name: "unknown top-level field without a close match",
			src:  "name: p\nowner: data-team\nsteps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{{"2:1-2:6", "Unknown field",
				`"owner" is not a field of pipeline; expected one of: name, description, params, env, cloud, defaults, max_parallel, schedule, steps.`}},
		},
		{
			name: "unknown step field depends-on",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n  - id: b\n    kind: dli.sql\n    depends-on: a\n",
			want: []wantDiag{{"7:5-7:15", "Unknown field", `"depends-on" is not a field of step. Did you mean "depends_on"?`}},
		},
		{
			name: "unknown step field dependson",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n  - id: b\n    kind: dli.sql\n    dependson: [a]\n",
			want: []wantDiag{{"7:5-7:14", "Unknown field", `"dependson" is not a field of step. Did you mean "depends_on"?`}},
		},
		{
			name: "unknown fields in retry and poll",
			src:  "name: p\ndefaults:\n  retry:\n    max_attempt: 3\n  poll: {intervall: 5s}\nsteps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{
				{"4:5-4:16", "Unknown field", `"max_attempt" is not a field of retry. Did you mean "max_attempts"?`},
				{"5:10-5:19", "Unknown field", `"intervall" is not a field of poll. Did you mean "interval"?`},
			},
		},
		{
			name: "unknown field in cloud",
			src:  "name: p\ncloud: {regoin: x, secret_key: y}\nsteps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{
				{"2:9-2:15", "Unknown field", `"regoin" is not a field of cloud. Did you mean "region"?`},
				{"2:20-2:30", "Unknown field", `"secret_key" is not a field of cloud; expected one of: region, project_id, endpoints, credentials.`},
			},
		},
		{
			name: "password in an endpoint",
			src:  "name: p\ncloud:\n  endpoints:\n    dli: \"https://admin:hunter2@dli.example.com/v1\"\n    cdm: https://u:p%40ss@cdm.example.com:8443\n    iam: https://user@iam.example.com/a@b?x=c:d@e\nsteps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{
				{"5:20-5:26", "Literal credential", EndpointPasswordDetail},
				{"4:25-4:32", "Literal credential", EndpointPasswordDetail},
			},
		},
		{
			name: "field set twice",
			src:  "name: p\nname: q\nsteps:\n  - id: a\n    kind: dli.sql\n    kind: dli.sql\n",
			want: []wantDiag{
				{"2:1-2:5", "Duplicate field", `"name" is set twice in this pipeline.`},
				{"6:5-6:9", "Duplicate field", `"kind" is set twice in this step.`},
			},
		},
		{
			name: "with input set twice",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: a, sql: b}\n",
			want: []wantDiag{{"5:20-5:23", "Duplicate field", `"sql" is set twice in this ` + "`with`."}},
		},

		// Names and ids.
		{
			name: "duplicate step id",
			src:  "name: p\nsteps:\n  - id: load\n    kind: dli.sql\n  - id: load\n    kind: dli.sql\n",
			want: []wantDiag{{"5:9-5:13", "Duplicate step id", `Step "load" is already defined at test.yaml:3,9-13.`}},
		},
		{
			name: "step id with upper case",
			src:  "name: p\nsteps:\n  - id: Load\n    kind: dli.sql\n",
			want: []wantDiag{{"3:9-3:13", "Invalid step id", `"Load"` + idDetail}},
		},
		{
			name: "step id starting with a digit",
			src:  "name: p\nsteps:\n  - id: 1st\n    kind: dli.sql\n",
			want: []wantDiag{{"3:9-3:12", "Invalid step id", `"1st"` + idDetail}},
		},
		{
			name: "step id with a dot and quoted",
			src:  "name: p\nsteps:\n  - id: \"load.raw\"\n    kind: dli.sql\n",
			want: []wantDiag{{"3:9-3:19", "Invalid step id", `"load.raw"` + idDetail}},
		},
		{
			name: "step id of 64 characters",
			src:  "name: p\nsteps:\n  - id: " + strings.Repeat("a", 64) + "\n    kind: dli.sql\n",
			want: []wantDiag{{"3:9-3:73", "Invalid step id", `"` + strings.Repeat("a", 64) + `"` + idDetail}},
		},
		{
			name: "step id that is a list",
			src:  "name: p\nsteps:\n  - id: [a]\n    kind: dli.sql\n",
			want: []wantDiag{{"3:9-3:10", "Expected a string", "Found a list."}},
		},
		{
			name: "empty step id",
			src:  "name: p\nsteps:\n  - id: ''\n    kind: dli.sql\n",
			want: []wantDiag{{"3:9-3:11", "Empty value", "This value must not be empty."}},
		},
		{
			name: "invalid pipeline name",
			src:  "name: Daily Sales\nsteps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{{"1:7-1:18", "Invalid pipeline name",
				`"Daily Sales": a name starts with a lower-case letter and has at most 63 lower-case letters, digits, '-' and '_'.`}},
		},
		{
			name: "null name",
			src:  "name: ~\nsteps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{{"1:7-1:8", "Expected a string", "Found nothing (null)."}},
		},

		// Durations and numbers.
		{
			name: "duration with words",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    timeout: 5 minutes\n",
			want: []wantDiag{{"5:14-5:23", "Invalid duration", `"5 minutes"` + durDetail}},
		},
		{
			name: "negative duration",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    timeout: -1s\n",
			want: []wantDiag{{"5:14-5:17", "Invalid duration", `"-1s"` + durDetail}},
		},
		{
			name: "zero duration",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    poll: {interval: 0s}\n",
			want: []wantDiag{{"5:22-5:24", "Invalid duration", `"0s"` + durDetail}},
		},
		{
			name: "duration without a unit",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry:\n      initial_interval: 30\n",
			want: []wantDiag{{"6:25-6:27", "Invalid duration", `"30"` + durDetail}},
		},
		{
			name: "duration that is a list",
			src:  "name: p\ndefaults:\n  timeout: [1h]\nsteps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{{"3:12-3:13", "Expected a duration", `Found a list; write a duration such as "30s", "5m" or "1h30m".`}},
		},
		{
			name: "max_attempts 0",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {max_attempts: 0}\n",
			want: []wantDiag{{"5:27-5:28", "Number too small", "0 is less than the minimum, 1."}},
		},
		{
			name: "max_attempts as a quoted string",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {max_attempts: \"3\"}\n",
			want: []wantDiag{{"5:27-5:30", "Expected a whole number", `Found the string "3".`}},
		},
		{
			name: "max_attempts as a word",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {max_attempts: three}\n",
			want: []wantDiag{{"5:27-5:32", "Expected a whole number", `Found the string "three".`}},
		},
		{
			name: "max_attempts as a fraction",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {max_attempts: 2.5}\n",
			want: []wantDiag{{"5:27-5:30", "Expected a whole number", "Found float 2.5."}},
		},
		{
			name: "backoff below 1",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {backoff: 0.5}\n",
			want: []wantDiag{{"5:22-5:25", "Number too small", "0.5 is less than the minimum, 1."}},
		},
		{
			name: "backoff infinite",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {backoff: .inf}\n",
			want: []wantDiag{{"5:22-5:26", "Expected a number", "Found float .inf."}},
		},
		{
			name: "backoff not a number",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry: {backoff: .nan}\n",
			want: []wantDiag{{"5:22-5:26", "Expected a number", "Found float .nan."}},
		},

		// Lists of names and with.
		{
			name: "depends_on is a number",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    depends_on: 3\n",
			want: []wantDiag{{"5:17-5:18", "Expected a list of names", "Found int 3."}},
		},
		{
			name: "depends_on item is a mapping",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    depends_on: [b, {c: d}]\n",
			want: []wantDiag{{"5:21-5:22", "Expected a name", "Found a mapping."}},
		},
		{
			name: "non_retryable item is a number",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    retry:\n      non_retryable: [DLI.0001, 17]\n",
			want: []wantDiag{{"6:33-6:35", "Expected a name", "Found int 17."}},
		},
		{
			name: "with is a list",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: [sql]\n",
			want: []wantDiag{{"5:11-5:12", "Invalid with", "`with` is a mapping of the step kind's inputs; found a list."}},
		},
		{
			name: "with value with a duplicate nested key",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      conf: {a: 1, a: 2}\n",
			want: []wantDiag{{"6:13-6:14", "Invalid value",
				"line 6: key \"a\" is set twice in this mapping"}},
		},
		{
			// yaml.v3 parses an alias inside the value it refers to
			// without complaint; decoding it overflowed the stack.
			name: "with value that contains itself",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      sql: &q\n        sql: *q\n",
			want: []wantDiag{{"6:12-6:13", "Invalid value", "line 7: alias *q is inside the value it refers to"}},
		},
		{
			name: "merge key into the mapping that holds it",
			src:  "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with:\n      conf: &c {x: 1, <<: *c}\n",
			want: []wantDiag{{"6:13-6:14", "Invalid value", "line 6: alias *c is inside the value it refers to"}},
		},
		{
			name: "parameter default that contains itself",
			src:  "name: p\nparams:\n  x: &l [a, [*l]]\nsteps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{{"3:6-3:7", "Invalid value", "line 3: alias *l is inside the value it refers to"}},
		},
		{
			// Each level multiplies the values by 10: decoding level 6
			// would make a million. Levels 4 to 6 are refused, whose
			// values go past 100,000.
			name: "billion laughs",
			src: "name: p\nparams:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" +
				"  a1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\n" +
				"  a2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\n" +
				"  a3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]\n" +
				"  a4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]\n" +
				"  a5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]\n" +
				"  a6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]\n" +
				"steps:\n  - id: a\n    kind: dli.sql\n",
			want: []wantDiag{
				{"7:7-7:8", "Invalid value", "line 3: " + tooManyAliased},
				{"8:7-8:8", "Invalid value", "line 7: " + tooManyAliased},
				{"9:7-9:8", "Invalid value", "line 8: " + tooManyAliased},
			},
		},
		{
			// Aliases to a value beside them, not around them, are fine.
			name: "alias to a sibling value",
			src:  "name: p\nparams:\n  x: [&l [a], *l, [*l]]\nsteps:\n  - id: a\n    kind: dli.sql\n",
		},

		// Everything at once: every problem is reported, in file order
		// within each part of the walk.
		{
			name: "several errors in one file",
			file: "many_errors.yaml",
			want: []wantDiag{
				{"2:1-2:6", "Unknown field", `"stpes" is not a field of pipeline. Did you mean "steps"?`},
				{"1:7-1:15", "Invalid pipeline name",
					`"Bad Name": a name starts with a lower-case letter and has at most 63 lower-case letters, digits, '-' and '_'.`},
				{"3:8-3:17", "Invalid cloud", notMapping + `the string "eu-west-1".`},
				{"6:19-6:20", "Number too small", "0 is less than the minimum, 1."},
				{"7:14-7:18", "Expected a number", "Found float .inf."},
				{"8:20-8:29", "Invalid duration", `"5 minutes"` + durDetail},
				{"8:45-8:48", "Invalid duration", `"-1s"` + durDetail},
				{"9:12-9:13", "Expected a duration", `Found a list; write a duration such as "30s", "5m" or "1h30m".`},
				{"13:5-13:14", "Unknown field", `"dependson" is not a field of step. Did you mean "depends_on"?`},
				{"14:9-14:10", "Duplicate step id", `Step "a" is already defined at test.yaml:11,9-10.`},
				{"15:11-15:12", "Expected a string", "Found a list."},
				{"16:5-16:6", "Missing field", `This step has no "kind"; it is required.`},
				{"16:9-16:12", "Invalid step id", `"1st"` + idDetail},
				{"17:17-17:18", "Expected a list of names", "Found a mapping."},
				{"18:11-18:12", "Invalid with", "`with` is a mapping of the step kind's inputs; found a list."},
				{"19:5-19:18", "Invalid step", notMapping + `the string "just a string".`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(tt.src)
			if tt.file != "" {
				src = readTestdata(t, tt.file)
			}
			p, diags := Load("test.yaml", src)
			if p == nil {
				t.Fatal("Load returned no pipeline; it must return one even with errors")
			}
			checkDiags(t, "test.yaml", src, diags, tt.want)
		})
	}
}

// The pipeline comes back with whatever was valid, for the CLI to render
// diagnostics against the source.
func TestLoadPartialPipeline(t *testing.T) {
	src := []byte("name: p\nsteps:\n  - id: a\n    kind: dli.sql\n  - id: B\n    kind: dli.sql\n    timeout: soon\n")
	p, diags := Load("test.yaml", src)
	if len(diags) != 2 {
		t.Fatalf("got %d diagnostics, want 2: %v", len(diags), diags)
	}
	if p.Name != "p" || len(p.Steps) != 2 || p.Steps[0].ID != "a" || p.Steps[1].ID != "B" {
		t.Errorf("partial pipeline = %+v", withoutRanges(p))
	}
	if p.Steps[1].Timeout == nil || *p.Steps[1].Timeout != 0 {
		t.Errorf("invalid timeout loaded as %v, want set to 0", p.Steps[1].Timeout)
	}
	if string(p.Source) != string(src) || p.Filename != "test.yaml" {
		t.Errorf("source/filename not kept: %q %q", p.Source, p.Filename)
	}
}

func TestLoadFile(t *testing.T) {
	p, diags := LoadFile(filepath.Join("testdata", "minimal.yaml"))
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics: %v", diags)
	}
	if p.Name != "p" || p.Filename != filepath.Join("testdata", "minimal.yaml") {
		t.Errorf("got name %q filename %q", p.Name, p.Filename)
	}

	p, diags = LoadFile(filepath.Join("testdata", "does-not-exist.yaml"))
	if p != nil {
		t.Errorf("pipeline %+v for a missing file, want nil", p)
	}
	if len(diags) != 1 || diags[0].Summary != "Cannot read spec" || diags[0].Subject != nil ||
		!strings.Contains(diags[0].Detail, "does-not-exist.yaml") {
		t.Errorf("diagnostics %v, want one \"Cannot read spec\" naming the file", diags)
	}
}

func TestHash(t *testing.T) {
	base := readTestdata(t, "minimal.yaml")
	hash := func(filename string, src []byte) string {
		p, _ := Load(filename, src)
		return p.Hash()
	}
	h := hash("a.yaml", base)
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("hash %q is not 64 lower-case hex digits", h)
	}
	if got := hash("elsewhere/b.yaml", append([]byte(nil), base...)); got != h {
		t.Errorf("same bytes under another name hash to %s, want %s", got, h)
	}
	changes := map[string][]byte{
		"one character":     []byte(strings.Replace(string(base), "SELECT 1", "SELECT 2", 1)),
		"trailing newline":  append(append([]byte(nil), base...), '\n'),
		"comment added":     append([]byte("# x\n"), base...),
		"last byte removed": base[:len(base)-1],
	}
	for name, src := range changes {
		if got := hash("a.yaml", src); got == h {
			t.Errorf("%s: hash unchanged", name)
		}
	}
	// The SHA-256 of no bytes, even though that is not a valid spec.
	if got, want := hash("empty.yaml", nil), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("hash of empty source = %s, want %s", got, want)
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		d    Duration
		json string
	}{
		{dur("30s"), `"30s"`},
		{dur("1h30m"), `"1h30m0s"`},
		{dur("1500ms"), `"1.5s"`},
		{0, `"0s"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.d)
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", time.Duration(tt.d), b, err, tt.json)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || back != tt.d {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, back, err, tt.d)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"90s"`), &d); err != nil || d != dur("1m30s") {
		t.Errorf(`Unmarshal("90s") = %v, %v`, d, err)
	}
	for _, bad := range []string{`"soon"`, `"-"`, `30`, `null`, `{}`} {
		var d Duration
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, d)
		}
	}
}

func TestSuggest(t *testing.T) {
	fields := []string{"id", "kind", "depends_on", "with", "retry", "poll", "timeout"}
	tests := []struct {
		name string
		want string
	}{
		{"dependson", "depends_on"},
		{"depends-on", "depends_on"},
		{"Kind", "kind"},
		{"TIMEOUT", "timeout"},
		{"retyr", "retry"}, // two letters swapped: one slip
		{"retries", ""},    // distance 3 is too far
		{"needs", ""},
		{"with", "with"},
		{"wiht", "with"},
		{"pol", "poll"},
		{"timeuot", "timeout"},
		{"kn", ""}, // two edits from kind, in a short name
		{"idd", "id"},
	}
	for _, tt := range tests {
		if got := Suggest(tt.name, fields); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	// Short names are one slip from many others: no letter in common, or
	// two edits, is no typo.
	for _, tt := range []struct {
		name       string
		candidates []string
		want       string
	}{
		{"zz", []string{"n"}, ""},
		{"x", []string{"n"}, ""},
		{"q", []string{"b"}, ""},
		{"dli.sq", []string{"dli.sql", "dli.spark"}, "dli.sql"},
		{"defualt", []string{"default", "description"}, "default"},
		{"dya", []string{"day"}, "day"},
		{"dy", []string{"day"}, "day"},
	} {
		if got := Suggest(tt.name, tt.candidates); got != tt.want {
			t.Errorf("Suggest(%q, %q) = %q, want %q", tt.name, tt.candidates, got, tt.want)
		}
	}
	if got := Suggest("x", nil); got != "" {
		t.Errorf("Suggest with no candidates = %q", got)
	}
}

// TestLoadTemplateNotAllowed checks that a template in a field read as
// written is refused at its position, with the field's name, rather than
// kept as text or refused as a bad value of the field's type.
func TestLoadTemplateNotAllowed(t *testing.T) {
	const step = "steps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"
	detail := func(field string) string {
		return "Templates are not allowed in " + field + "; write its value as is. Templates are evaluated only in with, if, for_each, description and cloud."
	}
	tests := []struct {
		name string
		src  string
		path string // the YAML path of the diagnostic
		want wantDiag
	}{
		{"pipeline name", "name: ${params.n}\n" + step, "name", wantDiag{"1:7-1:18", "Template not allowed", detail("`name`")}},
		{"param default", "name: p\nparams:\n  x: a\n  y: ${params.x}-b\n" + step, "params.y", wantDiag{"4:6-4:19", "Template not allowed", detail("a parameter default")}},
		{"param default in the long form", "name: p\nparams:\n  y: {type: string, default: '${params.x}'}\n" + step, "params.y.default", wantDiag{"3:30-3:43", "Template not allowed", detail("a parameter default")}},
		{"param default inside a list", "name: p\nparams:\n  y: [a, '${x}']\n" + step, "params.y[1]", wantDiag{"3:10-3:16", "Template not allowed", detail("a parameter default")}},
		{"param type", "name: p\nparams:\n  y: {type: '${t}', default: a}\n" + step, "params.y.type", wantDiag{"3:13-3:19", "Template not allowed", detail("a parameter's type")}},
		{"param description", "name: p\nparams:\n  y: {description: 'day ${x}', default: a}\n" + step, "params.y.description", wantDiag{"3:20-3:30", "Template not allowed", detail("a parameter's description")}},
		{"env", "name: p\nenv: ['${x}']\n" + step, "env[0]", wantDiag{"2:7-2:13", "Template not allowed", detail("`env`")}},
		{"pipeline max_parallel", "name: p\nmax_parallel: ${params.n}\n" + step, "max_parallel", wantDiag{"2:15-2:26", "Template not allowed", detail("`max_parallel`")}},
		{"cron", "name: p\nschedule: {cron: '${params.cron}'}\n" + step, "schedule.cron", wantDiag{"2:18-2:34", "Template not allowed", detail("`schedule.cron`")}},
		{"timezone", "name: p\nschedule: {cron: '@daily', timezone: '${env.TZ}'}\n" + step, "schedule.timezone", wantDiag{"2:38-2:49", "Template not allowed", detail("`schedule.timezone`")}},
		{"schedule start", "name: p\nschedule: {cron: '@daily', start: '${x}'}\n" + step, "schedule.start", wantDiag{"2:35-2:41", "Template not allowed", detail("`schedule.start`")}},
		{"overlap", "name: p\nschedule: {cron: '@daily', overlap: '${x}'}\n" + step, "schedule.overlap", wantDiag{"2:37-2:43", "Template not allowed", detail("`schedule.overlap`")}},
		{"catchup_window", "name: p\nschedule: {cron: '@daily', catchup_window: '${x}'}\n" + step, "schedule.catchup_window", wantDiag{"2:44-2:50", "Template not allowed", detail("`schedule.catchup_window`")}},
		{"paused", "name: p\nschedule: {cron: '@daily', paused: '${x}'}\n" + step, "schedule.paused", wantDiag{"2:36-2:42", "Template not allowed", detail("`schedule.paused`")}},
		{"defaults timeout", "name: p\ndefaults: {timeout: '${params.t}'}\n" + step, "defaults.timeout", wantDiag{"2:21-2:34", "Template not allowed", detail("`timeout`")}},
		{"retry max_attempts", "name: p\ndefaults: {retry: {max_attempts: '${n}'}}\n" + step, "defaults.retry.max_attempts", wantDiag{"2:34-2:40", "Template not allowed", detail("`retry.max_attempts`")}},
		{"retry initial_interval", "name: p\ndefaults: {retry: {initial_interval: '${n}'}}\n" + step, "defaults.retry.initial_interval", wantDiag{"2:38-2:44", "Template not allowed", detail("`retry.initial_interval`")}},
		{"retry max_interval", "name: p\ndefaults: {retry: {max_interval: '${n}'}}\n" + step, "defaults.retry.max_interval", wantDiag{"2:34-2:40", "Template not allowed", detail("`retry.max_interval`")}},
		{"retry backoff", "name: p\ndefaults: {retry: {backoff: '${n}'}}\n" + step, "defaults.retry.backoff", wantDiag{"2:29-2:35", "Template not allowed", detail("`retry.backoff`")}},
		{"retry non_retryable", "name: p\ndefaults: {retry: {non_retryable: [DLI.1, '${n}']}}\n" + step, "defaults.retry.non_retryable[1]", wantDiag{"2:43-2:49", "Template not allowed", detail("`retry.non_retryable`")}},
		{"poll interval", "name: p\ndefaults: {poll: {interval: '${n}'}}\n" + step, "defaults.poll.interval", wantDiag{"2:29-2:35", "Template not allowed", detail("`poll.interval`")}},
		{"poll max_interval", "name: p\ndefaults: {poll: {max_interval: '${n}'}}\n" + step, "defaults.poll.max_interval", wantDiag{"2:33-2:39", "Template not allowed", detail("`poll.max_interval`")}},
		{"on_failure", "name: p\ndefaults: {on_failure: '${x}'}\n" + step, "defaults.on_failure", wantDiag{"2:24-2:30", "Template not allowed", detail("`on_failure`")}},
		{"step id", "name: p\nsteps:\n  - {id: '${x}', kind: dli.sql, with: {sql: x}}\n", "steps[0].id", wantDiag{"3:10-3:16", "Template not allowed", detail("`id`")}},
		{"kind", "name: p\nsteps:\n  - {id: a, kind: 'dli.${x}', with: {sql: x}}\n", "steps[0].kind", wantDiag{"3:19-3:29", "Template not allowed", detail("`kind`")}},
		{"depends_on", "name: p\nsteps:\n  - {id: a, kind: dli.sql, depends_on: '${x}', with: {sql: x}}\n", "steps[0].depends_on", wantDiag{"3:40-3:46", "Template not allowed", detail("`depends_on`")}},
		{"depends_on item", "name: p\nsteps:\n  - {id: a, kind: dli.sql, depends_on: [b, '${x}'], with: {sql: x}}\n", "steps[0].depends_on[1]", wantDiag{"3:44-3:50", "Template not allowed", detail("`depends_on`")}},
		{"step max_parallel", "name: p\nsteps:\n  - {id: a, kind: dli.sql, for_each: [x], max_parallel: '${n}', with: {sql: x}}\n", "steps[0].max_parallel", wantDiag{"3:57-3:63", "Template not allowed", detail("`max_parallel`")}},
		{"run_on", "name: p\nsteps:\n  - {id: a, kind: dli.sql, run_on: '${x}', with: {sql: x}}\n", "steps[0].run_on", wantDiag{"3:36-3:42", "Template not allowed", detail("`run_on`")}},
		{"step timeout", "name: p\nsteps:\n  - {id: a, kind: dli.sql, timeout: '${x}', with: {sql: x}}\n", "steps[0].timeout", wantDiag{"3:37-3:43", "Template not allowed", detail("`timeout`")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, diags := Load("test.yaml", []byte(tt.src))
			checkDiags(t, "test.yaml", []byte(tt.src), diags, []wantDiag{tt.want})
			if len(diags) == 1 {
				if got := p.PathAt(diags[0].Subject.Start); got != tt.path {
					t.Errorf("path %q, want %q", got, tt.path)
				}
			}
		})
	}
}

// TestLoadPlanTemplates checks that the templates of description and cloud
// are kept for the planner, and that a templated endpoint is not checked
// as a URL before it is evaluated.
func TestLoadPlanTemplates(t *testing.T) {
	src := "name: p\ndescription: 'Loads ${params.day}'\ncloud:\n  region: ${env.REGION}\n  project_id: p1\n  endpoints: {dli: '${params.dli}', cdm: 'https://cdm'}\n  credentials: ${params.creds}\nsteps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"
	p, diags := Load("test.yaml", []byte(src))
	checkDiags(t, "test.yaml", []byte(src), diags, nil)
	var got []string
	for _, pt := range p.PlanTemplates {
		got = append(got, fmt.Sprintf("%s=%s@%s", pt.Path, pt.Node.Value, rangeString(pt.Range)))
	}
	want := []string{
		"description=Loads ${params.day}@2:14-2:35",
		"cloud.region=${env.REGION}@4:11-4:24",
		"cloud.credentials=${params.creds}@7:16-7:31",
		"cloud.endpoints.dli=${params.dli}@6:20-6:35",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan templates:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Steps share settings through anchors, aliases and merge keys: a field
// may be an alias, and `<<` merges mappings in, the step's own keys first,
// then those of the mappings merged first.
func TestLoadAnchorsAndMergeKeys(t *testing.T) {
	src := `name: p
steps:
  - &base
    id: a
    kind: dli.sql
    retry: &r {max_attempts: 3, backoff: 2}
    timeout: &t 10m
    with: &w {sql: SELECT 1, queue: q1}
  - <<: *base
    id: b
    retry: *r
    with:
      <<: *w
      queue: q2
  - <<: [{kind: wait, timeout: 1m}, *base]
    id: c
    timeout: *t
    with: {duration: 1s, <<: [{x: 1}, {x: 2, y: 3}]}
`
	p, diags := Load("test.yaml", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics: %v", diags)
	}
	if len(p.Steps) != 3 {
		t.Fatalf("%d steps, want 3", len(p.Steps))
	}
	a, b, c := p.Steps[0], p.Steps[1], p.Steps[2]
	if b.ID != "b" || b.Kind != "dli.sql" || b.Retry == nil || b.Retry.MaxAttempts != 3 || b.Timeout == nil || *b.Timeout != dur("10m") {
		t.Errorf("step b = %+v, want a's kind, retry and timeout", b)
	}
	if got := b.With["queue"].Raw; got != "q2" {
		t.Errorf("b.with.queue = %v, want q2: a key set beside << wins", got)
	}
	if got := b.With["sql"].Raw; got != "SELECT 1" {
		t.Errorf("b.with.sql = %v, want it merged from a", got)
	}
	if r := rangeString(b.With["sql"].Range); r != rangeString(a.With["sql"].Range) {
		t.Errorf("b.with.sql at %s, want where it is written, %s", r, rangeString(a.With["sql"].Range))
	}
	if c.Kind != "wait" || *c.Timeout != dur("10m") || c.Retry == nil {
		t.Errorf("step c = %+v: want kind wait (merged first), timeout 10m (its own), a's retry", c)
	}
	if got := c.With["x"].Raw; got != int64(1) {
		t.Errorf("c.with.x = %v, want 1, from the mapping merged first", got)
	}
	if got := c.With["y"].Raw; got != int64(3) {
		t.Errorf("c.with.y = %v, want 3", got)
	}
}
