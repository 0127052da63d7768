// Command benchd is the benchmark daemon: the only process on the host that
// talks to Docker, serving a narrow gRPC API on a unix socket and, with
// --listen, on TCP with mutual TLS. It turns its flags into a
// daemon.Config; internal/daemon builds and runs the rest.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/benchd/benchd/internal/buildinfo"
	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/logbuf"
	"github.com/benchd/benchd/internal/runner"
)

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

// userList is a repeatable --allow-user flag: account names, resolved to
// uids once benchd starts (resolveUsers), so that the unit can name the
// agent's login instead of hard-coding a uid that differs per host.
type userList []string

func (l *userList) String() string { return strings.Join(*l, ",") }
func (l *userList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			return fmt.Errorf("empty user name in %q", v)
		}
		*l = append(*l, f)
	}
	return nil
}

// resolveUsers looks the names up in the password database.
func resolveUsers(names []string) ([]uint32, error) {
	var uids []uint32
	for _, n := range names {
		u, err := user.Lookup(n)
		if err != nil {
			return nil, fmt.Errorf("--allow-user %s: %w", n, err)
		}
		uid, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--allow-user %s: uid %q: %w", n, u.Uid, err)
		}
		uids = append(uids, uint32(uid))
	}
	return uids, nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "dial-stdio" {
		if err := dialStdio(context.Background(), os.Args[2:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "benchd dial-stdio:", err)
			os.Exit(1)
		}
		return
	}
	c, users, logLevel, showVersion := parseFlags(os.Args[1:])
	if showVersion {
		fmt.Println("benchd", buildinfo.Version())
		return
	}
	uids, err := resolveUsers(users)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchd: %v\n", err)
		os.Exit(2)
	}
	c.AllowUIDs = append(c.AllowUIDs, uids...)
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "benchd: --log-level: %v\n", err)
		os.Exit(2)
	}
	if err := c.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "benchd: %v\n", err)
		os.Exit(2)
	}
	// Lines below WARN (above all the audit line of every RPC) are
	// batched, at most logbuf.Delay; see internal/logbuf for what a crash
	// can lose. The error below and any WARN flush at once.
	lw := logbuf.New(os.Stderr)
	defer lw.Flush()
	c.Log = slog.New(logbuf.Handler(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: lvl}), lw))

	if os.Getenv("GOMAXPROCS") == "" {
		// benchd waits on sockets and pipes and does little work per
		// call. With more than one P, Go's scheduler spins Ps looking for
		// work at every wake-up: one P cut benchd's CPU per SampleVRAM
		// call under 32 clients from 35 to 29 µs and raised its
		// throughput (docs/performance.md), and keeps benchd to one core
		// on a host whose measurements it must not disturb. GOMAXPROCS
		// in the environment still decides.
		runtime.GOMAXPROCS(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	d, err := daemon.New(ctx, c)
	if err == nil {
		err = d.Run(ctx)
	}
	if err != nil {
		c.Log.Error("benchd stopped", "err", err)
		os.Exit(1)
	}
}

// parseFlags is the command line as a daemon.Config, the --allow-user
// names, the log level and whether --version was asked for.
func parseFlags(args []string) (daemon.Config, []string, string, bool) {
	var (
		c         daemon.Config
		allow     uidList
		users     userList
		logLevel  string
		fs        = flag.NewFlagSet("benchd", flag.ExitOnError)
		tlsConfig = &c.TLS
		paths     = daemon.DefaultPaths(os.Getenv, os.Geteuid())
	)
	fs.StringVar(&c.Socket, "socket", paths.Socket, "absolute path of the unix socket to serve on; the default depends on who runs benchd: under systemd the unit's RuntimeDirectory, as root /run/benchd, else $XDG_RUNTIME_DIR/benchd (shown: this environment's)")
	fs.StringVar(&c.Container, "container", "", "the Docker container running ollama, which --ollama docker-exec and the VRAM tools exec into (default \""+daemon.DefaultContainer+"\" with docker-exec; none with an http:// --ollama: VRAM from sysfs only)")
	fs.StringVar(&c.Ollama, "ollama", daemon.DefaultOllama, "how to reach ollama: docker-exec (stdio bridge through the Docker API, no network needed) or an http:// URL")
	fs.IntVar(&c.OllamaPort, "ollama-port", daemon.DefaultOllamaPort, "ollama's port inside the container (docker-exec mode)")
	fs.StringVar(&c.VRAMSource, "vram-source", daemon.DefaultVRAMSource, "VRAM source: auto|sysfs|rocm-smi|amd-smi|nvidia-smi|none")
	fs.StringVar(&c.SysfsRoot, "sysfs-root", daemon.DefaultSysfsRoot, "root of sysfs for the sysfs VRAM source")
	fs.BoolVar(&c.VRAMPrivileged, "vram-privileged", false, "run VRAM tools with a privileged exec (needed by some rocm-smi setups)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", daemon.DefaultShutdownTimeout, "how long SIGTERM waits for RPCs to finish before closing them")
	fs.DurationVar(&c.HealthInterval, "health-interval", daemon.DefaultHealthInterval, "how often the Docker container is checked for the health service")
	fs.Var(&allow, "allow-uid", "also allow callers with this uid (repeatable or comma-separated); benchd's own uid is always allowed")
	fs.Var(&users, "allow-user", "also allow callers running as this account (repeatable or comma-separated; resolved to its uid at start, an unknown name is an error)")
	fs.StringVar(&c.Store, "store", paths.Store, "the benchmark history database (bbolt; its directory is created 0700); the default depends on who runs benchd: under systemd the unit's StateDirectory, as root /var/lib/benchd, else $XDG_STATE_HOME/benchd (shown: this environment's)")
	fs.IntVar(&c.RetainRuns, "retain-runs", daemon.DefaultRetainRuns, "most benchmarks kept in the history; past it the oldest ended ones are deleted")
	fs.Int64Var(&c.RetainBytes, "retain-bytes", daemon.DefaultRetainBytes, "most bytes of benchmark records kept in the history (the file stays within about twice it); past it the oldest ended ones are deleted")
	fs.DurationVar(&c.StallTimeout, "stall-timeout", daemon.DefaultStallTimeout, "end a generation with UNAVAILABLE when ollama sends no token for this long after its first (0: the default; it cannot be switched off)")
	fs.IntVar(&c.MaxConns, "max-conns", daemon.DefaultMaxConns, "most client connections held at once (unix socket and TCP together); more are closed at once")
	maxStreams := fs.Uint("max-streams", uint(daemon.DefaultMaxStreams), "most concurrent RPCs on one connection; more wait for one to end")
	fs.IntVar(&c.MaxSendBytes, "max-send-bytes", daemon.DefaultMaxSendBytes, "largest response message; a larger one (e.g. a huge stored record) fails with RESOURCE_EXHAUSTED")
	fs.StringVar(&logLevel, "log-level", "info", "debug|info|warn|error")
	version := fs.Bool("version", false, "print benchd's version and exit")
	fs.StringVar(&tlsConfig.Listen, "listen", "", "also serve on tcp://HOST:PORT, with mutual TLS only (needs --tls-cert, --tls-key, --tls-client-ca)")
	fs.StringVar(&tlsConfig.Cert, "tls-cert", "", "PEM server certificate for --listen and --unix-tls (benchctl certs init makes server.crt)")
	fs.StringVar(&tlsConfig.Key, "tls-key", "", "PEM private key of --tls-cert (server.key)")
	fs.StringVar(&tlsConfig.ClientCA, "tls-client-ca", "", "PEM CA certificate(s) a client certificate must chain to (ca.crt; old+new CA bundle while rotating)")
	fs.BoolVar(&tlsConfig.Unix, "unix-tls", false, "require mutual TLS on the unix socket too (the peer uid policy still applies)")
	fs.StringVar(&c.Metrics.Listen, "metrics", "", "serve Prometheus metrics (OpenMetrics) at /metrics on tcp://HOST:PORT: GPU telemetry and VRAM, benchmarks by state, last results, gRPC server metrics")
	fs.BoolVar(&tlsConfig.Metrics, "metrics-tls", false, "require the mutual TLS of --listen on --metrics too (https; a scraper needs a client certificate; uses --tls-cert, --tls-key, --tls-client-ca)")
	fs.DurationVar(&c.IdleBaseline, "idle-baseline", runner.DefaultIdleBaseline, "how long idle GPU power is sampled before a run's first trial, the baseline of net energy (only when a GPU reports power; negative: off)")
	_ = fs.Parse(args)
	c.AllowUIDs = allow
	c.MaxStreams = uint32(min(*maxStreams, 1<<31))
	return c, users, logLevel, *version
}
