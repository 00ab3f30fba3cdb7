package admin

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"sqlgate/internal/admin/codec"
	"sqlgate/internal/admin/store"
	"sqlgate/internal/cluster"
	"sqlgate/internal/config"
)

// This file is the admin's side of the cluster: what peers read (the
// PROXY_SELECT resultsets, served verbatim), what the peer loop needs
// (cluster.Local), applying pulled modules, and where a module's epoch
// comes from at boot.

// ClusterConfig returns the admin-cluster_* variables in force.
func (a *Admin) ClusterConfig() cluster.Config {
	v := a.vars.Load()
	if v == nil {
		return cluster.Config{}
	}
	n := func(k string) int { x, _ := strconv.Atoi(v.Raw[k]); return x }
	c := cluster.Config{
		Username: v.Raw["cluster_username"], Password: v.Raw["cluster_password"],
		CheckInterval:    time.Duration(n("cluster_check_interval_ms")) * time.Millisecond,
		StatusFrequency:  n("cluster_check_status_frequency"),
		ServersAlgorithm: n("cluster_mysql_servers_sync_algorithm"),
		Diffs:            map[string]int{}, SaveToDisk: map[string]bool{}, MonitorEnabled: true,
		VersionOneRule: !a.proxysqlBoot,
	}
	for _, m := range []string{cluster.MySQLQueryRules, cluster.MySQLServers, cluster.MySQLUsers, cluster.ProxySQLServers,
		cluster.MySQLVariables, cluster.AdminVariables} {
		c.Diffs[m] = n("cluster_" + m + "_diffs_before_sync")
		c.SaveToDisk[m] = v.Raw["cluster_"+m+"_save_to_disk"] == "true"
	}
	if s := a.rt.Load(); s != nil {
		c.MonitorEnabled = s.Vars.Monitor.Enabled
		c.MonitorMovesServers = s.Vars.Monitor.Enabled && len(s.Replication) > 0
	}
	return c
}

// Checksums returns a copy of the module checksums.
func (a *Admin) Checksums() map[string]cluster.Value {
	a.csMu.Lock()
	defer a.csMu.Unlock()
	out := make(map[string]cluster.Value, len(a.checksums))
	for k, v := range a.checksums {
		out[k] = v
	}
	return out
}

// Version is the @@version the admin reports and peers must match.
func (a *Admin) Version() string { return a.version }

// NodeUUID identifies this node to its peers.
func (a *Admin) NodeUUID() string { return a.uuid }

// AdminIfaces is admin-mysql_ifaces, sent to peers with the UUID.
func (a *Admin) AdminIfaces() string {
	if v := a.vars.Load(); v != nil {
		return v.MySQLIfaces
	}
	return ""
}

// Cluster returns the peer monitor (for tests and the stats tables).
func (a *Admin) Cluster() *cluster.Cluster { return a.cluster }

