package main

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"sqlgate/scripts/bench/report"
)

func connector(port int) (driver.Connector, error) {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = "app", "app", "tcp", fmt.Sprintf("127.0.0.1:%d", port)
	c.Timeout, c.ReadTimeout, c.WriteTimeout = 10*time.Second, 10*time.Second, 10*time.Second
	c.Logger = mysql.Logger(quietLogger{})
	return mysql.NewConnector(c)
}

type quietLogger struct{}

func (quietLogger) Print(...any) {}

// idleBench opens n connections to t (each a completed login), holds them
// and reads the proxy's RSS before and after. Opening is bounded by 2
// minutes; the connections are closed (COM_QUIT) at the end.
func idleBench(ctx context.Context, t *target, n int) report.IdleRow {
	r := report.IdleRow{Target: t.name, Wanted: n}
	cn, err := connector(t.port)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	sleep(ctx, time.Second)
	r.RSSBeforeMB = report.Round1(rssKiB(t.pid) / 1024)
	before := rssKiB(t.pid)
	cpu0 := cpuSeconds(t.pid)
	conns := make([]driver.Conn, n)
	var next atomic.Int64
	var firstErr atomic.Value
	ctx2, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx2.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := cn.Connect(ctx2)
				if err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
					cancel() // stop at the first failure
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	r.OpenSeconds = report.Round2(time.Since(start).Seconds())
	for _, c := range conns {
		if c != nil {
			r.Conns++
		}
	}
	cpu1 := cpuSeconds(t.pid)
	sleep(ctx, 2*time.Second) // let the proxy settle (freed handshake buffers)
	after := rssKiB(t.pid)
	r.RSSAfterMB = report.Round1(after / 1024)
	if r.Conns > 0 {
		r.KiBPerConn = report.Round2((after - before) / float64(r.Conns))
		r.CPUusPerCon = report.Round1((cpu1 - cpu0) * 1e6 / float64(r.Conns))
	}
	if e, ok := firstErr.Load().(string); ok {
		r.Error = fmt.Sprintf("stopped after %d connections: %s", r.Conns, e)
		fmt.Fprintf(os.Stderr, "idle connections to %s: %s\n", t.name, r.Error)
	} else if r.Conns < n {
		r.Error = fmt.Sprintf("opened %d of %d connections (time limit or interrupt)", r.Conns, n)
	}
	// Close them all, 64 at a time, then wait until the proxy has seen it.
	sem := make(chan struct{}, 64)
	for _, c := range conns {
		if c == nil {
			continue
		}
		sem <- struct{}{}
		go func() { c.Close(); <-sem }()
	}
	for range cap(sem) {
		sem <- struct{}{}
	}
	sleep(ctx, 2*time.Second)
	return r
}

// stormBench: workers loop connect / SELECT 1 / quit through t for d
// (and at most 200,000 connections).
func stormBench(ctx context.Context, t *target, d time.Duration, workers int) report.StormRow {
	const maxConns = 200000
	r := report.StormRow{Target: t.name, Workers: workers}
	if la := loadavg(); len(la) > 0 {
		r.Load1 = la[0]
	}
	cn, err := connector(t.port)
	if err != nil {
		r.FirstError = err.Error()
		return r
	}
	end := time.Now().Add(d)
	ctx2, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var count, errs atomic.Int64
	var firstErr atomic.Value
	lats := make([][]time.Duration, workers)
	cpu0 := cpuSeconds(t.pid)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx2.Err() == nil && count.Load() < maxConns {
				t0 := time.Now()
				if err := oneShot(ctx2, cn); err != nil {
					if ctx2.Err() != nil || time.Until(end) < 100*time.Millisecond {
						return // cut by the end of the window
					}
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					sleep(ctx2, 10*time.Millisecond)
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	cpu1 := cpuSeconds(t.pid)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r.Seconds, r.Conns, r.Errors = report.Round2(el), count.Load(), errs.Load()
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	if len(all) > 0 {
		r.ConnsPerS = report.Round1(float64(len(all)) / el)
		r.P50ms = report.Round2(float64(all[len(all)/2].Microseconds()) / 1000)
		r.P99ms = report.Round2(float64(all[len(all)*99/100].Microseconds()) / 1000)
		if t.pid > 0 {
			r.CPUusPerConn = report.Round1((cpu1 - cpu0) * 1e6 / float64(len(all)))
		}
	}
	return r
}

// oneShot logs in, runs SELECT 1, reads the row and quits.
func oneShot(ctx context.Context, cn driver.Connector) error {
	c, err := cn.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close() // COM_QUIT
	q, ok := c.(driver.QueryerContext)
	if !ok {
		return errors.New("driver without QueryerContext")
	}
	rows, err := q.QueryContext(ctx, "SELECT 1", nil)
	if err != nil {
		return err
	}
	dest := make([]driver.Value, len(rows.Columns()))
	for {
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				break
			}
			rows.Close()
			return err
		}
	}
	return rows.Close()
}
