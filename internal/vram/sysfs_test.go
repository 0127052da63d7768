package vram

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeCard describes one card directory of a fake sysfs tree. Empty
// strings leave the file out.
type fakeCard struct {
	name, vendor, total, used, product string
}

func writeSysfs(t testing.TB, root string, cards ...fakeCard) {
	t.Helper()
	for _, c := range cards {
		dev := filepath.Join(root, "class", "drm", c.name, "device")
		if err := os.MkdirAll(dev, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, content := range map[string]string{
			"vendor": c.vendor, "mem_info_vram_total": c.total,
			"mem_info_vram_used": c.used, "product_name": c.product,
		} {
			if content == "" {
				continue
			}
			if err := os.WriteFile(filepath.Join(dev, file), []byte(content), 0o444); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func amdCard(n int, total, used uint64) fakeCard {
	return fakeCard{
		name:   "card" + strconv.Itoa(n),
		vendor: "0x1002\n",
		total:  strconv.FormatUint(total, 10) + "\n",
		used:   strconv.FormatUint(used, 10) + "\n",
	}
}

func TestSysfsRead(t *testing.T) {
	root := t.TempDir()
	named := amdCard(10, 24<<30, 1<<30)
	named.product = "AMD Radeon PRO W7900\n"
	writeSysfs(t, root,
		amdCard(1, 21458059264, 27856896),
		named,
		// Intel iGPU: readable counters, wrong vendor.
		fakeCard{name: "card0", vendor: "0x8086\n", total: "100\n", used: "1\n"},
		// A connector of card1, laid out like a card so that only its
		// name can exclude it.
		fakeCard{name: "card1-DP-1", vendor: "0x1002\n", total: "100\n", used: "1\n"},
		// AMD vendor but no used counter (radeon driver, old kernel).
		fakeCard{name: "card3", vendor: "0x1002\n", total: "100\n"},
		// Blank product_name falls back to the card name.
		fakeCard{name: "card2", vendor: "0x1002", total: "300", used: "3", product: "\n"},
		fakeCard{name: "renderD128", vendor: "0x1002\n", total: "100\n", used: "1\n"},
	)

	s := &Sysfs{Root: root}
	if !s.Detect() {
		t.Fatal("Detect() = false, want true")
	}
	gpus, err := s.Read(context.Background())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	want := []GPU{
		{Index: 1, Name: "card1", TotalBytes: 21458059264, UsedBytes: 27856896},
		{Index: 2, Name: "card2", TotalBytes: 300, UsedBytes: 3},
		{Index: 10, Name: "AMD Radeon PRO W7900", TotalBytes: 24 << 30, UsedBytes: 1 << 30},
	}
	if len(gpus) != len(want) {
		t.Fatalf("got %+v, want %d GPUs", gpus, len(want))
	}
	for i, g := range gpus {
		w := want[i]
		w.Vendor, w.Source, w.SampledAt = VendorAMD, SourceSysfs, g.SampledAt
		if g != w {
			t.Errorf("GPU %d: got %+v, want %+v", i, g, w)
		}
		if g.SampledAt.IsZero() || !g.SampledAt.Equal(gpus[0].SampledAt) {
			t.Errorf("GPU %d: SampledAt %v, want one non-zero stamp per Read", i, g.SampledAt)
		}
	}

	// Counters move between reads; the cached card list must not cache
	// values.
	used := filepath.Join(root, "class", "drm", "card1", "device", "mem_info_vram_used")
	if err := os.WriteFile(used, []byte("4096\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gpus, err = s.Read(context.Background())
	if err != nil || gpus[0].UsedBytes != 4096 {
		t.Fatalf("after update: got (%+v, %v), want card1 used 4096", gpus, err)
	}
}

func TestSysfsRediscovers(t *testing.T) {
	root := t.TempDir()
	writeSysfs(t, root, amdCard(0, 100, 1), amdCard(1, 200, 2))
	s := &Sysfs{Root: root}
	if gpus, err := s.Read(context.Background()); err != nil || len(gpus) != 2 {
		t.Fatalf("first Read: (%+v, %v), want 2 GPUs", gpus, err)
	}
	// Unplugging card0 fails the cached read once; Read must look again
	// and return the card that is left, not an error.
	if err := os.RemoveAll(filepath.Join(root, "class", "drm", "card0")); err != nil {
		t.Fatal(err)
	}
	gpus, err := s.Read(context.Background())
	if err != nil || len(gpus) != 1 || gpus[0].Index != 1 {
		t.Fatalf("after unplug: (%+v, %v), want card1 only", gpus, err)
	}
	// A counter that stays unreadable drops its card at rediscovery; the
	// error must still name the file that failed, not just "no GPU".
	bad := filepath.Join(root, "class", "drm", "card1", "device", "mem_info_vram_total")
	if err := os.WriteFile(bad, []byte("lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.Read(context.Background())
	if !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), bad+": not a byte count") {
		t.Fatalf("corrupt counter: err %v, want ErrNoGPU naming %s", err, bad)
	}
	// Fixed again, the card comes back.
	if err := os.WriteFile(bad, []byte("300\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if gpus, err := s.Read(context.Background()); err != nil || len(gpus) != 1 || gpus[0].TotalBytes != 300 {
		t.Fatalf("after fix: (%+v, %v), want card1 with total 300", gpus, err)
	}
}

// The counters are held open between reads; a counter replaced by rename
// (a new inode, as the fixture trees of other tests replace them) must be
// read from its new file, not the held, unlinked one.
func TestSysfsFollowsReplacedCounter(t *testing.T) {
	root := t.TempDir()
	writeSysfs(t, root, amdCard(0, 100, 1))
	s := &Sysfs{Root: root}
	if gpus, err := s.Read(context.Background()); err != nil || gpus[0].UsedBytes != 1 {
		t.Fatalf("first Read: (%+v, %v), want used 1", gpus, err)
	}
	used := filepath.Join(root, "class", "drm", "card0", "device", "mem_info_vram_used")
	tmp := used + ".new"
	if err := os.WriteFile(tmp, []byte("42\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, used); err != nil {
		t.Fatal(err)
	}
	if gpus, err := s.Read(context.Background()); err != nil || gpus[0].UsedBytes != 42 {
		t.Fatalf("after rename: (%+v, %v), want used 42", gpus, err)
	}
}

func TestSysfsNoGPU(t *testing.T) {
	for name, setup := range map[string]func(root string){
		"no drm dir": func(string) {},
		"only intel": func(root string) {
			writeSysfs(t, root, fakeCard{name: "card0", vendor: "0x8086\n", total: "1\n", used: "1\n"})
		},
		"missing file": func(root string) { writeSysfs(t, root, fakeCard{name: "card0", vendor: "0x1002\n", used: "1\n"}) },
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			setup(root)
			s := &Sysfs{Root: root}
			if s.Detect() {
				t.Error("Detect() = true, want false")
			}
			_, err := s.Read(context.Background())
			if !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), "read VRAM from sysfs") {
				t.Errorf("Read error %v, want wrapped ErrNoGPU", err)
			}
		})
	}
}

func TestSysfsUsedOverTotal(t *testing.T) {
	root := t.TempDir()
	writeSysfs(t, root, amdCard(0, 100, 1))
	s := &Sysfs{Root: root}
	if _, err := s.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	used := filepath.Join(root, "class", "drm", "card0", "device", "mem_info_vram_used")
	if err := os.WriteFile(used, []byte("101\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "exceeds total") {
		t.Fatalf("err %v, want used-exceeds-total error", err)
	}
}

func TestSysfsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Sysfs{Root: t.TempDir()}).Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestSysfsConcurrent(t *testing.T) {
	root := t.TempDir()
	writeSysfs(t, root, amdCard(0, 100, 1), amdCard(1, 200, 2))
	s := &Sysfs{Root: root}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if gpus, err := s.Read(context.Background()); err != nil || len(gpus) != 2 {
					t.Errorf("Read: (%+v, %v)", gpus, err)
					return
				}
				s.Detect()
			}
		})
	}
	wg.Wait()
}

