package emulator

import (
	"fmt"
	"net/http"
	"time"
)

// CDM links (DAYU 5.3). A link belongs to one cluster; its connector name
// and inputs are opaque data. Secret inputs (see cdmSensitive) are stored
// but never logged: the handlers log names and counts only.

type cdmLink struct {
	Seq       int64           `json:"seq"`
	ID        int64           `json:"id"`
	Name      string          `json:"name"`
	Connector string          `json:"connector"`
	Enabled   bool            `json:"enabled"`
	Config    cdmConfigValues `json:"config"`
	Created   time.Time       `json:"created"`
	Updated   time.Time       `json:"updated"`
}

func (e *Emulator) registerCDMLinks() {
	const link = "/v1.1/{project_id}/clusters/{cluster_id}/cdm/link"
	e.route(CDM, "POST "+link, e.cdmCreateLink)
	e.route(CDM, "GET "+link+"/{link_name}", e.cdmGetLink)
	e.route(CDM, "PUT "+link+"/{link_name}", e.cdmModifyLink)
	e.route(CDM, "DELETE "+link+"/{link_name}", e.cdmDeleteLink)
}

type cdmLinksRequest struct {
	Links []cdmLinkRequest `json:"links"`
}

type cdmLinkRequest struct {
	Name             string                   `json:"name"`
	ConnectorName    string                   `json:"connector-name"`
	Enabled          *bool                    `json:"enabled"` // default true
	LinkConfigValues *cdmLinkConfigValuesBody `json:"link-config-values"`
}

// cdmLinkConfigValuesBody is link-config-values as sent. The create and
// modify samples (@3866, @4279) close their braces late, which puts the
// link's name, connector-name and enabled inside link-config-values; the
// emulator takes them from there when the link itself lacks them.
type cdmLinkConfigValuesBody struct {
	cdmConfigValues
	Name          string `json:"name"`
	ConnectorName string `json:"connector-name"`
	Enabled       *bool  `json:"enabled"`
}

// normalize hoists misplaced fields and returns what is wrong with the
// link's mandatory fields, or "".
func (l *cdmLinkRequest) normalize(i int) string {
	if l.LinkConfigValues == nil {
		return fmt.Sprintf("links[%d].link-config-values is mandatory", i)
	}
	lcv := l.LinkConfigValues
	if l.Name == "" {
		l.Name = lcv.Name
	}
	if l.ConnectorName == "" {
		l.ConnectorName = lcv.ConnectorName
	}
	if l.Enabled == nil {
		l.Enabled = lcv.Enabled
	}
	switch {
	case l.Name == "":
		return fmt.Sprintf("links[%d].name is mandatory", i)
	case l.ConnectorName == "":
		return fmt.Sprintf("links[%d].connector-name is mandatory", i)
	}
	return ""
}

// validation is what CDM's link validator would say about the inputs, or
// "": a linkConfig config is needed by every connector except
// http-connector, which has no link parameters.
func (l *cdmLinkRequest) validation() string {
	cv := &l.LinkConfigValues.cdmConfigValues
	if msg := cv.check("link-config-values"); msg != "" {
		return msg
	}
	if l.ConnectorName == "http-connector" {
		return ""
	}
	for _, c := range cv.Configs {
		if c.Name == "linkConfig" {
			return ""
		}
	}
	return fmt.Sprintf("link %s: the linkConfig configuration of connector %s is missing", l.Name, l.ConnectorName)
}

// cdmValidationResult is one element of a link's validation-result.
type cdmValidationResult struct {
	LinkConfig []cdmValidationMessage `json:"linkConfig"`
}

type cdmValidationMessage struct {
	Message string `json:"message"`
	Status  string `json:"status"` // ERROR or WARNING
}

// cdmSaved answers a successful create or modify. The tables say an empty
// validation-result list means success; the samples show [ { } ] (@3910),
// { } (@4338) and, for jobs, no field at all (seed 003) or [ {}, {}, {} ]
// (@2837). The emulator writes the tables' empty list: clients must look
// for ERROR entries rather than at the length.
type cdmSaved struct {
	Name             string `json:"name,omitempty"`
	ValidationResult []any  `json:"validation-result"`
}

