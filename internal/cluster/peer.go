package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/wire"
)

// conn is a client connection to a peer's admin interface.
type conn struct {
	c       *backend.Conn
	timeout time.Duration
	stop    func() bool // unregisters the close-on-cancel hook
}

// dialPeer logs into a peer's admin port with the cluster credentials
// (connect timeout 1 s, as ProxySQL). When ctx ends, the connection is
// closed under whatever query is running, so a stopping node never waits
// for a peer that does not answer.
func dialPeer(ctx context.Context, p Peer, cfg Config) (*conn, error) {
	cred := wire.CleartextCredential(cfg.Password)
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	addr := net.JoinHostPort(p.Hostname, strconv.Itoa(p.Port))
	c, err := backend.Dial(dctx, "tcp", addr, backend.DialOptions{User: cfg.Username, Cred: cred, Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	// Closing the socket (not c.Close, which writes COM_QUIT) is safe
	// while another goroutine is inside a query on it.
	c.Limits = peerLimits
	stop := context.AfterFunc(ctx, func() { c.Conn.Close() })
	return &conn{c: c, timeout: 10 * time.Second, stop: stop}, nil
}

// peerLimits bound every resultset a peer sends (a configuration of
// 150,000 users fits), so a lying or broken peer cannot exhaust memory
// with an endless resultset; time is bounded by the query deadline.
var peerLimits = backend.Limits{Bytes: 64 << 20, Cells: 2 << 20}

func (c *conn) close() {
	c.stop()
	c.c.Close()
}

// query runs q with a deadline: a peer that stops answering must not hang
// the monitor (ProxySQL sets no timeout here and can hang forever).
func (c *conn) query(q string) ([]string, [][]*string, error) {
	c.c.SetDeadline(time.Now().Add(c.timeout))
	defer c.c.SetDeadline(time.Time{})
	cols, rows, err := c.c.QueryRows(q)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", q, err)
	}
	return cols, rows, nil
}

func (c *conn) exec(q string) error {
	c.c.SetDeadline(time.Now().Add(c.timeout))
	defer c.c.SetDeadline(time.Time{})
	_, _, err := c.c.QueryRows(q)
	return err
}

// sleep waits d or until the node or the cluster stops; false when stopped.
// It checks for the stop even when d is 0, so no caller can spin.
func (c *Cluster) sleep(n *node, d time.Duration) bool {
	if d <= 0 {
		return n.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-n.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// maxBackoff bounds the wait between attempts on a peer that keeps
// failing, so a peer that comes back is seen again within seconds.
const maxBackoff = 5 * time.Second

// backoff is the wait before the next attempt after failures consecutive
// failed attempts: the check interval, doubled per further failure up to
// maxBackoff (never less than the interval).
func backoff(interval time.Duration, failures int) time.Duration {
	if interval <= 0 {
		interval = time.Second
	}
	d := interval
	for i := 1; i < failures && d < maxBackoff; i++ {
		d *= 2
	}
	return max(interval, min(d, maxBackoff))
}

// monitor is one peer's thread. A peer that cannot be reached,
// refuses the login or fails a check costs one attempt per check interval,
// backing off up to maxBackoff while it keeps failing; setStatus logs each
// change of reason once.
func (c *Cluster) monitor(n *node) {
	defer c.wg.Done()
	defer c.info(fmt.Sprintf("Cluster: closing thread for peer %s:%d", n.peer.Hostname, n.peer.Port))
	failures := 0
	for n.ctx.Err() == nil {
		cfg := c.local.ClusterConfig()
		if cfg.Username == "" {
			if !c.sleep(n, time.Second) {
				return
			}
			continue
		}
		var wait time.Duration
		pc, err := dialPeer(n.ctx, n.peer, cfg)
		if err != nil {
			err = fmt.Errorf("unable to connect: %w", err)
		} else {
			okBefore := c.checksOK(n)
			wait, err = c.session(n, pc, cfg)
			pc.close()
			if c.checksOK(n) > okBefore {
				failures = 0
			}
		}
		if n.ctx.Err() != nil {
			return // stopped: the error is ours, not the peer's
		}
		if err != nil {
			failures++
			c.fail(n, err.Error())
			wait = max(wait, backoff(cfg.CheckInterval, failures))
		}
		if !c.sleep(n, wait) {
			return
		}
	}
}

func (c *Cluster) checksOK(n *node) int64 {
	c.dataMu.Lock()
	defer c.dataMu.Unlock()
	return n.checksOK
}

// fail records a failed check.
func (c *Cluster) fail(n *node, why string) {
	c.dataMu.Lock()
	n.checksErr++
	c.dataMu.Unlock()
	c.setStatus(n, why)
}

// session runs the version handshake and the poll loop on one connection
// until a query fails. It returns how long to wait before reconnecting.
func (c *Cluster) session(n *node, pc *conn, cfg Config) (time.Duration, error) {
	_, rows, err := pc.query("SELECT @@version")
	if err != nil {
		return cfg.CheckInterval, err
	}
	remote := ""
	if len(rows) == 1 && len(rows[0]) == 1 {
		remote = deref(rows[0][0])
	}
	if self := c.local.Version(); remote != self {
		return 30 * time.Second, fmt.Errorf("different ProxySQL version with peer %s:%d . Remote: %s . Self: %s", n.peer.Hostname, n.peer.Port, remote, self)
	}
	c.info(fmt.Sprintf("Cluster: clustering with peer %s:%d . Remote version: %s . Self version: %s", n.peer.Hostname, n.peer.Port, remote, remote))
	if err := pc.exec("PROXYSQL CLUSTER_NODE_UUID " + c.local.NodeUUID() + " " + c.local.AdminIfaces()); err != nil {
		return cfg.CheckInterval, err
	}
	count := 0
	for n.ctx.Err() == nil {
		next := c.local.ClusterConfig()
		if next.Username == "" || next.Username != cfg.Username || next.Password != cfg.Password {
			return 0, nil // new cluster account: log in again with it
		}
		cfg = next
		t0 := time.Now()
		_, rows, err := pc.query("SELECT GLOBAL_CHECKSUM()")
		if err != nil {
			return cfg.CheckInterval, err
		}
		gc := ""
		if len(rows) == 1 && len(rows[0]) == 1 {
			gc = deref(rows[0][0])
		}
		c.dataMu.Lock()
		changed := gc != n.globalChecksum
		c.dataMu.Unlock()
		var sums [][]*string
		if changed {
			_, sums, err = pc.query("SELECT * FROM runtime_checksums_values ORDER BY name")
			if err != nil {
				return cfg.CheckInterval, err
			}
			if sums == nil {
				sums = [][]*string{}
			}
		}
		c.mu.Lock()
		if changed {
			c.dataMu.Lock()
			n.globalChecksum = gc
			c.dataMu.Unlock()
		}
		c.update(n, sums, c.local.Checksums(), cfg)
		c.decide(n, cfg)
		c.mu.Unlock()
		count++
		if cfg.StatusFrequency > 0 && count >= cfg.StatusFrequency {
			count = 0
			if err := c.fetchMetrics(n, pc); err != nil {
				return cfg.CheckInterval, err
			}
		}
		took := time.Since(t0)
		c.dataMu.Lock()
		n.checksOK++
		n.lastCheck, n.lastCheckAt = took, time.Now()
		c.dataMu.Unlock()
		c.setStatus(n, "")
		if !c.sleep(n, cfg.CheckInterval-took) {
			return 0, nil
		}
	}
	return 0, nil
}

// fetchMetrics reads the peer's stats_mysql_global.
func (c *Cluster) fetchMetrics(n *node, pc *conn) error {
	t0 := time.Now()
	_, rows, err := pc.query("SELECT * FROM stats_mysql_global ORDER BY Variable_Name")
	if err != nil {
		return err
	}
	m := metrics{responseTime: time.Since(t0), at: time.Now()}
	for _, r := range rows {
		if len(r) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(deref(r[1]), 10, 64)
		switch deref(r[0]) {
		case "Client_Connections_connected":
			m.connected = v
		case "Client_Connections_created":
			m.creat = v
		case "ProxySQL_Uptime":
			m.uptime = v
		case "Questions":
			m.queries = v
		case "Servers_table_version":
			m.serversTableVersion = v
		}
	}
	c.dataMu.Lock()
	n.metrics = m
	c.dataMu.Unlock()
	return nil
}

// errMismatch is a fetched resultset that does not hash to the checksum
// the peer announced: nothing is applied.
var errMismatch = errors.New("mismatching checksum")

// rulesQ, usersQ... are the queries a ProxySQL 2.7 node sends to fetch a
// module from a peer, byte for byte: a real ProxySQL node matches them by
// prefix.
const (
	rulesQ = "PROXY_SELECT rule_id, username, schemaname, flagIN, client_addr, proxy_addr, proxy_port, digest, match_digest, match_pattern, negate_match_pattern, re_modifiers, flagOUT, replace_pattern, destination_hostgroup, cache_ttl, cache_empty_result, cache_timeout, reconnect, timeout, retries, delay, next_query_flagIN, mirror_flagOUT, mirror_hostgroup, error_msg, ok_msg, sticky_conn, multiplex, gtid_from_hostgroup, log, apply, attributes, comment FROM runtime_mysql_query_rules ORDER BY rule_id"
	fastQ  = "PROXY_SELECT username, schemaname, flagIN, destination_hostgroup, comment FROM runtime_mysql_query_rules_fast_routing ORDER BY username, schemaname, flagIN"
	usersQ = "PROXY_SELECT username, password, use_ssl, default_hostgroup, default_schema, schema_locked, transaction_persistent, fast_forward, backend, frontend, max_connections, attributes, comment FROM runtime_mysql_users"
	psQ    = "SELECT hostname, port, weight, comment FROM runtime_proxysql_servers ORDER BY hostname, port"

	serversV2Q  = "PROXY_SELECT hostgroup_id, hostname, port, gtid_port, status, weight, compression, max_connections, max_replication_lag, use_ssl, max_latency_ms, comment FROM mysql_servers_v2 WHERE status<>'OFFLINE_HARD' ORDER BY hostgroup_id, hostname, port"
	replQ       = "PROXY_SELECT writer_hostgroup, reader_hostgroup, comment FROM runtime_mysql_replication_hostgroups ORDER BY writer_hostgroup"
	grQ         = "PROXY_SELECT writer_hostgroup, backup_writer_hostgroup, reader_hostgroup, offline_hostgroup, active, max_writers, writer_is_also_reader, max_transactions_behind, comment FROM runtime_mysql_group_replication_hostgroups ORDER BY writer_hostgroup"
	galeraQ     = "PROXY_SELECT writer_hostgroup, backup_writer_hostgroup, reader_hostgroup, offline_hostgroup, active, max_writers, writer_is_also_reader, max_transactions_behind, comment FROM runtime_mysql_galera_hostgroups ORDER BY writer_hostgroup"
	auroraQ     = "PROXY_SELECT writer_hostgroup, reader_hostgroup, active, aurora_port, domain_name, max_lag_ms, check_interval_ms, check_timeout_ms, writer_is_also_reader, new_reader_weight, add_lag_ms, min_lag_ms, lag_num_checks, comment FROM runtime_mysql_aws_aurora_hostgroups ORDER BY writer_hostgroup"
	attrsQ      = "PROXY_SELECT hostgroup_id, max_num_online_servers, autocommit, free_connections_pct, init_connect, multiplex, connection_warming, throttle_connections_per_sec, ignore_session_variables, hostgroup_settings, servers_defaults, comment FROM runtime_mysql_hostgroup_attributes ORDER BY hostgroup_id"
	sslQ        = "PROXY_SELECT hostname, port, username, ssl_ca, ssl_cert, ssl_key, ssl_capath, ssl_crl, ssl_crlpath, ssl_cipher, tls_version, comment FROM runtime_mysql_servers_ssl_params ORDER BY hostname, port, username"
	runtimeSrvQ = "PROXY_SELECT hostgroup_id, hostname, port, gtid_port, status, weight, compression, max_connections, max_replication_lag, use_ssl, max_latency_ms, comment FROM runtime_mysql_servers WHERE status<>'OFFLINE_HARD' ORDER BY hostgroup_id, hostname, port"
)

// PeerQueries lists every query sqlgate sends to a peer, for the README's
// compatibility list and its test.
var PeerQueries = []string{
	"SELECT @@version", "PROXYSQL CLUSTER_NODE_UUID <uuid> <admin-mysql_ifaces>", "SELECT GLOBAL_CHECKSUM()",
	"SELECT * FROM runtime_checksums_values ORDER BY name", "SELECT * FROM stats_mysql_global ORDER BY Variable_Name",
	rulesQ, fastQ, usersQ, psQ, varsQuery("admin"), varsQuery("mysql"),
	serversV2Q, replQ, grQ, galeraQ, auroraQ, attrsQ, sslQ, runtimeSrvQ,
}

// ModuleQueries are the queries that fetch module m from a peer, in the
// order of Pull.Results: its whole content, which its checksum covers.
// nil for an unknown module.
func ModuleQueries(m string) []string {
	switch m {
	case MySQLQueryRules:
		return []string{rulesQ, fastQ}
	case MySQLUsers:
		return []string{usersQ}
	case AdminVariables:
		return []string{varsQuery("admin")}
	case MySQLVariables:
		return []string{varsQuery("mysql")}
	case ProxySQLServers:
		return []string{psQ}
	case MySQLServersV2:
		return []string{serversV2Q, replQ, grQ, galeraQ, auroraQ, attrsQ, sslQ}
	case MySQLServers:
		return []string{runtimeSrvQ}
	}
	return nil
}

// KeyColumns is how many leading columns of a fetch query (ModuleQueries)
// identify a row; 0 when only the whole row does.
func KeyColumns(q string) int {
	switch t := QueryTable(q); {
	case strings.HasSuffix(t, "mysql_servers") || strings.HasSuffix(t, "mysql_servers_v2"):
		return 3 // hostgroup_id, hostname, port
	case strings.HasSuffix(t, "fast_routing"), strings.HasSuffix(t, "ssl_params"):
		return 3 // username, schemaname, flagIN / hostname, port, username
	case strings.HasSuffix(t, "proxysql_servers"):
		return 2 // hostname, port
	case strings.HasSuffix(t, "mysql_users"):
		return 0 // a user may have a frontend and a backend row: whole rows
	}
	return 1 // rule_id, variable_name, writer_hostgroup, hostgroup_id
}

// QueryTable is the table a fetch query reads.
func QueryTable(q string) string {
	f := strings.Fields(q)
	for i := range f {
		if strings.EqualFold(f[i], "FROM") && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

// varsQuery is ProxySQL's variables fetch, without the per-node
// variables (cluster_sync_interfaces is false).
func varsQuery(prefix string) string {
	return "SELECT * FROM runtime_global_variables WHERE variable_name LIKE '" + prefix + "-%'" +
		" AND variable_name NOT IN (" + perNodeSQL(prefix) + ") ORDER BY variable_name"
}

// DeletePulledVariablesSQL empties main.global_variables of prefix before
// a pulled set is written, keeping this node's per-node variables.
func DeletePulledVariablesSQL(prefix string) string {
	return "DELETE FROM main.global_variables WHERE variable_name LIKE '" + prefix + "-%' AND variable_name NOT IN (" + perNodeSQL("") + ")"
}

// Result is a fetched resultset.
type Result struct {
	Cols []string
	Rows [][]*string
}

// Pull is a validated module fetched from a peer, for Local.ApplyPull.
type Pull struct {
	Module string
	Peer   Peer
	// Results are the fetched resultsets in query order: rules (rules,
	// fast routing); users (users); variables (variables); proxysql
	// servers (servers); servers v2 (the seven tables of mysql_servers_v2:
	// servers, replication, group replication, galera, aurora, hostgroup
	// attributes, SSL params).
	Results []Result
	// Runtime holds the runtime servers for algorithm 1 (nil otherwise).
	Runtime *Result
	// Expected checksums and epochs, already verified against Results.
	Checksum, RuntimeChecksum string
	Epoch, RuntimeEpoch       int64
	SaveToDisk                bool
	// Own is the local module as it was when the sync was decided: the
	// pull is dropped if a local LOAD changed it meanwhile, so the
	// operator's newer change is never overwritten with the older one.
	Own Value
}

// fetch runs queries on a new connection to the chosen peer.
func (c *Cluster) fetch(p Peer, cfg Config, queries ...string) ([]Result, error) {
	pc, err := dialPeer(c.ctx, p, cfg)
	if err != nil {
		return nil, err
	}
	defer pc.close()
	out := make([]Result, 0, len(queries))
	for _, q := range queries {
		cols, rows, err := pc.query(q)
		if err != nil {
			return nil, err
		}
		out = append(out, Result{Cols: cols, Rows: rows})
	}
	return out, nil
}

// pull fetches module m from the chosen peer, verifies it against the
// peer's checksum and applies it. A resultset that does not match
// changes nothing: a peer that serves something other than what it
// announced cannot alter this node.
func (c *Cluster) pull(m string, cand *candidate, cfg Config, own Value) error {
	p := cand.n.peer
	save := cfg.SaveToDisk[diffModule(m)]
	queries := ModuleQueries(m)
	if queries == nil || m == MySQLServers {
		// The runtime servers come only with mysql_servers_v2.
		return fmt.Errorf("no pull for module %s", m)
	}
	fetchRuntime := m == MySQLServersV2 && cfg.algorithm() == 1
	if fetchRuntime {
		queries = append(queries, runtimeSrvQ)
		c.info(fmt.Sprintf("Cluster: Fetch mysql_servers_v2:'YES', mysql_servers:'YES' from peer %s:%d", p.Hostname, p.Port))
	} else if m == MySQLServersV2 {
		c.info(fmt.Sprintf("Cluster: Fetch mysql_servers_v2:'YES', mysql_servers:'NO' from peer %s:%d", p.Hostname, p.Port))
	}
	c.info(fmt.Sprintf("Cluster: Fetching %s from peer %s:%d started. Expected checksum: %s", moduleTitle(m), p.Hostname, p.Port, cand.rec.Checksum))
	res, err := c.fetch(p, cfg, queries...)
	if err != nil {
		return err
	}
	pl := &Pull{Module: m, Peer: p, Checksum: cand.rec.Checksum, Epoch: cand.rec.Epoch, SaveToDisk: save, Own: own}
	if fetchRuntime {
		rt := res[len(res)-1]
		res = res[:len(res)-1]
		if err := checkCols(rt, 12); err != nil {
			return fmt.Errorf("runtime_mysql_servers: %w", err)
		}
		if got := Format(RawChecksum(rt.Rows)); got != cand.runtime.Checksum {
			c.info(fmt.Sprintf("Cluster: Fetching MySQL Servers from peer %s:%d failed: Checksum changed from %s to %s", p.Hostname, p.Port, cand.runtime.Checksum, got))
			return fmt.Errorf("%w for mysql_servers: announced %s, served rows hash to %s", errMismatch, cand.runtime.Checksum, got)
		}
		pl.Runtime, pl.RuntimeChecksum, pl.RuntimeEpoch = &rt, cand.runtime.Checksum, cand.runtime.Epoch
	}
	pl.Results = res
	got, err := ResultChecksum(m, res)
	if err != nil {
		return err
	}
	c.info(fmt.Sprintf("Cluster: Computed checksum for %s from peer %s:%d : %s", moduleTitle(m), p.Hostname, p.Port, got))
	if got != cand.rec.Checksum {
		c.info(fmt.Sprintf("Cluster: Fetching %s from peer %s:%d failed because of mismatching checksum. Expected: %s , Computed: %s",
			moduleTitle(m), p.Hostname, p.Port, cand.rec.Checksum, got))
		return fmt.Errorf("%w for %s: announced %s, served rows hash to %s", errMismatch, m, cand.rec.Checksum, got)
	}
	if err := c.local.ApplyPull(pl); err != nil {
		return fmt.Errorf("applying %s: %w", m, err)
	}
	if save {
		c.info(fmt.Sprintf("Cluster: Saving to disk %s from peer %s:%d", moduleTitle(m), p.Hostname, p.Port))
	} else {
		c.info(fmt.Sprintf("Cluster: NOT saving to disk %s from peer %s:%d", moduleTitle(m), p.Hostname, p.Port))
	}
	return nil
}

// pullRuntimeServers is the runtime-only servers pull (algorithm 1).
func (c *Cluster) pullRuntimeServers(cand *candidate, cfg Config, own Value) error {
	p := cand.n.peer
	res, err := c.fetch(p, cfg, runtimeSrvQ)
	if err != nil {
		return err
	}
	if err := checkCols(res[0], 12); err != nil {
		return fmt.Errorf("runtime_mysql_servers: %w", err)
	}
	if got := Format(RawChecksum(res[0].Rows)); got != cand.rec.Checksum {
		c.info(fmt.Sprintf("Cluster: Fetching MySQL Servers from peer %s:%d failed: Checksum changed from %s to %s", p.Hostname, p.Port, cand.rec.Checksum, got))
		return fmt.Errorf("%w for mysql_servers: announced %s, served rows hash to %s", errMismatch, cand.rec.Checksum, got)
	}
	return c.local.ApplyPull(&Pull{Module: MySQLServers, Peer: p, Runtime: &res[0], RuntimeChecksum: cand.rec.Checksum,
		RuntimeEpoch: cand.rec.Epoch, SaveToDisk: cfg.SaveToDisk[MySQLServers], Own: own})
}

// ResultChecksum computes a module's checksum from fetched resultsets the
// way the sending node computed it.
func ResultChecksum(m string, res []Result) (string, error) {
	switch m {
	case MySQLQueryRules:
		if len(res) != 2 {
			return "", fmt.Errorf("mysql_query_rules: want 2 resultsets, got %d", len(res))
		}
		if err := checkCols(res[0], 34); err != nil {
			return "", fmt.Errorf("runtime_mysql_query_rules: %w", err)
		}
		if err := checkCols(res[1], 5); err != nil {
			return "", fmt.Errorf("runtime_mysql_query_rules_fast_routing: %w", err)
		}
		return Format(RawChecksum(res[0].Rows) + RawChecksum(res[1].Rows)), nil
	case MySQLUsers:
		if err := checkCols(res[0], 13); err != nil {
			return "", fmt.Errorf("runtime_mysql_users: %w", err)
		}
		front, back := AccountsFromRows(res[0].Rows)
		return Format(UsersChecksum(front, back)), nil
	case AdminVariables, MySQLVariables, ProxySQLServers:
		want := 2
		if m == ProxySQLServers {
			want = 4
		}
		if err := checkCols(res[0], want); err != nil {
			return "", fmt.Errorf("%s: %w", m, err)
		}
		return Format(RawChecksum(res[0].Rows)), nil
	case MySQLServersV2:
		if len(res) != 7 {
			return "", fmt.Errorf("mysql_servers_v2: want 7 resultsets, got %d", len(res))
		}
		if err := checkCols(res[0], 12); err != nil {
			return "", fmt.Errorf("mysql_servers_v2: %w", err)
		}
		raws := make([]uint64, len(res))
		for i, r := range res {
			raws[i] = RawChecksum(r.Rows)
		}
		return Format(Combine(raws...)), nil
	}
	return "", fmt.Errorf("no checksum for module %s", m)
}

// checkCols rejects a malformed resultset: every row must have the
// expected number of columns.
func checkCols(r Result, n int) error {
	if len(r.Rows) > 0 && len(r.Cols) != n {
		return fmt.Errorf("want %d columns, got %d", n, len(r.Cols))
	}
	for i, row := range r.Rows {
		if len(row) != n {
			return fmt.Errorf("row %d has %d columns, want %d", i+1, len(row), n)
		}
	}
	return nil
}

// AccountsFromRows rebuilds the users maps from runtime_mysql_users rows
// (the usersQ columns): backend='1' rows form the backend map, frontend='1'
// rows the frontend map.
func AccountsFromRows(rows [][]*string) (front, back []Account) {
	atoi := func(s *string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(deref(s)), 10, 64)
		return n
	}
	for _, r := range rows {
		a := Account{
			Username: deref(r[0]), Password: deref(r[1]), UseSSL: atoi(r[2]) != 0, DefaultHostgroup: int32(atoi(r[3])),
			DefaultSchema: deref(r[4]), SchemaLocked: atoi(r[5]) != 0, TransactionPersistent: atoi(r[6]) != 0,
			FastForward: atoi(r[7]) != 0, MaxConnections: int32(atoi(r[10])), Attributes: deref(r[11]), Comment: deref(r[12]),
		}
		if deref(r[8]) == "1" {
			back = append(back, a)
		}
		if deref(r[9]) == "1" {
			front = append(front, a)
		}
	}
	return front, back
}
