package cloudapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pipectl/pipectl/activities/cloudapi/signer"
)

// maxSignedBody is the documented body limit of AK/SK-signed requests;
// larger bodies need token authentication.
const maxSignedBody = 12 << 20

// AKSKTransport signs every request with an access key (SDK-HMAC-SHA256,
// see package signer), the alternative to an IAM token: no token request,
// no expiry to track. Each attempt is signed when it is sent, retries
// included, because the gateway rejects a signing time more than 15
// minutes away from its clock. It signs the headers the request has when
// it reaches the transport (plus Host), so anything below it must not
// change them; Content-Type is never signed.
//
// The caller's request is not modified: the body is read (from GetBody
// when the request has one, so the original stays unread) and a clone
// carrying a copy of it is signed and sent.
type AKSKTransport struct {
	AK string
	SK Secret
	// SecurityToken makes AK/SK temporary credentials (sent as
	// X-Security-Token); zero for a permanent access key.
	SecurityToken Secret
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// RoundTrip implements http.RoundTripper.
func (t *AKSKTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if req.Body != nil {
		req.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("AK/SK signing: read body: %w", err)
	}
	if len(body) > maxSignedBody {
		return nil, fmt.Errorf("AK/SK signing: body of %d bytes exceeds the 12 MB limit of signed requests", len(body))
	}
	r := req.Clone(req.Context())
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	cred := signer.Credentials{AK: t.AK, SK: t.SK.Reveal(), SecurityToken: t.SecurityToken.Reveal(), SignHost: true}
	if err := cred.Sign(r, body, now()); err != nil {
		return nil, fmt.Errorf("AK/SK signing: %w", err)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// readBody returns the request body's bytes (nil for none), preferring a
// fresh copy from GetBody.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	rc := req.Body
	if req.GetBody != nil {
		var err error
		if rc, err = req.GetBody(); err != nil {
			return nil, err
		}
		defer rc.Close()
	}
	return io.ReadAll(io.LimitReader(rc, maxSignedBody+1))
}
