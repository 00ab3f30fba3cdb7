package wire

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for everything a peer's bytes reach in this package. Run
// one with `go test -run '^$' -fuzz '^FuzzReadPacket$' ./internal/wire`
// (or `make fuzz`); plain `go test` runs the seeds below and the corpus in
// testdata/fuzz.

// fuzzStream is the byte stream a FuzzReadPacket input describes: head,
// fill zero bytes, mid, fill2 zero bytes, tail. The fills let a small
// input actually send large packets: a whole 16 MB physical packet, so
// continuation packets are reached, or two large packets of different
// sizes, so the reuse of the buffer a large packet leaves is.
type fuzzStream struct {
	parts [5][]byte // nil parts are zero fills of fills[i] bytes
	fills [5]int
}

func newFuzzStream(head []byte, fill int, mid []byte, fill2 int, tail []byte) *fuzzStream {
	return &fuzzStream{parts: [5][]byte{head, nil, mid, nil, tail}, fills: [5]int{len(head), fill, len(mid), fill2, len(tail)}}
}

func (s *fuzzStream) len() int {
	n := 0
	for _, l := range s.fills {
		n += l
	}
	return n
}

func (s *fuzzStream) at(i int) byte {
	var b [1]byte
	s.read(i, b[:])
	return b[0]
}

var zeros [64 << 10]byte

// read copies the stream from off into b and returns the bytes copied.
func (s *fuzzStream) read(off int, b []byte) int {
	n, start := 0, 0
	for k, l := range s.fills {
		if n == len(b) {
			break
		}
		for off < start+l && n < len(b) {
			var m int
			if s.parts[k] != nil {
				m = copy(b[n:], s.parts[k][off-start:])
			} else {
				m = copy(b[n:], zeros[:min(len(zeros), start+l-off)])
			}
			n += m
			off += m
		}
		start += l
	}
	return n
}

// equal reports whether p is the stream's bytes from off, without
// allocating.
func (s *fuzzStream) equal(off int, p []byte) bool {
	var buf [4096]byte
	for len(p) > 0 {
		n := s.read(off, buf[:min(len(buf), len(p))])
		if n == 0 || !bytes.Equal(buf[:n], p[:n]) {
			return false
		}
		p, off = p[n:], off+n
	}
	return true
}

// streamConn is an in-memory net.Conn serving a fuzzStream in reads of at
// most chunk bytes (a peer's bytes arrive in arbitrary pieces). net.Pipe
// would need a writer goroutine whose allocations would blur the memory
// bound the target checks.
type streamConn struct {
	s     *fuzzStream
	off   int // bytes delivered so far
	chunk int
}

func (c *streamConn) Read(b []byte) (int, error) {
	if c.off >= c.s.len() {
		return 0, io.EOF
	}
	n := c.s.read(c.off, b[:min(len(b), c.chunk)])
	c.off += n
	return n, nil
}

