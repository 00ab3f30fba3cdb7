package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssKB is a process's resident set size from /proc.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// preauth opens a connection, reads the greeting (or the error sent in
// its place) and returns the connection and the first packet's payload.
func preauth(t *testing.T, port int) (net.Conn, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	hdr := make([]byte, 4)
	if _, err := io.ReadFull(r, hdr); err != nil {
		t.Fatalf("port %d: no greeting: %v", port, err)
	}
	p := make([]byte, int(hdr[0])|int(hdr[1])<<8|int(hdr[2])<<16)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Time{})
	return c, p
}

// TestPreAuthFloodIsBounded: clients that claim a 16 MB packet right after
// the greeting (4 bytes sent each) cost no memory and are disconnected,
// on the client and the admin port; connections that never log in are
// bounded (the next one waits for a slot), and the port serves again once
// they are gone.
func TestPreAuthFloodIsBounded(t *testing.T) {
	bin := buildBinary(t)
	p := newProxy(t, bin, `mysql_users = ( { username="app", password="app", default_hostgroup=0 } )
mysql_servers = ( { address="127.0.0.1", port=1, hostgroup=0 } )`)
	pid := p.cmd.Process.Pid
	before := rssKB(t, pid)
	for _, port := range []int{p.app, p.admin} {
		var conns []net.Conn
		for i := 0; i < 200; i++ {
			c, _ := preauth(t, port)
			c.Write([]byte{0xff, 0xff, 0xff, 0x01})
			conns = append(conns, c)
		}
		for i, c := range conns {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadAll(c); err != nil {
				t.Fatalf("port %d, connection %d: not closed after a 16 MB claim: %v", port, i, err)
			}
			c.Close()
		}
	}
	if after := rssKB(t, pid); after-before > 64<<10 && !raceBuild() { // the race detector's shadow memory grows RSS
		t.Errorf("400 connections that claimed 16 MB each grew RSS from %d KB to %d KB", before, after)
	} else {
		t.Logf("RSS %d KB -> %d KB after 400 claims of 16 MB", before, after)
	}

	// Connections that never log in: the admin port admits 64 at a time;
	// the 65th waits for a slot (no greeting) and is served when one frees.
	var idle []net.Conn
	for i := 0; i < 64; i++ {
		c, _ := preauth(t, p.admin)
		idle = append(idle, c)
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p.admin))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if n, _ := c.Read(make([]byte, 1)); n != 0 {
		t.Errorf("the 65th pending admin connection was greeted while 64 were pending")
	}
	idle[0].Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 1 {
		t.Errorf("the waiting admin connection was not greeted when a slot freed: %v", err)
	}
	for _, c := range idle[1:] {
		c.Close()
	}
	waitFor(t, "an admin login after the pending connections closed", 3*time.Second, func() bool {
		_, err := p.sql("SELECT 1")
		return err == nil
	})
}

// TestPeerEndlessResultsetIsBounded: a cluster peer that answers a poll
// with an endless resultset cannot exhaust the node's memory: the node
// stops reading at its limit, hangs up, and says why.
func TestPeerEndlessResultsetIsBounded(t *testing.T) {
	n, fake := nodeWithFakePeer(t, func(f *fakePeer) { f.flood = true })
	before := rssKB(t, n.cmd.Process.Pid)
	n.addPeer(fake)
	waitFor(t, "the node to refuse the endless resultset", 20*time.Second, func() bool {
		return strings.Contains(n.must(fmt.Sprintf("SELECT master FROM stats_proxysql_servers_status WHERE port=%d", fake.port())), "resultset too large")
	})
	after := rssKB(t, n.cmd.Process.Pid)
	t.Logf("peer sent %d MB; RSS %d KB -> %d KB", fake.flooded.Load()>>20, before, after)
	if after-before > 256<<10 && !raceBuild() { // the race detector's shadow memory grows RSS
		t.Errorf("an endless resultset grew RSS from %d KB to %d KB", before, after)
	}
}

// TestClusterPasswordNeverInCleartext: a peer (or anyone posing as one)
// that answers the cluster login with an AuthSwitchRequest to
// mysql_clear_password gets no password over a connection without TLS;
// the node refuses and says why.
func TestClusterPasswordNeverInCleartext(t *testing.T) {
	n, fake := nodeWithFakePeer(t, func(f *fakePeer) { f.clearSwitch = true })
	n.addPeer(fake)
	waitFor(t, "the node to refuse the cleartext request", 10*time.Second, func() bool {
		return strings.Contains(n.must(fmt.Sprintf("SELECT master FROM stats_proxysql_servers_status WHERE port=%d", fake.port())), "refusing to send the password in cleartext")
	})
	if got, _ := fake.clearGot.Load().(string); strings.Contains(got, "clusterpw") {
		t.Fatalf("the node sent the cluster password in cleartext: %q", got)
	}
	if !strings.Contains(n.logs.String(), "refusing to send the password in cleartext") {
		t.Errorf("the refusal is not logged:\n%s", tail(n.logs.String(), 20))
	}
}

