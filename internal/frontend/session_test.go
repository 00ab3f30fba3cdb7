package frontend

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/config"
	"sqlgate/internal/eventlog"
	"sqlgate/internal/frontend/mirror"
	"sqlgate/internal/frontend/sessionstate"
	"sqlgate/internal/frontend/stmt"
	"sqlgate/internal/qcache"
	"sqlgate/internal/runtime"
	"sqlgate/internal/wire"
)

// These tests run the session's decisions without a database: routing,
// state replay, transaction tracking and the drain's clean points. The
// end-to-end behaviour is covered against MariaDB in the integration tests.

func intp(v int) *int       { return &v }
func strp(v string) *string { return &v }

// testSnapshot compiles a configuration with user app (default hostgroup
// 10, transaction_persistent) and the given query rules.
func testSnapshot(t *testing.T, rules ...config.MySQLQueryRule) *runtime.Snapshot {
	t.Helper()
	cfg := &config.Config{
		MySQLServers: []config.MySQLServer{
			{HostgroupID: 10, Hostname: "db1", Port: 3306, Status: "ONLINE", Weight: 1, MaxConnections: 10},
			{HostgroupID: 20, Hostname: "db2", Port: 3306, Status: "ONLINE", Weight: 1, MaxConnections: 10},
			{HostgroupID: 30, Hostname: "db3", Port: 3306, Status: "ONLINE", Weight: 1, MaxConnections: 10},
		},
		MySQLUsers: []config.MySQLUser{{Username: "app", Password: "app", Active: true, DefaultHostgroup: 10,
			TransactionPersistent: true, Backend: true, Frontend: true, MaxConnections: 100}},
		MySQLQueryRules: rules,
	}
	snap, _, err := runtime.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func testSession(rt *runtime.Snapshot) *Session {
	return &Session{user: rt.Users["app"], backend: map[int]*backend.Conn{},
		trxHG: -1, nextFlagIN: -1, lockedHG: -1, lastInsertHG: -1, state: sessionstate.State{Schema: "app", Autocommit: true}}
}

func routeOf(s *Session, rt *runtime.Snapshot, q string) int {
	info, dtext, comment := stmt.Classify(q, rt.Vars.KeepMultiplexingVariables)
	hg, _ := s.route(rt, q, dtext, comment, &info)
	return hg
}

func TestRoute(t *testing.T) {
	rt := testSnapshot(t,
		config.MySQLQueryRule{RuleID: 1, Active: true, MatchDigest: strp(`^SELECT .* FOR UPDATE`), DestinationHostgroup: intp(10), Apply: true},
		config.MySQLQueryRule{RuleID: 2, Active: true, MatchDigest: strp(`^SELECT`), DestinationHostgroup: intp(20), Apply: true},
		config.MySQLQueryRule{RuleID: 3, Active: true, MatchDigest: strp(`^DELETE`), NextQueryFlagIN: intp(5), Apply: true},
		config.MySQLQueryRule{RuleID: 4, Active: true, FlagIN: 5, MatchDigest: strp(`.`), DestinationHostgroup: intp(30), Apply: true},
	)
	for _, tc := range []struct {
		name  string
		setup func(*Session)
		q     string
		want  int
	}{
		{"no rule matches: the user's default hostgroup", nil, "INSERT INTO t VALUES (1)", 10},
		{"a read goes to the readers", nil, "SELECT * FROM t", 20},
		{"FOR UPDATE goes to the writer", nil, "SELECT * FROM t WHERE id=1 FOR UPDATE", 10},
		{"an annotation overrides the rules", nil, "SELECT /* hostgroup=30 */ 1", 30},
		{"a transaction keeps its hostgroup", func(s *Session) { s.trxHG = 10 }, "SELECT * FROM t", 10},
		{"locks keep their hostgroup, over a transaction", func(s *Session) { s.trxHG, s.lockedHG = 20, 10 }, "SELECT 1", 10},
		{"next_query_flagIN applies to the next statement", func(s *Session) { s.nextFlagIN = 5 }, "SELECT 1", 30},
	} {
		s := testSession(rt)
		if tc.setup != nil {
			tc.setup(s)
		}
		if got := routeOf(s, rt, tc.q); got != tc.want {
			t.Errorf("%s: %q routed to %d, want %d", tc.name, tc.q, got, tc.want)
		}
	}

	// next_query_flagIN set by one statement applies to the next only.
	s := testSession(rt)
	if hg := routeOf(s, rt, "DELETE FROM t"); hg != 10 {
		t.Errorf("DELETE routed to %d, want 10", hg)
	}
	if hg := routeOf(s, rt, "SELECT 1"); hg != 30 {
		t.Errorf("the statement after the DELETE routed to %d, want 30 (flagIN 5)", hg)
	}
	if hg := routeOf(s, rt, "SELECT 1"); hg != 20 {
		t.Errorf("the second statement after the DELETE routed to %d, want 20", hg)
	}
}

// fakePool hands out nothing and records what sessions give back.
type fakePool struct{ released []*backend.Conn }

func (p *fakePool) Acquire(context.Context, int, *backend.Want) (*backend.Conn, error) {
	return nil, errors.New("fakePool: no connections")
}
func (p *fakePool) Release(c *backend.Conn, _ bool) { p.released = append(p.released, c) }
func (p *fakePool) Options() *backend.Options       { return &backend.Options{} }

// TestTransactionTracking follows a session through a transaction on
// hostgroup 10: while the backend reports one open, the session keeps the
// connection and routes there; once it ends, the connection goes back to
// the pool (multiplexing) and routing is free again.
func TestTransactionTracking(t *testing.T) {
	rt := testSnapshot(t, config.MySQLQueryRule{RuleID: 1, Active: true, MatchDigest: strp(`^SELECT`), DestinationHostgroup: intp(20), Apply: true})
	pool := &fakePool{}
	s := testSession(rt)
	s.srv = &Server{pool: pool}
	bc := &backend.Conn{Server: &backend.Server{}, Vars: map[string]string{}}
	s.backend[10] = bc

	bc.InTrans = true
	s.afterStatement(rt, 10, bc, wire.Reply{}, &stmt.Info{})
	if s.trxHG != 10 || s.backend[10] != bc || len(pool.released) != 0 {
		t.Fatalf("in a transaction: trxHG %d, connection kept %v, released %d; want 10, kept, none", s.trxHG, s.backend[10] == bc, len(pool.released))
	}
	if hg := routeOf(s, rt, "SELECT * FROM t"); hg != 10 {
		t.Errorf("a read inside the transaction routed to %d, want 10", hg)
	}

	bc.InTrans = false
	s.afterStatement(rt, 10, bc, wire.Reply{}, &stmt.Info{})
	if s.trxHG != -1 || s.backend[10] != nil || len(pool.released) != 1 {
		t.Fatalf("after COMMIT: trxHG %d, connection kept %v, released %d; want -1, returned to the pool", s.trxHG, s.backend[10] != nil, len(pool.released))
	}
	if hg := routeOf(s, rt, "SELECT * FROM t"); hg != 20 {
		t.Errorf("a read after the transaction routed to %d, want 20", hg)
	}
}

// fakeCache is a query cache in a map.
type fakeCache map[qcache.Key][]byte

func (c fakeCache) Get(k qcache.Key, _ time.Time) ([]byte, bool) { d, ok := c[k]; return d, ok }
func (c fakeCache) Set(k qcache.Key, data []byte, _ time.Duration, _ time.Time) bool {
	c[k] = append([]byte(nil), data...)
	return true
}

// fakeEvents keeps the events written.
type fakeEvents struct{ got []eventlog.Event }

func (e *fakeEvents) Enabled() bool            { return true }
func (e *fakeEvents) Write(ev *eventlog.Event) { e.got = append(e.got, *ev) }

// clientConn is a client socket that keeps what the session writes.
type clientConn struct {
	mirror.Discard
	out bytes.Buffer
}

func (c *clientConn) Write(p []byte) (int, error) { return c.out.Write(p) }

// TestQueryCacheHit: a statement a cache_ttl rule caches is answered from
// the cache without a backend, logged with hostgroup -1; a miss goes to
// the pool.
func TestQueryCacheHit(t *testing.T) {
	rt := testSnapshot(t, config.MySQLQueryRule{RuleID: 1, Active: true, MatchDigest: strp(`^SELECT`), CacheTTL: intp(60000), Apply: true})
	rt.Vars.EventslogDefaultLog = true
	cache, events := fakeCache{}, &fakeEvents{}
	s := testSession(rt)
	s.srv = &Server{pool: &fakePool{}, cache: cache, events: events}
	cc := &clientConn{}
	s.c = wire.NewConn(cc)

	q := "SELECT * FROM t"
	if err := s.comQuery(rt, append([]byte{wire.ComQuery}, q...)); err == nil {
		t.Fatal("a cache miss with no backend succeeded")
	}
	if len(cache) != 0 {
		t.Fatal("a failed statement was cached")
	}

	ok := wire.AppendOK(nil, wire.OKHeader, wire.OK{Status: wire.StatusAutocommit})
	rec := &wire.Recorder{Limit: 1 << 10}
	rec.Add(ok)
	cache[s.cacheKey(q)] = rec.Bytes()
	s.c.Seq = 1
	if err := s.comQuery(rt, append([]byte{wire.ComQuery}, q...)); err != nil {
		t.Fatalf("cache hit: %v", err)
	}
	if got := cc.out.Bytes(); len(got) != 4+len(ok) || !bytes.Equal(got[4:], ok) {
		t.Fatalf("the client got %q, want the cached reply %q", got, ok)
	}
	if n := len(events.got); n != 2 || events.got[1].Hostgroup != -1 || events.got[1].Query != q {
		t.Fatalf("events %+v, want the hit logged with hostgroup -1", events.got)
	}
}
