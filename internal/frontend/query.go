package frontend

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/eventlog"
	"sqlgate/internal/frontend/sessionstate"
	"sqlgate/internal/frontend/stmt"
	"sqlgate/internal/qcache"
	"sqlgate/internal/router"
	"sqlgate/internal/runtime"
	"sqlgate/internal/stats"
	"sqlgate/internal/wire"
)

// loadDataLocalRE matches the digest of LOAD DATA ... LOCAL INFILE.
var loadDataLocalRE = regexp.MustCompile(`(?i)^LOAD DATA (?:LOW_PRIORITY |CONCURRENT )?LOCAL INFILE`)

func (s *Session) comQuery(rt *runtime.Snapshot, p []byte) error {
	q := string(p[1:])
	info, dtext, comment := stmt.Classify(q, rt.Vars.KeepMultiplexingVariables)
	switch info.Cmd {
	case router.CmdLoadData:
		if loadDataLocalRE.MatchString(dtext) {
			if !rt.Vars.EnableLoadDataLocalInfile {
				// ProxySQL's answer (errno 1047, HY000), before any backend
				// is involved.
				return wire.Errorf(wire.ErUnknownCom, "HY000", "Unsupported 'LOAD DATA LOCAL INFILE' command")
			}
			if s.caps&wire.ClientLocalFiles == 0 {
				// The server's answer to a client that did not enable
				// local infile; sent on, the backend would ask this client
				// for a file it will not send.
				return wire.Errorf(wire.ErLoadInfileCapabilityDisabled, "HY000", "The used command is not allowed because the MariaDB server or client has disabled the local infile capability")
			}
		}
	case router.CmdDrop:
		info.DropsSchema, _ = stmt.ParseDropSchema(q)
	case router.CmdKill:
		if killRE.MatchString(q) {
			return s.comKill(q)
		}
	case router.CmdSelect:
		if connectionIDRE.MatchString(q) {
			v := strconv.FormatUint(uint64(s.id), 10)
			return s.writeLocalResult([]string{"CONNECTION_ID()"}, [][]*string{{&v}})
		}
		if strings.EqualFold(strings.TrimSpace(q), "select @@version_comment limit 1") {
			// Answered locally, as ProxySQL does: the mysql client sends it
			// on connect and it must not cost a backend round trip.
			v := "(sqlgate)"
			return s.writeLocalResult([]string{"@@version_comment"}, [][]*string{{&v}})
		}
	case router.CmdUse:
		if db, ok := stmt.ParseUse(q); ok {
			return s.initDB(rt, db)
		}
	case router.CmdCommit, router.CmdRollback:
		if stmt.IsBareEnd(dtext) && !s.inTrans() {
			return s.writeOKStatus(wire.OK{})
		}
	case router.CmdSet:
		info.IsSet = true
		info.Set, info.SetParsed = router.ParseSet(q)
	}
	hg, res := s.route(rt, q, dtext, comment, &info)
	start := time.Now()
	if res.ErrorMsg != nil || res.OKMsg != nil {
		var err error
		if res.ErrorMsg != nil {
			err = wire.Errorf(wire.ErQueryRule, "42000", "%s", *res.ErrorMsg)
		} else {
			err = s.writeOKStatus(wire.OK{Info: *res.OKMsg})
		}
		if s.shouldLog(rt, res.Log) {
			s.last = wire.Reply{}
			s.logEvent(eventlog.ComQuery, -1, q, info.Hash, start, 0)
		}
		return err
	}
	if res.NewQuery != "" {
		p = append([]byte{wire.ComQuery}, res.NewQuery...)
	}
	if res.MirrorHostgroup >= 0 || res.MirrorFlagOUT >= 0 {
		s.mirror(rt, res, q, dtext, &info)
	}
	s.setActivity(q, hg)
	if d := res.Delay; d > 0 || rt.Vars.DefaultQueryDelay > 0 {
		// A rule's delay (or mysql-default_query_delay) throttles the
		// statement before it runs.
		if d <= 0 {
			time.Sleep(rt.Vars.DefaultQueryDelay)
		} else {
			time.Sleep(time.Duration(d) * time.Millisecond)
		}
	}
	s.last = wire.Reply{}
	caching := res.CacheTTL > 0 && rt.Vars.QueryCacheSizeMB > 0
	var ck qcache.Key
	if caching {
		ck = s.cacheKey(q)
		if data, ok := s.srv.cache.Get(ck, start); ok {
			// A hit involves no backend: hostgroup -1 in the stats, as in
			// ProxySQL.
			err := s.replay(data)
			s.record(-1, &info, dtext, start)
			if s.shouldLog(rt, res.Log) {
				s.logEvent(eventlog.ComQuery, -1, q, info.Hash, start, 0)
			}
			return err
		}
		s.capture = &wire.Recorder{Limit: rt.Vars.ThresholdResultsetSize}
	}
	err := s.run(rt, hg, p, wire.ReplyQuery, &info)
	if caching {
		if err == nil {
			s.storeCached(rt, ck, s.capture, s.last, res.CacheTTL, res.CacheEmptyResult, start)
		}
		s.capture = nil
	}
	s.record(hg, &info, dtext, start)
	if s.shouldLog(rt, res.Log) {
		s.logEvent(eventlog.ComQuery, hg, q, info.Hash, start, 0)
	}
	return err
}

