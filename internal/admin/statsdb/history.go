package statsdb

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"sqlgate/internal/admin/store"
)

// The stats_history schema (DATADIR/proxysql_stats.db) is filled as
// ProxySQL 2.7 fills it: a sample every admin-stats_* seconds (0 turns one
// off), the first one at start, each followed by the hourly roll-up and the
// retention ProxySQL applies (7 days of samples, a year of hours).
//
//   - system_cpu: the process's user and system CPU time in clock ticks
//     (1/100 s), as times(2) reports them (admin-stats_system_cpu).
//   - system_memory: ProxySQL reports jemalloc's counters; sqlgate reports
//     the Go runtime's nearest ones: allocated = live heap, resident = RSS,
//     active = heap and stacks in use, mapped = memory obtained from the
//     OS, metadata = the runtime's own structures, retained = heap returned
//     to the OS (admin-stats_system_memory).
//   - mysql_connections: the stats_mysql_global counters of the same names
//     (admin-stats_mysql_connections). ConnPool_get_conn_* and
//     GTID_consistent_queries are 0: sqlgate's pool does not count them and
//     it has no GTID reads.
//   - mysql_query_cache: the Query_Cache_* counters
//     (admin-stats_mysql_query_cache).
//   - history_mysql_query_digest: SAVE MYSQL DIGEST TO DISK and, every
//     admin-stats_mysql_query_digest_to_disk seconds, the digest table moved
//     to disk.
//
// Left empty, as explained in the README: myhgm_connections (ProxySQL's
// connection pool get/push/destroy/reset counters, which sqlgate's pool
// does not keep), history_stats_mysql_connection_pool and
// history_mysql_status_variables(_lookup) (ProxySQL fills them only with
// its web UI plugin loaded), and the *_day tables (ProxySQL 2.7 never
// writes them).

// historyState is the sampler's timers: the next due time of each sample,
// in Unix microseconds, as ProxySQL keeps them.
type historyState struct {
	next map[string]int64
}

// due is ProxySQL's *_timetoget: true when interval (seconds, 0 = off)
// has elapsed, or when the clock went back by more than one interval.
func (h *historyState) due(name string, interval int, now int64) bool {
	if interval <= 0 {
		return false
	}
	if h.next == nil {
		h.next = map[string]int64{}
	}
	next := h.next[name]
	if now > next || now+int64(interval)*1e6 < next {
		h.next[name] = (now/1e6 + int64(interval)) * 1e6
		return true
	}
	return false
}

// StartHistory starts the stats_history sampler once; it stops when the
// store is closed. Every second it takes the samples that are due by the
// admin-stats_* intervals vars returns (the admin variables without
// prefix), holding lock: the admin's mutex, which serialises every use of
// the store.
func (t *Tables) StartHistory(lock sync.Locker, vars func() map[string]string) {
	st := t.st
	t.historyOnce.Do(func() {
		go func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				if !t.sampleHistory(st, lock, vars, time.Now()) {
					return
				}
				select {
				case <-st.Done():
					return
				case <-tick.C:
				}
			}
		}()
	})
}

