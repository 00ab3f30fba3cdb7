package frontend

import (
	"fmt"
	"testing"
)

// TestStmtRegistryBoundsIdleEntries: statements sessions hold are never
// dropped however many there are; statements nobody holds are kept up to
// maxUnreferencedStmts, oldest dropped first; taking one again makes it
// held.
func TestStmtRegistryBoundsIdleEntries(t *testing.T) {
	r := stmtRegistry{byKey: map[string]*stmtEntry{}}
	const held = 2 * maxUnreferencedStmts
	var all []*stmtEntry
	for i := range held + maxUnreferencedStmts + 5 {
		all = append(all, r.add(&stmtEntry{key: fmt.Sprint(i)}))
	}
	for _, e := range all[held:] {
		r.release(e)
	}
	if got, want := len(r.byKey), held+maxUnreferencedStmts; got != want {
		t.Fatalf("%d entries kept, want %d held + %d idle", got, held, maxUnreferencedStmts)
	}
	for _, e := range all[:held] {
		if r.byKey[e.key] != e {
			t.Fatalf("held statement %s was dropped", e.key)
		}
	}
	for _, e := range all[held : held+5] {
		if r.byKey[e.key] != nil {
			t.Fatalf("the oldest idle statement %s was kept", e.key)
		}
	}
	last := all[len(all)-1]
	if got := r.get(last.key); got != last || got.refs != 1 || got.idle != nil || r.idle.Len() != maxUnreferencedStmts-1 {
		t.Fatalf("taking an idle statement again: %+v, idle %d", got, r.idle.Len())
	}
}
