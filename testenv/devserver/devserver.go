// Package devserver runs a real Temporal server in-process on SQLite, with
// the Temporal Web UI beside it. It is the engine behind `pipectl dev` and the
// end-to-end tests; production points the same binaries at a real cluster.
package devserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const (
	// DefaultNamespace is the namespace created at start-up.
	DefaultNamespace = "default"
	clusterName      = "active"
	// devClusterID is fixed so that a --db-file database always belongs to
	// the same cluster; the server wants a UUID.
	devClusterID = "8d9e6a2c-5b1f-4c1e-9f63-70a1c0de0b1e"
)

// Options configure the embedded server. The zero value, with Logger set,
// serves on random free ports with an in-memory database and no UI.
type Options struct {
	// IP to bind; defaults to 127.0.0.1.
	IP string
	// FrontendPort is the gRPC frontend port; 0 picks a free one.
	FrontendPort int
	// UIPort serves the Web UI when non-zero; -1 picks a free port.
	UIPort int
	// DBFile keeps state in a SQLite file so that it survives a restart;
	// empty keeps everything in memory.
	DBFile string
	// Namespaces to create besides DefaultNamespace.
	Namespaces []string
	// SearchAttributes to register in every namespace.
	SearchAttributes map[string]enumspb.IndexedValueType
	// DynamicConfig overrides server dynamic config by key.
	DynamicConfig map[string]any
	Logger        *slog.Logger
	// LogLevel of the server's own logs; it is chatty below Warn.
	LogLevel slog.Level
	// BeforeListen, when set, is called on each start attempt with the
	// server's gRPC and HTTP ports, frontend first, once they are chosen
	// and before the server listens on them. Tests use it to take a port
	// in between, as another process may.
	BeforeListen func(ports []int)
}

// Server is a running embedded Temporal server.
type Server struct {
	server       temporal.Server
	ui           *uiserver.Server
	uiDone       chan error
	frontendAddr string
	uiAddr       string
	logLevel     *slog.LevelVar
	stopOnce     sync.Once
}

// PortInUseError reports a port the server was asked to use that is taken.
type PortInUseError struct {
	What string // "frontend", "Web UI"
	Addr string
	Err  error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("%s port %s is already in use (is another Temporal server or `pipectl dev` running?): %v", e.What, e.Addr, e.Err)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// Start starts the server and returns once its frontend accepts connections.
func Start(opts Options) (*Server, error) {
	if opts.Logger == nil {
		return nil, errors.New("devserver: Logger is required")
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	// A port found free may be taken by another process before the
	// server listens on it; the server then reports a fatal error instead
	// of starting. Such a start is tried again on other free ports.
	for attempt := 1; ; attempt++ {
		s, err := start(opts)
		var race *portRaceError
		if !errors.As(err, &race) || attempt == 3 {
			return s, err
		}
		opts.Logger.Warn("a port was taken while the Temporal server started; trying other ports", "error", race.msg)
	}
}

// portRaceError is a server start that failed as a port it was given was
// taken meanwhile.
type portRaceError struct{ msg string }

func (e *portRaceError) Error() string { return "devserver: " + e.msg }

// buildServer builds the server with Fatal turned into a panic (see
// fatalRecord) and recovers it as a portRaceError: the server opens its
// listeners while it is built, in this goroutine, and a port taken since
// it was found free is what fails there (the HTTP listener returns an
// error instead). What a failed build opened is left to the GC.
func buildServer(fatal *fatalRecord, build func() (temporal.Server, error)) (srv temporal.Server, err error) {
	fatal.setStarting(true)
	defer fatal.setStarting(false)
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		fp, ok := r.(fatalPanic)
		if !ok {
			panic(r)
		}
		srv, err = nil, &portRaceError{msg: fp.msg}
	}()
	srv, err = build()
	if errors.Is(err, syscall.EADDRINUSE) {
		// The frontend's HTTP listener reports a taken port as an error.
		return nil, &portRaceError{msg: err.Error()}
	}
	if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	return srv, nil
}

func start(opts Options) (*Server, error) {
	var err error
	if opts.FrontendPort, err = claimPort(opts.IP, opts.FrontendPort, "frontend"); err != nil {
		return nil, err
	}
	if opts.UIPort != 0 {
		if opts.UIPort, err = claimPort(opts.IP, max(opts.UIPort, 0), "Web UI"); err != nil {
			return nil, err
		}
	}
	httpPort, err := claimPort(opts.IP, 0, "frontend HTTP")
	if err != nil {
		return nil, err
	}
	conf, err := buildConfig(opts, httpPort)
	if err != nil {
		return nil, err
	}
	if opts.BeforeListen != nil {
		ports := []int{opts.FrontendPort, httpPort}
		for _, name := range []string{"history", "matching", "worker"} {
			ports = append(ports, conf.Services[name].RPC.GRPCPort)
		}
		opts.BeforeListen(ports)
	}
	level := &slog.LevelVar{}
	level.Set(opts.LogLevel)
	logger := newServerLogger(opts.Logger, level)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("devserver: claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []primitives.ServiceName{primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(opts.IP, strconv.Itoa(conf.Services[string(svc)].RPC.GRPCPort)))
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// One partition per task queue: a single-host server gains nothing
		// from four, and with four an activity task that lands on a
		// partition no poller waits on can sit in its backlog until a
		// poller times out elsewhere (up to a minute) — measured on
		// pipectl's quiet per-service queues. One partition also applies
		// a queue's rate limit whole.
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
	}
	for k, v := range opts.DynamicConfig {
		dyn[dynamicconfig.MakeKey(k)] = v
	}
	srv, err := buildServer(logger.fatal, func() (temporal.Server, error) {
		return temporal.NewServer(
			temporal.WithConfig(conf),
			temporal.ForServices(temporal.DefaultServices),
			temporal.WithStaticHosts(hosts),
			temporal.WithLogger(logger),
			temporal.WithAuthorizer(authorizer),
			temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
			temporal.WithDynamicConfigClient(dyn),
		)
	})
	if err != nil {
		return nil, err
	}
	if msg := logger.fatal.get(); msg != "" {
		// Not started, so nothing runs; what it opened is left to the GC.
		return nil, &portRaceError{msg: msg}
	}
	s := &Server{server: srv, logLevel: level, frontendAddr: net.JoinHostPort(opts.IP, strconv.Itoa(opts.FrontendPort))}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("devserver: start: %w", err)
	}
	if opts.UIPort != 0 {
		s.uiAddr = net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort))
		s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host:                opts.IP,
			Port:                opts.UIPort,
			TemporalGRPCAddress: s.frontendAddr,
			EnableUI:            true,
			DefaultNamespace:    DefaultNamespace,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			DisableNewsFetch:    true,
		}))
		s.uiDone = make(chan error, 1)
		go func() { s.uiDone <- s.ui.Start() }()
		if err := waitListening(s.uiAddr, s.uiDone, 10*time.Second); err != nil {
			s.Stop()
			return nil, fmt.Errorf("devserver: Web UI: %w", err)
		}
	}
	return s, nil
}

