// Package daemon builds the whole of benchd from a Config — history store,
// Docker client, ollama transport, VRAM source, runner, gRPC servers,
// health watcher — and runs it. cmd/benchd turns flags into a Config;
// in-process tests build their daemon here too, so there is one wiring.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/benchd/benchd/internal/dockerx"
	"github.com/benchd/benchd/internal/history"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/peercred"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/tlsconfig"
	"github.com/benchd/benchd/internal/unixsock"
	"github.com/benchd/benchd/internal/vram"
	"github.com/benchd/benchd/service"
)

// Config is what benchd's flags say.
type Config struct {
	// Socket is the absolute path of the unix socket to serve on.
	Socket string
	// Container is the Docker container running ollama, which the
	// docker-exec transport and the VRAM tools exec into. With an http://
	// Ollama it may be empty: no container, VRAM from sysfs only.
	Container string
	// Ollama is "docker-exec" (a stdio bridge through the Docker API per
	// connection; the daemon needs no network) or an http:// URL.
	Ollama string
	// OllamaPort is ollama's port inside the container (docker-exec).
	OllamaPort int
	// VRAMSource is auto, sysfs, rocm-smi, amd-smi, nvidia-smi or none.
	VRAMSource     string
	SysfsRoot      string
	VRAMPrivileged bool
	// Store is the history database file.
	Store string
	// RetainRuns and RetainBytes bound the history: past either, the
	// oldest ended runs are deleted (store.Retention).
	RetainRuns  int
	RetainBytes int64
	// AllowUIDs are callers admitted besides the daemon's own uid.
	AllowUIDs       []uint32
	TLS             TLS
	ShutdownTimeout time.Duration
	HealthInterval  time.Duration
	// MaxConns bounds the client connections held over all listeners;
	// more are closed at once.
	MaxConns int
	// MaxStreams bounds the concurrent RPCs of one connection; more wait
	// for one to end (grpc.MaxConcurrentStreams).
	MaxStreams uint32
	// MaxSendBytes bounds one response message; a larger one fails with
	// RESOURCE_EXHAUSTED (grpc.MaxSendMsgSize).
	MaxSendBytes int
	// StallTimeout ends a generation that sends no token for this long
	// after its first (runner.Config.StallTimeout).
	StallTimeout time.Duration
	// IdleBaseline is how long idle GPU power is sampled before a run's
	// first trial (runner.Config.IdleBaseline).
	IdleBaseline time.Duration
	// Metrics is the Prometheus exporter's listener and its TLS.
	Metrics Metrics
	Log     *slog.Logger
}

// Defaults of the daemon's own settings, used for a Config's zero fields and
// by benchd's flags (request defaults are in proto/defaults).
const (
	DefaultContainer       = "ollama"
	DefaultOllama          = "docker-exec"
	DefaultOllamaPort      = 11434
	DefaultVRAMSource      = "auto"
	DefaultSysfsRoot       = "/sys"
	DefaultShutdownTimeout = 10 * time.Second
	DefaultHealthInterval  = 5 * time.Second
	// A stored run is a few KiB (a few MiB with the largest prompts), so
	// 10,000 runs is years of use for a person or an agent; 256 MiB keeps
	// the file small next to any model, and the file stays within about
	// twice it (bbolt reuses freed pages; a larger file is compacted on
	// start).
	// Between two tokens even a large model on a slow GPU takes well under
	// a second; a minute without one is a hang, which used to hold the
	// GPU until the request's timeout (10 minutes by default).
	DefaultStallTimeout = 60 * time.Second
	// One agent or a few people: a benchctl holds one connection, the
	// load test 35. 128 connections cost a few MiB at most.
	DefaultMaxConns = 128
	// A client runs an RPC or two at a time (a benchmark and a VRAM
	// watch); 16 leaves room, and a connection cannot pile up thousands.
	DefaultMaxStreams = 16
	// What grpc's clients (Go, Python) accept by default: a larger
	// response could not be read by them anyway.
	DefaultMaxSendBytes = 4 << 20
	DefaultRetainRuns   = 10_000
	DefaultRetainBytes  = 256 << 20
)

// Option replaces a part the daemon would otherwise build from its Config;
// tests use them to put a recording or fake part in place.
type Option func(*parts)

