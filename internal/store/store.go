// Package store keeps the history of benchmarks in a bbolt file on the host.
// bbolt because it is pure Go (benchd stays a static binary with no cgo),
// one file, and every Update is an fsync'd transaction: writing the record
// after each trial makes each trial durable. Records are the contract's own
// benchd.v1.Benchmark messages, so what is stored is exactly what the API
// returns.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// ErrNotFound: no benchmark has that id.
var ErrNotFound = errors.New("not in benchd's history")

var bucket = []byte("benchmarks")

// Retention bounds what the store keeps. When a write takes the store over
// either limit, the oldest ended runs are deleted, in the same transaction,
// until it is under both again. A running record and the record being
// written are never deleted, so one record larger than Bytes is kept alone.
// Zero means no limit.
type Retention struct {
	// Runs is the most records kept.
	Runs int
	// Bytes is the most record bytes kept (keys and encoded values; the
	// file adds bbolt's page overhead, see Open).
	Bytes int64
}

// Store is the history database.
type Store struct {
	db   *bolt.DB
	path string
	keep Retention

	// writeMu makes writes one at a time, so that pruning sees totals
	// that match the bucket. mu guards the totals, which mirror the
	// bucket, for readers: it is held only to update or copy them, never
	// across a transaction's fsync, so a metrics scrape does not wait for
	// a write. apply holds both.
	writeMu sync.Mutex
	mu      sync.Mutex
	runs    int
	bytes   int64
	states  map[benchdv1.BenchmarkState]int
}

// change is what one transaction did to the bucket: records, bytes, and
// records by state.
type change struct {
	runs   int
	bytes  int64
	states map[benchdv1.BenchmarkState]int
}

func (c *change) count(st benchdv1.BenchmarkState, n int) {
	if c.states == nil {
		c.states = map[benchdv1.BenchmarkState]int{}
	}
	c.states[st] += n
}

// apply adds a committed change to the totals; s.writeMu is held (or the
// store is not yet shared).
func (s *Store) apply(c change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs += c.runs
	s.bytes += c.bytes
	if s.states == nil {
		s.states = map[benchdv1.BenchmarkState]int{}
	}
	for st, n := range c.states {
		s.states[st] += n
	}
}

// compactAbove: Open rewrites the file when it is larger than this many
// times the retention's byte limit. bbolt never returns free pages to the
// file system, so a file that grew under a larger limit (or before
// retention existed) would otherwise keep its size for good; pages freed
// by pruning while benchd runs are reused, which bounds the file between
// two opens.
const compactAbove = 2

// Open opens (creating if needed) the store at path, holding it to keep.
// Records still RUNNING belong to a daemon that died: nothing will finish
// them, so each is passed to interrupted (which says how it ended) and
// written back. A nil interrupted leaves them as they are. A store over
// its retention is pruned at once, and a file more than compactAbove times
// keep.Bytes is compacted into a new file that replaces it.
func Open(path string, interrupted func(*benchdv1.Benchmark), keep Retention) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create store directory: %w", err)
	}
	s, err := openFile(path, interrupted, keep)
	if err != nil {
		return nil, err
	}
	if !s.needsCompaction() {
		return s, nil
	}
	if err := s.compact(); err != nil {
		s.Close()
		return nil, err
	}
	return openFile(path, interrupted, keep)
}

func openFile(path string, interrupted func(*benchdv1.Benchmark), keep Retention) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, inUse(path)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, path: path, keep: keep}
	if err := s.recover(interrupted); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database file.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) recover(interrupted func(*benchdv1.Benchmark)) error {
	var c change
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return fmt.Errorf("create bucket: %w", err)
		}
		var stale []*benchdv1.Benchmark
		err = b.ForEach(func(k, v []byte) error {
			rec := &benchdv1.Benchmark{}
			if err := proto.Unmarshal(v, rec); err != nil {
				return fmt.Errorf("decode benchmark %s: %w", k, err)
			}
			if interrupted != nil && rec.GetState() == benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING {
				stale = append(stale, rec)
			}
			c.runs++
			c.bytes += int64(len(k) + len(v))
			c.count(rec.GetState(), 1)
			return nil
		})
		if err != nil {
			return err
		}
		for _, rec := range stale {
			interrupted(rec)
			rec.UpdatedAt = timestamppb.Now()
			delta, err := put(b, rec)
			if err != nil {
				return err
			}
			c.bytes += delta
			c.count(benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING, -1)
			c.count(rec.GetState(), 1)
		}
		return s.prune(b, &c, nil)
	})
	if err != nil {
		return err
	}
	s.apply(c)
	return nil
}

