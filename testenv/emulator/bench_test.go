package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// The emulator's own throughput, one benchmark per service, on the calls
// pipectl makes most for it (create or submit, start, then status checks),
// over real HTTP on loopback with token checks on and the rate limits off,
// so that benchmarks of pipectl can tell the emulator is not their
// bottleneck. Each reports requests per second (req/s); time/op is one
// iteration of its sequence, so compare req/s across services. Every
// iteration adds resources, as a long benchmark of pipectl would.

// benchServer serves one service of a fresh emulator (real clock, limits
// off) and counts the requests its clients complete.
type benchServer struct {
	b        *testing.B
	emu      *emulator.Emulator
	url      string
	client   *http.Client
	token    string
	requests atomic.Int64
	seq      atomic.Int64 // for unique names across goroutines
}

func newBenchServer(b *testing.B, service string, jobDuration time.Duration) *benchServer {
	b.Helper()
	emu := emulator.New(emulator.Options{JobDuration: jobDuration, DisableRateLimits: true})
	srv := httptest.NewServer(emu.Handler(service))
	b.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	return &benchServer{b: b, emu: emu, url: srv.URL, client: client, token: emu.NewToken("bench")}
}

// do sends a request with the token and decodes a JSON answer into out
// (nil: any body is read and dropped). A status other than want is an
// error.
func (s *benchServer) do(method, path, body string, want int, out any) error {
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	s.requests.Add(1)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// run runs iteration in parallel b.N times and reports req/s. A failing
// iteration fails the benchmark and stops its goroutine.
func (s *benchServer) run(iteration func() error) {
	s.b.ReportAllocs()
	s.b.ResetTimer()
	start := time.Now()
	before := s.requests.Load()
	s.b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := iteration(); err != nil {
				s.b.Error(err)
				return
			}
		}
	})
	s.b.ReportMetric(float64(s.requests.Load()-before)/time.Since(start).Seconds(), "req/s")
}

// name returns a name no other iteration uses.
func (s *benchServer) name(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, s.seq.Add(1))
}

// benchPolls is how many status checks follow each start.
const benchPolls = 4

// BenchmarkDLISubmitAndPoll: a SQL submit, then status checks (5 requests).
func BenchmarkDLISubmitAndPoll(b *testing.B) {
	s := newBenchServer(b, emulator.DLI, time.Hour)
	s.run(func() error {
		var out struct {
			JobID string `json:"job_id"`
		}
		if err := s.do(http.MethodPost, "/v1.0/bench/jobs/submit-job", `{"sql":"select 1","tags":[{"key":"k","value":"v"}]}`, http.StatusOK, &out); err != nil {
			return err
		}
		for range benchPolls {
			if err := s.do(http.MethodGet, "/v1.0/bench/jobs/"+out.JobID+"/status", "", http.StatusOK, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkCDMCreateStartAndPoll: a job created in the default cluster
// (between two links made beforehand), started, then status checks (6
// requests).
func BenchmarkCDMCreateStartAndPoll(b *testing.B) {
	s := newBenchServer(b, emulator.CDM, time.Hour)
	base := "/v1.1/bench/clusters/" + emulator.CDMDefaultClusterID + "/cdm"
	for _, l := range []struct{ name, connector string }{{"src", "generic-jdbc-connector"}, {"dst", "obs-connector"}} {
		if err := s.do(http.MethodPost, base+"/link", cdmLinkBody(l.name, l.connector), http.StatusOK, nil); err != nil {
			b.Fatal(err)
		}
	}
	s.run(func() error {
		job := s.name("job")
		if err := s.do(http.MethodPost, base+"/job", cdmJobBody(job, "src", "dst"), http.StatusOK, nil); err != nil {
			return err
		}
		if err := s.do(http.MethodPut, base+"/job/"+job+"/start", "", http.StatusOK, nil); err != nil {
			return err
		}
		for range benchPolls {
			if err := s.do(http.MethodGet, base+"/job/"+job+"/status", "", http.StatusOK, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkDISPutRecordsAndDescribe: an upload of 10 records (about 100
// bytes each, spread over the partitions by key) to one 3-partition
// stream, then a describe of the stream (2 requests).
func BenchmarkDISPutRecordsAndDescribe(b *testing.B) {
	s := newBenchServer(b, emulator.DIS, time.Millisecond) // the stream is created in 1ms
	if err := s.do(http.MethodPost, "/v2/bench/streams", `{"stream_name":"clicks","partition_count":3}`, http.StatusCreated, nil); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		var out struct {
			Status string `json:"status"`
		}
		if err := s.do(http.MethodGet, "/v2/bench/streams/clicks", "", http.StatusOK, &out); err != nil {
			b.Fatal(err)
		}
		if out.Status == "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("stream still %s", out.Status)
		}
	}
	data := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(`{"page":"/home","ms":42}`, 3)))
	var recs []string
	for i := range 10 {
		recs = append(recs, fmt.Sprintf(`{"data":%q,"partition_key":"user-%d"}`, data, i))
	}
	put := `{"stream_name":"clicks","records":[` + strings.Join(recs, ",") + `]}`
	s.run(func() error {
		var out struct {
			Failed *int `json:"failed_record_count"`
		}
		if err := s.do(http.MethodPost, "/v2/bench/records", put, http.StatusOK, &out); err != nil {
			return err
		}
		if out.Failed == nil || *out.Failed != 0 {
			return fmt.Errorf("put records: failed_record_count %v", out.Failed)
		}
		return s.do(http.MethodGet, "/v2/bench/streams/clicks", "", http.StatusOK, nil)
	})
}

// BenchmarkLakeFormationCreateStartAndPoll: a metadata migration job
// created (the seed's sample request), started, then status checks (6
// requests).
func BenchmarkLakeFormationCreateStartAndPoll(b *testing.B) {
	s := newBenchServer(b, emulator.LakeFormation, time.Hour)
	base := "/v1/bench/instances/bench-instance/lf-jobs"
	s.run(func() error {
		var out struct {
			ID string `json:"id"`
		}
		if err := s.do(http.MethodPost, base, lfBody(s.name("job"), "METADATA_MIGRATION"), http.StatusCreated, &out); err != nil {
			return err
		}
		if err := s.do(http.MethodPost, base+"/"+out.ID+"/start", "", http.StatusAccepted, nil); err != nil {
			return err
		}
		for range benchPolls {
			if err := s.do(http.MethodGet, base+"/"+out.ID, "", http.StatusOK, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkDataArtsRunAndPollInstance: a run of an existing job (made
// beforehand: a CDM node and a DLI SQL node), as pipectl's dlf.job step
// starts it (run-immediate), then checks of the instance it made (5
// requests).
func BenchmarkDataArtsRunAndPollInstance(b *testing.B) {
	s := newBenchServer(b, emulator.DLF, time.Hour)
	if err := s.do(http.MethodPost, "/v1/bench/jobs", dlfBatchJob("daily"), http.StatusNoContent, nil); err != nil {
		b.Fatal(err)
	}
	s.run(func() error {
		var out struct {
			InstanceID int64 `json:"instanceId"`
		}
		if err := s.do(http.MethodPost, "/v1/bench/jobs/daily/run-immediate", `{"jobParams":[{"name":"bizdate","value":"2024-01-01"}]}`, http.StatusOK, &out); err != nil {
			return err
		}
		for range benchPolls {
			if err := s.do(http.MethodGet, fmt.Sprintf("/v1/bench/jobs/daily/instances/%d", out.InstanceID), "", http.StatusOK, nil); err != nil {
				return err
			}
		}
		return nil
	})
}
