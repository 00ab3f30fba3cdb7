// Package qcache is the query cache: ProxySQL's Query_Cache (lib/Query_Cache.cpp)
// rebuilt as a Go data structure.
//
// Semantics, deliberately the same as ProxySQL's:
//
//   - An entry is the complete, already serialized reply to one COM_QUERY, in the
//     form the client expects (EOF- or OK-terminated). The cache treats it as opaque
//     bytes; deciding what may be cached (no errors, warnings policy, size threshold,
//     cache_ttl from a query rule) belongs to the caller.
//   - Keys are byte-exact: the query text is not normalised, and the user, the
//     default schema and the client's CLIENT_DEPRECATE_EOF capability are part of
//     the key. Different users never share results, because their grants differ.
//     DeprecateEOF is in the key instead of converting packets on the fly as
//     ProxySQL does, so a hit never has to allocate a converted copy.
//   - There is NO invalidation on writes. An INSERT/UPDATE/DELETE does not evict
//     anything, and cached reads ignore transactions; an entry is served until its
//     TTL passes, it is replaced, purged or flushed. Only cache queries whose
//     staleness up to cache_ttl is acceptable.
//   - Expiry is lazy plus periodic: Get never returns an expired entry, but expired
//     entries stay in memory until Purge (or the purge loop started by Start, or a
//     Set that needs room) removes them.
//   - With mysql-query_cache_soft_ttl_pct=p (0 < p < 100), once an entry is older
//     than ttl*p/100 the first reader gets a miss so that it fetches a fresh result
//     from a backend and stores it with Set, while every other reader keeps getting
//     the old copy until then; this avoids a thundering herd at expiry.
//
// Concurrency: the cache is split into 32 shards, each with its own lock and map
// and its own counters, so readers of different queries rarely contend. Get takes
// only a read lock. Memory use is one global atomic so the limit is exact even
// under concurrent Sets.
//
// Lookup: the key is hashed once (hash/maphash, one random seed per Cache); the
// hash picks the shard and indexes the shard's map, like ProxySQL's 64-bit
// SpookyHash key. Unlike ProxySQL, each entry also keeps its full Key and a
// lookup compares it, so two queries whose hashes collide are chained side by
// side and never answered with each other's result.
package qcache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Key identifies a cached result: byte-exact query text per user, schema and
// the client's CLIENT_DEPRECATE_EOF flag (the stored packets are in the client's form).
type Key struct {
	User, Schema string
	DeprecateEOF bool
	Query        string
}

const (
	// numShards matches ProxySQL's SHARED_QUERY_CACHE_HASH_TABLES.
	numShards = 32

	// EntryOverhead is the fixed number of bytes charged per entry on top of the
	// data and the key strings. It approximates what an entry really costs beyond
	// its payload (the entry header with its copy of the Key's string headers,
	// the map slot, allocator rounding), so that a cache full of tiny results is still bounded
	// by the limit. ProxySQL charges a similar constant
	// (sizeof(QC_entry_t) plus bookkeeping pointers).
	EntryOverhead = 160

	// purgeInterval is ProxySQL's DEFAULT_purge_loop_time (500 ms).
	purgeInterval = 500 * time.Millisecond
	// purgeMinPct: the purge loop does nothing below this memory use
	// (DEFAULT_purge_threshold_pct_min), because scanning is not worth it.
	purgeMinPct = 3
	// purgeMaxPct: above this memory use the purge loop also evicts the least
	// recently read entries (DEFAULT_purge_threshold_pct_max; ProxySQL tests
	// pct > 90 on the truncated integer percentage, and so do we).
	purgeMaxPct = 90

	// accessGranularity limits how often a hit rewrites the entry's last-access
	// time: rewriting it on every hit would make a hot entry's cache line bounce
	// between CPUs. ProxySQL keeps it in milliseconds for the same effect.
	accessGranularity = int64(time.Millisecond)

	noExpiry = int64(1<<63 - 1)
)

