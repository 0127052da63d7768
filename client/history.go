package client

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// Benchmark is a stored benchmark.
type Benchmark struct {
	Result
	ID    string
	Model string
	// State is RUNNING, SUCCEEDED, FAILED or CANCELLED.
	State string
	// For FAILED and CANCELLED: the gRPC code and message it ended with.
	ErrorCode    int
	ErrorMessage string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Raw is the stored message, with the settings and VRAM timeline.
	Raw *benchdv1.Benchmark
}

func benchmarkFromProto(b *benchdv1.Benchmark) Benchmark {
	out := Benchmark{
		ID: b.GetBenchmarkId(), Model: b.GetModel(),
		State:     stateName(b.GetState()),
		ErrorCode: int(b.GetErrorCode()), ErrorMessage: b.GetErrorMessage(),
		CreatedAt: b.GetCreatedAt().AsTime(), UpdatedAt: b.GetUpdatedAt().AsTime(),
		Raw: b,
	}
	if b.GetStarted() != nil {
		out.Started = *eventFromProto(&benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Started{Started: b.GetStarted()}}).Started
	}
	for _, t := range b.GetTrials() {
		out.Trials = append(out.Trials, TrialFromProto(t))
	}
	if b.GetFinished() != nil {
		out.Summary = summaryFromProto(b.GetFinished())
	}
	return out
}

func stateName(s benchdv1.BenchmarkState) string {
	const prefix = "BENCHMARK_STATE_"
	n := s.String()
	if len(n) > len(prefix) {
		return n[len(prefix):]
	}
	return n
}

// GetBenchmark reads one benchmark, running or stored, with every trial.
func (c *Client) GetBenchmark(ctx context.Context, id string) (*Benchmark, error) {
	res, err := c.raw.GetBenchmark(ctx, &benchdv1.GetBenchmarkRequest{BenchmarkId: id})
	if err != nil {
		return nil, err
	}
	b := benchmarkFromProto(res.GetBenchmark())
	return &b, nil
}

// ListOptions filter ListBenchmarks; zero values select everything.
type ListOptions struct {
	Model        string
	Since, Until time.Time
	PageSize     int
	PageToken    string
}

// ListBenchmarks returns one page of the history, newest first, without
// trials; next is the token of the following page ("" on the last).
func (c *Client) ListBenchmarks(ctx context.Context, o ListOptions) (bs []Benchmark, next string, err error) {
	req := &benchdv1.ListBenchmarksRequest{Model: o.Model, PageSize: uint32(max(o.PageSize, 0)), PageToken: o.PageToken}
	if !o.Since.IsZero() {
		req.Since = timestamppb.New(o.Since)
	}
	if !o.Until.IsZero() {
		req.Until = timestamppb.New(o.Until)
	}
	res, err := c.raw.ListBenchmarks(ctx, req)
	if err != nil {
		return nil, "", err
	}
	for _, b := range res.GetBenchmarks() {
		bs = append(bs, benchmarkFromProto(b))
	}
	return bs, res.GetNextPageToken(), nil
}

// CancelBenchmark stops a running benchmark and returns it as stored.
func (c *Client) CancelBenchmark(ctx context.Context, id string) (*Benchmark, error) {
	res, err := c.raw.CancelBenchmark(ctx, &benchdv1.CancelBenchmarkRequest{BenchmarkId: id})
	if err != nil {
		return nil, err
	}
	b := benchmarkFromProto(res.GetBenchmark())
	return &b, nil
}

// WatchBenchmark re-attaches to a benchmark: onEvent sees what already
// happened, then live events until it ends. The result is the benchmark as
// it ended; a failed or cancelled run returns its error status.
func (c *Client) WatchBenchmark(ctx context.Context, id string, onEvent func(Event)) (*Result, error) {
	stream, err := c.raw.WatchBenchmark(ctx, &benchdv1.WatchBenchmarkRequest{BenchmarkId: id})
	if err != nil {
		return nil, err
	}
	return collect(func() (*benchdv1.BenchmarkEvent, error) {
		m, err := stream.Recv()
		return m.GetEvent(), err
	}, onEvent)
}

// WatchVRAM calls fn with a sample every interval until ctx ends or fn
// returns an error (which WatchVRAM then returns).
func (c *Client) WatchVRAM(ctx context.Context, interval time.Duration, fn func([]GPU) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.raw.WatchVRAM(ctx, &benchdv1.WatchVRAMRequest{Interval: durationpb.New(interval)})
	if err != nil {
		return err
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			return err
		}
		if err := fn(gpusFromProto(m.GetGpus())); err != nil {
			return err
		}
	}
}

// collect reads a benchmark's events into a Result.
func collect(recv func() (*benchdv1.BenchmarkEvent, error), onEvent func(Event)) (*Result, error) {
	res := &Result{}
	for {
		msg, err := recv()
		if errors.Is(err, io.EOF) {
			if res.Summary == nil {
				return res, errors.New("benchd ended the stream without a finished event")
			}
			return res, nil
		}
		if err != nil {
			return res, err
		}
		ev := eventFromProto(msg)
		ev.Raw = msg
		switch {
		case ev.Started != nil:
			res.Started = *ev.Started
		case ev.Trial != nil:
			res.Trials = append(res.Trials, *ev.Trial)
		case ev.Finished != nil:
			res.Summary = ev.Finished
		}
		if onEvent != nil {
			onEvent(ev)
		}
	}
}
