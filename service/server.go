// Package service is benchd's gRPC edge: it turns requests into benchmark
// settings, streams domain events back as protobuf messages, and maps domain
// errors to gRPC status codes whose messages tell the caller what to do.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	protovalidatemw "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/service/bench"
	"github.com/benchd/benchd/service/peercred"
	"github.com/benchd/benchd/service/vram"
)

// Request defaults; the bounds live in the proto.
const (
	DefaultRepetitions  = 3
	DefaultWarmup       = 1
	DefaultMaxTokens    = 128
	DefaultSeed         = 42
	DefaultTimeout      = 10 * time.Minute
	DefaultVRAMInterval = 250 * time.Millisecond
)

// Keepalive policy shared with the client package: the client pings every
// KeepaliveTime so a dead SSH forward is noticed, and the server must allow
// pings that often or it would close the connection with ENHANCE_YOUR_CALM.
const (
	KeepaliveTime    = 30 * time.Second
	KeepaliveTimeout = 10 * time.Second
	KeepaliveMinTime = 10 * time.Second
)

// Server implements benchd.v1.BenchmarkService.
type Server struct {
	benchdv1.UnimplementedBenchmarkServiceServer

	runner *bench.Runner
	vram   vram.Reader // nil: --vram-source none
	log    *slog.Logger
}

var _ benchdv1.BenchmarkServiceServer = (*Server)(nil)

// New returns the service. reader may be nil when VRAM sampling is off.
func New(runner *bench.Runner, reader vram.Reader, log *slog.Logger) *Server {
	return &Server{runner: runner, vram: reader, log: log}
}

// ServerOptions tune NewGRPCServer.
type ServerOptions struct {
	// Policy, when set, refuses callers whose peer uid it does not allow.
	Policy *peercred.Policy
	// Extra gRPC options, e.g. transport credentials.
	Extra []grpc.ServerOption
}

// NewGRPCServer builds the gRPC server with the service, health and
// reflection registered and the interceptor chain every RPC passes:
// recovery (a panic becomes INTERNAL, the daemon stays up), the audit log
// (one line per RPC: caller uid/pid, method, model, code, duration), the
// peer uid policy, then protovalidate (bad input never reaches a handler).
func NewGRPCServer(svc *Server, hs *health.Server, log *slog.Logger, so ServerOptions) (*grpc.Server, error) {
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("create request validator: %w", err)
	}
	rec := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in handler", "panic", p)
		return status.Error(codes.Internal, "benchd hit an internal error; the daemon is still running, see its log")
	})
	lg := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		log.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithFieldsFromContext(callerFields),
	}
	unary := []grpc.UnaryServerInterceptor{
		recovery.UnaryServerInterceptor(rec),
		logging.UnaryServerInterceptor(lg, logOpts...),
	}
	stream := []grpc.StreamServerInterceptor{
		recovery.StreamServerInterceptor(rec),
		logging.StreamServerInterceptor(lg, logOpts...),
	}
	if so.Policy != nil {
		unary = append(unary, so.Policy.UnaryServerInterceptor())
		stream = append(stream, so.Policy.StreamServerInterceptor())
	}
	unary = append(unary, protovalidatemw.UnaryServerInterceptor(validator))
	stream = append(stream, protovalidatemw.StreamServerInterceptor(validator))
	opts := append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             KeepaliveMinTime,
			PermitWithoutStream: true,
		}),
	}, so.Extra...)
	gs := grpc.NewServer(opts...)
	benchdv1.RegisterBenchmarkServiceServer(gs, svc)
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return gs, nil
}

// RunBenchmark streams one benchmark.
func (s *Server) RunBenchmark(req *benchdv1.RunBenchmarkRequest, stream grpc.ServerStreamingServer[benchdv1.RunBenchmarkResponse]) error {
	// The model goes into this RPC's audit line.
	logging.AddFields(stream.Context(), logging.Fields{"model", req.GetModel()})
	settings := Resolve(req)
	err := s.runner.Run(stream.Context(), settings, func(ev bench.Event) error {
		return stream.Send(eventToProto(ev))
	})
	if err != nil {
		return toStatus(err)
	}
	return nil
}

