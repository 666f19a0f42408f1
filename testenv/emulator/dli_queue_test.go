package emulator_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

func queueNames(t *testing.T, r response) []string {
	t.Helper()
	var names []string
	for _, q := range r.body["queues"].([]any) {
		names = append(names, q.(map[string]any)["queue_name"].(string))
	}
	return names
}

func TestQueueList(t *testing.T) {
	e := newEnv(t, time.Second)
	r := e.do("GET", "/v1.0/p1/queues", "")
	if r.status != http.StatusOK || r.body["is_success"] != true || r.body["message"] != "" {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}
	// queue_type defaults to sql.
	if got := queueNames(t, r); !slices.Equal(got, []string{"default", "etl"}) {
		t.Errorf("queues = %v, want default, etl", got)
	}
	q := r.body["queues"].([]any)[0].(map[string]any)
	wantTypes(t, q, map[string]string{
		"queue_name": "string", "description": "string", "owner": "string", "create_time": "number",
		"queue_type": "string", "cu_count": "number", "resource_id": "string", "enterprise_project_id": "string",
		"cidr_in_vpc": "string", "cidr_in_mgmt_subnet": "string", "cidr_in_subnet": "string",
		"resource_mode": "number", "platform": "string", "is_restarting": "bool", "labels": "array",
		"cu_spec": "number", "cu_scale_out_limit": "number", "cu_scale_in_limit": "number",
	})
	for k, want := range map[string]any{
		"queue_name": "default", "owner": "emulator", "create_time": float64(t0.UnixMilli()), "queue_type": "sql",
		"cu_count": 16.0, "resource_mode": 0.0, "platform": "x86_64", "is_restarting": false, "enterprise_project_id": "0",
	} {
		if q[k] != want {
			t.Errorf("%s = %#v, want %#v", k, q[k], want)
		}
	}
	if !uuidRE.MatchString(q["resource_id"].(string)) {
		t.Errorf("resource_id = %v, want a UUID", q["resource_id"])
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"queue_type=sql", []string{"default", "etl"}},
		{"queue_type=general", []string{"flink_general"}},
		{"queue_type=all", []string{"default", "etl", "flink_general"}},
		{"queue_type=all&order=queue_name_desc", []string{"flink_general", "etl", "default"}},
		{"queue_type=all&order=cu_asc", []string{"default", "flink_general", "etl"}},
		{"queue_type=all&order=cu_desc", []string{"etl", "flink_general", "default"}},
		{"queue_type=all&page-size=2", []string{"default", "etl"}},
		{"queue_type=all&page-size=2&current-page=2", []string{"flink_general"}},
		{"queue_type=all&page-size=2&current-page=3", nil},
		{"queue_type=all&with-priv=true", []string{"default", "etl", "flink_general"}},
		{"queue_type=all&tags=team%3Da", nil}, // the seeded queues have no tags
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := e.do("GET", "/v1.0/p1/queues?"+tc.query, "")
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			if got := queueNames(t, r); !slices.Equal(got, tc.want) {
				t.Errorf("queues = %v, want %v", got, tc.want)
			}
		})
	}
	for _, q := range []string{"queue_type=spark", "order=name", "page-size=0", "current-page=x", "with-priv=maybe", "tags=novalue"} {
		t.Run("invalid "+q, func(t *testing.T) {
			wantError(t, e.do("GET", "/v1.0/p1/queues?"+q, ""), http.StatusBadRequest, "DLI.0001", "")
		})
	}
}

func TestQueueDescribe(t *testing.T) {
	e := newEnv(t, time.Second)
	r := e.do("GET", "/v1.0/p1/queues/flink_general", "")
	if r.status != http.StatusOK || r.body["is_success"] != true {
		t.Fatalf("describe: %d %s", r.status, r.raw)
	}
	// The table's camelCase fields and the samples' snake_case ones.
	wantTypes(t, r.body, map[string]string{
		"message": "string", "owner": "string", "description": "string", "queueName": "string", "createTime": "number",
		"queueType": "string", "cuCount": "number", "resourceId": "string", "resourceMode": "number",
		"enterpriseProjectId": "string", "cuSpec": "number", "cuScaleOutLimit": "number", "cuScaleInLimit": "number",
		"queue_name": "string", "create_time": "number", "queue_type": "string", "cu_count": "number",
		"resource_id": "string", "resource_mode": "number", "cu_spec": "number",
	})
	for k, want := range map[string]any{
		"queueName": "flink_general", "queue_name": "flink_general", "queueType": "general", "queue_type": "general",
		"cuCount": 32.0, "cu_count": 32.0, "resourceMode": 1.0, "resource_mode": 1.0, "owner": "emulator",
		"createTime": float64(t0.UnixMilli()), "create_time": float64(t0.UnixMilli()),
	} {
		if r.body[k] != want {
			t.Errorf("%s = %#v, want %#v", k, r.body[k], want)
		}
	}
	if r.body["resourceId"] != r.body["resource_id"] {
		t.Errorf("resourceId %v != resource_id %v", r.body["resourceId"], r.body["resource_id"])
	}
	// Names are case-insensitive.
	if r := e.do("GET", "/v1.0/p1/queues/DEFAULT", ""); r.status != http.StatusOK || r.body["queueName"] != "default" {
		t.Errorf("DEFAULT: %d %s", r.status, r.raw)
	}
	wantError(t, e.do("GET", "/v1.0/p1/queues/testqueue", ""), http.StatusBadRequest, "DLI.0002", "There is no queue named testqueue")
}

func TestQueuesPerProject(t *testing.T) {
	e := newEnv(t, time.Second)
	e.do("GET", "/v1.0/p1/queues", "")
	e.clock.Advance(time.Minute)
	p2 := e.emu.DLIQueues("p2") // seeded by the first read, here
	p1 := e.emu.DLIQueues("p1")
	if len(p1) != 3 || p1[0].Name != "default" || p1[1].Name != "etl" || p1[2].Name != "flink_general" ||
		p1[2].Type != "general" || p1[1].CUCount != 64 || p1[1].ResourceMode != 1 || !p1[0].CreatedAt.Equal(t0) {
		t.Errorf("DLIQueues(p1) = %+v", p1)
	}
	if !p2[0].CreatedAt.Equal(t0.Add(time.Minute)) || p2[0].ResourceID == p1[0].ResourceID {
		t.Errorf("p2 queues = %+v, want their own creation time and IDs", p2)
	}
	// Resource IDs are stable across emulators.
	other := emulator.New(emulator.Options{})
	if q := other.DLIQueues("p1"); q[0].ResourceID != p1[0].ResourceID {
		t.Errorf("resource ID differs between emulators: %s vs %s", q[0].ResourceID, p1[0].ResourceID)
	}
}
