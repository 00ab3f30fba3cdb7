package admin

import (
	"reflect"
	"testing"

	"sqlgate/internal/admin/store"
	"sqlgate/internal/cluster"
)

func TestDiffResults(t *testing.T) {
	cols := []string{"rule_id", "match_digest", "destination_hostgroup"}
	res := func(rows ...[]string) cluster.Result {
		r := cluster.Result{Cols: cols}
		for _, row := range rows {
			r.Rows = append(r.Rows, store.Row(row...))
		}
		return r
	}
	base := res([]string{"1", "^SELECT", "20"}, []string{"2", "^INSERT", "10"})
	cases := []struct {
		name          string
		before, after cluster.Result
		keyCols       int
		want          []diffRow
	}{
		{"same", base, base, 1, nil},
		{"one column changed", base, res([]string{"1", "^SELECT", "30"}, []string{"2", "^INSERT", "10"}), 1,
			[]diffRow{{change: "~", key: `rule_id="1"`, column: "destination_hostgroup", before: "20", after: "30"}}},
		{"added and removed", base, res([]string{"1", "^SELECT", "20"}, []string{"3", "^UPDATE", "10"}), 1, []diffRow{
			{change: "-", key: `rule_id="2"`, before: `rule_id="2", match_digest="^INSERT", destination_hostgroup="10"`},
			{change: "+", key: `rule_id="3"`, after: `rule_id="3", match_digest="^UPDATE", destination_hostgroup="10"`}}},
		{"from nothing", cluster.Result{}, res([]string{"1", "^SELECT", "20"}), 1, []diffRow{
			{change: "+", key: `rule_id="1"`, after: `rule_id="1", match_digest="^SELECT", destination_hostgroup="20"`}}},
		{"NULL to a value", res([]string{"1", "^SELECT", "20"}), cluster.Result{Cols: cols, Rows: [][]*string{{store.Row("1")[0], nil, store.Row("20")[0]}}}, 1,
			[]diffRow{{change: "~", key: `rule_id="1"`, column: "match_digest", before: "^SELECT", after: "NULL"}}},
		{"duplicate keys compare whole rows", res([]string{"u", "1", "0"}, []string{"u", "0", "1"}), res([]string{"u", "1", "0"}, []string{"u", "0", "2"}), 1, []diffRow{
			{change: "-", key: `rule_id="u", match_digest="0", destination_hostgroup="1"`, before: `rule_id="u", match_digest="0", destination_hostgroup="1"`},
			{change: "+", key: `rule_id="u", match_digest="0", destination_hostgroup="2"`, after: `rule_id="u", match_digest="0", destination_hostgroup="2"`}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := diffResults(c.before, c.after, c.keyCols); !reflect.DeepEqual(got, c.want) {
				t.Errorf("diffResults:\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestKeyColumns(t *testing.T) {
	for m, want := range map[string][]int{
		cluster.MySQLQueryRules: {1, 3}, cluster.MySQLUsers: {0}, cluster.MySQLServersV2: {3, 1, 1, 1, 1, 1, 3},
		cluster.MySQLServers: {3}, cluster.ProxySQLServers: {2}, cluster.MySQLVariables: {1},
	} {
		var got []int
		for _, q := range cluster.ModuleQueries(m) {
			got = append(got, keyColumns(q))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: key columns %v, want %v", m, got, want)
		}
	}
}
