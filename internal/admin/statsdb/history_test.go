package statsdb

import "testing"

func TestHistoryDue(t *testing.T) {
	const s = int64(1e6) // one second in microseconds
	steps := []struct {
		now      int64
		interval int
		want     bool
	}{
		{now: 100 * s, interval: 60, want: true},    // first sample at start
		{now: 100*s + 1, interval: 60, want: false}, // not yet due
		{now: 159 * s, interval: 60, want: false},   // due at 160 s
		{now: 160*s + 1, interval: 60, want: true},  // due
		{now: 161 * s, interval: 60, want: false},   // next at 220 s
		{now: 10 * s, interval: 60, want: true},     // clock went back by more than one interval
		{now: 11 * s, interval: 0, want: false},     // 0 turns the sample off
		{now: 500 * s, interval: -1, want: false},   // so does a negative one
		{now: 71*s + 1, interval: 60, want: true},   // still on schedule after the jump back
	}
	var h historyState
	for i, st := range steps {
		if got := h.due("x", st.interval, st.now); got != st.want {
			t.Errorf("step %d: due(now=%d s, interval=%d) = %v, want %v", i, st.now/s, st.interval, got, st.want)
		}
	}
}

func TestNamedValues(t *testing.T) {
	pairs := [][2]string{{"Questions", "42"}, {"slow_queries", "3"}, {"Bad", "x"}}
	got := namedValues(pairs, "questions", "Slow_queries", "Missing", "Bad")
	want := []int64{42, 3, 0, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("namedValues[%d] = %d, want %d (names match without case; missing or bad values are 0)", i, got[i], want[i])
		}
	}
}