func (c *streamConn) Write(b []byte) (int, error)        { return len(b), nil }
func (c *streamConn) Close() error                       { return nil }
func (c *streamConn) LocalAddr() net.Addr                { return fuzzAddr{} }
func (c *streamConn) RemoteAddr() net.Addr               { return fuzzAddr{} }
func (c *streamConn) SetDeadline(t time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(t time.Time) error { return nil }

type fuzzAddr struct{}

func (fuzzAddr) Network() string { return "fuzz" }
func (fuzzAddr) String() string  { return "fuzz" }

// refRaw is the reference framing of one physical packet at pos: the
// payload at [off, off+n), the next packet's position and the sequence id
// expected next. hdrEnd is where the header ends (for a refused size).
func refRaw(s *fuzzStream, pos, most int) (off, n, next int, seq byte, hdrEnd int, err error) {
	rem := s.len() - pos
	switch {
	case rem == 0:
		return 0, 0, pos, 0, 0, io.EOF
	case rem < 4:
		return 0, 0, pos, 0, 0, io.ErrUnexpectedEOF
	}
	n = int(s.at(pos)) | int(s.at(pos+1))<<8 | int(s.at(pos+2))<<16
	if most >= 0 && n > most {
		return 0, 0, pos, 0, pos + 4, ErrPacketTooLarge
	}
	if rem-4 < n {
		return 0, 0, pos, 0, 0, io.ErrUnexpectedEOF
	}
	return pos + 4, n, pos + 4 + n, s.at(pos+3) + 1, 0, nil
}

// fuzzChunks are the read sizes a FuzzReadPacket input chooses from.
var fuzzChunks = []int{1, 2, 3, 4, 5, 7, 64, 4095, 4096, 16383, 16384, 16385, 65536, 1 << 20, 1 << 30}

// FuzzReadPacket reads an arbitrary byte stream packet by packet, with
// ReadPacket under an arbitrary limit or with ReadRaw, in arbitrary read
// sizes. Invariants: no panic; every packet, error and sequence id is what
// a straightforward reference framing of the same bytes gives (so a
// continuation is joined, a limit refuses exactly the packets that exceed
// it, and a stream that ends inside a logical packet is
// io.ErrUnexpectedEOF, never a clean io.EOF); a refused header is refused
// before its payload is read; and the memory allocated is bounded by a
// constant plus a small multiple of the bytes actually sent, whatever
// sizes the headers claim.
func FuzzReadPacket(f *testing.F) {
	hdr := func(n int, seq byte) []byte { return []byte{byte(n), byte(n >> 8), byte(n >> 16), seq} }
	pkt := func(seq byte, p []byte) []byte { return append(hdr(len(p), seq), p...) }
	var hello []byte
	hr := HandshakeResponse{Caps: ClientProtocol41 | ClientSecureConnection | ClientPluginAuth | ClientConnectWithDB | ClientPluginAuthLenencClientData,
		MaxPacket: MaxPayload, Charset: 45, User: "app", AuthResponse: bytes.Repeat([]byte{7}, 20), DB: "test", AuthPlugin: NativePassword}
	hello = append(hello, pkt(1, hr.Append(nil))...)
	hello = append(hello, pkt(0, append([]byte{ComQuery}, "SELECT c FROM sbtest1 WHERE id=5012"...))...)
	hello = append(hello, pkt(0, []byte{ComQuit})...)

	// (head, fill, mid, fill2, tail, limit, mode): mode bit 0 selects
	// ReadRaw, the rest the read size; a fill with top nibble 0xf is about
	// one whole physical packet.
	f.Add(hello, uint32(0), []byte(nil), uint32(0), []byte(nil), int32(MaxHandshakePacket), uint8(0))
	f.Add(hello, uint32(0), []byte(nil), uint32(0), []byte(nil), int32(0), uint8(1))
	f.Add(hello, uint32(0), []byte(nil), uint32(0), []byte(nil), int32(0), uint8(0))                            // read in 1-byte pieces
	f.Add([]byte{0xff, 0xff, 0xff, 0x01}, uint32(100), []byte(nil), uint32(0), []byte(nil), int32(0), uint8(2)) // 16 MB claimed, 100 bytes sent
	f.Add([]byte{0xff, 0xff, 0xff, 0x01}, uint32(100), []byte(nil), uint32(0), []byte(nil), int32(MaxHandshakePacket), uint8(2))
	f.Add(hdr(BufferSize-4, 0), uint32(BufferSize-4), pkt(1, []byte("x")), uint32(0), []byte(nil), int32(0), uint8(16))
	f.Add(hdr(BufferSize, 0), uint32(BufferSize), pkt(1, []byte("x")), uint32(0), []byte(nil), int32(BufferSize), uint8(18))
	f.Add(hdr(200000, 3), uint32(200000), []byte(nil), uint32(0), []byte(nil), int32(1<<20), uint8(22))
	// A 16 MB physical packet continued by a short one, under a limit that
	// admits it, one that refuses the continuation, and none; then the
	// stream ending right where the continuation should start.
	whole := uint32(0xf0000000 | 0x8000) // fill = MaxPayload
	f.Add(hdr(MaxPayload, 0), whole, pkt(1, []byte("tail")), uint32(0), []byte(nil), int32(MaxPayload+10), uint8(24))
	f.Add(hdr(MaxPayload, 0), whole, pkt(1, []byte("tail")), uint32(0), []byte(nil), int32(MaxPayload+2), uint8(24))
	f.Add(hdr(MaxPayload, 0), whole, []byte(nil), uint32(0), []byte(nil), int32(0), uint8(25))
	f.Add(hdr(MaxPayload, 0), whole, []byte(nil), uint32(0), []byte(nil), int32(0), uint8(24))
	f.Add([]byte{1, 0}, uint32(0), []byte(nil), uint32(0), []byte(nil), int32(0), uint8(0))
	f.Add([]byte{}, uint32(0), []byte(nil), uint32(0), []byte(nil), int32(-1), uint8(0))
	// A large packet, then a smaller one that still does not fit the read
	// buffer: the second is read into the first one's bigger buffer, and
	// must take only its own bytes (a 32 MB statement used to hang so).
	f.Add(hdr(200000, 0), uint32(200000), hdr(20000, 1), uint32(20000), pkt(2, []byte("next")), int32(0), uint8(24))
	f.Add(hdr(MaxPayload, 0), whole, hdr(20000, 1), uint32(20000), pkt(0, []byte{ComPing}), int32(0), uint8(24))
	f.Add(hdr(MaxPayload, 0), whole, hdr(MaxPayload, 1), whole, pkt(2, nil), int32(0), uint8(25))

	f.Fuzz(func(t *testing.T, head []byte, fill uint32, mid []byte, fill2 uint32, tail []byte, limit int32, mode uint8) {
		size := func(fill uint32) int {
			if fill>>28 == 0xf {
				return MaxPayload - 0x8000 + int(fill&0xffff)
			}
			return int(fill & 0xfffff)
		}
		s := newFuzzStream(head, size(fill), mid, size(fill2), tail)
		raw := mode&1 != 0
		chunk := fuzzChunks[int(mode>>1)%len(fuzzChunks)]
		if s.len() > 1<<20 {
			chunk = max(chunk, 4096) // keep an iteration well under a second
		}
		lim := int(limit)

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		sc := &streamConn{s: s, chunk: chunk}
		c := NewConn(sc)
		pos := 0
		for range 1 << 14 {
			// The reference: what this read must return.
			var segs [][2]int // payload pieces [off, n)
			total, wantSeq, refusedEnd := 0, byte(0), 0
			most := -1
			if !raw && lim > 0 {
				most = lim
			}
			off, n, next, seq, hdrEnd, wantErr := refRaw(s, pos, most)
			for wantErr == nil {
				segs = append(segs, [2]int{off, n})
				total += n
				pos, wantSeq = next, seq
				if raw || n < MaxPayload {
					break
				}
				left := -1
				if lim > 0 {
					left = lim - total
				}
				off, n, next, seq, hdrEnd, wantErr = refRaw(s, pos, left)
				if wantErr == io.EOF {
					wantErr = io.ErrUnexpectedEOF // the peer left inside a logical packet
				}
			}
			if wantErr == ErrPacketTooLarge {
				refusedEnd = hdrEnd
			}

			var p []byte
			var err error
			if raw {
				p, err = c.ReadRaw()
			} else {
				p, err = c.ReadPacket(lim)
			}
			if err != nil || wantErr != nil {
				if !errors.Is(err, wantErr) || err == nil {
					t.Fatalf("at %d (raw %v, limit %d): err %v, want %v", pos, raw, lim, err, wantErr)
				}
				if refusedEnd > 0 && sc.off > refusedEnd+BufferSize {
					t.Fatalf("a refused header ending at %d: %d bytes read", refusedEnd, sc.off)
				}
				break
			}
			if len(p) != total {
				t.Fatalf("at %d: payload of %d bytes, want %d", pos, len(p), total)
			}
			if lim > 0 && !raw && len(p) > lim {
				t.Fatalf("payload of %d bytes under limit %d", len(p), lim)
			}
			for _, sg := range segs {
				if !s.equal(sg[0], p[:sg[1]]) {
					t.Fatalf("payload bytes differ from the stream at %d", sg[0])
				}
				p = p[sg[1]:]
			}
			if c.Seq != wantSeq {
				t.Fatalf("Seq %d, want %d", c.Seq, wantSeq)
			}
		}
		runtime.ReadMemStats(&after)
		// NewConn's two buffers, the first growth step, room for small
		// values, and a small multiple of what was actually received.
		bound := uint64(2*BufferSize + 2*growStep + 64<<10 + 8*sc.off)
		if got := after.TotalAlloc - before.TotalAlloc; got > bound {
			t.Fatalf("%d bytes received (stream of %d), %d bytes allocated; bound %d", sc.off, s.len(), got, bound)
		}
	})
}

// handshakeEqual compares two decoded handshake responses; a missing and
// an empty byte string are the same.
func handshakeEqual(a, b *HandshakeResponse) bool {
	return a.Caps == b.Caps && a.MaxPacket == b.MaxPacket && a.Charset == b.Charset && a.User == b.User &&
		bytes.Equal(a.AuthResponse, b.AuthResponse) && a.DB == b.DB && a.AuthPlugin == b.AuthPlugin &&
		bytes.Equal(a.Attrs, b.Attrs)
}

func scribble(p []byte) {
	for i := range p {
		p[i] ^= 0xa5
	}
}

// FuzzClientHandshake feeds arbitrary bytes to the parsers of what a client
// sends before it is authenticated: HandshakeResponse41, SSLRequest and
// COM_CHANGE_USER. Invariants: no panic; a refused packet yields nothing;
// names carry no NUL and fit the packet; nothing decoded aliases the packet
// (ReadPacket reuses its buffer); and a decoded response encodes back to a
// packet that decodes to the same response.
func FuzzClientHandshake(f *testing.F) {
	all := ClientProtocol41 | ClientSecureConnection | ClientPluginAuth | ClientConnectWithDB | ClientConnectAttrs | ClientPluginAuthLenencClientData
	for _, hr := range []HandshakeResponse{
		{Caps: all, MaxPacket: MaxPayload, Charset: 45, User: "app", AuthResponse: bytes.Repeat([]byte{9}, 20), DB: "test", AuthPlugin: NativePassword,
			Attrs: []byte("\x0c_client_name\x0alibmariadb\x04_pid\x0512345")},
		{Caps: ClientProtocol41 | ClientSecureConnection, User: "u"},
		{Caps: all &^ ClientPluginAuthLenencClientData, User: "root", AuthResponse: bytes.Repeat([]byte{1}, 32), AuthPlugin: CachingSHA2Password},
		{Caps: all, User: "", DB: ""},
	} {
		f.Add(hr.Append(nil))
	}
	f.Add(AppendSSLRequest(nil, all, MaxPayload, 33))
	f.Add([]byte("app\x00\x14aaaaaaaaaaaaaaaaaaaatest\x00!\x00mysql_native_password\x00")) // COM_CHANGE_USER body
	f.Add([]byte("\x00\x02\x00\x00\x00\x00\x00\x00\x21" + strings.Repeat("\x00", 23) + "u\x00\xfc\xff\xff"))
	f.Add([]byte("\x00\x02\x20\x00\x00\x00\x00\x00\x21" + strings.Repeat("\x00", 23) + "u\x00\xfb\x00\x00"))

	f.Fuzz(func(t *testing.T, p []byte) {
		IsSSLRequest(p)
		q := bytes.Clone(p)
		r, err := ParseHandshakeResponse(q)
		if err != nil {
			if r != nil {
				t.Fatalf("error %v with a response", err)
			}
		} else {
			if r.Caps&ClientProtocol41 == 0 {
				t.Fatal("a pre-4.1 response accepted")
			}
			if strings.IndexByte(r.User, 0) >= 0 || strings.IndexByte(r.DB, 0) >= 0 || strings.IndexByte(r.AuthPlugin, 0) >= 0 {
				t.Fatalf("NUL inside a name: %+v", r)
			}
			if n := len(r.User) + len(r.AuthResponse) + len(r.DB) + len(r.AuthPlugin) + len(r.Attrs); n > len(p)-32 {
				t.Fatalf("%d bytes decoded from a %d-byte packet", n, len(p))
			}
			scribble(q)
			again, _ := ParseHandshakeResponse(p)
			if !handshakeEqual(r, again) {
				t.Fatalf("response aliases the packet: %+v after the buffer changed, was %+v", r, again)
			}
			// Append writes the auth data length-encoded or with a one-byte
			// length, so it encodes what it is used for: responses with
			// CLIENT_SECURE_CONNECTION or PLUGIN_AUTH_LENENC_CLIENT_DATA.
			if r.Caps&(ClientSecureConnection|ClientPluginAuthLenencClientData) != 0 {
				back, err := ParseHandshakeResponse(r.Append(nil))
				if err != nil || !handshakeEqual(r, back) {
					t.Fatalf("re-encoded response: %+v, %v; want %+v", back, err, r)
				}
			}
		}

		for _, caps := range []uint32{0, ClientSecureConnection, ClientSecureConnection | ClientPluginAuth, ClientPluginAuth} {
			q := bytes.Clone(p)
			cu, err := ParseChangeUser(q, caps)
			if err != nil {
				if cu != nil {
					t.Fatalf("error %v with a result", err)
				}
				continue
			}
			if strings.IndexByte(cu.User, 0) >= 0 || strings.IndexByte(cu.DB, 0) >= 0 || strings.IndexByte(cu.AuthPlugin, 0) >= 0 {
				t.Fatalf("NUL inside a name: %+v", cu)
			}
			if n := len(cu.User) + len(cu.AuthResponse) + len(cu.DB) + len(cu.AuthPlugin); n > len(p) {
				t.Fatalf("%d bytes decoded from %d", n, len(p))
			}
			auth := string(cu.AuthResponse)
			scribble(q)
			if string(cu.AuthResponse) != auth {
				t.Fatal("COM_CHANGE_USER auth data aliases the packet")
			}
		}
	})
}

// FuzzHandshakeResponseRoundTrip encodes arbitrary responses as the
// backend side does and decodes them as the frontend does: every field
// must come back. Inputs outside what Append is for (no
// CLIENT_SECURE_CONNECTION nor PLUGIN_AUTH_LENENC_CLIENT_DATA, NUL inside
// a name, more than 255 bytes of auth data without the length-encoded
// form) are brought into it first.
func FuzzHandshakeResponseRoundTrip(f *testing.F) {
	all := ClientProtocol41 | ClientSecureConnection | ClientPluginAuth | ClientConnectWithDB | ClientConnectAttrs | ClientPluginAuthLenencClientData
	f.Add(all, uint32(MaxPayload), uint8(45), "app", bytes.Repeat([]byte{9}, 20), "test", NativePassword, []byte("\x01a\x01b"))
	f.Add(ClientProtocol41|ClientSecureConnection, uint32(0), uint8(8), "u", []byte{}, "", "", []byte(nil))
	f.Add(all, uint32(1<<30), uint8(255), strings.Repeat("x", 300), bytes.Repeat([]byte{0xfb}, 300), "d", CachingSHA2Password, bytes.Repeat([]byte{0xfe}, 70000))
	f.Fuzz(func(t *testing.T, caps, maxPacket uint32, charset uint8, user string, auth []byte, db, plugin string, attrs []byte) {
		caps |= ClientProtocol41
		if caps&(ClientSecureConnection|ClientPluginAuthLenencClientData) == 0 {
			caps |= ClientSecureConnection
		}
		if caps&ClientPluginAuthLenencClientData == 0 && len(auth) > 255 {
			auth = auth[:255]
		}
		nonul := func(s string) string { return strings.ReplaceAll(s, "\x00", "") }
		in := &HandshakeResponse{Caps: caps, MaxPacket: maxPacket, Charset: charset, User: nonul(user), AuthResponse: auth,
			DB: nonul(db), AuthPlugin: nonul(plugin), Attrs: attrs}
		p := in.Append(nil)
		if IsSSLRequest(p) {
			t.Fatal("a handshake response looks like an SSLRequest")
		}
		out, err := ParseHandshakeResponse(p)
		if err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		want := *in
		if caps&ClientConnectWithDB == 0 {
			want.DB = ""
		}
		if caps&ClientPluginAuth == 0 {
			want.AuthPlugin = ""
		}
		if caps&ClientConnectAttrs == 0 {
			want.Attrs = nil
		}
		if !handshakeEqual(out, &want) {
			t.Fatalf("round trip: %+v, want %+v", out, want)
		}
		ssl := AppendSSLRequest(nil, caps, maxPacket, charset)
		if !IsSSLRequest(ssl) {
			t.Fatal("SSLRequest not recognised")
		}
		if r, err := ParseHandshakeResponse(ssl); err == nil {
			t.Fatalf("an SSLRequest decodes as a handshake response: %+v", r)
		}
	})
}

// FuzzGreeting feeds arbitrary bytes to the parser of a backend's first
// packet. Invariants: no panic; an ERR packet comes back as a *Error; a
// greeting has no NUL in its version, a salt no longer than the packet
// that is not aliased to it; and with CLIENT_SECURE_CONNECTION (the only
// form Append writes, as sqlgate's own greeting always has it) a decoded
// greeting encodes back to one that decodes the same.
func FuzzGreeting(f *testing.F) {
	salt := []byte("abcdefghijklmnopqrst")
	for _, g := range []Greeting{
		{ServerVersion: "10.11.6-MariaDB-0+deb12u1", ConnID: 42, Salt: salt, Caps: 0xf7fe | ClientPluginAuth | ClientSecureConnection | ClientDeprecateEOF,
			Charset: 45, Status: StatusAutocommit, AuthPlugin: NativePassword},
		{ServerVersion: "8.0.36", ConnID: 1, Salt: salt, Caps: 0xffffffff, Charset: 255, Status: StatusAutocommit, AuthPlugin: CachingSHA2Password},
		{ServerVersion: "5.5", Salt: salt, Caps: ClientProtocol41 | ClientSecureConnection},
	} {
		f.Add(g.Append(nil))
	}
	f.Add(AppendErr(nil, &Error{Code: 1040, SQLState: "08004", Message: "Too many connections"}))
	f.Add([]byte("\x0a5.0\x00\x01\x00\x00\x00abcdefgh\x00\xff\xf7"))
	f.Add([]byte("\x0a5.0\x00\x01\x00\x00\x00abcdefgh\x00\xff\xff\x21\x02\x00\xff\xff\xff" + strings.Repeat("\x00", 10) + "x"))
	f.Fuzz(func(t *testing.T, p []byte) {
		q := bytes.Clone(p)
		g, err := ParseGreeting(q)
		if len(p) > 0 && p[0] == ErrHeader {
			var we *Error
			if g != nil || !errors.As(err, &we) {
				t.Fatalf("ERR packet: %+v, %v", g, err)
			}
			return
		}
		if err != nil {
			if g != nil {
				t.Fatalf("error %v with a greeting", err)
			}
			return
		}
		if strings.IndexByte(g.ServerVersion, 0) >= 0 || strings.IndexByte(g.AuthPlugin, 0) >= 0 {
			t.Fatalf("NUL inside a name: %+v", g)
		}
		if len(g.Salt) < 8 || len(g.Salt)+len(g.ServerVersion)+len(g.AuthPlugin) > len(p) {
			t.Fatalf("salt of %d bytes from a %d-byte packet", len(g.Salt), len(p))
		}
		saltCopy := string(g.Salt)
		scribble(q)
		if string(g.Salt) != saltCopy {
			t.Fatal("greeting salt aliases the packet")
		}
		if g.Caps&ClientSecureConnection == 0 || len(g.Salt) < 20 {
			return // a greeting cut before its second salt part
		}
		back, err := ParseGreeting(g.Append(nil))
		if err != nil || back.ServerVersion != g.ServerVersion || back.ConnID != g.ConnID || !bytes.Equal(back.Salt, g.Salt) ||
			back.Caps != g.Caps || back.Charset != g.Charset || back.Status != g.Status || back.AuthPlugin != g.AuthPlugin {
			t.Fatalf("re-encoded greeting: %+v, %v; want %+v", back, err, g)
		}
	})
}

// FuzzResultPackets feeds arbitrary bytes to the OK, ERR and EOF parsers a
// backend's replies go through. Invariants: no panic; an ERR always comes
// back with a five-character SQLSTATE and survives AppendErr/ParseErr; the
// counters and flags of a decoded OK survive AppendOK/ParseOK; EOF
// round-trips.
func FuzzResultPackets(f *testing.F) {
	f.Add(AppendOK(nil, OKHeader, OK{AffectedRows: 300, LastInsertID: 1 << 40, Status: StatusAutocommit | StatusInTrans, Warnings: 2}))
	f.Add(AppendOK(nil, EOFHeader, OK{Status: StatusAutocommit, Info: "Rows matched: 1  Changed: 1  Warnings: 0"}))
	f.Add(AppendErr(nil, &Error{Code: 1045, SQLState: "28000", Message: "Access denied for user 'app'@'localhost'"}))
	f.Add(AppendEOF(nil, 1, StatusAutocommit|StatusMoreResultsExists))
	f.Add([]byte{0xff, 0x10, 0x04, 'T', 'o', 'o'})
	f.Add([]byte{0x00, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 0xfc, 1, 2, 2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		if ok, err := ParseOK(p); err == nil {
			if p[0] != OKHeader && p[0] != EOFHeader {
				t.Fatalf("OK decoded from header 0x%02x", p[0])
			}
			bare := ok
			bare.Info = ""
			back, err := ParseOK(AppendOK(nil, p[0], bare))
			if err != nil || back != bare {
				t.Fatalf("re-encoded OK: %+v, %v; want %+v", back, err, bare)
			}
			if p[0] == EOFHeader && !IsOKTerminator(p) {
				t.Fatal("an 0xfe OK is not a result set terminator")
			}
		}

		e := ParseErr(p)
		if e == nil || len(e.SQLState) != 5 {
			t.Fatalf("ParseErr: %+v", e)
		}
		_ = e.Error()
		if back := ParseErr(AppendErr(nil, e)); *back != *e {
			t.Fatalf("re-encoded ERR: %+v, want %+v", back, e)
		}

		w, s := ParseEOF(p)
		eof := AppendEOF(nil, w, s)
		if !IsEOF(eof) || IsEOF(append(eof, make([]byte, 4)...)) {
			t.Fatal("IsEOF")
		}
		if w2, s2 := ParseEOF(eof); w2 != w || s2 != s {
			t.Fatalf("EOF round trip: %d,%d want %d,%d", w2, s2, w, s)
		}
	})
}

// FuzzLenEnc checks the length-encoded integer and string codecs. For any
// value and string, decode(encode(x)) == x using the shortest encoding,
// whatever follows; for any bytes, a successful decode stays inside them,
// and re-encoding its value decodes to the same value.
func FuzzLenEnc(f *testing.F) {
	for _, v := range []uint64{0, 250, 251, 1<<16 - 1, 1 << 16, 1<<24 - 1, 1 << 24, 1<<64 - 1} {
		f.Add(v, AppendLenEncInt(nil, v))
	}
	f.Add(uint64(3), []byte("\x03abc"))
	f.Add(uint64(0), []byte{0xfb})
	f.Add(uint64(0), []byte{0xff, 0xff})
	f.Add(uint64(1<<40), []byte{0xfe, 1, 2, 3})
	f.Add(uint64(7), []byte{0xfc, 0xff, 0xff, 'x'})
	f.Fuzz(func(t *testing.T, v uint64, p []byte) {
		enc := AppendLenEncInt(nil, v)
		wantLen := 9
		switch {
		case v < 251:
			wantLen = 1
		case v < 1<<16:
			wantLen = 3
		case v < 1<<24:
			wantLen = 4
		}
		if len(enc) != wantLen {
			t.Fatalf("%d encoded in %d bytes, want %d", v, len(enc), wantLen)
		}
		got, n, isNull, ok := LenEncInt(append(enc, p...))
		if got != v || n != len(enc) || isNull || !ok {
			t.Fatalf("LenEncInt(enc(%d)) = %d, %d, %v, %v", v, got, n, isNull, ok)
		}
		str := AppendLenEncString(nil, string(p))
		s, n, ok := LenEncString(append(str, enc...))
		if !ok || n != len(str) || !bytes.Equal(s, p) {
			t.Fatalf("LenEncString(enc(%q)) = %q, %d, %v", p, s, n, ok)
		}

		got, n, isNull, ok = LenEncInt(p)
		switch {
		case !ok:
			if n != 0 {
				t.Fatalf("failed decode consumed %d", n)
			}
		case n < 1 || n > 9 || n > len(p):
			t.Fatalf("decode consumed %d of %d bytes", n, len(p))
		case isNull:
			if n != 1 || p[0] != 0xfb {
				t.Fatal("NULL from something else than 0xfb")
			}
		default:
			if again, m, _, _ := LenEncInt(AppendLenEncInt(nil, got)); again != got || m > n {
				t.Fatalf("re-encoding %d gave %d in %d bytes (was %d)", got, again, m, n)
			}
		}
		if s, n, ok := LenEncString(p); ok {
			if n > len(p) || len(s) > n || (s != nil && !bytes.Equal(s, p[n-len(s):n])) {
				t.Fatalf("LenEncString(%x) = %x, %d", p, s, n)
			}
		}
		if s, n, ok := NulString(p); ok && (n != len(s)+1 || p[len(s)] != 0 || bytes.IndexByte(s, 0) >= 0) {
			t.Fatalf("NulString(%x) = %x, %d", p, s, n)
		}
	})
}
