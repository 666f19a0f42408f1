package emulator

import (
	"encoding/json"
	"time"
)

// dliJobJSON is a DLI SQL job in the state file.
type dliJobJSON struct {
	ProjectID   string        `json:"project_id"`
	ID          string        `json:"id"`
	SQL         string        `json:"sql"`
	JobType     string        `json:"job_type"`
	Queue       string        `json:"queue"`
	CurrentDB   string        `json:"current_db"`
	Conf        []string      `json:"conf"`
	Tags        []dliTag      `json:"tags"`
	SubmittedAt time.Time     `json:"submitted_at"`
	Duration    time.Duration `json:"duration"`
	Hang        bool          `json:"hang"`
	FailMessage string        `json:"fail_message"`
	CancelledAt time.Time     `json:"cancelled_at"`
	StatusCalls int           `json:"status_calls"`
}

// MarshalJSON writes the jobs in submit order.
func (s dliState) MarshalJSON() ([]byte, error) {
	jobs := make([]dliJobJSON, len(s.order))
	for i, j := range s.order {
		jobs[i] = dliJobJSON{
			ProjectID: j.projectID, ID: j.id, SQL: j.sql, JobType: j.jobType, Queue: j.queue,
			CurrentDB: j.currentDB, Conf: j.conf, Tags: j.tags, SubmittedAt: j.submittedAt,
			Duration: j.duration, Hang: j.hang, FailMessage: j.failMessage,
			CancelledAt: j.cancelledAt, StatusCalls: j.statusCalls,
		}
	}
	return json.Marshal(struct {
		Jobs []dliJobJSON `json:"jobs"`
	}{jobs})
}

// UnmarshalJSON replaces the state with the jobs read.
func (s *dliState) UnmarshalJSON(b []byte) error {
	var v struct {
		Jobs []dliJobJSON `json:"jobs"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = newDLIState()
	for i, j := range v.Jobs {
		job := &dliJob{
			seq: i, projectID: j.ProjectID, id: j.ID, sql: j.SQL, jobType: j.JobType, queue: j.Queue,
			currentDB: j.CurrentDB, conf: j.Conf, tags: j.Tags, submittedAt: j.SubmittedAt,
			duration: j.Duration, hang: j.Hang, failMessage: j.FailMessage,
			cancelledAt: j.CancelledAt, statusCalls: j.StatusCalls,
		}
		if job.tags == nil {
			job.tags = []dliTag{}
		}
		s.jobs[job.id] = job
		s.order = append(s.order, job)
	}
	return nil
}
