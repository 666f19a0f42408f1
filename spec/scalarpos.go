package spec

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"gopkg.in/yaml.v3"
)

// ValueMap maps byte offsets in a string scalar's value, as yaml.v3
// decoded it, to where they are written in the spec. A template's value
// is not its source text: quotes, escapes, folded lines and block
// indentation come between, so a position inside the template (an HCL
// diagnostic's, say) is found by reading the scalar again from the source
// the way yaml.v3 does. When that reading does not give the decoded value
// (a Pipeline built without its source, a UTF-16 file), every offset maps
// to where the scalar starts.
type ValueMap struct {
	file  string
	lines *lineIndex
	// spans, ordered by val, say where each run of the value comes from.
	spans []span
	// end is the source offset of the value's end: the closing quote of
	// a quoted scalar, just after the last character of any other.
	end int
	// start is the scalar's position, for a scalar that could not be
	// read again.
	start hcl.Pos
	ok    bool
}

// span is a run of a scalar's value and where it comes from. A copied
// run is the source text itself, byte for byte; any other (an escape
// sequence, a line break or a folded one) was produced from the source
// text at src.
type span struct {
	val, n int
	src    int
	copied bool
}

// ValueMap returns the map of the string scalar n, a node of p.
func (p *Pipeline) ValueMap(n *yaml.Node) *ValueMap {
	lines := p.lines
	if lines == nil {
		lines = newLineIndex(p.Source)
	}
	m := &ValueMap{file: p.Filename, lines: lines}
	off, inFile := lines.offset(n.Line, n.Column)
	m.start = hcl.Pos{Line: max(n.Line, 1), Column: max(n.Column, 1), Byte: off}
	if !inFile || n.Kind != yaml.ScalarNode {
		return m
	}
	if sc, ok := scanScalar(lines.src, off, n); ok {
		m.spans, m.end, m.ok = sc.spans, sc.end, true
	}
	return m
}

// Pos is the position of byte offset off of the value; the value's
// length gives where it ends.
func (m *ValueMap) Pos(off int) hcl.Pos {
	if !m.ok {
		return m.start
	}
	if len(m.spans) == 0 {
		return m.lines.pos(m.end)
	}
	last := m.spans[len(m.spans)-1]
	if off >= last.val+last.n {
		return m.lines.pos(m.end)
	}
	i := sort.Search(len(m.spans), func(i int) bool { return m.spans[i].val > off }) - 1
	s := m.spans[max(i, 0)]
	if !s.copied {
		return m.lines.pos(s.src)
	}
	return m.lines.pos(s.src + max(0, off-s.val))
}

// Range maps r, whose Byte fields are offsets into the value (as those of
// a template parsed from hcl.InitialPos are), into the spec.
func (m *ValueMap) Range(r hcl.Range) hcl.Range {
	return hcl.Range{Filename: m.file, Start: m.Pos(r.Start.Byte), End: m.Pos(r.End.Byte)}
}

// Diagnostics maps the subject and context of each of diags with Range.
func (m *ValueMap) Diagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		if d.Subject != nil {
			d.Subject = m.Range(*d.Subject).Ptr()
		}
		if d.Context != nil {
			d.Context = m.Range(*d.Context).Ptr()
		}
	}
	return diags
}

// scan reads a scalar from the source the way yaml.v3's scanner does
// (scannerc.go, which is libyaml's), checking each byte it produces
// against the value yaml.v3 decoded, and records where each comes from.
type scan struct {
	src   []byte
	pos   int
	want  string
	out   int
	spans []span
	end   int
}

// pending is a line break read but not yet produced: yaml.v3 decides
// what a break becomes (a space, nothing, itself) once it sees the next
// line.
type pending struct {
	text string // "\n", or the LS or PS character
	at   int
}

func (s *scan) cur() byte {
	if s.pos < len(s.src) {
		return s.src[s.pos]
	}
	return 0
}

func (s *scan) at(i int) byte {
	if i < len(s.src) {
		return s.src[i]
	}
	return 0
}

func (s *scan) eof() bool      { return s.pos >= len(s.src) }
func (s *scan) isBlank() bool  { c := s.cur(); return c == ' ' || c == '\t' }
func (s *scan) isBreak() bool  { return breakWidth(s.src, s.pos) > 0 }
func (s *scan) isBlankz() bool { return s.eof() || s.isBlank() || s.isBreak() || s.cur() == 0 }
func (s *scan) isBreakz() bool { return s.eof() || s.isBreak() || s.cur() == 0 }

