package stmt

import (
	"bytes"
	"encoding/binary"
	"testing"

	"sqlgate/internal/router"
	"sqlgate/internal/wire"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		q                   string
		cmd                 router.CommandType
		userVar, sideEffect bool
		retrySafe           bool
	}{
		{"SELECT * FROM t WHERE id = 1", router.CmdSelect, false, false, true},
		{"SELECT @@sql_mode", router.CmdSelect, false, false, true},
		{"SELECT @x", router.CmdSelect, true, false, true},
		{"SELECT GET_LOCK('a', 1)", router.CmdSelect, false, true, false},
		{"INSERT INTO t VALUES (1)", router.CmdInsert, false, false, false},
	} {
		info, _, _ := Classify(tc.q, nil)
		if info.Cmd != tc.cmd || info.UserVar != tc.userVar || info.SideEffects != tc.sideEffect || info.RetrySafe() != tc.retrySafe {
			t.Errorf("%q: %+v, retry-safe %v", tc.q, info, info.RetrySafe())
		}
	}
	info := Info{Retries: 3}
	if info.MaxRetries(1) != 2 || (&Info{}).MaxRetries(1) != 1 {
		t.Errorf("a rule's retries do not override mysql-query_retries_on_failure")
	}
}

func TestParseUseAndDropSchema(t *testing.T) {
	if db, ok := ParseUse("USE `my``db`;"); !ok || db != "my`db" {
		t.Errorf("ParseUse: %q %v", db, ok)
	}
	if _, ok := ParseUse("USE a b"); ok {
		t.Error("ParseUse accepted two names")
	}
	if db, ok := ParseDropSchema("DROP DATABASE IF EXISTS shop;"); !ok || db != "shop" {
		t.Errorf("ParseDropSchema: %q %v", db, ok)
	}
	if !IsBareEnd(" COMMIT ") || IsBareEnd("COMMIT AND CHAIN") {
		t.Error("IsBareEnd")
	}
}

// execute builds a COM_STMT_EXECUTE for a statement with nparams
// parameters, with types when given.
func execute(nparams int, types []byte, values ...byte) []byte {
	p := []byte{wire.ComStmtExecute, 9, 0, 0, 0, 0, 1, 0, 0, 0}
	p = append(p, make([]byte, (nparams+7)/8)...)
	if types != nil {
		p = append(p, 1)
		p = append(p, types...)
	} else {
		p = append(p, 0)
	}
	return append(p, values...)
}

// TestExecutePacketCarriesTypes: an execute without parameter types gets
// those of the last execute that sent them, since the connection it runs
// on may never have seen them.
func TestExecutePacketCarriesTypes(t *testing.T) {
	h := &Handle{Entry: &Entry{Meta: wire.PrepareOK{NumParams: 1}}}
	if _, err := h.ExecutePacket(execute(1, nil, 7)); err == nil {
		t.Fatal("an execute without types, never sent them, was accepted")
	}
	first := execute(1, []byte{8, 0}, 7)
	if got, err := h.ExecutePacket(first); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("an execute with types: %x, %v", got, err)
	}
	got, err := h.ExecutePacket(execute(1, nil, 9))
	if want := execute(1, []byte{8, 0}, 9); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("an execute without types became %x, want %x (%v)", got, want, err)
	}
	if _, err := h.ExecutePacket(execute(1, nil)[:10]); err == nil {
		t.Fatal("a truncated execute was accepted")
	}
}

