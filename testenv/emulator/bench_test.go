package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// BenchmarkDLISubmitAndPoll measures the emulator's own throughput on the
// calls pipectl makes most (a submit, then status checks), over real HTTP
// on loopback with token checks on, so that benchmarks of pipectl can tell
// the emulator is not their bottleneck. It reports requests per second.
func BenchmarkDLISubmitAndPoll(b *testing.B) {
	emu := emulator.New(emulator.Options{JobDuration: time.Hour, DisableRateLimits: true})
	srv := httptest.NewServer(emu.Handler(emulator.DLI))
	defer srv.Close()
	token := emu.NewToken("bench")
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	var requests atomic.Int64
	do := func(method, path, body string) (map[string]any, error) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("X-Auth-Token", token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		requests.Add(1)
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out, nil
	}
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			out, err := do(http.MethodPost, "/v1.0/bench/jobs/submit-job", `{"sql":"select 1","tags":[{"key":"k","value":"v"}]}`)
			if err != nil {
				b.Error(err)
				return
			}
			id, _ := out["job_id"].(string)
			for range 4 {
				if _, err := do(http.MethodGet, "/v1.0/bench/jobs/"+id+"/status", ""); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	b.ReportMetric(float64(requests.Load())/time.Since(start).Seconds(), "req/s")
}
