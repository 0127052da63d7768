package runner

import (
	"strings"
	"testing"
)

// No trial's prompt starts like one of the 15 before it in its run (a
// sweep cell's trials are a run of their own): ollama's cache reuses the
// longest common token prefix, so a shared start would be served from it
// and inflate the prefill rate (issue 17: "[run ID, trial " first gave
// benchd an 18% higher prefill rate than ollama-bench). Across runs and
// cells the tags' hashes make long shared starts unlikely; the longest is
// logged.
func TestPromptsShareNoCachedPrefix(t *testing.T) {
	s := Settings{Prompts: []string{"hi"}}
	var prompts []string
	for _, id := range []string{"20260102T030405Z-0123abcd", "20260102T030405Z-0123abcd/cell0", "20260102T030405Z-0123abcd/cell1", "20260102T030406Z-4567ef01"} {
		p := newPrompter(id, s, 0)
		for i := range 64 {
			_, prefix, prompt := p.next(i)
			if !strings.HasPrefix(prompt, prefix) {
				t.Fatalf("prompt %q lacks its prefix %q", prompt, prefix)
			}
			prompts = append(prompts, prompt)
		}
	}
	// Within a run, no prompt starts like one of the 15 before it.
	const window = 15
	worst := 0
	for i, a := range prompts {
		for j, b := range prompts[:i] {
			n := 0
			for n < len(a) && n < len(b) && a[n] == b[n] {
				n++
			}
			if i/64 != j/64 {
				worst = max(worst, n) // another run's or cell's: logged
				continue
			}
			if i-j <= window && n > 0 {
				t.Errorf("prompts %d and %d of a run start alike: %q", j%64, i%64, a[:n])
			}
		}
	}
	t.Logf("longest start shared with another run's or cell's prompt: %d bytes", worst)
}
