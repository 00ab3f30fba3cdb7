package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sqlgate/internal/testbed"
	"sqlgate/scripts/bench/report"
)

// monitorBench measures the monitor's CPU with 100 backends: a sqlgate with
// 100 mysql_servers entries, each a distinct unix-socket path (symlinks to
// one MariaDB), all in a replication hostgroup pair with
// max_replication_lag set, so every entry gets ping, read_only and lag
// checks. CPU is read from /proc for a window with the monitor off (the
// baseline), then at each interval.
func monitorBench(ctx context.Context, bin, dir string, bed *testbed.Bed, window time.Duration, intervals []int) ([]report.MonitorRow, error) {
	const backends = 100
	sockDir := filepath.Join(dir, "s")
	if err := os.MkdirAll(sockDir, 0o755); err != nil {
		return nil, err
	}
	var servers []string
	for i := range backends {
		link := filepath.Join(sockDir, fmt.Sprintf("%03d", i))
		if err := os.Symlink(bed.Primary.Socket, link); err != nil {
			return nil, err
		}
		servers = append(servers, fmt.Sprintf(`{ address="%s", port=0, hostgroup=1, max_replication_lag=60 }`, link))
	}
	port, err := testbed.FreePort()
	if err != nil {
		return nil, err
	}
	adminPort, err := testbed.FreePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "mon")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	cnf := filepath.Join(data, "proxysql.cnf")
	err = os.WriteFile(cnf, []byte(fmt.Sprintf(`datadir="%s"
admin_variables = { mysql_ifaces="127.0.0.1:%d" }
mysql_variables = { interfaces="127.0.0.1:%d"; monitor_enabled=false; monitor_connect_interval=60000 }
mysql_servers = ( %s )
mysql_replication_hostgroups = ( { writer_hostgroup=0, reader_hostgroup=1 } )
mysql_users = ( { username="app", password="app", default_hostgroup=1 } )
`, data, adminPort, port, strings.Join(servers, ",\n"))), 0o644)
	if err != nil {
		return nil, err
	}
	args := []string{"-f", "-c", cnf, "-D", data}
	if prof := os.Getenv("SQLGATE_MONITOR_CPUPROFILE"); prof != "" {
		args = append(args, "-cpuprofile", prof) // go tool pprof bin/sqlgate $SQLGATE_MONITOR_CPUPROFILE
	}
	cmd := exec.Command(bin, args...)
	cleanup, err := startProcess(cmd, filepath.Join(data, "sqlgate.log"), nil)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	admin, err := sql.Open("mysql", fmt.Sprintf("admin:admin@tcp(127.0.0.1:%d)/", adminPort))
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	admin.SetMaxOpenConns(1)
	exec := func(q string) error {
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := admin.ExecContext(ctx, q)
			if err == nil || time.Now().After(deadline) {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	pid := cmd.Process.Pid
	measure := func() float64 {
		c0 := cpuSeconds(pid)
		select {
		case <-time.After(window):
		case <-ctx.Done():
		}
		return cpuSeconds(pid) - c0
	}
	if err := exec("SELECT 1"); err != nil {
		log, _ := os.ReadFile(filepath.Join(data, "sqlgate.log"))
		return nil, fmt.Errorf("monitor bench: admin: %w\n%s", err, log)
	}
	time.Sleep(time.Second)
	base := measure()
	var out []report.MonitorRow
	for _, iv := range intervals {
		q := fmt.Sprintf("UPDATE global_variables SET variable_value='%d' WHERE variable_name IN "+
			"('mysql-monitor_ping_interval','mysql-monitor_read_only_interval','mysql-monitor_replication_lag_interval')", iv)
		if err := exec(q); err != nil {
			return nil, err
		}
		if err := exec("UPDATE global_variables SET variable_value='true' WHERE variable_name='mysql-monitor_enabled'"); err != nil {
			return nil, err
		}
		if err := exec("LOAD MYSQL VARIABLES TO RUNTIME"); err != nil {
			return nil, err
		}
		time.Sleep(time.Duration(iv)*time.Millisecond + time.Second) // connections open, checks spread
		cpu := measure() - base
		checks := float64(backends*3) * 1000 / float64(iv)
		r := report.MonitorRow{Backends: backends, IntervalMs: iv, ChecksPerS: checks,
			CPUPercent: 100 * cpu / window.Seconds(), CPUusPerChk: cpu * 1e6 / (checks * window.Seconds())}
		out = append(out, r)
	}
	var hosts int
	admin.QueryRowContext(ctx, "SELECT COUNT(DISTINCT hostname) FROM monitor.mysql_server_ping_log WHERE ping_error IS NULL").Scan(&hosts)
	if hosts != backends {
		return out, fmt.Errorf("monitor bench: %d of %d backends answered pings; see %s", hosts, backends, filepath.Join(data, "sqlgate.log"))
	}
	return out, nil
}