type parts struct {
	vram     vram.Reader
	ollama   runner.Ollama
	wrapDial func(ollama.Dialer) ollama.Dialer
	policy   *peercred.Policy
}

// WithOllama uses o instead of an ollama client (and no container check).
func WithOllama(o runner.Ollama) Option { return func(p *parts) { p.ollama = o } }

// WithVRAM uses r as the VRAM source instead of the Config's.
func WithVRAM(r vram.Reader) Option { return func(p *parts) { p.vram = r } }

// WithOllamaDialer wraps the dialer of the ollama client, e.g. to count or
// record its connections.
func WithOllamaDialer(wrap func(ollama.Dialer) ollama.Dialer) Option {
	return func(p *parts) { p.wrapDial = wrap }
}

// WithPolicy replaces the peer uid policy of the unix socket.
func WithPolicy(pol *peercred.Policy) Option { return func(p *parts) { p.policy = pol } }

// Daemon is a built benchd, ready to Run.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	closers []func()

	docker  *dockerx.Client
	checker runner.Container // nil: ollama over plain HTTP
	history *history.History
	runner  *runner.Runner
	health  *health.Server
	servers []*listener
	metrics *metricsServer // nil without --metrics
}

// listener is one gRPC server and what it serves on.
type listener struct {
	name string
	gs   *grpc.Server
	l    net.Listener
}

// New builds the daemon and opens its sockets; nothing is served until
// Run. On error everything opened so far is closed again.
func New(ctx context.Context, cfg Config, opts ...Option) (*Daemon, error) {
	var p parts
	for _, o := range opts {
		o(&p)
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, log: cfg.Log}
	if d.log == nil {
		d.log = slog.Default()
	}
	built := false
	defer func() {
		if !built {
			d.close()
		}
	}()
	// TLS files first: a bad certificate fails the start before anything
	// listens.
	tlsCfg, err := cfg.TLS.load(d.log)
	if err != nil {
		return nil, err
	}
	if d.docker, err = dockerx.New(cfg.Container, d.log); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, func() { d.docker.Close() })
	oc := p.ollama
	if oc == nil {
		oc, err = d.ollamaClient(p.wrapDial)
		if err != nil {
			return nil, err
		}
	}
	reader := p.vram
	if reader == nil {
		if reader, err = vramReader(cfg, d.docker); err != nil {
			return nil, err
		}
	}
	if d.history, err = history.Open(cfg.Store, service.StatusOf, history.Retention{Runs: cfg.RetainRuns, Bytes: cfg.RetainBytes}, d.log); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, func() { d.history.Close() })
	d.runner = runner.NewRunner(runner.Config{Ollama: oc, Container: d.checker, VRAM: reader, Log: d.log, Machine: machineInfo(),
		StallTimeout: cfg.StallTimeout, IdleBaseline: cfg.IdleBaseline})
	svc := service.New(d.runner, d.history, reader, d.log)
	d.health = health.NewServer()
	outer, err := d.newMetrics(ctx, reader, d.history, tlsCfg)
	if err != nil {
		return nil, err
	}
	if err := d.listen(ctx, svc, tlsCfg, p.policy, outer); err != nil {
		return nil, err
	}
	built = true
	return d, nil
}

// ollamaClient builds the transport to ollama the Config asks for.
func (d *Daemon) ollamaClient(wrap func(ollama.Dialer) ollama.Dialer) (*ollama.Client, error) {
	base, dial, viaContainer, err := d.cfg.ollamaTransport(d.docker)
	if err != nil {
		return nil, err
	}
	if viaContainer {
		d.checker = d.docker
	}
	if wrap != nil {
		dial = wrap(dial)
	}
	oc := ollama.New(base, dial)
	d.closers = append(d.closers, oc.Close)
	return oc, nil
}

