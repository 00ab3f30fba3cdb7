// Package lab builds sqlgate's whole architecture on one machine: a
// MariaDB primary with two GTID replicas, two core sqlgate nodes (a and b)
// that share a virtual IP through keepalived, one satellite sqlgate, and a
// client, each in a network namespace of its own on one bridge. It is
// what `make lab` runs (through cmd/sqlgate-lab), and what the failover
// tests build on.
//
// Why namespaces: a VRRP failover is only real when the two cores are
// different hosts on one network segment. Namespaces give each node its
// own interfaces, addresses and loopback, on an isolated bridge, without
// virtual machines and without touching the host's network: nothing the
// lab does is visible outside its namespaces, and several labs with
// different prefixes run side by side. The bridge has a namespace of its
// own too, so no interface appears on the host.
//
//	namespace    address       runs
//	PREFIXbr     -             bridge br0, one veth per node (v-a, v-b, ...)
//	PREFIXdb     10.77.0.20    mariadbd x3 on ports 3306-3308 (internal/testbed)
//	PREFIXa      10.77.0.11    sqlgate core a, keepalived priority 150
//	PREFIXb      10.77.0.12    sqlgate core b, keepalived priority 100
//	PREFIXsat    10.77.0.13    sqlgate satellite
//	PREFIXclient 10.77.0.100   the load client (netns.DialerIn)
//	VIP 10.77.0.50/24 on eth0 of whichever core keepalived elects
//
// Every process is started detached (its own session) so that it outlives
// the command that started it, with its PID in a file next to its
// configuration; the lab signals a PID only after checking that the
// process still runs that configuration, so a PID the kernel reused is
// never hit. Everything the lab created is recorded in Dir/lab.json
// (namespaces, ports, mode), which is how a later command (status,
// failover, down) or Open finds it, and how Down removes exactly that.
//
// Without root, or without network namespaces, the lab runs the same
// processes on loopback with free ports and without keepalived or VIP
// (Lab.NetNS reports which).
package lab

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"sqlgate/internal/lab/load"
	"sqlgate/internal/lab/netns"
	"sqlgate/internal/proc"
	"sqlgate/internal/testbed"
)

// The lab's fixed names and addresses. Inside its own namespaces nothing
// else uses them, so they never change and the printed commands always
// work.
const (
	CoreA     = "a"   // core sqlgate, keepalived priority 150
	CoreB     = "b"   // core sqlgate, keepalived priority 100
	Satellite = "sat" // satellite sqlgate: lists only the cores

	DefaultDir    = "/tmp/sqlgate-lab"
	DefaultPrefix = "sgl-"
	DefaultAdvert = 100 * time.Millisecond

	VIP       = "10.77.0.50"
	ClientIP  = "10.77.0.100"
	DBIP      = "10.77.0.20"
	AdminPort = 6032
	MySQLPort = 6033
	DBPort    = 3306 // node i of the bed listens on DBPort+i-1

	// RouterID is keepalived's virtual_router_id; the lab's bridge is its
	// own segment, so any value works.
	RouterID = 51

	vipPrefixLen = 24
	modeNetNS    = "netns"
	modeLoopback = "loopback"
	stateFile    = "lab.json"
)

// Proxies are the lab's sqlgate nodes, cores first.
var Proxies = []string{CoreA, CoreB, Satellite}

// ErrAlreadyUp is returned by Up (with the running lab) when the lab in
// the directory is already up.
var ErrAlreadyUp = errors.New("the lab is already up")

// Options configure Up.
type Options struct {
	Dir        string        // lab directory: state, configs, logs, data; default DefaultDir
	Prefix     string        // namespace name prefix; default DefaultPrefix
	SqlgateBin string        // the sqlgate binary (required)
	Advert     time.Duration // VRRP advert interval; default DefaultAdvert
	// Loopback runs on loopback even where namespaces work.
	Loopback bool
	// Log receives one line per step of Up; nil discards them.
	Log io.Writer
}

