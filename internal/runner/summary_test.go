package runner

import (
	"testing"
	"time"

	"github.com/benchd/benchd/internal/vram"
)

// The peak VRAM summary is over the trials that were sampled: one without
// samples has no peak, not a peak of 0 bytes, and a run with none at all
// has no summary (N = 0).
func TestPeakVRAMSummaryOnlyOverSampledTrials(t *testing.T) {
	sampled := &Trial{PeakVRAM: map[int]uint64{0: 3 << 30}}
	unsampled := &Trial{}
	if s := summarize([]*Trial{sampled, unsampled, sampled}).PeakVRAMUsed; s.N != 2 || s.Min != 3<<30 {
		t.Errorf("peak VRAM over 2 sampled of 3 trials: %+v, want N=2, min 3 GiB", s)
	}
	if s := summarize([]*Trial{unsampled, unsampled}).PeakVRAMUsed; s.N != 0 {
		t.Errorf("peak VRAM without samples: %+v, want N=0", s)
	}
}

// A long trial's VRAM timeline is thinned to maxTimelineSamples, evenly,
// first and last kept; a short one is kept whole.
func TestTimelineIsThinned(t *testing.T) {
	start := time.Unix(0, 0)
	ss := make([]vram.Sample, 360_000) // an hour at 10 ms
	for i := range ss {
		ss[i].At = start.Add(time.Duration(i) * 10 * time.Millisecond)
	}
	got := thinTimeline(ss, maxTimelineSamples)
	if len(got) != maxTimelineSamples || !got[0].At.Equal(ss[0].At) || !got[len(got)-1].At.Equal(ss[len(ss)-1].At) {
		t.Fatalf("thinned to %d samples, %v … %v", len(got), got[0].At, got[len(got)-1].At)
	}
	for i := 1; i < len(got); i++ {
		if gap := got[i].At.Sub(got[i-1].At); gap < 3590*time.Millisecond || gap > 3610*time.Millisecond {
			t.Fatalf("gap %v between kept samples %d and %d, want about 3.6 s", gap, i-1, i)
		}
	}
	if short := ss[:10]; len(thinTimeline(short, maxTimelineSamples)) != 10 {
		t.Error("a short timeline was thinned")
	}
}
