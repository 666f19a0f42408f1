// Package lakeformation runs LakeFormation jobs (metadata migration,
// permission migration, metadata discovery): a typed client for the
// lf-jobs API and the activities of the lakeformation.job step kind.
package lakeformation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pipectl/pipectl/activities/cloudapi"
)

// Job statuses: the create page's enumeration plus PARTIAL_SUCCESS from
// the public API reference.
const (
	StatusCreated        = "CREATED"
	StatusSubmitted      = "SUBMITTED"
	StatusRunning        = "RUNNING"
	StatusSuccess        = "SUCCESS"
	StatusFailed         = "FAILED"
	StatusStopped        = "STOPPED"
	StatusPartialSuccess = "PARTIAL_SUCCESS"
)

// Job types.
const (
	TypeMetadataMigration   = "METADATA_MIGRATION"
	TypePermissionMigration = "PERMISSION_MIGRATION"
	TypeMetadataDiscovery   = "METADATA_DISCOVERY"
)

// JobTypes lists the job types in the API's order.
var JobTypes = []string{TypeMetadataMigration, TypePermissionMigration, TypeMetadataDiscovery}

// InProgress reports whether a job with status s has a run that has not
// ended.
func InProgress(s string) bool { return s == StatusSubmitted || s == StatusRunning }

// Client calls the LakeFormation API of one endpoint.
type Client struct {
	API *cloudapi.Client
}

// NewClient returns a client for the LakeFormation endpoint baseURL; hc
// carries authentication.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{API: &cloudapi.Client{Service: "LakeFormation", BaseURL: baseURL, HTTP: hc}}
}

// CreateJobRequest is the body of POST .../lf-jobs. Parameter is the
// API's parameter object as the spec gives it.
type CreateJobRequest struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Type        string          `json:"type"`
	Parameter   json.RawMessage `json:"parameter"`
}

// Job is an lf-job as create, detail and list report it (list entries
// have no description or parameter).
type Job struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Type        string          `json:"type"`
	Parameter   json.RawMessage `json:"parameter,omitempty"`
	CreateTime  string          `json:"create_time"`
	StartTime   string          `json:"start_time"`
	EndTime     string          `json:"end_time"`
	Status      Status          `json:"status"`
	// Message is not in the reference; it is read in case the service
	// explains a failure there.
	Message string `json:"message,omitempty"`
}

// Status is a job's status. The create page types it as a string, but its
// sample answers {"status": "SUCCESS"}; both forms are read.
type Status struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// UnmarshalJSON reads "SUCCESS" or {"status": "SUCCESS", ...}.
func (s *Status) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		type plain Status
		var p plain
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("status: %w", err)
		}
		*s = Status(p)
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("status: %s is neither a string nor an object", b)
	}
	*s = Status{Status: str}
	return nil
}

// MarshalJSON writes the documented string form.
func (s Status) MarshalJSON() ([]byte, error) { return json.Marshal(s.Status) }

// CreateJob creates a job; it does not start it.
func (c *Client) CreateJob(ctx context.Context, projectID, instanceID string, req CreateJobRequest) (*Job, error) {
	var out Job
	if err := c.API.Do(ctx, "create job", http.MethodPost, jobsPath(projectID, instanceID), nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ShowJob returns a job.
func (c *Client) ShowJob(ctx context.Context, projectID, instanceID, jobID string) (*Job, error) {
	var out Job
	if err := c.API.Do(ctx, "get job", http.MethodGet, jobsPath(projectID, instanceID)+"/"+url.PathEscape(jobID), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StartJob starts a run of the job in NORMAL mode (202, no body).
func (c *Client) StartJob(ctx context.Context, projectID, instanceID, jobID string) error {
	return c.API.Do(ctx, "start job", http.MethodPost, jobsPath(projectID, instanceID)+"/"+url.PathEscape(jobID)+"/start", nil, nil, nil)
}

// StopJob stops the job's run.
func (c *Client) StopJob(ctx context.Context, projectID, instanceID, jobID string) error {
	return c.API.Do(ctx, "stop job", http.MethodPost, jobsPath(projectID, instanceID)+"/"+url.PathEscape(jobID)+"/stop", nil, nil, nil)
}

// ListJobsQuery selects jobs; Type is required by the API.
type ListJobsQuery struct {
	Type        string
	NamePattern string // a fuzzy (substring) match on the name
	Status      string
	Offset      int
	Limit       int // 1..1000; 0 = the service's default (10)
}

// JobList is a page of jobs and the number of all matching ones.
type JobList struct {
	Total int   `json:"total"`
	Jobs  []Job `json:"jobs"`
}

// ListJobs returns one page of jobs.
func (c *Client) ListJobs(ctx context.Context, projectID, instanceID string, q ListJobsQuery) (*JobList, error) {
	v := url.Values{"type": {q.Type}}
	if q.NamePattern != "" {
		v.Set("name_pattern", q.NamePattern)
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out JobList
	if err := c.API.Do(ctx, "list jobs", http.MethodGet, jobsPath(projectID, instanceID), v, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// listPage is the page size of FindJob; the API allows up to 1000.
const listPage = 100

// FindJob returns the job of type typ named exactly name, or nil. The
// name pattern is a substring match, so other names may come back and
// several pages may be read.
func (c *Client) FindJob(ctx context.Context, projectID, instanceID, typ, name string) (*Job, error) {
	for offset := 0; ; offset += listPage {
		page, err := c.ListJobs(ctx, projectID, instanceID, ListJobsQuery{Type: typ, NamePattern: name, Offset: offset, Limit: listPage})
		if err != nil {
			return nil, err
		}
		for i := range page.Jobs {
			if page.Jobs[i].Name == name {
				return &page.Jobs[i], nil
			}
		}
		if len(page.Jobs) < listPage || offset+len(page.Jobs) >= page.Total {
			return nil, nil
		}
	}
}

func jobsPath(projectID, instanceID string) string {
	return "/v1/" + url.PathEscape(projectID) + "/instances/" + url.PathEscape(instanceID) + "/lf-jobs"
}
