// Package statsdb fills the admin interface's views of live state: the
// stats schema (stats_mysql_*, stats_proxysql_servers_*,
// stats_memory_metrics), the monitor schema's logs, the stats_history
// samples kept in proxysql_stats.db, and the Prometheus /metrics endpoint
// of the REST API port.
//
// None of this is configuration. Each table is regenerated from the data
// path, the pool, the monitor and the cluster when a query reads it, so no
// copy has to be kept in step; the configuration tables and their
// runtime_* mirrors stay with the admin package.
package statsdb

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"sqlgate/internal/admin/store"
	"sqlgate/internal/backend"
	"sqlgate/internal/cluster"
	"sqlgate/internal/config"
	rt "sqlgate/internal/runtime"
	"sqlgate/internal/stats"
)

// StatsSource is what the stats tables read from the data path.
// frontend.Server implements it.
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

// MonitorLogs is what fills the monitor schema's log tables: column names
// and values (nil for NULL), ok false for a table it does not keep.
// monitor.Logs implements it.
type MonitorLogs interface {
	Table(name string) (cols []string, rows [][]any, ok bool)
}

// Admin is what the admin itself reports in the stats. The stats are
// refreshed with the admin's lock held, so these need no locking of their
// own.
type Admin interface {
	// ServersVersion is the mysql_servers checksum's version
	// (Servers_table_version).
	ServersVersion() uint64
	// TopologyChanges counts the read_only moves the monitor made
	// (Monitor_topology_changes).
	TopologyChanges() int64
	// Users are the mysql_users rows in force (stats_mysql_users).
	Users() []config.MySQLUser
}

// Sources are where the stats come from. Any of Stats, Pool, Runtime,
// Cluster and Monitor may be nil: their tables are then empty.
type Sources struct {
	Stats   StatsSource
	Pool    *backend.Pool
	Runtime *rt.Store
	Cluster *cluster.Cluster
	Monitor MonitorLogs
	Admin   Admin
	Started time.Time // the process start, for ProxySQL_Uptime
	Log     *slog.Logger
}

// Tables fills the stats tables of one admin store.
type Tables struct {
	st  *store.Store
	src Sources

	historyOnce sync.Once
	history     historyState // the stats_history sampler's timers

	restMu sync.Mutex
	rest   *restAPI // the /metrics listener, nil when admin-restapi_enabled is false
}

// New returns the stats tables of st, filled from src.
func New(st *store.Store, src Sources) *Tables {
	if src.Log == nil {
		src.Log = slog.Default()
	}
	return &Tables{st: st, src: src}
}

// Refresh regenerates the stats and monitor tables that upper (a query in
// upper case) mentions, before the query runs.
func (t *Tables) Refresh(ctx context.Context, upper string) error {
	jobs := []struct {
		substr string
		fn     func(context.Context) error
	}{
		{"STATS_MYSQL_CONNECTION_POOL", t.refreshConnectionPool},
		{"STATS_MYSQL_GLOBAL", t.refreshGlobal},
		{"STATS_MYSQL_COMMANDS_COUNTERS", t.refreshCommands},
		{"STATS_MYSQL_QUERY_DIGEST_RESET", t.refreshDigestsReset},
		{"STATS_MYSQL_QUERY_DIGEST", t.refreshDigests},
		{"STATS_MYSQL_PROCESSLIST", t.refreshProcesslist},
		{"STATS_MYSQL_USERS", t.refreshUsers},
		{"STATS_MYSQL_QUERY_RULES", t.refreshRuleHits},
		{"STATS_MEMORY_METRICS", t.refreshMemory},
		{"STATS_MYSQL_SERVER_STATUS_CHANGES", t.refreshTransitions},
		{"STATS_PROXYSQL_SERVERS", t.refreshClusterStats},
		{"STATS_SQLGATE_CLUSTER_DRIFT", t.refreshDrift},
		{"MYSQL_SERVER_CONNECT_LOG", t.refreshMonitorLog("mysql_server_connect_log")},
		{"MYSQL_SERVER_PING_LOG", t.refreshMonitorLog("mysql_server_ping_log")},
		{"MYSQL_SERVER_READ_ONLY_LOG", t.refreshMonitorLog("mysql_server_read_only_log")},
		{"MYSQL_SERVER_REPLICATION_LAG_LOG", t.refreshMonitorLog("mysql_server_replication_lag_log")},
	}
	for _, j := range jobs {
		if !strings.Contains(upper, j.substr) {
			continue
		}
		if err := j.fn(ctx); err != nil {
			return fmt.Errorf("refreshing %s: %w", strings.ToLower(j.substr), err)
		}
	}
	return nil
}

