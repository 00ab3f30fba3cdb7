// Package load is the lab's load client: workers that write numbered rows
// and read them back through a proxy, reconnecting as an application
// does, and a report of what was acknowledged, what failed and how long
// clients were cut off around a fault.
package load

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"sqlgate/internal/lab/netns"
	"sqlgate/internal/testbed"
)

// Options describe a load: Workers connections that each write
// numbered rows with autocommit, and read one back every ReadEvery writes,
// until Duration has passed, MaxStatements were sent or Stop is called.
type Options struct {
	Workers       int           // default 4
	Duration      time.Duration // default 30s; at most 10 minutes
	MaxStatements int           // per worker; default 1,000,000
	NetNS         string        // make the connections from this namespace; "" = this process's
	Addr          string        // host:port to connect to (the VIP's client port)
	User          string        // default app
	Password      string        // default app
	ReadEvery     int           // default 4; negative: no reads
	// DialTimeout bounds a connection attempt (default 300 ms). A SYN to
	// a core that has just lost the VIP is dropped, and the kernel would
	// retry it only after a second: a short timeout and a new attempt
	// reach the new holder sooner.
	DialTimeout time.Duration
	// IOTimeout bounds every read and write on a connection (default
	// 500 ms), so a statement to a dead proxy fails instead of hanging.
	IOTimeout time.Duration
}

func (o *Options) defaults() error {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Duration <= 0 {
		o.Duration = 30 * time.Second
	}
	if o.Duration > 10*time.Minute {
		return fmt.Errorf("load: Options.Duration %v: at most 10m", o.Duration)
	}
	if o.MaxStatements <= 0 {
		o.MaxStatements = 1_000_000
	}
	if o.User == "" {
		o.User, o.Password = testbed.AppUser, testbed.AppPassword
	}
	if o.ReadEvery == 0 {
		o.ReadEvery = 4
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 300 * time.Millisecond
	}
	if o.IOTimeout <= 0 {
		o.IOTimeout = 500 * time.Millisecond
	}
	if o.Addr == "" {
		return errors.New("load: Options.Addr: give the address to load, e.g. the VIP's 10.77.0.50:6033")
	}
	return nil
}

var quietLogger = log.New(io.Discard, "", 0)

// Load is a running load; Stop ends it and reports.
type Load struct {
	o       Options
	run     int64
	start   time.Time
	conn    driver.Connector
	stop    chan struct{}
	once    sync.Once
	done    sync.WaitGroup
	next    atomic.Int64
	workers []*worker
}

// event is one successful statement, as offsets from the load's start.
type event struct {
	start, end time.Duration
	write      bool
}

type worker struct {
	mu          sync.Mutex
	events      []event
	acked       []int64
	failedW     int
	failedR     int
	errors      map[string]int
	failures    []Failure
	retries     int
	lastConnErr string
}

// retry counts a connection attempt or connection that failed before a
// statement was sent: not a failure, the worker connects again.
func (w *worker) retry(why string) {
	w.mu.Lock()
	w.retries++
	w.lastConnErr = why
	w.mu.Unlock()
}

// Failure is one failed statement.
type Failure struct {
	Worker int
	Sent   time.Time // when the statement was sent
	At     time.Time // when it failed
	Write  bool
	Err    string
}

// maxFailures bounds the failures a worker records one by one (all are
// counted).
const maxFailures = 10000

// Start connects once to check that o.Addr serves and the table
// exists (creating lab.load if needed), then starts the workers. Each
// worker has its own connection. A connection attempt that fails is
// retried after 10 ms: no statement was sent, so it is not a failure. A
// statement that fails after it was sent counts as failed (its outcome is
// unknown: it may have committed) and the worker reconnects.
func Start(ctx context.Context, o Options) (*Load, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = o.User, o.Password, "tcp", o.Addr
	c.Timeout, c.ReadTimeout, c.WriteTimeout = o.DialTimeout, o.IOTimeout, o.IOTimeout
	c.DialFunc = netns.DialerIn(o.NetNS)
	// The driver would log every connection a fault breaks; the report
	// counts them instead.
	c.Logger = quietLogger
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, err
	}
	l := &Load{o: o, run: time.Now().UnixNano(), conn: conn, stop: make(chan struct{})}
	if err := l.prepare(ctx); err != nil {
		return nil, err
	}
	l.start = time.Now()
	for i := 0; i < o.Workers; i++ {
		w := &worker{errors: map[string]int{}}
		l.workers = append(l.workers, w)
		l.done.Add(1)
		go l.work(i, w)
	}
	go func() {
		select {
		case <-time.After(o.Duration):
			l.halt()
		case <-l.stop:
		}
	}()
	return l, nil
}

