package runtime

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"sqlgate/internal/tlsfiles"
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
	// EnableLoadDataLocalInfile defaults to false, as in ProxySQL: LOAD
	// DATA LOCAL INFILE is refused with ProxySQL's error. When true, the
	// client's file is relayed to the backend as MySQL does (ProxySQL
	// reads a file on the proxy host instead).
	EnableLoadDataLocalInfile bool
	WaitTimeout               time.Duration

	DefaultQueryDelay   time.Duration // mysql-default_query_delay
	DefaultQueryTimeout time.Duration // mysql-default_query_timeout

	QueryCacheSizeMB            int  // mysql-query_cache_size_MB
	QueryCacheSoftTTLPct        int  // mysql-query_cache_soft_ttl_pct
	QueryCacheHandleWarnings    bool // mysql-query_cache_handle_warnings
	QueryCacheStoresEmptyResult bool // mysql-query_cache_stores_empty_result
	ThresholdResultsetSize      int  // mysql-threshold_resultset_size: largest result the cache buffers
	MirrorMaxConcurrency        int
	MirrorMaxQueueLength        int
	EventslogFilename           string
	EventslogFilesize           int64
	EventslogDefaultLog         bool
	EventslogFormat             int

	// SSLP2S are the mysql-ssl_p2s_* variables; SSLP2SConfig the
	// configuration read from their files at LOAD (nil: none set).
	SSLP2S       tlsfiles.Files
	SSLP2SConfig *tls.Config

	ShunOnFailures   int           // mysql-shun_on_failures
	ShunRecoveryTime time.Duration // mysql-shun_recovery_time_sec
	Monitor          MonitorVars

	// Raw holds every variable as configured (with defaults), for the admin
	// interface.
	Raw map[string]string
}

