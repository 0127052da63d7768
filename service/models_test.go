package service_test

// ListModels and token timing through the whole daemon stack in one process,
// without Docker. TEST DOUBLE: fakes.Ollama stands in for ollama (its
// inventory, and a scripted chunk schedule).

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/ollama"
)

func fakeDaemonClient(t *testing.T, f *fakes.Ollama) *client.Client {
	t.Helper()
	sock := startDaemon(t, daemon.Config{VRAMSource: "none", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, daemon.WithOllama(f))
	c, err := client.New(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestListModelsThroughTheAPI(t *testing.T) {
	f := &fakes.Ollama{}
	c := fakeDaemonClient(t, f)
	ctx := context.Background()
	ms, err := c.ListModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Installed) != 1 || len(ms.Loaded) != 1 {
		t.Fatalf("models %+v", ms)
	}
	in, l := ms.Installed[0], ms.Loaded[0]
	if in.Name != "tiny:latest" || in.ModelInfo.Digest != fakes.TinyDigest || in.ModelInfo.Family != "llama" ||
		in.ModelInfo.ParameterSize != "123K" || in.ModelInfo.QuantizationLevel != "unknown" || in.ModelInfo.Format != "gguf" ||
		in.SizeBytes != 500206 || in.ContextLength != 2048 || !in.ModifiedAt.Equal(fakes.StreamStart) {
		t.Errorf("installed %+v", in)
	}
	if l.Name != "tiny:latest" || l.SizeBytes != 91278080 || l.SizeVRAMBytes != 0 || time.Until(l.ExpiresAt) < 50*time.Minute {
		t.Errorf("loaded %+v", l)
	}

	// ollama not answering is UNAVAILABLE, with what to do.
	f.ListErr = ollama.ErrUnreachable
	_, err = c.ListModels(ctx)
	if st := status.Convert(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "check that ollama runs") {
		t.Errorf("ollama unreachable: %v", err)
	}
}

// The token timing of a scripted stream reaches the client exactly: chunks
// 5 ms after the start, then after 2 and 4 ms, the final chunk 1 ms later.
// Gaps 2 and 4 ms: p50 3 ms, p90 2 + 0.9*2 = 3.8 ms, p99 3.98 ms, max and
// longest stall 4 ms (after 2 chunks), TPOT 3 ms, decode 7 ms, which is the
// eval_duration the double reports (no mismatch). TTFT-wise the three
// trials differ by 0, 0 and 3 ms: cv 20.4%, an unstable run.
func TestTokenTimingThroughTheAPI(t *testing.T) {
	f := &fakes.Ollama{
		Stream: &fakes.Stream{Delays: []time.Duration{5 * time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}, Final: time.Millisecond},
		TTFTs:  []time.Duration{5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond, 7 * time.Millisecond},
	}
	c := fakeDaemonClient(t, f)
	res, err := c.RunBenchmark(context.Background(), client.BenchmarkRequest{Model: "tiny", Repetitions: 3, MaxTokens: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	want := client.TokenTiming{Chunks: 3, ITLP50: 3 * ms, ITLP90: 3800 * time.Microsecond, ITLP99: 3980 * time.Microsecond,
		ITLMax: 4 * ms, TPOT: 3 * ms, LongestStall: 4 * ms, LongestStallAfterChunks: 2, Decode: 7 * ms,
		ReceivedDecode: 7 * ms, ReceivedLongestStall: 4 * ms, OllamaClock: true}
	for _, tr := range res.Trials {
		if tr.TokenTiming == nil || *tr.TokenTiming != want || tr.DecodeMismatchReason != "" {
			t.Errorf("trial %d: %+v %q\nwant %+v", tr.Index, tr.TokenTiming, tr.DecodeMismatchReason, want)
		}
	}
	s := res.Summary
	if s.TPOTNs.N != 3 || s.TPOTNs.Mean != float64(3*ms) || s.ITLP99Ns.Max != float64(3980*time.Microsecond) ||
		s.LongestStallNs.P50 != float64(4*ms) || s.DecodeMismatches != 0 {
		t.Errorf("summary tpot %+v itl p99 %+v stall %+v mismatches %d", s.TPOTNs, s.ITLP99Ns, s.LongestStallNs, s.DecodeMismatches)
	}
	if s.UnstableReason != "ttft_ns cv 20.4% (over 10%)" || s.TTFTNs.CV < 0.2 || s.TTFTNs.P90 == 0 || s.TTFTNs.P99 == 0 {
		t.Errorf("unstable %q, ttft %+v", s.UnstableReason, s.TTFTNs)
	}
	// The stored record says the same.
	b, err := c.GetBenchmark(context.Background(), res.BenchmarkID)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Trials[1].TokenTiming; got == nil || *got != want || b.Summary.UnstableReason != s.UnstableReason {
		t.Errorf("stored: %+v, unstable %q", got, b.Summary.UnstableReason)
	}
}
