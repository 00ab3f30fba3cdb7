package cluster

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		interval time.Duration
		failures int
		want     time.Duration
	}{
		{time.Second, 1, time.Second},
		{time.Second, 2, 2 * time.Second},
		{time.Second, 3, 4 * time.Second},
		{time.Second, 4, maxBackoff},
		{time.Second, 100, maxBackoff},
		{200 * time.Millisecond, 1, 200 * time.Millisecond},
		{200 * time.Millisecond, 3, 800 * time.Millisecond},
		{30 * time.Second, 5, 30 * time.Second}, // never less than the interval
		{0, 1, time.Second},
	} {
		if got := backoff(c.interval, c.failures); got != c.want {
			t.Errorf("backoff(%v, %d) = %v, want %v", c.interval, c.failures, got, c.want)
		}
	}
}

// local is this node for the decision tests: IsSelf and Checksums matter.
type local struct {
	self string
	own  map[string]Value
}

func (l local) ClusterConfig() Config       { return Config{} }
func (l local) Checksums() map[string]Value { return l.own }
func (l local) Version() string             { return "" }
func (l local) NodeUUID() string            { return "" }
func (l local) AdminIfaces() string         { return "" }
func (l local) ApplyPull(*Pull) error       { return nil }
func (l local) IsSelf(p Peer) bool          { return p.addr() == l.self }

// TestVersionOneRule: which peer a node at version 1 follows when every
// differing node runs boot configuration.
func TestVersionOneRule(t *testing.T) {
	const m = MySQLQueryRules
	type peer struct {
		addr    string
		version uint64
		sum     string
		down    bool
	}
	cases := []struct {
		name  string
		self  string // "" for a satellite
		own   Value
		peers []peer
		from  string // the peer processed; "" when none
		want  string // the peer pulled from, "" for none
	}{
		{"core follows the first core", "h:2", Value{Version: 1, Checksum: "B"},
			[]peer{{"h:1", 1, "A", false}, {"h:2", 1, "B", false}}, "h:1", "h:1"},
		{"first core keeps its own", "h:1", Value{Version: 1, Checksum: "A"},
			[]peer{{"h:1", 1, "A", false}, {"h:2", 1, "B", false}}, "h:2", ""},
		{"ports order numerically", "h:10", Value{Version: 1, Checksum: "B"},
			[]peer{{"h:9", 1, "A", false}, {"h:10", 1, "B", false}}, "h:9", "h:9"},
		{"satellite follows the first core", "", Value{Version: 1, Checksum: "S"},
			[]peer{{"h:1", 1, "A", false}, {"h:2", 1, "B", false}}, "h:1", "h:1"},
		{"satellite ignores the second core", "", Value{Version: 1, Checksum: "S"},
			[]peer{{"h:1", 1, "A", false}, {"h:2", 1, "B", false}}, "h:2", ""},
		{"satellite skips a core that is down", "", Value{Version: 1, Checksum: "S"},
			[]peer{{"h:1", 1, "A", true}, {"h:2", 1, "B", false}}, "h:2", "h:2"},
		{"a loaded core wins over the rule", "", Value{Version: 1, Checksum: "S"},
			[]peer{{"h:1", 1, "A", false}, {"h:2", 3, "B", false}}, "h:1", ""},
		{"a loaded own configuration stays on a core", "h:2", Value{Version: 2, Checksum: "B"},
			[]peer{{"h:1", 1, "A", false}, {"h:2", 2, "B", false}}, "h:1", ""},
		{"a satellite's loaded configuration does not", "", Value{Version: 2, Checksum: "S"},
			[]peer{{"h:1", 1, "A", false}, {"h:2", 1, "A", false}}, "h:1", "h:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := &Cluster{local: local{self: c.self}, nodes: map[string]*node{}}
			cl.ctx, cl.cancel = context.WithCancel(context.Background())
			defer cl.cancel()
			for _, p := range c.peers {
				host, port, _ := net.SplitHostPort(p.addr)
				pr := Peer{Hostname: host}
				pr.Port, _ = strconv.Atoi(port)
				n := &node{peer: pr, records: map[string]*record{m: {Value: Value{Version: p.version, Checksum: p.sum}, diffCheck: 3}}}
				if p.down {
					n.status = "unable to connect"
				}
				cl.nodes[p.addr] = n
			}
			n := cl.nodes[c.from]
			got, _ := cl.versionOne(n, m, c.own, *n.records[m], 3)
			switch {
			case c.want == "" && got != nil:
				t.Errorf("pulls from %s, want no pull", got.n.peer.addr())
			case c.want != "" && got == nil:
				t.Errorf("no pull, want one from %s", c.want)
			case c.want != "" && got.n.peer.addr() != c.want:
				t.Errorf("pulls from %s, want %s", got.n.peer.addr(), c.want)
			}
		})
	}
}

