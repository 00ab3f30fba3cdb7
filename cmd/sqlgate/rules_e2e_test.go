package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sqlgate/internal/testbed"
)

// TestRulesActions drives the query-rule actions and annotations through a
// real sqlgate and real MariaDB: fast routing, hostgroup annotations,
// timeouts (rule and annotation) that stop the statement on the server,
// multiplex=0/1, create_new_connection, and mirroring with a rewrite.
func TestRulesActions(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{Replicas: 1})
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS test.mirror_src (id INT PRIMARY KEY)",
		"CREATE TABLE IF NOT EXISTS test.mirror_dst (id INT PRIMARY KEY)",
		"DELETE FROM test.mirror_src", "DELETE FROM test.mirror_dst",
	} {
		if err := bed.Exec(ctx, bed.Primary, q); err != nil {
			t.Fatal(err)
		}
	}
	replica := bed.Replicas[0]
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = (
  { address="127.0.0.1", port=%d, hostgroup=0 },
  { address="127.0.0.1", port=%d, hostgroup=1 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )
mysql_query_rules = (
  { rule_id=1, active=1, match_pattern="^SELECT 'fast'", flagOUT=7 },
  { rule_id=2, active=1, match_pattern="^SELECT 'ruletimeout'", timeout=300, apply=1 },
  { rule_id=3, active=1, match_pattern="^SELECT 'pin'", multiplex=0, apply=1 },
  { rule_id=4, active=1, match_pattern="^SELECT 'unpin'", multiplex=1, apply=1 },
  { rule_id=5, active=1, match_pattern="^INSERT INTO mirror_src", mirror_flagOUT=100, apply=1 },
  { rule_id=6, active=1, flagIN=100, match_pattern="mirror_src", replace_pattern="mirror_dst", destination_hostgroup=0, apply=1 } )
mysql_query_rules_fast_routing = ( { username="app", schemaname="test", flagIN=7, destination_hostgroup=1 } )`,
		bed.Primary.Port, replica.Port))
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/test", p.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	port := func(q string) int {
		t.Helper()
		var s string
		var n int
		if err := db.QueryRow(q).Scan(&s, &n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	if got := port("SELECT 'fast', @@port"); got != replica.Port {
		t.Errorf("fast routing (app, test, flagIN 7) → hostgroup 1: answered by port %d, want the replica %d", got, replica.Port)
	}
	if got := port("SELECT 'x', @@port"); got != bed.Primary.Port {
		t.Errorf("default hostgroup: answered by port %d, want the primary %d", got, bed.Primary.Port)
	}
	if got := port("SELECT /* hostgroup=1 */ 'annotated', @@port"); got != replica.Port {
		t.Errorf("/* hostgroup=1 */: answered by port %d, want the replica %d", got, replica.Port)
	}
	out := p.must("SELECT username, schemaname, flagIN, destination_hostgroup FROM runtime_mysql_query_rules_fast_routing")
	if out != "app\ttest\t7\t1" {
		t.Errorf("runtime_mysql_query_rules_fast_routing = %q", out)
	}

	// Timeouts: the statement is stopped on the server (KILL QUERY), well
	// before its natural end, and the session stays usable.
	for _, q := range []string{
		"SELECT 'ruletimeout', SLEEP(5) FROM DUAL WHERE 1",
		"SELECT /* query_timeout=300 */ 'annotated', SLEEP(5) FROM DUAL WHERE 1",
	} {
		start := time.Now()
		var s string
		var n int
		err := db.QueryRow(q).Scan(&s, &n)
		d := time.Since(start)
		// MariaDB ends an interrupted SLEEP() with result 1 or with error
		// 1317; either way it must stop long before 5 s.
		if d > 3*time.Second || (err == nil && n != 1) {
			t.Errorf("%s: took %v, err %v, SLEEP returned %d; want it stopped after ~300ms", q, d, err, n)
		}
	}
	if !strings.Contains(p.logs.String(), "sent KILL QUERY") {
		t.Errorf("no KILL QUERY logged:\n%s", p.logs)
	}

	// multiplex=0 keeps the backend connection attached to the idle
	// session; multiplex=1 releases it.
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	used := func() string {
		return p.must("SELECT SUM(ConnUsed) FROM stats_mysql_connection_pool WHERE hostgroup=0")
	}
	var s string
	c.QueryRowContext(ctx, "SELECT 'x'").Scan(&s)
	if u := used(); u != "0" {
		t.Fatalf("idle session holds %s connections before multiplex=0", u)
	}
	if err := c.QueryRowContext(ctx, "SELECT 'pin'").Scan(&s); err != nil {
		t.Fatal(err)
	}
	if u := used(); u != "1" {
		t.Errorf("after a multiplex=0 rule the idle session holds %s connections, want 1", u)
	}
	c.QueryRowContext(ctx, "SELECT 'x'").Scan(&s)
	if u := used(); u != "1" {
		t.Errorf("multiplex=0 must last past the next statement: ConnUsed %s", u)
	}
	if err := c.QueryRowContext(ctx, "SELECT 'unpin'").Scan(&s); err != nil {
		t.Fatal(err)
	}
	if u := used(); u != "0" {
		t.Errorf("after a multiplex=1 rule the idle session holds %s connections, want 0", u)
	}

	// create_new_connection=1 opens a new backend connection every time.
	connOK := func() int {
		n, _ := strconv.Atoi(p.must("SELECT SUM(ConnOK) FROM stats_mysql_connection_pool WHERE hostgroup=0"))
		return n
	}
	before := connOK()
	for range 3 {
		if err := c.QueryRowContext(ctx, "SELECT /* create_new_connection=1 */ 'new'").Scan(&s); err != nil {
			t.Fatal(err)
		}
	}
	if after := connOK(); after-before != 3 {
		t.Errorf("create_new_connection=1 three times: ConnOK went from %d to %d", before, after)
	}

	// Mirroring: each INSERT also runs, rewritten by the rules from
	// mirror_flagOUT=100, against mirror_dst; the client sees only the
	// original.
	for i := 1; i <= 5; i++ {
		if _, err := db.Exec(fmt.Sprintf("INSERT INTO mirror_src VALUES (%d)", i)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := bed.RootDB(bed.Primary)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var ids string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		root.QueryRow("SELECT IFNULL(GROUP_CONCAT(id ORDER BY id), '') FROM test.mirror_dst").Scan(&ids)
		if ids == "1,2,3,4,5" {
			break
		}
	}
	if ids != "1,2,3,4,5" {
		t.Errorf("mirror_dst rows = %q, want 1,2,3,4,5", ids)
	}
	if h := p.must("SELECT hits FROM stats_mysql_query_rules WHERE rule_id=6"); h != "5" {
		t.Errorf("rule 6 (mirror rewrite) hits = %s, want 5", h)
	}
}

// TestPauseResume: PROXYSQL PAUSE stops accepting clients while connected
// sessions keep working; RESUME accepts again; both refuse to run twice
// with ProxySQL's messages.
func TestPauseResume(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )`, bed.Primary.Port))
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/test?timeout=2s", p.app))
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
	p.must("PROXYSQL PAUSE")
	addr := fmt.Sprintf("127.0.0.1:%d", p.app)
	if nc, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		nc.Close()
		t.Fatal("a new client connected while paused")
	}
	var n int
	if err := c.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
		t.Fatalf("connected session broke on PAUSE: %v", err)
	}
	p.mustFail("PROXYSQL PAUSE", "ProxySQL MySQL module is already paused, impossible to pause")
	p.must("PROXYSQL RESUME")
	if err := db.QueryRow("SELECT 2").Scan(&n); err != nil || n != 2 {
		t.Fatalf("after RESUME: %v", err)
	}
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("new client after RESUME: %v", err)
	}
	nc.Close()
	p.mustFail("PROXYSQL RESUME", "ProxySQL MySQL module is not paused, impossible to resume")
}

