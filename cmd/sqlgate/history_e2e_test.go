package main

import (
	"strings"
	"testing"
	"time"
)

// TestConfigHistoryAcrossTheCluster: a rule changed on one core is in the
// history of every node with its source, the diff shows it, and a restore
// from the other core rolls it back everywhere.
func TestConfigHistoryAcrossTheCluster(t *testing.T) {
	bin := buildBinary(t)
	nodes := startCluster(t, bin, []string{"coreA", "coreB", "sat"}, 2, nil)
	a, b := nodes[0], nodes[1]
	history := "SELECT revision, source FROM sqlgate_config_history WHERE module='mysql_query_rules' ORDER BY revision"

	// The boot is the first revision of every module.
	for _, n := range nodes {
		if got := n.must(history); strings.Count(got, "\n") != 0 || !strings.Contains(got, "boot from ") {
			t.Fatalf("%s: history after boot:\n%s", n.name, got)
		}
	}
	bootRev := strings.Fields(b.must(history))[0]

	a.must("INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) VALUES (7, 1, '^SELECT.*FOR UPDATE', 0, 1)")
	a.must("LOAD MYSQL QUERY RULES TO RUNTIME")
	a.must("LOAD MYSQL QUERY RULES TO RUNTIME") // the same content again: no revision
	converge(t, nodes, "mysql_query_rules", 10*time.Second)
	if got := a.must(history); strings.Count(got, "LOAD MYSQL QUERY RULES TO RUNTIME by admin@127.0.0.1") != 1 || strings.Count(got, "\n") != 1 {
		t.Fatalf("coreA history:\n%s", got)
	}
	for _, n := range nodes[1:] {
		if got := n.must(history); !strings.Contains(got, "pull from peer 127.0.0.1:") {
			t.Fatalf("%s: history has no pull:\n%s", n.name, got)
		}
	}

	// The diff between boot and now on coreB: the rule, added.
	lastRev := func(n *clusterNode) string { return strings.Fields(lastLine(n.must(history)))[0] }
	diff := b.must("SQLGATE CONFIG DIFF " + bootRev + " " + lastRev(b))
	if !strings.HasPrefix(diff, "+\truntime_mysql_query_rules\trule_id=\"7\"") || !strings.Contains(diff, `match_digest="^SELECT.*FOR UPDATE"`) || strings.Count(diff, "\n") != 0 {
		t.Fatalf("diff:\n%s", diff)
	}
	b.mustFail("SQLGATE CONFIG DIFF "+bootRev+" 999999", "revision 999999 is not in sqlgate_config_history")
	users := strings.Fields(b.must("SELECT revision FROM sqlgate_config_history WHERE module='mysql_users'"))[0]
	b.mustFail("SQLGATE CONFIG DIFF "+bootRev+" "+users, "compare two revisions of one module")

	// Rolled back from the other core: coreB loads its boot revision, and
	// the cluster follows it.
	b.must("SQLGATE CONFIG RESTORE " + bootRev)
	if got := b.must("SELECT COUNT(*) FROM runtime_mysql_query_rules"); got != "0" {
		t.Fatalf("coreB after the restore has %s rules", got)
	}
	converge(t, nodes, "mysql_query_rules", 10*time.Second)
	expectEverywhere(t, nodes, "SELECT COUNT(*) FROM runtime_mysql_query_rules", "0")
	if got := b.must(history); !strings.Contains(lastLine(got), "restore of revision "+bootRev+" by admin@127.0.0.1") {
		t.Fatalf("coreB history after the restore:\n%s", got)
	}
	if got := a.must(history); !strings.Contains(lastLine(got), "pull from peer 127.0.0.1:") {
		t.Fatalf("coreA history after the restore on coreB:\n%s", got)
	}

	// The history is in proxysql.db: it survives kill -9, and the stats
	// user cannot read it (mysql_users revisions hold passwords).
	a.kill()
	a.start()
	a.openDB(t)
	if got := a.must(history); strings.Count(got, "\n") != 2 {
		t.Fatalf("coreA history after a restart:\n%s", got)
	}
	out, err := a.sqlAs("stats", "stats", "SELECT COUNT(*) FROM sqlgate_config_history")
	if err == nil || !strings.Contains(out, "no such table") {
		t.Fatalf("the stats user reads the history: %v %s", err, out)
	}
}

func lastLine(s string) string { return s[strings.LastIndex(s, "\n")+1:] }
