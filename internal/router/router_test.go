package router

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"sqlgate/internal/digest"
)

func TestClassifyAndFlags(t *testing.T) {
	keep := []string{"tx_isolation", "transaction_isolation", "version"}
	tests := []struct {
		q     string
		cmd   CommandType
		flags StmtFlags
	}{
		{"SELECT @@version", CmdSelect, 0},
		{"SELECT @@max_allowed_packet", CmdSelect, FlagUserVariable},
		{"SET @x=1", CmdSet, FlagUserVariable},
		{"CREATE TEMPORARY TABLE t (a int)", CmdCreateTemporary, FlagTempTable},
		{"SELECT GET_LOCK('a', 1)", CmdSelect, FlagGetLock},
		{"SELECT SQL_CALC_FOUND_ROWS * FROM t", CmdSelect, FlagFoundRows},
		{"LOCK TABLES t WRITE", CmdLock, FlagLockTables},
		{"UNLOCK TABLES", CmdUnlock, FlagUnlockTables},
		{"SELECT LAST_INSERT_ID()", CmdSelect, FlagLastInsertID},
		{"select id from t for update", CmdSelectForUpdate, 0},
		{"(SELECT 1) UNION (SELECT 2)", CmdSelect, 0},
		{"ROLLBACK TO SAVEPOINT sp1", CmdRollbackSavepoint, 0},
		{"rollback to sp1", CmdRollbackSavepoint, 0},
		{"RELEASE SAVEPOINT sp1", CmdReleaseSavepoint, 0},
		{"ROLLBACK", CmdRollback, 0},
	}
	for _, tt := range tests {
		d, _ := digest.Of(tt.q)
		if c := Classify(d); c != tt.cmd {
			t.Errorf("Classify(%q) = %v, want %v", tt.q, c, tt.cmd)
		}
		if f := StatementFlags(d, keep); f != tt.flags {
			t.Errorf("StatementFlags(%q) = %b, want %b", tt.q, f, tt.flags)
		}
	}
}

func TestParseSet(t *testing.T) {
	tests := []struct {
		q    string
		ok   bool
		want string
	}{
		{"SET autocommit=0", true, "[{autocommit 0  false}]"},
		{"set AUTOCOMMIT = ON;", true, "[{autocommit 1  false}]"},
		{"SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci", true, "[{names utf8mb4 utf8mb4_unicode_ci false}]"},
		{"SET NAMES 'latin1'", true, "[{names latin1  false}]"},
		{"SET CHARACTER SET utf8", true, "[{charset utf8  false}]"},
		{"SET sql_mode='ANSI', time_zone='+1:00'", true, "[{sql_mode 'ANSI'  false} {time_zone '+01:00'  false}]"},
		{"SET @@session.sql_mode = 'TRADITIONAL'", true, "[{sql_mode 'TRADITIONAL'  false}]"},
		{"SET SESSION wait_timeout=100", true, "[{wait_timeout 100  true}]"},
		{"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", true, "[{transaction_isolation READ-COMMITTED  false}]"},
		{"SET TRANSACTION READ ONLY", true, "[{next_transaction_read_only 1  false}]"},
		{"SET tx_isolation='repeatable-read'", true, "[{transaction_isolation REPEATABLE-READ  false}]"},
		{"SET @x = 1", false, ""},
		{"SET GLOBAL sql_mode=''", false, ""},
		{"SET @@global.max_connections=10", false, ""},
		{"SET sql_mode=CONCAT(@@sql_mode, ',STRICT')", false, ""},
		{"SET no_such_var=1", false, ""},
		{"SET autocommit=0; SELECT 1", false, ""},
		{"SET foreign_key_checks=1, sql_safe_updates=0", true, "[{foreign_key_checks 1  false} {sql_safe_updates 0  false}]"},
	}
	for _, tt := range tests {
		as, ok := ParseSet(tt.q)
		if ok != tt.ok || (ok && fmt.Sprint(as) != tt.want) {
			t.Errorf("ParseSet(%q) = %v, %v; want %s, %v", tt.q, as, ok, tt.want, tt.ok)
		}
	}
}

