// Package admin is sqlgate's ProxySQL-compatible admin interface: the
// MEMORY, DISK and RUNTIME layers of the configuration, the LOAD/SAVE
// commands that move it between them, the publication of runtime
// snapshots to the data path, the checksums the cluster compares, and the
// cluster's pulls applied.
//
// Its parts are packages of their own: store (the SQLite database),
// server (the admin-mysql_ifaces listener and the statement table), codec
// (rows to and from config structs and files), statsdb (the views of live
// state) and web (the dashboard). The admin goroutines own the store; the
// data path only sees the immutable runtime snapshots the admin publishes.
package admin

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sqlgate/internal/admin/codec"
	"sqlgate/internal/admin/server"
	"sqlgate/internal/admin/statsdb"
	"sqlgate/internal/admin/store"
	"sqlgate/internal/admin/web"
	"sqlgate/internal/backend"
	"sqlgate/internal/cluster"
	"sqlgate/internal/config"
	"sqlgate/internal/runtime"
)

// Options configure an Admin.
type Options struct {
	Datadir    string
	ConfigPath string         // the -c file; "" if none
	Config     *config.Config // its parsed content, nil if none
	Initial    bool           // --initial: rebuild proxysql.db from the config file
	Reload     bool           // --reload: merge the config file into proxysql.db
	Version    string         // reported as @@version and admin-version
	Runtime    *runtime.Store
	Pool       *backend.Pool
	Stats      statsdb.StatsSource // the data path's live numbers; may be nil
	Control    Controller          // the data path's switches; may be nil
	// MonitorLogs fills the monitor.mysql_server_*_log tables; nil leaves
	// them empty.
	MonitorLogs statsdb.MonitorLogs
	// ProxySQLBootVersions starts every module at version 1 as ProxySQL
	// does, which reproduces its version-1 trap (see bootEpochs).
	ProxySQLBootVersions bool
	TLS                  *tls.Config // offered to admin clients when not nil
	Log                  *slog.Logger
}

// Controller is what admin commands switch in the data path.
// frontend.Server implements it.
type Controller interface {
	// Apply readies the data path for a snapshot before it is published
	// (opens the events log, sizes the query cache); an error stops the
	// LOAD with nothing published.
	Apply(*runtime.Snapshot) error
	Pause() error         // PROXYSQL PAUSE
	Resume() error        // PROXYSQL RESUME
	FlushQueryCache() int // PROXYSQL FLUSH QUERY CACHE; returns the entries dropped
	FlushLogs() error     // PROXYSQL FLUSH LOGS: reopen the events log
}

// Admin is the admin interface of one sqlgate process.
type Admin struct {
	// mu serialises admin SQL, layer moves and runtime publication, like
	// ProxySQL's global admin mutex.
	mu sync.Mutex
	st *store.Store
	// tables fills the stats and monitor schemas, stats_history and
	// /metrics from live state.
	tables *statsdb.Tables

	log     *slog.Logger
	datadir string
	cnfPath string
	version string
	rt      *runtime.Store
	control Controller

	topologyChanges int64 // read_only moves applied (stats_mysql_global)
	pool            *backend.Pool
	inBoot          bool
	started         time.Time
	uuid            string
	shutdown        chan struct{} // closed by PROXYSQL SHUTDOWN / KILL
	shutOnce        sync.Once

	// cur is the configuration in force; rtRows are the admin-table rows
	// it was loaded from, for the runtime_* tables.
	cur       *config.Config
	rtRows    map[string]*store.Result
	vars      atomic.Pointer[codec.AdminVars]
	mysqlVars map[string]string // canonical runtime mysql-* values (without prefix)
	// served are the resultsets peers fetch with PROXY_SELECT, exactly as
	// the checksums were computed from them.
	served map[string]*store.Result

	csMu      sync.Mutex // guards checksums: the cluster reads them without mu
	checksums map[string]cluster.Value
	adopt     map[string]cluster.Value // a pull's expected checksum and epoch

	cluster *cluster.Cluster
	// proxysqlBoot: -proxysql-boot-versions, ProxySQL's boot versions and
	// no version-one rule (to reproduce ProxySQL's behaviour).
	proxysqlBoot bool

	warned map[string]bool // runtime warnings already logged

	// recorded is each module's checksum at its last history revision.
	recorded map[string]string

	srv *server.Server // the admin-mysql_ifaces listeners and their sessions
	web *web.Server    // the dashboard (admin-web_enabled, admin-web_port)
}

