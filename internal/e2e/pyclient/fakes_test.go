package pyclient_test

// The Python client's ListModels and token-timing types against an
// in-process benchd whose ollama is a TEST DOUBLE (fakes.Ollama: a canned
// inventory and a scripted chunk schedule), so that the figures are exact
// and no Docker is needed.

import (
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/e2e/pyclient"
	"github.com/benchd/benchd/internal/fakes"
)

// The scripted stream: chunks 5 ms after the start, then 2 and 4 ms apart,
// the final one 1 ms later; eval_duration 10 ms against the stamps' 7 ms
// decode time (a mismatch); TTFTs 5, 5, 7 ms over the measured trials (cv
// 20.4%, unstable).
func TestPythonClientTokenTimingAndModels(t *testing.T) {
	v := pyclient.Install(t)
	ms := time.Millisecond
	sock := fakes.StartBenchd(t, &fakes.Ollama{
		Stream: &fakes.Stream{Delays: []time.Duration{5 * ms, 2 * ms, 4 * ms}, Final: ms, EvalDuration: 10 * ms},
		TTFTs:  []time.Duration{5 * ms, 5 * ms, 5 * ms, 7 * ms},
	})
	runScript(t, v, sock, `
import sys
from benchd_client import Client
with Client(sys.argv[1]) as c:
    m = c.list_models()
    i, l = m.installed[0], m.loaded[0]
    print("installed", i.name, i.model_info.digest[:12], i.size_bytes, i.context_length, i.modified_at.isoformat())
    print("loaded", l.name, l.size_bytes, l.size_vram_bytes, l.expires_at is not None, l.context_length)
    r = c.run_benchmark("tiny", repetitions=3, max_tokens=3)
    tt = r.trials[1].token_timing
    print("timing", tt.chunks, tt.itl_p50_ns, tt.itl_p90_ns, tt.itl_p99_ns, tt.itl_max_ns, tt.tpot_ns,
          tt.longest_stall_ns, tt.longest_stall_after_chunks, tt.decode_ns, tt.ollama_clock)
    print("mismatch", r.trials[1].decode_mismatch_reason)
    s = r.stats["ttft_ns"]
    print("ttft cv %.3f p90 %.0f p99 %.0f" % (s.cv, s.p90, s.p99))
    print("tpot", r.stats["tpot_ns"].mean, r.stats["itl_p99_ns"].n)
    print("unstable", r.unstable_reason, r.decode_mismatches)
    b = c.get_benchmark(r.benchmark_id)
    print("stored", b.unstable_reason, b.decode_mismatches, b.trials[2].token_timing.tpot_ns)
    chk = c.check_regression(metrics=["eval_rate"])
    print("check", chk.benchmark_id == r.benchmark_id, chk.verdict, chk.baseline_source, [m.metric for m in chk.metrics])
    print("pin", c.set_baseline(r.benchmark_id) == (r.benchmark_id, ""))
    print("check pinned", c.check_regression(r.benchmark_id).baseline_source)
`,
		"installed tiny:latest 0ce14aae6e99 500206 2048 2026-01-02T03:04:05+00:00",
		"loaded tiny:latest 91278080 0 True 0", // the double answers as v0.9.6: no loaded context
		// gaps 2 and 4 ms: p50 3, p90 3.8, p99 3.98, max 4 ms; TPOT 3 ms;
		// stall 4 ms after 2 chunks; decode 7 ms.
		"timing 3 3000000 3800000 3980000 4000000 3000000 4000000 2 7000000 True",
		"mismatch decode time 7ms (from ollama's chunk stamps) differs from ollama's eval_duration 10ms by 30.0%, more than 10%",
		"ttft cv 0.204 p90 6600000 p99 6960000",
		"tpot 3000000.0 3",
		"unstable ttft_ns cv 20.4% (over 10%) 3",
		"stored ttft_ns cv 20.4% (over 10%) 3 3000000",
		// The only run: nothing to compare with; then pinned to itself.
		"check True INCOMPARABLE NONE ['eval_rate']",
		"pin True",
		"check pinned PINNED",
	)
}

