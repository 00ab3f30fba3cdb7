// Package testbed starts throw-away MariaDB servers for tests, benchmarks
// and the lab: a primary and GTID replicas (read_only=1) on free loopback
// ports in a temporary directory, or on fixed ports inside a network
// namespace (Options.NetNS). It stops exactly the processes it started.
//
// A bed records its layout and its current primary in Dir/bed.json, so a
// later process can take it over with Open (the lab starts a bed in one
// command and promotes or stops it in another). A bed opened that way
// controls its nodes by the PID in each node's pid file, and only after
// checking that the process's command line is that node's mariadbd, so a
// PID the kernel has since reused is never signalled.
package testbed

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Accounts created on every bed (replicated from the primary).
const (
	AppUser         = "app"
	AppPassword     = "app"
	MonitorUser     = "monitor"
	MonitorPassword = "monitor"
	AdminUser       = "admin"
	AdminPassword   = "admin"
)

// Options configure a bed.
type Options struct {
	Replicas   int      // number of replicas; 0 = primary only
	Dir        string   // base directory; "" = a new temporary directory
	ServerArgs []string // extra mariadbd options for every node
	SemiSync   bool     // semi-synchronous replication, wait point AFTER_SYNC
	// TLS: the nodes accept TLS with a certificate of the bed's own CA
	// (Bed.CA, Bed.ServerCert), made in Dir/tls.
	TLS bool
	// NetNS runs every mariadbd inside this existing network namespace
	// (ip netns exec; needs root). The bed still controls the nodes over
	// their unix sockets, which work across namespaces (RootDB, Exec);
	// Bed.DB dials TCP from this process's namespace, so it reaches such
	// nodes only from inside theirs.
	NetNS string
	// Host is the address the nodes are known by: replicas replicate
	// from the primary there. Default 127.0.0.1.
	Host string
	// Bind is mariadbd's bind-address. Default Host.
	Bind string
	// BasePort fixes the ports: node i (primary first, from 0) listens on
	// BasePort+i. 0 picks free loopback ports, which only makes sense
	// outside a namespace.
	BasePort int
}

// Node is one mariadbd.
type Node struct {
	Name   string
	Host   string
	Port   int
	Socket string
	Dir    string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Addr is host:port.
func (n *Node) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

// Bed is a running primary and its replicas.
type Bed struct {
	Primary  *Node
	Replicas []*Node
	Nodes    []*Node // primary first
	Dir      string
	// With Options.TLS: the CA and the certificate (its file, key file
	// and serial number) every node serves.
	CA                    *CA
	ServerCert, ServerKey string
	ServerSerial          *big.Int

	opt    Options
	ownDir bool
	mu     sync.Mutex
}

// binary finds a MariaDB program on PATH or in /usr/sbin (where Debian
// installs mariadbd, off a normal user's PATH).
func binary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: apt-get install -y mariadb-server mariadb-client", name)
}

// Available reports whether mariadbd and mariadb-install-db are installed.
func Available() error {
	for _, b := range []string{"mariadbd", "mariadb-install-db"} {
		if _, err := binary(b); err != nil {
			return err
		}
	}
	return nil
}

// ForTest starts a bed for t and stops it when the test ends. Without
// MariaDB the test is skipped, except under CI=true, where it fails.
func ForTest(t testing.TB, opt Options) *Bed {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := Start(ctx, opt)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	t.Cleanup(func() { b.Stop() })
	return b
}

