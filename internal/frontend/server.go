// Package frontend serves MySQL clients: the handshake and authentication,
// the command loop of each session, routing of statements to hostgroups,
// the session state that is replayed lazily on pooled backend connections,
// and the forwarding of results.
package frontend

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/eventlog"
	"sqlgate/internal/frontend/listener"
	"sqlgate/internal/frontend/mirror"
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
	// pool, cache and events are what sessions use of Pool, Cache and
	// Events; a unit test puts fakes here.
	pool   connPool
	cache  queryCache
	events eventSink
	Log    *slog.Logger
	TLS    *tls.Config // nil disables TLS even when mysql-have_ssl is true
	Stats  *stats.Registry
	// Events is the query events log (mysql-eventslog_*), configured by
	// Apply. Datadir is where a relative mysql-eventslog_filename goes.
	Events  *eventlog.Log
	Datadir string
	// Cache is the query cache (cache_ttl rules and annotations).
	Cache *qcache.Cache

	stmts   stmt.Registry
	mirrors mirror.Queue
	started time.Time

	nextID        atomic.Uint32
	clients       atomic.Int64
	questions     atomic.Int64
	queryTimeouts atomic.Int64 // statements stopped with KILL QUERY

	stop chan struct{} // closed by Shutdown: ends background loops

	listeners *listener.Group

	mu        sync.Mutex
	userConns map[string]int
	sessions  map[uint32]*Session
	closed    bool
	draining  atomic.Bool // Shutdown started: sessions close after their current reply

	handshakes  *wire.Handshakes // clients not yet logged in, bounded
	refusedLast atomic.Int64     // unix second of the last "too many handshakes" log line
	wg          sync.WaitGroup   // sessions
}

// NewServer returns a server using the snapshots in store and the pool.
func NewServer(store *runtime.Store, pool *backend.Pool, tlsConf *tls.Config, log *slog.Logger) *Server {
	s := &Server{
		Store: store, Pool: pool, pool: pool, TLS: tlsConf, Log: log, started: time.Now(),
		userConns: map[string]int{}, sessions: map[uint32]*Session{}, Stats: stats.New(200000),
		stop: make(chan struct{}), Events: eventlog.New(log),
		Cache:      qcache.New(256 << 20),
		handshakes: wire.NewHandshakes(MaxHandshakes),
	}
	s.listeners = listener.New(log, s.startSession)
	s.cache, s.events = s.Cache, s.Events
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

// queryCache is what a session needs from the query cache, once per
// cached statement. *qcache.Cache implements it.
type queryCache interface {
	Get(k qcache.Key, now time.Time) ([]byte, bool)
	Set(k qcache.Key, data []byte, ttl time.Duration, now time.Time) bool
}

// eventSink is what a session needs from the events log, once per
// statement. *eventlog.Log implements it.
type eventSink interface {
	Enabled() bool
	Write(e *eventlog.Event)
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
func (s *Server) Serve(ln net.Listener) error { return s.listeners.Serve(ln) }

// startSession runs a session for a connection just accepted.
func (s *Server) startSession(nc net.Conn) {
	sess := newSession(s, nc)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sess.serve()
	}()
}

// Start listens on every address of mysql-interfaces and serves clients in
// the background. A listener that fails later is reported on Failed.
func (s *Server) Start(ifaces string) error { return s.listeners.Start(ifaces) }

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
func (s *Server) Failed() <-chan error { return s.listeners.Failed() }

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
	case s.listeners.Paused():
		return Paused
	case !s.listeners.Listening():
		return Stopped
	}
	return Serving
}

// Pause stops accepting new clients (PROXYSQL PAUSE); sessions already
// connected keep running. The error texts are ProxySQL's.
func (s *Server) Pause() error {
	n, err := s.listeners.Pause()
	if err != nil {
		return err
	}
	s.mu.Lock()
	sessions := len(s.sessions)
	s.mu.Unlock()
	s.Log.Info("PROXYSQL PAUSE: stopped accepting MySQL clients", "listeners", n, "sessions", sessions)
	return nil
}

// Resume listens again on mysql-interfaces (PROXYSQL RESUME). If an
// address cannot be bound the server stays paused and says why.
func (s *Server) Resume() error {
	if err := s.listeners.Resume(); err != nil {
		return err
	}
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
	// The ports stay open, dropping new SYNs, until the sessions have
	// ended: a closed port would refuse them.
	closePorts := s.listeners.Quiesce()
	defer closePorts()
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
	s.listeners.Wait()
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
		host, port := splitHostPort(sess.remote)
		if p, ok := sess.act.Process(now, sess.id, host, port); ok {
			out = append(out, p)
		}
	}
	return out
}

// Questions is the number of client commands served.
func (s *Server) Questions() int64 { return s.questions.Load() }

// Registry returns the statistics registry.
func (s *Server) Registry() *stats.Registry { return s.Stats }
