package backend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"sqlgate/internal/wire"
)

// Status is a server's administrative or health state in a hostgroup.
type Status int32

// Server states with ProxySQL's names.
const (
	Online Status = iota
	Shunned
	OfflineSoft
	OfflineHard
	// ShunnedReplicationLag is set by the monitor only: runtime_mysql_servers
	// shows it as SHUNNED, stats_mysql_connection_pool by this name.
	ShunnedReplicationLag
)

var statusNames = [...]string{"ONLINE", "SHUNNED", "OFFLINE_SOFT", "OFFLINE_HARD", "SHUNNED_REPLICATION_LAG"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "UNKNOWN"
}

// ConfigString is the status as mysql_servers and runtime_mysql_servers
// spell it: the lag state is a kind of SHUNNED there.
func (s Status) ConfigString() string {
	if s == ShunnedReplicationLag {
		return "SHUNNED"
	}
	return s.String()
}

// ParseStatus maps a mysql_servers.status value to a Status.
func ParseStatus(s string) (Status, error) {
	for i, n := range statusNames[:4] {
		if n == s {
			return Status(i), nil
		}
	}
	return Online, fmt.Errorf("unknown server status %q (want ONLINE, SHUNNED, OFFLINE_SOFT or OFFLINE_HARD)", s)
}

// ServerConfig is one mysql_servers row as the pool uses it.
type ServerConfig struct {
	Hostgroup         int
	Host              string
	Port              int
	Status            Status
	Weight            int
	MaxConnections    int
	UseSSL            bool
	MaxReplicationLag int // seconds; 0 = not checked
	MaxLatencyMs      int // 0 = mysql-default_max_latency_ms
}

// Options are the pool-wide settings (mysql-* variables).
type Options struct {
	ConnectTimeout     time.Duration // per attempt (mysql-connect_timeout_server)
	ConnectTimeoutMax  time.Duration // whole acquisition (mysql-connect_timeout_server_max)
	ConnectRetries     int           // mysql-connect_retries_on_failure
	RetriesDelay       time.Duration // mysql-connect_retries_delay
	PollOnFailure      time.Duration // mysql-poll_timeout_on_failure
	DeprecateEOF       bool          // mysql-enable_server_deprecate_eof
	FreeConnectionsPct int           // mysql-free_connections_pct
	PingInterval       time.Duration // mysql-ping_interval_server_msec
	PingTimeout        time.Duration // mysql-ping_timeout_server
	MaxStmtsPerConn    int           // mysql-max_stmts_per_connection
	ShunOnFailures     int           // mysql-shun_on_failures; 0 = never shun
	ShunRecovery       time.Duration // mysql-shun_recovery_time_sec
	// TLS configures connections to use_ssl=1 servers (mysql-ssl_p2s_*,
	// mysql_servers_ssl_params); nil encrypts without verifying.
	TLS *TLSSettings
}

// Server is a (hostgroup, host, port) pool entry.
type Server struct {
	ServerConfig
	hg *Hostgroup

	status atomic.Int32
	mu     sync.Mutex
	free   []*Conn
	used   int
	busy   map[*Conn]struct{} // handed out to sessions; cut on OFFLINE_HARD

	// Counters for stats_mysql_connection_pool.
	ConnOK, ConnERR, Queries, BytesSent, BytesRecv atomic.Int64
	MaxConnUsed                                    atomic.Int64
	// LatencyUs is the monitor's ping latency (Latency_us); Lag the last
	// replication lag it measured (-1 NULL, -2 not a replica, -3 unknown).
	LatencyUs, Lag atomic.Int64

	health health // guarded by mu
}

// Status returns the current state.
func (s *Server) Status() Status { return Status(s.status.Load()) }

// Network is the network of a mysql_servers entry: port 0 means the
// hostname is a unix socket path, as in ProxySQL.
func Network(port int) string {
	if port == 0 {
		return "unix"
	}
	return "tcp"
}

