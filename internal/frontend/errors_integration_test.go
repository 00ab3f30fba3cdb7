package frontend_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"sqlgate/internal/testbed"
)

// killBackendRunning waits until a statement containing marker runs on
// b's primary and kills its connection, as a crashed or restarted backend
// would end it.
func killBackendRunning(t *testing.T, b *testbed.Bed, marker string) <-chan error {
	done := make(chan error, 1)
	go func() {
		db, err := b.RootDB(b.Primary)
		if err != nil {
			done <- err
			return
		}
		defer db.Close()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			var id string
			err := db.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND INFO NOT LIKE '%PROCESSLIST%'",
				"%"+marker+"%").Scan(&id)
			if err == nil {
				_, err = db.Exec("KILL " + id)
				done <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		done <- context.DeadlineExceeded
	}()
	return done
}

// TestLostBackendErrorReachesConnectorC: a statement whose backend
// connection dies gets sqlgate's error 9010, which names the backend and
// says what became of the statement, and the session goes on. The code is
// not a client-library one such as 2013: MariaDB Connector/C (the mariadb
// CLI, mariadb-dump, every libmariadb program) refuses a server's error in
// that range and reports "Received malformed packet" instead of the message.
func TestLostBackendErrorReachesConnectorC(t *testing.T) {
	b := sharedBed(t)
	p := startProxy(t, baseConfig(b))

	// The Go driver: the error as sent.
	db := p.db(t, "")
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mustExec(t, conn, "BEGIN")
	killed := killBackendRunning(t, b, "lost-backend-go")
	_, err = conn.ExecContext(context.Background(), "SELECT SLEEP(10), 'lost-backend-go'")
	if kerr := <-killed; kerr != nil {
		t.Fatalf("killing the backend connection: %v", kerr)
	}
	if mysqlErrNo(err) != 9010 || !strings.Contains(err.Error(), "Lost connection to backend server") ||
		!strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("statement on a killed backend connection: got %v, want error 9010 naming the lost backend and the rolled back transaction", err)
	}
	if v := queryString(t, conn, "SELECT 'still here'"); v != "still here" {
		t.Fatalf("the session after a lost backend: %q", v)
	}

	// The mariadb CLI (Connector/C): the message arrives as sent.
	if _, err := exec.LookPath("mariadb"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mariadb client not found")
		}
		t.Skip("mariadb client not found: apt-get install mariadb-client")
	}
	host, port, _ := net.SplitHostPort(p.Addr)
	killed = killBackendRunning(t, b, "lost-backend-cli")
	out, err := exec.Command("mariadb", "-h"+host, "-P"+port, "-u"+testbed.AppUser, "-p"+testbed.AppPassword, "test",
		"-e", "BEGIN; SELECT SLEEP(10), 'lost-backend-cli'").CombinedOutput()
	if kerr := <-killed; kerr != nil {
		t.Fatalf("killing the backend connection: %v", kerr)
	}
	if err == nil || !strings.Contains(string(out), "ERROR 9010") || !strings.Contains(string(out), "Lost connection to backend server") {
		t.Fatalf("mariadb CLI, statement on a killed backend connection: %v\n%s\nwant ERROR 9010 with sqlgate's message", err, out)
	}
}
