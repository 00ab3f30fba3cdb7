package monitor

import (
	"sort"
	"sync"
	"time"
)

// logKind is one of the monitor.mysql_server_*_log tables.
type logKind int

const (
	logConnect logKind = iota
	logPing
	logReadOnly
	logLag
	numLogs
)

// perHost bounds each host's history per table. ProxySQL bounds by age
// (mysql-monitor_history) only; at a 100 ms interval that is 72,000 rows
// per host and table, so sqlgate keeps the newest perHost as well.
const perHost = 256

// entry is one check result.
type entry struct {
	host  hostKey
	start time.Time
	took  time.Duration
	err   error
	value int64 // read_only or lag; unused for connect and ping
}

// ring keeps the newest perHost entries of one host.
type ring struct {
	buf  [perHost]entry
	next int
	n    int
}

func (r *ring) add(e entry) {
	r.buf[r.next] = e
	r.next = (r.next + 1) % perHost
	if r.n < perHost {
		r.n++
	}
}

// logs holds the monitor's history in memory; the admin copies it into the
// monitor schema when a query reads those tables, so a check never waits
// on SQLite.
type logs struct {
	mu sync.Mutex
	m  [numLogs]map[hostKey]*ring
}

func (l *logs) add(k logKind, e entry) {
	l.mu.Lock()
	if l.m[k] == nil {
		l.m[k] = map[hostKey]*ring{}
	}
	r := l.m[k][e.host]
	if r == nil {
		r = &ring{}
		l.m[k][e.host] = r
	}
	r.add(e)
	l.mu.Unlock()
}

// forget drops the history of a host that left the configuration.
func (l *logs) forget(h hostKey) {
	l.mu.Lock()
	for _, m := range l.m {
		delete(m, h)
	}
	l.mu.Unlock()
}

// Row is one row of a monitor.mysql_server_*_log table.
type Row struct {
	Host        string
	Port        int
	TimeStartUs int64
	SuccessUs   int64  // connect_success_time_us, ping_success_time_us, success_time_us
	Value       *int64 // read_only or repl_lag; nil for NULL
	Error       *string
}

func (l *logs) rows(k logKind, since time.Time, withValue bool) []Row {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Row
	for key, r := range l.m[k] {
		for i := 0; i < r.n; i++ {
			e := r.buf[(r.next-r.n+i+perHost)%perHost]
			if e.start.Before(since) {
				continue
			}
			row := Row{Host: key.host, Port: key.port, TimeStartUs: e.start.UnixMicro()}
			if e.err != nil {
				msg := e.err.Error()
				row.Error = &msg
			} else {
				row.SuccessUs = e.took.Microseconds()
				if withValue && e.value >= 0 {
					v := e.value
					row.Value = &v
				}
			}
			out = append(out, row)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		if out[i].Port != out[j].Port {
			return out[i].Port < out[j].Port
		}
		return out[i].TimeStartUs < out[j].TimeStartUs
	})
	return out
}

// Table names the admin asks for.
const (
	ConnectLog  = "mysql_server_connect_log"
	PingLog     = "mysql_server_ping_log"
	ReadOnlyLog = "mysql_server_read_only_log"
	LagLog      = "mysql_server_replication_lag_log"
)

// Log returns a monitor log table's rows younger than mysql-monitor_history.
func (m *Monitor) Log(table string) []Row {
	snap := m.store.Load()
	since := time.Time{}
	if snap != nil {
		since = time.Now().Add(-snap.Vars.Monitor.History)
	}
	switch table {
	case ConnectLog:
		return m.logs.rows(logConnect, since, false)
	case PingLog:
		return m.logs.rows(logPing, since, false)
	case ReadOnlyLog:
		return m.logs.rows(logReadOnly, since, true)
	case LagLog:
		return m.logs.rows(logLag, since, true)
	}
	return nil
}
