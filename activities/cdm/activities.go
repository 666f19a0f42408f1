package cdm

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
)

// KindJob is the step kind this package runs.
const KindJob = "cdm.job"

// JobType is the type of every job the step creates: a table or file
// migration (the other types, entire-DB and scenario jobs, have their own
// inputs the step does not take).
const JobType = "NORMAL_JOB"

// Config groups of job and link inputs (DAYU 5.4).
const (
	GroupFrom = "fromJobConfig"
	GroupTo   = "toJobConfig"
	GroupLink = "linkConfig"
)

// JobInput is the `with` of a cdm.job step.
type JobInput struct {
	Name string `json:"name"`
	// Exactly one of ClusterID and ClusterIDs is set.
	ClusterID  string   `json:"cluster_id,omitempty"`
	ClusterIDs []string `json:"cluster_ids,omitempty"`

	FromLink      string `json:"from_link"`
	FromConnector string `json:"from_connector"`
	// FromConfig holds fromJobConfig inputs; the group prefix is optional
	// ("tableName" and "fromJobConfig.tableName" are the same input).
	FromConfig  Settings `json:"from_config,omitempty"`
	ToLink      string   `json:"to_link"`
	ToConnector string   `json:"to_connector"`
	// ToConfig holds toJobConfig inputs, the prefix optional as above.
	ToConfig Settings `json:"to_config,omitempty"`
	// DriverConfig holds job settings; each key names its group
	// ("throttlingConfig.numExtractors", "retryJobConfig.retryJobType").
	// Keep retryJobConfig.retryJobType NONE and schedulerConfig off: the
	// pipeline owns retries and schedules.
	DriverConfig Settings `json:"driver_config,omitempty"`

	// Links are created first in the job's cluster(s) when missing.
	Links []LinkInput `json:"links,omitempty"`
}

// LinkInput is one entry of `links`.
type LinkInput struct {
	Name      string `json:"name"`
	Connector string `json:"connector"`
	// Config holds linkConfig inputs, the prefix optional; credentials
	// come as ${secret.NAME}.
	Config Settings `json:"config,omitempty"`
}

// Settings are CDM inputs by name. Values may be given as strings,
// numbers or booleans (a port as 3306); CDM gets them as strings.
type Settings map[string]string

// UnmarshalJSON reads scalar values as text and refuses anything else,
// naming the key but never the value, which may be a resolved secret.
func (s *Settings) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(Settings, len(raw))
	for _, k := range keys {
		v := raw[k]
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return err
		}
		switch x.(type) {
		case string, float64, bool:
			out[k] = jsonText(v)
		default:
			return fmt.Errorf("value of %q must be a string, a number or true/false", k)
		}
	}
	*s = out
	return nil
}

// Activities are the cdm.job step activities.
type Activities struct {
	Client *Client
	// ProjectID is used when the plan names none.
	ProjectID string
	// Secrets resolves ${secret.NAME} in step inputs (link passwords).
	Secrets activities.Secrets
}

// NewActivities returns the activities for the CDM endpoint baseURL; hc
// carries authentication, projectID is the default project.
func NewActivities(baseURL string, hc *http.Client, projectID string, secrets activities.Secrets) *Activities {
	return &Activities{Client: NewClient(baseURL, hc), ProjectID: projectID, Secrets: secrets}
}

func (a *Activities) project(req activities.StepRequest) (string, error) {
	if req.Job != nil && req.Job.ProjectID != "" {
		return req.Job.ProjectID, nil
	}
	if req.Cloud.ProjectID != "" {
		return req.Cloud.ProjectID, nil
	}
	if a.ProjectID != "" {
		return a.ProjectID, nil
	}
	return "", temporal.NewNonRetryableApplicationError("no project id: set cloud.project_id in the spec or the worker's project id", activities.ErrRequestRejected, nil)
}

func rejected(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, activities.ErrRequestRejected, nil)
}

// decodeInput decodes and checks a step's `with`.
func decodeInput(with json.RawMessage) (*JobInput, error) {
	var in JobInput
	if err := json.Unmarshal(with, &in); err != nil {
		return nil, rejected("cdm.job input: " + err.Error())
	}
	if msg := in.check(); msg != "" {
		return nil, rejected("cdm.job input: " + msg)
	}
	return &in, nil
}

