// Package cdm runs CDM (Cloud Data Migration) jobs: a typed client for the
// CDM REST API (links, jobs and their runs, which CDM calls submissions)
// and the activities of the cdm.job step kind.
package cdm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pipectl/pipectl/activities/cloudapi"
)

// Client calls the CDM API of one endpoint.
type Client struct {
	API *cloudapi.Client
}

// NewClient returns a client for the CDM endpoint baseURL; hc carries
// authentication.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{API: &cloudapi.Client{Service: "CDM", BaseURL: baseURL, HTTP: hc}}
}

// CDM error codes the client and the activities act on (DAYU 8.2.1).
const (
	CodeSystemError    = "Cdm.0000"
	CodeJobRunning     = "Cdm.0052"
	CodeJobNotRunning  = "Cdm.0053"
	CodeNoJob          = "Cdm.0100"
	CodeNoLink         = "Cdm.0101"
	CodeJobExists      = "Cdm.0104"
	CodeNoLinkToUpdate = "Cdm.0316"
	CodeNoJobToUpdate  = "Cdm.0319"
	CodeLinkInUse      = "Cdm.0021"
)

// definiteCodes are the answers CDM sends with HTTP 500 although they are
// final (the samples: a missing job @2608, a link in use @4157; the error
// table gives 400 for every Cdm code). The client reports them as the
// table's 400 so that they are classified as rejections, not retried.
var definiteCodes = map[string]bool{
	CodeNoJob: true, CodeNoLink: true, CodeNoLinkToUpdate: true, CodeNoJobToUpdate: true, CodeLinkInUse: true,
}

// Submission states (tables 5-107/5-111), and the ones seen only in
// samples: PENDING in the create-and-execute answer, STOPPED after a stop.
const (
	StateBooting         = "BOOTING"
	StatePending         = "PENDING"
	StateRunning         = "RUNNING"
	StateSucceeded       = "SUCCEEDED"
	StateFailed          = "FAILED"
	StateFailureOnSubmit = "FAILURE_ON_SUBMIT"
	StateStopped         = "STOPPED"
	StateUnknown         = "UNKNOWN"
	StateNeverExecuted   = "NEVER_EXECUTED"
)

// Running reports whether a submission in state is still going.
func Running(state string) bool {
	return state == StateBooting || state == StatePending || state == StateRunning
}

// ConfigValues is CDM's from-, to-, driver- and link-config-values.
type ConfigValues struct {
	Configs []Config `json:"configs"`
}

// Config is one named group of inputs, e.g. fromJobConfig.
type Config struct {
	Name   string `json:"name"`
	Inputs Inputs `json:"inputs"`
}