// Open creates the admin store and brings the configuration up as ProxySQL
// does at boot: defaults, then the disk layer,
// then the config file when there was no database or --initial/--reload
// say so, then every module is loaded to runtime at version 1.
func Open(o Options) (*Admin, error) {
	ctx := context.Background()
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	dbPath := filepath.Join(o.Datadir, "proxysql.db")
	existed := store.FileExists(dbPath)
	if fi, err := os.Stat(dbPath); err == nil && fi.Size() == 0 {
		// An empty file holds no configuration (a failed copy, a touch):
		// counting it as a saved one would start the proxy with nothing
		// and ignore the config file.
		o.Log.Warn("the configuration database is empty: it is treated as absent and the config file is used", "database", dbPath)
		existed = false
	}
	if o.Initial && existed {
		if err := os.Rename(dbPath, dbPath+".bak"); err != nil {
			return nil, fmt.Errorf("--initial: %w", err)
		}
		os.Remove(dbPath + "-journal")
		o.Log.Info("--initial: previous configuration database moved aside", "file", dbPath+".bak")
		existed = false
	}
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	a := &Admin{
		st: st, log: o.Log, datadir: o.Datadir, cnfPath: o.ConfigPath, version: o.Version,
		rt: o.Runtime, pool: o.Pool, control: o.Control, started: time.Now(), uuid: newUUID(),
		shutdown: make(chan struct{}), cur: &config.Config{}, rtRows: map[string]*store.Result{},
		mysqlVars: map[string]string{}, checksums: map[string]cluster.Value{}, served: map[string]*store.Result{}, warned: map[string]bool{},
		proxysqlBoot: o.ProxySQLBootVersions,
	}
	a.cluster = cluster.New(a, o.Log.With("module", "cluster"))
	a.srv = server.New(adminSessions{a}, o.TLS, o.Log)
	a.web = web.New(webView{a}, o.TLS, o.Log)
	a.tables = statsdb.New(st, statsdb.Sources{Stats: o.Stats, Pool: o.Pool, Runtime: o.Runtime, Cluster: a.cluster,
		Monitor: o.MonitorLogs, Admin: statsView{a}, Started: a.started, Log: o.Log})
	if err := a.boot(ctx, o, existed); err != nil {
		a.cluster.Close()
		a.tables.Close()
		a.web.Close()
		st.Close()
		return nil, err
	}
	return a, nil
}

func (a *Admin) boot(ctx context.Context, o Options, existed bool) error {
	// 1. Compiled-in defaults, without overwriting saved values.
	for _, schema := range []string{"disk", "main"} {
		if err := a.insertVarDefaults(ctx, schema); err != nil {
			return err
		}
	}
	// 2. Disk into memory.
	for _, m := range modules {
		if err := a.copyLayer(ctx, m, "disk", "main", true); err != nil {
			return fmt.Errorf("%s: %w", a.st.Path, err)
		}
	}
	// 3. The config file, when there is no saved database or we are told to.
	fromCnf := o.Config != nil && (o.Initial || o.Reload || !existed)
	if fromCnf {
		for _, m := range modules {
			if !m.fromConfig {
				continue
			}
			if _, err := codec.Import(ctx, a.st, o.Config, m.name, a.log.Warn); err != nil {
				return err
			}
			if err := a.copyLayer(ctx, m, "main", "disk", true); err != nil {
				return fmt.Errorf("%s: %w", a.st.Path, err)
			}
		}
	} else if o.Config != nil {
		a.log.Info("configuration database found: the config file's sections are ignored (use --reload to merge them, --initial to start over)",
			"database", a.st.Path, "config", o.ConfigPath)
	}
	// 4. Everything to runtime, version 1, then each module's real age.
	a.inBoot = true
	defer func() { a.inBoot = false }()
	if err := a.loadAllToRuntime(ctx); err != nil {
		if !fromCnf {
			return fmt.Errorf("%s: %w (start with --initial to rebuild the database from %s; the old one is kept as proxysql.db.bak)",
				a.st.Path, err, o.ConfigPath)
		}
		return fmt.Errorf("%s: %w", o.ConfigPath, err)
	}
	a.bootEpochs(ctx, o, fromCnf)
	a.loadRecorded(ctx)
	source := "boot from " + a.st.Path
	if fromCnf {
		source = "boot from " + o.ConfigPath
	}
	a.record(ctx, source, historyModules...)
	return nil
}

