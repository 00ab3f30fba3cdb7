package wire

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

// memConn is a net.Conn that reads what in holds and keeps what is
// written.
type memConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *memConn) Read(b []byte) (int, error)       { return c.in.Read(b) }
func (c *memConn) Write(b []byte) (int, error)      { return c.out.Write(b) }
func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return fuzzAddr{} }
func (c *memConn) RemoteAddr() net.Addr             { return fuzzAddr{} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// stream frames payloads as consecutive packets with sequence ids from 1.
func stream(payloads ...[]byte) []byte {
	var b []byte
	for i, p := range payloads {
		b = append(b, byte(len(p)), byte(len(p)>>8), byte(len(p)>>16), byte(i+1))
		b = append(b, p...)
	}
	return b
}

// payloads splits a stream back into payloads.
func payloads(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("truncated packet header %x", b)
		}
		n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
		out = append(out, b[4:4+n])
		b = b[4+n:]
	}
	return out
}

// forward runs a Forwarder over a server reply made of the given payloads
// and returns what the client received.
func forward(t *testing.T, f *Forwarder, kind ReplyKind, reply ...[]byte) ([][]byte, error) {
	t.Helper()
	client := &memConn{in: bytes.NewReader(nil)}
	f.Server = NewConn(&memConn{in: bytes.NewReader(stream(reply...))})
	f.Client = NewConn(client)
	f.Client.Seq = 1
	err := f.Forward(kind)
	return payloads(t, client.out.Bytes()), err
}

func TestForwardConvertsTerminators(t *testing.T) {
	colCount, col, row := []byte{1}, []byte("\x03def\x00\x00\x00\x01a\x00\x0c\x21\x00\x01\x00\x00\x00\xfd\x00\x00\x00\x00\x00"), []byte("\x011")
	eof := AppendEOF(nil, 0, StatusAutocommit)
	okEnd := AppendOK(nil, EOFHeader, OK{Status: StatusAutocommit})

	// A classic server, a DEPRECATE_EOF client: the end-of-metadata EOF
	// goes, the final EOF becomes an OK terminator.
	f := Forwarder{ClientDeprecateEOF: true}
	got, err := forward(t, &f, ReplyQuery, colCount, col, eof, row, row, eof)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || !bytes.Equal(got[4], okEnd) {
		t.Fatalf("classic server to DEPRECATE_EOF client: got %q", got)
	}
	if r := f.Reply; r.Rows != 2 || r.Sets != 1 || !r.StatusKnown || r.Status != StatusAutocommit || !r.SentAny {
		t.Fatalf("reply summary %+v", r)
	}

	// A DEPRECATE_EOF server, a classic client: an end-of-metadata EOF
	// with the session's status is added, the OK terminator becomes EOF.
	f = Forwarder{ServerDeprecateEOF: true, Status: StatusInTrans}
	got, err = forward(t, &f, ReplyQuery, colCount, col, row, okEnd)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || !bytes.Equal(got[2], AppendEOF(nil, 0, StatusInTrans)) || !bytes.Equal(got[4], eof) {
		t.Fatalf("DEPRECATE_EOF server to classic client: got %q", got)
	}
}

func TestForwardOKErrAndMultiResults(t *testing.T) {
	ok1 := AppendOK(nil, OKHeader, OK{AffectedRows: 2, LastInsertID: 7, Status: StatusMoreResultsExists})
	ok2 := AppendOK(nil, OKHeader, OK{AffectedRows: 3, Status: StatusAutocommit})
	f := Forwarder{}
	got, err := forward(t, &f, ReplyQuery, ok1, ok2)
	if err != nil || len(got) != 2 {
		t.Fatalf("two OKs: %q, %v", got, err)
	}
	if f.Reply.Affected != 5 || f.Reply.InsertID != 7 || f.Reply.Status != StatusAutocommit {
		t.Fatalf("reply summary %+v", f.Reply)
	}

	f = Forwarder{}
	e := AppendErr(nil, Errorf(1146, "42S02", "Table 'x' doesn't exist"))
	if _, err := forward(t, &f, ReplyQuery, e); err != nil || f.Reply.Err == nil || f.Reply.Err.Code != 1146 {
		t.Fatalf("ERR reply: %v, %+v", err, f.Reply.Err)
	}
}

