// Package monitor checks the backends as ProxySQL's Monitor module does:
// connect, ping with latency, read_only for
// replication hostgroups, and replication lag, with the mysql-monitor_*
// variables' names and defaults. Results go to bounded in-memory logs that
// the admin shows as the monitor.mysql_server_*_log tables, and drive the
// pool (shunning, lag, latency) and the replication topology.
//
// Each host gets one goroutine per check, so a host that hangs delays only
// its own checks, and the read_only interval can go down to 100 ms without
// one slow server holding up the detection of a failover on another.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/runtime"
	"sqlgate/internal/wire"
)

// Topology receives read_only results; the admin implements it by moving
// servers between the writer and reader hostgroups.
type Topology interface {
	// ReadOnly reports false when the result could not be applied; the
	// monitor then acts on the next check again.
	ReadOnly(host string, port int, readOnly bool) bool
}

// Monitor runs the checks. Create it with New, then Start.
type Monitor struct {
	store *runtime.Store
	pool  *backend.Pool
	topo  Topology
	log   *slog.Logger

	mu      sync.Mutex
	hosts   map[hostKey]*host
	changed chan struct{} // closed and replaced when the configuration changes
	stop    chan struct{}
	wg      sync.WaitGroup
	started bool

	logs *Logs
}

type hostKey struct {
	host string
	port int
}

func (k hostKey) addr() string {
	if k.port == 0 {
		return k.host
	}
	return net.JoinHostPort(k.host, strconv.Itoa(k.port))
}

// New returns a monitor over the snapshots in store.
func New(store *runtime.Store, pool *backend.Pool, topo Topology, logs *Logs, log *slog.Logger) *Monitor {
	if logs == nil {
		logs = NewLogs(store)
	}
	return &Monitor{store: store, pool: pool, topo: topo, logs: logs, log: log, hosts: map[hostKey]*host{}, stop: make(chan struct{}), changed: make(chan struct{})}
}

func (m *Monitor) changedCh() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// Start begins checking; the set of hosts follows the runtime
// configuration.
func (m *Monitor) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return
	}
	m.started = true
	m.wg.Add(1)
	go m.reconcileLoop()
}

// Close stops every check and closes the monitor's connections.
func (m *Monitor) Close() {
	m.mu.Lock()
	if !m.started {
		m.mu.Unlock()
		return
	}
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	m.mu.Unlock()
	m.wg.Wait()
	m.mu.Lock()
	for k, h := range m.hosts {
		h.close()
		delete(m.hosts, k)
	}
	m.mu.Unlock()
}

// target is what one host must be checked for.
type target struct {
	readOnly string // the read_only query, "" when in no replication hostgroup
	lag      bool   // some hostgroup entry has max_replication_lag > 0
	offline  bool   // every entry is OFFLINE_SOFT/HARD: only connect and ping
	useSSL   bool   // some entry has use_ssl=1 (ProxySQL's MAX(use_ssl))
}

// targets derives the hosts to check from a snapshot: every distinct
// host:port not OFFLINE_HARD.
func targets(snap *runtime.Snapshot) map[hostKey]target {
	out := map[hostKey]target{}
	pairs := map[int]string{}
	for _, p := range snap.Replication {
		q, _ := runtime.ReadOnlyQuery(p.CheckType)
		pairs[p.Writer], pairs[p.Reader] = q, q
	}
	for _, s := range snap.Servers {
		if s.Status == backend.OfflineHard {
			continue
		}
		k := hostKey{s.Host, s.Port}
		t, seen := out[k]
		if !seen {
			t.offline = true
		}
		t.useSSL = t.useSSL || s.UseSSL
		if s.Status != backend.OfflineSoft {
			t.offline = false
			if q, ok := pairs[s.Hostgroup]; ok {
				t.readOnly = q
			}
			if s.MaxReplicationLag > 0 {
				t.lag = true
			}
		}
		out[k] = t
	}
	return out
}

