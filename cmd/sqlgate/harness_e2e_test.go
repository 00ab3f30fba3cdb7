package main

// The end-to-end harness: building the binary once per test run, starting
// sqlgate processes from a proxysql.cnf on free ports, admin access through
// the mariadb CLI and the Go driver, test clusters and misbehaving peers,
// and the real ProxySQL binary for comparisons. Every *_e2e_test.go file
// uses these; they live here so there is one place to look.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sqlgate/internal/health"
	"sqlgate/internal/wire"
)

// The sqlgate binary the end-to-end tests run, built once per test run.
// SQLGATE_TEST_RACE=1 builds it with the race detector; every sqlgate the
// tests start then writes its race reports under raceDir, and TestMain
// fails the run if any was written.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
	raceDir string
)

func raceBuild() bool { return os.Getenv("SQLGATE_TEST_RACE") == "1" }

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "sqlgate-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if raceBuild() {
		raceDir = filepath.Join(binDir, "race")
		os.MkdirAll(raceDir, 0o755)
		// Inherited by every process the tests start.
		os.Setenv("GORACE", "log_path="+filepath.Join(raceDir, "report"))
	}
	code := m.Run()
	if raceDir != "" {
		reports, _ := filepath.Glob(filepath.Join(raceDir, "report*"))
		for _, r := range reports {
			b, _ := os.ReadFile(r)
			if len(b) > 0 {
				fmt.Fprintf(os.Stderr, "race detector report from a sqlgate process (%s):\n%s\n", r, b)
				code = 1
			}
		}
	}
	os.RemoveAll(binDir)
	os.Exit(code)
}

// buildBinary returns the sqlgate binary, compiling it on first use.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "sqlgate")
		args := []string{"build", "-o", binPath}
		if raceBuild() {
			args = append(args, "-race")
		}
		if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// freePort returns a port nothing listens on, for a sqlgate to bind a
// moment later. It is taken below the kernel's ephemeral range (32768 and
// up on Linux), where a port the kernel gave to "bind :0" would stay free
// only until the next outgoing connection of any test running alongside
// (MariaDB clients, sysbench, peers) took it; a port is handed out once
// per test binary.
func freePort(t *testing.T) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if portsGiven[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		portsGiven[p] = true
		return p
	}
	t.Fatal("no free port in 20000-31999")
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// proxy is a sqlgate process started from a proxysql.cnf, restartable.
type proxy struct {
	t          *testing.T
	bin, dir   string
	cnf        string
	admin, app int
	cmd        *exec.Cmd
	logs       *bytes.Buffer
	done       chan error
}

func needCLI(t *testing.T) {
	if _, err := exec.LookPath("mariadb"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mariadb client not found")
		}
		t.Skip("mariadb client not found: apt-get install mariadb-client")
	}
}

// newProxy writes a proxysql.cnf with the given sections (after the
// admin/mysql variables) and starts sqlgate on free ports.
func newProxy(t *testing.T, bin, sections string) *proxy {
	needCLI(t)
	p := &proxy{t: t, bin: bin, dir: t.TempDir(), admin: freePort(t), app: freePort(t)}
	p.cnf = filepath.Join(p.dir, "proxysql.cnf")
	os.WriteFile(p.cnf, []byte(fmt.Sprintf(`datadir="%s"
admin_variables = { admin_credentials="admin:admin;radmin:radmin" mysql_ifaces="127.0.0.1:%d" }
mysql_variables = { interfaces="127.0.0.1:%d" monitor_username="monitor" monitor_password="monitor" }
%s
`, p.dir, p.admin, p.app, sections)), 0o644)
	p.start()
	t.Cleanup(p.kill)
	return p
}

func (p *proxy) start(extra ...string) {
	p.t.Helper()
	p.startWith(append([]string{"-f", "-c", p.cnf, "-D", p.dir}, extra...)...)
}

// startWith starts sqlgate with exactly args (start adds the usual ones).
func (p *proxy) startWith(args ...string) {
	p.t.Helper()
	p.logs = &bytes.Buffer{}
	p.cmd = exec.Command(p.bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan error, 1)
	cmd, done := p.cmd, p.done
	go func() { done <- cmd.Wait() }()
	// Ready when both the admin and the client port accept: the client
	// listener opens after the admin one.
	deadline := time.Now().Add(15 * time.Second)
	for _, port := range []int{p.admin, p.app} {
		p.waitListening(port, deadline)
	}
}

