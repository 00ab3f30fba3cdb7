package frontend_test

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
	"testing"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/testbed"
	"sqlgate/internal/wire"
)

// TestLongDataIsBounded: COM_STMT_SEND_LONG_DATA chunks a session buffers
// are bounded by mysql-max_allowed_packet; past it the execute fails with
// the server's error 1153, nothing stays buffered, and the session goes on.
func TestLongDataIsBounded(t *testing.T) {
	bed := sharedBed(t)
	cfg := baseConfig(bed)
	cfg.MySQLVariables["max_allowed_packet"] = "4194304"
	p := startProxy(t, cfg)
	// The driver sends a []byte argument of 512 KB or more as long data,
	// in chunks of up to 1 MB.
	db := p.db(t, "maxAllowedPacket=1048576")
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(context.Background(), "SELECT LENGTH(?)", bytes.Repeat([]byte{'a'}, 3<<20)).Scan(&n); err != nil || n != 3<<20 {
		t.Fatalf("3 MB of long data under a 4 MB limit: %d, %v", n, err)
	}
	err = conn.QueryRowContext(context.Background(), "SELECT LENGTH(?)", bytes.Repeat([]byte{'b'}, 10<<20)).Scan(&n)
	if err == nil || !strings.Contains(err.Error(), "1153") || !strings.Contains(err.Error(), "max_allowed_packet") {
		t.Fatalf("10 MB of long data under a 4 MB limit: %d, %v; want error 1153", n, err)
	}
	if err := conn.QueryRowContext(context.Background(), "SELECT LENGTH(?)", bytes.Repeat([]byte{'c'}, 2<<20)).Scan(&n); err != nil || n != 2<<20 {
		t.Fatalf("the session after the refusal: %d, %v", n, err)
	}
}

