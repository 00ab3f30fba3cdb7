package health

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Heartbeat is how often sqlgate tells its guardian how it is; the
// status file is rewritten on every beat, so its mtime shows it is fresh.
// HangAfter is how long the guardian waits for a beat before it writes a
// fault: five beats, far above any GC pause, far below keepalived's
// fastest script check (1 s).
const (
	Heartbeat = 100 * time.Millisecond
	HangAfter = 500 * time.Millisecond
)

// GuardianCommand is the hidden subcommand of the sqlgate binary that runs
// the guardian (RunGuardian); sqlgate starts it with the pipe as fd 3.
const GuardianCommand = "health-guardian"

// Check reports whether the node should hold the VIP, and why not.
type Check func() (ok bool, reason string)

// Reporter runs in sqlgate: it evaluates a Check every Heartbeat and sends
// the result to its guardian process, restarting the guardian if it dies.
type Reporter struct {
	path  string
	exe   string
	check Check
	log   *slog.Logger

	mu       sync.Mutex
	w        *os.File      // our end of the pipe; nil while no guardian runs
	exited   chan struct{} // closed when the current guardian exits
	lastOK   bool
	lastWhy  string
	restarts time.Time // last guardian start, to rate-limit restarts

	stop chan struct{}
	done chan struct{}
}

// StartReporter starts the guardian (the sqlgate binary exe with
// GuardianCommand) for the status file at path, then heart-beats to it.
// The file says fault until the first healthy beat.
func StartReporter(path, exe string, check Check, log *slog.Logger) (*Reporter, error) {
	if err := CheckPath(path); err != nil {
		return nil, err
	}
	// Fail now, with the reason, if the file cannot be written: a
	// guardian that cannot write it would only log that every second.
	if err := WriteFile(path, false); err != nil {
		return nil, fmt.Errorf("-health-file %q: %w", path, err)
	}
	r := &Reporter{path: path, exe: exe, check: check, log: log, stop: make(chan struct{}), done: make(chan struct{}), lastWhy: "starting"}
	if err := r.startGuardian(); err != nil {
		return nil, err
	}
	go r.run()
	return r, nil
}

func (r *Reporter) startGuardian() error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("health guardian: %w", err)
	}
	cmd := exec.Command(r.exe, GuardianCommand, "-file", r.path)
	cmd.ExtraFiles = []*os.File{pr}
	cmd.Stderr = os.Stderr
	// Its own process group: a Ctrl-C meant for sqlgate must not take the
	// guardian down before it has written the fault.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("health guardian: starting %s: %w", r.exe, err)
	}
	pr.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	r.mu.Lock()
	r.w, r.exited, r.restarts = pw, exited, time.Now()
	r.mu.Unlock()
	return nil
}

func (r *Reporter) run() {
	defer close(r.done)
	t := time.NewTicker(Heartbeat)
	defer t.Stop()
	for {
		r.beat()
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
	}
}

// beat evaluates the check, logs a change and sends it to the guardian.
func (r *Reporter) beat() {
	ok, why := r.check()
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok != r.lastOK || (!ok && why != r.lastWhy) {
		if ok {
			r.log.Info("health: serving; the status file says 0", "file", r.path)
		} else {
			r.log.Warn("health: not serving; the status file says 1", "file", r.path, "reason", why)
		}
		r.lastOK, r.lastWhy = ok, why
	}
	r.sendLocked(ok)
}

func (r *Reporter) sendLocked(ok bool) {
	if r.w == nil {
		if time.Since(r.restarts) < time.Second {
			return
		}
		r.mu.Unlock()
		err := r.startGuardian()
		r.mu.Lock()
		if err != nil {
			r.restarts = time.Now()
			r.log.Error("health: cannot restart the guardian; writing the status file directly", "err", err)
			WriteFile(r.path, ok)
			return
		}
		r.log.Warn("health: guardian restarted")
	}
	b := []byte{'1'}
	if ok {
		b[0] = '0'
	}
	r.w.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := r.w.Write(b); err != nil {
		r.log.Warn("health: the guardian is gone; restarting it", "err", err)
		r.w.Close()
		r.w = nil
		// Until a guardian runs again, keep the file true ourselves.
		WriteFile(r.path, ok)
	}
}

// Close reports a fault, stops the guardian and leaves the status file at
// 1: a stopped node must not hold the VIP.
func (r *Reporter) Close() error {
	select {
	case <-r.stop:
		return nil
	default:
	}
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w != nil {
		r.sendLocked(false)
	}
	if r.w != nil {
		r.w.Close()
		r.w = nil
		select {
		case <-r.exited:
		case <-time.After(time.Second):
			r.log.Warn("health: the guardian did not exit in 1s")
		}
	}
	return WriteFile(r.path, false)
}

// RunGuardian is the guardian process: it writes what sqlgate reports on
// in to the status file at path, and a fault when sqlgate stops
// reporting for HangAfter or its end of the pipe closes (sqlgate exited
// or was killed; the kernel closes the pipe either way). It returns when
// sqlgate is gone. Only one guardian writes a file at a time: a new one
// waits for the lock of the old one, which exits as soon as its sqlgate is
// gone.
func RunGuardian(path string, in *os.File, log *slog.Logger) error {
	// Stopping is sqlgate's business: a signal sent to every process (a
	// service manager stopping a group) must not end the guardian before
	// it writes the fault.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	unlock, err := lockFile(path+".lock", 3*time.Second)
	if err != nil {
		return err
	}
	defer unlock()
	if err := WriteFile(path, false); err != nil {
		return err
	}
	healthy, hung := false, false
	buf := make([]byte, 64)
	for {
		in.SetReadDeadline(time.Now().Add(HangAfter))
		n, err := in.Read(buf)
		if n > 0 {
			healthy, hung = buf[n-1] == '0', false
			if err := WriteFile(path, healthy); err != nil {
				log.Error("health guardian: cannot write the status file", "err", err)
			}
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if !hung {
				log.Error("health guardian: sqlgate sent no heartbeat; reporting a fault", "for", HangAfter, "file", path)
			}
			healthy, hung = false, true
			WriteFile(path, false)
			continue
		}
		if err := WriteFile(path, false); err != nil {
			return err
		}
		if err != io.EOF {
			return fmt.Errorf("health guardian: reading the heartbeat: %w", err)
		}
		if healthy {
			log.Error("health guardian: sqlgate exited without stopping cleanly; reported a fault", "file", path)
		}
		return nil
	}
}

// lockFile takes an exclusive flock on path, waiting at most wait.
func lockFile(path string, wait time.Duration) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("health guardian: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("health guardian: another guardian holds %s: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// GuardianPipe returns the pipe sqlgate passed to its guardian as fd 3, in
// non-blocking mode so reads can time out.
func GuardianPipe() (*os.File, error) {
	if err := syscall.SetNonblock(3, true); err != nil {
		return nil, fmt.Errorf("health guardian: fd 3 is not the heartbeat pipe (this subcommand is started by sqlgate -health-file): %w", err)
	}
	return os.NewFile(3, "heartbeat"), nil
}
