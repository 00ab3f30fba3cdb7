// Package runtime holds the running configuration: an immutable Snapshot of
// variables, users, servers and compiled query rules, published with an
// atomic pointer swap. Sessions load the current snapshot per statement and
// never lock on the hot path.
package runtime

import (
	"errors"
	"fmt"
	"sync/atomic"

	"sqlgate/internal/backend"
	"sqlgate/internal/config"
	"sqlgate/internal/router"
	"sqlgate/internal/tlsfiles"
	"sqlgate/internal/wire"
)

// User is a frontend-usable mysql_users row.
type User struct {
	Name                  string
	Cred                  wire.Credential
	UseSSL                bool
	DefaultHostgroup      int
	DefaultSchema         string
	TransactionPersistent bool
	FastForward           bool
	MaxConnections        int
	Backend               bool
}

// Snapshot is one complete, validated runtime configuration.
type Snapshot struct {
	Version uint64
	// superseded is closed when a newer snapshot is published (Publish).
	superseded chan struct{}
	Vars       *MySQLVars
	Users      map[string]*User
	Servers    []backend.ServerConfig
	Rules      *router.Rules
	// Hostgroups lists every hostgroup that has at least one server.
	Hostgroups map[int]bool
	// Replication is mysql_replication_hostgroups: the pairs the monitor's
	// read_only check maintains.
	Replication []ReplicationPair
	// BackendTLS configures connections to use_ssl=1 servers: the
	// mysql-ssl_p2s_* variables and the mysql_servers_ssl_params rows.
	BackendTLS *backend.TLSSettings
}

// ReplicationPair is one mysql_replication_hostgroups row.
type ReplicationPair struct {
	Writer, Reader int
	CheckType      string
}

// ReadOnlyQuery is the monitor's query for a check_type, one column
// named read_only.
func ReadOnlyQuery(checkType string) (string, bool) {
	switch checkType {
	case "read_only":
		return "SELECT @@global.read_only read_only", true
	case "innodb_read_only":
		return "SELECT @@global.innodb_read_only read_only", true
	case "super_read_only":
		return "SELECT @@global.super_read_only read_only", true
	case "read_only|innodb_read_only":
		return "SELECT @@global.read_only|@@global.innodb_read_only read_only", true
	case "read_only&innodb_read_only":
		return "SELECT @@global.read_only&@@global.innodb_read_only read_only", true
	}
	return "", false
}