func (in *JobInput) check() string {
	switch {
	case in.Name == "":
		return "name is required"
	case in.ClusterID != "" && len(in.ClusterIDs) > 0:
		return "set cluster_id or cluster_ids, not both"
	case in.ClusterID == "" && len(in.ClusterIDs) == 0:
		return "set cluster_id or cluster_ids"
	case in.FromLink == "":
		return "from_link is required"
	case in.FromConnector == "":
		return "from_connector is required"
	case in.ToLink == "":
		return "to_link is required"
	case in.ToConnector == "":
		return "to_connector is required"
	}
	for i, c := range in.ClusterIDs {
		if c == "" {
			return fmt.Sprintf("cluster_ids[%d] is empty", i)
		}
		if slices.Index(in.ClusterIDs, c) < i {
			return fmt.Sprintf("cluster_ids lists %s twice", c)
		}
	}
	for _, k := range sortedKeys(in.DriverConfig) {
		if group, name, ok := strings.Cut(k, "."); !ok || group == "" || name == "" {
			return fmt.Sprintf("driver_config key %q must name its group, e.g. throttlingConfig.numExtractors", k)
		}
	}
	seen := map[string]bool{}
	for i, l := range in.Links {
		switch {
		case l.Name == "":
			return fmt.Sprintf("links[%d].name is required", i)
		case l.Connector == "":
			return fmt.Sprintf("links[%d].connector is required", i)
		case seen[l.Name]:
			return fmt.Sprintf("links[%d]: link %s is listed twice", i, l.Name)
		}
		seen[l.Name] = true
	}
	return ""
}

// clusters are the clusters the job may live in, in the spec's order.
func (in *JobInput) clusters() []string {
	if in.ClusterID != "" {
		return []string{in.ClusterID}
	}
	return in.ClusterIDs
}

// definition is the job as CDM stores it.
func (in *JobInput) definition() Job {
	return Job{
		JobType:            JobType,
		Name:               in.Name,
		FromConnectorName:  in.FromConnector,
		ToConnectorName:    in.ToConnector,
		FromLinkName:       in.FromLink,
		ToLinkName:         in.ToLink,
		FromConfigValues:   ConfigValues{Configs: []Config{group(GroupFrom, in.FromConfig)}},
		ToConfigValues:     ConfigValues{Configs: []Config{group(GroupTo, in.ToConfig)}},
		DriverConfigValues: driverConfig(in.DriverConfig),
	}
}

// group puts settings into one config group, qualifying bare names.
func group(name string, s Settings) Config {
	c := Config{Name: name, Inputs: Inputs{}}
	for _, k := range sortedKeys(s) {
		full := k
		if !strings.HasPrefix(k, name+".") {
			full = name + "." + k
		}
		c.Inputs = append(c.Inputs, Input{Name: full, Value: s[k]})
	}
	return c
}

// driverConfig groups job settings by the group their keys name.
func driverConfig(s Settings) ConfigValues {
	cv := ConfigValues{Configs: []Config{}}
	for _, k := range sortedKeys(s) {
		g, _, _ := strings.Cut(k, ".")
		if n := len(cv.Configs); n == 0 || cv.Configs[n-1].Name != g {
			cv.Configs = append(cv.Configs, Config{Name: g, Inputs: Inputs{}})
		}
		last := &cv.Configs[len(cv.Configs)-1]
		last.Inputs = append(last.Inputs, Input{Name: k, Value: s[k]})
	}
	return cv
}

