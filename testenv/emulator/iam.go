package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"time"
)

// tokenValidity is the documented lifetime of an IAM token.
const tokenValidity = 24 * time.Hour

// IAM error codes, from the IAM API reference (not in the seed documents,
// which only show the error body shape).
const (
	iamBadBody      = "IAM.0011" // Request body is invalid.
	iamInvalidParam = "IAM.0007" // Request parameter %(key)s is invalid.
	iamRequired     = "IAM.0072" // '%(key)s' is a required property.
)

func (e *Emulator) registerIAM() {
	e.publicRoute(IAM, "POST /v3/auth/tokens", e.issueToken)
}

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

// issueToken implements password authentication scoped to a project. Any
// password is accepted; the token is random and never checked later.
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

	now := e.now().UTC()
	project := *req.Auth.Scope.Project
	if project.ID == "" {
		// Stable per name, so a client can learn "its" project ID from the token.
		sum := sha256.Sum256([]byte(project.Name))
		project.ID = hex.EncodeToString(sum[:16])
	}
	user := id.Password.User
	user.Password = ""
	var resp tokenResponse
	resp.Token.ExpiresAt = now.Add(tokenValidity).Format(iamTimeFormat)
	resp.Token.IssuedAt = now.Format(iamTimeFormat)
	resp.Token.Methods = []string{"password"}
	resp.Token.User = user
	resp.Token.Project = project
	resp.Token.Catalog = []struct{}{}

	w.Header().Set("X-Subject-Token", "MII"+rand.Text()+rand.Text())
	writeJSON(w, http.StatusCreated, resp)
	e.log.Info("emulator issued token", "user", user.Name, "project", project.ID)
}

// iamTimeFormat is RFC 3339 in UTC with microseconds, as in the documented
// sample "2019-02-13T06:52:13.855000Z".
const iamTimeFormat = "2006-01-02T15:04:05.000000Z"
