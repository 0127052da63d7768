package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	rpccode "google.golang.org/genproto/googleapis/rpc/code"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
)

// A concurrency run is shown a row per level: requests in flight, how many
// succeeded, the aggregate rates, then latency percentiles (p50/p90/p99 in
// one column each, so that the table fits a terminal) and peak VRAM.

// IsConcurrency says b is a concurrency run: it asked for one, or has
// levels.
func IsConcurrency(b *benchdv1.Benchmark) bool {
	return settings(b).GetConcurrency() != nil || len(b.GetLevels()) > 0
}

// ParallelSlots describes ollama's parallel slots as benchd reported them
// (BenchmarkStarted.ollama_num_parallel): "OLLAMA_NUM_PARALLEL=4", or why
// there is no number; "" for an older record that does not say.
func ParallelSlots(v string) string {
	switch v {
	case "":
		return ""
	case "default":
		return "OLLAMA_NUM_PARALLEL not set (ollama's default)"
	case "unknown":
		return "OLLAMA_NUM_PARALLEL unknown (no container to inspect)"
	}
	return "OLLAMA_NUM_PARALLEL=" + v
}

// levelHeader names the columns of levelRow; a leading ">" marks a column
// that markdown aligns right.
var levelHeader = []string{">in flight", ">requests", ">ok/failed", ">out tok/s", ">req/s",
	">ttft p50/p90/p99", ">itl p50/p90/p99", ">e2e p50/p90/p99", ">queue p50/p90/p99", ">peak VRAM", ">J/tok"}

// Latency prints a duration to three significant digits: 10.8ms, 2.11s.
func Latency(ns float64) string {
	d := time.Duration(ns)
	if d <= 0 {
		return "0s"
	}
	p := time.Duration(1)
	for d/p >= 1000 {
		p *= 10
	}
	return d.Round(p).String()
}

// percentiles prints a latency summary's p50/p90/p99, "-" without one.
func percentiles(s *benchdv1.Summary) string {
	if s.GetN() == 0 {
		return "-"
	}
	return Latency(s.GetP50()) + "/" + Latency(s.GetP90()) + "/" + Latency(s.GetP99())
}

// levelRow is a level's row under levelHeader.
func levelRow(l *benchdv1.ConcurrencyLevel) []string {
	vram := "-"
	if l.GetPeakVramUsedBytes() > 0 {
		vram = BytesIEC(l.GetPeakVramUsedBytes())
	}
	_, jpt := EnergyCell(l.GetEnergy())
	return []string{strconv.Itoa(int(l.GetConcurrency())), strconv.Itoa(int(l.GetRequests())),
		fmt.Sprintf("%d/%d", l.GetSucceeded(), l.GetFailed()),
		fmt.Sprintf("%.1f", l.GetOutputTokensPerSecond()), fmt.Sprintf("%.2f", l.GetRequestsPerSecond()),
		percentiles(l.GetTtftNs()), percentiles(l.GetItlNs()), percentiles(l.GetE2ELatencyNs()), percentiles(l.GetQueueNs()), vram, jpt}
}

// concurrencyLine describes the levels asked for: "levels 1,2,4 in
// flight, closed loop, 4 requests each".
func concurrencyLine(b *benchdv1.Benchmark) string {
	s := settings(b)
	c := s.GetConcurrency()
	levels := make([]string, len(c.GetLevels()))
	for i, l := range c.GetLevels() {
		levels[i] = strconv.FormatUint(uint64(l), 10)
	}
	if len(levels) == 0 { // a record without its settings
		for _, l := range b.GetLevels() {
			levels = append(levels, strconv.FormatUint(uint64(l.GetConcurrency()), 10))
		}
	}
	requests := "4 × in flight requests each (default)"
	if c.Requests != nil {
		requests = fmt.Sprintf("%d requests each", c.GetRequests())
	} else if len(c.GetLevels()) > 0 {
		// The default, as the runner resolves it.
		ns := make([]string, len(c.GetLevels()))
		for i := range c.GetLevels() {
			ns[i] = strconv.Itoa(int(record.LevelAt(s, i).GetRequests()))
		}
		requests = strings.Join(ns, ",") + " requests (4 × in flight)"
	}
	line := fmt.Sprintf("concurrency: levels %s in flight, closed loop, %s", strings.Join(levels, ","), requests)
	if p := ParallelSlots(b.GetStarted().GetOllamaNumParallel()); p != "" {
		line += "; ollama's parallel slots: " + p
	}
	return line
}

// levelNotes are the lines under a concurrency run's levels: what the
// columns mean, failed requests, and levels that did not run.
func levelNotes(b *benchdv1.Benchmark) []string {
	out := []string{"ttft and queue on ollama's clock from its receiving the request; queue = ttft − load − prompt eval, the wait for a parallel slot; e2e from sending to the last chunk received"}
	for _, l := range b.GetLevels() {
		if l.GetFailed() == 0 {
			continue
		}
		code := rpccode.Code(l.GetErrorCode()).String()
		out = append(out, fmt.Sprintf("%d in flight: %d of %d requests failed, the first with %s: %s",
			l.GetConcurrency(), l.GetFailed(), l.GetRequests(), code, l.GetErrorMessage()))
	}
	if want := len(settings(b).GetConcurrency().GetLevels()); len(b.GetLevels()) < want {
		out = append(out, fmt.Sprintf("%d of %d levels finished (state %s)", len(b.GetLevels()), want, State(b)))
	}
	return out
}

// concurrencyHeader are the lines above a concurrency run's levels: what,
// where, how.
func concurrencyHeader(b *benchdv1.Benchmark) []string {
	return viewHeader(b, "concurrency run", concurrencyLine(b), "each request: ")
}

