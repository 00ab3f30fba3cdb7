package statsdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/cluster"
)

// The REST API port (admin-restapi_enabled, admin-restapi_port) serves
// GET /metrics in the Prometheus text format, with ProxySQL's metric names
// where ProxySQL has one, so existing dashboards and alerts keep working.
// Custom restapi_routes are not served (LOAD RESTAPI refuses rows).

// restAPI is the running metrics listener.
type restAPI struct {
	port int
	srv  *http.Server
}

// ServeMetrics starts, moves or stops the metrics listener to match
// admin-restapi_enabled and admin-restapi_port. The admin calls it before
// it publishes the variables: a port that cannot be bound fails the LOAD.
func (t *Tables) ServeMetrics(enabled bool, port int) error {
	t.restMu.Lock()
	defer t.restMu.Unlock()
	if enabled && t.rest != nil && t.rest.port == port {
		return nil
	}
	// Bind the new port before closing the old one: on error the running
	// listener stays, as the running variables do.
	var ln net.Listener
	if enabled {
		var err error
		if ln, err = net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port))); err != nil {
			return fmt.Errorf("global_variables row admin-restapi_port: cannot listen on port %d: %v", port, err)
		}
	}
	if t.rest != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		t.rest.srv.Shutdown(ctx)
		cancel()
		t.rest = nil
	}
	if !enabled {
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", t.serveMetrics)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	t.rest = &restAPI{port: port, srv: srv}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.src.Log.Error("admin-restapi_port: metrics listener stopped", "err", err)
		}
	}()
	t.src.Log.Info("REST API listening (GET /metrics)", "addr", ln.Addr().String())
	return nil
}

// Close closes the metrics listener (at shutdown).
func (t *Tables) Close() {
	t.restMu.Lock()
	defer t.restMu.Unlock()
	if t.rest != nil {
		t.rest.srv.Close()
		t.rest = nil
	}
}

// promWriter writes the Prometheus text exposition format.
type promWriter struct {
	b    strings.Builder
	seen map[string]bool
}

func (w *promWriter) metric(name, typ, help string, value float64, labels ...string) {
	if !w.seen[name] {
		if w.seen == nil {
			w.seen = map[string]bool{}
		}
		w.seen[name] = true
		fmt.Fprintf(&w.b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	w.b.WriteString(name)
	if len(labels) > 0 {
		w.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				w.b.WriteByte(',')
			}
			fmt.Fprintf(&w.b, "%s=%q", labels[i], labels[i+1])
		}
		w.b.WriteByte('}')
	}
	w.b.WriteByte(' ')
	w.b.WriteString(strconv.FormatFloat(value, 'g', -1, 64))
	w.b.WriteByte('\n')
}

// statusCode is ProxySQL's proxysql_connpool_conns_status value.
func statusCode(s backend.Status) float64 {
	return float64(s) + 1 // ONLINE=1 ... SHUNNED_REPLICATION_LAG=5
}

