package frontend

import (
	"container/list"
	"encoding/binary"
	"sync"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/digest"
	"sqlgate/internal/eventlog"
	"sqlgate/internal/router"
	"sqlgate/internal/runtime"
	"sqlgate/internal/wire"
)

// stmtEntry is a prepared statement in the global registry: the metadata a
// client needs in its PREPARE reply, shared by every session that prepares
// the same text as the same user in the same schema. Each backend
// connection prepares it on first use (backend.Conn.Stmts maps the global
// id to the connection's own statement id).
type stmtEntry struct {
	id        uint32
	key       string
	query     string
	digest    string
	comment   string
	info      stmtInfo
	numParams uint16
	numCols   uint16
	params    [][]byte // raw column-definition packets
	cols      [][]byte
	refs      int           // sessions holding it
	idle      *list.Element // its place in stmtRegistry.idle while refs == 0
}

// stmtRegistry is the global statement cache keyed by user, schema and text.
// Entries no session holds wait in idle, oldest first, so bounding them is
// O(1) per operation however many statements sessions hold.
type stmtRegistry struct {
	mu    sync.Mutex
	byKey map[string]*stmtEntry
	idle  list.List // of *stmtEntry with refs == 0
	next  uint32
}

// maxUnreferencedStmts bounds the metadata kept for statements no session
// holds any more.
const maxUnreferencedStmts = 10000

func (r *stmtRegistry) get(key string) *stmtEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.byKey[key]
	if e != nil {
		r.hold(e)
	}
	return e
}

// hold takes a reference to e (r.mu held).
func (r *stmtRegistry) hold(e *stmtEntry) {
	if e.idle != nil {
		r.idle.Remove(e.idle)
		e.idle = nil
	}
	e.refs++
}

// add stores e unless another session stored the same statement first, and
// returns the entry to use.
func (r *stmtRegistry) add(e *stmtEntry) *stmtEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.byKey[e.key]; old != nil {
		r.hold(old)
		return old
	}
	r.next++
	e.id = r.next
	e.refs = 1
	r.byKey[e.key] = e
	return e
}

func (r *stmtRegistry) release(e *stmtEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.refs--; e.refs > 0 {
		return
	}
	e.idle = r.idle.PushBack(e)
	for r.idle.Len() > maxUnreferencedStmts {
		old := r.idle.Remove(r.idle.Front()).(*stmtEntry)
		old.idle = nil
		if r.byKey[old.key] == old {
			delete(r.byKey, old.key)
		}
	}
}

// clientStmt is a statement as one client sees it.
type clientStmt struct {
	entry    *stmtEntry
	types    []byte        // parameter types from the last execute that sent them
	longData [][]byte      // buffered COM_STMT_SEND_LONG_DATA packets
	longSize int           // their bytes, counted in Session.longData
	longErr  bool          // more than max_allowed_packet was sent: the next execute fails
	cursor   *backend.Conn // connection holding an open cursor
	cursorHG int
}

// maxClientStmts bounds the statements one client session holds open. All
// of a session's statements can end up prepared on one backend connection
// (inside a transaction it cannot change connection), and the backend's
// max_prepared_stmt_count (16382 by default) is shared by every client:
// one client must not be able to exhaust it.
const maxClientStmts = 4096

func (s *Session) comStmtPrepare(rt *runtime.Snapshot, p []byte) error {
	if len(s.stmts) >= maxClientStmts {
		return wire.Errorf(wire.ErMaxPreparedStmtCount, "42000",
			"Can't create more than max_prepared_stmt_count statements (current value: %d, sqlgate's bound per client session); close statements you no longer use", maxClientStmts)
	}
	q := string(p[1:])
	key := s.user.Name + "\x00" + s.state.schema + "\x00" + q
	e := s.srv.stmts.get(key)
	if e == nil {
		dtext, comment := digest.Of(q)
		info := stmtInfo{cmd: router.Classify(dtext), hash: digest.Hash(dtext)}
		if info.cmd == router.CmdSelect {
			info.sideEffects = router.CallsUnsafeFunction(dtext)
		}
		info.flags = router.StatementFlags(dtext, rt.Vars.KeepMultiplexingVariables)
		if info.flags&router.FlagUserVariable != 0 {
			info.userVar = containsUserVariable(dtext)
		}
		hg, _ := s.route(rt, q, dtext, comment, &info)
		bc, _, err := s.backendFor(rt, hg, false)
		if err != nil {
			return err
		}
		ne := &stmtEntry{key: key, query: q, info: info, digest: dtext, comment: comment}
		bid, err := s.prepareOn(bc, ne, true)
		if err != nil {
			if bc.Broken {
				s.detach(hg, bc)
				return backendErr(bc, err)
			}
			s.afterStatement(rt, hg, bc, wire.Reply{Err: asWireErr(err)}, &stmtInfo{})
			return err
		}
		// If another session registered the same statement meanwhile, add
		// returns its entry; the statement prepared here serves it equally.
		e = s.srv.stmts.add(ne)
		if bc.Stmts == nil {
			bc.Stmts = map[uint32]uint32{}
		}
		bc.Stmts[e.id] = bid
		s.afterStatement(rt, hg, bc, wire.Reply{}, &stmtInfo{})
	}
	s.nextStmtID++
	id := s.nextStmtID
	s.stmts[id] = &clientStmt{entry: e}
	return s.writePrepareOK(id, e)
}

