// Package mirror runs the copies of statements that query rules send to a
// mirror hostgroup (mirror_hostgroup, mirror_flagOUT) off the client's
// path: with bounded concurrency (mysql-mirror_max_concurrency) and a
// bounded queue (mysql-mirror_max_queue_length). Beyond that, mirrors are
// dropped and counted, as in ProxySQL: mirroring must never slow the real
// traffic. What a mirror runs, and on what, is the caller's.
package mirror

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Queue runs mirror jobs. The zero value is ready to use.
type Queue struct {
	mu      sync.Mutex
	running int
	queue   []func()
	dropped atomic.Int64
}

// Submit runs job on a new goroutine if fewer than maxConc run, queues it
// if fewer than maxQueue wait, and drops it otherwise.
func (q *Queue) Submit(job func(), maxConc, maxQueue int) {
	q.mu.Lock()
	if q.running < maxConc {
		q.running++
		q.mu.Unlock()
		go q.work(job)
		return
	}
	if len(q.queue) < maxQueue {
		q.queue = append(q.queue, job)
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	q.dropped.Add(1)
}

// work runs job, then queued jobs until none is left.
func (q *Queue) work(job func()) {
	for {
		job()
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.running--
			q.mu.Unlock()
			return
		}
		job = q.queue[0]
		q.queue[0] = nil
		q.queue = q.queue[1:]
		q.mu.Unlock()
	}
}

// Counts returns the running and queued mirrors (Mirror_concurrency and
// Mirror_queue_length in stats_mysql_global).
func (q *Queue) Counts() (running, queued int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.running, len(q.queue)
}

// Dropped returns how many mirrors were dropped (Mirror_dropped).
func (q *Queue) Dropped() int64 { return q.dropped.Load() }

// Discard is the client side of a mirror session: replies go nowhere and
// there is nothing to read.
type Discard struct{}

func (Discard) Read([]byte) (int, error)         { return 0, io.EOF }
func (Discard) Write(p []byte) (int, error)      { return len(p), nil }
func (Discard) Close() error                     { return nil }
func (Discard) LocalAddr() net.Addr              { return addr{} }
func (Discard) RemoteAddr() net.Addr             { return addr{} }
func (Discard) SetDeadline(time.Time) error      { return nil }
func (Discard) SetReadDeadline(time.Time) error  { return nil }
func (Discard) SetWriteDeadline(time.Time) error { return nil }

type addr struct{}

func (addr) Network() string { return "mirror" }
func (addr) String() string  { return "mirror:0" }
