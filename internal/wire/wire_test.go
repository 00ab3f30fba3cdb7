package wire

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestNativePasswordHashedAndCleartext(t *testing.T) {
	salt := []byte("abcdefghijklmnopqrst")
	s1 := sha1.Sum([]byte("password"))
	resp := ScrambleNative(s1[:], salt)
	tests := []struct {
		stored string
		resp   []byte
		want   bool
	}{
		{"password", resp, true},
		{"*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", resp, true}, // MySQL's PASSWORD('password')
		{"*2470c0c06dee42fd1618bb99005adca2ec9d1e19", resp, true},
		{"other", resp, false},
		{"password", nil, false},
		{"", nil, true},
		{"", resp, false},
		{"password", resp[:10], false},
	}
	for _, tt := range tests {
		cred, ok := ParseStoredPassword(tt.stored)
		if !ok {
			t.Fatalf("ParseStoredPassword(%q) failed", tt.stored)
		}
		st1, got := cred.VerifyNative(salt, tt.resp)
		if got != tt.want {
			t.Errorf("stored %q: VerifyNative = %v, want %v", tt.stored, got, tt.want)
		}
		if got && tt.stored != "" && !bytes.Equal(st1, s1[:]) {
			t.Errorf("stored %q: recovered stage1 %x, want SHA1(password) %x", tt.stored, st1, s1)
		}
	}
	if _, ok := ParseStoredPassword("$A$005$abc"); ok {
		t.Error("caching_sha2 hash accepted; want refusal")
	}
}

func TestCachingSHA2Fast(t *testing.T) {
	salt := []byte("abcdefghijklmnopqrst")
	cred, _ := ParseStoredPassword("secret")
	if !cred.VerifyCachingSHA2Fast(salt, ScrambleCachingSHA2([]byte("secret"), salt)) {
		t.Error("correct password rejected")
	}
	if cred.VerifyCachingSHA2Fast(salt, ScrambleCachingSHA2([]byte("wrong"), salt)) {
		t.Error("wrong password accepted")
	}
	hashed, _ := ParseStoredPassword("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19")
	if hashed.VerifyCachingSHA2Fast(salt, ScrambleCachingSHA2([]byte("password"), salt)) {
		t.Error("fast path must not work without the cleartext")
	}
	if !hashed.VerifyCleartext([]byte("password\x00")) || hashed.VerifyCleartext([]byte("nope")) {
		t.Error("VerifyCleartext against a native hash is wrong")
	}
}