func sortedKeys(s Settings) []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// differences names the parts of have that differ from want. Only the
// inputs the spec sets are compared: CDM answers a query with every input
// of the connector, defaults included.
func differences(want, have Job) []string {
	var diff []string
	for _, f := range []struct{ name, want, have string }{
		{"job_type", want.JobType, cmp.Or(have.JobType, JobType)},
		{"from-connector-name", want.FromConnectorName, have.FromConnectorName},
		{"to-connector-name", want.ToConnectorName, have.ToConnectorName},
		{"from-link-name", want.FromLinkName, have.FromLinkName},
		{"to-link-name", want.ToLinkName, have.ToLinkName},
	} {
		if f.want != f.have {
			diff = append(diff, f.name)
		}
	}
	for _, f := range []struct {
		name       string
		want, have ConfigValues
	}{
		{"from-config-values", want.FromConfigValues, have.FromConfigValues},
		{"to-config-values", want.ToConfigValues, have.ToConfigValues},
		{"driver-config-values", want.DriverConfigValues, have.DriverConfigValues},
	} {
		got := f.have.Flatten()
		for name, v := range f.want.Flatten() {
			if hv, ok := got[name]; !ok || hv != v {
				diff = append(diff, f.name)
				break
			}
		}
	}
	return diff
}

// handle addresses one run: Job.ID is "cluster/job name/submission id".
// The cluster comes first and the submission last, so a job name holding
// a slash still parses.
type handle struct {
	Cluster    string
	Name       string
	Submission int64 // 0 = whichever run is newest
}

func (h handle) String() string { return fmt.Sprintf("%s/%s/%d", h.Cluster, h.Name, h.Submission) }

func parseHandle(id string) (handle, error) {
	cluster, rest, ok := strings.Cut(id, "/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i <= 0 || cluster == "" {
		return handle{}, rejected(fmt.Sprintf("CDM job handle %q is not cluster/job/submission", id))
	}
	sub, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil || sub < 0 {
		return handle{}, rejected(fmt.Sprintf("CDM job handle %q is not cluster/job/submission", id))
	}
	return handle{Cluster: cluster, Name: rest[:i], Submission: sub}, nil
}

// submitMark is what a submit records as its heartbeat just before it
// starts a run: the newest run of the job at that moment. A retry of the
// same submit (Temporal hands it the last heartbeat) knows that a newer
// run is its own.
type submitMark struct {
	// Cluster is where the run was started; "" for create-and-execute,
	// which may have picked any of the listed clusters.
	Cluster string `json:"cluster"`
	Job     string `json:"job"`
	// Before is the newest submission ID before the start; 0 = none.
	Before int64 `json:"before"`
}

// owns reports whether run sub of job name in cluster was started by the
// submit that left the mark.
func (m *submitMark) owns(cluster, name string, sub int64) bool {
	return m != nil && m.Job == name && (m.Cluster == "" || m.Cluster == cluster) && sub != 0 && sub != m.Before
}

