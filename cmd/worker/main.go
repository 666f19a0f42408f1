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
	"context"
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

func main() {
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
		return fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
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
	logger.Info("worker starting", "address", opts.HostPort, "namespace", opts.Namespace, "project_id", cfg.ProjectID)
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
