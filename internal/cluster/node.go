package cluster

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config is the admin-cluster_* variables the peer loop needs.
type Config struct {
	Username, Password string
	CheckInterval      time.Duration
	StatusFrequency    int
	// Diffs and SaveToDisk are keyed by module name; "mysql_servers"
	// covers both servers modules, as in ProxySQL.
	Diffs            map[string]int
	SaveToDisk       map[string]bool
	ServersAlgorithm int  // 1 runtime + v2, 2 v2 only, 3 auto
	MonitorEnabled   bool // for algorithm 3
	// MonitorMovesServers: the monitor maintains replication hostgroups
	// here, so the runtime servers are its findings, not configuration.
	MonitorMovesServers bool
	// VersionOneRule settles differences between nodes that all run
	// boot (version 1) configuration, which ProxySQL never syncs: a
	// satellite (a node absent from its own proxysql_servers) follows the
	// first core, and a core follows the cores listed before it, in
	// proxysql_servers order (hostname, then port). So the first core's
	// file seeds a cluster booted from differing files. Off with
	// -proxysql-boot-versions.
	VersionOneRule bool
}

// algorithm resolves cluster_mysql_servers_sync_algorithm. 3 pulls the
// runtime servers only when no monitor maintains them. sqlgate
// also reads 1 as 2 while its monitor moves servers between replication
// hostgroups: pulling another node's monitor findings, each with a fresh
// epoch, lets two nodes with different views flip the writer back and
// forth. The variable's value, and so the admin_variables
// checksum, stays ProxySQL's.
func (c Config) algorithm() int {
	switch {
	case c.ServersAlgorithm == 3 && c.MonitorEnabled:
		return 2
	case c.ServersAlgorithm == 3:
		return 1
	case c.ServersAlgorithm == 1 && c.MonitorMovesServers:
		return 2
	}
	return c.ServersAlgorithm
}

// Local is this node as the cluster sees it; the admin implements it.
type Local interface {
	ClusterConfig() Config
	// Checksums returns the node's own {checksum, version, epoch} per module.
	Checksums() map[string]Value
	// Version is the @@version peers must report to be clustered with.
	Version() string
	NodeUUID() string
	AdminIfaces() string
	// IsSelf reports whether a proxysql_servers entry is this node.
	IsSelf(p Peer) bool
	// ApplyPull loads a validated pulled module, as LOAD ... TO RUNTIME does,
	// keeping the peer's epoch.
	ApplyPull(p *Pull) error
}

// Peer is one proxysql_servers row.
type Peer struct {
	Hostname string
	Port     int
	Weight   int
	Comment  string
}

func (p Peer) addr() string { return fmt.Sprintf("%s:%d", p.Hostname, p.Port) }

// record is the local copy of one module's checksum on one peer.
type record struct {
	Value
	diffCheck   uint64
	lastChanged time.Time
	lastUpdated time.Time
	// differSince is when the peer's checksum stopped matching this
	// node's (zero while they match); reason is why the last decision
	// did not make them match, as the drift view shows it.
	differSince time.Time
	reason      string
}

// count records one more check of r against own: diffCheck counts the
// checks the two have differed for, and differSince when that began.
func (r *record) count(own string, now time.Time) {
	if r.Checksum == own {
		r.diffCheck, r.differSince, r.reason = 0, time.Time{}, ""
		return
	}
	r.diffCheck++
	if r.differSince.IsZero() {
		r.differSince = now
	}
}

// node is one peer being monitored.
type node struct {
	peer Peer // immutable: identity (hostname, port) and the weight/comment it was created with
	// ctx ends when the peer is removed from proxysql_servers or the
	// cluster closes; cancel ends it.
	ctx    context.Context
	cancel context.CancelFunc

	// Guarded by Cluster.dataMu: a LOAD PROXYSQL SERVERS may change them.
	weight  int
	comment string

	// Guarded by Cluster.dataMu.
	records        map[string]*record
	globalChecksum string
	status         string // why the last check failed, "" when fine
	statusSince    time.Time
	pullErr        map[string]string // why the last pull of a module failed
	checksOK       int64
	checksErr      int64
	lastCheck      time.Duration
	lastCheckAt    time.Time
	metrics        metrics
	masterVersion  string
}

// metrics are the peer's stats_mysql_global numbers.
type metrics struct {
	responseTime                      time.Duration
	uptime, queries, connected, creat int64
	serversTableVersion               int64
	at                                time.Time
}

