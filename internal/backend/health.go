package backend

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"sqlgate/internal/wire"
)

// health is a server's automatic state: what the connect errors and the
// monitor found. It is guarded by Server.mu.
type health struct {
	auto      bool      // SHUNNED by sqlgate, not by the admin: recovers by itself
	killAll   bool      // shunned by failed pings: only a good ping brings it back
	lastErrAt time.Time // last connect error; the recovery window starts here
	errSec    int64     // the wall-clock second errCount counts in
	errCount  int
	capUntil  time.Time // after "Too many connections": no new connection until then
	capUsed   int       // ... beyond the count the server accepted
	lagCount  int       // consecutive lag checks above max_replication_lag
}

// capped reports whether the server recently refused a connection with
// error 1040 and used connections have not dropped below that count.
func (h *health) capped(used int, now time.Time) bool {
	return now.Before(h.capUntil) && used >= h.capUsed
}

// recoveryWindow is how long an automatically shunned server stays out
// after its last connect error: mysql-shun_recovery_time_sec, but
// below mysql-connect_timeout_server_max so that a waiting session still
// sees it come back, and at least a second.
func recoveryWindow(o *Options) time.Duration {
	w := o.ShunRecovery
	if w >= o.ConnectTimeoutMax {
		w = o.ConnectTimeoutMax - time.Second
	}
	return max(w, time.Second)
}

// tryRecover brings an automatically shunned server back once its recovery
// window has passed without a connect error. In the hurry pass (no server
// at all is available) a tenth of the window is enough. Servers shunned
// by failed pings wait for the monitor instead.
func (s *Server) tryRecover(p *Pool, o *Options, now time.Time, hurry bool) bool {
	s.mu.Lock()
	w := recoveryWindow(o)
	if hurry {
		w = max(w/10, time.Second)
	}
	ok := s.health.auto && !s.health.killAll && now.Sub(s.health.lastErrAt) >= w
	if ok {
		ok = s.status.CompareAndSwap(int32(Shunned), int32(Online))
	}
	idle := now.Sub(s.health.lastErrAt)
	if ok {
		s.health.auto, s.health.errCount = false, 0
	}
	s.mu.Unlock()
	if ok && p != nil {
		p.transition(s, Shunned, Online, "recovered", fmt.Sprintf("no connect error for %v", idle.Round(time.Millisecond)))
	}
	return ok
}

// ignoredForShun lists errors that come from the client's identity or
// request, not the server's health: they never shun.
func ignoredForShun(code uint16) bool {
	switch {
	case code == 1007, code == 1008, code == 1044, code == 1045,
		code >= 1048 && code <= 1052, code >= 1054 && code <= 1075,
		code >= 1099 && code <= 1104, code >= 1106 && code <= 1113,
		code >= 1116 && code <= 1118, code == 1120, code == 1136,
		code >= 1138 && code <= 1149, code == 1203, code == 1226, code == 3118:
		return true
	}
	return false
}

// errTooManyConnections is MySQL's ER_CON_COUNT_ERROR.
const errTooManyConnections = 1040

// connectFailed accounts a failed connect to s. Counting is per wall-clock
// second, as in ProxySQL: min(mysql-shun_on_failures,
// mysql-connect_retries_on_failure+1) errors within one second shun the
// server. "Too many connections" does not shun: the server is alive and
// merely full, so sqlgate stops opening connections to it for a second
// and lets sessions wait for a free one, instead of shunning it and
// flapping the whole hostgroup.
func (p *Pool) connectFailed(s *Server, err error, o *Options) {
	var me *wire.Error
	if errors.As(err, &me) {
		if me.Code == errTooManyConnections {
			s.mu.Lock()
			was := time.Now().Before(s.health.capUntil)
			s.health.capUntil, s.health.capUsed = time.Now().Add(time.Second), s.used
			used := s.used
			s.mu.Unlock()
			if !was {
				p.transition(s, Online, Online, "throttled",
					fmt.Sprintf("the server answered 1040 Too many connections with %d connections open from this hostgroup; no new connection for 1s", used))
			}
			return
		}
		if ignoredForShun(me.Code) {
			return
		}
	}
	if o.ShunOnFailures <= 0 {
		return
	}
	now := time.Now()
	s.mu.Lock()
	if sec := now.Unix(); sec != s.health.errSec {
		s.health.errSec, s.health.errCount = sec, 0
	}
	s.health.errCount++
	s.health.lastErrAt = now
	n := s.health.errCount
	limit := min(o.ShunOnFailures, o.ConnectRetries+1)
	shun := n >= limit && s.status.CompareAndSwap(int32(Online), int32(Shunned))
	var free []*Conn
	if shun {
		s.health.auto, s.health.killAll = true, false
		free, s.free = s.free, nil
	}
	s.mu.Unlock()
	if shun {
		closeAll(free)
		p.transition(s, Online, Shunned, "connect errors",
			fmt.Sprintf("%d connect errors within 1s (limit %d = min(mysql-shun_on_failures, mysql-connect_retries_on_failure+1)), last: %v; shunned for %v",
				n, limit, err, recoveryWindow(o)))
	}
}

