package frontend

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"

	"sqlgate/internal/backend"
	"sqlgate/internal/frontend/stmt"
	"sqlgate/internal/wire"
)

// seqPool hands out its connections in order.
type seqPool struct {
	conns    []*backend.Conn
	released []*backend.Conn
}

func (p *seqPool) Acquire(context.Context, int, *backend.Want) (*backend.Conn, error) {
	if len(p.conns) == 0 {
		return nil, errors.New("seqPool: no more connections")
	}
	c := p.conns[0]
	p.conns = p.conns[1:]
	return c, nil
}
func (p *seqPool) Release(c *backend.Conn, _ bool) { p.released = append(p.released, c) }
func (p *seqPool) Options() *backend.Options       { return &backend.Options{} }

// TestUnsentStatementIsRetried: a statement the backend connection would
// not take (the server closed it after the pool's liveness check) never
// ran, so even a BEGIN, which is not retried once sent, goes to a new
// connection instead of failing.
func TestUnsentStatementIsRetried(t *testing.T) {
	rt := testSnapshot(t)
	newConn := func(nc net.Conn) *backend.Conn {
		return &backend.Conn{Conn: wire.NewConn(nc), Server: &backend.Server{}, User: "app", Schema: "app",
			Autocommit: true, Vars: map[string]string{}}
	}
	dead, deadPeer := net.Pipe()
	deadPeer.Close() // writes to dead fail: io.ErrClosedPipe
	live, server := net.Pipe()
	defer live.Close()
	go func() { // the new connection answers the BEGIN with OK
		sc := wire.NewConn(server)
		if _, err := sc.ReadPacket(1 << 20); err != nil {
			return
		}
		sc.WritePacket(wire.AppendOK(nil, wire.OKHeader, wire.OK{Status: wire.StatusInTrans | wire.StatusAutocommit}))
		sc.Flush()
	}()
	pool := &seqPool{conns: []*backend.Conn{newConn(dead), newConn(live)}}
	s := testSession(rt)
	s.srv = &Server{pool: pool, cache: fakeCache{}, events: &fakeEvents{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cc := &clientConn{}
	s.c = wire.NewConn(cc)

	q := "BEGIN"
	info, _, _ := stmt.Classify(q, rt.Vars.KeepMultiplexingVariables)
	if info.RetrySafe() {
		t.Fatal("BEGIN is retry-safe: the test would not show anything")
	}
	if err := s.run(rt, 10, append([]byte{wire.ComQuery}, q...), wire.ReplyQuery, &info); err != nil {
		t.Fatalf("BEGIN after an unsent write: %v", err)
	}
	if len(pool.released) != 1 || pool.released[0].Conn.Conn != dead {
		t.Fatalf("released %d connections, want the dead one dropped", len(pool.released))
	}
}