// Addr is host:port (or the socket path when port is 0).
func (s *Server) Addr() string {
	if s.Port == 0 {
		return s.Host
	}
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// Counts returns the used and free connection counts.
func (s *Server) Counts() (used, free int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, len(s.free)
}

// Hostgroup is a set of servers a query can be routed to.
type Hostgroup struct {
	ID      int
	mu      sync.Mutex
	servers []*Server
	waiters int
	wake    chan struct{}
	pool    *Pool
}

// Servers returns a snapshot of the hostgroup's servers.
func (h *Hostgroup) Servers() []*Server {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.servers)
}

// Pool holds every hostgroup. Acquire and Release are safe for concurrent use
// and take only per-hostgroup and per-server locks.
type Pool struct {
	mu   sync.RWMutex
	hgs  map[int]*Hostgroup
	opts atomic.Pointer[Options]
	log  *slog.Logger

	stop    chan struct{}
	done    chan struct{}
	changed chan struct{} // closed and replaced by every Configure (guarded by mu)

	transitions transitions
	byHost      map[hostPort][]*Server // every hostgroup entry of a host:port (guarded by mu)
}

// NewPool returns an empty pool; call Configure to add servers.
func NewPool(log *slog.Logger) *Pool {
	p := &Pool{hgs: map[int]*Hostgroup{}, log: log, stop: make(chan struct{}), done: make(chan struct{}), changed: make(chan struct{})}
	p.opts.Store(&Options{ConnectTimeout: time.Second, ConnectTimeoutMax: 10 * time.Second,
		ConnectRetries: 10, RetriesDelay: time.Millisecond, PollOnFailure: 100 * time.Millisecond,
		FreeConnectionsPct: 10, PingInterval: 10 * time.Second, PingTimeout: 200 * time.Millisecond,
		MaxStmtsPerConn: 20})
	go p.maintain()
	return p
}

// Options returns the current pool options.
func (p *Pool) Options() *Options { return p.opts.Load() }

// Configure applies a new server list and options. Servers that stay keep
// their connections; changed attributes apply to new acquisitions at once;
// removed servers become OFFLINE_HARD: idle connections are closed and busy
// ones are closed when released.
func (p *Pool) Configure(servers []ServerConfig, o Options) {
	p.opts.Store(&o)
	p.mu.Lock()
	defer p.mu.Unlock()
	type key struct {
		hg   int
		host string
		port int
	}
	want := map[key]ServerConfig{}
	for _, sc := range servers {
		want[key{sc.Hostgroup, sc.Host, sc.Port}] = sc
	}
	var closing []*Conn
	for id, hg := range p.hgs {
		hg.mu.Lock()
		kept := hg.servers[:0]
		for _, s := range hg.servers {
			k := key{id, s.Host, s.Port}
			sc, ok := want[k]
			if !ok {
				s.status.Store(int32(OfflineHard))
				s.mu.Lock()
				closing = append(closing, s.free...)
				s.free = nil
				s.mu.Unlock()
				continue
			}
			delete(want, k)
			s.mu.Lock()
			old := s.ServerConfig
			if old.UseSSL != sc.UseSSL {
				// Idle connections made the other way are not reused
				// (takeFree skips them): close them now.
				closing = append(closing, s.free...)
				s.free = nil
			}
			// Only the attributes change: host, port and hostgroup are the
			// identity, read without locks everywhere.
			s.ServerConfig.Status, s.Weight, s.MaxConnections, s.UseSSL = sc.Status, sc.Weight, sc.MaxConnections, sc.UseSSL
			s.MaxReplicationLag, s.MaxLatencyMs = sc.MaxReplicationLag, sc.MaxLatencyMs
			st := sc.Status
			if cur := s.Status(); sc.Status == Online && old.Status == Online && (cur == Shunned && s.health.auto || cur == ShunnedReplicationLag) {
				// A reload keeps what the monitor or the connect errors
				// found; the server comes back on its own when it recovers.
				// Setting max_replication_lag to 0 ends a lag shun at once.
				st = cur
				if cur == ShunnedReplicationLag && sc.MaxReplicationLag == 0 {
					st = Online
				}
			}
			if sc.Status == Shunned {
				s.health.auto, s.health.killAll = false, false // set by the admin: never recovered automatically
			}
			if st != Online {
				closing = append(closing, s.free...)
				s.free = nil
			}
			if sc.Status == OfflineHard {
				// OFFLINE_HARD cuts connections in use as well: their
				// sessions see the connection drop (a transaction is rolled
				// back by the server). Removed servers only drain.
				for c := range s.busy {
					c.Conn.Conn.Close()
				}
			}
			// Stored under s.mu: every automatic transition holds it too, so a
			// concurrent recovery cannot be overwritten with a stale state.
			s.status.Store(int32(st))
			s.mu.Unlock()
			kept = append(kept, s)
		}
		hg.servers = kept
		hg.wakeLocked()
		hg.mu.Unlock()
	}
	for k, sc := range want {
		hg := p.hgs[k.hg]
		if hg == nil {
			hg = &Hostgroup{ID: k.hg, wake: make(chan struct{}), pool: p}
			p.hgs[k.hg] = hg
		}
		s := &Server{ServerConfig: sc, hg: hg}
		s.status.Store(int32(sc.Status))
		hg.mu.Lock()
		hg.servers = append(hg.servers, s)
		hg.wakeLocked()
		hg.mu.Unlock()
	}
	// Empty hostgroups are kept: sessions waiting in one (the writer
	// hostgroup between a demotion and a promotion) must see the servers
	// that are added to it later.
	p.byHost = map[hostPort][]*Server{}
	for _, hg := range p.hgs {
		for _, s := range hg.servers {
			k := hostPort{s.Host, s.Port}
			p.byHost[k] = append(p.byHost[k], s)
		}
	}
	close(p.changed)
	p.changed = make(chan struct{})
	go closeAll(closing)
}

