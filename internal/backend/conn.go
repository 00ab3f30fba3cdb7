// Package backend owns the connections from sqlgate to MySQL servers: dialing
// and authenticating them, per-hostgroup pools with weighted server
// selection, and the per-connection session state that lets a pooled
// connection be reused by any client after a lazy state replay.
package backend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"sqlgate/internal/wire"
)

// Conn is one authenticated connection to a backend server. It carries the
// session state that was applied to it, so a client session can tell what
// must be replayed before its next statement runs here.
type Conn struct {
	*wire.Conn
	Server   *Server
	ThreadID uint32
	Caps     uint32 // negotiated capabilities
	// Encrypted: the connection runs over TLS (use_ssl=1).
	Encrypted bool

	// Session state as last applied.
	User       string
	Schema     string
	Charset    string            // canonical key, see frontend; "" = unknown
	Autocommit bool              // server's autocommit flag
	MultiStmt  bool              // CLIENT_MULTI_STATEMENTS currently enabled
	Vars       map[string]string // tracked session variables set on it
	Stmts      map[uint32]uint32 // global statement id -> backend statement id

	// Flags that forbid returning the connection to the pool (set by the
	// statements run on it; see router.StmtFlags).
	Pinned   uint32
	InTrans  bool
	Broken   bool // an I/O error or protocol desync: must be closed
	lastUsed time.Time
	created  time.Time

	// Limits bound what QueryRows accepts from this connection; the zero
	// value is DefaultLimits.
	Limits Limits
}

// Limits bound a resultset read into memory by QueryRows, so a peer that
// answers with an endless or enormous resultset cannot exhaust memory:
// Bytes counts the packets as received, Cells the values (each costs a
// pointer and a string header besides its bytes).
type Limits struct {
	Bytes int64
	Cells int64
}

// DefaultLimits hold the largest ProxySQL configuration tables (100,000
// users, 10,000s of rules) with room to spare.
var DefaultLimits = Limits{Bytes: 256 << 20, Cells: 8 << 20}

// maxColumns is MySQL's limit of columns per table; a resultset header
// claiming more is malformed.
const maxColumns = 4096

// ErrResultTooLarge is a resultset beyond the connection's Limits.
var ErrResultTooLarge = errors.New("resultset too large")

// DeprecateEOF reports whether result sets from this connection end with an
// OK packet instead of EOF.
func (c *Conn) DeprecateEOF() bool { return c.Caps&wire.ClientDeprecateEOF != 0 }

// DialOptions describe how to log into a backend.
type DialOptions struct {
	User         string
	Cred         wire.Credential
	Schema       string
	Collation    uint8
	FoundRows    bool
	DeprecateEOF bool
	TLS          *tls.Config // nil = plain; the pool and Kill set it from use_ssl
	Timeout      time.Duration
}

// backendCaps are the capabilities sqlgate asks a backend for. Multi
// statements are always requested; COM_SET_OPTION switches them per client.
const backendCaps = wire.ClientLongPassword | wire.ClientLongFlag | wire.ClientConnectWithDB |
	wire.ClientLocalFiles | wire.ClientProtocol41 | wire.ClientTransactions |
	wire.ClientSecureConnection | wire.ClientMultiStatements | wire.ClientMultiResults |
	wire.ClientPSMultiResults | wire.ClientPluginAuth | wire.ClientPluginAuthLenencClientData |
	wire.ClientConnectAttrs

// connectAttrs is sent to backends so DBAs can tell proxy connections apart
// (ProxySQL sends program_name=proxysql).
var connectAttrs = func() []byte {
	var b []byte
	b = wire.AppendLenEncString(b, "program_name")
	b = wire.AppendLenEncString(b, "sqlgate")
	return b
}()

// dial opens and authenticates a connection to addr.
func dial(ctx context.Context, network, addr string, o DialOptions) (*Conn, error) {
	d := net.Dialer{Timeout: o.Timeout, KeepAlive: 120 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)
	c := &Conn{Conn: wire.NewConn(nc), created: time.Now()}
	if err := c.handshake(o); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	c.User = o.User
	c.Schema = o.Schema
	c.Charset = "id:" + strconv.Itoa(int(o.Collation))
	c.Vars = map[string]string{}
	c.MultiStmt = true
	return c, nil
}

