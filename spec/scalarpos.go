package spec

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"gopkg.in/yaml.v3"
)

// ValuePos returns where byte off of the value of scalar n is written in
// src, the file n was parsed from, when that can be told exactly: when
// the value's text up to off is written as it is, on one line of a plain
// or quoted scalar (no escapes or line breaks before off) or on its own
// line of a literal or folded block scalar. Otherwise it reports false,
// and the scalar's own position is the best there is.
func (p *Pipeline) ValuePos(n *yaml.Node, off int) (hcl.Pos, bool) {
	starts := p.lineStarts
	if starts == nil {
		starts = lineStarts(p.Source)
	}
	return valuePos(p.Source, starts, n, off)
}

// valuePos is ValuePos in src, whose lines start at the offsets starts.
func valuePos(src []byte, starts []int, n *yaml.Node, off int) (hcl.Pos, bool) {
	lineOffset := func(line int) int {
		if line < 1 || line > len(starts) {
			return -1
		}
		return starts[line-1]
	}
	if n == nil || n.Kind != yaml.ScalarNode || off < 0 || off > len(n.Value) {
		return hcl.Pos{}, false
	}
	v := n.Value[:off]
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		// The text starts on the line after the indicator, indented as
		// its first line that is not blank.
		k := strings.Count(v, "\n")
		if n.Style&yaml.FoldedStyle != 0 && k > 0 {
			return hcl.Pos{}, false // lines are folded: no line of the value is a line of the file
		}
		indent := -1
		for i := n.Line + 1; ; i++ {
			s := lineOffset(i)
			if s < 0 {
				return hcl.Pos{}, false
			}
			line := lineAt(src, s)
			if t := bytes.TrimLeft(line, " "); len(bytes.TrimSpace(t)) > 0 {
				indent = len(line) - len(t)
				break
			}
		}
		lineNo := n.Line + 1 + k
		s := lineOffset(lineNo)
		if s < 0 {
			return hcl.Pos{}, false
		}
		text := v[strings.LastIndexByte(v, '\n')+1:]
		line := lineAt(src, s)
		if len(line) < indent || !bytes.HasPrefix(line[indent:], []byte(text)) {
			return hcl.Pos{}, false
		}
		return hcl.Pos{Line: lineNo, Column: indent + utf8.RuneCountInString(text) + 1, Byte: s + indent + len(text)}, true
	}
	if strings.ContainsRune(v, '\n') {
		return hcl.Pos{}, false
	}
	s := lineOffset(n.Line)
	if s < 0 {
		return hcl.Pos{}, false
	}
	line := lineAt(src, s)
	start := 0
	for col := 1; col < n.Column; col++ {
		if start >= len(line) {
			return hcl.Pos{}, false
		}
		_, size := utf8.DecodeRune(line[start:])
		start += size
	}
	col := n.Column
	// An anchor or a tag written before the value: the node starts there.
	for range 2 {
		if start >= len(line) || line[start] != '&' && line[start] != '!' {
			break
		}
		for start < len(line) && line[start] != ' ' {
			start++
			col++
		}
		for start < len(line) && line[start] == ' ' {
			start++
			col++
		}
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		start++
		col++
	}
	if start > len(line) || !bytes.HasPrefix(line[start:], []byte(v)) {
		return hcl.Pos{}, false
	}
	return hcl.Pos{Line: n.Line, Column: col + utf8.RuneCountInString(v), Byte: s + start + len(v)}, true
}

// lineAt returns the line starting at byte off, without its line break.
func lineAt(src []byte, off int) []byte {
	line := src[off:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return bytes.TrimSuffix(line, []byte("\r"))
}
