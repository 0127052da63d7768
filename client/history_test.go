package client

import (
	"io"
	"reflect"
	"strings"
	"testing"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
)

// stream returns a recv over evs that ends with end.
func stream(evs []*benchdv1.BenchmarkEvent, end error) func() (*benchdv1.BenchmarkEvent, error) {
	return func() (*benchdv1.BenchmarkEvent, error) {
		if len(evs) == 0 {
			return nil, end
		}
		ev := evs[0]
		evs = evs[1:]
		return ev, nil
	}
}

// TestCollectIsTheRecordFold: a streamed run's Result is the stored
// record's Result, converted the same way, and every event (progress
// included) reaches onEvent.
func TestCollectIsTheRecordFold(t *testing.T) {
	stored := &benchdv1.Benchmark{
		BenchmarkId: "20260102T030405Z-0123abcd", Model: "m",
		State: benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED,
		Started: &benchdv1.BenchmarkStarted{BenchmarkId: "20260102T030405Z-0123abcd", Model: "m", OllamaVersion: "0.9.6",
			Gpus: []*benchdv1.GPU{{Name: "H200", TotalBytes: 1 << 30}}},
		Trials:   []*benchdv1.Trial{{Index: 0, Warmup: true}, {Index: 1, EvalRate: 42.5}},
		Finished: &benchdv1.BenchmarkFinished{BenchmarkId: "20260102T030405Z-0123abcd", Trials: 1, EvalRate: &benchdv1.Summary{N: 1, Mean: 42.5}},
	}
	evs := record.Events(stored)
	progress := &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Progress{Progress: &benchdv1.TrialProgress{Index: 1, Tokens: 3}}}
	evs = append(evs[:2:2], append([]*benchdv1.BenchmarkEvent{progress}, evs[2:]...)...)

	var seen []Event
	res, err := collect(stream(evs, io.EOF), func(ev Event) { seen = append(seen, ev) })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(evs) || seen[2].Progress == nil || seen[2].Progress.Tokens != 3 || seen[2].Raw != progress {
		t.Errorf("onEvent saw %+v", seen)
	}
	want := resultFromProto(record.FromEvents(evs))
	if !reflect.DeepEqual(*res, want) {
		t.Errorf("collect:\n%+v\nwant\n%+v", *res, want)
	}
	got := benchmarkFromProto(stored)
	res.Raw, got.Raw = nil, nil
	if !reflect.DeepEqual(*res, got.Result) {
		t.Errorf("streamed result\n%+v\ndiffers from the stored one\n%+v", *res, got.Result)
	}
	if got.State != "SUCCEEDED" || got.ID != stored.BenchmarkId || res.Summary.EvalRate.Mean != 42.5 || res.GPUs[0].Name != "H200" {
		t.Errorf("benchmark %+v", got)
	}

	// A stream that ends before its finished event is an error, with what
	// came so far.
	res, err = collect(stream(evs[:2], io.EOF), nil)
	if err == nil || !strings.Contains(err.Error(), "without a finished event") || len(res.Trials) != 1 || res.Raw.GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING {
		t.Errorf("cut stream: %+v, %v", res, err)
	}
}
