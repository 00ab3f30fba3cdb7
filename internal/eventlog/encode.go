package eventlog

import (
	"encoding/binary"
	"strconv"
	"time"
	"unicode/utf8"

	"sqlgate/internal/wire"
)

// hostgroupNone is how ProxySQL stores "no hostgroup" in the binary format:
// MySQL_Event::hid is a uint64_t initialised to UINT64_MAX and only replaced
// by set_server().
const hostgroupNone = ^uint64(0)

// lenEncSize is mysql_encode_length(v, NULL) from lib/MySQL_Logger.cpp:
// the size of wire.AppendLenEncInt's encoding, which is byte for byte
// ProxySQL's write_encoded_length on a little-endian host.
func lenEncSize(v uint64) int {
	switch {
	case v < 251:
		return 1
	case v < 1<<16:
		return 3
	case v < 1<<24:
		return 4
	default:
		return 9
	}
}

// micros converts t to microseconds since the epoch as ProxySQL's uint64_t
// start_time/end_time; times before the epoch (including the zero Time) are 0.
func micros(t time.Time) uint64 {
	us := t.UnixMicro()
	if us < 0 {
		return 0
	}
	return uint64(us)
}

func isStmt(t EventType) bool { return t == StmtExecute || t == StmtPrepare }

// values returns the affected rows, last insert id and rows sent exactly as
// MySQL_Event holds them: zero unless the corresponding setter was called.
func (e *Event) values() (affected, lastID, sent uint64) {
	if e.HaveAffected {
		affected, lastID = e.RowsAffected, e.LastInsertID
	}
	if e.HaveRowsSent {
		sent = e.RowsSent
	}
	return
}

// appendFormat1 appends the record MySQL_Event::write_query_format_1 writes.
//
// Layout: uint64 LE total_bytes, then the event type byte and length-encoded
// thread_id, username, schemaname, client, hid (UINT64_MAX when none; server
// follows only when there is a hid), start_time, end_time, client_stmt_id
// (STMT_* events only), affected_rows, last_insert_id, rows_sent, digest,
// query.
//
// total_bytes reproduces ProxySQL's arithmetic bit for bit, including its
// quirk that the size of client_stmt_id is counted for every event although
// the field is only written for STMT_PREPARE/STMT_EXECUTE: for COM_QUERY the
// prefix is one byte larger than the record that follows. ProxySQL's reader
// (tools/eventslog_reader_sample.cpp) ignores the prefix and parses the
// fields sequentially, so byte-compatible files must keep the quirk.
func appendFormat1(b []byte, e *Event) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	b = append(b, byte(e.Type))
	b = wire.AppendLenEncInt(b, uint64(e.ThreadID))
	b = wire.AppendLenEncString(b, e.Username)
	b = wire.AppendLenEncString(b, e.Schema)
	b = wire.AppendLenEncString(b, e.Client)
	if e.Hostgroup < 0 {
		b = wire.AppendLenEncInt(b, hostgroupNone)
	} else {
		b = wire.AppendLenEncInt(b, uint64(e.Hostgroup))
		b = wire.AppendLenEncString(b, e.Server)
	}
	b = wire.AppendLenEncInt(b, micros(e.Start))
	b = wire.AppendLenEncInt(b, micros(e.End))
	stmt := isStmt(e.Type)
	if stmt {
		b = wire.AppendLenEncInt(b, uint64(e.ClientStmtID))
	}
	affected, lastID, sent := e.values()
	b = wire.AppendLenEncInt(b, affected)
	b = wire.AppendLenEncInt(b, lastID)
	b = wire.AppendLenEncInt(b, sent)
	b = wire.AppendLenEncInt(b, e.Digest)
	b = wire.AppendLenEncString(b, e.Query)

	total := uint64(len(b) - start - 8)
	if !stmt {
		total += uint64(lenEncSize(uint64(e.ClientStmtID)))
	}
	binary.LittleEndian.PutUint64(b[start:], total)
	return b
}

// eventName is the "event" value of the JSON format.
func eventName(t EventType) string {
	switch t {
	case StmtExecute:
		return "COM_STMT_EXECUTE"
	case StmtPrepare:
		return "COM_STMT_PREPARE"
	default:
		return "COM_QUERY"
	}
}

