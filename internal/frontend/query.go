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
	"sqlgate/internal/digest"
	"sqlgate/internal/eventlog"
	"sqlgate/internal/qcache"
	"sqlgate/internal/router"
	"sqlgate/internal/runtime"
	"sqlgate/internal/stats"
	"sqlgate/internal/wire"
)

// Reasons a backend connection stays attached to its session (bits of
// backend.Conn.Pinned). Each one stands for server-side state that only
// that connection holds.
const (
	pinUserVariable uint32 = 1 << iota
	pinTempTable
	pinLockTables
	pinGetLock
	pinFoundRows
	pinPrepare
	pinSQLLogBin0
	pinUnparsedSet
	pinNextTrx
	pinCursor
	pinRuleNoMultiplex // a query rule with multiplex=0 ran on it
)

// stmtInfo is what the session learned about a statement before running it.
type stmtInfo struct {
	cmd       router.CommandType
	flags     router.StmtFlags
	set       []router.Assignment
	isSet     bool
	setParsed bool
	userVar   bool   // the digest references a user variable (@x, not @@x)
	hash      uint64 // digest.Hash of the digest text, computed once

	// Set by query rules and annotations; the zero value means "not set"
	// so that a stmtInfo{} literal changes nothing.
	retries   int           // the rule's retries + 1; overrides mysql-query_retries_on_failure
	multiplex int           // the rule's multiplex + 1 (multiplexNone when not set)
	timeout   time.Duration // KILL QUERY after this long
	newConn   bool          // create_new_connection=1: never reuse a pooled connection

	// sideEffects: a SELECT that calls a function not known to be free of
	// side effects (GET_LOCK, SLEEP, NEXTVAL, a stored function...), so
	// running it twice is not harmless.
	sideEffects bool

	// dropsSchema is the database a DROP DATABASE removes: when it is the
	// current one, the server's default database becomes NULL.
	dropsSchema string
}

// stmtInfo.multiplex values: a query rule's multiplex column plus one.
const (
	multiplexNone    = iota
	multiplexOff     // multiplex=0: keep the connection attached
	multiplexOn      // multiplex=1: clear an earlier multiplex=0
	multiplexKeepVar // multiplex=2: @variables in this query do not pin
)

// maxRetries is how often a failed statement may be retried.
func (i *stmtInfo) maxRetries(rt *runtime.Snapshot) int {
	if i.retries > 0 {
		return i.retries - 1
	}
	return rt.Vars.QueryRetriesOnFailure
}

// retrySafe reports whether the statement can be re-run on another
// connection after its connection failed before any reply: it must not
// change data, so running it twice is harmless.
func (i *stmtInfo) retrySafe() bool {
	switch i.cmd {
	case router.CmdShow, router.CmdSet, router.CmdUse:
		return true
	case router.CmdSelect:
		return !i.sideEffects
	}
	return false
}

// loadDataLocalRE matches the digest of LOAD DATA ... LOCAL INFILE.
var loadDataLocalRE = regexp.MustCompile(`(?i)^LOAD DATA (?:LOW_PRIORITY |CONCURRENT )?LOCAL INFILE`)

