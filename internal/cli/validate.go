package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/pipectl/pipectl/internal/deploy"
	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/workflows"
)

// compileFlags are the flags of every command that compiles a spec.
type compileFlags struct {
	params []string // k=v
}

func (f *compileFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&f.params, "param", "p", nil, "override a parameter: `NAME=VALUE` (repeatable; lists and maps as JSON)")
}

func (f *compileFlags) options() (planner.Options, error) {
	opts := planner.Options{Params: map[string]string{}, LookupEnv: os.LookupEnv}
	for _, kv := range f.params {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return opts, fmt.Errorf("--param %q: write NAME=VALUE", kv)
		}
		if _, dup := opts.Params[k]; dup {
			return opts, fmt.Errorf("--param %s is given twice", k)
		}
		opts.Params[k] = v
	}
	return opts, nil
}

func newValidateCmd(stdio IO) *cobra.Command {
	cf := &compileFlags{}
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check specs without running anything",
		Long: `Loads and compiles each spec, reporting every problem as file:line:column, the
YAML path, and what to do. Nothing is contacted, so it suits CI: the exit
status is 0 when every spec is valid, 1 otherwise. Parameters without a
default need no --param here: their templates are checked by the declared
type (apply and run need every value).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := cf.options()
			if err != nil {
				return err
			}
			// Checking needs no values: a parameter without one is
			// checked by its type (a sub-pipeline's, on its own).
			opts.AllowUnsetParams = true
			bad := 0
			for _, f := range args {
				plan, err := compileFile(stdio, f, opts)
				if err != nil {
					bad++
					continue
				}
				fmt.Fprintf(stdio.Out, "%s: pipeline %q is valid (%s)\n", f, plan.Pipeline, countSteps(len(plan.Steps)))
			}
			if bad > 0 {
				return &SilentError{Code: ExitError}
			}
			return nil
		},
	}
	cf.add(cmd)
	return cmd
}

func newPlanCmd(stdio IO, dial dialFunc) *cobra.Command {
	cf := &compileFlags{}
	var offline, detailed, prune bool
	cmd := &cobra.Command{
		Use:   "plan FILE...",
		Short: "Show what specs would run and what applying them would change",
		Long: `Compiles each spec and shows the steps grouped in waves of what can run in
parallel, each with its kind, dependencies, condition, retries and timeout;
the parameters (one without a default or --param is shown as required at
apply); and the schedule with its next five fire times in its time zone.

Then it compares each plan with what is deployed on Temporal and lists the
changes "pipectl apply" would make: + added, ~ changed, - removed. With
--prune it also lists, with -, the deployed pipelines "pipectl apply --prune"
would delete given the same files: schedules pipectl created for pipelines
none of the files declares. With --detailed-exitcode the exit status is 0
for no changes, 2 for changes (a pipeline to prune is one) and 1 for an
error, so scripts can tell them apart. Secrets are never shown.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if offline && prune {
				return fmt.Errorf("--prune compares with what is deployed; it cannot be used with --offline")
			}
			opts, err := cf.options()
			if err != nil {
				return err
			}
			opts.AllowUnsetParams = true // shown as required at apply
			// Compile every spec before contacting anything: one run
			// reports every invalid one.
			plans := make([]*planner.Plan, 0, len(args))
			bad := false
			for _, f := range args {
				plan, err := compileFile(stdio, f, opts)
				if err != nil {
					bad = true
					continue
				}
				plans = append(plans, plan)
			}
			if bad {
				return &SilentError{Code: ExitError}
			}
			// Dial once, after the first plan is printed: what a spec
			// compiles to is worth seeing even when Temporal is down.
			var c client.Client
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			connect := func() (client.Client, error) {
				var err error
				if c == nil {
					c, err = dial(cmd.Context())
				}
				return c, err
			}
			changed := false
			for i, plan := range plans {
				if i > 0 {
					fmt.Fprintln(stdio.Out)
				}
				if err := printPlan(stdio, plan, time.Now()); err != nil {
					return err
				}
				if offline {
					continue
				}
				c, err := connect()
				if err != nil {
					// The plan above stands; only the comparison needs Temporal.
					return fmt.Errorf("%w\n(the plan above is complete; to skip comparing it with what is deployed, use plan --offline)", err)
				}
				changes, err := planChanges(cmd.Context(), c, plan)
				if err != nil {
					return err
				}
				fmt.Fprintln(stdio.Out, "\nchanges against what is deployed")
				if len(changes) == 0 {
					fmt.Fprintln(stdio.Out, "  none: the deployed plan is identical")
				}
				for _, c := range changes {
					fmt.Fprintf(stdio.Out, "  %s\n", c)
				}
				changed = changed || len(changes) > 0
			}
			if prune {
				keep := make([]string, 0, len(plans))
				for _, p := range plans {
					keep = append(keep, p.Pipeline)
				}
				c, err := connect()
				if err != nil {
					return err
				}
				changes, err := pruneChanges(cmd.Context(), c, keep)
				if err != nil {
					return err
				}
				fmt.Fprintln(stdio.Out, "\npipelines apply --prune would delete (deployed by pipectl, declared by none of the files)")
				if len(changes) == 0 {
					fmt.Fprintln(stdio.Out, "  none")
				}
				for _, c := range changes {
					fmt.Fprintf(stdio.Out, "  %s\n", c)
				}
				changed = changed || len(changes) > 0
			}
			if changed && detailed {
				return &SilentError{Code: ExitChanges}
			}
			return nil
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVar(&offline, "offline", false, "do not compare with what is deployed (no Temporal needed)")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when applying would change something, 0 when not")
	cmd.Flags().BoolVar(&prune, "prune", false, "also list the deployed pipelines apply --prune would delete")
	return cmd
}

