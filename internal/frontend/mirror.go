package frontend

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/frontend/stmt"
	"sqlgate/internal/router"
	"sqlgate/internal/runtime"
	"sqlgate/internal/wire"
)

// maxMirrorPacket is ProxySQL's limit: larger statements are not mirrored.
const maxMirrorPacket = 15 << 20

// mirrorJob is one statement to replay on a mirror hostgroup.
type mirrorJob struct {
	sess *Session // detached pseudo-session
	hg   int
	pkt  []byte
	info stmt.Info
}

// mirrors runs mirror jobs with bounded concurrency
// (mysql-mirror_max_concurrency) and a bounded queue
// (mysql-mirror_max_queue_length); beyond that, mirrors are dropped and
// counted, as in ProxySQL: mirroring must never slow the real traffic.
type mirrors struct {
	mu      sync.Mutex
	running int
	queue   []mirrorJob
	dropped atomic.Int64
	done    atomic.Int64
}

func (m *mirrors) submit(j mirrorJob, maxConc, maxQueue int) {
	m.mu.Lock()
	if m.running < maxConc {
		m.running++
		m.mu.Unlock()
		go m.work(j)
		return
	}
	if len(m.queue) < maxQueue {
		m.queue = append(m.queue, j)
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	m.dropped.Add(1)
}

func (m *mirrors) work(j mirrorJob) {
	for {
		j.sess.runMirror(j)
		m.done.Add(1)
		m.mu.Lock()
		if len(m.queue) == 0 {
			m.running--
			m.mu.Unlock()
			return
		}
		j = m.queue[0]
		m.queue[0] = mirrorJob{}
		m.queue = m.queue[1:]
		m.mu.Unlock()
	}
}

// counts returns the running and queued mirrors (Mirror_concurrency and
// Mirror_queue_length in stats_mysql_global).
func (m *mirrors) counts() (running, queued int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running, len(m.queue)
}

// mirror queues a copy of a COM_QUERY for the mirror hostgroup or, with
// mirror_flagOUT, for wherever the rules starting at that flag send it (and
// rewritten as they say). The copy runs on a detached session with the
// client's user and session state; its results are discarded.
func (s *Session) mirror(rt *runtime.Snapshot, res router.Result, q, digest string, info *stmt.Info) {
	if len(q)+1 > maxMirrorPacket || info.Cmd == router.CmdLoadData {
		return
	}
	hg := res.MirrorHostgroup
	if res.MirrorFlagOUT >= 0 {
		mres := rt.Rules.Evaluate(router.Input{
			Username: s.user.Name, Schema: s.state.Schema, FlagIN: res.MirrorFlagOUT, Query: q, DigestText: digest,
			Digest: info.Hash, ClientAddr: s.clientHost, ProxyAddr: s.proxyAddr, ProxyPort: s.proxyPort,
		})
		if mres.DestinationHostgroup >= 0 {
			hg = mres.DestinationHostgroup
		}
		if mres.NewQuery != "" {
			q = mres.NewQuery
		}
	}
	if hg < 0 {
		hg = s.user.DefaultHostgroup
	}
	m := &Session{
		srv: s.srv, c: wire.NewConn(discardConn{}), id: s.id, remote: s.remote, user: s.user, cred: s.cred,
		caps: s.caps, backend: map[int]*backend.Conn{}, trxHG: -1, nextFlagIN: -1, lockedHG: -1, lastInsertHG: -1,
		state: s.state.Clone(),
	}
	mi := *info
	mi.Retries = 1 // mirrors are never retried
	mi.Timeout = 0
	pkt := append([]byte{wire.ComQuery}, q...)
	s.srv.mirrors.submit(mirrorJob{sess: m, hg: hg, pkt: pkt, info: mi}, rt.Vars.MirrorMaxConcurrency, rt.Vars.MirrorMaxQueueLength)
}

// runMirror executes a mirrored statement and releases its connections.
func (s *Session) runMirror(j mirrorJob) {
	rt := s.srv.Store.Load()
	if err := s.run(rt, j.hg, j.pkt, wire.ReplyQuery, &j.info); err != nil {
		s.srv.Log.Debug("mirrored statement failed", "session", s.id, "hostgroup", j.hg, "err", err)
	}
	s.releaseAll(false)
}

// discardConn is the client side of a mirror session: replies go nowhere
// and there is nothing to read.
type discardConn struct{}

func (discardConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) Close() error                     { return nil }
func (discardConn) LocalAddr() net.Addr              { return mirrorAddr{} }
func (discardConn) RemoteAddr() net.Addr             { return mirrorAddr{} }
func (discardConn) SetDeadline(time.Time) error      { return nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

type mirrorAddr struct{}

func (mirrorAddr) Network() string { return "mirror" }
func (mirrorAddr) String() string  { return "mirror:0" }
