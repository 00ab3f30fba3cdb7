package main

import (
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The io_uring ABI (include/uapi/linux/io_uring.h), for amd64; the
// standard library has no binding and the relay takes no dependency.
const (
	sysIOUringSetup = 425
	sysIOUringEnter = 426

	setupSingleIssuer = 1 << 12 // IORING_SETUP_SINGLE_ISSUER, Linux 6.0
	setupDeferTaskrun = 1 << 13 // IORING_SETUP_DEFER_TASKRUN, Linux 6.1
	enterGetEvents    = 1       // IORING_ENTER_GETEVENTS

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	opAccept = 13 // IORING_OP_ACCEPT
	opSend   = 26 // IORING_OP_SEND
	opRecv   = 27 // IORING_OP_RECV

	sqeSize = 64
	cqeSize = 16
)

// uringParams is struct io_uring_params.
type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// sqe is struct io_uring_sqe, with the fields a relay uses.
type sqe struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off           uint64
	addr          uint64
	len           uint32
	opFlags       uint32
	userData      uint64
	_             [3]uint64
}

// uringLoop relays the sockets it owns on one locked OS thread through one
// ring: every send and receive is a submission, and one io_uring_enter
// both submits the batch a round of completions produced and waits for
// the next, so a busy loop makes one syscall per round instead of one per
// read, write and epoll_wait. Each side of a pair has one operation in
// flight: a receive, or the send of what the receive brought.
type uringLoop struct {
	fd                      int
	sqHead, sqTail, sqArray unsafe.Pointer
	sqMask                  uint32
	sqes                    unsafe.Pointer
	cqHead, cqTail          *uint32
	cqMask                  uint32
	cqes                    unsafe.Pointer
	pending                 uint32 // submissions written since the last enter
	listenFd                int
	backend                 syscall.Sockaddr
	sides                   []*side
	free                    []int
}

// side is one socket of a pair and the buffer its receive fills.
type side struct {
	fd, peer   int // peer is the index of the other side
	buf        []byte
	sent, want int
	inflight   bool
	dead       bool
}

const (
	kindAccept = 0
	kindRecv   = 1
	kindSend   = 2
)

// newURingLoop sets up a ring; it must run on the loop's locked thread,
// which single-issuer rings require to be the only one entering.
func newURingLoop(listenFd int, backend syscall.Sockaddr) (*uringLoop, error) {
	var p uringParams
	p.flags = setupSingleIssuer | setupDeferTaskrun
	fd, _, errno := syscall.Syscall(sysIOUringSetup, 1024, uintptr(unsafe.Pointer(&p)), 0)
	if errno == syscall.EINVAL { // a kernel before 6.1
		p = uringParams{}
		fd, _, errno = syscall.Syscall(sysIOUringSetup, 1024, uintptr(unsafe.Pointer(&p)), 0)
	}
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	l := &uringLoop{fd: int(fd), listenFd: listenFd, backend: backend}
	sqRing, err := syscall.Mmap(l.fd, offSQRing, int(p.sqOff.array+p.sqEntries*4), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap sq ring: %w", err)
	}
	cqRing, err := syscall.Mmap(l.fd, offCQRing, int(p.cqOff.cqes+p.cqEntries*cqeSize), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap cq ring: %w", err)
	}
	sqes, err := syscall.Mmap(l.fd, offSQEs, int(p.sqEntries*sqeSize), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap sqes: %w", err)
	}
	sq := unsafe.Pointer(&sqRing[0])
	cq := unsafe.Pointer(&cqRing[0])
	l.sqHead = unsafe.Add(sq, p.sqOff.head)
	l.sqTail = unsafe.Add(sq, p.sqOff.tail)
	l.sqArray = unsafe.Add(sq, p.sqOff.array)
	l.sqMask = *(*uint32)(unsafe.Add(sq, p.sqOff.ringMask))
	l.sqes = unsafe.Pointer(&sqes[0])
	l.cqHead = (*uint32)(unsafe.Add(cq, p.cqOff.head))
	l.cqTail = (*uint32)(unsafe.Add(cq, p.cqOff.tail))
	l.cqMask = *(*uint32)(unsafe.Add(cq, p.cqOff.ringMask))
	l.cqes = unsafe.Add(cq, p.cqOff.cqes)
	return l, nil
}

// push queues one submission; enter hands the batch to the kernel. The
// ring has room: each side has at most one operation in flight, plus one
// accept, and the loop enters before it exceeds the ring.
func (l *uringLoop) push(op uint8, fd int, buf []byte, userData uint64) {
	if l.pending >= l.sqMask {
		l.enter(0)
	}
	tail := atomic.LoadUint32((*uint32)(l.sqTail))
	i := tail & l.sqMask
	e := (*sqe)(unsafe.Add(l.sqes, uintptr(i)*sqeSize))
	*e = sqe{opcode: op, fd: int32(fd), userData: userData}
	if len(buf) > 0 {
		e.addr = uint64(uintptr(unsafe.Pointer(&buf[0])))
		e.len = uint32(len(buf))
	}
	*(*uint32)(unsafe.Add(l.sqArray, uintptr(i)*4)) = i
	atomic.StoreUint32((*uint32)(l.sqTail), tail+1)
	l.pending++
}

