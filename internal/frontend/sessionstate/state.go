// Package sessionstate is the client-visible state of a session (schema,
// character set, autocommit, multi-statements, tracked variables) and its
// lazy replay on whichever pooled backend connection runs the session's
// next statement. Keeping it apart from the session lets a connection be
// chosen and brought in line without the session's other concerns, and
// tested against a fake server.
package sessionstate

import (
	"strconv"
	"strings"
	"sync"

	"sqlgate/internal/backend"
	"sqlgate/internal/router"
	"sqlgate/internal/wire"
)

// DefaultCollation is announced in the greeting and used when a client
// names none: utf8mb4_general_ci.
const DefaultCollation = 45

// State is what a client has set on its session. backend.Conn carries the
// same fields for the state last applied to a connection; Sync closes the
// gap.
type State struct {
	Schema     string
	Charset    string // "id:N" (handshake collation N) or "names:cs[:coll]" or "charset:cs"
	Autocommit bool
	MultiStmt  bool
	FoundRows  bool
	Vars       map[string]string
}

// New returns the state of a session that logged in (or was reset or
// changed user) with schema and collation, on a client with capabilities
// caps. Collation 0 means DefaultCollation.
func New(schema string, collation uint8, caps uint32) State {
	if collation == 0 {
		collation = DefaultCollation
	}
	return State{
		Schema:     schema,
		Charset:    "id:" + strconv.Itoa(int(collation)),
		Autocommit: true,
		MultiStmt:  caps&wire.ClientMultiStatements != 0,
		FoundRows:  caps&wire.ClientFoundRows != 0,
		Vars:       map[string]string{},
	}
}

// Clone returns a copy that shares nothing with st (a mirror session
// changes its copy independently).
func (st *State) Clone() State {
	c := *st
	c.Vars = make(map[string]string, len(st.Vars))
	for k, v := range st.Vars {
		c.Vars[k] = v
	}
	return c
}

// Collation is the collation id the client asked for in its handshake or
// COM_CHANGE_USER, or DefaultCollation once a SET NAMES replaced it: what a
// new backend connection logs in with.
func (st *State) Collation() uint8 {
	if len(st.Charset) > 3 && st.Charset[:3] == "id:" {
		if n, err := strconv.Atoi(st.Charset[3:]); err == nil {
			return uint8(n)
		}
	}
	return DefaultCollation
}

// PerfectScore is what Score gives a connection that needs no replay.
const PerfectScore = 12

// Score rates a pooled connection for a session of user in this state (see
// backend.Want): the user and the CLIENT_FOUND_ROWS flag must match (-1
// otherwise); matching schema, charset, autocommit and variables save
// replay round trips.
func (st *State) Score(bc *backend.Conn, user string) int {
	if bc.User != user || (bc.Caps&wire.ClientFoundRows != 0) != st.FoundRows {
		return -1
	}
	sc := 1
	if bc.Schema == st.Schema {
		sc += 4
	}
	if bc.Charset == st.Charset {
		sc += 2
	}
	if bc.Autocommit == st.Autocommit {
		sc++
	}
	if varsEqual(bc.Vars, st.Vars) {
		sc += 4
	}
	return sc
}

func varsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// ApplySet records a successfully executed, parsed SET statement in st and
// in the state of the connection that ran it. It reports whether the SET
// prepared the next transaction (next_transaction_isolation and
// next_transaction_read_only): state only that connection holds.
func (st *State) ApplySet(bc *backend.Conn, as []router.Assignment) (nextTrx bool) {
	for _, a := range as {
		if a.Ignored {
			continue
		}
		switch a.Name {
		case "autocommit":
			st.Autocommit = a.Value == "1"
		case "names", "charset":
			key := a.Name + ":" + a.Value
			if a.Collate != "" {
				key += ":" + a.Collate
			}
			st.Charset, bc.Charset = key, key
			for _, v := range charsetVars {
				delete(st.Vars, v)
				delete(bc.Vars, v)
			}
		case "next_transaction_isolation", "next_transaction_read_only":
			nextTrx = true
		default:
			st.Vars[a.Name] = a.Value
			bc.Vars[a.Name] = a.Value
		}
	}
	return nextTrx
}

// charsetVars are reset by SET NAMES / SET CHARACTER SET.
var charsetVars = []string{"character_set_client", "character_set_connection", "character_set_results", "collation_connection"}