// servers returns every server entry of host:port, in all hostgroups.
// The monitor calls this for every check, so it reads an index that
// Configure rebuilds instead of scanning every hostgroup.
func (p *Pool) servers(host string, port int) []*Server {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.byHost[hostPort{host, port}]
}

type hostPort struct {
	host string
	port int
}

// ShunHost takes host:port out of every hostgroup because the monitor
// lost it (failed pings): SHUNNED, every connection cut, so sessions fail
// over now instead of waiting on a dead socket. Only RecoverHost, on a
// good ping, brings it back.
func (p *Pool) ShunHost(host string, port int, reason string) {
	for _, s := range p.servers(host, port) {
		s.mu.Lock()
		from := s.Status()
		shun := s.status.CompareAndSwap(int32(Online), int32(Shunned))
		if !shun && from == Shunned && s.health.auto && !s.health.killAll {
			// Already shunned for connect errors: from now on only a good
			// ping brings it back, so sessions stop probing a dead host
			// every recovery window.
			shun = true
		}
		var cut []*Conn
		if shun {
			s.health.auto, s.health.killAll = true, true
			cut, s.free = s.free, nil
			for c := range s.busy {
				cut = append(cut, c)
			}
		}
		s.mu.Unlock()
		if shun {
			for _, c := range cut {
				c.Conn.Conn.Close()
			}
			p.transition(s, from, Shunned, "ping failures", reason)
		}
	}
}

// RecoverHost ends a ShunHost after a good ping.
func (p *Pool) RecoverHost(host string, port int, reason string) {
	for _, s := range p.servers(host, port) {
		s.mu.Lock()
		ok := s.health.killAll && s.status.CompareAndSwap(int32(Shunned), int32(Online))
		if ok {
			s.health.auto, s.health.killAll, s.health.errCount = false, false, 0
		}
		s.mu.Unlock()
		if ok {
			p.transition(s, Shunned, Online, "ping recovered", reason)
			s.hg.mu.Lock()
			s.hg.wakeLocked()
			s.hg.mu.Unlock()
		}
	}
}

// SetLatency records the monitor's ping latency for host:port.
func (p *Pool) SetLatency(host string, port int, us int64) {
	for _, s := range p.servers(host, port) {
		s.LatencyUs.Store(us)
	}
}

// Lag values other than seconds.
const (
	LagNull       = -1 // Seconds_Behind_Master is NULL (replication stopped)
	LagNotReplica = -2 // no replication configured: a primary
	LagUnknown    = -3 // the check failed
)

