package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed reports a packet whose contents do not match its declared
// structure.
var ErrMalformed = errors.New("wire: malformed packet")

// AppendLenEncInt appends v as a length-encoded integer.
func AppendLenEncInt(b []byte, v uint64) []byte {
	switch {
	case v < 251:
		return append(b, byte(v))
	case v < 1<<16:
		return append(b, 0xfc, byte(v), byte(v>>8))
	case v < 1<<24:
		return append(b, 0xfd, byte(v), byte(v>>8), byte(v>>16))
	default:
		return append(b, 0xfe, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
			byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
	}
}

// AppendLenEncString appends s prefixed with its length-encoded length.
func AppendLenEncString(b []byte, s string) []byte {
	b = AppendLenEncInt(b, uint64(len(s)))
	return append(b, s...)
}

// LenEncInt decodes a length-encoded integer at the start of b and returns
// it with the number of bytes consumed. isNull is set for the NULL marker
// 0xfb. ok is false when b is too short.
func LenEncInt(b []byte) (v uint64, n int, isNull, ok bool) {
	if len(b) == 0 {
		return 0, 0, false, false
	}
	switch b[0] {
	case 0xfb:
		return 0, 1, true, true
	case 0xfc:
		if len(b) < 3 {
			return 0, 0, false, false
		}
		return uint64(binary.LittleEndian.Uint16(b[1:])), 3, false, true
	case 0xfd:
		if len(b) < 4 {
			return 0, 0, false, false
		}
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, 4, false, true
	case 0xfe:
		if len(b) < 9 {
			return 0, 0, false, false
		}
		return binary.LittleEndian.Uint64(b[1:]), 9, false, true
	case 0xff:
		return 0, 0, false, false
	default:
		return uint64(b[0]), 1, false, true
	}
}

// LenEncString decodes a length-encoded string at the start of b.
func LenEncString(b []byte) (s []byte, n int, ok bool) {
	l, m, isNull, ok := LenEncInt(b)
	if !ok || isNull {
		return nil, m, ok
	}
	if uint64(len(b)-m) < l {
		return nil, 0, false
	}
	return b[m : m+int(l)], m + int(l), true
}

// NulString returns the bytes of b up to the first NUL and the number of
// bytes consumed including the NUL. ok is false if there is no NUL.
func NulString(b []byte) (s []byte, n int, ok bool) {
	for i, c := range b {
		if c == 0 {
			return b[:i], i + 1, true
		}
	}
	return nil, 0, false
}

// OK is the decoded form of an OK packet (or an OK-style EOF packet sent
// with CLIENT_DEPRECATE_EOF).
type OK struct {
	AffectedRows uint64
	LastInsertID uint64
	Status       uint16
	Warnings     uint16
	Info         string
}

// ParseOK decodes an OK packet payload (header 0x00 or 0xfe).
func ParseOK(p []byte) (OK, error) {
	var ok OK
	if len(p) < 1 || (p[0] != OKHeader && p[0] != EOFHeader) {
		return ok, ErrMalformed
	}
	i := 1
	v, n, _, good := LenEncInt(p[i:])
	if !good {
		return ok, ErrMalformed
	}
	ok.AffectedRows = v
	i += n
	v, n, _, good = LenEncInt(p[i:])
	if !good {
		return ok, ErrMalformed
	}
	ok.LastInsertID = v
	i += n
	if len(p) < i+4 {
		return ok, ErrMalformed
	}
	ok.Status = binary.LittleEndian.Uint16(p[i:])
	ok.Warnings = binary.LittleEndian.Uint16(p[i+2:])
	i += 4
	if i < len(p) {
		// The info is a lenenc string when SESSION_TRACK is on, else EOF-
		// terminated; we only keep it for locally answered statements.
		ok.Info = string(p[i:])
	}
	return ok, nil
}

// AppendOK appends an OK packet payload.
func AppendOK(b []byte, hdr byte, ok OK) []byte {
	b = append(b, hdr)
	b = AppendLenEncInt(b, ok.AffectedRows)
	b = AppendLenEncInt(b, ok.LastInsertID)
	b = append(b, byte(ok.Status), byte(ok.Status>>8), byte(ok.Warnings), byte(ok.Warnings>>8))
	if ok.Info == "" {
		return b
	}
	// MySQL and MariaDB servers send the message length-encoded and the
	// C clients read it that way, with or without CLIENT_SESSION_TRACK.
	return AppendLenEncString(b, ok.Info)
}

// IsEOF reports whether p is a classic EOF packet (header 0xfe, shorter than
// 9 bytes, so it cannot be a row that starts with an 8-byte length).
func IsEOF(p []byte) bool { return len(p) > 0 && p[0] == EOFHeader && len(p) < 9 }

// IsOKTerminator reports whether p ends a result set of a connection that
// negotiated CLIENT_DEPRECATE_EOF: an OK packet with header 0xfe. A row that
// starts with 0xfe carries a string of at least 2^24 bytes, so it fills a
// whole physical packet.
func IsOKTerminator(p []byte) bool { return len(p) > 0 && p[0] == EOFHeader && len(p) < MaxPayload }

// ParseEOF decodes a classic EOF packet.
func ParseEOF(p []byte) (warnings, status uint16) {
	if len(p) >= 5 {
		return binary.LittleEndian.Uint16(p[1:]), binary.LittleEndian.Uint16(p[3:])
	}
	return 0, 0
}

// AppendEOF appends a classic EOF packet payload.
func AppendEOF(b []byte, warnings, status uint16) []byte {
	return append(b, EOFHeader, byte(warnings), byte(warnings>>8), byte(status), byte(status>>8))
}

// Error is a MySQL error packet. It implements error so a backend failure can
// travel up to the session and be forwarded to the client unchanged.
type Error struct {
	Code     uint16
	SQLState string
	Message  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("ERROR %d (%s): %s", e.Code, e.SQLState, e.Message)
}

// Errorf builds an Error with a formatted message.
func Errorf(code uint16, sqlstate, format string, args ...any) *Error {
	return &Error{Code: code, SQLState: sqlstate, Message: fmt.Sprintf(format, args...)}
}

// AppendErr appends an ERR packet payload (protocol 4.1 form).
func AppendErr(b []byte, e *Error) []byte {
	state := e.SQLState
	if len(state) != 5 {
		state = "HY000"
	}
	b = append(b, ErrHeader, byte(e.Code), byte(e.Code>>8), '#')
	b = append(b, state...)
	return append(b, e.Message...)
}

// ParseErr decodes an ERR packet payload.
func ParseErr(p []byte) *Error {
	e := &Error{SQLState: "HY000"}
	if len(p) < 3 || p[0] != ErrHeader {
		e.Code = 2027
		e.Message = "malformed error packet"
		return e
	}
	e.Code = binary.LittleEndian.Uint16(p[1:])
	rest := p[3:]
	if len(rest) >= 6 && rest[0] == '#' {
		e.SQLState = string(rest[1:6])
		rest = rest[6:]
	}
	e.Message = string(rest)
	return e
}

// Column types used by locally built result sets.
const (
	TypeLongLong  byte = 0x08
	TypeVarString byte = 0xfd
)

// AppendColumnDef appends a Protocol::ColumnDefinition41 for a column of
// locally generated text results (catalog "def", no table, utf8mb4).
func AppendColumnDef(b []byte, name string, typ byte) []byte {
	b = AppendLenEncString(b, "def")
	b = AppendLenEncString(b, "")
	b = AppendLenEncString(b, "")
	b = AppendLenEncString(b, "")
	b = AppendLenEncString(b, name)
	b = AppendLenEncString(b, "")
	// fixed-length fields: 0x0c, charset 45, length 1024, type, flags, decimals 0x1f, filler
	return append(b, 0x0c, 45, 0, 0x00, 0x04, 0, 0, typ, 0, 0, 0x1f, 0, 0)
}

// WriteTextResult writes a text result set whose columns are all
// VARCHAR: the column count, the column definitions, the rows (nil is
// NULL) and the terminator with status. With deprecateEOF
// (CLIENT_DEPRECATE_EOF negotiated) the EOF after the definitions is left
// out and the result ends with an OK packet with the 0xFE header, as MySQL
// 5.7 and later send. buf is scratch space; the grown buffer is returned
// for reuse. Nothing is flushed.
func (c *Conn) WriteTextResult(buf []byte, cols []string, rows [][]*string, status uint16, deprecateEOF bool) ([]byte, error) {
	b := AppendLenEncInt(buf[:0], uint64(len(cols)))
	if err := c.WritePacket(b); err != nil {
		return b, err
	}
	for _, name := range cols {
		b = AppendColumnDef(b[:0], name, TypeVarString)
		if err := c.WritePacket(b); err != nil {
			return b, err
		}
	}
	if !deprecateEOF {
		if err := c.WritePacket(AppendEOF(b[:0], 0, status)); err != nil {
			return b, err
		}
	}
	for _, row := range rows {
		b = b[:0]
		for _, v := range row {
			if v == nil {
				b = append(b, 0xfb)
			} else {
				b = AppendLenEncString(b, *v)
			}
		}
		if err := c.WritePacket(b); err != nil {
			return b, err
		}
	}
	if deprecateEOF {
		b = AppendOK(b[:0], EOFHeader, OK{Status: status})
	} else {
		b = AppendEOF(b[:0], 0, status)
	}
	return b, c.WritePacket(b)
}
