package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
	"github.com/benchd/benchd/proto/defaults"
)

type report struct {
	binarySize string
	machine    *machine
	cfg        config
	vram       *vramResult
	trials     *trialResult
	throughput *throughputResult
	sampler    *samplerResult
	footprint  *footprint
	// The -benchd build's figures, from the same run (nil without it).
	beforeThroughput *throughputResult
	beforeSampler    *samplerResult
	beforeFootprint  *footprint
	bridge           *bridgeResult
	instr            *instrResult
	features         *featuresResult
}

// rssTarget is the footprint bound of the performance issue.
const rssTarget = 25 << 10 // KiB

func dur(d time.Duration) string {
	switch {
	case d < 0:
		return "−" + dur(-d)
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < 10*time.Microsecond:
		return fmt.Sprintf("%.2f µs", float64(d)/1e3)
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func met(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**missed**"
}

func times(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ratio(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f×", x)
	case x >= 10:
		return fmt.Sprintf("%.1f×", x)
	}
	return fmt.Sprintf("%.2f×", x)
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (r *report) markdown() string {
	var b strings.Builder
	m := r.machine
	fmt.Fprintf(&b, "### benchd vs the legacy `ssh … docker exec …` path (%s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Machine: %s, %d cores, Linux %s, Docker Engine %s, %s. "+
		"Load average (1/5/15 min) at start %s, at end %s (the harness itself keeps about one core busy while it measures; "+
		"more than that is other work on the machine).\n", m.cpu, m.cores, m.kernel, m.docker, m.goVersion, m.loadStart, m.loadEnd)
	b.WriteString("Command: `make perf` (`go run ./cmd/benchperf`, as root). Deployment: benchd built as nix/package.nix builds it, started per " +
		"nix/benchd.service as ai-worker; Debian's sshd with nix/sshd-benchd.conf and the key options; clients use `ssh -N -L`. " +
		"The legacy's path logs in as a separate account (benchd-legacy: bash, docker group) because the shipped ai-worker policy refuses commands.\n\n")

	r.summary(&b)
	b.WriteString("Details (the checkout's build):\n\n")
	b.WriteString("| # | measurement | n | median | p99 | result | target | |\n|---|---|---:|---:|---:|---:|---|---|\n")
	row := func(num, what string, n int, med, p99, result, target, status string) {
		ns := ""
		if n > 0 {
			ns = thousands(n)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", num, what, ns, med, p99, result, target, status)
	}
	// srow is a row of a series: its size, median and p99.
	srow := func(num, what string, s series, result, target, status string) {
		row(num, what, len(s), dur(s.median()), dur(s.p99()), result, target, status)
	}
	if v := r.vram; v != nil {
		legacy := v.legacy.median()
		srow("1", "VRAM sample, **legacy**: `ssh benchd-legacy@127.0.0.1 docker exec benchd-perf-smi nvidia-smi --query-gpu=… --format=csv,noheader,nounits` (new SSH connection and exec per sample)",
			v.legacy, "1×", "", "")
		x := times(legacy, v.smi.median())
		srow("1", "VRAM sample, **benchd** `SampleVRAM`, the same nvidia-smi exec'd through the Engine API; one long-lived Go client through `ssh -N -L`",
			v.smi, ratio(x)+" faster", "faster than legacy", met(x > 1))
		x = times(legacy, v.sysfsTunnel.median())
		for _, rw := range []struct {
			num, what              string
			s                      series
			result, target, status string
		}{
			{"1", "VRAM sample, **benchd** `SampleVRAM`, sysfs source (the testdata/sysfs fixture tree standing in for /sys); same client through `ssh -N -L`", v.sysfsTunnel, ratio(x) + " faster", "≥ 500× faster", met(x >= 500)},
			{"1", "VRAM sample, benchd sysfs, the unix socket directly (no SSH), for reference", v.sysfsDirect, ratio(times(legacy, v.sysfsDirect.median())) + " faster", "", ""},
			{"1c", "benchd's own time for those interleaved sysfs calls (`grpc.time_ms` of its audit lines: interceptor entry to exit), through `ssh -N -L`", v.serverTunnel, "", "", ""},
			{"1c", "… the unix socket directly", v.serverDirect, "", "", ""},
			{"1b", "benchd sysfs samples back to back, nothing else in between: through `ssh -N -L`", v.aloneTunnel, ratio(times(legacy, v.aloneTunnel.median())) + " faster; " + slow(v.aloneTunnel), "", ""},
			{"1b", "… the unix socket directly", v.aloneDirect, ratio(times(legacy, v.aloneDirect.median())) + " faster; " + slow(v.aloneDirect), "", ""},
			{"1b", "… through `ssh -N -L` from a client with gRPC-go's default flow control (dynamic windows: a bandwidth-delay ping after each response), as benchd's Go client had before `defaults.FlowControlWindow`", v.aloneDynamic, ratio(times(legacy, v.aloneDynamic.median())) + " faster; " + slow(v.aloneDynamic), "", ""},
			{"1d", "the machine's wake-up floor: 64 bytes to a child process of the harness on a unix socket and back (no gRPC, ssh or benchd), interleaved like the samples", v.echo, "", "", ""},
			{"1d", "… back to back", v.echoAlone, "", "", ""},
			{"1a", "the legacy path's parts: `ssh benchd-legacy@127.0.0.1 true` (SSH connection and session only)", v.sshOnly, "", "", ""},
			{"1a", "… `docker exec benchd-perf-smi nvidia-smi …` locally (docker CLI, no SSH)", v.dockerCLI, "", "", ""},
			{"1a", "… one exec of the same command through the Engine API from Go (create, attach, inspect: what benchd pays per nvidia-smi sample)", v.engineExec, "", "", ""},
		} {
			srow(rw.num, rw.what, rw.s, rw.result, rw.target, rw.status)
		}
	}
	if t := r.trials; t != nil {
		failed := ""
		if len(t.retries) > 0 {
			failed = fmt.Sprintf(" (%d failed attempts were retried; they are listed below the table)", len(t.retries))
		}
		srow("2", "per-trial overhead, **legacy**: wall of `ssh … docker exec benchd-rig ollama run --verbose tiny PROMPT` − the total duration ollama prints"+failed,
			t.legacy, fmt.Sprintf("%d tokens", medianInt(t.legacyEval)), "", "")
		ok := t.benchd.median() <= 2*time.Millisecond
		status := met(ok)
		if ok && t.benchd.p99() > 2*time.Millisecond {
			status += " (median; p99 above)"
		}
		srow("2", "per-trial overhead, **benchd**: trial `wall_ns` − `total_duration_ns`, same prompt, 128 tokens, through `ssh -N -L`",
			t.benchd,
			fmt.Sprintf("%s less; %d tokens", ratio(times(t.legacy.median(), t.benchd.median())), medianInt(t.benchdEval)),
			"≤ 2 ms per trial + one exec set-up per benchmark", status)
		srow("2", "benchd per-benchmark set-up: `RunBenchmark` call → started event (container check, /api/version, /api/tags, one VRAM read; the exec bridge to ollama is kept alive across trials and benchmarks)",
			t.benchdSetup, "", "", "")
	}
	if th := r.throughput; th != nil {
		rate := float64(th.calls) / th.window.Seconds()
		ok := rate >= 20000 && th.lat.p99() <= time.Millisecond
		row("3", fmt.Sprintf("`SampleVRAM` throughput: %d concurrent clients (one connection each, closed loop) for %s on the unix socket, sysfs source; %d errors", th.clients, dur(th.window), th.errors),
			th.calls, dur(th.lat.median()), dur(th.lat.p99()), fmt.Sprintf("%s calls/s", thousands(int(rate))), "≥ 20,000 calls/s and p99 ≤ 1 ms", met(ok))
		perCall := func(d time.Duration) string { return dur(time.Duration(float64(d) / float64(max(th.calls, 1)))) }
		share := func(d time.Duration) float64 { return 100 * d.Seconds() / th.window.Seconds() }
		others := max(th.busy-th.benchdCPU-th.selfCPU, 0)
		row("3", fmt.Sprintf("… where the CPU went in that window (%d cores = %.0f%% of one core): benchd %.0f%% (%s per call), the harness's clients %.0f%% (%s per call), other processes on the shared machine %.0f%%, idle %.0f%%",
			m.cores, 100*float64(m.cores), share(th.benchdCPU), perCall(th.benchdCPU), share(th.selfCPU), perCall(th.selfCPU),
			share(others), max(0, 100*float64(m.cores)-share(th.busy))),
			0, "", "", "", "", "")
		row("3", fmt.Sprintf("… with %d clients always in flight, mean latency = %d / rate (Little's law): p99 ≤ 1 ms also needs ≥ %s calls/s",
			th.clients, th.clients, thousands(th.clients*1000)), 0, "", "", "", "", "")
	}
	if s := r.sampler; s != nil {
		on, off := s.on, s.off
		row("4", fmt.Sprintf("benchd CPU during a benchmark with 4 Hz VRAM sampling (sysfs): %d trials × %d tokens, %d tokens streamed, %d samples, wall %s",
			on.trials, s.maxTokens, on.tokens, on.samples, dur(on.wall)), 0, "", "",
			fmt.Sprintf("%.2f s CPU = %.2f%% of a core", on.cpu.Seconds(), 100*on.share()), "", "")
		row("4", fmt.Sprintf("… the same benchmark with sampling off (%d samples), wall %s; streaming costs benchd %s of CPU per generated token",
			off.samples, dur(off.wall), dur(time.Duration(float64(off.cpu)/float64(max(off.tokens, 1))))), 0, "", "",
			fmt.Sprintf("%.2f s CPU = %.2f%% of a core", off.cpu.Seconds(), 100*off.share()), "", "")
		diff := on.share() - off.share()
		row("4", fmt.Sprintf("sampler cost: the difference (/proc/PID/stat resolution %s)", dur(time.Duration(float64(time.Second)/clkTck))), 0, "", "",
			fmt.Sprintf("%.2f%% of a core", 100*diff), "< 1% of a core", met(diff < 0.01))
	}
	if f := r.footprint; f != nil {
		split := func(x testrig.Mem) string {
			return fmt.Sprintf("%s anonymous (Go heap, stacks, runtime) + %s file-backed (pages of the %s binary)", mib(x.Anon), mib(x.File), r.binarySize)
		}
		row("5", "benchd RSS (VmRSS), idle after start: "+split(f.start), 0, "", "", mib(f.start.RSS), "≤ 25 MiB", met(f.start.RSS <= rssTarget))
		row("5", fmt.Sprintf("benchd RSS, idle 2 s after %s `SampleVRAM` calls: %s; peak VmHWM %s", thousands(f.rpcs), split(f.after), mib(f.after.HWM)), 0, "", "",
			mib(f.after.RSS), "≤ 25 MiB", met(f.after.RSS <= rssTarget))
		if f.end.RSS > 0 {
			row("5", fmt.Sprintf("benchd RSS at the end of this run, after everything above: %s; peak %s (for reference)", split(f.end), mib(f.end.HWM)), 0, "", "", mib(f.end.RSS), "", "")
		}
	}
	if t := r.trials; t != nil {
		if len(t.retries) == 0 {
			b.WriteString("\nRetries: none (every legacy run and benchd benchmark of row 2 succeeded at the first attempt).\n")
		} else {
			fmt.Fprintf(&b, "\nRetries: %d failed attempts of row 2, each retried after 3 s (warm-up included):\n\n", len(t.retries))
			for i, rt := range t.retries {
				e := strings.ReplaceAll(rt.err, "\n", " ⏎ ")
				if len(e) > 400 {
					e = e[:400] + "…"
				}
				fmt.Fprintf(&b, "%d. %s: `%s`\n", i+1, rt.what, strings.ReplaceAll(e, "`", "'"))
			}
		}
	}
	r.bridgeTable(&b)
	r.instrTable(&b)
	return b.String()
}

func perOp(d time.Duration, n int64) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(float64(d) / float64(n))
}

// summary is the table: each figure for the before build (-benchd)
// and the checkout's, measured in this one run.
func (r *report) summary(b *strings.Builder) {
	v := r.vram
	if v == nil {
		return
	}
	legacy := v.legacy.median()
	haveBefore := len(v.beforeTunnel) > 0
	b.WriteString("| measurement | before (-benchd build) | after (this checkout) | target |\n|---|---:|---:|---|\n")
	row := func(what, before, after, target string) {
		if !haveBefore {
			before = "–"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", what, before, after, target)
	}
	x := func(s series) string {
		if len(s) == 0 {
			return ""
		}
		return fmt.Sprintf("%s = %s", dur(s.median()), ratio(times(legacy, s.median())))
	}
	row("SampleVRAM via `ssh -N -L`, sysfs, interleaved with the legacy path (median; × = legacy "+dur(legacy)+" / it)",
		x(v.beforeTunnel), x(v.sysfsTunnel), "≥ 500×")
	row("same, back to back", x(v.beforeAlone), x(v.aloneTunnel), "≥ 1,000×")
	if len(v.echo) > 0 {
		row("the machine's wake-up floor, for scale: a 64-byte echo to another process and back, interleaved / back to back", "",
			dur(v.echo.median())+" / "+dur(v.echoAlone.median()), "")
	}
	if len(v.aloneDynamic) > 0 {
		row("back to back through `ssh -N -L`, p99 and calls over 10 ms: a client with gRPC's default windows (as the Go client was) → benchd's Go client, same daemon",
			"", dur(v.aloneDynamic.p99())+", "+slow(v.aloneDynamic)+" → "+dur(v.aloneTunnel.p99())+", "+slow(v.aloneTunnel), "")
	}
	row("benchd's own time per interleaved call (audit line `grpc.time_ms`, median)", dur(v.beforeServer.median()), dur(v.serverTunnel.median()), "")
	thr := func(t *throughputResult) (string, string) {
		if t == nil {
			return "", ""
		}
		return dur(perOp(t.benchdCPU, int64(t.calls))), thousands(int(float64(t.calls)/t.window.Seconds())) + "/s"
	}
	bc, bt := thr(r.beforeThroughput)
	ac, at := thr(r.throughput)
	row(fmt.Sprintf("benchd CPU per SampleVRAM call (%d clients)", r.cfg.clients), bc, ac, "≤ 25 µs")
	row(fmt.Sprintf("%d-client SampleVRAM throughput, 2 cores shared with the clients", r.cfg.clients), bt, at, "≥ 25,000/s")
	tok := func(s *samplerResult, on bool) string {
		if s == nil {
			return ""
		}
		run := s.off
		if on {
			run = s.on
		}
		return dur(perOp(run.cpu, run.tokens))
	}
	if s := r.sampler; s != nil {
		row(fmt.Sprintf("benchd CPU per generated token (%d × %d-token trials, 4 Hz sampling)", s.on.trials, s.maxTokens), tok(r.beforeSampler, true), tok(s, true), "≤ 20 µs")
		row(fmt.Sprintf("… sampling off (%d × %d-token trials)", s.off.trials, s.maxTokens), tok(r.beforeSampler, false), tok(s, false), "≤ 20 µs")
	}
	if f := r.footprint; f != nil {
		bf := ""
		if r.beforeFootprint != nil {
			bf = mib(r.beforeFootprint.after.RSS)
		}
		row(fmt.Sprintf("RSS after %s calls (VmRSS)", thousands(f.rpcs)), bf, mib(f.after.RSS), "≤ 25 MiB")
	}
	if f := r.features; f != nil {
		row(fmt.Sprintf("later features (this checkout's build twice): benchd CPU per SampleVRAM back to back, %s calls each in alternating blocks (schedstat), the fixture card without --metrics → a card with hwmon telemetry and --metrics's gRPC interceptors", thousands(f.calls)),
			"", dur(f.plainCPU)+" → "+dur(f.featuresCPU), "")
		row(fmt.Sprintf("… a /metrics scrape (OpenMetrics, %d samples, %s bytes; each after the GPU reading's %v cache, so it reads sysfs): benchd CPU per scrape; median latency", f.scrapeSeries, thousands(f.scrapeBytes), defaults.VRAMInterval),
			"", dur(f.scrapeCPU)+"; "+dur(f.scrapeLat.median()), "")
	}
	if in := r.instr; in != nil {
		for _, bm := range in.benchmarks {
			bv := ""
			if v, ok := in.before[bm]; ok {
				bv = thousands(int(v))
			}
			av := ""
			if v, ok := in.after[bm]; ok {
				av = thousands(int(v))
			}
			row("user-space instructions per op, "+bm+" (callgrind; client and server in one process)", bv, av, "")
		}
	}
	b.WriteString("\nCPU figures are utime+stime from /proc/PID/stat (clock ticks) over the measured window divided by its calls or tokens: " +
		"unlike wall-clock medians they do not count time spent waiting for other jobs' time slices.\n\n")
}

// bridgeTable is the bridge-vs-HTTP comparison.
func (r *report) bridgeTable(b *strings.Builder) {
	br := r.bridge
	if br == nil {
		return
	}
	fmt.Fprintf(b, "\n#### Docker exec bridge vs plain HTTP, CPU per streamed token\n\n"+
		"The same benchd build, the same model (tiny) in the harness's own container `%s` (rig image, host network, "+
		"ollama on a loopback port); %d alternating rounds of a %d × %d-token benchmark each way (VRAM sampling off). "+
		"CPU from /proc/PID/stat before and after each benchmark; dockerd is shared with other jobs on this machine, "+
		"so its figure under HTTP (which does not use it) is its background.\n\n", ollamaContainer, br.rounds, br.reps, br.maxTokens)
	b.WriteString("| process | bridge (docker exec) | HTTP | bridge − HTTP |\n|---|---:|---:|---:|\n")
	per := func(d time.Duration, n int64) string { return dur(perOp(d, n)) }
	bt, ht := br.bridge.tokens, br.http.tokens
	line := func(what string, a, h time.Duration) {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", what, per(a, bt), per(h, ht), dur(perOp(a, bt)-perOp(h, ht)))
	}
	line("benchd", br.bridge.cpu.benchd, br.http.cpu.benchd)
	line("dockerd", br.bridge.cpu.dockerd, br.http.cpu.dockerd)
	line("containerd-shim of the container", br.bridge.cpu.shim, br.http.cpu.shim)
	line("the bridge's processes in the container (bash, cat, cat)", br.bridge.cpu.bridge, br.http.cpu.bridge)
	line("**transport total** (the four above)", br.bridge.cpu.transportTotal(), br.http.cpu.transportTotal())
	line("ollama itself (for reference)", br.bridge.cpu.ollama, br.http.cpu.ollama)
	fmt.Fprintf(b, "\nTokens: %d over the bridge, %d over HTTP; wall %s and %s.\n", bt, ht, dur(br.bridge.wall), dur(br.http.wall))
	r.timingTable(b)
	if br.inFlight > 0 {
		fmt.Fprintf(b, "\n#### %d requests in flight, CPU per streamed token\n\n"+
			"One concurrency run each way (level %d, %d requests of %d tokens, sampling off), bridge first; "+
			"a level's requests read their streams unpaced.\n\n", br.inFlight, br.inFlight, br.inFlightRequests, br.inFlightTokens)
		b.WriteString("| process | bridge (docker exec) | HTTP | bridge − HTTP |\n|---|---:|---:|---:|\n")
		bt, ht := br.bridgeInFlight.tokens, br.httpInFlight.tokens
		line := func(what string, a, h time.Duration) {
			fmt.Fprintf(b, "| %s | %s | %s | %s |\n", what, per(a, bt), per(h, ht), dur(perOp(a, bt)-perOp(h, ht)))
		}
		line("benchd", br.bridgeInFlight.cpu.benchd, br.httpInFlight.cpu.benchd)
		line("**transport total** (benchd, dockerd, shim, bridge)", br.bridgeInFlight.cpu.transportTotal(), br.httpInFlight.cpu.transportTotal())
		line("ollama itself (for reference)", br.bridgeInFlight.cpu.ollama, br.httpInFlight.cpu.ollama)
		fmt.Fprintf(b, "\nTokens: %d over the bridge, %d over HTTP; wall %s and %s.\n", bt, ht, dur(br.bridgeInFlight.wall), dur(br.httpInFlight.wall))
	}
}

// timingTable compares, per transport, benchd's inter-token figure with
// ollama's own time per token, and how much later than ollama's first
// chunk benchd received it.
func (r *report) timingTable(b *strings.Builder) {
	br := r.bridge
	figs := func(ts []client.Trial) (ratio float64, lag time.Duration, n int) {
		var rs []float64
		var ls []time.Duration
		for _, t := range ts {
			if t.TokenTiming == nil || t.EvalCount < 2 || t.EvalDuration <= 0 {
				continue
			}
			ollamaPerToken := float64(t.EvalDuration) / float64(t.EvalCount)
			rs = append(rs, float64(t.TokenTiming.TPOT)/ollamaPerToken)
			ls = append(ls, t.ReceivedTTFT-t.TTFT)
		}
		if len(rs) == 0 {
			return 0, 0, 0
		}
		slices.Sort(rs)
		slices.Sort(ls)
		return rs[(len(rs)-1)/2], ls[(len(ls)-1)/2], len(rs)
	}
	rb, lb, nb := figs(br.bridge.trials)
	rh, lh, nh := figs(br.http.trials)
	fmt.Fprintf(b, "\n#### Inter-token latency against ollama's own time per token; the bridge's added latency\n\n"+
		"Same trials as above (%d over the bridge, %d over HTTP), medians. benchd's TPOT is the mean gap between "+
		"ollama's chunk stamps; ollama's time per token is eval_duration / eval_count. The lag is benchd's received "+
		"TTFT minus the TTFT on ollama's clock: the request's way in and the first chunk's way out, so the "+
		"difference between the transports is the bridge's added latency per message.\n\n", nb, nh)
	b.WriteString("| figure | bridge (docker exec) | HTTP | bridge − HTTP |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(b, "| benchd TPOT ÷ ollama's time per token | %.3f | %.3f | |\n", rb, rh)
	fmt.Fprintf(b, "| received TTFT − TTFT (transport lag) | %s | %s | %s |\n", dur(lb), dur(lh), dur(lb-lh))
}

func medianInt(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	c := slices.Clone(xs)
	slices.Sort(c)
	return c[(len(c)-1)/2]
}

// goBenchSummary turns go test -bench output into a table of medians.
func goBenchSummary(out string) string {
	type bench struct {
		pkg, name              string
		ns, cpu, bytes, allocs []float64
	}
	var (
		order []string
		by    = map[string]*bench{}
		pkg   string
		cpu   string
	)
	for _, l := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(l, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/benchd/benchd/")
			continue
		}
		if c, ok := strings.CutPrefix(l, "cpu: "); ok {
			cpu = c
			continue
		}
		f := strings.Fields(l)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		key := pkg + " " + f[0]
		bb := by[key]
		if bb == nil {
			bb = &bench{pkg: pkg, name: f[0]}
			by[key] = bb
			order = append(order, key)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				bb.ns = append(bb.ns, v)
			case "cpu-ns/op":
				bb.cpu = append(bb.cpu, v)
			case "B/op":
				bb.bytes = append(bb.bytes, v)
			case "allocs/op":
				bb.allocs = append(bb.allocs, v)
			}
		}
	}
	med := func(xs []float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		c := slices.Clone(xs)
		slices.Sort(c)
		if len(c)%2 == 1 {
			return c[len(c)/2]
		}
		return (c[len(c)/2-1] + c[len(c)/2]) / 2
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Go benchmarks (`go test -run '^$' -bench . -benchmem -count N`; medians; cpu: %s). "+
		"time/op is wall time, which other jobs on a shared machine inflate; CPU/op is the process's CPU time per op where the benchmark reports it "+
		"(client and server together for the RPC ones). The raw output is benchstat's input.\n\n", cpu)
	b.WriteString("| package | benchmark | n | time/op | CPU/op | B/op | allocs/op |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, k := range order {
		bb := by[k]
		cpuText := ""
		if len(bb.cpu) > 0 {
			cpuText = dur(time.Duration(med(bb.cpu)))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %.0f | %.0f |\n", bb.pkg, bb.name, len(bb.ns),
			dur(time.Duration(med(bb.ns))), cpuText, med(bb.bytes), med(bb.allocs))
	}
	return b.String()
}

// slow says how many of s took over 10 ms: on this machine a call through
// the forward that waits for a delayed ACK (~40 ms) and nothing else does.
func slow(s series) string {
	n := 0
	for _, d := range s {
		if d > 10*time.Millisecond {
			n++
		}
	}
	return fmt.Sprintf("%d of %d over 10 ms", n, len(s))
}
