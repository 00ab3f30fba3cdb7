// Package processlist is what each client session is doing, as other
// goroutines see it: stats_mysql_processlist, the watchdog that enforces
// mysql-default_query_timeout, and KILL. A session updates its Entry at
// each statement and round trip; the others read it, and claim the
// statement it runs in order to stop it, at most once per statement.
package processlist

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/stats"
)

// Entry is one session's activity. The zero value is a session still in
// its handshake.
type Entry struct {
	mu       sync.Mutex
	user, db string
	query    string // "" when idle
	since    time.Time
	hg       int
	srv      string
	srvPort  int
	running  *backend.Conn // the connection the statement runs on, nil between round trips
	killSent bool          // the statement was claimed to be stopped

	kills sync.WaitGroup // claimed kills in flight (see Claim)

	// killed is set by another session's KILL CONNECTION: the statement
	// it interrupts is never retried.
	killed atomic.Bool
}

// Start records that the session of user, in schema db, began running
// query on hostgroup hg, or went idle (query "", hg -1).
func (e *Entry) Start(user, db, query string, hg int) {
	e.mu.Lock()
	e.query, e.since, e.hg, e.killSent = query, time.Now(), hg, false
	e.srv, e.srvPort = "", 0
	e.user, e.db = user, db
	e.mu.Unlock()
}

// Running records the backend connection the statement is running on, or
// nil when the round trip is over. Clearing it waits for a claimed kill in
// flight, so that bc is never reused while a KILL meant for the old
// statement can still arrive.
func (e *Entry) Running(bc *backend.Conn) {
	e.mu.Lock()
	e.running = bc
	if bc != nil {
		e.srv, e.srvPort = bc.Server.Host, bc.Server.Port
	}
	e.mu.Unlock()
	if bc == nil {
		e.kills.Wait()
	}
}

// Claim returns the connection of the statement the session is running,
// to stop it, or nil when it is between statements or the statement was
// claimed already. The caller must call Done when its kill is over.
func (e *Entry) Claim() *backend.Conn { return e.Overdue(time.Time{}, 0) }

// Overdue is Claim for a statement that has run at least limit by now.
func (e *Entry) Overdue(now time.Time, limit time.Duration) *backend.Conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	bc := e.running
	if bc == nil || e.killSent || limit > 0 && now.Sub(e.since) < limit {
		return nil
	}
	e.killSent = true
	e.kills.Add(1)
	return bc
}

// Done ends a kill claimed by Claim or Overdue.
func (e *Entry) Done() { e.kills.Done() }

// Kill marks the session killed (KILL CONNECTION).
func (e *Entry) Kill() { e.killed.Store(true) }

// Stopped reports whether the running statement was stopped on purpose
// (KILL, a timeout) or the session was killed: such a statement is never
// retried, whatever error its connection then reports.
func (e *Entry) Stopped() bool {
	if e.killed.Load() {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.killSent
}

// Process returns the session's stats_mysql_processlist row, or false
// while it is still in its handshake.
func (e *Entry) Process(now time.Time, id uint32, clientHost string, clientPort int) (stats.Process, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.user == "" {
		return stats.Process{}, false
	}
	p := stats.Process{SessionID: id, User: e.user, DB: e.db, ClientHost: clientHost, ClientPort: strconv.Itoa(clientPort),
		Hostgroup: -1, Command: "Sleep", TimeMs: now.Sub(e.since).Milliseconds()}
	if e.query != "" {
		p.Command, p.Info, p.Hostgroup, p.SrvHost, p.SrvPort = "Query", e.query, e.hg, e.srv, e.srvPort
	}
	return p, true
}