// FrontendAddr is the host:port of the gRPC frontend.
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// UIAddr is the host:port of the Web UI, or "" when it is off.
func (s *Server) UIAddr() string { return s.uiAddr }

// Stop stops the UI and the server. It is safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		// Shutting down makes the server's internal workers and clients
		// warn about every connection they lose; none of it is news.
		s.logLevel.Set(slog.LevelError + 1)
		if s.ui != nil {
			s.ui.Stop()
		}
		if err := s.server.Stop(); err != nil {
			_ = err // the process is going away; nothing to recover
		}
	})
}

func buildConfig(opts Options, httpPort int) (*config.Config, error) {
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = opts.IP
	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = 1
	sqlConf, err := sqlConfig(opts)
	if err != nil {
		return nil, err
	}
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}}
	frontend := net.JoinHostPort(opts.IP, strconv.Itoa(opts.FrontendPort))
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontend,
				HTTPAddress:            net.JoinHostPort(opts.IP, strconv.Itoa(httpPort)),
				ClusterID:              devClusterID,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = opts.IP
		if name == "frontend" {
			svc.RPC.GRPCPort = opts.FrontendPort
			svc.RPC.HTTPPort = httpPort
		} else {
			port, err := claimPort(opts.IP, 0, name)
			if err != nil {
				return nil, err
			}
			svc.RPC.GRPCPort = port
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend
	return &conf, nil
}

func sqlConfig(opts Options) (*config.SQL, error) {
	conf := config.SQL{PluginName: sqliteplugin.PluginName}
	if opts.DBFile == "" {
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		// Each in-memory server gets its own database, so that two in one
		// process (parallel tests) never share state.
		conf.DatabaseName = fmt.Sprintf("pipectl-%d-%d", os.Getpid(), time.Now().UnixNano())
	} else {
		conf.ConnectAttributes = map[string]string{"mode": "rwc"}
		conf.DatabaseName = opts.DBFile
		if _, err := os.Stat(opts.DBFile); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(filepath.Dir(opts.DBFile)); err != nil {
				return nil, fmt.Errorf("devserver: database file directory: %w", err)
			}
			if err := sqliteschema.SetupSchema(&conf); err != nil {
				return nil, fmt.Errorf("devserver: create schema in %s: %w", opts.DBFile, err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("devserver: database file: %w", err)
		}
	}
	names := append([]string{DefaultNamespace}, opts.Namespaces...)
	nss := make([]*sqliteschema.NamespaceConfig, 0, len(names))
	for _, ns := range names {
		nc, err := sqliteschema.NewNamespaceConfig(clusterName, ns, false, opts.SearchAttributes)
		if err != nil {
			return nil, fmt.Errorf("devserver: namespace %s: %w", ns, err)
		}
		nss = append(nss, nc)
	}
	if err := sqliteschema.CreateNamespaces(&conf, nss...); err != nil {
		return nil, fmt.Errorf("devserver: create namespaces: %w", err)
	}
	return &conf, nil
}

// claimPort checks that port is free on ip (or finds a free one for 0) so
// that a busy port fails with a clear message instead of deep in start-up.
func claimPort(ip string, port int, what string) (int, error) {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, &PortInUseError{What: what, Addr: addr, Err: err}
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitListening(addr string, done <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case err := <-done:
			if err == nil {
				err = errors.New("stopped during start-up")
			}
			return err
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s", addr, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
