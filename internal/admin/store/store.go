// Package store is the admin interface's SQLite database, laid out as
// ProxySQL lays it out: the main schema (the MEMORY layer and the
// runtime_* mirrors) in memory, with disk (DATADIR/proxysql.db), stats,
// monitor and stats_history (DATADIR/proxysql_stats.db) attached, every
// table byte for byte ProxySQL 2.7.2's. It also opens the read-only,
// bounded connections stats sessions query through. What the tables mean
// (LOAD, SAVE, refreshes) is the admin package's.
package store

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
// reads them (StatsConn, sandbox.go), so it cannot see passwords in
// mysql_users, and runs without the admin mutex.
type Store struct {
	db          *sql.DB
	Conn        *sql.Conn     // the admin connection; callers hold Admin.mu
	Path        string        // disk database file
	HistoryPath string        // stats_history database file (proxysql_stats.db)
	statsURI    string        // the stats schema, shared in memory
	monURI      string        // the monitor schema, shared in memory
	done        chan struct{} // closed by close
	// statsSlots bounds the stats statements running at once.
	StatsSlots chan struct{}
	// clientSQL is set, under Admin.mu, while a client's statement runs on
	// conn; denied is what adminAuthorizer refused then.
	ClientSQL bool
	Denied    string
}

// Open opens the databases and creates every table. A disk file that
// is not a usable SQLite database is an error naming it.
func Open(ctx context.Context, diskPath string) (*Store, error) {
	var rnd [6]byte
	rand.Read(rnd[:])
	tag := hex.EncodeToString(rnd[:])
	mainURI := "file:sqlgate_main_" + tag + "?mode=memory&cache=shared"
	statsURI := "file:sqlgate_stats_" + tag + "?mode=memory&cache=shared"
	monURI := "file:sqlgate_monitor_" + tag + "?mode=memory&cache=shared"

	db, conn, err := openConn(ctx, mainURI)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, Conn: conn, Path: diskPath, HistoryPath: filepath.Join(filepath.Dir(diskPath), "proxysql_stats.db"),
		statsURI: statsURI, monURI: monURI, done: make(chan struct{}), StatsSlots: make(chan struct{}, MaxStatsStatements)}
	fail := func(err error) (*Store, error) {
		s.Close()
		return nil, err
	}
	// ProxySQL's order, which SHOW DATABASES shows: disk, stats, monitor,
	// stats_history.
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE "+Quote(diskPath)+" AS disk"); err != nil {
		return fail(fmt.Errorf("%s: cannot open the configuration database (%s); move it away, or start with --initial to rebuild it from the configuration file", diskPath, SQLiteMessage(err)))
	}
	for _, q := range []string{
		"ATTACH DATABASE " + Quote(statsURI) + " AS stats",
		"ATTACH DATABASE " + Quote(monURI) + " AS monitor",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("admin store: %s: %w", q, err))
		}
	}
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE "+Quote(s.HistoryPath)+" AS stats_history"); err != nil {
		return fail(fmt.Errorf("%s: cannot open the statistics history database (%s); move it away", s.HistoryPath, SQLiteMessage(err)))
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
	for _, ddl := range []string{EpochsDDL, HistoryDDL} {
		if _, err := conn.ExecContext(ctx, ddl); err != nil {
			return fail(fmt.Errorf("%s: %w", diskPath, err))
		}
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
			return fail(fmt.Errorf("%s: %w", s.HistoryPath, err))
		}
	}
	for _, ix := range monitorIndexes {
		if err := s.createIndex(ctx, "monitor", ix); err != nil {
			return fail(err)
		}
	}
	for _, ix := range historyIndexes {
		if err := s.createIndex(ctx, "stats_history", ix); err != nil {
			return fail(fmt.Errorf("%s: %w", s.HistoryPath, err))
		}
	}

	if _, err := sqlite.Limit(conn, sqlite3.SQLITE_LIMIT_LENGTH, AdminValueLimit); err != nil {
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
func (s *Store) createIndex(ctx context.Context, schema, ddl string) error {
	ddl = createIndexRE.ReplaceAllString(ddl, "CREATE INDEX IF NOT EXISTS "+schema+".$1")
	if _, err := s.Conn.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("admin store: %s: %w", ddl, err)
	}
	return nil
}

