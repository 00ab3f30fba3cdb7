package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"
)

// sdNotify tells the service manager about a state change (sd_notify(3)):
// "READY=1" once both listeners serve, so `systemctl start` of a
// Type=notify unit returns only when clients can connect; "STOPPING=1"
// when a stop begins. Without $NOTIFY_SOCKET (not started by systemd, or
// another Type) it does nothing and returns false.
//
// The protocol is one datagram on the unix socket named by $NOTIFY_SOCKET,
// a path or, starting with '@', an abstract name (Go maps the '@' to the
// leading NUL byte on Linux). No dependency is needed for that.
func sdNotify(state string) (sent bool, err error) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return false, nil
	}
	if addr[0] != '/' && addr[0] != '@' {
		return false, fmt.Errorf("sd_notify: NOTIFY_SOCKET=%q is neither a path nor an abstract socket", addr)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return false, fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	// A datagram to a local socket does not block unless its queue is
	// full; the deadline keeps a wedged service manager from holding up
	// start-up or shutdown.
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte(state)); err != nil {
		return false, fmt.Errorf("sd_notify: %w", err)
	}
	return true, nil
}

// notifyManager is sdNotify for main: a failure is logged, never fatal (the
// proxy serves either way; under Type=notify systemd then times the start
// out and says why).
func notifyManager(log *slog.Logger, state string) {
	if _, err := sdNotify(state); err != nil {
		log.Warn("cannot notify the service manager", "err", err)
	}
}
