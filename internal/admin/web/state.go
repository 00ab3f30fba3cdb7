package web

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"sqlgate/internal/admin/store"
)

// State is what the page shows, as /api/state returns it.
type State struct {
	Generated int64          `json:"generated"` // Unix milliseconds
	Node      NodeInfo       `json:"node"`
	Cluster   Cluster        `json:"cluster"`
	Backends  []Backend      `json:"backends"`
	Digests   []Digest       `json:"digests"`
	Errors    []MonitorError `json:"monitor_errors"`
	Series    []Point        `json:"series"`
	// History is nil for stats users: the configuration history is the
	// admin's, as on the admin SQL interface.
	History []Revision `json:"history"`
	Error   string     `json:"error,omitempty"`
}

// NodeInfo describes the node serving the page.
type NodeInfo struct {
	Version           string `json:"version"`
	User              string `json:"user"`
	Admin             bool   `json:"admin"`
	UptimeS           int64  `json:"uptime_s"`
	ClientConnections int64  `json:"client_connections"`
	Questions         int64  `json:"questions"`
}

// Cluster is the peers of proxysql_servers (stats_proxysql_servers_status)
// and each module's state on each (stats_sqlgate_cluster_drift).
type Cluster struct {
	Nodes   []ClusterNode `json:"nodes"`
	Modules []ModuleState `json:"modules"`
}

// ClusterNode is one row of stats_proxysql_servers_status (and _metrics).
type ClusterNode struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// State is "up" (checks succeed), "down" (they fail: Status says
	// why) or "pending" (not checked yet).
	State      string `json:"state"`
	Self       bool   `json:"self"` // the node serving the page
	Status     string `json:"status"`
	ChecksOK   int64  `json:"checks_ok"`
	ChecksErr  int64  `json:"checks_err"`
	PingUs     int64  `json:"ping_us"`
	CheckAgeUs int64  `json:"check_age_us"`
	UptimeS    int64  `json:"uptime_s"`
	Comment    string `json:"comment"`
}

// ModuleState is one module as one peer has it, compared with this node:
// a row of stats_sqlgate_cluster_drift.
type ModuleState struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Module string `json:"module"`
	// State is "in sync", "differs" or "unreachable".
	State         string `json:"state"`
	PeerVersion   int64  `json:"peer_version"`
	PeerEpoch     int64  `json:"peer_epoch"`
	PeerChecksum  string `json:"peer_checksum"`
	LocalVersion  int64  `json:"local_version"`
	LocalEpoch    int64  `json:"local_epoch"`
	LocalChecksum string `json:"local_checksum"`
	DiffCheck     int64  `json:"diff_check"`
	DiffersSince  int64  `json:"differs_since"` // Unix seconds, 0 when in sync
	Reason        string `json:"reason"`
}

// Backend is one server of one hostgroup.
type Backend struct {
	Hostgroup   int    `json:"hostgroup"`
	Host        string `json:"host"`
	Port        int    `json:"port"`
	Status      string `json:"status"`
	ConnUsed    int64  `json:"conn_used"`
	ConnFree    int64  `json:"conn_free"`
	ConnOK      int64  `json:"conn_ok"`
	ConnErr     int64  `json:"conn_err"`
	MaxConnUsed int64  `json:"max_conn_used"`
	// MaxConnections is from runtime_mysql_servers: 0 for stats users,
	// who cannot read the configuration.
	MaxConnections int64  `json:"max_connections"`
	Queries        int64  `json:"queries"`
	LatencyUs      int64  `json:"latency_us"`
	LagS           *int64 `json:"lag_s"` // nil: not measured
	LagError       string `json:"lag_error"`
	PingError      string `json:"ping_error"`
}

// Digest is one row of the top of stats_mysql_query_digest.
type Digest struct {
	Hostgroup int    `json:"hostgroup"`
	Schema    string `json:"schema"`
	User      string `json:"user"`
	Digest    string `json:"digest"`
	Text      string `json:"text"`
	Count     int64  `json:"count"`
	SumUs     int64  `json:"sum_us"`
	MinUs     int64  `json:"min_us"`
	MaxUs     int64  `json:"max_us"`
	LastSeen  int64  `json:"last_seen"`
}

