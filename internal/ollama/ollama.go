// Package ollama runs single generations against an ollama server through
// ollama's official Go client and turns each into a Trial: ollama's own
// counts and durations, untouched, plus time-to-first-token and wall time
// measured here. How bytes reach the server (a Docker exec bridge or plain
// HTTP) is the caller's Dialer.
package ollama

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ollama/ollama/api"
)

var (
	// ErrModelNotFound: the model is not present in ollama (benchd never pulls).
	ErrModelNotFound = errors.New("model not found in ollama")
	// ErrIncomplete: the connection ended before ollama's final response,
	// as when ollama or its container stops mid-generation.
	ErrIncomplete = errors.New("ollama closed the connection before the final response")
	// ErrModelInUse: the model cannot be unloaded because another client
	// of ollama keeps loading it.
	ErrModelInUse = errors.New("model in use by another ollama client")
	// ErrModelLoad: ollama could not load the model (a corrupt or
	// unsupported file, or not enough memory for it).
	ErrModelLoad = errors.New("ollama could not load the model")
	// ErrRunnerFailed: ollama's model runner failed mid-generation (it
	// crashed or was killed); ollama itself is still up.
	ErrRunnerFailed = errors.New("ollama's model runner failed")
	// ErrUnreachable: nothing answers at ollama's address (ollama is not
	// running, or listens elsewhere): the connection was refused.
	ErrUnreachable = errors.New("ollama is not reachable")
)

// Dialer opens one connection to the ollama server.
type Dialer func(ctx context.Context) (net.Conn, error)

// Client is an ollama API client over a Dialer.
type Client struct {
	api       *api.Client
	transport *http.Transport
	base      *url.URL
	waitRead  func(context.Context, time.Duration) // a paced read's wait: sleepCtx; tests record it

	ctxMu   sync.Mutex
	ctxLens map[string]int // digest → context length, for ListModels
}

// New returns a client that reaches base (used for the Host header and
// paths) through dial. Connections are kept alive and reused across trials,
// so a docker-exec bridge is set up once per benchmark, not once per request.
// Up to MaxIdleConns are kept: a concurrency run keeps that many requests
// in flight (runner.MaxInFlight), and a connection beyond the pool would be
// closed after each request and its bridge set up again for the next.
func New(base *url.URL, dial Dialer) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dial(ctx)
		},
		MaxIdleConns:        MaxIdleConns,
		MaxIdleConnsPerHost: MaxIdleConns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// A paced read (GenerateOptions.ReadPace) takes every chunk that
		// arrived meanwhile; the default 4 KiB would hold a few dozen.
		ReadBufferSize: 64 << 10,
	}
	return &Client{api: api.NewClient(base, &http.Client{Transport: bodyTracker{tr}}), transport: tr, base: base, waitRead: sleepCtx}
}

// MaxIdleConns is how many connections (bridges) to ollama the client keeps
// open between requests.
const MaxIdleConns = 64

// Connect makes sure n connections to ollama are open and idle (at most
// MaxIdleConns), so that n requests sent together do not wait for a bridge
// each: it holds n requests for ollama's version in flight at once, each
// keeping its connection until all n have an answer.
func (c *Client) Connect(ctx context.Context, n int) error {
	n = min(n, MaxIdleConns)
	u := c.base.JoinPath("/api/version").String()
	bodies := make([]io.ReadCloser, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				errs[i] = err
				return
			}
			res, err := c.transport.RoundTrip(req)
			if err != nil {
				errs[i] = classify(err)
				return
			}
			bodies[i] = res.Body
		})
	}
	wg.Wait()
	for _, b := range bodies {
		if b != nil {
			_, _ = io.Copy(io.Discard, b)
			b.Close()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("open %d connections to ollama: %w", n, err)
	}
	return nil
}

// Close drops idle connections (ending their bridges).
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// Version is the ollama server's version.
func (c *Client) Version(ctx context.Context) (string, error) {
	v, err := c.api.Version(ctx)
	if err != nil {
		return "", fmt.Errorf("get ollama version: %w", classify(err))
	}
	return v, nil
}

// ModelInfo describes a model as ollama lists it.
type ModelInfo struct {
	Name              string
	Digest            string
	Family            string
	Format            string
	ParameterSize     string
	QuantizationLevel string
}