func TestRules(t *testing.T) {
	s := func(v string) *string { return &v }
	i := func(v int) *int { return &v }
	rules, err := Compile([]Rule{
		{RuleID: 2, Active: true, MatchDigest: s("^SELECT"), DestinationHostgroup: i(1), Apply: true, ReModifiers: "CASELESS"},
		{RuleID: 1, Active: true, MatchDigest: s("^SELECT.*FOR UPDATE"), DestinationHostgroup: i(0), Apply: true, ReModifiers: "CASELESS"},
		{RuleID: 3, Active: false, MatchDigest: s("."), DestinationHostgroup: i(9)},
		{RuleID: 10, Active: true, Username: s("etl"), FlagOUT: i(5), MatchDigest: s("^INSERT")},
		{RuleID: 11, Active: true, FlagIN: 5, DestinationHostgroup: i(7), Apply: true},
		{RuleID: 20, Active: true, MatchPattern: s("^DELETE"), NegateMatchPattern: true, Schemaname: s("ro"), ErrorMsg: s("read-only schema")},
		{RuleID: 30, Active: true, MatchPattern: s("old_table"), ReplacePattern: s("new_table"), ReModifiers: "CASELESS,GLOBAL"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	eval := func(user, schema, q string) Result {
		d, _ := digest.Of(q)
		return rules.Evaluate(Input{Username: user, Schema: schema, Query: q, DigestText: d, Digest: digest.Hash(d)})
	}
	if r := eval("app", "x", "select * from t for update"); r.DestinationHostgroup != 0 || fmt.Sprint(rules.Hits()) != "[{1 1} {2 0} {10 0} {11 0} {20 0} {30 0}]" {
		t.Errorf("FOR UPDATE: %+v, hits %v", r, rules.Hits())
	}
	if r := eval("app", "x", "SELECT 1"); r.DestinationHostgroup != 1 {
		t.Errorf("SELECT: %+v", r)
	}
	if r := eval("etl", "x", "INSERT INTO t VALUES (1)"); r.DestinationHostgroup != 7 {
		t.Errorf("flag chain: %+v", r)
	}
	if r := eval("app", "x", "INSERT INTO t VALUES (1)"); r.DestinationHostgroup != -1 {
		t.Errorf("no rule for app INSERT: %+v", r)
	}
	if r := eval("app", "ro", "UPDATE t SET a=1"); r.ErrorMsg == nil {
		t.Errorf("negated pattern in schema ro: %+v", r)
	}
	if r := eval("app", "x", "UPDATE old_table SET a=1 WHERE b IN (SELECT b FROM OLD_TABLE)"); r.NewQuery != "UPDATE new_table SET a=1 WHERE b IN (SELECT b FROM new_table)" {
		t.Errorf("replace_pattern: %q", r.NewQuery)
	}
	if _, err := Compile([]Rule{{RuleID: 4, Active: true, MatchPattern: s("(")}}, nil); err == nil {
		t.Error("invalid regex accepted")
	}
	if a := ParseAnnotations("hostgroup=20;query_timeout=500"); a.Hostgroup != 20 || a.QueryTimeout != 500 || a.Mirror != -1 {
		t.Errorf("annotations: %+v", a)
	}
}

func BenchmarkDigestPointSelect(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		digest.Of("SELECT c FROM sbtest1 WHERE id=5012")
	}
}

func TestFastRoutingAndWeightedFlagOUTs(t *testing.T) {
	s := func(v string) *string { return &v }
	i := func(v int) *int { return &v }
	rules, err := Compile([]Rule{
		{RuleID: 1, Active: true, MatchDigest: s("^SELECT"), FlagOUT: i(1)},
		{RuleID: 2, Active: true, MatchDigest: s("^UPDATE"), DestinationHostgroup: i(3), Apply: true},
		{RuleID: 3, Active: true, MatchDigest: s("^DELETE"), Attributes: `{"flagOUTs":[{"id":7,"weight":1},{"id":8,"weight":3}]}`},
	}, []FastRoute{
		{Username: "app", Schemaname: "shop", FlagIN: 1, DestinationHostgroup: 20},
		{Username: "app", Schemaname: "shop", FlagIN: 0, DestinationHostgroup: 21},
		{Username: "app", Schemaname: "shop", FlagIN: 7, DestinationHostgroup: 70},
		{Username: "app", Schemaname: "shop", FlagIN: 8, DestinationHostgroup: 80},
	})
	if err != nil {
		t.Fatal(err)
	}
	eval := func(user, schema, q string) int {
		d, _ := digest.Of(q)
		return rules.Evaluate(Input{Username: user, Schema: schema, Query: q, DigestText: d, Digest: digest.Hash(d)}).DestinationHostgroup
	}
	for _, c := range []struct {
		user, schema, q string
		want            int
	}{
		{"app", "shop", "SELECT 1", 20},              // flagOUT 1 then fast route (app, shop, 1)
		{"app", "shop", "INSERT INTO t SET a=1", 21}, // no rule: fast route with flag 0
		{"app", "shop", "UPDATE t SET a=1", 3},       // apply=1: the fast routing table is not consulted
		{"app", "other", "SELECT 1", -1},             // no route for the schema
		{"bob", "shop", "SELECT 1", -1},              // nor for the user
	} {
		if got := eval(c.user, c.schema, c.q); got != c.want {
			t.Errorf("%s@%s %q: hostgroup %d, want %d", c.user, c.schema, c.q, got, c.want)
		}
	}
	n := map[int]int{}
	for range 4000 {
		n[eval("app", "shop", "DELETE FROM t")]++
	}
	if len(n) != 2 || n[70] < 700 || n[70] > 1300 || n[80] < 2700 {
		t.Errorf("weighted flagOUTs 1:3 gave %v", n)
	}
	for _, bad := range []string{`{"flagOUTs": 5}`, `not json`, `{"flagOUTs":[{"id":-1,"weight":1}]}`} {
		if _, err := Compile([]Rule{{RuleID: 9, Active: true, Attributes: bad}}, nil); err == nil || !strings.Contains(err.Error(), "rule_id=9: attributes") {
			t.Errorf("attributes %s: err %v", bad, err)
		}
	}
	dup := []FastRoute{{Username: "a", Schemaname: "b"}, {Username: "a", Schemaname: "b"}}
	if _, err := Compile(nil, dup); err == nil {
		t.Error("duplicate fast route accepted")
	}
}

func TestParseAnnotations(t *testing.T) {
	now := time.Now().UnixMilli()
	for _, c := range []struct {
		in   string
		want Annotations
	}{
		{"hostgroup=20;query_timeout=500", Annotations{Hostgroup: 20, Mirror: -1, CacheTTL: -1, QueryDelay: -1, QueryRetries: -1, QueryTimeout: 500, MaxLagMs: -1}},
		{" HOSTGROUP = 2x ; cache_ttl=1000;query_delay=5;query_retries=2;mirror=9", Annotations{Hostgroup: 2, Mirror: 9, CacheTTL: 1000, QueryDelay: 5, QueryRetries: 2, QueryTimeout: -1, MaxLagMs: -1}},
		{"hostgroup=x1;max_lag_ms=700000", Annotations{Hostgroup: -1, Mirror: -1, CacheTTL: -1, QueryDelay: -1, QueryRetries: -1, QueryTimeout: -1, MaxLagMs: -1}},
		{"max_lag_ms=1500;create_new_connection=1;min_gtid=3E11FA47-71CA-11E1-9E33-C80AA9429562:23", Annotations{Hostgroup: -1, Mirror: -1, CacheTTL: -1, QueryDelay: -1, QueryRetries: -1, QueryTimeout: -1, MaxLagMs: 1500, CreateNewConnection: true, MinGTID: "3E11FA47-71CA-11E1-9E33-C80AA9429562:23"}},
		{"just a comment", Annotations{Hostgroup: -1, Mirror: -1, CacheTTL: -1, QueryDelay: -1, QueryRetries: -1, QueryTimeout: -1, MaxLagMs: -1}},
	} {
		if got := ParseAnnotations(c.in); got != c.want {
			t.Errorf("ParseAnnotations(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
	if a := ParseAnnotations(fmt.Sprintf("min_epoch_ms=%d", now-2000)); a.MaxLagMs < 2000 || a.MaxLagMs > 3000 {
		t.Errorf("min_epoch_ms 2 s ago: max_lag_ms %d", a.MaxLagMs)
	}
}

// BenchmarkEvaluate: the cost per statement of the rules `make bench`
// loads (n rules whose match_digest no sysbench statement matches).
func BenchmarkEvaluate(b *testing.B) {
	q := "SELECT c FROM sbtest1 WHERE id=5012"
	d, _ := digest.Of(q)
	in := Input{Username: "app", Schema: "sbtest", Query: q, DigestText: d, Digest: digest.Hash(d)}
	for _, n := range []int{0, 1000} {
		var rules []Rule
		for i := range n {
			p := fmt.Sprintf("^SELECT c FROM nomatch_%d WHERE", i)
			hg := 1
			rules = append(rules, Rule{RuleID: i + 1, Active: true, MatchDigest: &p, DestinationHostgroup: &hg, Apply: true})
		}
		r, err := Compile(rules, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Evaluate(in)
			}
		})
	}
}
