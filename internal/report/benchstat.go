package report

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// WriteBenchstat writes the measured trials of the benchmarks in the Go
// benchmark format (golang.org/design/14313-benchmark-format), one result
// line per trial, so that `benchstat old.txt new.txt` compares two sets of
// runs:
//
//	BenchmarkEval/model=tiny 1 53500000 ns/op 2233.8 tok/s 6013 prompt-tok/s 26500000 ttft-ns 5100000 load-ns 1073741824 peak-vram-B 447000 tpot-ns 1200000 itl-p99-ns
//
// (tpot-ns and itl-p99-ns where the trial has token timing of at least two
// chunks.) A concurrency run's requests are named by their level,
// "BenchmarkEval/model=tiny/concurrency=4", with their queue-ns.
// One iteration is one generation: ns/op is its wall time. Unit lines tell
// benchstat that higher rates are better. Details of each run go on "#"
// lines, which the format ignores; no per-run configuration line is
// written, because benchstat puts results whose file-level configuration
// differs into separate tables and would then compare nothing.
func WriteBenchstat(w io.Writer, bs ...*benchdv1.Benchmark) error {
	fmt.Fprintln(w, "# benchd results in the Go benchmark format; compare two files with: benchstat old.txt new.txt")
	fmt.Fprintln(w, "Unit tok/s better=higher")
	fmt.Fprintln(w, "Unit prompt-tok/s better=higher")
	for _, b := range bs {
		fmt.Fprintf(w, "# benchmark %s: %s", ID(b), modelLine(b))
		if v := b.GetStarted().GetOllamaVersion(); v != "" {
			fmt.Fprintf(w, ", ollama %s", v)
		}
		if s := settingsLine(b); s != "" {
			fmt.Fprintf(w, "; %s", s)
		}
		fmt.Fprintln(w)
		if m := machineLine(b); m != "" {
			fmt.Fprintf(w, "# %s\n", m)
		}
		sweep, conc := IsSweep(b), IsConcurrency(b)
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
		for _, t := range Measured(b) {
			name := BenchstatName(Model(b))
			if sweep {
				c := trialCell(b, t)
				name = BenchstatName(c.GetModel(), cellKeys(b, c)...)
			}
			timing := ""
			if tt := t.GetTokenTiming(); tt.GetChunks() >= 2 {
				timing = fmt.Sprintf("\t%d tpot-ns\t%d itl-p99-ns", tt.GetTpotNs(), tt.GetItlP99Ns())
			}
			if conc {
				name = BenchstatName(Model(b), fmt.Sprintf("concurrency=%d", trialLevel(b, t).GetConcurrency()))
				timing += fmt.Sprintf("\t%d queue-ns", t.GetQueueNs())
			}
			if _, err := fmt.Fprintf(w, "%s\t1\t%d ns/op\t%s tok/s\t%s prompt-tok/s\t%d ttft-ns\t%d load-ns\t%d peak-vram-B%s\n",
				name, t.GetWallNs(), f(t.GetEvalRate()), f(t.GetPromptEvalRate()), t.GetTtftNs(), t.GetLoadDurationNs(),
				t.GetPeakVramUsedBytes(), timing); err != nil {
				return err
			}
		}
	}
	return nil
}

var trailingProcs = regexp.MustCompile(`-[0-9]+$`)

// BenchstatName is the benchmark name of a model's results:
// "BenchmarkEval/model=NAME", then keys such as "num_ctx=512" (a sweep
// cell's settings) as further sub-benchmark keys. A "/" in the name (a
// namespace) would start a new sub-benchmark key, so it becomes "_"; a
// name ending in "-DIGITS" gets "-1" appended so that the format's
// GOMAXPROCS suffix does not eat it.
func BenchstatName(model string, keys ...string) string {
	n := "BenchmarkEval/model=" + strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '\t' {
			return '_'
		}
		return r
	}, model)
	for _, k := range keys {
		n += "/" + k
	}
	if trailingProcs.MatchString(n) {
		n += "-1"
	}
	return n
}
