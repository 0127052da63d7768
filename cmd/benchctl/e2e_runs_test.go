package main_test

// compare, chart, history across a daemon restart, and what Ctrl-C does to
// run and watch (detach, re-attach, cancel; the question on a terminal),
// against the real daemon and rig.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/report"
	"github.com/benchd/benchd/internal/testrig"
)

// comparison is the part of `compare -o json` the tests read.
type comparison struct {
	Runs []struct {
		Overall string `json:"overall"`
		Notes   []string
		Metrics []struct {
			Metric   string   `json:"metric"`
			Verdict  string   `json:"verdict"`
			P        *float64 `json:"p"`
			DeltaPct *float64 `json:"delta_pct"`
		} `json:"metrics"`
	} `json:"runs"`
}

func (c comparison) verdict(metric string) (string, float64) {
	for _, m := range c.Runs[0].Metrics {
		if m.Metric == metric {
			p := -1.0
			if m.P != nil {
				p = *m.P
			}
			return m.Verdict, p
		}
	}
	return "", 0
}

// TestBenchctlCompareSameModel compares two runs of the same model on the
// same machine: compare must find no significant difference in generation
// rate. The two runs go at the same time, on two daemons that share the
// rig's ollama, so that their trials interleave and meet the same machine:
// on this shared 2-core box the background load drifts between runs a few
// seconds apart, and back-to-back runs did differ for real (4 of 12 pairs
// at p < 0.05 when we measured), which compare rightly reports. Welch's
// t-test assumes the two samples come from the same conditions; interleaving
// is how benchmarkers give it that. Even then a correct test at α = 0.05
// flags 5% of identical pairs, so a pair that does is drawn once more
// (false-failure rate 0.25%).
//
// As a positive control, a cold run (the model unloaded before every trial)
// must be slower to load than a warm one, with a note that the settings
// differ.
func TestBenchctlCompareSameModel(t *testing.T) {
	a := startDaemon(t)
	b := startDaemon(t)
	dir := t.TempDir()
	args := []string{"run", testrig.Model, "--reps", "5", "--max-tokens", "64", "-o", "json"}
	var verdict string
	for attempt := 1; attempt <= 2; attempt++ {
		var wg sync.WaitGroup
		var (
			outB, errB string
			codeB      int
		)
		wg.Add(1)
		go func() { // no t.Fatal off the test's goroutine: checked below
			defer wg.Done()
			outB, errB, codeB = benchctl(t, b, args...)
		}()
		outA := mustBenchctl(t, a, args...)
		wg.Wait()
		if codeB != 0 {
			t.Fatalf("benchctl run on the second daemon: exit %d\n%s", codeB, errB)
		}
		// The run from daemon b reaches daemon a's compare as a file.
		fileB := filepath.Join(dir, fmt.Sprintf("b%d.json", attempt))
		if err := os.WriteFile(fileB, []byte(outB), 0o644); err != nil {
			t.Fatal(err)
		}
		idA := parseStored(t, outA).BenchmarkID
		table := mustBenchctl(t, a, "compare", idA, fileB)
		t.Logf("attempt %d: benchctl compare %s %s\n%s", attempt, idA, fileB, table)
		if !strings.Contains(table, "overall: ") || !regexp.MustCompile(`(?m)^gen tok/s\s`).MatchString(table) {
			t.Errorf("compare table:\n%s", table)
		}
		var c comparison
		if err := json.Unmarshal([]byte(mustBenchctl(t, a, "compare", idA, fileB, "-o", "json")), &c); err != nil || len(c.Runs) != 1 {
			t.Fatalf("compare -o json: %v %+v", err, c)
		}
		var p float64
		verdict, p = c.verdict("eval_rate")
		t.Logf("attempt %d: eval_rate %s (p=%.3f); overall: %s", attempt, verdict, p, c.Runs[0].Overall)
		if verdict == report.NoDifference {
			if !strings.Contains(table, "no significant difference") {
				t.Errorf("table does not say so:\n%s", table)
			}
			break
		}
	}
	if verdict != report.NoDifference {
		t.Errorf("two interleaved runs of the same model differ in eval rate twice in a row: %s", verdict)
	}

	// Positive control: cold vs warm load time.
	// Eight trials each: other tests share the rig's ollama and may unload
	// the model under a warm run, and cold loads vary by hundreds of ms.
	warm := parseStored(t, mustBenchctl(t, a, "run", testrig.Model, "--reps", "8", "--max-tokens", "16", "-o", "json")).BenchmarkID
	cold := parseStored(t, mustBenchctl(t, a, "run", testrig.Model, "--reps", "8", "--max-tokens", "16", "--cold", "-o", "json")).BenchmarkID
	var c comparison
	out := mustBenchctl(t, a, "compare", warm, cold, "-o", "json")
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if v, p := c.verdict("load_duration_ns"); v != report.Slower {
		t.Errorf("cold vs warm load: %s (p=%.3f), want slower\n%s", v, p, mustBenchctl(t, a, "compare", warm, cold))
	}
	if notes := strings.Join(c.Runs[0].Notes, "; "); !strings.Contains(notes, "different settings: warm vs cold") {
		t.Errorf("notes do not say the settings differ: %q", notes)
	}
	md := mustBenchctl(t, a, "compare", warm, cold, "-o", "markdown")
	if !mdTable.MatchString(md) || !strings.Contains(md, "**Overall: ") {
		t.Errorf("compare -o md:\n%s", md)
	}
}

