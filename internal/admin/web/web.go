// Package web is the admin's dashboard: ProxySQL's admin-web_enabled and
// admin-web_port, served over HTTPS with the node's certificate and HTTP
// digest authentication, as ProxySQL 2.7 serves its web UI.
//
// It is one page that polls a JSON endpoint about every second and shows
// the cluster (every node, every module's version, epoch and checksum,
// which nodes differ and why), the backends per hostgroup, the top query
// digests, the monitor's last errors, QPS and latency sparklines, and for
// admin users the configuration history. Every number comes from the
// admin's own tables, read the way an admin SQL session reads them (the
// same refresh, the same stats sandbox for stats users), so the page never
// disagrees with SELECT ... FROM stats.... The page, its script and its
// style are in this package (go:embed): nothing is fetched from elsewhere.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"sqlgate/internal/admin/store"
)

// Admin is what the dashboard reads of the admin. The admin implements it
// with a small adapter (admin/web.go), so its mutex and store stay
// unexported.
type Admin interface {
	// Login returns user's password and whether user is in
	// admin-admin_credentials (admin) or admin-stats_credentials (stats).
	Login(user string) (password string, admin, stats bool)
	// Reader opens a read session with the rights the admin SQL interface
	// gives an admin user (admin true) or a stats user: the tables a query
	// names are refreshed first, and a stats user's queries run in the
	// stats sandbox, which cannot read the configuration.
	Reader(ctx context.Context, admin bool) (Reader, error)
	// Version is the version the node reports (admin-version).
	Version() string
	// IsSelf reports whether the proxysql_servers entry host:port is
	// this node (the cluster's own test: the admin port, and the host
	// resolving to a local address), answered from a cache: it may
	// resolve a host name, and the page asks every second.
	IsSelf(host string, port int) bool
}

// Reader is one read session (see Admin.Reader). It is used by one
// goroutine and closed after the request.
type Reader interface {
	Query(ctx context.Context, q string) (*store.Result, error)
	Close()
}

// Request bounds. A dashboard request is a GET with no body; a client
// that sends more, or sends it slowly, is cut off.
const (
	maxHeaderBytes    = 16 << 10
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 15 * time.Second
	idleTimeout       = 60 * time.Second
	// buildTimeout bounds the reading of one state (the admin mutex
	// waits included).
	buildTimeout = 5 * time.Second
)

// Server is the dashboard listener of one node.
type Server struct {
	adm  Admin
	tls  *tls.Config
	log  *slog.Logger
	auth *digest

	states [2]stateCache // [0] stats users, [1] admin users
	series series

	mu   sync.Mutex // guards port, srv, ln
	port int
	srv  *http.Server
	ln   net.Listener
}

// New returns a dashboard for adm with no listener yet (see Serve).
// tlsConfig is the node's certificate, the one the admin interface offers.
func New(adm Admin, tlsConfig *tls.Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{adm: adm, tls: tlsConfig, log: log, auth: newDigest()}
}

// Serve starts, moves or stops the listener to match admin-web_enabled and
// admin-web_port. The admin calls it before it publishes the variables:
// the new port is bound before the old one is closed, so a port that
// cannot be bound fails the LOAD and the running listener stays.
func (s *Server) Serve(enabled bool, port int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if enabled && s.srv != nil && s.port == port {
		return nil
	}
	var ln net.Listener
	if enabled {
		if s.tls == nil {
			return fmt.Errorf("global_variables row admin-web_enabled: the dashboard needs the node's TLS certificate, which is not loaded; set admin-web_enabled=false")
		}
		// All addresses, as ProxySQL binds its web port.
		tcp, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("global_variables row admin-web_port: cannot listen on port %d: %v; choose a free port or set admin-web_enabled=false", port, err)
		}
		conf := s.tls.Clone()
		conf.NextProtos = []string{"h2", "http/1.1"}
		ln = tls.NewListener(tcp, conf)
	}
	s.closeLocked()
	if !enabled {
		return nil
	}
	srv := &http.Server{
		Handler:           s.handler(),
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		// TLS handshakes that fail (a curl without -k, a port scan) are
		// not worth a log line each.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.port, s.srv, s.ln = port, srv, ln
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin-web_port: dashboard listener stopped", "err", err)
		}
	}()
	s.log.Info("dashboard listening (HTTPS, digest authentication)", "addr", ln.Addr().String())
	return nil
}

// Addr is the listener's address, nil when the dashboard is off.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops the listener (at shutdown).
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked()
}

// closeLocked stops the running listener, letting requests in progress
// finish for a second. s.mu is held.
func (s *Server) closeLocked() {
	if s.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	cancel()
	s.log.Info("dashboard stopped", "addr", s.ln.Addr().String())
	s.srv, s.ln, s.port = nil, nil, 0
}
