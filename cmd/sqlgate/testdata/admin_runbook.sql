-- An operator's session on the admin port (6032), as pasted into the
-- mariadb client. The differential test (differential_e2e_test.go) runs it
-- against ProxySQL 2.7.2 and against sqlgate, both started from the same
-- proxysql.cnf on fresh datadirs, and compares every statement's output.
-- One statement per line: errors are matched to statements by line number.

-- What a client sends on connect, and the usual probes.
select @@version_comment limit 1;
SELECT @@version_comment;
SELECT @@version;
SELECT version();
SELECT DATABASE();
SELECT USER();
SELECT CURRENT_USER();
SELECT @@admin-refresh_interval;
SELECT @@mysql-max_connections;
SELECT @@mysql-max_connections LIMIT 1;
SELECT @@nosuch_variable;

-- Where things are.
SHOW DATABASES;
SHOW SCHEMAS;
SHOW TABLES;
SHOW TABLES FROM main;
SHOW TABLES FROM stats;
SHOW TABLES IN stats;
SHOW TABLES FROM monitor;
SHOW TABLES FROM stats_history;
SHOW TABLES FROM disk;
SHOW TABLES LIKE 'runtime_mysql%';
SHOW CHARSET;
SHOW COLLATION;
SELECT * FROM mysql_collations;
SELECT COUNT(*), SUM(`Default`='Yes') FROM mysql_collations;
SHOW CREATE TABLE coredump_filters;
SHOW CREATE TABLE global_variables;
SHOW CREATE TABLE mysql_aws_aurora_hostgroups;
SHOW CREATE TABLE mysql_collations;
SHOW CREATE TABLE mysql_firewall_whitelist_rules;
SHOW CREATE TABLE mysql_firewall_whitelist_sqli_fingerprints;
SHOW CREATE TABLE mysql_firewall_whitelist_users;
SHOW CREATE TABLE mysql_galera_hostgroups;
SHOW CREATE TABLE mysql_group_replication_hostgroups;
SHOW CREATE TABLE mysql_hostgroup_attributes;
SHOW CREATE TABLE mysql_query_rules;
SHOW CREATE TABLE mysql_query_rules_fast_routing;
SHOW CREATE TABLE mysql_replication_hostgroups;
SHOW CREATE TABLE mysql_servers;
SHOW CREATE TABLE mysql_servers_ssl_params;
SHOW CREATE TABLE mysql_users;
SHOW CREATE TABLE proxysql_servers;
SHOW CREATE TABLE restapi_routes;
SHOW CREATE TABLE runtime_checksums_values;
SHOW CREATE TABLE runtime_coredump_filters;
SHOW CREATE TABLE runtime_global_variables;
SHOW CREATE TABLE runtime_mysql_aws_aurora_hostgroups;
SHOW CREATE TABLE runtime_mysql_firewall_whitelist_rules;
SHOW CREATE TABLE runtime_mysql_firewall_whitelist_sqli_fingerprints;
SHOW CREATE TABLE runtime_mysql_firewall_whitelist_users;
SHOW CREATE TABLE runtime_mysql_galera_hostgroups;
SHOW CREATE TABLE runtime_mysql_group_replication_hostgroups;
SHOW CREATE TABLE runtime_mysql_hostgroup_attributes;
SHOW CREATE TABLE runtime_mysql_query_rules;
SHOW CREATE TABLE runtime_mysql_query_rules_fast_routing;
SHOW CREATE TABLE runtime_mysql_replication_hostgroups;
SHOW CREATE TABLE runtime_mysql_servers;
SHOW CREATE TABLE runtime_mysql_servers_ssl_params;
SHOW CREATE TABLE runtime_mysql_users;
SHOW CREATE TABLE runtime_proxysql_servers;
SHOW CREATE TABLE runtime_restapi_routes;
SHOW CREATE TABLE runtime_scheduler;
SHOW CREATE TABLE scheduler;
SHOW CREATE TABLE stats.global_variables;
SHOW CREATE TABLE stats.stats_memory_metrics;
SHOW CREATE TABLE stats.stats_mysql_client_host_cache;
SHOW CREATE TABLE stats.stats_mysql_client_host_cache_reset;
SHOW CREATE TABLE stats.stats_mysql_commands_counters;
SHOW CREATE TABLE stats.stats_mysql_connection_pool;
SHOW CREATE TABLE stats.stats_mysql_connection_pool_reset;
SHOW CREATE TABLE stats.stats_mysql_errors;
SHOW CREATE TABLE stats.stats_mysql_errors_reset;
SHOW CREATE TABLE stats.stats_mysql_free_connections;
SHOW CREATE TABLE stats.stats_mysql_global;
SHOW CREATE TABLE stats.stats_mysql_gtid_executed;
SHOW CREATE TABLE stats.stats_mysql_prepared_statements_info;
SHOW CREATE TABLE stats.stats_mysql_processlist;
SHOW CREATE TABLE stats.stats_mysql_query_digest;
SHOW CREATE TABLE stats.stats_mysql_query_digest_reset;
SHOW CREATE TABLE stats.stats_mysql_query_rules;
SHOW CREATE TABLE stats.stats_mysql_users;
SHOW CREATE TABLE stats.stats_proxysql_message_metrics;
SHOW CREATE TABLE stats.stats_proxysql_message_metrics_reset;
SHOW CREATE TABLE stats.stats_proxysql_servers_checksums;
SHOW CREATE TABLE stats.stats_proxysql_servers_clients_status;
SHOW CREATE TABLE stats.stats_proxysql_servers_metrics;
SHOW CREATE TABLE stats.stats_proxysql_servers_status;
SHOW CREATE TABLE monitor.mysql_server_aws_aurora_check_status;
SHOW CREATE TABLE monitor.mysql_server_aws_aurora_failovers;
SHOW CREATE TABLE monitor.mysql_server_aws_aurora_log;
SHOW CREATE TABLE monitor.mysql_server_connect_log;
SHOW CREATE TABLE monitor.mysql_server_galera_log;
SHOW CREATE TABLE monitor.mysql_server_group_replication_log;
SHOW CREATE TABLE monitor.mysql_server_ping_log;
SHOW CREATE TABLE monitor.mysql_server_read_only_log;
SHOW CREATE TABLE monitor.mysql_server_replication_lag_log;
SHOW CREATE TABLE stats_history.history_mysql_query_digest;
SHOW CREATE TABLE stats_history.history_mysql_status_variables;
SHOW CREATE TABLE stats_history.history_mysql_status_variables_lookup;
SHOW CREATE TABLE stats_history.history_stats_mysql_connection_pool;
SHOW CREATE TABLE stats_history.myhgm_connections;
SHOW CREATE TABLE stats_history.myhgm_connections_day;
SHOW CREATE TABLE stats_history.myhgm_connections_hour;
SHOW CREATE TABLE stats_history.mysql_connections;
SHOW CREATE TABLE stats_history.mysql_connections_day;
SHOW CREATE TABLE stats_history.mysql_connections_hour;
SHOW CREATE TABLE stats_history.mysql_query_cache;
SHOW CREATE TABLE stats_history.mysql_query_cache_day;
SHOW CREATE TABLE stats_history.mysql_query_cache_hour;
SHOW CREATE TABLE stats_history.system_cpu;
SHOW CREATE TABLE stats_history.system_cpu_day;
SHOW CREATE TABLE stats_history.system_cpu_hour;
SHOW CREATE TABLE stats_history.system_memory;
SHOW CREATE TABLE stats_history.system_memory_day;
SHOW CREATE TABLE stats_history.system_memory_hour;
SHOW CREATE TABLE disk.mysql_servers;
SHOW CREATE TABLE disk.global_settings;
SHOW CREATE TABLE nosuch_table;
SHOW CREATE TABLE `mysql_users`;