// A sweep from Python: 2 num_ctx × 2 max_tokens of "tiny" and a model
// ollama does not have; the double's generation rate is max_tokens × 1000
// tok/s, so the best cell is the first with 8 tokens.
func TestPythonClientSweep(t *testing.T) {
	v := pyclient.Install(t)
	sock := fakes.StartBenchd(t, &fakes.Ollama{})
	runScript(t, v, sock, `
import sys
from benchd_client import Client, Sweep, InvalidArgumentError
with Client(sys.argv[1]) as c:
    events = []
    r = c.run_benchmark("tiny", repetitions=1, warmup=0,
                        sweep=Sweep(models=["tiny", "absent"], num_ctx=[512, 1024], max_tokens=[4, 8], objective="eval_rate"),
                        on_event=lambda ev: events.append(ev.kind + (" %d/%d" % (ev.cell.index, ev.cells) if ev.kind == "cell_started" else "")))
    print("events", " ".join(e for e in events if e.startswith("cell_started")), events.count("cell_finished"))
    print("cells", len(r.cells), r.cells_failed, r.objective, r.best_cell)
    print("best", r.best.settings, r.best.stats["eval_rate"].mean, r.best.num_gpu, r.best.model_size_bytes, r.best.fits_vram)
    f = r.cells[7]
    print("failed", f.failed, f.error_code, f.model, f.stats is None)
    print("trial cells", [t.cell for t in r.trials])
    b = c.get_benchmark(r.benchmark_id)
    print("stored", len(b.cells), b.best.index, b.objective, b.cells[2].num_ctx, b.cells[2].started_at is not None)
    try:
        Sweep(objective="fastest").to_proto()
    except ValueError as e:
        print("objective", e)
    try:
        c.run_benchmark("tiny", num_ctx=512, sweep=Sweep(num_ctx=[1024]))
    except InvalidArgumentError as e:
        print("refused", e.code)
`,
		"events cell_started 0/8 cell_started 1/8 cell_started 2/8 cell_started 3/8 cell_started 4/8 cell_started 5/8 cell_started 6/8 cell_started 7/8 8",
		"cells 8 4 EVAL_RATE 1",
		"best model=tiny num_ctx=512 max_tokens=8 8000.0 None 91278080 False",
		"failed True NOT_FOUND absent True",
		"trial cells [0, 1, 2, 3]",
		"stored 8 1 EVAL_RATE 1024 True",
		"objective sweep objective 'fastest': want one of EVAL_RATE, PROMPT_EVAL_RATE, TTFT",
		"refused INVALID_ARGUMENT",
	)
}

// A concurrency run through the Python client: the request, level events
// (progress named by the level last started), the levels with their
// latencies (exact: the fake plays a scripted stream, first chunk after
// 20 ms, then 5 ms apart, the final 1 ms later), trials' level, queue time
// and send time, the stored record, and a refusal.
func TestPythonClientConcurrency(t *testing.T) {
	v := pyclient.Install(t)
	ms := time.Millisecond
	sock := fakes.StartBenchd(t, &fakes.Ollama{Stream: &fakes.Stream{Delays: []time.Duration{20 * ms, 5 * ms, 5 * ms, 5 * ms}, Final: ms}})
	runScript(t, v, sock, `
import sys
from benchd_client import Client, Concurrency, InvalidArgumentError
with Client(sys.argv[1]) as c:
    events, progress = [], set()
    def on(ev):
        if ev.kind == "level_started":
            events.append("start %d/%d x%d" % (ev.level.index, ev.levels, ev.level.concurrency))
        elif ev.kind == "level_finished":
            events.append("end %d ok %d" % (ev.level.index, ev.level.succeeded))
        elif ev.kind == "progress":
            progress.add(ev.progress.level)
    r = c.run_benchmark("tiny", warmup=1, concurrency=Concurrency(levels=[2, 1], requests=2), on_event=on)
    print("events", ", ".join(events))
    print("progress levels", sorted(progress))
    print("slots", r.started.ollama_num_parallel)
    lv = r.levels[0]
    print("level", lv.concurrency, lv.requests, lv.succeeded, lv.failed, lv.output_tokens, lv.output_tokens_per_second > 0)
    print("latency", lv.ttft_ns.p50, lv.itl_ns.p99, lv.e2e_latency_ns.p90, lv.queue_ns.p99, lv.queue_ns.n)
    print("trials", [(t.level, t.warmup) for t in r.trials], r.trials[-1].queue_ns, r.trials[-1].sent_at is not None)
    b = c.get_benchmark(r.benchmark_id)
    print("stored", [l.concurrency for l in b.levels], b.levels[1].tpot_ns.p50, b.started.ollama_num_parallel)
    try:
        c.run_benchmark("tiny", repetitions=3, concurrency=Concurrency(levels=[1]))
    except InvalidArgumentError as e:
        print("refused", e.code)
`,
		"events start 0/2 x2, end 0 ok 2, start 1/2 x1, end 1 ok 2",
		"progress levels [0, 1]",
		"slots unknown",
		"level 2 2 2 0 8 True",
		"latency 20000000.0 5000000.0 36000000.0 20000000.0 2",
		"trials [(0, True), (0, False), (0, False), (1, False), (1, False)] 20000000 True",
		"stored [2, 1] 5000000.0 unknown",
		"refused INVALID_ARGUMENT",
	)
}

// runScript runs a Python script with the socket's target as its
// argument and checks that its output has each of wants.
func runScript(t *testing.T, v pyclient.Venv, sock, script string, wants ...string) {
	t.Helper()
	out, errOut, code := python(t, v, nil, "-c", script, "unix://"+sock)
	if code != 0 {
		t.Fatalf("python: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("python:\n%s", out)
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
