package emulator

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// DLF connections: create (C1), list (C2), detail (C3), delete (C5).
// config is typed Map<String, String>, yet the samples send sslEnable as a
// boolean, so any JSON value is kept. Passwords are answered as "*****".

var dlfConnTypes = []string{"DWS", "DLI", "SparkSQL", "HIVE", "RDS", "CloudTable", "HOST"}

type dlfConnection struct {
	dlfScope
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Config      map[string]any `json:"config,omitempty"`
	Description string         `json:"description,omitempty"`
}

// dlfConnView is a connection as answered: without its scope, and with
// the password masked.
type dlfConnView struct {
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Config      map[string]any `json:"config,omitempty"`
	Description string         `json:"description,omitempty"`
}

func (c *dlfConnection) answer() dlfConnView {
	v := dlfConnView{Name: c.Name, Type: c.Type, Config: maps.Clone(c.Config), Description: c.Description}
	if _, ok := v.Config["password"]; ok {
		v.Config["password"] = "*****"
	}
	return v
}

// validate checks a create body (tables 7-3…7-8) and canonicalises type;
// it returns a code and message.
func (c *dlfConnection) validate() (code, msg string) {
	has := func(k string) bool { v, ok := c.Config[k]; return ok && v != nil && v != "" }
	missing := func(keys ...string) string {
		for _, k := range keys {
			if !has(k) {
				return k
			}
		}
		return ""
	}
	i := slices.IndexFunc(dlfConnTypes, func(t string) bool { return strings.EqualFold(t, c.Type) })
	switch {
	case c.Name == "":
		return dlfParamMissing, "The specified parameter is not configured: name."
	case !dlfNameOK(c.Name, "-_", 100):
		return dlfBadParam, fmt.Sprintf("The request parameter is invalid: connection name %q must be at most 100 letters, digits, - and _.", c.Name)
	case c.Type == "":
		return dlfParamMissing, "The specified parameter is not configured: type."
	case i < 0:
		return dlfBadParam, fmt.Sprintf("The request parameter is invalid: connection type %q is not one of %s.", c.Type, strings.Join(dlfConnTypes, ", "))
	case len([]rune(c.Description)) > 255:
		return dlfBadParam, "The request parameter is invalid: description exceeds 255 characters."
	}
	c.Type = dlfConnTypes[i]
	var need string
	switch c.Type {
	case "DWS":
		if !has("clusterName") && !(has("ip") && has("port")) {
			return dlfDWSAddress, "Either the DWS cluster name or the access address and port number of the cluster must be configured."
		}
		need = missing("userName", "password", "sslEnable", "kmsKey", "agentName")
	case "SparkSQL", "HIVE":
		need = missing("clusterName", "connectionMethod")
		if m := c.Config["connectionMethod"]; need == "" && m != "agent" && m != "direct" {
			return dlfBadParam, fmt.Sprintf("The request parameter is invalid: connectionMethod %v is not agent or direct.", m)
		}
		if need == "" && c.Config["connectionMethod"] == "agent" {
			need = missing("userName", "password", "agentName", "kmsKey")
		}
	case "RDS":
		need = missing("ip", "port", "userName", "password", "kmsKey", "agentName", "driverName", "driverPath")
		if d := c.Config["driverName"]; need == "" && d != "com.mysql.jdbc.Driver" && d != "org.postgresql.Driver" {
			return dlfBadParam, fmt.Sprintf("The request parameter is invalid: driverName %v is not supported.", d)
		}
	case "CloudTable":
		need = missing("clusterName")
	}
	if need != "" {
		return dlfParamMissing, fmt.Sprintf("The specified parameter is not configured: config.%s (mandatory for %s connections).", need, c.Type)
	}
	return "", ""
}

// dlfLookupConnection finds a connection by name in scope. e.mu is held.
func (e *Emulator) dlfLookupConnection(scope dlfScope, name string) int {
	return slices.IndexFunc(e.dlf.Connections, func(c *dlfConnection) bool { return c.Name == name && c.dlfScope == scope })
}

func (e *Emulator) dlfCreateConnection(w http.ResponseWriter, r *http.Request) {
	var c dlfConnection
	if err := decodeJSON(w, r, &c); err != nil {
		dlfBadBody(w, err)
		return
	}
	if code, msg := c.validate(); code != "" {
		dlfError(w, code, msg)
		return
	}
	c.dlfScope = dlfScopeOf(r)
	e.mu.Lock()
	exists := e.dlfLookupConnection(c.dlfScope, c.Name) >= 0
	if !exists {
		e.dlf.Connections = append(e.dlf.Connections, &c)
	}
	e.mu.Unlock()
	if exists {
		dlfError(w, dlfConnExists, "The name already exists.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type dlfConnList struct {
	Total       int           `json:"total"`
	Connections []dlfConnView `json:"connections"`
}

// dlfListConnections is C2: connectionName matches a substring; creation
// order.
func (e *Emulator) dlfListConnections(w http.ResponseWriter, r *http.Request) {
	offset, limit, ok := dlfPaging(r, 100)
	if !ok {
		dlfError(w, dlfBadParam, "The request parameter is invalid.")
		return
	}
	name, scope := r.URL.Query().Get("connectionName"), dlfScopeOf(r)
	var all []dlfConnView
	e.mu.Lock()
	for _, c := range e.dlf.Connections {
		if c.dlfScope == scope && strings.Contains(c.Name, name) {
			all = append(all, c.answer())
		}
	}
	e.mu.Unlock()
	from, to := dlfPage(len(all), offset, limit)
	writeJSON(w, http.StatusOK, dlfConnList{Total: len(all), Connections: append([]dlfConnView{}, all[from:to]...)})
}

func (e *Emulator) dlfShowConnection(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	var resp dlfConnView
	i := e.dlfLookupConnection(dlfScopeOf(r), r.PathValue("connection_name"))
	if i >= 0 {
		resp = e.dlf.Connections[i].answer()
	}
	e.mu.Unlock()
	if i < 0 {
		dlfError(w, dlfConnNotFound, "The data connection does not exist.")
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (e *Emulator) dlfDeleteConnection(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	i := e.dlfLookupConnection(dlfScopeOf(r), r.PathValue("connection_name"))
	if i >= 0 {
		e.dlf.Connections = slices.Delete(e.dlf.Connections, i, i+1)
	}
	e.mu.Unlock()
	if i < 0 {
		dlfError(w, dlfConnNotFound, "The data connection does not exist.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
