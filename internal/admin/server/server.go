// Package server is the admin interface's MySQL side: the
// admin-mysql_ifaces listeners, logins with admin-admin_credentials or
// admin-stats_credentials, and a goroutine per session that reads
// statements and writes text results. ProxySQL's own statements are a
// table of {match, run} (commands.go); every other statement runs on the
// admin's SQLite store. What a LOAD or SAVE does is the Admin's.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"sqlgate/internal/admin/store"
	"sqlgate/internal/wire"
)

// adminCaps are the capabilities the admin listener offers. The admin
// protocol is plain: text queries and text results.
const adminCaps = wire.ClientLongPassword | wire.ClientFoundRows | wire.ClientLongFlag | wire.ClientConnectWithDB |
	wire.ClientProtocol41 | wire.ClientInteractive | wire.ClientTransactions | wire.ClientSecureConnection |
	wire.ClientMultiResults | wire.ClientPluginAuth | wire.ClientConnectAttrs | wire.ClientPluginAuthLenencClientData

var sessionIDs atomic.Uint32

// Admin is what the sessions ask of the admin. Statements of admin
// sessions run between Lock and Unlock, the admin's global mutex (as in
// ProxySQL), and so do the refreshes of a stats session.
type Admin interface {
	sync.Locker
	Store() *store.Store
	Version() string
	NodeUUID() string
	// GlobalChecksum is SELECT GLOBAL_CHECKSUM(): the cluster's hash of
	// every module's checksum.
	GlobalChecksum() uint64
	// Login returns user's stored password and whether user is in
	// admin-admin_credentials or admin-stats_credentials.
	Login(user string) (password string, admin, stats bool)
	ReadOnly() bool // admin-read_only: SQL may not write
	SetReadOnly(bool)
	// KnownVariable reports whether SET may change a prefixed variable
	// (admin-x or mysql-x).
	KnownVariable(name string) bool
	// Refresh regenerates the runtime_* and stats_* tables upper (the
	// statement in upper case) reads; statsOnly limits it to stats.
	Refresh(ctx context.Context, upper string, statsOnly bool) error
	// LoadSave runs LOAD|SAVE <module> TO|FROM <layer> for who
	// (user@host), returning the rows affected and the info text.
	LoadSave(ctx context.Context, who, verb, module, dir, layer string) (uint64, string, error)
	// ConfigDiff answers SQLGATE CONFIG DIFF <from> <to>.
	ConfigDiff(ctx context.Context, from, to int64) (*store.Result, error)
	// ConfigRestore answers SQLGATE CONFIG RESTORE <revision> for who.
	ConfigRestore(ctx context.Context, rev int64, who string) error
	// ProxySelect answers a cluster peer's PROXY_SELECT fetch.
	ProxySelect(upper string) (*store.Result, error)
	ResetDigests()          // TRUNCATE stats_mysql_query_digest
	Control() Controller    // the data path, nil when it is not running
	Shutdown(reason string) // PROXYSQL SHUTDOWN / KILL
}

// Controller is the data path as admin commands switch it.
type Controller interface {
	Pause() error         // PROXYSQL PAUSE
	Resume() error        // PROXYSQL RESUME
	FlushQueryCache() int // PROXYSQL FLUSH QUERY CACHE; returns the entries dropped
	FlushLogs() error     // PROXYSQL FLUSH LOGS: reopen the events log
}

// Server serves the admin interface's listeners.
type Server struct {
	adm        Admin
	tls        *tls.Config // offered to clients when not nil
	log        *slog.Logger
	handshakes *wire.Handshakes // clients not yet logged in, bounded

	lnMu      sync.Mutex
	listeners []net.Listener
}

// New returns a server for adm with no listeners yet (see Rebind).
func New(adm Admin, tlsConfig *tls.Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{adm: adm, tls: tlsConfig, log: log, handshakes: wire.NewHandshakes(maxAdminHandshakes)}
}

// Addrs returns the addresses the admin listeners are bound to.
func (srv *Server) Addrs() []net.Addr {
	srv.lnMu.Lock()
	defer srv.lnMu.Unlock()
	var out []net.Addr
	for _, ln := range srv.listeners {
		out = append(out, ln.Addr())
	}
	return out
}

