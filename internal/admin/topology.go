package admin

import (
	"context"
	"fmt"
	"strings"

	"sqlgate/internal/backend"
	"sqlgate/internal/cluster"
	"sqlgate/internal/config"
)

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
	servers, moves := config.ReplicationMoves(a.cur.MySQLServers, a.cur.MySQLReplicationHostgroups, host, port, readOnly, writerIsAlsoReader)
	if len(moves) == 0 {
		return true
	}
	// The demoted writer's pool entries, found before the new configuration
	// removes them, so that their connections can be cut afterwards.
	var cut []*backend.Server
	for _, m := range moves {
		if m.Demoted && a.pool != nil {
			if s := a.pool.Lookup(m.Hostgroup, host, port); s != nil {
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
		if m.Add {
			verb = "added to"
		}
		desc = append(desc, fmt.Sprintf("%s hostgroup %d", verb, m.Hostgroup))
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
