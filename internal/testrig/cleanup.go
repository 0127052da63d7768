package testrig

import (
	"fmt"
	"os"
	"sync"
)

// Cleaner is what the setup functions of this package register their
// teardown with. A TB is one; Cleanups is one for programs that are not
// tests (the performance harness, cmd/benchperf). Each setup function has
// an error-returning core taking a Cleaner and, where tests use it, a
// wrapper taking a TB that skips (or fails under CI=true) on a missing
// dependency and fails the test on an error.
type Cleaner interface {
	Cleanup(func())
}

// errorfer is the optional part of a Cleaner: where teardown goes wrong,
// TB reports it as a test error, Cleanups prints it.
type errorfer interface {
	Errorf(format string, args ...any)
}

func reportf(c Cleaner, format string, args ...any) {
	if e, ok := c.(errorfer); ok {
		e.Errorf(format, args...)
	}
}

// Cleanups is a Cleaner for programs: Run calls what was registered, last
// first, like TB does when a test ends.
type Cleanups struct {
	mu  sync.Mutex
	fns []func()
}

// Cleanup registers f to be called by Run.
func (c *Cleanups) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, f)
}

// Errorf prints a teardown problem to stderr.
func (c *Cleanups) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cleanup: "+format+"\n", args...)
}

// Run calls the registered functions in reverse order, once.
func (c *Cleanups) Run() {
	for {
		c.mu.Lock()
		if len(c.fns) == 0 {
			c.mu.Unlock()
			return
		}
		f := c.fns[len(c.fns)-1]
		c.fns = c.fns[:len(c.fns)-1]
		c.mu.Unlock()
		f()
	}
}
