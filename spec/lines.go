package spec

import (
	"sort"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// lineIndex converts between byte offsets in a spec's source and lines
// and columns as yaml.v3 counts them, which is what every position in a
// diagnostic is: lines end at LF, CRLF, a lone CR, NEL (U+0085), LS
// (U+2028) or PS (U+2029); columns count characters (runes), from 1; a
// UTF-8 byte order mark at the start of the file is not a character.
type lineIndex struct {
	src []byte
	// starts holds the byte offset at which each line starts, the BOM
	// excluded.
	starts []int
}

const utf8BOM = "\xef\xbb\xbf"

func newLineIndex(src []byte) *lineIndex {
	x := &lineIndex{src: src, starts: []int{0}}
	if len(src) >= 3 && string(src[:3]) == utf8BOM {
		x.starts[0] = 3
	}
	for i := 0; i < len(src); {
		if n := breakWidth(src, i); n > 0 {
			i += n
			x.starts = append(x.starts, i)
			continue
		}
		i++
	}
	return x
}

// breakWidth is the length in bytes of the line break at src[i:], or 0.
func breakWidth(src []byte, i int) int {
	if i >= len(src) {
		return 0
	}
	switch src[i] {
	case '\n':
		return 1
	case '\r':
		if i+1 < len(src) && src[i+1] == '\n' {
			return 2
		}
		return 1
	case 0xC2:
		if i+1 < len(src) && src[i+1] == 0x85 {
			return 2
		}
	case 0xE2:
		if i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xA8 || src[i+2] == 0xA9) {
			return 3
		}
	}
	return 0
}

// lines is how many lines the source has.
func (x *lineIndex) lines() int { return len(x.starts) }

// pos is the position of byte offset off.
func (x *lineIndex) pos(off int) hcl.Pos {
	off = max(0, min(off, len(x.src)))
	line := sort.Search(len(x.starts), func(i int) bool { return x.starts[i] > off })
	if line == 0 { // inside the BOM
		return hcl.Pos{Line: 1, Column: 1, Byte: x.starts[0]}
	}
	col := utf8.RuneCount(x.src[x.starts[line-1]:off]) + 1
	return hcl.Pos{Line: line, Column: col, Byte: off}
}

// offset is the byte offset of line:col; a column past the end of its
// line gives the line's end, a line that is not in the file 0 and false.
func (x *lineIndex) offset(line, col int) (int, bool) {
	if line < 1 || line > len(x.starts) {
		return 0, false
	}
	off := x.starts[line-1]
	for c := 1; c < col && off < len(x.src) && breakWidth(x.src, off) == 0; c++ {
		_, size := utf8.DecodeRune(x.src[off:])
		off += size
	}
	return off, true
}

// Lines returns the lines of src as diagnostics count them (see
// lineIndex), without their line breaks or a byte order mark: line n of a
// diagnostic is Lines(src)[n-1], and its column counts that line's
// characters.
func Lines(src []byte) [][]byte {
	x := newLineIndex(src)
	out := make([][]byte, len(x.starts))
	for i, start := range x.starts {
		end := len(src)
		if i+1 < len(x.starts) {
			end = x.starts[i+1]
			end -= breakWidthBefore(src, end)
		}
		out[i] = src[start:end]
	}
	return out
}

// breakWidthBefore is the length of the line break that ends just before
// end, which is where a line starts.
func breakWidthBefore(src []byte, end int) int {
	for n := 3; n >= 1; n-- {
		if end-n >= 0 && breakWidth(src, end-n) == n {
			return n
		}
	}
	return 0
}
