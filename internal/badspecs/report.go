package badspecs

import (
	"fmt"
	"regexp"
	"strings"
)

// Diagnostic is one problem as pipectl prints it: a header line
// "FILE:LINE:COL: SEVERITY: [PATH: ]SUMMARY", then the source line, the
// underline and the detail, up to a blank line.
type Diagnostic struct {
	File         string
	Line, Column int
	Severity     string
	Text         string // the header and what follows it
}

var headerRE = regexp.MustCompile(`^(.+):(\d+):(\d+): (error|warning): `)

// Parse splits pipectl's error output into diagnostics. Lines outside
// any diagnostic are returned as stray: an "error: ..." line there is a
// problem reported without a position.
func Parse(out string) (diags []Diagnostic, stray []string) {
	var cur *Diagnostic
	for _, line := range strings.Split(out, "\n") {
		if m := headerRE.FindStringSubmatch(line); m != nil {
			diags = append(diags, Diagnostic{File: m[1], Severity: m[4], Text: line})
			cur = &diags[len(diags)-1]
			fmt.Sscan(m[2], &cur.Line)
			fmt.Sscan(m[3], &cur.Column)
			continue
		}
		if line == "" {
			cur = nil
			continue
		}
		if cur != nil {
			cur.Text += "\n" + line
			continue
		}
		stray = append(stray, line)
	}
	return diags, stray
}

// Check returns what is wrong with pipectl's error output for c, or "":
// it must hold an error at c's line and column, in c's file, mentioning
// c.Text; c.Errors errors in c's file if set; and no error without a
// position. The output may be of several files.
func (c Case) Check(stderr string) string {
	diags, stray := Parse(stderr)
	var problems []string
	for _, s := range stray {
		if strings.HasPrefix(s, "error:") {
			problems = append(problems, "an error without a position: "+s)
		}
	}
	found, errs := false, 0
	for _, d := range diags {
		if d.Severity != "error" || d.File != c.Path {
			continue
		}
		errs++
		if d.Line == c.Line && d.Column == c.Column && strings.Contains(d.Text, c.Text) {
			found = true
		}
	}
	if !found {
		problems = append(problems, fmt.Sprintf("no error at %s:%d:%d mentioning %q", c.Path, c.Line, c.Column, c.Text))
	}
	if c.Errors > 0 && errs != c.Errors {
		problems = append(problems, fmt.Sprintf("%d errors reported, want %d", errs, c.Errors))
	}
	return strings.Join(problems, "; ")
}
