package emulator

import "time"

// DLFJob is a snapshot of an emulated DLF job.
type DLFJob struct {
	ProjectID, Workspace, Name string // Workspace "" is the default workspace
	JobType                    string // BATCH or REAL_TIME
	ScheduleType               string // EXECUTE_ONCE, CRON or EVENT
	Status                     string // as the job list reports it now
	Nodes                      []string
	CreatedAt                  time.Time
	Starts, Stops              int // accepted start (J9) and stop (J15) calls
	Runs                       int // run-immediate calls that created an instance
	Deleted                    bool
}

// DLFInstance is a snapshot of a DLF job instance.
type DLFInstance struct {
	ProjectID, Workspace, JobName string
	ID                            int64
	Trigger                       string // "run-immediate" or "start"
	Params                        map[string]string
	Status                        string // as the detail call reports it now
	FailReason                    string // the failing node's reason once fail
	Nodes                         []DLFNodeState
	SubmittedAt, StartedAt        time.Time // StartedAt: of the latest attempt
	EndedAt                       time.Time
	Stops, Restarts               int // accepted stop and retry calls
}

// DLFNodeState is one node of a DLFInstance.
type DLFNodeState struct {
	Name, Type, Status, FailReason string
}

// DLFJobs returns all DLF jobs, deleted ones included, in creation order.
func (e *Emulator) DLFJobs() []DLFJob {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	jobs := make([]DLFJob, len(e.dlf.Jobs))
	for i, j := range e.dlf.Jobs {
		nodes := make([]string, len(j.Def.Nodes))
		for k, n := range j.Def.Nodes {
			nodes[k] = n.Name
		}
		jobs[i] = DLFJob{
			ProjectID: j.ProjectID, Workspace: j.Workspace, Name: j.name(), JobType: j.Def.JobType,
			ScheduleType: j.Def.Schedule.Type, Status: j.status(now), Nodes: nodes, CreatedAt: j.CreatedAt,
			Starts: j.Starts, Stops: j.Stops, Runs: j.Runs, Deleted: j.Deleted,
		}
	}
	return jobs
}

// DLFInstances returns all DLF job instances in creation order.
func (e *Emulator) DLFInstances() []DLFInstance {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	out := make([]DLFInstance, len(e.dlf.Instances))
	for i, in := range e.dlf.Instances {
		status, ended, states := in.state(now)
		params := make(map[string]string, len(in.Params))
		for _, p := range in.Params {
			params[p.Name] = p.Value
		}
		d := DLFInstance{
			ProjectID: in.ProjectID, Workspace: in.Workspace, JobName: in.JobName, ID: in.ID, Trigger: in.Trigger,
			Params: params, Status: status, SubmittedAt: in.PlanTime, StartedAt: in.Attempt.StartedAt,
			EndedAt: ended, Stops: in.Stops, Restarts: in.Restarts,
		}
		for k, n := range in.Nodes {
			s := states[k]
			d.Nodes = append(d.Nodes, DLFNodeState{Name: n.Name, Type: n.Type, Status: s.status, FailReason: s.failReason})
			if s.failReason != "" {
				d.FailReason = s.failReason
			}
		}
		out[i] = d
	}
	return out
}