func (c *Conn) handshake(o DialOptions) error {
	p, err := c.ReadPacket(0)
	if err != nil {
		return fmt.Errorf("reading greeting: %w", err)
	}
	g, err := wire.ParseGreeting(p)
	if err != nil {
		return err
	}
	c.ThreadID = g.ConnID
	caps := backendCaps
	if o.FoundRows {
		caps |= wire.ClientFoundRows
	}
	if o.DeprecateEOF {
		caps |= wire.ClientDeprecateEOF
	}
	if o.Schema == "" {
		caps &^= wire.ClientConnectWithDB
	}
	caps &= g.Caps
	if caps&wire.ClientProtocol41 == 0 || caps&wire.ClientSecureConnection == 0 {
		return fmt.Errorf("backend %s does not support protocol 4.1 with secure authentication", c.RemoteAddr())
	}
	if o.TLS != nil {
		if g.Caps&wire.ClientSSL == 0 {
			// ProxySQL would go on in plaintext here; a server that
			// should be reached over TLS and is not is an error.
			return fmt.Errorf("backend %s does not offer TLS, but use_ssl=1 in mysql_servers: configure TLS on the server (ssl_cert, ssl_key) or set use_ssl=0", c.RemoteAddr())
		}
		caps |= wire.ClientSSL
		if err := c.WritePacket(wire.AppendSSLRequest(nil, caps, wire.MaxPayload, o.Collation)); err != nil {
			return err
		}
		if err := c.Flush(); err != nil {
			return err
		}
		if err := c.UpgradeTLS(o.TLS, false); err != nil {
			return fmt.Errorf("backend %s (use_ssl=1): %w", c.RemoteAddr(), err)
		}
		c.Encrypted = true
	}
	c.Caps = caps
	plugin := g.AuthPlugin
	if plugin == "" {
		plugin = wire.NativePassword
	}
	tls := caps&wire.ClientSSL != 0
	authResp, err := authResponse(plugin, o.Cred, g.Salt, tls)
	if err != nil {
		plugin = wire.NativePassword
		authResp, err = authResponse(plugin, o.Cred, g.Salt, tls)
		if err != nil {
			return err
		}
	}
	hr := &wire.HandshakeResponse{
		Caps: caps, MaxPacket: wire.MaxPayload, Charset: o.Collation, User: o.User,
		AuthResponse: authResp, DB: o.Schema, AuthPlugin: plugin, Attrs: connectAttrs,
	}
	if err := c.WritePacket(hr.Append(nil)); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return err
	}
	for range 4 {
		p, err := c.ReadPacket(0)
		if err != nil {
			return fmt.Errorf("reading auth result: %w", err)
		}
		switch {
		case len(p) == 0:
			return wire.ErrMalformed
		case p[0] == wire.OKHeader:
			return nil
		case p[0] == wire.ErrHeader:
			return wire.ParseErr(p)
		case p[0] == wire.AuthSwitchHeader:
			name, n, ok := wire.NulString(p[1:])
			if !ok {
				return wire.ErrMalformed
			}
			salt := p[1+n:]
			if len(salt) > 0 && salt[len(salt)-1] == 0 {
				salt = salt[:len(salt)-1]
			}
			plugin = string(name)
			resp, err := authResponse(plugin, o.Cred, append([]byte(nil), salt...), c.Caps&wire.ClientSSL != 0)
			if err != nil {
				return err
			}
			if err := c.WritePacket(resp); err != nil {
				return err
			}
			if err := c.Flush(); err != nil {
				return err
			}
		case p[0] == wire.AuthMoreData && plugin == wire.CachingSHA2Password:
			if len(p) >= 2 && p[1] == 3 { // fast auth succeeded, OK follows
				continue
			}
			if c.Caps&wire.ClientSSL != 0 && o.Cred.HasCleartext {
				if err := c.WritePacket(append([]byte(o.Cred.Cleartext), 0)); err != nil {
					return err
				}
				if err := c.Flush(); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("backend asks for caching_sha2_password full authentication, which needs use_ssl=1 and a cleartext password in mysql_users")
		default:
			return fmt.Errorf("unexpected packet 0x%02x during backend authentication", p[0])
		}
	}
	return errors.New("backend authentication did not finish")
}

// ErrCleartextRefused: the server asked for the password in cleartext
// (mysql_clear_password) on a connection without TLS. Anyone who can pose
// as the server could ask for it, so it is never sent.
var ErrCleartextRefused = errors.New("refusing to send the password in cleartext: the server asked for mysql_clear_password on a connection without TLS (use_ssl=1 allows it)")