// appendFormat2 appends the line MySQL_Event::write_query_format_2_json
// writes. ProxySQL builds an nlohmann::json object (a std::map, so keys come
// out sorted bytewise) and dumps it compactly with ensure_ascii=false and the
// "replace" error handler, followed by std::endl. The keys below are emitted
// in that same sorted order, so the output is byte-identical.
func appendFormat2(b []byte, e *Event) []byte {
	startUS, endUS := micros(e.Start), micros(e.End)
	affected, lastID, sent := e.values()
	stmt := isStmt(e.Type)

	b = append(b, `{"client":`...)
	b = appendJSONString(b, e.Client)
	if stmt {
		b = append(b, `,"client_stmt_id":`...)
		b = strconv.AppendUint(b, uint64(e.ClientStmtID), 10)
	}
	b = append(b, `,"digest":"0x`...)
	b = appendHex16(b, e.Digest)
	b = append(b, `","duration_us":`...)
	var dur uint64
	if endUS > startUS {
		dur = endUS - startUS
	}
	b = strconv.AppendUint(b, dur, 10)
	b = append(b, `,"endtime":"`...)
	b = appendLocalTime(b, endUS)
	b = append(b, `","endtime_timestamp_us":`...)
	b = strconv.AppendUint(b, endUS, 10)
	b = append(b, `,"event":"`...)
	b = append(b, eventName(e.Type)...)
	b = append(b, `","hostgroup_id":`...)
	if e.Hostgroup < 0 {
		b = append(b, "-1"...)
	} else {
		b = strconv.AppendInt(b, int64(e.Hostgroup), 10)
	}
	if e.HaveAffected && lastID != 0 {
		b = append(b, `,"last_insert_id":`...)
		b = strconv.AppendUint(b, lastID, 10)
	}
	b = append(b, `,"query":`...)
	b = appendJSONString(b, e.Query)
	if e.HaveAffected {
		b = append(b, `,"rows_affected":`...)
		b = strconv.AppendUint(b, affected, 10)
	}
	if e.HaveRowsSent {
		b = append(b, `,"rows_sent":`...)
		b = strconv.AppendUint(b, sent, 10)
	}
	b = append(b, `,"schemaname":`...)
	b = appendJSONString(b, e.Schema)
	if e.Hostgroup >= 0 {
		b = append(b, `,"server":`...)
		b = appendJSONString(b, e.Server)
	}
	b = append(b, `,"starttime":"`...)
	b = appendLocalTime(b, startUS)
	b = append(b, `","starttime_timestamp_us":`...)
	b = strconv.AppendUint(b, startUS, 10)
	b = append(b, `,"thread_id":`...)
	b = strconv.AppendUint(b, uint64(e.ThreadID), 10)
	b = append(b, `,"username":`...)
	b = appendJSONString(b, e.Username)
	return append(b, "}\n"...)
}

const upperHex = "0123456789ABCDEF"
const lowerHex = "0123456789abcdef"

// appendHex16 is printf("%016llX").
func appendHex16(b []byte, v uint64) []byte {
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, upperHex[(v>>uint(shift))&0xf])
	}
	return b
}

// appendLocalTime is strftime("%Y-%m-%d %H:%M:%S", localtime(us/1e6))
// followed by ".%06u" of us%1e6.
func appendLocalTime(b []byte, us uint64) []byte {
	sec := int64(us / 1e6)
	b = time.Unix(sec, 0).AppendFormat(b, "2006-01-02 15:04:05")
	frac := us % 1e6
	b = append(b, '.')
	for div := uint64(100000); div > 0; div /= 10 {
		b = append(b, byte('0'+frac/div%10))
	}
	return b
}

// appendJSONString quotes s as nlohmann::json's dump_escaped does with
// ensure_ascii=false and error_handler_t::replace: ", \ and the control
// characters \b \t \n \f \r get short escapes, other bytes below 0x20 become
// \u00xx (lower-case hex), valid UTF-8 is copied verbatim, and each maximal
// invalid subsequence becomes one U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\b':
				b = append(b, '\\', 'b')
			case '\t':
				b = append(b, '\\', 't')
			case '\n':
				b = append(b, '\\', 'n')
			case '\f':
				b = append(b, '\\', 'f')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				if c < 0x20 {
					b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xf])
				} else {
					b = append(b, c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
			i += invalidUTF8Len(s[i:])
			continue
		}
		b = append(b, s[i:i+size]...)
		i += size
	}
	return append(b, '"')
}

// invalidUTF8Len returns how many bytes at the start of s (which does not
// begin with a valid UTF-8 sequence) form the maximal prefix of a well-formed
// sequence, minimum 1. nlohmann's DFA replaces that prefix with a single
// U+FFFD and then re-examines the byte that broke it.
func invalidUTF8Len(s string) int {
	c := s[0]
	need := 0
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for n <= need && n < len(s) && s[n] >= lo && s[n] <= hi {
		n++
		lo, hi = 0x80, 0xBF
	}
	return n
}