// proxySelects maps the prefix of each PROXY_SELECT peers send to
// the resultset that answers it. Longer prefixes come first where
// one is a prefix of another.
var proxySelects = []struct{ prefix, key string }{
	{"PROXY_SELECT RULE_ID, USERNAME, SCHEMANAME, FLAGIN, CLIENT_ADDR", "rules"},
	{"PROXY_SELECT USERNAME, SCHEMANAME, FLAGIN, DESTINATION_HOSTGROUP, COMMENT FROM RUNTIME_MYSQL_QUERY_RULES_FAST_ROUTING", "fast"},
	{"PROXY_SELECT USERNAME, PASSWORD, USE_SSL", "users"},
	{"PROXY_SELECT HOSTGROUP_ID, HOSTNAME, PORT, GTID_PORT, STATUS, WEIGHT, COMPRESSION, MAX_CONNECTIONS, MAX_REPLICATION_LAG, USE_SSL, MAX_LATENCY_MS, COMMENT FROM MYSQL_SERVERS_V2", "v2"},
	{"PROXY_SELECT HOSTGROUP_ID, HOSTNAME, PORT, GTID_PORT, STATUS, WEIGHT, COMPRESSION, MAX_CONNECTIONS, MAX_REPLICATION_LAG, USE_SSL, MAX_LATENCY_MS, COMMENT FROM RUNTIME_MYSQL_SERVERS", "runtime_servers"},
	{"PROXY_SELECT WRITER_HOSTGROUP, READER_HOSTGROUP, COMMENT FROM RUNTIME_MYSQL_REPLICATION_HOSTGROUPS", "mysql_replication_hostgroups"},
	{"PROXY_SELECT WRITER_HOSTGROUP, BACKUP_WRITER_HOSTGROUP, READER_HOSTGROUP, OFFLINE_HOSTGROUP, ACTIVE, MAX_WRITERS, WRITER_IS_ALSO_READER, MAX_TRANSACTIONS_BEHIND, COMMENT FROM RUNTIME_MYSQL_GROUP_REPLICATION_HOSTGROUPS", "mysql_group_replication_hostgroups"},
	{"PROXY_SELECT WRITER_HOSTGROUP, BACKUP_WRITER_HOSTGROUP, READER_HOSTGROUP, OFFLINE_HOSTGROUP, ACTIVE, MAX_WRITERS, WRITER_IS_ALSO_READER, MAX_TRANSACTIONS_BEHIND, COMMENT FROM RUNTIME_MYSQL_GALERA_HOSTGROUPS", "mysql_galera_hostgroups"},
	{"PROXY_SELECT WRITER_HOSTGROUP, READER_HOSTGROUP, ACTIVE, AURORA_PORT", "mysql_aws_aurora_hostgroups"},
	{"PROXY_SELECT HOSTGROUP_ID, MAX_NUM_ONLINE_SERVERS", "mysql_hostgroup_attributes"},
	{"PROXY_SELECT HOSTNAME, PORT, USERNAME, SSL_CA", "mysql_servers_ssl_params"},
}

// proxySelect answers a PROXY_SELECT with exactly the rows the local
// checksum was computed from, so the peer can verify them.
func (a *Admin) proxySelect(upper string) (*store.Result, error) {
	for _, ps := range proxySelects {
		if !strings.HasPrefix(upper, ps.prefix) {
			continue
		}
		switch ps.key {
		case "runtime_servers":
			return a.runtimeServersRows(), nil
		default:
			if r := a.served[ps.key]; r != nil {
				return r, nil
			}
			if r := a.rtRows[ps.key]; r != nil {
				return r, nil
			}
			return &store.Result{}, nil
		}
	}
	return nil, adminErr("unknown PROXY_SELECT: sqlgate serves the cluster fetch queries of ProxySQL 2.7 only")
}

// serverCols are mysql_servers' columns as the cluster serves them.
var serverCols = store.ColumnNames("mysql_servers")

// userCols are the mysql_users columns peers fetch and the users checksum
// is computed from. ProxySQL leaves active out.
var userCols = store.ColumnNames("mysql_users", "active")

// ruleColumns are mysql_query_rules' columns in the order the cluster
// checksum and fetch use (active excluded).
var ruleColumns = store.ColumnNames("mysql_query_rules", "active")

// fastRoutingCols are mysql_query_rules_fast_routing's columns, in the
// order of its checksum query.
var fastRoutingCols = store.ColumnNames("mysql_query_rules_fast_routing")

// runtimeServersRows are the runtime servers as peers see and checksum
// them: OFFLINE_HARD left out, SHUNNED shown as ONLINE.
func (a *Admin) runtimeServersRows() *store.Result {
	r := &store.Result{Cols: serverCols}
	for _, s := range sortedServers(a.cur.MySQLServers) {
		st := s.Status
		switch st {
		case "OFFLINE_HARD":
			continue
		case "SHUNNED":
			st = "ONLINE"
		}
		r.Rows = append(r.Rows, store.Row(fmt.Sprint(s.HostgroupID), s.Hostname, fmt.Sprint(s.Port), fmt.Sprint(s.GtidPort), st,
			fmt.Sprint(s.Weight), fmt.Sprint(s.Compression), fmt.Sprint(s.MaxConnections), fmt.Sprint(s.MaxReplicationLag),
			fmt.Sprint(s.UseSSL), fmt.Sprint(s.MaxLatencyMs), s.Comment))
	}
	return r
}

