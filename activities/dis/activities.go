package dis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
)

// Kind names of the step kinds this package runs.
const (
	KindStream   = "dis.stream"
	KindDumpTask = "dis.dump_task"
)

// Activities are the dis.* step activities.
//
// Both kinds "ensure" a long-lived resource rather than run a job: the
// user names the stream and the dump task, and the name, unique in its
// project (stream) or stream (task), is the idempotency handle. A retried
// or re-run submit finds the resource by name and adopts it instead of
// creating a second one, so no key is attached to the resource itself.
type Activities struct {
	Client *Client
	// ProjectID is used when the plan names none.
	ProjectID string
	// Secrets resolves ${secret.NAME} in step inputs.
	Secrets activities.Secrets
}

// NewActivities returns the activities for the DIS endpoint baseURL; hc
// carries authentication, projectID is the default project and secrets
// resolves ${secret.NAME} placeholders.
func NewActivities(baseURL string, hc *http.Client, projectID string, secrets activities.Secrets) *Activities {
	return &Activities{Client: NewClient(baseURL, hc), ProjectID: projectID, Secrets: secrets}
}

func (a *Activities) project(req activities.StepRequest) (string, error) {
	if req.Job != nil && req.Job.ProjectID != "" {
		return req.Job.ProjectID, nil
	}
	if req.Cloud.ProjectID != "" {
		return req.Cloud.ProjectID, nil
	}
	if a.ProjectID != "" {
		return a.ProjectID, nil
	}
	return "", rejected("no project id: set cloud.project_id in the spec or the worker's project id")
}

// rejected is the non-retryable error of a request that cannot succeed as
// it is (bad input, a resource that differs from the spec).
func rejected(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, activities.ErrRequestRejected, nil)
}

// decodeInput decodes a step's `with` into v; kind names the step kind in
// the error.
func decodeInput(kind string, with json.RawMessage, v any) error {
	if err := json.Unmarshal(with, v); err != nil {
		return temporal.NewNonRetryableApplicationError(kind+" input: "+err.Error(), activities.ErrRequestRejected, err)
	}
	return nil
}

// noSecrets rejects a secret reference in these fields of a step's `with`
// (as the workflow sent it): they name the resource or size it, and are
// logged, returned as the job handle or published as outputs, so they
// must not be credentials. Wait also reads them without resolving secrets.
func noSecrets(kind string, with json.RawMessage, fields ...string) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(with, &m) != nil {
		return nil // decoding the input reports it
	}
	for _, f := range fields {
		if bytes.Contains(m[f], []byte("${secret.")) {
			return rejected(fmt.Sprintf("%s input: %s cannot be a secret: it is logged and published", kind, f))
		}
	}
	return nil
}

// flexInt is a whole number given as a JSON number or, when a template
// produced it from another step's (string) output, as a numeric string.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return fmt.Errorf("%s is not a whole number", b)
	}
	*n = flexInt(f)
	return nil
}

// flexBool is true or false, also as the strings "true" and "false".
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
	x, err := strconv.ParseBool(string(bytes.Trim(b, `"`)))
	if err != nil {
		return fmt.Errorf("%s is not true or false", b)
	}
	*v = flexBool(x)
	return nil
}
