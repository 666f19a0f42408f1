package emulator

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file implements "Querying All Queues" and "Viewing Details of a
// Queue" (DLI API reference §6.3, §6.4). Every project has the same
// pre-seeded queues, created the first time the project's queues are read:
//
//	default        sql      16 CUs  shared (resource_mode 0)
//	etl            sql      64 CUs  dedicated
//	flink_general  general  32 CUs  dedicated
//
// Queues cannot be created or deleted, and job submission does not check
// that its queue exists: SQL, Flink and Spark jobs accept any queue name.

// dliSeedQueues are the queues every project starts with.
var dliSeedQueues = []struct {
	name, queueType, description string
	cus, mode                    int
}{
	{"default", "sql", "Default shared queue for SQL jobs.", 16, 0},
	{"etl", "sql", "Dedicated queue for ETL SQL jobs.", 64, 1},
	{"flink_general", "general", "Dedicated general-purpose queue for Flink and Spark jobs.", 32, 1},
}

// dliQueue is an emulated queue; its JSON form is the persisted state.
type dliQueue struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"` // sql or general
	Description string    `json:"description"`
	CUCount     int       `json:"cu_count"`
	Mode        int       `json:"mode"` // resource_mode: 0 shared, 1 dedicated
	ResourceID  string    `json:"resource_id"`
	CreatedAt   time.Time `json:"created_at"`
	Tags        []dliTag  `json:"tags"`
}

// DLIQueue is a snapshot of an emulated DLI queue.
type DLIQueue struct {
	ProjectID, Name, Type, Description, ResourceID string
	CUCount, ResourceMode                          int
	CreatedAt                                      time.Time
}

func (e *Emulator) registerDLIQueues() {
	e.route(DLI, "GET /v1.0/{project_id}/queues", e.dliListQueues)
	e.route(DLI, "GET /v1.0/{project_id}/queues/{queue_name}", e.dliDescribeQueue)
}

// dliQueues returns the project's queues, seeding them on first use.
// e.mu is held.
func (e *Emulator) dliQueues(project string) []dliQueue {
	if qs, ok := e.flink.Queues[project]; ok {
		return qs
	}
	if e.flink.Queues == nil {
		e.flink.Queues = map[string][]dliQueue{}
	}
	now := e.now()
	qs := make([]dliQueue, len(dliSeedQueues))
	for i, s := range dliSeedQueues {
		qs[i] = dliQueue{
			Name:        s.name,
			Type:        s.queueType,
			Description: s.description,
			CUCount:     s.cus,
			Mode:        s.mode,
			ResourceID:  stableUUID(project + "/queue/" + s.name),
			CreatedAt:   now,
			Tags:        []dliTag{},
		}
	}
	e.flink.Queues[project] = qs
	return qs
}

