package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/benchd/benchd/internal/store"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

func ended(i int, payload int) *benchdv1.Benchmark {
	return &benchdv1.Benchmark{BenchmarkId: benchID(i), Model: "tiny", State: benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED,
		ErrorMessage: strings.Repeat("x", payload)}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// The run limit deletes the oldest ended runs first; a run still RUNNING
// is never deleted, however old.
func TestRetentionRunsPrunesOldestEndedFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	st, err := store.Open(path, nil, store.Retention{Runs: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	running := &benchdv1.Benchmark{BenchmarkId: benchID(0), State: benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING}
	if err := st.Put(ctx, running); err != nil {
		t.Fatal(err)
	}
	putEnded(t, st, 1, 20)
	got := keptIDs(t, st)
	want := []string{benchID(20), benchID(19), benchID(18), benchID(17), benchID(0)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("kept %v, want the 4 newest ended runs and the running one %v", got, want)
	}
	if runs, _ := st.Usage(); runs != 5 {
		t.Errorf("Usage says %d runs, want 5", runs)
	}
	t.Logf("21 runs written under a 5-run limit: %d kept", len(got))
}

// The byte limit holds the records' bytes under it while records of
// random sizes (up to 256 KiB, so bbolt's free pages fragment) are written
// again and again, and the file stays within a bound of it: pages that
// pruning frees are reused. Reopened with a smaller limit, the store is
// pruned and the file compacted to it.
func TestRetentionBytesBoundsTheRecordsAndTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	const limit = 4 << 20
	st, err := store.Open(path, nil, store.Retention{Bytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	var written int64
	var maxFile int64
	for i := range 1000 {
		rec := ended(i, rng.IntN(256<<10))
		written += int64(proto.Size(rec))
		if err := st.Put(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if _, size := st.Usage(); size > limit {
			t.Fatalf("after record %d the store holds %d bytes, over its %d-byte limit", i, size, limit)
		}
		maxFile = max(maxFile, fileSize(t, path))
	}
	runs, size := st.Usage()
	// bbolt grows its file by doubling up to 16 MiB, so a 4 MiB limit
	// may take one doubling beyond twice the data.
	if bound := int64(16 << 20); maxFile > bound {
		t.Errorf("file reached %d bytes holding at most %d bytes of records; want at most %d", maxFile, limit, bound)
	}
	t.Logf("%d MiB written in 1000 records under a %d MiB limit: %d records, %d bytes kept; file at most %d bytes",
		written>>20, limit>>20, runs, size, maxFile)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	before := fileSize(t, path)
	const smaller = 1 << 20
	st, err = store.Open(path, nil, store.Retention{Bytes: smaller})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	after := fileSize(t, path)
	runs, size = st.Usage()
	if size > smaller || after > 2*smaller {
		t.Errorf("reopened under a %d-byte limit: %d bytes of records, file %d bytes; want at most %d and %d",
			smaller, size, after, smaller, 2*smaller)
	}
	recs, _, err := st.List(ctx, store.Filter{Limit: 1000})
	if err != nil || len(recs) != runs {
		t.Errorf("after compaction List gives %d records (%v), Usage says %d", len(recs), err, runs)
	}
	t.Logf("reopened under a 1 MiB limit: file %d -> %d bytes, %d records kept", before, after, runs)
}

// A page of List ends before the record that would take it over MaxBytes,
// and paging still visits every record once.
func TestListPageStaysUnderItsByteBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	st, err := store.Open(path, nil, store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for i := range 50 {
		if err := st.Put(ctx, ended(i, 3000)); err != nil {
			t.Fatal(err)
		}
	}
	const maxBytes = 10_000
	seen := map[string]bool{}
	largest := 0
	for after := ""; ; {
		recs, next, err := st.List(ctx, store.Filter{Limit: 1000, After: after, MaxBytes: maxBytes})
		if err != nil {
			t.Fatal(err)
		}
		size := proto.Size(&benchdv1.ListBenchmarksResponse{Benchmarks: recs, NextPageToken: next})
		largest = max(largest, size)
		if size > maxBytes+100 { // the response adds a few bytes of framing per record
			t.Fatalf("a page of %d records is %d bytes, over %d", len(recs), size, maxBytes)
		}
		for _, r := range recs {
			if seen[r.GetBenchmarkId()] {
				t.Fatalf("%s listed twice", r.GetBenchmarkId())
			}
			seen[r.GetBenchmarkId()] = true
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(seen) != 50 {
		t.Errorf("paging visited %d records, want 50", len(seen))
	}
	t.Logf("largest page %d bytes under a %d-byte bound", largest, maxBytes)
}

// States mirrors what the bucket holds, by state, through new records, a
// running record that ends (replaced in place), pruning under the run
// limit, and a reopen that finds a run interrupted: after each step it
// equals a count of what List returns.
func TestStatesMirrorTheRecordsThroughPruningAndRecovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	ctx := context.Background()
	check := func(st *store.Store, step string) {
		t.Helper()
		recs, _, err := st.List(ctx, store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[benchdv1.BenchmarkState]int{}
		for _, r := range recs {
			want[r.GetState()]++
		}
		got := st.States()
		for s, n := range got {
			if n == 0 {
				delete(got, s) // a state whose records are all gone
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: States() = %v, the stored records are %v", step, got, want)
		}
	}
	st, err := store.Open(path, nil, store.Retention{Runs: 6})
	if err != nil {
		t.Fatal(err)
	}
	running := &benchdv1.Benchmark{BenchmarkId: benchID(0), State: benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING}
	if err := st.Put(ctx, running); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		rec := &benchdv1.Benchmark{BenchmarkId: benchID(i), State: benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED}
		if i%2 == 0 {
			rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_CANCELLED
		}
		if err := st.Put(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	check(st, "five written")
	// Past the limit: the oldest ended ones go, the running one stays.
	putEnded(t, st, 5, 8)
	check(st, "pruned to six")
	if n := st.States()[benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED]; n >= 2 {
		t.Errorf("%d succeeded records counted after pruning; the two oldest should be gone", n)
	}
	// The running one ends: replaced, not added.
	done := proto.Clone(running).(*benchdv1.Benchmark)
	done.State = benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED
	if err := st.Put(ctx, done); err != nil {
		t.Fatal(err)
	}
	check(st, "the running one ended")
	// A run left RUNNING by a daemon that died is recovered as
	// interrupted (FAILED, as history records it) on the next open.
	if err := st.Put(ctx, &benchdv1.Benchmark{BenchmarkId: benchID(9), State: benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING}); err != nil {
		t.Fatal(err)
	}
	check(st, "a new run")
	st.Close()
	st, err = store.Open(path, func(r *benchdv1.Benchmark) { r.State = benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED }, store.Retention{Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check(st, "reopened under a 3-run limit, the running one interrupted")
	if n := st.States()[benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING]; n != 0 {
		t.Errorf("%d running records counted after the reopen, want 0: the interrupted one ended", n)
	}
}

// stateOf reads a record's state from its encoding as proto.Unmarshal
// does, for every state, with large fields before and after it, and
// for a record that does not parse.
func TestStateOfReadsTheEncodedState(t *testing.T) {
	for v := range benchdv1.BenchmarkState_name {
		rec := &benchdv1.Benchmark{BenchmarkId: benchID(1), Model: "tiny", State: benchdv1.BenchmarkState(v),
			ErrorMessage: strings.Repeat("x", 300), Trials: []*benchdv1.Trial{trial(0), trial(1)}}
		b, err := proto.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got := store.StateOf(b); got != rec.GetState() {
			t.Errorf("state %v read as %v", rec.GetState(), got)
		}
		if got := store.StateOf(b[:len(b)-1]); got != benchdv1.BenchmarkState_BENCHMARK_STATE_UNSPECIFIED {
			t.Errorf("a truncated record of state %v read as %v", rec.GetState(), got)
		}
	}
}
