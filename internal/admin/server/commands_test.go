package server

import "testing"

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"  LOAD   MYSQL\tSERVERS\n TO RUNTIME ;;": "LOAD MYSQL SERVERS TO RUNTIME",
		"select 1;": "select 1",
		" ; ":       "",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// The admin rewrites SELECT @@x, SHOW VARIABLES and SHOW TABLES into the
// queries ProxySQL 2.7.2 runs, quirks included (the differential test
// compares the results with the real binary).
func TestProxySQLRewrites(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT @@mysql-max_connections",
			"SELECT variable_value AS '@@mysql-max_connections' FROM global_variables WHERE variable_name='mysql-max_connections' COLLATE NOCASE UNION ALL SELECT variable_value AS '@@mysql-max_connections' FROM stats.stats_mysql_global WHERE variable_name='mysql-max_connections' COLLATE NOCASE"},
		// ProxySQL glues what follows the name to its query: an error.
		{"SELECT @@admin-version LIMIT 1",
			"SELECT variable_value AS '@@admin-version' FROM global_variables WHERE variable_name='admin-version' COLLATE NOCASE UNION ALL SELECT variable_value AS '@@admin-version' FROM stats.stats_mysql_global WHERE variable_name='admin-version' COLLATE NOCASELIMIT 1"},
		{"select @@max_allowed_packet",
			"SELECT variable_value AS '@@max_allowed_packet' FROM global_variables WHERE variable_name='mysql-max_allowed_packet'"},
		{"SHOW VARIABLES LIKE 'mysql-monitor%'",
			"SELECT variable_name AS Variable_name, variable_value AS Value FROM global_variables WHERE variable_name LIKE 'mysql-monitor%'"},
	} {
		got, ok := rewriteVariableQuery(tc.in)
		if !ok || got != tc.want {
			t.Errorf("rewriteVariableQuery(%q) =\n%q, want\n%q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"SHOW TABLES LIKE 'runtime\\_%'", "SELECT name AS tables FROM sqlite_master WHERE type='table' AND name LIKE 'runtime_%'"},
		{"SHOW TABLES FROM stats", "SELECT name AS tables FROM stats.sqlite_master WHERE type='table' AND name NOT IN ('sqlite_sequence') ORDER BY name"},
		{"show mysql variables", "SELECT variable_name AS Variable_name, variable_value AS Value FROM global_variables WHERE variable_name LIKE 'mysql-%' ORDER BY variable_name"},
	} {
		got, ok := showRewrite(tc.in, "2.7.2")
		if !ok || got != tc.want {
			t.Errorf("showRewrite(%q) =\n%q, want\n%q", tc.in, got, tc.want)
		}
	}
}