// reconcileLoop starts and stops per-host checks as the configuration
// changes.
func (m *Monitor) reconcileLoop() {
	defer m.wg.Done()
	var version uint64
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if snap := m.store.Load(); snap != nil && snap.Version != version {
			version = snap.Version
			m.reconcile(snap)
		}
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

func (m *Monitor) reconcile(snap *runtime.Snapshot) {
	want := targets(snap)
	m.mu.Lock()
	defer m.mu.Unlock()
	close(m.changed)
	m.changed = make(chan struct{})
	for k, h := range m.hosts {
		if _, ok := want[k]; !ok {
			h.close()
			delete(m.hosts, k)
			m.logs.forget(k)
		}
	}
	for k, t := range want {
		h := m.hosts[k]
		if h == nil {
			h = &host{m: m, key: k, stop: make(chan struct{}), lastRO: -1, born: time.Now()}
			m.hosts[k] = h
			h.setTarget(t)
			for _, c := range checks {
				m.wg.Add(1)
				go h.run(c)
			}
			continue
		}
		h.setTarget(t)
	}
}

// check is one kind of monitor check.
type check int

const (
	checkConnect check = iota
	checkPing
	checkReadOnly
	checkLag
)

var checks = []check{checkConnect, checkPing, checkReadOnly, checkLag}

func (c check) String() string {
	return [...]string{"connect", "ping", "read_only", "replication_lag"}[c]
}

// interval and timeout of a check from the variables.
func (c check) timing(v *runtime.MonitorVars) (interval, timeout time.Duration) {
	switch c {
	case checkConnect:
		return v.ConnectInterval, v.ConnectTimeout
	case checkPing:
		return v.PingInterval, v.PingTimeout
	case checkReadOnly:
		return v.ReadOnlyInterval, v.ReadOnlyTimeout
	default:
		return v.ReplicationLagInterval, v.ReplicationLagTimeout
	}
}

// host is one backend host:port being checked.
type host struct {
	m    *Monitor
	key  hostKey
	stop chan struct{}
	born time.Time

	mu      sync.Mutex
	target  target
	free    []*backend.Conn // idle monitor connections
	account string          // the user, password and TLS settings they logged in with
	closed  bool

	// Check state (guarded by mu).
	pingFails     int       // consecutive failed pings
	pingShunned   bool      // this monitor shunned the host for failed pings
	roTimeouts    int       // consecutive read_only timeouts
	lastErr       [4]string // last error per check, to log once per change
	latencies     []int64   // last successful ping times (µs)
	lastRO        int       // last read_only acted on, -1 none
	lastROVersion uint64    // snapshot version it was acted on
}

func (h *host) setTarget(t target) {
	h.mu.Lock()
	h.target = t
	h.mu.Unlock()
}

func (h *host) close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.stop)
	}
	free := h.free
	h.free = nil
	h.mu.Unlock()
	for _, c := range free {
		c.Close()
	}
}

// run repeats one check at its interval until the host or the monitor
// stops. The first run waits a stable per-host fraction of the interval so
// that checks of many hosts spread over time. A configuration change wakes
// the loop, so a shorter interval applies at once rather than after the
// old, longer sleep.
func (h *host) run(c check) {
	defer h.m.wg.Done()
	var last time.Time // start of the last run; zero before the first
	for {
		snap := h.m.store.Load()
		v := &snap.Vars.Monitor
		interval, timeout := c.timing(v)
		next := last.Add(interval)
		if last.IsZero() {
			next = h.born.Add(time.Duration(int64(interval) * int64(hashSpread(h.key, c)) / 1000))
		}
		if wait := time.Until(next); wait > 0 {
			changed := h.m.changedCh()
			t := time.NewTimer(wait)
			select {
			case <-h.stop:
				t.Stop()
				return
			case <-h.m.stop:
				t.Stop()
				return
			case <-changed:
				t.Stop()
				continue
			case <-t.C:
				continue
			}
		}
		last = time.Now()
		if v.Enabled {
			h.once(c, snap, timeout)
		}
	}
}

// hashSpread gives a stable per-host, per-check offset in [0, 1000).
func hashSpread(k hostKey, c check) int {
	n := uint32(2166136261)
	for _, b := range []byte(k.host) {
		n = (n ^ uint32(b)) * 16777619
	}
	n = (n ^ uint32(k.port)) * 16777619
	n = (n ^ uint32(c)) * 16777619
	return int(n % 1000)
}

// conn returns an idle monitor connection to the host or opens one.
func (h *host) conn(snap *runtime.Snapshot, timeout time.Duration) (*backend.Conn, error) {
	v := &snap.Vars.Monitor
	h.mu.Lock()
	tlsFiles := "plain"
	if backend.UsesTLS(h.target.useSSL, h.key.port) {
		tlsFiles = fmt.Sprintf("%+v", snap.BackendTLS.Files(h.key.host, h.key.port, v.Username))
	}
	account := v.Username + "\x00" + v.Password + "\x00" + tlsFiles
	if h.account != account {
		// New monitor credentials or TLS settings: connections logged in
		// with the old ones would hide a wrong password or certificate.
		for _, c := range h.free {
			c.Close()
		}
		h.free, h.account = nil, account
	}
	if n := len(h.free); n > 0 {
		c := h.free[n-1]
		h.free = h.free[:n-1]
		h.mu.Unlock()
		return c, nil
	}
	h.mu.Unlock()
	return h.dial(snap, timeout)
}

