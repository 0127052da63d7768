package report

import (
	"fmt"
	"io"
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
		fmt.Fprintln(tw, "trial\tkind\tloaded\tprompt tok\tprompt tok/s\tgen tok\tgen tok/s\tttft\tload\ttotal\twall\tpeak VRAM\t")
		for _, t := range b.GetTrials() {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%.1f\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t\n",
				t.GetIndex(), trialKind(t), yesNo(t.GetModelLoadedAtStart()), t.GetPromptEvalCount(), t.GetPromptEvalRate(),
				t.GetEvalCount(), t.GetEvalRate(), ms(float64(t.GetTtftNs())), ms(float64(t.GetLoadDurationNs())),
				ms(float64(t.GetTotalDurationNs())), ms(float64(t.GetWallNs())), peakVRAM(t))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		writeInvalid(w, b)
	}
	f := b.GetFinished()
	if f == nil {
		return nil
	}
	fmt.Fprintf(w, "\nsummary over %d measured trials\n", f.GetTrials())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tmean\tstddev\tmin\tp50\tp95\tmax\t")
	for _, r := range summaryRows {
		s, k := r.get(f), r.kind
		if s.GetN() == 0 {
			continue // e.g. peak VRAM when nothing was sampled
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.name, k.format(s.GetMean()), k.format(s.GetStddev()),
			k.format(s.GetMin()), k.format(s.GetP50()), k.format(s.GetP95()), k.format(s.GetMax()))
	}
	return tw.Flush()
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

// writeInvalid lists why trials were left out of the summary, if any were.
func writeInvalid(w io.Writer, b *benchdv1.Benchmark) {
	for _, t := range b.GetTrials() {
		if r := t.GetInvalidReason(); r != "" {
			fmt.Fprintf(w, "trial %d is invalid, left out of the summary: %s\n", t.GetIndex(), r)
		}
	}
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
	fmt.Fprintln(tw, "ID\tSTARTED\tMODEL\tSTATE\tTRIALS\tGEN TOK/S\tPROMPT TOK/S\tTTFT\tPEAK VRAM")
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ID(b), started, Model(b), State(b), trials,
			meanSD(f.GetEvalRate(), rateKind), meanSD(f.GetPromptEvalRate(), rateKind), ttft, vram)
	}
	return tw.Flush()
}
