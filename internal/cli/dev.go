package cli

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/pipectl/pipectl/planner"
	"github.com/pipectl/pipectl/testenv"
	"github.com/pipectl/pipectl/testenv/devserver"
	"github.com/pipectl/pipectl/testenv/emulator"
	"github.com/pipectl/pipectl/workflows"
)

type devOptions struct {
	IP           string
	Port         int
	UIPort       int
	NoUI         bool
	EmulatorPort int
	DBFile       string
	LogLevel     string
	JobDuration  time.Duration
	Run          string
	// The emulator's per-API rate limits, as `pipectl emulator` sets them.
	RateLimitScale float64
	NoRateLimits   bool
}

func newDevCmd(stdio IO) *cobra.Command {
	opts := &devOptions{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run Temporal, its Web UI, the service emulator and a worker in one process",
		Long: `Starts a local world for pipectl: a real Temporal server (SQLite, in memory
unless --db-file is given), the Temporal Web UI, an emulator of the Huawei
Cloud APIs pipectl calls, and a worker configured to call that emulator.
Prints every address and runs until interrupted (Ctrl-C or SIGTERM).

With --run FILE it applies that spec, follows it to the end, and stops:
the exit status is the run's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDev(cmd.Context(), stdio, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.IP, "ip", "127.0.0.1", "address every server listens on")
	f.IntVar(&opts.Port, "port", 7233, "Temporal frontend (gRPC) port (0: any free port)")
	f.IntVar(&opts.UIPort, "ui-port", 8233, "Temporal Web UI port (0: any free port)")
	f.BoolVar(&opts.NoUI, "no-ui", false, "do not serve the Temporal Web UI")
	f.IntVar(&opts.EmulatorPort, "emulator-port", 8300, "first of the emulator's ports, one per service: iam, cdm, dis, dli, lakeformation, dlf (0: any free ports)")
	f.StringVar(&opts.DBFile, "db-file", "", "keep Temporal's state in this SQLite file so it survives a restart")
	f.StringVar(&opts.LogLevel, "log-level", "warn", "log level: debug, info, warn or error")
	f.DurationVar(&opts.JobDuration, "job-duration", 3*time.Second, "how long an emulated job runs")
	f.StringVar(&opts.Run, "run", "", "apply this spec, follow it to the end, then stop")
	f.Float64Var(&opts.RateLimitScale, "rate-limit-scale", 1, "multiply the emulator's per-API rate limits, CDM's documented ones and the emulator's choice for the other services (e.g. 0.05 to provoke 429s)")
	f.BoolVar(&opts.NoRateLimits, "no-rate-limits", false, "do not enforce the emulator's per-API rate limits")
	return cmd
}

func runDev(ctx context.Context, stdio IO, opts *devOptions) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if err := checkRateLimitScale(opts.RateLimitScale); err != nil {
		return err
	}
	// Validate the spec before starting anything: a typo should not cost
	// a server start.
	if opts.Run != "" {
		if _, err := compileFile(stdio, opts.Run, planner.Options{LookupEnv: os.LookupEnv}); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(stdio.ErrOut, &slog.HandlerOptions{Level: level}))
	// 0 picks a free port, as for the other servers; the stack's 0 is no UI.
	uiPort := opts.UIPort
	switch {
	case opts.NoUI:
		uiPort = 0
	case uiPort <= 0:
		uiPort = -1
	}
	st, err := testenv.Start(ctx, testenv.StackOptions{
		IP:             opts.IP,
		FrontendPort:   opts.Port,
		UIPort:         uiPort,
		EmulatorPort:   opts.EmulatorPort,
		DBFile:         opts.DBFile,
		JobDuration:    opts.JobDuration,
		Logger:         logger,
		ServerLogLevel: max(level, slog.LevelWarn),
		// The server fires no timer sooner than 1 s from now by default
		// and reads its queues 20 times a second: on one machine with
		// jobs of seconds, that floors every poll at a second and makes
		// each step wait on the queues. A single-user server can afford
		// finer (see BenchmarkServerSettings).
		ServerDynamicConfig: map[string]any{
			"history.timerProcessorMaxTimeShift":  100 * time.Millisecond,
			"history.timerProcessorMaxPollRPS":    200,
			"history.transferProcessorMaxPollRPS": 200,
		},
		DisableRateLimits:      opts.NoRateLimits,
		EmulatorRateLimitScale: opts.RateLimitScale,
	})
	if err != nil {
		return fmt.Errorf("dev stack: %w", err)
	}
	defer func() {
		fmt.Fprintln(stdio.ErrOut, "stopping…")
		st.Stop()
	}()
	ui := "off"
	if st.Server.UIAddr() != "" {
		ui = "http://" + st.Server.UIAddr()
	}
	db := "in memory (state is lost on exit)"
	if opts.DBFile != "" {
		db = opts.DBFile
	}
	fmt.Fprintf(stdio.ErrOut, "pipectl dev is running\n  Temporal frontend       %s  (namespace default)\n  Temporal Web UI         %s\n", st.Server.FrontendAddr(), ui)
	for _, svc := range emulator.Services() {
		fmt.Fprintf(stdio.ErrOut, "  Emulator %-14s %s\n", svc, st.Endpoints[svc])
	}
	fmt.Fprintf(stdio.ErrOut, "  Emulator rate limits    %s\n", emulatorLimitsLine(opts.NoRateLimits, opts.RateLimitScale))
	fmt.Fprintf(stdio.ErrOut, "  Worker                  task queue %q (pipelines)\n", workflows.TaskQueue)
	limits := st.WorkerConfig().EffectiveRateLimits()
	for _, svc := range slices.Sorted(maps.Keys(limits)) {
		rate := "no limit"
		if limits[svc] > 0 {
			rate = fmt.Sprintf("%g activities/s", limits[svc])
		}
		fmt.Fprintf(stdio.ErrOut, "  %-23s %s\n", "", fmt.Sprintf("task queue %q (%s)", workflows.ServiceQueue(svc), rate))
	}
	fmt.Fprintf(stdio.ErrOut, "  Database                %s\n", db)
	if opts.Run == "" {
		fmt.Fprintf(stdio.ErrOut, "Apply a spec with: pipectl apply FILE --wait --address %s\nPress Ctrl-C to stop.\n", st.Server.FrontendAddr())
		<-ctx.Done()
		return nil
	}
	return runApply(ctx, &applyOptions{
		IO: stdio,
		Dial: func(ctx context.Context) (client.Client, error) {
			return client.NewClientFromExistingWithContext(ctx, st.Client, client.Options{Namespace: devserver.DefaultNamespace})
		},
		File:    opts.Run,
		Compile: planner.Options{LookupEnv: os.LookupEnv},
		Wait:    true,
		Refresh: 500 * time.Millisecond,
		Now:     time.Now,
	})
}