// sampleHistory takes the samples that are due. It reports false once the
// store is closed.
func (t *Tables) sampleHistory(st *store.Store, lock sync.Locker, vars func() map[string]string, now time.Time) bool {
	lock.Lock()
	defer lock.Unlock()
	select {
	case <-st.Done():
		return false
	default:
	}
	v := vars()
	if v == nil {
		return true
	}
	interval := func(name string) int {
		n, _ := strconv.Atoi(v[name])
		return n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	us, ts := now.UnixMicro(), now.Unix()
	h := &t.history
	var err error
	if h.due("mysql_connections", interval("stats_mysql_connections"), us) {
		err = t.sampleConnections(ctx, ts)
	}
	if err == nil && h.due("mysql_query_cache", interval("stats_mysql_query_cache"), us) {
		err = t.sampleQueryCache(ctx, ts)
	}
	if err == nil && h.due("digest_to_disk", interval("stats_mysql_query_digest_to_disk"), us) {
		var n int
		start := time.Now()
		n, err = t.FlushDigests(ctx, ts)
		t.src.Log.Info(fmt.Sprintf("Automatically saved stats_mysql_query_digest to disk: %dms to write %d entries", time.Since(start).Milliseconds(), n))
	}
	if err == nil && h.due("system_cpu", interval("stats_system_cpu"), us) {
		err = t.sampleCPU(ctx, ts)
	}
	if err == nil && h.due("system_memory", interval("stats_system_memory"), us) {
		err = t.sampleMemory(ctx, ts)
	}
	if err != nil {
		t.src.Log.Warn("stats_history: cannot write a sample", "file", st.HistoryPath, "err", err)
	}
	return true
}

// insertSample writes one sample row into stats_history.table, then
// rolls the samples of finished hours up into table_hour with aggs (the
// aggregate of each column after timestamp) and applies the retention.
func (t *Tables) insertSample(ctx context.Context, table string, ts int64, vals []int64, aggs string) error {
	args := []any{ts}
	for _, v := range vals {
		args = append(args, v)
	}
	q := "INSERT INTO stats_history." + table + " VALUES (?" + strings.Repeat(", ?", len(vals)) + ")"
	if _, err := t.st.Conn.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	hour := (ts / 3600) * 3600
	roll := "INSERT INTO stats_history." + table + "_hour SELECT timestamp/3600*3600 , " + aggs + " FROM stats_history." + table
	var last *int64
	if err := t.st.Conn.QueryRowContext(ctx, "SELECT MAX(timestamp) FROM stats_history."+table+"_hour").Scan(&last); err != nil {
		return fmt.Errorf("%s_hour: %w", table, err)
	}
	var err error
	switch {
	case last == nil:
		_, err = t.st.Conn.ExecContext(ctx, roll+fmt.Sprintf(" WHERE timestamp < %d GROUP BY timestamp/3600", hour))
	case ts >= *last+3600:
		_, err = t.st.Conn.ExecContext(ctx, roll+fmt.Sprintf(" WHERE timestamp >= %d AND timestamp < %d GROUP BY timestamp/3600", *last+3600, hour))
	}
	if err != nil {
		return fmt.Errorf("%s_hour: %w", table, err)
	}
	return t.st.Exec(ctx,
		fmt.Sprintf("DELETE FROM stats_history.%s WHERE timestamp < %d", table, ts-3600*24*7),
		fmt.Sprintf("DELETE FROM stats_history.%s_hour WHERE timestamp < %d", table, ts-3600*24*365))
}

// namedValues picks the counters names lists from name/value pairs; a
// missing one is 0.
func namedValues(pairs [][2]string, names ...string) []int64 {
	m := map[string]string{}
	for _, p := range pairs {
		m[strings.ToLower(p[0])] = p[1]
	}
	out := make([]int64, len(names))
	for i, n := range names {
		out[i], _ = strconv.ParseInt(m[strings.ToLower(n)], 10, 64)
	}
	return out
}

func (t *Tables) sampleConnections(ctx context.Context, ts int64) error {
	vals := namedValues(t.GlobalStatus(), "Client_Connections_aborted", "Client_Connections_connected", "Client_Connections_created",
		"Server_Connections_aborted", "Server_Connections_connected", "Server_Connections_created", "ConnPool_get_conn_failure",
		"ConnPool_get_conn_immediate", "ConnPool_get_conn_success", "Questions", "Slow_queries", "GTID_consistent_queries")
	return t.insertSample(ctx, "mysql_connections", ts, vals, "MAX(Client_Connections_aborted), AVG(Client_Connections_connected), "+
		"MAX(Client_Connections_created), MAX(Server_Connections_aborted), AVG(Server_Connections_connected), MAX(Server_Connections_created), "+
		"MAX(ConnPool_get_conn_failure), MAX(ConnPool_get_conn_immediate), MAX(ConnPool_get_conn_success), MAX(Questions), MAX(Slow_queries), "+
		"MAX(GTID_consistent_queries)")
}

func (t *Tables) sampleQueryCache(ctx context.Context, ts int64) error {
	var pairs [][2]string
	if t.src.Stats != nil {
		pairs = t.src.Stats.DataPathGlobals()
	}
	vals := namedValues(pairs, "Query_Cache_count_GET", "Query_Cache_count_GET_OK", "Query_Cache_count_SET", "Query_Cache_bytes_IN",
		"Query_Cache_bytes_OUT", "Query_Cache_Purged", "Query_Cache_Entries", "Query_Cache_Memory_bytes")
	return t.insertSample(ctx, "mysql_query_cache", ts, vals, "MAX(count_GET), MAX(count_GET_OK), MAX(count_SET), MAX(bytes_IN), "+
		"MAX(bytes_OUT), MAX(Entries_Purged), AVG(Entries_In_Cache), AVG(Memory_bytes)")
}

// clockTicks converts a CPU time to times(2)'s clock ticks (100 per second
// on Linux).
func clockTicks(tv syscall.Timeval) int64 { return tv.Sec*100 + int64(tv.Usec)/10000 }

func (t *Tables) sampleCPU(ctx context.Context, ts int64) error {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return nil // ProxySQL skips the sample when times() fails
	}
	return t.insertSample(ctx, "system_cpu", ts, []int64{clockTicks(ru.Utime), clockTicks(ru.Stime)}, "SUM(tms_utime), SUM(tms_stime)")
}

func (t *Tables) sampleMemory(ctx context.Context, ts int64) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	resident := int64(ms.Sys - ms.HeapReleased)
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				resident = pages * int64(os.Getpagesize())
			}
		}
	}
	metadata := ms.MSpanSys + ms.MCacheSys + ms.BuckHashSys + ms.GCSys + ms.OtherSys
	vals := []int64{int64(ms.HeapAlloc), resident, int64(ms.HeapInuse + ms.StackInuse), int64(ms.Sys), int64(metadata), int64(ms.HeapReleased)}
	return t.insertSample(ctx, "system_memory", ts, vals, "AVG(allocated), AVG(resident), AVG(active), AVG(mapped), AVG(metadata), AVG(retained)")
}

// FlushDigests moves the query digests to
// stats_history.history_mysql_query_digest, stamped with dump_time, and
// empties the digest table, as ProxySQL's SAVE MYSQL DIGEST TO DISK does.
// It returns the number of digests written.
func (t *Tables) FlushDigests(ctx context.Context, now int64) (int, error) {
	if t.src.Stats == nil {
		return 0, nil
	}
	rows := digestRows(t.src.Stats.Registry().Digests(true))
	if err := t.st.Exec(ctx, "DELETE FROM stats.stats_mysql_query_digest", "DELETE FROM stats.stats_mysql_query_digest_reset"); err != nil {
		return 0, err
	}
	for i := range rows {
		rows[i] = append([]any{now}, rows[i]...)
	}
	err := t.st.InsertBatches(ctx, "stats_history.history_mysql_query_digest", 32, rows)
	return len(rows), err
}
