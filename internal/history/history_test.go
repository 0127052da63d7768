package history_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/benchd/benchd/internal/history"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/runner"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// statusOf stands in for the gRPC edge's error table.
func statusOf(err error) *status.Status {
	if errors.Is(err, context.Canceled) {
		return status.New(codes.Canceled, err.Error())
	}
	return status.New(codes.Unavailable, err.Error())
}

func open(t *testing.T, path string) *history.History {
	t.Helper()
	h, err := history.Open(path, statusOf, history.Retention{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func newRun(id string) *runner.Run {
	return &runner.Run{ID: id, Model: "tiny", Settings: runner.Settings{Model: "tiny", Repetitions: 2, Warmup: 1, MaxTokens: 8}}
}

// begin opens a history in a temp dir and begins a run there.
func begin(t *testing.T, id string) (*history.History, *runner.Run) {
	h := open(t, filepath.Join(t.TempDir(), "h.db"))
	run := newRun(id)
	h.Begin(run)
	return h, run
}

func started(run *runner.Run) runner.Event {
	return runner.Event{Started: &runner.Started{ID: run.ID, Model: run.Model, Settings: run.Settings, At: time.Now()}}
}

func trial(i int) runner.Event {
	return runner.Event{Trial: &runner.Trial{Index: i, Trial: ollama.Trial{EvalCount: 8, EvalDuration: time.Millisecond}}}
}

// A watcher that never reads does not hold up the run, and afterwards reads
// every event; the run's record is complete in the store.
func TestWatcherThatNeverReadsDoesNotBlockTheRun(t *testing.T) {
	h, run := begin(t, "20260102T030405Z-00000001")
	_, stalled, err := h.Watch(context.Background(), run.ID)
	if err != nil || stalled == nil {
		t.Fatalf("Watch of a live run: %v, %v", stalled, err)
	}
	defer stalled.Close()
	h.Event(run, started(run))
	const trials = history.SubscriberBuffer - 2
	for i := range trials {
		h.Event(run, trial(i))
	}
	h.Event(run, runner.Event{Finished: &runner.Finished{ID: run.ID, Trials: trials, At: time.Now()}})
	h.End(run, nil)
	var got int
	for ev := range stalled.C {
		if ev.GetTrial() != nil {
			got++
		}
	}
	if err := stalled.Err(); err != nil || got != trials {
		t.Fatalf("stalled watcher: %d trials, ended with %v; want %d and nil", got, err, trials)
	}
	rec, err := h.Get(context.Background(), run.ID)
	if err != nil || len(rec.GetTrials()) != trials || rec.GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED {
		t.Fatalf("stored: %d trials, state %v, err %v", len(rec.GetTrials()), rec.GetState(), err)
	}
}

// A watcher that falls more than SubscriberBuffer events behind is cut off
// with ErrLagged; another watcher keeps every event.
func TestLaggingWatcherIsCutOffAlone(t *testing.T) {
	h, run := begin(t, "20260102T030405Z-00000002")
	_, slow, _ := h.Watch(context.Background(), run.ID)
	defer slow.Close()
	_, fast, _ := h.Watch(context.Background(), run.ID)
	defer fast.Close()
	var fastGot int
	for i := range history.SubscriberBuffer + 10 {
		h.Event(run, trial(i))
		<-fast.C
		fastGot++
	}
	h.End(run, nil)
	for range slow.C {
	}
	if !errors.Is(slow.Err(), history.ErrLagged) {
		t.Errorf("slow watcher ended with %v, want ErrLagged", slow.Err())
	}
	if _, ok := <-fast.C; ok || fast.Err() != nil || fastGot != history.SubscriberBuffer+10 {
		t.Errorf("fast watcher: %d events, ended with %v", fastGot, fast.Err())
	}
}

// Each event is on disk before a watcher receives it.
func TestEventIsStoredBeforeItIsDelivered(t *testing.T) {
	h, run := begin(t, "20260102T030405Z-00000003")
	_, sub, _ := h.Watch(context.Background(), run.ID)
	defer sub.Close()
	h.Event(run, started(run))
	<-sub.C
	for i := range 3 {
		h.Event(run, trial(i))
		ev := <-sub.C
		rec, err := h.Get(context.Background(), run.ID)
		if err != nil || len(rec.GetTrials()) != i+1 || rec.GetTrials()[i].GetIndex() != ev.GetTrial().GetIndex() {
			t.Fatalf("trial %d delivered but stored record has %d trials (%v)", i, len(rec.GetTrials()), err)
		}
	}
	// Progress reaches watchers but not the record.
	h.Event(run, runner.Event{Progress: &runner.Progress{Index: 3, Tokens: 2}})
	if ev := <-sub.C; ev.GetProgress().GetTokens() != 2 {
		t.Fatalf("got %v, want the progress event", ev)
	}
	h.End(run, context.Canceled)
	rec, _ := h.Get(context.Background(), run.ID)
	if rec.GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_CANCELLED || codes.Code(rec.GetErrorCode()) != codes.Canceled {
		t.Errorf("after a cancel: %v (code %d)", rec.GetState(), rec.GetErrorCode())
	}
}

// After the end, Watch replays the stored record and its outcome.
func TestWatchAfterTheEndReplaysTheStore(t *testing.T) {
	h, run := begin(t, "20260102T030405Z-00000004")
	h.Event(run, started(run))
	h.Event(run, trial(0))
	h.End(run, errors.New("ollama went away"))
	replay, sub, err := h.Watch(context.Background(), run.ID)
	if sub != nil {
		t.Fatal("a subscription for an ended run")
	}
	if len(replay) != 2 || replay[0].GetStarted() == nil || replay[1].GetTrial() == nil {
		t.Errorf("replay %v, want started and one trial", replay)
	}
	if status.Code(err) != codes.Unavailable {
		t.Errorf("outcome %v, want the stored Unavailable", err)
	}
	if _, _, err := h.Watch(context.Background(), "20260102T030405Z-ffffffff"); !errors.Is(err, history.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
}

// A run left RUNNING by a daemon that died ends as interrupted on reopen.
func TestReopenEndsInterruptedRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	h, err := history.Open(path, statusOf, history.Retention{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	run := newRun("20260102T030405Z-00000005")
	h.Begin(run)
	h.Event(run, started(run))
	h.Event(run, trial(0))
	h.Close() // the daemon "dies" mid-run
	rec, err := open(t, path).Get(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED || len(rec.GetTrials()) != 1 ||
		rec.GetErrorMessage() != history.ErrInterrupted.Error() {
		t.Errorf("after reopen: %v, %d trials, %q", rec.GetState(), len(rec.GetTrials()), rec.GetErrorMessage())
	}
}

// hostilePrompts is the most a request may carry: 16 prompts of 64 KiB.
func hostilePrompts() []string {
	p := make([]string, 16)
	for i := range p {
		p[i] = strings.Repeat("A", 64<<10)
	}
	return p
}

// A run that fails before it starts (unknown model, say) is stored without
// its prompts: 10,000 such requests would otherwise store 10 GiB.
func TestRunThatNeverStartedKeepsNoPrompts(t *testing.T) {
	h := open(t, filepath.Join(t.TempDir(), "h.db"))
	run := newRun("20260102T030405Z-00000006")
	run.Settings.Prompts = hostilePrompts()
	h.Begin(run)
	h.End(run, errors.New("model not found"))
	rec, err := h.Get(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.GetSettings().GetPrompts()); n != 0 || rec.GetSettings().GetMaxTokens() != 8 {
		t.Errorf("stored %d prompts (max_tokens %d); want none, and the other settings kept", n, rec.GetSettings().GetMaxTokens())
	}
	t.Logf("a request with 1 MiB of prompts that never started is stored in %d bytes", proto.Size(rec))
}

// ListBenchmarks' records carry no prompts, trials or VRAM timeline, and
// an error message is cut short; GetBenchmark still has everything.
func TestListCarriesNoPromptsOrTrials(t *testing.T) {
	h := open(t, filepath.Join(t.TempDir(), "h.db"))
	run := newRun("20260102T030405Z-00000007")
	run.Settings.Prompts = hostilePrompts()
	h.Begin(run)
	h.Event(run, started(run))
	h.Event(run, trial(0))
	h.End(run, errors.New(strings.Repeat("ollama said something long. ", 10_000)))
	recs, _, err := h.List(context.Background(), history.Filter{Limit: 10})
	if err != nil || len(recs) != 1 {
		t.Fatalf("List: %d records, %v", len(recs), err)
	}
	l := recs[0]
	if len(l.GetSettings().GetPrompts())+len(l.GetStarted().GetSettings().GetPrompts())+len(l.GetTrials())+len(l.GetVramTimeline()) != 0 {
		t.Errorf("listed record carries prompts, trials or VRAM timeline: %d+%d prompts, %d trials, %d samples",
			len(l.GetSettings().GetPrompts()), len(l.GetStarted().GetSettings().GetPrompts()), len(l.GetTrials()), len(l.GetVramTimeline()))
	}
	if len(l.GetErrorMessage()) > 2048 {
		t.Errorf("listed error message is %d bytes", len(l.GetErrorMessage()))
	}
	full, err := h.Get(context.Background(), run.ID)
	if err != nil || len(full.GetStarted().GetSettings().GetPrompts()) != 16 || len(full.GetTrials()) != 1 {
		t.Fatalf("GetBenchmark lost what List leaves out: %v", err)
	}
	t.Logf("stored record %d bytes, listed %d bytes", proto.Size(full), proto.Size(l))
}
