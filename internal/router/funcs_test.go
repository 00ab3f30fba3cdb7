package router

import (
	"testing"

	"sqlgate/internal/digest"
)

func TestCallsUnsafeFunction(t *testing.T) {
	for _, c := range []struct {
		q      string
		unsafe bool
	}{
		{"SELECT c FROM sbtest1 WHERE id=1", false},
		{"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 1 AND 100 ORDER BY c", false},
		{"SELECT SUM(k), COUNT(*) FROM t WHERE id IN (1,2,3) AND (a=1 OR b=2)", false},
		{"SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u)", false},
		{"SELECT CONCAT(a, LOWER(b)), NOW() FROM t", false},
		{"SELECT SLEEP(20)", true},
		{"SELECT GET_LOCK('x', 10)", true},
		{"select release_lock('x')", true},
		{"SELECT NEXTVAL(seq)", true},
		{"SELECT LAST_INSERT_ID(5)", true},
		{"SELECT my_func(1)", true},
		{"SELECT shop.add_order(1)", true},
		{"SELECT `shop`.`add_order`(1)", true},
		{"SELECT `add_order`(1)", true},
		{"SELECT ((1 + 2))", false},
	} {
		dtext, _ := digest.Of(c.q)
		if got := CallsUnsafeFunction(dtext); got != c.unsafe {
			t.Errorf("%q (dtext %q): unsafe %v, want %v", c.q, dtext, got, c.unsafe)
		}
	}
}
