package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

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
	return a.st.Tx(ctx, func() error {
		if _, err := a.st.Conn.ExecContext(ctx, "INSERT INTO disk.sqlgate_config_history (time, module, version, epoch, checksum, source, content) VALUES (?, ?, ?, ?, ?, ?, ?)",
			time.Now().Unix(), name, v.Version, v.Epoch, v.Checksum, source, string(js)); err != nil {
			return err
		}
		_, err := a.st.Conn.ExecContext(ctx, "DELETE FROM disk.sqlgate_config_history WHERE revision <= (SELECT MAX(revision) FROM disk.sqlgate_config_history) - ?", historyLimit)
		return err
	})
}

// loadRecorded reads each module's last recorded checksum at boot, so a
// restart with the same configuration adds no revision.
func (a *Admin) loadRecorded(ctx context.Context) {
	a.recorded = map[string]string{}
	r, err := a.st.Query(ctx, "SELECT module, checksum FROM disk.sqlgate_config_history WHERE revision IN (SELECT MAX(revision) FROM disk.sqlgate_config_history GROUP BY module)")
	if err != nil {
		a.log.Error("configuration history: cannot read it", "err", err)
		return
	}
	for _, row := range r.Rows {
		a.recorded[store.Deref(row[0])] = store.Deref(row[1])
	}
}

// revision reads one revision's module and content.
func (a *Admin) revision(ctx context.Context, rev int64) (string, []cluster.Result, error) {
	var name, js string
	err := a.st.Conn.QueryRowContext(ctx, "SELECT module, content FROM disk.sqlgate_config_history WHERE revision = ?", rev).Scan(&name, &js)
	if err != nil {
		return "", nil, fmt.Errorf("revision %d is not in sqlgate_config_history (SELECT revision, module, source FROM sqlgate_config_history lists them; the oldest are dropped after %d)", rev, historyLimit)
	}
	var content []cluster.Result
	if err := json.Unmarshal([]byte(js), &content); err != nil {
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
		for _, d := range diffResults(before, after, keyColumns(q)) {
			out.Rows = append(out.Rows, store.Row(d.change, queryTable(q), d.key, d.column, d.before, d.after))
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
	if err := m.toRuntime(a, ctx); err != nil {
		if rerr := m.toMemory(a, ctx); rerr != nil {
			a.log.Error("configuration history: restoring memory from runtime after a failed restore", "module", m.name, "err", rerr)
		}
		return fmt.Errorf("LOAD %s TO RUNTIME of revision %d: %w; the running configuration is unchanged", m.name, rev, err)
	}
	a.log.Info(fmt.Sprintf("configuration history: %s restored to revision %d", name, rev), "by", who)
	a.record(ctx, fmt.Sprintf("restore of revision %d by %s", rev, who), moduleChecksums(m)...)
	return nil
}

// diffRow is one difference between two resultsets: a row added (+),
// removed (-), or one column of a row changed (~).
type diffRow struct {
	change, key, column, before, after string
}

// diffResults compares two resultsets of the same query. Rows are matched
// by their first keyCols columns; a key that is not unique on either side
// is compared as whole rows.
func diffResults(before, after cluster.Result, keyCols int) []diffRow {
	cols := after.Cols
	if len(cols) == 0 {
		cols = before.Cols
	}
	keyCols = min(keyCols, len(cols))
	render := func(row []*string) string {
		var b strings.Builder
		for i, v := range row {
			if i > 0 {
				b.WriteString(", ")
			}
			if i < len(cols) {
				b.WriteString(cols[i] + "=")
			}
			if v == nil {
				b.WriteString("NULL")
			} else {
				b.WriteString(strconv.Quote(*v))
			}
		}
		return b.String()
	}
	index := func(rows [][]*string) (map[string][]*string, []string, bool) {
		m := map[string][]*string{}
		var order []string
		unique := true
		for _, row := range rows {
			k := render(row[:min(keyCols, len(row))])
			if _, dup := m[k]; dup {
				unique = false
			}
			m[k] = row
			order = append(order, k)
		}
		return m, order, unique
	}
	b, bOrder, bu := index(before.Rows)
	a, aOrder, au := index(after.Rows)
	if !bu || !au || keyCols == 0 {
		// Whole rows: what was there and is not, what is there and was not.
		keyCols = len(cols)
		b, bOrder, _ = index(before.Rows)
		a, aOrder, _ = index(after.Rows)
	}
	var out []diffRow
	for _, k := range bOrder {
		if _, ok := a[k]; !ok {
			out = append(out, diffRow{change: "-", key: k, before: render(b[k])})
		}
	}
	for _, k := range aOrder {
		old, ok := b[k]
		if !ok {
			out = append(out, diffRow{change: "+", key: k, after: render(a[k])})
			continue
		}
		for i := keyCols; i < len(cols) && i < len(old) && i < len(a[k]); i++ {
			if v1, v2 := old[i], a[k][i]; (v1 == nil) != (v2 == nil) || v1 != nil && *v1 != *v2 {
				out = append(out, diffRow{change: "~", key: k, column: cols[i], before: text(v1), after: text(v2)})
			}
		}
	}
	return out
}

func text(v *string) string {
	if v == nil {
		return "NULL"
	}
	return *v
}

// keyColumns is how many leading columns of a fetch query identify a row.
func keyColumns(q string) int {
	switch t := queryTable(q); {
	case strings.HasSuffix(t, "mysql_servers") || strings.HasSuffix(t, "mysql_servers_v2"):
		return 3 // hostgroup_id, hostname, port
	case strings.HasSuffix(t, "fast_routing"), strings.HasSuffix(t, "ssl_params"):
		return 3 // username, schemaname, flagIN / hostname, port, username
	case strings.HasSuffix(t, "proxysql_servers"):
		return 2 // hostname, port
	case strings.HasSuffix(t, "mysql_users"):
		return 0 // a user may have a frontend and a backend row: whole rows
	}
	return 1 // rule_id, variable_name, writer_hostgroup, hostgroup_id
}

// queryTable is the table a fetch query reads.
func queryTable(q string) string {
	f := strings.Fields(q)
	for i := range f {
		if strings.EqualFold(f[i], "FROM") && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}
