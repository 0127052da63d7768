package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/benchd/benchd/internal/store"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// writerEnv makes the test binary a store writer instead of running tests
// (see TestMain): the process that TestSIGKILLMidWrite kills.
const writerEnv = "BENCHD_STORE_TEST_WRITER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(writerEnv); spec != "" {
		if err := writer(spec); err != nil {
			fmt.Fprintln(os.Stderr, "writer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// trial is a stored trial with a VRAM timeline entry, as the recorder
// writes them (some hundred bytes each).
func trial(i int) *benchdv1.Trial {
	return &benchdv1.Trial{Index: uint32(i), EvalCount: 128, EvalDurationNs: int64(i+1) * 1e6, TotalDurationNs: 2e6,
		DoneReason: "length", PromptPrefix: strings.Repeat("p", 64), PeakVramUsedBytes: 1 << 30}
}

// writer writes one RUNNING benchmark record per trial, like benchd's
// recorder, printing "ID N" after each Put has returned (committed and
// fsync'd), until it is killed.
func writer(spec string) error {
	path, id, _ := strings.Cut(spec, "|")
	st, err := store.Open(path, store.MarkFailed, store.Retention{})
	if err != nil {
		return err
	}
	rec := &benchdv1.Benchmark{BenchmarkId: id, Model: "tiny", State: benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING,
		CreatedAt: timestamppb.Now()}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		rec.Trials = append(rec.Trials, trial(i))
		rec.VramTimeline = append(rec.VramTimeline, &benchdv1.VRAMSample{TrialIndex: uint32(i), SampledAt: timestamppb.Now(),
			Gpus: []*benchdv1.GPUPeak{{Index: 0, UsedBytes: uint64(i)}}})
		rec.UpdatedAt = timestamppb.Now()
		if err := st.Put(context.Background(), rec); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %d\n", id, len(rec.Trials))
		out.Flush()
	}
}

func benchID(i int) string {
	return time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC).Format("20060102T150405Z") + fmt.Sprintf("-%08x", i)
}

// TestSIGKILLMidWrite kills a process in the middle of its stream of
// store transactions, ten times over one file. Each time the store must
// open cleanly, hold every trial whose write had returned, decode every
// record, and mark the killed run FAILED (its trials kept).
func TestSIGKILLMidWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	rng := rand.New(rand.NewPCG(1, 2))
	acked := map[string]int{}
	for round := range 10 {
		id := benchID(round)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), writerEnv+"="+path+"|"+id)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAt := 5 + rng.IntN(60)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			n, _ := strconv.Atoi(f[1])
			acked[f[0]] = n
			if n == killAt {
				// Kill while the writer is in its stream of transactions
				// (it is ahead of what was read here).
				_ = cmd.Process.Kill()
			}
		}
		// The lines read after the kill were printed before it: those
		// writes had returned too.
		_ = cmd.Wait()
		if acked[id] < killAt {
			t.Fatalf("round %d: writer stopped after %d writes: %s", round, acked[id], stderr.String())
		}

		st, err := store.Open(path, store.MarkFailed, store.Retention{})
		if err != nil {
			t.Fatalf("round %d: store after SIGKILL: %v", round, err)
		}
		recs, _, err := st.List(context.Background(), store.Filter{Limit: 1000})
		if err != nil {
			t.Fatalf("round %d: list after SIGKILL: %v", round, err)
		}
		if len(recs) != round+1 {
			t.Fatalf("round %d: %d records, want %d", round, len(recs), round+1)
		}
		for _, rec := range recs {
			want := acked[rec.GetBenchmarkId()]
			if rec.GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED || rec.GetErrorCode() != 14 {
				t.Errorf("round %d: %s is %v (code %d), want FAILED by recovery", round, rec.GetBenchmarkId(), rec.GetState(), rec.GetErrorCode())
			}
			// Every acknowledged write is there; at most the one in flight
			// at the kill may also have made it.
			if n := len(rec.GetTrials()); n < want || n > want+1 {
				t.Errorf("round %d: %s has %d trials, %d were acknowledged", round, rec.GetBenchmarkId(), n, want)
			}
			for i, tr := range rec.GetTrials() {
				if tr.GetIndex() != uint32(i) || tr.GetEvalCount() != 128 {
					t.Errorf("round %d: %s trial %d corrupt: %v", round, rec.GetBenchmarkId(), i, tr)
				}
			}
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRecoveryTouchesOnlyRunningRecords: what ended stays as it ended.
func TestRecoveryTouchesOnlyRunningRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	st, err := store.Open(path, store.MarkFailed, store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	states := []benchdv1.BenchmarkState{
		benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED, benchdv1.BenchmarkState_BENCHMARK_STATE_CANCELLED,
		benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED, benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING,
	}
	for i, s := range states {
		if err := st.Put(context.Background(), &benchdv1.Benchmark{BenchmarkId: benchID(i), State: s, Trials: []*benchdv1.Trial{trial(0)}}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if st, err = store.Open(path, store.MarkFailed, store.Retention{}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, s := range states {
		rec, err := st.Get(context.Background(), benchID(i))
		if err != nil {
			t.Fatal(err)
		}
		want := s
		if s == benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING {
			want = benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED
		}
		if rec.GetState() != want || len(rec.GetTrials()) != 1 {
			t.Errorf("%v after reopen: %v with %d trials, want %v", s, rec.GetState(), len(rec.GetTrials()), want)
		}
	}
}

// TestGarbageFileIsAnErrorNotAPanic: a history file that is not a bbolt
// database makes Open fail with a message naming it.
func TestGarbageFileIsAnErrorNotAPanic(t *testing.T) {
	for name, content := range map[string][]byte{
		"text":      []byte(strings.Repeat("not a database\n", 1000)),
		"truncated": make([]byte, 100),
	} {
		path := filepath.Join(t.TempDir(), "history.db")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(path, store.MarkFailed, store.Retention{})
		if err == nil {
			st.Close()
			t.Errorf("%s: opened a garbage file", name)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q should name the file", name, err)
		}
	}
}

// TestOpenInUseNamesTheHolder opens a store another process holds: the
// error is ErrInUse and names that process's pid and command line, not
// bbolt's bare "timeout".
func TestOpenInUseNamesTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), writerEnv+"="+path+"|"+benchID(0))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Its first line comes after its first committed write: it holds
	// the store from then on.
	if !bufio.NewScanner(stdout).Scan() {
		t.Fatal("the writer printed nothing")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	_, err = store.Open(path, nil, store.Retention{})
	if !errors.Is(err, store.ErrInUse) {
		t.Fatalf("Open of a held store: %v, want ErrInUse", err)
	}
	for _, want := range []string{path, fmt.Sprintf("process %d (%s", cmd.Process.Pid, os.Args[0]), "--store"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	t.Logf("second Open: %v", err)
}
