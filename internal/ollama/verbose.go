package ollama

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// maxVerbose bounds the text ParseVerbose accepts: the stats block is a few
// hundred bytes, the rest is the generated text and spinner noise.
const maxVerbose = 4 << 20

// ansi matches the escape sequences of ollama's spinner, which it writes to
// stderr even without a TTY.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// ParseVerbose reads the statistics block that `ollama run --verbose` prints
// on stderr — the legacy way of measuring (ssh + docker exec + ollama run --verbose), kept for the side-by-side
// harness. ollama prints a line only when its value is > 0 (a cached prompt
// drops the prompt-eval lines), so missing lines are zero; durations are Go
// time.Duration strings at full precision. Rates are not read: they are
// derived from the counts and durations, as for Trial.
func ParseVerbose(stderr []byte) (Trial, error) {
	if len(stderr) > maxVerbose {
		return Trial{}, fmt.Errorf("ollama --verbose output is %d bytes, over the %d-byte limit", len(stderr), maxVerbose)
	}
	var (
		t    Trial
		seen bool
	)
	sc := bufio.NewScanner(bytes.NewReader(ansi.ReplaceAll(stderr, nil)))
	sc.Buffer(make([]byte, 0, 64<<10), maxVerbose)
	for sc.Scan() {
		// The spinner redraws with carriage returns; the stats follow the last.
		line := sc.Text()
		if i := strings.LastIndexByte(line, '\r'); i >= 0 {
			line = line[i+1:]
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		var err error
		switch statKey(key) {
		case "total duration":
			t.TotalDuration, err = time.ParseDuration(val)
		case "load duration":
			t.LoadDuration, err = time.ParseDuration(val)
		case "prompt eval count":
			t.PromptEvalCount, err = parseTokens(val)
		case "prompt eval duration":
			t.PromptEvalDuration, err = time.ParseDuration(val)
		case "eval count":
			t.EvalCount, err = parseTokens(val)
		case "eval duration":
			t.EvalDuration, err = time.ParseDuration(val)
		default:
			continue
		}
		if err != nil {
			return Trial{}, fmt.Errorf("ollama --verbose line %q: %w", line, err)
		}
		seen = true
	}
	if err := sc.Err(); err != nil {
		return Trial{}, fmt.Errorf("read ollama --verbose output: %w", err)
	}
	if !seen || t.TotalDuration <= 0 {
		return Trial{}, fmt.Errorf("no ollama --verbose statistics (total duration) in %d bytes of output", len(stderr))
	}
	return t, nil
}

// statKey is the name of a statistic in key, the text before a line's
// colon, without the spinner frames that may share its line. ollama's
// spinner draws its braille frames (⠋ ⠙ ⠹ …, U+2800–U+28FF) and moves the
// cursor back with escape sequences (\x1b[1G, \x1b[K) rather than a
// carriage return, so once the escapes are stripped a slow first token
// leaves the frames in front of the first statistic:
// "⠙ ⠙ total duration: 1.2s". Those frames and the blanks between them go.
func statKey(key string) string {
	return strings.TrimSpace(strings.TrimLeftFunc(key, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x2800 && r <= 0x28FF)
	}))
}

func parseTokens(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(v, "token(s)")))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("token count %q", v)
	}
	return n, nil
}
