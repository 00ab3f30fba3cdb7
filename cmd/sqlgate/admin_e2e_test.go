package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"sqlgate/internal/testbed"
)

// TestAdminReconfigureUnderLoad drives a full reconfiguration with the
// mariadb CLI while clients run through port 6033: add a reader hostgroup
// and a read rule, see reads move there in stats_mysql_connection_pool,
// remove them, see reads move back, with zero client errors.
func TestAdminReconfigureUnderLoad(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{Replicas: 1})
	ctx := context.Background()
	if err := bed.Exec(ctx, bed.Primary, "CREATE TABLE IF NOT EXISTS test.reconf (id INT PRIMARY KEY, v INT)"); err != nil {
		t.Fatal(err)
	}
	bed.Exec(ctx, bed.Primary, "REPLACE INTO test.reconf VALUES (1, 1), (2, 2), (3, 3)")
	if err := bed.WaitSync(ctx); err != nil {
		t.Fatal(err)
	}
	replica := bed.Replicas[0]
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )`, bed.Primary.Port))

	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/test", p.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(8)
	var reads, writes, errs atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	deadline := time.Now().Add(90 * time.Second) // bound the load loop
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if w == 0 && i%5 == 0 {
					_, err = db.Exec("UPDATE reconf SET v=v+1 WHERE id=1")
					writes.Add(1)
				} else {
					var v int
					err = db.QueryRow("SELECT v FROM reconf WHERE id=?", 1+i%3).Scan(&v)
					reads.Add(1)
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}(w)
	}
	queries := func(hg int) int64 {
		out := p.must(fmt.Sprintf("SELECT IFNULL(SUM(Queries),0) FROM stats_mysql_connection_pool WHERE hostgroup=%d", hg))
		n, _ := strconv.ParseInt(out, 10, 64)
		return n
	}
	waitGrowth := func(what string, hg int) {
		t.Helper()
		before := queries(hg)
		end := time.Now().Add(10 * time.Second)
		for queries(hg) < before+50 {
			if time.Now().After(end) {
				t.Fatalf("%s: hostgroup %d queries did not grow from %d\n%s", what, hg, before, p.must("SELECT * FROM stats_mysql_connection_pool"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitGrowth("initial load", 0)

	// The stats tables show the live load.
	num := func(q string) int64 {
		t.Helper()
		out := p.must(q)
		n, err := strconv.ParseInt(out, 10, 64)
		if err != nil {
			t.Fatalf("%s: %q is not a number", q, out)
		}
		return n
	}
	if n := num("SELECT frontend_connections FROM stats_mysql_users WHERE username='app'"); n < 1 {
		t.Errorf("stats_mysql_users: app has %d connections", n)
	}
	if n := num("SELECT COUNT(*) FROM stats_mysql_processlist WHERE user='app' AND db='test'"); n < 1 {
		t.Errorf("stats_mysql_processlist: %d app sessions", n)
	}
	if n := num("SELECT Total_cnt FROM stats_mysql_commands_counters WHERE Command='SELECT'"); n < 50 {
		t.Errorf("stats_mysql_commands_counters SELECT = %d", n)
	}
	if n := num("SELECT SUM(sum_rows_sent) FROM stats_mysql_query_digest WHERE digest_text='SELECT v FROM reconf WHERE id=?' AND username='app' AND schemaname='test'"); n < 50 {
		t.Errorf("digest of the read: sum_rows_sent = %d\n%s", n, p.must("SELECT hostgroup, digest, digest_text, count_star, sum_rows_sent FROM stats_mysql_query_digest"))
	}
	if n := num("SELECT SUM(sum_rows_affected) FROM stats_mysql_query_digest WHERE digest_text LIKE 'UPDATE reconf SET v=v+?%'"); n < 1 {
		t.Errorf("digest of the write: sum_rows_affected = %d\n%s", n, p.must("SELECT digest_text, count_star FROM stats_mysql_query_digest"))
	}
	// Reading the _reset table empties the digest map.
	readDigest := "SELECT IFNULL(SUM(count_star),0) FROM stats_mysql_query_digest WHERE digest_text='SELECT v FROM reconf WHERE id=?'"
	c1 := num(readDigest)
	p.must("SELECT COUNT(*) FROM stats_mysql_query_digest_reset")
	if c2 := num(readDigest); c2 >= c1 {
		t.Errorf("count_star %d after reading stats_mysql_query_digest_reset, %d before", c2, c1)
	}

	// Add the replica as hostgroup 1 and route SELECTs there.
	p.must(fmt.Sprintf(`INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (1, '127.0.0.1', %d);
