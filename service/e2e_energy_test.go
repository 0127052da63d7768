package service_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/testrig"
	"github.com/benchd/benchd/internal/testrig/simgpu"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// TestEnergyOnTheRigWithAPowerRamp runs a benchmark on the rig's real
// ollama while the (simulated amdgpu sysfs) GPU's power climbs as a known
// ramp, read through benchd's real sysfs reader every 10 ms (the tiny
// model's trials take a few hundred ms: at 4 Hz most would get one
// sample and be flagged as shorter than the sensor's window); each trial's
// energy must be within 1% of the ramp's exact integral over the trial's
// span, and the run's figures must add up.
func TestEnergyOnTheRigWithAPowerRamp(t *testing.T) {
	container := testrig.Ollama(t)
	power := func(s float64) float64 { return 90 + 25*s + 2*s*s } // W, s since the ramp began
	ramp, err := simgpu.New(filepath.Join(t.TempDir(), "sys"), testrig.SimGPU{Card: 0, TotalBytes: 16 << 30, UsedBytes: 1 << 30,
		EdgeC: 40, JunctionC: 45, MemC: 50, CoreMHz: 2000, MemMHz: 1000}, power)
	if err != nil {
		t.Fatal(err)
	}
	st := newStackWith(t, container, daemon.WithVRAM(ramp))
	c := rawClient(t, st.sock)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := testrig.RunStored(t, ctx, c, &benchdv1.RunBenchmarkRequest{Model: testrig.Model, Repetitions: proto.Uint32(3),
		Warmup: proto.Uint32(1), MaxTokens: proto.Uint32(1024), VramSampleInterval: durationpb.New(10 * time.Millisecond)})
	idle := rec.GetStarted().GetIdlePower()
	if idle == nil || idle.GetSamples() < 2 {
		t.Fatalf("no idle baseline: %+v", idle)
	}
	sum, tokens := 0.0, int64(0)
	for _, tr := range rec.GetTrials() {
		e := tr.GetEnergy()
		if e == nil || e.GetStartedAt() == nil {
			t.Fatalf("trial %d: energy %+v", tr.GetIndex(), e)
		}
		start := e.GetStartedAt().AsTime()
		exact := ramp.Joules(start, start.Add(time.Duration(e.GetDurationNs())))
		if r := math.Abs(e.GetJoules()-exact) / exact; r > 0.01 {
			t.Errorf("trial %d: %.3f J, the ramp's integral is %.3f J: off by %.2f%%", tr.GetIndex(), e.GetJoules(), exact, 100*r)
		}
		wantNet := e.GetJoules() - idle.GetWatts()*float64(e.GetDurationNs())/1e9
		if math.Abs(e.GetNetJoules()-wantNet) > 1e-6 || e.GetPeakWatts() < e.GetAverageWatts()*(1-1e-12) {
			t.Errorf("trial %d: net %v want %v; peak %v avg %v", tr.GetIndex(), e.GetNetJoules(), wantNet, e.GetPeakWatts(), e.GetAverageWatts())
		}
		t.Logf("trial %d (warm-up %v): %d tokens in %v, %.3f J (exact %.3f J), avg %.1f W, peak %.1f W, %.4f J/token, %.2f tokens/J, net %.3f J, %d samples %s",
			tr.GetIndex(), tr.GetWarmup(), tr.GetEvalCount(), time.Duration(e.GetDurationNs()).Round(time.Millisecond), e.GetJoules(), exact,
			e.GetAverageWatts(), e.GetPeakWatts(), e.GetJoulesPerOutputToken(), e.GetOutputTokensPerJoule(), e.GetNetJoules(), e.GetSamples(), e.GetShortWindowReason())
		if !tr.GetWarmup() {
			sum += e.GetJoules()
			tokens += tr.GetEvalCount()
		}
	}
	fe := rec.GetFinished().GetEnergy()
	if math.Abs(fe.GetJoules()-sum) > 1e-9 || math.Abs(fe.GetJoulesPerOutputToken()-sum/float64(tokens)) > 1e-12 {
		t.Fatalf("run energy %+v; trials sum to %v J over %d tokens", fe, sum, tokens)
	}
	t.Logf("run: %.3f J, %.4f J/token, idle %.1f W", fe.GetJoules(), fe.GetJoulesPerOutputToken(), idle.GetWatts())
}