// listen creates the gRPC servers and their listeners: the unix socket
// always, TCP with mutual TLS when configured.
func (d *Daemon) listen(ctx context.Context, svc *service.Server, tlsCfg *tls.Config, policy *peercred.Policy, outer service.ServerOptions) error {
	if policy == nil {
		policy = peercred.NewPolicy(append([]uint32{uint32(os.Getuid())}, d.cfg.AllowUIDs...)...)
	}
	unixCreds := peercred.Credentials()
	if d.cfg.TLS.Unix {
		unixCreds = tlsconfig.UnixCredentials(tlsCfg, d.log)
	}
	// One limit over both listeners: it bounds what benchd holds.
	conns := newConnLimit(d.cfg.MaxConns, d.log)
	gs, err := service.NewGRPCServer(svc, d.health, d.log, service.ServerOptions{
		Policy:       policy,
		MaxStreams:   d.cfg.MaxStreams,
		MaxSendBytes: d.cfg.MaxSendBytes,
		Extra:        []grpc.ServerOption{grpc.Creds(conns.credentials(unixCreds, admittedBy(policy)))},
		OuterUnary:   outer.OuterUnary,
		OuterStream:  outer.OuterStream,
	})
	if err != nil {
		return err
	}
	l, err := unixsock.Listen(ctx, d.cfg.Socket, 0o750, 0o660)
	if err != nil {
		return err
	}
	d.servers = append(d.servers, &listener{name: d.cfg.Socket, gs: gs, l: l})
	d.closers = append(d.closers, func() { l.Close() })
	if d.cfg.TLS.Listen == "" {
		return nil
	}
	// The same service behind a second server: peer credentials mean
	// nothing on TCP (the policy passes such calls), the client
	// certificate is the identity. A short handshake deadline keeps
	// unauthenticated peers from holding connections open.
	ts, err := service.NewGRPCServer(svc, d.health, d.log, service.ServerOptions{
		OuterUnary:   outer.OuterUnary,
		OuterStream:  outer.OuterStream,
		MaxStreams:   d.cfg.MaxStreams,
		MaxSendBytes: d.cfg.MaxSendBytes,
		Extra: []grpc.ServerOption{
			grpc.Creds(conns.credentials(tlsconfig.Credentials(tlsCfg, d.log), nil)),
			grpc.ConnectionTimeout(tlsHandshakeTimeout),
		},
	})
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	tl, err := lc.Listen(ctx, "tcp", d.cfg.TLS.addr())
	if err != nil {
		return fmt.Errorf("--listen %s: %w", d.cfg.TLS.Listen, err)
	}
	d.servers = append(d.servers, &listener{name: d.cfg.TLS.Listen, gs: ts, l: tl})
	d.closers = append(d.closers, func() { tl.Close() })
	return nil
}

// TCPAddr is the bound address of the TCP listener ("" without one), so
// that --listen tcp://HOST:0 can be found.
func (d *Daemon) TCPAddr() string {
	if len(d.servers) < 2 {
		return ""
	}
	return d.servers[1].l.Addr().String()
}

// errShuttingDown is what a running benchmark is cancelled with.
var errShuttingDown = fmt.Errorf("benchd is shutting down (SIGTERM): %w", context.Canceled)

// Run serves until ctx ends or a server fails, then stops gracefully: health
// goes NOT_SERVING, a running benchmark is cancelled and recorded, and open
// RPCs get ShutdownTimeout to finish before they are cut.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.close()
	hctx, hcancel := context.WithCancel(ctx)
	defer hcancel()
	// Health is known before the socket serves: a client that connects the
	// moment benchd is ready gets SERVING or NOT_SERVING, never "unknown
	// service".
	if d.checker != nil {
		last := checkHealth(hctx, d.health, d.checker, d.cfg.HealthInterval, healthpb.HealthCheckResponse_UNKNOWN, d.log)
		go watchHealth(hctx, d.health, d.checker, d.cfg.HealthInterval, last, d.log)
	} else {
		setHealth(d.health, servingStatus(nil))
	}
	errc := make(chan error, len(d.servers)+1)
	if m := d.metrics; m != nil {
		for _, s := range d.servers {
			m.exp.InitializeGRPC(s.gs)
		}
		go func() {
			if err := m.srv.Serve(m.l); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve metrics %s: %w", d.cfg.Metrics.Listen, err)
			}
		}()
	}
	for _, s := range d.servers {
		go func() {
			if err := s.gs.Serve(s.l); err != nil {
				errc <- fmt.Errorf("serve %s: %w", s.name, err)
			}
		}()
	}
	attrs := []any{"socket", d.cfg.Socket, "container", d.cfg.Container, "ollama", d.cfg.Ollama, "vram_source", d.cfg.VRAMSource, "gomaxprocs", runtime.GOMAXPROCS(0)}
	if d.cfg.TLS.Unix {
		attrs = append(attrs, "unix_tls", true)
	}
	if a := d.TCPAddr(); a != "" {
		attrs = append(attrs, "tcp", a)
	}
	if a := d.MetricsAddr(); a != "" {
		attrs = append(attrs, "metrics", a, "metrics_tls", d.cfg.TLS.Metrics)
	}
	d.log.Info("benchd serving", attrs...)
	if err := notifyReady(d.cfg.Socket, d.TCPAddr(), d.MetricsAddr()); err != nil {
		d.log.Warn("tell systemd benchd is ready", "err", err)
	}

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	notifyStopping()
	d.log.Info("shutting down", "grace", d.cfg.ShutdownTimeout)
	d.health.Shutdown()
	// A running benchmark is cancelled, not cut: its trials so far and its
	// cancelled state are recorded before the RPCs following it end.
	d.runner.Shutdown(errShuttingDown)
	d.stopServers()
	if d.metrics != nil {
		sctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
		if err := d.metrics.srv.Shutdown(sctx); err != nil {
			d.metrics.srv.Close()
		}
		cancel()
	}
	return serveErr
}

