package wire

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// ListenAll opens a listener for every entry of a ProxySQL interface list
// (mysql-interfaces, admin-mysql_ifaces): ';'-separated host:port pairs or
// Unix socket paths. name labels errors. On error no listener stays open.
func ListenAll(name, ifaces string) ([]net.Listener, error) {
	var lns []net.Listener
	for _, addr := range strings.Split(ifaces, ";") {
		addr = strings.TrimSpace(addr)
		if addr == "" {
			continue
		}
		network := "tcp"
		if strings.HasPrefix(addr, "/") {
			network = "unix"
			os.Remove(addr) // a stale socket from a previous run
		}
		// Plain TCP, not Go's default MPTCP: a stopping server puts a
		// socket filter on its listener (frontend's quiesce), which an
		// MPTCP socket refuses with EOPNOTSUPP. ProxySQL listens with
		// plain TCP as well.
		// Accepted connections get TCP_NODELAY (Go's default) and
		// keep-alive probes after 120 s idle, as ProxySQL's clients do,
		// set by accept itself: three setsockopt calls a connection.
		// Go's defaults overridden by hand after accept were eight, the
		// most frequent syscall of a connection storm.
		lc := net.ListenConfig{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 120 * time.Second, Interval: -1, Count: -1}}
		lc.SetMultipathTCP(false)
		ln, err := lc.Listen(context.Background(), network, addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return nil, fmt.Errorf("%s is empty: nothing to listen on", name)
	}
	return lns, nil
}

// MaxHandshakePacket bounds every packet read before a client is
// authenticated (SSLRequest, HandshakeResponse): a response with a long
// user name, schema and connection attributes is well under 2 KB, so a
// header claiming more is refused before anything is allocated for it.
const MaxHandshakePacket = 16 << 10

// Handshakes bounds the connections of one port that are still in their
// handshake (not yet authenticated), so that clients which connect and
// never log in cannot hold an unbounded number of goroutines and buffers.
// A connection beyond the bound waits for a slot (a burst of legitimate
// clients gets through) up to its handshake deadline.
type Handshakes struct {
	slots chan struct{}
}

// NewHandshakes admits at most max handshakes at a time.
func NewHandshakes(max int) *Handshakes { return &Handshakes{slots: make(chan struct{}, max)} }

// Enter admits one more handshake, waiting up to wait for a slot; false
// when none freed in time. Every admitted handshake must Leave.
func (h *Handshakes) Enter(wait time.Duration) bool {
	select {
	case h.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

// Leave ends an admitted handshake.
func (h *Handshakes) Leave() { <-h.slots }

// InFlight is the number of handshakes running.
func (h *Handshakes) InFlight() int { return len(h.slots) }