// MonitorVars are the mysql-monitor_* variables.
type MonitorVars struct {
	Enabled                 bool
	Username, Password      string
	History                 time.Duration
	ConnectInterval         time.Duration
	ConnectTimeout          time.Duration
	PingInterval            time.Duration
	PingTimeout             time.Duration
	PingMaxFailures         int
	ReadOnlyInterval        time.Duration
	ReadOnlyTimeout         time.Duration
	ReadOnlyMaxTimeoutCount int
	ReplicationLagInterval  time.Duration
	ReplicationLagTimeout   time.Duration
	ReplicationLagCount     int
	ReplicationLagHeartbeat string // monitor_replication_lag_use_percona_heartbeat: table name, "" = SHOW SLAVE STATUS
	SlaveLagWhenNull        int    // seconds
	WriterIsAlsoReader      bool
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

// week is the upper bound of ProxySQL's monitor intervals, in ms.
const week = 7 * 24 * 3600 * 1000

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
	"max_allowed_packet":                  {"67108864", intVar(8192, 1<<30, func(v *MySQLVars, n int) { v.MaxAllowedPacket = n })},
	"max_stmts_per_connection":            {"20", intVar(1, 1024, func(v *MySQLVars, n int) { v.MaxStmtsPerConnection = n })},
	"enable_client_deprecate_eof":         {"true", boolVar(func(v *MySQLVars, b bool) { v.EnableClientDeprecateEOF = b })},
	"enable_server_deprecate_eof":         {"true", boolVar(func(v *MySQLVars, b bool) { v.EnableServerDeprecateEOF = b })},
	"enable_load_data_local_infile":       {"false", boolVar(func(v *MySQLVars, b bool) { v.EnableLoadDataLocalInfile = b })},
	"wait_timeout":                        {"28800000", msVar(0, 20*24*3600*1000, func(v *MySQLVars, d time.Duration) { v.WaitTimeout = d })},
	"default_query_delay":                 {"0", msVar(0, 3600*1000, func(v *MySQLVars, d time.Duration) { v.DefaultQueryDelay = d })},
	"default_query_timeout":               {"86400000", msVar(1000, 20*24*3600*1000, func(v *MySQLVars, d time.Duration) { v.DefaultQueryTimeout = d })},
	"query_cache_size_MB":                 {"256", intVar(0, 1024*10240, func(v *MySQLVars, n int) { v.QueryCacheSizeMB = n })},
	"query_cache_soft_ttl_pct":            {"0", intVar(0, 100, func(v *MySQLVars, n int) { v.QueryCacheSoftTTLPct = n })},
	"query_cache_handle_warnings":         {"0", intVar(0, 1, func(v *MySQLVars, n int) { v.QueryCacheHandleWarnings = n == 1 })},
	"query_cache_stores_empty_result":     {"true", boolVar(func(v *MySQLVars, b bool) { v.QueryCacheStoresEmptyResult = b })},
	"threshold_resultset_size":            {"4194304", intVar(1024, 1<<30, func(v *MySQLVars, n int) { v.ThresholdResultsetSize = n })},
	"mirror_max_concurrency":              {"16", intVar(1, 8*1024, func(v *MySQLVars, n int) { v.MirrorMaxConcurrency = n })},
	"mirror_max_queue_length":             {"32000", intVar(0, 1024*1024, func(v *MySQLVars, n int) { v.MirrorMaxQueueLength = n })},
	"eventslog_filename":                  {"", strVar(func(v *MySQLVars, s string) { v.EventslogFilename = s })},
	"eventslog_filesize":                  {"104857600", intVar(1024*1024, 1<<30, func(v *MySQLVars, n int) { v.EventslogFilesize = int64(n) })},
	"eventslog_default_log":               {"0", intVar(0, 1, func(v *MySQLVars, n int) { v.EventslogDefaultLog = n == 1 })},
	"eventslog_format":                    {"1", intVar(1, 2, func(v *MySQLVars, n int) { v.EventslogFormat = n })},
	"shun_on_failures":                    {"5", intVar(0, 10000000, func(v *MySQLVars, n int) { v.ShunOnFailures = n })},
	"shun_recovery_time_sec":              {"10", intVar(0, 3600*24*365, func(v *MySQLVars, n int) { v.ShunRecoveryTime = time.Duration(n) * time.Second })},
	"monitor_enabled":                     {"true", boolVar(func(v *MySQLVars, b bool) { v.Monitor.Enabled = b })},
	"monitor_username":                    {"monitor", strVar(func(v *MySQLVars, s string) { v.Monitor.Username = s })},
	"monitor_password":                    {"monitor", strVar(func(v *MySQLVars, s string) { v.Monitor.Password = s })},
	"monitor_history":                     {"7200000", msVar(1000, week, func(v *MySQLVars, d time.Duration) { v.Monitor.History = d })},
	"monitor_connect_interval":            {"120000", msVar(100, week, func(v *MySQLVars, d time.Duration) { v.Monitor.ConnectInterval = d })},
	"monitor_connect_timeout":             {"600", msVar(100, 600000, func(v *MySQLVars, d time.Duration) { v.Monitor.ConnectTimeout = d })},
	"monitor_ping_interval":               {"8000", msVar(100, week, func(v *MySQLVars, d time.Duration) { v.Monitor.PingInterval = d })},
	"monitor_ping_timeout":                {"1000", msVar(100, 600000, func(v *MySQLVars, d time.Duration) { v.Monitor.PingTimeout = d })},
	"monitor_ping_max_failures":           {"3", intVar(1, 1000000, func(v *MySQLVars, n int) { v.Monitor.PingMaxFailures = n })},
	"monitor_read_only_interval":          {"1000", msVar(100, week, func(v *MySQLVars, d time.Duration) { v.Monitor.ReadOnlyInterval = d })},
	"monitor_read_only_timeout":           {"800", msVar(100, 600000, func(v *MySQLVars, d time.Duration) { v.Monitor.ReadOnlyTimeout = d })},
	"monitor_read_only_max_timeout_count": {"3", intVar(1, 1000000, func(v *MySQLVars, n int) { v.Monitor.ReadOnlyMaxTimeoutCount = n })},
	"monitor_replication_lag_interval":    {"10000", msVar(100, week, func(v *MySQLVars, d time.Duration) { v.Monitor.ReplicationLagInterval = d })},
	"monitor_replication_lag_timeout":     {"1000", msVar(100, 600000, func(v *MySQLVars, d time.Duration) { v.Monitor.ReplicationLagTimeout = d })},
	"monitor_replication_lag_count":       {"1", intVar(1, 10, func(v *MySQLVars, n int) { v.Monitor.ReplicationLagCount = n })},
	"monitor_replication_lag_use_percona_heartbeat": {"", func(v *MySQLVars, s string) error {
		// It goes into a query: accept only a (schema.)table name.
		for _, c := range s {
			if !(c == '_' || c == '.' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return fmt.Errorf("expected a table name such as percona.heartbeat, got %q", s)
			}
		}
		v.Monitor.ReplicationLagHeartbeat = s
		return nil
	}},
	// Backend TLS (use_ssl=1). ProxySQL's defaults are NULL, shown as ''.
	"ssl_p2s_ca":                    {"", strVar(func(v *MySQLVars, s string) { v.SSLP2S.CA = s })},
	"ssl_p2s_capath":                {"", strVar(func(v *MySQLVars, s string) { v.SSLP2S.CAPath = s })},
	"ssl_p2s_cert":                  {"", strVar(func(v *MySQLVars, s string) { v.SSLP2S.Cert = s })},
	"ssl_p2s_key":                   {"", strVar(func(v *MySQLVars, s string) { v.SSLP2S.Key = s })},
	"ssl_p2s_cipher":                {"", strVar(func(v *MySQLVars, s string) { v.SSLP2S.Cipher = s })},
	"ssl_p2s_crl":                   {"", strVar(func(v *MySQLVars, s string) { v.SSLP2S.CRL = s })},
	"ssl_p2s_crlpath":               {"", strVar(func(v *MySQLVars, s string) { v.SSLP2S.CRLPath = s })},
	"monitor_slave_lag_when_null":   {"60", intVar(0, 604800, func(v *MySQLVars, n int) { v.Monitor.SlaveLagWhenNull = n })},
	"monitor_writer_is_also_reader": {"true", boolVar(func(v *MySQLVars, b bool) { v.Monitor.WriterIsAlsoReader = b })},
	"default_authentication_plugin": {"mysql_native_password", func(v *MySQLVars, s string) error {
		if s != "mysql_native_password" && s != "caching_sha2_password" {
			return fmt.Errorf("expected mysql_native_password or caching_sha2_password, got %q", s)
		}
		v.DefaultAuthenticationPlugin = s
		return nil
	}},
}