-- The variables as booted from the cnf, and their checksums.
SELECT * FROM global_variables ORDER BY variable_name;
SELECT * FROM runtime_global_variables ORDER BY variable_name;
SELECT * FROM disk.global_variables ORDER BY variable_name;
SELECT * FROM stats.global_variables;
SELECT name, version, checksum FROM runtime_checksums_values;
SELECT name, version, checksum FROM runtime_checksums_values ORDER BY name;
SHOW VARIABLES;
SHOW GLOBAL VARIABLES;
SHOW MYSQL VARIABLES;
SHOW ADMIN VARIABLES;
SHOW GLOBAL VARIABLES LIKE 'version';
SHOW VARIABLES LIKE 'mysql-monitor%';
SHOW GLOBAL VARIABLES LIKE 'admin-cluster%';
SELECT * FROM coredump_filters;
SELECT * FROM runtime_coredump_filters;

-- Servers: a writer, two readers, a replication hostgroup pair.
INSERT INTO mysql_servers (hostgroup_id, hostname, port, weight, max_connections, comment) VALUES (10, '127.0.0.1', 1, 1, 100, 'writer');
INSERT INTO mysql_servers (hostgroup_id, hostname, port, weight, max_replication_lag, comment) VALUES (20, '127.0.0.1', 2, 100, 30, 'reader a'), (20, '127.0.0.1', 3, 50, 30, 'reader b');
INSERT INTO mysql_replication_hostgroups (writer_hostgroup, reader_hostgroup, check_type, comment) VALUES (10, 20, 'read_only', 'cluster one');
INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (10, '127.0.0.1', 1);
SELECT * FROM mysql_servers ORDER BY hostgroup_id, hostname, port;
SHOW MYSQL SERVERS;
LOAD MYSQL SERVERS TO RUNTIME;
SAVE MYSQL SERVERS TO DISK;
SELECT hostgroup_id, hostname, port, gtid_port, weight, compression, max_connections, max_replication_lag, use_ssl, max_latency_ms, comment FROM runtime_mysql_servers ORDER BY hostgroup_id, hostname, port;
SELECT * FROM runtime_mysql_replication_hostgroups;
SELECT * FROM disk.mysql_servers ORDER BY hostgroup_id, hostname, port;
SELECT * FROM disk.mysql_replication_hostgroups;
CHECKSUM DISK MYSQL SERVERS;
CHECKSUM MEMORY MYSQL SERVERS;
CHECKSUM MEM MYSQL REPLICATION HOSTGROUPS;

