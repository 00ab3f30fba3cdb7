package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sqlgate/internal/testbed"
)

// replicationCnf puts the primary in writer hostgroup 0 and every node in
// reader hostgroup 1 under one mysql_replication_hostgroups pair; reads go
// to the readers by rule.
func replicationCnf(bed *testbed.Bed, vars string) string {
	var servers []string
	servers = append(servers, fmt.Sprintf(`{ address="127.0.0.1", port=%d, hostgroup=0 }`, bed.Primary.Port))
	for _, n := range bed.Nodes {
		servers = append(servers, fmt.Sprintf(`{ address="127.0.0.1", port=%d, hostgroup=1, max_replication_lag=2 }`, n.Port))
	}
	return fmt.Sprintf(`mysql_servers = ( %s )
mysql_replication_hostgroups = ( { writer_hostgroup=0, reader_hostgroup=1, check_type="read_only" } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )
mysql_query_rules = ( { rule_id=1, active=1, match_digest="^SELECT .* FOR UPDATE", destination_hostgroup=0, apply=1 },
                      { rule_id=2, active=1, match_digest="^SELECT", destination_hostgroup=1, apply=1 } )
%s`, strings.Join(servers, ",\n  "), vars)
}

// setMonitorVars makes the monitor fast enough for tests.
func setMonitorVars(p *proxy, extra string) {
	p.must("SET mysql-monitor_read_only_interval=200; SET mysql-monitor_ping_interval=300; SET mysql-monitor_ping_timeout=200; " +
		"SET mysql-monitor_connect_interval=1000; SET mysql-monitor_replication_lag_interval=300; " + extra +
		"LOAD MYSQL VARIABLES TO RUNTIME")
}

func (p *proxy) writers() string {
	return p.must("SELECT IFNULL(GROUP_CONCAT(port ORDER BY port), '') FROM runtime_mysql_servers WHERE hostgroup_id=0 AND status='ONLINE'")
}

