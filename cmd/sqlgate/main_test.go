package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sqlgate/internal/testbed"
)

// TestBinaryServesFromProxySQLConfig starts the real binary the way the
// README says, from a proxysql.cnf, and talks to it with the mariadb CLI.
func TestBinaryServesFromProxySQLConfig(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	if _, err := exec.LookPath("mariadb"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mariadb client not found")
		}
		t.Skip("mariadb client not found: apt-get install mariadb-client")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	cnf := filepath.Join(dir, "proxysql.cnf")
	os.WriteFile(cnf, []byte(fmt.Sprintf(`# as ProxySQL's sample, trimmed
datadir="%s"
admin_variables = { admin_credentials="admin:admin" ; mysql_ifaces="127.0.0.1:%d" }
mysql_variables =
{
	threads=4
	max_connections=2048
	interfaces="127.0.0.1:%d"
	default_schema="information_schema"
	server_version="8.0.11"
	monitor_username="monitor"
	monitor_password="monitor"
}
mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0, max_connections=100 } )
mysql_users = ( { username = "app", password = "app", default_hostgroup = 0, active = 1 } )
mysql_query_rules = ( { rule_id=1, active=1, match_pattern="^SELECT .* FOR UPDATE$", destination_hostgroup=0, apply=1 } )
`, dir, freePort(t), port, bed.Primary.Port)), 0o644)

	var logs bytes.Buffer
	cmd := exec.Command(bin, "-f", "-c", cnf, "-D", dir)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sqlgate did not listen on %s:\n%s", addr, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := exec.Command("mariadb", "-h127.0.0.1", fmt.Sprintf("-P%d", port), "-uapp", "-papp", "-N", "-e", "SELECT 1").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("mariadb through sqlgate: %v %q\nlogs:\n%s", err, out, logs.String())
	}
	// A clean stop: a statement in flight finishes and the client gets
	// its result, an idle session is closed, the process exits within 2 s.
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(%s)/", addr))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	idle, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if err := idle.PingContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	inflight := make(chan error, 1)
	go func() {
		var v int
		inflight <- db.QueryRow("SELECT SLEEP(0.6)").Scan(&v)
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("sqlgate exited with %v after SIGTERM\n%s", err, logs.String())
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("sqlgate did not exit within 2s of SIGTERM:\n%s", logs.String())
	}
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if err := <-inflight; err != nil {
		t.Fatalf("the statement in flight at SIGTERM failed: %v\n%s", err, logs.String())
	}
	if err := idle.PingContext(context.Background()); err == nil {
		t.Fatal("an idle session still answers after the stop")
	}
	if !strings.Contains(logs.String(), "[INFO] stopped took=") {
		t.Fatalf("no 'stopped' line in the log:\n%s", logs.String())
	}
}

// TestBinaryRefusesBrokenConfig checks a syntax error names file, line and
// column and the process exits non-zero without serving.
func TestBinaryRefusesBrokenConfig(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cnf := filepath.Join(dir, "proxysql.cnf")
	os.WriteFile(cnf, []byte("datadir=\"/tmp\"\nmysql_variables =\n{\n\tthreads=4\n\tinterfaces=\n}\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-f", "-c", cnf, "-D", dir).CombinedOutput()
	if err == nil {
		t.Fatalf("sqlgate started with a broken config:\n%s", out)
	}
	if !strings.Contains(string(out), "proxysql.cnf:6:1: expected a value") {
		t.Fatalf("error does not name file, line 6 and column 1: %s", out)
	}
	// An invalid variable value is refused with its name.
	os.WriteFile(cnf, []byte("mysql_variables = { connect_timeout_server = \"soon\" }\n"), 0o644)
	out, err = exec.CommandContext(ctx, bin, "-f", "-c", cnf, "-D", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "connect_timeout_server") {
		t.Fatalf("invalid variable: err=%v out=%s", err, out)
	}
}
