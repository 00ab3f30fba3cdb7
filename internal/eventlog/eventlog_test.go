package eventlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"sqlgate/internal/wire"
)

// ---- format 1 decoder (mirrors tools/eventslog_reader_sample.cpp, plus
// last_insert_id which the sample predates) ----

type decoded struct {
	Total        uint64 // the 8-byte prefix
	Type         EventType
	ThreadID     uint64
	Username     string
	Schema       string
	Client       string
	HID          uint64
	Server       string
	StartUS      uint64
	EndUS        uint64
	ClientStmtID uint64
	RowsAffected uint64
	LastInsertID uint64
	RowsSent     uint64
	Digest       uint64
	Query        string
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.off+n > len(r.b) {
		r.err = fmt.Errorf("truncated at offset %d (need %d of %d)", r.off, n, len(r.b)-r.off)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) lenEnc() uint64 {
	p := r.bytes(1)
	if p == nil {
		return 0
	}
	switch p[0] {
	case 0xfc:
		q := r.bytes(2)
		if q == nil {
			return 0
		}
		return uint64(binary.LittleEndian.Uint16(q))
	case 0xfd:
		q := r.bytes(3)
		if q == nil {
			return 0
		}
		return uint64(q[0]) | uint64(q[1])<<8 | uint64(q[2])<<16
	case 0xfe:
		q := r.bytes(8)
		if q == nil {
			return 0
		}
		return binary.LittleEndian.Uint64(q)
	case 0xfb, 0xff:
		r.err = fmt.Errorf("invalid length byte 0x%x at offset %d", p[0], r.off-1)
		return 0
	default:
		return uint64(p[0])
	}
}

func (r *reader) str() string { return string(r.bytes(int(r.lenEnc()))) }

// decodeFormat1 parses a whole file; it fails on any partial record.
func decodeFormat1(data []byte) ([]decoded, error) {
	r := &reader{b: data}
	var out []decoded
	for r.off < len(data) && r.err == nil {
		var d decoded
		p := r.bytes(8)
		if p == nil {
			break
		}
		d.Total = binary.LittleEndian.Uint64(p)
		begin := r.off
		t := r.bytes(1)
		if t == nil {
			break
		}
		d.Type = EventType(t[0])
		if d.Type != ComQuery && d.Type != StmtExecute && d.Type != StmtPrepare {
			return out, fmt.Errorf("record %d: bad event type %d", len(out), d.Type)
		}
		d.ThreadID = r.lenEnc()
		d.Username = r.str()
		d.Schema = r.str()
		d.Client = r.str()
		d.HID = r.lenEnc()
		if d.HID != math.MaxUint64 {
			d.Server = r.str()
		}
		d.StartUS = r.lenEnc()
		d.EndUS = r.lenEnc()
		stmt := d.Type == StmtExecute || d.Type == StmtPrepare
		if stmt {
			d.ClientStmtID = r.lenEnc()
		}
		d.RowsAffected = r.lenEnc()
		d.LastInsertID = r.lenEnc()
		d.RowsSent = r.lenEnc()
		d.Digest = r.lenEnc()
		d.Query = r.str()
		if r.err != nil {
			break
		}
		// ProxySQL counts client_stmt_id's size (1 byte, since it is 0)
		// for non-STMT events without writing it.
		want := uint64(r.off - begin)
		if !stmt {
			want++
		}
		if d.Total != want {
			return out, fmt.Errorf("record %d: length prefix %d, want %d", len(out), d.Total, want)
		}
		out = append(out, d)
	}
	if r.err != nil {
		return out, fmt.Errorf("record %d: %w", len(out), r.err)
	}
	return out, nil
}

// expect converts an Event into what the binary format should carry.
func expect(e *Event) decoded {
	d := decoded{
		Type: e.Type, ThreadID: uint64(e.ThreadID), Username: e.Username, Schema: e.Schema,
		Client: e.Client, HID: math.MaxUint64, StartUS: uint64(e.Start.UnixMicro()),
		EndUS: uint64(e.End.UnixMicro()), Digest: e.Digest, Query: e.Query,
	}
	if e.Hostgroup >= 0 {
		d.HID, d.Server = uint64(e.Hostgroup), e.Server
	}
	if e.Type != ComQuery {
		d.ClientStmtID = uint64(e.ClientStmtID)
	}
	if e.HaveAffected {
		d.RowsAffected, d.LastInsertID = e.RowsAffected, e.LastInsertID
	}
	if e.HaveRowsSent {
		d.RowsSent = e.RowsSent
	}
	return d
}

// ---- helpers ----

var t0 = time.Date(2024, 3, 9, 17, 4, 5, 123456789, time.UTC)

func sampleEvents() []*Event {
	long300 := "SELECT '" + strings.Repeat("x", 300) + "'"
	long70k := "INSERT INTO t VALUES ('" + strings.Repeat("y", 70000) + "')"
	return []*Event{
		{Type: ComQuery, ThreadID: 7, Username: "app", Schema: "shop", Client: "10.0.0.5:51234",
			Hostgroup: 10, Server: "db1:3306", Start: t0, End: t0.Add(1500 * time.Microsecond),
			HaveRowsSent: true, RowsSent: 3, Digest: 0x1F2E3D4C5B6A7988, Query: "SELECT * FROM t WHERE id=?"},
		{Type: ComQuery, ThreadID: 8, Username: "app", Schema: "", Client: "10.0.0.6:40000",
			Hostgroup: -1, Start: t0, End: t0.Add(20 * time.Microsecond),
			HaveRowsSent: true, RowsSent: 1, Digest: 5, Query: "SELECT 1 /* cache hit */"},
		{Type: ComQuery, ThreadID: 300, Username: "u", Schema: "s", Client: "[::1]:1",
			Hostgroup: 0, Server: "127.0.0.1:3306", Start: t0, End: t0.Add(time.Second),
			HaveAffected: true, RowsAffected: 1, LastInsertID: 70000, HaveRowsSent: true,
			Digest: math.MaxUint64, Query: long300},
		{Type: ComQuery, ThreadID: 1 << 20, Username: "u", Schema: "s", Client: "c:1",
			Hostgroup: 1 << 17, Server: "s:2", Start: t0, End: t0.Add(time.Millisecond),
			HaveAffected: true, RowsAffected: 1 << 25, LastInsertID: 0, Query: long70k},
		{Type: StmtPrepare, ThreadID: 9, Username: "u", Schema: "s", Client: "c:2",
			Hostgroup: 2, Server: "db2:3306", Start: t0, End: t0,
			ClientStmtID: 1, Digest: 42, Query: "SELECT ? + ?"},
		{Type: StmtExecute, ThreadID: 9, Username: "u", Schema: "s", Client: "c:2",
			Hostgroup: 2, Server: "db2:3306", Start: t0, End: t0.Add(3 * time.Microsecond),
			ClientStmtID: 70000, HaveRowsSent: true, RowsSent: 1, Digest: 42, Query: "SELECT ? + ?"},
		{Type: ComQuery, ThreadID: math.MaxUint32, Username: "ü", Schema: "s", Client: "",
			Hostgroup: -1, Start: time.UnixMicro(1), End: time.UnixMicro(2), Query: ""},
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seqFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func newLog(t *testing.T, dir string, format int, maxSize int64) *Log {
	t.Helper()
	l := New(nil)
	if err := l.Configure(dir, "queries.log", format, maxSize); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// ---- tests ----

func TestEventTypeValues(t *testing.T) {
	// enum log_event_type in include/proxysql_structs.h
	if ComQuery != 0 || StmtExecute != 16 || StmtPrepare != 17 {
		t.Fatal("event type values do not match ProxySQL")
	}
}

func TestLenEnc(t *testing.T) {
	cases := []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0}},
		{250, []byte{250}},
		{251, []byte{0xfc, 251, 0}},
		{65535, []byte{0xfc, 0xff, 0xff}},
		{65536, []byte{0xfd, 0, 0, 1}},
		{1<<24 - 1, []byte{0xfd, 0xff, 0xff, 0xff}},
		{1 << 24, []byte{0xfe, 0, 0, 0, 1, 0, 0, 0, 0}},
		{math.MaxUint64, []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, c := range cases {
		got := wire.AppendLenEncInt(nil, c.v)
		if !bytes.Equal(got, c.want) || lenEncSize(c.v) != len(c.want) {
			t.Errorf("%d: got % x (size %d), want % x", c.v, got, lenEncSize(c.v), c.want)
		}
		r := &reader{b: got}
		if back := r.lenEnc(); back != c.v || r.err != nil {
			t.Errorf("%d: decoded %d, %v", c.v, back, r.err)
		}
	}
}

func TestFormat1Golden(t *testing.T) {
	e := &Event{Type: ComQuery, ThreadID: 3, Username: "u", Schema: "db", Client: "1.2.3.4:5",
		Hostgroup: -1, Start: time.UnixMicro(1000), End: time.UnixMicro(300),
		HaveAffected: true, RowsAffected: 2, LastInsertID: 9, HaveRowsSent: true, RowsSent: 4,
		Digest: 0xAB, Query: "DO 1"}
	body := []byte{0}                                                  // PROXYSQL_COM_QUERY
	body = append(body, 3)                                             // thread_id
	body = append(body, 1, 'u', 2, 'd', 'b')                           // username, schemaname
	body = append(body, 9)                                             // client
	body = append(body, "1.2.3.4:5"...)                                //
	body = append(body, 0xfe, 0xff, 0xff, 0xff, 0xff)                  // hid = UINT64_MAX
	body = append(body, 0xff, 0xff, 0xff, 0xff)                        // (no server)
	body = append(body, 0xfc, 0xe8, 0x03)                              // start_time 1000
	body = append(body, 0xfc, 0x2c, 0x01)                              // end_time 300
	body = append(body, 2, 9, 4, 0xab)                                 // affected, last id, rows sent, digest
	body = append(body, 4, 'D', 'O', ' ', '1')                         // query
	want := binary.LittleEndian.AppendUint64(nil, uint64(len(body)+1)) // +1: ProxySQL counts client_stmt_id
	want = append(want, body...)
	if got := appendFormat1(nil, e); !bytes.Equal(got, want) {
		t.Fatalf("got\n% x\nwant\n% x", got, want)
	}

	// STMT_EXECUTE carries client_stmt_id and a server.
	e = &Event{Type: StmtExecute, ThreadID: 1, Client: "c", Hostgroup: 300, Server: "h:1",
		Start: time.UnixMicro(0), End: time.UnixMicro(1), ClientStmtID: 251, Query: "Q"}
	body = []byte{16, 1, 0, 0, 1, 'c', 0xfc, 0x2c, 0x01, 3, 'h', ':', '1', 0, 1, 0xfc, 251, 0, 0, 0, 0, 0, 1, 'Q'}
	want = append(binary.LittleEndian.AppendUint64(nil, uint64(len(body))), body...)
	if got := appendFormat1(nil, e); !bytes.Equal(got, want) {
		t.Fatalf("got\n% x\nwant\n% x", got, want)
	}
}

func TestFormat1RoundTrip(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, 1, 1<<30)
	if !l.Enabled() {
		t.Fatal("not enabled after Configure")
	}
	events := sampleEvents()
	// A query longer than 2^24 bytes exercises the 0xfe (9-byte) length.
	events = append(events, &Event{Type: ComQuery, ThreadID: 1, Username: "big", Client: "c:3",
		Hostgroup: -1, Start: t0, End: t0, Query: strings.Repeat("z", 1<<24+5)})
	for _, e := range events {
		l.Write(e)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.Enabled() {
		t.Fatal("enabled after Close")
	}
	data := readAll(t, filepath.Join(dir, "queries.log.00000001"))
	got, err := decodeFormat1(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(events) {
		t.Fatalf("decoded %d records, want %d", len(got), len(events))
	}
	for i, e := range events {
		if want := expect(e); !reflect.DeepEqual(got[i].withoutTotal(), want) {
			g, w := got[i].withoutTotal(), want
			g.Query, w.Query = fmt.Sprint(len(g.Query)), fmt.Sprint(len(w.Query))
			t.Errorf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func (d decoded) withoutTotal() decoded { d.Total = 0; return d }

var allKeys = []string{"client", "client_stmt_id", "digest", "duration_us", "endtime",
	"endtime_timestamp_us", "event", "hostgroup_id", "last_insert_id", "query",
	"rows_affected", "rows_sent", "schemaname", "server", "starttime",
	"starttime_timestamp_us", "thread_id", "username"}

func localStamp(tm time.Time) string {
	us := tm.UnixMicro()
	return time.Unix(us/1e6, 0).Format("2006-01-02 15:04:05") + fmt.Sprintf(".%06d", us%1e6)
}

func TestFormat2JSON(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, 2, 1<<30)
	events := sampleEvents()
	for _, e := range events {
		l.Write(e)
	}
	data := readAll(t, filepath.Join(dir, "queries.log.00000001"))
	if !bytes.HasSuffix(data, []byte("}\n")) {
		t.Fatal("file does not end with a complete line")
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(events) {
		t.Fatalf("%d lines, want %d", len(lines), len(events))
	}
	for i, line := range lines {
		e := events[i]
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %d: %v\n%s", i, err, line)
		}
		// The exact key set ProxySQL produces for this event.
		want := map[string]any{
			"client":                 e.Client,
			"digest":                 fmt.Sprintf("0x%016X", e.Digest),
			"duration_us":            json.Number(fmt.Sprint(e.End.Sub(e.Start).Microseconds())),
			"endtime":                localStamp(e.End),
			"endtime_timestamp_us":   json.Number(fmt.Sprint(e.End.UnixMicro())),
			"event":                  e.Type.String(),
			"hostgroup_id":           json.Number(fmt.Sprint(e.Hostgroup)),
			"query":                  e.Query,
			"schemaname":             e.Schema,
			"starttime":              localStamp(e.Start),
			"starttime_timestamp_us": json.Number(fmt.Sprint(e.Start.UnixMicro())),
			"thread_id":              json.Number(fmt.Sprint(e.ThreadID)),
			"username":               e.Username,
		}
		if e.Hostgroup >= 0 {
			want["server"] = e.Server
		}
		if e.HaveAffected {
			want["rows_affected"] = json.Number(fmt.Sprint(e.RowsAffected))
			if e.LastInsertID != 0 {
				want["last_insert_id"] = json.Number(fmt.Sprint(e.LastInsertID))
			}
		}
		if e.HaveRowsSent {
			want["rows_sent"] = json.Number(fmt.Sprint(e.RowsSent))
		}
		if e.Type == StmtExecute || e.Type == StmtPrepare {
			want["client_stmt_id"] = json.Number(fmt.Sprint(e.ClientStmtID))
		}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("line %d:\n got %v\nwant %v", i, m, want)
		}
		for k := range m {
			if !contains(allKeys, k) {
				t.Errorf("line %d: key %q is not one ProxySQL writes", i, k)
			}
		}
		// nlohmann::json (std::map) dumps keys sorted.
		if keys := lineKeys(t, line); !sort.StringsAreSorted(keys) || len(keys) != len(m) {
			t.Errorf("line %d: keys not unique and sorted: %v", i, keys)
		}
	}

	// Byte-exact check of one line against what nlohmann's dump produces.
	e := events[0]
	wantLine := `{"client":"10.0.0.5:51234","digest":"0x1F2E3D4C5B6A7988","duration_us":1500,` +
		`"endtime":"` + localStamp(e.End) + `","endtime_timestamp_us":` + fmt.Sprint(e.End.UnixMicro()) +
		`,"event":"COM_QUERY","hostgroup_id":10,"query":"SELECT * FROM t WHERE id=?","rows_sent":3,` +
		`"schemaname":"shop","server":"db1:3306","starttime":"` + localStamp(e.Start) +
		`","starttime_timestamp_us":` + fmt.Sprint(e.Start.UnixMicro()) + `,"thread_id":7,"username":"app"}`
	if lines[0] != wantLine {
		t.Errorf("line 0:\n got %s\nwant %s", lines[0], wantLine)
	}
}

// lineKeys returns the top-level keys of a JSON object in file order.
func lineKeys(t *testing.T, line string) []string {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(line))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %q", line)
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestJSONString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"a\"b\\c/d", `"a\"b\\c/d"`},
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f\""},
		{"<&>\u2028é€😀", "\"<&>\u2028é€😀\""},
		{"a\xffb", "\"a\uFFFDb\""},                 // invalid lead byte
		{"\xe2\x82A", "\"\uFFFDA\""},               // truncated 3-byte sequence: one U+FFFD
		{"\xe2\x82", "\"\uFFFD\""},                 // truncated at end
		{"\xe0\x80\x80", "\"\uFFFD\uFFFD\uFFFD\""}, // overlong: E0 then 80 each rejected
		{"\xed\xa0\x80", "\"\uFFFD\uFFFD\uFFFD\""}, // surrogate
		{"\xf0\x9f\x98", "\"\uFFFD\""},
		{"\xc0\xaf", "\"\uFFFD\uFFFD\""},
		{"\xef\xbf\xbd", "\"\uFFFD\""}, // a real U+FFFD is copied
	}
	for _, c := range cases {
		got := string(appendJSONString(nil, c.in))
		if got != c.want {
			t.Errorf("%q: got %s want %s", c.in, got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%q: invalid JSON %s", c.in, got)
		}
	}
}

func TestRotateBySize(t *testing.T) {
	dir := t.TempDir()
	const maxSize = 1000
	l := newLog(t, dir, 1, maxSize)
	e := sampleEvents()[0]
	one := int64(len(appendFormat1(nil, e)))
	n := int(maxSize/one) + 1 // this many records push file 1 past maxSize
	for i := 0; i < n; i++ {
		l.Write(e)
	}
	if names := seqFiles(t, dir); !reflect.DeepEqual(names, []string{"queries.log.00000001", "queries.log.00000002"}) {
		t.Fatalf("files after %d writes: %v", n, names)
	}
	st, _ := os.Stat(filepath.Join(dir, "queries.log.00000001"))
	if st.Size() != int64(n)*one || st.Size() <= maxSize || st.Size()-one > maxSize {
		t.Fatalf("file 1 is %d bytes (record %d, max %d)", st.Size(), one, maxSize)
	}
	l.Write(e)
	if got, err := decodeFormat1(readAll(t, filepath.Join(dir, "queries.log.00000002"))); err != nil || len(got) != 1 {
		t.Fatalf("file 2: %d records, %v", len(got), err)
	}

	// PROXYSQL FLUSH LOGS
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	if names := seqFiles(t, dir); len(names) != 3 || names[2] != "queries.log.00000003" {
		t.Fatalf("after Rotate: %v", names)
	}
}

func TestConfigureNextID(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{
		"queries.log.00000005",
		"queries.log.00000003",
		"queries.log.0000009",   // wrong width: ignored
		"queries.log.000000099", // wrong width: ignored
		"other.log.00000042",
		"queries.logx00000077", // no dot
	} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := newLog(t, dir, 2, 1<<20)
	l.Write(sampleEvents()[0])
	if _, err := os.Stat(filepath.Join(dir, "queries.log.00000006")); err != nil {
		t.Fatal(err)
	}
	if b := readAll(t, filepath.Join(dir, "queries.log.00000005")); string(b) != "old" {
		t.Fatal("existing log modified")
	}

	// Absolute filename ignores datadir.
	abs := filepath.Join(dir, "abs.log")
	l2 := New(nil)
	defer l2.Close()
	if err := l2.Configure("/nonexistent", abs, 1, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs + ".00000001"); err != nil {
		t.Fatal(err)
	}
}

func TestConfigureChanges(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, 1, 1<<20)
	count := func() int { return len(seqFiles(t, dir)) }

	// Unchanged values: nothing happens.
	if err := l.Configure(dir, "queries.log", 1, 1<<20); err != nil || count() != 1 {
		t.Fatalf("unchanged Configure: %v, %d files", err, count())
	}
	// Only filesize changed: new threshold, same file (as ProxySQL).
	if err := l.Configure(dir, "queries.log", 1, 500); err != nil || count() != 1 {
		t.Fatalf("filesize change: %v, %d files", err, count())
	}
	// Format changed: ProxySQL flushes the log, so a new file.
	if err := l.Configure(dir, "queries.log", 2, 1<<20); err != nil || count() != 2 {
		t.Fatalf("format change: %v, %d files", err, count())
	}
	l.Write(sampleEvents()[0])
	if b := readAll(t, filepath.Join(dir, "queries.log.00000002")); !json.Valid(bytes.TrimSpace(b)) {
		t.Fatalf("file 2 is not JSON: %q", b)
	}
	// Filename changed.
	if err := l.Configure(dir, "other.log", 2, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.log.00000001")); err != nil {
		t.Fatal(err)
	}
	// Invalid values name the variable and change nothing.
	if err := l.Configure(dir, "other.log", 3, 1<<20); err == nil || !strings.Contains(err.Error(), "mysql-eventslog_format") {
		t.Fatalf("format 3: %v", err)
	}
	if err := l.Configure(dir, "other.log", 2, 0); err == nil || !strings.Contains(err.Error(), "mysql-eventslog_filesize") {
		t.Fatalf("filesize 0: %v", err)
	}
	if !l.Enabled() {
		t.Fatal("invalid Configure disabled the log")
	}

	// "" disables.
	if err := l.Configure(dir, "", 2, 1<<20); err != nil {
		t.Fatal(err)
	}
	if l.Enabled() {
		t.Fatal("still enabled")
	}
	before := seqFiles(t, dir)
	sizeBefore := readAll(t, filepath.Join(dir, "other.log.00000001"))
	l.Write(sampleEvents()[0])
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	if after := seqFiles(t, dir); !reflect.DeepEqual(before, after) {
		t.Fatalf("files changed while disabled: %v -> %v", before, after)
	}
	if b := readAll(t, filepath.Join(dir, "other.log.00000001")); !bytes.Equal(b, sizeBefore) {
		t.Fatal("write while disabled reached the file")
	}
	// Re-enabling with the same name opens the next file.
	if err := l.Configure(dir, "other.log", 2, 1<<20); err != nil || !l.Enabled() {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.log.00000002")); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	for _, format := range []int{1, 2} {
		t.Run(fmt.Sprint("format", format), func(t *testing.T) {
			dir := t.TempDir()
			l := newLog(t, dir, format, 64<<10)
			const workers, per = 8, 500
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						q := fmt.Sprintf("SELECT %d, %d /* %s */", w, i, strings.Repeat("p", (w*per+i)%400))
						e := &Event{Type: ComQuery, ThreadID: uint32(w), Username: "u", Client: "c:1",
							Hostgroup: -1, Start: t0, End: t0, Query: q}
						if w%2 == 1 {
							e.Hostgroup, e.Server = w, "s:1"
						}
						l.Write(e)
						if i%100 == 99 && w == 0 {
							if err := l.Rotate(); err != nil {
								t.Error(err)
							}
						}
					}
				}()
			}
			wg.Wait()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			names := seqFiles(t, dir)
			if len(names) < 5 {
				t.Fatalf("expected rotations, got files %v", names)
			}
			for _, n := range names {
				data := readAll(t, filepath.Join(dir, n))
				var queries []string
				var tids []uint64
				if format == 1 {
					recs, err := decodeFormat1(data)
					if err != nil {
						t.Fatalf("%s: %v", n, err)
					}
					for _, r := range recs {
						queries, tids = append(queries, r.Query), append(tids, r.ThreadID)
					}
				} else {
					if len(data) > 0 && data[len(data)-1] != '\n' {
						t.Fatalf("%s: partial last line", n)
					}
					sc := bufio.NewScanner(bytes.NewReader(data))
					sc.Buffer(nil, 1<<20)
					for sc.Scan() {
						var m struct {
							Query    string `json:"query"`
							ThreadID uint64 `json:"thread_id"`
						}
						if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
							t.Fatalf("%s: %v: %q", n, err, sc.Text())
						}
						queries, tids = append(queries, m.Query), append(tids, m.ThreadID)
					}
				}
				for i, q := range queries {
					var w, k int
					if _, err := fmt.Sscanf(q, "SELECT %d, %d", &w, &k); err != nil || uint64(w) != tids[i] {
						t.Fatalf("%s: mangled record %q (thread %d)", n, q, tids[i])
					}
					if want := fmt.Sprintf("SELECT %d, %d /* %s */", w, k, strings.Repeat("p", (w*per+k)%400)); q != want {
						t.Fatalf("%s: mangled record %q", n, q)
					}
					if seen[q] {
						t.Fatalf("duplicate record %q", q)
					}
					seen[q] = true
				}
			}
			if len(seen) != workers*per {
				t.Fatalf("found %d records, want %d", len(seen), workers*per)
			}
		})
	}
}

