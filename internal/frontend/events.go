package frontend

import (
	"time"

	"sqlgate/internal/eventlog"
	"sqlgate/internal/runtime"
)

// shouldLog applies a rule's log column, or mysql-eventslog_default_log
// when no rule set it, and checks that an events log file is configured.
func (s *Session) shouldLog(rt *runtime.Snapshot, ruleLog int) bool {
	if !s.srv.events.Enabled() {
		return false
	}
	if ruleLog >= 0 {
		return ruleLog == 1
	}
	return rt.Vars.EventslogDefaultLog
}

// logEvent writes one statement to the events log. hg is -1 when no
// backend ran it (a cache hit, an error_msg or OK_msg rule).
func (s *Session) logEvent(typ eventlog.EventType, hg int, query string, digest uint64, start time.Time, stmtID uint32) {
	e := eventlog.Event{
		Type: typ, ThreadID: s.id, Username: s.user.Name, Schema: s.state.Schema, Client: s.remote,
		Hostgroup: hg, Start: start, End: time.Now(), ClientStmtID: stmtID,
		HaveAffected: s.last.Err == nil && s.last.Rows == 0, RowsAffected: s.last.Affected, LastInsertID: s.last.InsertID,
		HaveRowsSent: true, RowsSent: uint64(s.last.Rows), Digest: digest, Query: query,
	}
	if hg >= 0 && s.lastServer != nil {
		e.Server = s.lastServer.Addr()
	}
	s.srv.events.Write(&e)
}