// entry is one cached reply. Everything except the atomics is immutable once
// the entry is in a map, which is why Get may read it after dropping the lock.
type entry struct {
	key     Key    // the full key, compared on every lookup
	next    *entry // next entry with the same hash; guarded by the shard lock
	data    []byte
	size    int64 // bytes charged against the limit
	created int64 // Cache-relative nanoseconds, see Cache.ts
	expires int64 // first instant at which the entry is no longer served
	ttl     int64
	// access is the last read time; the purge loop evicts the least recently
	// read entries when memory is nearly exhausted.
	access atomic.Int64
	// refreshing is set when one reader has been handed a soft-TTL miss, so
	// that no other reader gets one for this entry.
	refreshing atomic.Bool
}

// shard is one of the 32 independent partitions.
type shard struct {
	mu sync.RWMutex
	m  map[uint64]*entry // hash -> chain of entries with that hash
	// minExpires is a lower bound of the entries' expiry times (not exact after
	// deletions). It lets a Set that needs room skip shards that cannot contain
	// anything expired, instead of scanning a full cache on every Set.
	minExpires atomic.Int64
	entries    atomic.Int64

	// Counters live per shard rather than globally so that concurrent hits on
	// different shards do not all increment the same cache line.
	countGET, countGETOK, countSET atomic.Int64
	bytesIN, bytesOUT, purged      atomic.Int64

	_ [64]byte // keep neighbouring shards' hot fields on separate cache lines
}

// Cache is a sharded, memory-bounded query result cache. The zero value is not
// usable; create one with New. All methods are safe for concurrent use.
type Cache struct {
	seed    maphash.Seed
	mask    uint64 // all ones; tests clear bits to force hash collisions
	epoch   time.Time
	limit   atomic.Int64
	mem     atomic.Int64
	softPct atomic.Int32
	shards  [numShards]shard

	// purge loop state
	loopMu   sync.Mutex
	started  bool
	closed   bool
	stop     chan struct{}
	done     chan struct{}
	interval time.Duration // purgeInterval; shortened by tests
}

// New returns an empty cache bounded at limit bytes (mysql-query_cache_size_MB * 1<<20).
func New(limit int64) *Cache {
	c := &Cache{
		seed:     maphash.MakeSeed(),
		mask:     ^uint64(0),
		epoch:    time.Now(),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		interval: purgeInterval,
	}
	c.SetLimit(limit)
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]*entry)
		c.shards[i].minExpires.Store(noExpiry)
	}
	return c
}

// SetLimit changes the memory bound. Shrinking it below current use evicts
// nothing immediately: Sets are refused until use drops back under the limit
// through expiry, the purge loop (which evicts aggressively above 90 %), or Flush.
// A negative limit is treated as 0 (nothing can be stored).
func (c *Cache) SetLimit(limit int64) {
	c.limit.Store(max(limit, 0))
}

// SetSoftTTLPct sets mysql-query_cache_soft_ttl_pct (0..100). 0 and 100 both
// disable the soft TTL (at 100 the entry has expired anyway); values outside
// the range are clamped.
func (c *Cache) SetSoftTTLPct(pct int) {
	c.softPct.Store(int32(min(max(pct, 0), 100)))
}

// ts converts t to nanoseconds since the cache was created. Going through
// time.Time.Sub uses the monotonic clock when both values carry one (as
// time.Now() values do), so TTLs are immune to wall-clock steps, like ProxySQL's
// monotonic_time(); values without a monotonic reading (tests) use the wall clock.
func (c *Cache) ts(t time.Time) int64 {
	return int64(t.Sub(c.epoch))
}

// hash is the seeded hash of the whole key. It is computed once per call and
// serves both as shard index and map key; it is never trusted alone (see find).
// The zero bytes separate the strings so that moving bytes between fields
// changes the hash.
func (c *Cache) hash(k *Key) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(k.Query)
	h.WriteByte(0)
	h.WriteString(k.User)
	h.WriteByte(0)
	h.WriteString(k.Schema)
	if k.DeprecateEOF {
		h.WriteByte(1)
	}
	return h.Sum64() & c.mask
}

