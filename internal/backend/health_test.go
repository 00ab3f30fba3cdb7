package backend

import (
	"errors"
	"slices"
	"testing"
	"time"

	"sqlgate/internal/wire"
)

// newTestPool configures one server per hostgroup 1 and 2 on the same
// host:port (nothing listens there; the health logic needs no traffic).
func newTestPool(t *testing.T, maxLag int) (*Pool, []*Server) {
	t.Helper()
	p := NewPool(nil)
	t.Cleanup(p.Close)
	o := Options{ConnectTimeout: time.Second, ConnectTimeoutMax: 10 * time.Second, ConnectRetries: 10,
		ShunOnFailures: 5, ShunRecovery: 10 * time.Second, PingInterval: time.Hour}
	p.Configure([]ServerConfig{
		{Hostgroup: 1, Host: "db", Port: 3306, Weight: 1, MaxConnections: 10, MaxReplicationLag: maxLag},
		{Hostgroup: 2, Host: "db", Port: 3306, Weight: 1, MaxConnections: 10},
	}, o)
	ss := slices.Clone(p.servers("db", 3306))
	slices.SortFunc(ss, func(a, b *Server) int { return a.Hostgroup - b.Hostgroup })
	return p, ss
}

func TestConnectErrorsShunAndRecover(t *testing.T) {
	p, ss := newTestPool(t, 0)
	s := ss[0]
	o := p.Options()
	refused := errors.New("connection refused")
	for range 4 {
		p.connectFailed(s, refused, o)
	}
	if s.Status() != Online {
		t.Fatalf("4 errors shunned the server (limit 5)")
	}
	p.connectFailed(s, &wire.Error{Code: 1045, Message: "Access denied"}, o)
	if s.Status() != Online {
		t.Fatal("an access-denied error counted towards shunning")
	}
	p.connectFailed(s, refused, o)
	if s.Status() != Shunned {
		t.Fatalf("5 errors within a second: status %v, want SHUNNED", s.Status())
	}
	if ss[1].Status() != Online {
		t.Error("the shun spilled into another hostgroup")
	}
	// Recovery: not before the window (9 s: below connect_timeout_server_max).
	now := time.Now()
	if s.tryRecover(p, o, now.Add(8*time.Second), false) {
		t.Error("recovered before the recovery window")
	}
	if !s.tryRecover(p, o, now.Add(9500*time.Millisecond), false) || s.Status() != Online {
		t.Error("not recovered after the recovery window")
	}
	tr := p.Transitions()
	if len(tr) != 2 || tr[0].Reason != "connect errors" || tr[1].Reason != "recovered" {
		t.Errorf("transitions %+v", tr)
	}
}

func TestTooManyConnectionsThrottlesNotShuns(t *testing.T) {
	p, ss := newTestPool(t, 0)
	s := ss[0]
	for range 20 {
		p.connectFailed(s, &wire.Error{Code: 1040, Message: "Too many connections"}, p.Options())
	}
	if s.Status() != Online {
		t.Fatalf("1040 shunned the server: %v", s.Status())
	}
	s.mu.Lock()
	capped := s.health.capped(s.used, time.Now())
	s.mu.Unlock()
	if !capped {
		t.Error("no throttle after 1040")
	}
	if tr := p.Transitions(); len(tr) != 1 || tr[0].Reason != "throttled" || tr[0].Count != 1 {
		t.Errorf("throttle logged %+v, want once", tr)
	}
}

func TestPingShunNeedsGoodPing(t *testing.T) {
	p, ss := newTestPool(t, 0)
	p.ShunHost("db", 3306, "missed 3 heartbeats")
	for _, s := range ss {
		if s.Status() != Shunned {
			t.Fatalf("hostgroup %d: %v after ShunHost", s.Hostgroup, s.Status())
		}
		if s.tryRecover(p, p.Options(), time.Now().Add(time.Hour), true) {
			t.Error("a ping-shunned server recovered without a good ping")
		}
	}
	p.RecoverHost("db", 3306, "ping ok")
	for _, s := range ss {
		if s.Status() != Online {
			t.Errorf("hostgroup %d: %v after RecoverHost", s.Hostgroup, s.Status())
		}
	}
}

func TestReplicationLag(t *testing.T) {
	p, ss := newTestPool(t, 5)
	lagged, plain := ss[0], ss[1]
	for _, c := range []struct {
		lag   int64
		count int
		want  Status
	}{
		{3, 2, Online},
		{9, 2, Online}, // first measurement above: count 1 of 2
		{9, 2, ShunnedReplicationLag},
		{LagUnknown, 2, ShunnedReplicationLag}, // a failed check changes nothing
		{7, 2, ShunnedReplicationLag},
		{5, 2, Online},
		{LagNotReplica, 2, Online},
	} {
		p.SetLag("db", 3306, c.lag, c.count)
		if lagged.Status() != c.want {
			t.Fatalf("lag %d: %v, want %v", c.lag, lagged.Status(), c.want)
		}
		if plain.Status() != Online {
			t.Fatalf("a server without max_replication_lag was shunned for lag %d", c.lag)
		}
	}
	// A reload keeps a lag shun; max_replication_lag=0 ends it.
	p.SetLag("db", 3306, 60, 1)
	o := *p.Options()
	p.Configure([]ServerConfig{{Hostgroup: 1, Host: "db", Port: 3306, Weight: 1, MaxConnections: 10, MaxReplicationLag: 5}}, o)
	if lagged.Status() != ShunnedReplicationLag {
		t.Errorf("reload ended a lag shun: %v", lagged.Status())
	}
	p.Configure([]ServerConfig{{Hostgroup: 1, Host: "db", Port: 3306, Weight: 1, MaxConnections: 10}}, o)
	if lagged.Status() != Online {
		t.Errorf("max_replication_lag=0 did not end the lag shun: %v", lagged.Status())
	}
}
