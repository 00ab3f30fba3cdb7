package wire

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"fmt"
)

// Greeting is the server's initial handshake packet (protocol v10).
type Greeting struct {
	ServerVersion string
	ConnID        uint32
	Salt          []byte // 20 bytes of scramble
	Caps          uint32
	Charset       uint8
	Status        uint16
	AuthPlugin    string
}

// NewSalt returns a 20-byte scramble of printable characters, as MySQL
// servers generate (clients treat the salt as a NUL-terminated string).
func NewSalt() []byte {
	s := make([]byte, 20)
	if _, err := rand.Read(s); err != nil {
		panic("wire: crypto/rand failed: " + err.Error()) // the OS entropy source is gone; nothing sane to do
	}
	for i := range s {
		s[i] = 33 + s[i]%94
	}
	return s
}

// Append encodes the greeting.
func (g *Greeting) Append(b []byte) []byte {
	b = append(b, 10)
	b = append(b, g.ServerVersion...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint32(b, g.ConnID)
	b = append(b, g.Salt[:8]...)
	b = append(b, 0)
	b = append(b, byte(g.Caps), byte(g.Caps>>8), g.Charset, byte(g.Status), byte(g.Status>>8),
		byte(g.Caps>>16), byte(g.Caps>>24), byte(len(g.Salt)+1))
	b = append(b, make([]byte, 10)...)
	b = append(b, g.Salt[8:]...)
	b = append(b, 0)
	b = append(b, g.AuthPlugin...)
	return append(b, 0)
}

// ParseGreeting decodes a server greeting.
func ParseGreeting(p []byte) (*Greeting, error) {
	if len(p) > 0 && p[0] == ErrHeader {
		return nil, ParseErr(p)
	}
	if len(p) < 1 || p[0] != 10 {
		return nil, fmt.Errorf("wire: unsupported handshake protocol version in greeting")
	}
	g := &Greeting{}
	v, n, ok := NulString(p[1:])
	if !ok {
		return nil, ErrMalformed
	}
	g.ServerVersion = string(v)
	i := 1 + n
	if len(p) < i+4+8+1+2 {
		return nil, ErrMalformed
	}
	g.ConnID = binary.LittleEndian.Uint32(p[i:])
	i += 4
	salt := append([]byte(nil), p[i:i+8]...)
	i += 9
	g.Caps = uint32(binary.LittleEndian.Uint16(p[i:]))
	i += 2
	if len(p) >= i+16 {
		g.Charset = p[i]
		g.Status = binary.LittleEndian.Uint16(p[i+1:])
		g.Caps |= uint32(binary.LittleEndian.Uint16(p[i+3:])) << 16
		saltLen := int(p[i+5])
		i += 16
		if g.Caps&ClientSecureConnection != 0 {
			rest := saltLen - 8
			if rest < 13 {
				rest = 13
			}
			if len(p) < i+rest {
				return nil, ErrMalformed
			}
			salt = append(salt, p[i:i+rest-1]...) // last byte is a NUL
			i += rest
		}
		if g.Caps&ClientPluginAuth != 0 && i < len(p) {
			name, _, ok := NulString(p[i:])
			if !ok {
				name = p[i:]
			}
			g.AuthPlugin = string(name)
		}
	}
	g.Salt = salt
	return g, nil
}

// HandshakeResponse is the client's HandshakeResponse41 packet.
type HandshakeResponse struct {
	Caps         uint32
	MaxPacket    uint32
	Charset      uint8
	User         string
	AuthResponse []byte
	DB           string
	AuthPlugin   string
	Attrs        []byte // raw connect attributes (without the length prefix)
}

// IsSSLRequest reports whether p is the short SSLRequest packet a client
// sends before upgrading to TLS.
func IsSSLRequest(p []byte) bool {
	return len(p) == 32 && binary.LittleEndian.Uint32(p)&ClientSSL != 0
}

// ParseHandshakeResponse decodes a HandshakeResponse41. Pre-4.1 clients are
// refused: every driver still in use speaks 4.1.
func ParseHandshakeResponse(p []byte) (*HandshakeResponse, error) {
	if len(p) < 32 {
		return nil, fmt.Errorf("wire: handshake response too short (%d bytes)", len(p))
	}
	r := &HandshakeResponse{
		Caps:      binary.LittleEndian.Uint32(p),
		MaxPacket: binary.LittleEndian.Uint32(p[4:]),
		Charset:   p[8],
	}
	if r.Caps&ClientProtocol41 == 0 {
		return nil, fmt.Errorf("wire: client does not speak protocol 4.1")
	}
	i := 32
	user, n, ok := NulString(p[i:])
	if !ok {
		return nil, fmt.Errorf("wire: handshake response: user name not terminated")
	}
	r.User = string(user)
	i += n
	switch {
	case r.Caps&ClientPluginAuthLenencClientData != 0:
		s, n, ok := LenEncString(p[i:])
		if !ok {
			return nil, fmt.Errorf("wire: handshake response: bad auth data length")
		}
		r.AuthResponse = append([]byte(nil), s...)
		i += n
	case r.Caps&ClientSecureConnection != 0:
		if i >= len(p) {
			return nil, fmt.Errorf("wire: handshake response: missing auth data")
		}
		l := int(p[i])
		if i+1+l > len(p) {
			return nil, fmt.Errorf("wire: handshake response: auth data overruns packet")
		}
		r.AuthResponse = append([]byte(nil), p[i+1:i+1+l]...)
		i += 1 + l
	default:
		s, n, ok := NulString(p[i:])
		if !ok {
			return nil, fmt.Errorf("wire: handshake response: auth data not terminated")
		}
		r.AuthResponse = append([]byte(nil), s...)
		i += n
	}
	if r.Caps&ClientConnectWithDB != 0 && i < len(p) {
		db, n, ok := NulString(p[i:])
		if !ok {
			return nil, fmt.Errorf("wire: handshake response: database name not terminated")
		}
		r.DB = string(db)
		i += n
	}
	if r.Caps&ClientPluginAuth != 0 && i < len(p) {
		name, n, ok := NulString(p[i:])
		if !ok {
			name, n = p[i:], len(p)-i
		}
		r.AuthPlugin = string(name)
		i += n
	}
	if r.Caps&ClientConnectAttrs != 0 && i < len(p) {
		s, _, ok := LenEncString(p[i:])
		if !ok {
			return nil, fmt.Errorf("wire: handshake response: bad connect attributes")
		}
		r.Attrs = append([]byte(nil), s...) // p is the connection's read buffer
	}
	return r, nil
}

// Append encodes the response (used for backend connections).
func (r *HandshakeResponse) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, r.Caps)
	b = binary.LittleEndian.AppendUint32(b, r.MaxPacket)
	b = append(b, r.Charset)
	b = append(b, make([]byte, 23)...)
	b = append(b, r.User...)
	b = append(b, 0)
	if r.Caps&ClientPluginAuthLenencClientData != 0 {
		b = AppendLenEncString(b, string(r.AuthResponse))
	} else {
		b = append(b, byte(len(r.AuthResponse)))
		b = append(b, r.AuthResponse...)
	}
	if r.Caps&ClientConnectWithDB != 0 {
		b = append(b, r.DB...)
		b = append(b, 0)
	}
	if r.Caps&ClientPluginAuth != 0 {
		b = append(b, r.AuthPlugin...)
		b = append(b, 0)
	}
	if r.Caps&ClientConnectAttrs != 0 {
		b = AppendLenEncString(b, string(r.Attrs))
	}
	return b
}

