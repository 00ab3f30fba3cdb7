package frontend

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/frontend/processlist"
	"sqlgate/internal/frontend/sessionstate"
	"sqlgate/internal/frontend/stmt"
	"sqlgate/internal/router"
	"sqlgate/internal/runtime"
	"sqlgate/internal/wire"
)

// serverCaps are the capabilities sqlgate offers clients. Compression is not
// offered: it is not implemented yet.
const serverCaps = wire.ClientLongPassword | wire.ClientFoundRows | wire.ClientLongFlag |
	wire.ClientConnectWithDB | wire.ClientNoSchema | wire.ClientODBC | wire.ClientLocalFiles |
	wire.ClientIgnoreSpace | wire.ClientProtocol41 | wire.ClientInteractive | wire.ClientIgnoreSigpipe |
	wire.ClientTransactions | wire.ClientSecureConnection | wire.ClientMultiStatements |
	wire.ClientMultiResults | wire.ClientPSMultiResults | wire.ClientPluginAuth | wire.ClientConnectAttrs |
	wire.ClientPluginAuthLenencClientData | wire.ClientCanHandleExpiredPasswords

// Session is one client connection.
type Session struct {
	srv     *Server
	c       *wire.Conn
	nc      net.Conn // the raw socket, for Shutdown (c.Conn changes on TLS upgrade)
	id      uint32
	salt    []byte
	user    *runtime.User
	cred    wire.Credential // the user's credential, with SHA1(pw) once learned
	counted bool            // counted in srv.userConns
	tls     bool
	caps    uint32 // negotiated with the client
	remote  string
	// Addresses for query rules (client_addr, proxy_addr, proxy_port),
	// computed once per session instead of once per statement.
	clientHost string
	proxyAddr  string
	proxyPort  int

	state   sessionstate.State
	backend map[int]*backend.Conn // attached backend connection per hostgroup

	trxHG        int // transaction-persistent hostgroup, -1 none
	nextFlagIN   int // flagIN for the next statement's rules (next_query_flagIN), -1 none
	lockedHG     int // hostgroup the session is locked to, -1 none
	lastInsertHG int
	insertDelay  int
	lastInsertID uint64

	stmts stmt.Table // the client's prepared statements

	out        []byte          // scratch buffer for locally built packets
	last       wire.Reply      // the reply of the last statement, for statistics
	lastServer *backend.Server // the server that ran the last statement, for the events log
	capture    *wire.Recorder  // records the reply for the query cache, nil when not caching

	// act is what the session is doing, for the processlist, the
	// watchdog and KILL, which read it from other goroutines.
	act processlist.Entry

	// busy is set from reading a command until its reply is flushed, and
	// holding while the session keeps a backend connection between
	// statements (transaction, locks): a draining server gives only idle
	// sessions that hold nothing a short deadline.
	busy, holding atomic.Bool
}

// setActivity records that the session began running query on hostgroup
// hg, or went idle (query "", hg -1).
func (s *Session) setActivity(query string, hg int) {
	s.act.Start(s.user.Name, s.state.Schema, query, hg)
}

func newSession(srv *Server, nc net.Conn) *Session {
	s := &Session{
		srv: srv, c: wire.NewConn(nc), nc: nc, id: srv.nextID.Add(1), remote: nc.RemoteAddr().String(),
		backend: map[int]*backend.Conn{}, trxHG: -1, nextFlagIN: -1, lockedHG: -1, lastInsertHG: -1,
	}
	s.clientHost = s.host()
	s.proxyAddr, s.proxyPort = splitHostPort(nc.LocalAddr().String())
	return s
}

func (s *Session) serve() {
	s.srv.clients.Add(1)
	s.srv.register(s)
	defer func() {
		s.releaseAll(false)
		s.closeAllStmts()
		s.srv.unregister(s)
		s.srv.clients.Add(-1)
		s.c.Conn.Close()
		s.c.Release() // only this goroutine uses s.c, and it is done
	}()
	rt := s.srv.Store.Load()
	if !s.srv.handshakes.Enter(rt.Vars.ConnectTimeoutClient) {
		s.srv.refuseHandshake(s)
		return
	}
	err := s.handshake(rt)
	s.srv.handshakes.Leave()
	if err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			s.writeErr(we)
			s.c.Flush()
		}
		if !errors.Is(err, io.EOF) {
			s.srv.Log.Debug("client handshake failed", "client", s.remote, "err", err)
		}
		return
	}
	if err := s.c.Flush(); err != nil {
		return
	}
	if st := s.srv.Stats; st != nil {
		st.ClientConnectionsCreated.Add(1)
	}
	s.setActivity("", -1)
	s.loop()
}

