package main_test

// benchctl and grpcurl against a real benchd process, the real Docker Engine
// and the real ollama rig.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/report"
	"github.com/benchd/benchd/internal/testrig"
)

func startDaemon(t *testing.T, extra ...string) *testrig.Daemon {
	t.Helper()
	container := testrig.Ollama(t)
	return testrig.StartDaemon(t, append([]string{"--container", container, "--vram-source", "sysfs", "--sysfs-root", testrig.SysfsFixture()}, extra...)...)
}

// benchctlTimeout bounds one benchctl command of these tests: the rig's
// ollama is shared with other test processes, and a stuck command should
// fail its test with what it printed, not stall the package.
const benchctlTimeout = 4 * time.Minute

func benchctl(t *testing.T, d *testrig.Daemon, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchctlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, testrig.Binary(t, "benchctl"), append([]string{"--socket", d.Socket}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		// Not t.Fatal: this may run off the test's goroutine.
		t.Errorf("benchctl %s did not finish within %s\n%s%s\ndaemon log:\n%s", strings.Join(args, " "), benchctlTimeout, o.String(), e.String(), d.Log())
		return o.String(), e.String(), -1
	}
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Errorf("run benchctl: %v", err)
		return o.String(), e.String(), -1
	}
	return o.String(), e.String(), code
}

// mustBenchctl runs benchctl and fails the test unless it exits 0.
func mustBenchctl(t *testing.T, d *testrig.Daemon, args ...string) string {
	t.Helper()
	out, errOut, code := benchctl(t, d, args...)
	if code != 0 {
		t.Fatalf("benchctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// stored is the part of a protojson Benchmark the tests read.
type stored struct {
	BenchmarkID string `json:"benchmark_id"`
	State       string `json:"state"`
	Model       string `json:"model"`
	Trials      []struct {
		Index    int     `json:"index"`
		Warmup   bool    `json:"warmup"`
		EvalRate float64 `json:"eval_rate"`
	} `json:"trials"`
	Finished *struct {
		Trials int `json:"trials"`
	} `json:"finished"`
	VRAMTimeline []json.RawMessage `json:"vram_timeline"`
}

func parseStored(t *testing.T, out string) stored {
	t.Helper()
	var b stored
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatalf("not a JSON benchmark: %v\n%s", err, out)
	}
	return b
}

// benchLine is the result line grammar of the Go benchmark format
// (golang.org/design/14313-benchmark-format): "Benchmark" and a name not
// starting with a lower-case letter, an iteration count, value-unit pairs.
var benchLine = regexp.MustCompile(`^Benchmark[^\sa-z]\S*\s+[0-9]+(\s+[-+0-9.eE]+\s+\S+)+$`)

// benchstatLines checks every line benchstat would read as a result and
// returns how many there are.
func benchstatLines(t *testing.T, out string) int {
	t.Helper()
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			n++
			if !benchLine.MatchString(l) || !strings.HasPrefix(l, "BenchmarkEval/model=") || !strings.Contains(l, " tok/s") || !strings.Contains(l, " ns/op") {
				t.Errorf("not a benchmark result line: %q", l)
			}
		}
	}
	return n
}

func readCSV(t *testing.T, out string, header []string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, out)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], header) {
		t.Fatalf("CSV header %v, want %v", recs, header)
	}
	return recs[1:]
}

var mdTable = regexp.MustCompile(`(?m)^\| .+ \|\n\|(-{3}:?\|)+$`)

func TestBenchctlRunJSON(t *testing.T) {
	d := startDaemon(t)
	out, errOut, code := benchctl(t, d, "run", testrig.Model, "--reps", "2", "--warmup", "1", "--max-tokens", "32", "--json")
	if code != 0 {
		t.Fatalf("benchctl run exit %d: %s", code, errOut)
	}
	var kinds []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		for k := range ev {
			kinds = append(kinds, k)
		}
		if tr, ok := ev["trial"]; ok {
			var trial struct {
				EvalCount string `json:"eval_count"`
			}
			if err := json.Unmarshal(tr, &trial); err != nil || trial.EvalCount != "32" {
				t.Errorf("trial %s: want eval_count 32 (max tokens)", tr)
			}
		}
	}
	if got := strings.Join(kinds, ","); got != "started,trial,trial,trial,finished" {
		t.Errorf("events %s, want started, 3 trials, finished", got)
	}
}