// Put writes a record, replacing the previous version with the same id,
// and prunes the oldest ended records if the store is then over its
// retention.
func (s *Store) Put(_ context.Context, rec *benchdv1.Benchmark) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var c change
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		key := []byte(rec.GetBenchmarkId())
		if old := b.Get(key); old == nil {
			c.runs = 1
		} else {
			c.count(stateOf(old), -1)
		}
		delta, err := put(b, rec)
		if err != nil {
			return err
		}
		c.bytes = delta
		c.count(rec.GetState(), 1)
		return s.prune(b, &c, key)
	})
	if err != nil {
		return err
	}
	s.apply(c)
	return nil
}

// put writes rec and returns by how many bytes the bucket grew.
func put(b *bolt.Bucket, rec *benchdv1.Benchmark) (int64, error) {
	v, err := proto.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encode benchmark %s: %w", rec.GetBenchmarkId(), err)
	}
	key := []byte(rec.GetBenchmarkId())
	delta := int64(len(key) + len(v))
	if old := b.Get(key); old != nil {
		delta -= int64(len(key) + len(old))
	}
	if err := b.Put(key, v); err != nil {
		return 0, fmt.Errorf("write benchmark %s: %w", rec.GetBenchmarkId(), err)
	}
	return delta, nil
}

// prune deletes the oldest ended records (ids sort by start time) while
// the bucket, the totals plus c, is over the retention, sparing running
// ones, pinned baselines and keep, and adds what it deleted to c.
func (s *Store) prune(b *bolt.Bucket, c *change, keep []byte) error {
	over := func() bool {
		runs, size := s.runs+c.runs, s.bytes+c.bytes
		return (s.keep.Runs > 0 && runs > s.keep.Runs) || (s.keep.Bytes > 0 && size > s.keep.Bytes)
	}
	if !over() {
		return nil
	}
	var doomed [][]byte
	spared := pinned(b.Tx())
	cur := b.Cursor()
	for k, v := cur.First(); k != nil && over(); k, v = cur.Next() {
		if bytes.Equal(k, keep) || spared[string(k)] {
			continue
		}
		st := stateOf(v)
		if st == benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING {
			continue
		}
		doomed = append(doomed, bytes.Clone(k))
		c.runs--
		c.bytes -= int64(len(k) + len(v))
		c.count(st, -1)
	}
	// Deleting while a cursor walks the bucket skips keys; delete after.
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("prune benchmark %s: %w", k, err)
		}
	}
	return nil
}

// stateOf is an encoded record's state, read from its top-level fields
// without decoding the rest: every write of a run replaces its record,
// which grows with each trial. UNSPECIFIED when it does not parse, which
// no run can finish either.
func stateOf(v []byte) benchdv1.BenchmarkState {
	field := (&benchdv1.Benchmark{}).ProtoReflect().Descriptor().Fields().ByName("state").Number()
	state := benchdv1.BenchmarkState_BENCHMARK_STATE_UNSPECIFIED
	for len(v) > 0 {
		num, typ, n := protowire.ConsumeTag(v)
		if n < 0 {
			return benchdv1.BenchmarkState_BENCHMARK_STATE_UNSPECIFIED
		}
		v = v[n:]
		if num == field && typ == protowire.VarintType {
			x, m := protowire.ConsumeVarint(v)
			if m < 0 {
				return benchdv1.BenchmarkState_BENCHMARK_STATE_UNSPECIFIED
			}
			state = benchdv1.BenchmarkState(x) // the last occurrence wins, as in Unmarshal
			v = v[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, v)
		if m < 0 {
			return benchdv1.BenchmarkState_BENCHMARK_STATE_UNSPECIFIED
		}
		v = v[m:]
	}
	return state
}

// Usage is what the store holds now: records and their bytes (keys and
// encoded values), the figures the retention limits.
func (s *Store) Usage() (runs int, size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs, s.bytes
}

// States is how many records the store holds in each state.
func (s *Store) States() map[benchdv1.BenchmarkState]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.states)
}

