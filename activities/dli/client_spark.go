package dli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Spark batch states (table 10-7). The samples send "Success": compare
// with SparkState, which folds the case.
const (
	SparkStarting   = "starting"
	SparkRunning    = "running"
	SparkRecovering = "recovering"
	SparkSuccess    = "success"
	SparkDead       = "dead"
)

// SparkState returns a batch state in the enum's lower case.
func SparkState(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// SparkBatchRequest is the body of POST /v2.0/{project_id}/batches
// (table 10-2).
type SparkBatchRequest struct {
	File           string            `json:"file"`
	ClassName      string            `json:"class_name,omitempty"`
	Queue          string            `json:"queue,omitempty"`
	Name           string            `json:"name,omitempty"`
	Args           []string          `json:"args,omitempty"`
	Conf           map[string]string `json:"conf,omitempty"`
	Jars           []string          `json:"jars,omitempty"`
	PythonFiles    []string          `json:"python_files,omitempty"`
	Files          []string          `json:"files,omitempty"`
	DriverMemory   string            `json:"driver_memory,omitempty"`
	ExecutorMemory string            `json:"executor_memory,omitempty"`
	NumExecutors   *int              `json:"num_executors,omitempty"`
	ExecutorCores  *int              `json:"executor_cores,omitempty"`
}

// SparkBatch is a batch as create, details and list return it (table
// 10-6). Batch answers have no is_success envelope.
type SparkBatch struct {
	ID    string `json:"id"`
	AppID string `json:"appId"`
	Name  string `json:"name"`
	State string `json:"state"`
	Queue string `json:"queue"`
	// Log holds the last lines of the driver log (details only).
	Log        []string `json:"log"`
	CreateTime int64    `json:"create_time"`
}

// UnmarshalJSON reads appId, which table 10-6 types as an array of
// strings while every sample sends a string.
func (b *SparkBatch) UnmarshalJSON(data []byte) error {
	type plain SparkBatch
	var v struct {
		plain
		AppID json.RawMessage `json:"appId"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*b = SparkBatch(v.plain)
	var ids []string
	switch {
	case len(v.AppID) == 0 || string(v.AppID) == "null":
	case json.Unmarshal(v.AppID, &b.AppID) == nil:
	case json.Unmarshal(v.AppID, &ids) == nil:
		b.AppID = strings.Join(ids, ",")
	}
	return nil
}

func batchesPath(projectID string) string {
	return "/v2.0/" + url.PathEscape(projectID) + "/batches"
}

// CreateSparkBatch creates (and so starts) a Spark batch job.
func (c *Client) CreateSparkBatch(ctx context.Context, projectID string, req SparkBatchRequest) (*SparkBatch, error) {
	var out SparkBatch
	if err := c.API.Do(ctx, "create Spark batch", http.MethodPost, batchesPath(projectID), nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SparkBatch returns a batch's details (B4), with its app ID and the end
// of its driver log.
func (c *Client) SparkBatch(ctx context.Context, projectID, batchID string) (*SparkBatch, error) {
	var out SparkBatch
	if err := c.API.Do(ctx, "get Spark batch", http.MethodGet, batchesPath(projectID)+"/"+url.PathEscape(batchID), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SparkBatchState returns a batch's state as sent (B5, the cheapest poll).
func (c *Client) SparkBatchState(ctx context.Context, projectID, batchID string) (string, error) {
	var out struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err := c.API.Do(ctx, "get Spark batch state", http.MethodGet, batchesPath(projectID)+"/"+url.PathEscape(batchID)+"/state", nil, nil, &out); err != nil {
		return "", err
	}
	return out.State, nil
}

// CancelSparkBatch cancels a starting or running batch (B2).
func (c *Client) CancelSparkBatch(ctx context.Context, projectID, batchID string) error {
	return c.API.Do(ctx, "cancel Spark batch", http.MethodDelete, batchesPath(projectID)+"/"+url.PathEscape(batchID), nil, nil, nil)
}

// sparkPageSize is how many batches one list call asks for.
const sparkPageSize = 100

// FindSparkBatchesByName returns the project's batches called name, newest
// first. The list's job_name filter may match more than the exact name,
// so the match is checked here.
func (c *Client) FindSparkBatchesByName(ctx context.Context, projectID, name string) ([]SparkBatch, error) {
	var found []SparkBatch
	for from := 0; ; {
		var out struct {
			From     int          `json:"from"`
			Total    int          `json:"total"`
			Sessions []SparkBatch `json:"sessions"`
		}
		q := url.Values{"job_name": {name}, "from": {strconv.Itoa(from)}, "size": {strconv.Itoa(sparkPageSize)}}
		if err := c.API.Do(ctx, "list Spark batches", http.MethodGet, batchesPath(projectID), q, nil, &out); err != nil {
			return nil, err
		}
		for _, b := range out.Sessions {
			if b.Name == name {
				found = append(found, b)
			}
		}
		from += len(out.Sessions)
		if len(out.Sessions) == 0 || from >= out.Total {
			return found, nil
		}
	}
}