// SampleVRAM reads the configured VRAM source once.
func (s *Server) SampleVRAM(ctx context.Context, _ *benchdv1.SampleVRAMRequest) (*benchdv1.SampleVRAMResponse, error) {
	if s.vram == nil {
		return nil, status.Error(codes.FailedPrecondition,
			"VRAM sampling is off (benchd --vram-source none); restart benchd with --vram-source auto, sysfs, rocm-smi, amd-smi or nvidia-smi")
	}
	gpus, err := s.vram.Read(ctx)
	if err != nil {
		return nil, toStatus(fmt.Errorf("read VRAM from %s: %w", s.vram.Source(), err))
	}
	return &benchdv1.SampleVRAMResponse{Gpus: gpusToProto(gpus)}, nil
}

// Resolve fills a validated request's unset fields with the defaults.
func Resolve(req *benchdv1.RunBenchmarkRequest) bench.Settings {
	s := bench.Settings{
		Model:        req.GetModel(),
		Prompts:      req.GetPrompts(),
		Repetitions:  DefaultRepetitions,
		Warmup:       DefaultWarmup,
		MaxTokens:    DefaultMaxTokens,
		Seed:         DefaultSeed,
		Timeout:      DefaultTimeout,
		VRAMInterval: DefaultVRAMInterval,
	}
	if len(s.Prompts) == 0 {
		s.Prompts = []string{bench.DefaultPrompt}
	}
	if req.Repetitions != nil {
		s.Repetitions = int(req.GetRepetitions())
	}
	if req.Warmup != nil {
		s.Warmup = int(req.GetWarmup())
	}
	if req.MaxTokens != nil {
		s.MaxTokens = int(req.GetMaxTokens())
	}
	if req.NumCtx != nil {
		s.NumCtx = int(req.GetNumCtx())
	}
	if req.Temperature != nil {
		s.Temperature = req.GetTemperature()
	}
	if req.Seed != nil {
		s.Seed = req.GetSeed()
	}
	if req.Timeout != nil {
		s.Timeout = req.GetTimeout().AsDuration()
	}
	if req.VramSampleInterval != nil {
		s.VRAMInterval = req.GetVramSampleInterval().AsDuration()
	}
	return s
}

func settingsToProto(s bench.Settings) *benchdv1.RunBenchmarkRequest {
	r := &benchdv1.RunBenchmarkRequest{
		Model:              s.Model,
		Prompts:            s.Prompts,
		Repetitions:        ptr(uint32(s.Repetitions)),
		Warmup:             ptr(uint32(s.Warmup)),
		MaxTokens:          ptr(uint32(s.MaxTokens)),
		Temperature:        ptr(s.Temperature),
		Seed:               ptr(s.Seed),
		Timeout:            durationpb.New(s.Timeout),
		VramSampleInterval: durationpb.New(s.VRAMInterval),
	}
	if s.NumCtx > 0 {
		r.NumCtx = ptr(uint32(s.NumCtx))
	}
	return r
}

func ptr[T any](v T) *T { return &v }