func TestForwardServerFailures(t *testing.T) {
	// The server's connection ends inside a result set: a ServerIOError,
	// and the reply already sent is reported.
	f := Forwarder{}
	_, err := forward(t, &f, ReplyQuery, []byte{1})
	var se ServerIOError
	if !errors.As(err, &se) || !f.Reply.SentAny {
		t.Fatalf("truncated reply: %v (sent any %v), want a ServerIOError", err, f.Reply.SentAny)
	}
	// An empty packet is not a reply.
	f = Forwarder{}
	if _, err := forward(t, &f, ReplyQuery, []byte{}); !errors.As(err, &se) || f.Reply.SentAny {
		t.Fatalf("empty reply: %v, want a ServerIOError before anything is sent", err)
	}
}

func TestForwardCursor(t *testing.T) {
	colCount, col := []byte{1}, []byte("\x03def\x00\x00\x00\x01a\x00\x0c\x21\x00\x01\x00\x00\x00\xfd\x00\x00\x00\x00\x00")
	eof := AppendEOF(nil, 0, StatusAutocommit|StatusCursorExists)
	f := Forwarder{}
	got, err := forward(t, &f, ReplyExecute, colCount, col, eof)
	if err != nil || !f.Reply.Cursor || len(got) != 3 {
		t.Fatalf("cursor: %q, %v, cursor %v", got, err, f.Reply.Cursor)
	}
}

func TestForwardRefusesLocalInfile(t *testing.T) {
	server := &memConn{in: bytes.NewReader(stream([]byte("\xfb/etc/passwd"), AppendErr(nil, Errorf(1148, "42000", "refused"))))}
	client := &memConn{in: bytes.NewReader(nil)}
	f := Forwarder{Server: NewConn(server), Client: NewConn(client)}
	if err := f.Forward(ReplyQuery); err != nil {
		t.Fatal(err)
	}
	if sent := payloads(t, server.out.Bytes()); len(sent) != 1 || len(sent[0]) != 0 {
		t.Fatalf("the server got %q, want one empty file packet", sent)
	}
	if got := payloads(t, client.out.Bytes()); len(got) != 1 || got[0][0] != ErrHeader || !f.Reply.Infile {
		t.Fatalf("the client got %q, want only the server's error", got)
	}
}

func TestRecorderReplay(t *testing.T) {
	ok := AppendOK(nil, OKHeader, OK{Status: StatusAutocommit})
	rec := &Recorder{Limit: 1 << 10}
	f := Forwarder{Recorder: rec}
	want, err := forward(t, &f, ReplyQuery, ok)
	if err != nil {
		t.Fatal(err)
	}
	out := &memConn{in: bytes.NewReader(nil)}
	c := NewConn(out)
	c.Seq = 1
	if err := c.Replay(rec.Bytes()); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, out.out.Bytes()); len(got) != 1 || !bytes.Equal(got[0], want[0]) {
		t.Fatalf("replayed %q, want %q", got, want)
	}

	small := &Recorder{Limit: 4}
	small.Add(ok)
	if !small.Overflow() || small.Bytes() != nil {
		t.Fatalf("a reply over the limit was kept")
	}
}

// TestPrepareOKRoundTrip: what a server's PREPARE_OK says reaches the
// client the same, in the client's EOF form.
func TestPrepareOKRoundTrip(t *testing.T) {
	def := []byte("\x03def\x00\x00\x00\x01?\x00\x0c\x3f\x00\x00\x00\x00\x00\xfd\x80\x00\x00\x00\x00")
	var server bytes.Buffer
	out := &memConn{in: bytes.NewReader(nil)}
	w := NewConn(out)
	want := PrepareOK{StmtID: 5, NumParams: 2, NumCols: 1, Params: [][]byte{def, def}, Cols: [][]byte{def}}
	if _, err := w.WritePrepareOK(nil, &want, StatusAutocommit, false); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	server.Write(out.out.Bytes())
	r := NewConn(&memConn{in: bytes.NewReader(server.Bytes())})
	got, err := r.ReadPrepareOK(false, true)
	if err != nil {
		t.Fatal(err)
	}
	if got.StmtID != 5 || got.NumParams != 2 || got.NumCols != 1 || len(got.Params) != 2 || len(got.Cols) != 1 || !bytes.Equal(got.Cols[0], def) {
		t.Fatalf("read back %+v", got)
	}
	if r.Buffered() != 0 {
		t.Fatalf("%d bytes left unread: the EOFs were not consumed", r.Buffered())
	}
	bad := NewConn(&memConn{in: bytes.NewReader(stream(AppendErr(nil, Errorf(1064, "42000", "syntax"))))})
	if _, err := bad.ReadPrepareOK(false, true); err == nil {
		t.Fatal("an ERR reply was read as PREPARE_OK")
	} else if _, ok := err.(*Error); !ok {
		t.Fatalf("an ERR reply came back as %T, want *Error", err)
	}
}
