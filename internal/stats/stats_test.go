package stats

import (
	"testing"
	"time"
)

func TestCommandBuckets(t *testing.T) {
	r := New(0)
	for _, d := range []time.Duration{50 * time.Microsecond, 2 * time.Millisecond, 20 * time.Second} {
		r.Command("SELECT", d)
	}
	r.Command("NOT_A_COMMAND", time.Millisecond)
	for _, row := range r.CommandRows() {
		switch row.Command {
		case "SELECT":
			if row.Count != 3 || row.Buckets[0] != 1 || row.Buckets[3] != 1 || row.Buckets[11] != 1 {
				t.Errorf("SELECT row %+v", row)
			}
			if want := int64(50 + 2000 + 20000000); row.TotalUs != want {
				t.Errorf("SELECT total %d us, want %d", row.TotalUs, want)
			}
		case "UNKNOWN":
			if row.Count != 1 {
				t.Errorf("unknown commands must count as UNKNOWN: %+v", row)
			}
		}
	}
}

func TestDigestBoundAndReset(t *testing.T) {
	r := New(2)
	k := func(d uint64) DigestKey { return DigestKey{Schema: "s", User: "u", Digest: d} }
	r.Digest(k(1), "SELECT ?", 3*time.Millisecond, 0, 5)
	r.Digest(k(1), "SELECT ?", time.Millisecond, 0, 1)
	r.Digest(k(2), "UPDATE t SET a=?", time.Millisecond, 4, 0)
	r.Digest(k(3), "DELETE FROM t", time.Millisecond, 1, 0) // over the bound
	if r.DigestCount() != 2 || r.DigestsDropped.Load() != 1 {
		t.Fatalf("count %d dropped %d, want 2 and 1", r.DigestCount(), r.DigestsDropped.Load())
	}
	rows := r.Digests(false)
	if rows[0].Digest != 1 || rows[0].Count != 2 || rows[0].MinUs != 1000 || rows[0].MaxUs != 3000 || rows[0].SumRowsSent != 6 {
		t.Errorf("digest 1: %+v", rows[0])
	}
	if got := r.Digests(true); len(got) != 2 || r.DigestCount() != 0 || len(r.Digests(false)) != 0 {
		t.Errorf("reset: returned %d rows, %d left", len(got), r.DigestCount())
	}
	r.Digest(k(3), "DELETE FROM t", time.Millisecond, 1, 0)
	if r.DigestCount() != 1 {
		t.Error("after a reset there is room again")
	}
}
