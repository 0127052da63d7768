package vram

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Keys rocm-smi --showmeminfo vram --json uses for each card. The values
// are strings of bytes.
const (
	rocmTotalKey = "VRAM Total Memory (B)"
	rocmUsedKey  = "VRAM Total Used Memory (B)"
)

// ParseRocmSMI parses the output of `rocm-smi --showmeminfo vram --json`.
//
// The document is an object keyed by "cardN"; N is the GPU's index. Keys
// that are not cards (rocm-smi adds "system" with some flags) are ignored.
// A card whose VRAM fields are missing or "N/A" is skipped; a card whose
// fields hold anything but a byte count is an error, since that means the
// format is not the one this parser knows. Name is the card's "Card Series"
// when the output carries it, else "cardN".
func ParseRocmSMI(out []byte) ([]GPU, error) {
	gpus, err := parseRocmSMI(out)
	if err != nil {
		return nil, fmt.Errorf("parse rocm-smi output: %w", err)
	}
	return gpus, nil
}

func parseRocmSMI(out []byte) ([]GPU, error) {
	if err := checkText(out); err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := decodeJSONDocument(out, &doc); err != nil {
		return nil, err
	}
	// Walk keys in order so that the first error reported is stable.
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	var (
		gpus []GPU
		skip skipped
	)
	for _, key := range keys {
		idx, ok := cardIndex(key)
		if !ok {
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(doc[key], &fields); err != nil || fields == nil {
			return nil, fmt.Errorf("%s: value is not a JSON object", key)
		}
		total, err := rocmBytes(fields, rocmTotalKey)
		if err == nil {
			var used uint64
			used, err = rocmBytes(fields, rocmUsedKey)
			if err == nil {
				gpus = append(gpus, GPU{
					Index:      idx,
					Name:       rocmName(fields, key),
					Vendor:     VendorAMD,
					TotalBytes: total,
					UsedBytes:  used,
					Source:     SourceRocmSMI,
				})
				continue
			}
		}
		if !isUnavailableErr(err) {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		skip = append(skip, key+": "+err.Error())
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

// rocmBytes reads a byte count that rocm-smi prints as a JSON string. A
// bare JSON number is accepted too, in case a build stops quoting it.
func rocmBytes(fields map[string]json.RawMessage, key string) (uint64, error) {
	raw, ok := fields[key]
	if !ok {
		return 0, unavailableError(fmt.Sprintf("no %q", key))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, fmt.Errorf("%q: want a byte count, got %.40s", key, raw)
		}
		s = n.String()
	}
	if isUnavailable(s) {
		return 0, unavailableError(fmt.Sprintf("%q is %s", key, strings.TrimSpace(s)))
	}
	n, err := scaleDecimal(strings.TrimSpace(s), 1)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", key, err)
	}
	return n, nil
}

func rocmName(fields map[string]json.RawMessage, key string) string {
	for k, raw := range fields {
		// rocm-smi has spelled this "Card series" and "Card Series".
		if !strings.EqualFold(k, "Card Series") {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if s = strings.TrimSpace(s); s != "" && !isUnavailable(s) {
				return s
			}
		}
	}
	return key
}