// Close stops the peer monitors and the listeners, waits for admin
// sessions and closes the store.
func (a *Admin) Close() {
	a.cluster.Close() // before mu: a pull in progress needs it
	a.tables.Close()
	a.web.Close()
	a.srv.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.st.Close()
}

// Done is closed when an admin runs PROXYSQL SHUTDOWN or PROXYSQL KILL.
func (a *Admin) Done() <-chan struct{} { return a.shutdown }

// Vars returns the admin variables in force.
func (a *Admin) Vars() *codec.AdminVars { return a.vars.Load() }

func (a *Admin) insertVarDefaults(ctx context.Context, schema string) error {
	var names []string
	vals := map[string]string{}
	for k, v := range runtime.MySQLVarDefaults() {
		names = append(names, "mysql-"+k)
		vals["mysql-"+k] = v
	}
	for k, v := range codec.AdminVarDefaults {
		if k == "version" {
			v = a.version
		}
		names = append(names, "admin-"+k)
		vals["admin-"+k] = v
	}
	sort.Strings(names)
	return a.st.Tx(ctx, func() error {
		for _, n := range names {
			if _, err := a.st.Conn.ExecContext(ctx, "INSERT OR IGNORE INTO "+schema+".global_variables VALUES (?, ?)", n, vals[n]); err != nil {
				return err
			}
		}
		// admin-version always shows the running binary.
		_, err := a.st.Conn.ExecContext(ctx, "UPDATE "+schema+".global_variables SET variable_value=? WHERE variable_name='admin-version'", a.version)
		return err
	})
}

// module is a LOAD/SAVE unit: a set of tables (or a variable prefix).
type module struct {
	name       string
	tables     []string
	prefix     string // "mysql" or "admin" for the variable modules
	fromConfig bool
	toRuntime  func(a *Admin, ctx context.Context) error
	toMemory   func(a *Admin, ctx context.Context) error
}

var serverTables = []string{"mysql_servers", "mysql_replication_hostgroups", "mysql_group_replication_hostgroups",
	"mysql_galera_hostgroups", "mysql_aws_aurora_hostgroups", "mysql_hostgroup_attributes", "mysql_servers_ssl_params"}

// modules is filled in init: its functions refer back to it.
var modules []*module

func init() {
	modules = []*module{
		{name: "ADMIN VARIABLES", prefix: "admin", fromConfig: true, toRuntime: (*Admin).loadAdminVars, toMemory: saveVars("admin")},
		{name: "MYSQL VARIABLES", prefix: "mysql", fromConfig: true, toRuntime: (*Admin).loadMySQLVars, toMemory: saveVars("mysql")},
		{name: "MYSQL USERS", tables: []string{"mysql_users"}, fromConfig: true, toRuntime: (*Admin).loadUsers, toMemory: saveTables("mysql_users")},
		{name: "MYSQL QUERY RULES", tables: []string{"mysql_query_rules", "mysql_query_rules_fast_routing"}, fromConfig: true,
			toRuntime: (*Admin).loadRules, toMemory: saveTables("mysql_query_rules", "mysql_query_rules_fast_routing")},
		{name: "MYSQL SERVERS", tables: serverTables, fromConfig: true, toRuntime: (*Admin).loadServers, toMemory: saveTables(serverTables...)},
		{name: "PROXYSQL SERVERS", tables: []string{"proxysql_servers"}, fromConfig: true, toRuntime: (*Admin).loadProxySQLServers, toMemory: saveTables("proxysql_servers")},
		{name: "SCHEDULER", tables: []string{"scheduler"}, toRuntime: loadUnimplemented("the scheduler", "scheduler"), toMemory: saveTables("scheduler")},
		{name: "RESTAPI", tables: []string{"restapi_routes"}, toRuntime: loadUnimplemented("REST API routes", "restapi_routes"), toMemory: saveTables("restapi_routes")},
		{name: "MYSQL FIREWALL", tables: []string{"mysql_firewall_whitelist_users", "mysql_firewall_whitelist_rules", "mysql_firewall_whitelist_sqli_fingerprints"},
			toRuntime: loadUnimplemented("the MySQL firewall", "mysql_firewall_whitelist_users", "mysql_firewall_whitelist_rules", "mysql_firewall_whitelist_sqli_fingerprints"),
			toMemory:  saveTables("mysql_firewall_whitelist_users", "mysql_firewall_whitelist_rules", "mysql_firewall_whitelist_sqli_fingerprints")},
	}
}

