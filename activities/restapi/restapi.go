// Package restapi runs `http` steps: one REST call, as DataArts' RESTAPI
// node makes, optionally signed with the worker's access key.
package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cloudapi"
)

// KindHTTP is the step kind this package runs.
const KindHTTP = "http"

// IdempotencyHeader carries the step's idempotency key, so a service that
// deduplicates requests can recognise a retried call.
const IdempotencyHeader = "Idempotency-Key"

// maxBodyOutput bounds the response body kept as the step's output: it
// goes into workflow history.
const maxBodyOutput = 16 << 10

// Input is the `with` of an http step.
type Input struct {
	URL          string            `json:"url"`
	Method       string            `json:"method,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	Body         string            `json:"body,omitempty"`
	Sign         bool              `json:"sign,omitempty"`
	ExpectStatus []int             `json:"expect_status,omitempty"`
}

// Activities run http steps.
type Activities struct {
	// Plain sends unsigned requests; Signed signs them with the worker's
	// access key (nil when the worker has none).
	Plain, Signed *http.Client
	Secrets       activities.Secrets
}

// Submit makes the call. The call is the whole job, so submit returns its
// result with the handle and wait only hands it back. A transient failure
// (connection error, 429, 5xx unless expected) is retried by Temporal with
// the same Idempotency-Key; non-idempotent endpoints should honour it.
func (a *Activities) Submit(ctx context.Context, req activities.StepRequest) (*activities.Job, error) {
	with, err := activities.ResolveSecrets(ctx, req.With, a.Secrets)
	if err != nil {
		return nil, err
	}
	var in Input
	if err := json.Unmarshal(with, &in); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("http input: "+err.Error(), activities.ErrRequestRejected, nil)
	}
	method := strings.ToUpper(in.Method)
	if method == "" {
		method = http.MethodGet
	}
	hreq, err := http.NewRequestWithContext(ctx, method, in.URL, bytes.NewReader([]byte(in.Body)))
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("http: "+redactURL(err.Error()), activities.ErrRequestRejected, nil)
	}
	if in.Body == "" {
		hreq.Body, hreq.GetBody, hreq.ContentLength = http.NoBody, nil, 0
	}
	for k, v := range in.Headers {
		hreq.Header.Set(k, v)
	}
	hreq.Header.Set(IdempotencyHeader, req.IdempotencyKey())
	hc := a.Plain
	if in.Sign {
		if a.Signed == nil {
			return nil, temporal.NewNonRetryableApplicationError("http: sign is set but the worker has no access key (HUAWEICLOUD_SDK_AK/SK)", activities.ErrRequestRejected, nil)
		}
		hc = a.Signed
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		// The error may quote the URL, whose query could hold a secret.
		return nil, activities.Classify(errors.New("http " + method + ": " + redactURL(err.Error())))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyOutput+1))
	if !expected(resp.StatusCode, in.ExpectStatus) {
		apiErr := &cloudapi.Error{Service: "HTTP", Op: method + " " + hostOf(in.URL), Status: resp.StatusCode, Message: truncate(string(body), 512)}
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			if secs, err := strconv.Atoi(ra); err == nil {
				apiErr.RetryAfter = secondsDuration(secs)
			}
		}
		return nil, activities.Classify(apiErr)
	}
	activity.GetLogger(ctx).Info("http step called", "step", req.StepID, "method", method, "host", hostOf(in.URL), "status", resp.StatusCode)
	return &activities.Job{ID: req.IdempotencyKey(), Result: &activities.Result{
		State:   strconv.Itoa(resp.StatusCode),
		Outputs: map[string]string{"status": strconv.Itoa(resp.StatusCode), "body": truncate(string(body), maxBodyOutput)},
	}}, nil
}

// Wait returns the result submit recorded: the call has already ended.
func (a *Activities) Wait(_ context.Context, req activities.StepRequest) (*activities.Result, error) {
	if req.Job == nil || req.Job.Result == nil {
		return nil, temporal.NewNonRetryableApplicationError("http: no result recorded by submit", activities.ErrRequestRejected, nil)
	}
	return req.Job.Result, nil
}

// Cancel has nothing to stop: a call either happened or did not.
func (a *Activities) Cancel(context.Context, activities.StepRequest) error { return nil }

func expected(status int, want []int) bool {
	if len(want) == 0 {
		return status >= 200 && status <= 299
	}
	for _, s := range want {
		if s == status {
			return true
		}
	}
	return false
}

func hostOf(u string) string {
	rest := u
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	return rest
}

// redactURL drops query strings and user info from URLs quoted in msg.
func redactURL(msg string) string {
	var b strings.Builder
	for _, f := range strings.SplitAfter(msg, " ") {
		if strings.Contains(f, "://") {
			trimmed := strings.Trim(f, "\" ")
			b.WriteString(strings.Replace(f, trimmed, schemeHost(trimmed), 1))
			continue
		}
		b.WriteString(f)
	}
	return b.String()
}

func schemeHost(u string) string {
	scheme, _, _ := strings.Cut(u, "://")
	return scheme + "://" + hostOf(u) + "/…"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + fmt.Sprintf("… (%d more bytes)", len(s)-n)
}

func secondsDuration(s int) time.Duration { return time.Duration(s) * time.Second }
