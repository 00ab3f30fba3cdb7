package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestClusterSync: 2 cores and 3 satellites. A change on core A reaches
// every node for each module within check_interval × (diffs_before_sync+1)
// plus a second; with A down a change on B reaches the satellites; A
// catches up when it comes back.
func TestClusterSync(t *testing.T) {
	bin := buildBinary(t)
	nodes := startCluster(t, bin, []string{"coreA", "coreB", "sat1", "sat2", "sat3"}, 2, nil)
	a, b := nodes[0], nodes[1]
	limit := clusterInterval*4 + time.Second
	for _, m := range []string{"mysql_query_rules", "mysql_servers_v2", "mysql_users", "mysql_variables", "admin_variables", "proxysql_servers"} {
		converge(t, nodes, m, 5*time.Second) // identical configs from the start
	}
	changes := []struct{ module, sql string }{
		{"mysql_query_rules", "INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) VALUES (10, 1, '^SELECT', 0, 1); LOAD MYSQL QUERY RULES TO RUNTIME"},
		{"mysql_servers_v2", "INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (1, '127.0.0.1', 3307); LOAD MYSQL SERVERS TO RUNTIME"},
		{"mysql_users", "INSERT INTO mysql_users (username, password, default_hostgroup) VALUES ('app2', 'pw2', 0); LOAD MYSQL USERS TO RUNTIME"},
		{"mysql_variables", "SET mysql-max_connections=5000; LOAD MYSQL VARIABLES TO RUNTIME"},
		{"admin_variables", "SET admin-refresh_interval=3000; LOAD ADMIN VARIABLES TO RUNTIME"},
		{"proxysql_servers", "UPDATE proxysql_servers SET comment='core, renamed'; LOAD PROXYSQL SERVERS TO RUNTIME"},
	}
	for _, c := range changes {
		before, _, _ := a.checksum(c.module)
		a.must(c.sql)
		if after, _, _ := a.checksum(c.module); after == before {
			t.Fatalf("%s: checksum unchanged on core A after %q", c.module, c.sql)
		}
		d := converge(t, nodes, c.module, limit)
		t.Logf("%s: every node has core A's change after %v", c.module, d.Round(time.Millisecond))
		if c.module == "mysql_servers_v2" {
			// Sync algorithm 1 without a monitor moving servers: the runtime
			// servers follow as well.
			converge(t, nodes, "mysql_servers", limit)
			if got := nodes[3].must("SELECT COUNT(*) FROM runtime_mysql_servers WHERE hostgroup_id=1 AND port=3307"); got != "1" {
				t.Errorf("sat2: the new server is not in runtime_mysql_servers (%s)", got)
			}
		}
	}
	// Two LOADs within one second: nodes that copied the first one must
	// still take the second (epochs have a one-second resolution).
	a.must("UPDATE mysql_query_rules SET comment='first' WHERE rule_id=10; LOAD MYSQL QUERY RULES TO RUNTIME")
	time.Sleep(clusterInterval * 5)
	a.must("UPDATE mysql_query_rules SET comment='second' WHERE rule_id=10; LOAD MYSQL QUERY RULES TO RUNTIME")
	converge(t, nodes, "mysql_query_rules", limit)
	if got := nodes[4].must("SELECT comment FROM runtime_mysql_query_rules WHERE rule_id=10"); got != "second" {
		t.Errorf("satellite kept %q after two LOADs in a second", got)
	}
	// The change arrived in memory and on disk too (save_to_disk), and the
	// rows are the same everywhere.
	for _, n := range nodes[1:] {
		if got := n.must("SELECT rule_id, match_digest FROM disk.mysql_query_rules"); got != "10\t^SELECT" {
			t.Errorf("%s: disk.mysql_query_rules = %q", n.name, got)
		}
		if got := n.must("SELECT COUNT(*) FROM runtime_mysql_users WHERE username='app2'"); got == "0" {
			t.Errorf("%s: app2 not in runtime_mysql_users", n.name)
		}
	}
	if got := nodes[4].must("SELECT name, diff_check FROM stats_proxysql_servers_checksums WHERE port=" + fmt.Sprint(a.admin) + " AND name='mysql_query_rules'"); got != "mysql_query_rules\t0" {
		t.Errorf("satellite's view of core A: %q", got)
	}

	// Core A down: a change on core B still reaches every satellite.
	a.kill()
	b.must("INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) VALUES (20, 1, '^UPDATE', 0, 1); LOAD MYSQL QUERY RULES TO RUNTIME")
	d := converge(t, nodes[1:], "mysql_query_rules", limit)
	t.Logf("core A down: satellites have core B's change after %v", d.Round(time.Millisecond))
	if st := nodes[2].must(fmt.Sprintf("SELECT master FROM stats_proxysql_servers_status WHERE port=%d", a.admin)); !strings.Contains(st, "unable to connect") {
		t.Errorf("stats_proxysql_servers_status for the dead core: %q", st)
	}
	// Core A back: it boots from its disk (older) and catches up.
	a.start()
	d = converge(t, nodes, "mysql_query_rules", limit+3*time.Second)
	t.Logf("core A back: caught up after %v", d.Round(time.Millisecond))
	if got := a.must("SELECT COUNT(*) FROM runtime_mysql_query_rules"); got != "2" {
		t.Errorf("core A after catching up: %s rules, want 2", got)
	}
}

