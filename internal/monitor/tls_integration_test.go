package monitor

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/config"
	"sqlgate/internal/runtime"
	"sqlgate/internal/testbed"
)

// The monitor connects to a use_ssl=1 server over TLS, verified with
// mysql-ssl_p2s_ca: a monitor account that requires TLS on the server
// passes the connect and ping checks only then.
func TestMonitorUsesBackendTLS(t *testing.T) {
	b := testbed.ForTest(t, testbed.Options{TLS: true})
	if err := b.Exec(context.Background(), b.Primary, "CREATE USER 'montls'@'%' IDENTIFIED BY 'montls' REQUIRE SSL"); err != nil {
		t.Fatal(err)
	}
	other, err := testbed.NewCA(t.TempDir(), "other")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := &runtime.Store{}
	pool := backend.NewPool(log)
	defer pool.Close()
	publish := func(useSSL int, ca string) {
		t.Helper()
		snap, _, err := runtime.Build(&config.Config{
			MySQLVariables: map[string]string{"monitor_username": "montls", "monitor_password": "montls",
				"monitor_connect_interval": "100", "monitor_ping_interval": "100", "ssl_p2s_ca": ca},
			MySQLServers: []config.MySQLServer{{HostgroupID: 0, Hostname: "127.0.0.1", Port: b.Primary.Port, Status: "ONLINE",
				Weight: 1, MaxConnections: 10, UseSSL: useSSL}},
		})
		if err != nil {
			t.Fatal(err)
		}
		store.Publish(snap)
	}
	m := New(store, pool, nil, nil, log)
	defer m.Close()
	// waitFor waits for a connect and a ping result that started after
	// since and returns their errors ("" for success).
	waitFor := func(since time.Time) (connect, ping string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			c, cok := last(m.Log(ConnectLog), since)
			p, pok := last(m.Log(PingLog), since)
			if cok && pok {
				return c, p
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("no connect and ping results within 10s")
		return "", ""
	}

	publish(0, "")
	since := time.Now()
	m.Start()
	if c, p := waitFor(since); !strings.Contains(c, "Access denied") || !strings.Contains(p, "Access denied") {
		t.Errorf("use_ssl=0: connect %q, ping %q; want the REQUIRE SSL account refused", c, p)
	}

	publish(1, b.CA.Cert)
	time.Sleep(200 * time.Millisecond) // the checks started before it may still end
	if c, p := waitFor(time.Now()); c != "" || p != "" {
		t.Errorf("use_ssl=1, verified: connect %q, ping %q; want both to succeed", c, p)
	}

	publish(1, other.Cert)
	time.Sleep(200 * time.Millisecond)
	if c, p := waitFor(time.Now()); !strings.Contains(c, "not trusted by mysql-ssl_p2s_ca") || !strings.Contains(p, "not trusted") {
		t.Errorf("use_ssl=1, another CA: connect %q, ping %q; want verification errors (idle connections re-made)", c, p)
	}
}

// last returns the error of the newest row started after since.
func last(rows []Row, since time.Time) (string, bool) {
	var found *Row
	for i := range rows {
		if rows[i].TimeStartUs >= since.UnixMicro() {
			found = &rows[i]
		}
	}
	if found == nil {
		return "", false
	}
	if found.Error != nil {
		return *found.Error, true
	}
	return "", true
}