// writeCDMLinkInvalid answers a link whose inputs fail validation: 500 and
// the validation-result envelope of the create/modify samples (@3929).
// Table 5-133 describes a flat {message, status} for the 500 instead.
func writeCDMLinkInvalid(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusInternalServerError, struct {
		ValidationResult []cdmValidationResult `json:"validation-result"`
	}{[]cdmValidationResult{{LinkConfig: []cdmValidationMessage{{Message: msg, Status: "ERROR"}}}}})
}

// decodeCDMLinks reads and checks a create/modify body; it writes the error
// response and returns false when the body is unusable.
func decodeCDMLinks(w http.ResponseWriter, r *http.Request) ([]cdmLinkRequest, bool) {
	var req cdmLinksRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeCDMError(w, http.StatusBadRequest, cdmInvalidBody, "The content of jobs or links is invalid: "+err.Error())
		return nil, false
	}
	if len(req.Links) == 0 {
		writeCDMError(w, http.StatusBadRequest, cdmInvalidBody, "The content of jobs or links is invalid: links is mandatory and cannot be empty")
		return nil, false
	}
	seen := map[string]bool{}
	for i := range req.Links {
		l := &req.Links[i]
		if msg := l.normalize(i); msg != "" {
			writeCDMError(w, http.StatusBadRequest, cdmInvalidBody, "The content of jobs or links is invalid: "+msg)
			return nil, false
		}
		if seen[l.Name] {
			writeCDMError(w, http.StatusBadRequest, cdmLinkExists, fmt.Sprintf("Link name %s already exists.", l.Name))
			return nil, false
		}
		seen[l.Name] = true
		if msg := l.validation(); msg != "" {
			writeCDMLinkInvalid(w, msg)
			return nil, false
		}
	}
	return req.Links, true
}

// cdmCreateLink answers "Creating a Link". With ?validate=true it only
// checks the links.
func (e *Emulator) cdmCreateLink(w http.ResponseWriter, r *http.Request) {
	links, ok := decodeCDMLinks(w, r)
	if !ok {
		return
	}
	validateOnly := r.URL.Query().Get("validate") == "true"

	e.mu.Lock()
	c, found := e.cdmFindCluster(r)
	dup := ""
	if found && !validateOnly {
		for _, l := range links {
			if c.Links[l.Name] != nil {
				dup = l.Name
				break
			}
		}
		if dup == "" {
			now := e.now()
			for _, l := range links {
				seq := e.cdm.nextSeq()
				c.Links[l.Name] = &cdmLink{
					Seq: seq, ID: seq, Name: l.Name, Connector: l.ConnectorName,
					Enabled: l.Enabled == nil || *l.Enabled,
					Config:  l.LinkConfigValues.cdmConfigValues.clone(),
					Created: now, Updated: now,
				}
			}
		}
	}
	e.mu.Unlock()

	switch {
	case !found:
		writeCDMClusterNotFound(w, r)
	case dup != "":
		writeCDMError(w, http.StatusBadRequest, cdmLinkExists, fmt.Sprintf("Link name %s already exists.", dup))
	default:
		msg := "emulator CDM link created"
		if validateOnly {
			msg = "emulator CDM link validated"
		}
		for _, l := range links {
			e.log.Info(msg, "cluster_id", c.ID, "link", l.Name, "connector", l.ConnectorName, "configs", len(l.LinkConfigValues.Configs))
		}
		writeJSON(w, http.StatusOK, cdmSaved{Name: links[0].Name, ValidationResult: []any{}})
	}
}

type cdmLinkJSON struct {
	LinkConfigValues cdmConfigValues `json:"link-config-values"`
	CreationUser     string          `json:"creation-user"`
	Name             string          `json:"name"`
	ID               int64           `json:"id"`
	CreationDate     int64           `json:"creation-date"`
	ConnectorName    string          `json:"connector-name"`
	UpdateDate       int64           `json:"update-date"`
	Enabled          bool            `json:"enabled"`
	UpdateUser       string          `json:"update-user"`
}