// SetLag applies a replication lag measurement of host:port to
// every hostgroup entry with max_replication_lag > 0: count consecutive
// measurements above the limit and shun at count; bring a lag-shunned
// server back once it is within the limit (or no longer a replica). A
// failed check changes nothing.
func (p *Pool) SetLag(host string, port int, lag int64, count int) {
	for _, s := range p.servers(host, port) {
		s.Lag.Store(lag)
		if lag == LagUnknown {
			continue
		}
		s.mu.Lock()
		max := int64(s.MaxReplicationLag)
		st := s.Status()
		var from, to Status = st, st
		var free []*Conn
		switch {
		case max <= 0:
		case st == Online && lag >= 0 && lag > max:
			s.health.lagCount++
			if s.health.lagCount >= count && s.status.CompareAndSwap(int32(Online), int32(ShunnedReplicationLag)) {
				to = ShunnedReplicationLag
				free, s.free = s.free, nil
			}
		case st == Online:
			s.health.lagCount = 0
		case st == ShunnedReplicationLag && (lag >= 0 && lag <= max || lag == LagNotReplica):
			if s.status.CompareAndSwap(int32(ShunnedReplicationLag), int32(Online)) {
				to, s.health.lagCount = Online, 0
			}
		}
		n := s.health.lagCount
		s.mu.Unlock()
		closeAll(free)
		if to != from {
			p.transition(s, from, to, "replication lag", fmt.Sprintf("lag %ds, max_replication_lag %ds, %d consecutive checks (mysql-monitor_replication_lag_count=%d)", lag, max, n, count))
			if to == Online {
				s.hg.mu.Lock()
				s.hg.wakeLocked()
				s.hg.mu.Unlock()
			}
		}
	}
}

// Lookup returns the entry of host:port in hostgroup hgID, or nil.
func (p *Pool) Lookup(hgID int, host string, port int) *Server {
	for _, s := range p.servers(host, port) {
		if s.Hostgroup == hgID {
			return s
		}
	}
	return nil
}

// Cut closes every connection of a hostgroup entry, in use or idle: the
// monitor demoted a writer, and transactions on it must end now rather
// than fail later on a read-only server. Look the entry up before the
// configuration that removes it is applied.
func (s *Server) Cut() {
	s.mu.Lock()
	cut := s.free
	s.free = nil
	for c := range s.busy {
		cut = append(cut, c)
	}
	s.mu.Unlock()
	for _, c := range cut {
		c.Conn.Conn.Close()
	}
}

// Transition is one kind of server state change and how often it happened
// (sqlgate's stats_mysql_server_status_changes).
type Transition struct {
	Hostgroup  int
	Host       string
	Port       int
	From, To   string
	Reason     string
	Count      int64
	Last       time.Time
	LastDetail string
}

type transitionKey struct {
	hg       int
	host     string
	port     int
	from, to Status
	reason   string
}

type transitions struct {
	mu sync.Mutex
	m  map[transitionKey]*Transition
}

// transition logs a server state change once, with the numbers that caused
// it, and counts it.
func (p *Pool) transition(s *Server, from, to Status, reason, detail string) {
	now := time.Now()
	k := transitionKey{s.Hostgroup, s.Host, s.Port, from, to, reason}
	p.transitions.mu.Lock()
	if p.transitions.m == nil {
		p.transitions.m = map[transitionKey]*Transition{}
	}
	t := p.transitions.m[k]
	if t == nil {
		t = &Transition{Hostgroup: s.Hostgroup, Host: s.Host, Port: s.Port, From: from.String(), To: to.String(), Reason: reason}
		p.transitions.m[k] = t
	}
	t.Count++
	t.Last, t.LastDetail = now, detail
	p.transitions.mu.Unlock()
	if p.log != nil {
		p.log.Warn("server "+reason, "hostgroup", s.Hostgroup, "server", s.Addr(), "from", from.String(), "to", to.String(), "why", detail)
	}
}

// Transitions returns the state-change counters, ordered by hostgroup,
// server and time.
func (p *Pool) Transitions() []Transition {
	p.transitions.mu.Lock()
	out := make([]Transition, 0, len(p.transitions.m))
	for _, t := range p.transitions.m {
		out = append(out, *t)
	}
	p.transitions.mu.Unlock()
	slices.SortFunc(out, func(a, b Transition) int {
		if a.Hostgroup != b.Hostgroup {
			return a.Hostgroup - b.Hostgroup
		}
		if a.Host != b.Host {
			if a.Host < b.Host {
				return -1
			}
			return 1
		}
		if a.Port != b.Port {
			return a.Port - b.Port
		}
		return a.Last.Compare(b.Last)
	})
	return out
}