func waitFor(t *testing.T, what string, d time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFailoverSemiSync is the failover test of the issue: four workers
// write numbered rows with autocommit through sqlgate; the primary is
// killed with SIGKILL and the most advanced replica promoted (semi-sync
// AFTER_SYNC, so every acknowledged commit is on some replica). sqlgate's
// configuration is never touched: the monitor finds the new writer. The
// test reports the write outage and the client errors, and requires every
// acknowledged row on the new primary.
func TestFailoverSemiSync(t *testing.T) {
	if testing.Short() {
		t.Skip("failover test in -short mode")
	}
	bed := testbed.ForTest(t, testbed.Options{Replicas: 2, SemiSync: true})
	ctx := context.Background()
	if err := bed.Exec(ctx, bed.Primary, "CREATE TABLE IF NOT EXISTS test.failover (w INT, n INT, PRIMARY KEY (w, n)); DELETE FROM test.failover"); err != nil {
		t.Fatal(err)
	}
	if err := bed.WaitSync(ctx); err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, buildBinary(t), replicationCnf(bed, ""))
	setMonitorVars(p, "")
	oldPrimary := bed.Primary
	waitFor(t, "the primary as the only writer", 5*time.Second, func() bool { return p.writers() == strconv.Itoa(oldPrimary.Port) })

	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/test?timeout=5s&readTimeout=20s&writeTimeout=20s", p.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(8)

	type ack struct {
		w, n int
		at   time.Time
	}
	var (
		mu      sync.Mutex
		acked   []ack
		errs    []string
		killAt  time.Time
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		horizon = time.Now().Add(60 * time.Second) // bound the load loop
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; time.Now().Before(horizon); n++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := db.Exec(fmt.Sprintf("INSERT INTO failover VALUES (%d, %d)", w, n))
				mu.Lock()
				if err == nil {
					acked = append(acked, ack{w, n, time.Now()})
				} else {
					errs = append(errs, err.Error())
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	mu.Lock()
	killAt = time.Now()
	mu.Unlock()
	if err := bed.KillNode(oldPrimary); err != nil {
		t.Fatal(err)
	}
	// Promote the replica that received the most (what a failover tool does).
	best, bestSeq := bed.Replicas[0], int64(-1)
	for _, r := range bed.Replicas {
		pos := queryOne(t, bed, r, "SELECT @@global.gtid_slave_pos")
		if seq := gtidSeq(pos); seq > bestSeq {
			best, bestSeq = r, seq
		}
	}
	if err := bed.Promote(ctx, best); err != nil {
		t.Fatal(err)
	}
	promotedAt := time.Now()
	waitFor(t, "the promoted replica as writer in runtime_mysql_servers", 10*time.Second, func() bool {
		return strings.Contains(p.writers(), strconv.Itoa(best.Port))
	})
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	var firstAfter time.Time
	beforeKill := 0
	for _, a := range acked {
		if a.at.Before(killAt) {
			beforeKill++
		} else if firstAfter.IsZero() || a.at.Before(firstAfter) {
			firstAfter = a.at
		}
	}
	if firstAfter.IsZero() {
		t.Fatalf("no write succeeded after the failover; errors: %v\nlogs:\n%s", errs, p.logs)
	}
	// Every acknowledged row must be on the new primary.
	root, err := bed.RootDB(best)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	have := map[[2]int]bool{}
	rows, err := root.Query("SELECT w, n FROM test.failover")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var w, n int
		rows.Scan(&w, &n)
		have[[2]int{w, n}] = true
	}
	rows.Close()
	lost := 0
	for _, a := range acked {
		if !have[[2]int{a.w, a.n}] {
			lost++
		}
	}
	t.Logf("failover: kill -> first write after promotion %v (promotion took %v); acknowledged writes %d (%d before the kill); client errors %d; lost acknowledged writes %d",
		firstAfter.Sub(killAt).Round(time.Millisecond), promotedAt.Sub(killAt).Round(time.Millisecond), len(acked), beforeKill, len(errs), lost)
	for i, e := range errs {
		if i < 5 {
			t.Logf("client error: %s", e)
		}
	}
	if lost > 0 {
		t.Errorf("%d acknowledged writes are missing on the new primary", lost)
	}
	if d := firstAfter.Sub(promotedAt); d > 3*time.Second {
		t.Errorf("first write %v after the promotion; want within one read_only interval plus a check", d)
	}
	if !strings.Contains(p.logs.String(), "has read_only=0") {
		t.Errorf("the writer change was not logged:\n%s", p.logs)
	}
}

func queryOne(t *testing.T, bed *testbed.Bed, n *testbed.Node, q string) string {
	t.Helper()
	db, err := bed.RootDB(n)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s sql.NullString
	if err := db.QueryRow(q).Scan(&s); err != nil {
		t.Fatalf("%s on %s: %v", q, n.Name, err)
	}
	return s.String
}

// gtidSeq returns the highest sequence number of a MariaDB GTID list.
func gtidSeq(pos string) int64 {
	var best int64 = -1
	for _, g := range strings.Split(pos, ",") {
		f := strings.Split(strings.TrimSpace(g), "-")
		if len(f) == 3 {
			if n, err := strconv.ParseInt(f[2], 10, 64); err == nil && n > best {
				best = n
			}
		}
	}
	return best
}

// TestMonitorFaults covers the other faults of the issue on one bed:
// a stopped replica (reads continue without errors), a lagging replica
// (shunned, then back), a wrong monitor password (a clear log line, errors
// in the monitor logs, routing unchanged), and no writer at all (writes
// fail naming the writer hostgroup after the timeout, nothing hangs).
func TestMonitorFaults(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{Replicas: 2})
	ctx := context.Background()
	if err := bed.Exec(ctx, bed.Primary, "CREATE TABLE IF NOT EXISTS test.mon (id INT PRIMARY KEY, v INT); REPLACE INTO test.mon VALUES (1, 1)"); err != nil {
		t.Fatal(err)
	}
	if err := bed.WaitSync(ctx); err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, buildBinary(t), replicationCnf(bed, ""))
	setMonitorVars(p, "SET mysql-connect_timeout_server_max=3000; SET mysql-monitor_writer_is_also_reader='false'; ")
	primary, r1, r2 := bed.Primary, bed.Replicas[0], bed.Replicas[1]
	waitFor(t, "the primary as the only writer", 5*time.Second, func() bool { return p.writers() == strconv.Itoa(primary.Port) })
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/test?timeout=5s", p.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(4)

	// Latency from the pings shows in the connection pool.
	waitFor(t, "ping latency in stats_mysql_connection_pool", 5*time.Second, func() bool {
		return p.must("SELECT MIN(Latency_us) FROM stats_mysql_connection_pool") != "0"
	})

	// 1. Stop a replica gracefully: autocommit reads keep working.
	var readErrs []string
	reads := func(n int) {
		for range n {
			var v int
			if err := db.QueryRow("SELECT v FROM mon WHERE id=1").Scan(&v); err != nil {
				readErrs = append(readErrs, err.Error())
			}
		}
	}
	reads(50)
	stopped := make(chan error, 1)
	go func() { stopped <- bed.StopNode(r2) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(stopped) == 0 && time.Now().Before(deadline) {
		reads(10)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	reads(200)
	if len(readErrs) > 0 {
		t.Errorf("%d read errors while a replica stopped, first: %s", len(readErrs), readErrs[0])
	}
	waitFor(t, "the stopped replica shunned by failed pings", 5*time.Second, func() bool {
		return p.must(fmt.Sprintf("SELECT COUNT(*) FROM stats_mysql_server_status_changes WHERE srv_port=%d AND to_status='SHUNNED'", r2.Port)) != "0"
	})
	waitFor(t, "failed pings of the stopped replica in monitor.mysql_server_ping_log", 5*time.Second, func() bool {
		return p.must(fmt.Sprintf("SELECT COUNT(*) FROM monitor.mysql_server_ping_log WHERE port=%d AND ping_error IS NOT NULL", r2.Port)) != "0"
	})

	// 2. Lag a replica past max_replication_lag=2: shunned, then back.
	if err := bed.Exec(ctx, r1, "STOP SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := db.Exec(fmt.Sprintf("REPLACE INTO mon VALUES (%d, %d)", 10+i, i)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
	}
	// With its SQL thread stopped Seconds_Behind_Master is NULL: lagging by
	// mysql-monitor_slave_lag_when_null (60 s).
	waitFor(t, "the lagging replica shunned", 5*time.Second, func() bool {
		return p.must(fmt.Sprintf("SELECT status FROM stats_mysql_connection_pool WHERE hostgroup=1 AND srv_port=%d", r1.Port)) == "SHUNNED_REPLICATION_LAG"
	})
	if st := p.must(fmt.Sprintf("SELECT status FROM runtime_mysql_servers WHERE hostgroup_id=1 AND port=%d", r1.Port)); st != "SHUNNED" {
		t.Errorf("runtime_mysql_servers shows a lag-shunned server as %q, want SHUNNED", st)
	}
	// Reads still work (on the primary's reader entry).
	reads(20)
	if err := bed.Exec(ctx, r1, "START SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replica back ONLINE after catching up", 10*time.Second, func() bool {
		return p.must(fmt.Sprintf("SELECT status FROM stats_mysql_connection_pool WHERE hostgroup=1 AND srv_port=%d", r1.Port)) == "ONLINE"
	})
	if n := p.must(fmt.Sprintf("SELECT count_star FROM stats_mysql_server_status_changes WHERE srv_port=%d AND reason='replication lag' AND to_status='SHUNNED_REPLICATION_LAG'", r1.Port)); n != "1" {
		t.Errorf("lag shun counted %q times, want 1", n)
	}
	if len(readErrs) > 0 {
		t.Errorf("%d read errors during the lag test, first: %s", len(readErrs), readErrs[0])
	}

	// 3. Wrong monitor password: logged clearly, errors in the logs, the
	// topology stays as last known.
	p.must("SET mysql-monitor_password='wrong'; LOAD MYSQL VARIABLES TO RUNTIME")
	waitFor(t, "read_only check errors in monitor.mysql_server_read_only_log", 5*time.Second, func() bool {
		return p.must("SELECT COUNT(*) FROM monitor.mysql_server_read_only_log WHERE error LIKE '%Access denied%'") != "0"
	})
	if !strings.Contains(p.logs.String(), "check mysql-monitor_username/mysql-monitor_password") {
		t.Errorf("no clear log line for the wrong monitor password:\n%s", p.logs)
	}
	time.Sleep(time.Second)
	if w := p.writers(); w != strconv.Itoa(primary.Port) {
		t.Errorf("writers changed to %q with a broken monitor account", w)
	}
	if _, err := db.Exec("REPLACE INTO mon VALUES (2, 2)"); err != nil {
		t.Errorf("write with a broken monitor account: %v", err)
	}
	p.must("SET mysql-monitor_password='monitor'; LOAD MYSQL VARIABLES TO RUNTIME")

	// 4. No writer: the primary turns read_only. It leaves hostgroup 0 and
	// a transaction open on it is cut; a write waits
	// connect_timeout_server_max (3 s) and fails naming the hostgroup.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("REPLACE INTO mon VALUES (7, 7)"); err != nil {
		t.Fatal(err)
	}
	if err := bed.Exec(ctx, primary, "SET GLOBAL read_only=1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "no writer left", 5*time.Second, func() bool { return p.writers() == "" })
	if err := tx.Commit(); err == nil {
		t.Error("a transaction on the demoted writer was not cut")
	}
	start := time.Now()
	_, err = db.Exec("REPLACE INTO mon VALUES (3, 3)")
	if err == nil || !strings.Contains(err.Error(), "hostgroup 0") {
		t.Errorf("write without a writer: %v", err)
	}
	if d := time.Since(start); d < 2*time.Second || d > 8*time.Second {
		t.Errorf("write without a writer failed after %v, want about mysql-connect_timeout_server_max (3s)", d)
	}
	// A write that is waiting for a writer gets the primary as soon as it
	// is writable again.
	werr := make(chan error, 1)
	go func() {
		_, err := db.Exec("REPLACE INTO mon VALUES (4, 4)")
		werr <- err
	}()
	time.Sleep(500 * time.Millisecond)
	if err := bed.Exec(ctx, primary, "SET GLOBAL read_only=0"); err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Errorf("a write waiting for a writer: %v", err)
	}
	if w := p.writers(); w != strconv.Itoa(primary.Port) {
		t.Errorf("writers = %q, want the primary back", w)
	}
}