LOAD MYSQL SERVERS TO RUNTIME;
INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) VALUES (10, 1, '^SELECT', 1, 1);
LOAD MYSQL QUERY RULES TO RUNTIME`, replica.Port))
	waitGrowth("after adding the read rule", 1)
	// Reads left hostgroup 0: only the writer's UPDATEs reach it now.
	hg0 := queries(0)
	r1 := reads.Load()
	time.Sleep(time.Second)
	if d0, dr := queries(0)-hg0, reads.Load()-r1; d0 > dr/3 {
		t.Errorf("hostgroup 0 still serves reads: %d queries there for %d reads", d0, dr)
	}
	if hits := p.must("SELECT hits FROM stats_mysql_query_rules WHERE rule_id=10"); hits == "0" || hits == "" {
		t.Errorf("rule 10 hits = %q", hits)
	}

	// Remove both: reads move back to hostgroup 0, hostgroup 1 disappears.
	p.must(`DELETE FROM mysql_query_rules WHERE rule_id=10; LOAD MYSQL QUERY RULES TO RUNTIME;
DELETE FROM mysql_servers WHERE hostgroup_id=1; LOAD MYSQL SERVERS TO RUNTIME`)
	waitGrowth("after removing the rule", 0)
	if out := p.must("SELECT COUNT(*) FROM runtime_mysql_servers WHERE hostgroup_id=1"); out != "0" {
		t.Errorf("hostgroup 1 still in runtime_mysql_servers: %s", out)
	}
	close(stop)
	wg.Wait()
	t.Logf("load: %d reads, %d writes, %d errors", reads.Load(), writes.Load(), errs.Load())
	if errs.Load() != 0 {
		t.Fatalf("%d client errors during reconfiguration; first: %v", errs.Load(), firstErr.Load())
	}
	if reads.Load() < 200 {
		t.Fatalf("load too small to mean anything: %d reads", reads.Load())
	}
}

// TestAdminChecksumsAndLayers checks version/epoch bookkeeping, the
// spec's checksum vector, SAVE TO DISK surviving kill -9 while unsaved
// memory edits do not, and the start-up precedence flags.
func TestAdminChecksumsAndLayers(t *testing.T) {
	bin := buildBinary(t)
	p := newProxy(t, bin, `mysql_servers = ( { address="127.0.0.1", port=3306, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )`)
	// ProxySQL's exact version/epoch rules first: every module at
	// version 1 after boot.
	p.kill()
	os.Remove(filepath.Join(p.dir, "proxysql.db"))
	p.start("-proxysql-boot-versions")

	boot := p.checksums()
	if len(boot) != 7 {
		t.Fatalf("runtime_checksums_values has %d rows, want 7: %v", len(boot), boot)
	}
	for name, v := range boot {
		if v[0] != "1" {
			t.Errorf("%s: version %s after boot, want 1", name, v[0])
		}
		if len(v[2]) != 18 || !strings.HasPrefix(v[2], "0x") {
			t.Errorf("%s: checksum %q is not in ProxySQL's 0x + 16 hex format", name, v[2])
		}
	}
	if boot["proxysql_servers"][2] != "0x0000000000000000" {
		t.Errorf("empty proxysql_servers checksum = %s", boot["proxysql_servers"][2])
	}
	// ProxySQL's documented checksum test vector.
	time.Sleep(1100 * time.Millisecond) // let the epoch (seconds) move
	p.must(`INSERT INTO proxysql_servers VALUES ('127.0.0.1', 6032, 0, 'proxysql01'), ('127.0.0.1', 6033, 0, '');
LOAD PROXYSQL SERVERS TO RUNTIME`)
	after := p.checksums()
	ps := after["proxysql_servers"]
	if ps[0] != "2" || ps[2] != "0xD98E3A505517CA52" {
		t.Errorf("proxysql_servers after LOAD = %v, want version 2 checksum 0xD98E3A505517CA52", ps)
	}
	if e0, _ := strconv.Atoi(boot["proxysql_servers"][1]); ps[1] <= strconv.Itoa(e0) {
		t.Errorf("epoch did not move: boot %s, after %s", boot["proxysql_servers"][1], ps[1])
	}
	for name, v := range after {
		if name != "proxysql_servers" && v != boot[name] {
			t.Errorf("%s changed although only proxysql_servers was loaded: %v -> %v", name, boot[name], v)
		}
	}
	// A LOAD with no change still bumps the version; the checksum stays.
	g1 := p.must("SELECT GLOBAL_CHECKSUM()")
	p.must("LOAD MYSQL USERS TO RUNTIME")
	u := p.checksums()["mysql_users"]
	if u[0] != "2" || u[2] != boot["mysql_users"][2] {
		t.Errorf("mysql_users after a no-op LOAD = %v, want version 2 and checksum %s", u, boot["mysql_users"][2])
	}
	if g2 := p.must("SELECT GLOBAL_CHECKSUM()"); g2 == g1 {
		t.Error("GLOBAL_CHECKSUM() did not change with the mysql_users version")
	}
	// ProxySQL's single-user form (it accepts any name, as ProxySQL
	// 2.7.2 does) loads the users: one more version, same checksum.
	p.must("LOAD MYSQL USER app TO RUNTIME")
	if u := p.checksums()["mysql_users"]; u[0] != "3" || u[2] != boot["mysql_users"][2] {
		t.Errorf("mysql_users after LOAD MYSQL USER app = %v, want version 3 and checksum %s", u, boot["mysql_users"][2])
	}

	// Saved survives kill -9; unsaved memory edits do not.
	p.must(`INSERT INTO mysql_users (username, password, default_hostgroup) VALUES ('saved', 's', 0);
LOAD MYSQL USERS TO RUNTIME; SAVE MYSQL USERS TO DISK;
INSERT INTO mysql_users (username, password, default_hostgroup) VALUES ('unsaved', 'u', 0);
UPDATE mysql_servers SET comment='unsaved edit'`)
	after2 := p.checksums()
	p.kill()
	p.start()
	if out := p.must("SELECT username FROM mysql_users ORDER BY username"); out != "app\nsaved" {
		t.Errorf("users after kill -9 and restart = %q, want app and saved", out)
	}
	// As in ProxySQL: one frontend and one backend row per user.
	if out := p.must("SELECT username, frontend, backend FROM runtime_mysql_users WHERE username='saved' ORDER BY frontend"); out != "saved\t0\t1\nsaved\t1\t0" {
		t.Errorf("saved user not in runtime after restart: %q", out)
	}
	if out := p.must("SELECT comment FROM mysql_servers"); out != "" {
		t.Errorf("unsaved memory edit survived a restart: %q", out)
	}
	// sqlgate's own boot rule: a module saved as it was loaded starts at
	// version 2 with the epoch of that LOAD, so that peers can sync from
	// it (the version-1 trap fix); one from the config file (servers), or
	// an empty one, stays at 1.
	if cs := p.checksums(); cs["mysql_users"][0] != "2" || cs["mysql_users"][1] != after2["mysql_users"][1] ||
		cs["mysql_query_rules"][0] != "1" || cs["mysql_servers_v2"][0] != "1" {
		t.Errorf("versions after restart: %v, want 2 and the LOAD's epoch %s for mysql_users (saved), 1 for the others", cs, after2["mysql_users"][1])
	}

	// --reload merges the config file into the saved database.
	p.kill()
	p.start("--reload")
	if out := p.must("SELECT username FROM mysql_users ORDER BY username"); out != "app\nsaved" {
		t.Errorf("--reload: users = %q, want the saved user kept", out)
	}
	// --initial starts over from the config file.
	p.kill()
	p.start("--initial")
	if out := p.must("SELECT username FROM mysql_users ORDER BY username"); out != "app" {
		t.Errorf("--initial: users = %q, want only the config file's", out)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "proxysql.db.bak")); err != nil {
		t.Errorf("--initial did not keep the old database as proxysql.db.bak: %v", err)
	}

	// A corrupt database: refuse to start naming the file; --initial recovers.
	p.kill()
	db := filepath.Join(p.dir, "proxysql.db")
	os.WriteFile(db, bytes.Repeat([]byte("not a database "), 100), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-f", "-c", p.cnf, "-D", p.dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), db) || !strings.Contains(string(out), "--initial") {
		t.Fatalf("corrupt proxysql.db: err=%v output=%s", err, out)
	}
	p.start("--initial")
	if out := p.must("SELECT COUNT(*) FROM mysql_users"); out != "1" {
		t.Errorf("after --initial on a corrupt db: %s users", out)
	}
}

// TestAdminBadInput: every bad statement gets an error saying what is
// wrong, and the running configuration stays as it was.
func TestAdminBadInput(t *testing.T) {
	p := newProxy(t, buildBinary(t), `mysql_servers = ( { address="127.0.0.1", port=3306, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )
mysql_query_rules = ( { rule_id=1, active=1, match_digest="^SELECT", destination_hostgroup=0, apply=1 } )`)
	before := p.checksums()
	for _, tc := range []struct{ q, want string }{
		{"FROBNICATE ALL THE THINGS", "syntax error"},
		{"SELEC * FROM mysql_servers", "syntax error"},
		{"SELECT * FROM no_such_table", "no such table: no_such_table"},
		{"INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (0, '127.0.0.1', 3306)", "UNIQUE constraint failed: mysql_servers.hostgroup_id"},
		{"INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (0, 'x', 70000)", "CHECK constraint failed"},
		{"UPDATE mysql_servers SET weight=-1", "CHECK constraint failed"},
		{"LOAD MYSQL NOTHING TO RUNTIME", `unknown module "MYSQL NOTHING"`},
		{"SAVE MYSQL USERS TO CONFIG", "is not a valid command"},
		{"PROXYSQL RESTART", "not implemented by sqlgate"},
		{"SET mysql-max_connections=-5; LOAD MYSQL VARIABLES TO RUNTIME", "mysql-max_connections: value -5 out of range"},
		{"SET mysql-max_connections=10000; SET mysql-connect_timeout_server='soon'; LOAD MYSQL VARIABLES TO RUNTIME", "mysql-connect_timeout_server: expected an integer"},
		{"SET mysql-connect_timeout_server=1000; UPDATE mysql_query_rules SET match_digest='^SELECT (' WHERE rule_id=1; LOAD MYSQL QUERY RULES TO RUNTIME", "rule_id=1"},
		{"UPDATE mysql_query_rules SET match_digest='^SELECT' WHERE rule_id=1; UPDATE mysql_query_rules SET destination_hostgroup=42; LOAD MYSQL QUERY RULES TO RUNTIME", "column destination_hostgroup: hostgroup 42 has no servers"},
		{"UPDATE mysql_query_rules SET destination_hostgroup=0; INSERT INTO mysql_users (username, password, default_hostgroup) VALUES ('lost', 'x', 99); LOAD MYSQL USERS TO RUNTIME", "mysql_users row 2 (username=lost): column default_hostgroup: hostgroup 99"},
		{"DELETE FROM mysql_users WHERE username='lost'; UPDATE mysql_servers SET port='abc'; LOAD MYSQL SERVERS TO RUNTIME", "CHECK constraint failed"},
		{"INSERT INTO mysql_servers (hostgroup_id, hostname, port, status) VALUES (5, 'db', 3306, 'online'); UPDATE mysql_servers SET max_connections='lots' WHERE hostgroup_id=5; LOAD MYSQL SERVERS TO RUNTIME", "mysql_servers row 2 (hostgroup_id=5, hostname=db, port=3306): column max_connections: expected an integer"},
		{"DELETE FROM mysql_servers WHERE hostgroup_id=5; INSERT INTO mysql_galera_hostgroups (writer_hostgroup, backup_writer_hostgroup, reader_hostgroup, offline_hostgroup) VALUES (10, 11, 12, 13); LOAD MYSQL SERVERS TO RUNTIME", "Galera hostgroups are not implemented by sqlgate"},
		{"DELETE FROM mysql_galera_hostgroups; SET admin-cluster_check_interval_ms=1; LOAD ADMIN VARIABLES TO RUNTIME", "admin-cluster_check_interval_ms: value 1 is out of range"},
	} {
		p.mustFail(tc.q, tc.want)
		if now := p.checksums(); fmt.Sprint(now) != fmt.Sprint(before) {
			t.Fatalf("after %q runtime changed: %v -> %v", tc.q, before, now)
		}
	}
	// An unknown variable is acknowledged with ProxySQL's message and changes nothing.
	if out := p.must("SET mysql-no_such_variable='1'; SELECT COUNT(*) FROM global_variables WHERE variable_name='mysql-no_such_variable'"); out != "0" {
		t.Errorf("unknown variable was stored: %q", out)
	}
	// stats:stats reads stats tables only, and cannot change anything.
	stats := func(q string) (string, error) {
		out, err := exec.Command("mariadb", "-h127.0.0.1", "-P"+strconv.Itoa(p.admin), "-ustats", "-pstats", "-N", "-B", "-e", q).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := stats("SELECT COUNT(*) FROM stats_mysql_global WHERE Variable_Name='ProxySQL_Uptime'"); err != nil || out != "1" {
		t.Errorf("stats user reading stats_mysql_global: %v %q", err, out)
	}
	if out, err := stats("SELECT password FROM mysql_users"); err == nil {
		t.Errorf("stats user read mysql_users: %q", out)
	}
	if out, err := stats("LOAD MYSQL USERS TO RUNTIME"); err == nil || !strings.Contains(out, "read-only") {
		t.Errorf("stats user ran LOAD: %v %q", err, out)
	}
	if out, err := stats("DELETE FROM stats_mysql_global"); err == nil {
		t.Errorf("stats user deleted from stats: %q", out)
	}
	// Wrong password.
	out, err := exec.Command("mariadb", "-h127.0.0.1", "-P"+strconv.Itoa(p.admin), "-uadmin", "-pnope", "-e", "SELECT 1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Access denied for user 'admin'") {
		t.Errorf("wrong admin password: %v %s", err, out)
	}
}

// TestAdminGoDriver checks a Go program can drive the admin interface the
// way orchestration tools do.
func TestAdminGoDriver(t *testing.T) {
	p := newProxy(t, buildBinary(t), `mysql_servers = ( { address="127.0.0.1", port=3306, hostgroup=0 } )`)
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = "radmin", "radmin", "tcp", fmt.Sprintf("127.0.0.1:%d", p.admin)
	cfg.InterpolateParams = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec("UPDATE mysql_servers SET weight=? WHERE hostgroup_id=?", 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("rows affected = %d, want 1", n)
	}
	if _, err := db.Exec("LOAD MYSQL SERVERS TO RUNTIME"); err != nil {
		t.Fatal(err)
	}
	var w string
	if err := db.QueryRow("SELECT weight FROM runtime_mysql_servers WHERE hostgroup_id=0").Scan(&w); err != nil || w != "5" {
		t.Fatalf("runtime weight = %q, %v", w, err)
	}
	var text string
	if err := db.QueryRow("SELECT CONFIG FILE").Scan(&text); err != nil || !strings.Contains(text, "weight=5") {
		t.Fatalf("SELECT CONFIG FILE: %v\n%s", err, text)
	}
	// The generated file is a valid proxysql.cnf for sqlgate itself.
	path := filepath.Join(p.dir, "saved.cnf")
	if _, err := db.Exec("SAVE CONFIG TO FILE '" + path + "'"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// TestAdminOfflineSoftDrainsHardCuts: OFFLINE_SOFT lets an open
// transaction finish; OFFLINE_HARD cuts it (the server rolls it back).
func TestAdminOfflineSoftDrainsHardCuts(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	ctx := context.Background()
	bed.Exec(ctx, bed.Primary, "CREATE TABLE IF NOT EXISTS test.drain (id INT PRIMARY KEY)")
	bed.Exec(ctx, bed.Primary, "DELETE FROM test.drain")
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )`, bed.Primary.Port))
	p.must("SET mysql-connect_timeout_server_max=1000; LOAD MYSQL VARIABLES TO RUNTIME")
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/test", p.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO drain VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	p.must("UPDATE mysql_servers SET status='OFFLINE_SOFT'; LOAD MYSQL SERVERS TO RUNTIME")
	if _, err := tx.Exec("INSERT INTO drain VALUES (2)"); err != nil {
		t.Fatalf("OFFLINE_SOFT broke an open transaction: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit after OFFLINE_SOFT: %v", err)
	}
	// No ONLINE server left: a new statement fails naming the hostgroup.
	if _, err := db.Exec("INSERT INTO drain VALUES (3)"); err == nil || !strings.Contains(err.Error(), "hostgroup 0") {
		t.Fatalf("write with no ONLINE server: %v", err)
	}

	p.must("UPDATE mysql_servers SET status='ONLINE'; LOAD MYSQL SERVERS TO RUNTIME")
	tx, err = db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO drain VALUES (4)"); err != nil {
		t.Fatal(err)
	}
	p.must("UPDATE mysql_servers SET status='OFFLINE_HARD'; LOAD MYSQL SERVERS TO RUNTIME")
	_, err = tx.Exec("INSERT INTO drain VALUES (5)")
	if err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	if err == nil {
		t.Fatal("a transaction on an OFFLINE_HARD server kept running")
	}
	var ids string
	root, _ := bed.RootDB(bed.Primary)
	defer root.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		root.QueryRow("SELECT GROUP_CONCAT(id ORDER BY id) FROM test.drain").Scan(&ids)
		if ids == "1,2" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ids != "1,2" {
		t.Errorf("rows = %s, want 1,2 (the cut transaction rolled back)", ids)
	}
}