// record accounts a finished statement in the command counters and the
// digest table, and marks the session idle.
func (s *Session) record(hg int, info *stmt.Info, digest string, start time.Time) {
	d := time.Since(start)
	s.setActivity("", -1)
	st := s.srv.Stats
	if st == nil {
		return
	}
	st.Command(info.Cmd.String(), d)
	st.Digest(stats.DigestKey{Hostgroup: hg, Schema: s.state.Schema, User: s.user.Name, Digest: info.Hash},
		digest, d, int64(s.last.Affected), s.last.Rows)
}

func (s *Session) inTrans() bool {
	for _, bc := range s.backend {
		if bc.InTrans {
			return true
		}
	}
	return false
}

// route picks the hostgroup for a statement: the user's default hostgroup,
// overridden by query rules, then by the first comment's annotations,
// then by the session's transaction or lock (which always win: they hold
// state). The rules' and annotations' other actions are returned in the
// Result and, for those that shape execution, in info.
func (s *Session) route(rt *runtime.Snapshot, q, digest, comment string, info *stmt.Info) (int, router.Result) {
	hg := s.user.DefaultHostgroup
	res := router.NoResult()
	if !rt.Rules.Empty() {
		flagIN := 0
		if s.nextFlagIN >= 0 {
			// next_query_flagIN of the previous statement's rules applies
			// to this statement only.
			flagIN, s.nextFlagIN = s.nextFlagIN, -1
		}
		res = rt.Rules.Evaluate(router.Input{
			Username: s.user.Name, Schema: s.state.Schema, FlagIN: flagIN, Query: q, DigestText: digest,
			Digest: info.Hash, ClientAddr: s.clientHost, ProxyAddr: s.proxyAddr, ProxyPort: s.proxyPort,
		})
		if res.NextQueryFlagIN >= 0 {
			s.nextFlagIN = res.NextQueryFlagIN
		}
	}
	if comment != "" {
		a := router.ParseAnnotations(comment)
		for _, o := range []struct {
			dst *int
			v   int
		}{
			{&res.DestinationHostgroup, a.Hostgroup}, {&res.CacheTTL, a.CacheTTL}, {&res.Delay, a.QueryDelay},
			{&res.Retries, a.QueryRetries}, {&res.Timeout, a.QueryTimeout}, {&res.MirrorHostgroup, a.Mirror},
		} {
			if o.v >= 0 {
				*o.dst = o.v
			}
		}
		info.NewConn = a.CreateNewConnection
	}
	if res.DestinationHostgroup >= 0 {
		hg = res.DestinationHostgroup
	}
	info.Retries, info.Multiplex = res.Retries+1, res.Multiplex+1
	if res.Timeout > 0 {
		info.Timeout = time.Duration(res.Timeout) * time.Millisecond
	}
	if info.Flags&router.FlagLastInsertID != 0 && s.lastInsertHG >= 0 && s.backend[s.lastInsertHG] != nil {
		hg = s.lastInsertHG
	}
	if s.trxHG >= 0 {
		hg = s.trxHG
	}
	if s.lockedHG >= 0 {
		hg = s.lockedHG
	}
	return hg, res
}

