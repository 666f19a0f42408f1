package emulator

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// This file implements "Querying the Job List" of Flink jobs (§9.7).

// flinkListedJob is a list entry without show_detail (table 9-36). The
// table names the user field username, the sample user_name (@6839): both
// are sent.
type flinkListedJob struct {
	JobID              int64          `json:"job_id"`
	Name               string         `json:"name"`
	Desc               string         `json:"desc"`
	Username           string         `json:"username"`
	UserName           string         `json:"user_name"`
	JobType            string         `json:"job_type"`
	Status             string         `json:"status"`
	StatusDesc         string         `json:"status_desc"`
	CreateTime         int64          `json:"create_time"`
	StartTime          int64          `json:"start_time"` // 0 = never started
	Duration           int64          `json:"duration"`   // ms the latest run has run
	RootID             int64          `json:"root_id"`
	GraphEditorEnabled bool           `json:"graph_editor_enabled"`
	HasSavepoint       bool           `json:"has_savepoint"`
	SQLBody            string         `json:"sql_body"`
	JobConfig          flinkJobConfig `json:"job_config"`
	MainClass          string         `json:"main_class"`
	ExecutionGraph     string         `json:"execution_graph"`
	UpdateTime         int64          `json:"update_time"`
}

type flinkListResponse struct {
	dliEnvelope
	JobList struct {
		TotalCount int   `json:"total_count"`
		Jobs       []any `json:"jobs"` // flinkListedJob, or flinkJobDetail with show_detail
	} `json:"job_list"`
}

type flinkListQuery struct {
	jobType, status, queue, name, user string
	asc, detail                        bool
	limit, offset                      int
	tags                               map[string]string
}

func parseFlinkListQuery(v url.Values) (q flinkListQuery, err error) {
	q = flinkListQuery{
		jobType: v.Get("job_type"),
		status:  v.Get("status"),
		queue:   v.Get("queue_name"),
		name:    strings.ToLower(v.Get("name")),
		user:    v.Get("user_name"),
		limit:   10,
	}
	if q.jobType != "" && !slices.Contains([]string{flinkSQLJob, flinkJarJob, flinkOpenSourceSQLJob}, q.jobType) {
		return q, fmt.Errorf("job_type must be flink_sql_job or flink_jar_job, got %q", q.jobType)
	}
	if q.status != "" && !slices.Contains(flinkStatuses, q.status) {
		return q, fmt.Errorf("status must be one of %s, got %q", strings.Join(flinkStatuses, ", "), q.status)
	}
	switch o := cmp.Or(v.Get("order"), "desc"); o {
	case "asc", "desc":
		q.asc = o == "asc"
	default:
		return q, fmt.Errorf("order must be asc or desc, got %q", o)
	}
	if s := v.Get("show_detail"); s != "" {
		if q.detail, err = strconv.ParseBool(s); err != nil {
			return q, fmt.Errorf("show_detail must be a Boolean, got %q", s)
		}
	}
	for _, p := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"limit", &q.limit, 1, 100}, {"offset", &q.offset, 0, 1 << 30}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < p.min || n > p.max {
				return q, fmt.Errorf("%s must be an integer in [%d, %d], got %q", p.name, p.min, p.max, s)
			}
			*p.dst = n
		}
	}
	q.tags, err = parseTagFilter(v.Get("tags"))
	return q, err
}

// flinkListJobs lists the project's live jobs by creation time. The name
// filter matches names containing it, case-insensitively.
func (e *Emulator) flinkListJobs(w http.ResponseWriter, r *http.Request) {
	q, err := parseFlinkListQuery(r.URL.Query())
	if err != nil {
		writeDLIParamError(w, err.Error())
		return
	}
	project := r.PathValue("project_id")
	var all []any
	e.mu.Lock()
	now := e.now()
	for _, j := range e.flink.Jobs {
		if j.ProjectID != project || !j.DeletedAt.IsZero() {
			continue
		}
		status, desc, ended := j.status(now)
		if q.jobType != "" && j.Type != q.jobType ||
			q.status != "" && status != q.status ||
			q.queue != "" && j.Queue != q.queue ||
			q.name != "" && !strings.Contains(strings.ToLower(j.Name), q.name) ||
			q.user != "" && q.user != dliOwner ||
			!hasTags(j.Tags, q.tags) {
			continue
		}
		if q.detail {
			all = append(all, j.detail(status, desc))
			continue
		}
		l := flinkListedJob{
			JobID: j.ID, Name: j.Name, Desc: j.Desc, Username: dliOwner, UserName: dliOwner,
			JobType: j.Type, Status: status, StatusDesc: desc, CreateTime: j.CreatedAt.UnixMilli(),
			Duration: j.runDuration(now, ended), RootID: -1, HasSavepoint: j.SavepointPath != "",
			SQLBody: j.SQLBody, JobConfig: j.renderedConfig(), MainClass: j.MainClass,
			UpdateTime: j.UpdatedAt.UnixMilli(),
		}
		if start := j.startTime(); !start.IsZero() {
			l.StartTime = start.UnixMilli()
		}
		all = append(all, l)
	}
	e.mu.Unlock()

	// Jobs are held in creation order, which IDs follow.
	if !q.asc {
		slices.Reverse(all)
	}
	resp := flinkListResponse{dliEnvelope: dliEnvelope{IsSuccess: true, Message: "Querying of the job list succeeds."}}
	resp.JobList.TotalCount = len(all)
	from := min(q.offset, len(all))
	resp.JobList.Jobs = append([]any{}, all[from:min(from+q.limit, len(all))]...)
	writeJSON(w, http.StatusOK, resp)
}