// Close closes the listeners; sessions end when their client does or the
// store closes.
func (srv *Server) Close() {
	for _, ln := range srv.swapListeners(nil) {
		ln.Close()
	}
}

// Rebind replaces the listeners (bound to prev) with ones on ifaces (a
// ';'-separated list of host:port or socket paths). On error the old
// listeners stay. An address already held by one of this node's own
// listeners (a change of host on the same port) is taken over: the old
// listeners close, the new ones bind, and if that fails the old ones are
// bound again.
func (srv *Server) Rebind(ifaces, prev string) error {
	lns, err := wire.ListenAll("admin-mysql_ifaces", ifaces)
	if err != nil && errors.Is(err, syscall.EADDRINUSE) && prev != "" {
		old := srv.swapListeners(nil)
		for _, ln := range old {
			ln.Close()
		}
		if lns, err = wire.ListenAll("admin-mysql_ifaces", ifaces); err != nil {
			back, berr := wire.ListenAll("admin-mysql_ifaces", prev)
			if berr != nil {
				srv.log.Error("admin-mysql_ifaces: cannot listen on the previous addresses again", "ifaces", prev, "err", berr)
			}
			srv.serveListeners(back)
			return err
		}
	}
	if err != nil {
		return err
	}
	for _, ln := range srv.swapListeners(lns) {
		ln.Close()
	}
	srv.serveListeners(lns)
	return nil
}

// swapListeners installs lns and returns the listeners they replace.
func (srv *Server) swapListeners(lns []net.Listener) []net.Listener {
	srv.lnMu.Lock()
	defer srv.lnMu.Unlock()
	old := srv.listeners
	srv.listeners = lns
	return old
}

func (srv *Server) serveListeners(lns []net.Listener) {
	if lns == nil {
		return
	}
	srv.lnMu.Lock()
	if srv.listeners == nil {
		srv.listeners = lns
	}
	srv.lnMu.Unlock()
	for _, ln := range lns {
		srv.log.Info("admin interface listening", "addr", ln.Addr().String())
		go srv.serve(ln)
	}
}

func (srv *Server) serve(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return
		}
		go srv.ServeConn(nc)
	}
}

// maxAdminHandshakes bounds the admin connections not yet logged in (each
// has adminHandshakeTimeout to do so, after waiting at most as long for a
// slot): connections that never log in cannot exhaust the node.
const maxAdminHandshakes = 64

// session is one admin client connection.
type session struct {
	srv    *Server
	a      Admin
	c      *wire.Conn
	id     uint32
	user   string
	stats  bool // logged in with admin-stats_credentials: read-only stats
	caps   uint32
	remote string
	local  bool
	uuid   string           // set by PROXYSQL CLUSTER_NODE_UUID
	sc     *store.StatsConn // a stats session's own SQLite connection, opened on first use
}

// ServeConn serves one accepted connection until the client leaves.
func (srv *Server) ServeConn(nc net.Conn) {
	s := &session{srv: srv, a: srv.adm, c: wire.NewConn(nc), id: sessionIDs.Add(1), remote: nc.RemoteAddr().String()}
	s.local = isLocal(nc)
	defer nc.Close()
	if !srv.handshakes.Enter(adminHandshakeTimeout) {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		s.c.WritePacket(wire.AppendErr(nil, wire.Errorf(wire.ErConCount, "08004", "Too many connections: %d admin clients are still logging in", maxAdminHandshakes)))
		s.c.Flush()
		return
	}
	err := s.handshake()
	srv.handshakes.Leave()
	if err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			s.c.WritePacket(wire.AppendErr(nil, we))
			s.c.Flush()
			srv.log.Warn("admin login refused", "client", s.remote, "err", we.Message)
		} else if !errors.Is(err, io.EOF) {
			srv.log.Debug("admin handshake failed", "client", s.remote, "err", err)
		}
		return
	}
	s.loop()
	if s.sc != nil {
		s.sc.Close()
	}
}

