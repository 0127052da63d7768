package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

func energyRun() *benchdv1.Benchmark {
	f := func(v float64) *float64 { return &v }
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	b := &benchdv1.Benchmark{BenchmarkId: "20261130T120000Z-0123abcd", Model: "tiny",
		Started: &benchdv1.BenchmarkStarted{StartedAt: timestamppb.New(t0), IdlePower: &benchdv1.IdlePower{Watts: 40, Samples: 8, DurationNs: 2e9}},
		Trials: []*benchdv1.Trial{
			{Index: 0, EvalCount: 100, Energy: &benchdv1.Energy{Joules: 150, NetJoules: f(70), AverageWatts: 75, PeakWatts: 90,
				JoulesPerOutputToken: f(1.5), OutputTokensPerJoule: f(0.6667), Method: "integrated", DurationNs: 2e9}},
			{Index: 1, EvalCount: 10, Energy: &benchdv1.Energy{Joules: 30, AverageWatts: 60, PeakWatts: 60,
				JoulesPerOutputToken: f(3), Method: "integrated", DurationNs: 5e8, ShortWindowReason: "short"}},
		},
		Finished: &benchdv1.BenchmarkFinished{Trials: 2, Energy: &benchdv1.Energy{Joules: 180, JoulesPerOutputToken: f(180.0 / 110), Method: "integrated"}},
	}
	for i := range 8 {
		b.VramTimeline = append(b.VramTimeline, &benchdv1.VRAMSample{SampledAt: timestamppb.New(t0.Add(time.Duration(i) * 250 * time.Millisecond)),
			TrialIndex: uint32(i / 4), Gpus: []*benchdv1.GPUPeak{{Index: 0, UsedBytes: 1 << 30, PowerWatts: f(50 + 5*float64(i))}}})
	}
	return b
}

func TestWriteTableEnergy(t *testing.T) {
	var w bytes.Buffer
	if err := WriteTable(&w, energyRun()); err != nil {
		t.Fatal(err)
	}
	out := strings.Join(strings.Fields(w.String()), " ")
	for _, want := range []string{
		"GPU energy (idle 40.0 W over 2s)",
		"span energy J net J avg W peak W J/tok tok/J method",
		"trial 0 150.0 70.0 75.0 90.0 1.500 0.67 integrated",
		"trial 1 ~30.0 - 60.0 60.0 ~3.000 - integrated",
		"measured trials 180.0 - 0.0 0.0 1.636 - integrated",
		"~ shorter than the power sensor's averaging window",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	var plain bytes.Buffer
	b := energyRun()
	for _, tr := range b.Trials {
		tr.Energy = nil
	}
	b.Finished.Energy = nil
	if err := WriteTable(&plain, b); err != nil || strings.Contains(plain.String(), "GPU energy") {
		t.Fatalf("a run without energy has an energy table (%v):\n%s", err, plain.String())
	}
}

func TestChartHasPowerPanel(t *testing.T) {
	var w bytes.Buffer
	b := energyRun()
	if err := Chart(&w, SVG, []*benchdv1.Benchmark{b}, b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(w.String(), "GPU power, W (measured trials: 180.0 J, 1.636 J/token)") || !strings.Contains(w.String(), "idle 40.0 W") {
		t.Fatal("chart lacks the power panel")
	}
	for _, s := range b.VramTimeline {
		s.Gpus[0].PowerWatts = nil
	}
	w.Reset()
	if err := Chart(&w, SVG, []*benchdv1.Benchmark{b}, b); err != nil || strings.Contains(w.String(), "GPU power") {
		t.Fatalf("a timeline without power got a power panel (%v)", err)
	}
}
