package client

import (
	"time"

	"google.golang.org/grpc/codes"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// Concurrency asks for a concurrency run: for each level, that many
// requests kept in flight together (closed loop: a new one is sent as soon
// as one ends) until the level's requests are sent. The request's warm-up
// runs first, one at a time, inside the first level and outside its
// figures. Refused (INVALID_ARGUMENT) together with a Sweep, Cold or
// Repetitions, and beyond 1000 requests in all. See the proto's
// Concurrency.
type Concurrency struct {
	// Levels are the requests in flight, run in this order: 1 to 8
	// distinct values, each 1 to 64.
	Levels []int
	// Requests per level, at least the largest level; 0: 4 × the level
	// ([defaults.ConcurrencyRequests]).
	Requests int
}

func (c *Concurrency) proto() *benchdv1.Concurrency {
	if c == nil {
		return nil
	}
	p := &benchdv1.Concurrency{Levels: make([]uint32, len(c.Levels))}
	for i, l := range c.Levels {
		p.Levels[i] = *u32(l)
	}
	if c.Requests != 0 {
		p.Requests = u32(c.Requests)
	}
	return p
}

// Level is one level of a concurrency run and how it went. Rates and
// latencies are over its succeeded requests.
type Level struct {
	// Index is the level's place in Concurrency.Levels, from 0.
	Index int
	// Concurrency is the number of requests kept in flight.
	Concurrency int
	// Requests the level sends; Succeeded and Failed of them (0 and 0 in a
	// level that has only started).
	Requests, Succeeded, Failed int
	// For failed requests: the first one's error and its gRPC code.
	ErrorCode    codes.Code
	ErrorMessage string
	// Duration is from the first request sent to the last one finished,
	// on benchd's clock.
	Duration time.Duration
	// OutputTokens of the succeeded requests, and over Duration the
	// aggregate generation rate (tokens per second) and request rate.
	OutputTokens                             uint64
	OutputTokensPerSecond, RequestsPerSecond float64
	// Per-request latencies in nanoseconds (P50, P90, P99 among the
	// Stats): time to first token on ollama's clock (queue time
	// included); inter-token latency, every gap of every request pooled;
	// time per output token; end to end, from benchd sending the request
	// to the final chunk reaching it; and the time queued in ollama for
	// a parallel slot (see Trial.Queue).
	TTFTNs, ITLNs, TPOTNs, E2ELatencyNs, QueueNs Stats
	// PeakVRAMUsedBytes is the highest VRAM use sampled during the level
	// (0: not sampled).
	PeakVRAMUsedBytes     uint64
	StartedAt, FinishedAt time.Time
	// Energy is what the GPUs drew during the level (JoulesPerOutputToken:
	// over its OutputTokens); nil where they report no power.
	Energy *Energy
	// Raw is the message as received, for protojson output or new fields.
	Raw *benchdv1.ConcurrencyLevel
}

// LevelStarted begins a concurrency level: the trials that follow are its
// own (the warm-up trials too, in the first level).
type LevelStarted struct {
	Level Level
	// Levels is the number of levels in the run.
	Levels int
}

// LevelFromProto converts a generated ConcurrencyLevel message.
func LevelFromProto(l *benchdv1.ConcurrencyLevel) Level {
	return Level{
		Index: int(l.GetIndex()), Concurrency: int(l.GetConcurrency()),
		Requests: int(l.GetRequests()), Succeeded: int(l.GetSucceeded()), Failed: int(l.GetFailed()),
		ErrorCode: codes.Code(l.GetErrorCode()), ErrorMessage: l.GetErrorMessage(),
		Duration: time.Duration(l.GetDurationNs()), OutputTokens: l.GetOutputTokens(),
		OutputTokensPerSecond: l.GetOutputTokensPerSecond(), RequestsPerSecond: l.GetRequestsPerSecond(),
		TTFTNs: statsFromProto(l.GetTtftNs()), ITLNs: statsFromProto(l.GetItlNs()), TPOTNs: statsFromProto(l.GetTpotNs()),
		E2ELatencyNs: statsFromProto(l.GetE2ELatencyNs()), QueueNs: statsFromProto(l.GetQueueNs()),
		PeakVRAMUsedBytes: l.GetPeakVramUsedBytes(),
		StartedAt:         timeOf(l.GetStartedAt()), FinishedAt: timeOf(l.GetFinishedAt()),
		Energy: energyFromProto(l.GetEnergy()), Raw: l,
	}
}
