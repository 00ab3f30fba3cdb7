package admin

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"sqlgate/internal/admin/store"
	"sqlgate/internal/cluster"
	"sqlgate/internal/stats"
)

// StatsSource is what the admin reads from the data path to fill the
// stats_* tables. frontend.Server implements it.
type StatsSource interface {
	Processlist() []stats.Process
	UserConnections() map[string]int
	ClientConnections() int64
	Questions() int64
	Registry() *stats.Registry
	// DataPathGlobals are further stats_mysql_global rows (query cache,
	// mirroring, timeouts).
	DataPathGlobals() [][2]string
}

// refresh regenerates the runtime_* and stats_* tables a query mentions
// before it runs: they are views of live state, not stored config.
func (a *Admin) refresh(ctx context.Context, upper string, statsOnly bool) error {
	if !strings.Contains(upper, "RUNTIME_") && !strings.Contains(upper, "STATS") && !strings.Contains(upper, "GLOBAL_VARIABLES") &&
		!strings.Contains(upper, "MYSQL_SERVER_") {
		return nil
	}
	type job struct {
		substr string
		fn     func(context.Context) error
	}
	jobs := []job{
		{"STATS_MYSQL_CONNECTION_POOL", a.refreshConnectionPool},
		{"STATS_MYSQL_GLOBAL", a.refreshGlobal},
		{"STATS_MYSQL_COMMANDS_COUNTERS", a.refreshCommands},
		{"STATS_MYSQL_QUERY_DIGEST_RESET", a.refreshDigestsReset},
		{"STATS_MYSQL_QUERY_DIGEST", a.refreshDigests},
		{"STATS_MYSQL_PROCESSLIST", a.refreshProcesslist},
		{"STATS_MYSQL_USERS", a.refreshUsers},
		{"STATS_MYSQL_QUERY_RULES", a.refreshRuleHits},
		{"STATS_MEMORY_METRICS", a.refreshMemory},
		{"STATS_MYSQL_SERVER_STATUS_CHANGES", a.refreshTransitions},
		{"STATS_PROXYSQL_SERVERS", a.refreshClusterStats},
		{"MYSQL_SERVER_CONNECT_LOG", a.refreshMonitorLog("mysql_server_connect_log")},
		{"MYSQL_SERVER_PING_LOG", a.refreshMonitorLog("mysql_server_ping_log")},
		{"MYSQL_SERVER_READ_ONLY_LOG", a.refreshMonitorLog("mysql_server_read_only_log")},
		{"MYSQL_SERVER_REPLICATION_LAG_LOG", a.refreshMonitorLog("mysql_server_replication_lag_log")},
	}
	if !statsOnly {
		jobs = append(jobs,
			job{"GLOBAL_VARIABLES", a.refreshGlobalVariables},
			job{"RUNTIME_MYSQL_SERVERS", a.refreshRuntimeServers},
			job{"RUNTIME_MYSQL_REPLICATION_HOSTGROUPS", a.refreshRuntimeServers},
			job{"RUNTIME_MYSQL_GROUP_REPLICATION_HOSTGROUPS", a.refreshRuntimeServers},
			job{"RUNTIME_MYSQL_GALERA_HOSTGROUPS", a.refreshRuntimeServers},
			job{"RUNTIME_MYSQL_AWS_AURORA_HOSTGROUPS", a.refreshRuntimeServers},
			job{"RUNTIME_MYSQL_HOSTGROUP_ATTRIBUTES", a.refreshRuntimeServers},
			job{"RUNTIME_MYSQL_USERS", a.refreshRuntimeUsers},
			job{"RUNTIME_MYSQL_QUERY_RULES", a.refreshRuntimeTables("mysql_query_rules", "mysql_query_rules_fast_routing")},
			job{"RUNTIME_PROXYSQL_SERVERS", a.refreshRuntimeTables("proxysql_servers")},
			job{"RUNTIME_CHECKSUMS_VALUES", a.refreshChecksums},
		)
	}
	done := map[string]bool{}
	for _, j := range jobs {
		if !strings.Contains(upper, j.substr) {
			continue
		}
		key := j.substr
		if strings.HasPrefix(key, "RUNTIME_MYSQL_") && !strings.Contains(key, "USERS") && !strings.Contains(key, "RULES") {
			key = "servers" // one refresh covers every server table
		}
		if done[key] {
			continue
		}
		done[key] = true
		if err := j.fn(ctx); err != nil {
			return fmt.Errorf("refreshing %s: %w", strings.ToLower(j.substr), err)
		}
	}
	return nil
}

