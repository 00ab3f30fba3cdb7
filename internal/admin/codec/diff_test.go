package codec

import (
	"reflect"
	"testing"

	"sqlgate/internal/admin/store"
)

// result is a resultset for the table below.
type result struct {
	Cols []string
	Rows [][]*string
}

func TestDiffResults(t *testing.T) {
	cols := []string{"rule_id", "match_digest", "destination_hostgroup"}
	res := func(rows ...[]string) result {
		r := result{Cols: cols}
		for _, row := range rows {
			r.Rows = append(r.Rows, store.Row(row...))
		}
		return r
	}
	base := res([]string{"1", "^SELECT", "20"}, []string{"2", "^INSERT", "10"})
	cases := []struct {
		name          string
		before, after result
		keyCols       int
		want          []Change
	}{
		{"same", base, base, 1, nil},
		{"one column changed", base, res([]string{"1", "^SELECT", "30"}, []string{"2", "^INSERT", "10"}), 1,
			[]Change{{Change: "~", Key: `rule_id="1"`, Column: "destination_hostgroup", Before: "20", After: "30"}}},
		{"added and removed", base, res([]string{"1", "^SELECT", "20"}, []string{"3", "^UPDATE", "10"}), 1, []Change{
			{Change: "-", Key: `rule_id="2"`, Before: `rule_id="2", match_digest="^INSERT", destination_hostgroup="10"`},
			{Change: "+", Key: `rule_id="3"`, After: `rule_id="3", match_digest="^UPDATE", destination_hostgroup="10"`}}},
		{"from nothing", result{}, res([]string{"1", "^SELECT", "20"}), 1, []Change{
			{Change: "+", Key: `rule_id="1"`, After: `rule_id="1", match_digest="^SELECT", destination_hostgroup="20"`}}},
		{"NULL to a value", res([]string{"1", "^SELECT", "20"}), result{Cols: cols, Rows: [][]*string{{store.Row("1")[0], nil, store.Row("20")[0]}}}, 1,
			[]Change{{Change: "~", Key: `rule_id="1"`, Column: "match_digest", Before: "^SELECT", After: "NULL"}}},
		{"duplicate keys compare whole rows", res([]string{"u", "1", "0"}, []string{"u", "0", "1"}), res([]string{"u", "1", "0"}, []string{"u", "0", "2"}), 1, []Change{
			{Change: "-", Key: `rule_id="u", match_digest="0", destination_hostgroup="1"`, Before: `rule_id="u", match_digest="0", destination_hostgroup="1"`},
			{Change: "+", Key: `rule_id="u", match_digest="0", destination_hostgroup="2"`, After: `rule_id="u", match_digest="0", destination_hostgroup="2"`}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Diff(cols, c.before.Rows, c.after.Rows, c.keyCols); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Diff:\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}
