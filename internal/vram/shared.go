package vram

import (
	"context"
	"sync"
	"time"
)

// MinExecInterval is the shortest time between two runs of an SMI tool
// (rocm-smi, amd-smi, nvidia-smi): each is a Docker exec and a process
// start in the container, tens of milliseconds of work, and the counters
// they read move on that scale anyway. sysfs files cost microseconds and
// have no minimum.
const MinExecInterval = time.Second

// MinInterval is the shortest interval at which source may be read:
// MinExecInterval for the exec'd tools and for auto before it has chosen
// (its probe may exec them), none for sysfs and anything else.
func MinInterval(source string) time.Duration {
	switch source {
	case SourceRocmSMI, SourceAMDSMI, SourceNvidiaSMI, SourceAuto:
		return MinExecInterval
	}
	return 0
}

// Limit returns a Reader that starts r's reads at least every apart,
// however many callers read it (SampleVRAM, WatchVRAM, benchmarks), so an
// exec'd tool runs at most once per every. A caller never gets a stale
// reading: it gets the result of a read that started after it called —
// one already in flight or made for it, waiting out the rest of every
// when the last read started less than every ago. Callers waiting together
// share one read. A read that failed because its caller's context ended
// is not shared. Safe for concurrent use.
func Limit(r Reader, every time.Duration) Reader {
	return &limited{r: r, every: every, sem: make(chan struct{}, 1)}
}

type limited struct {
	r     Reader
	every time.Duration
	// sem is a one-slot semaphore rather than a mutex so that a Read
	// waiting behind another still honours its own context.
	sem chan struct{}

	at   time.Time // start of the last read; zero: none
	gpus []GPU
	err  error
}

func (l *limited) Source() string { return l.r.Source() }

func (l *limited) Read(ctx context.Context) ([]GPU, error) {
	called := time.Now()
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.sem }()
	if !l.at.IsZero() && !l.at.Before(called) {
		// A read that started after this call ended while it waited.
		return append([]GPU(nil), l.gpus...), l.err
	}
	if wait := time.Until(l.at.Add(l.every)); !l.at.IsZero() && wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	start := time.Now()
	gpus, err := l.r.Read(ctx)
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	l.at, l.gpus, l.err = start, gpus, err
	return append([]GPU(nil), gpus...), err
}

// Reading is one read of a Hub's source, shared by its watchers: GPUs, or
// the error the read failed with.
type Reading struct {
	GPUs []GPU
	Err  error
	At   time.Time
}

// Hub is one sampler shared by every watcher of a Reader: N watchers cost
// one read per interval, not N. Its goroutine runs while it has watchers,
// reading at the shortest interval any of them asked for (no shorter than
// MinInterval of the source); each watcher gets the reading nearest each of
// its own intervals. A watcher that does not keep up is sent only the
// latest reading, so a stalled client costs nothing. Safe for concurrent
// use.
type Hub struct {
	r Reader

	mu      sync.Mutex
	watch   map[*Watcher]struct{}
	period  time.Duration
	last    *Reading
	stop    context.CancelFunc // of the running sampler; nil when none
	wake    chan struct{}      // the period changed or a watcher is due now
	stopped chan struct{}      // closed when the running sampler has ended
}

// NewHub returns a Hub over r.
func NewHub(r Reader) *Hub {
	return &Hub{r: r, watch: map[*Watcher]struct{}{}}
}

// Watcher receives a Hub's readings at its interval until Closed.
type Watcher struct {
	// C delivers readings; it is never closed.
	C     <-chan Reading
	c     chan Reading
	every time.Duration
	next  time.Time // due time of the next reading; zero: now
	h     *Hub
}

// Interval is the watcher's interval: the one asked for, raised to the
// source's MinInterval.
func (w *Watcher) Interval() time.Duration { return w.every }

// offer sends rd, replacing a reading the watcher has not taken yet.
func (w *Watcher) offer(rd Reading) {
	for {
		select {
		case w.c <- rd:
			return
		default:
		}
		select {
		case <-w.c:
		default:
		}
	}
}

// Watch adds a watcher that wants a reading every interval (raised to the
// source's MinInterval). Its first reading comes at once: the last one if
// it is younger than interval, else a read made for it.
func (h *Hub) Watch(interval time.Duration) *Watcher {
	c := make(chan Reading, 1)
	w := &Watcher{C: c, c: c, every: max(interval, MinInterval(h.r.Source())), h: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if h.last != nil && now.Sub(h.last.At) < w.every {
		w.offer(*h.last)
		w.next = now.Add(w.every)
	}
	h.watch[w] = struct{}{}
	h.period = h.shortest()
	if h.stop == nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.stop, h.stopped, h.wake = cancel, make(chan struct{}), make(chan struct{}, 1)
		go h.run(ctx, h.stopped, h.wake)
		return w
	}
	select {
	case h.wake <- struct{}{}:
	default:
	}
	return w
}

// Close removes the watcher; the last one stops the sampler and waits for
// it to end.
func (w *Watcher) Close() {
	h := w.h
	h.mu.Lock()
	if _, ok := h.watch[w]; !ok {
		h.mu.Unlock()
		return
	}
	delete(h.watch, w)
	if len(h.watch) > 0 {
		h.period = h.shortest()
		select {
		case h.wake <- struct{}{}:
		default:
		}
		h.mu.Unlock()
		return
	}
	h.stop()
	stopped := h.stopped
	h.stop, h.last = nil, nil
	h.mu.Unlock()
	<-stopped
}

// shortest is the sampler's period: the shortest watcher interval. Called
// with mu held.
func (h *Hub) shortest() time.Duration {
	var p time.Duration
	for w := range h.watch {
		if p == 0 || w.every < p {
			p = w.every
		}
	}
	return p
}

func (h *Hub) run(ctx context.Context, stopped chan<- struct{}, wake <-chan struct{}) {
	defer close(stopped)
	h.mu.Lock()
	period := h.period
	h.mu.Unlock()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		start := time.Now()
		gpus, err := h.r.Read(ctx)
		h.mu.Lock()
		if ctx.Err() != nil {
			h.mu.Unlock()
			return
		}
		rd := Reading{GPUs: gpus, Err: err, At: time.Now()}
		h.last = &rd
		// A watcher due within half a period of this read gets it: the
		// next read would be further from its time.
		due := start.Add(h.period / 2)
		for w := range h.watch {
			if w.next.After(due) {
				continue
			}
			w.offer(Reading{GPUs: append([]GPU(nil), gpus...), Err: err, At: rd.At})
			// Stay on the watcher's own grid, so that a late read does
			// not push every later one back; one that fell a whole
			// interval behind starts again from now.
			if w.next = w.next.Add(w.every); w.next.Before(start) {
				w.next = start.Add(w.every)
			}
		}
		h.mu.Unlock()
		if !h.wait(ctx, t, &period, wake) {
			return
		}
	}
}

// wait blocks until the next read is due: the next tick, or at once when a
// new watcher is due now (it asked for an interval longer than the last
// reading's age, so this read keeps the minimum spacing). It follows
// changes of the period. It reports false when ctx ended.
func (h *Hub) wait(ctx context.Context, t *time.Ticker, period *time.Duration, wake <-chan struct{}) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-wake:
			h.mu.Lock()
			p := h.period
			dueNow := false
			for w := range h.watch {
				dueNow = dueNow || w.next.IsZero()
			}
			h.mu.Unlock()
			if p != *period {
				*period = p
				t.Reset(p)
			}
			if dueNow {
				return true
			}
		}
	}
}