func closeAll(cs []*Conn) {
	for _, c := range cs {
		c.Close()
	}
}

// Hostgroups returns the configured hostgroups ordered by id.
func (p *Pool) Hostgroups() []*Hostgroup {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]*Hostgroup, 0, len(p.hgs))
	for _, h := range p.hgs {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b *Hostgroup) int { return a.ID - b.ID })
	return out
}

func (h *Hostgroup) wakeLocked() {
	if h.waiters > 0 {
		close(h.wake)
		h.wake = make(chan struct{})
		h.waiters = 0
	}
}

// pick chooses a server by weighted random among ONLINE servers with a free
// slot and reserves the slot. It returns a channel that is closed when a slot
// may have become available if none is free now.
func (h *Hostgroup) pick(o *Options) (*Server, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	total := 0
	var cands [16]*Server
	cs := cands[:0]
	for pass := 0; pass < 2 && total == 0; pass++ {
		// The second pass, when nothing is available, brings back
		// automatically shunned servers after a tenth of the recovery
		// window, as ProxySQL does, rather than failing the hostgroup.
		for _, s := range h.servers {
			st := s.Status()
			if st == Shunned && s.tryRecover(h.pool, o, now, pass == 1) {
				st = Online
			}
			if st != Online || s.Weight <= 0 {
				continue
			}
			if lim := int64(s.MaxLatencyMs) * 1000; lim > 0 && s.LatencyUs.Load() > lim {
				continue // slower than its max_latency_ms by the monitor's pings
			}
			s.mu.Lock()
			room := s.used < s.MaxConnections && !s.health.capped(s.used, now)
			s.mu.Unlock()
			if room {
				cs = append(cs, s)
				total += s.Weight
			}
		}
	}
	for total > 0 {
		k := rand.IntN(total)
		var chosen *Server
		for _, s := range cs {
			if k < s.Weight {
				chosen = s
				break
			}
			k -= s.Weight
		}
		chosen.mu.Lock()
		if chosen.used < chosen.MaxConnections {
			chosen.used++
			if n := int64(chosen.used); n > chosen.MaxConnUsed.Load() {
				chosen.MaxConnUsed.Store(n)
			}
			chosen.mu.Unlock()
			return chosen, nil
		}
		chosen.mu.Unlock()
		total -= chosen.Weight
		cs = slices.DeleteFunc(cs, func(s *Server) bool { return s == chosen })
	}
	h.waiters++
	return nil, h.wake
}