// SubmitJob ensures the step's links and job exist in CDM and starts a run
// of the job, or re-attaches to the run an earlier try of this same submit
// started.
//
// CDM jobs carry no tags and a run (submission) carries nothing of the
// caller's, so the idempotency key cannot be stored on the service. The
// user names the job, unique in its cluster, and the step owns the job of
// that name: a job found by name is the step's, created by an earlier run
// or try; if its definition differs from the spec it is modified. What
// must not happen twice is the start. Just before starting, submit
// records the job's newest submission ID as its heartbeat; a retried
// submit (Temporal passes the last heartbeat to the next try of the same
// activity) finds the job by name and, if its newest submission is not
// that one, re-attaches to it — even if it already ended. Without a
// heartbeat (a new step attempt) a running submission is someone else's:
// CDM runs a job once at a time, so the submit is refused rather than
// reporting another run's outcome as its own. An ended one is started
// again: a new attempt makes a new run.
//
// With cluster_ids, a job that exists in one of the clusters (the first
// in the list holding it) is run there; otherwise it is created and
// started with the random-cluster API, whose answer does not name the
// cluster: submit then asks each listed cluster for the job's status and
// puts the cluster that has it (and the answer's submission ID) into the
// handle, so wait and cancel address one cluster. A retry after a lost
// answer finds the job by name in that cluster as above.
func (a *Activities) SubmitJob(ctx context.Context, req activities.StepRequest) (*activities.Job, error) {
	with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
	if err != nil {
		return nil, err
	}
	in, err := decodeInput(with)
	if err != nil {
		return nil, err
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	var mark *submitMark
	if activity.HasHeartbeatDetails(ctx) {
		var m submitMark
		if err := activity.GetHeartbeatDetails(ctx, &m); err == nil && m.Job == in.Name {
			mark = &m
		}
	}

	cluster, existing, err := a.findJob(ctx, projectID, in.clusters(), in.Name)
	if err != nil {
		return nil, activities.Classify(err)
	}
	if existing == nil && len(in.ClusterIDs) > 0 {
		return a.createAndExecute(ctx, req, projectID, in)
	}
	if existing == nil {
		cluster = in.ClusterID
	}
	log := activity.GetLogger(ctx)

	var before int64
	if existing != nil {
		st, err := a.Client.JobStatus(ctx, projectID, cluster, in.Name)
		if err != nil {
			return nil, activities.Classify(err)
		}
		before = st.ID()
		if mark.owns(cluster, in.Name, before) {
			h := handle{cluster, in.Name, before}
			log.Info("re-attached to CDM job run", "step", req.StepID, "cluster_id", cluster, "job", in.Name, "submission", before, "status", st.Status)
			return &activities.Job{ID: h.String(), ProjectID: projectID, Reattached: true}, nil
		}
		if Running(st.Status) {
			return nil, rejected(fmt.Sprintf("CDM job %s in cluster %s is already running (submission %d, %s), a run this step did not start; CDM runs a job once at a time",
				in.Name, cluster, before, st.Status))
		}
	}
	if err := a.ensureLinks(ctx, req, projectID, []string{cluster}, in.Links); err != nil {
		return nil, activities.Classify(err)
	}
	def := in.definition()
	if existing == nil {
		if err := a.Client.CreateJob(ctx, projectID, cluster, def); err != nil {
			return nil, activities.Classify(err)
		}
		log.Info("created CDM job", "step", req.StepID, "cluster_id", cluster, "job", in.Name)
	} else if diff := differences(def, *existing); len(diff) > 0 {
		if err := a.Client.ModifyJob(ctx, projectID, cluster, in.Name, def); err != nil {
			return nil, activities.Classify(err)
		}
		log.Info("updated CDM job to the spec", "step", req.StepID, "cluster_id", cluster, "job", in.Name, "changed", strings.Join(diff, ","))
	}

	activity.RecordHeartbeat(ctx, submitMark{Cluster: cluster, Job: in.Name, Before: before})
	sub, err := a.Client.StartJob(ctx, projectID, cluster, in.Name)
	if err != nil {
		return nil, activities.Classify(err)
	}
	id := sub.ID()
	if id == 0 {
		// The start answer's sample has no submission ID; the status has.
		st, err := a.Client.JobStatus(ctx, projectID, cluster, in.Name)
		if err != nil {
			return nil, activities.Classify(err)
		}
		id = st.ID()
	}
	log.Info("started CDM job", "step", req.StepID, "cluster_id", cluster, "job", in.Name, "submission", id)
	return &activities.Job{ID: handle{cluster, in.Name, id}.String(), ProjectID: projectID}, nil
}

// findJob returns the first of clusters holding a job called name, and
// the job; no cluster and nil when none does.
func (a *Activities) findJob(ctx context.Context, projectID string, clusters []string, name string) (string, *Job, error) {
	for _, c := range clusters {
		job, err := a.Client.FindJob(ctx, projectID, c, name)
		if err != nil {
			return "", nil, err
		}
		if job != nil {
			return c, job, nil
		}
	}
	return "", nil, nil
}

// createAndExecute runs a job that exists in none of the listed clusters
// with the random-cluster API, then finds out where CDM put it.
func (a *Activities) createAndExecute(ctx context.Context, req activities.StepRequest, projectID string, in *JobInput) (*activities.Job, error) {
	if err := a.ensureLinks(ctx, req, projectID, in.ClusterIDs, in.Links); err != nil {
		return nil, activities.Classify(err)
	}
	activity.RecordHeartbeat(ctx, submitMark{Job: in.Name})
	sub, err := a.Client.CreateAndExecuteJob(ctx, projectID, in.ClusterIDs, in.definition())
	if err != nil {
		return nil, activities.Classify(err)
	}
	var want int64
	if sub != nil {
		want = sub.ID()
	}
	for _, c := range in.ClusterIDs {
		st, err := a.Client.JobStatus(ctx, projectID, c, in.Name)
		if HasCode(err, CodeNoJob) {
			continue
		}
		if err != nil {
			// A retry finds the job by name and re-attaches.
			return nil, activities.Classify(err)
		}
		if want == 0 || st.ID() == want {
			id := cmp.Or(st.ID(), want)
			activity.GetLogger(ctx).Info("created and started CDM job in a cluster CDM chose", "step", req.StepID,
				"cluster_id", c, "job", in.Name, "submission", id)
			return &activities.Job{ID: handle{c, in.Name, id}.String(), ProjectID: projectID}, nil
		}
	}
	// Retryable: the next try finds the job by name.
	return nil, activities.Classify(fmt.Errorf("CDM created job %s in one of the clusters %s, but none of them reports it",
		in.Name, strings.Join(in.ClusterIDs, ", ")))
}

// ensureLinks creates the links that are missing in each cluster. An
// existing link is left as it is: CDM never returns its credentials, so
// whether its settings match cannot be told, and rewriting them on every
// run is not the step's business. Only names are logged, never inputs.
func (a *Activities) ensureLinks(ctx context.Context, req activities.StepRequest, projectID string, clusters []string, links []LinkInput) error {
	for _, c := range clusters {
		for _, l := range links {
			have, err := a.Client.FindLink(ctx, projectID, c, l.Name)
			if err != nil {
				return err
			}
			if have != nil {
				if have.ConnectorName != "" && have.ConnectorName != l.Connector {
					return rejected(fmt.Sprintf("CDM link %s in cluster %s exists with connector %s, not %s", l.Name, c, have.ConnectorName, l.Connector))
				}
				continue
			}
			link := Link{
				Name:             l.Name,
				ConnectorName:    l.Connector,
				Enabled:          true,
				LinkConfigValues: ConfigValues{Configs: []Config{group(GroupLink, l.Config)}},
			}
			if err := a.Client.CreateLink(ctx, projectID, c, link); err != nil {
				return err
			}
			activity.GetLogger(ctx).Info("created CDM link", "step", req.StepID, "cluster_id", c, "link", l.Name,
				"connector", l.Connector, "inputs", len(l.Config))
		}
	}
	return nil
}

// WaitJob checks the run once. While it runs, it fails with a benign,
// retryable error whose NextRetryDelay is the next poll interval, so the
// server polls without a worker slot held and without history events.
//
// Outputs are always all present: a counter CDM reports as not
// applicable (-1, e.g. bytes of a table copy) or leaves out is "0", so a
// later step can compare or add them without checking first.
func (a *Activities) WaitJob(ctx context.Context, req activities.StepRequest) (*activities.Result, error) {
	if req.Job == nil || req.Job.ID == "" {
		return nil, rejected("wait without a job")
	}
	h, err := parseHandle(req.Job.ID)
	if err != nil {
		return nil, err
	}
	projectID, err := a.project(req)
	if err != nil {
		return nil, err
	}
	st, err := a.run(ctx, projectID, h)
	if err != nil {
		return nil, err
	}
	progress := activities.Progress{JobID: req.Job.ID, State: st.Status, Percent: min(max(float64(st.Progress), 0), 100), Checked: time.Now()}
	switch st.Status {
	case StateSucceeded:
		return &activities.Result{State: st.Status, Outputs: outputs(st, h)}, nil
	case StateFailed, StateFailureOnSubmit:
		return nil, activities.JobFailed(req.Job.ID, st.Status, cmp.Or(st.ErrorSummary, st.ErrorDetails))
	case StateStopped:
		msg := "the run was stopped"
		return nil, temporal.NewNonRetryableApplicationError("job "+req.Job.ID+" ended "+st.Status+": "+msg, activities.ErrJobCancelled, nil,
			activities.Result{State: st.Status, Message: msg})
	case StateNeverExecuted:
		return nil, rejected(fmt.Sprintf("CDM job %s in cluster %s has no run to wait for", h.Name, h.Cluster))
	case StateBooting, StatePending, StateRunning:
		return nil, activities.StillRunning(progress, activities.NextPoll(req.Poll, activity.GetInfo(ctx).Attempt))
	}
	// UNKNOWN, or a state CDM added: polled again, slowly, rather than
	// failed.
	activity.GetLogger(ctx).Warn("unknown CDM submission state", "job_id", req.Job.ID, "state", st.Status)
	return nil, activities.StillRunning(progress, time.Duration(req.Poll.MaxInterval))
}

// run returns the state of the run h names: the job's newest, or, when
// another run followed it, the one in the job's history.
func (a *Activities) run(ctx context.Context, projectID string, h handle) (*Submission, error) {
	st, err := a.Client.JobStatus(ctx, projectID, h.Cluster, h.Name)
	if err != nil {
		return nil, activities.Classify(err)
	}
	if h.Submission == 0 || st.ID() == h.Submission {
		return st, nil
	}
	hist, err := a.Client.History(ctx, projectID, h.Cluster, h.Name)
	if err != nil {
		return nil, activities.Classify(err)
	}
	for i := range hist {
		if hist[i].ID() == h.Submission {
			return &hist[i], nil
		}
	}
	return nil, rejected(fmt.Sprintf("run %d of CDM job %s in cluster %s is not in the job's recent history", h.Submission, h.Name, h.Cluster))
}

// counterOutputs maps outputs to CDM's counters.
var counterOutputs = []struct{ output, counter string }{
	{"rows_read", "ROWS_READ"},
	{"rows_written", "ROWS_WRITTEN"},
	{"bytes_read", "BYTES_READ"},
	{"bytes_written", "BYTES_WRITTEN"},
	{"files_read", "FILES_READ"},
	{"files_written", "FILES_WRITTEN"},
}

func outputs(st *Submission, h handle) map[string]string {
	out := map[string]string{"submission_id": strconv.FormatInt(cmp.Or(st.ID(), h.Submission), 10)}
	for _, c := range counterOutputs {
		v, ok := st.Counter(c.counter)
		if !ok || v < 0 {
			v = 0
		}
		out[c.output] = strconv.FormatInt(v, 10)
	}
	return out
}

// CancelJob stops the step's run. A run that already ended, or a job that
// does not exist, is not an error: cancel runs whenever a started step is
// abandoned, whatever its run did meanwhile.
//
// With no handle (submit was interrupted), the job is looked up by name in
// the step's cluster(s) and its running submission, if any, is stopped:
// CDM runs carry no mark of the attempt that started them, and the step
// owns the job of that name.
func (a *Activities) CancelJob(ctx context.Context, req activities.StepRequest) error {
	projectID, err := a.project(req)
	if err != nil {
		return err
	}
	if req.Job != nil && req.Job.ID != "" {
		h, err := parseHandle(req.Job.ID)
		if err != nil {
			return err
		}
		return a.stop(ctx, req, projectID, h)
	}
	// Only names are needed: the placeholders stay unresolved.
	in, err := decodeInput(req.With)
	if err != nil {
		return err
	}
	for _, c := range in.clusters() {
		if err := a.stop(ctx, req, projectID, handle{Cluster: c, Name: in.Name}); err != nil {
			return err
		}
	}
	return nil
}

func (a *Activities) stop(ctx context.Context, req activities.StepRequest, projectID string, h handle) error {
	st, err := a.Client.JobStatus(ctx, projectID, h.Cluster, h.Name)
	if HasCode(err, CodeNoJob) {
		return nil
	}
	if err != nil {
		return activities.Classify(err)
	}
	if !Running(st.Status) || (h.Submission != 0 && st.ID() != 0 && st.ID() != h.Submission) {
		return nil // ours ended; a newer run is not ours to stop
	}
	if _, err := a.Client.StopJob(ctx, projectID, h.Cluster, h.Name); err != nil {
		if HasCode(err, CodeJobNotRunning) || HasCode(err, CodeNoJob) {
			return nil // it ended between the two calls
		}
		return activities.Classify(fmt.Errorf("stop CDM job %s: %w", h.Name, err))
	}
	activity.GetLogger(ctx).Info("stopped CDM job", "step", req.StepID, "cluster_id", h.Cluster, "job", h.Name, "submission", st.ID())
	return nil
}