// pruneChanges lists, as removals, the schedules `apply --prune` would
// delete given specs declaring the pipelines in keep.
func pruneChanges(ctx context.Context, c client.Client, keep []string) ([]deploy.Change, error) {
	prune, err := deploy.ToPrune(ctx, c, keep)
	if err != nil {
		return nil, err
	}
	changes := make([]deploy.Change, 0, len(prune))
	for _, e := range prune {
		changes = append(changes, deploy.PruneChange(e))
	}
	return changes, nil
}

// planChanges lists what applying plan would change on Temporal.
func planChanges(ctx context.Context, c client.Client, plan *planner.Plan) ([]deploy.Change, error) {
	cur, err := deploy.Get(ctx, c, plan.Pipeline)
	if err != nil {
		return nil, err
	}
	var changes []deploy.Change
	switch {
	case plan.Schedule == nil && cur != nil && cur.Owned:
		changes = append(changes, deploy.Change{Op: "-", What: "schedule " + deploy.ScheduleID(plan.Pipeline), From: "the spec no longer has a schedule"})
		fallthrough
	case plan.Schedule == nil:
		changes = append(changes, deploy.Change{Op: "+", What: "run of " + plan.Pipeline, To: "the spec has no schedule: apply starts one run"})
	case cur == nil:
		changes = deploy.Diff(nil, plan)
	default:
		changes = deploy.Diff(cur.Plan, plan)
	}
	return changes, nil
}

// Temporal's hard limit on one workflow's history.
const historyEventLimit = 51200

// historyEstimate is what a run of a plan costs Temporal's histories at
// most, every job re-run as often as its retry policy allows: events in
// all; peak, the most one history holds, and peakStep, the step that
// makes it (none when the run's own history, bounded by continuing as
// new, is the biggest); runs, the workflow runs the run continues as new
// into, and children, the child workflows of large for_each steps; and
// unsized, the for_each steps whose element count only the run knows,
// counted as one element.
type historyEstimate struct {
	events, peak, runs, children int
	peakStep                     string
	unsized                      []string
}

