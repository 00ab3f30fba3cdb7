package frontend

import (
	"strconv"
	"strings"
	"sync"

	"sqlgate/internal/backend"
	"sqlgate/internal/wire"
)

// syncState replays the session state on bc, lazily and in the order
// ProxySQL uses: reset when the connection carries variables the
// session never set, then schema, multi-statement option, and one SET for
// autocommit, character set and the tracked variables.
func (s *Session) syncState(bc *backend.Conn) error {
	st := &s.state
	for k := range bc.Vars {
		if _, ok := st.vars[k]; !ok {
			if err := bc.Reset(); err != nil {
				return backendErr(bc, err)
			}
			break
		}
	}
	if bc.Schema != st.schema {
		if _, err := bc.Exec(wire.ComInitDB, st.schema); err != nil {
			return backendErr(bc, err)
		}
		bc.Schema = st.schema
	}
	if bc.MultiStmt != st.multiStmt {
		opt := "\x01\x00"
		if st.multiStmt {
			opt = "\x00\x00"
		}
		if _, err := bc.Exec(wire.ComSetOption, opt); err != nil {
			return backendErr(bc, err)
		}
		bc.MultiStmt = st.multiStmt
	}
	var set []string
	if bc.Autocommit != st.autocommit {
		if st.autocommit {
			set = append(set, "autocommit=1")
		} else {
			set = append(set, "autocommit=0")
		}
	}
	if bc.Charset != st.charset {
		clause, err := s.charsetClause(bc, st.charset)
		if err != nil {
			return err
		}
		set = append(set, clause)
	}
	var trx []string
	for k, v := range st.vars {
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
			return backendErr(bc, err)
		}
	}
	if len(trx) > 0 {
		if _, err := bc.Exec(wire.ComQuery, "SET SESSION TRANSACTION "+strings.Join(trx, ", ")); err != nil {
			bc.Broken = true
			return backendErr(bc, err)
		}
	}
	bc.Charset = st.charset
	if len(set) > 0 || len(trx) > 0 {
		for k, v := range st.vars {
			bc.Vars[k] = v
		}
	}
	return nil
}

// backendErr turns a failure during state replay into what the client
// sees: a MySQL error from the server as is, an I/O failure as error 9010.
func backendErr(bc *backend.Conn, err error) error {
	if we, ok := err.(*wire.Error); ok {
		return we
	}
	bc.Broken = true
	return wire.Errorf(wire.ErProxyBackendLost, "HY000", "Lost connection to backend server %s while restoring session state: %v", bc.Server.Addr(), err)
}

// charsetClause returns the SET clause that gives bc the session's
// character set.
func (s *Session) charsetClause(bc *backend.Conn, key string) (string, error) {
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
			return "", "", backendErr(bc, err)
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
