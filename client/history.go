package client

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
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
}

func benchmarkFromProto(b *benchdv1.Benchmark) Benchmark {
	return Benchmark{
		Result:       resultFromProto(b),
		ID:           b.GetBenchmarkId(),
		Model:        b.GetModel(),
		State:        record.State(b.GetState()),
		ErrorCode:    int(b.GetErrorCode()),
		ErrorMessage: b.GetErrorMessage(),
		CreatedAt:    timeOf(b.GetCreatedAt()),
		UpdatedAt:    timeOf(b.GetUpdatedAt()),
	}
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
	// PageSize; 0 means [defaults.ListPageSize].
	PageSize  int
	PageToken string
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

// WatchVRAM calls fn with a sample every interval (0 means
// [defaults.WatchVRAMInterval]) until ctx ends or fn returns an error
// (which WatchVRAM then returns).
func (c *Client) WatchVRAM(ctx context.Context, interval time.Duration, fn func([]GPU) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := &benchdv1.WatchVRAMRequest{}
	if interval != 0 {
		req.Interval = durationpb.New(interval)
	}
	stream, err := c.raw.WatchVRAM(ctx, req)
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

// collect folds a benchmark's events into its record, with [record.Apply]
// as benchd does, and returns the record as a Result.
func collect(recv func() (*benchdv1.BenchmarkEvent, error), onEvent func(Event)) (*Result, error) {
	rec := record.FromEvents(nil)
	// Progress events carry no level: it is the last level started.
	level := 0
	for {
		msg, err := recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
				if rec.GetFinished() == nil {
					err = errors.New("benchd ended the stream without a finished event")
				}
			}
			res := resultFromProto(rec)
			return &res, err
		}
		record.Apply(rec, msg)
		if l := msg.GetLevelStarted(); l != nil {
			level = int(l.GetLevel().GetIndex())
		}
		if onEvent != nil {
			ev := eventFromProto(msg)
			if ev.Progress != nil {
				ev.Progress.Level = level
			}
			onEvent(ev)
		}
	}
}