// TestRulesNextQueryFlagInAndDelay: next_query_flagIN selects the rules of
// the session's next statement only; delay holds a statement back.
func TestRulesNextQueryFlagInAndDelay(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )
mysql_query_rules = (
  { rule_id=1, active=1, match_pattern="^SELECT 'arm'", next_query_flagIN=5, apply=1 },
  { rule_id=2, active=1, flagIN=5, match_digest=".", error_msg="blocked by flag 5", apply=1 },
  { rule_id=3, active=1, match_pattern="^SELECT 'slow'", delay=300, apply=1 } )`, bed.Primary.Port))
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/test", p.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s string
	if err := c.QueryRowContext(ctx, "SELECT 'arm'").Scan(&s); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRowContext(ctx, "SELECT 'next'").Scan(&s); err == nil || !strings.Contains(err.Error(), "blocked by flag 5") {
		t.Fatalf("statement after next_query_flagIN=5: %v", err)
	}
	if err := c.QueryRowContext(ctx, "SELECT 'after'").Scan(&s); err != nil {
		t.Fatalf("next_query_flagIN must apply to one statement only: %v", err)
	}
	start := time.Now()
	if err := c.QueryRowContext(ctx, "SELECT 'slow'").Scan(&s); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("delay=300 rule: statement took %v", d)
	}
	p.mustFail("UPDATE mysql_query_rules SET gtid_from_hostgroup=0 WHERE rule_id=3; LOAD MYSQL QUERY RULES TO RUNTIME",
		"column gtid_from_hostgroup: GTID consistent reads are not implemented by sqlgate yet")
}

// TestAdminRunbookScript runs a typical ProxySQL runbook, as operators
// paste it into the mariadb client on port 6032, in one session: every
// statement must succeed (the client stops at the first error) and nothing
// may answer "not supported" or "not implemented".
func TestAdminRunbookScript(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{Replicas: 1})
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )`, bed.Primary.Port))
	script := fmt.Sprintf(`
SELECT @@version_comment LIMIT 1;
SHOW DATABASES;
SHOW TABLES;
SHOW TABLES FROM stats;
SHOW CREATE TABLE mysql_servers;
SELECT hostgroup_id, hostname, port, status FROM mysql_servers WHERE status='ONLINE';
INSERT INTO mysql_servers (hostgroup_id, hostname, port, weight, max_connections, comment) VALUES (1, '127.0.0.1', %d, 100, 200, 'replica');
UPDATE mysql_servers SET max_replication_lag=30 WHERE hostgroup_id=1;
LOAD MYSQL SERVERS TO RUNTIME;
SAVE MYSQL SERVERS TO DISK;
INSERT INTO mysql_users (username, password, default_hostgroup, transaction_persistent) VALUES ('app2', 'app2', 0, 1);
LOAD MYSQL USERS TO RUNTIME;
SAVE MYSQL USERS FROM RUNTIME;
SAVE MYSQL USERS TO DISK;
INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) VALUES (10, 1, '^SELECT.*FOR UPDATE$', 0, 1), (20, 1, '^SELECT', 1, 1);
INSERT INTO mysql_query_rules (rule_id, active, match_digest, cache_ttl, timeout, retries, multiplex, log, apply) VALUES (30, 1, '^SELECT c FROM sbtest', 5000, 10000, 2, 2, 0, 1);
INSERT INTO mysql_query_rules (rule_id, active, match_pattern, mirror_hostgroup, apply) VALUES (40, 1, '^INSERT INTO audit', 1, 0);
INSERT INTO mysql_query_rules_fast_routing (username, schemaname, flagIN, destination_hostgroup, comment) VALUES ('app2', 'test', 0, 1, 'reports');
LOAD MYSQL QUERY RULES TO RUNTIME;
SAVE MYSQL QUERY RULES TO DISK;
UPDATE global_variables SET variable_value=2000 WHERE variable_name IN ('mysql-monitor_connect_interval', 'mysql-monitor_ping_interval', 'mysql-monitor_read_only_interval');
SET mysql-query_cache_size_MB=128;
SET mysql-default_query_timeout=36000000;
SET mysql-eventslog_filename='queries.log';
LOAD MYSQL VARIABLES TO RUNTIME;
SAVE MYSQL VARIABLES TO DISK;
SET admin-refresh_interval=2000;
LOAD ADMIN VARIABLES TO RUNTIME;
SAVE ADMIN VARIABLES TO DISK;
SELECT * FROM runtime_mysql_servers;
SELECT * FROM runtime_mysql_users;
SELECT * FROM runtime_mysql_query_rules;
SELECT * FROM runtime_mysql_query_rules_fast_routing;
SELECT * FROM runtime_global_variables WHERE variable_name LIKE 'mysql-query_cache%%';
SELECT * FROM stats_mysql_connection_pool;
SELECT * FROM stats.stats_mysql_query_digest ORDER BY sum_time DESC LIMIT 5;
SELECT * FROM stats_mysql_query_digest_reset LIMIT 1;
SELECT * FROM stats_mysql_query_rules;
SELECT * FROM stats_mysql_global;
SELECT * FROM stats_mysql_commands_counters WHERE Total_cnt > 0;
SELECT * FROM stats_mysql_processlist;
SELECT * FROM stats_mysql_users;
SELECT * FROM stats_memory_metrics;
SHOW VARIABLES LIKE 'mysql-monitor%%';
SHOW GLOBAL VARIABLES LIKE 'admin-%%';
SELECT @@admin-version;
SELECT @@mysql-max_connections;
SELECT * FROM runtime_checksums_values;
SELECT GLOBAL_CHECKSUM();
PROXYSQL CHECKSUM DISK MYSQL SERVERS;
CHECKSUM MEMORY MYSQL QUERY RULES;
SELECT CONFIG FILE;
SAVE CONFIG TO FILE '%s';
PROXYSQL FLUSH LOGS;
PROXYSQL FLUSH QUERY CACHE;
LOAD MYSQL SERVERS FROM DISK;
LOAD MYSQL SERVERS TO RUNTIME;
LOAD MYSQL USERS TO MEMORY;
LOAD MYSQL USERS FROM MEMORY;
SAVE MYSQL SERVERS TO MEM;
LOAD MYSQL QUERY RULES FROM CONFIG;
LOAD PROXYSQL SERVERS TO RUNTIME;
LOAD SCHEDULER TO RUNTIME;
SAVE SCHEDULER TO DISK;
PROXYSQL CLUSTER_NODE_UUID;
SELECT * FROM monitor.mysql_server_ping_log LIMIT 3;
PROXYSQL PAUSE;
PROXYSQL RESUME;
`, bed.Replicas[0].Port, filepath.Join(p.dir, "saved.cnf"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mariadb", "-h127.0.0.1", "-P"+strconv.Itoa(p.admin), "-uadmin", "-padmin", "-t")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("runbook failed: %v\n%s\nlogs:\n%s", err, out, p.logs)
	}
	for _, bad := range []string{"not supported", "not implemented", "ERROR"} {
		if strings.Contains(string(out), bad) {
			t.Errorf("runbook output contains %q:\n%s", bad, out)
		}
	}
	if _, err := os.Stat(filepath.Join(p.dir, "saved.cnf")); err != nil {
		t.Errorf("SAVE CONFIG TO FILE: %v", err)
	}
	// The stats user reads the stats tables with the same client.
	out, err = exec.CommandContext(ctx, "mariadb", "-h127.0.0.1", "-P"+strconv.Itoa(p.admin), "-ustats", "-pstats", "-N", "-B",
		"-e", "SELECT COUNT(*) FROM stats_mysql_global; SELECT COUNT(*) FROM stats.stats_mysql_connection_pool").CombinedOutput()
	if err != nil {
		t.Errorf("stats user: %v\n%s", err, out)
	}
}

