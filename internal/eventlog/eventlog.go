// Package eventlog writes ProxySQL's MySQL query events log: the file that
// mysql_query_rules.log=1 (or mysql-eventslog_default_log) feeds and that the
// mysql-eventslog_filename, mysql-eventslog_format and
// mysql-eventslog_filesize variables control.
//
// Both on-disk formats match ProxySQL's lib/MySQL_Logger.cpp byte for byte:
// format 1 is write_query_format_1's length-prefixed binary records, format 2
// is write_query_format_2_json's one JSON object per line. Files are named
// <filename>.%08d with the sequence number chosen like events_find_next_id.
package eventlog

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// EventType is ProxySQL's enum log_event_type (include/proxysql_structs.h).
// Only the three query events are written to the events log; the others
// belong to the audit log.
type EventType uint8

const (
	ComQuery    EventType = 0  // PROXYSQL_COM_QUERY
	StmtExecute EventType = 16 // PROXYSQL_COM_STMT_EXECUTE
	StmtPrepare EventType = 17 // PROXYSQL_COM_STMT_PREPARE
)

// String returns the name ProxySQL uses in the JSON "event" key.
func (t EventType) String() string {
	switch t {
	case ComQuery, StmtExecute, StmtPrepare:
		return eventName(t)
	default:
		return fmt.Sprintf("EventType(%d)", uint8(t))
	}
}

// Event is one logged statement.
type Event struct {
	Type         EventType
	ThreadID     uint32 // the client session id
	Username     string
	Schema       string
	Client       string // "ip:port" of the client
	Hostgroup    int    // -1 when no backend ran it (cache hit, error_msg rule)
	Server       string // "host:port" of the backend, "" when Hostgroup is -1
	Start, End   time.Time
	ClientStmtID uint32 // for STMT_* events
	HaveAffected bool
	RowsAffected uint64
	LastInsertID uint64
	HaveRowsSent bool
	RowsSent     uint64
	Digest       uint64
	Query        string
}

// Variable names used in error messages.
const (
	varFilename = "mysql-eventslog_filename"
	varFormat   = "mysql-eventslog_format"
	varFilesize = "mysql-eventslog_filesize"
)

// seqDigits is the width of the %08d sequence suffix.
const seqDigits = 8

// maxKeptBuf bounds the record buffer kept between writes, so one huge query
// does not pin its memory forever.
const maxKeptBuf = 1 << 20

// Log is the events log. The zero value is not usable; call New.
type Log struct {
	log     *slog.Logger
	enabled atomic.Bool // a file is open and Write will use it

	mu       sync.Mutex
	base     string // resolved <dir>/<name> without the sequence suffix; "" = disabled
	filename string // mysql-eventslog_filename as given
	format   int
	maxSize  int64

	f        *os.File
	path     string // path of f
	size     int64  // bytes in f
	buf      []byte
	errShown bool // an I/O error was logged and nothing has succeeded since
}

// New returns a disabled Log. log may be nil.
func New(log *slog.Logger) *Log {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{log: log, format: 1}
}

// Configure applies mysql-eventslog_filename (relative to datadir unless
// absolute; "" disables), mysql-eventslog_format (1 binary, 2 JSON) and
// mysql-eventslog_filesize (rotate when the current file exceeds it).
//
// As in ProxySQL, a change of file name (or of datadir for a relative name)
// or of format closes the current file and opens <name>.<max existing+1>; a
// change of filesize alone only changes the rotation threshold. Calling it
// with unchanged values does nothing, except that it retries opening the file
// if the previous attempt failed.
func (l *Log) Configure(datadir, filename string, format int, maxSize int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()

	if filename == "" {
		l.filename, l.base = "", ""
		return l.closeLocked()
	}
	if format != 1 && format != 2 {
		return fmt.Errorf("eventlog: %s=%d is invalid: must be 1 (binary) or 2 (JSON)", varFormat, format)
	}
	if maxSize <= 0 {
		return fmt.Errorf("eventlog: %s=%d is invalid: must be positive", varFilesize, maxSize)
	}
	base := filename
	if !filepath.IsAbs(base) {
		base = filepath.Join(datadir, filename)
	}
	l.maxSize = maxSize
	if base == l.base && format == l.format && l.f != nil {
		return nil
	}
	l.filename, l.base, l.format = filename, base, format
	cerr := l.closeLocked()
	if err := l.openLocked(); err != nil {
		return err
	}
	return cerr
}

// Enabled reports whether an events log file is open. It is cheap enough to
// call before building every Event.
func (l *Log) Enabled() bool { return l.enabled.Load() }

