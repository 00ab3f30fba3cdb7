package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sample = `# ProxySQL-style configuration
datadir="/var/lib/proxysql"
admin_variables=
{
	admin_credentials="admin:admin;cluster:secret"
	mysql_ifaces="0.0.0.0:6032"
	cluster_check_interval_ms=200
}
mysql_variables=
{
	threads=4 // comment
	max_connections=2048
	default_query_delay=0
	interfaces="0.0.0.0:6033"
	have_ssl=false
	/* multi
	   line */
	server_version="5.5.30" "-log"
}
mysql_servers =
(
	{ address="127.0.0.1" , port=3306 , hostgroup=0, max_connections=200 },
	{ hostname="10.0.0.2", port=3306, hostgroup_id=1, weight=10, status="OFFLINE_SOFT", comment="replica" },
)
mysql_users:
(
	{ username = "app", password = "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", default_hostgroup = 0, active = 1 },
	{ username = "ro", password = "ro", default_hostgroup = 1, transaction_persistent = false, max_connections=10 }
)
mysql_query_rules:
(
	{ rule_id=1, active=1, match_digest="^SELECT.*FOR UPDATE$", destination_hostgroup=0, apply=1 },
	{ rule_id=2, active=1, match_digest="^SELECT", destination_hostgroup=1, apply=1, flagIN=0, OK_msg="x" }
)
mysql_replication_hostgroups=( { writer_hostgroup=0, reader_hostgroup=1, comment="cluster1" } )
proxysql_servers = ( { hostname="core-a", port=6032, weight=0 } )
scheduler=( )
`

func TestParseSample(t *testing.T) {
	g, err := Parse("proxysql.cnf", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	cfg, warns, err := FromTree("proxysql.cnf", g)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Datadir != "/var/lib/proxysql" || cfg.MySQLVariables["server_version"] != "5.5.30-log" ||
		cfg.MySQLVariables["have_ssl"] != "false" || cfg.MySQLVariables["threads"] != "4" ||
		cfg.AdminVariables["cluster_check_interval_ms"] != "200" {
		t.Fatalf("variables: %+v %+v", cfg.MySQLVariables, cfg.AdminVariables)
	}
	if len(cfg.MySQLServers) != 2 || cfg.MySQLServers[0].Hostname != "127.0.0.1" || cfg.MySQLServers[0].MaxConnections != 200 ||
		cfg.MySQLServers[1].HostgroupID != 1 || cfg.MySQLServers[1].Status != "OFFLINE_SOFT" || cfg.MySQLServers[1].MaxConnections != 1000 {
		t.Fatalf("servers: %+v", cfg.MySQLServers)
	}
	if len(cfg.MySQLUsers) != 2 || !cfg.MySQLUsers[0].TransactionPersistent || cfg.MySQLUsers[1].TransactionPersistent || cfg.MySQLUsers[1].MaxConnections != 10 {
		t.Fatalf("users: %+v", cfg.MySQLUsers)
	}
	r := cfg.MySQLQueryRules[1]
	if len(cfg.MySQLQueryRules) != 2 || !r.Active || !r.Apply || *r.MatchDigest != "^SELECT" || *r.DestinationHostgroup != 1 || *r.OKMsg != "x" || r.ReModifiers != "CASELESS" {
		t.Fatalf("rules: %+v", r)
	}
	if len(cfg.MySQLReplicationHostgroups) != 1 || cfg.MySQLReplicationHostgroups[0].CheckType != "read_only" || len(cfg.ProxySQLServers) != 1 {
		t.Fatal("replication hostgroups / proxysql servers")
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Msg, "scheduler") {
		t.Fatalf("warnings: %v", warns)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"datadir=\"/tmp\"\nmysql_variables =\n{\n\tthreads=4\n\tinterfaces=\n}\n", "x.cnf:6:1: expected a value"},
		{"a = \"unterminated\n", "x.cnf:1:5: unterminated string"},
		{"a = 1 }", "x.cnf:1:7: unexpected '}'"},
		{"a = { b = 1 ", "unexpected end of file"},
		{"/* open", "x.cnf:1:1: unterminated /* comment"},
		{"a = yes", "x.cnf:1:5: unexpected word"},
		{"mysql_servers = ( { address=\"h\", port=\"abc\" } )", "x.cnf:1:39: mysql_servers[0].port: expected integer, got string \"abc\""},
		{"mysql_servers = ( { address=\"h\", port=70000 } )", "mysql_servers[0].port: value 70000 out of range"},
		{"mysql_servers = ( { port=1 } )", "mysql_servers[0].hostname: is required"},
		{"mysql_servers = ( { address=\"h\" }, { address=\"h\" } )", "duplicate server"},
		{"mysql_users = ( { username=\"a\" }, { username=\"a\" } )", "duplicate user"},
		{"mysql_query_rules = ( { active=1 } )", "rule_id: is required"},
		{"mysql_replication_hostgroups = ( { writer_hostgroup=1, reader_hostgroup=1 } )", "both 1"},
		{"mysql_servers = ( { address=\"h\", status=\"UP\" } )", "status: must be"},
		{"mysql_variables = { a = { b = 1 } }", "expected a scalar"},
	}
	for _, tt := range tests {
		g, err := Parse("x.cnf", []byte(tt.src))
		if err == nil {
			_, _, err = FromTree("x.cnf", g)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.src, err, tt.want)
		}
	}
}

func TestWarningsAndInclude(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "users.cnf"), []byte(`mysql_users = ( { username="u", passwrd="typo" } )`), 0o644)
	os.WriteFile(filepath.Join(dir, "main.cnf"), []byte("@include \"users.cnf\"\nbogus = 1\n"), 0o644)
	cfg, warns, err := Load(filepath.Join(dir, "main.cnf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.MySQLUsers) != 1 || len(warns) != 2 || !strings.Contains(warns[0].String(), "passwrd") || !strings.Contains(warns[1].String(), "bogus") {
		t.Fatalf("users %+v warnings %v", cfg.MySQLUsers, warns)
	}
	os.WriteFile(filepath.Join(dir, "loop.cnf"), []byte("@include \"loop.cnf\"\n"), 0o644)
	if _, _, err := Load(filepath.Join(dir, "loop.cnf")); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("include cycle: %v", err)
	}
}

// TestIncludeOnlyRegularBoundedFiles: @include of a device, a directory
// or a huge file is refused with the file named, at once (/dev/zero used
// to hang the start and eat memory).
func TestIncludeOnlyRegularBoundedFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.cnf")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(MaxFileSize + 1) // sparse: no disk used
	f.Close()
	for target, want := range map[string]string{
		"/dev/zero": "/dev/zero is not a regular file",
		dir:         "is not a regular file",
		big:         "more than the",
	} {
		main := filepath.Join(dir, "main.cnf")
		os.WriteFile(main, []byte("@include \""+target+"\"\n"), 0o644)
		done := make(chan error, 1)
		go func() { _, _, err := Load(main); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("@include %s: %v, want an error containing %q", target, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("@include %s did not return", target)
		}
		if _, _, err := Load(target); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("-c %s: %v, want an error containing %q", target, err, want)
		}
	}
}