// currentHG is the hostgroup for commands that are not routed by rules.
func (s *Session) currentHG() int {
	switch {
	case s.lockedHG >= 0:
		return s.lockedHG
	case s.trxHG >= 0:
		return s.trxHG
	}
	return s.user.DefaultHostgroup
}

// run executes a command on hostgroup hg and forwards the reply. A statement
// whose connection failed before any reply reached the client is retried on
// another connection if it is safe to run twice (mysql-query_retries_on_failure).
func (s *Session) run(rt *runtime.Snapshot, hg int, pkt []byte, kind wire.ReplyKind, info *stmt.Info) error {
	for attempt := 0; ; attempt++ {
		bc, fresh, err := s.backendFor(rt, hg, info)
		if err != nil {
			return err
		}
		stop := s.watch(bc, info.Timeout)
		ri, err := s.roundTrip(rt, bc, pkt, kind)
		stop()
		if err != nil {
			var unsent unsentError
			canRetry := fresh && attempt < info.MaxRetries(rt.Vars.QueryRetriesOnFailure) && (info.RetrySafe() || errors.As(err, &unsent))
			if err = s.failed(hg, bc, ri, err, canRetry); errors.Is(err, errRetry) {
				continue
			}
			return err
		}
		s.afterStatement(rt, hg, bc, ri, info)
		return nil
	}
}

// unsentError is a statement the backend connection would not take (the
// server had closed it, as wait_timeout does, between the pool's liveness
// check and the write). A server runs a statement only once it has
// received all of it, so this one did not run, whatever it was: it may be
// retried on a new connection like a read.
type unsentError struct{ wire.ServerIOError }

// errRetry tells run's caller loop to try again on a new connection.
var errRetry = errors.New("retry")

// failed handles an error from a round trip: the backend connection is
// dropped, and the client gets an error that says whether the statement may
// have run. It returns errRetry when the caller may retry.
func (s *Session) failed(hg int, bc *backend.Conn, ri wire.Reply, err error, canRetry bool) error {
	var ce wire.ClientIOError
	bc.Broken = true
	s.detach(hg, bc)
	if errors.As(err, &ce) {
		return err
	}
	wasTrx := s.trxHG == hg
	if s.trxHG == hg {
		s.trxHG = -1
	}
	if s.lockedHG == hg {
		s.lockedHG = -1
	}
	if !ri.SentAny && canRetry && !wasTrx && !s.act.Stopped() {
		s.srv.Log.Debug("retrying statement after backend failure", "session", s.id, "hostgroup", hg, "server", bc.Server.Addr(), "err", err)
		return errRetry
	}
	msg := fmt.Sprintf("Lost connection to backend server %s (hostgroup %d) during query: %v", bc.Server.Addr(), hg, errors.Unwrap(err))
	if wasTrx {
		msg += "; the open transaction was rolled back"
	} else if !ri.SentAny {
		msg += "; the statement may or may not have been executed"
	}
	return &wire.Error{Code: wire.ErProxyBackendLost, SQLState: "HY000", Message: msg}
}