// Write appends e to the log as one write(2) and rotates when the file has
// grown past mysql-eventslog_filesize. It is safe for concurrent use, never
// panics and reports I/O errors through the slog.Logger once per state
// change instead of to the caller. Events of types other than ComQuery,
// StmtExecute and StmtPrepare are ignored, as ProxySQL does.
func (l *Log) Write(e *Event) {
	if e == nil || !l.enabled.Load() {
		return
	}
	switch e.Type {
	case ComQuery, StmtExecute, StmtPrepare:
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return
	}
	if l.format == 2 {
		l.buf = appendFormat2(l.buf[:0], e)
	} else {
		l.buf = appendFormat1(l.buf[:0], e)
	}
	n, err := l.f.Write(l.buf)
	if cap(l.buf) > maxKeptBuf {
		l.buf = nil
	}
	if err != nil {
		// Drop a partial record so the next one starts on a boundary
		// (the file is O_APPEND, so writes follow the new end).
		if n > 0 && l.f.Truncate(l.size) != nil {
			l.size += int64(n)
		}
		if !l.errShown {
			l.errShown = true
			l.log.Error("cannot write to mysql event log; events are being dropped",
				"file", l.path, "error", err)
		}
		return
	}
	l.size += int64(n)
	if l.errShown {
		l.errShown = false
		l.log.Info("mysql event log writable again", "file", l.path)
	}
	if l.size > l.maxSize {
		if err := l.rotateLocked(); err != nil {
			l.log.Error("cannot rotate mysql event log; event logging stopped", "error", err)
		}
	}
}

// Rotate closes the current file and opens the next one (PROXYSQL FLUSH
// LOGS). It does nothing when the log is disabled.
func (l *Log) Rotate() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.base == "" {
		return nil
	}
	return l.rotateLocked()
}

// Close closes the current file and disables the log until the next
// Configure with a non-empty filename.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.filename, l.base = "", ""
	return l.closeLocked()
}

func (l *Log) rotateLocked() error {
	cerr := l.closeLocked()
	if err := l.openLocked(); err != nil {
		return err
	}
	return cerr
}

// closeLocked closes the current file. enabled is only cleared here and by a
// failed open, never in between a close and a successful reopen, so writers
// racing with a rotation wait on the mutex instead of dropping their event.
func (l *Log) closeLocked() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f, l.size = nil, 0
	if l.base == "" {
		l.enabled.Store(false)
	}
	if err != nil {
		return fmt.Errorf("eventlog: closing %s (%s): %w", l.path, varFilename, err)
	}
	return nil
}

// openLocked opens <base>.<n> where n is one more than the highest existing
// sequence number, as events_open_log_unlocked/events_find_next_id do. The
// file is created exclusively, so an existing log is never truncated.
func (l *Log) openLocked() error {
	dir, name := filepath.Split(l.base)
	if dir == "" {
		dir = "."
	}
	id, err := nextID(dir, name)
	if err != nil {
		l.enabled.Store(false)
		l.errShown = false
		return fmt.Errorf("eventlog: %s=%q: cannot list directory %s for %s.%0*d: %w",
			varFilename, l.filename, dir, l.base, seqDigits, 1, unwrapPath(err))
	}
	for tries := 0; ; tries++ {
		path := fmt.Sprintf("%s.%0*d", l.base, seqDigits, id)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
		if errors.Is(err, fs.ErrExist) && tries < 1000 {
			id++ // created behind our back; never clobber it
			continue
		}
		if err != nil {
			l.enabled.Store(false)
			l.errShown = false
			return fmt.Errorf("eventlog: %s=%q: cannot create event log file %s: %w",
				varFilename, l.filename, path, unwrapPath(err))
		}
		l.f, l.path, l.size, l.errShown = f, path, 0, false
		l.enabled.Store(true)
		l.log.Info("Starting new mysql event log file", "file", path)
		return nil
	}
}

// unwrapPath strips the *fs.PathError wrapper, whose path is already part of
// our message.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// nextID returns max+1 over the files in dir named name + "." + 8 characters,
// taking atoi() of the suffix like events_find_next_id; 1 when there are none.
func nextID(dir, name string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	maxID := 0
	for _, ent := range entries {
		n := ent.Name()
		if len(n) != len(name)+1+seqDigits || n[:len(name)] != name || n[len(name)] != '.' {
			continue
		}
		if id := atoi(n[len(name)+1:]); id > maxID {
			maxID = id
		}
	}
	return maxID + 1, nil
}

// atoi parses the leading decimal digits of s (0 if none), like C's atoi for
// the names events_find_next_id looks at.
func atoi(s string) int {
	v := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + int(s[i]-'0')
	}
	return v
}