// Start creates and starts a bed. On error everything it started is
// stopped again.
func Start(ctx context.Context, opt Options) (b *Bed, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	b = &Bed{opt: opt, Dir: opt.Dir}
	if b.Dir == "" {
		// Short, so the unix socket paths stay far below 108 bytes.
		if b.Dir, err = os.MkdirTemp("", "tb"); err != nil {
			return nil, err
		}
		b.ownDir = true
	}
	defer func() {
		if err != nil {
			b.Stop()
		}
	}()
	for i := 0; i <= opt.Replicas; i++ {
		name := fmt.Sprintf("node%d", i+1)
		dir := filepath.Join(b.Dir, name)
		n := &Node{Name: name, Host: opt.host(), Dir: dir, Socket: filepath.Join(dir, "s.sock")}
		if len(n.Socket) >= 100 {
			return nil, fmt.Errorf("socket path %s is too long for AF_UNIX; use a shorter Options.Dir", n.Socket)
		}
		b.Nodes = append(b.Nodes, n)
	}
	b.Primary, b.Replicas = b.Nodes[0], b.Nodes[1:]
	if opt.TLS {
		if err := b.setupTLS(); err != nil {
			return nil, err
		}
	}
	if opt.NetNS != "" {
		if _, err := os.Stat(filepath.Join("/var/run/netns", opt.NetNS)); err != nil {
			return nil, fmt.Errorf("Options.NetNS: network namespace %s does not exist: create it first (ip netns add %s)", opt.NetNS, opt.NetNS)
		}
	}
	if err := b.initData(ctx); err != nil {
		return nil, err
	}
	errs := make(chan error, len(b.Nodes))
	for i, n := range b.Nodes {
		go func() { errs <- b.startNew(ctx, n, i+1) }()
	}
	for range b.Nodes {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return nil, err
	}
	if err := b.setupReplication(ctx); err != nil {
		return nil, err
	}
	if err := b.save(); err != nil {
		return nil, err
	}
	return b, nil
}

func (o Options) host() string {
	if o.Host == "" {
		return "127.0.0.1"
	}
	return o.Host
}

func (o Options) bind() string {
	if o.Bind == "" {
		return o.host()
	}
	return o.Bind
}

// initData runs mariadb-install-db once and copies the result to every
// node: faster than one install per node, and concurrent installs sharing a
// tmpdir are known to crash.
func (b *Bed) initData(ctx context.Context) error {
	tmpl := filepath.Join(b.Dir, "template")
	if err := os.MkdirAll(filepath.Join(tmpl, "tmp"), 0o755); err != nil {
		return err
	}
	install, _ := binary("mariadb-install-db")
	cnf := filepath.Join(tmpl, "my.cnf")
	if err := os.WriteFile(cnf, []byte(fmt.Sprintf("[mariadbd]\n%sdatadir=%s/data\ntmpdir=%s/tmp\n", userLine(), tmpl, tmpl)), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, install, "--defaults-file="+cnf, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb-install-db: %v\n%s", err, tail(string(out), 20))
	}
	for _, n := range b.Nodes {
		if err := os.MkdirAll(filepath.Join(n.Dir, "tmp"), 0o755); err != nil {
			return err
		}
		if out, err := exec.CommandContext(ctx, "cp", "-a", filepath.Join(tmpl, "data"), n.Dir).CombinedOutput(); err != nil {
			return fmt.Errorf("copying datadir to %s: %v: %s", n.Dir, err, out)
		}
	}
	return os.RemoveAll(tmpl)
}

func userLine() string {
	if os.Geteuid() == 0 {
		return "user=root\n"
	}
	return ""
}

func (b *Bed) writeCnf(n *Node, serverID int) error {
	extra := strings.Join(b.opt.ServerArgs, "\n")
	extra = strings.ReplaceAll(extra, "--", "")
	semi := ""
	if b.opt.SemiSync {
		semi = "rpl_semi_sync_master_enabled=1\nrpl_semi_sync_slave_enabled=1\nrpl_semi_sync_master_wait_point=AFTER_SYNC\nrpl_semi_sync_master_timeout=10000\n"
	}
	tlsOpts := ""
	if b.CA != nil {
		tlsOpts = fmt.Sprintf("ssl_ca=%s\nssl_cert=%s\nssl_key=%s\n", b.CA.Cert, b.ServerCert, b.ServerKey)
	}
	cnf := fmt.Sprintf(`[mariadbd]
%sdatadir=%[2]s/data
socket=%[3]s
pid-file=%[2]s/mariadbd.pid
tmpdir=%[2]s/tmp
port=%[4]d
bind-address=%[9]s
report_host=%[10]s
report_port=%[4]d
server-id=%[5]d
log-basename=%[6]s
log-error=%[2]s/error.log
log-bin=%[6]s-bin
binlog_format=ROW
log_slave_updates=1
gtid_strict_mode=1
slave_net_timeout=10
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
skip-name-resolve
performance_schema=OFF
innodb_buffer_pool_size=16M
innodb_log_file_size=16M
innodb_flush_log_at_trx_commit=2
sync_binlog=0
local_infile=ON
max_connections=500
%[7]s%[8]s
`, userLine(), n.Dir, n.Socket, n.Port, serverID, n.Name, semi+tlsOpts, extra, b.opt.bind(), n.Host)
	return os.WriteFile(filepath.Join(n.Dir, "my.cnf"), []byte(cnf), 0o644)
}

