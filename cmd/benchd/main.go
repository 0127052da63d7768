// Command benchd is the benchmark daemon: the only process on the host that
// talks to Docker, serving a narrow gRPC API on a unix socket and, with
// --listen, on TCP with mutual TLS.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/benchd/benchd/internal/dockerx"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/peercred"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/store"
	"github.com/benchd/benchd/internal/tlsconfig"
	"github.com/benchd/benchd/internal/unixsock"
	"github.com/benchd/benchd/internal/vram"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/service"
)

type config struct {
	socket          string
	container       string
	ollama          string
	ollamaPort      int
	vramSource      string
	sysfsRoot       string
	vramPrivileged  bool
	shutdownTimeout time.Duration
	healthInterval  time.Duration
	logLevel        string
	store           string
	allowUIDs       uidList
	tls             tlsFlags
}

// uidList is a repeatable --allow-uid flag.
type uidList []uint32

func (l *uidList) String() string { return fmt.Sprint([]uint32(*l)) }
func (l *uidList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 32)
		if err != nil {
			return fmt.Errorf("uid %q: %w", f, err)
		}
		*l = append(*l, uint32(n))
	}
	return nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "dial-stdio" {
		if err := dialStdio(context.Background(), os.Args[2:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "benchd dial-stdio:", err)
			os.Exit(1)
		}
		return
	}
	var c config
	fs := flag.NewFlagSet("benchd", flag.ExitOnError)
	fs.StringVar(&c.socket, "socket", "/run/benchd/benchd.sock", "absolute path of the unix socket to serve on")
	fs.StringVar(&c.container, "container", "ollama", "name of the Docker container running ollama")
	fs.StringVar(&c.ollama, "ollama", "docker-exec", "how to reach ollama: docker-exec (stdio bridge through the Docker API, no network needed) or an http:// URL")
	fs.IntVar(&c.ollamaPort, "ollama-port", 11434, "ollama's port inside the container (docker-exec mode)")
	fs.StringVar(&c.vramSource, "vram-source", "auto", "VRAM source: auto|sysfs|rocm-smi|amd-smi|nvidia-smi|none")
	fs.StringVar(&c.sysfsRoot, "sysfs-root", "/sys", "root of sysfs for the sysfs VRAM source")
	fs.BoolVar(&c.vramPrivileged, "vram-privileged", false, "run VRAM tools with a privileged exec (needed by some rocm-smi setups)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long SIGTERM waits for RPCs to finish before closing them")
	fs.DurationVar(&c.healthInterval, "health-interval", 5*time.Second, "how often the Docker container is checked for the health service")
	fs.Var(&c.allowUIDs, "allow-uid", "also allow callers with this uid (repeatable or comma-separated); benchd's own uid is always allowed")
	fs.StringVar(&c.store, "store", "/var/lib/benchd/history.db", "the benchmark history database (bbolt); its directory is created 0700")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug|info|warn|error")
	c.tls.register(fs)
	_ = fs.Parse(os.Args[1:])
	if err := c.tls.check(); err != nil {
		fmt.Fprintf(os.Stderr, "benchd: %v\n", err)
		os.Exit(2)
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "benchd: --log-level: %v\n", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, c, log); err != nil {
		log.Error("benchd stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, log *slog.Logger) error {
	// TLS files first: a bad certificate fails the start before anything
	// listens.
	tlsCfg, err := c.tls.load(log)
	if err != nil {
		return err
	}
	dc, err := dockerx.New(c.container)
	if err != nil {
		return err
	}
	defer dc.Close()

	var (
		oc        *ollama.Client
		container runner.Container
	)
	switch {
	case c.ollama == "docker-exec":
		base := &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", c.ollamaPort)}
		oc = ollama.New(base, func(ctx context.Context) (net.Conn, error) {
			return dc.DialBridge(ctx, c.ollamaPort)
		})
		container = dc
	case strings.HasPrefix(c.ollama, "http://"):
		u, err := url.Parse(c.ollama)
		if err != nil || u.Host == "" {
			return fmt.Errorf("--ollama %q: not a valid http:// URL", c.ollama)
		}
		oc = ollama.NewHTTP(u)
	default:
		return fmt.Errorf("--ollama %q: want docker-exec or an http:// URL", c.ollama)
	}
	defer oc.Close()

	reader, err := vramReader(c, dc)
	if err != nil {
		return err
	}

	st, err := store.Open(c.store)
	if err != nil {
		return err
	}
	defer st.Close()
	runner := runner.NewRunner(runner.Config{Ollama: oc, Container: container, VRAM: reader, Log: log, Machine: machineInfo()})
	svc := service.New(runner, st, reader, log)
	hs := health.NewServer()
	allowed := append([]uint32{uint32(os.Getuid())}, c.allowUIDs...)
	unixCreds := peercred.Credentials()
	if c.tls.unix {
		unixCreds = tlsconfig.UnixCredentials(tlsCfg, log)
	}
	gs, err := service.NewGRPCServer(svc, hs, log, service.ServerOptions{
		Policy: peercred.NewPolicy(allowed...),
		Extra:  []grpc.ServerOption{grpc.Creds(unixCreds)},
	})
	if err != nil {
		return err
	}
	servers := []*listener{{name: c.socket, gs: gs}}
	if c.tls.listen != "" {
		// The same service behind a second server: peer credentials mean
		// nothing on TCP (the policy passes such calls), the client
		// certificate is the identity. A short handshake deadline keeps
		// unauthenticated peers from holding connections open.
		ts, err := service.NewGRPCServer(svc, hs, log, service.ServerOptions{
			Extra: []grpc.ServerOption{
				grpc.Creds(tlsconfig.Credentials(tlsCfg, log)),
				grpc.ConnectionTimeout(tlsHandshakeTimeout),
			},
		})
		if err != nil {
			return err
		}
		servers = append(servers, &listener{name: c.tls.listen, gs: ts})
	}

	l, err := unixsock.Listen(ctx, c.socket, 0o750, 0o660)
	if err != nil {
		return err
	}
	servers[0].l = l
	if len(servers) > 1 {
		var lc net.ListenConfig
		tl, err := lc.Listen(ctx, "tcp", c.tls.addr())
		if err != nil {
			l.Close()
			return fmt.Errorf("--listen %s: %w", c.tls.listen, err)
		}
		servers[1].l = tl
	}
	hctx, hcancel := context.WithCancel(ctx)
	defer hcancel()
	if container != nil {
		go watchHealth(hctx, hs, dc, c.healthInterval, log)
	} else {
		setHealth(hs, healthpb.HealthCheckResponse_SERVING)
	}

	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			if err := s.gs.Serve(s.l); err != nil {
				errc <- fmt.Errorf("serve %s: %w", s.name, err)
			}
		}()
	}
	attrs := []any{"socket", c.socket, "container", c.container, "ollama", c.ollama, "vram_source", c.vramSource}
	if c.tls.unix {
		attrs = append(attrs, "unix_tls", true)
	}
	if len(servers) > 1 {
		// The bound address, so that --listen tcp://HOST:0 can be found.
		attrs = append(attrs, "tcp", servers[1].l.Addr().String())
	}
	log.Info("benchd serving", attrs...)

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", c.shutdownTimeout)
	hs.Shutdown()
	// A running benchmark is cancelled, not cut: its trials so far and its
	// cancelled state are recorded before the RPCs following it end.
	runner.Shutdown(errShuttingDown)
	stopAll(servers, c.shutdownTimeout, log)
	return serveErr
}