// TestClusterMaliciousPeer: a peer that announces a newer configuration
// but serves rows that do not match its checksum, or a resultset cut
// short, changes nothing; the reason shows in stats_proxysql_servers_status.
func TestClusterMaliciousPeer(t *testing.T) {
	bin := buildBinary(t)
	for _, truncate := range []bool{false, true} {
		nodes := startCluster(t, bin, []string{"node"}, 1, nil)
		n := nodes[0]
		version := n.must("SELECT @@version")
		fake := startFakePeer(t, version, truncate)
		before, _, _ := n.checksum("mysql_query_rules")
		n.must(fmt.Sprintf("INSERT INTO proxysql_servers (hostname, port) VALUES ('127.0.0.1', %d); LOAD PROXYSQL SERVERS TO RUNTIME", fake.port()))
		waitFor(t, "a pull attempt from the fake peer", 10*time.Second, func() bool { return fake.fetches.Load() >= 2 })
		if after, _, _ := n.checksum("mysql_query_rules"); after != before {
			t.Errorf("truncate=%v: mysql_query_rules changed from %s to %s", truncate, before, after)
		}
		if got := n.must("SELECT COUNT(*) FROM mysql_query_rules WHERE rule_id=666"); got != "0" {
			t.Errorf("truncate=%v: the peer's rule reached memory", truncate)
		}
		want := "mismatching checksum"
		if truncate {
			want = "pull of mysql_query_rules failed"
		}
		st := n.must(fmt.Sprintf("SELECT master FROM stats_proxysql_servers_status WHERE port=%d", fake.port()))
		if !strings.Contains(st, want) {
			t.Errorf("truncate=%v: stats_proxysql_servers_status says %q, want %q", truncate, st, want)
		}
		if c := strings.Count(n.logs.String(), "pull of mysql_query_rules failed"); c != 1 {
			t.Errorf("truncate=%v: the failure was logged %d times, want once per state change", truncate, c)
		}
		n.kill()
	}
}

