package backend

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestAcquireStopsWaitingWhenStale: a statement waiting for a server of a
// hostgroup (none there, or none usable) stops waiting as soon as its
// routing decision is outdated, instead of after the connect timeout.
func TestAcquireStopsWaitingWhenStale(t *testing.T) {
	p, ss := newTestPool(t, 0)
	ss[0].status.Store(int32(OfflineHard)) // hostgroup 1 has no usable server
	for _, hg := range []int{1, 7} {       // 7 does not exist at all
		stale := make(chan struct{})
		time.AfterFunc(50*time.Millisecond, func() { close(stale) })
		start := time.Now()
		_, err := p.Acquire(context.Background(), hg, &Want{Stale: stale})
		if !errors.Is(err, ErrStale) {
			t.Fatalf("hostgroup %d: Acquire = %v, want ErrStale", hg, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("hostgroup %d: Acquire waited %v after the routing went stale", hg, d)
		}
	}
}
