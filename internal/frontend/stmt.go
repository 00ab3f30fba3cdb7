package frontend

import (
	"encoding/binary"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/eventlog"
	"sqlgate/internal/frontend/sessionstate"
	"sqlgate/internal/frontend/stmt"
	"sqlgate/internal/router"
	"sqlgate/internal/runtime"
	"sqlgate/internal/wire"
)

// The COM_STMT_* commands. A statement is prepared once per backend
// connection that runs it, lazily: the client's statement id maps to a
// shared stmt.Entry, and backend.Conn.Stmts maps the entry to the
// connection's own id.

func (s *Session) comStmtPrepare(rt *runtime.Snapshot, p []byte) error {
	if err := s.stmts.Room(); err != nil {
		return err
	}
	q := string(p[1:])
	key := stmt.Key(s.user.Name, s.state.Schema, q)
	e := s.srv.stmts.Get(key)
	if e == nil {
		info, dtext, comment := stmt.Classify(q, rt.Vars.KeepMultiplexingVariables)
		hg, _ := s.route(rt, q, dtext, comment, &info)
		bc, _, err := s.backendFor(rt, hg, nil)
		if err != nil {
			return err
		}
		ne := &stmt.Entry{Key: key, Query: q, Info: info, Digest: dtext, Comment: comment}
		bid, err := s.prepareOn(bc, ne, true)
		if err != nil {
			if bc.Broken {
				s.detach(hg, bc)
				return sessionstate.ReplayError(bc, err)
			}
			s.afterStatement(rt, hg, bc, wire.Reply{Err: asWireErr(err)}, &stmt.Info{})
			return err
		}
		// If another session registered the same statement meanwhile, Add
		// returns its entry; the statement prepared here serves it equally.
		e = s.srv.stmts.Add(ne)
		if bc.Stmts == nil {
			bc.Stmts = map[uint32]uint32{}
		}
		bc.Stmts[e.ID] = bid
		s.afterStatement(rt, hg, bc, wire.Reply{}, &stmt.Info{})
	}
	meta := e.Meta
	meta.StmtID = s.stmts.Add(e)
	var err error
	s.out, err = s.c.WritePrepareOK(s.out, &meta, s.status(), s.caps&wire.ClientDeprecateEOF != 0)
	return err
}

func asWireErr(err error) *wire.Error {
	if we, ok := err.(*wire.Error); ok {
		return we
	}
	return nil
}

// prepareOn prepares e.Query on bc and returns the backend statement id.
// With record set, the metadata is stored in e; otherwise it is checked
// against e (a re-prepare on another connection).
func (s *Session) prepareOn(bc *backend.Conn, e *stmt.Entry, record bool) (uint32, error) {
	if err := bc.Send(append([]byte{wire.ComStmtPrepare}, e.Query...)); err != nil {
		return 0, err
	}
	r, err := bc.ReadPrepareOK(bc.DeprecateEOF(), record)
	if err != nil {
		if _, ok := err.(*wire.Error); !ok {
			bc.Broken = true
		}
		return 0, err
	}
	if record {
		e.Meta = r
	} else if r.NumParams != e.Meta.NumParams {
		return r.StmtID, wire.Errorf(wire.ErUnknownStmtHandler, "HY000",
			"prepared statement changed on the server (now %d parameters, was %d); prepare it again", r.NumParams, e.Meta.NumParams)
	}
	return r.StmtID, nil
}

func (s *Session) comStmtExecute(rt *runtime.Snapshot, p []byte) error {
	st, err := s.stmts.Lookup(p, "mysqld_stmt_execute")
	if err != nil {
		return err
	}
	if st.LongDataTooLong() {
		s.stmts.DropLongData(st)
		return wire.Errorf(wire.ErNetPacketTooLarge, "08S01", "Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes (%d)", rt.Vars.MaxAllowedPacket)
	}
	e := st.Entry
	if len(p) < 10 {
		return wire.Errorf(wire.ErMalformedPacket, "HY000", "Malformed communication packet: COM_STMT_EXECUTE")
	}
	pkt, err := st.ExecutePacket(p)
	if err != nil {
		return err
	}
	info := e.Info
	var hg int
	ruleLog := -1
	if st.Cursor != nil {
		hg = st.CursorHG
	} else {
		var res router.Result
		hg, res = s.route(rt, e.Query, e.Digest, e.Comment, &info)
		ruleLog = res.Log
	}
	start := time.Now()
	s.setActivity(e.Query, hg)
	s.last = wire.Reply{}
	defer func() {
		s.record(hg, &info, e.Digest, start)
		if s.shouldLog(rt, ruleLog) {
			s.logEvent(eventlog.StmtExecute, hg, e.Query, info.Hash, start, binary.LittleEndian.Uint32(p[1:]))
		}
	}()
	for attempt := 0; ; attempt++ {
		bc, fresh, err := s.backendFor(rt, hg, &info)
		if err != nil {
			return err
		}
		bid, ok := bc.Stmts[e.ID]
		if !ok {
			if bid, err = s.prepareOn(bc, e, false); err != nil {
				if bc.Broken {
					s.detach(hg, bc)
					return sessionstate.ReplayError(bc, err)
				}
				s.afterStatement(rt, hg, bc, wire.Reply{Err: asWireErr(err)}, &stmt.Info{})
				return err
			}
			if bc.Stmts == nil {
				bc.Stmts = map[uint32]uint32{}
			}
			bc.Stmts[e.ID] = bid
		}
		binary.LittleEndian.PutUint32(pkt[1:], bid)
		for _, ld := range st.LongData() {
			binary.LittleEndian.PutUint32(ld[1:], bid)
			bc.Seq = 0
			if err := bc.WritePacket(ld); err != nil {
				bc.Broken = true
				break
			}
		}
		stop := s.watch(bc, info.Timeout)
		ri, err := s.roundTrip(rt, bc, pkt, wire.ReplyExecute)
		stop()
		if err != nil {
			canRetry := fresh && attempt < info.MaxRetries(rt.Vars.QueryRetriesOnFailure) && info.RetrySafe()
			if err = s.failed(hg, bc, ri, err, canRetry); err == errRetry {
				continue
			}
			return err
		}
		s.stmts.DropLongData(st)
		if ri.Cursor {
			bc.Pinned |= stmt.PinCursor
			st.Cursor, st.CursorHG = bc, hg
		}
		s.afterStatement(rt, hg, bc, ri, &info)
		return nil
	}
}