func (h *host) dial(snap *runtime.Snapshot, timeout time.Duration) (*backend.Conn, error) {
	v := &snap.Vars.Monitor
	cred := wire.CleartextCredential(v.Password)
	h.mu.Lock()
	useSSL := backend.UsesTLS(h.target.useSSL, h.key.port)
	h.mu.Unlock()
	o := backend.DialOptions{User: v.Username, Cred: cred, Timeout: timeout}
	if useSSL {
		o.TLS = snap.BackendTLS.For(h.key.host, h.key.port, v.Username)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := backend.Dial(ctx, backend.Network(h.key.port), h.key.addr(), o)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// put returns a healthy connection for reuse.
func (h *host) put(c *backend.Conn, ok bool) {
	h.mu.Lock()
	if ok && !h.closed && !c.Broken && len(h.free) < 2 {
		h.free = append(h.free, c)
		c = nil
	}
	h.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// query runs q on a monitor connection with a deadline.
func (h *host) query(snap *runtime.Snapshot, q string, timeout time.Duration) ([]string, [][]*string, error) {
	start := time.Now()
	c, err := h.conn(snap, timeout)
	if err != nil {
		return nil, nil, err
	}
	c.SetDeadline(start.Add(timeout))
	cols, rows, err := c.QueryRows(q)
	c.SetDeadline(time.Time{})
	var we *wire.Error
	h.put(c, err == nil || errors.As(err, &we))
	return cols, rows, err
}

// isTimeout reports a check that ran out of time (as opposed to a refused
// connection or an SQL error).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// accessDenied reports errors ProxySQL ignores when counting failed pings:
// the server is alive, the monitor account is wrong.
func accessDenied(err error) bool {
	var we *wire.Error
	return errors.As(err, &we) && (we.Code == 1045 || we.Code == 1862 || we.Code == 1820)
}

// noteErr logs a check's error once per change of error (and its clearing).
func (h *host) noteErr(c check, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	h.mu.Lock()
	changed := h.lastErr[c] != msg
	h.lastErr[c] = msg
	h.mu.Unlock()
	if !changed || h.m.log == nil {
		return
	}
	if err != nil {
		hint := ""
		var we *wire.Error
		switch {
		case accessDenied(err):
			hint = "; check mysql-monitor_username/mysql-monitor_password and the account's grants"
		case errors.As(err, &we) && (we.Code == 1227 || we.Code == 1142 || we.Code == 1044):
			hint = "; the monitor account lacks a privilege (REPLICATION CLIENT / SLAVE MONITOR for the lag check, SELECT on a heartbeat table)"
		}
		h.m.log.Warn("monitor: "+c.String()+" check failing", "server", h.key.addr(), "err", msg+hint)
	} else {
		h.m.log.Info("monitor: "+c.String()+" check succeeds again", "server", h.key.addr())
	}
}

func (h *host) once(c check, snap *runtime.Snapshot, timeout time.Duration) {
	h.mu.Lock()
	t := h.target
	h.mu.Unlock()
	switch c {
	case checkConnect:
		h.connectCheck(snap, timeout)
	case checkPing:
		h.pingCheck(snap, timeout)
	case checkReadOnly:
		if t.readOnly != "" && !t.offline {
			h.readOnlyCheck(snap, t.readOnly, timeout)
		}
	case checkLag:
		if t.lag && !t.offline {
			h.lagCheck(snap, timeout)
		}
	}
}

func (h *host) connectCheck(snap *runtime.Snapshot, timeout time.Duration) {
	start := time.Now()
	c, err := h.dial(snap, timeout)
	d := time.Since(start)
	if err == nil {
		c.Close()
	}
	h.noteErr(checkConnect, err)
	h.m.logs.add(logConnect, entry{host: h.key, start: start, took: d, err: err})
}

func (h *host) pingCheck(snap *runtime.Snapshot, timeout time.Duration) {
	v := &snap.Vars.Monitor
	start := time.Now()
	c, err := h.conn(snap, timeout)
	if err == nil {
		c.SetDeadline(start.Add(timeout))
		_, err = c.Exec(wire.ComPing, "")
		c.SetDeadline(time.Time{})
		h.put(c, err == nil)
	}
	d := time.Since(start)
	h.noteErr(checkPing, err)
	h.m.logs.add(logPing, entry{host: h.key, start: start, took: d, err: err})
	h.mu.Lock()
	var shun, recover bool
	var avg int64
	fails := 0
	switch {
	case err == nil:
		h.pingFails = 0
		h.latencies = append(h.latencies, d.Microseconds())
		if len(h.latencies) > 3 {
			h.latencies = h.latencies[1:]
		}
		for _, l := range h.latencies {
			avg += l
		}
		avg /= int64(len(h.latencies))
		recover, h.pingShunned = h.pingShunned, false
	case accessDenied(err):
		// Alive but the monitor account is wrong: never shun for that.
	default:
		h.pingFails++
		fails = h.pingFails
		if h.pingFails >= v.PingMaxFailures {
			// Every failed ping past the limit, as ProxySQL: entries that a
			// read_only move created meanwhile are shunned too (the pool
			// ignores servers already shunned this way).
			shun, h.pingShunned = true, true
		}
	}
	h.mu.Unlock()
	if err == nil {
		h.m.pool.SetLatency(h.key.host, h.key.port, avg)
	}
	if shun {
		h.m.pool.ShunHost(h.key.host, h.key.port, fmt.Sprintf("missed %d heartbeats (mysql-monitor_ping_max_failures=%d, mysql-monitor_ping_timeout=%v), shunning it and killing all the connections; last error: %v",
			fails, v.PingMaxFailures, v.PingTimeout, err))
	}
	if recover {
		h.m.pool.RecoverHost(h.key.host, h.key.port, fmt.Sprintf("ping answered in %v", d.Round(time.Microsecond)))
	}
}

func (h *host) readOnlyCheck(snap *runtime.Snapshot, q string, timeout time.Duration) {
	v := &snap.Vars.Monitor
	start := time.Now()
	_, rows, err := h.query(snap, q, timeout)
	d := time.Since(start)
	ro := -1
	if err == nil {
		if len(rows) == 1 && len(rows[0]) == 1 && rows[0][0] != nil {
			n, perr := strconv.Atoi(*rows[0][0])
			if perr == nil {
				ro = n
			}
		}
		if ro < 0 {
			err = fmt.Errorf("unexpected result of %q", q)
		}
	}
	h.noteErr(checkReadOnly, err)
	h.m.logs.add(logReadOnly, entry{host: h.key, start: start, took: d, err: err, value: int64(ro)})
	h.mu.Lock()
	act := ro >= 0
	if err != nil && isTimeout(err) {
		// A host that times out max_timeout_count times in a row is
		// treated as read_only=1, so a hung writer is demoted.
		h.roTimeouts++
		if h.roTimeouts >= v.ReadOnlyMaxTimeoutCount {
			ro, act = 1, true
		}
	} else if err == nil {
		h.roTimeouts = 0
	}
	// Act when the value or the configuration changed: the admin's lock is
	// not taken a thousand times a second for nothing at 100 ms intervals.
	if act && ro == h.lastRO && snap.Version == h.lastROVersion {
		act = false
	}
	h.mu.Unlock()
	if act && h.m.topo != nil && h.m.topo.ReadOnly(h.key.host, h.key.port, ro != 0) {
		h.mu.Lock()
		h.lastRO, h.lastROVersion = ro, snap.Version
		h.mu.Unlock()
	}
}

func (h *host) lagCheck(snap *runtime.Snapshot, timeout time.Duration) {
	v := &snap.Vars.Monitor
	start := time.Now()
	var lag int64 = backend.LagUnknown
	var err error
	if hb := v.ReplicationLagHeartbeat; hb != "" {
		var rows [][]*string
		_, rows, err = h.query(snap, "SELECT MAX(ROUND(TIMESTAMPDIFF(MICROSECOND, ts, SYSDATE(6))/1000000)) AS Seconds_Behind_Master FROM "+hb, timeout)
		if err == nil {
			lag = backend.LagNull
			if len(rows) == 1 && len(rows[0]) == 1 && rows[0][0] != nil {
				lag, err = strconv.ParseInt(*rows[0][0], 10, 64)
			}
		}
	} else {
		var cols []string
		var rows [][]*string
		cols, rows, err = h.query(snap, "SHOW SLAVE STATUS", timeout)
		if err == nil {
			lag = backend.LagNotReplica
			if len(rows) > 0 {
				lag = backend.LagNull
				for i, c := range cols {
					if c == "Seconds_Behind_Master" && i < len(rows[0]) && rows[0][i] != nil {
						lag, err = strconv.ParseInt(*rows[0][i], 10, 64)
					}
				}
			}
		}
	}
	if err != nil {
		lag = backend.LagUnknown
	}
	d := time.Since(start)
	h.noteErr(checkLag, err)
	h.m.logs.add(logLag, entry{host: h.key, start: start, took: d, err: err, value: lag})
	if lag == backend.LagNull {
		// Replication stopped: as lagging as mysql-monitor_slave_lag_when_null says.
		lag = int64(v.SlaveLagWhenNull)
	}
	h.m.pool.SetLag(h.key.host, h.key.port, lag, v.ReplicationLagCount)
}

// Hosts returns the checked hosts, sorted, for diagnostics.
func (m *Monitor) Hosts() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.hosts))
	for k := range m.hosts {
		out = append(out, k.addr())
	}
	sort.Strings(out)
	return out
}
