package admin

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"sqlgate/internal/config"
)

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

func TestParseAdminVars(t *testing.T) {
	v, err := parseAdminVars(map[string]string{"admin_credentials": "admin:admin;cluster:secret", "cluster_username": "cluster",
		"cluster_password": "secret", "read_only": "1"}, "1.0")
	if err != nil {
		t.Fatal(err)
	}
	if v.Credentials["cluster"] != "secret" || !v.ReadOnly || v.Raw["read_only"] != "true" || v.Raw["version"] != "1.0" {
		t.Errorf("parsed %+v", v)
	}
	for _, bad := range []map[string]string{
		{"no_such": "1"},
		{"cluster_check_interval_ms": "5"},
		{"refresh_interval": "soon"},
		{"admin_credentials": "nopassword"},
		{"cluster_username": "cluster", "cluster_password": "x"},
		{"stats_credentials": "admin:x"},
		{"read_only": "maybe"},
	} {
		if _, err := parseAdminVars(bad, "1.0"); err == nil {
			t.Errorf("parseAdminVars(%v) accepted", bad)
		} else if !strings.Contains(err.Error(), "admin-") {
			t.Errorf("error %q does not name the variable", err)
		}
	}
}

// remoteConn makes a pipe look like a connection from another host: the
// only way to exercise the "admin only from loopback" rule without
// sending traffic off the machine.
type remoteConn struct{ net.Conn }

func (remoteConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40000}
}

func TestDefaultAdminOnlyFromLoopback(t *testing.T) {
	a, err := Open(Options{Datadir: t.TempDir(), Config: &config.Config{
		AdminVariables: map[string]string{"admin_credentials": "admin:admin;radmin:radmin", "mysql_ifaces": "127.0.0.1:0"},
	}, Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dial := func(user, password string) error {
		name := fmt.Sprintf("remote-%s-%d", user, time.Now().UnixNano())
		mysql.RegisterDialContext(name, func(ctx context.Context, addr string) (net.Conn, error) {
			c1, c2 := net.Pipe()
			go a.serveConn(remoteConn{c2})
			return c1, nil
		})
		db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@%s(x)/", user, password, name))
		if err != nil {
			return err
		}
		defer db.Close()
		var n int
		return db.QueryRow("SELECT COUNT(*) FROM mysql_servers").Scan(&n)
	}
	// A remote client gets the same answer for the default accounts' right
	// passwords as for wrong ones, so it cannot test them.
	for _, user := range []string{"admin", "stats"} {
		right, wrong := dial(user, user), dial(user, "wrong")
		if right == nil || wrong == nil || right.Error() != wrong.Error() || !strings.Contains(right.Error(), "1045") {
			t.Errorf("remote default %s: right password %v, wrong password %v; want the same 1045", user, right, wrong)
		}
	}
	if err := dial("radmin", "radmin"); err != nil {
		t.Errorf("remote extra admin user refused: %v", err)
	}
	if err, unknown := dial("radmin", "wrong"), dial("nosuchuser", "wrong"); err == nil || unknown == nil ||
		strings.ReplaceAll(err.Error(), "radmin", "U") != strings.ReplaceAll(unknown.Error(), "nosuchuser", "U") {
		t.Errorf("wrong password %v and unknown user %v answer differently", err, unknown)
	}
}