// refreshTransitions fills stats_mysql_server_status_changes: every kind
// of automatic server state change, how often, and the numbers behind the
// last one.
func (t *Tables) refreshTransitions(ctx context.Context) error {
	var rows [][]any
	if t.src.Pool != nil {
		for _, t := range t.src.Pool.Transitions() {
			rows = append(rows, []any{t.Hostgroup, t.Host, t.Port, t.From, t.To, t.Reason, t.Count, t.Last.Unix(), t.LastDetail})
		}
	}
	return t.st.Replace(ctx, "stats.stats_mysql_server_status_changes",
		[]string{"hostgroup", "srv_host", "srv_port", "from_status", "to_status", "reason", "count_star", "last_seen", "last_detail"}, rows)
}

func (t *Tables) refreshConnectionPool(ctx context.Context) error {
	cols := []string{"hostgroup", "srv_host", "srv_port", "status", "ConnUsed", "ConnFree", "ConnOK", "ConnERR",
		"MaxConnUsed", "Queries", "Queries_GTID_sync", "Bytes_data_sent", "Bytes_data_recv", "Latency_us"}
	var rows [][]any
	if t.src.Pool != nil {
		hgs := t.src.Pool.Hostgroups()
		sort.Slice(hgs, func(i, j int) bool { return hgs[i].ID < hgs[j].ID })
		for _, hg := range hgs {
			for _, s := range hg.Servers() {
				used, free := s.Counts()
				rows = append(rows, []any{hg.ID, s.Host, s.Port, s.Status().String(), used, free, s.ConnOK.Load(),
					s.ConnERR.Load(), s.MaxConnUsed.Load(), s.Queries.Load(), 0, s.BytesSent.Load(), s.BytesRecv.Load(), s.LatencyUs.Load()})
			}
		}
	}
	if err := t.st.Replace(ctx, "stats.stats_mysql_connection_pool", cols, rows); err != nil {
		return err
	}
	return t.st.Replace(ctx, "stats.stats_mysql_connection_pool_reset", cols, rows)
}

func (t *Tables) refreshGlobal(ctx context.Context) error {
	var rows [][]any
	for _, v := range t.GlobalStatus() {
		rows = append(rows, []any{v[0], v[1]})
	}
	return t.st.Replace(ctx, "stats.stats_mysql_global", []string{"Variable_Name", "Variable_Value"}, rows)
}