// estimateHistory follows the run: a for_each of more than
// workflows.InlineItems elements runs them in child workflows of
// workflows.ItemsPerChild, and a run continues as new once its history
// passes workflows.HistoryEvents, except within a step.
func estimateHistory(plan *planner.Plan) historyEstimate {
	var h historyEstimate
	own := 10 // the run's start, end and workflow tasks
	for _, s := range plan.Steps {
		n := 1
		if fe := s.ForEach; fe != nil {
			if size, ok := fe.PlannedItems(); ok {
				n = size
			} else {
				h.unsized = append(h.unsized, s.ID)
			}
		}
		jobs := n * s.Retry.MaxAttempts * workflows.EventsPerJob
		step := jobs // what the step adds to the run's own history
		switch {
		case s.Kind == "wait":
			step = workflows.EventsPerTimer
		case s.Kind == "pipeline":
			step = n*workflows.EventsPerChild + workflows.EventsPerTimer
		case n > workflows.InlineItems:
			batches := (n + workflows.ItemsPerChild - 1) / workflows.ItemsPerChild
			step = batches*workflows.EventsPerChild + workflows.EventsPerTimer
			h.children += batches
			h.events += jobs
			if c := min(n, workflows.ItemsPerChild) * s.Retry.MaxAttempts * workflows.EventsPerJob; c > h.peak {
				h.peak, h.peakStep = c, s.ID
			}
		}
		own += step
		if step > h.peak {
			h.peak, h.peakStep = step, s.ID
		}
	}
	h.events += own
	h.runs = (own + workflows.HistoryEvents - 1) / workflows.HistoryEvents
	if p := min(own, workflows.HistoryEvents); p >= h.peak {
		h.peak, h.peakStep = p, ""
	}
	return h
}

