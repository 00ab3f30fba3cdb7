package cluster

import "testing"

func sp(s string) *string { return &s }

func TestSpookyVectors(t *testing.T) {
	for _, tc := range []struct {
		s1, s2 uint64
		in     string
		want   uint64
	}{
		{0, 0, "hello world", 14865987102431973981},
		{19, 3, "hello world", 0xef907009c76da768},
	} {
		h := NewHash(tc.s1, tc.s2)
		h.WriteString("hello ")
		h.WriteString("world")
		if got := h.Sum64(); got != tc.want {
			t.Errorf("spooky(%d,%d,%q) = %d, want %d", tc.s1, tc.s2, tc.in, got, tc.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		h    uint64
		want string
	}{
		{0, "0x0000000000000000"},
		{0x00000001000000AB, "0xAB10000000000000"},
		{0xef907009c76da768, "0xC76DA768EF907009"},
		{0xFFFFFFFFFFFFFFFF, "0xFFFFFFFFFFFFFFFF"},
	} {
		if got := Format(tc.h); got != tc.want {
			t.Errorf("Format(%#x) = %s, want %s", tc.h, got, tc.want)
		}
	}
}

func TestRawChecksum(t *testing.T) {
	rows := [][]*string{
		{sp("127.0.0.1"), sp("6032"), sp("0"), sp("proxysql01")},
		{sp("127.0.0.1"), sp("6033"), sp("0"), sp("")},
	}
	if got := Format(RawChecksum(rows)); got != "0xD98E3A505517CA52" {
		t.Errorf("proxysql_servers vector: got %s, want 0xD98E3A505517CA52", got)
	}
	if RawChecksum(nil) != 0 {
		t.Error("no rows must hash to 0")
	}
	// NULL and '' hash the same, and cell boundaries do not matter: both
	// are properties of ProxySQL's algorithm that peers rely on.
	a := RawChecksum([][]*string{{sp("ab"), nil, sp("c")}})
	b := RawChecksum([][]*string{{sp("a"), sp(""), sp("bc")}})
	if a != b {
		t.Error("raw checksum must ignore cell boundaries and NULLs")
	}
}

func TestCombine(t *testing.T) {
	if Combine(0, 0) != 0 {
		t.Error("all-zero combine must be 0")
	}
	if Combine(0, 5, 0) != Combine(5) {
		t.Error("zero parts must be skipped")
	}
	if Combine(1, 2) == Combine(2, 1) {
		t.Error("order must matter")
	}
}

func TestUsersChecksum(t *testing.T) {
	a := Account{Username: "app", Password: "app", DefaultHostgroup: 0, TransactionPersistent: true, MaxConnections: 10000}
	b := Account{Username: "bob", Password: "x", DefaultHostgroup: 1, MaxConnections: 10}
	admin := Account{Username: "admin", DefaultHostgroup: -2}
	one := UsersChecksum([]Account{a, b}, []Account{a, b})
	if one == 0 {
		t.Fatal("users checksum is 0")
	}
	if got := UsersChecksum([]Account{b, a, admin}, []Account{admin, b, a}); got != one {
		t.Error("order of accounts or negative-hostgroup accounts changed the checksum")
	}
	b.Comment = "changed"
	if UsersChecksum([]Account{a, b}, []Account{a, b}) == one {
		t.Error("a comment change did not change the checksum")
	}
	if UsersChecksum(nil, []Account{admin}) != 0 {
		t.Error("no eligible accounts must hash to 0")
	}
}

func TestGlobalChecksum(t *testing.T) {
	if GlobalChecksum(nil) != 0 {
		t.Error("nothing loaded must be 0")
	}
	v := map[string]Value{MySQLUsers: {Version: 1, Epoch: 10, Checksum: "0x1"}}
	g1 := GlobalChecksum(v)
	v[MySQLUsers] = Value{Version: 2, Epoch: 10, Checksum: "0x1"}
	g2 := GlobalChecksum(v)
	if g1 == g2 || g1 > 1<<63-1 || g2 > 1<<63-1 {
		t.Errorf("global checksum must change with the version and fit int64: %d %d", g1, g2)
	}
	v[MySQLUsers] = Value{Version: 2, Epoch: 99, Checksum: "0x1"}
	if GlobalChecksum(v) != g2 {
		t.Error("the epoch is not part of the global checksum")
	}
}
