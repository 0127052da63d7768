package service_test

// End-to-end tests of the whole daemon stack in one process — gRPC over a
// real unix socket, the real Docker Engine, the real ollama of testdata/rig —
// with one seam: the connection to ollama is wrapped to record the bytes
// ollama sent, so the test can compare benchd's numbers with ollama's own.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/peercred"
	"github.com/benchd/benchd/internal/testrig"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// stack is a running in-process benchd.
type stack struct {
	client *client.Client
	// sock is the daemon's socket, for a raw gRPC client.
	sock string
	// dials counts bridge connections opened to ollama.
	dials atomic.Int64
	// wire holds every byte ollama sent, in order.
	wireMu sync.Mutex
	wire   bytes.Buffer
	// log is the daemon's log output.
	logMu sync.Mutex
	log   bytes.Buffer
}

func (s *stack) wireBytes() []byte {
	s.wireMu.Lock()
	defer s.wireMu.Unlock()
	return bytes.Clone(s.wire.Bytes())
}

// recordingConn copies what it reads into the stack's wire log.
type recordingConn struct {
	net.Conn
	s *stack
}

func (c recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.s.wireMu.Lock()
	c.s.wire.Write(p[:n])
	c.s.wireMu.Unlock()
	return n, err
}

func newStack(t *testing.T, container string) *stack {
	return newStackWith(t, container)
}

func newStackWith(t *testing.T, container string, opts ...daemon.Option) *stack {
	t.Helper()
	st := &stack{}
	record := daemon.WithOllamaDialer(func(dial ollama.Dialer) ollama.Dialer {
		return func(ctx context.Context) (net.Conn, error) {
			st.dials.Add(1)
			conn, err := dial(ctx)
			if err != nil {
				return nil, err
			}
			return recordingConn{Conn: conn, s: st}, nil
		}
	})
	sock := startDaemon(t, daemon.Config{
		Container:  container,
		VRAMSource: "sysfs",
		SysfsRoot:  testrig.SysfsFixture(),
		Log:        slog.New(slog.NewTextHandler(testWriter{t: t, s: st}, nil)),
	}, append([]daemon.Option{record}, opts...)...)
	st.sock = sock
	var err error
	st.client, err = client.New(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.client.Close() })
	return st
}

// testWriter sends the daemon's log to the test log and keeps a copy.
type testWriter struct {
	t *testing.T
	s *stack
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	w.s.logMu.Lock()
	w.s.log.Write(p)
	w.s.logMu.Unlock()
	return len(p), nil
}

func (s *stack) logText() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// finalResponses extracts ollama's final /api/generate responses (done:true)
// from the recorded HTTP bytes, in order.
func finalResponses(t *testing.T, wire []byte) []ollamaFinal {
	t.Helper()
	var out []ollamaFinal
	sc := bufio.NewScanner(bytes.NewReader(wire))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if !bytes.HasPrefix(line, []byte("{")) || !bytes.Contains(line, []byte(`"done":true`)) {
			continue
		}
		var f ollamaFinal
		if err := json.Unmarshal(line, &f); err != nil {
			t.Fatalf("decode ollama final response %q: %v", line, err)
		}
		out = append(out, f)
	}
	return out
}

// ollamaFinal is the wire format of ollama's last streamed object, decoded
// independently of the code under test.
type ollamaFinal struct {
	PromptEvalCount    int64 `json:"prompt_eval_count"`
	PromptEvalDuration int64 `json:"prompt_eval_duration"`
	EvalCount          int64 `json:"eval_count"`
	EvalDuration       int64 `json:"eval_duration"`
	LoadDuration       int64 `json:"load_duration"`
	TotalDuration      int64 `json:"total_duration"`
}