// state is lab.json: everything the lab made, so later commands can find
// it and Down can remove exactly it.
type state struct {
	Mode       string
	Prefix     string
	SqlgateBin string
	AdvertMS   int64
	// Namespaces the lab created, in creation order; Down deletes
	// exactly these.
	Namespaces []string
	Proxies    []proxyState
	// Complete is set once Up has finished.
	Complete bool
	Started  time.Time
	// Why is set in loopback mode: why namespaces were not used.
	Why string `json:",omitempty"`
}

type proxyState struct {
	Name     string
	Core     bool
	IP       string // the address other nodes reach it at
	Admin    int
	MySQL    int
	Priority int `json:",omitempty"` // keepalived priority (cores, netns mode)
}

// Lab is a lab that is up (or being brought up or down). Its methods may
// be called from several goroutines.
type Lab struct {
	Dir string

	mu  sync.Mutex
	st  state
	bed *testbed.Bed
	log io.Writer
}

func (l *Lab) logf(format string, a ...any) {
	if l.log != nil {
		fmt.Fprintf(l.log, format+"\n", a...)
	}
}

// NetNS reports whether the lab runs in network namespaces (with
// keepalived and the VIP) rather than on loopback.
func (l *Lab) NetNS() bool { return l.st.Mode == modeNetNS }

// LoopbackReason says why the lab runs on loopback ("" in netns mode).
func (l *Lab) LoopbackReason() string { return l.st.Why }

// Prefix is the namespace name prefix.
func (l *Lab) Prefix() string { return l.st.Prefix }

// Namespace returns the network namespace of a lab host: a proxy name,
// "db", "client" or "br" ("" in loopback mode).
func (l *Lab) Namespace(host string) string {
	if !l.NetNS() {
		return ""
	}
	return l.st.Prefix + host
}

// Advert is the VRRP advert interval the lab's keepalived run with.
func (l *Lab) Advert() time.Duration { return time.Duration(l.st.AdvertMS) * time.Millisecond }

// Bed is the MariaDB test bed (its Primary is the current primary).
func (l *Lab) Bed() *testbed.Bed { return l.bed }

// Primary is the MariaDB node that is primary now.
func (l *Lab) Primary() *testbed.Node { return l.bed.Primary }

// proxy returns the recorded state of a proxy node.
func (l *Lab) proxy(name string) (proxyState, error) {
	for _, p := range l.st.Proxies {
		if p.Name == name {
			return p, nil
		}
	}
	return proxyState{}, fmt.Errorf("lab: no proxy node %q (the nodes are %s)", name, strings.Join(Proxies, ", "))
}

// ClientAddr is where applications connect: the VIP's client port, or
// core a's on loopback.
func (l *Lab) ClientAddr() string {
	if l.NetNS() {
		return net.JoinHostPort(VIP, strconv.Itoa(MySQLPort))
	}
	p, _ := l.proxy(CoreA)
	return net.JoinHostPort(p.IP, strconv.Itoa(p.MySQL))
}

// ProxyAddr is the client port of one proxy node, as other hosts reach it.
func (l *Lab) ProxyAddr(node string) (string, error) {
	p, err := l.proxy(node)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(p.IP, strconv.Itoa(p.MySQL)), nil
}

// ClientLoad returns load.Options for a load from the client namespace
// through ClientAddr as the app user; set Workers and Duration as needed.
func (l *Lab) ClientLoad() load.Options {
	return load.Options{NetNS: l.Namespace("client"), Addr: l.ClientAddr(), User: testbed.AppUser, Password: testbed.AppPassword}
}

func (l *Lab) nodeDir(node string) string { return filepath.Join(l.Dir, node) }

