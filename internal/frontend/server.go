// Package frontend serves MySQL clients: the handshake and authentication,
// the command loop of each session, routing of statements to hostgroups,
// the session state that is replayed lazily on pooled backend connections,
// and the forwarding of results.
package frontend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/eventlog"
	"sqlgate/internal/frontend/stmt"
	"sqlgate/internal/qcache"
	"sqlgate/internal/runtime"
	"sqlgate/internal/stats"
	"sqlgate/internal/wire"
)

// Server accepts client connections and runs one goroutine per session.
type Server struct {
	Store *runtime.Store
	Pool  *backend.Pool
	// pool is what sessions use of Pool; a unit test puts a fake here.
	pool  connPool
	Log   *slog.Logger
	TLS   *tls.Config // nil disables TLS even when mysql-have_ssl is true
	Stats *stats.Registry
	// Events is the query events log (mysql-eventslog_*), configured by
	// Apply. Datadir is where a relative mysql-eventslog_filename goes.
	Events  *eventlog.Log
	Datadir string
	// Cache is the query cache (cache_ttl rules and annotations).
	Cache *qcache.Cache

	stmts   stmt.Registry
	mirrors mirrors
	started time.Time

	nextID        atomic.Uint32
	clients       atomic.Int64
	questions     atomic.Int64
	queryTimeouts atomic.Int64 // statements stopped with KILL QUERY

	stop chan struct{} // closed by Shutdown: ends background loops

	mu        sync.Mutex
	userConns map[string]int
	sessions  map[uint32]*Session
	listeners []net.Listener
	ifaces    string // mysql-interfaces given to Start, for Resume
	paused    bool
	closed    bool
	draining  atomic.Bool // Shutdown started: sessions close after their current reply

	handshakes  *wire.Handshakes // clients not yet logged in, bounded
	refusedLast atomic.Int64     // unix second of the last "too many handshakes" log line
	wg          sync.WaitGroup   // sessions
	accepting   sync.WaitGroup   // Serve loops
	failed      chan error
}

// NewServer returns a server using the snapshots in store and the pool.
func NewServer(store *runtime.Store, pool *backend.Pool, tlsConf *tls.Config, log *slog.Logger) *Server {
	s := &Server{
		Store: store, Pool: pool, pool: pool, TLS: tlsConf, Log: log, started: time.Now(),
		userConns: map[string]int{}, sessions: map[uint32]*Session{}, Stats: stats.New(200000),
		stop: make(chan struct{}), Events: eventlog.New(log),
		Cache:  qcache.New(256 << 20),
		failed: make(chan error, 16), handshakes: wire.NewHandshakes(MaxHandshakes),
	}
	go s.watchdog(s.stop)
	s.Cache.Start()
	return s
}

// connPool is what a session needs from the backend connection pool.
// *backend.Pool implements it.
type connPool interface {
	Acquire(ctx context.Context, hg int, w *backend.Want) (*backend.Conn, error)
	Release(c *backend.Conn, reuse bool)
	Options() *backend.Options
}

// MaxHandshakes bounds the client connections that are connected but not
// yet logged in; each is also bounded in time (mysql-connect_timeout_client)
// and in packet size (wire.MaxHandshakePacket). Beyond it a new connection
// waits for a slot, and gets error 1040 if none frees within
// mysql-connect_timeout_client: a flood of connections that never log in
// cannot exhaust memory or starve sessions already logged in.
const MaxHandshakes = 512

// refuseHandshake answers a connection beyond MaxHandshakes with 1040 and
// logs it at most once a second.
func (s *Server) refuseHandshake(sess *Session) {
	sess.c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	sess.c.WritePacket(wire.AppendErr(nil, wire.Errorf(wire.ErConCount, "08004", "Too many connections: %d clients are still logging in", MaxHandshakes)))
	sess.c.Flush()
	if now := time.Now().Unix(); s.refusedLast.Swap(now) != now {
		s.Log.Warn("refusing clients: too many connections are still in their handshake", "limit", MaxHandshakes, "client", sess.remote)
	}
}

// Serve accepts connections on ln until Shutdown. It returns nil after
// Shutdown and the accept error otherwise.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners = append(s.listeners, ln)
	s.accepting.Add(1)
	s.mu.Unlock()
	defer s.accepting.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed, paused := s.closed, !slices.Contains(s.listeners, ln)
			s.mu.Unlock()
			if closed {
				// Shutdown: the connections the kernel had queued are
				// taken (see quiesce). Shutdown closes the port once the
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
				s.Log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
			tc.SetKeepAlive(true)
			tc.SetKeepAlivePeriod(120 * time.Second)
		}
		sess := newSession(s, nc)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			sess.serve()
		}()
	}
}

