package faults_test

import (
	"context"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/testrig"
	"google.golang.org/grpc/codes"
)

// TestDockerEngineFaults runs benchd against a private dockerd that is
// missing when benchd starts and is later restarted mid-benchmark.
func TestDockerEngineFaults(t *testing.T) {
	testrig.EnsureRigImage(t) // the rig image, on the shared engine
	e := testrig.NewDockerd(t)
	t.Setenv("DOCKER_HOST", e.Host) // benchd (a child process) inherits it
	name := uniqueName("engine")

	// 1. The Docker socket is missing at start: benchd starts anyway,
	// reports NOT_SERVING, refuses benchmarks with UNAVAILABLE and still
	// serves what needs no Docker.
	d := startDaemon(t, name)
	d.waitHealth(t, "NOT_SERVING", 10*time.Second)
	_, err := d.cl.RunBenchmark(context.Background(), quickRun(), nil)
	wantCode(t, err, codes.Unavailable, "start Docker")
	if _, err := d.cl.SampleVRAM(context.Background()); err != nil {
		t.Errorf("SampleVRAM (sysfs) without Docker: %v", err)
	}

	// Docker comes up, the container is created: SERVING, benchmarks run.
	e.Start(t)
	e.LoadImage(t, testrig.RigImage)
	c := &rigContainer{eng: e.Engine, name: name}
	c.run(t, "--restart", "always")
	d.waitHealth(t, "SERVING", 10*time.Second)
	assertServes(t, d.cl)

	// 2. dockerd restarted mid-benchmark (SIGTERM: it stops the
	// container, as a package upgrade or `systemctl restart docker` does).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fr := runWithFault(t, d.cl, ctx, longRun(), func() { e.Stop(t) })
	wantCode(t, fr.err, codes.Unavailable)
	if d := fr.endedAt.Sub(fr.injectedAt); d > 15*time.Second {
		t.Errorf("the client learned of the restart %v after it began", d)
	}
	d.waitHealth(t, "NOT_SERVING", 10*time.Second)
	_, err = d.cl.RunBenchmark(context.Background(), quickRun(), nil)
	wantCode(t, err, codes.Unavailable, "start Docker")

	e.Start(t) // the container comes back by its restart policy
	c.waitReady(t)
	// Generation stopped: dockerd's shutdown stopped the container itself.
	c.assertExitedWithin(t, fr.injectedAt, 2*time.Second)
	d.waitHealth(t, "SERVING", 10*time.Second)
	assertStored(t, d.cl, fr.id, "FAILED", 1)
	assertServes(t, d.cl)
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}