func printPlan(stdio IO, plan *planner.Plan, now time.Time) error {
	w := stdio.Out
	fmt.Fprintf(w, "pipeline %s  (spec %s", plan.Pipeline, plan.SpecHash[:12])
	if plan.Source != "" {
		fmt.Fprintf(w, ", %s", plan.Source)
	}
	fmt.Fprintln(w, ")")
	if plan.Description != "" {
		fmt.Fprintf(w, "  %s\n", plan.Description)
	}
	if len(plan.Params) > 0 || len(plan.Unset) > 0 {
		keys := make([]string, 0, len(plan.Params)+len(plan.Unset))
		for k := range plan.Params {
			keys = append(keys, k)
		}
		keys = append(keys, plan.Unset...)
		sort.Strings(keys)
		fmt.Fprintln(w, "\nparams")
		for _, k := range keys {
			if v, ok := plan.Params[k]; ok {
				fmt.Fprintf(w, "  %s = %s\n", k, compactJSON(v))
			} else {
				fmt.Fprintf(w, "  %s   (no value: required at apply, --param %s=VALUE)\n", k, k)
			}
		}
	}
	if len(plan.Env) > 0 || len(plan.UnsetEnv) > 0 {
		keys := make([]string, 0, len(plan.Env)+len(plan.UnsetEnv))
		for k := range plan.Env {
			keys = append(keys, k)
		}
		keys = append(keys, plan.UnsetEnv...)
		sort.Strings(keys)
		fmt.Fprintln(w, "\nenv")
		for _, k := range keys {
			if v, ok := plan.Env[k]; ok {
				fmt.Fprintf(w, "  %s = %s\n", k, compactJSON(v))
			} else {
				fmt.Fprintf(w, "  %s   (not set: required at apply, in the environment of pipectl)\n", k)
			}
		}
	}
	if sc := plan.Schedule; sc != nil {
		zone := sc.Timezone
		if zone == "" {
			zone = "UTC"
		}
		fmt.Fprintf(w, "\nschedule  cron %q in %s, overlap %s", sc.Cron, zone, sc.Overlap)
		if sc.CatchupWindow > 0 {
			fmt.Fprintf(w, ", catch-up window %s", sc.CatchupWindow)
		}
		if sc.Paused {
			fmt.Fprint(w, ", paused")
		}
		fmt.Fprintln(w)
		if field, days := sc.DataArtsDays(); field != "" {
			fmt.Fprintf(w, "  days  %s counts days of the week from 1 = Sunday, as DataArts does: %s\n", field, days)
		}
		next, err := sc.NextFireTimes(now, 5)
		if err != nil {
			return err
		}
		if len(next) == 0 {
			switch {
			case sc.End != nil && !now.Before(*sc.End):
				fmt.Fprintf(w, "  never fires again: its end (%s) is past\n", sc.End.Format(time.RFC3339))
			case sc.End != nil:
				fmt.Fprintf(w, "  never fires again: no time matches its cron before its end (%s)\n", sc.End.Format(time.RFC3339))
			default:
				fmt.Fprintln(w, "  never fires again")
			}
		}
		for _, t := range next {
			fmt.Fprintf(w, "  next  %s\n", t.Format("Mon 2006-01-02 15:04:05 MST"))
		}
	}
	var ordinary []string
	for _, s := range plan.Steps {
		if s.RunOn == spec.RunOnSuccess {
			ordinary = append(ordinary, s.ID)
		}
	}
	for i, wave := range plan.Waves() {
		fmt.Fprintf(w, "\nwave %d\n", i+1)
		for _, id := range wave {
			s, _ := plan.Step(id)
			fmt.Fprintf(w, "  %-24s %-18s %s\n", s.ID, s.Kind, stepSummary(s, ordinary))
		}
	}
	h := estimateHistory(plan)
	fmt.Fprintf(w, "\nhistory  about %d events per run at most (Temporal's limit: %d per workflow history)\n", h.events, historyEventLimit)
	if h.runs > 1 || h.children > 0 {
		fmt.Fprintf(w, "  in %d workflow run(s), continuing as new past %d events, and %d child workflow(s) running for_each elements, up to %d each; the largest history holds about %d\n",
			h.runs, workflows.HistoryEvents, h.children, workflows.ItemsPerChild, h.peak)
	}
	for _, id := range h.unsized {
		fmt.Fprintf(w, "  %s: for_each size known only at run time (it reads step outputs or the run): counted as 1 element\n", id)
	}
	// The plan is every run's input: past Temporal's payload limit no run
	// can start, and near it a run cannot continue as new.
	if size, err := workflows.PlanSize(plan); err == nil {
		fmt.Fprintf(w, "  plan  %s, the input of every run (at most %d KiB)\n", byteSize(size), workflows.MaxPlanBytes>>10)
		if size > workflows.MaxPlanBytes*3/4 {
			verdict := "near"
			if size > workflows.MaxPlanBytes {
				verdict = "over; apply will refuse it"
			}
			fmt.Fprintf(stdio.ErrOut, "warning: the plan of %s is %d KiB, %s the %d KiB a run's input may hold: split it into sub-pipelines (kind: pipeline), or move long lists into for_each over a parameter\n",
				plan.Pipeline, size>>10, verdict, workflows.MaxPlanBytes>>10)
		}
	}
	if h.peak > historyEventLimit/2 && h.peakStep != "" {
		fmt.Fprintf(stdio.ErrOut, "warning: step %s of %s may need %d history events in one workflow, near Temporal's limit of %d: lower its retry.max_attempts or give it fewer for_each elements\n",
			h.peakStep, plan.Pipeline, h.peak, historyEventLimit)
	}
	return nil
}

