package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// TrialsCSVHeader is the header of WriteTrialsCSV: one row per trial,
// ollama's counts and durations as it reported them (nanoseconds), rates in
// tokens per second.
var TrialsCSVHeader = []string{
	"benchmark_id", "model", "trial", "warmup", "prompt_index", "model_loaded_at_start",
	"prompt_eval_count", "prompt_eval_duration_ns", "prompt_eval_rate",
	"eval_count", "eval_duration_ns", "eval_rate",
	"load_duration_ns", "total_duration_ns", "ttft_ns", "wall_ns",
	"peak_vram_used_bytes", "done_reason", "received_ttft_ns", "invalid_reason",
	// Token timing (empty without it) and the decode check.
	"chunks", "itl_p50_ns", "itl_p90_ns", "itl_p99_ns", "itl_max_ns", "tpot_ns",
	"longest_stall_ns", "longest_stall_after_chunks", "decode_ns", "received_decode_ns", "received_longest_stall_ns",
	"timing_ollama_clock", "decode_mismatch_reason",
	// Sweeps only (else empty): the trial's cell; index counts within it.
	"cell",
	// Concurrency runs only (else empty): the trial's level (index counts
	// within it) and its requests in flight; then the time queued in ollama
	// for a parallel slot (0 in older records) and when benchd sent it.
	"level", "concurrency", "queue_ns", "sent_at",
}

// WriteTrialsCSV writes every trial of the benchmarks as CSV with
// TrialsCSVHeader.
func WriteTrialsCSV(w io.Writer, bs ...*benchdv1.Benchmark) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(TrialsCSVHeader); err != nil {
		return err
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	f64 := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, b := range bs {
		sweep, conc := IsSweep(b), IsConcurrency(b)
		for _, t := range b.GetTrials() {
			cell, level, inFlight := "", "", ""
			if sweep {
				cell = strconv.Itoa(int(t.GetCell()))
			}
			if conc {
				level, inFlight = strconv.Itoa(int(t.GetLevel())), strconv.Itoa(int(trialLevel(b, t).GetConcurrency()))
			}
			if err := cw.Write(append(append([]string{
				ID(b), Model(b), strconv.Itoa(int(t.GetIndex())), strconv.FormatBool(t.GetWarmup()),
				strconv.Itoa(int(t.GetPromptIndex())), strconv.FormatBool(t.GetModelLoadedAtStart()),
				i64(t.GetPromptEvalCount()), i64(t.GetPromptEvalDurationNs()), f64(t.GetPromptEvalRate()),
				i64(t.GetEvalCount()), i64(t.GetEvalDurationNs()), f64(t.GetEvalRate()),
				i64(t.GetLoadDurationNs()), i64(t.GetTotalDurationNs()), i64(t.GetTtftNs()), i64(t.GetWallNs()),
				strconv.FormatUint(t.GetPeakVramUsedBytes(), 10), t.GetDoneReason(),
				i64(t.GetReceivedTtftNs()), t.GetInvalidReason(),
			}, timingCSV(t.GetTokenTiming())...), t.GetDecodeMismatchReason(), cell,
				level, inFlight, i64(t.GetQueueNs()), csvStamp(t.GetSentAt()))); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvStamp is a timestamp for CSV (UTC, RFC 3339), empty for none.
func csvStamp(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().UTC().Format(time.RFC3339Nano)
}

// timingCSV are the token-timing columns of a trial, empty without it.
func timingCSV(tt *benchdv1.TokenTiming) []string {
	if tt == nil {
		return make([]string, 12)
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{
		strconv.Itoa(int(tt.GetChunks())), i64(tt.GetItlP50Ns()), i64(tt.GetItlP90Ns()), i64(tt.GetItlP99Ns()), i64(tt.GetItlMaxNs()),
		i64(tt.GetTpotNs()), i64(tt.GetLongestStallNs()), strconv.Itoa(int(tt.GetLongestStallAfterChunks())), i64(tt.GetDecodeNs()),
		i64(tt.GetReceivedDecodeNs()), i64(tt.GetReceivedLongestStallNs()), strconv.FormatBool(tt.GetOllamaClock()),
	}
}

// HistoryCSVHeader is the header of WriteHistoryCSV: one row per benchmark
// with its settings and the summary over its measured trials.
var HistoryCSVHeader = []string{
	"benchmark_id", "created_at", "model", "state", "measured_trials",
	"eval_rate_mean", "eval_rate_stddev", "prompt_eval_rate_mean", "prompt_eval_rate_stddev",
	"ttft_ns_mean", "wall_ns_mean", "load_duration_ns_mean", "peak_vram_used_bytes_max",
	"repetitions", "warmup", "max_tokens", "cold", "model_digest", "ollama_version", "error",
	"eval_rate_cv", "ttft_ns_cv", "tpot_ns_mean", "itl_p99_ns_mean", "longest_stall_ns_max", "unstable_reason", "decode_mismatches",
}

// WriteHistoryCSV writes a listing as CSV with HistoryCSVHeader. Summary
// fields are empty for benchmarks that did not finish.
func WriteHistoryCSV(w io.Writer, bs []*benchdv1.Benchmark) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(HistoryCSVHeader); err != nil {
		return err
	}
	for _, b := range bs {
		f := b.GetFinished()
		num := csvNum
		created := ""
		if t := createdAt(b); !t.IsZero() {
			created = t.UTC().Format(time.RFC3339Nano)
		}
		trials := ""
		if f != nil {
			trials = strconv.Itoa(int(f.GetTrials()))
		}
		s := settings(b)
		mismatches := ""
		if f != nil {
			mismatches = strconv.Itoa(int(f.GetDecodeMismatches()))
		}
		if err := cw.Write([]string{
			ID(b), created, Model(b), State(b), trials,
			num(f.GetEvalRate(), f.GetEvalRate().GetMean()), num(f.GetEvalRate(), f.GetEvalRate().GetStddev()),
			num(f.GetPromptEvalRate(), f.GetPromptEvalRate().GetMean()), num(f.GetPromptEvalRate(), f.GetPromptEvalRate().GetStddev()),
			num(f.GetTtftNs(), f.GetTtftNs().GetMean()), num(f.GetWallNs(), f.GetWallNs().GetMean()),
			num(f.GetLoadDurationNs(), f.GetLoadDurationNs().GetMean()), num(f.GetPeakVramUsedBytes(), f.GetPeakVramUsedBytes().GetMax()),
			strconv.Itoa(int(s.GetRepetitions())), strconv.Itoa(int(s.GetWarmup())), strconv.Itoa(int(s.GetMaxTokens())),
			strconv.FormatBool(s.GetCold()), b.GetStarted().GetModelInfo().GetDigest(), b.GetStarted().GetOllamaVersion(),
			b.GetErrorMessage(),
			num(f.GetEvalRate(), f.GetEvalRate().GetCv()), num(f.GetTtftNs(), f.GetTtftNs().GetCv()),
			num(f.GetTpotNs(), f.GetTpotNs().GetMean()), num(f.GetItlP99Ns(), f.GetItlP99Ns().GetMean()),
			num(f.GetLongestStallNs(), f.GetLongestStallNs().GetMax()), f.GetUnstableReason(), mismatches,
		}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
