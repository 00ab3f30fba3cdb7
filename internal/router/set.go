package router

import (
	"strings"
)

// Assignment is one parsed part of a SET statement.
type Assignment struct {
	// Name is canonical and lower case: "names" (Value charset, Collate),
	// "charset", "autocommit" ("0"/"1"), "transaction_isolation" (e.g.
	// READ-COMMITTED), "transaction_read_only" ("0"/"1"),
	// "next_transaction_isolation"/"next_transaction_read_only" (SET
	// TRANSACTION without SESSION), or a tracked variable name.
	Name    string
	Value   string // SQL text to replay in `SET name=<Value>`
	Collate string
	Ignored bool // accepted but not replayed
}

// trackedVars are the session variables sqlgate replays on pooled
// connections.
var trackedVars = map[string]bool{}

// ignoredVars are parsed but not replayed.
var ignoredVars = map[string]bool{}

func init() {
	for _, v := range strings.Fields(`sql_mode time_zone character_set_client character_set_results
		character_set_connection character_set_database collation_connection foreign_key_checks unique_checks
		sql_safe_updates group_concat_max_len max_execution_time max_statement_time lock_wait_timeout
		innodb_lock_wait_timeout sql_select_limit sql_auto_is_null sql_big_selects timestamp wsrep_sync_wait
		optimizer_switch session_track_gtids lc_messages lc_time_names long_query_time tmp_table_size
		max_heap_table_size sort_buffer_size join_buffer_size big_tables sql_log_bin sql_quote_show_create
		default_storage_engine default_tmp_storage_engine auto_increment_increment auto_increment_offset
		profiling query_cache_type innodb_strict_mode innodb_table_locks max_join_size max_sort_length
		optimizer_prune_level optimizer_search_depth optimizer_use_condition_selectivity gtid_next
		group_replication_consistency sql_require_primary_key sql_generate_invisible_primary_key
		wsrep_osu_method aurora_read_replica_read_committed sql_notes sql_warnings div_precision_increment
		block_encryption_mode`) {
		trackedVars[v] = true
	}
	for _, v := range strings.Fields(`interactive_timeout wait_timeout net_read_timeout net_write_timeout
		net_buffer_length read_buffer_size read_rnd_buffer_size session_track_schema session_track_system_variables
		session_track_state_change session_track_transaction_info`) {
		ignoredVars[v] = true
	}
}

// setLexer splits a SET statement into tokens.
type setLexer struct {
	s     string
	i     int
	start int // where the last token starts
}

const (
	tokEOF = iota
	tokWord
	tokString
	tokNumber
	tokPunct
)

func (l *setLexer) skip() {
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.i++
		case c == '/' && l.i+1 < len(l.s) && l.s[l.i+1] == '*':
			if rest := l.s[l.i+2:]; strings.HasPrefix(rest, "!") || strings.HasPrefix(rest, "M!") {
				// MySQL's /*! and MariaDB's /*M! comments are not blanks:
				// the server runs their body. As a token they make the
				// statement unparsed, so its session stays pinned.
				return
			}
			end := strings.Index(l.s[l.i+2:], "*/")
			if end < 0 {
				l.i = len(l.s)
			} else {
				l.i += end + 4
			}
		default:
			return
		}
	}
}

// stringEnd returns the end of the quoted string starting at s[i] (as
// skipString does) and whether its closing quote is there.
func stringEnd(s string, i int) (end int, closed bool) {
	quote := s[i]
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case quote:
			if i+1 < len(s) && s[i+1] == quote {
				i++
				continue
			}
			return i + 1, true
		}
	}
	return len(s), false
}

