// Package record is the one fold between a benchmark's event stream and its
// stored record: Apply adds an event to a benchd.v1.Benchmark, Events
// replays a record as the events it streamed. The daemon persists runs with
// it, WatchBenchmark replays with it, and clients assemble a result from a
// live stream with it, so a record means the same thing everywhere.
package record

import (
	"regexp"
	"strings"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/protobuf/proto"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
)

// Apply folds ev into rec. Progress events are not part of a record and
// are ignored. A finished event marks the record SUCCEEDED: nothing follows
// it but the end of the stream.
func Apply(rec *benchdv1.Benchmark, ev *benchdv1.BenchmarkEvent) {
	switch k := ev.GetKind().(type) {
	case *benchdv1.BenchmarkEvent_Started:
		s := k.Started
		rec.Started = s
		if rec.BenchmarkId == "" {
			rec.BenchmarkId = s.GetBenchmarkId()
		}
		if rec.Model == "" {
			rec.Model = s.GetModel()
		}
		if rec.Settings == nil {
			rec.Settings = s.GetSettings()
		}
		rec.CreatedAt = s.GetStartedAt()
		if rec.State == benchdv1.BenchmarkState_BENCHMARK_STATE_UNSPECIFIED {
			rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING
		}
	case *benchdv1.BenchmarkEvent_Trial:
		rec.Trials = append(rec.Trials, k.Trial)
	case *benchdv1.BenchmarkEvent_CellFinished:
		rec.Cells = append(rec.Cells, k.CellFinished.GetCell())
	case *benchdv1.BenchmarkEvent_LevelFinished:
		rec.Levels = append(rec.Levels, k.LevelFinished.GetLevel())
	case *benchdv1.BenchmarkEvent_Finished:
		rec.Finished = k.Finished
		rec.UpdatedAt = k.Finished.GetFinishedAt()
		rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED
	}
}

// FromEvents folds evs into a new record: what a client holds after reading
// a stream, without asking benchd for the stored copy (which also has the
// VRAM timeline, which events do not carry).
func FromEvents(evs []*benchdv1.BenchmarkEvent) *benchdv1.Benchmark {
	rec := &benchdv1.Benchmark{State: benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING}
	for _, ev := range evs {
		Apply(rec, ev)
	}
	return rec
}

// Events replays rec as the events it streamed, progress aside. Each event
// shares its message with rec, except the start events of a sweep's cells
// and a concurrency run's levels, which are rebuilt: a stored (finished)
// cell or level gives its settings and start, one that has trials but did
// not finish (the run ended inside it, or still runs it) gets its settings
// from the run's (see SweepCellAt, LevelAt), without a start time. Cell
// and level events come in run order, each one's trials between its start
// and its finish.
func Events(rec *benchdv1.Benchmark) []*benchdv1.BenchmarkEvent {
	return LiveEvents(rec, nil)
}

// LiveEvents is Events for a live record whose running cell or level
// (started, not finished, possibly without a trial yet) is running: its own
// start event (cell_started or level_started) stands in for the rebuilt
// one, or ends the replay when it has no trial yet. running nil: Events.
func LiveEvents(rec *benchdv1.Benchmark, running *benchdv1.BenchmarkEvent) []*benchdv1.BenchmarkEvent {
	evs := make([]*benchdv1.BenchmarkEvent, 0, len(rec.GetTrials())+2*len(rec.GetCells())+2*len(rec.GetLevels())+3)
	if s := rec.GetStarted(); s != nil {
		evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Started{Started: s}})
	}
	if g := groupsOf(rec); g == nil {
		for _, t := range rec.GetTrials() {
			evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: t}})
		}
	} else {
		evs = g.replay(evs, rec.GetTrials(), running)
	}
	if f := rec.GetFinished(); f != nil {
		evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Finished{Finished: f}})
	}
	return evs
}

// groups are the parts a run's trials fall in, each with a start and a
// finish event: a sweep's cells, a concurrency run's levels.
type groups struct {
	// finished are the stored groups' indices, in run order.
	finished []uint32
	// key is the group a trial belongs to.
	key func(*benchdv1.Trial) uint32
	// runningKey is the group of a running group's start event; ok false
	// when it is not this kind's.
	runningKey func(*benchdv1.BenchmarkEvent) (k uint32, ok bool)
	// started is the start event of the stored group at position i of
	// finished, or (i < 0) of group k rebuilt from the settings.
	started func(i int, k uint32) *benchdv1.BenchmarkEvent
	// ended is the finish event of the stored group at position i.
	ended func(i int) *benchdv1.BenchmarkEvent
}

