package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"sqlgate/internal/admin/codec"
	"sqlgate/internal/admin/store"
	"sqlgate/internal/cluster"
	"sqlgate/internal/wire"
)

// normalize applies ProxySQL's admin query normalisation: trim,
// collapse whitespace runs to one space, drop trailing semicolons.
func normalize(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	for strings.HasSuffix(q, ";") {
		q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	}
	return q
}

var (
	loadSaveRE   = regexp.MustCompile(`(?i)^(LOAD|SAVE) (.+) (TO|FROM) (MEMORY|MEM|RUNTIME|RUN|DISK|CONFIG)$`)
	loadUserRE   = regexp.MustCompile(`(?i)^LOAD MYSQL USER [A-Za-z0-9_+-]+ TO (RUNTIME|RUN)$`)
	showTablesIn = regexp.MustCompile(`(?i)^SHOW TABLES (?:FROM|IN) ([A-Za-z0-9_]+)$`)
	showCreate   = regexp.MustCompile("(?i)^SHOW CREATE TABLE `?(?:([A-Za-z0-9_]+)`?\\.`?)?([A-Za-z0-9_]+)`?$")
	showFields   = regexp.MustCompile("(?i)^SHOW (?:FULL )?(?:FIELDS|COLUMNS) FROM `?(?:([A-Za-z0-9_]+)`?\\.`?)?([A-Za-z0-9_]+)`?$")
	checksumRE   = regexp.MustCompile(`(?i)^(?:PROXYSQL )?CHECKSUM (?:(DISK|MEMORY|MEM) )?MYSQL (SERVERS|USERS|QUERY RULES|VARIABLES|REPLICATION HOSTGROUPS|GROUP REPLICATION HOSTGROUPS|GALERA HOSTGROUPS|AURORA HOSTGROUPS|HOSTGROUP ATTRIBUTES|SERVERS SSL PARAMS)$`)

	// ProxySQL's rewrites of SELECT @@x and SHOW VARIABLES ... into
	// queries on global_variables (memory), applied the way it applies
	// them: the matched head is replaced, the rest of the statement is kept.
	maxPacketRE     = regexp.MustCompile(`(?i)^SELECT\s+@@max_allowed_packet\s*`)
	maxPacketHeadRE = regexp.MustCompile(`^(\w+)\s+@@(\w+)\s*`)
	atVarRE         = regexp.MustCompile(`(?i)^SELECT\s+@@[0-9A-Za-z_-]+\s*`)
	atVarHeadRE     = regexp.MustCompile(`^(\w+)  *@@([0-9A-Za-z_-]+) *`)
	showVarsWhereRE = regexp.MustCompile(`(?i)SHOW\s+VARIABLES\s+WHERE`)
	showVarsLikeRE  = regexp.MustCompile(`(?i)SHOW\s+VARIABLES\s+LIKE`)

	showScopedVarsLikeRE = regexp.MustCompile(`(?i)^SHOW (?:GLOBAL|SESSION) VARIABLES LIKE`)
	configFile           = regexp.MustCompile(`(?i)^(?:SAVE CONFIG TO FILE|SELECT CONFIG INTO OUTFILE) '?([^']+?)'?$`)
	nodeUUIDRE           = regexp.MustCompile(`(?i)^PROXYSQL CLUSTER_NODE_UUID ([0-9a-fA-F-]{36}) (\S+)$`)
	configDiffRE         = regexp.MustCompile(`(?i)^SQLGATE CONFIG DIFF ([0-9]{1,18}) ([0-9]{1,18})$`)
	configRestoreRE      = regexp.MustCompile(`(?i)^SQLGATE CONFIG RESTORE ([0-9]{1,18})$`)
	truncDigest          = regexp.MustCompile(`(?i)^TRUNCATE (?:TABLE )?(?:stats\.)?(stats_mysql_query_digest(?:_reset)?)$`)
)

// Errorf is an error reported to the admin client as ProxySQL does:
// errno 1045, the text prefixed with "ProxySQL Admin Error: ".
func Errorf(format string, args ...any) *wire.Error {
	return wire.Errorf(1045, "28000", "ProxySQL Admin Error: "+format, args...)
}

