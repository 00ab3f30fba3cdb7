// Package router decides where statements go: statement classification
// and the flags that affect multiplexing (from the digest text, see
// package digest), the SET parser, query rules and annotations.
package router

import "strings"

// CommandType classifies a statement with ProxySQL's command names
// (stats_mysql_commands_counters).
type CommandType int

// Command types.
const (
	CmdUnknown CommandType = iota
	CmdSelect
	CmdSelectForUpdate
	CmdInsert
	CmdUpdate
	CmdDelete
	CmdReplace
	CmdSet
	CmdUse
	CmdBegin
	CmdCommit
	CmdRollback
	CmdShow
	CmdCreateTemporary
	CmdCreate
	CmdAlter
	CmdDrop
	CmdLoadData
	CmdLock
	CmdUnlock
	CmdSavepoint
	CmdPrepare
	CmdExecute
	CmdDeallocate
	CmdCall
	CmdKill
	CmdTruncate
	CmdStart
	CmdFlush
	CmdDescribe
	CmdExplain
	CmdGrant
	CmdAnalyze
	CmdReleaseSavepoint
	CmdRollbackSavepoint
)

var cmdNames = map[CommandType]string{
	CmdUnknown: "UNKNOWN", CmdSelect: "SELECT", CmdSelectForUpdate: "SELECT_FOR_UPDATE", CmdInsert: "INSERT",
	CmdUpdate: "UPDATE", CmdDelete: "DELETE", CmdReplace: "REPLACE", CmdSet: "SET", CmdUse: "USE",
	CmdBegin: "BEGIN", CmdCommit: "COMMIT", CmdRollback: "ROLLBACK", CmdShow: "SHOW",
	CmdCreateTemporary: "CREATE_TEMPORARY", CmdCreate: "CREATE_TABLE", CmdAlter: "ALTER_TABLE",
	CmdDrop: "DROP_TABLE", CmdLoadData: "LOAD", CmdLock: "LOCK_TABLE", CmdUnlock: "UNLOCK_TABLES",
	CmdSavepoint: "SAVEPOINT", CmdPrepare: "PREPARE", CmdExecute: "EXECUTE", CmdDeallocate: "DEALLOCATE",
	CmdCall: "CALL", CmdKill: "KILL", CmdTruncate: "TRUNCATE_TABLE", CmdStart: "START_TRANSACTION",
	CmdFlush: "FLUSH", CmdDescribe: "DESCRIBE", CmdExplain: "EXPLAIN", CmdGrant: "GRANT", CmdAnalyze: "ANALYZE_TABLE",
	CmdReleaseSavepoint: "RELEASE_SAVEPOINT", CmdRollbackSavepoint: "ROLLBACK_SAVEPOINT",
}

func (c CommandType) String() string {
	if s, ok := cmdNames[c]; ok {
		return s
	}
	return "UNKNOWN"
}

var firstWords = map[string]CommandType{
	"SELECT": CmdSelect, "INSERT": CmdInsert, "UPDATE": CmdUpdate, "DELETE": CmdDelete, "REPLACE": CmdReplace,
	"SET": CmdSet, "USE": CmdUse, "BEGIN": CmdBegin, "COMMIT": CmdCommit, "ROLLBACK": CmdRollback,
	"SHOW": CmdShow, "CREATE": CmdCreate, "ALTER": CmdAlter, "DROP": CmdDrop, "LOAD": CmdLoadData,
	"LOCK": CmdLock, "UNLOCK": CmdUnlock, "SAVEPOINT": CmdSavepoint, "PREPARE": CmdPrepare,
	"EXECUTE": CmdExecute, "DEALLOCATE": CmdDeallocate, "CALL": CmdCall, "KILL": CmdKill,
	"TRUNCATE": CmdTruncate, "START": CmdStart, "FLUSH": CmdFlush, "DESCRIBE": CmdDescribe, "DESC": CmdDescribe,
	"EXPLAIN": CmdExplain, "GRANT": CmdGrant, "ANALYZE": CmdAnalyze, "WITH": CmdSelect, "VALUES": CmdSelect,
	"TABLE": CmdSelect, "RELEASE": CmdReleaseSavepoint,
}

