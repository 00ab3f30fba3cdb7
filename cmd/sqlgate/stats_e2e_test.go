package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The stats account (admin-stats_credentials, stats:stats by default) as an
// attacker uses it: every test below logs in as stats on the admin port
// with the mariadb CLI (--comments, so that a leading /**/ reaches the
// server) or go-sql-driver, and tries one way to become admin or to take
// the admin plane down.

// statsCnf gives the proxies below a user whose password must never reach
// the stats account, and a server so that LOAD MYSQL USERS works.
const statsCnf = `mysql_servers = ( { address="127.0.0.1", port=3306, hostgroup=0 } )
mysql_users = ( { username="app", password="Secret-App-Pw", default_hostgroup=0 } )`

// stats runs statements as stats:stats with the mariadb CLI.
func (p *proxy) stats(q string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mariadb", "-h127.0.0.1", "-P"+strconv.Itoa(p.admin), "-ustats", "-pstats",
		"--comments", "-N", "-B", "-e", q).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// statsRefused checks that q fails for stats with an error containing want
// and that no secret of the configuration is in the answer.
func (p *proxy) statsRefused(t *testing.T, q, want string) {
	t.Helper()
	out, err := p.stats(q)
	if err == nil {
		t.Fatalf("stats %q succeeded: %q", q, out)
	}
	if !strings.Contains(out, want) {
		t.Fatalf("stats %q: error %q does not contain %q", q, out, want)
	}
	for _, secret := range []string{"Secret-App-Pw", "radmin", "admin:admin", "monitor\tmonitor"} {
		if strings.Contains(out, secret) {
			t.Fatalf("stats %q: the answer holds %q: %s", q, secret, out)
		}
	}
}

