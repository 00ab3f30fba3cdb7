package wire

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// connPair returns both ends of a loopback TCP connection, or of a Unix
// socket connection.
func connPair(t *testing.T, unix bool) (client, server net.Conn) {
	t.Helper()
	network, addr := "tcp", "127.0.0.1:0"
	if unix {
		network, addr = "unix", filepath.Join(t.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	client, err = net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { client.Close(); r.c.Close() })
	return client, r.c
}

// TestFlushAwait: the request arrives whole, FlushAwait returns only once
// the reply is there, and the reply reads normally; a request bigger than
// the socket buffers, a peer that closes and a read deadline end it too.
func TestFlushAwait(t *testing.T) {
	for _, c := range []struct {
		name string
		size int  // request payload bytes
		full bool // the socket's send buffer is full before the request: the raw write gets EAGAIN
		// Unix sockets: a full send buffer stays full until the peer reads
		// (TCP's may open up a little, and the write would not fail).
		unix    bool
		reply   bool // the peer answers (else it closes, or stays silent with deadline)
		silent  bool
		wantErr error // from the ReadPacket after FlushAwait
	}{
		{name: "small request", size: 20, reply: true},
		{name: "socket buffer full", size: 20, full: true, unix: true, reply: true},
		{name: "unix socket", size: 20, unix: true, reply: true},
		{name: "request beyond the write buffer", size: 8 << 20, reply: true},
		{name: "peer closes", size: 20, wantErr: io.EOF},
		{name: "peer silent, read deadline", size: 20, silent: true, wantErr: os.ErrDeadlineExceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			cn, sn := connPair(t, c.unix)
			cc, sc := NewConn(cn), NewConn(sn)
			req := bytes.Repeat([]byte{'q'}, c.size)
			var replied atomic.Bool
			junk := 0
			if c.full {
				for _, chunk := range []int{64 << 10, 1 << 10, 1} { // until not even a byte fits
					cn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
					for {
						n, err := cn.Write(make([]byte, chunk))
						junk += n
						if err != nil {
							break
						}
					}
				}
				cn.SetWriteDeadline(time.Time{})
			}
			got := make(chan []byte, 1)
			go func() {
				time.Sleep(20 * time.Millisecond) // the client is waiting by now (or blocked in its write)
				if _, err := io.CopyN(io.Discard, sn, int64(junk)); err != nil {
					got <- nil
					return
				}
				p, err := sc.ReadPacket(0)
				if err != nil {
					got <- nil
					return
				}
				got <- bytes.Clone(p)
				switch {
				case c.silent:
				case c.reply:
					time.Sleep(20 * time.Millisecond)
					replied.Store(true)
					sc.WritePacket([]byte("reply"))
					sc.Flush()
				default:
					sn.Close()
				}
			}()
			cn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if c.silent {
				cn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			}
			if err := cc.WritePacket(req); err != nil {
				t.Fatal(err)
			}
			if err := cc.FlushAwait(); err != nil {
				t.Fatalf("FlushAwait: %v", err)
			}
			// A request larger than the write buffer goes out as it is
			// written, and FlushAwait has nothing left to send or wait for;
			// one that does not fit the socket's buffer is sent the ordinary
			// way, without the wait.
			if c.reply && c.size < BufferSize && !c.full && !replied.Load() {
				t.Fatal("FlushAwait returned before the reply was sent")
			}
			if p := <-got; !bytes.Equal(p, req) {
				t.Fatalf("the peer read %d bytes, want the %d sent", len(p), len(req))
			}
			p, err := cc.ReadPacket(0)
			switch {
			case c.wantErr != nil && !errors.Is(err, c.wantErr):
				t.Fatalf("read after FlushAwait: %v, want %v", err, c.wantErr)
			case c.wantErr == nil && (err != nil || string(p) != "reply"):
				t.Fatalf("read after FlushAwait: %q, %v", p, err)
			}
		})
	}
}

// TestFlushAwaitWithoutSocket: over a conn without a socket (net.Pipe, as
// TLS) FlushAwait is a plain Flush and does not wait for a reply.
func TestFlushAwaitWithoutSocket(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go io.Copy(io.Discard, b)
	c := NewConn(a)
	c.WritePacket([]byte("x"))
	done := make(chan error, 1)
	go func() { done <- c.FlushAwait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("FlushAwait waited for a reply on a conn without a socket")
	}
}

// TestReleaseReusesBuffers: a released connection's buffers serve the next
// one with nothing of the old connection left in them.
func TestReleaseReusesBuffers(t *testing.T) {
	cn, sn := connPair(t, false)
	c := NewConn(cn)
	c.WritePacket([]byte("left behind")) // buffered, never flushed
	c.Release()
	d := NewConn(sn)
	if n := d.bw.Buffered(); n != 0 {
		t.Fatalf("a new connection starts with %d buffered bytes", n)
	}
	go func() {
		w := NewConn(cn)
		w.WritePacket([]byte("fresh"))
		w.Flush()
	}()
	p, err := d.ReadPacket(0)
	if err != nil || string(p) != "fresh" {
		t.Fatalf("read %q, %v", p, err)
	}
}