// stableUUID derives a UUID-shaped ID from seed, so seeded resources keep
// their IDs across emulator restarts.
func stableUUID(seed string) string {
	b := sha256.Sum256([]byte(seed))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// DLIQueues returns the queues of a project (seeding them like a first
// API read would), in name order.
func (e *Emulator) DLIQueues(projectID string) []DLIQueue {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []DLIQueue
	for _, q := range e.dliQueues(projectID) {
		out = append(out, DLIQueue{
			ProjectID: projectID, Name: q.Name, Type: q.Type, Description: q.Description,
			ResourceID: q.ResourceID, CUCount: q.CUCount, ResourceMode: q.Mode, CreatedAt: q.CreatedAt,
		})
	}
	slices.SortFunc(out, func(a, b DLIQueue) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// dliListedQueue is one entry of "Querying All Queues" (table 6-12).
type dliListedQueue struct {
	QueueName           string   `json:"queue_name"`
	Description         string   `json:"description"`
	Owner               string   `json:"owner"`
	CreateTime          int64    `json:"create_time"`
	QueueType           string   `json:"queue_type"`
	CUCount             int      `json:"cu_count"`
	ResourceID          string   `json:"resource_id"`
	EnterpriseProjectID string   `json:"enterprise_project_id"`
	CIDRInVPC           string   `json:"cidr_in_vpc"`
	CIDRInMgmtSubnet    string   `json:"cidr_in_mgmt_subnet"`
	CIDRInSubnet        string   `json:"cidr_in_subnet"`
	ResourceMode        int      `json:"resource_mode"`
	Platform            string   `json:"platform"`
	IsRestarting        bool     `json:"is_restarting"`
	Labels              []string `json:"labels"`
	CUSpec              int      `json:"cu_spec"`
	CUScaleOutLimit     int      `json:"cu_scale_out_limit"`
	CUScaleInLimit      int      `json:"cu_scale_in_limit"`
	Tags                []dliTag `json:"tags"`
}

func (q *dliQueue) listed() dliListedQueue {
	return dliListedQueue{
		QueueName:           q.Name,
		Description:         q.Description,
		Owner:               dliOwner,
		CreateTime:          q.CreatedAt.UnixMilli(),
		QueueType:           q.Type,
		CUCount:             q.CUCount,
		ResourceID:          q.ResourceID,
		EnterpriseProjectID: "0",
		CIDRInVPC:           "10.0.0.0/8",
		CIDRInMgmtSubnet:    "10.23.128.0/24",
		CIDRInSubnet:        "10.0.0.0/24",
		ResourceMode:        q.Mode,
		Platform:            "x86_64",
		Labels:              []string{},
		CUSpec:              q.CUCount,
		CUScaleOutLimit:     q.CUCount,
		CUScaleInLimit:      q.CUCount,
		Tags:                slices.Clone(q.Tags),
	}
}

type dliQueueListResponse struct {
	dliEnvelope
	Queues []dliListedQueue `json:"queues"`
}

var dliQueueOrders = []string{"queue_name_asc", "queue_name_desc", "cu_asc", "cu_desc"}

type dliQueueQuery struct {
	queueType      string
	pageSize, page int
	order          string
	tags           map[string]string
}

func parseDLIQueueQuery(v url.Values) (q dliQueueQuery, err error) {
	q = dliQueueQuery{
		queueType: cmp.Or(v.Get("queue_type"), "sql"),
		pageSize:  1<<31 - 1, // Integer.MAX_VALUE: everything on one page
		page:      1,
		order:     cmp.Or(v.Get("order"), "queue_name_asc"),
	}
	if !slices.Contains([]string{"sql", "general", "all"}, q.queueType) {
		return q, fmt.Errorf("queue_type must be sql, general or all, got %q", q.queueType)
	}
	if !slices.Contains(dliQueueOrders, q.order) {
		return q, fmt.Errorf("order must be one of %s, got %q", strings.Join(dliQueueOrders, ", "), q.order)
	}
	if s := v.Get("with-priv"); s != "" {
		// Accepted and checked; the emulator has no permission data to add.
		if _, err := strconv.ParseBool(s); err != nil {
			return q, fmt.Errorf("with-priv must be a Boolean, got %q", s)
		}
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"page-size", &q.pageSize}, {"current-page", &q.page}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return q, fmt.Errorf("%s must be a positive integer, got %q", p.name, s)
			}
			*p.dst = n
		}
	}
	q.tags, err = parseTagFilter(v.Get("tags"))
	return q, err
}

// parseTagFilter parses the k1=v1,k2=v2 form DLI list APIs take; "" = no
// filter.
func parseTagFilter(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	tags := map[string]string{}
	for kv := range strings.SplitSeq(s, ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("tags must be key=value pairs separated by commas, got %q", s)
		}
		tags[k] = val
	}
	return tags, nil
}

// hasTags reports whether have contains every wanted tag with its value.
func hasTags(have []dliTag, want map[string]string) bool {
	for k, v := range want {
		if !slices.Contains(have, dliTag{Key: k, Value: v}) {
			return false
		}
	}
	return true
}