// copyDir copies a small directory tree.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBenchctlChart draws two real runs. The daemon reads VRAM from a
// copy of the sysfs fixture whose used-bytes file the test rewrites while
// the benchmark runs (a saw-tooth between 1 and 3 GiB), so the timeline has
// a shape. Set BENCHCTL_CHART_DIR to keep the images.
func TestBenchctlChart(t *testing.T) {
	sysfs := filepath.Join(t.TempDir(), "sys")
	copyDir(t, testrig.SysfsFixture(), sysfs)
	used := filepath.Join(sysfs, "class", "drm", "card0", "device", "mem_info_vram_used")
	if _, err := os.Stat(used); err != nil {
		t.Fatal(err)
	}
	d := testrig.StartDaemon(t, "--container", testrig.Ollama(t), "--vram-source", "sysfs", "--sysfs-root", sysfs)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(7 * time.Millisecond):
			}
			v := uint64(1<<30) + uint64(i%40)*(50<<20)
			tmp := used + ".tmp"
			// Replace atomically: the reader never sees half a number.
			if os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", v)), 0o444) == nil {
				_ = os.Rename(tmp, used)
			}
		}
	}()
	var ids []string
	for _, cold := range []bool{false, true} {
		args := []string{"run", testrig.Model, "--reps", "4", "--max-tokens", "256", "--vram-interval", "10ms", "-o", "json"}
		if cold {
			args = append(args, "--cold")
		}
		b := parseStored(t, mustBenchctl(t, d, args...))
		if len(b.VRAMTimeline) < 10 {
			t.Errorf("%s: %d VRAM samples at 10ms", b.BenchmarkID, len(b.VRAMTimeline))
		}
		ids = append(ids, b.BenchmarkID)
	}
	close(stop)
	wg.Wait()

	dir := os.Getenv("BENCHCTL_CHART_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	pngFile, svgFile := filepath.Join(dir, "chart.png"), filepath.Join(dir, "chart.svg")
	_, errOut, code := benchctl(t, d, append([]string{"chart", "--out", pngFile}, ids...)...)
	if code != 0 || !strings.Contains(errOut, "wrote "+pngFile) {
		t.Fatalf("chart -o %s: exit %d\n%s", pngFile, code, errOut)
	}
	f, err := os.Open(pngFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s does not decode as PNG: %v", pngFile, err)
	}
	fi, _ := f.Stat()
	if bnd := img.Bounds(); bnd.Dx() <= 400 || bnd.Dy() <= 300 || fi.Size() <= 10<<10 {
		t.Errorf("chart.png is %dx%d, %d bytes; want more than 400x300 and 10 KB", bnd.Dx(), bnd.Dy(), fi.Size())
	}
	t.Logf("%s: %dx%d, %d bytes", pngFile, img.Bounds().Dx(), img.Bounds().Dy(), fi.Size())

	// SVG, with the second run's timeline.
	mustBenchctl(t, d, "chart", ids[0], ids[1], "--vram", ids[1], "--out", svgFile)
	svg, err := os.ReadFile(svgFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "</svg>", "generation rate", "prompt eval rate", "VRAM used during " + ids[1]} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("chart.svg lacks %q", want)
		}
	}
}

