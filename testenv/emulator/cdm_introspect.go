package emulator

import (
	"cmp"
	"slices"
	"time"
)

// CDMCluster is a snapshot of an emulated CDM cluster.
type CDMCluster struct {
	ProjectID, ID, Name string
	Status              string // status code as a detail call would report it now: "100", "200", "900", ...
	Action              string // "REBOOTING" while a restart lasts, else ""
	Created, Updated    time.Time
	// Accepted actions that changed the cluster (no-op starts and stops
	// are not counted).
	Starts, Stops, Restarts int
}

// CDMLink is a snapshot of an emulated CDM link. Inputs holds every input
// by name, secrets included.
type CDMLink struct {
	ProjectID, ClusterID, Name, Connector string
	Enabled                               bool
	Inputs                                map[string]string
	Created, Updated                      time.Time
}

// CDMJob is a snapshot of an emulated CDM job.
type CDMJob struct {
	ProjectID, ClusterID, Name, JobType string
	ID                                  int64
	FromConnector, FromLink             string
	ToConnector, ToLink                 string
	// Inputs of the from-, to- and driver-config-values by name.
	FromConfig, ToConfig, DriverConfig map[string]string
	Status                             string // job-level status now: NEW, BOOTING, RUNNING, SUCCEEDED, FAILED
	Created, Updated                   time.Time
	Starts, Stops                      int // accepted starts and stops
	StatusCalls                        int // GET .../status calls
	Submissions                        []CDMSubmission
}

// CDMSubmission is a snapshot of one run of a CDM job.
type CDMSubmission struct {
	ID                 int64
	Status             string  // BOOTING, RUNNING, SUCCEEDED, FAILED or STOPPED
	Progress           float64 // 0-100, -1 once FAILED
	StartedAt, EndedAt time.Time
	RowsRead           int64
	ErrorSummary       string // once FAILED
}

// CDMClusters returns every CDM cluster of every project in creation order.
// A project's default cluster exists once the project made a CDM call.
func (e *Emulator) CDMClusters() []CDMCluster {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	out := make([]CDMCluster, 0, len(e.cdm.Clusters))
	for _, c := range e.cdm.Clusters {
		c.settle(now)
		out = append(out, CDMCluster{
			ProjectID: c.ProjectID, ID: c.ID, Name: c.Name,
			Status: c.Status, Action: c.Action,
			Created: c.Created, Updated: c.Updated,
			Starts: c.Starts, Stops: c.Stops, Restarts: c.Restarts,
		})
	}
	return out
}

// CDMLinks returns every CDM link of every cluster in creation order.
func (e *Emulator) CDMLinks() []CDMLink {
	e.mu.Lock()
	defer e.mu.Unlock()
	type seqLink struct {
		seq  int64
		link CDMLink
	}
	var all []seqLink
	for _, c := range e.cdm.Clusters {
		for _, l := range c.Links {
			all = append(all, seqLink{l.Seq, CDMLink{
				ProjectID: c.ProjectID, ClusterID: c.ID, Name: l.Name, Connector: l.Connector,
				Enabled: l.Enabled, Inputs: l.Config.inputs(), Created: l.Created, Updated: l.Updated,
			}})
		}
	}
	slices.SortFunc(all, func(a, b seqLink) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]CDMLink, len(all))
	for i, l := range all {
		out[i] = l.link
	}
	return out
}

// redactCDMLinks masks secret inputs, for views served over HTTP.
func redactCDMLinks(links []CDMLink) []CDMLink {
	for _, l := range links {
		for name := range l.Inputs {
			if cdmSensitive(name) {
				l.Inputs[name] = "******"
			}
		}
	}
	return links
}

// CDMJobs returns every CDM job of every cluster in creation order.
func (e *Emulator) CDMJobs() []CDMJob {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	var jobs []*cdmJob
	clusterOf := map[*cdmJob]*cdmCluster{}
	for _, c := range e.cdm.Clusters {
		for _, j := range c.Jobs {
			jobs = append(jobs, j)
			clusterOf[j] = c
		}
	}
	slices.SortFunc(jobs, func(a, b *cdmJob) int { return cmp.Compare(a.Seq, b.Seq) })
	out := make([]CDMJob, len(jobs))
	for i, j := range jobs {
		out[i] = j.snapshot(clusterOf[j], now)
	}
	return out
}

// CDMJob returns the named job of a cluster.
func (e *Emulator) CDMJob(projectID, clusterID, name string) (CDMJob, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.cdm.Clusters {
		if c.ProjectID == projectID && c.ID == clusterID {
			if j := c.Jobs[name]; j != nil {
				return j.snapshot(c, e.now()), true
			}
		}
	}
	return CDMJob{}, false
}

func (j *cdmJob) snapshot(c *cdmCluster, now time.Time) CDMJob {
	out := CDMJob{
		ProjectID: c.ProjectID, ClusterID: c.ID, Name: j.Name, JobType: j.JobType, ID: j.ID,
		FromConnector: j.FromConnector, FromLink: j.FromLink,
		ToConnector: j.ToConnector, ToLink: j.ToLink,
		FromConfig: j.FromConfig.inputs(), ToConfig: j.ToConfig.inputs(), DriverConfig: j.DriverConfig.inputs(),
		Status:  cdmJobNew,
		Created: j.Created, Updated: j.Updated,
		Starts: j.Starts, Stops: j.Stops, StatusCalls: j.StatusCalls,
		Submissions: make([]CDMSubmission, len(j.Submissions)),
	}
	for i, s := range j.Submissions {
		status, ended := s.state(now)
		sub := CDMSubmission{
			ID: s.ID, Status: status, Progress: s.progress(now),
			StartedAt: s.Started, EndedAt: ended, RowsRead: s.rows(now),
		}
		if status == cdmFailed {
			sub.ErrorSummary, _ = s.failure()
		}
		out.Submissions[i] = sub
		out.Status = cdmJobStatus(status)
	}
	return out
}