-- Users: both sides, a backend-only and a frontend-only one.
INSERT INTO mysql_users (username, password, default_hostgroup) VALUES ('app', 'app', 10);
INSERT INTO mysql_users (username, password, default_hostgroup, default_schema, transaction_persistent, max_connections, comment) VALUES ('report', '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19', 20, 'sales', 0, 50, 'reports');
INSERT INTO mysql_users (username, password, default_hostgroup, frontend, backend, comment) VALUES ('etl', 'etl', 10, 0, 1, 'backend only');
INSERT INTO mysql_users (username, password, default_hostgroup, frontend, backend, default_schema) VALUES ('ro', 'ro', 20, 1, 0, '');
INSERT INTO mysql_users (username, password, active, default_hostgroup) VALUES ('disabled', 'x', 0, 10);
SELECT * FROM mysql_users ORDER BY username, backend;
SHOW MYSQL USERS;
LOAD MYSQL USERS TO RUNTIME;
SELECT * FROM runtime_mysql_users ORDER BY username, frontend;
SELECT username, frontend, backend FROM runtime_mysql_users WHERE default_schema IS NULL;
SAVE MYSQL USERS TO DISK;
SELECT * FROM disk.mysql_users ORDER BY username, backend;
SAVE MYSQL USERS FROM RUNTIME;
SELECT * FROM mysql_users ORDER BY username, backend;
CHECKSUM MEMORY MYSQL USERS;
LOAD MYSQL USERS FROM DISK;
SELECT * FROM mysql_users ORDER BY username, backend;
LOAD MYSQL USERS TO RUNTIME;

