package wire

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// BufferSize is the size of the per-connection read and write buffers. Small
// packets (the common case) are served straight out of the read buffer.
const BufferSize = 16 * 1024

// ErrPacketTooLarge is returned by ReadPacket when a logical packet exceeds
// the caller's limit. The connection is no longer in sync and must be closed
// after the error has been reported to the peer.
var ErrPacketTooLarge = errors.New("wire: packet bigger than max_allowed_packet")

// Conn frames MySQL packets over a byte stream. It tracks the sequence id:
// every packet read sets the next expected id, every packet written uses it
// and increments it, as the protocol requires within one command exchange.
//
// Conn is not safe for concurrent use; one goroutine owns it.
type Conn struct {
	net.Conn
	br  *bufio.Reader
	bw  *bufio.Writer
	Seq uint8

	buf []byte // reused payload buffer for packets that do not fit br

	// rc is the socket of a plain TCP or Unix connection (nil over TLS or
	// for other conns), for FlushAwait; await tells sink.Write that the
	// flush in progress is FlushAwait's.
	rc    syscall.RawConn
	await bool
}

// The buffers of connections given back with Release. A client that
// connects, runs one statement and quits would otherwise cost 32 KiB of
// fresh, zeroed memory and the garbage collection of it.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, BufferSize) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, BufferSize) }}
)

// NewConn wraps c with buffered packet I/O.
func NewConn(c net.Conn) *Conn {
	wc := &Conn{Conn: c, br: readers.Get().(*bufio.Reader), bw: writers.Get().(*bufio.Writer)}
	wc.br.Reset(c)
	wc.bw.Reset(sink{wc})
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			wc.rc = rc
		}
	}
	return wc
}

// Release gives the connection's buffers back for reuse. It must be the
// last use of c, after the connection was closed, by the goroutine that
// owns it: nothing may read or write c afterwards.
func (c *Conn) Release() {
	if c.br != nil {
		c.br.Reset(nil)
		readers.Put(c.br)
	}
	if c.bw != nil {
		c.bw.Reset(nil)
		writers.Put(c.bw)
	}
	c.br, c.bw, c.buf = nil, nil, nil
}

// sink is what the write buffer flushes into: the connection, or during
// FlushAwait a write that also waits for the reply.
type sink struct{ c *Conn }

func (s sink) Write(p []byte) (int, error) {
	if s.c.await {
		s.c.await = false
		return s.c.writeAwait(p)
	}
	return s.c.Conn.Write(p)
}

// UpgradeTLS runs a TLS handshake on the connection (as the server or the
// client) and continues framing over TLS. Bytes the peer sent right after
// its SSLRequest (the ClientHello) may already sit in the read buffer, so
// the handshake reads through that buffer first.
func (c *Conn) UpgradeTLS(cfg *tls.Config, server bool) error {
	if err := c.bw.Flush(); err != nil {
		return err
	}
	pc := &prefixConn{Conn: c.Conn, r: c.br}
	var tc *tls.Conn
	if server {
		tc = tls.Server(pc, cfg)
	} else {
		tc = tls.Client(pc, cfg)
	}
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	c.Conn = tc
	c.br = bufio.NewReaderSize(tc, BufferSize)
	c.rc = nil // FlushAwait's raw write would bypass TLS
	return nil
}

// prefixConn reads through a buffer that may hold data already received.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (p *prefixConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// ReadRaw reads one physical packet and returns its payload. The slice is
// valid until the next read. A payload of exactly MaxPayload bytes means the
// logical packet continues in the next physical packet.
func (c *Conn) ReadRaw() ([]byte, error) { return c.readRaw(-1) }

// growStep is the first allocation for a payload that does not fit the
// read buffer; the buffer then doubles as bytes actually arrive, so a
// header claiming 16 MB costs memory only when 16 MB are sent.
const growStep = 64 << 10