// needsCompaction: the file is more than compactAbove times the byte limit.
func (s *Store) needsCompaction() bool {
	if s.keep.Bytes <= 0 {
		return false
	}
	fi, err := os.Stat(s.path)
	return err == nil && fi.Size() > compactAbove*s.keep.Bytes
}

// compact copies the live records into a new file, makes it durable,
// renames it over the store and closes s. The old file stays whole until
// the rename, so a crash at any point leaves one complete store.
func (s *Store) compact() error {
	tmp := s.path + ".compact"
	_ = os.Remove(tmp) // left by a compaction that crashed
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("compact store %s: %w", s.path, err)
	}
	// 64 MiB per transaction bounds the memory the copy takes.
	err = bolt.Compact(dst, s.db, 64<<20)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(s.path))
	}
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("compact store %s: %w", s.path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Get reads one record.
func (s *Store) Get(_ context.Context, id string) (*benchdv1.Benchmark, error) {
	rec := &benchdv1.Benchmark{}
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucket).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("benchmark %s: %w", id, ErrNotFound)
		}
		return proto.Unmarshal(v, rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// Filter selects records for List.
type Filter struct {
	Model        string
	Since, Until time.Time // zero: unbounded
	Limit        int       // the most records on a page; zero: no bound
	// After is the last id of the previous page; listing continues with
	// older records.
	After string
	// Summarize, if set, turns each record into its listed form (the
	// record is the caller's to change) before it counts against MaxBytes.
	Summarize func(*benchdv1.Benchmark)
	// MaxBytes bounds a page's encoded size: the page ends before the
	// record that would take it over, and holds at least one record. Zero:
	// no bound.
	MaxBytes int
}

// List returns records newest first. Ids start with their UTC start time,
// so key order is time order and a reverse cursor walk is the listing.
// The returned next is the id to pass as After for the following page, or
// empty on the last page.
func (s *Store) List(_ context.Context, f Filter) (recs []*benchdv1.Benchmark, next string, err error) {
	var total int
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		var k, v []byte
		if f.After != "" {
			k, v = c.Seek([]byte(f.After))
			if k != nil && bytes.Equal(k, []byte(f.After)) {
				k, v = c.Prev()
			} else if k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		} else {
			k, v = c.Last()
		}
		for ; k != nil; k, v = c.Prev() {
			rec := &benchdv1.Benchmark{}
			if err := proto.Unmarshal(v, rec); err != nil {
				return fmt.Errorf("decode benchmark %s: %w", k, err)
			}
			at := rec.GetCreatedAt().AsTime()
			if !f.Until.IsZero() && !at.Before(f.Until) {
				continue
			}
			if !f.Since.IsZero() && at.Before(f.Since) {
				break // older records only from here on
			}
			if f.Model != "" && rec.GetModel() != f.Model {
				continue
			}
			if f.Summarize != nil {
				f.Summarize(rec)
			}
			size := proto.Size(rec)
			if (f.Limit > 0 && len(recs) == f.Limit) || (f.MaxBytes > 0 && len(recs) > 0 && total+size > f.MaxBytes) {
				next = recs[len(recs)-1].GetBenchmarkId()
				return nil
			}
			recs = append(recs, rec)
			total += size
		}
		return nil
	})
	return recs, next, err
}
