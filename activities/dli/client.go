// Package dli runs DLI (Data Lake Insight) jobs: a typed client for the DLI
// REST API and the activities of the dli.* step kinds.
package dli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pipectl/pipectl/activities/cloudapi"
)

// Client calls the DLI API of one endpoint.
type Client struct {
	API *cloudapi.Client
}

// NewClient returns a client for the DLI endpoint baseURL; hc carries
// authentication.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{API: &cloudapi.Client{Service: "DLI", BaseURL: baseURL, HTTP: hc}}
}

// Tag is a DLI resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SubmitSQLRequest is the body of POST /v1.0/{project_id}/jobs/submit-job.
type SubmitSQLRequest struct {
	SQL       string   `json:"sql"`
	CurrentDB string   `json:"currentdb,omitempty"`
	QueueName string   `json:"queue_name,omitempty"`
	Conf      []string `json:"conf,omitempty"`
	Tags      []Tag    `json:"tags,omitempty"`
}

// SubmitSQLResponse is DLI's answer to a submit.
type SubmitSQLResponse struct {
	envelope
	JobID   string `json:"job_id"`
	JobType string `json:"job_type"`
	JobMode string `json:"job_mode"`
}

// SQLJobStatus is the answer of GET /v1.0/{project_id}/jobs/{job_id}/status
// and an entry of the job list.
type SQLJobStatus struct {
	envelope
	JobID         string `json:"job_id"`
	JobType       string `json:"job_type"`
	JobMode       string `json:"job_mode"`
	QueueName     string `json:"queue_name"`
	Owner         string `json:"owner"`
	StartTime     int64  `json:"start_time"`
	Duration      int64  `json:"duration"`
	Status        string `json:"status"`
	InputRowCount int64  `json:"input_row_count"`
	BadRowCount   int64  `json:"bad_row_count"`
	InputSize     int64  `json:"input_size"`
	ResultCount   int64  `json:"result_count"`
	DatabaseName  string `json:"database_name"`
	TableName     string `json:"table_name"`
	Tags          []Tag  `json:"tags"`
}

// SQL job states (DLI API reference, job status).
const (
	StateLaunching = "LAUNCHING"
	StateRunning   = "RUNNING"
	StateScaling   = "SCALING"
	StateFinished  = "FINISHED"
	StateFailed    = "FAILED"
	StateCancelled = "CANCELLED"
)

// envelope is the is_success/message pair of most DLI answers. is_success
// is documented as a Boolean but several samples send the string "true".
// It is a pointer because an absent is_success must not read as false
// (UnmarshalJSON is only called for keys that are present).
type envelope struct {
	IsSuccess *flexBool `json:"is_success"`
	Message   string    `json:"message"`
}

type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	if s == "" || s == "null" {
		*b = true // absent means the HTTP status already said success
		return nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("is_success: %w", err)
	}
	*b = flexBool(v)
	return nil
}

func (e envelope) check(op string) error {
	if e.IsSuccess != nil && !*e.IsSuccess {
		return &cloudapi.Error{Service: "DLI", Op: op, Status: http.StatusOK, Message: e.Message}
	}
	return nil
}

// SubmitSQL submits a SQL job.
func (c *Client) SubmitSQL(ctx context.Context, projectID string, req SubmitSQLRequest) (*SubmitSQLResponse, error) {
	const op = "submit SQL job"
	var out SubmitSQLResponse
	if err := c.API.Do(ctx, op, http.MethodPost, "/v1.0/"+url.PathEscape(projectID)+"/jobs/submit-job", nil, req, &out); err != nil {
		return nil, err
	}
	if err := out.check(op); err != nil {
		return nil, err
	}
	return &out, nil
}

// SQLJobStatus returns a job's status.
func (c *Client) SQLJobStatus(ctx context.Context, projectID, jobID string) (*SQLJobStatus, error) {
	const op = "get SQL job status"
	var out SQLJobStatus
	path := "/v1.0/" + url.PathEscape(projectID) + "/jobs/" + url.PathEscape(jobID) + "/status"
	if err := c.API.Do(ctx, op, http.MethodGet, path, nil, nil, &out); err != nil {
		return nil, err
	}
	// The status answer has no documented failure envelope of its own; a
	// FAILED job carries is_success true and its reason in message.
	return &out, nil
}

// CancelSQLJob cancels a job.
func (c *Client) CancelSQLJob(ctx context.Context, projectID, jobID string) error {
	const op = "cancel SQL job"
	var out envelope
	path := "/v1.0/" + url.PathEscape(projectID) + "/jobs/" + url.PathEscape(jobID)
	if err := c.API.Do(ctx, op, http.MethodDelete, path, nil, nil, &out); err != nil {
		return err
	}
	return out.check(op)
}

// FindSQLJobsByTag lists the jobs carrying tag key=value, newest first.
func (c *Client) FindSQLJobsByTag(ctx context.Context, projectID, key, value string) ([]SQLJobStatus, error) {
	const op = "list SQL jobs"
	var out struct {
		envelope
		JobCount int            `json:"job_count"`
		Jobs     []SQLJobStatus `json:"jobs"`
	}
	q := url.Values{"tags": {key + "=" + value}, "page-size": {"100"}}
	if err := c.API.Do(ctx, op, http.MethodGet, "/v1.0/"+url.PathEscape(projectID)+"/jobs", q, nil, &out); err != nil {
		return nil, err
	}
	if err := out.check(op); err != nil {
		return nil, err
	}
	return out.Jobs, nil
}

// tagsJSON is used in logs to show which tags a job got.
func tagsJSON(tags []Tag) string {
	b, _ := json.Marshal(tags)
	return string(b)
}
