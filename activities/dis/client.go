// Package dis ensures DIS (Data Ingestion Service) resources: a typed
// client for the DIS REST API and the activities of the dis.stream and
// dis.dump_task step kinds.
package dis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/pipectl/pipectl/activities/cloudapi"
)

// Client calls the DIS API of one endpoint.
type Client struct {
	API *cloudapi.Client
}

// NewClient returns a client for the DIS endpoint baseURL; hc carries
// authentication.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{API: &cloudapi.Client{Service: "DIS", BaseURL: baseURL, HTTP: hc}}
}

// DIS error codes the activities act on (DIS API reference, error codes).
const (
	CodeStreamNotRunning = "DIS.4205"
	CodeStreamNotFound   = "DIS.4301"
	CodeStreamExists     = "DIS.4307"
	CodeTaskNotFound     = "DIS.4354"
	CodeTaskExists       = "DIS.4355"
)

// ErrorCode returns the DIS error code of a rejected request ("DIS.4301"),
// or "" when err is not a service answer.
func ErrorCode(err error) string {
	var apiErr *cloudapi.Error
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	return ""
}

// Stream states. The reference describes TERMINATED but enumerates FROZEN
// instead; both are known here.
const (
	StreamCreating    = "CREATING"
	StreamRunning     = "RUNNING"
	StreamTerminating = "TERMINATING"
	StreamTerminated  = "TERMINATED"
	StreamFrozen      = "FROZEN"
)

// Dump task states.
const (
	TaskError    = "ERROR"
	TaskStarting = "STARTING"
	TaskPaused   = "PAUSED"
	TaskRunning  = "RUNNING"
	TaskDelete   = "DELETE"
	TaskAbnormal = "ABNORMAL"
)

// Tag is a DIS resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// CreateStreamRequest is the body of POST /v2/{project_id}/streams.
type CreateStreamRequest struct {
	StreamName                 string `json:"stream_name"`
	PartitionCount             int    `json:"partition_count"`
	StreamType                 string `json:"stream_type,omitempty"`
	DataType                   string `json:"data_type,omitempty"`
	DataDuration               int    `json:"data_duration,omitempty"` // retention hours
	AutoScaleEnabled           bool   `json:"auto_scale_enabled,omitempty"`
	AutoScaleMinPartitionCount int    `json:"auto_scale_min_partition_count,omitempty"`
	AutoScaleMaxPartitionCount int    `json:"auto_scale_max_partition_count,omitempty"`
	Tags                       []Tag  `json:"tags,omitempty"`
}

// Stream is the answer of GET /v2/{project_id}/streams/{stream_name}. Only
// the fields pipectl reads are decoded: others are typed inconsistently in
// the reference (last_modified_time is a number in the table and a string
// in the sample).
type Stream struct {
	StreamID                   string      `json:"stream_id"`
	StreamName                 string      `json:"stream_name"`
	CreateTime                 int64       `json:"create_time"`
	Status                     string      `json:"status"`
	StreamType                 string      `json:"stream_type"`
	DataType                   string      `json:"data_type"`
	RetentionPeriod            int         `json:"retention_period"` // hours
	WritablePartitionCount     int         `json:"writable_partition_count"`
	ReadablePartitionCount     int         `json:"readable_partition_count"`
	AutoScaleEnabled           bool        `json:"auto_scale_enabled"`
	AutoScaleMinPartitionCount int         `json:"auto_scale_min_partition_count"`
	AutoScaleMaxPartitionCount int         `json:"auto_scale_max_partition_count"`
	Partitions                 []Partition `json:"partitions"`
	HasMorePartitions          bool        `json:"has_more_partitions"`
	Tags                       []Tag       `json:"tags"`
}

// Partition is a partition of a stream's details.
type Partition struct {
	Status      string `json:"status"` // CREATING, ACTIVE, DELETED or EXPIRED
	PartitionID string `json:"partition_id"`
}

