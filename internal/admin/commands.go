package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sqlgate/internal/cluster"
	"sqlgate/internal/config"
	"sqlgate/internal/wire"
)

// normalize applies ProxySQL's admin query normalisation (§1.3): trim,
// collapse whitespace runs to one space, drop trailing semicolons.
func normalize(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	for strings.HasSuffix(q, ";") {
		q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	}
	return q
}

var (
	loadSaveRE  = regexp.MustCompile(`(?i)^(LOAD|SAVE) (.+) (TO|FROM) (MEMORY|MEM|RUNTIME|RUN|DISK|CONFIG)$`)
	loadUserRE  = regexp.MustCompile(`(?i)^LOAD MYSQL USER [A-Za-z0-9_+-]+ TO (RUNTIME|RUN)$`)
	setRE       = regexp.MustCompile(`(?is)^SET\s+(?:GLOBAL\s+)?@?@?([A-Za-z0-9_.-]+)\s*(?:=|:=|\s)\s*(.*)$`)
	selectVarRE = regexp.MustCompile(`(?i)^SELECT @@(?:GLOBAL\.|SESSION\.)?([A-Za-z0-9_-]+)(?: AS \S+)?(?: LIMIT 1)?$`)
	showTables  = regexp.MustCompile(`(?i)^SHOW TABLES(?: (?:FROM|IN) ([A-Za-z0-9_]+))?(?: LIKE '([^']*)')?$`)
	showCreate  = regexp.MustCompile("(?i)^SHOW CREATE TABLE `?(?:([A-Za-z0-9_]+)`?\\.`?)?([A-Za-z0-9_]+)`?$")
	showFields  = regexp.MustCompile("(?i)^SHOW (?:FULL )?(?:FIELDS|COLUMNS) FROM `?(?:([A-Za-z0-9_]+)`?\\.`?)?([A-Za-z0-9_]+)`?$")
	showVars    = regexp.MustCompile(`(?i)^SHOW (?:GLOBAL |SESSION |ALL )?VARIABLES(?: LIKE '([^']*)')?$`)
	showModVars = regexp.MustCompile(`(?i)^SHOW (MYSQL|ADMIN) VARIABLES$`)
	checksumRE  = regexp.MustCompile(`(?i)^(?:PROXYSQL )?CHECKSUM (DISK|MEMORY|MEM) MYSQL (SERVERS|USERS|QUERY RULES|VARIABLES|REPLICATION HOSTGROUPS)$`)
	configFile  = regexp.MustCompile(`(?i)^(?:SAVE CONFIG TO FILE|SELECT CONFIG INTO OUTFILE) '?([^']+?)'?$`)
	nodeUUIDRE  = regexp.MustCompile(`(?i)^PROXYSQL CLUSTER_NODE_UUID ([0-9a-fA-F-]{36}) (\S+)$`)
	truncDigest = regexp.MustCompile(`(?i)^TRUNCATE (?:TABLE )?(?:stats\.)?(stats_mysql_query_digest(?:_reset)?)$`)
)

// adminErr is an error reported to the admin client as ProxySQL does:
// errno 1045, the text prefixed with "ProxySQL Admin Error: ".
func adminErr(format string, args ...any) *wire.Error {
	return wire.Errorf(1045, "28000", "ProxySQL Admin Error: "+format, args...)
}