// Start listens on every address of mysql-interfaces and serves clients in
// the background. A listener that fails later is reported on Failed.
func (s *Server) Start(ifaces string) error {
	lns, err := wire.ListenAll("mysql-interfaces", ifaces)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.ifaces = ifaces
	s.mu.Unlock()
	s.serveAll(lns)
	return nil
}

func (s *Server) serveAll(lns []net.Listener) {
	for _, ln := range lns {
		s.Log.Info("listening for MySQL clients", "addr", ln.Addr().String())
		go func() {
			if err := s.Serve(ln); err != nil {
				s.failed <- fmt.Errorf("mysql-interfaces %s: %w", ln.Addr(), err)
			}
		}()
	}
}

// Apply configures the parts of the data path that hold resources for a
// new runtime snapshot, before the admin publishes it: the events log file
// and the query cache size. On error the snapshot must not be published.
func (s *Server) Apply(snap *runtime.Snapshot) error {
	v := snap.Vars
	if err := s.Events.Configure(s.Datadir, v.EventslogFilename, v.EventslogFormat, v.EventslogFilesize); err != nil {
		return err
	}
	s.Cache.SetLimit(int64(v.QueryCacheSizeMB) << 20)
	s.Cache.SetSoftTTLPct(v.QueryCacheSoftTTLPct)
	return nil
}

// FlushLogs starts a new events log file (PROXYSQL FLUSH LOGS).
func (s *Server) FlushLogs() error {
	if !s.Events.Enabled() {
		return nil
	}
	return s.Events.Rotate()
}

// Failed delivers errors of listeners that stopped accepting.
func (s *Server) Failed() <-chan error { return s.failed }

// State is what the server is doing, for the node's health.
type State int

const (
	Serving  State = iota
	Paused         // PROXYSQL PAUSE: not accepting, sessions run on
	Draining       // Shutdown: not accepting, sessions end after their reply
	Stopped
)

func (s State) String() string {
	switch s {
	case Serving:
		return "serving"
	case Paused:
		return "paused (PROXYSQL PAUSE)"
	case Draining:
		return "draining its sessions to stop"
	}
	return "stopped"
}

// State reports whether the server accepts clients, and if not, why.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed && len(s.sessions) > 0:
		return Draining
	case s.closed:
		return Stopped
	case s.paused:
		return Paused
	case len(s.listeners) == 0:
		return Stopped
	}
	return Serving
}

// Pause stops accepting new clients (PROXYSQL PAUSE); sessions already
// connected keep running. The error texts are ProxySQL's.
func (s *Server) Pause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused {
		return errors.New("ProxySQL MySQL module is already paused, impossible to pause")
	}
	if s.closed {
		return errors.New("ProxySQL MySQL module not running, impossible to pause")
	}
	lns := s.listeners
	s.listeners, s.paused = nil, true
	for _, ln := range lns {
		ln.Close()
	}
	s.Log.Info("PROXYSQL PAUSE: stopped accepting MySQL clients", "listeners", len(lns), "sessions", len(s.sessions))
	return nil
}

// Resume listens again on mysql-interfaces (PROXYSQL RESUME). If an
// address cannot be bound the server stays paused and says why.
func (s *Server) Resume() error {
	s.mu.Lock()
	if !s.paused {
		s.mu.Unlock()
		return errors.New("ProxySQL MySQL module is not paused, impossible to resume")
	}
	ifaces := s.ifaces
	s.mu.Unlock()
	lns, err := wire.ListenAll("mysql-interfaces", ifaces)
	if err != nil {
		return fmt.Errorf("cannot resume, still paused: %w", err)
	}
	s.mu.Lock()
	s.paused = false
	s.mu.Unlock()
	s.serveAll(lns)
	s.Log.Info("PROXYSQL RESUME: accepting MySQL clients again")
	return nil
}

