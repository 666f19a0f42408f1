package dli

import (
	"net/http"

	"github.com/pipectl/pipectl/activities"
)

// NewActivities returns the dli.* activities for the DLI endpoint baseURL;
// hc carries authentication, projectID is used when a plan names none and
// secrets resolves ${secret.NAME} in step inputs.
func NewActivities(baseURL string, hc *http.Client, projectID string, secrets activities.Secrets) *Activities {
	return &Activities{Client: NewClient(baseURL, hc), ProjectID: projectID, Secrets: secrets}
}
