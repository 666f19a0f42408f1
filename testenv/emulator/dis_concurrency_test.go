package emulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// TestDISConcurrent has goroutines create streams, upload, read, add and
// poll dump tasks at once; run with -race.
func TestDISConcurrent(t *testing.T) {
	e := newDISEnv(t)
	e.disRunningStream("shared", 2)

	call := func(method, path, body string) (int, map[string]any, error) {
		req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("X-Auth-Token", "t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, nil, err
		}
		var m map[string]any
		if len(raw) > 0 {
			err = json.Unmarshal(raw, &m)
		}
		return resp.StatusCode, m, err
	}

	const workers, rounds = 4, 10
	errs := make(chan error, workers*rounds*4)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			stream := fmt.Sprintf("w%d", w)
			if code, _, err := call("POST", "/v2/p1/streams", fmt.Sprintf(`{"stream_name":%q,"partition_count":1}`, stream)); err != nil || code != 201 {
				errs <- fmt.Errorf("create %s: %d %v", stream, code, err)
				return
			}
			if code, _, err := call("POST", "/v2/p1/streams/shared/transfer-tasks", disOBSTask(stream)); err != nil || code != 201 {
				errs <- fmt.Errorf("task %s: %d %v", stream, code, err)
			}
			for i := range rounds {
				body := fmt.Sprintf(`{"stream_name":"shared","records":[{"data":%q,"partition_key":"%s"}]}`, disB64(fmt.Sprint(w, i)), stream)
				if code, m, err := call("POST", "/v2/p1/records", body); err != nil || code != 200 || m["failed_record_count"] != 0.0 {
					errs <- fmt.Errorf("put: %d %v %v", code, m, err)
				}
				q := url.Values{"stream-name": {"shared"}, "partition-id": {fmt.Sprint(i % 2)}, "cursor-type": {"TRIM_HORIZON"}}
				code, m, err := call("GET", "/v2/p1/cursors?"+q.Encode(), "")
				if err != nil || code != 200 {
					errs <- fmt.Errorf("cursor: %d %v", code, err)
					continue
				}
				cur, _ := m["partition_cursor"].(string)
				if code, _, err := call("GET", "/v2/p1/records?partition-cursor="+url.QueryEscape(cur), ""); err != nil || code != 200 {
					errs <- fmt.Errorf("get: %d %v", code, err)
				}
				if code, _, err := call("GET", "/v2/p1/streams/shared/transfer-tasks", ""); err != nil || code != 200 {
					errs <- fmt.Errorf("list tasks: %d %v", code, err)
				}
				_ = e.emu.DISDumpTasks()
				_ = e.emu.DISStreams()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(e.emu.DISRecords("p1", "shared")); n != workers*rounds {
		t.Errorf("%d records, want %d", n, workers*rounds)
	}
	if n := len(e.emu.DISDumpTasks()); n != workers {
		t.Errorf("%d tasks, want %d", n, workers)
	}
	if c := e.emu.DISCounts(); c.StreamCreates != workers+1 || c.RecordsPut != workers*rounds {
		t.Errorf("counts = %+v", c)
	}
}