// Model looks the model up among those ollama has, ErrModelNotFound if absent.
func (c *Client) Model(ctx context.Context, name string) (ModelInfo, error) {
	list, err := c.api.List(ctx)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("list ollama models: %w", classify(err))
	}
	want := normalize(name)
	for _, m := range list.Models {
		if normalize(m.Name) == want || normalize(m.Model) == want {
			return infoOf(m.Name, m.Digest, m.Details), nil
		}
	}
	return ModelInfo{}, fmt.Errorf("model %q: %w", name, ErrModelNotFound)
}

// ContextLength is the context length the model was trained for, from
// /api/show's model_info ("<architecture>.context_length"); 0 when ollama
// does not say. ollama runs a request without num_ctx at its own default
// (OLLAMA_CONTEXT_LENGTH or a Modelfile's num_ctx), which may be smaller.
func (c *Client) ContextLength(ctx context.Context, model string) (int, error) {
	resp, err := c.api.Show(ctx, &api.ShowRequest{Model: model})
	if err != nil {
		return 0, fmt.Errorf("show ollama model %q: %w", model, classify(err))
	}
	arch, _ := resp.ModelInfo["general.architecture"].(string)
	n, _ := resp.ModelInfo[arch+".context_length"].(float64)
	if arch == "" || n < 1 || n > 1<<30 {
		return 0, nil
	}
	return int(n), nil
}

// normalize applies ollama's default tag so "tiny" and "tiny:latest" match.
func normalize(name string) string {
	slash := strings.LastIndexByte(name, '/')
	if !strings.Contains(name[slash+1:], ":") {
		name += ":latest"
	}
	return strings.ToLower(name)
}

// GenerateOptions are the sampling settings of one trial.
type GenerateOptions struct {
	Model       string
	Prompt      string
	MaxTokens   int
	NumCtx      int // 0: the model's default
	Temperature float64
	Seed        int64
	// Load settings (ollama reloads the model when one changes): layers
	// offloaded to the GPU (nil: ollama decides; 0: CPU only), prompt
	// batch size and CPU threads (0: ollama's default).
	NumGPU    *int
	NumBatch  int
	NumThread int
	// ReadPace, when set, is the shortest time between two reads of the
	// streamed response after its first: one read then takes every chunk
	// that arrived meanwhile. ollama writes each token as a chunk of its
	// own, and read one by one every token costs a wake-up and a system
	// call, most of this process's CPU per token (docs/performance.md).
	// Figures on ollama's clock (TTFT, the chunks' stamps, ollama's
	// durations) do not change; the arrival times of chunks after the
	// first and noticing a cancel can be late by up to ReadPace, and so
	// can the end of the stream and Wall, unless MaxTokens foretells the
	// end: reads are unpaced once the last chunk is due within a pace.
	// 0 reads each chunk as it comes.
	ReadPace time.Duration
}

// Trial is one generation's measurements. Durations and counts come from
// ollama's final response as is; Wall and ReceivedTTFT are measured by the
// client from sending the request; TTFT is on ollama's clock (see
// serverTTFT) when ollama's timestamps allow, else ReceivedTTFT.
type Trial struct {
	PromptEvalCount    int
	PromptEvalDuration time.Duration
	EvalCount          int
	EvalDuration       time.Duration
	LoadDuration       time.Duration
	TotalDuration      time.Duration
	// TTFT is the time from ollama starting on the request to ollama
	// sending the first streamed chunk, on ollama's own clock: the same
	// start as TotalDuration, and no transport in it.
	TTFT time.Duration
	// ReceivedTTFT is the time from sending the request to the first
	// chunk reaching this client: TTFT plus the way there and back, which
	// through Docker's exec stdio can hold chunks for tens of milliseconds
	// (docs/performance.md, "TTFT on the way").
	ReceivedTTFT time.Duration
	// OllamaClock says TTFT came from ollama's timestamps; false: they
	// were missing or inconsistent and TTFT is ReceivedTTFT.
	OllamaClock bool
	Wall        time.Duration
	DoneReason  string
	// Chunks are the streamed chunks that carried output, in order: when
	// ollama made each and when it reached this client. Final is the
	// final chunk's (the one with the counts). The runner turns them into
	// token timing and drops them.
	Chunks []Chunk
	Final  Chunk
}

// Chunk is when one streamed chunk was made and when it arrived.
type Chunk struct {
	// Stamp is the chunk's created_at, on ollama's clock (zero when the
	// server did not say).
	Stamp time.Time
	// Arrived is the time from sending the request to the chunk reaching
	// this client.
	Arrived time.Duration
}

