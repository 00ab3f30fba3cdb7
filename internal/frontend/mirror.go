package frontend

import (
	"sqlgate/internal/backend"
	"sqlgate/internal/frontend/mirror"
	"sqlgate/internal/frontend/stmt"
	"sqlgate/internal/router"
	"sqlgate/internal/runtime"
	"sqlgate/internal/wire"
)

// maxMirrorPacket is ProxySQL's limit: larger statements are not mirrored.
const maxMirrorPacket = 15 << 20

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
		srv: s.srv, c: wire.NewConn(mirror.Discard{}), id: s.id, remote: s.remote, user: s.user, cred: s.cred,
		caps: s.caps, backend: map[int]*backend.Conn{}, trxHG: -1, nextFlagIN: -1, lockedHG: -1, lastInsertHG: -1,
		state: s.state.Clone(),
	}
	mi := *info
	mi.Retries = 1 // mirrors are never retried
	mi.Timeout = 0
	pkt := append([]byte{wire.ComQuery}, q...)
	s.srv.mirrors.Submit(func() { m.runMirror(hg, pkt, &mi) }, rt.Vars.MirrorMaxConcurrency, rt.Vars.MirrorMaxQueueLength)
}

// runMirror executes a mirrored statement and releases its connections.
func (s *Session) runMirror(hg int, pkt []byte, info *stmt.Info) {
	rt := s.srv.Store.Load()
	if err := s.run(rt, hg, pkt, wire.ReplyQuery, info); err != nil {
		s.srv.Log.Debug("mirrored statement failed", "session", s.id, "hostgroup", hg, "err", err)
	}
	s.releaseAll(false)
}
