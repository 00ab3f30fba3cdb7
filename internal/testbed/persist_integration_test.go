package testbed

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"sqlgate/internal/proc"
)

// A bed taken over with Open (as the lab's later commands do) controls the
// nodes another Bed started, by PID: it kills the primary, promotes the
// most advanced replica, brings the old primary back as a replica, and
// rebuilds a node that has diverged.
func TestOpenFailoverRejoinRebuild(t *testing.T) {
	dir, err := os.MkdirTemp("", "tbo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	first := ForTest(t, Options{Replicas: 2, Dir: dir, SemiSync: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := first.Exec(ctx, first.Primary, "CREATE TABLE test.r (id INT PRIMARY KEY); INSERT INTO test.r VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	if b.Primary.Name != first.Primary.Name || len(b.Replicas) != 2 {
		t.Fatalf("opened bed: primary %s, %d replicas; want %s and 2", b.Primary.Name, len(b.Replicas), first.Primary.Name)
	}
	for i, n := range b.Nodes {
		if got, want := n.PID(), first.Nodes[i].PID(); got != want || got == 0 {
			t.Fatalf("%s: pid %d from its pid file, want %d", n.Name, got, want)
		}
	}

	old := b.Primary
	oldPID := old.PID()
	if err := b.KillNode(old); err != nil {
		t.Fatal(err)
	}
	if proc.Alive(oldPID) {
		t.Fatalf("killed primary pid %d is still alive", oldPID)
	}
	np, err := b.Failover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Exec(ctx, np, "INSERT INTO test.r VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir)
	if err != nil || again.Primary.Name != np.Name {
		t.Fatalf("after the failover the layout names primary %v (err %v), want %s", again.Primary.Name, err, np.Name)
	}
	start := time.Now()
	if err := b.Rejoin(ctx, old, 20*time.Second); err != nil {
		t.Fatalf("rejoin of the old primary: %v", err)
	}
	t.Logf("old primary rejoined in %v", time.Since(start))
	if got, _ := queryString(ctx, old, "SELECT COUNT(*) FROM test.r"); got != "2" {
		t.Fatalf("rejoined node has %s rows, want 2", got)
	}

	// A write that bypasses replication makes a node diverge.
	r := b.Replicas[0]
	if err := b.Exec(ctx, r, "STOP SLAVE; SET GLOBAL read_only=0; INSERT INTO test.r VALUES (99); SET GLOBAL read_only=1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Exec(ctx, np, "INSERT INTO test.r VALUES (3)"); err != nil {
		t.Fatal(err)
	}
	if err := b.Rejoin(ctx, r, 10*time.Second); !errors.Is(err, ErrDiverged) {
		t.Fatalf("rejoin of a diverged node: %v, want ErrDiverged", err)
	}
	start = time.Now()
	if err := b.Rebuild(ctx, r); err != nil {
		t.Fatal(err)
	}
	t.Logf("diverged node rebuilt in %v", time.Since(start))
	if err := b.Exec(ctx, np, "INSERT INTO test.r VALUES (4)"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitSync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range b.Replicas {
		if got, _ := queryString(ctx, n, "SELECT GROUP_CONCAT(id ORDER BY id) FROM test.r"); got != "1,2,3,4" {
			t.Errorf("%s has rows %q, want 1,2,3,4", n.Name, got)
		}
		if ro, _ := queryString(ctx, n, "SELECT @@global.read_only"); ro != "1" {
			t.Errorf("%s: read_only=%s, want 1", n.Name, ro)
		}
	}
	// The app user came with the dump.
	if err := b.Exec(ctx, r, "SELECT 1 FROM mysql.user WHERE user='app'"); err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, n := range b.Nodes {
		if pid := n.PID(); pid != 0 {
			t.Errorf("%s: pid %d alive after Stop", n.Name, pid)
		}
	}
}
