package spec

import (
	"gopkg.in/yaml.v3"
)

// Key shapes. A Huawei Cloud access key (AK) is 20 upper-case letters and
// digits; a secret key (SK) is 40 letters and digits of both cases. Both
// are looked for as whole words, a word being a run of letters, digits and
// '_', so that a longer identifier (my_table_ABC…) or a hash (64 hex
// digits) is not taken for a key. The shapes are kept tight on purpose:
// a 32-digit hex project id, a UUID, a hex hash (one case only) or a word
// of letters alone do not match.
const (
	akLen = 20
	skLen = 40
)

// keyShape is what a token found by findKey looks like.
type keyShape int

const (
	noKey keyShape = iota
	accessKey
	secretKey
)

// findKey returns the first word of s shaped like an access key or a
// secret key, as byte offsets, and which it looks like.
func findKey(s string) (start, end int, shape keyShape) {
	for i := 0; i < len(s); {
		if !wordByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && wordByte(s[j]) {
			j++
		}
		if k := shapeOf(s[i:j]); k != noKey {
			return i, j, k
		}
		i = j
	}
	return 0, 0, noKey
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// shapeOf tells whether the word w is shaped like a key: of a key's
// length, only letters and digits, and with digits and letters mixed as a
// random key has them.
func shapeOf(w string) keyShape {
	if len(w) != akLen && len(w) != skLen {
		return noKey
	}
	var digit, upper, lower bool
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		default:
			return noKey
		}
	}
	switch {
	case len(w) == akLen && digit && upper && !lower:
		return accessKey
	case len(w) == skLen && digit && upper && lower:
		return secretKey
	}
	return noKey
}

// keysInSpec reports every scalar of the document under n, keys included,
// that holds a word shaped like an access key or a secret key: a spec is
// compiled into a plan that is stored, with its parameters, description
// and inputs, in workflow history in clear text, so a key may not be
// written anywhere in it. Aliases are not followed: what they refer to is
// checked where it is written.
func (l *loader) keysInSpec(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		start, end, shape := findKey(n.Value)
		if shape == noKey {
			return
		}
		r := l.rng(n)
		if m := (&Pipeline{Source: l.src, Filename: l.file, lines: l.lines}).ValueMap(n); m.Exact() {
			r.Start, r.End = m.Pos(start), m.Pos(end)
		}
		what := "an access key (20 upper-case letters and digits)"
		if shape == secretKey {
			what = "a secret key (40 letters and digits)"
		}
		l.errorf(r, "Literal credential",
			"This text holds a word shaped like %s. Keys must not be written in a spec: they would be stored in the plan and in workflow history in clear text. Give the key to the worker and refer to it as ${secret.NAME} in the `with` of the step that uses it.", what)
	case yaml.DocumentNode, yaml.MappingNode, yaml.SequenceNode:
		for _, c := range n.Content {
			l.keysInSpec(c)
		}
	}
}
