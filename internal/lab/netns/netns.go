// Package netns runs things in Linux network namespaces for the lab: it
// checks that namespaces work, runs ip(8) and commands inside them, and
// dials sockets from inside one (DialerIn) without a child process.
package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// netnsDir is where `ip netns` keeps the named namespaces (bind mounts of
// /proc/PID/ns/net).
const netnsDir = "/var/run/netns"

// Exists reports whether `ip netns` knows a namespace called name.
func Exists(name string) bool {
	_, err := os.Stat(filepath.Join(netnsDir, name))
	return err == nil
}

// IP runs `ip ARGS...` and returns its error with ip's own message,
// which names what was wrong.
func IP(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Exec runs a command inside namespace ns.
func Exec(ctx context.Context, ns string, args ...string) error {
	return IP(ctx, append([]string{"netns", "exec", ns}, args...)...)
}

// Usable reports why this process cannot build the lab in network
// namespaces, or nil when it can: root, iproute2, and a kernel that lets
// it create one (tried on a throw-away thread, so no name is created).
func Usable() error {
	if os.Geteuid() != 0 {
		return errors.New("not running as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("`ip` (iproute2) is not installed")
	}
	errc := make(chan error, 1)
	go func() {
		// The thread ends up in a new namespace: never unlock it, so it
		// exits with this goroutine instead of running others.
		runtime.LockOSThread()
		errc <- syscall.Unshare(syscall.CLONE_NEWNET)
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("the kernel refuses a new network namespace: %v", err)
	}
	return nil
}

// sysSetns is the number of setns(2), which package syscall predates;
// golang.org/x/sys is not a direct dependency for one constant.
var sysSetns = map[string]uintptr{"amd64": 308, "arm64": 268, "riscv64": 268, "386": 346, "arm": 375, "ppc64le": 350, "s390x": 339}[runtime.GOARCH]

// setns moves the calling thread into the network namespace open as f.
func setns(f *os.File) error {
	if sysSetns == 0 {
		return fmt.Errorf("setns: system call number unknown on %s", runtime.GOARCH)
	}
	if _, _, e := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0); e != 0 {
		return e
	}
	return nil
}

// DialFunc dials like net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// DialerIn returns a dial function whose sockets live in the network
// namespace ns (a name from `ip netns`); "" dials from the namespace of
// this process. Connections work from any goroutine afterwards: a socket
// keeps the namespace it was created in.
//
// A namespace belongs to a thread, not to a process, so each dial runs on
// a goroutine locked to its own OS thread, which enters ns, creates and
// connects the socket, and returns to the namespace it came from. If it
// cannot return, the thread is never unlocked, so the Go runtime ends it
// rather than letting other goroutines run in the wrong namespace.
func DialerIn(ns string) DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if ns == "" {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread()
			c, back, err := dialLocked(ctx, ns, network, addr)
			if back {
				runtime.UnlockOSThread()
			}
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// dialLocked runs on a locked thread; back reports whether the thread is
// in its original namespace again.
func dialLocked(ctx context.Context, ns, network, addr string) (c net.Conn, back bool, err error) {
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
	if err != nil {
		return nil, true, fmt.Errorf("netns: opening this thread's namespace: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join(netnsDir, ns))
	if err != nil {
		return nil, true, fmt.Errorf("netns %s: %w (is the lab up?)", ns, err)
	}
	defer target.Close()
	if err := setns(target); err != nil {
		return nil, true, fmt.Errorf("netns %s: entering: %w", ns, err)
	}
	var d net.Dialer
	c, err = d.DialContext(ctx, network, addr)
	if rerr := setns(orig); rerr != nil {
		if c != nil {
			c.Close()
		}
		return nil, false, fmt.Errorf("netns %s: returning to the original namespace: %w", ns, rerr)
	}
	return c, true, err
}

// Inode returns the inode of a named namespace, which identifies it in
// /proc/PID/ns/net.
func Inode(ns string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(netnsDir, ns), &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
