// Package signer implements Huawei Cloud's AK/SK request signature,
// SDK-HMAC-SHA256, on both sides: Sign for clients and Verify for the
// emulator. It reproduces the official Go SDK's signer byte for byte (see
// testdata/signing-vectors.json, captured from that SDK).
//
// In short: the HMAC-SHA256, keyed with the SK's bytes, of
//
//	SDK-HMAC-SHA256 \n X-Sdk-Date \n hex(SHA256(canonical request))
//
// where the canonical request is the method, the re-encoded path with a
// trailing slash, the sorted query, the signed headers (lower-case names,
// trimmed values), their names, and the body's SHA-256.
package signer

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Names and formats of the protocol.
const (
	Algorithm = "SDK-HMAC-SHA256"
	// HeaderDate carries the signing time in DateFormat; it is always signed.
	HeaderDate = "X-Sdk-Date"
	// HeaderSecurityToken carries the token of temporary (STS) credentials.
	HeaderSecurityToken = "X-Security-Token"
	// HeaderContentSHA256, when present, replaces the body hash; the SDK sets
	// it to UnsignedPayload for bodies that are not JSON.
	HeaderContentSHA256 = "X-Sdk-Content-Sha256"
	UnsignedPayload     = "UNSIGNED-PAYLOAD"
	// DateFormat is X-Sdk-Date's layout: UTC, no separators, e.g. 20261121T232821Z.
	DateFormat = "20060102T150405Z"
	// MaxSkew is how far the gateway lets X-Sdk-Date differ from its clock.
	MaxSkew = 15 * time.Minute
)

// Verification failures. Verify wraps one of them with the detail.
var (
	// ErrMissingHeader: no Authorization or X-Sdk-Date, or a header listed in
	// SignedHeaders is absent.
	ErrMissingHeader = errors.New("missing header")
	// ErrMalformed: Authorization or X-Sdk-Date cannot be parsed, an
	// algorithm other than SDK-HMAC-SHA256, an invalid SignedHeaders list,
	// or a payload hash the body does not justify.
	ErrMalformed = errors.New("malformed signature")
	// ErrUnknownAccessKey: the AK is not known to the verifier.
	ErrUnknownAccessKey = errors.New("unknown access key")
	// ErrSignatureMismatch: the signature does not match the request.
	ErrSignatureMismatch = errors.New("signature mismatch")
	// ErrClockSkew: X-Sdk-Date is too far from the verifier's clock.
	ErrClockSkew = errors.New("request time outside the allowed clock skew")
)

// Credentials sign requests. SK (and SecurityToken) are secrets: do not log
// a Credentials value.
type Credentials struct {
	AK, SK string
	// SecurityToken makes these temporary (STS) credentials: it is sent and
	// signed as X-Security-Token.
	SecurityToken string
	// SignHost also signs the Host header, which the SDK does not: it binds
	// the signature to the endpoint. Verifiers accept either.
	SignHost bool
}

// Sign signs req with a permanent AK/SK at now; see Credentials.Sign.
func Sign(req *http.Request, body []byte, ak, sk string, now time.Time) error {
	return Credentials{AK: ak, SK: sk}.Sign(req, body, now)
}

// Sign adds X-Sdk-Date, Authorization (and X-Security-Token, and
// X-Sdk-Content-Sha256 for non-JSON bodies) to req. body must be exactly
// the bytes that will be sent. Like the SDK it signs every header already
// set, except Content-Type* and names containing "_", so set headers first
// and do not change them afterwards. A raw "+" in the query is read as a
// space (form encoding, as url.Values.Encode writes it) and rewritten as
// %20: a raw "+" is ambiguous to verifiers. Unlike the SDK, an existing
// X-Sdk-Date is always replaced: every attempt must be signed when sent.
func (c Credentials) Sign(req *http.Request, body []byte, now time.Time) error {
	if c.AK == "" || c.SK == "" {
		return errors.New("signer: empty AK or SK")
	}
	if req.URL == nil {
		return errors.New("signer: request has no URL")
	}
	req.Header.Del("Authorization")
	date := now.UTC().Format(DateFormat)
	req.Header.Set(HeaderDate, date)
	if c.SecurityToken != "" {
		req.Header.Set(HeaderSecurityToken, c.SecurityToken)
	}
	if ct := strings.ToLower(req.Header.Get("Content-Type")); ct != "" &&
		!strings.Contains(ct, "application/json") && !strings.Contains(ct, "application/bson") {
		req.Header.Set(HeaderContentSHA256, UnsignedPayload)
	}
	req.URL.RawQuery = strings.ReplaceAll(req.URL.RawQuery, "+", "%20")

	signed := signableHeaders(req.Header, c.SignHost)
	creq, err := canonicalRequest(req, body, signed)
	if err != nil {
		return fmt.Errorf("signer: %w", err)
	}
	sig := signature(c.SK, stringToSign(date, creq))
	req.Header.Set("Authorization", fmt.Sprintf("%s Access=%s, SignedHeaders=%s, Signature=%s",
		Algorithm, c.AK, strings.Join(signed, ";"), sig))
	return nil
}

