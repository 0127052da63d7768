// Package faults holds benchd's fault-injection, load and leak tests (all in
// package faults_test): each test breaks one real part — the Docker Engine,
// the ollama container or its server process, benchd itself, a client, the
// VRAM tool — while a benchmark runs, and asserts the gRPC status the client
// sees, that benchd still serves the next request, that generation stopped
// and that the history store is intact.
//
// The shared Docker Engine and its shared rig container (benchd-rig) are
// never touched: engine-level faults run a private dockerd (its own socket, data
// and exec roots), container-level faults a uniquely named container. See
// docs/reliability.md for the table of faults and the tests that prove them.
package faults
