package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"sqlgate/internal/health"
	"sqlgate/internal/testbed"
)

// TestHealthcheckCommand checks `sqlgate healthcheck` as keepalived's
// vrrp_script runs it: exit 0 only for a node that logs a client in, 1 with
// the reason otherwise, always within its deadline, even against a server
// that accepts and then says nothing.
func TestHealthcheckCommand(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	bin := buildBinary(t)
	p := newProxy(t, bin, fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=10 } )
mysql_users = ( { username="app", password="app", default_hostgroup=10 } )
mysql_replication_hostgroups = ( { writer_hostgroup=10, reader_hostgroup=20 } )`, bed.Primary.Port))
	app := fmt.Sprintf("127.0.0.1:%d", p.app)
	admin := fmt.Sprintf("127.0.0.1:%d", p.admin)
	// A listener that accepts and never greets: a hung node.
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	closed := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	for _, tc := range []struct {
		name string
		args []string
		code int
		why  string
	}{
		{"login", []string{"-mysql", app, "-user", "app", "-password", "app"}, 0, ""},
		{"greeting only", []string{"-mysql", app}, 0, ""},
		{"writer online", []string{"-mysql", app, "-user", "app", "-password", "app", "-require-writer", "-admin", admin}, 0, ""},
		{"wrong password", []string{"-mysql", app, "-user", "app", "-password", "nope"}, 1, "Access denied"},
		{"nothing listening", []string{"-mysql", closed}, 1, "refused"},
		{"hung server", []string{"-mysql", hung.Addr().String(), "-timeout", "300ms"}, 1, "no greeting"},
		{"hung server, login", []string{"-mysql", hung.Addr().String(), "-user", "app", "-timeout", "300ms"}, 1, "login as app"},
		{"bad admin password", []string{"-mysql", app, "-require-writer", "-admin", admin, "-admin-password", "x"}, 1, "admin interface"},
		{"usage", []string{"-mysql", app, "extra"}, 2, "unexpected argument"},
	} {
		code, out, took := healthcheck(t, bin, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.why) {
			t.Errorf("%s: exit %d %q; want %d and %q", tc.name, code, out, tc.code, tc.why)
		}
		// It must never hang: against a silent server it gives up at its
		// deadline. The bound leaves room for starting the process (a
		// race build takes about a second); the check itself is 300-500 ms.
		if took > 4*time.Second {
			t.Errorf("%s: took %v; the check's deadline is at most 500 ms", tc.name, took)
		}
	}

	// No writer: the primary goes OFFLINE_SOFT.
	p.must("UPDATE mysql_servers SET status='OFFLINE_SOFT'; LOAD MYSQL SERVERS TO RUNTIME")
	if code, out, _ := healthcheck(t, bin, "-mysql", app, "-require-writer", "-admin", admin); code != 1 || !strings.Contains(out, "no ONLINE server in a writer hostgroup") {
		t.Errorf("without a writer: exit %d %q", code, out)
	}
	if code, _, _ := healthcheck(t, bin, "-mysql", app); code != 0 {
		t.Errorf("without a writer but without -require-writer: exit %d", code)
	}
	p.must("UPDATE mysql_servers SET status='ONLINE'; LOAD MYSQL SERVERS TO RUNTIME")

	// Paused: the client port is closed.
	p.must("PROXYSQL PAUSE")
	if code, out, _ := healthcheck(t, bin, "-mysql", app); code != 1 {
		t.Errorf("paused: exit %d %q", code, out)
	}
	p.must("PROXYSQL RESUME")
	if code, out, _ := healthcheck(t, bin, "-mysql", app, "-user", "app", "-password", "app"); code != 0 {
		t.Errorf("resumed: exit %d %q", code, out)
	}
}

// TestHealthcheckAgainstProxySQL runs the same probe against the real
// ProxySQL: it relies only on ProxySQL's own tables and protocol, so one
// keepalived setup serves a mixed cluster.
func TestHealthcheckAgainstProxySQL(t *testing.T) {
	ps := realProxySQL(t)
	bed := testbed.ForTest(t, testbed.Options{})
	bin := buildBinary(t)
	dir := t.TempDir()
	admin, app := freePort(t), freePort(t)
	cnf := filepath.Join(dir, "proxysql.cnf")
	os.WriteFile(cnf, []byte(fmt.Sprintf(`datadir="%s"
