package admin

import (
	"context"
	"maps"
	"net"

	"sqlgate/internal/admin/codec"
	"sqlgate/internal/admin/server"
	"sqlgate/internal/admin/store"
	"sqlgate/internal/cluster"
	"sqlgate/internal/wire"
)

// Listen opens the admin-mysql_ifaces listeners and serves them until
// Close, and starts the stats_history sampler. It fails if no listener can
// be opened.
func (a *Admin) Listen() error {
	if err := a.srv.Rebind(a.vars.Load().MySQLIfaces, ""); err != nil {
		return err
	}
	a.tables.StartHistory(&a.mu, func() map[string]string {
		if v := a.vars.Load(); v != nil {
			return v.Raw
		}
		return nil
	})
	return nil
}

// Addrs returns the addresses the admin listeners are bound to.
func (a *Admin) Addrs() []net.Addr { return a.srv.Addrs() }

// adminErr is an error as the admin client gets it: errno 1045, the text
// prefixed with "ProxySQL Admin Error: ".
func adminErr(format string, args ...any) *wire.Error { return server.Errorf(format, args...) }

// adminSessions is the admin as its sessions see it (server.Admin). It is
// a type of its own so that the mutex and the store stay unexported on
// Admin.
type adminSessions struct{ a *Admin }

func (s adminSessions) Lock()               { s.a.mu.Lock() }
func (s adminSessions) Unlock()             { s.a.mu.Unlock() }
func (s adminSessions) Store() *store.Store { return s.a.st }
func (s adminSessions) Version() string     { return s.a.version }
func (s adminSessions) NodeUUID() string    { return s.a.uuid }
func (s adminSessions) ReadOnly() bool      { return s.a.vars.Load().ReadOnly }
func (s adminSessions) ResetDigests()       { s.a.tables.ResetDigests() }
func (s adminSessions) GlobalChecksum() uint64 {
	return cluster.GlobalChecksum(s.a.Checksums())
}

func (s adminSessions) Login(user string) (password string, admin, stats bool) {
	v := s.a.vars.Load()
	if pw, ok := v.Credentials[user]; ok {
		return pw, true, false
	}
	pw, ok := v.StatsCredentials[user]
	return pw, false, ok
}

// SetReadOnly is PROXYSQL READONLY / READWRITE: admin-read_only changes
// in runtime only, as in ProxySQL.
func (s adminSessions) SetReadOnly(on bool) {
	v := *s.a.vars.Load()
	v.ReadOnly = on
	v.Raw = maps.Clone(v.Raw)
	v.Raw["read_only"] = map[bool]string{true: "true", false: "false"}[on]
	s.a.vars.Store(&v)
}

func (s adminSessions) KnownVariable(name string) bool {
	_, ok := codec.CanonicalVar(name)
	return ok
}

func (s adminSessions) Refresh(ctx context.Context, upper string, statsOnly bool) error {
	return s.a.refresh(ctx, upper, statsOnly)
}

func (s adminSessions) LoadSave(ctx context.Context, who, verb, module, dir, layer string) (uint64, string, error) {
	return s.a.loadSave(ctx, who, verb, module, dir, layer)
}

func (s adminSessions) ConfigDiff(ctx context.Context, from, to int64) (*store.Result, error) {
	return s.a.configDiff(ctx, from, to)
}

func (s adminSessions) ConfigRestore(ctx context.Context, rev int64, who string) error {
	return s.a.configRestore(ctx, rev, who)
}

func (s adminSessions) ProxySelect(upper string) (*store.Result, error) {
	return s.a.proxySelect(upper)
}

func (s adminSessions) Control() server.Controller {
	if s.a.control == nil {
		return nil // not a non-nil interface holding a nil Controller
	}
	return s.a.control
}

func (s adminSessions) Shutdown(reason string) {
	s.a.log.Info("shutdown requested on the admin interface", "by", reason)
	s.a.shutOnce.Do(func() { close(s.a.shutdown) })
}