// TestBenchctlHistorySurvivesRestart: the history is the daemon's store
// file, not its memory.
func TestBenchctlHistorySurvivesRestart(t *testing.T) {
	store := filepath.Join(t.TempDir(), "history.db")
	d := startDaemon(t, "--store", store)
	b := parseStored(t, mustBenchctl(t, d, "run", testrig.Model, "--reps", "3", "--max-tokens", "16", "-o", "json"))
	d.Stop(t)

	d2 := startDaemon(t, "--store", store)
	if d2.Store != store {
		t.Fatalf("second daemon's store %s, want %s", d2.Store, store)
	}
	if out := mustBenchctl(t, d2, "history"); !strings.Contains(out, b.BenchmarkID) || !strings.Contains(out, "SUCCEEDED") {
		t.Errorf("history after a restart lacks %s:\n%s", b.BenchmarkID, out)
	}
	got := parseStored(t, mustBenchctl(t, d2, "show", b.BenchmarkID, "-o", "json"))
	if len(got.Trials) != 4 || got.Finished == nil || got.Finished.Trials != 3 {
		t.Errorf("show after a restart: %d trials (want 4: a warm-up and 3), finished %+v", len(got.Trials), got.Finished)
	}
	for i, tr := range got.Trials {
		if tr.Index != i || tr.Warmup != (i == 0) || tr.EvalRate <= 0 {
			t.Errorf("trial %d after a restart: %+v", i, tr)
		}
	}
}

