package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// summaryRows are the metrics of the summary tables, in order.
var summaryRows = []struct {
	name string
	get  func(*benchdv1.BenchmarkFinished) *benchdv1.Summary
	kind unitKind
}{
	{"gen tok/s", (*benchdv1.BenchmarkFinished).GetEvalRate, rateKind},
	{"prompt tok/s", (*benchdv1.BenchmarkFinished).GetPromptEvalRate, rateKind},
	{"ttft", (*benchdv1.BenchmarkFinished).GetTtftNs, durationKind},
	{"load", (*benchdv1.BenchmarkFinished).GetLoadDurationNs, durationKind},
	{"total", (*benchdv1.BenchmarkFinished).GetTotalDurationNs, durationKind},
	{"wall", (*benchdv1.BenchmarkFinished).GetWallNs, durationKind},
	{"peak VRAM", (*benchdv1.BenchmarkFinished).GetPeakVramUsedBytes, bytesKind},
	{"tpot", (*benchdv1.BenchmarkFinished).GetTpotNs, durationKind},
	{"itl p50", (*benchdv1.BenchmarkFinished).GetItlP50Ns, durationKind},
	{"itl p99", (*benchdv1.BenchmarkFinished).GetItlP99Ns, durationKind},
	{"stall", (*benchdv1.BenchmarkFinished).GetLongestStallNs, durationKind},
}

// summaryCells are a summary row's cells after the metric's name, in the
// order of summaryHeader; older (see olderSummary) shows "-" for the
// figures such a record lacks.
func summaryCells(s *benchdv1.Summary, k unitKind, older bool) []string {
	tail := func(v float64) string {
		if older {
			return "-"
		}
		return k.format(v)
	}
	cv := cvCell(s)
	if older {
		cv = "-"
	}
	return []string{k.format(s.GetMean()), k.format(s.GetStddev()), cv, k.format(s.GetMin()),
		k.format(s.GetP50()), tail(s.GetP90()), k.format(s.GetP95()), tail(s.GetP99()), k.format(s.GetMax())}
}

// olderSummary says a record is from before p90, p99 and cv, which it
// holds as 0: benchd sets the token-timing summaries (n 0 without token
// timing) since it sets those.
func olderSummary(f *benchdv1.BenchmarkFinished) bool { return f.GetTpotNs() == nil }

// summaryHeader names the columns of summaryCells.
var summaryHeader = []string{"mean", "stddev", "cv", "min", "p50", "p90", "p95", "p99", "max"}

// cvCell is the coefficient of variation in percent, "-" without spread
// to speak of (n < 2).
func cvCell(s *benchdv1.Summary) string {
	if s.GetN() < 2 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*s.GetCv())
}

// trialTimingCells are a trial's token-timing cells: inter-token latency
// p50 and p99 and the longest stall, "-" without token timing.
func trialTimingCells(t *benchdv1.Trial) []string {
	tt := t.GetTokenTiming()
	if tt == nil {
		return []string{"-", "-", "-"}
	}
	if tt.GetChunks() < 2 {
		return []string{"-", "-", ms(float64(tt.GetLongestStallNs()))}
	}
	return []string{ms(float64(tt.GetItlP50Ns())), ms(float64(tt.GetItlP99Ns())), ms(float64(tt.GetLongestStallNs()))}
}

// Marks of a trial in the tables' marks column; the lines under the table
// say what each marked trial's is.
const (
	// markDecode: the trial's decode time from ollama's chunk stamps
	// disagrees with ollama's eval_duration (Trial.decode_mismatch_reason).
	markDecode = "D"
	// markArrival: ollama's chunk stamps were unusable; the token timing
	// is as received by benchd (TokenTiming.ollama_clock false).
	markArrival = "R"
)

// marks are a trial's marks, "" for none.
func marks(t *benchdv1.Trial) string {
	m := ""
	if t.GetDecodeMismatchReason() != "" {
		m += markDecode
	}
	if tt := t.GetTokenTiming(); tt != nil && !tt.GetOllamaClock() {
		m += markArrival
	}
	return m
}

