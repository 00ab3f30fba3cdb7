package load

import (
	"testing"
	"time"
)

const ms = time.Millisecond

// TestGapAround checks the cut-off a report gives for a fault: the
// longest gap between successes from the last one before the fault to
// the first statement sent after it that succeeded, over the workers.
func TestGapAround(t *testing.T) {
	start := time.Unix(1000, 0)
	ev := func(s, e time.Duration) event { return event{start: s, end: e, write: true} }
	r := Report{Started: start, Elapsed: 2000 * ms, events: [][]event{
		// worker 0: steady until 100 ms, then nothing until 450 ms.
		{ev(90*ms, 100*ms), ev(440*ms, 450*ms), ev(450*ms, 460*ms)},
		// worker 1: a statement sent before the fault that ends just
		// after it does not count as the recovery.
		{ev(95*ms, 99*ms), ev(99*ms, 120*ms), ev(600*ms, 610*ms)},
		// worker 2: never served again: cut off until the end.
		{ev(50*ms, 60*ms)},
	}}
	fault := start.Add(110 * ms)
	if got := r.GapAround(fault); got != 1940*ms {
		t.Errorf("with a worker never served again: %v, want 1940ms (from 60ms to the end)", got)
	}
	r.events = r.events[:2]
	if got := r.GapAround(fault); got != 490*ms {
		t.Errorf("GapAround = %v, want 490ms (worker 1: from 120ms to 610ms)", got)
	}
	if d, ok := r.FirstWriteAfter(fault); !ok || d != 340*ms {
		t.Errorf("FirstWriteAfter = %v %v, want 340ms (worker 0's write sent at 440ms ends at 450ms)", d, ok)
	}
}

func TestFailedBetweenAndTopErrors(t *testing.T) {
	at := time.Unix(1000, 0)
	r := Report{Failures: []Failure{{Sent: at}, {Sent: at.Add(time.Second)}, {Sent: at.Add(2 * time.Second)}},
		FailedErrors: map[string]int{"invalid connection": 3, "Error 9010": 1}}
	if n := r.FailedBetween(at, at.Add(2*time.Second)); n != 2 {
		t.Errorf("FailedBetween = %d, want 2 (the end is exclusive)", n)
	}
	if top := r.TopErrors(1); len(top) != 1 || top[0] != "3 x invalid connection" {
		t.Errorf("TopErrors(1) = %q", top)
	}
}
