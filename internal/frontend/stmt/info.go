// Package stmt is what sqlgate knows about a client's statements: the
// classification a session routes and accounts a statement by (Info), and
// the prepared statements, both the registry that shares one statement's
// metadata among every session that prepares it (Registry) and the
// statements as one client sees them (Handle).
package stmt

import (
	"strings"
	"time"

	"sqlgate/internal/digest"
	"sqlgate/internal/router"
	"sqlgate/internal/wire"
)

// Info is what a session learned about a statement before running it.
type Info struct {
	Cmd       router.CommandType
	Flags     router.StmtFlags
	Set       []router.Assignment
	IsSet     bool
	SetParsed bool
	UserVar   bool   // the digest references a user variable (@x, not @@x)
	Hash      uint64 // digest.Hash of the digest text, computed once

	// Set by query rules and annotations; the zero value means "not set"
	// so that an Info{} literal changes nothing.
	Retries   int           // the rule's retries + 1; overrides mysql-query_retries_on_failure
	Multiplex int           // the rule's multiplex + 1 (MultiplexNone when not set)
	Timeout   time.Duration // KILL QUERY after this long
	NewConn   bool          // create_new_connection=1: never reuse a pooled connection

	// SideEffects: a SELECT that calls a function not known to be free of
	// side effects (GET_LOCK, SLEEP, NEXTVAL, a stored function...), so
	// running it twice is not harmless.
	SideEffects bool

	// DropsSchema is the database a DROP DATABASE removes: when it is the
	// current one, the server's default database becomes NULL.
	DropsSchema string
}

// Info.Multiplex values: a query rule's multiplex column plus one.
const (
	MultiplexNone    = iota
	MultiplexOff     // multiplex=0: keep the connection attached
	MultiplexOn      // multiplex=1: clear an earlier multiplex=0
	MultiplexKeepVar // multiplex=2: @variables in this query do not pin
)

// Classify computes the digest of q and what routing, multiplexing and
// the statistics need to know about it. keepVars is
// mysql-keep_multiplexing_variables. The digest text and the first
// comment (for annotations) are returned too.
func Classify(q string, keepVars []string) (info Info, digestText, comment string) {
	dtext, comment := digest.Of(q)
	info = Info{Cmd: router.Classify(dtext), Hash: digest.Hash(dtext)}
	info.Flags = router.StatementFlags(dtext, keepVars)
	if info.Flags&router.FlagUserVariable != 0 {
		info.UserVar = containsUserVariable(dtext)
	}
	if info.Cmd == router.CmdSelect {
		info.SideEffects = router.CallsUnsafeFunction(dtext)
	}
	return info, dtext, comment
}

// MaxRetries is how often the statement may be retried after its
// connection failed; def is mysql-query_retries_on_failure, which a rule's
// retries overrides.
func (i *Info) MaxRetries(def int) int {
	if i.Retries > 0 {
		return i.Retries - 1
	}
	return def
}

// RetrySafe reports whether the statement can be re-run on another
// connection after its connection failed before any reply: it must not
// change data, so running it twice is harmless.
func (i *Info) RetrySafe() bool {
	switch i.Cmd {
	case router.CmdShow, router.CmdSet, router.CmdUse:
		return true
	case router.CmdSelect:
		return !i.SideEffects
	}
	return false
}

// containsUserVariable scans a digest (where string literals are already
// replaced by ?) for an @ that does not belong to @@. User variables (@x)
// are state that lives on one connection; system variables (@@x) need no
// pinning because tracked variables are replayed on every connection.
func containsUserVariable(digest string) bool {
	for i := 0; i < len(digest); i++ {
		if digest[i] != '@' {
			continue
		}
		if i+1 < len(digest) && digest[i+1] == '@' {
			i++
			continue
		}
		return true
	}
	return false
}

// IsBareEnd reports a plain COMMIT or ROLLBACK (no AND CHAIN, no
// savepoint), given its digest text.
func IsBareEnd(digest string) bool {
	d := strings.TrimSpace(digest)
	return strings.EqualFold(d, "commit") || strings.EqualFold(d, "rollback")
}

// ParseDropSchema extracts the name of "DROP {DATABASE|SCHEMA} [IF EXISTS] db".
func ParseDropSchema(q string) (string, bool) {
	f := strings.Fields(strings.TrimRight(strings.TrimSpace(q), "; \t\n"))
	if len(f) < 3 || !strings.EqualFold(f[0], "drop") || !strings.EqualFold(f[1], "database") && !strings.EqualFold(f[1], "schema") {
		return "", false
	}
	f = f[2:]
	if len(f) == 3 && strings.EqualFold(f[0], "if") && strings.EqualFold(f[1], "exists") {
		f = f[2:]
	}
	if len(f) != 1 {
		return "", false
	}
	db := f[0]
	if len(db) >= 2 && db[0] == '`' && db[len(db)-1] == '`' {
		db = strings.ReplaceAll(db[1:len(db)-1], "``", "`")
	}
	return db, db != ""
}

// ParseUse extracts the schema of "USE db" / "USE `db`".
func ParseUse(q string) (string, bool) {
	q = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(q), ";"))
	if len(q) < 4 || !strings.EqualFold(q[:3], "use") || (q[3] != ' ' && q[3] != '\t' && q[3] != '\n' && q[3] != '`') {
		return "", false
	}
	db := strings.TrimSpace(q[3:])
	if len(db) >= 2 && db[0] == '`' && db[len(db)-1] == '`' {
		db = strings.ReplaceAll(db[1:len(db)-1], "``", "`")
	} else if strings.ContainsAny(db, " \t\n") || db == "" {
		return "", false
	}
	return db, true
}

// IdleAfter reports whether a client is likely idle after the reply to
// command p, rather than about to send the next part of one operation:
// after COM_STMT_PREPARE comes the EXECUTE, after SET NAMES or USE on a new
// connection comes the application's statement, after BEGIN the
// transaction. Hanging up there would lose that next command; a client
// only checks for a closed connection when it takes it from its pool.
func IdleAfter(p []byte) bool {
	switch p[0] {
	case wire.ComStmtExecute, wire.ComPing:
		return true
	case wire.ComQuery:
		q := p[1:]
		for len(q) > 0 && (q[0] == ' ' || q[0] == '\t' || q[0] == '\n' || q[0] == '\r' || q[0] == '(') {
			q = q[1:]
		}
		for _, kw := range []string{"SET", "USE", "BEGIN", "START", "LOCK", "PREPARE", "XA"} {
			if len(q) >= len(kw) && strings.EqualFold(string(q[:len(kw)]), kw) {
				return false
			}
		}
		return true
	}
	return false
}