-- Query rules: read/write split, a cached report, fast routing.
INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) VALUES (10, 1, '^SELECT.*FOR UPDATE$', 10, 1), (20, 1, '^SELECT', 20, 1);
INSERT INTO mysql_query_rules (rule_id, active, username, match_digest, cache_ttl, timeout, retries, multiplex, log, apply, comment) VALUES (30, 1, 'report', '^SELECT c FROM sbtest', 5000, 10000, 2, 2, 0, 1, 'cached');
INSERT INTO mysql_query_rules (rule_id, active, match_pattern, replace_pattern, apply) VALUES (40, 0, 'DELETE FROM t', 'DELETE FROM t LIMIT 1', 0);
INSERT INTO mysql_query_rules (rule_id, active, match_pattern, error_msg, apply) VALUES (50, 1, '^DROP', 'not here', 1);
INSERT INTO mysql_query_rules_fast_routing (username, schemaname, flagIN, destination_hostgroup, comment) VALUES ('report', 'sales', 0, 20, 'reports');
LOAD MYSQL QUERY RULES TO RUNTIME;
SAVE MYSQL QUERY RULES TO DISK;
SELECT * FROM runtime_mysql_query_rules ORDER BY rule_id;
SELECT * FROM runtime_mysql_query_rules_fast_routing;
SELECT * FROM disk.mysql_query_rules ORDER BY rule_id;
CHECKSUM MEMORY MYSQL QUERY RULES;
INSERT INTO mysql_query_rules (rule_id, active, apply, flagIN) VALUES (60, 1, 1, -1);
DELETE FROM mysql_query_rules WHERE rule_id=50;
SELECT rule_id, active, match_digest, match_pattern, destination_hostgroup, apply FROM mysql_query_rules ORDER BY rule_id;

-- Variables: SET, UPDATE, booleans spelt every way, LOAD and SAVE.
SET mysql-max_connections=2048;
SET mysql-query_cache_size_MB = 128;
SET mysql-monitor_enabled='false';
SET mysql-multiplexing=0;
SET mysql-have_compress=1;
SET mysql-default_query_timeout=36000000;
SET mysql-server_version='8.0.36';
UPDATE global_variables SET variable_value='2000' WHERE variable_name IN ('mysql-monitor_connect_interval', 'mysql-monitor_ping_interval', 'mysql-monitor_read_only_interval');
UPDATE global_variables SET variable_value='TRUE' WHERE variable_name='mysql-log_unhealthy_connections';
SET mysql-nosuch_variable=1;
SELECT * FROM global_variables WHERE variable_name LIKE 'mysql-%' ORDER BY variable_name;
LOAD MYSQL VARIABLES TO RUNTIME;
SELECT * FROM runtime_global_variables WHERE variable_name LIKE 'mysql-%' ORDER BY variable_name;
SAVE MYSQL VARIABLES TO DISK;
SELECT * FROM disk.global_variables WHERE variable_name LIKE 'mysql-%' ORDER BY variable_name;
SET admin-refresh_interval=2000;
SET admin-cluster_check_interval_ms=500;
SET admin-cluster_mysql_users_save_to_disk=false;
SET admin-vacuum_stats='0';
LOAD ADMIN VARIABLES TO RUNTIME;
SAVE ADMIN VARIABLES TO DISK;
SELECT * FROM runtime_global_variables WHERE variable_name LIKE 'admin-%' ORDER BY variable_name;
SELECT @@admin-refresh_interval;
SELECT @@mysql-max_connections;
CHECKSUM DISK MYSQL VARIABLES;

-- The cluster's view: checksums of everything loaded above.
INSERT INTO proxysql_servers (hostname, port, weight, comment) VALUES ('127.0.0.1', 1, 0, 'unreachable peer');
LOAD PROXYSQL SERVERS TO RUNTIME;
SAVE PROXYSQL SERVERS TO DISK;
SELECT * FROM runtime_proxysql_servers;
SELECT name, version, checksum FROM runtime_checksums_values;
SELECT GLOBAL_CHECKSUM();
PROXY_SELECT username, password, use_ssl, default_hostgroup, default_schema, schema_locked, transaction_persistent, fast_forward, backend, frontend, max_connections, attributes, comment FROM runtime_mysql_users;

