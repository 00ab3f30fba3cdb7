package router

import (
	"strings"
	"testing"

	"sqlgate/internal/digest"
)

// FuzzClassify runs what the session does with a statement's digest:
// classification, the multiplexing flags and the first comment's
// annotations. Invariants: no panic, the same text gives the same answers,
// annotation values stay in their bounds.
func FuzzClassify(f *testing.F) {
	for _, q := range []string{"SELECT 1", "/* hostgroup=2 */ SELECT * FROM t FOR UPDATE", "SET @x=1",
		"SET SESSION transaction_isolation='READ-COMMITTED'", "INSERT INTO t VALUES (1)", "BEGIN", "LOCK TABLES t WRITE",
		"/* max_lag_ms=100, query_timeout=2000 */ select 1", "SELECT GET_LOCK('a', 1)", "SELECT LAST_INSERT_ID()"} {
		f.Add(q)
	}
	keep := []string{"tx_isolation", "transaction_isolation", "version"}
	f.Fuzz(func(t *testing.T, q string) {
		text, comment := digest.Of(q)
		class, flags := Classify(text), StatementFlags(text, keep)
		if Classify(strings.Clone(text)) != class || StatementFlags(strings.Clone(text), keep) != flags {
			t.Fatal("class or flags not deterministic")
		}
		a := ParseAnnotations(comment)
		for _, v := range []int{a.Hostgroup, a.Mirror, a.CacheTTL, a.QueryDelay, a.QueryRetries, a.QueryTimeout, a.MaxLagMs} {
			if v < -1 {
				t.Fatalf("annotation value %d from %q", v, comment)
			}
		}
		if a.MaxLagMs > 600000 {
			t.Fatalf("max_lag_ms %d from %q", a.MaxLagMs, comment)
		}
	})
}