// query runs one admin statement and writes the response.
func (s *session) query(text string) {
	a := s.a
	q := normalize(text)
	if q == "" {
		s.writeErr(adminErr("empty query"))
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.st == nil {
		s.writeErr(adminErr("the admin store is closed"))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, ok, info, err := s.dispatch(ctx, q)
	switch {
	case err != nil:
		var we *wire.Error
		if errors.As(err, &we) {
			s.writeErr(we)
		} else {
			s.writeErr(adminErr("%s", err.Error()))
		}
	case res != nil:
		s.writeResult(res)
	default:
		s.writeOK(ok, info)
	}
}

func single(col, val string) *result {
	return &result{cols: []string{col}, rows: [][]*string{strs(val)}}
}

// dispatch recognises admin commands; anything else goes to SQLite.
func (s *session) dispatch(ctx context.Context, q string) (res *result, affected uint64, info string, err error) {
	a := s.a
	upper := strings.ToUpper(q)

	// Client noise the mysql CLI and drivers send.
	switch {
	case upper == "SELECT @@VERSION_COMMENT LIMIT 1" || upper == "SELECT @@VERSION_COMMENT":
		return single("@@version_comment", "(ProxySQL Admin Module)"), 0, "", nil
	case upper == "SELECT @@VERSION" || upper == "SELECT VERSION()":
		return single(q[len("SELECT "):], a.version), 0, "", nil
	case upper == "SELECT DATABASE()" || upper == "SELECT DATABASE() AS NAME":
		return single("DATABASE()", "admin"), 0, "", nil
	case upper == "SELECT USER()" || upper == "SELECT CURRENT_USER()":
		return single(q[len("SELECT "):], s.user), 0, "", nil
	case upper == "SELECT GLOBAL_CHECKSUM()":
		return single("CHECKSUM", strconv.FormatUint(cluster.GlobalChecksum(a.Checksums()), 10)), 0, "", nil
	case upper == "BEGIN" || upper == "COMMIT" || upper == "ROLLBACK" || upper == "START TRANSACTION" ||
		strings.HasPrefix(upper, "SET NAMES") || strings.HasPrefix(upper, "SET AUTOCOMMIT") ||
		strings.HasPrefix(upper, "SET CHARACTER SET") || strings.HasPrefix(upper, "SET SESSION ") ||
		strings.HasPrefix(upper, "SET SQL_") || upper == "SHOW WARNINGS":
		if upper == "SHOW WARNINGS" {
			return &result{cols: []string{"Level", "Code", "Message"}}, 0, "", nil
		}
		return nil, 0, "", nil
	}
	if m := selectVarRE.FindStringSubmatch(q); m != nil {
		return s.selectVar(ctx, m[1])
	}

	if s.stats {
		if strings.HasPrefix(upper, "LOAD ") || strings.HasPrefix(upper, "SAVE ") || strings.HasPrefix(upper, "SET ") ||
			strings.HasPrefix(upper, "PROXYSQL ") || strings.HasPrefix(upper, "PRAGMA") || strings.HasPrefix(upper, "ATTACH") {
			return nil, 0, "", adminErr("Command not allowed: user %q has read-only access to the stats tables (admin-stats_credentials)", s.user)
		}
		return s.sqlite(ctx, q, upper)
	}

	if strings.HasPrefix(upper, "PROXY_SELECT ") {
		// Cluster fetches (§2.12): the stored resultsets, verbatim.
		r, err := a.proxySelect(strings.Join(strings.Fields(upper), " "))
		return r, 0, "", err
	}
	if m := loadSaveRE.FindStringSubmatch(q); m != nil {
		info, err := a.loadSave(ctx, strings.ToUpper(m[1]), strings.ToUpper(m[2]), strings.ToUpper(m[3]), strings.ToUpper(m[4]))
		return nil, 0, info, err
	}
	if loadUserRE.MatchString(q) {
		// A single-user load republishes all users: the result is the same
		// for that user and never leaves runtime half-updated.
		_, err := a.loadSave(ctx, "LOAD", "MYSQL USERS", "TO", "RUNTIME")
		return nil, 0, "", err
	}
	if m := setRE.FindStringSubmatch(q); m != nil && (strings.Contains(m[1], "-")) {
		return s.set(ctx, m[1], strings.TrimSpace(m[2]))
	}
	switch upper {
	case "SELECT CONFIG FILE":
		text, err := a.configFile(ctx)
		if err != nil {
			return nil, 0, "", err
		}
		return single("Data", text), 0, "", nil
	case "PROXYSQL FLUSH LOGS":
		// The process log goes to stderr (nothing to reopen); the query
		// events log starts a new file, as in ProxySQL.
		if a.control != nil {
			if err := a.control.FlushLogs(); err != nil {
				return nil, 0, "", adminErr("%v", err)
			}
		}
		return nil, 0, "", nil
	case "PROXYSQL FLUSH QUERY CACHE":
		if a.control != nil {
			n := a.control.FlushQueryCache()
			a.log.Info("PROXYSQL FLUSH QUERY CACHE", "entries", n)
		}
		return nil, 0, "", nil
	case "PROXYSQL PAUSE", "PROXYSQL RESUME":
		a.log.Info("received " + upper + " command")
		if a.control == nil {
			return nil, 0, "", adminErr("ProxySQL MySQL module not running, impossible to %s", strings.ToLower(strings.TrimPrefix(upper, "PROXYSQL ")))
		}
		f := a.control.Pause
		if upper == "PROXYSQL RESUME" {
			f = a.control.Resume
		}
		if err := f(); err != nil {
			// ProxySQL sends these texts without the admin prefix.
			return nil, 0, "", wire.Errorf(1045, "28000", "%v", err)
		}
		return nil, 0, "", nil
	case "PROXYSQL SHUTDOWN", "PROXYSQL KILL", "PROXYSQL SHUTDOWN SLOW":
		a.log.Info("shutdown requested on the admin interface", "command", q, "user", s.user)
		a.shutOnce.Do(func() { close(a.shutdown) })
		return nil, 0, "", nil
	case "PROXYSQL READONLY", "PROXYSQL READWRITE":
		val := "true"
		if upper == "PROXYSQL READWRITE" {
			val = "false"
		}
		v := *a.vars.Load()
		v.ReadOnly = val == "true"
		v.Raw = cloneMap(v.Raw)
		v.Raw["read_only"] = val
		a.vars.Store(&v)
		return nil, 0, "", nil
	case "PROXYSQL CLUSTER_NODE_UUID":
		return single("uuid", a.uuid), 0, "", nil
	case "SHOW DATABASES", "SHOW SCHEMAS":
		r, err := a.st.query(ctx, "PRAGMA database_list")
		return r, 0, "", err
	case "SHOW MYSQL USERS":
		return s.sqlite(ctx, "SELECT * FROM mysql_users ORDER BY username", "")
	case "SHOW MYSQL SERVERS":
		return s.sqlite(ctx, "SELECT * FROM mysql_servers ORDER BY hostgroup_id, hostname, port", "")
	case "SHOW PROCESSLIST", "SHOW FULL PROCESSLIST":
		return s.sqlite(ctx, "SELECT * FROM stats_mysql_processlist", "STATS_MYSQL_PROCESSLIST")
	case "SHOW MYSQL STATUS":
		return s.sqlite(ctx, "SELECT * FROM stats_mysql_global", "STATS_MYSQL_GLOBAL")
	}
	if m := nodeUUIDRE.FindStringSubmatch(q); m != nil {
		if s.uuid != "" && s.uuid != m[1] {
			return nil, 0, "", adminErr("CLUSTER_NODE_UUID changed within a session (%s -> %s)", s.uuid, m[1])
		}
		if s.uuid == "" {
			a.log.Info(fmt.Sprintf("Created new link with Cluster node %s : %s at interface %s", s.remote, m[1], m[2]))
		}
		s.uuid = m[1]
		return nil, 0, "", nil
	}
	if m := checksumRE.FindStringSubmatch(q); m != nil {
		return a.tableChecksum(ctx, strings.ToUpper(m[1]), strings.ToUpper(m[2]))
	}
	if m := configFile.FindStringSubmatch(q); m != nil {
		text, err := a.configFile(ctx)
		if err != nil {
			return nil, 0, "", err
		}
		if err := writeFileAtomic(m[1], []byte(text)); err != nil {
			return nil, 0, "", adminErr("cannot write %s: %v", m[1], err)
		}
		return nil, 0, "", nil
	}
	if m := truncDigest.FindStringSubmatch(q); m != nil {
		a.resetDigests()
		return nil, 0, "", nil
	}
	if m := showTables.FindStringSubmatch(q); m != nil {
		schema := m[1]
		if schema == "" {
			schema = "main"
			if s.stats {
				schema = "stats" // the stats session's main schema is empty
			}
		}
		sq := "SELECT name AS tables FROM " + schema + ".sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
		if m[2] != "" {
			sq += " AND name LIKE " + quote(m[2])
		}
		return s.sqlite(ctx, sq+" ORDER BY name", "")
	}
	if m := showCreate.FindStringSubmatch(q); m != nil {
		schema := m[1]
		if schema == "" {
			schema = "main"
		}
		r, err := a.st.query(ctx, "SELECT name, sql FROM "+schema+".sqlite_master WHERE type='table' AND name=?", m[2])
		if err != nil {
			return nil, 0, "", err
		}
		if len(r.rows) == 0 {
			return nil, 0, "", adminErr("no such table: %s.%s", schema, m[2])
		}
		r.cols = []string{"table", "Create Table"}
		return r, 0, "", nil
	}
	if m := showFields.FindStringSubmatch(q); m != nil {
		schema := m[1]
		if schema == "" {
			schema = "main"
		}
		return s.sqlite(ctx, `SELECT name AS Field, type AS Type, CASE "notnull" WHEN 0 THEN 'YES' ELSE 'NO' END AS "Null", CASE pk WHEN 0 THEN '' ELSE 'PRI' END AS "Key", dflt_value AS "Default", '' AS Extra FROM `+schema+".pragma_table_info("+quote(m[2])+")", "")
	}
	if m := showVars.FindStringSubmatch(q); m != nil {
		sq := "SELECT variable_name AS Variable_name, variable_value AS Value FROM runtime_global_variables"
		if m[1] != "" {
			sq += " WHERE variable_name LIKE " + quote(m[1])
		}
		return s.sqlite(ctx, sq+" ORDER BY variable_name", "GLOBAL_VARIABLES")
	}
	if m := showModVars.FindStringSubmatch(q); m != nil {
		return s.sqlite(ctx, "SELECT variable_name AS Variable_name, variable_value AS Value FROM runtime_global_variables WHERE variable_name LIKE '"+strings.ToLower(m[1])+"-%' ORDER BY variable_name", "GLOBAL_VARIABLES")
	}
	if strings.HasPrefix(upper, "PROXYSQL ") {
		return nil, 0, "", adminErr("%s is not implemented by sqlgate", q)
	}
	return s.sqlite(ctx, q, upper)
}

// sqlite runs q against the store after refreshing the runtime_* and
// stats_* tables it mentions.
func (s *session) sqlite(ctx context.Context, q, upper string) (*result, uint64, string, error) {
	a := s.a
	if upper == "" {
		upper = strings.ToUpper(q)
	}
	if err := a.refresh(ctx, upper, s.stats); err != nil {
		return nil, 0, "", err
	}
	conn := a.st.conn
	if s.stats {
		conn = a.st.stats
	} else if a.vars.Load().ReadOnly {
		if _, err := conn.ExecContext(ctx, "PRAGMA query_only=ON"); err == nil {
			defer conn.ExecContext(context.Background(), "PRAGMA query_only=OFF")
		}
	}
	r, err := queryConn(ctx, conn, q)
	if err != nil {
		return nil, 0, "", adminErr("%s", sqliteMessage(err))
	}
	if len(r.cols) > 0 {
		return r, 0, "", nil
	}
	// DML or DDL: report the rows changed by DML (changes() is not reset
	// by DDL, so report 0 there).
	var n uint64
	if isDML(upper) {
		conn.QueryRowContext(ctx, "SELECT changes()").Scan(&n)
	}
	return nil, n, "", nil
}

func isDML(upper string) bool {
	for _, p := range []string{"INSERT", "UPDATE", "DELETE", "REPLACE"} {
		if strings.HasPrefix(upper, p) {
			return true
		}
	}
	return false
}

// selectVar answers SELECT @@name: admin-* and mysql-* variables from
// runtime, a few client-probed MySQL variables with fixed answers.
func (s *session) selectVar(ctx context.Context, name string) (*result, uint64, string, error) {
	a := s.a
	lower := strings.ToLower(name)
	col := "@@" + name
	switch lower {
	case "version":
		return single(col, a.version), 0, "", nil
	case "version_comment":
		return single(col, "(ProxySQL Admin Module)"), 0, "", nil
	case "max_allowed_packet":
		return single(col, "67108864"), 0, "", nil
	case "read_only":
		return single(col, map[bool]string{true: "1", false: "0"}[a.vars.Load().ReadOnly]), 0, "", nil
	case "autocommit":
		return single(col, "1"), 0, "", nil
	}
	if canon, ok := canonicalVar(name); ok {
		if strings.HasPrefix(canon, "admin-") {
			return single(col, a.vars.Load().Raw[strings.TrimPrefix(canon, "admin-")]), 0, "", nil
		}
		return single(col, a.mysqlVars[strings.TrimPrefix(canon, "mysql-")]), 0, "", nil
	}
	return nil, 0, "", adminErr("unknown variable %s", name)
}

// set rewrites SET admin-x/mysql-x = value into an UPDATE of
// main.global_variables (memory only), as ProxySQL does (§1.5).
func (s *session) set(ctx context.Context, name, value string) (*result, uint64, string, error) {
	a := s.a
	canon, ok := canonicalVar(name)
	if !ok {
		return nil, 0, fmt.Sprintf("ERROR: Unknown global variable: '%s'.", name), nil
	}
	if canon == "mysql-init_connect" {
		return nil, 0, "", adminErr("mysql-init_connect must be set with UPDATE global_variables")
	}
	if canon == "admin-version" {
		return nil, 0, "", adminErr("admin-version is read-only")
	}
	val, err := unquoteValue(value)
	if err != nil {
		return nil, 0, "", adminErr("SET %s: %v", name, err)
	}
	res, err := a.st.conn.ExecContext(ctx, "UPDATE main.global_variables SET variable_value=? WHERE variable_name=?", val, canon)
	if err != nil {
		return nil, 0, "", adminErr("%s", sqliteMessage(err))
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		if _, err := a.st.conn.ExecContext(ctx, "INSERT INTO main.global_variables VALUES (?, ?)", canon, val); err != nil {
			return nil, 0, "", adminErr("%s", sqliteMessage(err))
		}
		n = 1
	}
	return nil, uint64(n), "", nil
}

// unquoteValue accepts 'x', "x" or a bare token (number, true/false).
func unquoteValue(v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') {
		if v[len(v)-1] != v[0] {
			return "", fmt.Errorf("unterminated string %s", v)
		}
		inner := v[1 : len(v)-1]
		return strings.ReplaceAll(inner, string(v[0])+string(v[0]), string(v[0])), nil
	}
	if v == "" || strings.ContainsAny(v, " ;,") {
		return "", fmt.Errorf("the value must be a quoted string or a single token, got %q", v)
	}
	return v, nil
}

// loadSave runs LOAD|SAVE <module> TO|FROM <layer> (§1.4).
func (a *Admin) loadSave(ctx context.Context, verb, modName, dir, layer string) (string, error) {
	switch layer {
	case "MEM":
		layer = "MEMORY"
	case "RUN":
		layer = "RUNTIME"
	}
	m := moduleByName(modName)
	if m == nil {
		switch modName {
		case "LDAP VARIABLES", "SQLITESERVER VARIABLES", "CLICKHOUSE VARIABLES", "CLICKHOUSE USERS", "DEBUG", "COREDUMP", "PGSQL SERVERS", "PGSQL USERS", "PGSQL QUERY RULES", "PGSQL VARIABLES":
			return "", adminErr("%s are not supported by sqlgate", strings.ToLower(modName))
		}
		return "", adminErr("unknown module %q in %s %s %s %s; modules: MYSQL SERVERS, MYSQL USERS, MYSQL QUERY RULES, MYSQL VARIABLES, ADMIN VARIABLES, PROXYSQL SERVERS, SCHEDULER, RESTAPI, MYSQL FIREWALL", modName, verb, modName, dir, layer)
	}
	action := verb + " " + dir + " " + layer
	switch action {
	case "LOAD TO MEMORY", "LOAD FROM DISK": // disk → memory
		return "", a.copyLayer(ctx, m, "disk", "main", false)
	case "SAVE FROM MEMORY", "SAVE TO DISK": // memory → disk, atomically
		if err := a.copyLayer(ctx, m, "main", "disk", false); err != nil {
			return "", adminErr("SAVE %s TO DISK: %v; the disk configuration is unchanged", m.name, err)
		}
		a.persistEpochs(ctx, m)
		return "", nil
	case "LOAD FROM MEMORY", "LOAD TO RUNTIME": // memory → runtime
		if err := m.toRuntime(a, ctx); err != nil {
			return "", adminErr("LOAD %s TO RUNTIME: %v; the running configuration is unchanged", m.name, err)
		}
		a.log.Info("configuration loaded to runtime", "module", m.name)
		return "", nil
	case "SAVE TO MEMORY", "SAVE FROM RUNTIME": // runtime → memory
		return "", m.toMemory(a, ctx)
	case "LOAD FROM CONFIG":
		if !m.fromConfig {
			return "", adminErr("%s cannot be loaded from the config file", m.name)
		}
		if a.cnfPath == "" {
			return "", adminErr("Config file unknown")
		}
		cfg, _, err := config.Load(a.cnfPath)
		if err != nil {
			return "", adminErr("Unable to open or parse config file %s: %v", a.cnfPath, err)
		}
		var n int
		err = a.st.tx(ctx, func() error {
			var err error
			n, err = a.cnfToMemory(ctx, cfg, m)
			return err
		})
		if err != nil {
			return "", adminErr("%v", err)
		}
		return fmt.Sprintf("Loaded %d rows from %s", n, a.cnfPath), nil
	}
	return "", adminErr("%s %s %s %s is not a valid command; see LOAD|SAVE <module> TO|FROM MEMORY|RUNTIME|DISK|CONFIG", verb, m.name, dir, layer)
}

// tableChecksum answers CHECKSUM DISK|MEMORY MYSQL <table>: a diagnostic
// hash printed as 0x%X%X without padding (§1.6).
func (a *Admin) tableChecksum(ctx context.Context, layer, what string) (*result, uint64, string, error) {
	schema := "main"
	if layer == "DISK" {
		schema = "disk"
	}
	table, order := "", ""
	switch what {
	case "SERVERS":
		table, order = "mysql_servers", "hostgroup_id, hostname, port"
	case "USERS":
		table, order = "mysql_users", "username"
	case "QUERY RULES":
		table, order = "mysql_query_rules", "rule_id"
	case "VARIABLES":
		table, order = "global_variables", "variable_name"
	case "REPLICATION HOSTGROUPS":
		table, order = "mysql_replication_hostgroups", "writer_hostgroup"
	}
	r, err := a.st.query(ctx, "SELECT * FROM "+schema+"."+table+" ORDER BY "+order)
	if err != nil {
		return nil, 0, "", err
	}
	h := cluster.RawChecksum(r.rows)
	return &result{cols: []string{"table", "checksum"}, rows: [][]*string{strs(table, fmt.Sprintf("0x%X%X", uint32(h), uint32(h>>32)))}}, 0, "", nil
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// writeFileAtomic writes via a temporary file and rename.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
