package admin

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"sqlgate/internal/config"
)

// remoteConn makes a pipe look like a connection from another host: the
// only way to exercise the "admin only from loopback" rule without
// sending traffic off the machine.
type remoteConn struct{ net.Conn }

func (remoteConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40000}
}

func TestDefaultAdminOnlyFromLoopback(t *testing.T) {
	a, err := Open(Options{Datadir: t.TempDir(), Config: &config.Config{
		AdminVariables: map[string]string{"admin_credentials": "admin:admin;radmin:radmin", "mysql_ifaces": "127.0.0.1:0"},
	}, Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dial := func(user, password string) error {
		name := fmt.Sprintf("remote-%s-%d", user, time.Now().UnixNano())
		mysql.RegisterDialContext(name, func(ctx context.Context, addr string) (net.Conn, error) {
			c1, c2 := net.Pipe()
			go a.srv.ServeConn(remoteConn{c2})
			return c1, nil
		})
		db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@%s(x)/", user, password, name))
		if err != nil {
			return err
		}
		defer db.Close()
		var n int
		return db.QueryRow("SELECT COUNT(*) FROM mysql_servers").Scan(&n)
	}
	// A remote client gets the same answer for the default accounts' right
	// passwords as for wrong ones, so it cannot test them.
	for _, user := range []string{"admin", "stats"} {
		right, wrong := dial(user, user), dial(user, "wrong")
		if right == nil || wrong == nil || right.Error() != wrong.Error() || !strings.Contains(right.Error(), "1045") {
			t.Errorf("remote default %s: right password %v, wrong password %v; want the same 1045", user, right, wrong)
		}
	}
	if err := dial("radmin", "radmin"); err != nil {
		t.Errorf("remote extra admin user refused: %v", err)
	}
	if err, unknown := dial("radmin", "wrong"), dial("nosuchuser", "wrong"); err == nil || unknown == nil ||
		strings.ReplaceAll(err.Error(), "radmin", "U") != strings.ReplaceAll(unknown.Error(), "nosuchuser", "U") {
		t.Errorf("wrong password %v and unknown user %v answer differently", err, unknown)
	}
}
