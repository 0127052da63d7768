package vram

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ParseAMDSMI parses the output of `amd-smi metric --mem-usage --json`.
//
// Builds differ in the envelope: older ones print a list of per-GPU
// objects, newer ones wrap that list as {"gpu_data": [...]}, and a single
// GPU selected with -g may print as a bare object; all three are accepted.
// Sizes are {"value": N, "unit": "MB"} objects where amd-smi's "MB" is MiB
// (it divides bytes by 1024*1024); B, KB, GB and TB are read the same,
// binary way. A bare number carries no unit and is taken as MiB, the unit
// amd-smi computes in.
//
// A GPU whose total_vram or used_vram is "N/A" is skipped; the output is
// only an error when no GPU is left. amd-smi's metric output has no product
// name, so Name is "gpuN".
func ParseAMDSMI(out []byte) ([]GPU, error) {
	gpus, err := parseAMDSMI(out)
	if err != nil {
		return nil, fmt.Errorf("parse amd-smi output: %w", err)
	}
	return gpus, nil
}

func parseAMDSMI(out []byte) ([]GPU, error) {
	entries, err := amdDocument(out)
	if err != nil {
		return nil, err
	}
	var (
		gpus []GPU
		skip skipped
	)
	for i, e := range entries {
		g, err := amdEntry(e)
		switch {
		case isUnavailableErr(err):
			skip = append(skip, fmt.Sprintf("GPU %d: %v", g.Index, err))
		case err != nil:
			return nil, fmt.Errorf("GPU entry %d: %w", i, err)
		default:
			gpus = append(gpus, g)
		}
	}
	if len(gpus) == 0 {
		return nil, skip.err()
	}
	slices.SortFunc(gpus, func(a, b GPU) int { return a.Index - b.Index })
	if err := checkReadings(gpus); err != nil {
		return nil, err
	}
	return gpus, nil
}

// amdDocument decodes amd-smi's JSON output into its per-GPU entries.
func amdDocument(out []byte) ([]any, error) {
	if err := checkText(out); err != nil {
		return nil, err
	}
	var doc any
	if err := decodeJSONDocument(out, &doc); err != nil {
		return nil, err
	}
	return amdEntries(doc)
}

// amdEntries unwraps the envelopes described on ParseAMDSMI.
func amdEntries(doc any) ([]any, error) {
	switch v := doc.(type) {
	case []any:
		return v, nil
	case map[string]any:
		if data, ok := v["gpu_data"]; ok {
			list, ok := data.([]any)
			if !ok {
				return nil, errors.New(`"gpu_data" is not a list`)
			}
			return list, nil
		}
		if _, ok := v["gpu"]; ok {
			return []any{v}, nil
		}
		return nil, errors.New(`object has neither "gpu_data" nor "gpu"`)
	}
	return nil, errors.New("document is neither a list nor an object")
}

// amdEntry reads one per-GPU object. On an unavailableError the returned
// GPU still carries the index, for the skip message.
func amdEntry(e any) (GPU, error) {
	obj, ok := e.(map[string]any)
	if !ok {
		return GPU{}, errors.New("not a JSON object")
	}
	idx, err := amdIndex(obj["gpu"])
	if err != nil {
		return GPU{}, err
	}
	g := GPU{
		Index:  idx,
		Name:   "gpu" + strconv.Itoa(idx),
		Vendor: VendorAMD,
		Source: SourceAMDSMI,
	}
	usage, ok := obj["mem_usage"]
	if !ok {
		// amd-smi leaves the section out where the platform has no such
		// metric; that is "unavailable", not a format we misread.
		return g, unavailableError("no mem_usage section")
	}
	if s, ok := usage.(string); ok && isUnavailable(s) {
		return g, unavailableError("mem_usage is N/A")
	}
	fields, ok := usage.(map[string]any)
	if !ok {
		return g, fmt.Errorf(`GPU %d: "mem_usage" is not an object`, idx)
	}
	if g.TotalBytes, err = amdQuantity(fields, "total_vram"); err != nil {
		return g, err
	}
	if g.UsedBytes, err = amdQuantity(fields, "used_vram"); err != nil {
		return g, err
	}
	return g, nil
}

func amdIndex(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errors.New(`"gpu" is missing or not a number`)
	}
	idx, err := strconv.ParseUint(n.String(), 10, 31)
	if err != nil {
		return 0, fmt.Errorf(`"gpu" index %s: not a small non-negative integer`, n)
	}
	return int(idx), nil
}

// amdQuantity reads a size field in any of the shapes amd-smi has printed:
// {"value": N, "unit": U}, a bare number (MiB), "N/A", or "N U" as text.
func amdQuantity(fields map[string]any, key string) (uint64, error) {
	v, ok := fields[key]
	if !ok {
		return 0, unavailableError("no " + key)
	}
	value, unit := v, "MB"
	if obj, ok := v.(map[string]any); ok {
		value = obj["value"]
		if u, ok := obj["unit"]; ok {
			if unit, ok = u.(string); !ok {
				return 0, fmt.Errorf("%s: unit is not a string", key)
			}
		}
	}
	var num string
	switch val := value.(type) {
	case json.Number:
		num = val.String()
	case string:
		if isUnavailable(val) {
			return 0, unavailableError(key + " is N/A")
		}
		// Human-readable builds print "8176 MB" as one string.
		n, u, hasUnit := strings.Cut(strings.TrimSpace(val), " ")
		num = n
		if hasUnit {
			unit = u
		}
	default:
		return 0, fmt.Errorf("%s: value is missing or not a number", key)
	}
	mult, ok := unitMultiplier(unit)
	if !ok {
		return 0, fmt.Errorf("%s: unknown unit %.20q", key, unit)
	}
	n, err := scaleDecimal(num, mult)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return n, nil
}
