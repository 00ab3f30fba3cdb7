package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestReplicationMoves(t *testing.T) {
	srv := func(hg int, host string) MySQLServer {
		return MySQLServer{HostgroupID: hg, Hostname: host, Port: 3306, Status: "ONLINE", Weight: 7, MaxConnections: 100}
	}
	pairs := []ReplicationHostgroup{{WriterHostgroup: 10, ReaderHostgroup: 20}}
	show := func(list []MySQLServer) string {
		var out []string
		for _, s := range list {
			out = append(out, fmt.Sprintf("%d:%s", s.HostgroupID, s.Hostname))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		name       string
		servers    []MySQLServer
		host       string
		readOnly   bool
		alsoReader bool
		want       string
		moves      int
	}{
		{"reader becomes writer, stays reader", []MySQLServer{srv(20, "a"), srv(20, "b")}, "b", false, true, "10:b 20:a 20:b", 1},
		{"reader becomes writer, leaves readers", []MySQLServer{srv(20, "a"), srv(20, "b")}, "b", false, false, "10:b 20:a", 2},
		{"writer turns read_only: moved to readers", []MySQLServer{srv(10, "a"), srv(20, "b")}, "a", true, true, "20:a 20:b", 2},
		{"writer also reader turns read_only", []MySQLServer{srv(10, "a"), srv(20, "a")}, "a", true, true, "20:a", 1},
		{"writer stays writer", []MySQLServer{srv(10, "a"), srv(20, "a")}, "a", false, false, "10:a 20:a", 0},
		{"reader stays reader", []MySQLServer{srv(10, "a"), srv(20, "b")}, "b", true, true, "10:a 20:b", 0},
		{"host outside the pair", []MySQLServer{srv(30, "c")}, "c", false, true, "30:c", 0},
	} {
		got, moves := ReplicationMoves(c.servers, pairs, c.host, 3306, c.readOnly, c.alsoReader)
		if show(got) != c.want || len(moves) != c.moves {
			t.Errorf("%s: got %s with %d moves, want %s with %d", c.name, show(got), len(moves), c.want, c.moves)
		}
		for _, s := range got {
			if s.Weight != 7 || s.MaxConnections != 100 {
				t.Errorf("%s: copied entry lost its attributes: %+v", c.name, s)
			}
		}
	}
	// The input is not modified.
	in := []MySQLServer{srv(10, "a")}
	ReplicationMoves(in, pairs, "a", 3306, true, true)
	if show(in) != "10:a" {
		t.Errorf("input modified: %s", show(in))
	}
}