// Cluster monitors the peers in proxysql_servers and pulls configuration
// from them with ProxySQL's rules.
type Cluster struct {
	local Local
	log   *slog.Logger

	// mu is ProxySQL's nodes-map mutex: held across "update a peer's
	// records, decide, pull", so at most one sync runs at a time.
	mu sync.Mutex
	// dataMu guards the records that the stats tables read; it is never
	// held while calling into the admin, so the admin can read them
	// without lock-order trouble.
	dataMu sync.Mutex
	nodes  map[string]*node

	wantMu sync.Mutex
	want   []Peer
	wake   chan struct{}
	// ctx ends on Close: every peer monitor, dial and fetch derives from
	// it, so Close never waits for a peer that does not answer.
	ctx     context.Context
	cancel  context.CancelFunc
	stopped chan struct{}
	wg      sync.WaitGroup

	// selfMu guards the cached answers of Local.IsSelf per peer address,
	// refreshed every selfTTL (listeners and DNS can change).
	selfMu   sync.Mutex
	selfSeen map[string]bool
	selfAt   time.Time

	// Conflicts and pulls, for the stats and the tests.
	Pulls     counters
	Conflicts counters
}

type counters struct {
	mu sync.Mutex
	m  map[string]int64
}

func (c *counters) add(k string) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[k]++
	c.mu.Unlock()
}

