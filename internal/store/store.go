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
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// ErrNotFound: no benchmark has that id.
var ErrNotFound = errors.New("not in benchd's history")

var bucket = []byte("benchmarks")

// Store is the history database.
type Store struct {
	db *bolt.DB
}

// Open opens (creating if needed) the store at path. Records still RUNNING
// belong to a daemon that died: nothing will finish them, so each is passed
// to interrupted (which says how it ended) and written back. A nil
// interrupted leaves them as they are.
func Open(path string, interrupted func(*benchdv1.Benchmark)) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create store directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, inUse(path)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.recover(interrupted); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database file.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) recover(interrupted func(*benchdv1.Benchmark)) error {
	return s.db.Update(func(tx *bolt.Tx) error {
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
			return nil
		})
		if err != nil {
			return err
		}
		for _, rec := range stale {
			interrupted(rec)
			rec.UpdatedAt = timestamppb.Now()
			if err := put(b, rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// Put writes a record, replacing the previous version with the same id.
func (s *Store) Put(_ context.Context, rec *benchdv1.Benchmark) error {
	return s.db.Update(func(tx *bolt.Tx) error { return put(tx.Bucket(bucket), rec) })
}

func put(b *bolt.Bucket, rec *benchdv1.Benchmark) error {
	v, err := proto.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode benchmark %s: %w", rec.GetBenchmarkId(), err)
	}
	if err := b.Put([]byte(rec.GetBenchmarkId()), v); err != nil {
		return fmt.Errorf("write benchmark %s: %w", rec.GetBenchmarkId(), err)
	}
	return nil
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
	Limit        int
	// After is the last id of the previous page; listing continues with
	// older records.
	After string
}

// List returns records newest first. Ids start with their UTC start time,
// so key order is time order and a reverse cursor walk is the listing.
// The returned next is the id to pass as After for the following page, or
// empty on the last page.
func (s *Store) List(_ context.Context, f Filter) (recs []*benchdv1.Benchmark, next string, err error) {
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
			if len(recs) == f.Limit {
				next = recs[len(recs)-1].GetBenchmarkId()
				return nil
			}
			recs = append(recs, rec)
		}
		return nil
	})
	return recs, next, err
}