func moduleByName(name string) *module {
	for _, m := range modules {
		if m.name == name {
			return m
		}
	}
	return nil
}

// copyLayer copies module m from schema src to schema dst ("main" or
// "disk") in one transaction. Table modules replace the destination
// (merge=false) or upsert into it (merge=true); variable modules always
// upsert, as ProxySQL does.
func (a *Admin) copyLayer(ctx context.Context, m *module, src, dst string, merge bool) error {
	return a.st.Tx(ctx, func() error {
		if m.prefix != "" {
			q := "INSERT OR REPLACE INTO " + dst + ".global_variables SELECT * FROM " + src + ".global_variables WHERE variable_name LIKE '" + m.prefix + "-%'"
			_, err := a.st.Conn.ExecContext(ctx, q)
			return err
		}
		for _, t := range m.tables {
			if !merge {
				if _, err := a.st.Conn.ExecContext(ctx, "DELETE FROM "+dst+"."+t); err != nil {
					return err
				}
			}
			if _, err := a.st.Conn.ExecContext(ctx, "INSERT OR REPLACE INTO "+dst+"."+t+" SELECT * FROM "+src+"."+t); err != nil {
				return fmt.Errorf("%s.%s: %w", dst, t, err)
			}
		}
		return nil
	})
}

// loadAllToRuntime is the boot load: every module, validated together,
// published once, each checksum at version 1.
func (a *Admin) loadAllToRuntime(ctx context.Context) error {
	for _, m := range modules {
		if err := m.toRuntime(a, ctx); err != nil {
			return err
		}
	}
	return nil
}

// applyMySQL validates cfg as a whole and publishes it to the data path.
// On error nothing changes.
func (a *Admin) applyMySQL(cfg *config.Config) error {
	snap, warnings, err := runtime.Build(cfg)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		// Each LOAD rebuilds the whole runtime: say each thing once.
		if !a.warned[w] {
			a.warned[w] = true
			a.log.Warn("runtime: " + w)
		}
	}
	if a.control != nil {
		if err := a.control.Apply(snap); err != nil {
			return err
		}
	}
	if a.rt != nil {
		a.rt.Publish(snap)
	}
	if a.pool != nil {
		a.pool.Configure(snap.Servers, snap.PoolOptions())
	}
	a.cur = cfg
	return nil
}

// next returns a shallow copy of the running configuration for a module
// load to modify.
func (a *Admin) next() *config.Config {
	c := *a.cur
	return &c
}

// bump records a new checksum for a module: version+1, epoch now,
// or the peer's epoch when a pull produced the checksum the peer announced
// (epoch preservation: what stops nodes from pulling back and forth).
func (a *Admin) bump(name string, sum uint64) {
	a.csMu.Lock()
	defer a.csMu.Unlock()
	v := a.checksums[name]
	v.Version++
	v.Epoch = nextEpoch(v.Epoch)
	v.Checksum = cluster.Format(sum)
	if exp, ok := a.adopt[name]; ok {
		if exp.Checksum == v.Checksum {
			v.Epoch = exp.Epoch
		} else {
			a.log.Warn("cluster: the pulled configuration does not reproduce the peer's checksum here; it gets a new epoch", "module", name,
				"peer_checksum", exp.Checksum, "local_checksum", v.Checksum)
		}
	}
	a.checksums[name] = v
	if !a.inBoot && a.adopt == nil {
		a.log.Info(fmt.Sprintf("Computed checksum for '%s' was '%s', with epoch '%d'", cluster.LoadCommand(name), v.Checksum, v.Epoch))
	}
}

// nextEpoch is the epoch of a configuration created now: the current Unix
// second, but always after the configuration it replaces. Epochs have a
// one-second resolution; without this, two LOADs within a second leave
// nodes that copied the first one at the same epoch as the second, and
// nothing decides between them (ProxySQL's "epoch times are EQUAL").
func nextEpoch(prev int64) int64 {
	return max(time.Now().Unix(), prev+1)
}

