package wire

import "sync/atomic"

// ReplyKind says what reply a command produces, which is how a Forwarder
// knows where the reply ends.
type ReplyKind int

const (
	ReplyQuery     ReplyKind = iota // COM_QUERY: OK/ERR/LOCAL INFILE/text result sets, possibly several
	ReplyExecute                    // COM_STMT_EXECUTE: OK/ERR/binary result set, possibly a cursor
	ReplyFetch                      // COM_STMT_FETCH: rows then a terminator
	ReplyFieldList                  // COM_FIELD_LIST: column definitions then a terminator
)

// Reply summarises a forwarded reply: what the proxy needs for its session
// state, the query cache and the statistics, and nothing more.
type Reply struct {
	Status      uint16 // server status of the final OK/EOF
	StatusKnown bool
	InsertID    uint64
	Affected    uint64
	Err         *Error // the reply was an ERR packet
	SentAny     bool   // some bytes of the reply went to the client
	Cursor      bool   // a COM_STMT_EXECUTE opened a cursor
	Rows        int64  // rows sent to the client
	Warnings    uint16 // warnings of the last OK/EOF
	Sets        int    // result sets in the reply
	Infile      bool   // the reply went through LOAD DATA LOCAL INFILE
}

// ClientIOError is a failure to talk to the client: the session cannot go
// on.
type ClientIOError struct{ Err error }

func (e ClientIOError) Error() string { return "client: " + e.Err.Error() }
func (e ClientIOError) Unwrap() error { return e.Err }

// ServerIOError is a failure of the server connection, or a reply that
// breaks the protocol: the connection is out of step and must be closed.
type ServerIOError struct{ Err error }

func (e ServerIOError) Error() string { return "backend: " + e.Err.Error() }
func (e ServerIOError) Unwrap() error { return e.Err }

// Forwarder streams one reply from a server connection to the client,
// packet by packet through the connections' reused buffers. It decodes only
// the packets that say where the reply ends and what it did (OK, ERR, EOF,
// column counts), and converts the end-of-metadata and end-of-rows markers
// between the EOF and OK forms when the two sides negotiated
// CLIENT_DEPRECATE_EOF differently.
//
// A Forwarder is set up per reply by value; it keeps no state between
// replies.
type Forwarder struct {
	Server *Conn // the reply is read here
	Client *Conn // and written here

	ServerDeprecateEOF bool // the server ends row sequences with OK
	ClientDeprecateEOF bool // the client expects OK terminators

	// LocalInfile lets the server's LOAD DATA LOCAL INFILE request reach
	// the client. Without it the forwarder refuses on the client's
	// behalf (an empty file), and the server fails the statement with its
	// own error.
	LocalInfile bool

	// Status is the server status of the end-of-metadata EOF the
	// forwarder writes when the server sent none (the server deprecates
	// EOF and the client does not).
	Status uint16

	// Recorder, when set, keeps a copy of what the client receives (for
	// the query cache).
	Recorder *Recorder

	// BytesRecv, when set, counts the bytes read from the server.
	BytesRecv *atomic.Int64

	// Scratch is reused for the packets the forwarder builds itself.
	Scratch []byte

	// Reply is filled in as the reply goes through.
	Reply Reply
}

// Forward forwards the complete reply to the command just sent on the
// server connection, then flushes the client. On error the server
// connection is out of step and must be closed; a ClientIOError also ends
// the client's session.
func (f *Forwarder) Forward(kind ReplyKind) error {
	err := f.forward(kind)
	if err == nil {
		if ferr := f.Client.Flush(); ferr != nil {
			err = ClientIOError{ferr}
		}
	}
	return err
}

func (f *Forwarder) read() ([]byte, error) {
	p, err := f.Server.ReadRaw()
	if err != nil {
		return nil, ServerIOError{err}
	}
	if f.BytesRecv != nil {
		f.BytesRecv.Add(int64(len(p) + 4))
	}
	return p, nil
}

func (f *Forwarder) write(p []byte) error {
	f.Reply.SentAny = true
	if f.Recorder != nil {
		f.Recorder.Add(p)
	}
	if err := f.Client.WriteRaw(p); err != nil {
		return ClientIOError{err}
	}
	return nil
}