// authResponse answers an authentication plugin's challenge; tls says
// whether the connection is encrypted.
func authResponse(plugin string, cred wire.Credential, salt []byte, tls bool) ([]byte, error) {
	switch plugin {
	case wire.NativePassword:
		if cred.Empty() {
			return nil, nil
		}
		if cred.Stage1 == nil {
			return nil, errors.New("the password of this user is stored hashed in mysql_users and the user has not logged in through sqlgate yet; store the cleartext password to let sqlgate log into backends")
		}
		return wire.ScrambleNative(cred.Stage1, salt), nil
	case wire.CachingSHA2Password:
		if !cred.HasCleartext {
			return nil, errors.New("caching_sha2_password backends need the cleartext password in mysql_users")
		}
		return wire.ScrambleCachingSHA2([]byte(cred.Cleartext), salt), nil
	case wire.ClearPassword:
		if !tls {
			return nil, ErrCleartextRefused
		}
		if !cred.HasCleartext {
			return nil, errors.New("mysql_clear_password needs the cleartext password in mysql_users")
		}
		return append([]byte(cred.Cleartext), 0), nil
	default:
		return nil, fmt.Errorf("backend authentication plugin %q is not supported", plugin)
	}
}

// Send writes one command packet (sequence 0) that has a reply, flushes
// it and returns once the reply can be read (wire.Conn.FlushAwait). An I/O
// error marks the connection broken.
func (c *Conn) Send(p []byte) error {
	c.Seq = 0
	if err := c.WritePacket(p); err != nil {
		c.Broken = true
		return err
	}
	if err := c.FlushAwait(); err != nil {
		c.Broken = true
		return err
	}
	return nil
}

// Read reads one logical packet of a reply. An I/O error marks the
// connection broken.
func (c *Conn) Read() ([]byte, error) {
	p, err := c.ReadPacket(0)
	if err != nil {
		c.Broken = true
	}
	return p, err
}

// Exec runs a statement that returns no rows (a state-replay SET, INIT_DB,
// ...) and reads its reply. A result set is drained and reported as an error.
func (c *Conn) Exec(cmd byte, arg string) (wire.OK, error) {
	buf := make([]byte, 0, 1+len(arg))
	buf = append(buf, cmd)
	buf = append(buf, arg...)
	if err := c.Send(buf); err != nil {
		return wire.OK{}, err
	}
	return c.ReadOK()
}

// ReadOK reads a reply that must be OK or ERR (or EOF for COM_SET_OPTION).
func (c *Conn) ReadOK() (wire.OK, error) {
	p, err := c.Read()
	if err != nil {
		return wire.OK{}, err
	}
	switch {
	case len(p) == 0:
		c.Broken = true
		return wire.OK{}, wire.ErrMalformed
	case p[0] == wire.OKHeader:
		ok, err := wire.ParseOK(p)
		if err != nil {
			c.Broken = true
		}
		c.noteStatus(ok.Status)
		return ok, err
	case p[0] == wire.ErrHeader:
		return wire.OK{}, wire.ParseErr(p)
	case wire.IsEOF(p):
		w, st := wire.ParseEOF(p)
		c.noteStatus(st)
		return wire.OK{Status: st, Warnings: w}, nil
	default:
		c.Broken = true
		return wire.OK{}, fmt.Errorf("backend %s: unexpected result set in reply to a state-sync command", c.RemoteAddr())
	}
}

func (c *Conn) noteStatus(st uint16) {
	c.InTrans = st&wire.StatusInTrans != 0
	c.Autocommit = st&wire.StatusAutocommit != 0
}

// NoteStatus records the server status flags of the last reply.
func (c *Conn) NoteStatus(st uint16) { c.noteStatus(st) }

// Reset wipes the connection's session state with COM_RESET_CONNECTION.
// Prepared statements are gone afterwards; schema and charset are treated
// as unknown so the next user replays them. The multi-statements option
// (COM_SET_OPTION) survives a reset on MariaDB and MySQL, so MultiStmt
// keeps its value.
func (c *Conn) Reset() error {
	ok, err := c.Exec(wire.ComResetConnection, "")
	if err != nil {
		c.Broken = true
		return err
	}
	c.noteStatus(ok.Status)
	c.Vars = map[string]string{}
	c.Stmts = nil
	c.Schema = "\x00unknown"
	c.Charset = ""
	c.Pinned = 0
	return nil
}

// Close closes the connection, telling the server first when possible.
func (c *Conn) Close() error {
	if !c.Broken {
		c.Seq = 0
		c.Conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		if c.WritePacket([]byte{wire.ComQuit}) == nil {
			c.Flush()
		}
	}
	return c.Conn.Close()
}

// QueryStrings runs a query and returns its rows as strings (NULL as "").
// It is for small internal queries such as loading the collation table,
// never for client traffic.
func (c *Conn) QueryStrings(q string) ([][]string, error) {
	_, rows, err := c.QueryRows(q)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = make([]string, len(r))
		for j, v := range r {
			if v != nil {
				out[i][j] = *v
			}
		}
	}
	return out, nil
}

