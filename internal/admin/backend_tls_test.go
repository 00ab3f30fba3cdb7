package admin

import (
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"sqlgate/internal/config"
	"sqlgate/internal/runtime"
	"sqlgate/internal/testbed"
)

// The backend TLS files are read when they are loaded: a missing or bad
// one stops the start and fails LOAD MYSQL VARIABLES / MYSQL SERVERS TO
// RUNTIME with an error naming the setting and the file, and the running
// configuration stays. mysql_servers_ssl_params rows are loaded.
func TestBackendTLSSettingsLoad(t *testing.T) {
	dir := t.TempDir()
	ca, err := testbed.NewCA(dir, "ok")
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nosuch-ca.pem")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func(vars map[string]string) (*Admin, *runtime.Store, error) {
		store := &runtime.Store{}
		a, err := Open(Options{Datadir: t.TempDir(), Config: &config.Config{
			AdminVariables: map[string]string{"mysql_ifaces": "127.0.0.1:0"}, MySQLVariables: vars,
		}, Version: "test", Runtime: store, Log: log})
		return a, store, err
	}

	if _, _, err := open(map[string]string{"ssl_p2s_ca": missing}); err == nil ||
		!strings.Contains(err.Error(), "mysql-ssl_p2s_ca") || !strings.Contains(err.Error(), missing) {
		t.Errorf("start with a missing CA file: %v, want an error naming mysql-ssl_p2s_ca and %s", err, missing)
	}

	a, store, err := open(map[string]string{"ssl_p2s_ca": ca.Cert})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = "admin", "admin", "tcp", a.Addrs()[0].String()
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	exec := func(q string) error { _, err := db.Exec(q); return err }
	value := func(q string) string {
		var s string
		if err := db.QueryRow(q).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return s
	}

	if err := exec("SET mysql-ssl_p2s_ca='" + missing + "'"); err != nil {
		t.Fatal(err)
	}
	err = exec("LOAD MYSQL VARIABLES TO RUNTIME")
	if err == nil || !strings.Contains(err.Error(), "mysql-ssl_p2s_ca") || !strings.Contains(err.Error(), missing) {
		t.Errorf("LOAD MYSQL VARIABLES with a missing CA file: %v, want an error naming mysql-ssl_p2s_ca and %s", err, missing)
	}
	if got := value("SELECT variable_value FROM runtime_global_variables WHERE variable_name='mysql-ssl_p2s_ca'"); got != ca.Cert {
		t.Errorf("runtime mysql-ssl_p2s_ca = %q after the failed LOAD, want the running %q", got, ca.Cert)
	}
	if got := store.Load().Vars.SSLP2S.CA; got != ca.Cert {
		t.Errorf("data path mysql-ssl_p2s_ca = %q after the failed LOAD, want %q", got, ca.Cert)
	}
	if err := exec("SET mysql-ssl_p2s_ca=''"); err != nil {
		t.Fatal(err)
	}
	if err := exec("LOAD MYSQL VARIABLES TO RUNTIME"); err != nil {
		t.Errorf("LOAD MYSQL VARIABLES with ssl_p2s_ca unset: %v", err)
	}

	// Per-server rows: a bad file is refused naming the row and column,
	// a good row is loaded and shown in runtime_mysql_servers_ssl_params.
	if err := exec("INSERT INTO mysql_servers_ssl_params (hostname, port, username, ssl_ca) VALUES ('db1', 3306, '', '" + missing + "')"); err != nil {
		t.Fatal(err)
	}
	err = exec("LOAD MYSQL SERVERS TO RUNTIME")
	if err == nil || !strings.Contains(err.Error(), `mysql_servers_ssl_params row (hostname=db1, port=3306, username="")`) ||
		!strings.Contains(err.Error(), "column ssl_ca") || !strings.Contains(err.Error(), missing) {
		t.Errorf("LOAD MYSQL SERVERS with a missing ssl_ca: %v", err)
	}
	if err := exec("UPDATE mysql_servers_ssl_params SET ssl_ca='" + ca.Cert + "'"); err != nil {
		t.Fatal(err)
	}
	if err := exec("LOAD MYSQL SERVERS TO RUNTIME"); err != nil {
		t.Fatalf("LOAD MYSQL SERVERS with a good mysql_servers_ssl_params row: %v", err)
	}
	if got := value("SELECT ssl_ca FROM runtime_mysql_servers_ssl_params WHERE hostname='db1'"); got != ca.Cert {
		t.Errorf("runtime_mysql_servers_ssl_params.ssl_ca = %q, want %q", got, ca.Cert)
	}
	if got := store.Load().BackendTLS.Files("db1", 3306, "app").CA; got != ca.Cert {
		t.Errorf("data path CA for db1:3306 = %q, want the row's %q", got, ca.Cert)
	}
}