// serverTTFT is the time to the first chunk on ollama's clock. ollama
// stamps every chunk with created_at (time.Now when the chunk is made) and
// computes the final chunk's total_duration from the moment its handler
// began, microseconds after stamping that chunk's created_at (v0.9.6
// server/routes.go GenerateHandler). So the handler began at
// final.created_at - total_duration, and the first chunk was made
// first.created_at - start after it. Both ends are ollama's, so the
// transport (a Docker exec bridge, or HTTP) and this process's scheduling
// stay out of it. ok is false when a stamp is missing or the result is not
// within [0, total_duration] (the wall clock stepped, or the server is not
// ollama).
func serverTTFT(first, final time.Time, total time.Duration) (time.Duration, bool) {
	if first.IsZero() || final.IsZero() || total <= 0 {
		return 0, false
	}
	d := first.Sub(final.Add(-total))
	if d < 0 || d > total {
		return 0, false
	}
	return d, true
}

// PromptEvalRate is prompt tokens per second from ollama's ns values.
func (t Trial) PromptEvalRate() float64 { return rate(t.PromptEvalCount, t.PromptEvalDuration) }

// EvalRate is generated tokens per second from ollama's ns values.
func (t Trial) EvalRate() float64 { return rate(t.EvalCount, t.EvalDuration) }

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// maxChunkPrealloc bounds the chunk record Generate allocates up front
// (32 bytes a chunk); a longer generation grows it.
const maxChunkPrealloc = 4096

// Generate streams one completion. onToken, if set, is called with the number
// of streamed chunks so far. Cancelling ctx closes the connection, which is
// how ollama learns to stop generating.
func (c *Client) Generate(ctx context.Context, o GenerateOptions, onToken func(n int)) (Trial, error) {
	stream := true
	opts := map[string]any{
		"num_predict": o.MaxTokens,
		"temperature": o.Temperature,
		"seed":        o.Seed,
	}
	if o.NumCtx > 0 {
		opts["num_ctx"] = o.NumCtx
	}
	if o.NumGPU != nil {
		opts["num_gpu"] = *o.NumGPU
	}
	if o.NumBatch > 0 {
		opts["num_batch"] = o.NumBatch
	}
	if o.NumThread > 0 {
		opts["num_thread"] = o.NumThread
	}
	req := &api.GenerateRequest{Model: o.Model, Prompt: o.Prompt, Stream: &stream, Options: opts}

	var (
		t          Trial
		chunks     int
		final      *api.GenerateResponse
		firstStamp time.Time
	)
	if o.MaxTokens > 0 {
		t.Chunks = make([]Chunk, 0, min(o.MaxTokens, maxChunkPrealloc))
	}
	start := time.Now()
	body := &bodyState{wait: c.waitRead}
	body.pace.Store(int64(o.ReadPace))
	err := c.api.Generate(context.WithValue(ctx, bodyStateKey{}, body), req, func(r api.GenerateResponse) error {
		arrived := time.Since(start)
		if chunks == 0 {
			t.ReceivedTTFT = arrived
			firstStamp = r.CreatedAt
		}
		chunks++
		if r.Done {
			final = &r
			t.Final = Chunk{Stamp: r.CreatedAt, Arrived: arrived}
			return nil
		}
		t.Chunks = append(t.Chunks, Chunk{Stamp: r.CreatedAt, Arrived: arrived})
		if body.pace.Load() > 0 && endWithin(chunks, o.MaxTokens, firstStamp, r.CreatedAt, o.ReadPace) {
			// The final chunk is due within a pace: read it as it comes,
			// so that Wall (and a trial's turn-around) is not late.
			body.pace.Store(0)
		}
		if onToken != nil {
			onToken(chunks)
		}
		return nil
	})
	t.Wall = time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return Trial{}, fmt.Errorf("generate with %q: %w", o.Model, context.Cause(ctx))
		}
		if final == nil && body.err() != nil {
			// ollama's client ignores the stream's read error, so a
			// connection that broke off mid-line (ollama or its container
			// killed while a chunk was in flight) shows up only as the
			// partial last line failing to decode. It is the same fault as
			// a stream that ends between lines: ErrIncomplete, not a
			// malformed answer (INTERNAL). (Found by FuzzOllamaResponses'
			// seeds; TestEveryCutOfTheStreamIsIncomplete.)
			return Trial{}, fmt.Errorf("generate with %q: %v (the response broke off: %v): %w", o.Model, err, body.err(), ErrIncomplete)
		}
		return Trial{}, fmt.Errorf("generate with %q: %w", o.Model, classify(err))
	}
	if final == nil && ctx.Err() != nil {
		// A cancelled read ends ollama's scanner loop without an error.
		return Trial{}, fmt.Errorf("generate with %q: %w", o.Model, context.Cause(ctx))
	}
	if final == nil {
		// ollama's client ends quietly when the stream breaks off, so a
		// missing final response is the only sign of a lost connection.
		return Trial{}, fmt.Errorf("generate with %q: %w", o.Model, ErrIncomplete)
	}
	m := final.Metrics
	t.PromptEvalCount, t.PromptEvalDuration = m.PromptEvalCount, m.PromptEvalDuration
	t.EvalCount, t.EvalDuration = m.EvalCount, m.EvalDuration
	t.LoadDuration, t.TotalDuration = m.LoadDuration, m.TotalDuration
	t.DoneReason = final.DoneReason
	t.TTFT, t.OllamaClock = serverTTFT(firstStamp, final.CreatedAt, m.TotalDuration)
	if !t.OllamaClock {
		t.TTFT = t.ReceivedTTFT
	}
	return t, nil
}

