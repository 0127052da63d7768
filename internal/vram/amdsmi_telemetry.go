package vram

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ParseAMDSMITelemetry parses the output of `amd-smi metric --power
// --temperature --usage --clock --energy --json` (amdSMITelemetryArgs) into
// telemetry per GPU index. The envelopes are those of ParseAMDSMI (a list,
// {"gpu_data": [...]}, or one object). Leaves are {"value": N, "unit": U}
// or "N/A"; a whole section may be "N/A" (amd-smi 26 on an APU prints
// "usage": "N/A"). power.socket_power is the one-second average;
// temperature has edge, hotspot (junction) and mem; usage.gfx_activity is
// the busy percent; clock.gfx_0.clk and clock.mem_0.clk (gfx/mem in older
// builds) the clocks; energy.total_energy_consumption the counter. A GPU
// with none of these is left out.
func ParseAMDSMITelemetry(out []byte) (map[int]Telemetry, error) {
	t, err := parseAMDSMITelemetry(out)
	if err != nil {
		return nil, fmt.Errorf("parse amd-smi telemetry: %w", err)
	}
	return t, nil
}

func parseAMDSMITelemetry(out []byte) (map[int]Telemetry, error) {
	entries, err := amdDocument(out)
	if err != nil {
		return nil, err
	}
	res := map[int]Telemetry{}
	for i, e := range entries {
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("GPU entry %d: not a JSON object", i)
		}
		idx, err := amdIndex(obj["gpu"])
		if err != nil {
			return nil, fmt.Errorf("GPU entry %d: %w", i, err)
		}
		var t Telemetry
		if v := amdLeaf(obj, "W", "power", "socket_power"); v.Set {
			t.PowerW, t.PowerWindow = v, ToolPowerWindow
		}
		t.EnergyJ = amdLeaf(obj, "J", "energy", "total_energy_consumption")
		t.TempEdgeC = amdLeaf(obj, "C", "temperature", "edge")
		t.TempJunctionC = amdLeaf(obj, "C", "temperature", "hotspot")
		t.TempMemoryC = amdLeaf(obj, "C", "temperature", "mem")
		t.BusyPercent = amdLeaf(obj, "%", "usage", "gfx_activity")
		t.CoreClockMHz = firstSet(amdLeaf(obj, "MHz", "clock", "gfx_0", "clk"), amdLeaf(obj, "MHz", "clock", "gfx", "clk"))
		t.MemClockMHz = firstSet(amdLeaf(obj, "MHz", "clock", "mem_0", "clk"), amdLeaf(obj, "MHz", "clock", "mem", "clk"))
		if _, dup := res[idx]; dup {
			return nil, fmt.Errorf("GPU %d reported twice", idx)
		}
		if t = t.sane(); t.Any() {
			res[idx] = t
		}
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("no GPU with telemetry: %w", ErrNoGPU)
	}
	return res, nil
}

func firstSet(vs ...Value) Value {
	for _, v := range vs {
		if v.Set {
			return v
		}
	}
	return Value{}
}

// amdScale converts a value in unit to the base unit want; false for a
// unit that is not a known spelling of want's dimension. A leaf without a
// unit is taken in want.
var amdScale = map[string]map[string]float64{
	"W":   {"W": 1, "MW": 1e-3, "UW": 1e-6},
	"J":   {"J": 1, "MJ": 1e-3, "UJ": 1e-6, "KJ": 1e3},
	"C":   {"C": 1, "°C": 1},
	"%":   {"%": 1},
	"MHz": {"MHZ": 1, "GHZ": 1e3, "KHZ": 1e-3, "HZ": 1e-6},
}

// amdLeaf walks path from obj to a {"value", "unit"} leaf (or a bare
// number) and returns it in want's unit; absent for "N/A", a missing key,
// an unknown unit or anything not numeric.
func amdLeaf(obj map[string]any, want string, path ...string) Value {
	var cur any = obj
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return Value{}
		}
		cur = m[k]
	}
	unit := want
	if leaf, ok := cur.(map[string]any); ok {
		cur = leaf["value"]
		if u, ok := leaf["unit"].(string); ok {
			unit = u
		}
	}
	n, ok := cur.(json.Number)
	if !ok {
		return Value{}
	}
	mult, ok := amdScale[want][strings.ToUpper(strings.TrimSpace(unit))]
	if !ok {
		return Value{}
	}
	v := rocmFloat(n.String())
	if !v.Set {
		// json.Number allows exponents, rocmFloat does not; amd-smi
		// prints none.
		return Value{}
	}
	return Of(v.V * mult)
}