// Want describes the connection a session needs.
type Want struct {
	Dial DialOptions
	// Score rates a free connection for reuse: negative = unusable (for
	// example another user), higher is better; Perfect stops the scan.
	Score   func(*Conn) int
	Perfect int
	// Stale, when not nil, is closed when the reason for asking this
	// hostgroup may be outdated (a new runtime configuration): Acquire
	// waiting for a server then returns ErrStale, so the caller can route
	// the statement again instead of waiting for a hostgroup the new
	// configuration may no longer have.
	Stale <-chan struct{}
	// Retryable says the caller re-runs its statement on another
	// connection if this one fails before replying. A connection used
	// within aliveCheckAfter is then lent without the liveness check.
	Retryable bool
}

// ErrStale is Acquire's answer when Want.Stale closed while it waited.
var ErrStale = errors.New("backend: the routing decision is outdated; route again")

// aliveCheckAfter is how long a connection must have been idle in the pool
// before Acquire checks that the server did not close it, for a Retryable
// statement (others always check). After a restart of the server every
// pooled connection is older than this, so a retry does not meet another
// dead one.
const aliveCheckAfter = 100 * time.Millisecond

// HostgroupError is returned when no connection could be obtained; it
// names the hostgroup, as ProxySQL's 9001/9002 errors do.
type HostgroupError = wire.Error