// ApplyPull loads a module fetched from a peer and verified against its
// checksum: the memory tables are rewritten, the module is loaded
// to runtime keeping the peer's epoch, and saved to disk when
// cluster_<module>_save_to_disk says so. If the load fails, memory is
// restored from runtime: nothing is half-applied.
func (a *Admin) ApplyPull(p *cluster.Pull) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ctx := context.Background()
	m := moduleOf(p.Module)
	if m == nil {
		return fmt.Errorf("cannot apply module %s", p.Module)
	}
	a.csMu.Lock()
	cur := a.checksums[p.Module]
	a.csMu.Unlock()
	if cur.Version != p.Own.Version || cur.Checksum != p.Own.Checksum {
		return fmt.Errorf("%s changed locally during the pull (version %d, now %d); the local change wins, nothing applied",
			p.Module, p.Own.Version, cur.Version)
	}
	source := fmt.Sprintf("pull from peer %s:%d", p.Peer.Hostname, p.Peer.Port)
	if p.Module == cluster.MySQLServers {
		if err := a.applyRuntimeServers(ctx, p); err != nil {
			return err
		}
		a.record(ctx, source, cluster.MySQLServers)
		return nil
	}
	if err := a.st.Tx(ctx, func() error { return a.writePulled(ctx, p) }); err != nil {
		return err
	}
	a.adopt = map[string]cluster.Value{p.Module: {Checksum: p.Checksum, Epoch: p.Epoch}}
	err := a.loadOrRevert(ctx, m, "cluster: restoring memory from runtime after a failed pull")
	a.adopt = nil
	if err != nil {
		return err
	}
	if p.Module == cluster.MySQLServersV2 && p.Runtime != nil {
		if err := a.applyRuntimeServersLocked(ctx, p); err != nil {
			return err
		}
	}
	a.record(ctx, source, moduleChecksums(m)...)
	if p.SaveToDisk {
		if err := a.copyLayer(ctx, m, "main", "disk", false); err != nil {
			return fmt.Errorf("saving %s to disk: %w", m.name, err)
		}
		a.persistEpochs(ctx, m)
	}
	return nil
}

