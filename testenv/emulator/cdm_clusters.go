package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// CDM cluster status codes (C1 table 5-3, "status").
const (
	cdmClusterCreating = "100"
	cdmClusterNormal   = "200"
	cdmClusterFailed   = "300"
	cdmClusterCreateKO = "303"
	cdmClusterFrozen   = "800"
	cdmClusterStopped  = "900"
	cdmClusterStopping = "910"
	cdmClusterStarting = "920"
)

// cdmRebooting is the node action a restart shows while it lasts; the
// detail sample pairs it with status "200" and statusDetail "Normal".
const cdmRebooting = "REBOOTING"

var cdmStatusDetail = map[string]string{
	cdmClusterCreating: "Creating",
	cdmClusterNormal:   "Normal",
	cdmClusterFailed:   "Failed",
	cdmClusterCreateKO: "Creation failed",
	cdmClusterFrozen:   "Frozen",
	cdmClusterStopped:  "Stopped",
	cdmClusterStopping: "Stopping",
	cdmClusterStarting: "Starting",
}

// Flavors a cluster may be created with (C6 table 5-39, flavorRef).
const cdmFlavorMedium = "fb8fe666-6734-4b11-bc6c-43d11db3c745"

var cdmFlavors = map[string]string{
	"a79fd5ae-1833-448a-88e8-3ea2b913e1f6": "cdm.small",
	cdmFlavorMedium:                        "cdm.medium",
	"5ddb1071-c5d7-40e0-a874-8a032e81a697": "cdm.large",
	"6ddb1072-c5d7-40e0-a874-8a032e81a698": "cdm.xlarge",
}

const cdmDefaultVersion = "2.9.1.100" // the create response sample's version

// cdmTimeLayout is how cluster times are written. The tables say
// "YYYY-MM-DDThh:mm:ssZ" but every sample (@1584, @2296, @826) has no
// zone suffix; the emulator writes UTC the samples' way, so clients must
// accept both.
const cdmTimeLayout = "2006-01-02T15:04:05"