// startNew picks a free port and starts the node, retrying with another
// port if the one picked was taken in the meantime. With Options.BasePort
// the port is fixed and a taken one is an error naming it.
func (b *Bed) startNew(ctx context.Context, n *Node, serverID int) error {
	if b.opt.BasePort != 0 {
		n.Port = b.opt.BasePort + serverID - 1
		if err := b.writeCnf(n, serverID); err != nil {
			return err
		}
		err := b.StartNode(ctx, n)
		if err != nil && strings.Contains(err.Error(), "in use") {
			where := "on this host"
			if b.opt.NetNS != "" {
				where = "in network namespace " + b.opt.NetNS
			}
			return fmt.Errorf("%s: port %d is taken %s: stop what holds it or choose another Options.BasePort", n.Name, n.Port, where)
		}
		return err
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if n.Port, err = FreePort(); err != nil {
			return err
		}
		if err = b.writeCnf(n, serverID); err != nil {
			return err
		}
		if err = b.StartNode(ctx, n); err == nil {
			return nil
		}
		if !strings.Contains(err.Error(), "in use") {
			return err
		}
	}
	return err
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// StartNode starts (or restarts) a node with its existing data and waits
// until it accepts connections. Every node but the primary comes up with
// read_only=1.
func (b *Bed) StartNode(ctx context.Context, n *Node) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pidLocked() != 0 {
		return nil // already running
	}
	bin, err := binary("mariadbd")
	if err != nil {
		return err
	}
	os.Remove(n.Socket)
	logf, err := os.OpenFile(filepath.Join(n.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{bin, "--defaults-file=" + n.cnf()}
	if n != b.Primary {
		// Fenced from its first moment: a proxy's monitor that saw an old
		// primary come back writable, even briefly, would send it writes.
		args = append(args, "--read-only=1")
		if b.opt.SemiSync {
			// init-rpl-role=SLAVE: an old primary killed while a commit
			// waited for its acknowledgement rolls that commit back and
			// truncates it from its binlog at restart ("Successfully
			// truncated binlog file" in its error log), since no replica
			// has it; it can then rejoin instead of being rebuilt.
			args = append(args, "--rpl-semi-sync-master-enabled=0", "--init-rpl-role=SLAVE")
		}
	}
	if b.opt.NetNS != "" {
		// ip execs mariadbd in the namespace: the PID stays the same.
		args = append([]string{"ip", "netns", "exec", b.opt.NetNS}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// A session of its own: no signal meant for the starting terminal
	// reaches it, and it outlives a starter that exits (the lab's up).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("%s: starting mariadbd: %w", n.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	n.cmd, n.done = cmd, done
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := rootDB(n)
		if err == nil {
			err = db.PingContext(ctx)
			if err == nil && n != b.Primary {
				// read_only is not persistent: a restarted replica would
				// come up writable. Fence it, as a real failover setup does.
				_, err = db.ExecContext(ctx, "SET GLOBAL read_only=1")
				if err == nil && b.opt.SemiSync {
					// A replica that is also a semi-sync master makes its
					// own SQL thread wait for acknowledgements nobody
					// sends (rpl_semi_sync_master_timeout per transaction).
					_, err = db.ExecContext(ctx, "SET GLOBAL rpl_semi_sync_master_enabled=0")
				}
			}
			db.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-done:
			log := tail(readFile(filepath.Join(n.Dir, "error.log")), 25)
			if strings.Contains(log, "Address already in use") || strings.Contains(log, "Can't start server: Bind on TCP/IP port") {
				return fmt.Errorf("%s: port %d in use", n.Name, n.Port)
			}
			return fmt.Errorf("%s: mariadbd exited during start-up; error log:\n%s", n.Name, log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not answering on %s after 60s", n.Name, n.Socket)
		}
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// StopNode shuts a node down cleanly (SIGTERM; SIGKILL after 30 s).
func (b *Bed) StopNode(n *Node) error { return n.signal(syscall.SIGTERM, 30*time.Second) }

// KillNode kills a node with SIGKILL (a crash) and waits until it is gone.
func (b *Bed) KillNode(n *Node) error { return n.signal(syscall.SIGKILL, 10*time.Second) }

func (n *Node) signal(sig syscall.Signal, wait time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return n.signalByPIDFile(sig, wait)
	}
	select {
	case <-n.done:
		return nil
	default:
	}
	n.cmd.Process.Signal(sig)
	select {
	case <-n.done:
		return nil
	case <-time.After(wait):
	}
	n.cmd.Process.Kill()
	select {
	case <-n.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: pid %d did not exit", n.Name, n.cmd.Process.Pid)
	}
}

// PID returns the node's process id, or 0 when it is not running. For a
// node this process did not start (a bed taken over with Open) it is the
// PID in the node's pid file, if that process is alive and is this node's
// mariadbd.
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pidLocked()
}

func (n *Node) pidLocked() int {
	if n.cmd == nil {
		return n.pidFromFile()
	}
	select {
	case <-n.done:
		return 0
	default:
		return n.cmd.Process.Pid
	}
}

func (n *Node) cnf() string { return filepath.Join(n.Dir, "my.cnf") }

// Stop stops every node and removes the directory if Start created it.
// It is idempotent.
func (b *Bed) Stop() error {
	var wg sync.WaitGroup
	errs := make([]error, len(b.Nodes))
	for i, n := range b.Nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = b.StopNode(n) }()
	}
	wg.Wait()
	if b.ownDir {
		os.RemoveAll(b.Dir)
	}
	return errors.Join(errs...)
}

func rootDB(n *Node) (*sql.DB, error) {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr = "root", "unix", n.Socket
	c.MultiStatements = true
	c.Timeout = 5 * time.Second
	return sql.Open("mysql", c.FormatDSN())
}

// RootDB connects as root over the node's unix socket.
func (b *Bed) RootDB(n *Node) (*sql.DB, error) { return rootDB(n) }

// DB connects over TCP as user.
func (b *Bed) DB(n *Node, user, password, schema string) (*sql.DB, error) {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = user, password, "tcp", n.Addr(), schema
	c.Timeout = 10 * time.Second
	return sql.Open("mysql", c.FormatDSN())
}

// Exec runs statements (several allowed) as root on n.
func (b *Bed) Exec(ctx context.Context, n *Node, query string) error {
	db, err := rootDB(n)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, query)
	if err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	return nil
}

// setupReplication points the replicas at the primary while it is still
// empty, then creates accounts and databases on the primary, so everything
// reaches the replicas through replication.
func (b *Bed) setupReplication(ctx context.Context) error {
	semiSlave := ""
	if b.opt.SemiSync {
		semiSlave = "SET GLOBAL rpl_semi_sync_slave_enabled=1;"
	}
	// The replication account exists on every node before anything is
	// replicated (created outside the binlog, so that every node can
	// serve replicas after a promotion), and the replicas are connected
	// before the first transaction: with semi-sync the primary would
	// otherwise wait rpl_semi_sync_master_timeout for an acknowledgement.
	for _, n := range b.Nodes {
		if err := b.Exec(ctx, n, "SET SESSION sql_log_bin=0; CREATE USER 'repl'@'%' IDENTIFIED BY 'repl'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'; SET SESSION sql_log_bin=1;"); err != nil {
			return err
		}
	}
	for _, r := range b.Replicas {
		if err := b.Exec(ctx, r, "SET GLOBAL read_only=1;"+semiSlave+b.changeMaster(b.Primary)+"START SLAVE;"); err != nil {
			return err
		}
	}
	for _, r := range b.Replicas {
		if err := waitIORunning(ctx, r, 30*time.Second); err != nil {
			return err
		}
	}
	err := b.Exec(ctx, b.Primary, `
		CREATE USER 'monitor'@'%' IDENTIFIED BY 'monitor';
		GRANT REPLICATION CLIENT, SLAVE MONITOR, PROCESS ON *.* TO 'monitor'@'%';
		CREATE USER 'admin'@'%' IDENTIFIED BY 'admin';
		GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION;
		CREATE USER 'app'@'%' IDENTIFIED BY 'app';
		GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES,
		      LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, PROCESS, TRIGGER, EVENT
		      ON *.* TO 'app'@'%';
		CREATE DATABASE test;
		CREATE DATABASE sbtest;`)
	if err != nil {
		return err
	}
	return b.WaitSync(ctx)
}

// waitIORunning waits until a replica's IO thread is connected to its
// primary.
func waitIORunning(ctx context.Context, n *Node, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		io, err := slaveField(ctx, n, "Slave_IO_Running")
		if err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
		if io == "Yes" {
			return nil
		}
		if time.Now().After(deadline) {
			msg, _ := slaveField(ctx, n, "Last_IO_Error")
			return fmt.Errorf("%s: replication IO thread not connected after %v: %s", n.Name, wait, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (b *Bed) changeMaster(p *Node) string {
	return fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%d, MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;",
		p.Host, p.Port)
}

func queryString(ctx context.Context, n *Node, q string) (string, error) {
	db, err := rootDB(n)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var s sql.NullString
	err = db.QueryRowContext(ctx, q).Scan(&s)
	return s.String, err
}

// WaitSync waits until every running replica has applied the primary's
// binlog position (at most 30 s).
func (b *Bed) WaitSync(ctx context.Context) error {
	pos, err := queryString(ctx, b.Primary, "SELECT @@global.gtid_binlog_pos")
	if err != nil {
		return err
	}
	for _, r := range b.Replicas {
		if r.PID() == 0 {
			continue
		}
		got, err := queryString(ctx, r, fmt.Sprintf("SELECT MASTER_GTID_WAIT('%s', 30)", pos))
		if err != nil {
			return fmt.Errorf("%s: waiting for %s: %w", r.Name, pos, err)
		}
		if got != "0" {
			return fmt.Errorf("%s: did not reach primary position %s within 30s", r.Name, pos)
		}
	}
	return nil
}

// Promote makes n the primary: it applies what it has received, stops
// replicating, turns read_only off, and the other running replicas follow
// it. The old primary, if running, is left alone (fence it yourself).
func (b *Bed) Promote(ctx context.Context, n *Node) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	io, err := slaveField(ctx, n, "Gtid_IO_Pos")
	if err != nil {
		return err
	}
	if err := b.Exec(ctx, n, "STOP SLAVE IO_THREAD"); err != nil {
		return err
	}
	if io != "" {
		if got, err := queryString(ctx, n, fmt.Sprintf("SELECT MASTER_GTID_WAIT('%s', 30)", io)); err != nil || got != "0" {
			return fmt.Errorf("%s: relay log not applied (%s): %v", n.Name, got, err)
		}
	}
	semi := ""
	if b.opt.SemiSync {
		semi = "SET GLOBAL rpl_semi_sync_master_enabled=1;"
	}
	if err := b.Exec(ctx, n, "STOP SLAVE; RESET SLAVE ALL; "+semi+"SET GLOBAL read_only=0"); err != nil {
		return err
	}
	var replicas []*Node
	for _, r := range b.Nodes {
		if r == n {
			continue
		}
		replicas = append(replicas, r)
		if r.PID() == 0 || r == b.Primary {
			continue
		}
		if err := b.Exec(ctx, r, "STOP SLAVE;"+b.changeMaster(n)+"START SLAVE;"); err != nil {
			return err
		}
	}
	b.Primary, b.Replicas = n, replicas
	return b.save()
}

// slaveField reads one column of SHOW SLAVE STATUS ("" when not a replica).
func slaveField(ctx context.Context, n *Node, field string) (string, error) {
	db, err := rootDB(n)
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return "", rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", err
	}
	for i, c := range cols {
		if c == field {
			return vals[i].String, nil
		}
	}
	return "", fmt.Errorf("SHOW SLAVE STATUS has no column %s", field)
}