func TestParseUintLine(t *testing.T) {
	for in, want := range map[string]uint64{"0\n": 0, "27856896\n": 27856896, "18446744073709551615\n": 1<<64 - 1, "5": 5, "7 \r\n": 7} {
		if got, ok := parseUintLine([]byte(in)); !ok || got != want {
			t.Errorf("parseUintLine(%q) = (%d, %v), want (%d, true)", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "\n", "18446744073709551616\n", "-1\n", "1 2\n", "0x10\n", "99999999999999999999\n"} {
		if got, ok := parseUintLine([]byte(in)); ok {
			t.Errorf("parseUintLine(%q) = (%d, true), want failure", in, got)
		}
	}
}

func BenchmarkSysfsRead(b *testing.B) {
	root := b.TempDir()
	writeSysfs(b, root, amdCard(0, 21458059264, 27856896), amdCard(1, 21458059264, 27856896))
	s := &Sysfs{Root: root}
	ctx := context.Background()
	if _, err := s.Read(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// A held telemetry file that is replaced (renamed over, as a fixture tree's
// writer may) is opened again by its path: the next sample has the new
// value, not the unlinked file's.
func TestSysfsTelemetryFollowsReplacedFile(t *testing.T) {
	root := t.TempDir()
	writeSysfs(t, root, amdCard(0, 100, 1))
	hw := filepath.Join(root, "class", "drm", "card0", "device", "hwmon", "hwmon0")
	if err := os.MkdirAll(hw, 0o755); err != nil {
		t.Fatal(err)
	}
	power := filepath.Join(hw, "power1_average")
	for p, v := range map[string]string{filepath.Join(hw, "name"): "amdgpu\n", power: "50000000\n"} {
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := &Sysfs{Root: root}
	watts := func() float64 {
		t.Helper()
		gpus, err := s.Read(context.Background())
		if err != nil || !gpus[0].Telemetry.PowerW.Set {
			t.Fatalf("Read: (%+v, %v), want power", gpus, err)
		}
		return gpus[0].Telemetry.PowerW.V
	}
	if w := watts(); w != 50 {
		t.Fatalf("power %v W, want 50", w)
	}
	if err := os.WriteFile(power+".new", []byte("75000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(power+".new", power); err != nil {
		t.Fatal(err)
	}
	if w := watts(); w != 75 {
		t.Fatalf("after rename: power %v W, want 75", w)
	}
	if err := os.WriteFile(power, []byte("60000000\n"), 0o644); err != nil { // in place
		t.Fatal(err)
	}
	if w := watts(); w != 60 {
		t.Fatalf("after rewrite: power %v W, want 60", w)
	}
}