func (a *Admin) loadAdminVars(ctx context.Context) error {
	raw, _, err := a.varsFromMemory(ctx, "admin")
	if err != nil {
		return err
	}
	v, err := codec.ParseAdminVars(raw, a.version)
	if err != nil {
		return err
	}
	// Bind first, publish after: a LOAD whose admin-mysql_ifaces,
	// admin-restapi_port or admin-web_port cannot be bound fails and
	// changes nothing, so runtime never shows an address that is not in
	// force. Each listener moved is moved back if a later one fails.
	old := a.vars.Load()
	var undo []func()
	fail := func(err error) error {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return err
	}
	if old != nil && old.MySQLIfaces != v.MySQLIfaces {
		if err := a.srv.Rebind(v.MySQLIfaces, old.MySQLIfaces); err != nil {
			return fmt.Errorf("global_variables row admin-mysql_ifaces: %w; the admin interface keeps listening on %s", err, old.MySQLIfaces)
		}
		undo = append(undo, func() {
			if err := a.srv.Rebind(old.MySQLIfaces, v.MySQLIfaces); err != nil {
				a.log.Error("admin-mysql_ifaces: cannot go back to the previous listeners", "ifaces", old.MySQLIfaces, "err", err)
			}
		})
	}
	var prev map[string]string // the variables in force; none at boot
	if old != nil {
		prev = old.Raw
	}
	if err := a.tables.ServeMetrics(v.Raw["restapi_enabled"] == "true", atoiOr0(v.Raw["restapi_port"])); err != nil {
		return fail(err)
	}
	undo = append(undo, func() {
		if err := a.tables.ServeMetrics(prev["restapi_enabled"] == "true", atoiOr0(prev["restapi_port"])); err != nil {
			a.log.Error("admin-restapi_port: cannot go back to the previous listener", "port", prev["restapi_port"], "err", err)
		}
	})
	if err := a.serveWeb(v.Raw); err != nil {
		return fail(err)
	}
	a.vars.Store(v)
	a.bump(cluster.AdminVariables, cluster.VariablesChecksum("admin", v.Raw))
	return nil
}

func (a *Admin) loadMySQLVars(ctx context.Context) error {
	raw, order, err := a.varsFromMemory(ctx, "mysql")
	if err != nil {
		return err
	}
	mv, _, err := runtime.ParseMySQLVarsInOrder(raw, order)
	if err != nil {
		return fmt.Errorf("global_variables row %s", err)
	}
	next := a.next()
	next.MySQLVariables = raw
	if old := a.cur.MySQLVariables; old != nil && old["interfaces"] != "" && old["interfaces"] != raw["interfaces"] {
		a.log.Warn("mysql-interfaces changed: it takes effect after a restart (SAVE MYSQL VARIABLES TO DISK first)")
	}
	if err := a.applyMySQL(next); err != nil {
		return err
	}
	a.mysqlVars = mv.Raw
	a.bump(cluster.MySQLVariables, cluster.VariablesChecksum("mysql", mv.Raw))
	return nil
}

// varsFromMemory reads the memory layer's variables with prefix, and their
// names (without the prefix) in row order: the order ProxySQL applies
// them in, which decides mysql-server_capabilities when mysql-have_ssl or
// mysql-have_compress was set after it (see runtime.ParseMySQLVarsInOrder).
func (a *Admin) varsFromMemory(ctx context.Context, prefix string) (map[string]string, []string, error) {
	r, err := a.st.Query(ctx, "SELECT variable_name, variable_value FROM main.global_variables WHERE variable_name LIKE ? ORDER BY rowid", prefix+"-%")
	if err != nil {
		return nil, nil, err
	}
	raw := map[string]string{}
	order := make([]string, 0, len(r.Rows))
	for _, row := range r.Rows {
		name := store.Deref(row[0])
		canon, ok := codec.CanonicalVar(name)
		if !ok {
			return nil, nil, fmt.Errorf("global_variables row %s: unknown variable; delete the row", name)
		}
		k := strings.TrimPrefix(canon, prefix+"-")
		raw[k] = store.Deref(row[1])
		order = append(order, k)
	}
	return raw, order, nil
}