func TestBenchmarkReportsOllamasNumbers(t *testing.T) {
	container := testrig.Ollama(t)
	st := newStack(t, container)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var events []client.Event
	res, err := st.client.RunBenchmark(ctx, client.BenchmarkRequest{
		Model: testrig.Model, Repetitions: 3, Warmup: ptr(1), MaxTokens: 64,
		VRAMSampleInterval: 10 * time.Millisecond,
	}, func(ev client.Event) { events = append(events, ev) })
	if err != nil {
		t.Fatalf("RunBenchmark: %v", err)
	}
	if events[0].Started == nil || events[len(events)-1].Finished == nil {
		t.Fatalf("stream must start with started and end with finished, got %d events", len(events))
	}
	if res.Started.ModelInfo.Digest == "" || res.Started.OllamaVersion != testrig.OllamaVersion {
		t.Errorf("started event lacks model digest or ollama version: %+v", res.Started)
	}
	if len(res.Trials) != 4 {
		t.Fatalf("want 1 warm-up + 3 trials, got %d", len(res.Trials))
	}

	finals := finalResponses(t, st.wireBytes())
	if len(finals) != len(res.Trials) {
		t.Fatalf("ollama sent %d final responses, benchd reported %d trials", len(finals), len(res.Trials))
	}
	var measuredRates []float64
	for i, tr := range res.Trials {
		f := finals[i]
		got := ollamaFinal{
			PromptEvalCount: tr.PromptEvalCount, PromptEvalDuration: int64(tr.PromptEvalDuration),
			EvalCount: tr.EvalCount, EvalDuration: int64(tr.EvalDuration),
			LoadDuration: int64(tr.LoadDuration), TotalDuration: int64(tr.TotalDuration),
		}
		if got != f {
			t.Errorf("trial %d: benchd reported %+v, ollama sent %+v", i, got, f)
		}
		if tr.Warmup != (i == 0) {
			t.Errorf("trial %d: warmup = %v", i, tr.Warmup)
		}
		if want := float64(f.EvalCount) / (float64(f.EvalDuration) / 1e9); math.Abs(tr.EvalRate-want) > 1e-9*want {
			t.Errorf("trial %d: eval rate %v, want %v from ollama's ns values", i, tr.EvalRate, want)
		}
		if tr.TTFT <= 0 || tr.TTFT > tr.Wall {
			t.Errorf("trial %d: ttft %v must be in (0, wall %v]", i, tr.TTFT, tr.Wall)
		}
		if tr.PeakVRAMUsedBytes != 1<<30 {
			t.Errorf("trial %d: peak VRAM %d, want the fixture tree's 1 GiB", i, tr.PeakVRAMUsedBytes)
		}
		if !tr.Warmup {
			measuredRates = append(measuredRates, tr.EvalRate)
		}
	}

	sum := res.Summary
	if sum.Trials != 3 || sum.EvalRate.N != 3 {
		t.Fatalf("summary must cover the 3 measured trials only, got trials=%d n=%d", sum.Trials, sum.EvalRate.N)
	}
	mean := (measuredRates[0] + measuredRates[1] + measuredRates[2]) / 3
	if math.Abs(sum.EvalRate.Mean-mean) > 1e-9*mean {
		t.Errorf("summary mean eval rate %v, want %v (warm-up excluded)", sum.EvalRate.Mean, mean)
	}
	lo := math.Min(measuredRates[0], math.Min(measuredRates[1], measuredRates[2]))
	if sum.EvalRate.Min != lo {
		t.Errorf("summary min eval rate %v, want %v", sum.EvalRate.Min, lo)
	}
}

func TestCancelOnDisconnectStopsGenerationInContainer(t *testing.T) {
	container := testrig.Ollama(t)
	st := newStack(t, container)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var cancelledAt time.Time
	_, err := st.client.RunBenchmark(ctx, client.BenchmarkRequest{
		Model: testrig.Model, Repetitions: 1, Warmup: ptr(0), MaxTokens: 16384, CancelOnDisconnect: true,
	}, func(ev client.Event) {
		// Leave once tokens stream, i.e. while ollama generates.
		if ev.Progress != nil && ev.Progress.Tokens > 0 && cancelledAt.IsZero() {
			cancelledAt = time.Now()
			cancel()
		}
	})
	if status.Code(err) != codes.Canceled {
		t.Fatalf("RunBenchmark after cancel: %v, want Canceled", err)
	}
	if cancelledAt.IsZero() {
		t.Fatal("no progress event arrived before the run ended")
	}
	assertGenerationStops(t, container, cancelledAt)
}