// AppendSSLRequest encodes the SSLRequest a client sends before TLS.
func AppendSSLRequest(b []byte, caps, maxPacket uint32, charset uint8) []byte {
	b = binary.LittleEndian.AppendUint32(b, caps|ClientSSL)
	b = binary.LittleEndian.AppendUint32(b, maxPacket)
	b = append(b, charset)
	return append(b, make([]byte, 23)...)
}

// AppendAuthSwitch encodes an AuthSwitchRequest.
func AppendAuthSwitch(b []byte, plugin string, salt []byte) []byte {
	b = append(b, AuthSwitchHeader)
	b = append(b, plugin...)
	b = append(b, 0)
	b = append(b, salt...)
	return append(b, 0)
}

// ChangeUser is a decoded COM_CHANGE_USER payload (without the command byte).
type ChangeUser struct {
	User         string
	AuthResponse []byte
	DB           string
	Charset      uint16
	AuthPlugin   string
}

// ParseChangeUser decodes a COM_CHANGE_USER body for a client with caps.
func ParseChangeUser(p []byte, caps uint32) (*ChangeUser, error) {
	cu := &ChangeUser{}
	user, n, ok := NulString(p)
	if !ok {
		return nil, fmt.Errorf("wire: COM_CHANGE_USER: user name not terminated")
	}
	cu.User = string(user)
	i := n
	if caps&ClientSecureConnection != 0 {
		if i >= len(p) {
			return nil, fmt.Errorf("wire: COM_CHANGE_USER: missing auth data")
		}
		l := int(p[i])
		if i+1+l > len(p) {
			return nil, fmt.Errorf("wire: COM_CHANGE_USER: auth data overruns packet")
		}
		cu.AuthResponse = append([]byte(nil), p[i+1:i+1+l]...)
		i += 1 + l
	} else {
		s, n, ok := NulString(p[i:])
		if !ok {
			return nil, fmt.Errorf("wire: COM_CHANGE_USER: auth data not terminated")
		}
		cu.AuthResponse = append([]byte(nil), s...)
		i += n
	}
	db, n, ok := NulString(p[i:])
	if !ok {
		return nil, fmt.Errorf("wire: COM_CHANGE_USER: database name not terminated")
	}
	cu.DB = string(db)
	i += n
	if len(p) >= i+2 {
		cu.Charset = binary.LittleEndian.Uint16(p[i:])
		i += 2
	}
	if caps&ClientPluginAuth != 0 && i < len(p) {
		name, _, ok := NulString(p[i:])
		if !ok {
			name = p[i:]
		}
		cu.AuthPlugin = string(name)
	}
	return cu, nil
}

