package frontend_test

import (
	"database/sql"
	"fmt"
	"testing"

	"sqlgate/internal/config"
)

func TestUserAttributes(t *testing.T) {
	b := sharedBed(t)
	cfg := baseConfig(b)
	limited := cfgUser("admin", "admin")
	limited.MaxConnections = 2
	limited.DefaultSchema = "mysql"
	inactive := cfgUser("monitor", "monitor")
	inactive.Active = false
	cfg.MySQLUsers = append(cfg.MySQLUsers, limited, inactive)
	p := startProxy(t, cfg)

	var dbs []*sql.DB
	for i := 0; i < 2; i++ {
		db, _ := sql.Open("mysql", p.dsn("admin", "admin", "", ""))
		db.SetMaxOpenConns(1)
		defer db.Close()
		if err := db.Ping(); err != nil {
			t.Fatalf("connection %d within max_connections: %v", i+1, err)
		}
		dbs = append(dbs, db)
	}
	// default_schema applies when the client names none.
	if s := queryString(t, dbs[0], "SELECT DATABASE()"); s != "mysql" {
		t.Fatalf("default_schema: got %q, want mysql", s)
	}
	third, _ := sql.Open("mysql", p.dsn("admin", "admin", "", ""))
	defer third.Close()
	if err := third.Ping(); mysqlErrNo(err) != 1226 {
		t.Fatalf("third connection of a user with max_connections=2: %v, want error 1226", err)
	}
	dbs[0].Close()
	// A slot frees when a session ends.
	for i := 0; i < 50; i++ {
		if err := third.Ping(); err == nil {
			break
		} else if i == 49 {
			t.Fatalf("slot not freed after a session ended: %v", err)
		}
	}
	inact, _ := sql.Open("mysql", p.dsn("monitor", "monitor", "", ""))
	defer inact.Close()
	if err := inact.Ping(); mysqlErrNo(err) != 1045 {
		t.Fatalf("inactive user: %v, want 1045", err)
	}
}

// TestUnparseableSetLocksInsteadOf9006: with reads routed to the replica, a
// user variable set on the writer is still visible to the next SELECT,
// because the session follows the connection holding it.
func TestUnparseableSetLocksInsteadOf9006(t *testing.T) {
	b := sharedBed(t)
	cfg := baseConfig(b)
	sel, r := `^SELECT`, readerHG
	cfg.MySQLQueryRules = []config.MySQLQueryRule{{RuleID: 1, Active: true, MatchDigest: &sel, DestinationHostgroup: &r, Apply: true, ReModifiers: "CASELESS"}}
	p := startProxy(t, cfg)
	db := p.db(t, "")
	db.SetMaxOpenConns(1)
	mustExec(t, db, "SET @marker = 42, @@session.sql_mode = 'ANSI'")
	if v := queryString(t, db, "SELECT @marker"); v != "42" {
		t.Fatalf("SELECT @marker after SET = %q, want 42 (the session must stay on the writer)", v)
	}
	if ro := queryString(t, db, "SELECT @@global.read_only"); ro != "0" {
		t.Fatal("a locked session's SELECT left the writer")
	}
	// A fresh session is not locked: its SELECTs go to the reader.
	db2 := p.db(t, "")
	before := p.queries(readerHG)
	queryString(t, db2, "SELECT 1")
	if p.queries(readerHG) == before {
		t.Fatal("an unlocked session's SELECT did not go to the reader hostgroup")
	}
}

func TestOfflineSoftServerNotSelected(t *testing.T) {
	b := sharedBed(t)
	cfg := baseConfig(b)
	// Hostgroup 5: the replica ONLINE and the primary OFFLINE_SOFT.
	off := cfgServer(5, b.Primary.Port)
	off.Status = "OFFLINE_SOFT"
	cfg.MySQLServers = append(cfg.MySQLServers, cfgServer(5, b.Replicas[0].Port), off)
	cfg.MySQLUsers[0].DefaultHostgroup = 5
	p := startProxy(t, cfg)
	db := p.db(t, "")
	for i := 0; i < 20; i++ {
		if ro := queryString(t, db, "SELECT @@global.read_only"); ro != "1" {
			t.Fatalf("query %d ran on the OFFLINE_SOFT primary", i)
		}
	}
}

// TestLastInsertIDFollowsTheInsert: with SELECTs routed to the replica,
// SELECT LAST_INSERT_ID() still reads the id of the session's INSERT.
func TestLastInsertIDFollowsTheInsert(t *testing.T) {
	b := sharedBed(t)
	cfg := baseConfig(b)
	sel, r := `^SELECT`, readerHG
	cfg.MySQLQueryRules = []config.MySQLQueryRule{{RuleID: 1, Active: true, MatchDigest: &sel, DestinationHostgroup: &r, Apply: true, ReModifiers: "CASELESS"}}
	p := startProxy(t, cfg)
	db := p.db(t, "")
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE TABLE IF NOT EXISTS ai (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
	for i := 0; i < 3; i++ {
		res := mustExec(t, db, "INSERT INTO ai (v) VALUES (1)")
		want, _ := res.LastInsertId()
		if got := queryString(t, db, "SELECT LAST_INSERT_ID()"); got != fmt.Sprint(want) {
			t.Fatalf("SELECT LAST_INSERT_ID() = %s, want %d", got, want)
		}
	}
	// Other SELECTs still go to the reader.
	before := p.queries(readerHG)
	for i := 0; i < 10; i++ {
		queryString(t, db, "SELECT 1")
	}
	if p.queries(readerHG) == before {
		t.Fatal("SELECTs stopped going to the reader after LAST_INSERT_ID")
	}
}

func TestWeightZeroNeverSelected(t *testing.T) {
	b := sharedBed(t)
	cfg := baseConfig(b)
	zero := cfgServer(6, b.Primary.Port)
	zero.Weight = 0
	cfg.MySQLServers = append(cfg.MySQLServers, cfgServer(6, b.Replicas[0].Port), zero)
	cfg.MySQLUsers[0].DefaultHostgroup = 6
	p := startProxy(t, cfg)
	db := p.db(t, "")
	for i := 0; i < 30; i++ {
		if ro := queryString(t, db, "SELECT @@global.read_only"); ro != "1" {
			t.Fatalf("query %d ran on the weight-0 server", i)
		}
	}
}