func TestUnwritableDirectory(t *testing.T) {
	dir := t.TempDir()
	// A regular file where the directory should be fails even for root.
	notDir := filepath.Join(dir, "plainfile")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l := New(nil)
	defer l.Close()
	err := l.Configure(notDir, "events.log", 1, 1<<20)
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"mysql-eventslog_filename", filepath.Join(notDir, "events.log")} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if l.Enabled() {
		t.Fatal("enabled after failed Configure")
	}
	l.Write(sampleEvents()[0]) // must not panic

	// Directory that exists but is not writable.
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		err := l.Configure(ro, "events.log", 1, 1<<20)
		want := filepath.Join(ro, "events.log.00000001")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "mysql-eventslog_filename") {
			t.Fatalf("read-only dir: %v", err)
		}
	}

	// Absolute filename in a missing directory.
	missing := filepath.Join(dir, "missing", "events.log")
	err = l.Configure("", missing, 2, 1<<20)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "mysql-eventslog_filename") {
		t.Fatalf("missing dir: %v", err)
	}

	// Once the directory exists the same Configure call retries and works.
	if err := os.Mkdir(filepath.Join(dir, "missing"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := l.Configure("", missing, 2, 1<<20); err != nil || !l.Enabled() {
		t.Fatalf("retry: %v", err)
	}
}

type countHandler struct {
	mu     sync.Mutex
	errors int
	infos  int
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Level >= slog.LevelError {
		h.errors++
	} else {
		h.infos++
	}
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

func TestWriteErrorLoggedOnce(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	h := &countHandler{}
	l := New(slog.New(h))
	if err := l.Configure(t.TempDir(), "q.log", 1, 1<<20); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	good := l.f
	l.mu.Lock()
	l.f = full
	l.mu.Unlock()
	for i := 0; i < 10; i++ {
		l.Write(sampleEvents()[0])
	}
	if h.errors != 1 {
		t.Fatalf("%d errors logged, want 1", h.errors)
	}
	l.mu.Lock()
	l.f = good
	l.mu.Unlock()
	full.Close()
	l.Write(sampleEvents()[0]) // recovers
	l.mu.Lock()
	l.f = full // fails again: a new state change, logged again
	l.mu.Unlock()
	l.Write(sampleEvents()[0])
	l.Write(sampleEvents()[0])
	l.mu.Lock()
	l.f = good
	l.mu.Unlock()
	if h.errors != 2 {
		t.Fatalf("%d errors logged, want 2", h.errors)
	}
}
