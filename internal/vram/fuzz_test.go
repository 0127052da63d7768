package vram

import (
	"path/filepath"
	"testing"
)

// seedFixtures adds every fixture of one tool, plus near misses, as seeds.
func seedFixtures(f *testing.F, dir string, extra ...string) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, dir, "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		rel, _ := filepath.Rel(fixtureDir, file)
		f.Add(readFixture(f, rel))
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// checkInvariants is what every successful parse promises.
func checkInvariants(t *testing.T, gpus []GPU, err error, vendor, source string) {
	t.Helper()
	if err != nil {
		if gpus != nil {
			t.Fatalf("readings %+v returned with error %v", gpus, err)
		}
		return
	}
	if len(gpus) == 0 {
		t.Fatal("success with no GPUs")
	}
	for i, g := range gpus {
		if g.UsedBytes > g.TotalBytes {
			t.Fatalf("GPU %d: used %d > total %d", g.Index, g.UsedBytes, g.TotalBytes)
		}
		if g.Index < 0 || (i > 0 && gpus[i-1].Index >= g.Index) {
			t.Fatalf("indices not unique and ascending: %+v", gpus)
		}
		if g.Vendor != vendor || g.Source != source || !g.SampledAt.IsZero() {
			t.Fatalf("GPU %d: vendor %q source %q sampledAt %v", g.Index, g.Vendor, g.Source, g.SampledAt)
		}
	}
}

func FuzzParseRocmSMI(f *testing.F) {
	seedFixtures(f, "rocm-smi",
		`{"card1": {"VRAM Total Memory (B)": "N/A"}, "card2": {"VRAM Total Memory (B)": 5, "VRAM Total Used Memory (B)": "5"}}`,
		"WARN\n{\"card0\": {}}")
	f.Fuzz(func(t *testing.T, in []byte) {
		gpus, err := ParseRocmSMI(in)
		checkInvariants(t, gpus, err, VendorAMD, SourceRocmSMI)
	})
}

func FuzzParseAMDSMI(f *testing.F) {
	seedFixtures(f, "amd-smi",
		`{"gpu_data": [{"gpu": 1, "mem_usage": {"total_vram": {"value": "1.5", "unit": "GB"}, "used_vram": "N/A"}}]}`,
		`{"gpu": 0, "mem_usage": {"total_vram": 10, "used_vram": "2 KB"}}`)
	f.Fuzz(func(t *testing.T, in []byte) {
		gpus, err := ParseAMDSMI(in)
		checkInvariants(t, gpus, err, VendorAMD, SourceAMDSMI)
	})
}

func FuzzParseNvidiaSMI(f *testing.F) {
	seedFixtures(f, "nvidia-smi", "1, X, [N/A], 0\n0, Y, 10, 1\r\n")
	f.Fuzz(func(t *testing.T, in []byte) {
		gpus, err := ParseNvidiaSMI(in)
		checkInvariants(t, gpus, err, VendorNvidia, SourceNvidiaSMI)
	})
}