func (s *Session) comQuery(rt *runtime.Snapshot, p []byte) error {
	q := string(p[1:])
	dtext, comment := digest.Of(q)
	info := stmtInfo{cmd: router.Classify(dtext), hash: digest.Hash(dtext)}
	info.flags = router.StatementFlags(dtext, rt.Vars.KeepMultiplexingVariables)
	if info.flags&router.FlagUserVariable != 0 {
		info.userVar = containsUserVariable(dtext)
	}
	if info.cmd == router.CmdSelect {
		info.sideEffects = router.CallsUnsafeFunction(dtext)
	}
	switch info.cmd {
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
		info.dropsSchema, _ = parseDropSchema(q)
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
		if db, ok := parseUse(q); ok {
			return s.initDB(rt, db)
		}
	case router.CmdCommit, router.CmdRollback:
		if isBareEnd(dtext) && !s.inTrans() {
			return s.writeOKStatus(wire.OK{})
		}
	case router.CmdSet:
		info.isSet = true
		info.set, info.setParsed = router.ParseSet(q)
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
			s.logEvent(eventlog.ComQuery, -1, q, info.hash, start, 0)
		}
		return err
	}
	if res.NewQuery != "" {
		p = append([]byte{wire.ComQuery}, res.NewQuery...)
	}
	if res.MirrorHostgroup >= 0 || res.MirrorFlagOUT >= 0 {
		s.mirror(rt, res, q, dtext, &info)
	}
	s.setActivity(q, hg, nil)
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
		if data, ok := s.srv.Cache.Get(ck, start); ok {
			// A hit involves no backend: hostgroup -1 in the stats, as in
			// ProxySQL.
			err := s.replay(data)
			s.record(-1, &info, dtext, start)
			if s.shouldLog(rt, res.Log) {
				s.logEvent(eventlog.ComQuery, -1, q, info.hash, start, 0)
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
		s.logEvent(eventlog.ComQuery, hg, q, info.hash, start, 0)
	}
	return err
}

// record accounts a finished statement in the command counters and the
// digest table, and marks the session idle.
func (s *Session) record(hg int, info *stmtInfo, digest string, start time.Time) {
	d := time.Since(start)
	s.setActivity("", -1, nil)
	st := s.srv.Stats
	if st == nil {
		return
	}
	st.Command(info.cmd.String(), d)
	st.Digest(stats.DigestKey{Hostgroup: hg, Schema: s.state.schema, User: s.user.Name, Digest: info.hash},
		digest, d, int64(s.last.Affected), s.last.Rows)
}

// isBareEnd reports a plain COMMIT or ROLLBACK (no AND CHAIN, no savepoint).
func isBareEnd(digest string) bool {
	d := strings.TrimSpace(digest)
	return strings.EqualFold(d, "commit") || strings.EqualFold(d, "rollback")
}

// parseDropSchema extracts the name of "DROP {DATABASE|SCHEMA} [IF EXISTS] db".
func parseDropSchema(q string) (string, bool) {
	f := strings.Fields(strings.TrimRight(strings.TrimSpace(q), "; \t\n"))
	if len(f) < 3 || !strings.EqualFold(f[0], "drop") || !strings.EqualFold(f[1], "database") && !strings.EqualFold(f[1], "schema") {
		return "", false
	}
	f = f[2:]
	if len(f) == 3 && strings.EqualFold(f[0], "if") && strings.EqualFold(f[1], "exists") {
		f = f[2:]
	}
	if len(f) != 1 {
		return "", false
	}
	db := f[0]
	if len(db) >= 2 && db[0] == '`' && db[len(db)-1] == '`' {
		db = strings.ReplaceAll(db[1:len(db)-1], "``", "`")
	}
	return db, db != ""
}

