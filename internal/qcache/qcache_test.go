package qcache

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// t0 is an arbitrary base time without a monotonic reading; every test passes
// explicit offsets from it instead of sleeping.
var t0 = time.Unix(1_700_000_000, 0)

func at(d time.Duration) time.Time { return t0.Add(d) }

func size(k Key, data []byte) int64 { return entrySize(&k, len(data)) }

// checkInvariants verifies that the accounting matches the maps exactly.
func checkInvariants(t *testing.T, c *Cache) {
	t.Helper()
	var mem, n int64
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		for h, head := range s.m {
			for e := head; e != nil; e = e.next {
				if e.size != size(e.key, e.data) {
					t.Errorf("entry %q charged %d, want %d", e.key.Query, e.size, size(e.key, e.data))
				}
				if c.hash(&e.key) != h || c.shardFor(h) != s {
					t.Errorf("entry %q filed under the wrong hash or shard", e.key.Query)
				}
				mem += e.size
				n++
			}
		}
		s.mu.RUnlock()
	}
	st := c.Stats()
	if st.MemoryBytes != mem || st.Entries != n {
		t.Errorf("Stats memory=%d entries=%d, maps hold memory=%d entries=%d", st.MemoryBytes, st.Entries, mem, n)
	}
	if lim := c.limit.Load(); mem > lim && lim >= 0 {
		// Only allowed after SetLimit shrank the limit; callers that shrink do not call this.
		t.Errorf("memory %d over limit %d", mem, lim)
	}
}

// hashModes runs a test with real hashes and with every key forced onto the
// same hash, so that correctness never depends on the hash being collision-free.
var hashModes = []struct {
	name string
	mask uint64
}{
	{"hashed", ^uint64(0)},
	{"all keys collide", 0},
}

func newCache(limit int64, mask uint64) *Cache {
	c := New(limit)
	c.mask = mask
	return c
}

func TestKeyIsolation(t *testing.T) {
	for _, m := range hashModes {
		t.Run(m.name, func(t *testing.T) { testKeyIsolation(t, m.mask) })
	}
}

func testKeyIsolation(t *testing.T, mask uint64) {
	base := Key{User: "app", Schema: "shop", DeprecateEOF: true, Query: "SELECT * FROM t WHERE id=1"}
	tests := []struct {
		name string
		key  Key
		hit  bool
	}{
		{"same key", base, true},
		{"other user", Key{"app2", "shop", true, base.Query}, false},
		{"other schema", Key{"app", "shop2", true, base.Query}, false},
		{"empty schema", Key{"app", "", true, base.Query}, false},
		{"EOF-terminated client", Key{"app", "shop", false, base.Query}, false},
		{"trailing space", Key{"app", "shop", true, base.Query + " "}, false},
		{"different case", Key{"app", "shop", true, strings.ToLower(base.Query)}, false},
		{"different literal", Key{"app", "shop", true, "SELECT * FROM t WHERE id=2"}, false},
		{"user/schema boundary shifted", Key{"ap", "pshop", true, base.Query}, false},
		{"schema/query boundary shifted", Key{"app", "sho", true, "p" + base.Query}, false},
	}
	c := newCache(1<<20, mask)
	want := []byte("resultset packets")
	if !c.Set(base, want, time.Minute, at(0)) {
		t.Fatal("Set refused")
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := c.Get(tc.key, at(time.Second))
			if ok != tc.hit {
				t.Fatalf("hit=%v, want %v", ok, tc.hit)
			}
			if ok && !bytes.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			if !ok && got != nil {
				t.Fatalf("miss returned data %q", got)
			}
		})
	}
}

