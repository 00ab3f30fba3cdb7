package stmt

import (
	"fmt"
	"testing"
)

// TestStmtRegistryBoundsIdleEntries: statements sessions hold are never
// dropped however many there are; statements nobody holds are kept up to
// MaxIdle, oldest dropped first; taking one again makes it
// held.
func TestStmtRegistryBoundsIdleEntries(t *testing.T) {
	var r Registry
	const held = 2 * MaxIdle
	var all []*Entry
	for i := range held + MaxIdle + 5 {
		all = append(all, r.Add(&Entry{Key: fmt.Sprint(i)}))
	}
	for _, e := range all[held:] {
		r.Release(e)
	}
	if got, want := len(r.byKey), held+MaxIdle; got != want {
		t.Fatalf("%d entries kept, want %d held + %d idle", got, held, MaxIdle)
	}
	for _, e := range all[:held] {
		if r.byKey[e.Key] != e {
			t.Fatalf("held statement %s was dropped", e.Key)
		}
	}
	for _, e := range all[held : held+5] {
		if r.byKey[e.Key] != nil {
			t.Fatalf("the oldest idle statement %s was kept", e.Key)
		}
	}
	last := all[len(all)-1]
	if got := r.Get(last.Key); got != last || got.refs != 1 || got.idle != nil || r.idle.Len() != MaxIdle-1 {
		t.Fatalf("taking an idle statement again: %+v, idle %d", got, r.idle.Len())
	}
}