// next returns the next token kind and text.
func (l *setLexer) next() (int, string) {
	l.skip()
	if l.i >= len(l.s) {
		return tokEOF, ""
	}
	start := l.i
	l.start = start
	c := l.s[l.i]
	switch {
	case c == '\'' || c == '"':
		end, closed := stringEnd(l.s, l.i)
		l.i = end
		if !closed {
			// Replayed next to other values, it would swallow them.
			return tokPunct, l.s[start:l.i]
		}
		return tokString, l.s[start:l.i]
	case c == '`':
		end := strings.IndexByte(l.s[l.i+1:], '`')
		if end < 0 {
			l.i = len(l.s)
			return tokPunct, "`"
		}
		l.i += end + 2
		return tokWord, l.s[start+1 : l.i-1]
	case c >= '0' && c <= '9' || (c == '-' || c == '+') && l.i+1 < len(l.s) && (l.s[l.i+1] >= '0' && l.s[l.i+1] <= '9' || l.s[l.i+1] == '.'):
		l.i++
		l.i = skipNumber(l.s, l.i)
		return tokNumber, l.s[start:l.i]
	case isIdent(c) || c == '@':
		for l.i < len(l.s) && (isIdent(l.s[l.i]) || l.s[l.i] == '@' || l.s[l.i] == '.') {
			l.i++
		}
		return tokWord, l.s[start:l.i]
	case c == ':' && l.i+1 < len(l.s) && l.s[l.i+1] == '=':
		l.i += 2
		return tokPunct, "="
	}
	l.i++
	return tokPunct, l.s[start:l.i]
}

// ParseSet parses a SET statement. ok is false when it cannot be replayed
// safely on another connection: user variables, GLOBAL scope, unknown
// variables, expressions, several statements. The caller then keeps the
// session on the connection that ran it.
func ParseSet(query string) (as []Assignment, ok bool) {
	l := &setLexer{s: strings.TrimRight(strings.TrimSpace(query), "; \t\n")}
	if k, w := l.next(); k != tokWord || !strings.EqualFold(w, "SET") {
		return nil, false
	}
	for {
		a, good := parseAssignment(l)
		if !good {
			return nil, false
		}
		as = append(as, a...)
		k, t := l.next()
		if k == tokEOF {
			return as, len(as) > 0
		}
		if k != tokPunct || t != "," {
			return nil, false
		}
	}
}

func parseAssignment(l *setLexer) ([]Assignment, bool) {
	k, w := l.next()
	if k != tokWord {
		return nil, false
	}
	up := strings.ToUpper(w)
	session := false
	switch up {
	case "GLOBAL", "PERSIST", "PERSIST_ONLY":
		return nil, false
	case "SESSION", "LOCAL":
		session = true
		if k, w = l.next(); k != tokWord {
			return nil, false
		}
		up = strings.ToUpper(w)
	}
	switch up {
	case "NAMES":
		k, cs := l.next()
		if k != tokWord && k != tokString {
			return nil, false
		}
		a := Assignment{Name: "names", Value: unquote(cs)}
		save := l.i
		if k2, w2 := l.next(); k2 == tokWord && strings.EqualFold(w2, "COLLATE") {
			k3, coll := l.next()
			if k3 != tokWord && k3 != tokString {
				return nil, false
			}
			a.Collate = unquote(coll)
		} else {
			l.i = save
		}
		return []Assignment{a}, true
	case "CHARSET", "CHARACTER":
		if up == "CHARACTER" {
			if k, w = l.next(); k != tokWord || !strings.EqualFold(w, "SET") {
				return nil, false
			}
		}
		k, cs := l.next()
		if k != tokWord && k != tokString {
			return nil, false
		}
		return []Assignment{{Name: "charset", Value: unquote(cs)}}, true
	case "TRANSACTION":
		return parseTransaction(l, session)
	}
	name := strings.ToLower(w)
	if strings.HasPrefix(name, "@@") {
		name = name[2:]
		switch {
		case strings.HasPrefix(name, "session."):
			name = name[len("session."):]
		case strings.HasPrefix(name, "local."):
			name = name[len("local."):]
		case strings.Contains(name, "."):
			return nil, false // @@global.x
		}
	} else if strings.ContainsAny(name, "@.") {
		return nil, false // user variable or qualified name
	}
	if k, eq := l.next(); k != tokPunct || eq != "=" {
		return nil, false
	}
	vk, _ := l.next()
	// The value as written: a `quoted` word keeps its quotes, so that
	// replaying it means the same.
	val := l.s[l.start:l.i]
	switch vk {
	case tokString, tokNumber:
	case tokWord:
		if strings.HasPrefix(val, "@") {
			return nil, false
		}
	default:
		return nil, false
	}
	// The value must end the assignment: anything else is an expression.
	save := l.i
	if k, t := l.next(); !(k == tokEOF || k == tokPunct && t == ",") {
		return nil, false
	}
	l.i = save
	switch name {
	case "autocommit":
		switch strings.ToUpper(unquote(val)) {
		case "1", "ON", "TRUE":
			return []Assignment{{Name: "autocommit", Value: "1"}}, true
		case "0", "OFF", "FALSE":
			return []Assignment{{Name: "autocommit", Value: "0"}}, true
		}
		return nil, false
	case "tx_isolation", "transaction_isolation":
		v := strings.ToUpper(unquote(val))
		switch v {
		case "READ-UNCOMMITTED", "READ-COMMITTED", "REPEATABLE-READ", "SERIALIZABLE":
			return []Assignment{{Name: "transaction_isolation", Value: v}}, true
		}
		return nil, false
	case "tx_read_only", "transaction_read_only":
		switch strings.ToUpper(unquote(val)) {
		case "1", "ON", "TRUE":
			return []Assignment{{Name: "transaction_read_only", Value: "1"}}, true
		case "0", "OFF", "FALSE":
			return []Assignment{{Name: "transaction_read_only", Value: "0"}}, true
		}
		return nil, false
	case "time_zone":
		return []Assignment{{Name: name, Value: normalizeTZ(val)}}, true
	}
	if ignoredVars[name] {
		return []Assignment{{Name: name, Value: val, Ignored: true}}, true
	}
	if !trackedVars[name] {
		return nil, false
	}
	return []Assignment{{Name: name, Value: val}}, true
}

