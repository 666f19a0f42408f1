package cli

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/workflows"
)

// jobProgress returns what the running steps' services last reported, by
// external job id. It rides on the wait activities' last "still running"
// failure, which the server keeps with the pending activity: reading it
// adds nothing to the run's history.
func jobProgress(ctx context.Context, c client.Client, id, runID string) map[string]activities.Progress {
	desc, err := c.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return nil
	}
	out := map[string]activities.Progress{}
	dc := converter.GetDefaultDataConverter()
	for _, pa := range desc.GetPendingActivities() {
		info := pa.GetLastFailure().GetApplicationFailureInfo()
		if info.GetType() != activities.ErrStillRunning {
			continue
		}
		payloads := info.GetDetails().GetPayloads()
		if len(payloads) == 0 {
			continue
		}
		var p activities.Progress
		if dc.FromPayload(payloads[0], &p) == nil && p.JobID != "" {
			out[p.JobID] = p
		}
	}
	return out
}

// progressText renders a job's progress: a bar when the service reports a
// percentage, else its state.
func progressText(p activities.Progress, ok bool) string {
	if !ok {
		return ""
	}
	if p.Percent > 0 {
		const width = 10
		n := int(p.Percent / 100 * width)
		n = min(max(n, 0), width)
		return fmt.Sprintf("[%s%s] %3.0f%%", strings.Repeat("#", n), strings.Repeat(".", width-n), p.Percent)
	}
	return strings.ToLower(p.State)
}

// fillRunningJobs gives running steps whose job id the workflow does not
// know yet (it learns it when the step's activity completes) the id their
// activity last reported with its progress.
func fillRunningJobs(st *workflows.Status, progress map[string]activities.Progress) {
	byStep := map[string]string{}
	for id, p := range progress {
		if p.Step != "" && p.Item == 0 {
			byStep[p.Step] = id
		}
	}
	for i := range st.Steps {
		s := &st.Steps[i]
		if s.State == workflows.StepRunning && s.JobID == "" {
			s.JobID = byStep[s.ID]
		}
	}
}
