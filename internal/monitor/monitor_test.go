package monitor

import (
	"errors"
	"testing"
	"time"

	"sqlgate/internal/backend"
	"sqlgate/internal/runtime"
)

func TestTargets(t *testing.T) {
	snap := &runtime.Snapshot{
		Servers: []backend.ServerConfig{
			{Hostgroup: 0, Host: "w", Port: 1},
			{Hostgroup: 1, Host: "w", Port: 1},
			{Hostgroup: 1, Host: "r", Port: 1, MaxReplicationLag: 10},
			{Hostgroup: 5, Host: "other", Port: 1},
			{Hostgroup: 5, Host: "gone", Port: 1, Status: backend.OfflineHard},
			{Hostgroup: 5, Host: "soft", Port: 1, Status: backend.OfflineSoft, MaxReplicationLag: 3},
		},
		Replication: []runtime.ReplicationPair{{Writer: 0, Reader: 1, CheckType: "super_read_only"}},
	}
	got := targets(snap)
	want := map[hostKey]target{
		{"w", 1}:     {readOnly: "SELECT @@global.super_read_only read_only"},
		{"r", 1}:     {readOnly: "SELECT @@global.super_read_only read_only", lag: true},
		{"other", 1}: {},
		{"soft", 1}:  {offline: true}, // pinged, but no read_only or lag check
	}
	if len(got) != len(want) {
		t.Fatalf("targets = %+v, want %+v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %+v, want %+v", k.addr(), got[k], w)
		}
	}
}

func TestLogsBoundedAndAged(t *testing.T) {
	var l Logs
	h := hostKey{"db", 3306}
	base := time.Now().Add(-time.Hour)
	for i := range perHost + 10 {
		var err error
		if i%2 == 1 {
			err = errors.New("timeout")
		}
		l.add(logReadOnly, entry{host: h, start: base.Add(time.Duration(i) * time.Second), took: time.Millisecond, err: err, value: 1})
	}
	rows := l.rows(logReadOnly, time.Time{}, true)
	if len(rows) != perHost {
		t.Fatalf("%d rows kept, want %d", len(rows), perHost)
	}
	if rows[0].TimeStartUs != base.Add(10*time.Second).UnixMicro() {
		t.Error("the oldest entries were not the ones dropped")
	}
	for _, r := range rows {
		if (r.Error == nil) != (r.Value != nil) {
			t.Fatalf("a row has both or neither of error and value: %+v", r)
		}
	}
	if n := len(l.rows(logReadOnly, base.Add(time.Duration(perHost)*time.Second), true)); n != 10 {
		t.Errorf("history cut by age kept %d rows, want 10", n)
	}
}
