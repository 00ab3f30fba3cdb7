package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logLine is the shape of every line of the process log, as ProxySQL
// writes its own: "2026-12-03 15:56:14 [INFO] admin: message k=v".
var logLine = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \[(DEBUG|INFO|WARNING|ERROR)\] `)

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if len(b) == 0 {
			break
		}
		if !logLine.MatchString(l) {
			t.Fatalf("%s: line %q is not a ProxySQL-style log line", path, l)
		}
	}
	return string(b)
}

// waitLog waits until the file at path contains want.
func waitLog(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), want) {
			return readLog(t, path)
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(path)
			t.Fatalf("%s never contained %q:\n%s", path, want, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProcessLog(t *testing.T) {
	bin := buildBinary(t)
	p := newProxy(t, bin, "")
	defaultLog := filepath.Join(p.dir, "proxysql.log")

	// In the foreground (-f) the log is stderr, and no file is written.
	if !strings.Contains(p.logs.String(), "[INFO] admin: admin interface listening addr=127.0.0.1:") {
		t.Fatalf("stderr in the foreground:\n%s", p.logs)
	}
	if _, err := os.Stat(defaultLog); err == nil {
		t.Fatal("DATADIR/proxysql.log written in the foreground")
	}

	// Otherwise it goes to DATADIR/proxysql.log and stderr stays quiet.
	p.kill()
	p.startWith("-c", p.cnf, "-D", p.dir)
	got := waitLog(t, defaultLog, "sqlgate started")
	if !strings.Contains(got, "[INFO] admin: admin interface listening") {
		t.Fatalf("proxysql.log:\n%s", got)
	}
	if p.logs.Len() != 0 {
		t.Fatalf("stderr is not empty with a log file:\n%s", p.logs)
	}

	// logrotate moves the file; PROXYSQL FLUSH LOGS or SIGHUP starts a new
	// one, and the moved one stops growing.
	for i, r := range []struct {
		reopen func()
		marker string // what the new file starts with
	}{
		{func() { p.must("PROXYSQL FLUSH LOGS") }, ""},
		{func() { p.cmd.Process.Signal(syscall.SIGHUP) }, "SIGHUP: logs reopened"},
	} {
		rotated := defaultLog + "." + string(rune('1'+i))
		if err := os.Rename(defaultLog, rotated); err != nil {
			t.Fatal(err)
		}
		r.reopen()
		waitLog(t, defaultLog, r.marker)
		before := readLog(t, rotated)
		p.must("LOAD MYSQL QUERY RULES TO RUNTIME")
		cur := waitLog(t, defaultLog, `configuration loaded to runtime module="MYSQL QUERY RULES"`)
		if after := readLog(t, rotated); after != before {
			t.Fatalf("rotation %d: the moved file still grows:\n%s\nnew file:\n%s", i+1, after, cur)
		}
	}

	// errorlog in the config file names the file.
	p.kill()
	custom := filepath.Join(p.dir, "custom.log")
	cnf, _ := os.ReadFile(p.cnf)
	os.WriteFile(p.cnf, append([]byte("errorlog=\""+custom+"\"\n"), cnf...), 0o644)
	p.startWith("-c", p.cnf, "-D", p.dir)
	waitLog(t, custom, "sqlgate started")

	// A log file that cannot be opened stops the start with the reason.
	p.kill()
	os.WriteFile(p.cnf, append([]byte("errorlog=\"/nonexistent/dir/x.log\"\n"), cnf...), 0o644)
	out, err := exec.Command(bin, "-c", p.cnf, "-D", p.dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "/nonexistent/dir/x.log") || !strings.Contains(string(out), "errorlog") {
		t.Fatalf("unwritable errorlog: %v\n%s", err, out)
	}
}
