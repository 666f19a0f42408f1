package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/pipectl/pipectl/internal/deploy"
	"github.com/pipectl/pipectl/spec"
)

// scheduleRow is one deployed pipeline; its JSON form is stable output.
type scheduleRow struct {
	Pipeline string    `json:"pipeline"`
	Schedule string    `json:"schedule_id"`
	Cron     string    `json:"cron"`
	Paused   bool      `json:"paused"`
	Note     string    `json:"note,omitempty"`
	NextRun  time.Time `json:"next_run,omitzero"`
	SpecHash string    `json:"spec_hash"`
	Source   string    `json:"source,omitempty"`
}

func listSchedules(ctx context.Context, c client.Client) ([]scheduleRow, error) {
	entries, err := deploy.List(ctx, c)
	if err != nil {
		return nil, err
	}
	rows := make([]scheduleRow, 0, len(entries))
	for _, e := range entries {
		r := scheduleRow{Schedule: e.ScheduleID, Paused: e.Paused, Note: e.Note, NextRun: e.NextRun, Source: e.Source}
		if d := e.Deployed; d != nil && d.Plan != nil {
			r.Pipeline, r.SpecHash = d.Plan.Pipeline, d.Plan.SpecHash
			if d.Plan.Schedule != nil {
				r.Cron = d.Plan.Schedule.Cron
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func newScheduleCmd(stdio IO, dial dialFunc) *cobra.Command {
	cmd := &cobra.Command{Use: "schedule", Short: "Manage the Temporal Schedules of deployed pipelines"}
	var output string
	list := &cobra.Command{
		Use: "list", Short: "List deployed pipelines and their schedules", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(cmd.Context(), dial, func(c client.Client) error {
				rows, err := listSchedules(cmd.Context(), c)
				if err != nil {
					return err
				}
				return printRows(stdio, output, rows, func(tw io.Writer) {
					fmt.Fprintln(tw, "PIPELINE\tCRON\tPAUSED\tNEXT RUN\tNOTE")
					for _, r := range rows {
						next := "-"
						if !r.NextRun.IsZero() {
							next = r.NextRun.Local().Format("2006-01-02 15:04:05")
						}
						fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", r.Pipeline, r.Cron, r.Paused, next, r.Note)
					}
				})
			})
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "table, json or yaml")

	describe := &cobra.Command{
		Use: "describe NAME", Short: "A schedule: cron and zone, next fire times, recent runs, pause state", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(cmd.Context(), dial, func(c client.Client) error {
				d, err := deployed(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				w := stdio.Out
				desc := d.Description
				fmt.Fprintf(w, "schedule %s  (pipeline %s, spec %s)\n", deploy.ScheduleID(args[0]), args[0], short(d.Plan.SpecHash))
				sc := d.Plan.Schedule
				zone := sc.Timezone
				if zone == "" {
					zone = "UTC"
				}
				fmt.Fprintf(w, "  cron %q in %s, overlap %s", sc.Cron, zone, deploy.OverlapName(desc.Schedule.Policy.Overlap))
				if desc.Schedule.Policy.CatchupWindow > 0 {
					fmt.Fprintf(w, ", catch-up window %s", desc.Schedule.Policy.CatchupWindow)
				}
				fmt.Fprintln(w)
				if desc.Schedule.State.Paused {
					fmt.Fprintf(w, "  PAUSED: %s\n", desc.Schedule.State.Note)
				}
				loc := time.UTC
				if sc.Timezone != "" {
					if l, err := time.LoadLocation(sc.Timezone); err == nil {
						loc = l
					}
				}
				for _, t := range desc.Info.NextActionTimes {
					fmt.Fprintf(w, "  next    %s\n", t.In(loc).Format("Mon 2006-01-02 15:04:05 MST"))
				}
				for _, a := range desc.Info.RecentActions {
					id := ""
					if a.StartWorkflowResult != nil {
						id = a.StartWorkflowResult.WorkflowID
					}
					fmt.Fprintf(w, "  ran     %s  %s\n", a.ScheduleTime.In(loc).Format("2006-01-02 15:04:05 MST"), id)
				}
				fmt.Fprintf(w, "  %d runs so far, %d skipped by the overlap policy, %d missed the catch-up window\n",
					desc.Info.NumActions, desc.Info.NumActionsSkippedOverlap, desc.Info.NumActionsMissedCatchupWindow)
				return nil
			})
		},
	}

	var note string
	pause := &cobra.Command{
		Use: "pause NAME", Short: "Pause a schedule (runs in flight go on)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return scheduleAction(cmd.Context(), stdio, dial, args[0], "paused", func(h client.ScheduleHandle) error {
				return h.Pause(cmd.Context(), client.SchedulePauseOptions{Note: orDefault(note, "paused with pipectl")})
			})
		},
	}
	pause.Flags().StringVar(&note, "note", "", "why (shown by describe)")
	resume := &cobra.Command{
		Use: "resume NAME", Short: "Resume a paused schedule", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return scheduleAction(cmd.Context(), stdio, dial, args[0], "resumed", func(h client.ScheduleHandle) error {
				return h.Unpause(cmd.Context(), client.ScheduleUnpauseOptions{Note: orDefault(note, "resumed with pipectl")})
			})
		},
	}
	resume.Flags().StringVar(&note, "note", "", "why")
	trigger := &cobra.Command{
		Use: "trigger NAME", Short: "Start the schedule's action now, under its overlap policy", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return scheduleAction(cmd.Context(), stdio, dial, args[0], "triggered", func(h client.ScheduleHandle) error {
				return h.Trigger(cmd.Context(), client.ScheduleTriggerOptions{})
			})
		},
	}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a pipeline's schedule (runs in flight go on)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return scheduleAction(cmd.Context(), stdio, dial, args[0], "deleted", func(h client.ScheduleHandle) error {
				return h.Delete(cmd.Context())
			})
		},
	}
	cmd.AddCommand(list, describe, pause, resume, trigger, del)
	return cmd
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// deployed returns a pipectl-owned deployed pipeline or a clear error.
func deployed(ctx context.Context, c client.Client, name string) (*deploy.Deployed, error) {
	d, err := deploy.Get(ctx, c, name)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, fmt.Errorf("no deployed pipeline %s (schedule %s not found; `pipectl apply` a spec with a schedule)", name, deploy.ScheduleID(name))
	}
	if !d.Owned || d.Plan == nil || d.Plan.Schedule == nil {
		return nil, fmt.Errorf("schedule %s was not created by pipectl", deploy.ScheduleID(name))
	}
	return d, nil
}