// GlobalStatus is stats_mysql_global: the proxy's counters by name.
func (t *Tables) GlobalStatus() [][2]string {
	vals := [][2]string{{"ProxySQL_Uptime", strconv.FormatInt(int64(time.Since(t.src.Started).Seconds()), 10)}}
	if t.src.Stats != nil {
		reg := t.src.Stats.Registry()
		vals = append(vals,
			[2]string{"Client_Connections_aborted", strconv.FormatInt(reg.ClientConnectionsAborted.Load(), 10)},
			[2]string{"Client_Connections_connected", strconv.FormatInt(t.src.Stats.ClientConnections(), 10)},
			[2]string{"Client_Connections_created", strconv.FormatInt(reg.ClientConnectionsCreated.Load(), 10)},
			[2]string{"Questions", strconv.FormatInt(t.src.Stats.Questions(), 10)},
			[2]string{"Slow_queries", strconv.FormatInt(reg.SlowQueries.Load(), 10)},
			[2]string{"Digest_entries", strconv.FormatInt(reg.DigestCount(), 10)},
			[2]string{"Digest_entries_dropped", strconv.FormatInt(reg.DigestsDropped.Load(), 10)},
		)
		vals = append(vals, t.src.Stats.DataPathGlobals()...)
	}
	var used, free, ok, errs int64
	if t.src.Pool != nil {
		for _, hg := range t.src.Pool.Hostgroups() {
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
		[2]string{"Servers_table_version", strconv.FormatUint(t.src.Admin.ServersVersion(), 10)},
		[2]string{"Monitor_topology_changes", strconv.FormatInt(t.src.Admin.TopologyChanges(), 10)},
	)
	if t.src.Runtime != nil {
		if s := t.src.Runtime.Load(); s != nil {
			vals = append(vals, [2]string{"Runtime_snapshot_version", strconv.FormatUint(s.Version, 10)})
		}
	}
	return vals
}

func (t *Tables) refreshCommands(ctx context.Context) error {
	cols := append([]string{"Command", "Total_Time_us", "Total_cnt"}, stats.BucketNames...)
	var rows [][]any
	if t.src.Stats != nil {
		for _, c := range t.src.Stats.Registry().CommandRows() {
			r := []any{c.Command, c.TotalUs, c.Count}
			for _, b := range c.Buckets {
				r = append(r, b)
			}
			rows = append(rows, r)
		}
	}
	return t.st.Replace(ctx, "stats.stats_mysql_commands_counters", cols, rows)
}

func digestRows(ds []stats.DigestRow) [][]any {
	rows := make([][]any, 0, len(ds))
	for _, d := range ds {
		rows = append(rows, []any{d.Hostgroup, d.Schema, d.User, d.ClientAddress, fmt.Sprintf("0x%016X", d.Digest), d.Text,
			d.Count, d.FirstSeen, d.LastSeen, d.SumUs, d.MinUs, d.MaxUs, d.SumRowsAffected, d.SumRowsSent})
	}
	return rows
}

// refreshDigests fills stats_mysql_query_digest from the digest map.
func (t *Tables) refreshDigests(ctx context.Context) error {
	if t.src.Stats == nil {
		return nil
	}
	return t.st.Replace(ctx, "stats.stats_mysql_query_digest", digestCols, digestRows(t.src.Stats.Registry().Digests(false)))
}

// refreshDigestsReset fills stats_mysql_query_digest_reset and empties the
// digest map, as reading that table does in ProxySQL.
func (t *Tables) refreshDigestsReset(ctx context.Context) error {
	if t.src.Stats == nil {
		return nil
	}
	rows := digestRows(t.src.Stats.Registry().Digests(true))
	if err := t.st.Replace(ctx, "stats.stats_mysql_query_digest_reset", digestCols, rows); err != nil {
		return err
	}
	return t.st.Replace(ctx, "stats.stats_mysql_query_digest", digestCols, nil)
}

// ResetDigests empties the digest map and its tables (TRUNCATE
// stats_mysql_query_digest).
func (t *Tables) ResetDigests() {
	if t.src.Stats != nil {
		t.src.Stats.Registry().Digests(true)
	}
	ctx := context.Background()
	t.st.Exec(ctx, "DELETE FROM stats.stats_mysql_query_digest", "DELETE FROM stats.stats_mysql_query_digest_reset")
}

func (t *Tables) refreshProcesslist(ctx context.Context) error {
	cols := []string{"ThreadID", "SessionID", "user", "db", "cli_host", "cli_port", "hostgroup", "l_srv_host", "l_srv_port",
		"srv_host", "srv_port", "command", "time_ms", "info", "status_flags", "extended_info"}
	var rows [][]any
	if t.src.Stats != nil {
		for _, p := range t.src.Stats.Processlist() {
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
	return t.st.Replace(ctx, "stats.stats_mysql_processlist", cols, rows)
}

func (t *Tables) refreshUsers(ctx context.Context) error {
	var conns map[string]int
	if t.src.Stats != nil {
		conns = t.src.Stats.UserConnections()
	}
	var rows [][]any
	seen := map[string]bool{}
	for _, u := range t.src.Admin.Users() {
		if !u.Active || !u.Frontend || seen[u.Username] {
			continue
		}
		seen[u.Username] = true
		rows = append(rows, []any{u.Username, conns[u.Username], u.MaxConnections})
	}
	return t.st.Replace(ctx, "stats.stats_mysql_users", []string{"username", "frontend_connections", "frontend_max_connections"}, rows)
}

func (t *Tables) refreshRuleHits(ctx context.Context) error {
	var rows [][]any
	if t.src.Runtime != nil {
		if s := t.src.Runtime.Load(); s != nil && s.Rules != nil {
			for _, h := range s.Rules.Hits() {
				rows = append(rows, []any{h.RuleID, h.Hits})
			}
		}
	}
	return t.st.Replace(ctx, "stats.stats_mysql_query_rules", []string{"rule_id", "hits"}, rows)
}

func (t *Tables) refreshMemory(ctx context.Context) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	vals := [][2]any{
		{"Go_heap_alloc_bytes", ms.HeapAlloc}, {"Go_heap_sys_bytes", ms.HeapSys}, {"Go_sys_bytes", ms.Sys},
		{"Go_stack_inuse_bytes", ms.StackInuse}, {"Go_num_gc", ms.NumGC}, {"Go_goroutines", runtime.NumGoroutine()},
	}
	if t.src.Stats != nil {
		vals = append(vals, [2]any{"query_digest_entries", t.src.Stats.Registry().DigestCount()})
	}
	var rows [][]any
	for _, v := range vals {
		rows = append(rows, []any{v[0], fmt.Sprint(v[1])})
	}
	return t.st.Replace(ctx, "stats.stats_memory_metrics", []string{"Variable_Name", "Variable_Value"}, rows)
}

// refreshClusterStats fills stats_proxysql_servers_checksums, _metrics and
// _status from the peer monitor.
func (t *Tables) refreshClusterStats(ctx context.Context) error {
	if t.src.Cluster == nil {
		return nil
	}
	var sums [][]any
	for _, c := range t.src.Cluster.Checksums() {
		sums = append(sums, []any{c.Hostname, c.Port, c.Name, c.Version, c.Epoch, c.Checksum, c.ChangedAt, c.UpdatedAt, c.DiffCheck})
	}
	if err := t.st.Replace(ctx, "stats.stats_proxysql_servers_checksums",
		[]string{"hostname", "port", "name", "version", "epoch", "checksum", "changed_at", "updated_at", "diff_check"}, sums); err != nil {
		return err
	}
	var mets, stat [][]any
	for _, p := range t.src.Cluster.Peers() {
		last := int64(0)
		if !p.LastCheckAt.IsZero() {
			last = time.Since(p.LastCheckAt).Milliseconds()
		}
		mets = append(mets, []any{p.Hostname, p.Port, p.Weight, p.Comment, p.ResponseTime.Milliseconds(), p.Uptime, last,
			p.Queries, p.Connected, p.Created})
		// ProxySQL leaves this table empty; sqlgate shows each peer's
		// health, with why its checks fail in "master".
		master := "OK"
		if p.Status != "" {
			master = p.Status
		}
		gv, _ := strconv.ParseInt(p.GlobalChecksum, 10, 64)
		stat = append(stat, []any{p.Hostname, p.Port, p.Weight, master, gv, last * 1000, p.LastCheck.Microseconds(), p.ChecksOK, p.ChecksErr})
	}
	if err := t.st.Replace(ctx, "stats.stats_proxysql_servers_metrics",
		[]string{"hostname", "port", "weight", "comment", "response_time_ms", "Uptime_s", "last_check_ms", "Queries",
			"Client_Connections_connected", "Client_Connections_created"}, mets); err != nil {
		return err
	}
	return t.st.Replace(ctx, "stats.stats_proxysql_servers_status",
		[]string{"hostname", "port", "weight", "master", "global_version", "check_age_us", "ping_time_us", "checks_OK", "checks_ERR"}, stat)
}

// refreshDrift fills stats_sqlgate_cluster_drift: per peer and module,
// whether it matches this node, since when it differs and why it does not
// sync, as the cluster's decisions recorded it.
func (t *Tables) refreshDrift(ctx context.Context) error {
	if t.src.Cluster == nil {
		return nil
	}
	var rows [][]any
	for _, d := range t.src.Cluster.Drift() {
		rows = append(rows, []any{d.Hostname, d.Port, d.Name, d.State, d.Local.Version, d.Local.Epoch, d.Local.Checksum,
			d.Peer.Version, d.Peer.Epoch, d.Peer.Checksum, d.DiffCheck, d.DifferSince, d.Reason})
	}
	return t.st.Replace(ctx, "stats.stats_sqlgate_cluster_drift", []string{"hostname", "port", "name", "state",
		"local_version", "local_epoch", "local_checksum", "peer_version", "peer_epoch", "peer_checksum", "diff_check", "differs_since", "reason"}, rows)
}

// refreshMonitorLog copies one monitor log from memory into the monitor
// schema.
func (t *Tables) refreshMonitorLog(table string) func(context.Context) error {
	return func(ctx context.Context) error {
		if t.src.Monitor == nil {
			return nil
		}
		cols, rows, ok := t.src.Monitor.Table(table)
		if !ok {
			return nil
		}
		return t.st.Replace(ctx, "monitor."+table, cols, rows)
	}
}

var digestCols = []string{"hostgroup", "schemaname", "username", "client_address", "digest", "digest_text", "count_star",
	"first_seen", "last_seen", "sum_time", "min_time", "max_time", "sum_rows_affected", "sum_rows_sent"}