func (a *Admin) loadUsers(ctx context.Context) error {
	r, err := a.st.Query(ctx, "SELECT * FROM main.mysql_users ORDER BY username, backend")
	if err != nil {
		return err
	}
	users, err := codec.Users(r)
	if err != nil {
		return err
	}
	if err := a.checkUserHostgroups(ctx, users); err != nil {
		return err
	}
	next := a.next()
	next.MySQLUsers = users
	if err := a.applyMySQL(next); err != nil {
		return err
	}
	a.rtRows["mysql_users"] = codec.ActiveRows(r)
	// Peers rebuild the accounts from exactly these rows, so the checksum
	// is computed from them too.
	// A missing default schema is served as '', as ProxySQL serves it (the
	// checksum does not tell them apart).
	cols := strings.Replace(strings.Join(userCols, ", "), "default_schema", "COALESCE(default_schema, '') AS default_schema", 1)
	served, err := a.st.Query(ctx, "SELECT "+cols+" FROM main.mysql_users "+
		"WHERE active=1 AND default_hostgroup>=0 ORDER BY username, backend")
	if err != nil {
		return err
	}
	a.served["users"] = served
	front, back := cluster.AccountsFromRows(served.Rows)
	a.bump(cluster.MySQLUsers, cluster.UsersChecksum(front, back))
	return nil
}

// knownHostgroups are the hostgroups defined in runtime or memory: servers
// and replication hostgroups.
func (a *Admin) knownHostgroups(ctx context.Context) (map[int]bool, error) {
	hgs := map[int]bool{}
	for _, s := range a.cur.MySQLServers {
		hgs[s.HostgroupID] = true
	}
	for _, h := range a.cur.MySQLReplicationHostgroups {
		hgs[h.WriterHostgroup], hgs[h.ReaderHostgroup] = true, true
	}
	r, err := a.st.Query(ctx, "SELECT hostgroup_id FROM main.mysql_servers UNION SELECT writer_hostgroup FROM main.mysql_replication_hostgroups UNION SELECT reader_hostgroup FROM main.mysql_replication_hostgroups")
	if err != nil {
		return nil, err
	}
	for _, row := range r.Rows {
		var n int
		if _, err := fmt.Sscan(store.Deref(row[0]), &n); err == nil {
			hgs[n] = true
		}
	}
	return hgs, nil
}

// booting is true while the boot load runs: missing hostgroups are then
// logged instead of refused, so a proxy whose servers are added later
// still starts.
func (a *Admin) booting() bool { return a.inBoot }

func (a *Admin) checkUserHostgroups(ctx context.Context, users []config.MySQLUser) error {
	hgs, err := a.knownHostgroups(ctx)
	if err != nil {
		return err
	}
	for i, u := range users {
		if !u.Active || !u.Frontend || hgs[u.DefaultHostgroup] {
			continue
		}
		msg := fmt.Sprintf("mysql_users row %d (username=%s): column default_hostgroup: hostgroup %d has no servers in mysql_servers (runtime or memory) and is not a replication hostgroup; add servers and LOAD MYSQL SERVERS TO RUNTIME first",
			i+1, u.Username, u.DefaultHostgroup)
		if a.booting() {
			a.log.Warn("config: " + msg)
			continue
		}
		return errors.New(msg)
	}
	return nil
}

func (a *Admin) loadRules(ctx context.Context) error {
	r, err := a.st.Query(ctx, "SELECT * FROM main.mysql_query_rules ORDER BY rule_id")
	if err != nil {
		return err
	}
	rules, err := codec.Rules(r)
	if err != nil {
		return err
	}
	fr, err := a.st.Query(ctx, "SELECT "+strings.Join(fastRoutingCols, ", ")+" FROM main.mysql_query_rules_fast_routing ORDER BY username, schemaname, flagIN")
	if err != nil {
		return err
	}
	fast, err := codec.FastRouting(fr)
	if err != nil {
		return err
	}
	hgs, err := a.knownHostgroups(ctx)
	if err != nil {
		return err
	}
	for _, f := range fast {
		if !hgs[f.DestinationHostgroup] {
			msg := fmt.Sprintf("mysql_query_rules_fast_routing (username=%s, schemaname=%s, flagIN=%d): column destination_hostgroup: hostgroup %d has no servers in mysql_servers (runtime or memory)",
				f.Username, f.Schemaname, f.FlagIN, f.DestinationHostgroup)
			if !a.booting() {
				return errors.New(msg)
			}
			a.log.Warn("config: " + msg)
		}
	}
	for _, q := range rules {
		for _, ref := range []struct {
			col string
			hg  *int
		}{{"destination_hostgroup", q.DestinationHostgroup}, {"mirror_hostgroup", q.MirrorHostgroup}} {
			if q.Active && ref.hg != nil && !hgs[*ref.hg] {
				msg := fmt.Sprintf("mysql_query_rules rule_id=%d: column %s: hostgroup %d has no servers in mysql_servers (runtime or memory)", q.RuleID, ref.col, *ref.hg)
				if !a.booting() {
					return errors.New(msg)
				}
				a.log.Warn("config: " + msg)
			}
		}
	}
	next := a.next()
	next.MySQLQueryRules = rules
	next.MySQLQueryRulesFastRouting = fast
	if err := a.applyMySQL(next); err != nil {
		return err
	}
	a.rtRows["mysql_query_rules"] = codec.ActiveRows(r)
	a.rtRows["mysql_query_rules_fast_routing"] = fr
	sumA, err := a.st.Query(ctx, "SELECT "+strings.Join(ruleColumns, ", ")+" FROM main.mysql_query_rules WHERE active=1 ORDER BY rule_id")
	if err != nil {
		return err
	}
	a.served["rules"], a.served["fast"] = sumA, fr
	a.bump(cluster.MySQLQueryRules, cluster.RawChecksum(sumA.Rows)+cluster.RawChecksum(fr.Rows))
	return nil
}

