package main

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

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

// TestClusterStopIsCleanAndQuiet: a clustered node stops within 2 s on
// SIGTERM and on PROXYSQL SHUTDOWN; the peers of a stopped node try it at
// most once per check interval, backing off, and log it once; a peer
// removed from proxysql_servers is not contacted or logged again.
func TestClusterStopIsCleanAndQuiet(t *testing.T) {
	bin := buildBinary(t)
	nodes := startCluster(t, bin, []string{"coreA", "coreB", "sat1"}, 2, nil)
	a, b, sat := nodes[0], nodes[1], nodes[2]
	bAddr := "127.0.0.1:" + strconv.Itoa(b.admin)
	waitFor(t, "every node polling coreB", 5*time.Second, func() bool {
		for _, n := range []*clusterNode{a, sat} {
			if n.must(fmt.Sprintf("SELECT checks_OK > 0 FROM stats_proxysql_servers_status WHERE port=%d", b.admin)) != "1" {
				return false
			}
		}
		return true
	})

	d := b.stop(t, false, 2*time.Second)
	t.Logf("coreB stopped %v after SIGTERM", d.Round(time.Millisecond))
	if !strings.Contains(b.logs.String(), "msg=stopped") {
		t.Errorf("coreB's log has no 'stopped' line:\n%s", tail(b.logs.String(), 20))
	}

	// coreB is down: its peers may try it once per interval at most.
	before := a.logs.Len()
	errBefore, _ := strconv.Atoi(a.must(fmt.Sprintf("SELECT checks_ERR FROM stats_proxysql_servers_status WHERE port=%d", b.admin)))
	const watch = 3 * time.Second
	time.Sleep(watch)
	errAfter, _ := strconv.Atoi(a.must(fmt.Sprintf("SELECT checks_ERR FROM stats_proxysql_servers_status WHERE port=%d", b.admin)))
	attempts := errAfter - errBefore
	if max := int(watch / clusterInterval); attempts > max || attempts < 1 {
		t.Errorf("coreA tried the stopped coreB %d times in %v, want 1..%d (one per check interval at most)", attempts, watch, max)
	}
	if n := linesAbout(a.logs.String()[before:], bAddr); n > 2 {
		t.Errorf("coreA logged %d lines about the stopped coreB in %v, want one per state change:\n%s", n, watch, a.logs.String()[before:])
	}
	t.Logf("coreA tried the stopped coreB %d times in %v", attempts, watch)

	// Removing coreB from coreA's proxysql_servers ends its monitor: no
	// further attempt, no further line.
	a.must(fmt.Sprintf("DELETE FROM proxysql_servers WHERE port=%d; LOAD PROXYSQL SERVERS TO RUNTIME", b.admin))
	waitFor(t, "coreA's monitor of coreB to close", 3*time.Second, func() bool {
		return strings.Contains(a.logs.String(), "Cluster: closing thread for peer "+bAddr)
	})
	before = a.logs.Len()
	time.Sleep(watch)
	if n := linesAbout(a.logs.String()[before:], bAddr); n != 0 {
		t.Errorf("coreA logged %d lines about the removed peer coreB:\n%s", n, a.logs.String()[before:])
	}
	if got := a.must(fmt.Sprintf("SELECT COUNT(*) FROM stats_proxysql_servers_status WHERE port=%d", b.admin)); got != "0" {
		t.Errorf("the removed peer is still monitored (%s rows)", got)
	}

	// PROXYSQL SHUTDOWN stops a clustered node just as fast.
	d = a.stop(t, true, 2*time.Second)
	t.Logf("coreA stopped %v after PROXYSQL SHUTDOWN", d.Round(time.Millisecond))
	d = sat.stop(t, false, 2*time.Second)
	t.Logf("the satellite stopped %v after SIGTERM with both cores gone", d.Round(time.Millisecond))
}