// roundTrip sends a command and forwards the reply to the client.
func (s *Session) roundTrip(rt *runtime.Snapshot, bc *backend.Conn, pkt []byte, kind wire.ReplyKind) (wire.Reply, error) {
	s.setRunning(bc)
	defer s.setRunning(nil)
	if err := bc.Send(pkt); err != nil {
		return wire.Reply{}, unsentError{wire.ServerIOError{Err: err}}
	}
	bc.Server.Queries.Add(1)
	bc.Server.BytesSent.Add(int64(len(pkt)))
	return s.forwardResult(rt, bc, kind)
}

// forwardResult forwards the complete reply to the command just sent on bc
// (see wire.Forwarder). On error bc is out of step with its server and is
// marked broken. rt is only read for a COM_QUERY, which may turn into LOAD
// DATA LOCAL INFILE.
func (s *Session) forwardResult(rt *runtime.Snapshot, bc *backend.Conn, kind wire.ReplyKind) (wire.Reply, error) {
	f := wire.Forwarder{
		Server: bc.Conn, Client: s.c,
		ServerDeprecateEOF: bc.DeprecateEOF(), ClientDeprecateEOF: s.caps&wire.ClientDeprecateEOF != 0,
		Recorder: s.capture, BytesRecv: &bc.Server.BytesRecv, Scratch: s.out,
	}
	if f.ServerDeprecateEOF && !f.ClientDeprecateEOF {
		f.Status = s.status()
	}
	if kind == wire.ReplyQuery {
		f.LocalInfile = s.caps&wire.ClientLocalFiles != 0 && rt.Vars.EnableLoadDataLocalInfile
	}
	err := f.Forward(kind)
	if err != nil {
		bc.Broken = true
	}
	return f.Reply, err
}

// refuseAll makes the pool open a new connection (create_new_connection=1).
func refuseAll(*backend.Conn) int { return -1 }

// score rates a pooled connection for this session (see backend.Want).
func (s *Session) score(bc *backend.Conn) int { return s.state.Score(bc, s.user.Name) }

// backendFor returns the connection to run the next statement on in hg: the
// attached one, or one from the pool. Either way its state is brought in
// line with the session first. fresh is true for a connection that was not
// attached before.
//
// info, when not nil, is the statement the connection is for: its rules may
// ask for a new connection, and a statement that is retried on failure
// lets the pool skip a liveness check (backend.Want.Retryable).
func (s *Session) backendFor(rt *runtime.Snapshot, hg int, info *stmt.Info) (*backend.Conn, bool, error) {
	if bc := s.backend[hg]; bc != nil {
		if err := s.state.Sync(bc); err != nil {
			if bc.Broken {
				s.detach(hg, bc)
			}
			return nil, false, err
		}
		return bc, false, nil
	}
	w := backend.Want{
		Dial: backend.DialOptions{
			User: s.user.Name, Cred: s.cred, Schema: s.state.Schema,
			Collation: s.state.Collation(), FoundRows: s.state.FoundRows,
		},
		Score: s.score, Perfect: sessionstate.PerfectScore, Stale: rt.Superseded(),
	}
	if info != nil {
		w.Retryable = info.RetrySafe() && info.MaxRetries(rt.Vars.QueryRetriesOnFailure) > 0
		if info.NewConn {
			w.Score = refuseAll
		}
	}
	bc, err := s.srv.pool.Acquire(context.Background(), hg, &w)
	if err != nil {
		if errors.Is(err, backend.ErrStale) {
			return nil, false, errReroute
		}
		var we *wire.Error
		if errors.As(err, &we) {
			return nil, false, we
		}
		return nil, false, wire.Errorf(wire.ErProxyMaxConnectFailure, "HY000", "Max connect failure while reaching hostgroup %d: %v", hg, err)
	}
	if err := s.state.Sync(bc); err != nil {
		s.srv.pool.Release(bc, !bc.Broken)
		return nil, false, err
	}
	s.backend[hg] = bc
	return bc, true, nil
}

