package fakes

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/benchd/benchd/internal/vram"
)

// ScriptedVRAM is a TEST DOUBLE for a VRAM source (vram.Reader): it plays
// back Script, one step per Read (a nil step is a failure, "scripted
// failure"), then repeats the last step. Each call's number (1, 2, …) is
// offered on Calls, if set, so tests can pace themselves without sleeps.
type ScriptedVRAM struct {
	Script [][]vram.GPU
	Calls  chan int

	mu sync.Mutex
	n  int
}

// Source is "script".
func (s *ScriptedVRAM) Source() string { return "script" }

// Read plays the next step.
func (s *ScriptedVRAM) Read(ctx context.Context) ([]vram.GPU, error) {
	s.mu.Lock()
	step := s.Script[min(s.n, len(s.Script)-1)]
	s.n++
	n := s.n
	s.mu.Unlock()
	select {
	case s.Calls <- n:
	default:
	}
	if step == nil {
		return nil, errors.New("scripted failure")
	}
	return append([]vram.GPU(nil), step...), nil
}

// StubVRAM is a TEST DOUBLE for a VRAM source (vram.Reader) that returns
// GPUs, or Err, on every Read and counts the calls. With Block set, Read
// waits until Block is closed or its context ends.
type StubVRAM struct {
	Name  string // what Source returns
	GPUs  []vram.GPU
	Err   error
	Block chan struct{}
	Calls atomic.Int32
}

// Source is s.Name.
func (s *StubVRAM) Source() string { return s.Name }

// Read returns the canned reading or error.
func (s *StubVRAM) Read(ctx context.Context) ([]vram.GPU, error) {
	s.Calls.Add(1)
	if s.Block != nil {
		select {
		case <-s.Block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.Err != nil {
		return nil, s.Err
	}
	return append([]vram.GPU(nil), s.GPUs...), nil
}
