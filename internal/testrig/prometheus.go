package testrig

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ScrapeTarget is one benchd exporter a Prometheus scrapes, with the host
// label the docs' configuration gives it.
type ScrapeTarget struct{ Host, Addr string }

// Prometheus is Debian's Prometheus server (package prometheus) scraping
// targets every second, with its HTTP API at URL.
type Prometheus struct {
	URL string
	cmd *exec.Cmd
	log *strings.Builder
}

// RequirePrometheus returns the paths of prometheus and promtool, or skips
// (fails under CI=true) when Debian's prometheus package is not installed.
func RequirePrometheus(t TB) (prometheus, promtool string) {
	t.Helper()
	p, err1 := exec.LookPath("prometheus")
	pt, err2 := exec.LookPath("promtool")
	Require(t, err1 == nil && err2 == nil, "Debian's prometheus package (prometheus and promtool; apt-get install prometheus)")
	return p, pt
}

// ScrapeConfig is the scrape configuration of targets, as docs/metrics.md
// shows it: one job, a host label per target.
func ScrapeConfig(interval time.Duration, targets ...ScrapeTarget) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\nscrape_configs:\n  - job_name: benchd\n    static_configs:\n", interval, interval)
	for _, t := range targets {
		fmt.Fprintf(&b, "      - targets: [%q]\n        labels:\n          host: %q\n", t.Addr, t.Host)
	}
	return b.String()
}

// StartPrometheus runs prometheus over targets until the test ends and
// returns once its API answers.
func StartPrometheus(t TB, targets ...ScrapeTarget) *Prometheus {
	t.Helper()
	bin, _ := RequirePrometheus(t)
	dir, err := os.MkdirTemp("", "benchd-prom-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(ScrapeConfig(time.Second, targets...)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Prometheus takes a fixed address.
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := &Prometheus{URL: "http://" + addr, log: &strings.Builder{}}
	p.cmd = exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
	Poll(t, 30*time.Second, "prometheus to answer on "+addr, func() bool {
		res, err := http.Get(p.URL + "/-/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return p
}

// Sample is one series of an instant query's result.
type Sample struct {
	Labels map[string]string
	Value  string
}

// Query runs an instant PromQL query through Prometheus's HTTP API
// (/api/v1/query).
func (p *Prometheus) Query(q string) ([]Sample, error) {
	res, err := http.Get(p.URL + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %q: %w: %s", q, err, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, r.Error)
	}
	out := make([]Sample, 0, len(r.Data.Result))
	for _, s := range r.Data.Result {
		v, _ := s.Value[1].(string)
		out = append(out, Sample{Labels: s.Metric, Value: v})
	}
	return out, nil
}

// Log is what prometheus printed.
func (p *Prometheus) Log() string { return p.log.String() }
