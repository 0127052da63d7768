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
	out, errOut, code := python(t, v, nil, "-c", `
import sys
from benchd_client import Client
with Client(sys.argv[1]) as c:
    m = c.list_models()
    i, l = m.installed[0], m.loaded[0]
    print("installed", i.name, i.model_info.digest[:12], i.size_bytes, i.context_length, i.modified_at.isoformat())
    print("loaded", l.name, l.size_bytes, l.size_vram_bytes, l.expires_at is not None)
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
`, "unix://"+sock)
	if code != 0 {
		t.Fatalf("python: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("python:\n%s", out)
	for _, want := range []string{
		"installed tiny:latest 0ce14aae6e99 500206 2048 2026-01-02T03:04:05+00:00",
		"loaded tiny:latest 91278080 0 True",
		// gaps 2 and 4 ms: p50 3, p90 3.8, p99 3.98, max 4 ms; TPOT 3 ms;
		// stall 4 ms after 2 chunks; decode 7 ms.
		"timing 3 3000000 3800000 3980000 4000000 3000000 4000000 2 7000000 True",
		"mismatch decode time 7ms (from ollama's chunk stamps) differs from ollama's eval_duration 10ms by 30.0%, more than 10%",
		"ttft cv 0.204 p90 6600000 p99 6960000",
		"tpot 3000000.0 3",
		"unstable ttft_ns cv 20.4% (over 10%) 3",
		// The only run: nothing to compare with; then pinned to itself.
		"check True INCOMPARABLE NONE ['eval_rate']",
		"pin True",
		"check pinned PINNED",
		"stored ttft_ns cv 20.4% (over 10%) 3 3000000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
