package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/benchd/benchd/internal/buildinfo"
	"github.com/benchd/benchd/internal/dockerx"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/vram"
)

// ollamaTransport is how the daemon reaches ollama: through a Docker exec
// bridge per connection (viaContainer: the container's state then decides
// health), or over plain HTTP.
func (c Config) ollamaTransport(dc *dockerx.Client) (base *url.URL, dial ollama.Dialer, viaContainer bool, err error) {
	switch {
	case c.Ollama == "docker-exec":
		base = &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", c.OllamaPort)}
		return base, func(ctx context.Context) (net.Conn, error) { return dc.DialBridge(ctx, c.OllamaPort) }, true, nil
	case strings.HasPrefix(c.Ollama, "http://"):
		u, err := url.Parse(c.Ollama)
		if err != nil || u.Host == "" {
			return nil, nil, false, fmt.Errorf("--ollama %q: not a valid http:// URL", c.Ollama)
		}
		var d net.Dialer
		return u, func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", u.Host) }, false, nil
	}
	return nil, nil, false, fmt.Errorf("--ollama %q: want docker-exec or an http:// URL", c.Ollama)
}

// vramReader is the VRAM source the Config names; nil for none.
func vramReader(c Config, ex vram.Execer) (vram.Reader, error) {
	sysfs := &vram.Sysfs{Root: c.SysfsRoot}
	switch c.VRAMSource {
	case "none":
		return nil, nil
	case "sysfs":
		return sysfs, nil
	case vram.SourceRocmSMI, vram.SourceAMDSMI, vram.SourceNvidiaSMI:
		return toolReader(c.VRAMSource, ex, c.VRAMPrivileged, c.Log)
	case "auto":
		var tools []vram.Reader
		if c.Container == "" {
			// ollama over HTTP and no container named: sysfs is all there
			// is, and no exec into a container that may not exist.
			return vram.Auto(sysfs, nil), nil
		}
		for _, src := range toolSources() {
			r, err := toolReader(src, ex, c.VRAMPrivileged, c.Log)
			if err != nil {
				return nil, err
			}
			tools = append(tools, r)
		}
		return vram.Auto(sysfs, tools), nil
	}
	return nil, fmt.Errorf("--vram-source %q: want auto, sysfs, rocm-smi, amd-smi, nvidia-smi or none", c.VRAMSource)
}

// toolSources are the VRAM sources that exec a tool in ollama's container,
// in the order auto tries them.
func toolSources() []string {
	return []string{vram.SourceRocmSMI, vram.SourceAMDSMI, vram.SourceNvidiaSMI}
}

// toolReader is an exec'd VRAM tool, with its telemetry query, run at
// most once per vram.MinExecInterval, however many callers read it.
func toolReader(source string, ex vram.Execer, privileged bool, log *slog.Logger) (vram.Reader, error) {
	r, err := vram.NewToolReader(source, ex, privileged, vram.WithTelemetry(log))
	if err != nil {
		return nil, err
	}
	return vram.Limit(r, vram.MinExecInterval), nil
}

// machineInfo describes this host for each benchmark's record.
func machineInfo() runner.Machine {
	m := runner.Machine{BenchdVersion: buildinfo.Version()}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
