package runner

import (
	"fmt"
	"math"
	"time"

	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/stats"
)

// TokenTiming is how one trial's tokens were streamed (benchd.v1.TokenTiming
// says what each figure is). The figures are on ollama's clock, from the
// created_at stamp ollama puts on each chunk as it makes it, so that the
// transport, which may hold chunks back and hand them over in a burst
// (Docker's exec stdio does), is not in them; the Received ones are the
// same spans by arrival, to show what the transport did.
type TokenTiming struct {
	// Chunks is the number of streamed chunks that carried output.
	Chunks int
	// Inter-token latency over the Chunks-1 gaps between chunks.
	ITLP50, ITLP90, ITLP99, ITLMax time.Duration
	// TPOT is the mean gap: (last chunk - first chunk) / (Chunks - 1).
	TPOT time.Duration
	// LongestStall is the longest gap from the first chunk to the final
	// one, after LongestStallAfter chunks.
	LongestStall      time.Duration
	LongestStallAfter int
	// Decode is the final chunk's stamp minus the first chunk's: the span
	// of ollama's eval_duration.
	Decode time.Duration
	// ReceivedDecode and ReceivedLongestStall are Decode and LongestStall
	// by arrival.
	ReceivedDecode, ReceivedLongestStall time.Duration
	// OllamaClock: the figures come from ollama's stamps; false: some
	// were missing or out of order, and the figures are by arrival.
	OllamaClock bool
}

// tokenTiming computes a trial's token timing from its chunks; nil when it
// streamed no output chunk.
func tokenTiming(t ollama.Trial) *TokenTiming {
	n := len(t.Chunks)
	if n == 0 {
		return nil
	}
	tt := &TokenTiming{Chunks: n}
	at, arrived, ollamaClock := chunkTimes(t)
	tt.OllamaClock = ollamaClock
	tt.Decode = at[n] - at[0]
	tt.LongestStall, tt.LongestStallAfter = longestGap(at)
	tt.ReceivedDecode = arrived[n] - arrived[0]
	tt.ReceivedLongestStall, _ = longestGap(arrived)
	if n >= 2 {
		s := stats.Summarize(gaps(at[:n]))
		tt.ITLP50, tt.ITLP90, tt.ITLP99, tt.ITLMax = nsOf(s.P50), nsOf(s.P90), nsOf(s.P99), nsOf(s.Max)
		tt.TPOT = (at[n-1] - at[0]) / time.Duration(n-1)
	}
	return tt
}

// chunkTimes are the output chunks' times and then the final chunk's, as
// offsets on one clock: at on ollama's (ollamaClock) when its stamps are
// usable, else by arrival; arrived always by arrival. t has chunks.
func chunkTimes(t ollama.Trial) (at, arrived []time.Duration, ollamaClock bool) {
	n := len(t.Chunks)
	arrived = make([]time.Duration, n+1)
	for i, c := range t.Chunks {
		arrived[i] = c.Arrived
	}
	arrived[n] = t.Final.Arrived
	if stamped, ok := stampOffsets(t); ok {
		return stamped, arrived, true
	}
	return arrived, arrived, false
}

// gaps are the differences between consecutive times, in ns.
func gaps(at []time.Duration) []float64 {
	if len(at) < 2 {
		return nil
	}
	out := make([]float64, len(at)-1)
	for i := range out {
		out[i] = float64(at[i+1] - at[i])
	}
	return out
}

// gapsOf are a trial's inter-token gaps (ns) between its output chunks, on
// the clock its TokenTiming uses; none with fewer than two chunks.
func gapsOf(t *Trial) []float64 {
	if len(t.Chunks) < 2 {
		return nil
	}
	at, _, _ := chunkTimes(t.Trial)
	return gaps(at[:len(t.Chunks)])
}

// stampOffsets are the chunks' stamps and then the final chunk's, as
// offsets from the first; ok is false when a stamp is missing or earlier
// than the one before (a clock step, or a server that is not ollama).
func stampOffsets(t ollama.Trial) ([]time.Duration, bool) {
	first := t.Chunks[0].Stamp
	out := make([]time.Duration, 0, len(t.Chunks)+1)
	prev := first
	for _, s := range append(stampsOf(t.Chunks), t.Final.Stamp) {
		if s.IsZero() || s.Before(prev) {
			return nil, false
		}
		out = append(out, s.Sub(first))
		prev = s
	}
	return out, true
}

func stampsOf(cs []ollama.Chunk) []time.Time {
	out := make([]time.Time, len(cs))
	for i, c := range cs {
		out[i] = c.Stamp
	}
	return out
}

// longestGap is the longest gap between consecutive times and how many
// came before it.
func longestGap(at []time.Duration) (gap time.Duration, after int) {
	for i := 1; i < len(at); i++ {
		if d := at[i] - at[i-1]; d > gap {
			gap, after = d, i
		}
	}
	return gap, after
}

func nsOf(v float64) time.Duration { return time.Duration(math.Round(v)) }

// decodeMismatch says, when they disagree by more than
// stats.DecodeTolerance, how the decode time from the stream differs from
// ollama's eval_duration; "" when they agree or there is too little to
// compare (fewer than two chunks, no eval_duration).
func decodeMismatch(t ollama.Trial, tt *TokenTiming) string {
	if tt == nil || tt.Chunks < 2 || t.EvalDuration <= 0 {
		return ""
	}
	off := math.Abs(float64(tt.Decode-t.EvalDuration)) / float64(t.EvalDuration)
	if off <= stats.DecodeTolerance {
		return ""
	}
	how := "from ollama's chunk stamps"
	if !tt.OllamaClock {
		how = "as received by benchd; ollama's stamps were unusable"
	}
	return fmt.Sprintf("decode time %v (%s) differs from ollama's eval_duration %v by %.1f%%, more than %.0f%%",
		tt.Decode, how, t.EvalDuration, 100*off, 100*stats.DecodeTolerance)
}
