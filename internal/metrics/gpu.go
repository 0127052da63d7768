package metrics

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/benchd/benchd/internal/vram"
)

// scrapeTimeout bounds the VRAM read of one scrape; Prometheus's own
// default scrape timeout is 10s.
const scrapeTimeout = 5 * time.Second

var (
	gpuLabels   = []string{"gpu"}
	descInfo    = prometheus.NewDesc(Namespace+"_gpu_info", "A GPU benchd reads, with its name, vendor and source; always 1.", []string{"gpu", "name", "vendor", "source"}, nil)
	descUp      = prometheus.NewDesc(Namespace+"_gpu_read_up", "Whether the last GPU read for this scrape succeeded (1) or failed (0).", nil, nil)
	descUsed    = prometheus.NewDesc(Namespace+"_gpu_vram_used_bytes", "VRAM in use.", gpuLabels, nil)
	descTotal   = prometheus.NewDesc(Namespace+"_gpu_vram_total_bytes", "VRAM size.", gpuLabels, nil)
	descPower   = prometheus.NewDesc(Namespace+"_gpu_power_watts", "Board (AMD: package) power draw, as averaged by the GPU.", gpuLabels, nil)
	descEnergy  = prometheus.NewDesc(Namespace+"_gpu_energy_joules_total", "The GPU's own energy counter (only where the GPU has one), since driver load.", gpuLabels, nil)
	descTemp    = prometheus.NewDesc(Namespace+"_gpu_temperature_celsius", "Temperature per labelled sensor (edge, junction, memory).", []string{"gpu", "sensor"}, nil)
	descBusy    = prometheus.NewDesc(Namespace+"_gpu_busy_ratio", "Graphics engine busy fraction, 0 to 1.", gpuLabels, nil)
	descClock   = prometheus.NewDesc(Namespace+"_gpu_clock_hertz", "Current clock (core: shader/SM, memory).", []string{"gpu", "clock"}, nil)
	descSampled = prometheus.NewDesc(Namespace+"_gpu_sampled_timestamp_seconds", "When the reading served was taken.", gpuLabels, nil)
)

// GPUs reads the GPUs at scrape time. A reading is reused for up to TTL
// (the sampling interval), so that several scrapers, or one scraping
// often, cost at most one read per interval; exec'd tools are limited
// further by their reader (vram.Limit).
type GPUs struct {
	r   vram.Reader
	ttl time.Duration
	log *slog.Logger
	now func() time.Time

	mu   sync.Mutex
	at   time.Time
	gpus []vram.GPU
	err  error
}

// NewGPUs returns a collector over r.
func NewGPUs(r vram.Reader, ttl time.Duration, log *slog.Logger) *GPUs {
	if log == nil {
		log = slog.Default()
	}
	return &GPUs{r: r, ttl: ttl, log: log, now: time.Now}
}

// Describe sends the descriptors of every GPU metric.
func (g *GPUs) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInfo, descUp, descUsed, descTotal, descPower, descEnergy, descTemp, descBusy, descClock, descSampled} {
		ch <- d
	}
}

func (g *GPUs) read() ([]vram.GPU, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now := g.now(); g.at.IsZero() || now.Sub(g.at) >= g.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		gpus, err := g.r.Read(ctx)
		cancel()
		if err != nil && (g.err == nil || g.err.Error() != err.Error()) {
			g.log.Warn("metrics: read GPUs", "source", g.r.Source(), "err", err)
		}
		g.at, g.gpus, g.err = now, gpus, err
	}
	return g.gpus, g.err
}

// Collect reads (or reuses) the GPUs and sends one sample per reported
// value; a value the GPU does not report has no series.
func (g *GPUs) Collect(ch chan<- prometheus.Metric) {
	gpus, err := g.read()
	up := 1.0
	if err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
	for _, gpu := range gpus {
		idx := strconv.Itoa(gpu.Index)
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{idx}, labels...)...)
		}
		opt := func(d *prometheus.Desc, v vram.Value, scale float64, labels ...string) {
			if v.Set {
				gauge(d, v.V*scale, labels...)
			}
		}
		gauge(descInfo, 1, gpu.Name, gpu.Vendor, gpu.Source)
		gauge(descUsed, float64(gpu.UsedBytes))
		gauge(descTotal, float64(gpu.TotalBytes))
		if !gpu.SampledAt.IsZero() {
			gauge(descSampled, float64(gpu.SampledAt.UnixNano())/1e9)
		}
		t := gpu.Telemetry
		opt(descPower, t.PowerW, 1)
		if t.EnergyJ.Set {
			ch <- prometheus.MustNewConstMetric(descEnergy, prometheus.CounterValue, t.EnergyJ.V, idx)
		}
		opt(descTemp, t.TempEdgeC, 1, "edge")
		opt(descTemp, t.TempJunctionC, 1, "junction")
		opt(descTemp, t.TempMemoryC, 1, "memory")
		opt(descBusy, t.BusyPercent, 0.01)
		opt(descClock, t.CoreClockMHz, 1e6, "core")
		opt(descClock, t.MemClockMHz, 1e6, "memory")
	}
}
