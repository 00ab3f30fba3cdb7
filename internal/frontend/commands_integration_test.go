package frontend_test

import (
	"bytes"
	"crypto/sha1"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"sqlgate/internal/backend"
	"sqlgate/internal/wire"
)

// cmd sends one command on a raw client and returns the first reply packet.
func cmd(t *testing.T, c *backend.Conn, payload []byte) []byte {
	t.Helper()
	c.Seq = 0
	if err := c.WritePacket(payload); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	p, err := c.ReadPacket(0)
	if err != nil {
		t.Fatalf("command 0x%02x: %v", payload[0], err)
	}
	return append([]byte(nil), p...)
}

// readUntilEnd reads packets until the end-of-rows marker of c's format and
// returns the payloads before it and the marker's status.
func readUntilEnd(t *testing.T, c *backend.Conn) ([][]byte, uint16) {
	t.Helper()
	var pkts [][]byte
	for {
		p, err := c.ReadPacket(0)
		if err != nil {
			t.Fatal(err)
		}
		if p[0] == wire.ErrHeader {
			t.Fatalf("error: %v", wire.ParseErr(p))
		}
		if c.DeprecateEOF() && wire.IsOKTerminator(p) {
			ok, _ := wire.ParseOK(p)
			return pkts, ok.Status
		}
		if !c.DeprecateEOF() && wire.IsEOF(p) {
			_, st := wire.ParseEOF(p)
			return pkts, st
		}
		pkts = append(pkts, append([]byte(nil), p...))
	}
}

func TestLocalCommands(t *testing.T) {
	b := sharedBed(t)
	p := startProxy(t, baseConfig(b))
	c := rawClient(t, p)
	if r := cmd(t, c, []byte{wire.ComPing}); r[0] != wire.OKHeader {
		t.Fatalf("COM_PING: % x", r)
	}
	if r := cmd(t, c, []byte{wire.ComStatistics}); !strings.HasPrefix(string(r), "Uptime: ") {
		t.Fatalf("COM_STATISTICS: %q", r)
	}
	if r := cmd(t, c, append([]byte{wire.ComInitDB}, "no_such_db"...)); r[0] != wire.ErrHeader || wire.ParseErr(r).Code != 1049 {
		t.Fatalf("COM_INIT_DB of a missing schema: % x", r)
	}
	if r := cmd(t, c, append([]byte{wire.ComInitDB}, "mysql"...)); r[0] != wire.OKHeader {
		t.Fatalf("COM_INIT_DB mysql: %v", wire.ParseErr(r))
	}
	rows, err := c.QueryStrings("SELECT DATABASE()")
	if err != nil || rows[0][0] != "mysql" {
		t.Fatalf("schema after COM_INIT_DB: %v %v", rows, err)
	}
	// COM_FIELD_LIST: column definitions of mysql.db, then the end marker.
	first := cmd(t, c, append([]byte{wire.ComFieldList}, "db\x00"...))
	if first[0] == wire.ErrHeader {
		t.Fatalf("COM_FIELD_LIST: %v", wire.ParseErr(first))
	}
	defs, _ := readUntilEnd(t, c)
	if len(defs)+1 < 5 || !bytes.Contains(first, []byte("db")) {
		t.Fatalf("COM_FIELD_LIST returned %d definitions", len(defs)+1)
	}
}

