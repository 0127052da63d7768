package metrics_test

// End to end: benchd processes with --metrics over simulated amdgpu sysfs
// trees, Debian's Prometheus scraping them, PromQL through Prometheus's
// HTTP API, promtool on the endpoint's output; and the last result of a
// benchmark on the rig's real ollama.

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/benchd/benchd/internal/testrig"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

func simGPU(power float64, used uint64) testrig.SimGPU {
	return testrig.SimGPU{Card: 1, TotalBytes: 16 << 30, UsedBytes: used, PowerW: power,
		EdgeC: 45, JunctionC: 52, MemC: 60, Busy: 37, CoreMHz: 2100, MemMHz: 1249}
}

// startBenchd starts a benchd whose GPU is gpu in a simulated tree, with
// --metrics on a free port; extra flags are added.
func startBenchd(t *testing.T, gpu testrig.SimGPU, extra ...string) *testrig.Daemon {
	t.Helper()
	root := filepath.Join(t.TempDir(), "sys")
	if err := testrig.SimulatedSysfs(root, gpu); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--vram-source", "sysfs", "--sysfs-root", root, "--metrics", "tcp://127.0.0.1:0"}, extra...)
	if len(extra) == 0 {
		// No ollama is needed for GPU metrics: a port nothing listens on.
		args = append(args, "--ollama", "http://127.0.0.1:9")
	}
	d := testrig.StartDaemon(t, args...)
	if d.MetricsAddr == "" {
		t.Fatalf("benchd did not report its metrics address; log:\n%s", d.Log())
	}
	return d
}

func dial(t *testing.T, sock string) benchdv1.BenchmarkServiceClient {
	t.Helper()
	conn, err := grpc.NewClient("unix:"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return benchdv1.NewBenchmarkServiceClient(conn)
}

func scrape(t *testing.T, addr, accept string) (body []byte, contentType string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err = io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %v %s", addr, err, res.Status)
	}
	return body, res.Header.Get("Content-Type")
}

// waitSeries polls Prometheus until q returns n series (Prometheus scrapes
// every second; a test cannot know when it has) and returns them.
func waitSeries(t *testing.T, p *testrig.Prometheus, q string, n int) []testrig.Sample {
	t.Helper()
	var got []testrig.Sample
	var err error
	testrig.Poll(t, 60*time.Second, "Prometheus to return "+strconv.Itoa(n)+" series for "+q, func() bool {
		got, err = p.Query(q)
		return err == nil && len(got) == n
	})
	return got
}