// replaceTable rewrites table with rows in one transaction.
func (a *Admin) replaceTable(ctx context.Context, table string, cols []string, rows [][]any) error {
	return a.st.Tx(ctx, func() error {
		if _, err := a.st.Conn.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		// Multi-row INSERTs: the monitor logs can hold tens of thousands of
		// rows, and one statement per row would make reading them slow.
		const batch = 50
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		head := "INSERT INTO " + table + " (" + strings.Join(quoteIdents(cols), ", ") + ") VALUES "
		for len(rows) > 0 {
			n := min(batch, len(rows))
			q := head + strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
			args := make([]any, 0, n*len(cols))
			for _, r := range rows[:n] {
				args = append(args, r...)
			}
			if _, err := a.st.Conn.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			rows = rows[n:]
		}
		return nil
	})
}

// refreshTransitions fills stats_mysql_server_status_changes: every kind
// of automatic server state change, how often, and the numbers behind the
// last one.
func (a *Admin) refreshTransitions(ctx context.Context) error {
	var rows [][]any
	if a.pool != nil {
		for _, t := range a.pool.Transitions() {
			rows = append(rows, []any{t.Hostgroup, t.Host, t.Port, t.From, t.To, t.Reason, t.Count, t.Last.Unix(), t.LastDetail})
		}
	}
	return a.replaceTable(ctx, "stats.stats_mysql_server_status_changes",
		[]string{"hostgroup", "srv_host", "srv_port", "from_status", "to_status", "reason", "count_star", "last_seen", "last_detail"}, rows)
}