// query runs one admin statement and writes the response. An admin
// session's statement runs under the admin mutex; a stats session's runs
// on its own connection, without it. Either way the response is written
// after the mutex is released, so a client that does not read its result
// holds up nobody else.
func (s *session) query(text string) {
	q := normalize(text)
	var (
		res  *store.Result
		n    uint64
		info string
		err  error
	)
	switch {
	case q == "":
		err = Errorf("empty query")
	case s.stats:
		var release func()
		res, n, info, release, err = s.statsStatement(q)
		defer release() // after the result is sent: the slot bounds its memory too
	default:
		res, n, info, err = s.adminStatement(q)
	}
	s.c.Conn.SetWriteDeadline(time.Now().Add(store.ResultWriteTimeout))
	defer s.c.Conn.SetWriteDeadline(time.Time{})
	switch {
	case err != nil:
		var we *wire.Error
		if errors.As(err, &we) {
			s.writeErr(we)
		} else {
			s.writeErr(Errorf("%s", err.Error()))
		}
	case res != nil:
		s.writeResult(res)
	default:
		s.writeOK(n, info)
	}
	s.c.Flush()
}

// adminStatement runs an admin session's statement under the admin mutex.
func (s *session) adminStatement(q string) (*store.Result, uint64, string, error) {
	if res, ok := s.probe(q); ok {
		return res, 0, "", nil
	}
	a := s.a
	a.Lock()
	defer a.Unlock()
	if st := a.Store(); st == nil || st.Closed() {
		return nil, 0, "", Errorf("the admin store is closed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return s.dispatch(ctx, q)
}

func single(col, val string) *store.Result {
	return &store.Result{Cols: []string{col}, Rows: [][]*string{store.Row(val)}}
}

// txControl matches the transaction statements the admin answers OK and
// ignores, as ProxySQL does: every admin statement commits on its own.
var txControl = regexp.MustCompile(`(?i)^(BEGIN|COMMIT|ROLLBACK|END|START TRANSACTION|SAVEPOINT|RELEASE)\b`)

// probe answers the statements clients send on connecting, and the
// transaction statements, without SQLite (column names included: the
// mysql CLI prints them), for admin and stats sessions alike.
func (s *session) probe(q string) (*store.Result, bool) {
	a := s.a
	upper := strings.ToUpper(q)
	switch {
	case upper == "SELECT GLOBAL_CHECKSUM()":
		return single("CHECKSUM", strconv.FormatUint(a.GlobalChecksum(), 10)), true
	case upper == "SELECT @@VERSION_COMMENT LIMIT 1":
		return single("'(ProxySQL Admin Module)'", "(ProxySQL Admin Module)"), true
	case strings.HasPrefix(upper, "SELECT CONCAT(@@VERSION, ' ', @@VERSION_COMMENT)"):
		v := a.Version() + " Admin Module"
		return single("'"+v+"'", v), true
	case upper == "SELECT USER()" || upper == "SELECT CURRENT_USER()":
		col := "user()"
		if strings.Contains(upper, "CURRENT") {
			col = "current_user()"
		}
		return single(col, s.user+"@"+hostOf(s.remote)), true
	case strings.HasPrefix(upper, "SELECT @@SQL_MODE"):
		return single("@@sql_mode", ""), true
	case strings.HasPrefix(upper, "SELECT CONNECTION_ID()"):
		return single("CONNECTION_ID()", "0"), true
	case upper == "SELECT DATABASE(), USER() LIMIT 1":
		return &store.Result{Cols: []string{"DATABASE()", "USER()"}, Rows: [][]*string{store.Row(s.database(), s.user)}}, true
	case strings.HasPrefix(upper, "SELECT @@VERSION"):
		// As in ProxySQL, this also answers SELECT @@version_comment.
		return single("@@version", a.Version()), true
	case strings.HasPrefix(upper, "SELECT VERSION()"):
		return single("version()", a.Version()), true
	case strings.HasPrefix(upper, "SELECT @@GLOBAL.READ_ONLY"):
		return single("@@global.read_only", map[bool]string{true: "1", false: "0"}[a.ReadOnly()]), true
	case upper == "SELECT DATABASE()":
		return single("DATABASE()", s.database()), true
	case upper == "SELECT DATABASE() AS NAME":
		return single("name", s.database()), true
	case upper == "SHOW WARNINGS":
		return &store.Result{Cols: []string{"Level", "Code", "Message"}}, true
	case txControl.MatchString(q) ||
		strings.HasPrefix(upper, "SET NAMES") || strings.HasPrefix(upper, "SET AUTOCOMMIT") ||
		strings.HasPrefix(upper, "SET CHARACTER SET") || strings.HasPrefix(upper, "SET SESSION ") ||
		strings.HasPrefix(upper, "SET SQL_") || strings.HasPrefix(upper, "SET @@SESSION.") || strings.HasPrefix(upper, "USE "):
		return nil, true
	}
	return nil, false
}

// statsVarRE is the variable a SELECT @@name reads.
var statsVarRE = regexp.MustCompile(`(?i)^SELECT\s+@@([0-9A-Za-z_-]+)`)

// statsStatement runs a stats session's statement: the stats tables it
// names are refreshed under the admin mutex (sqlgate's own statements),
// then the statement runs on the session's own read-only connection
// without the mutex, in one of store.MaxStatsStatements slots. release frees the
// slot; the caller calls it once the result is sent.
func (s *session) statsStatement(q string) (res *store.Result, n uint64, info string, release func(), err error) {
	release = func() {}
	if res, ok := s.probe(q); ok {
		return res, 0, "", release, nil
	}
	upper := strings.ToUpper(q)
	if strings.HasPrefix(upper, "LOAD ") || strings.HasPrefix(upper, "SAVE ") || strings.HasPrefix(upper, "SET ") ||
		strings.HasPrefix(upper, "PROXYSQL ") || strings.HasPrefix(upper, "PROXY_SELECT ") {
		return nil, 0, "", release, Errorf("Command not allowed: user %q has read-only access to the stats tables (admin-stats_credentials)", s.user)
	}
	rq, refresh := q, upper
	if m := statsVarRE.FindStringSubmatch(q); m != nil {
		// The admin-* and mysql-* variables hold credentials (admin, stats,
		// cluster, monitor): a stats user reads only max_allowed_packet,
		// as in ProxySQL, and the stats_mysql_global counters by name.
		name := strings.ToLower(m[1])
		if (strings.HasPrefix(name, "admin-") || strings.HasPrefix(name, "mysql-")) && name != "mysql-max_allowed_packet" {
			return nil, 0, "", release, Errorf("Command not allowed: user %q (admin-stats_credentials) cannot read @@%s; a stats user reads @@version, @@version_comment, @@sql_mode, @@max_allowed_packet (@@mysql-max_allowed_packet) and the stats_mysql_global counters (SELECT @@Questions); the admin-* and mysql-* variables are for admin-admin_credentials users", s.user, m[1])
		}
	}
	if r, ok := rewriteVariableQuery(q); ok {
		rq, refresh = r, "STATS_MYSQL_GLOBAL GLOBAL_VARIABLES"
	} else if r, ok := showRewrite(q, s.a.Version()); ok {
		// The stats session's own schema is stats (its main is empty).
		r = strings.Replace(r, " FROM sqlite_master", " FROM stats.sqlite_master", 1)
		rq = strings.Replace(r, " FROM main.sqlite_master", " FROM stats.sqlite_master", 1)
		refresh = strings.ToUpper(rq)
	}

	slots := s.a.Store().StatsSlots
	wait := time.NewTimer(store.StatementTimeout)
	defer wait.Stop()
	select {
	case slots <- struct{}{}:
		release = func() { <-slots }
	case <-wait.C:
		return nil, 0, "", release, Errorf("%d stats statements are already running, the most the admin interface runs at once; retry", store.MaxStatsStatements)
	}
	if err := s.refreshForStats(refresh); err != nil {
		return nil, 0, "", release, err
	}
	if s.sc == nil {
		ctx, cancel := context.WithTimeout(context.Background(), store.StatementTimeout)
		s.sc, err = s.a.Store().OpenStatsConn(ctx)
		cancel()
		if err != nil {
			return nil, 0, "", release, Errorf("%v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), store.StatementTimeout)
	defer cancel()
	s.sc.Denied = ""
	r, err := store.QueryLimited(ctx, s.sc.Conn, rq, store.MaxResultBytes)
	if err != nil {
		return nil, 0, "", release, clientError(ctx, err, s.sc.Denied, s.user)
	}
	if len(r.Cols) == 0 {
		return nil, 0, "", release, nil
	}
	return r, 0, "", release, nil
}

// refreshForStats regenerates the stats tables upper names, under the
// admin mutex, on the admin connection.
func (s *session) refreshForStats(upper string) error {
	if upper == "" {
		return nil
	}
	a := s.a
	a.Lock()
	defer a.Unlock()
	if st := a.Store(); st == nil || st.Closed() {
		return Errorf("the admin store is closed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return a.Refresh(ctx, upper, true)
}

// command is one statement form the admin interface answers itself;
// every other statement goes to SQLite. match returns nil when q is not
// this command, or the regexp submatches (or any non-nil slice) when it
// is; run answers it.
type command struct {
	match func(s *session, q, upper string) []string
	run   func(s *session, ctx context.Context, q, upper string, m []string) (*store.Result, uint64, string, error)
}

// commands are tried in order, first match wins: single-user loads before
// the general LOAD/SAVE form, exact statements before the SHOW rewrites,
// and the catch-all for unknown PROXYSQL statements last.
var commands = []command{
	{matchFunc(func(s *session, q string) (string, bool) { return rewriteVariableQuery(q) }), func(s *session, ctx context.Context, _, _ string, m []string) (*store.Result, uint64, string, error) {
		return s.sqlite(ctx, m[0], "STATS_MYSQL_GLOBAL GLOBAL_VARIABLES")
	}},
	{prefix("PROXY_SELECT "), func(s *session, _ context.Context, _, upper string, _ []string) (*store.Result, uint64, string, error) {
		// Cluster fetches: the stored resultsets, verbatim.
		r, err := s.a.ProxySelect(strings.Join(strings.Fields(upper), " "))
		return r, 0, "", err
	}},
	{pattern(loadUserRE), func(s *session, ctx context.Context, _, _ string, _ []string) (*store.Result, uint64, string, error) {
		// A single-user load republishes all users: the result is the same
		// for that user and never leaves runtime half-updated.
		_, _, err := s.a.LoadSave(ctx, s.who(), "LOAD", "MYSQL USERS", "TO", "RUNTIME")
		return nil, 0, "", err
	}},
	{pattern(loadSaveRE), func(s *session, ctx context.Context, _, _ string, m []string) (*store.Result, uint64, string, error) {
		n, info, err := s.a.LoadSave(ctx, s.who(), strings.ToUpper(m[1]), strings.ToUpper(m[2]), strings.ToUpper(m[3]), strings.ToUpper(m[4]))
		return nil, n, info, err
	}},
	{prefix("SET "), func(s *session, ctx context.Context, q, _ string, _ []string) (*store.Result, uint64, string, error) {
		return s.set(ctx, q[len("SET "):])
	}},
	{exact("SELECT CONFIG FILE"), func(s *session, ctx context.Context, _, _ string, _ []string) (*store.Result, uint64, string, error) {
		text, err := codec.ConfigFile(ctx, s.a.Store(), true)
		if err != nil {
			return nil, 0, "", err
		}
		return single("Data", text), 0, "", nil
	}},
	{exact("PROXYSQL FLUSH LOGS"), func(s *session, _ context.Context, _, _ string, _ []string) (*store.Result, uint64, string, error) {
		// As in ProxySQL: the process log file (errorlog) is reopened,
		// for logrotate, and the query events log starts a new file.
		if c := s.a.Control(); c != nil {
			if err := c.FlushLogs(); err != nil {
				return nil, 0, "", Errorf("%v", err)
			}
		}
		return nil, 0, "", nil
	}},
	{exact("PROXYSQL FLUSH QUERY CACHE"), func(s *session, _ context.Context, _, _ string, _ []string) (*store.Result, uint64, string, error) {
		if c := s.a.Control(); c != nil {
			s.srv.log.Info("PROXYSQL FLUSH QUERY CACHE", "entries", c.FlushQueryCache())
		}
		return nil, 0, "", nil
	}},
	{exact("PROXYSQL PAUSE", "PROXYSQL RESUME"), func(s *session, _ context.Context, _, upper string, _ []string) (*store.Result, uint64, string, error) {
		s.srv.log.Info("received " + upper + " command")
		c := s.a.Control()
		if c == nil {
			return nil, 0, "", Errorf("ProxySQL MySQL module not running, impossible to %s", strings.ToLower(strings.TrimPrefix(upper, "PROXYSQL ")))
		}
		f := c.Pause
		if upper == "PROXYSQL RESUME" {
			f = c.Resume
		}
		if err := f(); err != nil {
			// ProxySQL sends these texts without the admin prefix.
			return nil, 0, "", wire.Errorf(1045, "28000", "%v", err)
		}
		return nil, 0, "", nil
	}},
	{exact("PROXYSQL SHUTDOWN", "PROXYSQL KILL", "PROXYSQL SHUTDOWN SLOW"), func(s *session, _ context.Context, q, _ string, _ []string) (*store.Result, uint64, string, error) {
		s.a.Shutdown(fmt.Sprintf("%s by admin user %s from %s", q, s.user, s.remote))
		return nil, 0, "", nil
	}},
	{exact("PROXYSQL READONLY", "PROXYSQL READWRITE"), func(s *session, _ context.Context, _, upper string, _ []string) (*store.Result, uint64, string, error) {
		s.a.SetReadOnly(upper == "PROXYSQL READONLY")
		return nil, 0, "", nil
	}},
	{exact("PROXYSQL CLUSTER_NODE_UUID"), func(s *session, _ context.Context, _, _ string, _ []string) (*store.Result, uint64, string, error) {
		return single("uuid", s.a.NodeUUID()), 0, "", nil
	}},
	{matchFunc(func(s *session, q string) (string, bool) { return showRewrite(q, s.a.Version()) }), func(s *session, ctx context.Context, _, _ string, m []string) (*store.Result, uint64, string, error) {
		return s.sqlite(ctx, m[0], "")
	}},
	{pattern(nodeUUIDRE), func(s *session, _ context.Context, _, _ string, m []string) (*store.Result, uint64, string, error) {
		if s.uuid != "" && s.uuid != m[1] {
			return nil, 0, "", Errorf("CLUSTER_NODE_UUID changed within a session (%s -> %s)", s.uuid, m[1])
		}
		if s.uuid == "" {
			s.srv.log.Info(fmt.Sprintf("Created new link with Cluster node %s : %s at interface %s", s.remote, m[1], m[2]))
		}
		s.uuid = m[1]
		return nil, 0, "", nil
	}},
	{pattern(checksumRE), func(s *session, ctx context.Context, _, _ string, m []string) (*store.Result, uint64, string, error) {
		return tableChecksum(ctx, s.a.Store(), strings.ToUpper(m[1]), strings.ToUpper(m[2]))
	}},
	{pattern(configFile), func(s *session, ctx context.Context, _, upper string, m []string) (*store.Result, uint64, string, error) {
		// As in ProxySQL, SELECT CONFIG INTO OUTFILE writes the REST API
		// routes too and reports the bytes written; SAVE CONFIG TO FILE
		// does neither.
		outfile := strings.HasPrefix(upper, "SELECT")
		text, err := codec.ConfigFile(ctx, s.a.Store(), outfile)
		if err != nil {
			return nil, 0, "", err
		}
		if err := writeFileAtomic(m[1], []byte(text)); err != nil {
			return nil, 0, "", Errorf("Cannot open file %s: %v", m[1], err)
		}
		var n uint64
		if outfile {
			n = uint64(len(text))
		}
		return nil, n, "File " + m[1] + " is saved.", nil
	}},
	{pattern(truncDigest), func(s *session, _ context.Context, _, _ string, _ []string) (*store.Result, uint64, string, error) {
		s.a.ResetDigests()
		return nil, 0, "", nil
	}},
	{pattern(showFields), func(s *session, ctx context.Context, _, _ string, m []string) (*store.Result, uint64, string, error) {
		schema := m[1]
		if schema == "" {
			schema = "main"
		}
		// ProxySQL's answer: every column a varchar(255) without default.
		r, _, _, err := s.sqlite(ctx, `SELECT name AS Field, 'varchar(255)' AS Type, CASE "notnull" WHEN 1 THEN 'NO' ELSE 'YES' END AS "Null", CASE pk WHEN 0 THEN '' ELSE 'PRI' END AS "Key", '' AS "Default", '' AS Extra FROM `+schema+".pragma_table_info("+store.Quote(m[2])+")", "")
		if err == nil && len(r.Rows) == 0 {
			err = Errorf("Table does not exist")
		}
		return r, 0, "", err
	}},
	{pattern(configDiffRE), func(s *session, ctx context.Context, _, _ string, m []string) (*store.Result, uint64, string, error) {
		from, _ := strconv.ParseInt(m[1], 10, 64)
		to, _ := strconv.ParseInt(m[2], 10, 64)
		r, err := s.a.ConfigDiff(ctx, from, to)
		if err != nil {
			return nil, 0, "", Errorf("%v", err)
		}
		return r, 0, "", nil
	}},
	{pattern(configRestoreRE), func(s *session, ctx context.Context, _, _ string, m []string) (*store.Result, uint64, string, error) {
		rev, _ := strconv.ParseInt(m[1], 10, 64)
		if err := s.a.ConfigRestore(ctx, rev, s.who()); err != nil {
			return nil, 0, "", Errorf("%v", err)
		}
		return nil, 0, "", nil
	}},
	{prefix("SQLGATE "), func(_ *session, _ context.Context, q, _ string, _ []string) (*store.Result, uint64, string, error) {
		return nil, 0, "", Errorf("%s is not a sqlgate command; see SQLGATE CONFIG DIFF <revision> <revision> and SQLGATE CONFIG RESTORE <revision>", q)
	}},
	{prefix("PROXYSQL "), func(_ *session, _ context.Context, q, _ string, _ []string) (*store.Result, uint64, string, error) {
		return nil, 0, "", Errorf("%s is not implemented by sqlgate", q)
	}},
}

// exact matches any of the statements (upper case, whitespace normalised).
func exact(stmts ...string) func(*session, string, string) []string {
	return func(_ *session, _, upper string) []string {
		if slices.Contains(stmts, upper) {
			return []string{upper}
		}
		return nil
	}
}

// prefix matches statements that start with p (upper case).
func prefix(p string) func(*session, string, string) []string {
	return func(_ *session, _, upper string) []string {
		if strings.HasPrefix(upper, p) {
			return []string{upper}
		}
		return nil
	}
}

// pattern matches re and yields its submatches.
func pattern(re *regexp.Regexp) func(*session, string, string) []string {
	return func(_ *session, q, _ string) []string { return re.FindStringSubmatch(q) }
}

// matchFunc adapts a rewrite (a statement answered by another query) to a
// match whose first element is the rewritten query.
func matchFunc(f func(*session, string) (string, bool)) func(*session, string, string) []string {
	return func(s *session, q, _ string) []string {
		if rq, ok := f(s, q); ok {
			return []string{rq}
		}
		return nil
	}
}

// dispatch answers an admin statement: the first of commands that matches,
// or SQLite.
func (s *session) dispatch(ctx context.Context, q string) (*store.Result, uint64, string, error) {
	upper := strings.ToUpper(q)
	for _, c := range commands {
		if m := c.match(s, q, upper); m != nil {
			return c.run(s, ctx, q, upper, m)
		}
	}
	return s.sqlite(ctx, q, upper)
}

// sqlite runs q against the store after refreshing the runtime_* and
// stats_* tables it mentions.
func (s *session) sqlite(ctx context.Context, q, upper string) (*store.Result, uint64, string, error) {
	a := s.a
	if upper == "" {
		upper = strings.ToUpper(q)
	}
	if err := a.Refresh(ctx, upper, false); err != nil {
		return nil, 0, "", err
	}
	st := a.Store()
	conn := st.Conn
	if a.ReadOnly() {
		if _, err := conn.ExecContext(ctx, "PRAGMA query_only=ON"); err == nil {
			defer conn.ExecContext(context.Background(), "PRAGMA query_only=OFF")
		}
	}
	// The client's statement, bounded in time and size (sandbox.go): it
	// runs under the admin mutex.
	sctx, cancel := context.WithTimeout(ctx, store.StatementTimeout)
	defer cancel()
	st.ClientSQL, st.Denied = true, ""
	r, err := store.QueryLimited(sctx, conn, q, store.MaxResultBytes)
	st.ClientSQL = false
	if err != nil {
		return nil, 0, "", clientError(sctx, err, st.Denied, "")
	}
	if len(r.Cols) > 0 {
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

// database is what SELECT DATABASE() answers.
func (s *session) database() string {
	if s.stats {
		return "stats"
	}
	return "admin"
}

// rewriteVariableQuery applies ProxySQL's rewrites of SELECT @@name and
// SHOW VARIABLES WHERE|LIKE into queries on global_variables (the MEMORY
// layer) and stats_mysql_global.
func rewriteVariableQuery(q string) (string, bool) {
	switch {
	case maxPacketRE.MatchString(q):
		return replaceFirst(maxPacketHeadRE, q, "SELECT variable_value AS '@@max_allowed_packet' FROM global_variables WHERE variable_name='mysql-max_allowed_packet'"), true
	case atVarRE.MatchString(q):
		return replaceFirst(atVarHeadRE, q, "SELECT variable_value AS '@@$2' FROM global_variables WHERE variable_name='$2' COLLATE NOCASE UNION ALL SELECT variable_value AS '@@$2' FROM stats.stats_mysql_global WHERE variable_name='$2' COLLATE NOCASE"), true
	case showVarsWhereRE.MatchString(q):
		return replaceFirst(showVarsWhereRE, q, "SELECT variable_name AS Variable_name, variable_value AS Value FROM global_variables WHERE"), true
	case showVarsLikeRE.MatchString(q):
		return replaceFirst(showVarsLikeRE, q, "SELECT variable_name AS Variable_name, variable_value AS Value FROM global_variables WHERE variable_name LIKE"), true
	}
	return "", false
}

// replaceFirst replaces the first match of re in s (RE2::Replace).
func replaceFirst(re *regexp.Regexp, s, repl string) string {
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return s
	}
	return s[:m[0]] + string(re.ExpandString(nil, repl, s, m)) + s[m[1]:]
}

// showRewrite turns ProxySQL's SHOW commands into the queries ProxySQL
// runs for them.
func showRewrite(q, version string) (string, bool) {
	upper := strings.ToUpper(q)
	if !strings.HasPrefix(upper, "SHOW ") {
		return "", false
	}
	switch upper {
	case "SHOW TABLES":
		return "SELECT name AS tables FROM sqlite_master WHERE type='table' AND name NOT IN ('sqlite_sequence') ORDER BY name", true
	case "SHOW CHARSET":
		return "SELECT Charset, Collation AS 'Default collation' FROM mysql_collations WHERE `Default`='Yes'", true
	case "SHOW COLLATION":
		return "SELECT * FROM mysql_collations", true
	case "SHOW MYSQL USERS":
		return "SELECT * FROM mysql_users ORDER BY username, active DESC, username ASC", true
	case "SHOW MYSQL SERVERS":
		return "SELECT * FROM mysql_servers ORDER BY hostgroup_id, hostname, port", true
	case "SHOW GLOBAL VARIABLES", "SHOW ALL VARIABLES", "SHOW VARIABLES":
		return "SELECT variable_name AS Variable_name, variable_value AS Value FROM global_variables ORDER BY variable_name", true
	case "SHOW ADMIN VARIABLES", "SHOW MYSQL VARIABLES":
		prefix := strings.ToLower(strings.Fields(upper)[1])
		return "SELECT variable_name AS Variable_name, variable_value AS Value FROM global_variables WHERE variable_name LIKE '" + prefix + "-%' ORDER BY variable_name", true
	case "SHOW MYSQL STATUS":
		return "SELECT Variable_Name AS Variable_name, Variable_Value AS Value FROM stats_mysql_global ORDER BY variable_name", true
	case "SHOW DATABASES", "SHOW SCHEMAS":
		return "PRAGMA DATABASE_LIST", true
	case "SHOW FULL PROCESSLIST":
		return "SELECT * FROM stats_mysql_processlist", true
	case "SHOW PROCESSLIST":
		return "SELECT SessionID, user, db, hostgroup, command, time_ms, SUBSTR(info,0,100) info FROM stats_mysql_processlist", true
	}
	switch {
	case strings.HasPrefix(upper, "SHOW GLOBAL VARIABLES LIKE 'VERSION'"):
		return "SELECT 'version' Variable_name, " + store.Quote(version) + " Value FROM global_variables WHERE Variable_name='admin-version'", true
	case showScopedVarsLikeRE.MatchString(q):
		// Not in ProxySQL (its SQLite fails on it), but MySQL tools send it.
		return replaceFirst(showScopedVarsLikeRE, q, "SELECT variable_name AS Variable_name, variable_value AS Value FROM global_variables WHERE variable_name LIKE"), true
	case strings.HasPrefix(upper, "SHOW TABLES LIKE "):
		// ProxySQL drops quotes, backquotes and backslashes from the pattern.
		pat := strings.Map(func(r rune) rune {
			if r == '\\' || r == '`' || r == '\'' {
				return -1
			}
			return r
		}, q[len("SHOW TABLES LIKE "):])
		return "SELECT name AS tables FROM sqlite_master WHERE type='table' AND name LIKE " + store.Quote(pat), true
	}
	if m := showTablesIn.FindStringSubmatch(q); m != nil {
		return "SELECT name AS tables FROM " + m[1] + ".sqlite_master WHERE type='table' AND name NOT IN ('sqlite_sequence') ORDER BY name", true
	}
	if m := showCreate.FindStringSubmatch(q); m != nil {
		schema, t := m[1], m[2]
		if schema == "" {
			schema = "main"
		}
		// ProxySQL breaks the stored definition into lines for display.
		return fmt.Sprintf("SELECT name AS 'table' , REPLACE(REPLACE(sql,' , ', X'2C0A20202020'),'CREATE TABLE %[1]s (','CREATE TABLE %[1]s ('||X'0A20202020') AS 'Create Table' FROM %[2]s.sqlite_master WHERE type='table' AND name='%[1]s'", t, schema), true
	}
	return "", false
}

// set runs SET admin-x=value / SET mysql-x=value as ProxySQL does:
// an UPDATE of main.global_variables with the value as an SQL expression,
// so 'text' is text and false, 0 and 1+1 are numbers.
func (s *session) set(ctx context.Context, assignment string) (*store.Result, uint64, string, error) {
	name, value, _ := strings.Cut(assignment, "=")
	name = strings.TrimSpace(name)
	if name == "mysql-init_connect" {
		return nil, 0, "", Errorf("ERROR: Global variable '%s' is not configurable using SET command. You must run UPDATE global_variables", name)
	}
	if !s.a.KnownVariable(name) || strings.ContainsAny(name, "'\\") {
		return nil, 0, fmt.Sprintf("ERROR: Unknown global variable: '%s'.", name), nil
	}
	return s.sqlite(ctx, "UPDATE global_variables SET variable_value="+value+" WHERE variable_name='"+name+"'", "UPDATE")
}

// writeFileAtomic writes via a temporary file and rename.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// clientError turns the error of a client's statement into the message the
// client gets: the time and size bounds and the authorizer's refusals say
// which bound was hit and what to do; other errors are SQLite's words.
func clientError(ctx context.Context, err error, denied, who string) error {
	var se *sqlite.Error
	switch {
	case errors.Is(err, store.ErrResultTooLarge):
		return Errorf("the result exceeds %d MiB, the bound on an admin result; select fewer rows or columns (WHERE, LIMIT)", store.MaxResultBytes>>20)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return Errorf("statement stopped after %s, the time limit of a statement on the admin interface; narrow the query", store.StatementTimeout)
	case errors.As(err, &se) && se.Code() == sqlite3.SQLITE_TOOBIG:
		return Errorf("%s: a value or statement on the admin interface is limited to %d MiB", store.SQLiteMessage(err), map[bool]int{true: store.StatsValueLimit >> 20, false: store.AdminValueLimit >> 20}[who != ""])
	case errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_AUTH || strings.Contains(err.Error(), "not authorized")) && denied != "":
		if who != "" {
			return Errorf("Command not allowed: user %q (admin-stats_credentials) can only read the stats, monitor and stats_history schemas; this statement needs %s", who, denied)
		}
		return Errorf("%s is not allowed on the admin interface: each statement commits on its own, because the admin connection is shared by every session and the cluster (BEGIN, COMMIT and ROLLBACK are accepted and ignored, as in ProxySQL)", denied)
	}
	return Errorf("%s", store.SQLiteMessage(err))
}

// checksumTables are the tables CHECKSUM [DISK|MEMORY] MYSQL <what>
// hashes, with ProxySQL's query for each and the name it reports
// (ProxySQL reports SERVERS SSL PARAMS as MYSQL HOSTGROUP ATTRIBUTES).
var checksumTables = map[string]struct{ query, name string }{
	"SERVERS":                      {"SELECT * FROM %s.mysql_servers ORDER BY hostgroup_id, hostname, port", "MYSQL SERVERS"},
	"USERS":                        {"SELECT * FROM %s.mysql_users ORDER BY username", "MYSQL USERS"},
	"QUERY RULES":                  {"SELECT * FROM %s.mysql_query_rules ORDER BY rule_id", "MYSQL QUERY RULES"},
	"VARIABLES":                    {"SELECT * FROM %s.global_variables WHERE variable_name LIKE 'mysql-%%' ORDER BY variable_name", "MYSQL VARIABLES"},
	"REPLICATION HOSTGROUPS":       {"SELECT * FROM %s.mysql_replication_hostgroups ORDER BY writer_hostgroup", "MYSQL REPLICATION HOSTGROUPS"},
	"GROUP REPLICATION HOSTGROUPS": {"SELECT * FROM %s.mysql_group_replication_hostgroups ORDER BY writer_hostgroup", "MYSQL GROUP REPLICATION HOSTGROUPS"},
	"GALERA HOSTGROUPS":            {"SELECT * FROM %s.mysql_galera_hostgroups ORDER BY writer_hostgroup", "MYSQL GALERA HOSTGROUPS"},
	"AURORA HOSTGROUPS":            {"SELECT * FROM %s.mysql_aws_aurora_hostgroups ORDER BY writer_hostgroup", "MYSQL AURORA HOSTGROUPS"},
	"HOSTGROUP ATTRIBUTES":         {"SELECT * FROM %s.mysql_hostgroup_attributes ORDER BY hostgroup_id", "MYSQL HOSTGROUP ATTRIBUTES"},
	"SERVERS SSL PARAMS":           {"SELECT * FROM %s.mysql_servers_ssl_params ORDER BY hostname, port, username", "MYSQL HOSTGROUP ATTRIBUTES"},
}

// tableChecksum answers CHECKSUM [DISK|MEMORY|MEM] MYSQL <what>: a
// diagnostic hash of the table printed as 0x%X%X without padding.
// DISK exists for the five tables ProxySQL keeps on disk checksums for.
func tableChecksum(ctx context.Context, st *store.Store, layer, what string) (*store.Result, uint64, string, error) {
	schema := "main"
	if layer == "DISK" {
		switch what {
		case "SERVERS", "USERS", "QUERY RULES", "VARIABLES", "REPLICATION HOSTGROUPS":
			schema = "disk"
		default:
			return nil, 0, "", Errorf("CHECKSUM DISK MYSQL %s is not a ProxySQL command; see CHECKSUM MEMORY MYSQL %s", what, what)
		}
	}
	t := checksumTables[what]
	r, err := st.Query(ctx, fmt.Sprintf(t.query, schema))
	if err != nil {
		return nil, 0, "", err
	}
	h := cluster.RawChecksum(r.Rows)
	return &store.Result{Cols: []string{"table", "checksum"}, Rows: [][]*string{store.Row(t.name, fmt.Sprintf("0x%X%X", uint32(h), uint32(h>>32)))}}, 0, "", nil
}