// Input is one setting. Its name is qualified by its config's name
// ("fromJobConfig.tableName").
type Input struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// UnmarshalJSON reads both spellings of the value ("value" in every sample,
// "values" in the tables) and non-string values (some samples send JSON
// booleans and numbers) as their JSON text.
func (in *Input) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name   string          `json:"name"`
		Value  json.RawMessage `json:"value"`
		Values json.RawMessage `json:"values"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	v := raw.Value
	if len(v) == 0 {
		v = raw.Values
	}
	in.Name, in.Value = raw.Name, jsonText(v)
	return nil
}

// jsonText is a JSON string unquoted, null as "", anything else as its JSON.
func jsonText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if t := string(bytes.TrimSpace(v)); t != "null" {
		return t
	}
	return ""
}

// Inputs reads an empty list written as {} (most samples) as well as [].
type Inputs []Input

func (ins *Inputs) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		*ins = nil
		return nil
	}
	var list []Input
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*ins = list
	return nil
}

// MarshalJSON writes an empty list as [], never null.
func (ins Inputs) MarshalJSON() ([]byte, error) {
	if ins == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]Input(ins))
}

// MarshalJSON writes no configs as [], never null.
func (cv ConfigValues) MarshalJSON() ([]byte, error) {
	type plain ConfigValues
	if cv.Configs == nil {
		cv.Configs = []Config{}
	}
	return json.Marshal(plain(cv))
}

// Flatten returns every input by name.
func (cv ConfigValues) Flatten() map[string]string {
	m := map[string]string{}
	for _, c := range cv.Configs {
		for _, in := range c.Inputs {
			m[in.Name] = in.Value
		}
	}
	return m
}

// Link is a link as created (L1) and queried (L2).
type Link struct {
	Name             string       `json:"name"`
	ConnectorName    string       `json:"connector-name"`
	Enabled          bool         `json:"enabled"`
	LinkConfigValues ConfigValues `json:"link-config-values"`
}

// Job is a job definition as created (J6, J4), modified (J3) and queried
// (J1). Its field names mix hyphens and underscores, as the API does.
type Job struct {
	JobType            string       `json:"job_type"`
	Name               string       `json:"name"`
	FromConnectorName  string       `json:"from-connector-name"`
	ToConnectorName    string       `json:"to-connector-name"`
	FromLinkName       string       `json:"from-link-name"`
	ToLinkName         string       `json:"to-link-name"`
	FromConfigValues   ConfigValues `json:"from-config-values"`
	ToConfigValues     ConfigValues `json:"to-config-values"`
	DriverConfigValues ConfigValues `json:"driver-config-values"`
}

// Submission is one run of a job, as start, stop, status and history
// report it. Only the fields the activities use are read; the numbers are
// read leniently because samples and tables disagree on their types.
type Submission struct {
	JobName string `json:"job-name"`
	// SubmissionID identifies the run; 0 when the answer does not say
	// (the start sample has none).
	SubmissionID FlexInt `json:"submission-id"`
	// SubmissonID is the create-and-execute sample's spelling (@3087).
	SubmissonID FlexInt `json:"submisson-id"`
	Status      string  `json:"status"`
	// Progress is 0-100, -1 once the run failed.
	Progress     FlexFloat                     `json:"progress"`
	Counters     map[string]map[string]FlexInt `json:"counters"`
	ErrorSummary string                        `json:"error-summary"`
	ErrorDetails string                        `json:"error-details"`
	ExternalID   string                        `json:"external-id"`
}

// ID returns the submission's ID under either spelling.
func (s Submission) ID() int64 {
	if s.SubmissionID != 0 {
		return int64(s.SubmissionID)
	}
	return int64(s.SubmissonID)
}

// CountersKey names the Sqoop counter group (table 5-113).
const CountersKey = "org.apache.sqoop.submission.counter.SqoopCounters"

// Counter returns counter name (ROWS_READ, …) and whether the run reported
// it, looking in the Sqoop group first and then in any other group.
func (s Submission) Counter(name string) (int64, bool) {
	if v, ok := s.Counters[CountersKey][name]; ok {
		return int64(v), true
	}
	for _, g := range s.Counters {
		if v, ok := g[name]; ok {
			return int64(v), true
		}
	}
	return 0, false
}

// FlexInt is an integer the API may send as a JSON number or as a string
// holding one (the samples write creation-date both ways).
type FlexInt int64

func (n *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return fmt.Errorf("not an integer: %s", b)
		}
		v = int64(f)
	}
	*n = FlexInt(v)
	return nil
}

// FlexFloat is a number the API may send as a JSON number or a string.
type FlexFloat float64

func (f *FlexFloat) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = FlexFloat(v)
	return nil
}

type submissions struct {
	Submissions []Submission `json:"submissions"`
}

// saved is the answer of a create or modify: an empty validation-result,
// or entries of which those with status ERROR are failures.
type saved struct {
	Name             string          `json:"name"`
	ValidationResult json.RawMessage `json:"validation-result"`
}

func (s saved) check(op string) error {
	if msgs := validationErrors(s.ValidationResult); len(msgs) > 0 {
		// A 200 that refuses: no status to classify by, so it counts as
		// a rejection (Retryable is false below 408).
		return &cloudapi.Error{Service: "CDM", Op: op, Status: http.StatusOK, Message: strings.Join(msgs, "; ")}
	}
	return nil
}

// validationErrors collects the messages of every {message, status:
// ERROR} object in a validation-result, whatever its nesting: jobs answer
// a flat list, links a list of {linkConfig: [...]}.
func validationErrors(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var msgs []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if st, _ := x["status"].(string); st == "ERROR" {
				msg, _ := x["message"].(string)
				msgs = append(msgs, strings.TrimSpace(msg))
				return
			}
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return msgs
}

// do sends one request through the shared client, then corrects what
// cloudapi cannot know about CDM: definite codes sent with 500 (see
// definiteCodes), and error answers whose only explanation is a
// validation-result (a link that fails validation answers 500 with one).
func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, in, out any) error {
	capture := &errorBody{}
	api := *c.API
	var hc http.Client
	if api.HTTP != nil {
		hc = *api.HTTP
	}
	capture.base = hc.Transport
	hc.Transport = capture
	api.HTTP = &hc
	err := api.Do(ctx, op, method, path, query, in, out)
	var apiErr *cloudapi.Error
	if errors.As(err, &apiErr) {
		if apiErr.Status >= 500 && definiteCodes[apiErr.Code] {
			apiErr.Status = http.StatusBadRequest
		}
		if apiErr.Code == "" {
			var body struct {
				ValidationResult json.RawMessage `json:"validation-result"`
			}
			if json.Unmarshal(capture.body, &body) == nil {
				if msgs := validationErrors(body.ValidationResult); len(msgs) > 0 {
					apiErr.Message = strings.Join(msgs, "; ")
				}
			}
		}
	}
	return err
}

// errorBody keeps a copy of an error answer's body for do, and sends
// X-Language, which CDM lists as mandatory for some calls (J4, C6).
type errorBody struct {
	base http.RoundTripper
	body []byte
}

// maxErrorBody matches cloudapi's bound on error bodies.
const maxErrorBody = 64 << 10

func (e *errorBody) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Language", "en-us")
	base := e.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if err != nil || resp.StatusCode < 300 {
		return resp, err
	}
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	e.body = b
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// HasCode reports whether err is CDM's answer with the given error code.
func HasCode(err error, code string) bool {
	var apiErr *cloudapi.Error
	return errors.As(err, &apiErr) && apiErr.Code == code
}

func clusterPath(projectID, clusterID string) string {
	return "/v1.1/" + url.PathEscape(projectID) + "/clusters/" + url.PathEscape(clusterID)
}

func jobPath(projectID, clusterID, name string) string {
	return clusterPath(projectID, clusterID) + "/cdm/job/" + url.PathEscape(name)
}

// FindLink returns the named link of a cluster, or nil when it does not
// exist. Sensitive inputs (passwords) are never returned by CDM.
func (c *Client) FindLink(ctx context.Context, projectID, clusterID, name string) (*Link, error) {
	var out struct {
		Links []Link `json:"links"`
	}
	err := c.do(ctx, "query link", http.MethodGet, clusterPath(projectID, clusterID)+"/cdm/link/"+url.PathEscape(name), nil, nil, &out)
	if HasCode(err, CodeNoLink) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for i := range out.Links {
		if out.Links[i].Name == name {
			return &out.Links[i], nil
		}
	}
	if len(out.Links) == 1 {
		return &out.Links[0], nil
	}
	return nil, nil
}

// CreateLink creates a link. Its inputs may hold credentials: they go
// into the request body only, never into an error or a log.
func (c *Client) CreateLink(ctx context.Context, projectID, clusterID string, link Link) error {
	const op = "create link"
	var out saved
	body := struct {
		Links []Link `json:"links"`
	}{[]Link{link}}
	if err := c.do(ctx, op, http.MethodPost, clusterPath(projectID, clusterID)+"/cdm/link", nil, body, &out); err != nil {
		return err
	}
	return out.check(op)
}

// FindJob returns the named job of a cluster, or nil when it does not
// exist.
func (c *Client) FindJob(ctx context.Context, projectID, clusterID, name string) (*Job, error) {
	var out struct {
		Jobs []Job `json:"jobs"`
	}
	err := c.do(ctx, "query job", http.MethodGet, jobPath(projectID, clusterID, name), nil, nil, &out)
	if HasCode(err, CodeNoJob) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for i := range out.Jobs {
		if out.Jobs[i].Name == name {
			return &out.Jobs[i], nil
		}
	}
	return nil, nil
}

type jobsBody struct {
	Jobs     []Job    `json:"jobs"`
	Clusters []string `json:"clusters,omitempty"`
}

// CreateJob creates a job in a cluster without starting it (J6).
func (c *Client) CreateJob(ctx context.Context, projectID, clusterID string, job Job) error {
	const op = "create job"
	var out saved
	if err := c.do(ctx, op, http.MethodPost, clusterPath(projectID, clusterID)+"/cdm/job", nil, jobsBody{Jobs: []Job{job}}, &out); err != nil {
		return err
	}
	return out.check(op)
}

// ModifyJob replaces the definition of job name (J3). A running job
// cannot be modified (Cdm.0052).
func (c *Client) ModifyJob(ctx context.Context, projectID, clusterID, name string, job Job) error {
	const op = "modify job"
	var out saved
	if err := c.do(ctx, op, http.MethodPut, jobPath(projectID, clusterID, name), nil, jobsBody{Jobs: []Job{job}}, &out); err != nil {
		return err
	}
	return out.check(op)
}

// CreateAndExecuteJob creates a job in one running cluster among
// clusterIDs, chosen by CDM, and starts it (J4). The answer does not say
// which cluster was chosen.
func (c *Client) CreateAndExecuteJob(ctx context.Context, projectID string, clusterIDs []string, job Job) (*Submission, error) {
	var out submissions
	path := "/v1.1/" + url.PathEscape(projectID) + "/clusters/job"
	if err := c.do(ctx, "create and execute job", http.MethodPost, path, nil, jobsBody{Jobs: []Job{job}, Clusters: clusterIDs}, &out); err != nil {
		return nil, err
	}
	return first(out.Submissions, job.Name), nil
}

// StartJob starts a run of a job (J7). Starting a running job fails with
// Cdm.0052.
func (c *Client) StartJob(ctx context.Context, projectID, clusterID, name string) (*Submission, error) {
	var out submissions
	if err := c.do(ctx, "start job", http.MethodPut, jobPath(projectID, clusterID, name)+"/start", nil, nil, &out); err != nil {
		return nil, err
	}
	return first(out.Submissions, name), nil
}

// StopJob stops a job's run (J5). Stopping a job that does not run fails
// with Cdm.0053.
func (c *Client) StopJob(ctx context.Context, projectID, clusterID, name string) (*Submission, error) {
	var out submissions
	if err := c.do(ctx, "stop job", http.MethodPut, jobPath(projectID, clusterID, name)+"/stop", nil, nil, &out); err != nil {
		return nil, err
	}
	return first(out.Submissions, name), nil
}

// JobStatus returns a job's newest run (J8); a job never started reports
// NEVER_EXECUTED and no submission ID.
func (c *Client) JobStatus(ctx context.Context, projectID, clusterID, name string) (*Submission, error) {
	const op = "query job status"
	var out submissions
	if err := c.do(ctx, op, http.MethodGet, jobPath(projectID, clusterID, name)+"/status", nil, nil, &out); err != nil {
		return nil, err
	}
	s := first(out.Submissions, name)
	if s == nil {
		return nil, &cloudapi.Error{Service: "CDM", Op: op, Status: http.StatusOK, Message: "the answer holds no submission"}
	}
	return s, nil
}

// History returns the newest runs of a job, newest first (J9, first page).
func (c *Client) History(ctx context.Context, projectID, clusterID, name string) ([]Submission, error) {
	var out submissions
	q := url.Values{"jname": {name}}
	if err := c.do(ctx, "query job history", http.MethodGet, clusterPath(projectID, clusterID)+"/cdm/submissions", q, nil, &out); err != nil {
		return nil, err
	}
	return out.Submissions, nil
}

// first returns the submission of job name in subs, or the first one.
func first(subs []Submission, name string) *Submission {
	for i := range subs {
		if subs[i].JobName == name {
			return &subs[i]
		}
	}
	if len(subs) > 0 {
		return &subs[0]
	}
	return nil
}
