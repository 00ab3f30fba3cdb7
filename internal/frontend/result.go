package frontend

import (
	"sqlgate/internal/backend"
	"sqlgate/internal/wire"
)

// respKind says what reply a command produces.
type respKind int

const (
	respQuery     respKind = iota // COM_QUERY: OK/ERR/LOCAL INFILE/text result sets, possibly several
	respExecute                   // COM_STMT_EXECUTE: OK/ERR/binary result set, possibly a cursor
	respFetch                     // COM_STMT_FETCH: rows then a terminator
	respFieldList                 // COM_FIELD_LIST: column definitions then a terminator
)

// resultInfo summarises a forwarded reply.
type resultInfo struct {
	status      uint16 // server status of the final OK/EOF
	statusKnown bool
	insertID    uint64
	affected    uint64
	err         *wire.Error // the reply was an ERR packet
	sentAny     bool        // some bytes of the reply went to the client
	cursor      bool        // a COM_STMT_EXECUTE opened a cursor
	rows        int64       // rows sent to the client
	warnings    uint16      // warnings of the last OK/EOF
	sets        int         // result sets in the reply
	infile      bool        // the reply went through LOAD DATA LOCAL INFILE
}

// forwarder streams one reply from a backend connection to the client,
// packet by packet through the connections' reused buffers, converting the
// end-of-metadata and end-of-rows markers between the EOF and OK forms when
// the two sides negotiated CLIENT_DEPRECATE_EOF differently.
type forwarder struct {
	s    *Session
	bc   *backend.Conn
	ri   resultInfo
	cdep bool // client uses OK terminators
	bdep bool // backend uses OK terminators
}

func (f *forwarder) read() ([]byte, error) {
	p, err := f.bc.ReadRaw()
	if err != nil {
		f.bc.Broken = true
		return nil, backendIOError{err}
	}
	f.bc.Server.BytesRecv.Add(int64(len(p) + 4))
	return p, nil
}

func (f *forwarder) write(p []byte) error {
	f.ri.sentAny = true
	if f.s.capture != nil {
		f.s.capture.add(p)
	}
	if err := f.s.c.WriteRaw(p); err != nil {
		f.bc.Broken = true // the rest of the reply will not be read
		return clientIOError{err}
	}
	return nil
}

// writeLarge forwards a physical packet and, if it is a full 16 MiB chunk,
// the continuation chunks of the same logical packet.
func (f *forwarder) writeLarge(p []byte) error {
	for {
		if err := f.write(p); err != nil {
			return err
		}
		if len(p) < wire.MaxPayload {
			return nil
		}
		var err error
		if p, err = f.read(); err != nil {
			return err
		}
	}
}

// terminator converts a row-sequence terminator to the client's form and
// records its status.
func (f *forwarder) terminator(p []byte) error {
	var warnings, status uint16
	if f.bdep {
		ok, err := wire.ParseOK(p)
		if err != nil {
			f.bc.Broken = true
			return backendIOError{err}
		}
		warnings, status = ok.Warnings, ok.Status
		if f.cdep {
			if err := f.write(p); err != nil {
				return err
			}
		} else if err := f.write(wire.AppendEOF(f.s.out[:0], warnings, status)); err != nil {
			return err
		}
	} else {
		warnings, status = wire.ParseEOF(p)
		if f.cdep {
			if err := f.write(wire.AppendOK(f.s.out[:0], wire.EOFHeader, wire.OK{Status: status, Warnings: warnings})); err != nil {
				return err
			}
		} else if err := f.write(p); err != nil {
			return err
		}
	}
	f.ri.status, f.ri.statusKnown, f.ri.warnings = status, true, warnings
	return nil
}

func (f *forwarder) isTerminator(p []byte) bool {
	if f.bdep {
		return wire.IsOKTerminator(p)
	}
	return wire.IsEOF(p)
}

// forwardResult forwards the complete reply to the command just sent on bc.
func (s *Session) forwardResult(bc *backend.Conn, kind respKind) (resultInfo, error) {
	f := forwarder{s: s, bc: bc, cdep: s.caps&wire.ClientDeprecateEOF != 0, bdep: bc.DeprecateEOF()}
	err := f.forward(kind)
	if err == nil {
		if ferr := s.c.Flush(); ferr != nil {
			err = clientIOError{ferr}
		}
	}
	return f.ri, err
}

func (f *forwarder) forward(kind respKind) error {
	switch kind {
	case respFetch:
		_, err := f.rows()
		return err
	case respFieldList:
		return f.fieldList()
	}
	for {
		p, err := f.read()
		if err != nil {
			return err
		}
		if len(p) == 0 {
			f.bc.Broken = true
			return backendIOError{wire.ErrMalformed}
		}
		switch {
		case p[0] == wire.OKHeader:
			ok, perr := wire.ParseOK(p)
			if perr != nil {
				f.bc.Broken = true
				return backendIOError{perr}
			}
			if err := f.write(p); err != nil {
				return err
			}
			f.ri.status, f.ri.statusKnown, f.ri.warnings = ok.Status, true, ok.Warnings
			f.ri.affected += ok.AffectedRows
			if ok.LastInsertID > 0 {
				f.ri.insertID = ok.LastInsertID
			}
			if ok.Status&wire.StatusMoreResultsExists == 0 {
				return nil
			}
		case p[0] == wire.ErrHeader:
			f.ri.err = wire.ParseErr(p)
			return f.write(p)
		case p[0] == wire.LocalInfileHeader && kind == respQuery:
			f.ri.infile = true
			if err := f.localInfile(p); err != nil {
				return err
			}
		default:
			more, err := f.resultSet(p, kind)
			if err != nil || !more {
				return err
			}
		}
	}
}