// Get returns a counter ("module/status").
func (c *counters) Get(k string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

// New returns a cluster for local; call SetPeers to start monitoring.
func New(local Local, log *slog.Logger) *Cluster {
	c := &Cluster{local: local, log: log, nodes: map[string]*node{}, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.reconcileLoop()
	return c
}

// SetPeers is LOAD PROXYSQL SERVERS TO RUNTIME: monitors for new peers
// start, removed peers' monitors stop. It does not block: it may be called
// with the admin's lock held, or from inside a pull.
func (c *Cluster) SetPeers(ps []Peer) {
	c.wantMu.Lock()
	c.want = append([]Peer(nil), ps...)
	c.wantMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Close stops every peer monitor and waits for them. A monitor blocked
// on a peer is unblocked by closing its connection, so Close returns
// promptly whatever the peers do.
func (c *Cluster) Close() {
	c.cancel()
	<-c.stopped
	c.wg.Wait()
}

func (c *Cluster) reconcileLoop() {
	defer close(c.stopped)
	for {
		select {
		case <-c.ctx.Done():
			return // every node's ctx derives from c.ctx
		case <-c.wake:
		}
		c.wantMu.Lock()
		want := c.want
		c.wantMu.Unlock()
		c.reconcile(want)
	}
}

func (c *Cluster) reconcile(want []Peer) {
	c.dataMu.Lock()
	defer c.dataMu.Unlock()
	keep := map[string]bool{}
	for _, p := range want {
		k := p.addr()
		keep[k] = true
		if n, ok := c.nodes[k]; ok {
			n.weight, n.comment = p.Weight, p.Comment
			continue
		}
		n := &node{peer: p, weight: p.Weight, comment: p.Comment, records: map[string]*record{}}
		n.ctx, n.cancel = context.WithCancel(c.ctx)
		c.nodes[k] = n
		c.info(fmt.Sprintf("Created new Cluster Node Entry for host %s:%d", p.Hostname, p.Port))
		c.wg.Add(1)
		go c.monitor(n)
	}
	for k, n := range c.nodes {
		if !keep[k] {
			n.cancel()
			delete(c.nodes, k)
			c.info(fmt.Sprintf("Destroyed Cluster Node Entry for host %s:%d", n.peer.Hostname, n.peer.Port))
		}
	}
}

// pause waits d or until the cluster closes.
func (c *Cluster) pause(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ctx.Done():
	case <-t.C:
	}
}

func (c *Cluster) info(msg string) {
	if c.log != nil {
		c.log.Info(msg)
	}
}

func (c *Cluster) warn(msg string) {
	if c.log != nil {
		c.log.Warn(msg)
	}
}

func (c *Cluster) errorf(msg string) {
	if c.log != nil {
		c.log.Error(msg)
	}
}

// diffModule is the cluster_<module>_diffs_before_sync variable a module
// uses: both servers modules share mysql_servers.
func diffModule(m string) string {
	if m == MySQLServersV2 {
		return MySQLServers
	}
	return m
}

// update applies a runtime_checksums_values resultset (rows nil: the
// global checksum did not change) to a peer's records.
func (c *Cluster) update(n *node, rows [][]*string, own map[string]Value, cfg Config) {
	now := time.Now()
	c.dataMu.Lock()
	defer c.dataMu.Unlock()
	if rows == nil {
		// ProxySQL only counts on while diff_check is non-zero, so a diff
		// that appears because this node changed (the peer did not) is
		// never counted. sqlgate starts counting it: a satellite must see
		// that it differs from the cores even when only it changed.
		for name, r := range n.records {
			r.lastUpdated = now
			r.count(own[name].Checksum, now)
		}
		return
	}
	for _, row := range rows {
		if len(row) < 4 || row[0] == nil {
			continue
		}
		name := *row[0]
		if !knownModule(name) {
			continue
		}
		r := n.records[name]
		if r == nil {
			r = &record{}
			n.records[name] = r
		}
		r.Version = parseUint(row[1])
		r.Epoch = int64(parseUint(row[2]))
		r.lastUpdated = now
		sum := deref(row[3])
		if sum != r.Checksum {
			r.Checksum, r.lastChanged, r.diffCheck = sum, now, 0
			tail := "Not syncing yet ..."
			if cfg.Diffs[diffModule(name)] == 0 {
				tail = fmt.Sprintf("Not syncing due to 'admin-cluster_%s_diffs_before_sync=0'.", diffModule(name))
			}
			c.info(fmt.Sprintf("Cluster: detected a new checksum for %s from peer %s:%d, version %d, epoch %d, checksum %s . %s",
				name, n.peer.Hostname, n.peer.Port, r.Version, r.Epoch, r.Checksum, tail))
			if sum == own[name].Checksum {
				c.info(fmt.Sprintf("Cluster: checksum for %s from peer %s:%d matches with local checksum %s , we won't sync.",
					name, n.peer.Hostname, n.peer.Port, sum))
			}
		}
		r.count(own[name].Checksum, now)
	}
}

func knownModule(name string) bool {
	for _, m := range Modules {
		if m == name {
			return true
		}
	}
	return false
}

func parseUint(s *string) uint64 {
	var n uint64
	if s == nil {
		return 0
	}
	for _, c := range *s {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// LoadCommand is the LOAD command that loads a checksummed module, as the
// local-LOAD log line and the version-1 warning name it.
func LoadCommand(module string) string {
	switch module {
	case AdminVariables:
		return "LOAD ADMIN VARIABLES TO RUNTIME"
	case MySQLQueryRules:
		return "LOAD MYSQL QUERY RULES TO RUNTIME"
	case MySQLUsers:
		return "LOAD MYSQL USERS TO RUNTIME"
	case MySQLVariables:
		return "LOAD MYSQL VARIABLES TO RUNTIME"
	case ProxySQLServers:
		return "LOAD PROXYSQL SERVERS TO RUNTIME"
	}
	return "LOAD MYSQL SERVERS TO RUNTIME" // mysql_servers and mysql_servers_v2
}

// decideOrder is the order modules are compared and pulled in. ProxySQL
// pulls query rules before servers; sqlgate validates a pulled module as
// LOAD ... TO RUNTIME does (a rule or user must point at a hostgroup that
// has servers), so servers come before users and rules, and a first sync
// never fails on a hostgroup it is about to receive. proxysql_servers is
// last, because pulling it can remove the very peer being processed.
var decideOrder = []string{AdminVariables, MySQLVariables, MySQLServersV2, MySQLUsers, MySQLQueryRules, ProxySQLServers}

// candidate is a peer's record chosen for a pull.
type candidate struct {
	n       *node
	rec     Value
	runtime Value // the same peer's runtime mysql_servers, for servers pulls
}

// wantsSync is ProxySQL's rule for pulling one module from a peer: the
// peer's version is above 1, its epoch is newer than ours (or ours is at
// version 1), and it has differed for diffs_before_sync checks. sqlgate
// adds a tie-break: equal epochs resolve to the higher checksum instead of
// a conflict that only a manual LOAD ends.
func wantsSync(own Value, p *record, d int) (sync bool, conflict string) {
	if p.Version > 1 {
		if (own.Version == 1 || p.Epoch > own.Epoch) && p.diffCheck >= uint64(d) {
			return true, ""
		}
		if p.Epoch == own.Epoch && p.diffCheck >= uint64(d) && own.Version > 1 && p.Checksum != own.Checksum {
			if p.Checksum > own.Checksum {
				return true, "tie"
			}
			return false, "tie-lost"
		}
		return false, ""
	}
	if p.diffCheck > 0 && p.diffCheck%uint64(d*10) == 0 {
		return false, "version1"
	}
	return false, ""
}

// choosePeer picks the peer to pull from, as ProxySQL does: the
// newest-epoch peer with version > 1 and enough diff_checks. Unlike
// ProxySQL, which depends on map order, sqlgate postpones deterministically
// while any eligible peer with a newer epoch has not yet reached
// diffs_before_sync, and breaks epoch ties by the higher checksum (then the
// peer address).
func (c *Cluster) choosePeer(module string, d int) (*candidate, bool) {
	c.dataMu.Lock()
	defer c.dataMu.Unlock()
	keys := make([]string, 0, len(c.nodes))
	for k := range c.nodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var best *candidate
	var newest int64
	for _, k := range keys {
		n := c.nodes[k]
		r := n.records[module]
		if r == nil || r.Version <= 1 {
			continue
		}
		newest = max(newest, r.Epoch)
		if r.diffCheck < uint64(d) {
			continue
		}
		if best == nil || r.Epoch > best.rec.Epoch || r.Epoch == best.rec.Epoch && r.Checksum > best.rec.Checksum {
			best = &candidate{n: n, rec: r.Value}
			if rt := n.records[MySQLServers]; rt != nil {
				best.runtime = rt.Value
			}
		}
	}
	if best == nil {
		return nil, false
	}
	if newest > best.rec.Epoch {
		c.warn(fmt.Sprintf("Cluster: detected a peer with %s epoch %d , but not enough diff_check. We won't sync from epoch %d: temporarily skipping sync",
			module, newest, best.rec.Epoch))
		return nil, false
	}
	return best, true
}

// decide runs wantsSync for every module after a peer's records changed, and
// pulls synchronously (c.mu is held by the caller). Each module's outcome is
// recorded on the peer's record as the reason the drift view shows, so the
// view says what this code decided rather than a guess made beside it.
func (c *Cluster) decide(n *node, cfg Config) {
	own := c.local.Checksums()
	for _, m := range decideOrder {
		d := cfg.Diffs[diffModule(m)]
		c.dataMu.Lock()
		r := n.records[m]
		var p record
		if r != nil {
			p = *r
		}
		c.dataMu.Unlock()
		if r == nil {
			continue
		}
		o := own[m]
		if d <= 0 {
			c.setReason(n, m, syncOffReason(m))
			continue
		}
		ok, conflict := wantsSync(o, &p, d)
		reason := pendingReason(m, o, p, d, conflict)
		name := m
		if m == MySQLServersV2 {
			name = MySQLServers // ProxySQL prints the v2 module this way
		}
		var cand *candidate
		if conflict == "version1" && cfg.VersionOneRule {
			conflict = "" // the version-one rule explains itself below
		}
		if !ok && cfg.VersionOneRule && p.Version <= 1 && p.Checksum != o.Checksum && p.diffCheck >= uint64(d) {
			cand, reason = c.versionOne(n, m, o, p, d)
			ok = cand != nil
		} else if !ok && cfg.VersionOneRule && p.Version > 1 && p.Checksum != o.Checksum && p.diffCheck >= uint64(d) && !c.isCore() && !c.peerHas(m, o.Checksum) {
			// A satellite follows the cores even when its own configuration
			// is newer: cores never read a satellite, so keeping it would
			// diverge for good.
			ok = true
			if p.diffCheck == uint64(d) || p.diffCheck%uint64(d*10) == 0 {
				c.info(fmt.Sprintf("Cluster: this node is a satellite (absent from its own proxysql_servers) and follows the cores: its %s (version %d, epoch %d) differs from core %s:%d's (version %d, epoch %d)",
					name, o.Version, o.Epoch, n.peer.Hostname, n.peer.Port, p.Version, p.Epoch))
			}
		} else if !ok && p.Version > 1 && o.Version > 1 && p.Epoch < o.Epoch && p.Checksum != o.Checksum &&
			p.diffCheck >= uint64(d*10) && p.diffCheck%uint64(d*10) == 0 {
			c.Conflicts.add(m + "/peer_older")
			c.info(fmt.Sprintf("Cluster: peer %s:%d has an older %s (version %d, epoch %d, diff_check %d) than this node (version %d, epoch %d): not syncing from it, it will sync from a node with the newer configuration. This message will be repeated every %d checks.",
				n.peer.Hostname, n.peer.Port, name, p.Version, p.Epoch, p.diffCheck, o.Version, o.Epoch, d*10))
		}
		switch conflict {
		case "version1":
			c.Conflicts.add(m + "/version_one")
			c.warn(fmt.Sprintf("Cluster: detected a peer %s:%d with %s version %d, epoch %d, diff_check %d. Own version: %d, epoch: %d. diff_check is increasing, but version 1 doesn't allow sync. This message will be repeated every %d checks until %s is executed on candidate master.",
				n.peer.Hostname, n.peer.Port, name, p.Version, p.Epoch, p.diffCheck, o.Version, o.Epoch, d*10, LoadCommand(m)))
		case "tie", "tie-lost":
			if p.diffCheck == uint64(d) || p.diffCheck%uint64(d*10) == 0 {
				c.Conflicts.add(m + "/servers_share_epoch")
				verdict := "ours is kept: the higher checksum wins ties"
				if conflict == "tie" {
					verdict = "pulling the peer's: the higher checksum wins ties"
				}
				c.warn(fmt.Sprintf("Cluster: detected a peer %s:%d with %s version %d, epoch %d, diff_check %d, checksum %s. Own version: %d, epoch: %d, checksum %s. Epoch times are EQUAL; %s.",
					n.peer.Hostname, n.peer.Port, name, p.Version, p.Epoch, p.diffCheck, p.Checksum, o.Version, o.Epoch, o.Checksum, verdict))
			}
		}
		if !ok {
			c.setReason(n, m, reason)
			continue
		}
		if cand == nil {
			c.info(fmt.Sprintf("Cluster: detected a peer %s:%d with %s version %d, epoch %d, diff_check %d. Own version: %d, epoch: %d. Proceeding with remote sync",
				n.peer.Hostname, n.peer.Port, name, p.Version, p.Epoch, p.diffCheck, o.Version, o.Epoch))
			var found bool
			if cand, found = c.choosePeer(m, d); !found {
				c.setReason(n, m, postponedReason(m))
				continue
			}
		}
		c.info(fmt.Sprintf("Cluster: detected peer %s:%d with %s version %d, epoch %d", cand.n.peer.Hostname, cand.n.peer.Port, m, cand.rec.Version, cand.rec.Epoch))
		if !c.pullAndRecord(n, m, cand, func() error { return c.pull(m, cand, cfg, o) }) {
			continue
		}
		own = c.local.Checksums()
		if m == ProxySQLServers {
			return // the peer list may have changed under us
		}
	}
	// Algorithm 1 also follows the peers' runtime servers when v2 agreed.
	c.decideRuntimeServers(n, cfg, own)
}

// pullAndRecord runs one pull of module m from cand for a decision made on
// peer n, and records its outcome: the pull counters, the candidate's pull
// error and n's drift reason. As ProxySQL, a failed pull waits a second
// before the next.
func (c *Cluster) pullAndRecord(n *node, m string, cand *candidate, pull func() error) bool {
	from := cand.n.peer.addr()
	if err := pull(); err != nil {
		c.Pulls.add(m + "/failure")
		c.setPullErr(cand.n, m, "pull of "+m+" failed: "+err.Error())
		c.setReason(n, m, "pull from "+from+" failed: "+err.Error())
		c.pause(time.Second)
		return false
	}
	c.Pulls.add(m + "/success")
	c.setPullErr(cand.n, m, "")
	c.setReason(n, m, "pulled from "+from+"; the next check compares again")
	return true
}

// syncOffReason and postponedReason are the drift reasons of a module whose
// sync is switched off, and of one whose pull waits for a newer peer
// (choosePeer).
func syncOffReason(m string) string {
	return fmt.Sprintf("not syncing: admin-cluster_%s_diffs_before_sync=0", diffModule(m))
}

func postponedReason(m string) string {
	return fmt.Sprintf("sync postponed: a peer with a newer epoch has not yet differed for admin-cluster_%s_diffs_before_sync checks", diffModule(m))
}

// pendingReason says why a module that wantsSync did not pull stays
// different from the peer's p; decide overrides it where a sqlgate rule
// (version one, satellites) or the pull itself decides.
func pendingReason(m string, o Value, p record, d int, conflict string) string {
	switch {
	case p.Checksum == o.Checksum:
		return ""
	case p.diffCheck < uint64(d):
		return fmt.Sprintf("differs for %d of the %d checks admin-cluster_%s_diffs_before_sync waits before a sync", p.diffCheck, d, diffModule(m))
	case conflict == "tie":
		return fmt.Sprintf("equal epochs (%d): pulling the peer's, the higher checksum wins ties", p.Epoch)
	case conflict == "tie-lost":
		return fmt.Sprintf("equal epochs (%d): ours is kept, the higher checksum wins ties; the peer syncs from this node", p.Epoch)
	case p.Version <= 1:
		return fmt.Sprintf("the peer runs its boot configuration (version 1), which is never synced from; run %s on the node whose configuration is right", LoadCommand(m))
	case o.Version > 1 && p.Epoch < o.Epoch:
		return fmt.Sprintf("the peer's epoch %d is older than ours (%d): it syncs from a node with the newer configuration", p.Epoch, o.Epoch)
	}
	return fmt.Sprintf("differs; no sync rule applies (peer version %d, epoch %d; ours version %d, epoch %d)", p.Version, p.Epoch, o.Version, o.Epoch)
}

// decideRuntimeServers decides the runtime mysql_servers module on its own,
// when the mysql_servers_v2 checksums agree (otherwise the v2 pull brings
// the servers along). Only algorithm 1 syncs it.
func (c *Cluster) decideRuntimeServers(n *node, cfg Config, own map[string]Value) {
	d := cfg.Diffs[MySQLServers]
	c.dataMu.Lock()
	r := n.records[MySQLServers]
	v2 := n.records[MySQLServersV2]
	var p record
	if r != nil {
		p = *r
	}
	c.dataMu.Unlock()
	switch {
	case r == nil:
		return
	case d <= 0:
		c.setReason(n, MySQLServers, syncOffReason(MySQLServers))
		return
	case cfg.algorithm() != 1:
		c.setReason(n, MySQLServers, fmt.Sprintf("not synced on its own with admin-cluster_mysql_servers_sync_algorithm=%d: mysql_servers_v2 carries the configuration, the monitor sets the runtime state", cfg.algorithm()))
		return
	case v2 != nil && v2.Checksum != own[MySQLServersV2].Checksum:
		c.setReason(n, MySQLServers, "synced with mysql_servers_v2, which differs")
		return
	}
	ok, conflict := wantsSync(own[MySQLServers], &p, d)
	if !ok {
		c.setReason(n, MySQLServers, pendingReason(MySQLServers, own[MySQLServers], p, d, conflict))
		return
	}
	cand, found := c.choosePeer(MySQLServers, d)
	if !found {
		c.setReason(n, MySQLServers, postponedReason(MySQLServers))
		return
	}
	c.pullAndRecord(n, MySQLServers, cand, func() error { return c.pullRuntimeServers(cand, cfg, own[MySQLServers]) })
}

// setReason records why module m still differs from peer n's.
func (c *Cluster) setReason(n *node, m, reason string) {
	c.dataMu.Lock()
	if r := n.records[m]; r != nil {
		r.reason = reason
	}
	c.dataMu.Unlock()
}

// setStatus records why a peer check or pull fails, logging once per
// change of reason.
func (c *Cluster) setStatus(n *node, status string) {
	c.dataMu.Lock()
	changed := n.status != status
	if changed {
		n.status, n.statusSince = status, time.Now()
	}
	c.dataMu.Unlock()
	if changed && status != "" {
		c.warn("Cluster: peer " + n.peer.addr() + ": " + status)
	} else if changed {
		c.info("Cluster: peer " + n.peer.addr() + ": checks succeed again")
	}
}

// setPullErr records why a module's pull from a peer fails ("" once it
// succeeds), logging once per change.
func (c *Cluster) setPullErr(n *node, module, msg string) {
	c.dataMu.Lock()
	if n.pullErr == nil {
		n.pullErr = map[string]string{}
	}
	changed := n.pullErr[module] != msg
	if msg == "" {
		delete(n.pullErr, module)
	} else {
		n.pullErr[module] = msg
	}
	c.dataMu.Unlock()
	if changed && msg != "" {
		c.warn("Cluster: peer " + n.peer.addr() + ": " + msg)
	} else if changed {
		c.info("Cluster: peer " + n.peer.addr() + ": " + module + " pulled successfully again")
	}
}

// PeerChecksum is one stats_proxysql_servers_checksums row.
type PeerChecksum struct {
	Hostname             string
	Port                 int
	Name                 string
	Version              uint64
	Epoch                int64
	Checksum             string
	ChangedAt, UpdatedAt int64
	DiffCheck            uint64
}

// PeerStatus is one peer's monitoring state (stats_proxysql_servers_status
// and _metrics).
type PeerStatus struct {
	Peer
	Status              string // "" when checks succeed, else why not
	ChecksOK, ChecksErr int64
	LastCheck           time.Duration
	LastCheckAt         time.Time
	ResponseTime        time.Duration
	Uptime, Queries     int64
	Connected, Created  int64
	GlobalChecksum      string
}

// Checksums returns every peer's module records, ordered.
func (c *Cluster) Checksums() []PeerChecksum {
	c.dataMu.Lock()
	defer c.dataMu.Unlock()
	var out []PeerChecksum
	for _, n := range c.nodes {
		for name, r := range n.records {
			out = append(out, PeerChecksum{Hostname: n.peer.Hostname, Port: n.peer.Port, Name: name, Version: r.Version,
				Epoch: r.Epoch, Checksum: r.Checksum, ChangedAt: unix(r.lastChanged), UpdatedAt: unix(r.lastUpdated), DiffCheck: r.diffCheck})
		}
	}
	slices.SortFunc(out, func(a, b PeerChecksum) int {
		return byPeerModule(a.Hostname, a.Port, a.Name, b.Hostname, b.Port, b.Name)
	})
	return out
}

// ModuleDrift is one stats_sqlgate_cluster_drift row: how one peer's module
// compares with this node's, and why it is not syncing.
type ModuleDrift struct {
	Hostname    string
	Port        int
	Name        string
	State       string // DriftInSync, DriftDiffers or DriftUnreachable
	Local, Peer Value
	DiffCheck   uint64
	DifferSince int64 // unix seconds; 0 while in sync
	Reason      string
}

// The drift states.
const (
	DriftInSync      = "in sync"
	DriftDiffers     = "differs"
	DriftUnreachable = "unreachable" // the peer's checks fail: its records are stale or absent
)

// Drift compares every peer's modules with this node's, ordered by peer and
// module. The reasons are the ones decide recorded; a peer whose checks fail
// shows why they fail (unreachable, refused login, a different ProxySQL
// version) for every module.
func (c *Cluster) Drift() []ModuleDrift {
	own := c.local.Checksums() // outside dataMu: the admin has its own lock
	c.dataMu.Lock()
	defer c.dataMu.Unlock()
	var out []ModuleDrift
	for _, n := range c.nodes {
		for _, m := range Modules {
			r := n.records[m]
			if r == nil && n.status == "" {
				continue // not reported yet
			}
			d := ModuleDrift{Hostname: n.peer.Hostname, Port: n.peer.Port, Name: m, Local: own[m]}
			if r != nil {
				d.Peer, d.DiffCheck, d.DifferSince, d.Reason = r.Value, r.diffCheck, unix(r.differSince), r.reason
			}
			switch {
			case n.status != "":
				d.State, d.Reason = DriftUnreachable, n.status
				if d.DifferSince == 0 {
					d.DifferSince = unix(n.statusSince)
				}
			case r.Checksum == d.Local.Checksum:
				d.State, d.DifferSince, d.Reason = DriftInSync, 0, ""
			default:
				d.State = DriftDiffers
				if d.Reason == "" {
					d.Reason = "differs since the last check; the next one decides"
				}
			}
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b ModuleDrift) int {
		return byPeerModule(a.Hostname, a.Port, a.Name, b.Hostname, b.Port, b.Name)
	})
	return out
}

// byPeerModule orders per-peer module rows by peer address, then module.
func byPeerModule(h1 string, p1 int, m1 string, h2 string, p2 int, m2 string) int {
	return cmp.Or(strings.Compare(h1, h2), cmp.Compare(p1, p2), strings.Compare(m1, m2))
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// Peers returns every monitored peer's status, ordered.
func (c *Cluster) Peers() []PeerStatus {
	c.dataMu.Lock()
	defer c.dataMu.Unlock()
	var out []PeerStatus
	for _, n := range c.nodes {
		st := n.status
		if st == "" {
			mods := make([]string, 0, len(n.pullErr))
			for m := range n.pullErr {
				mods = append(mods, m)
			}
			sort.Strings(mods)
			for _, m := range mods {
				st = strings.TrimPrefix(st+"; "+n.pullErr[m], "; ")
			}
		}
		pr := n.peer
		pr.Weight, pr.Comment = n.weight, n.comment
		out = append(out, PeerStatus{Peer: pr, Status: st, ChecksOK: n.checksOK, ChecksErr: n.checksErr,
			LastCheck: n.lastCheck, LastCheckAt: n.lastCheckAt, ResponseTime: n.metrics.responseTime, Uptime: n.metrics.uptime,
			Queries: n.metrics.queries, Connected: n.metrics.connected, Created: n.metrics.creat, GlobalChecksum: n.globalChecksum})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].addr() < out[j].addr() })
	return out
}

// moduleTitle is how the pull log lines name a module.
func moduleTitle(m string) string {
	switch m {
	case MySQLQueryRules:
		return "MySQL Query Rules"
	case MySQLUsers:
		return "MySQL Users"
	case ProxySQLServers:
		return "ProxySQL Servers"
	case MySQLServersV2:
		return "MySQL Servers v2"
	case MySQLServers:
		return "MySQL Servers"
	}
	return strings.TrimSuffix(strings.ToUpper(m[:1])+m[1:], "_variables") + " Variables"
}

// selfTTL is how long the answers of Local.IsSelf are reused.
const selfTTL = 10 * time.Second

// isSelf reports whether the peer entry n is this node, cached.
func (c *Cluster) isSelf(n *node) bool { return c.IsSelf(n.peer) }

// IsSelf reports whether the proxysql_servers entry p is this node
// (Local.IsSelf, which may resolve a host name), with the answer reused
// for selfTTL.
func (c *Cluster) IsSelf(p Peer) bool {
	k := p.addr()
	c.selfMu.Lock()
	if time.Since(c.selfAt) > selfTTL {
		c.selfSeen, c.selfAt = map[string]bool{}, time.Now()
	}
	v, ok := c.selfSeen[k]
	c.selfMu.Unlock()
	if ok {
		return v
	}
	v = c.local.IsSelf(p)
	c.selfMu.Lock()
	c.selfSeen[k] = v
	c.selfMu.Unlock()
	return v
}

// ranked returns the monitored peers in proxysql_servers order.
func (c *Cluster) ranked() []*node {
	c.dataMu.Lock()
	nodes := make([]*node, 0, len(c.nodes))
	for _, x := range c.nodes {
		nodes = append(nodes, x)
	}
	c.dataMu.Unlock()
	slices.SortFunc(nodes, func(a, b *node) int { return peerOrder(a.peer, b.peer) })
	return nodes
}

// peerHas reports whether a reachable peer's module m has checksum sum.
func (c *Cluster) peerHas(m, sum string) bool {
	c.dataMu.Lock()
	defer c.dataMu.Unlock()
	for _, x := range c.nodes {
		if r := x.records[m]; x.status == "" && r != nil && r.Checksum == sum {
			return true
		}
	}
	return false
}

// isCore reports whether this node is in its own proxysql_servers; a node
// that is not is a satellite.
func (c *Cluster) isCore() bool {
	for _, x := range c.ranked() {
		if c.isSelf(x) {
			return true
		}
	}
	return false
}

// peerOrder sorts proxysql_servers entries as the version-one rule ranks
// cores: by hostname, then port.
func peerOrder(a, b Peer) int {
	if c := strings.Compare(a.Hostname, b.Hostname); c != 0 {
		return c
	}
	return a.Port - b.Port
}

// versionOne applies Config.VersionOneRule to peer n, whose module m is at
// version 1 and differs from this node's: it returns the candidate to pull
// from when n's configuration is the one this node must follow, and nil
// otherwise, with the reason either way, logging why (once, then every
// 10 × diffs_before_sync checks, as ProxySQL repeats its version-1 warning).
func (c *Cluster) versionOne(n *node, m string, own Value, p record, d int) (*candidate, string) {
	every := uint64(d * 10)
	report := p.diffCheck == uint64(d) || p.diffCheck%every == 0
	why := func(reason string) (*candidate, string) {
		if report {
			c.Conflicts.add(m + "/version_one")
			c.info(fmt.Sprintf("Cluster: peer %s:%d has the boot configuration (version 1) of %s, checksum %s, which differs from ours (version %d, checksum %s); not syncing from it: %s. This message will be repeated every %d checks.",
				n.peer.Hostname, n.peer.Port, m, p.Checksum, own.Version, own.Checksum, reason, every))
		}
		return nil, "the peer runs its boot configuration (version 1); not syncing from it: " + reason
	}
	nodes := c.ranked()
	core := false
	loaded := false // a reachable peer runs a loaded configuration of m
	for _, x := range nodes {
		if c.isSelf(x) {
			core = true
			continue
		}
		c.dataMu.Lock()
		if r := x.records[m]; x.status == "" && r != nil && r.Version > 1 {
			loaded = true
		}
		c.dataMu.Unlock()
	}
	switch {
	case own.Version > 1 && core:
		return why("this node runs a loaded configuration, which wins over boot configuration; the peer will sync from it")
	case loaded:
		return why("a peer runs a loaded configuration of it; this node follows that one")
	}
	var leader *node
	for _, x := range nodes {
		if c.isSelf(x) {
			return why("both run boot configuration and this node is the first reachable core in proxysql_servers, whose configuration the others follow")
		}
		c.dataMu.Lock()
		reachable := x.status == "" && x.records[m] != nil
		c.dataMu.Unlock()
		if reachable {
			leader = x
			break
		}
	}
	if leader == nil {
		return nil, "the peer runs its boot configuration (version 1) and no core is reachable to follow"
	}
	if leader != n {
		return why(fmt.Sprintf("both run boot configuration; this node follows %s:%d, the first reachable core in proxysql_servers", leader.peer.Hostname, leader.peer.Port))
	}
	role := "a satellite (absent from its own proxysql_servers)"
	if core {
		role = "a core listed after it in proxysql_servers"
	}
	c.info(fmt.Sprintf("Cluster: this node and peer %s:%d both run boot configuration (version 1) of %s and differ: this node is %s, so it takes the peer's (checksum %s)",
		n.peer.Hostname, n.peer.Port, m, role, p.Checksum))
	cand := &candidate{n: n, rec: p.Value}
	c.dataMu.Lock()
	if rt := n.records[MySQLServers]; rt != nil {
		cand.runtime = rt.Value
	}
	c.dataMu.Unlock()
	return cand, "both run boot configuration (version 1): this node is " + role + ", so it takes the peer's"
}