func longData(id uint32, n int) []byte {
	p := []byte{wire.ComStmtSendLongData, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(p[1:], id)
	return append(p, make([]byte, n)...)
}

// TestLongDataBudget: a session's long data, for all its statements, is
// bounded; the statement that goes over fails its next execute, and the
// budget is given back when the data is dropped.
func TestLongDataBudget(t *testing.T) {
	var tb Table
	e := &Entry{}
	a, b := tb.Add(e), tb.Add(e)
	tb.AddLongData(longData(a, 60), 100)
	tb.AddLongData(longData(b, 60), 100)
	ha, hb := tb.Get(a), tb.Get(b)
	if len(ha.LongData()) != 1 || ha.LongDataTooLong() {
		t.Fatalf("first chunk: %d buffered, too long %v", len(ha.LongData()), ha.LongDataTooLong())
	}
	if len(hb.LongData()) != 0 || !hb.LongDataTooLong() {
		t.Fatalf("the chunk over the budget was kept")
	}
	tb.Remove(a)
	tb.DropLongData(hb)
	tb.AddLongData(longData(b, 60), 100)
	if len(hb.LongData()) != 1 {
		t.Fatalf("the budget was not given back")
	}
	if !tb.Holds(e) {
		t.Fatal("the table lost a statement it holds")
	}
	if _, err := tb.Lookup([]byte{wire.ComStmtExecute, 99, 0, 0, 0}, "mysqld_stmt_execute"); err == nil {
		t.Fatal("an unknown statement id was found")
	}
}

func TestTableRoom(t *testing.T) {
	var tb Table
	e := &Entry{}
	for range MaxPerSession {
		if err := tb.Room(); err != nil {
			t.Fatal(err)
		}
		tb.Add(e)
	}
	if err := tb.Room(); err == nil {
		t.Fatalf("a session may hold more than %d statements", MaxPerSession)
	}

	// Clear gives every statement's reference back to the registry.
	var r Registry
	tb = Table{}
	e1, e2 := r.Add(&Entry{Key: "a"}), r.Add(&Entry{Key: "b"})
	tb.Add(e1)
	tb.Add(e2)
	tb.Clear(&r)
	if tb.Holds(e1) || tb.Holds(e2) || e1.refs != 0 || e2.refs != 0 || r.idle.Len() != 2 {
		t.Fatalf("after Clear: refs %d %d, idle %d", e1.refs, e2.refs, r.idle.Len())
	}
}

// TestIdleAfter pins where a draining server may hang up: after the reply
// to a statement that ends what a client does, never in the middle of a
// prepared statement's PREPARE/EXECUTE or a connection's set-up.
func TestIdleAfter(t *testing.T) {
	for _, tc := range []struct {
		p    []byte
		want bool
	}{
		{append([]byte{wire.ComQuery}, "INSERT INTO t VALUES (1)"...), true},
		{append([]byte{wire.ComQuery}, "  select 1"...), true},
		{append([]byte{wire.ComQuery}, "COMMIT"...), true},
		{append([]byte{wire.ComQuery}, "SET NAMES utf8mb4"...), false},
		{append([]byte{wire.ComQuery}, "set autocommit=0"...), false},
		{append([]byte{wire.ComQuery}, "USE shop"...), false},
		{append([]byte{wire.ComQuery}, "BEGIN"...), false},
		{append([]byte{wire.ComQuery}, "start transaction"...), false},
		{append([]byte{wire.ComQuery}, "LOCK TABLES t WRITE"...), false},
		{[]byte{wire.ComStmtPrepare, 'S'}, false},
		{[]byte{wire.ComStmtExecute, 1, 0, 0, 0}, true},
		{[]byte{wire.ComStmtClose, 1, 0, 0, 0}, false},
		{[]byte{wire.ComPing}, true},
		{[]byte{wire.ComInitDB, 'x'}, false},
	} {
		if got := IdleAfter(tc.p); got != tc.want {
			t.Errorf("IdleAfter(%q) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

// TestPins: what a statement leaves on its connection decides whether
// the connection may go back to the pool.
func TestPins(t *testing.T) {
	classify := func(q string) Info { i, _, _ := Classify(q, nil); return i }
	lock := classify("LOCK TABLES t WRITE")
	p := lock.Pins(0)
	if p&PinLockTables == 0 {
		t.Fatalf("LOCK TABLES left pins %b", p)
	}
	unlock := classify("UNLOCK TABLES")
	if p = unlock.Pins(p); p != 0 {
		t.Fatalf("UNLOCK TABLES left pins %b", p)
	}
	userVar := classify("SELECT @x")
	if userVar.Pins(0)&PinUserVariable == 0 {
		t.Error("reading a user variable does not pin")
	}
	userVar.Multiplex = MultiplexKeepVar
	if userVar.Pins(0) != 0 {
		t.Error("multiplex=2 did not keep a user variable from pinning")
	}
	unparsed := Info{IsSet: true}
	if unparsed.Pins(0) != PinUnparsedSet {
		t.Error("an unparsed SET does not pin")
	}
	unparsed.Multiplex = MultiplexOn
	if unparsed.Pins(PinRuleNoMultiplex) != 0 {
		t.Error("multiplex=1 did not clear multiplex=0, or an unparsed SET with a rule's multiplex pinned")
	}
}
