package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/wire"
)

// ProbeOptions say what `sqlgate healthcheck` checks.
type ProbeOptions struct {
	// MySQL is the client interface. With User, the probe logs in and
	// pings; without, it checks that a server greeting arrives (the node
	// accepts connections: not paused, not stopping).
	MySQL          string
	User, Password string
	// RequireWriter: the admin interface must show at least one ONLINE
	// server in a writer hostgroup (writer_hostgroup of
	// mysql_replication_hostgroups; without any, a default_hostgroup of
	// mysql_users), read from runtime_mysql_servers on Admin.
	RequireWriter            bool
	Admin                    string
	AdminUser, AdminPassword string
	// Timeout bounds the whole probe.
	Timeout time.Duration
}

// writersQuery counts the ONLINE servers in writer hostgroups. It uses only
// ProxySQL's runtime tables, so the probe works against ProxySQL as well.
const writersQuery = `SELECT COUNT(*) FROM runtime_mysql_servers WHERE status='ONLINE' AND hostgroup_id IN (` +
	`SELECT writer_hostgroup FROM runtime_mysql_replication_hostgroups UNION ` +
	`SELECT default_hostgroup FROM runtime_mysql_users WHERE NOT EXISTS (SELECT 1 FROM runtime_mysql_replication_hostgroups))`

// Probe checks the node as a client would and returns nil when it should
// hold the VIP, or an error that says what failed. It never takes longer
// than o.Timeout.
func Probe(ctx context.Context, o ProbeOptions) error {
	if o.Timeout <= 0 {
		o.Timeout = 500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := probeMySQL(ctx, o); err != nil {
		return err
	}
	if o.RequireWriter {
		return probeWriter(ctx, o)
	}
	return nil
}

func probeMySQL(ctx context.Context, o ProbeOptions) error {
	if o.User == "" {
		return greeting(ctx, o.MySQL)
	}
	c, err := backend.Dial(ctx, "tcp", o.MySQL, backend.DialOptions{
		User: o.User, Cred: wire.CleartextCredential(o.Password), Timeout: remaining(ctx),
	})
	if err != nil {
		return fmt.Errorf("mysql interface %s: login as %s: %w", o.MySQL, o.User, err)
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	if _, err := c.Exec(wire.ComPing, ""); err != nil {
		return fmt.Errorf("mysql interface %s: ping: %w", o.MySQL, err)
	}
	return nil
}

// greeting connects and reads the first packet: a server greeting, not an
// error packet (too many connections, host blocked).
func greeting(ctx context.Context, addr string) error {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("mysql interface %s: %w", addr, err)
	}
	defer nc.Close()
	dl, _ := ctx.Deadline()
	nc.SetDeadline(dl)
	p, err := wire.NewConn(nc).ReadPacket(wire.MaxHandshakePacket)
	if err != nil {
		return fmt.Errorf("mysql interface %s: no greeting: %w", addr, err)
	}
	if len(p) > 0 && p[0] == 0xff {
		return fmt.Errorf("mysql interface %s: refused: %v", addr, wire.ParseErr(p))
	}
	return nil
}

func probeWriter(ctx context.Context, o ProbeOptions) error {
	c, err := backend.Dial(ctx, "tcp", o.Admin, backend.DialOptions{
		User: o.AdminUser, Cred: wire.CleartextCredential(o.AdminPassword), Timeout: remaining(ctx),
	})
	if err != nil {
		return fmt.Errorf("admin interface %s: login as %s: %w", o.Admin, o.AdminUser, err)
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	rows, err := c.QueryStrings(writersQuery)
	if err != nil {
		return fmt.Errorf("admin interface %s: counting writers: %w", o.Admin, err)
	}
	if len(rows) != 1 || len(rows[0]) != 1 {
		return errors.New("admin interface: counting writers: unexpected result")
	}
	n, err := strconv.Atoi(rows[0][0])
	if err != nil {
		return fmt.Errorf("admin interface: counting writers: %q: %w", rows[0][0], err)
	}
	if n == 0 {
		return errors.New("no ONLINE server in a writer hostgroup (runtime_mysql_servers)")
	}
	return nil
}

func remaining(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 10 * time.Second
	}
	if d := time.Until(dl); d > 0 {
		return d
	}
	return time.Millisecond
}
