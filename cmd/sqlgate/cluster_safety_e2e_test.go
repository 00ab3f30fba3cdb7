package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestClusterStopIsCleanAndQuiet: a clustered node stops within 2 s on
// SIGTERM and on PROXYSQL SHUTDOWN; the peers of a stopped node try it at
// most once per check interval, backing off, and log it once; a peer
// removed from proxysql_servers is not contacted or logged again.
func TestClusterStopIsCleanAndQuiet(t *testing.T) {
	bin := buildBinary(t)
	nodes := startCluster(t, bin, []string{"coreA", "coreB", "sat1"}, 2, nil)
	a, b, sat := nodes[0], nodes[1], nodes[2]
	bAddr := "127.0.0.1:" + strconv.Itoa(b.admin)
	waitFor(t, "every node polling coreB", 5*time.Second, func() bool {
		for _, n := range []*clusterNode{a, sat} {
			if n.must(fmt.Sprintf("SELECT checks_OK > 0 FROM stats_proxysql_servers_status WHERE port=%d", b.admin)) != "1" {
				return false
			}
		}
		return true
	})

	d := b.stop(t, false, 2*time.Second)
	t.Logf("coreB stopped %v after SIGTERM", d.Round(time.Millisecond))
	if !strings.Contains(b.logs.String(), "[INFO] stopped took=") {
		t.Errorf("coreB's log has no 'stopped' line:\n%s", tail(b.logs.String(), 20))
	}

	// coreB is down: its peers may try it once per interval at most.
	before := a.logs.Len()
	errBefore, _ := strconv.Atoi(a.must(fmt.Sprintf("SELECT checks_ERR FROM stats_proxysql_servers_status WHERE port=%d", b.admin)))
	const watch = 3 * time.Second
	time.Sleep(watch)
	errAfter, _ := strconv.Atoi(a.must(fmt.Sprintf("SELECT checks_ERR FROM stats_proxysql_servers_status WHERE port=%d", b.admin)))
	attempts := errAfter - errBefore
	if max := int(watch / clusterInterval); attempts > max || attempts < 1 {
		t.Errorf("coreA tried the stopped coreB %d times in %v, want 1..%d (one per check interval at most)", attempts, watch, max)
	}
	if n := linesAbout(a.logs.String()[before:], bAddr); n > 2 {
		t.Errorf("coreA logged %d lines about the stopped coreB in %v, want one per state change:\n%s", n, watch, a.logs.String()[before:])
	}
	t.Logf("coreA tried the stopped coreB %d times in %v", attempts, watch)

	// Removing coreB from coreA's proxysql_servers ends its monitor: no
	// further attempt, no further line.
	a.must(fmt.Sprintf("DELETE FROM proxysql_servers WHERE port=%d; LOAD PROXYSQL SERVERS TO RUNTIME", b.admin))
	waitFor(t, "coreA's monitor of coreB to close", 3*time.Second, func() bool {
		return strings.Contains(a.logs.String(), "Cluster: closing thread for peer "+bAddr)
	})
	before = a.logs.Len()
	time.Sleep(watch)
	if n := linesAbout(a.logs.String()[before:], bAddr); n != 0 {
		t.Errorf("coreA logged %d lines about the removed peer coreB:\n%s", n, a.logs.String()[before:])
	}
	if got := a.must(fmt.Sprintf("SELECT COUNT(*) FROM stats_proxysql_servers_status WHERE port=%d", b.admin)); got != "0" {
		t.Errorf("the removed peer is still monitored (%s rows)", got)
	}

	// PROXYSQL SHUTDOWN stops a clustered node just as fast.
	d = a.stop(t, true, 2*time.Second)
	t.Logf("coreA stopped %v after PROXYSQL SHUTDOWN", d.Round(time.Millisecond))
	d = sat.stop(t, false, 2*time.Second)
	t.Logf("the satellite stopped %v after SIGTERM with both cores gone", d.Round(time.Millisecond))
}

// TestClusterStopWithHungPeer: a peer that accepted the login and then
// stopped answering (its poll hangs; ProxySQL would wait forever, sqlgate
// for 10 s) does not hold up a stop.
func TestClusterStopWithHungPeer(t *testing.T) {
	n, fake := nodeWithFakePeer(t, func(f *fakePeer) { f.hang = true })
	n.addPeer(fake)
	waitFor(t, "the node's poll of the hung peer", 5*time.Second, func() bool { return fake.hung.Load() > 0 })
	d := n.stop(t, false, 2*time.Second)
	t.Logf("stopped %v after SIGTERM with a poll hanging on a peer", d.Round(time.Millisecond))
}

// TestClusterRedeployDoesNotRollBack: core B is re-deployed from its
// original proxysql.cnf (datadir wiped, the file copied in again with a
// fresh modification time). The rule LOADed on core A and the server
// weight changed at runtime stay on every node: B takes them instead of
// spreading its file.
func TestClusterRedeployDoesNotRollBack(t *testing.T) {
	bin := buildBinary(t)
	nodes := startCluster(t, bin, []string{"coreA", "coreB", "sat1"}, 2, nil)
	a, b := nodes[0], nodes[1]
	a.must("INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) VALUES (50, 1, '^SELECT', 0, 1); LOAD MYSQL QUERY RULES TO RUNTIME; SAVE MYSQL QUERY RULES TO DISK")
	a.must("UPDATE mysql_servers SET weight=7; LOAD MYSQL SERVERS TO RUNTIME")
	limit := clusterInterval*4 + time.Second
	converge(t, nodes, "mysql_query_rules", limit)
	converge(t, nodes, "mysql_servers_v2", limit)

	b.kill()
	if err := os.Remove(filepath.Join(b.dir, "proxysql.db")); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour) // the file looks newer than anything
	os.Chtimes(b.cnf, future, future)
	b.start()
	converge(t, nodes, "mysql_query_rules", limit+2*time.Second)
	converge(t, nodes, "mysql_servers_v2", limit+2*time.Second)
	time.Sleep(clusterInterval * 5) // and it stays so
	expectEverywhere(t, nodes, "SELECT GROUP_CONCAT(rule_id) FROM runtime_mysql_query_rules", "50")
	expectEverywhere(t, nodes, "SELECT weight FROM runtime_mysql_servers", "7")
	if !strings.Contains(b.logs.String(), "mysql_servers_v2 starts at version 1 (from the config file)") {
		t.Errorf("coreB does not say its file's servers start at version 1:\n%s", tail(b.logs.String(), 30))
	}
}

