package main_test

// ListModels and token timing against a real benchd process in front of the
// rig's real ollama: what benchd reports is what `ollama list` and `ollama
// ps` print in the container, and real streams give token timing on
// ollama's clock that agrees with ollama's eval_duration.

import (
	"context"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/format"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	"github.com/benchd/benchd/internal/stats"
	"github.com/benchd/benchd/internal/testrig"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// ollamaTable parses what `ollama list` and `ollama ps` print: a header
// and rows whose columns are padded apart by at least two spaces (ollama's
// tablewriter pads with four; a cell such as "500 KB" holds one).
func ollamaTable(t *testing.T, out string) (header []string, rows [][]string) {
	t.Helper()
	sep := regexp.MustCompile(`\s{2,}`)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 {
		t.Fatalf("no table in %q", out)
	}
	header = sep.Split(strings.TrimSpace(lines[0]), -1)
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		cells := sep.Split(strings.TrimSpace(l), -1)
		if len(cells) != len(header) {
			t.Fatalf("row %q has %d cells, header %v", l, len(cells), header)
		}
		rows = append(rows, cells)
	}
	return header, rows
}

// rigClient is a benchd process in front of the rig, a client of it, and a
// context that bounds the test.
func rigClient(t *testing.T) (*testrig.Daemon, *client.Client, context.Context) {
	t.Helper()
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	c, err := client.Dial(ctx, d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return d, c, ctx
}

func TestListModelsMatchesOllamaListAndPs(t *testing.T) {
	container := testrig.Ollama(t)
	d, c, ctx := rigClient(t)
	// Load the model, so that ps has something to show.
	if _, err := c.RunBenchmark(ctx, client.BenchmarkRequest{Model: testrig.Model, Repetitions: 1, Warmup: new(int), MaxTokens: 4}, nil); err != nil {
		t.Fatal(err)
	}

	ms, err := c.ListModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list := testrig.Docker(t, "exec", container, "ollama", "list")
	ps := testrig.Docker(t, "exec", container, "ollama", "ps")
	t.Logf("$ docker exec %s ollama list\n%s$ docker exec %s ollama ps\n%s", container, list, container, ps)

	header, rows := ollamaTable(t, list)
	if strings.Join(header, ",") != "NAME,ID,SIZE,MODIFIED" {
		t.Fatalf("ollama list header %v", header)
	}
	if len(rows) != len(ms.Installed) || len(rows) == 0 {
		t.Fatalf("ollama list shows %d models, ListModels %d: %+v", len(rows), len(ms.Installed), ms.Installed)
	}
	for i, r := range rows {
		m := ms.Installed[i]
		got := []string{m.Name, strings.TrimPrefix(m.ModelInfo.Digest, "sha256:")[:12], format.HumanBytes(int64(m.SizeBytes))}
		if strings.Join(got, "|") != strings.Join(r[:3], "|") {
			t.Errorf("model %d: ListModels %v, ollama list %v", i, got, r[:3])
		}
		if m.ModifiedAt.IsZero() || m.ModelInfo.Family == "" || m.ModelInfo.ParameterSize == "" || m.ModelInfo.QuantizationLevel == "" {
			t.Errorf("model %d lacks details: %+v", i, m)
		}
		if m.Name == testrig.Model+":latest" && m.ContextLength <= 0 {
			t.Errorf("%s: no context length: %+v", m.Name, m)
		}
	}

	header, rows = ollamaTable(t, ps)
	// v0.17.4 adds CONTEXT, the context the model was loaded with (from
	// /api/ps's context_length, which v0.9.6 does not send).
	hasContext := slices.Contains(header, "CONTEXT")
	wantHeader := "NAME,ID,SIZE,PROCESSOR,UNTIL"
	if hasContext {
		wantHeader = "NAME,ID,SIZE,PROCESSOR,CONTEXT,UNTIL"
	}
	if strings.Join(header, ",") != wantHeader {
		t.Fatalf("ollama ps header %v", header)
	}
	if len(rows) != len(ms.Loaded) || len(rows) == 0 {
		t.Fatalf("ollama ps shows %d models, ListModels %d loaded: %+v", len(rows), len(ms.Loaded), ms.Loaded)
	}
	for i, r := range rows {
		m := ms.Loaded[i]
		got := []string{m.Name, strings.TrimPrefix(m.ModelInfo.Digest, "sha256:")[:12], format.HumanBytes(int64(m.SizeBytes)),
			report.Processor(ms.Raw.GetLoaded()[i])}
		if strings.Join(got, "|") != strings.Join(r[:4], "|") {
			t.Errorf("loaded %d: ListModels %v, ollama ps %v", i, got, r[:4])
		}
		wantContext := "" // ListModels says 0: ollama did not say
		if hasContext {
			wantContext = r[4]
		}
		if gotContext := strconv.Itoa(m.ContextLength); (m.ContextLength != 0 || hasContext) && gotContext != wantContext {
			t.Errorf("loaded %d: ListModels' context %d, ollama ps %q", i, m.ContextLength, wantContext)
		}
		if until := time.Until(m.ExpiresAt); until <= 0 || until > 10*time.Minute {
			t.Errorf("loaded %d expires in %v (ollama ps: %s)", i, until, r[len(r)-1])
		}
	}

	// benchctl models says the same, in JSON with the proto's names.
	var res benchdv1.ListModelsResponse
	out := mustBenchctl(t, d, "models", "-o", "json")
	if err := protojson.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("benchctl models -o json: %v\n%s", err, out)
	}
	if len(res.GetModels()) != len(ms.Installed) || res.GetModels()[0].GetName() != ms.Installed[0].Name ||
		res.GetModels()[0].GetInfo().GetDigest() != ms.Installed[0].ModelInfo.Digest || !strings.Contains(out, `"size_vram_bytes"`) {
		t.Errorf("benchctl models -o json:\n%s", out)
	}
	table := mustBenchctl(t, d, "models")
	t.Logf("$ benchctl models\n%s", table)
	if !strings.Contains(table, ms.Installed[0].Name) || !strings.Contains(table, "loaded:") {
		t.Errorf("benchctl models:\n%s", table)
	}
}

