package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// baselines maps a fingerprint id (verdict.Fingerprint) to the id of the
// benchmark pinned as its baseline. Its own bucket, so a store written
// before baselines existed opens as it is.
var baselines = []byte("baselines")

// Baseline returns the benchmark pinned for fingerprint, or "".
func (s *Store) Baseline(_ context.Context, fingerprint string) (string, error) {
	var id string
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(baselines); b != nil {
			id = string(b.Get([]byte(fingerprint)))
		}
		return nil
	})
	return id, err
}

// SetBaseline pins id as fingerprint's baseline ("" unpins) and returns
// the id pinned before, or "".
func (s *Store) SetBaseline(_ context.Context, fingerprint, id string) (previous string, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(baselines)
		if err != nil {
			return fmt.Errorf("create bucket: %w", err)
		}
		previous = string(b.Get([]byte(fingerprint)))
		if id == "" {
			return b.Delete([]byte(fingerprint))
		}
		return b.Put([]byte(fingerprint), []byte(id))
	})
	if err != nil {
		return "", fmt.Errorf("pin baseline of %s: %w", fingerprint, err)
	}
	return previous, nil
}

// pinned is the set of benchmark ids pinned as a baseline: retention keeps
// them, or a pin would point at nothing.
func pinned(tx *bolt.Tx) map[string]bool {
	set := map[string]bool{}
	if b := tx.Bucket(baselines); b != nil {
		_ = b.ForEach(func(_, v []byte) error {
			set[string(v)] = true
			return nil
		})
	}
	return set
}