// TestRESTAPIMetrics: admin-restapi_enabled serves GET /metrics with
// ProxySQL's metric names; a busy port fails the LOAD with nothing
// changed, also when the dashboard's port is the busy one.
func TestRESTAPIMetrics(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )`, bed.Primary.Port))
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/test", p.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for range 3 {
		if _, err := db.Exec("SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	p.must(fmt.Sprintf("SET admin-restapi_port=%d; SET admin-restapi_enabled='true'; LOAD ADMIN VARIABLES TO RUNTIME", port))
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf(`proxysql_connpool_conns_queries_total{endpoint="127.0.0.1:%d",hostgroup="0"} `, bed.Primary.Port)
	for _, w := range []string{want, "proxysql_uptime_seconds_total ", "proxysql_client_connections_connected 1",
		"# TYPE proxysql_connpool_conns gauge", `proxysql_connpool_conns_status{endpoint=`} {
		if !strings.Contains(string(body), w) {
			t.Errorf("/metrics lacks %q:\n%s", w, body)
		}
	}
	// A busy port: the LOAD fails naming it, the old listener stays.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	p.mustFail(fmt.Sprintf("SET admin-restapi_port=%d; LOAD ADMIN VARIABLES TO RUNTIME", busy.Addr().(*net.TCPAddr).Port), "admin-restapi_port")
	if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port)); err != nil {
		t.Errorf("a failed LOAD stopped the metrics listener: %v", err)
	}
	p.mustFail("SET admin-restapi_port="+strconv.Itoa(port)+"; SET admin-web_port="+strconv.Itoa(port)+"; SET admin-web_enabled='true'; LOAD ADMIN VARIABLES TO RUNTIME",
		"admin-web_port: cannot listen on port "+strconv.Itoa(port))
	if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port)); err != nil {
		t.Errorf("a LOAD that failed on admin-web_port stopped the metrics listener: %v", err)
	}
	p.must("SET admin-web_enabled='false'; SET admin-restapi_enabled='false'; LOAD ADMIN VARIABLES TO RUNTIME")
	if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port)); err == nil {
		t.Error("metrics still served after admin-restapi_enabled=false")
	}
}
