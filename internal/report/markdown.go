package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// mdCell escapes text for a markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func mdRow(w io.Writer, cells ...string) {
	for i, c := range cells {
		cells[i] = mdCell(c)
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

// mdHeader writes a header row and its alignment row; right-aligned
// columns are marked with a leading ">".
func mdHeader(w io.Writer, cols ...string) {
	align := make([]string, len(cols))
	for i, c := range cols {
		if strings.HasPrefix(c, ">") {
			cols[i], align[i] = c[1:], "---:"
		} else {
			align[i] = "---"
		}
	}
	mdRow(w, cols...)
	fmt.Fprintf(w, "|%s|\n", strings.Join(align, "|"))
}

// WriteMarkdown writes one benchmark as a markdown section: what and
// where, a table of trials and a summary table, ready for an issue or a
// pull request.
func WriteMarkdown(w io.Writer, b *benchdv1.Benchmark) error {
	st := b.GetStarted()
	fmt.Fprintf(w, "### Benchmark `%s`: %s\n\n", ID(b), Model(b))
	mdHeader(w, "", "")
	mdRow(w, "state", State(b))
	if t := createdAt(b); !t.IsZero() {
		mdRow(w, "started", t.UTC().Format(time.RFC3339))
	}
	mdRow(w, "model", modelLine(b))
	if v := st.GetOllamaVersion(); v != "" {
		mdRow(w, "ollama", v)
	}
	if s := settingsLine(b); s != "" {
		mdRow(w, "settings", s)
	}
	if m := machineLine(b); m != "" {
		mdRow(w, "machine", m)
	}
	if msg := b.GetErrorMessage(); msg != "" {
		mdRow(w, "ended with", msg)
	}
	fmt.Fprintln(w)
	if len(b.GetTrials()) > 0 {
		fmt.Fprintln(w, "#### Trials")
		fmt.Fprintln(w)
		mdHeader(w, ">"+trialHeader(b), "kind", "loaded", ">prompt tok", ">prompt tok/s", ">gen tok", ">gen tok/s", ">TTFT", ">load", ">total", ">wall", ">peak VRAM",
			">ITL p50", ">ITL p99", ">stall", "marks")
		for _, t := range b.GetTrials() {
			mdRow(w, append([]string{trialLabel(b, t), trialKind(t), yesNo(t.GetModelLoadedAtStart()),
				fmt.Sprint(t.GetPromptEvalCount()), fmt.Sprintf("%.1f", t.GetPromptEvalRate()),
				fmt.Sprint(t.GetEvalCount()), fmt.Sprintf("%.1f", t.GetEvalRate()),
				ms(float64(t.GetTtftNs())), ms(float64(t.GetLoadDurationNs())), ms(float64(t.GetTotalDurationNs())),
				ms(float64(t.GetWallNs())), peakVRAM(t)}, append(trialTimingCells(t), marks(t))...)...)
		}
		fmt.Fprintln(w)
		if ls := flagLines(b); len(ls) > 0 {
			for _, l := range ls {
				fmt.Fprintf(w, "- %s\n", mdCell(l))
			}
			fmt.Fprintln(w)
		}
	}
	if IsSweep(b) {
		fmt.Fprintf(w, "#### Sweep cells (best by %s)\n\n", objectiveName(sweepObjective(b)))
		if err := writeCellsMarkdown(w, b); err != nil {
			return err
		}
	}
	if IsConcurrency(b) {
		fmt.Fprintf(w, "#### Concurrency levels (%s)\n\n", ParallelSlots(b.GetStarted().GetOllamaNumParallel()))
		if err := writeLevelsMarkdown(w, b); err != nil {
			return err
		}
	}
	if f := b.GetFinished(); f != nil {
		fmt.Fprintf(w, "#### Summary over %d measured trials\n\n", f.GetTrials())
		cols := []string{"metric"}
		for _, h := range summaryHeader {
			cols = append(cols, ">"+h)
		}
		mdHeader(w, cols...)
		for _, r := range summaryRows {
			s, k := r.get(f), r.kind
			if s.GetN() == 0 {
				continue // e.g. peak VRAM when nothing was sampled
			}
			mdRow(w, append([]string{r.name}, summaryCells(s, k, olderSummary(f))...)...)
		}
		fmt.Fprintln(w)
		if l := unstableLine(f); l != "" {
			fmt.Fprintf(w, "**%s**\n\n", mdCell(l))
		}
	}
	return nil
}

// WriteHistoryMarkdown writes a listing as a markdown table.
func WriteHistoryMarkdown(w io.Writer, bs []*benchdv1.Benchmark) error {
	mdHeader(w, "id", "started (UTC)", "model", "state", ">trials", ">gen tok/s", ">prompt tok/s", ">TTFT", ">peak VRAM", "flags")
	for _, b := range bs {
		f := b.GetFinished()
		trials, ttft, vram, started := "-", "-", "-", "-"
		if f != nil {
			trials = fmt.Sprint(f.GetTrials())
		}
		if s := f.GetTtftNs(); s.GetN() > 0 {
			ttft = ms(s.GetMean())
		}
		if s := f.GetPeakVramUsedBytes(); s.GetN() > 0 {
			vram = BytesIEC(uint64(s.GetMax()))
		}
		if t := createdAt(b); !t.IsZero() {
			started = t.UTC().Format(time.DateTime)
		}
		mdRow(w, "`"+ID(b)+"`", started, Model(b), State(b), trials,
			meanSD(f.GetEvalRate(), rateKind), meanSD(f.GetPromptEvalRate(), rateKind), ttft, vram, runFlags(f))
	}
	return nil
}