// writeLarge forwards a physical packet and, if it is a full 16 MiB chunk,
// the continuation chunks of the same logical packet.
func (f *Forwarder) writeLarge(p []byte) error {
	for {
		if err := f.write(p); err != nil {
			return err
		}
		if len(p) < MaxPayload {
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
func (f *Forwarder) terminator(p []byte) error {
	var warnings, status uint16
	if f.ServerDeprecateEOF {
		ok, err := ParseOK(p)
		if err != nil {
			return ServerIOError{err}
		}
		warnings, status = ok.Warnings, ok.Status
		if f.ClientDeprecateEOF {
			if err := f.write(p); err != nil {
				return err
			}
		} else if err := f.write(AppendEOF(f.Scratch[:0], warnings, status)); err != nil {
			return err
		}
	} else {
		warnings, status = ParseEOF(p)
		if f.ClientDeprecateEOF {
			if err := f.write(AppendOK(f.Scratch[:0], EOFHeader, OK{Status: status, Warnings: warnings})); err != nil {
				return err
			}
		} else if err := f.write(p); err != nil {
			return err
		}
	}
	f.Reply.Status, f.Reply.StatusKnown, f.Reply.Warnings = status, true, warnings
	return nil
}

func (f *Forwarder) isTerminator(p []byte) bool {
	if f.ServerDeprecateEOF {
		return IsOKTerminator(p)
	}
	return IsEOF(p)
}

func (f *Forwarder) forward(kind ReplyKind) error {
	switch kind {
	case ReplyFetch, ReplyFieldList:
		// Rows, or column definitions, up to a terminator or an ERR.
		_, err := f.rowsFrom(nil)
		return err
	}
	for {
		p, err := f.read()
		if err != nil {
			return err
		}
		if len(p) == 0 {
			return ServerIOError{ErrMalformed}
		}
		switch {
		case p[0] == OKHeader:
			ok, perr := ParseOK(p)
			if perr != nil {
				return ServerIOError{perr}
			}
			if err := f.write(p); err != nil {
				return err
			}
			f.Reply.Status, f.Reply.StatusKnown, f.Reply.Warnings = ok.Status, true, ok.Warnings
			f.Reply.Affected += ok.AffectedRows
			if ok.LastInsertID > 0 {
				f.Reply.InsertID = ok.LastInsertID
			}
			if ok.Status&StatusMoreResultsExists == 0 {
				return nil
			}
		case p[0] == ErrHeader:
			f.Reply.Err = ParseErr(p)
			return f.write(p)
		case p[0] == LocalInfileHeader && kind == ReplyQuery:
			f.Reply.Infile = true
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
func (f *Forwarder) resultSet(p []byte, kind ReplyKind) (bool, error) {
	n, _, _, ok := LenEncInt(p)
	if !ok {
		return false, ServerIOError{ErrMalformed}
	}
	f.Reply.Sets++
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
	if !f.ServerDeprecateEOF {
		eof, err := f.read()
		if err != nil {
			return false, err
		}
		if !IsEOF(eof) {
			return false, ServerIOError{ErrMalformed}
		}
		if _, st := ParseEOF(eof); kind == ReplyExecute && st&StatusCursorExists != 0 {
			f.Reply.Cursor = true
			return false, f.terminator(eof)
		}
		if !f.ClientDeprecateEOF {
			if err := f.write(eof); err != nil {
				return false, err
			}
		}
	} else {
		first, err := f.read()
		if err != nil {
			return false, err
		}
		if kind == ReplyExecute && IsOKTerminator(first) {
			if ok, err := ParseOK(first); err == nil && ok.Status&StatusCursorExists != 0 {
				f.Reply.Cursor = true
				return false, f.terminator(first)
			}
		}
		if !f.ClientDeprecateEOF {
			if err := f.write(AppendEOF(f.Scratch[:0], 0, f.Status)); err != nil {
				return false, err
			}
		}
		pending = first
	}
	return f.rowsFrom(pending)
}

// rowsFrom forwards rows, starting with p when it is not nil, up to the
// terminator. It reports whether more results follow.
func (f *Forwarder) rowsFrom(p []byte) (bool, error) {
	for {
		if p == nil {
			var err error
			if p, err = f.read(); err != nil {
				return false, err
			}
		}
		switch {
		case len(p) > 0 && p[0] == ErrHeader && len(p) < MaxPayload:
			f.Reply.Err = ParseErr(p)
			return false, f.write(p)
		case f.isTerminator(p):
			if err := f.terminator(p); err != nil {
				return false, err
			}
			return f.Reply.Status&StatusMoreResultsExists != 0, nil
		default:
			f.Reply.Rows++
			if err := f.writeLarge(p); err != nil {
				return false, err
			}
		}
		p = nil
	}
}

// localInfile relays LOAD DATA LOCAL INFILE: the server's request for the
// file goes to the client, the client's file packets go to the server until
// the empty packet that ends the file, then the server's reply follows in
// the main loop.
func (f *Forwarder) localInfile(req []byte) error {
	if !f.LocalInfile {
		// Refuse on the client's behalf: an empty file packet makes the
		// server fail the statement with its own error.
		if err := f.Server.WriteRaw(nil); err != nil {
			return ServerIOError{err}
		}
		if err := f.Server.Flush(); err != nil {
			return ServerIOError{err}
		}
		return nil
	}
	if err := f.write(req); err != nil {
		return err
	}
	if err := f.Client.Flush(); err != nil {
		return ClientIOError{err}
	}
	for {
		p, err := f.Client.ReadRaw()
		if err != nil {
			return ClientIOError{err}
		}
		if err := f.Server.WriteRaw(p); err != nil {
			return ServerIOError{err}
		}
		if len(p) == 0 {
			break
		}
	}
	if err := f.Server.Flush(); err != nil {
		return ServerIOError{err}
	}
	return nil
}

// Recorder keeps the packets of a reply exactly as the client receives
// them, so that Conn.Replay can send the reply again later (the query
// cache). It gives up once the reply exceeds Limit bytes: the client is
// never held back waiting for a large result to be buffered.
type Recorder struct {
	Limit    int
	buf      []byte
	overflow bool
}

// Add records one physical packet.
func (r *Recorder) Add(p []byte) {
	if r.overflow {
		return
	}
	if len(r.buf)+3+len(p) > r.Limit {
		r.overflow, r.buf = true, nil
		return
	}
	n := len(p)
	r.buf = append(r.buf, byte(n), byte(n>>8), byte(n>>16))
	r.buf = append(r.buf, p...)
}

// Overflow reports whether the reply went over Limit: nothing was kept.
func (r *Recorder) Overflow() bool { return r.overflow }

// Bytes returns the recording, for Conn.Replay.
func (r *Recorder) Bytes() []byte { return r.buf }

// Replay writes a reply kept by a Recorder, with this exchange's sequence
// ids, and flushes it.
func (c *Conn) Replay(rec []byte) error {
	for len(rec) >= 3 {
		n := int(rec[0]) | int(rec[1])<<8 | int(rec[2])<<16
		if err := c.WriteRaw(rec[3 : 3+n]); err != nil {
			return err
		}
		rec = rec[3+n:]
	}
	return c.Flush()
}
