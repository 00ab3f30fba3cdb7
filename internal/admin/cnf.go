package admin

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"sqlgate/internal/config"
	"sqlgate/internal/runtime"
)

// cnfToMemory writes the sections of cfg that belong to module m into the
// main schema with INSERT OR REPLACE, as ProxySQL's LOAD ... FROM CONFIG and
// its boot sequence do: rows with the same primary key are replaced, other
// rows are kept. It returns the number of rows written.
func (a *Admin) cnfToMemory(ctx context.Context, cfg *config.Config, m *module) (int, error) {
	n := 0
	ins := func(table string, cols []string, vals ...any) error {
		q := "INSERT OR REPLACE INTO main." + table + " (" + strings.Join(cols, ", ") + ") VALUES (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		if _, err := a.st.conn.ExecContext(ctx, q, vals...); err != nil {
			return fmt.Errorf("%s: %s: %s", cfg.Path, table, sqliteMessage(err))
		}
		n++
		return nil
	}
	switch m.name {
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
			cols := append([]string{"active"}, ruleColumns...)
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
			if err := ins("mysql_query_rules_fast_routing", fastRoutingCols,
				f.Username, f.Schemaname, f.FlagIN, f.DestinationHostgroup, f.Comment); err != nil {
				return n, err
			}
		}
	case "MYSQL VARIABLES", "ADMIN VARIABLES":
		src, prefix := cfg.MySQLVariables, "mysql-"
		if m.name == "ADMIN VARIABLES" {
			src, prefix = cfg.AdminVariables, "admin-"
		}
		names := make([]string, 0, len(src))
		for k := range src {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			name, ok := canonicalVar(prefix + k)
			if !ok {
				a.log.Warn("config: unknown variable ignored", "file", cfg.Path, "variable", prefix+k)
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

// canonicalVar returns the stored spelling of a prefixed variable name and
// whether it is known.
func canonicalVar(name string) (string, bool) {
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, "mysql-"):
		c, ok := runtime.CanonicalMySQLVar(name[len("mysql-"):])
		return "mysql-" + c, ok
	case strings.HasPrefix(lower, "admin-"):
		_, ok := adminVarDefaults[lower[len("admin-"):]]
		return lower, ok
	}
	return name, false
}

// configFile renders the memory layer as a proxysql.cnf (SELECT CONFIG FILE,
// SAVE CONFIG TO FILE).
func (a *Admin) configFile(ctx context.Context) (string, error) {
	var b strings.Builder
	b.WriteString("datadir=" + strconv.Quote(a.datadir) + "\n")
	for _, sec := range []struct{ name, prefix string }{{"admin_variables", "admin-"}, {"mysql_variables", "mysql-"}} {
		r, err := a.st.query(ctx, "SELECT variable_name, variable_value FROM main.global_variables WHERE variable_name LIKE ? ORDER BY variable_name", sec.prefix+"%")
		if err != nil {
			return "", err
		}
		b.WriteString(sec.name + "=\n{\n")
		for _, row := range r.rows {
			fmt.Fprintf(&b, "\t%s=%s\n", strings.TrimPrefix(*row[0], sec.prefix), strconv.Quote(deref(row[1])))
		}
		b.WriteString("}\n")
	}
	for _, t := range []struct{ table, order string }{
		{"mysql_users", "username, backend"},
		{"mysql_query_rules", "rule_id"},
		{"mysql_query_rules_fast_routing", "username, schemaname, flagIN"},
		{"mysql_servers", "hostgroup_id, hostname, port"},
		{"mysql_replication_hostgroups", "writer_hostgroup"},
		{"scheduler", "id"},
		{"proxysql_servers", "hostname, port"},
	} {
		r, err := a.st.query(ctx, "SELECT * FROM main."+t.table+" ORDER BY "+t.order)
		if err != nil {
			return "", err
		}
		if len(r.rows) == 0 {
			continue
		}
		b.WriteString(t.table + "=\n(\n")
		for i, row := range r.rows {
			b.WriteString("\t{\n")
			for j, c := range r.cols {
				if row[j] == nil {
					continue
				}
				v := *row[j]
				if _, err := strconv.ParseInt(v, 10, 64); err == nil && !isTextColumn(c) {
					fmt.Fprintf(&b, "\t\t%s=%s\n", c, v)
				} else {
					fmt.Fprintf(&b, "\t\t%s=%s\n", c, strconv.Quote(v))
				}
			}
			if i < len(r.rows)-1 {
				b.WriteString("\t},\n")
			} else {
				b.WriteString("\t}\n")
			}
		}
		b.WriteString(")\n")
	}
	return b.String(), nil
}

// isTextColumn lists VARCHAR columns whose values may look like numbers.
func isTextColumn(c string) bool {
	switch c {
	case "username", "password", "hostname", "comment", "default_schema", "schemaname", "digest", "match_digest",
		"match_pattern", "replace_pattern", "error_msg", "OK_msg", "attributes", "client_addr", "proxy_addr",
		"filename", "arg1", "arg2", "arg3", "arg4", "arg5", "re_modifiers", "status", "check_type":
		return true
	}
	return false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
