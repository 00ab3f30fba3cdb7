// Package frontend serves MySQL clients: the handshake and authentication,
// the command loop of each session, routing of statements to hostgroups,
// the session state that is replayed lazily on pooled backend connections,
// and the forwarding of results.
package frontend

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/runtime"
	"sqlgate/internal/stats"
)

// Server accepts client connections and runs one goroutine per session.
type Server struct {
	Store *runtime.Store
	Pool  *backend.Pool
	Log   *slog.Logger
	TLS   *tls.Config // nil disables TLS even when mysql-have_ssl is true
	Stats *stats.Registry

	stmts   stmtRegistry
	started time.Time

	nextID    atomic.Uint32
	clients   atomic.Int64
	questions atomic.Int64

	mu        sync.Mutex
	userConns map[string]int
	sessions  map[uint32]*Session
	listeners []net.Listener
	closed    bool
	wg        sync.WaitGroup
}

// NewServer returns a server using the snapshots in store and the pool.
func NewServer(store *runtime.Store, pool *backend.Pool, tlsConf *tls.Config, log *slog.Logger) *Server {
	return &Server{
		Store: store, Pool: pool, TLS: tlsConf, Log: log, started: time.Now(),
		userConns: map[string]int{}, sessions: map[uint32]*Session{}, Stats: stats.New(200000),
		stmts: stmtRegistry{byKey: map[string]*stmtEntry{}},
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
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
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

// Shutdown stops accepting, closes every client connection and waits for
// the sessions to end or ctx to expire.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for _, ln := range s.listeners {
		ln.Close()
	}
	for _, sess := range s.sessions {
		sess.nc.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

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
