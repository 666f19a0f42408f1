package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
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

// PortsWithAdmin is Ports plus the admin API on the port after the last
// service's (base+6), or on a free port when base is 0.
func PortsWithAdmin(base int) map[string]int {
	ports := Ports(base)
	ports[Admin] = 0
	if base != 0 {
		ports[Admin] = base + len(Services())
	}
	return ports
}

// Start serves every service on its own port of ip until ctx is done;
// ports maps a service to its port, and a missing or zero port picks a free
// one. The admin API (AdminHandler) is served too when ports has an Admin
// entry (0 = a free port), and only then, so that callers passing the URLs
// on as service endpoints see services only. Start returns each base URL
// ("http://127.0.0.1:NNNN") once all are listening, so callers can use
// them right away. If any port is taken, nothing is left listening.
//
// When ctx is done the servers shut down and then, with Options.StateFile
// set, the state is saved; Wait waits for that.
func (e *Emulator) Start(ctx context.Context, ip string, ports map[string]int) (map[string]string, error) {
	names := Services()
	if _, ok := ports[Admin]; ok {
		names = append(names, Admin)
	}
	listeners := map[string]net.Listener{}
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
	}
	for _, s := range names {
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
	var servers []*http.Server
	for _, s := range names {
		l := listeners[s]
		h := e.admin
		if s != Admin {
			h = e.Handler(s)
		}
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
		}
		servers = append(servers, srv)
		go func() {
			// Serve closes l on return, even when Shutdown won the race.
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				e.log.Error("emulator stopped", "service", s, "addr", l.Addr().String(), "err", err)
			}
		}()
		urls[s] = "http://" + l.Addr().String()
		e.log.Info("emulator listening", "service", s, "url", urls[s])
	}
	e.running.Add(1)
	context.AfterFunc(ctx, func() {
		defer e.running.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for _, srv := range servers {
			wg.Go(func() {
				_ = srv.Shutdown(sctx) // on timeout the remaining connections are dropped anyway
			})
		}
		wg.Wait()
		if e.stateFile != "" {
			if err := e.Save(); err != nil {
				e.log.Error("emulator state not saved", "file", e.stateFile, "err", err)
			}
		}
	})
	return urls, nil
}

// Wait blocks until every Start whose context has ended has shut its
// servers down and saved the state: a program calls it before exiting.
func (e *Emulator) Wait() { e.running.Wait() }