// TestClusterVersionOneTrap: two cores boot from config files that differ.
// With ProxySQL's boot versions (-proxysql-boot-versions) every module is
// at version 1, nothing syncs, and ProxySQL's warning repeats: the trap.
// By default the version-one rule settles it without a LOAD: the first
// core in proxysql_servers order seeds the other, which the log explains;
// a full restart (from disk, or from the files with --initial) converges
// again on the same configuration.
func TestClusterVersionOneTrap(t *testing.T) {
	bin := buildBinary(t)
	rules := func(name string) string {
		id := map[string]string{"coreA": "1", "coreB": "2"}[name]
		return `mysql_query_rules = ( { rule_id=` + id + `, active=1, match_digest="^SELECT", destination_hostgroup=0, apply=1 } )`
	}
	ruleOn := func(n *clusterNode) string {
		return n.must("SELECT GROUP_CONCAT(rule_id) FROM runtime_mysql_query_rules")
	}

	// 1. The trap, reproduced.
	nodes := startCluster(t, bin, []string{"coreA", "coreB"}, 2, rules, "-proxysql-boot-versions")
	nodes[0].must("SET admin-cluster_mysql_query_rules_diffs_before_sync=1; LOAD ADMIN VARIABLES TO RUNTIME")
	waitFor(t, "ProxySQL's version-1 warning", 10*time.Second, func() bool {
		return strings.Contains(nodes[0].logs.String(), "diff_check is increasing, but version 1 doesn't allow sync. This message will be repeated every 10 checks until LOAD MYSQL QUERY RULES TO RUNTIME is executed on candidate master.")
	})
	if a, b := ruleOn(nodes[0]), ruleOn(nodes[1]); a == b {
		t.Fatalf("with ProxySQL's boot versions the nodes converged (%s): the trap was not reproduced", a)
	}
	for _, n := range nodes {
		n.kill()
	}

	// 2. sqlgate: the first core in proxysql_servers order (same host, so
	// the lower admin port) seeds the other.
	nodes = startCluster(t, bin, []string{"coreA", "coreB"}, 2, rules)
	first, second := nodes[0], nodes[1]
	if second.admin < first.admin {
		first, second = second, first
	}
	want := ruleOn(first)
	converge(t, nodes, "mysql_query_rules", 5*time.Second)
	if got := ruleOn(second); got != want {
		t.Errorf("%s has rule %s, want the first core's rule %s", second.name, got, want)
	}
	if !strings.Contains(second.logs.String(), "both run boot configuration (version 1) of mysql_query_rules and differ: this node is a core listed after it in proxysql_servers, so it takes the peer's") {
		t.Errorf("the follower does not say why it took the peer's rules:\n%s", second.logs)
	}
	if !strings.Contains(first.logs.String(), "mysql_query_rules starts at version 1 (from the config file)") {
		t.Errorf("the boot version is not explained in the log:\n%s", first.logs)
	}
	// 3. Full restart: both from disk, then both from their config files
	// (--initial): converged on the same rule again, without a LOAD.
	for _, args := range [][]string{nil, {"--initial"}} {
		for _, n := range nodes {
			n.kill()
		}
		for _, n := range nodes {
			n.start(args...)
		}
		converge(t, nodes, "mysql_query_rules", 5*time.Second)
		if a, b := ruleOn(nodes[0]), ruleOn(nodes[1]); a != want || b != want {
			t.Errorf("after a restart %v: rules %s and %s, want %s on both", args, a, b, want)
		}
	}
	// 4. A change after the restart propagates as usual.
	nodes[0].must("UPDATE mysql_query_rules SET match_digest='^SELECT .*' ; LOAD MYSQL QUERY RULES TO RUNTIME")
	converge(t, nodes, "mysql_query_rules", 3*time.Second)
}

// TestClusterConcurrentChanges: both cores change the same module at the
// same moment. They converge on one configuration (newest epoch, ties to
// the higher checksum) and stay there: no loop.
func TestClusterConcurrentChanges(t *testing.T) {
	nodes := startCluster(t, buildBinary(t), []string{"coreA", "coreB", "sat"}, 2, nil)
	converge(t, nodes, "mysql_query_rules", 5*time.Second)
	done := make(chan struct{})
	for i, n := range nodes[:2] {
		go func() {
			n.must(fmt.Sprintf("INSERT INTO mysql_query_rules (rule_id, active, match_digest, apply) VALUES (%d, 1, '^X%d', 1); LOAD MYSQL QUERY RULES TO RUNTIME", 100+i, i))
			done <- struct{}{}
		}()
	}
	<-done
	<-done
	converge(t, nodes, "mysql_query_rules", 5*time.Second)
	sum, _, _ := nodes[0].checksum("mysql_query_rules")
	pulls := strings.Count(nodes[0].logs.String()+nodes[1].logs.String(), "Fetching MySQL Query Rules from peer")
	time.Sleep(2 * time.Second)
	for _, n := range nodes {
		if s, _, _ := n.checksum("mysql_query_rules"); s != sum {
			t.Errorf("%s moved to %s after converging on %s", n.name, s, sum)
		}
	}
	if after := strings.Count(nodes[0].logs.String()+nodes[1].logs.String(), "Fetching MySQL Query Rules from peer"); after != pulls {
		t.Errorf("the cores kept pulling after converging: %d pulls, then %d", pulls, after)
	}
}