// resultSet forwards one result set whose column-count packet is p. It
// reports whether more results follow.
func (f *forwarder) resultSet(p []byte, kind respKind) (bool, error) {
	n, _, _, ok := wire.LenEncInt(p)
	if !ok {
		f.bc.Broken = true
		return false, backendIOError{wire.ErrMalformed}
	}
	f.ri.sets++
	if err := f.write(p); err != nil {
		return false, err
	}
	for range n {
		if p, err := f.read(); err != nil {
			return false, err
		} else if err := f.write(p); err != nil {
			return false, err
		}
	}
	// End of metadata: an EOF on classic connections; nothing on
	// DEPRECATE_EOF connections, except for a cursor, where the metadata is
	// followed by the terminator that carries SERVER_STATUS_CURSOR_EXISTS.
	var pending []byte
	if !f.bdep {
		eof, err := f.read()
		if err != nil {
			return false, err
		}
		if !wire.IsEOF(eof) {
			f.bc.Broken = true
			return false, backendIOError{wire.ErrMalformed}
		}
		if _, st := wire.ParseEOF(eof); kind == respExecute && st&wire.StatusCursorExists != 0 {
			f.ri.cursor = true
			return false, f.terminator(eof)
		}
		if !f.cdep {
			if err := f.write(eof); err != nil {
				return false, err
			}
		}
	} else {
		first, err := f.read()
		if err != nil {
			return false, err
		}
		if kind == respExecute && wire.IsOKTerminator(first) {
			if ok, err := wire.ParseOK(first); err == nil && ok.Status&wire.StatusCursorExists != 0 {
				f.ri.cursor = true
				return false, f.terminator(first)
			}
		}
		if !f.cdep {
			if err := f.write(wire.AppendEOF(f.s.out[:0], 0, f.s.status())); err != nil {
				return false, err
			}
		}
		pending = first
	}
	return f.rowsFrom(pending)
}

// rows forwards rows up to the terminator (for COM_STMT_FETCH).
func (f *forwarder) rows() (bool, error) { return f.rowsFrom(nil) }

func (f *forwarder) rowsFrom(p []byte) (bool, error) {
	for {
		if p == nil {
			var err error
			if p, err = f.read(); err != nil {
				return false, err
			}
		}
		switch {
		case len(p) > 0 && p[0] == wire.ErrHeader && len(p) < wire.MaxPayload:
			f.ri.err = wire.ParseErr(p)
			return false, f.write(p)
		case f.isTerminator(p):
			if err := f.terminator(p); err != nil {
				return false, err
			}
			return f.ri.status&wire.StatusMoreResultsExists != 0, nil
		default:
			f.ri.rows++
			if err := f.writeLarge(p); err != nil {
				return false, err
			}
		}
		p = nil
	}
}

// fieldList forwards a COM_FIELD_LIST reply: column definitions, then a
// terminator (or an ERR).
func (f *forwarder) fieldList() error {
	_, err := f.rowsFrom(nil)
	return err
}

// localInfile relays LOAD DATA LOCAL INFILE: the server's request for the
// file goes to the client, the client's file packets go to the server until
// the empty packet that ends the file, then the server's reply follows in
// the main loop.
func (f *forwarder) localInfile(req []byte) error {
	s := f.s
	rt := s.srv.Store.Load()
	if s.caps&wire.ClientLocalFiles == 0 || !rt.Vars.EnableLoadDataLocalInfile {
		// Refuse on the client's behalf: an empty file packet makes the
		// server fail the statement with its own error.
		if err := f.bc.WriteRaw(nil); err != nil {
			f.bc.Broken = true
			return backendIOError{err}
		}
		if err := f.bc.Flush(); err != nil {
			f.bc.Broken = true
			return backendIOError{err}
		}
		return nil
	}
	if err := f.write(req); err != nil {
		return err
	}
	if err := s.c.Flush(); err != nil {
		f.bc.Broken = true
		return clientIOError{err}
	}
	for {
		p, err := s.c.ReadRaw()
		if err != nil {
			f.bc.Broken = true
			return clientIOError{err}
		}
		if err := f.bc.WriteRaw(p); err != nil {
			f.bc.Broken = true
			return backendIOError{err}
		}
		if len(p) == 0 {
			break
		}
	}
	if err := f.bc.Flush(); err != nil {
		f.bc.Broken = true
		return backendIOError{err}
	}
	return nil
}
