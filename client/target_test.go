package client

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseTarget(t *testing.T) {
	ssh := func(args ...string) endpoint { return endpoint{argv: append([]string{"ssh", "-T"}, args...)} }
	for _, tc := range []struct {
		target string
		want   endpoint
		err    string // a substring of the error; "" for none
	}{
		{target: "unix:///run/benchd/benchd.sock", want: endpoint{path: "/run/benchd/benchd.sock"}},
		{target: "unix:/tmp/b.sock", want: endpoint{path: "/tmp/b.sock"}},
		{target: "/tmp/b.sock", want: endpoint{path: "/tmp/b.sock"}},
		{target: "unix:///tmp/a b%20c?#", want: endpoint{path: "/tmp/a b%20c?#"}},
		{target: "ssh://ai-worker@gpu", want: ssh("--", "ai-worker@gpu", "benchd", "dial-stdio")},
		{target: "ssh://ai-worker@gpu:2222", want: ssh("-p", "2222", "--", "ai-worker@gpu", "benchd", "dial-stdio")},
		{target: "ssh://gpu-alias", want: ssh("--", "gpu-alias", "benchd", "dial-stdio")},
		{target: "ssh://u@[::1]:22/", want: ssh("-p", "22", "--", "u@::1", "benchd", "dial-stdio")},
		{target: "tcp://bench.example:7443", want: endpoint{addr: "bench.example:7443"}},
		{target: "tcp://[::1]:7443", want: endpoint{addr: "[::1]:7443"}},

		{target: "", err: "empty"},
		{target: "benchd.sock", err: "neither an absolute path nor a URL"},
		{target: "./benchd.sock", err: "neither an absolute path nor a URL"},
		{target: "unix://tmp/b.sock", err: "must be absolute"},
		{target: "unix:b.sock", err: "must be absolute"},
		{target: "http://host:80", err: `unknown scheme "http"`},
		{target: "dns:///host:80", err: `unknown scheme "dns"`},
		{target: "ssh://", err: "no host"},
		{target: "ssh://user@", err: "no host"},
		{target: "ssh://user@:22", err: "no host"},
		{target: "ssh://-oProxyCommand=x", err: "must not start with '-'"},
		{target: "ssh://u:secret@host", err: "no password"},
		{target: "ssh://@host", err: "empty user"},
		{target: "ssh://host:0", err: "1 to 65535"},
		{target: "ssh://host:ssh", err: "port"},
		{target: "ssh://host:", err: "empty port"},
		{target: "ssh://host/run/benchd.sock", err: "nothing may follow"},
		{target: "ssh://host?x=1", err: "nothing may follow"},
		{target: "tcp://host", err: "needs a port"},
		{target: "tcp://u@host:1", err: "no user"},
		{target: "tcp://:7443", err: "no host"},
	} {
		got, err := parseTarget(tc.target)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one containing %q", tc.target, err, tc.err)
			} else if !strings.Contains(err.Error(), tc.target) || !strings.Contains(err.Error(), targetForms) {
				t.Errorf("%q: error %q names neither the target nor the accepted forms", tc.target, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, %v; want %+v", tc.target, got, err, tc.want)
		}
	}
}

func TestDialChecksOptions(t *testing.T) {
	ctx := context.Background()
	if _, err := Dial(ctx, "tcp://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "WithTLS") {
		t.Errorf("tcp without TLS: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing.crt")
	if _, err := Dial(ctx, "unix:///tmp/b.sock", WithTLS(missing, missing, missing)); err == nil {
		t.Error("WithTLS with missing files: no error")
	}
	if _, err := Dial(ctx, "/tmp/b.sock", WithTLSConfig(nil)); err == nil {
		t.Error("WithTLSConfig(nil): no error")
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Dial(done, "/tmp/b.sock"); err == nil {
		t.Error("Dial with a done context: no error")
	}
}

// TestDialSSHRunsLocalSSH puts a fake ssh first in PATH: Dial's ssh://
// target must run it (so ~/.ssh/config applies) with the dial-stdio
// command line.
func TestDialSSHRunsLocalSSH(t *testing.T) {
	dir := t.TempDir()
	argsFile := filepath.Join(dir, "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argsFile + "\n"
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	c, err := Dial(context.Background(), "ssh://ai-worker@gpu-host:2222")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Health(ctx); err == nil {
		t.Fatal("Health through a fake ssh that exits succeeded")
	}
	b, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatalf("the fake ssh did not run: %v", err)
	}
	want := "-T\n-p\n2222\n--\nai-worker@gpu-host\nbenchd\ndial-stdio\n"
	if string(b) != want {
		t.Errorf("ssh ran with\n%s\nwant\n%s", b, want)
	}
}
