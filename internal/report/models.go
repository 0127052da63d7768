package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// Processor says where a loaded model runs, as `ollama ps` prints it:
// "100% GPU", "100% CPU", or the split of a model that spilled, e.g.
// "25%/75% CPU/GPU".
func Processor(m *benchdv1.LoadedModel) string {
	return processor(m.GetSizeBytes(), m.GetSizeVramBytes())
}

// processor is Processor of a model's size and the part of it in VRAM.
func processor(size, vram uint64) string {
	switch {
	case vram == 0:
		return "100% CPU"
	case vram == size:
		return "100% GPU"
	case vram > size || size == 0:
		return "unknown"
	}
	cpu := math.Round(float64(size-vram) / float64(size) * 100)
	return fmt.Sprintf("%d%%/%d%% CPU/GPU", int(cpu), int(100-cpu))
}

// modelID is a digest as `ollama list` shows it: its first 12 hex digits.
func modelID(mi *benchdv1.ModelInfo) string { return short(trimDigest(mi.GetDigest()), 12) }

func contextLength(m *benchdv1.InstalledModel) string {
	if n := m.GetContextLength(); n > 0 {
		return strconv.Itoa(int(n))
	}
	return "-"
}

// until is when a loaded model unloads, from now: "in 4m0s", or "now"
// once the time has passed (ollama is stopping it).
func until(m *benchdv1.LoadedModel, now time.Time) string {
	if m.GetExpiresAt() == nil {
		return "-"
	}
	d := m.GetExpiresAt().AsTime().Sub(now)
	if d <= 0 {
		return "now"
	}
	return "in " + d.Round(time.Second).String()
}

// WriteModelsTable prints what ollama has and what it has loaded, as
// `ollama list` and `ollama ps` would, with the details and context length
// beside each model.
func WriteModelsTable(w io.Writer, r *benchdv1.ListModelsResponse) error {
	return writeModels(w, r, time.Now(), false)
}

// WriteModelsMarkdown is WriteModelsTable as two markdown tables.
func WriteModelsMarkdown(w io.Writer, r *benchdv1.ListModelsResponse) error {
	return writeModels(w, r, time.Now(), true)
}

func writeModels(w io.Writer, r *benchdv1.ListModelsResponse, now time.Time, md bool) error {
	modified := func(m *benchdv1.InstalledModel) string {
		if m.GetModifiedAt() == nil {
			return "-"
		}
		return m.GetModifiedAt().AsTime().Local().Format(time.DateTime)
	}
	if md {
		fmt.Fprintln(w, "#### Models")
		fmt.Fprintln(w)
		mdHeader(w, "name", "id", ">size", "family", "parameters", "quantization", ">context", "modified")
		for _, m := range r.GetModels() {
			mi := m.GetInfo()
			mdRow(w, "`"+m.GetName()+"`", modelID(mi), BytesIEC(m.GetSizeBytes()), mi.GetFamily(), mi.GetParameterSize(),
				mi.GetQuantizationLevel(), contextLength(m), modified(m))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "#### Loaded")
		fmt.Fprintln(w)
		if len(r.GetLoaded()) == 0 {
			fmt.Fprintln(w, "none")
			return nil
		}
		mdHeader(w, "name", "id", ">size", ">VRAM", "processor", "unloads")
		for _, m := range r.GetLoaded() {
			mdRow(w, "`"+m.GetName()+"`", modelID(m.GetInfo()), BytesIEC(m.GetSizeBytes()), BytesIEC(m.GetSizeVramBytes()),
				Processor(m), until(m, now))
		}
		fmt.Fprintln(w)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(r.GetModels()) == 0 {
		fmt.Fprintln(tw, "no models")
	} else {
		fmt.Fprintln(tw, "NAME\tID\tSIZE\tFAMILY\tPARAMETERS\tQUANTIZATION\tCONTEXT\tMODIFIED")
		for _, m := range r.GetModels() {
			mi := m.GetInfo()
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.GetName(), modelID(mi), BytesIEC(m.GetSizeBytes()),
				mi.GetFamily(), mi.GetParameterSize(), mi.GetQuantizationLevel(), contextLength(m), modified(m))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(r.GetLoaded()) == 0 {
		_, err := fmt.Fprintln(w, "loaded: none")
		return err
	}
	fmt.Fprintln(w, "loaded:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSIZE\tVRAM\tPROCESSOR\tUNLOADS")
	for _, m := range r.GetLoaded() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.GetName(), modelID(m.GetInfo()), BytesIEC(m.GetSizeBytes()),
			BytesIEC(m.GetSizeVramBytes()), Processor(m), until(m, now))
	}
	return tw.Flush()
}

// ModelsCSVHeader is the header of WriteModelsCSV: a row per model, what
// ollama has joined with what it has loaded (the loaded_* columns are
// empty for a model not in memory).
var ModelsCSVHeader = []string{
	"name", "digest", "family", "parameter_size", "quantization_level", "format", "size_bytes", "context_length", "modified_at",
	"loaded", "loaded_size_bytes", "loaded_size_vram_bytes", "loaded_processor", "loaded_expires_at",
}

// WriteModelsCSV writes ListModels as CSV with ModelsCSVHeader. A loaded
// model that ollama no longer lists (removed while in memory) gets a row
// of its own.
func WriteModelsCSV(w io.Writer, r *benchdv1.ListModelsResponse) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ModelsCSVHeader); err != nil {
		return err
	}
	loaded := map[string]*benchdv1.LoadedModel{}
	for _, m := range r.GetLoaded() {
		loaded[m.GetName()] = m
	}
	stamp := func(t interface{ AsTime() time.Time }, set bool) string {
		if !set {
			return ""
		}
		return t.AsTime().UTC().Format(time.RFC3339Nano)
	}
	u64 := func(v uint64) string { return strconv.FormatUint(v, 10) }
	loadedCols := func(l *benchdv1.LoadedModel) []string {
		if l == nil {
			return []string{"false", "", "", "", ""}
		}
		return []string{"true", u64(l.GetSizeBytes()), u64(l.GetSizeVramBytes()), Processor(l), stamp(l.GetExpiresAt(), l.GetExpiresAt() != nil)}
	}
	for _, m := range r.GetModels() {
		mi := m.GetInfo()
		l := loaded[m.GetName()]
		delete(loaded, m.GetName())
		row := []string{m.GetName(), mi.GetDigest(), mi.GetFamily(), mi.GetParameterSize(), mi.GetQuantizationLevel(), mi.GetFormat(),
			u64(m.GetSizeBytes()), strconv.Itoa(int(m.GetContextLength())), stamp(m.GetModifiedAt(), m.GetModifiedAt() != nil)}
		if err := cw.Write(append(row, loadedCols(l)...)); err != nil {
			return err
		}
	}
	for _, l := range r.GetLoaded() {
		if _, left := loaded[l.GetName()]; !left {
			continue
		}
		mi := l.GetInfo()
		row := []string{l.GetName(), mi.GetDigest(), mi.GetFamily(), mi.GetParameterSize(), mi.GetQuantizationLevel(), mi.GetFormat(), "", "", ""}
		if err := cw.Write(append(row, loadedCols(l)...)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
