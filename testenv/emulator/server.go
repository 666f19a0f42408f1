package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// Ports returns consecutive ports from base for every service, in the order
// of Services: the layout `pipectl dev` uses. A base of 0 gives every service
// a free port.
func Ports(base int) map[string]int {
	ports := map[string]int{}
	for i, s := range Services() {
		if base != 0 {
			ports[s] = base + i
		} else {
			ports[s] = 0
		}
	}
	return ports
}

// Start serves every service on its own port of ip until ctx is done;
// ports maps a service to its port, and a missing or zero port picks a free
// one. It returns each service's base URL ("http://127.0.0.1:NNNN") once
// all are listening, so callers can use them right away. If any port is
// taken, nothing is left listening.
func (e *Emulator) Start(ctx context.Context, ip string, ports map[string]int) (map[string]string, error) {
	listeners := map[string]net.Listener{}
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
	}
	for _, s := range Services() {
		addr := net.JoinHostPort(ip, strconv.Itoa(ports[s]))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("emulator: %s port %s is already in use (is another emulator or `pipectl dev` running?): %w", s, addr, err)
			}
			return nil, fmt.Errorf("emulator: %s: listen on %s: %w", s, addr, err)
		}
		listeners[s] = l
	}
	urls := map[string]string{}
	for _, s := range Services() {
		l := listeners[s]
		srv := &http.Server{
			Handler:           e.Handler(s),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
		}
		go func() {
			// Serve closes l on return, even when Shutdown won the race.
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				e.log.Error("emulator stopped", "service", s, "addr", l.Addr().String(), "err", err)
			}
		}()
		context.AfterFunc(ctx, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx) // on timeout the remaining connections are dropped anyway
		})
		urls[s] = "http://" + l.Addr().String()
		e.log.Info("emulator listening", "service", s, "url", urls[s])
	}
	return urls, nil
}