func (p *proxy) statsDB(t *testing.T) *sql.DB {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = "stats", "stats", "tcp", fmt.Sprintf("127.0.0.1:%d", p.admin)
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// answersWithin runs q (as admin, or as stats) and fails unless it
// succeeds within limit.
func (p *proxy) answersWithin(t *testing.T, limit time.Duration, asStats bool, q string) {
	t.Helper()
	start := time.Now()
	run := p.sql
	if asStats {
		run = p.stats
	}
	out, err := run(q)
	if took := time.Since(start); err != nil || took > limit {
		t.Fatalf("%q (stats=%v): %v after %s (want an answer within %s): %s", q, asStats, err, took.Round(time.Millisecond), limit, out)
	}
}

// TestStatsUserIsReadOnly: each way the stats account used to reach the
// configuration is refused, with an error saying what is not allowed, and
// legitimate stats reads keep working.
func TestStatsUserIsReadOnly(t *testing.T) {
	p := newProxy(t, buildBinary(t), statsCnf)
	notAllowed := "Command not allowed"

	t.Run("credentials", func(t *testing.T) {
		for _, v := range []string{"admin-admin_credentials", "admin-stats_credentials", "admin-cluster_password",
			"mysql-monitor_password", "ADMIN-ADMIN_CREDENTIALS"} {
			p.statsRefused(t, "SELECT @@"+v, "cannot read @@"+v)
		}
		// What the stats schema shows as variables holds no credential.
		for _, q := range []string{"SELECT * FROM global_variables", "SHOW VARIABLES", "SHOW VARIABLES LIKE 'admin-%'"} {
			out, err := p.stats(q)
			if err != nil || strings.Contains(out, "admin-") || strings.Contains(out, "radmin") {
				t.Fatalf("stats %q: %v %q", q, err, out)
			}
		}
	})
	t.Run("attach", func(t *testing.T) {
		db := filepath.Join(p.dir, "proxysql.db")
		p.statsRefused(t, "/**/ATTACH DATABASE '"+db+"' AS d", notAllowed)
		p.statsRefused(t, "SELECT 1; ATTACH DATABASE '"+db+"' AS d", notAllowed)
		p.statsRefused(t, "SELECT username, password FROM d.mysql_users", "no such table: d.mysql_users")
		p.statsRefused(t, "SELECT username, password FROM mysql_users", "no such table: mysql_users")
		p.statsRefused(t, "SELECT username, password FROM disk.mysql_users", "no such table: disk.mysql_users")
	})
	t.Run("query_only", func(t *testing.T) {
		p.statsRefused(t, "/**/PRAGMA query_only=OFF", "PRAGMA query_only=OFF")
		p.statsRefused(t, "/**/pragma QUERY_ONLY = 0", notAllowed)
		p.statsRefused(t, "INSERT INTO stats_mysql_users VALUES ('intruder', 1, 1)", notAllowed)
	})
	t.Run("vacuum_into", func(t *testing.T) {
		for i, q := range []string{"VACUUM stats INTO '%s'", "/**/VACUUM INTO '%s'", "VACUUM monitor INTO '%s'"} {
			out := filepath.Join(t.TempDir(), fmt.Sprintf("stolen%d.db", i))
			p.statsRefused(t, fmt.Sprintf(q, out), notAllowed)
			if _, err := os.Stat(out); err == nil {
				t.Fatalf("%q wrote %s", q, out)
			}
		}
		p.statsRefused(t, "VACUUM", notAllowed)
	})
	t.Run("writes", func(t *testing.T) {
		for _, q := range []string{
			"DELETE FROM stats_mysql_global", "/**/DELETE FROM stats.stats_mysql_global",
			"UPDATE stats_mysql_users SET frontend_max_connections=0",
			"INSERT INTO monitor.mysql_server_ping_log SELECT * FROM monitor.mysql_server_ping_log",
			"DELETE FROM stats_history.system_cpu", "DROP TABLE stats.stats_mysql_global",
			"CREATE TABLE stats.x (a)", "CREATE TEMP TABLE x (a)", "CREATE TRIGGER stats.t AFTER INSERT ON stats_mysql_global BEGIN SELECT 1; END",
			"REINDEX", "ANALYZE", "DETACH stats", "/**/SAVEPOINT a", "/**/BEGIN IMMEDIATE",
		} {
			p.statsRefused(t, q, notAllowed)
		}
		if out := p.must("SELECT COUNT(*) FROM stats_mysql_global WHERE Variable_Name='ProxySQL_Uptime'"); out != "1" {
			t.Fatalf("stats_mysql_global after the attempts: %q", out)
		}
		p.statsRefused(t, "LOAD MYSQL USERS TO RUNTIME", "read-only")
		p.statsRefused(t, "SAVE CONFIG TO FILE '/tmp/x.cnf'", "read-only")
	})
	t.Run("legitimate", func(t *testing.T) {
		for q, want := range map[string]string{
			"SELECT COUNT(*) FROM stats_mysql_global WHERE Variable_Name='ProxySQL_Uptime'": "1",
			"SELECT COUNT(*) FROM stats.stats_mysql_connection_pool":                        "1",
			"SELECT COUNT(*) FROM monitor.mysql_server_ping_log WHERE 0":                    "0",
			"SELECT COUNT(*) > 0 FROM stats_history.system_cpu":                             "1",
			"SELECT @@max_allowed_packet":                                                   "4194304",
			"SELECT @@version_comment LIMIT 1":                                              "(ProxySQL Admin Module)",
			"SELECT DATABASE()":                                                             "stats",
			"SELECT COUNT(*) FROM stats.pragma_table_info('stats_mysql_global')":            "2",
		} {
			if out, err := p.stats(q); err != nil || out != want {
				t.Errorf("stats %q = %q, %v; want %q", q, out, err, want)
			}
		}
		for q, want := range map[string]string{
			"SHOW TABLES":                           "stats_mysql_query_digest",
			"SHOW DATABASES":                        "stats_history",
			"SHOW TABLES FROM monitor":              "mysql_server_ping_log",
			"SHOW TABLES FROM stats_history":        "system_cpu",
			"SHOW MYSQL STATUS":                     "Questions",
			"SHOW CREATE TABLE stats_mysql_global":  "Variable_Name",
			"SELECT @@Questions":                    "0",
			"SELECT * FROM stats_mysql_processlist": "",
			"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 5) SELECT SUM(x) FROM c": "15",
			"SELECT hostgroup, srv_host FROM stats_mysql_connection_pool":                                "127.0.0.1",
		} {
			if out, err := p.stats(q); err != nil || !strings.Contains(out, want) {
				t.Errorf("stats %q = %q, %v; want it to contain %q", q, out, err, want)
			}
		}
	})
}

// TestStatsTransactionDoesNotFreezeAdmin: a stats session that opens a
// transaction (or tries to) and disconnects leaves nothing behind: the
// next stats query and an admin LOAD answer at once.
func TestStatsTransactionDoesNotFreezeAdmin(t *testing.T) {
	p := newProxy(t, buildBinary(t), statsCnf)
	for _, begin := range []string{"BEGIN IMMEDIATE", "BEGIN EXCLUSIVE", "/**/BEGIN IMMEDIATE", "SAVEPOINT x"} {
		db := p.statsDB(t)
		c, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c.ExecContext(context.Background(), begin) // accepted and ignored, or refused: either way nothing stays open
		var n string
		if err := c.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM stats_mysql_global").Scan(&n); err != nil {
			t.Fatalf("after %q, the same session: %v", begin, err)
		}
		// Another session, while this one is still connected.
		p.answersWithin(t, 2*time.Second, true, "SELECT COUNT(*) FROM stats_mysql_global")
		p.answersWithin(t, 2*time.Second, false, "LOAD MYSQL USERS TO RUNTIME")
		c.Close()
		db.Close() // disconnect, mid-"transaction"
		p.answersWithin(t, 2*time.Second, true, "SELECT COUNT(*) FROM stats_mysql_connection_pool")
		p.answersWithin(t, 2*time.Second, true, "SELECT COUNT(*) FROM stats_mysql_global")
		p.answersWithin(t, 2*time.Second, false, "LOAD MYSQL USERS TO RUNTIME")
		p.answersWithin(t, 2*time.Second, false, "SELECT COUNT(*) FROM stats_mysql_global")
	}
	// An admin's transaction cannot stay open on the connection every
	// session shares either.
	p.must("BEGIN IMMEDIATE")
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = "radmin", "radmin", "tcp", fmt.Sprintf("127.0.0.1:%d", p.admin)
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("/**/BEGIN IMMEDIATE"); err == nil || !strings.Contains(err.Error(), "is not allowed on the admin interface") {
		t.Fatalf("admin /**/BEGIN IMMEDIATE: %v, want it refused", err)
	}
	admin.Close()
	p.answersWithin(t, 2*time.Second, false, "UPDATE mysql_users SET comment='x'; LOAD MYSQL USERS TO RUNTIME")
}