// runeLen is the length of the UTF-8 sequence starting with b, as
// yaml.v3's width; 1 for a byte that starts none, so that scanning always
// moves on (such bytes make the value differ and the scan fail).
func runeLen(b byte) int {
	switch {
	case b&0x80 == 0:
		return 1
	case b&0xE0 == 0xC0:
		return 2
	case b&0xF0 == 0xE0:
		return 3
	case b&0xF8 == 0xF0:
		return 4
	}
	return 1
}

// copyRune produces the character at pos as it is.
func (s *scan) copyRune() bool {
	n := min(runeLen(s.cur()), len(s.src)-s.pos)
	if !s.copyFrom(s.pos, s.pos+n) {
		return false
	}
	s.pos += n
	return true
}

// copyFrom produces src[from:to] as it is.
func (s *scan) copyFrom(from, to int) bool {
	n := to - from
	if n <= 0 {
		return true
	}
	if s.out+n > len(s.want) || string(s.src[from:to]) != s.want[s.out:s.out+n] {
		return false
	}
	if k := len(s.spans) - 1; k >= 0 && s.spans[k].copied && s.spans[k].src+s.spans[k].n == from && s.spans[k].val+s.spans[k].n == s.out {
		s.spans[k].n += n
	} else {
		s.spans = append(s.spans, span{val: s.out, n: n, src: from, copied: true})
	}
	s.out += n
	s.end = to
	return true
}

// emit produces text for the source from at to after.
func (s *scan) emit(text string, at, after int) bool {
	if text == "" {
		return true
	}
	if s.out+len(text) > len(s.want) || s.want[s.out:s.out+len(text)] != text {
		return false
	}
	s.spans = append(s.spans, span{val: s.out, n: len(text), src: at})
	s.out += len(text)
	s.end = after
	return true
}

// readLine reads the line break at pos as yaml.v3's read_line does: LF,
// CR, CRLF and NEL become "\n", LS and PS stay themselves.
func (s *scan) readLine() pending {
	n := breakWidth(s.src, s.pos)
	p := pending{text: "\n", at: s.pos}
	if n == 3 {
		p.text = string(s.src[s.pos : s.pos+3])
	}
	s.pos += n
	return p
}

func (s *scan) emitBreaks(breaks []pending) bool {
	for _, b := range breaks {
		// A break is shown at its line's end, not at the next line's
		// start, which may be past the end of the file.
		if !s.emit(b.text, b.at, b.at) {
			return false
		}
	}
	return true
}

// fold joins lines as yaml.v3 does in flow and plain scalars: one break
// followed by none becomes a space, breaks after the first stay, and a
// first break that is LS or PS stays too.
func (s *scan) fold(leading pending, trailing []pending) bool {
	if leading.text == "\n" {
		if len(trailing) == 0 {
			return s.emit(" ", leading.at, leading.at)
		}
		return s.emitBreaks(trailing)
	}
	return s.emitBreaks(append([]pending{leading}, trailing...))
}

// scanScalar reads the scalar node n, written at byte offset off of src.
func scanScalar(src []byte, off int, n *yaml.Node) (*scan, bool) {
	s := &scan{src: src, pos: off, want: n.Value, end: off}
	s.properties()
	s.end = s.pos
	var ok bool
	switch s.cur() {
	case '"', '\'':
		ok = s.flow(s.cur() == '\'')
	case '|', '>':
		return s.block(n.Column)
	default:
		ok = s.plain()
	}
	return s, ok && s.out == len(s.want)
}

// properties skips the anchor and tag a scalar may have, where yaml.v3
// puts its position, and what separates them from the scalar.
func (s *scan) properties() {
	for s.cur() == '&' || s.cur() == '!' {
		if s.cur() == '&' {
			// An anchor's name is letters, digits, '_' and '-'; what
			// follows may be the scalar itself.
			for s.pos++; isAnchorChar(s.cur()); s.pos++ {
			}
		} else {
			for !s.isBlankz() {
				s.pos += runeLen(s.cur())
			}
		}
	separation:
		for !s.eof() {
			switch {
			case s.isBlank():
				s.pos++
			case s.isBreak():
				s.readLine()
			case s.cur() == '#':
				for !s.isBreakz() {
					s.pos++
				}
			default:
				break separation
			}
		}
	}
}

func isAnchorChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c == '-'
}

// plain reads a plain scalar (yaml_parser_scan_plain_scalar). What ends
// it (": ", " #", a flow indicator, a less indented line) comes only
// after its value, so the reading simply stops when the value is
// complete.
func (s *scan) plain() bool {
	var (
		leading  pending
		trailing []pending
		blanks   bool // after a line break
		ws       = -1 // where the spaces before pos start, or -1
	)
	for s.out < len(s.want) {
		for !s.isBlankz() {
			if blanks {
				if !s.fold(leading, trailing) {
					return false
				}
				trailing, blanks = trailing[:0], false
			} else if ws >= 0 {
				if !s.copyFrom(ws, s.pos) {
					return false
				}
			}
			ws = -1
			if !s.copyRune() {
				return false
			}
			if s.out == len(s.want) {
				return true
			}
		}
		if !s.isBlank() && !s.isBreak() {
			return false
		}
		for s.isBlank() || s.isBreak() {
			switch {
			case s.isBlank() && !blanks:
				if ws < 0 {
					ws = s.pos
				}
				s.pos++
			case s.isBlank():
				s.pos++
			case !blanks:
				ws, leading, blanks = -1, s.readLine(), true
			default:
				trailing = append(trailing, s.readLine())
			}
		}
	}
	return true
}

// flow reads a single- or double-quoted scalar
// (yaml_parser_scan_flow_scalar).
func (s *scan) flow(single bool) bool {
	quote := s.cur()
	s.pos++
	var (
		leading  pending
		trailing []pending
	)
	for {
		if s.eof() {
			return false
		}
		blanks := false
	chars:
		for !s.isBlankz() {
			c := s.cur()
			switch {
			case single && c == '\'' && s.at(s.pos+1) == '\'':
				if !s.emit("'", s.pos, s.pos+2) {
					return false
				}
				s.pos += 2
			case c == quote:
				break chars
			case !single && c == '\\' && breakWidth(s.src, s.pos+1) > 0:
				s.pos++
				s.readLine()
				blanks = true
				leading = pending{} // an escaped break produces nothing
				break chars
			case !single && c == '\\':
				if !s.escape() {
					return false
				}
			default:
				if !s.copyRune() {
					return false
				}
			}
		}
		if s.cur() == quote {
			break
		}
		ws := -1
		for s.isBlank() || s.isBreak() {
			switch {
			case s.isBlank() && !blanks:
				if ws < 0 {
					ws = s.pos
				}
				s.pos++
			case s.isBlank():
				s.pos++
			case !blanks:
				ws, leading, blanks = -1, s.readLine(), true
			default:
				trailing = append(trailing, s.readLine())
			}
		}
		if blanks {
			if leading.text == "" {
				// After an escaped break only the further breaks count.
				if !s.emitBreaks(trailing) {
					return false
				}
			} else if !s.fold(leading, trailing) {
				return false
			}
			trailing = trailing[:0]
		} else if ws >= 0 && !s.copyFrom(ws, s.pos) {
			return false
		}
	}
	s.end = s.pos // the closing quote
	s.pos++
	return true
}

// escapes are the one-character escape sequences of double-quoted
// scalars and what they stand for.
var escapes = map[byte]string{
	'0': "\x00", 'a': "\x07", 'b': "\x08", 't': "\t", '\t': "\t", 'n': "\n",
	'v': "\x0b", 'f': "\x0c", 'r': "\r", 'e': "\x1b", ' ': " ", '"': "\"",
	'\'': "'", '\\': "\\", 'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029",
}

// escape reads an escape sequence at pos.
func (s *scan) escape() bool {
	at := s.pos
	c := s.at(at + 1)
	if text, ok := escapes[c]; ok {
		s.pos += 2
		return s.emit(text, at, s.pos)
	}
	digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
	if digits == 0 || at+2+digits > len(s.src) {
		return false
	}
	v := 0
	for _, h := range s.src[at+2 : at+2+digits] {
		switch {
		case h >= '0' && h <= '9':
			v = v<<4 + int(h-'0')
		case h >= 'a' && h <= 'f':
			v = v<<4 + int(h-'a'+10)
		case h >= 'A' && h <= 'F':
			v = v<<4 + int(h-'A'+10)
		default:
			return false
		}
	}
	if v >= 0xD800 && v <= 0xDFFF || v > 0x10FFFF {
		return false
	}
	s.pos = at + 2 + digits
	return s.emit(string(rune(v)), at, s.pos)
}