// tableOrder is the primary-key order used when dumping or hashing tables.
var tableOrder = map[string]string{
	"mysql_servers":                      "hostgroup_id, hostname, port",
	"mysql_replication_hostgroups":       "writer_hostgroup",
	"mysql_group_replication_hostgroups": "writer_hostgroup",
	"mysql_galera_hostgroups":            "writer_hostgroup",
	"mysql_aws_aurora_hostgroups":        "writer_hostgroup",
	"mysql_hostgroup_attributes":         "hostgroup_id",
	"mysql_servers_ssl_params":           "hostname, port, username",
	"proxysql_servers":                   "hostname, port",
	"scheduler":                          "id",
	"restapi_routes":                     "id",
}

func (a *Admin) loadServers(ctx context.Context) error {
	rows := map[string]*store.Result{}
	for _, t := range serverTables {
		r, err := a.st.Query(ctx, "SELECT * FROM main."+t+" ORDER BY "+tableOrder[t])
		if err != nil {
			return err
		}
		rows[t] = r
	}
	for _, t := range []struct{ table, what string }{
		{"mysql_group_replication_hostgroups", "Group Replication hostgroups"},
		{"mysql_galera_hostgroups", "Galera hostgroups"},
		{"mysql_aws_aurora_hostgroups", "Aurora hostgroups"},
		{"mysql_hostgroup_attributes", "hostgroup attributes"},
	} {
		if len(rows[t.table].Rows) > 0 {
			return fmt.Errorf("%s: %s are not implemented by sqlgate; delete these rows", t.table, t.what)
		}
	}
	servers, err := codec.Servers(rows["mysql_servers"])
	if err != nil {
		return err
	}
	repl, err := codec.ReplicationHostgroups(rows["mysql_replication_hostgroups"])
	if err != nil {
		return err
	}
	sslParams, err := codec.ServersSSLParams(rows["mysql_servers_ssl_params"])
	if err != nil {
		return err
	}
	readers := map[int]int{}
	for _, h := range repl {
		if w, dup := readers[h.ReaderHostgroup]; dup {
			return fmt.Errorf("mysql_replication_hostgroups row (writer_hostgroup=%d): column reader_hostgroup: hostgroup %d is already the reader of writer %d", h.WriterHostgroup, h.ReaderHostgroup, w)
		}
		readers[h.ReaderHostgroup] = h.WriterHostgroup
	}
	next := a.next()
	next.MySQLServers = servers
	next.MySQLReplicationHostgroups = repl
	next.MySQLServersSSLParams = sslParams
	if err := a.applyMySQL(next); err != nil {
		return err
	}
	for t, r := range rows {
		a.rtRows[t] = r
	}
	// mysql_servers_v2: the configuration as loaded, SHUNNED shown as
	// ONLINE, OFFLINE_HARD left out.
	v2, err := a.st.Query(ctx, `SELECT hostgroup_id, hostname, port, gtid_port, CASE WHEN status="SHUNNED" THEN "ONLINE" ELSE status END AS status, weight, compression, max_connections, max_replication_lag, use_ssl, max_latency_ms, comment FROM main.mysql_servers WHERE status != "OFFLINE_HARD" ORDER BY hostgroup_id, hostname, port`)
	if err != nil {
		return err
	}
	a.served["v2"] = v2
	raws := []uint64{cluster.RawChecksum(v2.Rows)}
	for _, t := range serverTables[1:] {
		raws = append(raws, cluster.RawChecksum(rows[t].Rows))
	}
	a.bump(cluster.MySQLServersV2, cluster.Combine(raws...))
	a.bump(cluster.MySQLServers, a.runtimeServersChecksum())
	return nil
}

