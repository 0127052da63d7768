package report

import (
	"strings"
	"testing"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

func TestGPUTableAbsentIsDash(t *testing.T) {
	p := 41.0
	var b strings.Builder
	if err := GPUTable(&b, []*benchdv1.GPU{{Index: 0, Name: "gpu0", Source: "amd-smi", PowerWatts: &p}}); err != nil {
		t.Fatal(err)
	}
	row := strings.Fields(strings.Split(b.String(), "\n")[1])
	// gpu name used(2) total(2) power(2) then edge junction memory busy core(2?) ...
	want := []string{"0", "gpu0", "0", "B", "0", "B", "41.0", "W", "-", "-", "-", "-", "-", "-", "amd-smi"}
	if strings.Join(row, " ") != strings.Join(want, " ") {
		t.Fatalf("row %q, want %q", row, want)
	}
	j, pt := EnergyCell(nil)
	if j != "-" || pt != "-" {
		t.Fatalf("no energy: %q %q", j, pt)
	}
	jpt := 0.25
	j, pt = EnergyCell(&benchdv1.Energy{Joules: 12.345, JoulesPerOutputToken: &jpt, ShortWindowReason: "short"})
	if j != "~12.3" || pt != "~0.250" {
		t.Fatalf("short span: %q %q", j, pt)
	}
}
