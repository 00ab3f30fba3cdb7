package report

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// TestEvaluateReproducesCommittedTargets: the targets stored in the newest
// committed results file (and shown in the README) are what Evaluate says
// of its rows.
func TestEvaluateReproducesCommittedTargets(t *testing.T) {
	path, err := NewestResults("../../../bench/results")
	if err != nil {
		t.Skipf("no committed results: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	stored := r.Targets
	if got := Evaluate(&r); !reflect.DeepEqual(got, stored) {
		t.Errorf("%s: Evaluate gives\n%+v\nthe file holds\n%+v", path, got, stored)
	}
}

// TestMergeRounds: one row from two rounds of one target.
func TestMergeRounds(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	a := SysbenchRow{Target: "sqlgate", Seconds: 3, QPS: 1000, TPS: 100, Queries: 3000, P50ms: 0.1, P95ms: 0.2, P99ms: 0.4,
		Errors: 1, CPUusPerQ: 30, SysUsPerQ: 24, MovesPerQ: f(1.5), RSSMB: 20, OtherCPU: 0.1}
	b := SysbenchRow{Target: "sqlgate", Seconds: 3, QPS: 2000, TPS: 200, Queries: 6000, P50ms: 0.3, P95ms: 0.4, P99ms: 0.6,
		Errors: 2, Reconnects: 1, CPUusPerQ: 60, SysUsPerQ: 45, MovesPerQ: f(0), RSSMB: 25, OtherCPU: 0.3, Failed: "x"}
	got := MergeRounds([]SysbenchRow{a, b})
	want := SysbenchRow{Target: "sqlgate", Seconds: 6, QPS: 1500, TPS: 150, Queries: 9000, P50ms: 0.2, P95ms: 0.3, P99ms: 0.5,
		Errors: 3, Reconnects: 1, CPUusPerQ: 50, SysUsPerQ: 38, MovesPerQ: f(0.5), RSSMB: 25, OtherCPU: 0.2, Failed: "x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MergeRounds:\n got %+v\nwant %+v", got, want)
	}
	if one := MergeRounds([]SysbenchRow{a}); !reflect.DeepEqual(one, a) {
		t.Errorf("one round changed: %+v", one)
	}
	// A round without the kernel's count (an older results file, a kernel
	// without /proc/<pid>/sched) leaves the merged row's count to the rest.
	c := b
	c.MovesPerQ = nil
	if m := MergeRounds([]SysbenchRow{a, c}); m.MovesPerQ == nil || *m.MovesPerQ != 1.5 {
		t.Errorf("moves with one round unmeasured: %v", m.MovesPerQ)
	}
	if m := MergeRounds([]SysbenchRow{c, c}); m.MovesPerQ != nil {
		t.Errorf("moves with no round measured: %v", *m.MovesPerQ)
	}
	if RoundSeconds(6, 2) != 3 || RoundSeconds(1, 2) != 1 || RoundSeconds(7, 2) != 4 || RoundSeconds(6, 1) != 6 {
		t.Error("RoundSeconds")
	}
}

// TestIsDesign: a run with any bare relay among its targets is a design
// check, whose results and README table are kept apart from make bench's.
func TestIsDesign(t *testing.T) {
	for _, tc := range []struct {
		targets []string
		want    bool
	}{
		{[]string{Direct, HAProxy, ProxySQL, Sqlgate}, false},
		{[]string{Direct, GoRelay, Sqlgate}, true},
		{[]string{Direct, EpollRelay}, true},
		{[]string{Direct, URingRelay}, true},
		{nil, false},
	} {
		r := Results{}
		r.Meta.Targets = tc.targets
		if got := r.IsDesign(); got != tc.want {
			t.Errorf("IsDesign(%v) = %v, want %v", tc.targets, got, tc.want)
		}
	}
}
