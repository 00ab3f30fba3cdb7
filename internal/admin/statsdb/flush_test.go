package statsdb

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"sqlgate/internal/admin/store"
	"sqlgate/internal/stats"
)

// fakeStats is the data path with only a digest table.
type fakeStats struct{ reg *stats.Registry }

func (f fakeStats) Processlist() []stats.Process    { return nil }
func (f fakeStats) UserConnections() map[string]int { return nil }
func (f fakeStats) ClientConnections() int64        { return 0 }
func (f fakeStats) Questions() int64                { return 0 }
func (f fakeStats) Registry() *stats.Registry       { return f.reg }
func (f fakeStats) DataPathGlobals() [][2]string    { return nil }

// TestFlushDigests is SAVE MYSQL DIGEST TO DISK: every digest moves to
// stats_history.history_mysql_query_digest (more than one insert batch
// of them), stamped with the dump time, and the digest table is empty.
func TestFlushDigests(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "proxysql.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := stats.New(1000)
	const n = 70 // three batches of 32
	for i := range n {
		reg.Digest(stats.DigestKey{Hostgroup: 0, Schema: "db", User: "app", Digest: uint64(i + 1)}, fmt.Sprintf("SELECT %d", i), time.Millisecond, 0, 1)
	}
	tb := New(st, Sources{Stats: fakeStats{reg}})
	got, err := tb.FlushDigests(ctx, 1234)
	if err != nil || got != n {
		t.Fatalf("FlushDigests = %d, %v; want %d", got, err, n)
	}
	var rows, stamped int
	st.Conn.QueryRowContext(ctx, "SELECT COUNT(*), SUM(dump_time = 1234) FROM stats_history.history_mysql_query_digest").Scan(&rows, &stamped)
	if rows != n || stamped != n {
		t.Fatalf("history holds %d digests, %d stamped 1234; want %d", rows, stamped, n)
	}
	if reg.DigestCount() != 0 {
		t.Fatalf("%d digests left in the table", reg.DigestCount())
	}
}
