package runner

import "testing"

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