func (p *proxy) waitListening(port int, deadline time.Time) {
	p.t.Helper()
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-p.done:
			p.t.Fatalf("sqlgate exited during start: %v\n%s", err, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("port %d did not listen:\n%s", port, p.logs)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// kill sends SIGKILL (kill -9) and waits for the process to go.
func (p *proxy) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}

// sql runs statements with the mariadb CLI on the admin port and returns
// the tab-separated rows.
func (p *proxy) sql(q string) (string, error) { return p.sqlAs("admin", "admin", q) }

// sqlAs is sql as another admin-port user (e.g. stats:stats).
func (p *proxy) sqlAs(user, password, q string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mariadb", "-h127.0.0.1", "-P"+strconv.Itoa(p.admin), "-u"+user, "-p"+password,
		"-N", "-B", "-e", q).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (p *proxy) must(q string) string {
	p.t.Helper()
	out, err := p.sql(q)
	if err != nil {
		p.t.Fatalf("admin %q: %v\n%s\nlogs:\n%s", q, err, out, p.logs)
	}
	return out
}

func (p *proxy) mustFail(q, want string) {
	p.t.Helper()
	out, err := p.sql(q)
	if err == nil {
		p.t.Fatalf("admin %q succeeded, want an error containing %q; output %q", q, want, out)
	}
	if !strings.Contains(out, want) {
		p.t.Fatalf("admin %q: error %q does not contain %q", q, out, want)
	}
}

func (p *proxy) checksums() map[string][3]string {
	out := p.must("SELECT name, version, epoch, checksum FROM runtime_checksums_values ORDER BY name")
	m := map[string][3]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 4 {
			m[f[0]] = [3]string{f[1], f[2], f[3]}
		}
	}
	return m
}

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

// fakePeer is a misbehaving cluster peer: it speaks just enough of the
// admin protocol to be polled, announces a newer mysql_query_rules
// checksum, and serves rows that do not hash to it (or cuts the
// resultset short). A real ProxySQL cannot be made to do this, hence a
// fake.
type fakePeer struct {
	ln       net.Listener
	version  string
	truncate bool
	fetches  atomic.Int64
	// hang: after the login, never answer SELECT GLOBAL_CHECKSUM() (a
	// peer that stopped responding); hung counts the polls left hanging.
	hang bool
	hung atomic.Int64
	// flood: answer runtime_checksums_values with rows until the poller
	// hangs up; flooded counts the bytes sent.
	flood   bool
	flooded atomic.Int64
	// clearSwitch: answer the login with an AuthSwitchRequest to
	// mysql_clear_password and keep what the node sends back in clearGot.
	clearSwitch bool
	clearGot    atomic.Value // string
}