// noEffectNeeded are variables that need no implementation in sqlgate:
// they tune ProxySQL internals that sqlgate does not have (its thread
// model, allocator, poll loop), so a non-default value is not worth a
// warning.
var noEffectNeeded = map[string]bool{
	"threads": true, "stacksize": true, "poll_timeout": true, "threshold_query_length": true,
	"session_idle_ms": true, "monitor_threads_min": true, "monitor_threads_max": true,
	"monitor_threads_queue_maxsize": true, "server_capabilities": true,
}

// knownMySQLVars are ProxySQL 2.7 variables, with its compiled defaults,
// that sqlgate accepts and keeps (for the admin interface and later issues)
// but whose behaviour the data path does not implement yet.
var knownMySQLVars = map[string]string{
	"threads":                                                "4",
	"stacksize":                                              "1048576",
	"server_capabilities":                                    "569867",
	"unshun_algorithm":                                       "0",
	"client_host_cache_size":                                 "0",
	"client_host_error_counts":                               "0",
	"connection_delay_multiplex_ms":                          "0",
	"connection_max_age_ms":                                  "0",
	"connection_warming":                                     "false",
	"session_idle_ms":                                        "1",
	"have_compress":                                          "true",
	"handle_unknown_charset":                                 "1",
	"auditlog_filename":                                      "",
	"auditlog_filesize":                                      "104857600",
	"log_mysql_warnings_enabled":                             "false",
	"monitor_aws_rds_topology_discovery_interval":            "0",
	"monitor_replication_lag_group_by_host":                  "false",
	"monitor_groupreplication_healthcheck_interval":          "5000",
	"monitor_groupreplication_healthcheck_timeout":           "800",
	"monitor_groupreplication_healthcheck_max_timeout_count": "3",
	"monitor_groupreplication_max_transactions_behind_count": "3",
	"monitor_groupreplication_max_transactions_behind_for_read_only": "1",
	"monitor_galera_healthcheck_interval":                            "5000",
	"monitor_galera_healthcheck_timeout":                             "800",
	"monitor_galera_healthcheck_max_timeout_count":                   "3",
	"monitor_query_interval":                                         "60000",
	"monitor_query_timeout":                                          "100",
	"monitor_threads_min":                                            "8",
	"monitor_threads_max":                                            "128",
	"monitor_threads_queue_maxsize":                                  "128",
	"monitor_local_dns_cache_ttl":                                    "300000",
	"monitor_local_dns_cache_refresh_interval":                       "60000",
	"monitor_local_dns_resolver_queue_maxsize":                       "128",
	"monitor_wait_timeout":                                           "true",
	"tcp_keepalive_time":                                             "120",
	"use_tcp_keepalive":                                              "true",
	"automatic_detect_sqli":                                          "false",
	"firewall_whitelist_enabled":                                     "false",
	"firewall_whitelist_errormsg":                                    "Firewall blocked this query",
	"throttle_connections_per_sec_to_hostgroup":                      "1000000",
	"max_transaction_idle_time":                                      "14400000",
	"max_transaction_time":                                           "14400000",
	"log_unhealthy_connections":                                      "true",
	"enforce_autocommit_on_reads":                                    "false",
	"autocommit_false_not_reusable":                                  "false",
	"autocommit_false_is_transaction":                                "false",
	"verbose_query_error":                                            "false",
	"hostgroup_manager_verbose":                                      "1",
	"binlog_reader_connect_retry_msec":                               "3000",
	"threshold_query_length":                                         "524288",
	"query_digests_max_digest_length":                                "2048",
	"query_digests_max_query_length":                                 "65000",
	"query_digests_grouping_limit":                                   "3",
	"query_digests_groups_grouping_limit":                            "10",
	"query_rules_fast_routing_algorithm":                             "1",
	"throttle_max_bytes_per_second_to_client":                        "0",
	"throttle_ratio_server_to_client":                                "0",
	"max_stmts_cache":                                                "10000",
	"default_max_latency_ms":                                         "1000",
	"query_processor_iterations":                                     "0",
	"query_processor_regex":                                          "1",
	"set_query_lock_on_hostgroup":                                    "1",
	"set_parser_algorithm":                                           "2",
	"reset_connection_algorithm":                                     "2",
	"auto_increment_delay_multiplex_timeout_ms":                      "10000",
	"long_query_time":                                                "1000",
	"poll_timeout":                                                   "2000",
	"kill_backend_connection_when_disconnect":                        "true",
	"client_session_track_gtid":                                      "true",
	"sessions_sort":                                                  "true",
	"session_idle_show_processlist":                                  "true",
	"show_processlist_extended":                                      "0",
	"commands_stats":                                                 "true",
	"query_digests":                                                  "true",
	"query_digests_lowercase":                                        "false",
	"query_digests_replace_null":                                     "false",
	"query_digests_no_digits":                                        "false",
	"query_digests_normalize_digest_text":                            "false",
	"query_digests_track_hostname":                                   "false",
	"query_digests_keep_comment":                                     "false",
	"parse_failure_logs_digest":                                      "false",
	"servers_stats":                                                  "true",
	"default_reconnect":                                              "true",
	"init_connect":                                                   "",
	"ldap_user_variable":                                             "",
	"add_ldap_user_comment":                                          "",
	"default_session_track_gtids":                                    "OFF",
	"connpoll_reset_queue_length":                                    "50",
	"min_num_servers_lantency_awareness":                             "1000",
	"aurora_max_lag_ms_only_read_from_replicas":                      "2",
	"stats_time_backend_query":                                       "false",
	"stats_time_query_processor":                                     "false",
	"data_packets_history_size":                                      "0",
	"handle_warnings":                                                "1",
	"evaluate_replication_lag_on_servers_load":                       "1",
	"proxy_protocol_networks":                                        "",
	"default_charset":                                                "utf8",
	"default_collation_connection":                                   "utf8_general_ci",
}