// TestQueryCacheAndEventsLog: cache_ttl serves repeated reads from memory
// until the TTL ends (stale by design, as ProxySQL), cache hits count with
// hostgroup -1, empty results follow cache_empty_result, PROXYSQL FLUSH
// QUERY CACHE empties it; log=1 writes ProxySQL's JSON events log, FLUSH
// LOGS rotates it, and an unusable log file makes LOAD fail with nothing
// changed.
func TestQueryCacheAndEventsLog(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS test.qc (id INT PRIMARY KEY, v INT)",
		"REPLACE INTO test.qc VALUES (1, 1)",
	} {
		if err := bed.Exec(ctx, bed.Primary, q); err != nil {
			t.Fatal(err)
		}
	}
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )
mysql_query_rules = (
  { rule_id=1, active=1, match_pattern="^SELECT v FROM qc WHERE id=1$", cache_ttl=1500, log=1, apply=1 },
  { rule_id=2, active=1, match_pattern="^SELECT v FROM qc WHERE id=99$", cache_ttl=5000, cache_empty_result=0, apply=1 },
  { rule_id=3, active=1, match_pattern="^SELECT 'blocked'", error_msg="no", log=1, apply=1 } )`, bed.Primary.Port))
	p.must("SET mysql-eventslog_filename='queries.log'; SET mysql-eventslog_format=2; LOAD MYSQL VARIABLES TO RUNTIME")
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/test", p.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	read := func() int {
		t.Helper()
		var v int
		if err := db.QueryRow("SELECT v FROM qc WHERE id=1").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	global := func(name string) int {
		n, _ := strconv.Atoi(p.must("SELECT Variable_Value FROM stats_mysql_global WHERE Variable_Name='" + name + "'"))
		return n
	}
	if v := read(); v != 1 {
		t.Fatalf("first read %d", v)
	}
	filled := time.Now()
	if err := bed.Exec(ctx, bed.Primary, "UPDATE test.qc SET v=2 WHERE id=1"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if v := read(); v != 1 && time.Since(filled) < 1400*time.Millisecond {
			t.Errorf("read within cache_ttl returned %d, want the cached 1", v)
		}
	}
	if n := global("Query_Cache_count_GET_OK"); n < 3 {
		t.Errorf("Query_Cache_count_GET_OK = %d, want >= 3", n)
	}
	if n := global("Query_Cache_Entries"); n != 1 {
		t.Errorf("Query_Cache_Entries = %d, want 1", n)
	}
	if out := p.must("SELECT count_star FROM stats_mysql_query_digest WHERE hostgroup=-1 AND digest_text='SELECT v FROM qc WHERE id=?'"); out == "" || out == "0" {
		t.Errorf("cache hits are not accounted with hostgroup -1 in stats_mysql_query_digest: %q", out)
	}
	time.Sleep(time.Until(filled.Add(1600 * time.Millisecond)))
	if v := read(); v != 2 {
		t.Errorf("read after cache_ttl expired returned %d, want the new 2", v)
	}

	sets := global("Query_Cache_count_SET")
	var v int
	if err := db.QueryRow("SELECT v FROM qc WHERE id=99").Scan(&v); err != sql.ErrNoRows {
		t.Fatalf("empty read: %v", err)
	}
	if n := global("Query_Cache_count_SET"); n != sets {
		t.Errorf("cache_empty_result=0 stored an empty result (count_SET %d -> %d)", sets, n)
	}
	p.must("PROXYSQL FLUSH QUERY CACHE")
	if n := global("Query_Cache_Entries"); n != 0 {
		t.Errorf("after PROXYSQL FLUSH QUERY CACHE: %d entries", n)
	}
	if err := db.QueryRow("SELECT 'blocked'").Scan(new(string)); err == nil {
		t.Fatal("error_msg rule did not block")
	}

	// The events log: ProxySQL's JSON lines for the log=1 statements.
	data, err := os.ReadFile(filepath.Join(p.dir, "queries.log.00000001"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var hits, misses, blocked int
	for _, l := range lines {
		var e struct {
			Event       string `json:"event"`
			Hostgroup   int    `json:"hostgroup_id"`
			Query       string `json:"query"`
			Username    string `json:"username"`
			Digest      string `json:"digest"`
			RowsSent    *int   `json:"rows_sent"`
			DurationUs  *int64 `json:"duration_us"`
			StartTimeUs int64  `json:"starttime_timestamp_us"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("events log line %q: %v", l, err)
		}
		if e.Event != "COM_QUERY" || e.Username != "app" || !strings.HasPrefix(e.Digest, "0x") || e.RowsSent == nil || e.DurationUs == nil || e.StartTimeUs == 0 {
			t.Errorf("events log line lacks ProxySQL's fields: %s", l)
		}
		switch {
		case e.Query == "SELECT 'blocked'":
			blocked++
		case e.Hostgroup == -1:
			hits++
		case e.Hostgroup == 0:
			misses++
		}
	}
	if hits != 3 || misses != 2 || blocked != 1 {
		t.Errorf("events log: %d cache hits, %d backend reads, %d blocked; want 3, 2, 1:\n%s", hits, misses, blocked, data)
	}
	p.must("PROXYSQL FLUSH LOGS")
	read()
	if _, err := os.Stat(filepath.Join(p.dir, "queries.log.00000002")); err != nil {
		t.Errorf("PROXYSQL FLUSH LOGS did not start a new file: %v", err)
	}
	p.mustFail("SET mysql-eventslog_filename='/proc/nonexistent/queries.log'; LOAD MYSQL VARIABLES TO RUNTIME", "mysql-eventslog_filename")
	if out := p.must("SELECT variable_value FROM runtime_global_variables WHERE variable_name='mysql-eventslog_filename'"); out != "queries.log" {
		t.Errorf("a failed LOAD changed runtime: mysql-eventslog_filename = %q", out)
	}
}

