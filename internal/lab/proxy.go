package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sqlgate/internal/lab/netns"
	"sqlgate/internal/proc"
)

func (l *Lab) cnfPath(node string) string { return filepath.Join(l.nodeDir(node), "proxysql.cnf") }

func (l *Lab) healthPath(node string) string { return filepath.Join(l.nodeDir(node), "health") }

func (l *Lab) proxyPID(node string) proc.PIDFile {
	return proc.PIDFile{File: filepath.Join(l.nodeDir(node), "sqlgate.pid"), Mark: l.cnfPath(node)}
}

func (l *Lab) kaConf(node string) string { return filepath.Join(l.nodeDir(node), "keepalived.conf") }

func (l *Lab) keepalivedPID(node string) proc.PIDFile {
	return proc.PIDFile{File: filepath.Join(l.nodeDir(node), "keepalived.pid"), Mark: l.kaConf(node)}
}

func (l *Lab) vrrpPID(node string) proc.PIDFile {
	return proc.PIDFile{File: filepath.Join(l.nodeDir(node), "vrrp.pid"), Mark: l.kaConf(node)}
}

// writeCnf writes a node's proxysql.cnf: the cores carry the whole
// configuration, the satellite only how to reach the cores (it takes the
// rest from them, as examples/satellite.cnf explains).
func (l *Lab) writeCnf(p proxyState) error {
	dir := l.nodeDir(p.Name)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return err
	}
	bind := "0.0.0.0"
	if !l.NetNS() {
		bind = "127.0.0.1"
	}
	role := "core " + p.Name + ": both cores list each other (themselves included) in proxysql_servers"
	if !p.Core {
		role = "the satellite: it lists only the cores and takes servers, users, rules and variables from them"
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# proxysql.cnf of the lab's %s.\n# Written by sqlgate-lab up; the lab directory goes with sqlgate-lab down.\n", role)
	w("datadir=%q\n\n", filepath.Join(dir, "data"))
	w("admin_variables =\n{\n")
	w("\tadmin_credentials=\"admin:admin;cluster:cluster\"\n")
	w("\tmysql_ifaces=\"%s:%d\"\n", bind, p.Admin)
	w("\tcluster_username=\"cluster\"\n\tcluster_password=\"cluster\"\n")
	w("\t# Peers are polled 5 times a second, so a change LOADed on one core\n\t# reaches the others within about a second.\n")
	w("\tcluster_check_interval_ms=200\n}\n\n")
	w("mysql_variables =\n{\n")
	w("\tinterfaces=\"%s:%d\"\n", bind, p.MySQL)
	w("\tmonitor_username=\"monitor\"\n\tmonitor_password=\"monitor\"\n")
	if p.Core {
		w("\t# Fast checks: a promoted replica (read_only=0) becomes the writer\n\t# within a fraction of a second.\n")
		w("\tmonitor_read_only_interval=200\n\tmonitor_ping_interval=300\n\tmonitor_ping_timeout=200\n")
		w("\tmonitor_connect_interval=1000\n\tmonitor_replication_lag_interval=500\n")
	}
	w("}\n\n")
	if p.Core {
		var servers []string
		for _, n := range l.bed.Nodes {
			hg := 20
			if n == l.bed.Primary {
				hg = 10
			}
			servers = append(servers, fmt.Sprintf("\t{ address=%q, port=%d, hostgroup=%d, comment=%q }", n.Host, n.Port, hg, n.Name))
		}
		w("mysql_servers =\n(\n%s\n)\n\n", strings.Join(servers, ",\n"))
		w("mysql_replication_hostgroups =\n(\n\t{ writer_hostgroup=10, reader_hostgroup=20, check_type=\"read_only\", comment=\"primary and replicas\" }\n)\n\n")
		w("mysql_users =\n(\n\t{ username=\"app\", password=\"app\", default_hostgroup=10 }\n)\n\n")
		w("mysql_query_rules =\n(\n")
		w("\t{ rule_id=1, active=1, match_digest=\"^SELECT .* FOR UPDATE\", destination_hostgroup=10, apply=1 },\n")
		w("\t{ rule_id=2, active=1, match_digest=\"^SELECT\", destination_hostgroup=20, apply=1 }\n)\n\n")
	}
	var peers []string
	for _, c := range l.st.Proxies {
		if c.Core {
			peers = append(peers, fmt.Sprintf("\t{ hostname=%q, port=%d, comment=\"core %s\" }", c.IP, c.Admin, c.Name))
		}
	}
	w("proxysql_servers =\n(\n%s\n)\n", strings.Join(peers, ",\n"))
	return os.WriteFile(l.cnfPath(p.Name), []byte(b.String()), 0o644)
}