// unsignable are headers the HTTP stack writes or rewrites itself (Go takes
// Host and Content-Length from the request, not the header map), hop-by-hop
// headers a proxy may change, and the signature itself.
var unsignable = []string{"authorization", "host", "content-length", "transfer-encoding", "trailer", "connection"}

// signableHeaders lists the lower-case names Sign signs, sorted.
func signableHeaders(h http.Header, host bool) []string {
	var names []string
	for k := range h {
		n := strings.ToLower(k)
		if strings.HasPrefix(n, "content-type") || strings.Contains(n, "_") || slices.Contains(unsignable, n) {
			continue
		}
		names = append(names, n)
	}
	if host {
		names = append(names, "host")
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Authorization is a parsed Authorization header.
type Authorization struct {
	Access        string
	SignedHeaders []string
	Signature     string
}

// ParseAuthorization parses "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b,
// Signature=hex". Any other algorithm is ErrMalformed.
func ParseAuthorization(v string) (Authorization, error) {
	var a Authorization
	rest, ok := strings.CutPrefix(v, Algorithm+" ")
	if !ok {
		alg, _, _ := strings.Cut(v, " ")
		return a, fmt.Errorf("%w: algorithm %q is not %s", ErrMalformed, alg, Algorithm)
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.TrimSpace(k) {
		case "Access":
			a.Access = strings.TrimSpace(val)
		case "SignedHeaders":
			if s := strings.TrimSpace(val); s != "" {
				a.SignedHeaders = strings.Split(s, ";")
			}
		case "Signature":
			a.Signature = strings.TrimSpace(val)
		}
	}
	if a.Access == "" || len(a.SignedHeaders) == 0 || a.Signature == "" {
		return a, fmt.Errorf("%w: Authorization needs Access, SignedHeaders and Signature", ErrMalformed)
	}
	return a, nil
}

// Verify checks a received request's signature, in the gateway's order:
// Authorization, the AK (lookupSK returns its SK), X-Sdk-Date within
// maxSkew of now, the SignedHeaders list (sorted, lower case, with
// x-sdk-date, every header present), the payload hash, the signature.
// body is the request's whole body, read by the caller. Errors wrap
// ErrMissingHeader, ErrMalformed, ErrUnknownAccessKey, ErrClockSkew or
// ErrSignatureMismatch. Checking a security token against its temporary AK
// is left to the caller (see ParseAuthorization).
func Verify(req *http.Request, body []byte, lookupSK func(ak string) (string, bool), now time.Time, maxSkew time.Duration) error {
	v := req.Header.Get("Authorization")
	if v == "" {
		return fmt.Errorf("%w: Authorization", ErrMissingHeader)
	}
	a, err := ParseAuthorization(v)
	if err != nil {
		return err
	}
	sk, ok := lookupSK(a.Access)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownAccessKey, a.Access)
	}
	date := req.Header.Get(HeaderDate)
	if date == "" {
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderDate)
	}
	t, err := time.Parse(DateFormat, date)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not in the format %s", ErrMalformed, HeaderDate, date, DateFormat)
	}
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("%w: %s %s is %s away from the server time %s", ErrClockSkew, HeaderDate, date,
			d.Abs().Round(time.Second), now.UTC().Format(DateFormat))
	}
	if err := checkSignedHeaders(req, a.SignedHeaders); err != nil {
		return err
	}
	if err := checkPayloadHash(req, body); err != nil {
		return err
	}
	creq, err := canonicalRequest(req, body, a.SignedHeaders)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	want := signature(sk, stringToSign(date, creq))
	if subtle.ConstantTimeCompare([]byte(want), []byte(a.Signature)) != 1 {
		return ErrSignatureMismatch
	}
	return nil
}

