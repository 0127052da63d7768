package store_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/benchd/benchd/internal/store"
)

// A pinned baseline survives retention, is kept across a reopen, and
// unpinning says what was pinned.
func TestBaselinePinnedSurvivesRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	st, err := store.Open(path, nil, store.Retention{Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if id, err := st.Baseline(ctx, "fp"); err != nil || id != "" {
		t.Fatalf("Baseline of a new store: %q, %v; want none", id, err)
	}
	if err := st.Put(ctx, ended(1, 10)); err != nil {
		t.Fatal(err)
	}
	if prev, err := st.SetBaseline(ctx, "fp", benchID(1)); err != nil || prev != "" {
		t.Fatalf("SetBaseline: %q, %v", prev, err)
	}
	putEnded(t, st, 2, 10)
	if got, want := keptIDs(t, st), []string{benchID(10), benchID(9), benchID(1)}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want the 2 newest and the pinned oldest %v", got, want)
	}
	st.Close()
	if st, err = store.Open(path, nil, store.Retention{Runs: 3}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if id, err := st.Baseline(ctx, "fp"); err != nil || id != benchID(1) {
		t.Fatalf("Baseline after reopen: %q, %v", id, err)
	}
	if prev, err := st.SetBaseline(ctx, "fp", ""); err != nil || prev != benchID(1) {
		t.Fatalf("unpin: previous %q, %v", prev, err)
	}
	if id, _ := st.Baseline(ctx, "fp"); id != "" {
		t.Errorf("still pinned: %q", id)
	}
}

func putEnded(t *testing.T, st *store.Store, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if err := st.Put(context.Background(), ended(i, 10)); err != nil {
			t.Fatal(err)
		}
	}
}

// keptIDs lists the ids in the store, newest first.
func keptIDs(t *testing.T, st *store.Store) []string {
	t.Helper()
	recs, _, err := st.List(context.Background(), store.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.GetBenchmarkId())
	}
	return got
}