// MonitorError is one failed monitor check.
type MonitorError struct {
	Check  string `json:"check"` // connect, ping, read_only, replication_lag
	Host   string `json:"host"`
	Port   int    `json:"port"`
	TimeUs int64  `json:"time_us"`
	Error  string `json:"error"`
}

// Point is one sparkline point: the rates between two samples.
type Point struct {
	T         int64   `json:"t"` // Unix milliseconds
	QPS       float64 `json:"qps"`
	LatencyUs float64 `json:"latency_us"` // mean statement time
}

// Revision is one entry of disk.sqlgate_config_history.
type Revision struct {
	Revision int64  `json:"revision"`
	Time     int64  `json:"time"`
	Source   string `json:"source"`
	Module   string `json:"module"`
	Version  int64  `json:"version"`
	Epoch    int64  `json:"epoch"`
	Checksum string `json:"checksum"`
}

// The queries behind the page: the tables the admin SQL interface shows.
const (
	qGlobal = "SELECT Variable_Name, Variable_Value FROM stats_mysql_global WHERE Variable_Name IN " +
		"('ProxySQL_Uptime', 'Questions', 'Client_Connections_connected')"
	qCommands = "SELECT SUM(Total_Time_us), SUM(Total_cnt) FROM stats_mysql_commands_counters"
	qPeers    = "SELECT s.hostname, s.port, s.master, s.checks_OK, s.checks_ERR, s.ping_time_us, s.check_age_us, " +
		"IFNULL(m.Uptime_s, 0), IFNULL(m.comment, '') FROM stats_proxysql_servers_status s " +
		"LEFT JOIN stats_proxysql_servers_metrics m USING (hostname, port) ORDER BY s.hostname, s.port"
	qDrift = "SELECT hostname, port, name, state, local_version, local_epoch, local_checksum, peer_version, peer_epoch, " +
		"peer_checksum, diff_check, differs_since, reason FROM stats_sqlgate_cluster_drift ORDER BY hostname, port, name"
	qPool = "SELECT hostgroup, srv_host, srv_port, status, ConnUsed, ConnFree, ConnOK, ConnERR, MaxConnUsed, Queries, Latency_us " +
		"FROM stats_mysql_connection_pool ORDER BY hostgroup, srv_host, srv_port"
	qRuntimeServers = "SELECT hostgroup_id, hostname, port, max_connections FROM runtime_mysql_servers"
	// The latest row per server (SQLite takes the bare columns from the
	// row of MAX).
	qLag    = "SELECT hostname, port, repl_lag, error, MAX(time_start_us) FROM monitor.mysql_server_replication_lag_log GROUP BY hostname, port"
	qPing   = "SELECT hostname, port, ping_error, MAX(time_start_us) FROM monitor.mysql_server_ping_log GROUP BY hostname, port"
	qErrors = "SELECT * FROM (" +
		"SELECT 'connect', hostname, port, time_start_us, connect_error FROM monitor.mysql_server_connect_log WHERE connect_error IS NOT NULL " +
		"UNION ALL SELECT 'ping', hostname, port, time_start_us, ping_error FROM monitor.mysql_server_ping_log WHERE ping_error IS NOT NULL " +
		"UNION ALL SELECT 'read_only', hostname, port, time_start_us, error FROM monitor.mysql_server_read_only_log WHERE error IS NOT NULL " +
		"UNION ALL SELECT 'replication_lag', hostname, port, time_start_us, error FROM monitor.mysql_server_replication_lag_log WHERE error IS NOT NULL" +
		") ORDER BY 4 DESC LIMIT 15"
	qDigests = "SELECT hostgroup, schemaname, username, digest, SUBSTR(digest_text, 1, 300), count_star, sum_time, min_time, max_time, last_seen " +
		"FROM stats_mysql_query_digest ORDER BY sum_time DESC LIMIT 10"
	qHistory = "SELECT revision, time, source, module, version, epoch, checksum FROM disk.sqlgate_config_history ORDER BY revision DESC LIMIT 20"
)

