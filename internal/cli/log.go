package cli

import (
	"log/slog"
	"os"

	sdklog "go.temporal.io/sdk/log"
)

// quietLogger is the Temporal client's logger for the CLI: warnings and
// errors only, on stderr, so command output is not buried in client chatter.
func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