// writePulled rewrites the memory tables of a pulled module.
func (a *Admin) writePulled(ctx context.Context, p *cluster.Pull) error {
	exec := func(q string, args ...any) error {
		_, err := a.st.Conn.ExecContext(ctx, q, args...)
		return err
	}
	insert := func(table string, cols []string, extra map[string]string, rows [][]*string) error {
		names := append([]string(nil), cols...)
		for k := range extra {
			names = append(names, k)
		}
		q := "INSERT OR REPLACE INTO main." + table + " (" + strings.Join(store.QuoteIdents(names), ", ") + ") VALUES (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ") + ")"
		for _, row := range rows {
			args := make([]any, 0, len(names))
			for _, v := range row {
				if v == nil {
					args = append(args, nil)
				} else {
					args = append(args, *v)
				}
			}
			for _, k := range names[len(cols):] {
				args = append(args, extra[k])
			}
			if err := exec(q, args...); err != nil {
				return fmt.Errorf("main.%s: %s", table, store.SQLiteMessage(err))
			}
		}
		return nil
	}
	switch p.Module {
	case cluster.MySQLQueryRules:
		if err := exec("DELETE FROM main.mysql_query_rules"); err != nil {
			return err
		}
		if err := exec("DELETE FROM main.mysql_query_rules_fast_routing"); err != nil {
			return err
		}
		if err := insert("mysql_query_rules", ruleColumns, map[string]string{"active": "1"}, p.Results[0].Rows); err != nil {
			return err
		}
		return insert("mysql_query_rules_fast_routing", fastRoutingCols, nil, p.Results[1].Rows)
	case cluster.MySQLUsers:
		if err := exec("DELETE FROM main.mysql_users"); err != nil {
			return err
		}
		return insert("mysql_users", userCols, map[string]string{"active": "1"}, p.Results[0].Rows)
	case cluster.AdminVariables, cluster.MySQLVariables:
		prefix := "admin"
		if p.Module == cluster.MySQLVariables {
			prefix = "mysql"
		}
		// Per-node variables (interfaces, mysql-threads) stay as they are.
		if err := exec(cluster.DeletePulledVariablesSQL(prefix)); err != nil {
			return err
		}
		for _, row := range p.Results[0].Rows {
			name := store.Deref(row[0])
			if !strings.HasPrefix(name, prefix+"-") || cluster.PerNodeVariable(name) {
				continue
			}
			if _, known := codec.CanonicalVar(name); !known {
				return fmt.Errorf("variable %s from the peer is unknown to sqlgate", name)
			}
			if err := exec("INSERT OR REPLACE INTO main.global_variables VALUES (?, ?)", name, store.Deref(row[1])); err != nil {
				return err
			}
		}
		return nil
	case cluster.ProxySQLServers:
		if err := exec("DELETE FROM main.proxysql_servers"); err != nil {
			return err
		}
		return insert("proxysql_servers", []string{"hostname", "port", "weight", "comment"}, nil, p.Results[0].Rows)
	case cluster.MySQLServersV2:
		for _, t := range serverTables {
			if err := exec("DELETE FROM main." + t); err != nil {
				return err
			}
		}
		if err := insert("mysql_servers", serverCols, nil, p.Results[0].Rows); err != nil {
			return err
		}
		for i, t := range serverTables[1:] {
			r := p.Results[i+1]
			if len(r.Rows) == 0 {
				continue
			}
			if err := insert(t, r.Cols, nil, r.Rows); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("cannot apply module %s", p.Module)
}

// applyRuntimeServers applies a runtime-only servers pull.
func (a *Admin) applyRuntimeServers(ctx context.Context, p *cluster.Pull) error {
	if err := a.applyRuntimeServersLocked(ctx, p); err != nil {
		return err
	}
	if p.SaveToDisk {
		a.log.Info("cluster: runtime servers pulled; mysql_servers in memory and on disk follow the runtime")
		m := moduleByName("MYSQL SERVERS")
		if err := m.toMemory(a, ctx); err != nil {
			return err
		}
		if err := a.copyLayer(ctx, m, "main", "disk", false); err != nil {
			return err
		}
		a.persistEpochs(ctx, m)
	}
	return nil
}

// applyRuntimeServersLocked makes the peer's runtime servers ours.
func (a *Admin) applyRuntimeServersLocked(ctx context.Context, p *cluster.Pull) error {
	servers, err := codec.Servers(&store.Result{Cols: p.Runtime.Cols, Rows: p.Runtime.Rows})
	if err != nil {
		return err
	}
	next := a.next()
	next.MySQLServers = servers
	if err := a.applyMySQL(next); err != nil {
		return err
	}
	a.adopt = map[string]cluster.Value{cluster.MySQLServers: {Checksum: p.RuntimeChecksum, Epoch: p.RuntimeEpoch}}
	a.bump(cluster.MySQLServers, a.runtimeServersChecksum())
	a.adopt = nil
	return nil
}

// moduleChecksums names the checksums a LOAD/SAVE module covers.
func moduleChecksums(m *module) []string {
	switch m.name {
	case "ADMIN VARIABLES":
		return []string{cluster.AdminVariables}
	case "MYSQL VARIABLES":
		return []string{cluster.MySQLVariables}
	case "MYSQL USERS":
		return []string{cluster.MySQLUsers}
	case "MYSQL QUERY RULES":
		return []string{cluster.MySQLQueryRules}
	case "MYSQL SERVERS":
		return []string{cluster.MySQLServersV2, cluster.MySQLServers}
	case "PROXYSQL SERVERS":
		return []string{cluster.ProxySQLServers}
	}
	return nil
}

// moduleOf is the LOAD/SAVE module whose checksum is named name.
func moduleOf(name string) *module {
	for _, m := range modules {
		if slices.Contains(moduleChecksums(m), name) {
			return m
		}
	}
	return nil
}

// persistEpochs records the runtime checksum and epoch of a module saved to
// disk. If memory differs from runtime the checksum will not match the
// saved tables at boot, and the record is ignored then.
func (a *Admin) persistEpochs(ctx context.Context, m *module) {
	cs := a.Checksums()
	for _, name := range moduleChecksums(m) {
		v := cs[name]
		if _, err := a.st.Conn.ExecContext(ctx, "INSERT OR REPLACE INTO disk.sqlgate_config_epochs VALUES (?, ?, ?)", name, v.Checksum, v.Epoch); err != nil {
			a.log.Warn("cannot record the configuration's epoch on disk", "module", name, "err", err)
		}
	}
}

// bootEpochs decides each module's version at boot. Live configuration
// always beats boot configuration, and no file's modification time
// decides anything:
//
//   - a module whose configuration came from proxysql.cnf (no database,
//     --initial, --reload) stays at version 1 with epoch = now, as in
//     ProxySQL, so any peer running a LOADed configuration (version > 1)
//     wins over it: re-deploying a node from its original file never rolls
//     the cluster back;
//   - a module restored from proxysql.db whose checksum matches the epoch
//     saved with it (SAVE ... TO DISK, or a pull saved to disk) keeps that
//     epoch at version 2, so after a full restart the cluster converges on
//     the newest configuration that was actually loaded, with no manual
//     LOAD (ProxySQL's version-1 trap);
//   - anything else (no saved epoch, or tables edited since) stays at
//     version 1.
//
// When every differing node is at version 1, the cluster's version-one
// rule decides (cores before satellites, then the order of
// proxysql_servers; see cluster.Config.VersionOneRule).
func (a *Admin) bootEpochs(ctx context.Context, o Options, fromCnf bool) {
	if o.ProxySQLBootVersions {
		a.log.Warn("cluster: every module starts at version 1 as in ProxySQL (-proxysql-boot-versions): peers will not sync from this node until LOAD ... TO RUNTIME")
		return
	}
	saved := map[string]cluster.Value{}
	if r, err := a.st.Query(ctx, "SELECT name, checksum, epoch FROM disk.sqlgate_config_epochs"); err == nil {
		for _, row := range r.Rows {
			e, _ := strconv.ParseInt(store.Deref(row[2]), 10, 64)
			saved[store.Deref(row[0])] = cluster.Value{Checksum: store.Deref(row[1]), Epoch: e}
		}
	}
	a.csMu.Lock()
	defer a.csMu.Unlock()
	for _, name := range cluster.Modules {
		v := a.checksums[name]
		if v.Version != 1 || v.Checksum == cluster.Format(0) {
			continue
		}
		s, ok := saved[name]
		switch {
		case fromCnf:
			a.log.Info(fmt.Sprintf("cluster: %s starts at version 1 (from the config file): a peer running a loaded configuration wins over it", name))
			continue
		case !ok || s.Checksum != v.Checksum:
			a.log.Info(fmt.Sprintf("cluster: %s starts at version 1: no saved epoch matches the saved configuration (checksum %s)", name, v.Checksum))
			continue
		}
		v.Version, v.Epoch = 2, s.Epoch
		a.checksums[name] = v
		a.log.Info(fmt.Sprintf("cluster: %s starts at version 2 with epoch %d, the epoch of the saved configuration, so the newest configuration wins after a restart",
			name, v.Epoch))
	}
	// The runtime servers are the loaded server configuration at boot:
	// the same age as mysql_servers_v2.
	if rt, v2 := a.checksums[cluster.MySQLServers], a.checksums[cluster.MySQLServersV2]; rt.Version == 1 && v2.Version == 2 && rt.Checksum != cluster.Format(0) {
		rt.Version, rt.Epoch = 2, v2.Epoch
		a.checksums[cluster.MySQLServers] = rt
	}
}

// IsSelf reports whether a proxysql_servers entry is this node: its port
// is an admin listener's port and its host resolves to that listener's
// address (or, for a wildcard listener, to an address of this host). A
// node absent from its own proxysql_servers is a satellite.
func (a *Admin) IsSelf(p cluster.Peer) bool {
	var ports []*net.TCPAddr
	for _, ad := range a.Addrs() {
		if t, ok := ad.(*net.TCPAddr); ok && t.Port == p.Port {
			ports = append(ports, t)
		}
	}
	if len(ports) == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, p.Hostname)
	if err != nil {
		return false
	}
	var local []net.IP
	if ifs, err := net.InterfaceAddrs(); err == nil {
		for _, ia := range ifs {
			if n, ok := ia.(*net.IPNet); ok {
				local = append(local, n.IP)
			}
		}
	}
	for _, l := range ports {
		for _, ip := range ips {
			if l.IP.Equal(ip.IP) {
				return true
			}
			if !l.IP.IsUnspecified() {
				continue
			}
			if ip.IP.IsLoopback() {
				return true
			}
			for _, lip := range local {
				if lip.Equal(ip.IP) {
					return true
				}
			}
		}
	}
	return false
}

// peersFrom converts proxysql_servers rows for the cluster.
func peersFrom(ps []config.ProxySQLServer) []cluster.Peer {
	out := make([]cluster.Peer, len(ps))
	for i, p := range ps {
		out[i] = cluster.Peer{Hostname: p.Hostname, Port: p.Port, Weight: p.Weight, Comment: p.Comment}
	}
	return out
}