func eventToProto(ev bench.Event) *benchdv1.RunBenchmarkResponse {
	switch {
	case ev.Started != nil:
		st := ev.Started
		return &benchdv1.RunBenchmarkResponse{Event: &benchdv1.RunBenchmarkResponse_Started{Started: &benchdv1.BenchmarkStarted{
			BenchmarkId: st.ID,
			Model:       st.Model,
			ModelInfo: &benchdv1.ModelInfo{
				Digest:            st.Info.Digest,
				Family:            st.Info.Family,
				ParameterSize:     st.Info.ParameterSize,
				QuantizationLevel: st.Info.QuantizationLevel,
				Format:            st.Info.Format,
			},
			OllamaVersion: st.OllamaVersion,
			Gpus:          gpusToProto(st.GPUs),
			Settings:      settingsToProto(st.Settings),
			StartedAt:     timestamppb.New(st.At),
		}}}
	case ev.Progress != nil:
		p := ev.Progress
		return &benchdv1.RunBenchmarkResponse{Event: &benchdv1.RunBenchmarkResponse_Progress{Progress: &benchdv1.TrialProgress{
			Index: uint32(p.Index), Warmup: p.Warmup, Tokens: uint32(p.Tokens), MaxTokens: uint32(p.MaxTokens),
		}}}
	case ev.Trial != nil:
		return &benchdv1.RunBenchmarkResponse{Event: &benchdv1.RunBenchmarkResponse_Trial{Trial: TrialToProto(ev.Trial)}}
	case ev.Finished != nil:
		f := ev.Finished
		sm := f.Summary
		return &benchdv1.RunBenchmarkResponse{Event: &benchdv1.RunBenchmarkResponse_Finished{Finished: &benchdv1.BenchmarkFinished{
			BenchmarkId:          f.ID,
			Trials:               uint32(f.Trials),
			EvalRate:             summaryToProto(sm.EvalRate),
			PromptEvalRate:       summaryToProto(sm.PromptEvalRate),
			TtftNs:               summaryToProto(sm.TTFT),
			WallNs:               summaryToProto(sm.Wall),
			TotalDurationNs:      summaryToProto(sm.TotalDuration),
			LoadDurationNs:       summaryToProto(sm.LoadDuration),
			PromptEvalDurationNs: summaryToProto(sm.PromptEvalDuration),
			EvalDurationNs:       summaryToProto(sm.EvalDuration),
			EvalCount:            summaryToProto(sm.EvalCount),
			PromptEvalCount:      summaryToProto(sm.PromptEvalCount),
			PeakVramUsedBytes:    summaryToProto(sm.PeakVRAMUsed),
			FinishedAt:           timestamppb.New(f.At),
		}}}
	}
	panic("bench: event with no field set")
}

// TrialToProto converts one trial.
func TrialToProto(t *bench.Trial) *benchdv1.Trial {
	out := &benchdv1.Trial{
		Index:                uint32(t.Index),
		Warmup:               t.Warmup,
		PromptIndex:          uint32(t.PromptIndex),
		PromptEvalCount:      int64(t.PromptEvalCount),
		PromptEvalDurationNs: t.PromptEvalDuration.Nanoseconds(),
		EvalCount:            int64(t.EvalCount),
		EvalDurationNs:       t.EvalDuration.Nanoseconds(),
		LoadDurationNs:       t.LoadDuration.Nanoseconds(),
		TotalDurationNs:      t.TotalDuration.Nanoseconds(),
		TtftNs:               t.TTFT.Nanoseconds(),
		WallNs:               t.Wall.Nanoseconds(),
		PromptEvalRate:       t.PromptEvalRate(),
		EvalRate:             t.EvalRate(),
		PeakVramUsedBytes:    t.PeakVRAMTotal(),
		DoneReason:           t.DoneReason,
	}
	for _, i := range bench.SortedPeaks(t.PeakVRAM) {
		out.PeakVram = append(out.PeakVram, &benchdv1.GPUPeak{Index: uint32(i), UsedBytes: t.PeakVRAM[i]})
	}
	return out
}

func summaryToProto(s statsSummary) *benchdv1.Summary {
	return &benchdv1.Summary{
		N: uint32(s.N), Mean: s.Mean, Stddev: s.Stddev, Min: s.Min, Max: s.Max, P50: s.P50, P95: s.P95,
	}
}

func gpusToProto(gpus []vram.GPU) []*benchdv1.GPU {
	out := make([]*benchdv1.GPU, 0, len(gpus))
	for _, g := range gpus {
		out = append(out, &benchdv1.GPU{
			Index:      uint32(g.Index),
			Name:       g.Name,
			Vendor:     g.Vendor,
			TotalBytes: g.TotalBytes,
			UsedBytes:  g.UsedBytes,
			Source:     g.Source,
			SampledAt:  timestamppb.New(g.SampledAt),
		})
	}
	return out
}

// callerFields puts the caller's uid and pid into each RPC's log line.
func callerFields(ctx context.Context) logging.Fields {
	if ai, ok := peercred.FromContext(ctx); ok {
		return logging.Fields{"caller.uid", ai.UID, "caller.pid", ai.PID}
	}
	return nil
}

// isCtxErr separates "the client or the timeout ended the call" from failures.
func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