func TestEachKeyGetsItsOwnResult(t *testing.T) {
	// Every variant of the key is stored at once; each must read back its own
	// data, also when they all share one hash chain. Removing entries from the
	// head, middle and tail of a chain must leave the others reachable.
	keys := []Key{
		{"u1", "s1", false, "SELECT 1"},
		{"u2", "s1", false, "SELECT 1"},
		{"u1", "s2", false, "SELECT 1"},
		{"u1", "s1", true, "SELECT 1"},
		{"u1", "s1", false, "SELECT  1"},
	}
	for _, m := range hashModes {
		t.Run(m.name, func(t *testing.T) {
			c := newCache(1<<20, m.mask)
			for i, k := range keys {
				// Odd entries expire at 1s, even ones live on.
				ttl := time.Minute
				if i%2 == 1 {
					ttl = time.Second
				}
				c.Set(k, []byte{byte(i)}, ttl, at(0))
			}
			// Replace one from the middle of the chain; the new entry becomes
			// the chain head, and expires with the other odd ones.
			c.Set(keys[3], []byte{3, 3}, time.Second, at(0))
			check := func(now time.Duration, live func(i int) bool) {
				t.Helper()
				for i, k := range keys {
					want := []byte{byte(i)}
					if i == 3 {
						want = []byte{3, 3}
					}
					got, ok := c.Get(k, at(now))
					if ok != live(i) || (ok && !bytes.Equal(got, want)) {
						t.Errorf("%+v at %v: got %v %v, want %v live=%v", k, now, got, ok, want, live(i))
					}
				}
				checkInvariants(t, c)
			}
			check(0, func(int) bool { return true })
			if n := c.Purge(at(time.Second)); n != 2 {
				t.Fatalf("Purge = %d, want 2", n)
			}
			check(time.Second, func(i int) bool { return i%2 == 0 })
			if n := c.Flush(); n != 3 {
				t.Fatalf("Flush = %d, want 3", n)
			}
			check(0, func(int) bool { return false })
		})
	}
}

func TestTTL(t *testing.T) {
	k := Key{User: "u", Schema: "s", Query: "SELECT 1"}
	tests := []struct {
		name   string
		ttl    time.Duration
		getAt  time.Duration
		stored bool
		hit    bool
	}{
		{"fresh", 10 * time.Second, 0, true, true},
		{"just before expiry", 10 * time.Second, 10*time.Second - time.Nanosecond, true, true},
		{"at expiry", 10 * time.Second, 10 * time.Second, true, false},
		{"after expiry", 10 * time.Second, time.Hour, true, false},
		{"one millisecond ttl", time.Millisecond, time.Millisecond, true, false},
		{"zero ttl not stored", 0, 0, false, false},
		{"negative ttl not stored", -time.Second, 0, false, false},
		{"huge ttl does not overflow", time.Duration(1<<63 - 1), 100 * 365 * 24 * time.Hour, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(1 << 20)
			if got := c.Set(k, []byte("x"), tc.ttl, at(0)); got != tc.stored {
				t.Fatalf("Set=%v, want %v", got, tc.stored)
			}
			if _, ok := c.Get(k, at(tc.getAt)); ok != tc.hit {
				t.Fatalf("hit=%v, want %v", ok, tc.hit)
			}
		})
	}
}

func TestReplaceRestartsTTL(t *testing.T) {
	k := Key{User: "u", Query: "SELECT 1"}
	c := New(1 << 20)
	c.Set(k, []byte("old"), 10*time.Second, at(0))
	c.Set(k, []byte("newer"), 10*time.Second, at(8*time.Second))
	got, ok := c.Get(k, at(15*time.Second))
	if !ok || string(got) != "newer" {
		t.Fatalf("got %q %v, want newer", got, ok)
	}
	if st := c.Stats(); st.Entries != 1 || st.MemoryBytes != size(k, []byte("newer")) {
		t.Fatalf("after replace: %+v", st)
	}
	checkInvariants(t, c)
}

func TestSetCopiesCallerBuffers(t *testing.T) {
	q := []byte("SELECT 1")
	data := []byte("abc")
	c := New(1 << 20)
	c.Set(Key{User: "u", Query: string(q)}, data, time.Minute, at(0))
	data[0] = 'X'
	got, ok := c.Get(Key{User: "u", Query: "SELECT 1"}, at(0))
	if !ok || string(got) != "abc" {
		t.Fatalf("got %q %v: Set did not copy the data", got, ok)
	}
	if cap(got) != len(got) {
		t.Fatalf("cap %d != len %d: a caller's append could write into the cache", cap(got), len(got))
	}
}

