package frontend

import (
	"regexp"
	"strconv"
	"strings"

	"sqlgate/internal/wire"
)

// A client sees sqlgate's session id, not a backend thread id: the
// greeting's connection id, SELECT CONNECTION_ID() (answered locally, as
// ProxySQL does) and stats_mysql_processlist all show it. KILL takes that
// id, so it acts on exactly one client's session or statement and never
// reaches a backend thread that another client may be using (backend
// connections are shared by multiplexing).

// killRE matches KILL [CONNECTION|QUERY] <id> (the digest keeps the id).
var killRE = regexp.MustCompile(`(?i)^\s*KILL\s+(?:(CONNECTION|QUERY)\s+)?(\d+)\s*;?\s*$`)

// connectionIDRE matches SELECT CONNECTION_ID(), the way clients ask.
var connectionIDRE = regexp.MustCompile(`(?i)^\s*SELECT\s+CONNECTION_ID\s*\(\s*\)\s*;?\s*$`)

// errConnectionKilled ends a session whose own KILL CONNECTION killed it
// (the server's reply, ER_CONNECTION_KILLED).
var errConnectionKilled = &wire.Error{Code: 1927, SQLState: "70100", Message: "Connection was killed"}

// comKill runs KILL [CONNECTION|QUERY] id for this session's user: only
// the user's own sessions can be killed, as in ProxySQL; any other id is
// unknown (error 1094), so the reply does not tell which ids exist.
func (s *Session) comKill(q string) error {
	m := killRE.FindStringSubmatch(q)
	id, err := strconv.ParseUint(m[2], 10, 32)
	target := (*Session)(nil)
	if err == nil {
		s.srv.mu.Lock()
		target = s.srv.sessions[uint32(id)]
		s.srv.mu.Unlock()
	}
	if target == nil || target.user == nil || target.user.Name != s.user.Name {
		return wire.Errorf(1094, "HY000", "Unknown thread id: %s", m[2])
	}
	query := strings.EqualFold(m[1], "QUERY")
	if target == s {
		if query {
			return s.writeOKStatus(wire.OK{}) // the only statement running is this KILL
		}
		s.writeErr(errConnectionKilled)
		s.c.Flush()
		return errQuit
	}
	if !query {
		target.act.Kill()
	}
	if bc := target.act.Claim(); bc != nil {
		go func() {
			defer target.act.Done()
			target.killQuery(bc, "KILL from session "+strconv.Itoa(int(s.id)))
		}()
	}
	if !query {
		// The session ends at once if it waits for a command, or as soon
		// as its statement, stopped above, returns.
		target.nc.Close()
	}
	s.srv.Log.Info("KILL", "by_session", s.id, "session", target.id, "query_only", query)
	return s.writeOKStatus(wire.OK{})
}
