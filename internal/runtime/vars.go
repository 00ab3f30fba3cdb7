package runtime

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MySQLVars are the mysql-* variables the data path reads, typed and
// validated. Names and defaults are ProxySQL 2.7's compiled defaults except
// where a comment says otherwise.
type MySQLVars struct {
	Interfaces                  string
	MaxConnections              int
	ServerVersion               string
	DefaultSchema               string
	DefaultAuthenticationPlugin string
	HaveSSL                     bool
	ConnectTimeoutClient        time.Duration
	ConnectTimeoutServer        time.Duration
	ConnectTimeoutServerMax     time.Duration
	ConnectRetriesOnFailure     int
	ConnectRetriesDelay         time.Duration
	PollTimeoutOnFailure        time.Duration
	QueryRetriesOnFailure       int
	FreeConnectionsPct          int
	PingIntervalServer          time.Duration
	PingTimeoutServer           time.Duration
	Multiplexing                bool
	AutoIncrementDelayMultiplex int
	KeepMultiplexingVariables   []string
	MaxAllowedPacket            int
	MaxStmtsPerConnection       int
	EnableClientDeprecateEOF    bool
	EnableServerDeprecateEOF    bool
	// EnableLoadDataLocalInfile defaults to true in sqlgate: the client's
	// file is relayed to the backend as MySQL does. (ProxySQL defaults to
	// false and, when enabled, reads the file on the proxy host.)
	EnableLoadDataLocalInfile bool
	WaitTimeout               time.Duration
	// Raw holds every variable as configured (with defaults), for the admin
	// interface.
	Raw map[string]string
}

type varSpec struct {
	def   string
	apply func(v *MySQLVars, s string) error
}

func intVar(min, max int, set func(*MySQLVars, int)) func(*MySQLVars, string) error {
	return func(v *MySQLVars, s string) error {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("expected an integer, got %q", s)
		}
		if n < min || n > max {
			return fmt.Errorf("value %d out of range [%d, %d]", n, min, max)
		}
		set(v, n)
		return nil
	}
}

func msVar(min, max int, set func(*MySQLVars, time.Duration)) func(*MySQLVars, string) error {
	return intVar(min, max, func(v *MySQLVars, n int) { set(v, time.Duration(n)*time.Millisecond) })
}

func boolVar(set func(*MySQLVars, bool)) func(*MySQLVars, string) error {
	return func(v *MySQLVars, s string) error {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "on", "yes":
			set(v, true)
		case "false", "0", "off", "no":
			set(v, false)
		default:
			return fmt.Errorf("expected true or false, got %q", s)
		}
		return nil
	}
}

func strVar(set func(*MySQLVars, string)) func(*MySQLVars, string) error {
	return func(v *MySQLVars, s string) error { set(v, s); return nil }
}