// Writable is the number of partitions records can be written to: the
// service's writable_partition_count, or, when it sends none, the ACTIVE
// partitions it listed.
func (s *Stream) Writable() int {
	if s.WritablePartitionCount > 0 {
		return s.WritablePartitionCount
	}
	n := 0
	for _, p := range s.Partitions {
		if p.Status == "ACTIVE" {
			n++
		}
	}
	return n
}

// CreateStream creates a stream. DIS answers 201 without a body.
func (c *Client) CreateStream(ctx context.Context, projectID string, req CreateStreamRequest) error {
	return c.API.Do(ctx, "create stream", http.MethodPost, "/v2/"+url.PathEscape(projectID)+"/streams", nil, req, nil)
}

// DescribeStream returns a stream's details; a missing stream is an error
// with code CodeStreamNotFound.
func (c *Client) DescribeStream(ctx context.Context, projectID, name string) (*Stream, error) {
	var out Stream
	if err := c.API.Do(ctx, "describe stream", http.MethodGet, streamPath(projectID, name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ChangePartitions scales a stream to target writable partitions.
func (c *Client) ChangePartitions(ctx context.Context, projectID, name string, target int) error {
	body := struct {
		StreamName           string `json:"stream_name"`
		TargetPartitionCount int    `json:"target_partition_count"`
	}{name, target}
	return c.API.Do(ctx, "change partition count", http.MethodPut, streamPath(projectID, name), nil, body, nil)
}

func streamPath(projectID, name string) string {
	return "/v2/" + url.PathEscape(projectID) + "/streams/" + url.PathEscape(name)
}

func tasksPath(projectID, stream string) string {
	return streamPath(projectID, stream) + "/transfer-tasks"
}

// Destination types of dump tasks.
const (
	DestOBS        = "OBS"
	DestDWS        = "DWS"
	DestMRS        = "MRS"
	DestDLI        = "DLI"
	DestCloudTable = "CLOUDTABLE"
)

// Destinations lists the destination types in the reference's order.
func Destinations() []string {
	return []string{DestOBS, DestDWS, DestMRS, DestDLI, DestCloudTable}
}

// canonicalDestination maps the 002 CloudTable samples' "CLOUDBASE" to
// the enumerated CLOUDTABLE.
func canonicalDestination(t string) string {
	if t == "CLOUDBASE" {
		return DestCloudTable
	}
	return t
}

// DescriptorKey is the request key of a destination's descriptor, e.g.
// obs_destination_descriptor.
func DescriptorKey(destination string) string {
	return strings.ToLower(destination) + "_destination_descriptor"
}

// CreateDumpTaskRequest is the body of POST .../transfer-tasks: the
// destination type and its descriptor, sent under DescriptorKey.
type CreateDumpTaskRequest struct {
	DestinationType string
	// Descriptor is the destination descriptor, task_name included.
	Descriptor json.RawMessage
}

// MarshalJSON renders {"destination_type": T, "<t>_destination_descriptor": D}.
func (r CreateDumpTaskRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"destination_type":               r.DestinationType,
		DescriptorKey(r.DestinationType): r.Descriptor,
	})
}

// DumpTaskSummary is an entry of the dump task list.
type DumpTaskSummary struct {
	TaskID                string `json:"task_id"`
	TaskName              string `json:"task_name"`
	State                 string `json:"state"`
	DestinationType       string `json:"destination_type"`
	CreateTime            int64  `json:"create_time"`
	LastTransferTimestamp int64  `json:"last_transfer_timestamp"`
}

// DumpTask is the answer of GET .../transfer-tasks/{task_name}.
type DumpTask struct {
	StreamName            string `json:"stream_name"`
	StreamID              string `json:"stream_id"`
	TaskName              string `json:"task_name"`
	TaskID                string `json:"task_id"`
	State                 string `json:"state"`
	DestinationType       string `json:"destination_type"`
	CreateTime            int64  `json:"create_time"`
	LastTransferTimestamp int64  `json:"last_transfer_timestamp"`
	// ErrorMessage is why the task is in ERROR, where the service says
	// (the reference documents no such field; the emulator sends it).
	ErrorMessage string `json:"error_message"`
	// Descriptor is the destination descriptor the service echoes, nil if
	// it sends none.
	Descriptor map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON reads the task and its descriptor, which the reference
// names inconsistently: obs_destination_description in the table,
// *_destination_descripton in the DAYU copy, *_destination_descriptor in
// requests. Any key of the task's destination starting with
// "<t>_destination_descript" is taken.
func (t *DumpTask) UnmarshalJSON(b []byte) error {
	type plain DumpTask
	if err := json.Unmarshal(b, (*plain)(t)); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	prefix := strings.ToLower(canonicalDestination(t.DestinationType)) + "_destination_descript"
	for _, k := range []string{prefix + "or", prefix + "ion", prefix + "on"} {
		if raw, ok := fields[k]; ok && string(raw) != "null" {
			return json.Unmarshal(raw, &t.Descriptor)
		}
	}
	for k, raw := range fields {
		if strings.HasPrefix(k, prefix) && string(raw) != "null" {
			return json.Unmarshal(raw, &t.Descriptor)
		}
	}
	return nil
}

// CreateDumpTask adds a dump task to a stream. DIS answers 201 without a
// body; an existing task name is an error with code CodeTaskExists.
func (c *Client) CreateDumpTask(ctx context.Context, projectID, stream string, req CreateDumpTaskRequest) error {
	return c.API.Do(ctx, "create dump task", http.MethodPost, tasksPath(projectID, stream), nil, req, nil)
}

// ListDumpTasks returns the dump tasks of a stream.
func (c *Client) ListDumpTasks(ctx context.Context, projectID, stream string) ([]DumpTaskSummary, error) {
	var out struct {
		TotalNumber int               `json:"total_number"`
		Tasks       []DumpTaskSummary `json:"tasks"`
	}
	if err := c.API.Do(ctx, "list dump tasks", http.MethodGet, tasksPath(projectID, stream), nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Tasks, nil
}

// DescribeDumpTask returns a dump task's details; a missing task is an
// error with code CodeTaskNotFound, a missing stream CodeStreamNotFound.
func (c *Client) DescribeDumpTask(ctx context.Context, projectID, stream, task string) (*DumpTask, error) {
	var out DumpTask
	path := tasksPath(projectID, stream) + "/" + url.PathEscape(task)
	if err := c.API.Do(ctx, "describe dump task", http.MethodGet, path, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteDumpTask deletes a dump task.
func (c *Client) DeleteDumpTask(ctx context.Context, projectID, stream, task string) error {
	path := tasksPath(projectID, stream) + "/" + url.PathEscape(task)
	return c.API.Do(ctx, "delete dump task", http.MethodDelete, path, nil, nil, nil)
}

// StartDumpTasks starts (or restarts) the stream's dump tasks with these
// IDs, as one batch.
func (c *Client) StartDumpTasks(ctx context.Context, projectID, stream string, taskIDs ...string) error {
	return c.taskAction(ctx, "start dump tasks", "start", projectID, stream, taskIDs)
}

// PauseDumpTasks pauses the stream's dump tasks with these IDs, as one
// batch (the API's "stop" action).
func (c *Client) PauseDumpTasks(ctx context.Context, projectID, stream string, taskIDs ...string) error {
	return c.taskAction(ctx, "pause dump tasks", "stop", projectID, stream, taskIDs)
}

func (c *Client) taskAction(ctx context.Context, op, action, projectID, stream string, taskIDs []string) error {
	if len(taskIDs) == 0 {
		return fmt.Errorf("DIS %s: no task ids", op)
	}
	type ref struct {
		ID string `json:"id"`
	}
	body := struct {
		Action string `json:"action"`
		Tasks  []ref  `json:"tasks"`
	}{Action: action}
	for _, id := range taskIDs {
		body.Tasks = append(body.Tasks, ref{id})
	}
	return c.API.Do(ctx, op, http.MethodPost, tasksPath(projectID, stream)+"/action", nil, body, nil)
}