func (c *Cache) shardFor(h uint64) *shard { return &c.shards[h%numShards] }

// find returns the entry for k in the chain of hash h. Callers hold s.mu.
func (s *shard) find(h uint64, k *Key) *entry {
	for e := s.m[h]; e != nil; e = e.next {
		if e.key == *k {
			return e
		}
	}
	return nil
}

// unlink removes e from the chain of hash h. Callers hold s.mu for writing.
func (s *shard) unlink(h uint64, e *entry) {
	head := s.m[h]
	if head == e {
		if e.next == nil {
			delete(s.m, h)
		} else {
			s.m[h] = e.next
		}
		return
	}
	for p := head; p != nil; p = p.next {
		if p.next == e {
			p.next = e.next
			return
		}
	}
}

// entrySize is what an entry is charged against the limit.
func entrySize(k *Key, dataLen int) int64 {
	return int64(dataLen) + int64(len(k.User)+len(k.Schema)+len(k.Query)) + EntryOverhead
}

// softAge is ttl*pct/100 without overflowing for very long TTLs.
func softAge(ttl int64, pct int64) int64 {
	return ttl/100*pct + ttl%100*pct/100
}

// Get returns the stored reply for k if present and not expired at now. With a soft TTL
// percentage p>0, once an entry's age exceeds ttl*p/100 exactly one caller gets a miss
// (so it refreshes the entry with Set) while all others keep getting the cached copy.
// Counts Query_Cache_count_GET, and on hit count_GET_OK and bytes_OUT.
//
// The returned slice is the cache's own copy, shared with every other reader,
// so that a hit costs no allocation or copy: callers must treat it as
// read-only (writing it to the client socket is fine). Its capacity is clipped,
// so an append by the caller reallocates instead of touching the cache.
//
// The soft-TTL boundary follows ProxySQL: the miss is handed out once
// age >= ttl*p/100. If that caller never calls Set (the backend failed, or the
// result was not cacheable) the others keep hitting until the hard TTL.
func (c *Cache) Get(k Key, now time.Time) ([]byte, bool) {
	h := c.hash(&k)
	s := c.shardFor(h)
	s.countGET.Add(1)
	s.mu.RLock()
	e := s.find(h, &k)
	s.mu.RUnlock()
	if e == nil {
		return nil, false
	}
	t := c.ts(now)
	if t >= e.expires {
		return nil, false
	}
	if p := int64(c.softPct.Load()); p > 0 && p < 100 &&
		t-e.created >= softAge(e.ttl, p) && !e.refreshing.Load() && e.refreshing.CompareAndSwap(false, true) {
		return nil, false
	}
	if t-e.access.Load() >= accessGranularity {
		e.access.Store(t)
	}
	s.countGETOK.Add(1)
	s.bytesOUT.Add(int64(len(e.data)))
	return e.data, true
}