// stopServers stops every server gracefully and at the same time, and
// closes the RPCs still running after the grace period.
func (d *Daemon) stopServers() {
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for _, s := range d.servers {
			wg.Go(s.gs.GracefulStop)
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d.cfg.ShutdownTimeout):
		d.log.Warn("graceful stop timed out; closing remaining RPCs")
		for _, s := range d.servers {
			s.gs.Stop()
		}
		<-done
	}
}

// close releases what New opened, in reverse order.
func (d *Daemon) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}

// withDefaults fills the Config's zero fields with the defaults above.
func (c Config) withDefaults() Config {
	orDefault(&c.Ollama, DefaultOllama)
	if c.Ollama == DefaultOllama {
		// Over HTTP no container is needed; none is assumed.
		orDefault(&c.Container, DefaultContainer)
	}
	orDefault(&c.VRAMSource, DefaultVRAMSource)
	orDefault(&c.SysfsRoot, DefaultSysfsRoot)
	orDefault(&c.OllamaPort, DefaultOllamaPort)
	orDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	orDefault(&c.HealthInterval, DefaultHealthInterval)
	orDefault(&c.MaxConns, DefaultMaxConns)
	orDefault(&c.MaxStreams, DefaultMaxStreams)
	orDefault(&c.MaxSendBytes, DefaultMaxSendBytes)
	orDefault(&c.StallTimeout, DefaultStallTimeout)
	orDefault(&c.RetainRuns, DefaultRetainRuns)
	orDefault(&c.RetainBytes, DefaultRetainBytes)
	return c
}

// orDefault sets *v to def when it is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate checks the Config before anything starts.
func (c Config) Validate() error {
	var errs []error
	if c.Socket == "" {
		errs = append(errs, errors.New("no socket: set --socket (the default, $XDG_RUNTIME_DIR/benchd/benchd.sock for a user, needs XDG_RUNTIME_DIR)"))
	}
	if c.Store == "" {
		errs = append(errs, errors.New("no store: set --store (the default, $XDG_STATE_HOME/benchd/history.db for a user, needs XDG_STATE_HOME or HOME)"))
	}
	if c.MaxConns < 0 || c.MaxSendBytes < 0 {
		errs = append(errs, fmt.Errorf("--max-conns %d, --max-send-bytes %d: the limits must be positive (0: the default)", c.MaxConns, c.MaxSendBytes))
	}
	if c.RetainRuns < 0 || c.RetainBytes < 0 {
		errs = append(errs, fmt.Errorf("--retain-runs %d, --retain-bytes %d: the history's limits must be positive (0: the default)", c.RetainRuns, c.RetainBytes))
	}
	if err := c.TLS.check(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Metrics.check(c.TLS); err != nil {
		errs = append(errs, err)
	}
	if c.Container == "" && c.Ollama != "" && c.Ollama != DefaultOllama && slices.Contains(toolSources(), c.VRAMSource) {
		errs = append(errs, fmt.Errorf("--vram-source %s runs the tool in ollama's container: name it with --container (with an http:// --ollama there is none by default)", c.VRAMSource))
	}
	return errors.Join(errs...)
}