func TestPacketFramingLarge(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ca, cb := NewConn(a), NewConn(b)
	sizes := []int{0, 1, 100, BufferSize - 4, BufferSize, MaxPayload - 1, MaxPayload, MaxPayload + 5, 2 * MaxPayload}
	go func() {
		for _, n := range sizes {
			ca.Seq = 0
			p := bytes.Repeat([]byte{byte(n)}, n)
			if err := ca.WritePacket(p); err != nil {
				t.Error(err)
				return
			}
			if err := ca.Flush(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for _, n := range sizes {
		p, err := cb.ReadPacket(0)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if len(p) != n || (n > 0 && (p[0] != byte(n) || p[n-1] != byte(n))) {
			t.Fatalf("size %d: got %d bytes", n, len(p))
		}
	}
}

func TestReadPacketLimit(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		c := NewConn(a)
		c.WritePacket(make([]byte, MaxPayload+10))
		c.Flush()
	}()
	_, err := NewConn(b).ReadPacket(1 << 20)
	if !errors.Is(err, ErrPacketTooLarge) {
		t.Fatalf("err = %v, want ErrPacketTooLarge", err)
	}
}

func TestHandshakeRoundTrip(t *testing.T) {
	g := Greeting{ServerVersion: "8.0.11", ConnID: 7, Salt: NewSalt(), Caps: ClientProtocol41 | ClientSecureConnection | ClientPluginAuth | ClientDeprecateEOF,
		Charset: 45, Status: StatusAutocommit, AuthPlugin: NativePassword}
	got, err := ParseGreeting(g.Append(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got.ServerVersion != g.ServerVersion || got.ConnID != 7 || !bytes.Equal(got.Salt, g.Salt) || got.Caps != g.Caps || got.AuthPlugin != NativePassword {
		t.Fatalf("greeting round trip: %+v", got)
	}
	for _, caps := range []uint32{
		ClientProtocol41 | ClientSecureConnection | ClientPluginAuth | ClientConnectWithDB | ClientConnectAttrs | ClientPluginAuthLenencClientData,
		ClientProtocol41 | ClientSecureConnection,
	} {
		hr := HandshakeResponse{Caps: caps, MaxPacket: 1 << 24, Charset: 33, User: "app", AuthResponse: bytes.Repeat([]byte{9}, 20), DB: "test", AuthPlugin: NativePassword, Attrs: []byte("\x01a\x01b")}
		r, err := ParseHandshakeResponse(hr.Append(nil))
		if err != nil {
			t.Fatal(err)
		}
		if r.User != "app" || !bytes.Equal(r.AuthResponse, hr.AuthResponse) || r.Charset != 33 {
			t.Fatalf("response round trip: %+v", r)
		}
		if caps&ClientConnectWithDB != 0 && (r.DB != "test" || r.AuthPlugin != NativePassword || string(r.Attrs) != "\x01a\x01b") {
			t.Fatalf("response round trip (db/plugin/attrs): %+v", r)
		}
	}
}

func TestOKAndErr(t *testing.T) {
	ok := OK{AffectedRows: 300, LastInsertID: 1 << 40, Status: StatusAutocommit | StatusInTrans, Warnings: 2}
	got, err := ParseOK(AppendOK(nil, OKHeader, ok))
	if err != nil || got != ok {
		t.Fatalf("OK round trip: %+v %v", got, err)
	}
	e := ParseErr(AppendErr(nil, &Error{Code: 1045, SQLState: "28000", Message: "Access denied"}))
	if e.Code != 1045 || e.SQLState != "28000" || e.Message != "Access denied" {
		t.Fatalf("ERR round trip: %+v", e)
	}
	if !IsEOF(AppendEOF(nil, 0, 2)) || IsEOF(append([]byte{0xfe}, make([]byte, 8)...)) {
		t.Fatal("IsEOF")
	}
}

func TestAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pair := func() (*Conn, net.Conn) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return NewConn(c), s
	}
	c, peer := pair()
	if !c.Alive() {
		t.Fatal("idle open connection reported dead")
	}
	peer.Close()
	deadline := time.Now().Add(2 * time.Second)
	for c.Alive() {
		if time.Now().After(deadline) {
			t.Fatal("closed connection still reported alive")
		}
		time.Sleep(time.Millisecond)
	}
	c2, peer2 := pair()
	defer peer2.Close()
	peer2.Write([]byte{1, 0, 0, 0, 0xff})
	for time.Now().Before(deadline) && c2.Alive() {
		time.Sleep(time.Millisecond)
	}
	if c2.Alive() {
		t.Fatal("connection with unsolicited data reported alive")
	}
}

// TestClaimedSizeCostsNothing: a header that claims 16 MB is refused
// before anything is read or allocated when it exceeds the limit, and
// without a limit costs memory only for the bytes that actually arrive.
func TestClaimedSizeCostsNothing(t *testing.T) {
	for _, limit := range []int{MaxHandshakePacket, 0} {
		a, b := net.Pipe()
		go func() {
			a.Write([]byte{0xff, 0xff, 0xff, 0x01})
			a.Write(bytes.Repeat([]byte{'x'}, 100))
			a.Close()
		}()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := NewConn(b)
		b.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := c.ReadPacket(limit)
		runtime.ReadMemStats(&after)
		b.Close()
		want := ErrPacketTooLarge
		if limit == 0 {
			want = io.ErrUnexpectedEOF
		}
		if !errors.Is(err, want) {
			t.Errorf("limit %d: err %v, want %v", limit, err, want)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("limit %d: a 16 MB claim with 100 bytes sent allocated %d bytes", limit, grew)
		}
	}
}

// TestReadRawReusesBufferExactly: after a large packet, a smaller large
// packet read into the same (bigger) buffer takes exactly its own bytes.
func TestReadRawReusesBufferExactly(t *testing.T) {
	a, b := net.Pipe()
	sizes := []int{3 * BufferSize, 2 * BufferSize, 5 * BufferSize}
	go func() {
		w := NewConn(a)
		for i, n := range sizes {
			w.Seq = 0
			w.WritePacket(bytes.Repeat([]byte{byte('a' + i)}, n))
			w.Flush()
		}
		a.Close()
	}()
	r := NewConn(b)
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i, n := range sizes {
		p, err := r.ReadPacket(0)
		if err != nil || len(p) != n || p[0] != byte('a'+i) || p[n-1] != byte('a'+i) {
			t.Fatalf("packet %d: %d bytes, %v; want %d bytes of %c", i, len(p), err, n, 'a'+i)
		}
	}
}

// TestAccept runs the server side of the handshake against a scripted
// client over a pipe: a login, a TLS request the greeting did not offer,
// and a malformed response.
func TestAccept(t *testing.T) {
	noTLS := Errorf(ErAccessDenied, "28000", "no TLS here")
	login := (&HandshakeResponse{Caps: ClientProtocol41 | ClientSecureConnection | ClientPluginAuth, MaxPacket: 1 << 24, Charset: 33,
		User: "app", AuthResponse: []byte("01234567890123456789"), AuthPlugin: NativePassword}).Append(nil)
	for _, tc := range []struct {
		name   string
		answer []byte
		user   string
		err    string
	}{
		{"login", login, "app", ""},
		{"TLS not offered", AppendSSLRequest(nil, ClientProtocol41|ClientSSL, 1<<24, 33), "", "no TLS here"},
		{"malformed", []byte{0x01}, "", "Bad handshake"},
	} {
		srv, cli := net.Pipe()
		go func() {
			c := NewConn(cli)
			if _, err := c.ReadPacket(MaxHandshakePacket); err != nil { // the greeting
				return
			}
			c.Seq = 1
			c.WritePacket(tc.answer)
			c.Flush()
		}()
		g := Greeting{ServerVersion: "8.0.11", ConnID: 7, Salt: NewSalt(), Caps: ClientProtocol41 | ClientSecureConnection | ClientPluginAuth, Charset: 33, AuthPlugin: NativePassword}
		srv.SetDeadline(time.Now().Add(2 * time.Second))
		hr, upgraded, err := NewConn(srv).Accept(&g, nil, noTLS)
		srv.Close()
		cli.Close()
		switch {
		case tc.err == "" && (err != nil || hr.User != tc.user || upgraded):
			t.Errorf("%s: %v, %+v, upgraded %v", tc.name, err, hr, upgraded)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		}
	}
}

// TestVerifyLogin: a native scramble is checked without a round trip; an
// unknown plugin gets a switch to mysql_native_password and the client's
// second answer is checked; a caching_sha2 full authentication is refused
// without TLS before the password is asked for.
func TestVerifyLogin(t *testing.T) {
	cred := CleartextCredential("secret")
	salt := NewSalt()
	s1 := sha1.Sum([]byte("secret"))
	resp := ScrambleNative(s1[:], salt)
	c := NewConn(&memConn{in: bytes.NewReader(nil)})
	if l, err := c.VerifyLogin(cred, salt, NativePassword, resp, true, false); err != nil || !l.OK || !l.Password {
		t.Fatalf("native: %+v, %v", l, err)
	}
	if l, _ := c.VerifyLogin(cred, salt, NativePassword, []byte("wrong-wrong-wrong-wr"), true, false); l.OK {
		t.Fatal("a wrong scramble was accepted")
	}

	out := &memConn{in: bytes.NewReader(stream(resp))}
	c = NewConn(out)
	if l, err := c.VerifyLogin(cred, salt, "dialog", []byte("x"), true, false); err != nil || !l.OK {
		t.Fatalf("after an auth switch: %+v, %v", l, err)
	}
	if sent := payloads(t, out.out.Bytes()); len(sent) != 1 || sent[0][0] != 0xfe {
		t.Fatalf("sent %q, want one auth switch request", sent)
	}

	out = &memConn{in: bytes.NewReader(nil)}
	c = NewConn(out)
	if l, err := c.VerifyLogin(cred, salt, CachingSHA2Password, []byte("not-the-fast-scramble-of-secret!"), true, false); err != nil || l.OK {
		t.Fatalf("caching_sha2 without TLS: %+v, %v", l, err)
	}
	if out.out.Len() != 0 {
		t.Fatalf("asked a client without TLS for its password: %q", out.out.Bytes())
	}
}
