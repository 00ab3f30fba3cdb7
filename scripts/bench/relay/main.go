// Command relay is a bare TCP relay for the bench's design check: it
// forwards bytes between each client and its own connection to -backend,
// parsing nothing, so its CPU per query is what the I/O design alone costs.
//
//	-mode go     two goroutines per client, each a read-write loop on Go's
//	             netpoller: the design sqlgate's sessions use
//	-mode epoll  -loops OS threads, each one epoll_wait loop over its
//	             clients' sockets: the design of ProxySQL's MySQL_Thread
//	             and HAProxy
//	-mode uring  -loops OS threads, each one io_uring whose single
//	             io_uring_enter per round submits the round's sends and
//	             receives and waits for the next completions
//
// All copy through a 16 KiB buffer with read and write (no splice), as a
// MySQL proxy must to see the packets.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"syscall"
)

func main() {
	mode := flag.String("mode", "go", "go, epoll or uring")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	backend := flag.String("backend", "", "address to relay each client to")
	loops := flag.Int("loops", 2, "event loops (OS threads) in -mode epoll and uring")
	flag.Parse()
	if *backend == "" || (*mode != "go" && *mode != "epoll" && *mode != "uring") || *loops < 1 {
		fmt.Fprintln(os.Stderr, "relay: need -backend, -mode go|epoll|uring and -loops >= 1")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
	if *mode == "uring" {
		fmt.Fprintln(os.Stderr, "relay:", runURing(ln, *backend, *loops))
		os.Exit(1)
	}
	var pick func() *epollLoop
	if *mode == "epoll" {
		ls := make([]*epollLoop, *loops)
		for i := range ls {
			if ls[i], err = newEpollLoop(); err != nil {
				fmt.Fprintln(os.Stderr, "relay:", err)
				os.Exit(1)
			}
			go ls[i].run()
		}
		n := 0
		pick = func() *epollLoop { n++; return ls[n%len(ls)] }
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			os.Exit(1)
		}
		b, err := net.Dial("tcp", *backend)
		if err != nil {
			c.Close()
			continue
		}
		if pick == nil {
			go pump(b, c)
			go pump(c, b)
			continue
		}
		if err := pick().add(c.(*net.TCPConn), b.(*net.TCPConn)); err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
		}
	}
}

// pump copies src to dst until either fails, then closes both. It does
// not use io.Copy, which would splice TCP to TCP inside the kernel.
func pump(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 16<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// epollLoop relays the sockets it owns on one locked OS thread. The
// sockets are blocking and level-triggered: a read follows readiness, so
// it does not block, and a write blocks only while the peer's receive
// buffer is full, which the bench's small packets never reach.
type epollLoop struct{ ep int }

func newEpollLoop() (*epollLoop, error) {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	return &epollLoop{ep: ep}, nil
}

// add takes the two connections' descriptors out of Go's netpoller
// (dups of them; closing the originals deregisters them) and into the
// loop, in blocking mode. An event carries its socket and its peer.
func (l *epollLoop) add(c, b *net.TCPConn) error {
	defer c.Close()
	defer b.Close()
	cf, err := c.File()
	if err != nil {
		return err
	}
	bf, err := b.File()
	if err != nil {
		cf.Close()
		return err
	}
	// The loop owns the descriptors from here; the Files must not close
	// them when collected.
	cfd, err1 := syscall.Dup(int(cf.Fd()))
	bfd, err2 := syscall.Dup(int(bf.Fd()))
	cf.Close()
	bf.Close()
	if err1 != nil || err2 != nil {
		for _, fd := range []int{cfd, bfd} {
			if fd >= 0 {
				syscall.Close(fd)
			}
		}
		return fmt.Errorf("dup: %v %v", err1, err2)
	}
	syscall.SetNonblock(cfd, false)
	syscall.SetNonblock(bfd, false)
	for _, p := range [][2]int{{cfd, bfd}, {bfd, cfd}} {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p[0]), Pad: int32(p[1])}
		if err := syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
			syscall.Close(cfd)
			syscall.Close(bfd)
			return fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	return nil
}

func (l *epollLoop) run() {
	runtime.LockOSThread()
	evs := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 16<<10)
	for {
		n, err := syscall.EpollWait(l.ep, evs, -1)
		if err != nil {
			continue // EINTR
		}
		for _, ev := range evs[:n] {
			fd, peer := int(ev.Fd), int(ev.Pad)
			m, err := syscall.Read(fd, buf)
			if m > 0 && writeAll(peer, buf[:m]) == nil {
				continue
			}
			if err == syscall.EINTR {
				continue
			}
			// EOF or an error on either side ends the pair.
			syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_DEL, fd, nil)
			syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_DEL, peer, nil)
			syscall.Close(fd)
			syscall.Close(peer)
		}
	}
}

func writeAll(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := syscall.Write(fd, p)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}
