// Package logfile is sqlgate's process log written as ProxySQL writes its
// own: one line per event,
//
//	2026-12-03 15:56:14 [INFO] admin: configuration loaded to runtime module="MYSQL USERS"
//
// with the time to the second, the level in brackets (ProxySQL's names:
// INFO, WARNING, ERROR), the module that logged it, the message and its
// attributes. Tools that watch ProxySQL's log for "[ERROR]" work unchanged.
//
// The destination is stderr in the foreground (-f) and otherwise a file
// (errorlog in proxysql.cnf, by default DATADIR/proxysql.log), which
// logrotate may move away: Reopen, run on PROXYSQL FLUSH LOGS and SIGHUP,
// starts a new file at the same path.
package logfile

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// File is a log file that can be reopened at its path. Writes and Reopen
// are safe to call from several goroutines.
type File struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// Open opens path for appending, creating it (mode 0640) if needed.
func Open(path string) (*File, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &File{path: path, f: f}, nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log file: %w; set errorlog in the config file to a writable path, or run with -f to log to stderr", err)
	}
	return f, nil
}

// Path is the file's path.
func (l *File) Path() string { return l.path }

// Write appends p to the file.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// Reopen closes the file and opens its path again, so that a file moved
// away by logrotate stops growing and a new one starts. If the path cannot
// be opened the old file is kept and the error returned.
func (l *File) Reopen() error {
	f, err := openAppend(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	return old.Close()
}

// Close closes the file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// ModuleKey is the attribute that names the logging module when a logger
// is derived with it (log.With(ModuleKey, "admin")): it is printed before
// the message. On a single record it is an attribute like any other.
const ModuleKey = "module"

// Handler is a slog.Handler writing ProxySQL-style lines.
type Handler struct {
	w      io.Writer
	mu     *sync.Mutex // one line at a time, shared by the handlers derived from one
	level  slog.Leveler
	module string
	pre    string // attributes added with WithAttrs, formatted
	group  string // the WithGroup prefix for keys, "a.b."
}

// NewHandler returns a handler writing to w the records at level and
// above.
func NewHandler(w io.Writer, level slog.Leveler) *Handler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &Handler{w: w, mu: &sync.Mutex{}, level: level}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// levelName is ProxySQL's spelling of the level.
func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// Handle implements slog.Handler.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b.WriteString(t.Format("2006-01-02 15:04:05"))
	b.WriteString(" [")
	b.WriteString(levelName(r.Level))
	b.WriteString("] ")
	if h.module != "" {
		b.WriteString(h.module)
		b.WriteString(": ")
	}
	b.WriteString(oneLine(r.Message))
	b.WriteString(h.pre)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.group, a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	var b strings.Builder
	b.WriteString(h.pre)
	for _, a := range as {
		if a.Key == ModuleKey && h.group == "" {
			n.module = a.Value.String()
			continue
		}
		appendAttr(&b, h.group, a)
	}
	n.pre = b.String()
	return &n
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.group = h.group + name + "."
	return &n
}

// appendAttr writes " key=value", groups as dotted keys, values quoted
// when they hold spaces, quotes, '=' or nothing.
func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			appendAttr(b, p, g)
		}
		return
	}
	if a.Equal(slog.Attr{}) {
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix)
	b.WriteString(a.Key)
	b.WriteByte('=')
	s := v.String()
	if v.Kind() == slog.KindTime {
		s = v.Time().Format(time.RFC3339Nano)
	}
	if needsQuote(s) {
		s = strconv.Quote(s)
	}
	b.WriteString(s)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r == '"' || r == '=' || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// oneLine keeps a message on its line: a newline in it (an error text
// from a peer, say) would otherwise start what looks like a new entry.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}