// Sync replays st on bc, lazily and in the order ProxySQL uses: reset when
// the connection carries variables the session never set, then schema,
// multi-statement option, and one SET for autocommit, character set and
// the tracked variables.
func (st *State) Sync(bc *backend.Conn) error {
	for k := range bc.Vars {
		if _, ok := st.Vars[k]; !ok {
			if err := bc.Reset(); err != nil {
				return ReplayError(bc, err)
			}
			break
		}
	}
	if bc.Schema != st.Schema {
		if _, err := bc.Exec(wire.ComInitDB, st.Schema); err != nil {
			return ReplayError(bc, err)
		}
		bc.Schema = st.Schema
	}
	if bc.MultiStmt != st.MultiStmt {
		opt := "\x01\x00"
		if st.MultiStmt {
			opt = "\x00\x00"
		}
		if _, err := bc.Exec(wire.ComSetOption, opt); err != nil {
			return ReplayError(bc, err)
		}
		bc.MultiStmt = st.MultiStmt
	}
	var set []string
	if bc.Autocommit != st.Autocommit {
		if st.Autocommit {
			set = append(set, "autocommit=1")
		} else {
			set = append(set, "autocommit=0")
		}
	}
	if bc.Charset != st.Charset {
		clause, err := charsetClause(bc, st.Charset)
		if err != nil {
			return err
		}
		set = append(set, clause)
	}
	var trx []string
	for k, v := range st.Vars {
		if bc.Vars[k] == v {
			continue
		}
		switch k {
		case "transaction_isolation":
			trx = append(trx, "ISOLATION LEVEL "+strings.ReplaceAll(strings.Trim(v, `'"`), "-", " "))
		case "transaction_read_only":
			if v == "1" || strings.EqualFold(v, "ON") {
				trx = append(trx, "READ ONLY")
			} else {
				trx = append(trx, "READ WRITE")
			}
		default:
			set = append(set, k+"="+v)
		}
	}
	if len(set) > 0 {
		if _, err := bc.Exec(wire.ComQuery, "SET "+strings.Join(set, ", ")); err != nil {
			// Part of the SET may have been applied: the state of the
			// connection is unknown now.
			bc.Broken = true
			return ReplayError(bc, err)
		}
	}
	if len(trx) > 0 {
		if _, err := bc.Exec(wire.ComQuery, "SET SESSION TRANSACTION "+strings.Join(trx, ", ")); err != nil {
			bc.Broken = true
			return ReplayError(bc, err)
		}
	}
	bc.Charset = st.Charset
	if len(set) > 0 || len(trx) > 0 {
		for k, v := range st.Vars {
			bc.Vars[k] = v
		}
	}
	return nil
}

// ReplayError turns a failure while bringing bc in line with a session
// into what the client sees: a MySQL error from the server as is, an I/O
// failure as error 9010 (and bc is marked broken).
func ReplayError(bc *backend.Conn, err error) error {
	if we, ok := err.(*wire.Error); ok {
		return we
	}
	bc.Broken = true
	return wire.Errorf(wire.ErProxyBackendLost, "HY000", "Lost connection to backend server %s while restoring session state: %v", bc.Server.Addr(), err)
}

// charsetClause returns the SET clause that gives bc the character set
// key.
func charsetClause(bc *backend.Conn, key string) (string, error) {
	kind, rest, _ := strings.Cut(key, ":")
	switch kind {
	case "names":
		cs, coll, _ := strings.Cut(rest, ":")
		if coll != "" {
			return "NAMES " + cs + " COLLATE " + coll, nil
		}
		return "NAMES " + cs, nil
	case "charset":
		return "CHARACTER SET " + rest, nil
	}
	id, _ := strconv.Atoi(rest)
	cs, coll, err := collationByID(bc, id)
	if err != nil {
		return "", err
	}
	if cs == "" {
		// The backend does not know the client's collation (a MySQL 8
		// client's utf8mb4_0900_ai_ci on MariaDB, say): use utf8mb4.
		return "NAMES utf8mb4", nil
	}
	return "NAMES " + cs + " COLLATE " + coll, nil
}

var collations struct {
	sync.Mutex
	byID map[int][2]string
}

// collationByID maps a collation id to its character set and name, loading
// the table from the backend once.
func collationByID(bc *backend.Conn, id int) (cs, coll string, err error) {
	collations.Lock()
	defer collations.Unlock()
	if collations.byID == nil {
		rows, err := bc.QueryStrings("SELECT ID, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLLATIONS")
		if err != nil {
			return "", "", ReplayError(bc, err)
		}
		m := map[int][2]string{}
		for _, r := range rows {
			if len(r) == 3 {
				if n, err := strconv.Atoi(r[0]); err == nil {
					m[n] = [2]string{r[1], r[2]}
				}
			}
		}
		collations.byID = m
	}
	v := collations.byID[id]
	return v[0], v[1], nil
}
