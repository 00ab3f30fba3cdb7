// Package listener accepts client connections on the addresses of
// mysql-interfaces and stops accepting without refusing anyone: PROXYSQL
// PAUSE closes the listeners and RESUME opens them again, and a shutdown
// quiesces them (new connection attempts held back, the accept queue
// emptied) before it closes them. What a connection is then used for is
// the caller's.
package listener

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"sqlgate/internal/wire"
)

// Group is the set of listeners of one server.
type Group struct {
	log *slog.Logger
	// handle takes each accepted connection. It runs on the accepting
	// goroutine and must not block; once Wait returns it is never called
	// again.
	handle func(net.Conn)

	mu        sync.Mutex
	listeners []net.Listener
	ifaces    string // mysql-interfaces given to Start, for Resume
	paused    bool
	closed    bool
	accepting sync.WaitGroup // Serve loops
	failed    chan error
}

// New returns a group that gives every accepted connection to handle.
func New(log *slog.Logger, handle func(net.Conn)) *Group {
	return &Group{log: log, handle: handle, failed: make(chan error, 16)}
}

// Serve accepts connections on ln until Quiesce or Pause. It returns nil
// then, and the accept error otherwise.
func (g *Group) Serve(ln net.Listener) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		ln.Close()
		return nil
	}
	g.listeners = append(g.listeners, ln)
	g.accepting.Add(1)
	g.mu.Unlock()
	defer g.accepting.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			g.mu.Lock()
			closed, paused := g.closed, !slices.Contains(g.listeners, ln)
			g.mu.Unlock()
			if closed {
				// Shutdown: the connections the kernel had queued are
				// taken (see Quiesce). Close closes the port once the
				// sessions are gone.
				return nil
			}
			if paused {
				// PROXYSQL PAUSE closed this listener.
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
				// Out of file descriptors or similar: back off like net/http.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				g.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		g.handle(nc) // TCP_NODELAY and keep-alive are set by accept (wire.ListenAll)
	}
}

// Start listens on every address of mysql-interfaces and serves in the
// background. A listener that fails later is reported on Failed.
func (g *Group) Start(ifaces string) error {
	lns, err := wire.ListenAll("mysql-interfaces", ifaces)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.ifaces = ifaces
	g.mu.Unlock()
	g.serveAll(lns)
	return nil
}

func (g *Group) serveAll(lns []net.Listener) {
	for _, ln := range lns {
		g.log.Info("listening for MySQL clients", "addr", ln.Addr().String())
		go func() {
			if err := g.Serve(ln); err != nil {
				g.failed <- fmt.Errorf("mysql-interfaces %s: %w", ln.Addr(), err)
			}
		}()
	}
}

// Failed delivers errors of listeners that stopped accepting.
func (g *Group) Failed() <-chan error { return g.failed }

// Paused reports whether PROXYSQL PAUSE is in effect.
func (g *Group) Paused() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.paused
}

// Listening reports whether any listener accepts connections.
func (g *Group) Listening() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.listeners) > 0
}

// Pause stops accepting new clients (PROXYSQL PAUSE) and returns how many
// listeners it closed. The error texts are ProxySQL's.
func (g *Group) Pause() (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused {
		return 0, errors.New("ProxySQL MySQL module is already paused, impossible to pause")
	}
	if g.closed {
		return 0, errors.New("ProxySQL MySQL module not running, impossible to pause")
	}
	lns := g.listeners
	g.listeners, g.paused = nil, true
	for _, ln := range lns {
		ln.Close()
	}
	return len(lns), nil
}

// Resume listens again on mysql-interfaces (PROXYSQL RESUME). If an
// address cannot be bound the group stays paused and says why.
func (g *Group) Resume() error {
	g.mu.Lock()
	if !g.paused {
		g.mu.Unlock()
		return errors.New("ProxySQL MySQL module is not paused, impossible to resume")
	}
	ifaces := g.ifaces
	g.mu.Unlock()
	lns, err := wire.ListenAll("mysql-interfaces", ifaces)
	if err != nil {
		return fmt.Errorf("cannot resume, still paused: %w", err)
	}
	g.mu.Lock()
	g.paused = false
	g.mu.Unlock()
	g.serveAll(lns)
	return nil
}

// Quiesce stops every listener from taking new connections without
// refusing them, and lets the Serve loops take the ones the kernel already
// queued or is still completing. It returns a function that closes the
// ports, for when the sessions have ended: a closed port would refuse new
// connections, a quiesced one holds them back.
//
// Closing a listening socket resets every connection in its accept queue:
// the client has connected and is waiting for the greeting, and gets an
// error. Refusing a new connection fails the client's statement too. So
// a socket filter that drops SYNs goes on the listener first: a new
// connection attempt goes unanswered and the client's kernel sends it
// again after a second, when the VIP has moved to the other core (without
// a VIP the retry finds the port closed). Then the accept deadline lets
// Serve take what is queued.
func (g *Group) Quiesce() (closePorts func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	lns := g.listeners
	for _, ln := range lns {
		g.quiesce(ln)
	}
	return func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
}

func (g *Group) quiesce(ln net.Listener) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		ln.Close()
		return
	}
	if rc, err := tl.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			if err := syscall.AttachLsf(int(fd), dropSYN); err != nil {
				g.log.Warn("shutdown: cannot hold new connections back; they will be refused", "addr", ln.Addr().String(), "err", err)
			}
		})
	}
	// The deadline must lie ahead: Accept does not try the queue at all
	// once its deadline has passed.
	tl.SetDeadline(time.Now().Add(acceptQueueWait))
}

// Wait waits for the Serve loops to end after Quiesce: from then on no
// connection is handed out.
func (g *Group) Wait() { g.accepting.Wait() }

// dropSYN is a classic BPF socket filter that drops TCP segments with SYN
// set and ACK clear: new connection attempts. Everything else passes, so a
// handshake already under way completes and lands in the accept queue (a
// filter that dropped its final ACK would leave the client connected to
// nothing). On a TCP socket the filter sees the segment from the TCP
// header on; byte 13 holds the flags.
var dropSYN = []syscall.SockFilter{
	{Code: syscall.BPF_LD | syscall.BPF_B | syscall.BPF_ABS, K: 13},
	{Code: syscall.BPF_ALU | syscall.BPF_AND | syscall.BPF_K, K: 0x12}, // SYN|ACK
	{Code: syscall.BPF_JMP | syscall.BPF_JEQ | syscall.BPF_K, K: 0x02, Jt: 0, Jf: 1},
	{Code: syscall.BPF_RET | syscall.BPF_K, K: 0},          // SYN alone: drop
	{Code: syscall.BPF_RET | syscall.BPF_K, K: 0xffffffff}, // keep the whole segment
}

// acceptQueueWait is how long a stopping listener keeps taking the
// connections that completed their TCP handshake before the filter.
const acceptQueueWait = 20 * time.Millisecond
