package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"sqlgate/internal/testbed"
	"sqlgate/scripts/bench/report"
)

// target is one thing sysbench connects to. pid is 0 for direct.
type target struct {
	name      string
	port      int
	adminPort int
	pid       int
	dir       string
	stopOnce  sync.Once
	stopFn    func()
}

func (t *target) stop() {
	if t == nil || t.stopFn == nil {
		return
	}
	t.stopOnce.Do(t.stopFn)
}

// proxyCnf is the configuration ProxySQL and sqlgate both run: one server,
// one user, no query rules, every other variable at its default (query
// digests and stats on, the monitor on with monitor/monitor, which the
// test bed creates). have_ssl=false keeps the client side plain, as it is
// against MariaDB and HAProxy; max_connections admits the idle section's
// clients.
func proxyCnf(dir string, admin, port, backend, threads, maxConns int) string {
	return fmt.Sprintf(`datadir="%s"
admin_variables = { admin_credentials="admin:admin"; mysql_ifaces="127.0.0.1:%d" }
mysql_variables = { interfaces="127.0.0.1:%d"; threads=%d; max_connections=%d; have_ssl=false }
mysql_servers = ( { address="127.0.0.1", port=%d, hostgroup=0, max_connections=300 } )
mysql_users = ( { username="app", password="app", default_hostgroup=0 } )
`, dir, admin, port, threads, maxConns, backend)
}

// startTarget starts a proxy on free ports, again with other ports when
// it exits at start (a port picked free can be taken before it binds).
func startTarget(ctx context.Context, name string, o options, dir string, backendPort int) (*target, error) {
	var err error
	for try := 1; try <= 3; try++ {
		var t *target
		t, err = startTargetOnce(ctx, name, o, filepath.Join(dir, strconv.Itoa(try)), backendPort)
		if err == nil || !errors.Is(err, errExited) {
			return t, err
		}
		fmt.Fprintf(os.Stderr, "%v\nagain with other ports\n", err)
	}
	return nil, err
}

var errExited = errors.New("exited during start")

func startTargetOnce(ctx context.Context, name string, o options, dir string, backendPort int) (*target, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := testbed.FreePort()
	if err != nil {
		return nil, err
	}
	t := &target{name: name, port: port, dir: dir}
	var cmd *exec.Cmd
	switch name {
	case tHAProxy:
		cfg := filepath.Join(dir, "haproxy.cfg")
		err = os.WriteFile(cfg, []byte(fmt.Sprintf(`global
    maxconn %d
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
listen mysql
    bind 127.0.0.1:%d
    server db 127.0.0.1:%d
`, 4096, port, backendPort)), 0o644)
		if err != nil {
			return nil, err
		}
		bin, _ := lookPath("haproxy")
		cmd = exec.Command(bin, "-db", "-f", cfg)
	case tGoRelay, tEpollRelay, tURingRelay:
		mode := map[string]string{tGoRelay: "go", tEpollRelay: "epoll", tURingRelay: "uring"}[name]
		cmd = exec.Command(o.relayBin, "-mode", mode, "-loops", strconv.Itoa(o.proxyThreads),
			"-listen", fmt.Sprintf("127.0.0.1:%d", port), "-backend", fmt.Sprintf("127.0.0.1:%d", backendPort))
		cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", o.gomaxprocs))
	case tProxySQL, tSqlgate:
		if t.adminPort, err = testbed.FreePort(); err != nil {
			return nil, err
		}
		cnf := filepath.Join(dir, "proxysql.cnf")
		if err := os.WriteFile(cnf, []byte(proxyCnf(dir, t.adminPort, port, backendPort, o.proxyThreads, o.idleConns+4096)), 0o644); err != nil {
			return nil, err
		}
		bin := o.proxysqlBin
		args := []string{"-f", "--initial", "-c", cnf, "-D", dir}
		if name == tSqlgate {
			bin = o.bin
			if prof := os.Getenv("SQLGATE_CPUPROFILE"); prof != "" {
				args = append(args, "-cpuprofile", prof) // go tool pprof bin/sqlgate $SQLGATE_CPUPROFILE
			}
		}
		cmd = exec.Command(bin, args...)
		cmd.Dir = dir
		if name == tSqlgate {
			cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", o.gomaxprocs))
		}
	default:
		return nil, fmt.Errorf("unknown target %q", name)
	}
	logPath := filepath.Join(dir, name+".log")
	exited := make(chan struct{})
	if t.stopFn, err = startProcess(cmd, logPath, exited); err != nil {
		return nil, err
	}
	t.pid = cmd.Process.Pid
	if err := t.waitReady(ctx, exited); err != nil {
		t.stop()
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%s: %w\n%s", name, err, tailLines(string(log), 20))
	}
	return t, nil
}

