package faults_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// TestClientThatNeverReads starts a benchmark from a client that never
// reads its stream (its first message, the started event with 16 prompts
// of 8 KiB, is over gRPC's 64 KiB window, so benchd's send blocks at
// once), and a WatchVRAM stream that is never read either. Others are not
// held up: a watcher gets every event, SampleVRAM keeps answering, the run
// completes all its trials; benchd's memory stays bounded; and when the
// stalled client finally reads, nothing is lost.
func TestClientThatNeverReads(t *testing.T) {
	c := startRig(t, shared)
	d := startDaemon(t, c.name)
	pid := d.ServingPID(t)
	rssBefore := testrig.RSSKiB(t, pid)

	stalled := func() *client.Client {
		cl, err := client.New(d.Socket)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const reps = 12
	prompts := make([]string, 16)
	for i := range prompts {
		prompts[i] = strings.Repeat("lighthouse ", 745) // 8 KiB
	}
	// num_ctx 64 keeps each trial short: ollama keeps the prompt's last
	// 64 tokens, so the big prompts cost benchd's stream, not ollama's CPU.
	reps32, warm, maxTok, numCtx := uint32(reps), uint32(1), uint32(256), uint32(64)
	nonReader, err := stalled().Raw().RunBenchmark(ctx, &benchdv1.RunBenchmarkRequest{
		Model: "tiny", Prompts: prompts, Repetitions: &reps32, Warmup: &warm, MaxTokens: &maxTok, NumCtx: &numCtx,
	})
	if err != nil {
		t.Fatal(err)
	}
	vramNonReader, err := stalled().Raw().WatchVRAM(ctx, &benchdv1.WatchVRAMRequest{Interval: durationpb.New(50 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	_ = vramNonReader // never read until the end

	// The run's id, from the history (the non-reader cannot tell us).
	var id string
	testrig.Poll(t, 30*time.Second, "the run to be stored as RUNNING", func() bool {
		bs, _, err := d.cl.ListBenchmarks(ctx, client.ListOptions{})
		if err == nil && len(bs) == 1 && bs[0].State == "RUNNING" {
			id = bs[0].ID
		}
		return id != ""
	})

	var samples, sampleErrs atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := d.cl.SampleVRAM(ctx); err != nil {
				sampleErrs.Add(1)
				t.Errorf("SampleVRAM beside a stalled client: %v", err)
				return
			}
			samples.Add(1)
		}
	})
	var watched []client.Event
	res, err := d.cl.WatchBenchmark(ctx, id, func(ev client.Event) { watched = append(watched, ev) })
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("watcher beside a stalled client: %v", err)
	}
	if len(res.Trials) != reps+1 || res.Summary == nil || res.Summary.Trials != reps {
		t.Fatalf("watcher got %d trials, summary %+v; want %d and a summary", len(res.Trials), res.Summary, reps+1)
	}
	if samples.Load() == 0 {
		t.Error("no SampleVRAM answered while the stalled client held its stream")
	}
	rssAfter := testrig.RSSKiB(t, pid)
	t.Logf("run of %d trials completed beside 2 stalled streams; %d SampleVRAM calls answered, %d failed; benchd RSS %d KiB -> %d KiB",
		reps+1, samples.Load(), sampleErrs.Load(), rssBefore, rssAfter)
	if rssAfter-rssBefore > 64<<10 {
		t.Errorf("benchd grew by %d KiB with a stalled client", rssAfter-rssBefore)
	}

	// The stalled client reads at last: every event, in order, then OK.
	var got []*benchdv1.BenchmarkEvent
	for {
		m, err := nonReader.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the stalled client, reading at last: %v after %d events", err, len(got))
		}
		if m.GetEvent().GetProgress() == nil {
			got = append(got, m.GetEvent())
		}
	}
	if len(got) != reps+3 || got[0].GetStarted() == nil || got[len(got)-1].GetFinished() == nil {
		t.Errorf("the stalled client got %d events (want started, %d trials, finished)", len(got), reps+1)
	}
	if len(got[0].GetStarted().GetSettings().GetPrompts()) != 16 {
		t.Errorf("started event lost its prompts")
	}
	if _, err := vramNonReader.Recv(); err != nil {
		t.Errorf("the stalled WatchVRAM stream, read at last: %v", err)
	}
	assertStored(t, d.cl, id, "SUCCEEDED", reps+1)
}
