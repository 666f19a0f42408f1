package planner

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// sortDiagnostics orders diagnostics for stable output: those without a
// position (about the command line) first, then by file and position.
func sortDiagnostics(d hcl.Diagnostics) {
	sort.SliceStable(d, func(i, j int) bool {
		a, b := d[i].Subject, d[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		case a.Start.Line != b.Start.Line:
			return a.Start.Line < b.Start.Line
		}
		return a.Start.Column < b.Start.Column
	})
}
