package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/benchd/benchd/client"
)

func printResult(w io.Writer, r *client.Result) {
	s := r.Started
	fmt.Fprintf(w, "benchmark %s  model %s  digest %.12s  %s %s  ollama %s\n\n",
		s.BenchmarkID, s.Model, trimDigest(s.ModelInfo.Digest), s.ModelInfo.ParameterSize, s.ModelInfo.QuantizationLevel, s.OllamaVersion)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "trial\tkind\tprompt tok\tprompt tok/s\tgen tok\tgen tok/s\tttft\tload\ttotal\twall\tpeak VRAM\t")
	for _, t := range r.Trials {
		kind := "measured"
		if t.Warmup {
			kind = "warm-up"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%.1f\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t\n",
			t.Index, kind, t.PromptEvalCount, t.PromptEvalRate, t.EvalCount, t.EvalRate,
			ms(t.TTFT), ms(t.LoadDuration), ms(t.TotalDuration), ms(t.Wall), bytesIEC(t.PeakVRAMUsedBytes))
	}
	tw.Flush()
	if r.Summary == nil {
		return
	}
	sm := r.Summary
	fmt.Fprintf(w, "\nsummary over %d measured trials\n", sm.Trials)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tmean\tstddev\tmin\tp50\tp95\tmax\t")
	row := func(name string, st client.Stats, f func(float64) string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, f(st.Mean), f(st.Stddev), f(st.Min), f(st.P50), f(st.P95), f(st.Max))
	}
	rate := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	dur := func(v float64) string { return ms(time.Duration(v)) }
	row("gen tok/s", sm.EvalRate, rate)
	row("prompt tok/s", sm.PromptEvalRate, rate)
	row("ttft", sm.TTFTNs, dur)
	row("total", sm.TotalDurationNs, dur)
	row("wall", sm.WallNs, dur)
	row("peak VRAM", sm.PeakVRAMUsedBytes, func(v float64) string { return bytesIEC(uint64(v)) })
	tw.Flush()
}

func printGPUs(w io.Writer, gpus []client.GPU) {
	if len(gpus) == 0 {
		fmt.Fprintln(w, "no GPUs")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "gpu\tname\tvendor\tused\ttotal\tsource")
	for _, g := range gpus {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", g.Index, g.Name, g.Vendor, bytesIEC(g.UsedBytes), bytesIEC(g.TotalBytes), g.Source)
	}
	tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func bytesIEC(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

func trimDigest(d string) string {
	if len(d) > 7 && d[:7] == "sha256:" {
		return d[7:]
	}
	return d
}
