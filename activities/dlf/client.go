// Package dlf runs DataArts Studio (DLF, Data Development) jobs: a typed
// client for the job-instance API and the activities of the dlf.job step
// kind.
package dlf

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pipectl/pipectl/activities/cloudapi"
)

// Job instance statuses (DAYU table 7-103); nodes also report skip.
const (
	StatusWaiting          = "waiting"
	StatusRunning          = "running"
	StatusSuccess          = "success"
	StatusFail             = "fail"
	StatusRunningException = "running-exception"
	StatusPause            = "pause"
	StatusManualStop       = "manual-stop"
	StatusSkip             = "skip"
)

// Active reports whether an instance with status s has not ended. A
// paused instance waits for a person to resume it.
func Active(s string) bool {
	return s == StatusWaiting || s == StatusRunning || s == StatusPause
}

// Client calls the DLF API of one endpoint.
type Client struct {
	API *cloudapi.Client
}

// NewClient returns a client for the DLF endpoint baseURL; hc carries
// authentication. The workspace header is added above hc's transport, so
// an AK/SK signature covers it.
func NewClient(baseURL string, hc *http.Client) *Client {
	c := http.Client{}
	if hc != nil {
		c = *hc
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &workspaceTransport{base: base}
	return &Client{API: &cloudapi.Client{Service: "DLF", BaseURL: baseURL, HTTP: &c}}
}

type workspaceKey struct{}

// withWorkspace makes the requests of ctx carry the workspace header;
// "" is the default workspace, sent without it.
func withWorkspace(ctx context.Context, workspace string) context.Context {
	return context.WithValue(ctx, workspaceKey{}, workspace)
}

// workspaceTransport sets the `workspace` header DLF reads on every call.
type workspaceTransport struct {
	base http.RoundTripper
}

func (t *workspaceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if ws, _ := r.Context().Value(workspaceKey{}).(string); ws != "" {
		// Per the RoundTripper contract the request is not modified.
		r = r.Clone(r.Context())
		r.Header.Set("workspace", ws)
	}
	return t.base.RoundTrip(r)
}

// JobParam is one job parameter of a run.
type JobParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// RunImmediate runs the job once now (J8) and returns the instance ID.
func (c *Client) RunImmediate(ctx context.Context, projectID, workspace, jobName string, params []JobParam) (int64, error) {
	body := struct {
		JobParams []JobParam `json:"jobParams,omitempty"`
	}{params}
	var out struct {
		InstanceID int64 `json:"instanceId"`
	}
	path := "/v1/" + url.PathEscape(projectID) + "/jobs/" + url.PathEscape(jobName) + "/run-immediate"
	if err := c.API.Do(withWorkspace(ctx, workspace), "run job", http.MethodPost, path, nil, body, &out); err != nil {
		return 0, err
	}
	return out.InstanceID, nil
}

// InstanceSummary is an entry of the instance list (table 7-103).
type InstanceSummary struct {
	JobName    string `json:"jobName"`
	InstanceID int64  `json:"instanceId"`
	Status     string `json:"status"`
	PlanTime   int64  `json:"planTime"`
	StartTime  int64  `json:"startTime"`
	EndTime    int64  `json:"endTime"`
	SubmitTime int64  `json:"submitTime"`
}

// InstanceList is a page of instances and the number of all matching ones.
type InstanceList struct {
	Total     int               `json:"total"`
	Instances []InstanceSummary `json:"instances"`
}

// ListInstancesQuery selects instances (J11).
type ListInstancesQuery struct {
	JobName string
	Status  string
	Offset  int
	Limit   int // 1..1000; 0 = the service's default (10)
}

// ListInstances returns one page of job instances, newest first.
func (c *Client) ListInstances(ctx context.Context, projectID, workspace string, q ListInstancesQuery) (*InstanceList, error) {
	v := url.Values{}
	if q.JobName != "" {
		v.Set("jobName", q.JobName)
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
	var out InstanceList
	path := "/v1/" + url.PathEscape(projectID) + "/jobs/instances/detail"
	if err := c.API.Do(withWorkspace(ctx, workspace), "list job instances", http.MethodGet, path, v, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Instance is a job instance's detail (J12, table 7-106).
type Instance struct {
	JobName    string `json:"jobName"`
	InstanceID int64  `json:"instanceId"`
	Status     string `json:"status"`
	PlanTime   int64  `json:"planTime"`
	StartTime  int64  `json:"startTime"`
	EndTime    int64  `json:"endTime"`
	// ExecuteTime is typed Long (ms), but samples send 0.3.
	ExecuteTime float64 `json:"executeTime"`
	Total       int     `json:"total"`
	Nodes       []Node  `json:"nodes"`
}

// Node is one node of an instance (table 7-107).
type Node struct {
	NodeName      string  `json:"nodeName"`
	Status        string  `json:"status"`
	Type          string  `json:"type"`
	PlanTime      int64   `json:"planTime"`
	StartTime     int64   `json:"startTime"`
	EndTime       int64   `json:"endTime"`
	RetryTimes    int     `json:"retryTimes"`
	InputRowCount int64   `json:"inputRowCount"`
	Speed         float64 `json:"speed"`
	LogPath       string  `json:"logPath"`
	// FailReason is not in the reference; it is read when present.
	FailReason string `json:"failReason,omitempty"`
}

func instancePath(projectID, jobName string, instanceID int64) string {
	return "/v1/" + url.PathEscape(projectID) + "/jobs/" + url.PathEscape(jobName) + "/instances/" + strconv.FormatInt(instanceID, 10)
}

// Instance returns a job instance. The sample answer repeats instanceId
// with another value; the ID asked for is the one that counts.
func (c *Client) Instance(ctx context.Context, projectID, workspace, jobName string, instanceID int64) (*Instance, error) {
	var out Instance
	if err := c.API.Do(withWorkspace(ctx, workspace), "get job instance", http.MethodGet, instancePath(projectID, jobName, instanceID), nil, nil, &out); err != nil {
		return nil, err
	}
	out.InstanceID = instanceID
	return &out, nil
}

// StopInstance stops a running instance (J17, 204).
func (c *Client) StopInstance(ctx context.Context, projectID, workspace, jobName string, instanceID int64) error {
	return c.API.Do(withWorkspace(ctx, workspace), "stop job instance", http.MethodPost, instancePath(projectID, jobName, instanceID)+"/stop", nil, nil, nil)
}
