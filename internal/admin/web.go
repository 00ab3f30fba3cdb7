package admin

import (
	"context"
	"fmt"
	"net"
	"strings"

	"sqlgate/internal/admin/store"
	"sqlgate/internal/admin/web"
	"sqlgate/internal/cluster"
)

// webView is the admin as the dashboard reads it (web.Admin): the same
// logins as the admin SQL interface, and reads that go through the same
// refresh and, for stats users, the same sandbox, so the page shows what
// SELECT shows and a stats user sees no more on the page than in SQL.
type webView struct{ a *Admin }

func (v webView) Login(user string) (string, bool, bool) { return adminSessions(v).Login(user) }
func (v webView) Version() string                        { return v.a.version }
func (v webView) IsSelf(host string, port int) bool {
	return v.a.cluster.IsSelf(cluster.Peer{Hostname: host, Port: port}) // cached by the cluster
}

func (v webView) Reader(ctx context.Context, admin bool) (web.Reader, error) {
	if admin {
		return adminReader{v.a}, nil
	}
	// A stats reader holds one of the stats statement slots while it
	// reads, as a stats session's statement does.
	slots := v.a.st.StatsSlots
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%d stats statements are already running, the most the admin interface runs at once: %w", store.MaxStatsStatements, ctx.Err())
	}
	sc, err := v.a.st.OpenStatsConn(ctx)
	if err != nil {
		<-slots
		return nil, err
	}
	return &statsReader{a: v.a, sc: sc, release: func() { <-slots }}, nil
}

// adminReader reads as an admin session does: each statement under the
// admin mutex, after the refresh of the tables it names.
type adminReader struct{ a *Admin }

func (r adminReader) Query(ctx context.Context, q string) (*store.Result, error) {
	r.a.mu.Lock()
	defer r.a.mu.Unlock()
	if r.a.st.Closed() {
		return nil, fmt.Errorf("the admin store is closed")
	}
	if err := r.a.refresh(ctx, strings.ToUpper(q), false); err != nil {
		return nil, err
	}
	return store.QueryLimited(ctx, r.a.st.Conn, q, store.MaxResultBytes)
}

func (adminReader) Close() {}

// statsReader reads as a stats session does: the stats tables a statement
// names are refreshed under the admin mutex, then the statement runs on
// the reader's own sandboxed connection, without the mutex.
type statsReader struct {
	a       *Admin
	sc      *store.StatsConn
	release func()
}

func (r *statsReader) Query(ctx context.Context, q string) (*store.Result, error) {
	r.a.mu.Lock()
	err := func() error {
		if r.a.st.Closed() {
			return fmt.Errorf("the admin store is closed")
		}
		return r.a.refresh(ctx, strings.ToUpper(q), true)
	}()
	r.a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	r.sc.Denied = ""
	res, err := store.QueryLimited(ctx, r.sc.Conn, q, store.MaxResultBytes)
	if err != nil && r.sc.Denied != "" {
		return nil, fmt.Errorf("%w (a stats user may not: %s)", err, r.sc.Denied)
	}
	return res, err
}

func (r *statsReader) Close() {
	r.sc.Close()
	r.release()
}

// serveWeb starts, moves or stops the dashboard to match the admin
// variables raw (admin-web_enabled, admin-web_port).
func (a *Admin) serveWeb(raw map[string]string) error {
	return a.web.Serve(raw["web_enabled"] == "true", atoiOr0(raw["web_port"]))
}

// WebAddr is the dashboard's address, nil when admin-web_enabled is false.
func (a *Admin) WebAddr() net.Addr { return a.web.Addr() }