// Accept runs the server side of a connection handshake up to the
// client's login request: it sends the greeting g, reads the client's
// answer, upgrades to TLS with tlsConf when the client asks for it (only
// when g offers ClientSSL; otherwise the answer is noTLS), and parses the
// HandshakeResponse. Every read is bounded by MaxHandshakePacket; the
// caller sets the deadline. Authentication is the caller's: the proxy and
// the admin interface check different users.
func (c *Conn) Accept(g *Greeting, tlsConf *tls.Config, noTLS *Error) (hr *HandshakeResponse, upgraded bool, err error) {
	if err := c.WritePacket(g.Append(nil)); err != nil {
		return nil, false, err
	}
	// A client speaks only after the greeting (one that speaks first
	// waits for the caller's deadline), so the wait for its answer can
	// be armed with the write.
	if err := c.FlushAwait(); err != nil {
		return nil, false, err
	}
	p, err := c.ReadPacket(MaxHandshakePacket)
	if err != nil {
		return nil, false, err
	}
	if IsSSLRequest(p) {
		if g.Caps&ClientSSL == 0 || tlsConf == nil {
			return nil, false, noTLS
		}
		if err := c.UpgradeTLS(tlsConf, true); err != nil {
			return nil, false, err
		}
		upgraded = true
		if p, err = c.ReadPacket(MaxHandshakePacket); err != nil {
			return nil, true, err
		}
	}
	hr, err = ParseHandshakeResponse(p)
	if err != nil {
		return nil, upgraded, Errorf(1043, "08S01", "Bad handshake: %v", err)
	}
	return hr, upgraded, nil
}