func checkSignedHeaders(req *http.Request, names []string) error {
	for i, n := range names {
		if n == "" || n != strings.ToLower(n) {
			return fmt.Errorf("%w: SignedHeaders entry %q is not a lower-case name", ErrMalformed, n)
		}
		if i > 0 && names[i-1] >= n {
			return fmt.Errorf("%w: SignedHeaders is not sorted and unique at %q", ErrMalformed, n)
		}
	}
	if !slices.Contains(names, "x-sdk-date") {
		return fmt.Errorf("%w: SignedHeaders must include x-sdk-date", ErrMalformed)
	}
	for _, n := range names {
		if len(headerValues(req, n)) == 0 {
			return fmt.Errorf("%w: signed header %s", ErrMissingHeader, n)
		}
	}
	return nil
}

// checkPayloadHash accepts X-Sdk-Content-Sha256 only as UNSIGNED-PAYLOAD for
// a non-JSON body or as the body's real hash: a JSON body must be signed.
func checkPayloadHash(req *http.Request, body []byte) error {
	v := req.Header.Get(HeaderContentSHA256)
	switch {
	case v == "":
		return nil
	case v == UnsignedPayload:
		if strings.Contains(strings.ToLower(req.Header.Get("Content-Type")), "json") {
			return fmt.Errorf("%w: a JSON body cannot be %s", ErrMalformed, UnsignedPayload)
		}
		return nil
	case v != hashHex(body):
		return fmt.Errorf("%w: %s does not match the body", ErrMalformed, HeaderContentSHA256)
	}
	return nil
}

// headerValues returns the values of the lower-case header name; "host" is
// the request's authority.
func headerValues(req *http.Request, name string) []string {
	if name == "host" {
		h := req.Host
		if h == "" && req.URL != nil {
			h = req.URL.Host
		}
		if h = strings.TrimSuffix(h, ":"); h == "" {
			return nil
		}
		return []string{h}
	}
	var vs []string
	for k, v := range req.Header {
		if strings.EqualFold(k, name) {
			vs = append(vs, v...)
		}
	}
	return vs
}

// canonicalRequest builds the canonical request of req for the given
// lower-case, sorted header names.
func canonicalRequest(req *http.Request, body []byte, signed []string) (string, error) {
	query, err := canonicalQuery(req.URL.RawQuery)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(req.Method + "\n")
	b.WriteString(canonicalURI(req.URL.Path) + "\n")
	b.WriteString(query + "\n")
	for _, n := range signed {
		vs := headerValues(req, n)
		for i := range vs {
			vs[i] = strings.TrimSpace(vs[i])
		}
		slices.Sort(vs) // several values: one line each, sorted (SDK rule)
		for _, v := range vs {
			b.WriteString(n + ":" + v + "\n")
		}
	}
	b.WriteString("\n")
	b.WriteString(strings.Join(signed, ";") + "\n")
	b.WriteString(payloadHash(req, body))
	return b.String(), nil
}

func payloadHash(req *http.Request, body []byte) string {
	if v := req.Header.Get(HeaderContentSHA256); v != "" {
		return v
	}
	return hashHex(body)
}

// canonicalURI re-encodes each segment of the decoded path and ends it with
// "/". Decoding first means the wire's lighter escaping ("+", "=" left
// literal) does not matter.
func canonicalURI(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = encode(s)
	}
	p := strings.Join(segs, "/")
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// canonicalQuery sorts the decoded keys, and each key's decoded values, and
// re-encodes them; a key without "=" gets an empty value.
func canonicalQuery(raw string) (string, error) {
	type kv struct{ k, v string }
	var pairs []kv
	for piece := range strings.SplitSeq(raw, "&") {
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			return "", fmt.Errorf("query key %q: %w", k, err)
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return "", fmt.Errorf("query value %q: %w", v, err)
		}
		pairs = append(pairs, kv{dk, dv})
	}
	slices.SortFunc(pairs, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = encode(p.k) + "=" + encode(p.v)
	}
	return strings.Join(parts, "&"), nil
}

// encode percent-encodes every byte but A–Z a–z 0–9 - _ . ~, in upper-case hex.
func encode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func stringToSign(date, canonicalRequest string) string {
	return Algorithm + "\n" + date + "\n" + hashHex([]byte(canonicalRequest))
}

func signature(sk, stringToSign string) string {
	m := hmac.New(sha256.New, []byte(sk))
	m.Write([]byte(stringToSign))
	return hex.EncodeToString(m.Sum(nil))
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
