package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sqlgate/internal/testbed"
	"sqlgate/scripts/bench/report"
)

// errStartRace: a node could not start (its port was taken meanwhile).
var errStartRace = errors.New("cluster node did not start")

type benchNode struct {
	admin, app int
	pid        int
	db         *sql.DB
	stop       func()
	exited     chan struct{}
}

// clusterBench starts 2 cores and `satellites` satellites of sqlgate on
// loopback, changes mysql_query_rules on core A `trials` times and measures
// how long until every node shows the new checksum, and core A's CPU.
func clusterBench(ctx context.Context, bin, dir string, satellites, trials int, interval, window time.Duration) (report.ClusterRow, error) {
	n := 2 + satellites
	res := report.ClusterRow{Nodes: n, IntervalMs: int(interval.Milliseconds()), Diffs: 3}
	nodes := make([]*benchNode, n)
	for i := range nodes {
		a, err := testbed.FreePort()
		if err != nil {
			return res, err
		}
		p, err := testbed.FreePort()
		if err != nil {
			return res, err
		}
		nodes[i] = &benchNode{admin: a, app: p}
	}
	defer func() {
		for _, nd := range nodes {
			if nd.db != nil {
				nd.db.Close()
			}
			if nd.stop != nil {
				nd.stop()
			}
		}
	}()
	cores := fmt.Sprintf(`{ hostname="127.0.0.1", port=%d }, { hostname="127.0.0.1", port=%d }`, nodes[0].admin, nodes[1].admin)
	for i, nd := range nodes {
		d := filepath.Join(dir, fmt.Sprintf("cl%02d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return res, err
		}
		cnf := filepath.Join(d, "proxysql.cnf")
		err := os.WriteFile(cnf, []byte(fmt.Sprintf(`datadir="%s"
admin_variables = { admin_credentials="admin:admin;cluster:clusterpw" mysql_ifaces="127.0.0.1:%d"
  cluster_username="cluster" cluster_password="clusterpw" cluster_check_interval_ms=%d }
mysql_variables = { interfaces="127.0.0.1:%d" monitor_enabled=false }
mysql_servers = ( { address="127.0.0.1", port=3306, hostgroup=0 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )
proxysql_servers = ( %s )
`, d, nd.admin, interval.Milliseconds(), nd.app, cores)), 0o644)
		if err != nil {
			return res, err
		}
		cmd := exec.Command(bin, "-f", "-c", cnf, "-D", d)
		nd.exited = make(chan struct{})
		if nd.stop, err = startProcess(cmd, filepath.Join(d, "sqlgate.log"), nd.exited); err != nil {
			return res, err
		}
		nd.pid = cmd.Process.Pid
		nd.db, _ = sql.Open("mysql", fmt.Sprintf("admin:admin@tcp(127.0.0.1:%d)/?interpolateParams=true&timeout=2s", nd.admin))
		nd.db.SetMaxOpenConns(1)
	}
	sum := func(nd *benchNode) string {
		var s string
		nd.db.QueryRowContext(ctx, "SELECT checksum FROM runtime_checksums_values WHERE name='mysql_query_rules'").Scan(&s)
		return s
	}
	waitAll := func(limit time.Duration) (time.Duration, error) {
		start := time.Now()
		for time.Since(start) < limit {
			want := sum(nodes[0])
			same := want != ""
			for _, nd := range nodes[1:] {
				if sum(nd) != want {
					same = false
					break
				}
			}
			if same {
				return time.Since(start), nil
			}
			time.Sleep(10 * time.Millisecond)
		}
		var b strings.Builder
		bad := 0
		for i, nd := range nodes {
			s := sum(nd)
			if s != sum(nodes[0]) && bad == 0 {
				bad = i
			}
			var err error
			if s == "" {
				err = nd.db.PingContext(ctx)
			}
			fmt.Fprintf(&b, "node %d (admin %d): %q %v\n", i, nd.admin, s, err)
		}
		log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("cl%02d", bad), "sqlgate.log"))
		return 0, fmt.Errorf("cluster bench: %d nodes did not converge within %v:\n%s\nlog of node %d:\n%s", n, limit, b.String(), bad, tailLines(string(log), 60))
	}
	// A port picked free may be taken by someone's outgoing connection
	// before the node binds it: the caller retries with new ports.
	sleep(ctx, time.Second)
	for i, nd := range nodes {
		select {
		case <-nd.exited:
			log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("cl%02d", i), "sqlgate.log"))
			return res, fmt.Errorf("%w: node %d exited at start: %s", errStartRace, i, tailLines(string(log), 3))
		default:
		}
	}
	if _, err := waitAll(30 * time.Second); err != nil {
		return res, err
	}
	time.Sleep(2 * interval)
	c0 := cpuSeconds(nodes[0].pid)
	time.Sleep(window)
	idle := cpuSeconds(nodes[0].pid) - c0
	res.CoreCPUPct = 100 * idle / window.Seconds()
	res.PollsPerSec = float64(n-1) / interval.Seconds() // every other node polls core A
	res.CoreCPUusPoll = idle * 1e6 / (res.PollsPerSec * window.Seconds())
	var busy float64
	var busyTime time.Duration
	for i := range trials {
		c0 := cpuSeconds(nodes[0].pid)
		if _, err := nodes[0].db.ExecContext(ctx, fmt.Sprintf("INSERT INTO mysql_query_rules (rule_id, active, match_digest, apply) VALUES (%d, 1, '^B%d', 1)", 1000+i, i)); err != nil {
			return res, err
		}
		if _, err := nodes[0].db.ExecContext(ctx, "LOAD MYSQL QUERY RULES TO RUNTIME"); err != nil {
			return res, err
		}
		d, err := waitAll(30 * time.Second)
		if err != nil {
			return res, err
		}
		busy += cpuSeconds(nodes[0].pid) - c0
		busyTime += d
		res.ConvergeMs = append(res.ConvergeMs, float64(d.Microseconds())/1000)
		time.Sleep(interval)
	}
	res.CoreCPUPctLd = 100 * busy / busyTime.Seconds()
	return res, nil
}