// TestPreparedStatementsAreBounded: one client cannot hold more than
// maxClientStmts statements (error 1461), and a loop of prepares and
// closes inside one transaction leaves the backend with a bounded number
// of statements instead of exhausting its max_prepared_stmt_count.
func TestPreparedStatementsAreBounded(t *testing.T) {
	bed := sharedBed(t)
	p := startProxy(t, baseConfig(bed))
	ctx := context.Background()
	db := p.db(t, "")
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var held []*sql.Stmt
	var limitErr error
	for i := 0; i < 5000 && limitErr == nil; i++ {
		st, err := conn.PrepareContext(ctx, fmt.Sprintf("SELECT %d", i))
		if err != nil {
			limitErr = err
			break
		}
		held = append(held, st)
	}
	if mysqlErrNo(limitErr) != 1461 || len(held) != 4096 {
		t.Fatalf("after %d statements: %v; want error 1461 at 4096", len(held), limitErr)
	}
	for _, st := range held {
		st.Close()
	}
	if _, err := conn.PrepareContext(ctx, "SELECT 'after closing'"); err != nil {
		t.Fatalf("prepare after closing: %v", err)
	}

	root, err := bed.RootDB(bed.Primary)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	count := func() int {
		var name string
		var n int
		if err := root.QueryRow("SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'").Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	peak := 0
	for i := 0; i < 17000; i++ { // more than MariaDB's default max_prepared_stmt_count
		st, err := tx.PrepareContext(ctx, fmt.Sprintf("SELECT %d + 1", i))
		if err != nil {
			t.Fatalf("prepare %d in a transaction: %v", i, err)
		}
		st.Close()
		if i%2000 == 0 {
			peak = max(peak, count()-before)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if peak > 100 {
		t.Errorf("a prepare/close loop in a transaction left up to %d statements on the backend", peak)
	}
}

// TestResetKeepsMultiStatementsOption: COM_RESET_CONNECTION leaves the
// multi-statements option as it was, and the connection's idea of it must
// agree with the server's, or a session that needs multi-statements gets
// 1064 on a connection the previous user had switched them off on.
func TestResetKeepsMultiStatementsOption(t *testing.T) {
	bed := sharedBed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, on := range []bool{false, true} {
		bc, err := backend.Dial(ctx, "tcp", bed.Primary.Addr(), backend.DialOptions{User: testbed.AppUser, Cred: wire.CleartextCredential(testbed.AppPassword)})
		if err != nil {
			t.Fatal(err)
		}
		opt := "\x01\x00"
		if on {
			opt = "\x00\x00"
		}
		if _, err := bc.Exec(wire.ComSetOption, opt); err != nil {
			t.Fatal(err)
		}
		bc.MultiStmt = on
		if err := bc.Reset(); err != nil {
			t.Fatal(err)
		}
		_, err = bc.Exec(wire.ComQuery, "DO 1; DO 2")
		if server := err == nil; server != bc.MultiStmt {
			t.Errorf("multi-statements %v before the reset: the server has them %v after it, sqlgate assumes %v (%v)", on, server, bc.MultiStmt, err)
		}
		bc.Broken = true
		bc.Close()
	}
}

// TestDropCurrentSchemaThenUse: dropping the current database leaves the
// session with none (as on the server), so USE of a database of the same
// name, created again, is applied rather than assumed.
func TestDropCurrentSchemaThenUse(t *testing.T) {
	bed := sharedBed(t)
	p := startProxy(t, baseConfig(bed))
	ctx := context.Background()
	conn, err := p.db(t, "").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"DROP SCHEMA IF EXISTS hard_x", "CREATE SCHEMA hard_x", "USE hard_x", "DROP SCHEMA hard_x"} {
		mustExec(t, conn, q)
	}
	if db := queryString(t, conn, "SELECT IFNULL(DATABASE(), 'NULL')"); db != "NULL" {
		t.Errorf("DATABASE() after dropping the current database: %s", db)
	}
	for _, q := range []string{"CREATE SCHEMA hard_x", "USE hard_x", "CREATE TABLE t (id INT)"} {
		mustExec(t, conn, q)
	}
	if db := queryString(t, conn, "SELECT DATABASE()"); db != "hard_x" {
		t.Errorf("DATABASE() after USE of the re-created database: %s", db)
	}
	mustExec(t, conn, "DROP SCHEMA hard_x")
}

// TestLoadDataLocalNeedsTheClientsCapability: with
// mysql-enable_load_data_local_infile=true, a client that did not enable
// local infile gets the server's error 4166, not an OK with 0 rows.
func TestLoadDataLocalNeedsTheClientsCapability(t *testing.T) {
	if _, err := exec.LookPath("mariadb"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mariadb client not found")
		}
		t.Skip("mariadb client not found: apt-get install mariadb-client")
	}
	bed := sharedBed(t)
	cfg := baseConfig(bed)
	cfg.MySQLVariables["enable_load_data_local_infile"] = "true"
	p := startProxy(t, cfg)
	host, port, _ := net.SplitHostPort(p.Addr)
	f := filepath.Join(t.TempDir(), "data.tsv")
	os.WriteFile(f, []byte("1\n2\n"), 0o644)
	out, err := exec.Command("mariadb", "-h"+host, "-P"+port, "-u"+testbed.AppUser, "-p"+testbed.AppPassword, "--local-infile=0", "test",
		"-e", "CREATE TABLE IF NOT EXISTS ld_cap (id INT); LOAD DATA LOCAL INFILE '"+f+"' INTO TABLE ld_cap").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "4166") {
		t.Fatalf("LOAD DATA LOCAL from a client without local infile: %v %s; want error 4166", err, out)
	}
}

