package report

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// GPUTable writes one sample of every GPU's memory and telemetry. A value
// the GPU does not report is "-", never 0.
func GPUTable(w io.Writer, gpus []*benchdv1.GPU) error {
	if len(gpus) == 0 {
		_, err := fmt.Fprintln(w, "no GPUs")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "gpu\tname\tvram used\tvram total\tpower\tedge\tjunction\tmemory\tbusy\tcore\tmem clk\tsource\t")
	for _, g := range gpus {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", g.GetIndex(), g.GetName(),
			BytesIEC(g.GetUsedBytes()), BytesIEC(g.GetTotalBytes()),
			opt(g.PowerWatts, 1, " W"), opt(g.TemperatureEdgeCelsius, 0, " °C"), opt(g.TemperatureJunctionCelsius, 0, " °C"),
			opt(g.TemperatureMemoryCelsius, 0, " °C"), opt(g.BusyPercent, 0, "%"), opt(g.CoreClockMhz, 0, " MHz"),
			opt(g.MemoryClockMhz, 0, " MHz"), g.GetSource())
	}
	return tw.Flush()
}

// opt formats an optional value, "-" when absent.
func opt(v *float64, prec int, unit string) string {
	if v == nil {
		return "-"
	}
	return optP(v, prec) + unit
}

// EnergyCell is a span's energy for a table: joules and joules per output
// token, "-" without power readings, "~" marking a span shorter than the
// sensor's averaging window.
func EnergyCell(e *benchdv1.Energy) (joules, perToken string) {
	if e == nil {
		return "-", "-"
	}
	mark := ""
	if e.GetShortWindowReason() != "" {
		mark = "~"
	}
	joules = mark + strconv.FormatFloat(e.GetJoules(), 'f', 1, 64)
	perToken = "-"
	if e.JoulesPerOutputToken != nil {
		perToken = mark + strconv.FormatFloat(e.GetJoulesPerOutputToken(), 'f', 3, 64)
	}
	return joules, perToken
}