func TestCancelBenchmarkStopsGenerationAndRecordsIt(t *testing.T) {
	container := testrig.Ollama(t)
	st := newStack(t, container)

	var (
		cancelledAt time.Time
		cancelled   *client.Benchmark
		cancelErr   error
	)
	_, err := st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{
		Model: testrig.Model, Repetitions: 2, Warmup: ptr(1), MaxTokens: 4096,
	}, func(ev client.Event) {
		// Cancel from a second call while the first measured trial streams.
		if ev.Progress != nil && !ev.Progress.Warmup && ev.Progress.Tokens > 0 && cancelledAt.IsZero() {
			cancelledAt = time.Now()
			go func() { cancelled, cancelErr = st.client.CancelBenchmark(context.Background(), idOf(t, st)) }()
		}
	})
	if status.Code(err) != codes.Canceled {
		t.Fatalf("RunBenchmark of a cancelled benchmark: %v, want Canceled", err)
	}
	assertGenerationStops(t, container, cancelledAt)
	// CancelBenchmark returns after the run is recorded.
	deadline := time.Now().Add(10 * time.Second)
	for cancelled == nil && cancelErr == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polls the goroutine's result, not the system under test
	}
	if cancelErr != nil {
		t.Fatalf("CancelBenchmark: %v", cancelErr)
	}
	if cancelled.State != "CANCELLED" || len(cancelled.Trials) != 1 || !cancelled.Trials[0].Warmup {
		t.Errorf("stored after cancel: state %s, %d trials; want CANCELLED with the warm-up trial kept", cancelled.State, len(cancelled.Trials))
	}
	if !strings.Contains(cancelled.ErrorMessage, "CancelBenchmark") {
		t.Errorf("error message %q should say who cancelled", cancelled.ErrorMessage)
	}
}

// idOf returns the id of the stack's only benchmark, from the history.
func idOf(t *testing.T, st *stack) string {
	bs, _, err := st.client.ListBenchmarks(context.Background(), client.ListOptions{})
	if err != nil || len(bs) == 0 {
		t.Errorf("ListBenchmarks: %v, %d benchmarks", err, len(bs))
		return "00000000T000000Z-00000000"
	}
	return bs[0].ID
}