// isLocal reports whether the peer is loopback or a Unix socket: the
// literal users admin and stats may only log in from there.
func isLocal(nc net.Conn) bool {
	switch addr := nc.RemoteAddr().(type) {
	case *net.TCPAddr:
		return addr.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// adminHandshakeTimeout bounds an admin login, and the wait for a
// handshake slot before it.
const adminHandshakeTimeout = 10 * time.Second

func (s *session) handshake() error {
	s.c.Conn.SetDeadline(time.Now().Add(adminHandshakeTimeout))
	defer s.c.Conn.SetDeadline(time.Time{})
	caps := uint32(adminCaps)
	if s.srv.tls != nil {
		caps |= wire.ClientSSL
	}
	salt := wire.NewSalt()
	g := wire.Greeting{ServerVersion: s.a.Version(), ConnID: s.id, Salt: salt, Caps: caps, Charset: 33,
		Status: wire.StatusAutocommit, AuthPlugin: wire.NativePassword}
	hr, _, err := s.c.Accept(&g, s.srv.tls, wire.Errorf(wire.ErAccessDenied, "28000", "TLS is not enabled on the admin interface"))
	if err != nil {
		return err
	}
	s.caps = hr.Caps & caps
	resp := hr.AuthResponse
	if hr.AuthPlugin != "" && hr.AuthPlugin != wire.NativePassword {
		if resp, err = s.c.SwitchToNative(salt); err != nil {
			return err
		}
	}
	pw, isAdmin, isStats := s.a.Login(hr.User)
	using := "YES"
	if len(resp) == 0 {
		using = "NO"
	}
	denied := wire.Errorf(wire.ErAccessDenied, "28000", "Access denied for user '%s'@'%s' (using password: %s)", hr.User, hostOf(s.remote), using)
	if !isAdmin && !isStats {
		pw = "\x00no such user" // verify anyway: the same work and answer as a wrong password
	}
	cred, _ := wire.ParseStoredPassword(pw)
	if _, ok := cred.VerifyNative(salt, resp); !ok || !isAdmin && !isStats {
		return denied
	}
	if (hr.User == "admin" && isAdmin || hr.User == "stats" && !isAdmin) && !s.local {
		// The same answer as a wrong password, so a remote client cannot
		// test the default passwords; the log says why.
		s.srv.log.Warn(fmt.Sprintf("admin login refused: user '%s' can only connect locally; add another user to admin-%s for remote access",
			hr.User, map[bool]string{true: "admin_credentials", false: "stats_credentials"}[isAdmin]), "client", s.remote)
		return denied
	}
	s.user, s.stats = hr.User, !isAdmin
	return s.c.WritePacket(wire.AppendOK(nil, wire.OKHeader, wire.OK{Status: wire.StatusAutocommit}))
}

// who is the session's user and client host, as the configuration history
// names the source of a change.
func (s *session) who() string { return s.user + "@" + hostOf(s.remote) }

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

func (s *session) loop() {
	for {
		if err := s.c.Flush(); err != nil {
			return
		}
		p, err := s.c.ReadPacket(64 << 20)
		if err != nil {
			if errors.Is(err, wire.ErrPacketTooLarge) {
				s.writeErr(wire.Errorf(1153, "08S01", "Got a packet bigger than 64 MiB"))
				s.c.Flush()
			}
			return
		}
		if len(p) == 0 {
			return
		}
		switch p[0] {
		case wire.ComQuit:
			return
		case wire.ComPing, wire.ComInitDB, wire.ComResetConnection:
			s.writeOK(0, "")
		case wire.ComQuery:
			s.query(string(p[1:]))
		case wire.ComFieldList:
			s.writeErr(wire.Errorf(1047, "08S01", "COM_FIELD_LIST is not supported by the admin interface; use SHOW FIELDS FROM"))
		default:
			s.writeErr(wire.Errorf(1047, "08S01", "command %d is not supported by the admin interface", p[0]))
		}
	}
}

func (s *session) writeOK(affected uint64, info string) {
	s.c.WritePacket(wire.AppendOK(nil, wire.OKHeader, wire.OK{AffectedRows: affected, Status: wire.StatusAutocommit, Info: info}))
}

func (s *session) writeErr(e *wire.Error) {
	s.c.WritePacket(wire.AppendErr(nil, e))
}

// writeResult sends a text result set; every column is a string, as in
// ProxySQL's admin.
func (s *session) writeResult(r *store.Result) {
	s.c.WriteTextResult(nil, r.Cols, r.Rows, wire.StatusAutocommit, false)
}
