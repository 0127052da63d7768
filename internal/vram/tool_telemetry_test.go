package vram

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// toolFixture pins one shared fixture of a tool to the telemetry it must
// give per GPU index, or the error it must be refused with. extract, when
// set, takes the tool's output out of a transcript (a README-described
// excerpt with the command line or two outputs in one file).
type toolFixture struct {
	want    map[int]telWant
	wantErr string
	extract func([]byte) [][]byte
}

func rocmSMIFixtures() map[string]toolFixture {
	mi100 := func(p, e, j, m float64) telWant {
		return telWant{power: f(p), window: true, edge: f(e), junction: f(j), mem: f(m), busy: f(0), sclk: f(300), mclk: f(1200)}
	}
	rx6700 := telWant{power: f(6), window: true, edge: f(45), junction: f(47), mem: f(46), busy: f(0), sclk: f(500), mclk: f(96)}
	noPower := rx6700
	noPower.power, noPower.window = nil, false
	idleSclk := rx6700
	idleSclk.sclk = f(0)
	return map[string]toolFixture{
		"beszel-414-rx7900xtx-showtemp-showuse-showpower-vram.json": {want: map[int]telWant{0: {power: f(19), window: true, edge: f(49), junction: f(49), mem: f(62), busy: f(0)}}},
		// No edge key on MI300X; the socket power is instantaneous.
		"lilbee-mi300x-author-trimmed.json":                                    {want: map[int]telWant{0: {power: f(159), junction: f(45), mem: f(38), busy: f(0)}}},
		"lilbee-rx9060xt-author-trimmed.json":                                  {want: map[int]telWant{0: {power: f(17), window: true, edge: f(39), junction: f(41), mem: f(61), busy: f(100)}}},
		"llama-swap-775-4x-rx7900xtx-rocm723.csv":                              {wantErr: "no JSON object or array"},
		"ollama-9633-radeon-9000-series-rocm-smi-gpu-metrics-v1.3-EXCERPT.txt": {wantErr: "no JSON object or array"},
		// 2019: "(Sensor mem) (c)".
		"rainbowminer-749-2019-f-t-P.json":                                {want: map[int]telWant{0: {power: f(222), window: true, edge: f(77), junction: f(103), mem: f(79)}}},
		"rocm_smi_lib-149-mixed-power-keys-text.txt":                      {wantErr: "no JSON object or array"},
		"rocm_smi_lib-160-mi250-showpower-secondary-die.txt":              {wantErr: "no JSON object or array"},
		"systeminformation-960-radeon780m-rocm-smi-lib-6.2.4-EXCERPT.txt": {wantErr: "decode JSON"},
		"telegraf-mi100_rocm571.json": {want: map[int]telWant{
			0: mi100(39, 31, 34, 30), 1: mi100(37, 30, 33, 38), 2: mi100(35, 31, 34, 31),
			3: mi100(39, 33, 35, 36), 4: mi100(39, 32, 34, 38), 5: mi100(40, 33, 35, 38)}},
		"telegraf-mi100_rocm602.json": {want: map[int]telWant{
			0: mi100(36, 53, 55, 53), 1: mi100(44, 55, 58, 54), 2: mi100(43, 54, 57, 55), 3: mi100(39, 51, 53, 50)}},
		"telegraf-rx6700xt_rocm430.json": {want: map[int]telWant{0: rx6700}},
		"telegraf-rx6700xt_rocm571.json": {want: map[int]telWant{0: rx6700}},
		// "N/A (Secondary die)": absent, not 0 W.
		"telegraf-rx6700xt_rocm602.json":               {want: map[int]telWant{0: noPower}},
		"telegraf-rx6700xt_rocm612.json":               {want: map[int]telWant{0: idleSclk}},
		"telegraf-vega-10-XT.json":                     {want: map[int]telWant{0: {power: f(15), window: true, edge: f(39), junction: f(40), mem: f(92), busy: f(0), sclk: f(1269), mclk: f(167)}}},
		"telegraf-vega-20-WKS-GL-XE.json":              {want: map[int]telWant{0: {power: f(26), window: true, edge: f(36), junction: f(38), mem: f(35), busy: f(0), sclk: f(1725), mclk: f(1000)}}},
		"wandb-5449-mi250-rocm-smi-a-json-EXCERPT.txt": {wantErr: "decode JSON"},
	}
}

func amdSMIFixtures() map[string]toolFixture {
	return map[string]toolFixture{
		"ajean-39-rx7800xt-metric-json-tail-EXCERPT.txt":          {wantErr: "no JSON object or array"},
		"amdsmi-134-mi300x-dpx-rocm7.0.2-python-repr-EXCERPT.txt": {wantErr: "decode JSON"},
		"amdsmi-38-mi210-metric-E-watch-csv.txt":                  {wantErr: "no JSON object or array"},
		"amdsmi-changelog-rocm6.1.0-metric-p-json-list-form.json": {want: map[int]telWant{0: {power: f(10), window: true}}},
		"amdsmi-changelog-rocm6.1.2-metric-power-text-navi.txt":   {wantErr: "no JSON object or array"},
		"beszel-737-w7700-metric-u-json-EXCERPT.txt":              {wantErr: "decode JSON"},
		// gpu_data form; edge "N/A" is absent.
		"lilbee-mi300x-amdsmi26.0.2-gpu_data-author-trimmed.json": {want: map[int]telWant{0: {power: f(158), window: true, junction: f(45), mem: f(38), busy: f(0)}}},
		"powerjoular-67-metric-text-EXCERPT.txt":                  {wantErr: "no JSON object or array"},
		"rocm-systems-2720-watch-json-EXCERPT.txt":                {wantErr: "decode JSON"},
	}
}

