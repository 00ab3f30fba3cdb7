package listener

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestQuiesceTakesQueuedConnections: a connection that completed its TCP
// handshake before the shutdown is handed out, not reset, and Serve then
// returns nil.
func TestQuiesceTakesQueuedConnections(t *testing.T) {
	got := make(chan net.Conn, 4)
	g := New(slog.New(slog.NewTextHandler(io.Discard, nil)), func(nc net.Conn) { got <- nc })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(ln) }()
	for !g.Listening() {
		time.Sleep(time.Millisecond)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closePorts := g.Quiesce()
	select {
	case nc := <-got:
		nc.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the connection made before the shutdown was not handed out")
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Quiesce: %v, want nil", err)
	}
	g.Wait()
	closePorts()
	if _, err := g.Pause(); err == nil {
		t.Fatal("a stopped group was paused")
	}
}

// TestPauseResume: PAUSE closes the listeners (Serve returns nil), RESUME
// listens again on the same interfaces, and each answers ProxySQL's error
// when repeated.
func TestPauseResume(t *testing.T) {
	g := New(slog.New(slog.NewTextHandler(io.Discard, nil)), func(nc net.Conn) { nc.Close() })
	if err := g.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	for !g.Listening() {
		time.Sleep(time.Millisecond)
	}
	if err := g.Resume(); err == nil {
		t.Fatal("RESUME while serving succeeded")
	}
	if n, err := g.Pause(); err != nil || n != 1 || !g.Paused() || g.Listening() {
		t.Fatalf("PAUSE: %d listeners closed, %v; paused %v", n, err, g.Paused())
	}
	if _, err := g.Pause(); err == nil {
		t.Fatal("a second PAUSE succeeded")
	}
	if err := g.Resume(); err != nil || g.Paused() {
		t.Fatalf("RESUME: %v", err)
	}
	for !g.Listening() {
		time.Sleep(time.Millisecond)
	}
	g.Quiesce()()
	g.Wait()
	select {
	case err := <-g.Failed():
		t.Fatalf("a listener failed: %v", err)
	default:
	}
}