// handshake runs the greeting, optional TLS upgrade and authentication.
func (s *Session) handshake(rt *runtime.Snapshot) error {
	v := rt.Vars
	s.c.Conn.SetDeadline(time.Now().Add(v.ConnectTimeoutClient))
	defer s.c.Conn.SetDeadline(time.Time{})
	if s.srv.clients.Load() > int64(v.MaxConnections) {
		return wire.Errorf(wire.ErConCount, "08004", "Too many connections")
	}
	caps := serverCaps
	if v.HaveSSL && s.srv.TLS != nil {
		caps |= wire.ClientSSL
	}
	if v.EnableClientDeprecateEOF {
		caps |= wire.ClientDeprecateEOF
	}
	s.salt = wire.NewSalt()
	g := wire.Greeting{
		ServerVersion: v.ServerVersion, ConnID: s.id, Salt: s.salt, Caps: caps,
		Charset: sessionstate.DefaultCollation, Status: wire.StatusAutocommit, AuthPlugin: v.DefaultAuthenticationPlugin,
	}
	hr, upgraded, err := s.c.Accept(&g, s.srv.TLS, wire.Errorf(wire.ErAccessDenied, "28000", "TLS was requested but is not enabled on this server (mysql-have_ssl)"))
	if err != nil {
		return err
	}
	s.tls = upgraded
	s.caps = hr.Caps & caps
	if err := s.authenticate(rt, hr.User, hr.AuthPlugin, hr.AuthResponse); err != nil {
		return err
	}
	u := s.user
	if u.UseSSL && !s.tls {
		return wire.Errorf(wire.ErAccessDenied, "28000", "Access denied for user '%s'@'%s' (SSL is required for this user)", u.Name, s.host())
	}
	if !s.srv.admitUser(u) {
		return wire.Errorf(wire.ErUserLimitReached, "42000", "User '%s' has exceeded the 'max_user_connections' resource", u.Name)
	}
	s.counted = true
	schema := hr.DB
	if schema == "" {
		schema = u.DefaultSchema
	}
	if schema == "" {
		schema = v.DefaultSchema
	}
	s.resetState(schema, hr.Charset)
	if hr.DB != "" {
		if err := s.checkConnectSchema(rt); err != nil {
			return err
		}
	}
	return s.writeOKStatus(wire.OK{})
}

// checkConnectSchema applies the database the client connects with on a
// backend, so that one that does not exist or is not permitted fails the
// login with the server's error (1049, 1044), as a direct connection
// would, instead of every later statement. When no backend can be
// reached the login succeeds (as in ProxySQL) and statements report it.
func (s *Session) checkConnectSchema(rt *runtime.Snapshot) error {
	hg := s.currentHG()
	bc, _, err := s.backendFor(rt, hg, nil)
	if err != nil {
		var we *wire.Error
		if errors.As(err, &we) && (we.Code == 1049 || we.Code == 1044) {
			return we
		}
		s.srv.Log.Debug("login: the default database could not be checked", "session", s.id, "schema", s.state.Schema, "err", err)
		return nil
	}
	s.afterStatement(rt, hg, bc, wire.Reply{}, &stmt.Info{Cmd: router.CmdUse})
	return nil
}

func (s *Session) resetState(schema string, collation uint8) {
	s.state = sessionstate.New(schema, collation, s.caps)
	s.trxHG, s.lockedHG, s.lastInsertHG, s.insertDelay = -1, -1, -1, 0
}

func (s *Session) host() string {
	h, _, err := net.SplitHostPort(s.remote)
	if err != nil {
		return s.remote
	}
	return h
}

