package emulator

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pipectl/pipectl/activities/cloudapi/signer"
)

// tokenValidity is the documented lifetime of an IAM token.
const tokenValidity = 24 * time.Hour

// IAM error codes, from the IAM API reference (not in the seed documents,
// which only show the error body shape).
const (
	iamBadBody      = "IAM.0011" // Request body is invalid.
	iamInvalidParam = "IAM.0007" // Request parameter %(key)s is invalid.
	iamRequired     = "IAM.0072" // '%(key)s' is a required property.
	// iamWrongPassword answers an unknown user or a wrong password with
	// 401; the seeds document only the status, the code is our choice.
	iamWrongPassword = "IAM.0101"
)

// Answers of the API gateway in front of every service when credentials
// fail (codes as the real gateway sends them; the seeds show APIG.1002 in
// LakeFormation's 401 sample).
const (
	gwBadToken    = "APIG.1002" // no credentials, unknown or expired token
	gwBadTokenMsg = "Incorrect token or token resolution failed"
	gwBadAKSK     = "APIG.0301" // AK/SK signature rejected
	gwBadAKSKMsg  = "Incorrect IAM authentication information: "
	gwTooLarge    = "APIG.0201" // body over the AK/SK limit
)

// iamState holds the issued tokens, guarded by Emulator.mu.
type iamState struct {
	Tokens map[string]iamToken `json:"tokens"` // by token
}