// groupsOf is rec's groups; nil for a run without any.
func groupsOf(rec *benchdv1.Benchmark) *groups {
	settings := settingsOf(rec)
	if n := SweepCells(settings); n > 0 {
		cells := rec.GetCells()
		g := &groups{
			key: (*benchdv1.Trial).GetCell,
			runningKey: func(ev *benchdv1.BenchmarkEvent) (uint32, bool) {
				cs := ev.GetCellStarted()
				return cs.GetCell().GetIndex(), cs != nil
			},
			started: func(i int, k uint32) *benchdv1.BenchmarkEvent {
				c := SweepCellAt(settings, int(k))
				if i >= 0 {
					c = startedCell(cells[i])
				}
				return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_CellStarted{CellStarted: &benchdv1.CellStarted{Cell: c, Cells: uint32(n)}}}
			},
			ended: func(i int) *benchdv1.BenchmarkEvent {
				return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_CellFinished{CellFinished: &benchdv1.CellFinished{Cell: cells[i]}}}
			},
		}
		for _, c := range cells {
			g.finished = append(g.finished, c.GetIndex())
		}
		return g
	}
	if n := len(settings.GetConcurrency().GetLevels()); n > 0 {
		levels := rec.GetLevels()
		g := &groups{
			key: (*benchdv1.Trial).GetLevel,
			runningKey: func(ev *benchdv1.BenchmarkEvent) (uint32, bool) {
				ls := ev.GetLevelStarted()
				return ls.GetLevel().GetIndex(), ls != nil
			},
			started: func(i int, k uint32) *benchdv1.BenchmarkEvent {
				l := LevelAt(settings, int(k))
				if i >= 0 {
					l = startedLevel(levels[i])
				}
				return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_LevelStarted{LevelStarted: &benchdv1.LevelStarted{Level: l, Levels: uint32(n)}}}
			},
			ended: func(i int) *benchdv1.BenchmarkEvent {
				return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_LevelFinished{LevelFinished: &benchdv1.LevelFinished{Level: levels[i]}}}
			},
		}
		for _, l := range levels {
			g.finished = append(g.finished, l.GetIndex())
		}
		return g
	}
	return nil
}

// replay appends to evs the groups' events interleaved with trials (in run
// order, each group's trials after its start, its finish after them).
func (g *groups) replay(evs []*benchdv1.BenchmarkEvent, trials []*benchdv1.Trial, running *benchdv1.BenchmarkEvent) []*benchdv1.BenchmarkEvent {
	runK, hasRunning := uint32(0), false
	if running != nil {
		runK, hasRunning = g.runningKey(running)
	}
	runningDone := false
	for ci, ti := 0, 0; ci < len(g.finished) || ti < len(trials); {
		var k uint32
		if ci < len(g.finished) {
			k = g.finished[ci]
		}
		if ti < len(trials) && (ci == len(g.finished) || g.key(trials[ti]) < k) {
			k = g.key(trials[ti])
		}
		stored := -1
		if ci < len(g.finished) && g.finished[ci] == k {
			stored = ci
			ci++
		}
		if hasRunning && runK == k {
			evs = append(evs, running)
			runningDone = true
		} else {
			evs = append(evs, g.started(stored, k))
		}
		for ; ti < len(trials) && g.key(trials[ti]) == k; ti++ {
			evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: trials[ti]}})
		}
		if stored >= 0 {
			evs = append(evs, g.ended(stored))
		}
	}
	if hasRunning && !runningDone {
		evs = append(evs, running)
	}
	return evs
}

func settingsOf(rec *benchdv1.Benchmark) *benchdv1.RunBenchmarkRequest {
	if s := rec.GetSettings(); s != nil {
		return s
	}
	return rec.GetStarted().GetSettings()
}

// startedCell is what a cell's cell_started carried: its index, settings
// and start, nothing of its outcome.
func startedCell(c *benchdv1.SweepCell) *benchdv1.SweepCell {
	return &benchdv1.SweepCell{
		Index: c.GetIndex(), Model: c.GetModel(),
		NumCtx: c.NumCtx, NumGpu: c.NumGpu, NumBatch: c.NumBatch, NumThread: c.NumThread,
		PromptTokens: c.PromptTokens, MaxTokens: c.GetMaxTokens(),
		StartedAt: c.GetStartedAt(),
	}
}

// startedLevel is what a level's level_started carried: its index, size
// and start.
func startedLevel(l *benchdv1.ConcurrencyLevel) *benchdv1.ConcurrencyLevel {
	return &benchdv1.ConcurrencyLevel{
		Index: l.GetIndex(), Concurrency: l.GetConcurrency(), Requests: l.GetRequests(), StartedAt: l.GetStartedAt(),
	}
}