// stepSummary describes a step in a line. ordinary are the plan's run_on:
// success steps: a handler that waits for all of them (a pipeline-wide
// one) says so rather than listing them.
func stepSummary(s planner.Step, ordinary []string) string {
	var parts []string
	if sub := s.Pipeline; sub != nil && sub.Plan != nil {
		parts = append(parts, fmt.Sprintf("runs pipeline %s (%s, %s)", sub.Plan.Pipeline, countSteps(len(sub.Plan.Steps)), sub.Plan.Source))
	}
	deps := s.DependsOn
	if s.RunOn != spec.RunOnSuccess && len(ordinary) > 1 && len(deps) >= len(ordinary) {
		var rest []string
		for _, d := range deps {
			if !slices.Contains(ordinary, d) {
				rest = append(rest, d)
			}
		}
		if len(deps)-len(rest) == len(ordinary) {
			parts = append(parts, strings.Join(append([]string{"after every ordinary step"}, rest...), ", "))
			deps = nil
		}
	}
	if len(deps) > 0 {
		parts = append(parts, "after "+strings.Join(deps, ", "))
	}
	if s.RunOn != "" && s.RunOn != spec.RunOnSuccess {
		parts = append(parts, "runs on "+s.RunOn)
	}
	if s.If != nil {
		parts = append(parts, "if "+s.If.Src)
	}
	if fe := s.ForEach; fe != nil {
		over := fmt.Sprintf("%d items", len(fe.Items))
		if fe.Expr != nil {
			over = fe.Expr.Src
			if n, ok := fe.PlannedItems(); ok {
				over += fmt.Sprintf(" (%d items)", n)
			} else {
				over += " (items known at run time)"
			}
		}
		if fe.MaxParallel > 0 {
			over += fmt.Sprintf(", %d at a time", fe.MaxParallel)
		}
		parts = append(parts, "for each of "+over)
	}
	if s.Kind != "wait" {
		parts = append(parts, fmt.Sprintf("timeout %s", s.Timeout))
		if planner.KindPolls(s.Kind) {
			parts = append(parts, fmt.Sprintf("poll %s..%s", s.Poll.Interval, s.Poll.MaxInterval))
		}
		if s.Retry.MaxAttempts > 1 {
			parts = append(parts, retrySummary(s.Retry))
		}
	}
	if s.OnFailure != "" && s.OnFailure != spec.OnFailureFail {
		parts = append(parts, "on failure "+s.OnFailure)
	}
	return strings.Join(parts, "; ")
}

// retrySummary says how often a step runs and how far apart: "runs up to
// 3 times, 5s apart ×2 up to 1m0s, not on DLI.0005".
func retrySummary(r planner.Retry) string {
	s := fmt.Sprintf("runs up to %d times, %s apart", r.MaxAttempts, r.InitialInterval)
	if r.Backoff != 1 && r.MaxInterval > r.InitialInterval {
		s += fmt.Sprintf(" ×%s up to %s", strconv.FormatFloat(r.Backoff, 'g', -1, 64), r.MaxInterval)
	}
	if len(r.NonRetryable) > 0 {
		s += ", not on " + strings.Join(r.NonRetryable, ", ")
	}
	return s
}

