// Package engine wires pipectl's workflow and step activities into a
// Temporal worker. The production worker (cmd/worker) and `pipectl dev`
// both build their worker here, so they run exactly the same code.
package engine

import (
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/pipectl/pipectl/activities"
	"github.com/pipectl/pipectl/activities/cdm"
	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/activities/dis"
	"github.com/pipectl/pipectl/activities/dlf"
	"github.com/pipectl/pipectl/activities/dli"
	"github.com/pipectl/pipectl/activities/lakeformation"
	"github.com/pipectl/pipectl/activities/restapi"
	"github.com/pipectl/pipectl/workflows"
)

// NewWorker returns a worker on workflows.TaskQueue that runs pipelines
// with the services and credentials in cfg. The caller starts and stops it.
func NewWorker(c client.Client, cfg Config, opts worker.Options) (worker.Worker, error) {
	w := worker.New(c, workflows.TaskQueue, opts)
	if err := Register(w, cfg); err != nil {
		return nil, err
	}
	return w, nil
}

// Register registers the pipeline workflow and every step kind's
// activities on r.
func Register(r worker.Registry, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	r.RegisterWorkflowWithOptions(workflows.Pipeline, workflow.RegisterOptions{Name: workflows.PipelineWorkflow})
	r.RegisterWorkflowWithOptions(workflows.Items, workflow.RegisterOptions{Name: workflows.ItemsWorkflow})
	hc, err := cfg.httpClient()
	if err != nil {
		return err
	}
	secrets := activities.EnvSecrets{Dir: cfg.SecretsDir}
	d := dli.NewActivities(cfg.Endpoint("dli"), hc, cfg.ProjectID, secrets)
	register(r, dli.KindSQL, d.SubmitSQL, d.WaitSQL, d.CancelSQL)
	register(r, dli.KindFlinkSQL, d.SubmitFlinkSQL, d.WaitFlink, d.CancelFlink)
	register(r, dli.KindFlinkJar, d.SubmitFlinkJar, d.WaitFlink, d.CancelFlink)
	register(r, dli.KindSpark, d.SubmitSpark, d.WaitSpark, d.CancelSpark)
	cd := cdm.NewActivities(cfg.Endpoint("cdm"), hc, cfg.ProjectID, secrets)
	register(r, cdm.KindJob, cd.SubmitJob, cd.WaitJob, cd.CancelJob)
	ds := dis.NewActivities(cfg.Endpoint("dis"), hc, cfg.ProjectID, secrets)
	register(r, dis.KindStream, ds.SubmitStream, ds.WaitStream, ds.CancelStream)
	register(r, dis.KindDumpTask, ds.SubmitDumpTask, ds.WaitDumpTask, ds.CancelDumpTask)
	lf := lakeformation.NewActivities(cfg.Endpoint("lakeformation"), hc, cfg.ProjectID, secrets)
	register(r, lakeformation.KindJob, lf.SubmitJob, lf.WaitJob, lf.CancelJob)
	df := dlf.NewActivities(cfg.Endpoint("dlf"), hc, cfg.ProjectID, secrets)
	register(r, dlf.KindJob, df.SubmitJob, df.WaitJob, df.CancelJob)
	// http steps call user URLs: no IAM token goes there, and signing is
	// per step (with.sign) with the worker's access key.
	rest := &restapi.Activities{Plain: &http.Client{Timeout: 25 * time.Second}, Secrets: secrets}
	if cfg.Auth.AK != "" {
		rest.Signed = &http.Client{Timeout: 25 * time.Second, Transport: &cloudapi.AKSKTransport{AK: cfg.Auth.AK, SK: cfg.Auth.SK, SecurityToken: cfg.Auth.SecurityToken}}
	}
	register(r, restapi.KindHTTP, rest.Submit, rest.Wait, rest.Cancel)
	return nil
}

func register(r worker.Registry, kind string, submit, wait, cancel any) {
	r.RegisterActivityWithOptions(submit, activity.RegisterOptions{Name: activities.SubmitName(kind)})
	r.RegisterActivityWithOptions(wait, activity.RegisterOptions{Name: activities.WaitName(kind)})
	r.RegisterActivityWithOptions(cancel, activity.RegisterOptions{Name: activities.CancelName(kind)})
}

// httpClient builds the authenticated HTTP client all service clients share.
func (c Config) httpClient() (*http.Client, error) {
	base := http.DefaultTransport
	if c.Auth.AK != "" {
		return &http.Client{Transport: &cloudapi.AKSKTransport{AK: c.Auth.AK, SK: c.Auth.SK, SecurityToken: c.Auth.SecurityToken, Base: base}, Timeout: 25 * time.Second}, nil
	}
	var src cloudapi.TokenSource
	switch {
	case !c.Auth.Token.IsZero():
		src = cloudapi.StaticToken(c.Auth.Token)
	case c.Auth.User != "":
		src = &cloudapi.PasswordTokenSource{
			IAMEndpoint: c.Endpoint("iam"),
			User:        c.Auth.User,
			Domain:      c.Auth.Domain,
			Password:    c.Auth.Password,
			ProjectID:   c.ProjectID,
			HTTP:        &http.Client{Transport: base, Timeout: 30 * time.Second},
		}
	default:
		return nil, fmt.Errorf("worker config: no credentials: set %s, or %s/%s/%s", EnvToken, EnvIAMUser, EnvIAMDomain, EnvIAMPassword)
	}
	// The overall timeout backs up the activity's own: a hung connection
	// must fail the call, not the whole activity attempt.
	return &http.Client{Transport: &cloudapi.TokenTransport{Source: src, Base: base}, Timeout: 25 * time.Second}, nil
}
