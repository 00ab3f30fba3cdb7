package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sqlgate/internal/testbed"
)

// mixedNode is a node of a mixed cluster: sqlgate or the real ProxySQL.
type mixedNode struct {
	*clusterNode
	args []string
}

func (n *mixedNode) boot() { n.start(n.args...) }

// TestMixedClusterWithProxySQL: a ProxySQL core, a sqlgate core, and one
// satellite of each, all from the same proxysql.cnf. Every module's
// checksum is equal at boot; a change LOADed on either core reaches every
// node; a user LOADed on ProxySQL logs in through the sqlgate satellite;
// the ProxySQL core killed and restarted rejoins without rolling anything
// back.
func TestMixedClusterWithProxySQL(t *testing.T) {
	psBin := realProxySQL(t)
	bed := testbed.ForTest(t, testbed.Options{})
	needCLI(t)
	bin := buildBinary(t)
	version := proxysqlVersion(t, psBin)

	names := []string{"proxysql-core", "sqlgate-core", "proxysql-sat", "sqlgate-sat"}
	admins, apps := make([]int, len(names)), make([]int, len(names))
	for i := range names {
		admins[i], apps[i] = freePort(t), freePort(t)
	}
	var nodes []*mixedNode
	var cluster []*clusterNode
	for i, name := range names {
		b, args := bin, []string{"-proxysql-version", version}
		if strings.HasPrefix(name, "proxysql") {
			b, args = psBin, nil
		}
		p := &proxy{t: t, bin: b, dir: t.TempDir(), admin: admins[i], app: apps[i]}
		p.cnf = filepath.Join(p.dir, "proxysql.cnf")
		cnf := clusterCnf(p.dir, admins[i], apps[i], admins[:2], "")
		cnf = strings.Replace(cnf, `port=3306, hostgroup=0`, fmt.Sprintf(`port=%d, hostgroup=0`, bed.Primary.Port), 1)
		// have_ssl set in the file is applied after server_capabilities
		// in ProxySQL and changes it: the checksums must still agree.
		cnf = strings.Replace(cnf, `monitor_enabled=false`, `monitor_enabled=false have_ssl=true`, 1)
		if err := os.WriteFile(p.cnf, []byte(cnf), 0o644); err != nil {
			t.Fatal(err)
		}
		n := &mixedNode{clusterNode: &clusterNode{proxy: p, name: name}, args: args}
		n.boot()
		t.Cleanup(n.kill)
		n.openDB(t)
		nodes = append(nodes, n)
		cluster = append(cluster, n.clusterNode)
	}
	psCore, sgCore, sgSat := nodes[0], nodes[1], nodes[3]
	modules := []string{"admin_variables", "mysql_query_rules", "mysql_servers", "mysql_servers_v2", "mysql_users", "mysql_variables", "proxysql_servers"}

	// 1. Same configuration, same checksums, all at version 1.
	for _, m := range modules {
		converge(t, cluster, m, 3*time.Second)
		for _, n := range cluster {
			if _, v, _ := n.checksum(m); v != 1 {
				t.Errorf("%s: %s boots at version %d, want 1", n.name, m, v)
			}
		}
	}

	// 2. A change LOADed on either core reaches every node.
	limit := clusterInterval*5 + 3*time.Second
	for i, core := range []*mixedNode{sgCore, psCore} {
		hg := 10 + i
		changes := []struct{ module, sql string }{
			{"mysql_servers_v2", fmt.Sprintf("INSERT INTO mysql_servers (hostgroup_id, hostname, port) VALUES (%d, '127.0.0.1', %d); LOAD MYSQL SERVERS TO RUNTIME", hg, bed.Primary.Port)},
			{"mysql_users", fmt.Sprintf("INSERT INTO mysql_users (username, password, default_hostgroup) VALUES ('u%d', 'pw%d', 0); LOAD MYSQL USERS TO RUNTIME", i, i)},
			{"mysql_query_rules", fmt.Sprintf("INSERT INTO mysql_query_rules (rule_id, active, match_digest, destination_hostgroup, apply) VALUES (%d, 1, '^SELECT %d', %d, 1); LOAD MYSQL QUERY RULES TO RUNTIME", hg, i, hg)},
			{"mysql_variables", fmt.Sprintf("SET mysql-max_connections=%d; LOAD MYSQL VARIABLES TO RUNTIME", 4000+i)},
			{"admin_variables", fmt.Sprintf("SET admin-refresh_interval=%d; LOAD ADMIN VARIABLES TO RUNTIME", 3000+i)},
			{"proxysql_servers", fmt.Sprintf("UPDATE proxysql_servers SET comment='core %d'; LOAD PROXYSQL SERVERS TO RUNTIME", i)},
		}
		for _, c := range changes {
			before, _, _ := core.checksum(c.module)
			core.must(c.sql)
			if after, _, _ := core.checksum(c.module); after == before {
				t.Fatalf("%s: %s unchanged after %q", core.name, c.module, c.sql)
			}
			d := converge(t, cluster, c.module, limit)
			t.Logf("%s on %s reached every node after %v", c.module, core.name, d.Round(time.Millisecond))
		}
	}
	expectEverywhere(t, cluster, "SELECT variable_value FROM runtime_global_variables WHERE variable_name='mysql-max_connections'", "4001")
	expectEverywhere(t, cluster, "SELECT COUNT(*) FROM runtime_mysql_query_rules WHERE rule_id IN (10, 11)", "2")

	// 3. A user LOADed on ProxySQL logs in through the sqlgate satellite
	// and runs a statement on MariaDB.
	if err := bed.Exec(context.Background(), bed.Primary, "CREATE USER IF NOT EXISTS 'fromps'@'%' IDENTIFIED BY 'fromps-pw'; GRANT ALL ON *.* TO 'fromps'@'%'"); err != nil {
		t.Fatal(err)
	}
	psCore.must("INSERT INTO mysql_users (username, password, default_hostgroup) VALUES ('fromps', 'fromps-pw', 0); LOAD MYSQL USERS TO RUNTIME")
	converge(t, cluster, "mysql_users", limit)
	db, err := sql.Open("mysql", fmt.Sprintf("fromps:fromps-pw@tcp(127.0.0.1:%d)/?timeout=3s", sgSat.app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var user string
	if err := db.QueryRow("SELECT CURRENT_USER()").Scan(&user); err != nil || !strings.HasPrefix(user, "fromps@") {
		t.Fatalf("the user LOADed on ProxySQL, through the sqlgate satellite: %q, %v", user, err)
	}

	// 4. The ProxySQL core killed and restarted (from its proxysql.db, at
	// version 1) rejoins and rolls nothing back.
	psCore.kill()
	sgCore.must("UPDATE mysql_query_rules SET comment='while proxysql was down' WHERE rule_id=10; LOAD MYSQL QUERY RULES TO RUNTIME")
	converge(t, cluster[1:], "mysql_query_rules", limit)
	want, _, _ := sgCore.checksum("mysql_query_rules")
	psCore.boot()
	psCore.openDB(t)
	converge(t, cluster, "mysql_query_rules", limit)
	for _, m := range modules {
		converge(t, cluster, m, limit)
	}
	if got, _, _ := sgCore.checksum("mysql_query_rules"); got != want {
		t.Errorf("the restarted ProxySQL rolled the rules back: %s, want %s", got, want)
	}
	expectEverywhere(t, cluster, "SELECT comment FROM runtime_mysql_query_rules WHERE rule_id=10", "while proxysql was down")
}
