package workflows

import (
	"log/slog"
	"path/filepath"
	"testing"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/activities"
)

// TestReplayRecordedHistories replays every history in
// testdata/histories against the current workflow code. A failure means a
// change is not deterministic for runs already in flight: guard it with
// workflow.GetVersion (see docs/contributing.md).
//
// The histories are recorded from real runs on the embedded server by the
// end-to-end tests (`make histories`, which runs them with
// -update-histories): the example pipelines, a failure, a suspended step an
// operator retries, a cancel, a for_each run in child workflows (the
// parent's history and a child's), a run that continued as new (its
// first and its last workflow run), and a sub-pipeline run again after it
// failed (the parent's history and the second child's). The legacy-*.json
// files were recorded by older workers (legacy-submit-wait-*: before a
// step's job was one run activity on its service's queue) and are never
// re-recorded: runs they started must keep replaying.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			// The workflow names are literals on purpose: they must agree
			// with the names recorded in history, not merely with the
			// constants.
			r.RegisterWorkflowWithOptions(Pipeline, workflow.RegisterOptions{Name: "pipectl.Pipeline"})
			r.RegisterWorkflowWithOptions(Items, workflow.RegisterOptions{Name: "pipectl.Items"})
			logger := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

func TestNamesMatchRecordedHistories(t *testing.T) {
	// Changing these names breaks every recorded and running history, and
	// every client of the status query.
	for got, want := range map[string]string{
		PipelineWorkflow:                  "pipectl.Pipeline",
		ItemsWorkflow:                     "pipectl.Items",
		QueryStatus:                       "status",
		TaskQueue:                         "pipectl",
		activities.SubmitName("dli.sql"):  "dli.sql.submit",
		activities.WaitName("dli.sql"):    "dli.sql.wait",
		activities.CancelName("dli.sql"):  "dli.sql.cancel",
		activities.RunName("dli.sql"):     "dli.sql.run",
		ServiceQueue("dli.sql"):           "pipectl-dli",
		ServiceQueue("lakeformation.job"): "pipectl-lakeformation",
		ServiceQueue("http"):              "pipectl-http",
		changeRunActivity:                 "run-activity",
	} {
		if got != want {
			t.Errorf("name %q, recorded histories use %q", got, want)
		}
	}
}
