// Command worker is pipectl's production worker: it runs pipelines on any
// Temporal cluster or Temporal Cloud.
//
// The Temporal connection comes from the standard TEMPORAL_* environment
// and profile (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*,
// TEMPORAL_API_KEY, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE). Service
// endpoints and credentials come from PIPECTL_* variables or the file named
// by PIPECTL_CONFIG (see internal/engine). SIGINT or SIGTERM stops it after
// the activities in flight finish.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/pipectl/pipectl/internal/engine"
)

const usage = `Usage: worker

Runs pipectl pipelines on a Temporal cluster: the pipeline workflows on task
queue "pipectl", each service's steps on "pipectl-<service>". It takes no
flags; everything comes from the environment (or files it names):

Temporal (the standard client environment / profile):
  TEMPORAL_ADDRESS          host:port of the frontend (default localhost:7233)
  TEMPORAL_NAMESPACE        namespace (default "default")
  TEMPORAL_API_KEY          API key (Temporal Cloud)
  TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, ...
  TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE   a profile in a TOML file

Services:
  PIPECTL_REGION            endpoints default to https://<service>.<region>.myhuaweicloud.com
  PIPECTL_ENDPOINT_<SVC>    one service's endpoint (IAM, CDM, DIS, DLI, LAKEFORMATION, DLF)
  PIPECTL_PROJECT_ID        project used when a spec names none
  PIPECTL_RATE_LIMIT_<SVC>  activities per second on the service's queue (0: no limit)

Credentials (never from a spec, never in workflow history):
  HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK [, HUAWEICLOUD_SDK_SECURITY_TOKEN]
  or PIPECTL_IAM_TOKEN
  or PIPECTL_IAM_USER, PIPECTL_IAM_DOMAIN, PIPECTL_IAM_PASSWORD
  PIPECTL_SECRET_<NAME>     the value of ${secret.NAME} in specs
  PIPECTL_SECRETS_DIR       a directory of files named after secrets

  PIPECTL_CONFIG            a YAML file with the same settings (environment wins)

SIGINT or SIGTERM stops it after the activities in flight finish (30 s at most).
`

func main() {
	flags := flag.NewFlagSet("worker", flag.ContinueOnError)
	flags.Usage = func() { fmt.Fprint(flags.Output(), usage) }
	if err := flags.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			return
		}
		os.Exit(2)
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "worker takes no arguments (got %q); see worker --help\n", flags.Args())
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("worker stopped", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, err := engine.LoadConfig(os.Getenv)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return fmt.Errorf("temporal client config: %w", err)
	}
	opts.Logger = sdklog.NewStructuredLogger(logger)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", cmp.Or(opts.HostPort, client.DefaultHostPort), err)
	}
	defer c.Close()
	w, err := engine.NewWorker(c, cfg, worker.Options{
		// Activities are short service calls; give them this long to
		// finish on shutdown before they are abandoned to a retry.
		WorkerStopTimeout: 30 * time.Second,
	})
	if err != nil {
		return err
	}
	ns := opts.Namespace
	if ns == "" {
		ns = client.DefaultNamespace
	}
	addr := opts.HostPort
	if addr == "" {
		addr = client.DefaultHostPort
	}
	logger.Info("worker starting", "address", addr, "namespace", ns, "project_id", cfg.ProjectID)
	if err := w.Run(stopOn(ctx)); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}

// stopOn adapts a context to the interrupt channel worker.Run takes.
func stopOn(ctx context.Context) <-chan any {
	ch := make(chan any)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}