// sortedServers returns a copy of servers in primary-key order.
func sortedServers(in []config.MySQLServer) []config.MySQLServer {
	servers := append([]config.MySQLServer(nil), in...)
	sort.Slice(servers, func(i, j int) bool {
		x, y := servers[i], servers[j]
		if x.HostgroupID != y.HostgroupID {
			return x.HostgroupID < y.HostgroupID
		}
		if x.Hostname != y.Hostname {
			return x.Hostname < y.Hostname
		}
		return x.Port < y.Port
	})
	return servers
}

// runtimeServersChecksum hashes the runtime servers as ProxySQL's
// connection-pool table shows them to peers.
func (a *Admin) runtimeServersChecksum() uint64 {
	return cluster.RawChecksum(a.runtimeServersRows().Rows)
}

func (a *Admin) loadProxySQLServers(ctx context.Context) error {
	r, err := a.st.Query(ctx, "SELECT hostname, port, weight, comment FROM main.proxysql_servers ORDER BY hostname, port")
	if err != nil {
		return err
	}
	ps, err := codec.ProxySQLServers(r)
	if err != nil {
		return err
	}
	next := a.next()
	next.ProxySQLServers = ps
	a.cur = next
	a.rtRows["proxysql_servers"] = r
	a.bump(cluster.ProxySQLServers, cluster.RawChecksum(r.Rows))
	a.cluster.SetPeers(peersFrom(ps))
	return nil
}

// loadUnimplemented accepts an empty table and refuses rows with a clear
// error: sqlgate does not silently ignore configuration it cannot honour.
func loadUnimplemented(what string, tables ...string) func(*Admin, context.Context) error {
	return func(a *Admin, ctx context.Context) error {
		for _, table := range tables {
			r, err := a.st.Query(ctx, "SELECT * FROM main."+table+" WHERE active=1")
			if err != nil {
				return err
			}
			if len(r.Rows) > 0 {
				return fmt.Errorf("%s: %s is not implemented by sqlgate; set active=0 or delete these rows", table, what)
			}
		}
		return nil
	}
}

// saveTables writes the runtime rows of tables back into main (SAVE ...
// TO MEMORY).
func saveTables(tables ...string) func(*Admin, context.Context) error {
	return func(a *Admin, ctx context.Context) error {
		return a.st.Tx(ctx, func() error {
			for _, t := range tables {
				if t == "mysql_users" {
					// Runtime holds only active users: mark all inactive, then
					// write the runtime ones back active (as ProxySQL does).
					if _, err := a.st.Conn.ExecContext(ctx, "UPDATE main.mysql_users SET active=0"); err != nil {
						return err
					}
				} else if _, err := a.st.Conn.ExecContext(ctx, "DELETE FROM main."+t); err != nil {
					return err
				}
				if err := a.st.Insert(ctx, "main."+t, a.rtRows[t], "INSERT OR REPLACE"); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

func saveVars(prefix string) func(*Admin, context.Context) error {
	return func(a *Admin, ctx context.Context) error {
		vals := a.mysqlVars
		if prefix == "admin" {
			vals = a.vars.Load().Raw
		}
		return a.st.Tx(ctx, func() error {
			if _, err := a.st.Conn.ExecContext(ctx, "DELETE FROM main.global_variables WHERE variable_name LIKE '"+prefix+"-%'"); err != nil {
				return err
			}
			for k, v := range vals {
				if _, err := a.st.Conn.ExecContext(ctx, "INSERT OR REPLACE INTO main.global_variables VALUES (?, ?)", prefix+"-"+k, v); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "00000000-0000-4000-8000-000000000000"
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// atoiOr0 is the integer in s, 0 when s is not one (values that LOAD
// already validated).
func atoiOr0(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
