package monitor

import (
	"sort"
	"sync"
	"time"

	"sqlgate/internal/runtime"
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

// Logs holds the monitor's history in memory; the admin copies it into
// the monitor schema when a query reads those tables, so a check never
// waits on SQLite. It exists before the monitor (NewLogs), so the admin
// that shows it and the monitor that fills it can be built in one pass.
type Logs struct {
	store *runtime.Store // for mysql-monitor_history
	mu    sync.Mutex
	m     [numLogs]map[hostKey]*ring
}

// NewLogs returns an empty history that keeps what store's
// mysql-monitor_history says.
func NewLogs(store *runtime.Store) *Logs { return &Logs{store: store} }

func (l *Logs) add(k logKind, e entry) {
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
func (l *Logs) forget(h hostKey) {
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

func (l *Logs) rows(k logKind, since time.Time, withValue bool) []Row {
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
func (l *Logs) Log(table string) []Row {
	snap := l.store.Load()
	since := time.Time{}
	if snap != nil {
		since = time.Now().Add(-snap.Vars.Monitor.History)
	}
	switch table {
	case ConnectLog:
		return l.rows(logConnect, since, false)
	case PingLog:
		return l.rows(logPing, since, false)
	case ReadOnlyLog:
		return l.rows(logReadOnly, since, true)
	case LagLog:
		return l.rows(logLag, since, true)
	}
	return nil
}

// Log returns a monitor log table's rows (see Logs.Log).
func (m *Monitor) Log(table string) []Row { return m.logs.Log(table) }

// tableCols are the columns of the monitor schema's log tables.
var tableCols = map[string][]string{
	ConnectLog:  {"hostname", "port", "time_start_us", "connect_success_time_us", "connect_error"},
	PingLog:     {"hostname", "port", "time_start_us", "ping_success_time_us", "ping_error"},
	ReadOnlyLog: {"hostname", "port", "time_start_us", "success_time_us", "read_only", "error"},
	LagLog:      {"hostname", "port", "time_start_us", "success_time_us", "repl_lag", "error"},
}

// Table returns a log as the admin's monitor schema shows it: column names
// and values (nil for NULL). ok is false for a table the monitor does not
// keep.
func (l *Logs) Table(name string) (cols []string, rows [][]any, ok bool) {
	cols, ok = tableCols[name]
	if !ok {
		return nil, nil, false
	}
	for _, r := range l.Log(name) {
		row := []any{r.Host, r.Port, r.TimeStartUs, r.SuccessUs}
		if len(cols) == 6 {
			if r.Value != nil {
				row = append(row, *r.Value)
			} else {
				row = append(row, nil)
			}
		}
		if r.Error != nil {
			row = append(row, *r.Error)
		} else {
			row = append(row, nil)
		}
		rows = append(rows, row)
	}
	return cols, rows, true
}