// enter submits what is queued and, with wait > 0, waits for that many
// completions.
func (l *uringLoop) enter(wait uint32) {
	flags := uintptr(0)
	if wait > 0 {
		flags = enterGetEvents
	}
	for {
		n, _, errno := syscall.Syscall6(sysIOUringEnter, uintptr(l.fd), uintptr(l.pending), uintptr(wait), flags, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			panic(fmt.Sprintf("io_uring_enter: %v", errno))
		}
		l.pending -= uint32(n)
		return
	}
}

func (l *uringLoop) run() {
	l.push(opAccept, l.listenFd, nil, kindAccept)
	for {
		l.enter(1)
		head := atomic.LoadUint32(l.cqHead)
		tail := atomic.LoadUint32(l.cqTail)
		for ; head != tail; head++ {
			c := (*[cqeSize]byte)(unsafe.Add(l.cqes, uintptr(head&l.cqMask)*cqeSize))
			userData := *(*uint64)(unsafe.Pointer(&c[0]))
			res := *(*int32)(unsafe.Pointer(&c[8]))
			l.complete(userData, res)
		}
		atomic.StoreUint32(l.cqHead, head)
	}
}

func (l *uringLoop) complete(userData uint64, res int32) {
	kind, i := int(userData&3), int(userData>>2)
	if kind == kindAccept {
		l.push(opAccept, l.listenFd, nil, kindAccept)
		if res >= 0 {
			l.open(int(res))
		}
		return
	}
	s := l.sides[i]
	s.inflight = false
	switch {
	case s.dead:
	case kind == kindRecv && res > 0:
		s.sent, s.want = 0, int(res)
		l.send(s, i)
		return
	case kind == kindSend && res > 0:
		s.sent += int(res)
		if s.sent < s.want {
			l.send(s, i)
		} else {
			l.recv(s, i)
		}
		return
	}
	// EOF or an error on either side ends the pair: shutting both down
	// completes the peer's receive, and each socket is closed once
	// nothing of its own is in flight.
	p := l.sides[s.peer]
	if !s.dead {
		s.dead, p.dead = true, true
		syscall.Shutdown(s.fd, syscall.SHUT_RDWR)
		syscall.Shutdown(p.fd, syscall.SHUT_RDWR)
	}
	if !s.inflight && s.fd >= 0 {
		syscall.Close(s.fd)
		s.fd = -1
	}
	if !p.inflight && p.fd >= 0 {
		syscall.Close(p.fd)
		p.fd = -1
	}
	if s.fd < 0 && p.fd < 0 {
		l.free = append(l.free, i, s.peer)
	}
}

func (l *uringLoop) recv(s *side, i int) {
	s.inflight = true
	l.push(opRecv, s.fd, s.buf, uint64(i)<<2|kindRecv)
}

func (l *uringLoop) send(s *side, i int) {
	s.inflight = true
	l.push(opSend, l.sides[s.peer].fd, l.sides[i].buf[s.sent:s.want], uint64(i)<<2|kindSend)
}

// open connects an accepted client to the backend, with TCP_NODELAY on
// both as Go's net package sets, and starts a receive on each.
func (l *uringLoop) open(cfd int) {
	bfd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err == nil {
		if err = syscall.Connect(bfd, l.backend); err != nil {
			syscall.Close(bfd)
		}
	}
	if err != nil {
		syscall.Close(cfd)
		return
	}
	syscall.SetsockoptInt(cfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	syscall.SetsockoptInt(bfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	ci, bi := l.slot(), l.slot()
	l.sides[ci].fd, l.sides[ci].peer = cfd, bi
	l.sides[bi].fd, l.sides[bi].peer = bfd, ci
	l.recv(l.sides[ci], ci)
	l.recv(l.sides[bi], bi)
}

func (l *uringLoop) slot() int {
	if n := len(l.free); n > 0 {
		i := l.free[n-1]
		l.free = l.free[:n-1]
		*l.sides[i] = side{buf: l.sides[i].buf}
		return i
	}
	l.sides = append(l.sides, &side{buf: make([]byte, 16<<10)})
	return len(l.sides) - 1
}

// runURing starts loops rings that all accept on ln's socket and relay to
// backend.
func runURing(ln net.Listener, backend string, loops int) error {
	addr, err := net.ResolveTCPAddr("tcp4", backend)
	if err != nil {
		return err
	}
	sa := &syscall.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return err
	}
	lfd := int(f.Fd()) // f stays open for the process's life
	errs := make(chan error, loops)
	for range loops {
		go func() {
			runtime.LockOSThread()
			l, err := newURingLoop(lfd, sa)
			if err != nil {
				errs <- err
				return
			}
			l.run()
		}()
	}
	return <-errs
}