// authenticate verifies the client's credentials for user (see
// wire.Conn.VerifyLogin), with the credential mysql_users stores.
func (s *Session) authenticate(rt *runtime.Snapshot, user, plugin string, resp []byte) error {
	u := rt.Users[user]
	var cred wire.Credential
	if u != nil {
		cred = u.Cred
	} else {
		// Unknown users go through the same exchange and fail the same way,
		// so a client cannot tell unknown users from wrong passwords.
		cred, _ = wire.ParseStoredPassword("\x00no such user")
	}
	login, err := s.c.VerifyLogin(cred, s.salt, plugin, resp, s.caps&wire.ClientPluginAuth != 0, s.tls)
	if err != nil {
		return err
	}
	if !login.OK && plugin == wire.CachingSHA2Password && len(resp) > 0 && !s.tls && u != nil && !cred.HasCleartext {
		s.srv.Log.Info("client login refused: caching_sha2_password full authentication needs TLS because mysql_users stores a hashed password; connect with TLS or use mysql_native_password",
			"user", user, "client", s.remote)
	}
	if !login.OK || u == nil {
		using := "YES"
		if !login.Password {
			using = "NO"
		}
		return wire.Errorf(wire.ErAccessDenied, "28000", "Access denied for user '%s'@'%s' (using password: %s)", user, s.host(), using)
	}
	s.user = u
	s.cred = login.Cred
	return nil
}

