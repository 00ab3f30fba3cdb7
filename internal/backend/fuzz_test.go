package backend

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"sqlgate/internal/wire"
)

// scriptConn is a backend that sends a fixed script of bytes and then
// shuts down its sending side, while everything sqlgate writes is kept.
// net.Pipe cannot half-close: closing it to end the script would also
// fail sqlgate's next write, so the parts of the handshake after a write
// (the auth switch) would never be reached.
type scriptConn struct {
	script  []byte
	off     int
	written bytes.Buffer
}

func (c *scriptConn) Read(b []byte) (int, error) {
	if c.off >= len(c.script) {
		return 0, io.EOF
	}
	n := copy(b, c.script[c.off:])
	c.off += n
	return n, nil
}

func (c *scriptConn) Write(b []byte) (int, error)      { return c.written.Write(b) }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return scriptAddr }
func (c *scriptConn) RemoteAddr() net.Addr             { return scriptAddr }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

var scriptAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3306}

// fuzzPassword must never be written to a connection without TLS.
const fuzzPassword = "Pw-must-not-leak-7"

// FuzzBackendHandshake plays an arbitrary backend against sqlgate's
// client side of the handshake: the greeting, then the authentication
// exchange (OK, ERR, AuthSwitchRequest, AuthMoreData). There is no
// separate AuthSwitch parser: handshake decodes it inline, so this is
// where it is fuzzed. Invariants: no panic and no hang; the password is
// never sent in cleartext over a connection without TLS, whatever plugin
// the server asks for; success only after an OK packet that ends a chain
// of auth switches and more-data packets; a server ERR comes back as a
// *wire.Error; and what sqlgate writes is a bounded series of packets
// whose first is a HandshakeResponse41 our own parser accepts, for the
// user it logs in as.
func FuzzBackendHandshake(f *testing.F) {
	pkt := func(seq byte, p []byte) []byte {
		return append([]byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), seq}, p...)
	}
	salt := []byte("abcdefghijklmnopqrst")
	greet := func(plugin string, caps uint32) []byte {
		g := wire.Greeting{ServerVersion: "10.11.6-MariaDB-0+deb12u1", ConnID: 9, Salt: salt, Caps: caps, Charset: 45,
			Status: wire.StatusAutocommit, AuthPlugin: plugin}
		return pkt(0, g.Append(nil))
	}
	full := uint32(0xf7fe) | wire.ClientPluginAuth | wire.ClientConnectAttrs | wire.ClientPluginAuthLenencClientData | wire.ClientDeprecateEOF | wire.ClientSessionTrack
	ok := wire.AppendOK(nil, wire.OKHeader, wire.OK{Status: wire.StatusAutocommit})
	script := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	sw := func(plugin string) []byte { return wire.AppendAuthSwitch(nil, plugin, []byte("0123456789abcdefghij")) }
	for _, s := range [][]byte{
		script(greet(wire.NativePassword, full), pkt(2, ok)),
		script(greet(wire.NativePassword, full&^wire.ClientPluginAuthLenencClientData), pkt(2, ok)),
		script(greet(wire.CachingSHA2Password, full), pkt(2, []byte{wire.AuthMoreData, 3}), pkt(3, ok)),
		script(greet(wire.CachingSHA2Password, full), pkt(2, []byte{wire.AuthMoreData, 4})), // full authentication, needs TLS
		script(greet(wire.NativePassword, full), pkt(2, sw(wire.CachingSHA2Password)), pkt(4, []byte{wire.AuthMoreData, 3}), pkt(5, ok)),
		script(greet(wire.NativePassword, full), pkt(2, sw(wire.ClearPassword)), pkt(4, ok)),
		script(greet(wire.CachingSHA2Password, full), pkt(2, sw(wire.NativePassword)), pkt(4, ok)),
		script(greet(wire.NativePassword, full), pkt(2, sw("auth_gssapi_client")), pkt(4, ok)),
		script(greet(wire.NativePassword, full), pkt(2, []byte{0xfe, 'x'})), // switch without NUL
		script(greet(wire.NativePassword, full), pkt(2, []byte{0xfe})),      // old-style switch
		script(greet(wire.NativePassword, full), pkt(2, sw(wire.NativePassword)), pkt(4, sw(wire.NativePassword)), pkt(6, sw(wire.NativePassword)),
			pkt(8, sw(wire.NativePassword)), pkt(10, ok)),
		script(greet(wire.NativePassword, full), pkt(2, wire.AppendErr(nil, &wire.Error{Code: 1045, SQLState: "28000", Message: "Access denied for user 'app'@'10.0.0.1' (using password: YES)"}))),
		script(greet(wire.ClearPassword, full), pkt(2, ok)),
		script(greet("", wire.ClientProtocol41|wire.ClientSecureConnection), pkt(2, ok)),
		script(greet(wire.NativePassword, wire.ClientProtocol41), pkt(2, ok)),
		script(pkt(0, wire.AppendErr(nil, &wire.Error{Code: 1040, SQLState: "08004", Message: "Too many connections"}))),
		script(greet(wire.NativePassword, full), pkt(2, nil)),
	} {
		for _, opts := range []uint8{0, 1, 8, 16} {
			f.Add(s, opts)
		}
	}

	f.Fuzz(func(t *testing.T, s []byte, opts uint8) {
		o := DialOptions{User: "app", Schema: "shop", Collation: 45, DeprecateEOF: opts&2 != 0, FoundRows: opts&4 != 0, Timeout: time.Second}
		if opts&1 != 0 {
			o.Schema = ""
		}
		pw := fuzzPassword
		switch {
		case opts&8 != 0:
			pw = "*DE7E4F3F2E1D0C0B0A0908070605040302010099" // a stored hash: no cleartext to leak, no stage 1
		case opts&16 != 0:
			pw = ""
		}
		var okCred bool
		if o.Cred, okCred = wire.ParseStoredPassword(pw); !okCred {
			t.Fatal("stored password refused")
		}

		sc := &scriptConn{script: s}
		c := &Conn{Conn: wire.NewConn(sc)}
		err := c.handshake(o)

		if strings.Contains(sc.written.String(), fuzzPassword) {
			t.Fatalf("password sent in cleartext without TLS (err %v)", err)
		}

		// The script as packets: what may make the handshake succeed.
		var pkts [][]byte
		for r := bytes.NewReader(s); len(pkts) < 6; {
			var h [4]byte
			if _, err := io.ReadFull(r, h[:]); err != nil {
				break
			}
			n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
			if n > r.Len() || n == wire.MaxPayload {
				break // truncated, or continued: not a packet the handshake acts on
			}
			p := make([]byte, n)
			io.ReadFull(r, p)
			pkts = append(pkts, p)
		}
		okAt := -1
		for i := 1; i < len(pkts) && i <= 4; i++ {
			p := pkts[i]
			if len(p) > 0 && p[0] == wire.OKHeader {
				okAt = i
				break
			}
			if len(p) == 0 || p[0] != wire.AuthSwitchHeader && p[0] != wire.AuthMoreData {
				break
			}
		}
		if err == nil && okAt < 0 {
			t.Fatalf("handshake succeeded without an OK packet; script %x", s)
		}
		var we *wire.Error
		if len(pkts) > 0 && len(pkts[0]) > 0 && pkts[0][0] == wire.ErrHeader && !errors.As(err, &we) {
			t.Fatalf("server ERR instead of a greeting came back as %T %v", err, err)
		}
		if sc.written.Len() > 0 && len(pkts) > 1 && len(pkts[1]) > 0 && pkts[1][0] == wire.ErrHeader && !errors.As(err, &we) {
			t.Fatalf("server ERR during authentication came back as %T %v", err, err)
		}

		// What sqlgate wrote: whole packets, few and small, the first a
		// response our parser accepts.
		out := sc.written.Bytes()
		if len(out) > 4096 {
			t.Fatalf("%d bytes written during a handshake", len(out))
		}
		var sent [][]byte
		for len(out) > 0 {
			if len(out) < 4 {
				t.Fatalf("partial packet header written: %x", out)
			}
			n := int(out[0]) | int(out[1])<<8 | int(out[2])<<16
			if len(out) < 4+n {
				t.Fatalf("partial packet written: %x", out)
			}
			sent, out = append(sent, out[4:4+n]), out[4+n:]
		}
		if len(sent) > 5 {
			t.Fatalf("%d packets written during a handshake", len(sent))
		}
		if len(sent) > 0 {
			hr, perr := wire.ParseHandshakeResponse(sent[0])
			if perr != nil || hr.User != o.User || (o.Schema != "" && hr.Caps&wire.ClientConnectWithDB != 0 && hr.DB != o.Schema) {
				t.Fatalf("handshake response %+v does not parse back: %v", hr, perr)
			}
		}
	})
}
