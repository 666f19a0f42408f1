package cli

import (
	"github.com/spf13/cobra"
)

// exitCodesHelp is `pipectl help exit-codes`. docs/cli.md says the same;
// keep them together.
const exitCodesHelp = `Exit status

  0  success: the command did what it was asked. apply --wait, run --wait,
     watch and dev --run: the run succeeded. plan --detailed-exitcode:
     nothing to change.
  1  an error, or a run that did not succeed: a usage mistake (unknown
     command or flag, missing argument), an invalid spec (validate, plan,
     apply and run print every problem as file:line:column first), Temporal
     unreachable or refusing the request, an unknown run, pipeline or step;
     and for apply --wait, run --wait, watch and dev --run a run that failed,
     was cancelled, terminated or timed out.
  2  plan --detailed-exitcode only: applying the given files would change
     something (a schedule to create, update or delete, a run to start, or
     with --prune a deployed pipeline to prune). Without the flag, plan
     exits 0 whether or not there are changes.

Errors go to stderr: one line starting "Error: ", what failed, then the
detail from the service or Temporal after a colon. Commands that already
explained a failure (an invalid spec, a failed run naming its failing step)
print no "Error: " line, only the explanation, and exit 1.

Scripting

stdout carries only a command's result; progress, live tables and messages
go to stderr. apply (of a spec without a schedule, without --wait) and run
print the id of the run they started on a line of its own. Commands with
-o json (or -o yaml: the same fields) print:

  get runs          a list of runs, newest first:
                    id, run_id, first_run_id, runs, pipeline, status,
                    trigger, spec_hash, started_at, closed_at
                    status: running, succeeded, failed, cancelled,
                    terminated or "timed out" (of the latest workflow run);
                    runs: workflow runs in the chain (1 unless it continued
                    as new); started_at: of the first; closed_at: absent
                    while running.
  get pipelines,    a list of deployed pipelines: pipeline, schedule_id,
  schedule list     cron, paused, note, next_run, spec_hash, source
                    (note, next_run and source absent when empty).
  describe run      the run's status: pipeline, spec_hash, state,
                    logical_time, started_at, ended_at, steps, executions.
                    outputs_omitted (true when the outputs were too big
                    for the run's result and no worker could say them).
                    steps: id, kind, state, attempt, job_id, started_at,
                    ended_at, error, outputs, skip_reason, operator_skipped,
                    items, items_done, cancel_error (absent when empty).
                    executions: the Temporal workflow executions of the run:
                    kind ("run": a workflow run, first to last; "items": a
                    child running for_each elements first_item..last_item
                    of step), workflow_id, run_id, status, started_at,
                    closed_at, events.

Times are RFC 3339. Fields are only ever added; a field's name and meaning
do not change. docs/cli.md has the same, with examples.
`

// newHelpTopics returns the help topics: commands with no action that
// `pipectl help TOPIC` prints.
func newHelpTopics() []*cobra.Command {
	return []*cobra.Command{{
		Use:     "exit-codes",
		Aliases: []string{"scripting"},
		Short:   "Exit statuses, error output, and the -o json fields scripts can rely on",
		Long:    exitCodesHelp,
	}}
}
