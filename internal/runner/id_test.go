package runner

import (
	"testing"

	"github.com/benchd/benchd/proto/record"
)

func TestIDsSortByStartTime(t *testing.T) {
	pattern := record.IDPattern
	var ids []string
	for range 2000 {
		id := newID()
		if !pattern.MatchString(id) {
			t.Fatalf("id %q does not match the API's pattern", id)
		}
		ids = append(ids, id)
	}
	// Ids made one after another sort in the order they were made, except
	// for ties within the same 1/65536 s, which the random part may flip.
	for i := 1; i < len(ids); i++ {
		if ids[i][:21] < ids[i-1][:21] {
			t.Fatalf("id %s made after %s sorts before it", ids[i], ids[i-1])
		}
	}
}
