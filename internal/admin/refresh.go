package admin

import (
	"context"
	"fmt"
	"strings"

	"sqlgate/internal/admin/codec"
	"sqlgate/internal/cluster"
	"sqlgate/internal/config"
)

// refresh regenerates the runtime_* and stats_* tables a query mentions
// before it runs: they are views of live state, not stored config. A
// stats-only session (admin-stats_credentials) refreshes only the stats.
func (a *Admin) refresh(ctx context.Context, upper string, statsOnly bool) error {
	if !strings.Contains(upper, "RUNTIME_") && !strings.Contains(upper, "STATS") && !strings.Contains(upper, "GLOBAL_VARIABLES") &&
		!strings.Contains(upper, "MYSQL_SERVER_") {
		return nil
	}
	if err := a.tables.Refresh(ctx, upper); err != nil || statsOnly {
		return err
	}
	jobs := []struct {
		substr string
		fn     func(context.Context) error
	}{
		{"GLOBAL_VARIABLES", a.refreshGlobalVariables},
		{"RUNTIME_MYSQL_SERVERS", a.refreshRuntimeServers},
		{"RUNTIME_MYSQL_REPLICATION_HOSTGROUPS", a.refreshRuntimeServers},
		{"RUNTIME_MYSQL_GROUP_REPLICATION_HOSTGROUPS", a.refreshRuntimeServers},
		{"RUNTIME_MYSQL_GALERA_HOSTGROUPS", a.refreshRuntimeServers},
		{"RUNTIME_MYSQL_AWS_AURORA_HOSTGROUPS", a.refreshRuntimeServers},
		{"RUNTIME_MYSQL_HOSTGROUP_ATTRIBUTES", a.refreshRuntimeServers},
		{"RUNTIME_MYSQL_USERS", a.refreshRuntimeUsers},
		{"RUNTIME_MYSQL_QUERY_RULES", a.refreshRuntimeTables("mysql_query_rules", "mysql_query_rules_fast_routing")},
		{"RUNTIME_PROXYSQL_SERVERS", a.refreshRuntimeTables("proxysql_servers")},
		{"RUNTIME_CHECKSUMS_VALUES", a.refreshChecksums},
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

func (a *Admin) refreshRuntimeTables(tables ...string) func(context.Context) error {
	return func(ctx context.Context) error {
		return a.st.Tx(ctx, func() error {
			for _, t := range tables {
				if _, err := a.st.Conn.ExecContext(ctx, "DELETE FROM main.runtime_"+t); err != nil {
					return err
				}
				if err := a.st.Insert(ctx, "main.runtime_"+t, a.rtRows[t], "INSERT OR REPLACE"); err != nil {
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
		return a.st.Insert(ctx, "main.runtime_mysql_users", codec.SplitUsers(a.rtRows["mysql_users"]), "INSERT OR REPLACE")
	})
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
	return a.st.Replace(ctx, "main.runtime_mysql_servers", []string{"hostgroup_id", "hostname", "port", "gtid_port", "status",
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
	return a.st.Replace(ctx, "main.runtime_global_variables", []string{"variable_name", "variable_value"}, rows)
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
	return a.st.Replace(ctx, "main.runtime_checksums_values", []string{"name", "version", "epoch", "checksum"}, rows)
}

// statsView is what the stats tables read from the admin (statsdb.Admin);
// like every refresh it runs with a.mu held.
type statsView struct{ a *Admin }

func (v statsView) ServersVersion() uint64 {
	return v.a.Checksums()[cluster.MySQLServers].Version
}
func (v statsView) TopologyChanges() int64    { return v.a.topologyChanges }
func (v statsView) Users() []config.MySQLUser { return v.a.cur.MySQLUsers }
