package main

import (
	"context"
	"errors"
	"io"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/buildinfo"
	"github.com/benchd/benchd/internal/mcpserver"
)

func (a *app) mcpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "mcp",
		Short: "Serve benchd's API as MCP tools on stdin/stdout, for agents (Hermes, Claude Code)",
		Long: `Serve benchd as a Model Context Protocol server on stdin and stdout
(newline-delimited JSON-RPC), reaching benchd by --host like every other
command: an agent starts "benchctl mcp --host ssh://gpu" and gets typed
tools: list_models, sample_vram, run_benchmark, wait_benchmark,
get_benchmark, list_benchmarks, compare_benchmarks, cancel_benchmark,
check_regression, set_baseline. Read-only tools are annotated so; a failed
call is a tool error naming benchd's gRPC code and what to do. benchd is
dialed when a tool first needs it, so the server starts (and lists its
tools) even while benchd is down. Stdout carries the protocol only; see
docs/agents.md for Hermes' and Claude Code's configuration.`,
		Args: argsUsage(cobra.NoArgs, "takes no arguments"),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, _ []string) error {
			srv := mcpserver.New(c, buildinfo.Version())
			err := srv.Run(ctx, &mcp.IOTransport{Reader: io.NopCloser(a.e.stdin), Writer: nopWriteCloser{a.e.stdout}})
			// The client closing stdin, or a signal, is how a server ends.
			if errors.Is(err, io.EOF) || errors.Is(context.Cause(ctx), errSignal) {
				return nil
			}
			return err
		}),
	}
}

// nopWriteCloser leaves stdout open when the transport closes.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