// endWithin tells whether a stream that has sent chunks of at most
// maxTokens (0: unknown), stamped first and last, will likely end within
// pace: the tokens left at the mean gap so far. A stream that stops early
// (end of text) is not foreseen; its last read can still be late by pace.
func endWithin(chunks, maxTokens int, first, last time.Time, pace time.Duration) bool {
	if maxTokens <= 0 || chunks < 2 || !last.After(first) {
		return false
	}
	gap := last.Sub(first) / time.Duration(chunks-1)
	return time.Duration(max(0, maxTokens-chunks))*gap <= pace
}

// bodyTracker wraps the transport so that Generate can tell a response
// body that broke off (a read error other than the clean end) from one
// that ended: ollama's streaming client hides that difference.
type bodyTracker struct{ http.RoundTripper }

type bodyStateKey struct{}

// sleepCtx waits d or until ctx ends (then the read after it fails at once:
// the transport closes a cancelled request's connection).
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// bodyState records the first read error of a tracked response body, and
// paces its reads.
type bodyState struct {
	pace atomic.Int64 // a time.Duration; 0 once the end is near
	wait func(context.Context, time.Duration)

	mu      sync.Mutex
	readErr error
}

func (b *bodyState) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.readErr
}

func (t bodyTracker) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.RoundTripper.RoundTrip(req)
	if st, ok := req.Context().Value(bodyStateKey{}).(*bodyState); ok && err == nil {
		resp.Body = &trackedBody{ReadCloser: resp.Body, st: st, ctx: req.Context()}
	}
	return resp, err
}

type trackedBody struct {
	io.ReadCloser
	st   *bodyState
	ctx  context.Context
	last time.Time // end of the last read; Read has one caller at a time
}

func (b *trackedBody) Read(p []byte) (int, error) {
	if pace := time.Duration(b.st.pace.Load()); !b.last.IsZero() && pace > 0 {
		if wait := pace - time.Since(b.last); wait > 0 {
			b.st.wait(b.ctx, wait)
		}
	}
	n, err := b.ReadCloser.Read(p)
	b.last = time.Now()
	if err != nil && !errors.Is(err, io.EOF) {
		b.st.mu.Lock()
		if b.st.readErr == nil {
			b.st.readErr = err
		}
		b.st.mu.Unlock()
	}
	return n, err
}

