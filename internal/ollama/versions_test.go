package ollama

// What each ollama version the rig tests (testdata/rig/versions) answered,
// replayed through Client by a TEST DOUBLE (replayDialer, routeDialer): the
// captures are the real servers' bytes, so a newer server's extra fields
// and changed texts meet the client here too, without Docker.

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// wireDirs are the captures of each version (testdata/wire/README.md) and
// the loaded context its /api/ps says: v0.9.6 does not say.
var wireDirs = map[string]struct {
	dir           string
	loadedContext int
}{
	"0.9.6":  {filepath.Join("testdata", "wire"), 0},
	"0.17.4": {filepath.Join("testdata", "wire", "v0.17.4"), 4096},
}

func TestWireOfEachVersion(t *testing.T) {
	base := &url.URL{Scheme: "http", Host: "127.0.0.1:11434"}
	ctx := context.Background()
	for version, w := range wireDirs {
		t.Run(version, func(t *testing.T) {
			read := func(name string) []byte {
				b, err := os.ReadFile(filepath.Join(w.dir, name))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			if v, err := New(base, replayDialer(read("version.http"))).Version(ctx); err != nil || v != version {
				t.Errorf("version %q, %v; want %s", v, err, version)
			}
			tr, err := New(base, replayDialer(read("generate-stream.http"))).Generate(ctx, GenerateOptions{Model: "tiny"}, nil)
			if err != nil || tr.EvalCount != 5 || len(tr.Chunks) != 5 || tr.DoneReason != "length" || tr.EvalDuration <= 0 ||
				tr.PromptEvalCount != 7 || !tr.OllamaClock || tr.TTFT <= 0 || tr.TTFT > tr.TotalDuration {
				t.Errorf("generate: %+v, %v; want 5 chunks and tokens, 7 prompt tokens, done_reason length, TTFT on ollama's clock", tr, err)
			}
			if _, err := New(base, replayDialer(read("generate-not-found.http"))).Generate(ctx, GenerateOptions{Model: "nope"}, nil); !errors.Is(err, ErrModelNotFound) {
				t.Errorf("generate of a missing model: %v, want ErrModelNotFound", err)
			}
			if ok, err := New(base, replayDialer(read("ps.http"))).Loaded(ctx, "tiny"); err != nil || !ok {
				t.Errorf("loaded: %v, %v", ok, err)
			}
			show := `{"model_info":{"general.architecture":"llama","llama.context_length":4096}}`
			if _, err := os.Stat(filepath.Join(w.dir, "show.http")); err == nil {
				show = string(unchunk(body(read("show.http"))))
			}
			d := &routeDialer{routes: map[string]string{
				"/api/tags": string(body(read("tags.http"))),
				"/api/ps":   string(body(read("ps.http"))),
				"/api/show": show,
			}}
			c := New(base, d.dial)
			defer c.Close()
			inv, err := c.ListModels(ctx)
			if err != nil || len(inv.Models) != 1 || len(inv.Loaded) != 1 {
				t.Fatalf("inventory %+v, %v", inv, err)
			}
			m, l := inv.Models[0], inv.Loaded[0]
			if m.Name != "tiny:latest" || m.Family != "llama" || m.ContextLength != 4096 || m.Digest != l.Digest ||
				l.Size <= 0 || l.ExpiresAt.IsZero() || l.ContextLength != w.loadedContext {
				t.Errorf("installed %+v, loaded %+v; want the loaded context %d", m, l, w.loadedContext)
			}
			// An error answer of /api/ps keeps its status: a 404 is
			// ErrModelNotFound as for the other endpoints.
			delete(d.routes, "/api/ps")
			if _, err := c.ListModels(ctx); !errors.Is(err, ErrModelNotFound) {
				t.Errorf("/api/ps answering 404: %v, want ErrModelNotFound (its status kept)", err)
			}
		})
	}
}
