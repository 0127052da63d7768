package vram

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// nvidiaTelemetryQuery is the --query-gpu list benchd asks for. Every field
// is one nvidia-smi has known since before the Ampere drivers; one it does
// not know fails the whole query, which costs the telemetry and never the
// VRAM reading (a separate exec).
const nvidiaTelemetryQuery = "index,power.draw,total_energy_consumption,temperature.gpu,temperature.memory,utilization.gpu,clocks.sm,clocks.mem"

// ParseNvidiaSMITelemetry parses the output of `nvidia-smi
// --query-gpu=<fields> --format=csv,nounits` into telemetry per GPU index.
// Unlike the VRAM query, this one keeps the header: columns are found by
// name ("power.draw [W]" is power.draw), so any order and extra columns
// are fine, and cells may carry their unit ("34.19 W", as --format=csv
// without nounits prints them). Without an index column the rows are
// GPUs 0, 1, … in order, as nvidia-smi lists them. "[N/A]", "N/A",
// "[Not Supported]" and other bracketed reasons mean absent.
//
// temperature.gpu is NVIDIA's one die temperature and is reported as the
// edge temperature; power.draw (power.draw.average where named so) is the
// one-second average, power.draw.instant is used only without it;
// total_energy_consumption is in mJ since the driver loaded.
func ParseNvidiaSMITelemetry(out []byte) (map[int]Telemetry, error) {
	t, err := parseNvidiaSMITelemetry(out)
	if err != nil {
		return nil, fmt.Errorf("parse nvidia-smi telemetry: %w", err)
	}
	return t, nil
}

// nvidiaColumn says what one query field fills, and the unit its cells may
// carry.
type nvidiaColumn struct {
	unit  string
	scale float64
	set   func(t *Telemetry, v Value)
}

func nvidiaColumns() map[string]nvidiaColumn {
	return map[string]nvidiaColumn{
		"power.draw":         {"W", 1, func(t *Telemetry, v Value) { t.PowerW, t.PowerWindow = v, ToolPowerWindow }},
		"power.draw.average": {"W", 1, func(t *Telemetry, v Value) { t.PowerW, t.PowerWindow = v, ToolPowerWindow }},
		"power.draw.instant": {"W", 1, func(t *Telemetry, v Value) {
			if !t.PowerW.Set {
				t.PowerW = v
			}
		}},
		"total_energy_consumption": {"mJ", 1e-3, func(t *Telemetry, v Value) { t.EnergyJ = v }},
		"temperature.gpu":          {"C", 1, func(t *Telemetry, v Value) { t.TempEdgeC = v }},
		"temperature.memory":       {"C", 1, func(t *Telemetry, v Value) { t.TempMemoryC = v }},
		"utilization.gpu":          {"%", 1, func(t *Telemetry, v Value) { t.BusyPercent = v }},
		"clocks.sm":                {"MHz", 1, func(t *Telemetry, v Value) { t.CoreClockMHz = v }},
		"clocks.current.sm":        {"MHz", 1, func(t *Telemetry, v Value) { t.CoreClockMHz = v }},
		"clocks.mem":               {"MHz", 1, func(t *Telemetry, v Value) { t.MemClockMHz = v }},
		"clocks.current.memory":    {"MHz", 1, func(t *Telemetry, v Value) { t.MemClockMHz = v }},
	}
}

func parseNvidiaSMITelemetry(out []byte) (map[int]Telemetry, error) {
	if err := checkText(out); err != nil {
		return nil, err
	}
	if bytes.Contains(out, []byte("NVIDIA-SMI")) || bytes.Contains(out, []byte("+-----")) {
		return nil, errors.New("got the human-readable nvidia-smi table, want --query-gpu=... --format=csv,nounits output")
	}
	if bytes.HasPrefix(bytes.TrimSpace(out), []byte("<")) {
		return nil, errors.New("got XML (nvidia-smi -q -x), want --query-gpu=... --format=csv,nounits output")
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("output is empty: %w", ErrNoGPU)
	}
	header := splitCSV(lines[0])
	cols := nvidiaColumns()
	index, known := -1, 0
	names := make([]string, len(header))
	for i, h := range header {
		name, _, _ := strings.Cut(h, " [")
		names[i] = name
		if _, err := strconv.ParseFloat(name, 64); err == nil || strings.HasPrefix(name, "[") {
			return nil, errors.New("first line holds values, not column names: want --format=csv,nounits (with its header), not noheader")
		}
		if name == "index" {
			index = i
		}
		if _, ok := cols[name]; ok {
			known++
		}
	}
	if known == 0 {
		return nil, fmt.Errorf("none of the columns %q is a telemetry field (%s)", strings.Join(names, ", "), nvidiaTelemetryQuery)
	}
	res := map[int]Telemetry{}
	for row, line := range lines[1:] {
		cells := splitCSV(line)
		if len(cells) != len(header) {
			return nil, fmt.Errorf("line %d: %d fields, the header has %d", row+2, len(cells), len(header))
		}
		idx := row
		if index >= 0 {
			n, err := strconv.ParseUint(cells[index], 10, 31)
			if err != nil {
				return nil, fmt.Errorf("line %d: index %.20q is not a small non-negative integer", row+2, cells[index])
			}
			idx = int(n)
		}
		if _, dup := res[idx]; dup {
			return nil, fmt.Errorf("GPU %d reported twice", idx)
		}
		var t Telemetry
		for i, name := range names {
			c, ok := cols[name]
			if !ok {
				continue
			}
			v, err := nvidiaCell(cells[i], c.unit)
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", row+2, name, err)
			}
			if v.Set {
				v.V *= c.scale
			}
			c.set(&t, v)
		}
		res[idx] = t.sane()
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("a header and no GPU line: %w", ErrNoGPU)
	}
	return res, nil
}

func splitCSV(line string) []string {
	fields := strings.Split(line, ",")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return fields
}

// nvidiaCell reads one cell: a number, optionally followed by its unit;
// absent for N/A and bracketed reasons. Anything else is an error: a
// column that holds text is not the field we asked for.
func nvidiaCell(s, unit string) (Value, error) {
	if strings.HasPrefix(s, "[") || strings.EqualFold(s, "N/A") {
		return Value{}, nil
	}
	num := strings.TrimSpace(strings.TrimSuffix(s, " "+unit))
	v := rocmFloat(num)
	if !v.Set {
		return Value{}, fmt.Errorf("%.30q is not a number of %s", s, unit)
	}
	return v, nil
}
