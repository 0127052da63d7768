package faults_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

// loadDuration is how long TestLoad runs: 60 s in CI, longer for a soak,
// e.g. BENCHD_LOAD_DURATION=30m go test ./internal/faults -run TestLoad -timeout 40m.
func loadDuration(t *testing.T) time.Duration {
	v := os.Getenv("BENCHD_LOAD_DURATION")
	if v == "" {
		return 60 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("BENCHD_LOAD_DURATION=%q: want a positive Go duration such as 30m", v)
	}
	return d
}

const (
	loadSamplers    = 32
	loadSampleEvery = 25 * time.Millisecond // per sampler; ≤1280 calls/s in all
	loadHammerEvery = 10 * time.Millisecond
)

// TestLoad holds benchd under load: 32 clients calling SampleVRAM, a
// benchmark running throughout, and a client hammering RunBenchmark (which
// must get RESOURCE_EXHAUSTED). No call may fail otherwise, and benchd's
// memory must stay flat.
func TestLoad(t *testing.T) {
	dur := loadDuration(t)
	c := startRig(t, shared)
	d := startDaemon(t, c.name)
	pid := d.ServingPID(t)
	assertServes(t, d.cl) // warm: model loaded, bridges pooled

	ctx, cancel := context.WithTimeout(context.Background(), dur+2*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	var (
		wg                                     sync.WaitGroup
		samples, sampleErrs                    atomic.Int64
		hammers, exhausted, hammerWon, hamErrs atomic.Int64
		trials, runs, benchErrs                atomic.Int64
		unexpectedMu                           sync.Mutex
		unexpected                             []error
	)
	fail := func(what string, err error) {
		unexpectedMu.Lock()
		defer unexpectedMu.Unlock()
		if len(unexpected) < 10 {
			unexpected = append(unexpected, err)
			t.Errorf("%s: %v", what, err)
		}
	}

	// The benchmark: long enough to outlast the test, started again if a
	// soak outlasts it.
	var runID atomic.Value
	mainDone := make(chan struct{})
	wg.Go(func() {
		defer close(mainDone)
		for !stopped() {
			req := client.BenchmarkRequest{Model: "tiny", Repetitions: 100, Warmup: ptr(0), MaxTokens: 2048}
			_, err := d.cl.RunBenchmark(ctx, req, func(ev client.Event) {
				if ev.Started != nil {
					runID.Store(ev.Started.BenchmarkID)
					runs.Add(1)
				}
				if ev.Trial != nil {
					trials.Add(1)
				}
			})
			switch {
			case err == nil:
			case status.Code(err) == codes.Canceled && stopped():
				return // cancelled at the end of the test
			case status.Code(err) == codes.ResourceExhausted:
				// The hammer won the slot between two runs; it cancels.
				time.Sleep(20 * time.Millisecond) // back off while its run ends
			default:
				benchErrs.Add(1)
				fail("the running benchmark", err)
				return
			}
		}
	})
	testrig.Poll(t, 30*time.Second, "the benchmark to start", func() bool { return runID.Load() != nil })

	for range loadSamplers {
		cl, err := client.New(d.Socket)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		wg.Go(func() {
			tick := time.NewTicker(loadSampleEvery)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
				gpus, err := cl.SampleVRAM(cctx)
				ccancel()
				if err != nil || len(gpus) != 1 {
					sampleErrs.Add(1)
					fail("SampleVRAM", err)
					continue
				}
				samples.Add(1)
			}
		})
	}

	hammer, err := client.New(d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer hammer.Close()
	wg.Go(func() {
		tick := time.NewTicker(loadHammerEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			hctx, hcancel := context.WithCancel(ctx)
			req := quickRun()
			req.CancelOnDisconnect = true
			won := false
			_, err := hammer.RunBenchmark(hctx, req, func(ev client.Event) {
				if ev.Started != nil {
					won = true // between two of the runner's runs (or after the last): leave at once
					hcancel()
				}
			})
			hcancel()
			hammers.Add(1)
			switch {
			case status.Code(err) == codes.ResourceExhausted:
				exhausted.Add(1)
			case won && (err == nil || status.Code(err) == codes.Canceled):
				// Its tiny run may even finish before the cancel lands.
				hammerWon.Add(1)
			default:
				hamErrs.Add(1)
				fail("RunBenchmark hammer", err)
			}
		}
	})

	// Memory: after a warm-up tenth of the run, then every few seconds.
	start := time.Now()
	warm := min(dur/10, 10*time.Second)
	time.Sleep(warm) // the load runs meanwhile; this is its measurement schedule
	rssWarm, fdWarm := testrig.RSSKiB(t, pid), testrig.FDCount(t, pid)
	rssPeak := rssWarm
	every := max(dur/12, time.Second)
	for time.Since(start) < dur {
		time.Sleep(min(every, dur-time.Since(start))) // measurement schedule, not synchronisation
		rssPeak = max(rssPeak, testrig.RSSKiB(t, pid))
	}
	rssEnd, fdEnd := testrig.RSSKiB(t, pid), testrig.FDCount(t, pid)
	elapsed := time.Since(start)
	close(stop)
	// Cancel the running benchmark; again if the loop had just started a
	// new one, until the loop has seen its run cancelled.
	testrig.Poll(t, 30*time.Second, "the benchmark loop to end", func() bool {
		select {
		case <-mainDone:
			return true
		default:
		}
		if id, ok := runID.Load().(string); ok {
			if _, err := d.cl.CancelBenchmark(ctx, id); err != nil && status.Code(err) != codes.FailedPrecondition {
				t.Errorf("CancelBenchmark at the end: %v", err)
			}
		}
		return false
	})
	wg.Wait()
	waitIdle(t, d.cl) // the hammer may have won the slot as the run ended

	secs := elapsed.Seconds()
	t.Logf("load for %v: SampleVRAM %d calls (%.0f/s) from %d clients, %d errors; RunBenchmark hammer %d calls (%.0f/s), %d RESOURCE_EXHAUSTED, %d won the slot between runs, %d unexpected; benchmark %d runs, %d trials (%.2f/s), %d errors",
		elapsed.Round(time.Second), samples.Load(), float64(samples.Load())/secs, loadSamplers, sampleErrs.Load(),
		hammers.Load(), float64(hammers.Load())/secs, exhausted.Load(), hammerWon.Load(), hamErrs.Load(),
		runs.Load(), trials.Load(), float64(trials.Load())/secs, benchErrs.Load())
	t.Logf("benchd memory: RSS %d KiB after warm-up, %d KiB peak, %d KiB at the end; fds %d after warm-up, %d at the end",
		rssWarm, rssPeak, rssEnd, fdWarm, fdEnd)
	if samples.Load() == 0 || exhausted.Load() == 0 || trials.Load() == 0 {
		t.Errorf("some part of the load did not run")
	}
	// Flat: what it held after warming up, plus GC slack.
	if grow := rssEnd - rssWarm; grow > 32<<10 {
		t.Errorf("benchd RSS grew by %d KiB under steady load", grow)
	}
	if fdEnd > fdWarm+loadSamplers {
		t.Errorf("benchd fds %d -> %d under steady load", fdWarm, fdEnd)
	}
	assertServes(t, d.cl)
}
