package frontend_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"sqlgate/internal/backend"
	"sqlgate/internal/testbed"
	"sqlgate/internal/wire"
)

func mysqlErrNo(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func TestWrongPasswordAndUnknownUser(t *testing.T) {
	b := sharedBed(t)
	p := startProxy(t, baseConfig(b))
	for _, c := range []struct{ user, pass string }{{"app", "wrong"}, {"nosuchuser", "app"}, {"app", ""}} {
		db, _ := sql.Open("mysql", p.dsn(c.user, c.pass, "", ""))
		start := time.Now()
		err := db.Ping()
		db.Close()
		if mysqlErrNo(err) != 1045 || !strings.Contains(err.Error(), "Access denied for user '"+c.user+"'") {
			t.Errorf("%s/%s: got %v, want error 1045 Access denied for user '%s'", c.user, c.pass, err, c.user)
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("%s/%s: refusal took %v", c.user, c.pass, time.Since(start))
		}
	}
}

// rawClient logs into the proxy with sqlgate's own client code, to send
// commands that database/sql cannot.
func rawClient(t *testing.T, p *proxy, opts ...func(*backend.DialOptions)) *backend.Conn {
	t.Helper()
	cred, _ := wire.ParseStoredPassword("app")
	o := backend.DialOptions{User: "app", Cred: cred, Schema: "test", Collation: 45, Timeout: 10 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	c, err := backend.Dial(context.Background(), "tcp", p.Addr, o)
	if err != nil {
		t.Fatalf("raw login: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestMalformedClientInput(t *testing.T) {
	b := sharedBed(t)
	p := startProxy(t, baseConfig(b))
	healthy := p.db(t, "")
	healthy.SetMaxOpenConns(1)
	check := func(stage string) {
		t.Helper()
		if v := queryString(t, healthy, "SELECT 42"); v != "42" {
			t.Fatalf("%s: healthy session broken: %q", stage, v)
		}
	}
	check("before")
	send := func(name string, data []byte, postAuth bool) {
		t.Helper()
		var nc net.Conn
		if postAuth {
			c := rawClient(t, p)
			nc = c.Conn.Conn
		} else {
			var err error
			nc, err = net.Dial("tcp", p.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			// Read the greeting first.
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 4096)
			if _, err := nc.Read(buf); err != nil {
				t.Fatalf("%s: no greeting: %v", name, err)
			}
		}
		nc.Write(data)
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		// The proxy answers with an error packet or closes; it must not hang
		// past its timeouts, and it must not take the process down.
		io.Copy(io.Discard, io.LimitReader(nc, 1<<20))
		check(name)
	}
	send("garbage before handshake", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false)
	send("truncated handshake response", []byte{0x30, 0, 0, 1, 0x85, 0xa6}, false)
	send("short handshake response", []byte{0x05, 0, 0, 1, 1, 2, 3, 4, 5}, false)
	send("handshake with unterminated user", append([]byte{40, 0, 0, 1}, append(make([]byte, 32), []byte("abcdefgh")...)...), false)
	send("empty command", []byte{0, 0, 0, 0}, true)
	send("unknown command", []byte{1, 0, 0, 0, 0xee}, true)
	send("truncated COM_STMT_EXECUTE", []byte{2, 0, 0, 0, wire.ComStmtExecute, 1}, true)
	send("execute of unknown statement", []byte{10, 0, 0, 0, wire.ComStmtExecute, 9, 9, 9, 9, 0, 1, 0, 0, 0}, true)
	send("truncated COM_CHANGE_USER", []byte{2, 0, 0, 0, wire.ComChangeUser, 'x'}, true)
	send("truncated packet body", []byte{0xff, 0, 0, 0, wire.ComQuery, 'S'}, true)

	// A 1 GiB logical packet (64 chunks of 16 MiB announced): the proxy
	// refuses it once it passes max_allowed_packet instead of buffering it.
	c := rawClient(t, p)
	nc := c.Conn.Conn
	chunk := make([]byte, 1<<20)
	hdr := []byte{0xff, 0xff, 0xff, 0}
	sent := 0
	nc.SetWriteDeadline(time.Now().Add(20 * time.Second))
	var werr error
	for i := 0; i < 64 && werr == nil; i++ {
		hdr[3] = byte(i)
		if _, werr = nc.Write(hdr); werr != nil {
			break
		}
		// Exactly the 16 MiB - 1 the header announces, so that every
		// header lands where the proxy reads one.
		for j := 0; j < 16 && werr == nil; j++ {
			b := chunk
			if j == 15 {
				b = chunk[:len(chunk)-1]
			}
			var n int
			n, werr = nc.Write(b)
			sent += n
		}
	}
	if werr == nil {
		t.Fatalf("proxy accepted %d MiB of one packet without closing", sent>>20)
	}
	t.Logf("1 GiB packet refused after %d MiB", sent>>20)
	check("after 1 GiB packet")
}

func TestBackendDownThenBack(t *testing.T) {
	b := sharedBed(t)
	cfg := baseConfig(b)
	cfg.MySQLVariables["connect_timeout_server_max"] = "3000"
	cfg.MySQLVariables["connect_timeout_server"] = "500"
	// Hostgroup 7 points at the replica, which is stopped below.
	cfg.MySQLServers = append(cfg.MySQLServers, cfgServer(7, b.Replicas[0].Port))
	cfg.MySQLUsers[0].DefaultHostgroup = 7
	p := startProxy(t, cfg)
	db := p.db(t, "")
	queryString(t, db, "SELECT 1")
	if err := b.StopNode(b.Replicas[0]); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			b.StartNode(context.Background(), b.Replicas[0])
		}
	})
	start := time.Now()
	_, err := db.Exec("SELECT 1")
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "hostgroup 7") {
		t.Fatalf("query with the backend down: err = %v, want an error naming hostgroup 7", err)
	}
	if took > 4*time.Second {
		t.Fatalf("error took %v, want within connect_timeout_server_max (3s)", took)
	}
	t.Logf("backend down: %v after %v", err, took)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.StartNode(ctx, b.Replicas[0]); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if v := queryString(t, db, "SELECT 7"); v != "7" {
		t.Fatalf("after the backend returned: %q", v)
	}
}