// cdmGetLink answers "Querying a Link" for one name (no "all" listing is
// documented for links). Secret values are left out, as in the sample.
func (e *Emulator) cdmGetLink(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("link_name")
	e.mu.Lock()
	c, found := e.cdmFindCluster(r)
	var l *cdmLink
	var out cdmLinkJSON
	if found {
		if l = c.Links[name]; l != nil {
			out = cdmLinkJSON{
				LinkConfigValues: l.Config.redacted(),
				CreationUser:     cdmUser,
				Name:             l.Name,
				ID:               l.ID,
				CreationDate:     cdmMillis(l.Created),
				ConnectorName:    l.Connector,
				UpdateDate:       cdmMillis(l.Updated),
				Enabled:          l.Enabled,
				UpdateUser:       cdmUser,
			}
		}
	}
	e.mu.Unlock()
	switch {
	case !found:
		writeCDMClusterNotFound(w, r)
	case l == nil:
		writeCDMLinkNotFound(w, name)
	default:
		writeJSON(w, http.StatusOK, struct {
			Links             []cdmLinkJSON `json:"links"`
			FromToUnMapping   string        `json:"fromTo-unMapping"`
			BatchFromToMaping string        `json:"batchFromTo-mapping"`
		}{Links: []cdmLinkJSON{out}})
	}
}

// linkUsers returns the jobs of c that use link name, in no order.
func (c *cdmCluster) linkUsers(name string) []string {
	var users []string
	for _, j := range c.Jobs {
		if j.FromLink == name || j.ToLink == name {
			users = append(users, j.Name)
		}
	}
	return users
}

// cdmModifyLink answers "Modifying a Link": the body replaces the link.
// A different name in the body renames it, unless a job uses it.
func (e *Emulator) cdmModifyLink(w http.ResponseWriter, r *http.Request) {
	links, ok := decodeCDMLinks(w, r)
	if !ok {
		return
	}
	if len(links) != 1 {
		writeCDMError(w, http.StatusBadRequest, cdmInvalidBody, "The content of jobs or links is invalid: modify exactly one link")
		return
	}
	name, nl := r.PathValue("link_name"), links[0]

	e.mu.Lock()
	c, found := e.cdmFindCluster(r)
	var l *cdmLink
	status, code, msg := 0, "", ""
	if found {
		l = c.Links[name]
		switch {
		case l == nil:
			status, code, msg = http.StatusInternalServerError, cdmNoLinkUpdate, fmt.Sprintf("Failed to update the link %s that does not exist.", name)
		case nl.Name != name && c.Links[nl.Name] != nil:
			status, code, msg = http.StatusBadRequest, cdmLinkExists, fmt.Sprintf("Link name %s already exists.", nl.Name)
		case nl.Name != name && len(c.linkUsers(name)) > 0:
			status, code, msg = http.StatusInternalServerError, cdmLinkInUse, "Given link name is in use"
		default:
			delete(c.Links, name)
			l.Name, l.Connector = nl.Name, nl.ConnectorName
			l.Enabled = nl.Enabled == nil || *nl.Enabled
			l.Config = nl.LinkConfigValues.cdmConfigValues.clone()
			l.Updated = e.now()
			c.Links[l.Name] = l
		}
	}
	e.mu.Unlock()
	switch {
	case !found:
		writeCDMClusterNotFound(w, r)
	case status != 0:
		writeCDMError(w, status, code, msg)
	default:
		e.log.Info("emulator CDM link modified", "cluster_id", c.ID, "link", name, "new_name", nl.Name,
			"connector", nl.ConnectorName, "configs", len(nl.LinkConfigValues.Configs))
		writeJSON(w, http.StatusOK, cdmSaved{Name: nl.Name, ValidationResult: []any{}})
	}
}

// cdmDeleteLink answers "Deleting a Link": 200 with no body, or the
// sample's 500 Cdm.0021 while a job uses the link (the error table has
// Cdm.0321 "Link %s has been used." for this; the sample wins).
func (e *Emulator) cdmDeleteLink(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("link_name")
	e.mu.Lock()
	c, found := e.cdmFindCluster(r)
	var exists bool
	var users []string
	if found {
		if _, exists = c.Links[name]; exists {
			if users = c.linkUsers(name); len(users) == 0 {
				delete(c.Links, name)
			}
		}
	}
	e.mu.Unlock()
	switch {
	case !found:
		writeCDMClusterNotFound(w, r)
	case !exists:
		writeCDMLinkNotFound(w, name)
	case len(users) > 0:
		writeCDMError(w, http.StatusInternalServerError, cdmLinkInUse, "Given link name is in use")
	default:
		e.log.Info("emulator CDM link deleted", "cluster_id", c.ID, "link", name)
		w.WriteHeader(http.StatusOK)
	}
}