func TestSoftTTL(t *testing.T) {
	k := Key{User: "u", Schema: "s", Query: "SELECT slow()"}
	const ttl = 10 * time.Second
	tests := []struct {
		name   string
		pct    int
		getAt  time.Duration
		misses int // among readers concurrent Gets
	}{
		{"disabled", 0, 9 * time.Second, 0},
		{"100 disables", 100, 9 * time.Second, 0},
		{"before soft age", 50, 5*time.Second - time.Nanosecond, 0},
		{"at soft age", 50, 5 * time.Second, 1},
		{"past soft age", 50, 9 * time.Second, 1},
		{"past hard ttl everyone misses", 50, ttl, readers},
		{"small pct", 1, 100 * time.Millisecond, 1},
		{"out of range clamps to 100", 250, 9 * time.Second, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(1 << 20)
			c.SetSoftTTLPct(tc.pct)
			c.Set(k, []byte("v1"), ttl, at(0))
			if got := concurrentMisses(c, k, at(tc.getAt)); got != tc.misses {
				t.Fatalf("%d misses among %d readers, want %d", got, readers, tc.misses)
			}
		})
	}

	t.Run("refresh cycle", func(t *testing.T) {
		c := New(1 << 20)
		c.SetSoftTTLPct(50)
		c.Set(k, []byte("v1"), ttl, at(0))
		if n := concurrentMisses(c, k, at(6*time.Second)); n != 1 {
			t.Fatalf("first pass: %d misses, want 1", n)
		}
		// Until the refresher stores the new result, everyone else still hits.
		if n := concurrentMisses(c, k, at(7*time.Second)); n != 0 {
			t.Fatalf("while refreshing: %d misses, want 0", n)
		}
		c.Set(k, []byte("v2"), ttl, at(7*time.Second))
		for _, d := range []time.Duration{7 * time.Second, 11*time.Second + 999*time.Millisecond} {
			got, ok := c.Get(k, at(d))
			if !ok || string(got) != "v2" {
				t.Fatalf("after refresh at %v: got %q %v, want v2", d, got, ok)
			}
		}
		// The new entry has its own soft age: 7s + 5s.
		if n := concurrentMisses(c, k, at(12*time.Second)); n != 1 {
			t.Fatalf("second soft age: %d misses, want 1", n)
		}
		st := c.Stats()
		if st.CountGETOK != st.CountGET-2 {
			t.Fatalf("soft misses must not count as GET_OK: %+v", st)
		}
	})
}

const readers = 32

