package frontend_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestLongDataIsBounded: COM_STMT_SEND_LONG_DATA chunks a session buffers
// are bounded by mysql-max_allowed_packet; past it the execute fails with
// the server's error 1153, nothing stays buffered, and the session goes on.
func TestLongDataIsBounded(t *testing.T) {
	bed := sharedBed(t)
	cfg := baseConfig(bed)
	cfg.MySQLVariables["max_allowed_packet"] = "4194304"
	p := startProxy(t, cfg)
	// The driver sends a []byte argument of 512 KB or more as long data,
	// in chunks of up to 1 MB.
	db := p.db(t, "maxAllowedPacket=1048576")
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(context.Background(), "SELECT LENGTH(?)", bytes.Repeat([]byte{'a'}, 3<<20)).Scan(&n); err != nil || n != 3<<20 {
		t.Fatalf("3 MB of long data under a 4 MB limit: %d, %v", n, err)
	}
	err = conn.QueryRowContext(context.Background(), "SELECT LENGTH(?)", bytes.Repeat([]byte{'b'}, 10<<20)).Scan(&n)
	if err == nil || !strings.Contains(err.Error(), "1153") || !strings.Contains(err.Error(), "max_allowed_packet") {
		t.Fatalf("10 MB of long data under a 4 MB limit: %d, %v; want error 1153", n, err)
	}
	if err := conn.QueryRowContext(context.Background(), "SELECT LENGTH(?)", bytes.Repeat([]byte{'c'}, 2<<20)).Scan(&n); err != nil || n != 2<<20 {
		t.Fatalf("the session after the refusal: %d, %v", n, err)
	}
}