// TestTooManyConnectionsThrottles: a server that answers 1040 "Too many
// connections" is alive, just full. sqlgate stops opening connections to
// it for a moment and lets sessions wait for a free one; ProxySQL counts
// the refusals as connect errors and shuns the server, failing every
// query of the hostgroup.
func TestTooManyConnectionsThrottles(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )`, bed.Primary.Port))
	p.must("SET mysql-monitor_enabled='false'; LOAD MYSQL VARIABLES TO RUNTIME")
	root, err := bed.RootDB(bed.Primary)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	root.SetMaxOpenConns(1)
	var threads int
	var name string
	if err := root.QueryRow("SHOW GLOBAL STATUS LIKE 'Threads_connected'").Scan(&name, &threads); err != nil {
		t.Fatal(err)
	}
	// Room for about four more connections (MariaDB keeps one extra for
	// SUPER, which the app user lacks).
	if _, err := root.Exec(fmt.Sprintf("SET GLOBAL max_connections=%d", threads+3)); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/test", p.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	ok := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				var v int
				err := db.QueryRow("SELECT SLEEP(0.05)").Scan(&v)
				mu.Lock()
				if err != nil {
					errs = append(errs, err.Error())
				} else {
					ok++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Errorf("%d of %d queries failed against a full server, first: %s", len(errs), len(errs)+ok, errs[0])
	}
	changes := p.must(fmt.Sprintf("SELECT reason, to_status, count_star FROM stats_mysql_server_status_changes WHERE srv_port=%d", bed.Primary.Port))
	if !strings.Contains(changes, "throttled") || strings.Contains(changes, "SHUNNED") {
		t.Errorf("want a throttled server and no shun, got state changes:\n%s\nlogs:\n%s", changes, p.logs)
	}
	if st := p.must("SELECT status FROM stats_mysql_connection_pool WHERE hostgroup=0"); st != "ONLINE" {
		t.Errorf("server status %s after 1040s, want ONLINE", st)
	}
}

// TestLagFromHeartbeatTable: with mysql-monitor_replication_lag_use_percona_heartbeat
// the lag comes from a heartbeat table's timestamp instead of SHOW SLAVE
// STATUS.
func TestLagFromHeartbeatTable(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	ctx := context.Background()
	if err := bed.Exec(ctx, bed.Primary, "CREATE TABLE test.heartbeat (server_id INT PRIMARY KEY, ts DATETIME(6)); "+
		"INSERT INTO test.heartbeat VALUES (1, NOW(6) - INTERVAL 30 SECOND); GRANT SELECT ON test.* TO 'monitor'@'%'"); err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0, max_replication_lag=5 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )`, bed.Primary.Port))
	p.mustFail("SET mysql-monitor_replication_lag_use_percona_heartbeat='x; DROP TABLE y'; LOAD MYSQL VARIABLES TO RUNTIME", "table name")
	p.must("SET mysql-monitor_replication_lag_use_percona_heartbeat='test.heartbeat'; SET mysql-monitor_replication_lag_interval=200; LOAD MYSQL VARIABLES TO RUNTIME")
	status := func() string { return p.must("SELECT status FROM stats_mysql_connection_pool WHERE hostgroup=0") }
	waitFor(t, "a 30 s old heartbeat to shun the server", 5*time.Second, func() bool { return status() == "SHUNNED_REPLICATION_LAG" })
	if lag, _ := strconv.Atoi(p.must("SELECT repl_lag FROM monitor.mysql_server_replication_lag_log ORDER BY time_start_us DESC LIMIT 1")); lag < 30 || lag > 40 {
		t.Errorf("logged repl_lag %d, want about 30", lag)
	}
	if err := bed.Exec(ctx, bed.Primary, "UPDATE test.heartbeat SET ts=NOW(6)"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a fresh heartbeat to bring it back", 5*time.Second, func() bool { return status() == "ONLINE" })
}