// classify recognises ollama's "not found" answers, which its streaming
// client reports as plain errors without the HTTP status.
func classify(err error) error {
	// A kept-alive bridge whose far end died between requests (the
	// container stopped, ollama restarted) fails the next request with a
	// bare EOF or reset from net/http: the same fault as a stream that
	// breaks off, so the same error. Without this a container stopped
	// between two trials reached the client as INTERNAL. (Found by
	// internal/faults TestContainerStoppedMidRun.)
	// So is a response net/http cannot parse ("transport connection
	// broken: malformed HTTP status code"): a bridge started while its
	// container stops can carry other bytes than ollama's.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "transport connection broken") {
		return fmt.Errorf("%v: %w", err, ErrIncomplete)
	}
	// Nothing listens: over HTTP the dial is refused; through the Docker
	// exec bridge, the bridge's shell says so ("connect: Connection
	// refused" on its stderr, which the bridge's error carries). Without
	// this, ollama stopped inside a running container reached the client as
	// INTERNAL.
	if errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(strings.ToLower(err.Error()), "connection refused") {
		return fmt.Errorf("%v: %w", err, ErrUnreachable)
	}
	var se api.StatusError
	if errors.As(err, &se) && se.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%v: %w", err, ErrModelNotFound)
	}
	// ollama's streaming client returns the body's "error" text before it
	// looks at the status, so a 404 arrives as a plain error: "model 'X'
	// not found" from ollama 0.9.x (e.g. the model removed between the
	// /api/tags check and the generate), "... not found, try pulling it
	// first" from older servers.
	if msg := err.Error(); strings.Contains(msg, "not found, try pulling it first") ||
		(strings.HasPrefix(msg, "model '") && strings.HasSuffix(msg, "' not found")) {
		return fmt.Errorf("%v: %w", err, ErrModelNotFound)
	}
	// ollama reports failures of its model runner only as text in the
	// stream's "error" field (v0.9.6: llama/llama.go, llm/server.go,
	// runner/llamarunner). Without these a model that fails to load, or a
	// runner killed mid-trial, reached the client as INTERNAL ("see
	// benchd's log") although benchd is fine. (Found by internal/faults.)
	msg := err.Error()
	if slices.ContainsFunc([]string{"unable to load model", "error loading model",
		"llama runner process has terminated", "failed to load model"}, func(s string) bool { return strings.Contains(msg, s) }) {
		return fmt.Errorf("%v: %w", err, ErrModelLoad)
	} else if strings.Contains(msg, "an error was encountered while running the model") {
		return fmt.Errorf("%v: %w", err, ErrRunnerFailed)
	}
	return err
}

// Loaded reports whether ollama has the model in memory (/api/ps).
func (c *Client) Loaded(ctx context.Context, model string) (bool, error) {
	ps, err := c.api.ListRunning(ctx)
	if err != nil {
		return false, fmt.Errorf("list loaded models: %w", classify(err))
	}
	want := normalize(model)
	for _, m := range ps.Models {
		if normalize(m.Name) == want || normalize(m.Model) == want {
			return true, nil
		}
	}
	return false, nil
}

// unloadTimeout bounds how long a cold trial waits for the model to leave
// memory.
const unloadTimeout = 30 * time.Second

// unloadPoll is how often /api/ps is asked whether an unload has finished.
const unloadPoll = 50 * time.Millisecond