// Set stores data for ttl. It returns false (and stores nothing) when the entry alone is larger
// than the limit, or when the cache is over its limit even after purging expired entries.
// Replaces an existing entry. Counts count_SET and bytes_IN.
//
// Set copies data and the key strings, so the caller may reuse its buffers and
// the cache never pins a larger packet buffer the strings were sliced from. A
// ttl <= 0 stores nothing and returns false (the entry would already be
// expired). count_SET and bytes_IN count only stored entries. A replacement must
// fit too: the limit is checked against use after the old entry is released.
func (c *Cache) Set(k Key, data []byte, ttl time.Duration, now time.Time) bool {
	if ttl <= 0 {
		return false
	}
	size := entrySize(&k, len(data))
	if size > c.limit.Load() {
		return false
	}
	t := c.ts(now)
	expires := t + int64(ttl)
	if expires < t { // overflow: effectively never expires
		expires = noExpiry
	}
	e := &entry{
		key:     cloneKey(k),
		data:    make([]byte, len(data)), // len == cap: see Get
		size:    size,
		created: t,
		expires: expires,
		ttl:     int64(ttl),
	}
	copy(e.data, data)
	e.access.Store(t)
	h := c.hash(&k)
	s := c.shardFor(h)

	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		old := s.find(h, &k)
		delta := size
		if old != nil {
			delta -= old.size
		}
		if c.reserve(delta) {
			if old != nil {
				s.unlink(h, old)
			} else {
				s.entries.Add(1)
			}
			e.next = s.m[h]
			s.m[h] = e
			if expires < s.minExpires.Load() {
				s.minExpires.Store(expires)
			}
			s.mu.Unlock()
			s.countSET.Add(1)
			s.bytesIN.Add(int64(len(data)))
			return true
		}
		s.mu.Unlock()
		if attempt > 0 {
			return false
		}
		// Make room from expired entries, then retry once. Purge must run
		// without our shard lock held, as it locks every shard in turn.
		c.purgeExpired(t, true)
	}
}

// cloneKey copies the three strings into one allocation.
func cloneKey(k Key) Key {
	b := make([]byte, 0, len(k.User)+len(k.Schema)+len(k.Query))
	b = append(b, k.User...)
	b = append(b, k.Schema...)
	b = append(b, k.Query...)
	s := string(b)
	u, sc := len(k.User), len(k.User)+len(k.Schema)
	return Key{User: s[:u], Schema: s[u:sc], DeprecateEOF: k.DeprecateEOF, Query: s[sc:]}
}

// reserve charges delta bytes if use stays within the limit. The compare-and-swap
// loop keeps the limit exact when Sets race.
func (c *Cache) reserve(delta int64) bool {
	limit := c.limit.Load()
	for {
		cur := c.mem.Load()
		if cur+delta > limit {
			return false
		}
		if c.mem.CompareAndSwap(cur, cur+delta) {
			return true
		}
	}
}

// Purge removes entries expired at now and returns how many (counted in Purged).
func (c *Cache) Purge(now time.Time) int {
	return c.purgeExpired(c.ts(now), false)
}

// purgeExpired removes expired entries from every shard. With useHint, shards
// whose minExpires shows nothing can have expired are skipped without locking.
func (c *Cache) purgeExpired(t int64, useHint bool) int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		if useHint && s.minExpires.Load() > t {
			continue
		}
		n += c.purgeShard(s, t, false)
	}
	return n
}

// purgeShard removes the shard's expired entries and, when aggressive, also
// the entries whose last read lies in the oldest 10 % of the shard's
// access-time range (ProxySQL's purge_some). Like ProxySQL it first scans
// under the read lock so that a shard with nothing to remove never blocks readers.
func (c *Cache) purgeShard(s *shard, t int64, aggressive bool) int {
	var mark int64 = -1 << 63
	s.mu.RLock()
	found := false
	var lo, hi int64
	first := true
	for _, head := range s.m {
		for e := head; e != nil; e = e.next {
			if e.expires <= t {
				found = true
			}
			if aggressive {
				a := e.access.Load()
				if first || a < lo {
					lo = a
				}
				if first || a > hi {
					hi = a
				}
				first = false
			}
		}
	}
	s.mu.RUnlock()
	if aggressive && !first {
		mark = lo + (hi-lo)/10
		if mark > lo {
			found = true
		}
	}
	if !found {
		return 0
	}

	s.mu.Lock()
	n := 0
	var freed int64
	minExp := noExpiry
	for h, head := range s.m {
		newHead := head
		var prev *entry
		for e := head; e != nil; e = e.next {
			if e.expires <= t || e.access.Load() < mark {
				if prev == nil {
					newHead = e.next
				} else {
					prev.next = e.next
				}
				freed += e.size
				n++
				continue
			}
			prev = e
			minExp = min(minExp, e.expires)
		}
		switch {
		case newHead == nil:
			delete(s.m, h)
		case newHead != head:
			s.m[h] = newHead
		}
	}
	s.minExpires.Store(minExp)
	s.entries.Add(-int64(n))
	s.mu.Unlock()
	c.mem.Add(-freed)
	s.purged.Add(int64(n))
	return n
}