// Classify returns the command type of a digest text (or raw query).
func Classify(digest string) CommandType {
	w, rest := firstWord(digest)
	c, ok := firstWords[strings.ToUpper(w)]
	if !ok {
		return CmdUnknown
	}
	switch c {
	case CmdSelect:
		if hasSuffixFold(digest, "FOR UPDATE") || hasSuffixFold(digest, "LOCK IN SHARE MODE") ||
			hasSuffixFold(digest, "FOR SHARE") || containsFold(digest, "FOR UPDATE ") {
			return CmdSelectForUpdate
		}
	case CmdCreate:
		if w2, _ := firstWord(rest); strings.EqualFold(w2, "TEMPORARY") {
			return CmdCreateTemporary
		}
	case CmdRollback:
		// ROLLBACK TO [SAVEPOINT] x; ProxySQL counts it apart.
		if w2, _ := firstWord(rest); strings.EqualFold(w2, "TO") {
			return CmdRollbackSavepoint
		}
	case CmdReleaseSavepoint:
		if w2, _ := firstWord(rest); !strings.EqualFold(w2, "SAVEPOINT") {
			return CmdUnknown
		}
	}
	return c
}

// firstWord returns the first identifier of s (skipping spaces and opening
// parentheses) and the rest.
func firstWord(s string) (string, string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '(') {
		i++
	}
	j := i
	for j < len(s) && isIdent(s[j]) {
		j++
	}
	return s[i:j], strings.TrimLeft(s[j:], " ")
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// containsFold is an allocation-free case-insensitive strings.Contains for
// an upper-case ASCII needle.
func containsFold(s, upper string) bool {
	n := len(upper)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if c >= 'a' && c <= 'z' {
				c -= 32
			}
			if c != upper[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// StmtFlags are effects of a statement on its backend connection that
// matter for multiplexing.
type StmtFlags uint16

// Statement flags.
const (
	FlagUserVariable StmtFlags = 1 << iota
	FlagPrepared
	FlagTempTable
	FlagLockTables
	FlagUnlockTables
	FlagGetLock
	FlagFoundRows
	FlagSQLLogBin0
	FlagSQLLogBin1
	FlagSavepoint
	FlagLastInsertID
)

// StatementFlags computes the flags from a digest. keepVars lists system
// variables (lower case) whose plain SELECT does not set FlagUserVariable.
func StatementFlags(digest string, keepVars []string) StmtFlags {
	var f StmtFlags
	cmd := Classify(digest)
	if strings.IndexByte(digest, '@') >= 0 && !(cmd == CmdSelect && onlyKeptVars(digest, keepVars)) {
		f |= FlagUserVariable
	}
	switch cmd {
	case CmdCreateTemporary:
		f |= FlagTempTable
	case CmdLock:
		f |= FlagLockTables
	case CmdUnlock:
		f |= FlagUnlockTables
	case CmdPrepare:
		f |= FlagPrepared
	case CmdSavepoint:
		f |= FlagSavepoint
	case CmdFlush:
		if containsFold(digest, "WITH READ LOCK") {
			f |= FlagLockTables
		}
	}
	if containsFold(digest, "GET_LOCK(") {
		f |= FlagGetLock
	}
	if containsFold(digest, "SQL_CALC_FOUND_ROWS") {
		f |= FlagFoundRows
	}
	if containsFold(digest, "LAST_INSERT_ID(") || containsFold(digest, "@@IDENTITY") || containsFold(digest, "@@LAST_INSERT_ID") {
		f |= FlagLastInsertID
	}
	return f
}

// onlyKeptVars reports whether every @ in digest is a system variable from
// keep (with an optional session./global. prefix).
func onlyKeptVars(digest string, keep []string) bool {
	for i := 0; i < len(digest); i++ {
		if digest[i] != '@' {
			continue
		}
		if i+1 >= len(digest) || digest[i+1] != '@' {
			return false
		}
		j := i + 2
		k := j
		for k < len(digest) && (isIdent(digest[k]) || digest[k] == '.') {
			k++
		}
		name := strings.ToLower(digest[j:k])
		name = strings.TrimPrefix(strings.TrimPrefix(name, "session."), "global.")
		found := false
		for _, v := range keep {
			if v == name {
				found = true
				break
			}
		}
		if !found {
			return false
		}
		i = k - 1
	}
	return true
}