func TestDroppedClientDoesNotStopTheRun(t *testing.T) {
	container := testrig.Ollama(t)
	st := newStack(t, container)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var id string
	_, err := st.client.RunBenchmark(ctx, client.BenchmarkRequest{
		Model: testrig.Model, Repetitions: 3, Warmup: ptr(1), MaxTokens: 512,
	}, func(ev client.Event) {
		if ev.Started != nil {
			id = ev.Started.BenchmarkID
		}
		if ev.Trial != nil && ev.Trial.Warmup {
			cancel() // the client goes away after the warm-up
		}
	})
	if status.Code(err) != codes.Canceled {
		t.Fatalf("RunBenchmark after the client left: %v", err)
	}
	// Re-attach: the replay starts from the beginning and the run completes.
	var replayed []client.Event
	res, err := st.client.WatchBenchmark(context.Background(), id, func(ev client.Event) { replayed = append(replayed, ev) })
	if err != nil {
		t.Fatalf("WatchBenchmark: %v", err)
	}
	if replayed[0].Started == nil || len(res.Trials) != 4 || res.Summary == nil || res.Summary.Trials != 3 {
		t.Fatalf("watch: first event %+v, %d trials, summary %+v", replayed[0], len(res.Trials), res.Summary)
	}
	got, err := st.client.GetBenchmark(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "SUCCEEDED" || len(got.Trials) != 4 || got.Summary == nil {
		t.Fatalf("stored: state %s, %d trials", got.State, len(got.Trials))
	}
	for i := range got.Trials {
		// By value: TokenTiming is a pointer, distinct in each decoded copy.
		if !reflect.DeepEqual(got.Trials[i], res.Trials[i]) {
			t.Errorf("trial %d stored %+v (timing %+v), streamed %+v (timing %+v)",
				i, got.Trials[i], got.Trials[i].TokenTiming, res.Trials[i], res.Trials[i].TokenTiming)
		}
	}
}

// assertGenerationStops checks, from the container's side, that ollama
// stopped generating within 2 s of cancelledAt.
func assertGenerationStops(t *testing.T, container string, cancelledAt time.Time) {
	t.Helper()
	// ollama logs each request when its handler returns, i.e. when
	// generation has stopped; the trials before cancelledAt logged earlier.
	lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer lcancel()
	endedAt, err := testrig.FollowLogs(lctx, container, cancelledAt, func(line string) bool {
		return strings.Contains(line, `"/api/generate"`)
	})
	if err != nil {
		t.Fatalf("ollama did not log the generate request as ended: %v", err)
	}
	if d := endedAt.Sub(cancelledAt); d > 2*time.Second {
		t.Errorf("generation ended %v after cancel, want within 2s", d)
	}
	// And the model runner is idle: its CPU time barely moves.
	before := runnerCPUTicks(t, container)
	time.Sleep(time.Second) // a measurement window, not synchronisation
	if d := runnerCPUTicks(t, container) - before; d > 20 {
		t.Errorf("ollama runner used %d CPU ticks in 1s after cancel; generation is still running", d)
	}
}

// runnerCPUTicks sums utime+stime of ollama's model runner processes, read
// from /proc inside the container with bash builtins (the image has no ps).
func runnerCPUTicks(t *testing.T, container string) int64 {
	t.Helper()
	const script = `for p in /proc/[0-9]*; do
  mapfile -d '' a < "$p/cmdline" 2>/dev/null || continue
  [ "${a[1]}" = runner ] || continue
  read -r s < "$p/stat"; s=${s##*) }; set -- $s; echo $(( ${12} + ${13} ))
done`
	out := testrig.Docker(t, "exec", container, "bash", "-c", script)
	var sum int64
	for _, f := range strings.Fields(out) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("parse runner CPU ticks %q: %v", out, err)
		}
		sum += n
	}
	return sum
}

func TestSecondRunIsResourceExhausted(t *testing.T) {
	container := testrig.Ollama(t)
	st := newStack(t, container)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	started := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		_, err := st.client.RunBenchmark(ctx, client.BenchmarkRequest{Model: testrig.Model, Repetitions: 1, Warmup: ptr(0), MaxTokens: 16384},
			func(ev client.Event) {
				if ev.Started != nil {
					started <- ev.Started.BenchmarkID
				}
			})
		done <- err
	}()
	var id string
	select {
	case id = <-started:
	case err := <-done:
		t.Fatalf("first run ended before starting: %v", err)
	}
	_, err := st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{Model: testrig.Model}, nil)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second run: %v, want ResourceExhausted", err)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, id) || !strings.Contains(msg, `"tiny"`) {
		t.Errorf("message %q must name the running benchmark %s and its model", msg, id)
	}
	// SampleVRAM is served while the benchmark runs.
	if _, err := st.client.SampleVRAM(context.Background()); err != nil {
		t.Errorf("SampleVRAM during a benchmark: %v", err)
	}
	cancel()
	<-done
}