var errShuttingDown = fmt.Errorf("benchd is shutting down (SIGTERM): %w", context.Canceled)

// machineInfo describes this host for each benchmark's record.
func machineInfo() runner.Machine {
	m := runner.Machine{BenchdVersion: "(devel)"}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			m.BenchdVersion = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				m.BenchdVersion += "+" + s.Value
			}
		}
	}
	return m
}

// listener is one gRPC server and what it serves on.
type listener struct {
	name string
	gs   *grpc.Server
	l    net.Listener
}

// stopAll stops every server gracefully and at the same time, and closes
// the RPCs still running after grace.
func stopAll(servers []*listener, grace time.Duration, log *slog.Logger) {
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for _, s := range servers {
			wg.Go(s.gs.GracefulStop)
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		log.Warn("graceful stop timed out; closing remaining RPCs")
		for _, s := range servers {
			s.gs.Stop()
		}
		<-done
	}
}

func vramReader(c config, ex vram.Execer) (vram.Reader, error) {
	sysfs := &vram.Sysfs{Root: c.sysfsRoot}
	switch c.vramSource {
	case "none":
		return nil, nil
	case "sysfs":
		return sysfs, nil
	case vram.SourceRocmSMI, vram.SourceAMDSMI, vram.SourceNvidiaSMI:
		return vram.NewToolReader(c.vramSource, ex, c.vramPrivileged)
	case "auto":
		var tools []vram.Reader
		for _, src := range []string{vram.SourceRocmSMI, vram.SourceAMDSMI, vram.SourceNvidiaSMI} {
			r, err := vram.NewToolReader(src, ex, c.vramPrivileged)
			if err != nil {
				return nil, err
			}
			tools = append(tools, r)
		}
		return vram.Auto(sysfs, tools), nil
	}
	return nil, fmt.Errorf("--vram-source %q: want auto, sysfs, rocm-smi, amd-smi, nvidia-smi or none", c.vramSource)
}

// watchHealth reports NOT_SERVING while the ollama container cannot be used,
// so monitoring and `benchctl health` tell a Docker problem from a benchd one.
func watchHealth(ctx context.Context, hs *health.Server, dc *dockerx.Client, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := healthpb.HealthCheckResponse_UNKNOWN
	for {
		cctx, cancel := context.WithTimeout(ctx, every)
		err := dc.CheckContainer(cctx)
		cancel()
		st := healthpb.HealthCheckResponse_SERVING
		if err != nil {
			st = healthpb.HealthCheckResponse_NOT_SERVING
			if ctx.Err() != nil {
				return
			}
		}
		if st != last {
			log.Info("health changed", "status", st.String(), "err", errString(err))
			setHealth(hs, st)
			last = st
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func setHealth(hs *health.Server, st healthpb.HealthCheckResponse_ServingStatus) {
	hs.SetServingStatus("", st)
	hs.SetServingStatus(benchdv1.BenchmarkService_ServiceDesc.ServiceName, st)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