admin_variables = { admin_credentials="admin:admin" mysql_ifaces="127.0.0.1:%d" }
mysql_variables = { interfaces="127.0.0.1:%d" monitor_username="monitor" monitor_password="monitor" }
mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=10 } )
mysql_users = ( { username="app", password="app", default_hostgroup=10 } )
mysql_replication_hostgroups = ( { writer_hostgroup=10, reader_hostgroup=20 } )
`, dir, admin, app, bed.Primary.Port)), 0o644)
	cmd := exec.Command(ps, "-f", "-c", cnf, "-D", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	args := []string{"-mysql", fmt.Sprintf("127.0.0.1:%d", app), "-user", "app", "-password", "app",
		"-require-writer", "-admin", fmt.Sprintf("127.0.0.1:%d", admin)}
	var code int
	var out string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if code, out, _ = healthcheck(t, bin, args...); code == 0 {
			return
		}
	}
	t.Fatalf("healthcheck against ProxySQL: exit %d %q", code, out)
}

// TestHealthFile follows the status file keepalived reads through the
// node's life: starting, paused, resumed, frozen (SIGSTOP), killed with -9,
// and a clean stop that keeps 0 while its sessions drain and ends at 1.
func TestHealthFile(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	bin := buildBinary(t)
	p := newProxy(t, bin, fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=10 } )
mysql_users = ( { username="app", password="app", default_hostgroup=10 } )`, bed.Primary.Port))
	file := filepath.Join(p.dir, "health")
	p.kill()
	p.start("-health-file", file)
	waitHealth(t, p, file, true, 2*time.Second)
	st1, _ := os.Stat(file)
	time.Sleep(3 * health.Heartbeat)
	if st2, _ := os.Stat(file); !st2.ModTime().After(st1.ModTime()) {
		t.Error("the status file is not rewritten on every heartbeat")
	}

	p.must("PROXYSQL PAUSE")
	t.Logf("PAUSE → 1 after %v", waitHealth(t, p, file, false, time.Second))
	p.must("PROXYSQL RESUME")
	t.Logf("RESUME → 0 after %v", waitHealth(t, p, file, true, time.Second))

	p.cmd.Process.Signal(syscall.SIGSTOP)
	took := waitHealth(t, p, file, false, 2*time.Second)
	t.Logf("frozen → 1 after %v", took)
	p.cmd.Process.Signal(syscall.SIGCONT)
	waitHealth(t, p, file, true, time.Second)

	p.cmd.Process.Signal(syscall.SIGKILL)
	took = waitHealth(t, p, file, false, time.Second)
	t.Logf("SIGKILL → 1 after %v", took)
	// At once, through the closed pipe (typically a few ms), not after
	// the HangAfter (500 ms) of silence that also ends in a fault.
	if took >= health.HangAfter-100*time.Millisecond {
		t.Errorf("the guardian wrote the fault %v after SIGKILL; want it at once, not after the heartbeat timeout", took)
	}
	<-p.done
	p.cmd = nil

	// A clean stop with a statement in flight: 0 until it has replied.
	p.start("-health-file", file)
	waitHealth(t, p, file, true, 2*time.Second)
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/", p.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inflight := make(chan error, 1)
	go func() {
		var v int
		inflight <- db.QueryRow("SELECT SLEEP(0.5)").Scan(&v)
	}()
	time.Sleep(150 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	if ok, _ := health.ReadFile(file); !ok {
		t.Error("the status file said 1 while the node was still answering a statement")
	}
	if err := <-inflight; err != nil {
		t.Errorf("statement in flight at SIGTERM: %v", err)
	}
	select {
	case <-p.done:
		p.cmd = nil
	case <-time.After(3 * time.Second):
		t.Fatalf("no exit after SIGTERM\n%s", tail(p.logs.String(), 20))
	}
	if ok, err := health.ReadFile(file); ok || err != nil {
		t.Errorf("after the stop the status file says healthy=%v (%v)", ok, err)
	}
	if out, _ := exec.Command("pgrep", "-f", health.GuardianCommand+" -file "+file).Output(); len(out) > 0 {
		t.Errorf("guardian still running after the stop: pid %s", out)
	}
}

