// Command tap is the in-container half of benchperf's TTFT check: a TCP
// proxy run inside the ollama container (docker cp'd there, static) between
// benchd's bridge and ollama. It forwards every byte at once, both ways,
// and for each request prints one line once the response's first body
// bytes have passed:
//
//	req <conn> <method> <path> <request's first byte, unix ns> <response's first JSON byte, unix ns>
//
// Both times are read where ollama's socket is, inside the container: the
// difference is the request's TTFT as a client next to ollama sees it.
// It is a measuring tool of the harness, never part of benchd.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:11500", "address to accept benchd's bridge on")
	to := flag.String("to", "127.0.0.1:11434", "ollama's address")
	flag.Parse()
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tap:", err)
		os.Exit(1)
	}
	fmt.Println("listening", l.Addr())
	var out sync.Mutex
	for n := 0; ; n++ {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "tap:", err)
			os.Exit(1)
		}
		go serve(n, c, *to, &out)
	}
}

// conn is one proxied connection. HTTP/1.1 clients do not pipeline, so
// client bytes after response bytes start the next request.
type conn struct {
	mu      sync.Mutex
	n       int
	inReq   bool // a request is open
	replied bool // its response has begun
	method  string
	path    string
	reqAt   int64
}

func serve(n int, c net.Conn, to string, out *sync.Mutex) {
	defer c.Close()
	up, err := net.Dial("tcp", to)
	if err != nil {
		return
	}
	defer up.Close()
	st := &conn{n: n}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			k, err := up.Read(buf)
			now := time.Now().UnixNano()
			if k > 0 {
				if _, werr := c.Write(buf[:k]); werr != nil {
					return
				}
				st.mu.Lock()
				var line string
				if st.inReq && !st.replied && bytes.Contains(buf[:k], []byte(`{"`)) {
					st.replied = true
					line = fmt.Sprintf("req %d %s %s %d %d\n", st.n, st.method, st.path, st.reqAt, now)
				}
				st.mu.Unlock()
				if line != "" {
					out.Lock()
					os.Stdout.WriteString(line)
					out.Unlock()
				}
			}
			if err != nil {
				c.(*net.TCPConn).CloseWrite()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		k, err := c.Read(buf)
		now := time.Now().UnixNano()
		if k > 0 {
			st.mu.Lock()
			if !st.inReq || st.replied {
				st.inReq, st.replied, st.reqAt = true, false, now
				f := bytes.Fields(bytes.SplitN(buf[:k], []byte("\r\n"), 2)[0])
				st.method, st.path = "?", "?"
				if len(f) >= 2 {
					st.method, st.path = string(f[0]), string(f[1])
				}
			}
			st.mu.Unlock()
			if _, werr := up.Write(buf[:k]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	up.(*net.TCPConn).CloseWrite()
	<-done
}
