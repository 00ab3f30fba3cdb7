package codec

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"sqlgate/internal/admin/store"
	"sqlgate/internal/config"
	"sqlgate/internal/runtime"
)

// Import writes the sections of cfg that belong to module (LOAD's name:
// "MYSQL SERVERS", "ADMIN VARIABLES", ...) into the
// main schema with INSERT OR REPLACE, as ProxySQL's LOAD ... FROM CONFIG and
// its boot sequence do: rows with the same primary key are replaced, other
// rows are kept. It returns the number of rows written.
//
// An unknown variable is not an error, as in ProxySQL: warn is told and
// the variable skipped.
func Import(ctx context.Context, st *store.Store, cfg *config.Config, module string, warn func(msg string, args ...any)) (int, error) {
	n := 0
	ins := func(table string, cols []string, vals ...any) error {
		q := "INSERT OR REPLACE INTO main." + table + " (" + strings.Join(cols, ", ") + ") VALUES (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		if _, err := st.Conn.ExecContext(ctx, q, vals...); err != nil {
			return fmt.Errorf("%s: %s: %s", cfg.Path, table, store.SQLiteMessage(err))
		}
		n++
		return nil
	}
	switch module {
	case "MYSQL SERVERS":
		for _, s := range cfg.MySQLServers {
			if err := ins("mysql_servers", []string{"hostgroup_id", "hostname", "port", "gtid_port", "status", "weight",
				"compression", "max_connections", "max_replication_lag", "use_ssl", "max_latency_ms", "comment"},
				s.HostgroupID, s.Hostname, s.Port, s.GtidPort, s.Status, s.Weight, s.Compression, s.MaxConnections,
				s.MaxReplicationLag, s.UseSSL, s.MaxLatencyMs, s.Comment); err != nil {
				return n, err
			}
		}
		for _, h := range cfg.MySQLReplicationHostgroups {
			if err := ins("mysql_replication_hostgroups", []string{"writer_hostgroup", "reader_hostgroup", "check_type", "comment"},
				h.WriterHostgroup, h.ReaderHostgroup, h.CheckType, h.Comment); err != nil {
				return n, err
			}
		}
	case "MYSQL USERS":
		for _, u := range cfg.MySQLUsers {
			var schema any
			if u.DefaultSchema != "" {
				schema = u.DefaultSchema
			}
			if err := ins("mysql_users", []string{"username", "password", "active", "use_ssl", "default_hostgroup",
				"default_schema", "schema_locked", "transaction_persistent", "fast_forward", "backend", "frontend",
				"max_connections", "attributes", "comment"},
				u.Username, u.Password, b2i(u.Active), b2i(u.UseSSL), u.DefaultHostgroup, schema, b2i(u.SchemaLocked),
				b2i(u.TransactionPersistent), b2i(u.FastForward), b2i(u.Backend), b2i(u.Frontend), u.MaxConnections,
				u.Attributes, u.Comment); err != nil {
				return n, err
			}
		}
	case "MYSQL QUERY RULES":
		for _, r := range cfg.MySQLQueryRules {
			cols := append([]string{"active"}, store.ColumnNames("mysql_query_rules", "active")...)
			vals := []any{b2i(r.Active), r.RuleID, r.Username, r.Schemaname, r.FlagIN, r.ClientAddr, r.ProxyAddr,
				r.ProxyPort, r.Digest, r.MatchDigest, r.MatchPattern, b2i(r.NegateMatchPattern), r.ReModifiers, r.FlagOUT,
				r.ReplacePattern, r.DestinationHostgroup, r.CacheTTL, r.CacheEmptyResult, r.CacheTimeout, r.Reconnect,
				r.Timeout, r.Retries, r.Delay, r.NextQueryFlagIN, r.MirrorFlagOUT, r.MirrorHostgroup, r.ErrorMsg, r.OKMsg,
				r.StickyConn, r.Multiplex, r.GtidFromHostgroup, r.Log, b2i(r.Apply), r.Attributes, r.Comment}
			if err := ins("mysql_query_rules", cols, vals...); err != nil {
				return n, err
			}
		}
		for _, f := range cfg.MySQLQueryRulesFastRouting {
			if err := ins("mysql_query_rules_fast_routing", store.ColumnNames("mysql_query_rules_fast_routing"),
				f.Username, f.Schemaname, f.FlagIN, f.DestinationHostgroup, f.Comment); err != nil {
				return n, err
			}
		}
	case "MYSQL VARIABLES", "ADMIN VARIABLES":
		src, prefix := cfg.MySQLVariables, "mysql-"
		if module == "ADMIN VARIABLES" {
			src, prefix = cfg.AdminVariables, "admin-"
		}
		names := make([]string, 0, len(src))
		for k := range src {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			name, ok := CanonicalVar(prefix + k)
			if !ok {
				warn("config: unknown variable ignored", "file", cfg.Path, "variable", prefix+k)
				continue
			}
			if err := ins("global_variables", []string{"variable_name", "variable_value"}, name, src[k]); err != nil {
				return n, err
			}
		}
	case "PROXYSQL SERVERS":
		for _, p := range cfg.ProxySQLServers {
			if err := ins("proxysql_servers", []string{"hostname", "port", "weight", "comment"},
				p.Hostname, p.Port, p.Weight, p.Comment); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CanonicalVar returns the stored spelling of a prefixed variable name and
// whether it is known.
func CanonicalVar(name string) (string, bool) {
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, "mysql-"):
		c, ok := runtime.CanonicalMySQLVar(name[len("mysql-"):])
		return "mysql-" + c, ok
	case strings.HasPrefix(lower, "admin-"):
		_, ok := AdminVarDefaults[lower[len("admin-"):]]
		return lower, ok
	}
	return name, false
}
