package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"sqlgate/internal/admin/codec"
	"sqlgate/internal/admin/store"
	"sqlgate/internal/cluster"
)

// The configuration history answers "who changed this, and how do I put
// it back?". Every change of a module's runtime content is a revision in
// disk.sqlgate_config_history (proxysql.db, so it survives restarts):
// when, which module (by its cluster checksum name), the version, epoch
// and checksum it got, who made it (an admin user and client address, a
// peer a pull came from, the monitor, the boot) and the whole content as
// peers fetch it. SQLGATE CONFIG DIFF compares two revisions of a module;
// SQLGATE CONFIG RESTORE loads one back, as a LOAD that then propagates to
// the cluster like any other.
//
// A LOAD that changes nothing (the same checksum) is not a revision.

// historyLimit bounds the revisions kept: older ones are deleted.
const historyLimit = 1000

// historyModules are the modules a revision may be of, in the order they
// are recorded.
var historyModules = []string{cluster.MySQLQueryRules, cluster.MySQLUsers, cluster.MySQLServersV2, cluster.MySQLServers,
	cluster.MySQLVariables, cluster.AdminVariables, cluster.ProxySQLServers}

// moduleContent is module name's runtime content as a peer fetches it,
// with the queries of cluster.ModuleQueries.
func (a *Admin) moduleContent(ctx context.Context, name string) ([]cluster.Result, error) {
	var out []cluster.Result
	for _, q := range cluster.ModuleQueries(name) {
		upper := strings.ToUpper(strings.Join(strings.Fields(q), " "))
		var r *store.Result
		var err error
		if strings.HasPrefix(upper, "PROXY_SELECT ") {
			r, err = a.proxySelect(upper)
		} else {
			if err = a.refresh(ctx, upper, false); err == nil {
				r, err = a.st.Query(ctx, q)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s for the history: %w", name, err)
		}
		out = append(out, cluster.Result{Cols: r.Cols, Rows: r.Rows})
	}
	return out, nil
}

// record adds a revision for each of names whose checksum changed since
// its last revision. The history observes: a failure to record is logged,
// and the change it describes stands.
func (a *Admin) record(ctx context.Context, source string, names ...string) {
	for _, name := range names {
		a.csMu.Lock()
		v := a.checksums[name]
		a.csMu.Unlock()
		if v.Version == 0 || a.recorded[name] == v.Checksum {
			continue
		}
		if err := a.insertRevision(ctx, name, v, source); err != nil {
			a.log.Error("configuration history: cannot record a change", "module", name, "source", source, "err", err)
			continue
		}
		a.recorded[name] = v.Checksum
	}
}

func (a *Admin) insertRevision(ctx context.Context, name string, v cluster.Value, source string) error {
	content, err := a.moduleContent(ctx, name)
	if err != nil {
		return err
	}
	js, err := json.Marshal(content)
	if err != nil {
		return err
	}
	return a.st.AddRevision(ctx, store.Revision{Module: name, Version: v.Version, Epoch: v.Epoch, Checksum: v.Checksum,
		Source: source, Content: js}, historyLimit)
}

// loadRecorded reads each module's last recorded checksum at boot, so a
// restart with the same configuration adds no revision.
func (a *Admin) loadRecorded(ctx context.Context) {
	var err error
	if a.recorded, err = a.st.LastRevisions(ctx); err != nil {
		a.log.Error("configuration history: cannot read it", "err", err)
		a.recorded = map[string]string{}
	}
}

// revision reads one revision's module and content.
func (a *Admin) revision(ctx context.Context, rev int64) (string, []cluster.Result, error) {
	r, err := a.st.Revision(ctx, rev)
	if err != nil {
		return "", nil, fmt.Errorf("revision %d is not in sqlgate_config_history (SELECT revision, module, source FROM sqlgate_config_history lists them; the oldest are dropped after %d)", rev, historyLimit)
	}
	name := r.Module
	var content []cluster.Result
	if err := json.Unmarshal(r.Content, &content); err != nil {
		return "", nil, fmt.Errorf("revision %d: content unreadable: %w", rev, err)
	}
	return name, content, nil
}

// configDiff answers SQLGATE CONFIG DIFF <from> <to>: the rows of module
// content that differ between two revisions of one module.
func (a *Admin) configDiff(ctx context.Context, from, to int64) (*store.Result, error) {
	m1, c1, err := a.revision(ctx, from)
	if err != nil {
		return nil, err
	}
	m2, c2, err := a.revision(ctx, to)
	if err != nil {
		return nil, err
	}
	if m1 != m2 {
		return nil, fmt.Errorf("revision %d is of %s and revision %d of %s: compare two revisions of one module", from, m1, to, m2)
	}
	out := &store.Result{Cols: []string{"change", "table", "row", "column", "before", "after"}}
	for i, q := range cluster.ModuleQueries(m1) {
		var before, after cluster.Result
		if i < len(c1) {
			before = c1[i]
		}
		if i < len(c2) {
			after = c2[i]
		}
		cols := after.Cols
		if len(cols) == 0 {
			cols = before.Cols
		}
		for _, d := range codec.Diff(cols, before.Rows, after.Rows, cluster.KeyColumns(q)) {
			out.Rows = append(out.Rows, store.Row(d.Change, cluster.QueryTable(q), d.Key, d.Column, d.Before, d.After))
		}
	}
	return out, nil
}

// configRestore answers SQLGATE CONFIG RESTORE <revision>: the module's
// content of that revision is written to MEMORY and loaded to RUNTIME, a
// LOAD like any other (a new version and epoch, which peers then pull).
// MEMORY is restored from RUNTIME if the load fails.
func (a *Admin) configRestore(ctx context.Context, rev int64, who string) error {
	name, content, err := a.revision(ctx, rev)
	if err != nil {
		return err
	}
	if name == cluster.MySQLServers {
		return fmt.Errorf("revision %d is of the runtime mysql_servers, which the monitor moves; restore a revision of mysql_servers_v2, the configured servers", rev)
	}
	m := moduleOf(name)
	if m == nil {
		return fmt.Errorf("revision %d is of %s, which cannot be restored", rev, name)
	}
	p := &cluster.Pull{Module: name, Results: content}
	if err := a.st.Tx(ctx, func() error { return a.writePulled(ctx, p) }); err != nil {
		return fmt.Errorf("restoring revision %d into MEMORY: %w", rev, err)
	}
	if err := a.loadOrRevert(ctx, m, "configuration history: restoring memory from runtime after a failed restore"); err != nil {
		return fmt.Errorf("LOAD %s TO RUNTIME of revision %d: %w; the running configuration is unchanged", m.name, rev, err)
	}
	a.log.Info(fmt.Sprintf("configuration history: %s restored to revision %d", name, rev), "by", who)
	a.record(ctx, fmt.Sprintf("restore of revision %d by %s", rev, who), moduleChecksums(m)...)
	return nil
}