-- Scheduler and core dump filters (stored, not run).
INSERT INTO scheduler (id, active, interval_ms, filename, arg1, comment) VALUES (1, 0, 10000, '/usr/bin/true', 'x', 'noop');
SAVE SCHEDULER TO DISK;
SELECT * FROM disk.scheduler;
INSERT INTO coredump_filters (filename, line) VALUES ('MySQL_Session.cpp', 1234);
LOAD COREDUMP TO RUNTIME;
SELECT * FROM runtime_coredump_filters;

-- Layers back and forth.
LOAD MYSQL SERVERS FROM DISK;
LOAD MYSQL SERVERS TO RUNTIME;
SAVE MYSQL SERVERS TO MEMORY;
SELECT hostgroup_id, hostname, port, status, weight, comment FROM mysql_servers ORDER BY hostgroup_id, hostname, port;
LOAD MYSQL QUERY RULES FROM DISK;
SAVE MYSQL QUERY RULES FROM RUNTIME;
SELECT rule_id, active, match_digest, destination_hostgroup, apply FROM mysql_query_rules ORDER BY rule_id;
LOAD MYSQL VARIABLES FROM DISK;
LOAD ADMIN VARIABLES FROM DISK;
SAVE MYSQL VARIABLES FROM RUNTIME;
SELECT * FROM global_variables ORDER BY variable_name;
LOAD NOSUCH THING TO RUNTIME;

-- Back to what the config file says.
LOAD MYSQL USERS FROM CONFIG;
LOAD MYSQL QUERY RULES FROM CONFIG;
LOAD MYSQL VARIABLES FROM CONFIG;
SELECT COUNT(*) FROM mysql_users;
SELECT CONFIG FILE;
SHOW FIELDS FROM mysql_servers;
PROXYSQL FLUSH LOGS;
PROXYSQL FLUSH QUERY CACHE;
SAVE MYSQL DIGEST TO DISK;

-- Statistics an operator looks at on a node without traffic.
SHOW MYSQL STATUS;
SELECT * FROM stats_mysql_commands_counters;
SELECT * FROM stats_mysql_query_digest_reset;
SELECT * FROM stats_mysql_connection_pool;
SELECT * FROM stats.stats_mysql_query_digest;
SELECT * FROM stats_mysql_query_rules;
SELECT * FROM stats_mysql_users;
SELECT * FROM stats_mysql_processlist;
SHOW PROCESSLIST;
SHOW FULL PROCESSLIST;
SELECT * FROM stats_mysql_errors;
SELECT * FROM stats_mysql_gtid_executed;
SELECT COUNT(*) FROM stats_history.mysql_connections;
SELECT * FROM stats_history.history_mysql_query_digest;
SELECT * FROM monitor.mysql_server_galera_log;
SELECT * FROM monitor.mysql_server_group_replication_log;
SELECT * FROM monitor.mysql_server_aws_aurora_log;

-- The final state, as a peer or the next operator sees it.
SELECT name, version, checksum FROM runtime_checksums_values ORDER BY name;
SELECT * FROM runtime_global_variables ORDER BY variable_name;
SELECT * FROM runtime_mysql_users ORDER BY username, frontend;

-- A bad value: ProxySQL logs it and puts the running value back in
-- memory; sqlgate's LOAD refuses the module and names the row.
UPDATE global_variables SET variable_value='lots' WHERE variable_name='mysql-max_connections';
LOAD MYSQL VARIABLES TO RUNTIME;
SELECT * FROM global_variables WHERE variable_name='mysql-max_connections';
SELECT * FROM runtime_global_variables WHERE variable_name='mysql-max_connections';
UPDATE global_variables SET variable_value='2048' WHERE variable_name='mysql-max_connections';
LOAD MYSQL VARIABLES TO RUNTIME;
