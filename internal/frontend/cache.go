package frontend

import (
	"strconv"
	"time"

	"sqlgate/internal/qcache"
	"sqlgate/internal/runtime"
	"sqlgate/internal/wire"
)

// capture collects the packets of a reply exactly as the client receives
// them, so that the query cache can replay them later. It gives up (and
// the reply is not cached) once the reply exceeds limit bytes
// (mysql-threshold_resultset_size): the client is never held back waiting
// for a large result to be buffered.
type capture struct {
	buf      []byte
	limit    int
	overflow bool
}

func (c *capture) add(p []byte) {
	if c.overflow {
		return
	}
	if len(c.buf)+3+len(p) > c.limit {
		c.overflow, c.buf = true, nil
		return
	}
	n := len(p)
	c.buf = append(c.buf, byte(n), byte(n>>8), byte(n>>16))
	c.buf = append(c.buf, p...)
}

// cacheKey is the query cache key for a statement of this session: the
// byte-exact text per user and schema, in the client's EOF form.
func (s *Session) cacheKey(q string) qcache.Key {
	return qcache.Key{User: s.user.Name, Schema: s.state.schema, DeprecateEOF: s.caps&wire.ClientDeprecateEOF != 0, Query: q}
}

// replay writes a cached reply to the client.
func (s *Session) replay(data []byte) error {
	for len(data) >= 3 {
		n := int(data[0]) | int(data[1])<<8 | int(data[2])<<16
		if err := s.c.WriteRaw(data[3 : 3+n]); err != nil {
			return clientIOError{err}
		}
		data = data[3+n:]
	}
	if err := s.c.Flush(); err != nil {
		return clientIOError{err}
	}
	return nil
}

// storeCached puts a captured reply into the cache if it may be reused:
// a complete result set without error, not read inside a transaction (it
// could hold the session's own uncommitted rows), without warnings unless
// mysql-query_cache_handle_warnings=1, and non-empty unless empty results
// are cached (the rule's cache_empty_result, else
// mysql-query_cache_stores_empty_result).
func (s *Session) storeCached(rt *runtime.Snapshot, k qcache.Key, c *capture, ri resultInfo, ttlMs, cacheEmpty int, now time.Time) {
	switch {
	case c.overflow, ri.err != nil, !ri.statusKnown, ri.sets == 0, ri.infile,
		ri.status&wire.StatusInTrans != 0,
		ri.warnings > 0 && !rt.Vars.QueryCacheHandleWarnings:
		return
	}
	if ri.rows == 0 {
		if cacheEmpty == 0 || cacheEmpty < 0 && !rt.Vars.QueryCacheStoresEmptyResult {
			return
		}
	}
	s.srv.Cache.Set(k, c.buf, time.Duration(ttlMs)*time.Millisecond, now)
}

// FlushQueryCache empties the query cache (PROXYSQL FLUSH QUERY CACHE).
func (s *Server) FlushQueryCache() int { return s.Cache.Flush() }

// DataPathGlobals are the stats_mysql_global rows kept by the data path
// beyond the registry's counters: the query cache, mirroring and timeouts.
func (s *Server) DataPathGlobals() [][2]string {
	st := s.Cache.Stats()
	running, queued := s.mirrors.counts()
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return [][2]string{
		{"Query_Cache_Memory_bytes", i(st.MemoryBytes)},
		{"Query_Cache_count_GET", i(st.CountGET)},
		{"Query_Cache_count_GET_OK", i(st.CountGETOK)},
		{"Query_Cache_count_SET", i(st.CountSET)},
		{"Query_Cache_bytes_IN", i(st.BytesIN)},
		{"Query_Cache_bytes_OUT", i(st.BytesOUT)},
		{"Query_Cache_Purged", i(st.Purged)},
		{"Query_Cache_Entries", i(st.Entries)},
		{"Mirror_concurrency", i(int64(running))},
		{"Mirror_queue_length", i(int64(queued))},
		{"Mirror_dropped", i(s.mirrors.dropped.Load())},
		{"Query_timeouts_killed", i(s.queryTimeouts.Load())},
	}
}