// concurrentMisses runs readers simultaneous Gets at now and counts the misses.
func concurrentMisses(c *Cache, k Key, now time.Time) int {
	var misses atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range readers {
		wg.Go(func() {
			<-start
			if _, ok := c.Get(k, now); !ok {
				misses.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	return int(misses.Load())
}

func TestLimit(t *testing.T) {
	data := bytes.Repeat([]byte("r"), 100)
	key := func(i int) Key { return Key{User: "u", Schema: "s", Query: fmt.Sprintf("SELECT %d", i)} }
	one := size(key(0), data) // all keys below have the same length

	t.Run("entry larger than limit", func(t *testing.T) {
		c := New(one - 1)
		if c.Set(key(0), data, time.Minute, at(0)) {
			t.Fatal("stored an entry larger than the whole cache")
		}
		if st := c.Stats(); st.Entries != 0 || st.CountSET != 0 || st.MemoryBytes != 0 {
			t.Fatalf("refused Set changed stats: %+v", st)
		}
	})

	t.Run("exact fit then full", func(t *testing.T) {
		c := New(2 * one)
		for i, want := range []bool{true, true, false} {
			if got := c.Set(key(i), data, time.Minute, at(0)); got != want {
				t.Fatalf("Set %d = %v, want %v", i, got, want)
			}
		}
		if _, ok := c.Get(key(2), at(0)); ok {
			t.Fatal("refused entry is readable")
		}
		// Replacing with the same size fits: the old entry's bytes are released.
		if !c.Set(key(0), data, time.Minute, at(0)) {
			t.Fatal("same-size replacement refused")
		}
		// A larger replacement does not fit, and the old entry survives.
		if c.Set(key(0), append(data, 'x'), time.Minute, at(0)) {
			t.Fatal("larger replacement stored over the limit")
		}
		if got, ok := c.Get(key(0), at(0)); !ok || len(got) != len(data) {
			t.Fatal("refused replacement lost the old entry")
		}
		checkInvariants(t, c)
	})

	t.Run("full cache purges expired to make room", func(t *testing.T) {
		c := New(2 * one)
		c.Set(key(0), data, time.Second, at(0))
		c.Set(key(1), data, time.Minute, at(0))
		if c.Set(key(2), data, time.Minute, at(time.Second-1)) {
			t.Fatal("stored while nothing had expired")
		}
		if !c.Set(key(2), data, time.Minute, at(time.Second)) {
			t.Fatal("expired entry was not purged to make room")
		}
		st := c.Stats()
		if st.Purged != 1 || st.Entries != 2 {
			t.Fatalf("stats %+v, want Purged=1 Entries=2", st)
		}
		checkInvariants(t, c)
	})

	t.Run("SetLimit shrinking", func(t *testing.T) {
		c := New(10 * one)
		for i := range 4 {
			c.Set(key(i), data, time.Minute, at(0))
		}
		c.SetLimit(2 * one)
		// Nothing is evicted by SetLimit itself...
		if _, ok := c.Get(key(3), at(0)); !ok {
			t.Fatal("SetLimit evicted an entry")
		}
		// ...but nothing new is accepted while over the limit.
		if c.Set(key(9), data, time.Minute, at(0)) {
			t.Fatal("Set accepted while over the shrunk limit")
		}
		if c.Set(key(0), data, time.Minute, at(0)) {
			t.Fatal("replacement accepted while over the shrunk limit")
		}
		if n := c.Flush(); n != 4 {
			t.Fatalf("Flush = %d, want 4", n)
		}
		if !c.Set(key(9), data, time.Minute, at(0)) {
			t.Fatal("Set refused after Flush under the shrunk limit")
		}
		c.SetLimit(0)
		if c.Set(key(8), data, time.Minute, at(0)) {
			t.Fatal("stored with limit 0")
		}
		c.SetLimit(-5)
		if c.limit.Load() != 0 {
			t.Fatal("negative limit not clamped")
		}
	})
}

func TestPurgeAndFlush(t *testing.T) {
	c := New(1 << 20)
	ttls := []time.Duration{time.Second, 2 * time.Second, 2 * time.Second, 5 * time.Second, time.Hour}
	for i, ttl := range ttls {
		c.Set(Key{User: "u", Query: fmt.Sprintf("q%d", i)}, []byte("data"), ttl, at(0))
	}
	steps := []struct {
		at         time.Duration
		purged     int
		entries    int64
		totalPurge int64
	}{
		{0, 0, 5, 0},
		{time.Second - 1, 0, 5, 0},
		{time.Second, 1, 4, 1},
		{time.Second, 0, 4, 1}, // idempotent
		{3 * time.Second, 2, 2, 3},
		{time.Minute, 1, 1, 4},
	}
	for _, s := range steps {
		if n := c.Purge(at(s.at)); n != s.purged {
			t.Fatalf("Purge(%v) = %d, want %d", s.at, n, s.purged)
		}
		st := c.Stats()
		if st.Entries != s.entries || st.Purged != s.totalPurge {
			t.Fatalf("after Purge(%v): %+v, want Entries=%d Purged=%d", s.at, st, s.entries, s.totalPurge)
		}
		checkInvariants(t, c)
	}
	c.Set(Key{User: "u", Query: "again"}, []byte("data"), time.Hour, at(0))
	if n := c.Flush(); n != 2 {
		t.Fatalf("Flush = %d, want 2", n)
	}
	if n := c.Flush(); n != 0 {
		t.Fatalf("second Flush = %d, want 0", n)
	}
	st := c.Stats()
	if st.Entries != 0 || st.MemoryBytes != 0 || st.Purged != 4 {
		t.Fatalf("after Flush: %+v (flushed entries are not Purged)", st)
	}
	if _, ok := c.Get(Key{User: "u", Query: "q4"}, at(0)); ok {
		t.Fatal("hit after Flush")
	}
}

func TestStats(t *testing.T) {
	c := New(1 << 20)
	k1 := Key{User: "alice", Schema: "db", Query: "SELECT a"}
	k2 := Key{User: "bob", Schema: "db2", DeprecateEOF: true, Query: "SELECT bb"}
	d1, d2 := []byte("0123456789"), []byte("xyz")

	c.Get(k1, at(0))                     // miss
	c.Set(k1, d1, time.Second, at(0))    // SET
	c.Set(k2, d2, time.Minute, at(0))    // SET
	c.Set(k1, d1, 0, at(0))              // refused: not counted
	c.Get(k1, at(0))                     // hit 10
	c.Get(k1, at(0))                     // hit 10
	c.Get(k2, at(0))                     // hit 3
	c.Get(k1, at(time.Second))           // expired: miss
	c.Get(Key{Query: "SELECT a"}, at(0)) // miss

	want := Stats{
		MemoryBytes: size(k1, d1) + size(k2, d2),
		CountGET:    6,
		CountGETOK:  3,
		CountSET:    2,
		BytesIN:     13,
		BytesOUT:    23,
		Purged:      0,
		Entries:     2,
	}
	if got := c.Stats(); got != want {
		t.Fatalf("Stats\n got %+v\nwant %+v", got, want)
	}
	if want.MemoryBytes != 10+13+3+17+2*EntryOverhead {
		t.Fatalf("memory accounting changed: %d", want.MemoryBytes)
	}
	c.Purge(at(time.Second))
	want.MemoryBytes, want.Entries, want.Purged = size(k2, d2), 1, 1
	if got := c.Stats(); got != want {
		t.Fatalf("after Purge\n got %+v\nwant %+v", got, want)
	}
}

func TestPurgeTick(t *testing.T) {
	data := bytes.Repeat([]byte("d"), 1000)
	key := func(i int) Key { return Key{User: "u", Query: fmt.Sprintf("SELECT %03d", i)} }
	one := size(key(0), data)

	t.Run("below 3% does nothing", func(t *testing.T) {
		c := New(40 * one) // one entry is 2.5 %
		c.Set(key(0), data, time.Second, at(0))
		if n := c.purgeTick(at(time.Hour)); n != 0 {
			t.Fatalf("purged %d below the threshold", n)
		}
	})

	t.Run("at 3% purges expired only", func(t *testing.T) {
		c := New(20 * one) // 5 % per entry
		c.Set(key(0), data, time.Second, at(0))
		c.Set(key(1), data, time.Hour, at(0))
		if n := c.purgeTick(at(time.Minute)); n != 1 {
			t.Fatalf("purged %d, want 1", n)
		}
		if _, ok := c.Get(key(1), at(time.Minute)); !ok {
			t.Fatal("live entry purged")
		}
	})

	t.Run("above 90% evicts least recently read", func(t *testing.T) {
		// Put all entries in one shard so the per-shard access range is known.
		c := newCache(10*one, 0)
		var keys []Key
		for i := range 10 {
			keys = append(keys, key(i))
		}
		for i, k := range keys {
			if !c.Set(k, data, time.Hour, at(time.Duration(i)*time.Second)) {
				t.Fatalf("Set %d refused", i)
			}
		}
		// Read entries 2..9 later, so 0 and 1 are the least recently read.
		for i := 2; i < 10; i++ {
			c.Get(keys[i], at(100*time.Second+time.Duration(i)*time.Second))
		}
		// Access range is [0s, 109s]; the lowest 10 % ends at 10.9s.
		if n := c.purgeTick(at(200 * time.Second)); n != 2 {
			t.Fatalf("evicted %d, want 2", n)
		}
		for i, k := range keys {
			_, ok := c.Get(k, at(200*time.Second))
			if ok != (i >= 2) {
				t.Errorf("entry %d present=%v", i, ok)
			}
		}
		if st := c.Stats(); st.Purged != 2 || st.Entries != 8 {
			t.Fatalf("stats %+v", st)
		}
		checkInvariants(t, c)
	})
}

func TestStartClose(t *testing.T) {
	before := runtime.NumGoroutine()
	c := New(10_000)
	c.interval = 5 * time.Millisecond
	c.Start()
	c.Start() // idempotent: still one loop
	// This entry is > 3 % of the limit and expires at once, so the loop must purge it.
	if !c.Set(Key{User: "u", Query: "SELECT 1"}, make([]byte, 1000), time.Nanosecond, time.Now()) {
		t.Fatal("Set refused")
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Entries != 0 {
		if time.Now().After(deadline) {
			t.Fatal("purge loop never purged the expired entry")
		}
		time.Sleep(time.Millisecond)
	}
	if c.Stats().Purged != 1 {
		t.Fatalf("Purged = %d", c.Stats().Purged)
	}
	c.Close()
	select {
	case <-c.done:
	default:
		t.Fatal("Close returned before the loop ended")
	}
	c.Close() // idempotent
	c.Start() // no-op after Close
	if runtime.NumGoroutine() > before {
		// Goroutines from other tests may still be exiting; give them a moment.
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Fatalf("goroutines: %d before, %d after Close", before, n)
		}
	}

	// Close without Start must not block.
	c2 := New(1)
	c2.Close()
	c2.Close()
}

func TestConcurrent(t *testing.T) {
	for _, m := range hashModes {
		t.Run(m.name, func(t *testing.T) { testConcurrent(t, m.mask) })
	}
}

func testConcurrent(t *testing.T, mask uint64) {
	const goroutines, ops, nkeys = 8, 2000, 64
	keys := make([]Key, nkeys)
	for i := range keys {
		keys[i] = Key{User: fmt.Sprintf("u%d", i%3), Schema: "s", DeprecateEOF: i%2 == 0, Query: fmt.Sprintf("SELECT %d", i)}
	}
	payload := func(k Key, n int) []byte {
		return []byte(fmt.Sprintf("%s|%s|%s", k.User, k.Query, strings.Repeat("x", n%300)))
	}
	// Room for about half the keys, so Sets are also refused and purged.
	c := newCache(int64(nkeys/2)*(EntryOverhead+320), mask)
	c.SetSoftTTLPct(50)
	var gets, wrong atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range ops {
				k := keys[(g*31+i*7)%nkeys]
				now := at(time.Duration(i) * time.Millisecond)
				switch {
				case i%500 == 499 && g == 0:
					c.Flush()
				case i%100 == 99:
					c.Purge(now)
					_ = c.Stats()
				case i%3 == 0:
					c.Set(k, payload(k, i+g), time.Duration(50+i%100)*time.Millisecond, now)
				default:
					gets.Add(1)
					if got, ok := c.Get(k, now); ok {
						if !bytes.HasPrefix(got, []byte(k.User+"|"+k.Query+"|")) {
							wrong.Add(1)
						}
					}
				}
			}
		})
	}
	wg.Wait()
	if wrong.Load() != 0 {
		t.Fatalf("%d hits returned another key's data", wrong.Load())
	}
	st := c.Stats()
	if st.CountGET != gets.Load() {
		t.Fatalf("CountGET %d, issued %d", st.CountGET, gets.Load())
	}
	if st.CountGETOK == 0 || st.CountSET == 0 {
		t.Fatalf("workload did not exercise hits and sets: %+v", st)
	}
	checkInvariants(t, c)
}

func TestGetHitDoesNotAllocate(t *testing.T) {
	c := New(1 << 20)
	k := Key{User: "app", Schema: "shop", DeprecateEOF: true, Query: strings.Repeat("SELECT * FROM t WHERE id=1 ", 20)}
	c.Set(k, make([]byte, 4096), time.Hour, at(0))
	now := at(time.Second)
	if n := testing.AllocsPerRun(1000, func() {
		if _, ok := c.Get(k, now); !ok {
			panic("miss")
		}
	}); n != 0 {
		t.Fatalf("Get hit allocates %v times", n)
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := New(1 << 20)
	k := Key{User: "app", Schema: "shop", DeprecateEOF: true, Query: "SELECT id, name, price FROM products WHERE category_id = 42 ORDER BY price LIMIT 20"}
	c.Set(k, make([]byte, 4096), time.Hour, time.Now())
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Get(k, now); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkGetHitParallel(b *testing.B) {
	c := New(64 << 20)
	keys := make([]Key, 1024)
	for i := range keys {
		keys[i] = Key{User: "app", Schema: "shop", Query: fmt.Sprintf("SELECT * FROM products WHERE id = %d", i)}
		c.Set(keys[i], make([]byte, 1024), time.Hour, time.Now())
	}
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get(keys[i%len(keys)], now); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}
