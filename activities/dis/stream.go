package dis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/pipectl/pipectl/activities"
)

// streamInput is the `with` of a dis.stream step. Optional settings are
// pointers or empty strings: unset means "whatever the stream has".
type streamInput struct {
	Name           string    `json:"name"`
	Partitions     flexInt   `json:"partitions"`
	StreamType     string    `json:"stream_type,omitempty"`
	DataType       string    `json:"data_type,omitempty"`
	RetentionHours *flexInt  `json:"retention_hours,omitempty"`
	AutoScale      *flexBool `json:"auto_scale,omitempty"`
}

func decodeStream(with []byte) (streamInput, error) {
	var in streamInput
	if err := decodeInput(KindStream, with, &in); err != nil {
		return in, err
	}
	switch {
	case strings.TrimSpace(in.Name) == "":
		return in, rejected(KindStream + " input: name is required")
	case in.Partitions < 1:
		return in, rejected(fmt.Sprintf("%s input: partitions must be at least 1, got %d", KindStream, in.Partitions))
	}
	return in, nil
}

// createRequest is the create body for the input. With auto scaling on,
// the spec's partition count is both the initial count and the upper
// bound, and the lower bound is 1: the schema has no bounds of its own.
func (in streamInput) createRequest() CreateStreamRequest {
	req := CreateStreamRequest{
		StreamName:     in.Name,
		PartitionCount: int(in.Partitions),
		StreamType:     in.StreamType,
		DataType:       in.DataType,
	}
	if in.RetentionHours != nil {
		req.DataDuration = int(*in.RetentionHours)
	}
	if in.AutoScale != nil && bool(*in.AutoScale) {
		req.AutoScaleEnabled = true
		req.AutoScaleMinPartitionCount = 1
		req.AutoScaleMaxPartitionCount = int(in.Partitions)
	}
	return req
}

// mismatches lists the settings the spec sets that the existing stream
// does not have. Only the partition count is ever changed on an existing
// stream; everything else is compared.
func (in streamInput) mismatches(st *Stream) []string {
	var out []string
	if in.StreamType != "" && in.StreamType != st.StreamType {
		out = append(out, fmt.Sprintf("stream_type is %s, the step asks for %s", st.StreamType, in.StreamType))
	}
	if in.DataType != "" && in.DataType != st.DataType {
		out = append(out, fmt.Sprintf("data_type is %s, the step asks for %s", st.DataType, in.DataType))
	}
	if in.RetentionHours != nil && int(*in.RetentionHours) != st.RetentionPeriod {
		out = append(out, fmt.Sprintf("retention_hours is %d, the step asks for %d", st.RetentionPeriod, *in.RetentionHours))
	}
	if in.AutoScale != nil && bool(*in.AutoScale) != st.AutoScaleEnabled {
		out = append(out, fmt.Sprintf("auto_scale is %t, the step asks for %t", st.AutoScaleEnabled, bool(*in.AutoScale)))
	}
	return out
}

