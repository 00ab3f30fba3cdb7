package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sqlgate/internal/lab/load"
	"sqlgate/internal/lab/netns"
	"sqlgate/internal/proc"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// sqlgateBin builds sqlgate once per test run into a directory removed at
// the end of the run.
func sqlgateBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sglbin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "sqlgate")
		if out, err := exec.Command("go", "build", "-o", binPath, "sqlgate/cmd/sqlgate").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build sqlgate: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// TestLabUpDown brings the whole lab up in namespaces, checks the VIP, a
// login and a write through it from the client namespace, a short load, a
// failover of the VIP holder, a cut link and a graceful stop, then takes
// it down and checks that no process and no namespace of it is left.
func TestLabUpDown(t *testing.T) {
	if testing.Short() {
		t.Skip("lab: skipped in -short mode")
	}
	if err := Usable(); err != nil && (os.Getenv("CI") != "true" || os.Geteuid() != 0) {
		t.Skipf("lab: needs root, network namespaces, keepalived and MariaDB: %v", err)
	}
	bin := sqlgateBin(t)
	start := time.Now()
	l := ForTest(t, Options{SqlgateBin: bin})
	t.Logf("lab up in %v (prefix %s, dir %s)", time.Since(start).Round(time.Millisecond), l.Prefix(), l.Dir)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	if h, err := l.VIPHolder(); err != nil || h != CoreA {
		t.Fatalf("VIP holder %q (%v), want exactly core a", h, err)
	}
	if p := l.Status(ctx).Problems(); len(p) > 0 {
		t.Errorf("status problems after up: %v", p)
	}

	// Another up of the same directory says so; another lab with the same
	// prefix fails naming the namespace, before creating anything.
	if again, err := Up(ctx, Options{Dir: l.Dir, SqlgateBin: bin}); !errors.Is(err, ErrAlreadyUp) || again == nil {
		t.Errorf("second up of %s: %v, want ErrAlreadyUp", l.Dir, err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if _, err := Up(ctx, Options{Dir: other, Prefix: l.Prefix(), SqlgateBin: bin}); err == nil || !strings.Contains(err.Error(), l.Namespace("br")) || !strings.Contains(err.Error(), "-prefix") {
		t.Errorf("up with a taken prefix: %v, want an error naming %s and -prefix", err, l.Namespace("br"))
	}

	// Through the VIP from the client namespace: SELECT ... FOR UPDATE is
	// routed to the writer, the primary; a write lands there.
	app, err := l.DB("client", l.ClientAddr(), "app", "app")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	var port int
	if err := app.QueryRowContext(ctx, "SELECT @@port FOR UPDATE").Scan(&port); err != nil || port != l.Primary().Port {
		t.Errorf("writer through the VIP answers from port %d (%v), want the primary's %d", port, err, l.Primary().Port)
	}
	if _, err := app.ExecContext(ctx, "INSERT INTO lab.load (run, id, worker) VALUES (-1, 1, 0)"); err != nil {
		t.Fatal(err)
	}
	root, err := l.Bed().RootDB(l.Primary())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var n int
	if err := root.QueryRowContext(ctx, "SELECT COUNT(*) FROM lab.load WHERE run = -1").Scan(&n); err != nil || n != 1 {
		t.Errorf("the write through the VIP: %d rows on the primary (%v), want 1", n, err)
	}

	// The load client from the client namespace, then the crash of the
	// VIP holder.
	o := l.ClientLoad()
	o.Duration = time.Second
	ld, err := load.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	r := ld.Stop()
	if r.Writes == 0 || r.Reads == 0 || r.Failed() > 0 {
		t.Errorf("steady load: %d writes, %d reads, %d failed %v, want writes and reads and no failure", r.Writes, r.Reads, r.Failed(), r.TopErrors(3))
	}
	if m, err := r.Missing(ctx, root); err != nil || m != 0 {
		t.Errorf("steady load: %d acknowledged writes missing (%v)", m, err)
	}
	fr, err := l.Failover(ctx, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failover: VIP moved in %v, clients cut off %v, %d failed, %d missing, holders after %v",
		fr.VIPMoved.Round(time.Millisecond), fr.Downtime.Round(time.Millisecond), fr.Load.Failed(), fr.Missing, fr.HoldersAfter)
	if fr.Missing != 0 || len(fr.HoldersAfter) != 1 || fr.HoldersAfter[0] != CoreB {
		t.Errorf("failover: %d acknowledged writes missing, VIP holders after the return %v; want 0 and [b]", fr.Missing, fr.HoldersAfter)
	}

	// The other faults the API offers, under one load: b's link cut (the
	// VIP goes to a; b returns as BACKUP), then a stopped gracefully (the
	// VIP goes back to b; a returns as BACKUP).
	o.Duration = 30 * time.Second
	if ld, err = load.Start(ctx, o); err != nil {
		t.Fatal(err)
	}
	defer ld.Stop()
	time.Sleep(300 * time.Millisecond)
	if err := l.CutLink(CoreB); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	if _, err := l.WaitVIPHolder(CoreA, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := ld.WaitWritesAfter(cut, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := l.RestoreLink(CoreB); err != nil {
		t.Fatal(err)
	}
	waitState(t, l, CoreB, "BACKUP")
	stop := time.Now()
	if err := l.StopProxy(CoreA); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if _, err := l.WaitVIPHolder(CoreB, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := ld.WaitWritesAfter(stop, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := l.StartProxy(CoreA); err != nil {
		t.Fatal(err)
	}
	waitState(t, l, CoreA, "BACKUP")
	r = ld.Stop()
	t.Logf("link of b cut: clients cut off %v, %d failed; a stopped gracefully: cut off %v, %d failed",
		r.GapAround(cut).Round(time.Millisecond), r.FailedBetween(cut.Add(-time.Second), stop), r.GapAround(stopped).Round(time.Millisecond), r.FailedBetween(stop, time.Now()))
	if m, err := r.Missing(ctx, root); err != nil || m != 0 {
		t.Errorf("%d acknowledged writes missing after the cut and the stop (%v)", m, err)
	}
	if h, err := l.VIPHolders(); err != nil || len(h) != 1 || h[0] != CoreB {
		t.Errorf("VIP holders after both returned: %v (%v), want [b]", h, err)
	}

	// Down removes every process and namespace, and is idempotent.
	var pids []int
	for _, p := range Proxies {
		pids = append(pids, l.ProxyPID(p))
	}
	for _, p := range []string{CoreA, CoreB} {
		pids = append(pids, l.keepalivedPID(p).PID(), l.vrrpPID(p).PID())
	}
	for _, n := range l.Bed().Nodes {
		pids = append(pids, n.PID())
	}
	namespaces := append([]string(nil), l.st.Namespaces...)
	if len(namespaces) != 6 {
		t.Errorf("lab.json records namespaces %v, want 6", namespaces)
	}
	if err := l.Down(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if pid == 0 || proc.Alive(pid) {
			t.Errorf("pid %d: not recorded or alive after Down (%s)", pid, strings.Join(proc.Cmdline(pid), " "))
		}
	}
	for _, ns := range namespaces {
		if netns.Exists(ns) {
			t.Errorf("namespace %s exists after Down", ns)
		}
	}
	if stray := proc.Stray(l.Dir); len(stray) > 0 {
		t.Errorf("processes of the lab left after Down: %v", stray)
	}
	if _, err := os.Stat(l.Dir); !os.IsNotExist(err) {
		t.Errorf("lab directory %s still there after Down (%v)", l.Dir, err)
	}
	if err := l.Down(); err != nil {
		t.Errorf("second Down: %v", err)
	}
}

// TestLabLoopback runs the lab as it runs without root: on loopback, no
// keepalived or VIP; a promotion of a replica under load through core a
// loses no acknowledged write, and the old primary comes back as a
// replica.
func TestLabLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("lab: skipped in -short mode")
	}
	bin := sqlgateBin(t)
	dir, err := os.MkdirTemp("", "sgl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	l, err := Up(ctx, Options{Dir: dir, SqlgateBin: bin, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.Down(); err != nil {
			t.Error(err)
		}
	}()
	if l.NetNS() {
		t.Fatal("Options.Loopback: the lab runs in namespaces")
	}
	if _, err := l.VIPHolder(); err == nil {
		t.Error("VIPHolder on loopback: no error")
	}
	if _, err := l.Failover(ctx, testWriter{t}); err == nil || !strings.Contains(err.Error(), "root") {
		t.Errorf("Failover on loopback: %v, want an error saying it needs root", err)
	}
	if p := l.Status(ctx).Problems(); len(p) > 0 {
		t.Errorf("status problems after up: %v", p)
	}
	old := l.Primary()
	r, err := l.Promote(ctx, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("promote: first write after %v, clients cut off %v, %d failed, %d missing, old primary %s",
		r.FirstWrite.Round(time.Millisecond), r.Downtime.Round(time.Millisecond), r.Load.Failed(), r.Missing, r.Rejoin)
	if r.Missing != 0 {
		t.Errorf("%d acknowledged writes missing on the new primary", r.Missing)
	}
	if l.Primary() == old || r.New != l.Primary().Name {
		t.Errorf("primary after promote: %s, report says %s, old %s", l.Primary().Name, r.New, old.Name)
	}
	want := l.Primary().Addr()
	for _, p := range Proxies {
		if w := r.Writers[p]; len(w) != 1 || w[0] != want {
			t.Errorf("%s: writers %v, want [%s]", p, w, want)
		}
	}
	reopened, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if reopened.Primary().Name != l.Primary().Name {
		t.Errorf("Open after promote: primary %s, want %s", reopened.Primary().Name, l.Primary().Name)
	}
}

// waitState waits until a core's keepalived reports state.
func waitState(t *testing.T, l *Lab, node, state string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.VRRPState(node) != state {
		if time.Now().After(deadline) {
			t.Fatalf("keepalived %s is %q after 10s, want %s", node, l.VRRPState(node), state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testWriter sends a report's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
