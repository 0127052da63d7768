package vram

import (
	"math"
	"time"
)

// Value is one optional reading: Set is false when the GPU or its source
// does not report the quantity. A reading that is not reported is absent,
// never zero: 0 W or 0 °C would be a claim about the GPU.
type Value struct {
	V   float64
	Set bool
}

// Of returns a set Value.
func Of(v float64) Value { return Value{V: v, Set: true} }

// Ptr is the value as a pointer, nil when not set: the shape of a proto3
// optional field.
func (v Value) Ptr() *float64 {
	if !v.Set {
		return nil
	}
	x := v.V
	return &x
}

// FromPtr is the inverse of Ptr.
func FromPtr(p *float64) Value {
	if p == nil {
		return Value{}
	}
	return Of(*p)
}

// Telemetry is what a GPU reports besides its memory. Every field may be
// absent: cards, kernels and tool versions differ in what they expose.
type Telemetry struct {
	// PowerW is the board (AMD: package) power draw in watts, averaged by
	// the GPU over PowerWindow.
	PowerW Value
	// PowerWindow is how long the sensor averages PowerW over (0: an
	// instantaneous reading, or unknown when PowerW is absent). A trial
	// shorter than this cannot be resolved by the sensor.
	PowerWindow time.Duration
	// EnergyJ is the GPU's own energy counter in joules, from an
	// unspecified origin (driver load): only differences mean anything.
	EnergyJ Value
	// Temperatures in °C, each only where the source labels it: edge
	// (the die's edge sensor; NVIDIA's one GPU temperature), junction
	// (hotspot) and memory.
	TempEdgeC, TempJunctionC, TempMemoryC Value
	// BusyPercent is the graphics engine's busy (utilisation) percentage.
	BusyPercent Value
	// CoreClockMHz and MemClockMHz are the current shader (sclk, SM) and
	// memory clocks.
	CoreClockMHz, MemClockMHz Value
}

// Any reports whether any field is set.
func (t Telemetry) Any() bool {
	return t.PowerW.Set || t.EnergyJ.Set || t.TempEdgeC.Set || t.TempJunctionC.Set || t.TempMemoryC.Set ||
		t.BusyPercent.Set || t.CoreClockMHz.Set || t.MemClockMHz.Set
}

// sane drops readings no GPU can give (NaN, ±Inf, negative power or
// clocks, busy outside 0–100, temperatures outside -60…300 °C): a value
// like that means a field was misread or the driver returned garbage, and
// an absent value is more honest than a wrong one.
func (t Telemetry) sane() Telemetry {
	check := func(v *Value, lo, hi float64) {
		if v.Set && (math.IsNaN(v.V) || v.V < lo || v.V > hi) {
			*v = Value{}
		}
	}
	check(&t.PowerW, 0, 1e5)
	check(&t.EnergyJ, 0, math.MaxFloat64)
	for _, v := range []*Value{&t.TempEdgeC, &t.TempJunctionC, &t.TempMemoryC} {
		check(v, -60, 300)
	}
	check(&t.BusyPercent, 0, 100)
	check(&t.CoreClockMHz, 0, 1e5)
	check(&t.MemClockMHz, 0, 1e5)
	if !t.PowerW.Set {
		t.PowerWindow = 0
	}
	return t
}
