package admin

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

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
	db      *sql.DB
	conn    *sql.Conn
	statsDB *sql.DB
	stats   *sql.Conn
	path    string // disk database file
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
	s := &store{db: db, conn: conn, path: diskPath}
	fail := func(err error) (*store, error) {
		s.close()
		return nil, err
	}
	for _, q := range []string{
		"ATTACH DATABASE " + quote(statsURI) + " AS stats",
		"ATTACH DATABASE " + quote(monURI) + " AS monitor",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("admin store: %s: %w", q, err))
		}
	}
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE "+quote(diskPath)+" AS disk"); err != nil {
		return fail(fmt.Errorf("%s: cannot open the configuration database (%s); move it away, or start with --initial to rebuild it from the configuration file", diskPath, sqliteMessage(err)))
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
	for _, t := range configTables {
		if err := s.createTable(ctx, "main", t); err != nil {
			return fail(err)
		}
		if err := s.createTable(ctx, "disk", t); err != nil {
			return fail(fmt.Errorf("%s: %w", diskPath, err))
		}
	}
	if err := s.createTable(ctx, "disk", table{"global_settings", globalSettingsDDL}); err != nil {
		return fail(fmt.Errorf("%s: %w", diskPath, err))
	}
	if _, err := conn.ExecContext(ctx, epochsDDL); err != nil {
		return fail(fmt.Errorf("%s: %w", diskPath, err))
	}
	for _, t := range runtimeTables {
		if err := s.createTable(ctx, "main", t); err != nil {
			return fail(err)
		}
	}
	for _, t := range statsTables {
		if err := s.createTable(ctx, "stats", t); err != nil {
			return fail(err)
		}
	}
	for _, t := range monitorTables {
		if err := s.createTable(ctx, "monitor", t); err != nil {
			return fail(err)
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
	for _, q := range []string{"ATTACH DATABASE " + quote(statsURI) + " AS stats", "ATTACH DATABASE " + quote(monURI) + " AS monitor", "PRAGMA query_only=ON"} {
		if _, err := s.stats.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("admin store: %s: %w", q, err))
		}
	}
	return s, nil
}

var createTableRE = regexp.MustCompile(`^CREATE TABLE (IF NOT EXISTS )?(\w+)`)

func (s *store) createTable(ctx context.Context, schema string, t table) error {
	ddl := createTableRE.ReplaceAllString(t.ddl, "CREATE TABLE IF NOT EXISTS "+schema+"."+t.name)
	if _, err := s.conn.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("admin store: create %s.%s: %w", schema, t.name, err)
	}
	return nil
}

func (s *store) close() {
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
