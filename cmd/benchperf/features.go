package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
	"github.com/benchd/benchd/proto/defaults"
)

// The later features' costs (issue 16, item 6): GPU telemetry on every
// sysfs sample, the Prometheus exporter's gRPC interceptors on every call,
// and a scrape of /metrics.

// featuresDaemon is a deployment with --metrics on a loopback port and a
// simulated card that has hwmon telemetry (the fixture tree of the other
// daemons has none), called directly.
func featuresDaemon(r *rig, binary string) (*daemon, string, error) {
	tree := filepath.Join(r.base, "sysfs-telemetry")
	gpu := testrig.SimGPU{TotalBytes: 24 << 30, UsedBytes: 3 << 30, PowerW: 212.5, EdgeC: 61, JunctionC: 74, MemC: 82, Busy: 97, CoreMHz: 2482, MemMHz: 1249}
	if err := testrig.SimulatedSysfs(tree, gpu); err != nil {
		return nil, "", err
	}
	port, err := testrig.FreePort()
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return &daemon{name: "metrics", binary: binary, direct: true, cfg: testrig.DeployConfig{
		VRAMSource: "sysfs", Container: testrig.Container, Metrics: "tcp://" + addr,
		ExtraArgs: []string{"--sysfs-root", tree, "--allow-uid", fmt.Sprint(os.Getuid())},
	}}, addr, nil
}

type featuresResult struct {
	calls int
	// benchd's CPU per SampleVRAM, back to back on one connection: the
	// plain sysfs daemon (fixture card, no --metrics) and the features
	// daemon (telemetry card, --metrics), in alternating blocks.
	plainCPU, featuresCPU time.Duration
	plainLat, featuresLat series
	// Scrapes of /metrics, each after the GPU reading's cache expired
	// (defaults.VRAMInterval), so that each reads sysfs.
	scrapes      int
	scrapeCPU    time.Duration
	scrapeLat    series
	scrapeBytes  int
	scrapeSeries int
}

func measureFeatures(ctx context.Context, r *rig, addr string, calls, scrapes int) (*featuresResult, error) {
	res := &featuresResult{calls: calls, scrapes: scrapes}
	plain, err := client.New(r.sysfs.cfg.Socket)
	if err != nil {
		return nil, err
	}
	defer plain.Close()
	feat := r.features.tunnel
	const block = 200
	for _, c := range []*client.Client{plain, feat} { // connections and caches, unrecorded
		if _, err := c.SampleVRAM(ctx); err != nil {
			return nil, err
		}
	}
	for done := 0; done < calls; done += block {
		for _, side := range []struct {
			c   *client.Client
			pid int
			cpu *time.Duration
			lat *series
		}{{plain, r.sysfs.d.PID(), &res.plainCPU, &res.plainLat}, {feat, r.features.d.PID(), &res.featuresCPU, &res.featuresLat}} {
			c0, err := runTime(side.pid)
			if err != nil {
				return nil, err
			}
			for range block {
				t0 := time.Now()
				if _, err := side.c.SampleVRAM(ctx); err != nil {
					return nil, fmt.Errorf("SampleVRAM: %w", err)
				}
				*side.lat = append(*side.lat, time.Since(t0))
			}
			c1, _ := runTime(side.pid)
			*side.cpu += c1 - c0
		}
	}
	res.plainCPU /= time.Duration(len(res.plainLat))
	res.featuresCPU /= time.Duration(len(res.featuresLat))

	hc := &http.Client{Timeout: 10 * time.Second}
	scrape := func() (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET /metrics: %s", resp.Status)
		}
		if err == nil {
			res.scrapeSeries = countSamples(b)
		}
		return len(b), err
	}
	if _, err := scrape(); err != nil { // the connection, unrecorded
		return nil, err
	}
	pid := r.features.d.PID()
	var cpu time.Duration
	for range scrapes {
		time.Sleep(defaults.VRAMInterval + 10*time.Millisecond)
		c0, err := runTime(pid)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		n, err := scrape()
		if err != nil {
			return nil, err
		}
		res.scrapeLat = append(res.scrapeLat, time.Since(t0))
		c1, _ := runTime(pid)
		cpu += c1 - c0
		res.scrapeBytes = n
	}
	res.scrapeCPU = cpu / time.Duration(scrapes)
	return res, nil
}

// runTime is the CPU time pid's threads have run, in nanoseconds
// (/proc/PID/task/*/schedstat): unlike /proc/PID/stat's clock ticks it
// resolves a single call. Threads that exited are not counted; Go's
// seldom exit.
func runTime(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("/proc/%d/task/*/schedstat: none (%v)", pid, err)
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that exited meanwhile
		}
		var ns int64
		if _, err := fmt.Sscan(string(b), &ns); err != nil {
			return 0, fmt.Errorf("%s: %w", t, err)
		}
		sum += time.Duration(ns)
	}
	return sum, nil
}

// countSamples counts the sample lines of an exposition (neither comments
// nor blank).
func countSamples(b []byte) int {
	n := 0
	for l := range bytes.Lines(b) {
		if l = bytes.TrimSpace(l); len(l) > 0 && l[0] != '#' {
			n++
		}
	}
	return n
}