// TestClusterWrongCredentials: a node whose cluster account the peer
// refuses changes nothing, logs the reason once and shows it in
// stats_proxysql_servers_status.
func TestClusterWrongCredentials(t *testing.T) {
	bin := buildBinary(t)
	nodes := startCluster(t, bin, []string{"coreA", "coreB"}, 2, nil)
	a, b := nodes[0], nodes[1]
	// coreB logs in to coreA with a password coreA does not know.
	b.must("SET admin-admin_credentials='admin:admin;cluster:other'; SET admin-cluster_password='other'; LOAD ADMIN VARIABLES TO RUNTIME")
	a.must("INSERT INTO mysql_query_rules (rule_id, active, match_digest, apply) VALUES (5, 1, '^Z', 1); LOAD MYSQL QUERY RULES TO RUNTIME")
	waitFor(t, "the refusal in coreB's stats_proxysql_servers_status", 5*time.Second, func() bool {
		return strings.Contains(b.must(fmt.Sprintf("SELECT master FROM stats_proxysql_servers_status WHERE port=%d", a.admin)), "Access denied")
	})
	time.Sleep(clusterInterval * 6)
	if got := b.must("SELECT COUNT(*) FROM runtime_mysql_query_rules"); got != "0" {
		t.Errorf("coreB took rules with a refused account: %s", got)
	}
	if n := strings.Count(b.logs.String(), "Cluster: peer 127.0.0.1:"+strconv.Itoa(a.admin)+": unable to connect: ERROR 1045 (28000): Access denied"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once per state change:\n%s", n, b.logs)
	}
}

// TestClusterDriftView: stats_sqlgate_cluster_drift says, per peer and
// module, whether it matches, since when it differs and why it does not
// sync: in sync after converging; differing with the reason when a module's
// sync is switched off; unreachable with the error when the peer dies.
func TestClusterDriftView(t *testing.T) {
	nodes := startCluster(t, buildBinary(t), []string{"coreA", "coreB"}, 2, nil)
	a, b := nodes[0], nodes[1]
	converge(t, nodes, "mysql_query_rules", 5*time.Second)
	drift := func(n *clusterNode, peer *clusterNode, module string) string {
		return n.must(fmt.Sprintf("SELECT state, reason, differs_since > 0, local_checksum = peer_checksum FROM stats_sqlgate_cluster_drift WHERE port=%d AND name='%s'", peer.admin, module))
	}
	waitFor(t, "every module of coreB in sync on coreA", 5*time.Second, func() bool {
		out := a.must(fmt.Sprintf("SELECT state, COUNT(*) FROM stats_sqlgate_cluster_drift WHERE port=%d GROUP BY state", b.admin))
		return out == "in sync\t7"
	})

	// Switch query-rule sync off (admin variables carry it to coreB), then
	// change the rules on coreA: both sides say they differ and why.
	a.must("SET admin-cluster_mysql_query_rules_diffs_before_sync=0; LOAD ADMIN VARIABLES TO RUNTIME")
	converge(t, nodes, "admin_variables", 5*time.Second)
	a.must("INSERT INTO mysql_query_rules (rule_id, active, match_digest, apply) VALUES (7, 1, '^DRIFT', 1); LOAD MYSQL QUERY RULES TO RUNTIME")
	want := "differs\tnot syncing: admin-cluster_mysql_query_rules_diffs_before_sync=0\t1\t0"
	for _, side := range [][2]*clusterNode{{a, b}, {b, a}} {
		waitFor(t, side[0].name+"'s drift row for "+side[1].name, 5*time.Second, func() bool {
			return drift(side[0], side[1], "mysql_query_rules") == want
		})
	}
	// The stats user reads it too: it is a stats table.
	if out, err := b.sqlAs("stats", "stats", fmt.Sprintf("SELECT state FROM stats.stats_sqlgate_cluster_drift WHERE port=%d AND name='mysql_query_rules'", a.admin)); out != "differs" {
		t.Errorf("the stats user sees %q (%v)", out, err)
	}

	// Sync on again: the rows match again, and the reason is gone.
	a.must("SET admin-cluster_mysql_query_rules_diffs_before_sync=3; LOAD ADMIN VARIABLES TO RUNTIME")
	converge(t, nodes, "mysql_query_rules", 5*time.Second)
	waitFor(t, "query rules in sync again", 5*time.Second, func() bool {
		return drift(b, a, "mysql_query_rules") == "in sync\t\t0\t1"
	})

	// coreB dies: coreA shows every module of it unreachable, with the error.
	b.kill()
	waitFor(t, "coreB unreachable in coreA's drift view", 5*time.Second, func() bool {
		return strings.HasPrefix(drift(a, b, "mysql_query_rules"), "unreachable\tunable to connect")
	})
}
