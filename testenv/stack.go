// Package testenv is pipectl's local world: the service emulator
// (testenv/emulator), an embedded Temporal server (testenv/devserver), and
// Stack, which starts them together with a worker, for `pipectl dev` and for
// end-to-end tests.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/pipectl/pipectl/activities/cloudapi"
	"github.com/pipectl/pipectl/internal/engine"
	"github.com/pipectl/pipectl/testenv/devserver"
	"github.com/pipectl/pipectl/testenv/emulator"
	"github.com/pipectl/pipectl/workflows"
)

// DevProjectID is the project the dev stack's worker uses when a spec names
// none.
const DevProjectID = "dev-project"

// StackOptions configure Start. Zero ports pick free ones.
type StackOptions struct {
	IP           string
	FrontendPort int
	// UIPort: 0 = no Web UI, -1 = a free port.
	UIPort int
	// EmulatorPort is the first of the emulator's consecutive service
	// ports (see emulator.Ports); 0 gives each service a free port.
	EmulatorPort int
	DBFile       string
	// JobDuration is how long an emulated job runs by default.
	JobDuration time.Duration
	Logger      *slog.Logger
	// ServerLogLevel filters the Temporal server's own logs.
	ServerLogLevel slog.Level
	// ServerDynamicConfig overrides the Temporal server's dynamic config
	// by key, e.g. "history.timerProcessorMaxTimeShift" for benchmarks
	// that need timers finer than its default 1s.
	ServerDynamicConfig map[string]any
	// WorkerOptions tune the in-process worker.
	WorkerOptions worker.Options
	// NoWorker starts the stack without its in-process worker, for tests
	// that run workers of their own (e.g. cmd/worker in another process).
	NoWorker bool
	// RateLimits are the worker's per-service activities per second
	// (engine.Config.RateLimits): nil keeps the production defaults;
	// NoRateLimits lifts them for tests that run thousands of steps.
	RateLimits map[string]float64
	// DisableRateLimits turns the emulator's per-API rate limits off (see
	// emulator.Options), for tests and benchmarks that call faster than a
	// real user may. `pipectl dev` keeps them on, as the cloud would,
	// unless told otherwise (--no-rate-limits).
	DisableRateLimits bool
	// EmulatorRateLimitScale multiplies the emulator's per-API rate limits
	// (emulator.Options.RateLimitScale); 0 means 1.
	EmulatorRateLimitScale float64
}

// NoRateLimits lifts every service queue's rate limit.
func NoRateLimits() map[string]float64 {
	out := map[string]float64{}
	for s := range engine.DefaultRateLimits() {
		out[s] = 0
	}
	return out
}

// Stack is a running local world: Temporal, its UI, the emulator and a
// worker configured to call the emulator.
type Stack struct {
	Server   *devserver.Server
	Emulator *emulator.Emulator
	// Endpoints maps each emulated service to its base URL.
	Endpoints map[string]string
	Client    client.Client
	// Worker is the in-process worker; nil with StackOptions.NoWorker.
	Worker     *engine.Workers
	rateLimits map[string]float64
	stop       context.CancelFunc
}

// Start starts everything and returns once the worker polls (there is
// none with NoWorker). On error, whatever was started is stopped again.
func Start(ctx context.Context, opts StackOptions) (s *Stack, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.ServerLogLevel == 0 {
		opts.ServerLogLevel = slog.LevelError
	}
	s = &Stack{rateLimits: opts.RateLimits}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	s.Server, err = devserver.Start(devserver.Options{
		IP:               opts.IP,
		FrontendPort:     opts.FrontendPort,
		UIPort:           opts.UIPort,
		DBFile:           opts.DBFile,
		SearchAttributes: workflows.SearchAttributes(),
		Logger:           opts.Logger,
		LogLevel:         opts.ServerLogLevel,
		DynamicConfig:    opts.ServerDynamicConfig,
	})
	if err != nil {
		return s, err
	}
	emuCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.Emulator = emulator.New(emulator.Options{
		JobDuration:       opts.JobDuration,
		Logger:            opts.Logger.With("component", "emulator"),
		DisableRateLimits: opts.DisableRateLimits,
		RateLimitScale:    opts.EmulatorRateLimitScale,
	})
	s.Endpoints, err = s.Emulator.Start(emuCtx, opts.IP, emulator.Ports(opts.EmulatorPort))
	if err != nil {
		return s, err
	}
	s.Client, err = client.DialContext(ctx, client.Options{
		HostPort:  s.Server.FrontendAddr(),
		Namespace: devserver.DefaultNamespace,
		Logger:    sdklog.NewStructuredLogger(opts.Logger.With("component", "worker")),
	})
	if err != nil {
		return s, fmt.Errorf("temporal client: %w", err)
	}
	if opts.NoWorker {
		return s, nil
	}
	s.Worker, err = engine.NewWorker(s.Client, s.WorkerConfig(), opts.WorkerOptions)
	if err != nil {
		return s, err
	}
	if err := s.Worker.Start(); err != nil {
		s.Worker = nil
		return s, fmt.Errorf("worker: %w", err)
	}
	return s, nil
}

// WorkerConfig is the configuration of a worker that calls this stack's
// emulator, authenticating through its IAM endpoint as a real worker would.
func (s *Stack) WorkerConfig() engine.Config {
	return WorkerConfigFor(s.Endpoints, s.rateLimits)
}

// WorkerConfigFor is the configuration of a worker that calls the emulator
// at endpoints with the given rate limits (nil: the defaults).
func WorkerConfigFor(endpoints map[string]string, rateLimits map[string]float64) engine.Config {
	return engine.Config{
		ProjectID:  DevProjectID,
		Endpoints:  endpoints,
		RateLimits: rateLimits,
		Auth: engine.AuthConfig{
			User:     "pipectl-dev",
			Domain:   "pipectl-dev",
			Password: cloudapi.NewSecret("pipectl-dev"),
		},
	}
}

// Stop stops the worker, the client, the emulator and the server, in that
// order, so no worker is left polling a server that is gone.
func (s *Stack) Stop() {
	if s == nil {
		return
	}
	if s.Worker != nil {
		s.Worker.Stop()
	}
	if s.Client != nil {
		s.Client.Close()
	}
	if s.stop != nil {
		s.stop()
	}
	if s.Server != nil {
		s.Server.Stop()
	}
}

// ErrPortInUse matches the error of a port that is already taken.
func IsPortInUse(err error) bool {
	var pe *devserver.PortInUseError
	return errors.As(err, &pe)
}
