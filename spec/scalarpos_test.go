package spec

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// TestValueMap checks, for a scalar of every style yaml.v3 reads, where
// offsets of its value are written: each want gives the line:col of the
// n-th occurrence (from 1) of a text in the case's first value with a
// template, or of its end ("$end").
func TestValueMap(t *testing.T) {
	type at struct {
		text string
		n    int
		pos  string
	}
	tests := []struct {
		name, src string
		want      []at
	}{
		{"plain", "v: select ${x}\n", []at{{"s", 1, "1:4"}, {"${", 1, "1:11"}, {"$end", 0, "1:15"}}},
		{"plain after a tab", "v:\tx\t${y}\n", []at{{"x", 1, "1:4"}, {"${", 1, "1:6"}}},
		{"plain multi-line", "v: select\n  a, ${x}\n    from ${t}\n", []at{
			{" ", 1, "1:10"}, // the folded line break, at the end of the line
			{"a", 1, "2:3"}, {"${", 1, "2:6"}, {"${", 2, "3:10"}, {"$end", 0, "3:14"}}},
		{"plain with an empty line", "v: a\n\n   ${x} b\n", []at{{"\n", 1, "2:1"}, {"${", 1, "3:4"}, {"b", 1, "3:9"}}},
		{"plain in a sequence", "v:\n  - one\n  - two ${x}\n    three\n", []at{{"${", 1, "3:9"}, {"three", 1, "4:5"}}},
		{"plain, trailing spaces dropped", "v: a   \n  ${x}\n", []at{{" ", 1, "1:8"}, {"${", 1, "2:3"}}},
		{"double-quoted", `v: "a ${x}"` + "\n", []at{{"a", 1, "1:5"}, {"${", 1, "1:7"}, {"$end", 0, "1:11"}}},
		{"double-quoted escapes", `v: "\"q\" \n\t\u00e9 ${x} \x41\U0001F600${y}\\"` + "\n", []at{
			{`"`, 1, "1:5"}, {"q", 1, "1:7"}, {`"`, 2, "1:8"}, {"\n", 1, "1:11"}, {"\t", 1, "1:13"},
			{"é", 1, "1:15"}, {"${", 1, "1:22"}, {"A", 1, "1:27"}, {"😀", 1, "1:31"}, {"${", 2, "1:41"},
			{`\`, 1, "1:45"}, {"$end", 0, "1:47"}}},
		{"double-quoted, folded", "v: \"a\n    b ${x}\n\n  ${y}\"\n", []at{
			{" ", 1, "1:6"}, {"b", 1, "2:5"}, {"${", 1, "2:7"}, {"\n", 1, "3:1"}, {"${", 2, "4:3"}, {"$end", 0, "4:7"}}},
		{"double-quoted, spaces kept", "v: \"a   ${x}  \"\n", []at{{"${", 1, "1:9"}, {"$end", 0, "1:15"}}},
		{"double-quoted, escaped line break", "v: \"ab\\\n     ${x}\\\n\n  c\"\n", []at{
			{"${", 1, "2:6"}, {"\n", 1, "3:1"}, {"c", 1, "4:3"}}},
		{"double-quoted, escaped tab and space", "v: \"\\\t\\ ${x}\"\n", []at{{"\t", 1, "1:5"}, {" ", 1, "1:7"}, {"${", 1, "1:9"}}},
		{"single-quoted", "v: 'it''s ${x}'\n", []at{{"'", 1, "1:7"}, {"s", 1, "1:9"}, {"${", 1, "1:11"}, {"$end", 0, "1:15"}}},
		{"single-quoted, folded", "v: 'a ''b''\n\n\n   c ${x}'\n", []at{
			{"'", 2, "1:10"}, {"\n", 1, "2:1"}, {"\n", 2, "3:1"}, {"${", 1, "4:6"}}},
		{"literal", "v: |\n  one\n  two\n  three ${x}\n", []at{
			{"one", 1, "2:3"}, {"\n", 1, "2:6"}, {"${", 1, "4:9"}, {"\n", 3, "4:13"}, {"$end", 0, "4:13"}}},
		{"literal, more indented lines", "v: |\n    a\n      b ${x}\n", []at{{"a", 1, "2:5"}, {"  b", 1, "3:5"}, {"${", 1, "3:9"}}},
		{"literal with an indentation indicator", "v: |2\n     a ${x}\n  b\n", []at{{" ", 1, "2:3"}, {"a", 1, "2:6"}, {"${", 1, "2:8"}, {"b", 1, "3:3"}}},
		{"literal, strip", "v: |-\n  a\n\n  ${x}\n\n", []at{{"\n", 2, "3:1"}, {"${", 1, "4:3"}, {"$end", 0, "4:7"}}},
		{"literal, keep", "v: |+ # keep\n  ${x}\n\n\n", []at{{"${", 1, "2:3"}, {"\n", 2, "3:1"}, {"\n", 3, "4:1"}, {"$end", 0, "4:1"}}},
		{"literal, leading empty lines", "v: |\n\n  \n  ${x}\n", []at{{"\n", 1, "2:1"}, {"\n", 2, "3:3"}, {"${", 1, "4:3"}}},
		{"literal, tab after the indentation", "v: |\n  a\n  \t${x}\n", []at{{"\t", 1, "3:3"}, {"${", 1, "3:4"}}},
		{"literal in a sequence, indicator", "v:\n  - |1\n     a ${x}\n", []at{{" ", 1, "3:4"}, {"a", 1, "3:6"}, {"${", 1, "3:8"}}},
		{"folded", "v: >\n  one\n  two\n\n  three ${x}\n   more\n  end\n", []at{
			{" ", 1, "2:6"}, {"two", 1, "3:3"}, {"\n", 1, "4:1"}, {"${", 1, "5:9"},
			{"\n", 2, "5:13"}, {" more", 1, "6:3"}, {"\n", 3, "6:8"}, {"end", 1, "7:3"}}},
		{"folded, keep, indicator after chomping, top level", ">+2\n   a ${x}\n\n", []at{{" ", 1, "2:3"}, {"${", 1, "2:6"}, {"\n", 2, "3:1"}}},
		{"anchor and tag", "v: &a !!str\n  # note\n  \"${x}\"\n", []at{{"${", 1, "3:4"}}},
		{"flow mapping", "v: {a: \"x\n   ${y}\", b: 'c\n  ${z}'}\n", []at{{" ", 1, "1:10"}, {"${", 1, "2:4"}}},
		{"flow sequence", "v: [a, 'c\n  ${z}', \"d\"]\n", []at{{"${", 1, "2:3"}}},
		{"CRLF", "v: \"a\r\n  ${x}\"\r\nw: |\r\n  b\r\n  ${y}\r\n", []at{{" ", 1, "1:6"}, {"${", 1, "2:3"}}},
		{"BOM", "\xef\xbb\xbfv: \"é ${x}\"\n", []at{{"é", 1, "1:5"}, {"${", 1, "1:7"}}},
		{"multi-byte characters", "v: ünïcödé ${x} 😀 ${y}\n", []at{{"${", 1, "1:12"}, {"${", 2, "1:19"}}},
		{"lone CR and NEL", "v: a\r  ${x}\u0085  ${y}\n", []at{{"${", 1, "2:3"}, {"${", 2, "3:3"}}},
		{"LS kept by folding", "v: \"a\u2028  ${x}\"\n", []at{{"\u2028", 1, "1:6"}, {"${", 1, "2:3"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.src), &doc); err != nil {
				t.Fatal(err)
			}
			p := &Pipeline{Source: []byte(tc.src), Filename: "f.yaml"}
			for _, n := range stringScalars(&doc) {
				checkValueMap(t, p, n)
			}
			var n *yaml.Node
			for _, s := range stringScalars(&doc) {
				if strings.Contains(s.Value, "${") {
					n = s
					break
				}
			}
			if n == nil {
				t.Fatal("no template")
			}
			m := p.ValueMap(n)
			for _, w := range tc.want {
				off := len(n.Value)
				if w.text != "$end" {
					off = nthIndex(n.Value, w.text, w.n)
					if off < 0 {
						t.Fatalf("%q has no occurrence %d of %q", n.Value, w.n, w.text)
					}
				}
				pos := m.Pos(off)
				if got := fmt.Sprintf("%d:%d", pos.Line, pos.Column); got != w.pos {
					t.Errorf("%q #%d (offset %d of %q) at %s, want %s", w.text, w.n, off, n.Value, got, w.pos)
				}
			}
		})
	}
}

func nthIndex(s, sub string, n int) int {
	off := 0
	for i := 1; ; i++ {
		j := strings.Index(s[off:], sub)
		if j < 0 {
			return -1
		}
		if i == n {
			return off + j
		}
		off += j + len(sub)
	}
}

// stringScalars returns the scalars under n, keys and values.
func stringScalars(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.ScalarNode {
		return []*yaml.Node{n}
	}
	var out []*yaml.Node
	for _, c := range n.Content {
		out = append(out, stringScalars(c)...)
	}
	return out
}

// checkValueMap checks what holds for any scalar of a UTF-8 source: the
// map reads it, its positions never go back and lie in the file, and the
// source at each character's position is that character, or what
// produced it: an escape sequence, a quote doubled, or a line break or
// blank that was folded.
func checkValueMap(t *testing.T, p *Pipeline, n *yaml.Node) {
	t.Helper()
	if n.Value == "" {
		return // yaml.v3 may place an empty scalar past the end of the file
	}
	m := p.ValueMap(n)
	if !m.ok {
		t.Errorf("%d:%d: value %q not found in the source", n.Line, n.Column, n.Value)
		return
	}
	src := p.Source
	lines := newLineIndex(src)
	prev := 0
	for off := 0; off <= len(n.Value); {
		pos := m.Pos(off)
		if pos.Byte < prev || pos.Byte > len(src) {
			t.Errorf("%q: offset %d at byte %d, after %d (source has %d)", n.Value, off, pos.Byte, prev, len(src))
			return
		}
		if want := lines.pos(pos.Byte); want != pos {
			t.Errorf("%q: offset %d at %#v, want %#v", n.Value, off, pos, want)
		}
		if pos.Line > lines.lines() {
			t.Errorf("%q: offset %d at line %d of %d", n.Value, off, pos.Line, lines.lines())
		}
		prev = pos.Byte
		if off == len(n.Value) {
			break
		}
		r, size := utf8.DecodeRuneInString(n.Value[off:])
		at := src[pos.Byte:]
		ok := strings.HasPrefix(string(at), string(r)) ||
			n.Style&yaml.DoubleQuotedStyle != 0 && len(at) > 0 && at[0] == '\\' ||
			r == '\'' && strings.HasPrefix(string(at), "''") ||
			(r == ' ' || r == '\n' || r == '\u2028' || r == '\u2029') && breakWidth(src, pos.Byte) > 0
		if !ok {
			t.Errorf("%q: offset %d (%q) at %d:%d, where the source has %q", n.Value, off, r, pos.Line, pos.Column, at[:min(len(at), 8)])
		}
		off += size
	}
}

// FuzzValueMap checks checkValueMap for every scalar of any source
// yaml.v3 reads as UTF-8.
func FuzzValueMap(f *testing.F) {
	for _, glob := range []string{"testdata/*.yaml", "../examples/pipelines/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, s := range []string{
		"v: \"a\\\n  b \\x41 ''\"\n", "v: 'a''\n\n  b'\n", "v: >-\n  a\n\n   b\n  c\n", "v:\n- |2+\n   x\n\n",
		"v: a\n  b\n\n  c # d\n", "\xef\xbb\xbfv: [\"a\r\n b\", 'c']\n", "v: &x !t\n  \"y\"\nw: *x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if !utf8.Valid(src) || len(src) >= 2 && (src[0] == 0xfe || src[0] == 0xff) {
			return
		}
		var doc yaml.Node
		if yaml.Unmarshal(src, &doc) != nil {
			return
		}
		p := &Pipeline{Source: src, Filename: "f.yaml"}
		for _, n := range stringScalars(&doc) {
			checkValueMap(t, p, n)
		}
	})
}

// TestValueMapGenerated checks checkValueMap on scalars of every style
// built from random pieces: escapes, doubled quotes, blank and more
// indented lines, tabs, multi-byte characters, CRLF, a BOM, block
// headers, in mappings, sequences and flow collections.
func TestValueMapGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	word := func() string {
		return pick("a", "sel", "${x}", "${f(y, \"z\")}", "é", "😀", "#", "-", "a:b", "x'y", "%{if}", "\t", "")
	}
	line := func(n int) string {
		var b strings.Builder
		b.WriteString(pick("a", "b", "${x}", "ü"))
		for range n {
			b.WriteString(pick(" ", "  ", "\t", " \t"))
			b.WriteString(word())
		}
		return b.String()
	}
	scalar := func(indent string) string {
		nl := "\n"
		var b strings.Builder
		switch rng.IntN(5) {
		case 0: // plain
			b.WriteString(line(rng.IntN(4)))
			for range rng.IntN(3) {
				b.WriteString(strings.Repeat(nl, 1+rng.IntN(2)) + indent + pick("", " ", "\t") + line(rng.IntN(3)))
			}
		case 1, 2: // quoted
			q := pick(`"`, "'")
			b.WriteString(q)
			for range 1 + rng.IntN(6) {
				switch rng.IntN(4) {
				case 0:
					if q == `"` {
						b.WriteString(pick(`\"`, `\\`, `\n`, `\t`, `\u00e9`, `\x41`, `\U0001F600`, `\ `, `\/`, "\\\n"+indent, `\L`, `\N`, `\_`))
					} else {
						b.WriteString("''")
					}
				case 1:
					b.WriteString(pick(" ", "  ", "\t") + strings.Repeat(nl, rng.IntN(3)) + indent + pick("", " ", "\t "))
				default:
					b.WriteString(word())
				}
			}
			b.WriteString(q)
		default: // block
			b.WriteString(pick("|", ">"))
			b.WriteString(pick("", "-", "+"))
			extra := ""
			if rng.IntN(2) == 0 {
				k := 1 + rng.IntN(3)
				b.WriteString(fmt.Sprint(k))
				extra = strings.Repeat(" ", k) // relative to the parent's indentation, fixed up below
			}
			b.WriteString(pick("", " # c"))
			b.WriteString(nl)
			body := indent + "  "
			if extra != "" {
				body = "\x00" // replaced by the caller, who knows the parent's indentation
			}
			for range 1 + rng.IntN(4) {
				switch rng.IntN(4) {
				case 0:
					b.WriteString(nl)
				case 1:
					b.WriteString(body + pick(" ", "   ", "\t") + line(rng.IntN(3)) + nl)
				default:
					b.WriteString(body + line(rng.IntN(4)) + nl)
				}
			}
			if extra != "" {
				return strings.ReplaceAll(b.String(), "\x00", "\x01"+extra)
			}
		}
		return b.String() + nl
	}
	read, tried := 0, 0
	for range 4000 {
		var doc string
		switch rng.IntN(3) {
		case 0: // mapping value; the parent's indentation is 0
			doc = "k: " + strings.ReplaceAll(scalar("  "), "\x01", "")
		case 1: // sequence item at 2; parent indentation 2
			doc = "k:\n  - " + strings.ReplaceAll(scalar("    "), "\x01", "  ")
		default: // nested mapping at 2
			doc = "k:\n  j: " + strings.ReplaceAll(scalar("    "), "\x01", "  ")
		}
		if rng.IntN(4) == 0 {
			doc = strings.ReplaceAll(doc, "\n", "\r\n")
		}
		if rng.IntN(8) == 0 {
			doc = utf8BOM + doc
		}
		tried++
		var n yaml.Node
		if yaml.Unmarshal([]byte(doc), &n) != nil {
			continue
		}
		read++
		p := &Pipeline{Source: []byte(doc), Filename: "f.yaml"}
		for _, s := range stringScalars(&n) {
			checkValueMap(t, p, s)
		}
		if t.Failed() {
			t.Fatalf("in %q", doc)
		}
	}
	if read < tried/3 {
		t.Errorf("only %d of %d generated documents are YAML", read, tried)
	}
	t.Logf("%d of %d generated documents are YAML", read, tried)
}
