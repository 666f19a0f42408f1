package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pipectl/pipectl/testenv/emulator"
)

type emulatorOptions struct {
	IP             string
	Port           int
	ProjectID      string
	AK, SK         string
	User, Domain   string
	Password       string
	StateFile      string
	JobDuration    time.Duration
	RateLimitScale float64
	NoRateLimits   bool
	LogLevel       string
}

// emulatorEnv lists the environment variables that set flags not given.
// Project and IAM user are the worker's variables, so one environment
// configures both.
var emulatorEnv = []struct{ flag, env string }{
	{"project-id", "PIPECTL_PROJECT_ID"},
	{"ak", "PIPECTL_AK"},
	{"sk", "PIPECTL_SK"},
	{"iam-user", "PIPECTL_IAM_USER"},
	{"iam-domain", "PIPECTL_IAM_DOMAIN"},
	{"iam-password", "PIPECTL_IAM_PASSWORD"},
	{"port", "PIPECTL_EMULATOR_PORT"},
	{"state-file", "PIPECTL_EMULATOR_STATE_FILE"},
	{"job-duration", "PIPECTL_EMULATOR_JOB_DURATION"},
}

func newEmulatorCmd(stdio IO) *cobra.Command {
	opts := &emulatorOptions{}
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run the emulator of the Huawei Cloud APIs alone",
		Long: `Serves the emulated IAM, CDM, DIS, DLI, LakeFormation and DataArts (DLF)
APIs, each on its own port (consecutive from --port), plus the admin API
(introspection, rules, faults, rate limits) on the port after them. Prints
one line of JSON mapping each service and "admin" to its base URL on
stdout, then runs until interrupted (Ctrl-C or SIGTERM).

Clients authenticate as a real worker would: with a token from the IAM
endpoint for the configured user, or with requests signed with the
configured AK/SK. With --state-file the emulated resources, the rules and
the issued tokens survive a restart (rate-limit changes, call counters and
faults do not). Flags not given fall back to the environment: ` + envList() + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd.Flags(), os.Getenv); err != nil {
				return err
			}
			return runEmulator(cmd.Context(), stdio, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.IP, "ip", "127.0.0.1", "address the emulator listens on")
	f.IntVar(&opts.Port, "port", 8300, "first of the emulator's ports: iam, cdm, dis, dli, lakeformation, dlf, then admin (0: any free ports)")
	f.StringVar(&opts.ProjectID, "project-id", "dev-project", "project ID of tokens scoped by project name")
	f.StringVar(&opts.AK, "ak", emulator.DevAK, "access key accepted on AK/SK-signed requests")
	f.StringVar(&opts.SK, "sk", emulator.DevSK, "its secret key")
	f.StringVar(&opts.User, "iam-user", emulator.DevUserName, "IAM user that may get tokens")
	f.StringVar(&opts.Domain, "iam-domain", emulator.DevDomain, "its account (domain) name")
	f.StringVar(&opts.Password, "iam-password", emulator.DevPassword, "its password")
	f.StringVar(&opts.StateFile, "state-file", "", "load the state from this file if it exists, and save it there on exit")
	f.DurationVar(&opts.JobDuration, "job-duration", 3*time.Second, "how long an emulated job runs")
	f.Float64Var(&opts.RateLimitScale, "rate-limit-scale", 1, "multiply the per-API rate limits, CDM's documented ones and the emulator's choice for the other services (e.g. 0.05 to provoke 429s)")
	f.BoolVar(&opts.NoRateLimits, "no-rate-limits", false, "do not enforce the per-API rate limits")
	f.StringVar(&opts.LogLevel, "log-level", "info", "log level (on stderr): debug, info, warn or error")
	return cmd
}

func envList() string {
	names := make([]string, len(emulatorEnv))
	for i, e := range emulatorEnv {
		names[i] = e.env
	}
	return strings.Join(names, ", ")
}

// applyEnv sets every flag that was not given from its environment variable.
func applyEnv(flags *pflag.FlagSet, getenv func(string) string) error {
	for _, e := range emulatorEnv {
		if v := getenv(e.env); v != "" && !flags.Changed(e.flag) {
			if err := flags.Set(e.flag, v); err != nil {
				return fmt.Errorf("%s=%q: %w", e.env, v, err)
			}
		}
	}
	return nil
}

func runEmulator(ctx context.Context, stdio IO, opts *emulatorOptions) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if opts.JobDuration <= 0 {
		return fmt.Errorf("--job-duration must be positive, not %s", opts.JobDuration)
	}
	if err := checkRateLimitScale(opts.RateLimitScale); err != nil {
		return err
	}
	if opts.AK == "" || opts.SK == "" || opts.User == "" || opts.Domain == "" || opts.Password == "" {
		return fmt.Errorf("--ak, --sk, --iam-user, --iam-domain and --iam-password must not be empty")
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(stdio.ErrOut, &slog.HandlerOptions{Level: level}))
	emu, err := emulator.Open(emulator.Options{
		JobDuration:       opts.JobDuration,
		Logger:            logger,
		Users:             []emulator.User{{Name: opts.User, Domain: opts.Domain, Password: opts.Password}},
		AccessKeys:        []emulator.AccessKey{{AK: opts.AK, SK: opts.SK}},
		ProjectID:         opts.ProjectID,
		DisableRateLimits: opts.NoRateLimits,
		RateLimitScale:    opts.RateLimitScale,
		StateFile:         opts.StateFile,
	})
	if err != nil {
		return err
	}
	urls, err := emu.Start(ctx, opts.IP, emulator.PortsWithAdmin(opts.Port))
	if err != nil {
		return err
	}
	line, err := json.Marshal(urls) // keys sorted: one stable line
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(stdio.Out, string(line)); err != nil {
		return err
	}
	logger.Info("emulator running; stop with Ctrl-C", "project_id", opts.ProjectID, "ak", opts.AK,
		"iam_user", opts.User, "state_file", opts.StateFile)
	<-ctx.Done()
	emu.Wait() // servers stopped and state saved
	return nil
}

// checkRateLimitScale refuses a --rate-limit-scale the emulator would
// silently read as 1 (emulator.Options.RateLimitScale: 0 means 1).
func checkRateLimitScale(scale float64) error {
	if !(scale > 0) || math.IsInf(scale, 1) {
		return fmt.Errorf("--rate-limit-scale must be a positive number, not %g", scale)
	}
	return nil
}

// emulatorLimitsLine says how the emulator enforces its rate limits.
func emulatorLimitsLine(off bool, scale float64) string {
	switch {
	case off:
		return "off (--no-rate-limits)"
	case scale != 1:
		return fmt.Sprintf("on, scaled ×%g (--rate-limit-scale)", scale)
	}
	return "on (CDM's documented per-API limits; chosen ones for the other services)"
}