// SubmitStream ensures the step's stream exists: it creates a missing
// stream, and scales an existing RUNNING one whose partition count differs
// (unless the stream scales itself). It never deletes a stream and never
// changes anything else about an existing one: a stream whose type, data
// type, retention or auto scaling differs from what the step sets is a
// non-retryable error naming every difference, because silently running a
// pipeline against a stream other than the one its spec describes is worse
// than stopping it (and changing them could break the stream's other
// users).
//
// The stream name is the idempotency handle. A retried submit (the create's
// answer was lost, or the worker crashed) finds the stream by name and
// re-attaches to it; a create that races another answers DIS.4307 and is
// handled the same way. Job.ID is the stream name; Job.Reattached is true
// whenever the stream already existed (this call did not create it).
func (a *Activities) SubmitStream(ctx context.Context, req activities.StepRequest) (*activities.Job, error) {
	if err := noSecrets(KindStream, req.With, "name", "partitions"); err != nil {
		return nil, err
	}
	with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
	if err != nil {
		return nil, err
	}
	in, err := decodeStream(with)
	if err != nil {
		return nil, err
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	log := activity.GetLogger(ctx)
	st, err := a.Client.DescribeStream(ctx, projectID, in.Name)
	if ErrorCode(err) == CodeStreamNotFound {
		err = a.Client.CreateStream(ctx, projectID, in.createRequest())
		if err == nil {
			log.Info("created DIS stream", "step", req.StepID, "stream", in.Name, "partitions", int(in.Partitions))
			return &activities.Job{ID: in.Name, ProjectID: projectID}, nil
		}
		if ErrorCode(err) != CodeStreamExists {
			return nil, activities.Classify(err)
		}
		// Created meanwhile, by an earlier attempt whose answer was lost
		// or by someone else: adopt it like any existing stream.
		st, err = a.Client.DescribeStream(ctx, projectID, in.Name)
	}
	if err != nil {
		return nil, activities.Classify(err)
	}
	if diff := in.mismatches(st); len(diff) > 0 {
		return nil, rejected(fmt.Sprintf("DIS stream %s exists with other settings: %s; pipectl only changes the partition count of an existing stream: change the step or the stream",
			in.Name, strings.Join(diff, "; ")))
	}
	log.Info("re-attached to DIS stream", "step", req.StepID, "stream", in.Name, "status", st.Status)
	// A CREATING stream cannot be scaled yet; WaitStream does it once
	// the stream runs.
	if _, err := a.scale(ctx, projectID, in.Name, st, int(in.Partitions)); err != nil {
		return nil, err
	}
	return &activities.Job{ID: in.Name, ProjectID: projectID, Reattached: true}, nil
}

// scale changes the partition count of the RUNNING stream name (described
// as st) to target, and reports whether it asked for a change. A stream
// with auto scaling is left to scale itself: forcing a count would fight it.
func (a *Activities) scale(ctx context.Context, projectID, name string, st *Stream, target int) (bool, error) {
	current := st.Writable()
	if st.Status != StreamRunning || st.AutoScaleEnabled || current == target {
		return false, nil
	}
	if err := a.Client.ChangePartitions(ctx, projectID, name, target); err != nil {
		return false, activities.Classify(err)
	}
	activity.GetLogger(ctx).Info("changed DIS stream partition count", "stream", name, "from", current, "to", target)
	return true, nil
}

// WaitStream checks the stream once: CREATING (or a partition change still
// under way) is "still running", RUNNING with the wanted partition count
// is done, FROZEN or a stream being deleted failed.
func (a *Activities) WaitStream(ctx context.Context, req activities.StepRequest) (*activities.Result, error) {
	if req.Job == nil || req.Job.ID == "" {
		return nil, rejected("wait without a job")
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	// Only the partition count is needed, which holds no secret: the
	// input is decoded as the workflow sent it.
	in, err := decodeStream(req.With)
	if err != nil {
		return nil, err
	}
	st, err := a.Client.DescribeStream(ctx, projectID, req.Job.ID)
	if err != nil {
		return nil, activities.Classify(err)
	}
	attempt := activity.GetInfo(ctx).Attempt
	progress := activities.Progress{JobID: req.Job.ID, State: st.Status, Checked: time.Now()}
	switch st.Status {
	case StreamRunning:
		// The stream was still CREATING when submit saw it, or another
		// client scaled it since: scale now, and confirm on the next poll.
		scaled, err := a.scale(ctx, projectID, req.Job.ID, st, int(in.Partitions))
		if err != nil {
			return nil, err
		}
		if scaled {
			progress.State = "SCALING"
			return nil, activities.StillRunning(progress, activities.NextPoll(req.Poll, attempt))
		}
		return &activities.Result{State: st.Status, Outputs: map[string]string{
			"name":       req.Job.ID,
			"id":         st.StreamID,
			"partitions": strconv.Itoa(st.Writable()),
		}}, nil
	case StreamCreating:
		return nil, activities.StillRunning(progress, activities.NextPoll(req.Poll, attempt))
	case StreamFrozen:
		return nil, activities.JobFailed(req.Job.ID, st.Status, "the stream is frozen and cannot be used (DIS freezes the streams of an account in arrears or whose creation failed)")
	case StreamTerminating, StreamTerminated:
		return nil, activities.JobFailed(req.Job.ID, st.Status, "the stream is being deleted")
	}
	activity.GetLogger(ctx).Warn("unknown DIS stream status", "stream", req.Job.ID, "status", st.Status)
	return nil, activities.StillRunning(progress, time.Duration(req.Poll.MaxInterval))
}

// CancelStream does nothing: there is no job to stop. A stream the step
// created is kept, since the step's purpose is that it exists and other
// steps or pipelines may already write to it, and a stream still CREATING
// cannot be stopped; a partition change is not undone either.
func (a *Activities) CancelStream(ctx context.Context, req activities.StepRequest) error {
	activity.GetLogger(ctx).Info("nothing to cancel for a DIS stream; it is kept", "step", req.StepID)
	return nil
}
