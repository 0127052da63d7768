package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/internal/report"
)

// Exit statuses. A script tells the classes apart by number: benchd's
// refusals as grpcurl reports them (64 + the gRPC code), benchctl's own
// usage errors, an interrupt.
const (
	exitOK = 0
	// exitFailed is a failure of benchctl itself, not benchd's answer: a
	// file it could not read or write.
	exitFailed = 1
	// exitUsage: bad flags or arguments, a malformed target, a
	// certificate file that does not load.
	exitUsage = 2
	// exitStatusBase plus a gRPC code is benchd's error (or the
	// transport's: UNAVAILABLE when nothing answers). grpcurl does the same.
	exitStatusBase = 64
	// exitInterrupted: Ctrl-C or SIGTERM (run and watch: detached or
	// cancelled). 128 + SIGINT, as a shell reports a killed command.
	exitInterrupted = 130
)

// exitHelp summarises the exit statuses for `benchctl --help`.
var exitHelp = fmt.Sprintf(`Exit status: %d ok; %d usage (bad flags or arguments, bad target); %d+CODE
benchd's error, CODE its gRPC code (NOT_FOUND %d, RESOURCE_EXHAUSTED %d,
UNAVAILABLE %d also when nothing answers or health is not SERVING); %d
benchctl's own failure (a file); %d interrupted (Ctrl-C; run and watch:
detached or cancelled). With -o json or jsonl a failure ends stdout with
{"error":{"code":"NOT_FOUND","message":"..."}}.`,
	exitOK, exitUsage, exitStatusBase, statusExit(codes.NotFound), statusExit(codes.ResourceExhausted),
	statusExit(codes.Unavailable), exitFailed, exitInterrupted)

func statusExit(c codes.Code) int { return exitStatusBase + int(c) }

// usageError is a mistake in the command line.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// interrupted ends a command that a signal stopped; its text says what
// became of the benchmark.
type interrupted struct{ msg string }

func (i interrupted) Error() string { return i.msg }

// answered is a failure that the command's output already states (health
// that is not SERVING): it gets its exit status and stderr line, but no
// error record after the output.
type answered struct{ error }

func (e answered) Unwrap() error { return e.error }

// errSignal is the cause of the context of a command that a signal
// cancelled.
var errSignal = errors.New("interrupted")

// classify says what err means: the exit status, the canonical gRPC code
// of the error record, and the line for stderr.
func classify(ctx context.Context, err error) (exit int, code codes.Code, line string) {
	var (
		ue usageError
		ie interrupted
	)
	switch {
	case errors.As(err, &ie):
		return exitInterrupted, codes.Canceled, err.Error()
	case errors.As(err, &ue):
		return exitUsage, codes.InvalidArgument, "benchctl: " + err.Error()
	case errors.Is(context.Cause(ctx), errSignal):
		return exitInterrupted, codes.Canceled, "benchctl: interrupted"
	}
	if exit, ok := verdictOf(err); ok {
		return exit, codes.OK, "benchctl: " + err.Error()
	}
	if st, ok := status.FromError(err); ok {
		// Go's spelling (NotFound), as grpcurl prints it; scripts that
		// read this line keep working.
		return statusExit(st.Code()), st.Code(), fmt.Sprintf("benchctl: %s: %s", st.Code(), st.Message())
	}
	return exitFailed, codes.Unknown, "benchctl: " + err.Error()
}

// reportError prints err on stderr and, when stdout carries JSON, as the last
// record there; it returns the exit status.
func reportError(ctx context.Context, err error, f report.Format, stdout, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	exit, code, line := classify(ctx, err)
	fmt.Fprintln(stderr, line)
	if (f == report.JSON || f == jsonLines) && !errors.As(err, new(answered)) {
		var rec errorRecord
		rec.Error.Code = rpccode.Code(code).String()
		rec.Error.Message = err.Error()
		if st, ok := status.FromError(err); ok && exit != exitInterrupted {
			rec.Error.Message = st.Message()
		}
		// One line even for -o json: it follows whatever was printed.
		_ = writeJSON(stdout, jsonLines, rec)
	}
	return exit
}
