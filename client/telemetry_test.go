package client

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// TestGPUTelemetryIsTyped: every optional telemetry field of the GPU
// message reaches a typed field, and one the GPU does not report stays nil
// rather than becoming 0.
func TestGPUTelemetryIsTyped(t *testing.T) {
	g := &benchdv1.GPU{Name: "MI300X", PowerWindow: durationpb.New(time.Second)}
	// Each optional double gets a value of its own: a field mapped to the
	// wrong typed field, or not at all, shows.
	m := g.ProtoReflect()
	fields := m.Descriptor().Fields()
	want := map[float64]bool{}
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.HasOptionalKeyword() && fd.Kind() == protoreflect.DoubleKind {
			v := float64(100 + fd.Number())
			m.Set(fd, protoreflect.ValueOfFloat64(v))
			want[v] = true
		}
	}
	if len(want) != 8 {
		t.Fatalf("%d optional telemetry fields in GPU, this test knows 8: map the new ones", len(want))
	}
	got := gpusFromProto([]*benchdv1.GPU{g})[0]
	typed := []*float64{got.PowerWatts, got.EnergyJoules, got.EdgeCelsius, got.JunctionCelsius, got.MemoryCelsius,
		got.BusyPercent, got.CoreClockMHz, got.MemoryClockMHz}
	byNumber := []protoreflect.FieldNumber{8, 9, 10, 11, 12, 13, 14, 15}
	for i, p := range typed {
		if p == nil || *p != float64(100+byNumber[i]) {
			t.Errorf("typed field %d = %v, want field %d's value %v", i, p, byNumber[i], 100+byNumber[i])
		}
	}
	if got.PowerWindow != time.Second {
		t.Errorf("PowerWindow %v, want 1s", got.PowerWindow)
	}
	bare := gpusFromProto([]*benchdv1.GPU{{Name: "MI300X"}})[0]
	for i, p := range []*float64{bare.PowerWatts, bare.EnergyJoules, bare.EdgeCelsius, bare.JunctionCelsius,
		bare.MemoryCelsius, bare.BusyPercent, bare.CoreClockMHz, bare.MemoryClockMHz} {
		if p != nil {
			t.Errorf("typed field %d of a GPU that reports no telemetry = %v, want nil", i, *p)
		}
	}
}

// TestEnergyIsTyped: a run's idle baseline and the energy of its trials,
// its summary, its sweep cells and its concurrency levels reach the typed
// result; where the record has none, the field is nil.
func TestEnergyIsTyped(t *testing.T) {
	jpt, net := 0.25, 80.0
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	energy := func(j float64) *benchdv1.Energy {
		return &benchdv1.Energy{Joules: j, NetJoules: proto.Float64(net), AverageWatts: 300, PeakWatts: 410,
			JoulesPerOutputToken: proto.Float64(jpt), OutputTokensPerJoule: proto.Float64(1 / jpt),
			DurationNs: int64(time.Second), Method: "counter", Samples: 4, ShortWindowReason: "short",
			StartedAt: timestamppb.New(at)}
	}
	rec := &benchdv1.Benchmark{
		BenchmarkId: "20261130T120000Z-00000001",
		Started:     &benchdv1.BenchmarkStarted{IdlePower: &benchdv1.IdlePower{Watts: 90, Samples: 5, DurationNs: int64(time.Second)}},
		Trials:      []*benchdv1.Trial{{Index: 0, Energy: energy(1)}, {Index: 1}},
		Cells:       []*benchdv1.SweepCell{{Index: 0, Energy: energy(2)}},
		Levels:      []*benchdv1.ConcurrencyLevel{{Index: 0, Energy: energy(3)}},
		Finished:    &benchdv1.BenchmarkFinished{Energy: energy(4)},
	}
	res := resultFromProto(rec)
	check := func(what string, e *Energy, joules float64) {
		t.Helper()
		if e == nil {
			t.Errorf("%s: no energy", what)
			return
		}
		if e.Joules != joules || e.NetJoules == nil || *e.NetJoules != net || e.AverageWatts != 300 || e.PeakWatts != 410 ||
			e.JoulesPerOutputToken == nil || *e.JoulesPerOutputToken != jpt || e.OutputTokensPerJoule == nil || *e.OutputTokensPerJoule != 1/jpt ||
			e.NetJoulesPerOutputToken != nil || e.Duration != time.Second || e.Method != "counter" || e.Samples != 4 ||
			e.ShortWindowReason != "short" || !e.StartedAt.Equal(at) {
			t.Errorf("%s: %+v", what, *e)
		}
	}
	check("trial 0", res.Trials[0].Energy, 1)
	check("cell 0", res.Cells[0].Energy, 2)
	check("level 0", res.Levels[0].Energy, 3)
	check("summary", res.Summary.Energy, 4)
	if res.Trials[1].Energy != nil {
		t.Errorf("trial 1 has no energy in the record, typed %+v", *res.Trials[1].Energy)
	}
	if ip := res.IdlePower; ip == nil || ip.Watts != 90 || ip.Samples != 5 || ip.Duration != time.Second {
		t.Errorf("idle power %+v", ip)
	}
	if resultFromProto(&benchdv1.Benchmark{Started: &benchdv1.BenchmarkStarted{}}).IdlePower != nil {
		t.Error("a run without an idle baseline has one typed")
	}
}