func TestBenchctlRunTable(t *testing.T) {
	d := startDaemon(t)
	out, errOut, code := benchctl(t, d, "run", testrig.Model, "--max-tokens", "16")
	if code != 0 {
		t.Fatalf("benchctl run exit %d: %s", code, errOut)
	}
	for _, want := range []string{"model tiny", "warm-up", "measured", "summary over 3 measured trials", "gen tok/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	// --cold and --prompt-tokens reach the request.
	out = mustBenchctl(t, d, "run", testrig.Model, "--cold", "--prompt-tokens", "64", "--reps", "2", "--warmup", "0", "--max-tokens", "8", "--format", "json")
	var b struct {
		Settings struct {
			Cold         bool `json:"cold"`
			PromptTokens int  `json:"prompt_tokens"`
		} `json:"settings"`
		Trials []struct {
			Loaded bool `json:"model_loaded_at_start"`
		} `json:"trials"`
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil || !b.Settings.Cold || b.Settings.PromptTokens != 64 || len(b.Trials) != 2 {
		t.Fatalf("run --cold --prompt-tokens 64: %v %+v", err, b)
	}
	for i, tr := range b.Trials {
		if tr.Loaded {
			t.Errorf("cold trial %d: the model was loaded at its start", i)
		}
	}
}

func TestBenchctlVRAMAndHealth(t *testing.T) {
	d := startDaemon(t)
	out := mustBenchctl(t, d, "vram", "--json")
	var res struct {
		GPUs []struct {
			TotalBytes string `json:"total_bytes"`
			Source     string `json:"source"`
		} `json:"gpus"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.GPUs) != 1 || res.GPUs[0].TotalBytes != "25753026560" || res.GPUs[0].Source != "sysfs" {
		t.Errorf("vram --json: %v %s", err, out)
	}
	out, _, code := benchctl(t, d, "health")
	if code != 0 || strings.TrimSpace(out) != "SERVING" {
		t.Errorf("health: exit %d, %q", code, out)
	}

	// vram --watch samples until Ctrl-C, which ends it cleanly.
	cmd := exec.Command(testrig.Binary(t, "benchctl"), "--socket", d.Socket, "vram", "--watch", "50ms", "--json")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("vram --watch after Ctrl-C: %v\n%s", err, e.String())
	}
	if lines := strings.Count(o.String(), "\n"); lines < 5 || !strings.Contains(o.String(), `"used_bytes"`) {
		t.Errorf("vram --watch 50ms for 1s printed %d samples:\n%s", lines, o.String())
	}
}

func TestBenchctlErrorsExitNonZeroWithMessage(t *testing.T) {
	d := startDaemon(t)
	_, errOut, code := benchctl(t, d, "run", "no-such-model")
	if code != 1 || !strings.Contains(errOut, "NotFound") || !strings.Contains(errOut, "pull") {
		t.Errorf("unknown model: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = benchctl(t, d, "run", "--help-me")
	if code != 2 {
		t.Errorf("bad usage: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = benchctl(t, d, "run", "x;id")
	if code != 1 || !strings.Contains(errOut, "InvalidArgument") || !strings.Contains(errOut, "model") {
		t.Errorf("hostile model: exit %d, stderr %q", code, errOut)
	}
	for _, args := range [][]string{
		{"run", testrig.Model, "--format", "yaml"},
		{"run", testrig.Model, "--json", "--format", "csv"},
		{"run", testrig.Model, "--on-interrupt", "kill"},
		{"show"},
		{"compare", "20260102T030405Z-0123abcd"},
		{"chart", "20260102T030405Z-0123abcd"},
		{"chart", "20260102T030405Z-0123abcd", "-o", "x.jpg"},
		{"history", "--since", "yesterday"},
		{"show", "not-an-id"},
	} {
		if _, errOut, code := benchctl(t, d, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage); stderr %q", args, code, errOut)
		}
	}
	_, errOut, code = benchctl(t, d, "show", "20260102T030405Z-0123abcd")
	if code != 1 || !strings.Contains(errOut, "NotFound") {
		t.Errorf("show of an unknown id: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = benchctl(t, d, "cancel", "20260102T030405Z-0123abcd")
	if code != 1 || !strings.Contains(errOut, "NotFound") {
		t.Errorf("cancel of an unknown id: exit %d, stderr %q", code, errOut)
	}
}

// grpcurl v1.9.2 and v1.9.3 ignore -unix (fullstorydev/grpcurl#496, #546;
// fixed on master, unreleased), so the latest release is driven with a
// unix:// target and the -unix form is checked with v1.9.1.
func TestGrpcurl(t *testing.T) {
	d := startDaemon(t)
	for _, tc := range []struct {
		version string
		target  []string
	}{
		{"v1.9.3", []string{"unix://" + d.Socket}},
		{"v1.9.1", []string{"-unix", d.Socket}},
	} {
		t.Run(tc.version, func(t *testing.T) {
			grpcurl := testrig.Grpcurl(t, tc.version)
			run := func(args ...string) (string, error) {
				argv := append([]string{"-plaintext"}, args[:len(args)-1]...)
				argv = append(append(argv, tc.target...), args[len(args)-1])
				out, err := exec.Command(grpcurl, argv...).CombinedOutput()
				return string(out), err
			}
			out, err := run("list")
			if err != nil || !strings.Contains(out, "benchd.v1.BenchmarkService") || !strings.Contains(out, "grpc.health.v1.Health") {
				t.Fatalf("grpcurl list: %v\n%s", err, out)
			}
			out, err = run("benchd.v1.BenchmarkService/SampleVRAM")
			if err != nil || !strings.Contains(out, `"totalBytes": "25753026560"`) {
				t.Fatalf("grpcurl SampleVRAM: %v\n%s", err, out)
			}
			out, err = run("-d", `{"model":"--help"}`, "benchd.v1.BenchmarkService/RunBenchmark")
			if err == nil || !strings.Contains(out, "InvalidArgument") || !strings.Contains(out, "model") {
				t.Fatalf("grpcurl RunBenchmark with a hostile model: %v\n%s", err, out)
			}
		})
	}
}

func TestBenchctlVRAMToolErrorsAreFailedPrecondition(t *testing.T) {
	container := testrig.Ollama(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		// The rig's container has no nvidia-smi.
		{[]string{"--vram-source", "nvidia-smi"}, "not installed"},
		// These machines' engine refuses privileged execs.
		{[]string{"--vram-source", "rocm-smi", "--vram-privileged"}, "privileged"},
	} {
		d := testrig.StartDaemon(t, append([]string{"--container", container}, tc.args...)...)
		_, errOut, code := benchctl(t, d, "vram")
		if code != 1 || !strings.Contains(errOut, "FailedPrecondition") || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want FailedPrecondition mentioning %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestBenchctlHistoryShowAndFormats runs four small benchmarks, each
// printed in another --format, then reads them back with history (newest
// first, filtered, paged) and show, in every format.
//
// Each run starts in a second of its own: benchd's store orders the history
// by benchmark id, whose time has 1-second resolution, so runs that start
// within one second (easy with the tiny model) list in the order of their
// ids' random part, not newest first. That is benchd's to fix (reported);
// this test is about benchctl.
func TestBenchctlHistoryShowAndFormats(t *testing.T) {
	d := startDaemon(t)
	small := []string{"--reps", "2", "--warmup", "1", "--max-tokens", "16"}
	nextSecond := func() {
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
	}

	// run --format json prints the stored benchmark.
	nextSecond()
	b1 := parseStored(t, mustBenchctl(t, d, append([]string{"run", testrig.Model, "--format", "json"}, small...)...))
	if b1.State != "BENCHMARK_STATE_SUCCEEDED" || len(b1.Trials) != 3 || b1.Finished == nil || b1.Finished.Trials != 2 {
		t.Errorf("run --format json: %+v", b1)
	}
	// "tiny:latest" is the same model under another name: the history
	// filter is by the name as requested.
	nextSecond()
	rows := readCSV(t, mustBenchctl(t, d, append([]string{"run", testrig.Model + ":latest", "--format", "csv"}, small...)...), report.TrialsCSVHeader)
	if len(rows) != 3 || rows[0][3] != "true" || rows[1][3] != "false" {
		t.Fatalf("run --format csv: %v", rows)
	}
	id2 := rows[0][0]
	nextSecond()
	md := mustBenchctl(t, d, append([]string{"run", testrig.Model, "--format", "markdown"}, small...)...)
	if !mdTable.MatchString(md) || !strings.Contains(md, "#### Trials") || !strings.Contains(md, "#### Summary over 2 measured trials") {
		t.Errorf("run --format markdown:\n%s", md)
	}
	nextSecond()
	bs := mustBenchctl(t, d, append([]string{"run", testrig.Model, "--format", "benchstat"}, small...)...)
	if n := benchstatLines(t, bs); n != 2 {
		t.Errorf("run --format benchstat: %d result lines, want 2 (measured trials):\n%s", n, bs)
	}
	id3 := regexp.MustCompile(`### Benchmark .([0-9TZa-f-]+).`).FindStringSubmatch(md)
	id4 := regexp.MustCompile(`# benchmark ([0-9TZa-f-]+):`).FindStringSubmatch(bs)
	if id3 == nil || id4 == nil {
		t.Fatalf("no benchmark id in markdown or benchstat output")
	}
	ids := []string{id4[1], id3[1], id2, b1.BenchmarkID} // newest first

	// history: newest first, in every format.
	out := mustBenchctl(t, d, "history")
	var listed []string
	for _, l := range strings.Split(out, "\n")[1:] {
		if f := strings.Fields(l); len(f) > 0 {
			listed = append(listed, f[0])
		}
	}
	if !slices.Equal(listed, ids) {
		t.Errorf("history lists %v, want %v (newest first):\n%s", listed, ids, out)
	}
	var list struct {
		Benchmarks []stored `json:"benchmarks"`
	}
	if err := json.Unmarshal([]byte(mustBenchctl(t, d, "history", "--format", "json")), &list); err != nil || len(list.Benchmarks) != 4 || list.Benchmarks[0].BenchmarkID != ids[0] {
		t.Errorf("history --format json: %v %+v", err, list)
	}
	hrows := readCSV(t, mustBenchctl(t, d, "history", "--format", "csv"), report.HistoryCSVHeader)
	if len(hrows) != 4 || hrows[0][0] != ids[0] || hrows[3][0] != ids[3] || hrows[0][4] != "2" {
		t.Errorf("history --format csv: %v", hrows)
	}
	if out := mustBenchctl(t, d, "history", "--format", "markdown"); !mdTable.MatchString(out) || strings.Count(out, "\n") != 2+4 {
		t.Errorf("history --format markdown:\n%s", out)
	}
	if n := benchstatLines(t, mustBenchctl(t, d, "history", "--format", "benchstat")); n != 8 {
		t.Errorf("history --format benchstat: %d result lines, want 8", n)
	}

	// Filters and paging.
	only := func(args ...string) []string {
		rows := readCSV(t, mustBenchctl(t, d, append([]string{"history", "--format", "csv"}, args...)...), report.HistoryCSVHeader)
		var got []string
		for _, r := range rows {
			got = append(got, r[0])
		}
		return got
	}
	if got := only("--model", testrig.Model); !slices.Equal(got, []string{ids[0], ids[1], ids[3]}) {
		t.Errorf("--model tiny: %v", got)
	}
	if got := only("--model", testrig.Model+":latest"); !slices.Equal(got, []string{id2}) {
		t.Errorf("--model tiny:latest: %v", got)
	}
	if got := only("--model", "other"); len(got) != 0 {
		t.Errorf("--model other: %v", got)
	}
	if got := only("--limit", "3"); !slices.Equal(got, ids[:3]) {
		t.Errorf("--limit 3: %v", got)
	}
	// Page by page (ListBenchmarks' page tokens), one benchmark a page.
	if got := only("--page-size", "1"); !slices.Equal(got, ids) {
		t.Errorf("--page-size 1: %v", got)
	}
	if got := only("--page-size", "2", "--limit", "3", "--model", testrig.Model); !slices.Equal(got, []string{ids[0], ids[1], ids[3]}) {
		t.Errorf("--page-size 2 --limit 3 --model tiny: %v", got)
	}
	if got := only("--since", "1h"); !slices.Equal(got, ids) {
		t.Errorf("--since 1h: %v", got)
	}
	if got := only("--until", "1h"); len(got) != 0 {
		t.Errorf("--until 1h (started over an hour ago): %v", got)
	}
	if out := mustBenchctl(t, d, "history", "--model", "other"); strings.TrimSpace(out) != "no benchmarks" {
		t.Errorf("empty history: %q", out)
	}

	// show: every trial, in every format.
	out = mustBenchctl(t, d, "show", b1.BenchmarkID)
	for _, want := range []string{"benchmark " + b1.BenchmarkID, "state SUCCEEDED", "warm-up", "measured", "summary over 2 measured trials", "GPU 0 Simulated AMD GPU"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^\s+[0-2]\s+(warm-up|measured)\s`).FindAllString(out, -1)); n != 3 {
		t.Errorf("show prints %d trial rows, want 3:\n%s", n, out)
	}
	if b := parseStored(t, mustBenchctl(t, d, "show", b1.BenchmarkID, "--format", "json")); len(b.Trials) != 3 || len(b.VRAMTimeline) == 0 {
		t.Errorf("show --format json: %d trials, %d VRAM samples", len(b.Trials), len(b.VRAMTimeline))
	}
	if rows := readCSV(t, mustBenchctl(t, d, "show", "--format", "csv", b1.BenchmarkID, id2), report.TrialsCSVHeader); len(rows) != 6 {
		t.Errorf("show --format csv of two benchmarks: %d rows, want 6", len(rows))
	}
	if out := mustBenchctl(t, d, "show", b1.BenchmarkID, "--format", "markdown"); !mdTable.MatchString(out) {
		t.Errorf("show --format markdown:\n%s", out)
	}
	if n := benchstatLines(t, mustBenchctl(t, d, "show", b1.BenchmarkID, "--format", "benchstat")); n != 2 {
		t.Errorf("show --format benchstat: %d lines, want 2", n)
	}
}