func asWireErr(err error) *wire.Error {
	if we, ok := err.(*wire.Error); ok {
		return we
	}
	return nil
}

// prepareOn prepares e.query on bc and returns the backend statement id. With
// record set, the metadata is stored in e; otherwise it is read and checked
// against e (a re-prepare on another connection).
func (s *Session) prepareOn(bc *backend.Conn, e *stmtEntry, record bool) (uint32, error) {
	if err := bc.Send(append([]byte{wire.ComStmtPrepare}, e.query...)); err != nil {
		return 0, err
	}
	p, err := bc.Read()
	if err != nil {
		return 0, err
	}
	if len(p) > 0 && p[0] == wire.ErrHeader {
		return 0, wire.ParseErr(p)
	}
	if len(p) < 12 || p[0] != wire.OKHeader {
		bc.Broken = true
		return 0, wire.ErrMalformed
	}
	bid := binary.LittleEndian.Uint32(p[1:])
	ncols := binary.LittleEndian.Uint16(p[5:])
	nparams := binary.LittleEndian.Uint16(p[7:])
	readDefs := func(n uint16) ([][]byte, error) {
		var defs [][]byte
		for range n {
			d, err := bc.Read()
			if err != nil {
				return nil, err
			}
			if record {
				defs = append(defs, append([]byte(nil), d...))
			}
		}
		if n > 0 && !bc.DeprecateEOF() {
			if _, err := bc.Read(); err != nil {
				return nil, err
			}
		}
		return defs, nil
	}
	params, err := readDefs(nparams)
	if err != nil {
		return 0, err
	}
	cols, err := readDefs(ncols)
	if err != nil {
		return 0, err
	}
	if record {
		e.numParams, e.numCols, e.params, e.cols = nparams, ncols, params, cols
	} else if nparams != e.numParams {
		return bid, wire.Errorf(wire.ErUnknownStmtHandler, "HY000",
			"prepared statement changed on the server (now %d parameters, was %d); prepare it again", nparams, e.numParams)
	}
	return bid, nil
}

