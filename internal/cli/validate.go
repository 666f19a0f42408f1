package cli

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
)

func newValidateCmd(stdio IO) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a spec without running anything",
		Long: `Loads and compiles a spec, reporting every problem with its file:line:column.
Nothing is contacted, so it suits CI: the exit status is 0 for a valid spec, 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := compileFile(stdio, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdio.Out, "%s: pipeline %q is valid (%d steps)\n", args[0], plan.Pipeline, len(plan.Steps))
			return nil
		},
	}
}

func newPlanCmd(stdio IO) *cobra.Command {
	return &cobra.Command{
		Use:   "plan FILE",
		Short: "Show the steps a spec would run, in order",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := compileFile(stdio, args[0])
			if err != nil {
				return err
			}
			printPlan(stdio.Out, plan)
			return nil
		},
	}
}

func printPlan(w io.Writer, plan *planner.Plan) {
	fmt.Fprintf(w, "pipeline %s (spec %s)\n", plan.Pipeline, plan.SpecHash[:12])
	for i, s := range plan.Steps {
		deps := "-"
		if len(s.DependsOn) > 0 {
			deps = strings.Join(s.DependsOn, ", ")
		}
		fmt.Fprintf(w, "%3d. %-20s %-12s after: %-20s timeout %s, poll %s..%s, %d attempts\n",
			i+1, s.ID, s.Kind, deps, s.Timeout, s.Poll.Interval, s.Poll.MaxInterval, s.Retry.MaxAttempts)
	}
}

// compileFile loads and compiles a spec, printing any diagnostics. The
// planner runs even when loading found problems, on what was valid, so one
// run reports every mistake.
func compileFile(stdio IO, path string) (*planner.Plan, error) {
	p, diags := spec.LoadFile(path)
	var plan *planner.Plan
	if p != nil && p.Source != nil {
		var more hcl.Diagnostics
		plan, more = planner.Compile(p)
		diags = append(diags, more...)
	}
	writeDiagnostics(stdio.ErrOut, p, diags)
	if diags.HasErrors() {
		return nil, &SilentError{Code: 1}
	}
	return plan, nil
}

// writeDiagnostics prints each diagnostic as "file:line:col: severity:
// summary", the source line with the problem underlined, and the detail.
func writeDiagnostics(w io.Writer, p *spec.Pipeline, diags hcl.Diagnostics) {
	sorted := append(hcl.Diagnostics(nil), diags...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i].Subject, sorted[j].Subject
		if a == nil || b == nil {
			return a != nil
		}
		return a.Start.Byte < b.Start.Byte
	})
	var src []byte
	if p != nil {
		src = p.Source
	}
	for _, d := range sorted {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		if d.Subject == nil {
			fmt.Fprintf(w, "%s: %s\n", sev, d.Summary)
		} else {
			fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, sev, d.Summary)
			writeSnippet(w, src, d.Subject)
		}
		if d.Detail != "" {
			fmt.Fprintf(w, "  %s\n", d.Detail)
		}
		fmt.Fprintln(w)
	}
	if n := len(sorted); n > 0 && sorted.HasErrors() {
		fmt.Fprintf(w, "%d problem(s) found\n", n)
	}
}

func writeSnippet(w io.Writer, src []byte, r *hcl.Range) {
	lines := bytes.Split(src, []byte("\n"))
	if r.Start.Line < 1 || r.Start.Line > len(lines) {
		return
	}
	line := string(lines[r.Start.Line-1])
	num := fmt.Sprint(r.Start.Line)
	fmt.Fprintf(w, "  %s | %s\n", num, line)
	width := 1
	if r.End.Line == r.Start.Line && r.End.Column > r.Start.Column {
		width = r.End.Column - r.Start.Column
	}
	pad := strings.Repeat(" ", len(num))
	indent := strings.Map(func(c rune) rune {
		if c == '\t' {
			return '\t'
		}
		return ' '
	}, string([]rune(line)[:min(r.Start.Column-1, len([]rune(line)))]))
	fmt.Fprintf(w, "  %s | %s%s\n", pad, indent, strings.Repeat("^", width))
}
