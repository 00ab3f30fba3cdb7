package logfile

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestHandlerLines(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(&buf, slog.LevelInfo))
	admin := log.With(ModuleKey, "admin")
	cases := []struct {
		do   func()
		want string // after the timestamp
	}{
		{func() { admin.Info("configuration loaded to runtime", "module", "MYSQL USERS") },
			// Only the logger's module is the line's module: the admin
			// also logs LOAD's module under that key, as an attribute.
			`[INFO] admin: configuration loaded to runtime module="MYSQL USERS"`},
		{func() { admin.Warn("login refused", "client", "10.0.0.1:5000", "err", errors.New("bad password")) },
			`[WARNING] admin: login refused client=10.0.0.1:5000 err="bad password"`},
		{func() { log.Error("cannot bind", "port", 6033, "empty", "") }, `[ERROR] cannot bind port=6033 empty=""`},
		{func() { log.Debug("hidden") }, ""},
		{func() { log.WithGroup("peer").Info("up", "host", "a", "port", 1) }, `[INFO] up peer.host=a peer.port=1`},
		{func() { admin.With("node", "core1").Info("two\nlines") }, `[INFO] admin: two\nlines node=core1`},
	}
	stamp := regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} `)
	for i, c := range cases {
		buf.Reset()
		c.do()
		line := buf.String()
		if c.want == "" {
			if line != "" {
				t.Errorf("case %d: got %q, want nothing (below the level)", i, line)
			}
			continue
		}
		if !stamp.MatchString(line) || !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
			t.Errorf("case %d: %q is not one line starting with a timestamp", i, line)
			continue
		}
		if got := strings.TrimSuffix(stamp.ReplaceAllString(line, ""), "\n"); got != c.want {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, c.want)
		}
	}
}

func TestReopenAfterRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "proxysql.log")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	log := slog.New(NewHandler(f, slog.LevelInfo))
	log.Info("before")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	log.Info("still into the moved file")
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	log.Info("after")
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if !strings.Contains(string(old), "before") || !strings.Contains(string(old), "still into the moved file") || strings.Contains(string(old), "after") {
		t.Errorf("rotated file:\n%s", old)
	}
	if !strings.Contains(string(cur), "after") || strings.Contains(string(cur), "before") {
		t.Errorf("new file:\n%s", cur)
	}
	// A path that cannot be opened keeps the old file and says why.
	os.Remove(path)
	os.Mkdir(path, 0o755) // a directory where the file was
	if err := f.Reopen(); err == nil || !strings.Contains(err.Error(), "errorlog") {
		t.Errorf("Reopen onto a directory: %v, want an error naming errorlog", err)
	}
	log.Info("kept")
	if _, err := f.Write([]byte(time.Now().String())); err != nil {
		t.Errorf("write after a failed reopen: %v", err)
	}
}
