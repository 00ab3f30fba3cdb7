// Package stats collects the data path's counters for the admin stats_*
// tables: per-command counters with latency buckets, the bounded query
// digest table and global counters. Recording is lock-free for counters and
// takes one of several shard locks for digests.
package stats

import (
	"hash/maphash"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Commands are the stats_mysql_commands_counters rows, in ProxySQL's order.
var Commands = []string{"ALTER_TABLE", "ALTER_VIEW", "ANALYZE_TABLE", "BEGIN", "CALL", "CHANGE_MASTER", "COMMIT",
	"CREATE_DATABASE", "CREATE_INDEX", "CREATE_TABLE", "CREATE_TEMPORARY", "CREATE_TRIGGER", "CREATE_USER",
	"CREATE_VIEW", "DEALLOCATE", "DELETE", "DESCRIBE", "DROP_DATABASE", "DROP_INDEX", "DROP_TABLE", "DROP_TRIGGER",
	"DROP_USER", "DROP_VIEW", "GRANT", "EXECUTE", "EXPLAIN", "FLUSH", "INSERT", "KILL", "LOAD", "LOCK_TABLE",
	"OPTIMIZE", "PREPARE", "PURGE", "RELEASE_SAVEPOINT", "RENAME_TABLE", "RESET_MASTER", "RESET_SLAVE", "REPLACE",
	"REVOKE", "ROLLBACK", "ROLLBACK_SAVEPOINT", "SAVEPOINT", "SELECT", "SELECT_FOR_UPDATE", "SET", "SHOW_TABLE_STATUS",
	"START_TRANSACTION", "TRUNCATE_TABLE", "UNLOCK_TABLES", "UPDATE", "USE", "SHOW", "UNKNOWN"}

var commandIndex = func() map[string]int {
	m := map[string]int{}
	for i, c := range Commands {
		m[c] = i
	}
	return m
}()

// Buckets are the latency upper bounds of the cnt_* columns; the last
// bucket (cnt_INFs) has no bound.
var Buckets = []time.Duration{100 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond, time.Second,
	5 * time.Second, 10 * time.Second}

// BucketNames are the cnt_* column names.
var BucketNames = []string{"cnt_100us", "cnt_500us", "cnt_1ms", "cnt_5ms", "cnt_10ms", "cnt_50ms", "cnt_100ms",
	"cnt_500ms", "cnt_1s", "cnt_5s", "cnt_10s", "cnt_INFs"}

type commandCounter struct {
	totalUs atomic.Int64
	count   atomic.Int64
	buckets [12]atomic.Int64
}

// CommandRow is one stats_mysql_commands_counters row.
type CommandRow struct {
	Command string
	TotalUs int64
	Count   int64
	Buckets [12]int64
}

// DigestKey identifies a stats_mysql_query_digest row.
type DigestKey struct {
	Hostgroup     int
	Schema        string
	User          string
	ClientAddress string
	Digest        uint64
}

// DigestRow is one stats_mysql_query_digest row.
type DigestRow struct {
	DigestKey
	Text                string
	Count               int64
	FirstSeen, LastSeen int64 // unix seconds
	SumUs, MinUs, MaxUs int64
	SumRowsAffected     int64
	SumRowsSent         int64
}

const shards = 16

type digestShard struct {
	mu sync.Mutex
	m  map[DigestKey]*DigestRow
}

// Registry holds every counter of one sqlgate process.
type Registry struct {
	commands []commandCounter

	seed    maphash.Seed
	shards  [shards]digestShard
	entries atomic.Int64
	// MaxDigests bounds the digest table (0: unbounded); statements whose
	// digest does not fit are counted in DigestsDropped.
	MaxDigests     atomic.Int64
	DigestsDropped atomic.Int64

	// Global counters for stats_mysql_global.
	ClientConnectionsCreated atomic.Int64
	ClientConnectionsAborted atomic.Int64
	Questions                atomic.Int64
	SlowQueries              atomic.Int64
	QueriesBackendsBytesSent atomic.Int64
	QueriesBackendsBytesRecv atomic.Int64
	StartTime                time.Time
}

// New returns an empty registry bounded to maxDigests digest rows.
func New(maxDigests int) *Registry {
	r := &Registry{seed: maphash.MakeSeed(), StartTime: time.Now(), commands: make([]commandCounter, len(Commands))}
	r.MaxDigests.Store(int64(maxDigests))
	for i := range r.shards {
		r.shards[i].m = map[DigestKey]*DigestRow{}
	}
	return r
}

// Command records one statement of the named command type.
func (r *Registry) Command(name string, d time.Duration) {
	i, ok := commandIndex[name]
	if !ok {
		i = commandIndex["UNKNOWN"]
	}
	c := &r.commands[i]
	us := d.Microseconds()
	c.totalUs.Add(us)
	c.count.Add(1)
	b := len(Buckets)
	for j, lim := range Buckets {
		if d <= lim {
			b = j
			break
		}
	}
	c.buckets[b].Add(1)
}

// CommandRows returns the counters of every command type.
func (r *Registry) CommandRows() []CommandRow {
	out := make([]CommandRow, len(Commands))
	for i, name := range Commands {
		c := &r.commands[i]
		out[i] = CommandRow{Command: name, TotalUs: c.totalUs.Load(), Count: c.count.Load()}
		for j := range c.buckets {
			out[i].Buckets[j] = c.buckets[j].Load()
		}
	}
	return out
}

// Digest records one execution in the digest table.
func (r *Registry) Digest(k DigestKey, text string, d time.Duration, rowsAffected, rowsSent int64) {
	var h maphash.Hash
	h.SetSeed(r.seed)
	var b [8]byte
	for i := range b {
		b[i] = byte(k.Digest >> (8 * i))
	}
	h.Write(b[:])
	h.WriteString(k.User)
	sh := &r.shards[h.Sum64()%shards]
	us := d.Microseconds()
	now := time.Now().Unix()
	sh.mu.Lock()
	e := sh.m[k]
	if e == nil {
		if max := r.MaxDigests.Load(); max > 0 && r.entries.Load() >= max {
			sh.mu.Unlock()
			r.DigestsDropped.Add(1)
			return
		}
		e = &DigestRow{DigestKey: k, Text: text, FirstSeen: now, MinUs: us}
		sh.m[k] = e
		r.entries.Add(1)
	}
	e.Count++
	e.LastSeen = now
	e.SumUs += us
	e.MinUs = min(e.MinUs, us)
	e.MaxUs = max(e.MaxUs, us)
	e.SumRowsAffected += rowsAffected
	e.SumRowsSent += rowsSent
	sh.mu.Unlock()
}

// Digests returns a copy of the digest table; with reset it also empties
// it (stats_mysql_query_digest_reset).
func (r *Registry) Digests(reset bool) []DigestRow {
	var out []DigestRow
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			out = append(out, *e)
		}
		if reset {
			r.entries.Add(-int64(len(sh.m)))
			sh.m = map[DigestKey]*DigestRow{}
		}
		sh.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SumUs > out[j].SumUs })
	return out
}

// DigestCount is the number of rows in the digest table.
func (r *Registry) DigestCount() int64 { return r.entries.Load() }

// Process is one stats_mysql_processlist row.
type Process struct {
	SessionID  uint32
	User       string
	DB         string
	ClientHost string
	ClientPort string
	Hostgroup  int // -1 when idle
	SrvHost    string
	SrvPort    int
	Command    string // "Sleep" or "Query"
	TimeMs     int64
	Info       string
}
