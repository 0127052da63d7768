package vram

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// amdVendorID is the PCI vendor ID amdgpu devices carry in device/vendor.
const amdVendorID = "0x1002"

// Sysfs reads AMD VRAM usage from the amdgpu driver's sysfs files,
// <Root>/class/drm/cardN/device/mem_info_vram_{total,used}, which hold bytes
// as "%llu\n". It is the cheapest source by far (no process, no container
// exec), which matters because it is read on a hot path.
//
// The card list is discovered on first use and cached, with the two
// counter files of each card held open: listing the directory and reading
// vendor and name files on every sample would cost more than the sample
// itself, and so would opening the counters again (see attrFile). It is discovered again whenever a read fails
// (a card was removed or renumbered) and by Detect, so a card added while
// readings succeed is only seen after the next Detect.
//
// A Sysfs is safe for concurrent use and must not be copied after first use.
type Sysfs struct {
	// Root is where sysfs is mounted; empty means "/sys".
	Root string
	// Now stamps readings; nil means time.Now. Tests set it to drive a
	// simulated tree deterministically.
	Now func() time.Time

	mu         sync.Mutex
	discovered bool
	cards      []sysfsCard
	buf        [32]byte // read buffer for one attribute; guarded by mu
}

type sysfsCard struct {
	index       int
	name        string
	total, used *attrFile
	hwmon       hwmonFiles
}

// attrFile is a counter file held open from discovery on and read with
// pread(2) at offset 0: sysfs formats an attribute afresh for every read
// that starts at offset 0, so one system call replaces open, read and
// close, and the path walk through the class/drm symlinks that open made
// on every sample. A held file does not follow the path, so a file that
// is not on sysfs (the fixture trees standing in for /sys in tests and the
// harness, which replace counters by rename or remove whole cards) is
// checked with fstat(2) on every read: once unlinked, the read fails and
// Read discovers the cards again, as it does when a sysfs read fails
// because the device went away (ENODEV). os.File closes a dropped one.
type attrFile struct {
	path  string
	f     *os.File
	fd    int
	sysfs bool // on sysfs: no unlink check needed
}

// sysfsMagic is SYSFS_MAGIC from linux/magic.h, the f_type of sysfs.
const sysfsMagic = 0x62656572

func openAttr(path string) (*attrFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	a := &attrFile{path: path, f: f, fd: int(f.Fd())}
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(a.fd, &st); err == nil && st.Type == sysfsMagic {
		a.sysfs = true
	}
	return a, nil
}

func (c *sysfsCard) close() {
	for _, a := range []*attrFile{c.total, c.used} {
		if a != nil {
			a.f.Close()
		}
	}
	c.hwmon.close()
}

var _ Reader = (*Sysfs)(nil)

// Source returns SourceSysfs.
func (s *Sysfs) Source() string { return SourceSysfs }

// Detect reports whether any AMD GPU with readable VRAM counters exists
// under Root. It always looks afresh and refreshes the cached card list. A
// directory that cannot be listed counts as "no": Detect only chooses
// between sources, and Read reports the actual error.
func (s *Sysfs) Detect() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.discoverLocked() == nil && len(s.cards) > 0
}

// Read returns the VRAM usage of every AMD card, sorted by index.
func (s *Sysfs) Read(ctx context.Context) ([]GPU, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read VRAM from sysfs: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.discovered {
		if err := s.discoverLocked(); err != nil {
			return nil, fmt.Errorf("read VRAM from sysfs: %w", err)
		}
	}
	gpus, err := s.readLocked()
	if err == nil {
		return gpus, nil
	}
	// The cached list may be stale (a card was removed or renumbered);
	// look again once before failing. The first failure is kept in the
	// message when it differs: if discovery dropped the broken card, it
	// is the only record of why.
	first := err
	if err = s.discoverLocked(); err == nil {
		if gpus, err = s.readLocked(); err == nil {
			return gpus, nil
		}
	}
	s.discovered = false
	if err.Error() != first.Error() {
		return nil, fmt.Errorf("read VRAM from sysfs: %w (before re-discovery: %v)", err, first)
	}
	return nil, fmt.Errorf("read VRAM from sysfs: %w", err)
}