// detach forgets the session's connection in hg and gives it back to the
// pool, which closes it unless it is clean.
func (s *Session) detach(hg int, bc *backend.Conn) {
	if s.backend[hg] == bc {
		delete(s.backend, hg)
	}
	s.srv.pool.Release(bc, !bc.Broken)
}

// releaseAll detaches every backend connection (at session end, reset or
// change of user). Connections holding a transaction or other state are
// closed by the pool: closing rolls the transaction back.
func (s *Session) releaseAll(_ bool) {
	for hg, bc := range s.backend {
		delete(s.backend, hg)
		s.srv.pool.Release(bc, true)
	}
	s.trxHG, s.lockedHG = -1, -1
}

// afterStatement updates the session and connection after a statement
// completed (successfully or with a MySQL error), and returns the connection
// to the pool unless the session still needs it.
func (s *Session) afterStatement(rt *runtime.Snapshot, hg int, bc *backend.Conn, ri wire.Reply, info *stmt.Info) {
	s.last = ri
	if ri.StatusKnown {
		bc.NoteStatus(ri.Status)
	}
	if ri.Err == nil {
		if db := info.DropsSchema; db != "" {
			if bc.Schema == db {
				bc.Schema = ""
			}
			if s.state.Schema == db {
				s.state.Schema = ""
			}
		}
		bc.Pinned = info.Pins(bc.Pinned)
		if info.IsSet && info.SetParsed && s.state.ApplySet(bc, info.Set) {
			bc.Pinned |= stmt.PinNextTrx
		}
		if ri.InsertID > 0 {
			s.lastInsertID, s.lastInsertHG = ri.InsertID, hg
			s.insertDelay = rt.Vars.AutoIncrementDelayMultiplex
		} else if s.insertDelay > 0 {
			s.insertDelay--
		}
	}
	if bc.InTrans {
		if s.user.TransactionPersistent {
			s.trxHG = hg
		}
	} else if s.trxHG == hg {
		s.trxHG = -1
	}
	if bc.Pinned != 0 {
		// Correct results first: the session keeps using the hostgroup that
		// holds its state instead of failing the way ProxySQL's 9006 does.
		s.lockedHG = hg
	} else if s.lockedHG == hg {
		s.lockedHG = -1
	}
	keep := !rt.Vars.Multiplexing || bc.InTrans || bc.Pinned != 0 ||
		(s.insertDelay > 0 && s.lastInsertHG == hg)
	if !keep {
		s.detach(hg, bc)
	}
}

func splitHostPort(addr string) (string, int) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, 0
	}
	port := 0
	for _, c := range addr[i+1:] {
		if c < '0' || c > '9' {
			return addr[:i], 0
		}
		port = port*10 + int(c-'0')
	}
	return strings.Trim(addr[:i], "[]"), port
}

// initDB changes the session's schema. Unlike ProxySQL, which answers OK
// without checking, sqlgate applies it on a backend right away so a missing
// schema fails here, where the client expects it (error 1049).
func (s *Session) initDB(rt *runtime.Snapshot, db string) error {
	old := s.state.Schema
	s.state.Schema = db
	hg := s.currentHG()
	bc, _, err := s.backendFor(rt, hg, nil)
	if err != nil {
		s.state.Schema = old
		return err
	}
	s.afterStatement(rt, hg, bc, wire.Reply{}, &stmt.Info{Cmd: router.CmdUse})
	return s.writeOKStatus(wire.OK{})
}

func (s *Session) comFieldList(rt *runtime.Snapshot, p []byte) error {
	return s.run(rt, s.currentHG(), p, wire.ReplyFieldList, &stmt.Info{Cmd: router.CmdShow})
}

// writeLocalResult sends a text result set built by sqlgate itself.
func (s *Session) writeLocalResult(cols []string, rows [][]*string) error {
	var err error
	s.out, err = s.c.WriteTextResult(s.out, cols, rows, s.status(), s.caps&wire.ClientDeprecateEOF != 0)
	return err
}