// block reads a literal or folded block scalar
// (yaml_parser_scan_block_scalar). Its indentation depends on that of
// the collection it is in, which only the parser knows: each possible
// one is tried, and the first that gives the value is kept.
func (s *scan) block(col int) (*scan, bool) {
	literal := s.cur() == '|'
	p := s.pos + 1
	chomp, increment := 0, 0
	for range 2 {
		switch c := s.at(p); {
		case c == '+' && chomp == 0:
			chomp, p = 1, p+1
		case c == '-' && chomp == 0:
			chomp, p = -1, p+1
		case c >= '1' && c <= '9' && increment == 0:
			increment, p = int(c-'0'), p+1
		}
	}
	for s.at(p) == ' ' || s.at(p) == '\t' {
		p++
	}
	if s.at(p) == '#' {
		for p < len(s.src) && breakWidth(s.src, p) == 0 {
			p++
		}
	}
	if p < len(s.src) && breakWidth(s.src, p) == 0 {
		return nil, false
	}
	p += breakWidth(s.src, p)
	try := func(indent, minIndent int) (*scan, bool) {
		t := &scan{src: s.src, pos: p, want: s.want, end: p}
		return t, t.blockBody(literal, chomp, indent, minIndent) && t.out == len(t.want)
	}
	if increment == 0 {
		// The indentation is that of the first non-empty line, unless
		// the enclosing collection is indented more: then the scalar
		// has no content lines.
		if t, ok := try(0, 0); ok {
			return t, true
		}
		return try(0, len(s.src)+1)
	}
	// The indentation is the enclosing collection's plus increment; that
	// collection is indented less than the scalar's indicator.
	for parent := 0; parent < max(col, 1); parent++ {
		if t, ok := try(parent+increment, 0); ok {
			return t, true
		}
	}
	return nil, false
}

// blockBody reads a block scalar's lines, from pos just after its header.
func (s *scan) blockBody(literal bool, chomp, indent, minIndent int) bool {
	var (
		leading  pending
		trailing []pending
		column   int
	)
	// breaks eats indentation and empty lines, fixing the indentation
	// from them if it is not yet known
	// (yaml_parser_scan_block_scalar_breaks).
	breaks := func() bool {
		maxIndent := 0
		for {
			for (indent == 0 || column < indent) && s.cur() == ' ' && !s.eof() {
				s.pos++
				column++
			}
			maxIndent = max(maxIndent, column)
			if (indent == 0 || column < indent) && s.cur() == '\t' && !s.eof() {
				return false
			}
			if !s.isBreak() {
				break
			}
			trailing = append(trailing, s.readLine())
			column = 0
		}
		if indent == 0 {
			indent = max(maxIndent, minIndent, 1)
		}
		return true
	}
	if !breaks() {
		return false
	}
	leadingBlank := false
	for column == indent && !s.eof() && s.cur() != 0 {
		trailingBlank := s.isBlank()
		if !literal && !leadingBlank && !trailingBlank && leading.text == "\n" {
			if len(trailing) == 0 && !s.emit(" ", leading.at, leading.at) {
				return false
			}
		} else if leading.text != "" && !s.emitBreaks([]pending{leading}) {
			return false
		}
		leading = pending{}
		if !s.emitBreaks(trailing) {
			return false
		}
		trailing = trailing[:0]
		leadingBlank = s.isBlank()
		for !s.isBreakz() {
			if !s.copyRune() {
				return false
			}
		}
		if s.isBreak() {
			leading = s.readLine()
		}
		column = 0
		if !breaks() {
			return false
		}
	}
	if chomp != -1 && leading.text != "" && !s.emitBreaks([]pending{leading}) {
		return false
	}
	if chomp == 1 && !s.emitBreaks(trailing) {
		return false
	}
	return true
}

// Exact reports whether the map knows where each byte of the value is
// written; when not, every position is the scalar's own.
func (m *ValueMap) Exact() bool { return m.ok }