// TestStartupRefusesOrRecoversClearly: an empty proxysql.db is no saved
// configuration (the file's is used); @include of /dev/zero is refused at
// once; a bad row saved in proxysql.db stops the start with an error that
// names the database file and the way out.
func TestStartupRefusesOrRecoversClearly(t *testing.T) {
	bin := buildBinary(t)
	p := newProxy(t, bin, `mysql_query_rules = ( { rule_id=7, active=1, match_digest="^SELECT", apply=1 } )`)
	p.kill()
	db := filepath.Join(p.dir, "proxysql.db")
	if err := os.Truncate(db, 0); err != nil {
		t.Fatal(err)
	}
	p.start()
	if got := p.must("SELECT rule_id FROM runtime_mysql_query_rules"); got != "7" {
		t.Errorf("with an empty proxysql.db the rules are %q, want the file's rule 7", got)
	}
	if !strings.Contains(p.logs.String(), "the configuration database is empty") {
		t.Errorf("the empty database is not reported:\n%s", tail(p.logs.String(), 20))
	}

	// A bad row saved to disk.
	p.must("INSERT INTO disk.mysql_query_rules (rule_id, active, match_pattern, apply) VALUES (8, 1, '(', 1)")
	p.kill()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-f", "-c", p.cnf, "-D", p.dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), db+": mysql_query_rules rule_id=8") || !strings.Contains(string(out), "--initial") {
		t.Errorf("a bad row in proxysql.db: %v\n%s\nwant an error naming %s, the row and --initial", err, out, db)
	}

	// @include of a device.
	cnf := filepath.Join(t.TempDir(), "zero.cnf")
	os.WriteFile(cnf, []byte("@include \"/dev/zero\"\n"), 0o644)
	out, err = exec.CommandContext(ctx, bin, "-f", "-c", cnf, "-D", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "/dev/zero is not a regular file") {
		t.Errorf("@include \"/dev/zero\": %v\n%s", err, out)
	}
}

// TestAdminIfacesBindFirst: LOAD ADMIN VARIABLES TO RUNTIME with an
// admin-mysql_ifaces that cannot be bound fails, and runtime keeps the
// address in force; a change of host on the same port works; active
// firewall rows are refused, not silently ignored.
func TestAdminIfacesBindFirst(t *testing.T) {
	bin := buildBinary(t)
	p := newProxy(t, bin, "")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := busy.Addr().String()
	p.mustFail(fmt.Sprintf("SET admin-mysql_ifaces='%s'; LOAD ADMIN VARIABLES TO RUNTIME", taken), "admin-mysql_ifaces")
	want := fmt.Sprintf("127.0.0.1:%d", p.admin)
	if got := p.must("SELECT variable_value FROM runtime_global_variables WHERE variable_name='admin-mysql_ifaces'"); got != want {
		t.Errorf("runtime admin-mysql_ifaces after a failed bind: %q, want %q (the address in force)", got, want)
	}
	// Same port, another host form: the node takes over its own port.
	p.must(fmt.Sprintf("SET admin-mysql_ifaces='0.0.0.0:%d'; LOAD ADMIN VARIABLES TO RUNTIME", p.admin))
	if got := p.must("SELECT variable_value FROM runtime_global_variables WHERE variable_name='admin-mysql_ifaces'"); got != fmt.Sprintf("0.0.0.0:%d", p.admin) {
		t.Errorf("runtime admin-mysql_ifaces after a same-port change: %q", got)
	}

	for _, q := range []string{
		"INSERT INTO mysql_firewall_whitelist_users (active, username, client_address, mode, comment) VALUES (1, 'app', '', 'PROTECTING', '')",
		"INSERT INTO mysql_firewall_whitelist_sqli_fingerprints (active, fingerprint) VALUES (1, 'x')",
	} {
		p.must("DELETE FROM mysql_firewall_whitelist_users; DELETE FROM mysql_firewall_whitelist_sqli_fingerprints; " + q)
		p.mustFail("LOAD MYSQL FIREWALL TO RUNTIME", "not implemented by sqlgate")
	}
}