func (e *Emulator) dliListQueues(w http.ResponseWriter, r *http.Request) {
	q, err := parseDLIQueueQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, dliParamCheck, "Parameter check errors occur: "+err.Error())
		return
	}
	var queues []dliListedQueue
	e.mu.Lock()
	for _, dq := range e.dliQueues(r.PathValue("project_id")) {
		if (q.queueType == "all" || dq.Type == q.queueType) && hasTags(dq.Tags, q.tags) {
			queues = append(queues, dq.listed())
		}
	}
	e.mu.Unlock()

	slices.SortFunc(queues, func(a, b dliListedQueue) int {
		byName := strings.Compare(a.QueueName, b.QueueName)
		switch q.order {
		case "queue_name_desc":
			return -byName
		case "cu_asc":
			return cmp.Or(cmp.Compare(a.CUCount, b.CUCount), byName)
		case "cu_desc":
			return cmp.Or(cmp.Compare(b.CUCount, a.CUCount), byName)
		default:
			return byName
		}
	})
	from := len(queues)
	if pages := (len(queues) + q.pageSize - 1) / q.pageSize; q.page <= pages {
		from = (q.page - 1) * q.pageSize
	}
	to := from + min(q.pageSize, len(queues)-from)
	writeJSON(w, http.StatusOK, dliQueueListResponse{dliEnvelope: dliOK, Queues: append([]dliListedQueue{}, queues[from:to]...)})
}

// dliQueueDetail answers "Viewing Details of a Queue". Its table names the
// fields in camelCase, while both samples (§4.1 and §6.4) use snake_case
// for some or all of them; the emulator sends both spellings so a client
// written against either form finds its fields.
type dliQueueDetail struct {
	dliEnvelope
	Owner       string `json:"owner"`
	Description string `json:"description"`

	QueueName           string `json:"queueName"`
	CreateTime          int64  `json:"createTime"`
	QueueType           string `json:"queueType"`
	CUCount             int    `json:"cuCount"`
	ResourceID          string `json:"resourceId"`
	ResourceMode        int    `json:"resourceMode"`
	EnterpriseProjectID string `json:"enterpriseProjectId"`
	CUSpec              int    `json:"cuSpec"`
	CUScaleOutLimit     int    `json:"cuScaleOutLimit"`
	CUScaleInLimit      int    `json:"cuScaleInLimit"`

	SnakeQueueName    string `json:"queue_name"`
	SnakeCreateTime   int64  `json:"create_time"`
	SnakeQueueType    string `json:"queue_type"`
	SnakeCUCount      int    `json:"cu_count"`
	SnakeResourceID   string `json:"resource_id"`
	SnakeResourceMode int    `json:"resource_mode"`
	SnakeCUSpec       int    `json:"cu_spec"`
}

func (e *Emulator) dliDescribeQueue(w http.ResponseWriter, r *http.Request) {
	// Queue names are case-insensitive: upper case is folded to lower.
	name := strings.ToLower(r.PathValue("queue_name"))
	e.mu.Lock()
	var found *dliListedQueue
	for _, q := range e.dliQueues(r.PathValue("project_id")) {
		if q.Name == name {
			l := q.listed()
			found = &l
		}
	}
	e.mu.Unlock()
	if found == nil {
		// The wording of the error-code chapter's own example (§14.2).
		writeError(w, http.StatusBadRequest, dliNotFound, "There is no queue named "+r.PathValue("queue_name"))
		return
	}
	writeJSON(w, http.StatusOK, dliQueueDetail{
		dliEnvelope:         dliOK,
		Owner:               found.Owner,
		Description:         found.Description,
		QueueName:           found.QueueName,
		CreateTime:          found.CreateTime,
		QueueType:           found.QueueType,
		CUCount:             found.CUCount,
		ResourceID:          found.ResourceID,
		ResourceMode:        found.ResourceMode,
		EnterpriseProjectID: found.EnterpriseProjectID,
		CUSpec:              found.CUSpec,
		CUScaleOutLimit:     found.CUScaleOutLimit,
		CUScaleInLimit:      found.CUScaleInLimit,
		SnakeQueueName:      found.QueueName,
		SnakeCreateTime:     found.CreateTime,
		SnakeQueueType:      found.QueueType,
		SnakeCUCount:        found.CUCount,
		SnakeResourceID:     found.ResourceID,
		SnakeResourceMode:   found.ResourceMode,
		SnakeCUSpec:         found.CUSpec,
	})
}
