package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The bounds on what a client's statement may cost the admin plane. They
// apply to the SQL a client sends (not to sqlgate's own statements: LOAD,
// SAVE, the stats refreshes), on admin and stats sessions alike.
const (
	// StatementTimeout stops a client's statement in SQLite (context
	// cancellation interrupts the VM). The admin tables are small and in
	// memory: a real query takes milliseconds, and 10 s is far beyond any
	// of them while short enough that an admin statement, which holds the
	// admin mutex, delays LOAD and cluster pulls by seconds, not minutes.
	StatementTimeout = 10 * time.Second
	// MaxResultBytes bounds a result set as sent on the wire. 64 MiB is the
	// largest statement the admin interface reads; a full
	// stats_mysql_query_digest at its default bound of 200000 digests is
	// about 50 MB.
	MaxResultBytes = 64 << 20
	// AdminValueLimit and StatsValueLimit are SQLite's SQLITE_LIMIT_LENGTH
	// on the admin connection and on stats connections: no string, blob or
	// statement text may be longer, whether computed or read from a table,
	// so randomblob(4e8) fails before it allocates. 64 MiB is the largest
	// statement the admin reads. Stats values are counters and names; only
	// a client's query text in stats_mysql_processlist can be longer than
	// 2 MiB, and reading that row then fails with this limit named.
	AdminValueLimit = 64 << 20
	StatsValueLimit = 2 << 20
	// statsColumnLimit is SQLITE_LIMIT_COLUMN on stats connections (the
	// widest stats table has 16 columns): with StatsValueLimit it bounds
	// the row SQLite holds, before MaxResultBytes can be checked, to 64 MiB.
	statsColumnLimit = 32
	// MaxStatsStatements bounds the stats statements running at once (a
	// further one waits up to StatementTimeout for a slot): however many
	// stats sessions there are, together they hold at most 2 results (64
	// MiB each) and 2 CPUs. Stats queries take milliseconds.
	MaxStatsStatements = 2
	// ResultWriteTimeout bounds the sending of one result: a client that
	// stops reading loses its session instead of holding the result (and,
	// for stats, a slot) forever.
	ResultWriteTimeout = 30 * time.Second
)

// statsSchemas are the schemas a stats session reads: its own empty main
// (so that unqualified names find the stats tables) and the attached stats,
// monitor and stats_history. "" is a CTE or subquery.
var statsSchemas = map[string]bool{"": true, "main": true, "stats": true, "monitor": true, "stats_history": true}

// statsPragmas are the pragmas a stats session may run: read-only
// introspection (SHOW DATABASES is PRAGMA database_list; table_info lets
// tools list columns). Everything else, query_only included, is refused.
var statsPragmas = map[string]bool{"database_list": true, "table_info": true, "table_xinfo": true, "index_list": true,
	"index_info": true, "index_xinfo": true, "foreign_key_list": true, "collation_list": true}

// StatsConn is one stats session's own SQLite connection.
//
// It is read-only by construction rather than by inspecting the statement
// text: it is a separate connection whose main database is private and
// empty, with only the stats and monitor schemas (shared in-memory
// databases) and stats_history (proxysql_stats.db, opened read-only)
// attached; the configuration (main, disk) is not attached, and
// SQLITE_LIMIT_ATTACHED is set to what is attached, so no ATTACH (nor VACUUM
// INTO, which attaches its output file) can add one. On top of that,
// modernc.org/sqlite's authorizer (sqlite3_set_authorizer) is consulted by
// SQLite while it compiles each statement, whatever its text, comments or
// position in a multi-statement: it allows reading those schemas, calling
// functions, recursive CTEs and the introspection pragmas, and denies every
// other action (writes, DDL, ATTACH/DETACH/VACUUM, transactions and
// savepoints, other pragmas). PRAGMA query_only=ON stays as a third layer.
//
// read_uncommitted makes its reads take no shared-cache table locks, so a
// stats query never makes the admin connection wait to refresh a table,
// and the admin's refreshes never block it; stats_history is in WAL mode
// for the same reason. A statement's time and result size are bounded
// (StatementTimeout, MaxResultBytes, StatsValueLimit, statsColumnLimit,
// MaxStatsStatements), and closing the
// session closes the connection, with anything it held.
type StatsConn struct {
	db     *sql.DB
	Conn   *sql.Conn
	Denied string // what the authorizer refused last, for the error
}

