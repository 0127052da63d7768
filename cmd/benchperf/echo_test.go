package main

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/benchd/benchd/internal/testrig"
)

// TestMain lets the test binary be the echo child, as benchperf is to
// itself (startEcho runs os.Executable with -echo-server).
func TestMain(m *testing.M) {
	if slices.Contains(os.Args[1:], "-"+echoFlag) {
		if err := serveEcho(); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestEchoPeerEchoes(t *testing.T) {
	cl := &testrig.Cleanups{}
	defer cl.Run()
	p, err := startEcho(cl, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for j := range p.buf {
			p.buf[j] = byte(i + j)
		}
		sent := bytes.Clone(p.buf)
		if err := p.roundTrip(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.buf, sent) {
			t.Fatalf("round trip %d: got %v back, sent %v", i, p.buf, sent)
		}
	}
}