// Build validates a configuration and compiles it into a Snapshot. It
// returns every problem it finds, each naming the table, row and column.
func Build(cfg *config.Config) (*Snapshot, []string, error) {
	var errs []error
	vars, warnings, err := ParseMySQLVars(cfg.MySQLVariables)
	if err != nil {
		return nil, nil, err
	}
	s := &Snapshot{Vars: vars, Users: map[string]*User{}, Hostgroups: map[int]bool{},
		BackendTLS: backend.NewTLSSettings(vars.SSLP2S, vars.SSLP2SConfig)}
	for _, p := range cfg.MySQLServersSSLParams {
		row := fmt.Sprintf("mysql_servers_ssl_params row (hostname=%s, port=%d, username=%q)", p.Hostname, p.Port, p.Username)
		f := tlsfiles.Files{CA: p.SSLCA, CAPath: p.SSLCAPath, Cert: p.SSLCert, Key: p.SSLKey,
			Cipher: p.SSLCipher, CRL: p.SSLCRL, CRLPath: p.SSLCRLPath}
		tc, err := f.Config(func(field string) string { return "column ssl_" + field }, row)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", row, err))
			continue
		}
		if p.TLSVersion != "" {
			warnings = append(warnings, row+": tls_version has no effect (none in ProxySQL 2.7 either): TLS 1.2 and 1.3 are allowed")
		}
		s.BackendTLS.AddServer(p.Hostname, p.Port, p.Username, f, tc)
	}
	for i, sv := range cfg.MySQLServers {
		st, err := backend.ParseStatus(sv.Status)
		if err != nil {
			errs = append(errs, fmt.Errorf("mysql_servers row %d (%s:%d): status: %w", i+1, sv.Hostname, sv.Port, err))
			continue
		}
		s.Servers = append(s.Servers, backend.ServerConfig{
			Hostgroup: sv.HostgroupID, Host: sv.Hostname, Port: sv.Port, Status: st,
			Weight: sv.Weight, MaxConnections: sv.MaxConnections, UseSSL: sv.UseSSL != 0,
			MaxReplicationLag: sv.MaxReplicationLag, MaxLatencyMs: sv.MaxLatencyMs,
		})
		s.Hostgroups[sv.HostgroupID] = true
	}
	for i, u := range cfg.MySQLUsers {
		if !u.Active {
			continue
		}
		cred, ok := wire.ParseStoredPassword(u.Password)
		if !ok {
			errs = append(errs, fmt.Errorf("mysql_users row %d (%s): password: caching_sha2 hashes ($A$...) are not supported; store the cleartext or a mysql_native_password hash (*HEX)", i+1, u.Username))
			continue
		}
		if !u.Frontend {
			continue
		}
		if _, dup := s.Users[u.Username]; dup {
			errs = append(errs, fmt.Errorf("mysql_users row %d: username %q appears twice as a frontend user", i+1, u.Username))
			continue
		}
		s.Users[u.Username] = &User{
			Name: u.Username, Cred: cred, UseSSL: u.UseSSL, DefaultHostgroup: u.DefaultHostgroup,
			DefaultSchema: u.DefaultSchema, TransactionPersistent: u.TransactionPersistent,
			FastForward: u.FastForward, MaxConnections: u.MaxConnections, Backend: u.Backend,
		}
	}
	for i, h := range cfg.MySQLReplicationHostgroups {
		ct := h.CheckType
		if ct == "" {
			ct = "read_only"
		}
		if _, ok := ReadOnlyQuery(ct); !ok {
			errs = append(errs, fmt.Errorf("mysql_replication_hostgroups row %d (writer_hostgroup=%d): column check_type: %q is not one of read_only, innodb_read_only, super_read_only, read_only|innodb_read_only, read_only&innodb_read_only", i+1, h.WriterHostgroup, ct))
			continue
		}
		s.Replication = append(s.Replication, ReplicationPair{Writer: h.WriterHostgroup, Reader: h.ReaderHostgroup, CheckType: ct})
		s.Hostgroups[h.WriterHostgroup], s.Hostgroups[h.ReaderHostgroup] = true, true
	}
	rules := make([]router.Rule, 0, len(cfg.MySQLQueryRules))
	for _, r := range cfg.MySQLQueryRules {
		rules = append(rules, router.Rule{
			RuleID: r.RuleID, Active: r.Active, Username: r.Username, Schemaname: r.Schemaname,
			FlagIN: r.FlagIN, ClientAddr: r.ClientAddr, ProxyAddr: r.ProxyAddr, ProxyPort: r.ProxyPort,
			Digest: r.Digest, MatchDigest: r.MatchDigest, MatchPattern: r.MatchPattern,
			NegateMatchPattern: r.NegateMatchPattern, ReModifiers: r.ReModifiers, FlagOUT: r.FlagOUT,
			ReplacePattern: r.ReplacePattern, DestinationHostgroup: r.DestinationHostgroup,
			CacheTTL: r.CacheTTL, CacheEmptyResult: r.CacheEmptyResult, Timeout: r.Timeout, Retries: r.Retries, Delay: r.Delay,
			NextQueryFlagIN: r.NextQueryFlagIN, MirrorFlagOUT: r.MirrorFlagOUT, MirrorHostgroup: r.MirrorHostgroup,
			ErrorMsg: r.ErrorMsg, OKMsg: r.OKMsg, Multiplex: r.Multiplex, Log: r.Log, Apply: r.Apply,
			Attributes: r.Attributes,
		})
	}
	fast := make([]router.FastRoute, 0, len(cfg.MySQLQueryRulesFastRouting))
	for _, f := range cfg.MySQLQueryRulesFastRouting {
		fast = append(fast, router.FastRoute{Username: f.Username, Schemaname: f.Schemaname, FlagIN: f.FlagIN,
			DestinationHostgroup: f.DestinationHostgroup})
	}
	compiled, err := router.Compile(rules, fast)
	if err != nil {
		errs = append(errs, err)
	}
	s.Rules = compiled
	if len(errs) > 0 {
		return nil, warnings, errors.Join(errs...)
	}
	return s, warnings, nil
}

// PoolOptions derives the backend pool settings from the variables.
func (s *Snapshot) PoolOptions() backend.Options {
	v := s.Vars
	return backend.Options{
		ConnectTimeout: v.ConnectTimeoutServer, ConnectTimeoutMax: v.ConnectTimeoutServerMax,
		ConnectRetries: v.ConnectRetriesOnFailure, RetriesDelay: v.ConnectRetriesDelay,
		PollOnFailure: v.PollTimeoutOnFailure, DeprecateEOF: v.EnableServerDeprecateEOF,
		FreeConnectionsPct: v.FreeConnectionsPct, PingInterval: v.PingIntervalServer,
		PingTimeout: v.PingTimeoutServer, MaxStmtsPerConn: v.MaxStmtsPerConnection,
		ShunOnFailures: v.ShunOnFailures, ShunRecovery: v.ShunRecoveryTime,
		TLS: s.BackendTLS,
	}
}

// Store publishes snapshots. The zero value is empty; Load returns nil until
// the first Publish.
type Store struct {
	cur     atomic.Pointer[Snapshot]
	version atomic.Uint64
}

// Load returns the current snapshot.
func (st *Store) Load() *Snapshot { return st.cur.Load() }

// Publish makes s the current snapshot and assigns its version.
func (st *Store) Publish(s *Snapshot) {
	s.Version = st.version.Add(1)
	s.superseded = make(chan struct{})
	if old := st.cur.Swap(s); old != nil && old.superseded != nil {
		close(old.superseded)
	}
}

// Superseded is closed once a newer snapshot is published: a statement
// routed with s and still waiting for a server can then be routed again.
// nil (never ready) for a snapshot that was not published.
func (s *Snapshot) Superseded() <-chan struct{} { return s.superseded }