func value(t *testing.T, s testrig.Sample) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s.Value, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPromtoolAcceptsTheEndpoint(t *testing.T) {
	_, promtool := testrig.RequirePrometheus(t)
	d := startBenchd(t, simGPU(123.5, 4<<30))
	// One RPC, so that the gRPC server metrics have a handled series.
	if _, err := dial(t, d.Socket).SampleVRAM(t.Context(), &benchdv1.SampleVRAMRequest{}); err != nil {
		t.Fatal(err)
	}
	text, ct := scrape(t, d.MetricsAddr, "")
	if !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("plain scrape: Content-Type %q", ct)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n--- exposition:\n%s", err, out, text)
	}
	om, ct := scrape(t, d.MetricsAddr, "application/openmetrics-text;version=1.0.0")
	if !strings.HasPrefix(ct, "application/openmetrics-text") || !bytes.HasSuffix(om, []byte("# EOF\n")) {
		t.Fatalf("OpenMetrics scrape: Content-Type %q, ends %q", ct, om[max(0, len(om)-20):])
	}
	for _, want := range []string{
		`benchd_gpu_power_watts{gpu="1"} 123.5`,
		`benchd_gpu_temperature_celsius{gpu="1",sensor="junction"} 52`,
		`benchd_gpu_busy_ratio{gpu="1"} 0.37`,
		`benchd_gpu_clock_hertz{clock="core",gpu="1"} 2.1e+09`,
		`benchd_gpu_vram_used_bytes{gpu="1"} 4.294967296e+09`,
		`benchd_benchmarks{state="succeeded"} 0`,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="SampleVRAM",grpc_service="benchd.v1.BenchmarkService",grpc_type="unary"} 1`,
	} {
		if !bytes.Contains(text, []byte(want+"\n")) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	// The simulated GPU has no energy counter: no series, not a 0.
	if bytes.Contains(text, []byte("benchd_gpu_energy_joules_total{")) {
		t.Error("an energy counter series for a GPU without one")
	}
}

// TestPrometheusScrapesTwoHosts: one Prometheus, two benchd hosts; PromQL
// through the HTTP API sees both, each with its own values.
func TestPrometheusScrapesTwoHosts(t *testing.T) {
	testrig.RequirePrometheus(t)
	a := startBenchd(t, simGPU(123.5, 4<<30))
	b := startBenchd(t, simGPU(80.25, 31<<29)) // 15.5 of 16 GiB
	p := testrig.StartPrometheus(t, testrig.ScrapeTarget{Host: "gpu-a", Addr: a.MetricsAddr}, testrig.ScrapeTarget{Host: "gpu-b", Addr: b.MetricsAddr})

	hosts := waitSeries(t, p, `count by (host) (benchd_gpu_info)`, 2)
	seen := map[string]bool{}
	for _, s := range hosts {
		seen[s.Labels["host"]] = true
	}
	if !seen["gpu-a"] || !seen["gpu-b"] {
		t.Fatalf("hosts %v, want gpu-a and gpu-b", hosts)
	}
	power := map[string]float64{}
	for _, s := range waitSeries(t, p, `benchd_gpu_power_watts`, 2) {
		power[s.Labels["host"]] = value(t, s)
	}
	if power["gpu-a"] != 123.5 || power["gpu-b"] != 80.25 {
		t.Fatalf("power by host %v, want gpu-a 123.5, gpu-b 80.25", power)
	}
	// The docs' alert expression: VRAM above 95% holds for gpu-b only.
	high := waitSeries(t, p, `benchd_gpu_vram_used_bytes / benchd_gpu_vram_total_bytes > 0.95`, 1)
	if high[0].Labels["host"] != "gpu-b" || math.Abs(value(t, high[0])-15.5/16) > 1e-12 {
		t.Fatalf("VRAM above 95%%: %+v, want gpu-b at 0.96875", high)
	}
	t.Logf("PromQL benchd_gpu_power_watts: %v", power)
}

// TestLastResultOnTheRig runs a benchmark on the rig's real ollama, with a
// simulated GPU drawing a constant 123.5 W, and checks through Prometheus
// that the last result per model and digest is the record's, and that the
// energy figures are what a constant power gives.
func TestLastResultOnTheRig(t *testing.T) {
	testrig.RequirePrometheus(t)
	container := testrig.Ollama(t)
	const watts = 123.5
	d := startBenchd(t, simGPU(watts, 4<<30), "--container", container, "--idle-baseline", "1s")
	p := testrig.StartPrometheus(t, testrig.ScrapeTarget{Host: "rig", Addr: d.MetricsAddr})
	c := dial(t, d.Socket)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	rec := testrig.RunStored(t, ctx, c, &benchdv1.RunBenchmarkRequest{Model: testrig.Model, Repetitions: proto.Uint32(3), MaxTokens: proto.Uint32(48),
		VramSampleInterval: durationpb.New(250 * time.Millisecond)})
	fin := rec.GetFinished()
	idle := rec.GetStarted().GetIdlePower()
	if idle == nil || idle.GetWatts() != watts || idle.GetSamples() < 2 {
		t.Fatalf("idle power %+v, want %v W from several samples", idle, watts)
	}
	for _, tr := range rec.GetTrials() {
		e := tr.GetEnergy()
		if e == nil {
			t.Fatalf("trial %d has no energy", tr.GetIndex())
		}
		// Constant power: joules are power times the span, whatever the
		// samples; net is what is left over the idle baseline, 0.
		secs := float64(e.GetDurationNs()) / 1e9
		if rel(e.GetJoules(), watts*secs) > 1e-9 || math.Abs(e.GetNetJoules()) > 1e-6 || e.GetPeakWatts() != watts ||
			e.GetMethod() != "integrated" || rel(e.GetJoulesPerOutputToken(), e.GetJoules()/float64(tr.GetEvalCount())) > 1e-12 {
			t.Fatalf("trial %d energy %+v over %v s, %d tokens", tr.GetIndex(), e, secs, tr.GetEvalCount())
		}
		if e.GetDurationNs() < time.Second.Nanoseconds() && e.GetShortWindowReason() == "" {
			t.Errorf("trial %d shorter than the sensor's window is not flagged: %+v", tr.GetIndex(), e)
		}
	}
	model, digest := rec.GetModel(), rec.GetStarted().GetModelInfo().GetDigest()
	sel := `{model="` + model + `",digest="` + digest + `",host="rig"}`
	rate := waitSeries(t, p, `benchd_last_generation_rate_tokens_per_second`+sel, 1)
	if v := value(t, rate[0]); rel(v, fin.GetEvalRate().GetMean()) > 1e-12 {
		t.Fatalf("PromQL generation rate %v, record %v", v, fin.GetEvalRate().GetMean())
	}
	jpt := waitSeries(t, p, `benchd_last_joules_per_output_token`+sel, 1)
	if v := value(t, jpt[0]); rel(v, fin.GetEnergy().GetJoulesPerOutputToken()) > 1e-12 {
		t.Fatalf("PromQL J/token %v, record %v", v, fin.GetEnergy().GetJoulesPerOutputToken())
	}
	ttft := waitSeries(t, p, `benchd_last_ttft_p50_seconds`+sel, 1)
	if v := value(t, ttft[0]); rel(v, fin.GetTtftNs().GetP50()/1e9) > 1e-12 {
		t.Fatalf("PromQL TTFT p50 %v s, record %v ns", v, fin.GetTtftNs().GetP50())
	}
	if n := waitSeries(t, p, `benchd_benchmarks{state="succeeded",host="rig"} == 1`, 1); len(n) != 1 {
		t.Fatal("succeeded count")
	}
	t.Logf("run %s: %.1f tokens/s, %.4f J/token, %.2f J over %d trials; PromQL %s = %s",
		rec.GetBenchmarkId(), fin.GetEvalRate().GetMean(), fin.GetEnergy().GetJoulesPerOutputToken(), fin.GetEnergy().GetJoules(), fin.GetTrials(),
		`benchd_last_joules_per_output_token`+sel, jpt[0].Value)
}

func rel(a, b float64) float64 {
	if b == 0 {
		return math.Abs(a)
	}
	return math.Abs(a-b) / math.Abs(b)
}
