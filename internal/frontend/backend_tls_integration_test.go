package frontend_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"sqlgate/internal/config"
	"sqlgate/internal/runtime"
	"sqlgate/internal/testbed"
)

// tlsProxyConfig puts the primary of b in hostgroup 0 with use_ssl, for
// the users app, tlsonly (REQUIRE SSL on the server) and x509 (REQUIRE
// X509). Connect errors are not retried, so a failure is reported at once.
func tlsProxyConfig(b *testbed.Bed, useSSL bool, vars map[string]string) *config.Config {
	cfg := &config.Config{
		MySQLVariables: map[string]string{"have_ssl": "false", "connect_retries_on_failure": "0"},
		MySQLServers: []config.MySQLServer{{HostgroupID: writerHG, Hostname: "127.0.0.1", Port: b.Primary.Port,
			Status: "ONLINE", Weight: 1, MaxConnections: 100, UseSSL: b2i(useSSL)}},
	}
	for k, v := range vars {
		cfg.MySQLVariables[k] = v
	}
	for _, u := range [][2]string{{testbed.AppUser, testbed.AppPassword}, {"tlsonly", "tlsonly"}, {"x509", "x509"}} {
		cfg.MySQLUsers = append(cfg.MySQLUsers, config.MySQLUser{Username: u[0], Password: u[1], Active: true,
			DefaultHostgroup: writerHG, TransactionPersistent: true, Backend: true, Frontend: true, MaxConnections: 100})
	}
	return cfg
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sslVersion is the TLS version of the backend session the statement ran
// on, "" for a plaintext one: SHOW SESSION STATUS runs on the backend.
func sslVersion(db *sql.DB) (string, error) {
	var name, v string
	err := db.QueryRow("SHOW SESSION STATUS LIKE 'Ssl_version'").Scan(&name, &v)
	return v, err
}

func (p *proxy) userDB(t *testing.T, user string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", p.dsn(user, user, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// reconfigure publishes cfg as a LOAD ... TO RUNTIME does.
func (p *proxy) reconfigure(t *testing.T, cfg *config.Config) {
	t.Helper()
	snap, _, err := runtime.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Store.Publish(snap)
	p.Pool.Configure(snap.Servers, snap.PoolOptions())
}

func (p *proxy) connCounts() (ok, errs int64) {
	for _, h := range p.Pool.Hostgroups() {
		for _, s := range h.Servers() {
			ok += s.ConnOK.Load()
			errs += s.ConnERR.Load()
		}
	}
	return ok, errs
}

// Backend TLS against a MariaDB that serves a certificate of its own CA:
// use_ssl=1 encrypts the backend sessions (verified when mysql-ssl_p2s_ca
// is set), use_ssl=0 does not, and the accounts that require TLS on the
// server work through sqlgate only over TLS.
func TestBackendTLS(t *testing.T) {
	b := testbed.ForTest(t, testbed.Options{TLS: true})
	ctx := context.Background()
	if err := b.Exec(ctx, b.Primary, `
		CREATE USER 'tlsonly'@'%' IDENTIFIED BY 'tlsonly' REQUIRE SSL;
		CREATE USER 'x509'@'%' IDENTIFIED BY 'x509' REQUIRE X509;
		GRANT SELECT ON *.* TO 'tlsonly'@'%';
		GRANT SELECT ON *.* TO 'x509'@'%';`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	other, err := testbed.NewCA(dir, "other")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("use_ssl=0 is plaintext", func(t *testing.T) {
		p := startProxy(t, tlsProxyConfig(b, false, nil))
		if v, err := sslVersion(p.userDB(t, testbed.AppUser)); err != nil || v != "" {
			t.Errorf("Ssl_version %q, err %v; want a plaintext session", v, err)
		}
		if _, err := sslVersion(p.userDB(t, "tlsonly")); err == nil || !strings.Contains(err.Error(), "Access denied") {
			t.Errorf("REQUIRE SSL user over a plaintext backend connection: %v, want access denied", err)
		}
	})

	t.Run("use_ssl=1 without a CA encrypts", func(t *testing.T) {
		p := startProxy(t, tlsProxyConfig(b, true, nil))
		db := p.userDB(t, testbed.AppUser)
		db.SetMaxOpenConns(1)
		v, err := sslVersion(db)
		if err != nil || !strings.HasPrefix(v, "TLSv1") {
			t.Fatalf("Ssl_version %q, err %v; want TLSv1.x", v, err)
		}
		// The pooled TLS connection is reused: its liveness check before
		// reuse must not mistake TLS for a dead connection.
		before, _ := p.connCounts()
		for range 5 {
			if _, err := sslVersion(db); err != nil {
				t.Fatal(err)
			}
		}
		if after, _ := p.connCounts(); after != before {
			t.Errorf("%d new backend connections for 5 sequential statements; want the pooled one reused", after-before)
		}
		if v, err := sslVersion(p.userDB(t, "tlsonly")); err != nil || v == "" {
			t.Errorf("REQUIRE SSL user over use_ssl=1: Ssl_version %q, err %v", v, err)
		}
	})

	t.Run("use_ssl changed at runtime", func(t *testing.T) {
		cfg := tlsProxyConfig(b, false, nil)
		p := startProxy(t, cfg)
		db := p.userDB(t, testbed.AppUser)
		if v, err := sslVersion(db); err != nil || v != "" {
			t.Fatalf("use_ssl=0: Ssl_version %q, err %v", v, err)
		}
		cfg.MySQLServers[0].UseSSL = 1
		p.reconfigure(t, cfg)
		if v, err := sslVersion(db); err != nil || v == "" {
			t.Errorf("after use_ssl=1: Ssl_version %q, err %v; a plaintext pooled connection was reused", v, err)
		}
		cfg.MySQLServers[0].UseSSL = 0
		p.reconfigure(t, cfg)
		if v, err := sslVersion(db); err != nil || v != "" {
			t.Errorf("after use_ssl=0 again: Ssl_version %q, err %v", v, err)
		}
	})

	t.Run("ssl_p2s_ca verifies the server", func(t *testing.T) {
		p := startProxy(t, tlsProxyConfig(b, true, map[string]string{"ssl_p2s_ca": b.CA.Cert}))
		if v, err := sslVersion(p.userDB(t, testbed.AppUser)); err != nil || v == "" {
			t.Errorf("server certificate from the configured CA: Ssl_version %q, err %v", v, err)
		}

		p = startProxy(t, tlsProxyConfig(b, true, map[string]string{"ssl_p2s_ca": other.Cert}))
		_, err := sslVersion(p.userDB(t, testbed.AppUser))
		if err == nil || !strings.Contains(err.Error(), "is not trusted by mysql-ssl_p2s_ca="+other.Cert) {
			t.Errorf("server certificate of another CA: %v, want a verification error naming mysql-ssl_p2s_ca", err)
		}
		if _, errs := p.connCounts(); errs == 0 {
			t.Error("the failed verification is not counted as a connect error")
		}
	})

	t.Run("ssl_p2s_crl", func(t *testing.T) {
		crl := dir + "/revoked.crl"
		if err := b.CA.WriteCRL(crl, b.ServerSerial); err != nil {
			t.Fatal(err)
		}
		p := startProxy(t, tlsProxyConfig(b, true, map[string]string{"ssl_p2s_ca": b.CA.Cert, "ssl_p2s_crl": crl}))
		if _, err := sslVersion(p.userDB(t, testbed.AppUser)); err == nil || !strings.Contains(err.Error(), "is revoked") {
			t.Errorf("revoked server certificate: %v, want a revocation error", err)
		}
	})

	t.Run("ssl_p2s_cert and ssl_p2s_key", func(t *testing.T) {
		cert, key, _, err := b.CA.Issue(dir, "client", "sqlgate")
		if err != nil {
			t.Fatal(err)
		}
		p := startProxy(t, tlsProxyConfig(b, true, nil))
		if _, err := sslVersion(p.userDB(t, "x509")); err == nil || !strings.Contains(err.Error(), "Access denied") {
			t.Errorf("REQUIRE X509 user without a client certificate: %v, want access denied", err)
		}
		p = startProxy(t, tlsProxyConfig(b, true, map[string]string{"ssl_p2s_cert": cert, "ssl_p2s_key": key}))
		if v, err := sslVersion(p.userDB(t, "x509")); err != nil || v == "" {
			t.Errorf("REQUIRE X509 user with the client certificate: Ssl_version %q, err %v", v, err)
		}
	})

	t.Run("mysql_servers_ssl_params", func(t *testing.T) {
		// The variables name the wrong CA; the server's row, for every
		// user, the right one; a row for one user wins over it.
		cfg := tlsProxyConfig(b, true, map[string]string{"ssl_p2s_ca": other.Cert})
		cfg.MySQLServersSSLParams = []config.ServerSSLParams{{Hostname: "127.0.0.1", Port: b.Primary.Port, SSLCA: b.CA.Cert}}
		p := startProxy(t, cfg)
		if v, err := sslVersion(p.userDB(t, testbed.AppUser)); err != nil || v == "" {
			t.Errorf("server row with the right CA: Ssl_version %q, err %v", v, err)
		}
		cfg.MySQLServersSSLParams = append(cfg.MySQLServersSSLParams,
			config.ServerSSLParams{Hostname: "127.0.0.1", Port: b.Primary.Port, Username: "tlsonly", SSLCA: other.Cert})
		p = startProxy(t, cfg)
		if _, err := sslVersion(p.userDB(t, "tlsonly")); err == nil || !strings.Contains(err.Error(), `username="tlsonly"`) {
			t.Errorf("user row with the wrong CA: %v, want a verification error naming the row", err)
		}
		if v, err := sslVersion(p.userDB(t, testbed.AppUser)); err != nil || v == "" {
			t.Errorf("other user, server row: Ssl_version %q, err %v", v, err)
		}
	})

	t.Run("query timeout kills over TLS", func(t *testing.T) {
		// KILL QUERY goes on a separate connection as the session's user;
		// for a REQUIRE SSL user it must use TLS too, or the statement
		// runs to its end.
		p := startProxy(t, tlsProxyConfig(b, true, nil))
		db := p.userDB(t, "tlsonly")
		start := time.Now()
		var s string
		var n int
		err := db.QueryRow("SELECT /* query_timeout=300 */ 'annotated', SLEEP(5) FROM DUAL WHERE 1").Scan(&s, &n)
		var me *mysql.MySQLError
		stopped := (err == nil && n == 1) || (errors.As(err, &me) && me.Number == 1317)
		if d := time.Since(start); d > 3*time.Second || !stopped {
			t.Errorf("took %v, err %v, SLEEP returned %d; want it stopped by KILL QUERY after ~300ms", d, err, n)
		}
	})
}

// A server that does not offer TLS fails the connection when use_ssl=1
// (ProxySQL's client library would fall back to plaintext).
func TestBackendTLSServerWithoutTLS(t *testing.T) {
	b := sharedBed(t)
	cfg := baseConfig(b)
	cfg.MySQLVariables["connect_retries_on_failure"] = "0"
	cfg.MySQLServers = cfg.MySQLServers[:1]
	cfg.MySQLServers[0].UseSSL = 1
	p := startProxy(t, cfg)
	_, err := sslVersion(p.db(t, ""))
	if err == nil || !strings.Contains(err.Error(), "does not offer TLS, but use_ssl=1") {
		t.Errorf("use_ssl=1 on a server without TLS: %v, want a clear error", err)
	}
	if _, errs := p.connCounts(); errs == 0 {
		t.Error("the refused connection is not counted as a connect error")
	}
}