// parseTransaction parses the rest of SET [SESSION] TRANSACTION ...
func parseTransaction(l *setLexer, session bool) ([]Assignment, bool) {
	var out []Assignment
	prefix := "next_"
	if session {
		prefix = ""
	}
	for {
		k, w := l.next()
		if k != tokWord {
			return nil, false
		}
		switch strings.ToUpper(w) {
		case "ISOLATION":
			if k, w = l.next(); k != tokWord || !strings.EqualFold(w, "LEVEL") {
				return nil, false
			}
			_, a := l.next()
			_, b := l.next()
			lvl := strings.ToUpper(a + "-" + b)
			switch lvl {
			case "READ-UNCOMMITTED", "READ-COMMITTED", "REPEATABLE-READ":
			default:
				if strings.EqualFold(a, "SERIALIZABLE") {
					l.i -= len(b)
					lvl = "SERIALIZABLE"
				} else {
					return nil, false
				}
			}
			out = append(out, Assignment{Name: prefix + "transaction_isolation", Value: lvl})
		case "READ":
			_, m := l.next()
			switch strings.ToUpper(m) {
			case "ONLY":
				out = append(out, Assignment{Name: prefix + "transaction_read_only", Value: "1"})
			case "WRITE":
				out = append(out, Assignment{Name: prefix + "transaction_read_only", Value: "0"})
			default:
				return nil, false
			}
		default:
			return nil, false
		}
		save := l.i
		k2, t := l.next()
		if k2 == tokPunct && t == "," {
			// A comma continues the transaction characteristics only if
			// another characteristic follows.
			save2 := l.i
			k3, w3 := l.next()
			l.i = save2
			if k3 == tokWord && (strings.EqualFold(w3, "ISOLATION") || strings.EqualFold(w3, "READ")) {
				continue
			}
		}
		l.i = save
		return out, true
	}
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"' || s[0] == '`') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// normalizeTZ turns '+1:00' into '+01:00', as MySQL reports it.
func normalizeTZ(v string) string {
	u := unquote(v)
	if len(u) == 5 && (u[0] == '+' || u[0] == '-') && u[2] == ':' {
		return "'" + u[:1] + "0" + u[1:] + "'"
	}
	return v
}
