package history

import (
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/benchd/benchd/internal/energy"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/vram"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// EnergyToProto converts a span's energy; nil stays nil (no power
// readings).
func EnergyToProto(s *energy.Span) *benchdv1.Energy {
	if s == nil {
		return nil
	}
	e := &benchdv1.Energy{
		Joules:                  s.Joules,
		NetJoules:               s.Net.Ptr(),
		AverageWatts:            s.AvgW,
		PeakWatts:               s.PeakW,
		JoulesPerOutputToken:    s.PerToken().Ptr(),
		OutputTokensPerJoule:    s.TokensPerJoule().Ptr(),
		NetJoulesPerOutputToken: s.NetPerToken().Ptr(),
		DurationNs:              s.Duration.Nanoseconds(),
		Method:                  s.Method,
		Samples:                 uint32(s.Samples),
		ShortWindowReason:       s.ShortWindow,
	}
	if !s.Start.IsZero() {
		e.StartedAt = timestamppb.New(s.Start)
	}
	return e
}

func idleToProto(p *runner.IdlePower) *benchdv1.IdlePower {
	if p == nil {
		return nil
	}
	return &benchdv1.IdlePower{Watts: p.Watts, Samples: uint32(p.Samples), DurationNs: p.Duration.Nanoseconds()}
}

// telemetryToProto fills g's telemetry fields; absent values stay unset.
func telemetryToProto(t vram.Telemetry, g *benchdv1.GPU) {
	g.PowerWatts = t.PowerW.Ptr()
	g.EnergyJoules = t.EnergyJ.Ptr()
	g.TemperatureEdgeCelsius = t.TempEdgeC.Ptr()
	g.TemperatureJunctionCelsius = t.TempJunctionC.Ptr()
	g.TemperatureMemoryCelsius = t.TempMemoryC.Ptr()
	g.BusyPercent = t.BusyPercent.Ptr()
	g.CoreClockMhz = t.CoreClockMHz.Ptr()
	g.MemoryClockMhz = t.MemClockMHz.Ptr()
	if t.PowerW.Set && t.PowerWindow > 0 {
		g.PowerWindow = durationpb.New(t.PowerWindow)
	}
}

// TelemetryFromProto is the inverse of telemetryToProto, for clients.
func TelemetryFromProto(g *benchdv1.GPU) vram.Telemetry {
	return vram.Telemetry{
		PowerW:        vram.FromPtr(g.PowerWatts),
		PowerWindow:   g.GetPowerWindow().AsDuration(),
		EnergyJ:       vram.FromPtr(g.EnergyJoules),
		TempEdgeC:     vram.FromPtr(g.TemperatureEdgeCelsius),
		TempJunctionC: vram.FromPtr(g.TemperatureJunctionCelsius),
		TempMemoryC:   vram.FromPtr(g.TemperatureMemoryCelsius),
		BusyPercent:   vram.FromPtr(g.BusyPercent),
		CoreClockMHz:  vram.FromPtr(g.CoreClockMhz),
		MemClockMHz:   vram.FromPtr(g.MemoryClockMhz),
	}
}