func TestClientDisconnectMidResultAndTransaction(t *testing.T) {
	b := sharedBed(t)
	p := startProxy(t, baseConfig(b))
	db := p.db(t, "")
	mustExec(t, db, "CREATE TABLE IF NOT EXISTS big (id INT PRIMARY KEY AUTO_INCREMENT, pad CHAR(200))")
	if queryString(t, db, "SELECT COUNT(*) FROM big") != "50000" {
		mustExec(t, db, "DELETE FROM big")
		mustExec(t, db, "INSERT INTO big (pad) SELECT REPEAT('x', 200) FROM seq_1_to_50000")
	}
	mustExec(t, db, "CREATE TABLE IF NOT EXISTS trx2 (id INT PRIMARY KEY)")
	mustExec(t, db, "DELETE FROM trx2")

	// 1. Disconnect in the middle of a 10 MB result.
	c := rawClient(t, p)
	c.Seq = 0
	c.WritePacket(append([]byte{wire.ComQuery}, "SELECT * FROM big a"...))
	c.Flush()
	for i := 0; i < 100; i++ {
		if _, err := c.ReadRaw(); err != nil {
			t.Fatal(err)
		}
	}
	c.Conn.Conn.Close()

	// 2. Disconnect inside a transaction with an uncommitted write.
	c2 := rawClient(t, p)
	for _, q := range []string{"BEGIN", "INSERT INTO trx2 VALUES (1)"} {
		if _, err := c2.Exec(wire.ComQuery, q); err != nil {
			t.Fatal(err)
		}
	}
	c2.Conn.Conn.Close()

	// The write was rolled back and pooled connections are clean: many
	// autocommit statements on fresh sessions see no open transaction.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := queryString(t, db, "SELECT COUNT(*) FROM trx2")
		if n == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("uncommitted row of a disconnected client is visible: count %s", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 0; i < 50; i++ {
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var inTrx int
		if err := conn.QueryRowContext(context.Background(), "SELECT @@in_transaction").Scan(&inTrx); err != nil {
			t.Fatal(err)
		}
		if inTrx != 0 {
			t.Fatalf("a pooled backend connection is still inside a transaction")
		}
		conn.Close()
	}
}

func TestBackendKilledWhileIdle(t *testing.T) {
	b := sharedBed(t)
	p := startProxy(t, baseConfig(b))
	db := p.db(t, "")
	db.SetMaxOpenConns(1)
	// The proxy's pooled backend connection to the primary for user app.
	id := queryString(t, db, backendThreadID)
	mustExec(t, db, "CREATE TABLE IF NOT EXISTS killed (id INT)")
	id = queryString(t, db, backendThreadID)
	killAndWait(t, b, id)
	// A write as the next statement: it must not be sent into the dead
	// connection (where its outcome would be unknown) but run elsewhere.
	mustExec(t, db, "INSERT INTO killed VALUES (1)")
	id = queryString(t, db, backendThreadID)
	killAndWait(t, b, id)
	for i := 0; i < 3; i++ {
		if v := queryString(t, db, "SELECT 'alive'"); v != "alive" {
			t.Fatalf("after KILL of the pooled backend connection: %q", v)
		}
	}
	// A killed connection in a multi-statement/write path reports a clear
	// error instead of retrying blindly: covered by the retry rules (writes
	// are never retried).
	_ = fmt.Sprint
}

// killAndWait kills a backend connection and waits until the server has
// finished with it (KILL returns before the socket is closed).
func killAndWait(t *testing.T, b *testbed.Bed, id string) {
	t.Helper()
	rootExec(t, b, b.Primary, "KILL "+id)
	db, err := b.RootDB(b.Primary)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 200; i++ {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = " + id).Scan(&n); err == nil && n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("backend connection %s still listed 2s after KILL", id)
}

func cfgServer(hg, port int) configServer {
	return configServer{HostgroupID: hg, Hostname: "127.0.0.1", Port: port, Status: "ONLINE", Weight: 1, MaxConnections: 100}
}

// backendThreadID asks the backend for the thread id of the connection a
// statement runs on. (SELECT CONNECTION_ID() alone is the client's
// sqlgate session id, answered by the proxy.)
const backendThreadID = "SELECT ID FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()"
