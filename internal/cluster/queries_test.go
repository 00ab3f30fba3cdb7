package cluster

import (
	"reflect"
	"testing"
)

func TestKeyColumns(t *testing.T) {
	for m, want := range map[string][]int{
		MySQLQueryRules: {1, 3}, MySQLUsers: {0}, MySQLServersV2: {3, 1, 1, 1, 1, 1, 3},
		MySQLServers: {3}, ProxySQLServers: {2}, MySQLVariables: {1},
	} {
		var got []int
		for _, q := range ModuleQueries(m) {
			got = append(got, KeyColumns(q))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: key columns %v, want %v", m, got, want)
		}
	}
}
