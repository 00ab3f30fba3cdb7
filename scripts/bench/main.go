// Command bench runs sysbench against MariaDB directly, through HAProxy (TCP
// mode) and through sqlgate in one run, and prints a side-by-side table:
// QPS, p95 latency, QPS ratio to direct, proxy CPU per query and RSS. The
// table is also written as JSON under bench/results/.
//
//	go run ./scripts/bench [-time 20] [-quick] [-workloads ...] [-threads 4,32] [-targets direct,haproxy,sqlgate]
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"sqlgate/internal/testbed"
)

// result is one (workload, threads, target) run.
type result struct {
	Workload   string  `json:"workload"`
	Threads    int     `json:"threads"`
	Target     string  `json:"target"`
	QPS        float64 `json:"qps"`
	P95ms      float64 `json:"p95_ms"`
	Ratio      float64 `json:"ratio_to_direct"`
	Errors     int     `json:"errors"`
	Reconnects int     `json:"reconnects"`
	Queries    int64   `json:"queries"`
	CPUusPerQ  float64 `json:"proxy_cpu_us_per_query,omitempty"`
	RSSMB      float64 `json:"proxy_rss_mb,omitempty"`
	Failed     bool    `json:"failed,omitempty"`
}

func tailLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	dur := flag.Int("time", 20, "seconds per sysbench run")
	quick := flag.Bool("quick", false, "5-second runs (smoke test)")
	workloads := flag.String("workloads", "oltp_point_select,oltp_read_only,oltp_read_write", "sysbench workloads")
	threads := flag.String("threads", "4,32", "client thread counts")
	targets := flag.String("targets", "direct,haproxy,sqlgate", "targets")
	bin := flag.String("bin", "bin/sqlgate", "sqlgate binary")
	withMonitor := flag.Bool("monitor", true, "measure the monitor's CPU with 100 backends")
	withSysbench := flag.Bool("sysbench", true, "run the sysbench comparison")
	withCluster := flag.Bool("cluster", true, "measure cluster convergence with 2 cores and 20 satellites")
	flag.Parse()
	if *quick {
		*dur = 5
	}
	for _, b := range []string{"sysbench", "haproxy"} {
		if _, err := lookPath(b); err != nil {
			return fmt.Errorf("%s not found: apt-get install -y %s", b, b)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintln(os.Stderr, "starting MariaDB...")
	bed, err := testbed.Start(ctx, testbed.Options{ServerArgs: []string{"--max_connections=1000"}})
	if err != nil {
		return err
	}
	defer bed.Stop()
	tmp, err := os.MkdirTemp("", "sqlgate-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	ports := map[string]int{"direct": bed.Primary.Port}
	pids := map[string]int{}
	want := strings.Split(*targets, ",")
	if contains(want, "sqlgate") {
		p, pid, cleanup, err := startSqlgate(ctx, *bin, tmp, bed.Primary.Port)
		if err != nil {
			return err
		}
		defer cleanup()
		ports["sqlgate"], pids["sqlgate"] = p, pid
	}
	if contains(want, "haproxy") {
		p, pid, cleanup, err := startHAProxy(tmp, bed.Primary.Port)
		if err != nil {
			return err
		}
		defer cleanup()
		ports["haproxy"], pids["haproxy"] = p, pid
	}

	common := []string{"--db-driver=mysql", "--mysql-host=127.0.0.1", "--mysql-user=app", "--mysql-password=app",
		"--mysql-db=sbtest", "--tables=4", "--table-size=10000", "--db-ps-mode=auto", "--report-interval=0",
		"--percentile=95"}
	// sysbench's default --mysql-ignore-errors (1213,1020,1205) is kept:
	// oltp_read_write deadlocks on MariaDB itself at 32 threads; they are
	// counted in the errors column.
	fmt.Fprintln(os.Stderr, "preparing sbtest (4 x 10000 rows)...")
	if out, err := sysbench(ctx, 120*time.Second, append(append([]string{"oltp_read_write"}, common...),
		fmt.Sprintf("--mysql-port=%d", bed.Primary.Port), "prepare")...); err != nil {
		return fmt.Errorf("sysbench prepare: %v\n%s", err, out)
	}

	var results []result
	if !*withSysbench {
		*workloads = ""
	}
	for _, w := range strings.Split(*workloads, ",") {
		if w == "" {
			continue
		}
		for _, ts := range strings.Split(*threads, ",") {
			th, err := strconv.Atoi(ts)
			if err != nil {
				return fmt.Errorf("-threads: %q is not a number", ts)
			}
			var direct float64
			for _, target := range want {
				port, ok := ports[target]
				if !ok {
					return fmt.Errorf("unknown target %q (want direct, haproxy or sqlgate)", target)
				}
				fmt.Fprintf(os.Stderr, "%s %d threads via %s...\n", w, th, target)
				cpu0 := cpuSeconds(pids[target])
				args := append(append([]string{w}, common...), fmt.Sprintf("--mysql-port=%d", port),
					fmt.Sprintf("--threads=%d", th), fmt.Sprintf("--time=%d", *dur), "run")
				out, err := sysbench(ctx, time.Duration(*dur+60)*time.Second, args...)
				if err != nil {
					// Keep the other runs: report this one as failed.
					fmt.Fprintf(os.Stderr, "sysbench %s via %s failed: %v\n%s\n", w, target, err, tailLines(out, 5))
				}
				r := parse(out)
				r.Failed = err != nil
				r.Workload, r.Threads, r.Target = w, th, target
				if target == "direct" {
					direct = r.QPS
				}
				if direct > 0 {
					r.Ratio = r.QPS / direct
				}
				if pid := pids[target]; pid > 0 && r.Queries > 0 {
					r.CPUusPerQ = (cpuSeconds(pid) - cpu0) * 1e6 / float64(r.Queries)
					r.RSSMB = rssMB(pid)
				}
				results = append(results, r)
			}
		}
	}
	sysbench(ctx, 60*time.Second, append(append([]string{"oltp_read_write"}, common...),
		fmt.Sprintf("--mysql-port=%d", bed.Primary.Port), "cleanup")...)

	version, _ := exec.Command(*bin, "--version").Output()
	var mariadb string
	if db, err := bed.DB(bed.Primary, "app", "app", ""); err == nil {
		db.QueryRow("SELECT VERSION()").Scan(&mariadb)
		db.Close()
	}
	nproc, _ := exec.Command("nproc").Output()
	if len(results) > 0 {
		printTable(results, want, strings.TrimSpace(string(version)), mariadb, strings.TrimSpace(string(nproc)), *dur)
	}
	var mon []monitorResult
	if *withMonitor {
		fmt.Fprintln(os.Stderr, "monitor CPU with 100 backends...")
		window := 10 * time.Second
		if *quick {
			window = 3 * time.Second
		}
		mon, err = monitorBench(ctx, *bin, tmp, bed, window, []int{1000, 100})
		if err != nil {
			return err
		}
		printMonitor(mon, window)
	}
	var cl []clusterResult
	if *withCluster {
		fmt.Fprintln(os.Stderr, "cluster convergence with 22 nodes...")
		trials := 5
		if *quick {
			trials = 2
		}
		for _, iv := range []time.Duration{time.Second, 200 * time.Millisecond} {
			r, err := clusterBench(ctx, *bin, filepath.Join(tmp, fmt.Sprintf("cluster%d", iv.Milliseconds())), 20, trials, iv)
			if err != nil {
				return err
			}
			cl = append(cl, r)
		}
		printCluster(cl)
	}
	return writeJSON(results, mon, cl, map[string]any{
		"date": time.Now().UTC().Format(time.RFC3339), "nproc": strings.TrimSpace(string(nproc)),
		"mariadb": mariadb, "sqlgate": strings.TrimSpace(string(version)), "seconds_per_run": *dur,
		"tables": 4, "table_size": 10000, "ps_mode": "auto",
	})
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := "/usr/sbin/" + name
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

func sysbench(ctx context.Context, limit time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sysbench", args...).CombinedOutput()
	return string(out), err
}

var (
	reQueries = regexp.MustCompile(`queries:\s+(\d+)\s+\(([\d.]+) per sec`)
	reP95     = regexp.MustCompile(`95th percentile:\s+([\d.]+)`)
	reErrors  = regexp.MustCompile(`ignored errors:\s+(\d+)`)
	reReconn  = regexp.MustCompile(`reconnects:\s+(\d+)`)
)

func parse(out string) result {
	var r result
	if m := reQueries.FindStringSubmatch(out); m != nil {
		r.Queries, _ = strconv.ParseInt(m[1], 10, 64)
		r.QPS, _ = strconv.ParseFloat(m[2], 64)
	}
	if m := reP95.FindStringSubmatch(out); m != nil {
		r.P95ms, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reErrors.FindStringSubmatch(out); m != nil {
		r.Errors, _ = strconv.Atoi(m[1])
	}
	if m := reReconn.FindStringSubmatch(out); m != nil {
		r.Reconnects, _ = strconv.Atoi(m[1])
	}
	return r
}

// startProcess starts cmd with output to logPath and returns a cleanup
// that kills exactly that process.
func startProcess(cmd *exec.Cmd, logPath string) (func(), error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	return func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}, nil
}

func startSqlgate(ctx context.Context, bin, dir string, backendPort int) (int, int, func(), error) {
	if _, err := os.Stat(bin); err != nil {
		return 0, 0, nil, fmt.Errorf("%s not found: run make build", bin)
	}
	port, err := testbed.FreePort()
	if err != nil {
		return 0, 0, nil, err
	}
	adminPort, err := testbed.FreePort()
	if err != nil {
		return 0, 0, nil, err
	}
	cnf := filepath.Join(dir, "proxysql.cnf")
	err = os.WriteFile(cnf, []byte(fmt.Sprintf(`datadir="%s"
admin_variables = { mysql_ifaces="127.0.0.1:%d" }
mysql_variables = { interfaces="127.0.0.1:%d"; have_ssl=false; threads=4; max_connections=2048 }
mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0, max_connections=200 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )
`, dir, adminPort, port, backendPort)), 0o644)
	if err != nil {
		return 0, 0, nil, err
	}
	logPath := filepath.Join(dir, "sqlgate.log")
	args := []string{"-f", "-c", cnf, "-D", dir}
	if prof := os.Getenv("SQLGATE_CPUPROFILE"); prof != "" {
		args = append(args, "-cpuprofile", prof) // go tool pprof bin/sqlgate $SQLGATE_CPUPROFILE
	}
	cmd := exec.Command(bin, args...)
	cleanup, err := startProcess(cmd, logPath)
	if err != nil {
		return 0, 0, nil, err
	}
	db, _ := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/sbtest", port))
	defer db.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := db.PingContext(ctx); err == nil {
			return port, cmd.Process.Pid, cleanup, nil
		} else if time.Now().After(deadline) {
			cleanup()
			log, _ := os.ReadFile(logPath)
			return 0, 0, nil, fmt.Errorf("sqlgate did not accept logins within 10s: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func startHAProxy(dir string, backendPort int) (int, int, func(), error) {
	port, err := testbed.FreePort()
	if err != nil {
		return 0, 0, nil, err
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	err = os.WriteFile(cfg, []byte(fmt.Sprintf(`global
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
listen mysql
    bind 127.0.0.1:%d
    server db 127.0.0.1:%d
`, port, backendPort)), 0o644)
	if err != nil {
		return 0, 0, nil, err
	}
	bin, _ := lookPath("haproxy")
	cmd := exec.Command(bin, "-db", "-f", cfg)
	cleanup, err := startProcess(cmd, filepath.Join(dir, "haproxy.log"))
	if err != nil {
		return 0, 0, nil, err
	}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return port, cmd.Process.Pid, cleanup, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	cleanup()
	return 0, 0, nil, errors.New("haproxy did not listen within 5s")
}

// cpuSeconds reads utime+stime of pid from /proc (0 for pid 0).
func cpuSeconds(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // CLK_TCK is 100 on Linux
}

func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func printTable(rs []result, targets []string, version, mariadb, nproc string, dur int) {
	fmt.Printf("\nsqlgate benchmark %s | %s | MariaDB %s | %s CPUs | %d s per run, sysbench 4x10000 rows, ps-mode auto\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), version, mariadb, nproc, dur)
	fmt.Printf("%-18s %4s", "workload", "thr")
	for _, t := range targets {
		if t == "direct" {
			fmt.Printf(" | %-8s %9s %7s", t, "QPS", "p95ms")
		} else {
			fmt.Printf(" | %-8s %9s %7s %6s %8s %6s", t, "QPS", "p95ms", "ratio", "cpuus/q", "rssMB")
		}
	}
	fmt.Printf(" | %s\n", "errors")
	by := map[string]result{}
	var keys []string
	for _, r := range rs {
		k := fmt.Sprintf("%s/%d", r.Workload, r.Threads)
		if _, ok := by[k+"/direct"]; !ok && !contains(keys, k) {
			keys = append(keys, k)
		}
		by[k+"/"+r.Target] = r
	}
	for _, k := range keys {
		w, th, _ := strings.Cut(k, "/")
		fmt.Printf("%-18s %4s", w, th)
		errs := 0
		for _, t := range targets {
			r := by[k+"/"+t]
			errs += r.Errors + r.Reconnects
			if r.Failed {
				errs = -1
			}
			if t == "direct" {
				fmt.Printf(" | %-8s %9.0f %7.2f", "", r.QPS, r.P95ms)
			} else {
				fmt.Printf(" | %-8s %9.0f %7.2f %6.2f %8.1f %6.1f", "", r.QPS, r.P95ms, r.Ratio, r.CPUusPerQ, r.RSSMB)
			}
		}
		fmt.Printf(" | %d\n", errs)
	}
	fmt.Println("\nClient (sysbench), MariaDB and the proxy share the same CPUs: compare proxies by ratio and CPU per query.")
	fmt.Println("errors = ignored errors + reconnects over all targets (oltp_read_write deadlocks are the workload's); -1 = a run failed.")
}

func writeJSON(rs []result, mon []monitorResult, cl []clusterResult, meta map[string]any) error {
	if err := os.MkdirAll("bench/results", 0o755); err != nil {
		return err
	}
	path := filepath.Join("bench/results", "bench-"+time.Now().UTC().Format("20060102T150405Z")+".json")
	b, err := json.MarshalIndent(map[string]any{"meta": meta, "results": rs, "monitor": mon, "cluster": cl}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	fmt.Println("results written to", path)
	return nil
}
