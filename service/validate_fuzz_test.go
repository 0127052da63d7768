package service_test

// Fuzzing of request validation: RunBenchmarkRequest fields go through
// protovalidate directly and through the real gRPC server (interceptor
// chain, handler, runner). Validation must never panic, a request it
// refuses must reach nothing behind it, and a request it accepts must
// resolve to settings inside the documented bounds with a model name that
// an independent, hand-written check of ollama's grammar also accepts.
//
// TEST DOUBLE: recordingOllama stands in for ollama. It records every model
// name the runner asks about and answers "not found", so an accepted
// request ends quickly with NOT_FOUND without any container.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/ollama"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/service"
)

// recordingOllama is a test double for ollama (see the file comment).
type recordingOllama struct {
	mu   sync.Mutex
	seen []string
}

func (o *recordingOllama) note(model string) {
	o.mu.Lock()
	o.seen = append(o.seen, model)
	o.mu.Unlock()
}

// take returns and forgets the names seen so far.
func (o *recordingOllama) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.seen
	o.seen = nil
	return s
}

func (o *recordingOllama) Version(context.Context) (string, error) { return "0.9.6", nil }
func (o *recordingOllama) Model(_ context.Context, name string) (ollama.ModelInfo, error) {
	o.note(name)
	return ollama.ModelInfo{}, ollama.ErrModelNotFound
}
func (o *recordingOllama) Generate(_ context.Context, g ollama.GenerateOptions, _ func(int)) (ollama.Trial, error) {
	o.note(g.Model)
	return ollama.Trial{}, ollama.ErrModelNotFound
}
func (o *recordingOllama) Loaded(_ context.Context, m string) (bool, error) {
	o.note(m)
	return false, nil
}
func (o *recordingOllama) Unload(_ context.Context, m string) error { o.note(m); return nil }

// validationRig is the daemon's gRPC stack on an in-memory listener.
type validationRig struct {
	raw    benchdv1.BenchmarkServiceClient
	ollama *recordingOllama
}