func startFakePeer(t *testing.T, version string, truncate bool) *fakePeer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePeer{ln: ln, version: version, truncate: truncate}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakePeer) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *fakePeer) serve(nc net.Conn) {
	defer nc.Close()
	c := wire.NewConn(nc)
	g := wire.Greeting{ServerVersion: "8.0.11", ConnID: 1, Salt: wire.NewSalt(), Charset: 33, Status: wire.StatusAutocommit,
		Caps:       wire.ClientProtocol41 | wire.ClientSecureConnection | wire.ClientPluginAuth | wire.ClientLongPassword | wire.ClientTransactions,
		AuthPlugin: wire.NativePassword}
	if c.WritePacket(g.Append(nil)) != nil || c.Flush() != nil {
		return
	}
	if _, err := c.ReadPacket(1 << 20); err != nil {
		return
	}
	if f.clearSwitch {
		c.WritePacket(append([]byte{wire.AuthSwitchHeader}, "mysql_clear_password\x00"...))
		c.Flush()
		p, err := c.ReadPacket(1 << 20)
		if err == nil {
			f.clearGot.Store(string(p))
		}
		return
	}
	ok := func() error {
		c.WritePacket(wire.AppendOK(nil, wire.OKHeader, wire.OK{Status: wire.StatusAutocommit}))
		return c.Flush()
	}
	if ok() != nil {
		return
	}
	result := func(cols []string, rows [][]string, cut bool) error {
		c.WritePacket(wire.AppendLenEncInt(nil, uint64(len(cols))))
		if cut {
			c.Flush()
			return io.EOF // a truncated resultset: the connection just ends
		}
		for _, col := range cols {
			c.WritePacket(wire.AppendColumnDef(nil, col, wire.TypeVarString))
		}
		c.WritePacket(wire.AppendEOF(nil, 0, wire.StatusAutocommit))
		for _, r := range rows {
			var b []byte
			for _, v := range r {
				b = wire.AppendLenEncString(b, v)
			}
			c.WritePacket(b)
		}
		c.WritePacket(wire.AppendEOF(nil, 0, wire.StatusAutocommit))
		return c.Flush()
	}
	future := strconv.FormatInt(time.Now().Unix()+3600, 10)
	for {
		p, err := c.ReadPacket(1 << 20)
		if err != nil || len(p) == 0 || p[0] != wire.ComQuery {
			return
		}
		q := string(p[1:])
		switch {
		case q == "SELECT @@version":
			err = result([]string{"@@version"}, [][]string{{f.version}}, false)
		case strings.HasPrefix(q, "PROXYSQL CLUSTER_NODE_UUID"):
			err = ok()
		case q == "SELECT GLOBAL_CHECKSUM()" && f.hang:
			f.hung.Add(1)
			io.Copy(io.Discard, nc) // until the poller gives up and closes
			return
		case q == "SELECT GLOBAL_CHECKSUM()":
			err = result([]string{"CHECKSUM"}, [][]string{{"42"}}, false)
		case strings.HasPrefix(q, "SELECT * FROM runtime_checksums_values") && f.flood:
			c.WritePacket(wire.AppendLenEncInt(nil, 4))
			for _, col := range []string{"name", "version", "epoch", "checksum"} {
				c.WritePacket(wire.AppendColumnDef(nil, col, wire.TypeVarString))
			}
			c.WritePacket(wire.AppendEOF(nil, 0, wire.StatusAutocommit))
			var row []byte
			for _, v := range []string{"mysql_query_rules", "2", "1", strings.Repeat("x", 1000)} {
				row = wire.AppendLenEncString(row, v)
			}
			for {
				if c.WritePacket(row) != nil {
					return
				}
				f.flooded.Add(int64(len(row) + 4))
			}
		case strings.HasPrefix(q, "SELECT * FROM runtime_checksums_values"):
			err = result([]string{"name", "version", "epoch", "checksum"},
				[][]string{{"mysql_query_rules", "99", future, "0x1111111111111111"}}, false)
		case strings.HasPrefix(q, "PROXY_SELECT rule_id"):
			f.fetches.Add(1)
			row := make([]string, 34)
			row[0], row[8], row[14], row[31] = "666", "^DROP", "0", "1"
			cols := make([]string, 34)
			for i := range cols {
				cols[i] = fmt.Sprintf("c%d", i)
			}
			err = result(cols, [][]string{row}, f.truncate)
		case strings.HasPrefix(q, "PROXY_SELECT username, schemaname"):
			err = result([]string{"username", "schemaname", "flagIN", "destination_hostgroup", "comment"}, nil, false)
		case strings.HasPrefix(q, "SELECT * FROM stats_mysql_global"):
			err = result([]string{"Variable_Name", "Variable_Value"}, nil, false)
		default:
			c.WritePacket(wire.AppendErr(nil, wire.Errorf(1045, "28000", "no")))
			err = c.Flush()
		}
		if err != nil {
			return
		}
	}
}

// stop asks the node to stop (SIGTERM, or PROXYSQL SHUTDOWN when admin
// is set) and returns how long the process took to exit; it fails the
// test beyond limit.
func (p *proxy) stop(t *testing.T, admin bool, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if admin {
		p.sql("PROXYSQL SHUTDOWN")
	} else {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit status after a clean stop: %v", err)
		}
		p.cmd = nil
	case <-time.After(limit):
		t.Fatalf("node did not stop within %v:\n%s", limit, tail(p.logs.String(), 40))
	}
	return time.Since(start)
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// linesAbout counts the log lines of logs that mention addr.
func linesAbout(logs, addr string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, addr) {
			n++
		}
	}
	return n
}