// waitReady waits until a query through the target returns (and, for the
// proxies, the admin interface answers).
func (t *target) waitReady(ctx context.Context, exited chan struct{}) error {
	app, _ := sql.Open("mysql", fmt.Sprintf("app:app@tcp(127.0.0.1:%d)/?timeout=2s", t.port))
	defer app.Close()
	var admin *sql.DB
	if t.adminPort != 0 {
		admin, _ = sql.Open("mysql", fmt.Sprintf("admin:admin@tcp(127.0.0.1:%d)/?timeout=2s", t.adminPort))
		defer admin.Close()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var one int
		err := app.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		if err == nil && admin != nil {
			err = admin.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		}
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%w: %v", errExited, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("did not answer within 20s: %v", err)
		}
	}
}

// admin opens the target's admin interface (one connection).
func (t *target) admin() (*sql.DB, error) {
	if t.adminPort == 0 {
		return nil, errors.New("no admin interface")
	}
	db, err := sql.Open("mysql", fmt.Sprintf("admin:admin@tcp(127.0.0.1:%d)/?timeout=5s", t.adminPort))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// startProcess starts cmd with output to logPath and returns a stop that
// signals exactly that process (SIGTERM, then SIGKILL after 5 s) and waits
// for it. exited, if not nil, is closed when the process exits.
func startProcess(cmd *exec.Cmd, logPath string, exited chan struct{}) (func(), error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	orphanKill(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
		if exited != nil {
			close(exited)
		}
	}()
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

// orphanKill has the kernel kill cmd's process if this one dies without
// cleaning up (SIGKILL, a crash): the bench leaves no proxy behind.
func orphanKill(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// cpuSeconds reads utime+stime of pid from /proc (0 for pid 0).
func cpuSeconds(pid int) float64 {
	u, k := cpuTimes(pid)
	return u + k
}

// cpuTimes reads utime and stime of pid from /proc, in seconds (0 for pid
// 0). stime is the kernel's share: for a proxy, mostly the socket
// syscalls, which any proxy pays for each byte it reads and writes.
func cpuTimes(pid int) (user, sys float64) {
	if pid == 0 {
		return 0, 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return ut / 100, st / 100 // USER_HZ is 100 on Linux
}

// cpuMoves sums se.nr_migrations, the times the kernel moved a thread to
// another CPU, over pid's threads. The file exists where the kernel has
// scheduler debugging (CONFIG_SCHED_DEBUG, the default of most
// distributions); ok is false where it does not. A thread that exits takes
// its count with it, so a drop between two samples means "unknown".
func cpuMoves(pid int) (n int64, ok bool) {
	if pid == 0 {
		return 0, false
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, false
	}
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/sched", pid, t.Name()))
		if err != nil {
			continue // the thread exited
		}
		v, found := schedField(string(b), "se.nr_migrations")
		if !found {
			return 0, false
		}
		n, ok = n+v, true
	}
	return n, ok
}

// schedField is the integer value of the line "name : value" in a
// /proc/<pid>/sched file.
func schedField(s, name string) (int64, bool) {
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != name {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// rssKiB is VmRSS of pid.
func rssKiB(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			if f := strings.Fields(l); len(f) > 1 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb
			}
		}
	}
	return 0
}

// machineCPU is the busy and total CPU seconds of the whole machine
// (/proc/stat).
func machineCPU() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, s := range f[1:] {
		if i >= 8 { // guest time is already in user
			break
		}
		v, _ := strconv.ParseFloat(s, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy / 100, total / 100
}

func loadavg() []float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	var out []float64
	for i := 0; i < 3 && i < len(f); i++ {
		v, _ := strconv.ParseFloat(f[i], 64)
		out = append(out, v)
	}
	return out
}

func machineInfo() report.Machine {
	m := report.Machine{NProc: runtime.NumCPU()}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = utsString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(string(b), "MemTotal: %f kB", &kb)
		m.MemGiB = float64(int(kb/1024/1024*10+0.5)) / 10
	}
	if b, err := os.ReadFile("/etc/debian_version"); err == nil {
		m.OS = "Debian " + strings.TrimSpace(string(b))
	}
	return m
}

func utsString(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}