func newValidationRig(tb testing.TB) *validationRig {
	tb.Helper()
	o := &recordingOllama{}
	sock := startDaemon(tb, daemon.Config{
		Store:      filepath.Join(shmDir(tb), "history.db"), // the fuzzer stays fast
		VRAMSource: "none",
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, daemon.WithOllama(o))
	conn, err := grpc.NewClient("unix:"+sock,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &validationRig{raw: benchdv1.NewBenchmarkServiceClient(conn), ollama: o}
}

// run sends req and returns the status the stream ended with.
func (r *validationRig) run(req *benchdv1.RunBenchmarkRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := r.raw.RunBenchmark(ctx, req)
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// Field presence bits of the fuzz input's set argument.
const (
	setReps = 1 << iota
	setWarmup
	setMaxTokens
	setNumCtx
	setTemperature
	setSeed
	setTimeout
	setVRAM
	setPromptTokens
	setCold
)

func FuzzRunBenchmarkRequest(f *testing.F) {
	type seed struct {
		model, prompt             string
		nPrompts, repeat          uint8
		set                       uint16
		reps, warmup, maxTok, ctx uint32
		promptTok                 uint32
		temp                      float64
		seedv                     int64
		toSec                     int64
		toNanos                   int32
		viSec                     int64
		viNanos                   int32
	}
	all := uint16(1<<10 - 1)
	for _, s := range []seed{
		{model: "tiny"},
		{model: "llama3.2:1b", prompt: "hi", nPrompts: 2, repeat: 1, set: all, reps: 3, warmup: 1, maxTok: 128, ctx: 4096, promptTok: 16, temp: 0.7, seedv: 42, toSec: 600, viNanos: 250e6},
		{model: "registry.ollama.ai/library/llama3:8b-instruct-q4_0"},
		{model: "--help"}, {model: "a;rm -rf /"}, {model: "$(id)"}, {model: "tiny:"}, {model: "a/b/c/d"},
		{model: "tiny\n"}, {model: "ti ny"}, {model: strings.Repeat("a", 201)}, {model: "a:" + strings.Repeat("b", 81)},
		{model: "tiny", set: setReps, reps: 0}, {model: "tiny", set: setReps, reps: 101},
		{model: "tiny", set: setTemperature, temp: math.NaN()}, {model: "tiny", set: setTemperature, temp: math.Inf(1)},
		{model: "tiny", set: setTimeout, toSec: 3600, toNanos: 1}, {model: "tiny", set: setTimeout, toSec: -1, toNanos: -5},
		{model: "tiny", set: setVRAM, viNanos: 9999999}, {model: "tiny", set: setVRAM, viSec: 0, viNanos: 0},
		{model: "tiny", set: setVRAM, viSec: 1 << 40}, {model: "tiny", prompt: "", nPrompts: 1},
		{model: "tiny", prompt: strings.Repeat("x", 4096), nPrompts: 17, repeat: 17},
	} {
		f.Add(s.model, s.prompt, s.nPrompts, s.repeat, s.set, s.reps, s.warmup, s.maxTok, s.ctx, s.promptTok,
			s.temp, s.seedv, s.toSec, s.toNanos, s.viSec, s.viNanos)
	}
	validator, err := protovalidate.New()
	if err != nil {
		f.Fatal(err)
	}
	rig := newValidationRig(f)
	f.Fuzz(func(t *testing.T, model, prompt string, nPrompts, repeat uint8, set uint16,
		reps, warmup, maxTok, numCtx, promptTok uint32, temp float64, seedv, toSec int64, toNanos int32, viSec int64, viNanos int32) {
		req := &benchdv1.RunBenchmarkRequest{Model: model}
		p := strings.Repeat(prompt, max(1, int(repeat)))
		if len(p) > 80000 {
			p = p[:80000]
		}
		for range int(nPrompts % 20) {
			req.Prompts = append(req.Prompts, p)
		}
		if set&setReps != 0 {
			req.Repetitions = &reps
		}
		if set&setWarmup != 0 {
			req.Warmup = &warmup
		}
		if set&setMaxTokens != 0 {
			req.MaxTokens = &maxTok
		}
		if set&setNumCtx != 0 {
			req.NumCtx = &numCtx
		}
		if set&setTemperature != 0 {
			req.Temperature = &temp
		}
		if set&setSeed != 0 {
			req.Seed = &seedv
		}
		if set&setTimeout != 0 {
			req.Timeout = &durationpb.Duration{Seconds: toSec, Nanos: toNanos}
		}
		if set&setVRAM != 0 {
			req.VramSampleInterval = &durationpb.Duration{Seconds: viSec, Nanos: viNanos}
		}
		if set&setPromptTokens != 0 {
			req.PromptTokens = &promptTok
		}
		req.Cold = set&setCold != 0

		verr := validator.Validate(req)
		if verr == nil {
			checkAccepted(t, req)
		}
		if !utf8.ValidString(model) || !utf8.ValidString(p) {
			return // not a protobuf message that can be sent
		}
		// Each run is fast (the double says "not found"); the validator
		// and the server must agree on every request.
		gerr := rig.run(req)
		seen := rig.ollama.take()
		if verr != nil {
			if status.Code(gerr) != codes.InvalidArgument {
				t.Fatalf("validator refused (%v) but the server answered %v", verr, gerr)
			}
			if len(seen) != 0 {
				t.Fatalf("a refused request reached the runner with models %q", seen)
			}
			return
		}
		if status.Code(gerr) != codes.NotFound {
			t.Fatalf("valid request: %v, want NotFound from the double", gerr)
		}
		for _, m := range seen {
			if m != model {
				t.Fatalf("runner saw model %q for request model %q", m, model)
			}
		}
	})
}

// checkAccepted asserts what acceptance promises.
func checkAccepted(t *testing.T, req *benchdv1.RunBenchmarkRequest) {
	t.Helper()
	m := req.GetModel()
	if !modelGrammarOK(m) {
		t.Fatalf("validator accepted model %q, which is not an ollama name", m)
	}
	if strings.HasPrefix(m, "-") || strings.ContainsAny(m, " \t\r\n;&|$`<>()'\"\\*?!{}[]~#%=,@^") {
		t.Fatalf("validator accepted model %q with a character a tool or shell could read as syntax", m)
	}
	s := service.Resolve(req)
	switch {
	case s.Repetitions < 1 || s.Repetitions > 100:
		t.Fatalf("repetitions %d", s.Repetitions)
	case s.Warmup < 0 || s.Warmup > 10:
		t.Fatalf("warmup %d", s.Warmup)
	case s.MaxTokens < 1 || s.MaxTokens > 16384:
		t.Fatalf("max_tokens %d", s.MaxTokens)
	case s.NumCtx != 0 && (s.NumCtx < 64 || s.NumCtx > 1<<20):
		t.Fatalf("num_ctx %d", s.NumCtx)
	case !(s.Temperature >= 0 && s.Temperature <= 2): // also refuses NaN
		t.Fatalf("temperature %v", s.Temperature)
	case s.Timeout < time.Second || s.Timeout > time.Hour:
		t.Fatalf("timeout %v", s.Timeout)
	case s.VRAMInterval != 0 && (s.VRAMInterval < 10*time.Millisecond || s.VRAMInterval > time.Minute):
		t.Fatalf("vram_sample_interval %v", s.VRAMInterval)
	case s.PromptTokens != 0 && (s.PromptTokens < 16 || s.PromptTokens > 131072):
		t.Fatalf("prompt_tokens %d", s.PromptTokens)
	case len(s.Prompts) < 1 || len(s.Prompts) > 16:
		t.Fatalf("%d prompts", len(s.Prompts))
	}
	for _, p := range s.Prompts {
		if n := utf8.RuneCountInString(p); n < 1 || n > 65536 {
			t.Fatalf("prompt of %d characters", n)
		}
	}
}

// modelGrammarOK is ollama's name grammar written out by hand, as an
// oracle independent of the proto's regular expression:
// seg(/seg){0,2}(:tag)? where seg = [A-Za-z0-9_][A-Za-z0-9_.-]* and
// tag = [A-Za-z0-9_][A-Za-z0-9_.-]{0,79}, at most 200 characters in all.
func modelGrammarOK(m string) bool {
	if m == "" || len(m) > 200 {
		return false
	}
	word := func(c byte) bool {
		return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
	}
	part := func(s string) bool {
		if s == "" || !word(s[0]) {
			return false
		}
		for i := 1; i < len(s); i++ {
			if !word(s[i]) && s[i] != '.' && s[i] != '-' {
				return false
			}
		}
		return true
	}
	name, tag, hasTag := strings.Cut(m, ":")
	if hasTag && (!part(tag) || len(tag) > 80) {
		return false
	}
	segs := strings.Split(name, "/")
	if len(segs) > 3 {
		return false
	}
	for _, s := range segs {
		if !part(s) {
			return false
		}
	}
	return true
}