// TestStatsRunawayQueryIsStopped: a recursive CTE that never ends is
// stopped by the statement time limit with an error saying so, and while
// it runs other stats sessions and admin LOADs answer at once. An admin's
// runaway query is stopped by the same limit.
func TestStatsRunawayQueryIsStopped(t *testing.T) {
	p := newProxy(t, buildBinary(t), statsCnf)
	const cte = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT COUNT(*) FROM c"
	type outcome struct {
		out  string
		err  error
		took time.Duration
	}
	run := func(f func(string) (string, error)) chan outcome {
		ch := make(chan outcome, 1)
		go func() {
			start := time.Now()
			out, err := f(cte)
			ch <- outcome{out, err, time.Since(start)}
		}()
		return ch
	}
	check := func(who string, o outcome) {
		if o.err == nil || !strings.Contains(o.out, "statement stopped after 10s") {
			t.Fatalf("%s runaway CTE: %v %q, want the time limit's error", who, o.err, o.out)
		}
		if o.took < 9*time.Second || o.took > 15*time.Second {
			t.Fatalf("%s runaway CTE answered after %s, want about 10s", who, o.took)
		}
	}

	done := run(p.stats)
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < 3; i++ {
		p.answersWithin(t, 2*time.Second, true, "SELECT COUNT(*) FROM stats_mysql_global")
		p.answersWithin(t, 2*time.Second, false, "LOAD MYSQL USERS TO RUNTIME")
		p.answersWithin(t, 2*time.Second, false, "SELECT COUNT(*) FROM stats_mysql_connection_pool")
	}
	check("stats", <-done)

	// The admin's statements share one connection under the admin mutex:
	// a runaway admin query delays the others by the time limit, no more.
	done = run(p.sql)
	time.Sleep(500 * time.Millisecond)
	p.answersWithin(t, 12*time.Second, false, "LOAD MYSQL USERS TO RUNTIME")
	check("admin", <-done)
	p.answersWithin(t, 2*time.Second, false, "LOAD MYSQL USERS TO RUNTIME")
}

// TestStatsHugeResultIsRefused: randomblob(4e8) three times at once (which
// used to OOM-kill the process), a row of many large values and a result
// of many large rows are refused by the size limits; the process stays
// up and its peak RSS stays far below what the results would take.
func TestStatsHugeResultIsRefused(t *testing.T) {
	p := newProxy(t, buildBinary(t), statsCnf)
	pid := p.cmd.Process.Pid
	wide := strings.TrimSuffix(strings.Repeat("randomblob(2000000), ", 32), ", ")
	attacks := []struct{ q, want string }{
		{"SELECT randomblob(4e8)", "string or blob too big"},
		{"SELECT length(randomblob(4e8))", "string or blob too big"},
		{"SELECT zeroblob(4e8)", "string or blob too big"},
		{"SELECT " + wide + ", 1", "too many columns"},
		{"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 400) SELECT x, zeroblob(1000000) FROM c", "the result exceeds 64 MiB"},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 3*len(attacks))
	for _, a := range attacks {
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := p.stats(a.q)
				if err == nil || !strings.Contains(out, a.want) {
					errs <- fmt.Sprintf("%.60s: %v %.200q, want %q", a.q, err, out, a.want)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	select {
	case err := <-p.done:
		t.Fatalf("sqlgate exited: %v\n%s", err, p.logs)
	default:
	}
	p.answersWithin(t, 2*time.Second, true, "SELECT COUNT(*) FROM stats_mysql_global")
	p.answersWithin(t, 2*time.Second, false, "LOAD MYSQL USERS TO RUNTIME")
	// One randomblob(4e8) alone would take 400 MB in SQLite and as much
	// again in Go; nine of them at once several GB.
	// (The race detector's shadow memory doubles it.)
	bound := 600
	if raceBuild() {
		bound = 1200
	}
	hwm := hwmKB(t, pid) >> 10
	t.Logf("peak RSS %d MB", hwm)
	if hwm > bound {
		t.Errorf("peak RSS %d MB, want the limits to keep it under %d MB", hwm, bound)
	}
}

// hwmKB is a process's peak resident set size from /proc.
func hwmKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmHWM")
	return 0
}