type cdmCluster struct {
	Seq       int64     `json:"seq"`
	ProjectID string    `json:"project_id"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	// Status and Action (a node action such as REBOOTING) hold until
	// Until, when a transition in progress ends in status Then. Reads
	// settle it lazily from the clock.
	Status string    `json:"status"`
	Action string    `json:"action,omitempty"`
	Until  time.Time `json:"until"`
	Then   string    `json:"then,omitempty"`

	Datastore         cdmDatastore  `json:"datastore"`
	Instances         []cdmInstance `json:"instances"`
	VpcID             string        `json:"vpc_id,omitempty"`
	SubnetID          string        `json:"subnet_id,omitempty"`
	SecurityGroupID   string        `json:"security_group_id,omitempty"`
	IsAutoOff         bool          `json:"is_auto_off,omitempty"`
	IsScheduleBootOff bool          `json:"is_schedule_boot_off,omitempty"`
	TaskID            string        `json:"task_id"`

	Starts   int `json:"starts"`
	Stops    int `json:"stops"`
	Restarts int `json:"restarts"`

	Links map[string]*cdmLink `json:"links"` // by name
	Jobs  map[string]*cdmJob  `json:"jobs"`  // by name
}

type cdmDatastore struct {
	Type    string `json:"type"`
	Version string `json:"version"`
}

type cdmInstance struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	FlavorRef string `json:"flavor_ref"`
	AZ        string `json:"az"`
	ShardID   string `json:"shard_id"`
}

// settle ends a transition whose time has come.
func (c *cdmCluster) settle(now time.Time) {
	if !c.Until.IsZero() && !now.Before(c.Until) {
		c.Status, c.Action, c.Updated = c.Then, "", c.Until
		c.Until, c.Then = time.Time{}, ""
	}
}

// transition starts a change that shows status and action for d, then
// becomes then.
func (c *cdmCluster) transition(now time.Time, d time.Duration, status, action, then string) {
	c.Status, c.Action, c.Updated = status, action, now
	c.Until, c.Then = now.Add(d), then
}

// usable reports whether jobs can run: normal and not restarting.
func (c *cdmCluster) usable() bool {
	return c.Status == cdmClusterNormal && c.Action == ""
}

// abortRunning ends the cluster's running submissions as FAILED, for a
// stop or restart of the cluster.
func (c *cdmCluster) abortRunning(now time.Time, why string) {
	for _, j := range c.Jobs {
		if s := j.last(); s != nil && s.running(now) {
			s.AbortedAt, s.AbortMessage = now, why
		}
	}
}

func (e *Emulator) registerCDMClusters() {
	e.route(CDM, "GET /v1.1/{project_id}/clusters", e.cdmListClusters)
	e.route(CDM, "POST /v1.1/{project_id}/clusters", e.cdmCreateCluster)
	e.route(CDM, "GET /v1.1/{project_id}/clusters/{cluster_id}", e.cdmClusterDetail)
	e.route(CDM, "DELETE /v1.1/{project_id}/clusters/{cluster_id}", e.cdmDeleteCluster)
	e.route(CDM, "POST /v1.1/{project_id}/clusters/{cluster_id}/action", e.cdmClusterAction)
}

// cdmClusterJSON is a cluster in the list and detail responses (tables
// 5-3 and 5-50), the fields an emulated cluster can fill.
type cdmClusterJSON struct {
	PublicEndpoint    string            `json:"publicEndpoint"`
	Instances         []cdmInstanceJSON `json:"instances"`
	SecurityGroupID   string            `json:"security_group_id"`
	SubnetID          string            `json:"subnet_id"`
	VpcID             string            `json:"vpc_id"`
	Datastore         cdmDatastore      `json:"datastore"`
	IsAutoOff         bool              `json:"isAutoOff"`
	IsScheduleBootOff bool              `json:"isScheduleBootOff"`
	FlavorName        string            `json:"flavorName"`
	AzName            string            `json:"azName"`
	RecentEvent       int               `json:"recentEvent"`
	Task              cdmTaskJSON       `json:"task"`
	Created           string            `json:"created"`
	Updated           string            `json:"updated"`
	StatusDetail      string            `json:"statusDetail"`
	ConfigStatus      string            `json:"config_status"`
	ActionProgress    map[string]string `json:"actionProgress"`
	Name              string            `json:"name"`
	ID                string            `json:"id"`
	IsFrozen          string            `json:"isFrozen"`
	Actions           []string          `json:"actions"`
	Status            string            `json:"status"`
	Version           string            `json:"version"` // only in the detail sample
}

type cdmTaskJSON struct {
	Description string `json:"description,omitempty"`
	ID          string `json:"id"`
	Name        string `json:"name"`
}

// cdmInstanceJSON is a node. The detail sample writes actions as a string
// and the volume size as "100"; the tables say array of strings and Long,
// which the emulator follows.
type cdmInstanceJSON struct {
	Flavor struct {
		ID string `json:"id"`
	} `json:"flavor"`
	Volume struct {
		Type string `json:"type"`
		Size int64  `json:"size"`
	} `json:"volume"`
	Status       string   `json:"status"`
	Actions      []string `json:"actions"`
	Type         string   `json:"type"`
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	IsFrozen     string   `json:"isFrozen"`
	ConfigStatus string   `json:"config_status"`
	ShardID      string   `json:"shard_id"`
}

// json renders c at now (settled by the caller).
func (c *cdmCluster) json(now time.Time, d time.Duration) cdmClusterJSON {
	actions := []string{}
	if c.Action != "" {
		actions = append(actions, c.Action)
	}
	progress := map[string]string{}
	if c.Status == cdmClusterCreating && d > 0 {
		progress["CREATING"] = fmt.Sprintf("%d%%", min(99, 100*now.Sub(c.Created)/d))
	}
	out := cdmClusterJSON{
		SecurityGroupID:   c.SecurityGroupID,
		SubnetID:          c.SubnetID,
		VpcID:             c.VpcID,
		Datastore:         c.Datastore,
		IsAutoOff:         c.IsAutoOff,
		IsScheduleBootOff: c.IsScheduleBootOff,
		Task:              cdmTaskJSON{ID: c.TaskID, Name: "createCluster"},
		Created:           c.Created.UTC().Format(cdmTimeLayout),
		Updated:           c.Updated.UTC().Format(cdmTimeLayout),
		StatusDetail:      cdmStatusDetail[c.Status],
		ConfigStatus:      "In-Sync",
		ActionProgress:    progress,
		Name:              c.Name,
		ID:                c.ID,
		IsFrozen:          "0",
		Actions:           actions,
		Status:            c.Status,
		Version:           c.Datastore.Version,
		Instances:         []cdmInstanceJSON{},
	}
	nodeStatus := cdmClusterNormal
	if c.Status == cdmClusterCreating {
		nodeStatus = cdmClusterCreating
	}
	for _, in := range c.Instances {
		var ij cdmInstanceJSON
		ij.Flavor.ID = in.FlavorRef
		ij.Volume.Type, ij.Volume.Size = "LOCAL_DISK", 100
		ij.Status, ij.Actions, ij.Type = nodeStatus, actions, "cdm"
		ij.ID, ij.Name, ij.IsFrozen, ij.ConfigStatus, ij.ShardID = in.ID, in.Name, "0", "In-Sync", in.ShardID
		out.Instances = append(out.Instances, ij)
		if out.FlavorName == "" {
			out.FlavorName, out.AzName = cdmFlavors[in.FlavorRef], in.AZ
		}
	}
	return out
}

func (e *Emulator) cdmListClusters(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project_id")
	e.mu.Lock()
	e.cdmSeed(project)
	now := e.now()
	resp := struct {
		Clusters []cdmClusterJSON `json:"clusters"`
	}{Clusters: []cdmClusterJSON{}}
	for _, c := range e.cdm.Clusters {
		if c.ProjectID == project {
			c.settle(now)
			resp.Clusters = append(resp.Clusters, c.json(now, e.jobDuration))
		}
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// cdmClusterDetail answers "Querying Cluster Details". Table 5-3 puts the
// fields at the top level, the sample (@1562) inside "clusters": {...};
// the emulator follows the sample, so clients should accept both.
func (e *Emulator) cdmClusterDetail(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	c, ok := e.cdmFindCluster(r)
	var detail cdmClusterJSON
	if ok {
		now := e.now()
		c.settle(now)
		detail = c.json(now, e.jobDuration)
	}
	e.mu.Unlock()
	if !ok {
		writeCDMClusterNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Clusters cdmClusterJSON `json:"clusters"`
	}{detail})
}

type cdmCreateClusterRequest struct {
	Cluster *struct {
		Name      string `json:"name"`
		VpcID     string `json:"vpcId"`
		Instances []struct {
			AvailabilityZone string `json:"availability_zone"`
			Nics             []struct {
				SecurityGroupID string `json:"securityGroupId"`
				NetID           string `json:"net-id"`
			} `json:"nics"`
			FlavorRef string `json:"flavorRef"`
			Type      string `json:"type"`
		} `json:"instances"`
		Datastore         *cdmDatastore `json:"datastore"`
		IsScheduleBootOff bool          `json:"isScheduleBootOff"`
		ScheduleBootTime  string        `json:"scheduleBootTime"`
		ScheduleOffTime   string        `json:"scheduleOffTime"`
		IsAutoOff         bool          `json:"isAutoOff"`
		SysTags           []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"sys_tags"`
	} `json:"cluster"`
	AutoRemind bool   `json:"auto_remind"`
	PhoneNum   string `json:"phone_num"`
	Email      string `json:"email"`
}