type iamToken struct {
	User      string    `json:"user"`
	Domain    string    `json:"domain"`
	ProjectID string    `json:"project_id"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Token describes an issued IAM token (without the token itself).
type Token struct {
	User, Domain, ProjectID string
	IssuedAt, ExpiresAt     time.Time
	Expired                 bool // at the emulator's clock now
}

func (e *Emulator) registerIAM() {
	e.publicRoute(IAM, iamTokenRoute, e.issueToken)
}

// iamTokenRoute is the token endpoint. It needs no credentials, so its
// rate limit (limits.go) is per user, spent by issueToken once it knows
// the user, rather than per project by the route wrapper.
const iamTokenRoute = "POST /v3/auth/tokens"

type tokenRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User iamUser `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		Scope struct {
			Project *iamProject `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

type iamUser struct {
	ID       string  `json:"id,omitempty"`
	Name     string  `json:"name,omitempty"`
	Password string  `json:"password,omitempty"`
	Domain   *iamRef `json:"domain,omitempty"`
}

type iamRef struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type iamProject struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type tokenResponse struct {
	Token struct {
		ExpiresAt string     `json:"expires_at"`
		IssuedAt  string     `json:"issued_at"`
		Methods   []string   `json:"methods"`
		User      iamUser    `json:"user"`
		Project   iamProject `json:"project"`
		Catalog   []struct{} `json:"catalog"`
	} `json:"token"`
}

// missing names the first required property req lacks, or "".
func (req *tokenRequest) missing() string {
	pw, scope := req.Auth.Identity.Password, req.Auth.Scope.Project
	switch {
	case pw == nil:
		return "auth.identity.password"
	case pw.User.Name == "" && pw.User.ID == "":
		return "auth.identity.password.user.name"
	case pw.User.Password == "":
		return "auth.identity.password.user.password"
	// A user given by name is only unique within its account (domain).
	case pw.User.ID == "" && (pw.User.Domain == nil || (pw.User.Domain.Name == "" && pw.User.Domain.ID == "")):
		return "auth.identity.password.user.domain.name"
	case scope == nil || (scope.ID == "" && scope.Name == ""):
		return "auth.scope.project.id"
	}
	return ""
}

// issueToken implements password authentication scoped to a project: the
// user (by name within its domain) and password must be one of
// Options.Users. The token is random, valid 24 hours, and checked by every
// service.
func (e *Emulator) issueToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, iamBadBody, "Request body is invalid: "+err.Error())
		return
	}
	id := req.Auth.Identity
	if !slices.Contains(id.Methods, "password") {
		writeError(w, http.StatusBadRequest, iamInvalidParam, "Request parameter auth.identity.methods is invalid: only password is supported.")
		return
	}
	if missing := req.missing(); missing != "" {
		writeError(w, http.StatusBadRequest, iamRequired, "'"+missing+"' is a required property.")
		return
	}

	u, ok := e.lookupUser(id.Password.User)
	if !ok {
		writeError(w, http.StatusUnauthorized, iamWrongPassword, "The username or password is wrong.")
		e.log.Info("emulator refused a token", "user", id.Password.User.Name)
		return
	}

	// Only tokens that would be issued spend the budget, as requests with
	// rejected credentials do not on the other services.
	if !e.rateLimit(w, IAM, IAM+" "+iamTokenRoute, userID(u)) {
		return
	}

	project := *req.Auth.Scope.Project
	switch {
	case project.ID != "":
	case e.projectID != "":
		project.ID = e.projectID
	default:
		// Stable per name, so a client can learn "its" project ID from the token.
		project.ID = hexID(project.Name)
	}
	user := iamUser{ID: userID(u), Name: u.Name, Domain: &iamRef{ID: domainID(u.Domain), Name: u.Domain}}
	token, now := e.issue(u, project.ID)

	var resp tokenResponse
	resp.Token.ExpiresAt = now.Add(tokenValidity).Format(iamTimeFormat)
	resp.Token.IssuedAt = now.Format(iamTimeFormat)
	resp.Token.Methods = []string{"password"}
	resp.Token.User = user
	resp.Token.Project = project
	resp.Token.Catalog = []struct{}{}

	w.Header().Set("X-Subject-Token", token)
	writeJSON(w, http.StatusCreated, resp)
	e.log.Info("emulator issued token", "user", user.Name, "project", project.ID)
}

// iamTimeFormat is RFC 3339 in UTC with microseconds, as in the documented
// sample "2019-02-13T06:52:13.855000Z".
const iamTimeFormat = "2006-01-02T15:04:05.000000Z"

// lookupUser finds the configured user a token request names: by ID, or by
// name within its domain (given by name or ID), with the right password.
func (e *Emulator) lookupUser(req iamUser) (User, bool) {
	for _, u := range e.users {
		switch {
		case req.ID != "":
			if req.ID != userID(u) {
				continue
			}
		case req.Name != u.Name || req.Domain == nil:
			continue
		case req.Domain.Name != u.Domain && req.Domain.ID != domainID(u.Domain):
			continue
		}
		if subtle.ConstantTimeCompare([]byte(req.Password), []byte(u.Password)) == 1 {
			return u, true
		}
		return User{}, false
	}
	return User{}, false
}

// userID and domainID are stable IDs derived from the names, so tokens
// name the same IDs across restarts.
func userID(u User) string { return hexID("user/" + u.Domain + "/" + u.Name) }

func domainID(domain string) string { return hexID("domain/" + domain) }

func hexID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:16])
}

// NewToken issues a token for the first configured user, scoped to
// projectID, as if it had logged in: for tests that need a real token
// without an IAM round trip.
func (e *Emulator) NewToken(projectID string) string {
	var u User
	if len(e.users) > 0 {
		u = e.users[0]
	}
	token, _ := e.issue(u, projectID)
	return token
}

// issue records a new token of u for projectID and returns it with its
// issue time.
func (e *Emulator) issue(u User, projectID string) (token string, now time.Time) {
	token = "MII" + rand.Text() + rand.Text()
	e.mu.Lock()
	defer e.mu.Unlock()
	now = e.now().UTC()
	for k, t := range e.iam.Tokens { // forget expired tokens, so the map stays small
		if !now.Before(t.ExpiresAt) {
			delete(e.iam.Tokens, k)
		}
	}
	e.iam.Tokens[token] = iamToken{User: u.Name, Domain: u.Domain, ProjectID: projectID, IssuedAt: now, ExpiresAt: now.Add(tokenValidity)}
	return token, now
}

// Tokens returns the tokens IAM issued that have not been forgotten
// (expired ones are dropped when the next is issued), oldest first.
func (e *Emulator) Tokens() []Token {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	out := make([]Token, 0, len(e.iam.Tokens))
	for _, t := range e.iam.Tokens {
		out = append(out, Token{User: t.User, Domain: t.Domain, ProjectID: t.ProjectID,
			IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt, Expired: !now.Before(t.ExpiresAt)})
	}
	slices.SortFunc(out, func(a, b Token) int { return a.IssuedAt.Compare(b.IssuedAt) })
	return out
}

// authenticate lets a request through with a valid IAM token
// (X-Auth-Token), or with a valid AK/SK signature (Authorization and
// X-Sdk-Date), and otherwise answers 401 as the API gateway does, in the
// service's error shape.
func (e *Emulator) authenticate(w http.ResponseWriter, r *http.Request, service string) bool {
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		if e.tokenValid(tok) {
			return true
		}
		writeServiceError(w, service, http.StatusUnauthorized, gwBadToken, gwBadTokenMsg)
		return false
	}
	if r.Header.Get("Authorization") != "" && r.Header.Get(signer.HeaderDate) != "" {
		return e.verifySignature(w, r, service)
	}
	writeServiceError(w, service, http.StatusUnauthorized, gwBadToken, gwBadTokenMsg)
	return false
}

// tokenValid reports whether IAM issued tok and it has not expired.
func (e *Emulator) tokenValid(tok string) bool {
	if e.anyToken {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.iam.Tokens[tok]
	return ok && e.now().Before(t.ExpiresAt)
}

// verifySignature checks an AK/SK signature against Options.AccessKeys
// (signing time within 15 minutes of the emulator's clock) and, for a
// temporary key, its signed security token. It reads the whole body and
// puts it back for the handler.
func (e *Emulator) verifySignature(w http.ResponseWriter, r *http.Request, service string) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeServiceError(w, service, http.StatusRequestEntityTooLarge, gwTooLarge,
				"Request entity too large: AK/SK-signed requests may carry at most 12 MB")
		} else {
			writeServiceError(w, service, http.StatusBadRequest, gwBadAKSK, gwBadAKSKMsg+"cannot read the body: "+err.Error())
		}
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	lookup := func(ak string) (string, bool) {
		k, ok := e.accessKeys[ak]
		return k.SK, ok
	}
	err = signer.Verify(r, body, lookup, e.now(), signer.MaxSkew)
	if err == nil {
		err = e.checkSecurityToken(r)
	}
	if err == nil {
		return true
	}
	var reason string
	switch {
	case errors.Is(err, signer.ErrUnknownAccessKey):
		a, _ := signer.ParseAuthorization(r.Header.Get("Authorization"))
		reason = "Get secretKey failed,ak:" + a.Access + ",err:ak not exist"
	case errors.Is(err, signer.ErrSignatureMismatch):
		reason = "verify aksk signature fail"
	default:
		reason = err.Error()
	}
	e.log.Info("emulator refused a signature", "service", service, "err", err)
	writeServiceError(w, service, http.StatusUnauthorized, gwBadAKSK, gwBadAKSKMsg+reason)
	return false
}

// errSecurityToken: a temporary key without its signed security token.
var errSecurityToken = errors.New("invalid or unsigned X-Security-Token for a temporary access key")

// checkSecurityToken requires a temporary AK's token, signed (signing.md §8).
func (e *Emulator) checkSecurityToken(r *http.Request) error {
	a, err := signer.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	k := e.accessKeys[a.Access]
	if k.SecurityToken == "" {
		return nil
	}
	got := r.Header.Get(signer.HeaderSecurityToken)
	if !slices.Contains(a.SignedHeaders, strings.ToLower(signer.HeaderSecurityToken)) ||
		subtle.ConstantTimeCompare([]byte(got), []byte(k.SecurityToken)) != 1 {
		return errSecurityToken
	}
	return nil
}