// Unload asks ollama to drop the model (a request with keep_alive 0) and
// waits until /api/ps no longer lists it, so a cold trial really loads.
func (c *Client) Unload(ctx context.Context, model string) error {
	zero := api.Duration{Duration: 0}
	unload := func() error {
		if err := c.api.Generate(ctx, &api.GenerateRequest{Model: model, KeepAlive: &zero}, func(api.GenerateResponse) error { return nil }); err != nil {
			return fmt.Errorf("unload %q: %w", model, classify(err))
		}
		return nil
	}
	if err := unload(); err != nil {
		return err
	}
	// Another client of the same ollama may load the model again at any
	// moment; ask again now and then, and give up with a clear error
	// rather than wait for the benchmark's whole timeout.
	deadline := time.Now().Add(unloadTimeout)
	asked := time.Now()
	t := time.NewTicker(unloadPoll)
	defer t.Stop()
	for {
		loaded, err := c.Loaded(ctx, model)
		if err != nil {
			return err
		}
		if !loaded {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("unload %q: still loaded %s after keep_alive 0; another client keeps using it, and cold trials need the model to themselves: %w",
				model, unloadTimeout, ErrModelInUse)
		}
		if time.Since(asked) >= time.Second {
			if err := unload(); err != nil {
				return err
			}
			asked = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("unload %q: %w", model, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// Installed is one model ollama has, as /api/tags lists it.
type Installed struct {
	ModelInfo
	Size       int64
	ModifiedAt time.Time
	// ContextLength is what ContextLength says: 0 when ollama does not.
	ContextLength int
}

// Loaded is one model in memory, as /api/ps lists it.
type Loaded struct {
	ModelInfo
	// Size is the memory the model takes; SizeVRAM the part of it in GPU
	// memory (less than Size: the model spilled to the CPU).
	Size, SizeVRAM int64
	ExpiresAt      time.Time
	// ContextLength is the context the model was loaded with; 0 when
	// ollama does not say (v0.9.6 does not, v0.17.4 does).
	ContextLength int
}

// Inventory is what ollama has and what it holds in memory: `ollama list`
// and `ollama ps`.
type Inventory struct {
	Models []Installed
	Loaded []Loaded
}

// ListModels asks ollama for its models (/api/tags), the context length of
// each (/api/show, once per digest: the answer is cached, since a digest's
// model never changes) and what is loaded (/api/ps). It changes nothing in
// ollama.
func (c *Client) ListModels(ctx context.Context) (Inventory, error) {
	list, err := c.api.List(ctx)
	if err != nil {
		return Inventory{}, fmt.Errorf("list ollama models: %w", classify(err))
	}
	inv := Inventory{Models: make([]Installed, 0, len(list.Models))}
	for _, m := range list.Models {
		n, err := c.cachedContextLength(ctx, m.Name, m.Digest)
		if errors.Is(err, ErrModelNotFound) {
			continue // removed since /api/tags answered
		}
		if err != nil {
			return Inventory{}, err
		}
		inv.Models = append(inv.Models, Installed{
			ModelInfo: infoOf(m.Name, m.Digest, m.Details), Size: m.Size, ModifiedAt: m.ModifiedAt, ContextLength: n,
		})
	}
	ps, err := c.listRunning(ctx)
	if err != nil {
		return Inventory{}, fmt.Errorf("list loaded models: %w", classify(err))
	}
	inv.Loaded = make([]Loaded, 0, len(ps.Models))
	for _, m := range ps.Models {
		inv.Loaded = append(inv.Loaded, Loaded{
			ModelInfo: infoOf(m.Name, m.Digest, m.Details), Size: m.Size, SizeVRAM: m.SizeVRAM, ExpiresAt: m.ExpiresAt,
			ContextLength: m.ContextLength,
		})
	}
	return inv, nil
}

// runningModels is /api/ps's answer with the fields newer servers add to
// what the pinned api package (v0.9.6) decodes.
type runningModels struct {
	Models []struct {
		api.ProcessModelResponse
		ContextLength int `json:"context_length"`
	} `json:"models"`
}

// listRunning is the api client's ListRunning, decoded into runningModels.
func (c *Client) listRunning(ctx context.Context) (runningModels, error) {
	var ps runningModels
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.JoinPath("/api/ps").String(), nil)
	if err != nil {
		return ps, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.transport.RoundTrip(req)
	if err != nil {
		return ps, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxPSBody))
	if err != nil {
		return ps, err
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return ps, api.StatusError{StatusCode: res.StatusCode, Status: res.Status, ErrorMessage: cmp.Or(e.Error, strings.TrimSpace(string(body)))}
	}
	if err := json.Unmarshal(body, &ps); err != nil {
		return ps, fmt.Errorf("decode /api/ps: %w", err)
	}
	return ps, nil
}

// maxPSBody bounds /api/ps's answer: a few hundred bytes a loaded model.
const maxPSBody = 4 << 20

func infoOf(name, digest string, d api.ModelDetails) ModelInfo {
	return ModelInfo{Name: name, Digest: digest, Family: d.Family, Format: d.Format,
		ParameterSize: d.ParameterSize, QuantizationLevel: d.QuantizationLevel}
}

// maxCachedContexts bounds the digest → context length cache; when full it
// starts over (a host has far fewer models).
const maxCachedContexts = 1024

// cachedContextLength is ContextLength, asked once per digest.
func (c *Client) cachedContextLength(ctx context.Context, name, digest string) (int, error) {
	c.ctxMu.Lock()
	n, ok := c.ctxLens[digest]
	c.ctxMu.Unlock()
	if ok && digest != "" {
		return n, nil
	}
	n, err := c.ContextLength(ctx, name)
	if err != nil {
		return 0, err
	}
	c.ctxMu.Lock()
	if c.ctxLens == nil || len(c.ctxLens) >= maxCachedContexts {
		c.ctxLens = map[string]int{}
	}
	c.ctxLens[digest] = n
	c.ctxMu.Unlock()
	return n, nil
}
