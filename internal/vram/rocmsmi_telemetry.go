package vram

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ToolPowerWindow is how long the power the SMI tools report is averaged
// over: rocm-smi's "Average Graphics Package Power", amd-smi's
// socket_power and nvidia-smi's power.draw (on Ampere and later) are the
// firmware's one-second averages. An instantaneous reading has window 0.
const ToolPowerWindow = time.Second

// rocmTempKey matches rocm-smi's temperature keys, "Temperature (Sensor
// edge) (C)" and, in 2019 builds, "Temperature (Sensor mem) (c)".
var rocmTempKey = regexp.MustCompile(`^Temperature \(Sensor ([A-Za-z]+)\) \([Cc]\)$`)

// rocmClockValue is a clock as rocm-smi prints it: "(1200Mhz)".
var rocmClockValue = regexp.MustCompile(`^\((\d+(?:\.\d+)?)Mhz\)$`)

// ParseRocmSMITelemetry parses the output of `rocm-smi --showpower
// --showtemp --showuse --showclocks --showenergycounter --json` (as
// rocmTelemetryArgs runs it), or any rocm-smi JSON holding those keys, into
// telemetry per card index. Keys vary by version and card: power is
// "Average Graphics Package Power (W)" (one-second average) or, on APUs and
// MI300, "Current Socket Graphics Package Power (W)" (instantaneous);
// temperatures are labelled per sensor (edge, junction, memory/mem); values
// are strings and "N/A" (also "N/A (Secondary die)") means absent. A card
// with no telemetry key at all is left out.
func ParseRocmSMITelemetry(out []byte) (map[int]Telemetry, error) {
	t, err := parseRocmSMITelemetry(out)
	if err != nil {
		return nil, fmt.Errorf("parse rocm-smi telemetry: %w", err)
	}
	return t, nil
}

func parseRocmSMITelemetry(out []byte) (map[int]Telemetry, error) {
	if err := checkText(out); err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := decodeJSONDocument(out, &doc); err != nil {
		return nil, err
	}
	res := map[int]Telemetry{}
	for key, card := range doc {
		idx, ok := cardIndex(key)
		if !ok {
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(card, &fields); err != nil || fields == nil {
			return nil, fmt.Errorf("%s: value is not a JSON object", key)
		}
		var t Telemetry
		var avg, current Value
		for k, raw := range fields {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				var n json.Number
				if json.Unmarshal(raw, &n) != nil {
					continue
				}
				s = n.String()
			}
			s = strings.TrimSpace(s)
			if strings.HasPrefix(strings.ToUpper(s), "N/A") {
				continue
			}
			switch {
			case k == "Average Graphics Package Power (W)":
				avg = rocmFloat(s)
			case k == "Current Socket Graphics Package Power (W)":
				current = rocmFloat(s)
			case k == "Accumulated Energy (uJ)":
				if v := rocmFloat(s); v.Set {
					t.EnergyJ = Of(v.V * 1e-6)
				}
			case k == "GPU use (%)":
				t.BusyPercent = rocmFloat(s)
			case k == "sclk clock speed:":
				t.CoreClockMHz = rocmClock(s)
			case k == "mclk clock speed:":
				t.MemClockMHz = rocmClock(s)
			default:
				if m := rocmTempKey.FindStringSubmatch(k); m != nil {
					switch strings.ToLower(m[1]) {
					case "edge":
						t.TempEdgeC = rocmFloat(s)
					case "junction":
						t.TempJunctionC = rocmFloat(s)
					case "memory", "mem":
						t.TempMemoryC = rocmFloat(s)
					}
				}
			}
		}
		// The average is what the energy integral wants; the
		// instantaneous reading is the fallback.
		switch {
		case avg.Set:
			t.PowerW, t.PowerWindow = avg, ToolPowerWindow
		case current.Set:
			t.PowerW = current
		}
		if t = t.sane(); t.Any() {
			res[idx] = t
		}
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("no card with telemetry: %w", ErrNoGPU)
	}
	return res, nil
}

// rocmFloat reads a plain decimal ("31.0", "159"); anything else is absent.
func rocmFloat(s string) Value {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || strings.ContainsAny(s, "eExXpPnN_") {
		return Value{}
	}
	return Of(v)
}

func rocmClock(s string) Value {
	m := rocmClockValue.FindStringSubmatch(s)
	if m == nil {
		return Value{}
	}
	return rocmFloat(m[1])
}
