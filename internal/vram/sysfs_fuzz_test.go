package vram

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzSysfsAttributes fuzzes the sysfs source as benchd reads it: whatever
// the amdgpu attribute files hold (the kernel's "%llu\n", or a broken
// driver's anything), Read returns sane readings or an error, and the
// number parser agrees with strconv.
func FuzzSysfsAttributes(f *testing.F) {
	f.Add([]byte("25753026560\n"), []byte("1073741824\n"), []byte("AMD Radeon PRO W7900\n"))
	f.Add([]byte("18446744073709551615\n"), []byte("18446744073709551616\n"), []byte(""))
	f.Add([]byte("1 \r\n\t"), []byte("2"), []byte("\x00\xff"))
	f.Add([]byte(strings.Repeat("9", 40)), []byte("-1\n"), []byte(strings.Repeat("x", 5000)))
	root := f.TempDir()
	dev := filepath.Join(root, "class", "drm", "card0", "device")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dev, "vendor"), []byte("0x1002\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, total, used, name []byte) {
		for _, in := range [][]byte{total, used} {
			got, ok := parseUintLine(in)
			digits := strings.TrimRight(string(in), "\n \t\r")
			want, err := strconv.ParseUint(digits, 10, 64)
			if ok && (err != nil || got != want) {
				t.Fatalf("parseUintLine(%q) = %d, strconv says %d, %v", in, got, want, err)
			}
			// The parser may refuse only what strconv also refuses, or
			// more than 20 digits (zero-padded; no kernel prints that).
			if !ok && err == nil && len(digits) <= 20 {
				t.Fatalf("parseUintLine(%q) refused what strconv reads as %d", in, want)
			}
		}
		for file, b := range map[string][]byte{"mem_info_vram_total": total, "mem_info_vram_used": used, "product_name": name} {
			if err := os.WriteFile(filepath.Join(dev, file), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s := &Sysfs{Root: root}
		gpus, err := s.Read(context.Background())
		if err != nil {
			if gpus != nil {
				t.Fatalf("readings %+v with error %v", gpus, err)
			}
			return
		}
		if len(gpus) != 1 {
			t.Fatalf("one card, %d readings", len(gpus))
		}
		g := gpus[0]
		if g.UsedBytes > g.TotalBytes || g.Vendor != VendorAMD || g.Source != SourceSysfs {
			t.Fatalf("reading %+v from total %q used %q", g, total, used)
		}
		if wt, _ := parseUintLine(total); wt != g.TotalBytes {
			t.Fatalf("total %d, file says %q", g.TotalBytes, total)
		}
	})
}