// Shutdown stops accepting and ends every client session gracefully, so
// that a client never loses a statement it sent:
//   - a session in the middle of a statement finishes it and is closed
//     right after its reply: the FIN follows the reply, so the client's
//     driver sees the connection closed before it sends the next command;
//   - a session waiting for its next command gets DrainQuiet to send one
//     (it is served and closed after the reply), and is closed when it
//     stays quiet. Closing it at once would race a command already on its
//     way: a client between two statements is idle for microseconds.
//
// Sessions still busy when ctx expires are cut; Shutdown then waits at
// most shutdownCut for them to unwind.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		close(s.stop)
		s.Cache.Close()
	}
	s.closed = true
	quiet := time.Now().Add(DrainQuiet)
	s.draining.Store(true)
	lns := s.listeners
	for _, ln := range lns {
		quiesce(ln, s.Log)
	}
	// The ports stay open, dropping new SYNs, until the sessions have
	// ended: a closed port would refuse them.
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	n := len(s.sessions)
	for _, sess := range s.sessions {
		// A session between statements that holds nothing: its next
		// read ends at quiet. A busy one decides after its reply (see
		// Session.drainStep); one in a transaction may finish it until
		// ctx expires.
		if !sess.busy.Load() && !sess.holding.Load() {
			sess.nc.SetReadDeadline(quiet)
		}
	}
	s.mu.Unlock()
	if n > 0 {
		s.Log.Info("shutdown: draining client sessions", "sessions", n, "quiet", DrainQuiet)
	}
	// Sessions are added only by Serve loops; once they have ended, the
	// session count can only fall.
	s.accepting.Wait()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	n = len(s.sessions)
	for _, sess := range s.sessions {
		sess.nc.Close()
	}
	s.mu.Unlock()
	s.Log.Warn("shutdown: grace expired, closing sessions with statements in flight", "sessions", n)
	t := time.NewTimer(shutdownCut)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return ctx.Err()
	}
}

// quiesce stops a listener from taking new connections without refusing
// them, and lets its Serve loop take the ones the kernel already queued
// or is still completing.
//
// Closing a listening socket resets every connection in its accept queue:
// the client has connected and is waiting for the greeting, and gets an
// error. Refusing a new connection fails the client's statement too. So
// a socket filter that drops SYNs goes on the listener first: a new
// connection attempt goes unanswered and the client's kernel sends it again after a
// second, when the VIP has moved to the other core (without a VIP the
// retry finds the port closed). Then the accept deadline lets Serve take
// what is queued; Shutdown closes the listener after the drain.
func quiesce(ln net.Listener, log *slog.Logger) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		ln.Close()
		return
	}
	if rc, err := tl.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			if err := syscall.AttachLsf(int(fd), dropSYN); err != nil {
				log.Warn("shutdown: cannot hold new connections back; they will be refused", "addr", ln.Addr().String(), "err", err)
			}
		})
	}
	// The deadline must lie ahead: Accept does not try the queue at all
	// once its deadline has passed.
	tl.SetDeadline(time.Now().Add(acceptQueueWait))
}

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

// DrainQuiet is how long a stopping server waits for the next command of
// a session that is between statements before it closes the session.
const DrainQuiet = 100 * time.Millisecond

// shutdownCut bounds the wait for sessions to unwind after their sockets
// were closed.
const shutdownCut = 500 * time.Millisecond

// ClientConnections returns the number of connected client sessions.
func (s *Server) ClientConnections() int64 { return s.clients.Load() }

func (s *Server) register(sess *Session) {
	s.mu.Lock()
	s.sessions[sess.id] = sess
	s.mu.Unlock()
}

func (s *Server) unregister(sess *Session) {
	s.mu.Lock()
	delete(s.sessions, sess.id)
	s.mu.Unlock()
	if sess.user != nil && sess.counted {
		s.forgetUser(sess.user)
	}
}

// forgetUser undoes admitUser.
func (s *Server) forgetUser(u *runtime.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userConns[u.Name]--
	if s.userConns[u.Name] <= 0 {
		delete(s.userConns, u.Name)
	}
}

// admitUser counts a new session of user against its max_connections.
func (s *Server) admitUser(u *runtime.User) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userConns[u.Name] >= u.MaxConnections {
		return false
	}
	s.userConns[u.Name]++
	return true
}

// UserConnections returns the number of sessions per frontend user.
func (s *Server) UserConnections() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.userConns))
	for u, n := range s.userConns {
		out[u] = n
	}
	return out
}

// Processlist describes every client session (stats_mysql_processlist).
func (s *Server) Processlist() []stats.Process {
	s.mu.Lock()
	sessions := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	out := make([]stats.Process, 0, len(sessions))
	now := time.Now()
	for _, sess := range sessions {
		if p, ok := sess.process(now); ok {
			out = append(out, p)
		}
	}
	return out
}

// Questions is the number of client commands served.
func (s *Server) Questions() int64 { return s.questions.Load() }

// Registry returns the statistics registry.
func (s *Server) Registry() *stats.Registry { return s.Stats }