// Real streams: every trial has token timing on ollama's clock, about a
// chunk a token, and a decode time that agrees with eval_duration: the
// median trial within the tolerance, and the flag set on exactly the
// trials outside it (on a loaded machine ollama itself can stamp a chunk
// late, which the check is there to show).
func TestTokenTimingOnTheRig(t *testing.T) {
	_, c, ctx := rigClient(t)
	res, err := c.RunBenchmark(ctx, client.BenchmarkRequest{Model: testrig.Model, Repetitions: 3, MaxTokens: 256}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var offs []float64
	flagged := 0
	for _, tr := range res.Trials {
		tt := tr.TokenTiming
		if tt == nil {
			t.Fatalf("trial %d has no token timing", tr.Index)
		}
		off := float64(tt.Decode-tr.EvalDuration) / float64(tr.EvalDuration)
		t.Logf("trial %d: %d chunks for %d tokens; itl p50 %v p90 %v p99 %v max %v; tpot %v; stall %v after %d; decode %v vs eval_duration %v (%+.1f%%); received decode %v, stall %v",
			tr.Index, tt.Chunks, tr.EvalCount, tt.ITLP50, tt.ITLP90, tt.ITLP99, tt.ITLMax, tt.TPOT, tt.LongestStall, tt.LongestStallAfterChunks,
			tt.Decode, tr.EvalDuration, 100*off, tt.ReceivedDecode, tt.ReceivedLongestStall)
		if !tt.OllamaClock || tt.Chunks < 2 || int64(tt.Chunks) > tr.EvalCount {
			t.Errorf("trial %d: timing %+v for %d tokens", tr.Index, tt, tr.EvalCount)
		}
		if tt.ITLP50 > tt.ITLP90 || tt.ITLP90 > tt.ITLP99 || tt.ITLP99 > tt.ITLMax || tt.ITLMax > tt.LongestStall || tt.Decode <= 0 {
			t.Errorf("trial %d: figures out of order: %+v", tr.Index, tt)
		}
		if outside := math.Abs(off) > stats.DecodeTolerance; outside != (tr.DecodeMismatchReason != "") {
			t.Errorf("trial %d: decode %+.1f%% off eval_duration, but the mismatch reason is %q", tr.Index, 100*off, tr.DecodeMismatchReason)
		}
		offs = append(offs, math.Abs(off))
		if !tr.Warmup && tr.DecodeMismatchReason != "" {
			flagged++
		}
	}
	slices.Sort(offs)
	if med := offs[len(offs)/2]; med > stats.DecodeTolerance {
		t.Errorf("median trial's decode is %.1f%% off eval_duration, over the %.0f%% tolerance", 100*med, 100*stats.DecodeTolerance)
	}
	s := res.Summary
	t.Logf("summary: tpot %.0f ns (cv %.1f%%), itl p99 %.0f ns, stall max %.0f ns; eval rate cv %.1f%%, ttft cv %.1f%%; unstable %q",
		s.TPOTNs.Mean, 100*s.TPOTNs.CV, s.ITLP99Ns.Mean, s.LongestStallNs.Max, 100*s.EvalRate.CV, 100*s.TTFTNs.CV, s.UnstableReason)
	if s.TPOTNs.N != 3 || s.EvalRate.P99 == 0 || s.DecodeMismatches != flagged {
		t.Errorf("summary %+v", s)
	}
}
