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
	return p.must("SELECT GROUP_CONCAT(port ORDER BY port) FROM runtime_mysql_servers WHERE hostgroup_id=0 AND status='ONLINE'")
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
