package fakes_test

import (
	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/vram"
)

// The doubles stand in for these interfaces.
var (
	_ runner.Ollama = (*fakes.Ollama)(nil)
	_ vram.Reader   = (*fakes.ScriptedVRAM)(nil)
	_ vram.Reader   = (*fakes.StubVRAM)(nil)
)
