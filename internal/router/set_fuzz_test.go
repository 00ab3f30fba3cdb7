package router

import (
	"slices"
	"strings"
	"testing"
)

// replayable reports whether the tracked variable a is replayed with a
// plain SET name=value, as the frontend does (frontend/state.go).
func replayable(a Assignment) bool {
	switch a.Name {
	case "names", "charset", "autocommit", "transaction_isolation", "transaction_read_only",
		"next_transaction_isolation", "next_transaction_read_only":
		return false
	}
	return !a.Ignored
}

// executableComment reports whether q holds a /*! or /*M! comment outside
// quotes and other comments: MySQL and MariaDB run its body.
func executableComment(q string) bool {
	for i := 0; i < len(q); i++ {
		switch {
		case q[i] == '\'' || q[i] == '"' || q[i] == '`':
			end := strings.IndexByte(q[i+1:], q[i])
			if q[i] != '`' {
				end = skipString(q, i) - i - 2
			}
			if end < 0 {
				return false
			}
			i += end + 1
		case strings.HasPrefix(q[i:], "/*!") || strings.HasPrefix(q[i:], "/*M!"):
			return true
		case strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return false
			}
			i += end + 3
		}
	}
	return false
}

// FuzzParseSet parses arbitrary statements as SET. What it accepts is
// replayed on other connections, so the invariants are about replay: no
// panic; the same statement parses the same way; an accepted statement
// yields canonical names with values of their kind (autocommit and read
// only 0/1, one of the four isolation levels, tracked or ignored
// variables only); the replay the frontend builds from the accepted
// assignments, SET a=v, b=w (and SET SESSION TRANSACTION ..., SET
// autocommit=...), parses back to exactly those assignments, so no value
// can swallow or change another; and a statement with an executable
// comment, whose body the server would run unseen, is never accepted.
func FuzzParseSet(f *testing.F) {
	for _, q := range []string{
		"SET autocommit=0", "set AUTOCOMMIT = ON;", "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci", "SET NAMES 'latin1'",
		"SET CHARACTER SET utf8", "SET sql_mode='ANSI', time_zone='+1:00'", "SET @@session.sql_mode = 'TRADITIONAL'",
		"SET SESSION wait_timeout=100", "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", "SET TRANSACTION READ ONLY",
		"SET tx_isolation='repeatable-read'", "SET @x = 1", "SET GLOBAL sql_mode=''", "SET @@global.max_connections=10",
		"SET sql_mode=CONCAT(@@sql_mode, ',STRICT')", "SET no_such_var=1", "SET autocommit=0; SELECT 1",
		"SET foreign_key_checks=1, sql_safe_updates=0", "SET NAMES x", "SET a=", "SET TRANSACTION ISOLATION LEVEL",
		"SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE `xy`",
		"SET sql_mode='abc", "SET sql_mode=\"a\"\"b\", time_zone='x\\'y'", "SET autocommit=1 /*!, sql_mode='' */",
		"SET /* c */ autocommit = 1 /* d */", "SET time_zone := '+00:00'", "SET `sql_mode`=`TRADITIONAL`",
		"SET max_execution_time=-1.5e3", "SET SESSION sql_select_limit=DEFAULT", "SET sql_mode=''; ",
		"SET character_set_results=NULL, names utf8", "SET LOCAL group_concat_max_len = 0x10",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		as, ok := ParseSet(q)
		as2, ok2 := ParseSet(q)
		if ok != ok2 || len(as) != len(as2) {
			t.Fatal("not deterministic")
		}
		if !ok {
			if as != nil {
				t.Fatalf("refused with assignments %v", as)
			}
			return
		}
		if len(as) == 0 {
			t.Fatal("accepted without assignments")
		}
		if executableComment(q) {
			t.Fatalf("accepted %q, whose executable comment the server would run", q)
		}
		var vars []string
		var want []Assignment
		for i, a := range as {
			if a != as2[i] {
				t.Fatal("not deterministic")
			}
			var replay string
			switch a.Name {
			case "names", "charset":
				continue // replayed from the collation, not from this text
			case "autocommit", "transaction_read_only", "next_transaction_read_only":
				if a.Value != "0" && a.Value != "1" {
					t.Fatalf("%s = %q", a.Name, a.Value)
				}
				if a.Name == "autocommit" {
					replay = "SET autocommit=" + a.Value
				} else if a.Name == "transaction_read_only" {
					replay = map[string]string{"1": "SET SESSION TRANSACTION READ ONLY", "0": "SET SESSION TRANSACTION READ WRITE"}[a.Value]
				}
			case "transaction_isolation", "next_transaction_isolation":
				switch a.Value {
				case "READ-UNCOMMITTED", "READ-COMMITTED", "REPEATABLE-READ", "SERIALIZABLE":
				default:
					t.Fatalf("%s = %q", a.Name, a.Value)
				}
				if a.Name == "transaction_isolation" {
					replay = "SET SESSION TRANSACTION ISOLATION LEVEL " + strings.ReplaceAll(a.Value, "-", " ")
				}
			default:
				if a.Name != strings.ToLower(a.Name) || !trackedVars[a.Name] && !ignoredVars[a.Name] || a.Ignored != ignoredVars[a.Name] || a.Value == "" {
					t.Fatalf("assignment %+v", a)
				}
				if replayable(a) {
					replay = "SET " + a.Name + "=" + a.Value
					vars = append(vars, a.Name+"="+a.Value)
					want = append(want, a)
				}
			}
			if replay != "" {
				back, ok := ParseSet(replay)
				if !ok || len(back) != 1 || back[0] != a {
					t.Fatalf("%q replayed as %q parses to %v, %v; want %+v", q, replay, back, ok, a)
				}
			}
		}
		// The frontend replays the variables in any order (a map's).
		for range 2 {
			if len(vars) < 2 {
				break
			}
			replay := "SET " + strings.Join(vars, ", ")
			back, ok := ParseSet(replay)
			if !ok || len(back) != len(want) {
				t.Fatalf("%q replayed as %q parses to %v, %v", q, replay, back, ok)
			}
			for i := range want {
				if back[i] != want[i] {
					t.Fatalf("%q replayed as %q parses to %v", q, replay, back)
				}
			}
			slices.Reverse(vars)
			slices.Reverse(want)
		}
	})
}