// validate returns what is wrong with the request, or "".
func (req *cdmCreateClusterRequest) validate() string {
	c := req.Cluster
	if c == nil {
		return "cluster is mandatory"
	}
	if c.IsAutoOff && c.IsScheduleBootOff {
		return "isAutoOff and isScheduleBootOff cannot be enabled at the same time"
	}
	if c.Datastore != nil && c.Datastore.Type != "" && c.Datastore.Type != "cdm" {
		return fmt.Sprintf("datastore.type must be cdm, got %q", c.Datastore.Type)
	}
	for i, in := range c.Instances {
		switch {
		case in.AvailabilityZone == "":
			return fmt.Sprintf("instances[%d].availability_zone is mandatory", i)
		case len(in.Nics) == 0 || len(in.Nics) > 2:
			return fmt.Sprintf("instances[%d].nics must have one or two NICs", i)
		case cdmFlavors[in.FlavorRef] == "":
			return fmt.Sprintf("instances[%d].flavorRef %q is not a CDM flavor", i, in.FlavorRef)
		case in.Type != "cdm":
			return fmt.Sprintf("instances[%d].type must be cdm, got %q", i, in.Type)
		}
		for k, n := range in.Nics {
			if n.SecurityGroupID == "" || n.NetID == "" {
				return fmt.Sprintf("instances[%d].nics[%d] needs securityGroupId and net-id", i, k)
			}
		}
	}
	for i, t := range c.SysTags {
		if t.Key != "_sys_enterprise_project_id" || t.Value == "" {
			return fmt.Sprintf("sys_tags[%d] must be {key: _sys_enterprise_project_id, value: <enterprise project ID>}", i)
		}
	}
	return ""
}

