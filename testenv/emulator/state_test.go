package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

func TestStateFileRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	clock := &fakeClock{t: t0}
	opts := emulator.Options{Now: clock.Now, JobDuration: 10 * time.Second, StateFile: file}
	emu := emulator.New(opts)
	srv := httptest.NewServer(iamAndDLI(emu))
	e := &env{t: t, emu: emu, srv: srv, clock: clock}

	emu.AddRule(emulator.Rule{Service: emulator.DLI, Match: "flaky", FailMessage: "disk full", FailFirst: 2, Duration: time.Minute})
	emu.AddRule(emulator.Rule{Match: "forever", Hang: true})
	token := e.do("POST", "/v3/auth/tokens", tokenBody(`{"id":"p1"}`), "Content-Type", "application/json").header.Get("X-Subject-Token")
	if token != "" {
		t.Fatal("alice is not a user of this emulator, yet got a token")
	}
	token = e.do("POST", "/v3/auth/tokens",
		`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"pipectl-dev","password":"pipectl-dev","domain":{"name":"pipectl-dev"}}}},"scope":{"project":{"id":"p1"}}}}`,
		"Content-Type", "application/json").header.Get("X-Subject-Token")
	auth := []string{"X-Auth-Token", token}
	submit := func(sql string) string {
		r := e.do("POST", "/v1.0/p1/jobs/submit-job", `{"sql":"`+sql+`","tags":[{"key":"k","value":"v"}],"conf":["a=b"]}`, auth...)
		if r.status != http.StatusOK {
			t.Fatalf("submit: %d %s", r.status, r.raw)
		}
		return r.body["job_id"].(string)
	}
	done := submit("select 1")
	failed := submit("insert into flaky select 1")
	hung := submit("select forever")
	cancelled := submit("select 2")
	clock.Advance(5 * time.Second)
	e.do("DELETE", "/v1.0/p1/jobs/"+cancelled, "", auth...)
	e.do("GET", "/v1.0/p1/jobs/"+hung+"/status", "", auth...)
	running := submit("select 3")
	clock.Advance(5 * time.Second)
	before := emu.DLIJobs()
	if err := emu.Save(); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v; want mode 0600 (it holds tokens)", fi, err)
	}

	// A new emulator on the same file picks up where the old one stopped.
	emu2, err := emulator.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(iamAndDLI(emu2))
	defer srv2.Close()
	e2 := &env{t: t, emu: emu2, srv: srv2, clock: clock}
	if after := emu2.DLIJobs(); !reflect.DeepEqual(after, before) {
		t.Errorf("jobs after reload:\n%+v\nwant\n%+v", after, before)
	}
	want := map[string]string{done: "FINISHED", failed: "LAUNCHING", hung: "RUNNING", cancelled: "CANCELLED", running: "RUNNING"}
	for id, status := range want {
		r := e2.do("GET", "/v1.0/p1/jobs/"+id+"/status", "", auth...) // the token survived too
		if r.status != http.StatusOK || r.body["status"] != status {
			t.Errorf("job %s after reload: %d %v, want %s", id, r.status, r.body["status"], status)
		}
	}
	clock.Advance(time.Minute)
	if r := e2.do("GET", "/v1.0/p1/jobs/"+failed+"/status", "", auth...); r.body["status"] != "FAILED" || r.body["message"] != "disk full" {
		t.Errorf("failing job a minute later: %s", r.raw)
	}
	// Rules survived with their FailFirst count: one failure left.
	rules := emu2.Rules()
	if len(rules) != 2 || rules[0].Match != "flaky" || rules[0].Failed() != 1 || rules[0].Duration != time.Minute || !rules[1].Hang {
		t.Errorf("rules after reload: %+v", rules)
	}
	if toks := emu2.Tokens(); len(toks) != 1 || toks[0].User != "pipectl-dev" {
		t.Errorf("tokens after reload: %+v", toks)
	}

	var doc map[string]any
	b, _ := os.ReadFile(file)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "saved_at", "iam", "rules", "dli", "cdm", "dis", "flink", "spark", "lakeformation", "dlf"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("state file has no %q", k)
		}
	}
}

func TestStateSavedWhenStartEnds(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	ctx, cancel := context.WithCancel(context.Background())
	emu := emulator.New(emulator.Options{StateFile: file})
	urls, err := emu.Start(ctx, "127.0.0.1", emulator.Ports(0))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", urls[emulator.DLI]+"/v1.0/p1/jobs/submit-job", strings.NewReader(`{"sql":"select 1"}`))
	req.Header.Set("X-Auth-Token", emu.NewToken("p1"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("submit: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	emu.Wait() // shut down and saved
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("no state file after Start's context ended: %v", err)
	}
	emu2, err := emulator.Open(emulator.Options{StateFile: file})
	if err != nil {
		t.Fatal(err)
	}
	if jobs := emu2.DLIJobs(); len(jobs) != 1 || jobs[0].SQL != "select 1" {
		t.Errorf("jobs after restart: %+v", jobs)
	}
}

func TestStateFileProblems(t *testing.T) {
	dir := t.TempDir()

	// A missing file is an empty state, created by Save.
	missing := filepath.Join(dir, "new.json")
	emu, err := emulator.Open(emulator.Options{StateFile: missing})
	if err != nil || len(emu.DLIJobs()) != 0 {
		t.Fatalf("Open on a missing file: %v", err)
	}
	if err := emu.Save(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, content, want string }{
		{"corrupt", `{"version":1,"dli":`, "unexpected end of JSON input"},
		{"other version", `{"version":99}`, "version 99, want 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name+".json")
			if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := emulator.Open(emulator.Options{StateFile: file}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v, want an error with %q", err, tc.want)
			}
			// New starts empty but never overwrites the file it could not read.
			emu := emulator.New(emulator.Options{StateFile: file})
			if err := emu.Save(); err == nil || !strings.Contains(err.Error(), "could not be loaded") {
				t.Errorf("Save: %v, want a refusal", err)
			}
			if b, _ := os.ReadFile(file); string(b) != tc.content {
				t.Errorf("file changed to %s", b)
			}
		})
	}
}

func TestRuleJSON(t *testing.T) {
	r := emulator.Rule{Service: "cdm", Match: "x", Duration: 90 * time.Second, FailMessage: "m", FailCode: "c",
		FailFirst: 2, Hang: true, SubmitErrors: 3, SubmitStatus: 429}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"service":"cdm","match":"x","duration":"1m30s","fail_message":"m","fail_code":"c","fail_first":2,"hang":true,"submit_errors":3,"submit_status":429}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var back emulator.Rule
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("Unmarshal = %+v, %v; want %+v", back, err, r)
	}
}
