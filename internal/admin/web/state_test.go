package web

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"sqlgate/internal/admin/store"
)

// result builds a store.Result from text rows; "NULL" is a NULL.
func result(cols string, rows ...string) *store.Result {
	r := &store.Result{Cols: strings.Split(cols, ",")}
	for _, line := range rows {
		var row []*string
		for _, v := range strings.Split(line, "|") {
			if v == "NULL" {
				row = append(row, nil)
				continue
			}
			v := v
			row = append(row, &v)
		}
		r.Rows = append(r.Rows, row)
	}
	return r
}

func TestClusterNodes(t *testing.T) {
	for _, c := range []struct {
		name, row string
		want      ClusterNode
	}{
		{"up", "10.0.0.1|6032|OK|12|0|150|200000|3600|core a",
			ClusterNode{Host: "10.0.0.1", Port: 6032, State: "up", Status: "OK", ChecksOK: 12, PingUs: 150, CheckAgeUs: 200000, UptimeS: 3600, Comment: "core a"}},
		{"down", "10.0.0.2|6032|unable to connect: refused|12|3|0|0|0|",
			ClusterNode{Host: "10.0.0.2", Port: 6032, State: "down", Status: "unable to connect: refused", ChecksOK: 12, ChecksErr: 3}},
		{"not checked yet", "10.0.0.3|6032|OK|0|0|0|0|0|",
			ClusterNode{Host: "10.0.0.3", Port: 6032, State: "pending", Status: "OK"}},
		{"short row", "10.0.0.4|6032|OK|1",
			ClusterNode{Host: "10.0.0.4", Port: 6032, State: "up", Status: "OK", ChecksOK: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := clusterNodes(result("hostname,port,master,ok,err,ping,age,uptime,comment", c.row))
			if len(got) != 1 || !reflect.DeepEqual(got[0], c.want) {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestDriftModules(t *testing.T) {
	r := result("hostname,port,name,state,lv,le,lc,pv,pe,pc,diff,since,reason",
		"10.0.0.2|6032|mysql_query_rules|differs|3|1800000000|0xAA|1|1700000000|0xBB|7|1800000100|the peer runs its boot configuration (version 1)",
		"10.0.0.2|6032|mysql_users|in sync|2|1800000000|0xCC|2|1800000000|0xCC|0|0|")
	got := driftModules(r)
	want := []ModuleState{
		{Host: "10.0.0.2", Port: 6032, Module: "mysql_query_rules", State: "differs", LocalVersion: 3, LocalEpoch: 1800000000, LocalChecksum: "0xAA",
			PeerVersion: 1, PeerEpoch: 1700000000, PeerChecksum: "0xBB", DiffCheck: 7, DiffersSince: 1800000100, Reason: "the peer runs its boot configuration (version 1)"},
		{Host: "10.0.0.2", Port: 6032, Module: "mysql_users", State: "in sync", LocalVersion: 2, LocalEpoch: 1800000000, LocalChecksum: "0xCC",
			PeerVersion: 2, PeerEpoch: 1800000000, PeerChecksum: "0xCC"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestBackends(t *testing.T) {
	pool := result("hg,host,port,status,used,free,ok,err,max,queries,lat",
		"0|db1|3306|ONLINE|2|3|10|1|4|500|180",
		"1|db2|3306|SHUNNED|0|0|3|9|1|20|0")
	servers := result("hg,host,port,max", "0|db1|3306|100", "1|db2|3306|50")
	lag := result("host,port,lag,error,t", "db2|3306|NULL|Access denied|1", "db1|3306|0|NULL|1")
	ping := result("host,port,error,t", "db2|3306|timeout|1")
	zero := int64(0)
	for _, c := range []struct {
		name    string
		servers *store.Result
		want    []Backend
	}{
		{"admin", servers, []Backend{
			{Hostgroup: 0, Host: "db1", Port: 3306, Status: "ONLINE", ConnUsed: 2, ConnFree: 3, ConnOK: 10, ConnErr: 1, MaxConnUsed: 4, MaxConnections: 100, Queries: 500, LatencyUs: 180, LagS: &zero},
			{Hostgroup: 1, Host: "db2", Port: 3306, Status: "SHUNNED", ConnOK: 3, ConnErr: 9, MaxConnUsed: 1, MaxConnections: 50, Queries: 20, LagError: "Access denied", PingError: "timeout"},
		}},
		{"stats user: no configuration", nil, []Backend{
			{Hostgroup: 0, Host: "db1", Port: 3306, Status: "ONLINE", ConnUsed: 2, ConnFree: 3, ConnOK: 10, ConnErr: 1, MaxConnUsed: 4, Queries: 500, LatencyUs: 180, LagS: &zero},
			{Hostgroup: 1, Host: "db2", Port: 3306, Status: "SHUNNED", ConnOK: 3, ConnErr: 9, MaxConnUsed: 1, Queries: 20, LagError: "Access denied", PingError: "timeout"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := backends(pool, c.servers, lag, ping); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestSeries(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	cmds := func(timeUs, n string) *store.Result { return result("t,n", timeUs+"|"+n) }
	var s series
	if got := s.add(t0, 100, cmds("1000", "10")); len(got) != 0 {
		t.Errorf("one sample: %v points", got)
	}
	// Within sampleInterval: no new sample.
	if got := s.add(t0.Add(100*time.Millisecond), 150, cmds("2000", "20")); len(got) != 0 {
		t.Errorf("a sample 100 ms later was taken: %v", got)
	}
	got := s.add(t0.Add(2*time.Second), 300, cmds("5000", "30"))
	want := []Point{{T: t0.Add(2 * time.Second).UnixMilli(), QPS: 100, LatencyUs: 200}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// A counter that went backwards gives no point; NULL sums count as 0.
	got = s.add(t0.Add(3*time.Second), 10, result("t,n", "NULL|NULL"))
	if len(got) != 1 {
		t.Errorf("after a reset: %+v", got)
	}
	for i := range 2 * seriesLen {
		s.add(t0.Add(time.Duration(4+i)*time.Second), int64(i), cmds("0", "0"))
	}
	if len(s.samples) != seriesLen+1 {
		t.Errorf("%d samples kept, want %d", len(s.samples), seriesLen+1)
	}
}

// TestStateJSON: the names the page reads, and an admin's empty history
// as [] (a stats user's is null: not shown at all).
func TestStateJSON(t *testing.T) {
	for _, c := range []struct {
		name string
		st   State
		want []string
	}{
		{"admin", State{Node: NodeInfo{Admin: true}, History: history(result("a"))},
			[]string{`"history":[]`, `"admin":true`, `"cluster":{"nodes":null,"modules":null}`, `"backends":null`, `"series":null`}},
		{"stats", State{Node: NodeInfo{User: "viewer"}, Series: points(nil)},
			[]string{`"history":null`, `"user":"viewer"`, `"series":[]`, `"monitor_errors":null`, `"digests":null`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(c.st)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s lacks %s", b, w)
				}
			}
		})
	}
}

func TestMonitorErrorsDigestsHistory(t *testing.T) {
	errs := monitorErrors(result("c,h,p,t,e", "ping|db1|3306|1800000000000000|read: i/o timeout"))
	if want := (MonitorError{Check: "ping", Host: "db1", Port: 3306, TimeUs: 1800000000000000, Error: "read: i/o timeout"}); len(errs) != 1 || errs[0] != want {
		t.Errorf("monitor errors %+v", errs)
	}
	ds := topDigests(result("hg,s,u,d,t,c,sum,min,max,last", "1|shop|app|0xABC|SELECT * FROM t WHERE id = ?|5|500|50|200|1800000000"))
	if want := (Digest{Hostgroup: 1, Schema: "shop", User: "app", Digest: "0xABC", Text: "SELECT * FROM t WHERE id = ?", Count: 5, SumUs: 500, MinUs: 50, MaxUs: 200, LastSeen: 1800000000}); len(ds) != 1 || ds[0] != want {
		t.Errorf("digests %+v", ds)
	}
	h := history(result("r,t,s,m,v,e,c", "7|1800000000|LOAD MYSQL QUERY RULES TO RUNTIME by admin@127.0.0.1|mysql_query_rules|3|1800000000|0x1"))
	if want := (Revision{Revision: 7, Time: 1800000000, Source: "LOAD MYSQL QUERY RULES TO RUNTIME by admin@127.0.0.1", Module: "mysql_query_rules", Version: 3, Epoch: 1800000000, Checksum: "0x1"}); len(h) != 1 || h[0] != want {
		t.Errorf("history %+v", h)
	}
}

// TestPageEscapesState: what clients send ends up in the page (a digest
// text, a user name); it must not close the script element the state sits
// in, and the page's script reads it back unchanged.
func TestPageEscapesState(t *testing.T) {
	hostile := `SELECT '</script><script>alert(1)</script><!--'`
	st := &State{Node: NodeInfo{User: `<b>x</b>`}, Digests: []Digest{{Text: hostile}}}
	page, err := renderPage(st)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "alert(1)</script>") || strings.Contains(string(page), "<b>x</b>") {
		t.Fatalf("client text is in the page unescaped:\n%s", page)
	}
	start := strings.Index(string(page), `<script id="initial-state" type="application/json">`)
	if start < 0 {
		t.Fatal("no initial state in the page")
	}
	rest := string(page)[start:]
	rest = rest[strings.IndexByte(rest, '>')+1:]
	var back State
	if err := json.Unmarshal([]byte(rest[:strings.Index(rest, "</script>")]), &back); err != nil {
		t.Fatal(err)
	}
	if back.Digests[0].Text != hostile || back.Node.User != `<b>x</b>` {
		t.Errorf("the page's state reads back as %+v", back)
	}
}