// mysqlVarSpecs lists the variables the data path implements.
var mysqlVarSpecs = map[string]varSpec{
	"interfaces":                     {"0.0.0.0:6033", strVar(func(v *MySQLVars, s string) { v.Interfaces = s })},
	"max_connections":                {"10000", intVar(1, 1000000, func(v *MySQLVars, n int) { v.MaxConnections = n })},
	"server_version":                 {"8.0.11", strVar(func(v *MySQLVars, s string) { v.ServerVersion = s })},
	"default_schema":                 {"information_schema", strVar(func(v *MySQLVars, s string) { v.DefaultSchema = s })},
	"have_ssl":                       {"true", boolVar(func(v *MySQLVars, b bool) { v.HaveSSL = b })},
	"connect_timeout_client":         {"10000", msVar(500, 3600000, func(v *MySQLVars, d time.Duration) { v.ConnectTimeoutClient = d })},
	"connect_timeout_server":         {"1000", msVar(10, 120000, func(v *MySQLVars, d time.Duration) { v.ConnectTimeoutServer = d })},
	"connect_timeout_server_max":     {"10000", msVar(10, 3600000, func(v *MySQLVars, d time.Duration) { v.ConnectTimeoutServerMax = d })},
	"connect_retries_on_failure":     {"10", intVar(0, 1000, func(v *MySQLVars, n int) { v.ConnectRetriesOnFailure = n })},
	"connect_retries_delay":          {"1", msVar(0, 10000, func(v *MySQLVars, d time.Duration) { v.ConnectRetriesDelay = d })},
	"poll_timeout_on_failure":        {"100", msVar(10, 20000, func(v *MySQLVars, d time.Duration) { v.PollTimeoutOnFailure = d })},
	"query_retries_on_failure":       {"1", intVar(0, 1000, func(v *MySQLVars, n int) { v.QueryRetriesOnFailure = n })},
	"free_connections_pct":           {"10", intVar(0, 100, func(v *MySQLVars, n int) { v.FreeConnectionsPct = n })},
	"ping_interval_server_msec":      {"10000", msVar(1000, 7*24*3600*1000, func(v *MySQLVars, d time.Duration) { v.PingIntervalServer = d })},
	"ping_timeout_server":            {"200", msVar(10, 600000, func(v *MySQLVars, d time.Duration) { v.PingTimeoutServer = d })},
	"multiplexing":                   {"true", boolVar(func(v *MySQLVars, b bool) { v.Multiplexing = b })},
	"auto_increment_delay_multiplex": {"5", intVar(0, 1000000, func(v *MySQLVars, n int) { v.AutoIncrementDelayMultiplex = n })},
	"keep_multiplexing_variables": {"tx_isolation,transaction_isolation,version", strVar(func(v *MySQLVars, s string) {
		v.KeepMultiplexingVariables = nil
		for _, f := range strings.Split(s, ",") {
			if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
				v.KeepMultiplexingVariables = append(v.KeepMultiplexingVariables, f)
			}
		}
	})},
	"max_allowed_packet":            {"67108864", intVar(8192, 1<<30, func(v *MySQLVars, n int) { v.MaxAllowedPacket = n })},
	"max_stmts_per_connection":      {"20", intVar(1, 1024, func(v *MySQLVars, n int) { v.MaxStmtsPerConnection = n })},
	"enable_client_deprecate_eof":   {"true", boolVar(func(v *MySQLVars, b bool) { v.EnableClientDeprecateEOF = b })},
	"enable_server_deprecate_eof":   {"true", boolVar(func(v *MySQLVars, b bool) { v.EnableServerDeprecateEOF = b })},
	"enable_load_data_local_infile": {"true", boolVar(func(v *MySQLVars, b bool) { v.EnableLoadDataLocalInfile = b })},
	"wait_timeout":                  {"28800000", msVar(0, 20*24*3600*1000, func(v *MySQLVars, d time.Duration) { v.WaitTimeout = d })},
	"default_authentication_plugin": {"mysql_native_password", func(v *MySQLVars, s string) error {
		if s != "mysql_native_password" && s != "caching_sha2_password" {
			return fmt.Errorf("expected mysql_native_password or caching_sha2_password, got %q", s)
		}
		v.DefaultAuthenticationPlugin = s
		return nil
	}},
}