func TestContainerProblemsAreFailedPrecondition(t *testing.T) {
	testrig.Ollama(t)
	// A container of this test's own: a unique name, removed by its id.
	stopped := fmt.Sprintf("benchd-test-stopped-%d", os.Getpid())
	id := strings.TrimSpace(testrig.Docker(t, "create", "--name", stopped, "--label", "benchd.test=stopped",
		"--network", "none", testrig.RigImage, "ollama", "serve"))
	t.Cleanup(func() { testrig.Docker(t, "rm", "-f", id) })

	for _, tc := range []struct{ container, want string }{
		{stopped, "not running"},
		{"benchd-test-no-such-container", "does not exist"},
	} {
		st := newStack(t, tc.container)
		_, err := st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{Model: testrig.Model}, nil)
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), tc.want) {
			t.Errorf("container %s: %v, want FailedPrecondition saying %q", tc.container, err, tc.want)
		}
		if n := st.dials.Load(); n != 0 {
			t.Errorf("container %s: %d bridges opened, want none", tc.container, n)
		}
	}
}

func TestUnknownModelIsNotFound(t *testing.T) {
	st := newStack(t, testrig.Ollama(t))
	_, err := st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{Model: "no-such-model:7b"}, nil)
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown model: %v, want NotFound", err)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "pull") {
		t.Errorf("message %q must say to pull the model", msg)
	}
}

func TestDockerUnreachableIsUnavailable(t *testing.T) {
	testrig.RequireDocker(t)
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	st := newStack(t, testrig.Container)
	_, err := st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{Model: testrig.Model}, nil)
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("docker unreachable: %v, want Unavailable", err)
	}
}

func TestBadRequestsAreInvalidArgumentAndExecNothing(t *testing.T) {
	st := newStack(t, testrig.Ollama(t))
	long := strings.Repeat("a", 300)
	cases := []struct {
		name  string
		req   *benchdv1.RunBenchmarkRequest
		field string
	}{
		{"option-like model", &benchdv1.RunBenchmarkRequest{Model: "--help"}, "model"},
		{"shell metacharacters", &benchdv1.RunBenchmarkRequest{Model: "a;rm -rf /"}, "model"},
		{"command substitution", &benchdv1.RunBenchmarkRequest{Model: "$(id)"}, "model"},
		{"empty model", &benchdv1.RunBenchmarkRequest{}, "model"},
		{"300-char model", &benchdv1.RunBenchmarkRequest{Model: long}, "model"},
		{"zero repetitions", &benchdv1.RunBenchmarkRequest{Model: "tiny", Repetitions: u32(0)}, "repetitions"},
		{"too many repetitions", &benchdv1.RunBenchmarkRequest{Model: "tiny", Repetitions: u32(101)}, "repetitions"},
		{"too many warm-ups", &benchdv1.RunBenchmarkRequest{Model: "tiny", Warmup: u32(11)}, "warmup"},
		{"zero max tokens", &benchdv1.RunBenchmarkRequest{Model: "tiny", MaxTokens: u32(0)}, "max_tokens"},
		{"negative temperature", &benchdv1.RunBenchmarkRequest{Model: "tiny", Temperature: f64(-1)}, "temperature"},
		{"empty prompt", &benchdv1.RunBenchmarkRequest{Model: "tiny", Prompts: []string{""}}, "prompts"},
		{"timeout over 1h", &benchdv1.RunBenchmarkRequest{Model: "tiny", Timeout: durpb(2 * time.Hour)}, "timeout"},
		{"sampling too fast", &benchdv1.RunBenchmarkRequest{Model: "tiny", VramSampleInterval: durpb(time.Millisecond)}, "vram_sample_interval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := st.client.Raw().RunBenchmark(context.Background(), tc.req)
			if err == nil {
				_, err = stream.Recv()
			}
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("got %v, want InvalidArgument", err)
			}
			if msg := status.Convert(err).Message(); !strings.Contains(msg, tc.field) {
				t.Errorf("message %q must name field %q", msg, tc.field)
			}
		})
	}
	if n := st.dials.Load(); n != 0 {
		t.Errorf("%d bridges to ollama were opened for invalid requests, want none", n)
	}
	// The daemon still serves after all that.
	if _, err := st.client.SampleVRAM(context.Background()); err != nil {
		t.Errorf("SampleVRAM after bad requests: %v", err)
	}
}