// prepare checks the target within 5 s and makes sure the table exists.
func (l *Load) prepare(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var err error
	for ctx.Err() == nil {
		var dc driver.Conn
		if dc, err = l.conn.Connect(ctx); err == nil {
			ex := dc.(driver.ExecerContext)
			_, err = ex.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS lab", nil)
			if err == nil {
				_, err = ex.ExecContext(ctx, strings.SplitN(CreateTable, ";", 2)[1], nil)
			}
			dc.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("load: %s does not serve %s: %v", l.o.Addr, l.o.User, err)
}

// Options returns the load's options with the defaults filled in.
func (l *Load) Options() Options { return l.o }

func (l *Load) halt() { l.once.Do(func() { close(l.stop) }) }

func (l *Load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// work is one worker's loop, bounded by the stop channel (closed after
// Duration at the latest) and MaxStatements.
func (l *Load) work(id int, w *worker) {
	defer l.done.Done()
	var dc driver.Conn
	defer func() {
		if dc != nil {
			dc.Close()
		}
	}()
	// A statement runs to its end (bounded by IOTimeout) even if Stop
	// comes meanwhile, so Stop never makes an outcome unknown.
	ctx := context.Background()
	seq := 0 // statements attempted: every (ReadEvery+1)th is a read
	for sent := 0; sent < l.o.MaxStatements && !l.stopped(); {
		if dc == nil {
			cctx, cancel := context.WithTimeout(ctx, l.o.DialTimeout+2*l.o.IOTimeout)
			c, err := l.conn.Connect(cctx)
			cancel()
			if err != nil {
				w.retry(err.Error())
				time.Sleep(10 * time.Millisecond)
				continue
			}
			dc = c
		} else if err := dc.(driver.SessionResetter).ResetSession(ctx); err != nil {
			// The proxy closed this idle connection (a stop, a restart):
			// what database/sql does on every checkout from its pool, so
			// the load sees what a pooled application sees. Nothing was
			// sent; reconnect.
			dc.Close()
			dc = nil
			w.retry("connection closed by the proxy between statements")
			continue
		}
		write := l.o.ReadEvery < 0 || seq%(l.o.ReadEvery+1) != l.o.ReadEvery
		var n int64
		var err error
		t0 := time.Since(l.start)
		if write {
			n = l.next.Add(1)
			_, err = dc.(driver.ExecerContext).ExecContext(ctx, fmt.Sprintf("INSERT INTO lab.load (run, id, worker) VALUES (%d, %d, %d)", l.run, n, id), nil)
		} else {
			err = l.read(ctx, dc, w)
		}
		seq++
		t1 := time.Since(l.start)
		if errors.Is(err, driver.ErrBadConn) {
			// The driver found the connection closed before it sent
			// anything: safe to retry on a new one.
			dc.Close()
			dc = nil
			w.retry("connection closed by the proxy before the statement was sent")
			continue
		}
		sent++
		w.mu.Lock()
		if err == nil {
			w.events = append(w.events, event{t0, t1, write})
			if write {
				w.acked = append(w.acked, n)
			}
		} else {
			if write {
				w.failedW++
			} else {
				w.failedR++
			}
			w.errors[errText(err)]++
			if len(w.failures) < maxFailures {
				w.failures = append(w.failures, Failure{Worker: id, Sent: l.start.Add(t0), At: l.start.Add(t1), Write: write, Err: err.Error()})
			}
		}
		w.mu.Unlock()
		if err != nil {
			var me *mysql.MySQLError
			if !errors.As(err, &me) {
				// The connection is broken (timeout, reset): a new one.
				dc.Close()
				dc = nil
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// read looks up the worker's last acknowledged row (the query rules send
// it to a replica, which may not have it yet: found or not, it is a
// success).
func (l *Load) read(ctx context.Context, dc driver.Conn, w *worker) error {
	w.mu.Lock()
	var last int64
	if len(w.acked) > 0 {
		last = w.acked[len(w.acked)-1]
	}
	w.mu.Unlock()
	rows, err := dc.(driver.QueryerContext).QueryContext(ctx, fmt.Sprintf("SELECT id FROM lab.load WHERE run = %d AND id = %d", l.run, last), nil)
	if err != nil {
		return err
	}
	dest := make([]driver.Value, len(rows.Columns()))
	for {
		if err := rows.Next(dest); err != nil {
			rows.Close()
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// errText shortens an error for counting: the same failure at different
// addresses or ports counts once.
func errText(err error) string {
	s := err.Error()
	if len(s) > 240 {
		s = s[:240]
	}
	return s
}

// WaitWritesAfter waits up to d until every worker has had a write that
// started after t succeed: the moment all clients are served again.
func (l *Load) WaitWritesAfter(t time.Time, d time.Duration) error {
	off := t.Sub(l.start)
	deadline := time.Now().Add(d)
	for {
		waiting := 0
		for _, w := range l.workers {
			w.mu.Lock()
			ok := false
			for i := len(w.events) - 1; i >= 0 && w.events[i].start >= off; i-- {
				if w.events[i].write {
					ok = true
					break
				}
			}
			w.mu.Unlock()
			if !ok {
				waiting++
			}
		}
		if waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) || l.stopped() {
			return fmt.Errorf("load: %d of %d workers have had no successful write since the fault after %v", waiting, len(l.workers), d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends the load, waits for the workers (each finishes its statement,
// within IOTimeout) and reports.
func (l *Load) Stop() Report {
	l.halt()
	l.done.Wait()
	return l.Report()
}

// Report is what a load did.
type Report struct {
	Run          int64 // the lab.load rows of this load have this run
	Started      time.Time
	Elapsed      time.Duration
	Acked        []int64 // ids of the acknowledged writes, ascending
	Writes       int     // acknowledged writes
	Reads        int     // successful reads
	FailedWrites int     // writes sent whose outcome is unknown
	FailedReads  int
	// FailedErrors counts the failed statements by error text;
	// Failures lists them (the first 10000 of each worker), by time.
	FailedErrors map[string]int
	Failures     []Failure
	// ConnectRetries counts connection attempts that failed (no
	// statement sent, so not failures); LastConnectError is the last one.
	ConnectRetries   int
	LastConnectError string
	// MaxGap is the longest time a worker went between two successful
	// statements (or from the start to its first).
	MaxGap  time.Duration
	Workers []WorkerReport

	events [][]event
}

// WorkerReport is one worker's share.
type WorkerReport struct {
	Writes, Reads, Failed int
	MaxGap                time.Duration
	MaxGapAt              time.Time // when that gap began
}

// Failed is the number of failed statements.
func (r Report) Failed() int { return r.FailedWrites + r.FailedReads }

// Report returns the load's figures so far (the final ones after Stop).
func (l *Load) Report() Report {
	r := Report{Run: l.run, Started: l.start, Elapsed: time.Since(l.start), FailedErrors: map[string]int{}}
	for _, w := range l.workers {
		w.mu.Lock()
		wr := WorkerReport{Failed: w.failedW + w.failedR}
		var prev time.Duration
		for _, e := range w.events {
			if e.write {
				wr.Writes++
			} else {
				wr.Reads++
			}
			if g := e.end - prev; g > wr.MaxGap {
				wr.MaxGap, wr.MaxGapAt = g, l.start.Add(prev)
			}
			prev = e.end
		}
		r.Acked = append(r.Acked, w.acked...)
		r.Writes += wr.Writes
		r.Reads += wr.Reads
		r.FailedWrites += w.failedW
		r.FailedReads += w.failedR
		for k, v := range w.errors {
			r.FailedErrors[k] += v
		}
		r.Failures = append(r.Failures, w.failures...)
		r.ConnectRetries += w.retries
		if w.lastConnErr != "" {
			r.LastConnectError = w.lastConnErr
		}
		r.events = append(r.events, append([]event(nil), w.events...))
		w.mu.Unlock()
		if wr.MaxGap > r.MaxGap {
			r.MaxGap = wr.MaxGap
		}
		r.Workers = append(r.Workers, wr)
	}
	sort.Slice(r.Acked, func(i, j int) bool { return r.Acked[i] < r.Acked[j] })
	sort.Slice(r.Failures, func(i, j int) bool { return r.Failures[i].At.Before(r.Failures[j].At) })
	return r
}

// FailedBetween counts the recorded failures of statements sent in
// [from, to): the failures one fault caused, when several follow each
// other in one load.
func (r Report) FailedBetween(from, to time.Time) int {
	n := 0
	for _, f := range r.Failures {
		if !f.Sent.Before(from) && f.Sent.Before(to) {
			n++
		}
	}
	return n
}

// GapAround is how long clients were cut off by a fault at t: for each
// worker, the longest gap between two consecutive successful statements,
// among those from the last one that ended before t up to the first
// statement sent after t that succeeded (a statement sent just before t
// may still succeed just after it, so the gap that matters can begin
// after t); the longest over the workers. A worker with no success after
// t counts until the end of the load. Take t when the fault is in effect
// (after the kill returned, the link is down): a statement that succeeds
// after t yet before the fault bites would count as the recovery.
func (r Report) GapAround(t time.Time) time.Duration {
	off := t.Sub(r.Started)
	var worst time.Duration
	for _, evs := range r.events {
		i := sort.Search(len(evs), func(i int) bool { return evs[i].end > off })
		prev := time.Duration(0)
		if i > 0 {
			prev = evs[i-1].end
		}
		recovered := false
		for ; i < len(evs) && !recovered; i++ {
			if g := evs[i].end - prev; g > worst {
				worst = g
			}
			prev = evs[i].end
			recovered = evs[i].start >= off
		}
		if !recovered {
			if g := r.Elapsed - prev; g > worst {
				worst = g
			}
		}
	}
	return worst
}

// FirstWriteAfter is the time from t to the first acknowledged write that
// was sent after t (false if there is none): after a primary is killed at
// t, such a write can only have landed on the new primary.
func (r Report) FirstWriteAfter(t time.Time) (time.Duration, bool) {
	off := t.Sub(r.Started)
	best, found := time.Duration(0), false
	for _, evs := range r.events {
		for _, e := range evs {
			if e.write && e.start >= off && (!found || e.end < best) {
				best, found = e.end, true
				break
			}
		}
	}
	return best - off, found
}

// Missing counts the acknowledged writes that are not in lab.load on db
// (the current primary: an acknowledged write must survive any failover).
func (r Report) Missing(ctx context.Context, db *sql.DB) (int, error) {
	rows, err := db.QueryContext(ctx, "SELECT id FROM lab.load WHERE run = ?", r.Run)
	if err != nil {
		return 0, fmt.Errorf("load: reading lab.load: %w", err)
	}
	defer rows.Close()
	have := make(map[int64]bool, len(r.Acked))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return 0, err
		}
		have[id] = true
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	missing := 0
	for _, id := range r.Acked {
		if !have[id] {
			missing++
		}
	}
	return missing, nil
}

// TopErrors returns up to n failure texts, most frequent first, as
// "COUNT x TEXT".
func (r Report) TopErrors(n int) []string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range r.FailedErrors {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var out []string
	for i, e := range all {
		if i == n {
			break
		}
		out = append(out, fmt.Sprintf("%d x %s", e.v, e.k))
	}
	return out
}

// CreateTable is the load client's table: one row per acknowledged
// write, keyed by the run and the write's number.
const CreateTable = `CREATE DATABASE IF NOT EXISTS lab;
CREATE TABLE IF NOT EXISTS lab.load (
	run BIGINT NOT NULL,
	id BIGINT NOT NULL,
	worker INT NOT NULL,
	at DATETIME(6) NOT NULL DEFAULT NOW(6),
	PRIMARY KEY (run, id)
) ENGINE=InnoDB`
