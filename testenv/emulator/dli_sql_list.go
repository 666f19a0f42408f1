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

// This file implements "Querying All Jobs" (GET /v1.0/{project_id}/jobs),
// which pipectl uses to find a job it already submitted by its tags.

type dliListedJob struct {
	dliJobFields
	Message string `json:"message"`
	EndTime int64  `json:"end_time,omitempty"`
}

type dliListResponse struct {
	dliEnvelope
	JobCount int            `json:"job_count"`
	Jobs     []dliListedJob `json:"jobs"`
}

// dliListQuery is the parsed query string of "Querying All Jobs".
type dliListQuery struct {
	pageSize, page int
	start, end     int64 // ms; 0 = unset
	jobType        string
	status         string
	jobID          string
	queue          string
	sqlPattern     string
	order          string
	tags           map[string]string
}

var dliListOrders = []string{"start_time_desc", "start_time_asc", "duration_desc", "duration_asc"}

func parseDLIListQuery(v url.Values) (q dliListQuery, err error) {
	q = dliListQuery{
		pageSize:   50,
		page:       1,
		jobType:    strings.ToUpper(v.Get("job-type")),
		status:     strings.ToUpper(v.Get("job-status")),
		jobID:      v.Get("job-id"),
		queue:      v.Get("queue_name"),
		sqlPattern: strings.ToLower(v.Get("sql_pattern")),
		order:      cmp.Or(v.Get("order"), "start_time_desc"),
	}
	for _, p := range []struct {
		name     string
		dst      *int
		min, max int
	}{
		{"page-size", &q.pageSize, 1, 100},
		{"current-page", &q.page, 1, 1 << 30},
	} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < p.min || n > p.max {
				return q, fmt.Errorf("%s must be an integer in [%d, %d], got %q", p.name, p.min, p.max, s)
			}
			*p.dst = n
		}
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"start", &q.start}, {"end", &q.end}} {
		if s := v.Get(p.name); s != "" {
			if *p.dst, err = strconv.ParseInt(s, 10, 64); err != nil || *p.dst < 0 {
				return q, fmt.Errorf("%s must be a UNIX time in milliseconds, got %q", p.name, s)
			}
		}
	}
	if q.jobType == "ALL" {
		q.jobType = ""
	}
	if !slices.Contains(dliListOrders, q.order) {
		return q, fmt.Errorf("order must be one of %s, got %q", strings.Join(dliListOrders, ", "), q.order)
	}
	if s := v.Get("tags"); s != "" {
		q.tags = map[string]string{}
		// Documented form: k1=v1,k2=v2 (URL-encoded as k1%3Dv1%2Ck2%3Dv2).
		for kv := range strings.SplitSeq(s, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return q, fmt.Errorf("tags must be key=value pairs separated by commas, got %q", s)
			}
			q.tags[k] = val
		}
	}
	return q, nil
}

// matches reports whether j, whose current status and fields are given,
// passes every filter. Tags must all be present with exactly these values.
func (q *dliListQuery) matches(j *dliJob, f *dliJobFields) bool {
	switch {
	case q.jobType != "" && f.JobType != q.jobType,
		q.status != "" && f.Status != q.status,
		q.jobID != "" && f.JobID != q.jobID,
		q.queue != "" && f.QueueName != q.queue,
		q.sqlPattern != "" && !strings.Contains(strings.ToLower(j.sql), q.sqlPattern),
		q.start != 0 && f.StartTime < q.start,
		q.end != 0 && f.StartTime > q.end:
		return false
	}
	for k, v := range q.tags {
		if !slices.Contains(j.tags, dliTag{Key: k, Value: v}) {
			return false
		}
	}
	return true
}

func (e *Emulator) dliListJobs(w http.ResponseWriter, r *http.Request) {
	q, err := parseDLIListQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, dliParamCheck, "Parameter check errors occur: "+err.Error())
		return
	}
	project := r.PathValue("project_id")

	type listed struct {
		seq int
		job dliListedJob
	}
	var all []listed
	e.mu.Lock()
	now := e.now()
	for _, j := range e.dli.order {
		if j.projectID != project {
			continue
		}
		f, status, ended := j.fields(now)
		if !q.matches(j, &f) {
			continue
		}
		lj := dliListedJob{dliJobFields: f, Message: j.message(status)}
		if !ended.IsZero() {
			lj.EndTime = ended.UnixMilli()
		}
		all = append(all, listed{seq: j.seq, job: lj})
	}
	e.mu.Unlock()

	// all is in submit order, so the stable sort keeps it for equal keys;
	// newest-first lists break start-time ties newest first too.
	slices.SortStableFunc(all, func(a, b listed) int {
		switch q.order {
		case "start_time_asc":
			return cmp.Compare(a.job.StartTime, b.job.StartTime)
		case "duration_desc":
			return cmp.Compare(b.job.Duration, a.job.Duration)
		case "duration_asc":
			return cmp.Compare(a.job.Duration, b.job.Duration)
		default:
			return cmp.Or(cmp.Compare(b.job.StartTime, a.job.StartTime), cmp.Compare(b.seq, a.seq))
		}
	})
	resp := dliListResponse{dliEnvelope: dliOK, JobCount: len(all), Jobs: []dliListedJob{}}
	from := min((q.page-1)*q.pageSize, len(all))
	to := min(from+q.pageSize, len(all))
	for _, l := range all[from:to] {
		resp.Jobs = append(resp.Jobs, l.job)
	}
	writeJSON(w, http.StatusOK, resp)
}
