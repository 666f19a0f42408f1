package restapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/activities/cloudapi/signer"
	"github.com/pipectl/pipectl/activities/restapi"
)

type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func (r *recorder) handler(status int, reply string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Clone(context.Background()))
		r.body = append(r.body, string(b))
		r.mu.Unlock()
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}
}

func request(t *testing.T, with string) activities.StepRequest {
	t.Helper()
	return activities.StepRequest{Pipeline: "p", RunKey: "wf/run", StepID: "notify", Kind: restapi.KindHTTP, Attempt: 1, With: json.RawMessage(with)}
}

func run(t *testing.T, a *restapi.Activities, req activities.StepRequest) (*activities.Result, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a.Submit)
	env.RegisterActivity(a.Wait)
	v, err := env.ExecuteActivity(a.Submit, req)
	if err != nil {
		return nil, err
	}
	var job activities.Job
	if err := v.Get(&job); err != nil {
		t.Fatal(err)
	}
	req.Job = &job
	v, err = env.ExecuteActivity(a.Wait, req)
	if err != nil {
		return nil, err
	}
	var res activities.Result
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	return &res, nil
}

func TestCallWithSecretHeaderAndBody(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec.handler(http.StatusCreated, `{"ok":true}`))
	defer srv.Close()
	t.Setenv("PIPECTL_SECRET_HOOK_TOKEN", "tok-123")
	a := &restapi.Activities{Plain: srv.Client(), Secrets: activities.EnvSecrets{}}
	res, err := run(t, a, request(t, `{"url":"`+srv.URL+`/hooks/done","method":"post","headers":{"Authorization":"Bearer ${secret.HOOK_TOKEN}"},"body":"{\"pipeline\":\"p\"}"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outputs["status"] != "201" || res.Outputs["body"] != `{"ok":true}` {
		t.Errorf("outputs = %v", res.Outputs)
	}
	got := rec.reqs[0]
	if got.Method != http.MethodPost || got.URL.Path != "/hooks/done" || got.Header.Get("Authorization") != "Bearer tok-123" || rec.body[0] != `{"pipeline":"p"}` {
		t.Errorf("request = %s %s %q body %q", got.Method, got.URL.Path, got.Header.Get("Authorization"), rec.body[0])
	}
	key := request(t, "{}").IdempotencyKey()
	if got.Header.Get(restapi.IdempotencyHeader) != key {
		t.Errorf("idempotency header = %q, want %q", got.Header.Get(restapi.IdempotencyHeader), key)
	}
	if strings.Contains(res.Outputs["body"]+res.State, "tok-123") {
		t.Error("the secret reached the outputs")
	}
}

func TestStatusClassification(t *testing.T) {
	for _, tc := range []struct {
		status    int
		expect    string
		retryable bool
		ok        bool
	}{
		{http.StatusOK, "", false, true},
		{http.StatusAccepted, `,"expect_status":[202]`, false, true},
		{http.StatusOK, `,"expect_status":[202]`, false, false},
		{http.StatusBadRequest, "", false, false},
		{http.StatusTooManyRequests, "", true, false},
		{http.StatusBadGateway, "", true, false},
	} {
		rec := &recorder{}
		srv := httptest.NewServer(rec.handler(tc.status, "nope"))
		a := &restapi.Activities{Plain: srv.Client()}
		_, err := run(t, a, request(t, `{"url":"`+srv.URL+`/x?token=abc"`+tc.expect+`}`))
		srv.Close()
		if tc.ok {
			if err != nil {
				t.Errorf("status %d%s: %v", tc.status, tc.expect, err)
			}
			continue
		}
		var app *temporal.ApplicationError
		if !errors.As(err, &app) {
			t.Errorf("status %d: error %v, want an application error", tc.status, err)
			continue
		}
		if app.NonRetryable() == tc.retryable {
			t.Errorf("status %d: non-retryable = %v, want %v", tc.status, app.NonRetryable(), !tc.retryable)
		}
		if strings.Contains(app.Error(), "token=abc") {
			t.Errorf("status %d: the query string reached the error: %s", tc.status, app.Error())
		}
		if tc.status == http.StatusTooManyRequests && app.NextRetryDelay() != 7*time.Second {
			t.Errorf("429: next retry %s, want Retry-After's 7s", app.NextRetryDelay())
		}
	}
}

func TestSignedCall(t *testing.T) {
	const ak, sk = "AKTEST00000000000001", "sk-test-secret"
	var verr error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verr = signer.Verify(r, body, func(k string) (string, bool) { return sk, k == ak }, time.Now(), signer.MaxSkew)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	signed := &http.Client{Transport: &cloudapi.AKSKTransport{AK: ak, SK: cloudapi.NewSecret(sk)}}
	a := &restapi.Activities{Plain: srv.Client(), Signed: signed}
	res, err := run(t, a, request(t, `{"url":"`+srv.URL+`/v1/p/jobs","method":"POST","body":"{}","sign":true}`))
	if err != nil || verr != nil {
		t.Fatalf("signed call: %v, verify: %v", err, verr)
	}
	if res.Outputs["status"] != "204" {
		t.Errorf("status = %s", res.Outputs["status"])
	}
	unsigned := &restapi.Activities{Plain: srv.Client()}
	if _, err := run(t, unsigned, request(t, `{"url":"`+srv.URL+`","sign":true}`)); err == nil || !strings.Contains(err.Error(), "HUAWEICLOUD_SDK_AK") {
		t.Errorf("sign without a key: %v", err)
	}
}