// fillCollations fills main.mysql_collations as ProxySQL does: every
// collation of the client library (for an id listed twice, the last one),
// the lowest id of each charset marked as its default with 'Yes'.
func (s *Store) fillCollations(ctx context.Context) error {
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
	return s.Tx(ctx, func() error {
		if _, err := s.Conn.ExecContext(ctx, "DELETE FROM main.mysql_collations"); err != nil {
			return err
		}
		for id, c := range byID {
			def := ""
			if first[c.Charset] == id {
				def = "Yes"
			}
			if _, err := s.Conn.ExecContext(ctx, "INSERT INTO main.mysql_collations VALUES (?, ?, ?, ?)", id, c.Name, c.Charset, def); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) createTable(ctx context.Context, schema string, t table) error {
	ddl := createTableRE.ReplaceAllString(t.ddl, "CREATE TABLE IF NOT EXISTS "+schema+"."+t.name)
	if _, err := s.Conn.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("admin store: create %s.%s: %w", schema, t.name, err)
	}
	return nil
}

func (s *Store) Close() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	if s.Conn != nil {
		s.Conn.Close()
	}
	s.db.Close()
}

// openConn opens uri as a database of exactly one connection that is never
// recycled: the in-memory schemas live as long as it does, and ATTACH and
// limits apply to a connection, not to the pool.
func openConn(ctx context.Context, uri string) (*sql.DB, *sql.Conn, error) {
	db, err := sql.Open("sqlite", uri)
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, conn, nil
}

// Done is closed when Close runs.
func (s *Store) Done() <-chan struct{} { return s.done }

// Closed reports whether Close has run.
func (s *Store) Closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Exec runs statements in order on the admin connection.
func (s *Store) Exec(ctx context.Context, stmts ...string) error {
	for _, q := range stmts {
		if _, err := s.Conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", FirstLine(q), err)
		}
	}
	return nil
}

// Tx runs fn inside a transaction on the admin connection: all or nothing.
func (s *Store) Tx(ctx context.Context, fn func() error) error {
	if _, err := s.Conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		s.Conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	if _, err := s.Conn.ExecContext(ctx, "COMMIT"); err != nil {
		s.Conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	return nil
}

// Deref is the text of a column value, "" for NULL.
func Deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Row is a result row of non-NULL values.
func Row(vals ...string) []*string {
	out := make([]*string, len(vals))
	for i := range vals {
		out[i] = &vals[i]
	}
	return out
}

// Result is a fully read query result; admin tables are small.
type Result struct {
	Cols []string
	Rows [][]*string
}

// Query runs q and reads every row as text (nil for NULL).
func (s *Store) Query(ctx context.Context, q string, args ...any) (*Result, error) {
	return QueryConn(ctx, s.Conn, q, args...)
}

func QueryConn(ctx context.Context, c *sql.Conn, q string, args ...any) (*Result, error) {
	return QueryLimited(ctx, c, q, 0, args...)
}

// QueryLimited is QueryConn failing with ErrResultTooLarge once the rows
// read would take more than limit bytes on the wire (0: no limit).
func QueryLimited(ctx context.Context, c *sql.Conn, q string, limit int, args ...any) (*Result, error) {
	rows, err := c.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	r := &Result{Cols: cols}
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
			return nil, ErrResultTooLarge
		}
		r.Rows = append(r.Rows, row)
	}
	return r, rows.Err()
}

func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func FirstLine(q string) string {
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		q = q[:i]
	}
	if len(q) > 120 {
		q = q[:120] + "..."
	}
	return q
}

// SQLiteMessage strips the driver's decorations ("SQL logic error: ",
// " (1)") from an SQLite error, leaving SQLite's own words.
func SQLiteMessage(err error) string {
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

// FileExists reports whether path names an existing file.
func FileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// EpochsDDL keeps, next to the saved configuration, when each module's
// configuration was created: the epoch that survives a restart, so a node
// that boots from disk presents its real age to its peers (the cure for
// ProxySQL's version-1 trap, see the admin's bootEpochs).
const EpochsDDL = "CREATE TABLE IF NOT EXISTS disk.sqlgate_config_epochs (name VARCHAR NOT NULL PRIMARY KEY, checksum VARCHAR NOT NULL, epoch INT NOT NULL)"

// HistoryDDL is the configuration history: one revision per change of a
// module's runtime content, with who made it and the whole content as
// peers fetch it (JSON), for SQLGATE CONFIG DIFF and RESTORE. It is kept
// in proxysql.db, which only admin users read: the content of mysql_users
// holds passwords.
const HistoryDDL = "CREATE TABLE IF NOT EXISTS disk.sqlgate_config_history (revision INTEGER PRIMARY KEY AUTOINCREMENT, " +
	"time INT NOT NULL, module VARCHAR NOT NULL, version INT NOT NULL, epoch INT NOT NULL, checksum VARCHAR NOT NULL, " +
	"source VARCHAR NOT NULL, content VARCHAR NOT NULL)"
