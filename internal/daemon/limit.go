package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchd/benchd/internal/peercred"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// connLimit bounds the client connections benchd holds, over all its
// listeners: each costs goroutines and HTTP/2 buffers, and a caller could
// otherwise open connections until benchd runs out of file descriptors or
// memory. A connection over the limit is closed at once rather than left
// waiting in the accept queue (as netutil.LimitListener does), so its
// client fails fast with UNAVAILABLE instead of hanging until its deadline.
//
// It counts in the transport credentials' handshake, not in a wrapped
// listener: the peer-credential handshake needs the *net.UnixConn itself.
type connLimit struct {
	slots chan struct{}
	// denied holds the connections of callers the uid policy will refuse:
	// a few of them, so that each still gets PERMISSION_DENIED with the
	// reason, but never the slots of the callers it admits.
	denied  chan struct{}
	log     *slog.Logger
	refused atomic.Int64
	logged  atomic.Int64 // unix nanoseconds of the last warning
}

func newConnLimit(n int, log *slog.Logger) *connLimit {
	return &connLimit{slots: make(chan struct{}, n), denied: make(chan struct{}, maxDeniedConns), log: log}
}

// maxDeniedConns is how many connections of refused callers benchd holds at
// once (each only long enough to answer PERMISSION_DENIED).
const maxDeniedConns = 4

// refuseLogEvery spaces the warnings about refused connections, so that a
// flood of them cannot flood the log too.
const refuseLogEvery = 10 * time.Second

// errTooManyConns ends the handshake of a connection over the limit.
var errTooManyConns = errors.New("benchd holds its most client connections (--max-conns)")

// credentials wraps creds so that each connection they admit holds a slot
// until it closes. admitted, if not nil, says from the handshake's AuthInfo
// whether the caller's calls will be allowed; one that will not is moved
// to the small pool of denied connections, so that a caller the policy
// refuses cannot take the slots of those it admits.
func (c *connLimit) credentials(creds credentials.TransportCredentials, admitted func(credentials.AuthInfo) bool) credentials.TransportCredentials {
	return &limitedCreds{TransportCredentials: creds, lim: c, admitted: admitted}
}

type limitedCreds struct {
	credentials.TransportCredentials
	lim      *connLimit
	admitted func(credentials.AuthInfo) bool
}

func (l *limitedCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	select {
	case l.lim.slots <- struct{}{}:
	default:
		l.lim.refuse(raw)
		return nil, nil, errTooManyConns
	}
	conn, info, err := l.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		l.lim.release()
		return nil, nil, err
	}
	if l.admitted != nil && !l.admitted(info) {
		l.lim.release()
		select {
		case l.lim.denied <- struct{}{}:
		default:
			conn.Close()
			l.lim.refuse(raw)
			return nil, nil, errTooManyConns
		}
		return &limitedConn{Conn: conn, release: func() { <-l.lim.denied }}, info, nil
	}
	return &limitedConn{Conn: conn, release: l.lim.release}, info, nil
}

func (l *limitedCreds) Clone() credentials.TransportCredentials {
	return &limitedCreds{TransportCredentials: l.TransportCredentials.Clone(), lim: l.lim, admitted: l.admitted}
}

func (c *connLimit) refuse(raw net.Conn) {
	n := c.refused.Add(1)
	now := time.Now().UnixNano()
	if last := c.logged.Load(); now-last >= int64(refuseLogEvery) && c.logged.CompareAndSwap(last, now) {
		c.log.Warn("refused a connection: "+errTooManyConns.Error(),
			"max_conns", cap(c.slots), "refused_total", n, "local", raw.LocalAddr().String())
	}
}

func (c *connLimit) release() { <-c.slots }

// limitedConn gives its slot back when it closes (once, however often it
// is closed).
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// admittedBy is whether policy will allow the calls of a connection whose
// handshake produced info (the unix socket's peer credentials).
func admittedBy(policy *peercred.Policy) func(credentials.AuthInfo) bool {
	return func(info credentials.AuthInfo) bool {
		return policy.Check(peer.NewContext(context.Background(), &peer.Peer{AuthInfo: info})) == nil
	}
}