// comStmtSendLongData buffers a parameter chunk until the statement runs
// (see stmt.Table.AddLongData). The command has no reply.
func (s *Session) comStmtSendLongData(rt *runtime.Snapshot, p []byte) error {
	s.stmts.AddLongData(p, rt.Vars.MaxAllowedPacket)
	return nil
}

func (s *Session) comStmtClose(p []byte) error {
	if len(p) < 5 {
		return nil
	}
	id := binary.LittleEndian.Uint32(p[1:])
	if st := s.stmts.Get(id); st != nil {
		s.closeCursor(st)
		s.stmts.Remove(id)
		s.closeOnBackends(st.Entry)
		s.srv.stmts.Release(st.Entry)
	}
	return nil // COM_STMT_CLOSE has no reply
}

// closeOnBackends closes a statement the client closed on the backend
// connections attached to the session that hold more statements than
// mysql-max_stmts_per_connection. Released connections are trimmed when
// they go back to the pool, but an attached one (a transaction) never
// goes back while a client prepares and closes: without this, a loop of
// prepares in one transaction exhausts the backend's max_prepared_stmt_count.
func (s *Session) closeOnBackends(e *stmt.Entry) {
	if s.stmts.Holds(e) {
		return // the session still uses it under another id
	}
	most := s.srv.pool.Options().MaxStmtsPerConn
	for _, bc := range s.backend {
		if len(bc.Stmts) > most {
			if err := bc.CloseStmt(e.ID); err != nil {
				bc.Broken = true
			}
		}
	}
}

// closeCursor forgets a statement's cursor and lets its connection go back
// to the pool (the server closes the cursor with the next execute or when
// the connection is reset).
func (s *Session) closeCursor(st *stmt.Handle) {
	bc := st.Cursor
	if bc == nil {
		return
	}
	st.Cursor = nil
	if s.stmts.Reading(bc) {
		return // another statement still reads from this connection
	}
	if bid, ok := bc.Stmts[st.Entry.ID]; ok {
		var b [5]byte
		b[0] = wire.ComStmtReset
		binary.LittleEndian.PutUint32(b[1:], bid)
		if _, err := bc.Exec(b[0], string(b[1:])); err != nil {
			bc.Broken = true
		}
	}
	bc.Pinned &^= stmt.PinCursor
	if s.backend[st.CursorHG] == bc && bc.Pinned == 0 && !bc.InTrans {
		s.detach(st.CursorHG, bc)
		if s.lockedHG == st.CursorHG {
			s.lockedHG = -1
		}
	}
}

func (s *Session) comStmtReset(p []byte) error {
	st, err := s.stmts.Lookup(p, "mysqld_stmt_reset")
	if err != nil {
		return err
	}
	s.stmts.DropLongData(st)
	s.closeCursor(st)
	return s.writeOKStatus(wire.OK{})
}

func (s *Session) comStmtFetch(p []byte) error {
	st, err := s.stmts.Lookup(p, "mysqld_stmt_fetch")
	if err != nil {
		return err
	}
	if st.Cursor == nil || len(p) < 9 {
		return wire.Errorf(1421, "HY000", "The statement (%d) has no open cursor.", binary.LittleEndian.Uint32(p[1:]))
	}
	bc := st.Cursor
	pkt := append([]byte(nil), p...)
	binary.LittleEndian.PutUint32(pkt[1:], bc.Stmts[st.Entry.ID])
	ri, err := s.roundTrip(nil, bc, pkt, wire.ReplyFetch)
	if err != nil {
		st.Cursor = nil
		return s.failed(st.CursorHG, bc, ri, err, false)
	}
	if ri.StatusKnown {
		bc.NoteStatus(ri.Status)
	}
	return nil
}

func (s *Session) closeAllStmts() { s.stmts.Clear(&s.srv.stmts) }
