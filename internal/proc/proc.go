// Package proc tracks processes that the test bed and the lab start and
// that outlive the command that started them: known by a PID file, and
// signalled only while /proc shows that the PID still runs their
// configuration, so a PID the kernel has reused is never hit.
package proc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Alive reports whether pid runs. A zombie counts as dead: it has exited
// and only waits for its parent to collect it (an orphan's parent is the
// init process, which on some machines reaps slowly).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses, which may itself
	// contain ") ".
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return false
	}
	st := data[i+2]
	return st != 'Z' && st != 'X'
}

// Cmdline returns pid's command-line arguments.
func Cmdline(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

// HasArg reports whether one of pid's arguments is arg.
func HasArg(pid int, arg string) bool {
	for _, a := range Cmdline(pid) {
		if a == arg {
			return true
		}
	}
	return false
}

// PIDFile is a process started detached: the PID recorded in File, valid
// only while that process is alive and has Mark among its arguments (the
// path of its own configuration file), so that a PID the kernel has given
// to another process since is never taken for ours.
type PIDFile struct {
	File string
	Mark string
}

// pid returns the live PID, or 0.
func (p PIDFile) PID() int {
	data, err := os.ReadFile(p.File)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || !Alive(pid) || !HasArg(pid, p.Mark) {
		return 0
	}
	return pid
}

// Stop sends sig and waits up to wait for the process to go, then sends
// SIGKILL and waits again. It is a no-op when the process is not running.
func (p PIDFile) Stop(name string, sig syscall.Signal, wait time.Duration) error {
	pid := p.PID()
	if pid == 0 {
		return nil
	}
	syscall.Kill(pid, sig)
	if WaitGone(pid, wait) {
		return nil
	}
	if p.PID() == pid {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if WaitGone(pid, 10*time.Second) {
		return nil
	}
	return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", name, pid)
}

// WaitGone waits up to d for pid to exit.
func WaitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for Alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// StartDetached starts args in a session of its own with its output
// appended to logPath, so that it outlives the command that started it
// (sqlgate-lab up returns, the lab keeps running) and no signal meant for
// the terminal reaches it. If pidPath is not empty the PID is written
// there. The child is reaped by a goroutine for as long as this process
// lives (a test that kills proxies twenty times leaves no zombies).
func StartDetached(args []string, logPath, pidPath string) (int, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return 0, fmt.Errorf("starting %s: %w", strings.Join(args, " "), err)
	}
	logf.Close()
	go cmd.Wait()
	pid := cmd.Process.Pid
	if pidPath != "" {
		if err := os.WriteFile(pidPath, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
			cmd.Process.Kill()
			return 0, fmt.Errorf("recording pid %d in %s: %w", pid, pidPath, err)
		}
	}
	return pid, nil
}

// TailFile returns the last n lines of a log, for error messages.
func TailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Stray lists the processes that run one of the lab's programs
// (sqlgate, keepalived, mariadbd) with an argument inside dir: what is
// left of the lab when a PID file was lost, such as sqlgate's health
// guardian, which sqlgate starts itself.
func Stray(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || !Alive(pid) {
			continue
		}
		args := Cmdline(pid)
		if len(args) == 0 {
			continue
		}
		switch filepath.Base(args[0]) {
		case "sqlgate", "keepalived", "mariadbd":
		default:
			continue
		}
		for _, a := range args[1:] {
			if i := strings.Index(a, dir+"/"); i >= 0 && (i == 0 || a[i-1] == '=') {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// InNamespace lists live processes whose network namespace has inode ino.
func InNamespace(ino uint64) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !Alive(pid) {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name()+"/ns/net", &st) == nil && st.Ino == ino {
			pids = append(pids, pid)
		}
	}
	return pids
}
