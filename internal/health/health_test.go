package health

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMain lets the test binary play the guardian process, so the tests
// run the real fork, pipe and kill, not a fake.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == GuardianCommand {
		in, err := GuardianPipe()
		if err != nil {
			os.Exit(2)
		}
		if err := RunGuardian(os.Args[3], in, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestWriteReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "health")
	for _, want := range []bool{true, false, true} {
		if err := WriteFile(p, want); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(p)
		if err != nil || got != want {
			t.Fatalf("ReadFile = %v, %v; want %v", got, err, want)
		}
	}
	if _, err := os.Stat(p + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}

func TestCheckPath(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o644)
	for _, tc := range []struct {
		path, err string
	}{
		{"", ""},
		{filepath.Join(dir, "health"), ""},
		{"health", "absolute path"},
		{filepath.Join(dir, "missing", "health"), "no such file"},
		{filepath.Join(f, "health"), "not a directory"},
	} {
		err := CheckPath(tc.path)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("CheckPath(%q) = %v; want error containing %q", tc.path, err, tc.err)
		}
	}
}

// TestReporterUnwritableFile: a file that cannot be written fails the
// start with the reason, instead of a guardian that logs forever.
func TestReporterUnwritableFile(t *testing.T) {
	exe, _ := os.Executable()
	_, err := StartReporter("/proc/sqlgate-health-test", exe, func() (bool, string) { return true, "" }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "/proc/sqlgate-health-test") {
		t.Fatalf("StartReporter on /proc: %v, want an error naming the file", err)
	}
}

// waitFile waits until the status file says want.
func waitFile(t *testing.T, p string, want bool, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if got, err := ReadFile(p); err == nil && got == want {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, err := ReadFile(p)
	t.Fatalf("status file: want healthy=%v within %v, have %v (%v)", want, within, got, err)
	return 0
}

// TestReporter runs the reporter with the test binary as its guardian:
// the file follows the check, Close leaves a fault, and a killed guardian
// is restarted.
func TestReporter(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "health")
	var ok atomic.Bool
	ok.Store(true)
	r, err := StartReporter(p, exe, func() (bool, string) { return ok.Load(), "test says no" }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	waitFile(t, p, true, 2*time.Second)
	ok.Store(false)
	waitFile(t, p, false, 2*Heartbeat+100*time.Millisecond)
	ok.Store(true)
	waitFile(t, p, true, 2*Heartbeat+100*time.Millisecond)

	// A dead guardian: the reporter notices at the next beat and starts
	// a new one (after at most a second), which keeps the file true.
	r.mu.Lock()
	old := r.exited
	r.mu.Unlock()
	out, _ := exec.Command("pkill", "-KILL", "-f", GuardianCommand+" -file "+p).CombinedOutput()
	select {
	case <-old:
	case <-time.After(2 * time.Second):
		t.Fatalf("guardian not killed: %s", out)
	}
	ok.Store(false)
	waitFile(t, p, false, 2*time.Second)
	ok.Store(true)
	waitFile(t, p, true, 3*time.Second)
	r.mu.Lock()
	restarted := r.exited != old && r.w != nil
	r.mu.Unlock()
	if !restarted {
		t.Fatal("guardian was not restarted")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := ReadFile(p); got {
		t.Fatal("status file says healthy after Close")
	}
}

// TestGuardianReportsDeathAndHang runs a guardian whose sqlgate is this
// test: silence for HangAfter is a fault, a beat is healthy again, and a
// closed pipe (what the kernel does when sqlgate dies, even by SIGKILL) is
// a fault written within milliseconds, after which the guardian exits.
func TestGuardianReportsDeathAndHang(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "health")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, GuardianCommand, "-file", p)
	cmd.ExtraFiles = []*os.File{pr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	waitFile(t, p, false, 2*time.Second)
	pw.Write([]byte("0"))
	waitFile(t, p, true, time.Second)
	took := waitFile(t, p, false, HangAfter+500*time.Millisecond)
	if took < HangAfter-150*time.Millisecond {
		t.Fatalf("fault after %v of silence; want about %v", took, HangAfter)
	}
	pw.Write([]byte("0"))
	waitFile(t, p, true, time.Second)
	pw.Close()
	waitFile(t, p, false, time.Second)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("guardian exit: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("guardian still running after its sqlgate went away")
	}
}