func TestResetConnectionAndChangeUser(t *testing.T) {
	b := sharedBed(t)
	cfg := baseConfig(b)
	cfg.MySQLUsers = append(cfg.MySQLUsers, cfgUser("monitor", "monitor"))
	p := startProxy(t, cfg)
	c := rawClient(t, p)
	if _, err := c.Exec(wire.ComQuery, "SET @x = 5"); err != nil {
		t.Fatal(err)
	}
	rows, _ := c.QueryStrings("SELECT @x")
	if rows[0][0] != "5" {
		t.Fatalf("user variable: %v", rows)
	}
	if r := cmd(t, c, []byte{wire.ComResetConnection}); r[0] != wire.OKHeader {
		t.Fatalf("COM_RESET_CONNECTION: % x", r)
	}
	rows, _ = c.QueryStrings("SELECT @x")
	if rows[0][0] != "" {
		t.Fatalf("user variable survived COM_RESET_CONNECTION: %v", rows)
	}
	// COM_CHANGE_USER to monitor; sqlgate always answers with an auth
	// switch carrying a fresh scramble.
	body := append([]byte{wire.ComChangeUser}, "monitor\x00"...)
	body = append(body, 0) // empty auth response
	body = append(body, "\x00"...)
	body = append(body, 45, 0)
	body = append(body, wire.NativePassword+"\x00"...)
	sw := cmd(t, c, body)
	if sw[0] != wire.AuthSwitchHeader {
		t.Fatalf("COM_CHANGE_USER: expected auth switch, got % x", sw)
	}
	_, n, _ := wire.NulString(sw[1:])
	salt := bytes.TrimRight(sw[1+n:], "\x00")
	st1 := sha1.Sum([]byte("monitor"))
	c.WritePacket(wire.ScrambleNative(st1[:], salt))
	c.Flush()
	ok, err := c.ReadOK()
	if err != nil {
		t.Fatalf("COM_CHANGE_USER auth: %v (%+v)", err, ok)
	}
	rows, err = c.QueryStrings("SELECT CURRENT_USER()")
	if err != nil || !strings.HasPrefix(rows[0][0], "monitor@") {
		t.Fatalf("user after COM_CHANGE_USER: %v %v", rows, err)
	}
}

func cfgUser(name, pass string) configUser {
	return configUser{Username: name, Password: pass, Active: true, TransactionPersistent: true, Backend: true, Frontend: true, MaxConnections: 100}
}

// TestCursorFetchAndEOFConversion opens a read-only cursor and fetches
// from it, with every combination of CLIENT_DEPRECATE_EOF on the client and
// the backend side.
func TestCursorFetchAndEOFConversion(t *testing.T) {
	b := sharedBed(t)
	for _, serverDep := range []bool{true, false} {
		cfg := baseConfig(b)
		cfg.MySQLVariables["enable_server_deprecate_eof"] = fmt.Sprint(serverDep)
		p := startProxy(t, cfg)
		for _, clientDep := range []bool{true, false} {
			t.Run(fmt.Sprintf("server_deprecate=%v/client_deprecate=%v", serverDep, clientDep), func(t *testing.T) {
				c := rawClient(t, p, func(o *backend.DialOptions) { o.DeprecateEOF = clientDep })
				if c.DeprecateEOF() != clientDep {
					t.Fatalf("client DEPRECATE_EOF negotiated %v, want %v", c.DeprecateEOF(), clientDep)
				}
				rows, err := c.QueryStrings("SELECT 1 UNION SELECT 2")
				if err != nil || len(rows) != 2 || rows[1][0] != "2" {
					t.Fatalf("text result: %v %v", rows, err)
				}
				prep := cmd(t, c, append([]byte{wire.ComStmtPrepare}, "SELECT seq FROM seq_1_to_10"...))
				if prep[0] != wire.OKHeader {
					t.Fatalf("prepare: %v", wire.ParseErr(prep))
				}
				id := binary.LittleEndian.Uint32(prep[1:])
				if ncols := binary.LittleEndian.Uint16(prep[5:]); ncols != 1 {
					t.Fatalf("prepare: %d columns", ncols)
				}
				c.ReadPacket(0) // the column definition
				if !clientDep {
					c.ReadPacket(0) // EOF after it
				}
				exec := []byte{wire.ComStmtExecute, 0, 0, 0, 0, 1 /* CURSOR_TYPE_READ_ONLY */, 1, 0, 0, 0}
				binary.LittleEndian.PutUint32(exec[1:], id)
				if r := cmd(t, c, exec); r[0] != 1 {
					t.Fatalf("execute with cursor: first packet % x", r)
				}
				c.ReadPacket(0) // column definition
				_, st := readUntilEnd(t, c)
				if st&wire.StatusCursorExists == 0 {
					t.Fatalf("execute: status %#x has no SERVER_STATUS_CURSOR_EXISTS", st)
				}
				fetch := func(n uint32) ([][]byte, uint16) {
					f := make([]byte, 9)
					f[0] = wire.ComStmtFetch
					binary.LittleEndian.PutUint32(f[1:], id)
					binary.LittleEndian.PutUint32(f[5:], n)
					c.Seq = 0
					c.WritePacket(f)
					c.Flush()
					return readUntilEnd(t, c)
				}
				if rows, _ := fetch(4); len(rows) != 4 {
					t.Fatalf("first fetch: %d rows, want 4", len(rows))
				}
				rows2, st := fetch(100)
				if len(rows2) != 6 || st&wire.StatusLastRowSent == 0 {
					t.Fatalf("second fetch: %d rows, status %#x; want 6 rows and LAST_ROW_SENT", len(rows2), st)
				}
				cl := make([]byte, 5)
				cl[0] = wire.ComStmtClose
				binary.LittleEndian.PutUint32(cl[1:], id)
				c.Seq = 0
				c.WritePacket(cl)
				c.Flush()
				if rows, err := c.QueryStrings("SELECT 3"); err != nil || rows[0][0] != "3" {
					t.Fatalf("after closing the cursor statement: %v %v", rows, err)
				}
			})
		}
	}
}