// TestDigestBound: -max-query-digests bounds stats_mysql_query_digest;
// digests beyond it are counted, not stored, and resetting frees room.
func TestDigestBound(t *testing.T) {
	bed := testbed.ForTest(t, testbed.Options{})
	p := newProxy(t, buildBinary(t), fmt.Sprintf(`mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )`, bed.Primary.Port))
	p.kill()
	p.start("-max-query-digests", "3")
	db, err := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/test", p.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 5 {
		var n int
		if err := db.QueryRow(fmt.Sprintf("SELECT %d AS c%d", i, i)).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	got := p.must("SELECT Variable_Value FROM stats_mysql_global WHERE Variable_Name IN ('Digest_entries', 'Digest_entries_dropped') ORDER BY Variable_Name")
	if got != "3\n2" {
		t.Errorf("Digest_entries, Digest_entries_dropped = %q, want 3 and 2", got)
	}
	if n := p.must("SELECT COUNT(*) FROM stats_mysql_query_digest_reset"); n != "3" {
		t.Errorf("stats_mysql_query_digest_reset rows = %s, want 3", n)
	}
	db.QueryRow("SELECT 9 AS c9").Scan(new(int))
	if n := p.must("SELECT COUNT(*) FROM stats_mysql_query_digest"); n != "1" {
		t.Errorf("after reset a new digest is stored: %s rows, want 1", n)
	}
}