// proxyArgs is the command that runs a proxy node; StartProxy runs
// exactly this every time, so a restarted node is the node that died.
func (l *Lab) proxyArgs(p proxyState) []string {
	args := []string{l.st.SqlgateBin, "-f", "-c", l.cnfPath(p.Name), "-D", filepath.Join(l.nodeDir(p.Name), "data")}
	if p.Core {
		args = append(args, "-health-file", l.healthPath(p.Name))
	}
	if l.NetNS() {
		args = append([]string{"ip", "netns", "exec", l.Namespace(p.Name)}, args...)
	}
	return args
}

// ProxyPID is the PID of a proxy node's sqlgate, 0 when it is not running.
func (l *Lab) ProxyPID(node string) int { return l.proxyPID(node).PID() }

// StartProxy starts a proxy node's sqlgate (with the command Up used) and
// waits until its admin interface answers, an app login through it works,
// and, for a core, its health file says 0. A running node is left alone.
func (l *Lab) StartProxy(node string) error {
	p, err := l.proxy(node)
	if err != nil {
		return err
	}
	if l.proxyPID(node).PID() != 0 {
		return nil
	}
	logPath := filepath.Join(l.nodeDir(node), "sqlgate.log")
	pid, err := proc.StartDetached(l.proxyArgs(p), logPath, l.proxyPID(node).File)
	if err != nil {
		return fmt.Errorf("lab: sqlgate %s: %w", node, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var why string
	for ctx.Err() == nil {
		if !proc.Alive(pid) {
			return fmt.Errorf("lab: sqlgate %s exited during start-up; %s ends:\n%s", node, logPath, proc.TailFile(logPath, 20))
		}
		why = l.proxyReady(ctx, p)
		if why == "" {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("lab: sqlgate %s not ready after 20s (%s); %s ends:\n%s", node, why, logPath, proc.TailFile(logPath, 20))
}

// proxyReady returns "" when a node serves, else what it still lacks.
// The satellite's login is not required here: it serves once it has
// pulled the users from the cores (Up waits for that separately).
func (l *Lab) proxyReady(ctx context.Context, p proxyState) string {
	db, err := l.Admin(p.Name)
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	c, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var one int
	if err := db.QueryRowContext(c, "SELECT 1").Scan(&one); err != nil {
		return "admin: " + err.Error()
	}
	if !p.Core {
		return ""
	}
	if err := l.Login(ctx, p.Name); err != nil {
		return "app login: " + err.Error()
	}
	if h := l.Health(p.Name); h != "0" {
		return "health file says " + h
	}
	return ""
}

// Health returns what a core's health file says ("0" serving, "1" not,
// "missing"), "-" for the satellite, which keeps none.
func (l *Lab) Health(node string) string {
	p, err := l.proxy(node)
	if err != nil || !p.Core {
		return "-"
	}
	data, err := os.ReadFile(l.healthPath(node))
	if err != nil {
		return "missing"
	}
	return strings.TrimSpace(string(data))
}

// KillProxy SIGKILLs a node's sqlgate (a crash) and returns once the
// process is gone. sqlgate's health guardian then reports the fault to
// keepalived.
func (l *Lab) KillProxy(node string) error {
	if _, err := l.proxy(node); err != nil {
		return err
	}
	return l.proxyPID(node).Stop("sqlgate "+node, syscall.SIGKILL, 5*time.Second)
}

// StopProxy stops a node's sqlgate with SIGTERM (a planned stop: it gives
// the VIP away, then drains its sessions) and returns once it is gone
// (SIGKILL after 30 s).
func (l *Lab) StopProxy(node string) error {
	if _, err := l.proxy(node); err != nil {
		return err
	}
	return l.proxyPID(node).Stop("sqlgate "+node, syscall.SIGTERM, 30*time.Second)
}

// CutLink sets the bridge side of a node's veth down: the node's eth0
// loses its carrier, as when a host's cable is pulled. Its processes keep
// running.
func (l *Lab) CutLink(node string) error { return l.setLink(node, "down") }

// RestoreLink undoes CutLink.
func (l *Lab) RestoreLink(node string) error { return l.setLink(node, "up") }

func (l *Lab) setLink(node, state string) error {
	if !l.NetNS() {
		return fmt.Errorf("lab: cutting links needs the namespaces (run as root): this lab runs on loopback (%s)", l.st.Why)
	}
	if node != "db" && node != "client" {
		if _, err := l.proxy(node); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return netns.IP(ctx, "-n", l.Namespace("br"), "link", "set", "v-"+node, state)
}

// VIPHolders returns the cores whose eth0 carries the VIP, in node order:
// one when all is well, none during a takeover, two after a split brain
// (or a keepalived killed without its node, which leaves the VIP behind).
func (l *Lab) VIPHolders() ([]string, error) {
	if !l.NetNS() {
		return nil, fmt.Errorf("lab: no VIP on loopback (%s)", l.st.Why)
	}
	var holders []string
	for _, node := range []string{CoreA, CoreB} {
		out, err := exec.Command("ip", "-n", l.Namespace(node), "-o", "-4", "addr", "show", "dev", "eth0").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("lab: addresses of %s: %v: %s", l.Namespace(node), err, strings.TrimSpace(string(out)))
		}
		if strings.Contains(string(out), " "+VIP+"/") {
			holders = append(holders, node)
		}
	}
	return holders, nil
}

// VIPHolder returns the core that holds the VIP, or an error when none or
// both do.
func (l *Lab) VIPHolder() (string, error) {
	h, err := l.VIPHolders()
	if err != nil {
		return "", err
	}
	if len(h) != 1 {
		return "", fmt.Errorf("lab: %d cores hold the VIP %s (%s), want exactly one", len(h), VIP, strings.Join(h, ", "))
	}
	return h[0], nil
}

// WaitVIPHolder waits up to d until exactly one core holds the VIP and,
// when want is not "", that it is want.
func (l *Lab) WaitVIPHolder(want string, d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	for {
		h, err := l.VIPHolder()
		if err == nil && (want == "" || h == want) {
			return h, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("lab: the VIP is on %s, not %s", h, want)
			}
			return "", fmt.Errorf("%w (after %v)", err, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startKeepalived writes each core's keepalived.conf with `sqlgate
// keepalived-config`, checks it with keepalived -t, and starts core a
// first, so the VIP deterministically starts on a, then core b.
func (l *Lab) startKeepalived(ctx context.Context) error {
	t := time.Now()
	for _, node := range []string{CoreA, CoreB} {
		if err := l.writeKeepalivedConf(ctx, node); err != nil {
			return err
		}
	}
	if err := l.StartKeepalived(CoreA); err != nil {
		return err
	}
	if _, err := l.WaitVIPHolder(CoreA, 10*time.Second); err != nil {
		return fmt.Errorf("%w; %s ends:\n%s", err, filepath.Join(l.nodeDir(CoreA), "keepalived.log"), proc.TailFile(filepath.Join(l.nodeDir(CoreA), "keepalived.log"), 15))
	}
	if err := l.StartKeepalived(CoreB); err != nil {
		return err
	}
	// b must settle as BACKUP and leave the VIP where it is.
	deadline := time.Now().Add(10 * time.Second)
	for l.VRRPState(CoreB) != "BACKUP" {
		if time.Now().After(deadline) {
			return fmt.Errorf("lab: keepalived b is %q after 10s, want BACKUP; %s ends:\n%s", l.VRRPState(CoreB),
				filepath.Join(l.nodeDir(CoreB), "keepalived.log"), proc.TailFile(filepath.Join(l.nodeDir(CoreB), "keepalived.log"), 15))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := l.WaitVIPHolder(CoreA, time.Second); err != nil {
		return err
	}
	l.logf("keepalived a (MASTER, VIP %s) and b (BACKUP), advert %v (%v)", VIP, l.Advert(), time.Since(t).Round(time.Millisecond))
	return nil
}

func (l *Lab) writeKeepalivedConf(ctx context.Context, node string) error {
	p, err := l.proxy(node)
	if err != nil {
		return err
	}
	args := []string{"keepalived-config",
		"-vip", VIP + "/" + strconv.Itoa(vipPrefixLen), "-interface", "eth0",
		"-priority", strconv.Itoa(p.Priority), "-router-id", strconv.Itoa(RouterID),
		"-advert", l.Advert().String(), "-name", l.Namespace(node),
		"-health-file", l.healthPath(node), "-notify-log", filepath.Join(l.nodeDir(node), "vrrp.log"),
		"-sqlgate", l.st.SqlgateBin, "-healthcheck", fmt.Sprintf("-mysql 127.0.0.1:%d -user app -password app", p.MySQL)}
	out, err := exec.CommandContext(ctx, l.st.SqlgateBin, args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return fmt.Errorf("lab: %s %s: %v: %s", l.st.SqlgateBin, strings.Join(args, " "), err, msg)
	}
	conf := l.kaConf(node)
	if err := os.WriteFile(conf, out, 0o644); err != nil {
		return err
	}
	test, err := exec.CommandContext(ctx, "ip", "netns", "exec", l.Namespace(node), "keepalived", "-t", "-f", conf).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab: keepalived -t -f %s rejects the configuration: %v\n%s", conf, err, strings.TrimSpace(string(test)))
	}
	return nil
}

// StartKeepalived starts keepalived on a core (no-op if it runs) and
// waits for its VRRP process.
func (l *Lab) StartKeepalived(node string) error {
	p, err := l.proxy(node)
	if err != nil || !p.Core {
		return fmt.Errorf("lab: keepalived runs on the cores (a, b), not on %q", node)
	}
	if !l.NetNS() {
		return fmt.Errorf("lab: no keepalived on loopback (%s)", l.st.Why)
	}
	if l.keepalivedPID(node).PID() != 0 {
		return nil
	}
	dir := l.nodeDir(node)
	// keepalived refuses to start while its pid files name a live
	// process; ours are stale once pid() says so.
	os.Remove(l.keepalivedPID(node).File)
	os.Remove(l.vrrpPID(node).File)
	// -n: stay in the foreground (the PID is ours), -l -D -G: detailed log
	// to stdout, not syslog; -P: VRRP only; private pid files and a config
	// id, so several keepalived run on one machine.
	args := []string{"ip", "netns", "exec", l.Namespace(node), "keepalived", "-n", "-l", "-D", "-G", "-P",
		"-f", l.kaConf(node), "-p", l.keepalivedPID(node).File, "-r", l.vrrpPID(node).File, "-i", "sqlgate_" + node}
	logPath := filepath.Join(dir, "keepalived.log")
	// keepalived writes its pid files itself, and refuses to start when
	// one names a live process: it would take its own PID for another's.
	pid, err := proc.StartDetached(args, logPath, "")
	if err != nil {
		return fmt.Errorf("lab: keepalived %s: %w", node, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.vrrpPID(node).PID() == 0 || l.keepalivedPID(node).PID() != pid {
		if !proc.Alive(pid) || time.Now().After(deadline) {
			return fmt.Errorf("lab: keepalived %s did not start its VRRP process; %s ends:\n%s", node, logPath, proc.TailFile(logPath, 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// StopKeepalived stops keepalived on a core with SIGTERM: it gives the VIP
// away (a priority-0 advert) and removes it from eth0.
func (l *Lab) StopKeepalived(node string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopKeepalived(node)
}

func (l *Lab) stopKeepalived(node string) error {
	err := l.keepalivedPID(node).Stop("keepalived "+node, syscall.SIGTERM, 5*time.Second)
	// The VRRP process follows its parent; if it is still there the
	// parent died without stopping it.
	if e := l.vrrpPID(node).Stop("keepalived VRRP "+node, syscall.SIGTERM, 5*time.Second); err == nil {
		err = e
	}
	return err
}

// VRRPState is a core's last VRRP state as keepalived's notify hook
// logged it (MASTER, BACKUP, FAULT, STOP), "" before the first.
func (l *Lab) VRRPState(node string) string {
	data, err := os.ReadFile(filepath.Join(l.nodeDir(node), "vrrp.log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	// TIME TYPE NAME STATE PRIORITY
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 4 {
		return ""
	}
	return f[3]
}
