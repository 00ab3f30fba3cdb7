package cluster

import (
	"context"
	"net"
	"strconv"
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

// local is this node for the decision tests: only IsSelf matters.
type local struct{ self string }

func (l local) ClusterConfig() Config       { return Config{} }
func (l local) Checksums() map[string]Value { return nil }
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
			got := cl.versionOne(n, m, c.own, *n.records[m], 3)
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