func scheduleAction(ctx context.Context, stdio IO, dial dialFunc, name, done string, f func(client.ScheduleHandle) error) error {
	return withClient(ctx, dial, func(c client.Client) error {
		if _, err := deployed(ctx, c, name); err != nil {
			return err
		}
		if err := f(c.ScheduleClient().GetHandle(ctx, deploy.ScheduleID(name))); err != nil {
			return fmt.Errorf("schedule %s: %w", deploy.ScheduleID(name), err)
		}
		fmt.Fprintf(stdio.ErrOut, "schedule %s %s\n", deploy.ScheduleID(name), done)
		return nil
	})
}

func newBackfillCmd(stdio IO, dial dialFunc) *cobra.Command {
	var from, to, overlap string
	cmd := &cobra.Command{
		Use:   "backfill NAME --from TIME --to TIME",
		Short: "Run a scheduled pipeline for past periods",
		Long: `Starts one run for every time the schedule would have fired in [from, to),
each with that time as its logical time (run.logical_time), so each run
processes its own period. Times are RFC 3339.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start, err := time.Parse(time.RFC3339, from)
			if err != nil {
				return fmt.Errorf("--from %q: use an RFC 3339 time such as 2026-03-01T00:00:00+08:00", from)
			}
			end, err := time.Parse(time.RFC3339, to)
			if err != nil {
				return fmt.Errorf("--to %q: use an RFC 3339 time such as 2026-03-04T00:00:00+08:00", to)
			}
			if !end.After(start) {
				return fmt.Errorf("--to must be after --from")
			}
			if overlap != "" && !slices.Contains(spec.OverlapPolicies(), overlap) {
				return fmt.Errorf("--overlap %q: use one of %v", overlap, spec.OverlapPolicies())
			}
			return withClient(cmd.Context(), dial, func(c client.Client) error {
				d, err := deployed(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				pol := d.Description.Schedule.Policy.Overlap
				if overlap != "" {
					pol = deploy.Overlap(overlap)
				}
				// A backfill window is inclusive of start and exclusive of
				// end: shift the start back a little so a fire time on it
				// counts.
				err = c.ScheduleClient().GetHandle(cmd.Context(), deploy.ScheduleID(args[0])).Backfill(cmd.Context(), client.ScheduleBackfillOptions{
					Backfill: []client.ScheduleBackfill{{Start: start.Add(-time.Second), End: end.Add(-time.Second), Overlap: pol}},
				})
				if err != nil {
					return fmt.Errorf("backfill %s: %w", args[0], err)
				}
				n := 0
				if times, err := d.Plan.Schedule.NextFireTimes(start.Add(-time.Second), 10000); err == nil {
					for _, t := range times {
						if t.Before(end) {
							n++
						}
					}
				}
				fmt.Fprintf(stdio.ErrOut, "backfill of %s requested: %d runs from %s to %s\n", args[0], n, start.Format(time.RFC3339), end.Format(time.RFC3339))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first period, RFC 3339 (inclusive)")
	cmd.Flags().StringVar(&to, "to", "", "end, RFC 3339 (exclusive)")
	cmd.Flags().StringVar(&overlap, "overlap", "", "overlap policy for the backfilled runs (default: the schedule's)")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// buildVersion and buildCommit are set by the Makefile's -ldflags -X for
// builds where Go records no VCS information (GOFLAGS=-buildvcs=false,
// a source tarball); the build info's own values win when present.
var (
	buildVersion = ""
	buildCommit  = ""
)

func newVersionCmd(stdio IO) *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print pipectl's version and what it was built with", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			version, commit, sdk := cmp.Or(buildVersion, "(devel)"), cmp.Or(buildCommit, "unknown"), "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				if v := bi.Main.Version; v != "" && v != "(devel)" {
					version = v
				}
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						commit = s.Value
					}
				}
				for _, d := range bi.Deps {
					if d.Path == "go.temporal.io/sdk" {
						sdk = d.Version
					}
				}
			}
			fmt.Fprintf(stdio.Out, "pipectl %s\ncommit %s\ngo %s\ntemporal sdk %s\n", version, commit, runtime.Version(), sdk)
			return nil
		},
	}
}
