package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// This file holds the CDM (Cloud Data Migration) state and what its
// clusters, links and jobs share. The API is DAYU API Reference chapter 5
// (seed 000, lines 1360-4373) and the single page "Creating a Job in a
// Specified Cluster" (seed 003); shared/reference/cdm.md digests both.

// The cluster every project has without creating one, so that a pipeline
// can name it in its spec.
const (
	CDMDefaultClusterID   = "cdm-cluster-1"
	CDMDefaultClusterName = "cdm-emulated"
)

// CDM error codes (DAYU 8.2.1, from line 14315).
const (
	cdmSystemError   = "Cdm.0000" // System error.
	cdmNoResource    = "Cdm.0001" // The resource does not exist or is invalid.
	cdmInvalidParam  = "Cdm.0014" // Invalid parameter.
	cdmInvalidBody   = "Cdm.0018" // The content of jobs or links is invalid.
	cdmLinkInUse     = "Cdm.0021" // the delete-link sample's code for a link in use
	cdmOutOfRange    = "Cdm.0024" // [%s] must be within the range of [%s].
	cdmSubmitFailed  = "Cdm.0037" // Failed to submit the job.
	cdmJobRunning    = "Cdm.0052" // Job %s is running.
	cdmJobNotRunning = "Cdm.0053" // Job %s is not running.
	cdmSubmitCause   = "Cdm.0056" // Failed to submit the job. Cause: %s.
	cdmLinkDisabled  = "Cdm.0060" // Link %s for this job has been disabled.
	cdmNoJob         = "Cdm.0100" // Job[%s] doesn't exist.
	cdmNoLink        = "Cdm.0101" // Link [%s] does not exist.
	cdmJobExists     = "Cdm.0104" // Job name already exist or created by other.
	cdmLinkExists    = "Cdm.0315" // Link name %s already exists.
	cdmNoLinkUpdate  = "Cdm.0316" // Failed to update the link that does not exist.
	cdmNoJobUpdate   = "Cdm.0319" // Failed to update the job that does not exist.
)

// cdmUser is the creation-user/update-user of everything: tokens are not
// tied to users. "cdm" is what the samples show.
const cdmUser = "cdm"

func (e *Emulator) registerCDM() {
	e.registerCDMClusters()
	e.registerCDMLinks()
	e.registerCDMJobs()
	e.registerCDMSubmissions()
	e.addDumper(CDM, "clusters", func() any { return e.CDMClusters() })
	e.addDumper(CDM, "links", func() any { return redactCDMLinks(e.CDMLinks()) })
	e.addDumper(CDM, "jobs", func() any { return e.CDMJobs() })
}

// cdmState is the CDM part of the emulator state, guarded by Emulator.mu.
// Links and jobs live in their cluster, so deleting a cluster drops them.
// Every field is exported so the state survives a JSON round trip.
type cdmState struct {
	Clusters []*cdmCluster `json:"clusters"` // creation order, all projects
	// Seeded records the projects that got the default cluster, so that
	// deleting it does not bring it back.
	Seeded map[string]bool `json:"seeded"`
	// LastSeq numbers clusters, links, jobs and submissions: it orders
	// them and gives the Integer ids the API reports.
	LastSeq int64 `json:"last_seq"`
}

func (s *cdmState) nextSeq() int64 {
	s.LastSeq++
	return s.LastSeq
}

// cdmSeed gives project its default cluster the first time the project
// is seen. e.mu is held.
func (e *Emulator) cdmSeed(project string) {
	if e.cdm.Seeded[project] {
		return
	}
	if e.cdm.Seeded == nil {
		e.cdm.Seeded = map[string]bool{}
	}
	e.cdm.Seeded[project] = true
	now := e.now()
	e.cdm.Clusters = append(e.cdm.Clusters, &cdmCluster{
		Seq:       e.cdm.nextSeq(),
		ProjectID: project,
		ID:        CDMDefaultClusterID,
		Name:      CDMDefaultClusterName,
		Created:   now,
		Updated:   now,
		Status:    cdmClusterNormal,
		Datastore: cdmDatastore{Type: "cdm", Version: cdmDefaultVersion},
		Instances: []cdmInstance{{
			ID:        cdmDefaultNodeID(project),
			Name:      CDMDefaultClusterName + "-cdm-dn-1-1",
			FlavorRef: cdmFlavorMedium,
			AZ:        "emulated-az",
			ShardID:   "dn-1",
		}},
		TaskID: cdmHexID(),
		Jobs:   map[string]*cdmJob{},
		Links:  map[string]*cdmLink{},
	})
}

// cdmDefaultNodeID is a stable node ID for a project's default cluster.
func cdmDefaultNodeID(project string) string {
	return "emulated-node-" + project
}

// cdmFindCluster returns the cluster named by the path, seeding the
// project first. e.mu is held.
func (e *Emulator) cdmFindCluster(r *http.Request) (*cdmCluster, bool) {
	project, id := r.PathValue("project_id"), r.PathValue("cluster_id")
	e.cdmSeed(project)
	for _, c := range e.cdm.Clusters {
		if c.ProjectID == project && c.ID == id {
			return c, true
		}
	}
	return nil, false
}

// writeCDMError writes CDM's error body (code, errCode, message,
// externalMessage; see writeServiceError).
func writeCDMError(w http.ResponseWriter, status int, code, msg string) {
	writeServiceError(w, CDM, status, code, msg)
}

// Which HTTP status goes with which Cdm code: the error table (DAYU
// @14315) lists 400 for every code, but the samples answer 500 for a
// missing job (Cdm.0100, delete job @2608) and for a link in use
// (Cdm.0021, delete link @4157), and 400 only for a duplicate job name
// (Cdm.0104, seed 003 @674). The emulator follows the samples: "does not
// exist" and "in use" are 500, other Cdm errors 400, and an unknown
// cluster, which no sample covers, 404. Clients must decide on errCode,
// not on the status.

func writeCDMClusterNotFound(w http.ResponseWriter, r *http.Request) {
	// No sample covers an unknown cluster; every cluster API lists 404
	// ("The requested resource was not found"), so the emulator uses it.
	writeCDMError(w, http.StatusNotFound, cdmNoResource,
		fmt.Sprintf("The resource does not exist or is invalid: cluster %s.", r.PathValue("cluster_id")))
}

func writeCDMJobNotFound(w http.ResponseWriter, name string) {
	// The sample's wording (@2608), not the table's "Job [%s] does not exist.".
	writeCDMError(w, http.StatusInternalServerError, cdmNoJob, fmt.Sprintf("Job[%s] doesn't exist.", name))
}

func writeCDMLinkNotFound(w http.ResponseWriter, name string) {
	writeCDMError(w, http.StatusInternalServerError, cdmNoLink, fmt.Sprintf("Link [%s] does not exist.", name))
}

// writeCDMInjected answers a start or create-and-execute with the status a
// rule's SubmitErrors chose.
func writeCDMInjected(w http.ResponseWriter, status int) {
	code, msg := cdmSubmitFailed, fmt.Sprintf("Failed to submit the job (injected HTTP %d).", status)
	switch {
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		msg = "Failed to submit the job: too many requests, retry later (injected)."
	case status >= 500:
		code, msg = cdmSystemError, fmt.Sprintf("System error (injected HTTP %d).", status)
	}
	writeCDMError(w, status, code, msg)
}

// cdmMillis renders t as the API's millisecond timestamps; the zero time is 0.
func cdmMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// cdmHexID returns 32 hex digits, the format of CDM task and action IDs
// ("ff8080815e55125a015e552eddba001a").
func cdmHexID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b[:])
}
