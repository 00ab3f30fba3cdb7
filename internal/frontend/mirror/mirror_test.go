package mirror

import (
	"sync"
	"testing"
)

// TestQueueBounds: at most maxConc mirrors run and maxQueue wait; the
// rest are dropped and counted, and queued ones run when a slot frees.
func TestQueueBounds(t *testing.T) {
	var q Queue
	release := make(chan struct{})
	var ran sync.WaitGroup
	block := func() { <-release; ran.Done() }
	ran.Add(3)
	for range 5 {
		q.Submit(block, 2, 1)
	}
	if running, queued := q.Counts(); running != 2 || queued != 1 || q.Dropped() != 2 {
		t.Fatalf("running %d, queued %d, dropped %d; want 2, 1, 2", running, queued, q.Dropped())
	}
	close(release)
	ran.Wait()
	for {
		if running, queued := q.Counts(); running == 0 && queued == 0 {
			break
		}
	}
}