// QueryRows runs a small internal query (monitor checks) and returns the
// column names and the rows, NULL as nil.
func (c *Conn) QueryRows(q string) ([]string, [][]*string, error) {
	if err := c.Send(append([]byte{wire.ComQuery}, q...)); err != nil {
		return nil, nil, err
	}
	lim := c.Limits
	if lim == (Limits{}) {
		lim = DefaultLimits
	}
	var bytes, cells int64
	read := func() ([]byte, error) {
		p, err := c.Read()
		if bytes += int64(len(p)) + 4; err == nil && bytes > lim.Bytes {
			c.Broken = true
			return nil, fmt.Errorf("%w: more than %d bytes", ErrResultTooLarge, lim.Bytes)
		}
		return p, err
	}
	p, err := read()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(p) > 0 && p[0] == wire.ErrHeader:
		return nil, nil, wire.ParseErr(p)
	case len(p) > 0 && p[0] == wire.OKHeader:
		return nil, nil, nil
	}
	n, _, _, ok := wire.LenEncInt(p)
	if !ok || n == 0 || n > maxColumns {
		c.Broken = true
		return nil, nil, wire.ErrMalformed
	}
	cols := make([]string, 0, n)
	for range n {
		p, err := read()
		if err != nil {
			return nil, nil, err
		}
		// catalog, schema, table, org_table, name
		var name []byte
		for i, k := 0, 0; k < 5; k++ {
			s, m, ok := wire.LenEncString(p[i:])
			if !ok || m == 0 {
				c.Broken = true
				return nil, nil, wire.ErrMalformed
			}
			name, i = s, i+m
		}
		cols = append(cols, string(name))
	}
	if !c.DeprecateEOF() {
		if _, err := read(); err != nil { // the EOF after the column definitions
			return nil, nil, err
		}
	}
	var rows [][]*string
	for {
		p, err := read()
		if err != nil {
			return nil, nil, err
		}
		if cells += int64(len(cols)); cells > lim.Cells {
			c.Broken = true
			return nil, nil, fmt.Errorf("%w: more than %d values", ErrResultTooLarge, lim.Cells)
		}
		if len(p) > 0 && p[0] == wire.ErrHeader {
			return nil, nil, wire.ParseErr(p)
		}
		if (!c.DeprecateEOF() && wire.IsEOF(p)) || (c.DeprecateEOF() && wire.IsOKTerminator(p)) {
			return cols, rows, nil
		}
		row := make([]*string, 0, len(cols))
		for i := 0; i < len(p); {
			if len(row) == len(cols) {
				c.Broken = true // more values than columns
				return nil, nil, wire.ErrMalformed
			}
			if p[i] == 0xfb {
				row = append(row, nil)
				i++
				continue
			}
			s, m, ok := wire.LenEncString(p[i:])
			if !ok || m == 0 {
				c.Broken = true
				return nil, nil, wire.ErrMalformed
			}
			v := string(s)
			row = append(row, &v)
			i += m
		}
		rows = append(rows, row)
	}
}

// Dial opens and authenticates a standalone connection, outside any pool
// (for tests and health checks). Timeout bounds the connect and the login.
func Dial(ctx context.Context, network, addr string, o DialOptions) (*Conn, error) {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	c, err := dial(ctx, network, addr, o)
	if err != nil {
		return nil, err
	}
	c.Server = &Server{ServerConfig: ServerConfig{Host: addr}}
	return c, nil
}

// Kill stops what connection threadID on server s is doing: it logs in on a
// separate connection with o and sends KILL QUERY (or KILL CONNECTION when
// query is false), over TLS when s has use_ssl=1. This is how ProxySQL
// enforces query timeouts: the connection running the query is busy and
// cannot be used to stop it.
func (s *Server) Kill(ctx context.Context, threadID uint32, o DialOptions, query bool) error {
	o.Schema = ""
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	o.TLS = s.tlsConfig(o.User)
	c, err := dial(ctx, Network(s.Port), s.Addr(), o)
	if err != nil {
		return fmt.Errorf("backend %s: connect to kill thread %d: %w", s.Addr(), threadID, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(o.Timeout))
	stmt := "KILL QUERY "
	if !query {
		stmt = "KILL CONNECTION "
	}
	if _, err := c.Exec(wire.ComQuery, stmt+strconv.FormatUint(uint64(threadID), 10)); err != nil {
		return fmt.Errorf("backend %s: %s%d: %w", s.Addr(), stmt, threadID, err)
	}
	return nil
}