func (s *Session) writePrepareOK(id uint32, e *stmtEntry) error {
	b := append(s.out[:0], wire.OKHeader)
	b = binary.LittleEndian.AppendUint32(b, id)
	b = binary.LittleEndian.AppendUint16(b, e.numCols)
	b = binary.LittleEndian.AppendUint16(b, e.numParams)
	b = append(b, 0, 0, 0)
	if err := s.c.WritePacket(b); err != nil {
		return err
	}
	s.out = b
	for _, defs := range [][][]byte{e.params, e.cols} {
		for _, d := range defs {
			if err := s.c.WritePacket(d); err != nil {
				return err
			}
		}
		if len(defs) > 0 && s.caps&wire.ClientDeprecateEOF == 0 {
			if err := s.c.WritePacket(wire.AppendEOF(s.out[:0], 0, s.status())); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Session) stmtFor(p []byte, cmd string) (uint32, *clientStmt, error) {
	if len(p) < 5 {
		return 0, nil, wire.Errorf(wire.ErMalformedPacket, "HY000", "Malformed communication packet: %s", cmd)
	}
	id := binary.LittleEndian.Uint32(p[1:])
	st := s.stmts[id]
	if st == nil {
		return id, nil, wire.Errorf(wire.ErUnknownStmtHandler, "HY000", "Unknown prepared statement handler (%d) given to %s", id, cmd)
	}
	return id, st, nil
}

func (s *Session) comStmtExecute(rt *runtime.Snapshot, p []byte) error {
	_, st, err := s.stmtFor(p, "mysqld_stmt_execute")
	if err != nil {
		return err
	}
	if st.longErr {
		s.dropLongData(st)
		return wire.Errorf(wire.ErNetPacketTooLarge, "08S01", "Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes (%d)", rt.Vars.MaxAllowedPacket)
	}
	e := st.entry
	if len(p) < 10 {
		return wire.Errorf(wire.ErMalformedPacket, "HY000", "Malformed communication packet: COM_STMT_EXECUTE")
	}
	pkt, err := st.executePacket(p, e.numParams)
	if err != nil {
		return err
	}
	info := e.info
	var hg int
	ruleLog := -1
	if st.cursor != nil {
		hg = st.cursorHG
	} else {
		var res router.Result
		hg, res = s.route(rt, e.query, e.digest, e.comment, &info)
		ruleLog = res.Log
	}
	start := time.Now()
	s.setActivity(e.query, hg, nil)
	s.last = wire.Reply{}
	defer func() {
		s.record(hg, &info, e.digest, start)
		if s.shouldLog(rt, ruleLog) {
			s.logEvent(eventlog.StmtExecute, hg, e.query, info.hash, start, binary.LittleEndian.Uint32(p[1:]))
		}
	}()
	for attempt := 0; ; attempt++ {
		bc, fresh, err := s.backendFor(rt, hg, info.newConn)
		if err != nil {
			return err
		}
		bid, ok := bc.Stmts[e.id]
		if !ok {
			if bid, err = s.prepareOn(bc, e, false); err != nil {
				if bc.Broken {
					s.detach(hg, bc)
					return backendErr(bc, err)
				}
				s.afterStatement(rt, hg, bc, wire.Reply{Err: asWireErr(err)}, &stmtInfo{})
				return err
			}
			if bc.Stmts == nil {
				bc.Stmts = map[uint32]uint32{}
			}
			bc.Stmts[e.id] = bid
		}
		binary.LittleEndian.PutUint32(pkt[1:], bid)
		for _, ld := range st.longData {
			binary.LittleEndian.PutUint32(ld[1:], bid)
			bc.Seq = 0
			if err := bc.WritePacket(ld); err != nil {
				bc.Broken = true
				break
			}
		}
		stop := s.watch(bc, info.timeout)
		ri, err := s.roundTrip(rt, bc, pkt, wire.ReplyExecute)
		stop()
		if err != nil {
			canRetry := fresh && attempt < info.maxRetries(rt) && info.retrySafe()
			if err = s.failed(hg, bc, ri, err, canRetry); err == errRetry {
				continue
			}
			return err
		}
		s.dropLongData(st)
		if ri.Cursor {
			bc.Pinned |= pinCursor
			st.cursor, st.cursorHG = bc, hg
		}
		s.afterStatement(rt, hg, bc, ri, &info)
		return nil
	}
}

// executePacket returns a copy of the COM_STMT_EXECUTE packet that always
// carries the parameter types (new-params-bound = 1): the connection it runs
// on may have prepared the statement just now and never seen them.
func (st *clientStmt) executePacket(p []byte, nparams uint16) ([]byte, error) {
	malformed := wire.Errorf(wire.ErMalformedPacket, "HY000", "Malformed communication packet: COM_STMT_EXECUTE parameters")
	if nparams == 0 {
		return append([]byte(nil), p...), nil
	}
	pos := 10 + (int(nparams)+7)/8
	if len(p) <= pos {
		return nil, malformed
	}
	n := 2 * int(nparams)
	if p[pos] == 1 {
		if len(p) < pos+1+n {
			return nil, malformed
		}
		st.types = append(st.types[:0], p[pos+1:pos+1+n]...)
		return append([]byte(nil), p...), nil
	}
	if st.types == nil {
		return nil, wire.Errorf(wire.ErMalformedPacket, "HY000", "COM_STMT_EXECUTE without parameter types for a statement never executed with them")
	}
	out := make([]byte, 0, len(p)+n)
	out = append(out, p[:pos]...)
	out = append(out, 1)
	out = append(out, st.types...)
	return append(out, p[pos+1:]...), nil
}

// comStmtSendLongData buffers a parameter chunk until the statement runs
// (the statement may run on any backend connection). What a session
// buffers, for all its statements, is bounded by max_allowed_packet: past
// it the data is dropped and the next execute of the statement fails with
// the server's error, as MySQL fails a parameter longer than the limit.
func (s *Session) comStmtSendLongData(rt *runtime.Snapshot, p []byte) error {
	if len(p) < 7 {
		return nil // no reply is allowed for this command; drop it
	}
	id := binary.LittleEndian.Uint32(p[1:])
	st := s.stmts[id]
	if st == nil || st.longErr {
		return nil
	}
	if s.longData+len(p) > rt.Vars.MaxAllowedPacket {
		s.dropLongData(st)
		st.longErr = true
		return nil
	}
	st.longData = append(st.longData, append([]byte(nil), p...))
	st.longSize += len(p)
	s.longData += len(p)
	return nil
}

// dropLongData forgets a statement's buffered long data.
func (s *Session) dropLongData(st *clientStmt) {
	s.longData -= st.longSize
	st.longData, st.longSize, st.longErr = nil, 0, false
}

func (s *Session) comStmtClose(p []byte) error {
	if len(p) < 5 {
		return nil
	}
	id := binary.LittleEndian.Uint32(p[1:])
	if st := s.stmts[id]; st != nil {
		s.closeCursor(st)
		s.dropLongData(st)
		delete(s.stmts, id)
		s.closeOnBackends(st.entry)
		s.srv.stmts.release(st.entry)
	}
	return nil // COM_STMT_CLOSE has no reply
}

// closeOnBackends closes a statement the client closed on the backend
// connections attached to the session that hold more statements than
// mysql-max_stmts_per_connection. Released connections are trimmed when
// they go back to the pool, but an attached one (a transaction) never
// goes back while a client prepares and closes: without this, a loop of
// prepares in one transaction exhausts the backend's max_prepared_stmt_count.
func (s *Session) closeOnBackends(e *stmtEntry) {
	for _, other := range s.stmts {
		if other.entry == e {
			return // the session still uses it under another id
		}
	}
	most := s.srv.pool.Options().MaxStmtsPerConn
	for _, bc := range s.backend {
		if len(bc.Stmts) > most {
			if err := bc.CloseStmt(e.id); err != nil {
				bc.Broken = true
			}
		}
	}
}

// closeCursor forgets a statement's cursor and lets its connection go back
// to the pool (the server closes the cursor with the next execute or when
// the connection is reset).
func (s *Session) closeCursor(st *clientStmt) {
	bc := st.cursor
	if bc == nil {
		return
	}
	st.cursor = nil
	for _, other := range s.stmts {
		if other.cursor == bc {
			return // another statement still reads from this connection
		}
	}
	if bid, ok := bc.Stmts[st.entry.id]; ok {
		var b [5]byte
		b[0] = wire.ComStmtReset
		binary.LittleEndian.PutUint32(b[1:], bid)
		if _, err := bc.Exec(b[0], string(b[1:])); err != nil {
			bc.Broken = true
		}
	}
	bc.Pinned &^= pinCursor
	if s.backend[st.cursorHG] == bc && bc.Pinned == 0 && !bc.InTrans {
		s.detach(st.cursorHG, bc)
		if s.lockedHG == st.cursorHG {
			s.lockedHG = -1
		}
	}
}

func (s *Session) comStmtReset(p []byte) error {
	_, st, err := s.stmtFor(p, "mysqld_stmt_reset")
	if err != nil {
		return err
	}
	s.dropLongData(st)
	s.closeCursor(st)
	return s.writeOKStatus(wire.OK{})
}

func (s *Session) comStmtFetch(p []byte) error {
	_, st, err := s.stmtFor(p, "mysqld_stmt_fetch")
	if err != nil {
		return err
	}
	if st.cursor == nil || len(p) < 9 {
		return wire.Errorf(1421, "HY000", "The statement (%d) has no open cursor.", binary.LittleEndian.Uint32(p[1:]))
	}
	bc := st.cursor
	pkt := append([]byte(nil), p...)
	binary.LittleEndian.PutUint32(pkt[1:], bc.Stmts[st.entry.id])
	ri, err := s.roundTrip(nil, bc, pkt, wire.ReplyFetch)
	if err != nil {
		st.cursor = nil
		return s.failed(st.cursorHG, bc, ri, err, false)
	}
	if ri.StatusKnown {
		bc.NoteStatus(ri.Status)
	}
	return nil
}

func (s *Session) closeAllStmts() {
	for id, st := range s.stmts {
		s.dropLongData(st)
		delete(s.stmts, id)
		s.srv.stmts.release(st.entry)
	}
}
