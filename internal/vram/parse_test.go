package vram

import (
	"errors"
	"github.com/benchd/benchd/internal/dockerx"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixtureDir is the repository's verbatim copy of ../shared/fixtures (see
// testdata/fixtures/SOURCE.md); TestFixturesMatchShared keeps them equal.
const fixtureDir = "../../testdata/fixtures"

const mib = 1 << 20

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		tb.Fatalf("read fixture: %v", err)
	}
	return b
}

type parseFunc func([]byte) ([]GPU, error)

// fixtureCase pins one fixture file to the exact readings it must give, or
// to the error it must be refused with.
type fixtureCase struct {
	file    string
	parse   parseFunc
	want    []GPU
	wantErr string // substring; empty means success
}

func fixtureCases() []fixtureCase {
	return []fixtureCase{
		{
			file:  "rocm-smi/showmeminfo-vram.json",
			parse: ParseRocmSMI,
			want: []GPU{{Index: 0, Name: "card0", Vendor: VendorAMD,
				TotalBytes: 21458059264, UsedBytes: 27856896, Source: SourceRocmSMI}},
		},
		{
			file:  "amd-smi/metric-mem-usage.json",
			parse: ParseAMDSMI,
			want: []GPU{{Index: 0, Name: "gpu0", Vendor: VendorAMD,
				TotalBytes: 8176 * mib, UsedBytes: 202 * mib, Source: SourceAMDSMI}},
		},
		{
			file:  "nvidia-smi/nvsmi-idle-noheader.csv",
			parse: ParseNvidiaSMI,
			want: []GPU{{Index: 0, Name: "NVIDIA H200", Vendor: VendorNvidia,
				TotalBytes: 143771 * mib, UsedBytes: 0, Source: SourceNvidiaSMI}},
		},
		{
			file:  "nvidia-smi/nvsmi-20g-noheader.csv",
			parse: ParseNvidiaSMI,
			want: []GPU{{Index: 0, Name: "NVIDIA H200", Vendor: VendorNvidia,
				TotalBytes: 143771 * mib, UsedBytes: 21007 * mib, Source: SourceNvidiaSMI}},
		},
		// The header form carries ten fields with units; rather than
		// guess at columns the parser insists on the noheader,nounits
		// query it issues itself.
		{file: "nvidia-smi/nvsmi-idle-header.csv", parse: ParseNvidiaSMI, wantErr: "CSV header line"},
		{file: "nvidia-smi/nvsmi-plain.txt", parse: ParseNvidiaSMI, wantErr: "human-readable nvidia-smi table"},
		// A --query-compute-apps line (pid, name, MiB) must not pass for
		// a GPU line.
		{file: "nvidia-smi/nvsmi-apps-20g.csv", parse: ParseNvidiaSMI, wantErr: "got 3 comma-separated fields, want 4"},
	}
}

