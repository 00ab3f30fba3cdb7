package codec

import (
	"fmt"
	"strconv"
	"strings"
)

// AdminVarDefaults are ProxySQL 2.7's admin-* variables (without the
// prefix) and compiled defaults. admin-version is filled in at start.
var AdminVarDefaults = map[string]string{
	"admin_credentials":                           "admin:admin",
	"stats_credentials":                           "stats:stats",
	"stats_mysql_connections":                     "60",
	"stats_mysql_connection_pool":                 "60",
	"stats_mysql_query_cache":                     "60",
	"stats_mysql_query_digest_to_disk":            "0",
	"stats_system_cpu":                            "60",
	"stats_system_memory":                         "60",
	"mysql_ifaces":                                "0.0.0.0:6032",
	"telnet_admin_ifaces":                         "(null)", // ProxySQL prints its NULL pointer
	"telnet_stats_ifaces":                         "(null)",
	"refresh_interval":                            "2000",
	"read_only":                                   "false",
	"vacuum_stats":                                "true",
	"version":                                     "",
	"cluster_username":                            "",
	"cluster_password":                            "",
	"cluster_check_interval_ms":                   "1000",
	"cluster_check_status_frequency":              "10",
	"cluster_mysql_query_rules_diffs_before_sync": "3",
	"cluster_mysql_servers_diffs_before_sync":     "3",
	"cluster_mysql_users_diffs_before_sync":       "3",
	"cluster_proxysql_servers_diffs_before_sync":  "3",
	"cluster_mysql_variables_diffs_before_sync":   "3",
	"cluster_admin_variables_diffs_before_sync":   "3",
	"cluster_ldap_variables_diffs_before_sync":    "3",
	"cluster_mysql_query_rules_save_to_disk":      "true",
	"cluster_mysql_servers_save_to_disk":          "true",
	"cluster_mysql_users_save_to_disk":            "true",
	"cluster_proxysql_servers_save_to_disk":       "true",
	"cluster_mysql_variables_save_to_disk":        "true",
	"cluster_admin_variables_save_to_disk":        "true",
	"cluster_ldap_variables_save_to_disk":         "true",
	"cluster_mysql_servers_sync_algorithm":        "1",
	"checksum_mysql_query_rules":                  "true",
	"checksum_mysql_servers":                      "true",
	"checksum_mysql_users":                        "true",
	"checksum_mysql_variables":                    "true",
	"checksum_admin_variables":                    "true",
	"checksum_ldap_variables":                     "true",
	"restapi_enabled":                             "false",
	"restapi_port":                                "6070",
	"web_enabled":                                 "false",
	"web_port":                                    "6080",
	"web_verbosity":                               "0",
	"prometheus_memory_metrics_interval":          "61",
	"coredump_generation_interval_ms":             "30000",
	"coredump_generation_threshold":               "10",
	"ssl_keylog_file":                             "",
}

// adminVarRanges are the integer admin variables and their ranges.
var adminVarRanges = map[string][2]int{
	"stats_mysql_connections": {0, 300}, "stats_mysql_connection_pool": {0, 300}, "stats_mysql_query_cache": {0, 300},
	"stats_mysql_query_digest_to_disk": {0, 24 * 3600}, "stats_system_cpu": {0, 600}, "stats_system_memory": {0, 600},
	"refresh_interval": {100, 100000}, "cluster_check_interval_ms": {10, 300000}, "cluster_check_status_frequency": {0, 10000},
	"cluster_mysql_query_rules_diffs_before_sync": {0, 1000}, "cluster_mysql_servers_diffs_before_sync": {0, 1000},
	"cluster_mysql_users_diffs_before_sync": {0, 1000}, "cluster_proxysql_servers_diffs_before_sync": {0, 1000},
	"cluster_mysql_variables_diffs_before_sync": {0, 1000}, "cluster_admin_variables_diffs_before_sync": {0, 1000},
	"cluster_ldap_variables_diffs_before_sync": {0, 1000}, "cluster_mysql_servers_sync_algorithm": {1, 3},
	"restapi_port": {1, 65535}, "web_port": {1, 65535}, "web_verbosity": {0, 10},
	"prometheus_memory_metrics_interval": {0, 7 * 24 * 3600}, "coredump_generation_interval_ms": {0, 1<<31 - 1},
	"coredump_generation_threshold": {1, 500},
}

// AdminVars are the validated admin-* variables.
type AdminVars struct {
	Credentials      map[string]string // admin-admin_credentials: user → password
	StatsCredentials map[string]string // admin-stats_credentials
	MySQLIfaces      string
	ReadOnly         bool
	// Raw holds every variable (without prefix) in canonical spelling.
	Raw map[string]string
}

// ParseAdminVars validates raw (names without the "admin-" prefix). The
// error names the variable and the rule it breaks.
func ParseAdminVars(raw map[string]string, version string) (*AdminVars, error) {
	v := &AdminVars{Raw: map[string]string{}}
	for k, d := range AdminVarDefaults {
		v.Raw[k] = d
	}
	v.Raw["version"] = version
	for k, val := range raw {
		k = strings.ToLower(k)
		def, ok := AdminVarDefaults[k]
		if !ok {
			return nil, fmt.Errorf("global_variables row admin-%s: unknown variable", k)
		}
		if k == "version" {
			continue // read-only: always the running version
		}
		if r, ok := adminVarRanges[k]; ok {
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				return nil, fmt.Errorf("global_variables row admin-%s: expected an integer, got %q", k, val)
			}
			if n < r[0] || n > r[1] {
				return nil, fmt.Errorf("global_variables row admin-%s: value %d is out of range [%d, %d]", k, n, r[0], r[1])
			}
			val = strconv.Itoa(n)
		} else if def == "true" || def == "false" {
			c := canonicalBool(val)
			if c == "" {
				return nil, fmt.Errorf("global_variables row admin-%s: expected true or false, got %q", k, val)
			}
			val = c
		}
		v.Raw[k] = val
	}
	var err error
	if v.Credentials, err = parseCredentials("admin_credentials", v.Raw["admin_credentials"]); err != nil {
		return nil, err
	}
	if v.StatsCredentials, err = parseCredentials("stats_credentials", v.Raw["stats_credentials"]); err != nil {
		return nil, err
	}
	for u := range v.StatsCredentials {
		if _, dup := v.Credentials[u]; dup {
			return nil, fmt.Errorf("global_variables row admin-stats_credentials: user %q is also in admin-admin_credentials", u)
		}
	}
	if cu := v.Raw["cluster_username"]; cu != "" {
		if pw, ok := v.Credentials[cu]; !ok || pw != v.Raw["cluster_password"] {
			return nil, fmt.Errorf("global_variables row admin-cluster_username: %q with admin-cluster_password must also be listed in admin-admin_credentials (peers log in with it)", cu)
		}
	}
	v.MySQLIfaces = v.Raw["mysql_ifaces"]
	if strings.TrimSpace(v.MySQLIfaces) == "" {
		return nil, fmt.Errorf("global_variables row admin-mysql_ifaces: must not be empty")
	}
	v.ReadOnly = v.Raw["read_only"] == "true"
	return v, nil
}

func parseCredentials(name, s string) (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range strings.Split(s, ";") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		user, pw, ok := strings.Cut(pair, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("global_variables row admin-%s: %q is not user:password", name, pair)
		}
		m[user] = pw
	}
	return m, nil
}

func canonicalBool(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "on", "yes":
		return "true"
	case "false", "0", "off", "no":
		return "false"
	}
	return ""
}