// knownMySQLVars are ProxySQL variables that sqlgate accepts and keeps (for
// the admin interface and later issues) but whose behaviour is not
// implemented by the data path yet.
var knownMySQLVars = strings.Fields(`threads stacksize server_capabilities shun_on_failures shun_recovery_time_sec
unshun_algorithm connection_max_age_ms connection_warming throttle_connections_per_sec_to_hostgroup
connection_delay_multiplex_ms auto_increment_delay_multiplex_timeout_ms set_query_lock_on_hostgroup
reset_connection_algorithm connpoll_reset_queue_length autocommit_false_is_transaction
autocommit_false_not_reusable enforce_autocommit_on_reads max_transaction_idle_time max_transaction_time
default_query_timeout default_query_delay threshold_query_length threshold_resultset_size max_stmts_cache
default_max_latency_ms poll_timeout query_digests query_digests_max_digest_length query_digests_max_query_length
query_digests_grouping_limit query_digests_groups_grouping_limit query_digests_lowercase query_digests_replace_null
query_digests_no_digits query_digests_keep_comment query_digests_normalize_digest_text query_digests_track_hostname
query_processor_regex query_processor_iterations query_rules_fast_routing_algorithm query_cache_size_mb
query_cache_soft_ttl_pct query_cache_stores_empty_result mirror_max_concurrency mirror_max_queue_length
commands_stats long_query_time init_connect handle_warnings kill_backend_connection_when_disconnect
use_tcp_keepalive tcp_keepalive_time monitor_enabled monitor_username monitor_password monitor_connect_interval
monitor_connect_timeout monitor_ping_interval monitor_ping_timeout monitor_ping_max_failures
monitor_read_only_interval monitor_read_only_timeout monitor_read_only_max_timeout_count
monitor_replication_lag_interval monitor_replication_lag_timeout monitor_replication_lag_count
monitor_slave_lag_when_null monitor_writer_is_also_reader monitor_history monitor_threads_min monitor_threads_max
monitor_threads_queue_maxsize monitor_galera_healthcheck_interval monitor_galera_healthcheck_timeout
monitor_replication_lag_use_percona_heartbeat monitor_replication_lag_group_by_host monitor_wait_timeout
monitor_local_dns_cache_ttl monitor_local_dns_cache_refresh_interval monitor_groupreplication_healthcheck_interval
monitor_groupreplication_healthcheck_timeout eventslog_filename eventslog_format eventslog_default_log
eventslog_filesize auditlog_filename auditlog_filesize hostgroup_manager_verbose have_compress
default_charset default_collation_connection default_sql_mode default_time_zone default_tx_isolation
default_session_track_gtids sessions_sort client_found_rows interfaces_ipv6 show_processlist_extended
verbose_query_error stats_time_backend_query stats_time_query_processor session_idle_ms
session_idle_show_processlist ssl_p2s_ca ssl_p2s_cert ssl_p2s_key ssl_p2s_cipher ssl_p2s_capath ssl_p2s_crl
ssl_p2s_crlpath default_query_digests throttle_max_bytes_per_second_to_client throttle_ratio_server_to_client
query_cache_handle_warnings log_unhealthy_connections log_mysql_warnings_enabled binlog_reader_connect_retry_msec
forward_autocommit firewall_whitelist_enabled firewall_whitelist_errormsg min_num_servers_lantency_awareness
evaluate_replication_lag_on_servers_load ldap_user_variable add_ldap_user_comment proxy_protocol_networks
max_stmts_per_connection set_parser_algorithm data_packets_history_size handle_unknown_charset
protocol_compression_level processlist_filter monitor_ping_max_failures monitor_aws_rds_topology_discovery_interval
monitor_dns_cache_queue_maxsize monitor_dns_cache_ttl`)

// ParseMySQLVars validates raw (names without the "mysql-" prefix) and
// returns the typed variables. Unknown names are returned as warnings; an
// invalid value of an implemented variable is an error naming it.
func ParseMySQLVars(raw map[string]string) (*MySQLVars, []string, error) {
	v := &MySQLVars{Raw: map[string]string{}}
	for name, spec := range mysqlVarSpecs {
		if err := spec.apply(v, spec.def); err != nil {
			return nil, nil, fmt.Errorf("mysql-%s: bad default: %v", name, err)
		}
		v.Raw[name] = spec.def
	}
	var warnings []string
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		val := raw[name]
		key := strings.ToLower(name)
		if spec, ok := mysqlVarSpecs[key]; ok {
			if err := spec.apply(v, val); err != nil {
				return nil, nil, fmt.Errorf("mysql-%s: %v", key, err)
			}
			v.Raw[key] = val
			continue
		}
		if !slices.Contains(knownMySQLVars, key) {
			warnings = append(warnings, fmt.Sprintf("unknown variable mysql-%s ignored", key))
		}
		v.Raw[key] = val
	}
	if v.ConnectTimeoutServerMax < v.ConnectTimeoutServer {
		return nil, nil, fmt.Errorf("mysql-connect_timeout_server_max (%d) must not be lower than mysql-connect_timeout_server (%d)",
			v.ConnectTimeoutServerMax.Milliseconds(), v.ConnectTimeoutServer.Milliseconds())
	}
	return v, warnings, nil
}