func (s *Sysfs) readLocked() ([]GPU, error) {
	if len(s.cards) == 0 {
		return nil, fmt.Errorf("no amdgpu card under %s: %w", s.drmDir(), ErrNoGPU)
	}
	gpus := make([]GPU, len(s.cards))
	for i := range s.cards {
		c := &s.cards[i]
		total, err := s.readUintLocked(c.total)
		if err != nil {
			return nil, err
		}
		used, err := s.readUintLocked(c.used)
		if err != nil {
			return nil, err
		}
		gpus[i] = GPU{
			Index:      c.index,
			Name:       c.name,
			Vendor:     VendorAMD,
			TotalBytes: total,
			UsedBytes:  used,
			Source:     SourceSysfs,
			Telemetry:  s.readTelemetryLocked(&c.hwmon),
		}
	}
	if err := checkReadings(gpus); err != nil {
		return nil, err
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	for i := range gpus {
		gpus[i].SampledAt = now
	}
	return gpus, nil
}

func (s *Sysfs) drmDir() string {
	root := s.Root
	if root == "" {
		root = "/sys"
	}
	return filepath.Join(root, "class", "drm")
}

// discoverLocked rebuilds the card list. A missing class/drm directory is
// not an error: it is how a host without any DRM driver looks.
func (s *Sysfs) discoverLocked() error {
	for i := range s.cards {
		s.cards[i].close()
	}
	s.discovered, s.cards = false, nil
	dir := s.drmDir()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		s.discovered = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("discover amdgpu cards: %w", err)
	}
	var cards []sysfsCard
	for _, e := range entries {
		// Entries are symlinks into /sys/devices, so their type says
		// nothing; the name is what tells cards from connectors
		// (card0-DP-1) and render nodes.
		idx, ok := cardIndex(e.Name())
		if !ok {
			continue
		}
		dev := filepath.Join(dir, e.Name(), "device")
		vendor, err := os.ReadFile(filepath.Join(dev, "vendor"))
		if err != nil || strings.TrimSpace(string(vendor)) != amdVendorID {
			continue
		}
		c := sysfsCard{index: idx, name: e.Name()}
		// The radeon driver shares the vendor ID but has no mem_info
		// files; a card we cannot read is not one we can offer.
		if !s.openCounters(&c, dev) {
			c.close()
			continue
		}
		c.hwmon = discoverHwmon(dev)
		// product_name comes from the board FRU and is empty on most
		// consumer cards.
		if b, err := os.ReadFile(filepath.Join(dev, "product_name")); err == nil {
			if name := strings.TrimSpace(string(b)); name != "" {
				c.name = name
			}
		}
		cards = append(cards, c)
	}
	slices.SortFunc(cards, func(a, b sysfsCard) int { return a.index - b.index })
	s.discovered, s.cards = true, cards
	return nil
}

// openCounters opens and reads c's two counter files, reporting whether
// both are readable byte counts.
func (s *Sysfs) openCounters(c *sysfsCard, dev string) bool {
	var err error
	if c.total, err = openAttr(filepath.Join(dev, "mem_info_vram_total")); err != nil {
		return false
	}
	if c.used, err = openAttr(filepath.Join(dev, "mem_info_vram_used")); err != nil {
		return false
	}
	_, errT := s.readUintLocked(c.total)
	_, errU := s.readUintLocked(c.used)
	return errT == nil && errU == nil
}

// readUintLocked reads a "%llu\n" attribute into s.buf with one pread(2)
// on the held file (plus the fstat(2) of a file off sysfs). Before the
// files were held, each read was open(2), read(2) and close(2), the open
// walking the path through the class/drm symlinks; before that, os.Open's
// four fcntl(2) calls and a failing epoll_ctl(2) more (it tries to make
// every file pollable, which regular and sysfs files are not). This runs
// for every sample and every SampleVRAM call, twice per card.
// os.ReadFile would also size its buffer from the stat size, which sysfs
// reports as 4096 for every attribute.
func (s *Sysfs) readUintLocked(a *attrFile) (uint64, error) {
	b, err := s.readHeldLocked(a)
	if err != nil {
		return 0, err
	}
	v, ok := parseUintLine(b)
	if !ok {
		return 0, fmt.Errorf("read %s: not a byte count", a.path)
	}
	return v, nil
}

// readHeldLocked reads the held attribute a into s.buf with pread(2) from
// offset 0, after an fstat(2) for a file off sysfs (errReplaced once it was
// removed or renamed over); the slice is valid until the next read. An
// attribute that fills the buffer is refused: none that we read is that
// long, so it is not the file we think.
func (s *Sysfs) readHeldLocked(a *attrFile) ([]byte, error) {
	if !a.sysfs {
		var st syscall.Stat_t
		if err := syscall.Fstat(a.fd, &st); err != nil {
			return nil, &fs.PathError{Op: "stat", Path: a.path, Err: err}
		}
		if st.Nlink == 0 {
			return nil, &fs.PathError{Op: "read", Path: a.path, Err: errReplaced}
		}
	}
	n := 0
	for n < len(s.buf) {
		m, err := syscall.Pread(a.fd, s.buf[n:], int64(n))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", a.path, err)
		}
		n += m
		// sysfs hands over a whole attribute in one read, so a
		// trailing newline means done; skipping the read that would
		// return EOF saves a syscall per file on the hot path.
		if m == 0 || s.buf[n-1] == '\n' {
			break
		}
	}
	if n == len(s.buf) {
		return nil, fmt.Errorf("read %s: longer than %d bytes", a.path, len(s.buf))
	}
	return s.buf[:n], nil
}

// errReplaced: a held counter file was removed or replaced (renamed over)
// since discovery; Read looks for the cards again.
var errReplaced = errors.New("file was removed or replaced")

// parseUintLine parses decimal digits followed by optional whitespace,
// without the string conversion strconv would need.
func parseUintLine(b []byte) (uint64, bool) {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}
