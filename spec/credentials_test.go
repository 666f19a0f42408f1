package spec

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestFindKey(t *testing.T) {
	for _, tt := range []struct {
		s     string
		want  string // the word found, "" for none
		shape keyShape
	}{
		{"AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", accessKey},
		{"QWERTYUIOP1234567890", "QWERTYUIOP1234567890", accessKey}, // Huawei's: 20 upper-case letters and digits
		{"https://x.example.com/a?ak=HPUAL3HXZQ8T1NOQRM9V&p=1", "HPUAL3HXZQ8T1NOQRM9V", accessKey},
		{"ak:HPUAL3HXZQ8T1NOQRM9V;", "HPUAL3HXZQ8T1NOQRM9V", accessKey},
		{"sk=Xq3bT9LmN2pR7sV4wY8zA1cE5gJ0kH6uD3fQ9rTz", "Xq3bT9LmN2pR7sV4wY8zA1cE5gJ0kH6uD3fQ9rTz", secretKey},
		{`{"sk": "Xq3bT9LmN2pR7sV4wY8zA1cE5gJ0kH6uD3fQ9rTz"}`, "Xq3bT9LmN2pR7sV4wY8zA1cE5gJ0kH6uD3fQ9rTz", secretKey},

		// Not keys.
		{"0123456789abcdef0123456789abcdef", "", noKey}, // a project id: 32 hex digits
		{"0123456789ABCDEF0123456789ABCDEF", "", noKey},
		{"https://dli.example.com/v1.0/0123456789abcdef0123456789abcdef/jobs", "", noKey},
		{"3fa85f64-5717-4562-b3fc-2c963f66afa6", "", noKey}, // a UUID
		{"3FA85F64-5717-4562-B3FC-2C963F66AFA6", "", noKey},
		{"https://x.example.com/commit/da39a3ee5e6b4b0d3255bfef95601890afd80709", "", noKey}, // SHA-1, lower case
		{"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "", noKey},                              // SHA-1, upper case: 40 characters, one case
		{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "", noKey},      // SHA-256
		{"ABCDEFGHIJKLMNOPQRST", "", noKey},                                                  // letters only
		{"12345678901234567890", "", noKey},                                                  // digits only
		{"AKIAIOSFODNN7EXAMPL", "", noKey},                                                   // 19
		{"AKIAIOSFODNN7EXAMPLES", "", noKey},                                                 // 21
		{"my_table_AKIAIOSFODNN7EXAMPLE", "", noKey},                                         // part of a longer name
		{"AKIAIOSFODNN7EXAMPLe", "", noKey},                                                  // a lower-case letter: neither shape
		{"Xq3bT9LmN2pR7sV4wY8zA1cE5gJ0kH6uD3fQ9rT", "", noKey},                               // 39
		{"thisisalongidentifierwithoutanycapitals12", "", noKey},
		{"", "", noKey},
	} {
		start, end, shape := findKey(tt.s)
		if got := tt.s[start:end]; got != tt.want || shape != tt.shape {
			t.Errorf("findKey(%q) = %q, %d; want %q, %d", tt.s, got, shape, tt.want, tt.shape)
		}
	}
}

// TestKeysInSpec: a word shaped like a key is refused wherever it is
// written, at its own position.
func TestKeysInSpec(t *testing.T) {
	const ak = "Literal credential|This text holds a word shaped like an access key (20 upper-case letters and digits). Keys must not be written in a spec: they would be stored in the plan and in workflow history in clear text. Give the key to the worker and refer to it as ${secret.NAME} in the `with` of the step that uses it."
	const sk = "Literal credential|This text holds a word shaped like a secret key (40 letters and digits). Keys must not be written in a spec: they would be stored in the plan and in workflow history in clear text. Give the key to the worker and refer to it as ${secret.NAME} in the `with` of the step that uses it."
	diag := func(r, s string) wantDiag {
		summary, detail, _ := cutBar(s)
		return wantDiag{r, summary, detail}
	}
	const step = "steps:\n  - {id: a, kind: dli.sql, with: {sql: x}}\n"
	for _, tt := range []struct {
		name string
		src  string
		want []wantDiag
	}{
		{"param default", "name: p\nparams:\n  ak: AKIAIOSFODNN7EXAMPLE\n" + step, []wantDiag{diag("3:7-3:27", ak)}},
		{"long-form default, quoted", "name: p\nparams:\n  hw: {type: string, default: \"QWERTYUIOP1234567890\"}\n" + step, []wantDiag{diag("3:32-3:52", ak)}},
		{"description", "name: p\ndescription: Uses AKIAIOSFODNN7EXAMPLE to load.\n" + step, []wantDiag{diag("2:19-2:39", ak)}},
		{"cloud", "name: p\ncloud: {credentials: QWERTYUIOP1234567890}\n" + step, []wantDiag{diag("2:22-2:42", ak)}},
		{"URL query", "name: p\nsteps:\n  - id: a\n    kind: http\n    with: {url: 'https://x.example.com/a?ak=QWERTYUIOP1234567890&x=1'}\n",
			[]wantDiag{diag("5:45-5:65", ak)}},
		{"deep in with", "name: p\nsteps:\n  - id: a\n    kind: cdm.job\n    with:\n      links:\n        - config:\n            obs: [x, {k: Xq3bT9LmN2pR7sV4wY8zA1cE5gJ0kH6uD3fQ9rTz}]\n",
			[]wantDiag{diag("8:26-8:66", sk)}},
		{"a key as a mapping key", "name: p\nsteps:\n  - id: a\n    kind: dli.sql\n    with: {sql: x, conf: {QWERTYUIOP1234567890: x}}\n",
			[]wantDiag{diag("5:27-5:47", ak)}},
		{"block scalar", "name: p\nsteps:\n  - id: a\n    kind: http\n    with:\n      url: https://x.example.com\n      body: |\n        {\"ak\": \"x\",\n         \"sk\": \"Xq3bT9LmN2pR7sV4wY8zA1cE5gJ0kH6uD3fQ9rTz\"}\n",
			[]wantDiag{diag("9:17-9:57", sk)}},
		// Where the text is not written as it is, the whole string is
		// pointed at (its end counted from the unescaped value).
		{"escaped in a double-quoted string: the word itself", "name: p\ndescription: \"a\\tAKIAIOSFODNN7EXAMPLE\"\n" + step,
			[]wantDiag{diag("2:18-2:38", ak)}},
		{"two in one file", "name: p\ndescription: AKIAIOSFODNN7EXAMPLE\nparams: {a: x QWERTYUIOP1234567890}\n" + step,
			[]wantDiag{diag("2:14-2:34", ak), diag("3:15-3:35", ak)}},
		{"an alias is checked where its anchor is", "name: p\nparams: {a: &k AKIAIOSFODNN7EXAMPLE, b: *k}\n" + step,
			[]wantDiag{diag("2:16-2:36", ak)}},
		{"project id and UUID", "name: p\ncloud: {project_id: 0123456789abcdef0123456789abcdef}\nsteps:\n  - {id: a, kind: cdm.job, with: {cluster_id: 3fa85f64-5717-4562-b3fc-2c963f66afa6}}\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Load("test.yaml", []byte(tt.src))
			checkDiags(t, "test.yaml", []byte(tt.src), diags, tt.want)
		})
	}
}