// compactJSON writes a value as JSON on one line, strings quoted, so that
// spaces, empty strings and nesting show.
func compactJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// byteSize writes a size in bytes, or in KiB from 1 KiB.
func byteSize(n int) string {
	if n < 1<<10 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// countSteps writes "1 step", "2 steps".
func countSteps(n int) string {
	if n == 1 {
		return "1 step"
	}
	return fmt.Sprintf("%d steps", n)
}

// compileFile loads and compiles a spec, printing any diagnostics. The
// planner runs even when loading found problems, on what was valid, so one
// run reports every mistake.
func compileFile(stdio IO, path string, opts planner.Options) (*planner.Plan, error) {
	p, diags := spec.LoadFile(path)
	// The specs of sub-pipelines are loaded by the planner; their
	// problems are shown in their own source.
	specs := map[string]*spec.Pipeline{path: p}
	opts.LoadSpec = func(path string) (*spec.Pipeline, hcl.Diagnostics) {
		sp, d := spec.LoadFile(path)
		if _, ok := specs[path]; !ok {
			specs[path] = sp
		}
		return sp, d
	}
	var plan *planner.Plan
	if p != nil && p.Source != nil {
		var more hcl.Diagnostics
		plan, more = planner.CompileWith(p, opts)
		diags = append(diags, more...)
	}
	writeDiagnostics(stdio.ErrOut, path, specs, diags)
	if diags.HasErrors() {
		return nil, &SilentError{Code: ExitError}
	}
	return plan, nil
}

// writeDiagnostics prints each diagnostic as "file:line:col: severity:
// yaml.path: summary", the source line with the problem underlined, and
// the detail: those in the spec named first, then those in the specs of
// its sub-pipelines, by file, each shown from the spec its file holds.
func writeDiagnostics(w io.Writer, first string, specs map[string]*spec.Pipeline, diags hcl.Diagnostics) {
	sorted := append(hcl.Diagnostics(nil), diags...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i].Subject, sorted[j].Subject
		if a == nil || b == nil {
			return a == nil && b != nil
		}
		if a.Filename != b.Filename {
			if a.Filename == first || b.Filename == first {
				return a.Filename == first
			}
			return a.Filename < b.Filename
		}
		if a.Start.Line != b.Start.Line {
			return a.Start.Line < b.Start.Line
		}
		return a.Start.Column < b.Start.Column
	})
	errs := 0
	lines := map[string][][]byte{}
	for _, d := range sorted {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		} else {
			errs++
		}
		if d.Subject == nil {
			fmt.Fprintf(w, "%s: %s\n", sev, d.Summary)
		} else {
			p := specs[d.Subject.Filename]
			src, ok := lines[d.Subject.Filename]
			if !ok && p != nil {
				// Split once per file: a spec may have thousands of
				// problems.
				src = spec.Lines(p.Source)
				lines[d.Subject.Filename] = src
			}
			path := ""
			if p != nil {
				if yp := p.DiagPath(d); yp != "" {
					path = yp + ": "
				}
			}
			fmt.Fprintf(w, "%s:%d:%d: %s: %s%s\n", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, sev, path, d.Summary)
			writeSnippet(w, src, d.Subject)
		}
		if d.Detail != "" {
			fmt.Fprintf(w, "  %s\n", d.Detail)
		}
		fmt.Fprintln(w)
	}
	if errs > 0 {
		fmt.Fprintf(w, "%d problem(s) found\n", errs)
	}
}

// snippetWidth bounds the source line shown under a diagnostic, in
// characters: a spec written on one long line (JSON is YAML) must not be
// printed whole for each of its mistakes.
const snippetWidth = 160

// writeSnippet prints the line r starts on, of the source's lines, or
// the snippetWidth characters of it around r, with r underlined.
// Characters a terminal would act on are shown as U+FFFD.
func writeSnippet(w io.Writer, lines [][]byte, r *hcl.Range) {
	if r.Start.Line < 1 || r.Start.Line > len(lines) {
		return
	}
	runes := []rune(strings.TrimSuffix(string(lines[r.Start.Line-1]), "\r"))
	start := min(max(r.Start.Column-1, 0), len(runes))
	from, to := 0, len(runes)
	if len(runes) > snippetWidth {
		from = max(0, min(start-snippetWidth/2, len(runes)-snippetWidth))
		to = from + snippetWidth
	}
	shown := make([]rune, 0, to-from+2)
	indent := make([]rune, 0, start-from+1)
	if from > 0 {
		shown = append(shown, '…')
		indent = append(indent, ' ')
	}
	for i, c := range runes[from:to] {
		if c != '\t' && (c < 0x20 || c >= 0x7f && c < 0xa0) {
			c = '\uFFFD'
		}
		shown = append(shown, c)
		if from+i < start {
			if c == '\t' {
				indent = append(indent, '\t')
			} else {
				indent = append(indent, ' ')
			}
		}
	}
	if to < len(runes) {
		shown = append(shown, '…')
	}
	width := 1
	if r.End.Line == r.Start.Line && r.End.Column > r.Start.Column {
		width = min(r.End.Column-r.Start.Column, max(to-start, 1))
	}
	num := fmt.Sprint(r.Start.Line)
	pad := strings.Repeat(" ", len(num))
	fmt.Fprintf(w, "  %s | %s\n", num, string(shown))
	fmt.Fprintf(w, "  %s | %s%s\n", pad, string(indent), strings.Repeat("^", width))
}