func TestSampleVRAMFromSysfsTree(t *testing.T) {
	testrig.RequireDocker(t) // the stack builds a Docker client; SampleVRAM itself does not use it
	st := newStack(t, testrig.Container)
	gpus, err := st.client.SampleVRAM(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// testdata/sysfs: card0 is AMD (24 GiB, 1 GiB used), card1 Intel (skipped).
	if len(gpus) != 1 {
		t.Fatalf("got %d GPUs, want 1: %+v", len(gpus), gpus)
	}
	g := gpus[0]
	if g.Index != 0 || g.Vendor != "amd" || g.Source != "sysfs" || g.TotalBytes != 25753026560 || g.UsedBytes != 1<<30 {
		t.Errorf("got %+v", g)
	}
	if time.Since(g.SampledAt) > time.Minute || g.SampledAt.After(time.Now()) {
		t.Errorf("sampled_at %v is not now", g.SampledAt)
	}
}

func ptr[T any](v T) *T      { return &v }
func u32(v uint32) *uint32   { return &v }
func f64(v float64) *float64 { return &v }

func durpb(d time.Duration) *durationpb.Duration { return durationpb.New(d) }

func TestCallerUIDNotAllowedIsPermissionDenied(t *testing.T) {
	testrig.RequireDocker(t)
	other := uint32(os.Getuid()) + 4242
	st := newStackWith(t, testrig.Container, daemon.WithPolicy(peercred.NewPolicy(other)))
	_, err := st.client.SampleVRAM(context.Background())
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("SampleVRAM from a uid not allowed: %v, want PermissionDenied", err)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, fmt.Sprintf("--allow-uid %d", os.Getuid())) {
		t.Errorf("message %q must say how to allow the caller", msg)
	}
	_, err = st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{Model: testrig.Model}, nil)
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("RunBenchmark from a uid not allowed: %v, want PermissionDenied", err)
	}
	if n := st.dials.Load(); n != 0 {
		t.Errorf("%d bridges opened for a refused caller", n)
	}
}

func TestAuditLineNamesCallerMethodModelOutcome(t *testing.T) {
	st := newStack(t, testrig.Ollama(t))
	_, err := st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{Model: "no-such-model"}, nil)
	if status.Code(err) != codes.NotFound {
		t.Fatalf("got %v, want NotFound", err)
	}
	var line string
	for _, l := range strings.Split(st.logText(), "\n") {
		if strings.Contains(l, "grpc.method=RunBenchmark") && strings.Contains(l, `msg="finished call"`) {
			line = l
		}
	}
	for _, want := range []string{
		fmt.Sprintf("caller.uid=%d", os.Getuid()), fmt.Sprintf("caller.pid=%d", os.Getpid()),
		"model=no-such-model", "grpc.code=NotFound", "grpc.time_ms=", "time=",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("audit line %q lacks %q", line, want)
		}
	}
}

