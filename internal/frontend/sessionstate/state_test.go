package sessionstate

import (
	"net"
	"strings"
	"testing"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/router"
	"sqlgate/internal/wire"
)

// fakeBackend is a backend connection whose server answers every command
// with OK and records what it was sent.
func fakeBackend(t *testing.T) (*backend.Conn, func() []string) {
	t.Helper()
	cli, srv := net.Pipe()
	got := make(chan string, 64)
	go func() {
		c := wire.NewConn(srv)
		for {
			p, err := c.ReadPacket(1 << 20)
			if err != nil {
				close(got)
				return
			}
			switch p[0] {
			case wire.ComQuery:
				got <- "QUERY " + string(p[1:])
			case wire.ComInitDB:
				got <- "INIT_DB " + string(p[1:])
			case wire.ComResetConnection:
				got <- "RESET"
			case wire.ComSetOption:
				got <- "SET_OPTION"
			default:
				got <- "COMMAND " + string(rune('0'+p[0]))
			}
			c.Seq = 1
			c.WritePacket(wire.AppendOK(nil, wire.OKHeader, wire.OK{Status: wire.StatusAutocommit}))
			c.Flush()
		}
	}()
	t.Cleanup(func() { cli.Close(); srv.Close() })
	cli.SetDeadline(time.Now().Add(5 * time.Second))
	bc := &backend.Conn{Conn: wire.NewConn(cli), Server: &backend.Server{}, Vars: map[string]string{},
		Schema: "app", Autocommit: true, Charset: "id:33"}
	return bc, func() []string {
		cli.Close()
		var out []string
		for s := range got {
			out = append(out, s)
		}
		return out
	}
}

// TestSyncState checks which statements replay the client's session state
// on a backend connection, and that a connection already in that state
// gets none.
func TestSyncState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state func(*State)
		conn  func(*backend.Conn)
		want  []string
		// prefix: want is how it starts (a reset connection then gets
		// the whole state replayed: schema, charset).
		prefix bool
	}{
		{"same state: nothing sent", nil, nil, nil, false},
		{"another schema", func(st *State) { st.Schema = "shop" }, nil, []string{"INIT_DB shop"}, false},
		{"autocommit off", func(st *State) { st.Autocommit = false }, nil, []string{"QUERY SET autocommit=0"}, false},
		{"a tracked variable", func(st *State) { st.Vars = map[string]string{"sql_mode": "'ANSI'"} }, nil, []string{"QUERY SET sql_mode='ANSI'"}, false},
		{"a variable the connection has and the session not: reset first, then the state", nil,
			func(bc *backend.Conn) { bc.Vars["sql_mode"] = "'ANSI'" }, []string{"RESET", "INIT_DB app"}, true},
	} {
		st := State{Schema: "app", Autocommit: true, Charset: "id:33"}
		if tc.state != nil {
			tc.state(&st)
		}
		bc, sent := fakeBackend(t)
		if tc.conn != nil {
			tc.conn(bc)
		}
		if err := st.Sync(bc); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := sent()
		if tc.prefix && len(got) > len(tc.want) {
			got = got[:len(tc.want)]
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: sent %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestScore: a connection of another user, or with another
// CLIENT_FOUND_ROWS, is never taken; otherwise the one needing the fewest
// replay round trips wins, and one needing none scores PerfectScore.
func TestScore(t *testing.T) {
	st := New("app", 33, wire.ClientFoundRows)
	conn := func(f func(*backend.Conn)) *backend.Conn {
		bc := &backend.Conn{User: "app", Caps: wire.ClientFoundRows, Schema: "app", Charset: "id:33", Autocommit: true, Vars: map[string]string{}}
		if f != nil {
			f(bc)
		}
		return bc
	}
	if got := st.Score(conn(nil), "app"); got != PerfectScore {
		t.Errorf("a connection in the session's state scores %d, want %d", got, PerfectScore)
	}
	if got := st.Score(conn(nil), "other"); got != -1 {
		t.Errorf("another user's connection scores %d, want -1", got)
	}
	if got := st.Score(conn(func(bc *backend.Conn) { bc.Caps = 0 }), "app"); got != -1 {
		t.Errorf("a connection without CLIENT_FOUND_ROWS scores %d, want -1", got)
	}
	other := st.Score(conn(func(bc *backend.Conn) { bc.Schema = "shop" }), "app")
	vars := st.Score(conn(func(bc *backend.Conn) { bc.Vars["sql_mode"] = "''" }), "app")
	if other >= PerfectScore || vars >= PerfectScore {
		t.Errorf("connections needing a replay score %d and %d, want less than %d", other, vars, PerfectScore)
	}
}

// TestApplySet: a parsed SET changes the session and the connection that
// ran it; SET NAMES forgets the character set variables it implies, and
// next_transaction_* is reported as state only that connection holds.
func TestApplySet(t *testing.T) {
	st := New("app", 0, 0)
	st.Vars["character_set_client"] = "latin1"
	bc := &backend.Conn{Vars: map[string]string{"character_set_client": "latin1"}}
	as, ok := router.ParseSet("SET autocommit=0, sql_mode='ANSI', NAMES utf8mb4")
	if !ok {
		t.Fatal("SET not parsed")
	}
	if st.ApplySet(bc, as) {
		t.Error("a plain SET reported as preparing the next transaction")
	}
	if st.Autocommit || st.Vars["sql_mode"] != "'ANSI'" || bc.Vars["sql_mode"] != "'ANSI'" || st.Charset != "names:utf8mb4" || bc.Charset != st.Charset {
		t.Errorf("after the SET: session %+v, connection vars %v charset %q", st, bc.Vars, bc.Charset)
	}
	if _, ok := st.Vars["character_set_client"]; ok {
		t.Error("SET NAMES kept character_set_client")
	}
	if st.Collation() != DefaultCollation {
		t.Errorf("collation after SET NAMES %d, want the default", st.Collation())
	}
	if as, ok := router.ParseSet("SET TRANSACTION READ ONLY"); !ok || !st.ApplySet(bc, as) {
		t.Error("SET TRANSACTION not reported as preparing the next transaction")
	}
}