// TestClusterLateSatelliteConverges: a satellite deployed later with its
// own, different mysql_servers follows the cores, whether they run their
// boot configuration (version 1: the version-one rule) or a loaded one,
// and says why in its log.
func TestClusterLateSatelliteConverges(t *testing.T) {
	bin := buildBinary(t)
	cores := startCluster(t, bin, []string{"coreA", "coreB"}, 2, nil)
	sat := addNode(t, bin, "sat-late", adminPorts(cores...), func(s string) string {
		return strings.Replace(s, `mysql_servers = ( { address="127.0.0.1", port=3306, hostgroup=0 } )`,
			`mysql_servers = ( { address="127.0.0.1", port=3306, hostgroup=0 }, { address="127.0.0.2", port=3307, hostgroup=0, weight=5 } )`, 1)
	})
	nodes := append(cores, sat)
	if got := sat.must("SELECT COUNT(*) FROM runtime_mysql_servers"); got != "2" {
		t.Fatalf("the satellite did not start with its own servers: %s", got)
	}
	limit := clusterInterval*4 + 2*time.Second
	converge(t, nodes, "mysql_servers_v2", limit)
	expectEverywhere(t, nodes, "SELECT COUNT(*) FROM runtime_mysql_servers", "1")
	if !strings.Contains(sat.logs.String(), "this node is a satellite (absent from its own proxysql_servers), so it takes the peer's") {
		t.Errorf("the satellite does not say why it took the core's servers:\n%s", tail(sat.logs.String(), 30))
	}
	for _, c := range cores {
		if v := c.must("SELECT version FROM runtime_checksums_values WHERE name='mysql_servers_v2'"); v != "1" {
			t.Errorf("%s: servers version %s, want 1 (a core never takes a satellite's configuration)", c.name, v)
		}
	}
	// A LOAD on a core then reaches it as usual.
	cores[1].must("UPDATE mysql_servers SET weight=3; LOAD MYSQL SERVERS TO RUNTIME")
	converge(t, nodes, "mysql_servers_v2", limit)
	expectEverywhere(t, nodes, "SELECT weight FROM runtime_mysql_servers", "3")
}

// TestClusterFullRestartConvergesOnNewestLoad: rule 60 is LOADed and
// saved everywhere; rule 61 replaces it on core A, LOADed but never saved
// on A (its peers save what they pull). Then every node stops and starts
// again from its disk, core B first: they converge on rule 61, the newest
// configuration that was loaded, with no LOAD. A satellite whose own
// configuration is newer than the cores' follows the cores all the same.
func TestClusterFullRestartConvergesOnNewestLoad(t *testing.T) {
	bin := buildBinary(t)
	nodes := startCluster(t, bin, []string{"coreA", "coreB", "sat1"}, 2, nil)
	a, b, sat := nodes[0], nodes[1], nodes[2]
	limit := clusterInterval*4 + time.Second
	a.must("INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) VALUES (60, 1, '^SELECT', 0, 1); LOAD MYSQL QUERY RULES TO RUNTIME; SAVE MYSQL QUERY RULES TO DISK")
	converge(t, nodes, "mysql_query_rules", limit)
	time.Sleep(1100 * time.Millisecond) // a later epoch second for the next LOAD
	a.must("UPDATE mysql_query_rules SET rule_id=61; LOAD MYSQL QUERY RULES TO RUNTIME")
	converge(t, nodes, "mysql_query_rules", limit)
	for _, n := range nodes {
		n.stop(t, false, 2*time.Second)
	}
	for _, n := range []*clusterNode{b, sat, a} {
		n.start()
	}
	if got := a.must("SELECT GROUP_CONCAT(rule_id) FROM runtime_mysql_query_rules"); got != "60" {
		t.Fatalf("coreA booted with rule %s, want its saved 60", got)
	}
	converge(t, nodes, "mysql_query_rules", limit+2*time.Second)
	time.Sleep(clusterInterval * 5)
	expectEverywhere(t, nodes, "SELECT GROUP_CONCAT(rule_id) FROM runtime_mysql_query_rules", "61")
	if !strings.Contains(b.logs.String(), "mysql_query_rules starts at version 2 with epoch") {
		t.Errorf("coreB does not explain its boot epoch:\n%s", tail(b.logs.String(), 30))
	}

	// The satellite LOADs its own rule: newer than the cores', yet it goes
	// back to theirs (cores never read a satellite).
	sat.must("UPDATE mysql_query_rules SET rule_id=62; LOAD MYSQL QUERY RULES TO RUNTIME")
	converge(t, nodes, "mysql_query_rules", limit+time.Second)
	expectEverywhere(t, nodes, "SELECT GROUP_CONCAT(rule_id) FROM runtime_mysql_query_rules", "61")
	if !strings.Contains(sat.logs.String(), "this node is a satellite (absent from its own proxysql_servers) and follows the cores") {
		t.Errorf("the satellite does not say why it dropped its own rule:\n%s", tail(sat.logs.String(), 30))
	}
}