type cdmCreateClusterResponse struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Task      cdmTaskJSON  `json:"task"`
	Datastore cdmDatastore `json:"datastore"`
	Instances []struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Type    string `json:"type"`
		ShardID string `json:"shard_id"`
	} `json:"instances"`
}

// cdmCreateCluster answers "Creating a Cluster" with 202; the cluster is
// "100" (creating) for the default job duration, then "200". X-Language is
// mandatory in the header table, but the walk-through's curl (@780) does
// not send it, so it is not required.
func (e *Emulator) cdmCreateCluster(w http.ResponseWriter, r *http.Request) {
	var req cdmCreateClusterRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeCDMError(w, http.StatusBadRequest, cdmInvalidParam, "Invalid parameter: invalid request body: "+err.Error())
		return
	}
	if msg := req.validate(); msg != "" {
		writeCDMError(w, http.StatusBadRequest, cdmInvalidParam, "Invalid parameter: "+msg)
		return
	}
	project := r.PathValue("project_id")
	rc := req.Cluster

	e.mu.Lock()
	e.cdmSeed(project)
	now := e.now()
	name := rc.Name
	if name == "" {
		name = "cdm-" + cdmHexID()[:4]
	}
	dup := slices.ContainsFunc(e.cdm.Clusters, func(c *cdmCluster) bool { return c.ProjectID == project && c.Name == name })
	var c *cdmCluster
	if !dup {
		c = &cdmCluster{
			Seq:               e.cdm.nextSeq(),
			ProjectID:         project,
			ID:                newUUID(),
			Name:              name,
			Created:           now,
			Datastore:         cdmDatastore{Type: "cdm", Version: cdmDefaultVersion},
			VpcID:             rc.VpcID,
			IsAutoOff:         rc.IsAutoOff,
			IsScheduleBootOff: rc.IsScheduleBootOff,
			TaskID:            cdmHexID(),
			Links:             map[string]*cdmLink{},
			Jobs:              map[string]*cdmJob{},
		}
		if rc.Datastore != nil && rc.Datastore.Version != "" {
			c.Datastore.Version = rc.Datastore.Version
		}
		for i, in := range rc.Instances {
			c.Instances = append(c.Instances, cdmInstance{
				ID: newUUID(), Name: fmt.Sprintf("%s-cdm-dn-%d-1", name, i+1),
				FlavorRef: in.FlavorRef, AZ: in.AvailabilityZone, ShardID: fmt.Sprintf("dn-%d", i+1),
			})
			if i == 0 {
				c.SubnetID, c.SecurityGroupID = in.Nics[0].NetID, in.Nics[0].SecurityGroupID
			}
		}
		if len(c.Instances) == 0 {
			c.Instances = []cdmInstance{{ID: newUUID(), Name: name + "-cdm-dn-1-1", FlavorRef: cdmFlavorMedium, ShardID: "dn-1"}}
		}
		c.transition(now, e.jobDuration, cdmClusterCreating, "", cdmClusterNormal)
		e.cdm.Clusters = append(e.cdm.Clusters, c)
	}
	e.mu.Unlock()

	if dup {
		// Not documented; a name is unique within a project in the console.
		writeCDMError(w, http.StatusBadRequest, cdmInvalidParam, fmt.Sprintf("Invalid parameter: cluster name %s already exists.", name))
		return
	}
	e.log.Info("emulator CDM cluster created", "project", project, "cluster_id", c.ID, "name", c.Name)
	resp := cdmCreateClusterResponse{
		ID: c.ID, Name: c.Name, Datastore: c.Datastore,
		Task: cdmTaskJSON{ID: c.TaskID, Name: "createCluster"},
	}
	for _, in := range c.Instances {
		resp.Instances = append(resp.Instances, struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Type    string `json:"type"`
			ShardID string `json:"shard_id"`
		}{in.ID, in.Name, "cdm", in.ShardID})
	}
	writeJSON(w, http.StatusAccepted, resp)
}