// TestPendingReason: why a module that does not pull stays different.
func TestPendingReason(t *testing.T) {
	const m = MySQLQueryRules
	for _, c := range []struct {
		name     string
		own      Value
		peer     Value
		diff     uint64
		conflict string
		want     string // a substring; "" for none
	}{
		{"equal", Value{2, 10, "A"}, Value{3, 10, "A"}, 0, "", ""},
		{"waiting for diff checks", Value{2, 10, "A"}, Value{3, 20, "B"}, 1, "", "differs for 1 of the 3 checks admin-cluster_mysql_query_rules_diffs_before_sync"},
		{"boot configuration", Value{2, 10, "A"}, Value{1, 20, "B"}, 5, "version1", "version 1), which is never synced from; run LOAD MYSQL QUERY RULES TO RUNTIME"},
		{"peer older", Value{2, 30, "A"}, Value{3, 20, "B"}, 5, "", "the peer's epoch 20 is older than ours (30)"},
		{"tie kept", Value{2, 30, "B"}, Value{3, 30, "A"}, 5, "tie-lost", "ours is kept"},
		{"tie pulled", Value{2, 30, "A"}, Value{3, 30, "B"}, 5, "tie", "pulling the peer's"},
	} {
		got := pendingReason(m, c.own, record{Value: c.peer, diffCheck: c.diff}, 3, c.conflict)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%s: reason %q, want %q", c.name, got, c.want)
		}
	}
}

// TestDrift: the drift rows of peers in sync, differing and unreachable.
func TestDrift(t *testing.T) {
	own := map[string]Value{MySQLQueryRules: {2, 100, "A"}, MySQLUsers: {2, 100, "U"}}
	cl := &Cluster{local: local{own: own}, nodes: map[string]*node{}}
	since := time.Unix(1700000000, 0)
	cl.nodes["h:1"] = &node{peer: Peer{Hostname: "h", Port: 1}, records: map[string]*record{
		MySQLQueryRules: {Value: Value{3, 200, "B"}, diffCheck: 4, differSince: since, reason: "pull from h:1 failed: boom"},
		MySQLUsers:      {Value: Value{2, 100, "U"}},
	}}
	cl.nodes["h:2"] = &node{peer: Peer{Hostname: "h", Port: 2}, records: map[string]*record{}, status: "unable to connect: refused", statusSince: since}
	got := cl.Drift()
	if len(got) != 2+len(Modules) {
		t.Fatalf("%d rows, want %d: %+v", len(got), 2+len(Modules), got)
	}
	if d := got[0]; d.Port != 1 || d.Name != MySQLQueryRules || d.State != DriftDiffers || d.DifferSince != since.Unix() ||
		d.Reason != "pull from h:1 failed: boom" || d.Local.Checksum != "A" || d.Peer.Checksum != "B" {
		t.Errorf("differing row: %+v", d)
	}
	if d := got[1]; d.Name != MySQLUsers || d.State != DriftInSync || d.Reason != "" || d.DifferSince != 0 {
		t.Errorf("matching row: %+v", d)
	}
	for _, d := range got[2:] {
		if d.Port != 2 || d.State != DriftUnreachable || d.Reason != "unable to connect: refused" || d.DifferSince != since.Unix() {
			t.Errorf("unreachable row: %+v", d)
		}
	}
}

// TestRecordCount: differSince starts with the first differing check and
// ends when the checksums match again.
func TestRecordCount(t *testing.T) {
	r := &record{Value: Value{Checksum: "B"}}
	t0 := time.Unix(100, 0)
	r.count("A", t0)
	r.count("A", t0.Add(time.Second))
	if r.diffCheck != 2 || !r.differSince.Equal(t0) {
		t.Fatalf("after two differing checks: diffCheck %d since %v", r.diffCheck, r.differSince)
	}
	r.reason = "x"
	r.count("B", t0.Add(2*time.Second))
	if r.diffCheck != 0 || !r.differSince.IsZero() || r.reason != "" {
		t.Fatalf("after a match: %+v", r)
	}
}