// Acquire returns a connection to a server of hostgroup hg: a pooled one
// when a usable one is free, else a new one. It gives up after
// mysql-connect_timeout_server_max or mysql-connect_retries_on_failure
// failed connects, with an error naming the hostgroup.
func (p *Pool) Acquire(ctx context.Context, hgID int, w *Want) (*Conn, error) {
	o := p.opts.Load()
	start := time.Now()
	deadline := start.Add(o.ConnectTimeoutMax)
	hg, err := p.waitHostgroup(ctx, hgID, start, deadline, w.Stale)
	if err != nil {
		return nil, err
	}
	failures := 0
	var lastErr error
	for {
		s, wake := hg.pick(o)
		if s == nil {
			left := time.Until(deadline)
			if left <= 0 {
				return nil, p.timeoutError(hgID, start, lastErr)
			}
			t := time.NewTimer(min(left, o.PollOnFailure*10))
			select {
			case <-wake:
			case <-t.C:
			case <-w.Stale:
				t.Stop()
				return nil, ErrStale
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
			t.Stop()
			continue
		}
		if c := s.takeFree(w); c != nil {
			// A pooled connection may have been killed since its last use
			// (KILL, wait_timeout, a restart). One non-blocking read finds
			// out before a write could be sent into a dead socket, where
			// its outcome would be unknown. A statement that is retried
			// anyway skips it on a connection released moments ago: busy
			// pools reuse connections within microseconds, and the check
			// is one syscall in seven per statement.
			if w.Retryable && time.Since(c.lastUsed) < aliveCheckAfter || c.Alive() {
				s.lend(c)
				return c, nil
			}
			c.Broken = true
			p.Release(c, false)
			continue
		}
		dctx := ctx
		attempt := min(o.ConnectTimeout, time.Until(deadline))
		if attempt <= 0 {
			s.unreserve()
			return nil, p.timeoutError(hgID, start, lastErr)
		}
		opts := w.Dial
		opts.Timeout = attempt
		opts.DeprecateEOF = o.DeprecateEOF
		opts.TLS = s.tlsConfig(opts.User)
		c, err := dial(dctx, Network(s.Port), s.Addr(), opts)
		if err == nil {
			c.Server = s
			c.lastUsed = time.Now()
			s.ConnOK.Add(1)
			s.lend(c)
			return c, nil
		}
		s.unreserve()
		s.ConnERR.Add(1)
		if ctx.Err() == nil {
			// A client that gave up says nothing about the server.
			p.connectFailed(s, err, o)
		}
		lastErr = err
		var me *wire.Error
		if errors.As(err, &me) && clientSideError(me.Code) {
			// Wrong credentials or schema: retrying cannot help.
			return nil, me
		}
		failures++
		if failures > o.ConnectRetries {
			if me != nil {
				return nil, me
			}
			return nil, wire.Errorf(wire.ErProxyMaxConnectFailure, "HY000",
				"Max connect failure while reaching hostgroup %d: %v", hgID, err)
		}
		if time.Now().After(deadline) {
			return nil, p.timeoutError(hgID, start, lastErr)
		}
		select {
		case <-time.After(o.RetriesDelay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// waitHostgroup returns hostgroup id, waiting until the deadline for it to
// appear: during a failover the writer hostgroup is empty for a moment
// (the old writer demoted, the new one not yet seen), and a write should
// wait for the new writer rather than fail.
func (p *Pool) waitHostgroup(ctx context.Context, id int, start, deadline time.Time, stale <-chan struct{}) (*Hostgroup, error) {
	for {
		p.mu.RLock()
		hg, changed := p.hgs[id], p.changed
		p.mu.RUnlock()
		if hg != nil {
			return hg, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, wire.Errorf(wire.ErProxyMaxConnectTimeout, "HY000",
				"Max connect timeout reached while reaching hostgroup %d after %dms: hostgroup %d has no servers in runtime mysql_servers",
				id, time.Since(start).Milliseconds(), id)
		}
		t := time.NewTimer(left)
		select {
		case <-changed:
		case <-t.C:
		case <-stale:
			t.Stop()
			return nil, ErrStale
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		t.Stop()
	}
}

func (p *Pool) timeoutError(hg int, start time.Time, last error) error {
	msg := fmt.Sprintf("Max connect timeout reached while reaching hostgroup %d after %dms", hg, time.Since(start).Milliseconds())
	if last != nil {
		msg += ": " + last.Error()
	}
	return &wire.Error{Code: wire.ErProxyMaxConnectTimeout, SQLState: "HY000", Message: msg}
}

// clientSideError reports backend errors caused by the client's identity or
// request (ProxySQL's list of errors that never shun a server), which a
// retry on another connection cannot fix.
func clientSideError(code uint16) bool {
	switch {
	case code == 1044, code == 1045, code == 1049, code == 1226, code == 3118:
		return true
	}
	return false
}

// tlsConfig is the TLS configuration of a new connection to s as user,
// nil when s has use_ssl=0.
func (s *Server) tlsConfig(user string) *tls.Config {
	s.mu.Lock()
	use := UsesTLS(s.UseSSL, s.Port)
	s.mu.Unlock()
	if !use {
		return nil
	}
	var ts *TLSSettings
	if s.hg != nil && s.hg.pool != nil {
		ts = s.hg.pool.opts.Load().TLS
	}
	return ts.For(s.Host, s.Port, user)
}

// lend records c as handed out to a session.
func (s *Server) lend(c *Conn) {
	s.mu.Lock()
	if s.busy == nil {
		s.busy = map[*Conn]struct{}{}
	}
	s.busy[c] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) unreserve() {
	s.mu.Lock()
	s.used--
	s.mu.Unlock()
	s.hg.mu.Lock()
	s.hg.wakeLocked()
	s.hg.mu.Unlock()
}

// takeFree pops the best-scoring free connection, or nil. The slot was
// already reserved by pick.
func (s *Server) takeFree(w *Want) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	best, bestScore := -1, -1
	// Scan from the most recently released connection: it is the most
	// likely to be warm and to match the session that just released it.
	enc := UsesTLS(s.UseSSL, s.Port)
	for i := len(s.free) - 1; i >= 0; i-- {
		if s.free[i].Encrypted != enc {
			continue // made before use_ssl changed
		}
		sc := w.Score(s.free[i])
		if sc > bestScore {
			best, bestScore = i, sc
			if sc >= w.Perfect {
				break
			}
		}
	}
	if best < 0 {
		return nil
	}
	c := s.free[best]
	s.free = slices.Delete(s.free, best, best+1)
	return c
}

// Release gives a connection back. A connection is pooled only if reuse is
// true, it is healthy and its server is still ONLINE; otherwise it is closed.
func (p *Pool) Release(c *Conn, reuse bool) {
	s := c.Server
	o := p.opts.Load()
	if reuse && len(c.Stmts) > o.MaxStmtsPerConn {
		// ProxySQL leaves statements open until the connection dies, which
		// exhausts max_prepared_stmt_count; close them instead.
		if err := c.closeStmts(); err != nil {
			reuse = false
		}
	}
	s.mu.Lock()
	s.used--
	delete(s.busy, c)
	pooled := reuse && !c.Broken && c.Pinned == 0 && !c.InTrans && s.Status() == Online && c.Encrypted == UsesTLS(s.UseSSL, s.Port)
	if pooled {
		c.lastUsed = time.Now()
		s.free = append(s.free, c)
	}
	s.mu.Unlock()
	s.hg.mu.Lock()
	s.hg.wakeLocked()
	s.hg.mu.Unlock()
	if !pooled {
		c.Close()
	}
}

// CloseStmt closes the backend statement prepared for global statement id
// on c, if any (COM_STMT_CLOSE has no reply).
func (c *Conn) CloseStmt(id uint32) error {
	bid, ok := c.Stmts[id]
	if !ok {
		return nil
	}
	delete(c.Stmts, id)
	c.Seq = 0
	b := [5]byte{wire.ComStmtClose, byte(bid), byte(bid >> 8), byte(bid >> 16), byte(bid >> 24)}
	if err := c.WritePacket(b[:]); err != nil {
		return err
	}
	return c.Flush()
}

func (c *Conn) closeStmts() error {
	for _, id := range c.Stmts {
		c.Seq = 0
		var b [5]byte
		b[0] = wire.ComStmtClose
		b[1], b[2], b[3], b[4] = byte(id), byte(id>>8), byte(id>>16), byte(id>>24)
		if err := c.WritePacket(b[:]); err != nil {
			c.Broken = true
			return err
		}
	}
	c.Stmts = nil
	if err := c.Flush(); err != nil {
		c.Broken = true
		return err
	}
	return nil
}

// Close stops maintenance and closes every idle connection.
func (p *Pool) Close() {
	close(p.stop)
	<-p.done
	for _, hg := range p.Hostgroups() {
		for _, s := range hg.Servers() {
			s.mu.Lock()
			free := s.free
			s.free = nil
			s.mu.Unlock()
			closeAll(free)
		}
	}
}

// maintain trims and pings idle connections every ping interval, as
// ProxySQL's per-thread maintenance does: idle connections above
// free_connections_pct of max_connections are closed (oldest first), and
// connections idle longer than the interval are pinged so that broken ones
// are found before a client needs them.
func (p *Pool) maintain() {
	defer close(p.done)
	for {
		o := p.opts.Load()
		iv := o.PingInterval
		if iv <= 0 {
			iv = 10 * time.Second
		}
		t := time.NewTimer(iv)
		select {
		case <-p.stop:
			t.Stop()
			return
		case <-t.C:
		}
		for _, hg := range p.Hostgroups() {
			for _, s := range hg.Servers() {
				p.maintainServer(s, o, iv)
			}
		}
	}
}

func (p *Pool) maintainServer(s *Server, o *Options, iv time.Duration) {
	now := time.Now()
	var drop, ping []*Conn
	s.mu.Lock()
	keep := max(1, o.FreeConnectionsPct*s.MaxConnections/100)
	if len(s.free) > keep {
		// free is ordered by release time: the oldest are first.
		n := len(s.free) - keep
		for _, c := range s.free[:n] {
			if now.Sub(c.lastUsed) >= iv {
				drop = append(drop, c)
			}
		}
		s.free = slices.DeleteFunc(s.free, func(c *Conn) bool { return slices.Contains(drop, c) })
	}
	for _, c := range s.free {
		if now.Sub(c.lastUsed) >= iv && len(ping) < 64 {
			ping = append(ping, c)
		}
	}
	s.free = slices.DeleteFunc(s.free, func(c *Conn) bool { return slices.Contains(ping, c) })
	s.used += len(ping)
	s.mu.Unlock()
	closeAll(drop)
	for _, c := range ping {
		c.Conn.SetDeadline(time.Now().Add(o.PingTimeout))
		_, err := c.Exec(wire.ComPing, "")
		c.Conn.SetDeadline(time.Time{})
		p.Release(c, err == nil)
	}
}
