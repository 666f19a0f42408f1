// Package cli is the pipectl command line. Each command is a constructor
// returning a cobra command over an options struct whose dependencies are
// fields, so tests run commands in-process with their own streams.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
)

// IO is where a command reads and writes. Progress goes to ErrOut so Out
// stays parseable.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// TTY says Out is a terminal: live displays redraw in place.
	TTY bool
}

// Exit statuses of pipectl; `pipectl help exit-codes` explains them.
const (
	// ExitOK: the command did what it was asked; a followed run
	// succeeded; plan --detailed-exitcode found nothing to change.
	ExitOK = 0
	// ExitError: anything went wrong: a usage mistake, an invalid spec,
	// Temporal unreachable or refusing, a followed run that failed or was
	// cancelled.
	ExitError = 1
	// ExitChanges: plan --detailed-exitcode found changes to apply.
	ExitChanges = 2
)

// SilentError is returned when the command already told the user what went
// wrong; Main exits non-zero without printing it again.
type SilentError struct{ Code int }

func (e *SilentError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Main runs pipectl with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdio IO) int {
	root := NewRootCmd(stdio)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var silent *SilentError
	if errors.As(err, &silent) {
		return silent.Code
	}
	fmt.Fprintln(stdio.ErrOut, "Error:", err)
	return ExitError
}

// NewRootCmd builds the command tree.
func NewRootCmd(stdio IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "pipectl",
		Short: "Declarative data pipelines on Huawei Cloud, run by Temporal",
		Long: `pipectl compiles YAML pipeline specs and runs them on Temporal, once or on a
schedule. Exit statuses, error output and the -o json fields scripts can
rely on: pipectl help exit-codes.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.ErrOut)
	tf := &temporalFlags{}
	root.PersistentFlags().StringVar(&tf.address, "address", "", "Temporal frontend host:port (default: TEMPORAL_ADDRESS, the profile, or 127.0.0.1:7233)")
	root.PersistentFlags().StringVar(&tf.namespace, "namespace", "", "Temporal namespace (default: TEMPORAL_NAMESPACE, the profile, or default)")
	root.AddCommand(
		newValidateCmd(stdio),
		newPlanCmd(stdio, tf.dial),
		newGraphCmd(stdio),
		newSchemaCmd(stdio),
		newApplyCmd(stdio, tf.dial),
		newRunCmd(stdio, tf.dial),
		newGetCmd(stdio, tf.dial),
		newDescribeCmd(stdio, tf.dial),
		newWatchCmd(stdio, tf.dial),
		newCancelCmd(stdio, tf.dial),
		newStepCmd(stdio, tf.dial),
		newLogsCmd(stdio, tf.dial),
		newScheduleCmd(stdio, tf.dial),
		newBackfillCmd(stdio, tf.dial),
		newVersionCmd(stdio),
		newDevCmd(stdio),
		newEmulatorCmd(stdio),
	)
	root.AddCommand(newHelpTopics()...)
	return root
}

// temporalFlags override the standard TEMPORAL_* environment and profile.
type temporalFlags struct {
	address   string
	namespace string
}

// dial connects to Temporal. It is called only by commands that need it, so
// `pipectl validate` works with no cluster around.
func (f *temporalFlags) dial(ctx context.Context) (client.Client, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return nil, fmt.Errorf("temporal client config: %w", err)
	}
	if f.address != "" {
		opts.HostPort = f.address
	}
	if f.namespace != "" {
		opts.Namespace = f.namespace
	}
	opts.Logger = quietLogger()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		addr := opts.HostPort
		if addr == "" {
			addr = client.DefaultHostPort
		}
		return nil, fmt.Errorf("cannot reach Temporal at %s (start one with `pipectl dev`, or set TEMPORAL_ADDRESS): %w", addr, err)
	}
	return c, nil
}

// isTerminal reports whether w is a character device, e.g. a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// StdIO returns the process's standard streams.
func StdIO() IO {
	return IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, TTY: isTerminal(os.Stdout)}
}