// build reads the state with the rights of an admin or a stats user.
func (s *Server) build(ctx context.Context, admin bool) (*State, error) {
	r, err := s.adm.Reader(ctx, admin)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	q := func(sql string) (*store.Result, error) {
		res, err := r.Query(ctx, sql)
		if err != nil {
			return nil, fmt.Errorf("dashboard query %q: %w", sql, err)
		}
		return res, nil
	}
	st := &State{Generated: time.Now().UnixMilli(), Node: NodeInfo{Version: s.adm.Version(), Admin: admin}}

	global, err := q(qGlobal)
	if err != nil {
		return nil, err
	}
	cmds, err := q(qCommands)
	if err != nil {
		return nil, err
	}
	st.Node.fill(global)
	st.Series = s.series.add(time.Now(), st.Node.Questions, cmds)

	peers, err := q(qPeers)
	if err != nil {
		return nil, err
	}
	st.Cluster.Nodes = clusterNodes(peers)
	for i := range st.Cluster.Nodes {
		n := &st.Cluster.Nodes[i]
		n.Self = s.adm.IsSelf(n.Host, n.Port)
	}
	drift, err := q(qDrift)
	if err != nil {
		return nil, err
	}
	st.Cluster.Modules = driftModules(drift)

	pool, err := q(qPool)
	if err != nil {
		return nil, err
	}
	var servers *store.Result
	if admin {
		if servers, err = q(qRuntimeServers); err != nil {
			return nil, err
		}
	}
	lag, err := q(qLag)
	if err != nil {
		return nil, err
	}
	ping, err := q(qPing)
	if err != nil {
		return nil, err
	}
	st.Backends = backends(pool, servers, lag, ping)
	errs, err := q(qErrors)
	if err != nil {
		return nil, err
	}
	st.Errors = monitorErrors(errs)
	digests, err := q(qDigests)
	if err != nil {
		return nil, err
	}
	st.Digests = topDigests(digests)
	if admin {
		hist, err := q(qHistory)
		if err != nil {
			return nil, err
		}
		st.History = history(hist)
	}
	return st, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func num(p *string) int64 {
	if p == nil {
		return 0
	}
	n, err := strconv.ParseInt(*p, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(*p, 64)
		if ferr != nil {
			return 0
		}
		return int64(f)
	}
	return n
}

// rows returns r's rows, padded to n columns, so a table with fewer
// columns than expected (an older schema) shows zeros instead of failing.
func rows(r *store.Result, n int) [][]*string {
	if r == nil {
		return nil
	}
	out := make([][]*string, 0, len(r.Rows))
	for _, row := range r.Rows {
		if len(row) < n {
			row = append(append([]*string(nil), row...), make([]*string, n-len(row))...)
		}
		out = append(out, row)
	}
	return out
}

func (n *NodeInfo) fill(global *store.Result) {
	for _, row := range rows(global, 2) {
		switch str(row[0]) {
		case "ProxySQL_Uptime":
			n.UptimeS = num(row[1])
		case "Questions":
			n.Questions = num(row[1])
		case "Client_Connections_connected":
			n.ClientConnections = num(row[1])
		}
	}
}

func clusterNodes(r *store.Result) []ClusterNode {
	var out []ClusterNode
	for _, row := range rows(r, 9) {
		n := ClusterNode{Host: str(row[0]), Port: int(num(row[1])), Status: str(row[2]), ChecksOK: num(row[3]),
			ChecksErr: num(row[4]), PingUs: num(row[5]), CheckAgeUs: num(row[6]), UptimeS: num(row[7]), Comment: str(row[8])}
		switch {
		case n.Status != "OK":
			n.State = "down"
		case n.ChecksOK == 0:
			n.State = "pending"
		default:
			n.State = "up"
		}
		out = append(out, n)
	}
	return out
}

func driftModules(r *store.Result) []ModuleState {
	var out []ModuleState
	for _, row := range rows(r, 13) {
		out = append(out, ModuleState{Host: str(row[0]), Port: int(num(row[1])), Module: str(row[2]), State: str(row[3]),
			LocalVersion: num(row[4]), LocalEpoch: num(row[5]), LocalChecksum: str(row[6]),
			PeerVersion: num(row[7]), PeerEpoch: num(row[8]), PeerChecksum: str(row[9]),
			DiffCheck: num(row[10]), DiffersSince: num(row[11]), Reason: str(row[12])})
	}
	return out
}

// backends joins the pool's servers with their configured limits and the
// monitor's last lag and ping results.
func backends(pool, servers, lag, ping *store.Result) []Backend {
	maxConn := map[string]int64{}
	for _, row := range rows(servers, 4) {
		maxConn[str(row[0])+"|"+str(row[1])+"|"+str(row[2])] = num(row[3])
	}
	type lagInfo struct {
		lag *int64
		err string
	}
	lags := map[string]lagInfo{}
	for _, row := range rows(lag, 4) {
		li := lagInfo{err: str(row[3])}
		if row[2] != nil && li.err == "" {
			v := num(row[2])
			li.lag = &v
		}
		lags[str(row[0])+"|"+str(row[1])] = li
	}
	pings := map[string]string{}
	for _, row := range rows(ping, 3) {
		pings[str(row[0])+"|"+str(row[1])] = str(row[2])
	}
	var out []Backend
	for _, row := range rows(pool, 11) {
		b := Backend{Hostgroup: int(num(row[0])), Host: str(row[1]), Port: int(num(row[2])), Status: str(row[3]),
			ConnUsed: num(row[4]), ConnFree: num(row[5]), ConnOK: num(row[6]), ConnErr: num(row[7]), MaxConnUsed: num(row[8]),
			Queries: num(row[9]), LatencyUs: num(row[10])}
		b.MaxConnections = maxConn[str(row[0])+"|"+b.Host+"|"+str(row[2])]
		hp := b.Host + "|" + str(row[2])
		b.LagS, b.LagError = lags[hp].lag, lags[hp].err
		b.PingError = pings[hp]
		out = append(out, b)
	}
	return out
}

func monitorErrors(r *store.Result) []MonitorError {
	var out []MonitorError
	for _, row := range rows(r, 5) {
		out = append(out, MonitorError{Check: str(row[0]), Host: str(row[1]), Port: int(num(row[2])), TimeUs: num(row[3]), Error: str(row[4])})
	}
	return out
}

func topDigests(r *store.Result) []Digest {
	var out []Digest
	for _, row := range rows(r, 10) {
		out = append(out, Digest{Hostgroup: int(num(row[0])), Schema: str(row[1]), User: str(row[2]), Digest: str(row[3]),
			Text: str(row[4]), Count: num(row[5]), SumUs: num(row[6]), MinUs: num(row[7]), MaxUs: num(row[8]), LastSeen: num(row[9])})
	}
	return out
}

func history(r *store.Result) []Revision {
	out := []Revision{} // [] rather than null: an admin sees an empty history
	for _, row := range rows(r, 7) {
		out = append(out, Revision{Revision: num(row[0]), Time: num(row[1]), Source: str(row[2]), Module: str(row[3]),
			Version: num(row[4]), Epoch: num(row[5]), Checksum: str(row[6])})
	}
	return out
}

// series keeps the last samples of the statement counters, taken when a
// page asks for the state (at most one a second): the sparklines cost
// nothing while no page is open.
type series struct {
	mu      sync.Mutex
	samples []sample
}

type sample struct {
	at                 time.Time
	questions          int64
	timeUs, statements int64 // stats_mysql_commands_counters totals
}

const (
	seriesLen      = 120 // two minutes at one sample a second
	sampleInterval = 900 * time.Millisecond
)

// add records a sample at now (unless the last is recent) and returns the
// points between consecutive samples.
func (s *series) add(now time.Time, questions int64, cmds *store.Result) []Point {
	smp := sample{at: now, questions: questions}
	if rs := rows(cmds, 2); len(rs) > 0 {
		smp.timeUs, smp.statements = num(rs[0][0]), num(rs[0][1])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.samples); n == 0 || now.Sub(s.samples[n-1].at) >= sampleInterval {
		s.samples = append(s.samples, smp)
		if len(s.samples) > seriesLen+1 {
			s.samples = append(s.samples[:0], s.samples[len(s.samples)-seriesLen-1:]...)
		}
	}
	return points(s.samples)
}

// points are the rates between consecutive samples; a counter that went
// backwards (TRUNCATE of the digests does not, a restart would) gives no
// point.
func points(samples []sample) []Point {
	out := []Point{}
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		secs := b.at.Sub(a.at).Seconds()
		dq, dt, dn := b.questions-a.questions, b.timeUs-a.timeUs, b.statements-a.statements
		if secs <= 0 || dq < 0 || dt < 0 || dn < 0 {
			continue
		}
		p := Point{T: b.at.UnixMilli(), QPS: float64(dq) / secs}
		if dn > 0 {
			p.LatencyUs = float64(dt) / float64(dn)
		}
		out = append(out, p)
	}
	return out
}
