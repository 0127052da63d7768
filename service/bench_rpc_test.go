package service_test

// Benchmarks of one unary RPC round trip over a real unix socket, through
// the daemon's whole gRPC stack: peer-credential transport, the interceptor
// chain of NewGRPCServer (recovery, audit log line, uid policy,
// protovalidate), the handler and the sysfs reader on the fixture tree, and
// the Go client. The audit log goes to /dev/null through the daemon's own
// slog text handler, so formatting and the write(2) are both paid, as they
// are when benchd logs to journald's pipe. bench/ measures the same RPC
// against the real daemon; these are for pprof and benchstat:
//
//	go test -run '^$' -bench RPC -count 6 -cpuprofile cpu.out ./service/

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/benchd/benchd/internal/benchcpu"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/testrig"
)

// rpcServer starts benchd in this process, wired as cmd/benchd wires it
// for --vram-source sysfs, and returns its socket.
func rpcServer(b *testing.B) string {
	b.Helper()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { devnull.Close() })
	return startDaemon(b, daemon.Config{
		Ollama:     "http://127.0.0.1:1", // never dialled: these benchmarks run no model
		VRAMSource: "sysfs",
		SysfsRoot:  testrig.SysfsFixture(),
		Log:        slog.New(slog.NewTextHandler(devnull, nil)),
	})
}

func rpcClient(b *testing.B, sock string) *client.Client {
	b.Helper()
	c, err := client.New(sock)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	// Connect (and warm the connection) outside the timed loop.
	if _, err := c.SampleVRAM(context.Background()); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkRPCSampleVRAM is one SampleVRAM call at a time on one
// connection: the latency of the unary round trip.
func BenchmarkRPCSampleVRAM(b *testing.B) {
	c := rpcClient(b, rpcServer(b))
	ctx := context.Background()
	b.ReportAllocs()
	done := benchcpu.PerOp(b)
	for b.Loop() {
		if _, err := c.SampleVRAM(ctx); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// BenchmarkRPCHealth is the same round trip with a handler that does
// nothing (grpc.health.v1 Check): transport plus interceptors.
func BenchmarkRPCHealth(b *testing.B) {
	c := rpcClient(b, rpcServer(b))
	ctx := context.Background()
	b.ReportAllocs()
	done := benchcpu.PerOp(b)
	for b.Loop() {
		if _, err := c.Health(ctx); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// BenchmarkRPCSampleVRAMParallel is 32 callers per GOMAXPROCS on 8
// connections: throughput (ns/op is wall time per call across all callers,
// so calls/s = 1e9 / ns/op).
func BenchmarkRPCSampleVRAMParallel(b *testing.B) {
	sock := rpcServer(b)
	clients := make([]*client.Client, 8)
	for i := range clients {
		clients[i] = rpcClient(b, sock)
	}
	ctx := context.Background()
	next := make(chan int, 1<<10)
	for i := range cap(next) {
		next <- i % len(clients)
	}
	b.ReportAllocs()
	b.SetParallelism(32)
	done := benchcpu.PerOp(b)
	b.RunParallel(func(pb *testing.PB) {
		c := clients[<-next]
		for pb.Next() {
			if _, err := c.SampleVRAM(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	done()
}
