package frontend

import (
	"strconv"
	"time"

	"sqlgate/internal/qcache"
	"sqlgate/internal/runtime"
	"sqlgate/internal/wire"
)

// cacheKey is the query cache key for a statement of this session: the
// byte-exact text per user and schema, in the client's EOF form.
func (s *Session) cacheKey(q string) qcache.Key {
	return qcache.Key{User: s.user.Name, Schema: s.state.Schema, DeprecateEOF: s.caps&wire.ClientDeprecateEOF != 0, Query: q}
}

// replay writes a cached reply to the client.
func (s *Session) replay(data []byte) error {
	if err := s.c.Replay(data); err != nil {
		return wire.ClientIOError{Err: err}
	}
	return nil
}

// storeCached puts a captured reply into the cache if it may be reused:
// a complete result set without error, not read inside a transaction (it
// could hold the session's own uncommitted rows), without warnings unless
// mysql-query_cache_handle_warnings=1, and non-empty unless empty results
// are cached (the rule's cache_empty_result, else
// mysql-query_cache_stores_empty_result).
func (s *Session) storeCached(rt *runtime.Snapshot, k qcache.Key, rec *wire.Recorder, ri wire.Reply, ttlMs, cacheEmpty int, now time.Time) {
	switch {
	case rec.Overflow(), ri.Err != nil, !ri.StatusKnown, ri.Sets == 0, ri.Infile,
		ri.Status&wire.StatusInTrans != 0,
		ri.Warnings > 0 && !rt.Vars.QueryCacheHandleWarnings:
		return
	}
	if ri.Rows == 0 {
		if cacheEmpty == 0 || cacheEmpty < 0 && !rt.Vars.QueryCacheStoresEmptyResult {
			return
		}
	}
	s.srv.cache.Set(k, rec.Bytes(), time.Duration(ttlMs)*time.Millisecond, now)
}

// FlushQueryCache empties the query cache (PROXYSQL FLUSH QUERY CACHE).
func (s *Server) FlushQueryCache() int { return s.Cache.Flush() }

// DataPathGlobals are the stats_mysql_global rows kept by the data path
// beyond the registry's counters: the query cache, mirroring and timeouts.
func (s *Server) DataPathGlobals() [][2]string {
	st := s.Cache.Stats()
	running, queued := s.mirrors.Counts()
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
		{"Mirror_dropped", i(s.mirrors.Dropped())},
		{"Query_timeouts_killed", i(s.queryTimeouts.Load())},
	}
}