// startRun starts `benchctl run ... -o jsonl` with stdin that is not a
// terminal and returns once benchd named the benchmark.
func startRun(t *testing.T, d *testrig.Daemon, args ...string) (cmd *exec.Cmd, id string, stderr *bytes.Buffer, done <-chan struct{}) {
	t.Helper()
	cmd = exec.Command(testrig.Binary(t, "benchctl"), append([]string{"--socket", d.Socket, "run", testrig.Model, "-o", "jsonl"}, args...)...)
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev struct {
				Started *struct {
					ID string `json:"benchmark_id"`
				} `json:"started"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Started != nil {
				started <- ev.Started.ID
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	select {
	case id = <-started:
	case <-exited:
		t.Fatalf("benchctl run ended before the benchmark started:\n%s", stderr)
	case <-time.After(time.Minute):
		t.Fatal("the benchmark did not start within a minute")
	}
	return cmd, id, stderr, exited
}

func waitExit(t *testing.T, cmd *exec.Cmd, done <-chan struct{}) int {
	t.Helper()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("benchctl did not exit within 30s of Ctrl-C")
	}
	return cmd.ProcessState.ExitCode()
}

// TestBenchctlDetachWatchCancel: without a terminal, Ctrl-C detaches and
// says how to re-attach; the run goes on; watch re-attaches to it; cancel
// stops another.
func TestBenchctlDetachWatchCancel(t *testing.T) {
	d := startDaemon(t)
	cmd, id, stderr, done := startRun(t, d, "--reps", "12", "--max-tokens", "768")
	_ = cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd, done); code != 130 {
		t.Errorf("exit %d after Ctrl-C, want 130", code)
	}
	for _, want := range []string{"detached from benchmark " + id, "watch " + id, "keeps running"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if b := parseStored(t, mustBenchctl(t, d, "show", id, "-o", "json")); b.State != "BENCHMARK_STATE_RUNNING" {
		t.Errorf("after detaching the benchmark is %s, want RUNNING", b.State)
	}
	// Re-attach: what already happened, then the rest, to the summary.
	out := mustBenchctl(t, d, "watch", id)
	if !strings.Contains(out, "summary over 12 measured trials") || !strings.Contains(out, "benchmark "+id) {
		t.Errorf("watch %s:\n%s", id, out)
	}
	if b := parseStored(t, mustBenchctl(t, d, "show", id, "-o", "json")); b.State != "BENCHMARK_STATE_SUCCEEDED" || len(b.Trials) != 13 {
		t.Errorf("after watch: %s with %d trials", b.State, len(b.Trials))
	}
	// watch of a finished benchmark replays it.
	if out := mustBenchctl(t, d, "watch", id, "-o", "csv"); strings.Count(out, "\n") != 1+13 {
		t.Errorf("watch -o csv of a finished run: %d lines", strings.Count(out, "\n"))
	}

	cmd, id2, _, done := startRun(t, d, "--reps", "100", "--max-tokens", "2048")
	_ = cmd.Process.Signal(syscall.SIGINT)
	waitExit(t, cmd, done)
	out, errOut, code := benchctl(t, d, "cancel", id2)
	if code != 0 || !strings.Contains(out, "cancelled benchmark "+id2) || !strings.Contains(out, "CANCELLED") {
		t.Errorf("cancel %s: exit %d\n%s%s", id2, code, out, errOut)
	}
	if b := parseStored(t, mustBenchctl(t, d, "show", id2, "-o", "json")); b.State != "BENCHMARK_STATE_CANCELLED" {
		t.Errorf("after cancel: %s", b.State)
	}
	if _, errOut, code := benchctl(t, d, "cancel", id2); code != 64+9 || !strings.Contains(errOut, "FailedPrecondition") || !strings.Contains(errOut, "not running") {
		t.Errorf("cancel of a cancelled run: exit %d, %s", code, errOut)
	}

	// --on-interrupt cancel: Ctrl-C stops the run on benchd too.
	cmd, id3, stderr, done := startRun(t, d, "--reps", "100", "--max-tokens", "2048", "--on-interrupt", "cancel")
	_ = cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd, done); code != 130 || !strings.Contains(stderr.String(), "cancelled benchmark "+id3) {
		t.Errorf("--on-interrupt cancel: exit %d\n%s", code, stderr)
	}
	if b := parseStored(t, mustBenchctl(t, d, "show", id3, "-o", "json")); b.State != "BENCHMARK_STATE_CANCELLED" {
		t.Errorf("after --on-interrupt cancel: %s", b.State)
	}
}

// terminal runs benchctl on a pseudo-terminal, as a person would: stdin,
// stdout and stderr are the terminal, which is its controlling one, so a
// typed ^C is SIGINT from the line discipline.
type terminal struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	screen bytes.Buffer
	exited chan struct{}
	// drained is closed when the terminal has no more output: the child
	// exited and its last words were read.
	drained chan struct{}
}

func onTerminal(t *testing.T, d *testrig.Daemon, args ...string) *terminal {
	t.Helper()
	m, tty := openPTY(t)
	term := &terminal{t: t, master: m, exited: make(chan struct{}), drained: make(chan struct{})}
	term.cmd = exec.Command(testrig.Binary(t, "benchctl"), append([]string{"--socket", d.Socket}, args...)...)
	term.cmd.Stdin, term.cmd.Stdout, term.cmd.Stderr = tty, tty, tty
	term.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := term.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child has it
	go func() {
		defer close(term.drained)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf) // EIO once every holder of the tty closed it
			term.mu.Lock()
			term.screen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { _ = term.cmd.Wait(); close(term.exited) }()
	t.Cleanup(func() { _ = term.cmd.Process.Kill(); <-term.exited })
	return term
}

func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.screen.String()
}

// waitFor waits until the screen matches re and returns the match.
func (term *terminal) waitFor(re *regexp.Regexp) []string {
	term.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(term.text()); m != nil {
			return m
		}
		select {
		case <-term.exited:
			if m := re.FindStringSubmatch(term.text()); m != nil {
				return m
			}
			term.t.Fatalf("benchctl exited before printing %s:\n%s", re, term.text())
		case <-time.After(50 * time.Millisecond):
		}
	}
	term.t.Fatalf("no %s on the terminal within a minute:\n%s", re, term.text())
	return nil
}

func (term *terminal) typ(s string) {
	term.t.Helper()
	if _, err := io.WriteString(term.master, s); err != nil {
		term.t.Fatal(err)
	}
}

func (term *terminal) exitCode() int {
	term.t.Helper()
	select {
	case <-term.exited:
	case <-time.After(30 * time.Second):
		term.t.Fatalf("benchctl did not exit:\n%s", term.text())
	}
	select {
	case <-term.drained:
	case <-time.After(5 * time.Second):
		term.t.Errorf("the terminal's output did not end after benchctl exited")
	}
	return term.cmd.ProcessState.ExitCode()
}

// TestBenchctlCtrlCOnTerminalAsks types ^C on a real terminal: run asks
// whether to cancel or detach; Enter detaches; watch re-attaches with the
// live display; ^C and "c" cancel the benchmark on benchd.
func TestBenchctlCtrlCOnTerminalAsks(t *testing.T) {
	d := startDaemon(t)
	prompt := regexp.MustCompile(regexp.QuoteMeta(`cancel the benchmark on the server, or detach (it keeps running)? [c/D]`))

	run := onTerminal(t, d, "run", testrig.Model, "--reps", "100", "--max-tokens", "2048")
	id := run.waitFor(regexp.MustCompile(`benchmark ([0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}): tiny`))[1]
	run.waitFor(regexp.MustCompile(`(trial|warm-up) \d+: \d+/2048 tokens`)) // the live line
	run.typ("\x03")
	run.waitFor(prompt)
	run.typ("\r") // Enter: the default, detach
	if code := run.exitCode(); code != 130 || !strings.Contains(run.text(), "detached from benchmark "+id) || !strings.Contains(run.text(), "watch "+id) {
		t.Errorf("Enter at the question: exit %d\n%s", code, run.text())
	}
	if b := parseStored(t, mustBenchctl(t, d, "show", id, "-o", "json")); b.State != "BENCHMARK_STATE_RUNNING" {
		t.Fatalf("after detaching: %s", b.State)
	}

	watch := onTerminal(t, d, "watch", id)
	watch.waitFor(regexp.MustCompile(`trial \d+: \d+/2048 tokens`))
	watch.typ("\x03")
	watch.waitFor(prompt)
	watch.typ("c\r")
	if code := watch.exitCode(); code != 130 || !strings.Contains(watch.text(), "cancelled benchmark "+id) {
		t.Errorf("c at the question: exit %d\n%s", code, watch.text())
	}
	if b := parseStored(t, mustBenchctl(t, d, "show", id, "-o", "json")); b.State != "BENCHMARK_STATE_CANCELLED" {
		t.Errorf("after cancelling: %s", b.State)
	}
	t.Logf("$ benchctl run tiny --reps 100 --max-tokens 2048   (^C, Enter)\n%s\n$ benchctl watch %s   (^C, c)\n%s", run.text(), id, watch.text())
}
