// Package fakes holds the test doubles that more than one test uses, or
// could. Everything here is a TEST DOUBLE, not the real thing:
//
//   - Ollama stands in for an ollama server behind the runner (it implements
//     runner.Ollama): one model, "tiny", whose generations stream three
//     tokens, or hang until their context ends (a server that stops
//     sending mid-stream); it can count a prompt's tokens and cut them at a
//     context length, as ollama does; with a Stream it plays a scripted
//     per-chunk schedule (ollama's created_at stamps and the arrival
//     times, a transport's bursts included) with no real waiting, so token
//     timing comes out exactly; ListModels reports a canned inventory.
//   - ScriptedVRAM and StubVRAM stand in for a VRAM source (they implement
//     vram.Reader: sysfs or an SMI tool on a real GPU host): ScriptedVRAM
//     plays back a script of readings, StubVRAM returns one canned reading
//     or error, optionally after a gate opens.
//
// StartBenchd runs the real daemon in the test's process over a fake Ollama,
// for tests of the clients and benchctl that need exact figures without
// Docker.
//
// Integration tests use the real parts instead (internal/testrig). A fake
// that needs a package's unexported types stays in that package's tests.
package fakes
