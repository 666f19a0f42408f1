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

// TestReplayRecordedHistories replays every history in testdata against
// the current workflow code. A failure means a change is not deterministic
// for runs already in flight: guard it with workflow.GetVersion.
//
// The histories are recorded from real runs of the example pipelines by
// the end-to-end tests: go test ./testenv -run EndToEnd -update-histories
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			// The workflow name is a literal on purpose: it must agree with
			// the name recorded in history, not merely with the constant.
			r.RegisterWorkflowWithOptions(Pipeline, workflow.RegisterOptions{Name: "pipectl.Pipeline"})
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
		PipelineWorkflow:                 "pipectl.Pipeline",
		QueryStatus:                      "status",
		TaskQueue:                        "pipectl",
		activities.SubmitName("dli.sql"): "dli.sql.submit",
		activities.WaitName("dli.sql"):   "dli.sql.wait",
		activities.CancelName("dli.sql"): "dli.sql.cancel",
	} {
		if got != want {
			t.Errorf("name %q, recorded histories use %q", got, want)
		}
	}
}