// writeLevelTable prints the levels a row each and the notes under them.
func writeLevelTable(w io.Writer, b *benchdv1.Benchmark) error {
	rows := make([][]string, len(b.GetLevels()))
	for i, l := range b.GetLevels() {
		rows[i] = levelRow(l)
	}
	return writeRows(w, levelHeader, rows, true, "no level finished", levelNotes(b))
}

// writeLevels prints a concurrency run's levels under WriteTable's trials.
func writeLevels(w io.Writer, b *benchdv1.Benchmark) error {
	fmt.Fprintf(w, "\nconcurrency levels (%s)\n", ParallelSlots(b.GetStarted().GetOllamaNumParallel()))
	return writeLevelTable(w, b)
}

// WriteLevelsTable prints a concurrency run for a person: what was asked
// and where, with ollama's parallel slots, then a row per level. Every
// request is in WriteTable.
func WriteLevelsTable(w io.Writer, b *benchdv1.Benchmark) error {
	for _, l := range concurrencyHeader(b) {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
	return writeLevelTable(w, b)
}

// WriteLevelsMarkdown writes a concurrency run as a markdown section: what
// and where, then a row per level.
func WriteLevelsMarkdown(w io.Writer, b *benchdv1.Benchmark) error {
	mdViewHeader(w, "Concurrency run", b, concurrencyHeader(b))
	return writeLevelsMarkdown(w, b)
}

// writeLevelsMarkdown writes the level table and its notes.
func writeLevelsMarkdown(w io.Writer, b *benchdv1.Benchmark) error {
	mdHeader(w, levelHeader...)
	for _, l := range b.GetLevels() {
		mdRow(w, levelRow(l)...)
	}
	fmt.Fprintln(w)
	for _, l := range levelNotes(b) {
		fmt.Fprintf(w, "- %s\n", mdCell(l))
	}
	fmt.Fprintln(w)
	return nil
}

// levelLatencies are the latency summaries of a level in LevelsCSVHeader,
// each as its mean, p50, p90, p99 and max in nanoseconds.
var levelLatencies = []struct {
	name string
	get  func(*benchdv1.ConcurrencyLevel) *benchdv1.Summary
}{
	{"ttft_ns", (*benchdv1.ConcurrencyLevel).GetTtftNs},
	{"itl_ns", (*benchdv1.ConcurrencyLevel).GetItlNs},
	{"tpot_ns", (*benchdv1.ConcurrencyLevel).GetTpotNs},
	{"e2e_latency_ns", (*benchdv1.ConcurrencyLevel).GetE2ELatencyNs},
	{"queue_ns", (*benchdv1.ConcurrencyLevel).GetQueueNs},
}

var latencyStats = []struct {
	name string
	get  func(*benchdv1.Summary) float64
}{
	{"mean", (*benchdv1.Summary).GetMean}, {"p50", (*benchdv1.Summary).GetP50}, {"p90", (*benchdv1.Summary).GetP90},
	{"p99", (*benchdv1.Summary).GetP99}, {"max", (*benchdv1.Summary).GetMax},
}

// LevelsCSVHeader is the header of WriteLevelsCSV: a row per level of a
// concurrency run, its counts, rates (per second), latency statistics
// (nanoseconds: ttft_ns_p50 …) and peak VRAM (bytes).
var LevelsCSVHeader = func() []string {
	h := []string{"benchmark_id", "model", "ollama_num_parallel", "level", "concurrency", "requests", "succeeded", "failed",
		"error_code", "error_message", "duration_ns", "output_tokens", "output_tokens_per_second", "requests_per_second"}
	for _, l := range levelLatencies {
		for _, s := range latencyStats {
			h = append(h, l.name+"_"+s.name)
		}
	}
	return append(h, "peak_vram_used_bytes", "started_at", "finished_at")
}()

// WriteLevelsCSV writes the levels of the concurrency runs among bs with
// LevelsCSVHeader.
func WriteLevelsCSV(w io.Writer, bs ...*benchdv1.Benchmark) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(LevelsCSVHeader); err != nil {
		return err
	}
	f64 := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, b := range bs {
		for _, l := range b.GetLevels() {
			code := ""
			if l.GetErrorCode() != 0 {
				code = rpccode.Code(l.GetErrorCode()).String()
			}
			row := []string{ID(b), Model(b), b.GetStarted().GetOllamaNumParallel(), strconv.Itoa(int(l.GetIndex())),
				strconv.Itoa(int(l.GetConcurrency())), strconv.Itoa(int(l.GetRequests())), strconv.Itoa(int(l.GetSucceeded())),
				strconv.Itoa(int(l.GetFailed())), code, l.GetErrorMessage(), strconv.FormatInt(l.GetDurationNs(), 10),
				strconv.FormatUint(l.GetOutputTokens(), 10), f64(l.GetOutputTokensPerSecond()), f64(l.GetRequestsPerSecond())}
			for _, lat := range levelLatencies {
				s := lat.get(l)
				for _, st := range latencyStats {
					row = append(row, csvNum(s, st.get(s)))
				}
			}
			row = append(row, strconv.FormatUint(l.GetPeakVramUsedBytes(), 10), csvStamp(l.GetStartedAt()), csvStamp(l.GetFinishedAt()))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// trialLevel is the level a concurrency run's trial belongs to: its
// requests in flight and request count.
func trialLevel(b *benchdv1.Benchmark, t *benchdv1.Trial) *benchdv1.ConcurrencyLevel {
	for _, l := range b.GetLevels() {
		if l.GetIndex() == t.GetLevel() {
			return l
		}
	}
	return record.LevelAt(settings(b), int(t.GetLevel()))
}