// parseUse extracts the schema of "USE db" / "USE `db`".
func parseUse(q string) (string, bool) {
	q = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(q), ";"))
	if len(q) < 4 || !strings.EqualFold(q[:3], "use") || (q[3] != ' ' && q[3] != '\t' && q[3] != '\n' && q[3] != '`') {
		return "", false
	}
	db := strings.TrimSpace(q[3:])
	if len(db) >= 2 && db[0] == '`' && db[len(db)-1] == '`' {
		db = strings.ReplaceAll(db[1:len(db)-1], "``", "`")
	} else if strings.ContainsAny(db, " \t\n") || db == "" {
		return "", false
	}
	return db, true
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
func (s *Session) route(rt *runtime.Snapshot, q, digest, comment string, info *stmtInfo) (int, router.Result) {
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
			Username: s.user.Name, Schema: s.state.schema, FlagIN: flagIN, Query: q, DigestText: digest,
			Digest: info.hash, ClientAddr: s.clientHost, ProxyAddr: s.proxyAddr, ProxyPort: s.proxyPort,
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
		info.newConn = a.CreateNewConnection
	}
	if res.DestinationHostgroup >= 0 {
		hg = res.DestinationHostgroup
	}
	info.retries, info.multiplex = res.Retries+1, res.Multiplex+1
	if res.Timeout > 0 {
		info.timeout = time.Duration(res.Timeout) * time.Millisecond
	}
	if info.flags&router.FlagLastInsertID != 0 && s.lastInsertHG >= 0 && s.backend[s.lastInsertHG] != nil {
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
func (s *Session) run(rt *runtime.Snapshot, hg int, pkt []byte, kind wire.ReplyKind, info *stmtInfo) error {
	for attempt := 0; ; attempt++ {
		bc, fresh, err := s.backendFor(rt, hg, info.newConn)
		if err != nil {
			return err
		}
		stop := s.watch(bc, info.timeout)
		ri, err := s.roundTrip(rt, bc, pkt, kind)
		stop()
		if err != nil {
			canRetry := fresh && attempt < info.maxRetries(rt) && info.retrySafe()
			if err = s.failed(hg, bc, ri, err, canRetry); errors.Is(err, errRetry) {
				continue
			}
			return err
		}
		s.afterStatement(rt, hg, bc, ri, info)
		return nil
	}
}

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
	if !ri.SentAny && canRetry && !wasTrx && !s.wasKilled() {
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
		return wire.Reply{}, wire.ServerIOError{Err: err}
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

const perfectScore = 12

// refuseAll makes the pool open a new connection (create_new_connection=1).
func refuseAll(*backend.Conn) int { return -1 }

// score rates a pooled connection for this session (see backend.Want):
// the user and the CLIENT_FOUND_ROWS flag must match; matching schema,
// charset, autocommit and variables save replay round trips.
func (s *Session) score(bc *backend.Conn) int {
	if bc.User != s.user.Name || (bc.Caps&wire.ClientFoundRows != 0) != s.state.foundRows {
		return -1
	}
	sc := 1
	if bc.Schema == s.state.schema {
		sc += 4
	}
	if bc.Charset == s.state.charset {
		sc += 2
	}
	if bc.Autocommit == s.state.autocommit {
		sc++
	}
	if varsEqual(bc.Vars, s.state.vars) {
		sc += 4
	}
	return sc
}

func varsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// backendFor returns the connection to run the next statement on in hg: the
// attached one, or one from the pool. Either way its state is brought in
// line with the session first. fresh is true for a connection that was not
// attached before.
func (s *Session) backendFor(rt *runtime.Snapshot, hg int, newConn bool) (*backend.Conn, bool, error) {
	if bc := s.backend[hg]; bc != nil {
		if err := s.syncState(bc); err != nil {
			if bc.Broken {
				s.detach(hg, bc)
			}
			return nil, false, err
		}
		return bc, false, nil
	}
	w := backend.Want{
		Dial: backend.DialOptions{
			User: s.user.Name, Cred: s.cred, Schema: s.state.schema,
			Collation: defaultCollationOf(s.state.charset), FoundRows: s.state.foundRows,
		},
		Score: s.score, Perfect: perfectScore,
	}
	if newConn {
		w.Score = refuseAll
	}
	bc, err := s.srv.pool.Acquire(context.Background(), hg, &w)
	if err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			return nil, false, we
		}
		return nil, false, wire.Errorf(wire.ErProxyMaxConnectFailure, "HY000", "Max connect failure while reaching hostgroup %d: %v", hg, err)
	}
	if err := s.syncState(bc); err != nil {
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
func (s *Session) afterStatement(rt *runtime.Snapshot, hg int, bc *backend.Conn, ri wire.Reply, info *stmtInfo) {
	s.last = ri
	if ri.StatusKnown {
		bc.NoteStatus(ri.Status)
	}
	if ri.Err == nil {
		if db := info.dropsSchema; db != "" {
			if bc.Schema == db {
				bc.Schema = ""
			}
			if s.state.schema == db {
				s.state.schema = ""
			}
		}
		s.applyFlags(bc, info)
		if info.isSet {
			if info.setParsed {
				s.applySet(bc, info.set)
			} else if info.multiplex == multiplexNone {
				// A rule that sets multiplex for this SET tells sqlgate
				// it is harmless, as in ProxySQL.
				bc.Pinned |= pinUnparsedSet
			}
		}
		switch info.multiplex {
		case multiplexOff:
			bc.Pinned |= pinRuleNoMultiplex
		case multiplexOn:
			bc.Pinned &^= pinRuleNoMultiplex
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

// flagPins maps statement flags to the pins they set or clear.
var flagPins = []struct {
	flag  router.StmtFlags
	pin   uint32
	clear bool
}{
	{router.FlagTempTable, pinTempTable, false},
	{router.FlagLockTables, pinLockTables, false},
	{router.FlagUnlockTables, pinLockTables, true},
	{router.FlagGetLock, pinGetLock, false},
	{router.FlagFoundRows, pinFoundRows, false},
	{router.FlagPrepared, pinPrepare, false},
	{router.FlagSQLLogBin0, pinSQLLogBin0, false},
	{router.FlagSQLLogBin1, pinSQLLogBin0, true},
}

// applyFlags records the multiplexing-relevant effects of a statement.
func (s *Session) applyFlags(bc *backend.Conn, info *stmtInfo) {
	f := info.flags
	if f == 0 {
		return
	}
	if f&router.FlagUserVariable != 0 && info.cmd != router.CmdSet && info.multiplex != multiplexKeepVar && hasUserVariable(info) {
		bc.Pinned |= pinUserVariable
	}
	for _, fp := range flagPins {
		switch {
		case f&fp.flag == 0:
		case fp.clear:
			bc.Pinned &^= fp.pin
		default:
			bc.Pinned |= fp.pin
		}
	}
}

// hasUserVariable tells user variables (@x, state that lives on one
// connection) from system variables (@@x): reading a system variable needs
// no pinning because tracked variables are replayed on every connection.
func hasUserVariable(info *stmtInfo) bool { return info.userVar }

// containsUserVariable scans a digest (where string literals are already
// replaced by ?) for an @ that does not belong to @@.
func containsUserVariable(digest string) bool {
	for i := 0; i < len(digest); i++ {
		if digest[i] != '@' {
			continue
		}
		if i+1 < len(digest) && digest[i+1] == '@' {
			i++
			continue
		}
		return true
	}
	return false
}

// applySet records a successfully executed, parsed SET statement in the
// session state and in the state of the connection that ran it.
func (s *Session) applySet(bc *backend.Conn, as []router.Assignment) {
	for _, a := range as {
		if a.Ignored {
			continue
		}
		switch a.Name {
		case "autocommit":
			s.state.autocommit = a.Value == "1"
		case "names", "charset":
			key := a.Name + ":" + a.Value
			if a.Collate != "" {
				key += ":" + a.Collate
			}
			s.state.charset, bc.Charset = key, key
			for _, v := range charsetVars {
				delete(s.state.vars, v)
				delete(bc.Vars, v)
			}
		case "next_transaction_isolation", "next_transaction_read_only":
			bc.Pinned |= pinNextTrx
		default:
			s.state.vars[a.Name] = a.Value
			bc.Vars[a.Name] = a.Value
		}
	}
}

// charsetVars are reset by SET NAMES / SET CHARACTER SET.
var charsetVars = []string{"character_set_client", "character_set_connection", "character_set_results", "collation_connection"}

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
	old := s.state.schema
	s.state.schema = db
	hg := s.currentHG()
	bc, _, err := s.backendFor(rt, hg, false)
	if err != nil {
		s.state.schema = old
		return err
	}
	s.afterStatement(rt, hg, bc, wire.Reply{}, &stmtInfo{cmd: router.CmdUse})
	return s.writeOKStatus(wire.OK{})
}

func (s *Session) comFieldList(rt *runtime.Snapshot, p []byte) error {
	return s.run(rt, s.currentHG(), p, wire.ReplyFieldList, &stmtInfo{cmd: router.CmdShow})
}

// writeLocalResult sends a text result set built by sqlgate itself.
func (s *Session) writeLocalResult(cols []string, rows [][]*string) error {
	var err error
	s.out, err = s.c.WriteTextResult(s.out, cols, rows, s.status(), s.caps&wire.ClientDeprecateEOF != 0)
	return err
}