// Up builds the lab described in the package documentation and returns it
// once every node serves, one core holds the VIP and the satellite has
// taken the cores' configuration. If the lab in o.Dir is already up it
// returns it with ErrAlreadyUp. On any other error everything Up created
// is removed again, and the error names what failed (with the end of its
// log).
func Up(ctx context.Context, o Options) (l *Lab, err error) {
	if o.Dir == "" {
		o.Dir = DefaultDir
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Advert == 0 {
		o.Advert = DefaultAdvert
	}
	if o.Advert%(10*time.Millisecond) != 0 || o.Advert < 10*time.Millisecond {
		return nil, fmt.Errorf("lab: advert %v: VRRPv3 counts in centiseconds, give 10ms or more in steps of 10ms", o.Advert)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := checkPrefix(o.Prefix); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); err == nil {
		l, err := Open(dir)
		if err != nil {
			return nil, err
		}
		if problems := l.problems(); len(problems) > 0 {
			return nil, fmt.Errorf("lab: the lab in %s is partly up (%s): run `sqlgate-lab down -dir %s`, then up again", dir, strings.Join(problems, "; "), dir)
		}
		return l, ErrAlreadyUp
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("lab: %s exists and is not a lab directory (no %s): choose another -dir, or remove it", dir, stateFile)
	}
	bin, err := filepath.Abs(o.SqlgateBin)
	if err != nil || o.SqlgateBin == "" {
		return nil, fmt.Errorf("lab: SqlgateBin: give the path of the sqlgate binary (make build writes bin/sqlgate)")
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("lab: %s is not an executable sqlgate binary: run make build", bin)
	}
	if sock := filepath.Join(dir, "db", "node1", "s.sock"); len(sock) >= 100 {
		return nil, fmt.Errorf("lab: directory %s is too long: the MariaDB socket %s would exceed the 107 bytes of a unix socket path; choose a shorter -dir", dir, sock)
	}
	if err := testbed.Available(); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}

	lb := &Lab{Dir: dir, log: o.Log}
	l = lb
	l.st = state{Mode: modeNetNS, Prefix: o.Prefix, SqlgateBin: bin, AdvertMS: o.Advert.Milliseconds(), Started: time.Now().UTC()}
	if o.Loopback {
		l.st.Mode, l.st.Why = modeLoopback, "asked for loopback"
	} else if why := netns.Usable(); why != nil {
		l.st.Mode, l.st.Why = modeLoopback, why.Error()
	}
	if l.NetNS() {
		if _, err := exec.LookPath("keepalived"); err != nil {
			if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
				return nil, fmt.Errorf("lab: keepalived is not installed: apt-get install -y keepalived (make lab installs it)")
			}
		}
		// Fail before creating anything if a name is taken.
		for _, h := range l.hosts() {
			if ns := l.Namespace(h.name); netns.Exists(ns) {
				return nil, fmt.Errorf("lab: network namespace %s exists and is not this lab's (%s does not list it): if it is a leftover remove it with `ip netns del %s`, or choose another -prefix", ns, filepath.Join(dir, stateFile), ns)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if err := l.save(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lb.logf("up failed; removing what it created")
			if derr := lb.Down(); derr != nil {
				err = fmt.Errorf("%w (and cleaning up: %v)", err, derr)
			}
			l = nil
		}
	}()
	start := time.Now()
	if l.NetNS() {
		l.logf("network namespaces %s{br,db,a,b,sat,client} on bridge br0, 10.77.0.0/24", o.Prefix)
		if err := l.buildNetwork(ctx); err != nil {
			return nil, err
		}
	} else {
		l.logf("running on loopback without keepalived or VIP: %s", l.st.Why)
	}
	if err := l.startDB(ctx); err != nil {
		return nil, err
	}
	if err := l.planProxies(); err != nil {
		return nil, err
	}
	for _, p := range l.st.Proxies {
		if err := l.writeCnf(p); err != nil {
			return nil, err
		}
		if err := l.StartProxy(p.Name); err != nil {
			return nil, err
		}
	}
	l.logf("sqlgate a, b, sat serving (%v)", time.Since(start).Round(time.Millisecond))
	if l.NetNS() {
		if err := l.startKeepalived(ctx); err != nil {
			return nil, err
		}
	}
	if err := l.waitSatellite(ctx); err != nil {
		return nil, err
	}
	l.st.Complete = true
	if err := l.save(); err != nil {
		return nil, err
	}
	l.logf("lab up in %v", time.Since(start).Round(time.Millisecond))
	return l, nil
}

// checkPrefix keeps namespace names short and made of characters that
// `ip netns` and file names take as they are.
func checkPrefix(p string) error {
	if len(p) > 20 {
		return fmt.Errorf("lab: prefix %q is too long (20 characters at most)", p)
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("lab: prefix %q: use letters, digits, - and _ only", p)
		}
	}
	return nil
}

