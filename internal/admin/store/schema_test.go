package store

import (
	"strings"
	"testing"
)

// TestColumns checks the column lists derived from the definitions: the
// checksums, peer fetches and config file export are built from them.
func TestColumns(t *testing.T) {
	for _, tc := range []struct {
		table  string
		except []string
		want   string
	}{
		{"mysql_servers", nil, "hostgroup_id:INT hostname:VARCHAR port:INT gtid_port:INT status:VARCHAR weight:INT compression:INT max_connections:INT max_replication_lag:INT use_ssl:INT max_latency_ms:INT comment:VARCHAR"},
		{"mysql_users", []string{"active"}, "username:VARCHAR password:VARCHAR use_ssl:INT default_hostgroup:INT default_schema:VARCHAR schema_locked:INT transaction_persistent:INT fast_forward:INT backend:INT frontend:INT max_connections:INT attributes:VARCHAR comment:VARCHAR"},
		{"mysql_collations", nil, "Id:INTEGER Collation:VARCHAR Charset:VARCHAR Default:VARCHAR"},
		{"runtime_mysql_users", []string{"active"}, "username:VARCHAR password:VARCHAR use_ssl:INT default_hostgroup:INT default_schema:VARCHAR schema_locked:INT transaction_persistent:INT fast_forward:INT backend:INT frontend:INT max_connections:INT attributes:VARCHAR comment:VARCHAR"},
	} {
		var got []string
		for _, c := range Columns(tc.table, tc.except...) {
			got = append(got, c.Name+":"+c.Type)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("Columns(%s) = %s\nwant %s", tc.table, strings.Join(got, " "), tc.want)
		}
	}
}

// TestRuntimeMirrors checks that every runtime_ table is its MEMORY
// table renamed, except the two ProxySQL defines differently.
func TestRuntimeMirrors(t *testing.T) {
	for _, tb := range mainTables {
		base, ok := strings.CutPrefix(tb.name, "runtime_")
		if !ok || tableDDL[base] == "" {
			continue
		}
		_, own := tableDDL[tb.name]
		same := strings.Replace(tb.ddl, "CREATE TABLE "+tb.name, "CREATE TABLE "+base, 1) == tableDDL[base]
		if own == same {
			t.Errorf("%s: declared itself %v, same as %s %v: a declaration that repeats its MEMORY table should go", tb.name, own, base, same)
		}
		if !strings.HasPrefix(tb.ddl, "CREATE TABLE "+tb.name+" (") {
			t.Errorf("%s: DDL starts %.40q", tb.name, tb.ddl)
		}
	}
}