// flagLines say why trials were left out of the summary or marked, and
// whether the run is unstable: the lines under a benchmark's tables.
func flagLines(b *benchdv1.Benchmark) []string {
	var out []string
	for _, t := range b.GetTrials() {
		if r := t.GetInvalidReason(); r != "" {
			out = append(out, fmt.Sprintf("trial %d is invalid, left out of the summary: %s", t.GetIndex(), r))
		}
		if r := t.GetDecodeMismatchReason(); r != "" {
			out = append(out, fmt.Sprintf("%s trial %d: %s", markDecode, t.GetIndex(), r))
		}
		if tt := t.GetTokenTiming(); tt != nil && !tt.GetOllamaClock() {
			out = append(out, fmt.Sprintf("%s trial %d: ollama's chunk stamps were unusable; its token timing is as received by benchd", markArrival, t.GetIndex()))
		}
	}
	return out
}

// unstableLine says the run is unstable, "" when it is not.
func unstableLine(f *benchdv1.BenchmarkFinished) string {
	if r := f.GetUnstableReason(); r != "" {
		return fmt.Sprintf("unstable: %s; the means are less certain than %d trials suggest", r, f.GetTrials())
	}
	return ""
}

type unitKind int

const (
	rateKind unitKind = iota
	durationKind
	bytesKind
)

func (k unitKind) format(v float64) string {
	switch k {
	case durationKind:
		return ms(v)
	case bytesKind:
		if v < 0 {
			return "-" + BytesIEC(uint64(-v))
		}
		return BytesIEC(uint64(v))
	}
	return fmt.Sprintf("%.1f", v)
}

// WriteTable prints one benchmark for a person: what was measured and
// where, a row per trial and the summary over the measured trials.
func WriteTable(w io.Writer, b *benchdv1.Benchmark) error {
	st := b.GetStarted()
	mi := st.GetModelInfo()
	fmt.Fprintf(w, "benchmark %s  model %s  digest %.12s  %s %s  ollama %s\n",
		ID(b), Model(b), trimDigest(mi.GetDigest()), mi.GetParameterSize(), mi.GetQuantizationLevel(), st.GetOllamaVersion())
	line := "state " + State(b)
	if t := createdAt(b); !t.IsZero() {
		line += "  started " + t.Local().Format(time.DateTime)
	}
	if s := settingsLine(b); s != "" {
		line += "  " + s
	}
	fmt.Fprintln(w, line)
	if m := machineLine(b); m != "" {
		fmt.Fprintln(w, m)
	}
	if msg := b.GetErrorMessage(); msg != "" {
		fmt.Fprintf(w, "ended with: %s\n", msg)
	}
	fmt.Fprintln(w)
	if len(b.GetTrials()) == 0 {
		fmt.Fprintln(w, "no trials")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, trialHeader(b)+"\tkind\tloaded\tprompt tok\tprompt tok/s\tgen tok\tgen tok/s\tttft\tload\ttotal\twall\tpeak VRAM\titl p50\titl p99\tstall\tmarks\t")
		for _, t := range b.GetTrials() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
				trialLabel(b, t), trialKind(t), yesNo(t.GetModelLoadedAtStart()), t.GetPromptEvalCount(), t.GetPromptEvalRate(),
				t.GetEvalCount(), t.GetEvalRate(), ms(float64(t.GetTtftNs())), ms(float64(t.GetLoadDurationNs())),
				ms(float64(t.GetTotalDurationNs())), ms(float64(t.GetWallNs())), peakVRAM(t),
				strings.Join(trialTimingCells(t), "\t"), marks(t))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, l := range flagLines(b) {
			fmt.Fprintln(w, l)
		}
	}
	if err := writeEnergy(w, b); err != nil {
		return err
	}
	if IsSweep(b) {
		if err := writeCells(w, b); err != nil {
			return err
		}
	}
	if IsConcurrency(b) {
		if err := writeLevels(w, b); err != nil {
			return err
		}
	}
	f := b.GetFinished()
	if f == nil {
		return nil
	}
	fmt.Fprintf(w, "\nsummary over %d measured trials\n", f.GetTrials())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "metric\t%s\t\n", strings.Join(summaryHeader, "\t"))
	for _, r := range summaryRows {
		s, k := r.get(f), r.kind
		if s.GetN() == 0 {
			continue // e.g. peak VRAM when nothing was sampled
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", r.name, strings.Join(summaryCells(s, k, olderSummary(f)), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if l := unstableLine(f); l != "" {
		fmt.Fprintln(w, l)
	}
	return nil
}

