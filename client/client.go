// Package client is the Go library for benchd. [Dial] reaches benchd by
// its unix socket, over SSH (running `benchd dial-stdio` on the host, no
// forward needed) or over TCP with mutual TLS, and the client exposes the
// API with plain Go types. The generated stub stays reachable through
// [Client.Raw] for anything this package does not wrap.
//
// Example:
//
//	c, err := client.Dial(ctx, "ssh://ai-worker@gpu-host")
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	res, err := c.RunBenchmark(ctx, client.BenchmarkRequest{Model: "llama3.2:1b", Repetitions: 5},
//		func(ev client.Event) {
//			if ev.Trial != nil {
//				fmt.Printf("trial %d: %.1f tok/s\n", ev.Trial.Index, ev.Trial.EvalRate)
//			}
//		})
//	if err != nil {
//		return err // a gRPC status: status.Code(err) tells what went wrong
//	}
//	fmt.Printf("mean %.1f tok/s over %d trials\n", res.Summary.EvalRate.Mean, res.Summary.Trials)
package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
)

// Client is a connection to benchd. It is safe for concurrent use.
type Client struct {
	conn   *grpc.ClientConn
	raw    benchdv1.BenchmarkServiceClient
	health healthpb.HealthClient
}

type options struct {
	dialOpts         []grpc.DialOption
	keepaliveTime    time.Duration
	keepaliveTimeout time.Duration
	// tls, when set, makes the connection mutual TLS (see WithTLS).
	tls *tls.Config
}

// Option configures a client. Applying one can fail (WithTLS reads its
// files then), and that error is Dial's.
type Option func(*options) error

// WithKeepalive overrides the keepalive ping interval and timeout
// ([defaults.KeepaliveTime], [defaults.KeepaliveTimeout]). benchd closes
// connections that ping more often than [defaults.KeepaliveMinTime].
func WithKeepalive(interval, timeout time.Duration) Option {
	return func(o *options) error { o.keepaliveTime, o.keepaliveTimeout = interval, timeout; return nil }
}

// WithDialOptions appends raw gRPC dial options (interceptors, a custom
// dialer, …); they are applied after the defaults.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) error { o.dialOpts = append(o.dialOpts, opts...); return nil }
}

// Dial returns a client for benchd at target, one of
//
//   - unix:///ABS/PATH, or just /ABS/PATH: benchd's socket, or the local end
//     of an SSH forward of it ([defaults.Socket] on the host);
//   - ssh://[USER@]HOST[:PORT]: runs `ssh -T [-p PORT] -- USER@HOST benchd
//     dial-stdio` for each connection, with the local ssh, so ~/.ssh/config
//     and the agent apply;
//   - tcp://HOST:PORT: benchd's TCP listener, which needs [WithTLS] or
//     [WithTLSConfig] (benchd serves TCP only with mutual TLS).
//
// Dial does not connect: the first call does, and a connection that fails
// is that call's error (a gRPC status, codes.Unavailable). What Dial
// checks is the target and the options, so a malformed target or a
// certificate that does not load fails here. ctx is not kept.
func Dial(ctx context.Context, target string, opts ...Option) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ep, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	return newClient(ep, opts)
}

// New returns a client for the unix socket at socketPath; it is
// Dial("unix://"+socketPath) except that a relative path is accepted.
func New(socketPath string, opts ...Option) (*Client, error) {
	return newClient(endpoint{path: socketPath}, opts)
}