// dropCommandLines removes transcript lines ("$ cmd", or the tool's own
// echo of its command line) and splits what is left at blank lines into
// the outputs of separate runs.
func dropCommandLines(b []byte) [][]byte {
	var outs [][]byte
	var cur []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		switch {
		case bytes.HasPrefix(l, []byte("$ ")) || bytes.HasPrefix(l, []byte("/usr/bin/nvidia-smi ")):
		case len(bytes.TrimSpace(l)) == 0:
			if len(cur) > 0 {
				outs, cur = append(outs, cur), nil
			}
		default:
			cur = append(append(cur, l...), '\n')
		}
	}
	if len(cur) > 0 {
		outs = append(outs, cur)
	}
	return outs
}

func nvidiaSMIFixtures() map[string]toolFixture {
	return map[string]toolFixture{
		"gb10-dgx-spark-plain.txt": {wantErr: "human-readable nvidia-smi table"},
		// No index column: the row is GPU 0. power.limit and memory are
		// [N/A] but are not telemetry columns.
		"gb10-dgx-spark-query-header.csv": {want: map[int]telWant{0: {power: f(5.04), window: true, edge: f(39), busy: f(0)}}},
		// Two runs, units in the cells; checked run by run below.
		"l4-query-header-two-samples.txt":          {extract: dropCommandLines},
		"rtx-pro-6000-blackwell-windows-query.txt": {extract: dropCommandLines},
		// The noheader form cannot be mapped to fields by name.
		"rtx2080-noheader-nounits.txt":      {extract: dropCommandLines, wantErr: "not column names"},
		"telegraf-a100-sxm4-v12.xml":        {wantErr: "got XML"},
		"telegraf-rtx-3080-v13.xml":         {wantErr: "got XML"},
		"telegraf-rtx-4000-sff-ada-v13.xml": {wantErr: "got XML"},
		"telegraf-tesla-t4.xml":             {wantErr: "got XML"},
	}
}

// nvidiaRuns are the per-run expectations of the transcripts.
var nvidiaRuns = map[string][]toolFixture{
	"l4-query-header-two-samples.txt": {
		{want: map[int]telWant{0: {power: f(34.19), window: true, sclk: f(2040), edge: f(71), busy: f(0)}}},
		{want: map[int]telWant{0: {power: f(70.93), window: true, busy: f(100), edge: f(83)}}},
	},
	"rtx-pro-6000-blackwell-windows-query.txt": {
		// clocks.current.graphics is not the SM clock benchd reports.
		{want: map[int]telWant{0: {power: f(26.47), window: true, edge: f(29), busy: f(10)}}},
		{wantErr: "is a telemetry field"},
	},
	"rtx2080-noheader-nounits.txt": {{wantErr: "not column names"}},
}

func TestToolTelemetryFixtures(t *testing.T) {
	for _, tool := range []struct {
		dir   string
		parse func([]byte) (map[int]Telemetry, error)
		cases map[string]toolFixture
	}{
		{"rocm-smi", ParseRocmSMITelemetry, rocmSMIFixtures()},
		{"amd-smi", ParseAMDSMITelemetry, amdSMIFixtures()},
		{"nvidia-smi", ParseNvidiaSMITelemetry, nvidiaSMIFixtures()},
	} {
		files := telemetryFixtures(t, tool.dir)
		if len(files) != len(tool.cases) {
			t.Errorf("%s: %d fixtures, %d cases: every fixture needs one", tool.dir, len(files), len(tool.cases))
		}
		for _, path := range files {
			name := filepath.Base(path)
			t.Run(tool.dir+"/"+name, func(t *testing.T) {
				tc, ok := tool.cases[name]
				if !ok {
					t.Fatalf("no case for %s", name)
				}
				in := readShared(t, path)
				if tc.extract == nil {
					checkToolCase(t, tool.parse, in, tc)
					return
				}
				runs := tc.extract(in)
				want := nvidiaRuns[name]
				if len(runs) != len(want) {
					t.Fatalf("%d runs in the transcript, want %d", len(runs), len(want))
				}
				for i, run := range runs {
					checkToolCase(t, tool.parse, run, want[i])
				}
			})
		}
	}
}

func checkToolCase(t *testing.T, parse func([]byte) (map[int]Telemetry, error), in []byte, tc toolFixture) {
	t.Helper()
	got, err := parse(in)
	if tc.wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Fatalf("got (%+v, %v), want an error containing %q", got, err, tc.wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tc.want) {
		t.Fatalf("got %d GPUs, want %d: %+v", len(got), len(tc.want), got)
	}
	for idx, w := range tc.want {
		tel, ok := got[idx]
		if !ok {
			t.Fatalf("GPU %d missing", idx)
		}
		w.check(t, tel, ToolPowerWindow)
	}
}