// trialHeader names the trial column: "cell/trial" in a sweep, whose
// trials count within their cell, "level/trial" in a concurrency run.
func trialHeader(b *benchdv1.Benchmark) string {
	switch {
	case IsSweep(b):
		return "cell/trial"
	case IsConcurrency(b):
		return "level/trial"
	}
	return "trial"
}

// trialLabel is a trial's place under trialHeader: "3", or in a sweep
// "2/0" (cell 2, its trial 0), in a concurrency run "1/3" (level 1, its
// fourth request sent).
func trialLabel(b *benchdv1.Benchmark, t *benchdv1.Trial) string {
	switch {
	case IsSweep(b):
		return fmt.Sprintf("%d/%d", t.GetCell(), t.GetIndex())
	case IsConcurrency(b):
		return fmt.Sprintf("%d/%d", t.GetLevel(), t.GetIndex())
	}
	return fmt.Sprint(t.GetIndex())
}

// peakVRAM is a trial's peak VRAM, or "-" for a trial without samples.
func peakVRAM(t *benchdv1.Trial) string {
	if len(t.GetPeakVram()) == 0 {
		return "-"
	}
	return BytesIEC(t.GetPeakVramUsedBytes())
}

func trialKind(t *benchdv1.Trial) string {
	switch {
	case t.GetInvalidReason() != "":
		return "invalid"
	case t.GetWarmup():
		return "warm-up"
	}
	return "measured"
}

// runFlags are a listed run's flags: "unstable" and the number of trials
// whose decode time disagrees with ollama's; "-" for none.
func runFlags(f *benchdv1.BenchmarkFinished) string {
	var parts []string
	if f.GetUnstableReason() != "" {
		parts = append(parts, "unstable")
	}
	if n := f.GetDecodeMismatches(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d decode mismatch", n))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// meanSD prints "mean ± stddev" of a summary, or "-" without one.
func meanSD(s *benchdv1.Summary, k unitKind) string {
	if s.GetN() == 0 {
		return "-"
	}
	return k.format(s.GetMean()) + " ± " + k.format(s.GetStddev())
}

// WriteHistoryTable prints a listing, a row per benchmark.
func WriteHistoryTable(w io.Writer, bs []*benchdv1.Benchmark) error {
	if len(bs) == 0 {
		_, err := fmt.Fprintln(w, "no benchmarks")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tMODEL\tSTATE\tTRIALS\tGEN TOK/S\tPROMPT TOK/S\tTTFT\tPEAK VRAM\tFLAGS")
	for _, b := range bs {
		f := b.GetFinished()
		trials := "-"
		if f != nil {
			trials = fmt.Sprint(f.GetTrials())
		}
		started := "-"
		if t := createdAt(b); !t.IsZero() {
			started = t.Local().Format(time.DateTime)
		}
		vram := "-"
		if s := f.GetPeakVramUsedBytes(); s.GetN() > 0 {
			vram = BytesIEC(uint64(s.GetMax()))
		}
		ttft := "-"
		if s := f.GetTtftNs(); s.GetN() > 0 {
			ttft = ms(s.GetMean())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ID(b), started, Model(b), State(b), trials,
			meanSD(f.GetEvalRate(), rateKind), meanSD(f.GetPromptEvalRate(), rateKind), ttft, vram, runFlags(f))
	}
	return tw.Flush()
}