// nodeWithFakePeer starts one node and a fake peer of its version, set up
// by mode before any connection reaches it (the node learns of the peer
// only from addPeer).
func nodeWithFakePeer(t *testing.T, mode func(*fakePeer)) (*clusterNode, *fakePeer) {
	t.Helper()
	n := startCluster(t, buildBinary(t), []string{"node"}, 1, nil)[0]
	fake := startFakePeer(t, n.must("SELECT @@version"), false)
	mode(fake)
	return n, fake
}

// addPeer adds fake to the node's proxysql_servers and loads it.
func (n *clusterNode) addPeer(fake *fakePeer) {
	n.must(fmt.Sprintf("INSERT INTO proxysql_servers (hostname, port) VALUES ('127.0.0.1', %d); LOAD PROXYSQL SERVERS TO RUNTIME", fake.port()))
}

// addNode starts one more node whose proxysql.cnf lists the given cores;
// edit may change the file's text.
func addNode(t *testing.T, bin, name string, cores []int, edit func(string) string) *clusterNode {
	t.Helper()
	p := &proxy{t: t, bin: bin, dir: t.TempDir(), admin: freePort(t), app: freePort(t)}
	p.cnf = filepath.Join(p.dir, "proxysql.cnf")
	text := clusterCnf(p.dir, p.admin, p.app, cores, "")
	if edit != nil {
		text = edit(text)
	}
	if err := os.WriteFile(p.cnf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &clusterNode{proxy: p, name: name}
	n.start()
	t.Cleanup(n.kill)
	n.openDB(t)
	return n
}

func adminPorts(nodes ...*clusterNode) []int {
	var out []int
	for _, n := range nodes {
		out = append(out, n.admin)
	}
	return out
}

// expectEverywhere fails unless q returns want on every node.
func expectEverywhere(t *testing.T, nodes []*clusterNode, q, want string) {
	t.Helper()
	for _, n := range nodes {
		if got := n.must(q); got != want {
			t.Errorf("%s: %s = %q, want %q", n.name, q, got, want)
		}
	}
}

// realProxySQL returns the path of the real ProxySQL 2.7.2 binary the
// interop tests run against: $SQLGATE_PROXYSQL_BIN, else
// ../shared/proxysql/proxysql beside the repository. Under CI its absence
// fails the test; elsewhere the test is skipped.
func realProxySQL(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SQLGATE_PROXYSQL_BIN")
	if p == "" {
		p, _ = filepath.Abs(filepath.Join("..", "..", "..", "shared", "proxysql", "proxysql"))
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the real ProxySQL binary is missing at %s (set SQLGATE_PROXYSQL_BIN)", p)
		}
		t.Skipf("the real ProxySQL binary is missing at %s (set SQLGATE_PROXYSQL_BIN)", p)
	}
	return p
}

// proxysqlVersion is what the binary reports as @@version: sqlgate peers
// must report the same to be clustered with it.
func proxysqlVersion(t *testing.T, bin string) string {
	t.Helper()
	out, _ := exec.Command(bin, "--version").CombinedOutput()
	m := regexp.MustCompile(`ProxySQL version (\S+),`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("%s --version: %q", bin, out)
	}
	return string(m[1])
}

// healthcheck runs `sqlgate healthcheck` and returns its exit code, its
// stderr and how long it took.
func healthcheck(t *testing.T, bin string, args ...string) (int, string, time.Duration) {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(bin, append([]string{"healthcheck"}, args...)...).CombinedOutput()
	took := time.Since(start)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out), took
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out), took
	}
	t.Fatal(err)
	return -1, "", 0
}

// waitHealth waits until the status file says want and returns how long
// that took.
func waitHealth(t *testing.T, p *proxy, file string, want bool, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if got, err := health.ReadFile(file); err == nil && got == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			got, err := health.ReadFile(file)
			t.Fatalf("status file: want healthy=%v within %v, have %v (%v)\n%s", want, within, got, err, tail(p.logs.String(), 30))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// isRefused: the client could not connect, so nothing was sent.
func isRefused(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial" || errors.Is(err, syscall.ECONNREFUSED)
}