// ParseMySQLVars validates raw (names without the "mysql-" prefix) and
// returns the typed variables. Unknown names are returned as warnings; an
// invalid value of an implemented variable is an error naming it.
func ParseMySQLVars(raw map[string]string) (*MySQLVars, []string, error) {
	return ParseMySQLVarsInOrder(raw, nil)
}

// ParseMySQLVarsInOrder is ParseMySQLVars for rows read in the order
// ProxySQL applies them (main.global_variables' row order; names without
// the prefix). The order matters for one thing: ProxySQL's
// mysql-have_compress and mysql-have_ssl set or clear their bit in
// mysql-server_capabilities when they are applied, and the
// server_capabilities row overwrites the value, so the runtime value is
// server_capabilities with the bits of the have_* rows that come after it.
// Without an order (nil) the rows are applied by name, have_* first.
func ParseMySQLVarsInOrder(raw map[string]string, order []string) (*MySQLVars, []string, error) {
	v := &MySQLVars{Raw: map[string]string{}}
	for name, def := range knownMySQLVars {
		v.Raw[name] = def
	}
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
		key, known := CanonicalMySQLVar(name)
		if spec, ok := mysqlVarSpecs[key]; ok {
			if err := spec.apply(v, val); err != nil {
				return nil, nil, fmt.Errorf("mysql-%s: %v", key, err)
			}
			v.Raw[key] = canonicalValue(spec.def, val)
			continue
		}
		if !known {
			warnings = append(warnings, fmt.Sprintf("unknown variable mysql-%s ignored", name))
			continue
		}
		v.Raw[key] = canonicalValue(knownMySQLVars[key], val)
		if v.Raw[key] != canonicalValue(knownMySQLVars[key], knownMySQLVars[key]) && !noEffectNeeded[key] {
			warnings = append(warnings, fmt.Sprintf("mysql-%s=%s has no effect in sqlgate: kept (and checksummed) for ProxySQL compatibility, but not implemented", key, v.Raw[key]))
		}
	}
	v.Raw["server_capabilities"] = serverCapabilities(v.Raw, order)
	warnings = append(warnings, fixCharset(v.Raw)...)
	if v.SSLP2S != (tlsfiles.Files{}) {
		// Read now, so a missing or bad file fails the LOAD (or the
		// start) rather than every backend connection.
		tc, err := v.SSLP2S.Config(func(f string) string { return "mysql-ssl_p2s_" + f }, "")
		if err != nil {
			return nil, nil, err
		}
		v.SSLP2SConfig = tc
	}
	if v.ConnectTimeoutServerMax < v.ConnectTimeoutServer {
		return nil, nil, fmt.Errorf("mysql-connect_timeout_server_max (%d) must not be lower than mysql-connect_timeout_server (%d)",
			v.ConnectTimeoutServerMax.Milliseconds(), v.ConnectTimeoutServer.Milliseconds())
	}
	return v, warnings, nil
}