// newClient is every constructor's one code path.
func newClient(ep endpoint, opts []Option) (*Client, error) {
	o := options{keepaliveTime: defaults.KeepaliveTime, keepaliveTimeout: defaults.KeepaliveTimeout}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	var target string
	var dial []grpc.DialOption
	switch {
	case ep.addr != "":
		if o.tls == nil {
			return nil, fmt.Errorf("benchd client: tcp://%s needs WithTLS or WithTLSConfig (benchd serves TCP only with mutual TLS)", ep.addr)
		}
		target = "dns:///" + ep.addr
	case len(ep.argv) > 0:
		target = "passthrough:///benchd"
		dial = append(dial, grpc.WithContextDialer(commandDialer(ep.argv)))
	default:
		target = "unix:" + ep.path
	}
	dial = append(dial,
		grpc.WithTransportCredentials(o.transportCredentials(ep.addr != "")),
		// Fixed windows, as the server's: see defaults.FlowControlWindow.
		// (The Initial* options fix them in every grpc-go this module
		// admits; the Static* names came later.)
		grpc.WithInitialWindowSize(defaults.FlowControlWindow),
		grpc.WithInitialConnWindowSize(defaults.FlowControlWindow),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                o.keepaliveTime,
			Timeout:             o.keepaliveTimeout,
			PermitWithoutStream: true,
		}))
	conn, err := grpc.NewClient(target, append(dial, o.dialOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("create benchd client for %s: %w", target, err)
	}
	return &Client{conn: conn, raw: benchdv1.NewBenchmarkServiceClient(conn), health: healthpb.NewHealthClient(conn)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Raw is the generated stub, for calls this package does not wrap.
func (c *Client) Raw() benchdv1.BenchmarkServiceClient { return c.raw }

// Conn is the underlying gRPC connection.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Health returns the serving status of benchd's service ("SERVING",
// "NOT_SERVING" while the ollama container is unusable, …).
func (c *Client) Health(ctx context.Context) (string, error) {
	h, err := c.HealthInfo(ctx)
	return h.Status, err
}

// Health is what benchd's health check says.
type Health struct {
	// Status is SERVING, NOT_SERVING (ollama or Docker is unreachable) or
	// UNKNOWN.
	Status string
	// Version is the benchd that answered (its benchd-version header);
	// empty from a benchd that does not send it.
	Version string
}

// HealthInfo is Health with the version of the benchd that answered.
func (c *Client) HealthInfo(ctx context.Context) (Health, error) {
	var md metadata.MD
	res, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: benchdv1.BenchmarkService_ServiceDesc.ServiceName}, grpc.Header(&md))
	if err != nil {
		return Health{}, err
	}
	h := Health{Status: res.GetStatus().String()}
	if v := md.Get(defaults.VersionHeader); len(v) > 0 {
		h.Version = v[0]
	}
	return h, nil
}

// SampleVRAM reads every GPU's memory once.
func (c *Client) SampleVRAM(ctx context.Context) ([]GPU, error) {
	res, err := c.raw.SampleVRAM(ctx, &benchdv1.SampleVRAMRequest{})
	if err != nil {
		return nil, err
	}
	return gpusFromProto(res.GetGpus()), nil
}

// ListModels returns the models ollama has (`ollama list`, with each
// one's details and context length) and those it holds in memory now
// (`ollama ps`, with their size in GPU memory and expiry). It changes
// nothing.
func (c *Client) ListModels(ctx context.Context) (*Models, error) {
	res, err := c.raw.ListModels(ctx, &benchdv1.ListModelsRequest{})
	if err != nil {
		return nil, err
	}
	return modelsFromProto(res), nil
}

// RunBenchmark runs a benchmark and returns its result. onEvent, if not
// nil, sees every event as it arrives (started, progress, each trial,
// finished). Cancelling ctx ends this call; the benchmark goes on on the
// server unless req.CancelOnDisconnect is set (CancelBenchmark stops it).
// Errors are gRPC statuses from benchd (status.Code tells which).
func (c *Client) RunBenchmark(ctx context.Context, req BenchmarkRequest, onEvent func(Event)) (*Result, error) {
	p, err := req.proto()
	if err != nil {
		return nil, err
	}
	stream, err := c.raw.RunBenchmark(ctx, p)
	if err != nil {
		return nil, err
	}
	return collect(func() (*benchdv1.BenchmarkEvent, error) {
		m, err := stream.Recv()
		return m.GetEvent(), err
	}, onEvent)
}

