package spec

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"gopkg.in/yaml.v3"
)

// pathAt records that the YAML node starting at line:col has a path such
// as steps[2].with.sql.
type pathAt struct {
	line, col int
	path      string
}

// indexPaths records the path of every node under n, parents before
// children so that a mapping and its first key (which share a position)
// resolve to the key.
func indexPaths(n *yaml.Node, path string, out *[]pathAt) {
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			indexPaths(c, path, out)
		}
		return
	}
	// The root too, with the empty path, for MappingPathAt.
	*out = append(*out, pathAt{n.Line, n.Column, path})
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := pathKey(path, k.Value)
			*out = append(*out, pathAt{k.Line, k.Column, p})
			indexPaths(v, p, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			indexPaths(c, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

// plainKey matches the keys a path writes as .key; others, such as
// Spark's "spark.sql.shuffle.partitions" or "", are written ["key"] so that
// the path reads unambiguously.
var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// pathKey is the path of key under the mapping at path.
func pathKey(path, key string) string {
	switch {
	case !plainKey.MatchString(key):
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

// PathAt returns the YAML path of the value written at pos (e.g.
// "steps[1].with.sql"), or of the nearest value before it on the same
// line, or "" when there is none. Positions inside a string, such as a
// template's, resolve to the string's path.
func (p *Pipeline) PathAt(pos hcl.Pos) string {
	i := sort.Search(len(p.paths), func(i int) bool {
		e := p.paths[i]
		return e.line > pos.Line || (e.line == pos.Line && e.col > pos.Column)
	})
	for i--; i >= 0; i-- {
		e := p.paths[i]
		if e.line == pos.Line && e.col <= pos.Column {
			return e.path
		}
		if e.line < pos.Line {
			// A multi-line string (block scalar) starts on an earlier line.
			return e.path
		}
	}
	return ""
}

// MappingPathAt returns the path of the mapping or sequence that starts
// at pos, rather than of its first key, which starts there too: where a
// diagnostic is about the whole mapping (a field missing from it). The
// pipeline's own mapping has the empty path.
func (p *Pipeline) MappingPathAt(pos hcl.Pos) string {
	i := sort.Search(len(p.paths), func(i int) bool {
		e := p.paths[i]
		return e.line > pos.Line || (e.line == pos.Line && e.col >= pos.Column)
	})
	if i < len(p.paths) && p.paths[i].line == pos.Line && p.paths[i].col == pos.Column {
		return p.paths[i].path // the outermost: parents come first
	}
	return p.PathAt(pos)
}

// OnMapping marks a diagnostic (hcl.Diagnostic.Extra) whose subject is a
// whole mapping, so that its path is the mapping's (MappingPathAt).
type OnMapping struct{}

// AtPath gives a diagnostic (hcl.Diagnostic.Extra) its YAML path, for one
// about something missing from a mapping the spec may not have at all:
// a step without `with` lacks an input at steps[N].with, and the problem
// is shown at the step.
type AtPath struct{ Path string }

// DiagPath returns the YAML path of what d, a diagnostic about p, is
// about, or "".
func (p *Pipeline) DiagPath(d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return ""
	}
	switch x := d.Extra.(type) {
	case AtPath:
		return x.Path
	case OnMapping:
		return p.MappingPathAt(d.Subject.Start)
	}
	return p.PathAt(d.Subject.Start)
}

func sortPaths(paths []pathAt) {
	// Stable: at equal positions the later (deeper) entry wins, because
	// PathAt takes the last entry not after pos.
	sort.SliceStable(paths, func(i, j int) bool {
		if paths[i].line != paths[j].line {
			return paths[i].line < paths[j].line
		}
		return paths[i].col < paths[j].col
	})
}
