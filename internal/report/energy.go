package report

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// writeEnergy writes the energy of each trial, sweep cell and concurrency
// level that has it, and of the run, as a table after the trials: nothing
// when no GPU reported power. A "~" marks a span shorter than the power
// sensor's averaging window.
func writeEnergy(w io.Writer, b *benchdv1.Benchmark) error {
	type row struct {
		what string
		e    *benchdv1.Energy
	}
	var rows []row
	for _, t := range b.GetTrials() {
		if t.GetEnergy() != nil {
			rows = append(rows, row{fmt.Sprintf("trial %d%s", t.GetIndex(), cellOf(b, t)), t.GetEnergy()})
		}
	}
	for _, c := range b.GetCells() {
		if c.GetEnergy() != nil {
			rows = append(rows, row{fmt.Sprintf("cell %d", c.GetIndex()), c.GetEnergy()})
		}
	}
	for _, l := range b.GetLevels() {
		if l.GetEnergy() != nil {
			rows = append(rows, row{fmt.Sprintf("level %d (x%d)", l.GetIndex(), l.GetConcurrency()), l.GetEnergy()})
		}
	}
	if e := b.GetFinished().GetEnergy(); e != nil {
		rows = append(rows, row{"measured trials", e})
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprint(w, "\nGPU energy")
	if idle := b.GetStarted().GetIdlePower(); idle != nil {
		fmt.Fprintf(w, " (idle %.1f W over %v)", idle.GetWatts(), time.Duration(idle.GetDurationNs()).Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "span\tenergy J\tnet J\tavg W\tpeak W\tJ/tok\ttok/J\tmethod\t")
	short := false
	for _, r := range rows {
		j, jpt := EnergyCell(r.e)
		short = short || r.e.GetShortWindowReason() != ""
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.1f\t%s\t%s\t%s\t\n", r.what, j, optP(r.e.NetJoules, 1), r.e.GetAverageWatts(),
			r.e.GetPeakWatts(), jpt, optP(r.e.OutputTokensPerJoule, 2), r.e.GetMethod())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if short {
		fmt.Fprintln(w, "~ shorter than the power sensor's averaging window (about 1 s): the figure is uncertain")
	}
	return nil
}

func cellOf(b *benchdv1.Benchmark, t *benchdv1.Trial) string {
	if len(b.GetCells()) > 0 {
		return " of cell " + strconv.Itoa(int(t.GetCell()))
	}
	return ""
}

func optP(v *float64, prec int) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', prec, 64)
}
