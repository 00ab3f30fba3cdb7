package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"sqlgate/internal/lab/netns"
	"sqlgate/internal/testbed"
)

// Usable reports why the full lab (network namespaces, keepalived, the
// VIP) cannot run on this machine, or nil when it can.
func Usable() error {
	if err := netns.Usable(); err != nil {
		return err
	}
	if _, err := exec.LookPath("keepalived"); err != nil {
		if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
			return fmt.Errorf("keepalived is not installed (apt-get install -y keepalived)")
		}
	}
	return testbed.Available()
}

var labs atomic.Int32

// ForTest brings a lab up for t in network namespaces and takes it down
// when the test ends. Without root, namespaces, keepalived or MariaDB the
// test is skipped (under CI=true as root it fails instead), and in -short
// mode it is skipped. Options.SqlgateBin is required; Dir and Prefix
// default to a new short temporary directory and a prefix unique to this
// process and call ("t<pid>x-"), so tests and test binaries run side by
// side.
func ForTest(t testing.TB, o Options) *Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("lab: skipped in -short mode (it starts MariaDB, three sqlgate and two keepalived)")
	}
	if err := Usable(); err != nil {
		if os.Getenv("CI") == "true" && os.Geteuid() == 0 {
			t.Fatalf("lab: %v", err)
		}
		t.Skipf("lab: needs root, network namespaces, keepalived and MariaDB: %v", err)
	}
	if o.Dir == "" {
		// Short: MariaDB's socket paths live below it.
		dir, err := os.MkdirTemp("", "sgl")
		if err != nil {
			t.Fatal(err)
		}
		o.Dir = dir
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	if o.Prefix == "" {
		o.Prefix = fmt.Sprintf("t%d%c-", os.Getpid()%100000, 'a'+rune(labs.Add(1)-1)%26)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := Up(ctx, o)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Down(); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return l
}