func TestTLSAndCachingSHA2(t *testing.T) {
	b := sharedBed(t)
	cfg := baseConfig(b)
	cfg.MySQLVariables["have_ssl"] = "true"
	cfg.MySQLVariables["default_authentication_plugin"] = "caching_sha2_password"
	cfg.MySQLUsers = append(cfg.MySQLUsers, cfgUser("monitor", "*"+strings.ToUpper(fmt.Sprintf("%x", doubleSHA1("monitor")))))
	p := startProxy(t, cfg)
	try := func(user, pass, params string) error {
		db, err := sql.Open("mysql", p.dsn(user, pass, "", params))
		if err != nil {
			return err
		}
		defer db.Close()
		var v string
		return db.QueryRow("SELECT CURRENT_USER()").Scan(&v)
	}
	// Cleartext in mysql_users: the fast path works with and without TLS.
	if err := try("app", "app", ""); err != nil {
		t.Fatalf("caching_sha2 fast path without TLS: %v", err)
	}
	if err := try("app", "app", "tls=skip-verify"); err != nil {
		t.Fatalf("caching_sha2 over TLS: %v", err)
	}
	if err := try("app", "bad", "tls=skip-verify"); mysqlErrNo(err) != 1045 {
		t.Fatalf("wrong password over TLS: %v", err)
	}
	// Hashed password: full authentication needs TLS; without it the login
	// is denied like any other (the log says why).
	if err := try("monitor", "monitor", ""); mysqlErrNo(err) != 1045 {
		t.Fatalf("hashed password without TLS: %v, want 1045", err)
	}
	// One answer for every failed login: a client cannot tell a user that
	// does not exist from a wrong password, nor how a password is stored.
	for _, params := range []string{"", "tls=skip-verify"} {
		want := ""
		for _, user := range []string{"nosuchuser", "app", "monitor"} {
			for _, pass := range []string{"wrong", ""} {
				if user == "monitor" && pass == "" {
					continue
				}
				err := try(user, pass, params)
				if err == nil {
					t.Fatalf("%s with password %q (%s) logged in", user, pass, params)
				}
				got := strings.ReplaceAll(err.Error(), "'"+user+"'", "'U'")
				if pass == "" {
					got = strings.Replace(got, "using password: NO", "using password: YES", 1)
				}
				if want == "" {
					want = got
				} else if got != want {
					t.Errorf("%s, password %q (%s): %q; the other failed logins got %q", user, pass, params, got, want)
				}
			}
		}
	}
	if err := try("monitor", "monitor", "tls=skip-verify"); err != nil {
		t.Fatalf("caching_sha2 full authentication over TLS: %v", err)
	}
	// mysql_native_password against the hash works without TLS and lets
	// sqlgate log into the backend with what the login revealed.
	cfg2 := baseConfig(b)
	cfg2.MySQLUsers = append(cfg2.MySQLUsers, cfgUser("monitor", "*"+fmt.Sprintf("%X", doubleSHA1("monitor"))))
	p2 := startProxy(t, cfg2)
	db, _ := sql.Open("mysql", p2.dsn("monitor", "monitor", "", ""))
	defer db.Close()
	if u := queryString(t, db, "SELECT CURRENT_USER()"); !strings.HasPrefix(u, "monitor@") {
		t.Fatalf("native login with a hashed password: %q", u)
	}
}

func doubleSHA1(pw string) []byte {
	a := sha1.Sum([]byte(pw))
	b := sha1.Sum(a[:])
	return b[:]
}
