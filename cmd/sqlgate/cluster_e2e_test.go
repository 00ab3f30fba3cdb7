package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clusterNode is one sqlgate process of a test cluster.
type clusterNode struct {
	*proxy
	name string
	db   *sql.DB // admin connection (Go driver) for fast polling
}

const clusterInterval = 200 * time.Millisecond

// clusterCnf is a node's proxysql.cnf: the cores in proxysql_servers, a
// cluster account, a 200 ms check interval, and extra sections.
func clusterCnf(dir string, admin, app int, cores []int, extra string) string {
	var ps []string
	for _, c := range cores {
		ps = append(ps, fmt.Sprintf(`{ hostname="127.0.0.1", port=%d, comment="core" }`, c))
	}
	return fmt.Sprintf(`datadir="%s"
admin_variables = { admin_credentials="admin:admin;cluster:clusterpw" mysql_ifaces="127.0.0.1:%d"
  cluster_username="cluster" cluster_password="clusterpw" cluster_check_interval_ms=%d cluster_check_status_frequency=5 }
mysql_variables = { interfaces="127.0.0.1:%d" monitor_enabled=false }
mysql_servers = ( { address="127.0.0.1", port=3306, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )
proxysql_servers = ( %s )
%s
`, dir, admin, clusterInterval.Milliseconds(), app, strings.Join(ps, ",\n  "), extra)
}

// startCluster starts nodes (the first len(coreNames) are cores) from
// their own proxysql.cnf.
func startCluster(t *testing.T, bin string, names []string, cores int, extra func(name string) string, args ...string) []*clusterNode {
	t.Helper()
	needCLI(t)
	admins := make([]int, len(names))
	apps := make([]int, len(names))
	for i := range names {
		admins[i], apps[i] = freePort(t), freePort(t)
	}
	var nodes []*clusterNode
	for i, name := range names {
		p := &proxy{t: t, bin: bin, dir: t.TempDir(), admin: admins[i], app: apps[i]}
		p.cnf = filepath.Join(p.dir, "proxysql.cnf")
		x := ""
		if extra != nil {
			x = extra(name)
		}
		if err := os.WriteFile(p.cnf, []byte(clusterCnf(p.dir, admins[i], apps[i], admins[:cores], x)), 0o644); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, &clusterNode{proxy: p, name: name})
	}
	for _, n := range nodes {
		n.start(args...)
		t.Cleanup(n.kill)
		n.openDB(t)
	}
	return nodes
}

func (n *clusterNode) openDB(t *testing.T) {
	db, err := sql.Open("mysql", fmt.Sprintf("admin:admin@tcp(127.0.0.1:%d)/?timeout=2s&readTimeout=5s&interpolateParams=true", n.admin))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	n.db = db
}

// checksum returns a module's checksum, version and epoch on the node ("" if down).
func (n *clusterNode) checksum(module string) (sum string, version, epoch int64) {
	n.db.QueryRow("SELECT checksum, version, epoch FROM runtime_checksums_values WHERE name=?", module).Scan(&sum, &version, &epoch)
	return sum, version, epoch
}

// converge waits until every node shows the same checksum for module and
// returns how long that took.
func converge(t *testing.T, nodes []*clusterNode, module string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		want, _, _ := nodes[0].checksum(module)
		same := want != ""
		for _, n := range nodes[1:] {
			if s, _, _ := n.checksum(module); s != want {
				same = false
				break
			}
		}
		if same {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			var b strings.Builder
			for _, n := range nodes {
				s, v, e := n.checksum(module)
				fmt.Fprintf(&b, "%s: %s version %d epoch %d\n", n.name, s, v, e)
			}
			t.Fatalf("%s did not converge within %v:\n%s\nlogs of %s:\n%s", module, limit, b.String(), nodes[len(nodes)-1].name, nodes[len(nodes)-1].logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

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