// Flush empties the cache (PROXYSQL FLUSH QUERY CACHE) and returns how many entries it removed.
// Flushed entries are not counted in Purged. (ProxySQL frees them later in its
// purge thread and counts them then; here they are released at once.)
func (c *Cache) Flush() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		var freed, cnt int64
		for _, head := range s.m {
			for e := head; e != nil; e = e.next {
				freed += e.size
				cnt++
			}
		}
		n += int(cnt)
		s.entries.Add(-cnt)
		s.m = make(map[uint64]*entry) // a new map also releases the old buckets
		s.minExpires.Store(noExpiry)
		s.mu.Unlock()
		c.mem.Add(-freed)
	}
	return n
}

// Start runs the purge loop every 500 ms until Close: it purges expired entries once memory use
// is at least 3% of the limit (ProxySQL's purge thread behaviour).
// Above 90 % it also evicts the least recently read entries, so that a cache
// filled with long-TTL results keeps room for new ones. Calling Start more than
// once, or after Close, does nothing.
func (c *Cache) Start() {
	c.loopMu.Lock()
	defer c.loopMu.Unlock()
	if c.started || c.closed {
		return
	}
	c.started = true
	go c.loop()
}

// Close stops the purge loop and waits for it to end. It is idempotent, and
// safe to call without Start. The cache itself stays usable.
func (c *Cache) Close() {
	c.loopMu.Lock()
	if c.closed {
		c.loopMu.Unlock()
		return
	}
	c.closed = true
	started := c.started
	close(c.stop)
	c.loopMu.Unlock()
	if started {
		<-c.done
	}
}

func (c *Cache) loop() {
	defer close(c.done)
	tk := time.NewTicker(c.interval)
	defer tk.Stop()
	for {
		select {
		case <-c.stop:
			return
		case now := <-tk.C:
			c.purgeTick(now)
		}
	}
}

// purgeTick is one iteration of the purge loop at now.
func (c *Cache) purgeTick(now time.Time) int {
	pct := c.usedPct()
	if pct < purgeMinPct {
		return 0
	}
	t := c.ts(now)
	aggressive := pct > purgeMaxPct
	n := 0
	for i := range c.shards {
		n += c.purgeShard(&c.shards[i], t, aggressive)
	}
	return n
}

// usedPct is memory use as a truncated percentage of the limit, capped at 100.
func (c *Cache) usedPct() int64 {
	mem, limit := c.mem.Load(), c.limit.Load()
	if limit <= 0 {
		if mem > 0 {
			return 100
		}
		return 0
	}
	if mem >= limit {
		return 100
	}
	return mem * 100 / limit
}

// Stats are the Query_Cache_* rows of stats_mysql_global.
type Stats struct {
	MemoryBytes, CountGET, CountGETOK, CountSET, BytesIN, BytesOUT, Purged, Entries int64
}

// Stats sums the counters. Shards are read one after another without a global
// lock, so under concurrent traffic the numbers are not one atomic snapshot.
func (c *Cache) Stats() Stats {
	st := Stats{MemoryBytes: c.mem.Load()}
	for i := range c.shards {
		s := &c.shards[i]
		st.CountGET += s.countGET.Load()
		st.CountGETOK += s.countGETOK.Load()
		st.CountSET += s.countSET.Load()
		st.BytesIN += s.bytesIN.Load()
		st.BytesOUT += s.bytesOUT.Load()
		st.Purged += s.purged.Load()
		st.Entries += s.entries.Load()
	}
	return st
}
