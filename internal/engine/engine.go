// Package engine wires pipectl's workflow and step activities into a
// Temporal worker. The production worker (cmd/worker) and `pipectl dev`
// both build their worker here, so they run exactly the same code.
package engine

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
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

// Workers are one process's workers: one on workflows.TaskQueue running
// the pipeline workflows, and one per service queue running that
// service's step activities under its rate limit.
type Workers struct {
	// Pipeline runs the workflows (and the submit and wait activities of
	// runs started before steps ran on service queues). Tests and
	// benchmarks may register more workflows on it before Start.
	Pipeline worker.Worker
	// Services are the service queues' workers, by queue.
	Services map[string]worker.Worker
}

// NewWorker returns the workers that run pipelines with the services and
// credentials in cfg; opts apply to each, with each service queue's
// activities per second set from cfg.RateLimits. The caller starts and
// stops them.
func NewWorker(c client.Client, cfg Config, opts worker.Options) (*Workers, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kinds, err := stepKinds(cfg)
	if err != nil {
		return nil, err
	}
	ws := &Workers{Pipeline: worker.New(c, workflows.TaskQueue, opts), Services: map[string]worker.Worker{}}
	ws.Pipeline.RegisterWorkflowWithOptions(workflows.Pipeline, workflow.RegisterOptions{Name: workflows.PipelineWorkflow})
	ws.Pipeline.RegisterWorkflowWithOptions(workflows.Items, workflow.RegisterOptions{Name: workflows.ItemsWorkflow})
	limits := cfg.rateLimits()
	for _, k := range kinds {
		ws.Pipeline.RegisterActivityWithOptions(k.submit, activity.RegisterOptions{Name: activities.SubmitName(k.kind)})
		ws.Pipeline.RegisterActivityWithOptions(k.wait, activity.RegisterOptions{Name: activities.WaitName(k.kind)})
		ws.Pipeline.RegisterActivityWithOptions(k.cancel, activity.RegisterOptions{Name: activities.CancelName(k.kind)})

		queue := workflows.ServiceQueue(k.kind)
		w := ws.Services[queue]
		if w == nil {
			o := opts
			// Server-side, the limit holds for all workers of the queue
			// together; worker-side, it keeps one worker from taking a
			// burst the server would then throttle.
			o.TaskQueueActivitiesPerSecond = limits[serviceOf(k.kind)]
			o.WorkerActivitiesPerSecond = limits[serviceOf(k.kind)]
			w = worker.New(c, queue, o)
			ws.Services[queue] = w
		}
		w.RegisterActivityWithOptions(activities.Runner{Submit: k.submit, Wait: k.wait, Cancel: k.cancel}.Run, activity.RegisterOptions{Name: activities.RunName(k.kind)})
		w.RegisterActivityWithOptions(k.cancel, activity.RegisterOptions{Name: activities.CancelName(k.kind)})
	}
	return ws, nil
}

// Start starts every worker; if one fails, those started are stopped.
func (ws *Workers) Start() error {
	started := []worker.Worker{}
	for _, w := range ws.all() {
		if err := w.Start(); err != nil {
			for _, s := range started {
				s.Stop()
			}
			return err
		}
		started = append(started, w)
	}
	return nil
}

// Stop stops every worker, the service queues' first so that activities
// in flight finish while the pipeline worker still takes their results.
func (ws *Workers) Stop() {
	all := ws.all()
	for i := len(all) - 1; i >= 0; i-- {
		all[i].Stop()
	}
}

// Run starts the workers and stops them when interrupt is closed.
func (ws *Workers) Run(interrupt <-chan any) error {
	if err := ws.Start(); err != nil {
		return err
	}
	<-interrupt
	ws.Stop()
	return nil
}

// all lists the pipeline worker, then the service workers by queue.
func (ws *Workers) all() []worker.Worker {
	out := []worker.Worker{ws.Pipeline}
	for _, q := range slices.Sorted(maps.Keys(ws.Services)) {
		out = append(out, ws.Services[q])
	}
	return out
}

// stepKind is one step kind's activities.
type stepKind struct {
	kind   string
	submit func(context.Context, activities.StepRequest) (*activities.Job, error)
	wait   func(context.Context, activities.StepRequest) (*activities.Result, error)
	cancel func(context.Context, activities.StepRequest) error
}

// stepKinds builds every step kind's activities over cfg's clients.
func stepKinds(cfg Config) ([]stepKind, error) {
	hc, err := cfg.httpClient()
	if err != nil {
		return nil, err
	}
	secrets := activities.EnvSecrets{Dir: cfg.SecretsDir}
	d := dli.NewActivities(cfg.Endpoint("dli"), hc, cfg.ProjectID, secrets)
	cd := cdm.NewActivities(cfg.Endpoint("cdm"), hc, cfg.ProjectID, secrets)
	ds := dis.NewActivities(cfg.Endpoint("dis"), hc, cfg.ProjectID, secrets)
	lf := lakeformation.NewActivities(cfg.Endpoint("lakeformation"), hc, cfg.ProjectID, secrets)
	df := dlf.NewActivities(cfg.Endpoint("dlf"), hc, cfg.ProjectID, secrets)
	// http steps call user URLs: no IAM token goes there, and signing is
	// per step (with.sign) with the worker's access key.
	rest := &restapi.Activities{Plain: &http.Client{Timeout: 25 * time.Second}, Secrets: secrets}
	if cfg.Auth.AK != "" {
		rest.Signed = &http.Client{Timeout: 25 * time.Second, Transport: &cloudapi.AKSKTransport{AK: cfg.Auth.AK, SK: cfg.Auth.SK, SecurityToken: cfg.Auth.SecurityToken}}
	}
	return []stepKind{
		{dli.KindSQL, d.SubmitSQL, d.WaitSQL, d.CancelSQL},
		{dli.KindFlinkSQL, d.SubmitFlinkSQL, d.WaitFlink, d.CancelFlink},
		{dli.KindFlinkJar, d.SubmitFlinkJar, d.WaitFlink, d.CancelFlink},
		{dli.KindSpark, d.SubmitSpark, d.WaitSpark, d.CancelSpark},
		{cdm.KindJob, cd.SubmitJob, cd.WaitJob, cd.CancelJob},
		{dis.KindStream, ds.SubmitStream, ds.WaitStream, ds.CancelStream},
		{dis.KindDumpTask, ds.SubmitDumpTask, ds.WaitDumpTask, ds.CancelDumpTask},
		{lakeformation.KindJob, lf.SubmitJob, lf.WaitJob, lf.CancelJob},
		{dlf.KindJob, df.SubmitJob, df.WaitJob, df.CancelJob},
		{restapi.KindHTTP, rest.Submit, rest.Wait, rest.Cancel},
	}, nil
}

// serviceOf is the service a step kind calls ("dli" for dli.sql).
func serviceOf(kind string) string {
	s, _, _ := strings.Cut(kind, ".")
	return s
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
