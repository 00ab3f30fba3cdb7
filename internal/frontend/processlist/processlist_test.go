package processlist

import (
	"testing"
	"time"

	"sqlgate/internal/backend"
)

// TestClaimOnce: a running statement is claimed to be stopped at most
// once, whoever asks (KILL or the watchdog), the claim marks it stopped,
// and a new statement starts unclaimed.
func TestClaimOnce(t *testing.T) {
	var e Entry
	if _, ok := e.Process(time.Now(), 1, "h", 1); ok {
		t.Fatal("a session in its handshake is in the processlist")
	}
	e.Start("app", "shop", "SELECT SLEEP(10)", 10)
	if e.Claim() != nil {
		t.Fatal("a statement between round trips was claimed")
	}
	bc := &backend.Conn{Server: &backend.Server{ServerConfig: backend.ServerConfig{Host: "db1", Port: 3306}}}
	e.Running(bc)
	if e.Overdue(time.Now(), time.Hour) != nil {
		t.Fatal("a statement within its limit was claimed")
	}
	if e.Claim() != bc || e.Claim() != nil || e.Overdue(time.Now().Add(2*time.Hour), time.Hour) != nil {
		t.Fatal("a statement was claimed more than once")
	}
	if !e.Stopped() {
		t.Fatal("a claimed statement is not reported stopped")
	}
	p, ok := e.Process(time.Now(), 7, "10.0.0.1", 5000)
	if !ok || p.Command != "Query" || p.SrvHost != "db1" || p.User != "app" || p.DB != "shop" || p.Hostgroup != 10 {
		t.Fatalf("processlist row %+v", p)
	}
	e.Done()
	e.Running(nil) // returns: the claimed kill is done
	e.Start("app", "shop", "", -1)
	if e.Stopped() {
		t.Fatal("the next statement starts stopped")
	}
	e.Kill()
	if !e.Stopped() {
		t.Fatal("a killed session's statement is not reported stopped")
	}
}