// readRaw is ReadRaw that refuses, before reading or allocating anything,
// a payload longer than most bytes (most < 0: no limit but the protocol's).
func (c *Conn) readRaw(most int) ([]byte, error) {
	hdr, err := c.br.Peek(4)
	if err != nil {
		if len(hdr) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if most >= 0 && n > most {
		return nil, ErrPacketTooLarge
	}
	c.Seq = hdr[3] + 1
	if n+4 <= c.br.Size() {
		if cap(c.buf) > 1<<20 {
			c.buf = nil // do not pin a large buffer to an idle connection
		}
		p, err := c.br.Peek(n + 4)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		c.br.Discard(n + 4)
		return p[4:], nil
	}
	c.br.Discard(4)
	p := c.buf[:0]
	for len(p) < n {
		if len(p) == cap(p) {
			grown := make([]byte, len(p), min(n, 2*cap(p)+growStep))
			copy(grown, p)
			p = grown
		}
		m, err := io.ReadFull(c.br, p[len(p):min(cap(p), n)])
		p = p[:len(p)+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	c.buf = p
	return p, nil
}

// ReadPacket reads one logical packet, joining continuation packets, and
// returns its payload. It fails with ErrPacketTooLarge as soon as a header
// announces more than limit bytes in all (limit <= 0 means no limit),
// before allocating for it. The slice is valid until the next read.
func (c *Conn) ReadPacket(limit int) ([]byte, error) {
	left := -1
	if limit > 0 {
		left = limit
	}
	p, err := c.readRaw(left)
	if err != nil || len(p) < MaxPayload {
		return p, err
	}
	// Multi-packet payload: accumulate in a fresh slice that is not kept
	// after the caller is done with it.
	acc := append([]byte(nil), p...)
	for len(p) == MaxPayload {
		if limit > 0 {
			left = limit - len(acc)
		}
		if p, err = c.readRaw(left); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the peer left inside a logical packet
			}
			return nil, err
		}
		acc = append(acc, p...)
	}
	return acc, nil
}

// WriteRaw writes one physical packet (len(p) <= MaxPayload) with the next
// sequence id. Data is buffered until Flush.
func (c *Conn) WriteRaw(p []byte) error {
	if len(p) > MaxPayload {
		return fmt.Errorf("wire: physical packet of %d bytes exceeds %d", len(p), MaxPayload)
	}
	var hdr [4]byte
	hdr[0], hdr[1], hdr[2], hdr[3] = byte(len(p)), byte(len(p)>>8), byte(len(p)>>16), c.Seq
	c.Seq++
	if _, err := c.bw.Write(hdr[:]); err != nil {
		return err
	}
	_, err := c.bw.Write(p)
	return err
}

// WritePacket writes a logical packet, splitting it into physical packets
// as needed. Data is buffered until Flush.
func (c *Conn) WritePacket(p []byte) error {
	for {
		n := len(p)
		if n > MaxPayload {
			n = MaxPayload
		}
		if err := c.WriteRaw(p[:n]); err != nil {
			return err
		}
		p = p[n:]
		if n < MaxPayload {
			return nil
		}
	}
}

// Flush sends buffered packets.
func (c *Conn) Flush() error { return c.bw.Flush() }

// FlushAwait is Flush for a request whose reply is read next: when the
// request is in the write buffer (anything up to BufferSize), it also waits
// until the reply can be read, saving the read that would otherwise find
// nothing yet (EAGAIN) and park. A server takes tens of microseconds to
// answer, so that read fails almost every time: one syscall in six per
// proxied statement.
//
// The wait must be armed before the request goes out. Go's poller clears a
// socket's readiness when a read starts (edge-triggered epoll reports data
// once), so a read that only waited would sleep through a reply that came
// in first. FlushAwait therefore writes from inside the read's callback,
// after the poller was reset. It must only be used when the peer sends
// nothing unless asked (a server, not a pipelining client), and with
// nothing left in the read buffer; otherwise, and over TLS, it is Flush.
func (c *Conn) FlushAwait() error {
	if c.rc == nil || c.br.Buffered() > 0 {
		return c.bw.Flush()
	}
	c.await = true
	err := c.bw.Flush()
	c.await = false
	return err
}

// writeAwait writes p from inside a read of the socket and returns once the
// socket is readable (see FlushAwait). What a full socket buffer (EAGAIN)
// leaves unwritten goes out with an ordinary write. A failure of the wait
// itself (a deadline, a closed connection) is left to the read that follows.
func (c *Conn) writeAwait(p []byte) (int, error) {
	n, sent := 0, false
	var werr error
	c.rc.Read(func(fd uintptr) bool {
		if sent {
			return true // readable: the reply, EOF or an error is there
		}
		for n < len(p) {
			m, err := syscall.Write(int(fd), p[n:])
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				return true
			case err != nil:
				werr = err
				return true
			}
			n += m
		}
		sent = true
		return false // wait until readable
	})
	if werr != nil {
		return n, &net.OpError{Op: "write", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("write", werr)}
	}
	if n < len(p) {
		m, err := c.Conn.Write(p[n:])
		return n + m, err
	}
	return n, nil
}

// Readable reports whether nc (a raw socket, not TLS) has data waiting to
// be read, with one non-blocking recv with MSG_PEEK. A closed peer or a
// socket it cannot inspect reports false.
func Readable(nc net.Conn) bool {
	n, _ := peek(nc)
	return n > 0
}

// Buffered reports how many bytes of input are already buffered.
func (c *Conn) Buffered() int { return c.br.Buffered() }

// Alive reports whether an idle connection still looks usable: the peer has
// not closed it and has sent nothing unsolicited (a server that kills an idle
// connection may queue an error packet before closing). It costs one
// non-blocking recv with MSG_PEEK, and no timer.
func (c *Conn) Alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	nc := c.Conn
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	n, err := peek(nc)
	if err == errNotSocket {
		return true // nothing to look at
	}
	// EAGAIN: nothing to read, the peer is there. n == 0: orderly close.
	// n > 0: unsolicited data. Any other error: broken.
	return n <= 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
}

// errNotSocket is peek's answer for a connection without a socket.
var errNotSocket = errors.New("wire: not a socket")

// peek is one non-blocking recv with MSG_PEEK on nc's socket, which never
// waits for readiness: n and the recv's error (EAGAIN when nothing is
// waiting; an error reaching the socket is returned too).
func peek(nc net.Conn) (int, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0, errNotSocket
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var b [1]byte
	n := 0
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		return 0, err
	}
	return n, rerr
}

// SetCork sets TCP_CORK on a client socket: while it is on, the kernel
// sends only full segments, and the rest goes out when it is turned off or
// with the FIN of a shutdown.
func SetCork(nc net.Conn, on bool) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	v := 0
	if on {
		v = 1
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, v)
	})
}
