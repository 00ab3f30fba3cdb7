package testbed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func TestBedReplicationFailoverAndStop(t *testing.T) {
	start := time.Now()
	b := ForTest(t, Options{Replicas: 2})
	t.Logf("primary + 2 replicas up in %v", time.Since(start))
	ctx := context.Background()
	app, err := b.DB(b.Primary, AppUser, AppPassword, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.Exec("CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitSync(ctx); err != nil {
		t.Fatal(err)
	}
	r, _ := b.DB(b.Replicas[0], AppUser, AppPassword, "test")
	defer r.Close()
	var n int
	if err := r.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("replica: count=%d err=%v", n, err)
	}
	var me *mysql.MySQLError
	if _, err := r.Exec("INSERT INTO t VALUES (2)"); !errors.As(err, &me) || me.Number != 1290 {
		t.Fatalf("app write on a read_only replica: %v, want error 1290", err)
	}
	mon, _ := b.DB(b.Replicas[1], MonitorUser, MonitorPassword, "")
	defer mon.Close()
	if _, err := mon.Exec("SHOW SLAVE STATUS"); err != nil {
		t.Fatalf("monitor SHOW SLAVE STATUS: %v", err)
	}

	// A restarted replica is fenced again (read_only does not persist).
	if err := b.StopNode(b.Replicas[1]); err != nil {
		t.Fatal(err)
	}
	if err := b.StartNode(ctx, b.Replicas[1]); err != nil {
		t.Fatal(err)
	}
	if ro, err := queryString(ctx, b.Replicas[1], "SELECT @@global.read_only"); err != nil || ro != "1" {
		t.Fatalf("restarted replica read_only=%q err=%v, want 1", ro, err)
	}

	old := b.Primary
	oldPID := old.PID()
	if err := b.KillNode(old); err != nil {
		t.Fatal(err)
	}
	if err := b.Promote(ctx, b.Replicas[0]); err != nil {
		t.Fatal(err)
	}
	np, _ := b.DB(b.Primary, AppUser, AppPassword, "test")
	defer np.Close()
	if _, err := np.Exec("INSERT INTO t VALUES (3)"); err != nil {
		t.Fatalf("write on the promoted primary: %v", err)
	}
	if err := b.WaitSync(ctx); err != nil {
		t.Fatal(err)
	}
	other := b.Replicas[len(b.Replicas)-1]
	o, _ := b.DB(other, AppUser, AppPassword, "test")
	defer o.Close()
	if err := o.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("remaining replica after failover: count=%d err=%v", n, err)
	}
	pids := []int{oldPID}
	for _, n := range b.Nodes {
		pids = append(pids, n.PID())
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if pid == 0 {
			continue
		}
		if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && len(st) > 0 {
			// A zombie not yet reaped by init still has a stat file; it
			// must at least not be running.
			if s := string(st); !containsState(s, "Z") {
				t.Errorf("pid %d still alive after Stop: %s", pid, s)
			}
		}
	}
}

func containsState(stat, st string) bool {
	for i := len(stat) - 1; i > 0; i-- {
		if stat[i] == ')' && i+2 < len(stat) {
			return string(stat[i+2]) == st
		}
	}
	return false
}

func TestTwoBedsConcurrently(t *testing.T) {
	a := ForTest(t, Options{})
	b := ForTest(t, Options{})
	if a.Primary.Port == b.Primary.Port {
		t.Fatal("two beds share a port")
	}
	for _, bed := range []*Bed{a, b} {
		if err := bed.Exec(context.Background(), bed.Primary, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
}

// Options.TLS: the node serves a certificate of the bed's CA, valid for
// 127.0.0.1, which a client verifying against that CA accepts.
func TestBedTLS(t *testing.T) {
	b := ForTest(t, Options{TLS: true})
	pem, err := os.ReadFile(b.CA.Cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("bed CA file holds no certificate")
	}
	if err := mysql.RegisterTLSConfig("testbed-ca", &tls.Config{RootCAs: roots, ServerName: b.Primary.Host}); err != nil {
		t.Fatal(err)
	}
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.TLSConfig = AppUser, AppPassword, "tcp", b.Primary.Addr(), "testbed-ca"
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name, version string
	if err := db.QueryRow("SHOW SESSION STATUS LIKE 'Ssl_version'").Scan(&name, &version); err != nil || !strings.HasPrefix(version, "TLSv1") {
		t.Fatalf("Ssl_version %q, err %v; want a TLS session", version, err)
	}
}