// cdmDeleteCluster answers "Deleting a Cluster" (202); the cluster, its
// links and its jobs are gone at once.
func (e *Emulator) cdmDeleteCluster(w http.ResponseWriter, r *http.Request) {
	var req struct {
		KeepLastManualBackup *int `json:"keep_last_manual_backup"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeCDMError(w, http.StatusBadRequest, cdmInvalidParam, "Invalid parameter: invalid request body: "+err.Error())
		return
	}
	if req.KeepLastManualBackup == nil {
		writeCDMError(w, http.StatusBadRequest, cdmInvalidParam, "Invalid parameter: keep_last_manual_backup is mandatory")
		return
	}
	e.mu.Lock()
	c, ok := e.cdmFindCluster(r)
	if ok {
		e.cdm.Clusters = slices.DeleteFunc(e.cdm.Clusters, func(x *cdmCluster) bool { return x == c })
	}
	e.mu.Unlock()
	if !ok {
		writeCDMClusterNotFound(w, r)
		return
	}
	e.log.Info("emulator CDM cluster deleted", "project", c.ProjectID, "cluster_id", c.ID, "jobs", len(c.Jobs), "links", len(c.Links))
	writeJSON(w, http.StatusAccepted, struct {
		JobID string `json:"jobId"`
	}{cdmHexID()})
}

type cdmActionRequest struct {
	Restart *struct {
		RestartDelayTime int     `json:"restartDelayTime"`
		RestartMode      string  `json:"restartMode"`
		RestartLevel     string  `json:"restartLevel"`
		Type             string  `json:"type"`
		Instance         *string `json:"instance"`
		Group            *string `json:"group"`
	} `json:"restart"`
	Start *json.RawMessage `json:"start"`
	Stop  *struct {
		StopMode  string `json:"stopMode"`
		DelayTime int    `json:"delayTime"`
	} `json:"stop"`
}

// validate returns which action the request asks for, or what is wrong.
func (req *cdmActionRequest) validate() (action, problem string) {
	n := 0
	if req.Restart != nil {
		n, action = n+1, "restart"
	}
	if req.Start != nil {
		n, action = n+1, "start"
	}
	if req.Stop != nil {
		n, action = n+1, "stop"
	}
	if n != 1 {
		return "", "exactly one of restart, start and stop is mandatory"
	}
	switch action {
	case "restart":
		rs := req.Restart
		if !slices.Contains([]string{"", "IMMEDIATELY", "GRACEFULL", "FORCELY", "SOFTLY"}, rs.RestartMode) {
			return "", fmt.Sprintf("restartMode must be IMMEDIATELY, GRACEFULL, FORCELY or SOFTLY, got %q", rs.RestartMode)
		}
		if !slices.Contains([]string{"", "SERVICE", "VM"}, rs.RestartLevel) {
			return "", fmt.Sprintf("restartLevel must be SERVICE or VM, got %q", rs.RestartLevel)
		}
		if rs.Type != "" && rs.Type != "cdm" {
			return "", fmt.Sprintf("type must be cdm, got %q", rs.Type)
		}
		if rs.RestartDelayTime < 0 {
			return "", "restartDelayTime cannot be negative"
		}
		if rs.RestartLevel != "VM" && (rs.Instance != nil && *rs.Instance != "" || rs.Group != nil && *rs.Group != "") {
			return "", "instance and group must be empty strings when restartLevel is SERVICE"
		}
	case "start":
		if raw := *req.Start; len(raw) == 0 || raw[0] != '{' {
			return "", "start must be an empty object"
		}
	case "stop":
		if !slices.Contains([]string{"", "IMMEDIATELY", "GRACEFULLY"}, req.Stop.StopMode) {
			return "", fmt.Sprintf("stopMode must be IMMEDIATELY or GRACEFULLY, got %q", req.Stop.StopMode)
		}
		if req.Stop.DelayTime < -1 {
			return "", "delayTime must be -1, 0 or a number of seconds"
		}
	}
	return action, ""
}

// cdmClusterAction answers restart, start and stop, which share one URL.
// Each change takes the default job duration. Stop and restart end the
// cluster's running job submissions as FAILED at once, whatever the stop
// mode or restart delay (the emulator does not model graceful waits).
// Starting a normal or starting cluster, or stopping a stopped or stopping
// one, succeeds without effect, so that retries are harmless.
func (e *Emulator) cdmClusterAction(w http.ResponseWriter, r *http.Request) {
	var req cdmActionRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeCDMError(w, http.StatusBadRequest, cdmInvalidParam, "Invalid parameter: invalid request body: "+err.Error())
		return
	}
	action, problem := req.validate()
	if problem != "" {
		writeCDMError(w, http.StatusBadRequest, cdmInvalidParam, "Invalid parameter: "+problem)
		return
	}

	e.mu.Lock()
	c, ok := e.cdmFindCluster(r)
	var was string
	if ok {
		now := e.now()
		c.settle(now)
		was = c.Status
		if c.Action != "" {
			was += " " + c.Action
			problem = fmt.Sprintf("cluster %s is restarting", c.ID)
		}
		switch {
		case problem != "":
		case action == "start" && c.Status == cdmClusterStopped:
			c.Starts++
			c.transition(now, e.jobDuration, cdmClusterStarting, "", cdmClusterNormal)
		case action == "start" && (c.Status == cdmClusterNormal || c.Status == cdmClusterStarting):
		case action == "stop" && c.Status == cdmClusterNormal:
			c.Stops++
			c.abortRunning(now, fmt.Sprintf("The cluster %s was stopped.", c.Name))
			c.transition(now, e.jobDuration, cdmClusterStopping, "", cdmClusterStopped)
		case action == "stop" && (c.Status == cdmClusterStopped || c.Status == cdmClusterStopping):
		case action == "restart" && c.Status == cdmClusterNormal:
			c.Restarts++
			c.abortRunning(now, fmt.Sprintf("The cluster %s was restarted.", c.Name))
			c.transition(now, e.jobDuration, cdmClusterNormal, cdmRebooting, cdmClusterNormal)
		default:
			problem = fmt.Sprintf("cluster %s is %s (%s): cannot %s it", c.ID, cdmStatusDetail[c.Status], c.Status, action)
		}
	}
	e.mu.Unlock()

	switch {
	case !ok:
		writeCDMClusterNotFound(w, r)
	case problem != "":
		writeCDMError(w, http.StatusBadRequest, cdmInvalidParam, "Invalid parameter: "+problem)
	case action == "restart":
		e.log.Info("emulator CDM cluster action", "cluster_id", c.ID, "action", action, "was", was)
		// Restart answers jobId as a string, start and stop as an array.
		writeJSON(w, http.StatusOK, struct {
			JobID string `json:"jobId"`
		}{cdmHexID()})
	default:
		e.log.Info("emulator CDM cluster action", "cluster_id", c.ID, "action", action, "was", was)
		writeJSON(w, http.StatusOK, struct {
			JobID []string `json:"jobId"`
		}{[]string{cdmHexID()}})
	}
}