// BenchmarkRequest is what to benchmark. Zero values mean benchd's
// defaults, which are the constants of package defaults.
type BenchmarkRequest struct {
	Model string
	// Prompts; none means one built-in prompt ([defaults.Prompt]).
	Prompts []string
	// Repetitions is the number of measured trials ([defaults.Repetitions]).
	Repetitions int
	// Warmup trials are left out of the statistics; nil means
	// [defaults.Warmup].
	Warmup *int
	// MaxTokens to generate per trial ([defaults.MaxTokens]).
	MaxTokens int
	// NumCtx is the context window; 0 keeps the model's.
	NumCtx int
	// Temperature ([defaults.Temperature]).
	Temperature float64
	// Seed; nil means [defaults.Seed].
	Seed *int64
	// Timeout bounds the whole benchmark ([defaults.Timeout]; the proto's
	// validation rules bound it).
	Timeout time.Duration
	// VRAMSampleInterval ([defaults.VRAMInterval]); set NoVRAMSampling to
	// turn sampling off.
	VRAMSampleInterval time.Duration
	NoVRAMSampling     bool
	// Cold unloads the model before every trial, so each measures a load.
	Cold bool
	// PromptTokens > 0 asks for a synthetic prompt of about that many tokens.
	PromptTokens int
	// CancelOnDisconnect stops the run when this call ends early. Without
	// it, the run continues on the server and can be re-attached with
	// WatchBenchmark — what you want over an SSH tunnel that may drop.
	CancelOnDisconnect bool
	// Sweep, when set, makes the benchmark a sweep: a cell for every
	// combination of its lists (Result.Cells, Result.BestCell). A list
	// there and the same setting here (e.g. Sweep.NumCtx and NumCtx) are
	// refused.
	Sweep *Sweep
	// Concurrency, when set, makes the benchmark a concurrency run: levels
	// of requests in flight together (Result.Levels). Not with Sweep,
	// Cold or Repetitions.
	Concurrency *Concurrency
}

// proto is the request benchd takes; an unknown sweep objective is an
// INVALID_ARGUMENT status, as benchd would answer.
func (r BenchmarkRequest) proto() (*benchdv1.RunBenchmarkRequest, error) {
	sweep, err := r.Sweep.proto()
	if err != nil {
		return nil, err
	}
	p := &benchdv1.RunBenchmarkRequest{Model: r.Model, Prompts: r.Prompts, Sweep: sweep, Concurrency: r.Concurrency.proto()}
	if r.Repetitions != 0 {
		p.Repetitions = u32(r.Repetitions)
	}
	if r.Warmup != nil {
		p.Warmup = u32(*r.Warmup)
	}
	if r.MaxTokens != 0 {
		p.MaxTokens = u32(r.MaxTokens)
	}
	if r.NumCtx != 0 {
		p.NumCtx = u32(r.NumCtx)
	}
	if r.Temperature != 0 {
		p.Temperature = &r.Temperature
	}
	p.Seed = r.Seed
	if r.Timeout != 0 {
		p.Timeout = durationpb.New(r.Timeout)
	}
	p.Cold, p.CancelOnDisconnect = r.Cold, r.CancelOnDisconnect
	if r.PromptTokens != 0 {
		p.PromptTokens = u32(r.PromptTokens)
	}
	switch {
	case r.NoVRAMSampling:
		p.VramSampleInterval = durationpb.New(0)
	case r.VRAMSampleInterval != 0:
		p.VramSampleInterval = durationpb.New(r.VRAMSampleInterval)
	}
	return p, nil
}

// u32 converts a caller's int; out-of-range values are clamped so that the
// server's validation, not a silent wrap-around, reports them.
func u32(n int) *uint32 {
	v := uint32(min(max(n, 0), math.MaxUint32))
	return &v
}