func (a *Admin) refreshRuntimeTables(tables ...string) func(context.Context) error {
	return func(ctx context.Context) error {
		return a.st.Tx(ctx, func() error {
			for _, t := range tables {
				if _, err := a.st.Conn.ExecContext(ctx, "DELETE FROM main.runtime_"+t); err != nil {
					return err
				}
				if err := a.insertRows(ctx, "main.runtime_"+t, a.rtRows[t], "INSERT OR REPLACE"); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// refreshRuntimeUsers fills runtime_mysql_users the way ProxySQL dumps its
// two account maps: one row per frontend account (frontend=1, backend=0),
// then one per backend account (backend=1, frontend=0), so a user that is
// both has two rows; strings the maps hold are never NULL (”).
func (a *Admin) refreshRuntimeUsers(ctx context.Context) error {
	return a.st.Tx(ctx, func() error {
		if _, err := a.st.Conn.ExecContext(ctx, "DELETE FROM main.runtime_mysql_users"); err != nil {
			return err
		}
		return a.insertRows(ctx, "main.runtime_mysql_users", splitUserRows(a.rtRows["mysql_users"]), "INSERT OR REPLACE")
	})
}

// splitUserRows turns mysql_users rows into ProxySQL's runtime rows: the
// frontend accounts, then the backend accounts.
func splitUserRows(r *store.Result) *store.Result {
	if r == nil {
		return nil
	}
	col := map[string]int{}
	for i, c := range r.Cols {
		col[c] = i
	}
	out := &store.Result{Cols: r.Cols}
	for _, side := range []string{"frontend", "backend"} {
		for _, row := range r.Rows {
			if deref(row[col[side]]) != "1" {
				continue
			}
			n := make([]*string, len(row))
			copy(n, row)
			for _, c := range []string{"password", "default_schema", "attributes", "comment"} {
				if n[col[c]] == nil {
					n[col[c]] = new(string)
				}
			}
			one, zero := "1", "0"
			n[col["frontend"]], n[col["backend"]] = &zero, &zero
			n[col[side]] = &one
			out.Rows = append(out.Rows, n)
		}
	}
	return out
}

// refreshRuntimeServers dumps the server tables as loaded, with each
// server's live status from the pool.
func (a *Admin) refreshRuntimeServers(ctx context.Context) error {
	if err := a.refreshRuntimeTables(serverTables[1:]...)(ctx); err != nil {
		return err
	}
	// The runtime servers are the loaded ones as the monitor has moved
	// them between hostgroups, with the live status.
	live := map[string]string{}
	if a.pool != nil {
		for _, hg := range a.pool.Hostgroups() {
			for _, s := range hg.Servers() {
				live[fmt.Sprintf("%d|%s|%d", hg.ID, s.Host, s.Port)] = s.Status().ConfigString()
			}
		}
	}
	var rows [][]any
	if a.cur != nil {
		for _, s := range sortedServers(a.cur.MySQLServers) {
			st := s.Status
			if l, ok := live[fmt.Sprintf("%d|%s|%d", s.HostgroupID, s.Hostname, s.Port)]; ok {
				st = l
			}
			rows = append(rows, []any{s.HostgroupID, s.Hostname, s.Port, s.GtidPort, st, s.Weight, s.Compression,
				s.MaxConnections, s.MaxReplicationLag, s.UseSSL, s.MaxLatencyMs, s.Comment})
		}
	}
	return a.replaceTable(ctx, "main.runtime_mysql_servers", []string{"hostgroup_id", "hostname", "port", "gtid_port", "status",
		"weight", "compression", "max_connections", "max_replication_lag", "use_ssl", "max_latency_ms", "comment"}, rows)
}

func (a *Admin) refreshGlobalVariables(ctx context.Context) error {
	var rows [][]any
	for k, v := range a.vars.Load().Raw {
		rows = append(rows, []any{"admin-" + k, v})
	}
	for k, v := range a.mysqlVars {
		rows = append(rows, []any{"mysql-" + k, v})
	}
	return a.replaceTable(ctx, "main.runtime_global_variables", []string{"variable_name", "variable_value"}, rows)
}

// checksumRowOrder is the order ProxySQL's runtime_checksums_values lists
// the modules in (what SELECT without ORDER BY shows).
var checksumRowOrder = []string{cluster.AdminVariables, cluster.MySQLQueryRules, cluster.MySQLServers, cluster.MySQLUsers,
	cluster.MySQLVariables, cluster.ProxySQLServers, cluster.MySQLServersV2}

func (a *Admin) refreshChecksums(ctx context.Context) error {
	var rows [][]any
	cs := a.Checksums()
	for _, m := range checksumRowOrder {
		v := cs[m]
		cs := v.Checksum
		if v.Version == 0 {
			cs = ""
		}
		rows = append(rows, []any{m, v.Version, v.Epoch, cs})
	}
	return a.replaceTable(ctx, "main.runtime_checksums_values", []string{"name", "version", "epoch", "checksum"}, rows)
}

func (a *Admin) refreshConnectionPool(ctx context.Context) error {
	cols := []string{"hostgroup", "srv_host", "srv_port", "status", "ConnUsed", "ConnFree", "ConnOK", "ConnERR",
		"MaxConnUsed", "Queries", "Queries_GTID_sync", "Bytes_data_sent", "Bytes_data_recv", "Latency_us"}
	var rows [][]any
	if a.pool != nil {
		hgs := a.pool.Hostgroups()
		sort.Slice(hgs, func(i, j int) bool { return hgs[i].ID < hgs[j].ID })
		for _, hg := range hgs {
			for _, s := range hg.Servers() {
				used, free := s.Counts()
				rows = append(rows, []any{hg.ID, s.Host, s.Port, s.Status().String(), used, free, s.ConnOK.Load(),
					s.ConnERR.Load(), s.MaxConnUsed.Load(), s.Queries.Load(), 0, s.BytesSent.Load(), s.BytesRecv.Load(), s.LatencyUs.Load()})
			}
		}
	}
	if err := a.replaceTable(ctx, "stats.stats_mysql_connection_pool", cols, rows); err != nil {
		return err
	}
	return a.replaceTable(ctx, "stats.stats_mysql_connection_pool_reset", cols, rows)
}

func (a *Admin) refreshGlobal(ctx context.Context) error {
	var rows [][]any
	for _, v := range a.globalStatus() {
		rows = append(rows, []any{v[0], v[1]})
	}
	return a.replaceTable(ctx, "stats.stats_mysql_global", []string{"Variable_Name", "Variable_Value"}, rows)
}

// globalStatus is stats_mysql_global: the proxy's counters by name.
func (a *Admin) globalStatus() [][2]string {
	vals := [][2]string{{"ProxySQL_Uptime", strconv.FormatInt(int64(time.Since(a.started).Seconds()), 10)}}
	if a.stats != nil {
		reg := a.stats.Registry()
		vals = append(vals,
			[2]string{"Client_Connections_aborted", strconv.FormatInt(reg.ClientConnectionsAborted.Load(), 10)},
			[2]string{"Client_Connections_connected", strconv.FormatInt(a.stats.ClientConnections(), 10)},
			[2]string{"Client_Connections_created", strconv.FormatInt(reg.ClientConnectionsCreated.Load(), 10)},
			[2]string{"Questions", strconv.FormatInt(a.stats.Questions(), 10)},
			[2]string{"Slow_queries", strconv.FormatInt(reg.SlowQueries.Load(), 10)},
			[2]string{"Digest_entries", strconv.FormatInt(reg.DigestCount(), 10)},
			[2]string{"Digest_entries_dropped", strconv.FormatInt(reg.DigestsDropped.Load(), 10)},
		)
		vals = append(vals, a.stats.DataPathGlobals()...)
	}
	var used, free, ok, errs int64
	if a.pool != nil {
		for _, hg := range a.pool.Hostgroups() {
			for _, s := range hg.Servers() {
				u, f := s.Counts()
				used, free = used+int64(u), free+int64(f)
				ok, errs = ok+s.ConnOK.Load(), errs+s.ConnERR.Load()
			}
		}
	}
	vals = append(vals,
		[2]string{"Server_Connections_connected", strconv.FormatInt(used+free, 10)},
		[2]string{"Server_Connections_created", strconv.FormatInt(ok, 10)},
		[2]string{"Server_Connections_aborted", strconv.FormatInt(errs, 10)},
		[2]string{"Servers_table_version", strconv.FormatUint(a.Checksums()[cluster.MySQLServers].Version, 10)},
		[2]string{"Monitor_topology_changes", strconv.FormatInt(a.topologyChanges, 10)},
	)
	if a.rt != nil {
		if s := a.rt.Load(); s != nil {
			vals = append(vals, [2]string{"Runtime_snapshot_version", strconv.FormatUint(s.Version, 10)})
		}
	}
	return vals
}

func (a *Admin) refreshCommands(ctx context.Context) error {
	cols := append([]string{"Command", "Total_Time_us", "Total_cnt"}, stats.BucketNames...)
	var rows [][]any
	if a.stats != nil {
		for _, c := range a.stats.Registry().CommandRows() {
			r := []any{c.Command, c.TotalUs, c.Count}
			for _, b := range c.Buckets {
				r = append(r, b)
			}
			rows = append(rows, r)
		}
	}
	return a.replaceTable(ctx, "stats.stats_mysql_commands_counters", cols, rows)
}

var digestCols = []string{"hostgroup", "schemaname", "username", "client_address", "digest", "digest_text", "count_star",
	"first_seen", "last_seen", "sum_time", "min_time", "max_time", "sum_rows_affected", "sum_rows_sent"}

func digestRows(ds []stats.DigestRow) [][]any {
	rows := make([][]any, 0, len(ds))
	for _, d := range ds {
		rows = append(rows, []any{d.Hostgroup, d.Schema, d.User, d.ClientAddress, fmt.Sprintf("0x%016X", d.Digest), d.Text,
			d.Count, d.FirstSeen, d.LastSeen, d.SumUs, d.MinUs, d.MaxUs, d.SumRowsAffected, d.SumRowsSent})
	}
	return rows
}

// refreshDigests fills stats_mysql_query_digest from the digest map.
func (a *Admin) refreshDigests(ctx context.Context) error {
	if a.stats == nil {
		return nil
	}
	return a.replaceTable(ctx, "stats.stats_mysql_query_digest", digestCols, digestRows(a.stats.Registry().Digests(false)))
}

// refreshDigestsReset fills stats_mysql_query_digest_reset and empties the
// digest map, as reading that table does in ProxySQL.
func (a *Admin) refreshDigestsReset(ctx context.Context) error {
	if a.stats == nil {
		return nil
	}
	rows := digestRows(a.stats.Registry().Digests(true))
	if err := a.replaceTable(ctx, "stats.stats_mysql_query_digest_reset", digestCols, rows); err != nil {
		return err
	}
	return a.replaceTable(ctx, "stats.stats_mysql_query_digest", digestCols, nil)
}

// resetDigests empties the digest map (TRUNCATE stats_mysql_query_digest).
func (a *Admin) resetDigests() {
	if a.stats != nil {
		a.stats.Registry().Digests(true)
	}
	ctx := context.Background()
	a.st.Exec(ctx, "DELETE FROM stats.stats_mysql_query_digest", "DELETE FROM stats.stats_mysql_query_digest_reset")
}

func (a *Admin) refreshProcesslist(ctx context.Context) error {
	cols := []string{"ThreadID", "SessionID", "user", "db", "cli_host", "cli_port", "hostgroup", "l_srv_host", "l_srv_port",
		"srv_host", "srv_port", "command", "time_ms", "info", "status_flags", "extended_info"}
	var rows [][]any
	if a.stats != nil {
		for _, p := range a.stats.Processlist() {
			var hg, srvHost, srvPort, info any
			if p.Hostgroup >= 0 {
				hg, info = p.Hostgroup, p.Info
				if p.SrvHost != "" {
					srvHost, srvPort = p.SrvHost, p.SrvPort
				}
			}
			rows = append(rows, []any{0, p.SessionID, p.User, p.DB, p.ClientHost, p.ClientPort, hg, nil, nil,
				srvHost, srvPort, p.Command, p.TimeMs, info, 0, nil})
		}
	}
	return a.replaceTable(ctx, "stats.stats_mysql_processlist", cols, rows)
}

func (a *Admin) refreshUsers(ctx context.Context) error {
	var conns map[string]int
	if a.stats != nil {
		conns = a.stats.UserConnections()
	}
	var rows [][]any
	seen := map[string]bool{}
	for _, u := range a.cur.MySQLUsers {
		if !u.Active || !u.Frontend || seen[u.Username] {
			continue
		}
		seen[u.Username] = true
		rows = append(rows, []any{u.Username, conns[u.Username], u.MaxConnections})
	}
	return a.replaceTable(ctx, "stats.stats_mysql_users", []string{"username", "frontend_connections", "frontend_max_connections"}, rows)
}

func (a *Admin) refreshRuleHits(ctx context.Context) error {
	var rows [][]any
	if a.rt != nil {
		if s := a.rt.Load(); s != nil && s.Rules != nil {
			for _, h := range s.Rules.Hits() {
				rows = append(rows, []any{h.RuleID, h.Hits})
			}
		}
	}
	return a.replaceTable(ctx, "stats.stats_mysql_query_rules", []string{"rule_id", "hits"}, rows)
}

func (a *Admin) refreshMemory(ctx context.Context) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	vals := [][2]any{
		{"Go_heap_alloc_bytes", ms.HeapAlloc}, {"Go_heap_sys_bytes", ms.HeapSys}, {"Go_sys_bytes", ms.Sys},
		{"Go_stack_inuse_bytes", ms.StackInuse}, {"Go_num_gc", ms.NumGC}, {"Go_goroutines", runtime.NumGoroutine()},
	}
	if a.stats != nil {
		vals = append(vals, [2]any{"query_digest_entries", a.stats.Registry().DigestCount()})
	}
	var rows [][]any
	for _, v := range vals {
		rows = append(rows, []any{v[0], fmt.Sprint(v[1])})
	}
	return a.replaceTable(ctx, "stats.stats_memory_metrics", []string{"Variable_Name", "Variable_Value"}, rows)
}
