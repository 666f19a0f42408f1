package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Start serves the emulator on addr (e.g. "127.0.0.1:0" or "127.0.0.1:8300")
// until ctx is done. It returns the bound base URL ("http://127.0.0.1:NNNN")
// once the port is listening, so callers can use it right away.
func (e *Emulator) Start(ctx context.Context, addr string) (baseURL string, err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return "", fmt.Errorf("emulator: port %s is already in use (is another emulator or `pipectl dev` running?): %w", addr, err)
		}
		return "", fmt.Errorf("emulator: listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
	}
	go func() {
		// Serve closes l on return, even when Shutdown won the race.
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("emulator stopped", "addr", l.Addr().String(), "err", err)
		}
	}()
	context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx) // on timeout the remaining connections are dropped anyway
	})
	base := "http://" + l.Addr().String()
	e.log.Info("emulator listening", "url", base)
	return base, nil
}
