package admin

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"sqlgate/internal/runtime"

	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// store is the admin SQLite database: the in-memory main schema (MEMORY
// layer and runtime_* mirrors) with disk (DATADIR/proxysql.db), stats and
// monitor attached, as ProxySQL lays it out.
//
// All access goes through one connection, serialised by Admin.mu, like
// ProxySQL's global admin mutex. Each stats session has a connection of its
// own that sees only the stats, monitor and stats_history schemas, and only
// reads them (statsConn, sandbox.go), so it cannot see passwords in
// mysql_users, and runs without the admin mutex.
type store struct {
	db          *sql.DB
	conn        *sql.Conn
	path        string        // disk database file
	historyPath string        // stats_history database file (proxysql_stats.db)
	statsURI    string        // the stats schema, shared in memory
	monURI      string        // the monitor schema, shared in memory
	done        chan struct{} // closed by close
	historyOnce sync.Once
	history     historyState // the stats_history sampler's timers (history.go)
	// statsSlots bounds the stats statements running at once.
	statsSlots chan struct{}
	// clientSQL is set, under Admin.mu, while a client's statement runs on
	// conn; denied is what adminAuthorizer refused then.
	clientSQL bool
	denied    string
}

// openStore opens the databases and creates every table. A disk file that
// is not a usable SQLite database is an error naming it.
func openStore(ctx context.Context, diskPath string) (*store, error) {
	var rnd [6]byte
	rand.Read(rnd[:])
	tag := hex.EncodeToString(rnd[:])
	mainURI := "file:sqlgate_main_" + tag + "?mode=memory&cache=shared"
	statsURI := "file:sqlgate_stats_" + tag + "?mode=memory&cache=shared"
	monURI := "file:sqlgate_monitor_" + tag + "?mode=memory&cache=shared"

	db, err := sql.Open("sqlite", mainURI)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &store{db: db, conn: conn, path: diskPath, historyPath: filepath.Join(filepath.Dir(diskPath), "proxysql_stats.db"),
		statsURI: statsURI, monURI: monURI, done: make(chan struct{}), statsSlots: make(chan struct{}, maxStatsStatements)}
	fail := func(err error) (*store, error) {
		s.close()
		return nil, err
	}
	// ProxySQL's order, which SHOW DATABASES shows: disk, stats, monitor,
	// stats_history.
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE "+quote(diskPath)+" AS disk"); err != nil {
		return fail(fmt.Errorf("%s: cannot open the configuration database (%s); move it away, or start with --initial to rebuild it from the configuration file", diskPath, sqliteMessage(err)))
	}
	for _, q := range []string{
		"ATTACH DATABASE " + quote(statsURI) + " AS stats",
		"ATTACH DATABASE " + quote(monURI) + " AS monitor",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("admin store: %s: %w", q, err))
		}
	}
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE "+quote(s.historyPath)+" AS stats_history"); err != nil {
		return fail(fmt.Errorf("%s: cannot open the statistics history database (%s); move it away", s.historyPath, sqliteMessage(err)))
	}
	// A file that is not a database only fails on first read.
	var ok string
	if err := conn.QueryRowContext(ctx, "PRAGMA disk.quick_check").Scan(&ok); err != nil || ok != "ok" {
		if err == nil {
			err = errors.New(ok)
		}
		return fail(fmt.Errorf("%s: the configuration database is corrupt or not an SQLite database (%v); move it away, or start with --initial to rebuild it from the configuration file", diskPath, err))
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA disk.synchronous=FULL"); err != nil {
		return fail(err)
	}
	// The history is statistics: a torn last sample after a crash is
	// acceptable, an fsync per sample is not. WAL: a stats session reading
	// the history never makes the sampler wait or fail, nor the reverse.
	// (Where WAL is impossible the file keeps its journal and a sample may
	// be lost while a long read runs; that is logged.)
	conn.ExecContext(ctx, "PRAGMA stats_history.journal_mode=WAL")
	if _, err := conn.ExecContext(ctx, "PRAGMA stats_history.synchronous=OFF"); err != nil {
		return fail(err)
	}
	for _, t := range diskTables {
		if err := s.createTable(ctx, "disk", t); err != nil {
			return fail(fmt.Errorf("%s: %w", diskPath, err))
		}
	}
	if _, err := conn.ExecContext(ctx, epochsDDL); err != nil {
		return fail(fmt.Errorf("%s: %w", diskPath, err))
	}
	for _, t := range mainTables {
		if err := s.createTable(ctx, "main", t); err != nil {
			return fail(err)
		}
	}
	if err := s.fillCollations(ctx); err != nil {
		return fail(err)
	}
	for _, t := range statsTables {
		if err := s.createTable(ctx, "stats", t); err != nil {
			return fail(err)
		}
	}
	// ProxySQL's only row there.
	if _, err := conn.ExecContext(ctx, "INSERT OR IGNORE INTO stats.global_variables VALUES('mysql-max_allowed_packet',4194304)"); err != nil {
		return fail(err)
	}
	for _, t := range monitorTables {
		if err := s.createTable(ctx, "monitor", t); err != nil {
			return fail(err)
		}
	}
	for _, t := range historyTables {
		if err := s.createTable(ctx, "stats_history", t); err != nil {
			return fail(fmt.Errorf("%s: %w", s.historyPath, err))
		}
	}
	for _, ix := range monitorIndexes {
		if err := s.createIndex(ctx, "monitor", ix); err != nil {
			return fail(err)
		}
	}
	for _, ix := range historyIndexes {
		if err := s.createIndex(ctx, "stats_history", ix); err != nil {
			return fail(fmt.Errorf("%s: %w", s.historyPath, err))
		}
	}

	if _, err := sqlite.Limit(conn, sqlite3.SQLITE_LIMIT_LENGTH, adminValueLimit); err != nil {
		return fail(fmt.Errorf("admin store: %w", err))
	}
	if err := conn.Raw(func(dc any) error {
		r, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("the SQLite driver (%T) has no authorizer", dc)
		}
		return r.RegisterAuthorizer(s.adminAuthorizer)
	}); err != nil {
		return fail(fmt.Errorf("admin store: %w", err))
	}
	return s, nil
}

