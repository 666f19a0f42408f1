package planner

import (
	"maps"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/spec/expr"
)

// planTemplates evaluates the templates of description and cloud, and
// returns them with their values. They go into the plan, which is made
// before anything runs and serves every run of a schedule, so they read
// only what is known then: the params and the env listed under `env`.
func (c *compiler) planTemplates(plan *Plan) (string, spec.Cloud) {
	desc, cloud := c.p.Description, c.p.Cloud
	if len(c.p.PlanTemplates) == 0 {
		return desc, cloud
	}
	cloud.Endpoints = maps.Clone(cloud.Endpoints) // the spec may be compiled again
	ctx := &hcl.EvalContext{Variables: c.paramsAndEnv(plan), Functions: expr.Functions()}
	for _, pt := range c.p.PlanTemplates {
		v, ok := c.planTemplate(pt, ctx)
		if !ok {
			continue
		}
		switch {
		case pt.Path == "description":
			desc = v
		case pt.Path == "cloud.region":
			cloud.Region = v
		case pt.Path == "cloud.project_id":
			cloud.ProjectID = v
		case pt.Path == "cloud.credentials":
			cloud.Credentials = v
		case strings.HasPrefix(pt.Path, "cloud.endpoints."):
			if !spec.EndpointURL(v) {
				c.errorf(pt.Range, "Invalid endpoint", "This template gives %q, which is not a URL; an endpoint is https://host[:port].", v)
			} else if from, _ := spec.URLPassword(v); from >= 0 {
				c.errorf(pt.Range, "Literal credential", "This template gives an endpoint with a password. %s", spec.EndpointPasswordDetail)
			}
			cloud.Endpoints[strings.TrimPrefix(pt.Path, "cloud.endpoints.")] = v
		}
	}
	return desc, cloud
}

// planTemplate checks and evaluates one template of description or cloud.
func (c *compiler) planTemplate(pt spec.PlanTemplate, ctx *hcl.EvalContext) (string, bool) {
	m := c.p.ValueMap(pt.Node)
	e, diags := expr.Parse(pt.Node.Value, pt.Range.Filename, hcl.InitialPos)
	if diags.HasErrors() {
		c.diags = append(c.diags, m.Diagnostics(diags)...)
		return "", false
	}
	refs := expr.Refs(e)
	for i := range refs {
		refs[i].Range = m.Range(refs[i].Range)
	}
	ok := true
	for _, ref := range refs {
		ok = c.ref(nil, nil, ref, inPlan) && ok
	}
	if !ok {
		return "", false
	}
	for _, ref := range refs {
		if ref.Root != expr.RootParams || len(ref.Path) == 0 {
			continue
		}
		if _, unknown := c.runtime[ref.Path[0]]; !unknown {
			continue
		}
		// A parameter without a value is reported as such; one that a
		// parent step gives by a template has none until it runs.
		if c.opts.parent != nil && c.opts.parent.given[ref.Path[0]].template {
			c.errorf(ref.Range, "Not known when planning",
				"description and cloud are evaluated when planning, but the parent step gives params.%s by a template, whose value is known only when it runs. Give it literally in with.params, or set cloud in the parent spec.", ref.Path[0])
		}
		ok = false
	}
	if !ok {
		return "", false
	}
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		c.diags = append(c.diags, m.Diagnostics(diags)...)
		return "", false
	}
	if !c.interpolations(e, ctx, m) || !v.IsKnown() {
		// Unknown only where it reads an env variable that is not set,
		// which is reported.
		return "", false
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil || sv.IsNull() {
		c.errorf(pt.Range, "Not a string", "`%s` must be a string; this template gives %s.", pt.Path, valueName(v))
		return "", false
	}
	return sv.AsString(), true
}
