package ollama

// ListModels against a TEST DOUBLE: routeDialer answers each request by its
// path with canned JSON (the /api/tags and /api/ps bodies are real ollama
// v0.9.6 answers, testdata/wire), not with ollama.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// routeDialer answers each request with the body routes gives its path
// (404 for others) and counts the requests per path.
type routeDialer struct {
	routes map[string]string
	mu     sync.Mutex
	hits   map[string]int
}

func (d *routeDialer) dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		_ = server.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := http.ReadRequest(bufio.NewReader(server))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		d.mu.Lock()
		if d.hits == nil {
			d.hits = map[string]int{}
		}
		d.hits[req.URL.Path]++
		d.mu.Unlock()
		body, ok := d.routes[req.URL.Path]
		status := "200 OK"
		if !ok {
			status, body = "404 Not Found", `{"error":"not found"}`
		}
		_, _ = io.WriteString(server, "HTTP/1.1 "+status+"\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"+body)
	}()
	return client, nil
}

func (d *routeDialer) count(path string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hits[path]
}

func wireBody(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "wire", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(body(b))
}

func TestListModels(t *testing.T) {
	d := &routeDialer{routes: map[string]string{
		"/api/tags": wireBody(t, "tags.http"),
		"/api/ps":   wireBody(t, "ps.http"),
		"/api/show": `{"model_info":{"general.architecture":"llama","llama.context_length":2048}}`,
	}}
	c := New(&url.URL{Scheme: "http", Host: "127.0.0.1:11434"}, d.dial)
	defer c.Close()
	for range 2 {
		inv, err := c.ListModels(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Models) != 1 || len(inv.Loaded) != 1 {
			t.Fatalf("inventory %+v", inv)
		}
		m, l := inv.Models[0], inv.Loaded[0]
		const digest = "0ce14aae6e99ff5ad23ee7096d07a71eba67c9354c08e565b2601ef6b06f1177"
		if m.Name != "tiny:latest" || m.Digest != digest || m.Size != 500206 || m.Family != "llama" ||
			m.ParameterSize != "123K" || m.QuantizationLevel != "unknown" || m.Format != "gguf" || m.ContextLength != 2048 ||
			!m.ModifiedAt.Equal(time.Date(2026, 11, 26, 11, 27, 21, 508564982, time.UTC)) {
			t.Errorf("installed %+v", m)
		}
		if l.Name != "tiny:latest" || l.Digest != digest || l.Size != 91278080 || l.SizeVRAM != 0 ||
			!l.ExpiresAt.Equal(time.Date(2026, 11, 26, 11, 38, 52, 325556158, time.UTC)) {
			t.Errorf("loaded %+v", l)
		}
	}
	// A digest's context length is asked once.
	if n := d.count("/api/show"); n != 1 {
		t.Errorf("/api/show asked %d times for one digest, want once", n)
	}
}

// A model that goes between /api/tags and /api/show is left out, not an
// error.
func TestListModelsSkipsAModelRemovedMeanwhile(t *testing.T) {
	d := &routeDialer{routes: map[string]string{
		"/api/tags": wireBody(t, "tags.http"),
		"/api/ps":   `{"models":[]}`,
	}}
	c := New(&url.URL{Scheme: "http", Host: "127.0.0.1:11434"}, d.dial)
	defer c.Close()
	inv, err := c.ListModels(context.Background())
	if err != nil || len(inv.Models) != 0 || len(inv.Loaded) != 0 {
		t.Fatalf("inventory %+v, %v", inv, err)
	}
}

// Nothing listening is ErrUnreachable, over HTTP and through the Docker
// exec bridge (whose shell reports the refused connection as text).
func TestUnreachableOllama(t *testing.T) {
	base := &url.URL{Scheme: "http", Host: "127.0.0.1:11434"}
	for name, dial := range map[string]Dialer{
		"http": func(context.Context) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		},
		"bridge": func(context.Context) (net.Conn, error) {
			return nil, errors.New("bridge to ollama in container: benchd-bridge: line 3: connect: Connection refused")
		},
	} {
		c := New(base, dial)
		_, err := c.ListModels(context.Background())
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("%s: %v, want ErrUnreachable", name, err)
		}
		if _, err := c.Version(context.Background()); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: version: %v", name, err)
		}
		c.Close()
	}
}