func (t *Tables) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	var p promWriter
	p.metric("proxysql_uptime_seconds_total", "counter", "The total uptime of ProxySQL.", time.Since(t.src.Started).Seconds())
	if t.src.Stats != nil {
		reg := t.src.Stats.Registry()
		p.metric("proxysql_questions_total", "counter", "The total number of client requests / statements executed.", float64(t.src.Stats.Questions()))
		p.metric("proxysql_client_connections_connected", "gauge", "Client connections that are currently connected.", float64(t.src.Stats.ClientConnections()))
		p.metric("proxysql_client_connections_total", "counter", "Total number of client connections (created|aborted).", float64(reg.ClientConnectionsCreated.Load()), "status", "created")
		p.metric("proxysql_client_connections_total", "counter", "Total number of client connections (created|aborted).", float64(reg.ClientConnectionsAborted.Load()), "status", "aborted")
		for _, g := range t.src.Stats.DataPathGlobals() {
			name := "sqlgate_" + strings.ToLower(g[0])
			v, _ := strconv.ParseFloat(g[1], 64)
			p.metric(name, "gauge", "stats_mysql_global "+g[0]+".", v)
		}
	}
	if t.src.Pool != nil {
		var used, free, ok, errs int64
		for _, hg := range t.src.Pool.Hostgroups() {
			for _, s := range hg.Servers() {
				u, f := s.Counts()
				used, free = used+int64(u), free+int64(f)
				ok, errs = ok+s.ConnOK.Load(), errs+s.ConnERR.Load()
				l := []string{"endpoint", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), "hostgroup", strconv.Itoa(hg.ID)}
				p.metric("proxysql_connpool_conns", "gauge", "How many backend connections are currently (free|used).", float64(u), append(l, "status", "used")...)
				p.metric("proxysql_connpool_conns", "gauge", "How many backend connections are currently (free|used).", float64(f), append(l, "status", "free")...)
				p.metric("proxysql_connpool_conns_total", "counter", "How many connections have been tried to be established.", float64(s.ConnOK.Load()), append(l, "status", "ok")...)
				p.metric("proxysql_connpool_conns_total", "counter", "How many connections have been tried to be established.", float64(s.ConnERR.Load()), append(l, "status", "err")...)
				p.metric("proxysql_connpool_conns_queries_total", "counter", "The number of queries routed towards this particular backend server.", float64(s.Queries.Load()), l...)
				p.metric("proxysql_connpool_data_bytes_total", "counter", "Amount of data (sent|recv) from the backend, excluding metadata.", float64(s.BytesSent.Load()), append(l, "traffic_flow", "sent")...)
				p.metric("proxysql_connpool_data_bytes_total", "counter", "Amount of data (sent|recv) from the backend, excluding metadata.", float64(s.BytesRecv.Load()), append(l, "traffic_flow", "recv")...)
				p.metric("proxysql_connpool_conns_latency_us", "gauge", "The currently ping time in microseconds, as reported from Monitor.", float64(s.LatencyUs.Load()), l...)
				p.metric("proxysql_connpool_conns_status", "gauge", "The status of the backend server (1 - ONLINE, 2 - SHUNNED, 3 - OFFLINE_SOFT, 4 - OFFLINE_HARD, 5 - SHUNNED_REPLICATION_LAG).", statusCode(s.Status()), l...)
			}
		}
		p.metric("proxysql_server_connections_connected", "gauge", "Backend connections that are currently connected.", float64(used+free))
		p.metric("proxysql_server_connections_total", "counter", "Total number of server connections (created|delayed|aborted).", float64(ok), "status", "created")
		p.metric("proxysql_server_connections_total", "counter", "Total number of server connections (created|delayed|aborted).", float64(errs), "status", "aborted")
		for _, t := range t.src.Pool.Transitions() {
			p.metric("sqlgate_server_status_changes_total", "counter", "Automatic server state changes (stats_mysql_server_status_changes).", float64(t.Count),
				"endpoint", net.JoinHostPort(t.Host, strconv.Itoa(t.Port)), "hostgroup", strconv.Itoa(t.Hostgroup), "to", t.To, "reason", t.Reason)
		}
	}
	if t.src.Cluster != nil {
		for _, c := range t.src.Cluster.Checksums() {
			l := []string{"hostname", c.Hostname, "port", strconv.Itoa(c.Port), "name", c.Name}
			p.metric("proxysql_servers_checksums_version_total", "counter", "Number of times the configuration has been loaded locally.", float64(c.Version), l...)
			p.metric("proxysql_servers_checksums_epoch", "gauge", "Time at which this configuration was created locally.", float64(c.Epoch), l...)
			p.metric("proxysql_servers_checksums_updated_at", "gauge", "Time at which the checksum was last checked.", float64(c.UpdatedAt), l...)
			p.metric("proxysql_servers_checksums_changed_at", "gauge", "Time at which the checksum was last changed.", float64(c.ChangedAt), l...)
			p.metric("proxysql_servers_checksums_diff_check", "gauge", "Consecutive checks in which the peer's checksum differed from ours.", float64(c.DiffCheck), l...)
		}
		var mods []string
		for _, m := range cluster.Modules {
			mods = append(mods, m)
		}
		sort.Strings(mods)
		for _, m := range mods {
			for _, st := range []string{"success", "failure"} {
				p.metric("proxysql_cluster_pulled_total", "counter", "Number of times a module was pulled from a peer.", float64(t.src.Cluster.Pulls.Get(m+"/"+st)),
					"module_name", m, "status", st)
			}
			for _, r := range []string{"servers_share_epoch", "version_one"} {
				p.metric("proxysql_cluster_syn_conflict_total", "counter", "Number of times a sync could not be decided.", float64(t.src.Cluster.Conflicts.Get(m+"/"+r)),
					"module_name", m, "reason", r)
			}
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write([]byte(p.b.String()))
}
