package stmt

import (
	"encoding/binary"

	"sqlgate/internal/backend"
	"sqlgate/internal/wire"
)

// Handle is a prepared statement as one client sees it, under the id the
// client was given.
type Handle struct {
	Entry *Entry
	// Cursor is the connection holding the statement's open cursor
	// (COM_STMT_FETCH reads from it), in hostgroup CursorHG.
	Cursor   *backend.Conn
	CursorHG int

	types    []byte   // parameter types from the last execute that sent them
	longData [][]byte // buffered COM_STMT_SEND_LONG_DATA packets
	longSize int      // their bytes, counted in Table.longData
	longErr  bool     // more than max_allowed_packet was sent: the next execute fails
}

// LongData returns the buffered COM_STMT_SEND_LONG_DATA packets, to send
// before the statement's next execute (with the backend's statement id
// patched in).
func (h *Handle) LongData() [][]byte { return h.longData }

// ExecutePacket returns a copy of the COM_STMT_EXECUTE packet p that always
// carries the parameter types (new-params-bound = 1): the connection it
// runs on may have prepared the statement just now and never seen them.
func (h *Handle) ExecutePacket(p []byte) ([]byte, error) {
	nparams := h.Entry.Meta.NumParams
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
		h.types = append(h.types[:0], p[pos+1:pos+1+n]...)
		return append([]byte(nil), p...), nil
	}
	if h.types == nil {
		return nil, wire.Errorf(wire.ErMalformedPacket, "HY000", "COM_STMT_EXECUTE without parameter types for a statement never executed with them")
	}
	out := make([]byte, 0, len(p)+n)
	out = append(out, p[:pos]...)
	out = append(out, 1)
	out = append(out, h.types...)
	return append(out, p[pos+1:]...), nil
}

// MaxPerSession bounds the statements one client session holds open. All
// of a session's statements can end up prepared on one backend connection
// (inside a transaction it cannot change connection), and the backend's
// max_prepared_stmt_count (16382 by default) is shared by every client:
// one client must not be able to exhaust it.
const MaxPerSession = 4096

// Table is one client session's prepared statements, by the ids the client
// was given. The zero value is ready to use.
type Table struct {
	byID     map[uint32]*Handle
	nextID   uint32
	longData int // bytes of COM_STMT_SEND_LONG_DATA buffered for all statements
}

// Room fails when the session already holds MaxPerSession statements:
// checked before a statement is prepared.
func (t *Table) Room() error {
	if len(t.byID) >= MaxPerSession {
		return wire.Errorf(wire.ErMaxPreparedStmtCount, "42000",
			"Can't create more than max_prepared_stmt_count statements (current value: %d, sqlgate's bound per client session); close statements you no longer use", MaxPerSession)
	}
	return nil
}

// Add gives the client a new id for e.
func (t *Table) Add(e *Entry) uint32 {
	if t.byID == nil {
		t.byID = map[uint32]*Handle{}
	}
	t.nextID++
	t.byID[t.nextID] = &Handle{Entry: e}
	return t.nextID
}

// Lookup returns the statement a COM_STMT_* packet p names; cmd names the
// command in the error for a malformed packet or an unknown id.
func (t *Table) Lookup(p []byte, cmd string) (*Handle, error) {
	if len(p) < 5 {
		return nil, wire.Errorf(wire.ErMalformedPacket, "HY000", "Malformed communication packet: %s", cmd)
	}
	id := binary.LittleEndian.Uint32(p[1:])
	h := t.byID[id]
	if h == nil {
		return nil, wire.Errorf(wire.ErUnknownStmtHandler, "HY000", "Unknown prepared statement handler (%d) given to %s", id, cmd)
	}
	return h, nil
}

// Get returns the statement with id, or nil.
func (t *Table) Get(id uint32) *Handle { return t.byID[id] }

// Remove forgets the statement with id and its long data.
func (t *Table) Remove(id uint32) {
	if h := t.byID[id]; h != nil {
		t.DropLongData(h)
		delete(t.byID, id)
	}
}

// Holds reports whether a statement of the session uses e.
func (t *Table) Holds(e *Entry) bool {
	for _, h := range t.byID {
		if h.Entry == e {
			return true
		}
	}
	return false
}

// Reading reports whether a statement of the session has a cursor open on
// bc.
func (t *Table) Reading(bc *backend.Conn) bool {
	for _, h := range t.byID {
		if h.Cursor == bc {
			return true
		}
	}
	return false
}

// Clear forgets every statement, giving their entries back to r.
func (t *Table) Clear(r *Registry) {
	for id, h := range t.byID {
		t.DropLongData(h)
		delete(t.byID, id)
		r.Release(h.Entry)
	}
}

// AddLongData buffers a COM_STMT_SEND_LONG_DATA packet p until the
// statement runs (the statement may run on any backend connection). What a
// session buffers, for all its statements, is bounded by limit
// (max_allowed_packet): past it the data is dropped and the next execute of
// the statement fails with the server's error, as MySQL fails a parameter
// longer than the limit. The command has no reply, so nothing here fails.
func (t *Table) AddLongData(p []byte, limit int) {
	if len(p) < 7 {
		return
	}
	h := t.byID[binary.LittleEndian.Uint32(p[1:])]
	if h == nil || h.longErr {
		return
	}
	if t.longData+len(p) > limit {
		t.DropLongData(h)
		h.longErr = true
		return
	}
	h.longData = append(h.longData, append([]byte(nil), p...))
	h.longSize += len(p)
	t.longData += len(p)
}

// LongDataTooLong reports whether the statement's long data went over the
// limit since its last execute.
func (h *Handle) LongDataTooLong() bool { return h.longErr }

// DropLongData forgets a statement's buffered long data.
func (t *Table) DropLongData(h *Handle) {
	t.longData -= h.longSize
	h.longData, h.longSize, h.longErr = nil, 0, false
}