func TestParseFixtures(t *testing.T) {
	for _, tc := range fixtureCases() {
		t.Run(tc.file, func(t *testing.T) {
			got, err := tc.parse(readFixture(t, tc.file))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got (%v, %v), want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestEveryFixtureIsCovered keeps the table honest: a fixture added to the
// shared store without a case here fails the build's tests.
func TestEveryFixtureIsCovered(t *testing.T) {
	covered := make(map[string]bool)
	for _, tc := range fixtureCases() {
		covered[tc.file] = true
	}
	for _, dir := range []string{"rocm-smi", "amd-smi", "nvidia-smi"} {
		entries, err := os.ReadDir(filepath.Join(fixtureDir, dir))
		if err != nil {
			t.Fatalf("list fixtures: %v", err)
		}
		for _, e := range entries {
			name := dir + "/" + e.Name()
			if e.IsDir() || strings.EqualFold(e.Name(), "README.md") {
				continue
			}
			if !covered[name] {
				t.Errorf("fixture %s has no case in fixtureCases", name)
			}
		}
	}
}

func TestParseRocmSMI(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []GPU
		wantErr string
		noGPU   bool
	}{
		{
			name: "two cards, name, non-card keys, sorted numerically",
			in: `{"system": {"Driver version": "6.8"},
				"card10": {"VRAM Total Memory (B)": "200", "VRAM Total Used Memory (B)": "20"},
				"card2": {"VRAM Total Memory (B)": "100", "VRAM Total Used Memory (B)": "10", "Card Series": "Radeon RX 7900 XT"},
				"card0-DP-1": {"VRAM Total Memory (B)": "x"}}`,
			want: []GPU{
				{Index: 2, Name: "Radeon RX 7900 XT", Vendor: VendorAMD, TotalBytes: 100, UsedBytes: 10, Source: SourceRocmSMI},
				{Index: 10, Name: "card10", Vendor: VendorAMD, TotalBytes: 200, UsedBytes: 20, Source: SourceRocmSMI},
			},
		},
		{
			name: "warning line before JSON, numbers unquoted",
			in:   "WARNING: AMD GPU device(s) is/are in a low-power state.\n{\"card1\": {\"VRAM Total Memory (B)\": 100, \"VRAM Total Used Memory (B)\": 1}}\n",
			want: []GPU{{Index: 1, Name: "card1", Vendor: VendorAMD, TotalBytes: 100, UsedBytes: 1, Source: SourceRocmSMI}},
		},
		{
			name: "N/A card skipped",
			in: `{"card0": {"VRAM Total Memory (B)": "N/A", "VRAM Total Used Memory (B)": "N/A"},
				"card1": {"VRAM Total Memory (B)": "100", "VRAM Total Used Memory (B)": "1"}}`,
			want: []GPU{{Index: 1, Name: "card1", Vendor: VendorAMD, TotalBytes: 100, UsedBytes: 1, Source: SourceRocmSMI}},
		},
		{name: "only N/A", in: `{"card0": {"VRAM Total Memory (B)": "N/A"}}`, wantErr: `card0: "VRAM Total Memory (B)" is N/A`, noGPU: true},
		{name: "no cards", in: `{"system": {}}`, noGPU: true, wantErr: "no GPU"},
		{name: "empty", in: "  \n", noGPU: true, wantErr: "empty"},
		{name: "garbage value", in: `{"card0": {"VRAM Total Memory (B)": "12abc", "VRAM Total Used Memory (B)": "1"}}`, wantErr: `card0: "VRAM Total Memory (B)": invalid number`},
		{name: "negative", in: `{"card0": {"VRAM Total Memory (B)": "-1", "VRAM Total Used Memory (B)": "1"}}`, wantErr: "invalid number"},
		{name: "overflow", in: `{"card0": {"VRAM Total Memory (B)": "18446744073709551616", "VRAM Total Used Memory (B)": "1"}}`, wantErr: "out of range"},
		{name: "used over total", in: `{"card0": {"VRAM Total Memory (B)": "1", "VRAM Total Used Memory (B)": "2"}}`, wantErr: "exceeds total"},
		{name: "card not object", in: `{"card0": "N/A"}`, wantErr: "card0: value is not a JSON object"},
		{name: "list", in: `[1]`, wantErr: "decode JSON"},
		{name: "trailing data", in: `{"card0": {}} {}`, wantErr: "after the JSON document"},
		{name: "text", in: "rocm-smi: command not found\n", wantErr: "no JSON object or array"},
		{name: "binary", in: "{\"card0\x00\": 1}", wantErr: "control byte 0x00"},
		{name: "not utf8", in: "{\"\xff\": 1}", wantErr: "not UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRocmSMI([]byte(tc.in))
			checkParse(t, got, err, tc.want, tc.wantErr, tc.noGPU)
		})
	}
}

func TestParseAMDSMI(t *testing.T) {
	q := func(v, unit string) string { return `{"value": ` + v + `, "unit": "` + unit + `"}` }
	entry := func(gpu, total, used string) string {
		return `{"gpu": ` + gpu + `, "mem_usage": {"total_vram": ` + total + `, "used_vram": ` + used + `}}`
	}
	amd := func(idx int, total, used uint64) GPU {
		return GPU{Index: idx, Name: "gpu" + string(rune('0'+idx)), Vendor: VendorAMD, TotalBytes: total, UsedBytes: used, Source: SourceAMDSMI}
	}
	tests := []struct {
		name    string
		in      string
		want    []GPU
		wantErr string
		noGPU   bool
	}{
		{
			name: "gpu_data envelope, sorted",
			in:   `{"gpu_data": [` + entry("1", q("16", "GB"), q("1.5", "GB")) + `,` + entry("0", q("8176", "MB"), q("202", "MB")) + `]}`,
			want: []GPU{amd(0, 8176*mib, 202*mib), amd(1, 16<<30, 3<<29)},
		},
		{
			name: "single object, all units",
			in:   `{"gpu": 3, "mem_usage": {"total_vram": ` + q("4096", "KB") + `, "used_vram": ` + q("1024", "B") + `}}`,
			want: []GPU{amd(3, 4096<<10, 1024)},
		},
		{
			name: "IEC units, bare number is MiB, text value",
			in:   `[` + entry("0", q("2", "GiB"), `100`) + `,` + entry("1", `"8 MiB"`, q(`"3"`, "MB")) + `]`,
			want: []GPU{amd(0, 2<<30, 100*mib), amd(1, 8*mib, 3*mib)},
		},
		{
			name: "N/A GPU skipped",
			in:   `[` + entry("0", `"N/A"`, `"N/A"`) + `,` + entry("1", q("10", "MB"), q(`"N/A"`, "MB")) + `,` + entry("2", q("10", "MB"), q("1", "MB")) + `]`,
			want: []GPU{amd(2, 10*mib, 1*mib)},
		},
		{name: "mem_usage N/A", in: `[{"gpu": 0, "mem_usage": "N/A"}]`, noGPU: true, wantErr: "GPU 0: mem_usage is N/A"},
		{name: "mem_usage missing", in: `[{"gpu": 0}]`, noGPU: true, wantErr: "GPU 0: no mem_usage section"},
		{name: "all N/A", in: `[` + entry("0", `"N/A"`, `"N/A"`) + `]`, noGPU: true, wantErr: "GPU 0: total_vram is N/A"},
		{name: "empty list", in: `[]`, noGPU: true},
		{name: "unknown unit", in: `[` + entry("0", q("1", "PB"), q("1", "MB")) + `]`, wantErr: `total_vram: unknown unit "PB"`},
		{name: "exponent", in: `[` + entry("0", q("1e9", "MB"), q("1", "MB")) + `]`, wantErr: "invalid number"},
		{name: "negative", in: `[` + entry("0", q("-1", "MB"), q("1", "MB")) + `]`, wantErr: "invalid number"},
		{name: "overflow", in: `[` + entry("0", q("17179869184", "GB"), q("1", "MB")) + `]`, wantErr: "overflows"},
		{name: "overflow fraction", in: `[` + entry("0", q("17179869184.5", "GB"), q("1", "MB")) + `]`, wantErr: "overflows"},
		{name: "used over total", in: `[` + entry("0", q("1", "MB"), q("2", "MB")) + `]`, wantErr: "exceeds total"},
		{name: "duplicate index", in: `[` + entry("0", q("2", "MB"), q("1", "MB")) + `,` + entry("0", q("2", "MB"), q("1", "MB")) + `]`, wantErr: "reported twice"},
		{name: "bad index", in: `[` + entry("-1", q("2", "MB"), q("1", "MB")) + `]`, wantErr: `"gpu" index -1`},
		{name: "missing index", in: `[{"mem_usage": {}}]`, wantErr: `"gpu" is missing`},
		{name: "value object", in: `[` + entry("0", q("{}", "MB"), q("1", "MB")) + `]`, wantErr: "not a number"},
		{name: "other object", in: `{"foo": 1}`, wantErr: `neither "gpu_data" nor "gpu"`},
		{name: "gpu_data not list", in: `{"gpu_data": 1}`, wantErr: `"gpu_data" is not a list`},
		{name: "scalar", in: `1`, wantErr: "no JSON object or array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAMDSMI([]byte(tc.in))
			checkParse(t, got, err, tc.want, tc.wantErr, tc.noGPU)
		})
	}
}

func TestParseNvidiaSMI(t *testing.T) {
	nv := func(idx int, name string, total, used uint64) GPU {
		return GPU{Index: idx, Name: name, Vendor: VendorNvidia, TotalBytes: total * mib, UsedBytes: used * mib, Source: SourceNvidiaSMI}
	}
	tests := []struct {
		name    string
		in      string
		want    []GPU
		wantErr string
		noGPU   bool
	}{
		{
			name: "two GPUs, CRLF, blank line, sorted",
			in:   "1, NVIDIA A100-SXM4-80GB, 81920, 5\r\n\r\n0, NVIDIA A100-SXM4-80GB, 81920, 0\r\n",
			want: []GPU{nv(0, "NVIDIA A100-SXM4-80GB", 81920, 0), nv(1, "NVIDIA A100-SXM4-80GB", 81920, 5)},
		},
		{name: "N/A total", in: "0, NVIDIA GB10, [N/A], [N/A]\n", wantErr: "GPU 0 memory.total: nvidia-smi reports [N/A]"},
		{name: "N/A used", in: "0, A, 100, 1\n3, B, 100, [Not Supported]\n", wantErr: "line 2: GPU 3 memory.used: nvidia-smi reports [Not Supported]"},
		{name: "units", in: "0, A, 100 MiB, 1 MiB\n", wantErr: "has a unit"},
		{name: "float", in: "0, A, 100.5, 1\n", wantErr: "not a whole number"},
		{name: "overflow", in: "0, A, 17592186044416, 1\n", wantErr: "overflows"},
		{name: "bad index", in: "x, A, 1, 1\n", wantErr: `index "x"`},
		{name: "duplicate", in: "0, A, 2, 1\n0, A, 2, 1\n", wantErr: "reported twice"},
		{name: "used over total", in: "0, A, 1, 2\n", wantErr: "exceeds total"},
		{name: "five fields", in: "0, A, B, 1, 1\n", wantErr: "got 5 comma-separated fields"},
		{name: "empty", in: "\n", noGPU: true, wantErr: "empty"},
		{name: "not found", in: "No devices were found\n", wantErr: "got 1 comma-separated fields"},
		{name: "escape", in: "\x1b[0m0, A, 2, 1\n", wantErr: "control byte 0x1b"},
		{name: "too big", in: strings.Repeat("0, A, 2, 1\n", dockerx.MaxOutput/10), wantErr: "over the 1048576-byte limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNvidiaSMI([]byte(tc.in))
			checkParse(t, got, err, tc.want, tc.wantErr, tc.noGPU)
		})
	}
}

