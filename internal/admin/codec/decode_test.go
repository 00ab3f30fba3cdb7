package codec

import (
	"strings"
	"testing"

	"sqlgate/internal/admin/store"
)

func row(vals ...string) []*string {
	out := make([]*string, len(vals))
	for i := range vals {
		if vals[i] != "NULL" {
			out[i] = &vals[i]
		}
	}
	return out
}

var serverCols = []string{"hostgroup_id", "hostname", "port", "gtid_port", "status", "weight", "compression",
	"max_connections", "max_replication_lag", "use_ssl", "max_latency_ms", "comment"}

func TestServersErrorsNameTableRowAndColumn(t *testing.T) {
	good := []string{"10", "db1", "3306", "0", "online", "1", "0", "1000", "0", "0", "0", ""}
	with := func(col, v string) []string {
		r := append([]string(nil), good...)
		for i, c := range serverCols {
			if c == col {
				r[i] = v
			}
		}
		return r
	}
	cases := []struct {
		name string
		row  []string
		want string // "" means no error
	}{
		{"valid, status case-folded", good, ""},
		{"port out of range", with("port", "70000"), "mysql_servers row 2 (hostgroup_id=10, hostname=db1, port=70000): column port"},
		{"port not a number", with("port", "abc"), "column port"},
		{"empty hostname", with("hostname", ""), "column hostname: must not be empty"},
		{"unknown status", with("status", "UP"), `column status: must be ONLINE, SHUNNED, OFFLINE_SOFT or OFFLINE_HARD, got "UP"`},
		{"compression refused", with("compression", "1"), "column compression: backend compression is not implemented"},
		{"negative weight", with("weight", "-1"), "column weight"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The row under test is the second one, so the row number shows.
			r := &store.Result{Cols: serverCols, Rows: [][]*string{row(good...), row(c.row...)}}
			got, err := Servers(r)
			if c.want == "" {
				if err != nil || len(got) != 2 || got[1].Status != "ONLINE" {
					t.Fatalf("Servers = %+v, %v; want two rows with status ONLINE", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Servers error = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestUsersNullSchemaIsEmpty(t *testing.T) {
	cols := []string{"username", "password", "active", "use_ssl", "default_hostgroup", "default_schema", "schema_locked",
		"transaction_persistent", "fast_forward", "backend", "frontend", "max_connections", "attributes", "comment"}
	r := &store.Result{Cols: cols, Rows: [][]*string{row("app", "pw", "1", "0", "10", "NULL", "0", "1", "0", "1", "1", "100", "", "")}}
	us, err := Users(r)
	if err != nil || len(us) != 1 {
		t.Fatalf("Users = %+v, %v", us, err)
	}
	if u := us[0]; u.Username != "app" || u.DefaultSchema != "" || !u.TransactionPersistent || u.DefaultHostgroup != 10 {
		t.Fatalf("Users decoded %+v", u)
	}
	r.Rows[0][2] = row("2")[0] // active must be 0 or 1
	if _, err := Users(r); err == nil || !strings.Contains(err.Error(), "mysql_users row 1") || !strings.Contains(err.Error(), "column active") {
		t.Fatalf("Users with active=2: error %v, want one naming mysql_users row 1, column active", err)
	}
}