// OpenStatsConn opens a stats session's connection (see StatsConn).
func (st *Store) OpenStatsConn(ctx context.Context) (*StatsConn, error) {
	db, conn, err := openConn(ctx, ":memory:")
	if err != nil {
		return nil, err
	}
	sc := &StatsConn{db: db, Conn: conn}
	hist, err := filepath.Abs(st.HistoryPath)
	if err != nil {
		sc.Close()
		return nil, err
	}
	histURI := (&url.URL{Scheme: "file", Path: hist, RawQuery: "mode=ro"}).String()
	for _, q := range []string{"ATTACH DATABASE " + Quote(st.statsURI) + " AS stats", "ATTACH DATABASE " + Quote(st.monURI) + " AS monitor",
		"ATTACH DATABASE " + Quote(histURI) + " AS stats_history", "PRAGMA read_uncommitted=ON", "PRAGMA query_only=ON"} {
		if _, err := sc.Conn.ExecContext(ctx, q); err != nil {
			sc.Close()
			return nil, fmt.Errorf("stats connection: %s: %w", q, err)
		}
	}
	for _, l := range []struct{ id, val int }{
		{sqlite3.SQLITE_LIMIT_ATTACHED, 3}, {sqlite3.SQLITE_LIMIT_LENGTH, StatsValueLimit}, {sqlite3.SQLITE_LIMIT_COLUMN, statsColumnLimit}} {
		if _, err := sqlite.Limit(sc.Conn, l.id, l.val); err != nil {
			sc.Close()
			return nil, fmt.Errorf("stats connection: limit %d: %w", l.id, err)
		}
	}
	err = sc.Conn.Raw(func(dc any) error {
		r, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("the SQLite driver (%T) has no authorizer", dc)
		}
		return r.RegisterAuthorizer(sc.authorize)
	})
	if err != nil {
		sc.Close()
		return nil, fmt.Errorf("stats connection: %w", err)
	}
	return sc, nil
}

// authorize is the stats connection's SQLite authorizer: reads only.
func (sc *StatsConn) authorize(action sqlite.AuthorizerActionCode, arg1, arg2, db, _ string) sqlite.AuthorizerReturnCode {
	switch action {
	case sqlite.AuthSelect, sqlite.AuthRecursive, sqlite.AuthFunction:
		return sqlite.AuthorizerOK
	case sqlite.AuthRead:
		if statsSchemas[db] {
			return sqlite.AuthorizerOK
		}
		sc.Denied = "reading schema " + db
		return sqlite.AuthorizerDeny
	case sqlite.AuthPragma:
		if statsPragmas[strings.ToLower(arg1)] {
			return sqlite.AuthorizerOK
		}
	}
	sc.Denied = describeAction(action, arg1, arg2, db)
	return sqlite.AuthorizerDeny
}

// describeAction names what a denied statement tried, for the error.
func describeAction(action sqlite.AuthorizerActionCode, arg1, arg2, db string) string {
	obj := arg1
	if db != "" && db != "main" {
		obj = db + "." + arg1
	}
	switch action {
	case sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete:
		verb := map[sqlite.AuthorizerActionCode]string{sqlite.AuthInsert: "INSERT into", sqlite.AuthUpdate: "UPDATE of", sqlite.AuthDelete: "DELETE from"}[action]
		return verb + " " + obj
	case sqlite.AuthPragma:
		if arg2 != "" {
			return "PRAGMA " + arg1 + "=" + arg2
		}
		return "PRAGMA " + arg1
	case sqlite.AuthAttach:
		if arg1 == "" {
			return "VACUUM"
		}
		return "ATTACH or VACUUM INTO of " + Quote(arg1)
	case sqlite.AuthDetach:
		return "DETACH of " + arg1
	case sqlite.AuthTransaction, sqlite.AuthSavepoint:
		return "a transaction (" + strings.TrimSpace(arg1+" "+arg2) + ")"
	}
	return fmt.Sprintf("a statement that changes the database (SQLite action %d on %s)", int(action), obj)
}

func (sc *StatsConn) Close() {
	if sc.Conn != nil {
		sc.Conn.Close()
	}
	sc.db.Close()
}

// adminAuthorizer is the admin connection's authorizer. It lets sqlgate's
// own statements do anything, and refuses a client's statement only what
// would outlive it on the connection every session and the cluster share:
// a transaction or savepoint left open would block every LOAD and refresh.
// (BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE themselves are answered
// OK and ignored, as ProxySQL does; this catches the forms that dispatch
// does not recognise, such as a comment before BEGIN.)
func (st *Store) adminAuthorizer(action sqlite.AuthorizerActionCode, arg1, arg2, _, _ string) sqlite.AuthorizerReturnCode {
	if st.ClientSQL && (action == sqlite.AuthTransaction || action == sqlite.AuthSavepoint) {
		st.Denied = "a transaction (" + strings.TrimSpace(arg1+" "+arg2) + ")"
		return sqlite.AuthorizerDeny
	}
	return sqlite.AuthorizerOK
}

// ErrResultTooLarge is returned by QueryConn beyond its byte bound.
var ErrResultTooLarge = errors.New("result too large")

// lenEncSize is the size of a length-encoded integer on the wire.
func lenEncSize(n int) int {
	switch {
	case n < 251:
		return 1
	case n < 1<<16:
		return 3
	case n < 1<<24:
		return 4
	}
	return 9
}