func TestColdTrialsLoadTheModelEveryTime(t *testing.T) {
	st := newStack(t, testrig.Ollama(t))
	res, err := st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{
		Model: testrig.Model, Repetitions: 3, Warmup: ptr(0), MaxTokens: 16, Cold: true,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Trials {
		if tr.ModelLoadedAtStart {
			t.Errorf("cold trial %d: model was loaded at start", tr.Index)
		}
		if tr.LoadDuration <= 0 {
			t.Errorf("cold trial %d: load_duration %v, want > 0", tr.Index, tr.LoadDuration)
		}
	}
	// Warm for contrast: after the warm-up, the model stays loaded and the
	// measured trials' loads are shorter than every cold one.
	warm, err := st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{
		Model: testrig.Model, Repetitions: 3, Warmup: ptr(1), MaxTokens: 16,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	minCold := res.Trials[0].LoadDuration
	for _, tr := range res.Trials {
		minCold = min(minCold, tr.LoadDuration)
	}
	for _, tr := range warm.Trials[1:] {
		if !tr.ModelLoadedAtStart {
			t.Errorf("warm trial %d: model not loaded at start", tr.Index)
		}
		if tr.LoadDuration >= minCold {
			t.Errorf("warm trial %d: load %v not below the fastest cold load %v", tr.Index, tr.LoadDuration, minCold)
		}
	}
}

func TestTrialPromptsDifferAndPrefillIsNotCached(t *testing.T) {
	st := newStack(t, testrig.Ollama(t))
	res, err := st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{
		Model: testrig.Model, Repetitions: 4, Warmup: ptr(1), MaxTokens: 8,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	first := res.Trials[0].PromptEvalCount
	for _, tr := range res.Trials {
		if tr.PromptPrefix == "" || seen[tr.PromptPrefix] {
			t.Errorf("trial %d: prompt prefix %q empty or repeated", tr.Index, tr.PromptPrefix)
		}
		seen[tr.PromptPrefix] = true
		// A cached prefix would leave only a few tokens to evaluate.
		if d := tr.PromptEvalCount - first; d < -2 || d > 2 {
			t.Errorf("trial %d: prompt_eval_count %d, first trial %d: prefill was cached or prompts drifted", tr.Index, tr.PromptEvalCount, first)
		}
	}
}

func TestSyntheticPromptTokensAreCalibrated(t *testing.T) {
	st := newStack(t, testrig.Ollama(t))
	const want = 300
	res, err := st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{
		Model: testrig.Model, Repetitions: 2, Warmup: ptr(1), MaxTokens: 8, PromptTokens: want,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Trials[1:] {
		if got := tr.PromptEvalCount; got < want*9/10 || got > want*11/10 {
			t.Errorf("trial %d: prompt_eval_count %d, want within 10%% of %d after calibration", tr.Index, got, want)
		}
	}
}

func TestWatchVRAMStreamsUntilTheClientLeaves(t *testing.T) {
	testrig.RequireDocker(t)
	st := newStack(t, testrig.Container)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err := st.client.WatchVRAM(ctx, 50*time.Millisecond, func(gpus []client.GPU) error {
		if len(gpus) != 1 || gpus[0].UsedBytes != 1<<30 {
			t.Errorf("sample %+v", gpus)
		}
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if status.Code(err) != codes.Canceled || n < 3 {
		t.Fatalf("WatchVRAM: %v after %d samples", err, n)
	}
	// Out-of-range intervals are refused.
	err = st.client.WatchVRAM(context.Background(), time.Millisecond, func([]client.GPU) error { return nil })
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("1ms interval: %v, want InvalidArgument", err)
	}
}

func TestGetAndCancelUnknownOrEndedBenchmarks(t *testing.T) {
	st := newStack(t, testrig.Ollama(t))
	if _, err := st.client.GetBenchmark(context.Background(), "20260101T000000Z-deadbeef"); status.Code(err) != codes.NotFound {
		t.Errorf("get unknown: %v", err)
	}
	if _, err := st.client.GetBenchmark(context.Background(), "../../etc/passwd"); status.Code(err) != codes.InvalidArgument {
		t.Errorf("get malformed id: %v", err)
	}
	res, err := st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{Model: testrig.Model, Repetitions: 1, MaxTokens: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.client.CancelBenchmark(context.Background(), res.BenchmarkID)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "SUCCEEDED") {
		t.Errorf("cancel an ended benchmark: %v", err)
	}
	// A failed run is stored with its status, and Watch replays it.
	_, err = st.client.RunBenchmark(context.Background(), client.BenchmarkRequest{Model: "absent-model"}, nil)
	if status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	bs, _, err := st.client.ListBenchmarks(context.Background(), client.ListOptions{Model: "absent-model"})
	if err != nil || len(bs) != 1 || bs[0].State != "FAILED" || bs[0].ErrorCode != int(codes.NotFound) {
		t.Fatalf("list failed run: %v %+v", err, bs)
	}
	if _, err := st.client.WatchBenchmark(context.Background(), bs[0].ID, nil); status.Code(err) != codes.NotFound {
		t.Errorf("watch of a run that failed with NotFound: %v", err)
	}
}