// Open returns the lab recorded in dir (by an Up of this or another
// process).
func Open(dir string) (*Lab, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("lab: no lab in %s (no %s): start one with `sqlgate-lab up -dir %s` (make lab)", dir, stateFile, dir)
		}
		return nil, fmt.Errorf("lab: %w", err)
	}
	l := &Lab{Dir: dir}
	if err := json.Unmarshal(data, &l.st); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", filepath.Join(dir, stateFile), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "db", "bed.json")); err == nil {
		if l.bed, err = testbed.Open(filepath.Join(dir, "db")); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
	}
	return l, nil
}

// save writes lab.json atomically.
func (l *Lab) save() error {
	data, err := json.MarshalIndent(l.st, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(l.Dir, stateFile)
	if err := os.WriteFile(p+".tmp", append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("lab: recording the state: %w", err)
	}
	return os.Rename(p+".tmp", p)
}

// host is one namespace of the lab.
type host struct {
	name string
	ip   string // "" for the bridge
}

func (l *Lab) hosts() []host {
	return []host{{"br", ""}, {"db", DBIP}, {CoreA, "10.77.0.11"}, {CoreB, "10.77.0.12"}, {Satellite, "10.77.0.13"}, {"client", ClientIP}}
}

// buildNetwork creates the namespaces, the bridge and one veth pair per
// host, recording each namespace before anything is put in it.
func (l *Lab) buildNetwork(ctx context.Context) error {
	br := l.Namespace("br")
	for _, h := range l.hosts() {
		ns := l.Namespace(h.name)
		if err := netns.IP(ctx, "netns", "add", ns); err != nil {
			return fmt.Errorf("lab: creating network namespace %s: %w", ns, err)
		}
		l.st.Namespaces = append(l.st.Namespaces, ns)
		if err := l.save(); err != nil {
			return err
		}
		// IPv4 only: no IPv6 autoconfiguration, router solicitations or
		// DAD noise on the bridge.
		if err := netns.Exec(ctx, ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"); err != nil {
			return err
		}
		if err := netns.IP(ctx, "-n", ns, "link", "set", "lo", "up"); err != nil {
			return err
		}
		if h.ip == "" {
			if err := netns.IP(ctx, "-n", ns, "link", "add", "br0", "type", "bridge"); err != nil {
				return err
			}
			if err := netns.IP(ctx, "-n", ns, "link", "set", "br0", "up"); err != nil {
				return err
			}
			continue
		}
		port := "v-" + h.name
		if err := netns.IP(ctx, "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", br); err != nil {
			return err
		}
		for _, args := range [][]string{
			{"-n", br, "link", "set", port, "master", "br0", "up"},
			{"-n", ns, "addr", "add", h.ip + "/" + strconv.Itoa(vipPrefixLen), "dev", "eth0"},
			{"-n", ns, "link", "set", "eth0", "up"},
		} {
			if err := netns.IP(ctx, args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// startDB starts the MariaDB bed (semi-synchronous, so that a promotion
// loses no acknowledged write) and creates the load client's table.
func (l *Lab) startDB(ctx context.Context) error {
	t := time.Now()
	opt := testbed.Options{Replicas: 2, Dir: filepath.Join(l.Dir, "db"), SemiSync: true}
	if l.NetNS() {
		opt.NetNS, opt.Host, opt.Bind, opt.BasePort = l.Namespace("db"), DBIP, "0.0.0.0", DBPort
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return err
	}
	bed, err := testbed.Start(ctx, opt)
	if err != nil {
		return fmt.Errorf("lab: MariaDB: %w", err)
	}
	l.bed = bed
	if err := bed.Exec(ctx, bed.Primary, load.CreateTable); err != nil {
		return fmt.Errorf("lab: creating the load table: %w", err)
	}
	if err := bed.WaitSync(ctx); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	l.logf("MariaDB primary %s and replicas %s, %s (%v)", bed.Primary.Addr(), bed.Replicas[0].Addr(), bed.Replicas[1].Addr(), time.Since(t).Round(time.Millisecond))
	return nil
}

// planProxies fixes the proxies' addresses and ports: the standard ports
// on each namespace's address, or free loopback ports.
func (l *Lab) planProxies() error {
	prio := map[string]int{CoreA: 150, CoreB: 100}
	var ps []proxyState
	for _, h := range l.hosts() {
		if h.name != CoreA && h.name != CoreB && h.name != Satellite {
			continue
		}
		p := proxyState{Name: h.name, Core: h.name != Satellite, IP: h.ip, Admin: AdminPort, MySQL: MySQLPort}
		if l.NetNS() {
			p.Priority = prio[h.name]
		} else {
			p.IP = "127.0.0.1"
			var err error
			if p.Admin, err = testbed.FreePort(); err != nil {
				return err
			}
			if p.MySQL, err = testbed.FreePort(); err != nil {
				return err
			}
		}
		ps = append(ps, p)
	}
	l.st.Proxies = ps
	return l.save()
}

// waitSatellite waits until the satellite has pulled the cores'
// configuration: every module's checksum equals core a's, and an app login
// through it works.
func (l *Lab) waitSatellite(ctx context.Context) error {
	t := time.Now()
	deadline := t.Add(20 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = l.sameChecksums(ctx, CoreA, Satellite); err == nil {
			if err = l.Login(ctx, Satellite); err == nil {
				l.logf("satellite synced from the cores (%v)", time.Since(t).Round(time.Millisecond))
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("lab: the satellite has not taken the cores' configuration after 20s (%v); its log %s ends:\n%s",
		err, filepath.Join(l.nodeDir(Satellite), "sqlgate.log"), proc.TailFile(filepath.Join(l.nodeDir(Satellite), "sqlgate.log"), 15))
}

// sameChecksums returns nil when every module of node a's
// runtime_checksums_values has the same checksum on node b.
func (l *Lab) sameChecksums(ctx context.Context, a, b string) error {
	ca, err := l.checksums(ctx, a)
	if err != nil {
		return err
	}
	cb, err := l.checksums(ctx, b)
	if err != nil {
		return err
	}
	for m, sum := range ca {
		if cb[m] != sum {
			return fmt.Errorf("%s: %s on %s, %s on %s", m, sum, a, cb[m], b)
		}
	}
	return nil
}

// adminRows runs q on a node's admin interface, within 2 s, and hands f
// each row.
func (l *Lab) adminRows(ctx context.Context, node, q string, f func(*sql.Rows) error) error {
	db, err := l.Admin(node)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return scanRows(ctx, db, q, f)
}

// checksums returns a node's runtime checksum per module.
func (l *Lab) checksums(ctx context.Context, node string) (map[string]string, error) {
	out := map[string]string{}
	err := l.adminRows(ctx, node, "SELECT name, checksum FROM runtime_checksums_values", func(r *sql.Rows) error {
		var n, c string
		err := r.Scan(&n, &c)
		out[n] = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s admin: %w", node, err)
	}
	return out, nil
}

// DB opens a database handle whose connections are made from the network
// namespace of host (a proxy name, "db" or "client"; ignored on
// loopback) to addr.
func (l *Lab) DB(host, addr, user, password string) (*sql.DB, error) {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = user, password, "tcp", addr
	c.Timeout, c.ReadTimeout, c.WriteTimeout = 2*time.Second, 10*time.Second, 10*time.Second
	c.DialFunc = netns.DialerIn(l.Namespace(host))
	c.Logger = log.New(io.Discard, "", 0) // the driver's own lines would interleave with the report
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(2)
	return db, nil
}

// Admin opens the admin interface of a proxy node as admin/admin, from
// inside its namespace (admin logs in only from loopback).
func (l *Lab) Admin(node string) (*sql.DB, error) {
	p, err := l.proxy(node)
	if err != nil {
		return nil, err
	}
	return l.DB(node, net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Admin)), "admin", "admin")
}

// Login logs in as the app user through one proxy node from the client
// namespace and pings, which the proxy answers itself: it proves the node
// serves clients (routing to MariaDB is another matter).
func (l *Lab) Login(ctx context.Context, node string) error {
	addr, err := l.ProxyAddr(node)
	if err != nil {
		return err
	}
	return l.loginAt(ctx, addr)
}

func (l *Lab) loginAt(ctx context.Context, addr string) error {
	db, err := l.DB("client", addr, testbed.AppUser, testbed.AppPassword)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// Down stops every process the lab started (keepalived, sqlgate,
// mariadbd: by PID, each checked against its command line), deletes the
// namespaces it created and removes its directory. It is idempotent, and
// leaves alone anything lab.json does not list. A process found still
// running inside one of the lab's namespaces that the lab did not start
// (a shell someone opened there) is named in the error, not killed.
func (l *Lab) Down() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, p := range []string{CoreA, CoreB} {
		if err := l.stopKeepalived(p); err != nil {
			errs = append(errs, err)
		}
	}
	var wg sync.WaitGroup
	perr := make([]error, len(Proxies))
	for i, p := range Proxies {
		wg.Add(1)
		go func() { defer wg.Done(); perr[i] = l.proxyPID(p).Stop("sqlgate "+p, syscall.SIGTERM, 15*time.Second) }()
	}
	wg.Wait()
	errs = append(errs, perr...)
	if l.bed != nil {
		if err := l.bed.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("lab: MariaDB: %w", err))
		}
	}
	// What a lost PID file would hide: sqlgate's health guardians (which
	// sqlgate starts itself), or a process of an interrupted up.
	for _, pid := range proc.Stray(l.Dir) {
		syscall.Kill(pid, syscall.SIGKILL)
		if !proc.WaitGone(pid, 5*time.Second) {
			errs = append(errs, fmt.Errorf("lab: pid %d (%s) did not exit after SIGKILL", pid, strings.Join(proc.Cmdline(pid), " ")))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := len(l.st.Namespaces) - 1; i >= 0; i-- {
		ns := l.st.Namespaces[i]
		if !netns.Exists(ns) {
			continue
		}
		if ino, err := netns.Inode(ns); err == nil {
			for _, pid := range proc.InNamespace(ino) {
				errs = append(errs, fmt.Errorf("lab: pid %d (%s) still runs in namespace %s and was not started by the lab: end it yourself", pid, strings.Join(proc.Cmdline(pid), " "), ns))
			}
		}
		if err := netns.IP(ctx, "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.RemoveAll(l.Dir); err != nil {
		return fmt.Errorf("lab: removing %s: %w", l.Dir, err)
	}
	return nil
}

// problems lists what is not running of a lab that should be up.
func (l *Lab) problems() []string {
	var out []string
	if !l.st.Complete {
		out = append(out, "its up did not finish")
	}
	for _, ns := range l.st.Namespaces {
		if !netns.Exists(ns) {
			out = append(out, "namespace "+ns+" is gone")
		}
	}
	for _, p := range l.st.Proxies {
		if l.proxyPID(p.Name).PID() == 0 {
			out = append(out, "sqlgate "+p.Name+" is not running")
		}
		if l.NetNS() && p.Core && l.keepalivedPID(p.Name).PID() == 0 {
			out = append(out, "keepalived "+p.Name+" is not running")
		}
	}
	if l.bed == nil {
		out = append(out, "MariaDB was never started")
	} else if l.bed.Primary.PID() == 0 {
		out = append(out, "the MariaDB primary "+l.bed.Primary.Name+" is not running")
	}
	return out
}