// lowerMySQLVars maps lower-cased names to ProxySQL's spelling (a few, such
// as query_cache_size_MB, are not all lower case).
var lowerMySQLVars = func() map[string]string {
	m := map[string]string{}
	for n := range mysqlVarSpecs {
		m[strings.ToLower(n)] = n
	}
	for n := range knownMySQLVars {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// CanonicalMySQLVar returns ProxySQL's spelling of a mysql-* variable name
// (without the prefix) and whether sqlgate knows it.
func CanonicalMySQLVar(name string) (string, bool) {
	c, ok := lowerMySQLVars[strings.ToLower(name)]
	if !ok {
		return name, false
	}
	return c, true
}

// MySQLVarDefaults returns every known mysql-* variable (without the
// prefix) with its default value.
func MySQLVarDefaults() map[string]string {
	m := make(map[string]string, len(knownMySQLVars)+len(mysqlVarSpecs))
	for n, d := range knownMySQLVars {
		m[n] = d
	}
	for n, s := range mysqlVarSpecs {
		m[n] = s.def
	}
	return m
}

// canonicalValue spells booleans the way ProxySQL prints them, so the
// admin tables and the checksum see "true"/"false" whatever was typed.
func canonicalValue(def, val string) string {
	if def != "true" && def != "false" {
		return val
	}
	switch strings.ToLower(strings.TrimSpace(val)) {
	case "true", "1", "on", "yes":
		return "true"
	case "false", "0", "off", "no":
		return "false"
	}
	return val
}

// Capability bits mysql-have_compress and mysql-have_ssl control.
const (
	capCompress = 0x20
	capSSL      = 0x800
)

// serverCapabilities is the runtime mysql-server_capabilities: the
// configured value with the have_compress/have_ssl bits of the rows
// applied after it (see ParseMySQLVarsInOrder). ProxySQL keeps the value
// when it is not a number above 10.
func serverCapabilities(raw map[string]string, order []string) string {
	def, _ := strconv.ParseUint(knownMySQLVars["server_capabilities"], 10, 32)
	caps := uint32(def)
	if order == nil {
		order = []string{"have_compress", "have_ssl", "server_capabilities"}
	}
	for _, name := range order {
		val := strings.TrimSpace(raw[name])
		switch strings.ToLower(name) {
		case "server_capabilities":
			if n, err := strconv.ParseUint(val, 10, 32); err == nil && n > 10 {
				caps = uint32(n)
			}
		case "have_compress", "have_ssl":
			bit := uint32(capCompress)
			if strings.EqualFold(name, "have_ssl") {
				bit = capSSL
			}
			switch strings.ToLower(val) {
			case "true", "1":
				caps |= bit
			case "false", "0":
				caps &^= bit
			}
		}
	}
	return strconv.FormatInt(int64(int32(caps)), 10)
}

// fixCharset makes mysql-default_charset and
// mysql-default_collation_connection a valid, matching pair the way
// ProxySQL's LOAD MYSQL VARIABLES TO RUNTIME does: an empty value means the
// default; an unknown charset is taken from the collation; an unknown
// collation becomes the charset's default; a collation of another charset
// wins, unless only the charset was changed (compared with the defaults),
// then the charset's default collation is used. It returns ProxySQL's log
// messages for what it changed.
func fixCharset(raw map[string]string) []string {
	const defCharset, defCollation = "utf8", "utf8_general_ci"
	cs, coll := raw["default_charset"], raw["default_collation_connection"]
	if cs == "" || cs == "(null)" {
		cs = defCharset
	}
	if coll == "" || coll == "(null)" {
		coll = defCollation
	}
	var msgs []string
	if ci, ok := charsetDefault(cs); !ok {
		msgs = append(msgs, fmt.Sprintf("Found an incorrect value for mysql-default_charset: %s", cs))
		if cic, ok := collationByName(coll); ok {
			cs = cic.Charset
		} else {
			msgs = append(msgs, fmt.Sprintf("Found an incorrect value for mysql-default_collation_connection: %s", coll))
			cs, coll = defCharset, defCollation
		}
	} else if cic, ok := collationByName(coll); !ok {
		msgs = append(msgs, fmt.Sprintf("Found an incorrect value for mysql-default_collation_connection: %s", coll))
		coll = ci.Name
	} else if cic.Charset != ci.Charset {
		msgs = append(msgs, fmt.Sprintf("Found incompatible values for mysql-default_charset (%s) and mysql-default_collation_connection (%s)", cs, coll))
		if cs != defCharset && coll == defCollation {
			coll = ci.Name // only the charset was changed: it decides
		} else {
			cs = cic.Charset
		}
	}
	for _, f := range [][2]string{{"default_charset", cs}, {"default_collation_connection", coll}} {
		if name, val := f[0], f[1]; raw[name] != val {
			msgs = append(msgs, fmt.Sprintf("mysql-%s=%q is replaced with %q", name, raw[name], val))
			raw[name] = val
		}
	}
	return msgs
}