// loop reads and dispatches commands until the client quits or fails.
func (s *Session) loop() {
	var deadlineSet time.Time
	// hangable: the reply to the last command is held back by the cork
	// and that command ends a client operation (see drainStep).
	replied, hangable := false, false
	for {
		s.busy.Store(false)
		s.holding.Store(len(s.backend) > 0)
		rt := s.srv.Store.Load()
		// wait_timeout is hours: refreshing the deadline once a second is
		// precise enough and keeps timer work off the per-statement path.
		if now := time.Now(); rt.Vars.WaitTimeout > 0 && now.Sub(deadlineSet) > time.Second {
			s.c.Conn.SetReadDeadline(now.Add(rt.Vars.WaitTimeout))
			deadlineSet = now
		}
		// Checked after the deadline above, so a drain that starts in
		// between still gets its own deadline (Shutdown sets draining
		// before it sets deadlines).
		if s.srv.draining.Load() && s.drainStep(replied && hangable) {
			return
		}
		replied = true
		p, err := s.c.ReadPacket(rt.Vars.MaxAllowedPacket)
		if err == nil {
			s.busy.Store(true)
			hangable = false
			if s.srv.draining.Load() {
				// The drain deadline is for waiting on a command, not for
				// reading what this one streams (LOAD DATA LOCAL). The
				// reply is held back until drainStep has decided whether
				// the FIN goes with it. Only a draining session asks what
				// the command was: nothing is added to the statement path.
				s.c.Conn.SetReadDeadline(time.Time{})
				wire.SetCork(s.nc, true)
				hangable = len(p) > 0 && stmt.IdleAfter(p)
			}
		}
		if err != nil {
			if errors.Is(err, wire.ErrPacketTooLarge) {
				s.c.Seq = 1
				s.writeErr(wire.Errorf(wire.ErNetPacketTooLarge, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes (%d)", rt.Vars.MaxAllowedPacket))
				s.c.Flush()
			}
			return
		}
		if len(p) == 0 {
			s.writeErr(wire.Errorf(wire.ErMalformedPacket, "HY000", "Malformed communication packet: empty command"))
			if s.c.Flush() != nil {
				return
			}
			continue
		}
		s.srv.questions.Add(1)
		if err := s.dispatch(rt, p); err != nil {
			var we *wire.Error
			if errors.As(err, &we) {
				if s.writeErr(we) == nil && s.c.Flush() == nil {
					continue
				}
			}
			if !errors.Is(err, errQuit) && !errors.Is(err, io.EOF) {
				s.srv.Log.Debug("session ended", "session", s.id, "client", s.remote, "err", err)
			}
			return
		}
		if err := s.c.Flush(); err != nil {
			return
		}
	}
}

var errQuit = errors.New("client quit")

// drainStep runs between two commands while the server drains. It ends
// the session (true) when the client is between operations: the last
// command ended one (see stmt.IdleAfter), its reply is still held back by the
// cork (so the client cannot have sent anything after it), no backend
// connection is held (a transaction, locks, pinned state), and no next
// command has arrived. Otherwise it sends the reply and sets how long to
// wait for the next command: DrainQuiet, or up to the drain deadline for
// a session that holds a backend connection (a transaction in progress
// must be allowed to commit).
func (s *Session) drainStep(hangable bool) bool {
	pending := s.c.Buffered() > 0 || wire.Readable(s.nc)
	if hangable && !pending && len(s.backend) == 0 {
		// The FIN leaves in the same segment as the reply.
		s.hangUp()
		return true
	}
	wire.SetCork(s.nc, false) // send the reply now
	if len(s.backend) == 0 {
		s.c.Conn.SetReadDeadline(time.Now().Add(DrainQuiet))
	} else {
		s.c.Conn.SetReadDeadline(time.Time{})
	}
	return false
}

// hangUp sends the FIN, before any clean-up: the client must see the
// connection closed before it sends its next command, or that command is
// lost. A client driver checks an idle connection before reusing it
// (go-sql-driver's CheckConnLiveness, the C client's reconnect), which only
// works if the FIN is already there. The reply is still corked here, and
// a shutdown sends what is queued with the FIN in the same segment;
// uncorking first would let the reply go ahead alone. CloseWrite, not Close: with a command
// already pipelined behind and unread, Close would send a reset, which can
// destroy the reply in the client's receive queue.
func (s *Session) hangUp() {
	if tc, ok := s.c.Conn.(*tls.Conn); ok {
		tc.CloseWrite()
	}
	if cw, ok := s.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	s.nc.Close()
}

// errReroute says that a statement waited for a server of a hostgroup
// chosen with a runtime configuration that has since been replaced, and
// nothing of it was sent: dispatch routes it again with the new one.
var errReroute = errors.New("reroute")

// maxReroutes bounds how often one command is routed again: each takes a
// new configuration published while it waited.
const maxReroutes = 3

// dispatch handles one command. A *wire.Error result is sent to the client
// and the session goes on; any other error ends the session.
//
// A statement that waits for a server while a LOAD replaces the runtime
// configuration is routed again with the new one: the wait may be for a
// hostgroup the new rules no longer send it to, or the new servers no
// longer have. Its rule hits and mirror copy then count twice; this is
// rare (a reconfiguration during a wait) and the statement itself runs
// once.
func (s *Session) dispatch(rt *runtime.Snapshot, p []byte) error {
	for i := 0; ; i++ {
		err := s.dispatchOnce(rt, p)
		if !errors.Is(err, errReroute) {
			return err
		}
		if i == maxReroutes {
			return wire.Errorf(wire.ErProxyMaxConnectTimeout, "HY000", "the runtime configuration changed %d times while the statement waited for a server; retry it", maxReroutes+1)
		}
		rt = s.srv.Store.Load()
	}
}

func (s *Session) dispatchOnce(rt *runtime.Snapshot, p []byte) error {
	switch p[0] {
	case wire.ComQuery:
		return s.comQuery(rt, p)
	case wire.ComStmtPrepare:
		return s.comStmtPrepare(rt, p)
	case wire.ComStmtExecute:
		return s.comStmtExecute(rt, p)
	case wire.ComStmtSendLongData:
		return s.comStmtSendLongData(rt, p)
	case wire.ComStmtClose:
		return s.comStmtClose(p)
	case wire.ComStmtReset:
		return s.comStmtReset(p)
	case wire.ComStmtFetch:
		return s.comStmtFetch(p)
	case wire.ComPing:
		return s.writeOKStatus(wire.OK{})
	case wire.ComQuit:
		return errQuit
	case wire.ComInitDB:
		return s.initDB(rt, string(p[1:]))
	case wire.ComFieldList:
		return s.comFieldList(rt, p)
	case wire.ComStatistics:
		return s.comStatistics()
	case wire.ComSetOption:
		return s.comSetOption(p)
	case wire.ComResetConnection:
		return s.comResetConnection()
	case wire.ComChangeUser:
		return s.comChangeUser(rt, p)
	case wire.ComProcessKill:
		return wire.Errorf(wire.ErProxyCommandUnsupported, "28000", "Command not supported: use KILL [CONNECTION|QUERY] <id> as a query")
	case wire.ComBinlogDump, wire.ComBinlogDumpGTID, wire.ComRegisterSlave:
		return wire.Errorf(wire.ErNotSupportedYet, "42000", "replication commands are not supported through sqlgate yet; connect replicas to the server directly")
	default:
		return wire.Errorf(wire.ErUnknownCom, "08S01", "Unknown command 0x%02x", p[0])
	}
}

// status returns the server status flags the client should see for the
// session, for locally generated OK and EOF packets.
func (s *Session) status() uint16 {
	var st uint16
	if s.state.Autocommit {
		st |= wire.StatusAutocommit
	}
	for _, bc := range s.backend {
		if bc.InTrans {
			st |= wire.StatusInTrans
		}
	}
	return st
}

func (s *Session) writeOKStatus(ok wire.OK) error {
	ok.Status |= s.status()
	s.out = wire.AppendOK(s.out[:0], wire.OKHeader, ok)
	return s.c.WritePacket(s.out)
}

func (s *Session) writeErr(e *wire.Error) error {
	s.out = wire.AppendErr(s.out[:0], e)
	return s.c.WritePacket(s.out)
}

// writeEOFOrOK writes the end of a metadata or row sequence in the form the
// client negotiated.
func (s *Session) writeEOFOrOK(warnings, status uint16) error {
	if s.caps&wire.ClientDeprecateEOF != 0 {
		s.out = wire.AppendOK(s.out[:0], wire.EOFHeader, wire.OK{Status: status, Warnings: warnings})
	} else {
		s.out = wire.AppendEOF(s.out[:0], warnings, status)
	}
	return s.c.WritePacket(s.out)
}

func (s *Session) comStatistics() error {
	up := int64(time.Since(s.srv.started).Seconds())
	q := s.srv.questions.Load()
	qps := 0.0
	if up > 0 {
		qps = float64(q) / float64(up)
	}
	msg := fmt.Sprintf("Uptime: %d  Threads: %d  Questions: %d  Slow queries: 0  Opens: 0  Flush tables: 0  Open tables: 0  Queries per second avg: %.3f",
		up, s.srv.clients.Load(), q, qps)
	return s.c.WritePacket([]byte(msg))
}

func (s *Session) comSetOption(p []byte) error {
	if len(p) < 3 {
		return wire.Errorf(wire.ErMalformedPacket, "HY000", "Malformed communication packet: COM_SET_OPTION")
	}
	switch uint16(p[1]) | uint16(p[2])<<8 {
	case 0:
		s.state.MultiStmt = true
	case 1:
		s.state.MultiStmt = false
	default:
		return wire.Errorf(wire.ErUnknownCom, "HY000", "Unknown COM_SET_OPTION option")
	}
	return s.writeEOFOrOK(0, s.status())
}

func (s *Session) comResetConnection() error {
	s.releaseAll(false)
	s.closeAllStmts()
	s.resetState(s.state.Schema, s.state.Collation())
	return s.writeOKStatus(wire.OK{})
}

// comChangeUser re-authenticates the session as another user. As in
// MySQL and MariaDB, the client's response is computed with the scramble
// of the connection's handshake, so it is verified against that one (an
// auth switch with a fresh scramble is sent only when the client sent no
// response); libmariadb clients answer a switch by resending the original
// response. A failed change keeps the session as it was, logged in as
// before, as MariaDB does.
func (s *Session) comChangeUser(rt *runtime.Snapshot, p []byte) error {
	cu, err := wire.ParseChangeUser(p[1:], s.caps)
	if err != nil {
		return wire.Errorf(wire.ErMalformedPacket, "HY000", "Malformed communication packet: %v", err)
	}
	plugin, resp := cu.AuthPlugin, cu.AuthResponse
	if plugin == "" {
		plugin = wire.NativePassword
	}
	if len(resp) == 0 {
		s.salt = wire.NewSalt()
		r, err := s.c.SwitchToNative(s.salt)
		if err != nil {
			return err
		}
		plugin, resp = wire.NativePassword, r
	}
	oldUser, oldCred := s.user, s.cred
	if err := s.authenticate(rt, cu.User, plugin, append([]byte(nil), resp...)); err != nil {
		s.user, s.cred = oldUser, oldCred
		return err // a *wire.Error: sent to the client, the session goes on
	}
	newUser := s.user
	if s.counted {
		s.srv.forgetUser(oldUser)
		s.counted = false
	}
	if !s.srv.admitUser(newUser) {
		s.user, s.cred = oldUser, oldCred
		s.counted = s.srv.admitUser(oldUser)
		return wire.Errorf(wire.ErUserLimitReached, "42000", "User '%s' has exceeded the 'max_user_connections' resource", newUser.Name)
	}
	s.counted = true
	s.releaseAll(false)
	s.closeAllStmts()
	schema := cu.DB
	if schema == "" {
		schema = s.user.DefaultSchema
	}
	if schema == "" {
		schema = rt.Vars.DefaultSchema
	}
	coll := uint8(cu.Charset)
	if coll == 0 {
		coll = s.state.Collation()
	}
	s.resetState(schema, coll)
	return s.writeOKStatus(wire.OK{})
}
