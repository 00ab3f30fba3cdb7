package admin

import (
	"context"
	"fmt"
	"strings"

	"sqlgate/internal/backend"
	"sqlgate/internal/cluster"
	"sqlgate/internal/config"
)

// move is one change replicationAction made, for the log.
type move struct {
	add     bool
	hg      int
	demoted bool // removed from a writer hostgroup: cut its connections
}

// replicationAction applies a read_only result of host:port to the runtime
// servers and returns the new list and what
// changed:
//   - read_only=0 and not yet in the writer hostgroup: copy its reader entry
//     there; keep it in the reader hostgroup only with
//     mysql-monitor_writer_is_also_reader (applied on this transition only,
//     as in ProxySQL);
//   - read_only=1 while in the writer hostgroup: make sure it is a reader
//     and remove it from the writer hostgroup;
//   - otherwise nothing.
func replicationAction(servers []config.MySQLServer, pairs []config.ReplicationHostgroup, host string, port int, readOnly, writerIsAlsoReader bool) ([]config.MySQLServer, []move) {
	find := func(list []config.MySQLServer, hg int) int {
		for i, s := range list {
			if s.HostgroupID == hg && s.Hostname == host && s.Port == port {
				return i
			}
		}
		return -1
	}
	out := append([]config.MySQLServer(nil), servers...)
	var moves []move
	for _, p := range pairs {
		w, r := find(out, p.WriterHostgroup), find(out, p.ReaderHostgroup)
		if w < 0 && r < 0 {
			continue
		}
		switch {
		case !readOnly && w < 0:
			twin := out[r]
			twin.HostgroupID = p.WriterHostgroup
			out = append(out, twin)
			moves = append(moves, move{add: true, hg: p.WriterHostgroup})
			if !writerIsAlsoReader {
				out = append(out[:r], out[r+1:]...)
				moves = append(moves, move{hg: p.ReaderHostgroup})
			}
		case readOnly && w >= 0:
			if r < 0 {
				twin := out[w]
				twin.HostgroupID = p.ReaderHostgroup
				out = append(out, twin)
				moves = append(moves, move{add: true, hg: p.ReaderHostgroup})
			}
			w = find(out, p.WriterHostgroup)
			out = append(out[:w], out[w+1:]...)
			moves = append(moves, move{hg: p.WriterHostgroup, demoted: true})
		}
	}
	return out, moves
}

// ReadOnly applies a monitor read_only result (false: it could not be
// applied, check again): servers move between the
// writer and reader hostgroups of mysql_replication_hostgroups, the data
// path gets the new runtime at once, a demoted writer's connections are
// cut, and the runtime mysql_servers checksum and epoch change (its
// version does not, as in ProxySQL: the monitor is not a LOAD).
func (a *Admin) ReadOnly(host string, port int, readOnly bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cur == nil || len(a.cur.MySQLReplicationHostgroups) == 0 || a.rt == nil {
		return true
	}
	writerIsAlsoReader := true
	if s := a.rt.Load(); s != nil {
		writerIsAlsoReader = s.Vars.Monitor.WriterIsAlsoReader
	}
	servers, moves := replicationAction(a.cur.MySQLServers, a.cur.MySQLReplicationHostgroups, host, port, readOnly, writerIsAlsoReader)
	if len(moves) == 0 {
		return true
	}
	// The demoted writer's pool entries, found before the new configuration
	// removes them, so that their connections can be cut afterwards.
	var cut []*backend.Server
	for _, m := range moves {
		if m.demoted && a.pool != nil {
			if s := a.pool.Lookup(m.hg, host, port); s != nil {
				cut = append(cut, s)
			}
		}
	}
	next := a.next()
	next.MySQLServers = servers
	if err := a.applyMySQL(next); err != nil {
		a.log.Error("monitor: read_only change could not be applied; runtime unchanged, the next check retries", "server", fmt.Sprintf("%s:%d", host, port), "read_only", readOnly, "err", err)
		return false
	}
	for _, s := range cut {
		s.Cut()
	}
	var desc []string
	for _, m := range moves {
		verb := "removed from"
		if m.add {
			verb = "added to"
		}
		desc = append(desc, fmt.Sprintf("%s hostgroup %d", verb, m.hg))
	}
	a.topologyChanges++
	a.touch(cluster.MySQLServers, a.runtimeServersChecksum())
	ro := 0
	if readOnly {
		ro = 1
	}
	a.log.Warn(fmt.Sprintf("monitor: server %s:%d has read_only=%d: %s", host, port, ro, strings.Join(desc, ", ")))
	a.record(context.Background(), fmt.Sprintf("monitor: read_only=%d on %s:%d", ro, host, port), cluster.MySQLServers)
	return true
}

// touch records a new checksum for a module without a new version (a
// runtime change that is not a LOAD): epoch now.
func (a *Admin) touch(name string, sum uint64) {
	a.csMu.Lock()
	defer a.csMu.Unlock()
	v := a.checksums[name]
	if s := cluster.Format(sum); s != v.Checksum {
		v.Checksum = s
		v.Epoch = nextEpoch(v.Epoch)
		a.checksums[name] = v
	}
}
