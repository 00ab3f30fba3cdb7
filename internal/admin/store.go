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

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// store is the admin SQLite database: the in-memory main schema (MEMORY
// layer and runtime_* mirrors) with disk (DATADIR/proxysql.db), stats and
// monitor attached, as ProxySQL lays it out.
//
// All access goes through one connection, serialised by Admin.mu, like
// ProxySQL's global admin mutex. Stats sessions use a second connection that
// opens only the stats and monitor schemas, read-only, so they cannot see
// passwords in mysql_users.
type store struct {
	db          *sql.DB
	conn        *sql.Conn
	statsDB     *sql.DB
	stats       *sql.Conn
	path        string        // disk database file
	historyPath string        // stats_history database file (proxysql_stats.db)
	done        chan struct{} // closed by close
	historyOnce sync.Once
	history     historyState // the stats_history sampler's timers (history.go)
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
		done: make(chan struct{})}
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
	// acceptable, an fsync per sample is not.
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

	// The stats session gets an empty main schema with stats and monitor
	// attached: unqualified names find the stats tables, and
	// "stats.stats_mysql_global" works as it does for the admin user.
	sdb, err := sql.Open("sqlite", "file:sqlgate_statsmain_"+tag+"?mode=memory")
	if err != nil {
		return fail(err)
	}
	sdb.SetMaxOpenConns(1)
	sdb.SetMaxIdleConns(1)
	sdb.SetConnMaxLifetime(0)
	sdb.SetConnMaxIdleTime(0)
	s.statsDB = sdb
	if s.stats, err = sdb.Conn(ctx); err != nil {
		return fail(err)
	}
	for _, q := range []string{"ATTACH DATABASE " + quote(statsURI) + " AS stats", "ATTACH DATABASE " + quote(monURI) + " AS monitor",
		"ATTACH DATABASE " + quote(s.historyPath) + " AS stats_history", "PRAGMA query_only=ON"} {
		if _, err := s.stats.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("admin store: %s: %w", q, err))
		}
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
	if s.stats != nil {
		s.stats.Close()
	}
	if s.statsDB != nil {
		s.statsDB.Close()
	}
	if s.conn != nil {
		s.conn.Close()
	}
	s.db.Close()
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
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]*string, len(cols))
		for i, v := range vals {
			if v.Valid {
				s := v.String
				row[i] = &s
			}
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
