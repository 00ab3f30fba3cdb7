package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSdNotify sends to real unixgram sockets, as systemd listens on one.
func TestSdNotify(t *testing.T) {
	dir := t.TempDir()
	listen := func(t *testing.T, name string) *net.UnixConn {
		t.Helper()
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	abstract := fmt.Sprintf("@sqlgate-notify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	tests := []struct {
		name     string
		socket   string // $NOTIFY_SOCKET; "" leaves it unset
		listen   bool   // a listener is bound to socket
		wantSent bool
		wantErr  bool
	}{
		{name: "unset socket is a no-op", socket: ""},
		{name: "path socket", socket: filepath.Join(dir, "notify"), listen: true, wantSent: true},
		{name: "abstract socket", socket: abstract, listen: true, wantSent: true},
		{name: "unreachable socket", socket: filepath.Join(dir, "nobody-listens"), wantErr: true},
		{name: "unreachable abstract socket", socket: abstract + "-none", wantErr: true},
		{name: "relative path rejected", socket: "notify", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.socket == "" {
				t.Setenv("NOTIFY_SOCKET", "")
				os.Unsetenv("NOTIFY_SOCKET")
			} else {
				t.Setenv("NOTIFY_SOCKET", tc.socket)
			}
			var l *net.UnixConn
			if tc.listen {
				l = listen(t, tc.socket)
			}
			const state = "READY=1\nSTATUS=serving"
			sent, err := sdNotify(state)
			if sent != tc.wantSent || (err != nil) != tc.wantErr {
				t.Fatalf("sdNotify = %v, %v; want sent %v, error %v", sent, err, tc.wantSent, tc.wantErr)
			}
			if l == nil {
				return
			}
			buf := make([]byte, 256)
			l.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := l.ReadFromUnix(buf)
			if err != nil || string(buf[:n]) != state {
				t.Fatalf("listener got %q, %v; want %q", buf[:n], err, state)
			}
		})
	}
}

// TestNotifyManagerNotFatal: a service manager that cannot be reached is a
// warning in the log; the caller goes on.
func TestNotifyManagerNotFatal(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "gone"))
	var buf bytes.Buffer
	notifyManager(slog.New(slog.NewTextHandler(&buf, nil)), "READY=1")
	if !strings.Contains(buf.String(), "cannot notify the service manager") {
		t.Fatalf("log = %q, want the warning", buf.String())
	}
}