// TestGracefulStopLosesNoStatement stops a node with SIGTERM under a
// steady write load: every statement the clients sent gets its answer.
// Statements that could not be sent (the port already closed) are retried
// by the clients, as any reconnecting client does; none may fail after it
// was sent, and every acknowledged write is in the database.
func TestGracefulStopLosesNoStatement(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	bin := buildBinary(t)
	p := newProxy(t, bin, fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=10 } )
mysql_users = ( { username="app", password="app", default_hostgroup=10 } )`, bed.Primary.Port))
	if err := bed.Exec(context.Background(), bed.Primary, "CREATE TABLE test.drain (id BIGINT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		var next atomic.Int64
		next.Store(int64(round) * 1_000_000)
		var mu sync.Mutex
		var acked []int64
		var lost []string
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var wg sync.WaitGroup
		var stopped atomic.Bool
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := mysql.NewConfig()
				c.User, c.Passwd, c.Net, c.Addr = "app", "app", "tcp", fmt.Sprintf("127.0.0.1:%d", p.app)
				c.Timeout, c.ReadTimeout, c.WriteTimeout = time.Second, 3*time.Second, 3*time.Second
				// Half the clients use the text protocol, half prepared
				// statements (PREPARE, EXECUTE, CLOSE per statement); a
				// quarter wrap two writes in a transaction.
				c.InterpolateParams = w%2 == 0
				db, _ := sql.Open("mysql", c.FormatDSN())
				defer db.Close()
				db.SetMaxOpenConns(1)
				for ctx.Err() == nil {
					id := next.Add(1)
					var err error
					if w%4 == 3 {
						err = insertTx(ctx, db, id, next.Add(1))
						if err == nil {
							mu.Lock()
							acked = append(acked, id+1)
							mu.Unlock()
						}
					} else {
						_, err = db.ExecContext(ctx, "INSERT INTO test.drain VALUES (?)", id)
					}
					switch {
					case err == nil:
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
					case stopped.Load() && isRefused(err):
						// Not sent: the node is gone. A real client would
						// reconnect elsewhere; this one is done.
						return
					case ctx.Err() != nil:
						return
					default:
						mu.Lock()
						lost = append(lost, err.Error())
						mu.Unlock()
						return
					}
					if w%2 == 1 {
						// Half the clients leave their connection idle
						// between statements, as an application does.
						time.Sleep(time.Duration(5+w) * time.Millisecond)
					}
				}
			}()
		}
		time.Sleep(500 * time.Millisecond)
		stopped.Store(true)
		p.stop(t, false, 3*time.Second)
		wg.Wait()
		cancel()
		if len(lost) > 0 {
			t.Errorf("round %d: %d statements failed after they were sent: %q\n%s", round, len(lost), lost, tail(p.logs.String(), 20))
		}
		root, err := bed.RootDB(bed.Primary)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		root.QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM test.drain WHERE id > %d AND id <= %d", round*1_000_000, next.Load())).Scan(&n)
		root.Close()
		if n < len(acked) {
			t.Errorf("round %d: %d writes acknowledged, %d in the table", round, len(acked), n)
		}
		t.Logf("round %d: %d writes acknowledged before the stop, %d lost", round, len(acked), len(lost))
		p.start()
	}
}

// insertTx writes two rows in one transaction.
func insertTx(ctx context.Context, db *sql.DB, a, b int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO test.drain VALUES (?)", a); err != nil {
		tx.Rollback()
		return err
	}
	time.Sleep(2 * time.Millisecond) // the stop may land inside the transaction
	if _, err := tx.ExecContext(ctx, "INSERT INTO test.drain VALUES (?)", b); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
