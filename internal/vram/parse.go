package vram

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// unavailableError marks a value the tool itself reports as unavailable
// ("N/A", or left out). Parsers skip such GPUs rather than fail, because
// one GPU without the counter (an iGPU, a virtual function) must not hide
// the others. Its message is the whole explanation, e.g. "used_vram is N/A".
type unavailableError string

func (e unavailableError) Error() string { return string(e) }

func isUnavailableErr(err error) bool {
	var u unavailableError
	return errors.As(err, &u)
}

// decodeJSONDocument decodes the single JSON document in out into v.
//
// The SMI tools print advisory lines ("WARNING: ...") on stdout ahead of
// the document in some builds and environments, so whole leading lines that
// cannot start a JSON object or array are skipped. Anything after the
// document is an error: that is not output we understand.
func decodeJSONDocument(out []byte, v any) error {
	doc := out
	for len(doc) > 0 {
		trimmed := bytes.TrimLeft(doc, " \t\r\n")
		if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
			doc = trimmed
			break
		}
		nl := bytes.IndexByte(doc, '\n')
		if nl < 0 {
			doc = nil
			break
		}
		doc = doc[nl+1:]
	}
	if len(doc) == 0 {
		if len(bytes.TrimSpace(out)) == 0 {
			return fmt.Errorf("output is empty: %w", ErrNoGPU)
		}
		return errors.New("no JSON object or array in output")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode JSON: %w", err)
	}
	if rest := doc[dec.InputOffset():]; len(bytes.TrimSpace(rest)) > 0 {
		return errors.New("unexpected data after the JSON document")
	}
	return nil
}

// isUnavailable reports whether a tool's value string means "no value".
func isUnavailable(s string) bool {
	s = strings.TrimSpace(s)
	return strings.EqualFold(s, "N/A") || strings.EqualFold(s, "[N/A]")
}

// unitMultiplier maps a size unit to bytes. amd-smi prints "MB" for values
// it computed by dividing bytes by 1024*1024, so the decimal-looking units
// are binary here, as are their explicit IEC spellings.
func unitMultiplier(unit string) (uint64, bool) {
	switch strings.ToUpper(strings.TrimSpace(unit)) {
	case "B":
		return 1, true
	case "KB", "KIB":
		return 1 << 10, true
	case "MB", "MIB":
		return 1 << 20, true
	case "GB", "GIB":
		return 1 << 30, true
	case "TB", "TIB":
		return 1 << 40, true
	}
	return 0, false
}

// maxDecimalLen bounds a numeric string we are willing to scale. It keeps
// the arithmetic below cheap whatever the input, and still allows any
// uint64 with a long fraction.
const maxDecimalLen = 48

// scaleDecimal returns the non-negative decimal s ("8176", "7.98") times
// mult, truncated toward zero like the tools' own integer division, and
// fails if the result does not fit a uint64. Exponent notation is refused:
// no tool prints it for memory sizes, and it would let a tiny input ask for
// an enormous number.
func scaleDecimal(s string, mult uint64) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	if len(s) > maxDecimalLen {
		return 0, fmt.Errorf("number %.20q... is too long", s)
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return 0, fmt.Errorf("invalid number %q", s)
	}
	for _, part := range [...]string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, fmt.Errorf("invalid number %q", s)
			}
		}
	}
	if !hasDot {
		n, err := strconv.ParseUint(intPart, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid number %q: %w", s, err)
		}
		if mult != 0 && n > ^uint64(0)/mult {
			return 0, fmt.Errorf("%s times %d overflows 64 bits", s, mult)
		}
		return n * mult, nil
	}
	// A fractional value is rare (only in B/KB/MB/GB prints of a rounded
	// size), so exactness beats speed: scale by 10^len(frac) in big ints.
	n, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return 0, fmt.Errorf("invalid number %q", s)
	}
	n.Mul(n, new(big.Int).SetUint64(mult))
	n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil))
	if !n.IsUint64() {
		return 0, fmt.Errorf("%s times %d overflows 64 bits", s, mult)
	}
	return n.Uint64(), nil
}

// cardIndex returns N for a key of the form "cardN". Leading zeros are
// refused so that each index has exactly one spelling; "card0-DP-1" style
// connector names are not cards.
func cardIndex(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "card")
	if !ok || digits == "" || len(digits) > 9 || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// skipped collects why GPUs were left out of a reading, so that an output
// where every GPU was skipped yields an error saying why.
type skipped []string

func (s skipped) err() error {
	if len(s) == 0 {
		return ErrNoGPU
	}
	return fmt.Errorf("%w: %s", ErrNoGPU, strings.Join(s, "; "))
}
