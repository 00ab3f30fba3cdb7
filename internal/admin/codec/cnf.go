package codec

import (
	"context"
	"slices"
	"strings"

	"sqlgate/internal/admin/store"
)

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

// ConfigFile renders the memory layer as ProxySQL renders it for SELECT
// CONFIG FILE (withRestapi) and SAVE CONFIG TO FILE: its header, the
// variables with a value, and every list section, empty or not. One
// addition: ProxySQL leaves the fast routing rules out, so a file it writes
// loses them; sqlgate writes them when there are some.
func ConfigFile(ctx context.Context, st *store.Store, withRestapi bool) (string, error) {
	var b strings.Builder
	b.WriteString(configHeader)
	r, err := st.Query(ctx, "SELECT variable_name, variable_value FROM main.global_variables ORDER BY variable_name")
	if err != nil {
		return "", err
	}
	prefix := ""
	for _, row := range r.Rows {
		name := store.Deref(row[0])
		p, short, _ := strings.Cut(name, "-")
		switch {
		case prefix == "":
			b.WriteString(p + "_variables =\n{\n")
		case p != prefix:
			b.WriteString("}\n\n" + p + "_variables = \n{\n")
		}
		prefix = p
		if v := store.Deref(row[1]); v != "" {
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
		if err := writeSection(ctx, st, &b, sec); err != nil {
			return "", err
		}
	}
	var n int
	if err := st.Conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM main.mysql_query_rules_fast_routing").Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		if err := writeSection(ctx, st, &b, cnfFastRoutingRules); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// writeSection writes one list section: fields without a value are
// left out, double quotes in values escaped.
func writeSection(ctx context.Context, st *store.Store, b *strings.Builder, sec cnfSection) error {
	r, err := st.Query(ctx, "SELECT "+strings.Join(store.QuoteIdents(sec.columns), ", ")+" FROM main."+sec.table)
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
			v := store.Deref(row[j])
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