func cutBar(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '|' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// TestValueMapFindsWords checks where the loader places a word it finds
// in a value, as it does a key-shaped one, in every style.
func TestValueMapFindsWords(t *testing.T) {
	src := "a: plain text here\nb: 'quoted text'\nc: \"esc\\taped text\"\nd: |\n  line one\n  line two\ne: >\n  folded one\n  folded two\nf: plain\n  on two lines\ng: &x anchored text\nh: !!str tagged text\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{Source: []byte(src)}
	node := func(key string) *yaml.Node {
		m := doc.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
		t.Fatalf("no %s", key)
		return nil
	}
	for _, tt := range []struct {
		key, word string
		want      string // line:col
	}{
		{"a", "text", "1:10"},
		{"b", "text", "2:12"},
		{"c", "esc", "3:5"},
		{"c", "text", "3:15"}, // after an escape
		{"d", "one", "5:8"},
		{"d", "two", "6:8"},
		{"e", "one", "8:10"},
		{"e", "two", "9:10"}, // folded into the first line
		{"f", "plain", "10:4"},
		{"f", "lines", "11:10"},
		{"g", "text", "12:16"},
		{"h", "text", "13:17"},
	} {
		n := node(tt.key)
		off := indexOf(n.Value, tt.word)
		m := p.ValueMap(n)
		pos := m.Pos(off)
		got := ""
		if m.Exact() {
			got = itoa(pos.Line) + ":" + itoa(pos.Column)
			if want := byteOffset([]byte(src), pos.Line, pos.Column); pos.Byte != want {
				t.Errorf("%s %q: byte %d, want %d", tt.key, tt.word, pos.Byte, want)
			}
		}
		if got != tt.want {
			t.Errorf("%s %q: at %q, want %q", tt.key, tt.word, got, tt.want)
		}
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
