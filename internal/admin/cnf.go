package admin

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"sqlgate/internal/admin/store"
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
		if _, err := a.st.Conn.ExecContext(ctx, q, vals...); err != nil {
			return fmt.Errorf("%s: %s: %s", cfg.Path, table, store.SQLiteMessage(err))
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

// configHeader opens every config file ProxySQL writes.
const configHeader = `########################################################################################
# This config file is parsed using libconfig , and its grammar is described in:
# http://www.hyperrealm.com/libconfig/libconfig_manual.html#Configuration-File-Grammar
# Grammar is also copied at the end of this file
########################################################################################

########################################################################################
# IMPORTANT INFORMATION REGARDING THIS CONFIGURATION FILE:
########################################################################################
# On startup, ProxySQL reads its config file (if present) to determine its datadir.
# What happens next depends on if the database file (disk) is present in the defined
# datadir (i.e. "/var/lib/proxysql/proxysql.db").
#
# If the database file is found, ProxySQL initializes its in-memory configuration from
# the persisted on-disk database. So, disk configuration gets loaded into memory and
# then propagated towards the runtime configuration.
#
# If the database file is not found and a config file exists, the config file is parsed
# and its content is loaded into the in-memory database, to then be both saved on-disk
# database and loaded at runtime.
#
# IMPORTANT: If a database file is found, the config file is NOT parsed. In this case
#            ProxySQL initializes its in-memory configuration from the persisted on-disk
#            database ONLY. In other words, the configuration found in the proxysql.cnf
#            file is only used to initial the on-disk database read on the first startup.
#
# In order to FORCE a re-initialise of the on-disk database from the configuration file
# the ProxySQL service should be started with "service proxysql initial".
#
########################################################################################
`

// cnfSection is one list section of the config file: the table, and its
// columns in order, quoted (strings) or not (numbers).
type cnfSection struct {
	name, table string
	columns     []string
	quoted      []bool
}

// section declares a config file section: the table's columns in
// definition order, VARCHAR ones quoted except those in unquoted.
func section(name, table string, unquoted ...string) cnfSection {
	s := cnfSection{name: name, table: table}
	for _, c := range store.Columns(table) {
		s.columns = append(s.columns, c.Name)
		s.quoted = append(s.quoted, c.Type == "VARCHAR" && !slices.Contains(unquoted, c.Name))
	}
	return s
}

// The sections in the order and with the fields ProxySQL writes them
// (ProxySQL_Config::Write_*_to_configfile): every column of the table,
// strings quoted.
var (
	cnfUsers   = section("mysql_users", "mysql_users")
	cnfRules   = section("mysql_query_rules", "mysql_query_rules")
	cnfServers = []cnfSection{
		section("mysql_servers", "mysql_servers"),
		section("mysql_replication_hostgroups", "mysql_replication_hostgroups"),
		section("mysql_group_replication_hostgroups", "mysql_group_replication_hostgroups"),
		section("mysql_galera_hostgroups", "mysql_galera_hostgroups"),
		section("mysql_aws_aurora_hostgroups", "mysql_aws_aurora_hostgroups"),
	}
	cnfScheduler = section("scheduler", "scheduler")
	// ProxySQL writes the method unquoted.
	cnfRestapi          = section("restapi", "restapi_routes", "method")
	cnfProxySQLServers  = section("proxysql_servers", "proxysql_servers")
	cnfFastRoutingRules = section("mysql_query_rules_fast_routing", "mysql_query_rules_fast_routing")
)

// configFile renders the memory layer as ProxySQL renders it for SELECT
// CONFIG FILE (withRestapi) and SAVE CONFIG TO FILE: its header, the
// variables with a value, and every list section, empty or not. One
// addition: ProxySQL leaves the fast routing rules out, so a file it writes
// loses them; sqlgate writes them when there are some.
func (a *Admin) configFile(ctx context.Context, withRestapi bool) (string, error) {
	var b strings.Builder
	b.WriteString(configHeader)
	r, err := a.st.Query(ctx, "SELECT variable_name, variable_value FROM main.global_variables ORDER BY variable_name")
	if err != nil {
		return "", err
	}
	prefix := ""
	for _, row := range r.Rows {
		name := deref(row[0])
		p, short, _ := strings.Cut(name, "-")
		switch {
		case prefix == "":
			b.WriteString(p + "_variables =\n{\n")
		case p != prefix:
			b.WriteString("}\n\n" + p + "_variables = \n{\n")
		}
		prefix = p
		if v := deref(row[1]); v != "" {
			b.WriteString("\t" + short + "=\"" + v + "\"\n")
		}
	}
	if prefix != "" {
		b.WriteString("}\n")
	}
	sections := []cnfSection{cnfUsers, cnfRules}
	sections = append(sections, cnfServers...)
	sections = append(sections, cnfScheduler)
	if withRestapi {
		sections = append(sections, cnfRestapi)
	}
	sections = append(sections, cnfProxySQLServers)
	for _, sec := range sections {
		if err := a.writeCnfSection(ctx, &b, sec); err != nil {
			return "", err
		}
	}
	var n int
	if err := a.st.Conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM main.mysql_query_rules_fast_routing").Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		if err := a.writeCnfSection(ctx, &b, cnfFastRoutingRules); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// writeCnfSection writes one list section: fields without a value are
// left out, double quotes in values escaped.
func (a *Admin) writeCnfSection(ctx context.Context, b *strings.Builder, sec cnfSection) error {
	r, err := a.st.Query(ctx, "SELECT "+strings.Join(store.QuoteIdents(sec.columns), ", ")+" FROM main."+sec.table)
	if err != nil {
		return err
	}
	b.WriteString(sec.name + ":\n(\n")
	for i, row := range r.Rows {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("\t{\n")
		for j, c := range sec.columns {
			v := deref(row[j])
			if v == "" {
				continue
			}
			v = strings.ReplaceAll(v, `"`, `\"`)
			if sec.quoted[j] {
				v = `"` + v + `"`
			}
			b.WriteString("\t\t" + c + "=" + v + "\n")
		}
		b.WriteString("\t}")
	}
	b.WriteString("\n)\n")
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
