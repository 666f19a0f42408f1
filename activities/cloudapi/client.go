// Package cloudapi is the HTTP plumbing every Huawei Cloud service client
// shares: JSON requests, the services' error bodies turned into one Error
// type, and authentication as http.RoundTrippers. It never retries: retrying
// is Temporal's job, driven by the activity's classification of Error.
package cloudapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxErrorBody bounds how much of an error response is read: enough for
// any documented error body, little enough that a proxy's HTML page cannot
// bloat an activity failure.
const maxErrorBody = 64 << 10

// Client sends JSON requests to one service endpoint. It is safe for
// concurrent use.
type Client struct {
	// Service names the service in errors ("DLI", "CDM", …).
	Service string
	// BaseURL is the service endpoint, e.g. https://dli.ap-southeast-1.myhuaweicloud.com.
	BaseURL string
	// HTTP sends the requests; its Transport carries authentication.
	HTTP *http.Client
}

// Do sends a request with in as its JSON body (nil for none) and decodes a
// 2xx response into out (nil to discard). A non-2xx answer is an *Error.
// op names the operation in errors ("submit SQL job").
func (c *Client) Do(ctx context.Context, op, method, path string, query url.Values, in, out any) error {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", c.Service, op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.Service, op, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL is the endpoint and path only: queries here never carry
		// secrets, and headers never reach an error.
		return fmt.Errorf("%s %s: %w", c.Service, op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newError(c.Service, op, resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	// An empty body (204, or a 200 without content) leaves out as it is.
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil && err != io.EOF {
		return fmt.Errorf("%s %s: decode response: %w", c.Service, op, err)
	}
	return nil
}

// Error is a service's answer to a request it did not accept.
type Error struct {
	Service    string
	Op         string
	Status     int
	Code       string // the service's error code, e.g. DLI.0002
	Message    string
	RequestID  string
	RetryAfter time.Duration // from Retry-After, when sent
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Service, e.Op, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: throttling,
// server errors and request timeouts are; other rejections are not.
func (e *Error) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

func newError(service, op string, resp *http.Response) *Error {
	e := &Error{Service: service, Op: op, Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(s); err == nil {
			e.RetryAfter = max(time.Until(t), 0)
		}
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e.Code, e.Message = parseErrorBody(b)
	if e.Message == "" && e.Code == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// parseErrorBody reads the error shapes the services document: the common
// error_code/error_msg, CDM's errCode/externalMessage, and the nested
// gateway form {"error":{"code","message"}}.
func parseErrorBody(b []byte) (code, msg string) {
	var body struct {
		ErrorCode       string `json:"error_code"`
		ErrorMsg        string `json:"error_msg"`
		ErrCode         string `json:"errCode"`
		ExternalMessage string `json:"externalMessage"`
		Code            string `json:"code"`
		Message         string `json:"message"`
		Error           *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) != nil {
		return "", strings.TrimSpace(string(b))
	}
	code = first(body.ErrorCode, body.ErrCode, body.Code)
	msg = first(body.ErrorMsg, body.ExternalMessage, body.Message)
	if body.Error != nil {
		code = first(code, body.Error.Code)
		msg = first(msg, body.Error.Message)
	}
	return code, msg
}

func first(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