// TestMonitorMissingPrivilege: a monitor account without REPLICATION
// CLIENT fails the lag check with a log line that names the problem, the
// error shows in monitor.mysql_server_replication_lag_log, and the server
// keeps its state (no shun on a check that could not run).
func TestMonitorMissingPrivilege(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	ctx := context.Background()
	if err := bed.Exec(ctx, bed.Primary, "CREATE USER 'weakmon'@'%' IDENTIFIED BY 'weakmon'"); err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0, max_replication_lag=5 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )`, bed.Primary.Port))
	p.must("SET mysql-monitor_username='weakmon'; SET mysql-monitor_password='weakmon'; SET mysql-monitor_replication_lag_interval=200; LOAD MYSQL VARIABLES TO RUNTIME")
	waitFor(t, "the lag check's privilege error in the monitor log", 5*time.Second, func() bool {
		return p.must("SELECT COUNT(*) FROM monitor.mysql_server_replication_lag_log WHERE error LIKE '%1227%' OR error LIKE '%privilege%'") != "0"
	})
	if !strings.Contains(p.logs.String(), "the monitor account lacks a privilege") {
		t.Errorf("no clear log line for the missing privilege:\n%s", p.logs)
	}
	if st := p.must("SELECT status FROM stats_mysql_connection_pool WHERE hostgroup=0"); st != "ONLINE" {
		t.Errorf("server %s after failed lag checks, want ONLINE", st)
	}
}