// LevelAt is level i's index, requests in flight and request count from
// the stored, resolved settings of a concurrency run.
func LevelAt(settings *benchdv1.RunBenchmarkRequest, i int) *benchdv1.ConcurrencyLevel {
	c := settings.GetConcurrency()
	if i < 0 || i >= len(c.GetLevels()) {
		return &benchdv1.ConcurrencyLevel{Index: uint32(max(i, 0))}
	}
	inFlight := c.GetLevels()[i]
	requests := uint32(defaults.ConcurrencyRequests(int(inFlight)))
	if c.Requests != nil {
		requests = c.GetRequests()
	}
	return &benchdv1.ConcurrencyLevel{Index: uint32(i), Concurrency: inFlight, Requests: requests}
}

// SweepCells is the number of cells of settings' sweep (the product of its
// lists' lengths, an empty list counting one); 0 when it is not a sweep.
func SweepCells(settings *benchdv1.RunBenchmarkRequest) int {
	w := settings.GetSweep()
	if w == nil {
		return 0
	}
	n := 1
	for _, l := range sweepLens(w) {
		n *= max(l, 1)
	}
	return n
}

// sweepLens are the sweep's list lengths in run order, slowest first: the
// settings that reload the model (model, num_ctx, num_gpu, num_batch,
// num_thread), then prompt_tokens, then max_tokens (as benchd's runner
// expands a sweep).
func sweepLens(w *benchdv1.Sweep) []int {
	return []int{len(w.GetModels()), len(w.GetNumCtx()), len(w.GetNumGpu()), len(w.GetNumBatch()),
		len(w.GetNumThread()), len(w.GetPromptTokens()), len(w.GetMaxTokens())}
}

// SweepCellAt is cell i's settings (index, model, num_ctx, num_gpu,
// num_batch, num_thread, prompt_tokens, max_tokens) from the stored,
// resolved settings of a sweep: the request's own value where the sweep
// has no list.
func SweepCellAt(settings *benchdv1.RunBenchmarkRequest, i int) *benchdv1.SweepCell {
	w := settings.GetSweep()
	c := &benchdv1.SweepCell{
		Index: uint32(i), Model: settings.GetModel(), MaxTokens: settings.GetMaxTokens(),
	}
	if settings.NumCtx != nil {
		c.NumCtx = proto.Uint32(settings.GetNumCtx())
	}
	if settings.PromptTokens != nil {
		c.PromptTokens = proto.Uint32(settings.GetPromptTokens())
	}
	lens := sweepLens(w)
	pick := make([]int, len(lens))
	for a := len(lens) - 1; a >= 0; a-- {
		l := max(lens[a], 1)
		pick[a], i = i%l, i/l
	}
	u := func(xs []uint32, a int) *uint32 {
		if len(xs) == 0 {
			return nil
		}
		v := xs[pick[a]]
		return &v
	}
	if len(w.GetModels()) > 0 {
		c.Model = w.GetModels()[pick[0]]
	}
	if v := u(w.GetNumCtx(), 1); v != nil {
		c.NumCtx = v
	}
	c.NumGpu, c.NumBatch, c.NumThread = u(w.GetNumGpu(), 2), u(w.GetNumBatch(), 3), u(w.GetNumThread(), 4)
	if v := u(w.GetPromptTokens(), 5); v != nil {
		c.PromptTokens = v
	}
	if v := u(w.GetMaxTokens(), 6); v != nil {
		c.MaxTokens = *v
	}
	return c
}

// Err is the status a record's run ended with: nil when it succeeded or
// still runs, else the gRPC status stored with it.
func Err(rec *benchdv1.Benchmark) error {
	if rec.GetErrorCode() == 0 {
		return nil
	}
	return status.Error(codes.Code(rec.GetErrorCode()), rec.GetErrorMessage())
}

// State is a state's name without the enum's prefix: RUNNING, SUCCEEDED,
// FAILED or CANCELLED.
func State(s benchdv1.BenchmarkState) string {
	return strings.TrimPrefix(s.String(), "BENCHMARK_STATE_")
}

// IDPattern matches a benchmark id. It is read from the contract's own
// validation rule (GetBenchmarkRequest.benchmark_id), so the daemon's ids,
// the server's validation and the client's argument checks agree.
var IDPattern = regexp.MustCompile(idRule())

func idRule() string {
	fd := (&benchdv1.GetBenchmarkRequest{}).ProtoReflect().Descriptor().Fields().ByName("benchmark_id")
	rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
	return rules.GetString().GetPattern()
}