func checkParse(t *testing.T, got []GPU, err error, want []GPU, wantErr string, noGPU bool) {
	t.Helper()
	if noGPU && !errors.Is(err, ErrNoGPU) {
		t.Errorf("error %v does not wrap ErrNoGPU", err)
	}
	if wantErr != "" || noGPU {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("got (%+v, %v), want error containing %q", got, err, wantErr)
		}
		if got != nil {
			t.Errorf("got readings %+v alongside an error", got)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestScaleDecimal(t *testing.T) {
	tests := []struct {
		in   string
		mult uint64
		want uint64
		err  bool
	}{
		{"0", mib, 0, false},
		{"18446744073709551615", 1, 1<<64 - 1, false},
		{"17592186044415", mib, 17592186044415 * mib, false},
		{"17592186044416", mib, 0, true},
		{"0.5", 1 << 10, 512, false},
		{".5", 1 << 10, 512, false},
		{"5.", 1 << 10, 5 << 10, false},
		{"0.0009", 1 << 10, 0, false},        // truncates, like the tools' integer division
		{"7.98", 1 << 30, 8568459755, false}, // 798 * 2^30 / 100 = 8568459755.52
		{".", 1, 0, true},
		{"", 1, 0, true},
		{"1.2.3", 1, 0, true},
		{"+1", 1, 0, true},
		{"1e3", 1, 0, true},
		{strings.Repeat("1", maxDecimalLen+1), 1, 0, true},
	}
	for _, tc := range tests {
		got, err := scaleDecimal(tc.in, tc.mult)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("scaleDecimal(%q, %d) = (%d, %v), want (%d, err=%v)", tc.in, tc.mult, got, err, tc.want, tc.err)
		}
	}
}

func TestCardIndex(t *testing.T) {
	for name, want := range map[string]int{"card0": 0, "card7": 7, "card12": 12} {
		if got, ok := cardIndex(name); !ok || got != want {
			t.Errorf("cardIndex(%q) = (%d, %v), want (%d, true)", name, got, ok, want)
		}
	}
	for _, name := range []string{"card", "card0-DP-1", "renderD128", "card01", "card-1", "card+1", "Card0", "card1234567890"} {
		if got, ok := cardIndex(name); ok {
			t.Errorf("cardIndex(%q) = (%d, true), want not a card", name, got)
		}
	}
}

func benchmarkParse(b *testing.B, parse parseFunc, file string) {
	in := readFixture(b, file)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRocmSMI(b *testing.B) {
	benchmarkParse(b, ParseRocmSMI, "rocm-smi/showmeminfo-vram.json")
}

func BenchmarkParseAMDSMI(b *testing.B) {
	benchmarkParse(b, ParseAMDSMI, "amd-smi/metric-mem-usage.json")
}

func BenchmarkParseNvidiaSMI(b *testing.B) {
	benchmarkParse(b, ParseNvidiaSMI, "nvidia-smi/nvsmi-20g-noheader.csv")
}