var (
	createTableRE = regexp.MustCompile(`^CREATE TABLE (IF NOT EXISTS )?(\w+)`)
	createIndexRE = regexp.MustCompile(`^CREATE INDEX (\w+)`)
)

// createIndex creates one of ProxySQL's indexes in schema.
func (s *store) createIndex(ctx context.Context, schema, ddl string) error {
	ddl = createIndexRE.ReplaceAllString(ddl, "CREATE INDEX IF NOT EXISTS "+schema+".$1")
	if _, err := s.conn.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("admin store: %s: %w", ddl, err)
	}
	return nil
}

// fillCollations fills main.mysql_collations as ProxySQL does: every
// collation of the client library (for an id listed twice, the last one),
// the lowest id of each charset marked as its default with 'Yes'.
func (s *store) fillCollations(ctx context.Context) error {
	byID := map[int]runtime.Collation{}
	first := map[string]int{}
	for _, c := range runtime.Collations {
		byID[c.ID] = c
	}
	for id, c := range byID {
		if f, ok := first[c.Charset]; !ok || id < f {
			first[c.Charset] = id
		}
	}
	return s.tx(ctx, func() error {
		if _, err := s.conn.ExecContext(ctx, "DELETE FROM main.mysql_collations"); err != nil {
			return err
		}
		for id, c := range byID {
			def := ""
			if first[c.Charset] == id {
				def = "Yes"
			}
			if _, err := s.conn.ExecContext(ctx, "INSERT INTO main.mysql_collations VALUES (?, ?, ?, ?)", id, c.Name, c.Charset, def); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *store) createTable(ctx context.Context, schema string, t table) error {
	ddl := createTableRE.ReplaceAllString(t.ddl, "CREATE TABLE IF NOT EXISTS "+schema+"."+t.name)
	if _, err := s.conn.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("admin store: create %s.%s: %w", schema, t.name, err)
	}
	return nil
}

func (s *store) close() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	if s.conn != nil {
		s.conn.Close()
	}
	s.db.Close()
}

// closed reports whether close has run.
func (s *store) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// exec runs statements in order on the admin connection.
func (s *store) exec(ctx context.Context, stmts ...string) error {
	for _, q := range stmts {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", firstLine(q), err)
		}
	}
	return nil
}

// tx runs fn inside a transaction on the admin connection: all or nothing.
func (s *store) tx(ctx context.Context, fn func() error) error {
	if _, err := s.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		s.conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
		s.conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	return nil
}

// result is a fully read query result; admin tables are small.
type result struct {
	cols []string
	rows [][]*string
}

// query runs q and reads every row as text (nil for NULL).
func (s *store) query(ctx context.Context, q string, args ...any) (*result, error) {
	return queryConn(ctx, s.conn, q, args...)
}

func queryConn(ctx context.Context, c *sql.Conn, q string, args ...any) (*result, error) {
	return queryLimited(ctx, c, q, 0, args...)
}

// queryLimited is queryConn failing with errResultTooLarge once the rows
// read would take more than limit bytes on the wire (0: no limit).
func queryLimited(ctx context.Context, c *sql.Conn, q string, limit int, args ...any) (*result, error) {
	rows, err := c.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	r := &result{cols: cols}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	size := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]*string, len(cols))
		size += 4 // the packet header
		for i, v := range vals {
			size++ // NULL
			if v.Valid {
				s := v.String
				row[i] = &s
				size += len(s) + lenEncSize(len(s)) - 1
			}
		}
		if limit > 0 && size > limit {
			return nil, errResultTooLarge
		}
		r.rows = append(r.rows, row)
	}
	return r, rows.Err()
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func firstLine(q string) string {
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		q = q[:i]
	}
	if len(q) > 120 {
		q = q[:120] + "..."
	}
	return q
}

// sqliteMessage strips the driver's decorations ("SQL logic error: ",
// " (1)") from an SQLite error, leaving SQLite's own words.
func sqliteMessage(err error) string {
	m := err.Error()
	for _, p := range []string{"SQL logic error: ", "constraint failed: "} {
		m = strings.TrimPrefix(m, p)
	}
	if i := strings.LastIndex(m, " ("); i > 0 && strings.HasSuffix(m, ")") {
		if _, err := fmt.Sscanf(m[i:], " (%d)", new(int)); err == nil {
			m = m[:i]
		}
	}
	return m
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
