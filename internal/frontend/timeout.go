package frontend

import (
	"context"
	"strings"
	"time"

	"sqlgate/internal/backend"
)

func noop() {}

// watch arms a statement timeout (a rule's timeout or a query_timeout
// annotation) for a round trip on bc. When it expires, sqlgate stops the
// statement with KILL QUERY sent on a separate connection, as ProxySQL does;
// the client then gets the server's own error (1317, "Query execution was
// interrupted"). The returned stop must be called when the round trip ends:
// it waits for a kill in flight, so bc is never reused while a KILL meant
// for the old statement can still arrive.
func (s *Session) watch(bc *backend.Conn, d time.Duration) (stop func()) {
	if d <= 0 {
		return noop
	}
	killed := make(chan struct{})
	t := time.AfterFunc(d, func() {
		defer close(killed)
		s.killQuery(bc, "timeout "+d.String())
	})
	return func() {
		if !t.Stop() {
			<-killed
		}
	}
}

// killQuery stops the statement running on bc; why says what asked for it
// (a timeout, a client's KILL). It logs in as the session's user, which may
// always kill its own threads (no PROCESS or SUPER needed).
func (s *Session) killQuery(bc *backend.Conn, why string) {
	o := s.srv.pool.Options()
	ctx, cancel := context.WithTimeout(context.Background(), o.ConnectTimeout+time.Second)
	defer cancel()
	err := bc.Server.Kill(ctx, bc.ThreadID, backend.DialOptions{User: s.user.Name, Cred: s.cred, Timeout: o.ConnectTimeout}, true)
	if err != nil {
		s.srv.Log.Warn("could not stop the statement", "why", why, "session", s.id, "server", bc.Server.Addr(), "thread", bc.ThreadID, "err", err)
		return
	}
	if strings.HasPrefix(why, "timeout") {
		s.srv.queryTimeouts.Add(1)
	}
	s.srv.Log.Warn("sent KILL QUERY", "why", why, "session", s.id, "server", bc.Server.Addr(), "thread", bc.ThreadID)
}

// watchdog enforces mysql-default_query_timeout (24 h by default) for
// statements without their own timeout. A timer per statement would cost
// every query an allocation; one sweep a second is precise enough for a
// limit of at least a second.
func (s *Server) watchdog(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			snap := s.Store.Load()
			if snap == nil {
				continue // still booting: no configuration, no sessions
			}
			limit := snap.Vars.DefaultQueryTimeout
			s.mu.Lock()
			sessions := make([]*Session, 0, len(s.sessions))
			for _, sess := range s.sessions {
				sessions = append(sessions, sess)
			}
			s.mu.Unlock()
			for _, sess := range sessions {
				if bc := sess.act.Overdue(now, limit); bc != nil {
					go func() {
						defer sess.act.Done()
						sess.killQuery(bc, "timeout "+limit.String()+" (mysql-default_query_timeout)")
					}()
				}
			}
		}
	}
}

// setRunning records the backend connection a statement is running on
// (nil when it is done); see processlist.Entry.Running.
func (s *Session) setRunning(bc *backend.Conn) {
	if bc != nil {
		s.lastServer = bc.Server
	}
	s.act.Running(bc)
}