// TestKillTargetsProxySessions: CONNECTION_ID() is the client's sqlgate
// session id; KILL QUERY with it stops exactly that client's statement,
// KILL [CONNECTION] ends that client's session, and neither statement is
// re-run; an id of another user's session, or no session, is unknown.
func TestKillTargetsProxySessions(t *testing.T) {
	bed := sharedBed(t)
	cfg := baseConfig(bed)
	cfg.MySQLUsers = append(cfg.MySQLUsers, cfgUser("monitor", "monitor"))
	p := startProxy(t, cfg)
	ctx := context.Background()
	db := p.db(t, "")
	conn := func() *sql.Conn {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	victim, killer := conn(), conn()
	id := queryString(t, victim, "SELECT CONNECTION_ID()")
	if id2 := queryString(t, victim, "select connection_id();"); id2 != id {
		t.Fatalf("CONNECTION_ID() changed from %s to %s within one session", id, id2)
	}
	sleep := func(c *sql.Conn) (time.Duration, error) {
		start := time.Now()
		var v int
		err := c.QueryRowContext(ctx, "SELECT SLEEP(20)").Scan(&v)
		if err == nil && v != 1 {
			err = fmt.Errorf("SLEEP returned %d, not interrupted", v)
		}
		return time.Since(start), err
	}
	for _, kill := range []string{"KILL QUERY ", "KILL CONNECTION "} {
		done := make(chan error, 1)
		var took time.Duration
		go func() {
			var err error
			took, err = sleep(victim)
			done <- err
		}()
		time.Sleep(500 * time.Millisecond)
		mustExec(t, killer, kill+id)
		select {
		case err := <-done:
			t.Logf("%s: the victim's SLEEP(20) ended after %v: %v", kill, took.Round(time.Millisecond), err)
			if kill == "KILL CONNECTION " && err == nil {
				t.Errorf("the killed session's statement succeeded")
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s%s: the victim's SLEEP(20) did not stop (re-run?)", kill, id)
		}
		if kill == "KILL QUERY " {
			if got := queryString(t, victim, "SELECT CONNECTION_ID()"); got != id {
				t.Errorf("after KILL QUERY the session changed: %s", got)
			}
		} else if err := victim.PingContext(ctx); err == nil {
			t.Errorf("the session survived KILL CONNECTION")
		}
	}
	other, err := sql.Open("mysql", p.dsn("monitor", "monitor", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	oc, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	otherID := queryString(t, oc, "SELECT CONNECTION_ID()")
	for _, target := range []string{otherID, "4000000000"} {
		if _, err := killer.ExecContext(ctx, "KILL "+target); mysqlErrNo(err) != 1094 {
			t.Errorf("KILL %s (another user's session, or none): %v, want 1094", target, err)
		}
	}
	if err := oc.PingContext(ctx); err != nil {
		t.Errorf("another user's session was killed: %v", err)
	}
}

// TestConnectWithMissingDatabaseFails: a login naming a database that
// does not exist fails with the server's 1049 (or 1044 when not
// permitted), as a direct connection does, instead of succeeding and
// failing every statement; an existing one works. (The test bed's app
// user may use every database, so 1044 is not exercised here.)
func TestConnectWithMissingDatabaseFails(t *testing.T) {
	bed := sharedBed(t)
	p := startProxy(t, baseConfig(bed))
	try := func(db string) error {
		c, err := sql.Open("mysql", p.dsn(testbed.AppUser, testbed.AppPassword, db, ""))
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Ping()
	}
	if err := try("no_such_db_here"); mysqlErrNo(err) != 1049 {
		t.Errorf("connect with a missing database: %v, want 1049", err)
	}
	if err := try("test"); err != nil {
		t.Errorf("connect with an existing database: %v", err)
	}
}

// TestChangeUserFromLibmariadb: COM_CHANGE_USER from a libmariadb client
// (Debian's python3-mysqldb) works with the right password, and a failed
// change leaves the session open as the user it was.
func TestChangeUserFromLibmariadb(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import MySQLdb").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-mysqldb is missing (apt-get install python3-mysqldb)")
		}
		t.Skip("python3-mysqldb is missing: apt-get install python3-mysqldb")
	}
	bed := sharedBed(t)
	cfg := baseConfig(bed)
	cfg.MySQLUsers = append(cfg.MySQLUsers, cfgUser("monitor", "monitor"))
	p := startProxy(t, cfg)
	host, port, _ := net.SplitHostPort(p.Addr)
	out, err := exec.Command("/usr/bin/python3", "testdata/change_user.py", host, port, testbed.AppUser, testbed.AppPassword, "monitor", "monitor").CombinedOutput()
	if err != nil {
		t.Fatalf("change_user.py: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{"before app@", "after monitor@", "refused 1045", "still monitor@"} {
		if !strings.Contains(got, want) {
			t.Errorf("libmariadb change_user: output lacks %q:\n%s", want, got)
		}
	}
}
